//! The relay engine — the only async code. A tokio runtime on its own thread behind an
//! [`EngineHandle`]: listeners for the receive connectors, inbound sessions, the queue with its
//! scheduler and deliveries, protocol logs, message tracking, the live snapshot for the console
//! and a control socket for `mailflow queue` while the relay runs. The console talks to it only
//! through commands, a snapshot and a wake-up closure; it never imports egui.

pub mod config;
pub mod control;
pub mod crl_fetch;
pub mod delivery;
pub mod inbound;
pub mod local;
pub mod monitor;
pub mod outbound;
pub mod probe;
pub mod protolog;
pub mod queue;
pub mod stream;
pub mod tls;

use crate::admin::Workspace;
use crate::store::DataDir;
use crate::store::spool::Spool;
use crate::store::tracking::TrackingWriter;
use config::RunConfig;
use delivery::QueueHandle;
use monitor::{ListenerRow, Live, QueueRow, Snapshot};
use queue::{QueueCore, QueueKey};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Open connections per connector, and per (connector, source address).
type Counts = (HashMap<String, usize>, HashMap<(String, IpAddr), usize>);

/// Connection counts per connector and per source, for the limits.
#[derive(Default)]
pub struct Limits {
    counts: Mutex<Counts>,
}

/// Releases a connection slot when dropped.
pub struct SlotGuard<'a> {
    limits: &'a Limits,
    connector: String,
    ip: IpAddr,
}

impl Limits {
    pub fn acquire(
        &self,
        connector: &str,
        ip: IpAddr,
        max: usize,
        per_source: usize,
    ) -> Option<SlotGuard<'_>> {
        let mut g = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let total = g.0.get(connector).copied().unwrap_or(0);
        let src = g.1.get(&(connector.to_string(), ip)).copied().unwrap_or(0);
        if total >= max || src >= per_source {
            return None;
        }
        *g.0.entry(connector.to_string()).or_default() += 1;
        *g.1.entry((connector.to_string(), ip)).or_default() += 1;
        Some(SlotGuard {
            limits: self,
            connector: connector.to_string(),
            ip,
        })
    }
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        let mut g = self.limits.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = g.0.get_mut(&self.connector) {
            *n = n.saturating_sub(1);
        }
        let key = (self.connector.clone(), self.ip);
        if let Some(n) = g.1.get_mut(&key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                g.1.remove(&key);
            }
        }
    }
}

/// Running background tasks (deliveries, sessions), so shutdown can wait for them.
#[derive(Default)]
pub struct Tasks {
    active: AtomicUsize,
    idle: tokio::sync::Notify,
}

impl Tasks {
    pub fn spawn<F: std::future::Future<Output = ()> + Send + 'static>(self: &Arc<Self>, f: F) {
        self.active.fetch_add(1, Ordering::SeqCst);
        let me = self.clone();
        tokio::spawn(async move {
            f.await;
            if me.active.fetch_sub(1, Ordering::SeqCst) == 1 {
                me.idle.notify_waiters();
            }
        });
    }

    pub fn count(&self) -> usize {
        self.active.load(Ordering::SeqCst)
    }

    /// Waits until no task runs, or the grace period ends.
    pub async fn wait_idle(&self, grace: Duration) {
        let deadline = tokio::time::Instant::now() + grace;
        while self.count() > 0 {
            if tokio::time::timeout_at(deadline, self.idle.notified())
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

/// What every task shares.
pub struct Services {
    config: RwLock<Arc<RunConfig>>,
    pub live: Live,
    pub log: protolog::ProtocolLog,
    pub tracking: TrackingWriter,
    pub queue: Arc<QueueHandle>,
    pub shutdown: watch::Receiver<bool>,
    pub limits: Limits,
    pub jobs: Arc<Tasks>,
    pub sessions: Arc<Tasks>,
}

impl Services {
    /// The configuration new sessions use.
    pub fn config(&self) -> Arc<RunConfig> {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// A queue operation (Queue Viewer, `mailflow queue`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum QueueOp {
    List,
    Messages {
        queue: Option<String>,
    },
    Retry {
        queue: String,
    },
    Suspend {
        target: String,
    },
    Resume {
        target: String,
    },
    Remove {
        target: String,
        ndr: bool,
    },
    /// The quarantine: messages found damaged in the queue, with why.
    Quarantined,
    /// Puts a quarantined message (by its quarantine name) back into the queue.
    Release {
        name: String,
    },
}

/// A quarantined message as reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineRow {
    /// The name to release it by (the message id, `.1`… when quarantined before).
    pub name: String,
    /// Why it was quarantined (its `.reason` file).
    pub reason: String,
    /// When (unix ms).
    pub since: i64,
    pub size: u64,
    /// From the envelope, when it can still be read.
    pub sender: Option<String>,
    pub recipients: Vec<String>,
    pub subject: Option<String>,
    /// The quarantined file.
    pub path: String,
}

/// A queued message as reported.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MessageRowOut {
    pub id: String,
    pub sender: String,
    pub recipients: Vec<(String, String)>,
    pub subject: Option<String>,
    pub size: u64,
    pub received: i64,
    pub next_attempt: i64,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub status: String,
}

/// The answer to a queue operation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum QueueReply {
    Queues(Vec<QueueRow>),
    Messages(Vec<MessageRowOut>),
    Quarantine(Vec<QuarantineRow>),
    Done(String),
    Error(String),
}

/// The time now in unix milliseconds, as the queue, tracking and the monitor keep it.
pub(crate) fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// What the target of a queue operation names: a queued message first (by its id), otherwise
/// a queue (by its name). Message ids never parse as queue names, so the order only matters
/// for targets that are neither.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    Message(String),
    Queue(QueueKey),
}

fn target_of(core: &QueueCore, target: &str) -> Option<Target> {
    if core.get(target).is_some() {
        Some(Target::Message(target.to_string()))
    } else {
        QueueKey::parse(target).map(Target::Queue)
    }
}

/// Applies a queue operation to a queue core; returns the reply and what to persist.
pub fn apply_queue_op(
    core: &mut QueueCore,
    run: &RunConfig,
    op: &QueueOp,
    now: i64,
) -> (QueueReply, queue::Changes) {
    let checked = &run.checked;
    let none = queue::Changes::default;
    let neither = |t: &str| QueueReply::Error(format!("'{t}' is neither a queue nor a message id"));
    match op {
        QueueOp::List => {
            let rows = core
                .queues(checked, now)
                .into_iter()
                .map(QueueRow::from)
                .collect();
            (QueueReply::Queues(rows), none())
        }
        QueueOp::Messages { queue } => {
            let key = match queue.as_deref().map(|q| QueueKey::parse(q).ok_or(q)) {
                Some(Err(q)) => {
                    return (
                        QueueReply::Error(format!(
                            "'{q}' is not a queue name: `mailflow queue list` shows them"
                        )),
                        none(),
                    );
                }
                Some(Ok(k)) => Some(k),
                None => None,
            };
            let rows = core
                .messages(key.as_ref(), checked, now)
                .into_iter()
                .map(|m| MessageRowOut {
                    id: m.id,
                    sender: m.sender,
                    recipients: m
                        .recipients
                        .iter()
                        .map(|r| (r.address.clone(), format!("{:?}", r.status)))
                        .collect(),
                    subject: m.subject,
                    size: m.size,
                    received: m.received,
                    next_attempt: m.next_attempt,
                    attempts: m.attempts,
                    last_error: m.last_error,
                    status: m.status.to_string(),
                })
                .collect();
            (QueueReply::Messages(rows), none())
        }
        QueueOp::Retry { queue } => match QueueKey::parse(queue) {
            Some(k) => {
                let ch = core.retry(&k, checked);
                (
                    QueueReply::Done(format!(
                        "{} message(s) in '{}' will be retried now",
                        ch.save.len(),
                        k.name()
                    )),
                    ch,
                )
            }
            None => (
                QueueReply::Error(format!("'{queue}' is not a queue name")),
                none(),
            ),
        },
        QueueOp::Suspend { target } | QueueOp::Resume { target } => {
            let suspend = matches!(op, QueueOp::Suspend { .. });
            let word = if suspend { "suspended" } else { "resumed" };
            match target_of(core, target) {
                Some(Target::Message(id)) => {
                    let ch = core.set_message_suspended(&id, suspend).unwrap_or_default();
                    (QueueReply::Done(format!("message {id} {word}")), ch)
                }
                Some(Target::Queue(k)) => {
                    core.set_queue_suspended(&k, suspend);
                    (
                        QueueReply::Done(format!("queue '{}' {word}", k.name())),
                        none(),
                    )
                }
                None => (neither(target), none()),
            }
        }
        QueueOp::Remove { target, ndr } => {
            let ids = match target_of(core, target) {
                Some(Target::Message(id)) => vec![id],
                Some(Target::Queue(k)) => core.queue_ids(&k, checked),
                None => return (neither(target), none()),
            };
            let mut all = queue::Changes::default();
            for id in &ids {
                if let Some(ch) = core.remove(id, *ndr, now) {
                    all.save.extend(ch.save);
                    all.done.extend(ch.done);
                    all.notices.extend(ch.notices);
                }
            }
            let how = if *ndr { "with NDR" } else { "without NDR" };
            (
                QueueReply::Done(format!("{} message(s) removed {how}", ids.len())),
                all,
            )
        }
        QueueOp::Quarantined | QueueOp::Release { .. } => (
            QueueReply::Error("the quarantine is read from the spool, not the queue".into()),
            none(),
        ),
    }
}

/// The quarantine operations, on the spool itself (blocking). `None` for every other
/// operation; a release answers with the message to queue (the caller inserts it).
fn quarantine_op(
    spool: &Spool,
    op: &QueueOp,
) -> Option<(QueueReply, Option<crate::store::spool::QueuedMessage>)> {
    match op {
        QueueOp::Quarantined => Some(match spool.quarantined() {
            Ok(list) => (
                QueueReply::Quarantine(
                    list.into_iter()
                        .map(|q| QuarantineRow {
                            name: q.name,
                            reason: q.reason,
                            since: q.since,
                            size: q.size,
                            sender: q.envelope.as_ref().map(|e| e.sender.to_string()),
                            recipients: q
                                .envelope
                                .as_ref()
                                .map(|e| e.recipients.clone())
                                .unwrap_or_default(),
                            subject: q.envelope.and_then(|e| e.subject),
                            path: q.path.display().to_string(),
                        })
                        .collect(),
                ),
                None,
            ),
            Err(e) => (
                QueueReply::Error(format!("the quarantine cannot be read: {e}")),
                None,
            ),
        }),
        QueueOp::Release { name } => Some(match spool.release(name.trim()) {
            Ok(m) => (
                QueueReply::Done(format!(
                    "message {} released from the quarantine back into the queue; it is tried now",
                    m.envelope.id
                )),
                Some(m),
            ),
            Err(e) => (
                QueueReply::Error(format!("'{name}' was not released: {e}")),
                None,
            ),
        }),
        _ => None,
    }
}

/// Runs a queue operation on the running relay (console, control socket): applies it, saves
/// what changed, wakes the scheduler and refreshes the queues in the live snapshot.
pub async fn run_queue_op(svc: &Arc<Services>, op: &QueueOp) -> QueueReply {
    let run = svc.config();
    if matches!(op, QueueOp::Quarantined | QueueOp::Release { .. }) {
        let (spool, op2) = (svc.queue.spool.clone(), op.clone());
        let done = tokio::task::spawn_blocking(move || quarantine_op(&spool, &op2)).await;
        let Ok(Some((answer, released))) = done else {
            return QueueReply::Error("the quarantine operation failed to run".into());
        };
        if let Some(m) = released {
            svc.tracking.record(delivery::release_event(&m.envelope));
            svc.queue.lock().insert(m.envelope, m.state);
            svc.queue.notify.notify_one();
            delivery::publish_queues(svc, &run);
        }
        return answer;
    }
    let (answer, changes) = apply_queue_op(&mut svc.queue.lock(), &run, op, now_ms());
    delivery::persist(svc, &run, changes).await;
    svc.queue.notify.notify_one();
    delivery::publish_queues(svc, &run);
    answer
}

/// Something the console should show (the engine's side of the UI channel).
#[derive(Clone, Debug)]
pub enum EngineEvent {
    Started,
    SettingsApplied { problems: Vec<String> },
    Problem(String),
    Stopped,
}

enum Cmd {
    Apply(Box<Workspace>),
    Probe {
        target: String,
        domain: String,
        connector: Option<usize>,
        reply: std::sync::mpsc::Sender<probe::ProbeReport>,
    },
    Queue(QueueOp, std::sync::mpsc::Sender<QueueReply>),
    Stop,
}

/// The console's and `serve`'s handle on a running relay.
pub struct EngineHandle {
    tx: mpsc::UnboundedSender<Cmd>,
    live: Live,
    events: Mutex<std::sync::mpsc::Receiver<EngineEvent>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _lock: std::fs::File,
}

/// Loads the spool into a queue core; returns it and how many messages it holds.
fn load_queue(spool: &Spool) -> Result<(QueueCore, usize), String> {
    let report = spool.load().map_err(|e| e.to_string())?;
    for (path, why) in &report.quarantined {
        tracing::warn!("spool file quarantined: {} ({why})", path.display());
    }
    let mut core = QueueCore::default();
    let loaded = report.messages.len();
    for m in report.messages {
        core.insert(m.envelope, m.state);
    }
    Ok((core, loaded))
}

/// Opens message tracking with the retention of the transport settings.
fn open_tracking(ws: &Workspace, run: &RunConfig) -> Result<TrackingWriter, String> {
    let retention = run
        .checked
        .settings
        .transport
        .message_tracking_max_age
        .as_duration()
        .as_millis() as i64;
    TrackingWriter::start(ws.dir.tracking_db(), retention).map_err(|e| e.to_string())
}

fn lock_data_dir(dir: &DataDir) -> Result<std::fs::File, String> {
    let path = dir.root().join("relay.lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    // SAFETY: flock on a file descriptor we own; no memory is shared.
    let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        return Err(format!(
            "another Mailflow relay is already running on {} (console or `mailflow serve`); stop it first",
            dir.root().display()
        ));
    }
    Ok(f)
}

impl EngineHandle {
    /// Starts the relay on a workspace: loads the queue from the spool, opens tracking, binds
    /// the listeners (a port in use is reported, not fatal) and starts delivering.
    pub fn start(
        ws: Workspace,
        waker: Option<Arc<dyn Fn() + Send + Sync>>,
    ) -> Result<EngineHandle, String> {
        let lock = lock_data_dir(&ws.dir)?;
        let run = Arc::new(RunConfig::build(&ws, time::OffsetDateTime::now_utc())?);
        let spool = Arc::new(Spool::open(ws.dir.spool()).map_err(|e| e.to_string())?);
        let (core, loaded) = load_queue(&spool)?;
        let tracking = open_tracking(&ws, &run)?;
        let live = Live::new(waker);
        let (tx, mut rx) = mpsc::unbounded_channel::<Cmd>();
        let (ev_tx, ev_rx) = std::sync::mpsc::channel::<EngineEvent>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let live2 = live.clone();
        let data_dir = ws.dir.clone();
        // The store's own chains name distribution points worth fetching from the start.
        let crl_seed: Vec<Vec<Vec<u8>>> = ws
            .store
            .certificates()
            .iter()
            .map(|c| {
                std::iter::once(c.der.clone())
                    .chain(c.chain.clone())
                    .collect()
            })
            .collect();
        let thread = std::thread::Builder::new()
            .name("mailflow-engine".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .thread_name("mailflow-relay")
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ =
                            ready_tx.send(Err(format!("the relay runtime could not start: {e}")));
                        return;
                    }
                };
                rt.block_on(async move {
                    let (stop_tx, stop_rx) = watch::channel(false);
                    let svc = Arc::new(Services {
                        config: RwLock::new(run.clone()),
                        live: live2.clone(),
                        log: protolog::ProtocolLog::start(data_dir.logs()),
                        tracking,
                        queue: Arc::new(QueueHandle::new(core, spool)),
                        shutdown: stop_rx,
                        limits: Limits::default(),
                        jobs: Arc::new(Tasks::default()),
                        sessions: Arc::new(Tasks::default()),
                    });
                    let mut listeners = Listeners::default();
                    listeners.reconcile(&svc, &run).await;
                    svc.live.set_problems(run.problems.clone());
                    svc.live.set_running(true);
                    tokio::spawn(delivery::scheduler(svc.clone()));
                    tokio::spawn(crl_fetch::run(
                        data_dir.clone(),
                        run.revocation.downloaded.clone(),
                        crl_seed,
                        run.roots.clone(),
                        svc.shutdown.clone(),
                    ));
                    let control = control::start(&data_dir, svc.clone());
                    tracing::info!("relay started: {} message(s) in the queue", loaded);
                    let _ = ready_tx.send(Ok(()));
                    let _ = ev_tx.send(EngineEvent::Started);
                    svc.live.wake();
                    while let Some(cmd) = rx.recv().await {
                        match cmd {
                            Cmd::Apply(ws) => {
                                let shelf = svc.config().revocation.downloaded.clone();
                                match RunConfig::build_with(
                                    &ws,
                                    time::OffsetDateTime::now_utc(),
                                    shelf,
                                ) {
                                    Ok(new) => {
                                        let new = Arc::new(new);
                                        *svc.config.write().unwrap_or_else(|p| p.into_inner()) =
                                            new.clone();
                                        listeners.reconcile(&svc, &new).await;
                                        let mut problems = new.problems.clone();
                                        problems.extend(listeners.errors());
                                        svc.live.set_problems(problems.clone());
                                        svc.queue.notify.notify_one();
                                        let _ =
                                            ev_tx.send(EngineEvent::SettingsApplied { problems });
                                    }
                                    Err(e) => {
                                        let _ = ev_tx.send(EngineEvent::Problem(e));
                                    }
                                }
                            }
                            Cmd::Queue(op, reply) => {
                                let _ = reply.send(run_queue_op(&svc, &op).await);
                            }
                            Cmd::Probe {
                                target,
                                domain,
                                connector,
                                reply,
                            } => {
                                let run = svc.config();
                                tokio::spawn(async move {
                                    let report =
                                        probe::probe(&run, &target, &domain, connector).await;
                                    let _ = reply.send(report);
                                });
                            }
                            Cmd::Stop => break,
                        }
                        svc.live.wake();
                    }
                    // Graceful stop: no new connections; sessions finish their message or get 421.
                    listeners.close_all();
                    let _ = stop_tx.send(true);
                    svc.sessions.wait_idle(Duration::from_secs(10)).await;
                    svc.jobs.wait_idle(Duration::from_secs(10)).await;
                    if let Some(c) = control {
                        c.abort();
                    }
                    let _ = std::fs::remove_file(data_dir.root().join("control.sock"));
                    svc.tracking.flush();
                    svc.live.set_running(false);
                    let _ = ev_tx.send(EngineEvent::Stopped);
                });
                rt.shutdown_timeout(Duration::from_secs(5));
            })
            .map_err(|e| format!("the relay thread could not start: {e}"))?;
        match ready_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err("the relay did not start within 30 seconds".into()),
        }
        Ok(EngineHandle {
            tx,
            live,
            events: Mutex::new(ev_rx),
            thread: Some(thread),
            _lock: lock,
        })
    }

    /// The live state (cheap copy).
    pub fn snapshot(&self) -> Snapshot {
        self.live.snapshot()
    }

    /// Events since the last call; never blocks.
    pub fn poll_events(&self) -> Vec<EngineEvent> {
        let rx = self.events.lock().unwrap_or_else(|p| p.into_inner());
        rx.try_iter().collect()
    }

    /// New settings: new sessions use them; open sessions judge trust by them from their next
    /// MAIL FROM, running deliveries before their next message.
    pub fn apply(&self, ws: Workspace) {
        let _ = self.tx.send(Cmd::Apply(Box::new(ws)));
    }

    /// Starts a queue operation; the answer arrives on the returned channel.
    pub fn queue_op(&self, op: QueueOp) -> std::sync::mpsc::Receiver<QueueReply> {
        let (tx, rx) = std::sync::mpsc::channel();
        if self.tx.send(Cmd::Queue(op, tx.clone())).is_err() {
            let _ = tx.send(QueueReply::Error("the relay is not running".into()));
        }
        rx
    }

    /// Starts a connectivity probe; the report arrives on the returned channel.
    pub fn probe(
        &self,
        target: &str,
        domain: &str,
        connector: Option<usize>,
    ) -> std::sync::mpsc::Receiver<probe::ProbeReport> {
        let (tx, rx) = std::sync::mpsc::channel();
        let _ = self.tx.send(Cmd::Probe {
            target: target.to_string(),
            domain: domain.to_string(),
            connector,
            reply: tx,
        });
        rx
    }

    /// Stops gracefully and waits for the engine thread.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        let _ = self.tx.send(Cmd::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for EngineHandle {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// The listening sockets, kept in step with the settings.
#[derive(Default)]
struct Listeners {
    running: HashMap<SocketAddr, (SocketAddr, tokio::task::JoinHandle<()>)>,
    failed: Vec<(SocketAddr, String)>,
}

impl Listeners {
    async fn reconcile(&mut self, svc: &Arc<Services>, run: &RunConfig) {
        let wanted = run.listen_addresses();
        let gone: Vec<SocketAddr> = self
            .running
            .keys()
            .filter(|a| !wanted.contains(a))
            .copied()
            .collect();
        for a in gone {
            if let Some((_, h)) = self.running.remove(&a) {
                h.abort();
            }
        }
        self.failed.clear();
        for addr in wanted {
            if self.running.contains_key(&addr) {
                continue;
            }
            match tokio::net::TcpListener::bind(addr).await {
                Ok(l) => {
                    let actual = l.local_addr().unwrap_or(addr);
                    tracing::info!("listening on {actual}");
                    let svc2 = svc.clone();
                    let h = tokio::spawn(accept_loop(l, addr, svc2));
                    self.running.insert(addr, (actual, h));
                }
                Err(e) => {
                    let why = format!("cannot listen on {addr}: {e}");
                    tracing::error!("{why}");
                    self.failed.push((addr, why));
                }
            }
        }
        let mut rows = Vec::new();
        for c in &run.receive {
            for b in &c.bindings {
                if let Some((actual, _)) = self.running.get(b) {
                    rows.push(ListenerRow {
                        connector: c.name.clone(),
                        address: *actual,
                        error: None,
                    });
                } else if let Some((_, why)) = self.failed.iter().find(|(a, _)| a == b) {
                    rows.push(ListenerRow {
                        connector: c.name.clone(),
                        address: *b,
                        error: Some(why.clone()),
                    });
                }
            }
        }
        svc.live.set_listeners(rows);
    }

    fn errors(&self) -> Vec<String> {
        self.failed.iter().map(|(_, w)| w.clone()).collect()
    }

    fn close_all(&mut self) {
        for (_, (_, h)) in self.running.drain() {
            h.abort();
        }
    }
}

async fn accept_loop(listener: tokio::net::TcpListener, binding: SocketAddr, svc: Arc<Services>) {
    let local = listener.local_addr().ok();
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let local = stream.local_addr().ok().or(local).unwrap_or(peer);
                let svc2 = svc.clone();
                svc.sessions
                    .spawn(async move { inbound::serve(stream, binding, local, peer, svc2).await });
            }
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Queue operations while no relay runs: applied to the spool directly (the data directory is
/// locked meanwhile, so a relay cannot start in between).
pub fn offline_queue_op(ws: &Workspace, op: &QueueOp) -> Result<QueueReply, String> {
    let _lock = lock_data_dir(&ws.dir)?;
    let run = RunConfig::build(ws, time::OffsetDateTime::now_utc())?;
    let spool = Spool::open(ws.dir.spool()).map_err(|e| e.to_string())?;
    if let Some((reply, released)) = quarantine_op(&spool, op) {
        if let Some(m) = released {
            let tracking = open_tracking(ws, &run)?;
            tracking.record(delivery::release_event(&m.envelope));
            tracking.stop();
        }
        return Ok(reply);
    }
    let (mut core, _) = load_queue(&spool)?;
    // A queue's suspension lives in the running relay only: it would be lost here.
    if let QueueOp::Suspend { target } | QueueOp::Resume { target } = op
        && let Some(Target::Queue(_)) = target_of(&core, target)
    {
        return Err("queues exist only while the relay runs: start it (`mailflow serve` or the console), or suspend single messages by id".into());
    }
    let (reply, changes) = apply_queue_op(&mut core, &run, op, now_ms());
    // As the running relay does: states (with the notices they owe) first, then each notice,
    // and a message leaves the spool only once its notice is stored.
    for (id, st) in &changes.save {
        spool.save_state(id, st).map_err(|e| e.to_string())?;
    }
    let mut done = changes.done;
    if !changes.notices.is_empty() {
        let tracking = open_tracking(ws, &run)?;
        let timing = queue::Timing::from(&run.checked);
        let mut failed = None;
        for n in &changes.notices {
            let stored = delivery::store_notice_offline(&spool, &run, n, &tracking);
            let after =
                core.notice_result(&n.envelope.id, n.seq, stored.clone(), now_ms(), &timing);
            for (id, st) in &after.save {
                spool.save_state(id, st).map_err(|e| e.to_string())?;
            }
            done.extend(after.done);
            if let Err(e) = stored {
                failed.get_or_insert(format!(
                    "message {}: {e} (the relay retries it when it runs)",
                    n.envelope.id
                ));
            }
        }
        tracking.stop();
        if let Some(e) = failed {
            for id in &done {
                spool.remove(id).map_err(|e| e.to_string())?;
            }
            return Err(e);
        }
    }
    for id in &done {
        spool.remove(id).map_err(|e| e.to_string())?;
    }
    Ok(reply)
}

/// Runs a connectivity probe without a running relay (for `mailflow probe`). `client_cert`
/// names the certificate to present (by thumbprint); otherwise the send connector's.
pub fn probe_now(
    ws: &Workspace,
    target: &str,
    domain: &str,
    client_cert: Option<&str>,
) -> Result<probe::ProbeReport, String> {
    let mut ws = ws.clone();
    if let Some(tp) = client_cert {
        let found = ws.store.find(tp)?.info.thumbprint.clone();
        if let Some(sc) = ws.settings.send_connectors.first_mut() {
            sc.certificate = crate::config::CertificateSelection::Thumbprint(found);
        }
    }
    let run = RunConfig::build(&ws, time::OffsetDateTime::now_utc())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    Ok(rt.block_on(probe::probe(&run, target, domain, None)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DataDir;

    /// Regression: a queue name of 36 characters (the length of a message id) slipped past the
    /// "queues exist only while the relay runs" check, and its suspension was silently lost.
    #[test]
    fn a_queue_is_never_taken_for_a_message_id_whatever_its_length() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path());
        let now = time::OffsetDateTime::now_utc();
        crate::admin::init(&dir, "Contoso", "mail.contoso.test", "contoso.test", now).unwrap();
        let ws = Workspace::open(&dir).unwrap();
        let queue = "woodgrove-partners.test via Outbound";
        assert_eq!(queue.len(), 36);
        for op in [
            QueueOp::Suspend {
                target: queue.into(),
            },
            QueueOp::Resume {
                target: queue.into(),
            },
        ] {
            let err = offline_queue_op(&ws, &op).unwrap_err();
            assert!(
                err.contains("queues exist only while the relay runs"),
                "{err}"
            );
        }
        // An id that is not queued is neither.
        let id = crate::smtp::envelope::new_message_id([7; 16]);
        match offline_queue_op(&ws, &QueueOp::Suspend { target: id }) {
            Ok(QueueReply::Error(e)) => assert!(e.contains("neither a queue nor a message id")),
            other => panic!("{other:?}"),
        }
        let core = QueueCore::default();
        assert_eq!(
            target_of(&core, queue),
            Some(Target::Queue(QueueKey::parse(queue).unwrap()))
        );
        assert_eq!(target_of(&core, "nonsense"), None);
    }
}
