//! What message tracking says of one partner domain: the last Domain Secure message received
//! from it and sent to it, the last refusal or failed delivery with its reason, the messages of
//! the last day by security level, and a history per day (messages by security, refusals) for
//! the partner's page. Read from `tracking.db` with queries bounded by time or walking one
//! event kind newest first, so a million events cost little.

use super::error::{Result, StoreError};
use crate::smtp::evidence::SecurityStatus;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;

const DAY_MS: i64 = 86_400_000;

/// Messages counted by the security they travelled with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BySecurity {
    pub domain_secure: u64,
    pub encrypted: u64,
    pub plaintext: u64,
}

impl BySecurity {
    fn add(&mut self, security: &str, n: u64) {
        match security {
            "DomainSecure" => self.domain_secure += n,
            "Encrypted" => self.encrypted += n,
            _ => self.plaintext += n,
        }
    }

    pub fn total(&self) -> u64 {
        self.domain_secure + self.encrypted + self.plaintext
    }

    pub fn get(&self, s: SecurityStatus) -> u64 {
        match s {
            SecurityStatus::DomainSecure => self.domain_secure,
            SecurityStatus::Encrypted => self.encrypted,
            SecurityStatus::Plaintext => self.plaintext,
        }
    }
}

/// A refusal of the partner's session, or a delivery to it that failed or was deferred.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Unix milliseconds.
    pub time: i64,
    /// `REJECT` (we refused it), `DEFER` or `FAIL` (our delivery to it).
    pub kind: String,
    /// The reply or reason.
    pub reason: String,
}

/// One day of the partner's history (days since the Unix epoch, UTC).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Day {
    pub day: i64,
    /// Received from the partner and sent to it.
    pub messages: BySecurity,
    /// Sessions or commands of the partner we refused.
    pub refused: u64,
}

/// Tracking's view of one partner domain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Activity {
    /// The last message received from the partner as Domain Secure (unix ms).
    pub last_secure_in: Option<i64>,
    /// The last message sent to the partner as Domain Secure.
    pub last_secure_out: Option<i64>,
    pub last_failure: Option<Failure>,
    /// Messages received from the partner in the last 24 hours.
    pub received_24h: BySecurity,
    /// Messages sent to the partner in the last 24 hours.
    pub sent_24h: BySecurity,
    pub refused_24h: u64,
    /// The last `days` days, oldest first, every day present.
    pub history: Vec<Day>,
}

fn db_err(path: &Path, e: rusqlite::Error) -> StoreError {
    StoreError::Database {
        path: path.to_path_buf(),
        why: format!("cannot read a partner's activity: {e}"),
    }
}

/// The `LIKE` pattern of any address at `domain` (`%@domain`, wildcards escaped with `\`).
fn at_domain(domain: &str) -> String {
    let mut p = String::from("%@");
    for c in domain.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p
}

/// Events of the partner: received from it (sender at the domain) or sent to it (a recipient
/// at the domain), by kind.
const FROM_PARTNER: &str = "e.sender_lc LIKE ?1 ESCAPE '\\'";
const TO_PARTNER: &str = "EXISTS (SELECT 1 FROM event_recipients r WHERE r.event_id = e.id \
     AND r.address_lc LIKE ?1 ESCAPE '\\')";

/// Reads the partner's activity at `now` (unix ms) with `days` days of history.
pub(super) fn read(
    conn: &Connection,
    path: &Path,
    domain: &str,
    now: i64,
    days: i64,
) -> Result<Activity> {
    let pattern = at_domain(domain);
    let last = |kind: &str, side: &str| -> Result<Option<i64>> {
        conn.query_row(
            &format!(
                "SELECT e.time FROM events e WHERE e.kind = '{kind}' AND \
                 e.security = 'DomainSecure' AND {side} ORDER BY e.time DESC LIMIT 1"
            ),
            params![pattern],
            |row| row.get(0),
        )
        .optional()
        .map_err(|e| db_err(path, e))
    };
    let last_secure_in = last("RECEIVE", FROM_PARTNER)?;
    let last_secure_out = last("SEND", TO_PARTNER)?;
    let mut last_failure: Option<Failure> = None;
    for (kind, side) in [
        ("REJECT", FROM_PARTNER),
        ("DEFER", TO_PARTNER),
        ("FAIL", TO_PARTNER),
    ] {
        let found = conn
            .query_row(
                &format!(
                    "SELECT e.time, e.response, e.detail FROM events e WHERE e.kind = '{kind}' \
                     AND {side} ORDER BY e.time DESC LIMIT 1"
                ),
                params![pattern],
                |row| {
                    Ok(Failure {
                        time: row.get(0)?,
                        kind: kind.to_string(),
                        reason: row
                            .get::<_, Option<String>>(1)?
                            .or(row.get::<_, Option<String>>(2)?)
                            .unwrap_or_default(),
                    })
                },
            )
            .optional()
            .map_err(|e| db_err(path, e))?;
        if let Some(f) = found
            && last_failure.as_ref().is_none_or(|l| f.time > l.time)
        {
            last_failure = Some(f);
        }
    }
    let today = now.div_euclid(DAY_MS);
    let first_day = today - days.max(1) + 1;
    let since = (first_day * DAY_MS).min(now - DAY_MS);
    let mut history: Vec<Day> = (first_day..=today)
        .map(|day| Day {
            day,
            ..Default::default()
        })
        .collect();
    let mut activity = Activity {
        last_secure_in,
        last_secure_out,
        last_failure,
        ..Default::default()
    };
    for (kind, side) in [
        ("RECEIVE", FROM_PARTNER),
        ("SEND", TO_PARTNER),
        ("REJECT", FROM_PARTNER),
    ] {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT e.time, e.security FROM events e WHERE e.kind = '{kind}' \
                 AND e.time >= ?2 AND {side}"
            ))
            .map_err(|e| db_err(path, e))?;
        let rows = stmt
            .query_map(params![pattern, since], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
            })
            .map_err(|e| db_err(path, e))?;
        for row in rows {
            let (time, security) = row.map_err(|e| db_err(path, e))?;
            let recent = time > now - DAY_MS;
            match kind {
                "RECEIVE" if recent => activity.received_24h.add(&security, 1),
                "SEND" if recent => activity.sent_24h.add(&security, 1),
                "REJECT" if recent => activity.refused_24h += 1,
                _ => {}
            }
            let Some(day) = history
                .iter_mut()
                .find(|d| d.day == time.div_euclid(DAY_MS))
            else {
                continue;
            };
            if kind == "REJECT" {
                day.refused += 1;
            } else {
                day.messages.add(&security, 1);
            }
        }
    }
    activity.history = history;
    Ok(activity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tracking::{EventKind, TrackingDb, TrackingEvent};

    fn event(time: i64, kind: EventKind, from: &str, to: &str, s: SecurityStatus) -> TrackingEvent {
        TrackingEvent {
            time,
            kind,
            internal_id: format!("id{time}"),
            message_id: None,
            sender: from.into(),
            recipients: vec![to.into()],
            subject: None,
            size: 10,
            client: None,
            server: None,
            connector: None,
            tls: None,
            security: s,
            response: Some(format!("{kind} at {time}")),
            detail: None,
            session: None,
            helo: None,
            why: Vec::new(),
        }
    }

    #[test]
    fn a_partners_activity_counts_its_own_mail_only() {
        use EventKind::*;
        use SecurityStatus::*;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut db = TrackingDb::open(&dir.path().join("tracking.db")).expect("open");
        let now = 30 * DAY_MS + 3_600_000;
        let w = "bob@Woodgrove.test";
        let c = "alice@contoso.test";
        db.insert(&[
            // Three days ago: one Domain Secure message each way.
            event(now - 3 * DAY_MS, Receive, w, c, DomainSecure),
            event(now - 3 * DAY_MS, Send, c, w, DomainSecure),
            // Today: an encrypted one in, a refusal, a deferral out (the newest failure).
            event(now - 60_000, Receive, w, c, Encrypted),
            event(now - 50_000, Reject, w, c, Plaintext),
            event(now - 40_000, Defer, c, w, Plaintext),
            // Someone else, and a look-alike domain: not counted.
            event(now - 30_000, Receive, "x@fabrikam.test", c, DomainSecure),
            event(
                now - 30_000,
                Receive,
                "x@notwoodgrove.test",
                c,
                DomainSecure,
            ),
            event(now - 30_000, Send, c, "x@sub.woodgrove.test", DomainSecure),
        ])
        .expect("insert");
        let a = db.partner_activity("woodgrove.test", now, 7).expect("read");
        assert_eq!(a.last_secure_in, Some(now - 3 * DAY_MS));
        assert_eq!(a.last_secure_out, Some(now - 3 * DAY_MS));
        let f = a.last_failure.expect("failure");
        assert_eq!((f.time, f.kind.as_str()), (now - 40_000, "DEFER"));
        assert_eq!(f.reason, format!("DEFER at {}", now - 40_000));
        assert_eq!(
            a.received_24h,
            BySecurity {
                encrypted: 1,
                ..Default::default()
            }
        );
        assert_eq!(a.sent_24h.total(), 0);
        assert_eq!(a.refused_24h, 1);
        assert_eq!(a.history.len(), 7);
        let three_ago = &a.history[3];
        assert_eq!(three_ago.day, (now - 3 * DAY_MS) / DAY_MS);
        assert_eq!(three_ago.messages.domain_secure, 2);
        let today = a.history.last().expect("today");
        assert_eq!((today.messages.encrypted, today.refused), (1, 1));
        // A domain with nothing: empty, every day present.
        let none = db.partner_activity("tailspin.test", now, 7).expect("read");
        assert_eq!(none.last_failure, None);
        assert_eq!(none.history.iter().map(|d| d.refused).sum::<u64>(), 0);
        assert_eq!(none.history.len(), 7);
        assert_eq!(at_domain("a_b%.test"), "%@a\\_b\\%.test");
    }
}
