//! Shared helpers: run the mailflow binary against a temporary data directory, hash a whole
//! tree (to prove a refused operation changed nothing), and find the peer tools (openssl).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A temporary data directory plus a scratch folder for files.
pub struct Org {
    pub tmp: tempfile::TempDir,
    pub dir: PathBuf,
}

/// The DNS server of every test organization unless a test gives its own: a loopback port
/// where nothing listens, so an MX lookup fails at once and no query leaves the machine.
pub const NO_DNS: &str = "127.0.0.1:9";

impl Org {
    /// A new, initialized organization.
    pub fn new(fqdn: &str, domain: &str) -> Org {
        let org = Org::empty();
        org.ok(&[
            "init", "--fqdn", fqdn, "--domain", domain, "--org", "Test Org",
        ]);
        org.ok(&["transport", "set", "--dns-servers", NO_DNS]);
        org
    }

    /// A data directory that does not exist yet.
    pub fn empty() -> Org {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("data");
        Org { tmp, dir }
    }

    /// A path in the scratch folder (outside the data directory).
    pub fn file(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_stdin(args, None)
    }

    pub fn run_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailflow"));
        cmd.arg("--data-dir").arg(&self.dir).args(args);
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("mailflow runs");
        if let Some(text) = stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        child.wait_with_output().expect("mailflow finishes")
    }

    /// Runs and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "mailflow {args:?} failed:\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs and expects failure with a one-line message; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !out.status.success(),
            "mailflow {args:?} should have failed:\nstdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "one-line error expected, got:\n{err}"
        );
        assert!(err.starts_with("mailflow: "), "{err}");
        err
    }

    /// SHA-256 of every file (and the mode of every entry) below the data directory.
    pub fn tree_hash(&self) -> BTreeMap<String, String> {
        tree_hash(&self.dir)
    }

    /// The thumbprint of the certificate list row whose subject contains `subject_part`.
    pub fn thumbprint_of(&self, subject_part: &str) -> String {
        let list = self.ok(&["cert", "list"]);
        list.lines()
            .find(|l| l.contains(subject_part) && !l.contains("PendingRequest"))
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or_else(|| panic!("no certificate with {subject_part} in:\n{list}"))
            .to_string()
    }
}

pub fn tree_hash(root: &Path) -> BTreeMap<String, String> {
    use sha2_free::sha256_hex;
    let mut out = BTreeMap::new();
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o7777;
            if meta.is_dir() {
                out.insert(rel.clone() + "/", format!("dir {mode:o}"));
                walk(root, &p, out);
            } else {
                out.insert(
                    rel,
                    format!("{mode:o} {}", sha256_hex(&std::fs::read(&p).unwrap())),
                );
            }
        }
    }
    if root.exists() {
        walk(root, root, &mut out);
    }
    out
}

/// SHA-256 through the library's own helper (aws-lc-rs), so tests need no extra crate.
mod sha2_free {
    pub fn sha256_hex(b: &[u8]) -> String {
        mailflow::pki::digest::sha256_hex(b)
    }
}

/// Whether CI demands every peer tool.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A loopback port that was free a moment ago (for a listener the test starts, or for a
/// next hop where nothing listens).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Finds a peer tool. Missing: loud note and `None` locally; a failure in CI.
pub fn peer(tool: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(tool))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let msg = format!(
            "PEER TOOL MISSING: `{tool}` is not installed; the test that needs it did NOT run (install it, or run .ci/run)"
        );
        if in_ci() {
            panic!("{msg}");
        }
        eprintln!("\n*** {msg} ***\n");
    }
    found
}

/// Runs openssl with arguments; panics with its output on failure.
pub fn openssl(args: &[&str]) -> String {
    let bin = peer("openssl").expect("openssl");
    let out = Command::new(bin).args(args).output().expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    transcript(&out)
}

/// The TLSA association data (RFC 6698) openssl computes for certificate `der`: selector 1 (the public key) or 0 (the
/// whole certificate), matching type 1 (SHA2-256).
pub fn tlsa_sha256(der: &[u8], selector: u8) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("scratch directory");
    let cert = dir.path().join("cert.der");
    std::fs::write(&cert, der).expect("certificate file");
    let selected = if selector == 1 {
        let pem = dir.path().join("key.pem");
        let spki = dir.path().join("spki.der");
        openssl(&[
            "x509",
            "-inform",
            "DER",
            "-in",
            p(&cert),
            "-noout",
            "-pubkey",
            "-out",
            p(&pem),
        ]);
        openssl(&[
            "pkey",
            "-pubin",
            "-in",
            p(&pem),
            "-outform",
            "DER",
            "-out",
            p(&spki),
        ]);
        spki
    } else {
        cert
    };
    let line = openssl(&["dgst", "-sha256", "-r", p(&selected)]);
    let hex = line.split_whitespace().next().expect("a digest");
    hex::decode(hex).expect("hexadecimal digest")
}

/// What a finished peer tool printed: its standard output, then its standard error.
pub fn transcript(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Has openssl make a self-signed certificate `crt` with a new unencrypted key `key`: `new_key`
/// is `rsa:2048` or a curve name such as `P-256`; `extra` adds arguments (`-addext ...`).
pub fn openssl_self_signed(
    key: &Path,
    crt: &Path,
    new_key: &str,
    subj: &str,
    days: u32,
    extra: &[&str],
) {
    let curve = format!("ec_paramgen_curve:{new_key}");
    let days = days.to_string();
    let mut args = vec!["req", "-x509", "-newkey"];
    if new_key.starts_with("P-") {
        args.extend(["ec", "-pkeyopt", &curve]);
    } else {
        args.push(new_key);
    }
    args.extend([
        "-nodes",
        "-keyout",
        p(key),
        "-out",
        p(crt),
        "-days",
        &days,
        "-subj",
        subj,
    ]);
    args.extend(extra);
    openssl(&args);
}

/// The text of every file in a folder, in the order of their names; none when the folder is
/// missing (a file that cannot be read counts as empty).
pub fn texts_in(dir: &Path) -> Vec<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap_or_default())
        .collect()
}

pub fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Runs a command that must fail with `expect` in its one-line message and change nothing in
/// the data directory (hashed before and after).
pub fn refused(org: &Org, args: &[&str], expect: &str) {
    let before = org.tree_hash();
    let err = org.fails(args);
    assert!(
        err.contains(expect),
        "mailflow {args:?}: expected '{expect}' in: {err}"
    );
    assert_eq!(
        org.tree_hash(),
        before,
        "mailflow {args:?} changed the data directory"
    );
}
