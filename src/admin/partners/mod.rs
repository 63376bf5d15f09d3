//! Partners as the unit of administration: every partner domain (on either domain secure
//! list, with anchors of its own, or bound to a partner pin) with the health of the secure mail
//! flow with it ([`health`]). [`gather`] reads what the judgement needs — the run
//! configuration built from the workspace, the certificate watch and each partner's activity
//! from the tracking database — and the caller adds the queues (the console from its relay,
//! the command line from the control socket or the spool). The console's partners page and
//! `mailflow partner` show the same report.

pub mod health;

pub use health::{Cell, Column, Facts, Fix, LastCertificate, OurCert, PartnerHealth};

use super::{AdminError, Workspace};
use crate::engine::config::RunConfig;
use crate::engine::queue::QueueKey;
use crate::store::partner_activity::Activity;
use crate::store::partner_watch::Seen;
use crate::store::tracking::TrackingDb;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Days of history a partner's page shows.
pub const HISTORY_DAYS: i64 = 30;

/// The partners report: a row per partner, and the facts behind it for a partner's page.
#[derive(Clone, Debug, PartialEq)]
pub struct PartnersReport {
    pub rows: Vec<PartnerHealth>,
    /// The certificate watch, every partner's rows.
    pub sightings: Vec<Seen>,
    pub activity: BTreeMap<String, Activity>,
    /// Why part of the report is missing (no tracking database yet), in words.
    pub notes: Vec<String>,
    pub taken_at: OffsetDateTime,
}

impl PartnersReport {
    pub fn row(&self, domain: &str) -> Option<&PartnerHealth> {
        self.rows.iter().find(|r| r.domain == domain)
    }
}

/// Messages waiting per recipient domain, from queue names as the queue viewer lists them
/// (`woodgrove.test via Partners`, `Unreachable: woodgrove.test`).
pub fn queued_by_domain<'a>(
    queues: impl IntoIterator<Item = (&'a str, usize)>,
) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (name, messages) in queues {
        let domain = match QueueKey::parse(name) {
            Some(QueueKey::Remote { domain, .. } | QueueKey::Unreachable { domain }) => domain,
            _ => continue,
        };
        *out.entry(domain.to_ascii_lowercase()).or_insert(0) += messages;
    }
    out
}

/// Reads everything the report needs and judges every partner. `queued`: messages waiting
/// per recipient domain ([`queued_by_domain`]).
pub fn gather(
    workspace: &Workspace,
    queued: &BTreeMap<String, usize>,
    now: OffsetDateTime,
) -> Result<PartnersReport, AdminError> {
    let run = RunConfig::build(workspace, now).map_err(|e| AdminError::Refused(e.to_string()))?;
    let ours: BTreeMap<String, OurCert> = workspace
        .store
        .certificates()
        .iter()
        .map(|c| {
            (
                c.info.thumbprint.clone(),
                OurCert {
                    subject: c
                        .info
                        .common_names
                        .last()
                        .cloned()
                        .unwrap_or_else(|| c.info.subject.clone()),
                    not_after: c.info.not_after,
                },
            )
        })
        .collect();
    let mut notes = Vec::new();
    let mut sightings = Vec::new();
    let mut activity = BTreeMap::new();
    match TrackingDb::open_read_only(&workspace.dir.tracking_db()) {
        Ok(db) => {
            let now_ms = now.unix_timestamp() * 1000;
            match db.sightings(None) {
                Ok(s) => sightings = s,
                Err(e) => notes.push(e.to_string()),
            }
            for domain in &run.checked.partner_domains {
                match db.partner_activity(domain, now_ms, HISTORY_DAYS) {
                    Ok(a) => {
                        activity.insert(domain.clone(), a);
                    }
                    Err(e) => {
                        notes.push(e.to_string());
                        break;
                    }
                }
            }
        }
        Err(e) => notes.push(format!("no message activity or certificates seen: {e}")),
    }
    let rows = health::judge(&Facts {
        run: &run,
        ours: &ours,
        sightings: &sightings,
        activity: &activity,
        queued,
        now,
    });
    Ok(PartnersReport {
        rows,
        sightings,
        activity,
        notes,
        taken_at: now,
    })
}
