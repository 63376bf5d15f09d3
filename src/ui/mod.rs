//! The console (egui/eframe): navigation in the administrator's terms, a page per area, a
//! status bar. It never blocks: what it shows comes from a snapshot loaded off the UI thread.

mod app;
mod nav;
mod pages;
mod snapshot;
mod widgets;

pub use app::ConsoleApp;
pub use nav::Page;
pub use snapshot::ConsoleData;

use crate::store::DataDir;

/// Whether a graphical display is available to open a window on.
pub fn display_available() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

const NO_DISPLAY: &str = "no graphical display (neither DISPLAY nor WAYLAND_DISPLAY is set), so the console cannot open a window; to run the relay without a console use `mailflow serve`, and manage it with `mailflow cert|connector|transport ...`";

/// Opens the console on `dir`, creating a default organization on first start.
pub fn run(dir: DataDir) -> Result<(), String> {
    if !display_available() {
        return Err(NO_DISPLAY.to_string());
    }
    let now = time::OffsetDateTime::now_utc();
    let (workspace, created) =
        crate::admin::open_or_create(&dir, now).map_err(|e| e.to_string())?;
    let data = ConsoleData::load(&workspace, now);
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Mailflow")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([900.0, 560.0]),
        ..Default::default()
    };
    let notice = created.map(|r| {
        format!(
            "A new organization was created in {} (FQDN {}). Change it in Organization and Server.",
            r.data_dir.display(),
            r.fqdn
        )
    });
    eframe::run_native(
        "Mailflow",
        options,
        Box::new(move |_cc| Ok(Box::new(ConsoleApp::new(data, notice)))),
    )
    .map_err(|e| format!("the console window could not be opened ({e}); to run the relay without a console use `mailflow serve`"))
}
