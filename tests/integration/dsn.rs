//! Delivery status notifications (RFC 3461) end to end: a real Postfix as the next hop takes
//! over the sender's request (its own success notice comes back through us), Postfix's
//! `sendmail -N/-R/-V` as a DSN-speaking sender gets our "delivered" notice, a next hop
//! without DSN makes us say "relayed", and NOTIFY=NEVER / FAILURE / DELAY and RET=FULL decide
//! which notices go out and what they carry.
//!
//! Debian's swaks (20201014) has no DSN options, so the DSN-speaking senders here are Postfix's
//! own `sendmail` and the scripted client; swaks is the sender that asks nothing, and gets the
//! notices RFC 3461 gives by default.

use crate::support::next_hop::answering;
use crate::support::postfix::{Postfix, PostfixOptions};
use crate::support::relay_util::{Relay, of_kind, send_with_params, wait_until};
use crate::support::util::free_port;
use mailflow::config::units::TimeSpan;
use mailflow::config::{PermissionGroup, Settings};
use mailflow::store::tracking::EventKind;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn allow_relay(s: &mut Settings) {
    s.receive_connectors[0]
        .permission_groups
        .push(PermissionGroup::AnonymousRelay);
}

/// Contoso's relay (Mailflow) and Woodgrove's Postfix, each the other's next hop.
fn contoso_and_woodgrove_postfix() -> Option<(Relay, Postfix)> {
    let pf_port = free_port();
    let relay = Relay::start("mail.contoso.test", "contoso.test", |s| {
        allow_relay(s);
        s.send_connectors[0].smart_hosts = vec![format!("127.0.0.1:{pf_port}")];
    });
    let mut opts = PostfixOptions::new("mx.woodgrove.test", "woodgrove.test");
    opts.smtpd_port = Some(pf_port);
    opts.relay_to = Some(relay.addr());
    let pf = Postfix::start(opts)?;
    Some((relay, pf))
}

/// The relay passes RET, ENVID, NOTIFY and ORCPT on to Postfix, which delivers and sends its
/// own success notice back through the relay to the sender; the relay sends none of its own.
#[test]
fn postfix_as_next_hop_takes_over_the_request_and_its_success_notice_comes_back() {
    let Some((relay, pf)) = contoso_and_woodgrove_postfix() else {
        return;
    };
    let r = send_with_params(
        relay.addr(),
        "<alice@contoso.test> RET=HDRS ENVID=QQ314+2B1",
        &["<bob@woodgrove.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob@woodgrove.test"],
        "Subject: please confirm\n\nconfirm delivery\n",
    );
    assert!(r.starts_with("250"), "{r}");
    let got = pf.wait_mailbox("bob", 1).remove(0);
    assert!(got.contains("confirm delivery"), "{got}");
    relay.wait_protocol_log(
        "SmtpSend",
        "RCPT TO:<bob@woodgrove.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob@woodgrove.test",
    );
    let log = relay.protocol_log("SmtpSend");
    assert!(
        log.lines()
            .any(|l| l.contains("MAIL FROM:<alice@contoso.test> SIZE=")
                && l.contains(" RET=HDRS ENVID=QQ314+2B1,")),
        "{log}"
    );
    // Postfix's own notice, through the relay into alice's mailbox.
    let notice = relay.wait_mailbox("contoso.test", "alice", 1).remove(0);
    assert!(
        notice.contains("Reporting-MTA: dns; mx.woodgrove.test"),
        "{notice}"
    );
    assert!(notice.contains("Action: delivered"), "{notice}");
    assert!(notice.contains("Original-Envelope-Id: QQ314+1"), "{notice}");
    assert!(
        notice.contains("Original-Recipient: rfc822;Bob@woodgrove.test"),
        "{notice}"
    );
    // Postfix took over: no notice of the relay's own about it.
    std::thread::sleep(Duration::from_millis(500));
    assert!(relay.track(&of_kind(EventKind::Dsn)).is_empty());
    assert_eq!(relay.mailbox("contoso.test", "alice").len(), 1);
}

/// Postfix's `sendmail -N success -V ... -R hdrs` sends through the relay; the relay delivers
/// into a mailbox and sends a "delivered" notice back to the Postfix sender, naming the
/// envelope id and the original recipient Postfix passed on.
#[test]
fn a_postfix_sender_asking_for_success_gets_our_delivered_notice() {
    let Some((relay, pf)) = contoso_and_woodgrove_postfix() else {
        return;
    };
    pf.inject_with(
        &["-N", "success", "-V", "WG-4711", "-R", "hdrs"],
        "alice@woodgrove.test",
        &["carol@contoso.test"],
        "Subject: sign here\n\nplease sign\n",
    );
    let got = relay.wait_mailbox("contoso.test", "carol", 1).remove(0);
    assert!(got.contains("please sign"), "{got}");
    relay.wait_protocol_log(
        "SmtpReceive",
        "RCPT TO:<carol@contoso.test> ORCPT=rfc822;carol@contoso.test NOTIFY=SUCCESS",
    );
    let log = relay.protocol_log("SmtpReceive");
    assert!(log.contains("ENVID=WG-4711"), "{log}");
    let notice = pf.wait_mailbox("alice", 1).remove(0);
    assert!(notice.contains("Subject: Delivered: sign here"), "{notice}");
    assert!(
        notice.contains("Reporting-MTA: dns; mail.contoso.test"),
        "{notice}"
    );
    assert!(notice.contains("Original-Envelope-Id: WG-4711"), "{notice}");
    assert!(
        notice.contains("Original-Recipient: rfc822;carol@contoso.test\r\nFinal-Recipient: rfc822; carol@contoso.test\r\nAction: delivered\r\nStatus: 2.")
            || notice.contains("Original-Recipient: rfc822;carol@contoso.test\nFinal-Recipient: rfc822; carol@contoso.test\nAction: delivered\nStatus: 2."),
        "{notice}"
    );
    assert!(!notice.contains("please sign"), "RET=HDRS: the header only");
}

/// A next hop without DSN that refuses `refused*` recipients with 550 and accepts the rest;
/// records every command line.
fn hop_without_dsn(port: u16) -> Arc<Mutex<Vec<String>>> {
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("hop port");
    answering(
        listener,
        b"220 old.woodgrove.test ESMTP\r\n",
        b"250-old.woodgrove.test\r\n250 8BITMIME\r\n",
        |line| {
            if line.to_ascii_uppercase().starts_with("RCPT TO:<REFUSED") {
                b"550 5.1.1 no such user\r\n"
            } else {
                b"250 OK\r\n"
            }
        },
    )
}

/// To a next hop without DSN: no DSN parameters go on; a "relayed" notice for the recipient
/// that asked for success; an NDR with the whole message (RET=FULL) for the one that asked for
/// failure; nothing for the one that said NEVER.
#[test]
fn without_dsn_further_on_we_say_relayed_and_notify_never_means_never() {
    let port = free_port();
    let seen = hop_without_dsn(port);
    let relay = Relay::start("mail.contoso.test", "contoso.test", |s| {
        allow_relay(s);
        s.send_connectors[0].smart_hosts = vec![format!("127.0.0.1:{port}")];
    });
    let r = send_with_params(
        relay.addr(),
        "<alice@contoso.test> RET=FULL ENVID=E-1",
        &[
            "<ok@woodgrove.test> NOTIFY=SUCCESS",
            "<refused-quietly@woodgrove.test> NOTIFY=NEVER",
            "<refused@woodgrove.test> NOTIFY=FAILURE ORCPT=rfc822;Refused@woodgrove.test",
        ],
        "Subject: three ways\n\nthe whole body\n",
    );
    assert!(r.starts_with("250"), "{r}");
    let inbox = relay.wait_mailbox("contoso.test", "alice", 2);
    let relayed = inbox
        .iter()
        .find(|m| m.contains("Subject: Relayed: three ways"))
        .unwrap_or_else(|| panic!("{inbox:#?}"));
    assert!(relayed.contains("Action: relayed"), "{relayed}");
    assert!(
        relayed.contains("Final-Recipient: rfc822; ok@woodgrove.test"),
        "{relayed}"
    );
    assert!(relayed.contains("Original-Envelope-Id: E-1"), "{relayed}");
    assert!(!relayed.contains("refused"), "{relayed}");
    assert!(
        !relayed.contains("the whole body"),
        "RET=FULL is for failures"
    );
    let ndr = inbox
        .iter()
        .find(|m| m.contains("Subject: Undeliverable: three ways"))
        .unwrap_or_else(|| panic!("{inbox:#?}"));
    assert!(
        ndr.contains("Original-Recipient: rfc822;Refused@woodgrove.test"),
        "{ndr}"
    );
    assert!(ndr.contains("Action: failed"), "{ndr}");
    assert!(!ndr.contains("refused-quietly"), "NEVER: {ndr}");
    assert!(ndr.contains("Content-Type: message/rfc822"), "{ndr}");
    assert!(ndr.contains("the whole body"), "RET=FULL: {ndr}");
    // Nothing was passed on to a server that does not offer DSN.
    let lines = seen.lock().unwrap().clone();
    assert!(
        lines.iter().any(|l| l == "MAIL FROM:<alice@contoso.test>"),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l == "RCPT TO:<ok@woodgrove.test>"),
        "{lines:?}"
    );
    // And no third notice, for the NEVER recipient.
    wait_until("the message is done", Duration::from_secs(30), || {
        relay.handle().snapshot().queued_messages == 0
    });
    assert_eq!(relay.mailbox("contoso.test", "alice").len(), 2);
}

/// Delay notices and NDRs for a next hop that never answers: the delay notice reports only who
/// asked for DELAY (or said nothing), the NDR only who asked for FAILURE (or said nothing).
#[test]
fn delay_and_failure_notices_honour_each_recipients_notify() {
    let dead = free_port();
    let relay = Relay::start("mail.contoso.test", "contoso.test", |s| {
        allow_relay(s);
        s.send_connectors[0].smart_hosts = vec![format!("127.0.0.1:{dead}")];
        s.transport.transient_failure_retry_interval = TimeSpan::secs(1);
        s.transport.outbound_connection_failure_retry_interval = TimeSpan::secs(1);
        s.transport.delay_notification_timeout = TimeSpan::secs(1);
        s.transport.message_expiration_timeout = TimeSpan::secs(4);
    });
    let r = send_with_params(
        relay.addr(),
        "<alice@contoso.test>",
        &[
            "<default@woodgrove.test>",
            "<failonly@woodgrove.test> NOTIFY=FAILURE",
            "<never@woodgrove.test> NOTIFY=NEVER",
            "<delayonly@woodgrove.test> NOTIFY=DELAY",
        ],
        "Subject: slow\n\nwaits\n",
    );
    assert!(r.starts_with("250"), "{r}");
    let inbox = relay.wait_mailbox("contoso.test", "alice", 2);
    wait_until("the message is done", Duration::from_secs(60), || {
        relay.handle().snapshot().queued_messages == 0
    });
    let inbox = if inbox.len() < 2 {
        inbox
    } else {
        relay.mailbox("contoso.test", "alice")
    };
    assert_eq!(inbox.len(), 2, "{inbox:#?}");
    let finals = |m: &str| -> Vec<String> {
        m.lines()
            .filter_map(|l| l.strip_prefix("Final-Recipient: rfc822; "))
            .map(|l| l.trim().to_string())
            .collect()
    };
    let delay = inbox
        .iter()
        .find(|m| m.contains("Subject: Delivery delayed: slow"))
        .unwrap_or_else(|| panic!("{inbox:#?}"));
    assert_eq!(
        finals(delay),
        vec!["default@woodgrove.test", "delayonly@woodgrove.test"]
    );
    let ndr = inbox
        .iter()
        .find(|m| m.contains("Subject: Undeliverable: slow"))
        .unwrap_or_else(|| panic!("{inbox:#?}"));
    assert_eq!(
        finals(ndr),
        vec!["default@woodgrove.test", "failonly@woodgrove.test"]
    );
    assert!(!ndr.contains("waits"), "without RET, the header only");
}

/// swaks as the sender: Debian's swaks sends no DSN parameters, so it gets what RFC 3461 gives a
/// sender that asked nothing — the relay offers DSN in its EHLO, and a next hop that never
/// answers brings a delay notice and then an NDR (NOTIFY defaults to FAILURE,DELAY), each with
/// the original's header only (no RET).
#[test]
fn a_swaks_sender_that_asks_nothing_gets_the_default_notices() {
    if crate::support::util::peer("swaks").is_none() {
        return;
    }
    let dead = free_port();
    let relay = Relay::start("mail.contoso.test", "contoso.test", |s| {
        allow_relay(s);
        s.send_connectors[0].smart_hosts = vec![format!("127.0.0.1:{dead}")];
        s.transport.transient_failure_retry_interval = TimeSpan::secs(1);
        s.transport.outbound_connection_failure_retry_interval = TimeSpan::secs(1);
        s.transport.delay_notification_timeout = TimeSpan::secs(1);
        s.transport.message_expiration_timeout = TimeSpan::secs(4);
    });
    let server = relay.addr().to_string();
    let t = crate::support::swaks::run_ok(&[
        "--server",
        &server,
        "--from",
        "alice@contoso.test",
        "--to",
        "bob@woodgrove.test",
        "--header",
        "Subject: by swaks",
        "--body",
        "the secret body",
    ]);
    assert!(t.contains("250-DSN") || t.contains("250 DSN"), "{t}");
    let inbox = relay.wait_mailbox("contoso.test", "alice", 2);
    let delay = inbox
        .iter()
        .find(|m| m.contains("Subject: Delivery delayed: by swaks"))
        .unwrap_or_else(|| panic!("{inbox:#?}"));
    assert!(delay.contains("Action: delayed"), "{delay}");
    let ndr = inbox
        .iter()
        .find(|m| m.contains("Subject: Undeliverable: by swaks"))
        .unwrap_or_else(|| panic!("{inbox:#?}"));
    assert!(ndr.contains("Action: failed"), "{ndr}");
    assert!(
        !ndr.contains("Original-Envelope-Id"),
        "no ENVID was given: {ndr}"
    );
    for m in [delay, ndr] {
        assert!(m.contains("Content-Type: text/rfc822-headers"), "{m}");
        assert!(!m.contains("the secret body"), "{m}");
    }
}
