//! [`QueueHandle`]: the queue in memory over the durable spool, as the running relay holds it —
//! storing a message (fsynced before it is queued), writing states in order, loading the spool
//! at start and publishing the queues to the live snapshot.

use super::bookkeeping::QueueCore;
use crate::engine::config::RunConfig;
use crate::engine::services::Services;
use crate::smtp::envelope::Envelope;
use crate::store::StoreError;
use crate::store::clock::now_ms;
use crate::store::spool::{DeliveryState, Spool};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Stripes of the lock that orders state writes of one message (see [`QueueHandle::write`]).
const SAVE_STRIPES: usize = 16;

/// The queue: in memory over the durable spool.
pub struct QueueHandle {
    pub core: Mutex<QueueCore>,
    pub spool: Arc<Spool>,
    pub notify: Notify,
    /// Held while a message's state is read from `core` and written (by a hash of its id).
    save_order: [Mutex<()>; SAVE_STRIPES],
}

impl QueueHandle {
    pub fn new(core: QueueCore, spool: Arc<Spool>) -> QueueHandle {
        QueueHandle {
            core: Mutex::new(core),
            spool,
            notify: Notify::new(),
            save_order: Default::default(),
        }
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, QueueCore> {
        match self.core.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn order(&self, id: &str) -> std::sync::MutexGuard<'_, ()> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        id.hash(&mut h);
        let m = &self.save_order[(h.finish() as usize) % SAVE_STRIPES];
        m.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes the states of `save` and removes `done` from the spool (blocking). Two jobs of
    /// one message (different next hops) may report at once: each write takes the message's
    /// newest state under its stripe lock, so an older state never overwrites a newer one, and
    /// a message no longer queued is not written back.
    pub(super) fn write(&self, save: &[String], done: &[String]) {
        for id in save {
            let _order = self.order(id);
            let Some(state) = self.lock().get(id).map(|e| e.state.clone()) else {
                continue;
            };
            if let Err(e) = self.spool.save_state(id, &state) {
                tracing::error!("queue state of {id} could not be saved: {e}");
            }
        }
        for id in done {
            let _order = self.order(id);
            if let Err(e) = self.spool.remove(id) {
                tracing::error!("finished message {id} could not be removed from the spool: {e}");
            }
        }
    }

    /// Stores a message durably (fsynced before this returns `Ok`) and queues it. The spool's
    /// own error, so a caller can tell a duplicate id.
    pub async fn accept(&self, envelope: Envelope, body: Vec<u8>) -> Result<(), StoreError> {
        let spool = self.spool.clone();
        let env = envelope.clone();
        tokio::task::spawn_blocking(move || spool.accept(&env, &body))
            .await
            .map_err(|e| StoreError::io(self.spool.root(), std::io::Error::other(e)))??;
        let state = DeliveryState::new(&envelope.recipients);
        self.lock().insert(envelope, state);
        self.notify.notify_one();
        Ok(())
    }
}

/// Loads the spool into a queue core; returns it and how many messages it holds.
pub(crate) fn load_queue(spool: &Spool) -> Result<(QueueCore, usize), StoreError> {
    let report = spool.load()?;
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

/// Puts the queue overview into the live snapshot.
pub fn publish_queues(services: &Services, run: &RunConfig) {
    let now = now_ms();
    let core = services.queue.lock();
    let rows = core
        .queues(&run.checked, now)
        .into_iter()
        .map(Into::into)
        .collect();
    let n = core.len();
    drop(core);
    services.live.set_queues(rows, n);
}
