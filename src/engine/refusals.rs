//! Each refusal of an inbound session or command, kept as evidence: a `REJECT` event in
//! message tracking (remote address, EHLO name, sender and recipients so far, the TLS facts
//! and client certificate, the command, our reply, and the decision steps that refused it),
//! and one more on the monitor's "Rejected" tile. The inbound session decides; this module
//! only records.

use super::services::Services;
use crate::policy::classify::hop_status;
use crate::smtp::evidence::{DecisionStep, TlsFacts};
use crate::smtp::trail::Trail;
use crate::store::clock::now_ms;
use crate::store::tracking::{EventKind, TrackingEvent};
use std::net::SocketAddr;

/// One refusal, as the session saw it.
pub struct Refusal<'a> {
    /// The protocol log's session id, when the session got that far.
    pub session: Option<&'a str>,
    /// Unique within the session (the first refusal is 1).
    pub sequence: u32,
    pub connector: &'a str,
    pub local: SocketAddr,
    pub peer: SocketAddr,
    pub trail: Option<&'a Trail>,
    pub tls: Option<&'a TlsFacts>,
    /// The command refused (`RCPT TO:<…>`), or what happened (`connection`, `STARTTLS`).
    pub command: &'a str,
    /// Our reply, or what we did when no reply was possible.
    pub reply: String,
    /// The reason in words, when the decision gave one.
    pub reason: Option<String>,
    /// Anything else worth knowing (the tarpit's delay).
    pub note: Option<String>,
    pub why: Vec<DecisionStep>,
}

/// Records `r` in tracking and counts it on the "Rejected" tile.
pub fn record(services: &Services, r: Refusal<'_>) {
    let time = now_ms();
    let internal_id = match r.session {
        Some(s) => format!("{s}-R{}", r.sequence),
        // Turned away before a session existed: the time and the peer name it.
        None => format!("{time:013X}-{}-R{}", r.peer, r.sequence),
    };
    let mut recipients: Vec<String> = r.trail.map(|t| t.recipients.clone()).unwrap_or_default();
    // A refused recipient is the one this event is about: findable by its address.
    if let Some(a) = r.trail.and_then(Trail::pending_address)
        && r.command.to_ascii_uppercase().starts_with("RCPT")
    {
        recipients.push(a.to_string());
    }
    let mut detail = format!("{} refused", r.command);
    if let Some(reason) = &r.reason {
        detail.push_str(": ");
        detail.push_str(reason);
    }
    if let Some(note) = &r.note {
        detail.push_str("; ");
        detail.push_str(note);
    }
    let security = hop_status(r.tls, false);
    services.tracking.record(TrackingEvent {
        time,
        kind: EventKind::Reject,
        internal_id,
        message_id: None,
        sender: r.trail.and_then(|t| t.sender.clone()).unwrap_or_default(),
        recipients,
        subject: None,
        size: 0,
        client: Some(r.peer.to_string()),
        server: Some(r.local.to_string()),
        connector: Some(r.connector.to_string()),
        tls: r.tls.cloned(),
        security,
        response: Some(r.reply),
        detail: Some(detail),
        session: r.session.map(str::to_string),
        helo: r.trail.and_then(|t| t.helo.clone()),
        why: r.why,
    });
    services.live.count(|c| c.rejected += 1);
}
