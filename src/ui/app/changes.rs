//! Settings changes the console makes, applied on the admin worker by the same admin
//! operations the command line calls (checked completely, saved atomically, nothing written on
//! a problem). Each returns a sentence saying what was done.

use super::actions::SettingsChange;
use crate::admin::{AdminError, Result, Workspace};
use crate::config::{ConnectorType, Settings};

/// A switch is clicked in a list, away from the fields where validation problems are shown:
/// its refusal says the problems in full.
fn said_in_full(e: AdminError) -> AdminError {
    match e {
        AdminError::Invalid(p) => AdminError::Refused(format!("Nothing was saved: {p}")),
        other => other,
    }
}

/// Replaces the connector at `index` in the list `of` picks, or adds it when `index` is the
/// end, as one checked settings change. Whether it was added.
fn put<T>(
    workspace: &mut Workspace,
    of: impl FnOnce(&mut Settings) -> &mut Vec<T>,
    index: usize,
    item: T,
) -> Result<bool> {
    let mut added = false;
    workspace.change_settings(|s| {
        let list = of(s);
        match list.get_mut(index) {
            Some(c) => *c = item,
            None => {
                list.push(item);
                added = true;
            }
        }
        Ok(())
    })?;
    Ok(added)
}

fn created_or_saved(added: bool) -> &'static str {
    if added { "created" } else { "saved" }
}

/// Applies one change; the sentence says what changed.
pub fn apply(workspace: &mut Workspace, change: SettingsChange) -> Result<String> {
    match change {
        SettingsChange::Transport(t) => {
            workspace.set_transport(|transport| *transport = *t)?;
            Ok("Transport settings saved; the relay uses them from the next message of every session.".into())
        }
        SettingsChange::ReceiveConnector { index, connector } => {
            let name = connector.name.clone();
            let added = put(workspace, |s| &mut s.receive_connectors, index, *connector)?;
            Ok(format!(
                "Receive connector '{name}' {}; new sessions use it.",
                created_or_saved(added)
            ))
        }
        SettingsChange::SendConnector { index, connector } => {
            let name = connector.name.clone();
            let added = put(workspace, |s| &mut s.send_connectors, index, *connector)?;
            Ok(format!(
                "Send connector '{name}' {}; new deliveries use it.",
                created_or_saved(added)
            ))
        }
        SettingsChange::RemoveReceiveConnector(name) => {
            workspace.remove_connector(ConnectorType::Receive, &name)?;
            Ok(format!("Receive connector '{name}' removed."))
        }
        SettingsChange::RemoveSendConnector(name) => {
            workspace.remove_connector(ConnectorType::Send, &name)?;
            Ok(format!("Send connector '{name}' removed."))
        }
        SettingsChange::DomainSecure {
            kind,
            name,
            enabled,
        } => workspace
            .set_domain_security(kind, &name, enabled)
            .map_err(said_in_full),
        SettingsChange::AddAcceptedDomain(d) => {
            workspace.add_accepted_domain(&d, None)?;
            Ok(format!("{} is now an accepted domain.", d.trim()))
        }
        SettingsChange::RemoveAcceptedDomain(d) => {
            workspace.remove_accepted_domain(&d)?;
            Ok(format!("{d} is no longer an accepted domain."))
        }
        SettingsChange::AddDirectTrust(entry) => {
            workspace.add_direct_trust(&entry.name, entry.pin)?;
            Ok(format!("'{}' is trusted directly by its pin.", entry.name))
        }
        SettingsChange::RemoveDirectTrust(name) => {
            workspace.remove_direct_trust(&name)?;
            Ok(format!("Direct Trust entry '{name}' removed."))
        }
        SettingsChange::AddPartnerPin(p) => {
            workspace.add_partner_pin(&p.name, &p.domains, p.pin)?;
            Ok(format!(
                "Partner '{}' is pinned for {}: authenticated as Partner for these domains only.",
                p.name.trim(),
                p.domains.join(", ")
            ))
        }
        SettingsChange::RemovePartnerPin(name) => {
            workspace.remove_partner_pin(&name)?;
            Ok(format!("Partner pin '{name}' removed."))
        }
        SettingsChange::AddPartnerAnchor { domain, pin } => {
            workspace.add_partner_anchor(&domain, pin)?;
            Ok(format!(
                "{} is pinned to this anchor: only a chain through it authenticates the partner now.",
                domain.trim()
            ))
        }
        SettingsChange::RemovePartnerAnchor(d) => {
            workspace.remove_partner_anchors(&d)?;
            Ok(format!(
                "{d} is no longer pinned: any trusted root may vouch for it again."
            ))
        }
    }
}
