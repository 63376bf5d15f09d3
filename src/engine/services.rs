//! What every task of the running relay shares ([`Services`]): the configuration new sessions
//! use, the live snapshot, the protocol log, message tracking, the queue, the shutdown signal,
//! the connection limits and the running tasks; and opening the two things a relay holds for
//! its whole run (the data directory's lock, message tracking).

use super::config::RunConfig;
use super::dns::Dns;
use super::error::EngineError;
use super::monitor::Live;
use super::protolog;
use super::queue::QueueHandle;
use crate::admin::Workspace;
use crate::store::tracking::TrackingWriter;
use crate::store::{DataDir, StoreError};
use std::collections::HashMap;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::watch;

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
    pub(super) config: RwLock<Arc<RunConfig>>,
    pub live: Live,
    pub log: protolog::ProtocolLog,
    pub tracking: TrackingWriter,
    pub queue: Arc<QueueHandle>,
    pub shutdown: watch::Receiver<bool>,
    pub limits: Limits,
    pub jobs: Arc<Tasks>,
    pub sessions: Arc<Tasks>,
    /// The resolver of MX routing: made on first use, again when the DNS servers change.
    pub dns: Mutex<Option<Arc<Dns>>>,
    /// The MTA-STS policies of other domains, cached.
    pub mta_sts: super::mta_sts::MtaSts,
    /// Next hops that failed lately, tried after the others.
    pub host_health: super::host_health::HostHealth,
}

impl Services {
    /// The resolver for `servers` (empty: the system's) validating from `anchor`, made once
    /// and kept while the settings stay.
    pub fn dns(
        &self,
        servers: &[std::net::SocketAddr],
        anchor: &crate::config::DnssecTrustAnchor,
    ) -> Result<Arc<Dns>, EngineError> {
        let mut kept = self.dns.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(dns) = kept.as_ref().filter(|d| d.is_for(servers, anchor)) {
            return Ok(dns.clone());
        }
        let dns = Arc::new(Dns::new(servers, anchor)?);
        *kept = Some(dns.clone());
        Ok(dns)
    }

    /// The resolver for the DNS settings in force now, the error in words (what a delivery
    /// routing by MX asks for when it needs one).
    pub fn dns_now(&self) -> Result<Arc<Dns>, String> {
        let now = self.config();
        self.dns(
            &now.checked.dns_servers,
            &now.checked.settings.transport.dnssec_trust_anchor,
        )
        .map_err(|e| e.to_string())
    }

    /// The configuration new sessions use.
    pub fn config(&self) -> Arc<RunConfig> {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Opens message tracking with the retention of the transport settings.
pub(crate) fn open_tracking(
    workspace: &Workspace,
    run: &RunConfig,
) -> Result<TrackingWriter, EngineError> {
    let retention = run
        .checked
        .settings
        .transport
        .message_tracking_max_age
        .as_duration()
        .as_millis() as i64;
    Ok(TrackingWriter::start(
        workspace.dir.tracking_db(),
        retention,
    )?)
}

pub(crate) fn lock_data_dir(dir: &DataDir) -> Result<std::fs::File, EngineError> {
    let path = dir.root().join("relay.lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| StoreError::io(&path, e))?;
    // SAFETY: flock on a file descriptor we own; no memory is shared.
    let status = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if status != 0 {
        return Err(EngineError::AlreadyRunning(dir.root().to_path_buf()));
    }
    Ok(f)
}
