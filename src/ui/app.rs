//! The console application: navigation on the left, the page in the centre, a status bar at
//! the bottom.

use super::nav::{Page, SECTIONS};
use super::pages;
use super::snapshot::ConsoleData;
use super::widgets::{BAD, GOOD, WARN};
use egui::{RichText, Ui};

/// The console's state: what it shows and where the administrator is.
pub struct ConsoleApp {
    pub data: ConsoleData,
    pub page: Page,
    pub notice: Option<String>,
}

impl ConsoleApp {
    pub fn new(data: ConsoleData, notice: Option<String>) -> Self {
        ConsoleApp {
            data,
            page: Page::Certificates,
            notice,
        }
    }

    /// Draws one frame into `ui` (the whole window).
    pub fn draw(&mut self, ui: &mut Ui) {
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar(ui));
        egui::Panel::left("nav")
            .resizable(true)
            .default_size(220.0)
            .show(ui, |ui| self.navigation(ui));
        egui::CentralPanel::default().show(ui, |ui| {
            if let Some(n) = self.notice.clone() {
                ui.horizontal(|ui| {
                    ui.label(RichText::new(n).color(super::widgets::INFO));
                    if ui.small_button("Dismiss").clicked() {
                        self.notice = None;
                    }
                });
                ui.separator();
            }
            egui::ScrollArea::vertical()
                .auto_shrink(false)
                .show(ui, |ui| pages::show(ui, self.page, &self.data));
        });
    }

    fn navigation(&mut self, ui: &mut Ui) {
        ui.add_space(6.0);
        ui.label(RichText::new("Mailflow").heading().strong());
        ui.label(RichText::new(&self.data.settings.organization.name).weak());
        ui.separator();
        for section in SECTIONS {
            ui.add_space(6.0);
            ui.label(RichText::new(section.title).strong());
            for &page in section.pages {
                if ui
                    .selectable_label(self.page == page, page.title())
                    .clicked()
                {
                    self.page = page;
                }
            }
        }
    }

    fn status_bar(&self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            ui.label(RichText::new("● Relay stopped").color(WARN))
                .on_hover_text("The relay engine is not part of this build yet.");
            ui.separator();
            let bindings: Vec<String> = self
                .data
                .settings
                .receive_connectors
                .iter()
                .filter(|c| c.enabled)
                .flat_map(|c| c.bindings.iter().map(move |b| format!("{} {b}", c.name)))
                .collect();
            ui.label(format!(
                "Listeners: {}",
                if bindings.is_empty() {
                    "none".into()
                } else {
                    bindings.join(", ")
                }
            ));
            ui.separator();
            let expiring = self.data.expiring_soon();
            if expiring == 0 {
                ui.label(RichText::new("Certificates OK").color(GOOD));
            } else {
                ui.label(
                    RichText::new(format!("{expiring} certificate(s) expire within 30 days"))
                        .color(BAD),
                );
            }
            ui.separator();
            ui.label(RichText::new(&self.data.data_dir).weak());
        });
    }
}

impl eframe::App for ConsoleApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.draw(ui);
    }
}
