//! The page both connector kinds are shown on: the list with each connector's status and a
//! one-click Domain Security switch, New and Remove with their confirmations, and the property
//! pages edited as a draft and saved as one checked change. What differs between a receive and
//! a send connector (its settings, columns and tabs) is told by a [`ConnectorKind`].

use super::Cx;
use super::connector_common::{self as common, LocalErrors, Toggle, field_problems};
use crate::config::Connector;
use crate::ui::app::actions::{Action, Form, SettingsChange};
use crate::ui::state::model::ConsoleData;
use crate::ui::widgets::nav::Page;
use crate::ui::widgets::theme::{good, muted};
use crate::ui::widgets::{self, Answer};
use egui::{RichText, Ui};
use egui_extras::{Column, TableRow};
use std::fmt::Debug;

/// A kind of connector (receive or send): its settings, and what its page shows of them.
pub trait ConnectorKind: Sized {
    /// The connector's settings, as stored.
    type Connector: Connector;
    /// The settings typed as text in the draft (numbers, sizes, spans, list inputs).
    type Text: Clone + Debug + PartialEq;
    /// The property pages.
    type Tab: Copy + Debug + PartialEq + Default + 'static;

    const FORM: Form;
    const PAGE: Page;
    const TITLE: &'static str;
    const SUMMARY: &'static str;
    const NEW_BUTTON: &'static str;
    /// What removing one does, for the confirmation.
    const REMOVE_DETAIL: &'static str;
    const HEADERS: &'static [&'static str];
    const TABS: &'static [(Self::Tab, &'static str)];
    /// How many columns [`Self::last_cells`] draws.
    const LAST_COLUMNS: usize;

    /// What "New" starts from.
    fn new_connector() -> Self::Connector;
    fn text(c: &Self::Connector) -> Self::Text;
    /// The connector with the draft's text parsed into it, or the fields that do not parse.
    fn build(c: &Self::Connector, text: &Self::Text) -> Result<Self::Connector, LocalErrors>;
    /// Takes over a Domain Security switch saved while the draft was being edited.
    fn follow_switch(draft: &mut Self::Connector, saved: &Self::Connector);
    fn columns() -> Vec<Column>;
    /// The cells between Status and Domain Security.
    fn middle_cells(row: &mut TableRow, c: &Self::Connector, cx: &Cx);
    /// The cells after Domain Security.
    fn last_cells(row: &mut TableRow, c: &Self::Connector);
    /// What a connector is sorted by in one of the middle or last columns (counted from the
    /// first middle column).
    fn sort_key(c: &Self::Connector, column: usize) -> widgets::SortKey;
    /// One property page.
    fn property_tab(ui: &mut Ui, tab: Self::Tab, d: &mut Draft<Self>, p: &FieldProblems);
    fn save(index: usize, c: Self::Connector) -> SettingsChange;
    /// The `mailflow connector …` arguments that make the same change (`None` for a rename).
    fn equivalent(before: Option<&Self::Connector>, after: &Self::Connector)
    -> Option<Vec<String>>;
    fn remove(name: String) -> SettingsChange;
}

/// What a [`Draft`] edits: a connector already saved, or one not created yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edits {
    SavedConnector,
    NewConnector,
}

/// An unsaved edit of one connector.
#[derive(Clone, Debug)]
pub struct Draft<K: ConnectorKind> {
    pub index: usize,
    pub c: K::Connector,
    /// The saved connector; `None` for a new one.
    pub base: Option<K::Connector>,
    pub text: K::Text,
}

impl<K: ConnectorKind> PartialEq for Draft<K> {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index
            && self.c == other.c
            && self.base == other.base
            && self.text == other.text
    }
}

impl<K: ConnectorKind> Draft<K> {
    pub fn of(index: usize, c: &K::Connector, edits: Edits) -> Draft<K> {
        Draft {
            index,
            base: (edits == Edits::SavedConnector).then(|| c.clone()),
            text: K::text(c),
            c: c.clone(),
        }
    }

    pub fn is_new(&self) -> bool {
        self.base.is_none()
    }

    fn dirty(&self) -> bool {
        match &self.base {
            None => true,
            Some(b) => *self != Draft::of(self.index, b, Edits::SavedConnector),
        }
    }

    /// The "Enable Domain Security (Mutual Auth TLS)" box of the property pages: a field of
    /// the draft like the boxes beside it, saved with them (Save asks for confirmation when it
    /// switches Domain Security). The list's switch changes it alone, at once.
    pub fn domain_secure_box(&mut self, ui: &mut Ui) {
        const LABEL: &str = "Enable Domain Security (Mutual Auth TLS)";
        let name = format!("Domain Security on {}", self.c.name());
        let r = ui.checkbox(self.c.domain_secure_mut(), LABEL);
        widgets::accessible_name(&r, &name);
    }
}

/// The problems of a draft's fields: the worker's, by path, and the local parse errors.
pub struct FieldProblems<'a, 'c> {
    pub cx: &'a Cx<'c>,
    form: Form,
    base: String,
    local: &'a LocalErrors,
}

impl FieldProblems<'_, '_> {
    /// The problems of `field` and below it.
    pub fn at(&self, field: &str) -> Vec<String> {
        field_problems(self.cx, self.form, &self.base, field, self.local)
    }

    /// The problems of `field` itself.
    pub fn exact(&self, field: &str) -> Vec<String> {
        self.cx
            .feedback
            .problems_exact(self.form, &format!("{}.{field}", self.base))
    }
}

/// The view state of a connector page.
pub struct View<K: ConnectorKind> {
    pub selected: Option<usize>,
    pub draft: Option<Draft<K>>,
    pub tab: K::Tab,
    local: LocalErrors,
    pub toggle: Option<Toggle>,
    confirm_remove: Option<String>,
    /// The list's sort (a header clicked).
    pub sort: Option<widgets::Sort>,
}

impl<K: ConnectorKind> Default for View<K> {
    fn default() -> Self {
        View {
            selected: None,
            draft: None,
            tab: K::Tab::default(),
            local: LocalErrors::new(),
            toggle: None,
            confirm_remove: None,
            sort: None,
        }
    }
}

impl<K: ConnectorKind> View<K> {
    pub fn reloaded(&mut self, data: &ConsoleData) {
        let list = K::Connector::all(&data.settings);
        if let Some(d) = &mut self.draft {
            match list.get(d.index) {
                Some(c) if !d.dirty() => *d = Draft::of(d.index, c, Edits::SavedConnector),
                Some(c) => {
                    // Keep the edit, but follow a Domain Security switch made meanwhile.
                    K::follow_switch(&mut d.c, c);
                    if let Some(b) = &mut d.base {
                        K::follow_switch(b, c);
                    }
                }
                None if d.base.is_some() => self.draft = None,
                None => {}
            }
        }
        if self.selected.is_some_and(|i| i >= list.len()) {
            self.selected = None;
        }
    }

    pub fn saved(&mut self) {
        if let Some(d) = &self.draft {
            self.selected = Some(d.index);
        }
        self.draft = None;
        self.local.clear();
    }
}

pub fn connectors_page<K: ConnectorKind>(ui: &mut Ui, v: &mut View<K>, cx: &mut Cx) {
    widgets::page_header(ui, K::TITLE, K::SUMMARY);
    cx.relay_problems(ui, K::PAGE);
    cx.feedback(ui, K::FORM);
    let list = K::Connector::all(&cx.data.settings).to_vec();
    ui.horizontal(|ui| {
        if ui.button(K::NEW_BUTTON).clicked() {
            v.draft = Some(Draft::of(
                list.len(),
                &K::new_connector(),
                Edits::NewConnector,
            ));
            v.selected = None;
            v.tab = K::Tab::default();
            v.local.clear();
            cx.push(Action::Dismiss(K::FORM));
        }
        let sel = v.selected.and_then(|i| list.get(i));
        if ui
            .add_enabled(sel.is_some(), egui::Button::new("Remove…"))
            .clicked()
            && let Some(c) = sel
        {
            v.confirm_remove = Some(c.name().to_string());
        }
    });
    ui.add_space(4.0);
    let (clicked_row, toggle, resort) = connector_table::<K>(ui, &list, v.selected, v.sort, cx);
    if resort.is_some() {
        v.sort = resort;
    }
    if let Some(t) = toggle {
        v.toggle = Some(t);
    }
    if let Some(i) = clicked_row
        && v.selected != Some(i)
    {
        v.selected = Some(i);
        v.draft = None;
        v.local.clear();
        cx.push(Action::Dismiss(K::FORM));
    }
    common::confirm_toggle(ui, &mut v.toggle, cx);
    if let Some(name) = v.confirm_remove.clone() {
        match widgets::confirm_danger(
            ui,
            &format!("remove-{}", K::Connector::KIND),
            &format!("Remove {} connector '{name}'?", K::Connector::KIND),
            K::REMOVE_DETAIL,
            "Remove",
        ) {
            Some(Answer::Yes) => {
                cx.push(Action::Change {
                    form: K::FORM,
                    change: K::remove(name),
                });
                v.confirm_remove = None;
                v.selected = None;
                v.draft = None;
            }
            Some(Answer::No) => v.confirm_remove = None,
            None => {}
        }
    }
    ui.add_space(10.0);
    if v.draft.is_none()
        && let Some(i) = v.selected
        && let Some(c) = list.get(i)
    {
        v.draft = Some(Draft::of(i, c, Edits::SavedConnector));
    }
    match v.draft.as_mut() {
        None => {
            ui.label(
                RichText::new("Select a connector to see and change its properties.")
                    .color(muted()),
            );
        }
        Some(d) => {
            if connector_properties(ui, d, &mut v.tab, &mut v.local, &mut v.toggle, cx) {
                v.draft = None;
            }
        }
    }
}

/// The list of connectors; returns the row clicked and the Domain Security switch clicked.
fn connector_table<K: ConnectorKind>(
    ui: &mut Ui,
    list: &[K::Connector],
    selected: Option<usize>,
    sort: Option<widgets::Sort>,
    cx: &Cx,
) -> (Option<usize>, Option<Toggle>, Option<widgets::Sort>) {
    // Shown in the sort's order; a row still stands for its connector's index.
    let ds_column = 2 + K::HEADERS.len() - 3 - K::LAST_COLUMNS;
    let keys = widgets::sorted_order(list, sort, |c, column| match column {
        0 => widgets::SortKey::text(c.name()),
        1 => widgets::SortKey::Number((!c.enabled()).into()),
        n if n == ds_column => widgets::SortKey::Number((!c.domain_secure()).into()),
        n if n > ds_column => K::sort_key(c, n - 3),
        n => K::sort_key(c, n - 2),
    });
    let mut resort = None;
    let arrowed = widgets::arrow_selection(ui, || keys.clone(), selected.as_ref());
    // The arrows give a position in the shown order and the connector's index there.
    let mut clicked_row = arrowed.map(|(_, index)| index);
    let mut toggle = None;
    ui.push_id(format!("{}-table", K::Connector::KIND), |ui| {
        let mut t = widgets::table(ui, K::Connector::KIND);
        if let Some((position, _)) = arrowed {
            t = t.scroll_to_row(position, None);
        }
        for c in K::columns() {
            t = t.column(c);
        }
        t.max_scroll_height(170.0)
            .header(24.0, |mut h| {
                resort = widgets::sort_headers(&mut h, K::HEADERS, sort);
            })
            .body(|body| {
                body.rows(26.0, list.len(), |mut row| {
                    let Some(&i) = keys.get(row.index()) else {
                        return;
                    };
                    let c = &list[i];
                    row.set_selected(selected == Some(i));
                    row.col(|ui| {
                        ui.label(RichText::new(c.name()).strong());
                    });
                    row.col(|ui| {
                        if c.enabled() {
                            ui.label(RichText::new("Enabled").color(good()));
                        } else {
                            ui.label(RichText::new("Disabled").color(muted()));
                        }
                    });
                    K::middle_cells(&mut row, c, cx);
                    row.col(|ui| {
                        let on = c.domain_secure();
                        let text = if on { "On" } else { "Off" };
                        if let Some(t) =
                            common::domain_secure_box(ui, on, K::Connector::TYPE, c.name(), text)
                        {
                            toggle = Some(t);
                        }
                    });
                    K::last_cells(&mut row, c);
                    if row.response().clicked() {
                        clicked_row = Some(i);
                    }
                });
            });
    });
    (clicked_row, toggle, resort)
}

fn connector_properties<K: ConnectorKind>(
    ui: &mut Ui,
    d: &mut Draft<K>,
    tab: &mut K::Tab,
    local: &mut LocalErrors,
    toggle: &mut Option<Toggle>,
    cx: &mut Cx,
) -> bool {
    let mut discard = false;
    let base = format!("{}_connectors[{}]", K::Connector::KIND, d.index);
    let is_new = d.is_new();
    widgets::card(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(
            RichText::new(if is_new {
                format!("New {} connector", K::Connector::KIND)
            } else {
                format!(
                    "Properties of '{}'",
                    d.base.as_ref().map(|b| b.name()).unwrap_or("")
                )
            })
            .strong()
            .size(15.5),
        );
        widgets::problems(ui, &cx.feedback.problems_exact(K::FORM, &base));
        ui.add_space(4.0);
        super::tabs(ui, tab, K::TABS);
        let problems = FieldProblems {
            cx,
            form: K::FORM,
            base: base.clone(),
            local,
        };
        egui::ScrollArea::vertical()
            .id_salt(format!("{}-props", K::Connector::KIND))
            .max_height((ui.available_height() - 50.0).max(120.0))
            .auto_shrink([false, true])
            .show(ui, |ui| K::property_tab(ui, *tab, d, &problems));
        ui.add_space(6.0);
        ui.separator();
        ui.horizontal(|ui| {
            let busy = cx.busy(K::FORM);
            if widgets::primary_button(
                ui,
                if is_new { "Create" } else { "Save" },
                d.dirty() && !busy,
            )
            .clicked()
            {
                match K::build(&d.c, &d.text) {
                    Ok(c) => {
                        local.clear();
                        let switches = d
                            .base
                            .as_ref()
                            .filter(|b| b.domain_secure() != c.domain_secure());
                        match switches {
                            // Switching Domain Security is confirmed first, as from the list.
                            Some(b) => {
                                *toggle = Some(Toggle {
                                    kind: K::Connector::TYPE,
                                    name: b.name().to_string(),
                                    enable: c.domain_secure(),
                                    save: Some(K::save(d.index, c)),
                                })
                            }
                            None => cx.push(Action::Change {
                                form: K::FORM,
                                change: K::save(d.index, c),
                            }),
                        }
                    }
                    Err(e) => *local = e,
                }
            }
            if ui
                .add_enabled(
                    d.dirty(),
                    egui::Button::new(if is_new { "Cancel" } else { "Revert" }),
                )
                .clicked()
            {
                match d.base.clone() {
                    Some(b) => *d = Draft::of(d.index, &b, Edits::SavedConnector),
                    None => discard = true,
                }
                local.clear();
                cx.push(Action::Dismiss(K::FORM));
            }
            // The whole command, copyable: only what the draft changes.
            let command = match K::build(&d.c, &d.text) {
                Ok(c) => match K::equivalent(d.base.as_ref(), &c) {
                    // `connector send set NAME` and nothing more: no change yet.
                    Some(args) if args.len() <= 4 && !is_new => Err("nothing changed yet"),
                    Some(args) => Ok(crate::admin::commands::shell_line(&args)),
                    None => Err("renaming has no command-line equivalent"),
                },
                Err(_) => Err("fix the fields above first"),
            };
            match command {
                Ok(line) => {
                    if ui
                        .small_button("Copy")
                        .on_hover_text("Copy the equivalent command")
                        .clicked()
                    {
                        ui.ctx().copy_text(line.clone());
                    }
                    ui.add(
                        egui::Label::new(
                            RichText::new(format!("Equivalent: {line}"))
                                .color(muted())
                                .size(12.0),
                        )
                        .truncate(),
                    )
                    .on_hover_text(line);
                }
                Err(why) => {
                    ui.label(
                        RichText::new(format!("Equivalent: {why}"))
                            .color(muted())
                            .size(12.0),
                    );
                }
            }
        });
    });
    discard
}
