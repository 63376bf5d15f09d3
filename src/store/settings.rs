//! settings.ron on disk: loaded strictly (a parse error names line and column and is never
//! replaced by defaults), saved atomically with one `.bak`, and only after validation passed.

use super::atomic::{self, PUBLIC};
use super::error::{Result, StoreError};
use super::layout::DataDir;
use crate::config::{Settings, format, validate};

/// Reads and parses settings.ron (not validated: see [`load_checked`]).
pub fn load(dir: &DataDir) -> Result<Settings> {
    let path = dir.settings();
    let text = match std::fs::read(&path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| StoreError::Corrupt {
            path: path.clone(),
            why: "is not UTF-8 text".into(),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(StoreError::NotInitialized(dir.root().to_path_buf()));
        }
        Err(e) => return Err(StoreError::io(&path, e)),
    };
    format::from_ron(&text).map_err(|err| StoreError::SettingsParse { path, err })
}

/// Reads settings and checks every rule.
pub fn load_checked(dir: &DataDir) -> Result<(Settings, validate::CheckedSettings)> {
    let s = load(dir)?;
    let checked = validate(&s).map_err(StoreError::Invalid)?;
    Ok((s, checked))
}

/// Validates and saves settings atomically, keeping the previous file as `.bak`.
pub fn save(dir: &DataDir, settings: &Settings) -> Result<validate::CheckedSettings> {
    let checked = validate(settings).map_err(StoreError::Invalid)?;
    atomic::write_with_backup(&dir.settings(), format::to_ron(settings).as_bytes(), PUBLIC)?;
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_round_trip_and_strict_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path());
        assert!(matches!(load(&dir), Err(StoreError::NotInitialized(_))));
        let s = Settings::initial("Contoso", "mail.contoso.test", "contoso.test");
        save(&dir, &s).unwrap();
        assert_eq!(load(&dir).unwrap(), s);

        let mut bad = s.clone();
        bad.receive_connectors[0].banner = Some("hello".into());
        let before = std::fs::read(dir.settings()).unwrap();
        assert!(matches!(save(&dir, &bad), Err(StoreError::Invalid(_))));
        assert_eq!(std::fs::read(dir.settings()).unwrap(), before);

        std::fs::write(dir.settings(), "(version: 1, organization: (name: \"x\"").unwrap();
        let e = load(&dir).unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
        assert!(e.contains("nothing was changed"), "{e}");
    }
}
