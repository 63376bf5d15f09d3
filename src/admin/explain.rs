//! The effective policy simulator ("what if"): what the relay would do with a message from
//! one address to another, answered from the settings and certificates in force, step by step
//! in the order the relay decides — the receive connector that would take the session, the
//! client certificate judged, who the session is, the Domain Security table at MAIL FROM, the
//! permission groups, RCPT TO, the marks the message would get; then routing, the TLS
//! requirement of the delivery, our client certificate, and the partner's certificate as last
//! seen judged under that requirement. Every verdict is the relay's own code
//! ([`crate::policy`], [`RunConfig::receive_connector_for`], the engine's client-certificate
//! check), so the simulator cannot disagree with the relay; the integration tests hold the two
//! side by side. No I/O here: the caller builds the run configuration and reads the files.

use super::AdminError;
use crate::config::AuthMechanism as ConnectorAuth;
use crate::engine::config::{ReceiveRuntime, RunConfig};
use crate::pki::chain::Purpose;
use crate::policy::classify::partner_marks;
use crate::policy::inbound::transaction_decision;
use crate::policy::inbound::{ClientCertificate, InboundTls, SenderVerdict, session_identity};
use crate::policy::outbound::{TlsRequirement, judge, requirement};
use crate::policy::refusal::{self, identity_words};
use crate::policy::routing::{Route, route};
use crate::policy::submission::{Identity, RecipientRoute, recipient_decision, sender_allowed};
use crate::policy::trust::evaluate;
use crate::smtp::address::Mailbox;
use crate::smtp::evidence::{DecisionStep, Direction, StepOutcome};
use crate::smtp::replies;
use crate::store::partner_watch::{Presented, Seen};
use std::net::{IpAddr, Ipv4Addr};
use time::OffsetDateTime;

/// The client address assumed when none is given: a host on the Internet (TEST-NET-1).
pub const INTERNET_CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

/// The question.
#[derive(Clone, Debug, Default)]
pub struct Question {
    /// The envelope sender; empty (or `<>`) for the null sender.
    pub from: String,
    pub to: String,
    /// Explain receiving the message from a client (a partner sending to us, or to be relayed);
    /// without it the explanation starts at routing (mail from us).
    pub receive: bool,
    /// The chain the client presents (DER, leaf first); none: TLS without a certificate.
    pub client_certificate: Option<Vec<Vec<u8>>>,
    /// The client uses STARTTLS when offered.
    pub starttls: bool,
    /// The receive connector, by name; otherwise the one that serves `client_ip`.
    pub receive_connector: Option<String>,
    /// The client's address (default [`INTERNET_CLIENT`]).
    pub client_ip: Option<IpAddr>,
    /// The send connector, by name; otherwise routing picks it.
    pub send_connector: Option<String>,
}

/// One half of the answer: its steps and how it ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub title: String,
    pub steps: Vec<DecisionStep>,
    /// `Ok`: what happens; `Err`: the reply that refuses, or why the mail waits.
    pub result: Result<String, String>,
}

/// The answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    pub receiving: Option<Part>,
    pub delivering: Option<Part>,
}

impl Explanation {
    /// Every line of the answer, as `mailflow policy explain` prints it.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for part in [&self.receiving, &self.delivering].into_iter().flatten() {
            out.push_str(&format!("{}\n", part.title));
            for (i, s) in part.steps.iter().enumerate() {
                let mark = match s.outcome {
                    StepOutcome::Passed => "ok  ",
                    StepOutcome::Failed => "FAIL",
                    StepOutcome::NotReached => "  - ",
                };
                out.push_str(&format!("  {:>2}. {mark} {}", i + 1, s.check));
                if !s.detail.is_empty() {
                    out.push_str(&format!(": {}", s.detail));
                }
                out.push('\n');
                if let Some(fix) = &s.fix {
                    out.push_str(&format!("           Fix: {fix}\n"));
                }
            }
            match &part.result {
                Ok(what) => out.push_str(&format!("  => {what}\n")),
                Err(why) => out.push_str(&format!("  => REFUSED: {why}\n")),
            }
        }
        out
    }
}

fn bad(text: String) -> AdminError {
    AdminError::Refused(text)
}

fn mailbox(text: &str, what: &str) -> Result<Option<Mailbox>, AdminError> {
    let t = text.trim().trim_start_matches('<').trim_end_matches('>');
    if t.is_empty() {
        return Ok(None);
    }
    Mailbox::parse(t)
        .map(Some)
        .map_err(|e| bad(format!("{what} '{text}' is not an address: {e}")))
}

/// Answers `q` with the settings of `run`, the certificate watch `sightings` (for the
/// partner's certificate as last seen) at `now`.
pub fn explain(
    run: &RunConfig,
    sightings: &[Seen],
    q: &Question,
    now: OffsetDateTime,
) -> Result<Explanation, AdminError> {
    let from = mailbox(&q.from, "the sender")?;
    let Some(to) = mailbox(&q.to, "the recipient")? else {
        return Err(bad("give a recipient address (--to)".into()));
    };
    let receiving = if q.receive {
        Some(receiving(run, q, from.as_ref(), &to, now)?)
    } else {
        None
    };
    let refused = receiving.as_ref().is_some_and(|p| p.result.is_err());
    let delivering = if refused {
        None
    } else {
        Some(delivering(run, sightings, q, &to, now)?)
    };
    Ok(Explanation {
        receiving,
        delivering,
    })
}

/// The receive connector a client at `ip` reaches on our first listener that serves it.
fn connector_for(run: &RunConfig, ip: IpAddr) -> Option<&ReceiveRuntime> {
    run.listen_addresses()
        .into_iter()
        .find_map(|binding| run.receive_connector_for(binding, ip))
}

fn receiving(
    run: &RunConfig,
    q: &Question,
    from: Option<&Mailbox>,
    to: &Mailbox,
    now: OffsetDateTime,
) -> Result<Part, AdminError> {
    let title = format!(
        "Receiving the message from {} to {to}",
        from.map_or("<>".to_string(), |m| m.to_string())
    );
    let mut steps = Vec::new();
    let ip = q.client_ip.unwrap_or(INTERNET_CLIENT);
    let connector = match &q.receive_connector {
        Some(name) => Some(
            run.receive
                .iter()
                .find(|r| r.name.eq_ignore_ascii_case(name))
                .ok_or_else(|| bad(format!("there is no receive connector '{name}'")))?,
        ),
        None => connector_for(run, ip),
    };
    let Some(rc) = connector else {
        let reply = replies::no_receive_connector(&ip.to_string());
        steps.push(DecisionStep::failed(
            "Receive connector",
            format!("no enabled receive connector serves a client at {ip}"),
            "Add the client's address to a receive connector's remote IP ranges (Receive connectors › Network)",
        ));
        return Ok(Part {
            title,
            steps,
            result: Err(reply.one_line()),
        });
    };
    let s = &rc.settings;
    let starttls_offered = rc.tls.is_some() && s.auth_mechanisms.contains(&ConnectorAuth::Tls);
    steps.push(DecisionStep::passed(
        "Receive connector",
        format!(
            "{} — Domain Security {}, STARTTLS {}, permission groups {}",
            rc.name,
            if s.domain_secure_enabled { "on" } else { "off" },
            if starttls_offered {
                "offered"
            } else {
                "not offered"
            },
            s.permission_groups
                .iter()
                .map(|g| format!("{g:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ));
    let tls_active = starttls_offered && q.starttls;
    steps.push(DecisionStep::passed(
        "TLS",
        match (starttls_offered, q.starttls) {
            (true, true) => "the client uses STARTTLS".to_string(),
            (true, false) => "STARTTLS is offered but the client does not use it".to_string(),
            (false, true) => {
                "the connector offers no STARTTLS: the session stays in plaintext".to_string()
            }
            (false, false) => "no TLS".to_string(),
        },
    ));
    // The client certificate, judged as the relay judges it at STARTTLS and at MAIL FROM.
    let mut ctx = run.trust_context();
    ctx.now = now;
    let chain = q.client_certificate.as_deref().filter(|_| tls_active);
    let eval = chain.and_then(|c| evaluate(c, Purpose::Client, &ctx, None));
    steps.push(DecisionStep::passed(
        "Client certificate",
        match &eval {
            None if q.client_certificate.is_some() && !tls_active => {
                "not presented (no TLS)".to_string()
            }
            None => "none".to_string(),
            Some(e) => format!(
                "{} issued by {} (names {}): {}",
                e.certificate.subject,
                e.certificate.issuer,
                e.certificate.names.join(", "),
                match (&e.pinned, &e.chain) {
                    (Some(p), _) => format!("Direct Trust pin {p}: one of our own servers"),
                    (None, Ok(())) => "the chain validates to a trusted root".to_string(),
                    (None, Err(why)) => format!("the chain does not validate: {why}"),
                }
            ),
        },
    ));
    let session = session_identity(eval.as_ref(), None);
    steps.push(DecisionStep::passed(
        "Session identity",
        match &session {
            Identity::InternalServer { name } => format!("our server {name} (Direct Trust)"),
            _ => "anonymous until MAIL FROM".to_string(),
        },
    ));
    let sender_domain = from.map(|m| m.domain.as_str());
    let claimed = match (sender_domain, &eval) {
        (Some(d), Some(e)) => Some(ClientCertificate {
            names: e.certificate.names.clone(),
            chain: e.chain_for(d, &run.checked.settings.partner_anchors),
            pinned: e.pinned.is_some(),
            partner_pin: e.partner_pin_for(d).is_some(),
            names_note: e.names_note.clone(),
        }),
        _ => None,
    };
    let facts = InboundTls {
        connector_domain_secure: s.domain_secure_enabled,
        starttls_advertised: starttls_offered,
        tls_active,
        client_certificate: claimed,
    };
    let (verdict, table) = transaction_decision(
        &session,
        sender_domain,
        &run.checked.receive_domain_secure,
        &facts,
    );
    steps.extend(table);
    let identity = match &verdict {
        SenderVerdict::Reject { reply, .. } => {
            return Ok(Part {
                title,
                steps,
                result: Err(format!("MAIL FROM is answered {}", reply.one_line())),
            });
        }
        SenderVerdict::Partner { domain, mechanism } => Identity::Partner {
            domain: domain.clone(),
            mechanism: *mechanism,
        },
        _ => session,
    };
    let who = identity_words(&identity);
    if let Err(reply) = sender_allowed(&s.permission_groups, &identity) {
        // The steps the relay records for this refusal.
        steps.extend(refusal::explain(
            &reply,
            &refusal::Context {
                address: None,
                identity: &identity,
                groups: &s.permission_groups,
            },
        ));
        return Ok(Part {
            title,
            steps,
            result: Err(format!("MAIL FROM is answered {}", reply.one_line())),
        });
    }
    steps.push(DecisionStep::passed(
        "Permission groups",
        format!("{who} may send through {}", rc.name),
    ));
    let address = to.to_string();
    match recipient_decision(to, &run.checked, &s.permission_groups, &identity) {
        Err(reply) => {
            steps.extend(refusal::explain(
                &reply,
                &refusal::Context {
                    address: Some(&address),
                    identity: &identity,
                    groups: &s.permission_groups,
                },
            ));
            return Ok(Part {
                title,
                steps,
                result: Err(format!("RCPT TO is answered {}", reply.one_line())),
            });
        }
        Ok(RecipientRoute::Local) => steps.push(DecisionStep::passed(
            "Recipient",
            format!("{} is one of our accepted domains", to.domain),
        )),
        Ok(RecipientRoute::Relay { connector }) => steps.push(DecisionStep::passed(
            "Recipient",
            format!(
                "relayed for {who} through send connector '{}'",
                run.checked.settings.send_connectors[connector].name
            ),
        )),
    }
    let (marking, security) = match &identity {
        Identity::Partner { domain, mechanism } => (
            format!(
                "marked {}",
                partner_marks(domain, *mechanism, run.fqdn()).join("; ")
            ),
            "Domain Secure",
        ),
        Identity::InternalServer { name } => (
            format!("from our server {name}: its own marks are kept"),
            if tls_active {
                "Domain Secure"
            } else {
                "Plaintext"
            },
        ),
        _ => (
            "no marks; any X-Mailflow-* or organization header it carries is removed (header firewall)"
                .to_string(),
            if tls_active { "Encrypted" } else { "Plaintext" },
        ),
    };
    steps.push(DecisionStep::passed("Marking", marking));
    Ok(Part {
        title,
        steps,
        result: Ok(format!("accepted ({security})")),
    })
}

/// The certificate the partner's servers presented last (outbound): the row, the certificate
/// and its chain.
fn last_server_certificate<'a>(
    sightings: &'a [Seen],
    domain: &str,
) -> Option<(
    &'a Seen,
    &'a crate::smtp::evidence::PeerCertificate,
    &'a [Vec<u8>],
)> {
    sightings
        .iter()
        .filter(|s| s.domain == domain && s.direction == Direction::Outbound)
        .filter_map(|s| match &s.presented {
            Presented::Certificate { certificate, chain } if !chain.is_empty() => {
                Some((s, certificate, chain.as_slice()))
            }
            _ => None,
        })
        .max_by_key(|(s, _, _)| s.last_seen)
}

fn delivering(
    run: &RunConfig,
    sightings: &[Seen],
    q: &Question,
    to: &Mailbox,
    now: OffsetDateTime,
) -> Result<Part, AdminError> {
    let domain = crate::config::domain::normalize(&to.domain)
        .map_err(|e| bad(format!("the recipient's domain: {e}")))?;
    let title = format!("Delivering to {to}");
    let mut steps = Vec::new();
    let routed = match &q.send_connector {
        Some(name) => {
            let index = run
                .checked
                .settings
                .send_connectors
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(name))
                .ok_or_else(|| bad(format!("there is no send connector '{name}'")))?;
            Route::Connector {
                index,
                name: run.checked.settings.send_connectors[index].name.clone(),
            }
        }
        None => route(&domain, &run.checked),
    };
    let (index, name) = match routed {
        Route::Local => {
            steps.push(DecisionStep::passed(
                "Routing",
                format!("{domain} is one of our accepted domains: delivered to a mailbox here"),
            ));
            return Ok(Part {
                title,
                steps,
                result: Ok("delivered locally".into()),
            });
        }
        Route::NoRoute => {
            let reply = replies::no_send_connector(&domain);
            steps.push(DecisionStep::failed(
                "Routing",
                format!("no enabled send connector covers {domain}"),
                format!("Add {domain} (or *) to a send connector's address spaces"),
            ));
            return Ok(Part {
                title,
                steps,
                result: Err(reply.one_line()),
            });
        }
        Route::Connector { index, name } => (index, name),
    };
    let sc = &run.checked.settings.send_connectors[index];
    let hosts = run
        .checked
        .send_connectors
        .iter()
        .find(|c| c.index == index)
        .map(|c| {
            c.smart_hosts
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    steps.push(DecisionStep::passed(
        "Routing",
        format!(
            "send connector '{name}', {}",
            if hosts.is_empty() {
                format!("to the MX hosts of {domain}")
            } else {
                format!("to smart host(s) {}", hosts.join(", "))
            }
        ),
    ));
    let req = requirement(&domain, index, &run.checked);
    if let TlsRequirement::Refuse { reason } = &req {
        steps.push(DecisionStep::failed(
            "TLS requirement",
            reason.clone(),
            format!("Turn on Domain Security on send connector '{name}'"),
        ));
        return Ok(Part {
            title,
            steps,
            result: Err(format!("the mail waits in the queue: {reason}")),
        });
    }
    steps.push(DecisionStep::passed("TLS requirement", req.describe()));
    steps.push(DecisionStep::passed(
        "Per-host policies",
        if !hosts.is_empty() {
            "smart hosts: DANE and MTA-STS are not looked up".to_string()
        } else {
            format!(
                "DANE {}, MTA-STS {} — looked up for each MX host at delivery; the stronger requirement holds",
                if sc.dane_enabled { "on" } else { "off" },
                if sc.mta_sts_enabled { "on" } else { "off" }
            )
        },
    ));
    let runtime = run.send.iter().find(|s| s.index == index);
    let ours = runtime.and_then(|s| s.certificate.clone());
    match (&req, &ours) {
        (TlsRequirement::DomainSecure { .. }, None) => {
            let why = runtime
                .and_then(crate::engine::outbound::missing_client_certificate)
                .unwrap_or_else(|| "no client certificate".into());
            steps.push(DecisionStep::failed(
                "Our client certificate",
                why.clone(),
                "Enable an SMTP certificate with clientAuth naming our domain (Certificates)",
            ));
            return Ok(Part {
                title,
                steps,
                result: Err(format!("the mail waits in the queue: {why}")),
            });
        }
        (_, Some(tp)) => steps.push(DecisionStep::passed(
            "Our client certificate",
            format!("certificate {tp} is presented"),
        )),
        (_, None) => steps.push(DecisionStep::passed(
            "Our client certificate",
            "none is presented (not needed here)",
        )),
    }
    let mut ctx = run.trust_context();
    ctx.now = now;
    match last_server_certificate(sightings, &domain) {
        Some((seen, certificate, chain)) => {
            let verdict = judge(&ctx, &req, chain, &seen.host);
            match verdict.refusal {
                Some(why) => {
                    steps.push(DecisionStep::failed(
                        "The partner's certificate (as last seen)",
                        format!("{} at {}: {why}", certificate.subject, seen.host),
                        "Trust the root that issued it, or ask the partner for a certificate naming its domain",
                    ));
                    return Ok(Part {
                        title,
                        steps,
                        result: Err(format!("the mail waits in the queue: {why}")),
                    });
                }
                None => steps.push(DecisionStep::passed(
                    "The partner's certificate (as last seen)",
                    format!(
                        "{} at {}: {}",
                        certificate.subject, seen.host, verdict.trust
                    ),
                )),
            }
        }
        None => steps.push(DecisionStep::passed(
            "The partner's certificate",
            match &req {
                TlsRequirement::DomainSecure { domain } => format!(
                    "not seen yet; at delivery it must chain to a trusted root (or the partner's own anchors or pin) and name {domain}"
                ),
                _ => "not seen yet; judged at delivery".to_string(),
            },
        )),
    }
    let security = match &req {
        TlsRequirement::DomainSecure { .. } => "Domain Secure".to_string(),
        TlsRequirement::NoTls => "Plaintext".to_string(),
        r if r.mandatory() => "Encrypted (TLS is required)".to_string(),
        _ => "Encrypted when the host offers STARTTLS, else Plaintext".to_string(),
    };
    Ok(Part {
        title,
        steps,
        result: Ok(format!("sent through '{name}' ({security})")),
    })
}
