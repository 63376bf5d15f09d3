//! The listening sockets of the receive connectors, kept in step with the settings: a binding
//! that cannot be listened on is reported (in the live snapshot and the settings' problems),
//! not fatal; each accepted connection becomes an inbound session. The HTTPS listener of our
//! MTA-STS policy, when we publish one, is kept in step the same way.

use super::config::RunConfig;
use super::inbound;
use super::monitor::ListenerRow;
use super::policy_server::{self, PolicyServer};
use super::services::Services;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The listening sockets, kept in step with the settings.
#[derive(Default)]
pub(crate) struct Listeners {
    running: HashMap<SocketAddr, (SocketAddr, tokio::task::JoinHandle<()>)>,
    failed: Vec<(SocketAddr, String)>,
    /// The MTA-STS policy server: what it serves, where it listens, its task.
    policy: Option<(PolicyServer, SocketAddr, tokio::task::JoinHandle<()>)>,
    policy_failed: Option<(SocketAddr, String)>,
}

/// How the live monitor names the MTA-STS policy listener.
pub const POLICY_LISTENER: &str = "MTA-STS policy (HTTPS)";

impl Listeners {
    pub(crate) async fn reconcile(&mut self, services: &Arc<Services>, run: &RunConfig) {
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
                    let svc2 = services.clone();
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
        self.reconcile_policy(run).await;
        let mut rows = Vec::new();
        if let Some((_, actual, _)) = &self.policy {
            rows.push(ListenerRow {
                connector: POLICY_LISTENER.into(),
                address: *actual,
                error: None,
            });
        }
        if let Some((addr, why)) = &self.policy_failed {
            rows.push(ListenerRow {
                connector: POLICY_LISTENER.into(),
                address: *addr,
                error: Some(why.clone()),
            });
        }
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
        services.live.set_listeners(rows);
    }

    /// Starts, restarts or stops the policy server as the settings say.
    async fn reconcile_policy(&mut self, run: &RunConfig) {
        let wanted = run.policy_server.as_ref();
        if let (Some((running, _, _)), Some(wanted)) = (&self.policy, wanted)
            && running.same_as(wanted)
        {
            return;
        }
        if let Some((_, _, task)) = self.policy.take() {
            task.abort();
        }
        self.policy_failed = None;
        let Some(wanted) = wanted else {
            return;
        };
        match tokio::net::TcpListener::bind(wanted.listen).await {
            Ok(listener) => {
                let actual = listener.local_addr().unwrap_or(wanted.listen);
                tracing::info!("serving the MTA-STS policy for {} on {actual}", wanted.host);
                let task = tokio::spawn(policy_server::serve(listener, wanted.clone()));
                self.policy = Some((wanted.clone(), actual, task));
            }
            Err(e) => {
                let why = format!(
                    "cannot listen on {} for the MTA-STS policy: {e}",
                    wanted.listen
                );
                tracing::error!("{why}");
                self.policy_failed = Some((wanted.listen, why));
            }
        }
    }

    pub(crate) fn errors(&self) -> Vec<String> {
        self.failed
            .iter()
            .chain(self.policy_failed.iter())
            .map(|(_, w)| w.clone())
            .collect()
    }

    pub(crate) fn close_all(&mut self) {
        for (_, (_, h)) in self.running.drain() {
            h.abort();
        }
        if let Some((_, _, task)) = self.policy.take() {
            task.abort();
        }
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    binding: SocketAddr,
    services: Arc<Services>,
) {
    let local = listener.local_addr().ok();
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let local = stream.local_addr().ok().or(local).unwrap_or(peer);
                let svc2 = services.clone();
                services
                    .sessions
                    .spawn(async move { inbound::serve(stream, binding, local, peer, svc2).await });
            }
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
