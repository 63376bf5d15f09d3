//! Organization › Send connectors (Get-/Set-/New-SendConnector): where mail for other domains
//! goes. The list with a one-click Domain Security switch, and property pages — General,
//! Address space, Network (smart hosts), TLS (Domain Security, RequireTLS, TlsAuthLevel) —
//! edited as a draft and saved as one checked change. The page itself is [`connector_page`]'s.

use super::Cx;
use super::connector_common::{self as common, LocalErrors, certificate_combo, opt};
use super::connector_page::{self, ConnectorKind, FieldProblems};
use crate::config::{AddressSpace, ProtocolLoggingLevel, SendConnector, TlsAuthLevel};
use crate::ui::app::actions::{Form, SettingsChange};
use crate::ui::widgets;
use crate::ui::widgets::nav::Page;
use crate::ui::widgets::theme::muted;
use egui::{RichText, Ui};
use egui_extras::{Column, TableRow};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Tab {
    #[default]
    General,
    AddressSpace,
    Network,
    Tls,
}

/// The send connector kind of [`connector_page`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SendKind;

pub type SendView = connector_page::View<SendKind>;
pub type SendDraft = connector_page::Draft<SendKind>;

/// The settings of a send connector typed as text.
#[derive(Clone, Debug, PartialEq)]
pub struct SendText {
    /// "Route mail through": the recipient domain's MX hosts, or the smart hosts.
    pub route: Routing,
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

/// How a send connector finds its next hop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Routing {
    /// The recipient domain's MX records (DNS).
    Mx,
    /// The smart hosts, in order.
    SmartHosts,
}

fn space_text(a: &AddressSpace) -> String {
    if a.cost == 1 {
        a.address.clone()
    } else {
        format!("{};{}", a.address, a.cost)
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

pub fn send_connectors_page(ui: &mut Ui, v: &mut SendView, cx: &mut Cx) {
    connector_page::connectors_page(ui, v, cx);
}

impl ConnectorKind for SendKind {
    type Connector = SendConnector;
    type Text = SendText;
    type Tab = Tab;

    const FORM: Form = Form::SendConnectors;
    const PAGE: Page = Page::SendConnectors;
    const TITLE: &'static str = "Send connectors";
    const SUMMARY: &'static str = "Where mail for other domains goes: address spaces, smart hosts and TLS. Changes apply to new deliveries without a restart.";
    const NEW_BUTTON: &'static str = "➕ New send connector…";
    const REMOVE_DETAIL: &'static str = "Mail for its address spaces then takes another connector, or waits in the queue when none matches.";
    const HEADERS: &'static [&'static str] = &[
        "Name",
        "Status",
        "Address spaces",
        "Smart hosts",
        "Domain Security",
        "TLS",
    ];
    const LAST_COLUMNS: usize = 1;
    const TABS: &'static [(Tab, &'static str)] = &[
        (Tab::General, "General"),
        (Tab::AddressSpace, "Address space"),
        (Tab::Network, "Network"),
        (Tab::Tls, "TLS"),
    ];

    fn new_connector() -> SendConnector {
        SendConnector {
            name: "New send connector".into(),
            address_spaces: vec![AddressSpace {
                address: "partner.example".into(),
                cost: 1,
            }],
            ..Default::default()
        }
    }

    fn text(c: &SendConnector) -> SendText {
        SendText {
            route: if c.smart_hosts.is_empty() {
                Routing::Mx
            } else {
                Routing::SmartHosts
            },
            spaces: c.address_spaces.iter().map(space_text).collect(),
            space_input: String::new(),
            host_input: String::new(),
            port: c.port.to_string(),
            fqdn: c.fqdn.clone().unwrap_or_default(),
            tls_domain: c.tls_domain.clone().unwrap_or_default(),
            max_size: c.max_message_size.to_string(),
            inactivity: c.connection_inactivity_timeout.to_string(),
            per_connection: c.smtp_max_messages_per_connection.to_string(),
        }
    }

    fn build(c: &SendConnector, t: &SendText) -> Result<SendConnector, LocalErrors> {
        let mut e = LocalErrors::new();
        let mut c = c.clone();
        c.fqdn = opt(&t.fqdn);
        c.tls_domain = opt(&t.tls_domain);
        let mut spaces = Vec::new();
        for s in &t.spaces {
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
        match t.route {
            Routing::Mx => c.smart_hosts.clear(),
            Routing::SmartHosts if c.smart_hosts.is_empty() => {
                e.insert(
                    "smart_hosts",
                    "add at least one smart host, or route mail through DNS (MX)".to_string(),
                );
            }
            Routing::SmartHosts => {}
        }
        if let Some(v) = common::parse_u16(&t.port, "port", &mut e) {
            c.port = v;
        }
        if let Some(v) = common::parse_size(&t.max_size, "max_message_size", &mut e) {
            c.max_message_size = v;
        }
        if let Some(v) = common::parse_span(&t.inactivity, "connection_inactivity_timeout", &mut e)
        {
            c.connection_inactivity_timeout = v;
        }
        if let Some(v) = common::parse_u32(
            &t.per_connection,
            "smtp_max_messages_per_connection",
            &mut e,
        ) {
            c.smtp_max_messages_per_connection = v;
        }
        if e.is_empty() { Ok(c) } else { Err(e) }
    }

    fn follow_switch(draft: &mut SendConnector, saved: &SendConnector) {
        draft.domain_secure_enabled = saved.domain_secure_enabled;
    }

    fn columns() -> Vec<Column> {
        vec![
            Column::initial(160.0).at_least(90.0).clip(true),
            Column::initial(80.0),
            Column::initial(190.0).clip(true),
            Column::initial(200.0).clip(true),
            Column::initial(150.0),
            Column::remainder().at_least(120.0),
        ]
    }

    fn middle_cells(row: &mut TableRow, c: &SendConnector, _cx: &Cx) {
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
                ui.label(RichText::new("DNS (MX)").color(muted()));
            } else {
                ui.label(c.smart_hosts.join(", "));
            }
        });
    }

    fn sort_key(c: &SendConnector, column: usize) -> widgets::SortKey {
        match column {
            0 => widgets::SortKey::text(
                &c.address_spaces
                    .iter()
                    .map(space_text)
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            1 => widgets::SortKey::text(&c.smart_hosts.join(", ")),
            _ => widgets::SortKey::Number(if c.ignore_starttls {
                0
            } else if c.require_tls {
                2
            } else {
                1
            }),
        }
    }

    fn last_cells(row: &mut TableRow, c: &SendConnector) {
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
    }

    #[rustfmt::skip]
    fn property_tab(ui: &mut Ui, tab: Tab, d: &mut SendDraft, p: &FieldProblems) {
        match tab {
            Tab::General => {
            widgets::form_grid(ui, "sc-general", |ui| {
                widgets::text_field(ui, "Name", &mut d.c.name, "", &p.at("name"));
                widgets::field(ui, "Enabled", &[], |ui| {
                    ui.checkbox(&mut d.c.enabled, "Use this connector")
                });
                let hint = p.cx.data.settings.organization.fqdn.clone();
                widgets::text_field(ui, "FQDN (EHLO name)", &mut d.text.fqdn, &hint, &p.at("fqdn"));
                widgets::text_field(ui, "Maximum message size", &mut d.text.max_size, "36MB", &p.at("max_message_size"));
                widgets::text_field(ui, "Messages per connection", &mut d.text.per_connection, "20", &p.at("smtp_max_messages_per_connection"));
                widgets::text_field(ui, "Inactivity timeout", &mut d.text.inactivity, "10m", &p.at("connection_inactivity_timeout"));
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
            ui.label(RichText::new("Domains this connector sends to: *, contoso.com or *.contoso.com; add ;COST (1-100) to rank connectors, lower wins.").color(muted()));
            ui.add_space(4.0);
            let item = |j: usize| p.at(&format!("address_spaces[{j}]"));
            widgets::list_editor(ui, "address space", &mut d.text.spaces, &mut d.text.space_input, &item);
            widgets::problems(ui, &p.at("address_spaces"));
        }
        Tab::Network => {
            widgets::form_grid(ui, "sc-network", |ui| {
                widgets::field(ui, "Route mail through", &[], |ui| {
                    ui.horizontal(|ui| {
                        ui.radio_value(&mut d.text.route, Routing::Mx, "DNS (MX records)");
                        ui.radio_value(&mut d.text.route, Routing::SmartHosts, "Smart hosts, in order");
                    })
                    .response
                });
                if d.text.route == Routing::SmartHosts {
                    ui.label("Smart hosts (host[:port])");
                    ui.vertical(|ui| {
                        let item = |j: usize| p.at(&format!("smart_hosts[{j}]"));
                        widgets::list_editor(ui, "smart host", &mut d.c.smart_hosts, &mut d.text.host_input, &item);
                        widgets::problems(ui, &p.at("smart_hosts"));
                    });
                    ui.end_row();
                    widgets::text_field(ui, "Port", &mut d.text.port, "25", &p.at("port"));
                }
            });
            ui.add_space(4.0);
            ui.label(RichText::new(match d.text.route {
                Routing::Mx => "Mail goes to the recipient domain's MX hosts, best first, on the MX port of the transport settings; DANE and MTA-STS (TLS tab) apply to them.",
                Routing::SmartHosts => "Smart hosts are tried in order; DANE and MTA-STS do not apply to them.",
            }).color(muted()).size(12.0));
        }
        Tab::Tls => {
            d.domain_secure_box(ui);
            ui.label(RichText::new("Mail to domains on the send domain secure list goes only over mutual TLS; it waits in the queue rather than being downgraded.").color(muted()).size(12.0));
            widgets::problems(ui, &p.at("domain_secure_enabled"));
            ui.add_space(6.0);
            ui.checkbox(&mut d.c.require_tls, "Require TLS for every delivery");
            widgets::problems(ui, &p.at("require_tls"));
            ui.checkbox(&mut d.c.ignore_starttls, "Ignore STARTTLS (never encrypt)");
            ui.add_space(6.0);
            ui.checkbox(&mut d.c.dane_enabled, "DANE: authenticate MX hosts by their DNSSEC-signed TLSA records (RFC 7672)");
            ui.checkbox(&mut d.c.mta_sts_enabled, "MTA-STS: apply the recipient domain's published policy (RFC 8461)");
            ui.add_space(6.0);
            widgets::form_grid(ui, "sc-tls", |ui| {
                widgets::field(ui, "TLS authentication level", &p.at("tls_auth_level"), |ui| {
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
                widgets::text_field(ui, "TLS domain", &mut d.text.tls_domain, "name the next hop's certificate must carry", &p.at("tls_domain"));
                widgets::field(ui, "Client certificate", &p.at("certificate"), |ui| {
                    certificate_combo(ui, "sc-certificate", &mut d.c.certificate, p.cx.data)
                });
            });
        }
        }
    }

    fn equivalent(before: Option<&SendConnector>, after: &SendConnector) -> Option<Vec<String>> {
        crate::admin::commands::send_connector_args(before, after)
    }

    fn save(index: usize, c: SendConnector) -> SettingsChange {
        SettingsChange::SendConnector {
            index,
            connector: Box::new(c),
        }
    }

    fn remove(name: String) -> SettingsChange {
        SettingsChange::RemoveSendConnector(name)
    }
}
