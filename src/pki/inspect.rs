//! Certificate inspection with x509-parser: every field an administrator looks at (subject,
//! issuer, serial, validity, names, key, signature algorithm, key usages, constraints, key
//! identifiers, thumbprints), the status in Exchange's words (Valid, DateInvalid,
//! PendingRequest, Untrusted, Invalid) and findings a person can act on. Pure: time and trust
//! are passed in.

use super::chain::{ChainVerdict, Purpose};
use super::digest;
use super::error::{PkiError, Result};
use super::names;
use super::text::{escape_controls, format_date};
use ::time::OffsetDateTime;
use x509_parser::oid_registry::Oid;
use x509_parser::prelude::*;

/// Everything the inspector shows about one certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateInfo {
    pub version: u32,
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub common_names: Vec<String>,
    /// The issuer's common names (the CA's name as the `Received:` line shows it).
    pub issuer_common_names: Vec<String>,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<String>,
    pub email_addresses: Vec<String>,
    /// `RSA 2048`, `ECDSA P-256`, `Ed25519`.
    pub key: String,
    pub key_bits: usize,
    pub signature_algorithm: String,
    pub key_usage: Option<Vec<&'static str>>,
    pub extended_key_usage: Option<Vec<String>>,
    /// May serve as a TLS server (EKU absent or contains serverAuth).
    pub server_auth: bool,
    /// May serve as a TLS client (EKU absent or contains clientAuth).
    pub client_auth: bool,
    pub is_ca: bool,
    pub path_len: Option<u32>,
    /// The name constraints of a CA (RFC 5280 §4.2.1.10), as text (`permitted DNS:woodgrove.test`),
    /// when it has any.
    pub name_constraints: Option<String>,
    pub subject_key_id: Option<String>,
    pub authority_key_id: Option<String>,
    /// SHA-1 of the certificate, upper-case hex: the Exchange thumbprint.
    pub thumbprint: String,
    pub sha256: String,
    /// SHA-256 of the SubjectPublicKeyInfo: the public-key pin.
    pub public_key_sha256: String,
    pub spki_der: Vec<u8>,
    /// Issuer name equals subject name.
    pub self_issued: bool,
    /// Self-issued and the signature verifies with its own key.
    pub self_signed: bool,
    /// Other extension OIDs, shown as they are.
    pub other_extensions: Vec<String>,
}

fn common_names(name: &x509_parser::x509::X509Name<'_>) -> Vec<String> {
    name.iter_common_name()
        .filter_map(|a| a.as_str().ok().map(|s| escape_controls(s.to_string())))
        .collect()
}

/// Reads a DER certificate completely; trailing bytes or a parse failure are errors.
pub fn inspect_certificate(der: &[u8]) -> Result<CertificateInfo> {
    let (rest, cert) = X509Certificate::from_der(der)
        .map_err(|e| PkiError::Format(format!("the certificate is malformed: {e}")))?;
    if !rest.is_empty() {
        return Err(PkiError::Format(
            "the certificate has extra bytes after its end".into(),
        ));
    }
    let tbs = &cert.tbs_certificate;
    let mut info = CertificateInfo {
        version: tbs.version.0 + 1,
        subject: escape_controls(tbs.subject.to_string()),
        issuer: escape_controls(tbs.issuer.to_string()),
        serial: hex::encode_upper(tbs.raw_serial()),
        not_before: tbs.validity.not_before.to_datetime(),
        not_after: tbs.validity.not_after.to_datetime(),
        common_names: common_names(&tbs.subject),
        issuer_common_names: common_names(&tbs.issuer),
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        email_addresses: Vec::new(),
        key: describe_key(&tbs.subject_pki),
        key_bits: tbs.subject_pki.parsed().map(|k| k.key_size()).unwrap_or(0),
        signature_algorithm: algorithm_name(&cert.signature_algorithm.algorithm),
        key_usage: None,
        extended_key_usage: None,
        server_auth: true,
        client_auth: true,
        is_ca: false,
        path_len: None,
        name_constraints: None,
        subject_key_id: None,
        authority_key_id: None,
        thumbprint: digest::thumbprint(der),
        sha256: digest::sha256_hex(der),
        public_key_sha256: digest::sha256_hex(tbs.subject_pki.raw),
        spki_der: tbs.subject_pki.raw.to_vec(),
        self_issued: tbs.subject.as_raw() == tbs.issuer.as_raw(),
        self_signed: false,
        other_extensions: Vec::new(),
    };
    info.self_signed = info.self_issued && cert.verify_signature(None).is_ok();
    for ext in tbs.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => {
                for n in &san.general_names {
                    match n {
                        GeneralName::DNSName(d) => {
                            info.dns_names.push(escape_controls(d.to_string()))
                        }
                        GeneralName::RFC822Name(m) => {
                            info.email_addresses.push(escape_controls(m.to_string()))
                        }
                        GeneralName::IPAddress(b) => info.ip_addresses.push(ip_text(b)),
                        _ => {}
                    }
                }
            }
            ParsedExtension::KeyUsage(ku) => {
                let mut v = Vec::new();
                for (on, name) in [
                    (ku.digital_signature(), "Digital Signature"),
                    (ku.non_repudiation(), "Non-Repudiation"),
                    (ku.key_encipherment(), "Key Encipherment"),
                    (ku.data_encipherment(), "Data Encipherment"),
                    (ku.key_agreement(), "Key Agreement"),
                    (ku.key_cert_sign(), "Certificate Signing"),
                    (ku.crl_sign(), "CRL Signing"),
                ] {
                    if on {
                        v.push(name);
                    }
                }
                info.key_usage = Some(v);
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                let mut v = Vec::new();
                for (on, name) in [
                    (eku.any, "Any Purpose"),
                    (eku.server_auth, "Server Authentication (serverAuth)"),
                    (eku.client_auth, "Client Authentication (clientAuth)"),
                    (eku.code_signing, "Code Signing"),
                    (eku.email_protection, "Secure Email"),
                    (eku.time_stamping, "Time Stamping"),
                    (eku.ocsp_signing, "OCSP Signing"),
                ] {
                    if on {
                        v.push(name.to_string());
                    }
                }
                v.extend(eku.other.iter().map(|o| o.to_id_string()));
                info.server_auth = eku.server_auth || eku.any;
                info.client_auth = eku.client_auth || eku.any;
                info.extended_key_usage = Some(v);
            }
            ParsedExtension::BasicConstraints(bc) => {
                info.is_ca = bc.ca;
                info.path_len = bc.path_len_constraint;
            }
            ParsedExtension::NameConstraints(nc) => {
                info.name_constraints = Some(describe_name_constraints(nc));
            }
            ParsedExtension::SubjectKeyIdentifier(k) => {
                info.subject_key_id = Some(digest::colon_hex(&hex::encode_upper(k.0)));
            }
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                info.authority_key_id = a
                    .key_identifier
                    .as_ref()
                    .map(|k| digest::colon_hex(&hex::encode_upper(k.0)));
            }
            _ => info.other_extensions.push(ext.oid.to_id_string()),
        }
    }
    Ok(info)
}

fn describe_name_constraints(nc: &NameConstraints<'_>) -> String {
    let list = |label: &str, subtrees: &Option<Vec<GeneralSubtree<'_>>>| {
        subtrees.as_ref().filter(|s| !s.is_empty()).map(|s| {
            let names: Vec<String> = s
                .iter()
                .map(|t| match &t.base {
                    GeneralName::DNSName(d) => format!("DNS:{}", escape_controls(d.to_string())),
                    GeneralName::RFC822Name(m) => {
                        format!("email:{}", escape_controls(m.to_string()))
                    }
                    GeneralName::IPAddress(b) => format!("IP:{}", hex::encode(b)),
                    GeneralName::DirectoryName(n) => {
                        format!("dirName:{}", escape_controls(n.to_string()))
                    }
                    other => escape_controls(other.to_string()),
                })
                .collect();
            format!("{label} {}", names.join(", "))
        })
    };
    [
        list("permitted", &nc.permitted_subtrees),
        list("excluded", &nc.excluded_subtrees),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("; ")
}

impl CertificateInfo {
    /// The names a peer is matched against: SAN dNSNames, or the CNs when there is no SAN.
    /// For a peer whose chain was validated, use [`CertificateInfo::names_on_path`].
    pub fn names(&self) -> Vec<String> {
        if self.dns_names.is_empty() {
            self.common_names.clone()
        } else {
            self.dns_names.clone()
        }
    }

    /// The names of a certificate whose chain validated along `path` (leaf first, root last):
    /// as [`CertificateInfo::names`], except that the CN never stands in for a missing SAN
    /// when a CA on the path has name constraints. Those constraints bind only the SAN names
    /// (RFC 5280 §4.2.1.10; webpki checks dNSName constraints against SANs only), so a CA
    /// constrained to `woodgrove.test` could otherwise issue `CN=fabrikam.test` and have it
    /// believed. [`CertificateInfo::unused_cn`] says why.
    pub fn names_on_path(&self, path: &[Vec<u8>]) -> Vec<String> {
        if self.unused_cn(path).is_some() {
            Vec::new()
        } else {
            self.names()
        }
    }

    /// Why the CN is not used as a name on `path`, in words for the administrator; `None`
    /// when it is used (or there is a SAN, or no CN).
    pub fn unused_cn(&self, path: &[Vec<u8>]) -> Option<String> {
        if !self.dns_names.is_empty() || self.common_names.is_empty() {
            return None;
        }
        let constrained = path
            .iter()
            .skip(1)
            .filter_map(|der| inspect_certificate(der).ok())
            .find(|ca| ca.name_constraints.is_some())?;
        Some(format!(
            "its CN {} is not used as a name: {} on its chain has name constraints ({}), which bind only subject alternative names; the certificate needs its domains as SAN entries",
            self.common_names.join(", "),
            constrained.display_name(),
            constrained.name_constraints.unwrap_or_default()
        ))
    }

    /// Whether the certificate is within its validity period at `now`.
    pub fn is_current(&self, now: OffsetDateTime) -> bool {
        self.not_before <= now && now <= self.not_after
    }

    /// Whole days until expiry (negative once expired).
    pub fn days_left(&self, now: OffsetDateTime) -> i64 {
        (self.not_after - now).whole_days()
    }

    /// The subject's CN, or the whole subject when there is none.
    pub fn display_name(&self) -> String {
        self.common_names
            .last()
            .cloned()
            .unwrap_or_else(|| self.subject.clone())
    }
}

/// Status in Exchange's words (Get-ExchangeCertificate `Status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CertStatus {
    Valid,
    DateInvalid,
    PendingRequest,
    Untrusted,
    Invalid,
    /// On its CA's revocation list (or on our deny-list).
    Revoked,
    /// Its revocation status is unknown and the settings refuse that (strict mode).
    RevocationCheckFailure,
}

impl CertStatus {
    /// The status in words an administrator reads (the console); `Display` keeps Exchange's
    /// tokens for the command line.
    pub fn words(self) -> &'static str {
        match self {
            CertStatus::Valid => "Valid",
            CertStatus::DateInvalid => "Date invalid",
            CertStatus::PendingRequest => "Pending request",
            CertStatus::Untrusted => "Untrusted",
            CertStatus::Invalid => "Invalid",
            CertStatus::Revoked => "Revoked",
            CertStatus::RevocationCheckFailure => "Revocation check failed",
        }
    }
}

impl std::fmt::Display for CertStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CertStatus::Valid => "Valid",
            CertStatus::DateInvalid => "DateInvalid",
            CertStatus::PendingRequest => "PendingRequest",
            CertStatus::Untrusted => "Untrusted",
            CertStatus::Invalid => "Invalid",
            CertStatus::Revoked => "Revoked",
            CertStatus::RevocationCheckFailure => "RevocationCheckFailure",
        })
    }
}

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Prevents the certificate from doing its job.
    Problem,
    /// Works, but will bite soon or in some cases.
    Warning,
    /// Good to know.
    Info,
}

/// One observation about a certificate, in words a person can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub text: String,
}

impl Finding {
    fn new(severity: Severity, text: impl Into<String>) -> Self {
        Finding {
            severity,
            text: text.into(),
        }
    }
}

/// What the certificate is looked at for.
#[derive(Clone, Debug, Default)]
pub struct InspectContext<'a> {
    /// The chain verdict, when a trust check was made. Self-signed certificates of our own
    /// store are not chain-checked (Exchange treats them as valid for opportunistic TLS).
    pub trust: Option<&'a ChainVerdict>,
    /// A domain the certificate should name (our organization domain, a partner domain).
    pub domain: Option<&'a str>,
    /// Whether we hold the private key (None when unknown).
    pub has_private_key: Option<bool>,
    /// Looked at as our SMTP identity (server and client certificate for mutual TLS).
    pub as_smtp_identity: bool,
}

/// Findings for a certificate at `now`, most serious first.
pub fn findings(
    info: &CertificateInfo,
    now: OffsetDateTime,
    ctx: &InspectContext<'_>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if now > info.not_after {
        out.push(Finding::new(
            Severity::Problem,
            format!("expired on {}", format_date(info.not_after)),
        ));
    } else if now < info.not_before {
        out.push(Finding::new(
            Severity::Problem,
            format!("not valid before {}", format_date(info.not_before)),
        ));
    } else {
        let days = info.days_left(now);
        if days <= 30 {
            out.push(Finding::new(
                Severity::Warning,
                format!(
                    "expires in {days} day{}: renew it now",
                    if days == 1 { "" } else { "s" }
                ),
            ));
        }
    }
    if !info.client_auth {
        out.push(Finding::new(
            if ctx.as_smtp_identity { Severity::Problem } else { Severity::Warning },
            "no clientAuth usage: cannot be used for mutual TLS (Domain Security needs serverAuth and clientAuth)",
        ));
    }
    if !info.server_auth {
        out.push(Finding::new(
            if ctx.as_smtp_identity {
                Severity::Problem
            } else {
                Severity::Warning
            },
            "no serverAuth usage: cannot be used for STARTTLS on a receive connector",
        ));
    }
    if let Some(ku) = &info.key_usage
        && !info.is_ca
        && !ku.contains(&"Digital Signature")
    {
        out.push(Finding::new(
            Severity::Problem,
            "key usage lacks Digital Signature: TLS 1.3 handshakes with this certificate will fail",
        ));
    }
    if info.is_ca {
        out.push(Finding::new(
            Severity::Info,
            "a CA certificate: it can be a trusted root or chain certificate, not a server identity",
        ));
    }
    let path: &[Vec<u8>] = match ctx.trust {
        Some(ChainVerdict::Trusted { path }) => path,
        _ => &[],
    };
    if let Some(why) = info.unused_cn(path) {
        out.push(Finding::new(Severity::Problem, why));
    }
    if let Some(domain) = ctx.domain {
        let cert_names = info.names_on_path(path);
        if !cert_names.iter().any(|n| names::matches_exact(n, domain)) {
            out.push(Finding::new(
                Severity::Warning,
                format!(
                    "does not name domain {domain} (names: {}): partners checking Domain Security will refuse it",
                    if cert_names.is_empty() { "none".to_string() } else { cert_names.join(", ") }
                ),
            ));
        }
    }
    if info.dns_names.is_empty() && !info.is_ca {
        out.push(Finding::new(
            Severity::Warning,
            "no subject alternative names: many TLS clients ignore the CN; request the domains as SAN entries",
        ));
    }
    if info.key.starts_with("RSA") && info.key_bits < 2048 {
        out.push(Finding::new(
            Severity::Problem,
            format!(
                "{}-bit RSA key is too weak: use 2048 bits or more",
                info.key_bits
            ),
        ));
    }
    if info.signature_algorithm.contains("SHA1") || info.signature_algorithm.contains("MD5") {
        out.push(Finding::new(
            Severity::Warning,
            format!(
                "signed with {}, which current TLS libraries reject",
                info.signature_algorithm
            ),
        ));
    }
    if ctx.has_private_key == Some(false) && ctx.as_smtp_identity {
        out.push(Finding::new(
            Severity::Problem,
            "no private key: this certificate cannot be our SMTP identity",
        ));
    }
    if info.self_issued && !info.is_ca {
        if info.self_signed {
            out.push(Finding::new(
                Severity::Info,
                "self-signed: fine for opportunistic TLS; for Domain Security it is accepted only by a pin (Direct Trust between our own relays, a partner pin between organizations), never through a CA",
            ));
        } else {
            out.push(Finding::new(
                Severity::Problem,
                "claims to be self-signed but its signature does not verify",
            ));
        }
    }
    match ctx.trust {
        Some(ChainVerdict::Untrusted {
            reason,
            kind: super::chain::ChainFailure::Revoked,
        }) => out.push(Finding::new(
            Severity::Problem,
            format!("{reason}: it must not be trusted; the holder needs a new certificate with a new key"),
        )),
        Some(ChainVerdict::Untrusted {
            reason,
            kind: super::chain::ChainFailure::RevocationUnknown,
        }) => out.push(Finding::new(
            Severity::Problem,
            format!("{reason}; add the CA's current list with `mailflow crl add`, or let the relay download it"),
        )),
        Some(ChainVerdict::Untrusted { reason, .. }) => out.push(Finding::new(
            Severity::Problem,
            format!("untrusted chain: {reason}; add the issuing CA's root with `mailflow trust add` if you trust it"),
        )),
        _ => {}
    }
    out.sort_by_key(|f| f.severity);
    out
}

/// Status in Exchange's words for a certificate we hold.
pub fn status(
    info: &CertificateInfo,
    now: OffsetDateTime,
    trust: Option<&ChainVerdict>,
) -> CertStatus {
    if info.self_issued && !info.self_signed {
        return CertStatus::Invalid;
    }
    if !info.is_current(now) {
        return CertStatus::DateInvalid;
    }
    match trust {
        Some(ChainVerdict::Untrusted {
            kind: super::chain::ChainFailure::BadSignature,
            ..
        }) => CertStatus::Invalid,
        Some(ChainVerdict::Untrusted {
            kind: super::chain::ChainFailure::Revoked,
            ..
        }) => CertStatus::Revoked,
        Some(ChainVerdict::Untrusted {
            kind: super::chain::ChainFailure::RevocationUnknown,
            ..
        }) => CertStatus::RevocationCheckFailure,
        Some(ChainVerdict::Untrusted { .. }) => CertStatus::Untrusted,
        _ => CertStatus::Valid,
    }
}

/// The purpose a certificate is checked for when we look at it as our SMTP identity.
pub const SMTP_PURPOSE: Purpose = Purpose::Server;

/// `RSA 2048`, `ECDSA P-256`, `Ed25519`, or the algorithm's OID.
pub fn describe_key(spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>) -> String {
    let alg = &spki.algorithm.algorithm;
    match spki.parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => format!("RSA {}", rsa.key_size()),
        Ok(x509_parser::public_key::PublicKey::EC(_)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string());
            match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => "ECDSA P-256".into(),
                Some("1.3.132.0.34") => "ECDSA P-384".into(),
                Some("1.3.132.0.35") => "ECDSA P-521".into(),
                Some(other) => format!("ECDSA ({other})"),
                None => "ECDSA".into(),
            }
        }
        _ if alg.to_id_string() == "1.3.101.112" => "Ed25519".into(),
        _ => format!("unknown key type ({})", alg.to_id_string()),
    }
}

/// A readable signature algorithm name (`SHA256 with RSA`, `ECDSA with SHA256`).
pub fn algorithm_name(oid: &Oid<'_>) -> String {
    match oid.to_id_string().as_str() {
        "1.2.840.113549.1.1.5" => "SHA1 with RSA".into(),
        "1.2.840.113549.1.1.4" => "MD5 with RSA".into(),
        "1.2.840.113549.1.1.11" => "SHA256 with RSA".into(),
        "1.2.840.113549.1.1.12" => "SHA384 with RSA".into(),
        "1.2.840.113549.1.1.13" => "SHA512 with RSA".into(),
        "1.2.840.113549.1.1.10" => "RSA-PSS".into(),
        "1.2.840.10045.4.1" => "ECDSA with SHA1".into(),
        "1.2.840.10045.4.3.2" => "ECDSA with SHA256".into(),
        "1.2.840.10045.4.3.3" => "ECDSA with SHA384".into(),
        "1.2.840.10045.4.3.4" => "ECDSA with SHA512".into(),
        "1.3.101.112" => "Ed25519".into(),
        other => other.to_string(),
    }
}

fn ip_text(b: &[u8]) -> String {
    match b.len() {
        4 => std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string(),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            std::net::Ipv6Addr::from(a).to_string()
        }
        _ => hex::encode(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::ca::{self, LeafUsage};
    use crate::pki::keys::{self, KeySpec};
    use crate::pki::subject::Subject;
    use ::time::{Duration, macros::datetime};

    const NOW: OffsetDateTime = datetime!(2026-11-29 12:00 UTC);

    #[test]
    fn names_are_the_san_or_the_cn_only_when_there_is_no_san() {
        // With a SAN, the CN (mail.contoso.test) does not count.
        let (with_san, _) = issue(LeafUsage::SMTP, 30, &["contoso.test"]);
        let info = inspect_certificate(&with_san).unwrap();
        assert_eq!(info.common_names, ["mail.contoso.test"]);
        assert_eq!(info.names(), ["contoso.test"]);
        // Without one, the CN is the name.
        let ca_key = KeySpec::P256.generate().unwrap();
        let ca_cert = ca::create_ca("Contoso Root", "Contoso", &ca_key, NOW, 5).unwrap();
        let key = KeySpec::P256.generate().unwrap();
        let subject = Subject::parse("CN=mail.contoso.test").unwrap().to_der();
        let no_san = ca::issue_leaf(
            &ca_cert,
            &ca_key,
            &subject,
            &keys::spki_der(&key),
            None,
            LeafUsage::SMTP,
            NOW,
            NOW + Duration::days(1),
        )
        .unwrap();
        assert_eq!(
            inspect_certificate(&no_san).unwrap().names(),
            ["mail.contoso.test"]
        );
    }

    #[test]
    fn control_characters_in_names_are_escaped() {
        // A CA (or a self-signed client) may put CR LF into a CN: it must never reach a header
        // field or a log line as a line break.
        let cn = "x\r\nX-Mailflow-AuthAs: Partner";
        let name = yasna::construct_der(|w| {
            w.write_sequence(|w| {
                w.next().write_set(|w| {
                    w.next().write_sequence(|w| {
                        w.next()
                            .write_oid(&yasna::models::ObjectIdentifier::from_slice(&[2, 5, 4, 3]));
                        w.next().write_utf8_string(cn);
                    })
                })
            })
        });
        let ca_key = KeySpec::P256.generate().unwrap();
        let ca_cert = ca::create_ca("Contoso Root", "Contoso", &ca_key, NOW, 5).unwrap();
        let key = KeySpec::P256.generate().unwrap();
        let der = ca::issue_leaf(
            &ca_cert,
            &ca_key,
            &name,
            &keys::spki_der(&key),
            None,
            LeafUsage::SMTP,
            NOW,
            NOW + Duration::days(1),
        )
        .unwrap();
        let info = inspect_certificate(&der).unwrap();
        assert_eq!(info.common_names, ["x\\0D\\0AX-Mailflow-AuthAs: Partner"]);
        assert!(!info.subject.contains(['\r', '\n']), "{}", info.subject);
        assert_eq!(info.issuer_common_names, ["Contoso Root"]);
    }

    fn issue(usage: LeafUsage, days_left: i64, names: &[&str]) -> (Vec<u8>, Vec<u8>) {
        let ca_key = KeySpec::P256.generate().unwrap();
        let ca_cert = ca::create_ca(
            "Contoso Root",
            "Contoso",
            &ca_key,
            NOW - Duration::days(10),
            5,
        )
        .unwrap();
        let key = KeySpec::Rsa2048.generate().unwrap();
        let subject = Subject::parse("DC=test,DC=contoso,CN=mail.contoso.test")
            .unwrap()
            .to_der();
        let san =
            crate::pki::der::san_dns_ext(&names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .value;
        let cert = ca::issue_leaf(
            &ca_cert,
            &ca_key,
            &subject,
            &keys::spki_der(&key),
            Some(san),
            usage,
            NOW - Duration::days(1),
            NOW + Duration::days(days_left),
        )
        .unwrap();
        (cert, ca_cert)
    }

    fn texts(f: &[Finding]) -> String {
        f.iter()
            .map(|x| format!("{:?}: {}", x.severity, x.text))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn every_field_is_read() {
        let (cert, ca_cert) = issue(LeafUsage::SMTP, 365, &["mail.contoso.test", "contoso.test"]);
        let i = inspect_certificate(&cert).unwrap();
        assert_eq!(i.subject, "DC=test, DC=contoso, CN=mail.contoso.test");
        assert_eq!(i.issuer, "O=Contoso, CN=Contoso Root");
        assert_eq!(i.version, 3);
        assert_eq!(i.key, "RSA 2048");
        assert_eq!(i.signature_algorithm, "ECDSA with SHA256");
        assert_eq!(i.dns_names, vec!["mail.contoso.test", "contoso.test"]);
        assert_eq!(
            i.key_usage.as_deref(),
            Some(&["Digital Signature", "Key Encipherment"][..])
        );
        assert!(i.server_auth && i.client_auth && !i.is_ca && !i.self_issued);
        assert_eq!(i.thumbprint.len(), 40);
        assert!(
            i.thumbprint
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        );
        assert_eq!(i.sha256.len(), 64);
        assert!(i.subject_key_id.is_some() && i.authority_key_id.is_some());
        let ca = inspect_certificate(&ca_cert).unwrap();
        assert!(ca.is_ca && ca.self_signed);
        assert_eq!(ca.subject_key_id, i.authority_key_id);
    }

    #[test]
    fn findings_say_what_to_do() {
        let (cert, _) = issue(
            LeafUsage {
                server_auth: true,
                client_auth: false,
            },
            12,
            &["mail.contoso.test"],
        );
        let i = inspect_certificate(&cert).unwrap();
        let f = findings(
            &i,
            NOW,
            &InspectContext {
                domain: Some("contoso.test"),
                as_smtp_identity: true,
                ..Default::default()
            },
        );
        let t = texts(&f);
        assert!(t.contains("Warning: expires in 12 days"), "{t}");
        assert!(
            t.contains("Problem: no clientAuth usage: cannot be used for mutual TLS"),
            "{t}"
        );
        assert!(t.contains("does not name domain contoso.test"), "{t}");
        assert_eq!(f[0].severity, Severity::Problem, "most serious first");
        let later = NOW + Duration::days(13);
        let t = texts(&findings(&i, later, &InspectContext::default()));
        assert!(t.contains("expired on"), "{t}");
        assert_eq!(status(&i, later, None), CertStatus::DateInvalid);
        assert_eq!(status(&i, NOW, None), CertStatus::Valid);
        let untrusted = ChainVerdict::Untrusted {
            reason: "x".into(),
            kind: crate::pki::chain::ChainFailure::UnknownIssuer,
        };
        assert_eq!(status(&i, NOW, Some(&untrusted)), CertStatus::Untrusted);
    }

    #[test]
    fn a_good_smtp_certificate_has_no_problems() {
        let (cert, _) = issue(LeafUsage::SMTP, 365, &["mail.contoso.test", "contoso.test"]);
        let i = inspect_certificate(&cert).unwrap();
        let f = findings(
            &i,
            NOW,
            &InspectContext {
                domain: Some("contoso.test"),
                as_smtp_identity: true,
                has_private_key: Some(true),
                ..Default::default()
            },
        );
        assert!(f.is_empty(), "{}", texts(&f));
    }
}
