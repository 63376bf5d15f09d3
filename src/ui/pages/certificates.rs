//! Server › Certificates (Get-ExchangeCertificate): our certificates and pending requests
//! (Thumbprint, Services, Subject, Status, Expires), the selected one's details, and the
//! actions — new request, import, enable for SMTP, export the public certificate, renew (a new
//! request with the same subject and domains), inspect, remove.

use super::Cx;
use super::cert_details::{self, DetailsView};
use crate::pki::inspect::CertStatus;
use crate::ui::app::actions::{Action, Form, WizardStart};
use crate::ui::widgets::format;
use crate::ui::widgets::nav::Page;
use crate::ui::widgets::theme::{self, bad, good, muted, warn};
use crate::ui::widgets::{self, Answer};
use egui::{RichText, Ui};
use egui_extras::Column;

const FORM: Form = Form::Certificates;

#[derive(Default)]
pub struct CertificatesView {
    pub selected: Option<String>,
    /// The list's sort (a header clicked); unsorted: certificates, then requests.
    pub sort: Option<widgets::Sort>,
    pub details: DetailsView,
    confirm_remove: Option<(String, bool)>,
}

pub fn status_color(s: CertStatus) -> egui::Color32 {
    match s {
        CertStatus::Valid => good(),
        CertStatus::PendingRequest => warn(),
        _ => bad(),
    }
}

/// Days left, coloured: red under a week (or expired), amber under 30 days.
pub fn days_left_color(days: i64) -> egui::Color32 {
    if days < 7 {
        bad()
    } else if days < 30 {
        warn()
    } else {
        theme::text()
    }
}

/// The common name first (`mail.contoso.test`), from a subject written in encoding order
/// (`C=US, O=Contoso, CN=mail.contoso.test`); the whole subject when there is no CN.
pub fn cn_first(subject: &str) -> String {
    let parts: Vec<&str> = subject.split(", ").collect();
    match parts
        .iter()
        .rev()
        .find_map(|p| p.strip_prefix("CN=").or_else(|| p.strip_prefix("cn=")))
    {
        Some(cn) => {
            let rest: Vec<&str> = parts
                .iter()
                .copied()
                .filter(|p| !p.eq_ignore_ascii_case(&format!("CN={cn}")))
                .collect();
            if rest.is_empty() {
                cn.to_string()
            } else {
                format!("{cn} ({})", rest.join(", "))
            }
        }
        None => subject.to_string(),
    }
}

/// One row of the table: a certificate or a pending request.
#[derive(Clone)]
struct Row {
    key: String,
    subject: String,
    full_subject: String,
    services: &'static str,
    in_use: bool,
    status: CertStatus,
    days_left: Option<i64>,
    expires: String,
    thumbprint: String,
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
            subject: cn_first(&c.subject),
            full_subject: c.subject.clone(),
            services: c.services(),
            in_use: data.smtp_identity.as_deref() == Some(c.thumbprint.as_str()),
            status: c.status,
            days_left: Some((c.not_after - cx.now).whole_days()),
            expires: format::date(c.not_after),
            thumbprint: c.thumbprint.clone(),
        })
        .collect();
    rows.extend(data.requests.iter().map(|r| Row {
        key: r.id.clone(),
        subject: cn_first(&r.subject),
        full_subject: r.subject.clone(),
        services: "None",
        in_use: false,
        status: CertStatus::PendingRequest,
        days_left: None,
        expires: "—".into(),
        thumbprint: "—".into(),
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
    // Enter opens the selected certificate in the inspector, as double-clicking would.
    if let Some(c) = selected_cert
        && !ui.ctx().egui_wants_keyboard_input()
        && ui.input(|i| i.key_pressed(egui::Key::Enter))
    {
        push.push(Action::InspectStored(c.thumbprint.clone()));
    }
    for a in push {
        cx.push(a);
    }
    ui.add_space(6.0);
    let order = widgets::sorted_order(&rows, v.sort, |r, column| match column {
        0 => widgets::SortKey::text(&r.subject),
        1 => widgets::SortKey::text(r.services),
        2 => widgets::SortKey::text(r.status.words()),
        3 | 4 => widgets::SortKey::Number(r.days_left.unwrap_or(i64::MAX)),
        _ => widgets::SortKey::text(&r.thumbprint),
    });
    let rows: Vec<Row> = order.into_iter().map(|i| rows[i].clone()).collect();
    let mut resort = None;
    let arrowed = widgets::arrow_selection(
        ui,
        || rows.iter().map(|r| r.key.clone()).collect(),
        v.selected.as_ref(),
    );
    let mut clicked = arrowed.as_ref().map(|(_, k)| k.clone());
    ui.push_id("cert-table", |ui| {
        let mut table = widgets::table(ui, "certificates");
        if let Some((i, _)) = arrowed {
            table = table.scroll_to_row(i, None);
        }
        table
            .column(Column::initial(300.0).clip(true))
            .column(Column::initial(96.0))
            .column(Column::initial(120.0))
            .column(Column::initial(80.0))
            .column(Column::initial(96.0))
            .column(Column::remainder().at_least(120.0).clip(true))
            .max_scroll_height(220.0)
            .header(24.0, |mut h| {
                resort = widgets::sort_headers(
                    &mut h,
                    &[
                        "Subject",
                        "Services",
                        "Status",
                        "Days left",
                        "Expires",
                        "Thumbprint",
                    ],
                    v.sort,
                );
            })
            .body(|body| {
                body.rows(26.0, rows.len(), |mut row| {
                    let Some(r) = rows.get(row.index()) else {
                        return;
                    };
                    row.set_selected(v.selected.as_deref() == Some(r.key.as_str()));
                    row.col(|ui| {
                        ui.label(&r.subject).on_hover_text(&r.full_subject);
                    });
                    row.col(|ui| {
                        if r.in_use {
                            ui.label(RichText::new("SMTP (in use)").strong().color(good()))
                                .on_hover_text("The relay presents this certificate for STARTTLS and Domain Security");
                        } else if r.services == "SMTP" {
                            ui.label(RichText::new("SMTP").strong());
                        } else {
                            ui.label(RichText::new(r.services).color(muted()));
                        }
                    });
                    row.col(|ui| {
                        ui.label(RichText::new(r.status.words()).color(status_color(r.status)));
                    });
                    row.col(|ui| match r.days_left {
                        Some(d) => {
                            let text = if d < 0 {
                                "expired".to_string()
                            } else {
                                d.to_string()
                            };
                            ui.label(RichText::new(text).color(days_left_color(d)));
                        }
                        None => {
                            ui.label(RichText::new("—").color(muted()));
                        }
                    });
                    row.col(|ui| {
                        ui.label(&r.expires);
                    });
                    row.col(|ui| {
                        ui.label(RichText::new(&r.thumbprint).monospace());
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
    if resort.is_some() {
        v.sort = resort;
    }
    if rows.is_empty() {
        ui.label(RichText::new("No certificate yet: request one or import one.").color(muted()));
    }
    ui.add_space(10.0);
    // The details and the lab CA scroll below the table: together they are taller than the
    // window.
    egui::ScrollArea::vertical()
        .id_salt("cert-details-scroll")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            if let Some(c) = selected_cert {
                cert_details::certificate_card(ui, &mut v.details, c, cx);
            } else if let Some(r) = selected_request {
                cert_details::request_card(ui, &mut v.details, r, cx);
            }
            ui.add_space(8.0);
            cert_details::lab_ca_card(ui, &mut v.details, cx);
        });
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
        match widgets::confirm_danger(ui, "remove-certificate", &q, d, "Remove") {
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

#[cfg(test)]
mod tests {
    use super::cn_first;

    #[test]
    fn the_common_name_comes_first() {
        assert_eq!(
            cn_first("C=US, O=Contoso, CN=mail.contoso.test"),
            "mail.contoso.test (C=US, O=Contoso)"
        );
        assert_eq!(cn_first("CN=mail.contoso.test"), "mail.contoso.test");
        assert_eq!(
            cn_first("DC=msft, DC=nwtraders, CN=W2K3"),
            "W2K3 (DC=msft, DC=nwtraders)"
        );
        assert_eq!(cn_first("O=Contoso"), "O=Contoso");
    }
}
