//! What the TLS reports page shows, read on the query worker (never on the UI thread): the
//! reports other organizations sent us, as rows and daily totals, and what we recorded and sent
//! ourselves, by day and recipient domain.

use crate::policy::tls_rpt::{ReceivedRow, daily_totals, outcome_totals, received_rows};
use crate::store::DataDir;
use crate::store::{tls_outcomes, tls_received};

/// Days of our own outcomes the page lists.
pub const SENT_DAYS: usize = 14;

/// One day of our own TLS outcomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentDay {
    pub day: String,
    /// (recipient domain, successful sessions, failed sessions).
    pub domains: Vec<(String, u64, u64)>,
    /// The day's reports were queued for the domains that ask for them.
    pub sent: bool,
}

/// The page's data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsReportsData {
    pub received: Vec<ReceivedRow>,
    /// (day, successful, failed) over every received report.
    pub daily: Vec<(String, u64, u64)>,
    /// Kept reports that could not be read.
    pub problems: Vec<String>,
    pub sent: Vec<SentDay>,
}

/// Reads everything the page shows (blocking).
pub fn load(dir: &DataDir) -> TlsReportsData {
    let (reports, problems) = tls_received::list(dir);
    let received = received_rows(reports.iter().map(|r| (&r.submitter, &r.report)), None);
    let daily = daily_totals(&received);
    let sent = tls_outcomes::days(dir)
        .into_iter()
        .take(SENT_DAYS)
        .map(|day| SentDay {
            domains: outcome_totals(&tls_outcomes::load_day(dir, &day)),
            sent: tls_outcomes::is_sent(dir, &day),
            day,
        })
        .collect();
    TlsReportsData {
        received,
        daily,
        problems,
        sent,
    }
}
