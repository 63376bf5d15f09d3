//! The MTA-STS policy cache on disk: the policies fetched from other domains, by domain, kept
//! for their `max_age` across restarts (RFC 8461 §5.1) so that an attacker who blocks the next
//! fetch or strips the TXT record gains nothing. One RON file written atomically; a file that
//! cannot be read is treated as an empty cache (it is only a cache) and replaced on the next
//! fetch.

use super::DataDir;
use super::atomic::{PUBLIC, read_if_exists, write_atomic};
use super::error::{Result, StoreError};
use crate::policy::mta_sts::CachedPolicy;
use std::collections::BTreeMap;

/// The cached policies by domain.
pub type StsCache = BTreeMap<String, CachedPolicy>;

/// The cache as stored; empty when there is none or it cannot be read.
pub fn load(dir: &DataDir) -> StsCache {
    match read_if_exists(&dir.mta_sts_cache()) {
        Ok(Some(bytes)) => std::str::from_utf8(&bytes)
            .ok()
            .and_then(|text| ron::from_str(text).ok())
            .unwrap_or_default(),
        _ => StsCache::new(),
    }
}

/// Replaces the stored cache with `cache`.
pub fn save(dir: &DataDir, cache: &StsCache) -> Result<()> {
    let path = dir.mta_sts_cache();
    let text = ron::ser::to_string_pretty(cache, ron::ser::PrettyConfig::default())
        .map_err(|e| StoreError::io(&path, std::io::Error::other(e.to_string())))?;
    write_atomic(&path, text.as_bytes(), PUBLIC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::mta_sts::{StsMode, StsPolicy};

    #[test]
    fn the_cache_survives_a_round_trip_and_a_broken_file_is_an_empty_cache() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path());
        assert!(load(&dir).is_empty());
        let mut cache = StsCache::new();
        cache.insert(
            "woodgrove.test".into(),
            CachedPolicy {
                id: "20261207".into(),
                policy: StsPolicy {
                    mode: StsMode::Enforce,
                    mx: vec!["*.woodgrove.test".into()],
                    max_age: 86400,
                },
                fetched_ms: 1,
            },
        );
        save(&dir, &cache).unwrap();
        assert_eq!(load(&dir), cache);
        std::fs::write(dir.mta_sts_cache(), "not ron (").unwrap();
        assert!(load(&dir).is_empty());
    }
}
