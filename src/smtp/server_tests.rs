//! Scripted conversations with the server state machine.

use super::*;

struct TestPolicy;

impl SessionPolicy for TestPolicy {
    fn mail_from(&mut self, _: &SessionInfo, _: &ReversePath, _: &MailParams) -> Result<(), Reply> {
        Ok(())
    }
    fn rcpt_to(&mut self, _: &SessionInfo, to: &Mailbox) -> Result<(), Reply> {
        if to.domain == "domaene.tld" || to.domain == "contoso.test" {
            Ok(())
        } else {
            Err(crate::smtp::replies::UNABLE_TO_RELAY.reply())
        }
    }
}

struct Conv {
    server: Server,
    pending: Vec<u8>,
    queued: Vec<AcceptedMessage>,
    tls_requests: usize,
    discarded_after_starttls: Vec<u8>,
    closed: bool,
    /// Command lines as the protocol log would record them.
    logged: Vec<String>,
}

fn config() -> ServerConfig {
    ServerConfig {
        hostname: "EX2007-DC.domaene.tld".into(),
        banner: "220 EX2007-DC.domaene.tld Mailflow ESMTP service ready".into(),
        peer_ip: "127.0.0.1".into(),
        starttls: true,
        require_tls: false,
        max_message_size: 64 * 1024,
        max_recipients: 3,
        max_errors: 10,
        postmaster_domain: "domaene.tld".into(),
        auth: AuthOffer::None,
    }
}

impl Conv {
    fn new(cfg: ServerConfig) -> Conv {
        Conv {
            server: Server::new(cfg),
            pending: Vec::new(),
            queued: Vec::new(),
            tls_requests: 0,
            discarded_after_starttls: Vec::new(),
            closed: false,
            logged: Vec::new(),
        }
    }

    /// Sends bytes as one write; returns the replies as wire text.
    fn send(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut text = String::new();
        loop {
            let mut actions = Vec::new();
            let used = self
                .server
                .feed(&self.pending.clone(), &mut TestPolicy, &mut actions);
            self.pending.drain(..used);
            let mut again = false;
            for a in actions {
                match a {
                    Action::Command(c) => self.logged.push(c),
                    Action::Reply(r) => text.push_str(&String::from_utf8_lossy(&r.to_bytes())),
                    Action::Authenticate(c) => {
                        // The one account of these tests: bob / s3cr3t.
                        let ok = c.user == "bob" && c.password.as_str() == "s3cr3t";
                        let mut out = Vec::new();
                        self.server.auth_result(ok.then_some(c.user), &mut out);
                        for a in out {
                            match a {
                                Action::Reply(r) => {
                                    text.push_str(&String::from_utf8_lossy(&r.to_bytes()))
                                }
                                Action::Close => self.closed = true,
                                _ => {}
                            }
                        }
                        again = true;
                    }
                    Action::StartTls => {
                        self.tls_requests += 1;
                        self.discarded_after_starttls = std::mem::take(&mut self.pending);
                        self.server.tls_established();
                    }
                    Action::Message(m) => {
                        self.queued.push(*m);
                        let reply = self
                            .server
                            .message_queued(Ok(format!("id-{}", self.queued.len())));
                        text.push_str(&String::from_utf8_lossy(&reply.to_bytes()));
                        again = true;
                    }
                    Action::Close => self.closed = true,
                }
            }
            if !again || self.pending.is_empty() {
                break;
            }
        }
        text
    }
}

#[test]
fn the_articles_telnet_dialogue() {
    let mut c = Conv::new(config());
    assert_eq!(
        c.server.greeting().to_bytes(),
        b"220 EX2007-DC.domaene.tld Mailflow ESMTP service ready\r\n"
    );
    assert_eq!(
        c.send(b"helo\r\n"),
        "250 EX2007-DC.domaene.tld Hello [127.0.0.1]\r\n"
    );
    assert_eq!(
        c.send(b"mail from:administrator@domaene.tld\r\n"),
        "250 2.1.0 Sender OK\r\n"
    );
    assert_eq!(
        c.send(b"rcpt to:administrator@domaene.tld\r\n"),
        "250 2.1.5 Recipient OK\r\n"
    );
    assert_eq!(
        c.send(b"data\r\n"),
        "354 Start mail input; end with <CRLF>.<CRLF>\r\n"
    );
    assert_eq!(c.send(b"subject: NO SSL - PLAINTEXT\r\n"), "");
    assert_eq!(c.send(b"THIS IS PLAINTEXT\r\n"), "");
    assert_eq!(
        c.send(b".\r\n"),
        "250 2.6.0 <id-1> Queued mail for delivery\r\n"
    );
    assert_eq!(
        c.queued[0].body,
        b"subject: NO SSL - PLAINTEXT\r\nTHIS IS PLAINTEXT\r\n"
    );
    assert_eq!(
        c.queued[0].recipients[0].to_string(),
        "administrator@domaene.tld"
    );
    assert_eq!(
        c.send(b"quit\r\n"),
        "221 2.0.0 Service closing transmission channel\r\n"
    );
    assert!(c.closed);
}

#[test]
fn ehlo_advertises_the_extensions() {
    let mut c = Conv::new(config());
    let r = c.send(b"EHLO client.test\r\n");
    for ext in [
        "SIZE 65536",
        "PIPELINING",
        "8BITMIME",
        "ENHANCEDSTATUSCODES",
        "SMTPUTF8",
        "CHUNKING",
        "STARTTLS",
    ] {
        assert!(r.contains(ext), "{ext} missing:\n{r}");
    }
    let mut cfg = config();
    cfg.starttls = false;
    let mut c = Conv::new(cfg);
    assert!(!c.send(b"EHLO client.test\r\n").contains("STARTTLS"));
    assert!(c.send(b"STARTTLS\r\n").starts_with("502 5.5.1"));
}

/// RFC 8689: REQUIRETLS is offered only inside TLS, and refused outside it.
#[test]
fn requiretls_is_offered_and_accepted_only_inside_tls() {
    let mut c = Conv::new(config());
    assert!(!c.send(b"EHLO c.test\r\n").contains("REQUIRETLS"));
    assert!(
        c.send(b"MAIL FROM:<a@x.test> REQUIRETLS\r\n")
            .starts_with("530 5.7.10 REQUIRETLS needs TLS")
    );
    c.send(b"STARTTLS\r\n");
    assert!(c.send(b"EHLO c.test\r\n").contains("250 REQUIRETLS"));
    assert!(
        c.send(b"MAIL FROM:<a@x.test> REQUIRETLS\r\n")
            .starts_with("250 2.1.0")
    );
    c.send(b"RCPT TO:<b@contoso.test>\r\nDATA\r\nhi\r\n.\r\n");
    assert_eq!(c.queued.len(), 1);
    assert!(
        c.queued[0].params.require_tls,
        "the flag goes with the message"
    );
}

/// RFC 3461: DSN is offered; RET/ENVID and each recipient's NOTIFY/ORCPT go with the message;
/// a recipient refused leaves no request behind, and bad values get 501.
#[test]
fn dsn_requests_go_with_the_message() {
    let mut c = Conv::new(config());
    assert!(c.send(b"EHLO c.test\r\n").contains("DSN\r\n"));
    assert!(
        c.send(b"MAIL FROM:<a@x.test> RET=HDRS ENVID=QQ+2B1\r\n")
            .starts_with("250 2.1.0")
    );
    assert!(
        c.send(b"RCPT TO:<b@contoso.test> NOTIFY=NEVER,SUCCESS\r\n")
            .starts_with("501 5.5.4 NOTIFY=NEVER cannot be combined")
    );
    assert!(
        c.send(b"RCPT TO:<b@contoso.test> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;B@contoso.test\r\n")
            .starts_with("250 2.1.5")
    );
    assert!(
        c.send(b"RCPT TO:<z@elsewhere.test> NOTIFY=NEVER\r\n")
            .starts_with("550")
    );
    c.send(b"RCPT TO:<c@contoso.test>\r\nDATA\r\nhi\r\n.\r\n");
    assert_eq!(c.queued.len(), 1);
    let dsn = &c.queued[0].dsn;
    assert_eq!(dsn.ret, Some(crate::smtp::dsn_request::Ret::Hdrs));
    assert_eq!(dsn.envid.as_deref(), Some("QQ+1"));
    assert_eq!(dsn.recipients.len(), 1, "{dsn:?}");
    let b = &dsn.recipients["b@contoso.test"];
    assert!(b.notify.is_some_and(|n| n.success && n.delay && !n.failure));
    assert_eq!(b.orcpt.as_ref().unwrap().address, "B@contoso.test");
    // The next transaction starts without it.
    c.send(b"MAIL FROM:<a@x.test>\r\nRCPT TO:<c@contoso.test>\r\nDATA\r\nhi\r\n.\r\n");
    assert_eq!(c.queued.len(), 2);
    assert!(c.queued[1].dsn.is_empty());
}

#[test]
fn pipelined_commands_get_replies_in_order() {
    let mut c = Conv::new(config());
    let r = c.send(b"EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@contoso.test>\r\nRCPT TO:<c@elsewhere.test>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n");
    let codes: Vec<&str> = r
        .lines()
        .filter(|l| !l.starts_with("250-"))
        .map(|l| &l[..3])
        .collect();
    assert_eq!(
        codes,
        vec!["250", "250", "250", "550", "354", "250", "221"],
        "{r}"
    );
    assert!(r.contains("550 5.7.1 Unable to relay"));
    assert_eq!(c.queued.len(), 1);
    assert_eq!(c.queued[0].recipients.len(), 1);
}

#[test]
fn starttls_injection_is_never_executed_inside_tls() {
    let mut c = Conv::new(config());
    c.send(b"EHLO c.test\r\n");
    let r = c.send(b"STARTTLS\r\nRSET\r\nMAIL FROM:<evil@x.test>\r\n");
    assert_eq!(
        r, "220 2.0.0 SMTP server ready\r\n",
        "nothing after STARTTLS is answered"
    );
    assert_eq!(c.tls_requests, 1);
    assert_eq!(
        c.discarded_after_starttls,
        b"RSET\r\nMAIL FROM:<evil@x.test>\r\n"
    );
    // State was reset: MAIL without a new EHLO is refused.
    assert!(
        c.send(b"MAIL FROM:<a@x.test>\r\n")
            .starts_with("503 5.5.1 Send HELO/EHLO first")
    );
    let r = c.send(b"EHLO c.test\r\n");
    assert!(!r.contains("STARTTLS"), "not offered again inside TLS");
    assert!(c.send(b"STARTTLS\r\n").starts_with("503"));
}

#[test]
fn require_tls_refuses_mail_before_starttls() {
    let mut cfg = config();
    cfg.require_tls = true;
    let mut c = Conv::new(cfg);
    c.send(b"EHLO c.test\r\n");
    assert!(c.send(b"MAIL FROM:<a@x.test>\r\n").starts_with("530 5.7.0"));
    c.send(b"STARTTLS\r\n");
    c.send(b"EHLO c.test\r\n");
    assert!(c.send(b"MAIL FROM:<a@x.test>\r\n").starts_with("250 2.1.0"));
}

#[test]
fn limits_give_the_right_replies_and_the_session_continues() {
    let mut c = Conv::new(config());
    c.send(b"EHLO c.test\r\n");
    // Over-long command line, in two writes.
    let mut long = b"MAIL FROM:<".to_vec();
    long.extend(std::iter::repeat_n(b'a', 600));
    assert_eq!(c.send(&long), "");
    assert_eq!(c.send(b"@x.test>\r\n"), "500 5.5.2 Line too long\r\n");
    // SIZE too big.
    assert!(
        c.send(b"MAIL FROM:<a@x.test> SIZE=999999999\r\n")
            .starts_with("552 5.3.4")
    );
    // Too many recipients.
    c.send(b"MAIL FROM:<a@x.test>\r\n");
    for i in 0..3 {
        assert!(
            c.send(format!("RCPT TO:<u{i}@contoso.test>\r\n").as_bytes())
                .starts_with("250")
        );
    }
    assert_eq!(
        c.send(b"RCPT TO:<u9@contoso.test>\r\n"),
        "452 4.5.3 Too many recipients\r\n"
    );
    // Oversized message: read to the end, then 552.
    c.send(b"DATA\r\n");
    let mut big = Vec::new();
    for _ in 0..2000 {
        big.extend_from_slice(&[b'x'; 60]);
        big.extend_from_slice(b"\r\n");
    }
    big.extend_from_slice(b".\r\n");
    assert!(c.send(&big).starts_with("552 5.3.4"));
    // Over-long text line in DATA.
    c.send(b"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@contoso.test>\r\nDATA\r\n");
    let mut msg = vec![b'y'; 1200];
    msg.extend_from_slice(b"\r\n.\r\n");
    assert!(c.send(&msg).starts_with("500 5.5.2 Line too long"));
    // The session is still sane.
    assert!(
        c.send(b"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@contoso.test>\r\nDATA\r\nok\r\n.\r\n")
            .contains("250 2.6.0")
    );
    assert_eq!(c.queued.len(), 1);
}

#[test]
fn smuggling_inside_data_yields_exactly_one_message() {
    for evil in [&b"\n.\r\n"[..], b"\r.\r\n", b"\n.\n"] {
        let mut c = Conv::new(config());
        let mut script = b"EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@contoso.test>\r\nDATA\r\nSubject: hi\r\n\r\ntext".to_vec();
        script.extend_from_slice(evil);
        script.extend_from_slice(b"MAIL FROM:<admin@contoso.test>\r\nRCPT TO:<victim@contoso.test>\r\nDATA\r\nSubject: spoofed\r\n\r\nspoofed\r\n.\r\nQUIT\r\n");
        let r = c.send(&script);
        assert_eq!(c.queued.len(), 1, "{evil:?}: {r}");
        assert_eq!(r.matches("250 2.6.0").count(), 1, "{evil:?}");
        assert_eq!(c.queued[0].recipients.len(), 1);
        assert!(c.queued[0].bare_line_endings > 0);
    }
}

#[test]
fn bdat_chunks_build_one_message() {
    let mut c = Conv::new(config());
    let r = c.send(b"EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@contoso.test>\r\nBDAT 12\r\nSubject: x\r\nBDAT 7 LAST\r\n\r\nbody\n");
    assert!(r.contains("250 2.0.0 12 octets received"), "{r}");
    assert!(r.contains("250 2.6.0"), "{r}");
    assert_eq!(c.queued[0].body, b"Subject: x\r\n\r\nbody\r\n");
    assert!(c.queued[0].chunked);
    // BDAT without a transaction still consumes its bytes.
    let r = c.send(b"BDAT 5 LAST\r\nQUIT\r\nNOOP\r\n");
    assert!(r.starts_with("503 5.5.1 Need MAIL command"), "{r}");
    assert!(
        r.contains("250 2.0.0 OK"),
        "the 5 bytes 'QUIT\\r' were data, NOOP is a command: {r}"
    );
}

#[test]
fn order_errors_and_unknown_commands() {
    let mut c = Conv::new(config());
    assert!(
        c.send(b"MAIL FROM:<a@x.test>\r\n")
            .starts_with("503 5.5.1 Send HELO/EHLO first")
    );
    c.send(b"HELO c.test\r\n");
    assert!(
        c.send(b"RCPT TO:<b@contoso.test>\r\n")
            .starts_with("503 5.5.1 Need MAIL")
    );
    assert!(c.send(b"DATA\r\n").starts_with("503 5.5.1 Need MAIL"));
    c.send(b"MAIL FROM:<a@x.test>\r\n");
    assert!(
        c.send(b"MAIL FROM:<a@x.test>\r\n")
            .starts_with("503 5.5.1 Sender already")
    );
    assert!(
        c.send(b"DATA\r\n")
            .starts_with("554 5.5.1 No valid recipients")
    );
    assert!(
        c.send(b"FROB\r\n")
            .starts_with("500 5.3.3 Unrecognized command")
    );
    assert!(c.send(b"VRFY bob\r\n").starts_with("252 2.1.5"));
    assert!(c.send(b"NOOP\r\n").starts_with("250 2.0.0"));
    assert!(c.send(b"RSET\r\n").starts_with("250 2.0.0"));
    assert!(c.send(b"AUTH PLAIN\r\n").starts_with("504 5.7.4"));
    assert!(c.send(b"HELP\r\n").starts_with("214-2.0.0"));
    assert!(
        c.send(b"RCPT TO:<postmaster>\r\n").starts_with("503"),
        "needs MAIL first"
    );
    c.send(b"MAIL FROM:<>\r\n");
    assert!(c.send(b"RCPT TO:<Postmaster>\r\n").starts_with("250 2.1.5"));
}

#[test]
fn too_many_errors_close_the_session() {
    let mut cfg = config();
    cfg.max_errors = 3;
    let mut c = Conv::new(cfg);
    let r = c.send(b"X\r\nY\r\nZ\r\nNOOP\r\n");
    assert!(r.contains("421 4.7.0 Too many errors"), "{r}");
    assert!(
        !r.contains("250"),
        "nothing is answered after the close: {r}"
    );
    assert!(c.closed);
}

#[test]
fn a_failed_message_that_closes_the_session_keeps_it_closed() {
    let mut cfg = config();
    cfg.max_errors = 1;
    let mut c = Conv::new(cfg);
    c.send(b"EHLO client.test\r\n");
    let long = vec![b'x'; 1200];
    let mut input = b"MAIL FROM:<a@contoso.test>\r\nRCPT TO:<b@domaene.tld>\r\nDATA\r\n".to_vec();
    input.extend_from_slice(&long);
    input.extend_from_slice(b"\r\n.\r\n");
    // A whole second transaction pipelined after the failed one must not be read.
    input.extend_from_slice(
        b"MAIL FROM:<a@contoso.test>\r\nRCPT TO:<b@domaene.tld>\r\nDATA\r\nSubject: x\r\n\r\nx\r\n.\r\n",
    );
    let r = c.send(&input);
    assert!(r.contains("500 5.5.2 Line too long"), "{r}");
    assert_eq!(r.matches("421 ").count(), 1, "{r}");
    assert!(r.ends_with("closing transmission channel\r\n"), "{r}");
    assert!(c.closed);
    assert!(c.server.is_closed());
    assert!(c.queued.is_empty(), "no message after the close");
}

#[test]
fn control_characters_in_commands_are_refused() {
    let mut c = Conv::new(config());
    // A bare CR would otherwise put a forged header field into our Received: line.
    let r = c.send(b"HELO a\rX-Mailflow-AuthAs: Partner\r\n");
    assert!(
        r.starts_with("501 5.5.2 Syntax error: control characters"),
        "{r}"
    );
    let r = c.send(b"EHLO client.test\r\n");
    assert!(r.starts_with("250-"), "{r}");
    let r = c.send(b"MAIL FROM:<a@contoso.test>\0\r\n");
    assert!(r.starts_with("501 5.5.2"), "{r}");
    // TAB is ordinary white space, not a control character here.
    let r = c.send(b"MAIL FROM:<a@contoso.test>\tSIZE=10\r\n");
    assert!(!r.contains("control characters"), "{r}");
}

fn auth_config(offer: AuthOffer) -> ServerConfig {
    ServerConfig {
        auth: offer,
        ..config()
    }
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn auth_plain_and_login_authenticate_and_secrets_are_never_logged() {
    let mut c = Conv::new(auth_config(AuthOffer::Basic));
    let ehlo = c.send(b"EHLO client.test\r\n");
    assert!(ehlo.contains("250-AUTH PLAIN LOGIN\r\n"), "{ehlo}");
    // PLAIN with an initial response, wrong password: 535, counted as an error.
    let r = c.send(format!("AUTH PLAIN {}\r\n", b64("\0bob\0wrong")).as_bytes());
    assert_eq!(r, "535 5.7.8 Authentication credentials invalid\r\n");
    assert_eq!(c.server.errors(), 1);
    assert_eq!(c.server.info().authenticated, None);
    // LOGIN in three steps.
    assert_eq!(c.send(b"AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
    assert_eq!(
        c.send(format!("{}\r\n", b64("bob")).as_bytes()),
        "334 UGFzc3dvcmQ6\r\n"
    );
    let r = c.send(format!("{}\r\n", b64("s3cr3t")).as_bytes());
    assert_eq!(r, "235 2.7.0 Authentication successful\r\n");
    assert_eq!(c.server.info().authenticated.as_deref(), Some("bob"));
    assert!(
        c.send(b"AUTH LOGIN\r\n")
            .starts_with("503 5.5.1 Already authenticated")
    );
    // Nothing secret reached the log: AUTH arguments and responses are redacted.
    let log = c.logged.join("\n");
    for secret in [b64("\0bob\0wrong"), b64("bob"), b64("s3cr3t")] {
        assert!(!log.contains(&secret), "{log}");
    }
    assert!(
        log.contains("AUTH PLAIN <redacted>") && log.contains("<redacted>"),
        "{log}"
    );
}

#[test]
fn auth_plain_in_two_steps_cancel_and_bad_responses() {
    let mut c = Conv::new(auth_config(AuthOffer::Basic));
    assert!(
        c.send(b"AUTH PLAIN\r\n")
            .starts_with("503 5.5.1 Send EHLO first")
    );
    c.send(b"EHLO client.test\r\n");
    assert_eq!(c.send(b"AUTH PLAIN\r\n"), "334 \r\n");
    assert_eq!(c.send(b"*\r\n"), "501 5.0.0 Authentication cancelled\r\n");
    assert_eq!(c.send(b"AUTH PLAIN\r\n"), "334 \r\n");
    assert!(
        c.send(b"not base64!\r\n")
            .starts_with("501 5.5.2 Cannot decode")
    );
    assert!(c.send(b"AUTH CRAM-MD5\r\n").starts_with("504 5.5.4"));
    // Pipelined: the response line is taken as the response, not as a command.
    let r = c.send(format!("AUTH PLAIN\r\n{}\r\nNOOP\r\n", b64("\0bob\0s3cr3t")).as_bytes());
    assert_eq!(
        r,
        "334 \r\n235 2.7.0 Authentication successful\r\n250 2.0.0 OK\r\n"
    );
    // Not inside a transaction.
    let mut c = Conv::new(auth_config(AuthOffer::Basic));
    c.send(b"EHLO client.test\r\nMAIL FROM:<a@contoso.test>\r\n");
    assert!(
        c.send(b"AUTH LOGIN\r\n")
            .starts_with("503 5.5.1 AUTH is not allowed during")
    );
}

#[test]
fn auth_before_tls_is_refused_where_tls_is_required_and_forgotten_after_starttls() {
    let mut c = Conv::new(auth_config(AuthOffer::BasicAfterTls));
    let ehlo = c.send(b"EHLO client.test\r\n");
    assert!(!ehlo.contains("AUTH"), "not offered before TLS: {ehlo}");
    let r = c.send(format!("AUTH PLAIN {}\r\n", b64("\0bob\0s3cr3t")).as_bytes());
    assert!(r.starts_with("538 5.7.11 Encryption required"), "{r}");
    c.send(b"STARTTLS\r\n");
    let ehlo = c.send(b"EHLO client.test\r\n");
    assert!(ehlo.contains("250-AUTH PLAIN LOGIN"), "{ehlo}");
    let r = c.send(format!("AUTH PLAIN {}\r\n", b64("\0bob\0s3cr3t")).as_bytes());
    assert!(r.starts_with("235"), "{r}");
    // Where AUTH is not offered at all.
    let mut c = Conv::new(config());
    c.send(b"EHLO client.test\r\n");
    assert!(c.send(b"AUTH PLAIN\r\n").starts_with("504 5.7.4"));
    // AUTH done in plaintext does not survive STARTTLS (RFC 3207 §4.2).
    let mut c = Conv::new(auth_config(AuthOffer::Basic));
    c.send(b"EHLO client.test\r\n");
    c.send(format!("AUTH PLAIN {}\r\n", b64("\0bob\0s3cr3t")).as_bytes());
    assert_eq!(c.server.info().authenticated.as_deref(), Some("bob"));
    c.send(b"STARTTLS\r\n");
    assert_eq!(c.server.info().authenticated, None);
}
