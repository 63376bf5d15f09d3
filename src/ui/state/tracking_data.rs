//! Message tracking results as the console holds them: events grouped into one row per message
//! (first seen, sender, recipients, subject, latest status, the policies its hops were held to,
//! security of the weakest hop), with
//! every display string made once on the worker; the sort order and quick filter as a
//! permutation of row indices (made on the worker too); and the CSV export. The UI thread keeps
//! one `Arc` of the rows and never copies them per frame.

use crate::policy::classify::{hop_policy_text, message_status};
use crate::smtp::evidence::SecurityStatus;
use crate::store::tracking::{EventKind, TrackingEvent};
use crate::ui::app::actions::TrackColumn;
use crate::ui::widgets::format;
use std::collections::HashMap;

/// Events read per search at most; more than this and the result says it was cut.
pub const MAX_EVENTS: usize = 600_000;

/// One message of the tracking table.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageRow {
    pub internal_id: String,
    pub message_id: String,
    /// Unix ms of the first event.
    pub time: i64,
    pub time_text: String,
    pub sender: String,
    pub recipients: String,
    pub subject: String,
    pub status: &'static str,
    /// The policies of its hops in words, in » out: `Opportunistic TLS » DANE`.
    pub policy: String,
    pub security: SecurityStatus,
    pub events: u32,
    /// Lower-cased text searched by the quick filter.
    haystack: String,
}

/// A search result.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrackingSet {
    pub rows: Vec<MessageRow>,
    pub events: usize,
    /// The search hit [`MAX_EVENTS`]: older messages are missing.
    pub truncated: bool,
}

/// The word for a message's latest event.
pub fn status_word(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Receive => "Queued",
        EventKind::Send => "Sent",
        EventKind::Deliver => "Delivered",
        EventKind::Defer => "Deferred",
        EventKind::Fail => "Failed",
        EventKind::Dsn => "Notified",
        EventKind::Quarantine => "Quarantined",
        EventKind::Release => "Released",
        EventKind::Reject => "Refused",
    }
}

fn hop_event(k: EventKind) -> bool {
    matches!(k, EventKind::Receive | EventKind::Send | EventKind::Deliver)
}

/// Groups events (in any order) into messages, newest message first.
pub fn group(events: Vec<TrackingEvent>, truncated: bool) -> TrackingSet {
    let total = events.len();
    let mut index: HashMap<String, usize> = HashMap::new();
    struct Acc {
        first: TrackingEvent,
        latest: (i64, EventKind),
        hops: Vec<SecurityStatus>,
        any: SecurityStatus,
        events: u32,
        /// The evidence of the hop that brought it, and of the latest that took it on.
        received: Option<String>,
        sent: Option<(i64, String)>,
    }
    fn note_hop(a: &mut Acc, e: &TrackingEvent) {
        let Some(d) = &e.detail else {
            return;
        };
        match e.kind {
            EventKind::Receive if a.received.is_none() => a.received = Some(d.clone()),
            EventKind::Send if a.sent.as_ref().is_none_or(|(t, _)| e.time >= *t) => {
                a.sent = Some((e.time, d.clone()))
            }
            _ => {}
        }
    }
    let mut accs: Vec<Acc> = Vec::new();
    for e in events {
        match index.get(&e.internal_id) {
            Some(&i) => {
                let a = &mut accs[i];
                a.events += 1;
                note_hop(a, &e);
                if hop_event(e.kind) {
                    a.hops.push(e.security);
                }
                a.any = a.any.max(e.security);
                if e.time >= a.latest.0 {
                    a.latest = (e.time, e.kind);
                }
                if e.time < a.first.time
                    || (e.kind == EventKind::Receive && a.first.kind != EventKind::Receive)
                {
                    a.first = e;
                }
            }
            None => {
                index.insert(e.internal_id.clone(), accs.len());
                let mut a = Acc {
                    latest: (e.time, e.kind),
                    hops: if hop_event(e.kind) {
                        vec![e.security]
                    } else {
                        Vec::new()
                    },
                    any: e.security,
                    events: 1,
                    received: None,
                    sent: None,
                    first: e.clone(),
                };
                note_hop(&mut a, &e);
                accs.push(a);
            }
        }
    }
    let mut rows: Vec<MessageRow> = accs
        .into_iter()
        .map(|a| {
            let security = if a.hops.is_empty() {
                a.any
            } else {
                message_status(a.hops)
            };
            let policy = match (&a.received, &a.sent) {
                (Some(r), Some((_, s))) => {
                    format!("{} » {}", hop_policy_text(r), hop_policy_text(s))
                }
                (Some(r), None) => hop_policy_text(r),
                (None, Some((_, s))) => format!("» {}", hop_policy_text(s)),
                (None, None) => "—".into(),
            };
            let e = a.first;
            let refusal = e.kind == EventKind::Reject;
            let sender = match (e.sender.is_empty(), refusal) {
                (true, true) => "—".to_string(),
                (true, false) => "<>".to_string(),
                (false, _) => e.sender,
            };
            let recipients = e.recipients.join(", ");
            // A refusal has no subject: its row shows the reply given instead.
            let subject = if refusal {
                e.response.unwrap_or_default()
            } else {
                e.subject.unwrap_or_default()
            };
            let message_id = e.message_id.unwrap_or_default();
            let haystack = format!(
                "{}\n{}\n{}\n{}\n{}",
                sender, recipients, subject, message_id, e.internal_id
            )
            .to_lowercase();
            MessageRow {
                time_text: format::time_ms(e.time),
                time: e.time,
                internal_id: e.internal_id,
                message_id,
                sender,
                recipients,
                subject,
                status: status_word(a.latest.1),
                policy,
                security,
                events: a.events,
                haystack,
            }
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.time));
    TrackingSet {
        rows,
        events: total,
        truncated,
    }
}

/// The visible rows, in display order: those matching `filter` (case-insensitive, any of
/// sender, recipients, subject, Message-ID, internal id), sorted by `column`.
pub fn order(set: &TrackingSet, column: TrackColumn, ascending: bool, filter: &str) -> Vec<u32> {
    let needle = filter.trim().to_lowercase();
    let mut idx: Vec<u32> = (0..set.rows.len() as u32)
        .filter(|&i| needle.is_empty() || set.rows[i as usize].haystack.contains(&needle))
        .collect();
    let rows = &set.rows;
    let key = |i: &u32| &rows[*i as usize];
    match column {
        TrackColumn::Time => idx.sort_by_key(|i| key(i).time),
        TrackColumn::Sender => idx.sort_by(|a, b| key(a).sender.cmp(&key(b).sender)),
        TrackColumn::Recipients => idx.sort_by(|a, b| key(a).recipients.cmp(&key(b).recipients)),
        TrackColumn::Subject => idx.sort_by(|a, b| key(a).subject.cmp(&key(b).subject)),
        TrackColumn::Status => idx.sort_by_key(|i| key(i).status),
        TrackColumn::Policy => idx.sort_by(|a, b| key(a).policy.cmp(&key(b).policy)),
        TrackColumn::Security => idx.sort_by_key(|i| key(i).security),
    }
    if !ascending {
        idx.reverse();
    }
    idx
}

/// The rows in `order` as CSV (RFC 4180), with a header line.
pub fn csv(set: &TrackingSet, order: &[u32]) -> String {
    let mut out = crate::store::csv::record([
        "Time (UTC)",
        "Sender",
        "Recipients",
        "Subject",
        "Status",
        "Policy",
        "Security",
        "Message-ID",
        "Internal ID",
        "Events",
    ]);
    for &i in order {
        let Some(r) = set.rows.get(i as usize) else {
            continue;
        };
        let fields = [
            r.time_text.clone(),
            r.sender.clone(),
            r.recipients.clone(),
            r.subject.clone(),
            r.status.to_string(),
            r.policy.clone(),
            r.security.label().to_string(),
            r.message_id.clone(),
            r.internal_id.clone(),
            r.events.to_string(),
        ];
        // Senders and subjects are what clients sent: no cell may act as a formula.
        out.push_str(&crate::store::csv::record(
            fields.map(|f| crate::store::csv::spreadsheet_safe(&f)),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: &str, t: i64, kind: EventKind, sec: SecurityStatus, subject: &str) -> TrackingEvent {
        TrackingEvent {
            time: t,
            kind,
            internal_id: id.into(),
            message_id: Some(format!("<{id}@test>")),
            sender: "alice@contoso.test".into(),
            recipients: vec!["bob@woodgrove.test".into()],
            subject: Some(subject.into()),
            size: 100,
            client: None,
            server: None,
            connector: None,
            tls: None,
            security: sec,
            response: None,
            detail: None,
            session: None,
            helo: None,
            why: Vec::new(),
        }
    }

    #[test]
    fn events_group_into_messages_with_the_weakest_hop_and_latest_status() {
        use SecurityStatus::*;
        let set = group(
            vec![
                ev("a", 3, EventKind::Send, Encrypted, "Hello, world"),
                ev("a", 1, EventKind::Receive, DomainSecure, "Hello, world"),
                ev("b", 2, EventKind::Receive, DomainSecure, "quote \"x\""),
                ev("b", 4, EventKind::Deliver, DomainSecure, "quote \"x\""),
            ],
            false,
        );
        assert_eq!(set.rows.len(), 2);
        assert_eq!(set.rows[0].internal_id, "b");
        assert_eq!(set.rows[0].status, "Delivered");
        assert_eq!(set.rows[0].security, DomainSecure);
        assert_eq!(set.rows[1].status, "Sent");
        assert_eq!(set.rows[1].security, Encrypted);
        assert_eq!(set.rows[1].time, 1);
        assert_eq!(order(&set, TrackColumn::Time, true, ""), vec![1, 0]);
        assert_eq!(order(&set, TrackColumn::Security, false, ""), vec![1, 0]);
        assert_eq!(order(&set, TrackColumn::Time, true, "QUOTE"), vec![0]);
        let csv = csv(&set, &[1, 0]);
        assert!(csv.contains("\"Hello, world\",Sent,—,Encrypted"), "{csv}");
        assert!(csv.contains("\"quote \"\"x\"\"\""), "{csv}");
        // A subject a client chose to be a spreadsheet formula is exported as text.
        let set = group(
            vec![ev(
                "c",
                1,
                EventKind::Receive,
                Plaintext,
                "=HYPERLINK(\"http://x\")",
            )],
            false,
        );
        let text = super::csv(&set, &[0]);
        assert!(
            text.contains(",\"'=HYPERLINK(\"\"http://x\"\")\","),
            "{text}"
        );
    }

    #[test]
    fn a_message_row_names_the_policies_of_its_hops_in_and_out() {
        use SecurityStatus::*;
        let with = |mut e: TrackingEvent, d: &str| {
            e.detail = Some(d.into());
            e
        };
        let set = group(
            vec![
                with(
                    ev("a", 1, EventKind::Receive, Encrypted, "s"),
                    "opportunistic TLS; TLSv1.3",
                ),
                with(
                    ev("a", 2, EventKind::Defer, Encrypted, "s"),
                    "Domain Security for woodgrove.test",
                ),
                with(
                    ev("a", 3, EventKind::Send, DomainSecure, "s"),
                    "Domain Security for woodgrove.test; DANE: 1 usable TLSA record at _25._tcp.mx1.woodgrove.test",
                ),
                with(ev("b", 4, EventKind::Receive, Plaintext, "t"), "no TLS"),
            ],
            false,
        );
        let policy = |id: &str| {
            set.rows
                .iter()
                .find(|r| r.internal_id == id)
                .map(|r| r.policy.clone())
        };
        // The deferral's evidence does not count: the hop that took it on does.
        assert_eq!(
            policy("a").as_deref(),
            Some("Opportunistic TLS » Domain Security + DANE")
        );
        assert_eq!(policy("b").as_deref(), Some("No TLS"));
        // Rows are newest first (b, a); by policy, "No TLS" sorts before "Opportunistic…".
        assert_eq!(order(&set, TrackColumn::Policy, true, ""), vec![0, 1]);
    }
}
