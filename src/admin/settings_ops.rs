//! Settings operations: transport settings (the domain secure lists), connectors and accepted
//! domains. Each is a change applied through [`Workspace::change_settings`], so it is checked
//! completely before anything is saved.

use super::{AdminError, Result, Workspace};
use crate::config::{AcceptedDomain, ReceiveConnector, SendConnector, domain};

impl Workspace {
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

    /// Changes a receive connector by name.
    pub fn change_receive_connector(
        &mut self,
        name: &str,
        change: impl FnOnce(&mut ReceiveConnector),
    ) -> Result<()> {
        self.change_settings(|s| {
            let c = s.receive_connector_mut(name).ok_or_else(|| {
                AdminError::Refused(format!("there is no receive connector '{name}'"))
            })?;
            change(c);
            Ok(())
        })
    }

    /// Changes a send connector by name.
    pub fn change_send_connector(
        &mut self,
        name: &str,
        change: impl FnOnce(&mut SendConnector),
    ) -> Result<()> {
        self.change_settings(|s| {
            let c = s.send_connector_mut(name).ok_or_else(|| {
                AdminError::Refused(format!("there is no send connector '{name}'"))
            })?;
            change(c);
            Ok(())
        })
    }

    /// Adds a receive connector.
    pub fn add_receive_connector(&mut self, connector: ReceiveConnector) -> Result<()> {
        self.change_settings(|s| {
            s.receive_connectors.push(connector);
            Ok(())
        })
    }

    /// Adds a send connector.
    pub fn add_send_connector(&mut self, connector: SendConnector) -> Result<()> {
        self.change_settings(|s| {
            s.send_connectors.push(connector);
            Ok(())
        })
    }

    /// Removes a connector by name (receive or send).
    pub fn remove_connector(&mut self, receive: bool, name: &str) -> Result<()> {
        self.change_settings(|s| {
            let before = s.receive_connectors.len() + s.send_connectors.len();
            if receive {
                s.receive_connectors
                    .retain(|c| !c.name.eq_ignore_ascii_case(name));
            } else {
                s.send_connectors
                    .retain(|c| !c.name.eq_ignore_ascii_case(name));
            }
            if s.receive_connectors.len() + s.send_connectors.len() == before {
                return Err(AdminError::Refused(format!(
                    "there is no {} connector '{name}'",
                    if receive { "receive" } else { "send" }
                )));
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

    /// Removes an accepted domain.
    pub fn remove_accepted_domain(&mut self, name: &str) -> Result<()> {
        let n = domain::normalize(name).map_err(|e| AdminError::Refused(e.to_string()))?;
        self.change_settings(|s| {
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
