//! What the receive and send connector pages share: text fields that parse into numbers, sizes
//! and time spans with their errors, the certificate chooser, and the Domain Security switch —
//! one click, a confirmation, and the change applies to new sessions.

use super::Cx;
use crate::config::units::{ByteSize, TimeSpan};
use crate::config::{CertificateSelection, ConnectorType};
use crate::ui::app::actions::{Action, Form, SettingsChange};
use crate::ui::state::model::ConsoleData;
use crate::ui::widgets::{self, Answer};
use egui::Ui;
use std::collections::HashMap;
use std::str::FromStr;

/// Field name → parse error, for fields typed as text.
pub type LocalErrors = HashMap<&'static str, String>;

/// Parses a field typed as text; when it does not parse, records `explain`'s words for it.
fn parse_field<T: FromStr>(
    text: &str,
    field: &'static str,
    errors: &mut LocalErrors,
    explain: impl FnOnce(T::Err) -> String,
) -> Option<T> {
    match text.trim().parse::<T>() {
        Ok(v) => Some(v),
        Err(e) => {
            errors.insert(field, explain(e));
            None
        }
    }
}

pub fn parse_u32(text: &str, field: &'static str, errors: &mut LocalErrors) -> Option<u32> {
    parse_field::<u32>(text, field, errors, |_| {
        format!("'{}' is not a whole number", text.trim())
    })
}

pub fn parse_u16(text: &str, field: &'static str, errors: &mut LocalErrors) -> Option<u16> {
    parse_field::<u16>(text, field, errors, |_| {
        format!("'{}' is not a port number (1-65535)", text.trim())
    })
}

pub fn parse_span(text: &str, field: &'static str, errors: &mut LocalErrors) -> Option<TimeSpan> {
    parse_field::<TimeSpan>(text, field, errors, |e| {
        format!("{e} (for example 30s, 5m, 4h)")
    })
}

pub fn parse_size(text: &str, field: &'static str, errors: &mut LocalErrors) -> Option<ByteSize> {
    parse_field::<ByteSize>(text, field, errors, |e| {
        format!("{e} (for example 36MB, 512KB)")
    })
}

/// Optional text: blank means "not set".
pub fn opt(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// The problems of one field: the worker's (by path) and the local parse error.
pub fn field_problems(
    cx: &Cx,
    form: Form,
    base: &str,
    field: &str,
    local: &LocalErrors,
) -> Vec<String> {
    let mut p = cx.problems_at(form, &format!("{base}.{field}"));
    if let Some(e) = local.get(field) {
        p.push(e.clone());
    }
    p
}

/// A combo box choosing Automatic or one of our certificates with a private key.
pub fn certificate_combo(
    ui: &mut Ui,
    id: &str,
    sel: &mut CertificateSelection,
    data: &ConsoleData,
) -> egui::Response {
    let text = match sel {
        CertificateSelection::Automatic => {
            "Automatic (the SMTP certificate naming the FQDN)".to_string()
        }
        CertificateSelection::Thumbprint(thumbprint) => data
            .certificate(thumbprint)
            .map(|c| format!("{} — {}", short(&c.thumbprint), c.subject))
            .unwrap_or_else(|| thumbprint.clone()),
    };
    egui::ComboBox::from_id_salt(id)
        .selected_text(text)
        .width(420.0)
        .show_ui(ui, |ui| {
            ui.selectable_value(
                sel,
                CertificateSelection::Automatic,
                "Automatic (the SMTP certificate naming the FQDN)",
            );
            for c in data.certificates.iter().filter(|c| c.has_private_key) {
                ui.selectable_value(
                    sel,
                    CertificateSelection::Thumbprint(c.thumbprint.clone()),
                    format!("{} — {} ({})", short(&c.thumbprint), c.subject, c.status),
                );
            }
        })
        .response
}

/// The first 8 digits of a thumbprint, for narrow places.
pub fn short(thumbprint: &str) -> String {
    if thumbprint.len() > 12 {
        format!("{}…", &thumbprint[..8])
    } else {
        thumbprint.to_string()
    }
}

/// A pending Domain Security switch, waiting for confirmation.
#[derive(Clone, Debug, PartialEq)]
pub struct Toggle {
    pub kind: ConnectorType,
    pub name: String,
    pub enable: bool,
    /// The property page's Save that switches it (with the other changes of the draft);
    /// `None` for the list's switch, which changes Domain Security alone.
    pub save: Option<SettingsChange>,
}

/// The Domain Security check box of a connector: a click asks for confirmation (it does not
/// change the draft). The accessible name says which connector it is.
pub fn domain_secure_box(
    ui: &mut Ui,
    on: bool,
    kind: ConnectorType,
    name: &str,
    text: &str,
) -> Option<Toggle> {
    let mut value = on;
    let r = ui.checkbox(&mut value, text);
    let label = format!("Domain Security on {name}");
    r.widget_info(|| egui::WidgetInfo::selected(egui::Role::CheckBox, true, on, label.clone()));
    let r = r.on_hover_text(if on {
        format!("Domain Security is on for '{name}'. Click to turn it off.")
    } else {
        format!("Domain Security is off for '{name}'. Click to turn it on.")
    });
    r.clicked().then(|| Toggle {
        kind,
        name: name.to_string(),
        enable: !on,
        save: None,
    })
}

/// Shows the confirmation for a pending switch and applies it on Yes.
pub fn confirm_toggle(ui: &mut Ui, pending: &mut Option<Toggle>, cx: &mut Cx) {
    let Some(t) = pending.clone() else { return };
    let kind = t.kind.word();
    let question = format!(
        "Turn {} Domain Security on {kind} connector '{}'?",
        if t.enable { "on" } else { "off" },
        t.name
    );
    let detail = match (t.kind, t.enable) {
        (ConnectorType::Receive, true) => {
            "Senders on the receive domain secure list must then use mutual TLS with a certificate naming their domain, or their mail is refused. The connector must offer AuthMechanism TLS (STARTTLS); nothing else on it changes. STARTTLS is offered to new sessions; sessions already open are judged by it from their next MAIL FROM."
        }
        (ConnectorType::Send, true) => {
            "Mail to domains on the send domain secure list then goes only over mutual TLS, with our SMTP certificate as client certificate and the partner's certificate checked against its domain. It takes effect for new deliveries."
        }
        (ConnectorType::Receive, false) => {
            "Partners on the receive domain secure list will be refused (451 4.7.3) on this connector until it is turned on again, from the next MAIL FROM of every session, open ones included."
        }
        (ConnectorType::Send, false) => {
            "Mail to domains on the send domain secure list will wait in the queue (it is never downgraded) until Domain Security is on again."
        }
    };
    let answer = if t.enable {
        widgets::confirm(ui, "domain-secure-confirm", &question, detail, "Turn on")
    } else {
        widgets::confirm_danger(ui, "domain-secure-confirm", &question, detail, "Turn off")
    };
    match answer {
        Some(Answer::Yes) => {
            cx.push(Action::Change {
                form: match t.kind {
                    ConnectorType::Receive => Form::ReceiveConnectors,
                    ConnectorType::Send => Form::SendConnectors,
                },
                change: t.save.unwrap_or(SettingsChange::DomainSecure {
                    kind: t.kind,
                    name: t.name,
                    enabled: t.enable,
                }),
            });
            *pending = None;
        }
        Some(Answer::No) => *pending = None,
        None => {}
    }
}
