//! The connector pages' "Equivalent:" line: the whole `mailflow connector …` command of the
//! change being made, shown in full on hover and copied by its button (the command itself is
//! run by the real command line in `tests/integration/settings_cli.rs`).

use super::*;
use crate::ui::pages::send_connectors::Tab as SendTab;
use crate::ui::widgets::nav::Page;
use egui_kittest::kittest::Queryable;

#[test]
fn the_equivalent_command_names_the_change_and_is_copied() {
    let (_tmp, ws) = fixture();
    let mut app = console(ws);
    app.page = Page::SendConnectors;
    app.views.send.selected = Some(1);
    app.views.send.tab = SendTab::Tls;
    let mut h = harness(app);
    settle(&mut h);
    let name = h.state().data.settings.send_connectors[1].name.clone();
    assert!(!h.state().data.settings.send_connectors[1].require_tls);
    click(&mut h, "Require TLS for every delivery");
    let expected = format!(
        "mailflow connector send set {} --require-tls true",
        crate::admin::shell_arg(&name)
    );
    assert!(
        has_text(&h, &format!("Equivalent: {expected}")),
        "the change is named"
    );
    h.get_by_label("Copy").click();
    h.step();
    let copied = h
        .output()
        .platform_output
        .commands
        .iter()
        .any(|c| matches!(c, egui::OutputCommand::CopyText(t) if *t == expected));
    assert!(copied, "the command is copied");
}
