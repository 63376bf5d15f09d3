//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the corpus replay test
//! (`tests/fuzz_corpus.rs`): each takes arbitrary bytes, drives one parser of untrusted input,
//! and checks the invariants that must hold whatever the input. A crash found by fuzzing
//! becomes a file in `fuzz/corpus/<target>/`, replayed by `cargo test` from then on.

use crate::smtp::address::{Mailbox, ReversePath};
use crate::smtp::command::MailParams;
use crate::smtp::data::{DataReceiver, dot_stuff};
use crate::smtp::reply::Reply;
use crate::smtp::server::{Action, AuthOffer, Server, ServerConfig, SessionInfo, SessionPolicy};

/// The SMTP command parser: never panics; what parses prints without control characters, and
/// the DSN values that end up in notices (ENVID, ORCPT) have none and encode back as given.
pub fn smtp_command(data: &[u8]) {
    use crate::smtp::command::Command;
    use crate::smtp::dsn_request::{xtext_decode, xtext_encode};
    let line = String::from_utf8_lossy(data);
    let clean = |s: &str| {
        assert!(!s.chars().any(char::is_control), "{s:?}");
        assert_eq!(xtext_decode(&xtext_encode(s)).as_deref(), Ok(s));
    };
    match crate::smtp::command::parse(&line) {
        Ok(Command::Mail { from, params }) => {
            if let ReversePath::Mailbox(m) = from {
                assert!(!m.to_string().chars().any(|c| c == '\r' || c == '\n'));
            }
            if let Some(e) = &params.envid {
                clean(e);
            }
        }
        Ok(Command::Rcpt { dsn, .. }) => {
            if let Some(o) = &dsn.orcpt {
                clean(&o.address);
                assert!(!o.field().chars().any(char::is_control));
            }
        }
        _ => {}
    }
}

/// DATA framing: the result does not depend on how the bytes are split into reads, and the
/// end of data is only ever `<CRLF>.<CRLF>`.
pub fn data_framing(data: &[u8]) {
    let split = data.first().map(|b| *b as usize % 7 + 1).unwrap_or(1);
    let whole = {
        let mut rx = DataReceiver::new(1 << 20);
        rx.feed(data)
    };
    let mut rx = DataReceiver::new(1 << 20);
    let mut pending: Vec<u8> = Vec::new();
    let mut used_total = 0;
    let mut result = None;
    for chunk in data.chunks(split) {
        pending.extend_from_slice(chunk);
        let (n, out) = rx.feed(&pending);
        used_total += n;
        pending.drain(..n);
        if out.is_some() {
            result = out;
            break;
        }
    }
    match (&whole.1, &result) {
        (Some(a), Some(b)) => {
            assert_eq!(a, b, "chunking changed the message");
            assert_eq!(
                whole.0, used_total,
                "chunking changed where the message ends"
            );
            // The consumed input ends with CRLF.CRLF and the body re-stuffs to a valid payload.
            assert!(
                data[..whole.0].ends_with(b"\r\n.\r\n")
                    || whole.0 == 3 && data.starts_with(b".\r\n")
            );
            let stuffed = dot_stuff(&a.body);
            let mut again = DataReceiver::new(1 << 20);
            let (_, back) = again.feed(&stuffed);
            assert_eq!(back.map(|o| o.body), Some(a.body.clone()));
        }
        (None, None) => {}
        _ => panic!("chunking decided differently whether the message ended"),
    }
}

struct AcceptAll;

impl SessionPolicy for AcceptAll {
    fn mail_from(&mut self, _: &SessionInfo, _: &ReversePath, _: &MailParams) -> Result<(), Reply> {
        Ok(())
    }
    fn rcpt_to(&mut self, _: &SessionInfo, to: &Mailbox) -> Result<(), Reply> {
        if to.domain.ends_with("example") {
            Ok(())
        } else {
            Err(crate::smtp::replies::UNABLE_TO_RELAY.reply())
        }
    }
}

/// A whole server session over arbitrary bytes (commands, DATA, BDAT): never panics, every
/// reply is well formed, and nothing is processed after STARTTLS until TLS is up.
pub fn smtp_session(data: &[u8]) {
    let cfg = ServerConfig {
        hostname: "mx.example".into(),
        banner: "220 mx.example ready".into(),
        peer_ip: "192.0.2.1".into(),
        starttls: true,
        require_tls: false,
        max_message_size: 4096,
        max_recipients: 5,
        max_errors: 50,
        postmaster_domain: "example".into(),
        auth: AuthOffer::BasicAfterTls,
    };
    let mut s = Server::new(cfg);
    let mut input = data.to_vec();
    let mut rounds = 0;
    while !input.is_empty() && rounds < 10_000 {
        rounds += 1;
        let mut actions = Vec::new();
        let used = s.feed(&input, &mut AcceptAll, &mut actions);
        input.drain(..used);
        let mut progressed = used > 0;
        let mut later = Vec::new();
        for a in actions {
            progressed = true;
            match a {
                Action::Reply(r) => {
                    let wire = r.to_bytes();
                    assert!(wire.ends_with(b"\r\n") && (200..600).contains(&r.code));
                }
                Action::StartTls => {
                    // Until TLS is up, the machine takes nothing more.
                    let mut more = Vec::new();
                    assert_eq!(s.feed(&input, &mut AcceptAll, &mut more), 0);
                    assert!(more.is_empty(), "{more:?}");
                    // The caller discards what was buffered: model it.
                    input.clear();
                    s.tls_established();
                }
                Action::Authenticate(c) => {
                    let ok = c.user == "bob" && c.password.as_str() == "pw";
                    s.auth_result(ok.then_some(c.user), &mut later);
                }
                Action::Message(m) => {
                    assert!(m.body.len() <= 4096 + 2);
                    // The header firewall leaves nothing it would strip, whatever the syntax.
                    let own = ["mx.example".to_string(), "example".to_string()];
                    let (clean, _) = crate::policy::header_firewall::strip_forged(&m.body, &own);
                    let (_, left) = crate::policy::header_firewall::strip_forged(&clean, &own);
                    assert_eq!(left, 0, "the firewall left a forged field");
                    let _ = s.message_queued(Ok("id".into()));
                }
                Action::Close | Action::Command(_) => {}
            }
        }
        for a in later {
            if let Action::Reply(r) = a {
                assert!((200..600).contains(&r.code));
            }
        }
        if s.is_closed() || !progressed {
            break;
        }
    }
}

/// Settings text: never panics; whatever parses either validates or names its problems.
pub fn settings(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(s) = crate::config::format::from_ron(&text) {
        match crate::config::validate(&s) {
            Ok(_) => {
                let again = crate::config::format::from_ron(&crate::config::format::to_ron(&s));
                assert_eq!(again.ok().as_ref(), Some(&s), "settings must round-trip");
            }
            Err(p) => assert!(!p.0.is_empty()),
        }
    }
}

/// Certificate, PKCS#7, PKCS#12 and request import plus inspection: never panics.
pub fn certificate_import(data: &[u8]) {
    for pw in [None, Some("password")] {
        if let Ok(contents) = crate::pki::import::read_file(data, pw) {
            for der in &contents.certificates {
                if let Ok(info) = crate::pki::inspect::inspect_certificate(der) {
                    let _ = crate::pki::inspect::findings(
                        &info,
                        time::OffsetDateTime::UNIX_EPOCH,
                        &Default::default(),
                    );
                }
            }
            for r in &contents.requests {
                let _ = crate::pki::request::parse_request(r);
            }
        }
    }
    let _ = crate::pki::request::parse_request(data);
    let _ = crate::pki::subject::Subject::parse(&String::from_utf8_lossy(data));
}

/// A fuzz target: arbitrary bytes in, panics on a broken invariant.
pub type Target = fn(&[u8]);

/// The fuzz targets by name, for the corpus replay.
pub const TARGETS: &[(&str, Target)] = &[
    ("smtp_command", smtp_command),
    ("data_framing", data_framing),
    ("smtp_session", smtp_session),
    ("settings", settings),
    ("certificate_import", certificate_import),
];
