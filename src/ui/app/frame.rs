//! The console application: navigation on the left, the page (or an open wizard) in the
//! centre, a status bar at the bottom. Each frame it collects what the workers, the file
//! dialogs and the relay sent back, draws, and then applies the actions the pages pushed — the
//! one place where work is handed to a worker or to the relay. It never waits for either.

use super::actions::{Action, FileTarget, Form, IfExists, PickTarget, QueuePurpose, WizardStart};
use super::feedback::{Feedback, Feedbacks};
use super::jobs::{self, AdminState, Done, Failure, Outcome, QueryState};
use super::worker::{Waker, Worker};
use crate::admin::Workspace;
use crate::engine::{QueueOp, QueueReply};
use crate::ui::pages::{self, Cx, Views};
use crate::ui::state::clock::Clock;
use crate::ui::state::live::{self, LiveView, NextSnapshot};
use crate::ui::state::model::ConsoleData;
use crate::ui::state::probe::Prober;
use crate::ui::state::relay::RelayState;
use crate::ui::state::tracking_data;
use crate::ui::widgets;
use crate::ui::widgets::nav::{Page, SECTIONS};
use crate::ui::widgets::theme::{self, muted};
use crate::ui::wizards::Wizard;
use egui::{RichText, Ui};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;

/// The console's state: persisted state (the data directory as last loaded), the relay, the
/// workers, and view state (page, wizard, selections, text being typed).
pub struct ConsoleApp {
    pub(crate) data: Arc<ConsoleData>,
    pub(crate) workspace: Arc<Workspace>,
    pub(crate) relay: RelayState,
    pub(crate) live: LiveView,
    pub(crate) admin: Worker<AdminState, Outcome>,
    pub(crate) query: Worker<QueryState, Outcome>,
    results_tx: Sender<Outcome>,
    results: Receiver<Outcome>,
    waker: Waker,
    pub(crate) clock: Clock,
    pub(crate) page: Page,
    pub(crate) wizard: Option<Wizard>,
    pub(crate) views: Views,
    pub(crate) feedback: Feedbacks,
    pub(crate) notice: Option<String>,
    queue_waits: Vec<(QueuePurpose, Receiver<QueueReply>)>,
    /// A text field or a pop-up had the keyboard at the end of the last frame (egui drops
    /// the focus on Esc before the frame's code runs: that Esc was for the field).
    keyboard_was_taken: bool,
    /// The test message being sent, its report to come.
    test_wait: Option<Receiver<Result<crate::engine::test_message::TestReport, String>>>,
    actions: Vec<Action>,
    prober_available: bool,
    tracking_generation: u64,
    order_generation: u64,
    /// Frames drawn (for tests).
    pub(crate) frames: u64,
}

impl ConsoleApp {
    /// Opens a page (as the navigation does).
    pub fn open_page(&mut self, page: Page) {
        self.page = page;
    }

    /// Messages loaded in the tracking view (0 until a search has answered).
    pub fn tracked_messages(&self) -> usize {
        self.views.tracking.set.as_ref().map_or(0, |s| s.rows.len())
    }

    /// A console on an opened workspace. The relay is attached afterwards
    /// ([`ConsoleApp::attach_relay`]); until then the console shows it as not running.
    pub fn new(
        workspace: Workspace,
        waker: Waker,
        clock: Clock,
        prober: Arc<dyn Prober>,
        notice: Option<String>,
    ) -> ConsoleApp {
        let (results_tx, results) = mpsc::channel();
        let data = Arc::new(ConsoleData::load(&workspace, clock.now()));
        let tracking_path = workspace.dir.tracking_db();
        let prober_available = prober.available();
        let admin = Worker::start(
            "admin",
            AdminState {
                workspace: workspace.clone(),
                clock,
            },
            results_tx.clone(),
            waker.clone(),
            Outcome::panicked,
        );
        let query = Worker::start(
            "query",
            QueryState {
                tracking_path,
                db: None,
                prober,
            },
            results_tx.clone(),
            waker.clone(),
            Outcome::panicked,
        );
        ConsoleApp {
            data,
            workspace: Arc::new(workspace),
            relay: RelayState::Unavailable("the relay has not been started".into()),
            live: LiveView::default(),
            admin,
            query,
            results_tx,
            results,
            waker,
            clock,
            page: Page::Certificates,
            wizard: None,
            views: Views::default(),
            feedback: Feedbacks::default(),
            notice,
            queue_waits: Vec::new(),
            test_wait: None,
            keyboard_was_taken: false,
            actions: Vec::new(),
            prober_available,
            tracking_generation: 0,
            order_generation: 0,
            frames: 0,
        }
    }

    /// Gives the console its relay (or the reason there is none).
    pub fn attach_relay(&mut self, relay: RelayState) {
        self.relay = relay;
        if let Some(r) = self.relay.relay() {
            self.live.refresh(r, NextSnapshot::Now);
        }
    }

    /// Queues an action as if a page had pushed it (tests, drag and drop).
    pub fn push(&mut self, a: Action) {
        self.actions.push(a);
    }

    /// One frame: collect results, draw, apply actions.
    pub fn frame(&mut self, ui: &mut Ui) {
        self.frames += 1;
        theme::follow(ui.ctx());
        self.shortcuts(ui.ctx());
        self.collect();
        self.dropped_files(ui.ctx());
        self.console_panels(ui);
        let actions = std::mem::take(&mut self.actions);
        for a in actions {
            self.apply(ui.ctx(), a);
        }
        let busy = self.admin.pending() > 0
            || self.query.pending() > 0
            || !self.queue_waits.is_empty()
            || self.test_wait.is_some();
        if busy {
            ui.ctx().request_repaint_after(Duration::from_millis(100));
        } else if self.relay.relay().is_some() {
            let live_page =
                self.wizard.is_none() && matches!(self.page, Page::LiveMonitor | Page::QueueViewer);
            ui.ctx().request_repaint_after(if live_page {
                live::SNAPSHOT_EVERY
            } else {
                live::SNAPSHOT_IDLE
            });
        }
        self.keyboard_was_taken =
            ui.ctx().egui_wants_keyboard_input() || egui::Popup::is_any_open(ui.ctx());
    }

    /// Opens message tracking with `view`'s search made at once.
    fn open_tracking(
        &mut self,
        ctx: &egui::Context,
        mut view: crate::ui::pages::tracking::TrackingView,
    ) {
        let query = view.query(self.clock.now_ms());
        view.last_query = Some(query.clone());
        view.refreshed_at = self.clock.now_ms();
        view.counted = crate::ui::pages::tracking::counted_of(&self.live.snapshot.counters);
        self.views.tracking = view;
        self.page = Page::MessageTracking;
        self.apply(ctx, Action::TrackSearch(Box::new(query)));
    }

    // ---- results -------------------------------------------------------------------------

    fn collect(&mut self) {
        while let Ok(o) = self.results.try_recv() {
            self.outcome(o);
        }
        let live_page =
            self.wizard.is_none() && matches!(self.page, Page::LiveMonitor | Page::QueueViewer);
        let next = if live_page {
            NextSnapshot::AtLivePace
        } else {
            NextSnapshot::AtIdlePace
        };
        if let Some(r) = self.relay.relay() {
            self.live.refresh(r, next);
        }
        let mut answers = Vec::new();
        self.queue_waits
            .retain(|(purpose, rx)| match rx.try_recv() {
                Ok(reply) => {
                    answers.push((purpose.clone(), reply));
                    false
                }
                Err(mpsc::TryRecvError::Empty) => true,
                Err(mpsc::TryRecvError::Disconnected) => {
                    answers.push((
                        purpose.clone(),
                        QueueReply::Error("the relay stopped before answering".into()),
                    ));
                    false
                }
            });
        for (purpose, reply) in answers {
            self.queue_reply(purpose, reply);
        }
        if let Some(rx) = &self.test_wait {
            let answer = match rx.try_recv() {
                Ok(report) => Some(report),
                Err(mpsc::TryRecvError::Empty) => None,
                Err(mpsc::TryRecvError::Disconnected) => {
                    Some(Err("the relay stopped before answering".into()))
                }
            };
            if let Some(report) = answer {
                self.test_wait = None;
                self.feedback.clear(Form::TestMessage);
                self.views.test_message.result = Some(report);
            }
        }
    }

    fn queue_reply(&mut self, purpose: QueuePurpose, reply: QueueReply) {
        match (purpose, reply) {
            (_, QueueReply::Messages(rows)) => self.views.queues.set_messages(rows),
            (_, QueueReply::Quarantine(rows)) => self.views.queues.set_quarantine(rows),
            (_, QueueReply::Queues(_)) => {}
            (_, QueueReply::Headers { id, text }) => self.views.queues.headers = Some((id, text)),
            (QueuePurpose::Command, QueueReply::Done(text)) => {
                self.feedback
                    .set(Form::Queues, Feedback::Success(jobs::sentence(&text)));
                if let Some(r) = self.relay.relay() {
                    self.live.refresh(r, NextSnapshot::Now);
                }
                if let Some(op) = self.views.queues.refresh_op() {
                    self.actions.push(Action::Queue {
                        op,
                        purpose: QueuePurpose::Messages,
                    });
                }
                self.actions.push(Action::Queue {
                    op: QueueOp::Quarantined,
                    purpose: QueuePurpose::Quarantine,
                });
            }
            (_, QueueReply::Done(_)) => {}
            (_, QueueReply::Error(e)) => self
                .feedback
                .set(Form::Queues, Feedback::Error(Failure::new(e))),
        }
    }

    fn outcome(&mut self, o: Outcome) {
        match o {
            Outcome::Admin {
                form,
                result,
                reload,
            } => {
                if let Some(r) = reload {
                    self.data = r.data;
                    self.workspace = r.workspace;
                    self.views.reloaded(&self.data);
                    if let Some(relay) = self.relay.relay() {
                        relay.apply((*self.workspace).clone());
                    }
                }
                match result {
                    Ok(done) => {
                        let text = match &done {
                            Done::Message(m) => m.clone(),
                            Done::Request(r) => format!(
                                "The request is ready: pending request {} for {}.",
                                r.id, r.subject
                            ),
                            Done::Imported { message, .. } => message.clone(),
                        };
                        self.feedback.set(form, Feedback::Success(text));
                        self.views.saved(form);
                        if let Some(w) = &mut self.wizard {
                            w.on_done(form, &done);
                        }
                    }
                    Err(f) => self.feedback.set(form, Feedback::Error(f)),
                }
            }
            Outcome::Loaded { target, result } => {
                let form = target_form(target);
                match &result {
                    Ok(_) => self.feedback.clear(form),
                    Err(f) => self.feedback.set(form, Feedback::Error(f.clone())),
                }
                match target {
                    FileTarget::Inspector => self.views.inspector.on_loaded(result),
                    FileTarget::InspectorCompare => self.views.inspector.on_compare(result),
                    _ => {
                        if let Some(w) = &mut self.wizard {
                            w.on_loaded(target, result);
                        }
                    }
                }
            }
            Outcome::Stored { thumbprint, result } => {
                match &result {
                    Ok(_) => self.feedback.clear(Form::Inspector),
                    Err(f) => self
                        .feedback
                        .set(Form::Inspector, Feedback::Error(f.clone())),
                }
                self.views.inspector.on_stored(thumbprint, result);
            }
            Outcome::Picked { target, path } => self.picked(target, path),
            Outcome::Tracking { generation, result } => {
                if generation != self.tracking_generation {
                    return;
                }
                match result {
                    Ok(set) => {
                        self.feedback.clear(Form::Tracking);
                        self.views.tracking.on_result(set);
                        self.actions.push(self.views.tracking.sort_action());
                    }
                    Err(e) => self.feedback.set(
                        Form::Tracking,
                        Feedback::Error(Failure::new(format!(
                            "message tracking could not be searched: {e}"
                        ))),
                    ),
                }
            }
            Outcome::TrackOrder { generation, order } => {
                if generation == self.order_generation {
                    self.views.tracking.on_order(order);
                }
            }
            Outcome::TrackHistory {
                internal_id,
                result,
            } => self.views.tracking.on_history(internal_id, result),
            Outcome::Probe { form, result } => {
                if form == Form::Probe {
                    self.feedback.clear(Form::Probe);
                    self.views.probe.on_result(result);
                } else if let Some(w) = &mut self.wizard {
                    // The wizard checks where the partner's mail goes first.
                    w.on_probe(result.and_then(|all| {
                        all.into_iter()
                            .next()
                            .ok_or_else(|| "no host was probed".to_string())
                    }));
                }
            }
            Outcome::TlsReports(data) => self.views.tls_reports.on_result(data),
            Outcome::Partners(report) => self.views.partners.on_result(report),
            Outcome::Explained(answer) => {
                self.feedback.clear(Form::WhatIf);
                self.views.what_if.answer = Some(answer);
            }
            Outcome::ProtocolLogDays(direction, days) => {
                self.views.protocol_logs.on_days(direction, days)
            }
            Outcome::ProtocolLog(result) => self.views.protocol_logs.on_result(result),
            Outcome::Panicked(text) => {
                self.notice = Some(format!(
                    "An internal error stopped a background task: {text}. Nothing was half saved; try again, and report this if it repeats."
                ));
            }
            Outcome::Idle => {}
        }
    }

    fn picked(&mut self, target: PickTarget, path: Option<std::path::PathBuf>) {
        let form = pick_form(&target);
        let Some(path) = path else {
            self.feedback.set(
                form,
                Feedback::Info(
                    "No file was chosen. If no dialog appeared, this system has no file dialog (it needs the XDG desktop portal or zenity): type the path instead.".into(),
                ),
            );
            return;
        };
        let text = path.display().to_string();
        match target {
            PickTarget::InspectorFile => {
                self.views.inspector.path = text;
                self.actions.push(Action::LoadFile {
                    target: FileTarget::Inspector,
                    path,
                    password: None,
                });
            }
            PickTarget::TrustRootFile => self.views.roots.path = text,
            PickTarget::WhatIfCertificate => self.views.what_if.certificate = text,
            PickTarget::EvidenceReport => self.views.partners.evidence_path = text,
            PickTarget::CrlFile => self.views.roots.crl_path = text,
            PickTarget::Export(what) => self.actions.push(Action::Export {
                what,
                path,
                if_exists: IfExists::Replace,
            }),
            PickTarget::TrackingCsv => {
                self.views.tracking.export_path = text;
                self.actions.push(Action::TrackExport(path));
            }
            PickTarget::ImportFile | PickTarget::DomainSecurityRoot | PickTarget::RequestSave => {
                if let Some(w) = &mut self.wizard
                    && let Some(a) = w.on_picked(&target, path)
                {
                    self.actions.push(a);
                }
            }
        }
    }

    fn dropped_files(&mut self, ctx: &egui::Context) {
        let dropped = ctx.input(|i| i.raw.dropped_files.clone());
        for f in dropped {
            let path = f.path().to_path_buf();
            if let Some(w) = &mut self.wizard {
                if let Some(a) = w.on_dropped(path) {
                    self.actions.push(a);
                }
                continue;
            }
            match self.page {
                Page::CertificateInspector => {
                    self.views.inspector.path = path.display().to_string();
                    self.actions.push(Action::LoadFile {
                        target: FileTarget::Inspector,
                        path,
                        password: None,
                    });
                }
                Page::TrustedRoots
                    if path
                        .extension()
                        .is_some_and(|x| x.eq_ignore_ascii_case("crl")) =>
                {
                    self.views.roots.crl_path = path.display().to_string()
                }
                Page::TrustedRoots => self.views.roots.path = path.display().to_string(),
                _ => {
                    let mut w = Wizard::new(WizardStart::Import, &self.data);
                    if let Some(a) = w.on_dropped(path) {
                        self.actions.push(a);
                    }
                    self.feedback.clear(Form::ImportWizard);
                    self.wizard = Some(w);
                }
            }
        }
    }

    // ---- actions -------------------------------------------------------------------------

    fn apply(&mut self, ctx: &egui::Context, a: Action) {
        let clock = self.clock;
        match a {
            Action::Navigate(p) => self.page = p,
            Action::OpenWizard(start) => {
                let w = Wizard::new(start, &self.data);
                self.feedback.clear(w.form());
                self.wizard = Some(w);
            }
            Action::CloseWizard => self.wizard = None,
            Action::Dismiss(form) => self.feedback.clear(form),
            Action::Change { form, change } => {
                self.feedback.working(form, "Checking and saving…");
                self.admin.submit(move |s| jobs::change(s, form, change));
            }
            Action::NewRequest(spec) => {
                self.feedback.working(
                    Form::RequestWizard,
                    format!("Generating the {} key pair and the request…", spec.key),
                );
                self.admin.submit(move |s| jobs::new_request(s, *spec));
            }
            Action::SaveFile {
                form,
                path,
                bytes,
                what,
                if_exists,
            } => {
                self.feedback
                    .working(form, format!("Saving {}…", path.display()));
                self.admin
                    .submit(move |_| jobs::save_file(form, &path, &bytes, &what, if_exists));
            }
            Action::CopyText { form, text } => {
                ctx.copy_text(text);
                self.feedback
                    .set(form, Feedback::Success("Copied to the clipboard.".into()));
            }
            Action::EnableCertificate(thumbprint) => {
                self.feedback
                    .working(Form::Certificates, "Enabling for SMTP…");
                self.admin.submit(move |s| jobs::enable(s, thumbprint));
            }
            Action::RemoveCertificate(thumbprint) => {
                self.feedback.working(Form::Certificates, "Removing…");
                self.admin
                    .submit(move |s| jobs::remove_certificate(s, thumbprint));
            }
            Action::RemoveRequest(id) => {
                self.feedback.working(Form::Certificates, "Removing…");
                self.admin.submit(move |s| jobs::remove_request(s, id));
            }
            Action::Export {
                what,
                path,
                if_exists,
            } => {
                self.feedback.working(Form::Certificates, "Exporting…");
                self.admin
                    .submit(move |s| jobs::export(s, what, path, if_exists));
            }
            Action::CreateLabCa { name, key, years } => {
                self.feedback
                    .working(Form::Certificates, "Creating the lab CA…");
                self.admin
                    .submit(move |s| jobs::create_lab_ca(s, name, key, years));
            }
            Action::IssueWithLabCa {
                request_id,
                days,
                enable_smtp,
                form,
            } => {
                self.feedback.working(form, "Issuing with the lab CA…");
                self.admin.submit(move |s| {
                    jobs::issue_with_lab_ca(s, form, request_id, days, enable_smtp)
                });
            }
            Action::LoadFile {
                target,
                path,
                password,
            } => {
                self.feedback
                    .working(target_form(target), format!("Reading {}…", path.display()));
                let workspace = self.workspace.clone();
                self.query
                    .submit(move |_| jobs::load_file(&workspace, clock, target, path, password));
            }
            Action::InspectStored(thumbprint) => {
                self.page = Page::CertificateInspector;
                self.feedback.working(Form::Inspector, "Inspecting…");
                let workspace = self.workspace.clone();
                self.query
                    .submit(move |_| jobs::inspect_stored(&workspace, clock, thumbprint));
            }
            Action::Import(spec) => {
                self.feedback.working(Form::ImportWizard, "Importing…");
                self.admin.submit(move |s| jobs::import(s, spec));
            }
            Action::TrustCertificate { der, form } => {
                self.feedback.working(form, "Trusting…");
                self.admin
                    .submit(move |s| jobs::trust_certificate(s, form, der));
            }
            Action::TrustAdd(path) => {
                self.feedback.working(Form::TrustedRoots, "Adding…");
                self.admin.submit(move |s| jobs::trust_add(s, path));
            }
            Action::TrustRemove(thumbprint) => {
                self.feedback.working(Form::TrustedRoots, "Removing…");
                self.admin
                    .submit(move |s| jobs::trust_remove(s, thumbprint));
            }
            Action::CrlAdd(path) => {
                self.feedback
                    .working(Form::TrustedRoots, "Adding the revocation list…");
                self.admin.submit(move |s| jobs::crl_add(s, path));
            }
            Action::CrlRemove(id) => {
                self.feedback.working(Form::TrustedRoots, "Removing…");
                self.admin.submit(move |s| jobs::crl_remove(s, id));
            }
            Action::DomainSecurity(plan) => {
                self.feedback
                    .working(Form::DomainSecurityWizard, "Applying Domain Security…");
                self.admin.submit(move |s| jobs::domain_security(s, *plan));
            }
            Action::Pick {
                target,
                save,
                file_name,
            } => super::dialogs::pick(
                target,
                save,
                file_name,
                self.results_tx.clone(),
                self.waker.clone(),
            ),
            Action::TrackSearch(q) => {
                self.tracking_generation += 1;
                let generation = self.tracking_generation;
                self.feedback.working(Form::Tracking, "Searching…");
                self.query
                    .submit(move |s| jobs::track_search(s, generation, *q));
            }
            Action::TrackRefresh(q) => {
                self.tracking_generation += 1;
                let generation = self.tracking_generation;
                self.query
                    .submit(move |s| jobs::track_search(s, generation, *q));
            }
            Action::TrackSort {
                column,
                ascending,
                filter,
            } => {
                if let Some(set) = self.views.tracking.set.clone() {
                    self.order_generation += 1;
                    let generation = self.order_generation;
                    self.query.submit(move |_| {
                        jobs::track_order(&set, generation, column, ascending, &filter)
                    });
                }
            }
            Action::TrackHistory(id) => {
                self.query.submit(move |s| jobs::track_history(s, id));
            }
            Action::TrackExport(path) => {
                let set = self.views.tracking.set.clone();
                let order = self.views.tracking.order.clone();
                self.feedback.working(Form::Tracking, "Exporting…");
                self.query.submit(move |_| {
                    let csv = match (&set, &order) {
                        (Some(s), Some(o)) => tracking_data::csv(s, o),
                        _ => tracking_data::csv(&Default::default(), &[]),
                    };
                    jobs::save_file(
                        Form::Tracking,
                        &path,
                        csv.as_bytes(),
                        "The CSV file",
                        IfExists::Refuse,
                    )
                });
            }
            Action::Queue { op, purpose } => match self.relay.relay() {
                Some(r) => {
                    if purpose == QueuePurpose::Command {
                        self.feedback.working(Form::Queues, "Working…");
                    }
                    let rx = r.queue_op(op);
                    self.queue_waits.push((purpose, rx));
                }
                None => self.feedback.set(
                    Form::Queues,
                    Feedback::Error(Failure::new(format!(
                        "the relay is not running ({}), so its queues cannot be changed from here",
                        self.relay.reason().unwrap_or("stopped")
                    ))),
                ),
            },
            Action::TrackMessage(id) => {
                self.open_tracking(
                    ctx,
                    crate::ui::pages::tracking::TrackingView {
                        internal_id: id.clone(),
                        searched: true,
                        selected: Some(id.clone()),
                        ..Default::default()
                    },
                );
                self.apply(ctx, Action::TrackHistory(id));
            }
            Action::TrackPartner(domain) => self.open_tracking(
                ctx,
                crate::ui::pages::tracking::TrackingView {
                    recipient: format!("@{domain}"),
                    searched: true,
                    ..Default::default()
                },
            ),
            Action::Explain(spec) => {
                let workspace = self.workspace.clone();
                let now = self.clock.now();
                self.feedback
                    .working(Form::WhatIf, "Working out what the relay would do…");
                self.query.submit(move |_| {
                    Outcome::Explained(super::jobs::explain(&workspace, &spec, now))
                });
            }
            Action::OpenWhatIf {
                from,
                to,
                from_client,
            } => {
                let v = &mut self.views.what_if;
                v.from = from;
                v.to = to;
                v.from_client = from_client;
                v.answer = None;
                self.page = Page::WhatIf;
            }
            Action::ProbeDomain(domain) => {
                let v = &mut self.views.probe;
                v.domain = domain.clone();
                v.host.clear();
                v.result = None;
                self.page = Page::ConnectivityProbe;
                self.apply(
                    ctx,
                    Action::Probe {
                        form: Form::Probe,
                        request: crate::ui::state::probe::ProbeRequest { domain, host: None },
                    },
                );
            }
            Action::ExportEvidence {
                partner,
                days,
                html,
                path,
            } => {
                let workspace = self.workspace.clone();
                let now = self.clock.now();
                self.feedback
                    .working(Form::Partners, "Writing the evidence report…");
                self.query.submit(move |_| {
                    let until = crate::admin::evidence::ms_of(now) + 1;
                    let since = until - days * 86_400_000;
                    match crate::admin::partners::evidence(
                        &workspace,
                        since,
                        until,
                        partner.as_deref(),
                        now,
                    ) {
                        Ok(report) => {
                            let bytes = if html {
                                crate::admin::evidence::html(&report)
                            } else {
                                crate::admin::evidence::csv(&report)
                            };
                            jobs::save_file(
                                Form::Partners,
                                &path,
                                bytes.as_bytes(),
                                "The evidence report",
                                IfExists::Refuse,
                            )
                        }
                        Err(e) => Outcome::Admin {
                            form: Form::Partners,
                            result: Err(e.into()),
                            reload: None,
                        },
                    }
                });
            }
            Action::LoadPartners => {
                let workspace = self.workspace.clone();
                let queued = crate::admin::partners::queued_by_domain(
                    self.live
                        .snapshot
                        .queues
                        .iter()
                        .map(|q| (q.name.as_str(), q.messages)),
                );
                let now = self.clock.now();
                self.query.submit(move |_| {
                    Outcome::Partners(Arc::new(
                        crate::admin::partners::gather(&workspace, &queued, now)
                            .map_err(|e| e.to_string()),
                    ))
                });
            }
            Action::LoadTlsReports => {
                let dir = self.workspace.dir.clone();
                self.query.submit(move |_| {
                    Outcome::TlsReports(Arc::new(crate::ui::state::tls_reports::load(&dir)))
                });
            }
            Action::LoadProtocolLogDays(direction) => {
                let dir = self.workspace.dir.clone();
                self.query.submit(move |_| {
                    Outcome::ProtocolLogDays(
                        direction,
                        crate::store::protocol_logs::days(&dir, direction),
                    )
                });
            }
            Action::ReadProtocolLog {
                direction,
                day,
                filter,
            } => {
                let dir = self.workspace.dir.clone();
                self.query.submit(move |_| {
                    Outcome::ProtocolLog(Arc::new(
                        crate::store::protocol_logs::read_day(
                            &dir,
                            direction,
                            &day,
                            &filter,
                            crate::ui::pages::protocol_logs::MAX_LINES,
                        )
                        .map_err(|e| e.to_string()),
                    ))
                });
            }
            Action::OpenProtocolLog {
                direction,
                day,
                session,
            } => {
                let v = &mut self.views.protocol_logs;
                v.direction = direction;
                v.day = day;
                v.filter = crate::store::protocol_logs::LogFilter {
                    session,
                    ..Default::default()
                };
                v.result = None;
                let read = v.read_action();
                self.page = Page::ProtocolLogs;
                self.apply(ctx, read);
            }
            Action::SendTestMessage(request) => match self.relay.relay() {
                Some(r) => {
                    self.feedback.working(Form::TestMessage, "Sending…");
                    self.test_wait = Some(r.send_test_message(request));
                }
                None => self.feedback.set(
                    Form::TestMessage,
                    Feedback::Error(Failure::new(format!(
                        "the relay is not running ({}), so it cannot send a test message",
                        self.relay.reason().unwrap_or("stopped")
                    ))),
                ),
            },
            Action::Probe { form, request } => {
                self.feedback.working(form, "Probing…");
                let workspace = self.workspace.clone();
                self.query
                    .submit(move |s| jobs::probe(s, &workspace, form, request));
            }
        }
    }

    /// The console's keys: Ctrl+F searches message tracking; Esc cancels an open wizard
    /// (unless a text field or a pop-up has the keyboard: Esc leaves those first).
    fn shortcuts(&mut self, ctx: &egui::Context) {
        let find = ctx.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::F));
        if find && self.wizard.is_none() {
            self.page = Page::MessageTracking;
            self.views.tracking.focus_search = true;
        }
        let escape = ctx.input(|i| i.key_pressed(egui::Key::Escape));
        if escape && self.wizard.is_some() && !self.keyboard_was_taken {
            self.actions.push(Action::CloseWizard);
        }
    }

    // ---- drawing -------------------------------------------------------------------------

    fn console_panels(&mut self, ui: &mut Ui) {
        egui::Panel::bottom("status")
            .frame(
                egui::Frame::new()
                    .fill(theme::chrome())
                    .inner_margin(egui::Margin::symmetric(10, 5))
                    .stroke(egui::Stroke::new(1.0, theme::line())),
            )
            .show(ui, |ui| {
                if let Some(page) = crate::ui::widgets::status::status_bar(
                    ui,
                    &self.data,
                    &self.live,
                    &self.relay,
                    self.clock.now(),
                ) {
                    self.actions.push(Action::Navigate(page));
                }
            });
        egui::Panel::left("nav")
            .resizable(false)
            .exact_size(228.0)
            .frame(
                egui::Frame::new()
                    .fill(theme::chrome())
                    .inner_margin(egui::Margin::symmetric(10, 10))
                    .stroke(egui::Stroke::new(1.0, theme::line())),
            )
            .show(ui, |ui| self.navigation(ui));
        egui::CentralPanel::default()
            .frame(
                egui::Frame::new()
                    .fill(theme::page())
                    .inner_margin(egui::Margin::symmetric(20, 14)),
            )
            .show(ui, |ui| {
                if let Some(n) = self.notice.clone() {
                    let mut dismiss = false;
                    widgets::banner(ui, theme::info(), |ui| {
                        ui.label(RichText::new("ℹ").color(theme::info()).strong());
                        dismiss = widgets::wrapped_text_and_button(ui, &n, Some("Dismiss"));
                    });
                    ui.add_space(8.0);
                    if dismiss {
                        self.notice = None;
                    }
                }
                let now = self.clock.now();
                let mut cx = Cx {
                    data: &self.data,
                    live: &self.live,
                    relay_reason: self.relay.reason(),
                    feedback: &self.feedback,
                    actions: &mut self.actions,
                    now,
                    now_ms: self.clock.now_ms(),
                    prober_available: self.prober_available,
                };
                match &mut self.wizard {
                    Some(w) => w.wizard_page(ui, &mut cx),
                    None => pages::current_page(ui, self.page, &mut self.views, &mut cx),
                }
            });
    }

    fn navigation(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            ui.label(RichText::new("✉").size(22.0).color(theme::accent()));
            ui.vertical(|ui| {
                ui.label(RichText::new("Mailflow").size(18.0).strong());
                ui.label(
                    RichText::new(&self.data.settings.organization.name)
                        .color(muted())
                        .size(12.0),
                );
            });
        });
        ui.add_space(4.0);
        ui.separator();
        // Scrolls when the window is too short for every page and task (no entry is ever
        // out of reach).
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| self.navigation_entries(ui));
    }

    fn navigation_entries(&mut self, ui: &mut Ui) {
        // Compact rows: every page and task fits a 800 px high window.
        ui.spacing_mut().item_spacing.y = 2.0;
        let enabled = self.wizard.is_none();
        ui.add_enabled_ui(enabled, |ui| {
            for section in SECTIONS {
                ui.add_space(5.0);
                ui.label(
                    RichText::new(format!("{}  {}", section.icon, section.title))
                        .strong()
                        .color(muted())
                        .size(12.5),
                );
                ui.add_space(2.0);
                for &page in section.pages {
                    let selected = self.page == page;
                    let text = RichText::new(format!("{}   {}", page.icon(), page.title()));
                    let r = ui.add(
                        egui::Button::selectable(selected, text)
                            .right_text("")
                            .min_size(egui::vec2(ui.available_width(), 26.0)),
                    );
                    if r.clicked() {
                        self.page = page;
                    }
                }
            }
            ui.add_space(8.0);
            ui.separator();
            ui.add_space(2.0);
            ui.label(RichText::new("Tasks").strong().color(muted()).size(12.5));
            if ui.link("New certificate request…").clicked() {
                self.actions.push(Action::OpenWizard(WizardStart::Request {
                    subject: None,
                    domains: Vec::new(),
                }));
            }
            if ui.link("Import certificate…").clicked() {
                self.actions.push(Action::OpenWizard(WizardStart::Import));
            }
            if ui.link("Set up Domain Security…").clicked() {
                self.actions
                    .push(Action::OpenWizard(WizardStart::DomainSecurity {
                        domain: String::new(),
                    }));
            }
        });
        if !enabled {
            ui.add_space(8.0);
            ui.label(
                RichText::new("Finish or cancel the wizard to use the navigation.")
                    .color(muted())
                    .size(12.0),
            );
        }
    }
}

fn target_form(t: FileTarget) -> Form {
    match t {
        FileTarget::ImportWizard => Form::ImportWizard,
        FileTarget::Inspector | FileTarget::InspectorCompare => Form::Inspector,
        FileTarget::DomainSecurityRoot => Form::DomainSecurityWizard,
    }
}

fn pick_form(t: &PickTarget) -> Form {
    match t {
        PickTarget::ImportFile => Form::ImportWizard,
        PickTarget::InspectorFile => Form::Inspector,
        PickTarget::TrustRootFile | PickTarget::CrlFile => Form::TrustedRoots,
        PickTarget::DomainSecurityRoot => Form::DomainSecurityWizard,
        PickTarget::RequestSave => Form::RequestWizard,
        PickTarget::Export(_) => Form::Certificates,
        PickTarget::TrackingCsv => Form::Tracking,
        PickTarget::WhatIfCertificate => Form::WhatIf,
        PickTarget::EvidenceReport => Form::Partners,
    }
}

impl eframe::App for ConsoleApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.frame(ui);
        crate::ui::report_first_frame();
    }
}
