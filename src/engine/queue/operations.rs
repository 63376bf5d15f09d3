//! The administrator's queue operations (Queue Viewer, `mailflow queue`): list queues and
//! messages, retry, suspend, resume, remove with or without NDR, and the quarantine — on the
//! running relay ([`run_queue_op`]) or on the spool while none runs ([`offline_queue_op`]).

use super::bookkeeping::{self as queue, QueueCore, QueueKey};
use super::handle::{load_queue, publish_queues};
use super::notices::store_notice_offline;
use super::persist::persist;
use crate::admin::Workspace;
use crate::engine::config::RunConfig;
use crate::engine::error::EngineError;
use crate::engine::monitor::QueueRow;
use crate::engine::services::{Services, lock_data_dir, open_tracking};
use crate::engine::tracking_events::release_event;
use crate::store::clock::now_ms;
use crate::store::spool::Spool;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

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
    /// The header section of a queued message, as stored (read from the spool).
    Headers {
        id: String,
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
    /// A message's header section, one field per line (control characters shown as `?`).
    Headers {
        id: String,
        text: String,
    },
    Done(String),
    Error(String),
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
        QueueOp::Quarantined | QueueOp::Release { .. } | QueueOp::Headers { .. } => (
            QueueReply::Error(
                "the quarantine and headers are read from the spool, not the queue".into(),
            ),
            none(),
        ),
    }
}

/// The header section of a stored message as text: unfolded lines as stored, control
/// characters shown as `?`, at most [`HEADER_TEXT_MAX`] bytes.
pub fn header_text(body: &[u8]) -> String {
    let whole = crate::smtp::headers::header_end(body);
    let end = whole.min(HEADER_TEXT_MAX);
    let text = String::from_utf8_lossy(&body[..end]);
    let mut out: Vec<String> = text
        .lines()
        .map(|l| crate::smtp::printable::printable(l.trim_end_matches('\r')).into_owned())
        .collect();
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    if whole > HEADER_TEXT_MAX {
        out.push(format!(
            "(… the header section goes on beyond {HEADER_TEXT_MAX} bytes)"
        ));
    }
    out.join("\n")
}

/// The most of a header section shown.
pub const HEADER_TEXT_MAX: usize = 64 * 1024;

/// The operations on the spool itself (blocking): the quarantine and a message's headers.
/// `None` for every other operation; a release answers with the message to queue (the caller
/// inserts it).
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
        QueueOp::Headers { id } => Some(match spool.read_body(id.trim()) {
            Ok(body) => (
                QueueReply::Headers {
                    id: id.trim().to_string(),
                    text: header_text(&body),
                },
                None,
            ),
            Err(e) => (
                QueueReply::Error(format!(
                    "the headers of message {id} cannot be read: {e}; `mailflow queue show` lists the queued messages"
                )),
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
pub async fn run_queue_op(services: &Arc<Services>, op: &QueueOp) -> QueueReply {
    let run = services.config();
    if matches!(
        op,
        QueueOp::Quarantined | QueueOp::Release { .. } | QueueOp::Headers { .. }
    ) {
        let (spool, op2) = (services.queue.spool.clone(), op.clone());
        let done = tokio::task::spawn_blocking(move || quarantine_op(&spool, &op2)).await;
        let Ok(Some((answer, released))) = done else {
            return QueueReply::Error("the quarantine operation failed to run".into());
        };
        if let Some(m) = released {
            services.tracking.record(release_event(&m.envelope));
            services.queue.lock().insert(m.envelope, m.state);
            services.queue.notify.notify_one();
            publish_queues(services, &run);
        }
        return answer;
    }
    let (answer, changes) = apply_queue_op(&mut services.queue.lock(), &run, op, now_ms());
    persist(services, &run, changes).await;
    services.queue.notify.notify_one();
    publish_queues(services, &run);
    answer
}

/// Queue operations while no relay runs: applied to the spool directly (the data directory is
/// locked meanwhile, so a relay cannot start in between).
pub fn offline_queue_op(workspace: &Workspace, op: &QueueOp) -> Result<QueueReply, EngineError> {
    let _lock = lock_data_dir(&workspace.dir)?;
    let run = RunConfig::build(workspace, time::OffsetDateTime::now_utc())?;
    let spool = Spool::open(workspace.dir.spool())?;
    if let Some((reply, released)) = quarantine_op(&spool, op) {
        if let Some(m) = released {
            let tracking = open_tracking(workspace, &run)?;
            tracking.record(release_event(&m.envelope));
            tracking.stop();
        }
        return Ok(reply);
    }
    let (mut core, _) = load_queue(&spool)?;
    // A queue's suspension lives in the running relay only: it would be lost here.
    if let QueueOp::Suspend { target } | QueueOp::Resume { target } = op
        && let Some(Target::Queue(_)) = target_of(&core, target)
    {
        return Err(EngineError::QueuesNeedTheRelay);
    }
    let (reply, changes) = apply_queue_op(&mut core, &run, op, now_ms());
    // As the running relay does: states (with the notices they owe) first, then each notice,
    // and a message leaves the spool only once its notice is stored.
    for (id, st) in &changes.save {
        spool.save_state(id, st)?;
    }
    let mut done = changes.done;
    if !changes.notices.is_empty() {
        let tracking = open_tracking(workspace, &run)?;
        let timing = queue::Timing::from(&run.checked);
        let mut failed = None;
        for n in &changes.notices {
            let stored = store_notice_offline(&spool, &run, n, &tracking);
            let after = core.notice_result(
                &n.envelope.id,
                n.seq,
                stored.as_ref().map(|_| ()),
                now_ms(),
                &timing,
            );
            for (id, st) in &after.save {
                spool.save_state(id, st)?;
            }
            done.extend(after.done);
            if let Err(e) = stored {
                failed.get_or_insert(EngineError::NoticeNotStored {
                    id: n.envelope.id.clone(),
                    why: Box::new(e),
                });
            }
        }
        tracking.stop();
        if let Some(e) = failed {
            for id in &done {
                spool.remove(id)?;
            }
            return Err(e);
        }
    }
    for id in &done {
        spool.remove(id)?;
    }
    Ok(reply)
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_header_section_is_shown_without_the_body_and_without_controls() {
        let msg = b"Subject: hello\r\nX-Odd: a\x1bb\r\n\tfolded\r\n\r\nsecret body\r\n";
        let text = header_text(msg);
        assert_eq!(text, "Subject: hello\nX-Odd: a?b\n\tfolded");
        let mut long = Vec::new();
        for i in 0..5000 {
            long.extend_from_slice(format!("X-Field-{i}: some value here\r\n").as_bytes());
        }
        long.extend_from_slice(b"\r\nbody");
        let text = header_text(&long);
        assert!(
            text.ends_with(&format!("beyond {HEADER_TEXT_MAX} bytes)")),
            "said"
        );
        assert!(text.len() <= HEADER_TEXT_MAX + 100);
    }
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
        let workspace = Workspace::open(&dir).unwrap();
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
            let err = offline_queue_op(&workspace, &op).unwrap_err();
            assert!(matches!(err, EngineError::QueuesNeedTheRelay), "{err}");
        }
        // An id that is not queued is neither.
        let id = crate::smtp::envelope::new_message_id([7; 16]);
        match offline_queue_op(&workspace, &QueueOp::Suspend { target: id }) {
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
