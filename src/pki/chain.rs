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
    /// The chain validates; subjects from the leaf to the trusted root.
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
    let anchors: Vec<_> = root_ders
        .iter()
        .filter_map(|r| webpki::anchor_from_trusted_cert(r).ok())
        .collect();
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
            let mut certs = vec![leaf.to_vec()];
            certs.extend(path.intermediate_certificates().map(|c| c.der().to_vec()));
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
