//! Issue 9 §5–7 end to end between Mailflow organizations: the receive list judges anonymous
//! sessions only (a user authenticated with AUTH and our own relay recognised by Direct Trust
//! are not refused for a partner sender, and the relay's upstream marks are kept); trust
//! changes made through the admin layer reach an open session at its next MAIL FROM and a
//! running delivery before its next message; and a send connector whose certificate cannot be
//! used as a client certificate defers Domain Security mail instead of bouncing it.

use crate::support::partners::{
    TestCa, expect_deferred, identity, install, pair, self_signed, trust,
};
use crate::support::proxy;
use crate::support::relay_util::{Client, of_kind, send_mail};
use crate::support::tls::{TlsSession, thumbprint};
use mailflow::config::{AuthMechanism, CertificateSelection, PermissionGroup, Pin};
use mailflow::engine::tls::TlsIdentity;
use mailflow::smtp::evidence::SecurityStatus;
use mailflow::store::tracking::{EventKind, TrackingQuery};
use std::net::SocketAddr;
use std::time::Duration;
use time::OffsetDateTime;

const SENDER_OK: &str = "250 2.1.0 Sender OK";
const REFUSED: &str = "454 4.7.5 Certificate validation failure";

/// Our relay2 at Woodgrove opens an SMTP session over STARTTLS to `addr`, presenting a client
/// certificate (or none).
fn open_session(addr: SocketAddr, cert: Option<&TlsIdentity>) -> TlsSession {
    let mut s = TlsSession::starttls(
        addr,
        cert,
        "relay2.woodgrove.test",
        "mail.woodgrove.test",
        Duration::from_secs(15),
    );
    s.ehlo("relay2.woodgrove.test");
    s
}

/// Upstream marks as our first relay wrote them.
const MARKED: &str = "X-Mailflow-AuthAs: Partner\nX-Mailflow-AuthDomain: contoso.test\nX-Mailflow-AuthMechanism: MutualTLS\nX-Mailflow-AuthSource: relay1.woodgrove.test\nSubject: forwarded partner mail\n\nHello from contoso.\n";

/// §5: a user authenticated with SMTP AUTH whose envelope sender is a partner address (a
/// forwarding rule) is not judged by the receive list; an anonymous client still is. The
/// user is no internal server: forged marks are stripped.
#[test]
fn an_authenticated_user_with_a_partner_sender_is_not_refused() {
    let (_a, b) = pair();
    b.relay.change(|s| {
        let rc = &mut s.receive_connectors[0];
        rc.auth_mechanisms.push(AuthMechanism::BasicAuth);
        rc.permission_groups
            .push(PermissionGroup::AuthenticatedUsers);
    });
    mailflow::admin::add_account(
        &b.relay.dir(),
        "bob",
        "correct horse battery",
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let mut c = Client::connect(b.relay.addr());
    assert!(c.reply().starts_with("220"));
    assert!(c.cmd("EHLO client.woodgrove.test").contains("AUTH"));
    // Anonymous, STARTTLS advertised but not used: refused as before.
    assert_eq!(
        c.cmd("MAIL FROM:<alice@contoso.test>"),
        "530 5.7.1 Not authenticated"
    );
    let secret = "AGJvYgBjb3JyZWN0IGhvcnNlIGJhdHRlcnk="; // \0bob\0correct horse battery
    assert!(c.cmd(&format!("AUTH PLAIN {secret}")).starts_with("235"));
    assert_eq!(c.cmd("MAIL FROM:<alice@contoso.test>"), SENDER_OK);
    assert!(c.cmd("RCPT TO:<bob@woodgrove.test>").starts_with("250"));
    assert!(c.cmd("DATA").starts_with("354"));
    c.send_raw(MARKED.replace('\n', "\r\n").as_bytes());
    assert!(c.cmd(".").starts_with("250 2.6.0"));
    c.cmd("QUIT");
    let m = b.relay.wait_mailbox("woodgrove.test", "bob", 1).remove(0);
    assert!(m.contains("Hello from contoso."), "{m}");
    assert!(
        !m.contains("X-Mailflow-Auth"),
        "a user's message keeps no marks: {m}"
    );
    assert!(m.contains("authenticated as bob"), "{m}");
}

/// §5: our second relay (Direct Trust) forwarding mail of a partner on the receive list is
/// accepted with the first relay's marks kept (once, nothing added); the same certificate
/// unpinned, an anonymous client, is still refused.
#[test]
fn our_own_relay_forwarding_partner_mail_is_accepted_and_its_marks_kept() {
    let (_a, b) = pair();
    let relay2 = self_signed("relay2.woodgrove.test", &["relay2.woodgrove.test"]);
    let stranger = self_signed("relay3.woodgrove.test", &["relay3.woodgrove.test"]);
    b.relay
        .workspace()
        .add_direct_trust("relay2", Pin::Thumbprint(thumbprint(&relay2.1)))
        .unwrap();
    b.relay.reload();
    let mut s = open_session(b.relay.addr(), Some(&identity(&relay2)));
    assert_eq!(s.cmd("MAIL FROM:<alice@contoso.test>"), SENDER_OK);
    let r = s.message("bob@woodgrove.test", MARKED);
    assert!(r.starts_with("250 2.6.0"), "{r}");
    s.cmd("QUIT");
    let m = b.relay.wait_mailbox("woodgrove.test", "bob", 1).remove(0);
    assert!(
        m.contains("X-Mailflow-AuthSource: relay1.woodgrove.test"),
        "{m}"
    );
    assert!(m.contains("X-Mailflow-AuthDomain: contoso.test"), "{m}");
    assert_eq!(m.matches("X-Mailflow-AuthAs:").count(), 1, "{m}");
    assert!(
        m.contains("from our server relay2 (Direct Trust), its marks kept"),
        "{m}"
    );
    // Not pinned: an anonymous session, judged by the table.
    let mut s = open_session(b.relay.addr(), Some(&identity(&stranger)));
    assert_eq!(s.cmd("MAIL FROM:<alice@contoso.test>"), REFUSED);
}

/// §6: roots, anchors and the receive list changed through the admin layer while a session
/// is open: its next MAIL FROM gets the verdict of the new settings.
#[test]
fn trust_changes_reach_an_open_session_at_its_next_mail_from() {
    let (a, b) = pair();
    let addr = b.relay.addr();
    let good = a.ca.good("mail.contoso.test", &["contoso.test"]);
    let mut s = open_session(addr, Some(&identity(&good)));
    assert_eq!(s.cmd("MAIL FROM:<alice@contoso.test>"), SENDER_OK);
    assert!(s.cmd("RSET").starts_with("250"));
    // The partner's root is removed (compromised): refused at once.
    b.relay
        .workspace()
        .trust_remove(&thumbprint(&a.ca.der))
        .unwrap();
    b.relay.reload();
    assert_eq!(s.cmd("MAIL FROM:<alice@contoso.test>"), REFUSED);
    // ... senders not on the list go on, and trusting the root again counts as well.
    assert_eq!(s.cmd("MAIL FROM:<carol@fabrikam.test>"), SENDER_OK);
    assert!(s.cmd("RSET").starts_with("250"));
    trust(&b.relay, &a.ca);
    b.relay.reload();
    assert_eq!(s.cmd("MAIL FROM:<alice@contoso.test>"), SENDER_OK);
    assert!(s.cmd("RSET").starts_with("250"));
    // The partner's certificate blocked (its key leaked): refused in the open session at its
    // next MAIL FROM; unblocked, accepted again.
    let leaked = thumbprint(&good.1);
    b.relay
        .workspace()
        .block_certificate(
            &leaked,
            Some("key leaked".into()),
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
    b.relay.reload();
    assert_eq!(s.cmd("MAIL FROM:<alice@contoso.test>"), REFUSED);
    b.relay.workspace().unblock_certificate(&leaked).unwrap();
    b.relay.reload();
    assert_eq!(s.cmd("MAIL FROM:<alice@contoso.test>"), SENDER_OK);
    assert!(s.cmd("RSET").starts_with("250"));
    // contoso.test pinned to another CA (anchor): its own CA may no longer vouch for it.
    let other = TestCa::new("Other Root");
    b.relay
        .workspace()
        .add_partner_anchor("contoso.test", Pin::Thumbprint(thumbprint(&other.der)))
        .unwrap();
    b.relay.reload();
    assert_eq!(s.cmd("MAIL FROM:<alice@contoso.test>"), REFUSED);
    b.relay
        .workspace()
        .remove_partner_anchors("contoso.test")
        .unwrap();
    b.relay.reload();
    assert_eq!(s.cmd("MAIL FROM:<alice@contoso.test>"), SENDER_OK);
    assert!(s.cmd("RSET").starts_with("250"));
    // The domain taken off the receive list: handled as not listed in a session without a
    // client certificate; put back on, refused again.
    let mut n = open_session(addr, None);
    assert_eq!(
        n.cmd("MAIL FROM:<alice@contoso.test>"),
        "530 5.7.1 Not authenticated"
    );
    b.relay
        .workspace()
        .set_domain_secure_lists(None, Some(vec![]))
        .unwrap();
    b.relay.reload();
    assert_eq!(n.cmd("MAIL FROM:<alice@contoso.test>"), SENDER_OK);
    assert!(n.cmd("RSET").starts_with("250"));
    b.relay
        .workspace()
        .set_domain_secure_lists(None, Some(vec!["contoso.test".into()]))
        .unwrap();
    b.relay.reload();
    assert_eq!(
        n.cmd("MAIL FROM:<alice@contoso.test>"),
        "530 5.7.1 Not authenticated"
    );
    // The connector's Domain Security switched off: 451 4.7.3 in the open session.
    b.relay
        .change(|s| s.receive_connectors[0].domain_secure_enabled = false);
    assert_eq!(
        s.cmd("MAIL FROM:<alice@contoso.test>"),
        "451 4.7.3 The admin has temporarily disallowed this secure domain"
    );
}

/// §6: a Direct Trust pin removed while our relay's session is open: the next MAIL FROM is
/// no longer one of our servers', and its partner sender meets the table.
#[test]
fn a_removed_pin_stops_making_an_open_session_internal() {
    let (_a, b) = pair();
    let relay2 = self_signed("relay2.woodgrove.test", &["relay2.woodgrove.test"]);
    b.relay
        .workspace()
        .add_direct_trust("relay2", Pin::Thumbprint(thumbprint(&relay2.1)))
        .unwrap();
    b.relay.reload();
    let mut s = open_session(b.relay.addr(), Some(&identity(&relay2)));
    assert_eq!(s.cmd("MAIL FROM:<alice@contoso.test>"), SENDER_OK);
    assert!(s.cmd("RSET").starts_with("250"));
    b.relay.workspace().remove_direct_trust("relay2").unwrap();
    b.relay.reload();
    assert_eq!(s.cmd("MAIL FROM:<alice@contoso.test>"), REFUSED);
    // Its upstream marks are no longer trusted either: stripped.
    assert_eq!(s.cmd("MAIL FROM:<carol@fabrikam.test>"), SENDER_OK);
    let r = s.message("bob@woodgrove.test", MARKED);
    assert!(r.starts_with("250 2.6.0"), "{r}");
    let m = b.relay.wait_mailbox("woodgrove.test", "bob", 1).remove(0);
    assert!(!m.contains("X-Mailflow-Auth"), "{m}");
}

/// §6: a delivery that is already connecting when the partner's root is removed does not
/// send: the next hop is judged under the settings of now, and the message stays queued.
#[test]
fn a_root_removed_while_a_delivery_runs_stops_it_before_the_message() {
    let (a, b) = pair();
    let (proxy, arrived, release) = proxy::held(b.relay.addr());
    a.relay
        .change(|s| s.send_connectors[0].smart_hosts = vec![proxy.to_string()]);
    let r = send_mail(
        a.relay.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        "Subject: held\n\nsecret\n",
    );
    assert!(r.starts_with("250 2.6.0"), "{r}");
    arrived
        .recv_timeout(Duration::from_secs(30))
        .expect("the delivery connects");
    a.relay
        .workspace()
        .trust_remove(&thumbprint(&b.ca.der))
        .unwrap();
    a.relay.reload();
    release.send(()).unwrap();
    let ev = a.relay.wait_track(
        "DEFER of the held message",
        &of_kind(EventKind::Defer),
        |e| e.iter().any(|x| x.subject.as_deref() == Some("held")),
    );
    let resp = ev[0].response.clone().unwrap_or_default();
    assert!(
        resp.starts_with("451 4.7.5") && resp.contains("not trusted"),
        "{resp}"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(b.relay.track(&of_kind(EventKind::Receive)).is_empty());
    for kind in [EventKind::Send, EventKind::Fail, EventKind::Dsn] {
        assert!(a.relay.track(&of_kind(kind)).is_empty(), "{kind:?}");
    }
}

/// §6: the batch after the send list changed uses the new list: deferred under Domain
/// Security (the partner's certificate does not name its domain), then, with the domain off
/// the list, delivered with opportunistic TLS.
#[test]
fn the_next_batch_after_the_send_list_changed_uses_the_new_list() {
    let (a, b) = pair();
    let (bundle, _, _) = b.ca.good("mail.other.test", &["mail.other.test"]);
    let tp = install(&b.relay, &bundle);
    b.relay.change(|s| {
        s.receive_connectors[0].certificate = CertificateSelection::Thumbprint(tp.clone())
    });
    expect_deferred(&a, &b, "listed", "do not match woodgrove.test");
    a.relay
        .workspace()
        .set_domain_secure_lists(Some(vec![]), None)
        .unwrap();
    a.relay.reload();
    a.relay
        .retry_now("woodgrove.test via Outbound", Duration::from_secs(10));
    b.relay.wait_mailbox("woodgrove.test", "bob", 1);
    let sent = a.relay.wait_kind(EventKind::Send, 1);
    assert_eq!(sent[0].security, SecurityStatus::Encrypted);
    assert!(
        sent[0]
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("opportunistic TLS"),
        "{:?}",
        sent[0].detail
    );
}

/// §7: the send connector's certificate cannot be used as a client certificate (its key
/// file holds another key): Domain Security mail stays queued with `454 4.7.5` naming the
/// certificate — no NDR — and the console's problems say so.
#[test]
fn an_unusable_client_certificate_defers_instead_of_bouncing() {
    let (a, b) = pair();
    let ws = a.relay.workspace();
    let CertificateSelection::Thumbprint(tp) = ws.settings.send_connectors[0].certificate.clone()
    else {
        panic!("the send connector names its certificate");
    };
    let key_file = a.relay.dir().certificates().join(format!("{tp}.key"));
    assert!(key_file.exists(), "{}", key_file.display());
    let other = mailflow::pki::keys::KeySpec::P256.generate().unwrap();
    std::fs::write(&key_file, other.serialize_pem()).unwrap();
    a.relay.reload();
    let problems = a.relay.handle().snapshot().problems;
    assert!(
        problems
            .iter()
            .any(|p| p.contains("send connector 'Outbound'")
                && p.contains(&tp)
                && p.contains("cannot be used as a client certificate")),
        "{problems:?}"
    );
    expect_deferred(
        &a,
        &b,
        "unusable client certificate",
        "cannot present a client certificate for Domain Security",
    );
    let q = TrackingQuery {
        kind: Some(EventKind::Defer),
        ..Default::default()
    };
    let ev = a.relay.track(&q);
    let resp = ev[0].response.clone().unwrap_or_default();
    assert!(
        resp.starts_with("454 4.7.5") && resp.contains(&tp) && resp.contains("key"),
        "{resp}"
    );
}
