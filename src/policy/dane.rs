//! DANE for SMTP (RFC 7672, with RFC 7671 and RFC 6698): what the TLSA records of an MX host
//! ask of the connection to it, and whether a certificate chain the host presents meets them.
//! Only DANE-TA(2) and DANE-EE(3) records with a known selector and matching type (and a
//! digest of the right length) are usable for SMTP; PKIX-TA(0) and PKIX-EE(1) are not (RFC 7672
//! §3.1.3). A usable record makes STARTTLS mandatory and the certificate must match one; a set
//! with none usable still makes TLS mandatory, without authentication (as Postfix's `dane`
//! level does). DANE-EE matches the end-entity certificate alone: its names and dates do not
//! count (RFC 7672 §3.1.1). DANE-TA matches a CA certificate of the presented chain, then the
//! end-entity certificate must chain to it (signatures and dates) and carry the TLSA base
//! domain (the MX host) or the next-hop domain (the recipient domain) as a name (§3.2.2).
//!
//! Pure: no I/O, no clock. The engine runs [`authenticate`] inside the rustls certificate
//! verifier of the connection, so a chain replayed without its key never gets this far (the
//! handshake signature fails first) and a mismatch aborts the handshake.

use crate::pki::chain::{ChainVerdict, Purpose, verify_chain};
use crate::pki::inspect::inspect_certificate;
use crate::pki::names;
use aws_lc_rs::digest;
use std::fmt;
use time::OffsetDateTime;

/// One TLSA record as published (RFC 6698 §2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsaRecord {
    /// Certificate usage: 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE.
    pub usage: u8,
    /// 0: the whole certificate; 1: its SubjectPublicKeyInfo.
    pub selector: u8,
    /// 0: the selected bytes themselves; 1: their SHA2-256; 2: their SHA2-512.
    pub matching: u8,
    pub data: Vec<u8>,
}

/// DANE-TA(2): a trust anchor of the server's chain.
pub const DANE_TA: u8 = 2;
/// DANE-EE(3): the server's own certificate or key.
pub const DANE_EE: u8 = 3;

impl TlsaRecord {
    /// Whether an SMTP client can use this record (RFC 7672 §3.1, RFC 7671 §5): DANE-TA or
    /// DANE-EE, a known selector, a known matching type whose data has the digest's length.
    pub fn usable(&self) -> bool {
        let usage_ok = matches!(self.usage, DANE_TA | DANE_EE);
        let selector_ok = matches!(self.selector, 0 | 1);
        let data_ok = match self.matching {
            0 => !self.data.is_empty(),
            1 => self.data.len() == 32,
            2 => self.data.len() == 64,
            _ => false,
        };
        usage_ok && selector_ok && data_ok
    }

    /// Whether `certificate` (DER) is the one this record names, by its selector and matching
    /// type. A certificate that cannot be read matches nothing.
    fn names_certificate(&self, certificate: &[u8]) -> bool {
        select_and_match(certificate, self.selector, self.matching)
            .is_some_and(|value| value == self.data)
    }
}

/// The value a TLSA record of this selector and matching type would hold for `certificate`.
fn select_and_match(certificate: &[u8], selector: u8, matching: u8) -> Option<Vec<u8>> {
    let selected = match selector {
        0 => certificate.to_vec(),
        1 => {
            let (_, cert) = x509_parser::parse_x509_certificate(certificate).ok()?;
            cert.public_key().raw.to_vec()
        }
        _ => return None,
    };
    match matching {
        0 => Some(selected),
        1 => Some(digest::digest(&digest::SHA256, &selected).as_ref().to_vec()),
        2 => Some(digest::digest(&digest::SHA512, &selected).as_ref().to_vec()),
        _ => None,
    }
}

/// The TLSA record `3 1 1` that would name `certificate`: what a server's administrator
/// publishes, and what a refusal shows of the certificate presented.
pub fn dane_ee_record(certificate: &[u8]) -> Option<TlsaRecord> {
    Some(TlsaRecord {
        usage: DANE_EE,
        selector: 1,
        matching: 1,
        data: select_and_match(certificate, 1, 1)?,
    })
}

impl fmt::Display for TlsaRecord {
    /// As in a zone file: `3 1 1 8f0c…`, the data shortened to 16 hexadecimal digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = hex::encode(&self.data);
        let shown = if hex.len() > 16 {
            format!("{}…", &hex[..16])
        } else {
            hex
        };
        write!(
            f,
            "{} {} {} {shown}",
            self.usage, self.selector, self.matching
        )
    }
}

/// The name of a certificate usage, as the RFCs write it.
pub fn usage_name(usage: u8) -> &'static str {
    match usage {
        0 => "PKIX-TA(0)",
        1 => "PKIX-EE(1)",
        DANE_TA => "DANE-TA(2)",
        DANE_EE => "DANE-EE(3)",
        _ => "unassigned usage",
    }
}

/// What the TLSA records of one MX host ask of the connection to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DanePolicy {
    /// Usable records: STARTTLS is mandatory and the certificate must match one of them.
    Authenticate(DaneExpectation),
    /// Records, but none usable: STARTTLS is mandatory, the certificate is not checked.
    EncryptOnly {
        /// Where the records were found (`_25._tcp.mx1.woodgrove.test`).
        owner: String,
        records: usize,
    },
}

/// The usable records of an MX host and the names a DANE-TA certificate must carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaneExpectation {
    /// Where the records were found (`_25._tcp.mx1.woodgrove.test`).
    pub owner: String,
    pub records: Vec<TlsaRecord>,
    /// The TLSA base domain: the MX host's name.
    pub base_domain: String,
    /// The next-hop domain: the recipient domain whose MX the host is.
    pub next_hop_domain: String,
}

impl DanePolicy {
    /// What `records` (a DNSSEC-secure, non-empty TLSA RRset at `owner`) ask of the connection
    /// to `base_domain`, an MX host of `next_hop_domain`.
    pub fn from_records(
        owner: &str,
        records: Vec<TlsaRecord>,
        base_domain: &str,
        next_hop_domain: &str,
    ) -> DanePolicy {
        let total = records.len();
        let usable: Vec<TlsaRecord> = records.into_iter().filter(TlsaRecord::usable).collect();
        if usable.is_empty() {
            return DanePolicy::EncryptOnly {
                owner: owner.to_string(),
                records: total,
            };
        }
        DanePolicy::Authenticate(DaneExpectation {
            owner: owner.to_string(),
            records: usable,
            base_domain: base_domain.to_ascii_lowercase(),
            next_hop_domain: next_hop_domain.to_ascii_lowercase(),
        })
    }

    /// The policy in words, for the evidence of a hop.
    pub fn describe(&self) -> String {
        match self {
            DanePolicy::Authenticate(e) => format!(
                "DANE: {} usable TLSA record{} at {}",
                e.records.len(),
                if e.records.len() == 1 { "" } else { "s" },
                e.owner
            ),
            DanePolicy::EncryptOnly { owner, records } => format!(
                "DANE: TLS required without authentication ({records} TLSA record{}, none usable, at {owner})",
                if *records == 1 { "" } else { "s" }
            ),
        }
    }
}

/// How a chain met the expectation: the record it matched, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaneMatch {
    pub record: TlsaRecord,
    /// `DANE-EE(3) 3 1 1 8f0c… at _25._tcp.mx1.woodgrove.test`.
    pub detail: String,
}

/// Whether the chain a server presented (`leaf` first, then `intermediates`, DER) matches a
/// usable record of `expectation` at `now`: `Err` says why not, naming what the certificate
/// would need to be published.
pub fn authenticate(
    expectation: &DaneExpectation,
    leaf: &[u8],
    intermediates: &[Vec<u8>],
    now: OffsetDateTime,
) -> Result<DaneMatch, String> {
    let matched = |record: &TlsaRecord| DaneMatch {
        record: record.clone(),
        detail: format!(
            "{} {record} at {}",
            usage_name(record.usage),
            expectation.owner
        ),
    };
    // DANE-EE: the server's own certificate; names and dates do not count.
    if let Some(record) = expectation
        .records
        .iter()
        .find(|r| r.usage == DANE_EE && r.names_certificate(leaf))
    {
        return Ok(matched(record));
    }
    // DANE-TA: a CA certificate the server sent, then the chain up to it and the names.
    let mut ta_problems = Vec::new();
    for record in expectation.records.iter().filter(|r| r.usage == DANE_TA) {
        for (at, anchor) in intermediates.iter().enumerate() {
            if !record.names_certificate(anchor) {
                continue;
            }
            let below = &intermediates[..at];
            match verify_chain(
                leaf,
                below,
                std::slice::from_ref(anchor),
                now,
                Purpose::Server,
            ) {
                ChainVerdict::Trusted { .. } => {}
                ChainVerdict::Untrusted { reason, .. } => {
                    ta_problems.push(format!(
                        "the certificate does not chain to the DANE-TA certificate it matched: it {reason}"
                    ));
                    continue;
                }
            }
            let cert_names = inspect_certificate(leaf)
                .map(|i| i.names())
                .unwrap_or_default();
            let reference = [&expectation.base_domain, &expectation.next_hop_domain];
            if reference.iter().any(|n| names::any_matches(&cert_names, n)) {
                return Ok(matched(record));
            }
            ta_problems.push(format!(
                "the certificate chains to the DANE-TA certificate but its names ({}) are neither {} nor {}",
                if cert_names.is_empty() {
                    "none".to_string()
                } else {
                    cert_names.join(", ")
                },
                expectation.base_domain,
                expectation.next_hop_domain
            ));
        }
    }
    let published = expectation
        .records
        .iter()
        .map(|r| format!("{} {r}", usage_name(r.usage)))
        .collect::<Vec<_>>()
        .join(", ");
    let presented = dane_ee_record(leaf)
        .map(|r| format!("; the certificate presented would be published as {r}"))
        .unwrap_or_default();
    let mut why = format!(
        "the certificate of {} matches none of the TLSA records at {} ({published}){presented}",
        expectation.base_domain, expectation.owner
    );
    if !ta_problems.is_empty() {
        why.push_str("; ");
        why.push_str(&ta_problems.join("; "));
    }
    Err(why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    use time::Duration;

    struct Issued {
        der: Vec<u8>,
    }

    fn ca(name: &str) -> (rcgen::Certificate, rcgen::Issuer<'static, KeyPair>) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        (cert, rcgen::Issuer::new(params, key))
    }

    fn leaf(
        names: &[&str],
        issuer: &rcgen::Issuer<'static, KeyPair>,
        valid_days: (i64, i64),
    ) -> Issued {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        let now = OffsetDateTime::now_utc();
        params.not_before = now + Duration::days(valid_days.0);
        params.not_after = now + Duration::days(valid_days.1);
        Issued {
            der: params.signed_by(&key, issuer).unwrap().der().to_vec(),
        }
    }

    fn expectation(records: Vec<TlsaRecord>) -> DaneExpectation {
        match DanePolicy::from_records(
            "_25._tcp.mx1.woodgrove.test",
            records,
            "mx1.woodgrove.test",
            "woodgrove.test",
        ) {
            DanePolicy::Authenticate(e) => e,
            other => panic!("expected usable records: {other:?}"),
        }
    }

    fn record(usage: u8, selector: u8, matching: u8, cert: &[u8]) -> TlsaRecord {
        TlsaRecord {
            usage,
            selector,
            matching,
            data: select_and_match(cert, selector, matching).unwrap(),
        }
    }

    #[test]
    fn only_dane_records_of_known_types_and_lengths_are_usable() {
        let ok = |usage, selector, matching, len| {
            TlsaRecord {
                usage,
                selector,
                matching,
                data: vec![7; len],
            }
            .usable()
        };
        assert!(ok(3, 1, 1, 32) && ok(2, 0, 2, 64) && ok(3, 0, 0, 300));
        assert!(!ok(0, 1, 1, 32), "PKIX-TA is not for SMTP");
        assert!(!ok(1, 1, 1, 32), "PKIX-EE is not for SMTP");
        assert!(!ok(4, 1, 1, 32) && !ok(3, 2, 1, 32) && !ok(3, 1, 3, 32));
        assert!(!ok(3, 1, 1, 31), "a SHA2-256 digest has 32 bytes");
        assert!(!ok(3, 1, 2, 32), "a SHA2-512 digest has 64 bytes");
        assert!(!ok(3, 1, 0, 0));
    }

    #[test]
    fn a_set_without_usable_records_asks_for_tls_only() {
        let pkix = TlsaRecord {
            usage: 1,
            selector: 1,
            matching: 1,
            data: vec![1; 32],
        };
        let policy = DanePolicy::from_records("_25._tcp.mx", vec![pkix], "mx", "d");
        assert_eq!(
            policy,
            DanePolicy::EncryptOnly {
                owner: "_25._tcp.mx".into(),
                records: 1
            }
        );
        assert!(policy.describe().contains("without authentication"));
    }

    #[test]
    fn dane_ee_matches_the_key_or_the_certificate_whatever_its_names_and_dates() {
        let (_, issuer) = ca("Some CA");
        // Expired, and named for another host: DANE-EE does not care.
        let cert = leaf(&["elsewhere.example"], &issuer, (-400, -10));
        for (selector, matching) in [(1, 1), (0, 1), (1, 2), (0, 0), (1, 0)] {
            let e = expectation(vec![record(3, selector, matching, &cert.der)]);
            let m = authenticate(&e, &cert.der, &[], OffsetDateTime::now_utc())
                .unwrap_or_else(|why| panic!("3 {selector} {matching}: {why}"));
            assert!(m.detail.starts_with("DANE-EE(3) 3 "), "{}", m.detail);
        }
    }

    #[test]
    fn a_wrong_digest_is_refused_with_what_to_publish() {
        let (_, issuer) = ca("Some CA");
        let cert = leaf(&["mx1.woodgrove.test"], &issuer, (-1, 30));
        let other = leaf(&["mx1.woodgrove.test"], &issuer, (-1, 30));
        let e = expectation(vec![record(3, 1, 1, &other.der)]);
        let why = authenticate(&e, &cert.der, &[], OffsetDateTime::now_utc()).unwrap_err();
        let should = dane_ee_record(&cert.der).unwrap().to_string();
        assert!(
            why.contains("matches none of the TLSA records at _25._tcp.mx1.woodgrove.test")
                && why.contains(&should),
            "{why}"
        );
    }

    #[test]
    fn dane_ta_needs_the_chain_and_a_name_of_the_mx_host_or_the_domain() {
        let (ca_cert, issuer) = ca("Woodgrove Mail CA");
        let ta = record(2, 0, 1, ca_cert.der());
        let now = OffsetDateTime::now_utc();
        let chain = vec![ca_cert.der().to_vec()];
        for name in ["mx1.woodgrove.test", "woodgrove.test", "*.woodgrove.test"] {
            let cert = leaf(&[name], &issuer, (-1, 30));
            let m = authenticate(&expectation(vec![ta.clone()]), &cert.der, &chain, now)
                .unwrap_or_else(|why| panic!("{name}: {why}"));
            assert!(m.detail.starts_with("DANE-TA(2) 2 0 1"), "{}", m.detail);
        }
        // A name of neither.
        let cert = leaf(&["mx1.fabrikam.test"], &issuer, (-1, 30));
        let why = authenticate(&expectation(vec![ta.clone()]), &cert.der, &chain, now).unwrap_err();
        assert!(
            why.contains("names (mx1.fabrikam.test) are neither"),
            "{why}"
        );
        // Expired: under DANE-TA the dates count.
        let cert = leaf(&["mx1.woodgrove.test"], &issuer, (-60, -1));
        let why = authenticate(&expectation(vec![ta.clone()]), &cert.der, &chain, now).unwrap_err();
        assert!(why.contains("does not chain"), "{why}");
        // The anchor not sent by the server: nothing to match.
        let cert = leaf(&["mx1.woodgrove.test"], &issuer, (-1, 30));
        assert!(authenticate(&expectation(vec![ta.clone()]), &cert.der, &[], now).is_err());
        // Signed by another CA that the server sends along with Woodgrove's: refused.
        let (_, other_issuer) = ca("Woodgrove Mail CA");
        let forged = leaf(&["mx1.woodgrove.test"], &other_issuer, (-1, 30));
        let why = authenticate(&expectation(vec![ta]), &forged.der, &chain, now).unwrap_err();
        assert!(why.contains("does not chain"), "{why}");
    }

    #[test]
    fn a_dane_ta_record_does_not_stand_for_the_server_certificate_itself() {
        let (_, issuer) = ca("Some CA");
        let cert = leaf(&["mx1.woodgrove.test"], &issuer, (-1, 30));
        let e = expectation(vec![record(2, 1, 1, &cert.der)]);
        assert!(authenticate(&e, &cert.der, &[], OffsetDateTime::now_utc()).is_err());
    }
}
