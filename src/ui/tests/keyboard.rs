//! The console by keyboard: arrows move a list's selection (and its details follow), Home/End
//! go to the ends, Ctrl+F opens message tracking with the Sender field taking the keyboard and
//! Enter searching, and Esc cancels a wizard — but first leaves a text field.

use super::*;
use crate::ui::app::actions::WizardStart;
use crate::ui::widgets::nav::Page;
use egui::{Key, Modifiers};
use egui_kittest::kittest::Queryable;

/// The fixture organization's console open on `page`, drawn.
fn opened(page: Page) -> (tempfile::TempDir, Harness<'static, ConsoleApp>) {
    let (tmp, ws) = fixture();
    let mut app = console(ws);
    app.page = page;
    let mut h = harness(app);
    settle(&mut h);
    (tmp, h)
}

fn press(h: &mut Harness<'static, ConsoleApp>, key: Key) {
    h.key_press(key);
    h.step();
    h.step();
}

#[test]
fn arrows_move_the_selection_of_a_list() {
    let (_tmp, mut h) = opened(Page::Certificates);
    let keys: Vec<String> = h
        .state()
        .data
        .certificates
        .iter()
        .map(|c| c.thumbprint.clone())
        .collect();
    assert!(keys.len() >= 2, "the fixture has certificates");
    assert_eq!(h.state().views.certificates.selected, None);
    press(&mut h, Key::ArrowDown);
    let first = h
        .state()
        .views
        .certificates
        .selected
        .clone()
        .expect("selected");
    press(&mut h, Key::ArrowDown);
    let second = h
        .state()
        .views
        .certificates
        .selected
        .clone()
        .expect("selected");
    assert_ne!(first, second, "down moves on");
    press(&mut h, Key::ArrowUp);
    assert_eq!(h.state().views.certificates.selected.as_ref(), Some(&first));
    press(&mut h, Key::End);
    let last = h
        .state()
        .views
        .certificates
        .selected
        .clone()
        .expect("selected");
    assert_ne!(last, first);
    press(&mut h, Key::Home);
    assert_eq!(h.state().views.certificates.selected.as_ref(), Some(&first));
    // The details of the selected one are shown.
    assert!(has_text(&h, &first), "details of {first}");
    // Enter opens it in the inspector.
    press(&mut h, Key::Enter);
    settle(&mut h);
    assert_eq!(h.state().page, Page::CertificateInspector);
    h.state_mut().page = Page::Certificates;
    settle(&mut h);

    // The same on the send connectors.
    h.state_mut().page = Page::SendConnectors;
    settle(&mut h);
    press(&mut h, Key::ArrowDown);
    assert_eq!(h.state().views.send.selected, Some(0));
    press(&mut h, Key::ArrowDown);
    assert_eq!(h.state().views.send.selected, Some(1));
}

#[test]
fn ctrl_f_searches_tracking_and_esc_cancels_a_wizard() {
    let (_tmp, mut h) = opened(Page::Certificates);
    h.key_press_modifiers(Modifiers::COMMAND, Key::F);
    h.step();
    h.step();
    assert_eq!(h.state().page, Page::MessageTracking);
    // The field takes the keyboard once the page is drawn.
    for _ in 0..20 {
        if h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Sender")
            .is_focused()
        {
            break;
        }
        h.step();
    }
    assert!(
        h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Sender")
            .is_focused(),
        "Ctrl+F focuses Sender"
    );
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Sender")
        .type_text("alice@");
    h.step();
    assert_eq!(
        h.state().views.tracking.sender,
        "alice@",
        "Sender has the keyboard"
    );
    press(&mut h, Key::Enter);
    settle(&mut h);
    let q = h
        .state()
        .views
        .tracking
        .last_query
        .clone()
        .expect("Enter searched");
    assert_eq!(q.sender.as_deref(), Some("alice@"));

    act(&mut h, Action::OpenWizard(WizardStart::Import));
    assert!(h.state().wizard.is_some());
    // In a text field, Esc leaves the field first.
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Certificate file")
        .focus();
    h.step();
    press(&mut h, Key::Escape);
    assert!(h.state().wizard.is_some(), "Esc left the field only");
    press(&mut h, Key::Escape);
    settle(&mut h);
    assert!(h.state().wizard.is_none(), "Esc cancels the wizard");
}

/// A list's headers sort it: Days left ascending puts the certificate closest to expiry first
/// (the first row Home selects), a second click turns it around; the roots sort by subject.
#[test]
fn headers_sort_the_certificates_and_the_roots() {
    let (_tmp, mut h) = opened(Page::Certificates);
    let data = h.state().data.clone();
    let soonest = data
        .certificates
        .iter()
        .min_by_key(|c| c.not_after)
        .expect("certificates")
        .thumbprint
        .clone();
    click(&mut h, "Days left");
    press(&mut h, Key::Home);
    assert_eq!(
        h.state().views.certificates.selected.as_deref(),
        Some(soonest.as_str())
    );
    click(&mut h, "Days left ⏶");
    press(&mut h, Key::End);
    assert_eq!(
        h.state().views.certificates.selected.as_deref(),
        Some(soonest.as_str()),
        "descending: the soonest is last"
    );

    h.state_mut().page = Page::TrustedRoots;
    settle(&mut h);
    click(&mut h, "Subject");
    press(&mut h, Key::Home);
    let first = data
        .roots
        .iter()
        .min_by_key(|r| r.subject.to_lowercase())
        .expect("roots");
    assert_eq!(
        h.state().views.roots.sort,
        Some(crate::ui::widgets::Sort {
            column: 1,
            ascending: true
        })
    );
    assert_eq!(
        h.state().views.roots.selected.as_deref(),
        Some(first.thumbprint.as_str())
    );
}

/// The live monitor's sessions sort by a header (here the peer), and the arrows walk them in
/// that order.
#[test]
fn the_monitor_sorts_its_sessions() {
    let (_tmp, ws) = fixture();
    let mut app = console(ws);
    let snapshot = sample::snapshot();
    let lowest_peer = snapshot
        .sessions
        .iter()
        .min_by_key(|s| s.peer.to_lowercase())
        .map(|s| s.id)
        .expect("sessions");
    let _fake = attach_fake(&mut app, snapshot);
    app.page = Page::LiveMonitor;
    let mut h = harness(app);
    settle(&mut h);
    h.get_by_role_and_label(egui::accesskit::Role::Button, "Peer")
        .click();
    h.step();
    h.step();
    press(&mut h, Key::Home);
    assert_eq!(h.state().views.monitor.selected, Some(lowest_peer));
    click(&mut h, "Peer ⏶");
    press(&mut h, Key::End);
    assert_eq!(
        h.state().views.monitor.selected,
        Some(lowest_peer),
        "descending: last"
    );
}

/// The connector lists sort by a header; a row still opens its own connector.
#[test]
fn the_connector_list_sorts_by_name() {
    let (_tmp, mut h) = opened(Page::SendConnectors);
    let names: Vec<String> = h
        .state()
        .data
        .settings
        .send_connectors
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let first = names
        .iter()
        .enumerate()
        .min_by_key(|(_, n)| n.to_lowercase())
        .map(|(i, _)| i)
        .expect("connectors");
    assert_ne!(
        first, 0,
        "the fixture's first connector is not first by name"
    );
    h.get_by_role_and_label(egui::accesskit::Role::Button, "Name")
        .click();
    h.step();
    h.step();
    press(&mut h, Key::Home);
    assert_eq!(h.state().views.send.selected, Some(first));
    assert!(has_text(&h, &format!("Properties of '{}'", names[first])));
}
