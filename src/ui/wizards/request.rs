//! The New certificate request wizard (New-ExchangeCertificate -GenerateRequest):
//! Introduction → Subject (relative distinguished names added by type, each checked against
//! Table 1 of the article, with a live preview) → Domains (SAN entries; warns when the
//! organization's domain is missing) → Key → Review (with the equivalent `mailflow cert request`
//! command) → Completion (the key is generated off the UI thread; save the request file, copy
//! the PEM text).

use super::{Buttons, wizard_frame};
use crate::admin::check_request_domains;
use crate::pki::keys::KeySpec;
use crate::pki::subject::{Rdn, RdnKind, Subject};
use crate::ui::app::actions::{Action, Form, IfExists, PickTarget, RequestSpec};
use crate::ui::app::feedback::Feedback;
use crate::ui::app::jobs::{Done, RequestCreated};
use crate::ui::pages::Cx;
use crate::ui::state::model::ConsoleData;
use crate::ui::widgets;
use crate::ui::widgets::format::shell_arg;
use crate::ui::widgets::nav::Page;
use crate::ui::widgets::theme::{bad, good, muted, warn};
use egui::{RichText, Ui};
use egui_extras::Column;
use std::path::PathBuf;
use std::sync::Arc;

const FORM: Form = Form::RequestWizard;

pub const STEPS: [&str; 6] = [
    "Introduction",
    "Subject",
    "Domains",
    "Key",
    "Review",
    "Completion",
];

/// One row of the subject table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RdnRow {
    pub kind: RdnKind,
    pub value: String,
}

pub struct RequestWizard {
    pub step: usize,
    pub rows: Vec<RdnRow>,
    pub add_kind: RdnKind,
    pub domains: Vec<String>,
    pub domain_input: String,
    pub key: KeySpec,
    pub friendly_name: String,
    pub created: Option<RequestCreated>,
    pub save_path: String,
    pub binary: bool,
    pub saved_to: Option<String>,
    /// A save of the request file is under way (its answer says where it went).
    saving: bool,
    /// Issued with the lab CA and installed.
    pub issued: bool,
    /// A whole subject pasted to be split into parts, and why it could not be.
    pub paste: String,
    pub paste_problem: Option<String>,
    org_domain: Option<String>,
    renewal: bool,
}

impl RequestWizard {
    pub fn new(data: &ConsoleData, subject: Option<String>, domains: Vec<String>) -> RequestWizard {
        let renewal = subject.is_some();
        let rows = subject
            .and_then(|s| Subject::parse(&s).ok())
            .map(|s| {
                s.rdns()
                    .iter()
                    .map(|r| RdnRow {
                        kind: r.kind,
                        value: r.value.clone(),
                    })
                    .collect()
            })
            .unwrap_or_else(|| {
                vec![RdnRow {
                    kind: RdnKind::CN,
                    value: data.settings.organization.fqdn.clone(),
                }]
            });
        let domains = if renewal {
            domains
        } else {
            let mut d = vec![data.settings.organization.fqdn.clone()];
            if let Some(o) = data.org_domain()
                && !d.iter().any(|x| x.eq_ignore_ascii_case(o))
            {
                d.push(o.to_string());
            }
            d
        };
        RequestWizard {
            step: 0,
            rows,
            add_kind: RdnKind::O,
            domains,
            domain_input: String::new(),
            key: KeySpec::Rsa2048,
            friendly_name: String::new(),
            created: None,
            save_path: String::new(),
            binary: false,
            saved_to: None,
            saving: false,
            issued: false,
            paste: String::new(),
            paste_problem: None,
            org_domain: data.org_domain().map(str::to_string),
            renewal,
        }
    }

    /// Problems of each row (Table 1: type, size, count).
    pub fn row_problems(&self) -> Vec<Option<String>> {
        self.rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                if let Err(e) = r.kind.check_value(&r.value) {
                    return Some(e);
                }
                if let Some(max) = r.kind.max_count() {
                    let before = self.rows[..i].iter().filter(|x| x.kind == r.kind).count();
                    if before >= max {
                        return Some(format!(
                            "a subject may have only {max} {} ({}): remove this one",
                            r.kind,
                            r.kind.title()
                        ));
                    }
                }
                None
            })
            .collect()
    }

    /// The subject, or why it is not valid yet.
    pub fn subject(&self) -> Result<Subject, String> {
        let rdns: Vec<Rdn> = self
            .rows
            .iter()
            .map(|r| Rdn {
                kind: r.kind,
                value: r.value.clone(),
            })
            .collect();
        Subject::new(rdns).map_err(|e| e.to_string())
    }

    /// The domains, checked and normalised, or the first problem.
    pub fn checked_domains(&self) -> Result<Vec<String>, String> {
        check_request_domains(&self.domains).map_err(|e| e.to_string())
    }

    fn add_row(&mut self, kind: RdnKind) {
        // Keep Table 1's order: insert after the last row that may come before it.
        let pos = self
            .rows
            .iter()
            .rposition(|r| r.kind.order() <= kind.order())
            .map(|p| p + 1)
            .unwrap_or(0);
        self.rows.insert(
            pos,
            RdnRow {
                kind,
                value: String::new(),
            },
        );
    }

    /// The equivalent command line.
    pub fn command(&self) -> String {
        let subject = self
            .subject()
            .map(|s| s.to_string())
            .unwrap_or_else(|_| "…".into());
        let mut c = format!("mailflow cert request --subject {}", shell_arg(&subject));
        for d in &self.domains {
            c.push_str(&format!(" --domain {}", shell_arg(d)));
        }
        c.push_str(&format!(" --key {}", self.key.cli_name()));
        if !self.friendly_name.trim().is_empty() {
            c.push_str(&format!(
                " --friendly-name {}",
                shell_arg(self.friendly_name.trim())
            ));
        }
        if self.binary {
            c.push_str(" --binary");
        }
        c.push_str(&format!(" --out {}", self.file_name()));
        c
    }

    /// A file name for the request: the common name with `.req`.
    pub fn file_name(&self) -> String {
        let cn = self
            .rows
            .iter()
            .rev()
            .find(|r| r.kind == RdnKind::CN)
            .map(|r| r.value.clone())
            .unwrap_or_else(|| "request".into());
        let safe: String = cn
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{safe}.{}", if self.binary { "der" } else { "req" })
    }

    /// Saves the request to `path` (a typed path refuses to replace a file).
    pub fn save_to(&mut self, path: PathBuf, if_exists: IfExists) -> Option<Action> {
        let created = self.created.as_ref()?;
        self.save_path = path.display().to_string();
        self.saving = true;
        let bytes = if self.binary {
            created.der.as_ref().clone()
        } else {
            created.pem.clone().into_bytes()
        };
        Some(Action::SaveFile {
            form: FORM,
            path,
            bytes: Arc::new(bytes),
            what: "The request".into(),
            if_exists,
        })
    }

    pub fn on_done(&mut self, done: &Done) {
        match done {
            Done::Request(r) => self.created = Some(r.clone()),
            Done::Message(_) if self.saving => {
                self.saving = false;
                self.saved_to = Some(self.save_path.clone());
            }
            Done::Message(_) => self.issued = true,
            Done::Imported { .. } => {}
        }
    }

    pub fn wizard_page(&mut self, ui: &mut Ui, cx: &mut Cx) {
        let working = cx.busy(FORM);
        let subject_ok = self.subject().is_ok();
        let domains_ok = self.checked_domains().is_ok();
        let (next, back) = match self.step {
            0 => (Some(("Next >", true)), false),
            1 => (Some(("Next >", subject_ok)), true),
            2 => (Some(("Next >", domains_ok)), true),
            3 => (Some(("Next >", true)), true),
            4 => (
                Some(("Generate request", subject_ok && domains_ok && !working)),
                true,
            ),
            _ => (
                Some(("Finish", self.created.is_some())),
                self.created.is_none() && !working,
            ),
        };
        let title = if self.renewal {
            "Renew certificate (new request)"
        } else {
            "New certificate request"
        };
        let nav = wizard_frame(
            ui,
            title,
            &STEPS,
            self.step,
            Buttons {
                back,
                next,
                cancel: if self.created.is_some() {
                    "Close"
                } else {
                    "Cancel"
                },
            },
            |ui| match self.step {
                0 => self.intro_step(ui),
                1 => self.subject_step(ui),
                2 => self.domains_step(ui),
                3 => self.key_step(ui),
                4 => self.review_step(ui, cx),
                _ => self.completion_step(ui, cx),
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
                4 => {
                    if let (Ok(subject), Ok(domains)) = (self.subject(), self.checked_domains()) {
                        let friendly = self.friendly_name.trim();
                        cx.push(Action::NewRequest(Box::new(RequestSpec {
                            subject,
                            domains,
                            key: self.key,
                            friendly_name: (!friendly.is_empty()).then(|| friendly.to_string()),
                        })));
                        self.step = 5;
                    }
                }
                5 => {
                    cx.push(Action::CloseWizard);
                    cx.push(Action::Navigate(Page::Certificates));
                }
                s => self.step = s + 1,
            }
        }
    }

    fn intro_step(&mut self, ui: &mut Ui) {
        ui.label("This wizard creates a key pair and a certificate request (PKCS#10) for this server's SMTP certificate, as New-ExchangeCertificate -GenerateRequest does.");
        ui.add_space(6.0);
        for line in [
            "1. Describe the server: the subject name, built from the parts of Table 1 (C, DC, S, L, O, OU, CN).",
            "2. List the domain names the certificate must carry: this server's FQDN and the organization's domain, which partners check under Domain Security.",
            "3. Choose the key type and size.",
            "4. Save the request file and send it to a certification authority (or issue it with the lab CA).",
            "5. Import the certificate it issues with the Import certificate wizard: it completes this request.",
        ] {
            ui.label(line);
        }
        ui.add_space(8.0);
        widgets::note(
            ui,
            crate::ui::widgets::theme::info(),
            "ℹ",
            "The private key never leaves this server: it is kept in the data directory (mode 0600) until the certificate is imported.",
        );
    }

    /// Splits a whole subject (`DC=msft,dc=nwtraders,CN=W2K3`) into the table's rows, with the
    /// same parser and rules as the command line's `--subject`.
    pub fn split_pasted(&mut self) {
        match Subject::parse(self.paste.trim()) {
            Ok(subject) => {
                self.rows = subject
                    .rdns()
                    .iter()
                    .map(|r| RdnRow {
                        kind: r.kind,
                        value: r.value.clone(),
                    })
                    .collect();
                self.paste.clear();
                self.paste_problem = None;
            }
            Err(e) => self.paste_problem = Some(e.to_string()),
        }
    }

    fn subject_step(&mut self, ui: &mut Ui) {
        ui.label("Add the parts of the subject by type. They are kept in the order Table 1 prescribes: C and DC first, CN last.");
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            let l = ui.label("Or paste a whole subject");
            ui.add(
                egui::TextEdit::singleline(&mut self.paste)
                    .hint_text("DC=msft,dc=nwtraders,CN=W2K3")
                    .desired_width(320.0),
            )
            .labelled_by(l.id);
            if ui
                .add_enabled(
                    !self.paste.trim().is_empty(),
                    egui::Button::new("Split into parts"),
                )
                .clicked()
            {
                self.split_pasted();
            }
        });
        if let Some(p) = &self.paste_problem {
            ui.label(RichText::new(crate::ui::app::jobs::sentence(p)).color(bad()));
        }
        ui.add_space(6.0);
        let problems = self.row_problems();
        let mut remove = None;
        widgets::card(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                widgets::fixed_label(ui, 200.0, RichText::new("Type").strong());
                ui.label(RichText::new("Value").strong());
            });
            for (i, row) in self.rows.iter_mut().enumerate() {
                ui.horizontal(|ui| {
                    let l = widgets::fixed_label(
                        ui,
                        200.0,
                        format!("{} ({})", row.kind.title(), row.kind.key()),
                    );
                    ui.add_sized([320.0, 22.0], egui::TextEdit::singleline(&mut row.value))
                        .labelled_by(l.id);
                    if ui
                        .small_button("✖")
                        .on_hover_text(format!("Remove {} {}", row.kind.key(), i + 1))
                        .clicked()
                    {
                        remove = Some(i);
                    }
                    match &problems[i] {
                        Some(_) => ui.label(RichText::new("✖").color(bad()).strong()),
                        None if row.value.is_empty() => ui.label(""),
                        None => ui.label(RichText::new("✔").color(good()).strong()),
                    };
                });
                if let Some(p) = &problems[i] {
                    ui.horizontal(|ui| {
                        ui.add_space(208.0);
                        ui.add(
                            egui::Label::new(
                                RichText::new(crate::ui::app::jobs::sentence(p))
                                    .color(bad())
                                    .size(12.5),
                            )
                            .wrap(),
                        );
                    });
                }
            }
            ui.add_space(6.0);
            ui.horizontal(|ui| {
                let l = ui.label("Add a part:");
                egui::ComboBox::from_id_salt("rdn-kind")
                    .selected_text(format!(
                        "{} ({})",
                        self.add_kind.title(),
                        self.add_kind.key()
                    ))
                    .width(220.0)
                    .show_ui(ui, |ui| {
                        for k in RdnKind::ALL {
                            ui.selectable_value(
                                &mut self.add_kind,
                                k,
                                format!("{} ({})", k.title(), k.key()),
                            );
                        }
                    })
                    .response
                    .labelled_by(l.id);
                let count = self.rows.iter().filter(|r| r.kind == self.add_kind).count();
                let full = self.add_kind.max_count().is_some_and(|m| count >= m);
                if ui
                    .add_enabled(!full, egui::Button::new("Add part"))
                    .on_disabled_hover_text(format!(
                        "A subject has at most one {}",
                        self.add_kind.key()
                    ))
                    .clicked()
                {
                    let k = self.add_kind;
                    self.add_row(k);
                }
            });
        });
        if let Some(i) = remove {
            self.rows.remove(i);
        }
        ui.add_space(8.0);
        ui.label(RichText::new("Subject preview").strong());
        match self.subject() {
            Ok(s) => widgets::code_block(ui, &s.to_string()),
            Err(e) => widgets::note(ui, bad(), "✖", &crate::ui::app::jobs::sentence(&e)),
        }
        ui.add_space(10.0);
        egui::CollapsingHeader::new("Table 1: the parts of a subject")
            .default_open(true)
            .show(ui, subject_parts_table);
    }

    fn domains_step(&mut self, ui: &mut Ui) {
        ui.label("The domain names the certificate will carry (subject alternative names). A partner checking Domain Security looks for your organization's domain here.");
        ui.add_space(6.0);
        let domains = self.domains.clone();
        let problem = |i: usize| -> Vec<String> {
            match domains
                .get(i)
                .map(|d| check_request_domains(std::slice::from_ref(d)))
            {
                Some(Err(e)) => vec![e.to_string()],
                _ => Vec::new(),
            }
        };
        widgets::card(ui, |ui| {
            ui.set_width(ui.available_width());
            widgets::list_editor(
                ui,
                "domain",
                &mut self.domains,
                &mut self.domain_input,
                &problem,
            );
        });
        ui.add_space(6.0);
        if let Some(org) = self.org_domain.clone() {
            let named = self
                .domains
                .iter()
                .any(|d| crate::pki::names::matches_exact(d, &org));
            if !named {
                widgets::note(
                    ui,
                    warn(),
                    "⚠",
                    &format!(
                        "The organization's domain {org} is not in the list: partners checking Domain Security will refuse this certificate."
                    ),
                );
                let add = ui.button(format!("Add {org}")).clicked();
                if add {
                    self.domains.push(org);
                }
            }
        }
        if self.domains.is_empty() {
            widgets::note(
                ui,
                warn(),
                "⚠",
                "Without domain names, many TLS clients ignore the certificate's name: add at least this server's FQDN.",
            );
        }
        if let Err(e) = self.checked_domains() {
            widgets::note(ui, bad(), "✖", &crate::ui::app::jobs::sentence(&e));
        }
    }

    fn key_step(&mut self, ui: &mut Ui) {
        ui.label("The type and size of the key pair. RSA 2048 works with every partner; ECDSA keys are smaller and faster where partners support them.");
        ui.add_space(6.0);
        widgets::card(ui, |ui| {
            ui.set_width(ui.available_width());
            for (k, help) in [
                (KeySpec::Rsa2048, "the common choice, accepted everywhere"),
                (KeySpec::Rsa3072, "stronger; slower handshakes"),
                (
                    KeySpec::Rsa4096,
                    "strongest RSA; generation takes a few seconds",
                ),
                (KeySpec::P256, "small and fast; most mail servers accept it"),
                (
                    KeySpec::P384,
                    "a stronger curve; a few older partners may not accept it",
                ),
            ] {
                ui.horizontal(|ui| {
                    ui.radio_value(&mut self.key, k, k.to_string());
                    ui.label(RichText::new(help).color(muted()));
                });
            }
            ui.add_space(8.0);
            widgets::form_grid(ui, "request-friendly", |ui| {
                widgets::text_field(
                    ui,
                    "Friendly name (optional)",
                    &mut self.friendly_name,
                    "Mailflow SMTP 2026",
                    &[],
                );
            });
        });
    }

    fn review_step(&mut self, ui: &mut Ui, cx: &mut Cx) {
        ui.label("Check the request. Generate creates the key pair and the request; it stays pending until its certificate is imported.");
        ui.add_space(6.0);
        widgets::property_grid(
            ui,
            "request-review",
            &[
                (
                    "Subject",
                    self.subject().map(|s| s.to_string()).unwrap_or_else(|e| e),
                ),
                ("Domains", crate::ui::widgets::format::list(&self.domains)),
                ("Key", self.key.to_string()),
                (
                    "Friendly name",
                    if self.friendly_name.trim().is_empty() {
                        "—".into()
                    } else {
                        self.friendly_name.trim().to_string()
                    },
                ),
            ],
        );
        ui.add_space(8.0);
        ui.label(RichText::new("Equivalent command").strong());
        widgets::code_block(ui, &self.command());
        cx.feedback(ui, FORM);
    }

    fn completion_step(&mut self, ui: &mut Ui, cx: &mut Cx) {
        match (&self.created, cx.feedback.get(FORM)) {
            (None, Some(Feedback::Error(_))) => {
                cx.feedback(ui, FORM);
                ui.label("Go back to change the request, or cancel.");
                return;
            }
            (None, _) => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(format!(
                        "Generating the {} key pair and the request…",
                        self.key
                    ));
                });
                ui.label(
                    RichText::new("This runs in the background: the console stays usable.")
                        .color(muted()),
                );
                return;
            }
            (Some(_), _) => {}
        }
        let Some(created) = self.created.clone() else {
            return;
        };
        widgets::note(
            ui,
            good(),
            "✔",
            &format!(
                "The request is ready. It is listed under Certificates as pending request {} until its certificate is imported.",
                created.id
            ),
        );
        ui.add_space(8.0);
        cx.feedback(ui, FORM);
        widgets::card(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new("Save the request file").strong());
            ui.checkbox(&mut self.binary, "Binary (DER) instead of Base64 (PEM)");
            let mut save = None;
            ui.horizontal(|ui| {
                let l = ui.label("File");
                let hint = format!("/path/to/{}", self.file_name());
                ui.add(
                    egui::TextEdit::singleline(&mut self.save_path)
                        .hint_text(hint)
                        .desired_width(360.0),
                )
                .labelled_by(l.id);
                if ui
                    .add_enabled(!self.save_path.trim().is_empty(), egui::Button::new("Save"))
                    .clicked()
                {
                    save = Some(PathBuf::from(self.save_path.trim()));
                }
                if ui
                    .button("Save as…")
                    .on_hover_text("Choose where to save the request")
                    .clicked()
                {
                    cx.push(Action::Pick {
                        target: PickTarget::RequestSave,
                        save: true,
                        file_name: self.file_name(),
                    });
                }
            });
            if let Some(p) = save
                && let Some(a) = self.save_to(p, IfExists::Refuse)
            {
                cx.push(a);
            }
            if let Some(p) = &self.saved_to {
                ui.label(RichText::new(format!("✔ Saved to {p}")).color(good()));
            }
        });
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            ui.label(RichText::new("The request (PEM)").strong());
            if ui.button("📋 Copy to clipboard").clicked() {
                cx.push(Action::CopyText {
                    form: FORM,
                    text: created.pem.clone(),
                });
            }
        });
        egui::ScrollArea::vertical()
            .id_salt("request-pem")
            .max_height(220.0)
            .show(ui, |ui| widgets::code_block(ui, created.pem.trim_end()));
        ui.add_space(6.0);
        if let Some(name) = cx.data.lab_ca.clone() {
            widgets::card(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(
                    RichText::new(format!("Or issue it here with the lab CA ({name})")).strong(),
                );
                ui.label(
                    RichText::new(
                        "For a lab or a partner that trusts our lab CA: the certificate is issued for one year, installed with this request's key and enabled for SMTP.",
                    )
                    .color(muted()),
                );
                if self.issued {
                    ui.label(
                        RichText::new("✔ Issued and installed: see Certificates.").color(good()),
                    );
                } else if widgets::primary_button(
                    ui,
                    "Issue with the lab CA and install",
                    !cx.busy(FORM),
                )
                .clicked()
                {
                    cx.push(Action::IssueWithLabCa {
                        request_id: created.id.clone(),
                        days: 365,
                        enable_smtp: true,
                        form: FORM,
                    });
                }
            });
            ui.add_space(6.0);
        }
        ui.label(
            RichText::new(
                "Next: send the file to a CA, then import the certificate it issues (Certificates › Import); the request completes with it.",
            )
            .color(muted()),
        );
    }
}

fn subject_parts_table(ui: &mut Ui) {
    egui_extras::TableBuilder::new(ui)
        .id_salt("table1")
        .striped(true)
        .column(Column::exact(60.0))
        .column(Column::exact(170.0))
        .column(Column::exact(110.0))
        .column(Column::exact(110.0))
        .column(Column::exact(80.0))
        .header(22.0, |mut h| {
            for t in ["Type", "Name", "Maximum size", "Maximum count", "Order"] {
                h.col(|ui| widgets::header(ui, t));
            }
        })
        .body(|mut body| {
            for k in RdnKind::ALL {
                body.row(22.0, |mut row| {
                    row.col(|ui| {
                        ui.label(RichText::new(k.key()).strong());
                    });
                    row.col(|ui| {
                        ui.label(k.title());
                    });
                    row.col(|ui| {
                        ui.label(k.max_len().to_string());
                    });
                    row.col(|ui| {
                        ui.label(
                            k.max_count()
                                .map(|c| c.to_string())
                                .unwrap_or_else(|| "many".into()),
                        );
                    });
                    row.col(|ui| {
                        ui.label(k.order().to_string());
                    });
                });
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wizard() -> RequestWizard {
        RequestWizard {
            step: 1,
            rows: Vec::new(),
            add_kind: RdnKind::O,
            domains: Vec::new(),
            domain_input: String::new(),
            key: KeySpec::P256,
            friendly_name: String::new(),
            created: None,
            save_path: String::new(),
            binary: false,
            saved_to: None,
            saving: false,
            issued: false,
            paste: String::new(),
            paste_problem: None,
            org_domain: Some("nwtraders.msft".into()),
            renewal: false,
        }
    }

    #[test]
    fn rows_keep_table_1_order_and_limits() {
        let mut w = wizard();
        w.add_row(RdnKind::CN);
        w.add_row(RdnKind::DC);
        w.add_row(RdnKind::DC);
        w.add_row(RdnKind::C);
        let kinds: Vec<RdnKind> = w.rows.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            vec![RdnKind::DC, RdnKind::DC, RdnKind::C, RdnKind::CN]
        );
        w.rows[0].value = "msft".into();
        w.rows[1].value = "nwtraders".into();
        w.rows[2].value = "USA".into();
        w.rows[3].value = "W2K3".into();
        assert!(
            w.row_problems()[2]
                .as_deref()
                .is_some_and(|p| p.contains("two-letter"))
        );
        assert!(w.subject().is_err());
        w.rows[2].value = "US".into();
        assert_eq!(
            w.subject().unwrap().to_string(),
            "DC=msft, DC=nwtraders, C=US, CN=W2K3"
        );
        w.add_row(RdnKind::C);
        w.rows[3].value = "DE".into();
        assert!(
            w.row_problems()[3]
                .as_deref()
                .is_some_and(|p| p.contains("only 1 C"))
        );
        w.rows.remove(3);
        w.domains = vec!["w2k3.nwtraders.msft".into(), "nwtraders.msft".into()];
        assert!(w.command().starts_with("mailflow cert request --subject 'DC=msft, DC=nwtraders, C=US, CN=W2K3' --domain w2k3.nwtraders.msft --domain nwtraders.msft --key p256 --out W2K3.req"), "{}", w.command());
    }
}
