//! The console's wizards — New certificate request, Import certificate, Domain Security — and
//! their common frame: the list of steps on the left (done ones ticked), the current step in
//! the middle, Back / Next / Cancel at the bottom. A wizard holds only view state; its work is
//! done by actions, and the results come back through the application.

pub mod domain_security;
pub mod import;
pub mod request;

use super::app::actions::{Action, FileTarget, Form, IfExists, PickTarget, WizardStart};
use super::app::jobs::{Done, Failure, LoadedFile};
use super::pages::Cx;
use super::state::model::ConsoleData;
use super::state::probe::ProbeReport;
use super::widgets;
use super::widgets::theme::{self, good, muted};
use egui::{RichText, Ui};
use std::path::PathBuf;

/// The open wizard.
pub enum Wizard {
    Request(request::RequestWizard),
    Import(import::ImportWizard),
    DomainSecurity(domain_security::DomainSecurityWizard),
}

impl Wizard {
    pub fn new(start: WizardStart, data: &ConsoleData) -> Wizard {
        match start {
            WizardStart::Request { subject, domains } => {
                Wizard::Request(request::RequestWizard::new(data, subject, domains))
            }
            WizardStart::Import => Wizard::Import(import::ImportWizard::default()),
            WizardStart::DomainSecurity { domain } => {
                let mut w = domain_security::DomainSecurityWizard::new(data);
                w.domain = domain;
                Wizard::DomainSecurity(w)
            }
        }
    }

    pub fn form(&self) -> Form {
        match self {
            Wizard::Request(_) => Form::RequestWizard,
            Wizard::Import(_) => Form::ImportWizard,
            Wizard::DomainSecurity(_) => Form::DomainSecurityWizard,
        }
    }

    pub fn wizard_page(&mut self, ui: &mut Ui, cx: &mut Cx) {
        match self {
            Wizard::Request(w) => w.wizard_page(ui, cx),
            Wizard::Import(w) => w.wizard_page(ui, cx),
            Wizard::DomainSecurity(w) => w.wizard_page(ui, cx),
        }
    }

    pub fn on_done(&mut self, form: Form, done: &Done) {
        if form != self.form() {
            return;
        }
        match self {
            Wizard::Request(w) => w.on_done(done),
            Wizard::Import(w) => w.on_done(done),
            Wizard::DomainSecurity(w) => w.on_done(done),
        }
    }

    pub fn on_loaded(&mut self, target: FileTarget, r: Result<LoadedFile, Failure>) {
        match (self, target) {
            (Wizard::Import(w), FileTarget::ImportWizard) => w.on_loaded(r),
            (Wizard::DomainSecurity(w), FileTarget::DomainSecurityRoot) => w.on_root_loaded(r),
            _ => {}
        }
    }

    pub fn on_picked(&mut self, target: &PickTarget, path: PathBuf) -> Option<Action> {
        match (self, target) {
            (Wizard::Import(w), PickTarget::ImportFile) => Some(w.choose(path)),
            (Wizard::DomainSecurity(w), PickTarget::DomainSecurityRoot) => {
                Some(w.choose_root(path))
            }
            (Wizard::Request(w), PickTarget::RequestSave) => w.save_to(path, IfExists::Replace),
            _ => None,
        }
    }

    /// A file dropped on the window while this wizard is open.
    pub fn on_dropped(&mut self, path: PathBuf) -> Option<Action> {
        match self {
            Wizard::Import(w) => Some(w.choose(path)),
            Wizard::DomainSecurity(w) => w.dropped_root(path),
            Wizard::Request(_) => None,
        }
    }

    pub fn on_probe(&mut self, r: Result<ProbeReport, String>) {
        if let Wizard::DomainSecurity(w) = self {
            w.on_probe(r);
        }
    }
}

/// What the administrator clicked at the bottom of a wizard.
#[derive(Default)]
pub struct Nav {
    pub back: bool,
    pub next: bool,
    pub cancel: bool,
}

/// The bottom row: Back, Next (or another label), Cancel.
pub struct Buttons<'a> {
    pub back: bool,
    pub next: Option<(&'a str, bool)>,
    pub cancel: &'a str,
}

/// Draws a wizard: title, steps on the left, the step's content, the buttons.
pub fn wizard_frame(
    ui: &mut Ui,
    title: &str,
    steps: &[&str],
    current: usize,
    buttons: Buttons,
    content: impl FnOnce(&mut Ui),
) -> Nav {
    let mut nav = Nav::default();
    ui.horizontal(|ui| {
        ui.heading(RichText::new(title).strong());
        ui.label(RichText::new(format!("Step {} of {}", current + 1, steps.len())).color(muted()));
    });
    ui.add_space(8.0);
    egui::Panel::bottom("wizard-buttons")
        .frame(egui::Frame::new().inner_margin(egui::Margin {
            left: 0,
            right: 0,
            top: 8,
            bottom: 0,
        }))
        .show(ui, |ui| {
            ui.separator();
            ui.horizontal(|ui| {
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if ui.button(buttons.cancel).clicked() {
                        nav.cancel = true;
                    }
                    if let Some((label, enabled)) = buttons.next
                        && widgets::primary_button(ui, label, enabled).clicked()
                    {
                        nav.next = true;
                    }
                    if ui
                        .add_enabled(buttons.back, egui::Button::new("< Back"))
                        .clicked()
                    {
                        nav.back = true;
                    }
                });
            });
        });
    egui::Panel::left("wizard-steps")
        .exact_size(210.0)
        .resizable(false)
        .frame(
            egui::Frame::new()
                .fill(theme::chrome())
                .corner_radius(egui::CornerRadius::same(6))
                .inner_margin(egui::Margin::same(12)),
        )
        .show(ui, |ui| {
            for (i, s) in steps.iter().enumerate() {
                let (mark, color, strong) = if i < current {
                    ("✔", good(), false)
                } else if i == current {
                    ("▶", theme::accent(), true)
                } else {
                    ("○", muted(), false)
                };
                ui.horizontal(|ui| {
                    ui.label(RichText::new(mark).color(color));
                    let t = RichText::new(*s);
                    ui.label(if strong {
                        t.strong().color(theme::accent())
                    } else {
                        t.color(if i < current { theme::text() } else { muted() })
                    });
                });
                ui.add_space(4.0);
            }
        });
    egui::CentralPanel::default()
        .frame(egui::Frame::new().inner_margin(egui::Margin {
            left: 18,
            right: 4,
            top: 0,
            bottom: 0,
        }))
        .show(ui, |ui| {
            egui::ScrollArea::vertical()
                .id_salt("wizard-content")
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    ui.label(RichText::new(steps[current]).strong().size(17.0));
                    ui.add_space(6.0);
                    content(ui);
                });
        });
    nav
}
