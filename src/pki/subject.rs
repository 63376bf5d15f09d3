//! Subject names built from the relative distinguished names of Table 1 of the reference
//! article — C, DC, S (ST), L, O, OU, CN — each with its string type, maximum size, count and
//! order. Parses Exchange-style strings (`DC=msft,dc=nwtraders,CN=W2K3`, keys case-insensitive,
//! values quoted or with `\,` escapes) and encodes the name in DER with repeated DC and OU
//! values kept, in order.

use super::der::{object_id, oid};
use super::error::{PkiError, Result};
use std::fmt;

/// A kind of relative distinguished name, in Table 1's order.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum RdnKind {
    C,
    DC,
    S,
    L,
    O,
    OU,
    CN,
}

impl RdnKind {
    pub const ALL: [RdnKind; 7] = [
        RdnKind::C,
        RdnKind::DC,
        RdnKind::S,
        RdnKind::L,
        RdnKind::O,
        RdnKind::OU,
        RdnKind::CN,
    ];

    /// The abbreviation written in subject strings.
    pub fn key(self) -> &'static str {
        match self {
            RdnKind::C => "C",
            RdnKind::DC => "DC",
            RdnKind::S => "S",
            RdnKind::L => "L",
            RdnKind::O => "O",
            RdnKind::OU => "OU",
            RdnKind::CN => "CN",
        }
    }

    /// Table 1's name.
    pub fn title(self) -> &'static str {
        match self {
            RdnKind::C => "Country/Region",
            RdnKind::DC => "Domain Component",
            RdnKind::S => "State or Province",
            RdnKind::L => "Locality",
            RdnKind::O => "Organization",
            RdnKind::OU => "Organizational Unit",
            RdnKind::CN => "Common Name",
        }
    }

    /// Maximum size in characters.
    pub fn max_len(self) -> usize {
        match self {
            RdnKind::C => 2,
            RdnKind::DC => 255,
            RdnKind::S | RdnKind::L => 128,
            RdnKind::O | RdnKind::OU | RdnKind::CN => 64,
        }
    }

    /// How many may appear (None = many).
    pub fn max_count(self) -> Option<usize> {
        match self {
            RdnKind::C | RdnKind::S | RdnKind::L | RdnKind::O => Some(1),
            RdnKind::DC | RdnKind::OU | RdnKind::CN => None,
        }
    }

    /// Position in the subject (Table 1, "Order in subject"): C and DC first, CN last.
    pub fn order(self) -> u8 {
        match self {
            RdnKind::C | RdnKind::DC => 1,
            RdnKind::S => 2,
            RdnKind::L => 3,
            RdnKind::O => 4,
            RdnKind::OU => 5,
            RdnKind::CN => 6,
        }
    }

    /// Only ASCII allowed (C and DC); the others are Unicode.
    pub fn ascii_only(self) -> bool {
        matches!(self, RdnKind::C | RdnKind::DC)
    }

    pub fn oid(self) -> &'static [u64] {
        match self {
            RdnKind::C => oid::COUNTRY,
            RdnKind::DC => oid::DOMAIN_COMPONENT,
            RdnKind::S => oid::STATE,
            RdnKind::L => oid::LOCALITY,
            RdnKind::O => oid::ORGANIZATION,
            RdnKind::OU => oid::ORG_UNIT,
            RdnKind::CN => oid::COMMON_NAME,
        }
    }

    /// Reads a key as typed: case-insensitive, `ST` for S.
    pub fn from_key(key: &str) -> Option<RdnKind> {
        match key.trim().to_ascii_uppercase().as_str() {
            "C" => Some(RdnKind::C),
            "DC" => Some(RdnKind::DC),
            "S" | "ST" => Some(RdnKind::S),
            "L" => Some(RdnKind::L),
            "O" => Some(RdnKind::O),
            "OU" => Some(RdnKind::OU),
            "CN" => Some(RdnKind::CN),
            _ => None,
        }
    }

    /// Checks one value against this kind's string type and size.
    pub fn check_value(self, value: &str) -> std::result::Result<(), String> {
        let key = self.key();
        if value.is_empty() {
            return Err(format!("{key} is empty"));
        }
        if value.chars().any(char::is_control) {
            return Err(format!("{key} must not contain control characters"));
        }
        if value.trim() != value {
            return Err(format!(
                "{key}={value}: remove the spaces at the start or end"
            ));
        }
        let len = value.chars().count();
        if self == RdnKind::C && (len != 2 || !value.chars().all(|c| c.is_ascii_alphabetic())) {
            return Err(format!(
                "C={value}: a country is a two-letter ISO 3166 code such as US or DE (maximum size 2)"
            ));
        }
        if len > self.max_len() {
            return Err(format!(
                "{key}={value} is {len} characters long; the maximum for {} is {}",
                self.title(),
                self.max_len()
            ));
        }
        if self == RdnKind::DC
            && !value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "DC={value}: a domain component is one ASCII label (letters, digits, hyphens), e.g. DC=contoso,DC=com"
            ));
        }
        Ok(())
    }
}

impl fmt::Display for RdnKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// One relative distinguished name.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rdn {
    pub kind: RdnKind,
    pub value: String,
}

/// A checked subject name; RDNs in the order they are encoded (C/DC first, CN last).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Subject {
    rdns: Vec<Rdn>,
}

impl Subject {
    /// Checks a list of RDNs against Table 1 and builds the subject.
    pub fn new(rdns: Vec<Rdn>) -> Result<Subject> {
        if rdns.is_empty() {
            return Err(PkiError::Subject(
                "the subject is empty: give at least CN=<server name>".into(),
            ));
        }
        let mut last_order = 0;
        let mut last_kind = RdnKind::C;
        for (i, rdn) in rdns.iter().enumerate() {
            rdn.kind
                .check_value(&rdn.value)
                .map_err(PkiError::Subject)?;
            if let Some(max) = rdn.kind.max_count() {
                let count = rdns.iter().filter(|r| r.kind == rdn.kind).count();
                if count > max {
                    return Err(PkiError::Subject(format!(
                        "{} appears {count} times; a subject may have only one {} ({})",
                        rdn.kind,
                        rdn.kind,
                        rdn.kind.title()
                    )));
                }
            }
            let order = rdn.kind.order();
            if i > 0 && order < last_order {
                return Err(PkiError::Subject(format!(
                    "{} must come before {}: write the parts in the order C and DC, S, L, O, OU, CN",
                    rdn.kind, last_kind
                )));
            }
            last_order = order;
            last_kind = rdn.kind;
        }
        Ok(Subject { rdns })
    }

    /// Parses an Exchange-style subject string such as `DC=msft,dc=nwtraders,CN=W2K3` or
    /// `c=US, o=Contoso, cn=mail.contoso.com`. Values may be quoted (`O="Contoso, Ltd"`) or
    /// escape commas with a backslash.
    pub fn parse(text: &str) -> Result<Subject> {
        let mut rdns = Vec::new();
        for part in split_parts(text)? {
            if part.trim().is_empty() {
                return Err(PkiError::Subject(format!(
                    "'{text}' has an empty part: separate the parts with single commas"
                )));
            }
            let (key, value) = part.split_once('=').ok_or_else(|| {
                PkiError::Subject(format!(
                    "'{}' is not of the form KEY=value (for example CN=mail.contoso.com)",
                    part.trim()
                ))
            })?;
            let kind = RdnKind::from_key(key).ok_or_else(|| {
                PkiError::Subject(format!(
                    "'{}' is not a supported part of a subject: use C, DC, S, L, O, OU or CN",
                    key.trim()
                ))
            })?;
            if value.contains('+') && !value.starts_with('"') {
                return Err(PkiError::Subject(format!(
                    "{kind}={}: multi-valued names with '+' are not supported; quote the value if '+' is part of it",
                    value.trim()
                )));
            }
            let value = unquote(value.trim())?;
            rdns.push(Rdn { kind, value });
        }
        Subject::new(rdns)
    }

    pub fn rdns(&self) -> &[Rdn] {
        &self.rdns
    }

    /// The last CN, which most software shows as the certificate's name.
    pub fn common_name(&self) -> Option<&str> {
        self.rdns
            .iter()
            .rev()
            .find(|r| r.kind == RdnKind::CN)
            .map(|r| r.value.as_str())
    }

    /// DER encoding of the Name: one single-valued RDN per entry, in order.
    pub fn to_der(&self) -> Vec<u8> {
        yasna::construct_der(|w| {
            w.write_sequence(|w| {
                for rdn in &self.rdns {
                    w.next().write_set(|w| {
                        w.next().write_sequence(|w| {
                            w.next().write_oid(&object_id(rdn.kind.oid()));
                            let v = &rdn.value;
                            let w = w.next();
                            match rdn.kind {
                                RdnKind::C => w.write_printable_string(v),
                                RdnKind::DC => w.write_ia5_string(v),
                                _ if is_printable(v) => w.write_printable_string(v),
                                _ => w.write_utf8_string(v),
                            }
                        })
                    })
                }
            })
        })
    }
}

impl fmt::Display for Subject {
    /// `DC=msft, DC=nwtraders, CN=W2K3` — the order typed, which is the encoded order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, rdn) in self.rdns.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}={}", rdn.kind, quote_if_needed(&rdn.value))?;
        }
        Ok(())
    }
}

fn quote_if_needed(v: &str) -> String {
    if v.contains([',', '+', '=', '"', '\\', '<', '>', ';', '#']) {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        v.to_string()
    }
}

/// PrintableString's alphabet (X.680 §41.4).
fn is_printable(v: &str) -> bool {
    v.chars()
        .all(|c| c.is_ascii_alphanumeric() || " '()+,-./:=?".contains(c))
}

fn split_parts(text: &str) -> Result<Vec<String>> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                cur.push(c);
                match chars.next() {
                    Some(n) => cur.push(n),
                    None => {
                        return Err(PkiError::Subject(
                            "the subject ends with a lone backslash".into(),
                        ));
                    }
                }
            }
            '"' => {
                in_quotes = !in_quotes;
                cur.push(c);
            }
            ',' | ';' if !in_quotes => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    if in_quotes {
        return Err(PkiError::Subject(
            "a quoted value is not closed with '\"'".into(),
        ));
    }
    parts.push(cur);
    Ok(parts)
}

fn unquote(v: &str) -> Result<String> {
    let inner = if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        &v[1..v.len() - 1]
    } else if v.contains('"') {
        return Err(PkiError::Subject(format!(
            "{v}: quotes must enclose the whole value"
        )));
    } else {
        v
    };
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &Subject) -> Vec<(RdnKind, &str)> {
        s.rdns()
            .iter()
            .map(|r| (r.kind, r.value.as_str()))
            .collect()
    }

    #[test]
    fn the_articles_subject_keeps_both_dcs_in_order() {
        let s = Subject::parse("DC=msft,dc=nwtraders,CN=W2K3").unwrap();
        assert_eq!(
            kinds(&s),
            vec![
                (RdnKind::DC, "msft"),
                (RdnKind::DC, "nwtraders"),
                (RdnKind::CN, "W2K3")
            ]
        );
        assert_eq!(s.to_string(), "DC=msft, DC=nwtraders, CN=W2K3");
        assert_eq!(s.common_name(), Some("W2K3"));
    }

    #[test]
    fn exchange_style_strings_with_spaces_and_lower_case_keys() {
        let s = Subject::parse("c=US, o=Contoso, cn=mail.contoso.com").unwrap();
        assert_eq!(
            kinds(&s),
            vec![
                (RdnKind::C, "US"),
                (RdnKind::O, "Contoso"),
                (RdnKind::CN, "mail.contoso.com")
            ]
        );
        let s = Subject::parse(
            "C=DE, ST=Bayern, L=München, O=\"Contoso, Ltd\", OU=IT, OU=Mail, CN=mail",
        )
        .unwrap();
        assert_eq!(s.rdns()[3].value, "Contoso, Ltd");
        assert_eq!(s.rdns()[2].value, "München");
        assert_eq!(s.rdns().iter().filter(|r| r.kind == RdnKind::OU).count(), 2);
        let again = Subject::parse(&s.to_string()).unwrap();
        assert_eq!(again, s);
        let s = Subject::parse(r"O=Contoso\, Ltd,CN=x").unwrap();
        assert_eq!(s.rdns()[0].value, "Contoso, Ltd");
    }

    #[test]
    fn table_one_limits_are_enforced() {
        let cases = [
            ("C=USA", "two-letter"),
            ("C=U1", "two-letter"),
            (
                &format!("CN={}", "a".repeat(65)) as &str,
                "65 characters long; the maximum for Common Name is 64",
            ),
            (
                &format!("O={}", "a".repeat(65)),
                "maximum for Organization is 64",
            ),
            (
                &format!("S={}", "ä".repeat(129)),
                "maximum for State or Province is 128",
            ),
            ("C=US,C=DE,CN=x", "only one C"),
            ("O=a,O=b", "only one O"),
            ("CN=x,O=y", "O must come before CN"),
            ("OU=x,DC=com", "DC must come before OU"),
            ("DC=ü,CN=x", "ASCII label"),
            ("E=a@b.c,CN=x", "use C, DC, S, L, O, OU or CN"),
            ("CN", "KEY=value"),
            ("CN=", "CN is empty"),
            ("CN=a,,O=b", "empty part"),
            ("", "empty part"),
            ("CN=a+OU=b", "multi-valued"),
            ("CN=\"open", "not closed"),
        ];
        for (text, want) in cases {
            let e = Subject::parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
        let max_cn = format!("CN={}", "a".repeat(64));
        Subject::parse(&max_cn).unwrap();
    }

    #[test]
    fn der_encoding_uses_the_right_string_types() {
        let s = Subject::parse("C=US,DC=contoso,O=Contoso,CN=Müller").unwrap();
        let der = s.to_der();
        let (_, name) =
            <x509_parser::x509::X509Name as x509_parser::prelude::FromDer<_>>::from_der(&der)
                .unwrap();
        let tags: Vec<_> = name
            .iter_attributes()
            .map(|a| a.attr_value().tag().0)
            .collect();
        // PrintableString 19, IA5String 22, PrintableString 19, UTF8String 12
        assert_eq!(tags, vec![19, 22, 19, 12]);
        assert_eq!(name.to_string(), "C=US, DC=contoso, O=Contoso, CN=Müller");
    }
}
