//! Organization › Accepted domains: mail for these domains is delivered to local mailboxes.
//! Add one by name; remove one after a confirmation.

use super::Cx;
use crate::ui::app::actions::{Action, Form, SettingsChange};
use crate::ui::widgets::theme::muted;
use crate::ui::widgets::{self, Answer};
use egui::{RichText, Ui};
use egui_extras::Column;

const FORM: Form = Form::AcceptedDomains;

#[derive(Default)]
pub struct DomainsView {
    pub input: String,
    confirm_remove: Option<String>,
}

pub fn accepted_domains_page(ui: &mut Ui, v: &mut DomainsView, cx: &mut Cx) {
    widgets::page_header(
        ui,
        "Accepted domains",
        "Mail for these domains is delivered to local mailboxes. The first one is the organization's domain: our SMTP certificate should name it.",
    );
    cx.feedback(ui, FORM);
    ui.horizontal(|ui| {
        let l = ui.label("New accepted domain");
        let r = ui
            .add(
                egui::TextEdit::singleline(&mut v.input)
                    .hint_text("sales.contoso.com")
                    .desired_width(260.0),
            )
            .labelled_by(l.id);
        let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (ui.button("Add domain").clicked() || enter) && !v.input.trim().is_empty() {
            cx.push(Action::Change {
                form: FORM,
                change: SettingsChange::AddAcceptedDomain(v.input.trim().to_string()),
            });
        }
    });
    widgets::problems(ui, &cx.problems_at(FORM, "accepted_domains"));
    ui.add_space(8.0);
    let list = cx.data.settings.accepted_domains.clone();
    let mut remove = None;
    widgets::table(ui, "domains")
        .column(Column::initial(260.0).clip(true))
        .column(Column::initial(320.0).clip(true))
        .column(Column::remainder())
        .header(24.0, |mut h| {
            for t in ["Domain", "Recipients", ""] {
                h.col(|ui| widgets::header(ui, t));
            }
        })
        .body(|body| {
            body.rows(26.0, list.len(), |mut row| {
                let i = row.index();
                let d = &list[i];
                row.col(|ui| {
                    ui.label(RichText::new(&d.domain).strong());
                    if i == 0 {
                        ui.label(RichText::new("organization domain").color(muted()).size(12.0));
                    }
                });
                row.col(|ui| {
                    match &d.recipients {
                        Some(r) => ui.label(r.join(", ")),
                        None => ui.label(RichText::new("any mailbox").color(muted())),
                    };
                });
                row.col(|ui| {
                    if i == 0 {
                        // The same rule as the command line's (admin): said before it is tried.
                        ui.add_enabled(false, egui::Button::new("Remove").small())
                            .on_disabled_hover_text(
                                "The organization's domain stays: the postmaster, notices, TLS reports and the name partners check are in it",
                            );
                    } else if ui
                        .small_button("Remove")
                        .on_hover_text(format!("Remove {}", d.domain))
                        .clicked()
                    {
                        remove = Some(d.domain.clone());
                    }
                });
            });
        });
    if remove.is_some() {
        v.confirm_remove = remove;
    }
    if let Some(d) = v.confirm_remove.clone() {
        match widgets::confirm_danger(
            ui,
            "remove-domain",
            &format!("Remove accepted domain {d}?"),
            "Mail for it is no longer delivered here; senders get 550 5.7.1 (relay denied) unless a connector lets them relay.",
            "Remove",
        ) {
            Some(Answer::Yes) => {
                cx.push(Action::Change {
                    form: FORM,
                    change: SettingsChange::RemoveAcceptedDomain(d),
                });
                v.confirm_remove = None;
            }
            Some(Answer::No) => v.confirm_remove = None,
            None => {}
        }
    }
}
