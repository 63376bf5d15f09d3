//! Small shared widgets: a simple data table, status badges and section headings.

use egui::{Color32, RichText, Ui};
use egui_extras::{Column, TableBuilder};

/// Colours for statuses, legible on light and dark themes.
pub const GOOD: Color32 = Color32::from_rgb(0x2e, 0x9d, 0x4f);
pub const WARN: Color32 = Color32::from_rgb(0xd9, 0x8c, 0x1a);
pub const BAD: Color32 = Color32::from_rgb(0xd0, 0x3b, 0x3b);
pub const INFO: Color32 = Color32::from_rgb(0x3a, 0x7b, 0xd5);

/// A page title with a one-line explanation under it.
pub fn page_header(ui: &mut Ui, title: &str, explanation: &str) {
    ui.heading(title);
    ui.label(RichText::new(explanation).weak());
    ui.add_space(8.0);
}

/// A coloured status word.
pub fn badge(ui: &mut Ui, text: &str, color: Color32) {
    ui.label(RichText::new(text).color(color).strong());
}

/// A virtualised table: only visible rows are laid out, so it stays fast with many rows.
/// `cell(row, column)` returns the text of each cell; `color(row, column)` may colour it.
pub fn text_table(
    ui: &mut Ui,
    id: &str,
    headers: &[&str],
    rows: usize,
    cell: impl Fn(usize, usize) -> String,
    color: impl Fn(usize, usize) -> Option<Color32>,
) {
    if rows == 0 {
        ui.label(RichText::new("(none)").weak());
        return;
    }
    let mut builder = TableBuilder::new(ui)
        .id_salt(id)
        .striped(true)
        .resizable(true)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center));
    for i in 0..headers.len() {
        builder = builder.column(if i + 1 == headers.len() {
            Column::remainder().at_least(60.0)
        } else {
            Column::auto().at_least(60.0).clip(true)
        });
    }
    builder
        .header(22.0, |mut header| {
            for h in headers {
                header.col(|ui| {
                    ui.strong(*h);
                });
            }
        })
        .body(|body| {
            body.rows(20.0, rows, |mut row| {
                let r = row.index();
                for c in 0..headers.len() {
                    row.col(|ui| {
                        let text = cell(r, c);
                        match color(r, c) {
                            Some(col) => ui.label(RichText::new(text).color(col)),
                            None => ui.label(text),
                        };
                    });
                }
            })
        });
}

/// A two-column grid of labelled values.
pub fn property_grid(ui: &mut Ui, id: &str, items: &[(&str, String)]) {
    egui::Grid::new(id)
        .num_columns(2)
        .spacing([16.0, 6.0])
        .striped(true)
        .show(ui, |ui| {
            for (k, v) in items {
                ui.label(RichText::new(*k).strong());
                ui.label(v);
                ui.end_row();
            }
        });
}
