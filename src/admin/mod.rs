//! The administrator's operations — the same for the command line and the console: initialize
//! an organization, request, import, enable and remove certificates, trust roots, run the lab
//! CA, change transport settings, connectors and accepted domains, set up Domain Security with a
//! partner, manage the accounts of SMTP AUTH. Each operation loads what it needs, checks everything, and writes only when all is
//! well; a refused operation leaves the data directory byte for byte as it was.

mod accounts;
mod certificates;
pub mod commands;
mod domain_security;
pub mod evidence;
pub mod explain;
mod exports;
pub mod partners;
mod readiness;
mod revocation;
mod settings_ops;

pub use accounts::*;
pub use certificates::*;
pub use domain_security::*;
pub use readiness::*;
pub use revocation::*;
pub use settings_ops::pin_from;

use crate::config::{CertificateSelection, Problems, Settings, validate};
use crate::pki::PkiError;
use crate::store::certstore::{CertStore, ImportError, Service};
use crate::store::{DataDir, StoreError, atomic, settings as settings_file};
use time::OffsetDateTime;

/// Why an operation was refused. Each message says what is wrong and what to do.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// The change would make the settings invalid; nothing was saved.
    #[error("the change was not saved:\n{0}")]
    Invalid(Problems),
    /// The operation is not possible as asked.
    #[error("{0}")]
    Refused(String),
}

impl From<ImportError> for AdminError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Refused(s) => AdminError::Refused(s),
            ImportError::Pki(p) => AdminError::Pki(p),
            ImportError::Store(s) => AdminError::Store(s),
        }
    }
}

pub type Result<T> = std::result::Result<T, AdminError>;

/// An opened data directory: its settings and certificate store.
#[derive(Clone, Debug)]
pub struct Workspace {
    pub dir: DataDir,
    pub settings: Settings,
    pub store: CertStore,
}

/// What `init` created.
#[derive(Clone, Debug)]
pub struct InitReport {
    pub data_dir: std::path::PathBuf,
    pub organization: String,
    pub fqdn: String,
    pub domain: String,
    pub certificate_thumbprint: String,
}

/// Days the self-signed certificate of a new organization is valid.
pub const SELF_SIGNED_DAYS: u32 = 5 * 365;

/// Creates a new organization in an empty data directory: settings with the defaults and a
/// self-signed certificate (CN = FQDN) enabled for SMTP.
pub fn init(
    dir: &DataDir,
    org_name: &str,
    fqdn: &str,
    domain: &str,
    now: OffsetDateTime,
) -> Result<InitReport> {
    if dir.settings().exists() {
        return Err(AdminError::Refused(format!(
            "{} already holds an organization; use another --data-dir to start a new one",
            dir.root().display()
        )));
    }
    let settings = Settings::initial(org_name, fqdn, domain);
    let checked = validate(&settings).map_err(AdminError::Invalid)?;
    atomic::ensure_dir(dir.root(), 0o700)?;
    let mut store = CertStore::open(dir)?;
    let subject = crate::pki::subject::Subject::new(vec![crate::pki::subject::Rdn {
        kind: crate::pki::subject::RdnKind::CN,
        value: checked.fqdn.clone(),
    }])?;
    let mut names = vec![checked.fqdn.clone()];
    for d in &checked.accepted_domains {
        if !names.contains(d) {
            names.push(d.clone());
        }
    }
    let key = crate::pki::keys::KeySpec::P256.generate()?;
    let der = crate::pki::ca::self_signed(&subject, &names, &key, now, SELF_SIGNED_DAYS)?;
    let tp = store.add_own(
        &der,
        &key,
        vec![Service::Smtp],
        Some("Mailflow self-signed".into()),
        now,
    )?;
    settings_file::save(dir, &settings)?;
    for folder in [dir.spool(), dir.mailboxes(), dir.logs()] {
        atomic::ensure_dir(&folder, 0o700)?;
    }
    Ok(InitReport {
        data_dir: dir.root().to_path_buf(),
        organization: org_name.to_string(),
        fqdn: checked.fqdn,
        domain: domain.to_string(),
        certificate_thumbprint: tp,
    })
}

/// Opens a data directory, creating a working default organization on first start (names
/// from the host name). Returns the workspace and whether it was created now.
pub fn open_or_create(
    dir: &DataDir,
    now: OffsetDateTime,
) -> Result<(Workspace, Option<InitReport>)> {
    if dir.settings().exists() {
        return Ok((Workspace::open(dir)?, None));
    }
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    let (fqdn, domain) = crate::config::defaults::names_from_hostname(&host);
    let report = init(dir, "My Organization", &fqdn, &domain, now)?;
    Ok((Workspace::open(dir)?, Some(report)))
}

impl Workspace {
    /// Opens an initialized data directory; settings must parse and validate.
    pub fn open(dir: &DataDir) -> Result<Workspace> {
        let (settings, _) = settings_file::load_checked(dir)?;
        let store = CertStore::open(dir)?;
        Ok(Workspace {
            dir: dir.clone(),
            settings,
            store,
        })
    }

    /// Applies `change` to a copy of the settings, checks it (rules and references to the
    /// certificate store) and saves it. On any problem nothing is written.
    pub fn change_settings(
        &mut self,
        change: impl FnOnce(&mut Settings) -> Result<()>,
    ) -> Result<()> {
        let mut next = self.settings.clone();
        change(&mut next)?;
        validate(&next).map_err(AdminError::Invalid)?;
        self.check_certificate_references(&next)?;
        settings_file::save(&self.dir, &next)?;
        self.settings = next;
        Ok(())
    }

    fn check_certificate_references(&self, s: &Settings) -> Result<()> {
        let mut problems = Vec::new();
        let rc = s.receive_connectors.iter().enumerate().map(|(i, c)| {
            (
                format!("receive_connectors[{i}].certificate"),
                &c.name,
                &c.certificate,
            )
        });
        let sc = s.send_connectors.iter().enumerate().map(|(i, c)| {
            (
                format!("send_connectors[{i}].certificate"),
                &c.name,
                &c.certificate,
            )
        });
        for (path, name, sel) in rc.chain(sc) {
            if let CertificateSelection::Thumbprint(tp) = sel {
                match self.store.find(tp) {
                    Err(e) => problems.push(crate::config::Problem {
                        path,
                        place: format!("connector '{name}', certificate"),
                        message: e,
                    }),
                    Ok(c) if !c.entry.has_private_key => problems.push(crate::config::Problem {
                        path,
                        place: format!("connector '{name}', certificate"),
                        message: format!(
                            "certificate {} has no private key and cannot be used by a connector",
                            c.info.thumbprint
                        ),
                    }),
                    Ok(_) => {}
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(AdminError::Invalid(Problems(problems)))
        }
    }
}
