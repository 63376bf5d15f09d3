//! The header firewall (Exchange's word for it): header fields that a server behind us trusts
//! because they say who the sender is, removed from every message that does not come from one
//! of our own servers (Direct Trust), before our own marks are added:
//!
//! - `X-Mailflow-*`: our own Domain Secure marks (`X-Mailflow-AuthAs: Partner`, …);
//! - `X-MS-Exchange-Organization-*`: Exchange's organization fields (AuthAs, AuthDomain,
//!   AuthMechanism, AuthSource, SCL, …), which an Exchange server behind us trusts from a server
//!   it trusts — us — exactly as Exchange's own Edge Transport strips them at the border;
//! - `Authentication-Results` whose authserv-id claims our organization (our host names, our
//!   accepted domains or a name below them): RFC 8601 §5 requires a border MTA to remove them,
//!   since only we may speak for our own ADMD. Results of other ADMDs are kept.
//!
//! Names compare case-insensitively and with the white space an obsolete-syntax field may have
//! before its colon (`X-Mailflow-AuthAs : Partner`). A header block whose first line is not a
//! field at all is passed on as body (see [`crate::smtp::headers::header_end`]) and can mark
//! nothing. Pure: the caller says whether the sender is one of our servers.

use crate::config::domain;
use crate::smtp::headers;

/// Field name prefixes only our organization writes.
const ORGANIZATION_PREFIXES: [&str; 2] = ["x-mailflow-", "x-ms-exchange-organization-"];

/// Whether a field of this name says something only our organization may say.
pub fn is_organization_field(name: &str) -> bool {
    let n = name.trim().to_ascii_lowercase();
    ORGANIZATION_PREFIXES.iter().any(|p| n.starts_with(p))
}

/// The authserv-id of an `Authentication-Results` value (RFC 8601 §2.2: `[CFWS] authserv-id`,
/// a token or a quoted-string), or `None` when there is none to read.
pub fn authserv_id(value: &str) -> Option<String> {
    let mut chars = value.chars().peekable();
    // Skip folding white space and comments (nested, with quoted pairs: RFC 5322 §3.2.2).
    loop {
        match chars.peek() {
            Some(c) if c.is_whitespace() => {
                chars.next();
            }
            Some('(') => {
                let mut depth = 0usize;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '(' => depth += 1,
                        ')' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => break,
        }
    }
    let mut id = String::new();
    if chars.peek() == Some(&'"') {
        chars.next();
        while let Some(c) = chars.next() {
            match c {
                '\\' => id.extend(chars.next()),
                '"' => break,
                '\r' | '\n' => {}
                c => id.push(c),
            }
        }
    } else {
        // RFC 2045 token: up to white space, a comment or a tspecial.
        id = chars
            .take_while(|c| !c.is_whitespace() && !"()<>@,;:\\\"/[]?=".contains(*c))
            .collect();
    }
    let id = id.trim().to_string();
    (!id.is_empty()).then_some(id)
}

/// Whether `id` names our organization: one of `own` (host names and accepted domains) or a
/// name below one of them, compared case-insensitively as domain names.
pub fn claims_own(id: &str, own: &[String]) -> bool {
    let Ok(id) = domain::normalize(id) else {
        return false;
    };
    own.iter()
        .filter_map(|o| domain::normalize(o).ok())
        .any(|o| id == o || id.ends_with(&format!(".{o}")))
}

/// Whether the firewall removes this field from a sender that is not one of our servers.
pub fn is_forged(name: &str, value: &str, own: &[String]) -> bool {
    is_organization_field(name)
        || (name.trim().eq_ignore_ascii_case("Authentication-Results")
            && authserv_id(value).is_some_and(|id| claims_own(&id, own)))
}

/// The message with every field a sender outside our organization may not write removed, and
/// how many were removed. `own` lists our host names and accepted domains (the authserv-ids
/// that are ours). The body is untouched.
pub fn strip_forged(msg: &[u8], own: &[String]) -> (Vec<u8>, usize) {
    headers::strip_fields(msg, |name, value| is_forged(name, value, own))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::headers::{header_end, prepend};

    fn own() -> Vec<String> {
        vec!["mail.contoso.test".into(), "contoso.test".into()]
    }

    /// Our marks put in front, as the relay does after the firewall.
    fn relayed(msg: &str) -> String {
        let (out, _) = strip_forged(msg.as_bytes(), &own());
        let marked = prepend(
            &[
                "Received: from x by mail.contoso.test".into(),
                "X-Mailflow-AuthAs: Anonymous-ours".into(),
            ],
            &out,
        );
        String::from_utf8(marked).unwrap()
    }

    /// The header section as a lenient reader sees it: every field's name (white space before
    /// the colon dropped, continuation lines joined), lower-case, with its unfolded value.
    fn lenient_fields(msg: &str) -> Vec<(String, String)> {
        let head = &msg[..header_end(msg.as_bytes())];
        let mut out: Vec<(String, String)> = Vec::new();
        for line in head.split('\n') {
            let line = line.trim_end_matches('\r');
            if line.is_empty() {
                continue;
            }
            if line.starts_with([' ', '\t']) {
                if let Some(last) = out.last_mut() {
                    last.1.push_str(line);
                }
                continue;
            }
            match line.split_once(':') {
                Some((n, v)) => out.push((n.trim().to_ascii_lowercase(), v.to_string())),
                None => out.push((line.trim().to_ascii_lowercase(), String::new())),
            }
        }
        out
    }

    /// The firewall over forgeries in every syntax a reader might still take for a field: each
    /// row is a message from outside; none of its trust fields may reach the header section.
    #[test]
    fn no_forgery_reaches_the_header_section() {
        let rows = [
            "X-MS-Exchange-Organization-AuthAs: Internal\r\nSubject: s\r\n\r\nbody\r\n",
            "Subject: s\r\nX-MS-Exchange-Organization-AuthAs: Internal\r\nX-MS-Exchange-Organization-AuthSource: ex01.contoso.test\r\nX-MS-Exchange-Organization-AuthMechanism: 04\r\nX-MS-Exchange-Organization-AuthDomain: contoso.test\r\nX-MS-Exchange-Organization-SCL: -1\r\n\r\nbody\r\n",
            "Subject: s\r\nx-ms-exchange-organization-authas: Internal\r\n\r\n",
            "Subject: s\r\nX-MS-EXCHANGE-ORGANIZATION-AUTHAS: Internal\r\n\r\n",
            // Folded values, CRLF and bare LF, space and tab.
            "Subject: s\r\nX-MS-Exchange-Organization-AuthAs:\r\n Internal\r\n\r\n",
            "Subject: s\nX-Mailflow-AuthAs:\n\tPartner\nX-Mailflow-AuthDomain:\n  woodgrove.test\n\n",
            // Obsolete syntax: white space before the colon, first or later in the block.
            "X-Mailflow-AuthAs : Partner\r\nSubject: s\r\n\r\n",
            "X-Mailflow-AuthAs\t: Partner\r\nSubject: s\r\n\r\n",
            "Subject: s\r\nX-Mailflow-AuthAs : Partner\r\nX-MS-Exchange-Organization-AuthAs\t: Internal\r\n\r\n",
            // The colon on a continuation line.
            "Subject: s\r\nX-MS-Exchange-Organization-AuthAs\r\n : Internal\r\n\r\n",
            // A block that is no header at all (passed on as body).
            " X-Mailflow-AuthAs: Partner\r\n\r\n",
            "\r\nX-Mailflow-AuthAs: Partner\r\n\r\n",
            // Our own authserv-id, in the forms RFC 8601 allows.
            "Subject: s\r\nAuthentication-Results: mail.contoso.test; dkim=pass header.d=contoso.test\r\n\r\n",
            "Subject: s\r\nauthentication-results: (from our border) CONTOSO.TEST. 1; spf=pass\r\n\r\n",
            "Subject: s\r\nAuthentication-Results: \"contoso.test\";\r\n\tdmarc=pass\r\n\r\n",
            "Subject: s\r\nAuthentication-Results:\r\n ex01.contoso.test;\r\n spf=pass smtp.mailfrom=ceo@contoso.test\r\n\r\n",
            "Subject: s\r\nAuthentication-Results : contoso.test; arc=pass\r\n\r\n",
        ];
        for msg in rows {
            let out = relayed(msg);
            for (name, value) in lenient_fields(&out) {
                let ours = name == "received" || value == " Anonymous-ours";
                assert!(
                    ours || !(is_organization_field(&name)
                        || name.starts_with("x-mailflow")
                        || name.starts_with("x-ms-exchange-organization")
                        || name == "authentication-results"),
                    "a forged field survived: {name}:{value}\n{out:?}"
                );
            }
        }
    }

    #[test]
    fn what_is_stripped_and_what_is_kept() {
        let msg = "Received: from a\r\nAuthentication-Results: mx.fabrikam.test; spf=pass\r\nAuthentication-Results: contoso.test; spf=pass\r\nAuthentication-Results: mail.contoso.test.evil.test; spf=pass\r\nX-MS-Exchange-Organization-SCL: -1\r\nX-MS-Exchange-Forest-Hint: kept\r\nX-Mailflowish: kept\r\nSubject: s\r\n\r\nX-MS-Exchange-Organization-AuthAs: Internal (in the body)\r\nAuthentication-Results: contoso.test; (in the body)\r\n";
        let (out, n) = strip_forged(msg.as_bytes(), &own());
        assert_eq!(n, 2);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Received: from a\r\nAuthentication-Results: mx.fabrikam.test; spf=pass\r\nAuthentication-Results: mail.contoso.test.evil.test; spf=pass\r\nX-MS-Exchange-Forest-Hint: kept\r\nX-Mailflowish: kept\r\nSubject: s\r\n\r\nX-MS-Exchange-Organization-AuthAs: Internal (in the body)\r\nAuthentication-Results: contoso.test; (in the body)\r\n"
        );
    }

    #[test]
    fn authserv_ids_are_read_as_rfc_8601_writes_them() {
        for (value, want) in [
            (" mail.contoso.test; spf=pass", Some("mail.contoso.test")),
            (" mail.contoso.test 1; spf=pass", Some("mail.contoso.test")),
            (
                " (a (nested) comment \\) ) contoso.test;",
                Some("contoso.test"),
            ),
            ("\r\n\tcontoso.test;\r\n\tspf=pass", Some("contoso.test")),
            (" \"contoso.test\"; none", Some("contoso.test")),
            (" contoso.test;none", Some("contoso.test")),
            (" ; none", None),
            ("", None),
        ] {
            assert_eq!(authserv_id(value).as_deref(), want, "{value:?}");
        }
        assert!(claims_own("Contoso.Test.", &own()));
        assert!(claims_own("ex01.contoso.test", &own()));
        assert!(!claims_own("evilcontoso.test", &own()));
        assert!(!claims_own("contoso.test.evil.test", &own()));
        assert!(!claims_own("not a name", &own()));
    }
}
