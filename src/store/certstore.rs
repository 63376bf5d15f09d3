//! The certificate store on disk: our certificates with their keys and chains, pending requests
//! with their keys, trusted root CAs, the lab CA, revocation lists and the thumbprint
//! deny-list, tied together by `certstore.ron`. Every
//! change first writes its new files, then replaces the index atomically (the commit point),
//! then removes files no longer referenced — so a failure leaves the store as it was, and a
//! crash leaves at most an unreferenced file. Bad input is refused before anything is written.

use super::atomic::{self, PRIVATE, PUBLIC};
use super::error::{Result, StoreError};
use super::layout::DataDir;
use crate::pki::builder::to_pem;
use crate::pki::chain::{ChainVerdict, Purpose, verify_chain};
use crate::pki::crl::Crl;
use crate::pki::import::{FileContents, SecretDer};
use crate::pki::inspect::{CertStatus, CertificateInfo, inspect_certificate};
use crate::pki::keys::{self, KeySpec};
use crate::pki::{PkiError, names};
use rcgen::KeyPair;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use time::OffsetDateTime;

const INDEX_VERSION: u32 = 1;

/// A service a certificate is enabled for.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    Smtp,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CertEntry {
    pub thumbprint: String,
    #[serde(default)]
    pub friendly_name: Option<String>,
    #[serde(default)]
    pub services: Vec<Service>,
    pub has_private_key: bool,
    /// Unix seconds.
    pub added: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RequestEntry {
    pub id: String,
    #[serde(default)]
    pub friendly_name: Option<String>,
    pub subject: String,
    pub domains: Vec<String>,
    pub key: KeySpec,
    pub public_key_sha256: String,
    pub created: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RootEntry {
    pub thumbprint: String,
    pub subject: String,
    pub added: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LabCaEntry {
    pub name: String,
    pub thumbprint: String,
    pub created: i64,
}

/// A revocation list the administrator added; its DER is in `crls/<id>.crl`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CrlEntry {
    /// SHA-1 of the CRL's DER.
    pub id: String,
    pub issuer: String,
    /// Thumbprint of the CA certificate whose key verified the list when it was added.
    pub signer: String,
    pub added: i64,
}

/// A certificate that must never be trusted again, whoever vouches for it (`mailflow cert
/// block`): the day a partner says its key leaked, before its CA's list says so.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BlockedEntry {
    /// SHA-1 thumbprint, 40 upper-case hex digits.
    pub thumbprint: String,
    #[serde(default)]
    pub note: Option<String>,
    pub added: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct CertIndex {
    pub version: u32,
    #[serde(default)]
    pub certificates: Vec<CertEntry>,
    #[serde(default)]
    pub requests: Vec<RequestEntry>,
    #[serde(default)]
    pub trusted_roots: Vec<RootEntry>,
    #[serde(default)]
    pub lab_ca: Option<LabCaEntry>,
    #[serde(default)]
    pub crls: Vec<CrlEntry>,
    #[serde(default)]
    pub blocked: Vec<BlockedEntry>,
}

/// What a new pending request is about (its request file and key are given separately).
#[derive(Clone, Debug)]
pub struct PendingRequest {
    pub subject: String,
    pub domains: Vec<String>,
    pub key: KeySpec,
    pub friendly_name: Option<String>,
}

/// One of our certificates, loaded.
#[derive(Clone, Debug)]
pub struct StoredCert {
    pub entry: CertEntry,
    pub der: Vec<u8>,
    /// Chain certificates kept with it (issuer first).
    pub chain: Vec<Vec<u8>>,
    pub info: CertificateInfo,
}

impl StoredCert {
    pub fn is_smtp(&self) -> bool {
        self.entry.services.contains(&Service::Smtp)
    }
}

/// A trusted root, loaded.
#[derive(Clone, Debug)]
pub struct StoredRoot {
    pub entry: RootEntry,
    pub der: Vec<u8>,
    pub info: CertificateInfo,
}

/// A revocation list of the store, loaded.
#[derive(Clone, Debug)]
pub struct StoredCrl {
    pub entry: CrlEntry,
    pub crl: std::sync::Arc<Crl>,
}

/// What an import did.
#[derive(Clone, Debug)]
pub struct ImportOutcome {
    pub thumbprint: String,
    pub info: CertificateInfo,
    pub has_private_key: bool,
    /// The pending request this certificate completed, if any.
    pub completed_request: Option<RequestEntry>,
    pub chain_certificates: usize,
}

/// The certificate store of one data directory.
#[derive(Clone, Debug)]
pub struct CertStore {
    dir: DataDir,
    /// The index file as read (or last written) by this process: a change is written only over
    /// exactly these bytes, so a change made meanwhile by another process is never undone.
    index_bytes: Option<Vec<u8>>,
    index: CertIndex,
    certs: Vec<StoredCert>,
    roots: Vec<StoredRoot>,
    crls: Vec<StoredCrl>,
}

fn corrupt(path: PathBuf, why: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        path,
        why: why.into(),
    }
}

fn read_pem_chain(path: &PathBuf) -> Result<Vec<Vec<u8>>> {
    let bytes = std::fs::read(path).map_err(|e| StoreError::io(path, e))?;
    let text = String::from_utf8(bytes).map_err(|_| corrupt(path.clone(), "is not PEM text"))?;
    let blocks =
        pem::parse_many(&text).map_err(|e| corrupt(path.clone(), format!("is damaged: {e}")))?;
    let certs: Vec<Vec<u8>> = blocks
        .into_iter()
        .filter(|b| b.tag() == "CERTIFICATE")
        .map(|b| b.contents().to_vec())
        .collect();
    if certs.is_empty() {
        return Err(corrupt(path.clone(), "contains no certificate"));
    }
    Ok(certs)
}

fn pem_chain(certs: &[&[u8]]) -> String {
    certs.iter().map(|c| to_pem(c)).collect::<String>()
}

impl CertStore {
    /// Opens the store; an absent index is an empty store. Every referenced file is read, and a
    /// missing or damaged one is reported by name.
    pub fn open(dir: &DataDir) -> Result<CertStore> {
        let path = dir.cert_index();
        let index_bytes = atomic::read_if_exists(&path)?;
        let index: CertIndex = match &index_bytes {
            Some(bytes) => std::str::from_utf8(bytes)
                .map_err(|_| corrupt(path.clone(), "is not text"))
                .and_then(|text| {
                    ron::from_str(text)
                        .map_err(|e| corrupt(path.clone(), format!("does not parse: {e}")))
                })?,
            None => CertIndex {
                version: INDEX_VERSION,
                ..Default::default()
            },
        };
        if index.version != INDEX_VERSION {
            return Err(corrupt(
                path,
                format!(
                    "is version {}, this Mailflow reads version {INDEX_VERSION}",
                    index.version
                ),
            ));
        }
        let mut certs = Vec::new();
        for entry in &index.certificates {
            let p = cert_path(dir, &entry.thumbprint);
            let mut ders = read_pem_chain(&p)?;
            let der = ders.remove(0);
            let info = inspect_certificate(&der).map_err(|e| corrupt(p.clone(), e.to_string()))?;
            if info.thumbprint != entry.thumbprint {
                return Err(corrupt(
                    p,
                    "holds a different certificate than the index says",
                ));
            }
            if entry.has_private_key && !key_path(dir, &entry.thumbprint).exists() {
                return Err(corrupt(
                    key_path(dir, &entry.thumbprint),
                    "is missing (the private key of a certificate)",
                ));
            }
            certs.push(StoredCert {
                entry: entry.clone(),
                der,
                chain: ders,
                info,
            });
        }
        let mut roots = Vec::new();
        for entry in &index.trusted_roots {
            let p = root_path(dir, &entry.thumbprint);
            let der = read_pem_chain(&p)?.remove(0);
            let info = inspect_certificate(&der).map_err(|e| corrupt(p.clone(), e.to_string()))?;
            roots.push(StoredRoot {
                entry: entry.clone(),
                der,
                info,
            });
        }
        let mut crls = Vec::new();
        for entry in &index.crls {
            let p = crl_path(dir, &entry.id);
            let der = std::fs::read(&p).map_err(|e| StoreError::io(&p, e))?;
            let crl =
                crate::pki::crl::parse_der(der).map_err(|e| corrupt(p.clone(), e.to_string()))?;
            if crl.info.id != entry.id {
                return Err(corrupt(p, "holds a different list than the index says"));
            }
            crls.push(StoredCrl {
                entry: entry.clone(),
                crl: std::sync::Arc::new(crl),
            });
        }
        for r in &index.requests {
            for p in [request_path(dir, &r.id), request_key_path(dir, &r.id)] {
                if !p.exists() {
                    return Err(corrupt(p, "is missing (a pending request's file)"));
                }
            }
        }
        Ok(CertStore {
            dir: dir.clone(),
            index_bytes,
            index,
            certs,
            roots,
            crls,
        })
    }

    pub fn certificates(&self) -> &[StoredCert] {
        &self.certs
    }
    pub fn requests(&self) -> &[RequestEntry] {
        &self.index.requests
    }
    pub fn trusted_roots(&self) -> &[StoredRoot] {
        &self.roots
    }
    pub fn lab_ca(&self) -> Option<&LabCaEntry> {
        self.index.lab_ca.as_ref()
    }
    /// Revocation lists the administrator added.
    pub fn crls(&self) -> &[StoredCrl] {
        &self.crls
    }
    /// The thumbprint deny-list.
    pub fn blocked(&self) -> &[BlockedEntry] {
        &self.index.blocked
    }

    /// DER of every trusted root.
    pub fn root_ders(&self) -> Vec<Vec<u8>> {
        self.roots.iter().map(|r| r.der.clone()).collect()
    }

    /// Finds a certificate by thumbprint or a unique prefix of at least 6 hex digits.
    pub fn find(&self, thumbprint: &str) -> std::result::Result<&StoredCert, String> {
        find_by_prefix(
            &self.certs,
            thumbprint,
            |c| &c.info.thumbprint,
            "certificate",
        )
    }

    /// Finds a trusted root by thumbprint or unique prefix.
    pub fn find_root(&self, thumbprint: &str) -> std::result::Result<&StoredRoot, String> {
        find_by_prefix(
            &self.roots,
            thumbprint,
            |r| &r.info.thumbprint,
            "trusted root",
        )
    }

    /// Chain verdict of one of our certificates against the trusted roots, for `purpose`.
    pub fn chain_verdict(
        &self,
        cert: &StoredCert,
        now: OffsetDateTime,
        purpose: Purpose,
    ) -> ChainVerdict {
        verify_chain(&cert.der, &cert.chain, &self.root_ders(), now, purpose)
    }

    /// Exchange-style status. Self-signed certificates of our own are Valid (they serve
    /// opportunistic TLS, as Exchange's self-signed certificate does).
    pub fn status(&self, cert: &StoredCert, now: OffsetDateTime) -> CertStatus {
        if cert.info.self_signed {
            return crate::pki::inspect::status(&cert.info, now, None);
        }
        let verdict = self.chain_verdict(cert, now, Purpose::Server);
        crate::pki::inspect::status(&cert.info, now, Some(&verdict))
    }

    /// The private key of one of our certificates.
    pub fn load_key(&self, thumbprint: &str) -> Result<KeyPair> {
        let p = key_path(&self.dir, thumbprint);
        load_key_file(&p)
    }

    /// The SMTP certificate for a connector FQDN: enabled for SMTP, with a key, currently valid;
    /// preferring one that names the FQDN, then a CA-issued one over a self-signed one, then the
    /// latest expiry.
    pub fn smtp_certificate_for(&self, fqdn: &str, now: OffsetDateTime) -> Option<&StoredCert> {
        self.certs
            .iter()
            .filter(|c| c.is_smtp() && c.entry.has_private_key && c.info.is_current(now))
            .max_by_key(|c| {
                (
                    names::any_matches(&c.info.names(), fqdn),
                    !c.info.self_signed,
                    c.info.not_after,
                )
            })
    }

    // ---- changes -------------------------------------------------------------------------

    /// Refuses when another process changed the index since this store read it. Called
    /// before a change writes any file, and again under the lock when the index is replaced.
    fn ensure_fresh(&self) -> Result<()> {
        atomic::ensure_unchanged(&self.dir.cert_index(), self.index_bytes.as_deref())
    }

    fn commit(&mut self, index: CertIndex) -> Result<()> {
        let text = ron::ser::to_string_pretty(&index, ron::ser::PrettyConfig::new())
            .map_err(|e| corrupt(self.dir.cert_index(), format!("cannot be written: {e}")))?;
        atomic::ensure_dir(self.dir.root(), 0o700)?;
        let _lock = atomic::lock_dir(self.dir.root())?;
        self.ensure_fresh()?;
        atomic::write_atomic(&self.dir.cert_index(), text.as_bytes(), PUBLIC)?;
        self.index_bytes = Some(text.into_bytes());
        self.index = index;
        Ok(())
    }

    /// Reloads the in-memory view after a commit.
    fn reload(&mut self) -> Result<()> {
        *self = CertStore::open(&self.dir)?;
        Ok(())
    }

    /// Keeps a new pending request and its private key.
    pub fn add_request(
        &mut self,
        request_der: &[u8],
        key: &KeyPair,
        about: PendingRequest,
        now: OffsetDateTime,
    ) -> Result<RequestEntry> {
        self.ensure_fresh()?;
        let PendingRequest {
            subject: entry_subject,
            domains,
            key: spec,
            friendly_name,
        } = about;
        let pk = crate::pki::digest::sha256_hex(&keys::spki_der(key));
        let id = pk[..16].to_string();
        let entry = RequestEntry {
            id: id.clone(),
            friendly_name,
            subject: entry_subject,
            domains,
            key: spec,
            public_key_sha256: pk,
            created: now.unix_timestamp(),
        };
        atomic::ensure_dir(&self.dir.requests(), 0o700)?;
        let key_pem = zeroize::Zeroizing::new(key.serialize_pem());
        atomic::write_atomic(
            &request_key_path(&self.dir, &id),
            key_pem.as_bytes(),
            PRIVATE,
        )?;
        atomic::write_atomic(
            &request_path(&self.dir, &id),
            crate::pki::request::to_pem(request_der).as_bytes(),
            PUBLIC,
        )?;
        let mut index = self.index.clone();
        index.requests.push(entry.clone());
        self.commit(index)?;
        Ok(entry)
    }

    /// The PEM text of a pending request.
    pub fn request_pem(&self, id: &str) -> Result<String> {
        let p = request_path(&self.dir, id);
        std::fs::read_to_string(&p).map_err(|e| StoreError::io(p, e))
    }

    /// Removes a pending request and its key.
    pub fn remove_request(&mut self, id: &str) -> std::result::Result<RequestEntry, String> {
        let Some(entry) = self
            .index
            .requests
            .iter()
            .find(|r| r.id.eq_ignore_ascii_case(id))
            .cloned()
        else {
            return Err(format!("no pending request {id}"));
        };
        let mut index = self.index.clone();
        index.requests.retain(|r| r.id != entry.id);
        self.commit(index).map_err(|e| e.to_string())?;
        let _ = atomic::remove_if_exists(&request_path(&self.dir, &entry.id));
        let _ = atomic::remove_if_exists(&request_key_path(&self.dir, &entry.id));
        Ok(entry)
    }

    /// Imports the certificate found in a file. The identity certificate is the one whose key
    /// is in the file or held by a pending request; other CA certificates are kept as its chain.
    pub fn import(
        &mut self,
        contents: FileContents,
        friendly_name: Option<String>,
        now: OffsetDateTime,
    ) -> std::result::Result<ImportOutcome, ImportError> {
        self.ensure_fresh().map_err(ImportError::Store)?;
        if contents.certificates.is_empty() {
            if !contents.requests.is_empty() {
                return Err(ImportError::Refused(
                    "this file is a certificate request, not a certificate: have a CA issue it (`mailflow ca issue`), then import the certificate".into(),
                ));
            }
            return Err(ImportError::Refused(
                "the file contains no certificate".into(),
            ));
        }
        let mut infos = Vec::new();
        for der in &contents.certificates {
            infos.push(inspect_certificate(der).map_err(ImportError::Pki)?);
        }
        // Keys in the file, loaded to be sure they are usable.
        let mut file_keys: Vec<(KeyPair, &SecretDer)> = Vec::new();
        for k in &contents.private_keys {
            file_keys.push((keys::key_from_der(k.bytes()).map_err(ImportError::Pki)?, k));
        }
        let leaves: Vec<usize> = (0..infos.len()).filter(|&i| !infos[i].is_ca).collect();
        // The identity: a certificate whose key we have (in the file or held by a pending
        // request) — usually a leaf, but self-signed certificates often carry CA:TRUE.
        let mut chosen: Option<(usize, KeySource)> = None;
        for (i, info) in infos.iter().enumerate() {
            if let Some(k) = file_keys
                .iter()
                .position(|(kp, _)| keys::spki_der(kp) == info.spki_der)
            {
                chosen = Some((i, KeySource::File(k)));
                break;
            }
            if let Some(r) = self
                .index
                .requests
                .iter()
                .find(|r| r.public_key_sha256 == info.public_key_sha256)
            {
                chosen = Some((i, KeySource::Request(r.clone())));
                break;
            }
        }
        if !file_keys.is_empty() && !matches!(chosen, Some((_, KeySource::File(_)))) {
            return Err(ImportError::Refused(
                "the private key in the file does not belong to any certificate in it; nothing was imported".into(),
            ));
        }
        let (leaf, source) = match chosen {
            Some((i, s)) => (i, Some(s)),
            None => match leaves.as_slice() {
                [only] => (*only, None),
                [] => {
                    return Err(ImportError::Refused(
                        "the file holds only CA certificates: to trust a partner's root CA, use `mailflow trust add FILE`".into(),
                    ));
                }
                _ => {
                    return Err(ImportError::Refused(format!(
                        "the file holds {} server certificates and no key for any of them: import them one at a time",
                        leaves.len()
                    )));
                }
            },
        };
        let info = infos[leaf].clone();
        if self
            .certs
            .iter()
            .any(|c| c.info.thumbprint == info.thumbprint)
        {
            return Err(ImportError::Refused(format!(
                "certificate {} ({}) is already in the store; nothing was imported",
                info.thumbprint, info.subject
            )));
        }
        let chain: Vec<&[u8]> = (0..contents.certificates.len())
            .filter(|&i| i != leaf && infos[i].is_ca && infos[i].subject != info.subject)
            .map(|i| contents.certificates[i].as_slice())
            .collect();
        let key_pem: Option<zeroize::Zeroizing<String>> = match &source {
            Some(KeySource::File(k)) => {
                Some(zeroize::Zeroizing::new(file_keys[*k].0.serialize_pem()))
            }
            Some(KeySource::Request(r)) => {
                let kp = load_key_file(&request_key_path(&self.dir, &r.id))
                    .map_err(ImportError::Store)?;
                Some(zeroize::Zeroizing::new(kp.serialize_pem()))
            }
            None => None,
        };
        // Write new files, then commit the index.
        let thumbprint = info.thumbprint.clone();
        atomic::ensure_dir(&self.dir.certificates(), 0o700).map_err(ImportError::Store)?;
        let mut all: Vec<&[u8]> = vec![&contents.certificates[leaf]];
        all.extend(chain.iter().copied());
        let written = (|| -> Result<()> {
            if let Some(k) = &key_pem {
                atomic::write_atomic(&key_path(&self.dir, &thumbprint), k.as_bytes(), PRIVATE)?;
            }
            atomic::write_atomic(
                &cert_path(&self.dir, &thumbprint),
                pem_chain(&all).as_bytes(),
                PUBLIC,
            )
        })();
        if let Err(e) = written {
            let _ = atomic::remove_if_exists(&key_path(&self.dir, &thumbprint));
            let _ = atomic::remove_if_exists(&cert_path(&self.dir, &thumbprint));
            return Err(ImportError::Store(e));
        }
        let mut index = self.index.clone();
        index.certificates.push(CertEntry {
            thumbprint: thumbprint.clone(),
            friendly_name,
            services: Vec::new(),
            has_private_key: key_pem.is_some(),
            added: now.unix_timestamp(),
        });
        let completed = match &source {
            Some(KeySource::Request(r)) => {
                index.requests.retain(|x| x.id != r.id);
                Some(r.clone())
            }
            _ => None,
        };
        if let Err(e) = self.commit(index) {
            let _ = atomic::remove_if_exists(&key_path(&self.dir, &thumbprint));
            let _ = atomic::remove_if_exists(&cert_path(&self.dir, &thumbprint));
            return Err(ImportError::Store(e));
        }
        if let Some(r) = &completed {
            let _ = atomic::remove_if_exists(&request_path(&self.dir, &r.id));
            let _ = atomic::remove_if_exists(&request_key_path(&self.dir, &r.id));
        }
        self.reload().map_err(ImportError::Store)?;
        Ok(ImportOutcome {
            thumbprint,
            info,
            has_private_key: key_pem.is_some(),
            completed_request: completed,
            chain_certificates: chain.len(),
        })
    }

    /// Adds our own new certificate with its key (self-signed default, generated identities).
    pub fn add_own(
        &mut self,
        der: &[u8],
        key: &KeyPair,
        services: Vec<Service>,
        friendly_name: Option<String>,
        now: OffsetDateTime,
    ) -> Result<String> {
        self.ensure_fresh()?;
        let info = inspect_certificate(der)
            .map_err(|e| corrupt(self.dir.certificates(), e.to_string()))?;
        let thumbprint = info.thumbprint.clone();
        atomic::ensure_dir(&self.dir.certificates(), 0o700)?;
        let key_pem = zeroize::Zeroizing::new(key.serialize_pem());
        atomic::write_atomic(
            &key_path(&self.dir, &thumbprint),
            key_pem.as_bytes(),
            PRIVATE,
        )?;
        atomic::write_atomic(
            &cert_path(&self.dir, &thumbprint),
            to_pem(der).as_bytes(),
            PUBLIC,
        )?;
        let mut index = self.index.clone();
        index.certificates.push(CertEntry {
            thumbprint: thumbprint.clone(),
            friendly_name,
            services,
            has_private_key: true,
            added: now.unix_timestamp(),
        });
        self.commit(index)?;
        self.reload()?;
        Ok(thumbprint)
    }

    /// Enables a certificate for SMTP. Refused without a private key.
    pub fn enable_smtp(&mut self, thumbprint: &str) -> std::result::Result<String, ImportError> {
        let cert = self.find(thumbprint).map_err(ImportError::Refused)?;
        let thumbprint = cert.info.thumbprint.clone();
        if !cert.entry.has_private_key {
            return Err(ImportError::Refused(format!(
                "certificate {thumbprint} has no private key, so it can never be our SMTP identity: import it with its key (PKCS#12), or import the certificate issued for one of our pending requests"
            )));
        }
        if cert.is_smtp() {
            return Ok(thumbprint);
        }
        let mut index = self.index.clone();
        if let Some(e) = index
            .certificates
            .iter_mut()
            .find(|e| e.thumbprint == thumbprint)
        {
            e.services.push(Service::Smtp);
        }
        self.commit(index).map_err(ImportError::Store)?;
        self.reload().map_err(ImportError::Store)?;
        Ok(thumbprint)
    }

    /// Removes one of our certificates and its key.
    pub fn remove(&mut self, thumbprint: &str) -> std::result::Result<String, ImportError> {
        let thumbprint = self
            .find(thumbprint)
            .map_err(ImportError::Refused)?
            .info
            .thumbprint
            .clone();
        let mut index = self.index.clone();
        index.certificates.retain(|e| e.thumbprint != thumbprint);
        self.commit(index).map_err(ImportError::Store)?;
        let _ = atomic::remove_if_exists(&cert_path(&self.dir, &thumbprint));
        let _ = atomic::remove_if_exists(&key_path(&self.dir, &thumbprint));
        self.reload().map_err(ImportError::Store)?;
        Ok(thumbprint)
    }

    /// Adds a trusted root CA certificate.
    pub fn trust_add(
        &mut self,
        der: &[u8],
        now: OffsetDateTime,
    ) -> std::result::Result<RootEntry, ImportError> {
        self.ensure_fresh().map_err(ImportError::Store)?;
        let info = inspect_certificate(der).map_err(ImportError::Pki)?;
        if !info.is_ca {
            return Err(ImportError::Refused(format!(
                "{} is not a CA certificate: a trusted root must be a CA. To trust one of your own relays' certificates directly, use Direct Trust",
                info.subject
            )));
        }
        if self
            .roots
            .iter()
            .any(|r| r.info.thumbprint == info.thumbprint)
        {
            return Err(ImportError::Refused(format!(
                "{} ({}) is already a trusted root",
                info.thumbprint, info.subject
            )));
        }
        let entry = RootEntry {
            thumbprint: info.thumbprint.clone(),
            subject: info.subject.clone(),
            added: now.unix_timestamp(),
        };
        atomic::ensure_dir(&self.dir.trusted_roots(), 0o755).map_err(ImportError::Store)?;
        atomic::write_atomic(
            &root_path(&self.dir, &entry.thumbprint),
            to_pem(der).as_bytes(),
            PUBLIC,
        )
        .map_err(ImportError::Store)?;
        let mut index = self.index.clone();
        index.trusted_roots.push(entry.clone());
        self.commit(index).map_err(ImportError::Store)?;
        self.reload().map_err(ImportError::Store)?;
        Ok(entry)
    }

    /// Removes a trusted root.
    pub fn trust_remove(
        &mut self,
        thumbprint: &str,
    ) -> std::result::Result<RootEntry, ImportError> {
        let entry = self
            .find_root(thumbprint)
            .map_err(ImportError::Refused)?
            .entry
            .clone();
        let mut index = self.index.clone();
        index
            .trusted_roots
            .retain(|r| r.thumbprint != entry.thumbprint);
        self.commit(index).map_err(ImportError::Store)?;
        let _ = atomic::remove_if_exists(&root_path(&self.dir, &entry.thumbprint));
        self.reload().map_err(ImportError::Store)?;
        Ok(entry)
    }

    /// Keeps a revocation list whose signer the caller has checked (`signer`: the thumbprint
    /// of the CA certificate that verified it), replacing `replaces` (an older list of the same
    /// CA) in the same commit.
    pub fn crl_add(
        &mut self,
        crl: &Crl,
        signer: &str,
        replaces: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<CrlEntry> {
        self.ensure_fresh()?;
        let entry = CrlEntry {
            id: crl.info.id.clone(),
            issuer: crl.info.issuer.clone(),
            signer: signer.to_string(),
            added: now.unix_timestamp(),
        };
        atomic::ensure_dir(&self.dir.crls(), 0o755)?;
        atomic::write_atomic(&crl_path(&self.dir, &entry.id), &crl.der, PUBLIC)?;
        let mut index = self.index.clone();
        index
            .crls
            .retain(|c| c.id != entry.id && Some(c.id.as_str()) != replaces);
        index.crls.push(entry.clone());
        if let Err(e) = self.commit(index) {
            let _ = atomic::remove_if_exists(&crl_path(&self.dir, &entry.id));
            return Err(e);
        }
        if let Some(old) = replaces.filter(|o| *o != entry.id) {
            let _ = atomic::remove_if_exists(&crl_path(&self.dir, old));
        }
        self.reload()?;
        Ok(entry)
    }

    /// Removes a revocation list by id or unique prefix.
    pub fn crl_remove(&mut self, id: &str) -> std::result::Result<CrlEntry, ImportError> {
        let entry = find_by_prefix(&self.crls, id, |c| &c.entry.id, "revocation list")
            .map_err(ImportError::Refused)?
            .entry
            .clone();
        let mut index = self.index.clone();
        index.crls.retain(|c| c.id != entry.id);
        self.commit(index).map_err(ImportError::Store)?;
        let _ = atomic::remove_if_exists(&crl_path(&self.dir, &entry.id));
        self.reload().map_err(ImportError::Store)?;
        Ok(entry)
    }

    /// Puts a thumbprint (checked by the caller) on the deny-list.
    pub fn block(&mut self, entry: BlockedEntry) -> Result<()> {
        self.ensure_fresh()?;
        let mut index = self.index.clone();
        index.blocked.retain(|b| b.thumbprint != entry.thumbprint);
        index.blocked.push(entry);
        self.commit(index)
    }

    /// Takes a thumbprint off the deny-list; false when it was not on it.
    pub fn unblock(&mut self, thumbprint: &str) -> Result<bool> {
        self.ensure_fresh()?;
        let mut index = self.index.clone();
        let before = index.blocked.len();
        index.blocked.retain(|b| b.thumbprint != thumbprint);
        if index.blocked.len() == before {
            return Ok(false);
        }
        self.commit(index)?;
        Ok(true)
    }

    /// Installs the lab CA (certificate and key) and trusts its root.
    pub fn set_lab_ca(
        &mut self,
        name: &str,
        cert_der: &[u8],
        key: &KeyPair,
        now: OffsetDateTime,
    ) -> Result<LabCaEntry> {
        self.ensure_fresh()?;
        let info =
            inspect_certificate(cert_der).map_err(|e| corrupt(self.dir.ca(), e.to_string()))?;
        atomic::ensure_dir(&self.dir.ca(), 0o700)?;
        atomic::ensure_dir(&self.dir.trusted_roots(), 0o755)?;
        let key_pem = zeroize::Zeroizing::new(key.serialize_pem());
        atomic::write_atomic(&self.dir.ca().join("ca.key"), key_pem.as_bytes(), PRIVATE)?;
        atomic::write_atomic(
            &self.dir.ca().join("ca.pem"),
            to_pem(cert_der).as_bytes(),
            PUBLIC,
        )?;
        atomic::write_atomic(
            &root_path(&self.dir, &info.thumbprint),
            to_pem(cert_der).as_bytes(),
            PUBLIC,
        )?;
        let entry = LabCaEntry {
            name: name.to_string(),
            thumbprint: info.thumbprint.clone(),
            created: now.unix_timestamp(),
        };
        let mut index = self.index.clone();
        index.lab_ca = Some(entry.clone());
        if !index
            .trusted_roots
            .iter()
            .any(|r| r.thumbprint == info.thumbprint)
        {
            index.trusted_roots.push(RootEntry {
                thumbprint: info.thumbprint,
                subject: info.subject,
                added: now.unix_timestamp(),
            });
        }
        self.commit(index)?;
        self.reload()?;
        Ok(entry)
    }

    /// The lab CA's certificate and key.
    pub fn lab_ca_material(&self) -> Result<Option<(Vec<u8>, KeyPair)>> {
        if self.index.lab_ca.is_none() {
            return Ok(None);
        }
        let cert_path = self.dir.ca().join("ca.pem");
        let der = read_pem_chain(&cert_path)?.remove(0);
        let key = load_key_file(&self.dir.ca().join("ca.key"))?;
        Ok(Some((der, key)))
    }

    /// Path of the lab CA certificate, for handing to partners.
    pub fn lab_ca_cert_path(&self) -> PathBuf {
        self.dir.ca().join("ca.pem")
    }
}

/// Where an imported certificate's key comes from.
#[derive(Clone, Debug)]
enum KeySource {
    File(usize),
    Request(RequestEntry),
}

/// Why an import or change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Pki(PkiError),
    #[error(transparent)]
    Store(StoreError),
}

fn load_key_file(path: &PathBuf) -> Result<KeyPair> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path).map_err(|e| StoreError::io(path, e))?,
    );
    keys::key_from_pem(&text)
        .map_err(|e| corrupt(path.clone(), format!("is not a usable private key: {e}")))
}

fn find_by_prefix<'a, T>(
    items: &'a [T],
    wanted: &str,
    thumbprint_of: impl Fn(&T) -> &String,
    what: &str,
) -> std::result::Result<&'a T, String> {
    let w = crate::config::validate::normalize_hex(wanted);
    if w.len() < 6 || !w.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!(
            "'{wanted}' is not a thumbprint: give the 40 hex digits (or at least the first 6)"
        ));
    }
    let hits: Vec<&T> = items
        .iter()
        .filter(|i| thumbprint_of(i).starts_with(&w))
        .collect();
    match hits.as_slice() {
        [one] => Ok(one),
        [] if what == "revocation list" => Err(format!(
            "no {what} with id {wanted}: `mailflow crl list` shows them"
        )),
        [] => Err(format!(
            "no {what} with thumbprint {wanted}: `mailflow cert list` and `mailflow trust list` show them"
        )),
        _ => Err(format!(
            "{wanted} matches {} {what}s: give more digits",
            hits.len()
        )),
    }
}

fn cert_path(dir: &DataDir, thumbprint: &str) -> PathBuf {
    dir.certificates().join(format!("{thumbprint}.pem"))
}
fn key_path(dir: &DataDir, thumbprint: &str) -> PathBuf {
    dir.certificates().join(format!("{thumbprint}.key"))
}
fn root_path(dir: &DataDir, thumbprint: &str) -> PathBuf {
    dir.trusted_roots().join(format!("{thumbprint}.pem"))
}
fn crl_path(dir: &DataDir, id: &str) -> PathBuf {
    dir.crls().join(format!("{id}.crl"))
}
fn request_path(dir: &DataDir, id: &str) -> PathBuf {
    dir.requests().join(format!("{id}.csr"))
}
fn request_key_path(dir: &DataDir, id: &str) -> PathBuf {
    dir.requests().join(format!("{id}.key"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::ca;
    use crate::pki::keys::KeySpec;
    use crate::pki::subject::Subject;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-29 12:00 UTC);

    #[test]
    fn a_change_made_by_another_process_is_never_undone() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path());
        // The console and a command have the same store open.
        let mut console = CertStore::open(&dir).unwrap();
        let mut command = CertStore::open(&dir).unwrap();
        let ca_key = KeySpec::P256.generate().unwrap();
        let root = ca::create_ca("Woodgrove Root", "Woodgrove", &ca_key, NOW, 5).unwrap();
        command.trust_add(&root, NOW).unwrap();
        // The console's view is stale now: its change is refused before any file is written.
        let key = KeySpec::P256.generate().unwrap();
        let own = ca::self_signed(
            &Subject::parse("CN=mail.contoso.test").unwrap(),
            &["mail.contoso.test".into()],
            &key,
            NOW,
            30,
        )
        .unwrap();
        let before = std::fs::read_dir(dir.root()).unwrap().count();
        let err = console
            .add_own(&own, &key, vec![Service::Smtp], None, NOW)
            .unwrap_err();
        assert!(matches!(err, StoreError::ChangedElsewhere { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("changed by another Mailflow process")
        );
        assert_eq!(std::fs::read_dir(dir.root()).unwrap().count(), before);
        // Once it has looked again, the change goes through and both are kept.
        let mut console = CertStore::open(&dir).unwrap();
        console
            .add_own(&own, &key, vec![Service::Smtp], None, NOW)
            .unwrap();
        let store = CertStore::open(&dir).unwrap();
        assert_eq!(store.trusted_roots().len(), 1);
        assert_eq!(store.certificates().len(), 1);
    }
}
