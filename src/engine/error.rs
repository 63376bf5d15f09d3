//! The one error type of the engine. Each variant says what failed and, where the
//! administrator can do something about it, what to do; the texts that end up in a queued
//! message's last error (notices that cannot be stored, a send connector that is gone) keep
//! their SMTP reply code in front, as the queue records them.

use crate::config::validate::Problems;
use crate::store::StoreError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Another relay (the console or `mailflow serve`) holds the data directory's lock.
    #[error(
        "another Mailflow relay is already running on {} (console or `mailflow serve`); stop it first",
        .0.display()
    )]
    AlreadyRunning(PathBuf),
    /// A file of the data directory (the lock, the spool, message tracking) cannot be used;
    /// the store's error names the file.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The settings break rules, so the relay cannot run on them.
    #[error("{0}")]
    InvalidSettings(Problems),
    /// A certificate the settings name cannot be used (not in the store, no private key,
    /// none valid for SMTP).
    #[error("{0}")]
    Certificate(String),
    /// The operating system refused the relay its thread (out of threads or memory).
    #[error("the relay thread could not start: {0}")]
    Thread(std::io::Error),
    /// The async runtime could not be built (out of threads, memory or file descriptors).
    #[error("the relay runtime could not start: {0}")]
    Runtime(std::io::Error),
    /// The relay's thread did not report back in time.
    #[error("the relay did not start within 30 seconds")]
    StartTimeout,
    /// Queues (as opposed to messages) exist only in a running relay.
    #[error(
        "queues exist only while the relay runs: start it (`mailflow serve` or the console), or suspend single messages by id"
    )]
    QueuesNeedTheRelay,
    /// An NDR or delay notice could not be built or stored; `why` starts with the reply code
    /// the queue records for the message that owes it.
    #[error("{why}")]
    Notice { why: String },
    /// A notice owed by an operation on the stopped relay's queue was not stored.
    #[error("message {id}: {why} (the relay retries it when it runs)")]
    NoticeNotStored { id: String, why: Box<EngineError> },
    /// A probe could not start: no host to probe, or one that is not a host.
    #[error("{why}")]
    Probe { why: String },
    /// The DNS resolver of MX routing cannot be set up.
    #[error("{why}")]
    Dns { why: String },
    /// A queue names a send connector the settings no longer have.
    #[error("{}", crate::smtp::replies::routing_deferred(&format!("send connector '{}' no longer exists", .0)))]
    SendConnectorGone(String),
    /// A blocking task of the relay (spool work) panicked or was cancelled.
    #[error("{what} did not finish: {source}")]
    Task {
        what: &'static str,
        source: tokio::task::JoinError,
    },
    /// Local delivery: the recipient has no domain to pick a mailbox folder by.
    #[error("{0} has no domain")]
    NoDomain(String),
    /// Local delivery: the mailbox folder cannot be written (permissions, full disk).
    #[error("local delivery to {recipient} failed: {what} {}: {source}", folder.display())]
    Mailbox {
        recipient: String,
        what: &'static str,
        folder: PathBuf,
        source: std::io::Error,
    },
    /// Local delivery: the mailbox folders cannot be created.
    #[error("local delivery to {recipient} failed: {source}")]
    MailboxFolder {
        recipient: String,
        source: StoreError,
    },
    /// rustls refused the TLS configuration without a certificate (the crypto provider
    /// lacks what it needs: a build problem, not a setting).
    #[error("the TLS configuration could not be built: {0}")]
    Tls(String),
    /// An inbound session: STARTTLS on a connector without a TLS configuration.
    #[error("STARTTLS without a TLS configuration")]
    NoTlsConfiguration,
    /// An inbound session: STARTTLS once TLS is up.
    #[error("STARTTLS on a TLS connection")]
    StartTlsOnTls,
    /// An inbound session: the TLS handshake failed (the client's certificate, versions or
    /// ciphers; the protocol log says which).
    #[error("TLS negotiation failed with error {0}")]
    TlsNegotiation(std::io::Error),
    /// An inbound session: the TLS handshake did not finish within the inactivity timeout.
    #[error("TLS negotiation timed out")]
    TlsTimeout,
    /// An inbound session outlasted the connector's connection timeout.
    #[error("session time limit reached")]
    SessionTimeLimit,
    /// An inbound session between messages was turned away because the relay stops.
    #[error("relay shutting down")]
    ShuttingDown,
    /// An inbound session sent no command within the connector's inactivity timeout.
    #[error("inactivity timeout")]
    Inactivity,
    /// An inbound session: reading from the client failed.
    #[error("read failed: {0}")]
    Read(std::io::Error),
    /// An inbound session: the client closed the connection.
    #[error("the client closed the connection")]
    ClientClosed,
    /// An inbound session: writing to the client failed.
    #[error("write failed: {0}")]
    Write(std::io::Error),
    /// An inbound session: the connection was already closed when a reply was due.
    #[error("connection closed")]
    ConnectionClosed,
    /// The HTTP client for revocation list downloads could not be built.
    #[error("the CRL download client could not start: {0}")]
    HttpClient(String),
}

pub type Result<T> = std::result::Result<T, EngineError>;
