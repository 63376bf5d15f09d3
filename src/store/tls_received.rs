//! TLS reports received from other organizations (RFC 8460), one JSON file each in
//! `tls-reports/received/`, named by a digest of the reporter and the report id, so a report
//! mailed twice is kept once. Written atomically; a file that cannot be read is named in the
//! listing's problems, not dropped silently.

use super::DataDir;
use super::error::{Result, StoreError};
use crate::policy::tls_rpt::Report;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A report as kept: when it arrived, who sent it, what it says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReceivedReport {
    /// Unix milliseconds of arrival.
    pub received: i64,
    /// `TLS-Report-Submitter` (or the From address).
    pub submitter: String,
    pub report: Report,
}

fn file_of(dir: &DataDir, r: &ReceivedReport) -> PathBuf {
    let key = format!("{}\n{}", r.report.organization_name, r.report.report_id);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_bytes());
    dir.tls_reports_received()
        .join(format!("{}.json", hex::encode(&digest.as_ref()[..16])))
}

/// Keeps a report (a second copy of the same report replaces the first).
pub fn save(dir: &DataDir, r: &ReceivedReport) -> Result<()> {
    let folder = dir.tls_reports_received();
    super::atomic::ensure_dir(&folder, 0o755)?;
    let path = file_of(dir, r);
    let json = serde_json::to_vec_pretty(r)
        .map_err(|e| StoreError::io(&path, std::io::Error::other(e.to_string())))?;
    super::atomic::write_atomic(&path, &json, super::atomic::PUBLIC)
}

/// Every report kept, oldest period first, and the files that could not be read (with why).
pub fn list(dir: &DataDir) -> (Vec<ReceivedReport>, Vec<String>) {
    let mut reports = Vec::new();
    let mut problems = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir.tls_reports_received()) else {
        return (reports, problems);
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<ReceivedReport>(&b).map_err(|e| e.to_string()))
        {
            Ok(r) => reports.push(r),
            Err(e) => problems.push(format!("{}: {e}", path.display())),
        }
    }
    reports.sort_by(|a, b| {
        (&a.report.date_range.start_datetime, a.received)
            .cmp(&(&b.report.date_range.start_datetime, b.received))
    });
    (reports, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::tls_rpt::DateRange;

    fn report(org: &str, id: &str, start: &str) -> ReceivedReport {
        ReceivedReport {
            received: 1,
            submitter: "mx.w.test".into(),
            report: Report {
                organization_name: org.into(),
                date_range: DateRange {
                    start_datetime: start.into(),
                    end_datetime: start.into(),
                },
                contact_info: String::new(),
                report_id: id.into(),
                policies: Vec::new(),
            },
        }
    }

    #[test]
    fn a_report_is_kept_once_and_listed_by_period() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path());
        save(&dir, &report("W", "b", "2026-12-06T00:00:00Z")).unwrap();
        save(&dir, &report("W", "a", "2026-12-05T00:00:00Z")).unwrap();
        save(&dir, &report("W", "a", "2026-12-05T00:00:00Z")).unwrap();
        std::fs::write(dir.tls_reports_received().join("junk.json"), b"{").unwrap();
        let (list, problems) = list(&dir);
        let ids: Vec<&str> = list.iter().map(|r| r.report.report_id.as_str()).collect();
        assert_eq!(ids, vec!["a", "b"]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("junk.json"));
    }
}
