//! Message security status per hop and per message: Domain Secure (mutual TLS, partner
//! authenticated for its domain, or Direct Trust), Encrypted (TLS, peer not authenticated),
//! Plaintext. A message is as secure as its weakest hop. And which policies a hop was held to,
//! read back from its evidence line (the words the policy code writes there: the tests below
//! build those lines with that code, so a change of wording there fails here).

use super::submission::AuthMechanism;
use crate::smtp::evidence::{SecurityStatus, TlsFacts};

/// The organization fields a message from a partner authenticated for `domain` gets (DESIGN
/// §2, Marking), `authserv` being our organization FQDN: what the relay prepends and what the
/// policy simulator says it would.
pub fn partner_marks(domain: &str, mechanism: AuthMechanism, authserv: &str) -> Vec<String> {
    vec![
        "X-Mailflow-AuthAs: Partner".to_string(),
        format!("X-Mailflow-AuthDomain: {domain}"),
        format!("X-Mailflow-AuthMechanism: {}", mechanism.header_value()),
        format!("X-Mailflow-AuthSource: {authserv}"),
    ]
}

/// The status of one hop.
pub fn hop_status(tls: Option<&TlsFacts>, authenticated: bool) -> SecurityStatus {
    match (tls, authenticated) {
        (Some(_), true) => SecurityStatus::DomainSecure,
        (Some(_), false) => SecurityStatus::Encrypted,
        (None, _) => SecurityStatus::Plaintext,
    }
}

/// The status of a message over several hops: the weakest.
pub fn message_status(hops: impl IntoIterator<Item = SecurityStatus>) -> SecurityStatus {
    hops.into_iter().max().unwrap_or(SecurityStatus::Plaintext)
}

/// A policy a hop was held to, as the console's Policy columns name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum HopPolicy {
    DomainSecurity,
    DirectTrust,
    Dane,
    MtaSts,
    /// The send connector's RequireTLS.
    RequireTls,
    /// The message's own REQUIRETLS (RFC 8689).
    RequireTlsExtension,
    Opportunistic,
    NoTls,
}

impl HopPolicy {
    pub fn label(self) -> &'static str {
        match self {
            HopPolicy::DomainSecurity => "Domain Security",
            HopPolicy::DirectTrust => "Direct Trust",
            HopPolicy::Dane => "DANE",
            HopPolicy::MtaSts => "MTA-STS",
            HopPolicy::RequireTls => "RequireTLS",
            HopPolicy::RequireTlsExtension => "REQUIRETLS",
            HopPolicy::Opportunistic => "Opportunistic TLS",
            HopPolicy::NoTls => "No TLS",
        }
    }
}

/// The policies in a hop's evidence line (`Domain Security for woodgrove.test; DANE: 1 usable
/// TLSA record at …`), strongest first; MTA-STS only where it was in force (enforce or
/// testing), not where it was merely looked up.
pub fn hop_policies(evidence: &str) -> Vec<HopPolicy> {
    let mut out = Vec::new();
    for part in evidence.split("; ") {
        let p = part.trim_start();
        let found = if p.starts_with("Domain Security for ") {
            Some(HopPolicy::DomainSecurity)
        } else if p.contains("(Direct Trust)") {
            Some(HopPolicy::DirectTrust)
        } else if p.starts_with("DANE: ") {
            Some(HopPolicy::Dane)
        } else if p.starts_with("MTA-STS enforce") || p.starts_with("MTA-STS testing") {
            Some(HopPolicy::MtaSts)
        } else if p.starts_with("RequireTLS (") {
            Some(HopPolicy::RequireTls)
        } else if p == "REQUIRETLS" {
            Some(HopPolicy::RequireTlsExtension)
        } else if p.starts_with("opportunistic TLS") {
            Some(HopPolicy::Opportunistic)
        } else if p.starts_with("no TLS") {
            Some(HopPolicy::NoTls)
        } else {
            None
        };
        if let Some(f) = found
            && !out.contains(&f)
        {
            out.push(f);
        }
    }
    // Opportunistic TLS is the floor: named only when nothing stronger applied.
    if out.len() > 1 {
        out.retain(|p| *p != HopPolicy::Opportunistic);
    }
    out.sort();
    out
}

/// The policies of a hop in words (`Domain Security + DANE`), `—` when none can be told.
pub fn hop_policy_text(evidence: &str) -> String {
    let labels: Vec<&str> = hop_policies(evidence).iter().map(|p| p.label()).collect();
    if labels.is_empty() {
        "—".into()
    } else {
        labels.join(" + ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::evidence::TrustLevel;

    fn tls() -> TlsFacts {
        TlsFacts {
            version: "TLSv1.3".into(),
            cipher: "TLS_AES_128_GCM_SHA256".into(),
            cipher_bits: 128,
            key_exchange: None,
            peer_certificate: None,
            trust: TrustLevel::Anonymous,
            trust_detail: None,
        }
    }

    #[test]
    fn every_cell() {
        assert_eq!(hop_status(None, false), SecurityStatus::Plaintext);
        assert_eq!(
            hop_status(None, true),
            SecurityStatus::Plaintext,
            "authentication without TLS is not Domain Secure"
        );
        assert_eq!(hop_status(Some(&tls()), false), SecurityStatus::Encrypted);
        assert_eq!(hop_status(Some(&tls()), true), SecurityStatus::DomainSecure);
        use SecurityStatus::*;
        assert_eq!(message_status([DomainSecure, Encrypted]), Encrypted);
        assert_eq!(message_status([DomainSecure, DomainSecure]), DomainSecure);
        assert_eq!(
            message_status([Encrypted, Plaintext, DomainSecure]),
            Plaintext
        );
        assert_eq!(message_status([]), Plaintext);
    }

    #[test]
    fn the_policies_of_a_hop_are_read_from_the_words_the_policy_code_writes() {
        use super::HopPolicy::*;
        use crate::policy::dane::{DaneExpectation, DanePolicy};
        use crate::policy::outbound::TlsRequirement;
        let req = |r: TlsRequirement| r.describe();
        let dane = DanePolicy::Authenticate(DaneExpectation {
            owner: "_25._tcp.mx1.woodgrove.test".into(),
            records: Vec::new(),
            base_domain: "mx1.woodgrove.test".into(),
            next_hop_domain: "woodgrove.test".into(),
        })
        .describe();
        let table: Vec<(String, Vec<HopPolicy>)> = vec![
            (req(TlsRequirement::Opportunistic), vec![Opportunistic]),
            (req(TlsRequirement::NoTls), vec![NoTls]),
            (req(TlsRequirement::ValidateChain), vec![RequireTls]),
            (
                req(TlsRequirement::DomainSecure {
                    domain: "woodgrove.test".into(),
                }),
                vec![DomainSecurity],
            ),
            (
                format!("{}; {dane}", req(TlsRequirement::Opportunistic)),
                vec![Dane],
            ),
            (
                format!(
                    "{}; REQUIRETLS; {dane}",
                    req(TlsRequirement::DomainSecure {
                        domain: "woodgrove.test".into()
                    })
                ),
                vec![DomainSecurity, Dane, RequireTlsExtension],
            ),
            (
                "opportunistic TLS; MTA-STS enforce (fetched now): TLS with a certificate valid for mx1.woodgrove.test required".into(),
                vec![MtaSts],
            ),
            (
                "opportunistic TLS; from our server relay2 (Direct Trust), its marks kept".into(),
                vec![DirectTrust],
            ),
            ("something else entirely".into(), vec![]),
        ];
        for (line, want) in table {
            assert_eq!(hop_policies(&line), want, "{line}");
        }
        assert_eq!(
            hop_policy_text("Domain Security for w.test; DANE: 1 usable TLSA record at x"),
            "Domain Security + DANE"
        );
        assert_eq!(hop_policy_text(""), "—");
    }
}
