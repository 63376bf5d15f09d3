//! The pages of the console, one module each. A page reads the persisted state
//! ([`ConsoleData`]) and the relay's live state, keeps its own view state (selection, text
//! being typed, an unsaved draft), and pushes [`Action`]s; it never touches the disk, the
//! relay or a socket.

pub mod accepted_domains;
pub mod cert_details;
pub mod certificates;
pub mod connector_common;
pub mod connector_page;
pub mod direct_trust;
pub mod inspector;
pub mod monitor;
pub mod partners;
pub mod probe;
pub mod protocol_logs;
pub mod queues;
pub mod receive_connectors;
pub mod send_connectors;
pub mod test_message;
pub mod tls_reports;
pub mod tracking;
pub mod transport;
pub mod trusted_roots;
pub mod what_if;

use super::app::actions::{Action, Form};
use super::app::feedback::Feedbacks;
use super::state::live::{self, LiveView};
use super::state::model::ConsoleData;
use super::widgets;
use super::widgets::nav::Page;
use super::widgets::theme;
use egui::Ui;
use time::OffsetDateTime;

/// What a page may read and where it pushes its actions, for one frame.
pub struct Cx<'a> {
    pub data: &'a ConsoleData,
    pub live: &'a LiveView,
    /// Why the relay is not running, when it is not.
    pub relay_reason: Option<&'a str>,
    pub feedback: &'a Feedbacks,
    pub actions: &'a mut Vec<Action>,
    pub now: OffsetDateTime,
    pub now_ms: i64,
    pub prober_available: bool,
}

impl Cx<'_> {
    pub fn push(&mut self, a: Action) {
        self.actions.push(a);
    }

    /// The form's banner (working, done, failed); dismissing it clears it.
    pub fn feedback(&mut self, ui: &mut Ui, form: Form) {
        if widgets::feedback(ui, self.feedback.get(form)) {
            self.actions.push(Action::Dismiss(form));
        }
    }

    pub fn problems_at(&self, form: Form, path: &str) -> Vec<String> {
        self.feedback.problems_at(form, path)
    }

    pub fn busy(&self, form: Form) -> bool {
        self.feedback.is_working(form)
    }

    /// The relay's problems that concern `page`, in plain words, as banners.
    pub fn relay_problems(&self, ui: &mut Ui, page: Page) {
        for p in self.live.all_problems() {
            if live::concerns(&p, page) {
                widgets::note(ui, theme::bad(), "⚠", &live::plain_problem(&p));
                ui.add_space(6.0);
            }
        }
    }
}

/// The view state of every page, kept while the administrator moves between them.
#[derive(Default)]
pub struct Views {
    pub transport: transport::TransportView,
    pub send: send_connectors::SendView,
    pub domains: accepted_domains::DomainsView,
    pub receive: receive_connectors::ReceiveView,
    pub certificates: certificates::CertificatesView,
    pub roots: trusted_roots::RootsView,
    pub direct: direct_trust::DirectView,
    pub tracking: tracking::TrackingView,
    pub queues: queues::QueuesView,
    pub monitor: monitor::MonitorView,
    pub inspector: inspector::InspectorView,
    pub probe: probe::ProbeView,
    pub test_message: test_message::TestMessageView,
    pub tls_reports: tls_reports::TlsReportsView,
    pub partners: partners::PartnersView,
    pub what_if: what_if::WhatIfView,
    pub protocol_logs: protocol_logs::ProtocolLogView,
}

impl Views {
    /// The data directory changed: drafts without edits follow it.
    pub fn reloaded(&mut self, data: &ConsoleData) {
        self.partners.stale = true;
        self.transport.reloaded(data);
        self.send.reloaded(data);
        self.receive.reloaded(data);
    }

    /// A form's change was saved: its draft is the saved state now.
    pub fn saved(&mut self, form: Form) {
        match form {
            Form::Transport => self.transport.saved(),
            Form::SendConnectors => self.send.saved(),
            Form::ReceiveConnectors => self.receive.saved(),
            Form::AcceptedDomains => self.domains.input.clear(),
            Form::TrustedRoots => {
                self.roots.path.clear();
                self.roots.crl_path.clear();
            }
            Form::DirectTrust => self.direct.saved(),
            _ => {}
        }
    }
}

/// Draws `page`.
pub fn current_page(ui: &mut Ui, page: Page, views: &mut Views, cx: &mut Cx) {
    match page {
        Page::Partners => partners::partners_page(ui, &mut views.partners, cx),
        Page::TransportSettings => transport::transport_settings_page(ui, &mut views.transport, cx),
        Page::SendConnectors => send_connectors::send_connectors_page(ui, &mut views.send, cx),
        Page::AcceptedDomains => {
            accepted_domains::accepted_domains_page(ui, &mut views.domains, cx)
        }
        Page::ReceiveConnectors => {
            receive_connectors::receive_connectors_page(ui, &mut views.receive, cx)
        }
        Page::Certificates => certificates::certificates_page(ui, &mut views.certificates, cx),
        Page::TrustedRoots => trusted_roots::trusted_roots_page(ui, &mut views.roots, cx),
        Page::DirectTrust => direct_trust::direct_trust_page(ui, &mut views.direct, cx),
        Page::MessageTracking => tracking::message_tracking_page(ui, &mut views.tracking, cx),
        Page::QueueViewer => queues::queue_viewer_page(ui, &mut views.queues, cx),
        Page::LiveMonitor => monitor::live_monitor_page(ui, &mut views.monitor, cx),
        Page::TlsReports => tls_reports::tls_reports_page(ui, &mut views.tls_reports, cx),
        Page::ProtocolLogs => protocol_logs::protocol_logs_page(ui, &mut views.protocol_logs, cx),
        Page::CertificateInspector => {
            inspector::certificate_inspector_page(ui, &mut views.inspector, cx)
        }
        Page::ConnectivityProbe => probe::connectivity_probe_page(ui, &mut views.probe, cx),
        Page::TestMessage => test_message::test_message_page(ui, &mut views.test_message, cx),
        Page::WhatIf => what_if::what_if_page(ui, &mut views.what_if, cx),
    }
}

/// Tabs in a row; returns the selected one.
pub fn tabs<T: Copy + PartialEq>(ui: &mut Ui, current: &mut T, items: &[(T, &str)]) {
    ui.horizontal(|ui| {
        for (t, label) in items {
            let selected = *current == *t;
            let text = if selected {
                egui::RichText::new(*label).strong().color(theme::accent())
            } else {
                egui::RichText::new(*label)
            };
            if ui.add(egui::Button::selectable(selected, text)).clicked() {
                *current = *t;
            }
        }
    });
    ui.separator();
}
