//! The live picture the console reads: listeners, active sessions (direction, connector, peer,
//! state, TLS, client certificate, bytes, age, a short redacted transcript), counters, queues
//! and per-minute history. The engine updates it; the console copies it whole each frame.

use super::queue::QueueInfo;
use crate::smtp::evidence::{Direction, SecurityStatus};
use crate::store::clock::now_ms;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// Lines of transcript kept per session.
pub const TRANSCRIPT_LINES: usize = 200;
/// Minutes of history kept for the charts.
pub const HISTORY_MINUTES: usize = 120;
/// Closed sessions kept for the console (at most this many, of the last hour).
pub const CLOSED_SESSIONS: usize = 10_000;
/// How long a closed session is kept (ms).
pub const CLOSED_FOR_MS: i64 = 3_600_000;

#[derive(Clone, Debug)]
pub struct SessionRow {
    pub id: u64,
    pub direction: Direction,
    pub connector: String,
    pub local: String,
    pub peer: String,
    pub state: String,
    pub tls_version: Option<String>,
    pub cipher: Option<String>,
    pub client_certificate: Option<String>,
    pub security: Option<SecurityStatus>,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Unix milliseconds.
    pub started: i64,
    pub transcript: VecDeque<String>,
    /// Messages taken (inbound) or handed over (outbound) in this session.
    pub messages: u32,
    /// Commands or the session refused (inbound).
    pub refusals: u32,
    /// When it closed (unix ms), for a closed session.
    pub ended: Option<i64>,
    /// How it ended, in words ("QUIT", "the client closed the connection", …).
    pub outcome: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ListenerRow {
    pub connector: String,
    pub address: SocketAddr,
    pub error: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Counters {
    pub sessions: u64,
    pub received: u64,
    pub delivered_local: u64,
    pub sent: u64,
    pub deferred: u64,
    pub failed: u64,
    pub rejected: u64,
    pub domain_secure: u64,
    pub encrypted: u64,
    pub plaintext: u64,
    /// MX routings looked up in DNS (a domain's MX hosts and their addresses), and how many of
    /// them found no host to try.
    pub mx_lookups: u64,
    pub mx_lookup_failures: u64,
}

/// Messages per minute by security status.
#[derive(Clone, Copy, Debug, Default)]
pub struct MinutePoint {
    /// Unix minute.
    pub minute: i64,
    pub sessions: u64,
    pub domain_secure: u64,
    pub encrypted: u64,
    pub plaintext: u64,
}

/// A queue as the console, `mailflow queue list` and the control socket show it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct QueueRow {
    pub name: String,
    pub status: String,
    pub messages: usize,
    /// Unix milliseconds.
    pub next_retry: Option<i64>,
    pub last_error: Option<String>,
    /// The policy its mail is held to, when it has a next hop.
    pub policy: Option<String>,
}

impl From<QueueInfo> for QueueRow {
    fn from(q: QueueInfo) -> QueueRow {
        QueueRow {
            name: q.key.name(),
            status: q.status.to_string(),
            messages: q.messages,
            next_retry: q.next_retry,
            last_error: q.last_error,
            policy: q.policy,
        }
    }
}

/// The whole live state.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub running: bool,
    pub listeners: Vec<ListenerRow>,
    pub sessions: Vec<SessionRow>,
    pub counters: Counters,
    pub queues: Vec<QueueRow>,
    pub queued_messages: usize,
    pub problems: Vec<String>,
    pub history: Vec<MinutePoint>,
    /// Sessions closed in the last hour (at most [`CLOSED_SESSIONS`]), newest first; shared,
    /// not copied, between snapshots.
    pub closed: Arc<Vec<Arc<SessionRow>>>,
}

#[derive(Default)]
struct Inner {
    running: bool,
    listeners: Vec<ListenerRow>,
    sessions: BTreeMap<u64, SessionRow>,
    next_id: u64,
    counters: Counters,
    queues: Vec<QueueRow>,
    queued_messages: usize,
    problems: Vec<String>,
    history: VecDeque<MinutePoint>,
    /// Closed sessions, oldest first.
    closed: VecDeque<Arc<SessionRow>>,
    /// [`Snapshot::closed`] as last built; `None` once a session closed since.
    closed_view: Option<Arc<Vec<Arc<SessionRow>>>>,
}

/// Shared live state; cheap to clone.
#[derive(Clone, Default)]
pub struct Live {
    inner: Arc<Mutex<Inner>>,
    waker: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl Live {
    pub fn new(waker: Option<Arc<dyn Fn() + Send + Sync>>) -> Live {
        Live {
            inner: Arc::default(),
            waker,
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut g = match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(&mut g)
    }

    /// Asks the console to draw a new frame.
    pub fn wake(&self) {
        if let Some(w) = &self.waker {
            w();
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        self.with(|i| Snapshot {
            running: i.running,
            listeners: i.listeners.clone(),
            sessions: i.sessions.values().cloned().collect(),
            counters: i.counters.clone(),
            queues: i.queues.clone(),
            queued_messages: i.queued_messages,
            problems: i.problems.clone(),
            history: i.history.iter().copied().collect(),
            closed: Self::closed_view(i),
        })
    }

    fn closed_view(i: &mut Inner) -> Arc<Vec<Arc<SessionRow>>> {
        let horizon = now_ms() - CLOSED_FOR_MS;
        while i
            .closed
            .front()
            .is_some_and(|s| s.ended.unwrap_or(0) < horizon)
        {
            i.closed.pop_front();
            i.closed_view = None;
        }
        if let Some(v) = &i.closed_view {
            return v.clone();
        }
        let v: Arc<Vec<Arc<SessionRow>>> = Arc::new(i.closed.iter().rev().cloned().collect());
        i.closed_view = Some(v.clone());
        v
    }

    pub fn set_running(&self, running: bool) {
        self.with(|i| i.running = running);
        self.wake();
    }

    pub fn set_listeners(&self, rows: Vec<ListenerRow>) {
        self.with(|i| i.listeners = rows);
        self.wake();
    }

    pub fn set_problems(&self, problems: Vec<String>) {
        self.with(|i| i.problems = problems);
        self.wake();
    }

    pub fn set_queues(&self, rows: Vec<QueueRow>, messages: usize) {
        self.with(|i| {
            i.queues = rows;
            i.queued_messages = messages;
        });
        self.wake();
    }

    fn minute(i: &mut Inner) -> &mut MinutePoint {
        let m = now_ms() / 60_000;
        if i.history.back().is_none_or(|p| p.minute != m) {
            i.history.push_back(MinutePoint {
                minute: m,
                ..Default::default()
            });
            while i.history.len() > HISTORY_MINUTES {
                i.history.pop_front();
            }
        }
        i.history.back_mut().expect("just pushed")
    }

    pub fn open_session(
        &self,
        direction: Direction,
        connector: &str,
        local: String,
        peer: String,
    ) -> u64 {
        let id = self.with(|i| {
            i.next_id += 1;
            i.counters.sessions += 1;
            Self::minute(i).sessions += 1;
            let id = i.next_id;
            i.sessions.insert(
                id,
                SessionRow {
                    id,
                    direction,
                    connector: connector.to_string(),
                    local,
                    peer,
                    state: "connected".into(),
                    tls_version: None,
                    cipher: None,
                    client_certificate: None,
                    security: None,
                    bytes_in: 0,
                    bytes_out: 0,
                    started: now_ms(),
                    transcript: VecDeque::new(),
                    messages: 0,
                    refusals: 0,
                    ended: None,
                    outcome: None,
                },
            );
            id
        });
        self.wake();
        id
    }

    pub fn update(&self, id: u64, f: impl FnOnce(&mut SessionRow)) {
        self.with(|i| {
            if let Some(s) = i.sessions.get_mut(&id) {
                f(s);
            }
        });
    }

    pub fn transcript(&self, id: u64, line: String) {
        self.update(id, |s| {
            s.transcript.push_back(line);
            while s.transcript.len() > TRANSCRIPT_LINES {
                s.transcript.pop_front();
            }
        });
    }

    /// The session ended (`outcome` says how): it moves to the closed sessions.
    pub fn close_session(&self, id: u64, outcome: impl Into<String>) {
        let outcome = outcome.into();
        self.with(|i| {
            if let Some(mut s) = i.sessions.remove(&id) {
                s.ended = Some(now_ms());
                s.outcome = Some(outcome);
                i.closed.push_back(Arc::new(s));
                while i.closed.len() > CLOSED_SESSIONS {
                    i.closed.pop_front();
                }
                i.closed_view = None;
            }
        });
        self.wake();
    }

    /// Counts a message by its security status.
    pub fn count_message(&self, status: SecurityStatus, f: impl FnOnce(&mut Counters)) {
        self.with(|i| {
            f(&mut i.counters);
            match status {
                SecurityStatus::DomainSecure => i.counters.domain_secure += 1,
                SecurityStatus::Encrypted => i.counters.encrypted += 1,
                SecurityStatus::Plaintext => i.counters.plaintext += 1,
            }
            let p = Self::minute(i);
            match status {
                SecurityStatus::DomainSecure => p.domain_secure += 1,
                SecurityStatus::Encrypted => p.encrypted += 1,
                SecurityStatus::Plaintext => p.plaintext += 1,
            }
        });
        self.wake();
    }

    pub fn count(&self, f: impl FnOnce(&mut Counters)) {
        self.with(|i| f(&mut i.counters));
        self.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(live: &Live, n: u32) -> u64 {
        live.open_session(
            Direction::Inbound,
            "Default",
            "127.0.0.1:25".into(),
            format!("192.0.2.1:{n}"),
        )
    }

    /// Closed sessions are kept newest first with how they ended, at most
    /// [`CLOSED_SESSIONS`] of them, and shared between snapshots until another closes.
    #[test]
    fn closed_sessions_are_kept_bounded_and_shared() {
        let live = Live::new(None);
        let a = open(&live, 1);
        let b = open(&live, 2);
        live.update(a, |r| r.messages = 2);
        live.close_session(a, "QUIT");
        let snap = live.snapshot();
        assert_eq!(snap.sessions.len(), 1);
        assert_eq!(snap.closed.len(), 1);
        assert_eq!(snap.closed[0].outcome.as_deref(), Some("QUIT"));
        assert_eq!(snap.closed[0].messages, 2);
        assert!(snap.closed[0].ended.is_some());
        assert!(Arc::ptr_eq(&snap.closed, &live.snapshot().closed));
        live.close_session(b, "the client closed the connection");
        let snap = live.snapshot();
        assert_eq!(snap.closed[0].id, b, "newest first");
        assert!(snap.sessions.is_empty());
        // Closing an unknown or already closed session changes nothing.
        live.close_session(b, "again");
        assert_eq!(live.snapshot().closed.len(), 2);
        for n in 0..CLOSED_SESSIONS as u32 + 5 {
            let id = open(&live, n);
            live.close_session(id, "QUIT");
        }
        let snap = live.snapshot();
        assert_eq!(snap.closed.len(), CLOSED_SESSIONS);
        assert!(snap.closed.iter().all(|s| s.id != a && s.id != b));
    }
}
