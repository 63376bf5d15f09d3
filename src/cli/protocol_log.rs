//! `mailflow log`: the protocol log of a day, filtered by session id, connector and peer — the
//! same reader as the console's Protocol logs page.

use super::{CliError, CliResult, data_dir};
use mailflow::store::protocol_logs::{self, LogDirection, LogFilter, day_text};
use std::path::PathBuf;

/// Most lines printed.
const MAX_LINES: usize = 1_000_000;

/// `2026-12-07` or `20261207` as `20261207`; `None` for the newest day kept.
fn day_arg(text: &str) -> Result<String, CliError> {
    let digits: String = text.chars().filter(|c| *c != '-').collect();
    if digits.len() == 8 && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(digits)
    } else {
        Err(CliError(format!(
            "'{text}' is not a day: give it as 2026-12-07"
        )))
    }
}

#[allow(clippy::too_many_arguments)]
pub fn run_log(
    dir: &Option<PathBuf>,
    send: bool,
    day: &Option<String>,
    session: &Option<String>,
    connector: &Option<String>,
    peer: &Option<String>,
    list_days: bool,
) -> CliResult {
    let d = data_dir(dir);
    let direction = if send {
        LogDirection::Send
    } else {
        LogDirection::Receive
    };
    let days = protocol_logs::days(&d, direction);
    if list_days {
        for day in &days {
            println!("{}", day_text(day));
        }
        return Ok(());
    }
    let day = match day {
        Some(t) => day_arg(t)?,
        None => days.first().cloned().ok_or_else(|| {
            CliError(format!(
                "there is no {} yet: the relay writes one on each day it has sessions",
                direction.title().to_lowercase()
            ))
        })?,
    };
    let filter = LogFilter {
        session: session.clone().unwrap_or_default(),
        connector: connector.clone().unwrap_or_default(),
        peer: peer.clone().unwrap_or_default(),
    };
    let found = protocol_logs::read_day(&d, direction, &day, &filter, MAX_LINES)
        .map_err(|e| CliError(e.to_string()))?;
    for r in &found.rows {
        let context = if r.context.is_empty() {
            String::new()
        } else {
            format!("  [{}]", r.context)
        };
        println!(
            "{} {} {} {} {} {}{}",
            r.time, r.session, r.connector, r.remote, r.event, r.data, context
        );
    }
    if found.skipped > 0 {
        eprintln!(
            "{} line(s) of the file are not protocol log records and were skipped",
            found.skipped
        );
    }
    if found.rows.is_empty() {
        eprintln!("no line of {} matches", day_text(&day));
    }
    Ok(())
}
