//! Chain validation with rustls-webpki: does a certificate lead, through the intermediates we
//! hold, to one of the trusted roots, at a given time and for a given purpose? The answer is a
//! verdict in words an administrator can act on. Pure: the time is passed in.

use rustls::pki_types::{CertificateDer, UnixTime};
use time::OffsetDateTime;

/// The TLS purpose a certificate is checked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A server's certificate (receive connector STARTTLS, the partner we deliver to).
    Server,
    /// A client's certificate (mutual TLS: our send connector, the partner sending to us).
    Client,
}

impl Purpose {
    pub fn eku_name(self) -> &'static str {
        match self {
            Purpose::Server => "serverAuth",
            Purpose::Client => "clientAuth",
        }
    }
}

/// The result of chain validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainVerdict {
    /// The chain validates; `path` is the DER of each certificate from the leaf (first) through
    /// the intermediates to the trusted root webpki anchored it on (last).
    Trusted { path: Vec<Vec<u8>> },
    /// The chain does not validate; `reason` says why in plain words.
    Untrusted { reason: String, kind: ChainFailure },
}

impl ChainVerdict {
    pub fn is_trusted(&self) -> bool {
        matches!(self, ChainVerdict::Trusted { .. })
    }
}

/// Why a chain failed, for decisions (the reason text is for people).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainFailure {
    Expired,
    NotYetValid,
    UnknownIssuer,
    WrongUsage,
    BadSignature,
    CaAsEndEntity,
    Malformed,
    Other,
}

fn unix(t: OffsetDateTime) -> UnixTime {
    let secs = t.unix_timestamp().max(0) as u64;
    UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs))
}

fn date_of(t: UnixTime) -> String {
    let secs = t.as_secs() as i64;
    OffsetDateTime::from_unix_timestamp(secs)
        .map(super::inspect::format_date)
        .unwrap_or_else(|_| "an unreadable date".into())
}

/// Validates `leaf` against `roots` through `intermediates` at `now` for `purpose`.
pub fn verify_chain(
    leaf: &[u8],
    intermediates: &[Vec<u8>],
    roots: &[Vec<u8>],
    now: OffsetDateTime,
    purpose: Purpose,
) -> ChainVerdict {
    let untrusted = |kind: ChainFailure, reason: String| ChainVerdict::Untrusted { reason, kind };
    let leaf_der = CertificateDer::from(leaf);
    let ee = match webpki::EndEntityCert::try_from(&leaf_der) {
        Ok(ee) => ee,
        Err(e) => {
            return untrusted(
                ChainFailure::Malformed,
                format!("the certificate cannot be parsed for validation ({e})"),
            );
        }
    };
    let root_ders: Vec<CertificateDer<'_>> = roots
        .iter()
        .map(|r| CertificateDer::from(r.as_slice()))
        .collect();
    // Each usable anchor with the index of the root it came from, so that the anchor webpki
    // used can be mapped back to that root's DER (never guessed by name: two roots may share
    // a subject).
    let (anchor_roots, anchors): (Vec<usize>, Vec<_>) = root_ders
        .iter()
        .enumerate()
        .filter_map(|(i, r)| webpki::anchor_from_trusted_cert(r).ok().map(|a| (i, a)))
        .unzip();
    if anchors.is_empty() {
        return untrusted(
            ChainFailure::UnknownIssuer,
            "no trusted root certificates are installed: add the issuing CA's root with `mailflow trust add`".into(),
        );
    }
    let inter: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();
    let usage = match purpose {
        Purpose::Server => webpki::KeyUsage::server_auth(),
        Purpose::Client => webpki::KeyUsage::client_auth(),
    };
    match ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &inter,
        unix(now),
        usage,
        None,
        None,
    ) {
        Ok(path) => {
            // `anchor()` refers into `anchors`: find it by address (equal content as a
            // fallback, which the same root imported twice would give).
            let used = path.anchor();
            let Some(root) = anchors
                .iter()
                .position(|a| std::ptr::eq(a, used))
                .or_else(|| anchors.iter().position(|a| a == used))
                .and_then(|i| anchor_roots.get(i))
                .and_then(|&i| roots.get(i))
            else {
                return untrusted(
                    ChainFailure::Other,
                    "the trusted root that anchors the chain could not be identified".into(),
                );
            };
            let mut certs = vec![leaf.to_vec()];
            certs.extend(path.intermediate_certificates().map(|c| c.der().to_vec()));
            certs.push(root.clone());
            ChainVerdict::Trusted { path: certs }
        }
        Err(e) => {
            #[allow(deprecated)]
            let (kind, reason) = match e {
                webpki::Error::CertExpired { not_after, .. } => {
                    (ChainFailure::Expired, format!("expired on {}", date_of(not_after)))
                }
                webpki::Error::CertNotValidYet { not_before, .. } => {
                    (ChainFailure::NotYetValid, format!("not valid before {}", date_of(not_before)))
                }
                webpki::Error::UnknownIssuer => (
                    ChainFailure::UnknownIssuer,
                    "issued by a CA that is not trusted: the chain does not lead to a trusted root".into(),
                ),
                webpki::Error::RequiredEkuNotFound | webpki::Error::RequiredEkuNotFoundContext(_) => (
                    ChainFailure::WrongUsage,
                    format!("not valid for {} (extended key usage)", purpose.eku_name()),
                ),
                webpki::Error::InvalidSignatureForPublicKey | webpki::Error::SignatureAlgorithmMismatch => (
                    ChainFailure::BadSignature,
                    "the signature does not verify: the certificate was altered or not issued by the CA it names".into(),
                ),
                webpki::Error::CaUsedAsEndEntity => (
                    ChainFailure::CaAsEndEntity,
                    "it is a CA certificate, not a server or client certificate".into(),
                ),
                webpki::Error::BadDer | webpki::Error::BadDerTime | webpki::Error::MalformedExtensions => {
                    (ChainFailure::Malformed, format!("malformed certificate ({e:?})"))
                }
                other => (ChainFailure::Other, format!("not valid: {other:?}")),
            };
            untrusted(kind, reason)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::ca::{self, LeafUsage};
    use crate::pki::keys::{self, KeySpec};
    use crate::pki::subject::Subject;
    use time::{Duration, macros::datetime};

    const NOW: OffsetDateTime = datetime!(2026-11-29 12:00 UTC);

    fn ca_pair(name: &str) -> (Vec<u8>, rcgen::KeyPair) {
        let key = KeySpec::P256.generate().unwrap();
        (
            ca::create_ca(name, "Test", &key, NOW - Duration::days(1), 5).unwrap(),
            key,
        )
    }

    fn leaf(
        ca: &(Vec<u8>, rcgen::KeyPair),
        usage: LeafUsage,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Vec<u8> {
        let key = KeySpec::P256.generate().unwrap();
        let subject = Subject::parse("CN=mail.woodgrove.test").unwrap().to_der();
        let san = crate::pki::der::san_dns_ext(&["mail.woodgrove.test".into()]).value;
        ca::issue_leaf(
            &ca.0,
            &ca.1,
            &subject,
            &keys::spki_der(&key),
            Some(san),
            usage,
            from,
            to,
        )
        .unwrap()
    }

    #[test]
    fn a_good_chain_is_trusted_for_both_purposes() {
        let ca = ca_pair("Woodgrove Root");
        let cert = leaf(
            &ca,
            LeafUsage::SMTP,
            NOW - Duration::days(1),
            NOW + Duration::days(30),
        );
        for purpose in [Purpose::Server, Purpose::Client] {
            assert!(
                verify_chain(&cert, &[], std::slice::from_ref(&ca.0), NOW, purpose).is_trusted()
            );
        }
    }

    /// The path names the root webpki used, even among roots with the same subject.
    #[test]
    fn the_path_ends_with_the_anchoring_root() {
        let first = ca_pair("Woodgrove Root");
        let second = ca_pair("Woodgrove Root");
        let cert = leaf(
            &second,
            LeafUsage::SMTP,
            NOW - Duration::days(1),
            NOW + Duration::days(30),
        );
        let roots = vec![first.0.clone(), second.0.clone()];
        match verify_chain(&cert, &[], &roots, NOW, Purpose::Server) {
            ChainVerdict::Trusted { path } => assert_eq!(path, vec![cert, second.0]),
            other => panic!("expected trusted, got {other:?}"),
        }
    }

    #[test]
    fn each_failure_has_its_kind_and_words() {
        let ca = ca_pair("Woodgrove Root");
        let other = ca_pair("Fabrikam Root");
        let good = leaf(
            &ca,
            LeafUsage::SMTP,
            NOW - Duration::days(1),
            NOW + Duration::days(30),
        );
        let expired = leaf(
            &ca,
            LeafUsage::SMTP,
            NOW - Duration::days(60),
            datetime!(2026-10-01 00:00 UTC),
        );
        let future = leaf(
            &ca,
            LeafUsage::SMTP,
            NOW + Duration::days(2),
            NOW + Duration::days(30),
        );
        let server_only = leaf(
            &ca,
            LeafUsage {
                server_auth: true,
                client_auth: false,
            },
            NOW - Duration::days(1),
            NOW + Duration::days(30),
        );
        let roots = std::slice::from_ref(&ca.0);
        let kind = |v: ChainVerdict| match v {
            ChainVerdict::Untrusted { kind, reason } => (kind, reason),
            t => panic!("expected untrusted, got {t:?}"),
        };
        let (k, r) = kind(verify_chain(&expired, &[], roots, NOW, Purpose::Server));
        assert_eq!(k, ChainFailure::Expired);
        assert!(r.contains("expired on 2026-10-01"), "{r}");
        assert_eq!(
            kind(verify_chain(&future, &[], roots, NOW, Purpose::Server)).0,
            ChainFailure::NotYetValid
        );
        let (k, r) = kind(verify_chain(
            &good,
            &[],
            std::slice::from_ref(&other.0),
            NOW,
            Purpose::Server,
        ));
        assert_eq!(k, ChainFailure::UnknownIssuer);
        assert!(r.contains("not trusted"), "{r}");
        let (k, r) = kind(verify_chain(&server_only, &[], roots, NOW, Purpose::Client));
        assert_eq!(k, ChainFailure::WrongUsage);
        assert!(r.contains("clientAuth"), "{r}");
        assert!(verify_chain(&server_only, &[], roots, NOW, Purpose::Server).is_trusted());
        assert_eq!(
            kind(verify_chain(&ca.0, &[], roots, NOW, Purpose::Server)).0,
            ChainFailure::CaAsEndEntity
        );
        assert_eq!(
            kind(verify_chain(&good, &[], &[], NOW, Purpose::Server)).0,
            ChainFailure::UnknownIssuer
        );
        let mut tampered = good.clone();
        let n = tampered.len();
        tampered[n - 5] ^= 0x55;
        assert!(!verify_chain(&tampered, &[], roots, NOW, Purpose::Server).is_trusted());
    }
}
