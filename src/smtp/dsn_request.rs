//! What the sender asked of delivery status notifications (RFC 3461): `RET` and `ENVID` on
//! MAIL FROM, `NOTIFY` and `ORCPT` on each RCPT TO; their xtext encoding (RFC 3461 §4); and the
//! one rule every notice obeys — which recipients a notice of a kind may report. Kept with the
//! queued message, passed on to a next hop that offers DSN. Pure: no I/O.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Longest `ENVID` value, in characters of its xtext (RFC 3461 §4.4).
pub const MAX_ENVID: usize = 100;
/// Longest `ORCPT` value, in characters (RFC 3461 §4.2).
pub const MAX_ORCPT: usize = 500;

/// `RET=`: what a failure notice returns of the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Ret {
    /// The whole message.
    Full,
    /// Its header only.
    Hdrs,
}

impl Ret {
    pub fn word(self) -> &'static str {
        match self {
            Ret::Full => "FULL",
            Ret::Hdrs => "HDRS",
        }
    }
}

/// `NOTIFY=`: which notices the sender wants for a recipient; all false is `NEVER`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notify {
    pub success: bool,
    pub failure: bool,
    pub delay: bool,
}

impl Notify {
    /// Without `NOTIFY`, an MTA notifies of failure and delay (RFC 3461 §4.1).
    pub const DEFAULT: Notify = Notify {
        success: false,
        failure: true,
        delay: true,
    };
    pub const NEVER: Notify = Notify {
        success: false,
        failure: false,
        delay: false,
    };

    /// Parses `NEVER` or a comma list of `SUCCESS`, `FAILURE`, `DELAY` (any case, each once).
    pub fn parse(value: &str) -> Result<Notify, String> {
        if value.eq_ignore_ascii_case("NEVER") {
            return Ok(Notify::NEVER);
        }
        let mut n = Notify::NEVER;
        for word in value.split(',') {
            let flag = match word.to_ascii_uppercase().as_str() {
                "SUCCESS" => &mut n.success,
                "FAILURE" => &mut n.failure,
                "DELAY" => &mut n.delay,
                "NEVER" => return Err("NOTIFY=NEVER cannot be combined with other values".into()),
                _ => {
                    return Err(format!(
                        "NOTIFY={value}: write NEVER or a list of SUCCESS, FAILURE, DELAY"
                    ));
                }
            };
            if *flag {
                return Err(format!("NOTIFY={value} names {word} twice"));
            }
            *flag = true;
        }
        Ok(n)
    }

    /// The parameter's value as sent on (`NEVER`, or the list).
    pub fn value(self) -> String {
        let words: Vec<&str> = [
            (self.success, "SUCCESS"),
            (self.failure, "FAILURE"),
            (self.delay, "DELAY"),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, w)| w)
        .collect();
        if words.is_empty() {
            "NEVER".into()
        } else {
            words.join(",")
        }
    }
}

/// `ORCPT=addr-type;xtext`: the recipient as the sender first wrote it, decoded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginalRecipient {
    /// `rfc822` (or another registered type), as given.
    pub addr_type: String,
    pub address: String,
}

impl OriginalRecipient {
    /// Parses the parameter's value.
    pub fn parse(value: &str) -> Result<OriginalRecipient, String> {
        if value.len() > MAX_ORCPT {
            return Err(format!("ORCPT is longer than {MAX_ORCPT} characters"));
        }
        let (ty, text) = value
            .split_once(';')
            .ok_or_else(|| format!("ORCPT={value}: write ORCPT=rfc822;<address>"))?;
        if ty.is_empty() || !ty.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(format!(
                "ORCPT={value}: the address type {ty:?} is not valid"
            ));
        }
        let address = xtext_decode(text).map_err(|why| format!("ORCPT={value}: {why}"))?;
        if address.is_empty() {
            return Err(format!("ORCPT={value}: the address is empty"));
        }
        Ok(OriginalRecipient {
            addr_type: ty.to_string(),
            address,
        })
    }

    /// The parameter's value as sent on.
    pub fn value(&self) -> String {
        format!("{};{}", self.addr_type, xtext_encode(&self.address))
    }

    /// The DSN field's value (`rfc822;bob@example.com`).
    pub fn field(&self) -> String {
        format!("{};{}", self.addr_type, self.address)
    }
}

/// The DSN parameters of one recipient.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientDsn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<Notify>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orcpt: Option<OriginalRecipient>,
}

impl RecipientDsn {
    pub fn is_empty(&self) -> bool {
        self.notify.is_none() && self.orcpt.is_none()
    }
}

/// What a notice reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeFor {
    Failure,
    Delay,
    /// Delivered here, or relayed to a next hop that does not speak DSN.
    Success,
}

/// The DSN request of a message: `RET`, `ENVID`, and each recipient's `NOTIFY`/`ORCPT`
/// (recipients without either are not listed).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DsnRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ret: Option<Ret>,
    /// Decoded from xtext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envid: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub recipients: BTreeMap<String, RecipientDsn>,
}

impl DsnRequest {
    pub fn is_empty(&self) -> bool {
        self.ret.is_none() && self.envid.is_none() && self.recipients.is_empty()
    }

    /// What the sender asked for `recipient` (the default when nothing).
    pub fn notify(&self, recipient: &str) -> Notify {
        self.recipients
            .get(recipient)
            .and_then(|r| r.notify)
            .unwrap_or(Notify::DEFAULT)
    }

    /// Whether a notice of `kind` may report `recipient`: the one rule every notice obeys.
    pub fn wants(&self, recipient: &str, kind: NoticeFor) -> bool {
        let n = self.notify(recipient);
        match kind {
            NoticeFor::Failure => n.failure,
            NoticeFor::Delay => n.delay,
            NoticeFor::Success => n.success,
        }
    }

    pub fn orcpt(&self, recipient: &str) -> Option<&OriginalRecipient> {
        self.recipients
            .get(recipient)
            .and_then(|r| r.orcpt.as_ref())
    }

    /// `RET` and `ENVID` for the next hop's MAIL FROM (with their leading spaces).
    pub fn mail_params(&self) -> String {
        let mut s = String::new();
        if let Some(r) = self.ret {
            s.push_str(&format!(" RET={}", r.word()));
        }
        if let Some(e) = &self.envid {
            s.push_str(&format!(" ENVID={}", xtext_encode(e)));
        }
        s
    }

    /// `NOTIFY` and `ORCPT` for the next hop's RCPT TO (with their leading spaces). Without an
    /// ORCPT of the sender's, the address as it reached us is given as the original recipient,
    /// as Postfix does, so a notice from further on names the address the sender used.
    pub fn rcpt_params(&self, recipient: &str) -> String {
        let mut s = String::new();
        let r = self.recipients.get(recipient);
        if let Some(n) = r.and_then(|r| r.notify) {
            s.push_str(&format!(" NOTIFY={}", n.value()));
        }
        let orcpt = r
            .and_then(|r| r.orcpt.clone())
            .unwrap_or_else(|| OriginalRecipient {
                addr_type: "rfc822".into(),
                address: recipient.to_string(),
            });
        s.push_str(&format!(" ORCPT={}", orcpt.value()));
        s
    }
}

/// Decodes xtext (RFC 3461 §4): printable ASCII but `+` and `=`, and `+XX` for any octet.
pub fn xtext_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .filter(|h| {
                        h.bytes()
                            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
                    })
                    .ok_or_else(|| {
                        "a '+' must be followed by two upper-case hex digits".to_string()
                    })?;
                let octet = u8::from_str_radix(hex, 16).map_err(|e| e.to_string())?;
                out.push(octet);
                i += 3;
            }
            b'=' => return Err("'=' must be written +3D".into()),
            b @ 33..=126 => {
                out.push(b);
                i += 1;
            }
            b => return Err(format!("the octet {b:#04x} must be written as +XX")),
        }
    }
    let s = String::from_utf8(out).map_err(|_| "the decoded value is not UTF-8".to_string())?;
    if s.chars().any(char::is_control) {
        return Err("the decoded value contains control characters".into());
    }
    Ok(s)
}

/// Encodes xtext: `+`, `=`, space, controls and non-ASCII become `+XX`.
pub fn xtext_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if (33..=126).contains(&b) && b != b'+' && b != b'=' {
            out.push(b as char);
        } else {
            out.push_str(&format!("+{b:02X}"));
        }
    }
    out
}

/// Parses an `ENVID` value.
pub fn parse_envid(value: &str) -> Result<String, String> {
    if value.len() > MAX_ENVID {
        return Err(format!("ENVID is longer than {MAX_ENVID} characters"));
    }
    xtext_decode(value).map_err(|why| format!("ENVID={value}: {why}"))
}

/// Parses a `RET` value.
pub fn parse_ret(value: &str) -> Result<Ret, String> {
    match value.to_ascii_uppercase().as_str() {
        "FULL" => Ok(Ret::Full),
        "HDRS" => Ok(Ret::Hdrs),
        _ => Err(format!("RET={value}: write RET=FULL or RET=HDRS")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xtext_round_trips_and_refuses_what_it_must() {
        for s in [
            "bob@example.com",
            "a+b=c@x.test",
            "space here",
            "é@x.test",
            "",
        ] {
            assert_eq!(xtext_decode(&xtext_encode(s)).unwrap(), s, "{s}");
        }
        assert_eq!(xtext_encode("a+b=c"), "a+2Bb+3Dc");
        assert_eq!(xtext_decode("a+2Bb").unwrap(), "a+b");
        for bad in ["a=b", "a+2", "a+zz", "a+2b", "a b", "+0D+0A"] {
            assert!(xtext_decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn notify_parses_never_alone_and_each_word_once() {
        assert_eq!(Notify::parse("never").unwrap(), Notify::NEVER);
        let n = Notify::parse("SUCCESS,delay").unwrap();
        assert!(n.success && n.delay && !n.failure);
        assert_eq!(n.value(), "SUCCESS,DELAY");
        assert_eq!(Notify::NEVER.value(), "NEVER");
        for bad in [
            "NEVER,SUCCESS",
            "SUCCESS,NEVER",
            "SUCCESS,SUCCESS",
            "",
            "SOON",
            "SUCCESS,",
        ] {
            assert!(Notify::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn orcpt_is_decoded_and_encoded_again() {
        let o = OriginalRecipient::parse("rfc822;a+2Bb@x.test").unwrap();
        assert_eq!(o.address, "a+b@x.test");
        assert_eq!(o.field(), "rfc822;a+b@x.test");
        assert_eq!(o.value(), "rfc822;a+2Bb@x.test");
        for bad in [
            "bob@x.test",
            ";bob@x.test",
            "rfc822;",
            "rfc 822;a@x",
            "rfc822;a=b",
        ] {
            assert!(OriginalRecipient::parse(bad).is_err(), "{bad}");
        }
        assert!(OriginalRecipient::parse(&format!("rfc822;{}", "a".repeat(500))).is_err());
    }

    #[test]
    fn which_notices_a_recipient_gets() {
        let mut req = DsnRequest::default();
        req.recipients.insert(
            "never@x.test".into(),
            RecipientDsn {
                notify: Some(Notify::NEVER),
                orcpt: None,
            },
        );
        req.recipients.insert(
            "success@x.test".into(),
            RecipientDsn {
                notify: Some(Notify::parse("SUCCESS").unwrap()),
                orcpt: None,
            },
        );
        let table = [
            ("plain@x.test", NoticeFor::Failure, true),
            ("plain@x.test", NoticeFor::Delay, true),
            ("plain@x.test", NoticeFor::Success, false),
            ("never@x.test", NoticeFor::Failure, false),
            ("never@x.test", NoticeFor::Delay, false),
            ("never@x.test", NoticeFor::Success, false),
            ("success@x.test", NoticeFor::Failure, false),
            ("success@x.test", NoticeFor::Delay, false),
            ("success@x.test", NoticeFor::Success, true),
        ];
        for (rcpt, kind, wanted) in table {
            assert_eq!(req.wants(rcpt, kind), wanted, "{rcpt} {kind:?}");
        }
    }

    #[test]
    fn parameters_are_passed_on_encoded() {
        let mut req = DsnRequest {
            ret: Some(Ret::Hdrs),
            envid: Some("QQ 314+1".into()),
            ..Default::default()
        };
        assert_eq!(req.mail_params(), " RET=HDRS ENVID=QQ+20314+2B1");
        req.recipients.insert(
            "bob@x.test".into(),
            RecipientDsn {
                notify: Some(Notify::parse("SUCCESS,FAILURE").unwrap()),
                orcpt: Some(OriginalRecipient::parse("rfc822;Bob+2Bold@x.test").unwrap()),
            },
        );
        assert_eq!(
            req.rcpt_params("bob@x.test"),
            " NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob+2Bold@x.test"
        );
        assert_eq!(
            req.rcpt_params("carol@x.test"),
            " ORCPT=rfc822;carol@x.test"
        );
        assert_eq!(DsnRequest::default().mail_params(), "");
    }

    #[test]
    fn envid_and_ret_are_checked() {
        assert_eq!(parse_envid("abc+2B").unwrap(), "abc+");
        assert!(parse_envid(&"a".repeat(101)).is_err());
        assert_eq!(parse_ret("full").unwrap(), Ret::Full);
        assert!(parse_ret("BODY").is_err());
    }
}
