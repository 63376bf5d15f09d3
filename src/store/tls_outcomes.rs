//! The TLS outcomes of outbound sessions, kept by day for TLS reports (RFC 8460): one JSON line
//! a session in `tls-reports/<YYYY-MM-DD>.jsonl`, appended (a crash loses at most the line being
//! written, and a line that cannot be read is skipped: these are statistics, not mail).

use super::DataDir;
use super::error::{Result, StoreError};
use crate::policy::tls_rpt::SessionOutcome;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

fn day_file(dir: &DataDir, day: &str) -> PathBuf {
    dir.tls_reports().join(format!("{day}.jsonl"))
}

/// Appends `outcomes` to the file of `day` (`2026-12-07`).
pub fn append(dir: &DataDir, day: &str, outcomes: &[SessionOutcome]) -> Result<()> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let folder = dir.tls_reports();
    super::atomic::ensure_dir(&folder, 0o755)?;
    let path = day_file(dir, day);
    let mut text = String::new();
    for o in outcomes {
        let line = serde_json::to_string(o)
            .map_err(|e| StoreError::io(&path, std::io::Error::other(e.to_string())))?;
        text.push_str(&line);
        text.push('\n');
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| StoreError::io(&path, e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| StoreError::io(&path, e))
}

/// The outcomes recorded on `day` (none when there are none).
pub fn load_day(dir: &DataDir, day: &str) -> Vec<SessionOutcome> {
    std::fs::read_to_string(day_file(dir, day))
        .map(|text| {
            text.lines()
                .filter_map(|line| serde_json::from_str(line).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The days with outcomes kept, newest first.
pub fn days(dir: &DataDir) -> Vec<String> {
    let mut days: Vec<String> = std::fs::read_dir(dir.tls_reports())
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(".jsonl"))
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    days.sort_unstable_by(|a, b| b.cmp(a));
    days
}

fn suppressed_file(dir: &DataDir) -> PathBuf {
    dir.tls_reports().join("suppressed.json")
}

/// Report addresses not used for now: address (`mailto:…`, `https:…`) → until when (Unix ms).
/// A file that cannot be read counts as none (a report too many, nothing worse).
pub fn suppressed(dir: &DataDir) -> BTreeMap<String, i64> {
    std::fs::read(suppressed_file(dir))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Stops using report address `address` until `until` (Unix ms); entries past are dropped.
pub fn suppress(dir: &DataDir, address: &str, until: i64, now: i64) -> Result<()> {
    super::atomic::ensure_dir(&dir.tls_reports(), 0o755)?;
    let mut map = suppressed(dir);
    map.retain(|_, t| *t > now);
    map.insert(address.to_string(), until);
    let path = suppressed_file(dir);
    let json = serde_json::to_vec_pretty(&map)
        .map_err(|e| StoreError::io(&path, std::io::Error::other(e.to_string())))?;
    super::atomic::write_atomic(&path, &json, super::atomic::PUBLIC)
}

/// Notes that the reports of `day` were queued.
pub fn mark_sent(dir: &DataDir, day: &str) -> Result<()> {
    super::atomic::ensure_dir(&dir.tls_reports(), 0o755)?;
    let path = dir.tls_reports().join(format!("{day}.sent"));
    super::atomic::write_atomic(&path, b"", super::atomic::PUBLIC)
}

/// Whether the reports of `day` were queued.
pub fn is_sent(dir: &DataDir, day: &str) -> bool {
    dir.tls_reports().join(format!("{day}.sent")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::tls_rpt::{ReportPolicy, ResultType};

    #[test]
    fn outcomes_are_kept_by_day_and_a_torn_line_is_skipped() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path());
        let o = SessionOutcome {
            policy_domain: "woodgrove.test".into(),
            policy: ReportPolicy::none(),
            mx_host: "mx1.woodgrove.test".into(),
            receiving_ip: None,
            sending_ip: None,
            failure: Some(ResultType::StarttlsNotSupported),
            detail: None,
        };
        append(&dir, "2026-12-07", &[o.clone(), o.clone()]).unwrap();
        append(&dir, "2026-12-08", std::slice::from_ref(&o)).unwrap();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(day_file(&dir, "2026-12-07"))
            .unwrap();
        f.write_all(b"{\"policy_domain\": \"torn").unwrap();
        assert_eq!(load_day(&dir, "2026-12-07"), vec![o.clone(), o.clone()]);
        assert_eq!(load_day(&dir, "2026-12-08").len(), 1);
        assert!(load_day(&dir, "2026-12-09").is_empty());
    }
}
