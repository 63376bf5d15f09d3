//! Two organizations for the Domain Security tests, each with a relay in-process and its own
//! lab CA (a [`TestCa`], also used for strangers' and rogue CAs), that trust each other's root
//! and secure mail between `contoso.test` and `woodgrove.test`; the certificates made with it
//! (CA-issued leaves, self-signed ones), installing and trusting them in a relay, and the check
//! that a message from one to the other waits, deferred, in the sender's queue.

use crate::support::relay_util::{Relay, of_kind, send_mail};
use crate::support::tls;
use mailflow::config::units::TimeSpan;
use mailflow::config::{CertificateSelection, PermissionGroup, Settings};
use mailflow::engine::tls::TlsIdentity;
use mailflow::pki::builder::to_pem;
use mailflow::pki::ca::{self, LeafUsage};
use mailflow::pki::der::san_dns_ext;
use mailflow::pki::keys::{KeySpec, spki_der};
use mailflow::pki::subject::Subject;
use mailflow::store::tracking::{EventKind, TrackingQuery};
use time::{Duration as TDuration, OffsetDateTime};

/// Relays for anonymous clients and retries every second.
fn quick(s: &mut Settings) {
    s.receive_connectors[0]
        .permission_groups
        .push(PermissionGroup::AnonymousRelay);
    s.transport.transient_failure_retry_interval = TimeSpan::secs(1);
    s.transport.outbound_connection_failure_retry_interval = TimeSpan::secs(1);
}

/// A certificate authority for tests (an organization's lab CA or a stranger's).
pub struct TestCa {
    pub der: Vec<u8>,
    key: rcgen::KeyPair,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let key = KeySpec::P256.generate().unwrap();
        let der = ca::create_ca(
            name,
            name,
            &key,
            OffsetDateTime::now_utc() - TDuration::days(2),
            5,
        )
        .unwrap();
        TestCa { der, key }
    }

    pub fn pem(&self) -> String {
        to_pem(&self.der)
    }

    /// A leaf certificate with its key, as a PEM bundle (certificate, CA, key).
    pub fn leaf(
        &self,
        cn: &str,
        names: &[&str],
        usage: LeafUsage,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> (String, Vec<u8>, rcgen::KeyPair) {
        let key = KeySpec::P256.generate().unwrap();
        let subject = Subject::parse(&format!("CN={cn}")).unwrap().to_der();
        let san = san_dns_ext(&names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).value;
        let der = ca::issue_leaf(
            &self.der,
            &self.key,
            &subject,
            &spki_der(&key),
            Some(san),
            usage,
            from,
            to,
        )
        .unwrap();
        let bundle = format!(
            "{}{}{}",
            to_pem(&der),
            to_pem(&self.der),
            key.serialize_pem()
        );
        (bundle, der, key)
    }

    pub fn good(&self, cn: &str, names: &[&str]) -> (String, Vec<u8>, rcgen::KeyPair) {
        let now = OffsetDateTime::now_utc();
        self.leaf(
            cn,
            names,
            LeafUsage::SMTP,
            now - TDuration::days(1),
            now + TDuration::days(60),
        )
    }
}

/// A self-signed P-256 certificate for `cn` naming `names`, valid from yesterday for 30 days:
/// its bundle (certificate, key), DER and key, like [`TestCa::leaf`].
pub fn self_signed(cn: &str, names: &[&str]) -> (String, Vec<u8>, rcgen::KeyPair) {
    let key = KeySpec::P256.generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let der = ca::self_signed(
        &Subject::parse(&format!("CN={cn}")).unwrap(),
        &names,
        &key,
        OffsetDateTime::now_utc() - TDuration::days(1),
        30,
    )
    .unwrap();
    (format!("{}{}", to_pem(&der), key.serialize_pem()), der, key)
}

/// Imports a certificate bundle into a relay's store, enables it for SMTP; returns its thumbprint.
pub fn install(relay: &Relay, bundle: &str) -> String {
    let mut ws = relay.workspace();
    let o = ws
        .import_certificate(bundle.as_bytes(), None, None, OffsetDateTime::now_utc())
        .expect("import");
    ws.enable_certificate(&o.thumbprint).expect("enable");
    o.thumbprint
}

/// Trusts `ca` as a root in a relay's store.
pub fn trust(relay: &Relay, ca: &TestCa) {
    let mut ws = relay.workspace();
    ws.trust_add(ca.pem().as_bytes(), OffsetDateTime::now_utc())
        .expect("trust");
}

/// An organization with its own CA and a good SMTP certificate naming its FQDN and domain.
pub struct PartnerOrg {
    pub relay: Relay,
    pub ca: TestCa,
    pub domain: String,
    pub fqdn: String,
}

fn partner_org(fqdn: &str, domain: &str) -> PartnerOrg {
    let relay = Relay::start(fqdn, domain, quick);
    let ca = TestCa::new(&format!("{domain} Root"));
    trust(&relay, &ca);
    let (bundle, _, _) = ca.good(fqdn, &[fqdn, domain]);
    let cert = install(&relay, &bundle);
    // Both connectors use the CA-issued certificate explicitly.
    relay.change(|s| {
        s.receive_connectors[0].certificate = CertificateSelection::Thumbprint(cert.clone());
        s.send_connectors[0].certificate = CertificateSelection::Thumbprint(cert.clone());
    });
    PartnerOrg {
        relay,
        ca,
        domain: domain.into(),
        fqdn: fqdn.into(),
    }
}

/// Two organizations that trust each other's root and secure mail between their domains.
pub fn pair() -> (PartnerOrg, PartnerOrg) {
    let a = partner_org("mail.contoso.test", "contoso.test");
    let b = partner_org("mail.woodgrove.test", "woodgrove.test");
    trust(&a.relay, &b.ca);
    trust(&b.relay, &a.ca);
    let (aa, ba) = (a.relay.addr().to_string(), b.relay.addr().to_string());
    let (ad, bd) = (a.domain.clone(), b.domain.clone());
    a.relay.change(|s| {
        s.transport.tls_send_domain_secure_list = vec![bd.clone()];
        s.transport.tls_receive_domain_secure_list = vec![bd.clone()];
        s.send_connectors[0].domain_secure_enabled = true;
        s.send_connectors[0].smart_hosts = vec![ba.clone()];
        s.receive_connectors[0].domain_secure_enabled = true;
    });
    b.relay.change(|s| {
        s.transport.tls_send_domain_secure_list = vec![ad.clone()];
        s.transport.tls_receive_domain_secure_list = vec![ad.clone()];
        s.send_connectors[0].domain_secure_enabled = true;
        s.send_connectors[0].smart_hosts = vec![aa.clone()];
        s.receive_connectors[0].domain_secure_enabled = true;
    });
    (a, b)
}

/// Sends from A to B and expects a deferral whose reason contains `why`; B receives nothing.
pub fn expect_deferred(a: &PartnerOrg, b: &PartnerOrg, subject: &str, why: &str) {
    let r = send_mail(
        a.relay.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        &format!("Subject: {subject}\n\nsecret {subject}\n"),
    );
    assert!(r.starts_with("250 2.6.0"), "{r}");
    let q = TrackingQuery {
        kind: Some(EventKind::Defer),
        ..Default::default()
    };
    let ev = a.relay.wait_track(&format!("DEFER: {why}"), &q, |e| {
        e.iter().any(|x| x.subject.as_deref() == Some(subject))
    });
    let e = ev
        .iter()
        .find(|x| x.subject.as_deref() == Some(subject))
        .unwrap();
    let resp = e.response.clone().unwrap_or_default();
    assert!(resp.contains(why), "{subject}: expected '{why}' in: {resp}");
    assert!(
        resp.starts_with("451 4.")
            || resp.starts_with("454 4.")
            || resp.starts_with("530 5.")
            || resp.starts_with("451 5."),
        "transient (or the partner's rejection): {resp}"
    );
    // Nothing was accepted by B.
    assert!(
        b.relay
            .track(&of_kind(EventKind::Receive))
            .iter()
            .all(|x| x.subject.as_deref() != Some(subject)),
        "{subject} reached B"
    );
    // The message waits in A's queue: deferred, never failed, no NDR.
    assert!(a.relay.handle().snapshot().queued_messages > 0);
    for kind in [EventKind::Fail, EventKind::Dsn, EventKind::Send] {
        assert!(
            a.relay
                .track(&of_kind(kind))
                .iter()
                .all(|x| x.subject.as_deref() != Some(subject)),
            "{subject}: a {kind:?} event; the failure must stay transient"
        );
    }
}

/// The identity a TLS client presents with a certificate made here.
pub fn identity(bundle: &(String, Vec<u8>, rcgen::KeyPair)) -> TlsIdentity {
    tls::identity(&bundle.1, &bundle.2)
}
