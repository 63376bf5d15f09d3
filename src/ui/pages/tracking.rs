//! Toolbox › Message tracking: search the tracking database (by sender, recipient,
//! Message-ID, time and security) on the query worker; one row per message with its security
//! badge — Domain Secure, Encrypted, Plaintext — in a virtualised, sortable table (sorting and
//! the quick filter run on the worker); a details panel with every hop, its TLS evidence and
//! SMTP responses; CSV export.

use super::Cx;
use crate::smtp::evidence::{SecurityStatus, TlsFacts};
use crate::store::protocol_logs::LogDirection;
use crate::store::tracking::{EventKind, TrackingEvent, TrackingQuery};
use crate::ui::app::actions::{Action, Form, PickTarget, TrackColumn};
use crate::ui::state::tracking_data::{MAX_EVENTS, MessageRow, TrackingSet};
use crate::ui::widgets;
use crate::ui::widgets::format;
use crate::ui::widgets::theme::{self, bad, good, muted, warn};
use egui::{RichText, Ui};
use egui_extras::Column;
use std::sync::Arc;

const FORM: Form = Form::Tracking;

/// How far back a search goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Since {
    Hour,
    Day,
    Week,
    #[default]
    All,
}

impl Since {
    fn label(self) -> &'static str {
        match self {
            Since::Hour => "Last hour",
            Since::Day => "Last 24 hours",
            Since::Week => "Last 7 days",
            Since::All => "Everything kept",
        }
    }
    fn ms(self) -> Option<i64> {
        match self {
            Since::Hour => Some(3_600_000),
            Since::Day => Some(86_400_000),
            Since::Week => Some(7 * 86_400_000),
            Since::All => None,
        }
    }
}

/// The Security filter: a status, or the refusals (which carry no message).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SecurityFilter {
    #[default]
    Any,
    Is(SecurityStatus),
    /// Refused sessions and commands (`REJECT` events).
    Refused,
}

impl SecurityFilter {
    pub const ALL: [SecurityFilter; 5] = [
        SecurityFilter::Any,
        SecurityFilter::Is(SecurityStatus::DomainSecure),
        SecurityFilter::Is(SecurityStatus::Encrypted),
        SecurityFilter::Is(SecurityStatus::Plaintext),
        SecurityFilter::Refused,
    ];

    pub fn label(self) -> &'static str {
        match self {
            SecurityFilter::Any => "Any",
            SecurityFilter::Is(s) => s.label(),
            SecurityFilter::Refused => "Refused",
        }
    }
}

pub struct TrackingView {
    pub sender: String,
    pub recipient: String,
    pub message_id: String,
    /// Our internal id of one message (opened from the queue viewer).
    pub internal_id: String,
    pub security: SecurityFilter,
    pub since: Since,
    pub filter: String,
    pub column: TrackColumn,
    pub ascending: bool,
    pub set: Option<Arc<TrackingSet>>,
    pub order: Option<Arc<Vec<u32>>>,
    pub selected: Option<String>,
    pub history: Option<(String, Result<Vec<TrackingEvent>, String>)>,
    pub export_path: String,
    /// The first search was made (the page searches once when first shown).
    pub searched: bool,
    /// The relay's message counters at the last search, and when it was made (unix ms): a
    /// change searches again, at most every [`REFRESH_EVERY_MS`].
    pub counted: u64,
    pub refreshed_at: i64,
    /// The search last made (refreshed as it was, whatever is typed since).
    pub last_query: Option<TrackingQuery>,
    /// Ctrl+F was pressed: the Sender field takes the keyboard at the next frame.
    pub focus_search: bool,
}

/// How often the list refreshes itself at most while mail flows.
pub const REFRESH_EVERY_MS: i64 = 2_000;

impl Default for TrackingView {
    fn default() -> Self {
        TrackingView {
            sender: String::new(),
            recipient: String::new(),
            message_id: String::new(),
            internal_id: String::new(),
            security: SecurityFilter::Any,
            since: Since::default(),
            filter: String::new(),
            column: TrackColumn::Time,
            ascending: false,
            set: None,
            order: None,
            selected: None,
            history: None,
            export_path: String::new(),
            searched: false,
            counted: 0,
            refreshed_at: 0,
            last_query: None,
            focus_search: false,
        }
    }
}

impl TrackingView {
    pub fn on_result(&mut self, set: Arc<TrackingSet>) {
        self.set = Some(set);
    }

    pub fn on_order(&mut self, order: Arc<Vec<u32>>) {
        self.order = Some(order);
    }

    pub fn on_history(&mut self, id: String, r: Result<Vec<TrackingEvent>, String>) {
        if self.selected.as_deref() == Some(id.as_str()) {
            self.history = Some((id, r));
        }
    }

    pub fn sort_action(&self) -> Action {
        Action::TrackSort {
            column: self.column,
            ascending: self.ascending,
            filter: self.filter.clone(),
        }
    }

    /// The search as typed.
    pub fn query(&self, now_ms: i64) -> TrackingQuery {
        let t = |s: &str| {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_string())
        };
        TrackingQuery {
            sender: t(&self.sender),
            recipient: t(&self.recipient),
            message_id: t(&self.message_id),
            internal_id: t(&self.internal_id),
            since: self.since.ms().map(|d| now_ms - d),
            security: match self.security {
                SecurityFilter::Is(s) => Some(s),
                _ => None,
            },
            kind: (self.security == SecurityFilter::Refused).then_some(EventKind::Reject),
            limit: Some(CONSOLE_LIMIT),
            ..Default::default()
        }
    }
}

/// Most events one search loads into the console (the newest first): about 100 000 messages.
pub const CONSOLE_LIMIT: usize = 250_000;

/// Everything the relay counted that adds tracking events.
pub fn counted_of(c: &crate::engine::monitor::Counters) -> u64 {
    c.received + c.sent + c.delivered_local + c.deferred + c.failed + c.rejected
}

fn counted(cx: &Cx) -> u64 {
    counted_of(&cx.live.snapshot.counters)
}

pub fn message_tracking_page(ui: &mut Ui, v: &mut TrackingView, cx: &mut Cx) {
    if !v.searched {
        v.searched = true;
        v.counted = counted(cx);
        v.refreshed_at = cx.now_ms;
        let q = v.query(cx.now_ms);
        v.last_query = Some(q.clone());
        cx.push(Action::TrackSearch(Box::new(q)));
    } else if counted(cx) != v.counted
        && cx.now_ms - v.refreshed_at >= REFRESH_EVERY_MS
        && !cx.busy(FORM)
    {
        // Mail moved since the last search: the same search again, so new messages and
        // refusals appear by themselves.
        v.counted = counted(cx);
        v.refreshed_at = cx.now_ms;
        let q = v.last_query.clone().unwrap_or_else(|| v.query(cx.now_ms));
        cx.push(Action::TrackRefresh(Box::new(q)));
    }
    widgets::page_header(
        ui,
        "Message tracking",
        "Every message with its security: Domain Secure (mutual TLS, partner authenticated), Encrypted (TLS), Plaintext; and every refused session or command with why. Select one to see each hop's evidence.",
    );
    cx.feedback(ui, FORM);
    widgets::card(ui, |ui| {
        ui.set_width(ui.available_width());
        // Enter in a search field searches.
        let mut enter = false;
        ui.horizontal_wrapped(|ui| {
            let mut text = |ui: &mut Ui, label: &str, value: &mut String, hint: &str| {
                let l = ui.label(label);
                let r = ui
                    .add(
                        // A fixed id: the field keeps the keyboard when a banner above it
                        // (a search working) comes or goes.
                        egui::TextEdit::singleline(value)
                            .id_salt(("tracking-search", label))
                            .hint_text(hint)
                            .desired_width(170.0),
                    )
                    .labelled_by(l.id);
                enter |= r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                r
            };
            let sender = text(ui, "Sender", &mut v.sender, "alice@ or <>");
            if std::mem::take(&mut v.focus_search) {
                sender.request_focus();
            }
            text(ui, "Recipient", &mut v.recipient, "bob@woodgrove");
            text(ui, "Message-ID", &mut v.message_id, "<id@host>");
            if !v.internal_id.is_empty() {
                text(ui, "Internal id", &mut v.internal_id, "");
            }
        });
        ui.horizontal_wrapped(|ui| {
            let l = ui.label("Security");
            egui::ComboBox::from_id_salt("track-security")
                .selected_text(v.security.label())
                .show_ui(ui, |ui| {
                    for s in SecurityFilter::ALL {
                        ui.selectable_value(&mut v.security, s, s.label());
                    }
                })
                .response
                .labelled_by(l.id);
            let l = ui.label("When");
            egui::ComboBox::from_id_salt("track-since")
                .selected_text(v.since.label())
                .show_ui(ui, |ui| {
                    for s in [Since::Hour, Since::Day, Since::Week, Since::All] {
                        ui.selectable_value(&mut v.since, s, s.label());
                    }
                })
                .response
                .labelled_by(l.id);
            if (widgets::primary_button(ui, "🔍 Search", !cx.busy(FORM)).clicked() || enter)
                && !cx.busy(FORM)
            {
                let q = v.query(cx.now_ms);
                v.last_query = Some(q.clone());
                cx.push(Action::TrackSearch(Box::new(q)));
            }
        });
    });
    ui.add_space(8.0);
    let Some(set) = v.set.clone() else {
        if cx.busy(FORM) {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Searching…");
            });
        }
        return;
    };
    let order = v.order.clone();
    ui.horizontal(|ui| {
        let l = ui.label("Quick filter");
        let r = ui
            .add(
                egui::TextEdit::singleline(&mut v.filter)
                    .hint_text("any part of sender, recipients, subject, id")
                    .desired_width(260.0),
            )
            .labelled_by(l.id);
        if r.changed() {
            cx.push(v.sort_action());
        }
        let shown = order.as_ref().map(|o| o.len()).unwrap_or(0);
        ui.label(
            RichText::new(format!(
                "{shown} of {} message{} ({} event{}){}",
                set.rows.len(),
                if set.rows.len() == 1 { "" } else { "s" },
                set.events,
                if set.events == 1 { "" } else { "s" },
                if set.truncated {
                    format!(" — only the newest {MAX_EVENTS} events were read: narrow the search")
                } else {
                    String::new()
                }
            ))
            .color(muted()),
        );
    });
    ui.horizontal(|ui| {
        let l = ui.label("Export to");
        ui.add(
            egui::TextEdit::singleline(&mut v.export_path)
                .hint_text("/path/to/messages.csv")
                .desired_width(260.0),
        )
        .labelled_by(l.id);
        if ui
            .add_enabled(
                !v.export_path.trim().is_empty(),
                egui::Button::new("Export CSV"),
            )
            .clicked()
        {
            cx.push(Action::TrackExport(v.export_path.trim().into()));
        }
        if ui
            .button("Export CSV…")
            .on_hover_text("Choose where to save the CSV file")
            .clicked()
        {
            cx.push(Action::Pick {
                target: PickTarget::TrackingCsv,
                save: true,
                file_name: "message-tracking.csv".into(),
            });
        }
    });
    ui.add_space(4.0);
    if set.rows.is_empty() {
        widgets::note(
            ui,
            theme::info(),
            "ℹ",
            "No message matches. Messages appear here as soon as the relay receives them.",
        );
        return;
    }
    let mut sort = None;
    let empty = Vec::new();
    let order: &[u32] = order.as_ref().map(|o| o.as_slice()).unwrap_or(&empty);
    // Only on an arrow key: the order may hold 100 000 messages.
    let arrowed = widgets::arrow_selection(
        ui,
        || {
            order
                .iter()
                .filter_map(|&i| set.rows.get(i as usize).map(|r| r.internal_id.as_str()))
                .collect()
        },
        v.selected.as_deref().as_ref(),
    );
    let mut select = arrowed.map(|(_, id)| id.to_string());
    let scroll_to = arrowed.map(|(i, _)| i);
    // At the console's default size (1280 px) every column fits beside the details, the
    // security badge included.
    widgets::split_right(
        ui,
        360.0,
        |ui| {
            // The security badge comes right after the time: it is what this page is for.
            let mut table = widgets::table(ui, "tracking");
            if let Some(i) = scroll_to {
                table = table.scroll_to_row(i, None);
            }
            table
                .column(Column::exact(128.0))
                .column(Column::exact(126.0))
                .column(Column::initial(108.0).clip(true))
                .column(Column::initial(108.0).clip(true))
                .column(Column::remainder().at_least(60.0).clip(true))
                .column(Column::exact(74.0))
                .header(24.0, |mut h| {
                    for (col, title) in [
                        (TrackColumn::Time, "Time (UTC)"),
                        (TrackColumn::Security, "Security"),
                        (TrackColumn::Sender, "Sender"),
                        (TrackColumn::Recipients, "Recipients"),
                        (TrackColumn::Subject, "Subject"),
                        (TrackColumn::Status, "Status"),
                    ] {
                        h.col(|ui| {
                            let sorted = (v.column == col).then_some(v.ascending);
                            if widgets::sort_header(ui, title, sorted) {
                                sort = Some(col);
                            }
                        });
                    }
                })
                .body(|body| {
                    body.rows(26.0, order.len(), |mut row| {
                        let Some(r) = order
                            .get(row.index())
                            .and_then(|&i| set.rows.get(i as usize))
                        else {
                            return;
                        };
                        row.set_selected(v.selected.as_deref() == Some(r.internal_id.as_str()));
                        row.col(|ui| {
                            ui.label(&r.time_text);
                        });
                        row.col(|ui| {
                            widgets::security_badge(ui, r.security);
                        });
                        row.col(|ui| {
                            ui.label(&r.sender);
                        });
                        row.col(|ui| {
                            ui.label(&r.recipients);
                        });
                        row.col(|ui| {
                            ui.label(&r.subject);
                        });
                        row.col(|ui| {
                            ui.label(RichText::new(r.status).color(status_color(r.status)));
                        });
                        if row.response().clicked() {
                            select = Some(r.internal_id.clone());
                        }
                    });
                });
        },
        |ui| widgets::side_panel(ui, |ui| message_details(ui, v, &set, cx)),
    );
    if let Some(col) = sort {
        if v.column == col {
            v.ascending = !v.ascending;
        } else {
            v.column = col;
            v.ascending = col != TrackColumn::Time;
        }
        cx.push(v.sort_action());
    }
    if let Some(id) = select
        && v.selected.as_deref() != Some(id.as_str())
    {
        v.selected = Some(id.clone());
        v.history = None;
        cx.push(Action::TrackHistory(id));
    }
}

fn status_color(s: &str) -> egui::Color32 {
    match s {
        "Delivered" | "Sent" => good(),
        "Deferred" | "Queued" => warn(),
        "Failed" | "Refused" => bad(),
        _ => muted(),
    }
}

fn message_details(ui: &mut Ui, v: &TrackingView, set: &TrackingSet, cx: &mut Cx) {
    let Some(id) = &v.selected else {
        ui.label(RichText::new("Select a message to see its hops.").color(muted()));
        return;
    };
    let Some(row) = set.rows.iter().find(|r| &r.internal_id == id) else {
        return;
    };
    egui::ScrollArea::vertical()
        .id_salt("tracking-details-scroll")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(
                    RichText::new(if row.subject.is_empty() {
                        "(no subject)"
                    } else {
                        &row.subject
                    })
                    .strong()
                    .size(16.0),
                );
            });
            widgets::security_badge(ui, row.security);
            ui.add_space(4.0);
            if row.status == "Refused" {
                refusal_details(ui, v, row, cx);
                return;
            }
            widgets::property_grid(
                ui,
                "msg-props",
                &[
                    ("From", row.sender.clone()),
                    ("To", row.recipients.clone()),
                    (
                        "Message-ID",
                        if row.message_id.is_empty() {
                            "—".into()
                        } else {
                            row.message_id.clone()
                        },
                    ),
                    ("Internal id", row.internal_id.clone()),
                    ("Policy (in » out)", row.policy.clone()),
                ],
            );
            widgets::section(ui, "Hops");
            match &v.history {
                None => loading(ui),
                Some((_, Err(e))) => {
                    widgets::note(ui, bad(), "✖", e);
                }
                Some((_, Ok(events))) => {
                    for e in events {
                        hop_card(ui, e, cx);
                        ui.add_space(6.0);
                    }
                }
            }
        });
}

fn loading(ui: &mut Ui) {
    ui.horizontal(|ui| {
        ui.spinner();
        ui.label("Loading the message's events…");
    });
}

/// A refusal: why first (the checks in order, the failed one with what would change it), then
/// the evidence of the session.
fn refusal_details(ui: &mut Ui, v: &TrackingView, row: &MessageRow, cx: &mut Cx) {
    match &v.history {
        None => loading(ui),
        Some((_, Err(e))) => {
            widgets::note(ui, bad(), "✖", e);
        }
        Some((_, Ok(events))) => {
            for e in events {
                if !e.why.is_empty() {
                    widgets::section(ui, "Why");
                    widgets::decision_steps(ui, "why", &e.why);
                }
                widgets::section(ui, "Evidence");
                hop_card(ui, e, cx);
            }
        }
    }
    ui.add_space(4.0);
    ui.label(RichText::new(format!("Refusal id {}", row.internal_id)).color(muted()));
}

fn kind_text(k: EventKind) -> &'static str {
    match k {
        EventKind::Receive => "Received",
        EventKind::Send => "Sent to the next hop",
        EventKind::Deliver => "Delivered to a mailbox",
        EventKind::Defer => "Deferred",
        EventKind::Fail => "Failed",
        EventKind::Dsn => "Notification generated",
        EventKind::Quarantine => "Quarantined (damaged in the queue)",
        EventKind::Release => "Released from quarantine",
        EventKind::Reject => "Refused",
    }
}

fn hop_card(ui: &mut Ui, e: &TrackingEvent, cx: &mut Cx) {
    widgets::card(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal(|ui| {
            let title = RichText::new(kind_text(e.kind)).strong();
            ui.label(if e.kind == EventKind::Reject {
                title.color(bad())
            } else {
                title
            });
            ui.label(RichText::new(format::time_ms(e.time)).color(muted()));
        });
        widgets::security_badge(ui, e.security);
        let refused = e.kind == EventKind::Reject;
        let mut rows: Vec<(&str, String)> = Vec::new();
        if let Some(c) = &e.connector {
            rows.push(("Connector", c.clone()));
        }
        match (&e.client, &e.server) {
            (Some(c), Some(s)) => rows.push(("Connection", format!("{c}  »  {s}"))),
            (Some(c), None) => rows.push(("Client", c.clone())),
            (None, Some(s)) => rows.push(("Server", s.clone())),
            _ => {}
        }
        if let Some(h) = &e.helo {
            rows.push(("EHLO name", h.clone()));
        }
        if refused {
            rows.push((
                "Sender",
                if e.sender.is_empty() {
                    "— (no MAIL FROM yet)".into()
                } else {
                    e.sender.clone()
                },
            ));
            if !e.recipients.is_empty() {
                rows.push(("Recipients", e.recipients.join(", ")));
            }
        }
        match &e.tls {
            None => rows.push(("TLS", "none (plaintext)".into())),
            Some(t) => tls_rows(&mut rows, t),
        }
        if let Some(r) = &e.response {
            rows.push((
                if refused {
                    "Reply given"
                } else {
                    "SMTP response"
                },
                r.clone(),
            ));
        }
        if let Some(d) = &e.detail {
            if refused {
                rows.push(("Refused", d.clone()));
            } else {
                rows.push(("Policy", crate::policy::classify::hop_policy_text(d)));
                rows.push(("Policy and evidence", d.clone()));
            }
        }
        if let Some(s) = &e.session {
            rows.push(("Session", s.clone()));
        }
        widgets::property_grid(ui, &format!("hop-{}-{}", e.time, e.kind), &rows);
        if let Some(session) = &e.session
            && let Some(a) = widgets::protocol_log_button(
                ui,
                "📃 Protocol log of this session",
                log_direction(e.kind),
                e.time,
                session,
            )
        {
            cx.push(a);
        }
    });
}

fn tls_rows(rows: &mut Vec<(&str, String)>, t: &TlsFacts) {
    rows.push((
        "TLS",
        format!("{} with {} ({} bits)", t.version, t.cipher, t.cipher_bits),
    ));
    if let Some(k) = &t.key_exchange {
        rows.push(("Key exchange", k.clone()));
    }
    rows.push((
        "Peer trust",
        match &t.trust_detail {
            Some(d) => format!("{} — {d}", t.trust),
            None => t.trust.to_string(),
        },
    ));
    if let Some(c) = &t.peer_certificate {
        rows.push(("Peer certificate", c.subject.clone()));
        rows.push(("Issued by", c.issuer.clone()));
        rows.push(("Thumbprint", c.thumbprint.clone()));
        if !c.names.is_empty() {
            rows.push(("Names", c.names.join(", ")));
        }
    }
}

/// Which protocol log holds an event's session: a delivery's (sent, deferred or failed by our
/// outbound session) is in SmtpSend, a receipt's or refusal's in SmtpReceive.
pub fn log_direction(kind: EventKind) -> LogDirection {
    match kind {
        EventKind::Send | EventKind::Defer | EventKind::Fail => LogDirection::Send,
        _ => LogDirection::Receive,
    }
}

/// The protocol log day (`YYYYMMDD`, UTC) of a time in unix milliseconds.
pub fn log_day(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!("{:04}{:02}{:02}", t.year(), u8::from(t.month()), t.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deferral or failure of a delivery carries our outbound session: its lines are in
    /// SmtpSend, not SmtpReceive.
    #[test]
    fn an_events_session_is_looked_up_in_the_right_log() {
        for kind in [EventKind::Send, EventKind::Defer, EventKind::Fail] {
            assert_eq!(log_direction(kind), LogDirection::Send, "{kind:?}");
        }
        for kind in [EventKind::Receive, EventKind::Reject, EventKind::Deliver] {
            assert_eq!(log_direction(kind), LogDirection::Receive, "{kind:?}");
        }
    }
}
