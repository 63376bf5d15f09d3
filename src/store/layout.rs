//! Where things live in a data directory:
//!
//! ```text
//! <data-dir>/
//!   settings.ron, settings.ron.bak   the settings (RON) and the previous version
//!   certstore.ron                    index of certificates, pending requests, trusted roots, lab CA
//!   certificates/<THUMBPRINT>.pem    our certificates (leaf first, then chain certificates)
//!   certificates/<THUMBPRINT>.key    their private keys (mode 0600)
//!   requests/<ID>.csr, <ID>.key      pending certificate requests and their keys (0600)
//!   trusted-roots/<THUMBPRINT>.pem   trusted root CA certificates (partner organizations' roots)
//!   ca/ca.pem, ca/ca.key             the lab CA (key 0600)
//!   crls/<ID>.crl                    revocation lists the administrator added (DER)
//!   crl-cache/<URL-SHA1>.crl         revocation lists the relay downloaded (DER)
//!   spool/                           the durable message queue
//!   mailboxes/<domain>/<user>/       local delivery (Maildir)
//!   logs/                            protocol logs
//!   tracking.db                      message tracking
//! ```

use std::path::{Path, PathBuf};

/// The folders and files of one data directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DataDir { root: root.into() }
    }

    /// The user's default: `$XDG_DATA_HOME/mailflow` (usually `~/.local/share/mailflow`).
    pub fn default_location() -> PathBuf {
        dirs::data_dir()
            .unwrap_or_else(|| PathBuf::from("."))
            .join("mailflow")
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn settings(&self) -> PathBuf {
        self.root.join("settings.ron")
    }
    pub fn cert_index(&self) -> PathBuf {
        self.root.join("certstore.ron")
    }
    /// Accounts for SMTP AUTH (password hashes; mode 0600).
    pub fn accounts(&self) -> PathBuf {
        self.root.join("accounts.ron")
    }
    pub fn certificates(&self) -> PathBuf {
        self.root.join("certificates")
    }
    pub fn requests(&self) -> PathBuf {
        self.root.join("requests")
    }
    pub fn trusted_roots(&self) -> PathBuf {
        self.root.join("trusted-roots")
    }
    pub fn ca(&self) -> PathBuf {
        self.root.join("ca")
    }
    /// Revocation lists added by the administrator (`mailflow crl add`).
    pub fn crls(&self) -> PathBuf {
        self.root.join("crls")
    }
    /// Revocation lists downloaded from distribution points (a cache: may be deleted).
    pub fn crl_cache(&self) -> PathBuf {
        self.root.join("crl-cache")
    }
    pub fn spool(&self) -> PathBuf {
        self.root.join("spool")
    }
    pub fn mailboxes(&self) -> PathBuf {
        self.root.join("mailboxes")
    }
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }
    pub fn tracking_db(&self) -> PathBuf {
        self.root.join("tracking.db")
    }
    /// The TLS outcomes of outbound sessions by day, for TLS reports (RFC 8460).
    pub fn tls_reports(&self) -> PathBuf {
        self.root.join("tls-reports")
    }
    /// TLS reports other organizations mailed to our reporting address, one JSON file each.
    pub fn tls_reports_received(&self) -> PathBuf {
        self.tls_reports().join("received")
    }
    /// MTA-STS policies fetched from other domains, kept for their max_age across restarts.
    /// The alerts the relay has announced (so each is announced once).
    pub fn alerts_announced(&self) -> PathBuf {
        self.root.join("alerts-announced.ron")
    }
    pub fn mta_sts_cache(&self) -> PathBuf {
        self.root.join("mta-sts-policies.ron")
    }
}
