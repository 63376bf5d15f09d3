//! Domain Security with a partner organization, as one set of rules for every front end: the
//! switch on one connector, the whole set-up with a partner (trust its root, list its domain,
//! pin it, switch the connectors), the readiness checks shown before it is applied, the
//! equivalent `mailflow` commands, and the smart host the partner's mail goes to.
//!
//! The rule for a receive connector is Exchange's (`Set-ReceiveConnector -DomainSecureEnabled
//! $true` needs `AuthMechanism` Tls): switching Domain Security on never changes the
//! authentication mechanisms behind the administrator's back. Without Tls the switch is
//! refused by validation with a message that says to add it, from the console and the command
//! line alike. Only the set-up with a partner adds Tls, because its plan says so in words and
//! in its equivalent commands (`--auth ...,tls`).

use super::{AdminError, Result, Workspace};
use crate::config::{
    AuthMechanism, ConnectorType, PartnerAnchor, Pin, ReceiveConnector, SendConnector, Settings,
    domain,
};
use std::path::PathBuf;
use time::OffsetDateTime;

/// Where a partner's root CA comes from in a Domain Security set-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootChoice {
    /// The partner's certificates chain to a root we already trust; nothing to add.
    AlreadyTrusted,
    /// One of our trusted roots, by thumbprint.
    Existing(String),
    /// A file to import into the trusted roots.
    File(PathBuf),
}

/// Everything a Domain Security set-up with one partner applies, in one go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainSecurityPlan {
    pub domain: String,
    pub root: RootChoice,
    /// Pin the partner domain to this root: no other CA may vouch for it.
    pub pin: bool,
    pub send_list: bool,
    pub receive_list: bool,
    pub send_connectors: Vec<String>,
    /// Receive connectors to switch on; each gets AuthMechanism Tls with it.
    pub receive_connectors: Vec<String>,
}

/// Offers STARTTLS on a receive connector (AuthMechanism Tls), dropping `None`, which cannot
/// stand beside another mechanism. Only for a plan that says it does this.
fn offer_starttls(c: &mut ReceiveConnector) {
    if !c.auth_mechanisms.contains(&AuthMechanism::Tls) {
        c.auth_mechanisms.retain(|m| *m != AuthMechanism::None);
        c.auth_mechanisms.push(AuthMechanism::Tls);
    }
}

/// The receive connector's mechanisms after a set-up has offered STARTTLS on it.
fn mechanisms_with_starttls(c: &ReceiveConnector) -> Vec<AuthMechanism> {
    let mut c = c.clone();
    offer_starttls(&mut c);
    c.auth_mechanisms
}

/// The command-line word of a mechanism (`mailflow connector receive set --auth`).
pub fn auth_word(m: AuthMechanism) -> &'static str {
    match m {
        AuthMechanism::None => "none",
        AuthMechanism::Tls => "tls",
        AuthMechanism::BasicAuth => "basicauth",
        AuthMechanism::BasicAuthRequireTls => "basicauthrequiretls",
    }
}

/// Quotes a command-line argument for a POSIX shell when it needs it.
pub fn shell_arg(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.,:/@=+".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

impl Workspace {
    /// Switches Domain Security on one connector (`-DomainSecureEnabled`). Nothing else on the
    /// connector changes: a receive connector without AuthMechanism Tls, or without the
    /// Partners permission group, is refused by validation and nothing is saved.
    /// Returns the sentence saying what changed.
    pub fn set_domain_security(
        &mut self,
        kind: ConnectorType,
        name: &str,
        on: bool,
    ) -> Result<String> {
        match kind {
            ConnectorType::Receive => self.change_connector(name, |c: &mut ReceiveConnector| {
                c.domain_secure_enabled = on
            })?,
            ConnectorType::Send => {
                self.change_connector(name, |c: &mut SendConnector| c.domain_secure_enabled = on)?
            }
        }
        Ok(format!(
            "Domain Security is {} on {} connector '{name}'; it applies from the next MAIL FROM or message, in open sessions too.",
            on_off(on),
            kind.word()
        ))
    }

    /// Applies a Domain Security plan: trusts the partner's root (when a file is given), then
    /// adds the domain to the lists, pins it when asked, and switches Domain Security on the
    /// chosen connectors (with AuthMechanism Tls on receive connectors) — one settings change.
    /// If that change is refused, a root added for it is removed again, so nothing is half
    /// applied. Returns the sentence saying what was done.
    pub fn set_up_domain_security(
        &mut self,
        plan: &DomainSecurityPlan,
        now: OffsetDateTime,
    ) -> Result<String> {
        let partner = domain::normalize(&plan.domain)
            .map_err(|e| AdminError::Refused(format!("partner domain: {e}")))?;
        let mut added_roots: Vec<String> = Vec::new();
        let anchors: Vec<String> = match &plan.root {
            RootChoice::AlreadyTrusted => Vec::new(),
            RootChoice::Existing(tp) => {
                let r = self.store.find_root(tp).map_err(AdminError::Refused)?;
                vec![r.info.thumbprint.clone()]
            }
            RootChoice::File(path) => {
                let bytes = std::fs::read(path).map_err(|e| {
                    AdminError::Refused(format!("cannot read {}: {e}", path.display()))
                })?;
                let contents = crate::pki::import::read_file(&bytes, None)?;
                let mut tps = Vec::new();
                let mut new = false;
                for der in &contents.certificates {
                    let info = crate::pki::inspect::inspect_certificate(der)?;
                    if !info.is_ca {
                        continue;
                    }
                    if !self
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
                    added_roots = self
                        .trust_add(&bytes, now)?
                        .into_iter()
                        .map(|r| r.thumbprint)
                        .collect();
                }
                tps
            }
        };
        if plan.pin && anchors.is_empty() {
            self.forget_roots(&added_roots);
            return Err(AdminError::Refused(
                "to pin the partner to its own root, import its root CA or pick one of the trusted roots"
                    .into(),
            ));
        }
        let result = self.change_settings(|s| apply_plan(s, plan, &partner, &anchors));
        if let Err(e) = result {
            self.forget_roots(&added_roots);
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

    /// Removes roots a refused set-up added, so nothing is half applied.
    fn forget_roots(&mut self, added_roots: &[String]) {
        for tp in added_roots {
            // Best effort: the root was added a moment ago by this same operation.
            let _ = self.trust_remove(tp);
        }
    }
}

/// The settings part of a plan, on a copy that is validated before it is saved.
fn apply_plan(
    s: &mut Settings,
    plan: &DomainSecurityPlan,
    partner: &str,
    anchors: &[String],
) -> Result<()> {
    let t = &mut s.transport;
    let listed = |l: &Vec<String>| {
        l.iter()
            .any(|d| domain::normalize(d).ok().as_deref() == Some(partner))
    };
    if plan.send_list && !listed(&t.tls_send_domain_secure_list) {
        t.tls_send_domain_secure_list.push(partner.to_string());
    }
    if plan.receive_list && !listed(&t.tls_receive_domain_secure_list) {
        t.tls_receive_domain_secure_list.push(partner.to_string());
    }
    if plan.pin {
        let pins: Vec<Pin> = anchors.iter().cloned().map(Pin::Thumbprint).collect();
        match s
            .partner_anchors
            .iter_mut()
            .find(|p| p.domain.eq_ignore_ascii_case(partner))
        {
            Some(p) => {
                for pin in pins {
                    if !p.anchors.contains(&pin) {
                        p.anchors.push(pin);
                    }
                }
            }
            None => s.partner_anchors.push(PartnerAnchor {
                domain: partner.to_string(),
                anchors: pins,
            }),
        }
    }
    for name in &plan.send_connectors {
        let c = s
            .send_connector_mut(name)
            .ok_or_else(|| AdminError::Refused(format!("there is no send connector '{name}'")))?;
        c.domain_secure_enabled = true;
    }
    for name in &plan.receive_connectors {
        let c = s.receive_connector_mut(name).ok_or_else(|| {
            AdminError::Refused(format!("there is no receive connector '{name}'"))
        })?;
        offer_starttls(c);
        c.domain_secure_enabled = true;
    }
    Ok(())
}

impl DomainSecurityPlan {
    /// The `mailflow` commands that make the same change as the plan on `settings`: run in
    /// this order they reach the same settings.
    pub fn commands(&self, settings: &Settings) -> Vec<String> {
        let t = &settings.transport;
        let mut out = Vec::new();
        if let RootChoice::File(p) = &self.root {
            out.push(format!(
                "mailflow trust add {}",
                shell_arg(&p.display().to_string())
            ));
        }
        let with = |list: &[String]| {
            let mut l: Vec<String> = list.to_vec();
            let d = self.domain.trim().to_ascii_lowercase();
            if !d.is_empty() && !l.iter().any(|x| x.eq_ignore_ascii_case(&d)) {
                l.push(d);
            }
            l.join(",")
        };
        let mut transport = Vec::new();
        if self.send_list {
            transport.push(format!(
                "--send-domain-secure {}",
                shell_arg(&with(&t.tls_send_domain_secure_list))
            ));
        }
        if self.receive_list {
            transport.push(format!(
                "--receive-domain-secure {}",
                shell_arg(&with(&t.tls_receive_domain_secure_list))
            ));
        }
        if !transport.is_empty() {
            out.push(format!("mailflow transport set {}", transport.join(" ")));
        }
        for c in &self.send_connectors {
            out.push(format!(
                "mailflow connector send set {} --domain-secure true",
                shell_arg(c)
            ));
        }
        for c in &self.receive_connectors {
            let auth = settings
                .receive_connector(c)
                .map(mechanisms_with_starttls)
                .unwrap_or_else(|| vec![AuthMechanism::Tls]);
            let auth: Vec<&str> = auth.into_iter().map(auth_word).collect();
            out.push(format!(
                "mailflow connector receive set {} --domain-secure true --auth {}",
                shell_arg(c),
                auth.join(",")
            ));
        }
        if self.pin {
            let anchor = match &self.root {
                RootChoice::File(p) => format!("--cert {}", shell_arg(&p.display().to_string())),
                RootChoice::Existing(tp) => format!("--thumbprint {tp}"),
                RootChoice::AlreadyTrusted => "--thumbprint <ROOT-THUMBPRINT>".to_string(),
            };
            out.push(format!(
                "mailflow partner anchor {} {anchor}",
                shell_arg(self.domain.trim())
            ));
        }
        out
    }

    /// The smart host the partner's mail goes to through the chosen send connectors, when one
    /// is configured.
    pub fn smart_host(&self, settings: &Settings) -> Option<String> {
        settings
            .send_connectors
            .iter()
            .filter(|c| self.send_connectors.contains(&c.name))
            .find_map(|c| c.smart_hosts.first().cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DataDir;

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn org() -> (tempfile::TempDir, Workspace) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path().join("org"));
        super::super::init(&dir, "Contoso", "mail.contoso.test", "contoso.test", now()).unwrap();
        let ws = Workspace::open(&dir).unwrap();
        (tmp, ws)
    }

    fn partner_root(tmp: &tempfile::TempDir) -> PathBuf {
        let key = crate::pki::keys::KeySpec::P256.generate().unwrap();
        let der =
            crate::pki::ca::create_ca("Fabrikam Root CA", "Fabrikam", &key, now(), 1).unwrap();
        let path = tmp.path().join("fabrikam-root.cer");
        std::fs::write(&path, crate::pki::builder::to_pem(&der)).unwrap();
        path
    }

    fn plan(root: RootChoice) -> DomainSecurityPlan {
        DomainSecurityPlan {
            domain: "Fabrikam.test".into(),
            root,
            pin: true,
            send_list: true,
            receive_list: true,
            send_connectors: vec!["Outbound".into()],
            receive_connectors: vec!["Default".into()],
        }
    }

    #[test]
    fn the_switch_changes_only_domain_security_and_needs_tls() {
        let (_tmp, mut ws) = org();
        let said = ws
            .set_domain_security(ConnectorType::Receive, "Default", true)
            .unwrap();
        assert!(said.contains("Domain Security is on on receive connector 'Default'"));
        let c = ws.settings.receive_connector("Default").unwrap();
        assert!(c.domain_secure_enabled);
        assert_eq!(c.auth_mechanisms, vec![AuthMechanism::Tls]);
        ws.set_domain_security(ConnectorType::Receive, "Default", false)
            .unwrap();
        ws.change_connector("Default", |c: &mut ReceiveConnector| {
            c.auth_mechanisms = vec![AuthMechanism::BasicAuth]
        })
        .unwrap();
        let before = std::fs::read(ws.dir.settings()).unwrap();
        let err = ws
            .set_domain_security(ConnectorType::Receive, "Default", true)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("Domain Security needs the Tls authentication mechanism"),
            "{err}"
        );
        assert_eq!(std::fs::read(ws.dir.settings()).unwrap(), before);
        let c = ws.settings.receive_connector("Default").unwrap();
        assert_eq!(c.auth_mechanisms, vec![AuthMechanism::BasicAuth]);
        assert!(!c.domain_secure_enabled);
        let err = ws
            .set_domain_security(ConnectorType::Send, "Nowhere", true)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("there is no send connector 'Nowhere'")
        );
    }

    #[test]
    fn a_set_up_offers_starttls_keeping_the_other_mechanisms() {
        let (tmp, mut ws) = org();
        ws.change_connector("Default", |c: &mut ReceiveConnector| {
            c.auth_mechanisms = vec![AuthMechanism::BasicAuth]
        })
        .unwrap();
        let root = partner_root(&tmp);
        let p = plan(RootChoice::File(root));
        let commands = p.commands(&ws.settings);
        assert!(
            commands.contains(
                &"mailflow connector receive set Default --domain-secure true --auth basicauth,tls"
                    .to_string()
            ),
            "{commands:?}"
        );
        let said = ws.set_up_domain_security(&p, now()).unwrap();
        assert!(
            said.contains("Domain Security with fabrikam.test is set up"),
            "{said}"
        );
        let c = ws.settings.receive_connector("Default").unwrap();
        assert_eq!(
            c.auth_mechanisms,
            vec![AuthMechanism::BasicAuth, AuthMechanism::Tls]
        );
        assert!(c.domain_secure_enabled);
        assert_eq!(
            ws.settings.transport.tls_send_domain_secure_list,
            vec!["fabrikam.test".to_string()]
        );
        assert_eq!(ws.settings.partner_anchors[0].domain, "fabrikam.test");
    }

    #[test]
    fn a_refused_set_up_forgets_the_root_it_trusted() {
        let (tmp, mut ws) = org();
        let root = partner_root(&tmp);
        let mut p = plan(RootChoice::File(root));
        p.receive_connectors = vec!["Nowhere".into()];
        let before = std::fs::read(ws.dir.settings()).unwrap();
        let err = ws.set_up_domain_security(&p, now()).unwrap_err();
        assert!(
            err.to_string()
                .contains("there is no receive connector 'Nowhere'")
        );
        assert!(
            ws.store.trusted_roots().is_empty(),
            "the root is gone again"
        );
        assert_eq!(std::fs::read(ws.dir.settings()).unwrap(), before);
    }
}
