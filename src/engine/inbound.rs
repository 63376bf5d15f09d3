//! One inbound SMTP session: the receive connector chosen by binding and remote IP, connection
//! limits, the sans-I/O server machine driven over TCP and, after STARTTLS, TLS (any plaintext
//! pipelined behind STARTTLS is discarded and logged — CVE-2011-0411), the MAIL FROM / RCPT TO
//! policy (Domain Security, permission groups, no open relay), timeouts and tarpit, and the
//! accepted message made ready for the queue: forged trust headers stripped (the header
//! firewall, [`crate::policy::header_firewall`]), Domain Secure marking added, a `Received:`
//! line with the TLS facts prepended.
//!
//! A session keeps its receive connector's session facts (what it advertised, its TLS
//! configuration) but not its trust: at every MAIL FROM the client certificate is judged again
//! against the settings of that moment (roots, Direct Trust pins, partner anchors, the receive
//! list, the connector's Domain Security and permission groups), so an administrator's change
//! reaches open sessions at their next transaction (issue 9 §6).

use super::config::{ReceiveRuntime, RunConfig};
use super::error::EngineError;
use super::protolog::{LogKind, SessionLog};
use super::refusals::{self, Refusal};
use super::services::Services;
use super::stream::Conn;
use crate::config::{AuthMechanism as ConnectorAuth, ProtocolLoggingLevel, domain};
use crate::pki::chain::Purpose;
use crate::policy::classify::hop_status;
use crate::policy::header_firewall;
use crate::policy::inbound::{
    ClientCertificate, InboundTls, SenderVerdict, name_covers_sender, session_identity,
    transaction_decision,
};
use crate::policy::refusal;
use crate::policy::submission::{Identity, recipient_decision, sender_allowed};
use crate::policy::trust::{PeerEvaluation, evaluate};
use crate::smtp::address::{Mailbox, ReversePath};
use crate::smtp::command::{BodyType, MailParams};
use crate::smtp::envelope::{Envelope, new_message_id};
use crate::smtp::evidence::{DecisionStep, Direction, HopEvidence, TlsFacts, TrustLevel};
use crate::smtp::headers::{self, ReceivedInfo};
use crate::smtp::printable::printable;
use crate::smtp::replies;
use crate::smtp::reply::Reply;
use crate::smtp::server::{
    AcceptedMessage, Action, AuthOffer, Server, ServerConfig, SessionInfo, SessionPolicy,
};
use crate::smtp::trail::Trail;
use crate::store::clock::now_ms;
use crate::store::partner_watch::{Presented, Sighting};
use crate::store::tracking::{EventKind, TrackingEvent};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The TLS state of a session, once STARTTLS succeeded.
struct TlsState {
    facts: TlsFacts,
    /// The trust the handshake gave (`facts.trust` is Verified only for a partner's transaction).
    base_trust: TrustLevel,
    /// The client certificate as evaluated with the settings of the last MAIL FROM (or of
    /// STARTTLS before the first): chain and Direct Trust pins; each MAIL FROM from a listed
    /// domain adds only that domain's part (names, anchors).
    client: Option<PeerEvaluation>,
    /// The client's chain as presented (DER, leaf first), judged again at each MAIL FROM.
    chain: Vec<Vec<u8>>,
}

/// The relay's policy for one session.
struct InboundPolicy<'a> {
    /// Where the settings of now come from.
    services: &'a Services,
    /// The settings of the current transaction: taken again at each MAIL FROM.
    run: Arc<RunConfig>,
    /// The receive connector as the session started (its name, what it advertised).
    receive_connector: &'a ReceiveRuntime,
    tls: Option<TlsState>,
    /// Set when the client certificate matches a Direct Trust pin (as of the last MAIL FROM):
    /// one of our own servers.
    internal: Option<String>,
    identity: Identity,
    /// The last Domain Security rejection, for logs and tracking.
    rejection: Option<String>,
    /// The decision steps of the last refusal made here (MAIL FROM), for tracking's "Why".
    why: Option<Vec<DecisionStep>>,
    /// The client's address, for the partner certificate watch.
    peer: SocketAddr,
}

impl InboundPolicy<'_> {
    /// The session's receive connector in the settings of now (its Domain Security and
    /// permission groups may have changed), or as it started when it is gone.
    fn connector(&self) -> &ReceiveRuntime {
        self.run
            .receive
            .iter()
            .find(|r| r.name == self.receive_connector.name)
            .unwrap_or(self.receive_connector)
    }

    /// Takes the settings of now and judges the client certificate against them: trusted
    /// roots, Direct Trust pins (whether the session is one of our servers) and the trust
    /// recorded for the message.
    fn refresh(&mut self) {
        self.run = self.services.config();
        let Some(t) = self.tls.as_mut() else {
            self.internal = None;
            return;
        };
        let ctx = self.run.trust_context();
        let eval = evaluate(&t.chain, Purpose::Client, &ctx, None);
        t.base_trust = eval
            .as_ref()
            .map_or(TrustLevel::Anonymous, PeerEvaluation::trust_level);
        t.facts.trust = t.base_trust;
        t.facts.trust_detail = eval.as_ref().and_then(|e| e.chain.clone().err());
        self.internal = eval.as_ref().and_then(|e| e.pinned.clone());
        t.client = eval;
    }
}

impl InboundPolicy<'_> {
    /// Records for the partner certificate watch what a session sending as partner `domain`
    /// presented: no TLS, TLS without a certificate, or its certificate — verified when it
    /// would authenticate the partner (names the domain; chain to our trust and the partner's
    /// anchors, or a partner pin for it).
    fn saw_partner(&self, domain: &str, claimed: Option<&ClientCertificate>) {
        let presented = match (&self.tls, claimed) {
            (None, _) => Presented::NoTls,
            (Some(_), None) => Presented::NoCertificate,
            (Some(t), Some(_)) => match &t.client {
                Some(eval) => Presented::Certificate {
                    certificate: eval.certificate.clone(),
                    chain: t.chain.clone(),
                },
                None => Presented::NoCertificate,
            },
        };
        let verified = claimed.is_some_and(|c| {
            c.names.iter().any(|n| name_covers_sender(n, domain))
                && (c.partner_pin || c.chain.is_ok())
        });
        self.services.tracking.saw(Sighting {
            time: now_ms(),
            domain: domain.to_string(),
            direction: Direction::Inbound,
            host: self.peer.ip().to_string(),
            presented,
            verified,
        });
    }
}

impl SessionPolicy for InboundPolicy<'_> {
    fn mail_from(
        &mut self,
        session: &SessionInfo,
        from: &ReversePath,
        _: &MailParams,
    ) -> Result<(), Reply> {
        // The identity is re-evaluated for every transaction (DESIGN §2: reset before the next
        // MAIL FROM), against the settings of now, and with it the trust recorded for the
        // message.
        self.refresh();
        let client = self.tls.as_ref().and_then(|t| t.client.as_ref());
        let session_is = session_identity(client, session.authenticated.as_deref());
        self.identity = session_is.clone();
        self.rejection = None;
        self.why = None;
        // Only a sender on the receive list is judged on its certificate; what a partner
        // presents is recorded for the certificate watch whether listed or not.
        let partner = from
            .domain()
            .and_then(|d| domain::normalize(d).ok())
            .filter(|d| self.run.checked.partner_domains.contains(d));
        let claimed = match (&partner, &self.tls) {
            (Some(d), Some(t)) => t.client.as_ref().map(|eval| ClientCertificate {
                names: eval.certificate.names.clone(),
                chain: eval.chain_for(d, &self.run.checked.settings.partner_anchors),
                pinned: eval.pinned.is_some(),
                partner_pin: eval.partner_pin_for(d).is_some(),
                names_note: eval.names_note.clone(),
            }),
            _ => None,
        };
        // Only what the partner's own sessions present: not one of our servers or a user
        // of ours forwarding the partner's mail.
        if let Some(d) = &partner
            && matches!(session_is, Identity::Anonymous | Identity::Partner { .. })
        {
            self.saw_partner(d, claimed.as_ref());
        }
        let client_certificate = claimed.filter(|_| {
            partner
                .as_ref()
                .is_some_and(|d| self.run.checked.receive_domain_secure.contains(d))
        });
        let facts = InboundTls {
            connector_domain_secure: self.connector().settings.domain_secure_enabled,
            starttls_advertised: self.receive_connector.tls.is_some()
                && self
                    .receive_connector
                    .settings
                    .auth_mechanisms
                    .contains(&ConnectorAuth::Tls),
            tls_active: self.tls.is_some(),
            client_certificate,
        };
        let (verdict, steps) = transaction_decision(
            &session_is,
            from.domain(),
            &self.run.checked.receive_domain_secure,
            &facts,
        );
        match verdict {
            SenderVerdict::NotListed | SenderVerdict::SessionAuthenticated => {}
            SenderVerdict::Partner { domain, mechanism } => {
                if let Some(t) = self.tls.as_mut() {
                    t.facts.trust = TrustLevel::Verified;
                }
                self.identity = Identity::Partner { domain, mechanism };
            }
            SenderVerdict::Reject { reply, reason } => {
                self.rejection = Some(reason);
                self.why = Some(steps);
                return Err(reply);
            }
        }
        let groups = &self.connector().settings.permission_groups;
        let allowed = sender_allowed(groups, &self.identity);
        if let Err(reply) = &allowed {
            let mut why = steps;
            why.extend(refusal::explain(
                reply,
                &refusal::Context {
                    address: None,
                    identity: &self.identity,
                    groups,
                },
            ));
            self.why = Some(why);
        }
        allowed
    }

    fn rcpt_to(&mut self, _: &SessionInfo, to: &Mailbox) -> Result<(), Reply> {
        recipient_decision(
            to,
            &self.run.checked,
            &self.connector().settings.permission_groups,
            &self.identity,
        )
        .map(|_| ())
    }
}

/// The record a session keeps of its refusals: what the client has said so far and how many
/// refusals it has had, so that each is recorded with the facts as they stood.
struct SessionRecord<'a> {
    services: &'a Services,
    /// The session's row in the live monitor.
    live_id: u64,
    connector: &'a str,
    /// The protocol log's session id.
    session: String,
    local: SocketAddr,
    peer: SocketAddr,
    trail: Trail,
    refused: u32,
}

impl SessionRecord<'_> {
    /// We answered the current command with `reply`: a refusal is recorded with its steps
    /// (those the policy gave, else the refusal's own).
    fn reply(
        &mut self,
        reply: &Reply,
        policy: &mut InboundPolicy<'_>,
        reason: Option<String>,
        note: Option<String>,
    ) {
        let steps = policy.why.take();
        if refusal::is_refusal(reply) {
            let why = steps.unwrap_or_else(|| {
                refusal::explain(
                    reply,
                    &refusal::Context {
                        address: self.trail.pending_address(),
                        identity: &policy.identity,
                        groups: &policy.connector().settings.permission_groups,
                    },
                )
            });
            let tls = policy.tls.as_ref().map(|t| &t.facts);
            let command = self.trail.command.clone();
            self.record(tls, &command, reply.one_line(), reason, note, why);
        }
        self.trail.reply(reply);
    }

    /// The STARTTLS handshake failed: no reply is possible, the session ends.
    fn handshake_failed(&mut self, error: &str) {
        self.record(
            None,
            "STARTTLS",
            "no reply: the TLS handshake failed and the connection was closed".into(),
            Some(error.to_string()),
            None,
            refusal::tls_handshake_failed(error),
        );
    }

    /// One refusal more: on the session's monitor row and as a tracking event.
    fn record(
        &mut self,
        tls: Option<&TlsFacts>,
        command: &str,
        reply: String,
        reason: Option<String>,
        note: Option<String>,
        why: Vec<DecisionStep>,
    ) {
        self.refused += 1;
        self.services.live.update(self.live_id, |r| r.refusals += 1);
        refusals::record(
            self.services,
            Refusal {
                session: Some(&self.session),
                sequence: self.refused,
                connector: self.connector,
                local: self.local,
                peer: self.peer,
                trail: Some(&self.trail),
                tls,
                command,
                reply,
                reason,
                note,
                why,
            },
        );
    }
}

/// Serves one accepted TCP connection to its end.
pub async fn serve(
    stream: TcpStream,
    binding: SocketAddr,
    local: SocketAddr,
    peer: SocketAddr,
    services: Arc<Services>,
) {
    let run = services.config();
    let Some(receive_connector) = run.receive_connector_for(binding, peer.ip()) else {
        let mut s = stream;
        let reply = replies::no_receive_connector(&peer.ip().to_string());
        let _ = s.write_all(&reply.to_bytes()).await;
        refusals::record(
            &services,
            Refusal {
                session: None,
                sequence: 1,
                connector: "(none)",
                local,
                peer,
                trail: None,
                tls: None,
                command: "connection",
                reply: reply.one_line(),
                reason: None,
                note: None,
                why: refusal::no_receive_connector(&peer.ip().to_string(), &binding.to_string()),
            },
        );
        return;
    };
    let Some(_guard) = services.limits.acquire(
        &receive_connector.name,
        peer.ip(),
        receive_connector.settings.max_inbound_connections as usize,
        receive_connector
            .settings
            .max_inbound_connections_per_source as usize,
    ) else {
        let mut s = stream;
        let reply = replies::TOO_MANY_CONNECTIONS.reply();
        let _ = s.write_all(&reply.to_bytes()).await;
        let limits = &receive_connector.settings;
        refusals::record(
            &services,
            Refusal {
                session: None,
                sequence: 1,
                connector: &receive_connector.name,
                local,
                peer,
                trail: None,
                tls: None,
                command: "connection",
                reply: reply.one_line(),
                reason: None,
                note: None,
                why: refusal::too_many_connections(
                    limits.max_inbound_connections,
                    limits.max_inbound_connections_per_source,
                ),
            },
        );
        return;
    };
    let _ = stream.set_nodelay(true);
    let live_id = services.live.open_session(
        Direction::Inbound,
        &receive_connector.name,
        local.to_string(),
        peer.to_string(),
    );
    let mut log = SessionLog {
        log: if receive_connector.settings.protocol_logging_level == ProtocolLoggingLevel::Verbose {
            Some(services.log.clone())
        } else {
            None
        },
        kind: LogKind::Receive,
        connector: receive_connector.name.clone(),
        session: super::outbound::session_log_id(live_id),
        local: local.to_string(),
        remote: peer.to_string(),
        sequence: 0,
    };
    log.event('+', "", "");
    let result = session(
        stream,
        local,
        peer,
        &services,
        &run,
        receive_connector,
        live_id,
        &mut log,
    )
    .await;
    let outcome = match &result {
        Ok(()) => "QUIT".to_string(),
        Err(e) => e.to_string(),
    };
    if let Err(e) = result {
        log.event('*', &e.to_string(), "session ended");
    }
    log.event('-', "", "");
    services.live.close_session(live_id, outcome);
}

#[allow(clippy::too_many_arguments)]
async fn session(
    stream: TcpStream,
    local: SocketAddr,
    peer: SocketAddr,
    services: &Arc<Services>,
    run: &Arc<RunConfig>,
    receive_connector: &ReceiveRuntime,
    live_id: u64,
    log: &mut SessionLog,
) -> Result<(), EngineError> {
    let s = &receive_connector.settings;
    let cfg = ServerConfig {
        hostname: receive_connector.fqdn.clone(),
        banner: receive_connector.banner.clone(),
        peer_ip: peer.ip().to_string(),
        starttls: receive_connector.tls.is_some(),
        require_tls: s.require_tls,
        max_message_size: s.max_message_size.bytes(),
        max_recipients: s.max_recipients_per_message as usize,
        max_errors: 20,
        postmaster_domain: run
            .checked
            .accepted_domains
            .iter()
            .next()
            .cloned()
            .unwrap_or_else(|| run.fqdn().to_string()),
        auth: auth_offer(&s.auth_mechanisms),
    };
    let mut server = Server::new(cfg);
    let mut policy = InboundPolicy {
        services,
        run: run.clone(),
        receive_connector,
        tls: None,
        internal: None,
        identity: Identity::Anonymous,
        rejection: None,
        why: None,
        peer,
    };
    let mut record = SessionRecord {
        services,
        connector: &receive_connector.name,
        session: log.session.clone(),
        live_id,
        local,
        peer,
        trail: Trail::default(),
        refused: 0,
    };
    let mut conn = Some(Conn::Plain(stream));
    let mut inbuf: Vec<u8> = Vec::with_capacity(1024);
    let mut rbuf = vec![0u8; 8 * 1024];
    let started = Instant::now();
    let total = s.connection_timeout.as_duration();
    let idle = s.connection_inactivity_timeout.as_duration();
    let tarpit = s.tarpit_interval.as_duration();
    let mut shutdown = services.shutdown.clone();

    let greeting = server.greeting();
    write(&mut conn, &greeting.to_bytes(), services, live_id).await?;
    log.event('>', &greeting.one_line(), "");

    loop {
        let mut actions = Vec::new();
        let used = server.feed(&inbuf, &mut policy, &mut actions);
        inbuf.drain(..used);
        let progressed = used > 0 || !actions.is_empty();
        let mut out: Vec<u8> = Vec::new();
        let mut actions = std::collections::VecDeque::from(actions);
        while let Some(a) = actions.pop_front() {
            match a {
                Action::Command(line) => {
                    record.trail.command(&line);
                    log.event('<', &line, "");
                    services.live.transcript(live_id, format!("< {line}"));
                    let state = line
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_ascii_uppercase();
                    services.live.update(live_id, |r| r.state = state);
                }
                Action::Reply(r) => {
                    let tarpitted = r.code >= 500
                        && server.errors() > 1
                        && !tarpit.is_zero()
                        && policy.internal.is_none();
                    if tarpitted {
                        write(&mut conn, &out, services, live_id).await?;
                        out.clear();
                        tokio::time::sleep(tarpit).await;
                    }
                    let line = r.one_line();
                    let reason = policy.rejection.take();
                    if let Some(reason) = &reason {
                        log.event('*', reason, "Domain Security");
                        services.live.transcript(live_id, format!("* {reason}"));
                    }
                    let note = tarpitted.then(|| {
                        format!(
                            "tarpit: the reply was held {} s after repeated errors",
                            tarpit.as_secs_f32()
                        )
                    });
                    record.reply(&r, &mut policy, reason, note);
                    log.event('>', &line, "");
                    services.live.transcript(live_id, format!("> {line}"));
                    // The session's security as the console's monitor shows it, as it stands.
                    let partner = matches!(policy.identity, Identity::Partner { .. });
                    let status = hop_status(policy.tls.as_ref().map(|t| &t.facts), partner);
                    services
                        .live
                        .update(live_id, |row| row.security = Some(status));
                    out.extend_from_slice(&r.to_bytes());
                }
                Action::StartTls => {
                    write(&mut conn, &out, services, live_id).await?;
                    out.clear();
                    if !inbuf.is_empty() {
                        let n = inbuf.len();
                        inbuf.clear();
                        let note = format!(
                            "STARTTLS injection: {n} octets sent after STARTTLS in plaintext were discarded"
                        );
                        log.event('*', &note, "CVE-2011-0411");
                        services.live.transcript(live_id, format!("* {note}"));
                    }
                    let Some(tls_cfg) = receive_connector.tls.clone() else {
                        return Err(EngineError::NoTlsConfiguration);
                    };
                    let Some(Conn::Plain(tcp)) = conn.take() else {
                        return Err(EngineError::StartTlsOnTls);
                    };
                    let acceptor = tokio_rustls::TlsAcceptor::from(tls_cfg);
                    let tls = match tokio::time::timeout(idle, acceptor.accept(tcp)).await {
                        Ok(Ok(t)) => t,
                        Ok(Err(e)) => {
                            let e = EngineError::TlsNegotiation(e);
                            record.handshake_failed(&e.to_string());
                            return Err(e);
                        }
                        Err(_) => {
                            let e = EngineError::TlsTimeout;
                            record.handshake_failed(&e.to_string());
                            return Err(e);
                        }
                    };
                    let chain = super::tls::peer_chain(tls.get_ref().1);
                    let now = services.config();
                    let eval = evaluate(&chain, Purpose::Client, &now.trust_context(), None);
                    let (peer_cert, trust, detail) = match &eval {
                        None => (None, TrustLevel::Anonymous, None),
                        Some(e) => (
                            Some(e.certificate.clone()),
                            e.trust_level(),
                            e.chain.clone().err(),
                        ),
                    };
                    // Only a Direct Trust pin makes the client one of our own servers; a
                    // partner pin never does (it counts at MAIL FROM, for its domains).
                    policy.internal = eval.as_ref().and_then(|e| e.pinned.clone());
                    let facts = super::tls::facts(tls.get_ref().1, peer_cert, trust, detail);
                    log.event(
                        '*',
                        &format!(
                            "{} TLS connection established from [{}]: {} with cipher {}",
                            facts.trust,
                            peer.ip(),
                            facts.version,
                            facts.cipher
                        ),
                        "TLS",
                    );
                    if let Some(c) = &facts.peer_certificate {
                        log.event(
                            '*',
                            &format!(
                                "Client certificate subject {}, issuer {}, thumbprint {}",
                                c.subject, c.issuer, c.thumbprint
                            ),
                            "TLS",
                        );
                    }
                    services.live.update(live_id, |r| {
                        r.tls_version = Some(facts.version.clone());
                        r.cipher = Some(facts.cipher.clone());
                        r.client_certificate =
                            facts.peer_certificate.as_ref().map(|c| c.subject.clone());
                    });
                    policy.tls = Some(TlsState {
                        base_trust: facts.trust,
                        facts,
                        client: eval,
                        chain,
                    });
                    conn = Some(Conn::ServerTls(Box::new(tls)));
                    server.tls_established();
                }
                Action::Message(m) => {
                    let now = policy.run.clone();
                    let result = accept(
                        *m,
                        services,
                        &now,
                        receive_connector,
                        &policy,
                        local,
                        peer,
                        server.info().esmtp,
                        &record.session,
                    )
                    .await;
                    if result.is_ok() {
                        services.live.update(live_id, |r| r.messages += 1);
                    }
                    let reply = server.message_queued(result);
                    record.reply(&reply, &mut policy, None, None);
                    let line = reply.one_line();
                    log.event('>', &line, "");
                    services.live.transcript(live_id, format!("> {line}"));
                    out.extend_from_slice(&reply.to_bytes());
                }
                Action::Authenticate(c) => {
                    // Argon2 is slow on purpose: checked off the runtime's threads, against
                    // the accounts as they are now.
                    let dir = run.data_dir.clone();
                    let user = printable(&c.user).into_owned();
                    let checked = tokio::task::spawn_blocking(move || {
                        crate::store::accounts::verify(&dir, &c.user, &c.password)
                    })
                    .await;
                    let mut more = Vec::new();
                    match checked {
                        Ok(Ok(Some(name))) => {
                            log.event('*', &format!("authenticated as {name}"), "AUTH");
                            services
                                .live
                                .transcript(live_id, format!("* authenticated as {name}"));
                            server.auth_result(Some(name), &mut more);
                        }
                        Ok(Ok(None)) => {
                            let note = format!("authentication failed for user {user}");
                            log.event('*', &note, "AUTH");
                            services.live.transcript(live_id, format!("* {note}"));
                            server.auth_result(None, &mut more);
                        }
                        Ok(Err(e)) => {
                            tracing::error!("AUTH from [{}]: {e}", peer.ip());
                            log.event('*', &format!("accounts unreadable: {e}"), "AUTH");
                            server.auth_unavailable(&mut more);
                        }
                        Err(e) => {
                            tracing::error!("AUTH from [{}]: the check failed: {e}", peer.ip());
                            server.auth_unavailable(&mut more);
                        }
                    }
                    actions.extend(more);
                }
                Action::Close => {
                    write(&mut conn, &out, services, live_id).await?;
                    if let Some(mut c) = conn.take() {
                        let _ = tokio::time::timeout(Duration::from_secs(2), c.shutdown()).await;
                    }
                    return Ok(());
                }
            }
        }
        if !out.is_empty() {
            write(&mut conn, &out, services, live_id).await?;
        }
        if progressed && !inbuf.is_empty() {
            continue;
        }
        // Read more.
        let remaining = total.checked_sub(started.elapsed()).unwrap_or_default();
        if remaining.is_zero() {
            let r = replies::SESSION_TOO_LONG.reply();
            let _ = write(&mut conn, &r.to_bytes(), services, live_id).await;
            return Err(EngineError::SessionTimeLimit);
        }
        let wait = idle.min(remaining);
        // Once the relay stops, a session between messages is turned away; one in the middle
        // of a message may finish it (the 250 means it is on disk).
        if *shutdown.borrow() && !server.in_message() {
            let r = replies::SHUTTING_DOWN.reply();
            let _ = write(&mut conn, &r.to_bytes(), services, live_id).await;
            return Err(EngineError::ShuttingDown);
        }
        let Some(c) = conn.as_mut() else {
            return Ok(());
        };
        let read = tokio::select! {
            r = tokio::time::timeout(wait, c.read(&mut rbuf)) => r,
            _ = shutdown.changed() => {
                if !server.in_message() {
                    let r = replies::SHUTTING_DOWN.reply();
                    let _ = write(&mut conn, &r.to_bytes(), services, live_id).await;
                    return Err(EngineError::ShuttingDown);
                }
                // Finish the message in progress (up to the inactivity timeout).
                tokio::time::timeout(wait, c.read(&mut rbuf)).await
            }
        };
        match read {
            Err(_) => {
                let why = if remaining <= idle {
                    replies::SESSION_TOO_LONG
                } else {
                    replies::NO_COMMAND_RECEIVED
                };
                let r = why.reply();
                let _ = write(&mut conn, &r.to_bytes(), services, live_id).await;
                return Err(EngineError::Inactivity);
            }
            Ok(Err(e)) => return Err(EngineError::Read(e)),
            Ok(Ok(0)) => return Err(EngineError::ClientClosed),
            Ok(Ok(n)) => {
                inbuf.extend_from_slice(&rbuf[..n]);
                services.live.update(live_id, |r| r.bytes_in += n as u64);
            }
        }
    }
}

async fn write(
    conn: &mut Option<Conn>,
    bytes: &[u8],
    services: &Services,
    live_id: u64,
) -> Result<(), EngineError> {
    if bytes.is_empty() {
        return Ok(());
    }
    let c = conn.as_mut().ok_or(EngineError::ConnectionClosed)?;
    c.write_all(bytes).await.map_err(EngineError::Write)?;
    c.flush().await.map_err(EngineError::Write)?;
    services
        .live
        .update(live_id, |r| r.bytes_out += bytes.len() as u64);
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn accept(
    m: AcceptedMessage,
    services: &Arc<Services>,
    run: &Arc<RunConfig>,
    receive_connector: &ReceiveRuntime,
    policy: &InboundPolicy<'_>,
    local: SocketAddr,
    peer: SocketAddr,
    esmtp: bool,
    session: &str,
) -> Result<String, Reply> {
    let mut random = [0u8; 16];
    aws_lc_rs::rand::fill(&mut random).map_err(|_| replies::NO_RANDOMNESS.reply())?;
    let id = new_message_id(random);
    let now = time::OffsetDateTime::now_utc();
    let tls = policy.tls.as_ref().map(|t| t.facts.clone());
    let (partner_domain, mechanism) = match &policy.identity {
        Identity::Partner { domain, mechanism } => (Some(domain.clone()), Some(*mechanism)),
        _ => (None, None),
    };
    // Header firewall: forged marks never survive; only our own servers' marks pass.
    let (mut body, stripped) = if policy.internal.is_some() {
        (m.body, 0)
    } else {
        header_firewall::strip_forged(&m.body, &run.own_names())
    };
    let marks = match (&partner_domain, mechanism) {
        (Some(d), Some(mech)) => crate::policy::classify::partner_marks(d, mech, run.fqdn()),
        _ => Vec::new(),
    };
    let single = (m.recipients.len() == 1).then(|| m.recipients[0].to_string());
    let user = match &policy.identity {
        Identity::User { name } => Some(name.clone()),
        _ => None,
    };
    let received = headers::received_header(&ReceivedInfo {
        helo: &m.helo,
        peer_ip: &peer.ip().to_string(),
        by: &receive_connector.fqdn,
        esmtp,
        authenticated: user.is_some(),
        tls: tls.as_ref(),
        client_cert_requested: receive_connector.settings.domain_secure_enabled,
        id: &id,
        for_recipient: single.as_deref(),
        time: now,
    });
    let mut lines = vec![received];
    lines.extend(marks);
    body = headers::prepend(&lines, &body);
    let security = hop_status(tls.as_ref(), partner_domain.is_some());
    let mut policy_text = match (&partner_domain, &tls) {
        (Some(d), _) => format!("Domain Security for {d}"),
        (None, Some(_)) => "opportunistic TLS".to_string(),
        (None, None) => "no TLS".to_string(),
    };
    if let Some(u) = &user {
        policy_text.push_str(&format!("; authenticated as {u}"));
    }
    if let Identity::InternalServer { name } = &policy.identity {
        policy_text.push_str(&format!(
            "; from our server {name} (Direct Trust), its marks kept"
        ));
    }
    let hop = HopEvidence {
        direction: Direction::Inbound,
        time: now_ms(),
        connector: receive_connector.name.clone(),
        local: local.to_string(),
        remote: peer.to_string(),
        peer_name: m.helo.clone(),
        tls: tls.clone(),
        security,
        policy: policy_text,
        auth_domain: partner_domain.clone(),
        auth_mechanism: mechanism.map(|m| m.header_value().to_string()),
    };
    let envelope = Envelope {
        id: id.clone(),
        sender: m.sender.clone(),
        recipients: m.recipients.iter().map(|r| r.to_string()).collect(),
        received: now_ms(),
        size: body.len() as u64,
        message_id: headers::header_value(&body, "Message-ID"),
        subject: headers::header_value(&body, "Subject"),
        eight_bit: matches!(
            m.params.body,
            Some(BodyType::EightBitMime) | Some(BodyType::BinaryMime)
        ),
        smtputf8: m.params.smtputf8,
        require_tls: m.params.require_tls,
        dsn: m.dsn.clone(),
        inbound: hop,
    };
    let size = envelope.size;
    let detail = {
        let mut d = envelope.inbound.policy.clone();
        if stripped > 0 {
            d.push_str(&format!(
                "; {stripped} forged trust header(s) removed (X-Mailflow-*, X-MS-Exchange-Organization-*, Authentication-Results)"
            ));
        }
        if m.bare_line_endings > 0 {
            d.push_str(&format!(
                "; {} bare line ending(s) normalised",
                m.bare_line_endings
            ));
        }
        d
    };
    let event = TrackingEvent {
        time: now_ms(),
        kind: EventKind::Receive,
        internal_id: id.clone(),
        message_id: envelope.message_id.clone(),
        sender: envelope.sender.to_string(),
        recipients: envelope.recipients.clone(),
        subject: envelope.subject.clone(),
        size,
        client: Some(peer.to_string()),
        server: Some(local.to_string()),
        connector: Some(receive_connector.name.clone()),
        tls: tls.clone(),
        security,
        response: Some(replies::queued(&id).one_line()),
        detail: Some(detail),
        session: Some(session.to_string()),
        helo: Some(m.helo.clone()),
        why: Vec::new(),
    };
    match services.queue.accept(envelope, body).await {
        Ok(()) => {
            services.tracking.record(event);
            services.live.count_message(security, |c| c.received += 1);
            Ok(id)
        }
        Err(e) => {
            tracing::error!("message from [{}] could not be queued: {e}", peer.ip());
            Err(replies::NOT_STORED.reply())
        }
    }
}

/// AUTH as the connector's mechanisms ask: BasicAuthRequireTls offers it inside TLS only,
/// BasicAuth with or without TLS.
fn auth_offer(mechanisms: &[ConnectorAuth]) -> AuthOffer {
    if mechanisms.contains(&ConnectorAuth::BasicAuthRequireTls) {
        AuthOffer::BasicAfterTls
    } else if mechanisms.contains(&ConnectorAuth::BasicAuth) {
        AuthOffer::Basic
    } else {
        AuthOffer::None
    }
}
