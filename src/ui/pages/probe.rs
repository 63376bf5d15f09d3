//! Toolbox › Connectivity probe: connects to a partner's mail server through the engine's
//! probe (on the query worker), and shows the certificate chain it presented and a verdict per
//! policy. Without a host typed, it probes every host the domain's mail may go to (each MX
//! host, best first, or each smart host) and lists them in a table — how each was found, its
//! TLS, DANE and MTA-STS, how many policies pass — with the selected host's findings below. When the console's prober is switched off (the tests' [`Unavailable`], which must not
//! open connections), the page says so; it never shows invented results.
//!
//! [`Unavailable`]: crate::ui::state::probe::Unavailable

use super::Cx;
use crate::ui::app::actions::{Action, Form};
use crate::ui::state::probe::{NOT_AVAILABLE, ProbeReport, ProbeRequest};
use crate::ui::widgets::theme::{bad, info, muted, warn};
use crate::ui::widgets::{self, Mark};
use egui::{RichText, Ui};

const FORM: Form = Form::Probe;

#[derive(Default)]
pub struct ProbeView {
    pub domain: String,
    pub host: String,
    /// One report a host probed.
    pub result: Option<Result<Vec<ProbeReport>, String>>,
    /// The host whose findings are shown, when several were probed.
    pub selected: usize,
}

impl ProbeView {
    pub fn on_result(&mut self, r: Result<Vec<ProbeReport>, String>) {
        self.result = Some(r);
        self.selected = 0;
    }
}

pub fn connectivity_probe_page(ui: &mut Ui, v: &mut ProbeView, cx: &mut Cx) {
    widgets::page_header(
        ui,
        "Connectivity probe",
        "Connect to a partner's mail server, try STARTTLS, and see the certificate chain it presents and whether each policy would pass.",
    );
    if !cx.prober_available {
        widgets::note(ui, warn(), "⚠", NOT_AVAILABLE);
        ui.add_space(8.0);
    }
    cx.feedback(ui, FORM);
    widgets::card(ui, |ui| {
        ui.set_width(ui.available_width());
        widgets::form_grid(ui, "probe-form", |ui| {
            widgets::text_field(ui, "Partner domain", &mut v.domain, "woodgrove.test", &[]);
            widgets::text_field(
                ui,
                "Host (optional)",
                &mut v.host,
                "mx1.woodgrove.test:25",
                &[],
            );
        });
        ui.label(
            RichText::new(
                "Without a host, the probe goes where the domain's mail goes: the smart hosts of the send connector whose address space covers the domain, or, for a connector without smart hosts, each MX host DNS gives for the domain (best first, on port 25).",
            )
            .color(muted())
            .size(12.0),
        );
        // Without the relay there is nothing to probe with: said once, above, in amber.
        if widgets::primary_button(
            ui,
            "📡 Probe",
            cx.prober_available && !v.domain.trim().is_empty() && !cx.busy(FORM),
        )
        .clicked()
        {
            let host = v.host.trim();
            cx.push(Action::Probe {
                form: FORM,
                request: ProbeRequest {
                    domain: v.domain.trim().to_string(),
                    host: (!host.is_empty()).then(|| host.to_string()),
                },
            });
        }
    });
    ui.add_space(10.0);
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| results(ui, v));
}

fn results(ui: &mut Ui, v: &mut ProbeView) {
    match &v.result {
        None => {}
        Some(Err(e)) => widgets::note(ui, bad(), "✖", e),
        Some(Ok(reports)) => {
            if reports.len() > 1 {
                hosts_table(ui, reports, &mut v.selected);
                ui.add_space(8.0);
            }
            if let Some(r) = reports.get(v.selected).or(reports.first()) {
                match &r.error {
                    Some(e) => widgets::note(ui, bad(), "✖", &format!("{}: {e}", r.connected_to)),
                    None => probe_report(ui, r),
                }
            }
        }
    }
}

/// How many of a host's policies pass, in words (`3 of 4 policies pass`).
pub fn verdict_summary(r: &ProbeReport) -> (String, bool) {
    if let Some(e) = &r.error {
        return (format!("not probed: {e}"), false);
    }
    let passing = r.verdicts.iter().filter(|v| v.passes).count();
    (
        format!("{passing} of {} policies pass", r.verdicts.len()),
        passing == r.verdicts.len(),
    )
}

/// One row a host probed; clicking a row shows its findings.
fn hosts_table(ui: &mut Ui, reports: &[ProbeReport], selected: &mut usize) {
    use egui_extras::Column;
    widgets::card(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(
            RichText::new(format!("{} hosts, best first", reports.len()))
                .strong()
                .size(15.5),
        );
        let height = reports.len() as f32 * 24.0 + 28.0;
        ui.push_id("probe-hosts", |ui| {
            widgets::table(ui, "probe-hosts")
                .min_scrolled_height(height)
                .max_scroll_height(height)
                .column(Column::initial(250.0).clip(true))
                .column(Column::initial(160.0).clip(true))
                .column(Column::initial(75.0).clip(true))
                .column(Column::initial(130.0).clip(true))
                .column(Column::initial(130.0).clip(true))
                .column(Column::remainder().at_least(120.0).clip(true))
                .header(22.0, |mut h| {
                    for t in ["Host", "Found by", "TLS", "DANE", "MTA-STS", "Policies"] {
                        h.col(|ui| widgets::header(ui, t));
                    }
                })
                .body(|mut body| {
                    for (i, r) in reports.iter().enumerate() {
                        body.row(22.0, |mut row| {
                            row.set_selected(*selected == i);
                            let short =
                                |t: &Option<String>| t.clone().unwrap_or_else(|| "—".into());
                            row.col(|ui| {
                                ui.label(&r.connected_to);
                            });
                            row.col(|ui| {
                                let f = short(&r.found_by);
                                ui.label(f.clone()).on_hover_text(f);
                            });
                            row.col(|ui| {
                                let t = r.tls.clone().unwrap_or_else(|| "none".into());
                                // The version says enough here; the cipher is in the details.
                                let version = t.split(' ').next().unwrap_or_default().to_string();
                                ui.label(version).on_hover_text(t);
                            });
                            row.col(|ui| {
                                let d = short(&r.dane);
                                ui.label(d.clone()).on_hover_text(d);
                            });
                            row.col(|ui| {
                                let m = short(&r.mta_sts);
                                ui.label(m.clone()).on_hover_text(m);
                            });
                            row.col(|ui| {
                                let (text, all) = verdict_summary(r);
                                let mark = Mark::from_bool(all);
                                ui.label(RichText::new(mark.glyph()).color(mark.color()));
                                ui.label(text.clone()).on_hover_text(text);
                            });
                            if row.response().clicked() {
                                *selected = i;
                            }
                        });
                    }
                });
        });
    });
}

/// A probe's findings: connection, TLS, chain, verdicts, transcript.
pub fn probe_report(ui: &mut Ui, r: &ProbeReport) {
    widgets::card(ui, |ui| {
        ui.set_width(ui.available_width());
        let mut rows = vec![("Connected to", r.connected_to.clone())];
        if let Some(found_by) = &r.found_by {
            rows.push(("Found by", found_by.clone()));
        }
        rows.push((
            "TLS",
            r.tls.clone().unwrap_or_else(|| "not negotiated".into()),
        ));
        if let Some(dane) = &r.dane {
            rows.push(("DANE", dane.clone()));
        }
        if let Some(sts) = &r.mta_sts {
            rows.push(("MTA-STS", sts.clone()));
        }
        widgets::property_grid(ui, "probe-conn", &rows);
        widgets::section(ui, "Certificate chain");
        for (i, c) in r.chain.iter().enumerate() {
            ui.horizontal(|ui| {
                ui.add_space(i as f32 * 18.0);
                ui.label(RichText::new("📄").color(info()));
                ui.label(&c.subject);
                ui.label(
                    RichText::new(format!(
                        "issued by {} — expires {} — {}",
                        c.issuer, c.not_after, c.thumbprint
                    ))
                    .color(muted())
                    .size(12.0),
                );
            });
        }
        widgets::section(ui, "Policies");
        for p in &r.verdicts {
            widgets::check_line(ui, Mark::from_bool(p.passes), &p.policy, &p.detail);
        }
        if !r.transcript.is_empty() {
            widgets::section(ui, "Transcript");
            widgets::code_block(ui, &r.transcript.join("\n"));
        }
    });
}
