//! DANE for SMTP (RFC 7672) against the test DNS server's signed zones: TLSA records computed
//! by openssl from the MX host's certificate, and the relay delivering only where they hold —
//! DANE-EE and DANE-TA that match, a wrong digest, a DANE-TA certificate without the right
//! name, records in an unsigned zone (ignored), records none of which is usable (TLS still
//! required), a bogus TLSA answer (the host is not used), Domain Security and DANE on the same
//! domain (both must hold), and a server that replays the real certificate without its key.

use crate::support::dns::{TestDns, Zone};
use crate::support::mx::{FIRST, SECOND, contoso, mx_port, woodgrove_presenting};
use crate::support::next_hop::{presenting, scripted, starttls_mx};
use crate::support::partners::{self, TestCa, expect_deferred, self_signed};
use crate::support::relay_util::{Relay, of_kind, send_mail};
use crate::support::util::tlsa_sha256;
use mailflow::config::{AcceptedDomain, DnssecTrustAnchor};
use mailflow::smtp::evidence::{SecurityStatus, TrustLevel};
use mailflow::store::tracking::{EventKind, TrackingEvent};
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A signed woodgrove.test with one MX, mx1.woodgrove.test on 127.0.0.2, and nothing else.
fn woodgrove_zone() -> Zone {
    Zone::new("woodgrove.test")
        .mx("woodgrove.test", 10, "mx1.woodgrove.test")
        .a("mx1.woodgrove.test", FIRST)
}

/// Sends one message from Alice to Bob at Woodgrove through Contoso.
fn send(contoso: &Relay, subject: &str) {
    let reply = send_mail(
        contoso.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        &format!("Subject: {subject}\n\nover DANE\n"),
    );
    assert!(reply.starts_with("250"), "{reply}");
}

/// The reply of the first deferral, which must be the only outcome so far.
fn deferral(contoso: &Relay) -> String {
    let defers = contoso.wait_kind(EventKind::Defer, 1);
    assert!(
        contoso.track(&of_kind(EventKind::Send)).is_empty(),
        "nothing may be sent"
    );
    defers[0].response.clone().unwrap_or_default()
}

fn detail(event: &TrackingEvent) -> String {
    event.detail.clone().unwrap_or_default()
}

#[test]
fn dane_ee_authenticates_the_mx_whatever_names_its_certificate_carries() {
    let port = mx_port();
    // Self-signed and naming another host: under DANE-EE only the key counts.
    let (bundle, der, _) = self_signed("not-the-mx.example", &["not-the-mx.example"]);
    let mx1 = woodgrove_presenting(FIRST, port, &bundle);
    let owner = format!("_{port}._tcp.mx1.woodgrove.test");
    let dns = TestDns::start(vec![
        woodgrove_zone()
            .tlsa(&owner, 3, 1, 1, &tlsa_sha256(&der, 1))
            .signed(),
    ]);
    let contoso = contoso(&dns, port);
    send(&contoso, "dane-ee");
    mx1.wait_mailbox("woodgrove.test", "bob", 1);
    let sent = contoso.wait_kind(EventKind::Send, 1);
    let evidence = detail(&sent[0]);
    assert!(
        evidence.contains(&format!("DANE: 1 usable TLSA record at {owner}"))
            && evidence.contains("authenticated by DANE-EE(3) 3 1 1"),
        "{sent:#?}"
    );
    // The console's Policy column names it.
    assert_eq!(
        mailflow::policy::classify::hop_policy_text(&evidence),
        "DANE"
    );
    assert_eq!(sent[0].security, SecurityStatus::Encrypted, "not a partner");
    let tls = sent[0].tls.as_ref().expect("TLS facts");
    assert_eq!(tls.trust, TrustLevel::Verified, "{tls:?}");
    assert!(
        tls.trust_detail
            .as_deref()
            .is_some_and(|d| d.starts_with("authenticated by DANE: DANE-EE(3)")),
        "{tls:?}"
    );
    // The probe finds the same: the MX host, its records, and a passing DANE verdict.
    let out = contoso.org.ok(&["probe", "--domain", "woodgrove.test"]);
    assert!(
        out.contains("Found by        MX mx1.woodgrove.test (preference 10), DNSSEC secure")
            && out.contains(&format!(
                "DANE            DANE: 1 usable TLSA record at {owner}: DANE-EE(3) 3 1 1"
            ))
            && out.contains("[PASS] DANE"),
        "{out}"
    );
}

#[test]
fn a_tlsa_digest_that_names_another_key_defers_and_nothing_is_sent() {
    let port = mx_port();
    let (bundle, _, _) = self_signed("mx1.woodgrove.test", &["mx1.woodgrove.test"]);
    let (_, other, _) = self_signed("mx1.woodgrove.test", &["mx1.woodgrove.test"]);
    let mx1 = woodgrove_presenting(FIRST, port, &bundle);
    let owner = format!("_{port}._tcp.mx1.woodgrove.test");
    let dns = TestDns::start(vec![
        woodgrove_zone()
            .tlsa(&owner, 3, 1, 1, &tlsa_sha256(&other, 1))
            .signed(),
    ]);
    let contoso = contoso(&dns, port);
    send(&contoso, "wrong digest");
    let why = deferral(&contoso);
    assert!(
        why.starts_with("4")
            && why.contains(
                "DANE: the certificate of mx1.woodgrove.test matches none of the TLSA records"
            )
            && why.contains("would be published as 3 1 1"),
        "{why}"
    );
    assert!(mx1.mailbox("woodgrove.test", "bob").is_empty());
    let out = contoso.org.ok(&["probe", "--domain", "woodgrove.test"]);
    assert!(
        out.contains("[FAIL] DANE") && out.contains("matches none of the TLSA records"),
        "{out}"
    );
    // Never in plaintext either: the MX saw no transaction at all.
    assert!(mx1.track(&of_kind(EventKind::Receive)).is_empty());
    // An administrator who turns DANE off on the send connector gets opportunistic TLS.
    let connector = contoso.workspace().settings.send_connectors[0].name.clone();
    contoso
        .org
        .ok(&["connector", "send", "set", &connector, "--dane", "false"]);
    contoso.reload();
    contoso.retry_now("woodgrove.test", Duration::from_secs(30));
    mx1.wait_mailbox("woodgrove.test", "bob", 1);
    let sent = contoso.wait_kind(EventKind::Send, 1);
    assert!(
        detail(&sent[0]).contains("opportunistic TLS") && !detail(&sent[0]).contains("DANE"),
        "{sent:#?}"
    );
}

#[test]
fn dane_ta_needs_a_chain_to_the_published_ca_and_a_name_of_the_mx_or_the_domain() {
    let port = mx_port();
    let ca = TestCa::new("Woodgrove Mail CA");
    // Issued by the CA, naming the MX host: the bundle carries the CA, so the MX sends it.
    let (good, _, _) = ca.good("mx1.woodgrove.test", &["mx1.woodgrove.test"]);
    let (unnamed, _, _) = ca.good("mx1.fabrikam.test", &["mx1.fabrikam.test"]);
    let mx1 = woodgrove_presenting(FIRST, port, &good);
    let mx2 = woodgrove_presenting(SECOND, port, &unnamed);
    mx2.change(|s| {
        s.accepted_domains.push(AcceptedDomain {
            domain: "fabrikam.test".into(),
            recipients: None,
        })
    });
    let ta = tlsa_sha256(&ca.der, 0);
    let dns = TestDns::start(vec![
        woodgrove_zone()
            .tlsa(&format!("_{port}._tcp.mx1.woodgrove.test"), 2, 0, 1, &ta)
            .signed(),
        Zone::new("fabrikam.test")
            .mx("fabrikam.test", 10, "mx2.fabrikam.test")
            .a("mx2.fabrikam.test", SECOND)
            .tlsa(&format!("_{port}._tcp.mx2.fabrikam.test"), 2, 0, 1, &ta)
            .signed(),
    ]);
    let contoso = contoso(&dns, port);
    send(&contoso, "dane-ta");
    mx1.wait_mailbox("woodgrove.test", "bob", 1);
    let sent = contoso.wait_kind(EventKind::Send, 1);
    assert!(
        detail(&sent[0]).contains("authenticated by DANE-TA(2) 2 0 1"),
        "{sent:#?}"
    );
    // The same CA, but a certificate naming neither mx2.fabrikam.test nor fabrikam.test.
    let reply = send_mail(
        contoso.addr(),
        "alice@contoso.test",
        &["carol@fabrikam.test"],
        "Subject: unnamed\n\nx\n",
    );
    assert!(reply.starts_with("250"), "{reply}");
    let defers = contoso.wait_kind(EventKind::Defer, 1);
    let why = defers[0].response.clone().unwrap_or_default();
    assert!(
        why.contains("names (mx1.fabrikam.test) are neither mx2.fabrikam.test nor fabrikam.test"),
        "{why}"
    );
    assert!(mx2.mailbox("fabrikam.test", "carol").is_empty());
}

#[test]
fn tlsa_records_in_an_unsigned_zone_are_not_dane() {
    let port = mx_port();
    let (bundle, _, _) = self_signed("mx1.woodgrove.test", &["mx1.woodgrove.test"]);
    let mx1 = woodgrove_presenting(FIRST, port, &bundle);
    // A digest that matches nothing: were it believed, nothing could be sent.
    let dns = TestDns::start(vec![woodgrove_zone().tlsa(
        &format!("_{port}._tcp.mx1.woodgrove.test"),
        3,
        1,
        1,
        &[9; 32],
    )]);
    let contoso = contoso(&dns, port);
    send(&contoso, "unsigned");
    mx1.wait_mailbox("woodgrove.test", "bob", 1);
    let sent = contoso.wait_kind(EventKind::Send, 1);
    assert!(
        !detail(&sent[0]).contains("DANE") && detail(&sent[0]).contains("DNSSEC insecure"),
        "{sent:#?}"
    );
}

#[test]
fn records_none_of_which_is_usable_still_require_tls() {
    let port = mx_port();
    let (bundle, _, _) = self_signed("mx1.woodgrove.test", &["mx1.woodgrove.test"]);
    let mx1 = woodgrove_presenting(FIRST, port, &bundle);
    // Fabrikam's MX speaks SMTP without STARTTLS.
    let listener = TcpListener::bind((SECOND, port)).expect("fabrikam's MX");
    let transactions = Arc::new(Mutex::new(0usize));
    let seen = transactions.clone();
    scripted(listener, b"220 mx2.fabrikam.test ESMTP\r\n", move || {
        let seen = seen.clone();
        move |line: &str, w: &mut TcpStream| {
            let up = line.to_ascii_uppercase();
            if up.starts_with("MAIL") {
                *seen.lock().unwrap() += 1;
            }
            let reply: &[u8] = if up.starts_with("EHLO") {
                b"250-mx2.fabrikam.test\r\n250 PIPELINING\r\n"
            } else if up == "QUIT" {
                let _ = w.write_all(b"221 bye\r\n");
                return false;
            } else {
                b"250 OK\r\n"
            };
            let _ = w.write_all(reply);
            true
        }
    });
    // PKIX-EE(1) records are not for SMTP: none usable, TLS without authentication.
    let dns = TestDns::start(vec![
        woodgrove_zone()
            .tlsa(
                &format!("_{port}._tcp.mx1.woodgrove.test"),
                1,
                1,
                1,
                &[9; 32],
            )
            .signed(),
        Zone::new("fabrikam.test")
            .mx("fabrikam.test", 10, "mx2.fabrikam.test")
            .a("mx2.fabrikam.test", SECOND)
            .tlsa(
                &format!("_{port}._tcp.mx2.fabrikam.test"),
                1,
                1,
                1,
                &[9; 32],
            )
            .signed(),
    ]);
    let contoso = contoso(&dns, port);
    send(&contoso, "unusable");
    mx1.wait_mailbox("woodgrove.test", "bob", 1);
    let sent = contoso.wait_kind(EventKind::Send, 1);
    assert!(
        detail(&sent[0])
            .contains("DANE: TLS required without authentication (1 TLSA record, none usable"),
        "{sent:#?}"
    );
    assert_eq!(sent[0].security, SecurityStatus::Encrypted);
    let reply = send_mail(
        contoso.addr(),
        "alice@contoso.test",
        &["carol@fabrikam.test"],
        "Subject: no starttls\n\nx\n",
    );
    assert!(reply.starts_with("250"), "{reply}");
    let defers = contoso.wait_kind(EventKind::Defer, 1);
    let why = defers[0].response.clone().unwrap_or_default();
    assert!(
        why.contains("STARTTLS not offered by mx2.fabrikam.test")
            && why.contains("DANE requires TLS"),
        "{why}"
    );
    assert_eq!(*transactions.lock().unwrap(), 0, "nothing in plaintext");
}

#[test]
fn a_bogus_tlsa_answer_keeps_the_host_unused() {
    let port = mx_port();
    let (bundle, der, _) = self_signed("mx1.woodgrove.test", &["mx1.woodgrove.test"]);
    let mx1 = woodgrove_presenting(FIRST, port, &bundle);
    let dns = TestDns::start(vec![
        woodgrove_zone()
            .tlsa(
                &format!("_{port}._tcp.mx1.woodgrove.test"),
                3,
                1,
                1,
                &tlsa_sha256(&der, 1),
            )
            .broken_tlsa_signature(),
    ]);
    let contoso = contoso(&dns, port);
    send(&contoso, "bogus tlsa");
    let why = deferral(&contoso);
    assert!(
        why.starts_with("451 4.4.3")
            && why.contains("TLSA lookup for")
            && why.contains("DNSSEC-bogus"),
        "{why}"
    );
    assert!(mx1.mailbox("woodgrove.test", "bob").is_empty());
    assert!(mx1.track(&of_kind(EventKind::Receive)).is_empty());
}

/// Routes `relay`'s mail by the MX records `dns` serves, to MX hosts on `port`, validating
/// DNSSEC from `dns`'s anchor.
fn route_by(relay: &Relay, dns: &TestDns, port: u16) {
    let anchor = relay.org.file("dnssec-anchor.key");
    std::fs::write(&anchor, dns.trust_anchor()).expect("anchor file");
    let server = dns.addr().to_string();
    relay.change(|s| {
        s.send_connectors[0].smart_hosts.clear();
        s.transport.dns_servers = vec![server];
        s.transport.mx_port = port;
        s.transport.dnssec_trust_anchor =
            DnssecTrustAnchor::File(anchor.to_string_lossy().into_owned());
    });
}

/// Woodgrove's signed zone naming its relay (mail.woodgrove.test on 127.0.0.1) as MX, with a
/// DANE-EE SPKI SHA2-256 record of `digest`.
fn woodgrove_partner_zone(port: u16, digest: &[u8]) -> Zone {
    Zone::new("woodgrove.test")
        .mx("woodgrove.test", 10, "mail.woodgrove.test")
        .a("mail.woodgrove.test", Ipv4Addr::LOCALHOST)
        .tlsa(
            &format!("_{port}._tcp.mail.woodgrove.test"),
            3,
            1,
            1,
            digest,
        )
        .signed()
}

#[test]
fn domain_security_and_dane_on_one_domain_must_both_hold() {
    let (a, b) = partners::pair();
    let port = b.relay.addr().port();
    let wrong = TestDns::start(vec![woodgrove_partner_zone(port, &[7; 32])]);
    route_by(&a.relay, &wrong, port);
    // The partner's certificate passes Domain Security, but DANE names another key.
    expect_deferred(
        &a,
        &b,
        "dane says no",
        "DANE: the certificate of mail.woodgrove.test",
    );
    // Published right: both hold, and the message goes Domain Secure.
    let b_der = b
        .relay
        .workspace()
        .store
        .smtp_certificate_for(&b.fqdn, time::OffsetDateTime::now_utc())
        .expect("Woodgrove's SMTP certificate")
        .der
        .clone();
    let right = TestDns::start(vec![woodgrove_partner_zone(port, &tlsa_sha256(&b_der, 1))]);
    route_by(&a.relay, &right, port);
    a.relay.retry_now("woodgrove.test", Duration::from_secs(30));
    b.relay.wait_mailbox("woodgrove.test", "bob", 1);
    let sent = a.relay.wait_kind(EventKind::Send, 1);
    assert_eq!(sent[0].security, SecurityStatus::DomainSecure, "{sent:#?}");
    assert!(
        detail(&sent[0]).contains("Domain Security for woodgrove.test")
            && detail(&sent[0]).contains("authenticated by DANE-EE(3)"),
        "{sent:#?}"
    );
    assert_eq!(
        mailflow::policy::classify::hop_policy_text(&detail(&sent[0])),
        "Domain Security + DANE"
    );
}

#[test]
fn a_server_replaying_the_published_certificate_without_its_key_is_refused() {
    let port = mx_port();
    let (_, der, key) = self_signed("mx1.woodgrove.test", &["mx1.woodgrove.test"]);
    let (_, _, other_key) = self_signed("mx1.woodgrove.test", &["mx1.woodgrove.test"]);
    let config = Arc::new(Mutex::new(presenting(&der, &key)));
    let seen = starttls_mx(
        TcpListener::bind((FIRST, port)).expect("MX port"),
        config.clone(),
    );
    let dns = TestDns::start(vec![
        woodgrove_zone()
            .tlsa(
                &format!("_{port}._tcp.mx1.woodgrove.test"),
                3,
                1,
                1,
                &tlsa_sha256(&der, 1),
            )
            .signed(),
    ]);
    let contoso = contoso(&dns, port);
    // The genuine server, holding the key: the message goes (so this server can take mail).
    send(&contoso, "genuine");
    let sent = contoso.wait_kind(EventKind::Send, 1);
    assert!(
        detail(&sent[0]).contains("authenticated by DANE-EE(3)"),
        "{sent:#?}"
    );
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .any(|l| l.starts_with("MAIL FROM:"))
    );
    // The same certificate, the TLSA record still matching it, but signed with another key.
    *config.lock().unwrap() = presenting(&der, &other_key);
    seen.lock().unwrap().clear();
    send(&contoso, "replayed");
    let defers = contoso.wait_kind(EventKind::Defer, 1);
    let why = defers[0].response.clone().unwrap_or_default();
    assert!(
        why.starts_with("4") && why.contains("TLS handshake with mx1.woodgrove.test"),
        "{why}"
    );
    assert!(
        !why.contains("DANE:"),
        "the chain itself matched; the key did not: {why}"
    );
    assert!(
        seen.lock().unwrap().is_empty(),
        "not one line over the replayed session: {:?}",
        seen.lock().unwrap()
    );
    assert_eq!(contoso.track(&of_kind(EventKind::Send)).len(), 1);
}

#[test]
fn the_probe_shows_every_mx_host_with_what_dane_asks_of_it() {
    let port = mx_port();
    let (bundle, der, _) = self_signed("mx1.woodgrove.test", &["mx1.woodgrove.test"]);
    let (other, _, _) = self_signed("mx2.woodgrove.test", &["mx2.woodgrove.test"]);
    let _mx1 = woodgrove_presenting(FIRST, port, &bundle);
    let _mx2 = woodgrove_presenting(SECOND, port, &other);
    let dns = TestDns::start(vec![
        woodgrove_zone()
            .mx("woodgrove.test", 20, "mx2.woodgrove.test")
            .a("mx2.woodgrove.test", SECOND)
            .tlsa(
                &format!("_{port}._tcp.mx1.woodgrove.test"),
                3,
                1,
                1,
                &tlsa_sha256(&der, 1),
            )
            .signed(),
    ]);
    let contoso = contoso(&dns, port);
    let out = contoso.org.ok(&["probe", "--domain", "woodgrove.test"]);
    let first = out
        .find(&format!(
            "=== Host 1 of 2: mx1.woodgrove.test[127.0.0.2]:{port}"
        ))
        .unwrap_or_else(|| panic!("{out}"));
    let second = out
        .find(&format!(
            "=== Host 2 of 2: mx2.woodgrove.test[127.0.0.3]:{port}"
        ))
        .unwrap_or_else(|| panic!("{out}"));
    let (one, two) = (&out[first..second], &out[second..]);
    assert!(
        one.contains("MX mx1.woodgrove.test (preference 10), DNSSEC secure")
            && one.contains("[PASS] DANE"),
        "{one}"
    );
    assert!(
        two.contains("MX mx2.woodgrove.test (preference 20), DNSSEC secure")
            && two.contains(&format!(
                "DANE            no TLSA records at _{port}._tcp.mx2.woodgrove.test"
            ))
            && !two.contains("] DANE"),
        "{two}"
    );
}
