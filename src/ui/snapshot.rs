//! What the console shows, loaded in one piece from the data directory (off the UI thread once
//! the console has a worker; at start-up before the window opens).

use crate::admin::{CertRow, Workspace};
use crate::config::Settings;
use crate::store::certstore::StoredRoot;
use time::OffsetDateTime;

/// A trusted root as the console lists it.
#[derive(Clone, Debug)]
pub struct RootRow {
    pub thumbprint: String,
    pub subject: String,
    pub not_after: OffsetDateTime,
    pub current: bool,
}

/// Everything the pages read.
#[derive(Clone, Debug)]
pub struct ConsoleData {
    pub data_dir: String,
    pub settings: Settings,
    pub certificates: Vec<CertRow>,
    pub roots: Vec<RootRow>,
    pub lab_ca: Option<String>,
    pub loaded_at: OffsetDateTime,
}

impl ConsoleData {
    pub fn load(ws: &Workspace, now: OffsetDateTime) -> ConsoleData {
        ConsoleData {
            data_dir: ws.dir.root().display().to_string(),
            settings: ws.settings.clone(),
            certificates: ws.certificate_rows(now),
            roots: ws
                .store
                .trusted_roots()
                .iter()
                .map(|r: &StoredRoot| RootRow {
                    thumbprint: r.info.thumbprint.clone(),
                    subject: r.info.subject.clone(),
                    not_after: r.info.not_after,
                    current: r.info.is_current(now),
                })
                .collect(),
            lab_ca: ws.store.lab_ca().map(|c| c.name.clone()),
            loaded_at: now,
        }
    }

    /// Certificates expiring within 30 days (or already expired), for the status bar.
    pub fn expiring_soon(&self) -> usize {
        self.certificates
            .iter()
            .filter(|c| {
                c.not_after
                    .is_some_and(|t| (t - self.loaded_at).whole_days() <= 30)
            })
            .count()
    }
}
