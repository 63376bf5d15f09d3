//! Rendered snapshots of every main screen and wizard page, committed as `screenshots/*.png`
//! and shown in the README. The data is the committed fixture organization with a fixed clock
//! and a scripted relay, so every run renders the same pixels; the comparison tolerates the
//! tiny differences between GPU drivers. `UPDATE_SNAPSHOTS=force cargo test --lib screenshots`
//! rewrites them.

use super::*;
use crate::ui::nav::Page;
use egui_kittest::SnapshotOptions;

fn options() -> SnapshotOptions {
    SnapshotOptions::new()
        .output_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("screenshots"))
        .threshold(1.0)
        .max_failed_pixels(400)
}

fn shoot(h: &mut Harness<'static, ConsoleApp>, name: &str) {
    h.step();
    h.step();
    h.snapshot_options(name, &options());
}

#[test]
fn smoke_certificates() {
    let (_tmp, ws) = fixture();
    let mut app = console(ws);
    app.page = Page::Certificates;
    app.views.certificates.selected = app.data.smtp_identity.clone();
    let mut h = harness(app);
    settle(&mut h);
    shoot(&mut h, "console-certificates");
}
