//! Console tests: wizards driven end to end by their labels with egui_kittest, pages fed by a
//! running relay, a frame-time test with a stalled engine and worker, and the rendered
//! screenshots in `screenshots/`. This module holds the shared helpers: the fixture
//! organization (a committed data directory, so screenshots are the same on every run), a fixed
//! clock, a scripted stand-in for the relay, and harness helpers.

mod certificates;
mod connectors;
mod direct_trust;
mod keyboard;
mod partners;
mod queue_viewer;
mod relay_pages;
mod responsive;
mod sample;
mod screenshots;
mod tls_reports;
mod wizards;

use super::app::ConsoleApp;
use super::app::actions::Action;
use super::app::jobs::Outcome;
use super::app::worker::no_waker;
use super::state::clock::Clock;
use super::state::probe;
use super::state::relay::{Relay, RelayState};
use crate::admin::{self, Workspace};
use crate::engine::monitor::Snapshot;
use crate::engine::{EngineEvent, QueueOp, QueueReply};
use crate::store::DataDir;
use egui_kittest::Harness;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use time::macros::datetime;

/// "Now" for every test and screenshot.
pub const NOW: OffsetDateTime = datetime!(2026-12-01 10:30:00 UTC);

/// Unix ms of [`NOW`].
pub fn now_ms() -> i64 {
    (NOW.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The committed fixture organization (Contoso, with a lab CA, an SMTP certificate, a pending
/// request, Woodgrove as Domain Secure partner).
/// A temporary folder named after the running test (libtest names each test's thread after
/// it), the same on every run: the status bar shows the data directory, and a random name
/// would change the screenshots' pixels from one run to the next.
fn named_tempdir() -> tempfile::TempDir {
    let test = std::thread::current()
        .name()
        .unwrap_or("console-test")
        .to_string();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, test.as_bytes());
    let name = format!("mailflow-ui-{}", &hex::encode(digest.as_ref())[..8]);
    let path = std::env::temp_dir().join(&name);
    let _ = std::fs::remove_dir_all(&path);
    tempfile::Builder::new()
        .prefix(&name)
        .rand_bytes(0)
        .tempdir_in(std::env::temp_dir())
        .expect("tempdir")
}

pub fn fixture_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/console")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("fixture") {
        let e = e.expect("entry");
        let p = e.path();
        let t = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &t);
        } else {
            std::fs::copy(&p, &t).expect("copy");
        }
    }
}

/// A copy of the fixture organization in a temporary directory: its data directory is
/// `<tmp>/org`, and the partner's files are in `<tmp>/files`.
pub fn fixture() -> (tempfile::TempDir, Workspace) {
    let tmp = named_tempdir();
    copy_dir(&fixture_source().join("org"), &tmp.path().join("org"));
    copy_dir(&fixture_source().join("files"), &tmp.path().join("files"));
    let ws = Workspace::open(&DataDir::new(tmp.path().join("org"))).expect("fixture opens");
    (tmp, ws)
}

/// A new organization, as the console creates on first start.
pub fn fresh_org() -> (tempfile::TempDir, Workspace) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = DataDir::new(tmp.path().join("org"));
    admin::init(&dir, "Contoso", "mail.contoso.test", "contoso.test", NOW).expect("init");
    let ws = Workspace::open(&dir).expect("open");
    (tmp, ws)
}

/// A console on `workspace` with the fixed clock and no relay.
pub fn console(workspace: Workspace) -> ConsoleApp {
    ConsoleApp::new(
        workspace,
        no_waker(),
        Clock::Fixed(NOW),
        std::sync::Arc::new(probe::Unavailable),
        None,
    )
}

/// A window-sized harness drawing `app`.
pub fn harness(app: ConsoleApp) -> Harness<'static, ConsoleApp> {
    harness_in(app, egui::Theme::Light)
}

/// [`harness`] in the given theme.
pub fn harness_in(app: ConsoleApp, theme: egui::Theme) -> Harness<'static, ConsoleApp> {
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .with_context_setup(super::widgets::theme::install)
        .with_theme(theme)
        .with_max_steps(20)
        .build_ui_state(
            |ui, app: &mut ConsoleApp| {
                // Edge to edge, like the real window (the harness adds an outer margin).
                let rect = ui.ctx().content_rect();
                let mut root = ui.new_child(egui::UiBuilder::new().max_rect(rect));
                root.set_clip_rect(rect);
                app.frame(&mut root);
            },
            app,
        )
}

/// Steps frames (sleeping a little between them, so workers progress) until `done` holds.
pub fn step_until(
    h: &mut Harness<'static, ConsoleApp>,
    what: &str,
    timeout: Duration,
    done: impl Fn(&ConsoleApp) -> bool,
) {
    let deadline = Instant::now() + timeout;
    loop {
        h.step();
        if done(h.state()) {
            h.step();
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(15));
    }
}

/// Waits until both workers are idle and their results are drawn.
pub fn settle(h: &mut Harness<'static, ConsoleApp>) {
    step_until(h, "the workers", Duration::from_secs(60), |a| {
        a.admin.pending() == 0 && a.query.pending() == 0
    });
    h.step();
    h.step();
}

/// Pushes an action and runs frames until the workers are idle.
pub fn act(h: &mut Harness<'static, ConsoleApp>, a: Action) {
    h.state_mut().push(a);
    h.step();
    settle(h);
}

/// A stand-in for the relay: a scripted snapshot, queue answers from a script (or none at
/// all when stalled), settings applications recorded.
pub struct FakeRelay {
    pub snapshot: Mutex<Snapshot>,
    pub messages: Mutex<Vec<crate::engine::MessageRowOut>>,
    pub quarantine: Mutex<Vec<crate::engine::QuarantineRow>>,
    /// Every queue operation asked of it, in order.
    pub ops: Mutex<Vec<QueueOp>>,
    pub stalled: bool,
    pub applied: Mutex<Vec<Workspace>>,
    events: Mutex<Vec<EngineEvent>>,
    /// Senders kept so a stalled relay's receivers stay open (never answered).
    held: Mutex<Vec<Sender<QueueReply>>>,
}

impl FakeRelay {
    pub fn new(snapshot: Snapshot) -> FakeRelay {
        FakeRelay {
            snapshot: Mutex::new(snapshot),
            messages: Mutex::new(Vec::new()),
            quarantine: Mutex::new(Vec::new()),
            ops: Mutex::new(Vec::new()),
            stalled: false,
            applied: Mutex::new(Vec::new()),
            events: Mutex::new(Vec::new()),
            held: Mutex::new(Vec::new()),
        }
    }
}

impl Relay for std::sync::Arc<FakeRelay> {
    fn snapshot(&self) -> Snapshot {
        self.snapshot.lock().expect("lock").clone()
    }
    fn poll_events(&self) -> Vec<EngineEvent> {
        std::mem::take(&mut *self.events.lock().expect("lock"))
    }
    fn apply(&self, workspace: Workspace) {
        self.applied.lock().expect("lock").push(workspace);
        self.events
            .lock()
            .expect("lock")
            .push(EngineEvent::SettingsApplied {
                problems: Vec::new(),
            });
    }
    fn queue_op(&self, op: QueueOp) -> Receiver<QueueReply> {
        let (tx, rx) = mpsc::channel();
        self.ops.lock().expect("lock").push(op.clone());
        if self.stalled {
            self.held.lock().expect("lock").push(tx);
            return rx;
        }
        let reply = match op {
            QueueOp::Messages { .. } => {
                QueueReply::Messages(self.messages.lock().expect("lock").clone())
            }
            QueueOp::List => QueueReply::Queues(Vec::new()),
            QueueOp::Quarantined => {
                QueueReply::Quarantine(self.quarantine.lock().expect("lock").clone())
            }
            QueueOp::Release { name } => {
                self.quarantine
                    .lock()
                    .expect("lock")
                    .retain(|q| q.name != name);
                QueueReply::Done(format!("message {name} released to the queue"))
            }
            QueueOp::Headers { id } => QueueReply::Headers {
                text: format!("Subject: the headers of {id}"),
                id,
            },
            other => QueueReply::Done(format!("{other:?} done")),
        };
        let _ = tx.send(reply);
        rx
    }
    fn send_test_message(
        &self,
        _request: crate::engine::test_message::TestMessage,
    ) -> Receiver<Result<crate::engine::test_message::TestReport, String>> {
        let (tx, rx) = mpsc::channel();
        let _ = tx.send(Err("the stand-in relay sends no mail".into()));
        rx
    }
}

/// Gives the console a fake relay; returns a handle to script it.
pub fn attach_fake(app: &mut ConsoleApp, snapshot: Snapshot) -> std::sync::Arc<FakeRelay> {
    let fake = std::sync::Arc::new(FakeRelay::new(snapshot));
    app.attach_relay(RelayState::Running(Box::new(fake.clone())));
    fake
}

/// A job for the admin worker that only waits (to stall it on purpose).
pub fn stall_admin(app: &ConsoleApp, d: Duration) {
    app.admin.submit(move |_| {
        std::thread::sleep(d);
        Outcome::Idle
    });
}

/// Generates the committed fixture organization. Run by hand when the fixture must change:
/// `cargo test --lib ui::tests::generate_fixture -- --ignored`.
#[test]
#[ignore]
fn generate_fixture() {
    fixture_gen::generate(&fixture_source());
}

mod fixture_gen {
    use super::*;
    use crate::config::units::TimeSpan;
    use crate::config::{
        AddressSpace, DirectTrustEntry, PartnerAnchor, Pin, ReceiveConnector, SendConnector,
    };
    use crate::pki::keys::KeySpec;
    use crate::pki::subject::Subject;
    use crate::pki::{builder, ca, request};

    pub fn generate(root: &Path) {
        let made = NOW - time::Duration::days(40);
        let _ = std::fs::remove_dir_all(root);
        let org = root.join("org");
        let files = root.join("files");
        std::fs::create_dir_all(&files).expect("mkdir");
        let dir = DataDir::new(&org);
        admin::init(&dir, "Contoso", "mail.contoso.test", "contoso.test", made).expect("init");
        let mut ws = Workspace::open(&dir).expect("open");
        ws.ca_init("Contoso Lab CA", KeySpec::P256, 10, made)
            .expect("ca");
        // Our SMTP certificate, from a request issued by the lab CA.
        let subject =
            Subject::parse("C=US, O=Contoso, OU=Messaging, CN=mail.contoso.test").expect("subject");
        let domains = vec!["mail.contoso.test".to_string(), "contoso.test".to_string()];
        let r = ws
            .new_request(
                &subject,
                &domains,
                KeySpec::P256,
                Some("Contoso SMTP 2026".into()),
                made,
            )
            .expect("request");
        let (cert, ca_der) = ws.ca_issue(r.pem.as_bytes(), 365, made).expect("issue");
        let chain = format!("{}{}", builder::to_pem(&cert), builder::to_pem(&ca_der));
        let o = ws
            .import_certificate(chain.as_bytes(), None, None, made)
            .expect("import");
        ws.enable_certificate(&o.thumbprint).expect("enable");
        // A certificate that expires soon (no SMTP).
        let s2 = Subject::parse("O=Contoso, CN=legacy.contoso.test").expect("subject");
        let r2 = ws
            .new_request(
                &s2,
                &["legacy.contoso.test".to_string()],
                KeySpec::P256,
                Some("Legacy gateway".into()),
                made,
            )
            .expect("request");
        let (c2, _) = ws.ca_issue(r2.pem.as_bytes(), 60, made).expect("issue");
        ws.import_certificate(builder::to_pem(&c2).as_bytes(), None, None, made)
            .expect("import");
        // A pending request, and the certificate the lab CA issues for it (to import).
        let s3 = Subject::parse("C=US, O=Contoso, CN=relay2.contoso.test").expect("subject");
        let r3 = ws
            .new_request(
                &s3,
                &[
                    "relay2.contoso.test".to_string(),
                    "contoso.test".to_string(),
                ],
                KeySpec::P256,
                None,
                made,
            )
            .expect("request");
        let (c3, ca3) = ws.ca_issue(r3.pem.as_bytes(), 365, made).expect("issue");
        std::fs::write(
            files.join("relay2-issued.cer"),
            format!("{}{}", builder::to_pem(&c3), builder::to_pem(&ca3)),
        )
        .expect("write");
        std::fs::write(files.join("relay2.req"), &r3.pem).expect("write");
        // The partner: Woodgrove's root CA and its mail server's certificate.
        let wg_key = KeySpec::P256.generate().expect("key");
        let wg_root = ca::create_ca(
            "Woodgrove Root CA",
            "Woodgrove Bank",
            &wg_key,
            made - time::Duration::days(300),
            10,
        )
        .expect("ca");
        let srv_key = KeySpec::P256.generate().expect("key");
        let srv_subject =
            Subject::parse("C=US, O=Woodgrove Bank, CN=mail.woodgrove.test").expect("subject");
        let srv_req = request::build_request(
            &srv_subject,
            &[
                "mail.woodgrove.test".to_string(),
                "woodgrove.test".to_string(),
            ],
            &srv_key,
        )
        .expect("req");
        let srv = ca::issue_from_request(&wg_root, &wg_key, &srv_req, made, 365).expect("issue");
        std::fs::write(files.join("woodgrove-root.cer"), builder::to_pem(&wg_root)).expect("write");
        std::fs::write(
            files.join("woodgrove-mail.cer"),
            format!("{}{}", builder::to_pem(&srv), builder::to_pem(&wg_root)),
        )
        .expect("write");
        // Fabrikam: another partner root, not trusted yet (for the Domain Security wizard).
        let fb_key = KeySpec::P256.generate().expect("key");
        let fb_root = ca::create_ca(
            "Fabrikam Root CA",
            "Fabrikam",
            &fb_key,
            made - time::Duration::days(500),
            10,
        )
        .expect("ca");
        std::fs::write(files.join("fabrikam-root.cer"), builder::to_pem(&fb_root)).expect("write");
        // A Fabrikam server certificate that expired: for the inspector's findings.
        let fbm_key = KeySpec::Rsa2048.generate().expect("key");
        let fbm_subject = Subject::parse("O=Fabrikam, CN=smtp.fabrikam.test").expect("subject");
        let fbm_req =
            request::build_request(&fbm_subject, &["smtp.fabrikam.test".to_string()], &fbm_key)
                .expect("req");
        let fbm = ca::issue_from_request(
            &fb_root,
            &fb_key,
            &fbm_req,
            made - time::Duration::days(380),
            400,
        )
        .expect("issue");
        std::fs::write(files.join("fabrikam-smtp.cer"), builder::to_pem(&fbm)).expect("write");
        let added = ws
            .trust_add(builder::to_pem(&wg_root).as_bytes(), made)
            .expect("trust");
        let wg_tp = added[0].thumbprint.clone();
        ws.change_settings(|s| {
            s.transport.tls_send_domain_secure_list = vec!["woodgrove.test".into()];
            s.transport.tls_receive_domain_secure_list = vec!["woodgrove.test".into()];
            s.receive_connectors[0].domain_secure_enabled = true;
            s.receive_connectors[0].tarpit_interval = TimeSpan::secs(5);
            s.receive_connectors.push(ReceiveConnector {
                name: "Internal relay".into(),
                bindings: vec!["127.0.0.1:2526".into()],
                remote_ip_ranges: vec!["10.0.0.0/8".into(), "127.0.0.1".into()],
                permission_groups: vec![crate::config::PermissionGroup::InternalServers],
                ..Default::default()
            });
            s.send_connectors.insert(
                0,
                SendConnector {
                    name: "To Woodgrove".into(),
                    address_spaces: vec![AddressSpace {
                        address: "woodgrove.test".into(),
                        cost: 1,
                    }],
                    smart_hosts: vec!["mail.woodgrove.test:25".into()],
                    domain_secure_enabled: true,
                    ..Default::default()
                },
            );
            s.partner_anchors.push(PartnerAnchor {
                domain: "woodgrove.test".into(),
                anchors: vec![Pin::Thumbprint(wg_tp.clone())],
            });
            s.direct_trust.push(DirectTrustEntry {
                name: "relay2.contoso.test".into(),
                pin: Pin::PublicKeySha256(r3.entry.public_key_sha256.clone()),
            });
            s.accepted_domains.push(crate::config::AcceptedDomain {
                domain: "sales.contoso.test".into(),
                recipients: Some(vec!["orders".into(), "quotes".into()]),
            });
            Ok(())
        })
        .expect("settings");
        // Nothing the relay writes while running belongs in the fixture.
        for d in ["spool", "mailboxes", "logs"] {
            let _ = std::fs::remove_dir_all(org.join(d));
        }
    }
}

fn ui_sources(dir: &Path, out: &mut String) {
    for e in std::fs::read_dir(dir).expect("src/ui") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "tests") {
                ui_sources(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "rs") {
            let text = std::fs::read_to_string(&p).expect("read");
            for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
}

/// Every non-ASCII character in the console's sources (icons, arrows, marks) is in the fonts
/// egui bundles, so it renders the same in the window and in the screenshots.
#[test]
fn every_glyph_the_console_uses_renders() {
    let mut text = String::new();
    ui_sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ui"),
        &mut text,
    );
    let mut chars: Vec<char> = text.chars().filter(|c| !c.is_ascii()).collect();
    chars.sort();
    chars.dedup();
    let ctx = egui::Context::default();
    let mut out = ctx.run_ui(Default::default(), |_| {});
    out.textures_delta.clear();
    let missing: Vec<String> = ctx.fonts_mut(|f| {
        chars
            .iter()
            .filter(|c| {
                !f.has_glyph(&egui::FontId::proportional(14.0), **c)
                    || !f.has_glyph(&egui::FontId::monospace(14.0), **c)
            })
            .map(|c| format!("{c} U+{:04X}", *c as u32))
            .collect()
    });
    assert!(missing.is_empty(), "no glyph for: {missing:?}");
}

/// Clicks the widget labelled `label`, scrolled into view first as a user would.
pub fn click(h: &mut Harness<'static, ConsoleApp>, label: &str) {
    use egui_kittest::kittest::Queryable;
    h.get_by_label(label).scroll_to_me();
    // Scrolling is animated over a few frames.
    for _ in 0..12 {
        h.step();
    }
    h.get_by_label(label).click();
    h.step();
    h.step();
}

/// Types `text` into the one text field labelled `label`.
pub fn set_text(h: &mut Harness<'static, ConsoleApp>, label: &str, text: &str) {
    use egui::accesskit::Role;
    use egui_kittest::kittest::{NodeT, Queryable};
    let fields: Vec<_> = h
        .query_all_by_label(label)
        .filter(|n| {
            matches!(
                n.accesskit_node().role(),
                Role::TextInput | Role::PasswordInput | Role::MultilineTextInput
            )
        })
        .collect();
    assert_eq!(fields.len(), 1, "one text field labelled {label:?}");
    fields[0].set_text_value_accesskit(text);
    h.step();
    h.step();
}

/// Whether some widget's label contains `part`.
pub fn has_text(h: &Harness<'static, ConsoleApp>, part: &str) -> bool {
    use egui_kittest::kittest::Queryable;
    h.query_all_by_label_contains(part).next().is_some()
}
