//! Organization › Transport settings (Set-TransportConfig): the send and receive domain secure
//! lists, the queue timing, the DNS servers and port of MX routing, our MTA-STS policy, where
//! others send their TLS reports, and what an unknown revocation status means. Edits are a draft until Save; the admin worker checks and saves
//! them, and problems appear at the field they concern (`transport.tls_send_domain_secure_list[1]`).

use super::Cx;
use crate::config::units::TimeSpan;
use crate::config::{
    DnssecTrustAnchor, MtaStsMode, MtaStsPublishing, TransportSettings, UnknownRevocationStatus,
};
use crate::ui::app::actions::{Action, Form, SettingsChange};
use crate::ui::state::model::ConsoleData;
use crate::ui::widgets;
use crate::ui::widgets::theme::muted;
use egui::{RichText, Ui};
use std::collections::HashMap;

const FORM: Form = Form::Transport;

/// An unsaved edit of the transport settings.
#[derive(Clone, Debug, PartialEq)]
pub struct TransportDraft {
    pub send: Vec<String>,
    pub receive: Vec<String>,
    pub send_input: String,
    pub receive_input: String,
    pub retry: String,
    pub connection_retry: String,
    pub delay_notice: String,
    pub expiration: String,
    pub tracking_age: String,
    pub unknown_revocation: UnknownRevocationStatus,
    pub dns_servers: Vec<String>,
    pub dns_input: String,
    pub mx_port: String,
    pub anchor: AnchorChoice,
    /// The trust anchor file, when [`AnchorChoice::File`] is chosen.
    pub anchor_file: String,
    /// Our MTA-STS policy is published (served over HTTPS by the relay).
    pub sts_publish: bool,
    pub sts_listen: String,
    pub sts_mode: MtaStsMode,
    pub sts_mx: Vec<String>,
    pub sts_mx_input: String,
    pub sts_max_age: String,
    /// Our TLS report address (RFC 8460 `rua`); empty: none.
    pub tls_rpt_address: String,
    /// Where alerts are mailed; empty: none.
    pub alert_address: String,
    base: TransportSettings,
}

/// The DNSSEC trust anchor as the page offers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnchorChoice {
    IanaRoot,
    File,
    Off,
}

impl TransportDraft {
    fn of(t: &TransportSettings) -> TransportDraft {
        TransportDraft {
            send: t.tls_send_domain_secure_list.clone(),
            receive: t.tls_receive_domain_secure_list.clone(),
            send_input: String::new(),
            receive_input: String::new(),
            retry: t.transient_failure_retry_interval.to_string(),
            connection_retry: t.outbound_connection_failure_retry_interval.to_string(),
            delay_notice: t.delay_notification_timeout.to_string(),
            expiration: t.message_expiration_timeout.to_string(),
            tracking_age: t.message_tracking_max_age.to_string(),
            unknown_revocation: t.unknown_revocation_status,
            dns_servers: t.dns_servers.clone(),
            dns_input: String::new(),
            mx_port: t.mx_port.to_string(),
            anchor: match t.dnssec_trust_anchor {
                DnssecTrustAnchor::IanaRoot => AnchorChoice::IanaRoot,
                DnssecTrustAnchor::File(_) => AnchorChoice::File,
                DnssecTrustAnchor::Off => AnchorChoice::Off,
            },
            anchor_file: match &t.dnssec_trust_anchor {
                DnssecTrustAnchor::File(path) => path.clone(),
                _ => String::new(),
            },
            sts_publish: t.mta_sts_policy.is_some(),
            sts_listen: t
                .mta_sts_policy
                .as_ref()
                .map(|p| p.listen.clone())
                .unwrap_or_else(|| "0.0.0.0:443".into()),
            sts_mode: t
                .mta_sts_policy
                .as_ref()
                .map(|p| p.mode)
                .unwrap_or(MtaStsMode::Testing),
            sts_mx: t
                .mta_sts_policy
                .as_ref()
                .map(|p| p.mx.clone())
                .unwrap_or_default(),
            sts_mx_input: String::new(),
            sts_max_age: t
                .mta_sts_policy
                .as_ref()
                .map(|p| p.max_age)
                .unwrap_or(TimeSpan::secs(7 * 86_400))
                .to_string(),
            tls_rpt_address: t.tls_rpt_address.clone().unwrap_or_default(),
            alert_address: t.alert_address.clone().unwrap_or_default(),
            base: t.clone(),
        }
    }

    fn dirty(&self) -> bool {
        *self != TransportDraft::of(&self.base)
            || !self.send_input.is_empty()
            || !self.receive_input.is_empty()
            || !self.dns_input.is_empty()
            || !self.sts_mx_input.is_empty()
    }

    /// The settings, or the fields that do not parse.
    fn build(&self) -> Result<TransportSettings, HashMap<&'static str, String>> {
        let mut errors = HashMap::new();
        let mut t = self.base.clone();
        t.tls_send_domain_secure_list = self.send.clone();
        t.tls_receive_domain_secure_list = self.receive.clone();
        t.unknown_revocation_status = self.unknown_revocation;
        t.dns_servers = self.dns_servers.clone();
        t.dnssec_trust_anchor = match self.anchor {
            AnchorChoice::IanaRoot => DnssecTrustAnchor::IanaRoot,
            AnchorChoice::File => DnssecTrustAnchor::File(self.anchor_file.trim().to_string()),
            AnchorChoice::Off => DnssecTrustAnchor::Off,
        };
        match self.mx_port.trim().parse::<u16>() {
            Ok(p) => t.mx_port = p,
            Err(_) => {
                errors.insert(
                    "mx_port",
                    format!("'{}' is not a port number (1-65535)", self.mx_port.trim()),
                );
            }
        }
        let mut span = |field: &'static str, text: &str, out: &mut TimeSpan| match text
            .trim()
            .parse::<TimeSpan>(
        ) {
            Ok(v) => *out = v,
            Err(e) => {
                errors.insert(field, format!("{e} (for example 30s, 5m, 4h, 2d)"));
            }
        };
        span(
            "transient_failure_retry_interval",
            &self.retry,
            &mut t.transient_failure_retry_interval,
        );
        span(
            "outbound_connection_failure_retry_interval",
            &self.connection_retry,
            &mut t.outbound_connection_failure_retry_interval,
        );
        span(
            "delay_notification_timeout",
            &self.delay_notice,
            &mut t.delay_notification_timeout,
        );
        span(
            "message_expiration_timeout",
            &self.expiration,
            &mut t.message_expiration_timeout,
        );
        span(
            "message_tracking_max_age",
            &self.tracking_age,
            &mut t.message_tracking_max_age,
        );
        t.tls_rpt_address = Some(self.tls_rpt_address.trim().to_string()).filter(|a| !a.is_empty());
        t.alert_address = Some(self.alert_address.trim().to_string()).filter(|a| !a.is_empty());
        t.mta_sts_policy = None;
        if self.sts_publish {
            match self.sts_max_age.trim().parse::<TimeSpan>() {
                Ok(max_age) => {
                    t.mta_sts_policy = Some(MtaStsPublishing {
                        listen: self.sts_listen.trim().to_string(),
                        mode: self.sts_mode,
                        mx: self.sts_mx.clone(),
                        max_age,
                    })
                }
                Err(e) => {
                    errors.insert("mta_sts_max_age", format!("{e} (for example 7d)"));
                }
            }
        }
        if errors.is_empty() {
            Ok(t)
        } else {
            Err(errors)
        }
    }
}

#[derive(Default)]
pub struct TransportView {
    pub draft: Option<TransportDraft>,
    local: HashMap<&'static str, String>,
}

impl TransportView {
    pub fn reloaded(&mut self, data: &ConsoleData) {
        if self.draft.as_ref().is_some_and(|d| !d.dirty()) {
            self.draft = Some(TransportDraft::of(&data.settings.transport));
        }
    }

    pub fn saved(&mut self) {
        self.draft = None;
        self.local.clear();
    }
}

pub fn transport_settings_page(ui: &mut Ui, v: &mut TransportView, cx: &mut Cx) {
    widgets::page_header(
        ui,
        "Transport settings",
        "Domain Security: mail to domains on the send list, and from domains on the receive list, travels only over mutual TLS with certificates naming the partner's domain.",
    );
    cx.feedback(ui, FORM);
    let d = v
        .draft
        .get_or_insert_with(|| TransportDraft::of(&cx.data.settings.transport));
    let problems = |cx: &Cx, field: &str| cx.problems_at(FORM, &format!("transport.{field}"));
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            widgets::card(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(RichText::new("Domain secure lists").strong().size(15.5));
                ui.label(
                    RichText::new("TLSSendDomainSecureList and TLSReceiveDomainSecureList. List each partner domain by name; wildcards are not allowed.")
                        .color(muted()),
                );
                ui.add_space(6.0);
                widgets::form_grid(ui, "transport-lists", |ui| {
                    let send_problem = |i: usize| {
                        problems(cx, &format!("tls_send_domain_secure_list[{i}]"))
                    };
                    ui.label("Send domain secure list");
                    ui.vertical(|ui| {
                        widgets::list_editor(
                            ui,
                            "send domain",
                            &mut d.send,
                            &mut d.send_input,
                            &send_problem,
                        );
                    });
                    ui.end_row();
                    let receive_problem = |i: usize| {
                        problems(cx, &format!("tls_receive_domain_secure_list[{i}]"))
                    };
                    ui.label("Receive domain secure list");
                    ui.vertical(|ui| {
                        widgets::list_editor(
                            ui,
                            "receive domain",
                            &mut d.receive,
                            &mut d.receive_input,
                            &receive_problem,
                        );
                    });
                    ui.end_row();
                });
            });
            ui.add_space(10.0);
            widgets::card(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(RichText::new("Queue timing").strong().size(15.5));
                ui.add_space(6.0);
                widgets::form_grid(ui, "transport-timing", |ui| {
                    let row = |ui: &mut Ui, label: &str, field: &'static str, value: &mut String| {
                        let mut p = problems(cx, field);
                        if let Some(e) = v.local.get(field) {
                            p.push(e.clone());
                        }
                        widgets::text_field(ui, label, value, "e.g. 5m", &p);
                    };
                    row(ui, "Retry after a transient failure", "transient_failure_retry_interval", &mut d.retry);
                    row(
                        ui,
                        "Retry after a connection failure",
                        "outbound_connection_failure_retry_interval",
                        &mut d.connection_retry,
                    );
                    row(ui, "Delay notice after", "delay_notification_timeout", &mut d.delay_notice);
                    row(ui, "Return (NDR) after", "message_expiration_timeout", &mut d.expiration);
                    row(ui, "Keep tracking events for", "message_tracking_max_age", &mut d.tracking_age);
                });
            });
            ui.add_space(10.0);
            widgets::card(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(RichText::new("DNS (MX routing)").strong().size(15.5));
                ui.label(
                    RichText::new("A send connector without smart hosts delivers to the recipient domain's MX hosts. The DNS servers asked for them (IP, or IP:port when not 53); none: the system's, from /etc/resolv.conf.")
                        .color(muted()),
                );
                ui.add_space(6.0);
                widgets::form_grid(ui, "transport-dns", |ui| {
                    let server_problem = |i: usize| problems(cx, &format!("dns_servers[{i}]"));
                    ui.label("DNS servers");
                    ui.vertical(|ui| {
                        widgets::list_editor(
                            ui,
                            "DNS server",
                            &mut d.dns_servers,
                            &mut d.dns_input,
                            &server_problem,
                        );
                    });
                    ui.end_row();
                    let mut p = problems(cx, "mx_port");
                    if let Some(e) = v.local.get("mx_port") {
                        p.push(e.clone());
                    }
                    widgets::text_field(ui, "MX port", &mut d.mx_port, "25", &p);
                });
                ui.add_space(6.0);
                ui.label("DNSSEC validation starts from");
                ui.radio_value(
                    &mut d.anchor,
                    AnchorChoice::IanaRoot,
                    "The IANA root keys (the Internet's DNSSEC)",
                );
                ui.radio_value(
                    &mut d.anchor,
                    AnchorChoice::File,
                    "A file of DNSKEY records (a private root, a lab)",
                );
                if d.anchor == AnchorChoice::File {
                    let p = problems(cx, "dnssec_trust_anchor");
                    widgets::form_grid(ui, "transport-anchor", |ui| {
                        widgets::text_field(
                            ui,
                            "Trust anchor file",
                            &mut d.anchor_file,
                            "/etc/mailflow/root.key",
                            &p,
                        );
                    });
                }
                ui.radio_value(
                    &mut d.anchor,
                    AnchorChoice::Off,
                    "Off: every answer counts as insecure (only for DNS servers that strip DNSSEC)",
                );
            });
            ui.add_space(10.0);
            widgets::card(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(RichText::new("MTA-STS (our policy)").strong().size(15.5));
                ui.label(
                    RichText::new("Senders that speak MTA-STS (RFC 8461) deliver to our listed MX hosts only, over TLS with a valid certificate. The relay serves the policy over HTTPS with the SMTP certificate naming mta-sts.<our domain>.")
                        .color(muted()),
                );
                ui.add_space(6.0);
                ui.checkbox(&mut d.sts_publish, "Publish our MTA-STS policy");
                if d.sts_publish {
                    let p = problems(cx, "mta_sts_policy");
                    widgets::form_grid(ui, "transport-sts", |ui| {
                        widgets::text_field(ui, "Policy listener", &mut d.sts_listen, "0.0.0.0:443", &p);
                        widgets::field(ui, "Mode", &[], |ui| {
                            ui.horizontal(|ui| {
                                ui.radio_value(&mut d.sts_mode, MtaStsMode::Enforce, "Enforce");
                                ui.radio_value(&mut d.sts_mode, MtaStsMode::Testing, "Testing (senders report, deliver anyway)");
                                ui.radio_value(&mut d.sts_mode, MtaStsMode::None, "None (withdraws a cached policy)");
                            })
                            .response
                        });
                        ui.label("Our MX hosts");
                        ui.vertical(|ui| {
                            let none = |_: usize| Vec::new();
                            widgets::list_editor(ui, "MX host", &mut d.sts_mx, &mut d.sts_mx_input, &none);
                        });
                        ui.end_row();
                        let mut age = Vec::new();
                        if let Some(e) = v.local.get("mta_sts_max_age") {
                            age.push(e.clone());
                        }
                        widgets::text_field(ui, "Senders keep it for", &mut d.sts_max_age, "7d", &age);
                    });
                    let domain = cx.data.settings.our_domain().unwrap_or_default();
                    if let Some(policy) = &d.base.mta_sts_policy {
                        let text = crate::policy::mta_sts::published(policy).to_text();
                        let id = crate::policy::mta_sts::policy_id(&text);
                        ui.add_space(4.0);
                        ui.label(RichText::new("Publish in DNS (for the saved policy):").color(muted()));
                        widgets::code_block(
                            ui,
                            &format!(
                                "{}\nmta-sts.{domain}. IN A <this relay's address>",
                                crate::policy::mta_sts::txt_record(domain, &id)
                            ),
                        );
                    }
                }
            });
            ui.add_space(10.0);
            widgets::card(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(RichText::new("TLS reporting (reports to us)").strong().size(15.5));
                ui.label(
                    RichText::new("Senders that speak TLS reporting (RFC 8460) mail a daily report of their TLS sessions with our MX hosts to this mailbox of ours. The relay reads each one on delivery; Toolbox › TLS reports shows them.")
                        .color(muted()),
                );
                ui.add_space(6.0);
                let p = problems(cx, "tls_rpt_address");
                widgets::form_grid(ui, "transport-tlsrpt", |ui| {
                    widgets::text_field(
                        ui,
                        "Report address",
                        &mut d.tls_rpt_address,
                        "tls-reports@contoso.com",
                        &p,
                    );
                });
                if let Some(address) = &d.base.tls_rpt_address {
                    let records: Vec<String> = cx
                        .data
                        .settings
                        .accepted_domains
                        .iter()
                        .map(|a| {
                            let (name, text) =
                                crate::policy::tls_rpt::report_record(&a.domain, address);
                            format!("{name}. IN TXT \"{text}\"")
                        })
                        .collect();
                    ui.add_space(4.0);
                    ui.label(RichText::new("Publish in DNS (for the saved address):").color(muted()));
                    widgets::code_block(ui, &records.join("\n"));
                }
            });
            ui.add_space(10.0);
            widgets::card(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(RichText::new("Alerts").strong().size(15.5));
                ui.label(
                    RichText::new("The relay watches the certificates partners present and ours: a partner certificate expiring, replaced or from another issuer, a partner that stopped using TLS, our SMTP certificate or a trusted root expiring. Each alert is logged once and shown on the Partners page; with an address, it is also mailed there.")
                        .color(muted()),
                );
                ui.add_space(6.0);
                let p = problems(cx, "alert_address");
                widgets::form_grid(ui, "transport-alerts", |ui| {
                    widgets::text_field(
                        ui,
                        "Alert address",
                        &mut d.alert_address,
                        "mail-admins@contoso.com",
                        &p,
                    );
                });
            });
            ui.add_space(10.0);
            widgets::card(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(RichText::new("Certificate revocation").strong().size(15.5));
                ui.label(
                    RichText::new("A revoked certificate always fails. When no current revocation list answers for a certificate (none from its CA, out of date, download failed):")
                        .color(muted()),
                );
                ui.add_space(6.0);
                ui.radio_value(
                    &mut d.unknown_revocation,
                    UnknownRevocationStatus::Allow,
                    "Allow it (as Exchange does: a CRL that cannot be had does not stop mail)",
                );
                ui.radio_value(
                    &mut d.unknown_revocation,
                    UnknownRevocationStatus::Refuse,
                    "Refuse it (strict: Domain Security mail waits until a current list is at hand)",
                );
            });
            ui.add_space(12.0);
            ui.horizontal(|ui| {
                let busy = cx.busy(FORM);
                if widgets::primary_button(ui, "Save", d.dirty() && !busy).clicked() {
                    match d.build() {
                        Ok(t) => {
                            v.local.clear();
                            cx.push(Action::Change {
                                form: FORM,
                                change: SettingsChange::Transport(Box::new(t)),
                            });
                        }
                        Err(e) => v.local = e,
                    }
                }
                if ui.add_enabled(d.dirty(), egui::Button::new("Revert")).clicked() {
                    *d = TransportDraft::of(&cx.data.settings.transport);
                    v.local.clear();
                    cx.push(Action::Dismiss(FORM));
                }
                ui.label(
                    RichText::new("Equivalent: mailflow transport set --send-domain-secure … --receive-domain-secure …")
                        .color(muted())
                        .size(12.0),
                );
            });
        });
}
