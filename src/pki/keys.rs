//! Key pairs: the key types a request may ask for (RSA 2048/3072/4096, ECDSA P-256/P-384),
//! generation through rcgen on aws-lc-rs, loading from PKCS#8/PKCS#1/SEC1, and the signature
//! algorithm each key signs with.

use super::der::{object_id, oid};
use super::error::{PkiError, Result};
use rcgen::{KeyPair, PublicKeyData};
use std::fmt;
use std::str::FromStr;

/// Key type and size of a new request.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum KeySpec {
    #[default]
    Rsa2048,
    Rsa3072,
    Rsa4096,
    P256,
    P384,
}

impl KeySpec {
    pub const ALL: [KeySpec; 5] = [
        KeySpec::Rsa2048,
        KeySpec::Rsa3072,
        KeySpec::Rsa4096,
        KeySpec::P256,
        KeySpec::P384,
    ];

    /// The word used on the command line (`rsa2048`, `p256`, ...).
    pub fn cli_name(self) -> &'static str {
        match self {
            KeySpec::Rsa2048 => "rsa2048",
            KeySpec::Rsa3072 => "rsa3072",
            KeySpec::Rsa4096 => "rsa4096",
            KeySpec::P256 => "p256",
            KeySpec::P384 => "p384",
        }
    }

    pub fn is_rsa(self) -> bool {
        matches!(self, KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096)
    }

    /// Generates a new key pair. RSA 4096 takes a few seconds: call it off the UI thread.
    pub fn generate(self) -> Result<KeyPair> {
        let crypto = |e: rcgen::Error| PkiError::Crypto(e.to_string());
        match self {
            KeySpec::Rsa2048 => {
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
            }
            KeySpec::Rsa3072 => {
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_3072)
            }
            KeySpec::Rsa4096 => {
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_4096)
            }
            KeySpec::P256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
            KeySpec::P384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
        }
        .map_err(crypto)
    }
}

impl fmt::Display for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeySpec::Rsa2048 => "RSA 2048",
            KeySpec::Rsa3072 => "RSA 3072",
            KeySpec::Rsa4096 => "RSA 4096",
            KeySpec::P256 => "ECDSA P-256",
            KeySpec::P384 => "ECDSA P-384",
        })
    }
}

impl FromStr for KeySpec {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let norm: String = s
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        match norm.as_str() {
            "rsa2048" | "rsa" | "2048" => Ok(KeySpec::Rsa2048),
            "rsa3072" | "3072" => Ok(KeySpec::Rsa3072),
            "rsa4096" | "4096" => Ok(KeySpec::Rsa4096),
            "p256" | "ecdsap256" | "ec256" | "secp256r1" | "prime256v1" => Ok(KeySpec::P256),
            "p384" | "ecdsap384" | "ec384" | "secp384r1" => Ok(KeySpec::P384),
            _ => Err(format!(
                "'{s}' is not a key type: use rsa2048 (default), rsa3072, rsa4096, p256 or p384"
            )),
        }
    }
}

/// Loads a private key from DER (PKCS#8, PKCS#1 RSA or SEC1 EC).
pub fn key_from_der(der: &[u8]) -> Result<KeyPair> {
    KeyPair::try_from(der).map_err(|e| {
        PkiError::Unsupported(format!(
            "the private key cannot be used: {e} (supported: RSA, ECDSA P-256/P-384, Ed25519)"
        ))
    })
}

/// Loads a private key from PEM text.
pub fn key_from_pem(pem_text: &str) -> Result<KeyPair> {
    let block = pem::parse(pem_text)
        .map_err(|e| PkiError::Format(format!("the private key file is not valid PEM: {e}")))?;
    key_from_der(block.contents())
}

/// SubjectPublicKeyInfo DER of a key pair.
pub fn spki_der(key: &KeyPair) -> Vec<u8> {
    key.subject_public_key_info()
}

/// Writes the AlgorithmIdentifier of the signatures this key makes.
pub fn signature_algorithm_der(key: &KeyPair) -> Result<Vec<u8>> {
    let alg = key.algorithm();
    let (id, null_params): (&[u64], bool) = if alg == &rcgen::PKCS_RSA_SHA256 {
        (oid::RSA_SHA256, true)
    } else if alg == &rcgen::PKCS_RSA_SHA384 {
        (oid::RSA_SHA384, true)
    } else if alg == &rcgen::PKCS_ECDSA_P256_SHA256 {
        (oid::ECDSA_SHA256, false)
    } else if alg == &rcgen::PKCS_ECDSA_P384_SHA384 {
        (oid::ECDSA_SHA384, false)
    } else if alg == &rcgen::PKCS_ED25519 {
        (oid::ED25519, false)
    } else {
        return Err(PkiError::Unsupported(
            "this key's signature algorithm is not supported for signing (use RSA, ECDSA P-256/P-384 or Ed25519)".into(),
        ));
    };
    Ok(yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_oid(&object_id(id));
            if null_params {
                w.next().write_null();
            }
        })
    }))
}

/// Signs `tbs` and wraps it as `SEQUENCE { tbs, algorithm, BIT STRING signature }` — the shape
/// shared by certificates and PKCS#10 requests.
pub fn sign_structure(tbs: &[u8], key: &KeyPair) -> Result<Vec<u8>> {
    use rcgen::SigningKey;
    let alg = signature_algorithm_der(key)?;
    let sig = key.sign(tbs).map_err(|e| PkiError::Crypto(e.to_string()))?;
    Ok(yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_der(tbs);
            w.next().write_der(&alg);
            w.next().write_bitvec_bytes(&sig, sig.len() * 8);
        })
    }))
}

/// The key identifier of RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits.
pub fn key_identifier(spki: &[u8]) -> Result<Vec<u8>> {
    use x509_parser::prelude::FromDer;
    let (_, info) = x509_parser::x509::SubjectPublicKeyInfo::from_der(spki)
        .map_err(|e| PkiError::Format(format!("the public key is malformed: {e}")))?;
    Ok(super::digest::sha1_raw(&info.subject_public_key.data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_specs_parse_from_cli_words() {
        for spec in KeySpec::ALL {
            assert_eq!(spec.cli_name().parse::<KeySpec>().unwrap(), spec);
        }
        assert_eq!("RSA-4096".parse::<KeySpec>().unwrap(), KeySpec::Rsa4096);
        assert!(
            "dsa1024"
                .parse::<KeySpec>()
                .unwrap_err()
                .contains("rsa2048")
        );
    }

    #[test]
    fn ecdsa_keys_generate_and_reload() {
        for spec in [KeySpec::P256, KeySpec::P384] {
            let k = spec.generate().unwrap();
            let again = key_from_pem(&k.serialize_pem()).unwrap();
            assert_eq!(spki_der(&k), spki_der(&again));
            assert!(signature_algorithm_der(&k).is_ok());
        }
    }
}
