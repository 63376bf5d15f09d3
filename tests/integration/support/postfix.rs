//! A real Postfix (the Debian package) as the partner organization: a private instance with its
//! own configuration, queue, data and mailbox directories under a temporary directory, its
//! smtpd on a free loopback port, virtual(8) delivery into Maildirs we can read, and its smtp
//! client relaying everything else to one loopback next hop (a Mailflow relay) — never to any
//! other address, never through DNS. Also the certificates the tests hand to it: partner CAs
//! and good or deliberately bad leaves (expired, wrong name, no clientAuth, from an untrusted
//! CA), made with Mailflow's own PKI library and written as PEM files.
//!
//! Postfix needs root (its master daemon runs as root and drops to `postfix`/`nobody`); without
//! Postfix or without root, [`Postfix::start`] says so loudly and returns `None` — except in CI,
//! where a missing peer fails the test (the rule of [`crate::support::util::peer`]).

use crate::support::util::{free_port, in_ci, peer, texts_in};
use mailflow::pki::builder::to_pem;
use mailflow::pki::ca::{LeafUsage, create_ca, issue_leaf};
use mailflow::pki::der::san_dns_ext;
use mailflow::pki::keys::{KeySpec, spki_der};
use mailflow::pki::subject::{Rdn, RdnKind, Subject};
use rcgen::KeyPair;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

// ---- certificates ------------------------------------------------------------------------

/// A certificate authority made for a test (a partner organization's, or a rogue one).
pub struct TestCa {
    pub der: Vec<u8>,
    key: KeyPair,
}

/// A leaf certificate with its key.
pub struct Issued {
    pub der: Vec<u8>,
    pub key: KeyPair,
}

/// PEM files of a certificate (leaf first, then its issuer) and its private key.
#[derive(Clone, Debug)]
pub struct PemFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// What a test leaf looks like.
#[derive(Clone, Debug)]
pub struct LeafSpec {
    /// Common name.
    pub cn: String,
    /// SAN dNSNames.
    pub names: Vec<String>,
    pub usage: LeafUsage,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl LeafSpec {
    /// A currently valid serverAuth+clientAuth leaf for `names` (CN = the first name).
    pub fn valid(names: &[&str]) -> LeafSpec {
        let now = OffsetDateTime::now_utc();
        LeafSpec {
            cn: names[0].to_string(),
            names: names.iter().map(|n| n.to_string()).collect(),
            usage: LeafUsage::SMTP,
            not_before: now - time::Duration::days(1),
            not_after: now + time::Duration::days(90),
        }
    }

    /// Like [`LeafSpec::valid`] but expired yesterday (valid for the 30 days before).
    pub fn expired(names: &[&str]) -> LeafSpec {
        let now = OffsetDateTime::now_utc();
        LeafSpec {
            not_before: now - time::Duration::days(31),
            not_after: now - time::Duration::days(1),
            ..LeafSpec::valid(names)
        }
    }

    /// Like [`LeafSpec::valid`] but for serverAuth only (no clientAuth in the EKU).
    pub fn server_only(names: &[&str]) -> LeafSpec {
        LeafSpec {
            usage: LeafUsage {
                server_auth: true,
                client_auth: false,
            },
            ..LeafSpec::valid(names)
        }
    }
}

fn cn_subject(cn: &str) -> Subject {
    Subject::new(vec![Rdn {
        kind: RdnKind::CN,
        value: cn.to_string(),
    }])
    .expect("subject")
}

impl TestCa {
    /// A new root CA `CN=<name>, O=<organization>`.
    pub fn new(name: &str, organization: &str) -> TestCa {
        let key = KeySpec::P256.generate().expect("CA key");
        let der = create_ca(name, organization, &key, OffsetDateTime::now_utc(), 2).expect("CA");
        TestCa { der, key }
    }

    pub fn pem(&self) -> String {
        to_pem(&self.der)
    }

    /// Issues a leaf as `spec` says.
    pub fn issue(&self, spec: &LeafSpec) -> Issued {
        let key = KeySpec::P256.generate().expect("leaf key");
        let der = issue_leaf(
            &self.der,
            &self.key,
            &cn_subject(&spec.cn).to_der(),
            &spki_der(&key),
            Some(san_dns_ext(&spec.names).value),
            spec.usage,
            spec.not_before,
            spec.not_after,
        )
        .expect("issue leaf");
        Issued { der, key }
    }

    /// Issues a leaf and writes it (with this CA after it) and its key into `dir`.
    pub fn issue_files(&self, spec: &LeafSpec, dir: &Path, stem: &str) -> PemFiles {
        self.issue(spec).write(dir, stem, Some(self))
    }
}

impl Issued {
    /// Writes `<stem>.crt` (the leaf, then `issuer` when given) and `<stem>.key` (mode 0600).
    pub fn write(&self, dir: &Path, stem: &str, issuer: Option<&TestCa>) -> PemFiles {
        let cert = dir.join(format!("{stem}.crt"));
        let key = dir.join(format!("{stem}.key"));
        let mut pem = to_pem(&self.der);
        if let Some(ca) = issuer {
            pem.push_str(&ca.pem());
        }
        std::fs::write(&cert, pem).expect("write certificate");
        write_private(&key, self.key.serialize_pem().as_bytes());
        PemFiles { cert, key }
    }
}

fn write_private(path: &Path, bytes: &[u8]) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .expect("key file");
    std::io::Write::write_all(&mut f, bytes).expect("write key");
}

// ---- options -----------------------------------------------------------------------------

/// Postfix TLS security levels (`smtpd_tls_security_level`, `smtp_tls_security_level`).
/// The whole vocabulary, though today's tests use only some of it.
#[allow(dead_code)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsLevel {
    None,
    May,
    Encrypt,
    Verify,
    Secure,
}

impl TlsLevel {
    fn word(self) -> &'static str {
        match self {
            TlsLevel::None => "none",
            TlsLevel::May => "may",
            TlsLevel::Encrypt => "encrypt",
            TlsLevel::Verify => "verify",
            TlsLevel::Secure => "secure",
        }
    }
}

/// The smtpd side: what Postfix presents and asks of clients.
#[derive(Clone, Debug)]
pub struct ServerTls {
    /// `smtpd_tls_security_level`: none, may or encrypt.
    pub level: TlsLevel,
    /// `smtpd_tls_cert_file` / `smtpd_tls_key_file`.
    pub cert: Option<PemFiles>,
    /// `smtpd_tls_CAfile`: the CAs that verify client certificates (also sent as hints).
    pub ca_file: Option<PathBuf>,
    /// `smtpd_tls_ask_ccert`.
    pub ask_ccert: bool,
    /// `smtpd_tls_req_ccert` (only with `encrypt`): a verified client certificate or 421.
    pub req_ccert: bool,
}

/// The smtp client side: how Postfix delivers to its relay host.
#[derive(Clone, Debug)]
pub struct ClientTls {
    /// `smtp_tls_security_level`.
    pub level: TlsLevel,
    /// `smtp_tls_cert_file` / `smtp_tls_key_file`: the client certificate, if any.
    pub cert: Option<PemFiles>,
    /// `smtp_tls_CAfile`: the CAs that verify the server.
    pub ca_file: Option<PathBuf>,
    /// `smtp_tls_secure_cert_match` and `smtp_tls_verify_cert_match`: the name the server
    /// certificate must carry (the relay host is an IP literal, so `nexthop` would not do).
    pub cert_match: Option<String>,
}

/// How to set up a Postfix instance.
#[derive(Clone, Debug)]
pub struct PostfixOptions {
    /// `myhostname`.
    pub hostname: String,
    /// The domain delivered locally (`virtual_mailbox_domains`, `myorigin`).
    pub domain: String,
    /// Local parts with a Maildir (`<local>@<domain>`); `postmaster` is always added.
    pub mailboxes: Vec<String>,
    /// smtpd port on 127.0.0.1; a free one when `None`.
    pub smtpd_port: Option<u16>,
    pub server_tls: Option<ServerTls>,
    /// `relayhost = [ip]:port`: where all mail for other domains goes.
    pub relay_to: Option<SocketAddr>,
    pub client_tls: Option<ClientTls>,
    /// More `main.cf` lines (`name`, `value`), written last.
    pub extra: Vec<(String, String)>,
}

impl PostfixOptions {
    pub fn new(hostname: &str, domain: &str) -> PostfixOptions {
        PostfixOptions {
            hostname: hostname.into(),
            domain: domain.into(),
            mailboxes: vec!["alice".into(), "bob".into()],
            smtpd_port: None,
            server_tls: None,
            relay_to: None,
            client_tls: None,
            extra: Vec::new(),
        }
    }
}

// ---- the instance ------------------------------------------------------------------------

/// A running private Postfix instance; stopped when dropped.
pub struct Postfix {
    /// The instance's folder; kept after the test with `MAILFLOW_KEEP_POSTFIX=1`.
    tmp: Option<tempfile::TempDir>,
    pub config_dir: PathBuf,
    pub queue_dir: PathBuf,
    pub mail_dir: PathBuf,
    pub log_file: PathBuf,
    pub port: u16,
    pub domain: String,
    bin: PathBuf,
    running: bool,
}

/// One message of `postqueue -j`.
#[derive(Clone, Debug)]
pub struct QueuedMessage {
    /// `active`, `deferred`, `hold`, `incoming`, `maildrop`.
    pub queue_name: String,
    pub queue_id: String,
    pub sender: String,
    /// Recipient and its delay reason (when deferred).
    pub recipients: Vec<(String, Option<String>)>,
}

fn is_root() -> bool {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() == 0 }
}

/// A uid/gid for virtual(8) delivery: `nobody`, as Postfix refuses to deliver as root.
fn nobody() -> (u32, u32) {
    let name = std::ffi::CString::new("nobody").unwrap();
    // SAFETY: getpwnam with a valid C string; the result is read at once.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        (65534, 65534)
    } else {
        // SAFETY: non-null pointer returned by getpwnam.
        unsafe { ((*pw).pw_uid, (*pw).pw_gid) }
    }
}

fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
}

fn postfix_uid_gid() -> Option<(u32, u32)> {
    let name = std::ffi::CString::new("postfix").unwrap();
    // SAFETY: as in `nobody`.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        None
    } else {
        // SAFETY: non-null pointer returned by getpwnam.
        Some(unsafe { ((*pw).pw_uid, (*pw).pw_gid) })
    }
}

/// Finds a Postfix program (in `/usr/sbin` even when PATH lacks it); missing: `peer`'s rule.
fn postfix_tool(name: &str) -> Option<PathBuf> {
    let sbin = Path::new("/usr/sbin").join(name);
    if sbin.is_file() {
        return Some(sbin);
    }
    peer(name)
}

impl Postfix {
    /// Writes the configuration, starts the instance and waits until smtpd accepts
    /// connections. `None` (with a loud note) when Postfix cannot run here.
    pub fn start(opts: PostfixOptions) -> Option<Postfix> {
        let bin = postfix_tool("postfix")?;
        for tool in ["postqueue", "sendmail", "postconf"] {
            postfix_tool(tool)?;
        }
        let Some((pf_uid, pf_gid)) = postfix_uid_gid() else {
            let msg = "PEER TOOL MISSING: user `postfix` does not exist; the Postfix test did NOT run (install postfix, or run .ci/run)";
            assert!(!in_ci(), "{msg}");
            eprintln!("\n*** {msg} ***\n");
            return None;
        };
        if !is_root() {
            let msg = "PEER TOOL UNUSABLE: a private Postfix instance needs root; the Postfix test did NOT run";
            assert!(!in_ci(), "{msg}");
            eprintln!("\n*** {msg} ***\n");
            return None;
        }
        let tmp = tempfile::Builder::new()
            .prefix("mailflow-postfix-")
            .tempdir()
            .expect("temp dir");
        let root = tmp.path().to_path_buf();
        // Daemons that dropped privileges (virtual as nobody, postlogd) must reach below.
        set_mode(&root, 0o755);
        let config_dir = root.join("etc");
        let queue_dir = root.join("queue");
        let data_dir = root.join("data");
        let mail_dir = root.join("mail");
        let log_file = root.join("maillog");
        for d in [&config_dir, &queue_dir, &data_dir, &mail_dir] {
            std::fs::create_dir(d).expect("instance dir");
            set_mode(d, 0o755);
        }
        // The queue directory belongs to root (Postfix creates its subdirectories owned by
        // postfix); the data directory to postfix; Maildirs to the delivery uid.
        chown(&data_dir, pf_uid, pf_gid);
        let (vuid, vgid) = nobody();
        chown(&mail_dir, vuid, vgid);
        let port = opts.smtpd_port.unwrap_or_else(free_port);

        // TLS material is copied into the instance (smtpd and smtp read it as root before
        // dropping privileges, but the relay's own data directory is private).
        let tls_dir = config_dir.join("tls");
        std::fs::create_dir(&tls_dir).unwrap();
        let copy = |src: &Path, name: &str| -> String {
            let dst = tls_dir.join(name);
            std::fs::copy(src, &dst).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
            dst.to_str().unwrap().to_string()
        };

        let mut mailboxes = opts.mailboxes.clone();
        if !mailboxes.iter().any(|m| m == "postmaster") {
            mailboxes.push("postmaster".into());
        }
        let vmailbox = config_dir.join("vmailbox");
        std::fs::write(
            &vmailbox,
            mailboxes
                .iter()
                .map(|m| format!("{m}@{} {m}/\n", opts.domain))
                .collect::<String>(),
        )
        .unwrap();

        let s = |p: &Path| p.to_str().unwrap().to_string();
        let mut main: Vec<(String, String)> = vec![
            ("compatibility_level", "3.6".to_string()),
            ("config_directory", s(&config_dir)),
            ("queue_directory", s(&queue_dir)),
            ("data_directory", s(&data_dir)),
            ("maillog_file", s(&log_file)),
            ("maillog_file_prefixes", s(&root)),
            ("myhostname", opts.hostname.clone()),
            ("mydomain", opts.domain.clone()),
            ("myorigin", opts.domain.clone()),
            ("mydestination", String::new()),
            ("inet_interfaces", "127.0.0.1".into()),
            ("inet_protocols", "ipv4".into()),
            ("mynetworks", "127.0.0.0/8".into()),
            ("alias_maps", String::new()),
            ("alias_database", String::new()),
            ("local_recipient_maps", String::new()),
            ("biff", "no".into()),
            ("smtpd_banner", "$myhostname ESMTP Postfix".into()),
            (
                "smtpd_relay_restrictions",
                "permit_mynetworks, reject_unauth_destination".into(),
            ),
            // Loopback only: no DNS, and nothing but the relay host as next hop.
            ("smtp_dns_support_level", "disabled".into()),
            ("smtp_host_lookup", "native".into()),
            (
                "relayhost",
                opts.relay_to
                    .map(|a| format!("[{}]:{}", a.ip(), a.port()))
                    .unwrap_or_else(|| "[127.0.0.1]:9".into()),
            ),
            ("virtual_mailbox_domains", opts.domain.clone()),
            ("virtual_mailbox_base", s(&mail_dir)),
            ("virtual_mailbox_maps", format!("texthash:{}", s(&vmailbox))),
            ("virtual_uid_maps", format!("static:{vuid}")),
            ("virtual_gid_maps", format!("static:{vgid}")),
            // Retry in seconds, not minutes.
            ("queue_run_delay", "1s".into()),
            ("minimal_backoff_time", "1s".into()),
            ("maximal_backoff_time", "2s".into()),
            ("smtp_connect_timeout", "10s".into()),
            ("smtpd_tls_loglevel", "1".into()),
            ("smtp_tls_loglevel", "1".into()),
            ("smtpd_tls_received_header", "yes".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let mut set = |k: &str, v: String| main.push((k.to_string(), v));
        match &opts.server_tls {
            None => set("smtpd_tls_security_level", "none".into()),
            Some(t) => {
                set("smtpd_tls_security_level", t.level.word().into());
                if let Some(c) = &t.cert {
                    set("smtpd_tls_cert_file", copy(&c.cert, "smtpd.crt"));
                    set("smtpd_tls_key_file", copy(&c.key, "smtpd.key"));
                }
                if let Some(ca) = &t.ca_file {
                    set("smtpd_tls_CAfile", copy(ca, "smtpd-ca.pem"));
                }
                set("smtpd_tls_ask_ccert", yes_no(t.ask_ccert || t.req_ccert));
                set("smtpd_tls_req_ccert", yes_no(t.req_ccert));
            }
        }
        match &opts.client_tls {
            None => set("smtp_tls_security_level", "none".into()),
            Some(t) => {
                set("smtp_tls_security_level", t.level.word().into());
                if let Some(c) = &t.cert {
                    set("smtp_tls_cert_file", copy(&c.cert, "smtp.crt"));
                    set("smtp_tls_key_file", copy(&c.key, "smtp.key"));
                }
                if let Some(ca) = &t.ca_file {
                    set("smtp_tls_CAfile", copy(ca, "smtp-ca.pem"));
                }
                if let Some(m) = &t.cert_match {
                    set("smtp_tls_secure_cert_match", m.clone());
                    set("smtp_tls_verify_cert_match", m.clone());
                }
            }
        }
        main.extend(opts.extra.iter().cloned());
        let main_cf: String = main.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
        std::fs::write(config_dir.join("main.cf"), main_cf).unwrap();
        std::fs::write(config_dir.join("master.cf"), master_cf(port)).unwrap();

        let mut pf = Postfix {
            tmp: Some(tmp),
            config_dir,
            queue_dir,
            mail_dir,
            log_file,
            port,
            domain: opts.domain.clone(),
            bin,
            running: false,
        };
        let out = pf.postfix(&["start"]);
        // Stop on drop even when the start half failed.
        pf.running = true;
        assert!(
            out.status.success(),
            "postfix start failed:\n{}{}\nlog:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            pf.log()
        );
        let addr = pf.addr();
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err() {
            assert!(
                Instant::now() < deadline,
                "Postfix does not listen on {addr}; log:\n{}",
                pf.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(pf)
    }

    /// Where smtpd listens.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The instance's root folder.
    pub fn dir(&self) -> &Path {
        self.tmp.as_ref().expect("instance folder").path()
    }

    fn postfix(&self, args: &[&str]) -> Output {
        Command::new(&self.bin)
            .arg("-c")
            .arg(&self.config_dir)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("postfix runs")
    }

    fn tool(&self, name: &str, args: &[&str]) -> String {
        let out = Command::new(postfix_tool(name).expect(name))
            .arg("-c")
            .arg(&self.config_dir)
            .args(args)
            .env("MAIL_CONFIG", &self.config_dir)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{name} runs: {e}"));
        assert!(
            out.status.success(),
            "{name} {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Submits a message with Postfix's `sendmail` (through its pickup service).
    pub fn inject(&self, from: &str, to: &[&str], body: &str) {
        self.inject_with(&[], from, to, body)
    }

    /// [`Postfix::inject`] with more `sendmail` options first (`-N success`, `-V envid`, ...).
    pub fn inject_with(&self, options: &[&str], from: &str, to: &[&str], body: &str) {
        use std::io::Write;
        let mut child = Command::new(postfix_tool("sendmail").expect("sendmail"))
            .env("MAIL_CONFIG", &self.config_dir)
            .args(options)
            .arg("-i")
            .arg("-f")
            .arg(from)
            .arg("--")
            .args(to)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sendmail runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(body.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "sendmail failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Changes `main.cf` parameters and reloads the running instance.
    pub fn reconfigure(&self, params: &[(&str, &str)]) {
        let args: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut all = vec!["-e"];
        all.extend(args.iter().map(String::as_str));
        self.tool("postconf", &all);
        let out = self.postfix(&["reload"]);
        assert!(out.status.success(), "postfix reload failed");
    }

    /// Copies a file into the instance's TLS folder; returns the new path (for
    /// [`Postfix::reconfigure`]).
    pub fn install_file(&self, src: &Path, name: &str) -> String {
        let dst = self.config_dir.join("tls").join(name);
        std::fs::copy(src, &dst).unwrap();
        dst.to_str().unwrap().to_string()
    }

    /// `postqueue -j`: every message in the queue.
    pub fn queue(&self) -> Vec<QueuedMessage> {
        self.tool("postqueue", &["-j"])
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| parse_postqueue_line(l).unwrap_or_else(|e| panic!("postqueue -j: {e}: {l}")))
            .collect()
    }

    pub fn queue_ids(&self) -> Vec<String> {
        self.queue().into_iter().map(|m| m.queue_id).collect()
    }

    /// `mailq` as text (for failure messages).
    pub fn mailq(&self) -> String {
        self.tool("postqueue", &["-p"])
    }

    /// The delay reason of the first deferred recipient, if any, whichever queue now holds its
    /// message: Postfix keeps the reason while it moves a deferred message through `incoming`
    /// and `active` for its next try (a flush, or its own retry a second later here), so
    /// looking in `deferred` alone misses it for as long as the message is on its way.
    pub fn deferred_reason(&self) -> Option<String> {
        self.queue()
            .into_iter()
            .flat_map(|m| m.recipients)
            .find_map(|(_, reason)| reason)
    }

    /// Waits until a deferred recipient's reason satisfies `ok`; returns the reason.
    pub fn wait_deferred(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Some(r) = self.deferred_reason().filter(|r| ok(r)) {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for a deferral ({what}) in {}; mailq:\n{}\nlog:\n{}",
                self.dir().display(),
                self.mailq(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `postqueue -f`: retry queued mail now. A message being delivered at that moment is
    /// skipped (`still being delivered`), so a test that waits for a delivery flushes again
    /// while it waits; deferred mail is also retried by the instance itself within two seconds
    /// (see the backoff times in [`Postfix::start`]).
    pub fn flush(&self) {
        self.tool("postqueue", &["-f"]);
    }

    /// The instance's maillog.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_file).unwrap_or_default()
    }

    /// Waits until the maillog has a line containing every one of `parts`; returns the line.
    pub fn wait_log(&self, parts: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let log = self.log();
            if let Some(l) = log.lines().find(|l| parts.iter().all(|p| l.contains(p))) {
                return l.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for a log line with {parts:?}; log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Messages delivered to `<local>@<domain>` (Maildir `new/`), oldest first.
    pub fn mailbox(&self, local: &str) -> Vec<String> {
        texts_in(&self.mail_dir.join(local).join("new"))
    }

    pub fn wait_mailbox(&self, local: &str, count: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let got = self.mailbox(local);
            if got.len() >= count {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {count} message(s) for {local}@{}; log:\n{}",
                self.domain,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the instance and waits until its master daemon is gone.
    pub fn stop(&mut self) {
        if !self.running {
            return;
        }
        self.running = false;
        let pid = std::fs::read_to_string(self.queue_dir.join("pid/master.pid"))
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok());
        let _ = self.postfix(&["stop"]);
        if let Some(pid) = pid {
            let deadline = Instant::now() + Duration::from_secs(10);
            // SAFETY: signal 0 only checks that the process (our master daemon) exists.
            while unsafe { libc::kill(pid, 0) } == 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        self.stop();
        if std::env::var_os("MAILFLOW_KEEP_POSTFIX").is_some()
            && let Some(tmp) = self.tmp.take()
        {
            eprintln!("Postfix instance kept in {}", tmp.keep().display());
        }
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The services a private instance needs; nothing chrooted (Debian's default chroots smtpd,
/// which would need copies of system files inside the queue directory).
fn master_cf(port: u16) -> String {
    format!(
        "\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n - n 60    1 pickup
cleanup   unix  n - n -     0 cleanup
qmgr      unix  n - n 300   1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n -     - trivial-rewrite
bounce    unix  - - n -     0 bounce
defer     unix  - - n -     0 bounce
trace     unix  - - n -     0 bounce
verify    unix  - - n -     1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -     - proxymap
smtp      unix  - - n -     - smtp
relay     unix  - - n -     - smtp
showq     unix  n - n -     - showq
error     unix  - - n -     - error
retry     unix  - - n -     - error
discard   unix  - - n -     - discard
virtual   unix  - n n -     - virtual
anvil     unix  - - n -     1 anvil
scache    unix  - - n -     1 scache
postlog   unix-dgram n - n - 1 postlogd
"
    )
}

/// One line of `postqueue -j` (postqueue(1): one JSON object per message); fields the tests
/// do not use are ignored.
#[derive(serde::Deserialize)]
struct PostqueueLine {
    queue_name: String,
    queue_id: String,
    sender: String,
    recipients: Vec<PostqueueRecipient>,
}

#[derive(serde::Deserialize)]
struct PostqueueRecipient {
    address: String,
    #[serde(default)]
    delay_reason: Option<String>,
}

impl From<PostqueueLine> for QueuedMessage {
    fn from(l: PostqueueLine) -> QueuedMessage {
        QueuedMessage {
            queue_name: l.queue_name,
            queue_id: l.queue_id,
            sender: l.sender,
            recipients: l
                .recipients
                .into_iter()
                .map(|r| (r.address, r.delay_reason))
                .collect(),
        }
    }
}

/// Reads one line of `postqueue -j` (public for the test that checks it in
/// `postfix_interop`).
pub fn parse_postqueue_line(line: &str) -> Result<QueuedMessage, serde_json::Error> {
    serde_json::from_str::<PostqueueLine>(line).map(QueuedMessage::from)
}
