//! MTA-STS for delivery (RFC 8461): the `_mta-sts` TXT lookup, the policy fetch from
//! `https://mta-sts.<domain>/.well-known/mta-sts.txt` (reqwest with rustls: a PKIX-valid
//! certificate for that host from the system's roots or ours, no redirects, a timeout and a size
//! cap, the host's addresses from our resolver), and the cache kept across restarts. Which
//! policy is in force is decided by `policy::mta_sts`; what it means for each MX host is
//! [`StsForHop`].

use super::dns::Dns;
use crate::policy::mta_sts::{
    Announcement, CachedPolicy, FetchFailure, InForce, MAX_POLICY_BYTES, StsMode, StsPolicy,
    announced_id, in_force, needs_fetch, parse_policy,
};
use crate::store::DataDir;
use crate::store::clock::now_ms;
use crate::store::sts_cache::{self, StsCache};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a policy fetch may take in all (RFC 8461 §3.3 suggests a minute at most).
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// What MTA-STS asks of the connection to one MX host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StsForHop {
    /// MTA-STS does not apply, and why.
    NotApplicable(String),
    /// `enforce`: TLS with a certificate valid for the MX host from a trusted root, or nothing.
    Enforce(String),
    /// `testing`: delivered as without a policy; what would fail is reported.
    Testing(String),
}

impl StsForHop {
    /// In words, for the evidence and the probe.
    pub fn describe(&self) -> &str {
        match self {
            StsForHop::NotApplicable(why) | StsForHop::Enforce(why) | StsForHop::Testing(why) => {
                why
            }
        }
    }
}

/// The policy cache of a relay, in memory and on disk.
pub struct MtaSts {
    dir: DataDir,
    cache: Mutex<StsCache>,
}

impl MtaSts {
    /// The cache of data directory `dir` as stored.
    pub fn open(dir: &DataDir) -> MtaSts {
        MtaSts {
            dir: dir.clone(),
            cache: Mutex::new(sts_cache::load(dir)),
        }
    }

    /// The policy in force for `domain` now: the TXT record looked up, the policy fetched
    /// when its id is new or the cached one has expired (from `port`, 443 but in tests,
    /// trusting `roots` besides the system's), the cache updated.
    pub async fn policy_for(
        &self,
        dns: &Arc<Dns>,
        domain: &str,
        port: u16,
        roots: &[Vec<u8>],
    ) -> InForce {
        let now = now_ms();
        let announced = match dns.txt(&format!("_mta-sts.{domain}")).await {
            Ok(records) => announced_id(&records)
                .map(Announcement::Id)
                .unwrap_or(Announcement::Nothing),
            Err(why) => Announcement::Unknown(why),
        };
        let cached = self.cached(domain);
        let fetched = if needs_fetch(&announced, cached.as_ref(), now) {
            Some(fetch(dns.clone(), domain, port, roots).await)
        } else {
            None
        };
        if let (Announcement::Id(id), Some(Ok(policy))) = (&announced, &fetched) {
            self.remember(
                domain,
                CachedPolicy {
                    id: id.clone(),
                    policy: policy.clone(),
                    fetched_ms: now,
                },
            )
            .await;
        }
        in_force(&announced, cached.as_ref(), fetched.as_ref(), now)
    }

    fn cached(&self, domain: &str) -> Option<CachedPolicy> {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(domain)
            .cloned()
    }

    /// Keeps a fetched policy, in memory and on disk (off the async threads). A cache that
    /// cannot be written costs a fetch after a restart, nothing more: it is logged.
    async fn remember(&self, domain: &str, policy: CachedPolicy) {
        let snapshot = {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            cache.insert(domain.to_string(), policy);
            cache.clone()
        };
        let dir = self.dir.clone();
        let saved = tokio::task::spawn_blocking(move || sts_cache::save(&dir, &snapshot)).await;
        if let Ok(Err(e)) = saved {
            tracing::warn!("the MTA-STS policy cache cannot be saved: {e}");
        }
    }
}

/// What MTA-STS asks of MX host `host` under the policy in force; `None` when an enforced
/// policy does not list the host, which is then not used (RFC 8461 §4.1).
pub fn for_host(in_force: &InForce, host: &str) -> Option<StsForHop> {
    match in_force {
        InForce::NoPolicy(why) => Some(StsForHop::NotApplicable(why.clone())),
        InForce::Unusable(failure) => Some(StsForHop::NotApplicable(format!(
            "a policy is announced but could not be used: {failure}"
        ))),
        InForce::Policy { policy, note } => match policy.mode {
            StsMode::None => Some(StsForHop::NotApplicable(format!(
                "MTA-STS policy in mode none ({note})"
            ))),
            StsMode::Enforce if policy.allows(host) => Some(StsForHop::Enforce(format!(
                "MTA-STS enforce ({note}): TLS with a certificate valid for {host} required"
            ))),
            StsMode::Enforce => None,
            StsMode::Testing => Some(StsForHop::Testing(format!(
                "MTA-STS testing ({note}){}",
                if policy.allows(host) {
                    String::new()
                } else {
                    format!("; {host} is not in the policy")
                }
            ))),
        },
    }
}

/// Fetches and parses the policy of `domain`.
async fn fetch(
    dns: Arc<Dns>,
    domain: &str,
    port: u16,
    roots: &[Vec<u8>],
) -> Result<StsPolicy, FetchFailure> {
    let url = format!("https://mta-sts.{domain}/.well-known/mta-sts.txt");
    let client = super::https::client(dns, port, roots, FETCH_TIMEOUT, "MTA-STS")
        .map_err(FetchFailure::Fetch)?;
    let mut response = client
        .get(&url)
        .send()
        .await
        .map_err(|e| FetchFailure::Fetch(format!("{url}: {}", super::https::causes(&e))))?;
    if response.status() != reqwest::StatusCode::OK {
        return Err(FetchFailure::Fetch(format!(
            "{url} answered {} (a policy is served with 200 OK; redirects are not followed)",
            response.status()
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| FetchFailure::Fetch(format!("{url}: {}", super::https::causes(&e))))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_POLICY_BYTES {
            return Err(FetchFailure::Invalid(format!(
                "{url}: the policy is larger than {MAX_POLICY_BYTES} bytes"
            )));
        }
    }
    let text = String::from_utf8(body)
        .map_err(|_| FetchFailure::Invalid(format!("{url}: the policy is not UTF-8")))?;
    parse_policy(&text).map_err(|why| FetchFailure::Invalid(format!("{url}: {why}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::classify::{HopPolicy, hop_policies};

    /// The console's Policy columns read MTA-STS from these words: enforce and testing count,
    /// no policy does not.
    #[test]
    fn what_mta_sts_writes_for_a_host_is_read_back_as_mta_sts() {
        let policy = |mode| InForce::Policy {
            policy: StsPolicy {
                mode,
                mx: vec!["mx1.woodgrove.test".into()],
                max_age: 86_400,
            },
            note: "fetched now".into(),
        };
        for mode in [StsMode::Enforce, StsMode::Testing] {
            let hop = for_host(&policy(mode), "mx1.woodgrove.test").expect("listed");
            let line = format!("opportunistic TLS; {}", hop.describe());
            assert_eq!(hop_policies(&line), vec![HopPolicy::MtaSts], "{line}");
        }
        let none = for_host(
            &InForce::NoPolicy("no MTA-STS policy".into()),
            "mx1.woodgrove.test",
        )
        .expect("applies");
        let line = format!("opportunistic TLS; {}", none.describe());
        assert_eq!(
            hop_policies(&line),
            vec![HopPolicy::Opportunistic],
            "{line}"
        );
    }
}
