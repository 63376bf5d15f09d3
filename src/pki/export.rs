//! Certificates written out for others: a certificate with its chain as PEM, the certificate
//! alone as DER, the chain as PKCS#7 (`.p7b`, a SignedData with certificates and no signer, as
//! Windows writes it), and a PKCS#12 (`.pfx`) backup of a certificate with its private key,
//! encrypted with AES-256 (PBES2, PBKDF2-HMAC-SHA256) and an HMAC-SHA256 integrity check.
//! Pure: the caller brings the DER and the key and writes the bytes.

use super::builder::to_pem;
use super::error::{PkiError, Result};

/// How a certificate is exported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExportFormat {
    /// Base64 (PEM): the certificate followed by its chain (`.pem`/`.cer`).
    PemWithChain,
    /// The certificate alone, binary (`.cer`/`.der`).
    Der,
    /// The certificate and its chain as PKCS#7 (`.p7b`).
    P7b,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 3] = [
        ExportFormat::PemWithChain,
        ExportFormat::Der,
        ExportFormat::P7b,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ExportFormat::PemWithChain => "Base64 (PEM) with the chain",
            ExportFormat::Der => "DER, the certificate alone",
            ExportFormat::P7b => "PKCS#7 (.p7b) with the chain",
        }
    }

    /// The usual file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::PemWithChain => "pem",
            ExportFormat::Der => "cer",
            ExportFormat::P7b => "p7b",
        }
    }

    /// Reads `pem`, `der`, `p7b` (and `cer` as DER).
    pub fn parse(text: &str) -> Option<ExportFormat> {
        match text.trim().to_ascii_lowercase().as_str() {
            "pem" | "base64" => Some(ExportFormat::PemWithChain),
            "der" | "cer" | "binary" => Some(ExportFormat::Der),
            "p7b" | "pkcs7" | "p7c" => Some(ExportFormat::P7b),
            _ => None,
        }
    }
}

/// The bytes of `leaf` (and `chain`, issuer first) in `format`.
pub fn certificate(leaf: &[u8], chain: &[Vec<u8>], format: ExportFormat) -> Vec<u8> {
    match format {
        ExportFormat::PemWithChain => {
            let mut text = to_pem(leaf);
            for c in chain {
                text.push_str(&to_pem(c));
            }
            text.into_bytes()
        }
        ExportFormat::Der => leaf.to_vec(),
        ExportFormat::P7b => {
            let mut all: Vec<&[u8]> = vec![leaf];
            all.extend(chain.iter().map(Vec::as_slice));
            p7b(&all)
        }
    }
}

/// A "certs-only" PKCS#7 SignedData (RFC 5652 §5; RFC 2315's degenerate case): version 1, no
/// digest algorithms, data content absent, the certificates, no signer.
pub fn p7b(certs: &[&[u8]]) -> Vec<u8> {
    use yasna::Tag;
    use yasna::models::ObjectIdentifier;
    let signed_data = ObjectIdentifier::from_slice(&[1, 2, 840, 113549, 1, 7, 2]);
    let data = ObjectIdentifier::from_slice(&[1, 2, 840, 113549, 1, 7, 1]);
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_oid(&signed_data);
            w.next().write_tagged(Tag::context(0), |w| {
                w.write_sequence(|w| {
                    w.next().write_u8(1);
                    w.next().write_set(|_| {});
                    w.next().write_sequence(|w| w.next().write_oid(&data));
                    w.next().write_tagged_implicit(Tag::context(0), |w| {
                        w.write_set_of(|w| {
                            for c in certs {
                                w.next().write_der(c);
                            }
                        });
                    });
                    w.next().write_set(|_| {});
                });
            });
        });
    })
}

/// The shortest PFX password accepted: the file holds the private key.
pub const MIN_PFX_PASSWORD: usize = 8;

/// Checks a password for a PFX backup.
pub fn check_pfx_password(password: &str, again: &str) -> Result<()> {
    if password.chars().count() < MIN_PFX_PASSWORD {
        return Err(PkiError::Unsupported(format!(
            "the password must have at least {MIN_PFX_PASSWORD} characters: the file holds the private key"
        )));
    }
    if password != again {
        return Err(PkiError::Unsupported(
            "the two passwords differ: type the same password twice".into(),
        ));
    }
    Ok(())
}

/// A PKCS#12 backup of `leaf` with its chain and private key (`key_pkcs8`, DER), encrypted
/// with AES-256 under `password`.
pub fn pfx(
    leaf: &[u8],
    chain: &[Vec<u8>],
    key_pkcs8: &[u8],
    friendly_name: &str,
    password: &str,
) -> Result<Vec<u8>> {
    use p12_keystore::{KeyStore, KeyStoreEntry, PrivateKeyChain};
    let bad = |e: p12_keystore::error::Error| PkiError::Crypto(format!("PKCS#12: {e}"));
    let mut certs = vec![p12_keystore::Certificate::from_der(leaf).map_err(bad)?];
    for c in chain {
        certs.push(p12_keystore::Certificate::from_der(c).map_err(bad)?);
    }
    let key = p12_keystore::PrivateKey::from_der(key_pkcs8).map_err(bad)?;
    let local_key_id = super::digest::sha1_raw(leaf);
    let mut store = KeyStore::new();
    store.add_entry(
        friendly_name,
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(local_key_id, key, certs)),
    );
    store
        .writer(password)
        .encryption_algorithm(p12_keystore::EncryptionAlgorithm::PbeWithHmacSha256AndAes256)
        .mac_algorithm(p12_keystore::MacAlgorithm::HmacSha256)
        .write()
        .map_err(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::ca;
    use crate::pki::import::{read_file, read_pkcs7};
    use crate::pki::keys::KeySpec;
    use crate::pki::subject::Subject;
    use time::OffsetDateTime;

    fn pair() -> (Vec<u8>, Vec<u8>, rcgen::KeyPair) {
        let now = OffsetDateTime::now_utc();
        let ca_key = KeySpec::P256.generate().expect("key");
        let ca_der = ca::create_ca("Export Test CA", "Contoso", &ca_key, now, 1).expect("ca");
        let key = KeySpec::P256.generate().expect("key");
        let leaf = ca::self_signed(
            &Subject::parse("CN=mail.contoso.test").expect("subject"),
            &["mail.contoso.test".to_string()],
            &key,
            now,
            30,
        )
        .expect("leaf");
        (leaf, ca_der, key)
    }

    /// Every format reads back with our own reader (PKCS#7 with the chain; openssl reads them
    /// too in the integration tests).
    #[test]
    fn each_format_reads_back() {
        let (leaf, ca_der, _) = pair();
        let chain = vec![ca_der.clone()];
        let p7 = certificate(&leaf, &chain, ExportFormat::P7b);
        // DER sorts a SET OF: the order is the encoding's, the certificates all there.
        let mut got = read_pkcs7(&p7).expect("p7b");
        got.sort();
        let mut want = vec![leaf.clone(), ca_der.clone()];
        want.sort();
        assert_eq!(got, want);
        let pem = certificate(&leaf, &chain, ExportFormat::PemWithChain);
        assert_eq!(
            read_file(&pem, None).expect("pem").certificates,
            vec![leaf.clone(), ca_der]
        );
        assert_eq!(certificate(&leaf, &chain, ExportFormat::Der), leaf);
        assert_eq!(ExportFormat::parse("P7B"), Some(ExportFormat::P7b));
        assert_eq!(ExportFormat::parse("zip"), None);
    }

    #[test]
    fn a_pfx_opens_with_its_password_only_and_keeps_the_key() {
        let (leaf, ca_der, key) = pair();
        let bytes = pfx(
            &leaf,
            std::slice::from_ref(&ca_der),
            &key.serialize_der(),
            "mail.contoso.test",
            "correct horse",
        )
        .expect("pfx");
        let read = read_file(&bytes, Some("correct horse")).expect("opens");
        assert_eq!(read.certificates[0], leaf);
        assert!(read.certificates.contains(&ca_der));
        assert_eq!(read.private_keys.len(), 1);
        assert!(matches!(
            read_file(&bytes, Some("wrong horse")),
            Err(PkiError::WrongPassword)
        ));
        assert!(check_pfx_password("short", "short").is_err());
        assert!(check_pfx_password("long enough", "long enougH").is_err());
        assert!(check_pfx_password("long enough", "long enough").is_ok());
    }
}
