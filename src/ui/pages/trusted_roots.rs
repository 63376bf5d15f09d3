//! Server › Trusted roots: the root CAs whose certificates this server accepts. A partner
//! organization's root goes here (from a file: typed, chosen in a dialog, or dropped on the
//! window). Removing one asks first. Below them, the revocation lists (CRLs) of partner CAs:
//! added from a file, with their next-update date, marked when it has passed.

use super::Cx;
use crate::ui::app::actions::{Action, Form, PickTarget};
use crate::ui::widgets::format;
use crate::ui::widgets::theme::{bad, good, muted, warn};
use crate::ui::widgets::{self, Answer};
use egui::{RichText, Ui};
use egui_extras::Column;

const FORM: Form = Form::TrustedRoots;

#[derive(Default)]
pub struct RootsView {
    pub path: String,
    /// The CRL file to add.
    pub crl_path: String,
    pub selected: Option<String>,
    confirm_remove: Option<(String, String)>,
    /// The list's sort (a header clicked).
    pub sort: Option<widgets::Sort>,
    /// The revocation lists' sort.
    pub crl_sort: Option<widgets::Sort>,
}

pub fn trusted_roots_page(ui: &mut Ui, v: &mut RootsView, cx: &mut Cx) {
    widgets::page_header(
        ui,
        "Trusted roots",
        "Root CAs whose certificates this server accepts. Import a partner organization's root here before Domain Security with it.",
    );
    cx.feedback(ui, FORM);
    widgets::card(ui, |ui| {
        ui.set_width(ui.available_width());
        widgets::form_grid(ui, "roots-add", |ui| {
            if widgets::path_field(ui, "Root CA certificate file", &mut v.path, &[]) {
                cx.push(Action::Pick {
                    target: PickTarget::TrustRootFile,
                    save: false,
                    file_name: String::new(),
                });
            }
        });
        ui.horizontal(|ui| {
            let ok = !v.path.trim().is_empty() && !cx.busy(FORM);
            if widgets::primary_button(ui, "Trust this root", ok).clicked() {
                cx.push(Action::TrustAdd(v.path.trim().into()));
            }
            ui.label(
                RichText::new(format!(
                    "Equivalent: mailflow trust add {}",
                    if v.path.trim().is_empty() {
                        "FILE".to_string()
                    } else {
                        format::shell_arg(v.path.trim())
                    }
                ))
                .color(muted())
                .size(12.0),
            );
        });
    });
    ui.add_space(10.0);
    let all = &cx.data.roots;
    let roots: Vec<_> = widgets::sorted_order(all, v.sort, |r, column| match column {
        0 => widgets::SortKey::text(&r.thumbprint),
        1 => widgets::SortKey::text(&r.subject),
        2 => widgets::SortKey::Number(r.not_after.unix_timestamp()),
        _ => widgets::SortKey::Number(i64::from(r.current)),
    })
    .into_iter()
    .map(|i| all[i].clone())
    .collect();
    let mut resort = None;
    let arrowed = widgets::arrow_selection(
        ui,
        || roots.iter().map(|r| r.thumbprint.clone()).collect(),
        v.selected.as_ref(),
    );
    let mut clicked = arrowed.as_ref().map(|(_, k)| k.clone());
    let mut remove = None;
    let mut inspect = None;
    let width = ui.available_width();
    // As tall as its rows (scrolling beyond 12), so the revocation lists follow right below.
    let height = 30.0 + 26.0 * roots.len().clamp(1, 12) as f32;
    ui.allocate_ui(egui::vec2(width, height), |ui| {
        let mut table = widgets::table(ui, "roots");
        if let Some((i, _)) = arrowed {
            table = table.scroll_to_row(i, None);
        }
        table
            // At 1280 px the buttons of the last column stay in view.
            .column(Column::initial(300.0).clip(true))
            .column(Column::initial(290.0).clip(true))
            .column(Column::initial(96.0))
            .column(Column::initial(84.0))
            .column(Column::remainder().at_least(150.0))
            .header(24.0, |mut h| {
                resort = widgets::sort_headers(
                    &mut h,
                    &["Thumbprint", "Subject", "Expires", "Status", ""],
                    v.sort,
                );
            })
            .body(|body| {
                body.rows(26.0, roots.len(), |mut row| {
                    let r = &roots[row.index()];
                    row.set_selected(v.selected.as_deref() == Some(r.thumbprint.as_str()));
                    row.col(|ui| {
                        ui.label(RichText::new(&r.thumbprint).monospace());
                    });
                    row.col(|ui| {
                        ui.label(&r.subject);
                        if r.lab_ca {
                            ui.label(RichText::new("lab CA").color(muted()).size(12.0));
                        }
                    });
                    row.col(|ui| {
                        ui.label(format::date(r.not_after));
                    });
                    row.col(|ui| {
                        if r.current {
                            ui.label(RichText::new("Valid").color(good()));
                        } else {
                            ui.label(RichText::new("DateInvalid").color(bad()));
                        }
                    });
                    row.col(|ui| {
                        if ui
                            .small_button("Inspect")
                            .on_hover_text(format!("Inspect {}", r.subject))
                            .clicked()
                        {
                            inspect = Some(r.thumbprint.clone());
                        }
                        if ui
                            .small_button("Remove")
                            .on_hover_text(format!("Stop trusting {}", r.subject))
                            .clicked()
                        {
                            remove = Some((r.thumbprint.clone(), r.subject.clone()));
                        }
                    });
                    if row.response().clicked() {
                        clicked = Some(r.thumbprint.clone());
                    }
                });
            });
    });
    if clicked.is_some() {
        v.selected = clicked;
    }
    if resort.is_some() {
        v.sort = resort;
    }
    if let Some(thumbprint) = inspect {
        cx.push(Action::InspectStored(thumbprint));
    }
    if remove.is_some() {
        v.confirm_remove = remove;
    }
    ui.add_space(14.0);
    ui.scope(|ui| {
        ui.set_max_width(width);
        revocation_lists(ui, v, cx);
    });
    if let Some((thumbprint, subject)) = v.confirm_remove.clone() {
        match widgets::confirm_danger(
            ui,
            "remove-root",
            &format!("Stop trusting {subject}?"),
            "Certificates issued under this root are no longer accepted: partners using it fail Domain Security until it is trusted again.",
            "Remove",
        ) {
            Some(Answer::Yes) => {
                cx.push(Action::TrustRemove(thumbprint));
                v.confirm_remove = None;
            }
            Some(Answer::No) => v.confirm_remove = None,
            None => {}
        }
    }
}

/// The revocation lists section: add a CRL file, the lists with their dates, remove.
fn revocation_lists(ui: &mut Ui, v: &mut RootsView, cx: &mut Cx) {
    ui.heading("Revocation lists");
    ui.label(
        RichText::new(
            "A partner certificate its CA has revoked fails Domain Security. Add the CA's CRL here (PEM or DER); lists named by certificates are also downloaded by the relay.",
        )
        .color(muted()),
    );
    widgets::card(ui, |ui| {
        ui.set_width(ui.available_width());
        widgets::form_grid(ui, "crl-add", |ui| {
            if widgets::path_field(ui, "Revocation list (CRL) file", &mut v.crl_path, &[]) {
                cx.push(Action::Pick {
                    target: PickTarget::CrlFile,
                    save: false,
                    file_name: String::new(),
                });
            }
        });
        ui.horizontal(|ui| {
            let ok = !v.crl_path.trim().is_empty() && !cx.busy(FORM);
            if widgets::primary_button(ui, "Add revocation list", ok).clicked() {
                cx.push(Action::CrlAdd(v.crl_path.trim().into()));
            }
            ui.label(
                RichText::new(format!(
                    "Equivalent: mailflow crl add {}",
                    if v.crl_path.trim().is_empty() {
                        "FILE".to_string()
                    } else {
                        format::shell_arg(v.crl_path.trim())
                    }
                ))
                .color(muted())
                .size(12.0),
            );
        });
    });
    ui.add_space(6.0);
    let all = &cx.data.crls;
    let crls: Vec<_> = widgets::sorted_order(all, v.crl_sort, |c, col| match col {
        0 => widgets::SortKey::text(&c.info.issuer),
        1 => widgets::SortKey::Number(c.info.this_update.unix_timestamp()),
        2 => widgets::SortKey::Number(c.info.next_update.unix_timestamp()),
        _ => widgets::SortKey::Number(c.info.revoked as i64),
    })
    .into_iter()
    .map(|i| all[i].clone())
    .collect();
    let mut resort = None;
    if crls.is_empty() {
        ui.label(RichText::new("No revocation list added.").color(muted()));
        return;
    }
    let mut remove = None;
    let height = 30.0 + 26.0 * crls.len().clamp(1, 12) as f32;
    ui.allocate_ui(egui::vec2(ui.available_width(), height), |ui| {
        widgets::table(ui, "crls")
            .column(Column::initial(330.0).clip(true))
            .column(Column::initial(150.0))
            .column(Column::initial(260.0))
            .column(Column::initial(80.0))
            .column(Column::remainder())
            .header(24.0, |mut h| {
                resort = widgets::sort_headers(
                    &mut h,
                    &["Issuer", "This update", "Next update", "Revoked", ""],
                    v.crl_sort,
                );
            })
            .body(|body| {
                body.rows(26.0, crls.len(), |mut row| {
                    let c = &crls[row.index()];
                    row.col(|ui| {
                        ui.label(&c.info.issuer);
                    });
                    row.col(|ui| {
                        ui.label(format::date(c.info.this_update));
                    });
                    row.col(|ui| {
                        if c.out_of_date {
                            ui.label(
                                RichText::new(format!(
                                    "⚠ {} — out of date",
                                    format::date(c.info.next_update)
                                ))
                                .color(warn()),
                            )
                            .on_hover_text(&c.date_words);
                        } else {
                            ui.label(RichText::new(format::date(c.info.next_update)).color(good()));
                        }
                    });
                    row.col(|ui| {
                        ui.label(c.info.revoked.to_string());
                    });
                    row.col(|ui| {
                        if ui
                            .small_button("Remove")
                            .on_hover_text(format!(
                                "Remove the revocation list of {}",
                                c.info.issuer
                            ))
                            .clicked()
                        {
                            remove = Some(c.info.id.clone());
                        }
                    });
                });
            });
    });
    if resort.is_some() {
        v.crl_sort = resort;
    }
    if let Some(id) = remove {
        cx.push(Action::CrlRemove(id));
    }
}
