//! Chain validation with rustls-webpki: does a certificate lead, through the intermediates we
//! hold, to one of the trusted roots, at a given time and for a given purpose? The answer is a
//! verdict in words an administrator can act on. With revocation lists
//! ([`verify_chain_checked`]), rustls-webpki also checks every certificate below the root
//! against its CA's CRL while it builds the path (RFC 5280 §6.3). Pure: the time is passed in.

use super::crl::Crl;
use crate::config::UnknownRevocationStatus;
use rustls::pki_types::{CertificateDer, UnixTime};
use std::sync::Arc;
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
    /// A certificate of the path is on its CA's revocation list.
    Revoked,
    /// No current revocation list answers for a certificate of the path, and the settings
    /// refuse an unknown status (strict mode).
    RevocationUnknown,
    Other,
}

/// The revocation lists a chain is checked against, and what an unknown status means.
#[derive(Clone, Copy, Debug)]
pub struct RevocationCheck<'a> {
    /// The lists available now (the newest per CA; see [`super::crl::newest_per_issuer`]).
    pub crls: &'a [Arc<Crl>],
    /// No list for a certificate's CA, or only an out-of-date one: allowed (Exchange's
    /// default: a CRL that cannot be had does not stop mail) or a failure (strict).
    pub unknown: UnknownRevocationStatus,
}

fn unix(t: OffsetDateTime) -> UnixTime {
    let secs = t.unix_timestamp().max(0) as u64;
    UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs))
}

fn date_of(t: UnixTime) -> String {
    let secs = t.as_secs() as i64;
    OffsetDateTime::from_unix_timestamp(secs)
        .map(super::text::format_date)
        .unwrap_or_else(|_| "an unreadable date".into())
}

/// Validates `leaf` against `roots` through `intermediates` at `now` for `purpose`, without
/// revocation checks.
pub fn verify_chain(
    leaf: &[u8],
    intermediates: &[Vec<u8>],
    roots: &[Vec<u8>],
    now: OffsetDateTime,
    purpose: Purpose,
) -> ChainVerdict {
    verify_chain_checked(leaf, intermediates, roots, now, purpose, None)
}

/// Validates as [`verify_chain`] does and, with `revocation`, checks the leaf and every
/// intermediate against their CA's revocation list. A revoked certificate fails the chain in
/// every mode; an unknown status (no list, an out-of-date list, a list that does not verify)
/// fails it only when `revocation.unknown` refuses it.
pub fn verify_chain_checked(
    leaf: &[u8],
    intermediates: &[Vec<u8>],
    roots: &[Vec<u8>],
    now: OffsetDateTime,
    purpose: Purpose,
    revocation: Option<RevocationCheck<'_>>,
) -> ChainVerdict {
    let Some(rc) = revocation else {
        return verify_once(leaf, intermediates, roots, now, purpose, None);
    };
    let strict = rc.unknown == UnknownRevocationStatus::Refuse;
    let lists: Vec<&webpki::CertRevocationList<'_>> = rc.crls.iter().map(|c| c.webpki()).collect();
    let Ok(builder) = webpki::RevocationOptionsBuilder::new(&lists) else {
        // No list at all: every status is unknown.
        let verdict = verify_once(leaf, intermediates, roots, now, purpose, None);
        if strict && verdict.is_trusted() {
            return unknown_status(leaf, "no revocation list is installed or cached");
        }
        return verdict;
    };
    let options = if strict {
        builder
            .with_depth(webpki::RevocationCheckDepth::Chain)
            .with_status_policy(webpki::UnknownStatusPolicy::Deny)
            .with_expiration_policy(webpki::ExpirationPolicy::Enforce)
            .build()
    } else {
        // An out-of-date list still proves a revocation (revocation is final), and says
        // nothing about the others: their status is unknown, which is allowed here.
        builder
            .with_depth(webpki::RevocationCheckDepth::Chain)
            .with_status_policy(webpki::UnknownStatusPolicy::Allow)
            .with_expiration_policy(webpki::ExpirationPolicy::Ignore)
            .build()
    };
    let verdict = verify_once(leaf, intermediates, roots, now, purpose, Some(options));
    match &verdict {
        ChainVerdict::Untrusted {
            kind: ChainFailure::Revoked,
            ..
        } => {
            // Name the revoked certificate, its date and reason.
            let mut certs = vec![leaf];
            certs.extend(intermediates.iter().map(|c| c.as_slice()));
            match revoked_entry(&certs, rc.crls) {
                Some(reason) => ChainVerdict::Untrusted {
                    reason,
                    kind: ChainFailure::Revoked,
                },
                None => verdict,
            }
        }
        // A list that cannot be used (its signature does not verify with the CA the path
        // found, say): in the default mode that is an unknown status, not a refusal.
        ChainVerdict::Untrusted {
            kind: ChainFailure::RevocationUnknown,
            ..
        } if !strict => verify_once(leaf, intermediates, roots, now, purpose, None),
        _ => verdict,
    }
}

fn unknown_status(leaf: &[u8], why: &str) -> ChainVerdict {
    let issuer = x509_parser::parse_x509_certificate(leaf)
        .map(|(_, c)| super::text::escape_controls(c.issuer().to_string()))
        .unwrap_or_else(|_| "its CA".into());
    ChainVerdict::Untrusted {
        reason: format!(
            "its revocation status is unknown ({why} for {issuer}) and the settings refuse an unknown status (UnknownRevocationStatus: Refuse)"
        ),
        kind: ChainFailure::RevocationUnknown,
    }
}

/// Words for the first of `certs` that a list from its issuer names as revoked.
fn revoked_entry(certs: &[&[u8]], crls: &[Arc<Crl>]) -> Option<String> {
    for der in certs {
        let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
            continue;
        };
        let issuer = cert.issuer().as_raw();
        for crl in crls.iter().filter(|c| c.issued_by_name(issuer)) {
            if let Ok(Some(entry)) = crl.webpki().find_serial(cert.tbs_certificate.raw_serial()) {
                let what = if cert.is_ca() {
                    "the intermediate CA"
                } else {
                    "the certificate"
                };
                let reason = entry
                    .reason_code
                    .map(|r| format!(", reason {r:?}"))
                    .unwrap_or_default();
                return Some(format!(
                    "revoked: {what} {} was revoked by {} on {}{reason}",
                    super::text::escape_controls(cert.subject().to_string()),
                    crl.info.issuer,
                    date_of(entry.revocation_date),
                ));
            }
        }
    }
    None
}

fn verify_once(
    leaf: &[u8],
    intermediates: &[Vec<u8>],
    roots: &[Vec<u8>],
    now: OffsetDateTime,
    purpose: Purpose,
    revocation: Option<webpki::RevocationOptions<'_>>,
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
        revocation,
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
                webpki::Error::CertRevoked => (
                    ChainFailure::Revoked,
                    "revoked: a certificate of the chain is on its CA's revocation list".into(),
                ),
                webpki::Error::UnknownRevocationStatus => (
                    ChainFailure::RevocationUnknown,
                    "its revocation status is unknown: no revocation list from its CA is installed or cached, and the settings refuse an unknown status (UnknownRevocationStatus: Refuse)".into(),
                ),
                webpki::Error::CrlExpired { next_update, .. } => (
                    ChainFailure::RevocationUnknown,
                    format!(
                        "its revocation status is unknown: its CA's revocation list is out of date since {}, and the settings refuse an unknown status (UnknownRevocationStatus: Refuse)",
                        date_of(next_update)
                    ),
                ),
                webpki::Error::InvalidCrlSignatureForPublicKey
                | webpki::Error::UnsupportedCrlSignatureAlgorithm
                | webpki::Error::UnsupportedCrlSignatureAlgorithmContext(_)
                | webpki::Error::UnsupportedCrlSignatureAlgorithmForPublicKey
                | webpki::Error::UnsupportedCrlSignatureAlgorithmForPublicKeyContext(_)
                | webpki::Error::IssuerNotCrlSigner => (
                    ChainFailure::RevocationUnknown,
                    format!("its revocation status is unknown: the revocation list of its CA cannot be used ({e:?})"),
                ),
                other => (ChainFailure::Other, format!("not valid: {other:?}")),
            };
            untrusted(kind, reason)
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
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

    /// A CRL of `ca` listing `revoked` (certificates' DER), issued at `this`, due at `next`.
    pub(crate) fn crl_of(
        ca: &(Vec<u8>, rcgen::KeyPair),
        revoked: &[&[u8]],
        this: OffsetDateTime,
        next: OffsetDateTime,
    ) -> Arc<Crl> {
        let issuer =
            rcgen::Issuer::from_ca_cert_der(&CertificateDer::from(ca.0.as_slice()), &ca.1).unwrap();
        let params = rcgen::CertificateRevocationListParams {
            this_update: this,
            next_update: next,
            crl_number: rcgen::SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|c| rcgen::RevokedCertParams {
                    serial_number: rcgen::SerialNumber::from_slice(
                        x509_parser::parse_x509_certificate(c)
                            .unwrap()
                            .1
                            .tbs_certificate
                            .raw_serial(),
                    ),
                    revocation_time: this,
                    reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        let crl = params.signed_by(&issuer).unwrap();
        Arc::new(crate::pki::crl::parse_der(crl.der().to_vec()).unwrap())
    }

    fn check(crls: &[Arc<Crl>], unknown: UnknownRevocationStatus) -> Option<RevocationCheck<'_>> {
        Some(RevocationCheck { crls, unknown })
    }

    #[test]
    fn a_revoked_certificate_fails_in_every_mode_and_says_so() {
        let ca = ca_pair("Woodgrove Root");
        let window = (NOW - Duration::days(1), NOW + Duration::days(30));
        let revoked = leaf(&ca, LeafUsage::SMTP, window.0, window.1);
        let good = leaf(&ca, LeafUsage::SMTP, window.0, window.1);
        let list = crl_of(
            &ca,
            &[&revoked],
            NOW - Duration::hours(1),
            NOW + Duration::days(7),
        );
        let lists = std::slice::from_ref(&list);
        let roots = std::slice::from_ref(&ca.0);
        for mode in [
            UnknownRevocationStatus::Allow,
            UnknownRevocationStatus::Refuse,
        ] {
            for purpose in [Purpose::Server, Purpose::Client] {
                match verify_chain_checked(&revoked, &[], roots, NOW, purpose, check(lists, mode)) {
                    ChainVerdict::Untrusted { kind, reason } => {
                        assert_eq!(kind, ChainFailure::Revoked, "{reason}");
                        assert!(reason.starts_with("revoked: the certificate CN=mail.woodgrove.test was revoked by O=Test, CN=Woodgrove Root"), "{reason}");
                        assert!(reason.contains("KeyCompromise"), "{reason}");
                    }
                    t => panic!("{mode:?}: a revoked certificate was trusted: {t:?}"),
                }
                assert!(
                    verify_chain_checked(&good, &[], roots, NOW, purpose, check(lists, mode))
                        .is_trusted(),
                    "{mode:?}: a certificate the list does not name is good"
                );
            }
        }
        // Without the list (the state before this fix) the revoked certificate validates.
        assert!(verify_chain(&revoked, &[], roots, NOW, Purpose::Client).is_trusted());
        // An out-of-date list still proves the revocation (revocation is final).
        let old = crl_of(
            &ca,
            &[&revoked],
            NOW - Duration::days(9),
            NOW - Duration::days(2),
        );
        for mode in [
            UnknownRevocationStatus::Allow,
            UnknownRevocationStatus::Refuse,
        ] {
            assert!(
                !verify_chain_checked(
                    &revoked,
                    &[],
                    roots,
                    NOW,
                    Purpose::Client,
                    check(std::slice::from_ref(&old), mode)
                )
                .is_trusted()
            );
        }
    }

    #[test]
    fn an_unknown_status_is_allowed_by_default_and_refused_in_strict_mode() {
        let ca = ca_pair("Woodgrove Root");
        let other = ca_pair("Fabrikam Root");
        let cert = leaf(
            &ca,
            LeafUsage::SMTP,
            NOW - Duration::days(1),
            NOW + Duration::days(30),
        );
        let roots = vec![ca.0.clone(), other.0.clone()];
        let expired = crl_of(&ca, &[], NOW - Duration::days(9), NOW - Duration::days(2));
        let elsewhere = crl_of(
            &other,
            &[],
            NOW - Duration::hours(1),
            NOW + Duration::days(7),
        );
        let cases: [(&str, Vec<Arc<Crl>>, &str); 3] = [
            ("no list at all", vec![], "no revocation list is installed"),
            (
                "a list of another CA only",
                vec![elsewhere],
                "no revocation list from its CA",
            ),
            ("an out-of-date list", vec![expired], "out of date since"),
        ];
        for (what, lists, words) in cases {
            assert!(
                verify_chain_checked(
                    &cert,
                    &[],
                    &roots,
                    NOW,
                    Purpose::Client,
                    check(&lists, UnknownRevocationStatus::Allow)
                )
                .is_trusted(),
                "{what}: the default allows an unknown status"
            );
            match verify_chain_checked(
                &cert,
                &[],
                &roots,
                NOW,
                Purpose::Client,
                check(&lists, UnknownRevocationStatus::Refuse),
            ) {
                ChainVerdict::Untrusted { kind, reason } => {
                    assert_eq!(kind, ChainFailure::RevocationUnknown, "{what}: {reason}");
                    assert!(
                        reason.contains(words)
                            && reason.contains("UnknownRevocationStatus: Refuse"),
                        "{what}: {reason}"
                    );
                }
                t => panic!("{what}: strict mode trusted an unknown status: {t:?}"),
            }
        }
    }

    /// A list with the CA's name but another key's signature proves nothing: unknown, not
    /// revoked and not good.
    #[test]
    fn a_list_signed_by_another_key_is_not_believed() {
        let ca = ca_pair("Woodgrove Root");
        let impostor = ca_pair("Woodgrove Root");
        let cert = leaf(
            &ca,
            LeafUsage::SMTP,
            NOW - Duration::days(1),
            NOW + Duration::days(30),
        );
        let forged = crl_of(
            &impostor,
            &[&cert],
            NOW - Duration::hours(1),
            NOW + Duration::days(7),
        );
        let lists = std::slice::from_ref(&forged);
        let roots = std::slice::from_ref(&ca.0);
        assert!(
            verify_chain_checked(
                &cert,
                &[],
                roots,
                NOW,
                Purpose::Client,
                check(lists, UnknownRevocationStatus::Allow)
            )
            .is_trusted()
        );
        assert_eq!(
            match verify_chain_checked(
                &cert,
                &[],
                roots,
                NOW,
                Purpose::Client,
                check(lists, UnknownRevocationStatus::Refuse)
            ) {
                ChainVerdict::Untrusted { kind, .. } => kind,
                t => panic!("{t:?}"),
            },
            ChainFailure::RevocationUnknown
        );
        assert!(crate::pki::crl::find_signer(&forged, roots).is_err());
        assert_eq!(
            crate::pki::crl::find_signer(&forged, std::slice::from_ref(&impostor.0)).unwrap(),
            0
        );
    }
}
