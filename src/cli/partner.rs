//! `mailflow partner health`: the partners report of [`mailflow::admin::partners`] as text, a
//! block per partner with each cell's mark and sentence, and under every cell that needs it
//! the fix with the command that makes it.

use super::{CliError, CliResult, data_dir, now};
use mailflow::admin::partners::{self, Column, Fix, PartnerHealth};
use mailflow::admin::{CheckMark, Workspace};
use mailflow::engine::{self, QueueOp, QueueReply};
use std::path::PathBuf;

fn mark_word(m: CheckMark) -> &'static str {
    match m {
        CheckMark::Pass => "ok",
        CheckMark::Warn => "WARN",
        CheckMark::Fail => "FAIL",
        CheckMark::Skip => "-",
    }
}

/// The command that applies `fix`, when one command does.
fn fix_command(fix: &Fix, domain: &str, ws: &Workspace) -> Option<String> {
    let t = &ws.settings.transport;
    let with = |list: &[String]| {
        let mut l: Vec<&str> = list.iter().map(String::as_str).collect();
        l.push(domain);
        l.join(",")
    };
    Some(match fix {
        Fix::AddToSendList => format!(
            "mailflow transport set --send-domain-secure {}",
            with(&t.tls_send_domain_secure_list)
        ),
        Fix::AddToReceiveList => format!(
            "mailflow transport set --receive-domain-secure {}",
            with(&t.tls_receive_domain_secure_list)
        ),
        Fix::SendConnectorDomainSecurity(c) => format!(
            "mailflow connector send set {} --domain-secure true",
            mailflow::admin::shell_arg(c)
        ),
        Fix::ReceiveConnectorDomainSecurity(c) => format!(
            "mailflow connector receive set {} --domain-secure true --auth tls",
            mailflow::admin::shell_arg(c)
        ),
        Fix::SetUpDomainSecurity => format!("mailflow partner setup {domain} --root FILE"),
        Fix::OurCertificate => "mailflow cert request --help".into(),
        Fix::TrackFailures => format!("mailflow track --recipient @{domain} --details"),
        Fix::AskPartner(_) => return None,
    })
}

fn print_partner(row: &PartnerHealth, ws: &Workspace) {
    let worst = match row.worst() {
        CheckMark::Fail => "needs attention",
        CheckMark::Warn => "has warnings",
        _ => "healthy",
    };
    println!("{} — {worst}", row.domain);
    for column in Column::ALL {
        let cell = row.cell(column);
        println!(
            "  {:<20} {:<5} {}",
            column.title(),
            mark_word(cell.mark),
            cell.text
        );
        if let Some(fix) = &cell.fix {
            println!("  {:<20}       Fix: {}", "", fix.describe(&row.domain));
            if let Some(cmd) = fix_command(fix, &row.domain, ws) {
                println!("  {:<20}            {cmd}", "");
            }
        }
    }
    if let Some(c) = &row.last_certificate {
        println!(
            "  Certificate seen     {} ({}), issuer {}, names {}, thumbprint {}, at {}",
            c.certificate.subject,
            match c.direction {
                mailflow::smtp::evidence::Direction::Inbound => "client certificate",
                mailflow::smtp::evidence::Direction::Outbound => "server certificate",
            },
            c.certificate.issuer,
            c.certificate.names.join(", "),
            c.certificate.thumbprint,
            c.host
        );
    }
}

pub fn run_health(dir: &Option<PathBuf>, ws: &Workspace, domain: Option<&str>) -> CliResult {
    let d = data_dir(dir);
    let queues = match engine::control::send(d.root(), &QueueOp::List) {
        Some(r) => r,
        None => {
            engine::offline_queue_op(ws, &QueueOp::List).map_err(|e| CliError(e.to_string()))?
        }
    };
    let queued = match &queues {
        QueueReply::Queues(rows) => {
            partners::queued_by_domain(rows.iter().map(|q| (q.name.as_str(), q.messages)))
        }
        _ => Default::default(),
    };
    let report = partners::gather(ws, &queued, now())?;
    for note in &report.notes {
        println!("Note: {note}");
    }
    let wanted = domain.map(|d| d.trim().to_ascii_lowercase());
    let rows: Vec<&PartnerHealth> = report
        .rows
        .iter()
        .filter(|r| wanted.as_deref().is_none_or(|w| r.domain == w))
        .collect();
    if rows.is_empty() {
        return Err(CliError(match wanted {
            Some(w) => format!(
                "{w} is not a partner: it is on no domain secure list and has no anchors or \
                 partner pin (`mailflow partner setup {w}` makes it one)"
            ),
            None => "there are no partners yet: `mailflow partner setup DOMAIN` sets up Domain \
                     Security with one"
                .into(),
        }));
    }
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            println!();
        }
        print_partner(row, ws);
    }
    Ok(())
}

pub fn run_alerts(ws: &Workspace) {
    let (sightings, note) = partners::sightings(ws);
    if let Some(n) = note {
        println!("Note: {n}");
    }
    let alerts = partners::current_alerts(ws, &sightings, now());
    if alerts.is_empty() {
        println!("No alerts.");
    }
    for a in &alerts {
        let mark = match a.severity {
            partners::watch::Severity::Critical => "CRITICAL",
            partners::watch::Severity::Warning => "Warning",
        };
        println!("{mark}: {}", a.text);
    }
    match &ws.settings.transport.alert_address {
        Some(to) => println!("New alerts are mailed to {to}."),
        None => println!(
            "No alert address is set: `mailflow transport set --alert-address ADDRESS` has new alerts mailed."
        ),
    }
}

pub fn run_report(
    dir: &Option<PathBuf>,
    since: &str,
    until: &Option<String>,
    partner: &Option<String>,
    out: &std::path::Path,
    format: &Option<String>,
) -> CliResult {
    let ws = super::open(dir)?;
    let at = now();
    let since_ms = super::relay::parse_since(since)?;
    let until_ms = match until {
        Some(u) => super::relay::parse_since(u)?,
        // Every event up to this millisecond (inclusive).
        None => mailflow::admin::evidence::ms_of(at) + 1,
    };
    let html = match format.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("html") => true,
        Some("csv") => false,
        Some(other) => {
            return Err(CliError(format!("--format {other}: write csv or html")));
        }
        None => out
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm")),
    };
    let report = partners::evidence(&ws, since_ms, until_ms, partner.as_deref(), at)?;
    let bytes = if html {
        mailflow::admin::evidence::html(&report)
    } else {
        mailflow::admin::evidence::csv(&report)
    };
    mailflow::store::atomic::write_atomic(out, bytes.as_bytes(), 0o644)
        .map_err(|e| CliError(e.to_string()))?;
    println!(
        "Evidence report written to {}: {} messages ({} Domain Secure, {} Encrypted, {} Plaintext), {} refusals.",
        out.display(),
        report.by_security.total(),
        report.by_security.domain_secure,
        report.by_security.encrypted,
        report.by_security.plaintext,
        report.refusals.len()
    );
    Ok(())
}
