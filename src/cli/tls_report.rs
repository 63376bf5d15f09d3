//! `mailflow tls-report ...`: the TLS reports (RFC 8460) this relay would send, from the TLS
//! outcomes of its outbound sessions, and those other organizations sent us.

use super::{CliError, CliResult, open};
use clap::Subcommand;
use mailflow::engine::tls_reports;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum TlsReportCommand {
    /// The aggregate report of a day for a recipient domain, in the RFC's JSON
    Show {
        /// The recipient domain (the policy domain)
        #[arg(long)]
        domain: String,
        /// The day, YYYY-MM-DD (UTC); today by default
        #[arg(long)]
        date: Option<String>,
    },
    /// The reports other organizations mailed to our TLS report address, one line a policy
    Received {
        /// Only reports about this domain of ours
        #[arg(long)]
        domain: Option<String>,
    },
}

pub fn run(dir: &Option<PathBuf>, cmd: &TlsReportCommand) -> CliResult {
    let workspace = open(dir)?;
    match cmd {
        TlsReportCommand::Show { domain, date } => {
            let day = match date {
                Some(d) => {
                    let valid = d.len() == 10
                        && d.char_indices().all(|(i, c)| {
                            if i == 4 || i == 7 {
                                c == '-'
                            } else {
                                c.is_ascii_digit()
                            }
                        });
                    if !valid {
                        return Err(CliError(format!(
                            "'{d}' is not a day: write it as YYYY-MM-DD (2026-12-07)"
                        )));
                    }
                    d.clone()
                }
                None => tls_reports::day_of(time::OffsetDateTime::now_utc()),
            };
            let outcomes = mailflow::store::tls_outcomes::load_day(&workspace.dir, &day);
            let report = tls_reports::report(&workspace.settings, domain, &day, &outcomes);
            let text = serde_json::to_string_pretty(&report)
                .map_err(|e| CliError(format!("the report cannot be written as JSON: {e}")))?;
            println!("{text}");
        }
        TlsReportCommand::Received { domain } => {
            let (reports, problems) = mailflow::store::tls_received::list(&workspace.dir);
            let rows = mailflow::policy::tls_rpt::received_rows(
                reports.iter().map(|r| (&r.submitter, &r.report)),
                domain.as_deref(),
            );
            if rows.is_empty() {
                match &workspace.settings.transport.tls_rpt_address {
                    Some(a) => println!("No TLS reports received yet (they go to {a})."),
                    None => println!(
                        "No TLS reports received. Set an address for them: mailflow transport set --tls-rpt-address tls-reports@<our domain>"
                    ),
                }
            }
            for r in rows {
                println!(
                    "{}  {}  {} ({})  {}  ok {}  failed {}{}",
                    r.period_start,
                    r.reporter,
                    r.policy_domain,
                    r.policy_type,
                    r.submitter,
                    r.successful,
                    r.failed,
                    if r.failures.is_empty() {
                        String::new()
                    } else {
                        format!("  [{}]", r.failures.join("; "))
                    }
                );
            }
            for p in problems {
                eprintln!("warning: a kept report cannot be read: {p}");
            }
        }
    }
    Ok(())
}
