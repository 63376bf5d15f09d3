//! NDRs and delay notices (RFC 3464): built from a queued message and stored in the queue
//! like any message, never for the null sender, with a message id derived from what they
//! report so a notice stored twice after a crash is refused as a duplicate.

use super::bookkeeping::{Notice, Timing};
use crate::engine::config::RunConfig;
use crate::engine::error::EngineError;
use crate::engine::services::Services;
use crate::smtp::address::ReversePath;
use crate::smtp::dsn::{self, DsnInput, DsnKind, DsnRecipient};
use crate::smtp::dsn_request::Ret;
use crate::smtp::envelope::{Envelope, new_message_id};
use crate::smtp::replies;
use crate::smtp::reply::ReplyReader;
use crate::store::StoreError;
use crate::store::clock::now_ms;
use crate::store::spool::Spool;
use crate::store::tracking::{EventKind, TrackingEvent};
use std::sync::Arc;

fn sender_text(s: &ReversePath) -> String {
    s.to_string()
}

/// Builds and stores an NDR or delay notice (never for the null sender: `Ok` with nothing
/// stored). `Err` says why it could not be stored; the caller keeps the original and retries.
/// A TLS report mail that failed for good (refused, or expired) has no one to tell: its
/// addresses are left out of reporting for a while instead.
pub(super) async fn send_notice(
    services: &Arc<Services>,
    run: &Arc<RunConfig>,
    n: &Notice,
) -> Result<(), EngineError> {
    if n.kind == DsnKind::Failure && crate::engine::tls_reports::is_report_mail(&n.envelope) {
        for (rcpt, why) in &n.recipients {
            crate::engine::tls_reports::suppress(services, &format!("mailto:{rcpt}"), why).await;
        }
    }
    let what = n.kind.what();
    let spool = services.queue.spool.clone();
    let id = n.envelope.id.clone();
    let read = tokio::task::spawn_blocking(move || spool.read_body(&id))
        .await
        .map_err(|e| EngineError::Notice {
            why: format!("the {what} could not be built: {e}"),
        })?;
    let original = match read {
        Ok(b) => b,
        // A damaged (or vanished) original: the sender is told all the same, without it.
        Err(StoreError::Corrupt { .. }) => Vec::new(),
        Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Vec::new()
        }
        Err(e) => {
            let why = format!(
                "{}",
                replies::mail_system_deferred(&format!(
                    "the {what} could not be built: the message cannot be read from the spool now ({e}); it is retried"
                ))
            );
            tracing::warn!("message {}: {why}", n.envelope.id);
            return Err(EngineError::Notice { why });
        }
    };
    let Some((env, body, event)) = build_notice(run, n, &original) else {
        return Ok(());
    };
    match services.queue.accept(env, body).await {
        Ok(()) => {
            services.tracking.record(event);
            Ok(())
        }
        // Stored before a crash came between storing it and saving that it was.
        Err(StoreError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::AlreadyExists =>
        {
            Ok(())
        }
        Err(e) => {
            let why = format!("{}", replies::notice_not_stored(what, &e.to_string()));
            tracing::error!("message {}: {why}", n.envelope.id);
            Err(EngineError::Notice { why })
        }
    }
}

/// [`send_notice`] for a queue operation while no relay runs (blocking, on the spool).
pub fn store_notice_offline(
    spool: &Spool,
    run: &RunConfig,
    n: &Notice,
    tracking: &crate::store::tracking::TrackingWriter,
) -> Result<(), EngineError> {
    let original = match spool.read_body(&n.envelope.id) {
        Ok(b) => b,
        Err(StoreError::Corrupt { .. }) => Vec::new(),
        Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Vec::new()
        }
        Err(e) => {
            return Err(EngineError::Notice {
                why: format!("the NDR could not be built: {e}"),
            });
        }
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
        Err(e) => Err(EngineError::Notice {
            why: format!("{}", replies::notice_not_stored("NDR", &e.to_string())),
        }),
    }
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
    let what = n.kind.what();
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
                original: n.envelope.dsn.orcpt(addr).map(|o| o.field()),
            }
        })
        .collect();
    // RFC 3461 §4.3: the whole message only in a failure notice, and only when asked.
    let return_full = n.kind == DsnKind::Failure && n.envelope.dsn.ret == Some(Ret::Full);
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
        envid: n.envelope.dsn.envid.as_deref(),
        return_full,
    });
    let mut env = Envelope::generated(
        dsn_id.clone(),
        vec![sender.to_string()],
        &body,
        run.fqdn(),
        "generated by Mailflow (no network hop)".into(),
        now_ms(),
    );
    // A returned 8-bit original makes the notice 8-bit too.
    env.eight_bit = return_full && n.envelope.eight_bit;
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
        session: None,
        helo: None,
        why: Vec::new(),
    };
    Some((env, body, event))
}
