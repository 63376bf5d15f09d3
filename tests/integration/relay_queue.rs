//! Queue operations (list, show, suspend, resume, retry, remove with and without NDR) through
//! the running relay's control socket, smart host failover, connector choice by remote IP
//! range, recipient filtering, and the idle timeout.

use crate::support::next_hop::scripted;
use crate::support::relay_util::{Client, Relay, of_kind, send_mail, wait_until};
use crate::support::util::free_port;
use mailflow::config::units::TimeSpan;
use mailflow::config::{AcceptedDomain, PermissionGroup, ReceiveConnector, Settings};
use mailflow::store::tracking::EventKind;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Contoso relays for anonymous clients through `next_hops` (in order), retrying every second.
fn relaying(s: &mut Settings, next_hops: Vec<String>) {
    s.receive_connectors[0]
        .permission_groups
        .push(PermissionGroup::AnonymousRelay);
    s.send_connectors[0].smart_hosts = next_hops;
    s.transport.transient_failure_retry_interval = TimeSpan::secs(1);
    s.transport.outbound_connection_failure_retry_interval = TimeSpan::secs(1);
}

/// Alice at Contoso writes to Bob at Woodgrove through relay `a`.
fn alice_to_bob(a: &Relay, subject: &str) {
    send_mail(
        a.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        &format!("Subject: {subject}\n\nx\n"),
    );
}

/// How many MAIL FROM commands the test server has seen.
fn mail_froms(seen: &Mutex<Vec<String>>) -> usize {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|c| c.starts_with("MAIL FROM"))
        .count()
}

#[test]
fn queue_operations_through_the_running_relay() {
    let dead = free_port();
    let a = Relay::start("mail.contoso.test", "contoso.test", |s| {
        relaying(s, vec![format!("127.0.0.1:{dead}")]);
        s.transport.transient_failure_retry_interval = TimeSpan::secs(60);
        s.transport.outbound_connection_failure_retry_interval = TimeSpan::secs(60);
    });
    for i in 1..=3 {
        alice_to_bob(&a, &format!("queued {i}"));
    }
    a.wait_kind(EventKind::Defer, 3);
    let q = "woodgrove.test via Outbound";
    let list = a.org.ok(&["queue", "list"]);
    let row = list
        .lines()
        .find(|l| l.starts_with(q))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(
        row.contains("Retry") && row.contains(" 3 ") && row.contains("connection to 127.0.0.1"),
        "{list}"
    );
    a.org.ok(&["queue", "suspend", q]);
    assert!(
        a.org
            .ok(&["queue", "list"])
            .lines()
            .any(|l| l.starts_with(q) && l.contains("Suspended"))
    );
    a.org.ok(&["queue", "resume", q]);
    let row = a.org.ok(&["queue", "list"]);
    assert!(
        row.lines()
            .any(|l| l.starts_with(q) && !l.contains("Suspended")),
        "resumed: {row}"
    );
    let show = a.org.ok(&["queue", "show", q]);
    let ids: Vec<String> = show
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect();
    assert_eq!(ids.len(), 3, "{show}");
    // A queued message's headers, as stored (with our Received line); a wrong id is said.
    let headers = a.org.ok(&["queue", "headers", &ids[0]]);
    assert!(headers.contains("Subject: queued "), "{headers}");
    assert!(headers.contains("Received: from "), "{headers}");
    assert!(
        !headers.contains("\n\nx"),
        "the body is not shown: {headers}"
    );
    let err = a.org.fails(&["queue", "headers", "no-such-id"]);
    assert!(err.contains("cannot be read"), "{err}");
    // Remove one silently, one with an NDR to the sender.
    assert!(
        a.org
            .ok(&["queue", "remove", &ids[0]])
            .contains("removed without NDR")
    );
    assert!(
        a.org
            .ok(&["queue", "remove", &ids[1], "--ndr"])
            .contains("removed with NDR")
    );
    let inbox = a.wait_mailbox("contoso.test", "alice", 1);
    assert!(
        inbox[0].contains("removed from the queue by the administrator"),
        "{}",
        inbox[0]
    );
    wait_until("one left", Duration::from_secs(60), || {
        a.handle().snapshot().queued_messages == 1
    });
    // Exactly one NDR: for the message removed with --ndr, none for the one removed without.
    assert_eq!(a.mailbox("contoso.test", "alice").len(), 1);
    // The tracking writer commits on its own thread: the NDR can be in the mailbox first.
    let dsn = a.wait_track("the NDR's tracking event", &of_kind(EventKind::Dsn), |e| {
        !e.is_empty()
    });
    assert_eq!(dsn.len(), 1, "{dsn:#?}");
    // Retry now: with the next hop still down, the attempt is made at once.
    let before = a.track(&of_kind(EventKind::Defer)).len();
    assert!(
        a.org
            .ok(&["queue", "retry", q])
            .contains("will be retried now")
    );
    a.wait_track("a new attempt", &of_kind(EventKind::Defer), |e| {
        e.len() > before
    });
    // Errors in plain words.
    let err = a.org.fails(&["queue", "retry", "nonsense"]);
    assert!(err.contains("not a queue name"), "{err}");
}

#[test]
fn smart_hosts_fail_over_in_order() {
    let dead = free_port();
    let b = Relay::start("mail.woodgrove.test", "woodgrove.test", |_| {});
    let alive = b.addr().to_string();
    let a = Relay::start("mail.contoso.test", "contoso.test", |s| {
        relaying(s, vec![format!("127.0.0.1:{dead}"), alive.clone()])
    });
    alice_to_bob(&a, "failover");
    b.wait_mailbox("woodgrove.test", "bob", 1);
    let sent = a.wait_kind(EventKind::Send, 1);
    assert_eq!(sent[0].server.as_deref(), Some(alive.as_str()));
}

#[test]
fn the_most_specific_remote_ip_range_picks_the_connector() {
    let relay = Relay::start("mail.contoso.test", "contoso.test", |s| {
        s.receive_connectors[0].banner = Some("220 general connector".into());
        s.receive_connectors.push(ReceiveConnector {
            name: "Loopback".into(),
            bindings: vec!["127.0.0.1:0".into()],
            remote_ip_ranges: vec!["127.0.0.0/8".into()],
            banner: Some("220 loopback connector".into()),
            ..ReceiveConnector::default()
        });
    });
    let mut c = Client::connect(relay.addr());
    assert_eq!(c.reply(), "220 loopback connector");
}

#[test]
fn recipient_filtering_refuses_unknown_mailboxes() {
    let relay = Relay::start("mail.contoso.test", "contoso.test", |s| {
        s.accepted_domains[0] = AcceptedDomain {
            domain: "contoso.test".into(),
            recipients: Some(vec!["alice".into()]),
        };
    });
    let mut c = Client::connect(relay.addr());
    c.reply();
    c.cmd("EHLO x.test");
    c.cmd("MAIL FROM:<a@example.test>");
    assert_eq!(
        c.cmd("RCPT TO:<alice@contoso.test>"),
        "250 2.1.5 Recipient OK"
    );
    assert_eq!(
        c.cmd("RCPT TO:<eve@contoso.test>"),
        "550 5.1.1 User unknown: no mailbox eve@contoso.test here"
    );
    assert_eq!(
        c.cmd("RCPT TO:<postmaster@contoso.test>"),
        "250 2.1.5 Recipient OK"
    );
}

#[test]
fn idle_clients_are_disconnected_while_others_are_served() {
    let relay = Relay::start("mail.contoso.test", "contoso.test", |s| {
        s.receive_connectors[0].connection_inactivity_timeout = TimeSpan::secs(1);
        s.receive_connectors[0].connection_timeout = TimeSpan::secs(30);
    });
    let mut idle = Client::connect(relay.addr());
    assert!(idle.reply().starts_with("220"));
    // Another client is served while the first one sits there.
    let r = send_mail(
        relay.addr(),
        "a@example.test",
        &["bob@contoso.test"],
        "Subject: busy\n\nx\n",
    );
    assert!(r.starts_with("250 2.6.0"));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        idle.reply(),
        "421 4.3.2 Connection timed out: no command received"
    );
}

/// A server that offers STARTTLS but breaks the handshake, and accepts mail in plaintext.
/// With `inject`, the bytes after the 220 come in the same write (STARTTLS injection on the
/// client side); otherwise a moment later (a broken handshake).
fn broken_tls_server(inject: bool) -> (std::net::SocketAddr, Arc<Mutex<Vec<String>>>) {
    use std::io::Write;
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    scripted(l, b"220 broken.test ESMTP\r\n", move || {
        let seen = seen2.clone();
        let mut in_data = false;
        move |cmd: &str, w: &mut std::net::TcpStream| {
            seen.lock().unwrap().push(cmd.to_string());
            if in_data {
                if cmd == "." {
                    in_data = false;
                    let _ = w.write_all(b"250 2.0.0 accepted in plaintext\r\n");
                }
                return true;
            }
            let up = cmd.to_ascii_uppercase();
            let reply: &[u8] = if up.starts_with("EHLO") {
                b"250-broken.test\r\n250 STARTTLS\r\n"
            } else if up == "STARTTLS" {
                if inject {
                    let _ = w.write_all(b"220 go ahead\r\n250 injected reply\r\n");
                } else {
                    let _ = w.write_all(b"220 go ahead\r\n");
                    std::thread::sleep(std::time::Duration::from_millis(300));
                    let _ = w.write_all(b"this is not a TLS server hello\r\n");
                }
                return false;
            } else if up == "DATA" {
                in_data = true;
                b"354 go\r\n"
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
    (addr, seen)
}

#[test]
fn opportunistic_tls_retries_once_in_plaintext_but_require_tls_never_does() {
    let (addr, seen) = broken_tls_server(false);
    let a = Relay::start("mail.contoso.test", "contoso.test", |s| {
        relaying(s, vec![addr.to_string()])
    });
    alice_to_bob(&a, "fallback");
    let sent = a.wait_kind(EventKind::Send, 1);
    assert_eq!(
        sent[0].security,
        mailflow::smtp::evidence::SecurityStatus::Plaintext
    );
    assert!(
        sent[0]
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("TLS handshake failed earlier; sent in plaintext"),
        "{:?}",
        sent[0].detail
    );
    // With RequireTLS the same server gets nothing.
    a.change(|s| s.send_connectors[0].require_tls = true);
    let n = mail_froms(&seen);
    alice_to_bob(&a, "mandatory");
    let d = a.wait_kind(EventKind::Defer, 1);
    assert!(
        d[0].response
            .as_deref()
            .unwrap_or("")
            .contains("TLS handshake with"),
        "{:?}",
        d[0].response
    );
    assert_eq!(
        mail_froms(&seen),
        n,
        "no MAIL FROM after a failed mandatory handshake"
    );
}

#[test]
fn a_server_injecting_bytes_after_its_starttls_reply_is_dropped() {
    let (addr, seen) = broken_tls_server(true);
    let a = Relay::start("mail.contoso.test", "contoso.test", |s| {
        relaying(s, vec![addr.to_string()])
    });
    alice_to_bob(&a, "injected");
    let d = a.wait_kind(EventKind::Defer, 1);
    assert!(
        d[0].response
            .as_deref()
            .unwrap_or("")
            .contains("STARTTLS injection"),
        "{:?}",
        d[0].response
    );
    assert_eq!(mail_froms(&seen), 0, "nothing was sent");
}

/// Regression: the probe had its own STARTTLS code without the injection check, and took the
/// injected bytes for a handshake failure ("Mailflow would retry once in plaintext").
#[test]
fn the_probe_reports_a_server_injecting_bytes_after_its_starttls_reply() {
    let (addr, seen) = broken_tls_server(true);
    let a = Relay::start("mail.contoso.test", "contoso.test", |_| {});
    let report = mailflow::engine::probe_now(
        &a.workspace(),
        Some(&addr.to_string()),
        "woodgrove.test",
        None,
    )
    .unwrap();
    let error = report.error.clone().unwrap_or_default();
    assert!(error.contains("STARTTLS injection"), "{report:?}");
    assert!(report.tls.is_none(), "{report:?}");
    assert_eq!(report.verdicts.len(), 4, "{report:?}");
    assert!(
        report
            .verdicts
            .iter()
            .all(|v| !v.pass && v.reason.contains("STARTTLS injection")),
        "{report:?}"
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.last().map(String::as_str),
        Some("STARTTLS"),
        "nothing after STARTTLS: {seen:?}"
    );
}

#[test]
fn messages_for_one_host_share_one_connection() {
    let port = free_port();
    let a = Relay::start("mail.contoso.test", "contoso.test", |s| {
        relaying(s, vec![format!("127.0.0.1:{port}")]);
        s.transport.outbound_connection_failure_retry_interval = TimeSpan::secs(60);
        s.transport.transient_failure_retry_interval = TimeSpan::secs(60);
    });
    for i in 0..3 {
        alice_to_bob(&a, &format!("batch {i}"));
    }
    wait_until("three queued", Duration::from_secs(60), || {
        a.handle().snapshot().queued_messages == 3
    });
    a.wait_kind(EventKind::Defer, 3);
    let b = Relay::start("mail.woodgrove.test", "woodgrove.test", |s| {
        s.receive_connectors[0].bindings = vec![format!("127.0.0.1:{port}")]
    });
    a.org.ok(&["queue", "retry", "woodgrove.test via Outbound"]);
    let got = b.wait_track("three receipts", &of_kind(EventKind::Receive), |e| {
        e.len() == 3
    });
    let clients: std::collections::BTreeSet<_> = got.iter().map(|e| e.client.clone()).collect();
    assert_eq!(
        clients.len(),
        1,
        "one connection carried all three: {clients:?}"
    );
}

#[test]
fn stopping_lets_a_message_in_progress_finish_and_turns_idle_sessions_away() {
    let mut relay = Relay::start("mail.contoso.test", "contoso.test", |_| {});
    let addr = relay.addr();
    let mut busy = Client::connect(addr);
    busy.reply();
    busy.cmd("EHLO busy.test");
    busy.cmd("MAIL FROM:<a@example.test>");
    busy.cmd("RCPT TO:<bob@contoso.test>");
    assert!(busy.cmd("DATA").starts_with("354"));
    busy.send_raw(b"Subject: in flight\r\n\r\nfirst half\r\n");
    let mut idle = Client::connect(addr);
    idle.reply();
    idle.cmd("EHLO idle.test");
    let handle = relay.handle.take().expect("running");
    let stopper = std::thread::spawn(move || handle.stop());
    // The idle session is told at once; the one in DATA may finish its message.
    assert_eq!(
        idle.reply(),
        "421 4.3.2 Service shutting down, closing transmission channel"
    );
    std::thread::sleep(Duration::from_millis(300));
    busy.send_raw(b"second half\r\n");
    let r = busy.cmd(".");
    assert!(
        r.starts_with("250 2.6.0"),
        "the message in flight was accepted: {r}"
    );
    stopper.join().unwrap();
    // Nothing acknowledged is lost: after a restart it is delivered.
    relay.restart();
    let m = relay.wait_mailbox("contoso.test", "bob", 1);
    assert!(m[0].contains("first half") && m[0].contains("second half"));
}

#[test]
fn smart_hosts_are_tried_in_their_order() {
    let b = Relay::start("mail.woodgrove.test", "woodgrove.test", |_| {});
    let c = Relay::start("backup.woodgrove.test", "woodgrove.test", |_| {});
    let (first, second) = (b.addr().to_string(), c.addr().to_string());
    let a = Relay::start("mail.contoso.test", "contoso.test", |s| {
        relaying(s, vec![first.clone(), second.clone()])
    });
    for i in 1..=3 {
        alice_to_bob(&a, &format!("in order {i}"));
    }
    b.wait_mailbox("woodgrove.test", "bob", 3);
    let sent = a.wait_kind(EventKind::Send, 3);
    assert!(
        sent.iter()
            .all(|e| e.server.as_deref() == Some(first.as_str()))
    );
    assert!(
        c.mailbox("woodgrove.test", "bob").is_empty(),
        "the second host is a fallback"
    );
}

#[test]
fn a_recipient_refused_by_the_next_hop_gets_an_ndr_and_the_others_are_delivered() {
    // Woodgrove knows bob only: eve is refused with 550 5.1.1.
    let b = Relay::start("mail.woodgrove.test", "woodgrove.test", |s| {
        s.accepted_domains[0] = AcceptedDomain {
            domain: "woodgrove.test".into(),
            recipients: Some(vec!["bob".into()]),
        };
    });
    let hop = b.addr().to_string();
    let a = Relay::start("mail.contoso.test", "contoso.test", |s| {
        relaying(s, vec![hop.clone()])
    });
    send_mail(
        a.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test", "eve@woodgrove.test"],
        "Subject: to two\n\nx\n",
    );
    b.wait_mailbox("woodgrove.test", "bob", 1);
    let failed = a.wait_kind(EventKind::Fail, 1);
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0]
            .recipients
            .iter()
            .any(|r| r == "eve@woodgrove.test")
            && !failed[0]
                .recipients
                .iter()
                .any(|r| r == "bob@woodgrove.test"),
        "{failed:?}"
    );
    assert!(
        failed[0]
            .response
            .as_deref()
            .unwrap_or("")
            .starts_with("550 5.1.1"),
        "{failed:?}"
    );
    let ndr = a.wait_mailbox("contoso.test", "alice", 1).remove(0);
    assert!(
        ndr.contains("eve@woodgrove.test") && ndr.contains("Status: 5.1.1"),
        "{ndr}"
    );
    assert!(
        !ndr.contains("Final-Recipient: rfc822; bob@woodgrove.test"),
        "{ndr}"
    );
    // Delivered once, refused once: nothing is retried.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(b.mailbox("woodgrove.test", "bob").len(), 1);
    assert!(a.track(&of_kind(EventKind::Defer)).is_empty());
}
