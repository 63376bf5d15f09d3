//! The revocation list download service: a task that fetches the CRLs of the http://
//! distribution points trust decisions have met (certificates from CAs we trust) and those of
//! the store's chain certificates, with a timeout and a size limit, keeps a list only when
//! one of the CA certificates that may have issued it verifies its signature, writes it to the
//! cache folder and puts it on the shelf sessions read. Each list is fetched again a little
//! before its nextUpdate; a failed download is tried again later (1 minute, doubling to an
//! hour). Sessions never wait for it: until a list is here the status is unknown, which the
//! settings allow (Exchange's default) or refuse (strict).

use super::error::EngineError;
use crate::pki::crl::{self, Crl, MAX_CRL_BYTES};
use crate::policy::revocation::{CrlShelf, WantedList};
use crate::store::DataDir;
use crate::store::crl_cache;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// Longest a download may take, connection included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(15);
/// First wait after a failed download; doubles up to [`MAX_RETRY`].
const FIRST_RETRY: time::Duration = time::Duration::minutes(1);
const MAX_RETRY: time::Duration = time::Duration::hours(1);
/// How often the service looks for new distribution points and due refreshes.
const TICK: Duration = Duration::from_millis(500);

struct Point {
    issuers: Vec<Vec<u8>>,
    list: Option<Arc<Crl>>,
    due: OffsetDateTime,
    wait: time::Duration,
}

/// Why a download did not give a usable list.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("the download failed: {0}")]
    Http(String),
    #[error("the server answered {0}")]
    Status(u16),
    #[error("the list is larger than {} MB", MAX_CRL_BYTES / (1024 * 1024))]
    TooLarge,
    #[error("{0}")]
    Refused(String),
}

/// Downloads `url` with the timeout and the size limit.
pub async fn download(client: &reqwest::Client, url: &str) -> Result<Vec<u8>, FetchError> {
    let mut resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| FetchError::Http(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(FetchError::Status(resp.status().as_u16()));
    }
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_CRL_BYTES as u64)
    {
        return Err(FetchError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| FetchError::Http(e.to_string()))?
    {
        if body.len() + chunk.len() > MAX_CRL_BYTES {
            return Err(FetchError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Downloads and checks the list of `url`: it must parse and be signed by one of `issuers`.
async fn fetch_list(
    client: &reqwest::Client,
    url: &str,
    issuers: &[Vec<u8>],
) -> Result<Crl, FetchError> {
    let body = download(client, url).await?;
    let list = crl::read_crl(&body).map_err(|e| FetchError::Refused(e.to_string()))?;
    crl::find_signer(&list, issuers).map_err(|e| FetchError::Refused(e.to_string()))?;
    Ok(list)
}

/// The HTTP client of the service: plain HTTP (CRLs are signed), no proxy from the
/// environment, a few redirects at most, the timeout on everything.
pub fn client() -> Result<reqwest::Client, EngineError> {
    reqwest::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .connect_timeout(FETCH_TIMEOUT)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::limited(3))
        .user_agent(concat!(
            "Mailflow/",
            env!("CARGO_PKG_VERSION"),
            " CRL fetch"
        ))
        .build()
        .map_err(|e| EngineError::HttpClient(e.to_string()))
}

/// Runs the service until `shutdown` turns true. `seed` are chains (leaf first) whose
/// distribution points are wanted from the start (the store's certificates), with `roots`.
pub async fn run(
    dir: DataDir,
    shelf: Arc<CrlShelf>,
    seed: Vec<Vec<Vec<u8>>>,
    roots: Vec<Vec<u8>>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let client = match client() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("{e}; revocation lists will not be downloaded");
            return;
        }
    };
    for chain in &seed {
        shelf.note_chain(chain, &roots);
    }
    // Lists cached by an earlier run stay on the shelf until their point is met again.
    let initial: Vec<Arc<Crl>> = shelf.snapshot().iter().cloned().collect();
    let mut points: HashMap<String, Point> = HashMap::new();
    loop {
        let now = OffsetDateTime::now_utc();
        for WantedList { url, issuers } in shelf.take_wanted() {
            let cached = crl_cache::load(&dir, &url)
                .filter(|c| crl::find_signer(c, &issuers).is_ok())
                .map(Arc::new);
            let due = cached
                .as_ref()
                .map(|c| crl::refresh_due(&c.info))
                .unwrap_or(now);
            points.insert(
                url,
                Point {
                    issuers,
                    list: cached,
                    due,
                    wait: FIRST_RETRY,
                },
            );
        }
        let mut changed = false;
        let due: Vec<String> = points
            .iter()
            .filter(|(_, p)| p.due <= now)
            .map(|(u, _)| u.clone())
            .collect();
        for url in due {
            let Some(p) = points.get_mut(&url) else {
                continue;
            };
            let result = tokio::select! {
                r = fetch_list(&client, &url, &p.issuers) => r,
                _ = shutdown.changed() => return,
            };
            let now = OffsetDateTime::now_utc();
            match result {
                Ok(list) => {
                    if let Err(e) = crl_cache::save(&dir, &url, &list.der) {
                        tracing::warn!("the revocation list from {url} could not be cached: {e}");
                    }
                    tracing::info!(
                        "revocation list of {} downloaded from {url} ({} revoked, {})",
                        list.info.issuer,
                        list.info.revoked,
                        list.info.next_update_words(now)
                    );
                    // A list already past its refresh time (a CA late with its next one) is
                    // looked for again after the retry wait, not in a loop.
                    p.due = crl::refresh_due(&list.info).max(now + FIRST_RETRY);
                    p.wait = FIRST_RETRY;
                    p.list = Some(Arc::new(list));
                    changed = true;
                }
                Err(e) => {
                    tracing::warn!(
                        "revocation list from {url}: {e}; trying again in {} minute(s)",
                        p.wait.whole_minutes()
                    );
                    p.due = now + p.wait;
                    p.wait = std::cmp::min(p.wait * 2_i32, MAX_RETRY);
                }
            }
        }
        if changed {
            let mut lists = initial.clone();
            lists.extend(points.values().filter_map(|p| p.list.clone()));
            shelf.replace(lists);
        }
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = shutdown.changed() => return,
        }
    }
}
