//! The status bar: whether the relay runs (or why not), its listeners and their ports, the
//! queue size, and the certificates expiring within 30 days.

use super::theme::{BAD, GOOD, MUTED, WARN};
use crate::ui::state::live::{LiveView, plain_problem};
use crate::ui::state::model::ConsoleData;
use crate::ui::state::relay::RelayState;
use egui::{RichText, Ui};
use time::OffsetDateTime;

/// Draws the bar.
pub fn status_bar(
    ui: &mut Ui,
    data: &ConsoleData,
    live: &LiveView,
    relay: &RelayState,
    now: OffsetDateTime,
) {
    ui.horizontal(|ui| {
        ui.spacing_mut().item_spacing.x = 10.0;
        match relay.reason() {
            Some(why) => {
                ui.label(RichText::new("⏺ Relay stopped").color(BAD).strong())
                    .on_hover_text(crate::ui::app::jobs::sentence(why));
                ui.label(
                    RichText::new(crate::ui::app::jobs::sentence(why))
                        .color(MUTED)
                        .size(12.0),
                );
            }
            None if !live.running() => {
                ui.label(RichText::new("⏺ Relay stopped").color(BAD).strong());
            }
            None => {
                ui.label(RichText::new("⏺ Relay running").color(GOOD).strong());
                ui.separator();
                let listeners = &live.snapshot.listeners;
                if listeners.is_empty() {
                    ui.label(RichText::new("No listeners").color(WARN));
                }
                for l in listeners {
                    match &l.error {
                        None => {
                            ui.label(format!("{} {}", l.connector, l.address))
                                .on_hover_text(format!(
                                    "Receive connector '{}' listens on port {}",
                                    l.connector,
                                    l.address.port()
                                ));
                        }
                        Some(e) => {
                            ui.label(
                                RichText::new(format!("✖ {} {}", l.connector, l.address))
                                    .color(BAD),
                            )
                            .on_hover_text(plain_problem(e));
                        }
                    }
                }
                ui.separator();
                let q = live.snapshot.queued_messages;
                ui.label(format!(
                    "Queue: {q} message{}",
                    if q == 1 { "" } else { "s" }
                ));
                ui.label(format!("Sessions: {}", live.snapshot.sessions.len()));
            }
        }
        ui.separator();
        let expiring = data.expiring_within(now, 30);
        if expiring == 0 {
            ui.label(RichText::new("✔ Certificates OK").color(GOOD));
        } else {
            ui.label(
                RichText::new(format!(
                    "⚠ {expiring} certificate{} expire{} within 30 days",
                    if expiring == 1 { "" } else { "s" },
                    if expiring == 1 { "s" } else { "" }
                ))
                .color(WARN)
                .strong(),
            );
        }
        let problems = live.all_problems();
        if !problems.is_empty() {
            ui.separator();
            ui.label(
                RichText::new(format!(
                    "⚠ {} problem{} reported",
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" }
                ))
                .color(BAD),
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
            if ui.available_width() > 120.0 {
                ui.add(
                    egui::Label::new(RichText::new(&data.data_dir).color(MUTED).size(12.0))
                        .truncate(),
                )
                .on_hover_text(format!("Data directory: {}", data.data_dir));
            }
        });
    });
}
