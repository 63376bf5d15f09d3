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
use crate::ui::state::sessions::{Ending, SessionFilter, Shown, ended_by_quit, ending_text};
use crate::ui::widgets;
use crate::ui::widgets::format;
use crate::ui::widgets::theme::{self, muted};
use egui::{RichText, Ui};
use egui_extras::Column;
use egui_plot::{Bar, BarChart, Legend, Line, Plot};
use std::sync::Arc;

#[derive(Default)]
pub struct MonitorView {
    pub selected: Option<u64>,
    /// Active sessions, or those closed in the last hour.
    pub shown: Shown,
    pub filter: SessionFilter,
    /// The lists as they were when the administrator paused (`None`: live).
    pub paused: Option<Paused>,
    /// The closed sessions the filter keeps (their indices), for the list and the filter they
    /// were found for: up to 10 000 rows are filtered once per change, not on every frame.
    kept_closed: Option<KeptClosed>,
    /// The lists' sort (a header clicked); unsorted: as they come, newest closed last.
    pub sort: Option<widgets::Sort>,
}

struct KeptClosed {
    list: Arc<Vec<Arc<SessionRow>>>,
    filter: SessionFilter,
    sort: Option<widgets::Sort>,
    kept: Vec<usize>,
}

/// What a session row is sorted by in each column of the list.
fn sort_key(s: &SessionRow, column: usize) -> widgets::SortKey {
    use widgets::SortKey::{Number, Text};
    match column {
        0 => Number(matches!(s.direction, Direction::Outbound).into()),
        1 => widgets::SortKey::text(&s.connector),
        2 => widgets::SortKey::text(&s.peer),
        3 => widgets::SortKey::text(s.outcome.as_deref().unwrap_or(&s.state)),
        4 => Number(match s.security {
            Some(SecurityStatus::DomainSecure) => 0,
            Some(SecurityStatus::Encrypted) => 1,
            Some(SecurityStatus::Plaintext) => 2,
            None => 3,
        }),
        5 => Text(s.tls_version.clone().unwrap_or_default()),
        6 => widgets::SortKey::text(s.client_certificate.as_deref().unwrap_or("")),
        7 => Number(i64::try_from(s.bytes_in + s.bytes_out).unwrap_or(i64::MAX)),
        _ => Number(s.ended.unwrap_or(i64::MAX) - s.started),
    }
}

/// The sessions as they stood when the list was paused.
pub struct Paused {
    pub active: Vec<SessionRow>,
    pub closed: Arc<Vec<Arc<SessionRow>>>,
}

pub fn live_monitor_page(ui: &mut Ui, v: &mut MonitorView, cx: &mut Cx) {
    widgets::page_header(
        ui,
        "Live monitor",
        "Connections as they happen and those of the last hour, with their TLS and the partner's certificate; the mix of Domain Secure, Encrypted and Plaintext mail over time.",
    );
    if let Some(why) = cx.relay_reason {
        widgets::note(
            ui,
            theme::bad(),
            "⚠",
            &crate::ui::app::jobs::sentence(&format!("The relay is not running: {why}")),
        );
        return;
    }
    let snap = &cx.live.snapshot;
    counter_tiles(ui, cx);
    ui.add_space(8.0);
    let (active, closed_list): (&[SessionRow], &Arc<Vec<Arc<SessionRow>>>) = match &v.paused {
        Some(p) => (&p.active, &p.closed),
        None => (&snap.sessions, &snap.closed),
    };
    let closed: &[Arc<SessionRow>] = closed_list;
    let mut pause = None;
    ui.horizontal(|ui| {
        let tab = |ui: &mut Ui, shown: &mut Shown, this: Shown, text: String| {
            let selected = *shown == this;
            let text = if selected {
                RichText::new(text).strong().color(theme::accent())
            } else {
                RichText::new(text)
            };
            if ui.add(egui::Button::selectable(selected, text)).clicked() {
                *shown = this;
            }
        };
        tab(
            ui,
            &mut v.shown,
            Shown::Active,
            format!("Active sessions ({})", active.len()),
        );
        tab(
            ui,
            &mut v.shown,
            Shown::Closed,
            format!("Closed, last hour ({})", closed.len()),
        );
        ui.separator();
        let mut paused = v.paused.is_some();
        if ui
            .checkbox(&mut paused, "⏸ Pause")
            .on_hover_text(
                "Hold the lists as they are now to read them; the tiles and charts go on",
            )
            .changed()
        {
            pause = Some(paused);
        }
    });
    filter_bar(ui, &mut v.filter);
    let rows: Vec<&SessionRow> = match v.shown {
        Shown::Active => {
            let kept: Vec<&SessionRow> = active.iter().filter(|s| v.filter.keeps(s)).collect();
            widgets::sorted_order(&kept, v.sort, |s, c| sort_key(s, c))
                .into_iter()
                .map(|i| kept[i])
                .collect()
        }
        Shown::Closed => {
            let fresh = v.kept_closed.as_ref().is_some_and(|k| {
                Arc::ptr_eq(&k.list, closed_list) && k.filter == v.filter && k.sort == v.sort
            });
            if !fresh {
                let kept: Vec<usize> = (0..closed.len())
                    .filter(|&i| v.filter.keeps(&closed[i]))
                    .collect();
                let order = widgets::sorted_order(&kept, v.sort, |&i, c| sort_key(&closed[i], c));
                v.kept_closed = Some(KeptClosed {
                    list: closed_list.clone(),
                    filter: v.filter.clone(),
                    sort: v.sort,
                    kept: order.into_iter().map(|o| kept[o]).collect(),
                });
            }
            v.kept_closed
                .as_ref()
                .map(|k| {
                    k.kept
                        .iter()
                        .filter_map(|&i| closed.get(i))
                        .map(|s| s.as_ref())
                        .collect()
                })
                .unwrap_or_default()
        }
    };
    let mut clicked = widgets::arrow_selection(
        ui,
        || rows.iter().map(|s| s.id).collect(),
        v.selected.as_ref(),
    )
    .map(|(_, id)| id);
    let mut open_log = None;
    let now = cx.now_ms;
    let selected = v.selected;
    ui.add_space(2.0);
    ui.push_id("sessions", |ui| {
        if let Some(s) = sessions_table(
            ui,
            v.shown == Shown::Closed,
            &rows,
            selected,
            now,
            &mut clicked,
            v.sort,
        ) {
            v.sort = Some(s);
        }
    });
    if rows.is_empty() {
        let text = match (v.shown, v.filter.is_empty()) {
            (_, false) => "No session matches the filter.",
            (Shown::Active, true) => {
                "No session right now. Sessions appear here while a client or partner is connected; those that ended are under Closed."
            }
            (Shown::Closed, true) => "No session ended in the last hour.",
        };
        ui.label(RichText::new(text).color(muted()));
    }
    ui.add_space(10.0);
    let chosen = selected.and_then(|id| {
        active
            .iter()
            .find(|s| s.id == id)
            .or_else(|| closed.iter().map(|s| s.as_ref()).find(|s| s.id == id))
    });
    widgets::split_right(
        ui,
        390.0,
        |ui| traffic_charts(ui, &snap.history, cx.now_ms),
        |ui| widgets::side_panel(ui, |ui| session_transcript(ui, chosen, &mut open_log)),
    );
    if clicked.is_some() {
        v.selected = clicked;
    }
    match pause {
        Some(true) => {
            v.paused = Some(Paused {
                active: snap.sessions.clone(),
                closed: snap.closed.clone(),
            })
        }
        Some(false) => v.paused = None,
        None => {}
    }
    if let Some(a) = open_log {
        cx.push(a);
    }
}

fn filter_bar(ui: &mut Ui, f: &mut SessionFilter) {
    ui.horizontal_wrapped(|ui| {
        let l = ui.label("Direction");
        egui::ComboBox::from_id_salt("monitor-direction")
            .width(70.0)
            .selected_text(match f.direction {
                None => "Any",
                Some(Direction::Inbound) => "In",
                Some(Direction::Outbound) => "Out",
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut f.direction, None, "Any");
                ui.selectable_value(&mut f.direction, Some(Direction::Inbound), "In");
                ui.selectable_value(&mut f.direction, Some(Direction::Outbound), "Out");
            })
            .response
            .labelled_by(l.id);
        let l = ui.label("Connector");
        ui.add(egui::TextEdit::singleline(&mut f.connector).desired_width(100.0))
            .labelled_by(l.id);
        let l = ui.label("Peer");
        ui.add(
            egui::TextEdit::singleline(&mut f.peer)
                .hint_text("192.0.2.7")
                .desired_width(100.0),
        )
        .labelled_by(l.id);
        let l = ui.label("Security");
        egui::ComboBox::from_id_salt("monitor-security")
            .width(120.0)
            .selected_text(f.security.map(|s| s.label()).unwrap_or("Any"))
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut f.security, None, "Any");
                for s in [
                    SecurityStatus::DomainSecure,
                    SecurityStatus::Encrypted,
                    SecurityStatus::Plaintext,
                ] {
                    ui.selectable_value(&mut f.security, Some(s), s.label());
                }
            })
            .response
            .labelled_by(l.id);
        let l = ui.label("Outcome");
        egui::ComboBox::from_id_salt("monitor-outcome")
            .width(140.0)
            .selected_text(f.ending.label())
            .show_ui(ui, |ui| {
                for e in Ending::ALL {
                    ui.selectable_value(&mut f.ending, e, e.label());
                }
            })
            .response
            .labelled_by(l.id);
        if !f.is_empty() && ui.button("Clear").clicked() {
            *f = SessionFilter::default();
        }
    });
}

fn sessions_table(
    ui: &mut Ui,
    closed: bool,
    sessions: &[&SessionRow],
    selected: Option<u64>,
    now: i64,
    clicked: &mut Option<u64>,
    sort: Option<widgets::Sort>,
) -> Option<widgets::Sort> {
    let mut resort = None;
    let gap = ui.spacing().item_spacing.y;
    let pitch = 26.0 + gap;
    // Each list keeps its own column widths.
    widgets::table(
        ui,
        if closed {
            "sessions-closed"
        } else {
            "sessions"
        },
    )
    .column(Column::exact(50.0))
    .column(Column::initial(96.0).clip(true))
    .column(Column::initial(132.0).clip(true))
    .column(Column::initial(if closed { 150.0 } else { 70.0 }).clip(true))
    .column(Column::exact(126.0))
    .column(Column::initial(if closed { 120.0 } else { 166.0 }).clip(true))
    .column(Column::remainder().at_least(90.0).clip(true))
    .column(Column::exact(112.0))
    .column(Column::exact(60.0))
    // Whole rows only: a row cut in half reads as a bug.
    .max_scroll_height(pitch * 7.0 - gap)
    .header(24.0, |mut h| {
        resort = widgets::sort_headers(
            &mut h,
            &[
                "Dir.",
                "Connector",
                "Peer",
                if closed { "Outcome" } else { "State" },
                "Security",
                "TLS",
                "Client certificate",
                "Bytes in/out",
                "Duration",
            ],
            sort,
        );
    })
    .body(|body| {
        body.rows(26.0, sessions.len(), |mut row| {
            let Some(s) = sessions.get(row.index()) else {
                return;
            };
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
                match s.ended {
                    None => ui.label(&s.state),
                    Some(_) => {
                        let text = ending_text(s);
                        let color = if s.refusals > 0 || !ended_by_quit(s) {
                            theme::bad()
                        } else {
                            theme::text()
                        };
                        ui.label(RichText::new(&text).color(color))
                            .on_hover_text(text)
                    }
                };
            });
            row.col(|ui| match s.security {
                Some(sec) => {
                    widgets::security_badge(ui, sec);
                }
                None => {
                    ui.label(RichText::new("—").color(muted()));
                }
            });
            row.col(|ui| {
                match (&s.tls_version, &s.cipher) {
                    (Some(v), Some(c)) => ui
                        .label(format!("{v} {}", short_cipher(c)))
                        .on_hover_text(format!("{v} {c}")),
                    (Some(v), None) => ui.label(v),
                    _ => ui.label(RichText::new("none").color(muted())),
                };
            });
            row.col(|ui| {
                match &s.client_certificate {
                    Some(c) => ui.label(c).on_hover_text(c.as_str()),
                    None => ui.label(RichText::new("—").color(muted())),
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
                ui.label(format::duration_ms(s.ended.unwrap_or(now) - s.started));
            });
            if row.response().clicked() {
                *clicked = Some(s.id);
            }
        });
    });
    resort
}

fn counter_tiles(ui: &mut Ui, cx: &Cx) {
    let c = &cx.live.snapshot.counters;
    ui.horizontal(|ui| {
        let tile = |ui: &mut Ui, label: &str, value: String, color: egui::Color32| {
            widgets::card(ui, |ui| {
                ui.set_min_width(96.0);
                ui.vertical(|ui| {
                    ui.label(RichText::new(value).size(20.0).strong().color(color));
                    ui.label(RichText::new(label).color(muted()).size(12.0));
                });
            });
        };
        tile(
            ui,
            "Active sessions",
            cx.live.snapshot.sessions.len().to_string(),
            theme::text(),
        );
        tile(ui, "Received", c.received.to_string(), theme::text());
        tile(ui, "Sent", c.sent.to_string(), theme::text());
        tile(
            ui,
            "Delivered here",
            c.delivered_local.to_string(),
            theme::text(),
        );
        tile(ui, "Deferred", c.deferred.to_string(), theme::warn());
        tile(ui, "Rejected", c.rejected.to_string(), theme::bad());
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
                theme::text()
            } else {
                theme::warn()
            },
        );
    });
}

fn session_transcript(ui: &mut Ui, s: Option<&SessionRow>, open_log: &mut Option<Action>) {
    widgets::section(ui, "Protocol transcript");
    let Some(s) = s else {
        ui.label(RichText::new("Select a session to follow its SMTP dialogue. Passwords and AUTH data are never shown.").color(muted()));
        return;
    };
    ui.label(RichText::new(format!("{} ↔ {} on {}", s.local, s.peer, s.connector)).color(muted()));
    if let (Some(ended), Some(outcome)) = (s.ended, &s.outcome) {
        let color = if s.refusals > 0 || !ended_by_quit(s) {
            theme::bad()
        } else {
            muted()
        };
        ui.label(
            RichText::new(format!(
                "Ended {} UTC: {outcome} ({} message{}, {} refused)",
                format::time_ms(ended),
                s.messages,
                if s.messages == 1 { "" } else { "s" },
                s.refusals
            ))
            .color(color),
        );
    }
    ui.horizontal(|ui| {
        let session = crate::engine::outbound::session_log_id(s.id);
        ui.label(
            RichText::new(format!("Session {session}"))
                .monospace()
                .color(muted()),
        );
        let direction = match s.direction {
            Direction::Inbound => LogDirection::Receive,
            Direction::Outbound => LogDirection::Send,
        };
        if let Some(a) =
            widgets::protocol_log_button(ui, "📃 Protocol log", direction, s.started, &session)
        {
            *open_log = Some(a);
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
                            theme::accent()
                        } else if line.starts_with('*') {
                            theme::good()
                        } else {
                            theme::text()
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
            .x_axis_label("minutes ago")
            .y_axis_label("sessions / min")
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .include_y(0.0)
            .include_x(-60.0)
            .include_x(0.0)
            .show(&mut cols[0], |p| {
                p.line(
                    Line::new("Sessions", sessions)
                        .color(theme::accent())
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
            BarChart::new("Domain Secure", bars(|p| p.domain_secure)).color(theme::domain_secure());
        let enc = BarChart::new("Encrypted", bars(|p| p.encrypted))
            .color(theme::encrypted())
            .stack_on(&[&ds]);
        let plain = BarChart::new("Plaintext", bars(|p| p.plaintext))
            .color(theme::plaintext())
            .stack_on(&[&ds, &enc]);
        Plot::new("messages-plot")
            .height(h)
            .x_axis_label("minutes ago")
            .y_axis_label("messages / min")
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .include_y(0.0)
            .include_x(-60.0)
            .include_x(0.0)
            .legend(Legend::default().position(egui_plot::Corner::LeftTop))
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
        painter.rect_filled(rect, 3.0, theme::line());
        return;
    }
    let mut left = rect.left();
    for (n, color) in [
        (ds, theme::domain_secure()),
        (enc, theme::encrypted()),
        (plain, theme::plaintext()),
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

/// The part of a cipher suite's IANA name that tells ciphers apart in a narrow column:
/// `AES_256_GCM` of `TLS_AES_256_GCM_SHA384` and of `TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384`.
pub fn short_cipher(iana: &str) -> &str {
    let c = iana.strip_prefix("TLS_").unwrap_or(iana);
    let c = c.split_once("_WITH_").map_or(c, |(_, rest)| rest);
    c.strip_suffix("_SHA384")
        .or_else(|| c.strip_suffix("_SHA256"))
        .unwrap_or(c)
}

#[cfg(test)]
mod tests {
    use super::short_cipher;

    #[test]
    fn ciphers_are_shortened_to_what_tells_them_apart() {
        assert_eq!(short_cipher("TLS_AES_256_GCM_SHA384"), "AES_256_GCM");
        assert_eq!(
            short_cipher("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
            "AES_128_GCM"
        );
        assert_eq!(
            short_cipher("TLS_CHACHA20_POLY1305_SHA256"),
            "CHACHA20_POLY1305"
        );
        assert_eq!(short_cipher("odd"), "odd");
    }
}
