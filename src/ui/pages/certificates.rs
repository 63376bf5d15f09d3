//! Server › Certificates (Get-ExchangeCertificate): our certificates and pending requests
//! (Thumbprint, Services, Subject, Status, Expires), the selected one's details, and the
//! actions — new request, import, enable for SMTP, export the public certificate, renew (a new
//! request with the same subject and domains), inspect, remove.

use super::Cx;
use super::connector_common::short;
use crate::pki::inspect::CertStatus;
use crate::ui::app::actions::{Action, Form, IfExists, PickTarget, WizardStart};
use crate::ui::widgets::format;
use crate::ui::widgets::nav::Page;
use crate::ui::widgets::theme::{BAD, GOOD, MUTED, WARN};
use crate::ui::widgets::{self, Answer, Mark};
use egui::{RichText, Ui};
use egui_extras::Column;

const FORM: Form = Form::Certificates;

#[derive(Default)]
pub struct CertificatesView {
    pub selected: Option<String>,
    pub export_path: String,
    confirm_remove: Option<(String, bool)>,
}

pub fn status_color(s: CertStatus) -> egui::Color32 {
    match s {
        CertStatus::Valid => GOOD,
        CertStatus::PendingRequest => WARN,
        _ => BAD,
    }
}

/// One row of the table: a certificate or a pending request.
struct Row {
    key: String,
    thumbprint: String,
    services: &'static str,
    subject: String,
    status: CertStatus,
    expires: String,
    pending: bool,
}

pub fn certificates_page(ui: &mut Ui, v: &mut CertificatesView, cx: &mut Cx) {
    widgets::page_header(
        ui,
        "Certificates",
        "This server's certificates and pending requests. The SMTP certificate is our identity for STARTTLS and, with Domain Security, for mutual TLS.",
    );
    cx.relay_problems(ui, Page::Certificates);
    cx.feedback(ui, FORM);
    let data = cx.data;
    let mut rows: Vec<Row> = data
        .certificates
        .iter()
        .map(|c| Row {
            key: c.thumbprint.clone(),
            thumbprint: c.thumbprint.clone(),
            services: c.services(),
            subject: c.subject.clone(),
            status: c.status,
            expires: format::date(c.not_after),
            pending: false,
        })
        .collect();
    rows.extend(data.requests.iter().map(|r| Row {
        key: r.id.clone(),
        thumbprint: r.id.clone(),
        services: "None",
        subject: r.subject.clone(),
        status: CertStatus::PendingRequest,
        expires: String::new(),
        pending: true,
    }));
    let selected_cert = v.selected.as_deref().and_then(|k| data.certificate(k));
    let selected_request = v
        .selected
        .as_deref()
        .and_then(|k| data.requests.iter().find(|r| r.id == k));
    let mut push = Vec::new();
    ui.horizontal_wrapped(|ui| {
        if ui.button("➕ New request…").clicked() {
            push.push(Action::OpenWizard(WizardStart::Request {
                subject: None,
                domains: Vec::new(),
            }));
        }
        if ui.button("📥 Import…").clicked() {
            push.push(Action::OpenWizard(WizardStart::Import));
        }
        ui.separator();
        let can_enable = selected_cert.is_some_and(|c| !c.smtp && c.has_private_key);
        if ui
            .add_enabled(can_enable, egui::Button::new("✔ Enable for SMTP"))
            .clicked()
            && let Some(c) = selected_cert
        {
            push.push(Action::EnableCertificate(c.thumbprint.clone()));
        }
        let renew_from = selected_cert
            .map(|c| (c.subject.clone(), c.dns_names.clone()))
            .or_else(|| selected_request.map(|r| (r.subject.clone(), r.domains.clone())));
        if ui
            .add_enabled(renew_from.is_some(), egui::Button::new("⟳ Renew…"))
            .on_hover_text("A new request with the same subject and domains")
            .clicked()
            && let Some((subject, domains)) = renew_from
        {
            push.push(Action::OpenWizard(WizardStart::Request {
                subject: Some(subject),
                domains,
            }));
        }
        if ui
            .add_enabled(selected_cert.is_some(), egui::Button::new("🔍 Inspect"))
            .clicked()
            && let Some(c) = selected_cert
        {
            push.push(Action::InspectStored(c.thumbprint.clone()));
        }
        if ui
            .add_enabled(v.selected.is_some(), egui::Button::new("🗑 Remove…"))
            .clicked()
            && let Some(k) = &v.selected
        {
            v.confirm_remove = Some((k.clone(), selected_request.is_some()));
        }
    });
    for a in push {
        cx.push(a);
    }
    ui.add_space(6.0);
    let mut clicked = None;
    ui.push_id("cert-table", |ui| {
        widgets::table(ui, "certificates")
            .column(Column::initial(330.0).clip(true))
            .column(Column::initial(70.0))
            .column(Column::initial(330.0).clip(true))
            .column(Column::initial(120.0))
            .column(Column::remainder().at_least(90.0))
            .max_scroll_height(220.0)
            .header(24.0, |mut h| {
                for t in ["Thumbprint", "Services", "Subject", "Status", "Expires"] {
                    h.col(|ui| widgets::header(ui, t));
                }
            })
            .body(|body| {
                body.rows(26.0, rows.len(), |mut row| {
                    let r = &rows[row.index()];
                    row.set_selected(v.selected.as_deref() == Some(r.key.as_str()));
                    row.col(|ui| {
                        ui.label(RichText::new(&r.thumbprint).monospace());
                    });
                    row.col(|ui| {
                        if r.services == "SMTP" {
                            ui.label(RichText::new("SMTP").strong());
                        } else {
                            ui.label(RichText::new(r.services).color(MUTED));
                        }
                    });
                    row.col(|ui| {
                        ui.label(&r.subject);
                    });
                    row.col(|ui| {
                        ui.label(RichText::new(r.status.to_string()).color(status_color(r.status)));
                    });
                    row.col(|ui| {
                        ui.label(if r.pending { "—" } else { &r.expires });
                    });
                    if row.response().clicked() {
                        clicked = Some(r.key.clone());
                    }
                });
            });
    });
    if let Some(k) = clicked {
        v.selected = Some(k);
    }
    if rows.is_empty() {
        ui.label(RichText::new("No certificate yet: request one or import one.").color(MUTED));
    }
    ui.add_space(10.0);
    if let Some(c) = selected_cert {
        widgets::card(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                ui.label(RichText::new(&c.subject).strong().size(15.5));
                if data.smtp_identity.as_deref() == Some(c.thumbprint.as_str()) {
                    widgets::pill(ui, "SMTP identity", GOOD);
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
            ui.add_space(8.0);
            ui.horizontal(|ui| {
                let l = ui.label("Export the public certificate to");
                ui.add(
                    egui::TextEdit::singleline(&mut v.export_path)
                        .hint_text("/path/to/certificate.cer")
                        .desired_width(320.0),
                )
                .labelled_by(l.id);
                if ui
                    .add_enabled(
                        !v.export_path.trim().is_empty(),
                        egui::Button::new("Export"),
                    )
                    .clicked()
                {
                    cx.push(Action::ExportCertificate {
                        thumbprint: c.thumbprint.clone(),
                        path: v.export_path.trim().into(),
                        if_exists: IfExists::Refuse,
                    });
                }
                if ui
                    .button("Export…")
                    .on_hover_text("Choose where to save the certificate")
                    .clicked()
                {
                    cx.push(Action::Pick {
                        target: PickTarget::ExportCertificate(c.thumbprint.clone()),
                        save: true,
                        file_name: format!("{}.cer", short(&c.thumbprint).trim_end_matches('…')),
                    });
                }
            });
        });
    } else if let Some(r) = selected_request {
        widgets::card(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(
                RichText::new(format!("Pending request {}", r.id))
                    .strong()
                    .size(15.5),
            );
            widgets::property_grid(
                ui,
                "request-details",
                &[
                    ("Subject", r.subject.clone()),
                    ("Domains", format::list(&r.domains)),
                    ("Key", r.key.to_string()),
                    ("Created", format::time_ms(r.created.saturating_mul(1000))),
                ],
            );
            ui.label(RichText::new("Send the request file to a CA, then import the certificate it issues: the request completes with it.").color(MUTED));
        });
    }
    if let Some(ca) = &data.lab_ca {
        ui.add_space(8.0);
        ui.label(
            RichText::new(format!(
                "Lab CA: {ca} (issue with `mailflow ca issue REQUEST --out FILE`)"
            ))
            .color(MUTED),
        );
    }
    if let Some((key, pending)) = v.confirm_remove.clone() {
        let (q, d) = if pending {
            (
                format!("Remove pending request {key}?"),
                "Its private key is deleted: a certificate issued for it can no longer be imported with its key.",
            )
        } else {
            (
                format!("Remove certificate {key}?"),
                "The certificate and its private key are deleted. A connector that names it must use another one first.",
            )
        };
        match widgets::confirm(ui, "remove-certificate", &q, d, "Remove") {
            Some(Answer::Yes) => {
                cx.push(if pending {
                    Action::RemoveRequest(key)
                } else {
                    Action::RemoveCertificate(key)
                });
                v.confirm_remove = None;
                v.selected = None;
            }
            Some(Answer::No) => v.confirm_remove = None,
            None => {}
        }
    }
}
