//! The relay's live state as the console holds it between frames: the last snapshot (taken at
//! most four times a second on the pages that show it live, once a second elsewhere, so a
//! thousand sessions cost nothing per frame), whether the relay runs, and the problems it
//! reported in plain words.

use super::relay::Relay;
use crate::engine::EngineEvent;
use crate::engine::monitor::Snapshot;
use std::time::{Duration, Instant};

/// How often the snapshot is refreshed on the live pages (monitor, queues).
pub const SNAPSHOT_EVERY: Duration = Duration::from_millis(250);
/// How often elsewhere (the status bar).
pub const SNAPSHOT_IDLE: Duration = Duration::from_secs(1);

/// When [`LiveView::refresh`] takes a new snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextSnapshot {
    /// Now (the relay was just attached, a queue command was carried out).
    Now,
    /// When the last one is [`SNAPSHOT_EVERY`] old: on the live pages (monitor, queues).
    AtLivePace,
    /// When the last one is [`SNAPSHOT_IDLE`] old: elsewhere.
    AtIdlePace,
}

#[derive(Default)]
pub struct LiveView {
    pub snapshot: Snapshot,
    taken: Option<Instant>,
    /// Problems from the engine's last settings application (ports in use, certificates
    /// missing), and other problems it reported.
    pub problems: Vec<String>,
    /// Set when the relay stopped on its own.
    pub stopped: bool,
    /// How many snapshots were taken (for tests).
    pub snapshots: u64,
}

impl LiveView {
    /// Reads events and, when `next` says it is due, a new snapshot. Returns true when
    /// something changed.
    pub fn refresh(&mut self, relay: &dyn Relay, next: NextSnapshot) -> bool {
        let mut changed = false;
        for e in relay.poll_events() {
            changed = true;
            match e {
                EngineEvent::Started => self.stopped = false,
                EngineEvent::SettingsApplied { problems } => self.problems = problems,
                EngineEvent::Problem(p) => {
                    if !self.problems.contains(&p) {
                        self.problems.push(p);
                    }
                }
                EngineEvent::Stopped => self.stopped = true,
            }
        }
        let every = match next {
            NextSnapshot::Now => Duration::ZERO,
            NextSnapshot::AtLivePace => SNAPSHOT_EVERY,
            NextSnapshot::AtIdlePace => SNAPSHOT_IDLE,
        };
        if self.taken.is_none_or(|t| t.elapsed() >= every) {
            self.snapshot = relay.snapshot();
            self.taken = Some(Instant::now());
            self.snapshots += 1;
            changed = true;
        }
        changed
    }

    /// Every problem the relay reports, without repeats.
    pub fn all_problems(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for p in self.snapshot.problems.iter().chain(self.problems.iter()) {
            if !out.contains(p) {
                out.push(p.clone());
            }
        }
        out
    }

    pub fn running(&self) -> bool {
        self.snapshot.running && !self.stopped
    }
}

/// A problem the relay reported, in plain words with what to do.
pub fn plain_problem(p: &str) -> String {
    if let Some(rest) = p.strip_prefix("cannot listen on ") {
        let (addr, why) = rest.split_once(": ").unwrap_or((rest, ""));
        let port = addr.rsplit(':').next().unwrap_or(addr);
        if why.contains("in use") {
            return format!(
                "Port {port} ({addr}) is already used by another program, so the relay cannot receive mail there. Stop that program, or give the receive connector another binding (Server › Receive connectors › Network)."
            );
        }
        if why.contains("ermission denied") {
            return format!(
                "The relay may not listen on {addr}: ports below 1024 need administrator rights. Use a port above 1024 (Server › Receive connectors › Network) or grant the right to bind low ports."
            );
        }
        if why.contains("ssign requested address") {
            return format!(
                "This computer has no address {addr}, so the relay cannot listen there. Choose one of its addresses, or 0.0.0.0 for all (Server › Receive connectors › Network)."
            );
        }
        return crate::ui::app::jobs::sentence(&format!(
            "The relay cannot listen on {addr}: {why}"
        ));
    }
    if p.contains("no certificate is enabled for SMTP") {
        return crate::ui::app::jobs::sentence(&format!(
            "{p}. Import or request a certificate and enable it for SMTP (Server › Certificates)"
        ));
    }
    crate::ui::app::jobs::sentence(p)
}

/// Whether a problem concerns a page: receive connectors, send connectors or certificates.
pub fn concerns(p: &str, page: crate::ui::widgets::nav::Page) -> bool {
    use crate::ui::widgets::nav::Page;
    match page {
        Page::ReceiveConnectors => p.contains("receive connector") || p.contains("cannot listen"),
        Page::SendConnectors => p.contains("send connector"),
        Page::Certificates => p.contains("certificate"),
        _ => false,
    }
}
