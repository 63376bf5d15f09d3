//! Revocation operations: add, list and remove certificate revocation lists (a list is kept
//! only when a trusted root or a chain certificate of the store verifiably signed it), the
//! thumbprint deny-list (`cert block` / `unblock`), and the [`Revocation`] every trust
//! decision of this workspace uses.

use super::{AdminError, Result, Workspace};
use crate::pki::crl::{self, CrlInfo};
use crate::policy::revocation::{CrlShelf, Revocation};
use crate::store::certstore::{BlockedEntry, CrlEntry};
use std::sync::Arc;
use time::OffsetDateTime;

/// Where a revocation list came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrlSource {
    /// Added by the administrator (`mailflow crl add`); removable.
    Added,
    /// Downloaded by the relay from a distribution point (a cache).
    Downloaded,
}

impl std::fmt::Display for CrlSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CrlSource::Added => "Added",
            CrlSource::Downloaded => "Downloaded",
        })
    }
}

/// One row of the revocation list view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrlRow {
    pub info: CrlInfo,
    pub source: CrlSource,
    /// `nextUpdate` has passed: the list no longer answers for certificates it does not list.
    pub out_of_date: bool,
    /// Its date in words (next update, or out of date since when and what to do).
    pub date_words: String,
}

/// What `crl add` did.
#[derive(Clone, Debug)]
pub struct CrlAdded {
    pub entry: CrlEntry,
    pub info: CrlInfo,
    /// Subject of the CA certificate that verified the list.
    pub signer_subject: String,
    /// Id of the older list of the same CA this one replaced.
    pub replaced: Option<String>,
    /// The list is already out of date (kept: it still proves revocations).
    pub out_of_date: bool,
}

/// Normalises a thumbprint typed by an administrator: 40 hex digits, spaces and colons allowed.
fn thumbprint_arg(t: &str) -> Result<String> {
    let n = crate::config::validate::normalize_hex(t);
    if n.len() != 40 || !n.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(AdminError::Refused(format!(
            "'{t}' is not a certificate thumbprint: give its SHA-1 thumbprint, 40 hex digits (`mailflow cert show FILE` prints it as Thumbprint)"
        )));
    }
    Ok(n)
}

impl Workspace {
    /// Revocation as this workspace's settings and store define it, with `downloaded` lists.
    pub fn revocation_with(&self, downloaded: Arc<CrlShelf>) -> Revocation {
        Revocation {
            unknown: self.settings.transport.unknown_revocation_status,
            blocked: self
                .store
                .blocked()
                .iter()
                .map(|b| b.thumbprint.clone())
                .collect(),
            stored: self.store.crls().iter().map(|c| c.crl.clone()).collect(),
            downloaded,
        }
    }

    /// Revocation with the downloaded lists the cache folder holds now.
    pub fn revocation(&self) -> Revocation {
        let shelf = Arc::new(CrlShelf::default());
        shelf.replace(
            crate::store::crl_cache::load_all(&self.dir)
                .into_iter()
                .map(Arc::new)
                .collect(),
        );
        self.revocation_with(shelf)
    }

    /// Adds a revocation list file (PEM or DER). Refused unless a trusted root or a chain
    /// certificate of the store signed it; a newer list of the same CA replaces the older one,
    /// an older one is refused.
    pub fn crl_add(&mut self, bytes: &[u8], now: OffsetDateTime) -> Result<CrlAdded> {
        let list = crl::read_crl(bytes)?;
        let mut candidates: Vec<Vec<u8>> = self.store.root_ders();
        for c in self.store.certificates() {
            for ch in &c.chain {
                if !candidates.contains(ch) {
                    candidates.push(ch.clone());
                }
            }
        }
        let signer = &candidates[crl::find_signer(&list, &candidates)?];
        let signer_info = crate::pki::inspect::inspect_certificate(signer)?;
        if let Some(same) = self
            .store
            .crls()
            .iter()
            .find(|c| c.entry.id == list.info.id)
        {
            return Err(AdminError::Refused(format!(
                "this revocation list of {} is already in the store ({})",
                same.entry.issuer, same.entry.id
            )));
        }
        let older = self.store.crls().iter().find(|c| {
            c.entry.signer == signer_info.thumbprint && c.crl.info.issuer == list.info.issuer
        });
        if let Some(o) = older
            && o.crl.info.this_update >= list.info.this_update
        {
            return Err(AdminError::Refused(format!(
                "the store already has a list of {} issued {} — newer than (or as new as) this one, issued {}; nothing was added",
                list.info.issuer,
                crate::pki::text::format_date(o.crl.info.this_update),
                crate::pki::text::format_date(list.info.this_update)
            )));
        }
        let replaced = older.map(|o| o.entry.id.clone());
        let entry = self
            .store
            .crl_add(&list, &signer_info.thumbprint, replaced.as_deref(), now)?;
        Ok(CrlAdded {
            entry,
            out_of_date: list.info.is_out_of_date(now),
            info: list.info,
            signer_subject: signer_info.subject,
            replaced,
        })
    }

    /// Removes an added revocation list by id (or a unique prefix of at least 6 digits).
    pub fn crl_remove(&mut self, id: &str) -> Result<CrlEntry> {
        Ok(self.store.crl_remove(id)?)
    }

    /// The revocation lists: added ones, then downloaded ones.
    pub fn crl_rows(&self, now: OffsetDateTime) -> Vec<CrlRow> {
        let row = |info: &CrlInfo, source| CrlRow {
            info: info.clone(),
            source,
            out_of_date: info.is_out_of_date(now),
            date_words: info.next_update_words(now),
        };
        let mut rows: Vec<CrlRow> = self
            .store
            .crls()
            .iter()
            .map(|c| row(&c.crl.info, CrlSource::Added))
            .collect();
        rows.extend(
            crate::store::crl_cache::load_all(&self.dir)
                .iter()
                .map(|c| row(&c.info, CrlSource::Downloaded)),
        );
        rows
    }

    /// Puts a certificate thumbprint on the deny-list: that certificate fails every trust
    /// decision (chain, Direct Trust pin, partner anchor) from the next MAIL FROM of an open
    /// session and the next message of a running delivery on.
    pub fn block_certificate(
        &mut self,
        thumbprint: &str,
        note: Option<String>,
        now: OffsetDateTime,
    ) -> Result<BlockedEntry> {
        let tp = thumbprint_arg(thumbprint)?;
        if let Some(b) = self.store.blocked().iter().find(|b| b.thumbprint == tp) {
            return Err(AdminError::Refused(format!(
                "certificate {tp} is already blocked (since {})",
                OffsetDateTime::from_unix_timestamp(b.added)
                    .map(crate::pki::text::format_date)
                    .unwrap_or_default()
            )));
        }
        let entry = BlockedEntry {
            thumbprint: tp,
            note: note.filter(|n| !n.trim().is_empty()),
            added: now.unix_timestamp(),
        };
        self.store.block(entry.clone())?;
        Ok(entry)
    }

    /// Takes a thumbprint off the deny-list.
    pub fn unblock_certificate(&mut self, thumbprint: &str) -> Result<String> {
        let tp = thumbprint_arg(thumbprint)?;
        if !self.store.unblock(&tp)? {
            return Err(AdminError::Refused(format!(
                "certificate {tp} is not blocked: `mailflow cert blocked` lists the blocked ones"
            )));
        }
        Ok(tp)
    }
}
