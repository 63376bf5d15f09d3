//! An openssl-run certificate authority for revocation tests: a root (and intermediates) made
//! by `openssl req`/`openssl x509`, leaves with serverAuth+clientAuth, names and an optional
//! CRL distribution point, revocation with `openssl ca -revoke`, and CRLs from
//! `openssl ca -gencrl` (with chosen lastUpdate/nextUpdate for out-of-date lists). A CA is a
//! folder with its key, certificate, `index.txt`, `crlnumber` and a small `ca.cnf`.

use crate::support::util::{openssl, p};
use std::path::{Path, PathBuf};

pub struct OpensslCa {
    pub dir: PathBuf,
}

/// A certificate openssl issued: its PEM file, key file and DER.
pub struct Issued {
    pub pem: PathBuf,
    pub key: PathBuf,
    pub der: Vec<u8>,
}

impl Issued {
    /// PEM of the certificate, the given chain certificates and the key (an import bundle).
    pub fn bundle(&self, chain: &[&Path]) -> String {
        let mut s = std::fs::read_to_string(&self.pem).unwrap();
        for c in chain {
            s.push_str(&std::fs::read_to_string(c).unwrap());
        }
        s.push_str(&std::fs::read_to_string(&self.key).unwrap());
        s
    }

    pub fn thumbprint(&self) -> String {
        mailflow::pki::digest::thumbprint(&self.der)
    }
}

fn der_of(pem: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(pem).unwrap();
    ::pem::parse(text).unwrap().contents().to_vec()
}

/// A serial number no other certificate of the run has (time and a counter).
fn serial() -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "0x{t:x}{:04x}",
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

impl OpensslCa {
    /// A new self-signed root CA `CN=name` in `parent/folder`.
    pub fn root(parent: &Path, folder: &str, name: &str) -> OpensslCa {
        let ca = OpensslCa::prepare(parent, folder);
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            p(&ca.key()),
            "-out",
            p(&ca.cert()),
            "-days",
            "30",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        ca
    }

    /// An intermediate CA issued by this one (with `crl_url` as its distribution point).
    pub fn intermediate(&self, folder: &str, name: &str, crl_url: Option<&str>) -> OpensslCa {
        let ca = OpensslCa::prepare(self.dir.parent().unwrap(), folder);
        let mut ext = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n".to_string();
        if let Some(u) = crl_url {
            ext.push_str(&format!("crlDistributionPoints=URI:{u}\n"));
        }
        self.sign(&ca.dir, &ca.key(), &ca.cert(), name, &ext);
        ca
    }

    /// A leaf `CN=cn` naming `names`, for serverAuth and clientAuth.
    pub fn leaf(&self, file: &str, cn: &str, names: &[&str], crl_url: Option<&str>) -> Issued {
        let dns: Vec<String> = names.iter().map(|n| format!("DNS:{n}")).collect();
        let mut ext = format!(
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName={}\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
            dns.join(",")
        );
        if let Some(u) = crl_url {
            ext.push_str(&format!("crlDistributionPoints=URI:{u}\n"));
        }
        let key = self.dir.join(format!("{file}.key"));
        let pem = self.dir.join(format!("{file}.pem"));
        self.sign(&self.dir, &key, &pem, cn, &ext);
        Issued {
            der: der_of(&pem),
            pem,
            key,
        }
    }

    /// Revokes a certificate this CA issued (reason keyCompromise).
    pub fn revoke(&self, cert: &Path) {
        openssl(&[
            "ca",
            "-config",
            p(&self.conf()),
            "-revoke",
            p(cert),
            "-crl_reason",
            "keyCompromise",
        ]);
    }

    /// A CRL (PEM) valid from an hour ago for a week.
    pub fn crl(&self, file: &str) -> PathBuf {
        self.crl_between(file, -3600, 7 * 86_400)
    }

    /// A CRL (PEM) with lastUpdate and nextUpdate this many seconds from now.
    pub fn crl_between(&self, file: &str, last: i64, next: i64) -> PathBuf {
        let at = |secs: i64| {
            let t = time::OffsetDateTime::now_utc() + time::Duration::seconds(secs);
            t.format(time::macros::format_description!(
                "[year][month][day][hour][minute][second]Z"
            ))
            .unwrap()
        };
        let out = self.dir.join(file);
        openssl(&[
            "ca",
            "-config",
            p(&self.conf()),
            "-gencrl",
            "-crl_lastupdate",
            &at(last),
            "-crl_nextupdate",
            &at(next),
            "-out",
            p(&out),
        ]);
        out
    }

    pub fn cert(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    fn key(&self) -> PathBuf {
        self.dir.join("ca.key")
    }

    fn conf(&self) -> PathBuf {
        self.dir.join("ca.cnf")
    }

    fn prepare(parent: &Path, folder: &str) -> OpensslCa {
        let dir = parent.join(folder);
        std::fs::create_dir_all(dir.join("newcerts")).unwrap();
        std::fs::write(dir.join("index.txt"), "").unwrap();
        std::fs::write(dir.join("crlnumber"), "1000\n").unwrap();
        std::fs::write(
            dir.join("ca.cnf"),
            format!(
                "[ ca ]\ndefault_ca = CA_default\n[ CA_default ]\ndir = {d}\ndatabase = {d}/index.txt\nnew_certs_dir = {d}/newcerts\ncertificate = {d}/ca.pem\nprivate_key = {d}/ca.key\ncrlnumber = {d}/crlnumber\ndefault_md = sha256\ndefault_crl_days = 7\ncrl_extensions = crl_ext\n[ crl_ext ]\nauthorityKeyIdentifier = keyid:always\n",
                d = dir.display()
            ),
        )
        .unwrap();
        OpensslCa { dir }
    }

    /// Has this CA sign a new key for `cn` with the extensions `ext`.
    fn sign(&self, dir: &Path, key: &Path, cert: &Path, cn: &str, ext: &str) {
        let csr = dir.join(format!(
            "{}.csr",
            cert.file_stem().unwrap().to_string_lossy()
        ));
        let extfile = dir.join(format!(
            "{}.ext",
            cert.file_stem().unwrap().to_string_lossy()
        ));
        std::fs::write(&extfile, ext).unwrap();
        openssl(&[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            p(key),
            "-out",
            p(&csr),
            "-subj",
            &format!("/CN={cn}"),
        ]);
        openssl(&[
            "x509",
            "-req",
            "-in",
            p(&csr),
            "-CA",
            p(&self.cert()),
            "-CAkey",
            p(&self.key()),
            "-set_serial",
            &serial(),
            "-days",
            "20",
            "-extfile",
            p(&extfile),
            "-out",
            p(cert),
        ]);
    }
}
