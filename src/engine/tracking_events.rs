//! The message tracking events the engine records about a message (delivered, sent,
//! deferred, failed, quarantined, released).

use crate::smtp::envelope::Envelope;
use crate::smtp::evidence::{HopEvidence, SecurityStatus};
use crate::smtp::replies;
use crate::store::clock::now_ms;
use crate::store::tracking::{EventKind, TrackingEvent};

/// The tracking event of a message released from the quarantine.
pub fn release_event(env: &Envelope) -> TrackingEvent {
    let mut ev = event(
        EventKind::Release,
        env,
        env.recipients.clone(),
        None,
        env.inbound.security,
        replies::RELEASED_FROM_QUARANTINE.reply().one_line(),
        None,
    );
    ev.connector = Some(env.inbound.connector.clone());
    ev
}

pub(crate) fn event(
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
        session: None,
        helo: None,
        why: Vec::new(),
    }
}
