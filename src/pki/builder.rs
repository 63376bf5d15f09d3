//! Building and signing X.509 v3 certificates (RFC 5280 §4.1) from raw parts: names and public
//! key copied byte for byte (so a request's repeated DCs and OUs survive issuance), validity,
//! extensions, signed by an rcgen key pair. The lab CA and the self-signed default certificate
//! both go through here.

use super::der::{self, Extension};
use super::error::{PkiError, Result};
use super::keys;
use rcgen::KeyPair;
use time::OffsetDateTime;

/// The parts of a certificate to build.
#[derive(Clone, Debug)]
pub struct CertificateSpec<'a> {
    /// Unsigned big-endian serial number (at most 20 bytes).
    pub serial: Vec<u8>,
    pub issuer_der: &'a [u8],
    pub subject_der: &'a [u8],
    pub spki_der: &'a [u8],
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub extensions: Vec<Extension>,
}

/// A random positive 16-byte serial number.
pub fn random_serial() -> Result<Vec<u8>> {
    let mut serial = vec![0u8; 16];
    aws_lc_rs::rand::fill(&mut serial)
        .map_err(|_| PkiError::Crypto("no randomness for a serial number".into()))?;
    serial[0] = (serial[0] & 0x7f) | 0x01;
    Ok(serial)
}

/// Encodes the TBSCertificate and signs it with `signer`. Returns the certificate's DER.
pub fn build_certificate(spec: &CertificateSpec<'_>, signer: &KeyPair) -> Result<Vec<u8>> {
    if spec.serial.is_empty() || spec.serial.len() > 20 {
        return Err(PkiError::Unsupported(
            "a serial number has 1 to 20 bytes".into(),
        ));
    }
    if spec.not_after <= spec.not_before {
        return Err(PkiError::Unsupported(
            "the validity period ends before it starts".into(),
        ));
    }
    let alg = keys::signature_algorithm_der(signer)?;
    let tbs = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next()
                .write_tagged(yasna::Tag::context(0), |w| w.write_u8(2));
            w.next().write_bigint_bytes(&spec.serial, true);
            w.next().write_der(&alg);
            w.next().write_der(spec.issuer_der);
            w.next().write_sequence(|w| {
                der::write_time(w.next(), spec.not_before);
                der::write_time(w.next(), spec.not_after);
            });
            w.next().write_der(spec.subject_der);
            w.next().write_der(spec.spki_der);
            if !spec.extensions.is_empty() {
                w.next().write_tagged(yasna::Tag::context(3), |w| {
                    der::write_extensions(w, &spec.extensions)
                });
            }
        })
    });
    keys::sign_structure(&tbs, signer)
}

/// PEM text of a certificate.
pub fn to_pem(der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new("CERTIFICATE", der.to_vec()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}
