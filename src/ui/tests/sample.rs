//! Realistic, deterministic data for the screenshots: the relay's live state (sessions with
//! transcripts, counters, queues, two hours of history) and a tracking database of messages to
//! and from partners, all relative to the fixed clock.

use super::{NOW, copy_dir, fixture_source, now_ms};
use crate::admin::Workspace;
use crate::engine::MessageRowOut;
use crate::engine::monitor::{Counters, ListenerRow, MinutePoint, QueueRow, SessionRow, Snapshot};
use crate::smtp::evidence::{Direction, PeerCertificate, SecurityStatus, TlsFacts, TrustLevel};
use crate::store::DataDir;
use crate::store::tracking::{EventKind, TrackingDb, TrackingEvent};
use std::collections::VecDeque;
use std::path::PathBuf;

/// A fresh copy of the fixture at a fixed path (so paths in the pictures never change), with
/// a tracking database. Returns the root (`org/`, `files/`) and the workspace.
pub fn shots(name: &str) -> (PathBuf, Workspace) {
    let root = PathBuf::from("/tmp/mailflow-console-shots").join(name);
    let _ = std::fs::remove_dir_all(&root);
    copy_dir(&fixture_source().join("org"), &root.join("org"));
    copy_dir(&fixture_source().join("files"), &root.join("files"));
    let dir = DataDir::new(root.join("org"));
    write_tracking(&dir.tracking_db(), 60);
    write_refusal(&dir.tracking_db());
    write_sightings(&dir.tracking_db(), &root.join("files"));
    write_protocol_log(&dir);
    let ws = Workspace::open(&dir).expect("fixture opens");
    (root, ws)
}

/// The partner certificate watch: Woodgrove's mail server certificate, seen both ways and
/// authenticated, which replaced last year's three days ago.
pub fn write_sightings(path: &std::path::Path, files: &std::path::Path) {
    use crate::store::partner_watch::{Presented, Sighting};
    let pem = std::fs::read_to_string(files.join("woodgrove-mail.cer")).expect("woodgrove");
    let chain: Vec<Vec<u8>> = pem::parse_many(&pem)
        .expect("pem")
        .into_iter()
        .map(|b| b.into_contents())
        .collect();
    let info = crate::pki::inspect::inspect_certificate(&chain[0]).expect("inspect");
    let certificate = crate::policy::trust::peer_record(&info);
    let mut db = TrackingDb::open(path).expect("tracking");
    let seen = |minutes: i64, direction, host: &str, presented: Presented, verified| Sighting {
        time: now_ms() - minutes * 60_000,
        domain: "woodgrove.test".into(),
        direction,
        host: host.into(),
        presented,
        verified,
    };
    // Last year's certificate, replaced three days ago: the watch's rotation alert.
    let mut last_year = certificate.clone();
    last_year.thumbprint = "5C0FFEE0BADC0DE5C0FFEE0BADC0DE5C0FFEE0B1".into();
    last_year.not_after = certificate.not_after - 365 * 86_400;
    let old = Presented::Certificate {
        certificate: last_year,
        chain: chain.clone(),
    };
    let cert = Presented::Certificate { certificate, chain };
    let out = Direction::Outbound;
    let host = "mail.woodgrove.test:25";
    db.insert_with(
        &[],
        &[
            seen(60 * 24 * 300, out, host, old.clone(), true),
            seen(60 * 24 * 4, out, host, old, true),
            seen(60 * 24 * 3, out, host, cert.clone(), true),
            seen(12, out, host, cert.clone(), true),
            seen(7, Direction::Inbound, "198.51.100.25", cert, true),
        ],
    )
    .expect("sightings");
}

/// A small deterministic generator.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn tls(
    version: &str,
    cipher: &str,
    peer: Option<(&str, &str, &str)>,
    trust: TrustLevel,
) -> TlsFacts {
    TlsFacts {
        version: version.into(),
        cipher: cipher.into(),
        cipher_bits: if cipher.contains("256") { 256 } else { 128 },
        key_exchange: Some("X25519".into()),
        peer_certificate: peer.map(|(subject, issuer, name)| PeerCertificate {
            subject: subject.into(),
            issuer: issuer.into(),
            subject_cn: name.into(),
            issuer_cn: issuer.trim_start_matches("CN=").into(),
            thumbprint: "4F1C7A0D9B2E36C85A1F0E7D2B9C4A6E8F3D1B05".into(),
            public_key_sha256: "9A".repeat(32),
            names: vec![name.into()],
            not_after: NOW.unix_timestamp() + 300 * 86_400,
        }),
        trust,
        trust_detail: None,
    }
}

const SUBJECTS: &[&str] = &[
    "Quarterly settlement report",
    "Re: Wire transfer confirmation",
    "Contract renewal 2027",
    "Invoice 2026-1187",
    "Meeting notes: partner onboarding",
    "Fwd: audit findings",
    "Shipping schedule week 49",
    "Password reset request",
    "Newsletter December",
    "Re: Re: pricing update",
];

/// Writes `n` messages' events into a new tracking database.
pub fn write_tracking(path: &std::path::Path, n: usize) {
    let mut db = TrackingDb::open(path).expect("tracking db");
    let mut rng = Lcg(7);
    let mut events = Vec::new();
    for i in 0..n {
        let t = now_ms() - (n - i) as i64 * 97_000 - rng.below(60_000) as i64;
        let kind = rng.below(10);
        let id = format!("6f1c2a4e-0000-4000-8000-{:012x}", 0x1000 + i);
        let subject = SUBJECTS[rng.below(SUBJECTS.len() as u64) as usize];
        let (sender, rcpt, security, facts_in, facts_out, out_kind, response) = match kind {
            0..=3 => (
                format!(
                    "{}@woodgrove.test",
                    ["ana", "lee", "sam", "kim"][rng.below(4) as usize]
                ),
                format!(
                    "{}@contoso.test",
                    ["alice", "bob", "carol"][rng.below(3) as usize]
                ),
                SecurityStatus::DomainSecure,
                Some(tls(
                    "TLSv1.3",
                    "TLS_AES_256_GCM_SHA384",
                    Some((
                        "C=US, O=Woodgrove Bank, CN=mail.woodgrove.test",
                        "O=Woodgrove Bank, CN=Woodgrove Root CA",
                        "mail.woodgrove.test",
                    )),
                    TrustLevel::Verified,
                )),
                None,
                EventKind::Deliver,
                "250 2.0.0 delivered to mailbox",
            ),
            4..=5 => (
                format!(
                    "{}@contoso.test",
                    ["alice", "bob", "carol"][rng.below(3) as usize]
                ),
                format!("{}@woodgrove.test", ["ana", "lee"][rng.below(2) as usize]),
                SecurityStatus::DomainSecure,
                Some(tls(
                    "TLSv1.3",
                    "TLS_AES_256_GCM_SHA384",
                    None,
                    TrustLevel::Anonymous,
                )),
                Some(tls(
                    "TLSv1.3",
                    "TLS_AES_256_GCM_SHA384",
                    Some((
                        "C=US, O=Woodgrove Bank, CN=mail.woodgrove.test",
                        "O=Woodgrove Bank, CN=Woodgrove Root CA",
                        "mail.woodgrove.test",
                    )),
                    TrustLevel::Verified,
                )),
                EventKind::Send,
                "250 2.6.0 Queued mail for delivery",
            ),
            6..=7 => (
                format!(
                    "news@{}",
                    ["fabrikam.test", "tailspin.test"][rng.below(2) as usize]
                ),
                "carol@contoso.test".to_string(),
                SecurityStatus::Encrypted,
                Some(tls(
                    "TLSv1.2",
                    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                    Some(("CN=mx.fabrikam.test", "CN=Public CA R3", "mx.fabrikam.test")),
                    TrustLevel::Trusted,
                )),
                None,
                EventKind::Deliver,
                "250 2.0.0 delivered to mailbox",
            ),
            8 => (
                "alerts@legacy-erp.contoso.test".to_string(),
                "ops@contoso.test".to_string(),
                SecurityStatus::Plaintext,
                None,
                None,
                EventKind::Deliver,
                "250 2.0.0 delivered to mailbox",
            ),
            _ => (
                "bob@contoso.test".to_string(),
                "orders@adatum.test".to_string(),
                SecurityStatus::Plaintext,
                Some(tls(
                    "TLSv1.3",
                    "TLS_AES_128_GCM_SHA256",
                    None,
                    TrustLevel::Anonymous,
                )),
                None,
                EventKind::Defer,
                "421 4.4.2 adatum.test: connection timed out",
            ),
        };
        let base = TrackingEvent {
            time: t,
            kind: EventKind::Receive,
            internal_id: id.clone(),
            message_id: Some(format!(
                "<{:08x}.{i}@{}>",
                rng.next(),
                sender.split('@').nth(1).unwrap_or("host")
            )),
            sender: sender.clone(),
            recipients: vec![rcpt.clone()],
            subject: Some(subject.to_string()),
            size: 2_000 + rng.below(80_000),
            client: Some(format!(
                "192.0.2.{}:{}",
                10 + rng.below(200),
                40_000 + rng.below(20_000)
            )),
            server: Some("10.0.0.5:25".into()),
            connector: Some("Default".into()),
            security: if facts_in.is_some() && security == SecurityStatus::Plaintext {
                SecurityStatus::Encrypted
            } else {
                security
            },
            tls: facts_in,
            response: Some("250 2.6.0 Queued mail for delivery".into()),
            detail: Some(match security {
                SecurityStatus::DomainSecure => "Domain Security for woodgrove.test".into(),
                _ => "opportunistic TLS".into(),
            }),
            session: None,
            helo: None,
            why: Vec::new(),
        };
        events.push(base.clone());
        let mut second = base.clone();
        second.time = t + 400 + rng.below(3_000) as i64;
        second.kind = out_kind;
        second.response = Some(response.into());
        if out_kind == EventKind::Send {
            second.connector = Some("To Woodgrove".into());
            second.client = Some("10.0.0.5:51234".into());
            second.server = Some("203.0.113.25:25".into());
            second.tls = facts_out;
            second.detail = Some(
                "Domain Security for woodgrove.test; DANE: 1 usable TLSA record at _25._tcp.mail.woodgrove.test; authenticated by DANE-EE(3) 3 1 1 8f0c…"
                    .into(),
            );
        }
        if out_kind == EventKind::Defer {
            second.connector = Some("Outbound".into());
            second.tls = None;
            second.security = SecurityStatus::Plaintext;
            second.detail = Some("next retry in 5 minutes".into());
        }
        events.push(second);
    }
    db.insert(&events).expect("insert");
}

/// Today's receive protocol log: an accepted partner session and the refused one of
/// [`write_refusal`], as the relay writes them.
pub fn write_protocol_log(dir: &DataDir) {
    use crate::store::protocol_logs::LogDirection;
    let day = crate::ui::pages::tracking::log_day(now_ms() - 120_000);
    let path = LogDirection::Receive.file(dir, &day);
    std::fs::create_dir_all(path.parent().expect("folder")).expect("mkdir");
    let mut text = String::from(
        "#Software: Mailflow\r\n#Log-type: SMTP Receive Protocol Log\r\n#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context\r\n",
    );
    /// Event, data, context.
    type Line = (&'static str, &'static str, &'static str);
    let sessions: [(&str, &str, &[Line]); 2] = [
        (
            "00000000000004D1",
            "192.0.2.44:51502",
            &[
                ("+", "", ""),
                (
                    ">",
                    "220 mail.contoso.test Microsoft ESMTP MAIL Service ready",
                    "",
                ),
                ("<", "EHLO mail.woodgrove.test", ""),
                (">", "250-mail.contoso.test Hello [192.0.2.44]", ""),
                ("<", "STARTTLS", ""),
                (">", "220 2.0.0 SMTP server ready", ""),
                (
                    "*",
                    "Verified TLS connection established from [192.0.2.44]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384",
                    "TLS",
                ),
                ("<", "MAIL FROM:<ana@woodgrove.test> SIZE=48211", ""),
                (">", "250 2.1.0 Sender OK", ""),
                ("<", "RCPT TO:<alice@contoso.test>", ""),
                (">", "250 2.1.5 Recipient OK", ""),
                ("<", "DATA", ""),
                (
                    ">",
                    "250 2.6.0 <6f1c2a4e@mail.contoso.test> Queued mail for delivery",
                    "",
                ),
                ("-", "", ""),
            ],
        ),
        (
            "00000000000004D2",
            "192.0.2.44:51544",
            &[
                ("+", "", ""),
                (
                    ">",
                    "220 mail.contoso.test Microsoft ESMTP MAIL Service ready",
                    "",
                ),
                ("<", "EHLO mail.woodgrove.test", ""),
                (">", "250-mail.contoso.test Hello [192.0.2.44]", ""),
                ("<", "STARTTLS", ""),
                (">", "220 2.0.0 SMTP server ready", ""),
                (
                    "*",
                    "Trusted TLS connection established from [192.0.2.44]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384",
                    "TLS",
                ),
                (
                    "*",
                    "Client certificate subject C=US, O=Fabrikam, CN=mail.fabrikam.test, issuer O=Woodgrove Bank, CN=Woodgrove Root CA",
                    "TLS",
                ),
                ("<", "MAIL FROM:<ana@woodgrove.test> SIZE=48211", ""),
                (
                    "*",
                    "the TLS certificate does not contain the domain name woodgrove.test (names: mail.fabrikam.test)",
                    "Domain Security",
                ),
                (">", "454 4.7.5 Certificate validation failure", ""),
                ("<", "QUIT", ""),
                (">", "221 2.0.0 Service closing transmission channel", ""),
                ("-", "", ""),
            ],
        ),
    ];
    let t = time::OffsetDateTime::from_unix_timestamp((now_ms() - 180_000) / 1000).expect("time");
    for (n, (session, remote, lines)) in sessions.iter().enumerate() {
        for (seq, (event, data, context)) in lines.iter().enumerate() {
            let at = t + time::Duration::milliseconds((n * 60_000 + seq * 37) as i64);
            let ts = at
                .format(&time::format_description::well_known::Rfc3339)
                .expect("format");
            text.push_str(&crate::store::csv::record([
                ts.as_str(),
                "Default",
                session,
                &seq.to_string(),
                "10.0.0.5:25",
                remote,
                event,
                data,
                context,
            ]));
        }
    }
    std::fs::write(&path, text).expect("write log");
}

/// A partner's server refused by Domain Security (its certificate names another domain), with
/// the steps the relay's own decision gives.
pub fn write_refusal(path: &std::path::Path) {
    use crate::policy::inbound::{ClientCertificate, InboundTls, sender_decision};
    let names = vec!["mail.fabrikam.test".to_string()];
    let (_, why) = sender_decision(
        Some("woodgrove.test"),
        &["woodgrove.test".to_string()].into(),
        &InboundTls {
            connector_domain_secure: true,
            starttls_advertised: true,
            tls_active: true,
            client_certificate: Some(ClientCertificate {
                names,
                chain: Ok(()),
                pinned: false,
                partner_pin: false,
                names_note: None,
            }),
        },
    );
    let mut facts = tls(
        "TLSv1.3",
        "TLS_AES_256_GCM_SHA384",
        Some((
            "C=US, O=Fabrikam, CN=mail.fabrikam.test",
            "O=Woodgrove Bank, CN=Woodgrove Root CA",
            "mail.fabrikam.test",
        )),
        TrustLevel::Trusted,
    );
    facts.trust_detail = None;
    let event = TrackingEvent {
        time: now_ms() - 120_000,
        kind: EventKind::Reject,
        internal_id: "00000000000004D2-R1".into(),
        message_id: None,
        sender: "ana@woodgrove.test".into(),
        recipients: Vec::new(),
        subject: None,
        size: 0,
        client: Some("192.0.2.44:51544".into()),
        server: Some("10.0.0.5:25".into()),
        connector: Some("Default".into()),
        tls: Some(facts),
        security: SecurityStatus::Encrypted,
        response: Some("454 4.7.5 Certificate validation failure".into()),
        detail: Some(
            "MAIL FROM:<ana@woodgrove.test> SIZE=48211 refused: the TLS certificate does not \
             contain the domain name woodgrove.test (names: mail.fabrikam.test)"
                .into(),
        ),
        session: Some("00000000000004D2".into()),
        helo: Some("mail.woodgrove.test".into()),
        why,
    };
    let mut db = TrackingDb::open(path).expect("tracking db");
    db.insert(&[event]).expect("insert");
}

#[allow(clippy::too_many_arguments)]
fn session(
    id: u64,
    direction: Direction,
    connector: &str,
    peer: &str,
    state: &str,
    secure: Option<SecurityStatus>,
    cert: Option<&str>,
    age_s: i64,
) -> SessionRow {
    let tls = secure.filter(|s| *s != SecurityStatus::Plaintext);
    let mut transcript: VecDeque<String> = VecDeque::new();
    let lines: &[&str] = match secure {
        Some(SecurityStatus::DomainSecure) => &[
            "> 220 mail.contoso.test Microsoft ESMTP MAIL Service ready",
            "< EHLO mail.woodgrove.test",
            "> 250-mail.contoso.test Hello [192.0.2.44]",
            "> 250-STARTTLS",
            "> 250 SIZE 37748736",
            "< STARTTLS",
            "> 220 2.0.0 Ready to start TLS",
            "* TLSv1.3 TLS_AES_256_GCM_SHA384, client certificate CN=mail.woodgrove.test (Verified)",
            "< EHLO mail.woodgrove.test",
            "> 250-mail.contoso.test Hello [192.0.2.44]",
            "> 250 SIZE 37748736",
            "< MAIL FROM:<ana@woodgrove.test> SIZE=48211",
            "* Domain Security: woodgrove.test authenticated as Partner",
            "> 250 2.1.0 Sender OK",
            "< RCPT TO:<alice@contoso.test>",
            "> 250 2.1.5 Recipient OK",
            "< DATA",
            "> 354 Start mail input; end with <CRLF>.<CRLF>",
        ],
        _ => &[
            "> 220 mail.contoso.test Microsoft ESMTP MAIL Service ready",
            "< EHLO client.example",
            "> 250-mail.contoso.test Hello [198.51.100.7]",
            "> 250 STARTTLS",
            "< MAIL FROM:<alerts@legacy-erp.contoso.test>",
            "> 250 2.1.0 Sender OK",
        ],
    };
    transcript.extend(lines.iter().map(|s| s.to_string()));
    SessionRow {
        id,
        direction,
        connector: connector.into(),
        local: "10.0.0.5:25".into(),
        peer: peer.into(),
        state: state.into(),
        tls_version: tls.map(|_| "TLSv1.3".into()),
        cipher: tls.map(|_| "TLS_AES_256_GCM_SHA384".into()),
        client_certificate: cert.map(str::to_string),
        security: secure,
        bytes_in: 1_200 + (id * 7_919) % 60_000,
        bytes_out: 600 + (id * 3_571) % 4_000,
        started: now_ms() - age_s * 1000,
        transcript,
        messages: 0,
        refusals: 0,
        ended: None,
        outcome: None,
    }
}

/// Sessions that ended in the last hour: accepted mail, a partner refused by Domain Security,
/// a failed handshake, an outbound delivery.
fn closed_sessions() -> Vec<std::sync::Arc<SessionRow>> {
    let ds = Some(SecurityStatus::DomainSecure);
    let enc = Some(SecurityStatus::Encrypted);
    let wg = Some("C=US, O=Woodgrove Bank, CN=mail.woodgrove.test");
    let fab = Some("C=US, O=Fabrikam, CN=mail.fabrikam.test");
    let rows = [
        (
            1233,
            Direction::Inbound,
            "Default",
            "192.0.2.44:51502",
            ds,
            wg,
            190,
            3,
            0,
            "QUIT",
        ),
        (
            1234,
            Direction::Inbound,
            "Default",
            "192.0.2.44:51544",
            enc,
            fab,
            130,
            0,
            1,
            "QUIT",
        ),
        (
            1240,
            Direction::Outbound,
            "To Woodgrove",
            "203.0.113.25:25",
            ds,
            None,
            95,
            2,
            0,
            "QUIT: every message handed over or answered",
        ),
        (
            1242,
            Direction::Inbound,
            "Default",
            "198.51.100.9:41002",
            None,
            None,
            60,
            0,
            1,
            "TLS negotiation failed with error peer is incompatible: NoKxGroupsInCommon",
        ),
        (
            1250,
            Direction::Inbound,
            "Internal relay",
            "127.0.0.1:44188",
            Some(SecurityStatus::Plaintext),
            None,
            20,
            1,
            0,
            "QUIT",
        ),
    ];
    rows.into_iter()
        .rev()
        .map(
            |(id, dir, connector, peer, sec, cert, age_s, messages, refusals, outcome)| {
                let mut s = session(id, dir, connector, peer, "QUIT", sec, cert, age_s + 4);
                s.messages = messages;
                s.refusals = refusals;
                s.ended = Some(now_ms() - age_s * 1000);
                s.outcome = Some(outcome.to_string());
                std::sync::Arc::new(s)
            },
        )
        .collect()
}

/// The relay's live state for the pictures.
pub fn snapshot() -> Snapshot {
    let ds = Some(SecurityStatus::DomainSecure);
    let enc = Some(SecurityStatus::Encrypted);
    let plain = Some(SecurityStatus::Plaintext);
    let wg = Some("C=US, O=Woodgrove Bank, CN=mail.woodgrove.test");
    let sessions = vec![
        session(
            101,
            Direction::Inbound,
            "Default",
            "192.0.2.44:51872",
            "DATA",
            ds,
            wg,
            3,
        ),
        session(
            102,
            Direction::Inbound,
            "Default",
            "192.0.2.45:40112",
            "RCPT",
            ds,
            wg,
            7,
        ),
        session(
            103,
            Direction::Outbound,
            "To Woodgrove",
            "203.0.113.25:25",
            "DATA",
            ds,
            None,
            2,
        ),
        session(
            104,
            Direction::Inbound,
            "Default",
            "198.51.100.7:33410",
            "MAIL",
            enc,
            None,
            12,
        ),
        session(
            105,
            Direction::Inbound,
            "Default",
            "198.51.100.23:60021",
            "EHLO",
            enc,
            None,
            1,
        ),
        session(
            106,
            Direction::Inbound,
            "Internal relay",
            "127.0.0.1:44120",
            "DATA",
            plain,
            None,
            41,
        ),
        session(
            107,
            Direction::Outbound,
            "Outbound",
            "192.0.2.200:25",
            "connected",
            None,
            None,
            9,
        ),
        session(
            108,
            Direction::Inbound,
            "Default",
            "192.0.2.46:51990",
            "STARTTLS",
            None,
            None,
            0,
        ),
    ];
    let mut rng = Lcg(11);
    let now_min = now_ms() / 60_000;
    let history = (0..120)
        .map(|i| {
            let wave = ((i as f64) / 9.0).sin().abs();
            MinutePoint {
                minute: now_min - 119 + i,
                sessions: 6 + (wave * 10.0) as u64 + rng.below(5),
                domain_secure: 3 + (wave * 6.0) as u64 + rng.below(3),
                encrypted: 2 + rng.below(4),
                plaintext: rng.below(2),
            }
        })
        .collect::<Vec<_>>();
    let (d, e, p) = history.iter().fold((0, 0, 0), |a, m| {
        (a.0 + m.domain_secure, a.1 + m.encrypted, a.2 + m.plaintext)
    });
    Snapshot {
        running: true,
        listeners: vec![
            ListenerRow {
                connector: "Default".into(),
                address: "127.0.0.1:2525".parse().expect("addr"),
                error: None,
            },
            ListenerRow {
                connector: "Internal relay".into(),
                address: "127.0.0.1:2526".parse().expect("addr"),
                error: None,
            },
        ],
        sessions,
        closed: std::sync::Arc::new(closed_sessions()),
        counters: Counters {
            sessions: 1_284,
            received: d + e + p,
            delivered_local: d + e + p - 41,
            sent: 212,
            deferred: 9,
            failed: 1,
            rejected: 17,
            domain_secure: d,
            encrypted: e,
            plaintext: p,
            mx_lookups: 96,
            mx_lookup_failures: 2,
        },
        queues: vec![
            QueueRow {
                name: "adatum.test via Outbound".into(),
                status: "Retry".into(),
                messages: 3,
                next_retry: Some(now_ms() + 240_000),
                last_error: Some("421 4.4.2 adatum.test: connection timed out".into()),
                policy: Some("opportunistic TLS; DANE and MTA-STS per MX host".into()),
            },
            QueueRow {
                name: "woodgrove.test via To Woodgrove".into(),
                status: "Active".into(),
                messages: 1,
                next_retry: None,
                last_error: None,
                policy: Some("Domain Security for woodgrove.test".into()),
            },
            QueueRow {
                name: "Local delivery".into(),
                status: "Ready".into(),
                messages: 0,
                next_retry: None,
                last_error: None,
                policy: Some("local delivery (no network hop)".into()),
            },
        ],
        queued_messages: 4,
        problems: Vec::new(),
        history,
    }
}

/// The messages of the adatum.test queue.
pub fn queue_messages() -> Vec<MessageRowOut> {
    (0..3)
        .map(|i| MessageRowOut {
            id: format!("0b3e5d7a-1111-4000-8000-00000000000{i}"),
            sender: "bob@contoso.test".into(),
            recipients: vec![(format!("orders{}@adatum.test", i + 1), "Pending".into())],
            subject: Some(["Purchase order 4471", "Re: delivery dates", "Invoice query"][i].into()),
            size: 18_000 + i as u64 * 7_000,
            received: now_ms() - 3_600_000 + i as i64 * 600_000,
            next_attempt: now_ms() + 240_000,
            attempts: 4 - i as u32,
            last_error: Some("421 4.4.2 adatum.test: connection timed out".into()),
            status: "Retry".into(),
        })
        .collect()
}

/// The quarantine: one message set aside with its reason, one file whose envelope is unreadable.
pub fn quarantine() -> Vec<crate::engine::QuarantineRow> {
    vec![
        crate::engine::QuarantineRow {
            name: "5d2c9e41-2222-4000-8000-000000000001".into(),
            reason: "body checksum mismatch (bit rot or a damaged write)".into(),
            since: now_ms() - 7_200_000,
            size: 24_310,
            sender: Some("carol@fabrikam.test".into()),
            recipients: vec!["bob@contoso.test".into()],
            subject: Some("Quarterly figures".into()),
            path: "spool/quarantine/5d2c9e41-2222-4000-8000-000000000001.msg".into(),
        },
        crate::engine::QuarantineRow {
            name: "notes.txt".into(),
            reason: "unexpected file in the queue".into(),
            since: now_ms() - 3_600_000,
            size: 112,
            sender: None,
            recipients: Vec::new(),
            subject: None,
            path: "spool/quarantine/notes.txt".into(),
        },
    ]
}

/// What probing every MX host of woodgrove.test finds: the first with DANE and Domain Security
/// passing, the second down (for the per-host table's screenshot; the real probe is tested in
/// `relay_pages`).
pub fn probe_reports() -> Vec<crate::ui::state::probe::ProbeReport> {
    use crate::ui::state::probe::{PolicyVerdict, ProbeCertificate, ProbeReport};
    let verdict = |policy: &str, passes: bool, detail: &str| PolicyVerdict {
        policy: policy.into(),
        passes,
        detail: detail.into(),
    };
    vec![
        ProbeReport {
            connected_to: "mx1.woodgrove.test[192.0.2.25]:25".into(),
            found_by: Some("MX mx1.woodgrove.test (preference 10), DNSSEC secure".into()),
            dane: Some("DANE: 1 usable TLSA record (3 1 1); the certificate matches".into()),
            mta_sts: Some("DANE applies to this host, so MTA-STS does not".into()),
            tls: Some("TLSv1.3 TLS_AES_256_GCM_SHA384".into()),
            chain: vec![ProbeCertificate {
                subject: "CN=mx1.woodgrove.test".into(),
                issuer: "CN=Woodgrove Bank Issuing CA".into(),
                thumbprint: "3F2A9C0D41B7E6A15C88D2F07E1B4C93A6D05E21".into(),
                not_after: "2027-06-30".into(),
            }],
            verdicts: vec![
                verdict("Opportunistic TLS", true, "TLS 1.3 negotiated"),
                verdict("DANE", true, "the certificate matches TLSA 3 1 1"),
                verdict(
                    "RequireTLS (CertificateValidation)",
                    true,
                    "the chain ends in a trusted root",
                ),
                verdict(
                    "Domain Security for woodgrove.test",
                    true,
                    "valid for woodgrove.test, issued by a trusted root",
                ),
            ],
            transcript: vec![
                "< 220 mx1.woodgrove.test ESMTP".into(),
                "< 250 STARTTLS".into(),
                "STARTTLS offered".into(),
            ],
            error: None,
        },
        ProbeReport {
            connected_to: "mx2.woodgrove.test[192.0.2.26]:25".into(),
            found_by: Some("MX mx2.woodgrove.test (preference 20), DNSSEC secure".into()),
            dane: Some("DANE: 1 usable TLSA record (3 1 1)".into()),
            mta_sts: Some("DANE applies to this host, so MTA-STS does not".into()),
            error: Some("connection to 192.0.2.26:25 timed out after 10 s".into()),
            ..Default::default()
        },
    ]
}

/// A test message sent to woodgrove.test under Domain Security (for the page's screenshot;
/// the real one is sent in `relay_pages` and in the integration tests).
pub fn test_message_report() -> crate::engine::test_message::TestReport {
    use crate::engine::test_message::{TestMessage, TestOutcome, TestReport, TestStep};
    use crate::smtp::evidence::{
        Direction, HopEvidence, PeerCertificate, SecurityStatus, TlsFacts, TrustLevel,
    };
    let step = |what: &str| TestStep {
        what: what.into(),
        passed: true,
    };
    let sent = "250 2.0.0 Ok: queued as 4Xk2Lq1bZ9z6";
    TestReport {
        request: TestMessage {
            from: "postmaster@contoso.test".into(),
            to: "bob@woodgrove.test".into(),
            connector: None,
            host: None,
        },
        internal_id: "5d0c9a51-7b2e-4f0e-9c1d-2a8b6e4f3c10".into(),
        message_id: "<5d0c9a51-7b2e-4f0e-9c1d-2a8b6e4f3c10@mail.contoso.test>".into(),
        steps: vec![
            step("Routing picks send connector 'Partners' for woodgrove.test"),
            step("TLS requirement: Domain Security for woodgrove.test"),
            step("Connected to mail.woodgrove.test (192.0.2.25:25)"),
            step("Verified TLS, TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256 bits)"),
            step("Partner authenticated as woodgrove.test"),
            step(&format!("Sent: {sent}")),
        ],
        outcome: TestOutcome::Sent(sent.into()),
        hop: Some(HopEvidence {
            direction: Direction::Outbound,
            time: 1_796_634_000_000,
            connector: "Partners".into(),
            local: "192.0.2.10:41822".into(),
            remote: "192.0.2.25:25".into(),
            peer_name: "mail.woodgrove.test".into(),
            tls: Some(TlsFacts {
                version: "TLSv1.3".into(),
                cipher: "TLS_AES_256_GCM_SHA384".into(),
                cipher_bits: 256,
                key_exchange: Some("X25519".into()),
                peer_certificate: Some(PeerCertificate {
                    subject: "CN=mail.woodgrove.test".into(),
                    issuer: "CN=Woodgrove Bank Issuing CA".into(),
                    subject_cn: "mail.woodgrove.test".into(),
                    issuer_cn: "Woodgrove Bank Issuing CA".into(),
                    thumbprint: "3F2A9C0D41B7E6A15C88D2F07E1B4C93A6D05E21".into(),
                    public_key_sha256: String::new(),
                    names: vec!["mail.woodgrove.test".into(), "woodgrove.test".into()],
                    not_after: 1_814_400_000,
                }),
                trust: TrustLevel::Verified,
                trust_detail: None,
            }),
            security: SecurityStatus::DomainSecure,
            policy: "Domain Security for woodgrove.test".into(),
            auth_domain: Some("woodgrove.test".into()),
            auth_mechanism: Some("MutualTLS".into()),
        }),
        security: Some(SecurityStatus::DomainSecure),
        sessions: vec![(
            "00000000000000A7".into(),
            [
                "< 220 mail.woodgrove.test ESMTP Postfix",
                "> EHLO mail.contoso.test",
                "< 250-mail.woodgrove.test",
                "< 250-PIPELINING",
                "< 250-STARTTLS",
                "< 250 8BITMIME",
                "> STARTTLS",
                "< 220 2.0.0 Ready to start TLS",
                "* TLSv1.3 TLS_AES_256_GCM_SHA384, client certificate CN=mail.contoso.test",
                "> EHLO mail.contoso.test",
                "< 250-mail.woodgrove.test",
                "< 250 8BITMIME",
                "> MAIL FROM:<postmaster@contoso.test> SIZE=612",
                "> RCPT TO:<bob@woodgrove.test>",
                "> DATA",
                "< 250 2.1.0 Ok",
                "< 250 2.1.5 Ok",
                "< 354 End data with <CR><LF>.<CR><LF>",
                "< 250 2.0.0 Ok: queued as 4Xk2Lq1bZ9z6",
                "> QUIT",
            ]
            .map(String::from)
            .to_vec(),
        )],
    }
}
