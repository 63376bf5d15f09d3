//! The persisted state as the console shows it: settings, our certificates, pending requests,
//! trusted roots and the lab CA, read in one piece from a [`Workspace`] by the admin worker
//! after every change. Pages only read it; nothing here touches the disk.

use crate::admin::Workspace;
use crate::config::Settings;
use crate::pki::inspect::CertStatus;
use crate::store::certstore::RequestEntry;
use time::OffsetDateTime;

/// One of our certificates, with what the pages and the Domain Security checks need.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnCert {
    pub thumbprint: String,
    pub subject: String,
    /// The subject's common name (the last CN), shown first.
    pub common_name: Option<String>,
    pub issuer: String,
    pub smtp: bool,
    pub status: CertStatus,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub has_private_key: bool,
    pub self_signed: bool,
    pub friendly_name: Option<String>,
    /// SAN DNS names (or CNs when there is no SAN).
    pub names: Vec<String>,
    pub dns_names: Vec<String>,
    pub server_auth: bool,
    pub client_auth: bool,
    pub is_ca: bool,
}

impl OwnCert {
    /// `SMTP` or `None`, as Get-ExchangeCertificate shows the services.
    pub fn services(&self) -> &'static str {
        if self.smtp { "SMTP" } else { "None" }
    }
}

/// A trusted root as the console lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct RootRow {
    pub thumbprint: String,
    pub subject: String,
    pub not_after: OffsetDateTime,
    pub current: bool,
    pub lab_ca: bool,
}

/// Everything the settings and certificate pages read.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsoleData {
    pub data_dir: String,
    pub settings: Settings,
    pub certificates: Vec<OwnCert>,
    pub requests: Vec<RequestEntry>,
    pub roots: Vec<RootRow>,
    /// Revocation lists the administrator added.
    pub crls: Vec<crate::admin::CrlRow>,
    pub lab_ca: Option<String>,
    /// The lab CA certificate's thumbprint and expiry, when there is one.
    pub lab_ca_root: Option<(String, OffsetDateTime)>,
    /// The certificate the relay presents for the organization FQDN, if any.
    pub smtp_identity: Option<String>,
    pub loaded_at: OffsetDateTime,
}

impl ConsoleData {
    /// Reads the workspace (already in memory: no disk access).
    pub fn load(workspace: &Workspace, now: OffsetDateTime) -> ConsoleData {
        let lab_thumbprint = workspace.store.lab_ca().map(|c| c.thumbprint.clone());
        let certificates = workspace
            .store
            .certificates()
            .iter()
            .map(|c| OwnCert {
                thumbprint: c.info.thumbprint.clone(),
                subject: c.info.subject.clone(),
                common_name: c.info.common_names.last().cloned(),
                issuer: c.info.issuer.clone(),
                smtp: c.is_smtp(),
                status: workspace.store.status(c, now),
                not_before: c.info.not_before,
                not_after: c.info.not_after,
                has_private_key: c.entry.has_private_key,
                self_signed: c.info.self_signed,
                friendly_name: c.entry.friendly_name.clone(),
                names: c.info.names(),
                dns_names: c.info.dns_names.clone(),
                server_auth: c.info.server_auth,
                client_auth: c.info.client_auth,
                is_ca: c.info.is_ca,
            })
            .collect();
        let fqdn = workspace.settings.organization.fqdn.clone();
        ConsoleData {
            data_dir: workspace.dir.root().display().to_string(),
            settings: workspace.settings.clone(),
            certificates,
            requests: workspace.store.requests().to_vec(),
            roots: workspace
                .store
                .trusted_roots()
                .iter()
                .map(|r| RootRow {
                    thumbprint: r.info.thumbprint.clone(),
                    subject: r.info.subject.clone(),
                    not_after: r.info.not_after,
                    current: r.info.is_current(now),
                    lab_ca: lab_thumbprint.as_deref() == Some(r.info.thumbprint.as_str()),
                })
                .collect(),
            crls: workspace
                .store
                .crls()
                .iter()
                .map(|c| crate::admin::CrlRow {
                    info: c.crl.info.clone(),
                    source: crate::admin::CrlSource::Added,
                    out_of_date: c.crl.info.is_out_of_date(now),
                    date_words: c.crl.info.next_update_words(now),
                })
                .collect(),
            lab_ca: workspace.store.lab_ca().map(|c| c.name.clone()),
            lab_ca_root: workspace.store.lab_ca().and_then(|ca| {
                workspace
                    .store
                    .trusted_roots()
                    .iter()
                    .find(|r| r.info.thumbprint == ca.thumbprint)
                    .map(|r| (r.info.thumbprint.clone(), r.info.not_after))
            }),
            smtp_identity: workspace
                .store
                .smtp_certificate_for(&fqdn, now)
                .map(|c| c.info.thumbprint.clone()),
            loaded_at: now,
        }
    }

    /// The organization's mail domain: the first accepted domain.
    pub fn org_domain(&self) -> Option<&str> {
        self.settings
            .accepted_domains
            .first()
            .map(|d| d.domain.as_str())
    }

    /// The certificate the relay uses as its SMTP identity.
    pub fn smtp_certificate(&self) -> Option<&OwnCert> {
        let thumbprint = self.smtp_identity.as_deref()?;
        self.certificates
            .iter()
            .find(|c| c.thumbprint == thumbprint)
    }

    /// Our certificates that expire within `days` of `now`, or have expired.
    pub fn expiring_within(&self, now: OffsetDateTime, days: i64) -> usize {
        let soon = |t: OffsetDateTime| (t - now).whole_days() <= days;
        self.certificates
            .iter()
            .filter(|c| soon(c.not_after))
            .count()
    }

    pub fn certificate(&self, thumbprint: &str) -> Option<&OwnCert> {
        self.certificates
            .iter()
            .find(|c| c.thumbprint == thumbprint)
    }
}
