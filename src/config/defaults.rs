//! The configuration a new organization starts with: a receive connector `Default` on
//! 127.0.0.1:2525 offering STARTTLS to anonymous users (and ready for partners), a send connector
//! `Outbound` for all domains with no smart host yet, and the organization's domain accepted.

use super::model::*;

/// Name of the receive connector created on first start.
pub const DEFAULT_RECEIVE_CONNECTOR: &str = "Default";
/// Name of the send connector created on first start.
pub const DEFAULT_SEND_CONNECTOR: &str = "Outbound";
/// Where the default receive connector listens.
pub const DEFAULT_BINDING: &str = "127.0.0.1:2525";

impl Settings {
    /// Settings for a new organization. `fqdn` is this server's name, `domain` the mail domain.
    pub fn initial(org_name: &str, fqdn: &str, domain: &str) -> Settings {
        Settings {
            version: SETTINGS_VERSION,
            organization: Organization {
                name: org_name.to_string(),
                fqdn: fqdn.to_string(),
            },
            accepted_domains: vec![AcceptedDomain {
                domain: domain.to_string(),
                recipients: None,
            }],
            transport: TransportSettings::default(),
            receive_connectors: vec![ReceiveConnector {
                name: DEFAULT_RECEIVE_CONNECTOR.into(),
                bindings: vec![DEFAULT_BINDING.into()],
                ..ReceiveConnector::default()
            }],
            send_connectors: vec![SendConnector {
                name: DEFAULT_SEND_CONNECTOR.into(),
                address_spaces: vec![AddressSpace {
                    address: "*".into(),
                    cost: 1,
                }],
                ..SendConnector::default()
            }],
            direct_trust: Vec::new(),
            partner_anchors: Vec::new(),
            partner_pins: Vec::new(),
        }
    }
}

/// Derives a server FQDN and mail domain from a host name: `mail.contoso.test` gives
/// (`mail.contoso.test`, `contoso.test`); a bare `box` gives (`box.localdomain`, `localdomain`).
pub fn names_from_hostname(hostname: &str) -> (String, String) {
    let host = super::domain::normalize(hostname).unwrap_or_else(|_| "localhost".to_string());
    match host.split_once('.') {
        Some((_, domain)) if domain.contains('.') || !domain.is_empty() => {
            (host.clone(), domain.to_string())
        }
        _ => (format!("{host}.localdomain"), "localdomain".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::validate;

    #[test]
    fn initial_settings_are_valid_and_as_specified() {
        let s = Settings::initial("Contoso", "mail.contoso.test", "contoso.test");
        let checked = validate(&s).unwrap();
        let rc = &checked.receive_connectors[0];
        assert_eq!(rc.name, "Default");
        assert_eq!(rc.bindings, vec!["127.0.0.1:2525".parse().unwrap()]);
        assert!(
            s.receive_connectors[0]
                .auth_mechanisms
                .contains(&AuthMechanism::Tls)
        );
        assert!(
            s.receive_connectors[0]
                .permission_groups
                .contains(&PermissionGroup::AnonymousUsers)
        );
        let sc = &checked.send_connectors[0];
        assert_eq!(sc.name, "Outbound");
        assert_eq!(sc.address_spaces, vec![("*".to_string(), 1)]);
        assert!(sc.smart_hosts.is_empty());
        assert!(checked.accepted_domains.contains("contoso.test"));
    }

    #[test]
    fn names_come_from_the_host_name() {
        assert_eq!(
            names_from_hostname("Mail.Contoso.test"),
            ("mail.contoso.test".into(), "contoso.test".into())
        );
        assert_eq!(
            names_from_hostname("box"),
            ("box.localdomain".into(), "localdomain".into())
        );
        assert_eq!(
            names_from_hostname("bad host!"),
            ("localhost.localdomain".into(), "localdomain".into())
        );
    }
}
