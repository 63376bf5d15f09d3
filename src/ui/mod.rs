//! The console (egui/eframe): navigation in the administrator's terms — Organization, Server,
//! Toolbox — a page per area, wizards for the long tasks, and a status bar. The UI thread never
//! waits: disk work runs on background workers ([`app::worker`]), the relay runs on its own
//! runtime behind [`relay::Relay`], and results come back as messages polled each frame.
//!
//! The code is grouped by job: [`app`] is the frame and the work it hands out, [`state`] what the
//! console holds between frames and the links to the relay and the probe, [`widgets`] the shared
//! look and controls (theme, formats, status bar, navigation); `pages` draw one area each and
//! `wizards` the long tasks.

mod app;
mod pages;
mod state;
mod widgets;
mod wizards;

#[cfg(test)]
mod tests;

pub use app::ConsoleApp;

/// When the console started, for the start-up report (`MAILFLOW_FIRST_FRAME_REPORT=1` prints the
/// time to the first frame on standard error; the benchmark reads it).
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
static FIRST_FRAME: std::sync::Once = std::sync::Once::new();

/// Called by the window for every frame; reports the first one when asked to.
fn report_first_frame() {
    FIRST_FRAME.call_once(|| {
        if std::env::var_os("MAILFLOW_FIRST_FRAME_REPORT").is_some()
            && let Some(t) = STARTED.get()
        {
            eprintln!("first frame after {} ms", t.elapsed().as_millis());
        }
    });
}
pub use app::worker::Waker;
pub use state::clock::Clock;
pub use state::model::ConsoleData;
pub use state::{probe, relay};
pub use widgets::nav::Page;
pub use widgets::theme::install as install_theme;

use crate::engine::EngineHandle;
use crate::store::DataDir;
use relay::RelayState;
use std::sync::Arc;

/// Whether a graphical display is available to open a window on.
pub fn display_available() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

const NO_DISPLAY: &str = "no graphical display (neither DISPLAY nor WAYLAND_DISPLAY is set), so the console cannot open a window; to run the relay without a console use `mailflow serve`, and manage it with `mailflow cert|connector|transport ...`";

/// Starts the relay for the console; when it cannot start, the reason in plain words.
pub fn start_relay(workspace: crate::admin::Workspace, waker: Waker) -> RelayState {
    match EngineHandle::start(workspace, Some(waker)) {
        Ok(h) => RelayState::Running(Box::new(h)),
        Err(e) => RelayState::Unavailable(e.to_string()),
    }
}

/// Opens the console on `dir`, creating a default organization on first start, and starts the
/// relay. When the relay cannot start (another relay holds the data directory, a port is in
/// use), the console still opens and says why.
pub fn run(dir: DataDir) -> Result<(), String> {
    let _ = STARTED.set(std::time::Instant::now());
    if !display_available() {
        return Err(NO_DISPLAY.to_string());
    }
    let now = time::OffsetDateTime::now_utc();
    let (workspace, created) =
        crate::admin::open_or_create(&dir, now).map_err(|e| e.to_string())?;
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("Mailflow")
        .with_app_id("mailflow")
        .with_inner_size([1280.0, 800.0])
        .with_min_inner_size([960.0, 600.0])
        .with_drag_and_drop(true);
    if let Some(icon) = widgets::assets::icon() {
        viewport = viewport.with_icon(Arc::new(icon));
    }
    let options = eframe::NativeOptions {
        viewport,
        ..Default::default()
    };
    let notice = created.map(|r| {
        format!(
            "Welcome. A new organization was created in {} (server {}, domain {}) with a self-signed certificate for opportunistic TLS, and the relay is running. Request a CA certificate under Server › Certificates before setting up Domain Security.",
            r.data_dir.display(),
            r.fqdn,
            r.domain
        )
    });
    eframe::run_native(
        "Mailflow",
        options,
        Box::new(move |cc| {
            install_theme(&cc.egui_ctx);
            let ctx = cc.egui_ctx.clone();
            let waker: Waker = Arc::new(move || ctx.request_repaint());
            let mut app = ConsoleApp::new(
                workspace.clone(),
                waker.clone(),
                Clock::System,
                probe::default_prober(),
                notice,
            );
            app.attach_relay(start_relay(workspace, waker));
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| format!("the console window could not be opened ({e}); to run the relay without a console use `mailflow serve`"))
}
