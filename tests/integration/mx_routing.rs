//! MX routing against a real DNS server in process (hickory-server on loopback): the best MX
//! first and the next one when it does not answer, the implicit MX, a null MX and a domain that
//! does not exist bounced with the RFCs' codes, a DNS server that does not answer deferring,
//! and Postfix as the remote MX found in DNS. MX hosts listen on 127.0.0.x on one port, the
//! relay's MX port.

use crate::support::dns::{TestDns, Zone};
use crate::support::mx::{FIRST, SECOND, contoso, mx_port, woodgrove_mx};
use crate::support::relay_util::{Relay, of_kind, send_mail, wait_until};
use mailflow::config::PermissionGroup;
use mailflow::config::units::TimeSpan;
use mailflow::store::tracking::EventKind;
use std::time::Duration;

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
    // The live monitor counted both routings, neither failed.
    let counters = contoso.handle().snapshot().counters;
    assert_eq!(
        (counters.mx_lookups, counters.mx_lookup_failures),
        (2, 0),
        "{counters:?}"
    );
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
    // Both routings found no host: the live monitor counts them as failed lookups.
    let counters = contoso.handle().snapshot().counters;
    assert!(counters.mx_lookup_failures >= 1, "{counters:?}");
    assert_eq!(
        counters.mx_lookups, counters.mx_lookup_failures,
        "{counters:?}"
    );
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

/// Woodgrove's zone as these DNSSEC tests serve it: one MX, on 127.0.0.2.
fn woodgrove_zone() -> Zone {
    Zone::new("woodgrove.test")
        .mx("woodgrove.test", 10, "mx1.woodgrove.test")
        .a("mx1.woodgrove.test", FIRST)
}

#[test]
fn a_signed_zone_is_secure_an_unsigned_one_insecure_in_the_evidence() {
    let port = mx_port();
    let dns = TestDns::start(vec![
        woodgrove_zone().signed(),
        Zone::new("fabrikam.test").mx("fabrikam.test", 10, "mx1.woodgrove.test"),
        Zone::new("northwind.test")
            .a("northwind.test", FIRST)
            .signed(),
    ]);
    let mx1 = woodgrove_mx(FIRST, port);
    mx1.change(|s| {
        for domain in ["fabrikam.test", "northwind.test"] {
            s.accepted_domains.push(mailflow::config::AcceptedDomain {
                domain: domain.into(),
                recipients: None,
            })
        }
    });
    let contoso = contoso(&dns, port);
    let reply = send_mail(
        contoso.addr(),
        "alice@contoso.test",
        &[
            "bob@woodgrove.test",
            "carol@fabrikam.test",
            "dan@northwind.test",
        ],
        "Subject: dnssec\n\nx\n",
    );
    assert!(reply.starts_with("250"), "{reply}");
    mx1.wait_mailbox("woodgrove.test", "bob", 1);
    mx1.wait_mailbox("fabrikam.test", "carol", 1);
    mx1.wait_mailbox("northwind.test", "dan", 1);
    let sent = contoso.wait_kind(EventKind::Send, 3);
    let detail_for = |domain: &str| {
        sent.iter()
            .find(|e| e.recipients.iter().any(|r| r.ends_with(domain)))
            .and_then(|e| e.detail.clone())
            .unwrap_or_default()
    };
    let signed = detail_for("@woodgrove.test");
    assert!(
        signed.contains("MX mx1.woodgrove.test (preference 10), DNSSEC secure"),
        "{signed}"
    );
    // Proven unsigned by its signed parent: insecure, and delivered all the same. (Its MX
    // host's address is in the signed zone, but the MX answer itself is not.)
    let unsigned = detail_for("@fabrikam.test");
    assert!(unsigned.contains("DNSSEC insecure"), "{unsigned}");
    // No MX in a signed zone: the signed denial (its SOA proof) and the address are secure.
    let implicit = detail_for("@northwind.test");
    assert!(
        implicit.contains("northwind.test itself (no MX), DNSSEC secure"),
        "{implicit}"
    );
}

#[test]
fn a_bogus_answer_defers_and_nothing_is_sent() {
    let port = mx_port();
    let dns = TestDns::start(vec![woodgrove_zone().broken_signature()]);
    let mx1 = woodgrove_mx(FIRST, port);
    let contoso = contoso(&dns, port);
    let reply = send_mail(
        contoso.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        "Subject: bogus\n\nx\n",
    );
    assert!(reply.starts_with("250"), "{reply}");
    let defers = contoso.wait_kind(EventKind::Defer, 1);
    let why = defers[0].response.clone().unwrap_or_default();
    assert!(
        why.starts_with("451 4.4.3") && why.contains("DNSSEC-bogus"),
        "{defers:#?}"
    );
    assert!(mx1.mailbox("woodgrove.test", "bob").is_empty());
    assert!(
        contoso.mailbox("contoso.test", "alice").is_empty(),
        "no NDR"
    );
}

#[test]
fn a_trust_anchor_that_is_not_one_is_refused_and_nothing_changes() {
    let dns = TestDns::start(vec![woodgrove_zone()]);
    let contoso = contoso(&dns, mx_port());
    let before = std::fs::read(contoso.dir().settings()).expect("settings");
    let junk = contoso.org.file("junk.key");
    std::fs::write(&junk, "this is not a DNSKEY\n").expect("junk");
    let err = contoso.org.fails(&[
        "transport",
        "set",
        "--dnssec-trust-anchor",
        junk.to_str().expect("path"),
    ]);
    assert!(err.contains("is not a DNSSEC trust anchor"), "{err}");
    assert_eq!(
        std::fs::read(contoso.dir().settings()).expect("settings"),
        before
    );
}

#[test]
fn a_host_that_failed_lately_is_tried_after_the_others() {
    let port = mx_port();
    // mx1 answers the connection and hangs up at once: a failure before any transaction.
    let listener = std::net::TcpListener::bind((FIRST, port)).expect("mx1 port");
    let knocks = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = knocks.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(stream);
        }
    });
    let mx2 = woodgrove_mx(SECOND, port);
    let dns = TestDns::start(vec![
        Zone::new("woodgrove.test")
            .mx("woodgrove.test", 10, "mx1.woodgrove.test")
            .mx("woodgrove.test", 20, "mx2.woodgrove.test")
            .a("mx1.woodgrove.test", FIRST)
            .a("mx2.woodgrove.test", SECOND),
    ]);
    let contoso = contoso(&dns, port);
    contoso
        .change(|s| s.transport.outbound_connection_failure_retry_interval = TimeSpan::secs(600));
    let send = |subject: &str| {
        let reply = send_mail(
            contoso.addr(),
            "alice@contoso.test",
            &["bob@woodgrove.test"],
            &format!("Subject: {subject}\n\nx\n"),
        );
        assert!(reply.starts_with("250"), "{reply}");
    };
    send("first");
    mx2.wait_mailbox("woodgrove.test", "bob", 1);
    assert_eq!(
        knocks.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "mx1 tried first"
    );
    // mx1 failed a moment ago: mx2 is tried first now, and takes the mail.
    send("second");
    mx2.wait_mailbox("woodgrove.test", "bob", 2);
    assert_eq!(
        knocks.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "mx1 not tried again while counted as down"
    );
}
