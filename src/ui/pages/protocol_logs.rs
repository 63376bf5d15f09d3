//! Toolbox › Protocol logs: the SmtpReceive and SmtpSend logs of a day, read on the query worker
//! and filtered by session id, connector and peer — every line of a session as the relay wrote
//! it. Opened from a tracking event or a live monitor row with its session already filled in.

use super::Cx;
use crate::store::protocol_logs::{LogDay, LogDirection, LogFilter, day_text};
use crate::ui::app::actions::{Action, Form};
use crate::ui::widgets;
use crate::ui::widgets::theme::{self, bad, muted};
use egui::{RichText, Ui};
use egui_extras::Column;
use std::sync::Arc;

const FORM: Form = Form::ProtocolLogs;

/// Lines one read shows at most.
pub const MAX_LINES: usize = 50_000;

#[derive(Default)]
pub struct ProtocolLogView {
    pub direction: LogDirection,
    /// The days kept for `direction` (`YYYYMMDD`, newest first), once read.
    pub days: Option<(LogDirection, Vec<String>)>,
    /// The day shown (`YYYYMMDD`); the newest when blank.
    pub day: String,
    pub filter: LogFilter,
    pub result: Option<Arc<Result<LogDay, String>>>,
    /// A read was asked for and has not come back.
    pub loading: bool,
}

impl ProtocolLogView {
    pub fn on_days(&mut self, direction: LogDirection, days: Vec<String>) {
        if self.day.is_empty()
            && let Some(first) = days.first()
        {
            self.day = first.clone();
        }
        self.days = Some((direction, days));
    }

    pub fn on_result(&mut self, r: Arc<Result<LogDay, String>>) {
        self.result = Some(r);
        self.loading = false;
    }

    /// The read of what is selected now.
    pub fn read_action(&mut self) -> Action {
        self.loading = true;
        Action::ReadProtocolLog {
            direction: self.direction,
            day: self.day.clone(),
            filter: self.filter.clone(),
        }
    }
}

fn direction_label(d: LogDirection) -> &'static str {
    match d {
        LogDirection::Receive => "Receive (SmtpReceive)",
        LogDirection::Send => "Send (SmtpSend)",
    }
}

pub fn protocol_logs_page(ui: &mut Ui, v: &mut ProtocolLogView, cx: &mut Cx) {
    widgets::page_header(
        ui,
        "Protocol logs",
        "Every line of every SMTP session as the relay logged it, by day: commands, replies, TLS and policy decisions. Filter by session id (shown in message tracking and the live monitor), connector or peer.",
    );
    cx.feedback(ui, FORM);
    if v.days.as_ref().map(|(d, _)| *d) != Some(v.direction) {
        v.days = Some((v.direction, Vec::new()));
        cx.push(Action::LoadProtocolLogDays(v.direction));
    }
    let mut read = false;
    widgets::card(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal_wrapped(|ui| {
            let l = ui.label("Log");
            let before = v.direction;
            egui::ComboBox::from_id_salt("protolog-direction")
                .selected_text(direction_label(v.direction))
                .show_ui(ui, |ui| {
                    for d in [LogDirection::Receive, LogDirection::Send] {
                        ui.selectable_value(&mut v.direction, d, direction_label(d));
                    }
                })
                .response
                .labelled_by(l.id);
            if v.direction != before {
                v.day.clear();
            }
            let l = ui.label("Day");
            let days = v.days.as_ref().map(|(_, d)| d.clone()).unwrap_or_default();
            egui::ComboBox::from_id_salt("protolog-day")
                .selected_text(if v.day.is_empty() {
                    "—".to_string()
                } else {
                    day_text(&v.day)
                })
                .show_ui(ui, |ui| {
                    for d in &days {
                        ui.selectable_value(&mut v.day, d.clone(), day_text(d));
                    }
                })
                .response
                .labelled_by(l.id);
        });
        ui.horizontal_wrapped(|ui| {
            let text = |ui: &mut Ui, label: &str, value: &mut String, hint: &str| {
                let l = ui.label(label);
                ui.add(
                    egui::TextEdit::singleline(value)
                        .hint_text(hint)
                        .desired_width(170.0),
                )
                .labelled_by(l.id)
                .lost_focus()
                    && ui.input(|i| i.key_pressed(egui::Key::Enter))
            };
            read |= text(ui, "Session", &mut v.filter.session, "0000000000000012");
            read |= text(ui, "Connector", &mut v.filter.connector, "Default");
            read |= text(ui, "Peer", &mut v.filter.peer, "192.0.2.7");
            if widgets::primary_button(ui, "Show", !v.day.is_empty() && !v.loading).clicked() {
                read = true;
            }
        });
    });
    if read && !v.day.is_empty() {
        let a = v.read_action();
        cx.push(a);
    }
    ui.add_space(8.0);
    if v.days.as_ref().is_some_and(|(_, d)| d.is_empty()) && v.result.is_none() {
        widgets::note(
            ui,
            theme::info(),
            "ℹ",
            "No protocol log of this kind yet: the relay writes one on each day it has sessions, for connectors with protocol logging on.",
        );
        return;
    }
    let Some(result) = v.result.clone() else {
        if v.loading {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Reading the log…");
            });
        }
        return;
    };
    let day = match result.as_ref() {
        Err(e) => {
            widgets::note(ui, bad(), "✖", e);
            return;
        }
        Ok(day) => day,
    };
    ui.label(
        RichText::new(format!(
            "{} line{}{}{}",
            day.rows.len(),
            if day.rows.len() == 1 { "" } else { "s" },
            if day.truncated {
                format!(" — only the first {MAX_LINES} matching lines: narrow the filter")
            } else {
                String::new()
            },
            if day.skipped > 0 {
                format!(
                    " — {} line{} that are not log records skipped",
                    day.skipped,
                    if day.skipped == 1 { "" } else { "s" }
                )
            } else {
                String::new()
            }
        ))
        .color(muted()),
    );
    ui.add_space(4.0);
    if day.rows.is_empty() {
        widgets::note(
            ui,
            theme::info(),
            "ℹ",
            "No line of this day matches the filter.",
        );
        return;
    }
    widgets::table(ui, "protocol-log")
        .column(Column::exact(96.0))
        .column(Column::initial(140.0).clip(true))
        .column(Column::initial(110.0).clip(true))
        .column(Column::initial(140.0).clip(true))
        .column(Column::exact(24.0))
        .column(Column::remainder().at_least(120.0).clip(true))
        .header(24.0, |mut h| {
            for title in ["Time (UTC)", "Session", "Connector", "Remote", "", "Data"] {
                h.col(|ui| widgets::header(ui, title));
            }
        })
        .body(|body| {
            body.rows(22.0, day.rows.len(), |mut row| {
                let Some(r) = day.rows.get(row.index()) else {
                    return;
                };
                row.col(|ui| {
                    ui.label(RichText::new(time_of_day(&r.time)).monospace());
                });
                row.col(|ui| {
                    ui.label(RichText::new(&r.session).monospace());
                });
                row.col(|ui| {
                    ui.label(&r.connector);
                });
                row.col(|ui| {
                    ui.label(&r.remote);
                });
                row.col(|ui| {
                    let color = match r.event {
                        '<' => theme::accent(),
                        '*' => theme::warn(),
                        _ => muted(),
                    };
                    ui.label(RichText::new(r.event.to_string()).monospace().color(color));
                });
                row.col(|ui| {
                    let text = if r.context.is_empty() {
                        r.data.clone()
                    } else if r.data.is_empty() {
                        format!("[{}]", r.context)
                    } else {
                        format!("{}  [{}]", r.data, r.context)
                    };
                    ui.label(RichText::new(text).monospace())
                        .on_hover_text(&r.data);
                });
            });
        });
}

/// `10:00:00.120` of `2026-12-07T10:00:00.12Z`: within a day, the time of day is what matters
/// (milliseconds always three digits, so the column lines up).
pub fn time_of_day(rfc3339: &str) -> String {
    let Some((_, rest)) = rfc3339.split_once('T') else {
        return rfc3339.to_string();
    };
    let clock = rest.trim_end_matches('Z');
    let clock = clock.split(['+', '-']).next().unwrap_or(clock);
    let (hms, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut ms: String = fraction.chars().take(3).collect();
    while ms.len() < 3 {
        ms.push('0');
    }
    format!("{hms}.{ms}")
}

#[cfg(test)]
mod tests {
    use super::time_of_day;

    #[test]
    fn times_line_up() {
        assert_eq!(time_of_day("2026-12-07T10:00:00.12Z"), "10:00:00.120");
        assert_eq!(time_of_day("2026-12-07T10:00:00Z"), "10:00:00.000");
        assert_eq!(
            time_of_day("2026-12-07T10:00:00.123456789Z"),
            "10:00:00.123"
        );
        assert_eq!(time_of_day("2026-12-07T10:00:00+01:00"), "10:00:00.000");
        assert_eq!(time_of_day("junk"), "junk");
    }
}
