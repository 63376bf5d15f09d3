//! The control socket `<data-dir>/control.sock`: while a relay runs, `mailflow queue ...`
//! sends one queue operation and `mailflow test-message` one test message (a RON line each)
//! and reads one reply (a RON line). Only the local user can reach it (mode 0600).

use super::queue::operations::{QueueOp, QueueReply, run_queue_op};
use super::services::Services;
use super::test_message::{TestMessage, TestReport};
use crate::store::DataDir;
use serde::{Deserialize, Serialize};
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
                let text = match ron::from_str::<Request>(&line) {
                    Ok(Request::Queue(op)) => ron::to_string(&run_queue_op(&services, &op).await),
                    Ok(Request::TestMessage(req)) => {
                        ron::to_string(&super::test_message::send(&services, &req).await)
                    }
                    Err(e) => ron::to_string(&QueueReply::Error(format!("bad request: {e}"))),
                }
                .unwrap_or_else(|e| format!("Error(\"{e}\")"));
                let _ = w.write_all(format!("{text}\n").as_bytes()).await;
            });
        }
    }))
}

/// What a client asks over the socket.
#[derive(Serialize, Deserialize)]
enum Request {
    Queue(QueueOp),
    TestMessage(TestMessage),
}

/// Sends an operation to a running relay; `None` when no relay answers on `dir`.
pub fn send(dir: &Path, op: &QueueOp) -> Option<QueueReply> {
    let answer = exchange(
        dir,
        &Request::Queue(op.clone()),
        std::time::Duration::from_secs(30),
    )?;
    Some(
        ron::from_str(answer.trim())
            .unwrap_or_else(|e| QueueReply::Error(format!("unreadable reply from the relay: {e}"))),
    )
}

/// Sends a test message through a running relay; `None` when no relay answers on `dir`. It
/// waits as long as the delivery may take (every host of the route, each with its timeouts).
pub fn send_test_message(dir: &Path, req: &TestMessage) -> Option<Result<TestReport, String>> {
    let answer = exchange(
        dir,
        &Request::TestMessage(req.clone()),
        std::time::Duration::from_secs(600),
    )?;
    Some(
        ron::from_str::<Result<TestReport, String>>(answer.trim())
            .unwrap_or_else(|e| Err(format!("unreadable reply from the relay: {e}"))),
    )
}

/// One request and its one-line answer.
fn exchange(dir: &Path, request: &Request, wait: std::time::Duration) -> Option<String> {
    use std::io::{BufRead, Write};
    let path = dir.join("control.sock");
    let mut s = std::os::unix::net::UnixStream::connect(&path).ok()?;
    let _ = s.set_read_timeout(Some(wait));
    let line = ron::to_string(request).ok()?;
    s.write_all(format!("{line}\n").as_bytes()).ok()?;
    let mut reader = std::io::BufReader::new(s);
    let mut answer = String::new();
    reader.read_line(&mut answer).ok()?;
    Some(answer)
}
