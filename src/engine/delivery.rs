//! The delivery side: the queue over the spool (`QueueHandle`), the scheduler that hands due
//! work to local delivery and to outbound sessions, and the bookkeeping after each job —
//! states saved, finished messages removed, tracking events, NDRs and delay notices.

use super::config::{RunConfig, SendRuntime};
use super::outbound::{RemoteJob, deliver as deliver_remote};
use super::queue::{Changes, Job, Notice, Outcome, QueueCore, QueueKey, Timing};
use super::{Services, now_ms};
use crate::policy::outbound::requirement;
use crate::smtp::address::ReversePath;
use crate::smtp::dsn::{self, DsnInput, DsnKind, DsnRecipient};
use crate::smtp::envelope::{Envelope, new_message_id};
use crate::smtp::evidence::{Direction, HopEvidence, SecurityStatus};
use crate::smtp::replies;
use crate::smtp::reply::ReplyReader;
use crate::store::StoreError;
use crate::store::spool::{DeliveryState, Spool};
use crate::store::tracking::{EventKind, TrackingEvent};
use std::collections::HashMap;
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
    fn write(&self, save: &[String], done: &[String]) {
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

    /// Stores a message durably (fsynced before this returns `Ok`) and queues it.
    pub async fn accept(&self, envelope: Envelope, body: Vec<u8>) -> Result<(), String> {
        self.store(envelope, body).await.map_err(|e| e.to_string())
    }

    /// [`Self::accept`] with the spool's own error, so a caller can tell a duplicate id.
    async fn store(&self, envelope: Envelope, body: Vec<u8>) -> Result<(), StoreError> {
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

fn sender_text(s: &ReversePath) -> String {
    s.to_string()
}

/// Saves, notifies and removes as the changes say (blocking file work off the runtime).
/// States first, so a notice a message owes is on disk before it is tried; then each notice,
/// and the message it is about leaves the spool only once the notice is stored (a notice
/// that cannot be stored, e.g. on a full disk, is retried and its original stays queued).
pub async fn persist(svc: &Arc<Services>, run: &Arc<RunConfig>, changes: Changes) {
    if changes.save.is_empty() && changes.done.is_empty() && changes.notices.is_empty() {
        return;
    }
    write(svc, changes.save, changes.done).await;
    let timing = Timing::from(&run.checked);
    for n in changes.notices {
        let result = send_notice(svc, run, &n).await;
        let after =
            svc.queue
                .lock()
                .notice_result(&n.envelope.id, n.seq, result, now_ms(), &timing);
        write(svc, after.save, after.done).await;
    }
}

async fn write(svc: &Arc<Services>, save: Vec<(String, DeliveryState)>, done: Vec<String>) {
    if save.is_empty() && done.is_empty() {
        return;
    }
    let queue = svc.queue.clone();
    let save: Vec<String> = save.into_iter().map(|(id, _)| id).collect();
    let _ = tokio::task::spawn_blocking(move || queue.write(&save, &done)).await;
}

/// Builds and stores an NDR or delay notice (never for the null sender: `Ok` with nothing
/// stored). `Err` says why it could not be stored; the caller keeps the original and retries.
async fn send_notice(svc: &Arc<Services>, run: &Arc<RunConfig>, n: &Notice) -> Result<(), String> {
    let what = if n.kind == DsnKind::Failure {
        "NDR"
    } else {
        "delay notice"
    };
    let spool = svc.queue.spool.clone();
    let id = n.envelope.id.clone();
    let read = tokio::task::spawn_blocking(move || spool.read_body(&id))
        .await
        .map_err(|e| format!("the {what} could not be built: {e}"))?;
    let original = match read {
        Ok(b) => b,
        // A damaged (or vanished) original: the sender is told all the same, without it.
        Err(StoreError::Corrupt { .. }) => Vec::new(),
        Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Vec::new()
        }
        Err(e) => {
            let why = format!(
                "451 4.3.0 the {what} could not be built: the message cannot be read from the spool now ({e}); it is retried"
            );
            tracing::warn!("message {}: {why}", n.envelope.id);
            return Err(why);
        }
    };
    let Some((env, body, event)) = build_notice(run, n, &original) else {
        return Ok(());
    };
    match svc.queue.store(env, body).await {
        Ok(()) => {
            svc.tracking.record(event);
            Ok(())
        }
        // Stored before a crash came between storing it and saving that it was.
        Err(StoreError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::AlreadyExists =>
        {
            Ok(())
        }
        Err(e) => {
            let why = format!(
                "452 4.3.1 the {what} could not be stored in the queue ({e}); the message stays queued until it is"
            );
            tracing::error!("message {}: {why}", n.envelope.id);
            Err(why)
        }
    }
}

/// [`send_notice`] for a queue operation while no relay runs (blocking, on the spool).
pub fn store_notice_offline(
    spool: &Spool,
    run: &RunConfig,
    n: &Notice,
    tracking: &crate::store::tracking::TrackingWriter,
) -> Result<(), String> {
    let original = match spool.read_body(&n.envelope.id) {
        Ok(b) => b,
        Err(StoreError::Corrupt { .. }) => Vec::new(),
        Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Vec::new()
        }
        Err(e) => return Err(format!("the NDR could not be built: {e}")),
    };
    let Some((env, body, event)) = build_notice(run, n, &original) else {
        return Ok(());
    };
    match spool.accept(&env, &body) {
        Ok(()) => {
            tracking.record(event);
            Ok(())
        }
        Err(StoreError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::AlreadyExists =>
        {
            Ok(())
        }
        Err(e) => Err(format!(
            "452 4.3.1 the NDR could not be stored in the queue ({e}); the message stays queued until it is"
        )),
    }
}

/// The tracking event of a message released from the quarantine.
pub fn release_event(env: &Envelope) -> TrackingEvent {
    let mut ev = event(
        EventKind::Release,
        env,
        env.recipients.clone(),
        None,
        env.inbound.security,
        "250 2.0.0 released from the quarantine by the administrator".into(),
        None,
    );
    ev.connector = Some(env.inbound.connector.clone());
    ev
}

/// The message id of a notice: derived from the original's id, the kind and the recipients
/// it reports (each recipient is reported once per kind), so storing it a second time after a
/// crash is refused as a duplicate instead of sending the sender two.
fn notice_id(n: &Notice) -> String {
    let mut text = format!("{}\n{:?}", n.envelope.id, n.kind);
    for (addr, _) in &n.recipients {
        text.push('\n');
        text.push_str(addr);
    }
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest.as_ref()[..16]);
    new_message_id(id)
}

/// The DSN message for a notice, its envelope (null sender, to the original sender) and the
/// tracking event; `None` for a null original sender (no DSN about a DSN).
pub fn build_notice(
    run: &RunConfig,
    n: &Notice,
    original: &[u8],
) -> Option<(Envelope, Vec<u8>, TrackingEvent)> {
    let what = if n.kind == DsnKind::Failure {
        "NDR"
    } else {
        "delay notice"
    };
    let ReversePath::Mailbox(sender) = &n.envelope.sender else {
        tracing::info!(
            "no {what} for message {}: its sender is null",
            n.envelope.id
        );
        return None;
    };
    let dsn_id = notice_id(n);
    let now = time::OffsetDateTime::now_utc();
    let arrival = time::OffsetDateTime::from_unix_timestamp_nanos(
        i128::from(n.envelope.received) * 1_000_000,
    )
    .unwrap_or(now);
    let timing = Timing::from(&run.checked);
    let recipients: Vec<DsnRecipient> = n
        .recipients
        .iter()
        .map(|(addr, resp)| {
            let mut rd = ReplyReader::default();
            rd.push(format!("{resp}\r\n").as_bytes());
            let reply = rd
                .next_reply()
                .ok()
                .flatten()
                .unwrap_or_else(|| replies::unparsed_failure(resp));
            DsnRecipient {
                address: addr.clone(),
                reply,
                remote_mta: None,
            }
        })
        .collect();
    let body = dsn::build(&DsnInput {
        kind: n.kind,
        reporting_mta: run.fqdn(),
        original_sender: &sender.to_string(),
        original_id: &n.envelope.id,
        arrival,
        now,
        retry_until: (n.kind == DsnKind::Delay)
            .then(|| arrival + time::Duration::milliseconds(timing.expiration_ms)),
        recipients: &recipients,
        original,
        dsn_id: &dsn_id,
    });
    let env = Envelope {
        id: dsn_id.clone(),
        sender: ReversePath::Null,
        recipients: vec![sender.to_string()],
        received: now_ms(),
        size: body.len() as u64,
        message_id: Some(format!("<{dsn_id}@{}>", run.fqdn())),
        subject: crate::smtp::headers::header_value(&body, "Subject"),
        eight_bit: false,
        smtputf8: false,
        inbound: HopEvidence {
            direction: Direction::Inbound,
            time: now_ms(),
            connector: "Mailflow".into(),
            local: String::new(),
            remote: String::new(),
            peer_name: run.fqdn().to_string(),
            tls: None,
            security: SecurityStatus::Plaintext,
            policy: "generated by Mailflow (no network hop)".into(),
            auth_domain: None,
            auth_mechanism: None,
        },
    };
    let event = TrackingEvent {
        time: now_ms(),
        kind: EventKind::Dsn,
        internal_id: n.envelope.id.clone(),
        message_id: n.envelope.message_id.clone(),
        sender: sender_text(&n.envelope.sender),
        recipients: n.recipients.iter().map(|(a, _)| a.clone()).collect(),
        subject: n.envelope.subject.clone(),
        size: n.envelope.size,
        client: None,
        server: None,
        connector: None,
        tls: None,
        security: n.envelope.inbound.security,
        response: n.recipients.first().map(|(_, r)| r.clone()),
        detail: Some(format!("{what} {dsn_id} sent to {sender}")),
    };
    Some((env, body, event))
}

fn event(
    kind: EventKind,
    env: &Envelope,
    rcpts: Vec<String>,
    hop: Option<&HopEvidence>,
    security: SecurityStatus,
    response: String,
    detail: Option<String>,
) -> TrackingEvent {
    TrackingEvent {
        time: now_ms(),
        kind,
        internal_id: env.id.clone(),
        message_id: env.message_id.clone(),
        sender: env.sender.to_string(),
        recipients: rcpts,
        subject: env.subject.clone(),
        size: env.size,
        client: hop.map(|h| h.local.clone()),
        server: hop.map(|h| h.remote.clone()),
        connector: hop.map(|h| h.connector.clone()),
        tls: hop.and_then(|h| h.tls.clone()),
        security,
        response: Some(response),
        detail,
    }
}

/// Runs one job and applies its results.
pub async fn run_job(svc: Arc<Services>, run: Arc<RunConfig>, job: Job) {
    let mut outcomes: HashMap<(String, String), Outcome> = HashMap::new();
    let mut queue_error = None;
    let mut connection_failure = false;
    let loaded = read_bodies(&svc, &job, &mut outcomes).await;
    if loaded.is_empty() {
        // Nothing readable: no connection for nothing.
        finish(&svc, &run, &job, outcomes, None, false).await;
        return;
    }
    match &job.key {
        QueueKey::Local => {
            for (env, rcpts, body) in &loaded {
                for rcpt in rcpts {
                    let mailboxes = run.data_dir.mailboxes();
                    let line = security_line(env);
                    let (e2, b2, r2, host) = (
                        env.clone(),
                        body.clone(),
                        rcpt.clone(),
                        run.fqdn().to_string(),
                    );
                    let res = tokio::task::spawn_blocking(move || {
                        super::local::deliver(&mailboxes, &r2, &e2, &b2, &line, &host)
                    })
                    .await;
                    match res {
                        Ok(Ok(path)) => {
                            let resp = "250 2.0.0 delivered to mailbox".to_string();
                            let mut ev = event(
                                EventKind::Deliver,
                                env,
                                vec![rcpt.clone()],
                                None,
                                env.inbound.security,
                                resp.clone(),
                                Some(format!("{}; {}", env.inbound.policy, path.display())),
                            );
                            ev.client = Some(env.inbound.remote.clone()).filter(|r| !r.is_empty());
                            ev.connector = Some(env.inbound.connector.clone());
                            ev.tls = env.inbound.tls.clone();
                            svc.tracking.record(ev);
                            svc.live
                                .count_message(env.inbound.security, |c| c.delivered_local += 1);
                            outcomes
                                .insert((env.id.clone(), rcpt.clone()), Outcome::Delivered(resp));
                        }
                        Ok(Err(why)) => {
                            let resp = format!("451 4.3.0 {why}");
                            svc.tracking.record(event(
                                EventKind::Defer,
                                env,
                                vec![rcpt.clone()],
                                None,
                                env.inbound.security,
                                resp.clone(),
                                None,
                            ));
                            outcomes
                                .insert((env.id.clone(), rcpt.clone()), Outcome::Deferred(resp));
                        }
                        Err(e) => {
                            queue_error = Some(format!("451 4.3.0 local delivery task failed: {e}"))
                        }
                    }
                }
            }
        }
        // Never handed out as a job: owed notices are stored by `persist`.
        QueueKey::Notices => {}
        QueueKey::Unreachable { domain } => {
            queue_error = Some(format!(
                "451 4.4.4 no enabled send connector covers {domain}: add an address space for it"
            ));
            connection_failure = true;
        }
        QueueKey::Remote { connector, domain } => {
            // Each batch reads the settings as they are when it starts, not as they were when
            // the scheduler handed it out (the send list, certificates, roots: issue 9 §6);
            // the outbound session checks them again before each message.
            let run = svc.config();
            let sc = match send_connector(&run, connector) {
                Ok(sc) => sc,
                Err(why) => {
                    finish(&svc, &run, &job, outcomes, Some(why), true).await;
                    return;
                }
            };
            let req = requirement(domain, sc.index, &run.checked);
            let current = || svc.config();
            let result = deliver_remote(RemoteJob {
                run: run.clone(),
                current: &current,
                connector: sc,
                domain: domain.clone(),
                requirement: req,
                messages: loaded.clone(),
                live: svc.live.clone(),
                log: Some(svc.log.clone()),
            })
            .await;
            let hop = result.hop.clone();
            let security = hop
                .as_ref()
                .map(|h| h.security)
                .unwrap_or(SecurityStatus::Plaintext);
            for (env, rcpts, _) in &loaded {
                let mut by_kind: HashMap<&'static str, (Vec<String>, String)> = HashMap::new();
                for rcpt in rcpts {
                    let o = result
                        .outcomes
                        .get(&(env.id.clone(), rcpt.clone()))
                        .cloned();
                    let (k, resp) = match &o {
                        Some(Outcome::Delivered(r)) => ("send", r.clone()),
                        Some(Outcome::Deferred(r)) => ("defer", r.clone()),
                        Some(Outcome::Failed(r)) => ("fail", r.clone()),
                        None => (
                            "defer",
                            result
                                .error
                                .clone()
                                .unwrap_or_else(|| "451 4.4.0 not attempted".into()),
                        ),
                    };
                    let entry = by_kind.entry(k).or_insert_with(|| (Vec::new(), resp));
                    entry.0.push(rcpt.clone());
                    if let Some(o) = o {
                        outcomes.insert((env.id.clone(), rcpt.clone()), o);
                    }
                }
                for (k, (rs, resp)) in by_kind {
                    let kind = match k {
                        "send" => EventKind::Send,
                        "fail" => EventKind::Fail,
                        _ => EventKind::Defer,
                    };
                    let detail = hop
                        .as_ref()
                        .map(|h| format!("{}; {}", h.policy, h.tls_summary()));
                    // Each event carries the status of its own hop; the console shows the
                    // message's overall status as its weakest hop.
                    svc.tracking
                        .record(event(kind, env, rs, hop.as_ref(), security, resp, detail));
                    match kind {
                        EventKind::Send => svc.live.count_message(security, |c| c.sent += 1),
                        EventKind::Fail => svc.live.count(|c| c.failed += 1),
                        _ => svc.live.count(|c| c.deferred += 1),
                    }
                }
            }
            queue_error = result.error.clone();
            connection_failure = result.connection_failure && result.outcomes.is_empty();
        }
    }
    finish(&svc, &run, &job, outcomes, queue_error, connection_failure).await;
}

/// A message of a job with its body, read from the spool.
type Loaded = (Arc<Envelope>, Vec<String>, Arc<Vec<u8>>);

/// Reads the bodies of a job's messages. Only a message the spool finds damaged
/// ([`StoreError::Corrupt`]: checksum, length, format) is quarantined, with a tracking event;
/// any other error (out of file descriptors, EIO, …) is the system's, not the message's: its
/// recipients in this job are deferred with the reason and retried. A quarantine that fails
/// leaves the message queued (deferred), never on disk but forgotten.
async fn read_bodies(
    svc: &Arc<Services>,
    job: &Job,
    outcomes: &mut HashMap<(String, String), Outcome>,
) -> Vec<Loaded> {
    let mut loaded = Vec::new();
    for (env, rcpts) in &job.items {
        let spool = svc.queue.spool.clone();
        let id = env.id.clone();
        let read = match tokio::task::spawn_blocking(move || spool.read_body(&id)).await {
            Ok(r) => r,
            Err(e) => Err(StoreError::io(
                svc.queue.spool.root(),
                std::io::Error::other(format!("the spool read task failed: {e}")),
            )),
        };
        let defer = match read {
            Ok(body) => {
                loaded.push((env.clone(), rcpts.clone(), Arc::new(body)));
                continue;
            }
            Err(StoreError::Corrupt { why, .. }) => match quarantine(svc, env, &why).await {
                Ok(()) => continue,
                Err(e) => format!(
                    "451 4.3.0 the message is damaged in the spool ({why}) and could not be quarantined ({e}); it stays queued"
                ),
            },
            Err(e) => format!(
                "451 4.3.0 the message could not be read from the spool ({e}); it stays queued and is retried"
            ),
        };
        tracing::warn!("message {}: {defer}", env.id);
        svc.tracking.record(event(
            EventKind::Defer,
            env,
            rcpts.clone(),
            None,
            env.inbound.security,
            defer.clone(),
            None,
        ));
        for rcpt in rcpts {
            outcomes.insert(
                (env.id.clone(), rcpt.clone()),
                Outcome::Deferred(defer.clone()),
            );
        }
    }
    loaded
}

/// Moves a damaged message to the quarantine and out of the queue, and tracks it.
async fn quarantine(svc: &Arc<Services>, env: &Envelope, why: &str) -> Result<(), String> {
    let spool = svc.queue.spool.clone();
    let (id, reason) = (env.id.clone(), why.to_string());
    let moved = tokio::task::spawn_blocking(move || {
        // A move that failed after the message left the queue (a folder fsync) still moved
        // it: the queue must not keep waiting for a file that is in the quarantine.
        spool
            .quarantine(&id, &reason)
            .or_else(|e| match spool.is_queued(&id) {
                true => Err(e),
                false => Ok(spool.root().join("quarantine")),
            })
    })
    .await
    .map_err(|e| e.to_string())?;
    let path = moved.map_err(|e| e.to_string())?;
    tracing::warn!(
        "message {} is damaged in the spool ({why}) and was quarantined as {}",
        env.id,
        path.display()
    );
    svc.queue.lock().forget(&env.id);
    let mut ev = event(
        EventKind::Quarantine,
        env,
        env.recipients.clone(),
        None,
        env.inbound.security,
        format!("554 5.3.0 the message is damaged in the spool: {why}"),
        Some(format!(
            "moved to {}; `mailflow queue quarantine` lists it, `mailflow queue release` puts it back",
            path.display()
        )),
    );
    ev.connector = Some(env.inbound.connector.clone());
    svc.tracking.record(ev);
    Ok(())
}

/// The send connector a remote queue names, or the deferral when it is gone (the settings
/// changed): never another connector in its place (another certificate, other smart hosts).
fn send_connector<'a>(run: &'a RunConfig, name: &str) -> Result<&'a SendRuntime, String> {
    run.send
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| format!("451 4.4.0 send connector '{name}' no longer exists"))
}

async fn finish(
    svc: &Arc<Services>,
    run: &Arc<RunConfig>,
    job: &Job,
    outcomes: HashMap<(String, String), Outcome>,
    queue_error: Option<String>,
    connection_failure: bool,
) {
    let timing = Timing::from(&run.checked);
    let changes = svc.queue.lock().complete(
        job,
        &outcomes,
        queue_error,
        connection_failure,
        now_ms(),
        &timing,
    );
    persist(svc, run, changes).await;
    svc.queue.notify.notify_one();
}

/// The `X-Mailflow-Security:` line written into a delivered message.
fn security_line(env: &Envelope) -> String {
    let h = &env.inbound;
    let mut line = format!("X-Mailflow-Security: {}", h.security.label());
    if let Some(t) = &h.tls {
        line.push_str(&format!("; {} {} ({} TLS)", t.version, t.cipher, t.trust));
        if let Some(c) = &t.peer_certificate {
            line.push_str(&format!(
                "; peer \"{}\" issued by \"{}\" thumbprint {}",
                c.subject, c.issuer, c.thumbprint
            ));
        }
    }
    if let Some(d) = &h.auth_domain {
        line.push_str(&format!("; partner {d}"));
    }
    line.push_str(&format!("; policy {}", h.policy));
    line
}

/// The scheduler: hands out due work, sleeps until the next due time or a wake-up.
pub async fn scheduler(svc: Arc<Services>) {
    let mut shutdown = svc.shutdown.clone();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let run = svc.config();
        let timing = Timing::from(&run.checked);
        let now = now_ms();
        let per_conn = |name: &str| {
            run.send
                .iter()
                .find(|s| s.name == name)
                .map(|s| s.settings.smtp_max_messages_per_connection as usize)
                .unwrap_or(20)
        };
        let due = svc
            .queue
            .lock()
            .take_due(now, &run.checked, &timing, per_conn);
        persist(&svc, &run, due.changes).await;
        for job in due.jobs {
            let (svc2, run2) = (svc.clone(), run.clone());
            svc.jobs
                .spawn(async move { run_job(svc2, run2, job).await });
        }
        publish_queues(&svc, &run);
        // Only what would be handed out counts (not a suspended queue's mail); accepted
        // messages, job reports and queue operations wake the scheduler.
        let wait = match due.next_wake {
            Some(t) if t <= now => std::time::Duration::from_millis(50),
            Some(t) => std::time::Duration::from_millis((t - now).clamp(10, 30_000) as u64),
            None => std::time::Duration::from_secs(30),
        };
        tokio::select! {
            _ = svc.queue.notify.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Puts the queue overview into the live snapshot.
pub fn publish_queues(svc: &Services, run: &RunConfig) {
    let now = now_ms();
    let core = svc.queue.lock();
    let rows = core
        .queues(&run.checked, now)
        .into_iter()
        .map(Into::into)
        .collect();
    let n = core.len();
    drop(core);
    svc.live.set_queues(rows, n);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::{self, Workspace};
    use crate::store::DataDir;
    use time::OffsetDateTime;

    fn run_config(tmp: &std::path::Path) -> RunConfig {
        let dir = DataDir::new(tmp);
        let now = OffsetDateTime::now_utc();
        admin::init(&dir, "Contoso", "mail.contoso.test", "contoso.test", now).unwrap();
        let mut ws = Workspace::open(&dir).unwrap();
        let mut second = ws.settings.send_connectors[0].clone();
        second.name = "Partners".into();
        ws.settings.send_connectors.push(second);
        RunConfig::build(&ws, now).unwrap()
    }

    /// A queue's connector is found by name, never replaced by another one.
    #[test]
    fn a_queue_uses_its_own_send_connector_or_waits() {
        let tmp = tempfile::tempdir().unwrap();
        let run = run_config(tmp.path());
        for name in ["Outbound", "Partners"] {
            assert_eq!(
                send_connector(&run, name).map(|s| s.name.as_str()),
                Ok(name)
            );
        }
        assert_eq!(
            send_connector(&run, "Gone").map(|s| s.name.as_str()),
            Err("451 4.4.0 send connector 'Gone' no longer exists".to_string())
        );
    }
}
