//! The control socket `<data-dir>/control.sock`: while a relay runs, `mailflow queue ...`
//! sends one queue operation (a RON line) and reads one reply (a RON line). Only the local
//! user can reach it (mode 0600).

use super::queue::operations::{QueueOp, QueueReply, run_queue_op};
use super::services::Services;
use crate::store::DataDir;
use std::path::Path;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Starts listening; returns the task (None when the socket cannot be created).
pub fn start(dir: &DataDir, services: Arc<Services>) -> Option<tokio::task::JoinHandle<()>> {
    let path = dir.root().join("control.sock");
    let _ = std::fs::remove_file(&path);
    let listener = match tokio::net::UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(
                "control socket {} unavailable: {e}; `mailflow queue` cannot reach this relay",
                path.display()
            );
            return None;
        }
    };
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    Some(tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // E.g. out of file descriptors: pause rather than spin.
                    tracing::warn!("control socket accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let services = services.clone();
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut lines = BufReader::new(r).lines();
                let Ok(Some(line)) = lines.next_line().await else {
                    return;
                };
                let reply = match ron::from_str::<QueueOp>(&line) {
                    Ok(op) => run_queue_op(&services, &op).await,
                    Err(e) => QueueReply::Error(format!("bad request: {e}")),
                };
                let text = ron::to_string(&reply).unwrap_or_else(|e| format!("Error(\"{e}\")"));
                let _ = w.write_all(format!("{text}\n").as_bytes()).await;
            });
        }
    }))
}

/// Sends an operation to a running relay; `None` when no relay answers on `dir`.
pub fn send(dir: &Path, op: &QueueOp) -> Option<QueueReply> {
    use std::io::{BufRead, Write};
    let path = dir.join("control.sock");
    let mut s = std::os::unix::net::UnixStream::connect(&path).ok()?;
    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(30)));
    let line = ron::to_string(op).ok()?;
    s.write_all(format!("{line}\n").as_bytes()).ok()?;
    let mut reader = std::io::BufReader::new(s);
    let mut answer = String::new();
    reader.read_line(&mut answer).ok()?;
    Some(
        ron::from_str(answer.trim())
            .unwrap_or_else(|e| QueueReply::Error(format!("unreadable reply from the relay: {e}"))),
    )
}
