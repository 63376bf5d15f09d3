//! Reading certificate files in every form an administrator is handed: PEM (one certificate, a
//! bundle, or certificate plus key), DER (`.cer`/`.crt`), bare Base64, PKCS#7 (`.p7b`/`.p7c`,
//! PEM or DER) and PKCS#12 (`.pfx`/`.p12`, AES or the legacy 3DES/RC2 encodings). The result is
//! the certificates and private keys found; deciding what to keep is the store's job.

use super::error::{PkiError, Result};
use der::{Decode, Encode};
use std::fmt;
use x509_parser::prelude::FromDer;
use zeroize::Zeroize;

/// Private key bytes (PKCS#8, PKCS#1 or SEC1 DER). Never printed; wiped when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretDer(Vec<u8>);

impl SecretDer {
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretDer(bytes)
    }
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretDer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretDer(<private key>)")
    }
}

impl Drop for SecretDer {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// The container a file turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    Pem,
    Der,
    Base64,
    Pkcs7,
    Pkcs12,
}

impl fmt::Display for FileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileFormat::Pem => "PEM",
            FileFormat::Der => "DER",
            FileFormat::Base64 => "Base64",
            FileFormat::Pkcs7 => "PKCS#7",
            FileFormat::Pkcs12 => "PKCS#12",
        })
    }
}

/// What a file holds.
#[derive(Debug, Default)]
pub struct FileContents {
    pub format: Option<FileFormat>,
    /// DER certificates, in file order, each checked to parse.
    pub certificates: Vec<Vec<u8>>,
    pub private_keys: Vec<SecretDer>,
    /// DER certificate requests.
    pub requests: Vec<Vec<u8>>,
}

/// What kind of file `bytes` is, without a password: for the wizard's first page.
pub fn is_pkcs12(bytes: &[u8]) -> bool {
    looks_like_pfx(bytes)
}

/// Reads a file. `password` is used for PKCS#12; without one, an empty password is tried and
/// [`PkiError::PasswordRequired`] returned when it does not open the file.
pub fn read_file(bytes: &[u8], password: Option<&str>) -> Result<FileContents> {
    if bytes.is_empty() {
        return Err(PkiError::Format("the file is empty".into()));
    }
    let text_start = skip_bom_and_space(bytes);
    if text_start.starts_with(b"-----BEGIN") || contains_pem_marker(bytes) {
        return read_pem(bytes);
    }
    if let Some(decoded) = bare_base64(text_start) {
        let mut c = read_der(&decoded, password)?;
        if c.format == Some(FileFormat::Der) {
            c.format = Some(FileFormat::Base64);
        }
        return Ok(c);
    }
    read_der(bytes, password)
}

fn skip_bom_and_space(b: &[u8]) -> &[u8] {
    let b = b.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(b);
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    &b[start..]
}

fn contains_pem_marker(b: &[u8]) -> bool {
    b.is_ascii() && b.windows(10).any(|w| w == b"-----BEGIN")
}

fn bare_base64(b: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine;
    if b.len() < 16
        || !b
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || b"+/=\r\n \t".contains(c))
    {
        return None;
    }
    let compact: Vec<u8> = b
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()
}

fn read_pem(bytes: &[u8]) -> Result<FileContents> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| PkiError::Format("the file mixes PEM text with binary data".into()))?;
    let begins = text.matches("-----BEGIN").count();
    let blocks = pem::parse_many(text).map_err(|e| {
        PkiError::Format(format!(
            "the PEM text is damaged or truncated ({e}); get a fresh copy of the file"
        ))
    })?;
    if blocks.len() != begins {
        return Err(PkiError::Format(
            "the PEM text is damaged or truncated: a BEGIN line has no matching END line; get a fresh copy of the file".into(),
        ));
    }
    let mut out = FileContents {
        format: Some(FileFormat::Pem),
        ..Default::default()
    };
    for block in blocks {
        let der = block.contents().to_vec();
        match block.tag() {
            "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE" => {
                check_certificate(&der)?;
                out.certificates.push(der);
            }
            "PKCS7" | "CMS" => {
                out.certificates.extend(read_pkcs7(&der)?);
                out.format = Some(FileFormat::Pkcs7);
            }
            "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => out.requests.push(der),
            "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" => {
                out.private_keys.push(SecretDer::new(der))
            }
            "ENCRYPTED PRIVATE KEY" => {
                return Err(PkiError::Unsupported(
                    "the private key in this PEM file is encrypted: export certificate and key as a PKCS#12 (.pfx) file and import that with its password".into(),
                ));
            }
            other => {
                return Err(PkiError::Format(format!(
                    "the PEM block '{other}' is not a certificate, request, key or PKCS#7 chain"
                )));
            }
        }
    }
    Ok(out)
}

fn check_certificate(der: &[u8]) -> Result<()> {
    match x509_parser::parse_x509_certificate(der) {
        Ok(([], _)) => Ok(()),
        Ok(_) => Err(PkiError::Format(
            "a certificate in the file has extra bytes after its end".into(),
        )),
        Err(e) => Err(PkiError::Format(format!(
            "a certificate in the file is damaged ({e})"
        ))),
    }
}

fn read_der(bytes: &[u8], password: Option<&str>) -> Result<FileContents> {
    if let Ok((rest, _)) = x509_parser::parse_x509_certificate(bytes)
        && rest.is_empty()
    {
        return Ok(FileContents {
            format: Some(FileFormat::Der),
            certificates: vec![bytes.to_vec()],
            ..Default::default()
        });
    }
    if let Ok(certs) = read_pkcs7(bytes) {
        return Ok(FileContents {
            format: Some(FileFormat::Pkcs7),
            certificates: certs,
            ..Default::default()
        });
    }
    if looks_like_pfx(bytes) {
        return read_pkcs12(bytes, password);
    }
    if x509_parser::certification_request::X509CertificationRequest::from_der(bytes)
        .is_ok_and(|(rest, _)| rest.is_empty())
    {
        return Ok(FileContents {
            format: Some(FileFormat::Der),
            requests: vec![bytes.to_vec()],
            ..Default::default()
        });
    }
    Err(PkiError::Format(
        "this file is not a certificate Mailflow can read: expected PEM or DER (.cer/.crt), PKCS#7 (.p7b) or PKCS#12 (.pfx/.p12)".into(),
    ))
}

/// Certificates of a PKCS#7 / CMS SignedData (DER).
pub fn read_pkcs7(der: &[u8]) -> Result<Vec<Vec<u8>>> {
    let bad = |why: String| PkiError::Format(format!("the PKCS#7 file is damaged ({why})"));
    let ci = cms::content_info::ContentInfo::from_der(der).map_err(|e| bad(e.to_string()))?;
    if ci.content_type.to_string() != "1.2.840.113549.1.7.2" {
        return Err(PkiError::Format(format!(
            "the PKCS#7 file holds {} content, not a certificate chain (SignedData)",
            ci.content_type
        )));
    }
    let sd: cms::signed_data::SignedData = ci
        .content
        .decode_as()
        .map_err(|e: der::Error| bad(e.to_string()))?;
    let mut out = Vec::new();
    if let Some(set) = sd.certificates {
        for choice in set.0.iter() {
            if let cms::cert::CertificateChoices::Certificate(c) = choice {
                let d = c.to_der().map_err(|e| bad(e.to_string()))?;
                check_certificate(&d)?;
                out.push(d);
            }
        }
    }
    if out.is_empty() {
        return Err(PkiError::Format(
            "the PKCS#7 file contains no certificates".into(),
        ));
    }
    Ok(out)
}

/// PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo, ... } — RFC 7292 §4.
fn looks_like_pfx(bytes: &[u8]) -> bool {
    yasna::parse_ber(bytes, |r| {
        r.read_sequence(|r| {
            let v = r.next().read_u8()?;
            let oid = r.next().read_sequence(|r| {
                let oid = r.next().read_oid()?;
                r.next().read_der()?;
                Ok(oid)
            })?;
            if r.read_optional(|r| r.read_der())?.is_some() {
                // macData present
            }
            Ok(v == 3 && oid.components().starts_with(&[1, 2, 840, 113_549, 1, 7]))
        })
    })
    .unwrap_or(false)
}

fn read_pkcs12(bytes: &[u8], password: Option<&str>) -> Result<FileContents> {
    let open = |pw: &str| p12_keystore::Pkcs12Archive::from_pkcs12(bytes, pw);
    let archive = match password {
        Some(pw) => open(pw).map_err(pkcs12_error)?,
        None => match open("") {
            Ok(a) => a,
            Err(e) => {
                return Err(match pkcs12_error(e) {
                    PkiError::WrongPassword => PkiError::PasswordRequired,
                    other => other,
                });
            }
        },
    };
    let mut out = FileContents {
        format: Some(FileFormat::Pkcs12),
        ..Default::default()
    };
    for c in &archive.certs {
        let der = c.cert.as_der().to_vec();
        check_certificate(&der)?;
        out.certificates.push(der);
    }
    for k in &archive.keys {
        out.private_keys
            .push(SecretDer::new(k.key.as_der().to_vec()));
    }
    if out.certificates.is_empty() {
        return Err(PkiError::Format(
            "the PKCS#12 file contains no certificate".into(),
        ));
    }
    Ok(out)
}

fn pkcs12_error(e: p12_keystore::error::Error) -> PkiError {
    use p12_keystore::error::Error as E;
    match e {
        E::MacError(_) => PkiError::WrongPassword,
        // Without a MAC, a wrong password shows up as a decryption failure.
        E::UnpadError | E::InvalidData | E::InvalidLength | E::InvalidPrivateKey => {
            PkiError::WrongPassword
        }
        E::UnsupportedEncryptionScheme | E::UnsupportedMacAlgorithm | E::UnsupportedContentType => {
            PkiError::Unsupported(format!(
                "the PKCS#12 file uses an encryption Mailflow does not support ({e}); re-export it with AES-256 or 3DES"
            ))
        }
        other => PkiError::Format(format!("the PKCS#12 file is damaged ({other})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{ca, keys::KeySpec, subject::Subject};

    fn sample_cert() -> Vec<u8> {
        let key = KeySpec::P256.generate().unwrap();
        let s = Subject::parse("CN=mail.contoso.test").unwrap();
        ca::self_signed(
            &s,
            &["mail.contoso.test".into()],
            &key,
            time::OffsetDateTime::now_utc(),
            30,
        )
        .unwrap()
    }

    #[test]
    fn der_pem_and_base64_read_the_same_certificate() {
        let der = sample_cert();
        let c = read_file(&der, None).unwrap();
        assert_eq!(
            (c.format, c.certificates.clone()),
            (Some(FileFormat::Der), vec![der.clone()])
        );
        let pem_text = crate::pki::builder::to_pem(&der);
        let c = read_file(pem_text.as_bytes(), None).unwrap();
        assert_eq!(c.certificates, vec![der.clone()]);
        let body: String = pem_text
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .join("\r\n");
        let c = read_file(body.as_bytes(), None).unwrap();
        assert_eq!(
            (c.format, c.certificates),
            (Some(FileFormat::Base64), vec![der])
        );
    }

    #[test]
    fn garbage_and_truncation_are_clear_errors() {
        assert!(
            read_file(b"", None)
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        let e = read_file(b"\x00\x01garbage garbage", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a certificate Mailflow can read"), "{e}");
        let pem_text = crate::pki::builder::to_pem(&sample_cert());
        let cut = &pem_text[..pem_text.len() / 2];
        let e = read_file(cut.as_bytes(), None).unwrap_err().to_string();
        assert!(e.contains("damaged or truncated"), "{e}");
        let mut der = sample_cert();
        der.truncate(der.len() - 10);
        assert!(read_file(&der, None).is_err());
    }

    #[test]
    fn key_bytes_never_print() {
        let s = SecretDer::new(vec![1, 2, 3]);
        assert_eq!(format!("{s:?}"), "SecretDer(<private key>)");
    }
}
