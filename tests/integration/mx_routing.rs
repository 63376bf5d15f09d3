//! MX routing against a real DNS server in process (hickory-server on loopback): the best MX
//! first and the next one when it does not answer, the implicit MX, a null MX and a domain that
//! does not exist bounced with the RFCs' codes, a DNS server that does not answer deferring,
//! and Postfix as the remote MX found in DNS. MX hosts listen on 127.0.0.x on one port, the
//! relay's MX port.

use crate::support::dns::{TestDns, Zone};
use crate::support::relay_util::{Relay, of_kind, send_mail, wait_until};
use mailflow::config::units::TimeSpan;
use mailflow::config::{PermissionGroup, Settings};
use mailflow::store::tracking::EventKind;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::time::Duration;

/// A port free on both MX addresses of these tests.
fn mx_port() -> u16 {
    loop {
        let port = TcpListener::bind((SECOND, 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port on 127.0.0.3");
        if TcpListener::bind((FIRST, port)).is_ok() {
            return port;
        }
    }
}

/// Contoso's relay: anyone may relay through it (the tests submit as the Internet would),
/// routing by the MX records `dns` serves, to MX hosts on `port`.
fn contoso(dns: &TestDns, port: u16) -> Relay {
    let dns = dns.addr().to_string();
    Relay::start(
        "mail.contoso.test",
        "contoso.test",
        move |s: &mut Settings| {
            s.receive_connectors[0]
                .permission_groups
                .push(PermissionGroup::AnonymousRelay);
            s.send_connectors[0].smart_hosts.clear();
            s.transport.dns_servers = vec![dns];
            s.transport.mx_port = port;
            s.transport.transient_failure_retry_interval = TimeSpan::secs(1);
            s.transport.outbound_connection_failure_retry_interval = TimeSpan::secs(1);
        },
    )
}

/// Woodgrove's relay as an MX host: listening on `ip:port`, accepting woodgrove.test.
fn woodgrove_mx(ip: Ipv4Addr, port: u16) -> Relay {
    let binding = SocketAddr::from((ip, port)).to_string();
    Relay::start(
        "mx2.woodgrove.test",
        "woodgrove.test",
        move |s: &mut Settings| {
            s.receive_connectors[0].bindings = vec![binding];
        },
    )
}

const FIRST: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const SECOND: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);

#[test]
fn mail_goes_to_the_best_mx_and_on_to_the_next_when_it_does_not_answer() {
    let port = mx_port();
    let dns = TestDns::start(vec![
        Zone::new("woodgrove.test")
            .mx("woodgrove.test", 20, "mx2.woodgrove.test")
            .mx("woodgrove.test", 10, "mx1.woodgrove.test")
            .a("mx1.woodgrove.test", FIRST)
            .a("mx2.woodgrove.test", SECOND),
    ]);
    let mut mx1 = woodgrove_mx(FIRST, port);
    let mx2 = woodgrove_mx(SECOND, port);
    let contoso = contoso(&dns, port);
    let send = |subject: &str| {
        let reply = send_mail(
            contoso.addr(),
            "alice@contoso.test",
            &["bob@woodgrove.test"],
            &format!("Subject: {subject}\n\nrouted by DNS\n"),
        );
        assert!(reply.starts_with("250"), "{reply}");
    };
    // Both answer: the preferred one (lower preference value) takes it.
    send("first");
    let inbox = mx1.wait_mailbox("woodgrove.test", "bob", 1);
    assert!(inbox[0].contains("Subject: first"), "{}", inbox[0]);
    let sent = contoso.wait_kind(EventKind::Send, 1);
    assert!(
        sent[0]
            .server
            .as_deref()
            .is_some_and(|s| s == format!("127.0.0.2:{port}")),
        "the send event names mx1's address: {sent:#?}"
    );
    // The preferred one is down: the next one takes it, in the same attempt.
    mx1.stop();
    send("second");
    let inbox = mx2.wait_mailbox("woodgrove.test", "bob", 1);
    assert!(inbox[0].contains("Subject: second"), "{}", inbox[0]);
    assert!(contoso.track(&of_kind(EventKind::Defer)).is_empty());
    assert_eq!(mx1.mailbox("woodgrove.test", "bob").len(), 1);
}

#[test]
fn a_domain_without_mx_gets_its_mail_at_its_own_address() {
    let port = mx_port();
    let dns = TestDns::start(vec![
        Zone::new("woodgrove.test").a("woodgrove.test", SECOND),
    ]);
    let woodgrove = woodgrove_mx(SECOND, port);
    let contoso = contoso(&dns, port);
    let reply = send_mail(
        contoso.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        "Subject: implicit\n\nno MX record\n",
    );
    assert!(reply.starts_with("250"), "{reply}");
    let inbox = woodgrove.wait_mailbox("woodgrove.test", "bob", 1);
    assert!(inbox[0].contains("no MX record"));
}

#[test]
fn a_null_mx_and_a_domain_that_does_not_exist_bounce_at_once() {
    let dns = TestDns::start(vec![
        Zone::new("woodgrove.test").null_mx("nomail.woodgrove.test"),
    ]);
    let contoso = contoso(&dns, mx_port());
    let reply = send_mail(
        contoso.addr(),
        "alice@contoso.test",
        &["carol@nomail.woodgrove.test", "dave@ghost.woodgrove.test"],
        "Subject: nowhere\n\nx\n",
    );
    assert!(reply.starts_with("250"), "{reply}");
    let ndrs = contoso.wait_mailbox("contoso.test", "alice", 2);
    let all = ndrs.join("\n");
    assert!(
        all.contains("556 5.1.10") && all.contains("carol@nomail.woodgrove.test"),
        "null MX (RFC 7505): {all}"
    );
    assert!(
        all.contains("550 5.1.2") && all.contains("dave@ghost.woodgrove.test"),
        "NXDOMAIN: {all}"
    );
    // Failed, not deferred: nothing waits in the queue.
    wait_until("an empty queue", Duration::from_secs(30), || {
        contoso.handle().snapshot().queued_messages == 0
    });
    assert!(contoso.track(&of_kind(EventKind::Defer)).is_empty());
}

#[test]
fn a_dns_server_that_does_not_answer_defers_and_nothing_bounces() {
    // A loopback port where no DNS server listens.
    let contoso = Relay::start("mail.contoso.test", "contoso.test", |s| {
        s.receive_connectors[0]
            .permission_groups
            .push(PermissionGroup::AnonymousRelay);
        s.transport.dns_servers = vec!["127.0.0.1:9".into()];
        s.transport.transient_failure_retry_interval = TimeSpan::secs(1);
        s.transport.outbound_connection_failure_retry_interval = TimeSpan::secs(1);
    });
    let reply = send_mail(
        contoso.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        "Subject: later\n\nx\n",
    );
    assert!(reply.starts_with("250"), "{reply}");
    let defers = contoso.wait_kind(EventKind::Defer, 1);
    let why = defers[0].response.clone().unwrap_or_default();
    assert!(
        why.starts_with("451 4.4.3") && why.contains("woodgrove.test"),
        "{defers:#?}"
    );
    assert!(
        contoso.mailbox("contoso.test", "alice").is_empty(),
        "no NDR"
    );
    assert_eq!(contoso.handle().snapshot().queued_messages, 1);
}

#[test]
fn the_probe_finds_the_partners_mx_itself() {
    let port = mx_port();
    let dns = TestDns::start(vec![
        Zone::new("woodgrove.test")
            .mx("woodgrove.test", 10, "mx1.woodgrove.test")
            .a("mx1.woodgrove.test", FIRST),
    ]);
    let _mx1 = woodgrove_mx(FIRST, port);
    let contoso = contoso(&dns, port);
    let out = contoso.org.ok(&["probe", "--domain", "woodgrove.test"]);
    assert!(
        out.contains(&format!("mx1.woodgrove.test[127.0.0.2]:{port}")),
        "the probe says which MX host it reached: {out}"
    );
    assert!(out.contains("220 "), "the MX host's banner: {out}");
    // Without a route there is nothing to probe, said in words.
    let err = contoso.org.fails(&["probe", "--domain", "contoso.test"]);
    assert!(err.contains("one of our accepted domains"), "{err}");
}
