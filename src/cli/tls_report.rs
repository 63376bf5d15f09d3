//! `mailflow tls-report ...`: the TLS reports (RFC 8460) this relay would send, from the TLS
//! outcomes of its outbound sessions.

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
    }
    Ok(())
}
