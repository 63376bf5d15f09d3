//! TLS reporting (RFC 8460) on the relay's side: the TLS outcome of every outbound attempt to
//! an MX host is kept by day (`store::tls_outcomes`, written off the async threads), and the
//! aggregate report of a day for a recipient domain is built from them in the RFC's JSON
//! (`policy::tls_rpt`) — what `mailflow tls-report show` prints. Once a day the reports of the
//! day before go by mail (gzipped, `multipart/report`) to the `mailto:` addresses each domain
//! publishes at `_smtp._tls`; their own deliveries are not counted in reports (no loops).
//! Reports others mail to our reporting address are read on local delivery and kept
//! (`store::tls_received`) for the console.

use super::services::Services;
use crate::config::Settings;
use crate::policy::tls_rpt::{Report, Reporter, SessionOutcome, aggregate, report_addresses};
use crate::smtp::envelope::{Envelope, new_message_id};
use crate::smtp::tlsrpt_mail::{self, ReportMail};
use crate::store::clock::now_ms;
use crate::store::tls_outcomes;
use std::io::Write;
use std::sync::Arc;
use time::OffsetDateTime;

/// The header that marks a TLS report mail: its delivery is never counted in a report.
pub const REPORT_HEADER: &str = "TLS-Report-Domain";

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

/// The report of `day` (`2026-12-07`) for recipient domain `domain`, from the organization of
/// `settings`, out of that day's `outcomes` (`store::tls_outcomes::load_day`).
pub fn report(settings: &Settings, domain: &str, day: &str, outcomes: &[SessionOutcome]) -> Report {
    let our_domain = settings.our_domain().unwrap_or(&settings.organization.fqdn);
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
    aggregate(&reporter, &domain.to_ascii_lowercase(), outcomes)
}

/// How long posting a report to an `https:` address may take.
const POST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The policy line of a report mail's envelope (what marks it as one of ours).
const REPORT_POLICY: &str = "TLS report for ";

/// Whether a queued message is a TLS report mail of ours (its failure suppresses the address).
pub fn is_report_mail(env: &Envelope) -> bool {
    env.sender == crate::smtp::address::ReversePath::Null
        && env.inbound.policy.starts_with(REPORT_POLICY)
}

/// Leaves report address `address` out for a while after it failed (off the async threads; a
/// store that cannot be written is logged).
pub async fn suppress(services: &Services, address: &str, why: &str) {
    let now = now_ms();
    let until = now + crate::policy::tls_rpt::SUPPRESS_FAILING_FOR_MS;
    tracing::warn!(
        "TLS report address {address} failed ({why}); left out until {}",
        crate::store::clock::format_ms(until)
    );
    let (dir, address) = (services.config().data_dir.clone(), address.to_string());
    let stored =
        tokio::task::spawn_blocking(move || tls_outcomes::suppress(&dir, &address, until, now))
            .await;
    if let Ok(Err(e)) = stored {
        tracing::warn!("the suppressed TLS report addresses cannot be saved: {e}");
    }
}

/// Sends the reports of `day` for every domain that has outcomes that day and publishes an
/// address at `_smtp._tls`: queued as mail to `mailto:` addresses, posted to `https:` ones
/// (RFC 8460 §5.3, §5.4); returns how many went out. A domain without an address, or whose
/// lookup fails, gets none, and an address that failed lately is left out (said in the log).
pub async fn send_day(services: &Arc<Services>, day: &str) -> Result<usize, String> {
    let run = services.config();
    let settings = &run.checked.settings;
    let (dir, wanted) = (run.data_dir.clone(), day.to_string());
    let (outcomes, suppressed) = tokio::task::spawn_blocking(move || {
        (
            tls_outcomes::load_day(&dir, &wanted),
            tls_outcomes::suppressed(&dir),
        )
    })
    .await
    .map_err(|e| e.to_string())?;
    let mut domains: Vec<String> = outcomes.iter().map(|o| o.policy_domain.clone()).collect();
    domains.sort();
    domains.dedup();
    let dns = services
        .dns(
            &run.checked.dns_servers,
            &run.checked.settings.transport.dnssec_trust_anchor,
        )
        .map_err(|e| e.to_string())?;
    let begin = time::Date::parse(
        day,
        &time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| format!("'{day}' is not a day (YYYY-MM-DD)"))?
    .midnight()
    .assume_utc();
    let end = begin + time::Duration::seconds(86_399);
    let our_domain = settings.our_domain().unwrap_or(run.fqdn());
    let mut https = None;
    let mut sent = 0;
    for domain in domains {
        let addresses = match dns.txt(&format!("_smtp._tls.{domain}")).await {
            Ok(records) => report_addresses(&records),
            Err(why) => {
                tracing::warn!("no TLS report for {domain}: {why}");
                continue;
            }
        };
        let report = report(settings, &domain, day, &outcomes);
        let json = serde_json::to_vec(&report).map_err(|e| e.to_string())?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&json).map_err(|e| e.to_string())?;
        let gzipped = gz.finish().map_err(|e| e.to_string())?;
        for address in &addresses {
            if let Some(until) = suppressed.get(address).filter(|t| **t > now_ms()) {
                tracing::info!(
                    "no TLS report for {domain} to {address}: it failed lately, left out until {}",
                    crate::store::clock::format_ms(*until)
                );
                continue;
            }
            if let Some(to) = address.strip_prefix("mailto:") {
                let mut random = [0u8; 16];
                aws_lc_rs::rand::fill(&mut random).map_err(|_| "no randomness".to_string())?;
                let id = new_message_id(random);
                let now = OffsetDateTime::now_utc();
                let body = tlsrpt_mail::build(&ReportMail {
                    submitter: run.fqdn(),
                    domain: &domain,
                    report_id: &report.report_id,
                    from: &format!("TLS reports <postmaster@{our_domain}>"),
                    to,
                    begin,
                    end,
                    now,
                    unique: &id,
                    gzipped_json: &gzipped,
                });
                let envelope = Envelope::generated(
                    id.clone(),
                    vec![to.to_string()],
                    &body,
                    run.fqdn(),
                    format!("{REPORT_POLICY}{domain} (generated by Mailflow)"),
                    now_ms(),
                );
                services
                    .queue
                    .accept(envelope, body)
                    .await
                    .map_err(|e| format!("the TLS report for {domain} could not be queued: {e}"))?;
                sent += 1;
            } else {
                let client = match &https {
                    Some(c) => c,
                    None => https.insert(super::https::client(
                        dns.clone(),
                        443,
                        &run.roots,
                        POST_TIMEOUT,
                        "TLS reporting",
                    )?),
                };
                match post(client, address, &gzipped).await {
                    Ok(()) => sent += 1,
                    Err(why) => suppress(services, address, &why).await,
                }
            }
        }
    }
    let dir = run.data_dir.clone();
    let wanted = day.to_string();
    tokio::task::spawn_blocking(move || tls_outcomes::mark_sent(&dir, &wanted))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    Ok(sent)
}

/// Posts a gzipped report to an `https:` address (RFC 8460 §5.4): any 2xx is taken.
async fn post(client: &reqwest::Client, url: &str, gzipped: &[u8]) -> Result<(), String> {
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/tlsrpt+gzip")
        .body(gzipped.to_vec())
        .send()
        .await
        .map_err(|e| super::https::causes(&e))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("{url} answered {}", response.status()))
    }
}

/// Sends yesterday's reports once, checking every hour (a relay that was down at midnight
/// sends them when it is back).
pub async fn daily(services: Arc<Services>) {
    loop {
        let yesterday = day_of(OffsetDateTime::now_utc() - time::Duration::days(1));
        let (dir, day) = (services.config().data_dir.clone(), yesterday.clone());
        let due = tokio::task::spawn_blocking(move || {
            !tls_outcomes::is_sent(&dir, &day) && !tls_outcomes::load_day(&dir, &day).is_empty()
        })
        .await
        .unwrap_or(false);
        if due {
            match send_day(&services, &yesterday).await {
                Ok(n) => tracing::info!("{n} TLS report(s) for {yesterday} queued"),
                Err(why) => tracing::warn!("TLS reports for {yesterday}: {why}"),
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    }
}

/// Whether `recipient` is our TLS report address (`transport.tls_rpt_address`).
pub fn is_report_address(settings: &Settings, recipient: &str) -> bool {
    settings
        .transport
        .tls_rpt_address
        .as_deref()
        .is_some_and(|a| a.trim().eq_ignore_ascii_case(recipient))
}

/// Reads a mail delivered to our report address and keeps its report (blocking: call it off the
/// async threads). `Ok` says what was kept, `Err` why nothing was — for the tracking event; the
/// mail itself is delivered either way.
pub fn receive(dir: &crate::store::DataDir, body: &[u8], now_ms: i64) -> Result<String, String> {
    let part = tlsrpt_mail::read(body).map_err(|e| format!("not a readable TLS report: {e}"))?;
    let report = crate::policy::tls_rpt::parse_report(&part.json)
        .map_err(|e| format!("not a readable TLS report: {e}"))?;
    let r = crate::store::tls_received::ReceivedReport {
        received: now_ms,
        submitter: part
            .submitter
            .unwrap_or_else(|| report.organization_name.clone()),
        report,
    };
    crate::store::tls_received::save(dir, &r)
        .map_err(|e| format!("the TLS report could not be kept: {e}"))?;
    let domains: Vec<&str> = r
        .report
        .policies
        .iter()
        .map(|p| p.policy.policy_domain.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    Ok(format!(
        "TLS report {} from {} about {} kept",
        r.report.report_id,
        r.report.organization_name,
        domains.join(", ")
    ))
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
