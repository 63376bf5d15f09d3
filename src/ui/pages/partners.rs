//! Partners: a row per partner domain with the health of the secure mail flow with it — the
//! lists, the connectors, the trust that would validate its certificate, the certificate it
//! presented last, the last Domain Secure messages both ways, the last failure, the day's
//! messages, what waits in the queue, and our certificate as it sees it — each cell green,
//! amber or red with "Fix…" where something can be done. Opening a partner shows all of it
//! on one page with the certificates it presented and a chart of its mail per day. The report
//! is [`crate::admin::partners`]'s (the same as `mailflow partner health`), read on the query
//! worker when the page opens, on Refresh and after every saved change.

use super::Cx;
use crate::admin::partners::watch::Severity;
use crate::admin::partners::{Column, Fix, PartnerHealth, PartnersReport, health};
use crate::config::ConnectorType;
use crate::smtp::evidence::Direction;
use crate::store::partner_watch::{Presented, Seen};
use crate::ui::app::actions::{Action, Form, PickTarget, SettingsChange, WizardStart};
use crate::ui::widgets::nav::Page;
use crate::ui::widgets::theme::{self, muted};
use crate::ui::widgets::{self, Mark};
use egui::{RichText, Ui};
use egui_plot::{Bar, BarChart};
use std::sync::Arc;
use time::OffsetDateTime;

const FORM: Form = Form::Partners;

pub struct PartnersView {
    pub report: Option<Arc<Result<PartnersReport, String>>>,
    /// A read was asked for and has not come back.
    pub loading: bool,
    /// The settings changed since the report was read: it is read again.
    pub stale: bool,
    /// The partner whose page is open.
    pub open: Option<String>,
    /// A fix clicked, waiting for its confirmation: (partner domain, fix).
    pub confirm: Option<(String, Fix)>,
    /// The evidence report's range in days, format and file.
    pub evidence_days: i64,
    pub evidence_html: bool,
    pub evidence_path: String,
}

impl Default for PartnersView {
    fn default() -> Self {
        PartnersView {
            report: None,
            loading: false,
            stale: false,
            open: None,
            confirm: None,
            evidence_days: 30,
            evidence_html: true,
            evidence_path: String::new(),
        }
    }
}

impl PartnersView {
    pub fn on_result(&mut self, report: Arc<Result<PartnersReport, String>>) {
        self.report = Some(report);
        self.loading = false;
    }
}

fn load(v: &mut PartnersView, cx: &mut Cx) {
    v.loading = true;
    v.stale = false;
    cx.push(Action::LoadPartners);
}

pub fn partners_page(ui: &mut Ui, v: &mut PartnersView, cx: &mut Cx) {
    widgets::page_header(
        ui,
        "Partners",
        "Every partner organization we secure mail with, and whether that mail flows: settings, trust, the certificates they present, and what happened lately.",
    );
    cx.feedback(ui, FORM);
    if !v.loading && (v.report.is_none() || v.stale) {
        load(v, cx);
    }
    ui.horizontal(|ui| {
        if ui.button("⟳ Refresh").clicked() {
            load(v, cx);
        }
        if ui.button("Set up Domain Security…").clicked() {
            cx.push(Action::OpenWizard(WizardStart::DomainSecurity {
                domain: String::new(),
            }));
        }
        if v.loading {
            ui.spinner();
        }
    });
    ui.add_space(6.0);
    if let Some((domain, fix)) = v.confirm.clone() {
        confirm_fix(ui, v, cx, &domain, &fix);
        ui.add_space(6.0);
    }
    let Some(report) = v.report.clone() else {
        ui.label(RichText::new("Reading the partners' facts…").color(muted()));
        return;
    };
    let report = match report.as_ref() {
        Ok(r) => r,
        Err(e) => {
            widgets::note(
                ui,
                theme::bad(),
                "⚠",
                &format!("The partners report cannot be read: {e}"),
            );
            return;
        }
    };
    for note in &report.notes {
        widgets::note(ui, theme::warn(), "ℹ", note);
    }
    for a in &report.alerts {
        let (color, icon) = match a.severity {
            Severity::Critical => (theme::bad(), "⚠"),
            Severity::Warning => (theme::warn(), "⚠"),
        };
        widgets::note(ui, color, icon, &a.text);
    }
    if !report.alerts.is_empty() {
        ui.add_space(6.0);
    }
    if report.rows.is_empty() {
        ui.label(
            RichText::new(
                "No partners yet. A partner is a domain on a domain secure list, or with anchors or a partner pin of its own: Set up Domain Security… makes one.",
            )
            .color(muted()),
        );
        return;
    }
    match v.open.clone() {
        Some(domain) => match report.row(&domain) {
            Some(row) => partner_detail(ui, v, cx, report, row),
            None => v.open = None,
        },
        None => {
            partner_list(ui, v, report);
            ui.add_space(10.0);
            evidence_card(ui, v, cx, None);
        }
    }
}

/// The evidence report for an auditor: every message of the last days with the security of
/// each hop, the refusals and the totals, as a self-contained HTML file or CSV
/// ([`crate::admin::evidence`], the same as `mailflow report`).
fn evidence_card(ui: &mut Ui, v: &mut PartnersView, cx: &mut Cx, partner: Option<&str>) {
    widgets::card(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new("Evidence report").strong().size(15.5));
        ui.label(
            RichText::new(match partner {
                Some(p) => format!("For an auditor: every message exchanged with {p} with the security of each hop (TLS, cipher, certificates), the refusals and the totals."),
                None => "For an auditor: every message with the security of each hop (TLS, cipher, certificates), the refusals, and totals per partner and security level.".to_string(),
            })
            .color(muted()),
        );
        ui.add_space(4.0);
        widgets::form_grid(ui, "evidence-form", |ui| {
            let l = ui.label("Period");
            egui::ComboBox::from_id_salt("evidence-days")
                .selected_text(format!("the last {} days", v.evidence_days))
                .show_ui(ui, |ui| {
                    for d in [1, 7, 30, 90, 365] {
                        ui.selectable_value(&mut v.evidence_days, d, format!("the last {d} days"));
                    }
                })
                .response
                .labelled_by(l.id);
            ui.end_row();
            let l = ui.label("Format");
            ui.horizontal(|ui| {
                ui.radio_value(
                    &mut v.evidence_html,
                    true,
                    "HTML with charts (opens in a browser)",
                );
                ui.radio_value(&mut v.evidence_html, false, "CSV");
            })
            .response
            .labelled_by(l.id);
            ui.end_row();
            if widgets::path_field(ui, "Save to", &mut v.evidence_path, &[]) {
                cx.push(Action::Pick {
                    target: PickTarget::EvidenceReport,
                    save: true,
                    file_name: format!(
                        "evidence-{}.{}",
                        partner.unwrap_or("all-partners"),
                        if v.evidence_html { "html" } else { "csv" }
                    ),
                });
            }
        });
        let ready = !v.evidence_path.trim().is_empty() && !cx.busy(FORM);
        if widgets::primary_button(ui, "Save report", ready).clicked() {
            cx.push(Action::ExportEvidence {
                partner: partner.map(str::to_string),
                days: v.evidence_days,
                html: v.evidence_html,
                path: v.evidence_path.trim().into(),
            });
        }
    });
}

/// The fix as the console applies it.
fn fix_action(fix: &Fix, domain: &str, cx: &Cx) -> Option<Action> {
    let change = |change: SettingsChange| Action::Change { form: FORM, change };
    let with = |list: &[String]| {
        let mut l = list.to_vec();
        l.push(domain.to_string());
        l
    };
    let t = &cx.data.settings.transport;
    Some(match fix {
        Fix::AddToSendList => {
            let mut t = t.clone();
            t.tls_send_domain_secure_list = with(&t.tls_send_domain_secure_list);
            change(SettingsChange::Transport(Box::new(t)))
        }
        Fix::AddToReceiveList => {
            let mut t = t.clone();
            t.tls_receive_domain_secure_list = with(&t.tls_receive_domain_secure_list);
            change(SettingsChange::Transport(Box::new(t)))
        }
        Fix::SendConnectorDomainSecurity(name) => change(SettingsChange::DomainSecure {
            kind: ConnectorType::Send,
            name: name.clone(),
            enabled: true,
        }),
        Fix::ReceiveConnectorDomainSecurity(name) => change(SettingsChange::DomainSecure {
            kind: ConnectorType::Receive,
            name: name.clone(),
            enabled: true,
        }),
        Fix::SetUpDomainSecurity => Action::OpenWizard(WizardStart::DomainSecurity {
            domain: domain.to_string(),
        }),
        Fix::OurCertificate => Action::Navigate(Page::Certificates),
        Fix::TrackFailures => Action::TrackPartner(domain.to_string()),
        Fix::AskPartner(_) => return None,
    })
}

/// The confirmation of a clicked fix: what it does, and the button that does it.
fn confirm_fix(ui: &mut Ui, v: &mut PartnersView, cx: &mut Cx, domain: &str, fix: &Fix) {
    widgets::card(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new(format!("Fix for {domain}")).strong());
        ui.label(fix.describe(domain));
        ui.horizontal(|ui| {
            let action = fix_action(fix, domain, cx);
            let label = match (&action, fix) {
                (None, _) => "Copy the text",
                (Some(Action::Change { .. }), _) => "Apply",
                _ => "Open",
            };
            if widgets::primary_button(ui, label, true).clicked() {
                match action {
                    Some(a) => cx.push(a),
                    None => ui.ctx().copy_text(fix.describe(domain)),
                }
                v.confirm = None;
            }
            if ui.button("Cancel").clicked() {
                v.confirm = None;
            }
        });
    });
}

/// A cell: its mark, its sentence (cut to `width`, whole on hover), and "Fix…" when it has one.
fn cell_ui(
    ui: &mut Ui,
    v: &mut PartnersView,
    domain: &str,
    column: Column,
    cell: &health::Cell,
    wrap: bool,
) {
    let mark = Mark::from(cell.mark);
    ui.label(RichText::new(mark.glyph()).color(mark.color()).strong());
    // The button before the text: a long sentence cut to the column never hides it.
    if let Some(fix) = &cell.fix
        && cell.mark != crate::admin::CheckMark::Pass
    {
        let button = ui.small_button("Fix…").on_hover_text(fix.describe(domain));
        widgets::accessible_name(&button, &format!("Fix {} of {domain}", column.title()));
        if button.clicked() {
            v.confirm = Some((domain.to_string(), fix.clone()));
        }
    }
    let text = RichText::new(&cell.text).color(theme::text());
    if wrap {
        ui.add(egui::Label::new(text).wrap());
    } else {
        ui.add(egui::Label::new(text).truncate())
            .on_hover_text(&cell.text);
    }
}

/// The columns the list shows (the rest are on the partner's page).
const LIST: [Column; 10] = [
    Column::SendList,
    Column::ReceiveList,
    Column::SendConnector,
    Column::Trust,
    Column::PartnerCertificate,
    Column::LastFailure,
    Column::LastOutbound,
    Column::LastInbound,
    Column::Queued,
    Column::OurCertificate,
];

fn partner_list(ui: &mut Ui, v: &mut PartnersView, report: &PartnersReport) {
    egui::ScrollArea::horizontal().show(ui, |ui| {
        let mut table = widgets::table(ui, "partners")
            .column(egui_extras::Column::exact(170.0))
            .column(egui_extras::Column::exact(260.0));
        for c in LIST {
            let w = match c {
                Column::SendList | Column::ReceiveList | Column::Queued => 110.0,
                _ => 190.0,
            };
            table = table.column(egui_extras::Column::exact(w));
        }
        table
            .header(24.0, |mut h| {
                h.col(|ui| widgets::header(ui, "Partner"));
                h.col(|ui| widgets::header(ui, "Needs attention"));
                for c in LIST {
                    h.col(|ui| widgets::header(ui, c.title()));
                }
            })
            .body(|body| {
                body.rows(28.0, report.rows.len(), |mut row| {
                    let p = &report.rows[row.index()];
                    row.col(|ui| {
                        let mark = Mark::from(p.worst());
                        ui.label(RichText::new(mark.glyph()).color(mark.color()).strong());
                        if ui
                            .link(&p.domain)
                            .on_hover_text("Open the partner's page")
                            .clicked()
                        {
                            v.open = Some(p.domain.clone());
                        }
                    });
                    row.col(|ui| match p.attention() {
                        Some((c, cell)) => {
                            let mark = Mark::from(cell.mark);
                            let text = format!("{}: {}", c.title(), cell.text);
                            ui.add(
                                egui::Label::new(RichText::new(&text).color(mark.color()))
                                    .truncate(),
                            )
                            .on_hover_text(&text);
                        }
                        None => {
                            ui.label(RichText::new("nothing").color(muted()));
                        }
                    });
                    for c in LIST {
                        row.col(|ui| cell_ui(ui, v, &p.domain, c, p.cell(c), false));
                    }
                    if row.response().double_clicked() {
                        v.open = Some(p.domain.clone());
                    }
                });
            });
    });
}

fn days_words(now: OffsetDateTime, unix: i64) -> String {
    let days = (unix - now.unix_timestamp()).div_euclid(86_400);
    if days < 0 {
        format!("expired {} days ago", -days)
    } else {
        format!("{days} days left")
    }
}

fn partner_detail(
    ui: &mut Ui,
    v: &mut PartnersView,
    cx: &mut Cx,
    report: &PartnersReport,
    row: &PartnerHealth,
) {
    ui.horizontal(|ui| {
        if ui.button("⬅ All partners").clicked() {
            v.open = None;
        }
        let mark = Mark::from(row.worst());
        ui.label(
            RichText::new(format!("{} {}", mark.glyph(), row.domain))
                .strong()
                .size(17.0)
                .color(mark.color()),
        );
    });
    ui.horizontal(|ui| {
        let ours = cx.data.org_domain().unwrap_or("contoso.test").to_string();
        if ui
            .button("❓ What if they send to us…")
            .on_hover_text("The policy simulator, with a message from the partner to us")
            .clicked()
        {
            cx.push(Action::OpenWhatIf {
                from: format!("postmaster@{}", row.domain),
                to: format!("postmaster@{ours}"),
                from_client: true,
            });
        }
        if ui
            .button("❓ What if we send to them…")
            .on_hover_text("The policy simulator, with a message from us to the partner")
            .clicked()
        {
            cx.push(Action::OpenWhatIf {
                from: format!("postmaster@{ours}"),
                to: format!("postmaster@{}", row.domain),
                from_client: false,
            });
        }
        if ui.button("🔍 Its mail in tracking").clicked() {
            cx.push(Action::TrackPartner(row.domain.clone()));
        }
    });
    ui.add_space(6.0);
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            widgets::card(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(RichText::new("Health").strong().size(15.5));
                widgets::form_grid(ui, "partner-health", |ui| {
                    for c in Column::ALL {
                        ui.label(RichText::new(c.title()).strong());
                        ui.horizontal(|ui| cell_ui(ui, v, &row.domain, c, row.cell(c), true));
                        ui.end_row();
                    }
                });
            });
            ui.add_space(10.0);
            widgets::card(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(RichText::new("Certificates it presented").strong().size(15.5));
                let seen: Vec<&Seen> = report
                    .sightings
                    .iter()
                    .filter(|s| s.domain == row.domain)
                    .collect();
                if seen.is_empty() {
                    ui.label(
                        RichText::new("Nothing seen yet: the relay records what the partner presents when mail flows either way.")
                            .color(muted()),
                    );
                }
                widgets::form_grid(ui, "partner-seen", |ui| {
                    for s in seen {
                        sighting_row(ui, cx.now, s);
                        ui.end_row();
                    }
                });
            });
            ui.add_space(10.0);
            widgets::card(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(RichText::new("Mail per day").strong().size(15.5));
                match report.activity.get(&row.domain) {
                    Some(a) => history_chart(ui, &row.domain, a),
                    None => {
                        ui.label(RichText::new("No message tracking to read.").color(muted()));
                    }
                }
            });
            ui.add_space(10.0);
            evidence_card(ui, v, cx, Some(&row.domain));
        });
}

fn sighting_row(ui: &mut Ui, now: OffsetDateTime, s: &Seen) {
    let at = |ms: i64| health::ago(now, ms);
    ui.label(match s.direction {
        Direction::Inbound => "Sending to us",
        Direction::Outbound => "Receiving from us",
    });
    ui.vertical(|ui| {
        match &s.presented {
            Presented::Certificate { certificate: c, .. } => {
                ui.label(RichText::new(&c.subject).strong());
                ui.add(
                    egui::Label::new(
                        RichText::new(format!(
                            "issuer {} · names {} · {} · thumbprint {}",
                            c.issuer,
                            c.names.join(", "),
                            days_words(now, c.not_after),
                            c.thumbprint
                        ))
                        .color(muted()),
                    )
                    .wrap(),
                );
            }
            Presented::NoCertificate => {
                ui.label(RichText::new("TLS without a certificate").color(theme::warn()));
            }
            Presented::NoTls => {
                ui.label(RichText::new("no TLS").color(theme::bad()));
            }
        }
        ui.label(
            RichText::new(format!(
                "first seen {} · last seen {} · {} times · {}{}",
                at(s.first_seen),
                at(s.last_seen),
                s.times,
                s.host,
                if s.verified { " · authenticated" } else { "" }
            ))
            .color(muted()),
        );
    });
}

/// Messages per day by security, stacked, with the refusals beside them.
fn history_chart(ui: &mut Ui, domain: &str, a: &crate::store::partner_activity::Activity) {
    use crate::smtp::evidence::SecurityStatus as S;
    let bars = |f: &dyn Fn(&crate::store::partner_activity::Day) -> u64, offset: f64| {
        a.history
            .iter()
            .enumerate()
            .map(|(i, d)| Bar::new(i as f64 + offset, f(d) as f64).width(0.4))
            .collect::<Vec<Bar>>()
    };
    let secure = BarChart::new(
        "Domain Secure",
        bars(&|d| d.messages.get(S::DomainSecure), -0.2),
    )
    .color(theme::good());
    let encrypted = BarChart::new("Encrypted", bars(&|d| d.messages.get(S::Encrypted), -0.2))
        .color(theme::warn())
        .stack_on(&[&secure]);
    let plain = BarChart::new("Plaintext", bars(&|d| d.messages.get(S::Plaintext), -0.2))
        .color(theme::bad())
        .stack_on(&[&secure, &encrypted]);
    let refused = BarChart::new("Refused", bars(&|d| d.refused, 0.2)).color(muted());
    let days: Vec<String> = a
        .history
        .iter()
        .map(|d| {
            OffsetDateTime::from_unix_timestamp(d.day * 86_400)
                .map(|t| format!("{:02}-{:02}", u8::from(t.month()), t.day()))
                .unwrap_or_default()
        })
        .collect();
    let top = a
        .history
        .iter()
        .map(|d| d.messages.total().max(d.refused))
        .max()
        .unwrap_or(0)
        .max(1) as f64
        * 1.35;
    widgets::day_chart(format!("partner-history-{domain}"), 180.0, top, days).show(ui, |p| {
        p.bar_chart(secure);
        p.bar_chart(encrypted);
        p.bar_chart(plain);
        p.bar_chart(refused);
    });
}
