//! Server › Direct trust: our own relays, trusted by certificate thumbprint or public-key pin
//! without chain building (internal servers); partners' own certificates pinned for their
//! domains (Partner identity only); and partner domains pinned to their own anchors, so that
//! no other CA may vouch for them. Each form says what its pin grants.

use super::Cx;
use crate::config::{DirectTrustEntry, PartnerPin, Pin};
use crate::ui::app::actions::{Action, Form, SettingsChange};
use crate::ui::widgets::nav::Page;
use crate::ui::widgets::theme::muted;
use crate::ui::widgets::{self, Answer};
use egui::{RichText, Ui};
use egui_extras::Column;

const FORM: Form = Form::DirectTrust;

#[derive(Default)]
pub struct DirectView {
    pub name: String,
    pub pin: String,
    pub key_pin: bool,
    /// The partner pin form: partner name, its domains (comma-separated), pin and pin type.
    pub partner: String,
    pub partner_domains: String,
    pub partner_pin: String,
    pub partner_key_pin: bool,
    confirm: Option<SettingsChange>,
    /// The sorts of the relays', partner pins' and anchors' lists (a header clicked).
    pub sorts: [Option<widgets::Sort>; 3],
}

/// A pin's words for sorting: its kind, then its value.
fn pin_key(p: &Pin, column_is_kind: bool) -> widgets::SortKey {
    let (text, kind) = pin_text(p);
    widgets::SortKey::text(if column_is_kind { kind } else { &text })
}

impl DirectView {
    pub fn saved(&mut self) {
        self.name.clear();
        self.pin.clear();
        self.partner.clear();
        self.partner_domains.clear();
        self.partner_pin.clear();
    }
}

/// What a Direct Trust pin grants, said where one is added.
pub const RELAY_PIN_MEANS: &str = "For our own relays only: a relay trusted directly is an internal server. It may relay to any domain and its X-Mailflow-* and X-MS-Exchange-Organization-* headers pass the header firewall. Never pin a partner here: use a partner pin below.";

/// What a partner pin grants, said where one is added.
pub const PARTNER_PIN_MEANS: &str = "For a partner with a self-signed or privately issued certificate: the pin stands for the chain of the partner's domains only. The partner is authenticated as Partner for those domains (no relaying, forged headers removed); the certificate must still name the domain.";

fn pin_text(p: &Pin) -> (String, &'static str) {
    match p {
        Pin::Thumbprint(t) => (t.clone(), "Certificate thumbprint (SHA-1)"),
        Pin::PublicKeySha256(t) => (t.clone(), "Public key (SHA-256)"),
    }
}

pub fn direct_trust_page(ui: &mut Ui, v: &mut DirectView, cx: &mut Cx) {
    widgets::page_header(
        ui,
        "Direct trust",
        "Our own relays, trusted by a pin without chain building; partners' own certificates, pinned for their domains; and partner domains pinned to their own anchors.",
    );
    cx.feedback(ui, FORM);
    widgets::section(ui, "Relays trusted directly");
    let all = &cx.data.settings.direct_trust;
    let list: Vec<_> = widgets::sorted_order(all, v.sorts[0], |e, c| match c {
        0 => widgets::SortKey::text(&e.name),
        c => pin_key(&e.pin, c == 1),
    })
    .into_iter()
    .map(|i| all[i].clone())
    .collect();
    let mut ask = None;
    let mut resort = None;
    ui.push_id("direct", |ui| {
        widgets::table(ui, "direct")
            .column(Column::initial(200.0).clip(true))
            .column(Column::initial(220.0))
            .column(Column::initial(480.0).clip(true))
            .column(Column::remainder())
            .header(24.0, |mut h| {
                resort =
                    widgets::sort_headers(&mut h, &["Name", "Pin type", "Pin", ""], v.sorts[0]);
            })
            .body(|body| {
                body.rows(26.0, list.len(), |mut row| {
                    let e = &list[row.index()];
                    let (pin, kind) = pin_text(&e.pin);
                    row.col(|ui| {
                        ui.label(RichText::new(&e.name).strong());
                    });
                    row.col(|ui| {
                        ui.label(kind);
                    });
                    row.col(|ui| {
                        ui.label(RichText::new(pin).monospace());
                    });
                    row.col(|ui| {
                        if ui
                            .small_button("Remove")
                            .on_hover_text(format!("Remove {}", e.name))
                            .clicked()
                        {
                            ask = Some(SettingsChange::RemoveDirectTrust(e.name.clone()));
                        }
                    });
                });
            });
    });
    if list.is_empty() {
        ui.label(RichText::new("No relay is trusted directly.").color(muted()));
    }
    ui.add_space(6.0);
    widgets::card(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new(RELAY_PIN_MEANS).color(muted()));
        ui.add_space(4.0);
        widgets::form_grid(ui, "direct-add", |ui| {
            widgets::text_field(
                ui,
                "Relay name",
                &mut v.name,
                "relay2.contoso.test",
                &cx.problems_at(FORM, &format!("direct_trust[{}].name", list.len())),
            );
            widgets::field(ui, "Pin type", &[], |ui| {
                ui.horizontal(|ui| {
                    ui.radio_value(&mut v.key_pin, false, "Certificate thumbprint");
                    ui.radio_value(
                        &mut v.key_pin,
                        true,
                        "Public-key SHA-256 (survives renewal)",
                    )
                })
                .inner
            });
            widgets::text_field(
                ui,
                "Pin",
                &mut v.pin,
                "40 or 64 hexadecimal digits",
                &cx.problems_at(FORM, &format!("direct_trust[{}].pin", list.len())),
            );
        });
        let ok = !v.name.trim().is_empty() && !v.pin.trim().is_empty() && !cx.busy(FORM);
        ui.horizontal(|ui| {
            ui.label(RichText::new("Or pin from a certificate file:").color(muted()));
            if ui
                .button("📄 Open it in the Certificate inspector…")
                .on_hover_text(
                    "Open the relay's certificate there and choose \"Pin for Direct Trust\"",
                )
                .clicked()
            {
                cx.push(Action::Navigate(Page::CertificateInspector));
            }
        });
        if widgets::primary_button(ui, "Trust this relay", ok).clicked() {
            let pin = v.pin.trim().to_string();
            cx.push(Action::Change {
                form: FORM,
                change: SettingsChange::AddDirectTrust(DirectTrustEntry {
                    name: v.name.trim().to_string(),
                    pin: if v.key_pin {
                        Pin::PublicKeySha256(pin)
                    } else {
                        Pin::Thumbprint(pin)
                    },
                }),
            });
        }
    });
    partner_pins(ui, v, cx, &mut ask);
    widgets::section(ui, "Partner anchors");
    ui.label(
        RichText::new("A pinned partner's certificates are accepted only when their chain contains one of its anchors. The Domain Security wizard pins a partner to its root.")
            .color(muted()),
    );
    if resort.is_some() {
        v.sorts[0] = resort;
    }
    let all = &cx.data.settings.partner_anchors;
    let anchors: Vec<_> = widgets::sorted_order(all, v.sorts[2], |a, c| match c {
        0 => widgets::SortKey::text(&a.domain),
        _ => widgets::SortKey::Number(a.anchors.len() as i64),
    })
    .into_iter()
    .map(|i| all[i].clone())
    .collect();
    let mut resort = None;
    ui.push_id("anchors", |ui| {
        widgets::table(ui, "anchors")
            .column(Column::initial(200.0).clip(true))
            .column(Column::initial(700.0).clip(true))
            .column(Column::remainder())
            .header(24.0, |mut h| {
                resort =
                    widgets::sort_headers(&mut h, &["Partner domain", "Anchors", ""], v.sorts[2]);
            })
            .body(|body| {
                body.rows(26.0, anchors.len(), |mut row| {
                    let a = &anchors[row.index()];
                    row.col(|ui| {
                        ui.label(RichText::new(&a.domain).strong());
                    });
                    row.col(|ui| {
                        let text: Vec<String> = a
                            .anchors
                            .iter()
                            .map(|p| {
                                let (t, _) = pin_text(p);
                                match cx
                                    .data
                                    .roots
                                    .iter()
                                    .find(|r| r.thumbprint.eq_ignore_ascii_case(&t))
                                {
                                    Some(r) => format!("{} ({})", r.subject, t),
                                    None => t,
                                }
                            })
                            .collect();
                        ui.label(text.join("; "));
                    });
                    row.col(|ui| {
                        if ui
                            .small_button("Unpin")
                            .on_hover_text(format!("Unpin {}", a.domain))
                            .clicked()
                        {
                            ask = Some(SettingsChange::RemovePartnerAnchor(a.domain.clone()));
                        }
                    });
                });
            });
    });
    if resort.is_some() {
        v.sorts[2] = resort;
    }
    if anchors.is_empty() {
        ui.label(RichText::new("No partner is pinned: any trusted root may vouch for any partner (as in Exchange).").color(muted()));
    }
    if ask.is_some() {
        v.confirm = ask;
    }
    if let Some(change) = v.confirm.clone() {
        let (q, d) = match &change {
            SettingsChange::RemoveDirectTrust(n) => (
                format!("Stop trusting relay '{n}' directly?"),
                "Its connections are then judged like anyone else's: by chain and names.",
            ),
            SettingsChange::RemovePartnerAnchor(n) => (
                format!("Unpin {n}?"),
                "Any trusted root may then vouch for this partner again.",
            ),
            SettingsChange::RemovePartnerPin(n) => (
                format!("Remove the partner pin '{n}'?"),
                "Its certificate then needs a chain to a trusted root, like any partner's.",
            ),
            _ => (String::new(), ""),
        };
        match widgets::confirm_danger(ui, "direct-confirm", &q, d, "Remove") {
            Some(Answer::Yes) => {
                cx.push(Action::Change { form: FORM, change });
                v.confirm = None;
            }
            Some(Answer::No) => v.confirm = None,
            None => {}
        }
    }
}

/// Partners pinned by their own certificate: the list and the form to add one.
fn partner_pins(ui: &mut Ui, v: &mut DirectView, cx: &mut Cx, ask: &mut Option<SettingsChange>) {
    widgets::section(ui, "Partners pinned by certificate");
    let all = &cx.data.settings.partner_pins;
    let list: Vec<_> = widgets::sorted_order(all, v.sorts[1], |p, c| match c {
        0 => widgets::SortKey::text(&p.name),
        1 => widgets::SortKey::text(&p.domains.join(",")),
        _ => pin_key(&p.pin, false),
    })
    .into_iter()
    .map(|i| all[i].clone())
    .collect();
    let mut resort = None;
    ui.push_id("partner-pins", |ui| {
        widgets::table(ui, "partner-pins")
            .column(Column::initial(200.0).clip(true))
            .column(Column::initial(220.0).clip(true))
            .column(Column::initial(480.0).clip(true))
            .column(Column::remainder())
            .header(24.0, |mut h| {
                resort =
                    widgets::sort_headers(&mut h, &["Partner", "Domains", "Pin", ""], v.sorts[1]);
            })
            .body(|body| {
                body.rows(26.0, list.len(), |mut row| {
                    let p = &list[row.index()];
                    row.col(|ui| {
                        ui.label(RichText::new(&p.name).strong());
                    });
                    row.col(|ui| {
                        ui.label(p.domains.join(", "));
                    });
                    row.col(|ui| {
                        ui.label(RichText::new(pin_text(&p.pin).0).monospace())
                            .on_hover_text(pin_text(&p.pin).1);
                    });
                    row.col(|ui| {
                        if ui
                            .small_button("Remove")
                            .on_hover_text(format!("Remove partner pin {}", p.name))
                            .clicked()
                        {
                            *ask = Some(SettingsChange::RemovePartnerPin(p.name.clone()));
                        }
                    });
                });
            });
    });
    if resort.is_some() {
        v.sorts[1] = resort;
    }
    if list.is_empty() {
        ui.label(RichText::new("No partner is pinned by its own certificate.").color(muted()));
    }
    ui.add_space(6.0);
    widgets::card(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new(PARTNER_PIN_MEANS).color(muted()));
        ui.add_space(4.0);
        let at = format!("partner_pins[{}]", list.len());
        widgets::form_grid(ui, "partner-pin-add", |ui| {
            widgets::text_field(
                ui,
                "Partner name",
                &mut v.partner,
                "Fabrikam",
                &cx.problems_at(FORM, &format!("{at}.name")),
            );
            widgets::text_field(
                ui,
                "Partner domains",
                &mut v.partner_domains,
                "fabrikam.test, fabrikam.example",
                &cx.problems_at(FORM, &format!("{at}.domains")),
            );
            widgets::field(ui, "Partner pin type", &[], |ui| {
                ui.horizontal(|ui| {
                    ui.radio_value(&mut v.partner_key_pin, false, "Certificate thumbprint");
                    ui.radio_value(
                        &mut v.partner_key_pin,
                        true,
                        "Public-key SHA-256 (survives renewal)",
                    )
                })
                .inner
            });
            widgets::text_field(
                ui,
                "Partner pin",
                &mut v.partner_pin,
                "40 or 64 hexadecimal digits",
                &cx.problems_at(FORM, &format!("{at}.pin")),
            );
        });
        let domains: Vec<String> = v
            .partner_domains
            .split([',', ' ', ';'])
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_string)
            .collect();
        let ok = !v.partner.trim().is_empty()
            && !domains.is_empty()
            && !v.partner_pin.trim().is_empty()
            && !cx.busy(FORM);
        if widgets::primary_button(ui, "Pin this partner", ok).clicked() {
            let pin = v.partner_pin.trim().to_string();
            cx.push(Action::Change {
                form: FORM,
                change: SettingsChange::AddPartnerPin(PartnerPin {
                    name: v.partner.trim().to_string(),
                    domains,
                    pin: if v.partner_key_pin {
                        Pin::PublicKeySha256(pin)
                    } else {
                        Pin::Thumbprint(pin)
                    },
                }),
            });
        }
    });
}
