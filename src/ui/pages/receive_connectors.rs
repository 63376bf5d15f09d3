//! Server › Receive connectors (Get-/Set-/New-ReceiveConnector): the list with each listener's
//! state and a one-click Domain Security switch, and property pages — General, Network,
//! Authentication (with "Enable Domain Security (Mutual Auth TLS)"), Permission groups — edited
//! as a draft and saved as one checked change.

use super::Cx;
use super::connector_common::{
    self as common, LocalErrors, Toggle, certificate_combo, field_problems, opt,
};
use crate::config::{AuthMechanism, PermissionGroup, ProtocolLoggingLevel, ReceiveConnector};
use crate::ui::actions::{Action, Form, SettingsChange};
use crate::ui::model::ConsoleData;
use crate::ui::nav::Page;
use crate::ui::theme::{self, BAD, GOOD, MUTED};
use crate::ui::widgets::{self, Answer};
use egui::{RichText, Ui};
use egui_extras::Column;

const FORM: Form = Form::ReceiveConnectors;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Tab {
    #[default]
    General,
    Network,
    Authentication,
    Permissions,
}

/// An unsaved edit of one receive connector.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceiveDraft {
    pub index: usize,
    pub c: ReceiveConnector,
    base: Option<ReceiveConnector>,
    pub fqdn: String,
    pub banner: String,
    pub max_size: String,
    pub max_recipients: String,
    pub max_connections: String,
    pub per_source: String,
    pub connection_timeout: String,
    pub inactivity: String,
    pub tarpit: String,
    pub binding_input: String,
    pub range_input: String,
}

impl ReceiveDraft {
    fn of(index: usize, c: &ReceiveConnector, is_new: bool) -> ReceiveDraft {
        ReceiveDraft {
            index,
            base: (!is_new).then(|| c.clone()),
            fqdn: c.fqdn.clone().unwrap_or_default(),
            banner: c.banner.clone().unwrap_or_default(),
            max_size: c.max_message_size.to_string(),
            max_recipients: c.max_recipients_per_message.to_string(),
            max_connections: c.max_inbound_connections.to_string(),
            per_source: c.max_inbound_connections_per_source.to_string(),
            connection_timeout: c.connection_timeout.to_string(),
            inactivity: c.connection_inactivity_timeout.to_string(),
            tarpit: c.tarpit_interval.to_string(),
            binding_input: String::new(),
            range_input: String::new(),
            c: c.clone(),
        }
    }

    fn dirty(&self) -> bool {
        match &self.base {
            None => true,
            Some(b) => *self != ReceiveDraft::of(self.index, b, false),
        }
    }

    fn build(&self) -> Result<ReceiveConnector, LocalErrors> {
        let mut e = LocalErrors::new();
        let mut c = self.c.clone();
        c.fqdn = opt(&self.fqdn);
        c.banner = opt(&self.banner);
        if let Some(v) = common::parse_size(&self.max_size, "max_message_size", &mut e) {
            c.max_message_size = v;
        }
        if let Some(v) =
            common::parse_u32(&self.max_recipients, "max_recipients_per_message", &mut e)
        {
            c.max_recipients_per_message = v;
        }
        if let Some(v) = common::parse_u32(&self.max_connections, "max_inbound_connections", &mut e)
        {
            c.max_inbound_connections = v;
        }
        if let Some(v) = common::parse_u32(
            &self.per_source,
            "max_inbound_connections_per_source",
            &mut e,
        ) {
            c.max_inbound_connections_per_source = v;
        }
        if let Some(v) = common::parse_span(&self.connection_timeout, "connection_timeout", &mut e)
        {
            c.connection_timeout = v;
        }
        if let Some(v) =
            common::parse_span(&self.inactivity, "connection_inactivity_timeout", &mut e)
        {
            c.connection_inactivity_timeout = v;
        }
        if let Some(v) = common::parse_span(&self.tarpit, "tarpit_interval", &mut e) {
            c.tarpit_interval = v;
        }
        if c.auth_mechanisms.is_empty() {
            c.auth_mechanisms = vec![AuthMechanism::None];
        }
        if e.is_empty() { Ok(c) } else { Err(e) }
    }
}

#[derive(Default)]
pub struct ReceiveView {
    pub selected: Option<usize>,
    pub draft: Option<ReceiveDraft>,
    pub tab: Tab,
    local: LocalErrors,
    pub toggle: Option<Toggle>,
    confirm_remove: Option<String>,
}

impl ReceiveView {
    pub fn reloaded(&mut self, data: &ConsoleData) {
        let list = &data.settings.receive_connectors;
        if let Some(d) = &mut self.draft {
            match list.get(d.index) {
                Some(c) if !d.dirty() => *d = ReceiveDraft::of(d.index, c, false),
                Some(c) => {
                    // Keep the edit, but follow a Domain Security switch made meanwhile.
                    d.c.domain_secure_enabled = c.domain_secure_enabled;
                    d.c.auth_mechanisms = c.auth_mechanisms.clone();
                    if let Some(b) = &mut d.base {
                        b.domain_secure_enabled = c.domain_secure_enabled;
                        b.auth_mechanisms = c.auth_mechanisms.clone();
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

fn auth_text(c: &ReceiveConnector) -> String {
    c.auth_mechanisms
        .iter()
        .map(|m| match m {
            AuthMechanism::None => "None",
            AuthMechanism::Tls => "TLS",
            AuthMechanism::BasicAuth => "Basic",
            AuthMechanism::BasicAuthRequireTls => "Basic after TLS",
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn show(ui: &mut Ui, v: &mut ReceiveView, cx: &mut Cx) {
    widgets::page_header(
        ui,
        "Receive connectors",
        "Where this server listens, whom it serves, and how it authenticates them. Changes apply without a restart: Domain Security and permissions from the next message of open sessions, the rest to new sessions.",
    );
    cx.relay_problems(ui, Page::ReceiveConnectors);
    cx.feedback(ui, FORM);
    let list = cx.data.settings.receive_connectors.clone();
    ui.horizontal(|ui| {
        if ui.button("➕ New receive connector…").clicked() {
            let c = ReceiveConnector {
                name: "New connector".into(),
                bindings: vec!["0.0.0.0:25".into()],
                ..Default::default()
            };
            v.draft = Some(ReceiveDraft::of(list.len(), &c, true));
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
    let listeners = &cx.live.snapshot.listeners;
    let running = cx.live.running();
    let mut clicked_row = None;
    let mut toggle = None;
    ui.push_id("receive-table", |ui| {
        widgets::table(ui, "receive")
            .column(Column::initial(150.0).at_least(90.0).clip(true))
            .column(Column::initial(80.0))
            .column(Column::initial(230.0).clip(true))
            .column(Column::initial(150.0).clip(true))
            .column(Column::initial(120.0).clip(true))
            .column(Column::initial(150.0))
            .column(Column::remainder().at_least(80.0))
            .max_scroll_height(170.0)
            .header(24.0, |mut h| {
                for t in [
                    "Name",
                    "Status",
                    "Bindings",
                    "Remote IP ranges",
                    "Authentication",
                    "Domain Security",
                    "Require TLS",
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
                        let rows: Vec<_> =
                            listeners.iter().filter(|l| l.connector == c.name).collect();
                        if !running || rows.is_empty() {
                            ui.label(c.bindings.join(", "));
                        }
                        for l in rows.iter().filter(|_| running) {
                            match &l.error {
                                Some(e) => {
                                    ui.label(RichText::new(format!("✖ {}", l.address)).color(BAD))
                                        .on_hover_text(crate::ui::live::plain_problem(e));
                                }
                                None => {
                                    ui.label(RichText::new(format!("✔ {}", l.address)).color(GOOD))
                                        .on_hover_text("Listening");
                                }
                            }
                        }
                    });
                    row.col(|ui| {
                        ui.label(c.remote_ip_ranges.join(", "));
                    });
                    row.col(|ui| {
                        ui.label(auth_text(c));
                    });
                    row.col(|ui| {
                        let text = if c.domain_secure_enabled { "On" } else { "Off" };
                        if let Some(t) = common::domain_secure_box(
                            ui,
                            c.domain_secure_enabled,
                            true,
                            &c.name,
                            text,
                        ) {
                            toggle = Some(t);
                        }
                    });
                    row.col(|ui| {
                        ui.label(if c.require_tls { "Yes" } else { "No" });
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
            "remove-receive",
            &format!("Remove receive connector '{name}'?"),
            "The relay stops listening on its bindings for new connections. Sessions in progress finish.",
            "Remove",
        ) {
            Some(Answer::Yes) => {
                cx.push(Action::Change {
                    form: FORM,
                    change: SettingsChange::RemoveReceiveConnector(name),
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
        v.draft = Some(ReceiveDraft::of(i, c, false));
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
    d: &mut ReceiveDraft,
    tab: &mut Tab,
    local: &mut LocalErrors,
    toggle: &mut Option<Toggle>,
    cx: &mut Cx,
) -> bool {
    let mut discard = false;
    let base = format!("receive_connectors[{}]", d.index);
    let is_new = d.base.is_none();
    widgets::card(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal(|ui| {
            ui.label(
                RichText::new(if is_new {
                    "New receive connector".to_string()
                } else {
                    format!(
                        "Properties of '{}'",
                        d.base.as_ref().map(|b| b.name.as_str()).unwrap_or("")
                    )
                })
                .strong()
                .size(15.5),
            );
        });
        widgets::problems(ui, &cx.feedback.problems_exact(FORM, &base));
        ui.add_space(4.0);
        super::tabs(
            ui,
            tab,
            &[
                (Tab::General, "General"),
                (Tab::Network, "Network"),
                (Tab::Authentication, "Authentication"),
                (Tab::Permissions, "Permission groups"),
            ],
        );
        let fp = |cx: &Cx, field: &str, local: &LocalErrors| {
            field_problems(cx, FORM, &base, field, local)
        };
        egui::ScrollArea::vertical()
            .id_salt("receive-props")
            .max_height((ui.available_height() - 50.0).max(120.0))
            .auto_shrink([false, true])
            .show(ui, |ui| match tab {
                Tab::General => {
                    widgets::form_grid(ui, "rc-general", |ui| {
                        widgets::text_field(ui, "Name", &mut d.c.name, "", &fp(cx, "name", local));
                        widgets::field(ui, "Enabled", &[], |ui| {
                            ui.checkbox(&mut d.c.enabled, "Accept connections on this connector")
                        });
                        let hint = cx.data.settings.organization.fqdn.clone();
                        widgets::text_field(ui, "FQDN (banner and EHLO)", &mut d.fqdn, &hint, &fp(cx, "fqdn", local));
                        widgets::text_field(ui, "Banner", &mut d.banner, "220 … (default greeting)", &fp(cx, "banner", local));
                        widgets::text_field(ui, "Maximum message size", &mut d.max_size, "36MB", &fp(cx, "max_message_size", local));
                        widgets::text_field(ui, "Maximum recipients per message", &mut d.max_recipients, "200", &fp(cx, "max_recipients_per_message", local));
                        widgets::field(ui, "Protocol logging", &[], |ui| {
                            egui::ComboBox::from_id_salt("rc-logging")
                                .selected_text(format!("{:?}", d.c.protocol_logging_level))
                                .show_ui(ui, |ui| {
                                    ui.selectable_value(&mut d.c.protocol_logging_level, ProtocolLoggingLevel::None, "None");
                                    ui.selectable_value(&mut d.c.protocol_logging_level, ProtocolLoggingLevel::Verbose, "Verbose");
                                })
                                .response
                        });
                    });
                }
                Tab::Network => {
                    widgets::form_grid(ui, "rc-network", |ui| {
                        ui.label("Bindings (IP:port)");
                        ui.vertical(|ui| {
                            let p = |j: usize| fp(cx, &format!("bindings[{j}]"), local);
                            widgets::list_editor(ui, "binding", &mut d.c.bindings, &mut d.binding_input, &p);
                            widgets::problems(ui, &cx.feedback.problems_exact(FORM, &format!("{base}.bindings")));
                        });
                        ui.end_row();
                        ui.label("Remote IP ranges");
                        ui.vertical(|ui| {
                            let p = |j: usize| fp(cx, &format!("remote_ip_ranges[{j}]"), local);
                            widgets::list_editor(ui, "remote IP range", &mut d.c.remote_ip_ranges, &mut d.range_input, &p);
                            widgets::problems(ui, &cx.feedback.problems_exact(FORM, &format!("{base}.remote_ip_ranges")));
                        });
                        ui.end_row();
                        widgets::text_field(ui, "Maximum inbound connections", &mut d.max_connections, "5000", &fp(cx, "max_inbound_connections", local));
                        widgets::text_field(ui, "Maximum connections per source", &mut d.per_source, "20", &fp(cx, "max_inbound_connections_per_source", local));
                        widgets::text_field(ui, "Connection timeout", &mut d.connection_timeout, "10m", &fp(cx, "connection_timeout", local));
                        widgets::text_field(ui, "Inactivity timeout", &mut d.inactivity, "5m", &fp(cx, "connection_inactivity_timeout", local));
                        widgets::text_field(ui, "Tarpit interval", &mut d.tarpit, "5s", &fp(cx, "tarpit_interval", local));
                    });
                }
                Tab::Authentication => {
                    let has = |m: AuthMechanism, on: bool, list: &mut Vec<AuthMechanism>| {
                        if on && !list.contains(&m) {
                            list.retain(|x| *x != AuthMechanism::None);
                            list.push(m);
                        } else if !on {
                            list.retain(|x| *x != m);
                        }
                    };
                    let mut tls = d.c.auth_mechanisms.contains(&AuthMechanism::Tls);
                    let mut basic = d.c.auth_mechanisms.contains(&AuthMechanism::BasicAuth);
                    let mut basic_tls = d.c.auth_mechanisms.contains(&AuthMechanism::BasicAuthRequireTls);
                    ui.label(RichText::new("Authentication mechanisms").strong());
                    if ui.checkbox(&mut tls, "Transport Layer Security (TLS)").changed() {
                        has(AuthMechanism::Tls, tls, &mut d.c.auth_mechanisms);
                    }
                    ui.indent("ds", |ui| {
                        let on = d.base.as_ref().map(|b| b.domain_secure_enabled).unwrap_or(d.c.domain_secure_enabled);
                        if is_new {
                            ui.checkbox(&mut d.c.domain_secure_enabled, "Enable Domain Security (Mutual Auth TLS)");
                        } else if let Some(t) = common::domain_secure_box(ui, on, true, &d.c.name, "Enable Domain Security (Mutual Auth TLS)") {
                            *toggle = Some(t);
                        }
                        ui.label(RichText::new("Partners on the receive domain secure list must present a certificate naming their domain, over TLS. Applies from the next message of every session.").color(MUTED).size(12.0));
                    });
                    if ui.checkbox(&mut basic, "Basic authentication (AUTH PLAIN/LOGIN)").changed() {
                        has(AuthMechanism::BasicAuth, basic, &mut d.c.auth_mechanisms);
                    }
                    if ui.checkbox(&mut basic_tls, "Offer Basic authentication only after starting TLS").changed() {
                        has(AuthMechanism::BasicAuthRequireTls, basic_tls, &mut d.c.auth_mechanisms);
                    }
                    widgets::problems(ui, &fp(cx, "auth_mechanisms", local));
                    widgets::problems(ui, &fp(cx, "domain_secure_enabled", local));
                    ui.add_space(6.0);
                    ui.checkbox(&mut d.c.require_tls, "Require TLS for every message");
                    widgets::problems(ui, &fp(cx, "require_tls", local));
                    ui.add_space(8.0);
                    widgets::form_grid(ui, "rc-cert", |ui| {
                        widgets::field(ui, "Certificate for STARTTLS", &fp(cx, "certificate", local), |ui| {
                            certificate_combo(ui, "rc-certificate", &mut d.c.certificate, cx.data)
                        });
                    });
                }
                Tab::Permissions => {
                    ui.label(RichText::new("Who may submit mail through this connector").strong());
                    for (g, label, help) in [
                        (PermissionGroup::AnonymousUsers, "Anonymous users", "anyone may send mail to our accepted domains"),
                        (PermissionGroup::AuthenticatedUsers, "Authenticated users", "clients that authenticated with AUTH may send to any domain"),
                        (PermissionGroup::Partners, "Partners", "partner organizations authenticated by Domain Security"),
                        (PermissionGroup::InternalServers, "Internal servers", "our own relays authenticated by Direct Trust; they may relay"),
                        (PermissionGroup::AnonymousRelay, "Anonymous relay", "any client in the remote IP ranges may relay: use only with narrow ranges"),
                    ] {
                        let mut on = d.c.permission_groups.contains(&g);
                        ui.horizontal(|ui| {
                            if ui.checkbox(&mut on, label).changed() {
                                if on {
                                    d.c.permission_groups.push(g);
                                } else {
                                    d.c.permission_groups.retain(|x| *x != g);
                                }
                            }
                            ui.label(RichText::new(help).color(MUTED).size(12.0));
                        });
                    }
                    widgets::problems(ui, &fp(cx, "permission_groups", local));
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
                            change: SettingsChange::ReceiveConnector {
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
                    Some(b) => *d = ReceiveDraft::of(d.index, &b, false),
                    None => discard = true,
                }
                local.clear();
                cx.push(Action::Dismiss(FORM));
            }
            ui.label(
                RichText::new(format!(
                    "Equivalent: mailflow connector receive {} {} …",
                    if is_new { "new" } else { "set" },
                    crate::ui::format::shell_arg(&d.c.name)
                ))
                .color(theme::MUTED)
                .size(12.0),
            );
        });
    });
    discard
}
