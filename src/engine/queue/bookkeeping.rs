//! The queue in memory, over the durable spool: messages grouped into queues by next hop
//! (local delivery, or a send connector and recipient domain), per-recipient status, retry
//! with backoff, delay notices and NDRs (RFC 3464, never to the null sender), and the
//! administrator's operations (retry now, suspend, resume, remove with or without NDR).
//! The recipients of one message that share a next hop form a *group*; groups are
//! independent: each has its own retry time, and a next hop that is down never holds back
//! the message's other recipients.
//! Pure bookkeeping: the scheduler in `delivery` asks it for due work and reports results.

use crate::config::CheckedSettings;
use crate::engine::error::EngineError;
use crate::policy::routing::{Route, route};
use crate::smtp::dsn::DsnKind;
use crate::smtp::envelope::Envelope;
use crate::smtp::replies;
use crate::store::spool::{DeliveryState, PendingNotice, RecipientState, RecipientStatus};
use std::collections::{BTreeMap, BTreeSet, HashMap};
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
    /// Messages whose recipients are settled but whose NDR or delay notice is not stored yet
    /// (e.g. the disk was full): they stay queued, and are listed here, until it is. Never a
    /// next hop: no job is handed out for it.
    Notices,
}

impl QueueKey {
    /// The queue's name as shown to the administrator.
    pub fn name(&self) -> String {
        match self {
            QueueKey::Local => "Local delivery".into(),
            QueueKey::Remote { connector, domain } => format!("{domain} via {connector}"),
            QueueKey::Unreachable { domain } => format!("Unreachable: {domain}"),
            QueueKey::Notices => NOTICES.into(),
        }
    }

    /// Parses a queue name back (as typed for `mailflow queue ...`).
    pub fn parse(name: &str) -> Option<QueueKey> {
        let n = name.trim();
        if n.eq_ignore_ascii_case("local delivery") || n.eq_ignore_ascii_case("local") {
            return Some(QueueKey::Local);
        }
        if n.eq_ignore_ascii_case(NOTICES) {
            return Some(QueueKey::Notices);
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

/// The name of [`QueueKey::Notices`].
const NOTICES: &str = "Notices waiting to be stored";

/// The owed notices of a message as a group of the [`QueueKey::Notices`] queue (their
/// recipients, the earliest retry), or `None` when it owes none.
fn notice_group(e: &Entry) -> Option<Group> {
    if e.state.notices.is_empty() {
        return None;
    }
    let mut g = Group {
        due: i64::MAX,
        ..Default::default()
    };
    for n in &e.state.notices {
        if e.notices_in_flight.contains(&n.seq) {
            g.busy = true;
        } else {
            g.due = g.due.min(n.next_attempt);
            g.recipients
                .extend(n.recipients.iter().map(|(addr, _)| addr.clone()));
        }
    }
    Some(g)
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
    /// Recipients handed to a job that has not reported yet.
    pub in_flight: BTreeSet<String>,
    /// Owed notices (by `seq`) being stored right now.
    pub notices_in_flight: BTreeSet<u32>,
}

impl Entry {
    /// A job holds some of its recipients.
    pub fn busy(&self) -> bool {
        !self.in_flight.is_empty()
    }
}

/// The pending recipients of one message that share a next hop.
#[derive(Clone, Debug, Default)]
struct Group {
    /// When the group is due: the earliest next attempt of its recipients (unix ms).
    due: i64,
    recipients: Vec<String>,
    /// A job holds some of them.
    busy: bool,
}

/// The pending recipients of a message by queue (recipients held by a job included, marked).
fn groups(e: &Entry, checked: &CheckedSettings) -> BTreeMap<QueueKey, Group> {
    let mut out: BTreeMap<QueueKey, Group> = BTreeMap::new();
    for r in e.state.pending() {
        let g = out
            .entry(key_for(&r.address, checked))
            .or_insert_with(|| Group {
                due: i64::MAX,
                ..Default::default()
            });
        if e.in_flight.contains(&r.address) {
            g.busy = true;
        } else {
            g.due = g.due.min(r.next_attempt);
            g.recipients.push(r.address.clone());
        }
    }
    out
}

/// The message's next attempt as listed: the earliest of its pending recipients'.
fn refresh_next_attempt(state: &mut DeliveryState) {
    state.next_attempt = state.pending().map(|r| r.next_attempt).min().unwrap_or(0);
}

/// Most jobs at once per queue.
fn connection_cap(key: &QueueKey) -> usize {
    match key {
        QueueKey::Remote { .. } => MAX_CONNECTIONS_PER_QUEUE,
        _ => 64,
    }
}

/// What the scheduler gets from [`QueueCore::take_due`].
#[derive(Debug, Default)]
pub struct Due {
    pub jobs: Vec<Job>,
    pub changes: Changes,
    /// When something is next due that would be handed out (unix ms); None when nothing is.
    pub next_wake: Option<i64>,
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
    /// Delivered here, or to a next hop that takes over the sender's DSN request.
    Delivered(String),
    /// Delivered to a next hop that does not offer DSN (RFC 3461 §5.2.2: "relayed").
    Relayed(String),
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
    /// The policy its mail is held to (`Domain Security for woodgrove.test`), for remote queues.
    pub policy: Option<String>,
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
    pub fn next_retry(&self, attempts: u32, failure: Failure) -> i64 {
        let base = match failure {
            Failure::Connection => self.connection_retry_ms,
            Failure::Transient => self.retry_ms,
        };
        base.saturating_mul(1i64 << attempts.saturating_sub(1).min(3))
    }
}

/// What kind of failure a deferred attempt had, which decides the interval it waits: Exchange's
/// `OutboundConnectionFailureRetryInterval` or `TransientFailureRetryInterval`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Before any transaction: no connection, no usable greeting, TLS refused.
    Connection,
    /// In a transaction, or anything else that is worth another try.
    Transient,
}

/// Notifications the queue wants sent (built and stored by the caller, who then reports with
/// [`QueueCore::notice_result`]; until then the message owes it and stays queued).
#[derive(Clone, Debug)]
pub struct Notice {
    pub kind: DsnKind,
    pub envelope: Arc<Envelope>,
    pub recipients: Vec<(String, String)>,
    /// The notice's number in the message's [`DeliveryState::notices`].
    pub seq: u32,
}

/// Records a notice the message owes (in its state, saved before the notice is tried) and
/// hands it out: the message is not done until the notice is stored. Only the recipients whose
/// `NOTIFY` asks for this kind are reported (RFC 3461 §4.1: failure and delay when the sender
/// said nothing); `None` when that leaves none.
fn owe_notice(e: &mut Entry, kind: DsnKind, recipients: Vec<(String, String)>) -> Option<Notice> {
    let recipients: Vec<(String, String)> = recipients
        .into_iter()
        .filter(|(addr, _)| e.envelope.dsn.wants(addr, kind.notice_for()))
        .collect();
    if recipients.is_empty() {
        return None;
    }
    let seq = e
        .state
        .notices
        .iter()
        .map(|n| n.seq.saturating_add(1))
        .max()
        .unwrap_or(0);
    e.state.notices.push(PendingNotice {
        seq,
        kind,
        recipients: recipients.clone(),
        attempts: 0,
        next_attempt: 0,
        last_error: None,
    });
    e.notices_in_flight.insert(seq);
    Some(Notice {
        kind,
        envelope: e.envelope.clone(),
        recipients,
        seq,
    })
}

/// The owed notices of a message that are due and not being stored.
fn due_notices(e: &Entry, now: i64) -> impl Iterator<Item = &PendingNotice> {
    e.state
        .notices
        .iter()
        .filter(move |n| n.next_attempt <= now && !e.notices_in_flight.contains(&n.seq))
}

/// What applying results or sweeping changed, for the caller to persist and report.
#[derive(Debug, Default)]
pub struct Changes {
    /// Messages whose state changed and must be saved.
    pub save: Vec<(String, DeliveryState)>,
    /// Messages done (every recipient settled, every notice stored): remove from the spool.
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

    pub fn insert(&mut self, envelope: Envelope, mut state: DeliveryState) {
        // States written before recipients had their own retry time keep the message's.
        let message_next = state.next_attempt;
        for r in state
            .recipients
            .iter_mut()
            .filter(|r| r.status == RecipientStatus::Pending)
        {
            r.next_attempt = r.next_attempt.max(message_next);
        }
        refresh_next_attempt(&mut state);
        let id = envelope.id.clone();
        self.msgs.insert(
            id,
            Entry {
                envelope: Arc::new(envelope),
                state,
                in_flight: BTreeSet::new(),
                notices_in_flight: BTreeSet::new(),
            },
        );
    }

    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.msgs.get(id)
    }

    /// Whether a queue takes new work: not suspended, and below its connection cap.
    fn takes_work(&self, key: &QueueKey) -> bool {
        self.meta
            .get(key)
            .is_none_or(|m| !m.suspended && m.active < connection_cap(key))
    }

    /// The groups of a message that could be handed out (when due): none for a suspended
    /// message or one that expired while a job holds part of it (it expires when that job
    /// reports); otherwise each group no job holds, of a queue that takes work.
    fn candidates(
        &self,
        e: &Entry,
        now: i64,
        checked: &CheckedSettings,
        timing: &Timing,
    ) -> Vec<(QueueKey, Group)> {
        if e.state.suspended || now - e.envelope.received >= timing.expiration_ms {
            return Vec::new();
        }
        groups(e, checked)
            .into_iter()
            .filter(|(k, g)| !g.busy && !g.recipients.is_empty() && self.takes_work(k))
            .collect()
    }

    /// When the scheduler must look again: the earliest due time of what [`Self::take_due`]
    /// would hand out (a suspended queue or message, a queue at its connection cap, a group
    /// in a job do not count: resuming and job reports wake the scheduler).
    pub fn next_due(&self, now: i64, checked: &CheckedSettings, timing: &Timing) -> Option<i64> {
        let groups = self
            .msgs
            .values()
            .flat_map(|e| self.candidates(e, now, checked, timing))
            .map(|(_, g)| g.due);
        // Owed notices are retried whatever the message's suspension (the sender is owed them),
        // unless their own queue is suspended.
        let suspended = self
            .meta
            .get(&QueueKey::Notices)
            .is_some_and(|m| m.suspended);
        let notices = self.msgs.values().filter(|_| !suspended).flat_map(|e| {
            e.state
                .notices
                .iter()
                .filter(|n| !e.notices_in_flight.contains(&n.seq))
                .map(|n| n.next_attempt)
        });
        groups.chain(notices).min()
    }

    /// Expires old messages, asks for delay notices, and hands out due work: each due group
    /// of each message, independently of the message's other groups.
    pub fn take_due(
        &mut self,
        now: i64,
        checked: &CheckedSettings,
        timing: &Timing,
        per_connection: impl Fn(&str) -> usize,
    ) -> Due {
        let mut changes = Changes::default();
        let mut by_key: BTreeMap<QueueKey, JobItems> = BTreeMap::new();
        let mut ids: Vec<&String> = self.msgs.keys().collect();
        ids.sort_by_key(|id| self.msgs[*id].envelope.received);
        let ids: Vec<String> = ids.into_iter().cloned().collect();
        let notices_suspended = self
            .meta
            .get(&QueueKey::Notices)
            .is_some_and(|m| m.suspended);
        for id in ids {
            let Some(e) = self.msgs.get_mut(&id) else {
                continue;
            };
            // Notices whose storing failed before are tried again (unless the administrator
            // suspended their queue).
            let retry: Vec<PendingNotice> = if notices_suspended {
                Vec::new()
            } else {
                due_notices(e, now).cloned().collect()
            };
            for n in retry {
                e.notices_in_flight.insert(n.seq);
                changes.notices.push(Notice {
                    kind: n.kind,
                    envelope: e.envelope.clone(),
                    recipients: n.recipients,
                    seq: n.seq,
                });
            }
            if e.state.suspended {
                continue;
            }
            let age = now - e.envelope.received;
            if !e.busy() && age >= timing.expiration_ms && e.state.pending().next().is_some() {
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
                    // RFC 3463 X.4.7: delivery time expired.
                    let response = replies::expired(&why).one_line();
                    r.status = RecipientStatus::Failed {
                        time: now,
                        response: response.clone(),
                    };
                    failed.push((r.address.clone(), response));
                }
                changes
                    .notices
                    .extend(owe_notice(e, DsnKind::Failure, failed));
                if e.state.is_done() {
                    // The sender asked for no notice: nothing is left to do.
                    changes.done.push(id.clone());
                } else {
                    // Saved with the notice it owes; removed once that is stored.
                    changes.save.push((id.clone(), e.state.clone()));
                }
                continue;
            }
            if !e.busy()
                && age >= timing.delay_notice_ms
                && !e.state.delay_notified
                && e.state.attempts > 0
            {
                e.state.delay_notified = true;
                let pending: Vec<(String, String)> = e
                    .state
                    .pending()
                    .map(|r| {
                        (
                            r.address.clone(),
                            r.last_error
                                .clone()
                                .unwrap_or_else(|| replies::NOT_DELIVERED_YET.reply().one_line()),
                        )
                    })
                    .collect();
                changes
                    .notices
                    .extend(owe_notice(e, DsnKind::Delay, pending));
                changes.save.push((id.clone(), e.state.clone()));
            }
            let Some(e) = self.msgs.get(&id) else {
                continue;
            };
            for (key, group) in self.candidates(e, now, checked, timing) {
                if group.due <= now {
                    by_key
                        .entry(key)
                        .or_default()
                        .push((e.envelope.clone(), group.recipients));
                }
            }
        }
        for id in &changes.done {
            self.msgs.remove(id);
        }
        let mut jobs = Vec::new();
        for (key, items) in by_key {
            let batch = match &key {
                QueueKey::Local => 1,
                QueueKey::Remote { connector, .. } => per_connection(connector).max(1),
                QueueKey::Unreachable { .. } | QueueKey::Notices => usize::MAX,
            };
            let cap = connection_cap(&key);
            let meta = self.meta.entry(key.clone()).or_default();
            let mut rest = items;
            // What does not fit under the cap stays due: a job's report wakes the scheduler.
            while !rest.is_empty() && meta.active < cap {
                let take = rest.len().min(batch);
                let items: Vec<_> = rest.drain(..take).collect();
                for (env, rcpts) in &items {
                    if let Some(e) = self.msgs.get_mut(&env.id) {
                        e.in_flight.extend(rcpts.iter().cloned());
                    }
                }
                meta.active += 1;
                jobs.push(Job {
                    key: key.clone(),
                    items,
                });
            }
        }
        let next_wake = self.next_due(now, checked, timing);
        Due {
            jobs,
            changes,
            next_wake,
        }
    }

    /// Applies a job's results. `failure` says which retry interval the deferred ones wait.
    pub fn complete(
        &mut self,
        job: &Job,
        results: &HashMap<(String, String), Outcome>,
        queue_error: Option<String>,
        failure: Failure,
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
            for addr in rcpts {
                e.in_flight.remove(addr);
            }
            e.state.attempts += 1;
            let mut failed = Vec::new();
            let mut delivered = Vec::new();
            let mut relayed = Vec::new();
            for addr in rcpts {
                let Some(r) = e.state.recipients.iter_mut().find(|r| &r.address == addr) else {
                    continue;
                };
                if r.status != RecipientStatus::Pending {
                    continue;
                }
                r.attempts += 1;
                let deferred_by = match results.get(&(env.id.clone(), addr.clone())) {
                    Some(Outcome::Delivered(resp)) => {
                        r.status = RecipientStatus::Delivered {
                            time: now,
                            response: resp.clone(),
                        };
                        // Delivered here; a next hop that speaks DSN notifies from there on.
                        if job.key == QueueKey::Local {
                            delivered.push((addr.clone(), resp.clone()));
                        }
                        None
                    }
                    Some(Outcome::Relayed(resp)) => {
                        r.status = RecipientStatus::Delivered {
                            time: now,
                            response: resp.clone(),
                        };
                        relayed.push((addr.clone(), resp.clone()));
                        None
                    }
                    Some(Outcome::Failed(resp)) => {
                        r.status = RecipientStatus::Failed {
                            time: now,
                            response: resp.clone(),
                        };
                        failed.push((addr.clone(), resp.clone()));
                        None
                    }
                    Some(Outcome::Deferred(resp)) => Some(resp.clone()),
                    None => Some(
                        queue_error
                            .clone()
                            .unwrap_or_else(|| replies::NOT_ATTEMPTED.reply().one_line()),
                    ),
                };
                if let Some(why) = deferred_by {
                    // Only this group waits; the message's other groups keep their own times.
                    r.next_attempt = now + timing.next_retry(r.attempts, failure);
                    r.last_error = Some(why.clone());
                    e.state.last_error = Some(why);
                }
            }
            refresh_next_attempt(&mut e.state);
            for (kind, list) in [
                (DsnKind::Failure, failed),
                (DsnKind::Delivered, delivered),
                (DsnKind::Relayed, relayed),
            ] {
                changes.notices.extend(owe_notice(e, kind, list));
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

    /// A queue's status from its share of each message: (message, that group).
    fn status_of(&self, key: &QueueKey, entries: &[(&Entry, Group)], now: i64) -> QueueStatus {
        let meta = self.meta.get(key);
        if meta.is_some_and(|m| m.suspended) {
            QueueStatus::Suspended
        } else if meta.is_some_and(|m| m.active > 0) {
            QueueStatus::Active
        } else if entries
            .iter()
            .any(|(e, g)| !g.recipients.is_empty() && g.due <= now && !e.state.suspended)
        {
            QueueStatus::Ready
        } else {
            QueueStatus::Retry
        }
    }

    /// Each queue with its share of each message.
    fn entries_by_key(
        &self,
        checked: &CheckedSettings,
    ) -> BTreeMap<QueueKey, Vec<(&Entry, Group)>> {
        let mut out: BTreeMap<QueueKey, Vec<(&Entry, Group)>> = BTreeMap::new();
        for e in self.msgs.values() {
            for (k, g) in groups(e, checked) {
                out.entry(k).or_default().push((e, g));
            }
            if let Some(g) = notice_group(e) {
                out.entry(QueueKey::Notices).or_default().push((e, g));
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
                    .filter(|(_, g)| !g.recipients.is_empty())
                    .map(|(_, g)| g.due)
                    .filter(|t| *t > now)
                    .min(),
                last_error: self
                    .meta
                    .get(&key)
                    .and_then(|m| m.last_error.clone())
                    .or_else(|| {
                        entries.iter().find_map(|(e, g)| match key {
                            QueueKey::Notices => {
                                e.state.notices.iter().find_map(|n| n.last_error.clone())
                            }
                            _ => e
                                .state
                                .pending()
                                .filter(|r| g.recipients.contains(&r.address))
                                .find_map(|r| r.last_error.clone()),
                        })
                    }),
                policy: match &key {
                    QueueKey::Remote { connector, domain } => {
                        crate::policy::outbound::queue_policy(connector, domain, checked)
                    }
                    QueueKey::Local => Some("local delivery (no network hop)".into()),
                    QueueKey::Unreachable { .. } | QueueKey::Notices => None,
                },
                key,
            })
            .collect()
    }

    /// Messages of one queue (or all with `None`); for one queue, the next attempt and status
    /// are those of the message's recipients in that queue.
    pub fn messages(
        &self,
        key: Option<&QueueKey>,
        checked: &CheckedSettings,
        now: i64,
    ) -> Vec<MessageInfo> {
        let mut out: Vec<MessageInfo> = self
            .msgs
            .values()
            .filter_map(|e| {
                let (next_attempt, busy) = match key {
                    None => (e.state.next_attempt, e.busy()),
                    Some(k) => {
                        let g = match k {
                            QueueKey::Notices => notice_group(e)?,
                            _ => groups(e, checked).remove(k)?,
                        };
                        let due = if g.recipients.is_empty() {
                            e.state.next_attempt
                        } else {
                            g.due
                        };
                        (due, g.busy)
                    }
                };
                Some(MessageInfo {
                    id: e.envelope.id.clone(),
                    sender: e.envelope.sender.to_string(),
                    recipients: e.state.recipients.clone(),
                    subject: e.envelope.subject.clone(),
                    size: e.envelope.size,
                    received: e.envelope.received,
                    next_attempt,
                    attempts: e.state.attempts,
                    last_error: e.state.last_error.clone(),
                    suspended: e.state.suspended,
                    status: if e.state.suspended {
                        QueueStatus::Suspended
                    } else if busy {
                        QueueStatus::Active
                    } else if next_attempt <= now {
                        QueueStatus::Ready
                    } else {
                        QueueStatus::Retry
                    },
                })
            })
            .collect();
        out.sort_by_key(|m| m.received);
        out
    }

    /// Ids of the messages with pending recipients in a queue.
    pub fn queue_ids(&self, key: &QueueKey, checked: &CheckedSettings) -> Vec<String> {
        self.msgs
            .values()
            .filter(|e| match key {
                QueueKey::Notices => !e.state.notices.is_empty(),
                _ => e
                    .state
                    .pending()
                    .any(|r| &key_for(&r.address, checked) == key),
            })
            .map(|e| e.envelope.id.clone())
            .collect()
    }

    /// Retry now: the recipients of the queue become due (the messages' other queues keep
    /// their own retry times).
    pub fn retry(&mut self, key: &QueueKey, checked: &CheckedSettings) -> Changes {
        let mut ch = Changes::default();
        for id in self.queue_ids(key, checked) {
            if let Some(e) = self.msgs.get_mut(&id) {
                if key == &QueueKey::Notices {
                    for n in e.state.notices.iter_mut() {
                        n.next_attempt = 0;
                    }
                }
                for r in e.state.recipients.iter_mut().filter(|r| {
                    r.status == RecipientStatus::Pending && &key_for(&r.address, checked) == key
                }) {
                    r.next_attempt = 0;
                }
                refresh_next_attempt(&mut e.state);
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
            for r in e.state.recipients.iter_mut() {
                r.next_attempt = 0;
            }
            refresh_next_attempt(&mut e.state);
        }
        Some(Changes {
            save: vec![(id.to_string(), e.state.clone())],
            ..Default::default()
        })
    }

    /// Removes a message; with `ndr` its pending recipients fail and get a non-delivery
    /// report, and the message leaves the spool only once that report is stored.
    pub fn remove(&mut self, id: &str, ndr: bool, now: i64) -> Option<Changes> {
        let e = self.msgs.get_mut(id)?;
        let why = replies::REMOVED_BY_ADMINISTRATOR.reply().one_line();
        let mut failed = Vec::new();
        if ndr {
            for r in e
                .state
                .recipients
                .iter_mut()
                .filter(|r| r.status == RecipientStatus::Pending)
            {
                r.status = RecipientStatus::Failed {
                    time: now,
                    response: why.to_string(),
                };
                failed.push((r.address.clone(), why.to_string()));
            }
        }
        if failed.is_empty() {
            self.msgs.remove(id);
            return Some(Changes {
                done: vec![id.to_string()],
                ..Default::default()
            });
        }
        let notices: Vec<Notice> = owe_notice(e, DsnKind::Failure, failed)
            .into_iter()
            .collect();
        refresh_next_attempt(&mut e.state);
        if e.state.is_done() {
            // The sender asked for no failure notice.
            self.msgs.remove(id);
            return Some(Changes {
                done: vec![id.to_string()],
                ..Default::default()
            });
        }
        Some(Changes {
            save: vec![(id.to_string(), e.state.clone())],
            notices,
            ..Default::default()
        })
    }

    /// Drops a message from memory only (its files went elsewhere, e.g. to the quarantine).
    pub fn forget(&mut self, id: &str) {
        self.msgs.remove(id);
    }

    /// A notice was stored (`Ok`) or could not be (`Err` with why: it is retried with backoff,
    /// and the message stays queued meanwhile). Returns what to persist: the message's new
    /// state, or its removal when nothing else is left to do.
    pub fn notice_result(
        &mut self,
        id: &str,
        seq: u32,
        result: Result<(), &EngineError>,
        now: i64,
        timing: &Timing,
    ) -> Changes {
        let mut ch = Changes::default();
        let Some(e) = self.msgs.get_mut(id) else {
            return ch;
        };
        e.notices_in_flight.remove(&seq);
        match result {
            Ok(()) => e.state.notices.retain(|n| n.seq != seq),
            Err(why) => {
                if let Some(n) = e.state.notices.iter_mut().find(|n| n.seq == seq) {
                    n.attempts += 1;
                    n.next_attempt = now + timing.next_retry(n.attempts, Failure::Transient);
                    n.last_error = Some(why.to_string());
                }
                e.state.last_error = Some(why.to_string());
            }
        }
        if e.state.is_done() {
            self.msgs.remove(id);
            ch.done.push(id.to_string());
        } else {
            ch.save.push((id.to_string(), e.state.clone()));
        }
        ch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Settings, validate};
    use crate::smtp::address::{Mailbox, ReversePath};
    use crate::smtp::evidence::{Direction, HopEvidence, SecurityStatus};

    const T0: i64 = 1_800_000_000_000;

    fn checked() -> CheckedSettings {
        validate(&Settings::initial(
            "Contoso",
            "mail.contoso.test",
            "contoso.test",
        ))
        .unwrap()
    }

    fn timing() -> Timing {
        Timing {
            retry_ms: 60_000,
            connection_retry_ms: 60_000,
            delay_notice_ms: 4 * 3_600_000,
            expiration_ms: 48 * 3_600_000,
        }
    }

    fn envelope(id: &str, recipients: &[&str]) -> Envelope {
        Envelope {
            id: id.into(),
            sender: ReversePath::Mailbox(Mailbox::parse("alice@contoso.test").unwrap()),
            recipients: recipients.iter().map(|r| r.to_string()).collect(),
            received: T0,
            size: 100,
            message_id: None,
            subject: Some("test".into()),
            eight_bit: false,
            smtputf8: false,
            require_tls: false,
            dsn: Default::default(),
            inbound: HopEvidence {
                direction: Direction::Inbound,
                time: T0,
                connector: "Default".into(),
                local: String::new(),
                remote: String::new(),
                peer_name: "client.test".into(),
                tls: None,
                security: SecurityStatus::Plaintext,
                policy: "no TLS".into(),
                auth_domain: None,
                auth_mechanism: None,
            },
        }
    }

    fn queue_with(id: &str, recipients: &[&str]) -> QueueCore {
        let mut q = QueueCore::default();
        let env = envelope(id, recipients);
        let state = DeliveryState::new(&env.recipients);
        q.insert(env, state);
        q
    }

    fn remote(domain: &str) -> QueueKey {
        QueueKey::Remote {
            connector: "Outbound".into(),
            domain: domain.into(),
        }
    }

    fn take(q: &mut QueueCore, now: i64) -> Due {
        q.take_due(now, &checked(), &timing(), |_| 20)
    }

    fn keys(jobs: &[Job]) -> Vec<QueueKey> {
        jobs.iter().map(|j| j.key.clone()).collect()
    }

    /// Completes every recipient of `job` with the outcome `o`.
    fn complete(q: &mut QueueCore, job: &Job, o: Outcome, now: i64) -> Changes {
        let mut results = HashMap::new();
        for (env, rcpts) in &job.items {
            for r in rcpts {
                results.insert((env.id.clone(), r.clone()), o.clone());
            }
        }
        q.complete(job, &results, None, Failure::Transient, now, &timing())
    }

    /// Regression: the first next hop of a message (in queue order) took the whole message, and
    /// its deferral pushed back the other recipients too; "Retry" of the healthy queue retried
    /// the broken one.
    #[test]
    fn a_down_next_hop_does_not_hold_back_the_other_recipients() {
        let mut q = queue_with("m1", &["bob@contoso-partner.test", "carol@woodgrove.test"]);
        // Both groups go at once, each in its own job.
        let due = take(&mut q, T0);
        assert_eq!(
            keys(&due.jobs),
            vec![remote("contoso-partner.test"), remote("woodgrove.test")]
        );
        let (down, up) = (due.jobs[0].clone(), due.jobs[1].clone());
        assert_eq!(
            up.items[0].1,
            vec!["carol@woodgrove.test".to_string()],
            "a job carries only its group's recipients"
        );
        // The down hop defers; woodgrove's job is still running: nothing more to hand out.
        complete(
            &mut q,
            &down,
            Outcome::Deferred("451 4.4.1 connection refused".into()),
            T0 + 10,
        );
        let due = take(&mut q, T0 + 20);
        assert!(due.jobs.is_empty(), "{:?}", keys(&due.jobs));
        assert_eq!(due.next_wake, Some(T0 + 10 + 60_000));
        // Woodgrove defers too, later; its retry time is its own.
        complete(
            &mut q,
            &up,
            Outcome::Deferred("451 4.3.0 busy".into()),
            T0 + 30,
        );
        let due = take(&mut q, T0 + 40);
        assert!(due.jobs.is_empty());
        assert_eq!(due.next_wake, Some(T0 + 10 + 60_000));
        // "Retry" on the woodgrove queue retries woodgrove only.
        let ch = q.retry(&remote("woodgrove.test"), &checked());
        assert_eq!(ch.save.len(), 1);
        let due = take(&mut q, T0 + 50);
        assert_eq!(keys(&due.jobs), vec![remote("woodgrove.test")]);
        let ch = complete(
            &mut q,
            &due.jobs[0],
            Outcome::Delivered("250 ok".into()),
            T0 + 60,
        );
        assert!(ch.done.is_empty(), "bob is still pending");
        // The message now waits for bob's next hop alone, at its own time.
        let due = take(&mut q, T0 + 70);
        assert!(due.jobs.is_empty());
        assert_eq!(due.next_wake, Some(T0 + 10 + 60_000));
        let due = take(&mut q, T0 + 10 + 60_000);
        assert_eq!(keys(&due.jobs), vec![remote("contoso-partner.test")]);
        let ch = complete(
            &mut q,
            &due.jobs[0],
            Outcome::Delivered("250 ok".into()),
            T0 + 70_000,
        );
        assert_eq!(ch.done, vec!["m1".to_string()]);
        assert!(q.is_empty());
    }

    #[test]
    fn each_queue_lists_its_own_retry_time() {
        let mut q = queue_with("m1", &["bob@contoso-partner.test", "carol@woodgrove.test"]);
        let due = take(&mut q, T0);
        complete(
            &mut q,
            &due.jobs[0],
            Outcome::Deferred("451 4.4.1 refused".into()),
            T0,
        );
        complete(
            &mut q,
            &due.jobs[1],
            Outcome::Delivered("250 ok".into()),
            T0,
        );
        let c = checked();
        let list = q.queues(&c, T0 + 1);
        assert_eq!(list.len(), 1, "{list:?}");
        assert_eq!(list[0].key, remote("contoso-partner.test"));
        assert_eq!(list[0].status, QueueStatus::Retry);
        assert_eq!(list[0].next_retry, Some(T0 + 60_000));
        assert_eq!(list[0].last_error.as_deref(), Some("451 4.4.1 refused"));
    }

    #[test]
    fn states_from_before_per_recipient_retry_times_keep_the_message_time() {
        let env = envelope("m1", &["bob@woodgrove.test"]);
        let mut state = DeliveryState::new(&env.recipients);
        state.next_attempt = T0 + 5_000;
        let mut q = QueueCore::default();
        q.insert(env, state);
        assert!(take(&mut q, T0).jobs.is_empty());
        assert_eq!(take(&mut q, T0 + 5_000).jobs.len(), 1);
    }

    #[test]
    fn an_expired_message_gets_a_5_4_7_ndr() {
        let mut q = queue_with("m1", &["bob@woodgrove.test"]);
        let due = take(&mut q, T0 + timing().expiration_ms);
        assert!(due.jobs.is_empty());
        assert!(due.changes.done.is_empty(), "not before its NDR is stored");
        assert_eq!(due.changes.save[0].1.notices.len(), 1, "the NDR it owes");
        let n = &due.changes.notices[0];
        assert_eq!(n.kind, crate::smtp::dsn::DsnKind::Failure);
        assert!(
            n.recipients[0].1.starts_with("550 5.4.7 message expired"),
            "{n:?}"
        );
        // Not expired a second time (no second NDR) while its NDR is being stored.
        let again = take(&mut q, T0 + timing().expiration_ms + 1);
        assert!(again.changes.notices.is_empty() && again.changes.done.is_empty());
        let ch = q.notice_result("m1", n.seq, Ok(()), T0, &timing());
        assert_eq!(ch.done, vec!["m1".to_string()]);
        assert!(q.is_empty());
    }

    /// A queue with one message whose recipients asked `NOTIFY=` as given (`None`: nothing).
    fn queue_notifying(recipients: &[(&str, Option<&str>)]) -> QueueCore {
        use crate::smtp::dsn_request::{Notify, RecipientDsn};
        let addrs: Vec<&str> = recipients.iter().map(|(a, _)| *a).collect();
        let mut env = envelope("m1", &addrs);
        for (addr, notify) in recipients {
            if let Some(n) = notify {
                env.dsn.recipients.insert(
                    addr.to_string(),
                    RecipientDsn {
                        notify: Some(Notify::parse(n).unwrap()),
                        orcpt: None,
                    },
                );
            }
        }
        let state = DeliveryState::new(&env.recipients);
        let mut q = QueueCore::default();
        q.insert(env, state);
        q
    }

    fn reported(n: &Notice) -> Vec<&str> {
        n.recipients.iter().map(|(a, _)| a.as_str()).collect()
    }

    #[test]
    fn notify_never_and_success_only_get_no_ndr_and_no_delay_notice() {
        let mut q = queue_notifying(&[
            ("plain@woodgrove.test", None),
            ("never@woodgrove.test", Some("NEVER")),
            ("success@woodgrove.test", Some("SUCCESS")),
            ("delay@woodgrove.test", Some("DELAY")),
        ]);
        let due = take(&mut q, T0);
        complete(
            &mut q,
            &due.jobs[0],
            Outcome::Deferred("451 4.4.1 later".into()),
            T0,
        );
        // The delay notice reports only those whose NOTIFY includes DELAY (or who gave none).
        let due = take(&mut q, T0 + timing().delay_notice_ms);
        let delay: Vec<&Notice> = due.changes.notices.iter().collect();
        assert_eq!(delay.len(), 1);
        assert_eq!(delay[0].kind, DsnKind::Delay);
        assert_eq!(
            reported(delay[0]),
            vec!["plain@woodgrove.test", "delay@woodgrove.test"]
        );
        let seq = delay[0].seq;
        q.notice_result("m1", seq, Ok(()), T0, &timing());
        for job in &due.jobs {
            complete(&mut q, job, Outcome::Deferred("451 4.4.1 later".into()), T0);
        }
        // At expiry the NDR reports only those whose NOTIFY includes FAILURE (or who gave none).
        let due = take(&mut q, T0 + timing().expiration_ms);
        assert_eq!(due.changes.notices.len(), 1);
        assert_eq!(
            reported(&due.changes.notices[0]),
            vec!["plain@woodgrove.test"]
        );
    }

    #[test]
    fn a_failure_nobody_asked_to_hear_of_finishes_the_message_at_once() {
        let mut q = queue_notifying(&[("never@woodgrove.test", Some("NEVER"))]);
        let due = take(&mut q, T0);
        let ch = complete(
            &mut q,
            &due.jobs[0],
            Outcome::Failed("550 5.1.1 no".into()),
            T0,
        );
        assert!(ch.notices.is_empty());
        assert_eq!(ch.done, vec!["m1".to_string()]);
        let mut q = queue_notifying(&[("never@woodgrove.test", Some("NEVER"))]);
        let due = take(&mut q, T0 + timing().expiration_ms);
        assert!(due.changes.notices.is_empty());
        assert_eq!(due.changes.done, vec!["m1".to_string()]);
        assert!(q.is_empty());
        let mut q = queue_notifying(&[("never@woodgrove.test", Some("NEVER"))]);
        let ch = q.remove("m1", true, T0).unwrap();
        assert!(ch.notices.is_empty());
        assert_eq!(ch.done, vec!["m1".to_string()]);
    }

    #[test]
    fn success_is_notified_when_delivered_here_or_relayed_without_dsn() {
        let rcpts = [
            ("success@woodgrove.test", Some("SUCCESS,FAILURE")),
            ("plain@woodgrove.test", None),
        ];
        // To a next hop that speaks DSN: it notifies from there on; we say nothing.
        let mut q = queue_notifying(&rcpts);
        let due = take(&mut q, T0);
        let ch = complete(
            &mut q,
            &due.jobs[0],
            Outcome::Delivered("250 ok".into()),
            T0,
        );
        assert!(ch.notices.is_empty());
        assert_eq!(ch.done, vec!["m1".to_string()]);
        // To one that does not: a "relayed" notice for who asked.
        let mut q = queue_notifying(&rcpts);
        let due = take(&mut q, T0);
        let ch = complete(&mut q, &due.jobs[0], Outcome::Relayed("250 ok".into()), T0);
        assert_eq!(ch.notices.len(), 1);
        assert_eq!(ch.notices[0].kind, DsnKind::Relayed);
        assert_eq!(reported(&ch.notices[0]), vec!["success@woodgrove.test"]);
        assert!(ch.done.is_empty(), "not before the notice is stored");
        // Delivered into a mailbox here: a "delivered" notice.
        let mut q = queue_notifying(&[("success@contoso.test", Some("SUCCESS"))]);
        let due = take(&mut q, T0);
        assert_eq!(due.jobs[0].key, QueueKey::Local);
        let ch = complete(
            &mut q,
            &due.jobs[0],
            Outcome::Delivered("250 ok".into()),
            T0,
        );
        assert_eq!(ch.notices.len(), 1);
        assert_eq!(ch.notices[0].kind, DsnKind::Delivered);
    }

    /// Regression (issue 9.4): when queueing the NDR failed (disk full), the original was
    /// removed all the same and the sender was never told.
    #[test]
    fn an_ndr_that_cannot_be_stored_keeps_the_original_queued_and_is_retried() {
        let mut q = queue_with("m1", &["bob@woodgrove.test", "carol@woodgrove.test"]);
        let due = take(&mut q, T0);
        let ch = complete(
            &mut q,
            &due.jobs[0],
            Outcome::Failed("550 5.1.1 no such user".into()),
            T0 + 10,
        );
        assert!(ch.done.is_empty(), "the NDR is not stored yet");
        assert_eq!(ch.notices.len(), 1);
        let (id, state) = &ch.save[0];
        assert_eq!(id, "m1");
        assert_eq!(state.notices.len(), 1, "saved with the NDR it owes");
        assert_eq!(state.notices[0].recipients.len(), 2);
        let seq = ch.notices[0].seq;
        // Storing it fails: the message stays, with the reason, and is not handed out again
        // until its retry time.
        let ch = q.notice_result(
            "m1",
            seq,
            Err(&EngineError::Notice {
                why: "452 4.3.1 no space left on device".into(),
            }),
            T0 + 20,
            &timing(),
        );
        assert!(ch.done.is_empty());
        assert_eq!(ch.save.len(), 1);
        assert!(q.get("m1").is_some());
        assert_eq!(
            q.get("m1").and_then(|e| e.state.last_error.clone()),
            Some("452 4.3.1 no space left on device".into())
        );
        let due = take(&mut q, T0 + 30);
        assert!(due.jobs.is_empty() && due.changes.notices.is_empty());
        assert_eq!(due.next_wake, Some(T0 + 20 + 60_000));
        // The administrator sees it waiting, in a queue of its own, with why.
        let c = checked();
        let list = q.queues(&c, T0 + 30);
        assert_eq!(list.len(), 1, "{list:?}");
        assert_eq!(list[0].key, QueueKey::Notices);
        assert_eq!(
            QueueKey::parse(&list[0].key.name()),
            Some(QueueKey::Notices)
        );
        assert_eq!(list[0].status, QueueStatus::Retry);
        assert_eq!(list[0].next_retry, Some(T0 + 20 + 60_000));
        assert_eq!(
            list[0].last_error.as_deref(),
            Some("452 4.3.1 no space left on device")
        );
        let shown = q.messages(Some(&QueueKey::Notices), &c, T0 + 30);
        assert_eq!(shown.len(), 1);
        assert_eq!(
            shown[0].last_error.as_deref(),
            Some("452 4.3.1 no space left on device")
        );
        assert_eq!(q.queue_ids(&QueueKey::Notices, &c), vec!["m1".to_string()]);
        // Suspending that queue holds the retries; resuming lets them go.
        q.set_queue_suspended(&QueueKey::Notices, true);
        let due = take(&mut q, T0 + 20 + 60_000);
        assert!(due.changes.notices.is_empty() && due.next_wake.is_none());
        q.set_queue_suspended(&QueueKey::Notices, false);
        // "Retry now" on that queue (or its retry time): the same notice is handed out again,
        // once while it is tried.
        assert_eq!(q.retry(&QueueKey::Notices, &c).save.len(), 1);
        let due = take(&mut q, T0 + 40);
        assert_eq!(due.changes.notices.len(), 1);
        assert_eq!(due.changes.notices[0].seq, seq);
        assert_eq!(due.changes.notices[0].recipients.len(), 2);
        assert!(due.jobs.is_empty(), "the recipients themselves are settled");
        assert!(take(&mut q, T0 + 20 + 60_001).changes.notices.is_empty());
        // Stored: now the original leaves the queue.
        let ch = q.notice_result("m1", seq, Ok(()), T0 + 70_000, &timing());
        assert_eq!(ch.done, vec!["m1".to_string()]);
        assert!(q.is_empty());
    }

    #[test]
    fn removing_with_an_ndr_keeps_the_message_until_the_ndr_is_stored() {
        let mut q = queue_with("m1", &["bob@woodgrove.test"]);
        let ch = q.remove("m1", true, T0).unwrap();
        assert!(ch.done.is_empty());
        assert_eq!(ch.notices.len(), 1);
        assert!(ch.notices[0].recipients[0].1.starts_with("550 5.3.0"));
        assert!(take(&mut q, T0).jobs.is_empty(), "nothing left to deliver");
        let ch = q.notice_result("m1", ch.notices[0].seq, Ok(()), T0, &timing());
        assert_eq!(ch.done, vec!["m1".to_string()]);
        // Without an NDR it goes at once.
        let mut q = queue_with("m2", &["bob@woodgrove.test"]);
        let ch = q.remove("m2", false, T0).unwrap();
        assert_eq!(ch.done, vec!["m2".to_string()]);
        assert!(ch.notices.is_empty() && q.is_empty());
    }

    /// Regression: a suspended queue's due mail made the scheduler wake every 50 ms.
    #[test]
    fn suspended_or_capped_mail_does_not_wake_the_scheduler() {
        let mut q = queue_with("m1", &["bob@woodgrove.test"]);
        q.set_queue_suspended(&remote("woodgrove.test"), true);
        let due = take(&mut q, T0);
        assert!(due.jobs.is_empty());
        assert_eq!(due.next_wake, None);
        assert_eq!(q.next_due(T0, &checked(), &timing()), None);
        q.set_queue_suspended(&remote("woodgrove.test"), false);
        assert_eq!(q.next_due(T0, &checked(), &timing()), Some(0));
        // A suspended message: the same.
        q.set_message_suspended("m1", true);
        assert_eq!(take(&mut q, T0).next_wake, None);
        q.set_message_suspended("m1", false);
        // A queue at its connection cap: the job reports wake the scheduler, not the clock.
        q.meta.entry(remote("woodgrove.test")).or_default().active = MAX_CONNECTIONS_PER_QUEUE;
        let due = take(&mut q, T0);
        assert!(due.jobs.is_empty());
        assert_eq!(due.next_wake, None);
        q.meta.entry(remote("woodgrove.test")).or_default().active = 0;
        let due = take(&mut q, T0);
        assert_eq!(due.jobs.len(), 1);
        // In a job: nothing else due.
        assert_eq!(due.next_wake, None);
    }
}
