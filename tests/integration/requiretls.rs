//! REQUIRETLS (RFC 8689) through the relay: a message sent with `MAIL FROM:<…> REQUIRETLS`
//! inside TLS goes only to an MX host found securely (a DNSSEC-secure MX answer), authenticated
//! (DANE here) and offering REQUIRETLS itself, which gets the flag on; otherwise it is returned
//! with the RFC's codes (5.7.10, 5.7.30). The flag outlives a restart of the queue. A message
//! with `TLS-Required: No` is delivered past the recipient domain's DANE records, unless it
//! also asked for REQUIRETLS.

use crate::support::dns::{TestDns, Zone};
use crate::support::mx::{FIRST, contoso, mx_port, woodgrove_presenting};
use crate::support::next_hop::{presenting, starttls_mx};
use crate::support::partners::self_signed;
use crate::support::relay_util::{Relay, of_kind, send_mail};
use crate::support::tls::TlsSession;
use crate::support::util::tlsa_sha256;
use mailflow::store::tracking::EventKind;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Alice sends to Bob at Woodgrove through Contoso inside TLS, with REQUIRETLS; the reply to
/// the end of DATA. `headers` go before the subject.
fn send_requiring_tls(contoso: &Relay, subject: &str, headers: &str) -> String {
    let mut session = TlsSession::starttls(
        contoso.addr(),
        None,
        "app.contoso.test",
        "mail.contoso.test",
        Duration::from_secs(10),
    );
    session.ehlo("app.contoso.test");
    let r = session.cmd("MAIL FROM:<alice@contoso.test> REQUIRETLS");
    assert!(r.starts_with("250"), "{r}");
    session.message(
        "bob@woodgrove.test",
        &format!("{headers}Subject: {subject}\n\nfor TLS only\n"),
    )
}

/// Woodgrove's zone, signed: mx1.woodgrove.test on 127.0.0.2 with a DANE-EE record of `der`
/// for MX port `port` (none without `der`).
fn signed_zone(port: u16, der: Option<&[u8]>) -> Zone {
    let zone = Zone::new("woodgrove.test")
        .mx("woodgrove.test", 10, "mx1.woodgrove.test")
        .a("mx1.woodgrove.test", FIRST);
    match der {
        Some(der) => zone.tlsa(
            &format!("_{port}._tcp.mx1.woodgrove.test"),
            3,
            1,
            1,
            &tlsa_sha256(der, 1),
        ),
        None => zone,
    }
    .signed()
}

/// The message comes back to Alice: a Fail event with `code` and `why`, and her NDR.
fn returned(contoso: &Relay, code: &str, why: &str) {
    let fails = contoso.wait_kind(EventKind::Fail, 1);
    let reply = fails[0].response.clone().unwrap_or_default();
    assert!(reply.starts_with(code) && reply.contains(why), "{reply}");
    let ndr = contoso.wait_mailbox("contoso.test", "alice", 1);
    assert!(ndr[0].contains(code), "{}", ndr[0]);
    assert!(contoso.track(&of_kind(EventKind::Send)).is_empty());
}

#[test]
fn requiretls_goes_to_an_authenticated_mx_that_offers_it_and_survives_a_restart() {
    let port = mx_port();
    let (bundle, der, _) = self_signed("mx1.woodgrove.test", &["mx1.woodgrove.test"]);
    let dns = TestDns::start(vec![signed_zone(port, Some(&der))]);
    let mut contoso = contoso(&dns, port);
    // The MX host is not up yet: the message waits, flag and all, through a restart.
    let r = send_requiring_tls(&contoso, "kept", "");
    assert!(r.starts_with("250"), "{r}");
    contoso.wait_kind(EventKind::Defer, 1);
    contoso.restart();
    let mx1 = woodgrove_presenting(FIRST, port, &bundle);
    contoso.retry_now("woodgrove.test", Duration::from_secs(30));
    mx1.wait_mailbox("woodgrove.test", "bob", 1);
    let sent = contoso.wait_kind(EventKind::Send, 1);
    let evidence = sent[0].detail.clone().unwrap_or_default();
    assert!(
        evidence.contains("REQUIRETLS") && evidence.contains("authenticated by DANE-EE(3)"),
        "{evidence}"
    );
    // The next hop got the flag on, so it travels on.
    let line = mx1.wait_protocol_log("SmtpReceive", "<,MAIL FROM:<alice@contoso.test>");
    assert!(line.ends_with(" REQUIRETLS,"), "{line}");
}

#[test]
fn requiretls_to_an_mx_not_found_securely_is_returned() {
    let port = mx_port();
    let (bundle, _, _) = self_signed("mx1.woodgrove.test", &["mx1.woodgrove.test"]);
    let mx1 = woodgrove_presenting(FIRST, port, &bundle);
    let dns = TestDns::start(vec![
        Zone::new("woodgrove.test")
            .mx("woodgrove.test", 10, "mx1.woodgrove.test")
            .a("mx1.woodgrove.test", FIRST),
    ]);
    let contoso = contoso(&dns, port);
    assert!(send_requiring_tls(&contoso, "insecure", "").starts_with("250"));
    returned(&contoso, "550 5.7.10", "was not found securely");
    assert!(mx1.track(&of_kind(EventKind::Receive)).is_empty());
}

#[test]
fn requiretls_to_an_mx_it_cannot_authenticate_is_returned() {
    let port = mx_port();
    let (bundle, _, _) = self_signed("mx1.woodgrove.test", &["mx1.woodgrove.test"]);
    let mx1 = woodgrove_presenting(FIRST, port, &bundle);
    // Secure, but no TLSA and a certificate no trusted root vouches for.
    let dns = TestDns::start(vec![signed_zone(port, None)]);
    let contoso = contoso(&dns, port);
    assert!(send_requiring_tls(&contoso, "unauthenticated", "").starts_with("250"));
    returned(
        &contoso,
        "550 5.7.10",
        "no trusted/matching server certificate was found at host mx1.woodgrove.test",
    );
    assert!(mx1.track(&of_kind(EventKind::Receive)).is_empty());
}

#[test]
fn requiretls_to_an_mx_that_does_not_offer_it_is_returned() {
    let port = mx_port();
    let (_, der, key) = self_signed("mx1.woodgrove.test", &["mx1.woodgrove.test"]);
    let seen = starttls_mx(
        TcpListener::bind((FIRST, port)).expect("MX port"),
        Arc::new(Mutex::new(presenting(&der, &key))),
    );
    let dns = TestDns::start(vec![signed_zone(port, Some(&der))]);
    let contoso = contoso(&dns, port);
    assert!(send_requiring_tls(&contoso, "not offered", "").starts_with("250"));
    returned(&contoso, "550 5.7.30", "does not offer REQUIRETLS");
    let lines = seen.lock().unwrap().clone();
    assert!(
        lines.iter().all(|l| !l.starts_with("MAIL")),
        "no transaction: {lines:?}"
    );
}

#[test]
fn tls_required_no_waives_dane_unless_requiretls_was_asked_for() {
    let port = mx_port();
    let (bundle, _, _) = self_signed("mx1.woodgrove.test", &["mx1.woodgrove.test"]);
    let (_, other, _) = self_signed("mx1.woodgrove.test", &["mx1.woodgrove.test"]);
    let mx1 = woodgrove_presenting(FIRST, port, &bundle);
    // DANE names another certificate: without the header, nothing could be sent.
    let dns = TestDns::start(vec![signed_zone(port, Some(&other))]);
    let contoso = contoso(&dns, port);
    let reply = send_mail(
        contoso.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        "TLS-Required: No\nSubject: waived\n\nabout the certificate problem\n",
    );
    assert!(reply.starts_with("250"), "{reply}");
    mx1.wait_mailbox("woodgrove.test", "bob", 1);
    let sent = contoso.wait_kind(EventKind::Send, 1);
    assert!(
        sent[0]
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("TLS-Required: No (DANE and MTA-STS not applied)")),
        "{sent:#?}"
    );
    // With REQUIRETLS as well, REQUIRETLS wins: DANE holds, and the message comes back.
    assert!(send_requiring_tls(&contoso, "both", "TLS-Required: No\n").starts_with("250"));
    let fails = contoso.wait_kind(EventKind::Fail, 1);
    let why = fails[0].response.clone().unwrap_or_default();
    assert!(
        why.starts_with("550 5.7.10")
            && why.contains("DANE: the certificate of mx1.woodgrove.test"),
        "{why}"
    );
    assert_eq!(mx1.mailbox("woodgrove.test", "bob").len(), 1);
}
