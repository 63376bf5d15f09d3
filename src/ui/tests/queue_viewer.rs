//! Toolbox › Queue viewer, the quarantine: listed with each reason when the page opens, a
//! message released with one button (the same `QueueOp::Release` as `mailflow queue release`),
//! and a file whose envelope cannot be read cannot be released.

use super::*;
use crate::ui::widgets::nav::Page;
use egui_kittest::kittest::Queryable;

fn frames(h: &mut Harness<'static, ConsoleApp>) {
    for _ in 0..4 {
        h.step();
    }
}

fn releases(fake: &FakeRelay) -> Vec<String> {
    fake.ops
        .lock()
        .expect("lock")
        .iter()
        .filter_map(|op| match op {
            QueueOp::Release { name } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_quarantine_is_listed_with_reasons_and_a_message_released() {
    let (_tmp, ws) = fixture();
    let mut app = console(ws);
    let fake = attach_fake(&mut app, sample::snapshot());
    *fake.quarantine.lock().expect("lock") = sample::quarantine();
    app.page = Page::QueueViewer;
    let mut h = harness(app);
    frames(&mut h);
    assert!(
        fake.ops
            .lock()
            .expect("lock")
            .iter()
            .any(|op| matches!(op, QueueOp::Quarantined)),
        "the page asks for the quarantine when it opens"
    );
    assert!(h.query_by_label("Quarantine (2)").is_some());
    assert!(
        h.query_by_label("body checksum mismatch (bit rot or a damaged write)")
            .is_some()
    );
    assert!(h.query_by_label("(envelope unreadable)").is_some());

    // The unreadable file (rows are selected as the other tables' tests do): Release does
    // nothing.
    h.state_mut().views.queues.selected_quarantined = Some("notes.txt".into());
    frames(&mut h);
    h.get_by_label("↩ Release to the queue").click();
    frames(&mut h);
    assert!(releases(&fake).is_empty());

    // The message: released, the answer shown, the list asked again and now one shorter.
    let name = "5d2c9e41-2222-4000-8000-000000000001";
    h.state_mut().views.queues.selected_quarantined = Some(name.into());
    frames(&mut h);
    h.get_by_label("↩ Release to the queue").click();
    frames(&mut h);
    assert_eq!(releases(&fake), vec![name.to_string()]);
    assert!(
        h.query_by_label_contains("released to the queue").is_some(),
        "the relay's answer is shown"
    );
    assert!(h.query_by_label("Quarantine (1)").is_some());
    assert!(h.query_by_label("carol@fabrikam.test").is_none());
}

/// A queued message's headers, by one button: the same `QueueOp::Headers` as `mailflow queue
/// headers` (which the integration tests run on a real spool), shown under the list.
#[test]
fn a_queued_messages_headers_are_shown() {
    let (_tmp, ws) = fixture();
    let mut app = console(ws);
    let fake = attach_fake(&mut app, sample::snapshot());
    let messages = sample::queue_messages();
    *fake.messages.lock().expect("lock") = messages.clone();
    app.page = Page::QueueViewer;
    app.views.queues.selected_queue = Some("adatum.test via Outbound".into());
    let mut h = harness(app);
    frames(&mut h);
    let id = messages[1].id.clone();
    h.state_mut().views.queues.selected_message = Some(id.clone());
    frames(&mut h);
    h.get_by_label("📄 Headers").click();
    frames(&mut h);
    assert!(
        fake.ops
            .lock()
            .expect("lock")
            .iter()
            .any(|op| matches!(op, QueueOp::Headers { id: asked } if *asked == id))
    );
    assert!(has_text(&h, &format!("Subject: the headers of {id}")));
    h.get_by_label("Close").click();
    frames(&mut h);
    assert!(h.state().views.queues.headers.is_none());
}
