//! The identity rules end to end (SECURITY.md, "Identity rules"): the header firewall through
//! the relay with swaks as the outside sender, a partner pinned by its own certificate (Partner
//! for its domains only, no relaying, firewall on) against a Direct Trust server (internal: its
//! marks pass), a name-constrained CA made with openssl whose SAN-less `CN=fabrikam.test` leaf
//! is refused inbound and not matched outbound, and a partner pin for Domain Secure delivery to
//! a partner's self-signed server.

use crate::support::partners::{identity, install, self_signed};
use crate::support::relay_util::{Relay, send_mail};
use crate::support::swaks;
use crate::support::tls::{self, TlsSession, mail_from, thumbprint};
use crate::support::util::{Org, free_port, openssl, openssl_self_signed, p, peer, refused};
use mailflow::config::units::TimeSpan;
use mailflow::config::{
    CertificateSelection, DirectTrustEntry, PartnerPin, PermissionGroup, Pin, Settings,
};
use mailflow::engine::tls::TlsIdentity;
use mailflow::pki::inspect::inspect_certificate;
use mailflow::store::tracking::{EventKind, TrackingQuery};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

type Bundle = (String, Vec<u8>, rcgen::KeyPair);

/// Contoso's relay with Domain Security for fabrikam.test and woodgrove.test, Fabrikam pinned
/// by its self-signed certificate for fabrikam.test only, and our relay2 trusted directly.
struct Guarded {
    relay: Relay,
    fabrikam: Bundle,
    relay2: Bundle,
}

fn guarded() -> Guarded {
    // Fabrikam's certificate also names woodgrove.test: only the pin's binding keeps it from
    // speaking for woodgrove.test.
    let fabrikam = self_signed(
        "mail.fabrikam.test",
        &["mail.fabrikam.test", "fabrikam.test", "woodgrove.test"],
    );
    let relay2 = self_signed("relay2.contoso.test", &["relay2.contoso.test"]);
    let fab_tp = thumbprint(&fabrikam.1);
    let r2_key = inspect_certificate(&relay2.1).unwrap().public_key_sha256;
    // Relayed mail goes to a loopback port where nothing listens (never to DNS).
    let nowhere = format!("127.0.0.1:{}", free_port());
    let relay = Relay::start("mail.contoso.test", "contoso.test", |s: &mut Settings| {
        s.receive_connectors[0].domain_secure_enabled = true;
        s.transport.tls_receive_domain_secure_list =
            vec!["fabrikam.test".into(), "woodgrove.test".into()];
        s.send_connectors[0].smart_hosts = vec![nowhere];
        s.partner_pins.push(PartnerPin {
            name: "Fabrikam".into(),
            domains: vec!["fabrikam.test".into()],
            pin: Pin::Thumbprint(fab_tp),
        });
        s.direct_trust.push(DirectTrustEntry {
            name: "relay2".into(),
            pin: Pin::PublicKeySha256(r2_key),
        });
    });
    Guarded {
        relay,
        fabrikam,
        relay2,
    }
}

/// Writes a bundle's certificate and key as PEM files for swaks; returns their paths.
fn pem_files(dir: &Path, name: &str, b: &Bundle) -> (String, String) {
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    std::fs::write(&cert, mailflow::pki::builder::to_pem(&b.1)).unwrap();
    std::fs::write(&key, b.2.serialize_pem()).unwrap();
    (p(&cert).to_string(), p(&key).to_string())
}

/// The header section of a delivered message.
fn head(m: &str) -> &str {
    let end = [m.find("\r\n\r\n"), m.find("\n\n")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(m.len());
    &m[..end]
}

fn find<'a>(inbox: &'a [String], subject: &str) -> &'a str {
    inbox
        .iter()
        .find(|m| m.contains(&format!("Subject: {subject}")))
        .unwrap_or_else(|| panic!("{subject} not delivered: {inbox:?}"))
}

#[test]
fn the_header_firewall_through_the_relay_with_swaks() {
    if peer("swaks").is_none() {
        return;
    }
    let g = guarded();
    let server = g.relay.addr().to_string();
    let dir = g.relay.org.tmp.path().to_path_buf();
    let forged = [
        "--add-header",
        "X-MS-Exchange-Organization-AuthAs: Internal",
        "--add-header",
        "X-MS-Exchange-Organization-SCL:\\n -1",
        "--add-header",
        "Authentication-Results: mail.contoso.test; spf=pass smtp.mailfrom=ceo@contoso.test",
        "--add-header",
        "Authentication-Results: mx.example.test; spf=none",
        "--add-header",
        "X-Mailflow-AuthAs : Partner",
    ];
    // 1. An outside sender, anonymous.
    let mut args = vec![
        "--server",
        &server,
        "--from",
        "ceo@example.test",
        "--to",
        "bob@contoso.test",
        "--header",
        "Subject: from outside",
    ];
    args.extend(forged);
    swaks::run_ok(&args);
    // 2. Fabrikam, authenticated as Partner by its partner pin.
    let (fc, fk) = pem_files(&dir, "fabrikam", &g.fabrikam);
    let mut args = vec![
        "--server",
        &server,
        "--tls",
        "--tls-cert",
        &fc,
        "--tls-key",
        &fk,
        "--from",
        "alice@fabrikam.test",
        "--to",
        "bob@contoso.test",
        "--header",
        "Subject: from the pinned partner",
    ];
    args.extend(forged);
    swaks::run_ok(&args);
    // 3. Our own relay2, an internal server by Direct Trust: its marks pass.
    let (rc, rk) = pem_files(&dir, "relay2", &g.relay2);
    let mut args = vec![
        "--server",
        &server,
        "--tls",
        "--tls-cert",
        &rc,
        "--tls-key",
        &rk,
        "--from",
        "carol@contoso.test",
        "--to",
        "bob@contoso.test",
        "--header",
        "Subject: from relay2",
    ];
    args.extend(forged);
    swaks::run_ok(&args);

    let inbox = g.relay.wait_mailbox("contoso.test", "bob", 3);
    for subject in ["from outside", "from the pinned partner"] {
        let h = head(find(&inbox, subject));
        assert!(!h.contains("X-MS-Exchange-Organization"), "{subject}:\n{h}");
        assert!(
            !h.contains("Authentication-Results: mail.contoso.test"),
            "{subject}:\n{h}"
        );
        assert!(
            h.contains("Authentication-Results: mx.example.test; spf=none"),
            "another ADMD's results are kept ({subject}):\n{h}"
        );
        assert!(!h.contains("AuthAs : Partner"), "{subject}:\n{h}");
    }
    let outside = head(find(&inbox, "from outside"));
    assert!(!outside.contains("AuthAs"), "{outside}");
    let partner = head(find(&inbox, "from the pinned partner"));
    assert!(partner.contains("X-Mailflow-AuthAs: Partner"), "{partner}");
    assert!(
        partner.contains("X-Mailflow-AuthDomain: fabrikam.test"),
        "{partner}"
    );
    assert!(
        partner.contains("X-Mailflow-AuthMechanism: PartnerPin"),
        "{partner}"
    );
    assert_eq!(partner.matches("AuthAs").count(), 1, "ours only: {partner}");
    let internal = head(find(&inbox, "from relay2"));
    assert!(
        internal.contains("X-MS-Exchange-Organization-AuthAs: Internal"),
        "an internal server's fields pass: {internal}"
    );
    assert!(
        internal.contains("Authentication-Results: mail.contoso.test"),
        "{internal}"
    );
    // Tracking says what was removed.
    let ev = g.relay.wait_kind(EventKind::Receive, 3);
    let detail = |subject: &str| {
        ev.iter()
            .find(|e| e.subject.as_deref() == Some(subject))
            .and_then(|e| e.detail.clone())
            .unwrap_or_default()
    };
    assert!(
        detail("from outside").contains("4 forged trust header(s) removed"),
        "{}",
        detail("from outside")
    );
    assert!(detail("from the pinned partner").contains("4 forged trust header(s) removed"));
    assert!(!detail("from relay2").contains("removed"));
}

/// A TLS session presenting `id`, after EHLO.
fn tls_session(addr: SocketAddr, id: &TlsIdentity) -> TlsSession {
    let mut tls = TlsSession::starttls(
        addr,
        Some(id),
        "client.test",
        "mail.contoso.test",
        Duration::from_secs(10),
    );
    tls.ehlo("partner.test");
    tls
}

#[test]
fn a_partner_pin_is_partner_for_its_own_domains_only_and_never_relays() {
    let g = guarded();
    let mut tls = tls_session(g.relay.addr(), &identity(&g.fabrikam));
    assert!(
        tls.cmd("MAIL FROM:<alice@fabrikam.test>")
            .starts_with("250")
    );
    assert_eq!(
        tls.cmd("RCPT TO:<someone@other.test>"),
        "550 5.7.1 Unable to relay",
        "a partner is no internal server"
    );
    assert!(tls.cmd("RCPT TO:<bob@contoso.test>").starts_with("250"));
    assert!(tls.cmd("RSET").starts_with("250"));
    // The same certificate names woodgrove.test, but the pin is bound to fabrikam.test.
    assert_eq!(
        tls.cmd("MAIL FROM:<eve@woodgrove.test>"),
        "454 4.7.5 Certificate validation failure"
    );
    let _ = tls.cmd("QUIT");
    g.relay.wait_protocol_log(
        "SmtpReceive",
        "the client certificate for woodgrove.test is not valid",
    );
    // Our own relay2 (Direct Trust) may relay.
    let mut tls = tls_session(g.relay.addr(), &identity(&g.relay2));
    assert!(tls.cmd("MAIL FROM:<carol@contoso.test>").starts_with("250"));
    assert!(tls.cmd("RCPT TO:<someone@other.test>").starts_with("250"));
    let _ = tls.cmd("QUIT");
}

/// An openssl CA constrained to woodgrove.test (`nameConstraints=permitted;DNS:woodgrove.test`)
/// and two leaves it issued: a SAN-less `CN=fabrikam.test` (the forgery) and a proper
/// `woodgrove.test` with a SAN. Returns the CA PEM path and, per leaf, (cert PEM, key PEM, DER).
struct Constrained {
    ca_pem: String,
    forged: (String, String, Vec<u8>),
    genuine: (String, String, Vec<u8>),
}

fn constrained_ca(dir: &Path) -> Constrained {
    let ca_key = dir.join("ca.key");
    let ca_crt = dir.join("ca.pem");
    openssl_self_signed(
        &ca_key,
        &ca_crt,
        "P-256",
        "/O=Woodgrove/CN=Woodgrove Constrained CA",
        30,
        &[
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-addext",
            "nameConstraints=critical,permitted;DNS:woodgrove.test",
        ],
    );
    let leaf = |name: &str, subj: &str, san: Option<&str>, serial: &str| {
        let key = dir.join(format!("{name}.key"));
        let csr = dir.join(format!("{name}.csr"));
        let crt = dir.join(format!("{name}.pem"));
        let der = dir.join(format!("{name}.der"));
        let ext = dir.join(format!("{name}.ext"));
        let mut e = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n".to_string();
        if let Some(s) = san {
            e.push_str(&format!("subjectAltName=DNS:{s}\n"));
        }
        std::fs::write(&ext, e).unwrap();
        openssl(&[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            p(&key),
            "-out",
            p(&csr),
            "-subj",
            subj,
        ]);
        openssl(&[
            "x509",
            "-req",
            "-in",
            p(&csr),
            "-CA",
            p(&ca_crt),
            "-CAkey",
            p(&ca_key),
            "-set_serial",
            serial,
            "-days",
            "10",
            "-extfile",
            p(&ext),
            "-out",
            p(&crt),
        ]);
        openssl(&["x509", "-in", p(&crt), "-outform", "DER", "-out", p(&der)]);
        (
            std::fs::read_to_string(&crt).unwrap(),
            std::fs::read_to_string(&key).unwrap(),
            std::fs::read(&der).unwrap(),
        )
    };
    let forged = leaf("forged", "/CN=fabrikam.test", None, "0x4711");
    let genuine = leaf(
        "genuine",
        "/CN=mail.woodgrove.test",
        Some("woodgrove.test"),
        "0x4712",
    );
    Constrained {
        ca_pem: std::fs::read_to_string(&ca_crt).unwrap(),
        forged,
        genuine,
    }
}

fn tls_identity(leaf: &(String, String, Vec<u8>)) -> TlsIdentity {
    let key = rcgen::KeyPair::from_pem(&leaf.1).expect("openssl key");
    tls::identity(&leaf.2, &key)
}

#[test]
fn a_name_constrained_ca_cannot_vouch_for_another_domain_by_a_cn() {
    if peer("openssl").is_none() {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let k = constrained_ca(scratch.path());
    let text = openssl(&[
        "x509",
        "-in",
        p(&scratch.path().join("forged.pem")),
        "-noout",
        "-text",
    ]);
    assert!(
        text.contains("Subject: CN = fabrikam.test") && !text.contains("Alternative Name"),
        "a SAN-less leaf: {text}"
    );
    let text = openssl(&[
        "x509",
        "-in",
        p(&scratch.path().join("ca.pem")),
        "-noout",
        "-text",
    ]);
    assert!(text.contains("Name Constraints"), "{text}");

    // Inbound: Contoso trusts the constrained CA (Exchange would, cross-certified).
    let relay = Relay::start("mail.contoso.test", "contoso.test", |s| {
        s.receive_connectors[0].domain_secure_enabled = true;
        s.receive_connectors[0]
            .permission_groups
            .push(PermissionGroup::AnonymousRelay);
        s.transport.tls_receive_domain_secure_list =
            vec!["fabrikam.test".into(), "woodgrove.test".into()];
    });
    relay
        .workspace()
        .trust_add(k.ca_pem.as_bytes(), time::OffsetDateTime::now_utc())
        .expect("trust");
    relay.reload();
    assert_eq!(
        mail_from(
            relay.addr(),
            Some(&tls_identity(&k.forged)),
            "ceo@fabrikam.test",
            true
        ),
        "454 4.7.5 Certificate validation failure"
    );
    relay.wait_protocol_log("SmtpReceive", "its CN fabrikam.test is not used as a name");
    // The CA itself is trusted: its proper certificate authenticates woodgrove.test.
    assert!(
        mail_from(
            relay.addr(),
            Some(&tls_identity(&k.genuine)),
            "ceo@woodgrove.test",
            true
        )
        .starts_with("250"),
    );

    // Outbound: Fabrikam's "server" presents the forged certificate; Contoso sends Domain
    // Secure to fabrikam.test and must not match it.
    let fake = Relay::start("mail.fabrikam.test", "fabrikam.test", |_| {});
    let tp = install(&fake, &format!("{}{}", k.forged.0, k.forged.1));
    fake.change(|s| {
        s.receive_connectors[0].certificate = CertificateSelection::Thumbprint(tp.clone())
    });
    let target = fake.addr().to_string();
    relay.change(|s| {
        s.transport.tls_send_domain_secure_list = vec!["fabrikam.test".into()];
        s.send_connectors[0].domain_secure_enabled = true;
        s.send_connectors[0].smart_hosts = vec![target.clone()];
        s.transport.transient_failure_retry_interval = TimeSpan::secs(1);
    });
    let r = send_mail(
        relay.addr(),
        "alice@contoso.test",
        &["bob@fabrikam.test"],
        "Subject: to fabrikam\n\nsecret\n",
    );
    assert!(r.starts_with("250"), "{r}");
    let q = TrackingQuery {
        kind: Some(EventKind::Defer),
        ..Default::default()
    };
    let ev = relay.wait_track("DEFER for the constrained CN", &q, |e| !e.is_empty());
    let why = ev[0].response.clone().unwrap_or_default();
    assert!(
        why.contains("certificate names none do not match fabrikam.test")
            && why.contains("its CN fabrikam.test is not used as a name"),
        "{why}"
    );
    assert!(
        fake.track(&crate::support::relay_util::of_kind(EventKind::Receive))
            .is_empty(),
        "nothing reached the impostor"
    );

    // `cert show` says why.
    let org = Org::new("mail.contoso.test", "contoso.test");
    std::fs::write(org.file("ca.pem"), &k.ca_pem).unwrap();
    std::fs::write(org.file("forged.pem"), &k.forged.0).unwrap();
    org.ok(&["trust", "add", p(&org.file("ca.pem"))]);
    let shown = org.ok(&["cert", "show", p(&org.file("forged.pem"))]);
    assert!(
        shown.contains("its CN fabrikam.test is not used as a name")
            && shown.contains("permitted DNS:woodgrove.test"),
        "{shown}"
    );
}

#[test]
fn a_partner_pin_lets_us_deliver_domain_secure_to_its_self_signed_server() {
    let fabrikam = self_signed(
        "mail.fabrikam.test",
        &["mail.fabrikam.test", "fabrikam.test"],
    );
    let server = Relay::start("mail.fabrikam.test", "fabrikam.test", |_| {});
    let tp = install(&server, &fabrikam.0);
    server.change(|s| {
        s.receive_connectors[0].certificate = CertificateSelection::Thumbprint(tp.clone())
    });
    let target = server.addr().to_string();
    let pin = inspect_certificate(&fabrikam.1).unwrap().public_key_sha256;
    let relay = Relay::start("mail.contoso.test", "contoso.test", |s| {
        s.receive_connectors[0]
            .permission_groups
            .push(PermissionGroup::AnonymousRelay);
        s.transport.tls_send_domain_secure_list = vec!["fabrikam.test".into()];
        s.send_connectors[0].domain_secure_enabled = true;
        s.send_connectors[0].smart_hosts = vec![target.clone()];
        s.partner_pins.push(PartnerPin {
            name: "Fabrikam".into(),
            domains: vec!["fabrikam.test".into()],
            pin: Pin::PublicKeySha256(pin),
        });
    });
    let r = send_mail(
        relay.addr(),
        "alice@contoso.test",
        &["bob@fabrikam.test"],
        "Subject: pinned\n\nhello\n",
    );
    assert!(r.starts_with("250"), "{r}");
    server.wait_mailbox("fabrikam.test", "bob", 1);
    let sent = relay.wait_track(
        "SEND to fabrikam",
        &crate::support::relay_util::of_kind(EventKind::Send),
        |e| !e.is_empty(),
    );
    assert_eq!(
        sent[0].security,
        mailflow::smtp::evidence::SecurityStatus::DomainSecure,
        "{:?}",
        sent[0]
    );
}

/// The command line explains the two kinds of pin where they are added, and refuses one
/// certificate as both ours and a partner's.
#[test]
fn the_command_line_says_what_each_pin_grants() {
    let org = Org::new("mail.contoso.test", "contoso.test");
    let tp = "AB".repeat(20);
    let help = org.ok(&["direct-trust", "add", "--help"]);
    assert!(
        help.contains("OUR OWN") && help.contains("partner pin"),
        "{help}"
    );
    let help = org.ok(&["partner", "pin", "--help"]);
    assert!(
        help.contains("Partner") && help.contains("domains"),
        "{help}"
    );
    let out = org.ok(&[
        "partner",
        "pin",
        "Fabrikam",
        "--domain",
        "fabrikam.test",
        "--domain",
        "Fabrikam.Example",
        "--thumbprint",
        &tp,
    ]);
    assert!(
        out.contains("authenticated as Partner for these domains only"),
        "{out}"
    );
    let list = org.ok(&["partner", "list"]);
    assert!(
        list.contains("Fabrikam") && list.contains("fabrikam.test, fabrikam.example"),
        "{list}"
    );
    refused(
        &org,
        &["direct-trust", "add", "relay2", "--thumbprint", &tp],
        "either ours or a partner's",
    );
    org.ok(&["partner", "unpin", "fabrikam"]);
    let out = org.ok(&["direct-trust", "add", "relay2", "--thumbprint", &tp]);
    assert!(out.contains("one of our own servers"), "{out}");
}
