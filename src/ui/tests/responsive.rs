//! The console never waits: frames keep coming, fast, while the relay does not answer and the
//! workers are stuck on purpose; and pages stay fluid with 100 000 tracked messages and 1 000
//! live sessions (virtualised tables, results held once, sorting on the worker).

use super::*;
use crate::engine::monitor::SessionRow;
use crate::smtp::evidence::{Direction, SecurityStatus};
use crate::store::tracking::{EventKind, TrackingEvent};
use crate::ui::app::actions::{Form, QueuePurpose, SettingsChange, TrackColumn};
use crate::ui::state::tracking_data;
use crate::ui::widgets::nav::Page;
use std::collections::VecDeque;
use std::sync::Arc;

/// Steps `n` frames, returning the slowest.
fn slowest_frame(h: &mut Harness<'static, ConsoleApp>, n: usize) -> Duration {
    let mut worst = Duration::ZERO;
    for _ in 0..n {
        let t = Instant::now();
        h.step();
        worst = worst.max(t.elapsed());
    }
    worst
}

/// A frame must stay far below the stall (5 s): generous for debug builds on a busy machine,
/// and still proof that nothing waited.
const FRAME_BOUND: Duration = Duration::from_millis(700);

#[test]
fn frames_keep_rendering_while_the_relay_and_the_workers_are_stalled() {
    let (_tmp, ws) = fresh_org();
    let mut app = console(ws);
    let snapshot = sample::snapshot();
    let fake = Arc::new(FakeRelay {
        stalled: true,
        ..FakeRelay::new(snapshot)
    });
    app.attach_relay(RelayState::Running(Box::new(fake.clone())));
    let stall = Duration::from_secs(5);
    let mut h = harness(app);
    // The stalls start now: making the harness (fonts, first frame) may take a while on a
    // loaded machine, and must not eat into them.
    stall_admin(h.state(), stall);
    h.state().query.submit(move |_| {
        std::thread::sleep(stall);
        Outcome::Idle
    });
    let started = Instant::now();
    // A settings change and a queue command wait behind the stalls; the console goes on.
    let mut t = h.state().data.settings.transport.clone();
    t.tls_send_domain_secure_list.push("woodgrove.test".into());
    h.state_mut().push(Action::Change {
        form: Form::Transport,
        change: SettingsChange::Transport(Box::new(t)),
    });
    h.state_mut().push(Action::Queue {
        op: QueueOp::Retry {
            queue: "adatum.test via Outbound".into(),
        },
        purpose: QueuePurpose::Command,
    });
    let mut frames = 0;
    let mut worst = Duration::ZERO;
    for page in Page::all().chain(Page::all()) {
        h.state_mut().page = page;
        worst = worst.max(slowest_frame(&mut h, 3));
        frames += 3;
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed < stall,
        "{frames} frames took {elapsed:?}: the UI waited for a stalled worker or relay"
    );
    assert!(worst < FRAME_BOUND, "slowest frame {worst:?}");
    assert!(
        h.state().feedback.is_working(Form::Transport),
        "still saving, shown as working"
    );
    assert!(
        h.state().feedback.is_working(Form::Queues),
        "the relay has not answered"
    );
    assert!(
        h.state().admin.pending() > 0,
        "the admin worker is still stuck"
    );
    // Once the worker is free, the change lands.
    step_until(&mut h, "the change", Duration::from_secs(30), |a| {
        !a.feedback.is_working(Form::Transport)
    });
    assert!(
        h.state()
            .data
            .settings
            .transport
            .tls_send_domain_secure_list
            .contains(&"woodgrove.test".to_string())
    );
}

fn many_events(messages: usize) -> Vec<TrackingEvent> {
    let mut out = Vec::with_capacity(messages * 2);
    for i in 0..messages {
        let security = match i % 7 {
            0..=3 => SecurityStatus::DomainSecure,
            4 | 5 => SecurityStatus::Encrypted,
            _ => SecurityStatus::Plaintext,
        };
        let e = TrackingEvent {
            time: now_ms() - (messages - i) as i64 * 1000,
            kind: EventKind::Receive,
            internal_id: format!("id-{i:08}"),
            message_id: None,
            sender: format!("user{}@partner{}.test", i % 97, i % 13),
            recipients: vec![format!("rcpt{}@contoso.test", i % 89)],
            subject: Some(format!("Message number {i}")),
            size: 1000,
            client: None,
            server: None,
            connector: None,
            tls: None,
            security,
            response: None,
            detail: None,
            session: None,
            helo: None,
            why: Vec::new(),
        };
        let mut d = e.clone();
        d.kind = EventKind::Deliver;
        d.time += 500;
        out.push(e);
        out.push(d);
    }
    out
}

fn sessions(n: usize) -> Vec<SessionRow> {
    (0..n as u64)
        .map(|id| SessionRow {
            id,
            direction: if id % 3 == 0 {
                Direction::Outbound
            } else {
                Direction::Inbound
            },
            connector: "Default".into(),
            local: "10.0.0.5:25".into(),
            peer: format!("192.0.2.{}:{}", id % 250, 40_000 + id),
            state: "DATA".into(),
            tls_version: Some("TLSv1.3".into()),
            cipher: Some("TLS_AES_256_GCM_SHA384".into()),
            client_certificate: None,
            security: Some(SecurityStatus::Encrypted),
            bytes_in: id * 100,
            bytes_out: id * 10,
            started: now_ms() - id as i64 * 1000,
            transcript: (0..20)
                .map(|l| format!("< line {l}"))
                .collect::<VecDeque<_>>(),
            messages: 0,
            refusals: 0,
            ended: None,
            outcome: None,
        })
        .collect()
}

#[test]
fn hundred_thousand_messages_and_a_thousand_sessions_stay_fluid() {
    let (_tmp, ws) = fresh_org();
    let mut app = console(ws);
    let mut snap = sample::snapshot();
    snap.sessions = sessions(1000);
    // The relay's counters stand still: the list does not refresh itself over this set.
    app.views.tracking.counted = crate::ui::pages::tracking::counted_of(&snap.counters);
    attach_fake(&mut app, snap);
    let set = Arc::new(tracking_data::group(many_events(100_000), false));
    assert_eq!(set.rows.len(), 100_000);
    app.views.tracking.on_result(set.clone());
    app.views.tracking.searched = true;
    let order = tracking_data::order(&set, TrackColumn::Time, false, "");
    app.views.tracking.on_order(Arc::new(order));
    app.page = Page::MessageTracking;
    let mut h = harness(app);
    h.step();
    let tracking = slowest_frame(&mut h, 10);
    // Sorting 100 000 rows happens on the worker while frames go on.
    h.state_mut().views.tracking.ascending = true;
    h.state_mut().views.tracking.column = TrackColumn::Sender;
    let a = h.state().views.tracking.sort_action();
    h.state_mut().push(a);
    let while_sorting = slowest_frame(&mut h, 5);
    settle(&mut h);
    let first = h.state().views.tracking.order.as_ref().expect("order")[0];
    assert!(
        set.rows[first as usize].sender.starts_with("user0@"),
        "sorted by sender"
    );
    h.state_mut().page = Page::LiveMonitor;
    h.step();
    let monitor = slowest_frame(&mut h, 10);
    for (what, t) in [
        ("tracking 100 000 messages", tracking),
        ("tracking while sorting", while_sorting),
        ("monitor with 1 000 sessions", monitor),
    ] {
        assert!(t < FRAME_BOUND, "{what}: slowest frame {t:?}");
    }
}

/// At the console's default width (1280 px) the buttons at the end of a list's rows stay in
/// the window: the trusted roots' and the relays' "Remove".
#[test]
fn row_buttons_stay_in_view_at_1280_px() {
    use egui_kittest::kittest::Queryable;
    let (_tmp, ws) = fixture();
    let mut app = console(ws);
    app.page = Page::TrustedRoots;
    let mut h = harness(app);
    settle(&mut h);
    for page in [Page::TrustedRoots, Page::DirectTrust] {
        h.state_mut().page = page;
        settle(&mut h);
        let buttons: Vec<egui::Rect> = h.query_all_by_label("Remove").map(|n| n.rect()).collect();
        assert!(!buttons.is_empty(), "{page:?} has rows to remove");
        for r in buttons {
            assert!(r.max.x <= 1280.0, "{page:?}: Remove ends at {}", r.max.x);
        }
    }
}
