//! Partners as the unit of administration: every partner domain (on either domain secure
//! list, with anchors of its own, or bound to a partner pin) with the health of the secure mail
//! flow with it ([`health`]). [`gather`] reads what the judgement needs — the run
//! configuration built from the workspace, the certificate watch and each partner's activity
//! from the tracking database — and the caller adds the queues (the console from its relay,
//! the command line from the control socket or the spool). The console's partners page and
//! `mailflow partner` show the same report.

pub mod health;
pub mod watch;

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
    /// The alerts of the certificate watch, most serious first.
    pub alerts: Vec<watch::Alert>,
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

/// The partner certificate watch of the workspace (empty, with the reason, when there is no
/// tracking database to read).
pub fn sightings(workspace: &Workspace) -> (Vec<Seen>, Option<String>) {
    match TrackingDb::open_read_only(&workspace.dir.tracking_db()).and_then(|db| db.sightings(None))
    {
        Ok(s) => (s, None),
        Err(e) => (
            Vec::new(),
            Some(format!("no partner certificates seen: {e}")),
        ),
    }
}

/// The alerts of the watch at `now`: `sightings` (the partners' certificates), our SMTP
/// certificates and the trusted roots of the workspace.
pub fn current_alerts(
    workspace: &Workspace,
    sightings: &[Seen],
    now: OffsetDateTime,
) -> Vec<watch::Alert> {
    let fact = |info: &crate::pki::inspect::CertificateInfo| watch::CertFact {
        thumbprint: info.thumbprint.clone(),
        subject: info.subject.clone(),
        not_after: info.not_after,
    };
    let ours: Vec<watch::CertFact> = workspace
        .store
        .certificates()
        .iter()
        .filter(|c| c.is_smtp())
        .map(|c| fact(&c.info))
        .collect();
    let roots: Vec<watch::CertFact> = workspace
        .store
        .trusted_roots()
        .iter()
        .map(|r| fact(&r.info))
        .collect();
    watch::alerts(sightings, &ours, &roots, now)
}

/// Most events an evidence report reads (about a million messages' worth).
pub const EVIDENCE_EVENTS: usize = 5_000_000;

/// The evidence report of `[since, until)` (unix ms), for `partner` only when given
/// ([`crate::admin::evidence`]), read from message tracking.
pub fn evidence(
    workspace: &Workspace,
    since: i64,
    until: i64,
    partner: Option<&str>,
    now: OffsetDateTime,
) -> Result<crate::admin::evidence::Evidence, AdminError> {
    if until <= since {
        return Err(AdminError::Refused(
            "the report's end is not after its start: give a later --until or an earlier --since"
                .into(),
        ));
    }
    let db = TrackingDb::open_read_only(&workspace.dir.tracking_db())?;
    let events = db.search(&crate::store::tracking::TrackingQuery {
        since: Some(since),
        until: Some(until),
        limit: Some(EVIDENCE_EVENTS),
        ..Default::default()
    })?;
    let partners = workspace.settings.partner_domains();
    if let Some(p) = partner {
        let d = crate::config::domain::normalize(p)
            .map_err(|e| AdminError::Refused(format!("the partner '{p}': {e}")))?;
        if !partners.contains(&d) {
            return Err(AdminError::Refused(format!(
                "{d} is not a partner: it is on no domain secure list and has no anchors or partner pin"
            )));
        }
    }
    Ok(crate::admin::evidence::build(
        &workspace.settings.organization.name,
        &events,
        since,
        until,
        partner,
        &partners,
        crate::admin::evidence::ms_of(now),
    ))
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
    let mut activity = BTreeMap::new();
    let sightings = match TrackingDb::open_read_only(&workspace.dir.tracking_db()) {
        Ok(db) => {
            let now_ms = crate::admin::evidence::ms_of(now);
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
            db.sightings(None).unwrap_or_else(|e| {
                notes.push(e.to_string());
                Vec::new()
            })
        }
        Err(e) => {
            notes.push(format!("no message activity or certificates seen: {e}"));
            Vec::new()
        }
    };
    let rows = health::judge(&Facts {
        run: &run,
        ours: &ours,
        sightings: &sightings,
        activity: &activity,
        queued,
        now,
    });
    let alerts = current_alerts(workspace, &sightings, now);
    Ok(PartnersReport {
        rows,
        alerts,
        sightings,
        activity,
        notes,
        taken_at: now,
    })
}
