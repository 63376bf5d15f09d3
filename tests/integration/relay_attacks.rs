//! Protocol attacks and limits against the running relay: SMTP smuggling, STARTTLS command
//! injection, forged Domain Secure headers, open relay attempts, over-long lines, oversized
//! messages and too many recipients — each with the expected reply, and the session (or the
//! relay) keeps serving.

use crate::support::relay_util::{Client, Relay, send_mail};
use crate::support::swaks;
use crate::support::tls::{self, TlsSession};
use mailflow::config::units::ByteSize;
use mailflow::engine::tls::TlsIdentity;
use mailflow::store::tracking::{EventKind, TrackingQuery};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[test]
fn smuggling_probes_never_produce_a_second_message() {
    let relay = Relay::start("mail.contoso.test", "contoso.test", |_| {});
    for (i, evil) in [&b"\n.\r\n"[..], b"\r.\r\n", b"\n.\n"].iter().enumerate() {
        let mut c = Client::connect(relay.addr());
        c.reply();
        c.cmd("EHLO attacker.test");
        c.cmd("MAIL FROM:<attacker@example.test>");
        c.cmd("RCPT TO:<victim@contoso.test>");
        assert!(c.cmd("DATA").starts_with("354"));
        let mut payload = format!("Subject: probe {i}\r\n\r\nfirst").into_bytes();
        payload.extend_from_slice(evil);
        payload.extend_from_slice(b"MAIL FROM:<ceo@contoso.test>\r\nRCPT TO:<victim@contoso.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nspoofed\r\n.\r\n");
        c.send_raw(&payload);
        let r = c.reply();
        assert!(r.starts_with("250 2.6.0"), "{r}");
        // Nothing else is answered: the smuggled commands were message content.
        assert!(c.cmd("NOOP").starts_with("250 2.0.0 OK"));
    }
    let ev = relay.wait_kind(EventKind::Receive, 3);
    assert_eq!(ev.len(), 3, "exactly one message per probe");
    assert!(
        ev.iter()
            .all(|e| e.subject.as_deref().is_some_and(|s| s.starts_with("probe")))
    );
    let inbox = relay.wait_mailbox("contoso.test", "victim", 3);
    assert!(
        inbox
            .iter()
            .all(|m| m.contains("MAIL FROM:<ceo@contoso.test>")),
        "the smuggled text stayed inside the message"
    );
}

fn read_line(r: &mut impl BufRead) -> String {
    let mut l = String::new();
    r.read_line(&mut l).unwrap();
    l.trim_end().to_string()
}

#[test]
fn starttls_injection_is_discarded_and_never_executed_inside_tls() {
    let relay = Relay::start("mail.contoso.test", "contoso.test", |_| {});
    let mut tcp = TcpStream::connect(relay.addr()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut rd = BufReader::new(tcp.try_clone().unwrap());
    assert!(read_line(&mut rd).starts_with("220"));
    tcp.write_all(b"EHLO attacker.test\r\n").unwrap();
    loop {
        let l = read_line(&mut rd);
        if l.starts_with("250 ") {
            break;
        }
    }
    // STARTTLS with an injected command in the same write.
    tcp.write_all(b"STARTTLS\r\nRSET\r\n").unwrap();
    assert_eq!(read_line(&mut rd), "220 2.0.0 SMTP server ready");
    assert!(
        rd.buffer().is_empty(),
        "no plaintext reply to the injected RSET"
    );
    let mut tls = tls::client(tcp, None, "mail.contoso.test");
    tls.write_all(b"MAIL FROM:<a@example.test>\r\n").unwrap();
    let mut tr = BufReader::new(tls);
    let first = read_line(&mut tr);
    assert_eq!(
        first, "503 5.5.1 Send HELO/EHLO first",
        "the first TLS reply answers our MAIL: RSET was not executed, and the session was reset"
    );
    tr.get_mut().write_all(b"EHLO again.test\r\n").unwrap();
    loop {
        let l = read_line(&mut tr);
        assert!(
            !l.contains("STARTTLS"),
            "STARTTLS is not offered again inside TLS"
        );
        if l.starts_with("250 ") {
            break;
        }
    }
    tr.get_mut().write_all(b"QUIT\r\n").unwrap();
    let _ = read_line(&mut tr);
    // The protocol log says what happened.
    relay.wait_protocol_log("SmtpReceive", "STARTTLS injection: 6 octets");
}

#[test]
fn forged_domain_secure_headers_never_survive() {
    let relay = Relay::start("mail.contoso.test", "contoso.test", |_| {});
    let body = "X-Mailflow-AuthAs: Partner\nX-Mailflow-AuthDomain: woodgrove.test\nx-mailflow-authmechanism: MutualTLS\nX-Mailflow-Security: Domain Secure\nSubject: totally legit\n\nX-Mailflow-AuthAs: Partner (in the body, untouched)\n";
    let r = send_mail(
        relay.addr(),
        "ceo@woodgrove.test",
        &["bob@contoso.test"],
        body,
    );
    assert!(r.starts_with("250 2.6.0"));
    let m = relay.wait_mailbox("contoso.test", "bob", 1).remove(0);
    let head = m.split("\n\n").next().unwrap();
    assert!(!head.contains("AuthAs"), "{m}");
    assert!(
        !head.contains("AuthDomain") && !head.to_lowercase().contains("authmechanism"),
        "{m}"
    );
    assert!(
        head.contains("X-Mailflow-Security: Plaintext"),
        "our own line only: {m}"
    );
    assert_eq!(head.matches("X-Mailflow-Security").count(), 1, "{m}");
    assert!(m.contains("X-Mailflow-AuthAs: Partner (in the body, untouched)"));
    let ev = relay.wait_kind(EventKind::Receive, 1);
    assert!(
        ev[0]
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("4 forged trust header(s) removed")),
        "{:?}",
        ev[0].detail
    );
}

/// A client certificate whose CN is chosen by the attacker: CR LF and a forged mark in it.
fn identity_with_forged_cn() -> TlsIdentity {
    use mailflow::pki::{ca, keys};
    let cn = "x\r\nX-Mailflow-AuthAs: Partner\r\nX-Mailflow-AuthDomain: woodgrove.test\r\nX-D: \"";
    let name = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_set(|w| {
                w.next().write_sequence(|w| {
                    w.next()
                        .write_oid(&yasna::models::ObjectIdentifier::from_slice(&[2, 5, 4, 3]));
                    w.next().write_utf8_string(cn);
                })
            })
        })
    });
    let now = time::OffsetDateTime::now_utc();
    let ca_key = keys::KeySpec::P256.generate().unwrap();
    let ca_der = ca::create_ca("Attacker Root", "Attacker", &ca_key, now, 1).unwrap();
    let key = keys::KeySpec::P256.generate().unwrap();
    let der = ca::issue_leaf(
        &ca_der,
        &ca_key,
        &name,
        &keys::spki_der(&key),
        None,
        ca::LeafUsage::SMTP,
        now - time::Duration::hours(1),
        now + time::Duration::days(1),
    )
    .unwrap();
    tls::identity(&der, &key)
}

#[test]
fn forged_marks_in_a_helo_name_or_a_certificate_name_never_reach_the_message() {
    // A Domain Security connector asks every client for a certificate.
    let relay = Relay::start("mail.contoso.test", "contoso.test", |s| {
        s.receive_connectors[0].domain_secure_enabled = true;
    });
    // Through HELO: a bare CR would become a line break on the next hop.
    let mut c = Client::connect(relay.addr());
    c.reply();
    let r = c.cmd("HELO a\rX-Mailflow-AuthAs: Partner");
    assert!(r.starts_with("501 5.5.2"), "{r}");
    // Through the client certificate's CN, which the Received: line quotes.
    let id = identity_with_forged_cn();
    let mut s = TlsSession::starttls(
        relay.addr(),
        Some(&id),
        "attacker.test",
        "mail.contoso.test",
        Duration::from_secs(10),
    );
    s.ehlo("attacker.test");
    s.tls
        .write_all(b"MAIL FROM:<eve@example.test>\r\nRCPT TO:<bob@contoso.test>\r\nDATA\r\n")
        .unwrap();
    assert!(s.reply().starts_with("250"));
    assert!(s.reply().starts_with("250"));
    assert!(s.reply().starts_with("354"));
    s.tls
        .write_all(b"Subject: hello\r\n\r\nhi\r\n.\r\n")
        .unwrap();
    let r = s.reply();
    assert!(r.starts_with("250 2.6.0"), "{r}");
    let m = relay.wait_mailbox("contoso.test", "bob", 1).remove(0);
    let head = m.split("\n\n").next().unwrap();
    assert!(
        head.lines().all(|l| !l.starts_with("X-Mailflow-Auth")),
        "a forged mark became a header field:\n{head}"
    );
    assert!(
        head.contains("X-Mailflow-AuthAs: Partner"),
        "quoted inside Received: {head}"
    );
}

#[test]
fn relay_attempts_and_limits_get_the_right_replies_and_the_session_goes_on() {
    let relay = Relay::start("mail.contoso.test", "contoso.test", |s| {
        s.receive_connectors[0].max_recipients_per_message = 3;
        s.receive_connectors[0].max_message_size = ByteSize::kb(64);
    });
    let mut c = Client::connect(relay.addr());
    c.reply();
    c.cmd("EHLO client.test");
    c.cmd("MAIL FROM:<a@example.test>");
    assert_eq!(
        c.cmd("RCPT TO:<someone@fabrikam.test>"),
        "550 5.7.1 Unable to relay"
    );
    // Over-long command line.
    let long = format!("RCPT TO:<{}@contoso.test>", "x".repeat(600));
    assert_eq!(c.cmd(&long), "500 5.5.2 Line too long");
    // Too many recipients: RFC 5321 §4.5.3.1.10 requires 452.
    for i in 0..3 {
        assert!(
            c.cmd(&format!("RCPT TO:<u{i}@contoso.test>"))
                .starts_with("250")
        );
    }
    assert_eq!(
        c.cmd("RCPT TO:<u9@contoso.test>"),
        "452 4.5.3 Too many recipients"
    );
    // Oversized message: read to its end, then refused.
    assert!(c.cmd("DATA").starts_with("354"));
    let line = format!("{}\r\n", "y".repeat(70));
    for _ in 0..1200 {
        c.send_raw(line.as_bytes());
    }
    assert_eq!(
        c.cmd("."),
        "552 5.3.4 Message size exceeds fixed maximum message size"
    );
    // Declared size too big.
    assert_eq!(
        c.cmd("MAIL FROM:<a@example.test> SIZE=99999999"),
        "552 5.3.4 Message size exceeds fixed maximum message size"
    );
    // A line over 1000 octets inside DATA.
    c.cmd("MAIL FROM:<a@example.test>");
    c.cmd("RCPT TO:<u1@contoso.test>");
    c.cmd("DATA");
    c.send_raw(format!("Subject: long\r\n\r\n{}\r\n", "z".repeat(1100)).as_bytes());
    assert!(c.cmd(".").starts_with("500 5.5.2 Line too long"));
    // The same session still delivers.
    c.cmd("MAIL FROM:<a@example.test>");
    c.cmd("RCPT TO:<u1@contoso.test>");
    c.cmd("DATA");
    c.send_raw(b"Subject: fine\r\n\r\nok\r\n");
    assert!(c.cmd(".").starts_with("250 2.6.0"));
    assert!(c.cmd("QUIT").starts_with("221"));
    let inbox = relay.wait_mailbox("contoso.test", "u1", 1);
    assert_eq!(inbox.len(), 1);
    assert!(inbox[0].contains("Subject: fine"));
}

#[test]
fn limits_on_connections_per_source_refuse_politely() {
    let relay = Relay::start("mail.contoso.test", "contoso.test", |s| {
        s.receive_connectors[0].max_inbound_connections_per_source = 2;
    });
    let mut a = Client::connect(relay.addr());
    let mut b = Client::connect(relay.addr());
    assert!(a.reply().starts_with("220") && b.reply().starts_with("220"));
    let mut third = TcpStream::connect(relay.addr()).unwrap();
    third
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut s = String::new();
    third.read_to_string(&mut s).unwrap();
    assert!(
        s.starts_with("421 4.3.2 The maximum number of concurrent connections"),
        "{s}"
    );
    drop(a);
    // The relay frees the slot once it has seen the close, which a loaded machine may take a
    // moment to do: try again until a greeting comes (a refusal meanwhile is the limit holding).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mut again = Client::connect(relay.addr());
        let greeting = again.reply();
        if greeting.starts_with("220") {
            break;
        }
        assert!(
            greeting.starts_with("421 4.3.2") && std::time::Instant::now() < deadline,
            "no slot freed: {greeting}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(b.cmd("NOOP").starts_with("250"));
}

/// swaks with AUTH inside TLS; returns its exit status and transcript.
fn swaks_auth(server: &str, to: &str, password: &str) -> (bool, String) {
    swaks::run(&[
        "--server",
        server,
        "--from",
        "bob@contoso.test",
        "--to",
        to,
        "--tls",
        "--auth",
        "PLAIN",
        "--auth-user",
        "bob",
        "--auth-password",
        password,
        "--header",
        "Subject: sent by an authenticated user",
    ])
}

#[test]
fn auth_is_refused_before_tls_and_lets_an_account_relay_inside_it() {
    use mailflow::config::{AuthMechanism, PermissionGroup};
    if crate::support::util::peer("swaks").is_none() {
        return;
    }
    let partner = Relay::start("mail.fabrikam.test", "fabrikam.test", |_| {});
    let hop = partner.addr().to_string();
    let relay = Relay::start("mail.contoso.test", "contoso.test", |s| {
        let rc = &mut s.receive_connectors[0];
        rc.auth_mechanisms = vec![
            AuthMechanism::Tls,
            AuthMechanism::BasicAuth,
            AuthMechanism::BasicAuthRequireTls,
        ];
        rc.permission_groups
            .push(PermissionGroup::AuthenticatedUsers);
        s.send_connectors[0].smart_hosts = vec![hop.clone()];
    });
    let pw = relay.org.file("bob.pw");
    std::fs::write(&pw, "correct horse battery\n").unwrap();
    relay.org.ok(&[
        "account",
        "add",
        "bob",
        "--password-file",
        crate::support::util::p(&pw),
    ]);
    // In plaintext AUTH is neither offered nor taken, and relaying is refused.
    let secret = "AGJvYgBjb3JyZWN0IGhvcnNlIGJhdHRlcnk="; // \0bob\0correct horse battery
    let mut c = Client::connect(relay.addr());
    c.reply();
    let ehlo = c.cmd("EHLO x.test");
    assert!(!ehlo.contains("AUTH"), "{ehlo}");
    let r = c.cmd(&format!("AUTH PLAIN {secret}"));
    assert!(r.starts_with("538 5.7.11 Encryption required"), "{r}");
    assert!(c.cmd("NOOP").starts_with("250"), "the session goes on");
    c.cmd("MAIL FROM:<bob@contoso.test>");
    assert_eq!(
        c.cmd("RCPT TO:<carol@fabrikam.test>"),
        "550 5.7.1 Unable to relay"
    );
    c.cmd("QUIT");
    // A wrong password inside TLS: 535, nothing sent.
    let server = relay.addr().to_string();
    let (ok, text) = swaks_auth(&server, "carol@fabrikam.test", "wrong horse battery");
    assert!(
        !ok && text.contains("535 5.7.8 Authentication credentials invalid"),
        "{text}"
    );
    // The refusal is evidence in tracking, with what to check.
    let refused = relay.wait_track(
        "the AUTH refusal",
        &TrackingQuery {
            kind: Some(EventKind::Reject),
            ..Default::default()
        },
        |e| {
            e.iter().any(|x| {
                x.response.as_deref() == Some("535 5.7.8 Authentication credentials invalid")
            })
        },
    );
    let auth = refused
        .iter()
        .find(|x| x.response.as_deref() == Some("535 5.7.8 Authentication credentials invalid"))
        .expect("found");
    assert_eq!(auth.why[0].check, "User name and password");
    assert!(
        auth.detail
            .as_deref()
            .unwrap_or("")
            .starts_with("AUTH PLAIN <redacted> refused")
    );
    // The 538 before TLS and the relay refusal in plaintext are there too.
    assert!(refused.iter().any(|x| {
        x.response
            .as_deref()
            .unwrap_or("")
            .starts_with("538 5.7.11")
    }));
    assert!(
        refused
            .iter()
            .any(|x| x.response.as_deref() == Some("550 5.7.1 Unable to relay"))
    );
    // The right one: the account relays, and the next hop sees ESMTPSA.
    let (ok, text) = swaks_auth(&server, "carol@fabrikam.test", "correct horse battery");
    assert!(
        ok && text.contains("235 2.7.0 Authentication successful"),
        "{text}"
    );
    let got = partner.wait_mailbox("fabrikam.test", "carol", 1).remove(0);
    assert!(
        got.contains("by mail.contoso.test (Mailflow) with ESMTPSA"),
        "{got}"
    );
    let ev = relay.wait_kind(EventKind::Receive, 1);
    assert!(
        ev[0]
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("authenticated as bob"),
        "{:?}",
        ev[0].detail
    );
    // The protocol log says who authenticated, never with what.
    relay.wait_protocol_log("SmtpReceive", "authenticated as bob");
    let log = relay.protocol_log("SmtpReceive");
    assert!(log.contains("AUTH PLAIN <redacted>"), "{log}");
    assert!(
        !log.contains(secret) && !log.contains("horse"),
        "a secret reached the log"
    );
    // A removed account no longer authenticates.
    assert!(relay.org.ok(&["account", "list"]).contains("bob"));
    let err = relay.org.fails(&["account", "add", "eve"]);
    assert!(err.contains("never on the command line"), "{err}");
    relay.org.ok(&["account", "remove", "bob"]);
    let (ok, text) = swaks_auth(&server, "carol@fabrikam.test", "correct horse battery");
    assert!(!ok && text.contains("535 5.7.8"), "{text}");
}

#[test]
fn a_client_sending_a_byte_every_few_hundred_milliseconds_is_cut_off_at_the_session_limit() {
    let relay = Relay::start("mail.contoso.test", "contoso.test", |s| {
        s.receive_connectors[0].connection_timeout = mailflow::config::units::TimeSpan::secs(3);
        s.receive_connectors[0].connection_inactivity_timeout =
            mailflow::config::units::TimeSpan::secs(2);
    });
    let addr = relay.addr();
    let slow = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let _ = read_line(&mut r);
        let started = std::time::Instant::now();
        for b in b"EHLO slowloris.test and more and more".iter().cycle() {
            if s.write_all(&[*b]).is_err() || started.elapsed() > Duration::from_secs(12) {
                break;
            }
            std::thread::sleep(Duration::from_millis(400));
            if started.elapsed() > Duration::from_secs(5) {
                break;
            }
        }
        (read_line(&mut r), started.elapsed())
    });
    // Meanwhile others are served.
    assert!(
        send_mail(
            addr,
            "a@example.test",
            &["bob@contoso.test"],
            "Subject: still serving\n\nx\n"
        )
        .starts_with("250 2.6.0")
    );
    let (line, took) = slow.join().unwrap();
    assert_eq!(
        line,
        "421 4.3.2 Connection timed out: the session lasted too long"
    );
    assert!(took < Duration::from_secs(8), "{took:?}");
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("VmRSS:")
                .and_then(|v| v.split_whitespace().next())
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

#[test]
fn two_thousand_idle_connections_while_mail_keeps_flowing() {
    let relay = Relay::start("mail.contoso.test", "contoso.test", |s| {
        s.receive_connectors[0].max_inbound_connections = 5000;
        s.receive_connectors[0].max_inbound_connections_per_source = 5000;
    });
    let addr = relay.addr();
    let before = rss_kib();
    let mut held = Vec::with_capacity(2000);
    for _ in 0..2000 {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        held.push(s);
    }
    let mut greeted = 0;
    for s in held.iter_mut() {
        let mut r = BufReader::new(s.try_clone().unwrap());
        if read_line(&mut r).starts_with("220") {
            greeted += 1;
        }
    }
    assert_eq!(greeted, 2000);
    let sessions = relay.handle().snapshot().sessions.len();
    assert!(sessions >= 2000, "{sessions}");
    let during = rss_kib();
    for i in 0..20 {
        assert!(
            send_mail(
                addr,
                "a@example.test",
                &["bob@contoso.test"],
                &format!("Subject: under load {i}\n\nx\n")
            )
            .starts_with("250 2.6.0")
        );
    }
    relay.wait_mailbox("contoso.test", "bob", 20);
    eprintln!(
        "2000 idle sessions: process RSS grew by {} KiB, about {} bytes per session (relay and test client in one process)",
        during.saturating_sub(before),
        during.saturating_sub(before) * 1024 / 2000
    );
    drop(held);
}

#[test]
fn the_tarpit_slows_a_client_that_keeps_making_errors() {
    // A tarpit of 3 s, so that the bounds below keep seconds of room on a loaded machine: an
    // answer "at once" is one well under the interval, a tarpitted one takes at least it.
    const TARPIT: Duration = Duration::from_secs(3);
    let relay = Relay::start("mail.contoso.test", "contoso.test", |s| {
        s.receive_connectors[0].tarpit_interval = mailflow::config::units::TimeSpan::secs(3);
    });
    let mut c = Client::connect(relay.addr());
    c.reply();
    // The first error is answered at once; from the second on, each waits the tarpit interval.
    let t = std::time::Instant::now();
    assert!(c.cmd("BOGUS1").starts_with("500"));
    let first = t.elapsed();
    let t = std::time::Instant::now();
    assert!(c.cmd("BOGUS2").starts_with("500"));
    assert!(c.cmd("BOGUS3").starts_with("500"));
    let later = t.elapsed();
    assert!(first < TARPIT - Duration::from_millis(500), "{first:?}");
    assert!(
        later >= 2 * TARPIT - Duration::from_millis(100),
        "two tarpitted replies took only {later:?}"
    );
    // Well-behaved commands are not delayed.
    let t = std::time::Instant::now();
    assert!(c.cmd("NOOP").starts_with("250"));
    assert!(t.elapsed() < TARPIT - Duration::from_millis(500));
}
