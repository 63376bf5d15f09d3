//! The status bar: whether the relay runs (or why not; amber when a listener is down), its
//! listeners and their ports, the queue size, and the certificates expiring within 30 days.
//! Each part opens its page when clicked.

use super::theme::{bad, good, muted, warn};
use crate::ui::state::live::{LiveView, plain_problem};
use crate::ui::state::model::ConsoleData;
use crate::ui::state::relay::RelayState;
use crate::ui::widgets::nav::Page;
use egui::{Response, RichText, Ui};
use time::OffsetDateTime;

/// A part of the bar that opens `page` when clicked.
fn part(
    ui: &mut Ui,
    text: impl Into<egui::WidgetText>,
    page: Page,
    go: &mut Option<Page>,
) -> Response {
    let r = ui
        .add(egui::Label::new(text).sense(egui::Sense::click()))
        .on_hover_cursor(egui::CursorIcon::PointingHand);
    if r.clicked() {
        *go = Some(page);
    }
    r
}

/// Draws the bar; returns the page a clicked part opens.
pub fn status_bar(
    ui: &mut Ui,
    data: &ConsoleData,
    live: &LiveView,
    relay: &RelayState,
    now: OffsetDateTime,
) -> Option<Page> {
    let mut go = None;
    let go = &mut go;
    ui.horizontal(|ui| {
        ui.spacing_mut().item_spacing.x = 10.0;
        match relay.reason() {
            Some(why) => {
                part(
                    ui,
                    RichText::new("⏺ Relay stopped").color(bad()).strong(),
                    Page::LiveMonitor,
                    go,
                )
                .on_hover_text(crate::ui::app::jobs::sentence(why));
                ui.label(
                    RichText::new(crate::ui::app::jobs::sentence(why))
                        .color(muted())
                        .size(12.0),
                );
            }
            None if !live.running() => {
                ui.label(RichText::new("⏺ Relay stopped").color(bad()).strong());
            }
            None => {
                let listeners = &live.snapshot.listeners;
                let down = listeners.iter().filter(|l| l.error.is_some()).count();
                let (text, color) = match down {
                    0 => ("⏺ Relay running".to_string(), good()),
                    n => (
                        format!(
                            "⏺ Running, {n} listener{} down",
                            if n == 1 { "" } else { "s" }
                        ),
                        warn(),
                    ),
                };
                part(
                    ui,
                    RichText::new(text).color(color).strong(),
                    Page::LiveMonitor,
                    go,
                )
                .on_hover_text("Open the live monitor");
                ui.separator();
                if listeners.is_empty() {
                    ui.label(RichText::new("No listeners").color(warn()));
                }
                for l in listeners {
                    match &l.error {
                        None => {
                            part(
                                ui,
                                format!("{} {}", l.connector, l.address),
                                Page::ReceiveConnectors,
                                go,
                            )
                            .on_hover_text(format!(
                                "Receive connector '{}' listens on port {}",
                                l.connector,
                                l.address.port()
                            ));
                        }
                        Some(e) => {
                            part(
                                ui,
                                RichText::new(format!("✖ {} {}", l.connector, l.address))
                                    .color(bad()),
                                Page::ReceiveConnectors,
                                go,
                            )
                            .on_hover_text(plain_problem(e));
                        }
                    }
                }
                ui.separator();
                let q = live.snapshot.queued_messages;
                part(
                    ui,
                    format!("Queue: {q} message{}", if q == 1 { "" } else { "s" }),
                    Page::QueueViewer,
                    go,
                );
                part(
                    ui,
                    format!("Sessions: {}", live.snapshot.sessions.len()),
                    Page::LiveMonitor,
                    go,
                );
            }
        }
        ui.separator();
        let expiring = data.expiring_within(now, 30);
        if expiring == 0 {
            part(
                ui,
                RichText::new("✔ Certificates OK").color(good()),
                Page::Certificates,
                go,
            );
        } else {
            part(
                ui,
                RichText::new(format!(
                    "⚠ {expiring} certificate{} expire{} within 30 days",
                    if expiring == 1 { "" } else { "s" },
                    if expiring == 1 { "s" } else { "" }
                ))
                .color(warn())
                .strong(),
                Page::Certificates,
                go,
            );
        }
        let problems = live.all_problems();
        if !problems.is_empty() {
            ui.separator();
            part(
                ui,
                RichText::new(format!(
                    "⚠ {} problem{} reported",
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" }
                ))
                .color(bad()),
                Page::LiveMonitor,
                go,
            )
            .on_hover_text(
                problems
                    .iter()
                    .map(|p| plain_problem(p))
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            // Light or dark, for this session (the desktop's theme is followed at start).
            let (glyph, other, name) = if super::theme::is_dark() {
                ("☀", egui::Theme::Light, "Light theme")
            } else {
                ("🌙", egui::Theme::Dark, "Dark theme")
            };
            let b = ui
                .add(egui::Button::new(RichText::new(glyph).color(muted())).frame(false))
                .on_hover_text(format!("Switch to the {}", name.to_lowercase()));
            super::accessible_name(&b, name);
            if b.clicked() {
                ui.ctx().set_theme(other);
            }
            if ui.available_width() > 120.0 {
                ui.add(
                    egui::Label::new(RichText::new(&data.data_dir).color(muted()).size(12.0))
                        .truncate(),
                )
                .on_hover_text(format!("Data directory: {}", data.data_dir));
            }
        });
    });
    *go
}
