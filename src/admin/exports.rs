//! What leaves the certificate store for someone else, and the lab CA's short path: a
//! certificate with its chain (PEM, DER, PKCS#7), a password-protected PFX backup with its
//! private key, a pending request's file again, the lab CA certificate for partners, and
//! "issue with the lab CA and install" for a pending request. The console and the command line
//! both call these.

use super::{AdminError, Result, Workspace};
use crate::pki::export::{self, ExportFormat};
use crate::store::certstore::ImportOutcome;
use time::OffsetDateTime;

impl Workspace {
    /// One of our certificates (by thumbprint, or its first 6+ digits) in `format`, with the
    /// chain kept with it where the format carries one.
    pub fn export_certificate(&self, thumbprint: &str, format: ExportFormat) -> Result<Vec<u8>> {
        let c = self.store.find(thumbprint).map_err(AdminError::Refused)?;
        Ok(export::certificate(&c.der, &c.chain, format))
    }

    /// A PKCS#12 backup of a certificate with its chain and private key, encrypted with
    /// AES-256 under `password` (typed twice, at least 8 characters).
    pub fn export_pfx(&self, thumbprint: &str, password: &str, again: &str) -> Result<Vec<u8>> {
        export::check_pfx_password(password, again)?;
        let c = self.store.find(thumbprint).map_err(AdminError::Refused)?;
        if !c.entry.has_private_key {
            return Err(AdminError::Refused(format!(
                "{} has no private key here (it was imported without one): export the public \
                 certificate instead",
                c.info.thumbprint
            )));
        }
        let key = self.store.load_key(&c.info.thumbprint)?;
        let der = zeroize::Zeroizing::new(key.serialize_der());
        let name = c
            .entry
            .friendly_name
            .clone()
            .or_else(|| c.info.common_names.last().cloned())
            .unwrap_or_else(|| c.info.thumbprint.clone());
        Ok(export::pfx(&c.der, &c.chain, &der, &name, password)?)
    }

    /// The request file (PEM) of a pending request, to send to a CA again.
    pub fn export_request(&self, id: &str) -> Result<String> {
        if !self.store.requests().iter().any(|r| r.id == id) {
            return Err(AdminError::Refused(format!(
                "there is no pending request {id}: `mailflow cert list` shows them"
            )));
        }
        Ok(self.store.request_pem(id)?)
    }

    /// The lab CA certificate (PEM), for partners to trust.
    pub fn export_lab_ca(&self) -> Result<String> {
        let Some((der, _)) = self.store.lab_ca_material()? else {
            return Err(no_lab_ca());
        };
        Ok(crate::pki::builder::to_pem(&der))
    }

    /// Issues a certificate for the pending request `id` with the lab CA, valid `days`, and
    /// installs it: the request completes with its key, as an import of the issued file would.
    pub fn ca_issue_pending(
        &mut self,
        id: &str,
        days: u32,
        now: OffsetDateTime,
    ) -> Result<ImportOutcome> {
        let pem = self.export_request(id)?;
        let (cert, ca) = self.ca_issue(pem.as_bytes(), days, now)?;
        let file = export::certificate(&cert, &[ca], ExportFormat::PemWithChain);
        self.import_certificate(&file, None, None, now)
    }
}

fn no_lab_ca() -> AdminError {
    AdminError::Refused(
        "there is no lab CA yet: create one (Certificates › Lab CA, or `mailflow ca init --name NAME`)"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use crate::admin::{Workspace, init};
    use crate::pki::export::ExportFormat;
    use crate::pki::import::read_file;
    use crate::pki::keys::KeySpec;
    use crate::pki::subject::Subject;
    use crate::store::DataDir;
    use time::OffsetDateTime;

    fn org() -> (tempfile::TempDir, Workspace) {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = DataDir::new(tmp.path());
        init(
            &dir,
            "Contoso",
            "mail.contoso.test",
            "contoso.test",
            OffsetDateTime::now_utc(),
        )
        .expect("init");
        let ws = Workspace::open(&dir).expect("open");
        (tmp, ws)
    }

    /// The lab CA's short path: a pending request issued and installed in one step, its key
    /// kept, then exported in every format and backed up as a PFX that opens with its
    /// password only.
    #[test]
    fn a_pending_request_is_issued_installed_and_exported() {
        let (_tmp, mut ws) = org();
        let now = OffsetDateTime::now_utc();
        let req = ws
            .new_request(
                &Subject::parse("CN=mail.contoso.test").expect("subject"),
                &["mail.contoso.test".into(), "contoso.test".into()],
                KeySpec::P256,
                None,
                now,
            )
            .expect("request");
        let id = req.entry.id.clone();
        let err = ws
            .ca_issue_pending(&id, 365, now)
            .expect_err("no lab CA yet");
        assert!(err.to_string().contains("there is no lab CA yet"), "{err}");
        assert_eq!(ws.export_request(&id).expect("request file"), req.pem);
        ws.ca_init("Contoso Lab CA", KeySpec::P256, 5, now)
            .expect("lab CA");
        let ca_pem = ws.export_lab_ca().expect("CA");
        assert!(ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        let done = ws.ca_issue_pending(&id, 365, now).expect("issued");
        assert!(done.has_private_key, "the request's key goes with it");
        assert!(ws.store.requests().iter().all(|r| r.id != id), "completed");
        assert!(ws.export_request(&id).is_err());
        let tp = done.thumbprint.clone();
        let pem = ws
            .export_certificate(&tp, ExportFormat::PemWithChain)
            .expect("pem");
        assert_eq!(read_file(&pem, None).expect("reads").certificates.len(), 2);
        let p7b = ws.export_certificate(&tp, ExportFormat::P7b).expect("p7b");
        assert_eq!(read_file(&p7b, None).expect("reads").certificates.len(), 2);
        let der = ws.export_certificate(&tp, ExportFormat::Der).expect("der");
        assert_eq!(read_file(&der, None).expect("reads").certificates.len(), 1);
        let short = ws
            .export_pfx(&tp, "short", "short")
            .expect_err("short password");
        assert!(
            short.to_string().contains("at least 8 characters"),
            "{short}"
        );
        let pfx = ws
            .export_pfx(&tp, "backup password", "backup password")
            .expect("pfx");
        let opened = read_file(&pfx, Some("backup password")).expect("opens");
        assert_eq!(opened.private_keys.len(), 1);
        assert!(read_file(&pfx, Some("another password")).is_err());
    }
}
