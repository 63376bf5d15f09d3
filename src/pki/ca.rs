//! The lab CA: an organization CA that issues certificates from request files, so the article's
//! whole flow (request → CA → import → enable) runs offline. Issuance keeps the request's
//! subject byte for byte (all DCs and OUs, in order) and its SAN entries, ignores other requested
//! extensions (Windows and Exchange requests carry SKI and template extensions), and always
//! grants serverAuth and clientAuth. Also makes the self-signed certificate of a new
//! organization.

use super::builder::{CertificateSpec, build_certificate, random_serial};
use super::der::{self, key_usage, oid};
use super::error::{PkiError, Result};
use super::inspect;
use super::keys;
use super::request;
use super::subject::Subject;
use super::text::format_date;
use rcgen::KeyPair;
use time::{Duration, OffsetDateTime};

/// Longest validity the lab CA grants, in days.
pub const MAX_DAYS: u32 = 3650;

/// What a leaf certificate may be used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeafUsage {
    pub server_auth: bool,
    pub client_auth: bool,
}

impl LeafUsage {
    /// serverAuth and clientAuth: what mutual TLS between relays needs.
    pub const SMTP: LeafUsage = LeafUsage {
        server_auth: true,
        client_auth: true,
    };
}

/// Creates a self-signed CA certificate (`CN=<name>, O=<organization>`) valid for `years`.
pub fn create_ca(
    name: &str,
    organization: &str,
    key: &KeyPair,
    now: OffsetDateTime,
    years: u32,
) -> Result<Vec<u8>> {
    let mut rdns = Vec::new();
    if !organization.trim().is_empty() {
        rdns.push(super::subject::Rdn {
            kind: super::subject::RdnKind::O,
            value: organization.trim().to_string(),
        });
    }
    rdns.push(super::subject::Rdn {
        kind: super::subject::RdnKind::CN,
        value: name.trim().to_string(),
    });
    let subject = Subject::new(rdns)?;
    let subject_der = subject.to_der();
    let spki = keys::spki_der(key);
    let key_id = keys::key_identifier(&spki)?;
    let spec = CertificateSpec {
        serial: random_serial()?,
        issuer_der: &subject_der,
        subject_der: &subject_der,
        spki_der: &spki,
        not_before: now - Duration::minutes(5),
        not_after: now + Duration::days(365 * i64::from(years.clamp(1, 30))),
        extensions: vec![
            der::basic_constraints_ext(true, None),
            der::key_usage_ext(
                key_usage::KEY_CERT_SIGN | key_usage::CRL_SIGN | key_usage::DIGITAL_SIGNATURE,
            ),
            der::ski_ext(&key_id),
        ],
    };
    build_certificate(&spec, key)
}

/// Issues a leaf certificate for `subject_der`/`spki_der`, signed by the CA.
#[allow(clippy::too_many_arguments)]
pub fn issue_leaf(
    ca_cert: &[u8],
    ca_key: &KeyPair,
    subject_der: &[u8],
    spki_der: &[u8],
    san_value: Option<Vec<u8>>,
    usage: LeafUsage,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<Vec<u8>> {
    let ca = inspect::inspect_certificate(ca_cert)?;
    if !ca.is_ca {
        return Err(PkiError::Unsupported(
            "the issuing certificate is not a CA certificate".into(),
        ));
    }
    if keys::spki_der(ca_key) != ca.spki_der {
        return Err(PkiError::Unsupported(
            "the CA's private key does not belong to the CA certificate".into(),
        ));
    }
    let ca_parsed = x509_parser::parse_x509_certificate(ca_cert)
        .map_err(|e| PkiError::Format(format!("the CA certificate is malformed: {e}")))?
        .1;
    let issuer_der = ca_parsed.tbs_certificate.subject.as_raw().to_vec();
    let mut purposes: Vec<&[u64]> = Vec::new();
    if usage.server_auth {
        purposes.push(oid::SERVER_AUTH);
    }
    if usage.client_auth {
        purposes.push(oid::CLIENT_AUTH);
    }
    let ku = if spki_is_rsa(spki_der) {
        key_usage::DIGITAL_SIGNATURE | key_usage::KEY_ENCIPHERMENT
    } else {
        key_usage::DIGITAL_SIGNATURE
    };
    let mut extensions = vec![
        der::basic_constraints_ext(false, None),
        der::key_usage_ext(ku),
    ];
    if !purposes.is_empty() {
        extensions.push(der::ext_key_usage_ext(&purposes));
    }
    if let Some(san) = san_value {
        extensions.push(der::Extension {
            oid: oid::SUBJECT_ALT_NAME.to_vec(),
            critical: false,
            value: san,
        });
    }
    extensions.push(der::ski_ext(&keys::key_identifier(spki_der)?));
    extensions.push(der::aki_ext(&keys::key_identifier(&ca.spki_der)?));
    let spec = CertificateSpec {
        serial: random_serial()?,
        issuer_der: &issuer_der,
        subject_der,
        spki_der,
        not_before,
        not_after,
        extensions,
    };
    build_certificate(&spec, ca_key)
}

/// Issues a certificate from a PKCS#10 request (DER), valid `days` from `now` (capped at the
/// CA's own expiry).
pub fn issue_from_request(
    ca_cert: &[u8],
    ca_key: &KeyPair,
    request_der: &[u8],
    now: OffsetDateTime,
    days: u32,
) -> Result<Vec<u8>> {
    if days == 0 || days > MAX_DAYS {
        return Err(PkiError::Unsupported(format!(
            "--days must be between 1 and {MAX_DAYS}"
        )));
    }
    let req = request::parse_request(request_der)?;
    if !req.signature_valid {
        return Err(PkiError::BadSignature(
            "the request's signature does not verify: it was altered after it was made; make a new request".into(),
        ));
    }
    let ca = inspect::inspect_certificate(ca_cert)?;
    if now > ca.not_after {
        return Err(PkiError::Unsupported(format!(
            "the lab CA expired on {}: create a new one with `mailflow ca init`",
            format_date(ca.not_after)
        )));
    }
    let san = match req.san_value.clone() {
        Some(v) => Some(v),
        None => {
            // Like New-ExchangeCertificate, a request without SAN gets its CN as SAN.
            let cn = x509_parser::prelude::FromDer::from_der(req.subject_der.as_slice())
                .ok()
                .and_then(|(_, name): (_, x509_parser::x509::X509Name<'_>)| {
                    name.iter_common_name()
                        .last()
                        .and_then(|a| a.as_str().ok().map(str::to_string))
                })
                .filter(|cn| crate::config::domain::is_valid(cn));
            cn.map(|cn| der::san_dns_ext(&[cn]).value)
        }
    };
    let not_after = (now + Duration::days(i64::from(days))).min(ca.not_after);
    issue_leaf(
        ca_cert,
        ca_key,
        &req.subject_der,
        &req.spki_der,
        san,
        LeafUsage::SMTP,
        now - Duration::minutes(5),
        not_after,
    )
}

/// A self-signed certificate for opportunistic TLS: the given subject, the domains as SAN,
/// serverAuth and clientAuth.
pub fn self_signed(
    subject: &Subject,
    domains: &[String],
    key: &KeyPair,
    now: OffsetDateTime,
    days: u32,
) -> Result<Vec<u8>> {
    let subject_der = subject.to_der();
    let spki = keys::spki_der(key);
    let ku = if spki_is_rsa(&spki) {
        key_usage::DIGITAL_SIGNATURE | key_usage::KEY_ENCIPHERMENT
    } else {
        key_usage::DIGITAL_SIGNATURE
    };
    let mut extensions = vec![
        der::basic_constraints_ext(false, None),
        der::key_usage_ext(ku),
        der::ext_key_usage_ext(&[oid::SERVER_AUTH, oid::CLIENT_AUTH]),
    ];
    if !domains.is_empty() {
        extensions.push(der::san_dns_ext(domains));
    }
    extensions.push(der::ski_ext(&keys::key_identifier(&spki)?));
    let spec = CertificateSpec {
        serial: random_serial()?,
        issuer_der: &subject_der,
        subject_der: &subject_der,
        spki_der: &spki,
        not_before: now - Duration::minutes(5),
        not_after: now + Duration::days(i64::from(days.clamp(1, MAX_DAYS))),
        extensions,
    };
    build_certificate(&spec, key)
}

fn spki_is_rsa(spki: &[u8]) -> bool {
    use x509_parser::prelude::FromDer;
    x509_parser::x509::SubjectPublicKeyInfo::from_der(spki)
        .map(|(_, s)| s.algorithm.algorithm.to_id_string() == "1.2.840.113549.1.1.1")
        .unwrap_or(false)
}
