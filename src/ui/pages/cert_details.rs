//! Server › Certificates, the selected item: a certificate's details with its exports (PEM with
//! the chain, DER, PKCS#7) and a password-protected PFX backup of it with its private key; a
//! pending request's details with its file to save again and "Issue with the lab CA and
//! install"; and the lab CA itself — create it, or export its certificate for partners.

use super::Cx;
use crate::pki::export::{ExportFormat, MIN_PFX_PASSWORD};
use crate::pki::keys::KeySpec;
use crate::store::certstore::RequestEntry;
use crate::ui::app::actions::{Action, ExportItem, IfExists, PickTarget};
use crate::ui::state::model::OwnCert;
use crate::ui::widgets::format;
use crate::ui::widgets::theme::{bad, good, muted, warn};
use crate::ui::widgets::{self, Mark};
use egui::{RichText, Ui};
use zeroize::Zeroizing;

/// What the details cards keep while the administrator types.
pub struct DetailsView {
    pub export_path: String,
    pub export_format: ExportFormat,
    pub pfx_path: String,
    pub pfx_password: Zeroizing<String>,
    pub pfx_again: Zeroizing<String>,
    pub request_path: String,
    pub issue_days: u32,
    pub issue_enable: bool,
    pub ca_name: String,
    pub ca_key: KeySpec,
    pub ca_years: u32,
    pub ca_export_path: String,
}

impl Default for DetailsView {
    fn default() -> Self {
        DetailsView {
            export_path: String::new(),
            export_format: ExportFormat::PemWithChain,
            pfx_path: String::new(),
            pfx_password: Zeroizing::new(String::new()),
            pfx_again: Zeroizing::new(String::new()),
            request_path: String::new(),
            issue_days: 365,
            issue_enable: true,
            ca_name: String::new(),
            ca_key: KeySpec::P256,
            ca_years: 10,
            ca_export_path: String::new(),
        }
    }
}

/// A path field with a typed-path button and a file dialog button.
fn save_row(ui: &mut Ui, label: &str, path: &mut String, hint: &str, button: &str) -> (bool, bool) {
    let mut typed = false;
    let mut picked = false;
    ui.horizontal(|ui| {
        let l = ui.label(label);
        ui.add(
            egui::TextEdit::singleline(path)
                .hint_text(hint)
                .desired_width(300.0),
        )
        .labelled_by(l.id);
        typed = ui
            .add_enabled(!path.trim().is_empty(), egui::Button::new(button))
            .clicked();
        picked = ui
            .button(format!("{button}…"))
            .on_hover_text("Choose where to save the file")
            .clicked();
    });
    (typed, picked)
}

/// The name part of a thumbprint for a file name.
fn stem(thumbprint: &str) -> &str {
    thumbprint.get(..8).unwrap_or(thumbprint)
}

pub fn certificate_card(ui: &mut Ui, v: &mut DetailsView, c: &OwnCert, cx: &mut Cx) {
    let data = cx.data;
    widgets::card(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal(|ui| {
            let title = c.common_name.clone().unwrap_or_else(|| c.subject.clone());
            ui.label(RichText::new(title).strong().size(15.5));
            if data.smtp_identity.as_deref() == Some(c.thumbprint.as_str()) {
                widgets::pill(ui, "SMTP identity: the relay presents this one", good());
            }
        });
        ui.add_space(4.0);
        let org = data.org_domain().unwrap_or("");
        let names_org = c
            .names
            .iter()
            .any(|n| crate::pki::names::matches_exact(n, org));
        widgets::property_grid(
            ui,
            "cert-details",
            &[
                ("Subject", c.subject.clone()),
                (
                    "Friendly name",
                    c.friendly_name.clone().unwrap_or_else(|| "—".into()),
                ),
                ("Issued by", c.issuer.clone()),
                ("Names", format::list(&c.names)),
                (
                    "Valid",
                    format!(
                        "{} to {} ({})",
                        format::date(c.not_before),
                        format::date(c.not_after),
                        format::days_left(c.not_after, cx.now)
                    ),
                ),
                ("Thumbprint", c.thumbprint.clone()),
                (
                    "Private key",
                    if c.has_private_key {
                        "Yes".into()
                    } else {
                        "No".into()
                    },
                ),
                ("Services", c.services().into()),
            ],
        );
        ui.add_space(6.0);
        widgets::check_line(
            ui,
            Mark::from_bool(c.server_auth),
            "serverAuth",
            "needed for STARTTLS on receive connectors",
        );
        widgets::check_line(
            ui,
            Mark::from_bool(c.client_auth),
            "clientAuth",
            "needed to present it as client certificate (Domain Security)",
        );
        if !org.is_empty() {
            widgets::check_line(
                ui,
                Mark::from_bool(names_org),
                &format!("Names {org}"),
                "partners check this name under Domain Security",
            );
        }
        widgets::section(ui, "Export the certificate");
        ui.horizontal(|ui| {
            let l = ui.label("Format");
            egui::ComboBox::from_id_salt("cert-export-format")
                .selected_text(v.export_format.label())
                .width(230.0)
                .show_ui(ui, |ui| {
                    for f in ExportFormat::ALL {
                        ui.selectable_value(&mut v.export_format, f, f.label());
                    }
                })
                .response
                .labelled_by(l.id);
        });
        let what = ExportItem::Certificate {
            thumbprint: c.thumbprint.clone(),
            format: v.export_format,
        };
        let hint = format!("/path/to/certificate.{}", v.export_format.extension());
        let (typed, picked) = save_row(ui, "Export to", &mut v.export_path, &hint, "Export");
        if typed {
            cx.push(Action::Export {
                what: what.clone(),
                path: v.export_path.trim().into(),
                if_exists: IfExists::Refuse,
            });
        }
        if picked {
            cx.push(Action::Pick {
                target: PickTarget::Export(what),
                save: true,
                file_name: format!("{}.{}", stem(&c.thumbprint), v.export_format.extension()),
            });
        }
        if c.has_private_key {
            pfx_backup(ui, v, c, cx);
        }
    });
}

/// The PFX backup: a warning, the password twice, where to save it.
fn pfx_backup(ui: &mut Ui, v: &mut DetailsView, c: &OwnCert, cx: &mut Cx) {
    egui::CollapsingHeader::new("Back up with the private key (PFX)…")
        .id_salt("pfx-backup")
        .show(ui, |ui| {
            widgets::note(
                ui,
                warn(),
                "⚠",
                "The file holds this server's private key: whoever has it and the password can be this server to partners. Keep it offline, apart from its password, and delete copies you no longer need.",
            );
            ui.add_space(4.0);
            ui.horizontal(|ui| {
                let l = ui.label("Password");
                ui.add(
                    egui::TextEdit::singleline(&mut *v.pfx_password)
                        .password(true)
                        .desired_width(180.0),
                )
                .labelled_by(l.id);
                let l = ui.label("Again");
                ui.add(
                    egui::TextEdit::singleline(&mut *v.pfx_again)
                        .password(true)
                        .desired_width(180.0),
                )
                .labelled_by(l.id);
            });
            let problem = if v.pfx_password.chars().count() < MIN_PFX_PASSWORD {
                Some(format!("at least {MIN_PFX_PASSWORD} characters"))
            } else if *v.pfx_password != *v.pfx_again {
                Some("type the same password twice".to_string())
            } else {
                None
            };
            if let Some(p) = &problem {
                ui.label(RichText::new(format!("Password: {p}")).color(muted()));
            }
            ui.horizontal(|ui| {
                let l = ui.label("Save the PFX to");
                ui.add(
                    egui::TextEdit::singleline(&mut v.pfx_path)
                        .hint_text("/path/to/backup.pfx")
                        .desired_width(300.0),
                )
                .labelled_by(l.id);
                let ready = problem.is_none() && !v.pfx_path.trim().is_empty();
                if ui
                    .add_enabled(ready, egui::Button::new("Save PFX"))
                    .clicked()
                {
                    cx.push(Action::Export {
                        what: ExportItem::Pfx {
                            thumbprint: c.thumbprint.clone(),
                            password: v.pfx_password.clone(),
                            again: v.pfx_again.clone(),
                        },
                        path: v.pfx_path.trim().into(),
                        if_exists: IfExists::Refuse,
                    });
                    // The password is not kept once used.
                    v.pfx_password = Zeroizing::new(String::new());
                    v.pfx_again = Zeroizing::new(String::new());
                }
            });
        });
}

pub fn request_card(ui: &mut Ui, v: &mut DetailsView, r: &RequestEntry, cx: &mut Cx) {
    let lab_ca = cx.data.lab_ca.clone();
    widgets::card(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new("Pending request").strong().size(15.5));
        widgets::property_grid(
            ui,
            "request-details",
            &[
                ("Request ID", r.id.clone()),
                ("Subject", r.subject.clone()),
                ("Domains", format::list(&r.domains)),
                ("Key", r.key.to_string()),
                ("Created", format::time_ms(r.created.saturating_mul(1000))),
            ],
        );
        ui.label(
            RichText::new(
                "Send the request file to a CA, then import the certificate it issues: the request completes with it.",
            )
            .color(muted()),
        );
        widgets::section(ui, "Request file");
        let what = ExportItem::Request(r.id.clone());
        let (typed, picked) = save_row(
            ui,
            "Save the request to",
            &mut v.request_path,
            "/path/to/request.req",
            "Save request",
        );
        if typed {
            cx.push(Action::Export {
                what: what.clone(),
                path: v.request_path.trim().into(),
                if_exists: IfExists::Refuse,
            });
        }
        if picked {
            cx.push(Action::Pick {
                target: PickTarget::Export(what),
                save: true,
                file_name: format!("{}.req", r.id),
            });
        }
        widgets::section(ui, "Lab CA");
        match lab_ca {
            None => {
                ui.label(
                    RichText::new(
                        "No lab CA here: create one below to issue this request yourself, or send the file to a CA.",
                    )
                    .color(muted()),
                );
            }
            Some(name) => {
                ui.horizontal(|ui| {
                    let l = ui.label("Valid for (days)");
                    ui.add(egui::DragValue::new(&mut v.issue_days).range(1..=825))
                        .labelled_by(l.id);
                    ui.checkbox(&mut v.issue_enable, "Enable for SMTP");
                });
                if widgets::primary_button(
                    ui,
                    &format!("Issue with the lab CA ({name}) and install"),
                    !cx.busy(crate::ui::app::actions::Form::Certificates),
                )
                .clicked()
                {
                    cx.push(Action::IssueWithLabCa {
                        request_id: r.id.clone(),
                        days: v.issue_days,
                        enable_smtp: v.issue_enable,
                        form: crate::ui::app::actions::Form::Certificates,
                    });
                }
            }
        }
    });
}

/// The lab CA: create it, or export its certificate for partners to trust.
pub fn lab_ca_card(ui: &mut Ui, v: &mut DetailsView, cx: &mut Cx) {
    let data = cx.data;
    widgets::card(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new("Lab CA").strong().size(15.5));
        match (&data.lab_ca, &data.lab_ca_root) {
            (Some(name), root) => {
                let mut rows = vec![("Name", name.clone())];
                if let Some((tp, until)) = root {
                    rows.push(("Thumbprint", tp.clone()));
                    rows.push((
                        "Valid until",
                        format!(
                            "{} ({})",
                            format::date(*until),
                            format::days_left(*until, cx.now)
                        ),
                    ));
                }
                widgets::property_grid(ui, "lab-ca", &rows);
                ui.label(
                    RichText::new(
                        "Its root is trusted here. A partner that accepts it must trust its certificate: export it for them.",
                    )
                    .color(muted()),
                );
                let (typed, picked) = save_row(
                    ui,
                    "Export the CA certificate to",
                    &mut v.ca_export_path,
                    "/path/to/lab-ca.pem",
                    "Export CA certificate",
                );
                if typed {
                    cx.push(Action::Export {
                        what: ExportItem::LabCa,
                        path: v.ca_export_path.trim().into(),
                        if_exists: IfExists::Refuse,
                    });
                }
                if picked {
                    cx.push(Action::Pick {
                        target: PickTarget::Export(ExportItem::LabCa),
                        save: true,
                        file_name: "lab-ca.pem".into(),
                    });
                }
            }
            (None, _) => {
                ui.label(
                    RichText::new(
                        "A small CA of this organization's own, for a lab or for partners that agree to trust it: it issues certificates for pending requests here, without another tool.",
                    )
                    .color(muted()),
                );
                if v.ca_name.is_empty() {
                    v.ca_name = format!("{} Lab CA", data.settings.organization.name);
                }
                ui.horizontal(|ui| {
                    let l = ui.label("Name");
                    ui.add(egui::TextEdit::singleline(&mut v.ca_name).desired_width(220.0))
                        .labelled_by(l.id);
                    let l = ui.label("Key");
                    egui::ComboBox::from_id_salt("lab-ca-key")
                        .selected_text(v.ca_key.to_string())
                        .show_ui(ui, |ui| {
                            for k in KeySpec::ALL {
                                ui.selectable_value(&mut v.ca_key, k, k.to_string());
                            }
                        })
                        .response
                        .labelled_by(l.id);
                    let l = ui.label("Years");
                    ui.add(egui::DragValue::new(&mut v.ca_years).range(1..=30))
                        .labelled_by(l.id);
                });
                let ok = !v.ca_name.trim().is_empty() && v.ca_name.chars().count() <= 64;
                if !ok {
                    ui.label(RichText::new("The name must have 1 to 64 characters.").color(bad()));
                }
                if widgets::primary_button(
                    ui,
                    "Create the lab CA",
                    ok && !cx.busy(crate::ui::app::actions::Form::Certificates),
                )
                .clicked()
                {
                    cx.push(Action::CreateLabCa {
                        name: v.ca_name.trim().to_string(),
                        key: v.ca_key,
                        years: v.ca_years,
                    });
                }
            }
        }
    });
}
