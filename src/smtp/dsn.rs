//! Delivery status notifications (RFC 3464): the non-delivery report, the delay notice, and the
//! success notices a sender asked for with `NOTIFY=SUCCESS` (delivered here, or relayed to a
//! next hop that does not speak DSN), sent to the envelope sender — never to the null sender —
//! as multipart/report with a readable part, the machine-readable `message/delivery-status`
//! part (with the sender's `ENVID` and each `ORCPT`), and the original headers, or the whole
//! original in a failure notice when the sender asked `RET=FULL` (RFC 3461 §6).

use super::dsn_request::NoticeFor;
use super::headers::{header_end, header_value, rfc5322_date};
use super::printable::printable;
use super::reply::Reply;
use time::OffsetDateTime;

/// Failed (NDR), still trying (delay notice), delivered, or relayed without DSN further on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DsnKind {
    Failure,
    Delay,
    /// Delivered into a mailbox here.
    Delivered,
    /// Handed to a next hop that does not offer DSN: no notice can come from further on.
    Relayed,
}

impl DsnKind {
    /// The notice's name in logs and tracking.
    pub fn what(self) -> &'static str {
        match self {
            DsnKind::Failure => "NDR",
            DsnKind::Delay => "delay notice",
            DsnKind::Delivered => "delivery notice",
            DsnKind::Relayed => "relay notice",
        }
    }

    /// The `NOTIFY` word that asks for this notice.
    pub fn notice_for(self) -> NoticeFor {
        match self {
            DsnKind::Failure => NoticeFor::Failure,
            DsnKind::Delay => NoticeFor::Delay,
            DsnKind::Delivered | DsnKind::Relayed => NoticeFor::Success,
        }
    }
}

/// One recipient's status in a DSN.
#[derive(Clone, Debug)]
pub struct DsnRecipient {
    pub address: String,
    /// The last reply, or our own reason as a reply.
    pub reply: Reply,
    /// The host that gave the reply, if a remote one did.
    pub remote_mta: Option<String>,
    /// `Original-Recipient` from the sender's ORCPT (`rfc822;bob@example.com`).
    pub original: Option<String>,
}

/// What a DSN is about.
pub struct DsnInput<'a> {
    pub kind: DsnKind,
    /// Our FQDN (Reporting-MTA, From).
    pub reporting_mta: &'a str,
    /// The envelope sender of the original message (the DSN goes there).
    pub original_sender: &'a str,
    pub original_id: &'a str,
    pub arrival: OffsetDateTime,
    pub now: OffsetDateTime,
    /// For a delay notice: until when we keep trying.
    pub retry_until: Option<OffsetDateTime>,
    pub recipients: &'a [DsnRecipient],
    pub original: &'a [u8],
    /// Unique id for the DSN's own Message-ID and MIME boundary.
    pub dsn_id: &'a str,
    /// The sender's `ENVID`, decoded.
    pub envid: Option<&'a str>,
    /// Return the whole original (`RET=FULL` on a failure notice), not only its header.
    pub return_full: bool,
}

fn status_of(reply: &Reply, kind: DsnKind) -> String {
    match reply.enhanced {
        Some((a, b, c)) => format!("{a}.{b}.{c}"),
        None => match kind {
            DsnKind::Failure => "5.0.0".into(),
            DsnKind::Delay => "4.0.0".into(),
            DsnKind::Delivered | DsnKind::Relayed => "2.0.0".into(),
        },
    }
}

/// Most characters of the original subject repeated in the DSN's own subject: with up to four
/// octets a character, the line stays far below the 998-octet limit however long the original
/// (folded) subject was.
const SUBJECT_CHARS: usize = 200;

fn dsn_subject(original: &str) -> String {
    let clean = printable(original);
    let mut s: String = clean.chars().take(SUBJECT_CHARS).collect();
    if clean.chars().nth(SUBJECT_CHARS).is_some() {
        s.push_str("...");
    }
    s
}

/// Builds the DSN message (CRLF line endings). Send it with a null reverse path.
pub fn build(input: &DsnInput<'_>) -> Vec<u8> {
    let subject = dsn_subject(&header_value(input.original, "Subject").unwrap_or_default());
    let (title, action, human) = match input.kind {
        DsnKind::Failure => (
            "Undeliverable",
            "failed",
            "Your message could not be delivered to the following recipients. It will not be retried.",
        ),
        DsnKind::Delay => (
            "Delivery delayed",
            "delayed",
            "Your message has not been delivered yet. Mailflow keeps trying; you do not need to send it again.",
        ),
        DsnKind::Delivered => (
            "Delivered",
            "delivered",
            "Your message was delivered to the following recipients.",
        ),
        DsnKind::Relayed => (
            "Relayed",
            "relayed",
            "Your message was handed to the next mail system for the following recipients. That system does not send delivery notifications, so this is the last notice you will receive about them.",
        ),
    };
    let boundary = format!("=_mailflow_{}", input.dsn_id);
    let mut m = String::new();
    m.push_str(&format!(
        "From: Mail Delivery System <MAILER-DAEMON@{}>\r\n",
        input.reporting_mta
    ));
    m.push_str(&format!("To: <{}>\r\n", input.original_sender));
    m.push_str(&format!("Subject: {title}: {subject}\r\n"));
    m.push_str(&format!("Date: {}\r\n", rfc5322_date(input.now)));
    m.push_str(&format!(
        "Message-ID: <{}@{}>\r\n",
        input.dsn_id, input.reporting_mta
    ));
    m.push_str("Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n");
    m.push_str(&format!("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{boundary}\"\r\n\r\n"));
    m.push_str(&format!(
        "--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{human}\r\n\r\n"
    ));
    for r in input.recipients {
        m.push_str(&format!("  <{}>: {}\r\n", r.address, r.reply.one_line()));
    }
    if let Some(until) = input.retry_until {
        m.push_str(&format!(
            "\r\nMailflow will keep trying until {}.\r\n",
            rfc5322_date(until)
        ));
    }
    m.push_str(&format!(
        "\r\n--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
    ));
    m.push_str(&format!("Reporting-MTA: dns; {}\r\n", input.reporting_mta));
    if let Some(envid) = input.envid {
        m.push_str(&format!("Original-Envelope-Id: {}\r\n", printable(envid)));
    }
    m.push_str(&format!("X-Mailflow-Queue-ID: {}\r\n", input.original_id));
    m.push_str(&format!(
        "Arrival-Date: {}\r\n",
        rfc5322_date(input.arrival)
    ));
    for r in input.recipients {
        m.push_str("\r\n");
        if let Some(o) = &r.original {
            m.push_str(&format!("Original-Recipient: {}\r\n", printable(o)));
        }
        m.push_str(&format!("Final-Recipient: rfc822; {}\r\n", r.address));
        m.push_str(&format!("Action: {action}\r\n"));
        m.push_str(&format!("Status: {}\r\n", status_of(&r.reply, input.kind)));
        if let Some(h) = &r.remote_mta {
            m.push_str(&format!("Remote-MTA: dns; {h}\r\n"));
        }
        m.push_str(&format!(
            "Diagnostic-Code: smtp; {}\r\n",
            r.reply.one_line()
        ));
        m.push_str(&format!(
            "Last-Attempt-Date: {}\r\n",
            rfc5322_date(input.now)
        ));
        if let Some(until) = input.retry_until {
            m.push_str(&format!("Will-Retry-Until: {}\r\n", rfc5322_date(until)));
        }
    }
    let returned = if input.return_full {
        "message/rfc822"
    } else {
        "text/rfc822-headers"
    };
    m.push_str(&format!(
        "\r\n--{boundary}\r\nContent-Type: {returned}\r\n\r\n"
    ));
    let mut out = m.into_bytes();
    let end = if input.return_full {
        input.original.len()
    } else {
        header_end(input.original)
    };
    out.extend_from_slice(&input.original[..end]);
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn an_ndr_has_the_three_parts_of_rfc_3464() {
        let rcpts = [DsnRecipient {
            address: "bob@woodgrove.test".into(),
            reply: Reply::new(550, (5, 1, 1), "User unknown"),
            remote_mta: Some("127.0.0.1".into()),
            original: None,
        }];
        let dsn = build(&DsnInput {
            kind: DsnKind::Failure,
            reporting_mta: "mail.contoso.test",
            original_sender: "alice@contoso.test",
            original_id: "abc",
            arrival: datetime!(2026-11-29 10:00 UTC),
            now: datetime!(2026-11-29 11:00 UTC),
            retry_until: None,
            recipients: &rcpts,
            original:
                b"Subject: Quarterly report\r\nFrom: alice@contoso.test\r\n\r\nsecret body\r\n",
            dsn_id: "dsn1",
            envid: None,
            return_full: false,
        });
        let text = String::from_utf8(dsn).unwrap();
        assert!(
            text.contains("Subject: Undeliverable: Quarterly report"),
            "{text}"
        );
        assert!(text.contains("report-type=delivery-status"));
        assert!(text.contains("Final-Recipient: rfc822; bob@woodgrove.test\r\nAction: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; 127.0.0.1"), "{text}");
        assert!(
            text.contains("Content-Type: text/rfc822-headers\r\n\r\nSubject: Quarterly report")
        );
        assert!(
            !text.contains("secret body"),
            "only the headers are returned"
        );
        assert!(text.ends_with("--=_mailflow_dsn1--\r\n"));
    }

    #[test]
    fn a_long_folded_subject_keeps_the_dsn_within_line_limits() {
        let long = format!(
            "Subject: {}\r\n {}\r\n\r\nbody\r\n",
            "ä".repeat(400),
            "b".repeat(900)
        );
        let rcpts = [DsnRecipient {
            address: "bob@woodgrove.test".into(),
            reply: Reply::new(550, (5, 1, 1), "User unknown"),
            remote_mta: None,
            original: None,
        }];
        let dsn = build(&DsnInput {
            kind: DsnKind::Failure,
            reporting_mta: "mail.contoso.test",
            original_sender: "alice@contoso.test",
            original_id: "abc",
            arrival: datetime!(2026-11-29 10:00 UTC),
            now: datetime!(2026-11-29 11:00 UTC),
            retry_until: None,
            recipients: &rcpts,
            original: long.as_bytes(),
            dsn_id: "dsn1",
            envid: None,
            return_full: false,
        });
        for line in dsn.split(|b| *b == b'\n') {
            assert!(line.len() <= 998, "a line of {} octets", line.len());
        }
        let text = String::from_utf8(dsn).unwrap();
        assert!(text.contains(&format!(
            "Subject: Undeliverable: {}...\r\n",
            "ä".repeat(200)
        )));
    }

    #[test]
    fn a_delay_notice_says_until_when() {
        let rcpts = [DsnRecipient {
            address: "bob@w.test".into(),
            reply: Reply::new(451, (4, 4, 1), "no answer"),
            remote_mta: None,
            original: None,
        }];
        let dsn = build(&DsnInput {
            kind: DsnKind::Delay,
            reporting_mta: "m.test",
            original_sender: "a@c.test",
            original_id: "x",
            arrival: datetime!(2026-11-29 10:00 UTC),
            now: datetime!(2026-11-29 14:00 UTC),
            retry_until: Some(datetime!(2026-12-01 10:00 UTC)),
            recipients: &rcpts,
            original: b"Subject: s\r\n\r\nb\r\n",
            dsn_id: "d2",
            envid: None,
            return_full: false,
        });
        let text = String::from_utf8(dsn).unwrap();
        assert!(text.contains("Action: delayed\r\nStatus: 4.4.1"), "{text}");
        assert!(
            text.contains("Will-Retry-Until: Tue, 01 Dec 2026 10:00:00 +0000"),
            "{text}"
        );
    }

    fn input<'a>(kind: DsnKind, rcpts: &'a [DsnRecipient], original: &'a [u8]) -> DsnInput<'a> {
        DsnInput {
            kind,
            reporting_mta: "mail.contoso.test",
            original_sender: "alice@contoso.test",
            original_id: "abc",
            arrival: datetime!(2026-11-29 10:00 UTC),
            now: datetime!(2026-11-29 10:01 UTC),
            retry_until: None,
            recipients: rcpts,
            original,
            dsn_id: "d3",
            envid: Some("QQ314159"),
            return_full: false,
        }
    }

    #[test]
    fn success_notices_carry_envid_and_the_original_recipient() {
        let rcpts = [DsnRecipient {
            address: "bob@woodgrove.test".into(),
            reply: Reply::new(250, (2, 0, 0), "queued as 123"),
            remote_mta: None,
            original: Some("rfc822;Bob@Woodgrove.test".into()),
        }];
        let original = b"Subject: s\r\n\r\nthe body\r\n";
        for (kind, title, action) in [
            (
                DsnKind::Delivered,
                "Subject: Delivered: s",
                "Action: delivered",
            ),
            (DsnKind::Relayed, "Subject: Relayed: s", "Action: relayed"),
        ] {
            let text = String::from_utf8(build(&input(kind, &rcpts, original))).unwrap();
            assert!(text.contains(title), "{text}");
            assert!(
                text.contains("Original-Envelope-Id: QQ314159\r\n"),
                "{text}"
            );
            assert!(
                text.contains(&format!("Original-Recipient: rfc822;Bob@Woodgrove.test\r\nFinal-Recipient: rfc822; bob@woodgrove.test\r\n{action}\r\nStatus: 2.0.0")),
                "{text}"
            );
            assert!(!text.contains("the body"), "{text}");
        }
    }

    #[test]
    fn ret_full_returns_the_whole_message_in_a_failure_notice() {
        let rcpts = [DsnRecipient {
            address: "bob@woodgrove.test".into(),
            reply: Reply::new(550, (5, 1, 1), "User unknown"),
            remote_mta: None,
            original: None,
        }];
        let original = b"Subject: s\r\n\r\nthe body\r\n";
        let mut i = input(DsnKind::Failure, &rcpts, original);
        i.return_full = true;
        let text = String::from_utf8(build(&i)).unwrap();
        assert!(
            text.contains("Content-Type: message/rfc822\r\n\r\nSubject: s\r\n\r\nthe body\r\n"),
            "{text}"
        );
        assert!(!text.contains("Original-Recipient"), "{text}");
    }
}
