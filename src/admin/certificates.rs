//! Certificate operations: new request, import, enable for SMTP, remove, inspect (store or
//! file), trusted roots, and the lab CA.

use super::{AdminError, Result, Workspace};
use crate::config::{CertificateSelection, Pin, domain};
use crate::pki::chain::{ChainFailure, ChainVerdict, Purpose, verify_chain_checked};
use crate::pki::import::{self, FileFormat};
use crate::pki::inspect::{self, CertStatus, CertificateInfo, Finding, InspectContext};
use crate::pki::keys::KeySpec;
use crate::pki::request::{self, RequestInfo};
use crate::pki::subject::Subject;
use crate::pki::{PkiError, ca};
use crate::store::certstore::{ImportOutcome, LabCaEntry, RequestEntry, RootEntry};
use time::OffsetDateTime;

/// Checks and normalises the domain names of a request (SAN entries): valid names, `*.` allowed
/// as the whole left-most label, no duplicates.
pub fn check_request_domains(domains: &[String]) -> std::result::Result<Vec<String>, PkiError> {
    let mut out: Vec<String> = Vec::new();
    for d in domains
        .iter()
        .flat_map(|d| d.split(','))
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        let n = domain::normalize_pattern(d).map_err(|e| PkiError::Domain(e.to_string()))?;
        if !out.contains(&n) {
            out.push(n);
        }
    }
    Ok(out)
}

/// A new request, kept as pending with its key.
#[derive(Clone, Debug)]
pub struct RequestOutput {
    pub entry: RequestEntry,
    pub der: Vec<u8>,
    pub pem: String,
}

impl RequestOutput {
    /// The bytes of the request file: PEM (Base64) by default, DER with `binary`.
    pub fn file_bytes(&self, binary: bool) -> Vec<u8> {
        if binary {
            self.der.clone()
        } else {
            self.pem.clone().into_bytes()
        }
    }
}

/// One row of the certificate list (Get-ExchangeCertificate).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertRow {
    pub thumbprint: String,
    pub services: String,
    pub subject: String,
    pub status: CertStatus,
    pub not_after: Option<OffsetDateTime>,
    pub has_private_key: bool,
    pub self_signed: bool,
    pub friendly_name: Option<String>,
    /// Set for a pending request (its id is in `thumbprint`).
    pub pending: bool,
}

/// One certificate as the inspector shows it.
#[derive(Clone, Debug)]
pub struct CertificateReport {
    /// The certificate itself (DER), for trusting or pinning it from the report.
    pub der: Vec<u8>,
    /// The certification path, root first, with a status on every certificate.
    pub nodes: Vec<crate::pki::path::PathNode>,
    pub info: CertificateInfo,
    pub status: CertStatus,
    pub verdict: Option<ChainVerdict>,
    /// Subjects from the certificate up to the root, when the chain validates.
    pub path: Vec<String>,
    pub findings: Vec<Finding>,
    pub has_private_key: Option<bool>,
    pub services: Option<String>,
}

/// What a file holds, inspected.
#[derive(Clone, Debug)]
pub struct FileReport {
    pub format: Option<FileFormat>,
    pub certificates: Vec<CertificateReport>,
    pub requests: Vec<RequestInfo>,
    pub private_keys: usize,
    /// Pending request a certificate of the file completes, if any.
    pub completes_request: Option<RequestEntry>,
}

impl Workspace {
    /// Generates the key (slow for RSA 4096: call off the UI thread), builds the request and
    /// keeps it as pending.
    pub fn new_request(
        &mut self,
        subject: &Subject,
        domains: &[String],
        key: KeySpec,
        friendly_name: Option<String>,
        now: OffsetDateTime,
    ) -> Result<RequestOutput> {
        let domains = check_request_domains(domains)?;
        let keypair = key.generate()?;
        let der = request::build_request(subject, &domains, &keypair)?;
        let about = crate::store::certstore::PendingRequest {
            subject: subject.to_string(),
            domains: domains.clone(),
            key,
            friendly_name,
        };
        let entry = self.store.add_request(&der, &keypair, about, now)?;
        Ok(RequestOutput {
            entry,
            pem: request::to_pem(&der),
            der,
        })
    }

    /// Imports a certificate file (PEM, DER, PKCS#7, PKCS#12 with `password`).
    pub fn import_certificate(
        &mut self,
        bytes: &[u8],
        password: Option<&str>,
        friendly_name: Option<String>,
        now: OffsetDateTime,
    ) -> Result<ImportOutcome> {
        let contents = import::read_file(bytes, password)?;
        Ok(self.store.import(contents, friendly_name, now)?)
    }

    /// Enables a certificate for the SMTP service.
    pub fn enable_certificate(&mut self, thumbprint: &str) -> Result<String> {
        Ok(self.store.enable_smtp(thumbprint)?)
    }

    /// Removes one of our certificates, unless a connector names it.
    pub fn remove_certificate(&mut self, thumbprint: &str) -> Result<String> {
        let thumbprint = self
            .store
            .find(thumbprint)
            .map_err(AdminError::Refused)?
            .info
            .thumbprint
            .clone();
        let users: Vec<String> = self
            .settings
            .receive_connectors
            .iter()
            .filter(|c| matches!(&c.certificate, CertificateSelection::Thumbprint(t) if crate::config::validate::normalize_hex(t) == thumbprint))
            .map(|c| format!("receive connector '{}'", c.name))
            .chain(
                self.settings
                    .send_connectors
                    .iter()
                    .filter(|c| matches!(&c.certificate, CertificateSelection::Thumbprint(t) if crate::config::validate::normalize_hex(t) == thumbprint))
                    .map(|c| format!("send connector '{}'", c.name)),
            )
            .collect();
        if !users.is_empty() {
            return Err(AdminError::Refused(format!(
                "certificate {thumbprint} is used by {}: give the connector another certificate (or automatic) first",
                users.join(", ")
            )));
        }
        Ok(self.store.remove(&thumbprint)?)
    }

    /// Removes a pending request and its private key.
    pub fn remove_request(&mut self, id: &str) -> Result<RequestEntry> {
        self.store.remove_request(id).map_err(AdminError::Refused)
    }

    /// Rows for the certificate list: our certificates, then pending requests.
    pub fn certificate_rows(&self, now: OffsetDateTime) -> Vec<CertRow> {
        let roots = self.store.root_ders();
        let revocation = self.revocation();
        let lists = revocation.lists();
        let mut rows: Vec<CertRow> = self
            .store
            .certificates()
            .iter()
            .map(|c| CertRow {
                thumbprint: c.info.thumbprint.clone(),
                services: if c.is_smtp() {
                    "SMTP".into()
                } else {
                    "None".into()
                },
                subject: c.info.subject.clone(),
                status: match self.store.status(c, now) {
                    // A CA-issued certificate of ours may be revoked (or blocked) too.
                    CertStatus::Valid if revocation.is_blocked(&c.info.thumbprint) => {
                        CertStatus::Revoked
                    }
                    CertStatus::Valid if !c.info.self_signed => inspect::status(
                        &c.info,
                        now,
                        Some(&verify_chain_checked(
                            &c.der,
                            &c.chain,
                            &roots,
                            now,
                            Purpose::Server,
                            Some(revocation.check(&lists)),
                        )),
                    ),
                    other => other,
                },
                not_after: Some(c.info.not_after),
                has_private_key: c.entry.has_private_key,
                self_signed: c.info.self_signed,
                friendly_name: c.entry.friendly_name.clone(),
                pending: false,
            })
            .collect();
        rows.extend(self.store.requests().iter().map(|r| CertRow {
            thumbprint: r.id.clone(),
            services: "None".into(),
            subject: r.subject.clone(),
            status: CertStatus::PendingRequest,
            not_after: None,
            has_private_key: true,
            self_signed: false,
            friendly_name: r.friendly_name.clone(),
            pending: true,
        }));
        rows
    }

    fn report(
        &self,
        der: &[u8],
        intermediates: &[Vec<u8>],
        now: OffsetDateTime,
        own: Option<(&crate::store::certstore::StoredCert, bool)>,
    ) -> Result<CertificateReport> {
        let info = inspect::inspect_certificate(der)?;
        let roots = self.store.root_ders();
        let revocation = self.revocation();
        let lists = revocation.lists();
        let verdict = if revocation.is_blocked(&info.thumbprint) {
            Some(ChainVerdict::Untrusted {
                reason: format!(
                    "blocked: certificate {} is on this organization's deny-list (`mailflow cert unblock` takes it off)",
                    info.thumbprint
                ),
                kind: ChainFailure::Revoked,
            })
        } else if info.self_signed && (info.is_ca || own.is_some()) {
            None
        } else {
            Some(verify_chain_checked(
                der,
                intermediates,
                &roots,
                now,
                Purpose::Server,
                Some(revocation.check(&lists)),
            ))
        };
        let path = match &verdict {
            // The path ends with the trusted root the chain was validated against.
            Some(ChainVerdict::Trusted { path }) => path
                .iter()
                .filter_map(|d| inspect::inspect_certificate(d).ok().map(|i| i.subject))
                .collect(),
            _ => Vec::new(),
        };
        let org_domain = self
            .settings
            .accepted_domains
            .first()
            .map(|d| d.domain.clone());
        let is_own = own.is_some();
        let ctx = InspectContext {
            trust: verdict.as_ref(),
            domain: if is_own { org_domain.as_deref() } else { None },
            has_private_key: own.map(|(c, _)| c.entry.has_private_key),
            as_smtp_identity: own.is_some_and(|(_, smtp)| smtp),
        };
        let findings = inspect::findings(&info, now, &ctx);
        let status = inspect::status(&info, now, verdict.as_ref());
        let nodes = crate::pki::path::path_nodes(der, intermediates, &roots, verdict.as_ref(), now);
        Ok(CertificateReport {
            der: der.to_vec(),
            nodes,
            status,
            verdict,
            path,
            findings,
            has_private_key: own.map(|(c, _)| c.entry.has_private_key),
            services: own.map(|(c, _)| {
                if c.is_smtp() {
                    "SMTP".into()
                } else {
                    "None".into()
                }
            }),
            info,
        })
    }

    /// Inspects a certificate of the store (ours or a trusted root) by thumbprint.
    pub fn inspect_stored(
        &self,
        thumbprint: &str,
        now: OffsetDateTime,
    ) -> Result<CertificateReport> {
        if let Ok(c) = self.store.find(thumbprint) {
            return self.report(&c.der, &c.chain, now, Some((c, c.is_smtp())));
        }
        if let Ok(r) = self.store.find_root(thumbprint) {
            return self.report(&r.der, &[], now, None);
        }
        Err(AdminError::Refused(
            self.store.find(thumbprint).err().unwrap_or_default(),
        ))
    }

    /// Inspects any file: certificates (with chain check against our trusted roots), requests,
    /// PKCS#7 chains, PKCS#12 archives (with `password`).
    pub fn inspect_file(
        &self,
        bytes: &[u8],
        password: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<FileReport> {
        let contents = import::read_file(bytes, password)?;
        let mut certificates = Vec::new();
        for (i, der) in contents.certificates.iter().enumerate() {
            let others: Vec<Vec<u8>> = contents
                .certificates
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, d)| d.clone())
                .collect();
            certificates.push(self.report(der, &others, now, None)?);
        }
        let mut requests = Vec::new();
        for r in &contents.requests {
            requests.push(request::parse_request(r)?);
        }
        let completes_request = certificates.iter().find_map(|c| {
            self.store
                .requests()
                .iter()
                .find(|r| r.public_key_sha256 == c.info.public_key_sha256)
                .cloned()
        });
        // A certificate that completes a pending request has its private key here: the
        // request's (the preview must not say "not known" beside "completes request").
        if let Some(r) = &completes_request {
            for c in certificates
                .iter_mut()
                .filter(|c| c.info.public_key_sha256 == r.public_key_sha256)
            {
                c.has_private_key = Some(true);
            }
        }
        Ok(FileReport {
            format: contents.format,
            certificates,
            requests,
            private_keys: contents.private_keys.len(),
            completes_request,
        })
    }

    /// Trusts every CA certificate in a file (a partner organization's root).
    pub fn trust_add(&mut self, bytes: &[u8], now: OffsetDateTime) -> Result<Vec<RootEntry>> {
        let contents = import::read_file(bytes, None)?;
        if contents.certificates.is_empty() {
            return Err(AdminError::Refused(
                "the file contains no certificate".into(),
            ));
        }
        let mut cas = Vec::new();
        for der in &contents.certificates {
            let info = inspect::inspect_certificate(der)?;
            if info.is_ca {
                cas.push(der.clone());
            }
        }
        if cas.is_empty() {
            // Let the store explain why a leaf cannot be a root.
            return Err(self
                .store
                .trust_add(&contents.certificates[0], now)
                .err()
                .map(AdminError::from)
                .unwrap_or_else(|| AdminError::Refused("no CA certificate in the file".into())));
        }
        // Check all before adding any, so a refusal adds nothing.
        for der in &cas {
            let info = inspect::inspect_certificate(der)?;
            if self
                .store
                .trusted_roots()
                .iter()
                .any(|r| r.info.thumbprint == info.thumbprint)
            {
                return Err(AdminError::Refused(format!(
                    "{} ({}) is already a trusted root",
                    info.thumbprint, info.subject
                )));
            }
        }
        let mut added = Vec::new();
        for der in &cas {
            added.push(self.store.trust_add(der, now)?);
        }
        Ok(added)
    }

    /// Removes a trusted root unless a partner anchor pins it.
    pub fn trust_remove(&mut self, thumbprint: &str) -> Result<RootEntry> {
        let root = self
            .store
            .find_root(thumbprint)
            .map_err(AdminError::Refused)?;
        let thumbprint = root.info.thumbprint.clone();
        if let Some(p) = self.settings.partner_anchors.iter().find(|p| {
            p.anchors.iter().any(|a| matches!(a, Pin::Thumbprint(t) if crate::config::validate::normalize_hex(t) == thumbprint))
        }) {
            return Err(AdminError::Refused(format!(
                "{thumbprint} is pinned as the anchor of partner {}: remove that pin first",
                p.domain
            )));
        }
        if self
            .store
            .lab_ca()
            .is_some_and(|ca| ca.thumbprint == thumbprint)
        {
            return Err(AdminError::Refused(format!(
                "{thumbprint} is this organization's own lab CA: certificates it issued would become untrusted"
            )));
        }
        Ok(self.store.trust_remove(&thumbprint)?)
    }

    /// Creates the lab CA and trusts its root.
    pub fn ca_init(
        &mut self,
        name: &str,
        key: KeySpec,
        years: u32,
        now: OffsetDateTime,
    ) -> Result<LabCaEntry> {
        if let Some(existing) = self.store.lab_ca() {
            return Err(AdminError::Refused(format!(
                "this organization already has a lab CA ({}); its certificate is {}",
                existing.name,
                self.store.lab_ca_cert_path().display()
            )));
        }
        if name.trim().is_empty() || name.chars().count() > 64 {
            return Err(AdminError::Refused(
                "the CA name must be 1 to 64 characters".into(),
            ));
        }
        let keypair = key.generate()?;
        let der = ca::create_ca(name, &self.settings.organization.name, &keypair, now, years)?;
        Ok(self.store.set_lab_ca(name, &der, &keypair, now)?)
    }

    /// Issues a certificate from a request file (PEM or DER) with the lab CA. Returns the
    /// certificate's DER and the CA certificate's DER (its chain).
    pub fn ca_issue(
        &self,
        request_bytes: &[u8],
        days: u32,
        now: OffsetDateTime,
    ) -> Result<(Vec<u8>, Vec<u8>)> {
        let Some((ca_der, ca_key)) = self.store.lab_ca_material()? else {
            return Err(AdminError::Refused(
                "there is no lab CA yet: create one with `mailflow ca init --name NAME`".into(),
            ));
        };
        let contents = import::read_file(request_bytes, None)?;
        let req = match contents.requests.as_slice() {
            [one] => one,
            [] => {
                return Err(AdminError::Refused(
                    "the file holds no certificate request (PKCS#10)".into(),
                ));
            }
            _ => {
                return Err(AdminError::Refused(
                    "the file holds several requests: give one at a time".into(),
                ));
            }
        };
        let cert = ca::issue_from_request(&ca_der, &ca_key, req, now, days)?;
        Ok((cert, ca_der))
    }
}
