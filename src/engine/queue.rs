//! The queue in memory, over the durable spool: messages grouped into queues by next hop
//! (local delivery, or a send connector and recipient domain), per-recipient status, retry
//! with backoff, delay notices and NDRs (RFC 3464, never to the null sender), and the
//! administrator's operations (retry now, suspend, resume, remove with or without NDR).
//! Pure bookkeeping: the scheduler in `delivery` asks it for due work and reports results.

use crate::config::CheckedSettings;
use crate::policy::routing::{Route, route};
use crate::smtp::envelope::Envelope;
use crate::store::spool::{DeliveryState, RecipientState, RecipientStatus};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Messages of a job: each with the recipients it handles.
pub type JobItems = Vec<(Arc<Envelope>, Vec<String>)>;

/// A queue: where its messages go next.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QueueKey {
    Local,
    Remote {
        connector: String,
        domain: String,
    },
    /// No send connector covers the domain (messages wait for a settings change, then expire).
    Unreachable {
        domain: String,
    },
}

impl QueueKey {
    /// The queue's name as shown to the administrator.
    pub fn name(&self) -> String {
        match self {
            QueueKey::Local => "Local delivery".into(),
            QueueKey::Remote { connector, domain } => format!("{domain} via {connector}"),
            QueueKey::Unreachable { domain } => format!("Unreachable: {domain}"),
        }
    }

    /// Parses a queue name back (as typed for `mailflow queue ...`).
    pub fn parse(name: &str) -> Option<QueueKey> {
        let n = name.trim();
        if n.eq_ignore_ascii_case("local delivery") || n.eq_ignore_ascii_case("local") {
            return Some(QueueKey::Local);
        }
        if let Some(d) = n.strip_prefix("Unreachable: ") {
            return Some(QueueKey::Unreachable {
                domain: d.to_string(),
            });
        }
        n.split_once(" via ").map(|(d, c)| QueueKey::Remote {
            connector: c.to_string(),
            domain: d.to_string(),
        })
    }
}

/// Status words of the Queue Viewer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueStatus {
    Active,
    Ready,
    Retry,
    Suspended,
}

impl std::fmt::Display for QueueStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            QueueStatus::Active => "Active",
            QueueStatus::Ready => "Ready",
            QueueStatus::Retry => "Retry",
            QueueStatus::Suspended => "Suspended",
        })
    }
}

#[derive(Clone, Debug, Default)]
struct QueueMeta {
    suspended: bool,
    last_error: Option<String>,
    active: usize,
}

/// One message in memory.
#[derive(Clone, Debug)]
pub struct Entry {
    pub envelope: Arc<Envelope>,
    pub state: DeliveryState,
    pub busy: bool,
}

/// Work for one connection (or one local delivery run).
#[derive(Clone, Debug)]
pub struct Job {
    pub key: QueueKey,
    /// Message ids with the recipients this job handles.
    pub items: JobItems,
}

/// The result of a job for one recipient.
#[derive(Clone, Debug)]
pub enum Outcome {
    Delivered(String),
    Deferred(String),
    Failed(String),
}

/// A queue as listed.
#[derive(Clone, Debug)]
pub struct QueueInfo {
    pub key: QueueKey,
    pub status: QueueStatus,
    pub messages: usize,
    pub next_retry: Option<i64>,
    pub last_error: Option<String>,
}

/// A message as listed in a queue.
#[derive(Clone, Debug)]
pub struct MessageInfo {
    pub id: String,
    pub sender: String,
    pub recipients: Vec<RecipientState>,
    pub subject: Option<String>,
    pub size: u64,
    pub received: i64,
    pub next_attempt: i64,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub suspended: bool,
    pub status: QueueStatus,
}

/// Queue timing, from the transport settings.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub retry_ms: i64,
    pub connection_retry_ms: i64,
    pub delay_notice_ms: i64,
    pub expiration_ms: i64,
}

impl Timing {
    pub fn from(checked: &CheckedSettings) -> Timing {
        let t = &checked.settings.transport;
        let ms = |s: crate::config::units::TimeSpan| s.as_duration().as_millis() as i64;
        Timing {
            retry_ms: ms(t.transient_failure_retry_interval),
            connection_retry_ms: ms(t.outbound_connection_failure_retry_interval),
            delay_notice_ms: ms(t.delay_notification_timeout),
            expiration_ms: ms(t.message_expiration_timeout),
        }
    }

    /// Backoff: the interval doubles with each attempt, up to eight times the base.
    pub fn next_retry(&self, attempts: u32, connection_failure: bool) -> i64 {
        let base = if connection_failure {
            self.connection_retry_ms
        } else {
            self.retry_ms
        };
        base.saturating_mul(1i64 << attempts.saturating_sub(1).min(3))
    }
}

/// Notifications the queue wants sent (built by the caller).
#[derive(Clone, Debug)]
pub struct Notice {
    pub kind: crate::smtp::dsn::DsnKind,
    pub envelope: Arc<Envelope>,
    pub recipients: Vec<(String, String)>,
}

/// What applying results or sweeping changed, for the caller to persist and report.
#[derive(Debug, Default)]
pub struct Changes {
    /// Messages whose state changed and must be saved.
    pub save: Vec<(String, DeliveryState)>,
    /// Messages done (every recipient settled): remove from the spool.
    pub done: Vec<String>,
    pub notices: Vec<Notice>,
}

/// All queued messages.
#[derive(Default)]
pub struct QueueCore {
    msgs: HashMap<String, Entry>,
    meta: BTreeMap<QueueKey, QueueMeta>,
}

/// Most simultaneous connections per remote queue.
pub const MAX_CONNECTIONS_PER_QUEUE: usize = 10;

fn domain_of(addr: &str) -> String {
    addr.rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase())
        .unwrap_or_default()
}

/// The queue a recipient belongs to under the current settings.
pub fn key_for(recipient: &str, checked: &CheckedSettings) -> QueueKey {
    let d = domain_of(recipient);
    match route(&d, checked) {
        Route::Local => QueueKey::Local,
        Route::Connector { name, .. } => QueueKey::Remote {
            connector: name,
            domain: d,
        },
        Route::NoRoute => QueueKey::Unreachable { domain: d },
    }
}

impl QueueCore {
    pub fn len(&self) -> usize {
        self.msgs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.msgs.is_empty()
    }

    pub fn insert(&mut self, envelope: Envelope, state: DeliveryState) {
        let id = envelope.id.clone();
        self.msgs.insert(
            id,
            Entry {
                envelope: Arc::new(envelope),
                state,
                busy: false,
            },
        );
    }

    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.msgs.get(id)
    }

    /// Earliest time anything becomes due (unix ms), for the scheduler's sleep.
    pub fn next_due(&self) -> Option<i64> {
        self.msgs
            .values()
            .filter(|e| !e.busy && !e.state.suspended)
            .map(|e| e.state.next_attempt)
            .min()
    }

    /// Expires old messages, asks for delay notices, and hands out due work.
    pub fn take_due(
        &mut self,
        now: i64,
        checked: &CheckedSettings,
        timing: &Timing,
        per_connection: impl Fn(&str) -> usize,
    ) -> (Vec<Job>, Changes) {
        let mut changes = Changes::default();
        let mut by_key: BTreeMap<QueueKey, JobItems> = BTreeMap::new();
        let mut ids: Vec<&String> = self.msgs.keys().collect();
        ids.sort_by_key(|id| self.msgs[*id].envelope.received);
        let ids: Vec<String> = ids.into_iter().cloned().collect();
        for id in ids {
            let Some(e) = self.msgs.get_mut(&id) else {
                continue;
            };
            if e.busy || e.state.suspended {
                continue;
            }
            let age = now - e.envelope.received;
            if age >= timing.expiration_ms {
                let mut failed = Vec::new();
                for r in e
                    .state
                    .recipients
                    .iter_mut()
                    .filter(|r| r.status == RecipientStatus::Pending)
                {
                    let why = format!(
                        "message expired after {} in the queue; last error: {}",
                        crate::config::units::TimeSpan::millis(timing.expiration_ms as u64),
                        r.last_error
                            .clone()
                            .or_else(|| e.state.last_error.clone())
                            .unwrap_or_else(|| "none".into())
                    );
                    r.status = RecipientStatus::Failed {
                        time: now,
                        response: format!("550 5.4.7 {why}"),
                    };
                    failed.push((r.address.clone(), format!("550 5.4.7 {why}")));
                }
                if !failed.is_empty() {
                    changes.notices.push(Notice {
                        kind: crate::smtp::dsn::DsnKind::Failure,
                        envelope: e.envelope.clone(),
                        recipients: failed,
                    });
                }
                changes.done.push(id.clone());
                continue;
            }
            if age >= timing.delay_notice_ms && !e.state.delay_notified && e.state.attempts > 0 {
                e.state.delay_notified = true;
                let pending: Vec<(String, String)> = e
                    .state
                    .recipients
                    .iter()
                    .filter(|r| r.status == RecipientStatus::Pending)
                    .map(|r| {
                        (
                            r.address.clone(),
                            r.last_error
                                .clone()
                                .unwrap_or_else(|| "451 4.4.0 not delivered yet".into()),
                        )
                    })
                    .collect();
                if !pending.is_empty() {
                    changes.notices.push(Notice {
                        kind: crate::smtp::dsn::DsnKind::Delay,
                        envelope: e.envelope.clone(),
                        recipients: pending,
                    });
                }
                changes.save.push((id.clone(), e.state.clone()));
            }
            if e.state.next_attempt > now {
                continue;
            }
            // The first pending recipients' queue that is not suspended takes the message.
            let mut groups: BTreeMap<QueueKey, Vec<String>> = BTreeMap::new();
            for r in e
                .state
                .recipients
                .iter()
                .filter(|r| r.status == RecipientStatus::Pending)
            {
                groups
                    .entry(key_for(&r.address, checked))
                    .or_default()
                    .push(r.address.clone());
            }
            let chosen = groups
                .into_iter()
                .find(|(k, _)| !self.meta.get(k).is_some_and(|m| m.suspended));
            if let Some((k, rcpts)) = chosen {
                e.busy = true;
                by_key
                    .entry(k)
                    .or_default()
                    .push((e.envelope.clone(), rcpts));
            }
        }
        for id in &changes.done {
            self.msgs.remove(id);
        }
        let mut jobs = Vec::new();
        for (key, items) in by_key {
            let meta = self.meta.entry(key.clone()).or_default();
            let batch = match &key {
                QueueKey::Local => 1,
                QueueKey::Remote { connector, .. } => per_connection(connector).max(1),
                QueueKey::Unreachable { .. } => usize::MAX,
            };
            let mut rest = items;
            while !rest.is_empty() {
                let cap = match &key {
                    QueueKey::Remote { .. } => MAX_CONNECTIONS_PER_QUEUE,
                    _ => 64,
                };
                if meta.active >= cap {
                    // Give the rest back for later.
                    for (env, _) in rest.drain(..) {
                        if let Some(e) = self.msgs.get_mut(&env.id) {
                            e.busy = false;
                        }
                    }
                    break;
                }
                let take = rest.len().min(batch);
                let items: Vec<_> = rest.drain(..take).collect();
                meta.active += 1;
                jobs.push(Job {
                    key: key.clone(),
                    items,
                });
            }
        }
        (jobs, changes)
    }

    /// Applies a job's results. `connection_failure` marks failures before any transaction.
    pub fn complete(
        &mut self,
        job: &Job,
        results: &HashMap<(String, String), Outcome>,
        queue_error: Option<String>,
        connection_failure: bool,
        now: i64,
        timing: &Timing,
    ) -> Changes {
        let mut changes = Changes::default();
        if let Some(m) = self.meta.get_mut(&job.key) {
            m.active = m.active.saturating_sub(1);
            m.last_error = queue_error.clone();
        }
        for (env, rcpts) in &job.items {
            let Some(e) = self.msgs.get_mut(&env.id) else {
                continue;
            };
            e.busy = false;
            e.state.attempts += 1;
            let mut failed = Vec::new();
            let mut deferred = false;
            for addr in rcpts {
                let Some(r) = e.state.recipients.iter_mut().find(|r| &r.address == addr) else {
                    continue;
                };
                if r.status != RecipientStatus::Pending {
                    continue;
                }
                r.attempts += 1;
                match results.get(&(env.id.clone(), addr.clone())) {
                    Some(Outcome::Delivered(resp)) => {
                        r.status = RecipientStatus::Delivered {
                            time: now,
                            response: resp.clone(),
                        }
                    }
                    Some(Outcome::Failed(resp)) => {
                        r.status = RecipientStatus::Failed {
                            time: now,
                            response: resp.clone(),
                        };
                        failed.push((addr.clone(), resp.clone()));
                    }
                    Some(Outcome::Deferred(resp)) => {
                        r.last_error = Some(resp.clone());
                        e.state.last_error = Some(resp.clone());
                        deferred = true;
                    }
                    None => {
                        let why = queue_error
                            .clone()
                            .unwrap_or_else(|| "451 4.4.0 not attempted".into());
                        r.last_error = Some(why.clone());
                        e.state.last_error = Some(why);
                        deferred = true;
                    }
                }
            }
            if deferred {
                e.state.next_attempt =
                    now + timing.next_retry(e.state.attempts, connection_failure);
            } else {
                // Other recipients of the message (other queues) may go right away.
                e.state.next_attempt = now;
            }
            if !failed.is_empty() {
                changes.notices.push(Notice {
                    kind: crate::smtp::dsn::DsnKind::Failure,
                    envelope: e.envelope.clone(),
                    recipients: failed,
                });
            }
            if e.state.is_done() {
                changes.done.push(env.id.clone());
            } else {
                changes.save.push((env.id.clone(), e.state.clone()));
            }
        }
        for id in &changes.done {
            self.msgs.remove(id);
        }
        changes
    }

    fn status_of(&self, key: &QueueKey, entries: &[&Entry], now: i64) -> QueueStatus {
        let meta = self.meta.get(key);
        if meta.is_some_and(|m| m.suspended) {
            QueueStatus::Suspended
        } else if meta.is_some_and(|m| m.active > 0) {
            QueueStatus::Active
        } else if entries
            .iter()
            .any(|e| e.state.next_attempt <= now && !e.state.suspended)
        {
            QueueStatus::Ready
        } else {
            QueueStatus::Retry
        }
    }

    fn entries_by_key(&self, checked: &CheckedSettings) -> BTreeMap<QueueKey, Vec<&Entry>> {
        let mut out: BTreeMap<QueueKey, Vec<&Entry>> = BTreeMap::new();
        for e in self.msgs.values() {
            let mut keys: Vec<QueueKey> = e
                .state
                .recipients
                .iter()
                .filter(|r| r.status == RecipientStatus::Pending)
                .map(|r| key_for(&r.address, checked))
                .collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                out.entry(k).or_default().push(e);
            }
        }
        for (k, m) in &self.meta {
            if m.suspended || m.active > 0 {
                out.entry(k.clone()).or_default();
            }
        }
        out
    }

    /// Queues with their status, message count, next retry and last error.
    pub fn queues(&self, checked: &CheckedSettings, now: i64) -> Vec<QueueInfo> {
        self.entries_by_key(checked)
            .into_iter()
            .map(|(key, entries)| QueueInfo {
                status: self.status_of(&key, &entries, now),
                messages: entries.len(),
                next_retry: entries
                    .iter()
                    .map(|e| e.state.next_attempt)
                    .filter(|t| *t > now)
                    .min(),
                last_error: self
                    .meta
                    .get(&key)
                    .and_then(|m| m.last_error.clone())
                    .or_else(|| entries.iter().find_map(|e| e.state.last_error.clone())),
                key,
            })
            .collect()
    }

    /// Messages of one queue (or all with `None`).
    pub fn messages(
        &self,
        key: Option<&QueueKey>,
        checked: &CheckedSettings,
        now: i64,
    ) -> Vec<MessageInfo> {
        let mut out: Vec<MessageInfo> = self
            .msgs
            .values()
            .filter(|e| {
                key.is_none_or(|k| {
                    e.state.recipients.iter().any(|r| {
                        r.status == RecipientStatus::Pending && &key_for(&r.address, checked) == k
                    })
                })
            })
            .map(|e| MessageInfo {
                id: e.envelope.id.clone(),
                sender: e.envelope.sender.to_string(),
                recipients: e.state.recipients.clone(),
                subject: e.envelope.subject.clone(),
                size: e.envelope.size,
                received: e.envelope.received,
                next_attempt: e.state.next_attempt,
                attempts: e.state.attempts,
                last_error: e.state.last_error.clone(),
                suspended: e.state.suspended,
                status: if e.state.suspended {
                    QueueStatus::Suspended
                } else if e.busy {
                    QueueStatus::Active
                } else if e.state.next_attempt <= now {
                    QueueStatus::Ready
                } else {
                    QueueStatus::Retry
                },
            })
            .collect();
        out.sort_by_key(|m| m.received);
        out
    }

    fn ids_in(&self, key: &QueueKey, checked: &CheckedSettings) -> Vec<String> {
        self.msgs
            .values()
            .filter(|e| {
                e.state.recipients.iter().any(|r| {
                    r.status == RecipientStatus::Pending && &key_for(&r.address, checked) == key
                })
            })
            .map(|e| e.envelope.id.clone())
            .collect()
    }

    /// Retry now: every message of the queue becomes due.
    pub fn retry(&mut self, key: &QueueKey, checked: &CheckedSettings) -> Changes {
        let mut ch = Changes::default();
        for id in self.ids_in(key, checked) {
            if let Some(e) = self.msgs.get_mut(&id) {
                e.state.next_attempt = 0;
                ch.save.push((id, e.state.clone()));
            }
        }
        ch
    }

    pub fn set_queue_suspended(&mut self, key: &QueueKey, suspended: bool) {
        self.meta.entry(key.clone()).or_default().suspended = suspended;
    }

    pub fn set_message_suspended(&mut self, id: &str, suspended: bool) -> Option<Changes> {
        let e = self.msgs.get_mut(id)?;
        e.state.suspended = suspended;
        if !suspended {
            e.state.next_attempt = 0;
        }
        Some(Changes {
            save: vec![(id.to_string(), e.state.clone())],
            ..Default::default()
        })
    }

    /// Removes a message; with `ndr` its pending recipients get a non-delivery report.
    pub fn remove(&mut self, id: &str, ndr: bool, now: i64) -> Option<Changes> {
        let e = self.msgs.remove(id)?;
        let mut ch = Changes {
            done: vec![id.to_string()],
            ..Default::default()
        };
        if ndr {
            let rcpts: Vec<(String, String)> = e
                .state
                .recipients
                .iter()
                .filter(|r| r.status == RecipientStatus::Pending)
                .map(|r| {
                    (
                        r.address.clone(),
                        "550 5.3.0 The message was removed from the queue by the administrator"
                            .to_string(),
                    )
                })
                .collect();
            if !rcpts.is_empty() {
                ch.notices.push(Notice {
                    kind: crate::smtp::dsn::DsnKind::Failure,
                    envelope: e.envelope.clone(),
                    recipients: rcpts,
                });
            }
        }
        let _ = now;
        Some(ch)
    }

    /// Ids of all messages in a queue (for remove by queue).
    pub fn queue_ids(&self, key: &QueueKey, checked: &CheckedSettings) -> Vec<String> {
        self.ids_in(key, checked)
    }
}
