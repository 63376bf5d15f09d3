//! Mail addresses as SMTP carries them (RFC 5321 §4.1.2): a mailbox `local@domain` and the
//! reverse path, which may be null (`<>`, used by bounces). Parsing is lenient where real
//! clients are (no angle brackets, as typed in Telnet) and strict about what the address is.

use crate::config::domain;
use serde::{Deserialize, Serialize};
use std::fmt;

/// `local@domain`; the domain normalised (lower case, A-labels), the local part as given.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Mailbox {
    pub local: String,
    pub domain: String,
}

/// Why an address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AddressError(pub String);

impl Mailbox {
    /// Parses `local@domain`, `"quoted local"@domain` or `local@[192.0.2.1]`.
    pub fn parse(text: &str) -> Result<Mailbox, AddressError> {
        let bad = |why: &str| AddressError(format!("<{text}> is not a valid address: {why}"));
        let at = text.rfind('@').ok_or_else(|| bad("it has no @domain"))?;
        let (local, dom) = (&text[..at], &text[at + 1..]);
        if local.is_empty() {
            return Err(bad("the part before @ is empty"));
        }
        if local.len() > 64 {
            return Err(bad("the part before @ is longer than 64 octets"));
        }
        if local.starts_with('"') {
            if !(local.len() >= 2 && local.ends_with('"')) {
                return Err(bad("an unterminated quoted local part"));
            }
            if local[1..local.len() - 1]
                .chars()
                .any(|c| c.is_control() && c != '\t')
            {
                return Err(bad("control characters in the local part"));
            }
        } else if !crate::config::validate::is_valid_local_part(local) {
            return Err(bad("the part before @ has characters not allowed there"));
        }
        let domain = if let Some(lit) = dom.strip_prefix('[') {
            let inner = lit
                .strip_suffix(']')
                .ok_or_else(|| bad("an unterminated address literal"))?;
            let ip_text = inner.strip_prefix("IPv6:").unwrap_or(inner);
            ip_text
                .parse::<std::net::IpAddr>()
                .map_err(|_| bad("the address literal is not an IP address"))?;
            format!("[{inner}]")
        } else {
            domain::normalize(dom).map_err(|e| bad(&e.why))?
        };
        Ok(Mailbox {
            local: local.to_string(),
            domain,
        })
    }

    /// `postmaster` (without domain) is always accepted as a recipient (RFC 5321 §4.5.1).
    pub fn is_postmaster(&self) -> bool {
        self.local.eq_ignore_ascii_case("postmaster")
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local, self.domain)
    }
}

/// The MAIL FROM address: a mailbox, or null for notifications.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReversePath {
    Null,
    Mailbox(Mailbox),
}

impl ReversePath {
    pub fn mailbox(&self) -> Option<&Mailbox> {
        match self {
            ReversePath::Null => None,
            ReversePath::Mailbox(m) => Some(m),
        }
    }
    pub fn domain(&self) -> Option<&str> {
        self.mailbox().map(|m| m.domain.as_str())
    }
}

impl fmt::Display for ReversePath {
    /// The address without brackets; empty for the null path.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReversePath::Null => Ok(()),
            ReversePath::Mailbox(m) => write!(f, "{m}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_and_normalise_the_domain() {
        let m = Mailbox::parse("Administrator@Domaene.TLD").unwrap();
        assert_eq!(
            (m.local.as_str(), m.domain.as_str()),
            ("Administrator", "domaene.tld")
        );
        assert_eq!(m.to_string(), "Administrator@domaene.tld");
        assert!(Mailbox::parse("\"john doe\"@contoso.test").is_ok());
        assert_eq!(
            Mailbox::parse("a@[127.0.0.1]").unwrap().domain,
            "[127.0.0.1]"
        );
        assert!(Mailbox::parse("a@[IPv6:::1]").is_ok());
        assert!(Mailbox::parse("postmaster@x.test").unwrap().is_postmaster());
    }

    #[test]
    fn bad_addresses_say_why() {
        for (text, why) in [
            ("nodomain", "no @domain"),
            ("@x.test", "empty"),
            ("a b@x.test", "not allowed"),
            ("a@bad domain", "letters, digits"),
            ("a@[999.1.1.1]", "not an IP"),
            ("\"open@x.test", "unterminated"),
        ] {
            let e = Mailbox::parse(text).unwrap_err().0;
            assert!(e.contains(why), "{text}: {e}");
        }
    }
}
