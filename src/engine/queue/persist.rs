//! Saving what a job or an operation changed, in the order that loses nothing: states first
//! (so a notice a message owes is on disk before it is tried), then each notice, then the
//! messages that are finished leave the spool.

use super::bookkeeping::{Changes, Timing};
use super::notices::send_notice;
use crate::engine::config::RunConfig;
use crate::engine::services::Services;
use crate::store::clock::now_ms;
use crate::store::spool::DeliveryState;
use std::sync::Arc;

/// Saves, notifies and removes as the changes say (blocking file work off the runtime).
/// States first, so a notice a message owes is on disk before it is tried; then each notice,
/// and the message it is about leaves the spool only once the notice is stored (a notice
/// that cannot be stored, e.g. on a full disk, is retried and its original stays queued).
pub async fn persist(services: &Arc<Services>, run: &Arc<RunConfig>, changes: Changes) {
    if changes.save.is_empty() && changes.done.is_empty() && changes.notices.is_empty() {
        return;
    }
    write(services, changes.save, changes.done).await;
    let timing = Timing::from(&run.checked);
    for n in changes.notices {
        let result = send_notice(services, run, &n).await;
        let after = services.queue.lock().notice_result(
            &n.envelope.id,
            n.seq,
            result.as_ref().map(|_| ()),
            now_ms(),
            &timing,
        );
        write(services, after.save, after.done).await;
    }
}

async fn write(services: &Arc<Services>, save: Vec<(String, DeliveryState)>, done: Vec<String>) {
    if save.is_empty() && done.is_empty() {
        return;
    }
    let queue = services.queue.clone();
    let save: Vec<String> = save.into_iter().map(|(id, _)| id).collect();
    let _ = tokio::task::spawn_blocking(move || queue.write(&save, &done)).await;
}
