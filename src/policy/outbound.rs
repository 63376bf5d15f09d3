//! The TLS requirement for delivering to a recipient domain through a send connector:
//! Domain Security for domains on the send domain secure list (mutual TLS, chain to a trusted
//! root — and to the partner's own anchors when pinned — and a certificate name matching the
//! recipient domain); RequireTLS at the connector's TlsAuthLevel otherwise; or opportunistic.
//! A listed domain routed through a connector with Domain Security off is never downgraded:
//! delivery fails transiently with a reason saying so.

use crate::config::{CheckedSettings, TlsAuthLevel};

/// What the outbound session must achieve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsRequirement {
    /// STARTTLS is not used (IgnoreSTARTTLS).
    NoTls,
    /// STARTTLS when offered; any certificate accepted (recorded); plaintext only if not offered.
    Opportunistic,
    /// RequireTLS, EncryptionOnly: TLS mandatory, certificate not checked.
    Encrypt,
    /// RequireTLS, CertificateValidation: chain to a trusted root.
    ValidateChain,
    /// RequireTLS, DomainValidation: chain and a certificate name matching `name`.
    ValidateDomain { name: String },
    /// Domain Security: mutual TLS, chain, names matching the recipient domain.
    DomainSecure { domain: String },
    /// Do not deliver now (transient), for the reason given.
    Refuse { reason: String },
}

impl TlsRequirement {
    /// A short name for the policy applied, for evidence and tracking.
    pub fn describe(&self) -> String {
        match self {
            TlsRequirement::NoTls => "no TLS (IgnoreSTARTTLS)".into(),
            TlsRequirement::Opportunistic => "opportunistic TLS".into(),
            TlsRequirement::Encrypt => "RequireTLS (EncryptionOnly)".into(),
            TlsRequirement::ValidateChain => "RequireTLS (CertificateValidation)".into(),
            TlsRequirement::ValidateDomain { name } => {
                format!("RequireTLS (DomainValidation for {name})")
            }
            TlsRequirement::DomainSecure { domain } => format!("Domain Security for {domain}"),
            TlsRequirement::Refuse { reason } => format!("refused: {reason}"),
        }
    }

    /// TLS must be used (no plaintext fallback).
    pub fn mandatory(&self) -> bool {
        !matches!(self, TlsRequirement::NoTls | TlsRequirement::Opportunistic)
    }
}

/// The requirement for `recipient_domain` through send connector `index`.
pub fn requirement(
    recipient_domain: &str,
    index: usize,
    checked: &CheckedSettings,
) -> TlsRequirement {
    let sc = &checked.settings.send_connectors[index];
    let domain = recipient_domain.to_ascii_lowercase();
    if checked.send_domain_secure.contains(&domain) {
        if !sc.domain_secure_enabled {
            return TlsRequirement::Refuse {
                reason: format!(
                    "{domain} is on the send domain secure list but send connector '{}' has Domain Security off",
                    sc.name
                ),
            };
        }
        return TlsRequirement::DomainSecure { domain };
    }
    if sc.ignore_starttls {
        return TlsRequirement::NoTls;
    }
    if !sc.require_tls {
        return TlsRequirement::Opportunistic;
    }
    match sc.tls_auth_level {
        None | Some(TlsAuthLevel::EncryptionOnly) => TlsRequirement::Encrypt,
        Some(TlsAuthLevel::CertificateValidation) => TlsRequirement::ValidateChain,
        Some(TlsAuthLevel::DomainValidation) => {
            let name = checked
                .send_connectors
                .iter()
                .find(|c| c.index == index)
                .and_then(|c| c.tls_domain.clone())
                .unwrap_or(domain);
            TlsRequirement::ValidateDomain { name }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Settings, validate};

    fn with(f: impl FnOnce(&mut Settings)) -> CheckedSettings {
        let mut s = Settings::initial("C", "mail.contoso.test", "contoso.test");
        s.transport.tls_send_domain_secure_list = vec!["woodgrove.test".into()];
        f(&mut s);
        validate(&s).unwrap()
    }

    #[test]
    fn every_cell_of_the_outbound_table() {
        let c = with(|_| {});
        assert!(
            matches!(requirement("woodgrove.test", 0, &c), TlsRequirement::Refuse { ref reason } if reason.contains("has Domain Security off"))
        );
        assert_eq!(
            requirement("fabrikam.test", 0, &c),
            TlsRequirement::Opportunistic
        );
        let c = with(|s| s.send_connectors[0].domain_secure_enabled = true);
        assert_eq!(
            requirement("WoodGrove.test", 0, &c),
            TlsRequirement::DomainSecure {
                domain: "woodgrove.test".into()
            }
        );
        assert_eq!(
            requirement("sub.woodgrove.test", 0, &c),
            TlsRequirement::Opportunistic,
            "the list is exact"
        );
        let c = with(|s| s.send_connectors[0].ignore_starttls = true);
        assert_eq!(requirement("fabrikam.test", 0, &c), TlsRequirement::NoTls);
        let c = with(|s| s.send_connectors[0].require_tls = true);
        assert_eq!(requirement("fabrikam.test", 0, &c), TlsRequirement::Encrypt);
        let c = with(|s| {
            s.send_connectors[0].require_tls = true;
            s.send_connectors[0].tls_auth_level = Some(TlsAuthLevel::CertificateValidation);
        });
        assert_eq!(
            requirement("fabrikam.test", 0, &c),
            TlsRequirement::ValidateChain
        );
        let c = with(|s| {
            s.send_connectors[0].require_tls = true;
            s.send_connectors[0].tls_auth_level = Some(TlsAuthLevel::DomainValidation);
        });
        assert_eq!(
            requirement("fabrikam.test", 0, &c),
            TlsRequirement::ValidateDomain {
                name: "fabrikam.test".into()
            }
        );
        let c = with(|s| {
            s.send_connectors[0].require_tls = true;
            s.send_connectors[0].tls_auth_level = Some(TlsAuthLevel::DomainValidation);
            s.send_connectors[0].tls_domain = Some("mx.fabrikam.test".into());
        });
        assert_eq!(
            requirement("fabrikam.test", 0, &c),
            TlsRequirement::ValidateDomain {
                name: "mx.fabrikam.test".into()
            }
        );
        assert!(
            TlsRequirement::DomainSecure { domain: "x".into() }.mandatory()
                && !TlsRequirement::Opportunistic.mandatory()
        );
    }
}
