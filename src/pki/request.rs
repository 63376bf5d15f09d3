//! PKCS#10 certificate requests (RFC 2986): building one from a checked subject, domain names
//! and a key — encoded by hand so repeated DC and OU values survive — and reading any request
//! back (ours, openssl's, or a Windows/Exchange one with extra extensions).

use super::der::{self, Extension, key_usage, oid};
use super::error::{PkiError, Result};
use super::keys;
use super::subject::Subject;
use rcgen::KeyPair;
use x509_parser::prelude::*;

/// Builds and signs a request: subject, the domains as SAN dNSNames, EKU serverAuth and
/// clientAuth (mutual TLS needs both) and a matching key usage. Returns DER.
pub fn build_request(subject: &Subject, domains: &[String], key: &KeyPair) -> Result<Vec<u8>> {
    let mut exts: Vec<Extension> = Vec::new();
    if !domains.is_empty() {
        exts.push(der::san_dns_ext(domains));
    }
    exts.push(der::ext_key_usage_ext(&[
        oid::SERVER_AUTH,
        oid::CLIENT_AUTH,
    ]));
    let usage = if is_rsa(key) {
        key_usage::DIGITAL_SIGNATURE | key_usage::KEY_ENCIPHERMENT
    } else {
        key_usage::DIGITAL_SIGNATURE
    };
    exts.push(der::key_usage_ext(usage));
    let spki = keys::spki_der(key);
    exts.push(der::ski_ext(&keys::key_identifier(&spki)?));

    let subject_der = subject.to_der();
    let info = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_u8(0);
            w.next().write_der(&subject_der);
            w.next().write_der(&spki);
            w.next().write_tagged_implicit(yasna::Tag::context(0), |w| {
                w.write_set(|w| {
                    w.next().write_sequence(|w| {
                        w.next().write_oid(&der::object_id(oid::EXTENSION_REQUEST));
                        w.next()
                            .write_set(|w| der::write_extensions(w.next(), &exts));
                    })
                })
            });
        })
    });
    keys::sign_structure(&info, key)
}

fn is_rsa(key: &KeyPair) -> bool {
    let a = key.algorithm();
    a == &rcgen::PKCS_RSA_SHA256 || a == &rcgen::PKCS_RSA_SHA384 || a == &rcgen::PKCS_RSA_SHA512
}

/// PEM text of a request (`-----BEGIN CERTIFICATE REQUEST-----`).
pub fn to_pem(der: &[u8]) -> String {
    ::pem::encode_config(
        &::pem::Pem::new("CERTIFICATE REQUEST", der.to_vec()),
        ::pem::EncodeConfig::new().set_line_ending(::pem::LineEnding::LF),
    )
}

/// What a request asks for, as the inspector and the lab CA see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestInfo {
    pub subject: String,
    /// DER of the subject Name, copied unchanged into an issued certificate.
    pub subject_der: Vec<u8>,
    /// DER of the SubjectPublicKeyInfo.
    pub spki_der: Vec<u8>,
    pub dns_names: Vec<String>,
    pub key_description: String,
    pub signature_algorithm: String,
    pub signature_valid: bool,
    pub requests_server_auth: bool,
    pub requests_client_auth: bool,
    /// Raw SAN extension value, when present (copied into an issued certificate).
    pub san_value: Option<Vec<u8>>,
    /// OIDs of the other extensions requested (shown, not copied).
    pub other_extensions: Vec<String>,
    /// SHA-256 of the public key (pin), upper-case hex.
    pub public_key_sha256: String,
}

/// Reads a DER request. The signature is checked; a bad one is reported in `signature_valid`.
pub fn parse_request(der_bytes: &[u8]) -> Result<RequestInfo> {
    let (rest, csr) = X509CertificationRequest::from_der(der_bytes)
        .map_err(|e| PkiError::Format(format!("the certificate request is malformed: {e}")))?;
    if !rest.is_empty() {
        return Err(PkiError::Format(
            "the certificate request has extra bytes after its end".into(),
        ));
    }
    let info = &csr.certification_request_info;
    let mut dns_names = Vec::new();
    let mut san_value = None;
    let mut other = Vec::new();
    let (mut server, mut client) = (false, false);
    for attr in info.iter_attributes() {
        if let x509_parser::cri_attributes::ParsedCriAttribute::ExtensionRequest(req) =
            attr.parsed_attribute()
        {
            for ext in &req.extensions {
                match ext.parsed_extension() {
                    ParsedExtension::SubjectAlternativeName(san) => {
                        san_value = Some(ext.value.to_vec());
                        for n in &san.general_names {
                            if let GeneralName::DNSName(d) = n {
                                dns_names.push(d.to_string());
                            }
                        }
                    }
                    ParsedExtension::ExtendedKeyUsage(eku) => {
                        server = eku.server_auth || eku.any;
                        client = eku.client_auth || eku.any;
                    }
                    ParsedExtension::KeyUsage(_) | ParsedExtension::SubjectKeyIdentifier(_) => {}
                    _ => other.push(ext.oid.to_id_string()),
                }
            }
        }
    }
    let spki = &info.subject_pki;
    Ok(RequestInfo {
        subject: info.subject.to_string(),
        subject_der: info.subject.as_raw().to_vec(),
        spki_der: spki.raw.to_vec(),
        dns_names,
        key_description: super::inspect::describe_key(spki),
        signature_algorithm: super::inspect::algorithm_name(&csr.signature_algorithm.algorithm),
        signature_valid: csr.verify_signature().is_ok(),
        requests_server_auth: server,
        requests_client_auth: client,
        san_value,
        other_extensions: other,
        public_key_sha256: super::digest::sha256_hex(spki.raw),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::keys::KeySpec;

    #[test]
    fn a_request_reads_back_with_everything_it_asked_for() {
        let key = KeySpec::P256.generate().unwrap();
        let subject = Subject::parse("DC=msft,DC=nwtraders,OU=A,OU=B,CN=W2K3").unwrap();
        let der = build_request(&subject, &["w2k3.nwtraders.msft".to_string()], &key).unwrap();
        let info = parse_request(&der).unwrap();
        assert_eq!(info.subject, "DC=msft, DC=nwtraders, OU=A, OU=B, CN=W2K3");
        assert_eq!(info.dns_names, vec!["w2k3.nwtraders.msft"]);
        assert!(info.signature_valid);
        assert!(info.requests_server_auth && info.requests_client_auth);
        assert_eq!(info.spki_der, keys::spki_der(&key));
        assert!(info.other_extensions.is_empty());
    }

    #[test]
    fn a_tampered_request_is_reported_invalid() {
        let key = KeySpec::P256.generate().unwrap();
        let subject = Subject::parse("CN=abc").unwrap();
        let mut der = build_request(&subject, &[], &key).unwrap();
        let pos = der.windows(3).position(|w| w == b"abc").unwrap();
        der[pos] = b'x';
        assert!(!parse_request(&der).unwrap().signature_valid);
        assert!(parse_request(&der[..der.len() - 3]).is_err());
    }
}
