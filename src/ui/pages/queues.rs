//! Toolbox › Queue viewer: the relay's queues by next hop (status, messages, next retry, last
//! error) from its live snapshot, and the messages of the selected queue (asked of the relay,
//! answered through a channel). Retry, suspend, resume, and remove with or without an NDR,
//! each after a confirmation where it loses mail. Below them, the quarantine: messages found
//! damaged in the queue, each with its reason, and Release to put one back.

use super::Cx;
use crate::engine::{MessageRowOut, QuarantineRow, QueueOp};
use crate::ui::app::actions::{Action, Form, QueuePurpose};
use crate::ui::widgets::format;
use crate::ui::widgets::theme::{bad, good, muted, warn};
use crate::ui::widgets::{self, Answer};
use egui::{RichText, Ui};
use egui_extras::Column;

const FORM: Form = Form::Queues;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Removal {
    target: String,
    what: String,
    ndr: bool,
}

#[derive(Default)]
pub struct QueuesView {
    pub selected_queue: Option<String>,
    pub messages: Vec<MessageRowOut>,
    pub selected_message: Option<String>,
    loaded_for: Option<String>,
    confirm: Option<Removal>,
    pub quarantine: Vec<QuarantineRow>,
    pub selected_quarantined: Option<String>,
    quarantine_asked: bool,
    /// The header section of a queued message, as read from the spool: (id, text).
    pub headers: Option<(String, String)>,
    /// The message list's sort (a header clicked).
    pub sort: Option<widgets::Sort>,
    /// The queue list's and the quarantine's sorts.
    pub queue_sort: Option<widgets::Sort>,
    pub quarantine_sort: Option<widgets::Sort>,
}

impl QueuesView {
    pub fn set_messages(&mut self, rows: Vec<MessageRowOut>) {
        if self
            .selected_message
            .as_ref()
            .is_some_and(|id| !rows.iter().any(|m| &m.id == id))
        {
            self.selected_message = None;
        }
        self.messages = rows;
    }

    pub fn set_quarantine(&mut self, rows: Vec<QuarantineRow>) {
        if self
            .selected_quarantined
            .as_ref()
            .is_some_and(|n| !rows.iter().any(|q| &q.name == n))
        {
            self.selected_quarantined = None;
        }
        self.quarantine = rows;
    }

    /// The operation that reloads the messages shown.
    pub fn refresh_op(&self) -> Option<QueueOp> {
        self.selected_queue.as_ref().map(|q| QueueOp::Messages {
            queue: Some(q.clone()),
        })
    }
}

fn status_color(s: &str) -> egui::Color32 {
    let s = s.to_ascii_lowercase();
    if s.contains("retry") || s.contains("suspend") {
        warn()
    } else if s.contains("error") || s.contains("fail") {
        bad()
    } else if s.contains("active") || s.contains("ready") {
        good()
    } else {
        muted()
    }
}

pub fn queue_viewer_page(ui: &mut Ui, v: &mut QueuesView, cx: &mut Cx) {
    widgets::page_header(
        ui,
        "Queue viewer",
        "Messages waiting for their next hop. Mail for a Domain Secure partner waits here, never downgraded, until mutual TLS succeeds.",
    );
    if let Some(why) = cx.relay_reason {
        widgets::note(
            ui,
            bad(),
            "⚠",
            &crate::ui::app::jobs::sentence(&format!(
                "The relay is not running, so there are no live queues: {why}"
            )),
        );
        return;
    }
    cx.feedback(ui, FORM);
    if !v.quarantine_asked {
        v.quarantine_asked = true;
        cx.push(Action::Queue {
            op: QueueOp::Quarantined,
            purpose: QueuePurpose::Quarantine,
        });
    }
    let all = &cx.live.snapshot.queues;
    let queues: Vec<_> = widgets::sorted_order(all, v.queue_sort, |q, c| match c {
        0 => widgets::SortKey::text(&q.name),
        1 => widgets::SortKey::text(&q.status),
        2 => widgets::SortKey::Number(q.messages as i64),
        3 => widgets::SortKey::Number(q.next_retry.unwrap_or(i64::MAX)),
        4 => widgets::SortKey::text(q.policy.as_deref().unwrap_or("")),
        _ => widgets::SortKey::text(q.last_error.as_deref().unwrap_or("")),
    })
    .into_iter()
    .map(|i| all[i].clone())
    .collect();
    if v.selected_queue.is_some() && v.loaded_for != v.selected_queue {
        v.loaded_for = v.selected_queue.clone();
        if let Some(op) = v.refresh_op() {
            cx.push(Action::Queue {
                op,
                purpose: QueuePurpose::Messages,
            });
        }
    }
    let sel_queue = v.selected_queue.clone();
    ui.horizontal(|ui| {
        let has = sel_queue.is_some();
        let mut op = |ui: &mut Ui, label: &str, make: &dyn Fn(String) -> QueueOp| {
            if ui.add_enabled(has, egui::Button::new(label)).clicked()
                && let Some(q) = &sel_queue
            {
                cx.push(Action::Queue {
                    op: make(q.clone()),
                    purpose: QueuePurpose::Command,
                });
            }
        };
        op(ui, "⟳ Retry now", &|q| QueueOp::Retry { queue: q });
        op(ui, "⏸ Suspend", &|q| QueueOp::Suspend { target: q });
        op(ui, "▶ Resume", &|q| QueueOp::Resume { target: q });
        if ui
            .add_enabled(has, egui::Button::new("🗑 Remove messages…"))
            .clicked()
            && let Some(q) = &sel_queue
        {
            v.confirm = Some(Removal {
                target: q.clone(),
                what: format!("every message in queue '{q}'"),
                ndr: true,
            });
        }
        let n = cx.live.snapshot.queued_messages;
        ui.label(
            RichText::new(format!(
                "{n} message{} queued",
                if n == 1 { "" } else { "s" }
            ))
            .color(muted()),
        );
    });
    ui.add_space(4.0);
    let mut clicked = None;
    let mut resort = None;
    ui.push_id("queues-table", |ui| {
        widgets::table(ui, "queues")
            .column(Column::initial(200.0).clip(true))
            .column(Column::initial(70.0))
            .column(Column::initial(75.0))
            .column(Column::initial(140.0))
            .column(Column::initial(250.0).clip(true))
            .column(Column::remainder().clip(true))
            .max_scroll_height(200.0)
            .header(24.0, |mut h| {
                resort = widgets::sort_headers(
                    &mut h,
                    &[
                        "Next hop",
                        "Status",
                        "Messages",
                        "Next retry",
                        "Policy",
                        "Last error (why it waits)",
                    ],
                    v.queue_sort,
                );
            })
            .body(|body| {
                body.rows(26.0, queues.len(), |mut row| {
                    let q = &queues[row.index()];
                    row.set_selected(v.selected_queue.as_deref() == Some(q.name.as_str()));
                    row.col(|ui| {
                        ui.label(RichText::new(&q.name).strong());
                    });
                    row.col(|ui| {
                        ui.label(RichText::new(&q.status).color(status_color(&q.status)));
                    });
                    row.col(|ui| {
                        ui.label(q.messages.to_string());
                    });
                    row.col(|ui| {
                        ui.label(
                            q.next_retry
                                .map(format::time_ms)
                                .unwrap_or_else(|| "—".into()),
                        );
                    });
                    row.col(|ui| {
                        match &q.policy {
                            Some(p) => ui.label(p.as_str()).on_hover_text(p.as_str()),
                            None => ui.label(RichText::new("—").color(muted())),
                        };
                    });
                    row.col(|ui| {
                        match &q.last_error {
                            Some(e) => ui
                                .label(RichText::new(e).color(bad()))
                                .on_hover_text(e.as_str()),
                            None => ui.label(RichText::new("—").color(muted())),
                        };
                    });
                    if row.response().clicked() {
                        clicked = Some(q.name.clone());
                    }
                });
            });
    });
    if queues.is_empty() {
        widgets::note(
            ui,
            good(),
            "✔",
            "The queues are empty: every message has been delivered.",
        );
    }
    if let Some(q) = clicked {
        v.selected_queue = Some(q);
        v.selected_message = None;
        v.messages.clear();
    }
    if resort.is_some() {
        v.queue_sort = resort;
    }
    if let Some(q) = v.selected_queue.clone() {
        widgets::section(ui, &format!("Messages in '{q}'"));
        let sel_msg = v.selected_message.clone();
        ui.horizontal(|ui| {
            let has = sel_msg.is_some();
            if ui
                .add_enabled(has, egui::Button::new("⏸ Suspend message"))
                .clicked()
                && let Some(id) = &sel_msg
            {
                cx.push(Action::Queue {
                    op: QueueOp::Suspend { target: id.clone() },
                    purpose: QueuePurpose::Command,
                });
            }
            if ui
                .add_enabled(has, egui::Button::new("▶ Resume message"))
                .clicked()
                && let Some(id) = &sel_msg
            {
                cx.push(Action::Queue {
                    op: QueueOp::Resume { target: id.clone() },
                    purpose: QueuePurpose::Command,
                });
            }
            if ui
                .add_enabled(has, egui::Button::new("🗑 Remove with NDR…"))
                .clicked()
                && let Some(id) = &sel_msg
            {
                v.confirm = Some(Removal {
                    target: id.clone(),
                    what: format!("message {id}"),
                    ndr: true,
                });
            }
            if ui
                .add_enabled(has, egui::Button::new("🗑 Remove without NDR…"))
                .clicked()
                && let Some(id) = &sel_msg
            {
                v.confirm = Some(Removal {
                    target: id.clone(),
                    what: format!("message {id}"),
                    ndr: false,
                });
            }
            if ui
                .add_enabled(has, egui::Button::new("🔍 Track this message"))
                .on_hover_text(
                    "Its events in message tracking: every hop, its TLS and why it waits",
                )
                .clicked()
                && let Some(id) = &sel_msg
            {
                cx.push(Action::TrackMessage(id.clone()));
            }
            if ui
                .add_enabled(has, egui::Button::new("📄 Headers"))
                .on_hover_text("The message's header section, as queued")
                .clicked()
                && let Some(id) = &sel_msg
            {
                cx.push(Action::Queue {
                    op: crate::engine::QueueOp::Headers { id: id.clone() },
                    purpose: QueuePurpose::Messages,
                });
            }
            if ui.button("Refresh").clicked()
                && let Some(op) = v.refresh_op()
            {
                cx.push(Action::Queue {
                    op,
                    purpose: QueuePurpose::Messages,
                });
            }
        });
        let order = widgets::sorted_order(&v.messages, v.sort, |m, column| match column {
            0 => widgets::SortKey::text(&m.sender),
            1 => widgets::SortKey::text(m.recipients.first().map_or("", |(a, _)| a.as_str())),
            2 => widgets::SortKey::text(m.subject.as_deref().unwrap_or("")),
            3 => widgets::SortKey::Number(i64::try_from(m.size).unwrap_or(i64::MAX)),
            4 => widgets::SortKey::text(&m.status),
            5 => widgets::SortKey::Number(i64::from(m.attempts)),
            6 => widgets::SortKey::Number(m.next_attempt),
            _ => widgets::SortKey::text(m.last_error.as_deref().unwrap_or("")),
        });
        let msgs: Vec<&MessageRowOut> = order.iter().map(|&i| &v.messages[i]).collect();
        let arrowed = widgets::arrow_selection(
            ui,
            || msgs.iter().map(|m| m.id.clone()).collect(),
            sel_msg.as_ref(),
        );
        let mut clicked_msg = arrowed.as_ref().map(|(_, id)| id.clone());
        let mut resort = None;
        ui.push_id("messages-table", |ui| {
            let mut table = widgets::table(ui, "queue-messages");
            if let Some((i, _)) = &arrowed {
                table = table.scroll_to_row(*i, None);
            }
            table
                .column(Column::initial(170.0).clip(true))
                .column(Column::initial(170.0).clip(true))
                .column(Column::initial(170.0).clip(true))
                .column(Column::initial(70.0))
                .column(Column::initial(90.0))
                .column(Column::initial(60.0))
                .column(Column::initial(140.0))
                .column(Column::remainder().clip(true))
                .header(24.0, |mut h| {
                    resort = widgets::sort_headers(
                        &mut h,
                        &[
                            "Sender",
                            "Recipients",
                            "Subject",
                            "Size",
                            "Status",
                            "Tries",
                            "Next attempt",
                            "Last error",
                        ],
                        v.sort,
                    );
                })
                .body(|body| {
                    body.rows(26.0, msgs.len(), |mut row| {
                        let Some(m) = msgs.get(row.index()) else {
                            return;
                        };
                        row.set_selected(sel_msg.as_deref() == Some(m.id.as_str()));
                        row.col(|ui| {
                            ui.label(if m.sender.is_empty() { "<>" } else { &m.sender });
                        });
                        row.col(|ui| {
                            ui.label(
                                m.recipients
                                    .iter()
                                    .map(|(a, _)| a.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", "),
                            );
                        });
                        row.col(|ui| {
                            ui.label(m.subject.as_deref().unwrap_or(""));
                        });
                        row.col(|ui| {
                            ui.label(format::bytes(m.size));
                        });
                        row.col(|ui| {
                            ui.label(RichText::new(&m.status).color(status_color(&m.status)));
                        });
                        row.col(|ui| {
                            ui.label(m.attempts.to_string());
                        });
                        row.col(|ui| {
                            ui.label(format::time_ms(m.next_attempt));
                        });
                        row.col(|ui| {
                            if let Some(e) = &m.last_error {
                                ui.label(RichText::new(e).color(bad()))
                                    .on_hover_text(e.as_str());
                            }
                        });
                        if row.response().clicked() {
                            clicked_msg = Some(m.id.clone());
                        }
                    });
                });
        });
        if let Some(id) = clicked_msg {
            v.selected_message = Some(id);
        }
        if resort.is_some() {
            v.sort = resort;
        }
        // The selected message's last error in full (the column cuts it).
        if let Some(m) = sel_msg
            .as_deref()
            .and_then(|id| msgs.iter().find(|m| m.id == id))
            && let Some(e) = &m.last_error
        {
            ui.add_space(4.0);
            widgets::note(ui, bad(), "✖", &format!("Last error of {}: {e}", m.id));
        }
        // Its headers, when asked for (for the selected message only).
        let mut close = false;
        if let Some((id, text)) = &v.headers
            && sel_msg.as_deref() == Some(id.as_str())
        {
            ui.add_space(4.0);
            ui.horizontal(|ui| {
                ui.label(RichText::new(format!("Headers of {id}")).strong());
                close = ui.small_button("Close").clicked();
            });
            egui::ScrollArea::vertical()
                .id_salt("queue-headers")
                .max_height(220.0)
                .show(ui, |ui| widgets::code_block(ui, text));
        }
        if close {
            v.headers = None;
        }
    }
    quarantine_section(ui, v, cx);
    if let Some(r) = v.confirm.clone() {
        let detail = if r.ndr {
            "The senders get a non-delivery report. The messages cannot be recovered."
        } else {
            "The messages are deleted silently: no one is told. They cannot be recovered."
        };
        match widgets::confirm_danger(
            ui,
            "queue-remove",
            &format!("Remove {}?", r.what),
            detail,
            "Remove",
        ) {
            Some(Answer::Yes) => {
                cx.push(Action::Queue {
                    op: QueueOp::Remove {
                        target: r.target,
                        ndr: r.ndr,
                    },
                    purpose: QueuePurpose::Command,
                });
                v.confirm = None;
            }
            Some(Answer::No) => v.confirm = None,
            None => {}
        }
    }
}

/// The quarantine: what was set aside, why, and Release.
fn quarantine_section(ui: &mut Ui, v: &mut QueuesView, cx: &mut Cx) {
    widgets::section(ui, &format!("Quarantine ({})", v.quarantine.len()));
    ui.label(
        RichText::new(
            "Messages found damaged in the queue are set aside here with the reason, never deleted. Release puts one back into the queue; a message that is still damaged comes back here.",
        )
        .color(muted()),
    );
    let sel = v.selected_quarantined.clone();
    ui.horizontal(|ui| {
        let releasable = sel.as_ref().is_some_and(|n| {
            v.quarantine
                .iter()
                .any(|q| &q.name == n && q.sender.is_some())
        });
        if ui
            .add_enabled(releasable, egui::Button::new("↩ Release to the queue"))
            .on_disabled_hover_text("Select a quarantined message whose envelope can be read")
            .clicked()
            && let Some(name) = &sel
        {
            cx.push(Action::Queue {
                op: QueueOp::Release { name: name.clone() },
                purpose: QueuePurpose::Command,
            });
        }
        if ui.button("Refresh quarantine").clicked() {
            cx.push(Action::Queue {
                op: QueueOp::Quarantined,
                purpose: QueuePurpose::Quarantine,
            });
        }
    });
    if v.quarantine.is_empty() {
        widgets::note(ui, good(), "✔", "The quarantine is empty.");
        return;
    }
    let order = widgets::sorted_order(&v.quarantine, v.quarantine_sort, |q, c| match c {
        0 => widgets::SortKey::Number(q.since),
        1 => widgets::SortKey::text(q.sender.as_deref().unwrap_or("")),
        2 => widgets::SortKey::text(q.subject.as_deref().unwrap_or("")),
        3 => widgets::SortKey::Number(i64::try_from(q.size).unwrap_or(i64::MAX)),
        _ => widgets::SortKey::text(&q.reason),
    });
    let rows: Vec<&QuarantineRow> = order.iter().map(|&i| &v.quarantine[i]).collect();
    let mut clicked = None;
    let mut resort = None;
    ui.push_id("quarantine-table", |ui| {
        widgets::table(ui, "quarantine")
            .column(Column::initial(150.0))
            .column(Column::initial(170.0).clip(true))
            .column(Column::initial(170.0).clip(true))
            .column(Column::initial(70.0))
            .column(Column::remainder().clip(true))
            .max_scroll_height(180.0)
            .header(24.0, |mut h| {
                resort = widgets::sort_headers(
                    &mut h,
                    &["Quarantined", "Sender", "Subject", "Size", "Reason"],
                    v.quarantine_sort,
                );
            })
            .body(|body| {
                body.rows(26.0, rows.len(), |mut row| {
                    let Some(q) = rows.get(row.index()) else {
                        return;
                    };
                    row.set_selected(sel.as_deref() == Some(q.name.as_str()));
                    row.col(|ui| {
                        ui.label(format::time_ms(q.since));
                    });
                    row.col(|ui| {
                        match q.sender.as_deref() {
                            Some("") => ui.label("<>"),
                            Some(s) => ui.label(s),
                            None => ui.label(RichText::new("(envelope unreadable)").color(muted())),
                        };
                    });
                    row.col(|ui| {
                        ui.label(q.subject.as_deref().unwrap_or(""));
                    });
                    row.col(|ui| {
                        ui.label(format::bytes(q.size));
                    });
                    row.col(|ui| {
                        ui.label(RichText::new(&q.reason).color(bad()))
                            .on_hover_text(format!("{}\n{}", q.reason, q.path));
                    });
                    if row.response().clicked() {
                        clicked = Some(q.name.clone());
                    }
                });
            });
    });
    if let Some(n) = clicked {
        v.selected_quarantined = Some(n);
    }
    if resort.is_some() {
        v.quarantine_sort = resort;
    }
}
