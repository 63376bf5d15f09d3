//! Message header handling: reading a header's value (unfolded), stripping headers (the
//! `X-Mailflow-Auth*` family on receipt), prepending trace and marking headers, and the
//! `Received:` line with its TLS clause in Postfix's widely parsed form (RFC 5321 §4.4,
//! RFC 3848 `ESMTPS`).

use super::evidence::TlsFacts;
use super::printable::{printable, quotable};
use time::OffsetDateTime;

/// Where the header section ends: the index just after the empty line, or 0 when the
/// message does not start with a header.
pub fn header_end(msg: &[u8]) -> usize {
    if !starts_with_header(msg) {
        return 0;
    }
    let mut i = 0;
    while i < msg.len() {
        let end = msg[i..]
            .iter()
            .position(|b| *b == b'\n')
            .map(|p| i + p + 1)
            .unwrap_or(msg.len());
        let line = &msg[i..end];
        if line == b"\r\n" || line == b"\n" {
            return end;
        }
        i = end;
    }
    msg.len()
}

fn starts_with_header(msg: &[u8]) -> bool {
    let first = msg.split(|b| *b == b'\n').next().unwrap_or(&[]);
    match first.iter().position(|b| *b == b':') {
        Some(p) if p > 0 => first[..p]
            .iter()
            .all(|b| b.is_ascii_graphic() && *b != b':'),
        _ => false,
    }
}

/// Splits the header section into fields, each with its continuation lines.
fn fields(msg: &[u8]) -> Vec<(usize, usize)> {
    let end = header_end(msg);
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < end {
        let e = msg[i..end]
            .iter()
            .position(|b| *b == b'\n')
            .map(|p| i + p + 1)
            .unwrap_or(end);
        let line = &msg[i..e];
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        if (line[0] == b' ' || line[0] == b'\t') && !out.is_empty() {
            if let Some(last) = out.last_mut() {
                last.1 = e;
            }
        } else {
            out.push((i, e));
        }
        i = e;
    }
    out
}

fn field_name(field: &[u8]) -> &[u8] {
    let p = field.iter().position(|b| *b == b':').unwrap_or(0);
    &field[..p]
}

/// The unfolded value of the first header named `name` (case-insensitive).
pub fn header_value(msg: &[u8], name: &str) -> Option<String> {
    for (s, e) in fields(msg) {
        let f = &msg[s..e];
        if field_name(f).eq_ignore_ascii_case(name.as_bytes()) {
            let value = &f[field_name(f).len() + 1..];
            let text = String::from_utf8_lossy(value);
            let unfolded: String = text
                .split(['\r', '\n'])
                .map(|l| l.trim_start_matches([' ', '\t']))
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            return Some(unfolded.trim().to_string());
        }
    }
    None
}

/// Removes every header whose name satisfies `strip`; returns the message and how many were
/// removed. The body is untouched.
pub fn strip_headers(msg: &[u8], strip: impl Fn(&str) -> bool) -> (Vec<u8>, usize) {
    strip_fields(msg, |name, _| strip(name))
}

/// Removes every header field for which `strip(name, value)` holds; returns the message and
/// how many were removed. The name is given without the white space an obsolete-syntax field
/// may have before its colon (RFC 5322 §4.5.3: `Name : value`), the value as it is (folds
/// included). The body is untouched.
pub fn strip_fields(msg: &[u8], strip: impl Fn(&str, &str) -> bool) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(msg.len());
    let mut removed = 0;
    let mut pos = 0;
    for (s, e) in fields(msg) {
        let f = &msg[s..e];
        let raw_name = field_name(f);
        let name = String::from_utf8_lossy(raw_name);
        let value = String::from_utf8_lossy(f.get(raw_name.len() + 1..).unwrap_or_default());
        if strip(name.trim(), &value) {
            out.extend_from_slice(&msg[pos..s]);
            pos = e;
            removed += 1;
        }
    }
    out.extend_from_slice(&msg[pos..]);
    (out, removed)
}

/// Puts header lines (each `Name: value`, CRLF added) in front of the message.
pub fn prepend(lines: &[String], msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + lines.iter().map(|l| l.len() + 2).sum::<usize>());
    for l in lines {
        out.extend_from_slice(l.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if header_end(msg) == 0 && !msg.is_empty() {
        // No header section: keep the structure valid.
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(msg);
    out
}

/// RFC 5322 date: `Sun, 29 Nov 2026 20:15:03 +0000`.
pub fn rfc5322_date(t: OffsetDateTime) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} +0000",
        DAYS[t.weekday().number_days_from_monday() as usize],
        t.day(),
        MONTHS[u8::from(t.month()) as usize - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// What a `Received:` line records.
pub struct ReceivedInfo<'a> {
    pub helo: &'a str,
    pub peer_ip: &'a str,
    pub by: &'a str,
    pub esmtp: bool,
    /// The client authenticated with SMTP AUTH (`ESMTPA`, `ESMTPSA`: RFC 3848).
    pub authenticated: bool,
    pub tls: Option<&'a TlsFacts>,
    /// Whether a client certificate was asked for (Domain Security connectors ask).
    pub client_cert_requested: bool,
    pub id: &'a str,
    /// Set when there is exactly one recipient.
    pub for_recipient: Option<&'a str>,
    pub time: OffsetDateTime,
}

/// A certificate's common name for the `Received:` line: the CN, or the whole name when the
/// certificate has no CN.
fn cn_or<'a>(cn: &'a str, name: &'a str) -> &'a str {
    if cn.is_empty() { name } else { cn }
}

/// The `Received:` header field, folded, in Postfix's form with `smtpd_tls_received_header`.
/// Every value taken from the peer (HELO name, certificate names, TLS parameters) passes
/// through [`printable`]/[`quotable`], so nothing from outside can start a header field of its
/// own — the `X-Mailflow-Auth*` marks added next to this line could otherwise be forged.
pub fn received_header(i: &ReceivedInfo<'_>) -> String {
    let helo = if i.helo.is_empty() {
        format!("[{}]", i.peer_ip)
    } else {
        printable(i.helo).into_owned()
    };
    let mut h = format!("Received: from {helo} (unknown [{}])", i.peer_ip);
    let proto = match (i.tls.is_some(), i.esmtp, i.authenticated) {
        (true, _, true) => "ESMTPSA",
        (true, _, false) => "ESMTPS",
        (false, true, true) => "ESMTPA",
        (false, true, false) => "ESMTP",
        (false, false, _) => "SMTP",
    };
    if let Some(t) = i.tls {
        h.push_str(&format!(
            "\r\n\t(using {} with cipher {} ({}/{} bits)",
            printable(&t.version),
            printable(&t.cipher),
            t.cipher_bits,
            t.cipher_bits
        ));
        if let Some(kx) = &t.key_exchange {
            h.push_str(&format!("\r\n\t key-exchange {}", printable(kx)));
        }
        h.push(')');
        match (&t.peer_certificate, i.client_cert_requested) {
            (Some(c), _) => {
                let verified = matches!(
                    t.trust,
                    super::evidence::TrustLevel::Trusted | super::evidence::TrustLevel::Verified
                );
                h.push_str(&format!(
                    "\r\n\t(Client CN \"{}\", Issuer \"{}\" ({}))",
                    quotable(cn_or(&c.subject_cn, &c.subject)),
                    quotable(cn_or(&c.issuer_cn, &c.issuer)),
                    if verified {
                        "verified OK"
                    } else {
                        "not verified"
                    }
                ));
            }
            (None, true) => h.push_str("\r\n\t(Client did not present a certificate)"),
            (None, false) => h.push_str("\r\n\t(No client certificate requested)"),
        }
    }
    h.push_str(&format!(
        "\r\n\tby {} (Mailflow) with {proto} id {}",
        i.by, i.id
    ));
    if let Some(r) = i.for_recipient {
        h.push_str(&format!("\r\n\tfor <{}>", printable(r)));
    }
    h.push_str(&format!("; {}", rfc5322_date(i.time)));
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::evidence::{PeerCertificate, TrustLevel};
    use time::macros::datetime;

    const MSG: &[u8] = b"Subject: hello\r\n world\r\nX-Mailflow-AuthAs: Partner\r\nx-mailflow-authdomain:\r\n evil.test\r\nFrom: a@b.test\r\n\r\nX-Mailflow-AuthAs: in the body stays\r\n";

    #[test]
    fn values_unfold_and_names_are_case_insensitive() {
        assert_eq!(header_value(MSG, "subject").as_deref(), Some("hello world"));
        assert_eq!(
            header_value(MSG, "X-MAILFLOW-AUTHDOMAIN").as_deref(),
            Some("evil.test")
        );
        assert_eq!(header_value(MSG, "Message-ID"), None);
        assert_eq!(header_value(b"no header here\r\n", "Subject"), None);
    }

    #[test]
    fn stripping_removes_folded_fields_and_never_touches_the_body() {
        let (out, n) = strip_headers(MSG, |name| {
            name.to_ascii_lowercase().starts_with("x-mailflow-auth")
        });
        assert_eq!(n, 2);
        assert_eq!(out, b"Subject: hello\r\n world\r\nFrom: a@b.test\r\n\r\nX-Mailflow-AuthAs: in the body stays\r\n");
    }

    #[test]
    fn prepending_keeps_a_valid_message() {
        let out = prepend(&["X-A: 1".into()], b"Subject: s\r\n\r\nbody\r\n");
        assert_eq!(out, b"X-A: 1\r\nSubject: s\r\n\r\nbody\r\n");
        let out = prepend(&["X-A: 1".into()], b"just text\r\n");
        assert_eq!(out, b"X-A: 1\r\n\r\njust text\r\n");
    }

    #[test]
    fn received_header_in_postfix_form() {
        let t = datetime!(2026-11-29 20:15:03 UTC);
        let plain = received_header(&ReceivedInfo {
            helo: "",
            peer_ip: "127.0.0.1",
            by: "mail.contoso.test",
            esmtp: false,
            authenticated: false,
            tls: None,
            client_cert_requested: false,
            id: "abc",
            for_recipient: Some("administrator@domaene.tld"),
            time: t,
        });
        assert_eq!(
            plain,
            "Received: from [127.0.0.1] (unknown [127.0.0.1])\r\n\tby mail.contoso.test (Mailflow) with SMTP id abc\r\n\tfor <administrator@domaene.tld>; Sun, 29 Nov 2026 20:15:03 +0000"
        );
        let tls = TlsFacts {
            version: "TLSv1.3".into(),
            cipher: "TLS_AES_256_GCM_SHA384".into(),
            cipher_bits: 256,
            key_exchange: Some("X25519".into()),
            peer_certificate: Some(PeerCertificate {
                subject: "O=Woodgrove, CN=mail.woodgrove.test".into(),
                issuer: "CN=Woodgrove Root".into(),
                subject_cn: "mail.woodgrove.test".into(),
                issuer_cn: "Woodgrove Root".into(),
                thumbprint: "AB".into(),
                public_key_sha256: "CD".into(),
                names: vec!["woodgrove.test".into()],
                not_after: 0,
            }),
            trust: TrustLevel::Verified,
            trust_detail: None,
        };
        let h = received_header(&ReceivedInfo {
            helo: "mail.woodgrove.test",
            peer_ip: "127.0.0.2",
            by: "mail.contoso.test",
            esmtp: true,
            authenticated: false,
            tls: Some(&tls),
            client_cert_requested: true,
            id: "X1",
            for_recipient: None,
            time: t,
        });
        assert!(
            h.contains("(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"),
            "{h}"
        );
        assert!(
            h.contains(
                "(Client CN \"mail.woodgrove.test\", Issuer \"Woodgrove Root\" (verified OK))"
            ),
            "{h}"
        );
        assert!(h.contains("with ESMTPS id X1; Sun, 29 Nov 2026"), "{h}");
    }

    #[test]
    fn nothing_from_the_peer_can_start_a_header_field() {
        let forged = "x\r\nX-Mailflow-AuthAs: Partner\rX-Mailflow-AuthDomain: woodgrove.test";
        let mut tls = TlsFacts {
            version: "TLSv1.3".into(),
            cipher: "TLS_AES_128_GCM_SHA256".into(),
            cipher_bits: 128,
            key_exchange: Some("X25519\n".into()),
            peer_certificate: Some(PeerCertificate {
                subject: format!("CN={forged}"),
                issuer: format!("CN={forged}"),
                subject_cn: format!("{forged}\" ("),
                issuer_cn: forged.into(),
                thumbprint: "AB".into(),
                public_key_sha256: "CD".into(),
                names: Vec::new(),
                not_after: 0,
            }),
            trust: TrustLevel::Untrusted,
            trust_detail: None,
        };
        let h = received_header(&ReceivedInfo {
            helo: forged,
            peer_ip: "127.0.0.2",
            by: "mail.contoso.test",
            esmtp: true,
            authenticated: false,
            tls: Some(&tls),
            client_cert_requested: true,
            id: "X1",
            for_recipient: Some("bob@contoso.test"),
            time: datetime!(2026-11-29 20:15:03 UTC),
        });
        // The only line breaks are the folds this function makes (CRLF then TAB).
        let without_folds = h.replace("\r\n\t", " ");
        assert!(!without_folds.contains(['\r', '\n']), "{h:?}");
        assert!(h.contains("Client CN \"x??X-Mailflow-AuthAs: Partner?X-Mailflow-AuthDomain: woodgrove.test? (\""), "{h}");
        // A CN with no CN field falls back to the whole (escaped) name.
        tls.peer_certificate.as_mut().unwrap().subject_cn.clear();
        let h = received_header(&ReceivedInfo {
            helo: "",
            peer_ip: "127.0.0.2",
            by: "mail.contoso.test",
            esmtp: true,
            authenticated: false,
            tls: Some(&tls),
            client_cert_requested: true,
            id: "X1",
            for_recipient: None,
            time: datetime!(2026-11-29 20:15:03 UTC),
        });
        assert!(!h.replace("\r\n\t", " ").contains(['\r', '\n']), "{h:?}");
        // Every field added in front of the message is a field of its own.
        let msg = prepend(&[h], b"Subject: s\r\n\r\nbody\r\n");
        let fields = header_value(&msg, "X-Mailflow-AuthAs");
        assert_eq!(fields, None);
    }
}
