//! The work the console's background workers do, and the [`Outcome`] each job sends back. The
//! admin worker owns the [`Workspace`] and runs every change (settings, certificates, trusted
//! roots) in order; after a change it reopens the workspace from disk and sends it back so the
//! console shows it and the relay applies it. The query worker reads files, inspects
//! certificates, searches message tracking, sorts results and runs probes. Errors come back as
//! sentences; validation problems keep their field paths.

use super::actions::{
    DomainSecurityPlan, ExplainSpec, ExportItem, FileTarget, Form, IfExists, ImportSpec,
    PickTarget, RequestSpec, SettingsChange, TrackColumn,
};
use super::changes;
use crate::admin::{AdminError, CertificateReport, FileReport, Workspace};
use crate::config::Problems;
use crate::pki::PkiError;
use crate::pki::keys::KeySpec;
use crate::store::atomic;
use crate::store::tracking::{TrackingDb, TrackingEvent, TrackingQuery};
use crate::ui::state::clock::Clock;
use crate::ui::state::model::ConsoleData;
use crate::ui::state::probe::{ProbeReport, ProbeRequest, Prober};
use crate::ui::state::tracking_data::{self, MAX_EVENTS, TrackingSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zeroize::Zeroizing;

/// The largest file the console reads as a certificate or request.
pub const MAX_FILE: u64 = 10 * 1024 * 1024;

/// The workspace after a change, for the pages and for the relay.
#[derive(Clone)]
pub struct Reload {
    pub data: Arc<ConsoleData>,
    pub workspace: Arc<Workspace>,
}

/// Why something failed, in words, with the fields concerned.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    pub text: String,
    pub problems: Option<Problems>,
    /// A PKCS#12 file needs a (different) password.
    pub needs_password: bool,
}

impl Failure {
    pub fn new(text: impl Into<String>) -> Failure {
        Failure {
            text: sentence(&text.into()),
            problems: None,
            needs_password: false,
        }
    }
}

/// Answers the What if page's question (blocking): reads the client certificate file, builds
/// the run configuration from the workspace and asks the policy simulator.
pub fn explain(
    workspace: &Workspace,
    spec: &ExplainSpec,
    now: time::OffsetDateTime,
) -> Result<crate::admin::explain::Explanation, String> {
    let client_certificate = match &spec.certificate {
        None => None,
        Some(path) => {
            let bytes = read_limited(path)?;
            let contents = crate::pki::import::read_file(&bytes, None)
                .map_err(|e| sentence(&format!("{}: {e}", path.display())))?;
            if contents.certificates.is_empty() {
                return Err(sentence(&format!(
                    "{} holds no certificate",
                    path.display()
                )));
            }
            Some(contents.certificates)
        }
    };
    let client_ip = match spec.client_ip.as_deref() {
        None => None,
        Some(text) => Some(text.parse::<std::net::IpAddr>().map_err(|_| {
            sentence(&format!(
                "'{text}' is not an IP address: write it as 192.0.2.1 or 2001:db8::1"
            ))
        })?),
    };
    let question = crate::admin::explain::Question {
        from: spec.from.clone(),
        to: spec.to.clone(),
        receive: spec.from_client,
        client_certificate,
        starttls: spec.starttls,
        receive_connector: spec.receive_connector.clone(),
        client_ip,
        send_connector: spec.send_connector.clone(),
    };
    let run = crate::engine::config::RunConfig::build(workspace, now)
        .map_err(|e| sentence(&e.to_string()))?;
    let (sightings, _) = crate::admin::partners::sightings(workspace);
    crate::admin::explain::explain(&run, &sightings, &question, now)
        .map_err(|e| sentence(&e.to_string()))
}

/// Capital first letter, full stop at the end.
pub fn sentence(s: &str) -> String {
    let s = s.trim();
    let mut c = s.chars();
    let mut out = match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '!', '?', ':']) {
        out.push('.');
    }
    out
}

impl From<AdminError> for Failure {
    fn from(e: AdminError) -> Failure {
        match e {
            AdminError::Invalid(p) => Failure {
                text: format!(
                    "Nothing was saved: {} to correct (shown at the field{}).",
                    if p.0.len() == 1 {
                        "one value".to_string()
                    } else {
                        format!("{} values", p.0.len())
                    },
                    if p.0.len() == 1 { "" } else { "s" }
                ),
                problems: Some(p),
                needs_password: false,
            },
            AdminError::Pki(PkiError::PasswordRequired) => Failure {
                text: "This PKCS#12 (.pfx/.p12) file is protected by a password: type it in the Password field."
                    .into(),
                problems: None,
                needs_password: true,
            },
            AdminError::Pki(PkiError::WrongPassword) => Failure {
                text: "The password is wrong: it does not open this PKCS#12 file.".into(),
                problems: None,
                needs_password: true,
            },
            other => Failure::new(other.to_string()),
        }
    }
}

/// A request made by the request wizard.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestCreated {
    pub id: String,
    pub subject: String,
    pub domains: Vec<String>,
    pub pem: String,
    pub der: Arc<Vec<u8>>,
}

/// A file read and inspected.
#[derive(Clone, Debug)]
pub struct LoadedFile {
    pub path: PathBuf,
    pub bytes: Arc<Vec<u8>>,
    pub report: Arc<FileReport>,
    pub pkcs12: bool,
}

/// What finished successfully.
#[derive(Clone, Debug)]
pub enum Done {
    Message(String),
    Request(RequestCreated),
    Imported { message: String, thumbprint: String },
}

/// A result coming back from a worker or a file dialog.
pub enum Outcome {
    /// An admin operation finished; `reload` is set when the data directory changed.
    Admin {
        form: Form,
        result: Result<Done, Failure>,
        reload: Option<Reload>,
    },
    /// A file read and inspected (or why not).
    Loaded {
        target: FileTarget,
        result: Result<LoadedFile, Failure>,
    },
    /// A certificate of the store inspected.
    Stored {
        thumbprint: String,
        result: Result<Arc<CertificateReport>, Failure>,
    },
    /// A file dialog closed; `None` when nothing was chosen (or no dialog could open).
    Picked {
        target: PickTarget,
        path: Option<PathBuf>,
    },
    Tracking {
        generation: u64,
        result: Result<Arc<TrackingSet>, String>,
    },
    TrackOrder {
        generation: u64,
        order: Arc<Vec<u32>>,
    },
    TrackHistory {
        internal_id: String,
        result: Result<Vec<TrackingEvent>, String>,
    },
    Probe {
        form: Form,
        result: Result<Vec<ProbeReport>, String>,
    },
    TlsReports(Arc<crate::ui::state::tls_reports::TlsReportsData>),
    Partners(Arc<Result<crate::admin::partners::PartnersReport, String>>),
    Explained(Result<crate::admin::explain::Explanation, String>),
    ProtocolLogDays(crate::store::protocol_logs::LogDirection, Vec<String>),
    ProtocolLog(Arc<Result<crate::store::protocol_logs::LogDay, String>>),
    /// A job failed unexpectedly (a bug); the console says so.
    Panicked(String),
    /// Nothing to show (tests use it for jobs that only wait).
    #[cfg_attr(not(test), allow(dead_code))]
    Idle,
}

impl Outcome {
    pub fn panicked(text: String) -> Outcome {
        Outcome::Panicked(text)
    }
}

/// The admin worker's state: the workspace it changes.
pub struct AdminState {
    pub workspace: Workspace,
    pub clock: Clock,
}

/// The query worker's state: the tracking database (opened on first use) and the prober.
pub struct QueryState {
    pub tracking_path: PathBuf,
    pub db: Option<TrackingDb>,
    pub prober: Arc<dyn Prober>,
}

fn reload(s: &mut AdminState) -> Option<Reload> {
    // Reopen from disk: what the relay gets is exactly what was saved.
    if let Ok(workspace) = Workspace::open(&s.workspace.dir) {
        s.workspace = workspace;
    }
    Some(Reload {
        data: Arc::new(ConsoleData::load(&s.workspace, s.clock.now())),
        workspace: Arc::new(s.workspace.clone()),
    })
}

fn admin(form: Form, s: &mut AdminState, r: crate::admin::Result<Done>) -> Outcome {
    match r {
        Ok(done) => Outcome::Admin {
            form,
            result: Ok(done),
            reload: reload(s),
        },
        Err(e) => Outcome::Admin {
            form,
            result: Err(e.into()),
            reload: None,
        },
    }
}

pub fn change(s: &mut AdminState, form: Form, c: SettingsChange) -> Outcome {
    let r = changes::apply(&mut s.workspace, c).map(Done::Message);
    admin(form, s, r)
}

pub fn domain_security(s: &mut AdminState, plan: DomainSecurityPlan) -> Outcome {
    let now = s.clock.now();
    let r = s
        .workspace
        .set_up_domain_security(&plan, now)
        .map(Done::Message);
    admin(Form::DomainSecurityWizard, s, r)
}

pub fn new_request(s: &mut AdminState, spec: RequestSpec) -> Outcome {
    let now = s.clock.now();
    let r = s
        .workspace
        .new_request(
            &spec.subject,
            &spec.domains,
            spec.key,
            spec.friendly_name,
            now,
        )
        .map(|o| {
            Done::Request(RequestCreated {
                id: o.entry.id.clone(),
                subject: o.entry.subject.clone(),
                domains: o.entry.domains.clone(),
                pem: o.pem.clone(),
                der: Arc::new(o.der.clone()),
            })
        });
    admin(Form::RequestWizard, s, r)
}

pub fn import(s: &mut AdminState, spec: ImportSpec) -> Outcome {
    let now = s.clock.now();
    let pw = spec.password.as_ref().map(|p| p.as_str());
    let r = s
        .workspace
        .import_certificate(&spec.bytes, pw, spec.friendly_name.clone(), now)
        .map(|o| {
            let mut msg = format!("Certificate {} ({}) imported", o.thumbprint, o.info.subject);
            if let Some(req) = &o.completed_request {
                msg.push_str(&format!("; it completes pending request {}", req.id));
            }
            if o.chain_certificates > 0 {
                msg.push_str(&format!(
                    " with {} chain certificate(s)",
                    o.chain_certificates
                ));
            }
            if spec.enable_smtp {
                match s.workspace.enable_certificate(&o.thumbprint) {
                    Ok(_) => msg.push_str("; enabled for SMTP"),
                    Err(e) => {
                        msg.push_str(&format!("; NOT enabled for SMTP: {e}"));
                    }
                }
            }
            Done::Imported {
                message: sentence(&msg),
                thumbprint: o.thumbprint,
            }
        });
    admin(Form::ImportWizard, s, r)
}

pub fn enable(s: &mut AdminState, thumbprint: String) -> Outcome {
    let r = s
        .workspace
        .enable_certificate(&thumbprint)
        .map(|t| Done::Message(format!("Certificate {t} is enabled for SMTP.")));
    admin(Form::Certificates, s, r)
}

pub fn remove_certificate(s: &mut AdminState, thumbprint: String) -> Outcome {
    let r = s
        .workspace
        .remove_certificate(&thumbprint)
        .map(|t| Done::Message(format!("Certificate {t} and its private key were removed.")));
    admin(Form::Certificates, s, r)
}

pub fn remove_request(s: &mut AdminState, id: String) -> Outcome {
    let r = s.workspace.remove_request(&id).map(|e| {
        Done::Message(format!(
            "Pending request {} and its key were removed.",
            e.id
        ))
    });
    admin(Form::Certificates, s, r)
}

pub fn trust_certificate(s: &mut AdminState, form: Form, der: Arc<Vec<u8>>) -> Outcome {
    let now = s.clock.now();
    let r = s.workspace.trust_add(&der, now).map(|added| {
        let names: Vec<String> = added.iter().map(|r| r.subject.clone()).collect();
        Done::Message(format!("Trusted root: {}.", names.join("; ")))
    });
    admin(form, s, r)
}

pub fn trust_add(s: &mut AdminState, path: PathBuf) -> Outcome {
    let now = s.clock.now();
    let r = read_limited(&path)
        .map_err(AdminError::Refused)
        .and_then(|bytes| s.workspace.trust_add(&bytes, now))
        .map(|added| {
            let names: Vec<String> = added.iter().map(|r| r.subject.clone()).collect();
            Done::Message(format!("Trusted: {}.", names.join("; ")))
        });
    admin(Form::TrustedRoots, s, r)
}

pub fn trust_remove(s: &mut AdminState, thumbprint: String) -> Outcome {
    let r = s
        .workspace
        .trust_remove(&thumbprint)
        .map(|e| Done::Message(format!("{} is no longer trusted.", e.subject)));
    admin(Form::TrustedRoots, s, r)
}

pub fn crl_add(s: &mut AdminState, path: PathBuf) -> Outcome {
    let now = s.clock.now();
    let r = read_limited(&path)
        .map_err(AdminError::Refused)
        .and_then(|bytes| s.workspace.crl_add(&bytes, now))
        .map(|a| {
            let mut m = format!(
                "Revocation list of {} added ({} revoked).",
                a.info.issuer, a.info.revoked
            );
            if a.out_of_date {
                m.push_str(&format!(
                    " Warning: it is {}.",
                    a.info.next_update_words(now)
                ));
            }
            Done::Message(m)
        });
    admin(Form::TrustedRoots, s, r)
}

pub fn crl_remove(s: &mut AdminState, id: String) -> Outcome {
    let r = s
        .workspace
        .crl_remove(&id)
        .map(|e| Done::Message(format!("The revocation list of {} was removed.", e.issuer)));
    admin(Form::TrustedRoots, s, r)
}

/// Writes a new file; replaces one only when `if_exists` says so (a save dialog asked).
pub fn save_file(
    form: Form,
    path: &Path,
    bytes: &[u8],
    what: &str,
    if_exists: IfExists,
) -> Outcome {
    write_file(form, path, bytes, if_exists, atomic::PUBLIC, || {
        format!("{what} saved to {}.", path.display())
    })
}

/// Like [`save_file`], for a file that holds a private key: mode 0600.
fn save_private_file(
    form: Form,
    path: &Path,
    bytes: &[u8],
    what: &str,
    if_exists: IfExists,
) -> Outcome {
    write_file(form, path, bytes, if_exists, atomic::PRIVATE, || {
        format!(
            "{what} saved to {} (readable by you only). Keep the file and its password apart.",
            path.display()
        )
    })
}

fn write_file(
    form: Form,
    path: &Path,
    bytes: &[u8],
    if_exists: IfExists,
    mode: u32,
    done: impl FnOnce() -> String,
) -> Outcome {
    let result = if path.as_os_str().is_empty() {
        Err(Failure::new("type the path of the file to write"))
    } else if if_exists == IfExists::Refuse && path.exists() {
        Err(Failure::new(format!(
            "{} already exists; choose another name",
            path.display()
        )))
    } else {
        atomic::write_atomic(path, bytes, mode)
            .map(|_| Done::Message(done()))
            .map_err(|e| Failure::new(e.to_string()))
    };
    Outcome::Admin {
        form,
        result,
        reload: None,
    }
}

pub fn export(s: &mut AdminState, what: ExportItem, path: PathBuf, if_exists: IfExists) -> Outcome {
    let ws = &s.workspace;
    let (bytes, words, private) = match &what {
        ExportItem::Certificate { thumbprint, format } => (
            ws.export_certificate(thumbprint, *format),
            format!("The certificate ({})", format.label()),
            false,
        ),
        ExportItem::Pfx {
            thumbprint,
            password,
            again,
        } => (
            ws.export_pfx(thumbprint, password, again),
            "The certificate with its private key (PFX, AES-256)".to_string(),
            true,
        ),
        ExportItem::Request(id) => (
            ws.export_request(id).map(String::into_bytes),
            format!("Request {id}"),
            false,
        ),
        ExportItem::LabCa => (
            ws.export_lab_ca().map(String::into_bytes),
            "The lab CA certificate".to_string(),
            false,
        ),
    };
    match bytes {
        Ok(b) if private => save_private_file(Form::Certificates, &path, &b, &words, if_exists),
        Ok(b) => save_file(Form::Certificates, &path, &b, &words, if_exists),
        Err(e) => Outcome::Admin {
            form: Form::Certificates,
            result: Err(Failure::new(e.to_string())),
            reload: None,
        },
    }
}

pub fn create_lab_ca(s: &mut AdminState, name: String, key: KeySpec, years: u32) -> Outcome {
    let now = s.clock.now();
    let r = s.workspace.ca_init(&name, key, years, now).map(|e| {
        Done::Message(format!(
            "Lab CA '{}' created; its root {} is trusted. Give partners its certificate (Export).",
            e.name, e.thumbprint
        ))
    });
    admin(Form::Certificates, s, r)
}

pub fn issue_with_lab_ca(
    s: &mut AdminState,
    form: Form,
    request_id: String,
    days: u32,
    enable_smtp: bool,
) -> Outcome {
    let now = s.clock.now();
    let r = s
        .workspace
        .ca_issue_pending(&request_id, days, now)
        .and_then(|done| {
            if enable_smtp {
                s.workspace.enable_certificate(&done.thumbprint)?;
            }
            Ok(Done::Message(format!(
                "Issued with the lab CA and installed with its key: {}{}.",
                done.thumbprint,
                if enable_smtp {
                    ", enabled for SMTP"
                } else {
                    ""
                }
            )))
        });
    admin(form, s, r)
}

fn read_limited(path: &Path) -> Result<Vec<u8>, String> {
    if path.as_os_str().is_empty() {
        return Err(
            "type the path of a file, choose one with Browse, or drop it on the window".into(),
        );
    }
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if meta.is_dir() {
        return Err(format!("{} is a folder, not a file", path.display()));
    }
    if meta.len() > MAX_FILE {
        return Err(format!(
            "{} is larger than 10 MB: it is not a certificate or request file",
            path.display()
        ));
    }
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Reads and inspects a file (query worker).
pub fn load_file(
    workspace: &Workspace,
    clock: Clock,
    target: FileTarget,
    path: PathBuf,
    password: Option<Zeroizing<String>>,
) -> Outcome {
    let result = read_limited(&path).map_err(Failure::new).and_then(|bytes| {
        let pkcs12 = crate::pki::import::is_pkcs12(&bytes);
        let pw = password.as_ref().map(|p| p.as_str());
        match workspace.inspect_file(&bytes, pw, clock.now()) {
            Ok(report) => Ok(LoadedFile {
                path: path.clone(),
                bytes: Arc::new(bytes),
                report: Arc::new(report),
                pkcs12,
            }),
            Err(e) => Err(Failure::from(e)),
        }
    });
    Outcome::Loaded { target, result }
}

pub fn inspect_stored(workspace: &Workspace, clock: Clock, thumbprint: String) -> Outcome {
    let result = workspace
        .inspect_stored(&thumbprint, clock.now())
        .map(Arc::new)
        .map_err(Failure::from);
    Outcome::Stored { thumbprint, result }
}

fn db(s: &mut QueryState) -> Result<Option<&TrackingDb>, String> {
    if s.db.is_none() {
        if !s.tracking_path.exists() {
            return Ok(None);
        }
        s.db = Some(TrackingDb::open_read_only(&s.tracking_path).map_err(|e| e.to_string())?);
    }
    Ok(s.db.as_ref())
}

pub fn track_search(s: &mut QueryState, generation: u64, mut q: TrackingQuery) -> Outcome {
    q.limit = Some(MAX_EVENTS);
    let result = db(s).and_then(|db| match db {
        None => Ok(Arc::new(TrackingSet::default())),
        Some(db) => db
            .search(&q)
            .map(|events| {
                let truncated = events.len() >= MAX_EVENTS;
                Arc::new(tracking_data::group(events, truncated))
            })
            .map_err(|e| e.to_string()),
    });
    if result.is_err() {
        s.db = None;
    }
    Outcome::Tracking { generation, result }
}

pub fn track_order(
    set: &TrackingSet,
    generation: u64,
    column: TrackColumn,
    ascending: bool,
    filter: &str,
) -> Outcome {
    Outcome::TrackOrder {
        generation,
        order: Arc::new(tracking_data::order(set, column, ascending, filter)),
    }
}

pub fn track_history(s: &mut QueryState, id: String) -> Outcome {
    let result = db(s).and_then(|db| match db {
        None => Ok(Vec::new()),
        Some(db) => db.message_history(&id).map_err(|e| e.to_string()),
    });
    Outcome::TrackHistory {
        internal_id: id,
        result,
    }
}

pub fn probe(s: &mut QueryState, workspace: &Workspace, form: Form, req: ProbeRequest) -> Outcome {
    Outcome::Probe {
        form,
        result: s.prober.probe(&req, workspace),
    }
}
