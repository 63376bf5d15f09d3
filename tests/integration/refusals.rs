//! Every refusal of an inbound session or command is evidence in message tracking: a `REJECT`
//! event with the remote address, EHLO name, sender and recipients so far, the TLS facts and
//! client certificate, the reply given and the decision steps ("Why") with what would change
//! the outcome — and one more on the "Rejected" tile. Driven by outside clients: swaks (with a
//! client certificate) and openssl.

use crate::support::partners::pair;
use crate::support::relay_util::Relay;
use crate::support::swaks;
use crate::support::util::{p, peer};
use mailflow::smtp::evidence::{SecurityStatus, StepOutcome};
use mailflow::store::tracking::{EventKind, TrackingEvent, TrackingQuery};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

fn refusals() -> TrackingQuery {
    TrackingQuery {
        kind: Some(EventKind::Reject),
        ..Default::default()
    }
}

/// Waits for a refusal whose reply starts with `reply`.
fn refusal(relay: &Relay, reply: &str) -> TrackingEvent {
    let ev = relay.wait_track(&format!("REJECT {reply}"), &refusals(), |e| {
        e.iter()
            .any(|x| x.response.as_deref().unwrap_or("").starts_with(reply))
    });
    ev.into_iter()
        .find(|x| x.response.as_deref().unwrap_or("").starts_with(reply))
        .expect("found")
}

fn rejected_tile(relay: &Relay) -> u64 {
    relay.handle().snapshot().counters.rejected
}

/// A partner's server presents a certificate that does not name the listed sender domain:
/// swaks gets `454 4.7.5`, and tracking says who, with which certificate, and why — the names
/// check failed, the chain check was not reached, and what to ask the partner for.
#[test]
fn a_domain_security_refusal_is_recorded_with_the_certificate_and_why() {
    if peer("swaks").is_none() {
        return;
    }
    let (a, b) = pair();
    let before = rejected_tile(&b.relay);
    // contoso.test is on woodgrove's receive list; this certificate names fabrikam only.
    let (bundle, _, _) = a.ca.good("mail.fabrikam.test", &["mail.fabrikam.test"]);
    let split = bundle
        .find("-----BEGIN PRIVATE KEY-----")
        .expect("bundle has a key");
    let cert = a.relay.org.file("wrong-name.pem");
    let key = a.relay.org.file("wrong-name.key");
    std::fs::write(&cert, &bundle[..split]).unwrap();
    std::fs::write(&key, &bundle[split..]).unwrap();
    let server = b.relay.addr().to_string();
    let (ok, text) = swaks::run(&[
        "--server",
        &server,
        "--helo",
        "mail.contoso.test",
        "--from",
        "alice@contoso.test",
        "--to",
        "bob@woodgrove.test",
        "--tls",
        "--tls-cert",
        p(&cert),
        "--tls-key",
        p(&key),
    ]);
    assert!(
        !ok && text.contains("454 4.7.5 Certificate validation failure"),
        "{text}"
    );
    let e = refusal(&b.relay, "454 4.7.5");
    assert_eq!(e.sender, "alice@contoso.test");
    assert_eq!(e.helo.as_deref(), Some("mail.contoso.test"));
    assert_eq!(e.connector.as_deref(), Some("Default"));
    assert!(e.client.as_deref().unwrap_or("").starts_with("127.0.0.1:"));
    assert_eq!(e.security, SecurityStatus::Encrypted);
    let tls = e.tls.as_ref().expect("TLS facts");
    let c = tls.peer_certificate.as_ref().expect("client certificate");
    assert!(c.subject.contains("mail.fabrikam.test"), "{}", c.subject);
    assert!(c.issuer.contains("contoso.test Root"), "{}", c.issuer);
    assert_eq!(c.thumbprint.len(), 40);
    assert!(
        e.detail
            .as_deref()
            .unwrap_or("")
            .contains("does not contain the domain name contoso.test"),
        "{:?}",
        e.detail
    );
    // The session id is the protocol log's: `mailflow log --session` shows its lines.
    let session = e.session.clone().expect("session id");
    assert!(e.internal_id.starts_with(&format!("{session}-R")));
    b.relay.wait_protocol_log("SmtpReceive", "454 4.7.5");
    let log = b.relay.org.ok(&["log", "--session", &session]);
    assert!(
        log.lines().all(|l| l.contains(&session))
            && log.contains("< MAIL FROM:<alice@contoso.test>"),
        "{log}"
    );
    assert!(
        log.contains("> 454 4.7.5 Certificate validation failure"),
        "{log}"
    );
    assert!(
        log.contains("(names: mail.fabrikam.test)  [Domain Security]"),
        "{log}"
    );
    let days = b.relay.org.ok(&["log", "--days"]);
    assert_eq!(days.lines().count(), 1, "{days}");
    let err = b.relay.org.fails(&["log", "--day", "yesterday"]);
    assert!(err.contains("'yesterday' is not a day"), "{err}");
    // Why: the table in Exchange's order.
    let outcomes: Vec<(&str, StepOutcome)> = e
        .why
        .iter()
        .map(|s| (s.check.as_str(), s.outcome))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (
                "Sender domain on the receive domain secure list",
                StepOutcome::Passed
            ),
            (
                "Domain Security on this receive connector",
                StepOutcome::Passed
            ),
            ("STARTTLS offered and used", StepOutcome::Passed),
            ("Client certificate presented", StepOutcome::Passed),
            ("Certificate names the sender domain", StepOutcome::Failed),
            (
                "Certificate chain valid, or certificate pinned",
                StepOutcome::NotReached
            ),
        ]
    );
    let fix = e.why[4].fix.as_deref().unwrap_or("");
    assert!(
        fix.contains("a certificate naming contoso.test") && fix.contains("off the receive"),
        "{fix}"
    );
    assert!(rejected_tile(&b.relay) > before);
}

/// Relay denied, with the recipient and the way out; and a session over the connector's
/// connection limit, turned away at once, recorded too.
#[test]
fn relay_denied_and_connection_limits_are_recorded() {
    if peer("swaks").is_none() {
        return;
    }
    let relay = Relay::start("mail.contoso.test", "contoso.test", |s| {
        s.receive_connectors[0].max_inbound_connections_per_source = 1;
    });
    let server = relay.addr().to_string();
    let (ok, text) = swaks::run(&[
        "--server",
        &server,
        "--helo",
        "app.contoso.test",
        "--from",
        "app@contoso.test",
        "--to",
        "eve@crimson.test",
    ]);
    assert!(!ok && text.contains("550 5.7.1 Unable to relay"), "{text}");
    let e = refusal(&relay, "550 5.7.1");
    assert_eq!(e.recipients, vec!["eve@crimson.test"]);
    assert_eq!(e.sender, "app@contoso.test");
    assert_eq!(e.security, SecurityStatus::Plaintext);
    assert_eq!(e.why.len(), 1);
    assert_eq!(e.why[0].outcome, StepOutcome::Failed);
    assert!(
        e.why[0]
            .detail
            .contains("crimson.test is not one of our accepted domains"),
        "{:?}",
        e.why
    );
    // Searching by the refused recipient finds it.
    let found = relay.track(&TrackingQuery {
        recipient: Some("eve@crimson".into()),
        kind: Some(EventKind::Reject),
        ..Default::default()
    });
    assert_eq!(found.len(), 1);
    // The command line shows the same, with why.
    let text = relay.org.ok(&["track", "--status", "refused", "--details"]);
    for part in [
        "REJECT",
        "RCPT TO:<eve@crimson.test> refused",
        "EHLO name   app.contoso.test",
        "Failed      Recipient in an accepted domain",
        "To change it: If crimson.test is ours",
    ] {
        assert!(text.contains(part), "{part} missing in:\n{text}");
    }

    // One connection per source: the second is turned away with 421 and recorded.
    let mut first = TcpStream::connect(relay.addr()).unwrap();
    first
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 512];
    let n = first.read(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"220"));
    let mut second = TcpStream::connect(relay.addr()).unwrap();
    second
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let n = second.read(&mut buf).unwrap();
    let greeting = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(greeting.starts_with("421 4.3.2"), "{greeting}");
    let e = refusal(
        &relay,
        "421 4.3.2 The maximum number of concurrent connections",
    );
    assert_eq!(e.session, None);
    assert!(
        e.detail
            .as_deref()
            .unwrap_or("")
            .starts_with("connection refused")
    );
    assert_eq!(e.why[0].check, "Connections within this connector's limits");
    assert!(
        e.why[0].detail.contains("1 from one address"),
        "{:?}",
        e.why
    );
    let _ = first.write_all(b"QUIT\r\n");
    assert!(rejected_tile(&relay) >= 2);
}

/// A client whose TLS cannot meet ours (openssl offering only a cipher suite rustls does not
/// implement): the handshake fails, no reply is possible, and the refusal is recorded with the
/// reason and what to look at.
#[test]
fn a_failed_starttls_handshake_is_recorded_with_its_reason() {
    if peer("openssl").is_none() {
        return;
    }
    let relay = Relay::start("mail.contoso.test", "contoso.test", |_| {});
    let server = relay.addr().to_string();
    let out = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &server,
            "-starttls",
            "smtp",
            "-name",
            "client.fabrikam.test",
            "-tls1_2",
            "-cipher",
            "AES128-SHA",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("openssl runs");
    assert!(!out.status.success(), "the handshake cannot succeed");
    let e = relay.wait_track("REJECT STARTTLS", &refusals(), |e| {
        e.iter().any(|x| {
            x.detail
                .as_deref()
                .unwrap_or("")
                .starts_with("STARTTLS refused")
        })
    });
    let e = &e[0];
    assert_eq!(e.helo.as_deref(), Some("client.fabrikam.test"));
    assert!(e.tls.is_none());
    assert!(
        e.response
            .as_deref()
            .unwrap_or("")
            .contains("TLS handshake failed"),
        "{:?}",
        e.response
    );
    assert_eq!(e.why[0].check, "TLS handshake");
    assert!(
        e.why[0]
            .fix
            .as_deref()
            .unwrap_or("")
            .contains("TLS 1.2 or 1.3"),
        "{:?}",
        e.why
    );
}
