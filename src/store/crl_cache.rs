//! The folder of downloaded revocation lists (`crl-cache/`): one DER file per distribution
//! point, named by the SHA-1 of its URL, replaced atomically. A cache only: a file that is
//! missing or damaged is fetched again, never an error for the relay.

use super::atomic::{self, PUBLIC};
use super::error::Result;
use super::layout::DataDir;
use crate::pki::crl::{self, Crl};
use std::path::PathBuf;

/// The cache file of the list at `url`.
pub fn path_for(dir: &DataDir, url: &str) -> PathBuf {
    dir.crl_cache().join(format!(
        "{}.crl",
        crate::pki::digest::thumbprint(url.as_bytes())
    ))
}

/// Keeps the list downloaded from `url`.
pub fn save(dir: &DataDir, url: &str, der: &[u8]) -> Result<()> {
    atomic::ensure_dir(&dir.crl_cache(), 0o755)?;
    atomic::write_atomic(&path_for(dir, url), der, PUBLIC)
}

/// The cached list of `url`, if there is a readable one.
pub fn load(dir: &DataDir, url: &str) -> Option<Crl> {
    let bytes = std::fs::read(path_for(dir, url)).ok()?;
    crl::parse_der(bytes).ok()
}

/// Every readable list in the cache (damaged files are skipped: they are fetched again).
pub fn load_all(dir: &DataDir) -> Vec<Crl> {
    let Ok(entries) = std::fs::read_dir(dir.crl_cache()) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "crl"))
        .filter_map(|p| std::fs::read(p).ok())
        .filter_map(|b| crl::parse_der(b).ok())
        .collect()
}
