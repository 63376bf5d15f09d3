//! Toolbox › Live monitor: the relay's active sessions updating live (direction, connector,
//! peer, state, TLS version and cipher, client certificate, security, bytes, duration) in a
//! virtualised table; the selected session's protocol transcript (secrets redacted by the
//! engine); counters; and charts over the last two hours — sessions per minute, messages per
//! minute by security, and the share of Domain Secure, Encrypted and Plaintext.

use super::Cx;
use crate::engine::monitor::{MinutePoint, SessionRow};
use crate::smtp::evidence::{Direction, SecurityStatus};
use crate::store::protocol_logs::LogDirection;
use crate::ui::app::actions::Action;
use crate::ui::widgets;
use crate::ui::widgets::format;
use crate::ui::widgets::theme::{self, MUTED};
use egui::{RichText, Ui};
use egui_extras::Column;
use egui_plot::{Bar, BarChart, Line, Plot};

#[derive(Default)]
pub struct MonitorView {
    pub selected: Option<u64>,
}

pub fn live_monitor_page(ui: &mut Ui, v: &mut MonitorView, cx: &mut Cx) {
    widgets::page_header(
        ui,
        "Live monitor",
        "Connections as they happen, with their TLS and the partner's certificate; the mix of Domain Secure, Encrypted and Plaintext mail over time.",
    );
    if let Some(why) = cx.relay_reason {
        widgets::note(
            ui,
            theme::BAD,
            "⚠",
            &crate::ui::app::jobs::sentence(&format!("The relay is not running: {why}")),
        );
        return;
    }
    let snap = &cx.live.snapshot;
    counter_tiles(ui, cx);
    ui.add_space(8.0);
    let sessions = &snap.sessions;
    let mut clicked = None;
    let mut open_log = None;
    let now = cx.now_ms;
    let selected = v.selected;
    ui.label(
        RichText::new(format!("Active sessions ({})", sessions.len()))
            .strong()
            .size(15.5),
    );
    ui.add_space(2.0);
    ui.push_id("sessions", |ui| {
        sessions_table(ui, sessions, selected, now, &mut clicked);
    });
    if sessions.is_empty() {
        ui.label(RichText::new("No session right now. Sessions appear here while a client or partner is connected.").color(MUTED));
    }
    ui.add_space(10.0);
    widgets::split_right(
        ui,
        390.0,
        |ui| traffic_charts(ui, &snap.history, cx.now_ms),
        |ui| {
            widgets::side_panel(ui, |ui| {
                session_transcript(
                    ui,
                    selected.and_then(|id| sessions.iter().find(|s| s.id == id)),
                    &mut open_log,
                )
            })
        },
    );
    if clicked.is_some() {
        v.selected = clicked;
    }
    if let Some(a) = open_log {
        cx.push(a);
    }
}

fn sessions_table(
    ui: &mut Ui,
    sessions: &[SessionRow],
    selected: Option<u64>,
    now: i64,
    clicked: &mut Option<u64>,
) {
    widgets::table(ui, "sessions")
        .column(Column::exact(50.0))
        .column(Column::initial(96.0).clip(true))
        .column(Column::initial(132.0).clip(true))
        .column(Column::initial(70.0).clip(true))
        .column(Column::exact(126.0))
        .column(Column::initial(166.0).clip(true))
        .column(Column::remainder().at_least(90.0).clip(true))
        .column(Column::exact(112.0))
        .column(Column::exact(60.0))
        .max_scroll_height(236.0)
        .header(24.0, |mut h| {
            for t in [
                "Dir.",
                "Connector",
                "Peer",
                "State",
                "Security",
                "TLS",
                "Client certificate",
                "Bytes in/out",
                "Duration",
            ] {
                h.col(|ui| widgets::header(ui, t));
            }
        })
        .body(|body| {
            body.rows(26.0, sessions.len(), |mut row| {
                let s = &sessions[row.index()];
                row.set_selected(selected == Some(s.id));
                row.col(|ui| {
                    match s.direction {
                        Direction::Inbound => ui
                            .label("⬇ In")
                            .on_hover_text("Inbound: a client sends to us"),
                        Direction::Outbound => ui
                            .label("⬆ Out")
                            .on_hover_text("Outbound: we deliver to the next hop"),
                    };
                });
                row.col(|ui| {
                    ui.label(&s.connector);
                });
                row.col(|ui| {
                    ui.label(&s.peer);
                });
                row.col(|ui| {
                    ui.label(&s.state);
                });
                row.col(|ui| match s.security {
                    Some(sec) => {
                        widgets::security_badge(ui, sec);
                    }
                    None => {
                        ui.label(RichText::new("—").color(MUTED));
                    }
                });
                row.col(|ui| {
                    match (&s.tls_version, &s.cipher) {
                        (Some(v), Some(c)) => ui
                            .label(format!("{v} {c}"))
                            .on_hover_text(format!("{v} {c}")),
                        (Some(v), None) => ui.label(v),
                        _ => ui.label(RichText::new("none").color(MUTED)),
                    };
                });
                row.col(|ui| {
                    match &s.client_certificate {
                        Some(c) => ui.label(c).on_hover_text(c.as_str()),
                        None => ui.label(RichText::new("—").color(MUTED)),
                    };
                });
                row.col(|ui| {
                    ui.label(format!(
                        "{} / {}",
                        format::bytes(s.bytes_in),
                        format::bytes(s.bytes_out)
                    ));
                });
                row.col(|ui| {
                    ui.label(format::duration_ms(now - s.started));
                });
                if row.response().clicked() {
                    *clicked = Some(s.id);
                }
            });
        });
}

fn counter_tiles(ui: &mut Ui, cx: &Cx) {
    let c = &cx.live.snapshot.counters;
    ui.horizontal(|ui| {
        let tile = |ui: &mut Ui, label: &str, value: String, color: egui::Color32| {
            widgets::card(ui, |ui| {
                ui.set_min_width(96.0);
                ui.vertical(|ui| {
                    ui.label(RichText::new(value).size(20.0).strong().color(color));
                    ui.label(RichText::new(label).color(MUTED).size(12.0));
                });
            });
        };
        tile(
            ui,
            "Active sessions",
            cx.live.snapshot.sessions.len().to_string(),
            theme::TEXT,
        );
        tile(ui, "Received", c.received.to_string(), theme::TEXT);
        tile(ui, "Sent", c.sent.to_string(), theme::TEXT);
        tile(
            ui,
            "Delivered here",
            c.delivered_local.to_string(),
            theme::TEXT,
        );
        tile(ui, "Deferred", c.deferred.to_string(), theme::WARN);
        tile(ui, "Rejected", c.rejected.to_string(), theme::BAD);
        let (lookups, failed) = (c.mx_lookups, c.mx_lookup_failures);
        tile(
            ui,
            "MX lookups",
            if failed == 0 {
                lookups.to_string()
            } else {
                format!("{lookups} ({failed} failed)")
            },
            if failed == 0 {
                theme::TEXT
            } else {
                theme::WARN
            },
        );
    });
}

fn session_transcript(ui: &mut Ui, s: Option<&SessionRow>, open_log: &mut Option<Action>) {
    widgets::section(ui, "Protocol transcript");
    let Some(s) = s else {
        ui.label(RichText::new("Select a session to follow its SMTP dialogue. Passwords and AUTH data are never shown.").color(MUTED));
        return;
    };
    ui.label(RichText::new(format!("{} ↔ {} on {}", s.local, s.peer, s.connector)).color(MUTED));
    ui.horizontal(|ui| {
        let session = format!("{:016X}", s.id);
        ui.label(
            RichText::new(format!("Session {session}"))
                .monospace()
                .color(MUTED),
        );
        if ui
            .small_button("📃 Protocol log")
            .on_hover_text("Every line the relay logged for this session")
            .clicked()
        {
            *open_log = Some(Action::OpenProtocolLog {
                direction: match s.direction {
                    Direction::Inbound => LogDirection::Receive,
                    Direction::Outbound => LogDirection::Send,
                },
                day: super::tracking::log_day(s.started),
                session,
            });
        }
    });
    egui::Frame::new()
        .fill(ui.visuals().code_bg_color)
        .inner_margin(egui::Margin::same(8))
        .corner_radius(egui::CornerRadius::same(4))
        .show(ui, |ui| {
            egui::ScrollArea::vertical()
                .id_salt("transcript-scroll")
                .stick_to_bottom(true)
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    for line in &s.transcript {
                        // "< " client, "> " server, "* " what the relay decided.
                        let color = if line.starts_with('>') {
                            theme::ACCENT
                        } else if line.starts_with('*') {
                            theme::GOOD
                        } else {
                            theme::TEXT
                        };
                        ui.label(RichText::new(line).monospace().color(color));
                    }
                });
        });
}

fn traffic_charts(ui: &mut Ui, history: &[MinutePoint], now_ms: i64) {
    let now_min = now_ms / 60_000;
    let x = |p: &MinutePoint| (p.minute - now_min) as f64;
    security_share(ui, history);
    ui.add_space(6.0);
    let h = (ui.available_height() - 24.0).max(90.0);
    ui.columns(2, |cols| {
        cols[0].label(RichText::new("Sessions per minute").strong());
        let sessions: Vec<[f64; 2]> = history.iter().map(|p| [x(p), p.sessions as f64]).collect();
        Plot::new("sessions-plot")
            .height(h)
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .include_y(0.0)
            .include_x(-60.0)
            .include_x(0.0)
            .show(&mut cols[0], |p| {
                p.line(
                    Line::new("Sessions", sessions)
                        .color(theme::ACCENT)
                        .width(2.0),
                );
            });
        cols[1].label(RichText::new("Messages per minute by security").strong());
        let bars = |f: fn(&MinutePoint) -> u64| -> Vec<Bar> {
            history
                .iter()
                .map(|p| Bar::new(x(p), f(p) as f64).width(0.8))
                .collect()
        };
        let ds =
            BarChart::new("Domain Secure", bars(|p| p.domain_secure)).color(theme::DOMAIN_SECURE);
        let enc = BarChart::new("Encrypted", bars(|p| p.encrypted))
            .color(theme::ENCRYPTED)
            .stack_on(&[&ds]);
        let plain = BarChart::new("Plaintext", bars(|p| p.plaintext))
            .color(theme::PLAINTEXT)
            .stack_on(&[&ds, &enc]);
        Plot::new("messages-plot")
            .height(h)
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .include_y(0.0)
            .include_x(-60.0)
            .include_x(0.0)
            .show(&mut cols[1], |p| {
                p.bar_chart(ds);
                p.bar_chart(enc);
                p.bar_chart(plain);
            });
    });
}

fn security_share(ui: &mut Ui, history: &[MinutePoint]) {
    let (ds, enc, plain) = history.iter().fold((0u64, 0u64, 0u64), |a, p| {
        (a.0 + p.domain_secure, a.1 + p.encrypted, a.2 + p.plaintext)
    });
    let total = ds + enc + plain;
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new("Last 2 hours:").strong());
        for (s, n) in [
            (SecurityStatus::DomainSecure, ds),
            (SecurityStatus::Encrypted, enc),
            (SecurityStatus::Plaintext, plain),
        ] {
            widgets::security_badge(ui, s);
            let pct = if total == 0 {
                0.0
            } else {
                100.0 * n as f64 / total as f64
            };
            ui.label(format!("{n} ({pct:.0}%)"));
        }
    });
    let (rect, _) =
        ui.allocate_exact_size(egui::vec2(ui.available_width(), 12.0), egui::Sense::hover());
    let painter = ui.painter();
    if total == 0 {
        painter.rect_filled(rect, 3.0, theme::LINE);
        return;
    }
    let mut left = rect.left();
    for (n, color) in [
        (ds, theme::DOMAIN_SECURE),
        (enc, theme::ENCRYPTED),
        (plain, theme::PLAINTEXT),
    ] {
        let w = rect.width() * n as f32 / total as f32;
        if w > 0.0 {
            let r = egui::Rect::from_min_size(
                egui::pos2(left, rect.top()),
                egui::vec2(w, rect.height()),
            );
            painter.rect_filled(r, 0.0, color);
            left += w;
        }
    }
}
