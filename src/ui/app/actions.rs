//! What pages and wizards ask for. They never do the work themselves: they push an [`Action`]
//! into the frame's queue and the application applies the whole queue in one place
//! (`ConsoleApp::apply`), sending disk work to a background worker and queue operations to the
//! relay. The other types here name where a result goes back to.

pub use crate::admin::{DomainSecurityPlan, RootChoice};
use crate::config::{
    ConnectorType, DirectTrustEntry, PartnerPin, Pin, ReceiveConnector, SendConnector,
    TransportSettings,
};
use crate::engine::QueueOp;
use crate::pki::export::ExportFormat;
use crate::pki::keys::KeySpec;
use crate::pki::subject::Subject;
use crate::store::protocol_logs::{LogDirection, LogFilter};
use crate::store::tracking::TrackingQuery;
use crate::ui::state::probe::ProbeRequest;
use crate::ui::widgets::nav::Page;
use std::path::PathBuf;
use std::sync::Arc;
use zeroize::Zeroizing;

/// A place in the console that shows the progress, success or failure of what it asked for,
/// and the validation problems at its fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Form {
    Partners,
    WhatIf,
    Transport,
    SendConnectors,
    AcceptedDomains,
    ReceiveConnectors,
    Certificates,
    TrustedRoots,
    DirectTrust,
    Tracking,
    Queues,
    Inspector,
    Probe,
    TestMessage,
    TlsReports,
    ProtocolLogs,
    RequestWizard,
    ImportWizard,
    DomainSecurityWizard,
}

/// Which wizard to open, and with what.
#[derive(Clone, Debug, PartialEq)]
pub enum WizardStart {
    /// A new certificate request; a renewal starts with the old subject and domains.
    Request {
        subject: Option<String>,
        domains: Vec<String>,
    },
    Import,
    /// The Domain Security wizard, with the partner domain filled in when not empty.
    DomainSecurity {
        domain: String,
    },
}

/// A change of the settings, checked completely and saved atomically by the admin worker.
#[derive(Clone, Debug, PartialEq)]
pub enum SettingsChange {
    Transport(Box<TransportSettings>),
    /// Replaces the receive connector at `index`, or adds one when `index` is the end.
    ReceiveConnector {
        index: usize,
        connector: Box<ReceiveConnector>,
    },
    SendConnector {
        index: usize,
        connector: Box<SendConnector>,
    },
    RemoveReceiveConnector(String),
    RemoveSendConnector(String),
    /// Domain Security on one connector (a receive connector needs AuthMechanism Tls already).
    DomainSecure {
        kind: ConnectorType,
        name: String,
        enabled: bool,
    },
    AddAcceptedDomain(String),
    RemoveAcceptedDomain(String),
    AddDirectTrust(DirectTrustEntry),
    RemoveDirectTrust(String),
    RemovePartnerAnchor(String),
    /// A partner domain pinned to an anchor (its CA, or a key).
    AddPartnerAnchor {
        domain: String,
        pin: Pin,
    },
    /// A partner's own certificate pinned for its domains (Partner only, never internal).
    AddPartnerPin(PartnerPin),
    RemovePartnerPin(String),
}

/// A question for the policy simulator, as the What if page asks it.
#[derive(Clone, Debug, PartialEq)]
pub struct ExplainSpec {
    pub from: String,
    pub to: String,
    /// The message comes from a client (else: from us, only the delivery is explained).
    pub from_client: bool,
    pub starttls: bool,
    /// The client certificate file.
    pub certificate: Option<PathBuf>,
    pub receive_connector: Option<String>,
    /// The client's address, as typed.
    pub client_ip: Option<String>,
    pub send_connector: Option<String>,
}

/// Where a file that was read and inspected goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileTarget {
    ImportWizard,
    Inspector,
    /// The second certificate of the inspector's side-by-side comparison.
    InspectorCompare,
    DomainSecurityRoot,
}

/// Where a path chosen in a file dialog goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PickTarget {
    ImportFile,
    InspectorFile,
    TrustRootFile,
    CrlFile,
    DomainSecurityRoot,
    RequestSave,
    Export(ExportItem),
    TrackingCsv,
    WhatIfCertificate,
    EvidenceReport,
}

/// Something the console writes to a file for someone else.
#[derive(Clone)]
pub enum ExportItem {
    Certificate {
        thumbprint: String,
        format: ExportFormat,
    },
    /// A PKCS#12 backup with the private key.
    Pfx {
        thumbprint: String,
        password: Zeroizing<String>,
        again: Zeroizing<String>,
    },
    Request(String),
    LabCa,
}

impl PartialEq for ExportItem {
    fn eq(&self, other: &Self) -> bool {
        self.describe() == other.describe()
    }
}

impl Eq for ExportItem {}

impl std::fmt::Debug for ExportItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl ExportItem {
    /// What is written, in words (never the password).
    pub fn describe(&self) -> String {
        match self {
            ExportItem::Certificate { thumbprint, format } => {
                format!("certificate {thumbprint} as {}", format.label())
            }
            ExportItem::Pfx { thumbprint, .. } => {
                format!("PFX backup of {thumbprint} with its private key")
            }
            ExportItem::Request(id) => format!("the file of pending request {id}"),
            ExportItem::LabCa => "the lab CA certificate".into(),
        }
    }
}

/// A new certificate request.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestSpec {
    pub subject: Subject,
    pub domains: Vec<String>,
    pub key: KeySpec,
    pub friendly_name: Option<String>,
}

/// A certificate file to import.
#[derive(Clone)]
pub struct ImportSpec {
    pub bytes: Arc<Vec<u8>>,
    pub password: Option<Zeroizing<String>>,
    pub enable_smtp: bool,
    pub friendly_name: Option<String>,
}

impl std::fmt::Debug for ImportSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportSpec")
            .field("bytes", &self.bytes.len())
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("enable_smtp", &self.enable_smtp)
            .finish()
    }
}

/// Column the tracking table is sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackColumn {
    Time,
    Sender,
    Recipients,
    Subject,
    Status,
    Policy,
    Security,
}

/// What a queue operation was for, so its answer lands in the right place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueuePurpose {
    /// The messages of the selected queue.
    Messages,
    /// A command (retry, suspend, resume, remove, release); its answer is shown, then the lists
    /// refreshed.
    Command,
    /// The quarantine list.
    Quarantine,
}

/// One request from a page or wizard.
/// What saving to a file does when the file is already there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IfExists {
    /// Replace it: a save dialog already asked whether to.
    Replace,
    /// Leave it and say so: the path was typed.
    Refuse,
}

#[derive(Debug)]
pub enum Action {
    Navigate(Page),
    OpenWizard(WizardStart),
    CloseWizard,
    Dismiss(Form),
    Change {
        form: Form,
        change: SettingsChange,
    },
    NewRequest(Box<RequestSpec>),
    /// Writes bytes to a new file (replaces one only when `if_exists` says so).
    SaveFile {
        form: Form,
        path: PathBuf,
        bytes: Arc<Vec<u8>>,
        what: String,
        if_exists: IfExists,
    },
    CopyText {
        form: Form,
        text: String,
    },
    EnableCertificate(String),
    RemoveCertificate(String),
    RemoveRequest(String),
    /// Writes one of our certificates (PEM with chain, DER, PKCS#7), a PFX backup with its
    /// key, a pending request's file, or the lab CA certificate.
    Export {
        what: ExportItem,
        path: PathBuf,
        if_exists: IfExists,
    },
    /// Creates the lab CA (and trusts its root).
    CreateLabCa {
        name: String,
        key: KeySpec,
        years: u32,
    },
    /// Issues a certificate for a pending request with the lab CA and installs it.
    IssueWithLabCa {
        request_id: String,
        days: u32,
        /// Then enables it for SMTP.
        enable_smtp: bool,
        /// Where the outcome is shown (Certificates, or the request wizard).
        form: Form,
    },
    /// Reads a file and inspects it (certificate, request, PKCS#7, PKCS#12).
    LoadFile {
        target: FileTarget,
        path: PathBuf,
        password: Option<Zeroizing<String>>,
    },
    InspectStored(String),
    Import(ImportSpec),
    TrustAdd(PathBuf),
    /// Trusts one root certificate (DER) shown in the inspector; the outcome shows on `form`.
    TrustCertificate {
        der: Arc<Vec<u8>>,
        form: Form,
    },
    TrustRemove(String),
    /// Adds a revocation list file (`mailflow crl add`).
    CrlAdd(PathBuf),
    /// Removes an added revocation list by id.
    CrlRemove(String),
    DomainSecurity(Box<DomainSecurityPlan>),
    Pick {
        target: PickTarget,
        save: bool,
        file_name: String,
    },
    TrackSearch(Box<TrackingQuery>),
    TrackSort {
        column: TrackColumn,
        ascending: bool,
        filter: String,
    },
    TrackHistory(String),
    /// The same search again, quietly (new messages appear without pressing Search).
    TrackRefresh(Box<TrackingQuery>),
    /// Opens message tracking on one message (by internal id), its events loaded.
    TrackMessage(String),
    /// Opens message tracking on the mail to a partner domain.
    TrackPartner(String),
    TrackExport(PathBuf),
    Queue {
        op: QueueOp,
        purpose: QueuePurpose,
    },
    Probe {
        form: Form,
        request: ProbeRequest,
    },
    /// Sends a test message now through the running relay.
    SendTestMessage(crate::engine::test_message::TestMessage),
    /// Reads the TLS reports page's data (received reports, our own outcomes).
    LoadTlsReports,
    /// Reads the partners report (every partner's health) on the query worker.
    LoadPartners,
    /// Asks the policy simulator (on the query worker).
    Explain(Box<ExplainSpec>),
    /// Opens the What if page with a question filled in.
    OpenWhatIf {
        from: String,
        to: String,
        from_client: bool,
    },
    /// Opens the connectivity probe on a domain and probes its hosts now.
    ProbeDomain(String),
    /// Writes the evidence report of the last `days` days (one partner's, or all) to `path`.
    ExportEvidence {
        partner: Option<String>,
        days: i64,
        html: bool,
        path: PathBuf,
    },
    /// Lists the days kept of one protocol log.
    LoadProtocolLogDays(LogDirection),
    /// Reads one day of a protocol log, filtered.
    ReadProtocolLog {
        direction: LogDirection,
        day: String,
        filter: LogFilter,
    },
    /// Opens the protocol log page on one session of one day (from tracking or the monitor).
    OpenProtocolLog {
        direction: LogDirection,
        day: String,
        session: String,
    },
}
