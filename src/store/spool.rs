//! The durable message queue: every message we acknowledged with `250` after DATA, with its
//! envelope and its delivery state, until it is delivered, bounced or quarantined.
//!
//! # On disk
//!
//! ```text
//! spool/                      (all folders mode 0700, all files mode 0600)
//!   incoming/<id>.tmp         a message being written; never acknowledged
//!   queue/<id>.msg            one accepted message: header line, envelope, body
//!   queue/<id>.state          its delivery state (RON); absent = nothing tried yet
//!   quarantine/<id>.msg       damaged files moved out of the queue (+ <id>.state),
//!   quarantine/<id>.reason    and why, in one line
//! ```
//!
//! A `.msg` file is
//!
//! ```text
//! MFQ1 <envelope-length> <body-length> <envelope-sha256> <body-sha256>\n
//! <envelope as RON, envelope-length octets><body, body-length octets, exactly as received>
//! ```
//!
//! `MFQ1` is the magic and format version; the lengths are decimal octet counts; the checksums are
//! SHA-256 in upper-case hex. Nothing follows the body, so the file length must be exactly header +
//! envelope + body: a file cut anywhere is detected by its length alone, without reading the body.
//! [`Spool::load`] reads only the header and the envelope (and checks the envelope checksum), so
//! loading 10 000 messages reads a few KB each; the body checksum is checked by
//! [`Spool::read_body`], which returns [`StoreError::Corrupt`] on a mismatch so the caller can
//! [`Spool::quarantine`] the message; an error of the system (EMFILE, EIO) is `Io`, never
//! `Corrupt`, and is no reason to quarantine. [`Spool::quarantined`] lists the quarantine and
//! [`Spool::release`] moves a message back into the queue.
//!
//! # Crash safety
//!
//! [`Spool::accept`] writes `incoming/<id>.tmp` (created new, 0600), fsyncs its data, renames it to
//! `queue/<id>.msg` and fsyncs the `queue/` folder; only then does it return `Ok`, and only then does
//! the SMTP session answer `250`. A crash before the rename leaves at most a `.tmp`, which was never
//! acknowledged and is deleted at the next [`Spool::load`]. The rename is atomic, so `queue/` holds
//! either no file for the message or the complete, fsynced one; the folder fsync makes the rename
//! itself survive a power loss. If the folder fsync fails, the file is removed again and the error
//! returned (the client retries; it was never acknowledged).
//!
//! The delivery state is replaced atomically ([`super::atomic::write_atomic`]: temporary file,
//! fsync, rename, folder fsync), so a reader sees the previous state or the new one. A leftover
//! temporary state file is deleted at load (the previous state stands). Removing a delivered message
//! deletes `.msg` first, then `.state`: a crash in between leaves an orphan `.state`, which load
//! deletes; the other order could resurrect a delivered message with a fresh state and deliver it
//! twice. Quarantine moves `.msg` before `.state` for the same reason; an orphan `.state` whose
//! `.msg` is already in the quarantine joins it there.
//!
//! Methods for one message id must not run concurrently with each other (the engine owns each
//! message in one task at a time); different ids are independent.

use super::atomic::{PRIVATE, ensure_dir, is_temp_name, remove_if_exists, sync_dir, write_atomic};
use super::error::{Result, StoreError};
use crate::pki::digest::sha256_hex;
use crate::smtp::envelope::Envelope;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Magic and format version at the start of every `.msg` file.
const MAGIC: &str = "MFQ1";
/// The header line is at most this long (magic, two 20-digit numbers, two 64-digit hashes).
const MAX_HEADER: usize = 256;
/// First read of a `.msg` file: the header and, usually, the whole envelope.
const FIRST_READ: usize = 8192;
/// Longest message id accepted.
const MAX_ID: usize = 64;
const DIR_MODE: u32 = 0o700;

/// The durable queue in one folder (`DataDir::spool()`).
#[derive(Clone, Debug)]
pub struct Spool {
    root: PathBuf,
}

/// Where one recipient stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecipientStatus {
    /// Not delivered yet.
    Pending,
    /// Delivered; `time` in unix ms; `response` is the remote's reply or "delivered to mailbox".
    Delivered { time: i64, response: String },
    /// Failed permanently (a non-delivery report is sent or due); `time` in unix ms.
    Failed { time: i64, response: String },
}

/// One recipient of a queued message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientState {
    pub address: String,
    pub status: RecipientStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// Unix ms of this recipient's next attempt (each next hop keeps its own retry time);
    /// 0 = now. Absent in states written before it existed: the message's time applies.
    #[serde(default)]
    pub next_attempt: i64,
}

/// The delivery progress of a queued message, saved beside it as `<id>.state`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryState {
    pub recipients: Vec<RecipientState>,
    /// Delivery attempts for the message.
    pub attempts: u32,
    /// Unix ms of the earliest next attempt of a pending recipient; 0 = now.
    pub next_attempt: i64,
    pub last_error: Option<String>,
    /// A delay DSN was sent.
    pub delay_notified: bool,
    /// The administrator suspended the message.
    pub suspended: bool,
    /// Notices (NDRs, delay notices) decided but not yet stored in the queue as messages of
    /// their own. The message stays queued until each is on disk, so a notice that cannot be
    /// stored (disk full) is retried, never lost with its original. Absent in states written
    /// before it existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<PendingNotice>,
}

/// A delivery status notification still to be stored (see [`DeliveryState::notices`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingNotice {
    /// Numbers the notices of one message (the notice's own message id is derived from it, so
    /// a notice stored twice after a crash is refused as a duplicate).
    pub seq: u32,
    pub kind: crate::smtp::dsn::DsnKind,
    /// Each recipient the notice is about, with the reply that explains it.
    pub recipients: Vec<(String, String)>,
    /// Attempts to store it that failed.
    pub attempts: u32,
    /// Unix ms of the next attempt; 0 = now.
    pub next_attempt: i64,
    pub last_error: Option<String>,
}

impl DeliveryState {
    /// A fresh state: every recipient pending, nothing tried, due now.
    pub fn new(recipients: &[String]) -> Self {
        DeliveryState {
            recipients: recipients
                .iter()
                .map(|a| RecipientState {
                    address: a.clone(),
                    status: RecipientStatus::Pending,
                    attempts: 0,
                    last_error: None,
                    next_attempt: 0,
                })
                .collect(),
            attempts: 0,
            next_attempt: 0,
            last_error: None,
            delay_notified: false,
            suspended: false,
            notices: Vec::new(),
        }
    }

    /// The recipients still to deliver.
    pub fn pending(&self) -> impl Iterator<Item = &RecipientState> {
        self.recipients
            .iter()
            .filter(|r| r.status == RecipientStatus::Pending)
    }

    /// No recipient is pending and every notice is stored: the message can be removed.
    pub fn is_done(&self) -> bool {
        self.pending().next().is_none() && self.notices.is_empty()
    }
}

/// A message of the queue as loaded: its envelope and latest delivery state (the body stays on
/// disk; see [`Spool::read_body`]).
#[derive(Clone, Debug)]
pub struct QueuedMessage {
    pub envelope: Envelope,
    pub state: DeliveryState,
}

/// What [`Spool::load`] found.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// The queue, oldest first (by `received`, then id).
    pub messages: Vec<QueuedMessage>,
    /// Files moved to the quarantine: their new path and why.
    pub quarantined: Vec<(PathBuf, String)>,
}

/// One item of the quarantine, as listed for the administrator.
#[derive(Clone, Debug)]
pub struct QuarantineEntry {
    /// The name to release it by: the message id, with `.1`, `.2`, … when that id was
    /// quarantined before (or the name of an unexpected file).
    pub name: String,
    /// Why it was quarantined (its `.reason` file).
    pub reason: String,
    /// When (unix ms; the time of the `.reason` file).
    pub since: i64,
    /// The size of the quarantined file in octets.
    pub size: u64,
    /// The envelope, when it can still be read (not for a damaged header or envelope).
    pub envelope: Option<Envelope>,
    /// The quarantined file.
    pub path: PathBuf,
}

/// The envelope of a quarantined `.msg` (header and envelope checksum checked); a damaged one
/// is [`StoreError::Corrupt`].
fn read_quarantined_envelope(path: &Path) -> Result<Envelope> {
    let corrupt = |why: String| StoreError::Corrupt {
        path: path.to_path_buf(),
        why: format!("cannot be released: {why}"),
    };
    let (mut file, header, first) = open_msg(path)
        .map_err(|e| StoreError::io(path, e))?
        .map_err(corrupt)?;
    read_envelope(&mut file, &header, &first)
        .map_err(|e| StoreError::io(path, e))?
        .map_err(corrupt)
}

/// A file judged: `Err` is the reason it is damaged (the quarantine reason).
type Verdict<T> = std::result::Result<T, String>;

/// The parsed header line of a `.msg` file.
#[derive(Debug)]
struct Header {
    header_len: u64,
    envelope_len: u64,
    body_len: u64,
    envelope_sum: String,
    body_sum: String,
}

impl Header {
    fn body_offset(&self) -> u64 {
        self.header_len + self.envelope_len
    }
}

/// Checks a message id (`[0-9a-f-]`, 1 to 64 characters), so every path stays inside the spool.
/// A bad id is the caller's fault: `Io` with kind `InvalidInput`.
fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(StoreError::io(
            PathBuf::from(id),
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "not a valid message id (expected 1 to {MAX_ID} characters of 0-9, a-f and -)"
                ),
            ),
        ))
    }
}

fn is_valid_id(id: &str) -> bool {
    check_id(id).is_ok()
}

/// Reads until `buf` is full or the file ends; returns the count read.
fn read_up_to(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Parses the header line from the first bytes of a file `file_len` octets long and checks the
/// lengths against the file's. The error is the quarantine reason.
fn parse_header(first: &[u8], file_len: u64) -> Verdict<Header> {
    if first.is_empty() {
        return Err("empty file".into());
    }
    let magic_sp = [MAGIC.as_bytes(), b" "].concat();
    if first.len() < magic_sp.len() && magic_sp.starts_with(first) {
        return Err(format!("truncated in the header line ({file_len} bytes)"));
    }
    if !first.starts_with(b"MFQ") {
        return Err("wrong magic: not a Mailflow spool file".into());
    }
    if !first.starts_with(&magic_sp) {
        let end = first
            .iter()
            .take(16)
            .position(|&b| b == b' ' || b == b'\n')
            .unwrap_or(first.len().min(16));
        return Err(format!(
            "unsupported format version {:?} (this Mailflow reads {MAGIC})",
            String::from_utf8_lossy(&first[..end])
        ));
    }
    let window = &first[..first.len().min(MAX_HEADER)];
    let Some(nl) = window.iter().position(|&b| b == b'\n') else {
        if (first.len() as u64) == file_len && file_len < MAX_HEADER as u64 {
            return Err(format!("truncated in the header line ({file_len} bytes)"));
        }
        return Err(format!(
            "malformed header line: no end of line in the first {MAX_HEADER} bytes"
        ));
    };
    let line = std::str::from_utf8(&first[..nl])
        .map_err(|_| "malformed header line: not ASCII".to_string())?;
    let fields: Vec<&str> = line.split(' ').collect();
    let [_, env_len, body_len, env_sum, body_sum] = fields.as_slice() else {
        return Err(format!(
            "malformed header line: {} fields instead of 5",
            fields.len()
        ));
    };
    let number = |what: &str, s: &str| -> Verdict<u64> {
        if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("malformed header line: bad {what} length {s:?}"));
        }
        s.parse::<u64>()
            .map_err(|_| format!("malformed header line: bad {what} length {s:?}"))
    };
    let envelope_len = number("envelope", env_len)?;
    let body_len = number("body", body_len)?;
    for (what, sum) in [("envelope", env_sum), ("body", body_sum)] {
        if !is_sha256_hex(sum) {
            return Err(format!("malformed header line: bad {what} checksum"));
        }
    }
    let header = Header {
        header_len: nl as u64 + 1,
        envelope_len,
        body_len,
        envelope_sum: env_sum.to_ascii_uppercase(),
        body_sum: body_sum.to_ascii_uppercase(),
    };
    let body_start = header
        .header_len
        .checked_add(envelope_len)
        .ok_or("malformed header line: envelope length out of range")?;
    let expected = body_start
        .checked_add(body_len)
        .ok_or("malformed header line: body length out of range")?;
    if file_len < body_start {
        let have = file_len.saturating_sub(header.header_len);
        return Err(format!(
            "truncated in the envelope: envelope has {have} of {envelope_len} bytes"
        ));
    }
    if file_len < expected {
        let have = file_len - body_start;
        return Err(format!("truncated: body has {have} of {body_len} bytes"));
    }
    if file_len > expected {
        return Err(format!(
            "{} unexpected bytes after the body (expected {expected} bytes in all, found {file_len})",
            file_len - expected
        ));
    }
    Ok(header)
}

/// Opens a `.msg`, reads the header and the first bytes after it.
/// Outer error: I/O; inner error: the file is damaged (the reason).
fn open_msg(path: &Path) -> io::Result<Verdict<(File, Header, Vec<u8>)>> {
    let mut file = File::open(path)?;
    let file_len = file.metadata()?.len();
    let mut first = vec![0u8; FIRST_READ.min(file_len as usize)];
    let n = read_up_to(&mut file, &mut first)?;
    first.truncate(n);
    // A file that shrank or grew while we read it is judged by what we could read.
    let file_len = if (n as u64) < file_len.min(FIRST_READ as u64) {
        n as u64
    } else {
        file_len
    };
    Ok(parse_header(&first, file_len).map(|h| (file, h, first)))
}

/// Reads the envelope of an opened `.msg`: checks its checksum and parses it.
fn read_envelope(file: &mut File, header: &Header, first: &[u8]) -> io::Result<Verdict<Envelope>> {
    let start = header.header_len as usize;
    let len = header.envelope_len as usize; // ≤ file length, checked by parse_header
    let mut bytes = Vec::with_capacity(len);
    let have = first.len().saturating_sub(start).min(len);
    if have > 0 {
        bytes.extend_from_slice(&first[start..start + have]);
    }
    if have < len {
        bytes.resize(len, 0);
        if let Err(e) = file.read_exact(&mut bytes[have..]) {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                return Ok(Err(format!(
                    "truncated in the envelope while reading ({len} bytes expected)"
                )));
            }
            return Err(e);
        }
    }
    if sha256_hex(&bytes) != header.envelope_sum {
        return Ok(Err(
            "envelope checksum mismatch (bit rot or a damaged write)".into(),
        ));
    }
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Ok(Err("envelope is not UTF-8".into()));
    };
    Ok(ron::from_str::<Envelope>(text).map_err(|e| format!("envelope does not parse: {e}")))
}

impl Spool {
    /// Opens the spool in `root`, creating it and its folders (mode 0700) when missing.
    pub fn open(root: PathBuf) -> Result<Spool> {
        let spool = Spool { root };
        // New folders survive a crash before anything is acknowledged inside them.
        for dir in [
            &spool.root,
            &spool.incoming(),
            &spool.queue(),
            &spool.quarantine_dir(),
        ] {
            ensure_dir(dir, DIR_MODE)?;
        }
        Ok(spool)
    }

    /// The spool folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn incoming(&self) -> PathBuf {
        self.root.join("incoming")
    }
    fn queue(&self) -> PathBuf {
        self.root.join("queue")
    }
    fn quarantine_dir(&self) -> PathBuf {
        self.root.join("quarantine")
    }
    fn msg_path(&self, id: &str) -> PathBuf {
        self.queue().join(format!("{id}.msg"))
    }
    fn state_path(&self, id: &str) -> PathBuf {
        self.queue().join(format!("{id}.state"))
    }

    /// Stores a message durably: when this returns `Ok`, the envelope and `body` are fsynced in
    /// the queue and survive a crash, so the session may answer `250`. One data fsync, one
    /// folder fsync. A message id already queued is refused.
    pub fn accept(&self, envelope: &Envelope, body: &[u8]) -> Result<()> {
        let id = envelope.id.as_str();
        check_id(id)?;
        let target = self.msg_path(id);
        if fs::symlink_metadata(&target).is_ok() {
            return Err(StoreError::io(
                &target,
                io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "a message with this id is already queued",
                ),
            ));
        }
        let env = ron::to_string(envelope).map_err(|e| StoreError::Corrupt {
            path: target.clone(),
            why: format!("the envelope cannot be written as RON: {e}"),
        })?;
        let mut head = format!(
            "{MAGIC} {} {} {} {}\n",
            env.len(),
            body.len(),
            sha256_hex(env.as_bytes()),
            sha256_hex(body)
        );
        head.push_str(&env);

        let tmp = self.incoming().join(format!("{id}.tmp"));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(PRIVATE)
            .open(&tmp)
            .map_err(|e| StoreError::io(&tmp, e))?;
        let written = (|| -> io::Result<()> {
            file.write_all(head.as_bytes())?;
            file.write_all(body)?;
            // fdatasync: a new file's length and blocks are data for this purpose.
            file.sync_data()
        })();
        drop(file);
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(StoreError::io(&tmp, e));
        }
        if let Err(e) = fs::rename(&tmp, &target) {
            let _ = fs::remove_file(&tmp);
            return Err(StoreError::io(&target, e));
        }
        let queue = self.queue();
        if let Err(e) = sync_dir(&queue) {
            // Not durable, so not acknowledged: take it back so a retry is not a duplicate.
            let _ = fs::remove_file(&target);
            return Err(StoreError::io(&queue, e));
        }
        Ok(())
    }

    /// Reads the whole queue: every message with its latest state, oldest first. Never-acknowledged
    /// leftovers are deleted, orphan states removed, and damaged files quarantined (each with a
    /// warning and an entry in the report) while the rest still loads. Bodies are not read.
    pub fn load(&self) -> Result<LoadReport> {
        let mut report = LoadReport::default();

        // 1. incoming/: messages that never got a 250.
        let incoming = self.incoming();
        for entry in fs::read_dir(&incoming).map_err(|e| StoreError::io(&incoming, e))? {
            let entry = entry.map_err(|e| StoreError::io(&incoming, e))?;
            let path = entry.path();
            if path.extension().is_some_and(|x| x == "tmp") {
                tracing::warn!(
                    "discarding {}: a message interrupted before it was acknowledged",
                    path.display()
                );
                remove_if_exists(&path)?;
            } else {
                tracing::warn!("ignoring unexpected file {} in the spool", path.display());
            }
        }

        // 2. queue/: sort names into messages, states and the rest.
        #[derive(Default)]
        struct Files {
            msg: bool,
            state: bool,
        }
        let queue = self.queue();
        let mut ids: BTreeMap<String, Files> = BTreeMap::new();
        for entry in fs::read_dir(&queue).map_err(|e| StoreError::io(&queue, e))? {
            let entry = entry.map_err(|e| StoreError::io(&queue, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if is_temp_name(&name) {
                // A state update interrupted before its rename; the previous state stands.
                tracing::warn!("discarding interrupted state update {}", path.display());
                remove_if_exists(&path)?;
                continue;
            }
            let regular = entry.file_type().is_ok_and(|t| t.is_file());
            let known = name
                .strip_suffix(".msg")
                .map(|id| (id, true))
                .or_else(|| name.strip_suffix(".state").map(|id| (id, false)));
            match known {
                Some((id, is_msg)) if regular && is_valid_id(id) => {
                    let files = ids.entry(id.to_string()).or_default();
                    if is_msg {
                        files.msg = true;
                    } else {
                        files.state = true;
                    }
                }
                _ => {
                    let why = if regular {
                        "unexpected file in the queue"
                    } else {
                        "not a regular file"
                    };
                    let to = self.quarantine_files(&name, &[(path, "")], why)?;
                    report.quarantined.push((to, why.to_string()));
                }
            }
        }

        // 3. each message.
        for (id, files) in ids {
            if !files.msg {
                self.orphan_state(&id)?;
                continue;
            }
            match self.load_one(&id, files.state)? {
                Ok(Some(m)) => report.messages.push(m),
                Ok(None) => {} // removed while we were reading
                Err(why) => {
                    let to = self.quarantine_message(&id, &why)?;
                    report.quarantined.push((to, why));
                }
            }
        }
        report.messages.sort_by(|a, b| {
            let (a, b) = (&a.envelope, &b.envelope);
            a.received.cmp(&b.received).then_with(|| a.id.cmp(&b.id))
        });
        Ok(report)
    }

    /// Reads one message's envelope and state. The inner `Err` is the quarantine reason (the
    /// file is damaged); the outer `Err` is an error of the system (EMFILE, EIO), which is no
    /// reason to quarantine anything: the load fails with it and the files stay where they are.
    fn load_one(&self, id: &str, has_state: bool) -> Result<Verdict<Option<QueuedMessage>>> {
        let path = self.msg_path(id);
        let (mut file, header, first) = match open_msg(&path) {
            Ok(Ok(r)) => r,
            Ok(Err(damaged)) => return Ok(Err(damaged)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Ok(None)),
            Err(e) => return Err(StoreError::io(&path, e)),
        };
        let envelope = match read_envelope(&mut file, &header, &first) {
            Ok(Ok(envelope)) => envelope,
            Ok(Err(damaged)) => return Ok(Err(damaged)),
            Err(e) => return Err(StoreError::io(&path, e)),
        };
        drop(file);
        if envelope.id != id {
            return Ok(Err(format!(
                "envelope id {:?} does not match the file name",
                envelope.id
            )));
        }
        let state = if has_state {
            let spath = self.state_path(id);
            match fs::read_to_string(&spath) {
                Ok(text) => match ron::from_str::<DeliveryState>(&text) {
                    Ok(state) => state,
                    Err(e) => {
                        return Ok(Err(format!(
                            "delivery state {id}.state does not parse: {e}"
                        )));
                    }
                },
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    DeliveryState::new(&envelope.recipients)
                }
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    return Ok(Err(format!("delivery state {id}.state is not text: {e}")));
                }
                Err(e) => return Err(StoreError::io(&spath, e)),
            }
        } else {
            DeliveryState::new(&envelope.recipients)
        };
        Ok(Ok(Some(QueuedMessage { envelope, state })))
    }

    /// A `.state` without its `.msg`: the message was removed (or quarantined) and the crash came
    /// before the state followed it.
    fn orphan_state(&self, id: &str) -> Result<()> {
        let path = self.state_path(id);
        let qdir = self.quarantine_dir();
        let qmsg = qdir.join(format!("{id}.msg"));
        let qstate = qdir.join(format!("{id}.state"));
        if qmsg.exists() && !qstate.exists() {
            tracing::warn!(
                "moving orphan delivery state {} to {} beside its quarantined message",
                path.display(),
                qdir.display()
            );
            fs::rename(&path, &qstate).map_err(|e| StoreError::io(&path, e))?;
            sync_dir(&qdir).map_err(|e| StoreError::io(&qdir, e))?;
        } else {
            tracing::warn!(
                "removing orphan delivery state {} (its message is gone)",
                path.display()
            );
            remove_if_exists(&path)?;
        }
        let queue = self.queue();
        sync_dir(&queue).map_err(|e| StoreError::io(&queue, e))
    }

    /// The message bytes exactly as given to [`Spool::accept`], checked against their checksum.
    /// A damaged file is [`StoreError::Corrupt`] (quarantine it); a missing one is `Io` (NotFound).
    pub fn read_body(&self, id: &str) -> Result<Vec<u8>> {
        check_id(id)?;
        let path = self.msg_path(id);
        let corrupt = |why: String| StoreError::Corrupt {
            path: path.clone(),
            why,
        };
        let (mut file, header, first) = open_msg(&path)
            .map_err(|e| StoreError::io(&path, e))?
            .map_err(corrupt)?;
        let start = header.body_offset() as usize;
        let len = header.body_len as usize; // ≤ file length, checked by parse_header
        let mut body = Vec::with_capacity(len);
        let have = first.len().saturating_sub(start).min(len);
        if have > 0 {
            body.extend_from_slice(&first[start..start + have]);
        }
        if have < len {
            use std::io::{Seek, SeekFrom};
            let pos = header.body_offset() + have as u64;
            if first.len() as u64 != pos {
                file.seek(SeekFrom::Start(pos))
                    .map_err(|e| StoreError::io(&path, e))?;
            }
            body.resize(len, 0);
            file.read_exact(&mut body[have..]).map_err(|e| {
                if e.kind() == io::ErrorKind::UnexpectedEof {
                    corrupt(format!(
                        "truncated while reading: body shorter than {len} bytes"
                    ))
                } else {
                    StoreError::io(&path, e)
                }
            })?;
        }
        if sha256_hex(&body) != header.body_sum {
            return Err(corrupt(
                "body checksum mismatch (bit rot or a damaged write)".into(),
            ));
        }
        Ok(body)
    }

    /// Replaces the delivery state of a queued message, atomically and fsynced.
    pub fn save_state(&self, id: &str, state: &DeliveryState) -> Result<()> {
        check_id(id)?;
        let msg = self.msg_path(id);
        if let Err(e) = fs::symlink_metadata(&msg) {
            // No orphan states: the message must still be queued.
            return Err(StoreError::io(&msg, e));
        }
        let path = self.state_path(id);
        let text = ron::to_string(state).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            why: format!("the delivery state cannot be written as RON: {e}"),
        })?;
        write_atomic(&path, text.as_bytes(), PRIVATE)
    }

    /// The message is done: removes its file, then its state, then fsyncs the queue folder.
    /// Removing a message that is not queued is not an error.
    pub fn remove(&self, id: &str) -> Result<()> {
        check_id(id)?;
        remove_if_exists(&self.msg_path(id))?;
        remove_if_exists(&self.state_path(id))?;
        let queue = self.queue();
        sync_dir(&queue).map_err(|e| StoreError::io(&queue, e))
    }

    /// Moves a message (and its state) out of the queue into `quarantine/`, with a `.reason` file
    /// saying `reason`; returns the new path of the message file.
    pub fn quarantine(&self, id: &str, reason: &str) -> Result<PathBuf> {
        check_id(id)?;
        self.quarantine_message(id, reason)
    }

    fn quarantine_message(&self, id: &str, reason: &str) -> Result<PathBuf> {
        let mut files = Vec::new();
        for (path, ext) in [(self.msg_path(id), ".msg"), (self.state_path(id), ".state")] {
            if fs::symlink_metadata(&path).is_ok() {
                files.push((path, ext));
            }
        }
        if files.is_empty() {
            let path = self.msg_path(id);
            return Err(StoreError::io(
                &path,
                io::Error::new(io::ErrorKind::NotFound, "no such message in the queue"),
            ));
        }
        self.quarantine_files(id, &files, reason)
    }

    /// Moves `files` (each `(path, extension)`) to `quarantine/<stem><ext>`, first writing
    /// `quarantine/<stem>.reason`; a free stem (`<stem>.1`, …) is chosen if the name is taken.
    /// Returns the new path of the first file.
    fn quarantine_files(
        &self,
        stem: &str,
        files: &[(PathBuf, &str)],
        reason: &str,
    ) -> Result<PathBuf> {
        let qdir = self.quarantine_dir();
        let free = |s: &str| {
            files
                .iter()
                .map(|(_, ext)| qdir.join(format!("{s}{ext}")))
                .chain([qdir.join(format!("{s}.reason"))])
                .all(|p| fs::symlink_metadata(p).is_err())
        };
        let mut name = stem.to_string();
        let mut n = 0u32;
        while !free(&name) {
            n += 1;
            name = format!("{stem}.{n}");
        }
        let reason_line = reason.replace(['\r', '\n'], " ");
        write_atomic(
            &qdir.join(format!("{name}.reason")),
            format!("{reason_line}\n").as_bytes(),
            PRIVATE,
        )?;
        let mut first = None;
        for (from, ext) in files {
            let to = qdir.join(format!("{name}{ext}"));
            fs::rename(from, &to).map_err(|e| StoreError::io(from, e))?;
            tracing::warn!(
                "spool file {}: {}; moved to {}",
                from.display(),
                reason_line,
                qdir.display()
            );
            first.get_or_insert(to);
        }
        sync_dir(&qdir).map_err(|e| StoreError::io(&qdir, e))?;
        let queue = self.queue();
        sync_dir(&queue).map_err(|e| StoreError::io(&queue, e))?;
        Ok(first.unwrap_or_else(|| qdir.join(format!("{name}.reason"))))
    }

    /// What the quarantine holds, oldest first: one entry per `.reason` file whose files are
    /// still there, with the envelope where it can still be read.
    pub fn quarantined(&self) -> Result<Vec<QuarantineEntry>> {
        let qdir = self.quarantine_dir();
        let mut out = Vec::new();
        for entry in fs::read_dir(&qdir).map_err(|e| StoreError::io(&qdir, e))? {
            let entry = entry.map_err(|e| StoreError::io(&qdir, e))?;
            let file = entry.file_name().to_string_lossy().into_owned();
            let Some(name) = file.strip_suffix(".reason") else {
                continue;
            };
            let msg = qdir.join(format!("{name}.msg"));
            let bare = qdir.join(name);
            let held = if fs::symlink_metadata(&msg).is_ok() {
                msg.clone()
            } else if fs::symlink_metadata(&bare).is_ok() {
                bare
            } else {
                continue; // a release interrupted after its message left
            };
            let reason_path = entry.path();
            let reason = fs::read_to_string(&reason_path)
                .map_err(|e| StoreError::io(&reason_path, e))?
                .trim_end()
                .to_string();
            let since = entry
                .metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_millis() as i64);
            let size = fs::symlink_metadata(&held).map_or(0, |m| m.len());
            let envelope = (held == msg)
                .then(|| read_quarantined_envelope(&msg).ok())
                .flatten();
            out.push(QuarantineEntry {
                name: name.to_string(),
                reason,
                since,
                size,
                envelope,
                path: held,
            });
        }
        out.sort_by(|a, b| a.since.cmp(&b.since).then_with(|| a.name.cmp(&b.name)));
        Ok(out)
    }

    /// Moves a quarantined message (by its quarantine name, as [`Spool::quarantined`] lists it)
    /// back into the queue with its delivery state, due now; its `.reason` file is removed.
    /// Recipients already delivered stay delivered. Refused with the message left where it is
    /// when its envelope cannot be read (nothing to queue) or its id is already queued.
    pub fn release(&self, name: &str) -> Result<QueuedMessage> {
        let qdir = self.quarantine_dir();
        let (base, n) = name.split_once('.').unwrap_or((name, "0"));
        check_id(base)?;
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(StoreError::io(
                qdir.join(name),
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not the name of a quarantined message (`mailflow queue quarantine` lists them)",
                ),
            ));
        }
        let qmsg = qdir.join(format!("{name}.msg"));
        if fs::symlink_metadata(&qmsg).is_err() {
            return Err(StoreError::io(
                &qmsg,
                io::Error::new(
                    io::ErrorKind::NotFound,
                    "no quarantined message by this name (`mailflow queue quarantine` lists them)",
                ),
            ));
        }
        let envelope = read_quarantined_envelope(&qmsg)?;
        check_id(&envelope.id)?;
        let target = self.msg_path(&envelope.id);
        if fs::symlink_metadata(&target).is_ok() {
            return Err(StoreError::io(
                &target,
                io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "a message with this id is already queued; remove it first or leave this one in quarantine",
                ),
            ));
        }
        let qstate = qdir.join(format!("{name}.state"));
        let mut state = match fs::read_to_string(&qstate) {
            Ok(text) => ron::from_str::<DeliveryState>(&text).unwrap_or_else(|e| {
                tracing::warn!(
                    "the delivery state of quarantined message {name} does not parse ({e}); it is released with every recipient pending"
                );
                DeliveryState::new(&envelope.recipients)
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                DeliveryState::new(&envelope.recipients)
            }
            Err(e) => return Err(StoreError::io(&qstate, e)),
        };
        state.next_attempt = 0;
        for r in state.recipients.iter_mut() {
            r.next_attempt = 0;
        }
        for n in state.notices.iter_mut() {
            n.next_attempt = 0;
        }
        // State first, message second: a crash in between leaves an orphan state, which load
        // handles (it joins its message in the quarantine, or goes).
        let text = ron::to_string(&state).map_err(|e| StoreError::Corrupt {
            path: qstate.clone(),
            why: format!("the delivery state cannot be written as RON: {e}"),
        })?;
        write_atomic(&self.state_path(&envelope.id), text.as_bytes(), PRIVATE)?;
        fs::rename(&qmsg, &target).map_err(|e| StoreError::io(&qmsg, e))?;
        let queue = self.queue();
        sync_dir(&queue).map_err(|e| StoreError::io(&queue, e))?;
        remove_if_exists(&qstate)?;
        remove_if_exists(&qdir.join(format!("{name}.reason")))?;
        sync_dir(&qdir).map_err(|e| StoreError::io(&qdir, e))?;
        Ok(QueuedMessage { envelope, state })
    }

    /// Whether a message file for `id` is in the queue (no file is opened).
    pub fn is_queued(&self, id: &str) -> bool {
        check_id(id).is_ok() && fs::symlink_metadata(self.msg_path(id)).is_ok()
    }

    /// The number of queued messages (a folder listing; no file is opened).
    pub fn len(&self) -> Result<usize> {
        let queue = self.queue();
        let mut n = 0;
        for entry in fs::read_dir(&queue).map_err(|e| StoreError::io(&queue, e))? {
            let entry = entry.map_err(|e| StoreError::io(&queue, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.strip_suffix(".msg").is_some_and(is_valid_id) {
                n += 1;
            }
        }
        Ok(n)
    }

    /// No message is queued.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::address::{Mailbox, ReversePath};
    use crate::smtp::envelope::new_message_id;
    use crate::smtp::evidence::{
        Direction, HopEvidence, PeerCertificate, SecurityStatus, TlsFacts, TrustLevel,
    };
    use std::os::unix::fs::PermissionsExt;

    fn id(n: u32) -> String {
        let mut r = [0u8; 16];
        r[..4].copy_from_slice(&n.to_be_bytes());
        r[15] = 0xab;
        new_message_id(r)
    }

    fn envelope(n: u32) -> Envelope {
        Envelope {
            id: id(n),
            sender: ReversePath::Mailbox(Mailbox {
                local: "alice".into(),
                domain: "woodgrove.test".into(),
            }),
            recipients: vec!["bob@contoso.test".into(), "carol@contoso.test".into()],
            received: 1_700_000_000_000 + i64::from(n),
            size: 0,
            message_id: Some(format!("<{n}@woodgrove.test>")),
            subject: Some("Grüße \"quoted\" ) ( \\ ".into()),
            eight_bit: true,
            smtputf8: false,
            require_tls: false,
            dsn: Default::default(),
            inbound: HopEvidence {
                direction: Direction::Inbound,
                time: 1_700_000_000_000,
                connector: "Default Frontend".into(),
                local: "127.0.0.1:25".into(),
                remote: "192.0.2.7:50123".into(),
                peer_name: "mail.woodgrove.test".into(),
                tls: Some(TlsFacts {
                    version: "TLSv1.3".into(),
                    cipher: "TLS_AES_256_GCM_SHA384".into(),
                    cipher_bits: 256,
                    key_exchange: Some("X25519".into()),
                    peer_certificate: Some(PeerCertificate {
                        subject: "CN=mail.woodgrove.test".into(),
                        issuer: "CN=Woodgrove Root".into(),
                        subject_cn: "mail.woodgrove.test".into(),
                        issuer_cn: "Woodgrove Root".into(),
                        thumbprint: "AB".repeat(20),
                        public_key_sha256: "CD".repeat(32),
                        names: vec!["mail.woodgrove.test".into()],
                        not_after: 1_800_000_000,
                    }),
                    trust: TrustLevel::Verified,
                    trust_detail: None,
                }),
                security: SecurityStatus::DomainSecure,
                policy: "Domain Security for woodgrove.test".into(),
                auth_domain: Some("woodgrove.test".into()),
                auth_mechanism: Some("MutualTLS".into()),
            },
        }
    }

    fn body(n: u32) -> Vec<u8> {
        let mut b = format!("Subject: test {n}\r\n\r\nHello\r\n..dot\r\n").into_bytes();
        b.extend_from_slice(&[0, 0xff, b'\r', b'\n', 0x80]);
        b
    }

    fn spool() -> (tempfile::TempDir, Spool) {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path().join("spool")).unwrap();
        (dir, spool)
    }

    fn msg_file(s: &Spool, n: u32) -> PathBuf {
        s.msg_path(&id(n))
    }

    /// Accepts messages 1..=count.
    fn fill(s: &Spool, count: u32) {
        for n in 1..=count {
            s.accept(&envelope(n), &body(n)).unwrap();
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn accept_load_read_body_save_state_remove() {
        let (_d, s) = spool();
        s.accept(&envelope(1), &body(1)).unwrap();
        s.accept(&envelope(2), b"").unwrap();
        assert_eq!(s.len().unwrap(), 2);

        let r = s.load().unwrap();
        assert!(r.quarantined.is_empty());
        assert_eq!(r.messages.len(), 2);
        assert_eq!(r.messages[0].envelope, envelope(1));
        assert_eq!(r.messages[1].envelope, envelope(2));
        assert_eq!(
            r.messages[0].state,
            DeliveryState::new(&envelope(1).recipients)
        );
        assert_eq!(s.read_body(&id(1)).unwrap(), body(1));
        assert_eq!(s.read_body(&id(2)).unwrap(), b"");

        let mut st = DeliveryState::new(&envelope(1).recipients);
        st.recipients[0].status = RecipientStatus::Delivered {
            time: 5,
            response: "250 2.0.0 Ok: queued as X".into(),
        };
        st.recipients[1].attempts = 2;
        st.recipients[1].last_error = Some("451 4.7.5 certificate name mismatch".into());
        st.attempts = 2;
        st.next_attempt = 1_700_000_600_000;
        st.last_error = Some("connection refused".into());
        st.delay_notified = true;
        s.save_state(&id(1), &st).unwrap();
        let r = s.load().unwrap();
        assert_eq!(r.messages[0].state, st);
        assert_eq!(r.messages[0].state.pending().count(), 1);
        assert!(!r.messages[0].state.is_done());

        s.remove(&id(1)).unwrap();
        s.remove(&id(1)).unwrap(); // twice is fine
        let r = s.load().unwrap();
        assert_eq!(r.messages.len(), 1);
        assert_eq!(r.messages[0].envelope.id, id(2));
        assert_eq!(s.len().unwrap(), 1);
        assert!(matches!(s.read_body(&id(1)), Err(StoreError::Io { .. })));
        assert_eq!(names(&s.queue()), vec![format!("{}.msg", id(2))]);
        assert!(names(&s.incoming()).is_empty());
    }

    #[test]
    fn large_bodies_and_envelopes_round_trip() {
        let (_d, s) = spool();
        let mut e = envelope(1);
        e.recipients = (0..500).map(|i| format!("user{i}@contoso.test")).collect();
        let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        s.accept(&e, &big).unwrap();
        let r = s.load().unwrap();
        assert_eq!(r.messages[0].envelope, e);
        assert_eq!(r.messages[0].state.recipients.len(), 500);
        assert_eq!(s.read_body(&e.id).unwrap(), big);
    }

    #[test]
    fn files_are_private_and_duplicates_refused() {
        let (_d, s) = spool();
        fill(&s, 1);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&msg_file(&s, 1)), 0o600);
        s.save_state(&id(1), &DeliveryState::new(&[])).unwrap();
        assert_eq!(mode(&s.state_path(&id(1))), 0o600);
        for d in [
            s.root().to_path_buf(),
            s.queue(),
            s.incoming(),
            s.quarantine_dir(),
        ] {
            assert_eq!(mode(&d), 0o700, "{}", d.display());
        }
        assert!(s.accept(&envelope(1), b"other").is_err());
        assert_eq!(s.read_body(&id(1)).unwrap(), body(1));
        assert!(names(&s.incoming()).is_empty());
    }

    #[test]
    fn state_of_a_message_not_queued_is_refused() {
        let (_d, s) = spool();
        assert!(s.save_state(&id(9), &DeliveryState::new(&[])).is_err());
        assert!(names(&s.queue()).is_empty());
    }

    #[test]
    fn crash_leftovers_are_cleaned_at_load() {
        let (_d, s) = spool();
        fill(&s, 2);
        // A message interrupted before its 250: half written in incoming/.
        fs::write(s.incoming().join(format!("{}.tmp", id(7))), b"MFQ1 12 3").unwrap();
        // A message removed, crash before its state followed.
        fs::write(s.state_path(&id(8)), b"garbage").unwrap();
        // A state update interrupted before its rename (write_atomic's temporary name).
        let tmp_state = s.queue().join(format!(".{}.state.4242.0.tmp", id(1)));
        fs::write(&tmp_state, b"(recipients: [").unwrap();

        let r = s.load().unwrap();
        assert_eq!(r.messages.len(), 2);
        assert!(r.quarantined.is_empty());
        assert!(names(&s.incoming()).is_empty());
        assert_eq!(
            names(&s.queue()),
            vec![format!("{}.msg", id(1)), format!("{}.msg", id(2))]
        );
        // A fresh spool over the same folder resumes the queue.
        let again = Spool::open(s.root().to_path_buf()).unwrap();
        assert_eq!(again.load().unwrap().messages.len(), 2);
    }

    #[test]
    fn orphan_state_joins_its_quarantined_message() {
        let (_d, s) = spool();
        fill(&s, 1);
        let st = DeliveryState::new(&envelope(1).recipients);
        s.save_state(&id(1), &st).unwrap();
        // Crash in the middle of quarantine: .msg moved, .state not yet.
        fs::rename(
            msg_file(&s, 1),
            s.quarantine_dir().join(format!("{}.msg", id(1))),
        )
        .unwrap();
        let r = s.load().unwrap();
        assert!(r.messages.is_empty());
        assert!(names(&s.queue()).is_empty());
        assert!(s.quarantine_dir().join(format!("{}.state", id(1))).exists());
    }

    /// Damages message 2 of 3 with `damage`, loads, and checks it alone is quarantined with a
    /// reason containing `expect`.
    fn assert_quarantined(damage: impl FnOnce(&Path), expect: &str) {
        let (_d, s) = spool();
        fill(&s, 3);
        s.save_state(&id(2), &DeliveryState::new(&envelope(2).recipients))
            .unwrap();
        damage(&msg_file(&s, 2));
        let r = s.load().unwrap();
        let ids: Vec<&str> = r.messages.iter().map(|m| m.envelope.id.as_str()).collect();
        assert_eq!(ids, vec![id(1), id(3)], "the others still load");
        assert_eq!(r.quarantined.len(), 1, "{:?}", r.quarantined);
        let (path, why) = &r.quarantined[0];
        assert!(why.contains(expect), "reason {why:?} should say {expect:?}");
        let q = s.quarantine_dir();
        assert_eq!(path, &q.join(format!("{}.msg", id(2))));
        assert!(path.exists());
        assert!(
            q.join(format!("{}.state", id(2))).exists(),
            "state moved too"
        );
        let reason = fs::read_to_string(q.join(format!("{}.reason", id(2)))).unwrap();
        assert_eq!(reason.trim_end(), why);
        assert_eq!(s.len().unwrap(), 2);
        // Quarantined files stay out of the queue on the next load.
        let r = s.load().unwrap();
        assert_eq!((r.messages.len(), r.quarantined.len()), (2, 0));
    }

    fn body_offset(path: &Path) -> u64 {
        let bytes = fs::read(path).unwrap();
        let h = parse_header(&bytes, bytes.len() as u64).unwrap();
        h.body_offset()
    }

    fn truncate(path: &Path, len: u64) {
        OpenOptions::new()
            .write(true)
            .open(path)
            .unwrap()
            .set_len(len)
            .unwrap();
    }

    fn flip(path: &Path, at: u64) {
        let mut bytes = fs::read(path).unwrap();
        bytes[at as usize] ^= 0x20;
        fs::write(path, bytes).unwrap();
    }

    #[test]
    fn truncated_in_the_body_is_quarantined() {
        assert_quarantined(
            |p| truncate(p, body_offset(p) + 5),
            &format!("truncated: body has 5 of {} bytes", body(2).len()),
        );
    }

    #[test]
    fn truncated_in_the_envelope_is_quarantined() {
        assert_quarantined(
            |p| truncate(p, body_offset(p) - 40),
            "truncated in the envelope",
        );
    }

    #[test]
    fn truncated_in_the_header_is_quarantined() {
        assert_quarantined(|p| truncate(p, 20), "truncated in the header line");
        assert_quarantined(|p| truncate(p, 3), "truncated in the header line");
    }

    #[test]
    fn empty_file_is_quarantined() {
        assert_quarantined(|p| truncate(p, 0), "empty file");
    }

    #[test]
    fn garbage_is_quarantined() {
        assert_quarantined(
            |p| fs::write(p, b"\x00\xffthis is not a spool file\n\n").unwrap(),
            "wrong magic",
        );
        assert_quarantined(
            |p| fs::write(p, vec![b'M'; 100_000]).unwrap(),
            "wrong magic",
        );
        assert_quarantined(
            |p| fs::write(p, b"MFQ1 12 x y z\nhello").unwrap(),
            "malformed header line",
        );
        assert_quarantined(
            |p| fs::write(p, b"MFQ1 99999999999999999999 1 a b\n").unwrap(),
            "malformed header line",
        );
        assert_quarantined(
            |p| {
                let sum = "A".repeat(64);
                fs::write(p, format!("MFQ1 18446744073709551615 1 {sum} {sum}\nx")).unwrap()
            },
            "out of range",
        );
        assert_quarantined(
            |p| fs::write(p, [b"MFQ1 ".as_slice(), &[b'7'; 300]].concat()).unwrap(),
            "no end of line",
        );
    }

    #[test]
    fn wrong_magic_and_version_are_quarantined() {
        assert_quarantined(|p| flip(p, 0), "wrong magic");
        assert_quarantined(
            |p| {
                let mut bytes = fs::read(p).unwrap();
                bytes[3] = b'2';
                fs::write(p, bytes).unwrap();
            },
            "unsupported format version \"MFQ2\"",
        );
    }

    #[test]
    fn bad_envelope_checksum_is_quarantined() {
        assert_quarantined(|p| flip(p, body_offset(p) - 10), "envelope checksum");
    }

    #[test]
    fn envelope_not_matching_its_file_is_quarantined() {
        assert_quarantined(
            |p| {
                let (_d, other) = spool();
                other.accept(&envelope(3), b"x").unwrap();
                fs::copy(other.msg_path(&id(3)), p).unwrap();
            },
            "does not match the file name",
        );
    }

    #[test]
    fn extra_bytes_are_quarantined() {
        assert_quarantined(
            |p| {
                let mut f = OpenOptions::new().append(true).open(p).unwrap();
                f.write_all(b"more").unwrap();
            },
            "4 unexpected bytes after the body",
        );
    }

    #[test]
    fn bad_state_is_quarantined() {
        assert_quarantined(
            |p| fs::write(p.with_extension("state"), b"(recipients: [").unwrap(),
            "does not parse",
        );
    }

    /// Regression (issue 9 §3): at load, an error of the system reading a message (here EISDIR:
    /// its `.msg` and `.state` replaced by folders, which open but cannot be read) was taken
    /// for damage and the message quarantined. It is an I/O error that fails the load; no
    /// file moves.
    #[test]
    fn a_read_error_at_load_is_no_damage() {
        let (_d, s) = spool();
        fill(&s, 1);
        let msg = msg_file(&s, 1);
        let state = msg.with_extension("state");
        fs::write(&state, b"").unwrap();
        fs::remove_file(&state).unwrap();
        fs::create_dir(&state).unwrap();
        match s.load_one(&id(1), true) {
            Err(StoreError::Io { path, .. }) => assert_eq!(path, state),
            other => panic!("expected an I/O error, got {other:?}"),
        }
        fs::remove_dir(&state).unwrap();
        fs::remove_file(&msg).unwrap();
        fs::create_dir(&msg).unwrap();
        match s.load_one(&id(1), false) {
            Err(StoreError::Io { path, .. }) => assert_eq!(path, msg),
            other => panic!("expected an I/O error, got {other:?}"),
        }
        assert!(names(&s.quarantine_dir()).is_empty(), "nothing quarantined");
    }

    #[test]
    fn bad_body_checksum_is_found_by_read_body_then_quarantined() {
        let (_d, s) = spool();
        fill(&s, 2);
        let p = msg_file(&s, 1);
        let len = fs::metadata(&p).unwrap().len();
        flip(&p, len - 3);
        // load reads no body: the message loads.
        assert_eq!(s.load().unwrap().messages.len(), 2);
        let err = s.read_body(&id(1)).unwrap_err();
        let StoreError::Corrupt { path, why } = err else {
            panic!("expected Corrupt, got {err:?}");
        };
        assert_eq!(path, p);
        assert!(why.contains("body checksum mismatch"), "{why}");
        assert!(s.is_queued(&id(1)));
        let to = s.quarantine(&id(1), &why).unwrap();
        assert!(to.exists());
        assert!(!s.is_queued(&id(1)) && s.is_queued(&id(2)));
        assert!(
            s.quarantine_dir()
                .join(format!("{}.reason", id(1)))
                .exists()
        );
        assert_eq!(s.load().unwrap().messages.len(), 1);
        assert_eq!(s.len().unwrap(), 1);
        assert!(s.quarantine(&id(1), "again").is_err(), "no longer queued");
    }

    #[test]
    fn a_quarantined_message_is_listed_and_released_back_into_the_queue() {
        let (_d, s) = spool();
        fill(&s, 2);
        let mut st = DeliveryState::new(&envelope(1).recipients);
        st.recipients[0].status = RecipientStatus::Delivered {
            time: 1,
            response: "250 ok".into(),
        };
        st.next_attempt = i64::MAX;
        st.recipients[1].next_attempt = i64::MAX;
        s.save_state(&id(1), &st).unwrap();
        s.quarantine(&id(1), "cannot be read: Too many open files (os error 24)")
            .unwrap();
        // A damaged one beside it: listed, not releasable.
        let p = msg_file(&s, 2);
        fs::write(&p, b"garbage").unwrap();
        s.quarantine(&id(2), "wrong magic").unwrap();
        let list = s.quarantined().unwrap();
        assert_eq!(list.len(), 2, "{list:?}");
        let first = list.iter().find(|q| q.name == id(1)).unwrap();
        assert_eq!(
            first.reason,
            "cannot be read: Too many open files (os error 24)"
        );
        assert_eq!(first.envelope.as_ref(), Some(&envelope(1)));
        assert!(first.size > 0 && first.since > 0);
        let bad = list.iter().find(|q| q.name == id(2)).unwrap();
        assert!(bad.envelope.is_none());
        assert_eq!(s.len().unwrap(), 0);

        let back = s.release(&id(1)).unwrap();
        assert_eq!(back.envelope, envelope(1));
        assert!(
            matches!(
                back.state.recipients[0].status,
                RecipientStatus::Delivered { .. }
            ),
            "a delivered recipient stays delivered"
        );
        assert_eq!(
            (
                back.state.next_attempt,
                back.state.recipients[1].next_attempt
            ),
            (0, 0),
            "due now"
        );
        let r = s.load().unwrap();
        assert_eq!(r.messages.len(), 1);
        assert_eq!(r.messages[0].state, back.state);
        assert_eq!(s.read_body(&id(1)).unwrap(), body(1));
        assert_eq!(s.quarantined().unwrap().len(), 1);

        // Refusals leave everything where it is.
        let err = s.release(&id(2)).unwrap_err();
        assert!(
            matches!(&err, StoreError::Corrupt { why, .. } if why.contains("cannot be released") && why.contains("wrong magic")),
            "{err:?}"
        );
        assert!(matches!(
            s.release(&id(1)),
            Err(StoreError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound
        ));
        let dotted = format!("{}.x", id(2));
        for bad in ["../queue/x", "notes.txt", "", dotted.as_str()] {
            assert!(s.release(bad).is_err(), "{bad:?}");
        }
        assert_eq!(s.quarantined().unwrap().len(), 1);
        // Quarantined again and released while the same id is queued: refused.
        fs::copy(
            s.msg_path(&id(1)),
            s.quarantine_dir().join(format!("{}.9.msg", id(1))),
        )
        .unwrap();
        fs::write(
            s.quarantine_dir().join(format!("{}.9.reason", id(1))),
            "x\n",
        )
        .unwrap();
        assert!(matches!(
            s.release(&format!("{}.9", id(1))),
            Err(StoreError::Io { source, .. }) if source.kind() == io::ErrorKind::AlreadyExists
        ));
    }

    #[test]
    fn states_without_owed_notices_still_parse() {
        let (_d, s) = spool();
        fill(&s, 1);
        let mut st = DeliveryState::new(&envelope(1).recipients);
        let old = ron::to_string(&st).unwrap();
        assert!(!old.contains("notices"), "not written when empty: {old}");
        st.notices.push(PendingNotice {
            seq: 0,
            kind: crate::smtp::dsn::DsnKind::Failure,
            recipients: vec![("bob@contoso.test".into(), "550 5.1.1 no".into())],
            attempts: 1,
            next_attempt: 5,
            last_error: Some("disk full".into()),
        });
        s.save_state(&id(1), &st).unwrap();
        assert_eq!(s.load().unwrap().messages[0].state, st);
        assert!(!st.is_done(), "a message owing a notice is not done");
        fs::write(s.state_path(&id(1)), old).unwrap();
        assert!(s.load().unwrap().messages[0].state.notices.is_empty());
    }

    #[test]
    fn read_body_finds_truncation() {
        let (_d, s) = spool();
        fill(&s, 1);
        let p = msg_file(&s, 1);
        truncate(&p, body_offset(&p) + 1);
        assert!(matches!(
            s.read_body(&id(1)),
            Err(StoreError::Corrupt { why, .. }) if why.contains("truncated")
        ));
    }

    #[test]
    fn quarantine_names_never_collide() {
        let (_d, s) = spool();
        fill(&s, 1);
        let first = s.quarantine(&id(1), "first\nline").unwrap();
        fill(&s, 1);
        let second = s.quarantine(&id(1), "second").unwrap();
        assert_ne!(first, second);
        assert_eq!(fs::read(&first).unwrap(), fs::read(&second).unwrap());
        let q = s.quarantine_dir();
        assert_eq!(
            fs::read_to_string(q.join(format!("{}.reason", id(1)))).unwrap(),
            "first line\n"
        );
        assert_eq!(
            fs::read_to_string(q.join(format!("{}.1.reason", id(1)))).unwrap(),
            "second\n"
        );
    }

    #[test]
    fn unexpected_files_in_the_queue_are_quarantined() {
        let (_d, s) = spool();
        fill(&s, 1);
        fs::write(s.queue().join("notes.txt"), b"hello").unwrap();
        fs::write(s.queue().join("ABC.msg"), b"MFQ1").unwrap();
        fs::create_dir(s.queue().join("sub.msg")).unwrap();
        assert_eq!(s.len().unwrap(), 1);
        let r = s.load().unwrap();
        assert_eq!(r.messages.len(), 1);
        assert_eq!(r.quarantined.len(), 3, "{:?}", r.quarantined);
        assert_eq!(names(&s.queue()), vec![format!("{}.msg", id(1))]);
        assert!(s.quarantine_dir().join("notes.txt.reason").exists());
    }

    #[test]
    fn bad_ids_are_refused() {
        let (_d, s) = spool();
        fill(&s, 1);
        let st = DeliveryState::new(&[]);
        let long = "a".repeat(65);
        for bad in [
            "",
            "../queue/x",
            "/etc/passwd",
            "a/b",
            "ABCDEF",
            "abc.msg",
            "abc\0",
            "ab c",
            long.as_str(),
        ] {
            let refused = |r: Result<()>| {
                assert!(
                    matches!(&r, Err(StoreError::Io { source, .. }) if source.kind() == io::ErrorKind::InvalidInput),
                    "{bad:?}: {r:?}"
                )
            };
            let mut e = envelope(1);
            e.id = bad.to_string();
            refused(s.accept(&e, b"x"));
            refused(s.read_body(bad).map(|_| ()));
            refused(s.save_state(bad, &st));
            refused(s.remove(bad));
            refused(s.quarantine(bad, "x").map(|_| ()));
        }
        assert!(s.read_body(&"a".repeat(64)).is_err());
        assert_eq!(s.load().unwrap().messages.len(), 1);
        assert_eq!(names(&s.incoming()), Vec::<String>::new());
    }

    #[test]
    fn delivery_state_pending_and_done() {
        let mut st = DeliveryState::new(&["a@x.test".into(), "b@x.test".into()]);
        assert_eq!(st.pending().count(), 2);
        assert_eq!((st.attempts, st.next_attempt), (0, 0));
        st.recipients[0].status = RecipientStatus::Failed {
            time: 1,
            response: "550 5.1.1 no such user".into(),
        };
        assert!(!st.is_done());
        st.recipients[1].status = RecipientStatus::Delivered {
            time: 2,
            response: "delivered to mailbox".into(),
        };
        assert!(st.is_done());
        assert!(DeliveryState::new(&[]).is_done());
    }

    #[test]
    fn two_thousand_messages() {
        // On tmpfs when there is one: fsync is free there, and this test is about counts, not
        // the disk (every other test runs on the real temporary folder).
        let shm = Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm).unwrap()
        } else {
            tempfile::tempdir().unwrap()
        };
        let s = Spool::open(dir.path().join("spool")).unwrap();
        fill(&s, 2000);
        for n in (1..=2000).step_by(7) {
            s.save_state(&id(n), &DeliveryState::new(&[format!("{n}@x.test")]))
                .unwrap();
        }
        assert_eq!(s.len().unwrap(), 2000);
        let r = s.load().unwrap();
        assert_eq!(r.messages.len(), 2000);
        assert!(r.quarantined.is_empty());
        assert!(
            r.messages
                .windows(2)
                .all(|w| w[0].envelope.received <= w[1].envelope.received)
        );
        let with_state = r
            .messages
            .iter()
            .filter(|m| m.state.recipients.len() == 1)
            .count();
        assert_eq!(with_state, 286);
        assert_eq!(s.read_body(&id(1234)).unwrap(), body(1234));
    }
}
