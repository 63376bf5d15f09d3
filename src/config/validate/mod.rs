//! `validate()`: every rule the settings must obey, each problem reported with the path of the
//! field it concerns, and — when there is none — the checked, resolved form the engine runs
//! (parsed bindings, IP ranges, smart hosts, normalised domain lists). The rules follow
//! Exchange's cmdlet validation (Set-ReceiveConnector, Set-SendConnector, Set-TransportConfig).
//! One file per concern: `transport` (organization, accepted domains, transport settings),
//! `receive` and `send` connectors, `trust` (Direct Trust, partner anchors and pins);
//! this file holds the problem list, the checked form and the checks they share.

mod receive;
mod send;
mod transport;
mod trust;

pub use receive::CheckedReceiveConnector;
pub use send::CheckedSendConnector;
pub use transport::is_valid_local_part;
pub use trust::normalize_hex;

use super::domain;
use super::model::*;
use super::units::{ByteSize, TimeSpan};
use std::collections::{BTreeSet, HashMap};
use std::fmt;

/// One thing wrong with the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Field path by index, e.g. `receive_connectors[0].banner`; stable for the console.
    pub path: String,
    /// The same place in words, e.g. `receive connector 'Default', banner`.
    pub place: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

/// All problems found; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

impl Problems {
    /// The problems concerning one field path (or anything below it).
    pub fn at<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a Problem> + 'a {
        self.0.iter().filter(move |p| {
            p.path == path
                || p.path
                    .strip_prefix(path)
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        })
    }
}

/// Settings that passed every rule, with their parsed forms.
#[derive(Debug, Clone)]
pub struct CheckedSettings {
    pub settings: Settings,
    pub fqdn: String,
    /// Normalised accepted domains (lower case A-labels).
    pub accepted_domains: BTreeSet<String>,
    pub send_domain_secure: BTreeSet<String>,
    pub receive_domain_secure: BTreeSet<String>,
    /// [`Settings::partner_domains`].
    pub partner_domains: BTreeSet<String>,
    /// The DNS servers of MX routing; empty: the system's.
    pub dns_servers: Vec<std::net::SocketAddr>,
    pub receive_connectors: Vec<CheckedReceiveConnector>,
    pub send_connectors: Vec<CheckedSendConnector>,
}

/// Bounds, as Exchange sets them.
pub const MIN_MESSAGE_SIZE: ByteSize = ByteSize::kb(64);
pub const MAX_MESSAGE_SIZE: ByteSize = ByteSize(2 * ByteSize::GB);
pub const MAX_RECIPIENTS: u32 = 512_000;
pub const MAX_NAME_LEN: usize = 64;

pub(super) struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    pub(super) fn add(
        &mut self,
        path: impl Into<String>,
        place: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.problems.push(Problem {
            path: path.into(),
            place: place.into(),
            message: message.into(),
        });
    }

    pub(super) fn domain_list(
        &mut self,
        list: &[String],
        path: &str,
        place: &str,
    ) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for (i, entry) in list.iter().enumerate() {
            let p = format!("{path}[{i}]");
            if entry.contains('*') {
                self.add(
                    p,
                    place,
                    format!(
                        "'{entry}': wildcards are not allowed in the domain secure lists; list each partner domain by name"
                    ),
                );
                continue;
            }
            match domain::normalize(entry) {
                Ok(d) => {
                    if !out.insert(d.clone()) {
                        self.add(p, place, format!("'{d}' is listed twice"));
                    }
                }
                Err(e) => self.add(p, place, e.to_string()),
            }
        }
        out
    }

    pub(super) fn span_between(
        &mut self,
        value: TimeSpan,
        min: TimeSpan,
        max: TimeSpan,
        path: String,
        place: String,
    ) {
        if value < min || value > max {
            self.add(
                path,
                place,
                format!("{value} is outside the allowed range {min} to {max}"),
            );
        }
    }

    /// A connector's own FQDN, normalised, or the organization's when it has none.
    pub(super) fn connector_fqdn(
        &mut self,
        own: Option<&str>,
        organization: &str,
        path: String,
        place: String,
    ) -> String {
        match own {
            Some(f) => match domain::normalize(f) {
                Ok(n) => n,
                Err(e) => {
                    self.add(path, place, e.to_string());
                    String::new()
                }
            },
            None => organization.to_string(),
        }
    }

    /// A connector's maximum message size, within Exchange's bounds.
    pub(super) fn message_size(&mut self, size: ByteSize, path: String, place: String) {
        if !(MIN_MESSAGE_SIZE..=MAX_MESSAGE_SIZE).contains(&size) {
            self.add(
                path,
                place,
                format!(
                    "{size} is outside the allowed range {MIN_MESSAGE_SIZE} to {MAX_MESSAGE_SIZE}"
                ),
            );
        }
    }

    /// A connector's certificate: automatic, or a well-formed thumbprint.
    pub(super) fn certificate(
        &mut self,
        choice: &CertificateSelection,
        path: String,
        place: String,
    ) {
        if let CertificateSelection::Thumbprint(tp) = choice {
            self.pin(&Pin::Thumbprint(tp.clone()), path, place);
        }
    }

    pub(super) fn pin(&mut self, pin: &Pin, path: String, place: String) {
        let (text, want, what) = match pin {
            Pin::Thumbprint(t) => (t, 40, "a thumbprint is 40 hexadecimal digits (SHA-1)"),
            Pin::PublicKeySha256(t) => (t, 64, "a public-key SHA-256 is 64 hexadecimal digits"),
        };
        let digits: String = text.chars().filter(|c| *c != ':' && *c != ' ').collect();
        if digits.len() != want || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            self.add(path, place, format!("'{text}' is not a valid pin: {what}"));
        }
    }
}

pub(super) fn check_name(
    c: &mut Checker,
    name: &str,
    path: String,
    place: &str,
    seen: &mut HashMap<String, usize>,
) {
    if name.trim().is_empty() {
        c.add(path, place, "a connector needs a name");
    } else if name.len() > MAX_NAME_LEN {
        c.add(
            path,
            place,
            format!("the name is longer than {MAX_NAME_LEN} characters"),
        );
    } else if name
        .chars()
        .any(|ch| ch.is_control() || ch == ',' || ch == '"')
    {
        c.add(
            path,
            place,
            "the name must not contain commas, quotes or control characters",
        );
    } else {
        let key = name.to_lowercase();
        if let Some(first) = seen.get(&key) {
            c.add(
                path,
                place,
                format!(
                    "the name '{name}' is already used by connector #{}",
                    first + 1
                ),
            );
        } else {
            seen.insert(key, seen.len());
        }
    }
}

/// Checks every rule; returns all problems, or the checked settings.
pub fn validate(settings: &Settings) -> Result<CheckedSettings, Problems> {
    let mut c = Checker {
        problems: Vec::new(),
    };

    if settings.version != SETTINGS_VERSION {
        c.add(
            "version",
            "settings version",
            format!(
                "version {} is not understood by this Mailflow (it writes version {SETTINGS_VERSION})",
                settings.version
            ),
        );
    }

    let fqdn = transport::organization(&mut c, settings);
    let accepted = transport::accepted_domains(&mut c, settings);
    let lists = transport::transport(&mut c, settings);
    let checked_receive = receive::check(&mut c, settings, &fqdn);
    let checked_send = send::check(&mut c, settings, &fqdn);
    trust::check(&mut c, settings);

    if !c.problems.is_empty() {
        return Err(Problems(c.problems));
    }
    Ok(CheckedSettings {
        settings: settings.clone(),
        fqdn,
        accepted_domains: accepted,
        send_domain_secure: lists.send,
        receive_domain_secure: lists.receive,
        partner_domains: settings.partner_domains(),
        dns_servers: lists.dns_servers,
        receive_connectors: checked_receive,
        send_connectors: checked_send,
    })
}

#[cfg(test)]
mod tests;
