//! Message security status per hop and per message: Domain Secure (mutual TLS, partner
//! authenticated for its domain, or Direct Trust), Encrypted (TLS, peer not authenticated),
//! Plaintext. A message is as secure as its weakest hop.

use crate::smtp::evidence::{SecurityStatus, TlsFacts};

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
}
