//! Settings changes the console makes, applied on the admin worker through
//! [`Workspace::change_settings`] (checked completely, saved atomically, nothing written on a
//! problem), and the Domain Security wizard's plan, which either applies whole or not at all.
//! Each returns a sentence saying what was done.

use super::actions::{DomainSecurityPlan, RootChoice, SettingsChange};
use crate::admin::{AdminError, Result, Workspace};
use crate::config::{AuthMechanism, PartnerAnchor, Pin, ReceiveConnector, domain};
use time::OffsetDateTime;

/// Switches Domain Security on a receive connector, with AuthMechanism Tls when on.
pub fn set_receive_domain_secure(c: &mut ReceiveConnector, enabled: bool) {
    c.domain_secure_enabled = enabled;
    if enabled && !c.auth_mechanisms.contains(&AuthMechanism::Tls) {
        c.auth_mechanisms.retain(|m| *m != AuthMechanism::None);
        c.auth_mechanisms.push(AuthMechanism::Tls);
    }
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

/// Applies one change; the sentence says what changed.
pub fn apply(ws: &mut Workspace, change: SettingsChange) -> Result<String> {
    match change {
        SettingsChange::Transport(t) => {
            ws.change_settings(|s| {
                s.transport = *t;
                Ok(())
            })?;
            Ok("Transport settings saved; the relay uses them from the next message of every session.".into())
        }
        SettingsChange::ReceiveConnector { index, connector } => {
            let name = connector.name.clone();
            let added = index >= ws.settings.receive_connectors.len();
            ws.change_settings(|s| {
                match s.receive_connectors.get_mut(index) {
                    Some(c) => *c = *connector,
                    None => s.receive_connectors.push(*connector),
                }
                Ok(())
            })?;
            Ok(format!(
                "Receive connector '{name}' {}; new sessions use it.",
                if added { "created" } else { "saved" }
            ))
        }
        SettingsChange::SendConnector { index, connector } => {
            let name = connector.name.clone();
            let added = index >= ws.settings.send_connectors.len();
            ws.change_settings(|s| {
                match s.send_connectors.get_mut(index) {
                    Some(c) => *c = *connector,
                    None => s.send_connectors.push(*connector),
                }
                Ok(())
            })?;
            Ok(format!(
                "Send connector '{name}' {}; new deliveries use it.",
                if added { "created" } else { "saved" }
            ))
        }
        SettingsChange::RemoveReceiveConnector(name) => {
            ws.remove_connector(true, &name)?;
            Ok(format!("Receive connector '{name}' removed."))
        }
        SettingsChange::RemoveSendConnector(name) => {
            ws.remove_connector(false, &name)?;
            Ok(format!("Send connector '{name}' removed."))
        }
        SettingsChange::DomainSecure {
            receive,
            name,
            enabled,
        } => {
            if receive {
                ws.change_receive_connector(&name, |c| set_receive_domain_secure(c, enabled))?;
            } else {
                ws.change_send_connector(&name, |c| c.domain_secure_enabled = enabled)?;
            }
            Ok(format!(
                "Domain Security is {} on {} connector '{name}'; it applies from the next MAIL FROM or message, in open sessions too.",
                on_off(enabled),
                if receive { "receive" } else { "send" }
            ))
        }
        SettingsChange::AddAcceptedDomain(d) => {
            ws.add_accepted_domain(&d, None)?;
            Ok(format!("{} is now an accepted domain.", d.trim()))
        }
        SettingsChange::RemoveAcceptedDomain(d) => {
            ws.remove_accepted_domain(&d)?;
            Ok(format!("{d} is no longer an accepted domain."))
        }
        SettingsChange::AddDirectTrust(entry) => {
            let name = entry.name.clone();
            ws.change_settings(|s| {
                if s.direct_trust
                    .iter()
                    .any(|e| e.name.eq_ignore_ascii_case(&entry.name))
                {
                    return Err(AdminError::Refused(format!(
                        "there is already a Direct Trust entry named '{}'",
                        entry.name
                    )));
                }
                s.direct_trust.push(entry);
                Ok(())
            })?;
            Ok(format!("'{name}' is trusted directly by its pin."))
        }
        SettingsChange::RemoveDirectTrust(name) => {
            ws.change_settings(|s| {
                let before = s.direct_trust.len();
                s.direct_trust
                    .retain(|e| !e.name.eq_ignore_ascii_case(&name));
                if s.direct_trust.len() == before {
                    return Err(AdminError::Refused(format!(
                        "there is no Direct Trust entry '{name}'"
                    )));
                }
                Ok(())
            })?;
            Ok(format!("Direct Trust entry '{name}' removed."))
        }
        SettingsChange::AddPartnerPin(p) => {
            ws.add_partner_pin(&p.name, &p.domains, p.pin)?;
            Ok(format!(
                "Partner '{}' is pinned for {}: authenticated as Partner for these domains only.",
                p.name.trim(),
                p.domains.join(", ")
            ))
        }
        SettingsChange::RemovePartnerPin(name) => {
            ws.remove_partner_pin(&name)?;
            Ok(format!("Partner pin '{name}' removed."))
        }
        SettingsChange::RemovePartnerAnchor(d) => {
            ws.change_settings(|s| {
                let before = s.partner_anchors.len();
                s.partner_anchors
                    .retain(|p| !p.domain.eq_ignore_ascii_case(&d));
                if s.partner_anchors.len() == before {
                    return Err(AdminError::Refused(format!("{d} has no pinned anchors")));
                }
                Ok(())
            })?;
            Ok(format!(
                "{d} is no longer pinned: any trusted root may vouch for it again."
            ))
        }
    }
}

/// Applies the Domain Security wizard's plan: trusts the partner's root (when a file is
/// given), then adds the domain to the lists, pins it when asked, and switches Domain Security
/// on the chosen connectors — one settings change. If that change is refused, a root added
/// for it is removed again, so nothing is half applied.
pub fn apply_domain_security(
    ws: &mut Workspace,
    plan: &DomainSecurityPlan,
    now: OffsetDateTime,
) -> Result<String> {
    let partner = domain::normalize(&plan.domain)
        .map_err(|e| AdminError::Refused(format!("partner domain: {e}")))?;
    let mut added_roots: Vec<String> = Vec::new();
    let anchors: Vec<String> = match &plan.root {
        RootChoice::AlreadyTrusted => Vec::new(),
        RootChoice::Existing(tp) => {
            let r = ws.store.find_root(tp).map_err(AdminError::Refused)?;
            vec![r.info.thumbprint.clone()]
        }
        RootChoice::File(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| AdminError::Refused(format!("cannot read {}: {e}", path.display())))?;
            let contents = crate::pki::import::read_file(&bytes, None)?;
            let mut tps = Vec::new();
            let mut new = false;
            for der in &contents.certificates {
                let info = crate::pki::inspect::inspect_certificate(der)?;
                if !info.is_ca {
                    continue;
                }
                if !ws
                    .store
                    .trusted_roots()
                    .iter()
                    .any(|r| r.info.thumbprint == info.thumbprint)
                {
                    new = true;
                }
                tps.push(info.thumbprint);
            }
            if tps.is_empty() {
                return Err(AdminError::Refused(format!(
                    "{} holds no CA certificate: choose the partner's root CA certificate, not a server certificate",
                    path.display()
                )));
            }
            if new {
                added_roots = ws
                    .trust_add(&bytes, now)?
                    .into_iter()
                    .map(|r| r.thumbprint)
                    .collect();
            }
            tps
        }
    };
    if plan.pin && anchors.is_empty() {
        rollback(ws, &added_roots);
        return Err(AdminError::Refused(
            "to pin the partner to its own root, import its root CA or pick one of the trusted roots"
                .into(),
        ));
    }
    let result = ws.change_settings(|s| {
        let t = &mut s.transport;
        let listed = |l: &Vec<String>| {
            l.iter()
                .any(|d| domain::normalize(d).ok().as_deref() == Some(partner.as_str()))
        };
        if plan.send_list && !listed(&t.tls_send_domain_secure_list) {
            t.tls_send_domain_secure_list.push(partner.clone());
        }
        if plan.receive_list && !listed(&t.tls_receive_domain_secure_list) {
            t.tls_receive_domain_secure_list.push(partner.clone());
        }
        if plan.pin {
            let pins: Vec<Pin> = anchors.iter().cloned().map(Pin::Thumbprint).collect();
            match s
                .partner_anchors
                .iter_mut()
                .find(|p| p.domain.eq_ignore_ascii_case(&partner))
            {
                Some(p) => {
                    for pin in pins {
                        if !p.anchors.contains(&pin) {
                            p.anchors.push(pin);
                        }
                    }
                }
                None => s.partner_anchors.push(PartnerAnchor {
                    domain: partner.clone(),
                    anchors: pins,
                }),
            }
        }
        for name in &plan.send_connectors {
            let c = s.send_connector_mut(name).ok_or_else(|| {
                AdminError::Refused(format!("there is no send connector '{name}'"))
            })?;
            c.domain_secure_enabled = true;
        }
        for name in &plan.receive_connectors {
            let c = s.receive_connector_mut(name).ok_or_else(|| {
                AdminError::Refused(format!("there is no receive connector '{name}'"))
            })?;
            set_receive_domain_secure(c, true);
        }
        Ok(())
    });
    if let Err(e) = result {
        rollback(ws, &added_roots);
        return Err(e);
    }
    let mut done = vec![format!("Domain Security with {partner} is set up")];
    if !added_roots.is_empty() {
        done.push(format!("{} root CA(s) trusted", added_roots.len()));
    }
    if plan.pin {
        done.push("the partner is pinned to its root".into());
    }
    Ok(format!("{}.", done.join("; ")))
}

fn rollback(ws: &mut Workspace, added_roots: &[String]) {
    for tp in added_roots {
        let _ = ws.trust_remove(tp);
    }
}

/// The `mailflow` commands equivalent to a plan, for the wizard's pages.
pub fn domain_security_commands(
    plan: &DomainSecurityPlan,
    ws_lists: (&[String], &[String]),
) -> Vec<String> {
    use super::format::shell_arg;
    let mut out = Vec::new();
    if let RootChoice::File(p) = &plan.root {
        out.push(format!(
            "mailflow trust add {}",
            shell_arg(&p.display().to_string())
        ));
    }
    let with = |list: &[String]| {
        let mut l: Vec<String> = list.to_vec();
        let d = plan.domain.trim().to_ascii_lowercase();
        if !d.is_empty() && !l.iter().any(|x| x.eq_ignore_ascii_case(&d)) {
            l.push(d);
        }
        l.join(",")
    };
    let mut transport = Vec::new();
    if plan.send_list {
        transport.push(format!(
            "--send-domain-secure {}",
            shell_arg(&with(ws_lists.0))
        ));
    }
    if plan.receive_list {
        transport.push(format!(
            "--receive-domain-secure {}",
            shell_arg(&with(ws_lists.1))
        ));
    }
    if !transport.is_empty() {
        out.push(format!("mailflow transport set {}", transport.join(" ")));
    }
    for c in &plan.send_connectors {
        out.push(format!(
            "mailflow connector send set {} --domain-secure true",
            shell_arg(c)
        ));
    }
    for c in &plan.receive_connectors {
        out.push(format!(
            "mailflow connector receive set {} --domain-secure true --auth tls",
            shell_arg(c)
        ));
    }
    if plan.pin {
        let anchor = match &plan.root {
            RootChoice::File(p) => format!("--cert {}", shell_arg(&p.display().to_string())),
            RootChoice::Existing(tp) => format!("--thumbprint {tp}"),
            RootChoice::AlreadyTrusted => "--thumbprint <ROOT-THUMBPRINT>".to_string(),
        };
        out.push(format!(
            "mailflow partner anchor {} {anchor}",
            shell_arg(plan.domain.trim())
        ));
    }
    out
}
