//! The relay end to end: the article's Telnet dialogue, swaks and openssl as real clients, two
//! organizations exchanging mail over opportunistic TLS, a peer without STARTTLS, retry and
//! NDR, and a restart with queued mail.

use crate::support::relay_util::{Client, Relay, of_kind, send_mail, wait_until};
use crate::support::serve::wait_listening;
use crate::support::swaks;
use crate::support::util::{free_port, p, peer};
use mailflow::config::units::TimeSpan;
use mailflow::config::{PermissionGroup, Settings};

/// Lets local test clients relay through the default connector (as an application server
/// connector would); without it the relay refuses with 550 5.7.1.
fn allow_relay(s: &mut Settings) {
    s.receive_connectors[0]
        .permission_groups
        .push(PermissionGroup::AnonymousRelay);
}
use mailflow::smtp::evidence::SecurityStatus;
use mailflow::store::tracking::{EventKind, TrackingQuery};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn the_articles_telnet_dialogue_lands_in_the_maildir_as_plaintext() {
    let relay = Relay::start("EX2007-DC.domaene.tld", "domaene.tld", |_| {});
    let mut c = Client::connect(relay.addr());
    assert!(c.reply().starts_with("220 ex2007-dc.domaene.tld"));
    assert_eq!(c.cmd("helo"), "250 ex2007-dc.domaene.tld Hello [127.0.0.1]");
    assert_eq!(
        c.cmd("mail from:administrator@domaene.tld"),
        "250 2.1.0 Sender OK"
    );
    assert_eq!(
        c.cmd("rcpt to:administrator@domaene.tld"),
        "250 2.1.5 Recipient OK"
    );
    assert_eq!(
        c.cmd("data"),
        "354 Start mail input; end with <CRLF>.<CRLF>"
    );
    c.send_raw(b"subject: NO SSL - PLAINTEXT\r\nTHIS IS PLAINTEXT\r\n");
    let r = c.cmd(".");
    assert!(
        r.starts_with("250 2.6.0 <") && r.ends_with("> Queued mail for delivery"),
        "{r}"
    );
    assert!(c.cmd("quit").starts_with("221"));
    let msgs = relay.wait_mailbox("domaene.tld", "administrator", 1);
    assert!(
        msgs[0].contains("subject: NO SSL - PLAINTEXT\nTHIS IS PLAINTEXT\n"),
        "{}",
        msgs[0]
    );
    assert!(msgs[0].contains("with SMTP id"), "{}", msgs[0]);
    assert!(
        msgs[0].contains("X-Mailflow-Security: Plaintext"),
        "{}",
        msgs[0]
    );
    let ev = relay.wait_kind(EventKind::Receive, 1);
    assert_eq!(ev[0].security, SecurityStatus::Plaintext);
    assert_eq!(ev[0].subject.as_deref(), Some("NO SSL - PLAINTEXT"));
    relay.wait_track("DELIVER", &of_kind(EventKind::Deliver), |e| {
        e.len() == 1 && e[0].security == SecurityStatus::Plaintext
    });
}

#[test]
fn swaks_plain_starttls_and_pipelining_are_tracked_with_their_tls_facts() {
    if peer("swaks").is_none() {
        return;
    }
    let relay = Relay::start("mail.contoso.test", "contoso.test", |_| {});
    let server = relay.addr().to_string();
    swaks::run_ok(&[
        "--server",
        &server,
        "--from",
        "a@example.test",
        "--to",
        "plain@contoso.test",
        "--header",
        "Subject: plain",
    ]);
    let t = swaks::run_ok(&[
        "--server",
        &server,
        "--from",
        "a@example.test",
        "--to",
        "tls@contoso.test",
        "--tls",
        "--header",
        "Subject: starttls",
    ]);
    assert!(t.contains("<~  250 2.6.0"), "{t}");
    let p = swaks::run_ok(&[
        "--server",
        &server,
        "--from",
        "a@example.test",
        "--to",
        "pipe@contoso.test,pipe2@contoso.test",
        "--pipeline",
        "--tls",
        "--header",
        "Subject: pipelined",
    ]);
    assert!(p.contains("250 2.6.0"), "{p}");
    let ev = relay.wait_track("three receipts", &of_kind(EventKind::Receive), |e| {
        e.len() == 3
    });
    let by_subject = |s: &str| {
        ev.iter()
            .find(|e| e.subject.as_deref() == Some(s))
            .unwrap_or_else(|| panic!("{s}"))
    };
    assert_eq!(by_subject("plain").security, SecurityStatus::Plaintext);
    for s in ["starttls", "pipelined"] {
        let e = by_subject(s);
        assert_eq!(e.security, SecurityStatus::Encrypted, "{s}");
        let tls = e.tls.as_ref().expect("TLS facts");
        assert!(tls.version.starts_with("TLSv1."), "{tls:?}");
        assert!(tls.cipher.starts_with("TLS_"), "{tls:?}");
    }
    assert_eq!(by_subject("pipelined").recipients.len(), 2);
    relay.wait_mailbox("contoso.test", "pipe2", 1);
}

#[test]
fn openssl_s_client_starttls_gets_tls_and_a_queued_message() {
    if peer("openssl").is_none() {
        return;
    }
    let relay = Relay::start("mail.contoso.test", "contoso.test", |_| {});
    let mut child = Command::new("openssl")
        .args([
            "s_client",
            "-starttls",
            "smtp",
            "-connect",
            &relay.addr().to_string(),
            "-quiet",
            "-crlf",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl runs");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        std::thread::sleep(Duration::from_millis(800));
        for line in [
            "EHLO openssl.test",
            "MAIL FROM:<o@example.test>",
            "RCPT TO:<bob@contoso.test>",
            "DATA",
            "Subject: via openssl",
            "",
            "hello",
            ".",
            "QUIT",
        ] {
            writeln!(stdin, "{line}").unwrap();
            std::thread::sleep(Duration::from_millis(150));
        }
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("250 2.6.0"),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ev = relay.wait_kind(EventKind::Receive, 1);
    assert_eq!(ev[0].security, SecurityStatus::Encrypted);
    assert!(ev[0].tls.as_ref().is_some_and(|t| t.version == "TLSv1.3"));
}

#[test]
fn two_organizations_exchange_mail_both_ways_over_opportunistic_tls() {
    let a = Relay::start("mail.contoso.test", "contoso.test", allow_relay);
    let b = Relay::start("mail.woodgrove.test", "woodgrove.test", allow_relay);
    let (aa, ba) = (a.addr().to_string(), b.addr().to_string());
    a.change(|s| s.send_connectors[0].smart_hosts = vec![ba.clone()]);
    b.change(|s| s.send_connectors[0].smart_hosts = vec![aa.clone()]);
    let r = send_mail(
        a.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        "Subject: to woodgrove\n\nhi bob\n",
    );
    assert!(r.starts_with("250 2.6.0"), "{r}");
    let r = send_mail(
        b.addr(),
        "bob@woodgrove.test",
        &["alice@contoso.test"],
        "Subject: to contoso\n\nhi alice\n",
    );
    assert!(r.starts_with("250 2.6.0"), "{r}");
    let at_b = b.wait_mailbox("woodgrove.test", "bob", 1);
    assert!(at_b[0].contains("hi bob"));
    assert!(at_b[0].contains("with ESMTPS"), "{}", at_b[0]);
    assert!(
        at_b[0].contains("X-Mailflow-Security: Encrypted"),
        "{}",
        at_b[0]
    );
    let at_a = a.wait_mailbox("contoso.test", "alice", 1);
    assert!(at_a[0].contains("hi alice"));
    // Sender side: SEND with the outbound hop's TLS facts (opportunistic, self-signed peer).
    let sent = a.wait_kind(EventKind::Send, 1);
    assert_eq!(sent[0].security, SecurityStatus::Encrypted);
    let tls = sent[0].tls.as_ref().expect("outbound TLS facts");
    assert!(
        tls.peer_certificate
            .as_ref()
            .is_some_and(|c| c.subject.contains("mail.woodgrove.test")),
        "{tls:?}"
    );
    assert!(
        sent[0]
            .response
            .as_deref()
            .is_some_and(|r| r.starts_with("250 2.6.0"))
    );
    let from_a = TrackingQuery {
        kind: Some(EventKind::Receive),
        sender: Some("alice@contoso.test".into()),
        ..Default::default()
    };
    let got = b.wait_track("RECEIVE from A", &from_a, |e| !e.is_empty());
    assert_eq!(got[0].security, SecurityStatus::Encrypted);
    assert_eq!(
        got[0].tls.as_ref().map(|t| t.version.as_str()),
        Some("TLSv1.3")
    );
}

#[test]
fn a_peer_without_starttls_gets_the_mail_in_plaintext() {
    let Some(sink) = peer("smtp-sink") else {
        return;
    };
    let port = free_port();
    let mut cmd = Command::new(sink);
    if unsafe_is_root() {
        cmd.args(["-u", "nobody"]);
    }
    let mut child = cmd
        .args(["-c", &format!("127.0.0.1:{port}"), "10"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("smtp-sink runs");
    let a = Relay::start("mail.contoso.test", "contoso.test", |s| {
        allow_relay(s);
        s.send_connectors[0].smart_hosts = vec![format!("127.0.0.1:{port}")];
    });
    send_mail(
        a.addr(),
        "alice@contoso.test",
        &["x@fabrikam.test"],
        "Subject: plain please\n\nbody\n",
    );
    let sent = a.wait_kind(EventKind::Send, 1);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(sent[0].security, SecurityStatus::Plaintext);
    assert!(sent[0].tls.is_none());
    assert!(
        sent[0]
            .response
            .as_deref()
            .is_some_and(|r| r.starts_with("250")),
        "{:?}",
        sent[0].response
    );
}

fn unsafe_is_root() -> bool {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() == 0 }
}

#[test]
fn unreachable_next_hop_defers_then_ndr_after_expiry() {
    let dead = free_port();
    let a = Relay::start("mail.contoso.test", "contoso.test", |s| {
        allow_relay(s);
        s.send_connectors[0].smart_hosts = vec![format!("127.0.0.1:{dead}")];
        s.transport.transient_failure_retry_interval = TimeSpan::secs(1);
        s.transport.outbound_connection_failure_retry_interval = TimeSpan::secs(1);
        s.transport.delay_notification_timeout = TimeSpan::secs(2);
        s.transport.message_expiration_timeout = TimeSpan::secs(4);
    });
    send_mail(
        a.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        "Subject: doomed\n\nnever arrives\n",
    );
    let defers = a.wait_kind(EventKind::Defer, 1);
    assert!(
        defers[0]
            .response
            .as_deref()
            .is_some_and(|r| r.contains("connection to 127.0.0.1") && r.starts_with("451")),
        "{:?}",
        defers[0].response
    );
    // The queue shows it with its error.
    let q = a.handle().snapshot().queues;
    assert!(
        q.iter().any(|r| r.name == "woodgrove.test via Outbound"
            && r.last_error.is_some()
            && r.policy.as_deref() == Some("opportunistic TLS")),
        "{q:?}"
    );
    // Expiry: an NDR (and before it a delay notice) arrives in alice's mailbox.
    let inbox = a.wait_mailbox("contoso.test", "alice", 2);
    let all = inbox.join("\n----\n");
    assert!(all.contains("Subject: Delivery delayed: doomed"), "{all}");
    assert!(all.contains("Subject: Undeliverable: doomed"), "{all}");
    assert!(all.contains("Action: failed"), "{all}");
    // RFC 3463: 5.4.7, delivery time expired (the reply and enhanced code classes agree).
    assert!(all.contains("Status: 5.4.7"), "{all}");
    assert!(all.contains("550 5.4.7 message expired"), "{all}");
    assert!(
        all.contains("Final-Recipient: rfc822; bob@woodgrove.test"),
        "{all}"
    );
    assert!(
        all.contains("Content-Type: message/delivery-status"),
        "{all}"
    );
    a.wait_kind(EventKind::Dsn, 2);
    wait_until("queue empty", Duration::from_secs(60), || {
        a.handle().snapshot().queued_messages == 0
    });
}

#[test]
fn no_ndr_is_ever_sent_to_the_null_sender() {
    let dead = free_port();
    let a = Relay::start("mail.contoso.test", "contoso.test", |s| {
        s.send_connectors[0].smart_hosts = vec![format!("127.0.0.1:{dead}")];
        s.transport.transient_failure_retry_interval = TimeSpan::secs(1);
        s.transport.outbound_connection_failure_retry_interval = TimeSpan::secs(1);
        s.transport.delay_notification_timeout = TimeSpan::secs(1);
        s.transport.message_expiration_timeout = TimeSpan::secs(3);
    });
    let mut c = Client::connect(a.addr());
    c.reply();
    c.cmd("EHLO x.test");
    assert!(c.cmd("MAIL FROM:<>").starts_with("250"));
    assert!(
        c.cmd("RCPT TO:<bob@woodgrove.test>")
            .starts_with("550 5.7.1"),
        "anonymous may not relay"
    );
    drop(c);
    // Through a relay-permitted connector the null sender may relay.
    a.change(allow_relay);
    let r = send_mail(
        a.addr(),
        "",
        &["bob@woodgrove.test"],
        "Subject: a bounce\n\nx\n",
    );
    assert!(r.starts_with("250 2.6.0"), "{r}");
    wait_until("expiry", Duration::from_secs(60), || {
        a.handle().snapshot().queued_messages == 0
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        a.track(&of_kind(EventKind::Dsn)).is_empty(),
        "no DSN about a null-sender message"
    );
}

#[test]
fn a_restart_with_queued_mail_delivers_it() {
    let port = free_port();
    let mut a = Relay::start("mail.contoso.test", "contoso.test", |s| {
        allow_relay(s);
        s.send_connectors[0].smart_hosts = vec![format!("127.0.0.1:{port}")];
        s.transport.transient_failure_retry_interval = TimeSpan::secs(1);
        s.transport.outbound_connection_failure_retry_interval = TimeSpan::secs(1);
    });
    send_mail(
        a.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        "Subject: survives\n\nkept on disk\n",
    );
    a.wait_kind(EventKind::Defer, 1);
    a.stop();
    // The queue is on disk: the offline queue listing shows it.
    let out = a.org.ok(&["queue", "show"]);
    assert!(out.contains("survives"), "{out}");
    let b = Relay::start("mail.woodgrove.test", "woodgrove.test", |s| {
        s.receive_connectors[0].bindings = vec![format!("127.0.0.1:{port}")]
    });
    a.restart();
    let got = b.wait_mailbox("woodgrove.test", "bob", 1);
    assert!(got[0].contains("kept on disk"));
    a.wait_kind(EventKind::Send, 1);
}

#[test]
fn serve_runs_headless_and_stops_on_sigterm() {
    let org = crate::support::util::Org::new("mail.contoso.test", "contoso.test");
    let port = free_port();
    org.ok(&[
        "connector",
        "receive",
        "set",
        "Default",
        "--bindings",
        &format!("127.0.0.1:{port}"),
    ]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailflow"))
        .args(["--data-dir", p(&org.dir), "serve"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_listening("listening", addr, Duration::from_secs(60));
    let r = send_mail(
        addr,
        "a@example.test",
        &["bob@contoso.test"],
        "Subject: headless\n\nx\n",
    );
    assert!(r.starts_with("250 2.6.0"));
    // Settings changed with the command line reach the running relay.
    org.ok(&[
        "connector",
        "receive",
        "set",
        "Default",
        "--banner",
        "220 changed banner here",
    ]);
    wait_until("new banner", Duration::from_secs(60), || {
        let mut c = Client::connect(addr);
        c.reply().contains("changed banner here")
    });
    // The running relay answers `mailflow queue list` through its control socket.
    let list = org.ok(&["queue", "list"]);
    assert!(list.contains("NextHop"), "{list}");
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(status.success(), "serve exits cleanly on SIGTERM");
    let track = org.ok(&["track", "--status", "deliver"]);
    assert!(track.contains("headless"), "{track}");
}

#[test]
fn without_a_display_the_console_points_to_serve() {
    let org = crate::support::util::Org::empty();
    let out = Command::new(env!("CARGO_BIN_EXE_mailflow"))
        .args(["--data-dir", p(&org.dir)])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("mailflow serve"), "{err}");
}

/// Splits one CSV line (fields quoted with `"`, quotes doubled inside).
fn csv_fields(line: &str) -> Vec<String> {
    let (mut fields, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

#[test]
fn the_protocol_log_has_exchanges_nine_fields_and_never_the_message() {
    let relay = Relay::start("mail.contoso.test", "contoso.test", |_| {});
    send_mail(
        relay.addr(),
        "alice@example.test",
        &["bob@contoso.test"],
        "Subject: quarterly figures\n\nBODY-SECRET-7731, with a comma\n",
    );
    relay.wait_mailbox("contoso.test", "bob", 1);
    relay.wait_protocol_log("SmtpReceive", "QUIT");
    let log = relay.protocol_log("SmtpReceive");
    let header = log
        .lines()
        .find(|l| l.starts_with("#Fields:"))
        .unwrap_or_else(|| panic!("{log}"));
    assert_eq!(
        header,
        "#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context"
    );
    let rows: Vec<Vec<String>> = log
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(csv_fields)
        .collect();
    assert!(rows.len() >= 8, "{log}");
    for r in &rows {
        assert_eq!(r.len(), 9, "{r:?}");
        assert!(["+", "-", ">", "<", "*"].contains(&r[6].as_str()), "{r:?}");
    }
    // One session: its sequence numbers count up from 0 without a gap.
    let session = &rows[0][2];
    let seq: Vec<u32> = rows
        .iter()
        .filter(|r| &r[2] == session)
        .map(|r| r[3].parse().unwrap())
        .collect();
    assert_eq!(seq, (0..seq.len() as u32).collect::<Vec<_>>());
    assert!(
        rows.iter()
            .any(|r| r[6] == "<" && r[7] == "MAIL FROM:<alice@example.test>")
    );
    assert!(
        rows.iter()
            .any(|r| r[6] == ">" && r[7].starts_with("250 2.6.0"))
    );
    assert!(
        !log.contains("BODY-SECRET-7731") && !log.contains("quarterly figures"),
        "{log}"
    );
}
