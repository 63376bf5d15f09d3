//! The alerts the relay has announced (log line, notification mail), by key with the time of
//! the announcement, in `alerts-announced.ron`: so an alert is announced once, also across
//! restarts, and again only when its situation ends and comes back. A damaged file counts as
//! empty (the worst case is an alert announced twice), and is replaced on the next save.

use super::DataDir;
use super::atomic;
use super::error::Result;
use std::collections::BTreeMap;

/// Announced alert keys with their announcement time (unix ms).
pub type Announced = BTreeMap<String, i64>;

pub fn load(dir: &DataDir) -> Announced {
    std::fs::read_to_string(dir.alerts_announced())
        .ok()
        .and_then(|t| ron::from_str(&t).ok())
        .unwrap_or_default()
}

pub fn save(dir: &DataDir, announced: &Announced) -> Result<()> {
    let text = ron::ser::to_string_pretty(announced, ron::ser::PrettyConfig::default())
        .unwrap_or_default();
    atomic::write_atomic(&dir.alerts_announced(), text.as_bytes(), 0o600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announced_keys_survive_and_damage_reads_as_none() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = DataDir::new(tmp.path());
        assert!(load(&dir).is_empty());
        let mut a = Announced::new();
        a.insert("partner-expiry-7:woodgrove.test:AA".into(), 5);
        save(&dir, &a).expect("save");
        assert_eq!(load(&dir), a);
        std::fs::write(dir.alerts_announced(), "not ron").expect("damage");
        assert!(load(&dir).is_empty());
    }
}
