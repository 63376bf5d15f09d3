//! Domain Security with a real Postfix as the partner organization (issue 4): Contoso runs
//! Mailflow (`mail.contoso.test`, lab CA, a CA-issued SMTP certificate, Woodgrove's root
//! trusted, `woodgrove.test` on both domain secure lists, Domain Security on both connectors);
//! Woodgrove runs Postfix (`mail.woodgrove.test`) with certificates from its own CA.
//!
//! - we deliver to a Postfix whose smtpd requires a verified client certificate;
//! - Postfix (`smtp_tls_security_level = secure`, presenting its client certificate) delivers
//!   to us and the message is marked Domain Secure;
//! - Postfix with a missing, expired, untrusted, wrong-name (or serverAuth-only) client
//!   certificate is refused with Exchange's codes; on 4xx the mail stays in its deferred queue
//!   (and goes through once the certificate is fixed), on 530 it is returned to the sender;
//! - a Postfix server with an expired, untrusted or wrong-name certificate (or no STARTTLS)
//!   receives nothing from us, and the message waits in our queue with the reason;
//! - the harness reads Postfix's queue (`postqueue -j`) right.

use crate::support::dns::{TestDns, Zone};
use crate::support::postfix::{
    ClientTls, LeafSpec, PemFiles, Postfix, PostfixOptions, ServerTls, TestCa, TlsLevel,
    parse_postqueue_line,
};
use crate::support::relay_util::{Relay, send_mail, wait_until};
use crate::support::util::tlsa_sha256;
use mailflow::config::units::TimeSpan;
use mailflow::config::{DnssecTrustAnchor, PermissionGroup};
use mailflow::pki::builder::to_pem;
use mailflow::pki::keys::KeySpec;
use mailflow::pki::subject::{Rdn, RdnKind, Subject};
use mailflow::smtp::evidence::{SecurityStatus, TrustLevel};
use mailflow::store::tracking::{EventKind, TrackingEvent, TrackingQuery};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

const OUR_FQDN: &str = "mail.contoso.test";
const OUR_DOMAIN: &str = "contoso.test";
const PARTNER_FQDN: &str = "mail.woodgrove.test";
const PARTNER: &str = "woodgrove.test";

/// Contoso's Mailflow, set up for Domain Security with Woodgrove.
struct Contoso {
    relay: Relay,
    /// Contoso's lab CA certificate (PEM): Postfix verifies us with it.
    ca_file: PathBuf,
}

impl Contoso {
    /// The scratch folder (outside the data directory) for certificate files.
    fn scratch(&self) -> &Path {
        self.relay.org.tmp.path()
    }

    fn events(&self, kind: EventKind) -> Vec<TrackingEvent> {
        self.relay.track(&TrackingQuery {
            kind: Some(kind),
            ..Default::default()
        })
    }

    fn wait_events(
        &self,
        kind: EventKind,
        ok: impl Fn(&[TrackingEvent]) -> bool,
    ) -> Vec<TrackingEvent> {
        self.relay.wait_track(
            &format!("{kind:?}"),
            &TrackingQuery {
                kind: Some(kind),
                ..Default::default()
            },
            ok,
        )
    }

    fn protocol_log(&self, kind: &str) -> String {
        self.relay.protocol_log(kind)
    }

    fn wait_protocol_log(&self, kind: &str, part: &str) -> String {
        self.relay.wait_protocol_log(kind, part)
    }

    /// Waits for `count` messages in our mailbox of `user`; on timeout shows both sides' logs.
    ///
    /// Postfix is asked to flush its queue every two seconds meanwhile. A message it was still
    /// delivering when it was reloaded (a new certificate) is skipped by the new queue manager
    /// (`skipped, still being delivered`) and then waits in the incoming queue, which nothing
    /// scans again until mail arrives or the queue is flushed.
    fn wait_mailbox(&self, user: &str, pf: &Postfix, count: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(90);
        let mut next_flush = Instant::now() + Duration::from_secs(2);
        loop {
            let got = self.relay.mailbox(OUR_DOMAIN, user);
            if got.len() >= count {
                return got;
            }
            if Instant::now() >= next_flush {
                pf.flush();
                next_flush = Instant::now() + Duration::from_secs(2);
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {count} message(s) for {user}@{OUR_DOMAIN}\n--- Postfix queue:\n{}\n--- Postfix log:\n{}\n--- our receive log:\n{}",
                pf.mailq(),
                pf.log(),
                self.protocol_log("SmtpReceive")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Routes everything by the MX records `dns` serves, to MX hosts on `port`, validating
    /// DNSSEC from its anchor when it signs a zone (without one there is no root to validate
    /// from: validation off).
    fn by_mx(&self, dns: &TestDns, port: u16) {
        let server = dns.addr().to_string();
        let anchor = if dns.trust_anchor().is_empty() {
            DnssecTrustAnchor::Off
        } else {
            let file = self.scratch().join("dnssec-anchor.key");
            std::fs::write(&file, dns.trust_anchor()).expect("anchor file");
            DnssecTrustAnchor::File(file.to_string_lossy().into_owned())
        };
        self.relay.change(|s| {
            s.send_connectors[0].smart_hosts.clear();
            s.transport.dns_servers = vec![server];
            s.transport.mx_port = port;
            s.transport.dnssec_trust_anchor = anchor;
        });
    }

    /// Sends our next hop for everything to `addr` (the partner's Postfix).
    fn smart_host(&self, addr: std::net::SocketAddr) {
        self.relay
            .change(|s| s.send_connectors[0].smart_hosts = vec![addr.to_string()]);
    }
}

/// Contoso as the article sets it up: lab CA, request for `mail.contoso.test` +
/// `contoso.test`, issued, imported, enabled for SMTP; the partner's root trusted; the partner
/// domain on both domain secure lists; Domain Security on the default receive and send
/// connectors. Retries after one second. Local clients may relay (as an application server
/// connector would), so a test can hand us mail for Woodgrove.
fn contoso(partner_root: &TestCa) -> Contoso {
    let relay = Relay::start(OUR_FQDN, OUR_DOMAIN, |s| {
        s.receive_connectors[0]
            .permission_groups
            .push(PermissionGroup::AnonymousRelay);
        s.transport.transient_failure_retry_interval = TimeSpan::secs(1);
        s.transport.outbound_connection_failure_retry_interval = TimeSpan::secs(1);
    });
    let now = OffsetDateTime::now_utc();
    let mut ws = relay.workspace();
    ws.ca_init("Contoso Lab CA", KeySpec::P256, 2, now)
        .expect("lab CA");
    let subject = Subject::new(vec![Rdn {
        kind: RdnKind::CN,
        value: OUR_FQDN.into(),
    }])
    .unwrap();
    let req = ws
        .new_request(
            &subject,
            &[OUR_FQDN.to_string(), OUR_DOMAIN.to_string()],
            KeySpec::P256,
            Some("Domain Security".into()),
            now,
        )
        .expect("request");
    let (cert, _ca) = ws.ca_issue(req.pem.as_bytes(), 365, now).expect("issue");
    let imported = ws
        .import_certificate(to_pem(&cert).as_bytes(), None, None, now)
        .expect("import");
    ws.enable_certificate(&imported.thumbprint)
        .expect("enable for SMTP");
    ws.trust_add(partner_root.pem().as_bytes(), now)
        .expect("trust the partner's root");
    let ca_file = relay.org.file("contoso-lab-ca.pem");
    std::fs::copy(ws.store.lab_ca_cert_path(), &ca_file).expect("lab CA file");
    // The relay picks up the certificate and trust with the settings change.
    relay.change(|s| {
        s.transport.tls_send_domain_secure_list = vec![PARTNER.into()];
        s.transport.tls_receive_domain_secure_list = vec![PARTNER.into()];
        s.receive_connectors[0].domain_secure_enabled = true;
        s.send_connectors[0].domain_secure_enabled = true;
    });
    Contoso { relay, ca_file }
}

fn partner_ca() -> TestCa {
    TestCa::new("Woodgrove Root CA", "Woodgrove Bank")
}

/// A CA nobody trusts, issuing certificates with the partner's names.
fn rogue_ca() -> TestCa {
    TestCa::new("Rogue Root CA", "Not Woodgrove")
}

fn good_partner_names() -> [&'static str; 2] {
    [PARTNER_FQDN, PARTNER]
}

/// Postfix as Woodgrove's outbound MTA: relays to us, verifies our certificate for
/// `contoso.test` with our lab CA (`secure`), presents `client_cert`.
fn postfix_sending_to(us: &Contoso, client_cert: Option<PemFiles>) -> Option<Postfix> {
    let mut opts = PostfixOptions::new(PARTNER_FQDN, PARTNER);
    opts.relay_to = Some(us.relay.addr());
    opts.client_tls = Some(ClientTls {
        level: TlsLevel::Secure,
        cert: client_cert,
        ca_file: Some(us.ca_file.clone()),
        cert_match: Some(OUR_DOMAIN.into()),
    });
    Postfix::start(opts)
}

/// Postfix as Woodgrove's inbound MTA: a certificate from Woodgrove's CA naming the partner,
/// STARTTLS required, and our client certificate required and verified with our lab CA.
fn postfix_requiring_our_certificate(us: &Contoso, partner: &TestCa) -> Option<Postfix> {
    let server_cert = partner.issue_files(
        &LeafSpec::valid(&good_partner_names()),
        us.scratch(),
        "woodgrove-smtpd",
    );
    let mut opts = PostfixOptions::new(PARTNER_FQDN, PARTNER);
    opts.server_tls = Some(ServerTls {
        level: TlsLevel::Encrypt,
        cert: Some(server_cert),
        ca_file: Some(us.ca_file.clone()),
        ask_ccert: true,
        req_ccert: true,
    });
    Postfix::start(opts)
}

fn header_block(message: &str) -> &str {
    message.split("\n\n").next().unwrap_or(message)
}

// ---- the handshake Postfix needs ------------------------------------------------------------

/// Regression: the CA names we send in the CertificateRequest (our trusted roots, as hints for
/// the client certificate) were wrapped in a second SEQUENCE, and OpenSSL — so Postfix — aborted
/// the handshake (`asn1 encoding routines::wrong tag`) with every receive connector that has
/// Domain Security on. `openssl s_client` lists the names it could parse.
#[test]
fn openssl_parses_the_client_ca_hints_postfix_choked_on() {
    if crate::support::util::peer("openssl").is_none() {
        return;
    }
    let partner = partner_ca();
    let us = contoso(&partner);
    let out = crate::support::util::openssl(&[
        "s_client",
        "-starttls",
        "smtp",
        "-connect",
        &us.relay.addr().to_string(),
    ]);
    assert!(
        out.contains("Acceptable client certificate CA names"),
        "{out}"
    );
    assert!(out.contains("CN = Contoso Lab CA"), "{out}");
    assert!(out.contains("CN = Woodgrove Root CA"), "{out}");
}

// ---- (a) we deliver ------------------------------------------------------------------------

#[test]
fn postfix_requiring_a_verified_client_certificate_receives_our_domain_secure_mail() {
    let started = Instant::now();
    let partner = partner_ca();
    let us = contoso(&partner);
    let Some(pf) = postfix_requiring_our_certificate(&us, &partner) else {
        return;
    };
    us.smart_host(pf.addr());
    let r = send_mail(
        us.relay.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        "Subject: domain secure to Postfix\n\nhello woodgrove\n",
    );
    assert!(r.starts_with("250 2.6.0"), "{r}");
    let got = pf.wait_mailbox("bob", 1).remove(0);
    assert!(got.contains("hello woodgrove"), "{got}");
    // Postfix verified our client certificate against our lab CA (smtpd_tls_req_ccert).
    let head = header_block(&got);
    assert!(
        head.contains(&format!(
            "(Client CN \"{OUR_FQDN}\", Issuer \"Contoso Lab CA\" (verified OK))"
        )),
        "{got}"
    );
    assert!(head.contains("with ESMTPS"), "{got}");
    pf.wait_log(&["Trusted TLS connection established from", "[127.0.0.1]"]);
    pf.wait_log(&["to=<bob@woodgrove.test>", "status=sent"]);
    // Our SEND event: Domain Secure, with the hop's TLS facts and Postfix's certificate.
    let sent = us.wait_events(EventKind::Send, |e| !e.is_empty());
    let ev = &sent[0];
    assert_eq!(ev.security, SecurityStatus::DomainSecure, "{ev:#?}");
    let tls = ev.tls.as_ref().expect("outbound TLS facts");
    assert!(tls.version.starts_with("TLSv1."), "{tls:?}");
    assert!(tls.cipher.starts_with("TLS_"), "{tls:?}");
    assert_eq!(tls.trust, TrustLevel::Verified, "{tls:?}");
    let peer = tls
        .peer_certificate
        .as_ref()
        .expect("Postfix's certificate");
    assert!(peer.subject.contains(PARTNER_FQDN), "{peer:?}");
    assert!(peer.issuer.contains("Woodgrove Root CA"), "{peer:?}");
    assert!(peer.names.iter().any(|n| n == PARTNER), "{peer:?}");
    assert!(
        ev.response.as_deref().is_some_and(|r| r.starts_with("250")),
        "{:?}",
        ev.response
    );
    assert!(
        ev.detail
            .as_deref()
            .is_some_and(|d| d.contains("Domain Security for woodgrove.test")),
        "{:?}",
        ev.detail
    );
    eprintln!("(a) took {:?}", started.elapsed());
}

/// The same delivery with no smart host: Postfix is found as Woodgrove's MX in DNS, and
/// Domain Security holds on that route as on any other.
#[test]
fn postfix_found_as_the_partners_mx_receives_our_domain_secure_mail() {
    let partner = partner_ca();
    let us = contoso(&partner);
    let Some(pf) = postfix_requiring_our_certificate(&us, &partner) else {
        return;
    };
    let dns = TestDns::start(vec![
        Zone::new(PARTNER)
            .mx(PARTNER, 10, PARTNER_FQDN)
            .a(PARTNER_FQDN, Ipv4Addr::LOCALHOST),
    ]);
    us.by_mx(&dns, pf.addr().port());
    let r = send_mail(
        us.relay.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        "Subject: by MX to Postfix\n\nfound in DNS\n",
    );
    assert!(r.starts_with("250 2.6.0"), "{r}");
    let got = pf.wait_mailbox("bob", 1).remove(0);
    assert!(got.contains("found in DNS"), "{got}");
    assert!(
        header_block(&got).contains(&format!(
            "(Client CN \"{OUR_FQDN}\", Issuer \"Contoso Lab CA\" (verified OK))"
        )),
        "{got}"
    );
    let sent = us.wait_events(EventKind::Send, |e| !e.is_empty());
    assert_eq!(sent[0].security, SecurityStatus::DomainSecure, "{sent:#?}");
    assert_eq!(
        sent[0].server.as_deref(),
        Some(pf.addr().to_string().as_str())
    );
    assert!(dns.queries() >= 2, "the MX and its address were looked up");
}

/// Postfix as Woodgrove's MX in a signed zone that publishes a DANE-EE record of its
/// certificate (computed by openssl): DANE and Domain Security both hold on that route, and the
/// evidence says so.
#[test]
fn postfix_as_a_dane_mx_receives_our_domain_secure_mail() {
    let partner = partner_ca();
    let us = contoso(&partner);
    let Some(pf) = postfix_requiring_our_certificate(&us, &partner) else {
        return;
    };
    let pem = std::fs::read_to_string(us.scratch().join("woodgrove-smtpd.crt")).expect("cert");
    let leaf = pem::parse_many(pem).expect("PEM").remove(0);
    let port = pf.addr().port();
    let dns = TestDns::start(vec![
        Zone::new(PARTNER)
            .mx(PARTNER, 10, PARTNER_FQDN)
            .a(PARTNER_FQDN, Ipv4Addr::LOCALHOST)
            .tlsa(
                &format!("_{port}._tcp.{PARTNER_FQDN}"),
                3,
                1,
                1,
                &tlsa_sha256(leaf.contents(), 1),
            )
            .signed(),
    ]);
    us.by_mx(&dns, port);
    let r = send_mail(
        us.relay.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        "Subject: DANE to Postfix\n\nauthenticated by TLSA\n",
    );
    assert!(r.starts_with("250 2.6.0"), "{r}");
    let got = pf.wait_mailbox("bob", 1).remove(0);
    assert!(got.contains("authenticated by TLSA"), "{got}");
    let sent = us.wait_events(EventKind::Send, |e| !e.is_empty());
    assert_eq!(sent[0].security, SecurityStatus::DomainSecure, "{sent:#?}");
    let detail = sent[0].detail.clone().unwrap_or_default();
    assert!(
        detail.contains("DNSSEC secure") && detail.contains("authenticated by DANE-EE(3) 3 1 1"),
        "{detail}"
    );
    // Postfix does not offer REQUIRETLS: a message that asks for it comes back (RFC 8689).
    let mut session = crate::support::tls::TlsSession::starttls(
        us.relay.addr(),
        None,
        "app.contoso.test",
        OUR_FQDN,
        Duration::from_secs(10),
    );
    session.ehlo("app.contoso.test");
    let r = session.cmd("MAIL FROM:<alice@contoso.test> REQUIRETLS");
    assert!(r.starts_with("250"), "{r}");
    let r = session.message(
        "bob@woodgrove.test",
        "Subject: REQUIRETLS to Postfix\n\nx\n",
    );
    assert!(r.starts_with("250"), "{r}");
    let failed = us.wait_events(EventKind::Fail, |e| !e.is_empty());
    let why = failed[0].response.clone().unwrap_or_default();
    assert!(
        why.starts_with("550 5.7.30") && why.contains("does not offer REQUIRETLS"),
        "{why}"
    );
    assert_eq!(
        pf.mailbox("bob").len(),
        1,
        "Postfix got only the first message"
    );
}

// ---- (b) Postfix delivers ------------------------------------------------------------------

#[test]
fn postfix_presenting_its_client_certificate_is_received_as_partner_and_marked_domain_secure() {
    let started = Instant::now();
    let partner = partner_ca();
    let us = contoso(&partner);
    let client_cert = partner.issue_files(
        &LeafSpec::valid(&good_partner_names()),
        us.scratch(),
        "woodgrove-smtp",
    );
    let Some(pf) = postfix_sending_to(&us, Some(client_cert)) else {
        return;
    };
    pf.inject(
        "alice@woodgrove.test",
        &["bob@contoso.test"],
        "Subject: from woodgrove\n\nhello contoso\n",
    );
    let got = us.wait_mailbox("bob", &pf, 1).remove(0);
    assert!(got.contains("hello contoso"), "{got}");
    let head = header_block(&got);
    for line in [
        "X-Mailflow-AuthAs: Partner".to_string(),
        format!("X-Mailflow-AuthDomain: {PARTNER}"),
        "X-Mailflow-AuthMechanism: MutualTLS".to_string(),
        format!("X-Mailflow-AuthSource: {OUR_FQDN}"),
        "X-Mailflow-Security: Domain Secure".to_string(),
    ] {
        assert!(head.contains(&line), "{line} missing in:\n{got}");
    }
    assert!(head.contains("with ESMTPS"), "{got}");
    // Postfix verified *our* certificate for contoso.test (level secure) and delivered.
    let verified = pf.wait_log(&["Verified TLS connection established to 127.0.0.1[127.0.0.1]"]);
    assert!(
        verified.contains(&format!(":{}", us.relay.addr().port())),
        "{verified}"
    );
    pf.wait_log(&["to=<bob@contoso.test>", "status=sent", "250 2.6.0"]);
    // Tracking: RECEIVE is Domain Secure with Postfix's client certificate as evidence.
    let ev = us
        .wait_events(EventKind::Receive, |e| !e.is_empty())
        .remove(0);
    assert_eq!(ev.security, SecurityStatus::DomainSecure, "{ev:#?}");
    let tls = ev.tls.as_ref().expect("inbound TLS facts");
    assert_eq!(tls.trust, TrustLevel::Verified, "{tls:?}");
    let peer = tls.peer_certificate.as_ref().expect("client certificate");
    assert!(peer.subject.contains(PARTNER_FQDN), "{peer:?}");
    assert!(peer.issuer.contains("Woodgrove Root CA"), "{peer:?}");
    assert!(
        ev.detail
            .as_deref()
            .is_some_and(|d| d.contains("Domain Security for woodgrove.test")),
        "{:?}",
        ev.detail
    );
    us.wait_events(EventKind::Deliver, |e| {
        e.iter().any(|d| d.security == SecurityStatus::DomainSecure)
    });
    eprintln!("(b) took {:?}", started.elapsed());
}

// ---- (c) Postfix with a bad client certificate is refused -----------------------------------

/// What goes wrong with the partner's client certificate.
enum BadClientCert {
    Missing,
    Expired,
    Untrusted,
    WrongName,
    NoClientAuth,
}

/// Postfix presents the bad certificate; we refuse at MAIL FROM with `reply`, our protocol
/// log says `reason`. On 4xx the mail stays in Postfix's deferred queue and, once Postfix has a
/// good certificate, goes through as Domain Secure; on 5xx Postfix returns it to the sender.
fn refused_partner(bad: BadClientCert, reply: &str, reason: &str) {
    let started = Instant::now();
    let partner = partner_ca();
    let us = contoso(&partner);
    let dir = us.scratch().to_path_buf();
    let names = good_partner_names();
    let cert = match bad {
        BadClientCert::Missing => None,
        BadClientCert::Expired => {
            Some(partner.issue_files(&LeafSpec::expired(&names), &dir, "expired"))
        }
        BadClientCert::Untrusted => {
            Some(rogue_ca().issue_files(&LeafSpec::valid(&names), &dir, "untrusted"))
        }
        BadClientCert::WrongName => Some(partner.issue_files(
            &LeafSpec::valid(&["mail.fabrikam.test", "fabrikam.test"]),
            &dir,
            "wrong-name",
        )),
        BadClientCert::NoClientAuth => {
            Some(partner.issue_files(&LeafSpec::server_only(&names), &dir, "server-only"))
        }
    };
    let Some(pf) = postfix_sending_to(&us, cert) else {
        return;
    };
    pf.inject(
        "alice@woodgrove.test",
        &["bob@contoso.test"],
        "Subject: refused\n\nshould wait\n",
    );
    let said = format!("said: {reply} (in reply to MAIL FROM command)");
    if reply.starts_with('4') {
        let why = pf.wait_deferred(reply, |r| r.contains(&said));
        assert!(why.contains("host 127.0.0.1[127.0.0.1]"), "{why}");
        // Kept by Postfix, in whichever queue it is on its way through (deferred, or incoming
        // and active for its next try): never bounced, never delivered.
        let queued = pf.queue();
        assert_eq!(queued.len(), 1, "{queued:?}");
        assert!(
            ["deferred", "incoming", "active"].contains(&queued[0].queue_name.as_str()),
            "{queued:?}"
        );
        assert_eq!(queued[0].sender, "alice@woodgrove.test", "{queued:?}");
        let id = queued[0].queue_id.clone();
        // Postfix retries by itself (backoff of a second or two) and is refused again: wait
        // for our second refusal rather than racing its own delivery with a flush.
        let refusals = || {
            us.protocol_log("SmtpReceive")
                .lines()
                .filter(|l| l.contains(reply))
                .count()
        };
        let first = refusals();
        // Should Postfix's scheduler fall behind on a loaded machine, a flush every 15 s
        // nudges it (never sooner, so as not to race its own retry).
        let mut next_flush = Instant::now() + Duration::from_secs(15);
        wait_until(
            "Postfix's retry, refused again",
            Duration::from_secs(90),
            || {
                if Instant::now() >= next_flush {
                    pf.flush();
                    next_flush = Instant::now() + Duration::from_secs(15);
                }
                refusals() > first
            },
        );
        // Our refusal is logged before Postfix has written its deferral (the message is still
        // in its active queue, without a reason, for a moment): wait for the reason.
        pf.wait_deferred(reply, |r| r.contains(&said));
        assert_eq!(pf.queue_ids(), vec![id], "the same message, kept");
    } else {
        // A 5xx is final for Postfix: the sender gets the non-delivery report.
        pf.wait_log(&["to=<bob@contoso.test>", "status=bounced", reply]);
        let ndr = pf.wait_mailbox("alice", 1).remove(0);
        assert!(ndr.contains(reply), "{ndr}");
        assert!(ndr.contains("bob@contoso.test"), "{ndr}");
    }
    let line = us.wait_protocol_log("SmtpReceive", reason);
    assert!(line.contains("Domain Security"), "{line}");
    us.wait_protocol_log("SmtpReceive", reply);
    assert!(us.relay.mailbox(OUR_DOMAIN, "bob").is_empty());
    assert!(us.events(EventKind::Receive).is_empty());

    if reply.starts_with('4') {
        // The mail was kept: with a good certificate it goes through, Domain Secure.
        let good = partner.issue_files(&LeafSpec::valid(&names), &dir, "good");
        let cert = pf.install_file(&good.cert, "smtp-good.crt");
        let key = pf.install_file(&good.key, "smtp-good.key");
        pf.reconfigure(&[
            ("smtp_tls_cert_file", cert.as_str()),
            ("smtp_tls_key_file", key.as_str()),
        ]);
        pf.flush();
        let got = us.wait_mailbox("bob", &pf, 1).remove(0);
        assert!(got.contains("should wait"), "{got}");
        assert!(
            header_block(&got).contains("X-Mailflow-AuthAs: Partner"),
            "{got}"
        );
        let ev = us.wait_events(EventKind::Receive, |e| !e.is_empty());
        assert_eq!(ev[0].security, SecurityStatus::DomainSecure);
        wait_until("Postfix's queue empty", Duration::from_secs(60), || {
            pf.queue().is_empty()
        });
    }
    eprintln!("(c) {reply} took {:?}", started.elapsed());
}

#[test]
fn postfix_without_a_client_certificate_is_refused_530_and_returns_the_mail() {
    refused_partner(
        BadClientCert::Missing,
        "530 5.7.1 Not authenticated",
        "the client presented no certificate",
    );
}

#[test]
fn postfix_with_an_expired_client_certificate_is_refused_454_and_keeps_the_mail() {
    refused_partner(
        BadClientCert::Expired,
        "454 4.7.5 Certificate validation failure",
        "expired on",
    );
}

#[test]
fn postfix_with_an_untrusted_client_certificate_is_refused_454_and_keeps_the_mail() {
    refused_partner(
        BadClientCert::Untrusted,
        "454 4.7.5 Certificate validation failure",
        "issued by a CA that is not trusted",
    );
}

#[test]
fn postfix_with_a_wrong_name_client_certificate_is_refused_454_and_keeps_the_mail() {
    refused_partner(
        BadClientCert::WrongName,
        "454 4.7.5 Certificate validation failure",
        "does not contain the domain name woodgrove.test",
    );
}

#[test]
fn postfix_with_a_server_only_client_certificate_is_refused_454_and_keeps_the_mail() {
    refused_partner(
        BadClientCert::NoClientAuth,
        "454 4.7.5 Certificate validation failure",
        "not valid for clientAuth",
    );
}

// ---- (d) a Postfix server with a bad certificate receives nothing ---------------------------

enum BadServer {
    Expired,
    Untrusted,
    WrongName,
    NoStartTls,
}

/// We have mail for Woodgrove; its Postfix presents a bad certificate (or no STARTTLS). We
/// send nothing, retry, and the message waits in our queue with `reason` (`{hop}` stands for
/// Postfix's `127.0.0.1:port`).
fn refused_server(bad: BadServer, reason: &str) {
    let started = Instant::now();
    let partner = partner_ca();
    let us = contoso(&partner);
    let dir = us.scratch().to_path_buf();
    let names = good_partner_names();
    let cert = match bad {
        BadServer::Expired => partner.issue_files(&LeafSpec::expired(&names), &dir, "expired"),
        BadServer::Untrusted => rogue_ca().issue_files(&LeafSpec::valid(&names), &dir, "untrusted"),
        BadServer::WrongName | BadServer::NoStartTls => {
            partner.issue_files(&LeafSpec::valid(&["mail.other.test"]), &dir, "wrong-name")
        }
    };
    let mut opts = PostfixOptions::new(PARTNER_FQDN, PARTNER);
    opts.server_tls = match bad {
        BadServer::NoStartTls => None,
        _ => Some(ServerTls {
            level: TlsLevel::May,
            cert: Some(cert),
            ca_file: Some(us.ca_file.clone()),
            ask_ccert: true,
            req_ccert: false,
        }),
    };
    let Some(pf) = Postfix::start(opts) else {
        return;
    };
    us.smart_host(pf.addr());
    let reason = reason.replace("{hop}", &pf.addr().to_string());
    let r = send_mail(
        us.relay.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        "Subject: must not leak\n\nsecret for woodgrove\n",
    );
    assert!(r.starts_with("250 2.6.0"), "{r}");
    // Deferred, retried, deferred again: always with the reason, always transient.
    let defers = us.wait_events(EventKind::Defer, |e| e.len() >= 2);
    for d in &defers {
        let resp = d.response.as_deref().unwrap_or_default();
        assert!(resp.starts_with("451 4.7."), "{d:#?}");
        assert!(resp.contains(&reason), "want {reason:?} in {resp:?}");
    }
    let queues = us.relay.handle().snapshot().queues;
    let row = queues
        .iter()
        .find(|q| q.name.contains(PARTNER))
        .unwrap_or_else(|| panic!("no queue for {PARTNER}: {queues:?}"));
    assert_eq!(row.messages, 1, "{row:?}");
    assert!(
        row.last_error
            .as_deref()
            .is_some_and(|e| e.contains(&reason)),
        "{row:?}"
    );
    assert!(us.events(EventKind::Send).is_empty());
    // Our side of the conversation: the reason (or a plain QUIT without STARTTLS), never a
    // transaction.
    match bad {
        BadServer::NoStartTls => {
            us.wait_protocol_log("SmtpSend", ">,QUIT");
            assert!(!us.protocol_log("SmtpSend").contains(">,STARTTLS"));
        }
        _ => {
            let line = us.wait_protocol_log("SmtpSend", &reason);
            assert!(line.ends_with(",policy"), "{line}");
        }
    }
    let send_log = us.protocol_log("SmtpSend");
    assert!(!send_log.contains("MAIL FROM"), "{send_log}");
    // Postfix received nothing: no message, no transaction, empty queue.
    assert!(pf.mailbox("bob").is_empty());
    assert!(pf.queue().is_empty(), "{}", pf.mailq());
    let log = pf.log();
    assert!(!log.contains("alice@contoso.test"), "{log}");
    assert!(!log.contains("secret for woodgrove"), "{log}");
    eprintln!("(d) {reason} took {:?}", started.elapsed());
}

#[test]
fn postfix_server_with_an_expired_certificate_receives_nothing_and_our_mail_waits() {
    refused_server(BadServer::Expired, "certificate of {hop} expired on");
}

#[test]
fn postfix_server_with_an_untrusted_certificate_receives_nothing_and_our_mail_waits() {
    refused_server(
        BadServer::Untrusted,
        "certificate of {hop} issued by a CA that is not trusted",
    );
}

#[test]
fn postfix_server_with_a_wrong_name_certificate_receives_nothing_and_our_mail_waits() {
    refused_server(
        BadServer::WrongName,
        "certificate names mail.other.test do not match woodgrove.test",
    );
}

#[test]
fn postfix_server_without_starttls_receives_nothing_and_our_mail_waits() {
    refused_server(BadServer::NoStartTls, "STARTTLS not offered by {hop}");
}

#[test]
fn postqueue_lines_parse() {
    let m = parse_postqueue_line(r#"{"queue_name": "deferred", "queue_id": "4273298E04D", "arrival_time": 1795984632, "message_size": 279, "forced_expire": false, "sender": "alice@woodgrove.test", "recipients": [{"address": "bob@contoso.test", "delay_reason": "host 127.0.0.1[127.0.0.1] said: 454 4.7.5 \"x\" \u00e9 (in reply to MAIL FROM command)"}, {"address": "carol@contoso.test"}]}"#).unwrap();
    assert_eq!(m.queue_name, "deferred");
    assert_eq!(m.queue_id, "4273298E04D");
    assert_eq!(m.sender, "alice@woodgrove.test");
    assert_eq!(
        m.recipients,
        vec![
            (
                "bob@contoso.test".to_string(),
                Some(
                    "host 127.0.0.1[127.0.0.1] said: 454 4.7.5 \"x\" é (in reply to MAIL FROM command)"
                        .to_string()
                )
            ),
            ("carol@contoso.test".to_string(), None)
        ]
    );
    assert!(parse_postqueue_line("{\"queue_name\": ").is_err());
}
