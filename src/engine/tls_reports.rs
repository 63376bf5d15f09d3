//! TLS reporting (RFC 8460) on the relay's side: the TLS outcome of every outbound attempt to
//! an MX host is kept by day (`store::tls_outcomes`, written off the async threads), and the
//! aggregate report of a day for a recipient domain is built from them in the RFC's JSON
//! (`policy::tls_rpt`) — what `mailflow tls-report show` prints and what a daily report sends.

use super::services::Services;
use crate::admin::Workspace;
use crate::policy::tls_rpt::{Report, Reporter, SessionOutcome, aggregate};
use crate::store::tls_outcomes;
use time::OffsetDateTime;

/// The day an outcome belongs to (UTC), as the store names it: `2026-12-07`.
pub fn day_of(t: OffsetDateTime) -> String {
    let date = t.to_offset(time::UtcOffset::UTC).date();
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Keeps the outcomes of one delivery job under today's date. A store that cannot be written
/// costs report lines, never mail: it is logged.
pub fn record(services: &Services, outcomes: Vec<SessionOutcome>) {
    if outcomes.is_empty() {
        return;
    }
    let dir = services.config().data_dir.clone();
    let day = day_of(OffsetDateTime::now_utc());
    tokio::task::spawn_blocking(move || {
        if let Err(e) = tls_outcomes::append(&dir, &day, &outcomes) {
            tracing::warn!("TLS report outcomes cannot be kept: {e}");
        }
    });
}

/// The report of `day` (`2026-12-07`) for recipient domain `domain`, from our organization.
pub fn report(workspace: &Workspace, domain: &str, day: &str) -> Report {
    let settings = &workspace.settings;
    let our_domain = settings
        .accepted_domains
        .first()
        .map(|d| d.domain.clone())
        .unwrap_or_else(|| settings.organization.fqdn.clone());
    let contact = format!("mailto:postmaster@{our_domain}");
    let start = format!("{day}T00:00:00Z");
    let end = format!("{day}T23:59:59Z");
    let report_id = format!("{day}_{domain}@{}", settings.organization.fqdn);
    let reporter = Reporter {
        organization_name: &settings.organization.name,
        contact_info: &contact,
        start: &start,
        end: &end,
        report_id: &report_id,
    };
    let outcomes = tls_outcomes::load_day(&workspace.dir, day);
    aggregate(&reporter, &domain.to_ascii_lowercase(), &outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_named_in_utc() {
        let t = time::macros::datetime!(2026-12-07 23:30 -02:00);
        assert_eq!(day_of(t), "2026-12-08");
    }
}
