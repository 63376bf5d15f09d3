//! Server › Receive connectors (Get-/Set-/New-ReceiveConnector): the list with each listener's
//! state and a one-click Domain Security switch, and property pages — General, Network,
//! Authentication (with "Enable Domain Security (Mutual Auth TLS)"), Permission groups — edited
//! as a draft and saved as one checked change. The page itself is [`connector_page`]'s.

use super::Cx;
use super::connector_common::{self as common, LocalErrors, certificate_combo, opt};
use super::connector_page::{self, ConnectorKind, FieldProblems};
use crate::config::{AuthMechanism, PermissionGroup, ProtocolLoggingLevel, ReceiveConnector};
use crate::ui::app::actions::{Form, SettingsChange};
use crate::ui::widgets;
use crate::ui::widgets::nav::Page;
use crate::ui::widgets::theme::{bad, good, muted};
use egui::{RichText, Ui};
use egui_extras::{Column, TableRow};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Tab {
    #[default]
    General,
    Network,
    Authentication,
    Permissions,
}

/// The receive connector kind of [`connector_page`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ReceiveKind;

pub type ReceiveView = connector_page::View<ReceiveKind>;
pub type ReceiveDraft = connector_page::Draft<ReceiveKind>;

/// The settings of a receive connector typed as text.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceiveText {
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

pub fn receive_connectors_page(ui: &mut Ui, v: &mut ReceiveView, cx: &mut Cx) {
    connector_page::connectors_page(ui, v, cx);
}

impl ConnectorKind for ReceiveKind {
    type Connector = ReceiveConnector;
    type Text = ReceiveText;
    type Tab = Tab;

    const FORM: Form = Form::ReceiveConnectors;
    const PAGE: Page = Page::ReceiveConnectors;
    const TITLE: &'static str = "Receive connectors";
    const SUMMARY: &'static str = "Where this server listens, whom it serves, and how it authenticates them. Changes apply without a restart: Domain Security and permissions from the next message of open sessions, the rest to new sessions.";
    const NEW_BUTTON: &'static str = "➕ New receive connector…";
    const REMOVE_DETAIL: &'static str = "The relay stops listening on its bindings for new connections. Sessions in progress finish.";
    const HEADERS: &'static [&'static str] = &[
        "Name",
        "Status",
        "Bindings",
        "Remote IP ranges",
        "Authentication",
        "Domain Security",
        "Require TLS",
    ];
    const LAST_COLUMNS: usize = 1;
    const TABS: &'static [(Tab, &'static str)] = &[
        (Tab::General, "General"),
        (Tab::Network, "Network"),
        (Tab::Authentication, "Authentication"),
        (Tab::Permissions, "Permission groups"),
    ];

    fn new_connector() -> ReceiveConnector {
        ReceiveConnector {
            name: "New connector".into(),
            bindings: vec!["0.0.0.0:25".into()],
            ..Default::default()
        }
    }

    fn text(c: &ReceiveConnector) -> ReceiveText {
        ReceiveText {
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
        }
    }

    fn build(c: &ReceiveConnector, t: &ReceiveText) -> Result<ReceiveConnector, LocalErrors> {
        let mut e = LocalErrors::new();
        let mut c = c.clone();
        c.fqdn = opt(&t.fqdn);
        c.banner = opt(&t.banner);
        if let Some(v) = common::parse_size(&t.max_size, "max_message_size", &mut e) {
            c.max_message_size = v;
        }
        if let Some(v) = common::parse_u32(&t.max_recipients, "max_recipients_per_message", &mut e)
        {
            c.max_recipients_per_message = v;
        }
        if let Some(v) = common::parse_u32(&t.max_connections, "max_inbound_connections", &mut e) {
            c.max_inbound_connections = v;
        }
        if let Some(v) =
            common::parse_u32(&t.per_source, "max_inbound_connections_per_source", &mut e)
        {
            c.max_inbound_connections_per_source = v;
        }
        if let Some(v) = common::parse_span(&t.connection_timeout, "connection_timeout", &mut e) {
            c.connection_timeout = v;
        }
        if let Some(v) = common::parse_span(&t.inactivity, "connection_inactivity_timeout", &mut e)
        {
            c.connection_inactivity_timeout = v;
        }
        if let Some(v) = common::parse_span(&t.tarpit, "tarpit_interval", &mut e) {
            c.tarpit_interval = v;
        }
        if c.auth_mechanisms.is_empty() {
            c.auth_mechanisms = vec![AuthMechanism::None];
        }
        if e.is_empty() { Ok(c) } else { Err(e) }
    }

    fn follow_switch(draft: &mut ReceiveConnector, saved: &ReceiveConnector) {
        draft.domain_secure_enabled = saved.domain_secure_enabled;
        draft.auth_mechanisms = saved.auth_mechanisms.clone();
    }

    fn columns() -> Vec<Column> {
        vec![
            Column::initial(150.0).at_least(90.0).clip(true),
            Column::initial(80.0),
            Column::initial(230.0).clip(true),
            Column::initial(150.0).clip(true),
            Column::initial(120.0).clip(true),
            Column::initial(150.0),
            Column::remainder().at_least(80.0),
        ]
    }

    fn middle_cells(row: &mut TableRow, c: &ReceiveConnector, cx: &Cx) {
        let listeners = &cx.live.snapshot.listeners;
        let running = cx.live.running();
        row.col(|ui| {
            let rows: Vec<_> = listeners.iter().filter(|l| l.connector == c.name).collect();
            if !running || rows.is_empty() {
                ui.label(c.bindings.join(", "));
            }
            for l in rows.iter().filter(|_| running) {
                match &l.error {
                    Some(e) => {
                        ui.label(RichText::new(format!("✖ {}", l.address)).color(bad()))
                            .on_hover_text(crate::ui::state::live::plain_problem(e));
                    }
                    None => {
                        ui.label(RichText::new(format!("✔ {}", l.address)).color(good()))
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
    }

    fn sort_key(c: &ReceiveConnector, column: usize) -> widgets::SortKey {
        match column {
            0 => widgets::SortKey::text(&c.bindings.join(", ")),
            1 => widgets::SortKey::text(&c.remote_ip_ranges.join(", ")),
            2 => widgets::SortKey::text(&auth_text(c)),
            _ => widgets::SortKey::Number(c.require_tls.into()),
        }
    }

    fn last_cells(row: &mut TableRow, c: &ReceiveConnector) {
        row.col(|ui| {
            ui.label(if c.require_tls { "Yes" } else { "No" });
        });
    }

    #[rustfmt::skip]
    fn property_tab(ui: &mut Ui, tab: Tab, d: &mut ReceiveDraft, p: &FieldProblems) {
        match tab {
            Tab::General => {
            widgets::form_grid(ui, "rc-general", |ui| {
                widgets::text_field(ui, "Name", &mut d.c.name, "", &p.at("name"));
                widgets::field(ui, "Enabled", &[], |ui| {
                    ui.checkbox(&mut d.c.enabled, "Accept connections on this connector")
                });
                let hint = p.cx.data.settings.organization.fqdn.clone();
                widgets::text_field(ui, "FQDN (banner and EHLO)", &mut d.text.fqdn, &hint, &p.at("fqdn"));
                widgets::text_field(ui, "Banner", &mut d.text.banner, "220 … (default greeting)", &p.at("banner"));
                widgets::text_field(ui, "Maximum message size", &mut d.text.max_size, "36MB", &p.at("max_message_size"));
                widgets::text_field(ui, "Maximum recipients per message", &mut d.text.max_recipients, "200", &p.at("max_recipients_per_message"));
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
                    let item = |j: usize| p.at(&format!("bindings[{j}]"));
                    widgets::list_editor(ui, "binding", &mut d.c.bindings, &mut d.text.binding_input, &item);
                    widgets::problems(ui, &p.exact("bindings"));
                });
                ui.end_row();
                ui.label("Remote IP ranges");
                ui.vertical(|ui| {
                    let item = |j: usize| p.at(&format!("remote_ip_ranges[{j}]"));
                    widgets::list_editor(ui, "remote IP range", &mut d.c.remote_ip_ranges, &mut d.text.range_input, &item);
                    widgets::problems(ui, &p.exact("remote_ip_ranges"));
                });
                ui.end_row();
                widgets::text_field(ui, "Maximum inbound connections", &mut d.text.max_connections, "5000", &p.at("max_inbound_connections"));
                widgets::text_field(ui, "Maximum connections per source", &mut d.text.per_source, "20", &p.at("max_inbound_connections_per_source"));
                widgets::text_field(ui, "Connection timeout", &mut d.text.connection_timeout, "10m", &p.at("connection_timeout"));
                widgets::text_field(ui, "Inactivity timeout", &mut d.text.inactivity, "5m", &p.at("connection_inactivity_timeout"));
                widgets::text_field(ui, "Tarpit interval", &mut d.text.tarpit, "5s", &p.at("tarpit_interval"));
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
                d.domain_secure_box(ui);
                ui.label(RichText::new("Partners on the receive domain secure list must present a certificate naming their domain, over TLS. Applies from the next message of every session.").color(muted()).size(12.0));
            });
            if ui.checkbox(&mut basic, "Basic authentication (AUTH PLAIN/LOGIN)").changed() {
                has(AuthMechanism::BasicAuth, basic, &mut d.c.auth_mechanisms);
            }
            if ui.checkbox(&mut basic_tls, "Offer Basic authentication only after starting TLS").changed() {
                has(AuthMechanism::BasicAuthRequireTls, basic_tls, &mut d.c.auth_mechanisms);
            }
            widgets::problems(ui, &p.at("auth_mechanisms"));
            widgets::problems(ui, &p.at("domain_secure_enabled"));
            ui.add_space(6.0);
            ui.checkbox(&mut d.c.require_tls, "Require TLS for every message");
            widgets::problems(ui, &p.at("require_tls"));
            ui.add_space(8.0);
            widgets::form_grid(ui, "rc-cert", |ui| {
                widgets::field(ui, "Certificate for STARTTLS", &p.at("certificate"), |ui| {
                    certificate_combo(ui, "rc-certificate", &mut d.c.certificate, p.cx.data)
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
                    ui.label(RichText::new(help).color(muted()).size(12.0));
                });
            }
            widgets::problems(ui, &p.at("permission_groups"));
        }
        }
    }

    fn equivalent(
        before: Option<&ReceiveConnector>,
        after: &ReceiveConnector,
    ) -> Option<Vec<String>> {
        crate::admin::commands::receive_connector_args(before, after)
    }

    fn save(index: usize, c: ReceiveConnector) -> SettingsChange {
        SettingsChange::ReceiveConnector {
            index,
            connector: Box::new(c),
        }
    }

    fn remove(name: String) -> SettingsChange {
        SettingsChange::RemoveReceiveConnector(name)
    }
}
