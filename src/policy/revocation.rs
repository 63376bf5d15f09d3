//! What trust decisions know about revocation: the lists the administrator added, the lists the
//! relay downloaded from distribution points (a shelf the download service replaces whole, so
//! a session reads a consistent snapshot and never waits for a download), the thumbprint
//! deny-list, and what an unknown status means. Pure: no I/O, no clock.

use crate::config::UnknownRevocationStatus;
use crate::pki::chain::RevocationCheck;
use crate::pki::crl::{Crl, distribution_points, newest_per_issuer};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, RwLock};

/// Downloaded revocation lists, shared between the download service (which replaces them) and
/// sessions (which read them), and the distribution points trust decisions have met that the
/// service should fetch.
#[derive(Debug, Default)]
pub struct CrlShelf {
    lists: RwLock<Arc<Vec<Arc<Crl>>>>,
    wanted: Mutex<Wanted>,
}

#[derive(Debug, Default)]
struct Wanted {
    /// Every distribution point ever noted (each is handed to the service once).
    seen: HashSet<String>,
    /// Noted and not yet taken: URL with the certificates that may have signed its list.
    new: Vec<WantedList>,
}

/// A distribution point to fetch, with the CA certificates that may have signed its list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WantedList {
    pub url: String,
    pub issuers: Vec<Vec<u8>>,
}

impl CrlShelf {
    /// The lists now (a snapshot: later replacements do not change it).
    pub fn snapshot(&self) -> Arc<Vec<Arc<Crl>>> {
        self.lists.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the lists.
    pub fn replace(&self, lists: Vec<Arc<Crl>>) {
        *self.lists.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(lists);
    }

    /// Notes the http:// distribution points of each certificate of `chain` (leaf first)
    /// whose issuer is the next certificate of the chain or one of `roots`. Cheap after the
    /// first time for a URL; never waits for a download.
    pub fn note_chain(&self, chain: &[Vec<u8>], roots: &[Vec<u8>]) {
        for (i, cert) in chain.iter().enumerate() {
            let points = distribution_points(cert);
            if points.is_empty() {
                continue;
            }
            let Ok((_, parsed)) = x509_parser::parse_x509_certificate(cert) else {
                continue;
            };
            let issuer = parsed.issuer().as_raw();
            let issuers: Vec<Vec<u8>> = chain[i + 1..]
                .iter()
                .chain(roots.iter())
                .filter(|c| {
                    x509_parser::parse_x509_certificate(c)
                        .is_ok_and(|(_, p)| p.subject().as_raw() == issuer)
                })
                .cloned()
                .collect();
            if issuers.is_empty() {
                continue;
            }
            let mut w = self.wanted.lock().unwrap_or_else(|p| p.into_inner());
            for url in points {
                if w.seen.insert(url.clone()) {
                    w.new.push(WantedList {
                        url,
                        issuers: issuers.clone(),
                    });
                }
            }
        }
    }

    /// Takes the distribution points noted since the last call.
    pub fn take_wanted(&self) -> Vec<WantedList> {
        std::mem::take(&mut self.wanted.lock().unwrap_or_else(|p| p.into_inner()).new)
    }
}

/// Revocation as a trust decision sees it.
#[derive(Debug, Default)]
pub struct Revocation {
    /// What a certificate without a current list counts as.
    pub unknown: UnknownRevocationStatus,
    /// Certificate thumbprints (SHA-1, upper-case hex) that fail whatever vouches for them,
    /// Direct Trust pins and partner anchors included.
    pub blocked: Vec<String>,
    /// Lists the administrator added (`mailflow crl add`).
    pub stored: Vec<Arc<Crl>>,
    /// Lists the relay downloaded.
    pub downloaded: Arc<CrlShelf>,
}

impl Revocation {
    /// No lists, no deny-list, unknown allowed: the state before any revocation setting.
    pub fn none() -> &'static Revocation {
        static NONE: std::sync::LazyLock<Revocation> =
            std::sync::LazyLock::new(Revocation::default);
        &NONE
    }

    /// The lists to check against now: the newest per CA of both sources.
    pub fn lists(&self) -> Vec<Arc<Crl>> {
        let mut all = self.stored.clone();
        all.extend(self.downloaded.snapshot().iter().cloned());
        newest_per_issuer(&all)
    }

    /// Whether `thumbprint` is on the deny-list.
    pub fn is_blocked(&self, thumbprint: &str) -> bool {
        self.blocked
            .iter()
            .any(|b| b.eq_ignore_ascii_case(thumbprint))
    }

    /// The check for [`crate::pki::chain::verify_chain_checked`] over `lists`.
    pub fn check<'a>(&self, lists: &'a [Arc<Crl>]) -> RevocationCheck<'a> {
        RevocationCheck {
            crls: lists,
            unknown: self.unknown,
        }
    }
}
