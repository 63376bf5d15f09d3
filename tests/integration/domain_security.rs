//! Domain Security end to end between Mailflow organizations with their own lab CAs: mutual
//! TLS both ways with the Domain Secure marks and evidence, the bad-certificate matrix in both
//! directions with each case's reason and code, Direct Trust, partner anchors, the connector
//! gate, opportunistic senders with invalid certificates, the connectivity probe, and a
//! recording proxy proving that no plaintext byte of a Domain Secure message crosses the wire.

use crate::support::partners::{
    PartnerOrg, TestCa, expect_deferred, identity, install, pair, self_signed, trust,
};
use crate::support::proxy;
use crate::support::relay_util::{of_kind, send_mail};
use crate::support::tls::{TlsSession, mail_from, thumbprint};
use mailflow::config::{CertificateSelection, Pin};
use mailflow::pki::ca::LeafUsage;
use mailflow::pki::inspect::inspect_certificate;
use mailflow::smtp::evidence::SecurityStatus;
use mailflow::store::tracking::{EventKind, TrackingQuery};
use std::time::Duration;
use time::{Duration as TDuration, OffsetDateTime};

/// What `mailflow policy explain` on `org` says of MAIL FROM:<alice@contoso.test> with
/// `cert` presented (or none, or no STARTTLS), held against `relay_said`, the reply the running
/// relay gave the same client: the simulator must give the same answer.
fn explain_agrees(
    org: &PartnerOrg,
    cert: Option<&(String, Vec<u8>, rcgen::KeyPair)>,
    starttls: bool,
    relay_said: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("client.pem");
    let mut args = vec![
        "policy",
        "explain",
        "--from",
        "alice@contoso.test",
        "--to",
        "bob@woodgrove.test",
    ];
    if let Some(c) = cert {
        std::fs::write(&file, &c.0).unwrap();
        args.extend(["--client-cert", file.to_str().unwrap()]);
    }
    if !starttls {
        args.push("--no-starttls");
    }
    let out = org.relay.org.ok(&args);
    if relay_said.starts_with("250") {
        assert!(
            out.contains("=> accepted (Domain Secure)"),
            "the relay said {relay_said}; the simulator:\n{out}"
        );
    } else {
        assert!(
            out.contains(&format!("=> REFUSED: MAIL FROM is answered {relay_said}")),
            "the relay said {relay_said}; the simulator:\n{out}"
        );
    }
}

#[test]
fn two_organizations_exchange_domain_secure_mail_both_ways() {
    let (a, b) = pair();
    let r = send_mail(
        a.relay.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        "Subject: secured to woodgrove\n\nconfidential A\n",
    );
    assert!(r.starts_with("250 2.6.0"));
    let r = send_mail(
        b.relay.addr(),
        "bob@woodgrove.test",
        &["alice@contoso.test"],
        "Subject: secured to contoso\n\nconfidential B\n",
    );
    assert!(r.starts_with("250 2.6.0"));
    for (receiver, user, partner, domain) in [
        (&b, "bob", "contoso.test", "woodgrove.test"),
        (&a, "alice", "woodgrove.test", "contoso.test"),
    ] {
        let m = receiver.relay.wait_mailbox(domain, user, 1).remove(0);
        assert!(m.contains("X-Mailflow-AuthAs: Partner\n"), "{m}");
        assert!(
            m.contains(&format!("X-Mailflow-AuthDomain: {partner}\n")),
            "{m}"
        );
        assert!(m.contains("X-Mailflow-AuthMechanism: MutualTLS\n"), "{m}");
        assert!(
            m.contains(&format!("X-Mailflow-AuthSource: {}\n", receiver.fqdn)),
            "{m}"
        );
        assert!(m.contains("X-Mailflow-Security: Domain Secure"), "{m}");
        assert!(m.contains("(verified OK)"), "{m}");
        assert!(m.contains("with ESMTPS"), "{m}");
        let got = receiver.relay.wait_track(
            "RECEIVE from partner",
            &TrackingQuery {
                kind: Some(EventKind::Receive),
                sender: Some(partner.into()),
                ..Default::default()
            },
            |e| !e.is_empty(),
        );
        assert_eq!(got[0].security, SecurityStatus::DomainSecure);
        let tls = got[0].tls.as_ref().unwrap();
        assert_eq!(tls.trust, mailflow::smtp::evidence::TrustLevel::Verified);
        assert!(
            tls.peer_certificate
                .as_ref()
                .unwrap()
                .subject
                .contains(&format!("mail.{partner}"))
        );
        assert!(
            got[0]
                .detail
                .as_deref()
                .unwrap_or("")
                .contains(&format!("Domain Security for {partner}"))
        );
    }
    for sender in [&a, &b] {
        let sent = sender.relay.wait_kind(EventKind::Send, 1);
        assert_eq!(
            sent[0].security,
            SecurityStatus::DomainSecure,
            "{:?}",
            sent[0]
        );
        assert!(
            sent[0]
                .detail
                .as_deref()
                .unwrap_or("")
                .contains("Domain Security for"),
            "{:?}",
            sent[0].detail
        );
    }
    // `mailflow track` shows it too.
    let out = b
        .relay
        .org
        .ok(&["track", "--status", "domainsecure", "--details"]);
    assert!(
        out.contains("(Domain Secure)") && out.contains("Peer cert"),
        "{out}"
    );
}

#[test]
fn bad_server_certificates_are_never_used_for_a_domain_secure_delivery() {
    let now = OffsetDateTime::now_utc();
    let stranger = TestCa::new("Stranger Root");
    type Make = Box<dyn Fn(&PartnerOrg) -> (String, &'static str)>;
    let cases: Vec<(&str, Make)> = vec![
        (
            "expired",
            Box::new(move |b: &PartnerOrg| {
                (
                    b.ca.leaf(
                        "mail.woodgrove.test",
                        &["woodgrove.test"],
                        LeafUsage::SMTP,
                        now - TDuration::days(90),
                        now - TDuration::days(1),
                    )
                    .0,
                    "expired on",
                )
            }),
        ),
        (
            "not yet valid",
            Box::new(move |b: &PartnerOrg| {
                (
                    b.ca.leaf(
                        "mail.woodgrove.test",
                        &["woodgrove.test"],
                        LeafUsage::SMTP,
                        now + TDuration::days(2),
                        now + TDuration::days(90),
                    )
                    .0,
                    "not valid before",
                )
            }),
        ),
        (
            "untrusted CA",
            Box::new(move |_: &PartnerOrg| {
                (
                    stranger.good("mail.woodgrove.test", &["woodgrove.test"]).0,
                    "not trusted",
                )
            }),
        ),
        (
            "wrong name",
            Box::new(|b: &PartnerOrg| {
                (
                    b.ca.good("mail.other.test", &["mail.other.test"]).0,
                    "certificate names mail.other.test do not match woodgrove.test",
                )
            }),
        ),
        (
            "no serverAuth",
            Box::new(move |b: &PartnerOrg| {
                (
                    b.ca.leaf(
                        "mail.woodgrove.test",
                        &["woodgrove.test"],
                        LeafUsage {
                            server_auth: false,
                            client_auth: true,
                        },
                        now - TDuration::days(1),
                        now + TDuration::days(30),
                    )
                    .0,
                    "not valid for serverAuth",
                )
            }),
        ),
        (
            "self-signed, not pinned",
            Box::new(|_: &PartnerOrg| {
                (
                    self_signed("woodgrove.test", &["woodgrove.test"]).0,
                    "not trusted",
                )
            }),
        ),
    ];
    for (name, make) in cases {
        let (a, b) = pair();
        let (bundle, why) = make(&b);
        let tp = install(&b.relay, &bundle);
        b.relay.change(|s| {
            s.receive_connectors[0].certificate = CertificateSelection::Thumbprint(tp.clone())
        });
        expect_deferred(&a, &b, &format!("case {name}"), why);
    }
}

#[test]
fn a_partner_without_starttls_gets_nothing() {
    let (a, b) = pair();
    b.relay.change(|s| {
        s.receive_connectors[0].domain_secure_enabled = false;
        s.receive_connectors[0].auth_mechanisms = vec![mailflow::config::AuthMechanism::None];
    });
    let port = b.relay.addr().port();
    expect_deferred(
        &a,
        &b,
        "no tls",
        &format!("STARTTLS not offered by 127.0.0.1:{port}"),
    );
}

#[test]
fn a_listed_domain_through_a_connector_without_domain_security_is_not_downgraded() {
    let (a, b) = pair();
    a.relay
        .change(|s| s.send_connectors[0].domain_secure_enabled = false);
    expect_deferred(
        &a,
        &b,
        "gate",
        "send connector 'Outbound' has Domain Security off",
    );
}

#[test]
fn partner_b_ca_cannot_vouch_for_partner_a() {
    let (a, b) = pair();
    // A third partner's CA is trusted too (Exchange would let it vouch for anyone).
    let fabrikam = TestCa::new("Fabrikam Root");
    trust(&a.relay, &fabrikam);
    // A pins woodgrove.test to woodgrove's own root.
    let root_tp = thumbprint(&b.ca.der);
    let mut ws = a.relay.workspace();
    ws.add_partner_anchor("woodgrove.test", Pin::Thumbprint(root_tp))
        .unwrap();
    a.relay.reload();
    // Genuine certificate: delivered.
    send_mail(
        a.relay.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        "Subject: genuine\n\nok\n",
    );
    b.relay.wait_mailbox("woodgrove.test", "bob", 1);
    // A woodgrove.test certificate issued by Fabrikam's CA: refused by the anchor.
    let (bundle, _, _) = fabrikam.good("mail.woodgrove.test", &["woodgrove.test"]);
    let tp = install(&b.relay, &bundle);
    b.relay.change(|s| {
        s.receive_connectors[0].certificate = CertificateSelection::Thumbprint(tp.clone())
    });
    expect_deferred(
        &a,
        &b,
        "forged by fabrikam",
        "not an anchor pinned for partner woodgrove.test",
    );
}

#[test]
fn inbound_codes_in_exchanges_order_and_the_bad_client_certificate_matrix() {
    let (a, b) = pair();
    let addr = b.relay.addr();
    let now = OffsetDateTime::now_utc();
    let good = a.ca.good("mail.contoso.test", &["contoso.test"]);
    // The partner authenticates: 250.
    let r = mail_from(addr, Some(&identity(&good)), "alice@contoso.test", true);
    assert_eq!(r, "250 2.1.0 Sender OK");
    explain_agrees(&b, Some(&good), true, &r);
    // STARTTLS advertised but not used: 530.
    let r = mail_from(addr, None, "alice@contoso.test", false);
    assert_eq!(r, "530 5.7.1 Not authenticated");
    explain_agrees(&b, None, false, &r);
    // TLS without a client certificate: 530.
    let r = mail_from(addr, None, "alice@contoso.test", true);
    assert_eq!(r, "530 5.7.1 Not authenticated");
    explain_agrees(&b, None, true, &r);
    let stranger = TestCa::new("Stranger Root");
    let cases = [
        (
            "expired",
            a.ca.leaf(
                "mail.contoso.test",
                &["contoso.test"],
                LeafUsage::SMTP,
                now - TDuration::days(90),
                now - TDuration::days(1),
            ),
        ),
        (
            "not yet valid",
            a.ca.leaf(
                "mail.contoso.test",
                &["contoso.test"],
                LeafUsage::SMTP,
                now + TDuration::days(1),
                now + TDuration::days(90),
            ),
        ),
        (
            "untrusted CA",
            stranger.good("mail.contoso.test", &["contoso.test"]),
        ),
        (
            "wrong name",
            a.ca.good("mail.other.test", &["mail.other.test"]),
        ),
        (
            "no clientAuth",
            a.ca.leaf(
                "mail.contoso.test",
                &["contoso.test"],
                LeafUsage {
                    server_auth: true,
                    client_auth: false,
                },
                now - TDuration::days(1),
                now + TDuration::days(30),
            ),
        ),
        (
            "issued by the partner itself (woodgrove's CA) for contoso",
            b.ca.good("mail.contoso.test", &["contoso.test"]),
        ),
        (
            "self-signed, not pinned",
            self_signed("mail.contoso.test", &["contoso.test"]),
        ),
    ];
    for (name, cert) in &cases {
        let r = mail_from(addr, Some(&identity(cert)), "alice@contoso.test", true);
        explain_agrees(&b, Some(cert), true, &r);
        if *name == "issued by the partner itself (woodgrove's CA) for contoso" {
            // B trusts its own root: without anchors Exchange's rule accepts it.
            assert_eq!(r, "250 2.1.0 Sender OK", "{name}");
        } else {
            assert_eq!(r, "454 4.7.5 Certificate validation failure", "{name}");
        }
    }
    // With contoso.test pinned to its own root, B's own CA may no longer vouch for it.
    let mut ws = b.relay.workspace();
    ws.add_partner_anchor("contoso.test", Pin::Thumbprint(thumbprint(&a.ca.der)))
        .unwrap();
    b.relay.reload();
    let r = mail_from(
        addr,
        Some(&identity(&cases[5].1)),
        "alice@contoso.test",
        true,
    );
    assert_eq!(r, "454 4.7.5 Certificate validation failure");
    explain_agrees(&b, Some(&cases[5].1), true, &r);
    assert_eq!(
        mail_from(addr, Some(&identity(&good)), "alice@contoso.test", true),
        "250 2.1.0 Sender OK"
    );
    // Senders not on the list keep opportunistic TLS even with a bad certificate.
    assert_eq!(
        mail_from(
            addr,
            Some(&identity(&cases[0].1)),
            "someone@fabrikam.test",
            true
        ),
        "250 2.1.0 Sender OK"
    );
    assert_eq!(
        mail_from(
            addr,
            Some(&identity(&cases[2].1)),
            "someone@fabrikam.test",
            true
        ),
        "250 2.1.0 Sender OK"
    );
    // The connector gate: Domain Security off on the connector: 451 4.7.3.
    b.relay
        .change(|s| s.receive_connectors[0].domain_secure_enabled = false);
    let r = mail_from(addr, Some(&identity(&good)), "alice@contoso.test", true);
    assert_eq!(
        r,
        "451 4.7.3 The admin has temporarily disallowed this secure domain"
    );
    explain_agrees(&b, Some(&good), true, &r);
    // STARTTLS not advertised: 454 4.7.0.
    // (A connector with TLS configured but no usable certificate cannot advertise STARTTLS.)
    b.relay.change(|s| {
        s.receive_connectors[0].domain_secure_enabled = true;
        s.receive_connectors[0].certificate = CertificateSelection::Automatic;
        s.send_connectors[0].certificate = CertificateSelection::Automatic;
    });
    let mut ws = b.relay.workspace();
    for c in ws.certificate_rows(now).into_iter().filter(|c| !c.pending) {
        ws.remove_certificate(&c.thumbprint).unwrap();
    }
    b.relay.reload();
    let problems = b.relay.handle().snapshot().problems;
    assert!(
        problems
            .iter()
            .any(|p| p.contains("STARTTLS is not offered")),
        "{problems:?}"
    );
    let r = mail_from(addr, None, "alice@contoso.test", false);
    assert_eq!(r, "454 4.7.0 Temporary authentication failure");
    explain_agrees(&b, None, true, &r);
}

/// Regression: after a partner's message, a later message on the same TLS connection from a
/// sender not on the list was recorded with the partner's "Verified" trust.
#[test]
fn the_partner_trust_is_reset_before_the_next_mail_from() {
    let (a, b) = pair();
    let good = a.ca.good("mail.contoso.test", &["contoso.test"]);
    let mut tls = TlsSession::starttls(
        b.relay.addr(),
        Some(&identity(&good)),
        "mail.contoso.test",
        "mail.woodgrove.test",
        Duration::from_secs(10),
    );
    tls.ehlo("partner.test");
    for (from, subject) in [
        ("alice@contoso.test", "from the partner"),
        ("someone@fabrikam.test", "from a stranger"),
    ] {
        let r = tls.cmd(&format!("MAIL FROM:<{from}>"));
        assert!(r.starts_with("250"), "{from}: {r}");
        let r = tls.cmd("RCPT TO:<bob@woodgrove.test>");
        assert!(r.starts_with("250"), "{from}: {r}");
        assert!(tls.cmd("DATA").starts_with("354"));
        let r = tls.cmd(&format!("Subject: {subject}\r\n\r\nHello.\r\n."));
        assert!(r.starts_with("250 2.6.0"), "{from}: {r}");
    }
    let _ = tls.cmd("QUIT");
    let inbox = b.relay.wait_mailbox("woodgrove.test", "bob", 2);
    let find = |subject: &str| {
        inbox
            .iter()
            .find(|m| m.contains(&format!("Subject: {subject}")))
            .unwrap_or_else(|| panic!("{subject}: {inbox:?}"))
            .clone()
    };
    let partner = find("from the partner");
    assert!(partner.contains("X-Mailflow-AuthAs: Partner"), "{partner}");
    assert!(
        partner.contains("X-Mailflow-Security: Domain Secure"),
        "{partner}"
    );
    assert!(partner.contains("(Verified TLS)"), "{partner}");
    let stranger = find("from a stranger");
    assert!(!stranger.contains("X-Mailflow-Auth"), "{stranger}");
    assert!(
        stranger.contains("X-Mailflow-Security: Encrypted"),
        "{stranger}"
    );
    assert!(!stranger.contains("(Verified TLS)"), "{stranger}");
    let got = b.relay.wait_track(
        "RECEIVE from the stranger",
        &TrackingQuery {
            kind: Some(EventKind::Receive),
            sender: Some("fabrikam.test".into()),
            ..Default::default()
        },
        |e| !e.is_empty(),
    );
    assert_eq!(got[0].security, SecurityStatus::Encrypted);
    let trust = got[0].tls.as_ref().map(|t| t.trust);
    assert_eq!(trust, Some(mailflow::smtp::evidence::TrustLevel::Trusted));
}

#[test]
fn the_relay_to_relay_refusals_keep_the_mail_queued_at_the_sender() {
    let (a, b) = pair();
    // A presents a certificate that does not name contoso.test: B refuses at MAIL FROM with
    // 454 4.7.5, A keeps the message.
    let (bundle, _, _) = a.ca.good("mail.contoso.test", &["mail.contoso.test"]);
    let tp = install(&a.relay, &bundle);
    a.relay.change(|s| {
        s.send_connectors[0].certificate = CertificateSelection::Thumbprint(tp.clone())
    });
    expect_deferred(
        &a,
        &b,
        "wrong client name",
        "454 4.7.5 Certificate validation failure",
    );
}

#[test]
fn direct_trust_pins_accept_self_signed_certificates_both_ways() {
    let (a, b) = pair();
    let (a_bundle, a_der, _) =
        self_signed("mail.contoso.test", &["mail.contoso.test", "contoso.test"]);
    let (b_bundle, b_der, _) = self_signed(
        "mail.woodgrove.test",
        &["mail.woodgrove.test", "woodgrove.test"],
    );
    let a_tp = install(&a.relay, &a_bundle);
    let b_tp = install(&b.relay, &b_bundle);
    a.relay.change(|s| {
        s.send_connectors[0].certificate = CertificateSelection::Thumbprint(a_tp.clone());
        s.receive_connectors[0].certificate = CertificateSelection::Thumbprint(a_tp.clone());
    });
    b.relay.change(|s| {
        s.send_connectors[0].certificate = CertificateSelection::Thumbprint(b_tp.clone());
        s.receive_connectors[0].certificate = CertificateSelection::Thumbprint(b_tp.clone());
    });
    // Not pinned yet: refused.
    expect_deferred(&a, &b, "unpinned", "not trusted");
    // Pin each other's key.
    let mut ws = a.relay.workspace();
    ws.add_direct_trust(
        "woodgrove relay",
        Pin::PublicKeySha256(inspect_certificate(&b_der).unwrap().public_key_sha256),
    )
    .unwrap();
    a.relay.reload();
    let mut ws = b.relay.workspace();
    ws.add_direct_trust("contoso relay", Pin::Thumbprint(thumbprint(&a_der)))
        .unwrap();
    b.relay.reload();
    a.relay
        .retry_now("woodgrove.test via Outbound", Duration::from_secs(60));
    let m = b.relay.wait_mailbox("woodgrove.test", "bob", 1).remove(0);
    // The sender authenticated the receiver by its pin: Domain Secure by Direct Trust.
    let sent = a.relay.wait_kind(EventKind::Send, 1);
    assert_eq!(
        sent[0].security,
        SecurityStatus::DomainSecure,
        "{:?}",
        sent[0]
    );
    // The receiver knows the sender by its pin as one of our own servers (issue 9 §5): the
    // receive list does not judge it, and it adds no partner marks of its own.
    assert!(!m.contains("X-Mailflow-AuthAs"), "{m}");
    assert!(m.contains("(Trusted TLS)"), "{m}");
}

#[test]
fn no_plaintext_byte_of_a_domain_secure_message_crosses_the_wire() {
    let (a, b) = pair();
    let (proxy, wire) = proxy::recording(b.relay.addr());
    a.relay
        .change(|s| s.send_connectors[0].smart_hosts = vec![proxy.to_string()]);
    let marker = "TOPSECRET-7f3a9c";
    send_mail(
        a.relay.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        &format!("Subject: {marker}\n\nbody {marker}\n"),
    );
    let m = b.relay.wait_mailbox("woodgrove.test", "bob", 1).remove(0);
    assert!(m.contains(marker), "delivered through the proxy");
    std::thread::sleep(Duration::from_millis(300));
    let bytes = wire.lock().unwrap().clone();
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        !text.contains(marker),
        "the marker crossed the wire in plaintext"
    );
    assert!(
        !text.contains("bob@woodgrove.test"),
        "even the envelope is encrypted"
    );
    assert!(
        text.contains("STARTTLS") && text.contains("220 2.0.0 SMTP server ready"),
        "{text}"
    );
    // And when the partner's certificate is bad, nothing of the message is sent at all.
    let before = wire.lock().unwrap().len();
    let (bundle, _, _) = b.ca.good("mail.other.test", &["mail.other.test"]);
    let tp = install(&b.relay, &bundle);
    b.relay.change(|s| {
        s.receive_connectors[0].certificate = CertificateSelection::Thumbprint(tp.clone())
    });
    let marker2 = "SECRET-NEVER-SENT-91b2";
    send_mail(
        a.relay.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        &format!("Subject: {marker2}\n\n{marker2}\n"),
    );
    a.relay
        .wait_track("DEFER", &of_kind(EventKind::Defer), |e| {
            e.iter().any(|x| x.subject.as_deref() == Some(marker2))
        });
    let after = wire.lock().unwrap()[before..].to_vec();
    assert!(!String::from_utf8_lossy(&after).contains(marker2));
    assert!(!after.is_empty(), "a connection was made and refused");
}

#[test]
fn the_probe_gives_a_verdict_per_policy() {
    let (a, b) = pair();
    let target = b.relay.addr().to_string();
    let out = a
        .relay
        .org
        .ok(&["probe", &target, "--domain", "woodgrove.test"]);
    assert!(out.contains("STARTTLS        offered"), "{out}");
    assert!(out.contains("[PASS] Opportunistic TLS"), "{out}");
    assert!(
        out.contains("[PASS] RequireTLS (CertificateValidation)"),
        "{out}"
    );
    assert!(
        out.contains("[PASS] DomainValidation for woodgrove.test"),
        "{out}"
    );
    assert!(
        out.contains("[PASS] Domain Security for woodgrove.test"),
        "{out}"
    );
    let out = a
        .relay
        .org
        .ok(&["probe", &target, "--domain", "fabrikam.test"]);
    assert!(
        out.contains("[FAIL] Domain Security for fabrikam.test")
            && out.contains("do not match fabrikam.test"),
        "{out}"
    );
    // The engine exposes it too (for the console).
    let rx = a.relay.handle().probe(&target, "woodgrove.test", None);
    let report = rx.recv_timeout(Duration::from_secs(60)).unwrap();
    assert!(report.verdicts.iter().all(|v| v.pass), "{report:?}");
    assert_eq!(report.chain.len(), 2, "leaf and the CA sent with it");
}

#[test]
fn require_tls_and_tls_auth_levels_work_the_same_way_for_unlisted_domains() {
    use mailflow::config::TlsAuthLevel;
    let (a, b) = pair();
    // Not on the lists: RequireTLS and TlsAuthLevel apply instead of Domain Security.
    a.relay.change(|s| {
        s.transport.tls_send_domain_secure_list.clear();
        s.send_connectors[0].require_tls = true;
        s.send_connectors[0].tls_auth_level = Some(TlsAuthLevel::DomainValidation);
        s.send_connectors[0].tls_domain = Some("mail.fabrikam.test".into());
    });
    expect_deferred(
        &a,
        &b,
        "domain validation",
        "do not match mail.fabrikam.test",
    );
    // CertificateValidation: a self-signed partner certificate is refused.
    let tp = install(
        &b.relay,
        &self_signed("mail.woodgrove.test", &["mail.woodgrove.test"]).0,
    );
    b.relay.change(|s| {
        s.receive_connectors[0].certificate = CertificateSelection::Thumbprint(tp.clone())
    });
    a.relay.change(|s| {
        s.send_connectors[0].tls_auth_level = Some(TlsAuthLevel::CertificateValidation);
        s.send_connectors[0].tls_domain = None;
    });
    expect_deferred(&a, &b, "chain validation", "not trusted");
    // EncryptionOnly: TLS is enough; the same self-signed certificate is accepted, the message
    // is Encrypted (not Domain Secure).
    a.relay
        .change(|s| s.send_connectors[0].tls_auth_level = Some(TlsAuthLevel::EncryptionOnly));
    a.relay
        .retry_now("woodgrove.test via Outbound", Duration::from_secs(60));
    b.relay.wait_mailbox("woodgrove.test", "bob", 1);
    let sent = a.relay.wait_kind(EventKind::Send, 1);
    assert_eq!(sent[0].security, SecurityStatus::Encrypted);
    assert!(
        sent[0]
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("RequireTLS (EncryptionOnly)"),
        "{:?}",
        sent[0].detail
    );
}

/// The administrator's test message (`mailflow test-message`, the console's "Send test
/// message"): sent now by the outbound session under Domain Security, each step and the
/// transcript shown, the security it went with, found in tracking with its protocol log
/// session; and to a host without STARTTLS it is not sent at all — no fallback.
#[test]
fn a_test_message_shows_each_step_and_never_falls_back() {
    use mailflow::engine::test_message::SUBJECT;
    let (a, b) = pair();
    let out = a.relay.org.ok(&[
        "test-message",
        "--from",
        "admin@contoso.test",
        "--to",
        "bob@woodgrove.test",
    ]);
    assert!(
        out.contains("ok    TLS requirement: Domain Security for woodgrove.test"),
        "{out}"
    );
    assert!(out.contains("ok    Sent: 250"), "{out}");
    assert!(out.contains("Security        Domain Secure"), "{out}");
    assert!(
        out.contains("> STARTTLS") || out.contains("STARTTLS"),
        "{out}"
    );
    let got = b.relay.wait_mailbox("woodgrove.test", "bob", 1);
    assert!(
        got[0].contains(&format!("Subject: {SUBJECT}")),
        "{}",
        got[0]
    );
    assert!(
        got[0].contains("Auto-Submitted: auto-generated"),
        "{}",
        got[0]
    );
    // Tracking has it, Domain Secure, with the session the protocol log names.
    // Recorded by tracking's writer thread, which commits a moment later.
    let sent = a
        .relay
        .wait_track("the test message", &of_kind(EventKind::Send), |e| {
            e.iter().any(|e| e.subject.as_deref() == Some(SUBJECT))
        });
    let ev = sent
        .iter()
        .find(|e| e.subject.as_deref() == Some(SUBJECT))
        .expect("the test message in tracking");
    assert_eq!(ev.security, SecurityStatus::DomainSecure);
    assert!(
        ev.detail
            .as_deref()
            .unwrap_or_default()
            .starts_with("test message from the administrator"),
        "{ev:?}"
    );
    let session = ev.session.clone().expect("the session id");
    assert!(out.contains(&format!("Session {session}")), "{out}");
    a.relay.wait_protocol_log("SmtpSend", &session);

    // Straight to a host that offers no STARTTLS: Domain Security sends nothing.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = crate::support::next_hop::answering(
        listener,
        b"220 plain ESMTP\r\n",
        b"250-plain\r\n250 PIPELINING\r\n",
        |_| b"250 OK\r\n",
    );
    let host = format!("127.0.0.1:{port}");
    let err = a.relay.org.fails(&[
        "test-message",
        "--from",
        "admin@contoso.test",
        "--to",
        "bob@woodgrove.test",
        "--host",
        &host,
    ]);
    assert!(
        err.contains("not sent") && err.contains("STARTTLS"),
        "{err}"
    );
    let lines = seen.lock().unwrap().clone();
    assert!(
        lines
            .iter()
            .all(|l| !l.to_ascii_uppercase().starts_with("MAIL")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.to_ascii_uppercase().starts_with("EHLO")),
        "it did connect: {lines:?}"
    );
}
