//! The Domain Security wizard: partner domain → the partner's root CA (import a file, or pick a
//! trusted root; optionally pin it as the partner's own anchor) → the send and receive domain
//! secure lists → the connectors on which to enable Domain Security (AuthMechanism TLS with it
//! on receive connectors) → a summary of checks, each with a green or red mark → apply, in one
//! go, with the equivalent commands.

use super::{Buttons, wizard_frame};
use crate::admin::{OurCertificate, PartnerRoot, readiness};
use crate::config::domain;
use crate::ui::app::actions::{
    Action, DomainSecurityPlan, FileTarget, Form, PickTarget, RootChoice,
};
use crate::ui::app::feedback::Feedback;
use crate::ui::app::jobs::{Done, Failure, LoadedFile};
use crate::ui::pages::Cx;
use crate::ui::state::model::{ConsoleData, RootRow};
use crate::ui::state::probe::{NOT_AVAILABLE, ProbeCertificate, ProbeReport, ProbeRequest};
use crate::ui::widgets::nav::Page;
use crate::ui::widgets::theme::{bad, good, muted};
use crate::ui::widgets::{self, Mark};
use egui::{RichText, Ui};
use std::path::PathBuf;

const FORM: Form = Form::DomainSecurityWizard;

pub const STEPS: [&str; 6] = [
    "Partner domain",
    "Partner's root CA",
    "Domain secure lists",
    "Connectors",
    "Checks",
    "Done",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootMode {
    File,
    Existing,
    AlreadyTrusted,
}

/// One check of the summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub mark: Mark,
    pub what: String,
    pub detail: String,
}

pub struct DomainSecurityWizard {
    pub step: usize,
    pub domain: String,
    pub root_mode: RootMode,
    pub root_path: String,
    pub root_loaded: Option<LoadedFile>,
    pub existing: Option<String>,
    pub pin: bool,
    pub send_list: bool,
    pub receive_list: bool,
    pub send: Vec<(String, bool)>,
    pub receive: Vec<(String, bool)>,
    pub probe: Option<Result<ProbeReport, String>>,
    probing: bool,
    /// The host the probe went to: the connectors chosen later may route elsewhere.
    probed_host: Option<String>,
    /// The trusted root the probe found behind the partner's certificate, once preselected.
    pub suggested_root: Option<String>,
    pub applied: Option<String>,
}

impl DomainSecurityWizard {
    pub fn new(data: &ConsoleData) -> DomainSecurityWizard {
        let s = &data.settings;
        DomainSecurityWizard {
            step: 0,
            domain: String::new(),
            root_mode: if data.roots.iter().any(|r| !r.lab_ca) {
                RootMode::Existing
            } else {
                RootMode::File
            },
            root_path: String::new(),
            root_loaded: None,
            // Nothing preselected: the first trusted root may be another partner's, and its
            // check would come up green. The probe preselects the root that issued the
            // partner's certificate, when it finds one.
            existing: None,
            pin: false,
            send_list: true,
            receive_list: true,
            send: s
                .send_connectors
                .iter()
                .map(|c| (c.name.clone(), c.enabled))
                .collect(),
            receive: s
                .receive_connectors
                .iter()
                .map(|c| {
                    let partners = c
                        .permission_groups
                        .contains(&crate::config::PermissionGroup::Partners);
                    // A connector already on appears ticked: the step shows the state.
                    (
                        c.name.clone(),
                        c.domain_secure_enabled || (c.enabled && partners),
                    )
                })
                .collect(),
            probe: None,
            probing: false,
            probed_host: None,
            suggested_root: None,
            applied: None,
        }
    }

    pub fn partner(&self) -> Result<String, String> {
        if self.domain.trim().is_empty() {
            return Err("type the partner organization's mail domain".into());
        }
        domain::normalize(self.domain.trim()).map_err(|e| e.to_string())
    }

    pub fn choose_root(&mut self, path: PathBuf) -> Action {
        self.root_mode = RootMode::File;
        self.root_path = path.display().to_string();
        self.root_loaded = None;
        Action::LoadFile {
            target: FileTarget::DomainSecurityRoot,
            path,
            password: None,
        }
    }

    pub fn dropped_root(&mut self, path: PathBuf) -> Option<Action> {
        (self.step == 1).then(|| self.choose_root(path))
    }

    pub fn on_root_loaded(&mut self, r: Result<LoadedFile, Failure>) {
        self.root_loaded = r.ok();
    }

    pub fn on_probe(&mut self, r: Result<ProbeReport, String>) {
        self.probing = false;
        self.probe = Some(r);
    }

    pub fn on_done(&mut self, done: &Done) {
        if let Done::Message(m) = done {
            self.applied = Some(m.clone());
        }
    }

    /// The CA certificate of the loaded root file, if it holds one.
    fn loaded_root(&self) -> Option<(String, String)> {
        let f = self.root_loaded.as_ref()?;
        f.report
            .certificates
            .iter()
            .find(|c| c.info.is_ca)
            .map(|c| (c.info.subject.clone(), c.info.thumbprint.clone()))
    }

    fn root_ok(&self) -> bool {
        match self.root_mode {
            RootMode::File => self.loaded_root().is_some(),
            RootMode::Existing => self.existing.is_some(),
            RootMode::AlreadyTrusted => true,
        }
    }

    pub fn plan(&self) -> DomainSecurityPlan {
        DomainSecurityPlan {
            domain: self
                .partner()
                .unwrap_or_else(|_| self.domain.trim().to_string()),
            root: match self.root_mode {
                RootMode::File => RootChoice::File(PathBuf::from(self.root_path.trim())),
                RootMode::Existing => self
                    .existing
                    .clone()
                    .map(RootChoice::Existing)
                    .unwrap_or(RootChoice::AlreadyTrusted),
                RootMode::AlreadyTrusted => RootChoice::AlreadyTrusted,
            },
            pin: self.pin && self.root_mode != RootMode::AlreadyTrusted,
            send_list: self.send_list,
            receive_list: self.receive_list,
            send_connectors: self
                .send
                .iter()
                .filter(|(_, on)| *on)
                .map(|(n, _)| n.clone())
                .collect(),
            receive_connectors: self
                .receive
                .iter()
                .filter(|(_, on)| *on)
                .map(|(n, _)| n.clone())
                .collect(),
        }
    }

    /// The smart host the partner's mail goes to, when one is configured.
    fn smart_host(&self, data: &ConsoleData) -> Option<String> {
        self.plan().smart_host(&data.settings)
    }

    /// The summary's checks: the admin layer's readiness checks of the plan, then the probe.
    pub fn checks(&self, data: &ConsoleData, prober_available: bool) -> Vec<Check> {
        let ours = data.smtp_certificate().map(|c| OurCertificate {
            subject: &c.subject,
            names: &c.names,
            server_auth: c.server_auth,
            client_auth: c.client_auth,
            self_signed: c.self_signed,
        });
        let loaded = self.loaded_root();
        let root = match self.root_mode {
            RootMode::File => {
                PartnerRoot::File(loaded.as_ref().map(|(subject, _)| subject.as_str()))
            }
            RootMode::Existing => PartnerRoot::Existing(
                self.existing
                    .as_ref()
                    .and_then(|thumbprint| data.roots.iter().find(|r| &r.thumbprint == thumbprint))
                    .map(|r| (r.subject.as_str(), r.current)),
            ),
            RootMode::AlreadyTrusted => PartnerRoot::AlreadyTrusted,
        };
        let mut out: Vec<Check> = readiness(&self.plan(), &data.settings, ours, root)
            .into_iter()
            .map(|c| Check {
                mark: Mark::from(c.mark),
                what: c.what,
                detail: c.detail,
            })
            .collect();
        let mut add =
            |mark: Mark, what: String, detail: String| out.push(Check { mark, what, detail });
        match (self.smart_host(data), &self.probe) {
            (None, _) => add(
                Mark::Skip,
                "Connectivity to the partner".into(),
                "no smart host is configured for the partner: nothing to probe yet".into(),
            ),
            (Some(h), _) if !prober_available => add(
                Mark::Skip,
                format!("Connectivity to {h}"),
                NOT_AVAILABLE.into(),
            ),
            (Some(h), None) => add(
                Mark::Skip,
                format!("Connectivity to {h}"),
                "not probed yet".into(),
            ),
            (Some(h), Some(Err(e))) => add(Mark::Fail, format!("Connectivity to {h}"), e.clone()),
            (Some(h), Some(Ok(r))) => {
                let ok = r.verdicts.iter().all(|v| v.passes);
                add(
                    Mark::from_bool(ok),
                    format!("Connectivity to {h}"),
                    r.verdicts
                        .iter()
                        .map(|v| {
                            format!(
                                "{}: {}",
                                v.policy,
                                if v.passes { "passes" } else { "fails" }
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                );
            }
        }
        out
    }

    pub fn wizard_page(&mut self, ui: &mut Ui, cx: &mut Cx) {
        let working = cx.busy(FORM);
        let (next, back) = match self.step {
            0 => (Some(("Next >", self.partner().is_ok())), false),
            1 => (Some(("Next >", self.root_ok())), true),
            2 => (Some(("Next >", true)), true),
            3 => (Some(("Next >", true)), true),
            4 => (Some(("Apply", !working)), true),
            _ => (
                Some(("Finish", self.applied.is_some())),
                self.applied.is_none() && !working,
            ),
        };
        let nav = wizard_frame(
            ui,
            "Set up Domain Security with a partner",
            &STEPS,
            self.step,
            Buttons {
                back,
                next,
                cancel: if self.applied.is_some() {
                    "Close"
                } else {
                    "Cancel"
                },
            },
            |ui| match self.step {
                0 => self.partner_step(ui, cx),
                1 => self.root_step(ui, cx),
                2 => self.lists_step(ui, cx),
                3 => self.connectors_step(ui, cx),
                4 => self.checks_step(ui, cx),
                _ => self.done_step(ui, cx),
            },
        );
        if nav.cancel {
            cx.push(Action::CloseWizard);
        }
        if nav.back && self.step > 0 {
            self.step -= 1;
            cx.push(Action::Dismiss(FORM));
        }
        if nav.next {
            match self.step {
                3 => {
                    self.step = 4;
                    // Probed already, unless the connectors chosen since route elsewhere.
                    if !self.probing && self.probed_host != self.smart_host(cx.data) {
                        self.probe = None;
                        self.start_probe(cx);
                    }
                }
                4 => {
                    cx.push(Action::DomainSecurity(Box::new(self.plan())));
                    self.step = 5;
                }
                5 => {
                    cx.push(Action::CloseWizard);
                    cx.push(Action::Navigate(Page::TransportSettings));
                }
                0 => {
                    self.preselect_send(cx.data);
                    self.step = 1;
                    // Probing now lets the next step preselect the root behind the partner's
                    // certificate.
                    self.probe = None;
                    self.probed_host = None;
                    self.suggested_root = None;
                    self.start_probe(cx);
                }
                s => self.step = s + 1,
            }
        }
    }

    /// Probes the partner's smart host, when there is one and probing is possible.
    fn start_probe(&mut self, cx: &mut Cx) {
        if let (Some(h), Ok(d)) = (self.smart_host(cx.data), self.partner())
            && cx.prober_available
        {
            self.probing = true;
            self.probed_host = Some(h.clone());
            cx.push(Action::Probe {
                form: FORM,
                request: ProbeRequest {
                    domain: d,
                    host: Some(h),
                },
            });
        }
    }

    /// Once the probe is back: preselects the trusted root that issued the partner's
    /// certificate, when nothing was chosen yet.
    fn suggest_root(&mut self, roots: &[RootRow]) {
        if self.suggested_root.is_some() || self.existing.is_some() {
            return;
        }
        let Some(Ok(report)) = &self.probe else {
            return;
        };
        if let Some(root) = issuing_root(&report.chain, roots) {
            self.suggested_root = Some(root.thumbprint.clone());
            self.existing = Some(root.thumbprint.clone());
            self.root_mode = RootMode::Existing;
        }
    }

    /// Preselects the send connectors whose address spaces cover the partner's domain.
    fn preselect_send(&mut self, data: &ConsoleData) {
        let Ok(d) = self.partner() else { return };
        let covers = |pattern: &str| {
            let p = pattern.trim().to_ascii_lowercase();
            p == "*"
                || p == d
                || p.strip_prefix("*.")
                    .is_some_and(|s| d.ends_with(&format!(".{s}")))
        };
        self.send = data
            .settings
            .send_connectors
            .iter()
            .map(|c| {
                let on = c.domain_secure_enabled
                    || (c.enabled && c.address_spaces.iter().any(|a| covers(&a.address)));
                (c.name.clone(), on)
            })
            .collect();
    }

    fn partner_step(&mut self, ui: &mut Ui, cx: &mut Cx) {
        ui.label("Domain Security is mandatory mutual TLS with one partner organization: both sides present certificates, and each checks that the other's names its domain.");
        ui.add_space(8.0);
        widgets::card(ui, |ui| {
            ui.set_width(ui.available_width());
            let problems = match self.partner() {
                Err(e) if !self.domain.trim().is_empty() => vec![e],
                _ => Vec::new(),
            };
            widgets::form_grid(ui, "ds-partner", |ui| {
                widgets::text_field(
                    ui,
                    "Partner domain",
                    &mut self.domain,
                    "woodgrove.test",
                    &problems,
                );
            });
        });
        if let Ok(d) = self.partner()
            && cx
                .data
                .settings
                .accepted_domains
                .iter()
                .any(|a| a.domain.eq_ignore_ascii_case(&d))
        {
            widgets::note(
                ui,
                bad(),
                "✖",
                &format!("{d} is one of our own accepted domains, not a partner's."),
            );
        }
    }

    fn root_step(&mut self, ui: &mut Ui, cx: &mut Cx) {
        self.suggest_root(&cx.data.roots);
        let partner = self.partner().unwrap_or_default();
        ui.label(format!("The CA that issued {partner}'s certificate must be trusted here. Import the partner's root CA certificate, or pick one already trusted."));
        ui.add_space(8.0);
        if self.probing {
            ui.label(
                RichText::new(
                    "Probing the partner's host to find the root behind its certificate…",
                )
                .color(muted()),
            );
        } else if let (Some(t), Some(Ok(report))) = (&self.suggested_root, &self.probe)
            && let Some(root) = cx.data.roots.iter().find(|r| &r.thumbprint == t)
        {
            let host = report
                .chain
                .first()
                .map_or("its certificate", |c| c.subject.as_str());
            widgets::note(
                ui,
                good(),
                "✔",
                &format!(
                    "Preselected: {} issued the certificate {} presented ({host}).",
                    root.subject, report.connected_to
                ),
            );
        }
        ui.add_space(4.0);
        widgets::card(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.radio_value(
                &mut self.root_mode,
                RootMode::File,
                "Import the partner's root CA from a file",
            );
            if self.root_mode == RootMode::File {
                ui.indent("ds-root-file", |ui| {
                    widgets::form_grid(ui, "ds-root", |ui| {
                        if widgets::path_field(ui, "Root CA file", &mut self.root_path, &[]) {
                            cx.push(Action::Pick {
                                target: PickTarget::DomainSecurityRoot,
                                save: false,
                                file_name: String::new(),
                            });
                        }
                    });
                    ui.horizontal(|ui| {
                        if ui
                            .add_enabled(!self.root_path.trim().is_empty(), egui::Button::new("Read the file"))
                            .clicked()
                        {
                            let a = self.choose_root(PathBuf::from(self.root_path.trim()));
                            cx.push(a);
                        }
                        match self.loaded_root() {
                            Some((subject, thumbprint)) => {
                                ui.label(RichText::new(format!("✔ {subject} ({thumbprint})")).color(good()));
                            }
                            None if self.root_loaded.is_some() => {
                                ui.label(RichText::new("✖ The file holds no CA certificate: choose the partner's root, not its server certificate.").color(bad()));
                            }
                            None => {}
                        }
                    });
                    cx.feedback(ui, FORM);
                });
            }
            ui.add_space(4.0);
            ui.radio_value(
                &mut self.root_mode,
                RootMode::Existing,
                "Use a root that is already trusted",
            );
            if self.root_mode == RootMode::Existing {
                ui.indent("ds-root-existing", |ui| {
                    if cx.data.roots.is_empty() {
                        ui.label(RichText::new("No root is trusted yet.").color(muted()));
                    }
                    for r in &cx.data.roots {
                        let label = format!(
                            "{}{}",
                            r.subject,
                            if r.lab_ca { " (our lab CA)" } else { "" }
                        );
                        ui.radio_value(&mut self.existing, Some(r.thumbprint.clone()), label);
                    }
                });
            }
            ui.add_space(4.0);
            ui.radio_value(
                &mut self.root_mode,
                RootMode::AlreadyTrusted,
                "The partner's CA is among the trusted roots already; change nothing",
            );
            ui.add_space(8.0);
            ui.add_enabled(
                self.root_mode != RootMode::AlreadyTrusted,
                egui::Checkbox::new(
                    &mut self.pin,
                    format!(
                        "Pin {} to this root: no other CA may vouch for it",
                        if partner.is_empty() {
                            "the partner"
                        } else {
                            &partner
                        }
                    ),
                ),
            );
            ui.label(
                RichText::new(
                    "Beyond Exchange: without a pin, any trusted root may vouch for any partner.",
                )
                .color(muted())
                .size(12.0),
            );
        });
    }

    fn lists_step(&mut self, ui: &mut Ui, cx: &mut Cx) {
        let partner = self.partner().unwrap_or_default();
        let t = &cx.data.settings.transport;
        widgets::card(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.checkbox(
                &mut self.send_list,
                format!("Add {partner} to the send domain secure list"),
            );
            ui.label(RichText::new(format!("Mail to {partner} then goes only over mutual TLS; it waits in the queue rather than being downgraded. Now: {}", crate::ui::widgets::format::list(&t.tls_send_domain_secure_list))).color(muted()).size(12.0));
            ui.add_space(6.0);
            ui.checkbox(
                &mut self.receive_list,
                format!("Add {partner} to the receive domain secure list"),
            );
            ui.label(RichText::new(format!("Mail from {partner} is then accepted only over mutual TLS with a certificate naming {partner}. Now: {}", crate::ui::widgets::format::list(&t.tls_receive_domain_secure_list))).color(muted()).size(12.0));
        });
    }

    fn connectors_step(&mut self, ui: &mut Ui, cx: &mut Cx) {
        ui.label("Choose the connectors on which Domain Security is switched on. On receive connectors, AuthMechanism TLS is set with it. A connector that has it on already is ticked.");
        ui.add_space(8.0);
        let s = &cx.data.settings;
        let already = |receive: bool, name: &str| {
            if receive {
                s.receive_connector(name)
                    .is_some_and(|c| c.domain_secure_enabled)
            } else {
                s.send_connector(name)
                    .is_some_and(|c| c.domain_secure_enabled)
            }
        };
        widgets::card(ui, |ui| {
            ui.set_width(ui.available_width());
            for (receive, title, list) in [
                (false, "Send connectors", &mut self.send),
                (true, "Receive connectors", &mut self.receive),
            ] {
                ui.label(RichText::new(title).strong());
                for (name, on) in list.iter_mut() {
                    ui.horizontal(|ui| {
                        let kind = if receive { "Receive" } else { "Send" };
                        ui.checkbox(on, format!("{kind} connector {name}"));
                        if already(receive, name) {
                            ui.label(
                                RichText::new("Domain Security is on already")
                                    .color(muted())
                                    .size(12.0),
                            );
                        }
                    });
                }
                ui.add_space(6.0);
            }
        });
    }

    fn checks_step(&mut self, ui: &mut Ui, cx: &mut Cx) {
        ui.label("What will be in place after Apply. Red marks do not stop you, but mail with the partner will not flow until they are green.");
        ui.add_space(8.0);
        widgets::card(ui, |ui| {
            ui.set_width(ui.available_width());
            for c in self.checks(cx.data, cx.prober_available) {
                widgets::check_line(ui, c.mark, &c.what, &c.detail);
            }
            if self.probing {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Probing the partner's smart host…");
                });
            }
        });
        ui.add_space(8.0);
        ui.label(RichText::new("Equivalent commands").strong());
        let cmds = self.plan().commands(&cx.data.settings);
        widgets::code_block(ui, &cmds.join("\n"));
        cx.feedback(ui, FORM);
    }

    fn done_step(&mut self, ui: &mut Ui, cx: &mut Cx) {
        match &self.applied {
            Some(m) => {
                widgets::note(ui, good(), "✔", m);
                ui.add_space(6.0);
                ui.label("The relay uses the new settings at once: open sessions from their next message, deliveries before their next message.");
                ui.add_space(6.0);
                for c in self.checks(cx.data, cx.prober_available) {
                    widgets::check_line(ui, c.mark, &c.what, &c.detail);
                }
            }
            None => match cx.feedback.get(FORM) {
                Some(Feedback::Error(_)) => {
                    cx.feedback(ui, FORM);
                    ui.label("Nothing was changed. Go back to correct it, or cancel.");
                }
                _ => {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("Applying…");
                    });
                }
            },
        }
    }
}
/// The trusted root behind a chain a partner presented: one of its certificates itself, or the
/// root whose subject issued its topmost certificate (a current root first).
pub fn issuing_root<'a>(chain: &[ProbeCertificate], roots: &'a [RootRow]) -> Option<&'a RootRow> {
    let by_thumbprint = chain.iter().find_map(|c| {
        roots
            .iter()
            .find(|r| r.thumbprint.eq_ignore_ascii_case(&c.thumbprint))
    });
    by_thumbprint.or_else(|| {
        let top = chain.last()?;
        let mut issuers: Vec<&RootRow> = roots.iter().filter(|r| r.subject == top.issuer).collect();
        issuers.sort_by_key(|r| !r.current);
        issuers.first().copied()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(subject: &str, issuer: &str, thumbprint: &str) -> ProbeCertificate {
        ProbeCertificate {
            subject: subject.into(),
            issuer: issuer.into(),
            thumbprint: thumbprint.into(),
            not_after: String::new(),
        }
    }

    fn root(subject: &str, thumbprint: &str, current: bool) -> RootRow {
        RootRow {
            thumbprint: thumbprint.into(),
            subject: subject.into(),
            not_after: time::OffsetDateTime::UNIX_EPOCH,
            current,
            lab_ca: false,
        }
    }

    #[test]
    fn the_root_behind_a_chain_is_found_by_issuer_or_by_thumbprint() {
        let roots = [
            root("CN=Fabrikam Root", "AA", true),
            root("CN=Woodgrove Root", "BB", false),
            root("CN=Woodgrove Root", "CC", true),
        ];
        // Leaf and intermediate: the intermediate's issuer names the root; a current one wins.
        let chain = [
            cert("CN=mail.woodgrove.test", "CN=Woodgrove Issuing", "11"),
            cert("CN=Woodgrove Issuing", "CN=Woodgrove Root", "22"),
        ];
        assert_eq!(
            issuing_root(&chain, &roots).map(|r| r.thumbprint.as_str()),
            Some("CC")
        );
        // The server sent the root itself: the very one, current or not.
        let with_root = [
            chain[0].clone(),
            cert("CN=Woodgrove Root", "CN=Woodgrove Root", "bb"),
        ];
        assert_eq!(
            issuing_root(&with_root, &roots).map(|r| r.thumbprint.as_str()),
            Some("BB")
        );
        // No trusted root behind it: nothing preselected.
        let unknown = [cert("CN=mail.contoso.test", "CN=Contoso Root", "33")];
        assert!(issuing_root(&unknown, &roots).is_none());
    }
}
