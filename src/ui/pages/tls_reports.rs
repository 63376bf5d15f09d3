//! Toolbox › TLS reports (RFC 8460): the reports other organizations mailed to our report
//! address — a chart of their sessions with us by day (successful and failed) and a row per
//! reporter and policy with the failures named — and what we recorded of our own sessions by
//! day and recipient domain, with whether that day's reports went out. Read on the query
//! worker when the page opens and on Refresh.

use super::Cx;
use crate::ui::app::actions::{Action, Form};
use crate::ui::state::tls_reports::{SENT_DAYS, TlsReportsData};
use crate::ui::widgets;
use crate::ui::widgets::theme::{self, muted};
use egui::{RichText, Ui};
use egui_extras::Column;
use egui_plot::{Bar, BarChart};
use std::sync::Arc;

const FORM: Form = Form::TlsReports;

#[derive(Default)]
pub struct TlsReportsView {
    pub data: Option<Arc<TlsReportsData>>,
    /// A read was asked for and has not come back.
    pub loading: bool,
    /// The received reports' sort (a header clicked).
    pub sort: Option<widgets::Sort>,
}

impl TlsReportsView {
    pub fn on_result(&mut self, data: Arc<TlsReportsData>) {
        self.data = Some(data);
        self.loading = false;
    }
}

pub fn tls_reports_page(ui: &mut Ui, v: &mut TlsReportsView, cx: &mut Cx) {
    widgets::page_header(
        ui,
        "TLS reports",
        "What other mail systems report about their TLS sessions with our MX hosts (RFC 8460), and what we recorded and reported about ours.",
    );
    cx.feedback(ui, FORM);
    if v.data.is_none() && !v.loading {
        v.loading = true;
        cx.push(Action::LoadTlsReports);
    }
    ui.horizontal(|ui| {
        if ui.button("⟳ Refresh").clicked() {
            v.loading = true;
            cx.push(Action::LoadTlsReports);
        }
        match &cx.data.settings.transport.tls_rpt_address {
            Some(a) => ui.label(RichText::new(format!("Reports to us go to {a}")).color(muted())),
            None => ui.label(
                RichText::new(
                    "No report address is set: set one in Transport settings › TLS reporting so others' reports are read.",
                )
                .color(theme::warn()),
            ),
        };
    });
    ui.add_space(6.0);
    let Some(data) = v.data.clone() else {
        ui.label(RichText::new("Reading the reports…").color(muted()));
        return;
    };
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            widgets::card(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(RichText::new("Reports received").strong().size(15.5));
                if data.received.is_empty() {
                    ui.label(RichText::new("None yet. Senders mail them once a day, for the day before.").color(muted()));
                } else {
                    sessions_chart(ui, &data);
                    ui.add_space(6.0);
                    received_table(ui, &data, &mut v.sort);
                }
                for p in &data.problems {
                    widgets::note(ui, theme::bad(), "⚠", &format!("A kept report cannot be read: {p}"));
                }
            });
            ui.add_space(10.0);
            widgets::card(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(RichText::new("Our sessions, as we report them").strong().size(15.5));
                ui.label(
                    RichText::new(format!("TLS sessions with other domains' MX hosts, the last {SENT_DAYS} days with any. A day's reports go out the day after, to the domains that publish an address (mailflow tls-report show --domain D prints one)."))
                        .color(muted()),
                );
                ui.add_space(4.0);
                if data.sent.is_empty() {
                    ui.label(RichText::new("No sessions with MX hosts recorded yet.").color(muted()));
                }
                widgets::form_grid(ui, "tls-sent", |ui| {
                    for day in &data.sent {
                        ui.label(RichText::new(&day.day).strong());
                        ui.vertical(|ui| {
                            for (domain, ok, failed) in &day.domains {
                                ui.horizontal(|ui| {
                                    ui.label(domain);
                                    ui.label(RichText::new(format!("{ok} successful")).color(theme::good()));
                                    let color = if *failed > 0 { theme::bad() } else { muted() };
                                    ui.label(RichText::new(format!("{failed} failed")).color(color));
                                });
                            }
                        });
                        ui.label(if day.sent { "reports sent" } else { "not sent yet" });
                        ui.end_row();
                    }
                });
            });
        });
}

/// Successful and failed sessions by day, stacked bars.
fn sessions_chart(ui: &mut Ui, data: &TlsReportsData) {
    let bars = |f: fn(&(String, u64, u64)) -> u64| -> Vec<Bar> {
        data.daily
            .iter()
            .enumerate()
            .map(|(i, d)| Bar::new(i as f64, f(d) as f64).width(0.7).name(&d.0))
            .collect()
    };
    let ok = BarChart::new("Successful sessions", bars(|d| d.1)).color(theme::good());
    let failed = BarChart::new("Failed sessions", bars(|d| d.2))
        .color(theme::bad())
        .stack_on(&[&ok]);
    let days: Vec<String> = data.daily.iter().map(|d| d.0.clone()).collect();
    // Headroom above the tallest day keeps the legend off the bars.
    let top = data.daily.iter().map(|d| d.1 + d.2).max().unwrap_or(1) as f64 * 1.35;
    widgets::day_chart("tls-reports-plot", 170.0, top, days).show(ui, |p| {
        p.bar_chart(ok);
        p.bar_chart(failed);
    });
}

fn received_table(ui: &mut Ui, data: &TlsReportsData, sort: &mut Option<widgets::Sort>) {
    let order = widgets::sorted_order(&data.received, *sort, |r, c| match c {
        0 => widgets::SortKey::text(&r.period_start),
        1 => widgets::SortKey::text(&r.reporter),
        2 => widgets::SortKey::text(&r.policy_domain),
        3 => widgets::SortKey::text(r.policy_type),
        4 => widgets::SortKey::Number(r.successful as i64),
        5 => widgets::SortKey::Number(r.failed as i64),
        _ => widgets::SortKey::text(&r.failures.join("; ")),
    });
    let mut resort = None;
    let height = (data.received.len() as f32 * 24.0 + 30.0).min(320.0);
    ui.push_id("tls-received", |ui| {
        widgets::table(ui, "tls-received")
            .min_scrolled_height(height)
            .max_scroll_height(height)
            .column(Column::exact(92.0))
            .column(Column::initial(150.0))
            .column(Column::initial(150.0))
            .column(Column::exact(110.0))
            .column(Column::exact(80.0))
            .column(Column::exact(70.0))
            .column(Column::remainder())
            .header(22.0, |mut h| {
                resort = widgets::sort_headers(
                    &mut h,
                    &[
                        "Day",
                        "Reporter",
                        "About",
                        "Policy",
                        "Successful",
                        "Failed",
                        "Failures",
                    ],
                    *sort,
                );
            })
            .body(|mut body| {
                for r in order.iter().map(|&i| &data.received[i]) {
                    body.row(22.0, |mut row| {
                        row.col(|ui| {
                            ui.label(&r.period_start);
                        });
                        row.col(|ui| {
                            ui.label(&r.reporter).on_hover_text(&r.submitter);
                        });
                        row.col(|ui| {
                            ui.label(&r.policy_domain);
                        });
                        row.col(|ui| {
                            ui.label(policy_name(r.policy_type));
                        });
                        row.col(|ui| {
                            ui.label(r.successful.to_string());
                        });
                        row.col(|ui| {
                            let color = if r.failed > 0 {
                                theme::bad()
                            } else {
                                theme::text()
                            };
                            ui.label(RichText::new(r.failed.to_string()).color(color));
                        });
                        row.col(|ui| {
                            ui.label(r.failures.join("; "));
                        });
                    });
                }
            });
    });
}

/// The policy type as the administrator reads it.
fn policy_name(word: &str) -> &'static str {
    match word {
        "sts" => "MTA-STS",
        "tlsa" => "DANE",
        _ => "no policy",
    }
}
