//! Settings operations: transport settings (the domain secure lists), connectors and accepted
//! domains. Each is a change applied through [`Workspace::change_settings`], so it is checked
//! completely before anything is saved.

use super::{AdminError, Result, Workspace};
use crate::config::{
    AcceptedDomain, Connector, ConnectorType, DnssecTrustAnchor, ReceiveConnector, SendConnector,
    TransportSettings, domain,
};

impl Workspace {
    /// Changes the transport settings (Set-TransportConfig). A DNSSEC trust anchor file is read
    /// first, as the relay will read it: one that holds no DNSKEY records is refused and
    /// nothing is saved.
    pub fn set_transport(&mut self, change: impl FnOnce(&mut TransportSettings)) -> Result<()> {
        let mut transport = self.settings.transport.clone();
        change(&mut transport);
        if let DnssecTrustAnchor::File(path) = &transport.dnssec_trust_anchor
            && transport.dnssec_trust_anchor != self.settings.transport.dnssec_trust_anchor
        {
            crate::engine::dns::check_trust_anchor(std::path::Path::new(path))
                .map_err(|e| AdminError::Refused(e.to_string()))?;
        }
        self.change_settings(|s| {
            s.transport = transport;
            Ok(())
        })
    }

    /// Replaces the send and/or receive domain secure lists (Set-TransportConfig).
    pub fn set_domain_secure_lists(
        &mut self,
        send: Option<Vec<String>>,
        receive: Option<Vec<String>>,
    ) -> Result<()> {
        self.change_settings(|s| {
            if let Some(l) = send {
                s.transport.tls_send_domain_secure_list = l;
            }
            if let Some(l) = receive {
                s.transport.tls_receive_domain_secure_list = l;
            }
            Ok(())
        })
    }

    /// Changes a connector of kind `C` by name.
    pub fn change_connector<C: Connector>(
        &mut self,
        name: &str,
        change: impl FnOnce(&mut C),
    ) -> Result<()> {
        self.change_settings(|s| {
            let c = C::all_mut(s)
                .iter_mut()
                .find(|c| c.name().eq_ignore_ascii_case(name))
                .ok_or_else(|| no_such_connector(C::TYPE, name))?;
            change(c);
            Ok(())
        })
    }

    /// Adds a connector of kind `C`.
    pub fn add_connector<C: Connector>(&mut self, connector: C) -> Result<()> {
        self.change_settings(|s| {
            C::all_mut(s).push(connector);
            Ok(())
        })
    }

    /// Removes a connector by name.
    pub fn remove_connector(&mut self, kind: ConnectorType, name: &str) -> Result<()> {
        match kind {
            ConnectorType::Receive => self.remove_connector_of::<ReceiveConnector>(name),
            ConnectorType::Send => self.remove_connector_of::<SendConnector>(name),
        }
    }

    fn remove_connector_of<C: Connector>(&mut self, name: &str) -> Result<()> {
        self.change_settings(|s| {
            let list = C::all_mut(s);
            let before = list.len();
            list.retain(|c| !c.name().eq_ignore_ascii_case(name));
            if list.len() == before {
                return Err(no_such_connector(C::TYPE, name));
            }
            Ok(())
        })
    }

    /// Adds an accepted domain.
    pub fn add_accepted_domain(
        &mut self,
        name: &str,
        recipients: Option<Vec<String>>,
    ) -> Result<()> {
        let n = domain::normalize(name).map_err(|e| AdminError::Refused(e.to_string()))?;
        self.change_settings(|s| {
            if s.accepted_domains
                .iter()
                .any(|d| domain::normalize(&d.domain).ok().as_deref() == Some(n.as_str()))
            {
                return Err(AdminError::Refused(format!(
                    "{n} is already an accepted domain"
                )));
            }
            s.accepted_domains.push(AcceptedDomain {
                domain: n,
                recipients,
            });
            Ok(())
        })
    }

    /// Removes an accepted domain. The organization's domain (the first one) stays: the
    /// relay's postmaster, its notices and reports, and the names partners check are in it.
    pub fn remove_accepted_domain(&mut self, name: &str) -> Result<()> {
        let n = domain::normalize(name).map_err(|e| AdminError::Refused(e.to_string()))?;
        self.change_settings(|s| {
            let first = s
                .accepted_domains
                .first()
                .and_then(|d| domain::normalize(&d.domain).ok());
            if first.as_deref() == Some(n.as_str()) {
                return Err(AdminError::Refused(format!(
                    "{n} is the organization's domain: the relay's postmaster, its delivery \
                     notices and TLS reports, and the name partners check under Domain Security \
                     are in it, so it cannot be removed"
                )));
            }
            let before = s.accepted_domains.len();
            s.accepted_domains
                .retain(|d| domain::normalize(&d.domain).ok().as_deref() != Some(n.as_str()));
            if s.accepted_domains.len() == before {
                return Err(AdminError::Refused(format!(
                    "{n} is not an accepted domain"
                )));
            }
            Ok(())
        })
    }
}

/// A pin read from a certificate file or typed as hex.
pub fn pin_from(
    cert_file: Option<&[u8]>,
    thumbprint: Option<&str>,
    public_key_sha256: Option<&str>,
    key_pin: bool,
) -> Result<crate::config::Pin> {
    use crate::config::Pin;
    use crate::config::validate::normalize_hex;
    match (cert_file, thumbprint, public_key_sha256) {
        (Some(bytes), None, None) => {
            let contents = crate::pki::import::read_file(bytes, None)?;
            let der = contents
                .certificates
                .first()
                .ok_or_else(|| AdminError::Refused("the file holds no certificate".into()))?;
            let info = crate::pki::inspect::inspect_certificate(der)?;
            Ok(if key_pin {
                Pin::PublicKeySha256(info.public_key_sha256)
            } else {
                Pin::Thumbprint(info.thumbprint)
            })
        }
        (None, Some(t), None) => Ok(Pin::Thumbprint(normalize_hex(t))),
        (None, None, Some(h)) => Ok(Pin::PublicKeySha256(normalize_hex(h))),
        _ => Err(AdminError::Refused(
            "give exactly one of: a certificate file, --thumbprint, --public-key-sha256".into(),
        )),
    }
}

impl Workspace {
    /// Trusts one of our own relays by a pin (Direct Trust).
    pub fn add_direct_trust(&mut self, name: &str, pin: crate::config::Pin) -> Result<()> {
        self.change_settings(|s| {
            if s.direct_trust
                .iter()
                .any(|e| e.name.eq_ignore_ascii_case(name))
            {
                return Err(AdminError::Refused(format!(
                    "a Direct Trust entry named '{name}' exists already"
                )));
            }
            s.direct_trust.push(crate::config::DirectTrustEntry {
                name: name.to_string(),
                pin,
            });
            Ok(())
        })
    }

    pub fn remove_direct_trust(&mut self, name: &str) -> Result<()> {
        self.change_settings(|s| {
            let before = s.direct_trust.len();
            s.direct_trust
                .retain(|e| !e.name.eq_ignore_ascii_case(name));
            if s.direct_trust.len() == before {
                return Err(AdminError::Refused(format!(
                    "there is no Direct Trust entry named '{name}'"
                )));
            }
            Ok(())
        })
    }

    /// Pins a partner domain to an anchor (its own CA or key): no other CA may vouch for it.
    pub fn add_partner_anchor(&mut self, partner: &str, pin: crate::config::Pin) -> Result<()> {
        let d = domain::normalize(partner).map_err(|e| AdminError::Refused(e.to_string()))?;
        self.change_settings(|s| {
            match s
                .partner_anchors
                .iter_mut()
                .find(|p| domain::normalize(&p.domain).ok().as_deref() == Some(d.as_str()))
            {
                Some(p) => {
                    if p.anchors.contains(&pin) {
                        return Err(AdminError::Refused(format!(
                            "{d} is already pinned to that anchor"
                        )));
                    }
                    p.anchors.push(pin);
                }
                None => s.partner_anchors.push(crate::config::PartnerAnchor {
                    domain: d.clone(),
                    anchors: vec![pin],
                }),
            }
            Ok(())
        })
    }

    /// Pins a partner's own certificate (self-signed or privately issued) for the partner's
    /// `domains`: Partner identity for those domains only, never one of our servers (that is
    /// [`Workspace::add_direct_trust`]). The certificate must still name the domain.
    pub fn add_partner_pin(
        &mut self,
        name: &str,
        domains: &[String],
        pin: crate::config::Pin,
    ) -> Result<()> {
        let name = name.trim();
        let mut normal = Vec::new();
        for d in domains {
            let n = domain::normalize(d).map_err(|e| AdminError::Refused(e.to_string()))?;
            if !normal.contains(&n) {
                normal.push(n);
            }
        }
        self.change_settings(|s| {
            if s.partner_pins
                .iter()
                .any(|p| p.name.eq_ignore_ascii_case(name))
            {
                return Err(AdminError::Refused(format!(
                    "a partner pin named '{name}' exists already: remove it first to change it"
                )));
            }
            s.partner_pins.push(crate::config::PartnerPin {
                name: name.to_string(),
                domains: normal,
                pin,
            });
            Ok(())
        })
    }

    pub fn remove_partner_pin(&mut self, name: &str) -> Result<()> {
        self.change_settings(|s| {
            let before = s.partner_pins.len();
            s.partner_pins
                .retain(|p| !p.name.eq_ignore_ascii_case(name));
            if s.partner_pins.len() == before {
                return Err(AdminError::Refused(format!(
                    "there is no partner pin named '{name}'"
                )));
            }
            Ok(())
        })
    }

    /// Removes all anchors of a partner domain (any trusted root may vouch for it again).
    pub fn remove_partner_anchors(&mut self, partner: &str) -> Result<()> {
        let d = domain::normalize(partner).map_err(|e| AdminError::Refused(e.to_string()))?;
        self.change_settings(|s| {
            let before = s.partner_anchors.len();
            s.partner_anchors
                .retain(|p| domain::normalize(&p.domain).ok().as_deref() != Some(d.as_str()));
            if s.partner_anchors.len() == before {
                return Err(AdminError::Refused(format!("{d} has no anchors")));
            }
            Ok(())
        })
    }
}

/// The refusal for a connector name that is not in the settings.
fn no_such_connector(kind: ConnectorType, name: &str) -> AdminError {
    AdminError::Refused(format!("there is no {} connector '{name}'", kind.word()))
}

#[cfg(test)]
mod accepted_domain_tests {
    use crate::admin::{Workspace, init};
    use crate::store::DataDir;
    use time::OffsetDateTime;

    #[test]
    fn the_organization_domain_cannot_be_removed_and_nothing_changes() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = DataDir::new(tmp.path());
        init(
            &dir,
            "Contoso",
            "mail.contoso.test",
            "contoso.test",
            OffsetDateTime::now_utc(),
        )
        .expect("init");
        let mut ws = Workspace::open(&dir).expect("open");
        ws.add_accepted_domain("hr.contoso.test", None)
            .expect("add");
        let err = ws
            .remove_accepted_domain("Contoso.test")
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("contoso.test is the organization's domain"),
            "{err}"
        );
        let again = Workspace::open(&dir).expect("open");
        assert_eq!(again.settings.accepted_domains.len(), 2);
        ws.remove_accepted_domain("hr.contoso.test")
            .expect("others go");
    }
}
