//! JSON Web Signatures (RFC 7515, compact serialization) made with a certificate's private key,
//! the certificate and its chain in the `x5c` header (§4.1.6): ES256 for P-256 keys, ES384 for
//! P-384, RS256 for RSA (RFC 7518 §3). [`verify`] checks the signature with the key of the
//! first `x5c` certificate and accepts no other algorithm (never `none`); whether that
//! certificate is the one expected is the caller's decision — its fingerprint is confirmed
//! out of band, or it is checked against trust.

use super::error::{PkiError, Result};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rcgen::KeyPair;
use serde::{Deserialize, Serialize};

/// The protected header.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
struct Header {
    alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
    /// Base64 (not URL-safe) DER certificates, the signer's first.
    x5c: Vec<String>,
}

/// A verified signature: what was signed and by which certificate chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub payload: Vec<u8>,
    /// DER, the signer's certificate first.
    pub chain: Vec<Vec<u8>>,
    pub alg: String,
    pub typ: Option<String>,
}

fn bad(why: impl Into<String>) -> PkiError {
    PkiError::Format(format!("the signed pack is damaged: {}", why.into()))
}

/// The JWS algorithm for a key.
fn alg_of(key: &KeyPair) -> Result<&'static str> {
    let a = key.algorithm();
    if a == &rcgen::PKCS_ECDSA_P256_SHA256 {
        Ok("ES256")
    } else if a == &rcgen::PKCS_ECDSA_P384_SHA384 {
        Ok("ES384")
    } else if a == &rcgen::PKCS_RSA_SHA256 {
        Ok("RS256")
    } else {
        Err(PkiError::Unsupported(
            "this key cannot sign a pack: use an RSA, P-256 or P-384 certificate".into(),
        ))
    }
}

/// An ECDSA signature in DER (`SEQUENCE { r, s }`) as JWS writes it: `r || s`, each `n`
/// bytes (RFC 7518 §3.4).
fn ecdsa_fixed(der: &[u8], n: usize) -> Result<Vec<u8>> {
    let (r, s) = yasna::parse_der(der, |r| {
        r.read_sequence(|r| {
            let a = r.next().read_bigint_bytes()?.0;
            let b = r.next().read_bigint_bytes()?.0;
            Ok((a, b))
        })
    })
    .map_err(|e| PkiError::Crypto(format!("unexpected ECDSA signature: {e}")))?;
    let mut out = Vec::with_capacity(2 * n);
    for v in [r, s] {
        let v: Vec<u8> = v.into_iter().skip_while(|b| *b == 0).collect();
        if v.len() > n {
            return Err(PkiError::Crypto("ECDSA signature value too long".into()));
        }
        out.extend(std::iter::repeat_n(0u8, n - v.len()));
        out.extend(v);
    }
    Ok(out)
}

/// Signs `payload` with `key`, whose certificate and chain (DER, the certificate first) go in
/// the `x5c` header; `typ` names what it is.
pub fn sign(payload: &[u8], key: &KeyPair, chain: &[Vec<u8>], typ: &str) -> Result<String> {
    use rcgen::SigningKey;
    let alg = alg_of(key)?;
    let header = Header {
        alg: alg.to_string(),
        typ: Some(typ.to_string()),
        x5c: chain.iter().map(|c| STANDARD.encode(c)).collect(),
    };
    let header = serde_json::to_vec(&header).map_err(|e| PkiError::Crypto(e.to_string()))?;
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let sig = key
        .sign(input.as_bytes())
        .map_err(|e| PkiError::Crypto(e.to_string()))?;
    let sig = match alg {
        "ES256" => ecdsa_fixed(&sig, 32)?,
        "ES384" => ecdsa_fixed(&sig, 48)?,
        _ => sig,
    };
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

/// Checks a compact JWS: one of the three algorithms, the signature valid for the key of the
/// first `x5c` certificate. Any damage is an error that says what is wrong.
pub fn verify(compact: &str) -> Result<Verified> {
    use aws_lc_rs::signature;
    let compact: String = compact.chars().filter(|c| !c.is_whitespace()).collect();
    let mut parts = compact.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("it is not three dot-separated parts"));
    };
    let decode = |part: &str, what: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| bad(format!("its {what} is not base64url")))
    };
    let header: Header = serde_json::from_slice(&decode(h, "header")?)
        .map_err(|e| bad(format!("its header is not understood ({e})")))?;
    let payload = decode(p, "content")?;
    let sig = decode(s, "signature")?;
    let chain: Vec<Vec<u8>> = header
        .x5c
        .iter()
        .map(|c| {
            STANDARD
                .decode(c)
                .map_err(|_| bad("a certificate in x5c is not base64"))
        })
        .collect::<Result<_>>()?;
    let Some(leaf) = chain.first() else {
        return Err(bad("it names no signing certificate (x5c)"));
    };
    let (_, cert) = x509_parser::parse_x509_certificate(leaf)
        .map_err(|e| bad(format!("the signing certificate is not readable ({e})")))?;
    let key = &cert.tbs_certificate.subject_pki.subject_public_key.data;
    let alg: &'static dyn signature::VerificationAlgorithm = match header.alg.as_str() {
        "ES256" => &signature::ECDSA_P256_SHA256_FIXED,
        "ES384" => &signature::ECDSA_P384_SHA384_FIXED,
        "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
        other => {
            return Err(bad(format!(
                "its signature algorithm {other:?} is not one Mailflow accepts (ES256, ES384, RS256)"
            )));
        }
    };
    signature::UnparsedPublicKey::new(alg, key.as_ref())
        .verify(format!("{h}.{p}").as_bytes(), &sig)
        .map_err(|_| {
            PkiError::Format(
                "the pack's signature does not hold: it was changed after it was signed, or not signed by the certificate it names"
                    .into(),
            )
        })?;
    Ok(Verified {
        payload,
        chain,
        alg: header.alg,
        typ: header.typ,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::keys::KeySpec;

    fn signer(spec: KeySpec) -> (KeyPair, Vec<u8>) {
        let key = spec.generate().expect("key");
        let der = crate::pki::ca::create_ca(
            "Contoso Signer",
            "Contoso",
            &key,
            time::OffsetDateTime::now_utc(),
            1,
        )
        .expect("certificate");
        (key, der)
    }

    #[test]
    fn every_key_type_signs_and_verifies() {
        for spec in [KeySpec::P256, KeySpec::P384, KeySpec::Rsa2048] {
            let (key, der) = signer(spec);
            let jws =
                sign(b"{\"hello\":1}", &key, std::slice::from_ref(&der), "pack").expect("sign");
            let v = verify(&jws).expect("verify");
            assert_eq!(v.payload, b"{\"hello\":1}");
            assert_eq!(v.chain, vec![der.clone()]);
            assert_eq!(v.typ.as_deref(), Some("pack"));
            // Line breaks (a wrapped block) do not matter.
            let wrapped: String = jws
                .as_bytes()
                .chunks(64)
                .map(|c| format!("{}\n", String::from_utf8_lossy(c)))
                .collect();
            assert_eq!(verify(&wrapped).expect("wrapped").payload, v.payload);
        }
    }

    #[test]
    fn a_changed_pack_or_another_signer_is_refused() {
        let (key, der) = signer(KeySpec::P256);
        let jws = sign(
            b"{\"domain\":\"contoso.test\"}",
            &key,
            std::slice::from_ref(&der),
            "pack",
        )
        .expect("sign");
        let parts: Vec<&str> = jws.split('.').collect();
        // Another content under the same signature.
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(b"{\"domain\":\"evil.test\"}"),
            parts[2]
        );
        let err = verify(&forged).expect_err("changed").to_string();
        assert!(err.contains("does not hold"), "{err}");
        // Another certificate named as the signer.
        let (_, other) = signer(KeySpec::P256);
        let header = serde_json::to_vec(&Header {
            alg: "ES256".into(),
            typ: None,
            x5c: vec![STANDARD.encode(&other)],
        })
        .expect("json");
        let swapped = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            parts[1],
            parts[2]
        );
        assert!(verify(&swapped).is_err());
        // No signature algorithm at all.
        let none = serde_json::to_vec(&Header {
            alg: "none".into(),
            typ: None,
            x5c: vec![STANDARD.encode(&der)],
        })
        .expect("json");
        let err = verify(&format!("{}.{}.", URL_SAFE_NO_PAD.encode(none), parts[1]))
            .expect_err("none")
            .to_string();
        assert!(err.contains("not one Mailflow accepts"), "{err}");
        for junk in ["", "a.b", "a.b.c.d", "!!.!!.!!"] {
            assert!(verify(junk).is_err(), "{junk}");
        }
    }
}
