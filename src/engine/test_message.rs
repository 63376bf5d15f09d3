//! A test message from the administrator (the console's "Send test message…", `mailflow
//! test-message`): one small message from a sender to a recipient, sent *now* through a send
//! connector — the one routing picks for the recipient's domain, or one named — or straight
//! to a host, by the same outbound session as every queued message, under the same TLS
//! requirement (Domain Security for a partner on the send list never falls back). It is not
//! queued: a test that cannot be delivered says why at once instead of retrying for days. Its
//! outcome is recorded in message tracking like any other (findable by sender, recipient,
//! subject or Message-ID), with the protocol log's session id; the report gives each step, the
//! session's transcript, the TLS facts and the security the message was sent with.

use super::delivery::{Loaded, record_outcomes};
use super::outbound::{RemoteJob, deliver, session_log_id};
use super::queue::Outcome;
use super::services::Services;
use crate::config::net::SmartHost;
use crate::engine::config::RunConfig;
use crate::policy::outbound::{MessageTls, TlsRequirement, requirement};
use crate::policy::routing::{Route, route};
use crate::smtp::address::{Mailbox, ReversePath};
use crate::smtp::envelope::{Envelope, new_message_id};
use crate::smtp::evidence::{HopEvidence, SecurityStatus};
use crate::smtp::headers::rfc5322_date;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// The subject every test message carries, so tracking finds them.
pub const SUBJECT: &str = "Mailflow test message";

/// What the administrator asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestMessage {
    /// The sender (`administrator@contoso.test`).
    pub from: String,
    /// The recipient (`bob@woodgrove.test`).
    pub to: String,
    /// The send connector to use, by name; `None`: the one routing picks for the recipient.
    pub connector: Option<String>,
    /// `host[:port]` to send to instead of the connector's smart hosts or MX hosts.
    pub host: Option<String>,
}

/// How the test ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TestOutcome {
    /// The next hop took the message: its reply.
    Sent(String),
    /// The next hop refused the recipient permanently, or no host can take it.
    Failed(String),
    /// It could not be sent now (no answer, TLS requirement not met, 4xx): why.
    NotSent(String),
}

impl TestOutcome {
    pub fn words(&self) -> &'static str {
        match self {
            TestOutcome::Sent(_) => "Sent",
            TestOutcome::Failed(_) => "Refused",
            TestOutcome::NotSent(_) => "Not sent",
        }
    }

    pub fn text(&self) -> &str {
        match self {
            TestOutcome::Sent(t) | TestOutcome::Failed(t) | TestOutcome::NotSent(t) => t,
        }
    }
}

/// One step of the test, in the order the relay took it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestStep {
    pub what: String,
    pub passed: bool,
}

/// What the test found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestReport {
    pub request: TestMessage,
    /// Our internal id and the Message-ID header, to find the message in tracking.
    pub internal_id: String,
    pub message_id: String,
    pub steps: Vec<TestStep>,
    pub outcome: TestOutcome,
    /// The hop that carried the message, or the last one tried: TLS facts, security, policy.
    pub hop: Option<HopEvidence>,
    /// The security the message was sent with (`None` when it was not sent).
    pub security: Option<SecurityStatus>,
    /// Each session's protocol log id and transcript (secrets redacted), in order.
    pub sessions: Vec<(String, Vec<String>)>,
}

/// Where the test goes, decided from the settings before anything is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub sender: ReversePath,
    pub recipient: Mailbox,
    /// The send connector's index and name.
    pub connector: (usize, String),
    pub only_host: Option<SmartHost>,
    pub requirement: TlsRequirement,
    /// The steps decided so far, in words.
    pub steps: Vec<TestStep>,
}

/// Checks the request against the settings and decides the connector and TLS requirement.
pub fn plan(req: &TestMessage, run: &RunConfig) -> Result<Plan, String> {
    let sender = match req.from.trim() {
        "" | "<>" => ReversePath::Null,
        from => ReversePath::Mailbox(Mailbox::parse(from).map_err(|e| format!("Sender: {e}"))?),
    };
    let recipient = Mailbox::parse(req.to.trim()).map_err(|e| format!("Recipient: {e}"))?;
    let domain = recipient.domain.clone();
    let mut steps = Vec::new();
    let routed = route(&domain, &run.checked);
    let named = req
        .connector
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let (index, name) = match (named, routed) {
        (Some(n), _) => {
            let found = run
                .send
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case(n))
                .ok_or_else(|| {
                    format!("there is no enabled send connector named '{n}': pick one of the list")
                })?;
            steps.push(TestStep {
                what: format!("Send connector '{}', as chosen", found.name),
                passed: true,
            });
            (found.index, found.name.clone())
        }
        (None, Route::Connector { index, name }) => {
            steps.push(TestStep {
                what: format!("Routing picks send connector '{name}' for {domain}"),
                passed: true,
            });
            (index, name)
        }
        (None, Route::Local) => {
            return Err(format!(
                "{domain} is one of our accepted domains: a test message goes out through a send connector; choose one, or send to a partner's address"
            ));
        }
        (None, Route::NoRoute) => {
            return Err(format!(
                "no send connector covers {domain}: choose a connector, or add {domain} to one's address space"
            ));
        }
    };
    let only_host = match req.host.as_deref().map(str::trim).filter(|h| !h.is_empty()) {
        Some(h) => {
            let host = SmartHost::parse(h, 25).map_err(|e| format!("Host: {e}"))?;
            steps.push(TestStep {
                what: format!("Straight to {host}, instead of the connector's hosts"),
                passed: true,
            });
            Some(host)
        }
        None => None,
    };
    let requirement = requirement(&domain, index, &run.checked);
    let refused = matches!(requirement, TlsRequirement::Refuse { .. });
    steps.push(TestStep {
        what: format!("TLS requirement: {}", requirement.describe()),
        passed: !refused,
    });
    Ok(Plan {
        sender,
        recipient,
        connector: (index, name),
        only_host,
        requirement,
        steps,
    })
}

/// The test message itself: headers that say what it is, and a short body.
pub fn compose(plan: &Plan, message_id: &str, fqdn: &str, now: time::OffsetDateTime) -> Vec<u8> {
    let from = match &plan.sender {
        ReversePath::Null => format!("MAILER-DAEMON@{fqdn}"),
        ReversePath::Mailbox(m) => m.to_string(),
    };
    format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: {SUBJECT}\r\nDate: {date}\r\nMessage-ID: {message_id}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\nAuto-Submitted: auto-generated\r\n\r\nThis is a test message sent by the Mailflow administrator from {fqdn}\r\nthrough send connector '{connector}' ({policy}).\r\nNo reply is needed.\r\n",
        to = plan.recipient,
        date = rfc5322_date(now),
        connector = plan.connector.1,
        policy = plan.requirement.describe(),
    )
    .into_bytes()
}

/// Sends the test message now and reports what happened; records it in message tracking.
pub async fn send(services: &Arc<Services>, req: &TestMessage) -> Result<TestReport, String> {
    let run = services.config();
    let plan = plan(req, &run)?;
    let Some(connector) = run.send.iter().find(|s| s.index == plan.connector.0) else {
        return Err(format!(
            "send connector '{}' is not running",
            plan.connector.1
        ));
    };
    let mut random = [0u8; 16];
    aws_lc_rs::rand::fill(&mut random)
        .map_err(|_| "the system gave no random numbers for the message id".to_string())?;
    let id = new_message_id(random);
    let message_id = format!("<{id}@{}>", run.fqdn());
    let now = time::OffsetDateTime::now_utc();
    let body = compose(&plan, &message_id, run.fqdn(), now);
    let recipient = plan.recipient.to_string();
    let mut envelope = Envelope::generated(
        id.clone(),
        vec![recipient.clone()],
        &body,
        run.fqdn(),
        "test message from the administrator".into(),
        crate::store::clock::now_ms(),
    );
    envelope.sender = plan.sender.clone();
    envelope.message_id = Some(message_id.clone());
    let envelope = Arc::new(envelope);
    let group: Vec<Loaded> = vec![(envelope, vec![recipient.clone()], Arc::new(body))];
    let current = || services.config();
    let dns = || services.dns_now();
    let result = deliver(RemoteJob {
        run: run.clone(),
        current: &current,
        connector,
        domain: plan.recipient.domain.clone(),
        requirement: plan.requirement.clone(),
        messages: group.clone(),
        message_tls: MessageTls::AsPolicies,
        live: services.live.clone(),
        log: Some(services.log.clone()),
        dns: &dns,
        mta_sts: &services.mta_sts,
        host_health: &services.host_health,
        only_host: plan.only_host.clone(),
    })
    .await;
    let mut outcomes = HashMap::new();
    record_outcomes(
        services,
        &group,
        &result,
        &mut outcomes,
        Some("test message from the administrator"),
    );
    let outcome = match outcomes.get(&(id.clone(), recipient)) {
        Some(Outcome::Delivered(r) | Outcome::Relayed(r)) => TestOutcome::Sent(r.clone()),
        Some(Outcome::Failed(r)) => TestOutcome::Failed(r.clone()),
        Some(Outcome::Deferred(r)) => TestOutcome::NotSent(r.clone()),
        None => TestOutcome::NotSent(
            result
                .error
                .clone()
                .unwrap_or_else(|| "no session was opened".into()),
        ),
    };
    let closed = services.live.snapshot().closed;
    let sessions = result
        .sessions
        .iter()
        .map(|live_id| {
            let transcript = closed
                .iter()
                .rev()
                .find(|s| s.id == *live_id)
                .map(|s| s.transcript.iter().cloned().collect())
                .unwrap_or_default();
            (session_log_id(*live_id), transcript)
        })
        .collect();
    let mut steps = plan.steps;
    if let Some(hop) = &result.hop {
        steps.push(TestStep {
            what: format!("Connected to {} ({})", hop.peer_name, hop.remote),
            passed: true,
        });
        steps.push(TestStep {
            what: hop.tls_summary(),
            passed: hop.tls.is_some() || !plan.requirement.mandatory(),
        });
        if let Some(d) = &hop.auth_domain {
            steps.push(TestStep {
                what: format!("Partner authenticated as {d}"),
                passed: true,
            });
        }
    }
    steps.push(TestStep {
        what: format!("{}: {}", outcome.words(), outcome.text()),
        passed: matches!(outcome, TestOutcome::Sent(_)),
    });
    let security = match outcome {
        TestOutcome::Sent(_) => result.hop.as_ref().map(|h| h.security),
        _ => None,
    };
    Ok(TestReport {
        request: req.clone(),
        internal_id: id,
        message_id,
        steps,
        outcome,
        hop: result.hop,
        security,
        sessions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::Workspace;

    fn run(dir: &std::path::Path) -> RunConfig {
        let data = crate::store::DataDir::new(dir);
        let now = time::OffsetDateTime::now_utc();
        crate::admin::init(&data, "Contoso", "mail.contoso.test", "contoso.test", now).unwrap();
        let mut ws = Workspace::open(&data).unwrap();
        ws.settings
            .transport
            .tls_send_domain_secure_list
            .push("woodgrove.test".into());
        ws.settings.send_connectors[0].domain_secure_enabled = true;
        RunConfig::build(&ws, now).unwrap()
    }

    #[test]
    fn a_partner_on_the_send_list_is_planned_with_domain_security() {
        let tmp = tempfile::tempdir().unwrap();
        let run = run(tmp.path());
        let p = plan(
            &TestMessage {
                from: "admin@contoso.test".into(),
                to: "bob@woodgrove.test".into(),
                connector: None,
                host: Some("127.0.0.1:2525".into()),
            },
            &run,
        )
        .unwrap();
        assert_eq!(
            p.requirement,
            TlsRequirement::DomainSecure {
                domain: "woodgrove.test".into()
            }
        );
        assert_eq!(p.only_host.unwrap().port, 2525);
        assert!(p.steps.iter().any(|s| s.what.contains("Domain Security")));
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let tmp = tempfile::tempdir().unwrap();
        let run = run(tmp.path());
        let ask = |from: &str, to: &str, connector: Option<&str>| {
            plan(
                &TestMessage {
                    from: from.into(),
                    to: to.into(),
                    connector: connector.map(str::to_string),
                    host: None,
                },
                &run,
            )
            .err()
            .unwrap_or_default()
        };
        assert!(ask("admin", "bob@woodgrove.test", None).starts_with("Sender: "));
        assert!(ask("", "bob", None).starts_with("Recipient: "));
        assert!(ask("", "bob@woodgrove.test", Some("Nope")).contains("no enabled send connector"));
        let local = run.checked.accepted_domains.iter().next().cloned().unwrap();
        assert!(ask("", &format!("x@{local}"), None).contains("accepted domains"));
    }

    #[test]
    fn the_message_says_it_is_a_test() {
        let tmp = tempfile::tempdir().unwrap();
        let run = run(tmp.path());
        let req = TestMessage {
            from: "admin@contoso.test".into(),
            to: "bob@woodgrove.test".into(),
            ..Default::default()
        };
        let p = plan(&req, &run).unwrap();
        let body = compose(
            &p,
            "<x@mail.contoso.test>",
            "mail.contoso.test",
            time::OffsetDateTime::UNIX_EPOCH,
        );
        let text = String::from_utf8(body).unwrap();
        assert!(text.contains("Subject: Mailflow test message\r\n"));
        assert!(text.contains("To: <bob@woodgrove.test>\r\n"));
        assert!(
            text.contains("Auto-Submitted: auto-generated\r\n"),
            "no auto-replies"
        );
        assert!(text.contains("Domain Security for woodgrove.test"));
    }
}
