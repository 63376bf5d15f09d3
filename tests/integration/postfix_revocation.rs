//! Revocation against the real Postfix partner, both ways, with an openssl-run CA: Woodgrove's
//! Postfix presents a client certificate its CA has revoked and we refuse it at MAIL FROM with
//! `454 4.7.5` (Postfix keeps the mail); Woodgrove's Postfix serves with a revoked certificate
//! and our message to it stays in our queue with the reason, never delivered.

use crate::support::openssl_ca::OpensslCa;
use crate::support::postfix::{ClientTls, PemFiles, Postfix, PostfixOptions, ServerTls, TlsLevel};
use crate::support::relay_util::{Relay, send_mail};
use crate::support::util::peer;
use mailflow::config::PermissionGroup;
use mailflow::config::units::TimeSpan;
use time::OffsetDateTime;

const PARTNER: &str = "woodgrove.test";
const PARTNER_FQDN: &str = "mail.woodgrove.test";

/// Contoso's relay with Woodgrove on both domain secure lists, Woodgrove's (openssl) root
/// trusted and its CRL added; Woodgrove's certificate, issued and then revoked.
fn contoso_with_revoked_partner() -> Option<(Relay, PemFiles)> {
    peer("openssl")?;
    let relay = Relay::start("mail.contoso.test", "contoso.test", |s| {
        s.receive_connectors[0]
            .permission_groups
            .push(PermissionGroup::AnonymousRelay);
        s.transport.transient_failure_retry_interval = TimeSpan::secs(1);
        s.transport.outbound_connection_failure_retry_interval = TimeSpan::secs(1);
        s.transport.tls_send_domain_secure_list = vec![PARTNER.into()];
        s.transport.tls_receive_domain_secure_list = vec![PARTNER.into()];
        s.receive_connectors[0].domain_secure_enabled = true;
        s.send_connectors[0].domain_secure_enabled = true;
    });
    let scratch = relay.org.file("woodgrove-pki");
    let ca = OpensslCa::root(&scratch, "root", "Woodgrove Root CA");
    let leaf = ca.leaf("woodgrove", PARTNER_FQDN, &[PARTNER_FQDN, PARTNER], None);
    ca.revoke(&leaf.pem);
    let now = OffsetDateTime::now_utc();
    let mut ws = relay.workspace();
    ws.trust_add(&std::fs::read(ca.cert()).unwrap(), now)
        .expect("trust Woodgrove's root");
    ws.crl_add(&std::fs::read(ca.crl("woodgrove.crl")).unwrap(), now)
        .expect("Woodgrove's CRL");
    relay.change(|_| {});
    Some((
        relay,
        PemFiles {
            cert: leaf.pem,
            key: leaf.key,
        },
    ))
}

#[test]
fn postfix_with_a_revoked_client_certificate_is_refused_454_and_keeps_the_mail() {
    let Some((us, revoked)) = contoso_with_revoked_partner() else {
        return;
    };
    let mut opts = PostfixOptions::new(PARTNER_FQDN, PARTNER);
    opts.relay_to = Some(us.addr());
    // Postfix encrypts and presents its (revoked) client certificate; it does not verify ours.
    opts.client_tls = Some(ClientTls {
        level: TlsLevel::Encrypt,
        cert: Some(revoked),
        ca_file: None,
        cert_match: None,
    });
    let Some(pf) = Postfix::start(opts) else {
        return;
    };
    pf.inject(
        "alice@woodgrove.test",
        &["bob@contoso.test"],
        "Subject: from a revoked partner\n\nshould wait\n",
    );
    let line = pf.wait_log(&["to=<bob@contoso.test>", "454 4.7.5"]);
    assert!(line.contains("status=deferred"), "{line}");
    let log = us.wait_protocol_log("SmtpReceive", "revoked: the certificate");
    assert!(
        log.contains("CN=mail.woodgrove.test") && log.contains("KeyCompromise"),
        "{log}"
    );
    assert!(
        us.mailbox("contoso.test", "bob").is_empty(),
        "nothing accepted"
    );
    assert!(!pf.queue_ids().is_empty(), "Postfix keeps the message");
}

#[test]
fn a_postfix_server_with_a_revoked_certificate_receives_nothing_and_we_defer() {
    let Some((us, revoked)) = contoso_with_revoked_partner() else {
        return;
    };
    let mut opts = PostfixOptions::new(PARTNER_FQDN, PARTNER);
    opts.server_tls = Some(ServerTls {
        level: TlsLevel::May,
        cert: Some(revoked),
        ca_file: None,
        ask_ccert: false,
        req_ccert: false,
    });
    let Some(pf) = Postfix::start(opts) else {
        return;
    };
    us.change(|s| s.send_connectors[0].smart_hosts = vec![pf.addr().to_string()]);
    let r = send_mail(
        us.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        "Subject: to a revoked server\n\nsecret\n",
    );
    assert!(r.starts_with("250 2.6.0"), "{r}");
    let why = us.wait_deferral();
    assert!(why.contains("revoked"), "{why}");
    assert!(us.handle().snapshot().queued_messages > 0, "still queued");
    assert!(pf.mailbox("bob").is_empty(), "Postfix received nothing");
    assert!(
        !pf.log().contains("from=<alice@contoso.test>"),
        "no transaction reached Postfix"
    );
}
