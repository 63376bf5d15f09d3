//! The Import certificate wizard (Import-ExchangeCertificate): choose a file (typed, chosen in a
//! dialog, or dropped on the window) → its password when it is a PKCS#12 archive → a preview in
//! the inspector, saying whether it completes a pending request → options (enable it for SMTP)
//! → done. The file is read and inspected on the query worker, imported on the admin worker;
//! the store imports all or nothing.

use super::{Buttons, wizard_frame};
use crate::ui::app::actions::{Action, FileTarget, Form, ImportSpec, PickTarget};
use crate::ui::app::feedback::Feedback;
use crate::ui::app::jobs::{Done, Failure, LoadedFile};
use crate::ui::pages::Cx;
use crate::ui::pages::inspector::{self, Tab, file_name};
use crate::ui::widgets;
use crate::ui::widgets::format::shell_arg;
use crate::ui::widgets::nav::Page;
use crate::ui::widgets::theme::{good, info, muted, warn};
use egui::{RichText, Ui};
use std::path::PathBuf;
use zeroize::Zeroizing;

const FORM: Form = Form::ImportWizard;

pub const STEPS: [&str; 5] = ["Choose a file", "Password", "Preview", "Options", "Done"];

#[derive(Default)]
pub struct ImportWizard {
    pub step: usize,
    pub path: String,
    pub password: String,
    pub loaded: Option<LoadedFile>,
    pub enable_smtp: bool,
    pub friendly_name: String,
    pub tab: Tab,
    pub index: usize,
    pub result: Option<(String, String)>,
    waiting: bool,
}

impl ImportWizard {
    /// A file chosen (dialog or drop): read and inspect it.
    pub fn choose(&mut self, path: PathBuf) -> Action {
        self.path = path.display().to_string();
        self.step = 0;
        self.password.clear();
        self.loaded = None;
        self.load(None)
    }

    fn load(&mut self, password: Option<String>) -> Action {
        self.waiting = true;
        Action::LoadFile {
            target: FileTarget::ImportWizard,
            path: PathBuf::from(self.path.trim()),
            password: password.map(Zeroizing::new),
        }
    }

    pub fn on_loaded(&mut self, r: Result<LoadedFile, Failure>) {
        self.waiting = false;
        match r {
            Ok(f) => {
                let has_key = f.report.private_keys > 0 || f.report.completes_request.is_some();
                self.enable_smtp = has_key;
                self.index = 0;
                self.loaded = Some(f);
                self.step = 2;
            }
            Err(f) if f.needs_password => self.step = 1,
            Err(_) => {}
        }
    }

    pub fn on_done(&mut self, done: &Done) {
        if let Done::Imported {
            message,
            thumbprint,
        } = done
        {
            self.result = Some((message.clone(), thumbprint.clone()));
        }
    }

    fn has_key(&self) -> bool {
        self.loaded
            .as_ref()
            .is_some_and(|f| f.report.private_keys > 0 || f.report.completes_request.is_some())
    }

    pub fn wizard_page(&mut self, ui: &mut Ui, cx: &mut Cx) {
        let working = cx.busy(FORM);
        let can_import = self
            .loaded
            .as_ref()
            .is_some_and(|f| !f.report.certificates.is_empty());
        let (next, back) = match self.step {
            0 => (
                Some(("Next >", !self.path.trim().is_empty() && !working)),
                false,
            ),
            1 => (Some(("Next >", !working)), true),
            2 => (Some(("Next >", can_import)), true),
            3 => (Some(("Import", can_import && !working)), true),
            _ => (
                Some(("Finish", self.result.is_some())),
                self.result.is_none() && !working,
            ),
        };
        let nav = wizard_frame(
            ui,
            "Import certificate",
            &STEPS,
            self.step,
            Buttons {
                back,
                next,
                cancel: if self.result.is_some() {
                    "Close"
                } else {
                    "Cancel"
                },
            },
            |ui| match self.step {
                0 => self.choose_step(ui, cx),
                1 => self.password_step(ui, cx),
                2 => self.preview_step(ui, cx),
                3 => self.options_step(ui, cx),
                _ => self.done_step(ui, cx),
            },
        );
        if nav.cancel {
            cx.push(Action::CloseWizard);
        }
        if nav.back {
            self.step = match self.step {
                2 if !self.loaded.as_ref().is_some_and(|f| f.pkcs12) => 0,
                s => s.saturating_sub(1),
            };
            cx.push(Action::Dismiss(FORM));
        }
        if nav.next {
            match self.step {
                0 => {
                    let a = self.load(None);
                    cx.push(a);
                }
                1 => {
                    let a = self.load(Some(self.password.clone()));
                    cx.push(a);
                }
                2 => self.step = 3,
                3 => {
                    if let Some(f) = &self.loaded {
                        let name = self.friendly_name.trim();
                        cx.push(Action::Import(ImportSpec {
                            bytes: f.bytes.clone(),
                            password: f.pkcs12.then(|| Zeroizing::new(self.password.clone())),
                            enable_smtp: self.enable_smtp && self.has_key(),
                            friendly_name: (!name.is_empty()).then(|| name.to_string()),
                        }));
                        self.step = 4;
                    }
                }
                _ => {
                    cx.push(Action::CloseWizard);
                    cx.push(Action::Navigate(Page::Certificates));
                }
            }
        }
    }

    fn choose_step(&mut self, ui: &mut Ui, cx: &mut Cx) {
        ui.label("Choose the certificate the CA issued: .cer/.crt (PEM or DER), .p7b (with its chain) or .pfx/.p12 (with its private key). You can also drop the file on this window.");
        ui.add_space(8.0);
        widgets::card(ui, |ui| {
            ui.set_width(ui.available_width());
            widgets::form_grid(ui, "import-file", |ui| {
                if widgets::path_field(ui, "Certificate file", &mut self.path, &[]) {
                    cx.push(Action::Pick {
                        target: PickTarget::ImportFile,
                        save: false,
                        file_name: String::new(),
                    });
                }
            });
        });
        ui.add_space(8.0);
        if self.waiting && cx.busy(FORM) {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Reading the file…");
            });
        }
        cx.feedback(ui, FORM);
    }

    fn password_step(&mut self, ui: &mut Ui, cx: &mut Cx) {
        ui.label("This file is a PKCS#12 archive protected by a password. The password is used only to open it; it is not stored.");
        ui.add_space(8.0);
        widgets::card(ui, |ui| {
            ui.set_width(ui.available_width());
            widgets::form_grid(ui, "import-password", |ui| {
                widgets::field(ui, "Password", &[], |ui| {
                    ui.add(
                        egui::TextEdit::singleline(&mut self.password)
                            .password(true)
                            .desired_width(260.0),
                    )
                });
            });
        });
        ui.add_space(8.0);
        cx.feedback(ui, FORM);
    }

    fn preview_step(&mut self, ui: &mut Ui, cx: &mut Cx) {
        let Some(f) = self.loaded.clone() else { return };
        if f.report.certificates.is_empty() {
            widgets::note(
                ui,
                warn(),
                "⚠",
                "This file holds no certificate to import (a request is imported by importing the certificate the CA issued for it).",
            );
        }
        match &f.report.completes_request {
            // The inspector view below says which request it completes.
            Some(_) => {}
            None if f.report.private_keys > 0 => widgets::note(
                ui,
                info(),
                "ℹ",
                "The file carries its own private key; it does not complete a pending request.",
            ),
            None => widgets::note(
                ui,
                warn(),
                "⚠",
                "It does not complete a pending request and carries no private key: it can be inspected and exported, but not used as this server's SMTP certificate.",
            ),
        }
        ui.add_space(6.0);
        inspector::file_view(
            ui,
            &f.report,
            &file_name(&f.path),
            &mut self.index,
            &mut self.tab,
            cx.now,
        );
    }

    fn options_step(&mut self, ui: &mut Ui, cx: &mut Cx) {
        let has_key = self.has_key();
        widgets::card(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.add_enabled(
                has_key,
                egui::Checkbox::new(&mut self.enable_smtp, "Enable this certificate for SMTP"),
            );
            ui.label(
                RichText::new(if has_key {
                    "The relay then uses it for STARTTLS and as client certificate for Domain Security, from the next session on."
                } else {
                    "Not possible: there is no private key for this certificate."
                })
                .color(muted())
                .size(12.0),
            );
            ui.add_space(8.0);
            widgets::form_grid(ui, "import-options", |ui| {
                widgets::text_field(
                    ui,
                    "Friendly name (optional)",
                    &mut self.friendly_name,
                    "",
                    &[],
                );
            });
        });
        ui.add_space(8.0);
        ui.label(RichText::new("Equivalent commands").strong());
        let mut cmd = format!("mailflow cert import {}", shell_arg(self.path.trim()));
        if self.loaded.as_ref().is_some_and(|f| f.pkcs12) {
            cmd.push_str(" --password-file PASSWORD_FILE");
        }
        if !self.friendly_name.trim().is_empty() {
            cmd.push_str(&format!(
                " --friendly-name {}",
                shell_arg(self.friendly_name.trim())
            ));
        }
        if self.enable_smtp && has_key {
            let thumbprint = self
                .loaded
                .as_ref()
                .and_then(|f| f.report.certificates.first())
                .map(|c| c.info.thumbprint.clone())
                .unwrap_or_else(|| "THUMBPRINT".into());
            cmd.push_str(&format!(
                "\nmailflow cert enable {thumbprint} --services smtp"
            ));
        }
        widgets::code_block(ui, &cmd);
        cx.feedback(ui, FORM);
    }

    fn done_step(&mut self, ui: &mut Ui, cx: &mut Cx) {
        match &self.result {
            Some((message, thumbprint)) => {
                widgets::note(ui, good(), "✔", message);
                ui.add_space(6.0);
                if let Some(c) = cx.data.certificate(thumbprint) {
                    widgets::property_grid(
                        ui,
                        "import-result",
                        &[
                            ("Thumbprint", c.thumbprint.clone()),
                            ("Subject", c.subject.clone()),
                            ("Status", c.status.to_string()),
                            ("Services", c.services().to_string()),
                        ],
                    );
                }
                ui.add_space(6.0);
                ui.label(
                    RichText::new("Finish shows it under Server › Certificates.").color(muted()),
                );
            }
            None => match cx.feedback.get(FORM) {
                Some(Feedback::Error(_)) => {
                    cx.feedback(ui, FORM);
                    ui.label("Nothing was imported. Go back to change the file or the options.");
                }
                _ => {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("Importing…");
                    });
                }
            },
        }
    }
}
