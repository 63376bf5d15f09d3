//! Widgets shared by every page: headings, security badges, check marks, form fields that show
//! their validation problems, list editors, feedback banners, code blocks, a standard
//! virtualised table, confirmation dialogs and primary buttons. One look everywhere. Beside
//! these controls the folder holds the console's look ([`theme`]), how it writes times, sizes
//! and lists ([`format`]), the status bar ([`status`]) and the navigation tree ([`nav`]).

pub mod assets;
pub mod format;
pub mod nav;
pub mod status;
pub mod theme;

use crate::smtp::evidence::SecurityStatus;
use crate::ui::app::feedback::Feedback;
use egui::{Color32, CornerRadius, Margin, Response, RichText, Stroke, Ui};
use egui_extras::TableBuilder;
use theme::{bad, good, info, muted, warn};

/// A page title with a one-line explanation under it.
pub fn page_header(ui: &mut Ui, title: &str, explanation: &str) {
    ui.add_space(2.0);
    ui.heading(RichText::new(title).strong());
    if !explanation.is_empty() {
        ui.label(RichText::new(explanation).color(muted()));
    }
    ui.add_space(10.0);
}

/// A section title inside a page.
pub fn section(ui: &mut Ui, title: &str) {
    ui.add_space(10.0);
    ui.label(RichText::new(title).strong().size(15.5));
    ui.add_space(2.0);
}

/// The icon of a security status: a shield for Domain Secure, a lock for Encrypted, an open
/// lock for Plaintext.
pub fn security_icon(s: SecurityStatus) -> &'static str {
    match s {
        SecurityStatus::DomainSecure => "🛡",
        SecurityStatus::Encrypted => "🔒",
        SecurityStatus::Plaintext => "🔓",
    }
}

pub fn security_color(s: SecurityStatus) -> Color32 {
    match s {
        SecurityStatus::DomainSecure => theme::domain_secure(),
        SecurityStatus::Encrypted => theme::encrypted(),
        SecurityStatus::Plaintext => theme::plaintext(),
    }
}

/// A coloured pill with an icon and a word.
pub fn pill(ui: &mut Ui, text: &str, color: Color32) -> Response {
    egui::Frame::new()
        .fill(color.gamma_multiply(0.13))
        .stroke(Stroke::new(1.0, color.gamma_multiply(0.55)))
        .corner_radius(CornerRadius::same(9))
        .inner_margin(Margin::symmetric(7, 1))
        .show(ui, |ui| {
            ui.label(RichText::new(text).color(color).strong().size(12.5));
        })
        .response
}

/// The security badge of a message or session: Domain Secure, Encrypted or Plaintext.
pub fn security_badge(ui: &mut Ui, s: SecurityStatus) -> Response {
    pill(
        ui,
        &format!("{} {}", security_icon(s), s.label()),
        security_color(s),
    )
}

/// A check's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    Pass,
    Fail,
    Warn,
    /// Not checked (not applicable, or not available).
    Skip,
}

impl Mark {
    pub fn from_bool(ok: bool) -> Mark {
        if ok { Mark::Pass } else { Mark::Fail }
    }
    pub fn glyph(self) -> &'static str {
        match self {
            Mark::Pass => "✔",
            Mark::Fail => "✖",
            Mark::Warn => "⚠",
            Mark::Skip => "–",
        }
    }
    pub fn color(self) -> Color32 {
        match self {
            Mark::Pass => good(),
            Mark::Fail => bad(),
            Mark::Warn => warn(),
            Mark::Skip => muted(),
        }
    }
}

impl From<crate::admin::CheckMark> for Mark {
    fn from(m: crate::admin::CheckMark) -> Mark {
        use crate::admin::CheckMark as C;
        match m {
            C::Pass => Mark::Pass,
            C::Fail => Mark::Fail,
            C::Warn => Mark::Warn,
            C::Skip => Mark::Skip,
        }
    }
}

/// A decision's checks in the order they were made, the failed one with what would change
/// it (tracking's "Why" of a refusal, the policy simulator's answer).
pub fn decision_steps(ui: &mut Ui, id_salt: &str, steps: &[crate::smtp::evidence::DecisionStep]) {
    use crate::smtp::evidence::StepOutcome;
    for (i, step) in steps.iter().enumerate() {
        let color = match step.outcome {
            StepOutcome::Passed => good(),
            StepOutcome::Failed => bad(),
            StepOutcome::NotReached => muted(),
        };
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(format!("{}.", i + 1)).color(muted()));
            ui.label(RichText::new(step.outcome.label()).color(color).strong());
            ui.label(RichText::new(&step.check).strong());
        });
        if !step.detail.is_empty() {
            ui.indent((id_salt, "detail", i), |ui| {
                ui.label(&step.detail);
            });
        }
        if let Some(fix) = &step.fix {
            ui.indent((id_salt, "fix", i), |ui| {
                note(ui, theme::info(), "ℹ", &format!("To change it: {fix}"));
            });
        }
    }
}

/// A fixed bar chart by day: no dragging or zooming, from 0 to `top` (headroom above the
/// tallest bar keeps the legend off it), bar `i` labelled `days[i]`.
pub fn day_chart(
    id: impl egui::AsIdSalt,
    height: f32,
    top: f64,
    days: Vec<String>,
) -> egui_plot::Plot<'static> {
    egui_plot::Plot::new(id)
        .height(height)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .include_y(0.0)
        .include_y(top)
        .legend(egui_plot::Legend::default())
        .x_axis_formatter(move |mark, _| {
            let i = mark.value.round();
            if (mark.value - i).abs() < 1e-6 && i >= 0.0 {
                days.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
}

/// A check line: a green, red or grey mark, the check, and what was found.
pub fn check_line(ui: &mut Ui, mark: Mark, what: &str, detail: &str) {
    ui.horizontal_wrapped(|ui| {
        ui.label(
            RichText::new(mark.glyph())
                .color(mark.color())
                .strong()
                .size(16.0),
        );
        ui.label(RichText::new(what).strong());
        if !detail.is_empty() {
            ui.label(RichText::new(detail).color(muted()));
        }
    });
}

/// A banner with the state of a form; returns true when the administrator dismissed it.
pub fn feedback(ui: &mut Ui, fb: Option<&Feedback>) -> bool {
    let Some(fb) = fb else { return false };
    let (color, icon, text) = match fb {
        Feedback::Working(t) => (info(), "", t.clone()),
        Feedback::Success(t) if t.is_empty() => return false,
        Feedback::Success(t) => (good(), "✔", t.clone()),
        Feedback::Info(t) => (info(), "ℹ", t.clone()),
        Feedback::Error(f) => (bad(), "✖", f.text.clone()),
    };
    let mut dismissed = false;
    let working = matches!(fb, Feedback::Working(_));
    banner(ui, color, |ui| {
        if working {
            ui.spinner();
        } else {
            ui.label(RichText::new(icon).color(color).strong());
        }
        dismissed = wrapped_text_and_button(ui, &text, (!working).then_some("Dismiss"));
    });
    ui.add_space(6.0);
    dismissed
}

/// A tinted box with a coloured edge, content laid out left to right.
pub fn banner(ui: &mut Ui, color: Color32, add: impl FnOnce(&mut Ui)) {
    egui::Frame::new()
        .fill(color.gamma_multiply(0.09))
        .stroke(Stroke::new(1.0, color.gamma_multiply(0.45)))
        .corner_radius(CornerRadius::same(6))
        .inner_margin(Margin::symmetric(10, 6))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(add);
        });
}

/// A banner for a message with no action attached.
pub fn note(ui: &mut Ui, color: Color32, icon: &str, text: &str) {
    banner(ui, color, |ui| {
        if !icon.is_empty() {
            ui.label(RichText::new(icon).color(color).strong());
        }
        ui.add(egui::Label::new(RichText::new(text).color(theme::text())).wrap());
    });
}

/// A white card with a border, for groups of fields and details panels.
pub fn card<R>(ui: &mut Ui, add: impl FnOnce(&mut Ui) -> R) -> R {
    egui::Frame::new()
        .fill(theme::card_fill())
        .stroke(Stroke::new(1.0, theme::line()))
        .corner_radius(CornerRadius::same(6))
        .inner_margin(Margin::same(12))
        .show(ui, add)
        .inner
}

/// Problems shown under a field, in red.
pub fn problems(ui: &mut Ui, problems: &[String]) {
    for p in problems {
        ui.label(RichText::new(format!("✖ {p}")).color(bad()).size(12.5));
    }
}

/// A labelled row of a form grid: the label, then the widget and its problems under it. The
/// widget is tied to its label, so tests and screen readers find it by the label's text.
pub fn field(
    ui: &mut Ui,
    label: &str,
    problems_here: &[String],
    add: impl FnOnce(&mut Ui) -> Response,
) -> Response {
    let l = ui.label(RichText::new(label).color(theme::text()));
    let r = ui
        .vertical(|ui| {
            let r = add(ui).labelled_by(l.id);
            problems(ui, problems_here);
            r
        })
        .inner;
    ui.end_row();
    r
}

/// A single-line text field in a form grid.
pub fn text_field(
    ui: &mut Ui,
    label: &str,
    value: &mut String,
    hint: &str,
    problems_here: &[String],
) -> Response {
    field(ui, label, problems_here, |ui| {
        ui.add_sized(
            [340.0, 22.0],
            egui::TextEdit::singleline(value).hint_text(hint),
        )
    })
}

/// A read-only value in a form grid.
pub fn value_row(ui: &mut Ui, label: &str, value: &str) {
    ui.label(RichText::new(label).color(muted()));
    ui.add(egui::Label::new(value).wrap());
    ui.end_row();
}

/// A form grid: labels on the left, fields on the right.
pub fn form_grid<R>(ui: &mut Ui, id: &str, add: impl FnOnce(&mut Ui) -> R) -> R {
    egui::Grid::new(id)
        .num_columns(2)
        .spacing([18.0, 8.0])
        .min_col_width(150.0)
        .show(ui, add)
        .inner
}

/// A property grid of label/value pairs (read-only).
pub fn property_grid(ui: &mut Ui, id: &str, items: &[(&str, String)]) {
    egui::Grid::new(id)
        .num_columns(2)
        .spacing([18.0, 6.0])
        .striped(true)
        .min_col_width(150.0)
        .show(ui, |ui| {
            for (k, v) in items {
                value_row(ui, k, v);
            }
        });
}

/// A list of values with a remove button each and a field to add one. `problem(i)` gives the
/// problems of entry `i`. Returns true when the list changed.
pub fn list_editor(
    ui: &mut Ui,
    what: &str,
    items: &mut Vec<String>,
    input: &mut String,
    problem: &dyn Fn(usize) -> Vec<String>,
) -> bool {
    let mut changed = false;
    let mut remove = None;
    ui.vertical(|ui| {
        if items.is_empty() {
            ui.label(RichText::new("(none)").color(muted()));
        }
        for (i, item) in items.iter().enumerate() {
            ui.horizontal(|ui| {
                ui.label(item.as_str());
                if ui
                    .small_button("✖")
                    .on_hover_text(format!("Remove {item}"))
                    .clicked()
                {
                    remove = Some(i);
                }
            });
            problems(ui, &problem(i));
        }
        ui.horizontal(|ui| {
            let r = ui.add(
                egui::TextEdit::singleline(input)
                    .hint_text(format!("New {what}"))
                    .desired_width(240.0),
            );
            accessible_name(&r, &format!("New {what}"));
            let r = r.on_hover_text(format!("New {what}"));
            let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if (ui.button(format!("Add {what}")).clicked() || enter) && !input.trim().is_empty() {
                for part in input.split([',', ' ', '\n']) {
                    let p = part.trim();
                    if !p.is_empty() && !items.iter().any(|x| x.eq_ignore_ascii_case(p)) {
                        items.push(p.to_string());
                    }
                }
                input.clear();
                changed = true;
            }
        });
    });
    if let Some(i) = remove {
        items.remove(i);
        changed = true;
    }
    changed
}

/// Monospace text in a shaded box, selectable.
pub fn code_block(ui: &mut Ui, text: &str) {
    egui::Frame::new()
        .fill(ui.visuals().code_bg_color)
        .stroke(Stroke::new(1.0, theme::line()))
        .corner_radius(CornerRadius::same(4))
        .inner_margin(Margin::same(8))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.add(egui::Label::new(RichText::new(text).monospace()).selectable(true));
        });
}

/// A button in the accent colour for the main action of a page or wizard step.
pub fn primary_button(ui: &mut Ui, text: &str, enabled: bool) -> Response {
    // Disabled, it looks like any disabled button (grey, dark muted text): white on pale blue
    // could not be read.
    let b = if enabled {
        egui::Button::new(RichText::new(text).color(Color32::WHITE).strong()).fill(theme::accent())
    } else {
        egui::Button::new(RichText::new(text).color(theme::muted()).strong())
            .fill(theme::button_fill())
    }
    .min_size(egui::vec2(88.0, 26.0));
    ui.add_enabled(enabled, b)
}

/// A standard data table: striped, resizable columns, rows selectable by click. Only the
/// visible rows are laid out (use `body.rows`).
pub fn table<'a>(ui: &'a mut Ui, id: &str) -> TableBuilder<'a> {
    // Selectable labels would take a click on a cell's text for themselves, and the row would
    // not be selected (egui_extras' own advice).
    ui.style_mut().interaction.selectable_labels = false;
    TableBuilder::new(ui)
        .id_salt(id)
        .striped(true)
        .resizable(true)
        .sense(egui::Sense::click())
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
}

/// A table header cell.
pub fn header(ui: &mut Ui, text: &str) {
    ui.label(RichText::new(text).strong().color(theme::text()));
}

/// A sortable header cell: shows the direction when it is the sort column; true when clicked.
pub fn sort_header(ui: &mut Ui, text: &str, sorted: Option<bool>) -> bool {
    let arrow = match sorted {
        Some(true) => " ⏶",
        Some(false) => " ⏷",
        None => "",
    };
    ui.add(
        egui::Button::new(RichText::new(format!("{text}{arrow}")).strong())
            .frame(false)
            .small(),
    )
    .on_hover_text(format!("Sort by {text}"))
    .clicked()
}

/// What a confirmation dialog answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
}

/// A modal confirmation: `question`, a detail line, and `yes` / Cancel. `None` while open.
pub fn confirm(ui: &mut Ui, id: &str, question: &str, detail: &str, yes: &str) -> Option<Answer> {
    confirm_styled(ui, id, question, detail, yes, false)
}

/// [`confirm`] for something that removes or turns off: the answer is a red button.
pub fn confirm_danger(
    ui: &mut Ui,
    id: &str,
    question: &str,
    detail: &str,
    yes: &str,
) -> Option<Answer> {
    confirm_styled(ui, id, question, detail, yes, true)
}

/// A red button for what removes or turns off.
pub fn danger_button(ui: &mut Ui, text: &str, enabled: bool) -> Response {
    let b = egui::Button::new(RichText::new(text).color(Color32::WHITE).strong())
        .fill(theme::bad())
        .min_size(egui::vec2(88.0, 26.0));
    ui.add_enabled(enabled, b)
}

fn confirm_styled(
    ui: &mut Ui,
    id: &str,
    question: &str,
    detail: &str,
    yes: &str,
    danger: bool,
) -> Option<Answer> {
    let mut answer = None;
    let frame = egui::Frame::popup(ui.style())
        .inner_margin(Margin::same(20))
        .corner_radius(CornerRadius::same(8));
    let modal = egui::Modal::new(egui::Id::unique(id))
        .frame(frame)
        .show(ui.ctx(), |ui| {
            ui.set_max_width(460.0);
            ui.label(RichText::new(question).strong().size(16.0));
            ui.add_space(4.0);
            if !detail.is_empty() {
                ui.add(egui::Label::new(RichText::new(detail).color(muted())).wrap());
            }
            ui.add_space(10.0);
            ui.horizontal(|ui| {
                let yes = if danger {
                    danger_button(ui, yes, true)
                } else {
                    primary_button(ui, yes, true)
                };
                if yes.clicked() {
                    answer = Some(Answer::Yes);
                }
                if ui.button("Cancel").clicked() {
                    answer = Some(Answer::No);
                }
            });
        });
    if modal.should_close() && answer.is_none() {
        answer = Some(Answer::No);
    }
    answer
}

/// A text path field with a Browse button. Returns true when Browse was clicked.
pub fn path_field(ui: &mut Ui, label: &str, path: &mut String, problems_here: &[String]) -> bool {
    let mut browse = false;
    field(ui, label, problems_here, |ui| {
        ui.horizontal(|ui| {
            let r = ui.add_sized(
                [420.0, 22.0],
                egui::TextEdit::singleline(path).hint_text("/path/to/file"),
            );
            if ui
                .button("Browse…")
                .on_hover_text("Choose the file in a dialog")
                .clicked()
            {
                browse = true;
            }
            r
        })
        .inner
    });
    browse
}

/// Splits the space left in `ui`: `right` gets `width` on the right, `left` the rest (with a
/// gap). Both fill the height.
pub fn split_right(
    ui: &mut Ui,
    width: f32,
    left: impl FnOnce(&mut Ui),
    right: impl FnOnce(&mut Ui),
) {
    let rect = ui.available_rect_before_wrap();
    let gap = 14.0;
    // The gap between the two sides is a handle: dragging it resizes the right side, and the
    // width is remembered for the session.
    let id = ui.scope_id().with("split-width");
    let mut w = ui
        .data(|d| d.get_temp::<f32>(id))
        .unwrap_or(width)
        .clamp(240.0, (rect.width() * 0.7).max(240.0))
        .min(rect.width() * 0.7);
    let handle = egui::Rect::from_min_max(
        egui::pos2(rect.max.x - w - gap, rect.min.y),
        egui::pos2(rect.max.x - w, rect.max.y),
    );
    let drag = ui
        .interact(handle, id, egui::Sense::drag())
        .on_hover_cursor(egui::CursorIcon::ResizeHorizontal);
    if drag.dragged() {
        w = (w - drag.drag_delta().x).clamp(240.0, (rect.width() * 0.7).max(240.0));
        ui.data_mut(|d| d.insert_temp(id, w));
    }
    if drag.hovered() || drag.dragged() {
        ui.painter().vline(
            handle.center().x,
            handle.y_range(),
            egui::Stroke::new(2.0, theme::line()),
        );
    }
    let right_rect = egui::Rect::from_min_max(egui::pos2(rect.max.x - w, rect.min.y), rect.max);
    let left_rect =
        egui::Rect::from_min_max(rect.min, egui::pos2(rect.max.x - w - gap, rect.max.y));
    let clip = ui.clip_rect();
    let mut l = ui.new_child(
        egui::UiBuilder::new()
            .id_salt("split-left")
            .max_rect(left_rect),
    );
    l.set_clip_rect(left_rect.intersect(clip));
    left(&mut l);
    let mut r = ui.new_child(
        egui::UiBuilder::new()
            .id_salt("split-right")
            .max_rect(right_rect),
    );
    r.set_clip_rect(right_rect.intersect(clip));
    right(&mut r);
    ui.advance_cursor_after_rect(rect);
}

/// A white panel filling its space, for side panels.
pub fn side_panel<R>(ui: &mut Ui, add: impl FnOnce(&mut Ui) -> R) -> R {
    let rect = ui.available_rect_before_wrap();
    egui::Frame::new()
        .fill(theme::card_fill())
        .stroke(Stroke::new(1.0, theme::line()))
        .corner_radius(CornerRadius::same(6))
        .inner_margin(Margin::same(12))
        .show(ui, |ui| {
            ui.set_min_size(rect.size() - egui::vec2(26.0, 26.0));
            ui.set_max_width(rect.width() - 26.0);
            add(ui)
        })
        .inner
}

/// A left-aligned label in a box of fixed width (for aligned rows outside grids).
pub fn fixed_label(ui: &mut Ui, width: f32, text: impl Into<egui::WidgetText>) -> Response {
    ui.allocate_ui_with_layout(
        egui::vec2(width, 22.0),
        egui::Layout::left_to_right(egui::Align::Center),
        |ui| {
            ui.set_min_width(width);
            ui.label(text)
        },
    )
    .inner
}

/// Gives a widget an accessible name (for screen readers and tests) when no visible label
/// names it.
pub fn accessible_name(r: &Response, name: &str) {
    r.ctx
        .accesskit_node_builder(r.id, |b| b.set_label(name.to_string()));
}

/// Wrapped text filling the row, with an optional small button kept at its right end.
/// Returns true when the button was clicked.
pub fn wrapped_text_and_button(ui: &mut Ui, text: &str, button: Option<&str>) -> bool {
    let reserve = if button.is_some() { 90.0 } else { 0.0 };
    let w = (ui.available_width() - reserve).max(120.0);
    ui.allocate_ui(egui::vec2(w, 18.0), |ui| {
        ui.add(egui::Label::new(RichText::new(text).color(theme::text())).wrap());
    });
    match button {
        Some(b) => ui
            .small_button(b)
            .on_hover_text("Hide this message")
            .clicked(),
        None => false,
    }
}

/// The keyboard on a list: Up/Down move the selection among the rows' `keys` (in their shown
/// order), Home/End go to the first/last — unless a text field has the keyboard. The keys are
/// asked for only when such a key was pressed (a list may hold 100 000 rows). Returns the
/// row newly selected (its position and key), to select it and scroll it into view.
pub fn arrow_selection<T: PartialEq + Clone>(
    ui: &Ui,
    keys: impl FnOnce() -> Vec<T>,
    selected: Option<&T>,
) -> Option<(usize, T)> {
    let (down, up, home, end) = ui.input(|i| {
        (
            i.key_pressed(egui::Key::ArrowDown),
            i.key_pressed(egui::Key::ArrowUp),
            i.key_pressed(egui::Key::Home),
            i.key_pressed(egui::Key::End),
        )
    });
    if !(down || up || home || end) || ui.ctx().egui_wants_keyboard_input() {
        return None;
    }
    let keys = keys();
    if keys.is_empty() {
        return None;
    }
    let last = keys.len() - 1;
    let current = selected.and_then(|s| keys.iter().position(|k| k == s));
    let next = match current {
        _ if home => 0,
        _ if end => last,
        None if down || up => 0,
        Some(c) if down => (c + 1).min(last),
        Some(c) if up => c.saturating_sub(1),
        _ => return None,
    };
    (Some(next) != current).then(|| (next, keys[next].clone()))
}

/// "📃 Protocol log" for one session: the action that opens its lines in the protocol log
/// viewer, when clicked.
pub fn protocol_log_button(
    ui: &mut Ui,
    text: &str,
    direction: crate::store::protocol_logs::LogDirection,
    time_ms: i64,
    session: &str,
) -> Option<crate::ui::app::actions::Action> {
    ui.small_button(text)
        .on_hover_text("Every line the relay logged for this session")
        .clicked()
        .then(|| crate::ui::app::actions::Action::OpenProtocolLog {
            direction,
            day: crate::ui::pages::tracking::log_day(time_ms),
            session: session.to_string(),
        })
}

/// How a table is sorted: by which column, which way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sort {
    pub column: usize,
    pub ascending: bool,
}

impl Sort {
    /// A click on a column's header: the sorted column turns around, another sorts ascending.
    pub fn clicked(current: Option<Sort>, column: usize) -> Sort {
        match current {
            Some(s) if s.column == column => Sort {
                column,
                ascending: !s.ascending,
            },
            _ => Sort {
                column,
                ascending: true,
            },
        }
    }
}

/// What a row is sorted by in one column: a number (days left, counts, times) or a text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortKey {
    Number(i64),
    Text(String),
}

impl SortKey {
    pub fn text(t: &str) -> SortKey {
        SortKey::Text(t.to_lowercase())
    }
}

/// Headers that sort their table (an empty title makes a plain header); returns the sort
/// after a click, if one was made.
pub fn sort_headers(
    h: &mut egui_extras::TableRow<'_, '_>,
    titles: &[&str],
    sort: Option<Sort>,
) -> Option<Sort> {
    let mut out = None;
    for (i, t) in titles.iter().enumerate() {
        h.col(|ui| {
            if t.is_empty() {
                return;
            }
            let sorted = sort.filter(|s| s.column == i).map(|s| s.ascending);
            if sort_header(ui, t, sorted) {
                out = Some(Sort::clicked(sort, i));
            }
        });
    }
    out
}

/// The rows' order under `sort` (indices into `rows`); the given order when unsorted.
pub fn sorted_order<T>(
    rows: &[T],
    sort: Option<Sort>,
    key: impl Fn(&T, usize) -> SortKey,
) -> Vec<usize> {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    if let Some(s) = sort {
        order.sort_by_cached_key(|&i| key(&rows[i], s.column));
        if !s.ascending {
            order.reverse();
        }
    }
    order
}
