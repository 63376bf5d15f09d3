//! Toolbox › Connectivity probe: connects to a partner's mail server through the engine's
//! probe (on the query worker), and shows the certificate chain it presented and a verdict per
//! policy. When the console's prober is switched off (the tests' [`Unavailable`], which must not
//! open connections), the page says so; it never shows invented results.
//!
//! [`Unavailable`]: crate::ui::state::probe::Unavailable

use super::Cx;
use crate::ui::app::actions::{Action, Form};
use crate::ui::state::probe::{NOT_AVAILABLE, ProbeReport, ProbeRequest};
use crate::ui::widgets::theme::{BAD, INFO, MUTED, WARN};
use crate::ui::widgets::{self, Mark};
use egui::{RichText, Ui};

const FORM: Form = Form::Probe;

#[derive(Default)]
pub struct ProbeView {
    pub domain: String,
    pub host: String,
    pub result: Option<Result<ProbeReport, String>>,
}

impl ProbeView {
    pub fn on_result(&mut self, r: Result<ProbeReport, String>) {
        self.result = Some(r);
    }
}

pub fn connectivity_probe_page(ui: &mut Ui, v: &mut ProbeView, cx: &mut Cx) {
    widgets::page_header(
        ui,
        "Connectivity probe",
        "Connect to a partner's mail server, try STARTTLS, and see the certificate chain it presents and whether each policy would pass.",
    );
    if !cx.prober_available {
        widgets::note(ui, WARN, "⚠", NOT_AVAILABLE);
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
                "smarthost.woodgrove.test:25 — the smart host or MX when empty",
                &[],
            );
        });
        if widgets::primary_button(
            ui,
            "📡 Probe",
            !v.domain.trim().is_empty() && !cx.busy(FORM),
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
    match &v.result {
        None => {}
        Some(Err(e)) => widgets::note(ui, BAD, "✖", e),
        Some(Ok(r)) => probe_report(ui, r),
    }
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
                ui.label(RichText::new("📄").color(INFO));
                ui.label(&c.subject);
                ui.label(
                    RichText::new(format!(
                        "issued by {} — expires {} — {}",
                        c.issuer, c.not_after, c.thumbprint
                    ))
                    .color(MUTED)
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
