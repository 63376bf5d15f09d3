//! Certificate revocation lists (RFC 5280 §5): reading a CRL file (PEM `X509 CRL` or DER),
//! finding the CA certificate that signed it (name and signature, and `cRLSign` when the CA
//! restricts its key usage), the facts an administrator looks at (issuer, this and next
//! update, number, entries), and the http:// distribution points a certificate names
//! (RFC 5280 §4.2.1.13). The revocation check itself happens during path building in
//! rustls-webpki ([`super::chain`]); this module only prepares the lists for it. Pure: time is
//! passed in.

use super::PkiError;
use super::text::{escape_controls, format_date};
use std::sync::Arc;
use time::OffsetDateTime;
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};

/// A CRL larger than this is refused (a CA's full list of a few hundred thousand entries fits).
pub const MAX_CRL_BYTES: usize = 16 * 1024 * 1024;

/// The facts of a CRL an administrator looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrlInfo {
    /// SHA-1 of the CRL's DER, in hex: names the CRL in the store.
    pub id: String,
    /// The CA that issued it, as a distinguished name.
    pub issuer: String,
    /// `thisUpdate`: when the CA issued it.
    pub this_update: OffsetDateTime,
    /// `nextUpdate`: when the CA promises the next one. After it the list is out of date
    /// (its status answers are unknown, not "good").
    pub next_update: OffsetDateTime,
    /// The CRL number (RFC 5280 §5.2.3), in hex, when present.
    pub number: Option<String>,
    /// How many certificates it lists as revoked.
    pub revoked: usize,
}

impl CrlInfo {
    /// Whether `nextUpdate` has passed.
    pub fn is_out_of_date(&self, now: OffsetDateTime) -> bool {
        now >= self.next_update
    }

    /// A line about its date for people: when the next list is due, or since when it is late.
    pub fn next_update_words(&self, now: OffsetDateTime) -> String {
        if self.is_out_of_date(now) {
            format!(
                "out of date since {}: get a newer list from the CA",
                format_date(self.next_update)
            )
        } else {
            format!("next update {}", format_date(self.next_update))
        }
    }
}

/// A CRL ready for revocation checks: its DER, its facts and rustls-webpki's parsed form.
#[derive(Debug)]
pub struct Crl {
    pub der: Vec<u8>,
    pub info: CrlInfo,
    issuer_raw: Vec<u8>,
    list: webpki::CertRevocationList<'static>,
}

impl Crl {
    /// The list as rustls-webpki checks certificates against it.
    pub fn webpki(&self) -> &webpki::CertRevocationList<'static> {
        &self.list
    }

    /// Whether the CA named by `issuer_raw` (a DER Name) issued this list.
    pub fn issued_by_name(&self, issuer_raw: &[u8]) -> bool {
        self.issuer_raw == issuer_raw
    }
}

fn bad(why: impl std::fmt::Display) -> PkiError {
    PkiError::Format(format!(
        "the file is not a certificate revocation list Mailflow can use: {why}"
    ))
}

fn to_time(t: x509_parser::time::ASN1Time) -> OffsetDateTime {
    t.to_datetime()
}

/// Reads a CRL from a file's bytes: PEM (`-----BEGIN X509 CRL-----`) or DER.
pub fn read_crl(bytes: &[u8]) -> Result<Crl, PkiError> {
    if bytes.len() > MAX_CRL_BYTES {
        return Err(bad(format!(
            "it is larger than {} MB",
            MAX_CRL_BYTES / (1024 * 1024)
        )));
    }
    let der = if bytes.starts_with(b"-----") || bytes.trim_ascii_start().starts_with(b"-----") {
        let text = std::str::from_utf8(bytes).map_err(|_| bad("the PEM text is not UTF-8"))?;
        let blocks = pem::parse_many(text).map_err(|e| bad(format!("damaged PEM ({e})")))?;
        let crls: Vec<_> = blocks.iter().filter(|b| b.tag() == "X509 CRL").collect();
        match crls.as_slice() {
            [one] => one.contents().to_vec(),
            [] => {
                let tags: Vec<&str> = blocks.iter().map(|b| b.tag()).collect();
                return Err(bad(format!(
                    "it holds no `X509 CRL` block (found: {})",
                    if tags.is_empty() {
                        "nothing".to_string()
                    } else {
                        tags.join(", ")
                    }
                )));
            }
            _ => return Err(bad("it holds several CRLs: add them one at a time")),
        }
    } else {
        bytes.to_vec()
    };
    parse_der(der)
}

/// Parses the DER of a CRL.
pub fn parse_der(der: Vec<u8>) -> Result<Crl, PkiError> {
    // rustls-webpki's own reading first: what it refuses (delta CRLs, v1 lists, indirect
    // CRLs, no nextUpdate) can never take part in a check.
    let owned = webpki::OwnedCertRevocationList::from_der(&der).map_err(|e| {
        #[allow(deprecated)]
        match e {
            webpki::Error::UnsupportedDeltaCrl => {
                bad("it is a delta CRL; give the CA's full (base) CRL")
            }
            webpki::Error::UnsupportedCrlVersion => {
                bad("it is not a version 2 CRL (RFC 5280 §5.1.2.1)")
            }
            webpki::Error::UnsupportedIndirectCrl => bad("indirect CRLs are not supported"),
            webpki::Error::UnsupportedRevocationReasonsPartitioning => {
                bad("CRLs partitioned by reason are not supported")
            }
            other => bad(format!("DER that does not parse as a CRL ({other:?})")),
        }
    })?;
    let (rest, crl) =
        x509_parser::parse_x509_crl(&der).map_err(|e| bad(format!("DER error ({e})")))?;
    if !rest.is_empty() {
        return Err(bad("data follows the CRL"));
    }
    let Some(next_update) = crl.next_update() else {
        return Err(bad("it has no nextUpdate date (RFC 5280 §5.1.2.5)"));
    };
    let info = CrlInfo {
        id: super::digest::thumbprint(&der),
        issuer: escape_controls(crl.issuer().to_string()),
        this_update: to_time(crl.last_update()),
        next_update: to_time(next_update),
        number: crl.crl_number().map(|n| n.to_str_radix(16).to_uppercase()),
        revoked: crl.iter_revoked_certificates().count(),
    };
    let issuer_raw = crl.issuer().as_raw().to_vec();
    drop(crl);
    Ok(Crl {
        der,
        info,
        issuer_raw,
        list: webpki::CertRevocationList::Owned(owned),
    })
}

/// Finds, among `candidates` (DER certificates: trusted roots, chain certificates), the CA
/// certificate that signed `crl`: same name as the CRL's issuer, a signature that verifies
/// with its key, and `cRLSign` when it restricts its key usage (RFC 5280 §4.2.1.3). Returns its
/// index. Refused with the reason otherwise.
pub fn find_signer(crl: &Crl, candidates: &[Vec<u8>]) -> Result<usize, PkiError> {
    let (_, parsed) = x509_parser::parse_x509_crl(&crl.der).map_err(|e| bad(e.to_string()))?;
    let mut named = 0;
    let mut not_signer = None;
    for (i, der) in candidates.iter().enumerate() {
        let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
            continue;
        };
        if cert.tbs_certificate.subject.as_raw() != crl.issuer_raw.as_slice() {
            continue;
        }
        named += 1;
        if parsed.verify_signature(cert.public_key()).is_err() {
            continue;
        }
        if let Ok(Some(ku)) = cert.key_usage()
            && !ku.value.crl_sign()
        {
            not_signer = Some(i);
            continue;
        }
        return Ok(i);
    }
    if not_signer.is_some() {
        return Err(PkiError::BadSignature(format!(
            "the CA {} may not sign revocation lists (its key usage has no cRLSign); nothing was added",
            crl.info.issuer
        )));
    }
    if named == 0 {
        return Err(PkiError::BadSignature(format!(
            "the CRL is issued by {}, which is neither a trusted root nor a chain certificate in the store: trust that CA first (`mailflow trust add`); nothing was added",
            crl.info.issuer
        )));
    }
    Err(PkiError::BadSignature(format!(
        "the CRL's signature does not verify with the certificate of {}: it was altered, or signed by another CA with the same name; nothing was added",
        crl.info.issuer
    )))
}

/// The http:// CRL distribution points a certificate names (RFC 5280 §4.2.1.13), in order.
/// Other schemes (ldap://, https://) are left out: Mailflow fetches over plain HTTP only, as
/// the CRL itself is signed.
pub fn distribution_points(cert_der: &[u8]) -> Vec<String> {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(cert_der) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for ext in cert.extensions() {
        if let ParsedExtension::CRLDistributionPoints(points) = ext.parsed_extension() {
            for p in points.iter() {
                if let Some(DistributionPointName::FullName(names)) = &p.distribution_point {
                    for n in names {
                        if let GeneralName::URI(uri) = n
                            && uri.len() > 7
                            && uri[..7].eq_ignore_ascii_case("http://")
                            && !out.iter().any(|o: &String| o == uri)
                        {
                            out.push(uri.to_string());
                        }
                    }
                }
            }
        }
    }
    out
}

/// The newest list per issuing CA among `lists` (by thisUpdate): rustls-webpki consults the
/// first list that names a certificate's issuer, so an older list must not hide a newer one.
pub fn newest_per_issuer(lists: &[Arc<Crl>]) -> Vec<Arc<Crl>> {
    let mut out: Vec<Arc<Crl>> = Vec::new();
    for l in lists {
        match out.iter_mut().find(|o| o.issuer_raw == l.issuer_raw) {
            Some(o) if o.info.this_update < l.info.this_update => *o = l.clone(),
            Some(_) => {}
            None => out.push(l.clone()),
        }
    }
    out
}

/// When a cached list should be fetched again: a tenth of its period before nextUpdate (at
/// least 5 minutes before), so a fresh list is in place before the old one runs out.
pub fn refresh_due(info: &CrlInfo) -> OffsetDateTime {
    let period = info.next_update - info.this_update;
    let margin = std::cmp::max(period / 10_i32, time::Duration::minutes(5));
    info.next_update - margin
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::chain::tests::crl_of;
    use crate::pki::keys::KeySpec;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-29 12:00 UTC);

    fn ca(name: &str) -> (Vec<u8>, rcgen::KeyPair) {
        let key = KeySpec::P256.generate().unwrap();
        let der = crate::pki::ca::create_ca(name, "Test", &key, NOW - time::Duration::days(1), 5)
            .unwrap();
        (der, key)
    }

    #[test]
    fn reads_pem_and_der_and_says_what_is_wrong_otherwise() {
        let root = ca("Woodgrove Root");
        let list = crl_of(
            &root,
            &[],
            NOW - time::Duration::hours(1),
            NOW + time::Duration::days(7),
        );
        let pem = ::pem::encode(&::pem::Pem::new("X509 CRL", list.der.clone()));
        for bytes in [list.der.clone(), pem.into_bytes()] {
            let c = read_crl(&bytes).unwrap();
            assert_eq!(c.info, list.info);
            assert_eq!(c.info.issuer, "O=Test, CN=Woodgrove Root");
            assert_eq!(c.info.number.as_deref(), Some("1"));
            assert!(!c.info.is_out_of_date(NOW));
            assert!(
                c.info
                    .next_update_words(NOW)
                    .starts_with("next update 2026-12-06")
            );
            assert!(
                c.info
                    .next_update_words(NOW + time::Duration::days(8))
                    .contains("out of date since 2026-12-06")
            );
        }
        let cert_pem = crate::pki::builder::to_pem(&root.0);
        let e = read_crl(cert_pem.as_bytes()).unwrap_err().to_string();
        assert!(
            e.contains("no `X509 CRL` block (found: CERTIFICATE)"),
            "{e}"
        );
        let e = read_crl(&root.0).unwrap_err().to_string();
        assert!(e.contains("not a certificate revocation list"), "{e}");
        let e = read_crl(b"").unwrap_err().to_string();
        assert!(e.contains("not a certificate revocation list"), "{e}");
    }

    #[test]
    fn the_signer_must_have_the_name_the_key_and_the_usage() {
        let root = ca("Woodgrove Root");
        let same_name = ca("Woodgrove Root");
        let other = ca("Fabrikam Root");
        let list = crl_of(
            &root,
            &[],
            NOW - time::Duration::hours(1),
            NOW + time::Duration::days(7),
        );
        assert_eq!(
            find_signer(&list, &[other.0.clone(), root.0.clone()]).unwrap(),
            1
        );
        let e = find_signer(&list, std::slice::from_ref(&other.0))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("neither a trusted root nor a chain certificate"),
            "{e}"
        );
        let e = find_signer(&list, std::slice::from_ref(&same_name.0))
            .unwrap_err()
            .to_string();
        assert!(e.contains("signature does not verify"), "{e}");
    }

    #[test]
    fn the_newest_list_of_each_ca_is_used_and_refreshed_before_it_runs_out() {
        let a = ca("Woodgrove Root");
        let b = ca("Fabrikam Root");
        let old = crl_of(
            &a,
            &[],
            NOW - time::Duration::days(8),
            NOW - time::Duration::days(1),
        );
        let new = crl_of(
            &a,
            &[],
            NOW - time::Duration::hours(1),
            NOW + time::Duration::days(7),
        );
        let other = crl_of(
            &b,
            &[],
            NOW - time::Duration::hours(1),
            NOW + time::Duration::days(10),
        );
        for order in [
            vec![old.clone(), new.clone(), other.clone()],
            vec![new.clone(), other.clone(), old.clone()],
        ] {
            let picked = newest_per_issuer(&order);
            assert_eq!(picked.len(), 2);
            assert!(picked.iter().any(|c| c.info.id == new.info.id));
            assert!(picked.iter().all(|c| c.info.id != old.info.id));
        }
        // A week's list is fetched again about 17 hours before it runs out; a short one at
        // least five minutes before.
        let due = refresh_due(&new.info);
        assert!(due < new.info.next_update && due > NOW, "{due}");
        assert_eq!(
            new.info.next_update - due,
            (new.info.next_update - new.info.this_update) / 10_i32
        );
        let short = crl_of(&a, &[], NOW, NOW + time::Duration::minutes(10));
        assert_eq!(
            short.info.next_update - refresh_due(&short.info),
            time::Duration::minutes(5)
        );
    }

    #[test]
    fn only_http_distribution_points_are_listed() {
        let root = ca("Woodgrove Root");
        let issuer = rcgen::Issuer::from_ca_cert_der(
            &rustls::pki_types::CertificateDer::from(root.0.as_slice()),
            &root.1,
        )
        .unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["mail.woodgrove.test".into()]).unwrap();
        params.crl_distribution_points = vec![
            rcgen::CrlDistributionPoint {
                uris: vec![
                    "ldap://ldap.woodgrove.test/cn=crl".into(),
                    "http://crl.woodgrove.test/root.crl".into(),
                ],
            },
            rcgen::CrlDistributionPoint {
                uris: vec![
                    "HTTP://crl2.woodgrove.test/root.crl".into(),
                    "https://x.test/c.crl".into(),
                ],
            },
        ];
        let key = KeySpec::P256.generate().unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        assert_eq!(
            distribution_points(cert.der()),
            vec![
                "http://crl.woodgrove.test/root.crl".to_string(),
                "HTTP://crl2.woodgrove.test/root.crl".to_string()
            ]
        );
        assert!(distribution_points(&root.0).is_empty());
        assert!(distribution_points(b"junk").is_empty());
    }
}
