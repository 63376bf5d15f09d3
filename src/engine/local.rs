//! Local delivery into Maildir: `<data-dir>/mailboxes/<domain>/<local-part>/{tmp,new,cur}`, a
//! mailbox created on first delivery. The message is written to `tmp/`, fsynced and renamed
//! into `new/` (the Maildir protocol), with `Return-Path:`, `Delivered-To:` and a
//! `X-Mailflow-Security:` line saying how it travelled; line endings become LF.

use super::error::EngineError;
use crate::smtp::envelope::Envelope;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The folder name of a local part: lower case, safe characters kept, others percent-encoded,
/// so no address can climb out of the mailbox tree.
pub fn mailbox_folder(local: &str) -> String {
    let mut out = String::new();
    for (i, b) in local.to_lowercase().bytes().enumerate() {
        let safe = b.is_ascii_alphanumeric() || b"-_+".contains(&b) || (b == b'.' && i > 0);
        if safe {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() { "%00".into() } else { out }
}

/// Delivers one message to one local recipient; returns the file written.
pub fn deliver(
    mailboxes: &Path,
    recipient: &str,
    envelope: &Envelope,
    body: &[u8],
    security_line: &str,
    hostname: &str,
) -> Result<PathBuf, EngineError> {
    let (local, domain) = recipient
        .rsplit_once('@')
        .ok_or_else(|| EngineError::NoDomain(recipient.to_string()))?;
    let domain = mailbox_folder(domain);
    let mbox = mailboxes.join(domain).join(mailbox_folder(local));
    let err = |what: &'static str, source: std::io::Error| EngineError::Mailbox {
        recipient: recipient.to_string(),
        what,
        folder: mbox.clone(),
        source,
    };
    for sub in ["tmp", "new", "cur"] {
        // A new mailbox folder is fsynced into its parent: the delivery below is durable.
        crate::store::atomic::ensure_dir(&mbox.join(sub), 0o700).map_err(|source| {
            EngineError::MailboxFolder {
                recipient: recipient.to_string(),
                source,
            }
        })?;
    }
    let now = time::OffsetDateTime::now_utc();
    let unique = format!(
        "{}.M{}P{}Q{}.{}",
        now.unix_timestamp(),
        now.microsecond(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        hostname.replace(['/', ':'], "_")
    );
    let tmp = mbox.join("tmp").join(&unique);
    let mut content = Vec::with_capacity(body.len() + 256);
    content.extend_from_slice(
        format!(
            "Return-Path: <{}>\nDelivered-To: {recipient}\n{security_line}\n",
            envelope.sender
        )
        .as_bytes(),
    );
    let mut prev_cr = false;
    for &b in body {
        if prev_cr && b == b'\n' {
            content.pop();
        }
        content.push(b);
        prev_cr = b == b'\r';
    }
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&content)?;
        f.sync_all()?;
        Ok(())
    };
    write().map_err(|e| err("cannot write in", e))?;
    let dest = mbox.join("new").join(&unique);
    std::fs::rename(&tmp, &dest).map_err(|e| err("cannot move the message into", e))?;
    crate::store::atomic::sync_dir(&mbox.join("new")).map_err(|e| err("cannot sync", e))?;
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_cannot_escape() {
        assert_eq!(mailbox_folder("Administrator"), "administrator");
        assert_eq!(mailbox_folder("john.doe+tag"), "john.doe+tag");
        assert_eq!(mailbox_folder("../etc"), "%2E.%2Fetc");
        assert_eq!(mailbox_folder(".hidden"), "%2Ehidden");
        assert_eq!(mailbox_folder("\"a b\""), "%22a%20b%22");
    }
}
