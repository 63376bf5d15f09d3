//! The delivery side: the scheduler that hands due work from the queue to local delivery and
//! to outbound sessions, and what happens after each job (tracking events, the outcomes
//! reported to the queue and saved by `queue::persist`). The queue itself — storing a message,
//! notices, saving states — is in `engine::queue`, whose doc walks a message's path.

use super::config::{RunConfig, SendRuntime};
use super::error::EngineError;
use super::outbound::{RemoteJob, deliver as deliver_remote};
use super::queue::handle::publish_queues;
use super::queue::persist::persist;
use super::queue::{Failure, Job, Outcome, QueueKey, Timing};
use super::services::Services;
use super::tracking_events::event;
use crate::policy::outbound::{MessageTls, requirement};
use crate::smtp::envelope::Envelope;
use crate::smtp::evidence::SecurityStatus;
use crate::smtp::replies;
use crate::store::StoreError;
use crate::store::clock::now_ms;
use crate::store::tracking::EventKind;
use std::collections::HashMap;
use std::sync::Arc;

/// Runs one job and applies its results.
pub async fn run_job(services: Arc<Services>, run: Arc<RunConfig>, job: Job) {
    let mut outcomes: HashMap<(String, String), Outcome> = HashMap::new();
    let mut queue_error = None;
    let mut failure = Failure::Transient;
    let loaded = read_bodies(&services, &job, &mut outcomes).await;
    if loaded.is_empty() {
        // Nothing readable: no connection for nothing.
        finish(&services, &run, &job, outcomes, None, Failure::Transient).await;
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
                    let report_to =
                        super::tls_reports::is_report_address(&run.checked.settings, rcpt)
                            .then(|| run.data_dir.clone());
                    let res = tokio::task::spawn_blocking(move || {
                        let path = super::local::deliver(&mailboxes, &r2, &e2, &b2, &line, &host)?;
                        // A TLS report to our reporting address is read and kept as well.
                        let report =
                            report_to.map(|dir| super::tls_reports::receive(&dir, &b2, now_ms()));
                        Ok::<_, EngineError>((path, report))
                    })
                    .await;
                    match res {
                        Ok(Ok((path, report))) => {
                            let report = match report {
                                Some(Ok(what)) | Some(Err(what)) => format!("; {what}"),
                                None => String::new(),
                            };
                            let resp = replies::DELIVERED_TO_MAILBOX.reply().one_line();
                            let mut ev = event(
                                EventKind::Deliver,
                                env,
                                vec![rcpt.clone()],
                                None,
                                env.inbound.security,
                                resp.clone(),
                                Some(format!(
                                    "{}; {}{report}",
                                    env.inbound.policy,
                                    path.display()
                                )),
                            );
                            ev.client = Some(env.inbound.remote.clone()).filter(|r| !r.is_empty());
                            ev.connector = Some(env.inbound.connector.clone());
                            ev.tls = env.inbound.tls.clone();
                            services.tracking.record(ev);
                            services
                                .live
                                .count_message(env.inbound.security, |c| c.delivered_local += 1);
                            outcomes
                                .insert((env.id.clone(), rcpt.clone()), Outcome::Delivered(resp));
                        }
                        Ok(Err(why)) => {
                            let resp = replies::mail_system_deferred(&why.to_string()).one_line();
                            services.tracking.record(event(
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
                            queue_error = Some(
                                replies::mail_system_deferred(&format!(
                                    "local delivery task failed: {e}"
                                ))
                                .one_line(),
                            )
                        }
                    }
                }
            }
        }
        // Never handed out as a job: owed notices are stored by `persist`.
        QueueKey::Notices => {}
        QueueKey::Unreachable { domain } => {
            queue_error = Some(replies::no_enabled_send_connector(domain).one_line());
            failure = Failure::Connection;
        }
        QueueKey::Remote { connector, domain } => {
            // Each batch reads the settings as they are when it starts, not as they were when
            // the scheduler handed it out (the send list, certificates, roots: issue 9 §6);
            // the outbound session checks them again before each message.
            let run = services.config();
            let send_connector = match send_connector(&run, connector) {
                Ok(send_connector) => send_connector,
                Err(why) => {
                    finish(
                        &services,
                        &run,
                        &job,
                        outcomes,
                        Some(why.to_string()),
                        Failure::Connection,
                    )
                    .await;
                    return;
                }
            };
            let req = requirement(domain, send_connector.index, &run.checked);
            let current = || services.config();
            let dns = || services.dns_now();
            // Messages that ask alike of TLS (REQUIRETLS, `TLS-Required: No`, nothing) go
            // together: one connection's policy cannot suit both kinds.
            let mut groups: Vec<(MessageTls, Vec<Loaded>)> = Vec::new();
            for item in &loaded {
                let asks = MessageTls::of(
                    item.0.require_tls,
                    crate::smtp::headers::header_value(&item.2, "TLS-Required").as_deref(),
                );
                match groups.iter_mut().find(|(t, _)| *t == asks) {
                    Some((_, group)) => group.push(item.clone()),
                    None => groups.push((asks, vec![item.clone()])),
                }
            }
            let mut errors = Vec::new();
            let mut only_connection_failures = true;
            for (message_tls, group) in groups {
                let result = deliver_remote(RemoteJob {
                    run: run.clone(),
                    current: &current,
                    connector: send_connector,
                    domain: domain.clone(),
                    requirement: req.clone(),
                    messages: group.clone(),
                    message_tls,
                    live: services.live.clone(),
                    log: Some(services.log.clone()),
                    dns: &dns,
                    mta_sts: &services.mta_sts,
                    host_health: &services.host_health,
                    only_host: None,
                })
                .await;
                // A TLS report's own delivery is never counted in a report (no report loops).
                let reports_only = group.iter().all(|(_, _, body)| {
                    crate::smtp::headers::header_value(body, super::tls_reports::REPORT_HEADER)
                        .is_some()
                });
                if !reports_only {
                    super::tls_reports::record(&services, result.tls_outcomes.clone());
                }
                record_outcomes(&services, &group, &result, &mut outcomes, None);
                if let Some(e) = result.error.clone() {
                    errors.push(e);
                }
                if !(result.connection_failure && result.outcomes.is_empty()) {
                    only_connection_failures = false;
                }
            }
            queue_error = (!errors.is_empty()).then(|| errors.join("; "));
            if only_connection_failures && queue_error.is_some() {
                failure = Failure::Connection;
            }
        }
    }
    finish(&services, &run, &job, outcomes, queue_error, failure).await;
}

/// A message of a job with its body, read from the spool.
pub(crate) type Loaded = (Arc<Envelope>, Vec<String>, Arc<Vec<u8>>);

/// Reads the bodies of a job's messages. Only a message the spool finds damaged
/// ([`StoreError::Corrupt`]: checksum, length, format) is quarantined, with a tracking event;
/// any other error (out of file descriptors, EIO, …) is the system's, not the message's: its
/// recipients in this job are deferred with the reason and retried. A quarantine that fails
/// leaves the message queued (deferred), never on disk but forgotten.
async fn read_bodies(
    services: &Arc<Services>,
    job: &Job,
    outcomes: &mut HashMap<(String, String), Outcome>,
) -> Vec<Loaded> {
    let mut loaded = Vec::new();
    for (env, rcpts) in &job.items {
        let spool = services.queue.spool.clone();
        let id = env.id.clone();
        let read = match tokio::task::spawn_blocking(move || spool.read_body(&id)).await {
            Ok(r) => r,
            Err(e) => Err(StoreError::io(
                services.queue.spool.root(),
                std::io::Error::other(format!("the spool read task failed: {e}")),
            )),
        };
        let defer = match read {
            Ok(body) => {
                loaded.push((env.clone(), rcpts.clone(), Arc::new(body)));
                continue;
            }
            Err(StoreError::Corrupt { why, .. }) => match quarantine(services, env, &why).await {
                Ok(()) => continue,
                Err(e) => replies::mail_system_deferred(&format!(
                    "the message is damaged in the spool ({why}) and could not be quarantined ({e}); it stays queued"
                ))
                .one_line(),
            },
            Err(e) => replies::mail_system_deferred(&format!(
                "the message could not be read from the spool ({e}); it stays queued and is retried"
            ))
            .one_line(),
        };
        tracing::warn!("message {}: {defer}", env.id);
        services.tracking.record(event(
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
async fn quarantine(
    services: &Arc<Services>,
    env: &Envelope,
    why: &str,
) -> Result<(), EngineError> {
    let spool = services.queue.spool.clone();
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
    .map_err(|source| EngineError::Task {
        what: "moving a damaged message into the quarantine",
        source,
    })?;
    let path = moved?;
    tracing::warn!(
        "message {} is damaged in the spool ({why}) and was quarantined as {}",
        env.id,
        path.display()
    );
    services.queue.lock().forget(&env.id);
    let mut ev = event(
        EventKind::Quarantine,
        env,
        env.recipients.clone(),
        None,
        env.inbound.security,
        replies::damaged_in_spool(why).one_line(),
        Some(format!(
            "moved to {}; `mailflow queue quarantine` lists it, `mailflow queue release` puts it back",
            path.display()
        )),
    );
    ev.connector = Some(env.inbound.connector.clone());
    services.tracking.record(ev);
    Ok(())
}

/// The send connector a remote queue names, or the deferral when it is gone (the settings
/// changed): never another connector in its place (another certificate, other smart hosts).
fn send_connector<'a>(run: &'a RunConfig, name: &str) -> Result<&'a SendRuntime, EngineError> {
    run.send
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| EngineError::SendConnectorGone(name.to_string()))
}

async fn finish(
    services: &Arc<Services>,
    run: &Arc<RunConfig>,
    job: &Job,
    outcomes: HashMap<(String, String), Outcome>,
    queue_error: Option<String>,
    failure: Failure,
) {
    let timing = Timing::from(&run.checked);
    let changes =
        services
            .queue
            .lock()
            .complete(job, &outcomes, queue_error, failure, now_ms(), &timing);
    persist(services, run, changes).await;
    services.queue.notify.notify_one();
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
pub async fn scheduler(services: Arc<Services>) {
    let mut shutdown = services.shutdown.clone();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let run = services.config();
        let timing = Timing::from(&run.checked);
        let now = now_ms();
        let per_conn = |name: &str| {
            run.send
                .iter()
                .find(|s| s.name == name)
                .map(|s| s.settings.smtp_max_messages_per_connection as usize)
                .unwrap_or(20)
        };
        let due = services
            .queue
            .lock()
            .take_due(now, &run.checked, &timing, per_conn);
        persist(&services, &run, due.changes).await;
        for job in due.jobs {
            let (svc2, run2) = (services.clone(), run.clone());
            services
                .jobs
                .spawn(async move { run_job(svc2, run2, job).await });
        }
        publish_queues(&services, &run);
        // Only what would be handed out counts (not a suspended queue's mail); accepted
        // messages, job reports and queue operations wake the scheduler.
        let wait = match due.next_wake {
            Some(t) if t <= now => std::time::Duration::from_millis(50),
            Some(t) => std::time::Duration::from_millis((t - now).clamp(10, 30_000) as u64),
            None => std::time::Duration::from_secs(30),
        };
        tokio::select! {
            _ = services.queue.notify.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Records the tracking events of a remote job's messages (sent, deferred, failed, with the
/// hop's evidence and the protocol log's session id), counts them in the live monitor and
/// collects each recipient's outcome, and records what a partner's servers presented (the
/// partner certificate watch). `note` is put before the evidence (a test message).
pub(crate) fn record_outcomes(
    services: &Services,
    group: &[Loaded],
    result: &super::outbound::RemoteResult,
    outcomes: &mut HashMap<(String, String), Outcome>,
    note: Option<&str>,
) {
    for sighting in &result.sightings {
        services.tracking.saw(sighting.clone());
    }
    let hop = result.hop.clone();
    let security = hop
        .as_ref()
        .map(|h| h.security)
        .unwrap_or(SecurityStatus::Plaintext);
    // The session that carried the messages (or was attempted last).
    let session = result
        .sessions
        .last()
        .map(|id| super::outbound::session_log_id(*id));
    for (env, rcpts, _) in group {
        let mut by_kind: HashMap<&'static str, (Vec<String>, String)> = HashMap::new();
        for rcpt in rcpts {
            let o = result
                .outcomes
                .get(&(env.id.clone(), rcpt.clone()))
                .cloned();
            let (k, resp) = match &o {
                Some(Outcome::Delivered(r) | Outcome::Relayed(r)) => ("send", r.clone()),
                Some(Outcome::Deferred(r)) => ("defer", r.clone()),
                Some(Outcome::Failed(r)) => ("fail", r.clone()),
                None => (
                    "defer",
                    result
                        .error
                        .clone()
                        .unwrap_or_else(|| replies::NOT_ATTEMPTED.reply().one_line()),
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
            let evidence = hop
                .as_ref()
                .map(|h| format!("{}; {}", h.policy, h.tls_summary()));
            let detail = match (note, evidence) {
                (Some(n), Some(e)) => Some(format!("{n}; {e}")),
                (Some(n), None) => Some(n.to_string()),
                (None, e) => e,
            };
            // Each event carries the status of its own hop; the console shows the
            // message's overall status as its weakest hop.
            let mut ev = event(kind, env, rs, hop.as_ref(), security, resp, detail);
            ev.session = session.clone();
            services.tracking.record(ev);
            match kind {
                EventKind::Send => services.live.count_message(security, |c| c.sent += 1),
                EventKind::Fail => services.live.count(|c| c.failed += 1),
                _ => services.live.count(|c| c.deferred += 1),
            }
        }
    }
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
        let mut workspace = Workspace::open(&dir).unwrap();
        let mut second = workspace.settings.send_connectors[0].clone();
        second.name = "Partners".into();
        workspace.settings.send_connectors.push(second);
        RunConfig::build(&workspace, now).unwrap()
    }

    /// A queue's connector is found by name, never replaced by another one.
    #[test]
    fn a_queue_uses_its_own_send_connector_or_waits() {
        let tmp = tempfile::tempdir().unwrap();
        let run = run_config(tmp.path());
        for name in ["Outbound", "Partners"] {
            assert_eq!(send_connector(&run, name).unwrap().name, name);
        }
        assert_eq!(
            send_connector(&run, "Gone").err().map(|e| e.to_string()),
            Some("451 4.4.0 send connector 'Gone' no longer exists".to_string())
        );
    }
}
