//! `mailflow cert|trust|ca ...`: New-ExchangeCertificate -GenerateRequest, Import-,
//! Enable-, Get-, Remove-ExchangeCertificate, the trusted root store and the lab CA.

use super::output::{date, list, table, yes_no};
use super::{CliError, CliResult, now, open};
use clap::Subcommand;
use mailflow::admin::{CertificateReport, FileReport};
use mailflow::pki::builder::to_pem;
use mailflow::pki::export::ExportFormat;
use mailflow::pki::inspect::Severity;
use mailflow::pki::keys::KeySpec;
use mailflow::pki::subject::Subject;
use mailflow::store::atomic;
use std::io::Read;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

#[derive(Subcommand, Debug)]
pub enum CertCommand {
    /// Make a key pair and a PKCS#10 request (New-ExchangeCertificate -GenerateRequest)
    Request {
        /// Subject, e.g. "DC=msft,dc=nwtraders,CN=W2K3" or "c=US, o=Contoso, cn=mail.contoso.com"
        #[arg(long)]
        subject: String,
        /// Domain names for the SAN (repeat the option or separate with commas)
        #[arg(long = "domain", value_name = "DOMAIN")]
        domains: Vec<String>,
        /// Key type: rsa2048 (default), rsa3072, rsa4096, p256, p384
        #[arg(long, default_value = "rsa2048")]
        key: String,
        /// Write DER instead of Base64 (PEM)
        #[arg(long)]
        binary: bool,
        /// Where to write the request file
        #[arg(long)]
        out: PathBuf,
        /// A name to recognise the certificate by
        #[arg(long)]
        friendly_name: Option<String>,
    },
    /// Import a certificate: PEM, DER, PKCS#7 (.p7b) or PKCS#12 (.pfx/.p12)
    Import {
        file: PathBuf,
        /// Read the PKCS#12 password from this file (first line)
        #[arg(long, conflicts_with = "password_stdin")]
        password_file: Option<PathBuf>,
        /// Read the PKCS#12 password from standard input (first line)
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        friendly_name: Option<String>,
    },
    /// Enable a certificate for a service (SMTP)
    Enable {
        thumbprint: String,
        /// Services to enable: smtp
        #[arg(long, default_value = "smtp")]
        services: String,
    },
    /// List certificates and pending requests (Get-ExchangeCertificate)
    List,
    /// Inspect a certificate of the store (by thumbprint) or any file
    Show {
        /// A thumbprint, or the path of a certificate, request, PKCS#7 or PKCS#12 file
        target: String,
        #[arg(long, conflicts_with = "password_stdin")]
        password_file: Option<PathBuf>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Export a certificate: with its chain as PEM (default), alone as DER, as PKCS#7 (.p7b),
    /// or with its private key as a password-protected PFX (AES-256); or a pending request's
    /// file again (give its ID)
    Export {
        /// A thumbprint (or its first 6+ digits), or a pending request's ID
        target: String,
        #[arg(long)]
        out: PathBuf,
        /// pem | der | p7b | pfx
        #[arg(long, default_value = "pem")]
        format: String,
        /// The PFX password (first line of the file); at least 8 characters
        #[arg(long, conflicts_with = "password_stdin")]
        password_file: Option<PathBuf>,
        /// Read the PFX password from standard input
        #[arg(long)]
        password_stdin: bool,
    },
    /// Remove a certificate and its private key, or a pending request
    Remove { thumbprint: String },
    /// Never trust this certificate again, whoever vouches for it (its key leaked)
    Block {
        /// SHA-1 thumbprint (40 hex digits)
        thumbprint: String,
        /// Why (shown in `cert blocked`)
        #[arg(long)]
        note: Option<String>,
    },
    /// Take a certificate off the deny-list
    Unblock { thumbprint: String },
    /// List blocked certificates
    Blocked,
}

#[derive(Subcommand, Debug)]
pub enum CrlCommand {
    /// Add a CRL file (PEM or DER) signed by a trusted root or a chain certificate
    Add { file: PathBuf },
    /// List revocation lists, added and downloaded, with their next-update dates
    List,
    /// Remove an added revocation list (by id or its first 6+ digits)
    Remove { id: String },
}

#[derive(Subcommand, Debug)]
pub enum TrustCommand {
    /// Trust the root CA certificate(s) in a file
    Add { file: PathBuf },
    /// List trusted root CAs
    List,
    /// Remove a trusted root CA
    Remove { thumbprint: String },
}

#[derive(Subcommand, Debug)]
pub enum CaCommand {
    /// Create the lab CA and trust its root
    Init {
        #[arg(long)]
        name: String,
        /// Key type of the CA: p256 (default), p384, rsa2048, rsa3072, rsa4096
        #[arg(long, default_value = "p256")]
        key: String,
        /// Validity in years
        #[arg(long, default_value_t = 10)]
        years: u32,
    },
    /// Issue a certificate from a request file
    Issue {
        request: PathBuf,
        /// Validity in days
        #[arg(long, default_value_t = 365)]
        days: u32,
        /// Where to write the certificate (PEM, followed by the CA certificate)
        #[arg(long)]
        out: PathBuf,
        /// Write the certificate alone, in DER
        #[arg(long)]
        binary: bool,
    },
    /// Write the lab CA certificate (for partners to trust)
    Export {
        #[arg(long)]
        out: PathBuf,
    },
    /// Issue a certificate for one of our pending requests and install it (the request
    /// completes with its key)
    IssuePending {
        /// The pending request's ID (`mailflow cert list`)
        id: String,
        /// Validity in days
        #[arg(long, default_value_t = 365)]
        days: u32,
    },
}

fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError(format!("cannot read {}: {e}", path.display())))
}

fn write_new(path: &Path, bytes: &[u8]) -> CliResult {
    atomic::write_atomic(path, bytes, atomic::PUBLIC).map_err(|e| CliError(e.to_string()))
}

pub(super) fn password(
    file: &Option<PathBuf>,
    stdin: bool,
) -> Result<Option<Zeroizing<String>>, CliError> {
    let text = if let Some(f) = file {
        Zeroizing::new(
            String::from_utf8(read(f)?)
                .map_err(|_| CliError(format!("{} is not text", f.display())))?,
        )
    } else if stdin {
        let mut s = Zeroizing::new(String::new());
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| CliError(format!("cannot read the password from standard input: {e}")))?;
        s
    } else {
        return Ok(None);
    };
    let first = text.lines().next().unwrap_or("").to_string();
    Ok(Some(Zeroizing::new(first)))
}

pub fn run_cert(dir: &Option<PathBuf>, cmd: &CertCommand) -> CliResult {
    match cmd {
        CertCommand::Request {
            subject,
            domains,
            key,
            binary,
            out,
            friendly_name,
        } => {
            let spec: KeySpec = key.parse().map_err(CliError)?;
            let subject = Subject::parse(subject).map_err(|e| CliError(e.to_string()))?;
            let domains = mailflow::admin::check_request_domains(domains)
                .map_err(|e| CliError(e.to_string()))?;
            if out.exists() {
                return Err(CliError(format!(
                    "{} already exists; choose another --out",
                    out.display()
                )));
            }
            let mut ws = open(dir)?;
            let r = ws.new_request(&subject, &domains, spec, friendly_name.clone(), now())?;
            if let Err(e) = write_new(out, &r.file_bytes(*binary)) {
                let _ = ws.remove_request(&r.entry.id);
                return Err(e);
            }
            table(
                &["Thumbprint", "Services", "Subject"],
                &[vec![
                    r.entry.id.clone(),
                    "None".into(),
                    r.entry.subject.clone(),
                ]],
            );
            println!();
            println!(
                "Request written to {} ({}, {} key); it stays pending until its certificate is imported.",
                out.display(),
                if *binary { "DER" } else { "Base64/PEM" },
                spec
            );
            if !domains.is_empty() {
                println!("Domains (SAN): {}", domains.join(", "));
            }
            Ok(())
        }
        CertCommand::Import {
            file,
            password_file,
            password_stdin,
            friendly_name,
        } => {
            let bytes = read(file)?;
            let pw = password(password_file, *password_stdin)?;
            let mut ws = open(dir)?;
            let o = ws.import_certificate(
                &bytes,
                pw.as_deref().map(|s| s.as_str()),
                friendly_name.clone(),
                now(),
            )?;
            table(
                &["Thumbprint", "Services", "Subject"],
                &[vec![
                    o.thumbprint.clone(),
                    "None".into(),
                    o.info.subject.clone(),
                ]],
            );
            println!();
            if let Some(r) = &o.completed_request {
                println!("Completes the pending request {} ({}).", r.id, r.subject);
            }
            println!(
                "Private key: {}. Chain certificates kept: {}.",
                if o.has_private_key {
                    "yes"
                } else {
                    "no (cannot be an SMTP identity)"
                },
                o.chain_certificates
            );
            if o.has_private_key {
                println!(
                    "Enable it for SMTP with: mailflow cert enable {} --services smtp",
                    o.thumbprint
                );
            }
            Ok(())
        }
        CertCommand::Enable {
            thumbprint,
            services,
        } => {
            for s in services.split(',').map(str::trim) {
                if !s.eq_ignore_ascii_case("smtp") {
                    return Err(CliError(format!(
                        "'{s}' is not a service Mailflow offers: use smtp"
                    )));
                }
            }
            let mut ws = open(dir)?;
            let tp = ws.enable_certificate(thumbprint)?;
            println!("Certificate {tp} is enabled for SMTP.");
            Ok(())
        }
        CertCommand::List => {
            let ws = open(dir)?;
            let rows: Vec<Vec<String>> = ws
                .certificate_rows(now())
                .into_iter()
                .map(|r| {
                    vec![
                        r.thumbprint,
                        r.services,
                        r.subject,
                        r.status.to_string(),
                        r.not_after.map(date).unwrap_or_default(),
                    ]
                })
                .collect();
            table(
                &["Thumbprint", "Services", "Subject", "Status", "NotAfter"],
                &rows,
            );
            Ok(())
        }
        CertCommand::Show {
            target,
            password_file,
            password_stdin,
        } => {
            let ws = open(dir)?;
            let path = Path::new(target);
            if path.exists() {
                let bytes = read(path)?;
                let pw = password(password_file, *password_stdin)?;
                let report = ws.inspect_file(&bytes, pw.as_deref().map(|s| s.as_str()), now())?;
                print_file_report(&report);
            } else {
                let r = ws.inspect_stored(target, now())?;
                print_report(&r);
            }
            Ok(())
        }
        CertCommand::Export {
            target,
            out,
            format,
            password_file,
            password_stdin,
        } => {
            let ws = open(dir)?;
            if out.exists() {
                return Err(CliError(format!(
                    "{} already exists; choose another --out",
                    out.display()
                )));
            }
            let pending = ws
                .store
                .requests()
                .iter()
                .any(|r| r.id.eq_ignore_ascii_case(target));
            if pending {
                let id = ws
                    .store
                    .requests()
                    .iter()
                    .find(|r| r.id.eq_ignore_ascii_case(target))
                    .map(|r| r.id.clone())
                    .unwrap_or_default();
                write_new(out, ws.export_request(&id)?.as_bytes())?;
                println!("Request {id} written to {}", out.display());
                return Ok(());
            }
            if format.eq_ignore_ascii_case("pfx") || format.eq_ignore_ascii_case("p12") {
                let Some(pw) = password(password_file, *password_stdin)? else {
                    return Err(CliError(
                        "a PFX holds the private key: give its password with --password-file FILE or --password-stdin".into(),
                    ));
                };
                let bytes = ws.export_pfx(target, &pw, &pw)?;
                atomic::write_atomic(out, &bytes, atomic::PRIVATE)
                    .map_err(|e| CliError(e.to_string()))?;
                println!(
                    "Certificate and private key written to {} (PKCS#12, AES-256; mode 0600). \
                     Keep the file and its password apart: together they are this server's identity.",
                    out.display()
                );
                return Ok(());
            }
            let Some(f) = ExportFormat::parse(format) else {
                return Err(CliError(format!(
                    "'{format}' is not a format: use pem, der, p7b or pfx"
                )));
            };
            write_new(out, &ws.export_certificate(target, f)?)?;
            println!("{} written to {}", f.label(), out.display());
            Ok(())
        }
        CertCommand::Remove { thumbprint } => {
            let mut ws = open(dir)?;
            if ws
                .store
                .requests()
                .iter()
                .any(|r| r.id.eq_ignore_ascii_case(thumbprint))
            {
                let r = ws.remove_request(thumbprint)?;
                println!(
                    "Pending request {} ({}) and its key were removed.",
                    r.id, r.subject
                );
            } else {
                let tp = ws.remove_certificate(thumbprint)?;
                println!("Certificate {tp} and its private key were removed.");
            }
            Ok(())
        }
        CertCommand::Block { thumbprint, note } => {
            let mut ws = open(dir)?;
            let b = ws.block_certificate(thumbprint, note.clone(), now())?;
            println!(
                "Certificate {} is blocked: it fails every trust decision (chain, Direct Trust, partner anchor) from the next connection on.",
                b.thumbprint
            );
            Ok(())
        }
        CertCommand::Unblock { thumbprint } => {
            let mut ws = open(dir)?;
            let tp = ws.unblock_certificate(thumbprint)?;
            println!("Certificate {tp} is no longer blocked.");
            Ok(())
        }
        CertCommand::Blocked => {
            let ws = open(dir)?;
            let rows: Vec<Vec<String>> = ws
                .store
                .blocked()
                .iter()
                .map(|b| {
                    vec![
                        b.thumbprint.clone(),
                        time::OffsetDateTime::from_unix_timestamp(b.added)
                            .map(date)
                            .unwrap_or_default(),
                        b.note.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            table(&["Thumbprint", "Blocked", "Note"], &rows);
            Ok(())
        }
    }
}

pub fn run_crl(dir: &Option<PathBuf>, cmd: &CrlCommand) -> CliResult {
    let mut ws = open(dir)?;
    match cmd {
        CrlCommand::Add { file } => {
            let a = ws.crl_add(&read(file)?, now())?;
            println!(
                "Revocation list {} of {} added (signed by {}; {} revoked certificate(s)).",
                a.entry.id, a.info.issuer, a.signer_subject, a.info.revoked
            );
            if let Some(r) = &a.replaced {
                println!("It replaces the older list {r}.");
            }
            if a.out_of_date {
                println!(
                    "WARNING: this list is {}. It still proves revocations, but says nothing about other certificates.",
                    a.info.next_update_words(now())
                );
            }
        }
        CrlCommand::List => {
            let rows: Vec<Vec<String>> = ws
                .crl_rows(now())
                .into_iter()
                .map(|r| {
                    vec![
                        r.info.id.clone(),
                        r.source.to_string(),
                        r.info.issuer.clone(),
                        date(r.info.this_update),
                        if r.out_of_date {
                            format!("{} (OUT OF DATE)", date(r.info.next_update))
                        } else {
                            date(r.info.next_update)
                        },
                        r.info.revoked.to_string(),
                    ]
                })
                .collect();
            table(
                &[
                    "Id",
                    "Source",
                    "Issuer",
                    "ThisUpdate",
                    "NextUpdate",
                    "Revoked",
                ],
                &rows,
            );
            for r in ws.crl_rows(now()).iter().filter(|r| r.out_of_date) {
                println!(
                    "WARNING: the list of {} is {}.",
                    r.info.issuer, r.date_words
                );
            }
        }
        CrlCommand::Remove { id } => {
            let e = ws.crl_remove(id)?;
            println!("Revocation list {} of {} removed.", e.id, e.issuer);
        }
    }
    Ok(())
}

fn print_report(r: &CertificateReport) {
    let i = &r.info;
    let mut items = vec![
        ("Subject", i.subject.clone()),
        ("Issuer", i.issuer.clone()),
        ("Thumbprint", i.thumbprint.clone()),
        ("SHA256", i.sha256.clone()),
        ("PublicKeySHA256", i.public_key_sha256.clone()),
        ("SerialNumber", i.serial.clone()),
        ("NotBefore", date(i.not_before)),
        ("NotAfter", date(i.not_after)),
        ("Status", r.status.to_string()),
        ("CertificateDomains", i.dns_names.join(", ")),
        ("PublicKey", i.key.clone()),
        ("SignatureAlgorithm", i.signature_algorithm.clone()),
        (
            "KeyUsage",
            i.key_usage
                .as_ref()
                .map(|k| k.join(", "))
                .unwrap_or_else(|| "(not restricted)".into()),
        ),
        (
            "EnhancedKeyUsage",
            i.extended_key_usage
                .as_ref()
                .map(|k| k.join(", "))
                .unwrap_or_else(|| "(not restricted)".into()),
        ),
        ("IsCA", yes_no(i.is_ca)),
        ("IsSelfSigned", yes_no(i.self_signed)),
        (
            "SubjectKeyIdentifier",
            i.subject_key_id.clone().unwrap_or_default(),
        ),
        (
            "AuthorityKeyIdentifier",
            i.authority_key_id.clone().unwrap_or_default(),
        ),
    ];
    if !i.ip_addresses.is_empty() {
        items.push(("IPAddresses", i.ip_addresses.join(", ")));
    }
    if let Some(k) = r.has_private_key {
        items.push(("HasPrivateKey", yes_no(k)));
    }
    if let Some(s) = &r.services {
        items.push(("Services", s.clone()));
    }
    if !r.path.is_empty() {
        items.push(("CertificationPath", r.path.join("\n")));
    }
    list(&items);
    print_findings(&r.findings);
}

fn print_findings(findings: &[mailflow::pki::inspect::Finding]) {
    if findings.is_empty() {
        println!("\nFindings: none");
        return;
    }
    println!("\nFindings:");
    for f in findings {
        let tag = match f.severity {
            Severity::Problem => "PROBLEM",
            Severity::Warning => "WARNING",
            Severity::Info => "INFO   ",
        };
        println!("  {tag} {}", f.text);
    }
}

fn print_file_report(r: &FileReport) {
    println!(
        "File format: {}",
        r.format
            .map(|f| f.to_string())
            .unwrap_or_else(|| "unknown".into())
    );
    if r.private_keys > 0 {
        println!("Private keys in the file: {}", r.private_keys);
    }
    if let Some(p) = &r.completes_request {
        println!("Completes the pending request {} ({})", p.id, p.subject);
    }
    for (n, c) in r.certificates.iter().enumerate() {
        println!("\nCertificate {} of {}", n + 1, r.certificates.len());
        print_report(c);
    }
    for q in &r.requests {
        println!("\nCertificate request");
        list(&[
            ("Subject", q.subject.clone()),
            ("Status", "PendingRequest".into()),
            ("CertificateDomains", q.dns_names.join(", ")),
            ("PublicKey", q.key_description.clone()),
            ("PublicKeySHA256", q.public_key_sha256.clone()),
            ("SignatureAlgorithm", q.signature_algorithm.clone()),
            ("SignatureValid", yes_no(q.signature_valid)),
            ("RequestsServerAuth", yes_no(q.requests_server_auth)),
            ("RequestsClientAuth", yes_no(q.requests_client_auth)),
            ("OtherExtensions", q.other_extensions.join(", ")),
        ]);
    }
}

pub fn run_trust(dir: &Option<PathBuf>, cmd: &TrustCommand) -> CliResult {
    let mut ws = open(dir)?;
    match cmd {
        TrustCommand::Add { file } => {
            let added = ws.trust_add(&read(file)?, now())?;
            for r in added {
                println!("Trusted root {} ({}) added.", r.thumbprint, r.subject);
            }
        }
        TrustCommand::List => {
            let n = now();
            let rows: Vec<Vec<String>> = ws
                .store
                .trusted_roots()
                .iter()
                .map(|r| {
                    let status = if r.info.is_current(n) {
                        "Valid"
                    } else {
                        "DateInvalid"
                    };
                    vec![
                        r.info.thumbprint.clone(),
                        r.info.subject.clone(),
                        status.into(),
                        date(r.info.not_after),
                    ]
                })
                .collect();
            table(&["Thumbprint", "Subject", "Status", "NotAfter"], &rows);
        }
        TrustCommand::Remove { thumbprint } => {
            let r = ws.trust_remove(thumbprint)?;
            println!("Trusted root {} ({}) removed.", r.thumbprint, r.subject);
        }
    }
    Ok(())
}

pub fn run_ca(dir: &Option<PathBuf>, cmd: &CaCommand) -> CliResult {
    let mut ws = open(dir)?;
    match cmd {
        CaCommand::Init { name, key, years } => {
            let spec: KeySpec = key.parse().map_err(CliError)?;
            let e = ws.ca_init(name, spec, *years, now())?;
            println!(
                "Lab CA '{}' created; its root {} is now trusted.",
                e.name, e.thumbprint
            );
            println!(
                "Give partners its certificate: {}",
                ws.store.lab_ca_cert_path().display()
            );
        }
        CaCommand::Issue {
            request,
            days,
            out,
            binary,
        } => {
            if out.exists() {
                return Err(CliError(format!(
                    "{} already exists; choose another --out",
                    out.display()
                )));
            }
            let (cert, ca) = ws.ca_issue(&read(request)?, *days, now())?;
            let bytes = if *binary {
                cert.clone()
            } else {
                format!("{}{}", to_pem(&cert), to_pem(&ca)).into_bytes()
            };
            write_new(out, &bytes)?;
            let info = mailflow::pki::inspect::inspect_certificate(&cert)
                .map_err(|e| CliError(e.to_string()))?;
            list(&[
                ("Thumbprint", info.thumbprint),
                ("Subject", info.subject),
                ("CertificateDomains", info.dns_names.join(", ")),
                ("NotAfter", date(info.not_after)),
                ("Written to", out.display().to_string()),
            ]);
        }
        CaCommand::Export { out } => {
            write_new(out, ws.export_lab_ca()?.as_bytes())?;
            println!("Lab CA certificate written to {}", out.display());
        }
        CaCommand::IssuePending { id, days } => {
            let done = ws.ca_issue_pending(id, *days, now())?;
            list(&[
                ("Thumbprint", done.thumbprint.clone()),
                ("Subject", done.info.subject.clone()),
                ("CertificateDomains", done.info.dns_names.join(", ")),
                ("NotAfter", date(done.info.not_after)),
                ("Completes request", id.clone()),
            ]);
            println!(
                "Installed with its private key; enable it for SMTP with `mailflow cert enable {}`.",
                done.thumbprint
            );
        }
    }
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct PinArgs {
    /// A certificate file to pin (its thumbprint, or with --key-pin its public key)
    #[arg(long)]
    cert: Option<PathBuf>,
    /// Pin the public key (survives renewal with the same key) instead of the certificate
    #[arg(long, requires = "cert")]
    key_pin: bool,
    /// A certificate thumbprint (SHA-1, 40 hex digits)
    #[arg(long)]
    thumbprint: Option<String>,
    /// A public-key SHA-256 (64 hex digits)
    #[arg(long)]
    public_key_sha256: Option<String>,
}

impl PinArgs {
    fn pin(&self) -> Result<mailflow::config::Pin, CliError> {
        let bytes = match &self.cert {
            Some(p) => Some(read(p)?),
            None => None,
        };
        Ok(mailflow::admin::pin_from(
            bytes.as_deref(),
            self.thumbprint.as_deref(),
            self.public_key_sha256.as_deref(),
            self.key_pin,
        )?)
    }
}

#[derive(Subcommand, Debug)]
pub enum DirectTrustCommand {
    /// Trust one of OUR OWN relays by a pin. It becomes an internal server: it may relay to any
    /// domain and its X-Mailflow-* / X-MS-Exchange-Organization-* fields pass the header
    /// firewall. Never use this for a partner: `mailflow partner pin` binds a partner's
    /// certificate to its domains, as Partner only
    Add {
        name: String,
        #[command(flatten)]
        pin: PinArgs,
    },
    List,
    Remove {
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum PartnerCommand {
    /// Pin a partner domain to an anchor: its CA certificate, a thumbprint or a key pin
    Anchor {
        domain: String,
        #[command(flatten)]
        pin: PinArgs,
    },
    /// Pin a partner's own certificate (self-signed or privately issued) for the partner's
    /// domains: the pin stands for the chain of those domains only, the partner is
    /// authenticated as Partner (no relaying, header firewall on) — unlike `direct-trust add`,
    /// which is for our own relays
    Pin {
        /// A name for the partner (shown in lists and tracking)
        name: String,
        /// A domain of the partner (repeat for several)
        #[arg(long = "domain", required = true)]
        domains: Vec<String>,
        #[command(flatten)]
        pin: PinArgs,
    },
    /// Remove a partner pin by name
    Unpin { name: String },
    /// Partner domains with their anchors, and partner pins
    List,
    /// The health of the secure mail flow with each partner (or one): lists, connectors,
    /// trust, the certificate it presented last, last Domain Secure messages, failures,
    /// messages of the last day, queued mail, our certificate — each with what to do
    Health {
        /// Only this partner domain
        domain: Option<String>,
    },
    /// The alerts of the partner certificate watch: partner certificates expiring, rotated
    /// or from another issuer, partners that stopped using TLS, our SMTP certificate and
    /// trusted roots expiring (the relay logs each once and mails it to the alert address)
    Alerts,
    /// Remove a partner's anchors (any trusted root may vouch for it again)
    Remove { domain: String },
    /// Set up Domain Security with a partner in one go, as the console's wizard does: trust
    /// its root CA (--root FILE) or name a trusted one (--root-thumbprint), add its domain to
    /// the send and receive domain secure lists, pin it to that root (--pin), and turn Domain
    /// Security on the named connectors (receive connectors get AuthMechanism Tls with it).
    /// Nothing is half applied: when the change is refused, a root it trusted is removed again
    Setup {
        domain: String,
        /// The partner's root CA certificate file, trusted by this command
        #[arg(long, conflicts_with = "root_thumbprint")]
        root: Option<PathBuf>,
        /// A root that is trusted already
        #[arg(long)]
        root_thumbprint: Option<String>,
        /// Pin the partner to that root: no other CA may vouch for it
        #[arg(long)]
        pin: bool,
        /// A send connector to turn Domain Security on (repeat for several)
        #[arg(long = "send-connector")]
        send_connectors: Vec<String>,
        /// A receive connector to turn Domain Security on (repeat for several)
        #[arg(long = "receive-connector")]
        receive_connectors: Vec<String>,
    },
}

fn pin_text(p: &mailflow::config::Pin) -> String {
    match p {
        mailflow::config::Pin::Thumbprint(t) => format!("certificate {t}"),
        mailflow::config::Pin::PublicKeySha256(h) => format!("public key SHA-256 {h}"),
    }
}

pub fn run_direct_trust(dir: &Option<PathBuf>, cmd: &DirectTrustCommand) -> CliResult {
    let mut ws = open(dir)?;
    match cmd {
        DirectTrustCommand::Add { name, pin } => {
            let p = pin.pin()?;
            ws.add_direct_trust(name, p.clone())?;
            println!(
                "Direct Trust '{name}' added: {}. It is one of our own servers: it may relay anywhere and its organization headers pass. For a partner, use `mailflow partner pin` instead.",
                pin_text(&p)
            );
        }
        DirectTrustCommand::List => {
            let rows: Vec<Vec<String>> = ws
                .settings
                .direct_trust
                .iter()
                .map(|e| vec![e.name.clone(), pin_text(&e.pin)])
                .collect();
            table(&["Name", "Pin"], &rows);
        }
        DirectTrustCommand::Remove { name } => {
            ws.remove_direct_trust(name)?;
            println!("Direct Trust '{name}' removed.");
        }
    }
    Ok(())
}

pub fn run_partner(dir: &Option<PathBuf>, cmd: &PartnerCommand) -> CliResult {
    let mut ws = open(dir)?;
    match cmd {
        PartnerCommand::Health { domain } => {
            super::partner::run_health(dir, &ws, domain.as_deref())?;
        }
        PartnerCommand::Alerts => super::partner::run_alerts(&ws),
        PartnerCommand::Anchor { domain, pin } => {
            let p = pin.pin()?;
            ws.add_partner_anchor(domain, p.clone())?;
            println!(
                "Partner {domain} is pinned to {}: no other CA may vouch for it.",
                pin_text(&p)
            );
        }
        PartnerCommand::Pin { name, domains, pin } => {
            let p = pin.pin()?;
            ws.add_partner_pin(name, domains, p.clone())?;
            println!(
                "Partner '{name}' is pinned to {} for {}: authenticated as Partner for these domains only (no relaying, its organization headers are removed). The certificate must still name the domain.",
                pin_text(&p),
                domains.join(", ")
            );
        }
        PartnerCommand::Unpin { name } => {
            ws.remove_partner_pin(name)?;
            println!("Partner pin '{name}' removed.");
        }
        PartnerCommand::List => {
            let pins: Vec<Vec<String>> = ws
                .settings
                .partner_pins
                .iter()
                .map(|p| vec![p.name.clone(), p.domains.join(", "), pin_text(&p.pin)])
                .collect();
            if !pins.is_empty() {
                table(&["Partner pin", "Domains", "Pin"], &pins);
                println!();
            }
            let rows: Vec<Vec<String>> = ws
                .settings
                .partner_anchors
                .iter()
                .map(|p| {
                    vec![
                        p.domain.clone(),
                        p.anchors
                            .iter()
                            .map(pin_text)
                            .collect::<Vec<_>>()
                            .join("; "),
                    ]
                })
                .collect();
            table(&["Domain", "Anchors"], &rows);
        }
        PartnerCommand::Remove { domain } => {
            ws.remove_partner_anchors(domain)?;
            println!("Partner {domain} has no anchors any more.");
        }
        PartnerCommand::Setup {
            domain,
            root,
            root_thumbprint,
            pin,
            send_connectors,
            receive_connectors,
        } => {
            let root = match (root, root_thumbprint) {
                (Some(file), _) => mailflow::admin::RootChoice::File(file.clone()),
                (None, Some(tp)) => mailflow::admin::RootChoice::Existing(tp.clone()),
                (None, None) => mailflow::admin::RootChoice::AlreadyTrusted,
            };
            let plan = mailflow::admin::DomainSecurityPlan {
                domain: domain.clone(),
                root,
                pin: *pin,
                send_list: true,
                receive_list: true,
                send_connectors: send_connectors.clone(),
                receive_connectors: receive_connectors.clone(),
            };
            println!("{}", ws.set_up_domain_security(&plan, now())?);
        }
    }
    Ok(())
}
