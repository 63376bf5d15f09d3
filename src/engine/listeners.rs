//! The listening sockets of the receive connectors, kept in step with the settings: a binding
//! that cannot be listened on is reported (in the live snapshot and the settings' problems),
//! not fatal; each accepted connection becomes an inbound session.

use super::config::RunConfig;
use super::inbound;
use super::monitor::ListenerRow;
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
}

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
        services.live.set_listeners(rows);
    }

    pub(crate) fn errors(&self) -> Vec<String> {
        self.failed.iter().map(|(_, w)| w.clone()).collect()
    }

    pub(crate) fn close_all(&mut self) {
        for (_, (_, h)) in self.running.drain() {
            h.abort();
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
