//! Organization › Send connectors (Get-/Set-/New-SendConnector): where mail for other domains
//! goes. The list with a one-click Domain Security switch, and property pages — General,
//! Address space, Network (smart hosts), TLS (Domain Security, RequireTLS, TlsAuthLevel) —
//! edited as a draft and saved as one checked change.

use super::Cx;
use super::connector_common::{
    self as common, LocalErrors, Toggle, certificate_combo, field_problems, opt,
};
use crate::config::{AddressSpace, ProtocolLoggingLevel, SendConnector, TlsAuthLevel};
use crate::ui::actions::{Action, Form, SettingsChange};
use crate::ui::model::ConsoleData;
use crate::ui::nav::Page;
use crate::ui::theme::{GOOD, MUTED};
use crate::ui::widgets::{self, Answer};
use egui::{RichText, Ui};
use egui_extras::Column;

const FORM: Form = Form::SendConnectors;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Tab {
    #[default]
    General,
    AddressSpace,
    Network,
    Tls,
}

fn space_text(a: &AddressSpace) -> String {
    if a.cost == 1 {
        a.address.clone()
    } else {
        format!("{};{}", a.address, a.cost)
    }
}

/// An unsaved edit of one send connector.
#[derive(Clone, Debug, PartialEq)]
pub struct SendDraft {
    pub index: usize,
    pub c: SendConnector,
    base: Option<SendConnector>,
    pub spaces: Vec<String>,
    pub space_input: String,
    pub host_input: String,
    pub port: String,
    pub fqdn: String,
    pub tls_domain: String,
    pub max_size: String,
    pub inactivity: String,
    pub per_connection: String,
}

impl SendDraft {
    fn of(index: usize, c: &SendConnector, is_new: bool) -> SendDraft {
        SendDraft {
            index,
            base: (!is_new).then(|| c.clone()),
            spaces: c.address_spaces.iter().map(space_text).collect(),
            space_input: String::new(),
            host_input: String::new(),
            port: c.port.to_string(),
            fqdn: c.fqdn.clone().unwrap_or_default(),
            tls_domain: c.tls_domain.clone().unwrap_or_default(),
            max_size: c.max_message_size.to_string(),
            inactivity: c.connection_inactivity_timeout.to_string(),
            per_connection: c.smtp_max_messages_per_connection.to_string(),
            c: c.clone(),
        }
    }

    fn dirty(&self) -> bool {
        match &self.base {
            None => true,
            Some(b) => *self != SendDraft::of(self.index, b, false),
        }
    }

    fn build(&self) -> Result<SendConnector, LocalErrors> {
        let mut e = LocalErrors::new();
        let mut c = self.c.clone();
        c.fqdn = opt(&self.fqdn);
        c.tls_domain = opt(&self.tls_domain);
        let mut spaces = Vec::new();
        for s in &self.spaces {
            let (addr, cost) = match s.split_once(';') {
                Some((a, c)) => (a.trim(), c.trim()),
                None => (s.trim(), "1"),
            };
            match cost.parse::<u8>() {
                Ok(cost) => spaces.push(AddressSpace {
                    address: addr.to_string(),
                    cost,
                }),
                Err(_) => {
                    e.insert(
                        "address_spaces",
                        format!("'{s}': the cost after ';' is a number from 1 to 100"),
                    );
                }
            }
        }
        c.address_spaces = spaces;
        if let Some(v) = common::parse_u16(&self.port, "port", &mut e) {
            c.port = v;
        }
        if let Some(v) = common::parse_size(&self.max_size, "max_message_size", &mut e) {
            c.max_message_size = v;
        }
        if let Some(v) =
            common::parse_span(&self.inactivity, "connection_inactivity_timeout", &mut e)
        {
            c.connection_inactivity_timeout = v;
        }
        if let Some(v) = common::parse_u32(
            &self.per_connection,
            "smtp_max_messages_per_connection",
            &mut e,
        ) {
            c.smtp_max_messages_per_connection = v;
        }
        if e.is_empty() { Ok(c) } else { Err(e) }
    }
}

#[derive(Default)]
pub struct SendView {
    pub selected: Option<usize>,
    pub draft: Option<SendDraft>,
    pub tab: Tab,
    local: LocalErrors,
    pub toggle: Option<Toggle>,
    confirm_remove: Option<String>,
}

impl SendView {
    pub fn reloaded(&mut self, data: &ConsoleData) {
        let list = &data.settings.send_connectors;
        if let Some(d) = &mut self.draft {
            match list.get(d.index) {
                Some(c) if !d.dirty() => *d = SendDraft::of(d.index, c, false),
                Some(c) => {
                    d.c.domain_secure_enabled = c.domain_secure_enabled;
                    if let Some(b) = &mut d.base {
                        b.domain_secure_enabled = c.domain_secure_enabled;
                    }
                }
                None if d.base.is_some() => self.draft = None,
                None => {}
            }
        }
        if self.selected.is_some_and(|i| i >= list.len()) {
            self.selected = None;
        }
    }

    pub fn saved(&mut self) {
        if let Some(d) = &self.draft {
            self.selected = Some(d.index);
        }
        self.draft = None;
        self.local.clear();
    }
}

fn level_text(l: Option<TlsAuthLevel>) -> &'static str {
    match l {
        None => "Not set",
        Some(TlsAuthLevel::EncryptionOnly) => "Encryption only",
        Some(TlsAuthLevel::CertificateValidation) => "Certificate validation",
        Some(TlsAuthLevel::DomainValidation) => "Domain validation",
    }
}

pub fn show(ui: &mut Ui, v: &mut SendView, cx: &mut Cx) {
    widgets::page_header(
        ui,
        "Send connectors",
        "Where mail for other domains goes: address spaces, smart hosts and TLS. Changes apply to new deliveries without a restart.",
    );
    cx.relay_problems(ui, Page::SendConnectors);
    cx.feedback(ui, FORM);
    let list = cx.data.settings.send_connectors.clone();
    ui.horizontal(|ui| {
        if ui.button("➕ New send connector…").clicked() {
            let c = SendConnector {
                name: "New send connector".into(),
                address_spaces: vec![AddressSpace {
                    address: "partner.example".into(),
                    cost: 1,
                }],
                ..Default::default()
            };
            v.draft = Some(SendDraft::of(list.len(), &c, true));
            v.selected = None;
            v.tab = Tab::General;
            v.local.clear();
            cx.push(Action::Dismiss(FORM));
        }
        let sel = v.selected.and_then(|i| list.get(i));
        if ui
            .add_enabled(sel.is_some(), egui::Button::new("Remove…"))
            .clicked()
            && let Some(c) = sel
        {
            v.confirm_remove = Some(c.name.clone());
        }
    });
    ui.add_space(4.0);
    let mut clicked_row = None;
    let mut toggle = None;
    ui.push_id("send-table", |ui| {
        widgets::table(ui, "send")
            .column(Column::initial(160.0).at_least(90.0).clip(true))
            .column(Column::initial(80.0))
            .column(Column::initial(190.0).clip(true))
            .column(Column::initial(200.0).clip(true))
            .column(Column::initial(150.0))
            .column(Column::remainder().at_least(120.0))
            .max_scroll_height(170.0)
            .header(24.0, |mut h| {
                for t in [
                    "Name",
                    "Status",
                    "Address spaces",
                    "Smart hosts",
                    "Domain Security",
                    "TLS",
                ] {
                    h.col(|ui| widgets::header(ui, t));
                }
            })
            .body(|body| {
                body.rows(26.0, list.len(), |mut row| {
                    let i = row.index();
                    let c = &list[i];
                    row.set_selected(v.selected == Some(i));
                    row.col(|ui| {
                        ui.label(RichText::new(&c.name).strong());
                    });
                    row.col(|ui| {
                        if c.enabled {
                            ui.label(RichText::new("Enabled").color(GOOD));
                        } else {
                            ui.label(RichText::new("Disabled").color(MUTED));
                        }
                    });
                    row.col(|ui| {
                        ui.label(
                            c.address_spaces
                                .iter()
                                .map(space_text)
                                .collect::<Vec<_>>()
                                .join(", "),
                        );
                    });
                    row.col(|ui| {
                        if c.smart_hosts.is_empty() {
                            ui.label(RichText::new("DNS (MX)").color(MUTED));
                        } else {
                            ui.label(c.smart_hosts.join(", "));
                        }
                    });
                    row.col(|ui| {
                        let text = if c.domain_secure_enabled { "On" } else { "Off" };
                        if let Some(t) = common::domain_secure_box(
                            ui,
                            c.domain_secure_enabled,
                            false,
                            &c.name,
                            text,
                        ) {
                            toggle = Some(t);
                        }
                    });
                    row.col(|ui| {
                        ui.label(if c.ignore_starttls {
                            "Never (STARTTLS ignored)".to_string()
                        } else if c.require_tls {
                            format!("Required, {}", level_text(c.tls_auth_level))
                        } else if c.domain_secure_enabled {
                            "Mutual TLS to listed partners".to_string()
                        } else {
                            "Opportunistic".to_string()
                        });
                    });
                    if row.response().clicked() {
                        clicked_row = Some(i);
                    }
                });
            });
    });
    if let Some(t) = toggle {
        v.toggle = Some(t);
    }
    if let Some(i) = clicked_row
        && v.selected != Some(i)
    {
        v.selected = Some(i);
        v.draft = None;
        v.local.clear();
        cx.push(Action::Dismiss(FORM));
    }
    common::confirm_toggle(ui, &mut v.toggle, cx);
    if let Some(name) = v.confirm_remove.clone() {
        match widgets::confirm(
            ui,
            "remove-send",
            &format!("Remove send connector '{name}'?"),
            "Mail for its address spaces then takes another connector, or waits in the queue when none matches.",
            "Remove",
        ) {
            Some(Answer::Yes) => {
                cx.push(Action::Change {
                    form: FORM,
                    change: SettingsChange::RemoveSendConnector(name),
                });
                v.confirm_remove = None;
                v.selected = None;
                v.draft = None;
            }
            Some(Answer::No) => v.confirm_remove = None,
            None => {}
        }
    }
    ui.add_space(10.0);
    if v.draft.is_none()
        && let Some(i) = v.selected
        && let Some(c) = list.get(i)
    {
        v.draft = Some(SendDraft::of(i, c, false));
    }
    match v.draft.as_mut() {
        None => {
            ui.label(
                RichText::new("Select a connector to see and change its properties.").color(MUTED),
            );
        }
        Some(d) => {
            if properties(ui, d, &mut v.tab, &mut v.local, &mut v.toggle, cx) {
                v.draft = None;
            }
        }
    }
}

fn properties(
    ui: &mut Ui,
    d: &mut SendDraft,
    tab: &mut Tab,
    local: &mut LocalErrors,
    toggle: &mut Option<Toggle>,
    cx: &mut Cx,
) -> bool {
    let mut discard = false;
    let base = format!("send_connectors[{}]", d.index);
    let is_new = d.base.is_none();
    widgets::card(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(
            RichText::new(if is_new {
                "New send connector".to_string()
            } else {
                format!(
                    "Properties of '{}'",
                    d.base.as_ref().map(|b| b.name.as_str()).unwrap_or("")
                )
            })
            .strong()
            .size(15.5),
        );
        widgets::problems(ui, &cx.feedback.problems_exact(FORM, &base));
        ui.add_space(4.0);
        super::tabs(
            ui,
            tab,
            &[
                (Tab::General, "General"),
                (Tab::AddressSpace, "Address space"),
                (Tab::Network, "Network"),
                (Tab::Tls, "TLS"),
            ],
        );
        let fp = |cx: &Cx, field: &str, local: &LocalErrors| {
            field_problems(cx, FORM, &base, field, local)
        };
        egui::ScrollArea::vertical()
            .id_salt("send-props")
            .max_height((ui.available_height() - 50.0).max(120.0))
            .auto_shrink([false, true])
            .show(ui, |ui| match tab {
                Tab::General => {
                    widgets::form_grid(ui, "sc-general", |ui| {
                        widgets::text_field(ui, "Name", &mut d.c.name, "", &fp(cx, "name", local));
                        widgets::field(ui, "Enabled", &[], |ui| {
                            ui.checkbox(&mut d.c.enabled, "Use this connector")
                        });
                        let hint = cx.data.settings.organization.fqdn.clone();
                        widgets::text_field(ui, "FQDN (EHLO name)", &mut d.fqdn, &hint, &fp(cx, "fqdn", local));
                        widgets::text_field(ui, "Maximum message size", &mut d.max_size, "36MB", &fp(cx, "max_message_size", local));
                        widgets::text_field(ui, "Messages per connection", &mut d.per_connection, "20", &fp(cx, "smtp_max_messages_per_connection", local));
                        widgets::text_field(ui, "Inactivity timeout", &mut d.inactivity, "10m", &fp(cx, "connection_inactivity_timeout", local));
                        widgets::field(ui, "Protocol logging", &[], |ui| {
                            egui::ComboBox::from_id_salt("sc-logging")
                                .selected_text(format!("{:?}", d.c.protocol_logging_level))
                                .show_ui(ui, |ui| {
                                    ui.selectable_value(&mut d.c.protocol_logging_level, ProtocolLoggingLevel::None, "None");
                                    ui.selectable_value(&mut d.c.protocol_logging_level, ProtocolLoggingLevel::Verbose, "Verbose");
                                })
                                .response
                        });
                    });
                }
                Tab::AddressSpace => {
                    ui.label(RichText::new("Domains this connector sends to: *, contoso.com or *.contoso.com; add ;COST (1-100) to rank connectors, lower wins.").color(MUTED));
                    ui.add_space(4.0);
                    let p = |j: usize| fp(cx, &format!("address_spaces[{j}]"), local);
                    widgets::list_editor(ui, "address space", &mut d.spaces, &mut d.space_input, &p);
                    widgets::problems(ui, &fp(cx, "address_spaces", local));
                }
                Tab::Network => {
                    ui.label(RichText::new("Smart hosts are tried in order; without any, the recipient domain's MX hosts are used.").color(MUTED));
                    ui.add_space(4.0);
                    widgets::form_grid(ui, "sc-network", |ui| {
                        ui.label("Smart hosts (host[:port])");
                        ui.vertical(|ui| {
                            let p = |j: usize| fp(cx, &format!("smart_hosts[{j}]"), local);
                            widgets::list_editor(ui, "smart host", &mut d.c.smart_hosts, &mut d.host_input, &p);
                        });
                        ui.end_row();
                        widgets::text_field(ui, "Port", &mut d.port, "25", &fp(cx, "port", local));
                    });
                }
                Tab::Tls => {
                    let on = d.base.as_ref().map(|b| b.domain_secure_enabled).unwrap_or(d.c.domain_secure_enabled);
                    if is_new {
                        ui.checkbox(&mut d.c.domain_secure_enabled, "Enable Domain Security (Mutual Auth TLS)");
                    } else if let Some(t) = common::domain_secure_box(ui, on, false, &d.c.name, "Enable Domain Security (Mutual Auth TLS)") {
                        *toggle = Some(t);
                    }
                    ui.label(RichText::new("Mail to domains on the send domain secure list goes only over mutual TLS; it waits in the queue rather than being downgraded.").color(MUTED).size(12.0));
                    widgets::problems(ui, &fp(cx, "domain_secure_enabled", local));
                    ui.add_space(6.0);
                    ui.checkbox(&mut d.c.require_tls, "Require TLS for every delivery");
                    widgets::problems(ui, &fp(cx, "require_tls", local));
                    ui.checkbox(&mut d.c.ignore_starttls, "Ignore STARTTLS (never encrypt)");
                    ui.add_space(6.0);
                    widgets::form_grid(ui, "sc-tls", |ui| {
                        widgets::field(ui, "TLS authentication level", &fp(cx, "tls_auth_level", local), |ui| {
                            egui::ComboBox::from_id_salt("sc-level")
                                .selected_text(level_text(d.c.tls_auth_level))
                                .show_ui(ui, |ui| {
                                    for l in [
                                        None,
                                        Some(TlsAuthLevel::EncryptionOnly),
                                        Some(TlsAuthLevel::CertificateValidation),
                                        Some(TlsAuthLevel::DomainValidation),
                                    ] {
                                        ui.selectable_value(&mut d.c.tls_auth_level, l, level_text(l));
                                    }
                                })
                                .response
                        });
                        widgets::text_field(ui, "TLS domain", &mut d.tls_domain, "name the next hop's certificate must carry", &fp(cx, "tls_domain", local));
                        widgets::field(ui, "Client certificate", &fp(cx, "certificate", local), |ui| {
                            certificate_combo(ui, "sc-certificate", &mut d.c.certificate, cx.data)
                        });
                    });
                }
            });
        ui.add_space(6.0);
        ui.separator();
        ui.horizontal(|ui| {
            let busy = cx.busy(FORM);
            if widgets::primary_button(
                ui,
                if is_new { "Create" } else { "Save" },
                d.dirty() && !busy,
            )
            .clicked()
            {
                match d.build() {
                    Ok(c) => {
                        local.clear();
                        cx.push(Action::Change {
                            form: FORM,
                            change: SettingsChange::SendConnector {
                                index: d.index,
                                connector: Box::new(c),
                            },
                        });
                    }
                    Err(e) => *local = e,
                }
            }
            if ui
                .add_enabled(
                    d.dirty(),
                    egui::Button::new(if is_new { "Cancel" } else { "Revert" }),
                )
                .clicked()
            {
                match d.base.clone() {
                    Some(b) => *d = SendDraft::of(d.index, &b, false),
                    None => discard = true,
                }
                local.clear();
                cx.push(Action::Dismiss(FORM));
            }
            ui.label(
                RichText::new(format!(
                    "Equivalent: mailflow connector send {} {} …",
                    if is_new { "new" } else { "set" },
                    crate::ui::format::shell_arg(&d.c.name)
                ))
                .color(MUTED)
                .size(12.0),
            );
        });
    });
    discard
}
