//! Certificate revocation with openssl-made CAs and CRLs: `mailflow crl add|list|remove`
//! (PEM and DER, a list of an untrusted or impostor CA refused and nothing changed), `cert
//! show` saying Revoked, the deny-list (`cert block`), and the relay refusing a revoked
//! partner inbound (swaks: `454 4.7.5`) and outbound (the message deferred with the reason) —
//! revoked leaf, revoked intermediate, out-of-date list in the default and the strict mode —
//! and the list downloaded from its distribution point on a loopback HTTP server
//! (`python3 -m http.server`) without holding up a session.

use crate::support::openssl_ca::OpensslCa;
use crate::support::relay_util::{Relay, wait_until};
use crate::support::swaks;
use crate::support::util::{Org, p, peer, refused};
use mailflow::config::units::TimeSpan;
use mailflow::config::{PermissionGroup, Settings, UnknownRevocationStatus};
use mailflow::store::tracking::{EventKind, TrackingQuery};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

#[test]
fn crl_add_list_remove_with_pem_der_and_refusals() {
    if peer("openssl").is_none() {
        return;
    }
    let org = Org::new("mail.woodgrove.test", "woodgrove.test");
    let scratch = org.file("pki");
    let ca = OpensslCa::root(&scratch, "root", "Fabrikam Root");
    let leaf = ca.leaf("leaf", "mail.fabrikam.test", &["mail.fabrikam.test"], None);
    ca.revoke(&leaf.pem);
    let first = ca.crl("first.crl");
    // Not trusted yet: refused, nothing changed.
    refused(
        &org,
        &["crl", "add", p(&first)],
        "neither a trusted root nor a chain certificate",
    );
    org.ok(&["trust", "add", p(&ca.cert())]);
    // Same name, another key: its list does not verify with the trusted root.
    let impostor = OpensslCa::root(&scratch, "impostor", "Fabrikam Root");
    let forged = impostor.crl("forged.crl");
    refused(
        &org,
        &["crl", "add", p(&forged)],
        "signature does not verify",
    );
    // Not a CRL at all.
    refused(&org, &["crl", "add", p(&ca.cert())], "no `X509 CRL` block");
    let out = org.ok(&["crl", "add", p(&first)]);
    assert!(
        out.contains("of CN=Fabrikam Root added") && out.contains("1 revoked"),
        "{out}"
    );
    refused(&org, &["crl", "add", p(&first)], "already in the store");
    // One of our own certificates, revoked: `cert list` says so.
    let bundle = org.file("own.pem");
    std::fs::write(&bundle, leaf.bundle(&[])).unwrap();
    org.ok(&["cert", "import", p(&bundle)]);
    let list = org.ok(&["cert", "list"]);
    let row = list
        .lines()
        .find(|l| l.starts_with(&leaf.thumbprint()))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(row.contains("Revoked"), "{list}");
    // `cert show` of the revoked certificate says so.
    let show = org.ok(&["cert", "show", p(&leaf.pem)]);
    assert!(
        show.contains("Revoked") && show.contains("revoked by CN=Fabrikam Root"),
        "{show}"
    );
    // A newer list in DER replaces the first one.
    let second = ca.crl_between("second.crl", 60, 8 * 86_400);
    let der = org.file("second.der");
    crate::support::util::openssl(&["crl", "-in", p(&second), "-outform", "DER", "-out", p(&der)]);
    let out = org.ok(&["crl", "add", p(&der)]);
    assert!(out.contains("replaces the older list"), "{out}");
    refused(
        &org,
        &["crl", "add", p(&first)],
        "newer than (or as new as) this one",
    );
    let list = org.ok(&["crl", "list"]);
    assert_eq!(list.matches("Fabrikam Root").count(), 1, "{list}");
    assert!(list.contains("Added"), "{list}");
    // An out-of-date list is kept (it still proves revocations) with a warning.
    let other = OpensslCa::root(&scratch, "contoso", "Contoso Root");
    org.ok(&["trust", "add", p(&other.cert())]);
    let stale = other.crl_between("stale.crl", -9 * 86_400, -86_400);
    let out = org.ok(&["crl", "add", p(&stale)]);
    assert!(
        out.contains("WARNING") && out.contains("out of date since"),
        "{out}"
    );
    let list = org.ok(&["crl", "list"]);
    assert!(
        list.contains("OUT OF DATE") && list.contains("WARNING: the list of CN=Contoso Root"),
        "{list}"
    );
    let id = list
        .lines()
        .find(|l| l.contains("Contoso Root"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    org.ok(&["crl", "remove", &id]);
    assert!(!org.ok(&["crl", "list"]).contains("Contoso Root"));
    refused(
        &org,
        &["crl", "remove", &id],
        "`mailflow crl list` shows them",
    );
}

#[test]
fn cert_block_unblock_and_refusals() {
    let org = Org::new("mail.woodgrove.test", "woodgrove.test");
    let tp = "AB".repeat(20);
    refused(&org, &["cert", "block", "12345"], "40 hex digits");
    let out = org.ok(&["cert", "block", &tp.to_lowercase(), "--note", "key leaked"]);
    assert!(out.contains(&tp), "{out}");
    refused(&org, &["cert", "block", &tp], "already blocked");
    let list = org.ok(&["cert", "blocked"]);
    assert!(list.contains(&tp) && list.contains("key leaked"), "{list}");
    org.ok(&["cert", "unblock", &tp]);
    refused(&org, &["cert", "unblock", &tp], "is not blocked");
}

/// swaks as a partner's client presenting `cert` (leaf and chain in one file) and `key`:
/// sends from `from` and returns the transcript.
fn swaks_as(server: &str, cert: &Path, key: &Path, from: &str) -> String {
    swaks::run(&[
        "--server",
        server,
        "--from",
        from,
        "--to",
        "bob@woodgrove.test",
        "--tls",
        "--tls-cert",
        p(cert),
        "--tls-key",
        p(key),
        "--header",
        "Subject: revocation test",
        "--timeout",
        "20",
    ])
    .1
}

fn receiver(tweak: impl FnOnce(&mut Settings)) -> Relay {
    Relay::start("mail.woodgrove.test", "woodgrove.test", |s| {
        s.transport.tls_receive_domain_secure_list = vec!["fabrikam.test".into()];
        s.receive_connectors[0].domain_secure_enabled = true;
        tweak(s);
    })
}

fn trust(relay: &Relay, ca: &OpensslCa) {
    relay
        .workspace()
        .trust_add(
            &std::fs::read(ca.cert()).unwrap(),
            OffsetDateTime::now_utc(),
        )
        .expect("trust");
    relay.change(|_| {});
}

fn add_crl(relay: &Relay, crl: &Path) {
    relay
        .workspace()
        .crl_add(&std::fs::read(crl).unwrap(), OffsetDateTime::now_utc())
        .expect("crl add");
    relay.change(|_| {});
}

#[test]
fn a_revoked_partner_leaf_gets_454_inbound_and_the_deny_list_too() {
    if peer("openssl").is_none() || peer("swaks").is_none() {
        return;
    }
    let b = receiver(|_| {});
    let scratch = b.org.file("pki");
    let root = OpensslCa::root(&scratch, "root", "Fabrikam Root");
    let good = root.leaf("good", "mail.fabrikam.test", &["fabrikam.test"], None);
    let revoked = root.leaf("revoked", "mail.fabrikam.test", &["fabrikam.test"], None);
    root.revoke(&revoked.pem);
    trust(&b, &root);
    let server = b.addr().to_string();
    // Before any list: the revoked certificate still gets in (what this fix is about).
    let t = swaks_as(&server, &revoked.pem, &revoked.key, "alice@fabrikam.test");
    assert!(t.contains("250 2.6.0"), "no list yet: accepted\n{t}");
    add_crl(&b, &root.crl("root.crl"));
    let t = swaks_as(&server, &revoked.pem, &revoked.key, "alice@fabrikam.test");
    assert!(
        t.contains("454 4.7.5"),
        "revoked leaf: 454 4.7.5 expected\n{t}"
    );
    assert!(!t.contains("250 2.6.0"), "{t}");
    let log = b.wait_protocol_log(
        "SmtpReceive",
        "revoked: the certificate CN=mail.fabrikam.test",
    );
    assert!(log.contains("revoked by CN=Fabrikam Root"), "{log}");
    let t = swaks_as(&server, &good.pem, &good.key, "alice@fabrikam.test");
    assert!(
        t.contains("250 2.6.0"),
        "a good certificate still works\n{t}"
    );
    // The deny-list: the good certificate, blocked, is refused too.
    b.workspace()
        .block_certificate(&good.thumbprint(), None, OffsetDateTime::now_utc())
        .unwrap();
    b.change(|_| {});
    let t = swaks_as(&server, &good.pem, &good.key, "alice@fabrikam.test");
    assert!(t.contains("454 4.7.5"), "blocked: 454 4.7.5 expected\n{t}");
}

/// A partner relay whose client certificate was issued by an intermediate CA its root has
/// revoked: our relay refuses it at MAIL FROM (`454 4.7.5`) and the partner keeps the mail.
#[test]
fn a_partner_under_a_revoked_intermediate_is_refused_inbound() {
    if peer("openssl").is_none() {
        return;
    }
    let b = receiver(|_| {});
    let scratch = b.org.file("pki");
    let root = OpensslCa::root(&scratch, "root", "Fabrikam Root");
    let inter = root.intermediate("inter", "Fabrikam Issuing CA", None);
    let leaf = inter.leaf(
        "client",
        "mail.fabrikam.test",
        &["mail.fabrikam.test", "fabrikam.test"],
        None,
    );
    trust(&b, &root);
    let hop = b.addr().to_string();
    let a = Relay::start("mail.fabrikam.test", "fabrikam.test", |s| {
        s.receive_connectors[0]
            .permission_groups
            .push(PermissionGroup::AnonymousRelay);
        s.transport.transient_failure_retry_interval = TimeSpan::secs(1);
        s.transport.tls_send_domain_secure_list = vec!["woodgrove.test".into()];
        s.send_connectors[0].domain_secure_enabled = true;
        s.send_connectors[0].smart_hosts = vec![hop];
        s.send_connectors[0].require_tls = true;
        s.send_connectors[0].tls_auth_level = Some(mailflow::config::TlsAuthLevel::EncryptionOnly);
    });
    let mut ws = a.workspace();
    let o = ws
        .import_certificate(
            leaf.bundle(&[&inter.cert()]).as_bytes(),
            None,
            None,
            OffsetDateTime::now_utc(),
        )
        .unwrap();
    assert_eq!(o.chain_certificates, 1);
    ws.enable_certificate(&o.thumbprint).unwrap();
    let tp = o.thumbprint.clone();
    a.change(|s| {
        s.send_connectors[0].certificate = mailflow::config::CertificateSelection::Thumbprint(tp);
        // Domain Security towards B would need B's certificate from a CA A trusts; the
        // send list is cleared so A delivers over TLS with its client certificate.
        s.transport.tls_send_domain_secure_list.clear();
        s.send_connectors[0].domain_secure_enabled = false;
    });
    let send = |subject: &str| {
        let r = crate::support::relay_util::send_mail(
            a.addr(),
            "alice@fabrikam.test",
            &["bob@woodgrove.test"],
            &format!("Subject: {subject}\n\nfrom fabrikam\n"),
        );
        assert!(r.starts_with("250 2.6.0"), "{r}");
    };
    // Before the lists: received as Partner.
    send("before");
    b.wait_mailbox("woodgrove.test", "bob", 1);
    root.revoke(&inter.cert());
    // The root's list names the intermediate (the intermediate's own list could not be added
    // here: B holds no certificate of that CA to check it with).
    add_crl(&b, &root.crl("root.crl"));
    send("after");
    let ev = a.wait_track(
        "DEFER 454 4.7.5",
        &TrackingQuery {
            kind: Some(EventKind::Defer),
            ..Default::default()
        },
        |e| !e.is_empty(),
    );
    let resp = ev[0].response.clone().unwrap_or_default();
    assert!(resp.starts_with("454 4.7.5"), "{resp}");
    let log = b.wait_protocol_log("SmtpReceive", "the intermediate CA CN=Fabrikam Issuing CA");
    assert!(log.contains("revoked"), "{log}");
    assert_eq!(
        b.mailbox("woodgrove.test", "bob").len(),
        1,
        "only the first one arrived"
    );
}

#[test]
fn an_out_of_date_list_allows_by_default_and_refuses_in_strict_mode() {
    if peer("openssl").is_none() || peer("swaks").is_none() {
        return;
    }
    let b = receiver(|_| {});
    let scratch = b.org.file("pki");
    let root = OpensslCa::root(&scratch, "root", "Fabrikam Root");
    let leaf = root.leaf("leaf", "mail.fabrikam.test", &["fabrikam.test"], None);
    let file = leaf.pem.clone();
    trust(&b, &root);
    add_crl(&b, &root.crl_between("stale.crl", -9 * 86_400, -86_400));
    let server = b.addr().to_string();
    let t = swaks_as(&server, &file, &leaf.key, "alice@fabrikam.test");
    assert!(
        t.contains("250 2.6.0"),
        "default: unknown status allowed\n{t}"
    );
    b.change(|s| s.transport.unknown_revocation_status = UnknownRevocationStatus::Refuse);
    let t = swaks_as(&server, &file, &leaf.key, "alice@fabrikam.test");
    assert!(
        t.contains("454 4.7.5"),
        "strict: unknown status refused\n{t}"
    );
    // Strict with a current list: accepted again.
    add_crl(&b, &root.crl("fresh.crl"));
    let t = swaks_as(&server, &file, &leaf.key, "alice@fabrikam.test");
    assert!(t.contains("250 2.6.0"), "strict with a current list\n{t}");
}

#[test]
fn a_revoked_partner_server_certificate_defers_outbound_with_the_reason() {
    if peer("openssl").is_none() {
        return;
    }
    let b = Relay::start("mail.woodgrove.test", "woodgrove.test", |_| {});
    let scratch = b.org.file("pki");
    let root = OpensslCa::root(&scratch, "root", "Woodgrove Root");
    let leaf = root.leaf(
        "server",
        "mail.woodgrove.test",
        &["mail.woodgrove.test", "woodgrove.test"],
        None,
    );
    let mut ws = b.workspace();
    let o = ws
        .import_certificate(
            leaf.bundle(&[]).as_bytes(),
            None,
            None,
            OffsetDateTime::now_utc(),
        )
        .unwrap();
    ws.enable_certificate(&o.thumbprint).unwrap();
    let tp = o.thumbprint.clone();
    b.change(|s| {
        s.receive_connectors[0].certificate = mailflow::config::CertificateSelection::Thumbprint(tp)
    });
    root.revoke(&leaf.pem);
    let hop = b.addr().to_string();
    let a = Relay::start("mail.contoso.test", "contoso.test", |s| {
        s.receive_connectors[0]
            .permission_groups
            .push(PermissionGroup::AnonymousRelay);
        s.transport.transient_failure_retry_interval = TimeSpan::secs(1);
        s.transport.tls_send_domain_secure_list = vec!["woodgrove.test".into()];
        s.send_connectors[0].domain_secure_enabled = true;
        s.send_connectors[0].smart_hosts = vec![hop];
    });
    trust(&a, &root);
    add_crl(&a, &root.crl("root.crl"));
    let r = crate::support::relay_util::send_mail(
        a.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        "Subject: to a revoked server\n\nsecret\n",
    );
    assert!(r.starts_with("250 2.6.0"), "{r}");
    let why = a.wait_deferral();
    assert!(why.contains("revoked"), "{why}");
    assert!(
        b.track(&TrackingQuery {
            kind: Some(EventKind::Receive),
            ..Default::default()
        })
        .is_empty(),
        "nothing reached the revoked server"
    );
}

/// A loopback HTTP server nobody here wrote, serving `dir`.
struct HttpServer {
    child: std::process::Child,
    pub port: u16,
}

impl HttpServer {
    fn start(dir: &Path) -> Option<HttpServer> {
        peer("python3")?;
        let port = crate::support::util::free_port();
        let child = Command::new("python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
                "--directory",
                p(dir),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs");
        wait_until("the HTTP server listens", Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Some(HttpServer { child, port })
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_relay_downloads_the_list_from_the_distribution_point_without_holding_up_a_session() {
    if peer("openssl").is_none() || peer("swaks").is_none() {
        return;
    }
    let b = receiver(|_| {});
    let scratch = b.org.file("pki");
    let served = b.org.file("www");
    std::fs::create_dir_all(&served).unwrap();
    let Some(http) = HttpServer::start(&served) else {
        return;
    };
    let url = format!("http://127.0.0.1:{}/fabrikam.crl", http.port);
    let root = OpensslCa::root(&scratch, "root", "Fabrikam Root");
    let leaf = root.leaf("leaf", "mail.fabrikam.test", &["fabrikam.test"], Some(&url));
    let good = root.leaf("good", "mail.fabrikam.test", &["fabrikam.test"], Some(&url));
    let missing = format!("http://127.0.0.1:{}/missing.crl", http.port);
    // Another CA of the partner whose list is missing from the server.
    let second = OpensslCa::root(&scratch, "second", "Fabrikam Second Root");
    let orphan = second.leaf(
        "orphan",
        "mail.fabrikam.test",
        &["fabrikam.test"],
        Some(&missing),
    );
    root.revoke(&leaf.pem);
    std::fs::copy(root.crl("fabrikam.crl"), served.join("fabrikam.crl")).unwrap();
    trust(&b, &root);
    trust(&b, &second);
    let file = leaf.pem.clone();
    let server = b.addr().to_string();
    // The first session meets the distribution point: it never waits for the download.
    let started = Instant::now();
    let first = swaks_as(&server, &file, &leaf.key, "alice@fabrikam.test");
    assert!(
        first.contains("250 2.6.0") || first.contains("454 4.7.5"),
        "{first}"
    );
    assert!(started.elapsed() < Duration::from_secs(10), "{first}");
    let cached = mailflow::store::crl_cache::path_for(&b.dir(), &url);
    wait_until(
        "the list is downloaded and cached",
        Duration::from_secs(30),
        || cached.exists(),
    );
    // Shelved right after it is cached; the next session is refused.
    let mut last = String::new();
    wait_until(
        "the downloaded list is used",
        Duration::from_secs(10),
        || {
            last = swaks_as(&server, &file, &leaf.key, "alice@fabrikam.test");
            last.contains("454 4.7.5")
        },
    );
    let list = b.org.ok(&["crl", "list"]);
    assert!(
        list.contains("Downloaded") && list.contains("Fabrikam Root"),
        "{list}"
    );
    // Strict mode: a certificate the downloaded list answers for is accepted (the root's list
    // covers every certificate it issued); one whose CA's list cannot be had (404) is refused.
    b.change(|s| s.transport.unknown_revocation_status = UnknownRevocationStatus::Refuse);
    let t = swaks_as(&server, &good.pem, &good.key, "alice@fabrikam.test");
    assert!(t.contains("250 2.6.0"), "strict, current list\n{t}");
    let t = swaks_as(&server, &orphan.pem, &orphan.key, "alice@fabrikam.test");
    assert!(t.contains("454 4.7.5"), "strict, no list to be had\n{t}");
    drop(http);
}
