//! Toolbox › Send test message: a small message from a sender to a recipient, sent now by the
//! running relay through a send connector (the one routing picks, or one chosen) or straight
//! to a host, under the same TLS requirement as any message (`engine::test_message`). The
//! result shows each step, the TLS facts, the security the message went with and each
//! session's transcript, with the way to the message in tracking and to the protocol log.
//! Without a running relay the page says why and sends nothing.

use super::Cx;
use crate::engine::test_message::{TestMessage, TestOutcome, TestReport};
use crate::store::protocol_logs::LogDirection;
use crate::ui::app::actions::{Action, Form};
use crate::ui::widgets::theme::{bad, muted, warn};
use crate::ui::widgets::{self, Mark};
use egui::{RichText, Ui};

const FORM: Form = Form::TestMessage;

/// The "Through" choice meaning: as routing decides.
pub const AUTOMATIC: &str = "As routing decides";

#[derive(Default)]
pub struct TestMessageView {
    pub from: String,
    pub to: String,
    /// The send connector's name; empty: as routing decides.
    pub connector: String,
    pub host: String,
    pub result: Option<Result<TestReport, String>>,
}

impl TestMessageView {
    pub fn request(&self) -> TestMessage {
        let some = |t: &str| Some(t.trim().to_string()).filter(|t| !t.is_empty());
        TestMessage {
            from: self.from.trim().to_string(),
            to: self.to.trim().to_string(),
            connector: some(&self.connector),
            host: some(&self.host),
        }
    }
}

pub fn test_message_page(ui: &mut Ui, v: &mut TestMessageView, cx: &mut Cx) {
    widgets::page_header(
        ui,
        "Send test message",
        "Send a small test message now, the way the relay sends mail: see each step, the TLS it used and the security it went with. It is not queued; it is recorded in message tracking.",
    );
    if let Some(why) = cx.relay_reason {
        widgets::note(
            ui,
            warn(),
            "⚠",
            &format!("The relay is not running ({why}): a test message goes through it."),
        );
        ui.add_space(8.0);
    }
    if v.from.is_empty()
        && let Some(d) = cx.data.settings.accepted_domains.first()
    {
        v.from = format!("postmaster@{}", d.domain);
    }
    cx.feedback(ui, FORM);
    widgets::card(ui, |ui| {
        ui.set_width(ui.available_width());
        widgets::form_grid(ui, "test-message-form", |ui| {
            widgets::text_field(ui, "Sender", &mut v.from, "postmaster@contoso.test", &[]);
            widgets::text_field(ui, "Recipient", &mut v.to, "bob@woodgrove.test", &[]);
            let l = ui.label("Through");
            let shown = if v.connector.is_empty() {
                AUTOMATIC.to_string()
            } else {
                format!("send connector {}", v.connector)
            };
            egui::ComboBox::from_id_salt("test-message-connector")
                .selected_text(shown)
                .width(280.0)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut v.connector, String::new(), AUTOMATIC);
                    for c in cx
                        .data
                        .settings
                        .send_connectors
                        .iter()
                        .filter(|c| c.enabled)
                    {
                        ui.selectable_value(
                            &mut v.connector,
                            c.name.clone(),
                            format!("send connector {}", c.name),
                        );
                    }
                })
                .response
                .labelled_by(l.id);
            ui.end_row();
            widgets::text_field(
                ui,
                "Straight to host (optional)",
                &mut v.host,
                "mx1.woodgrove.test:25",
                &[],
            );
        });
        ui.label(
            RichText::new(
                "The connector's TLS requirement applies whichever host is used: a partner on the Domain Security send list gets mutual TLS or nothing.",
            )
            .color(muted())
            .size(12.0),
        );
        let ready = cx.relay_reason.is_none() && !v.to.trim().is_empty() && !cx.busy(FORM);
        if widgets::primary_button(ui, "✉ Send test message", ready).clicked() {
            v.result = None;
            cx.push(Action::SendTestMessage(v.request()));
        }
    });
    ui.add_space(10.0);
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| match &v.result {
            None => {}
            Some(Err(e)) => widgets::note(ui, bad(), "✖", e),
            Some(Ok(r)) => report(ui, r, cx),
        });
}

/// What the test found: outcome and security, the steps, TLS, each session's transcript.
fn report(ui: &mut Ui, r: &TestReport, cx: &mut Cx) {
    widgets::card(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal(|ui| {
            let sent = matches!(r.outcome, TestOutcome::Sent(_));
            let mark = Mark::from_bool(sent);
            ui.label(
                RichText::new(format!("{} {}", mark.glyph(), r.outcome.words()))
                    .strong()
                    .size(16.0)
                    .color(mark.color()),
            );
            if let Some(s) = r.security {
                widgets::security_badge(ui, s);
            }
        });
        ui.label(r.outcome.text());
        let mut rows = vec![
            ("Message-ID", r.message_id.clone()),
            ("Internal id", r.internal_id.clone()),
        ];
        if let Some(hop) = &r.hop {
            rows.push(("Policy", hop.policy.clone()));
            rows.push(("TLS", hop.tls_summary()));
            if let Some(c) = hop.tls.as_ref().and_then(|t| t.peer_certificate.as_ref()) {
                rows.push((
                    "Server certificate",
                    format!("{} (issued by {})", c.subject, c.issuer),
                ));
            }
        }
        widgets::property_grid(ui, "test-message-facts", &rows);
        ui.horizontal(|ui| {
            if ui.button("🔍 Find in message tracking").clicked() {
                cx.push(Action::TrackMessage(r.internal_id.clone()));
            }
        });
        widgets::section(ui, "Steps");
        for step in &r.steps {
            widgets::check_line(ui, Mark::from_bool(step.passed), &step.what, "");
        }
        for (session, transcript) in &r.sessions {
            ui.horizontal(|ui| {
                widgets::section(ui, &format!("Session {session}"));
                let time = r.hop.as_ref().map_or(cx.now_ms, |h| h.time);
                if let Some(a) = widgets::protocol_log_button(
                    ui,
                    "📃 Protocol log",
                    LogDirection::Send,
                    time,
                    session,
                ) {
                    cx.push(a);
                }
            });
            if transcript.is_empty() {
                ui.label(RichText::new("(no lines kept)").color(muted()));
            } else {
                widgets::code_block(ui, &transcript.join("\n"));
            }
        }
    });
}
