//! Toolbox › What if: the effective policy simulator. "What happens if alice@woodgrove.test
//! sends to bob@contoso.test over connector X with certificate Y?", "What happens to mail from
//! us to carol@woodgrove.test?" — answered from the settings and certificates in force, step
//! by step in the order the relay decides ([`crate::admin::explain`], the same answer as
//! `mailflow policy explain`), read on the query worker. The outbound half can be run live:
//! the connectivity probe connects to the partner's hosts now.

use super::Cx;
use crate::admin::explain::{Explanation, Part};
use crate::ui::app::actions::{Action, ExplainSpec, Form, PickTarget};
use crate::ui::widgets::theme::{bad, good, muted};
use crate::ui::widgets::{self, Mark};
use egui::{RichText, Ui};

const FORM: Form = Form::WhatIf;

/// The connector choices meaning: as the relay decides.
pub const AUTOMATIC: &str = "As the relay decides";

pub struct WhatIfView {
    pub from: String,
    pub to: String,
    /// The message comes from a client (a partner, the Internet); off: from us.
    pub from_client: bool,
    pub starttls: bool,
    /// The client certificate file; empty: none.
    pub certificate: String,
    pub receive_connector: String,
    /// The client's address; empty: a host on the Internet.
    pub client_ip: String,
    pub send_connector: String,
    pub answer: Option<Result<Explanation, String>>,
}

impl Default for WhatIfView {
    fn default() -> Self {
        WhatIfView {
            from: String::new(),
            to: String::new(),
            from_client: true,
            starttls: true,
            certificate: String::new(),
            receive_connector: String::new(),
            client_ip: String::new(),
            send_connector: String::new(),
            answer: None,
        }
    }
}

impl WhatIfView {
    pub fn spec(&self) -> ExplainSpec {
        let some = |t: &str| Some(t.trim().to_string()).filter(|t| !t.is_empty());
        ExplainSpec {
            from: self.from.trim().to_string(),
            to: self.to.trim().to_string(),
            from_client: self.from_client,
            starttls: self.starttls,
            certificate: some(&self.certificate).map(Into::into),
            receive_connector: some(&self.receive_connector),
            client_ip: some(&self.client_ip),
            send_connector: some(&self.send_connector),
        }
    }
}

fn connector_choice(ui: &mut Ui, label: &str, id: &str, value: &mut String, names: &[String]) {
    let l = ui.label(label);
    let shown = if value.is_empty() {
        AUTOMATIC.to_string()
    } else {
        value.clone()
    };
    egui::ComboBox::from_id_salt(id)
        .selected_text(shown)
        .width(280.0)
        .show_ui(ui, |ui| {
            ui.selectable_value(value, String::new(), AUTOMATIC);
            for n in names {
                ui.selectable_value(value, n.clone(), n);
            }
        })
        .response
        .labelled_by(l.id);
    ui.end_row();
}

pub fn what_if_page(ui: &mut Ui, v: &mut WhatIfView, cx: &mut Cx) {
    widgets::page_header(
        ui,
        "What if",
        "What the relay would do with a message, from the settings and certificates in force: each decision in the order the relay makes it, with the reply, the TLS requirement, the certificate checks and the marks.",
    );
    cx.feedback(ui, FORM);
    widgets::card(ui, |ui| {
        ui.set_width(ui.available_width());
        widgets::form_grid(ui, "what-if-form", |ui| {
            widgets::text_field(ui, "Sender", &mut v.from, "alice@woodgrove.test", &[]);
            widgets::text_field(ui, "Recipient", &mut v.to, "bob@contoso.test", &[]);
            let l = ui.label("Comes from");
            ui.horizontal(|ui| {
                ui.radio_value(
                    &mut v.from_client,
                    true,
                    "a client (a partner, the Internet)",
                );
                ui.radio_value(&mut v.from_client, false, "us (only the delivery)");
            })
            .response
            .labelled_by(l.id);
            ui.end_row();
            if v.from_client {
                let names: Vec<String> = cx
                    .data
                    .settings
                    .receive_connectors
                    .iter()
                    .map(|c| c.name.clone())
                    .collect();
                connector_choice(
                    ui,
                    "Receive connector",
                    "what-if-receive",
                    &mut v.receive_connector,
                    &names,
                );
                widgets::text_field(
                    ui,
                    "Client address (optional)",
                    &mut v.client_ip,
                    "192.0.2.1 (a host on the Internet)",
                    &[],
                );
                let l = ui.label("STARTTLS");
                ui.checkbox(&mut v.starttls, "the client uses STARTTLS when offered")
                    .labelled_by(l.id);
                ui.end_row();
                if widgets::path_field(ui, "Client certificate (optional)", &mut v.certificate, &[])
                {
                    cx.push(Action::Pick {
                        target: PickTarget::WhatIfCertificate,
                        save: false,
                        file_name: String::new(),
                    });
                }
            }
            let names: Vec<String> = cx
                .data
                .settings
                .send_connectors
                .iter()
                .map(|c| c.name.clone())
                .collect();
            connector_choice(
                ui,
                "Send connector",
                "what-if-send",
                &mut v.send_connector,
                &names,
            );
        });
        ui.horizontal(|ui| {
            let ready = !v.to.trim().is_empty() && !cx.busy(FORM);
            if widgets::primary_button(ui, "Explain", ready).clicked() {
                v.answer = None;
                cx.push(Action::Explain(Box::new(v.spec())));
            }
            let domain =
                v.to.rsplit_once('@')
                    .map(|(_, d)| d.trim().to_string())
                    .filter(|d| !d.is_empty());
            if let Some(d) = domain
                && ui
                    .button("📡 Run the delivery live (probe)")
                    .on_hover_text(
                        "Connect to the recipient domain's hosts now and judge what they present",
                    )
                    .clicked()
            {
                cx.push(Action::ProbeDomain(d));
            }
        });
    });
    ui.add_space(10.0);
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| match &v.answer {
            None => {}
            Some(Err(e)) => widgets::note(ui, bad(), "✖", e),
            Some(Ok(x)) => {
                for (i, part) in [&x.receiving, &x.delivering]
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    if i > 0 {
                        ui.add_space(10.0);
                    }
                    part_card(ui, part);
                }
            }
        });
}

fn part_card(ui: &mut Ui, part: &Part) {
    widgets::card(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new(&part.title).strong().size(15.5));
        let (mark, text) = match &part.result {
            Ok(t) => (Mark::Pass, t.clone()),
            Err(t) => (Mark::Fail, format!("Refused: {t}")),
        };
        ui.label(
            RichText::new(format!("{} {text}", mark.glyph()))
                .strong()
                .color(if part.result.is_ok() { good() } else { bad() }),
        );
        ui.add_space(4.0);
        widgets::decision_steps(ui, &part.title, &part.steps);
        if part.steps.is_empty() {
            ui.label(RichText::new("No steps.").color(muted()));
        }
    });
}
