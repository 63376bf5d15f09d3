//! The relay engine — the only async code. A tokio runtime on its own thread behind an
//! [`EngineHandle`]: listeners for the receive connectors, inbound sessions, the queue with its
//! scheduler and deliveries, protocol logs, message tracking, the live snapshot for the console
//! and a control socket for `mailflow queue` while the relay runs. The console talks to it only
//! through commands, a snapshot and a wake-up closure; it never imports egui.
//!
//! This file is the handle, its commands and its events. What every task shares is in
//! [`services`], the listening sockets in [`listeners`], and everything about the queue —
//! the queue in memory, its handle over the spool, notices and the administrator's
//! operations — in [`queue`].

pub mod config;
pub mod control;
pub mod crl_fetch;
pub mod delivery;
pub mod dns;
pub mod error;
pub mod host_health;
pub mod https;
pub mod inbound;
pub mod listeners;
pub mod local;
pub mod monitor;
pub mod mta_sts;
pub mod outbound;
pub mod partner_alerts;
pub mod policy_server;
pub mod probe;
pub mod protolog;
pub mod queue;
pub mod refusals;
pub mod services;
pub mod stream;
pub mod test_message;
pub mod tls;
pub mod tls_reports;
pub mod tracking_events;

use crate::admin::Workspace;
use crate::config::net::SmartHost;
use crate::store::spool::Spool;
use config::RunConfig;
use listeners::Listeners;
use monitor::{Live, Snapshot};
use queue::QueueHandle;
use queue::handle::load_queue;
use services::{Limits, Services, Tasks, lock_data_dir, open_tracking};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

pub use error::EngineError;
pub use queue::operations::{
    MessageRowOut, QuarantineRow, QueueOp, QueueReply, offline_queue_op, run_queue_op,
};

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
    /// Send a test message now.
    TestMessage {
        request: test_message::TestMessage,
        reply: std::sync::mpsc::Sender<Result<test_message::TestReport, String>>,
    },
    /// Read the partner certificate watch now and announce its new alerts.
    Alerts(std::sync::mpsc::Sender<Result<Vec<crate::admin::partners::watch::Alert>, String>>),
    /// Queue the TLS reports of a day now.
    TlsReports {
        day: String,
        reply: std::sync::mpsc::Sender<Result<usize, String>>,
    },
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

impl EngineHandle {
    /// Starts the relay on a workspace: loads the queue from the spool, opens tracking, binds
    /// the listeners (a port in use is reported, not fatal) and starts delivering.
    pub fn start(
        workspace: Workspace,
        waker: Option<Arc<dyn Fn() + Send + Sync>>,
    ) -> Result<EngineHandle, EngineError> {
        let lock = lock_data_dir(&workspace.dir)?;
        let run = Arc::new(RunConfig::build(
            &workspace,
            time::OffsetDateTime::now_utc(),
        )?);
        let spool = Arc::new(Spool::open(workspace.dir.spool())?);
        let (core, loaded) = load_queue(&spool)?;
        let tracking = open_tracking(&workspace, &run)?;
        let live = Live::new(waker);
        let (tx, mut rx) = mpsc::unbounded_channel::<Cmd>();
        let (ev_tx, ev_rx) = std::sync::mpsc::channel::<EngineEvent>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), EngineError>>();
        let live2 = live.clone();
        let data_dir = workspace.dir.clone();
        // The store's own chains name distribution points worth fetching from the start.
        let crl_seed: Vec<Vec<Vec<u8>>> = workspace
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
                        let _ = ready_tx.send(Err(EngineError::Runtime(e)));
                        return;
                    }
                };
                rt.block_on(async move {
                    let (stop_tx, stop_rx) = watch::channel(false);
                    let services = Arc::new(Services {
                        config: RwLock::new(run.clone()),
                        live: live2.clone(),
                        log: protolog::ProtocolLog::start(data_dir.logs()),
                        tracking,
                        queue: Arc::new(QueueHandle::new(core, spool)),
                        shutdown: stop_rx,
                        limits: Limits::default(),
                        jobs: Arc::new(Tasks::default()),
                        sessions: Arc::new(Tasks::default()),
                        dns: Mutex::new(None),
                        mta_sts: mta_sts::MtaSts::open(&data_dir),
                        host_health: host_health::HostHealth::default(),
                    });
                    let mut listeners = Listeners::default();
                    listeners.reconcile(&services, &run).await;
                    services.live.set_problems(run.problems.clone());
                    services.live.set_running(true);
                    tokio::spawn(delivery::scheduler(services.clone()));
                    tokio::spawn(tls_reports::daily(services.clone()));
                    tokio::spawn(partner_alerts::run(services.clone()));
                    tokio::spawn(crl_fetch::run(
                        data_dir.clone(),
                        run.revocation.downloaded.clone(),
                        crl_seed,
                        run.roots.clone(),
                        services.shutdown.clone(),
                    ));
                    let control = control::start(&data_dir, services.clone());
                    tracing::info!("relay started: {} message(s) in the queue", loaded);
                    let _ = ready_tx.send(Ok(()));
                    let _ = ev_tx.send(EngineEvent::Started);
                    services.live.wake();
                    while let Some(cmd) = rx.recv().await {
                        match cmd {
                            Cmd::Apply(workspace) => {
                                let shelf = services.config().revocation.downloaded.clone();
                                match RunConfig::build_with(
                                    &workspace,
                                    time::OffsetDateTime::now_utc(),
                                    shelf,
                                ) {
                                    Ok(new) => {
                                        let new = Arc::new(new);
                                        *services
                                            .config
                                            .write()
                                            .unwrap_or_else(|p| p.into_inner()) = new.clone();
                                        listeners.reconcile(&services, &new).await;
                                        let mut problems = new.problems.clone();
                                        problems.extend(listeners.errors());
                                        services.live.set_problems(problems.clone());
                                        services.queue.notify.notify_one();
                                        let _ =
                                            ev_tx.send(EngineEvent::SettingsApplied { problems });
                                    }
                                    Err(e) => {
                                        let _ = ev_tx.send(EngineEvent::Problem(e.to_string()));
                                    }
                                }
                            }
                            Cmd::Queue(op, reply) => {
                                let _ = reply.send(run_queue_op(&services, &op).await);
                            }
                            Cmd::Probe {
                                target,
                                domain,
                                connector,
                                reply,
                            } => {
                                let run = services.config();
                                tokio::spawn(async move {
                                    let report = match SmartHost::parse(&target, 25) {
                                        Ok(host) => {
                                            let hop = outbound::NextHop::smart_host(&host);
                                            probe::probe(&run, &hop, &domain, connector).await
                                        }
                                        Err(why) => probe::ProbeReport {
                                            target,
                                            domain,
                                            error: Some(why),
                                            ..Default::default()
                                        },
                                    };
                                    let _ = reply.send(report);
                                });
                            }
                            Cmd::TestMessage { request, reply } => {
                                let services = services.clone();
                                tokio::spawn(async move {
                                    let _ =
                                        reply.send(test_message::send(&services, &request).await);
                                });
                            }
                            Cmd::Alerts(reply) => {
                                let services = services.clone();
                                tokio::spawn(async move {
                                    let _ = reply.send(partner_alerts::check(&services).await);
                                });
                            }
                            Cmd::TlsReports { day, reply } => {
                                let services = services.clone();
                                tokio::spawn(async move {
                                    let _ =
                                        reply.send(tls_reports::send_day(&services, &day).await);
                                });
                            }
                            Cmd::Stop => break,
                        }
                        services.live.wake();
                    }
                    // Graceful stop: no new connections; sessions finish their message or get 421.
                    listeners.close_all();
                    let _ = stop_tx.send(true);
                    services.sessions.wait_idle(Duration::from_secs(10)).await;
                    services.jobs.wait_idle(Duration::from_secs(10)).await;
                    if let Some(c) = control {
                        c.abort();
                    }
                    let _ = std::fs::remove_file(data_dir.root().join("control.sock"));
                    services.tracking.flush();
                    services.live.set_running(false);
                    let _ = ev_tx.send(EngineEvent::Stopped);
                });
                rt.shutdown_timeout(Duration::from_secs(5));
            })
            .map_err(EngineError::Thread)?;
        match ready_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(EngineError::StartTimeout),
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
    pub fn apply(&self, workspace: Workspace) {
        let _ = self.tx.send(Cmd::Apply(Box::new(workspace)));
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

    /// Sends a test message now (not queued); the report arrives on the returned channel.
    pub fn send_test_message(
        &self,
        request: test_message::TestMessage,
    ) -> std::sync::mpsc::Receiver<Result<test_message::TestReport, String>> {
        let (tx, rx) = std::sync::mpsc::channel();
        if let Err(mpsc::error::SendError(Cmd::TestMessage { reply, .. })) =
            self.tx.send(Cmd::TestMessage { request, reply: tx })
        {
            let _ = reply.send(Err("the relay is not running".into()));
        }
        rx
    }

    /// Reads the partner certificate watch now and announces its new alerts (as the relay
    /// does every ten minutes); the answer is the alerts announced now.
    pub fn check_alerts(
        &self,
    ) -> std::sync::mpsc::Receiver<Result<Vec<crate::admin::partners::watch::Alert>, String>> {
        let (tx, rx) = std::sync::mpsc::channel();
        if let Err(mpsc::error::SendError(Cmd::Alerts(reply))) = self.tx.send(Cmd::Alerts(tx)) {
            let _ = reply.send(Err("the relay is not running".into()));
        }
        rx
    }

    /// Queues the TLS reports (RFC 8460) of `day` (`2026-12-07`) now, as the daily task does
    /// for the day before; the answer is how many report mails were queued.
    pub fn send_tls_reports(&self, day: &str) -> std::sync::mpsc::Receiver<Result<usize, String>> {
        let (tx, rx) = std::sync::mpsc::channel();
        let _ = self.tx.send(Cmd::TlsReports {
            day: day.to_string(),
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

/// Probes every host `domain`'s mail may go to (each MX host, or each smart host), best first,
/// without a running relay: `mailflow probe --domain D` without a host.
pub fn probe_each_host_now(
    workspace: &Workspace,
    domain: &str,
) -> Result<Vec<probe::ProbeReport>, EngineError> {
    let run = RunConfig::build(workspace, time::OffsetDateTime::now_utc())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(EngineError::Runtime)?;
    rt.block_on(async {
        let hops = probe::targets_for(&run, domain)
            .await
            .map_err(|why| EngineError::Probe { why })?;
        let mut reports = Vec::new();
        for hop in &hops {
            reports.push(probe::probe(&run, hop, domain, None).await);
        }
        Ok(reports)
    })
}

/// Runs a connectivity probe without a running relay (for `mailflow probe` and the console).
/// `target` is `host[:port]`; without it, where the domain's mail goes (its smart host, or its
/// best MX host). `client_cert` names the certificate to present (by thumbprint); otherwise the
/// send connector's.
pub fn probe_now(
    workspace: &Workspace,
    target: Option<&str>,
    domain: &str,
    client_cert: Option<&str>,
) -> Result<probe::ProbeReport, EngineError> {
    let mut workspace = workspace.clone();
    if let Some(tp) = client_cert {
        let found = workspace.store.find(tp).map_err(EngineError::Certificate)?;
        let thumbprint = found.info.thumbprint.clone();
        if let Some(send_connector) = workspace.settings.send_connectors.first_mut() {
            send_connector.certificate =
                crate::config::CertificateSelection::Thumbprint(thumbprint);
        }
    }
    let run = RunConfig::build(&workspace, time::OffsetDateTime::now_utc())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(EngineError::Runtime)?;
    rt.block_on(async {
        let hop = match target {
            Some(t) => {
                let host = SmartHost::parse(t, 25).map_err(|why| EngineError::Probe { why })?;
                outbound::NextHop::smart_host(&host)
            }
            None => probe::target_for(&run, domain)
                .await
                .map_err(|why| EngineError::Probe { why })?,
        };
        Ok(probe::probe(&run, &hop, domain, None).await)
    })
}
