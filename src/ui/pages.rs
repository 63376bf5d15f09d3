//! The pages of the console. Each reads the snapshot and draws; none touches disk or sockets.

use super::nav::Page;
use super::snapshot::ConsoleData;
use super::widgets::{self, BAD, GOOD, WARN, page_header, property_grid, text_table};
use crate::pki::inspect::{CertStatus, format_date};
use egui::{RichText, Ui};

/// Draws `page`.
pub fn show(ui: &mut Ui, page: Page, data: &ConsoleData) {
    match page {
        Page::TransportSettings => transport(ui, data),
        Page::SendConnectors => send_connectors(ui, data),
        Page::AcceptedDomains => accepted_domains(ui, data),
        Page::ReceiveConnectors => receive_connectors(ui, data),
        Page::Certificates => certificates(ui, data),
        Page::TrustedRoots => trusted_roots(ui, data),
        Page::DirectTrust => direct_trust(ui, data),
        Page::MessageTracking
        | Page::QueueViewer
        | Page::LiveMonitor
        | Page::CertificateInspector
        | Page::ConnectivityProbe => toolbox_pending(ui, page),
    }
}

fn yes(b: bool) -> String {
    if b { "Yes".into() } else { "No".into() }
}

fn transport(ui: &mut Ui, data: &ConsoleData) {
    page_header(
        ui,
        "Transport settings",
        "Domain Security: mail to domains on the send list, and from domains on the receive list, travels only over mutual TLS.",
    );
    let t = &data.settings.transport;
    let list = |l: &Vec<String>| {
        if l.is_empty() {
            "(none)".to_string()
        } else {
            l.join(", ")
        }
    };
    property_grid(
        ui,
        "transport",
        &[
            (
                "Send domain secure list",
                list(&t.tls_send_domain_secure_list),
            ),
            (
                "Receive domain secure list",
                list(&t.tls_receive_domain_secure_list),
            ),
            (
                "Retry after transient failure",
                t.transient_failure_retry_interval.to_string(),
            ),
            (
                "Retry after connection failure",
                t.outbound_connection_failure_retry_interval.to_string(),
            ),
            (
                "Delay notice after",
                t.delay_notification_timeout.to_string(),
            ),
            (
                "Return (NDR) after",
                t.message_expiration_timeout.to_string(),
            ),
            (
                "Keep tracking events for",
                t.message_tracking_max_age.to_string(),
            ),
        ],
    );
}

fn send_connectors(ui: &mut Ui, data: &ConsoleData) {
    page_header(
        ui,
        "Send connectors",
        "Where mail for other domains goes: address spaces, smart hosts and TLS policy.",
    );
    let c = &data.settings.send_connectors;
    text_table(
        ui,
        "send",
        &[
            "Name",
            "Enabled",
            "Address spaces",
            "Smart hosts",
            "Domain Security",
            "Require TLS",
            "TLS auth level",
        ],
        c.len(),
        |r, col| {
            let s = &c[r];
            match col {
                0 => s.name.clone(),
                1 => yes(s.enabled),
                2 => s
                    .address_spaces
                    .iter()
                    .map(|a| format!("{} ({})", a.address, a.cost))
                    .collect::<Vec<_>>()
                    .join(", "),
                3 => {
                    if s.smart_hosts.is_empty() {
                        "(none yet)".into()
                    } else {
                        s.smart_hosts.join(", ")
                    }
                }
                4 => yes(s.domain_secure_enabled),
                5 => yes(s.require_tls),
                _ => s
                    .tls_auth_level
                    .map(|l| format!("{l:?}"))
                    .unwrap_or_default(),
            }
        },
        |r, col| (col == 4 && c[r].domain_secure_enabled).then_some(GOOD),
    );
}

fn accepted_domains(ui: &mut Ui, data: &ConsoleData) {
    page_header(
        ui,
        "Accepted domains",
        "Mail for these domains is delivered to local mailboxes.",
    );
    let d = &data.settings.accepted_domains;
    text_table(
        ui,
        "domains",
        &["Domain", "Recipients"],
        d.len(),
        |r, col| match col {
            0 => d[r].domain.clone(),
            _ => d[r]
                .recipients
                .as_ref()
                .map(|v| v.join(", "))
                .unwrap_or_else(|| "any mailbox".into()),
        },
        |_, _| None,
    );
}

fn receive_connectors(ui: &mut Ui, data: &ConsoleData) {
    page_header(
        ui,
        "Receive connectors",
        "Where this server listens, whom it serves, and how it authenticates them.",
    );
    let c = &data.settings.receive_connectors;
    text_table(
        ui,
        "receive",
        &[
            "Name",
            "Enabled",
            "Bindings",
            "Remote IP ranges",
            "Authentication",
            "Permission groups",
            "Domain Security",
            "Require TLS",
        ],
        c.len(),
        |r, col| {
            let s = &c[r];
            match col {
                0 => s.name.clone(),
                1 => yes(s.enabled),
                2 => s.bindings.join(", "),
                3 => s.remote_ip_ranges.join(", "),
                4 => s
                    .auth_mechanisms
                    .iter()
                    .map(|m| format!("{m:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                5 => s
                    .permission_groups
                    .iter()
                    .map(|m| format!("{m:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                6 => yes(s.domain_secure_enabled),
                _ => yes(s.require_tls),
            }
        },
        |r, col| (col == 6 && c[r].domain_secure_enabled).then_some(GOOD),
    );
}

fn status_color(s: CertStatus) -> egui::Color32 {
    match s {
        CertStatus::Valid => GOOD,
        CertStatus::PendingRequest => WARN,
        _ => BAD,
    }
}

fn certificates(ui: &mut Ui, data: &ConsoleData) {
    page_header(
        ui,
        "Certificates",
        "This server's certificates and pending requests (Get-ExchangeCertificate).",
    );
    let c = &data.certificates;
    text_table(
        ui,
        "certs",
        &["Thumbprint", "Services", "Subject", "Status", "Expires"],
        c.len(),
        |r, col| {
            let row = &c[r];
            match col {
                0 => row.thumbprint.clone(),
                1 => row.services.clone(),
                2 => row.subject.clone(),
                3 => row.status.to_string(),
                _ => row.not_after.map(format_date).unwrap_or_default(),
            }
        },
        |r, col| (col == 3).then(|| status_color(c[r].status)),
    );
    if let Some(ca) = &data.lab_ca {
        ui.add_space(8.0);
        ui.label(RichText::new(format!("Lab CA: {ca}")).weak());
    }
}

fn trusted_roots(ui: &mut Ui, data: &ConsoleData) {
    page_header(
        ui,
        "Trusted roots",
        "Root CAs whose certificates this server accepts — a partner organization's root goes here.",
    );
    let c = &data.roots;
    text_table(
        ui,
        "roots",
        &["Thumbprint", "Subject", "Expires", "Status"],
        c.len(),
        |r, col| match col {
            0 => c[r].thumbprint.clone(),
            1 => c[r].subject.clone(),
            2 => format_date(c[r].not_after),
            _ => {
                if c[r].current {
                    "Valid".into()
                } else {
                    "DateInvalid".into()
                }
            }
        },
        |r, col| (col == 3).then(|| if c[r].current { GOOD } else { BAD }),
    );
}

fn direct_trust(ui: &mut Ui, data: &ConsoleData) {
    page_header(
        ui,
        "Direct trust",
        "Our own relays, trusted by certificate or key pin without chain building; and partner domains pinned to their own anchors.",
    );
    let d = &data.settings.direct_trust;
    text_table(
        ui,
        "direct",
        &["Name", "Pin"],
        d.len(),
        |r, col| match col {
            0 => d[r].name.clone(),
            _ => format!("{:?}", d[r].pin),
        },
        |_, _| None,
    );
    ui.add_space(12.0);
    ui.strong("Partner anchors");
    let p = &data.settings.partner_anchors;
    text_table(
        ui,
        "anchors",
        &["Partner domain", "Anchors"],
        p.len(),
        |r, col| match col {
            0 => p[r].domain.clone(),
            _ => p[r]
                .anchors
                .iter()
                .map(|a| format!("{a:?}"))
                .collect::<Vec<_>>()
                .join(", "),
        },
        |_, _| None,
    );
}

fn toolbox_pending(ui: &mut Ui, page: Page) {
    page_header(ui, page.title(), "");
    widgets::badge(ui, "Not available yet", WARN);
    ui.label("This tool needs the relay engine, which this build does not run yet.");
}
