//! MTA-STS (RFC 8461): the `_mta-sts` TXT record that announces a policy, the policy file a
//! domain serves over HTTPS, which MX hosts it allows, and which policy is in force for a
//! delivery given what DNS, the fetch and the cache say (§5.1). `enforce` makes TLS 1.2+ with a
//! PKIX-valid certificate for the MX host mandatory and excludes MX hosts the policy does not
//! list; `testing` changes nothing but is reported; `none` withdraws a policy. Where an MX host
//! has usable DANE records, DANE decides for it and MTA-STS is not applied (RFC 8461 §2).
//!
//! Pure: parsing and decisions only; the DNS lookup, the HTTPS fetch and the cache file are
//! the engine's.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The largest policy file accepted (RFC 8461 §3.3 leaves it to the sender; 64 KiB is ample).
pub const MAX_POLICY_BYTES: usize = 64 * 1024;
/// The longest `max_age` a policy may ask for (RFC 8461 §3.2: a year).
pub use crate::config::MTA_STS_MAX_AGE_LIMIT as MAX_AGE_LIMIT;

/// What a policy asks for (the settings' name for it, as our own policy uses it too).
pub use crate::config::MtaStsMode as StsMode;

impl fmt::Display for StsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StsMode::Enforce => "enforce",
            StsMode::Testing => "testing",
            StsMode::None => "none",
        })
    }
}

/// A policy as the domain serves it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StsPolicy {
    pub mode: StsMode,
    /// MX patterns: `mx1.woodgrove.test` or `*.woodgrove.test` (one leftmost label).
    pub mx: Vec<String>,
    /// How long the policy may be cached, in seconds.
    pub max_age: u64,
}

/// Reads the `id` of the `_mta-sts` TXT records of a domain (RFC 8461 §3.1): records that do
/// not start with `v=STSv1` are not about MTA-STS; exactly one must remain, and it must be
/// well formed. `None`: the domain announces no policy.
pub fn announced_id(txt_records: &[String]) -> Option<String> {
    let candidates: Vec<&String> = txt_records
        .iter()
        .filter(|t| t.trim_start().starts_with("v=STSv1"))
        .collect();
    let [record] = candidates.as_slice() else {
        return None;
    };
    let mut fields = record.split(';').map(str::trim).filter(|f| !f.is_empty());
    if fields.next() != Some("v=STSv1") {
        return None;
    }
    let mut id = None;
    for field in fields {
        let (key, value) = field.split_once('=')?;
        if key.trim() == "id" {
            let value = value.trim();
            let valid =
                (1..=32).contains(&value.len()) && value.chars().all(|c| c.is_ascii_alphanumeric());
            if !valid {
                return None;
            }
            id = Some(value.to_string());
        }
    }
    id
}

/// Parses a policy file (RFC 8461 §3.2): `key: value` lines (CRLF or LF); `version: STSv1`,
/// `mode`, `max_age` required; at least one `mx` unless the mode is `none`; unknown keys
/// ignored. `Err` says what is wrong with it.
pub fn parse_policy(text: &str) -> Result<StsPolicy, String> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(format!(
            "the policy is larger than {MAX_POLICY_BYTES} bytes"
        ));
    }
    let (mut version, mut mode, mut max_age) = (None, None, None);
    let mut mx = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(format!("the line {line:?} is not `key: value`"));
        };
        let value = value.trim();
        match key.trim() {
            "version" => version = Some(value.to_string()),
            "mode" => {
                mode = Some(match value {
                    "enforce" => StsMode::Enforce,
                    "testing" => StsMode::Testing,
                    "none" => StsMode::None,
                    other => return Err(format!("mode {other:?} is not enforce, testing or none")),
                })
            }
            "max_age" => {
                let age: u64 = value
                    .parse()
                    .ok()
                    .filter(|a| *a <= MAX_AGE_LIMIT && value.len() <= 10)
                    .ok_or_else(|| {
                        format!(
                            "max_age {value:?} is not a number of seconds up to {MAX_AGE_LIMIT}"
                        )
                    })?;
                max_age = Some(age);
            }
            "mx" => {
                let pattern = value.trim_end_matches('.').to_ascii_lowercase();
                if pattern.is_empty() || pattern.contains(char::is_whitespace) {
                    return Err(format!("mx {value:?} is not a host name pattern"));
                }
                mx.push(pattern);
            }
            _ => {}
        }
    }
    if version.as_deref() != Some("STSv1") {
        return Err("the policy does not say `version: STSv1`".into());
    }
    let mode = mode.ok_or("the policy has no mode")?;
    let max_age = max_age.ok_or("the policy has no max_age")?;
    if mode != StsMode::None && mx.is_empty() {
        return Err(format!("a policy in mode {mode} must list at least one mx"));
    }
    Ok(StsPolicy { mode, mx, max_age })
}

impl StsPolicy {
    /// Whether MX host `host` is one the policy allows (RFC 8461 §4.1: exact, or a `*.`
    /// pattern standing for exactly one leftmost label).
    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.mx
            .iter()
            .any(|pattern| match pattern.strip_prefix("*.") {
                Some(parent) => host
                    .split_once('.')
                    .is_some_and(|(label, rest)| !label.is_empty() && rest == parent),
                None => *pattern == host,
            })
    }

    /// The policy file as a domain serves it (`version`, `mode`, each `mx`, `max_age`, CRLF).
    pub fn to_text(&self) -> String {
        let mut text = format!("version: STSv1\r\nmode: {}\r\n", self.mode);
        for mx in &self.mx {
            text.push_str(&format!("mx: {mx}\r\n"));
        }
        text.push_str(&format!("max_age: {}\r\n", self.max_age));
        text
    }
}

/// Our own policy as the settings describe it.
pub fn published(p: &crate::config::MtaStsPublishing) -> StsPolicy {
    StsPolicy {
        mode: p.mode,
        mx: p.mx.iter().map(|m| m.to_ascii_lowercase()).collect(),
        max_age: p.max_age.as_duration().as_secs(),
    }
}

/// The id of a policy text for the TXT record (RFC 8461 §3.1: 1 to 32 letters and digits): the
/// first 20 hexadecimal digits of its SHA2-256, so it changes exactly when the policy does.
pub fn policy_id(text: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    hex::encode(digest.as_ref())[..20].to_string()
}

/// The TXT record that announces policy `id` for `domain`, as a zone file line.
pub fn txt_record(domain: &str, id: &str) -> String {
    format!("_mta-sts.{domain}. IN TXT \"v=STSv1; id={id}\"")
}

/// A policy as the cache holds it: what was fetched, under which id, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedPolicy {
    pub id: String,
    pub policy: StsPolicy,
    /// When it was fetched, in milliseconds since the epoch.
    pub fetched_ms: i64,
}

impl CachedPolicy {
    /// Whether it may still be used at `now_ms` (within `max_age` of its fetch).
    pub fn is_fresh(&self, now_ms: i64) -> bool {
        let age_ms = i64::try_from(self.policy.max_age)
            .unwrap_or(i64::MAX)
            .saturating_mul(1000);
        now_ms < self.fetched_ms.saturating_add(age_ms)
    }
}

/// What the DNS and the fetch said this time, as [`next_step`] and [`in_force`] read them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Announcement {
    /// The TXT record announces a policy with this id.
    Id(String),
    /// No TXT record, or none valid: no policy announced.
    Nothing,
    /// The TXT lookup failed (no answer): nothing is known.
    Unknown(String),
}

/// Whether a fetch is needed: an announced id that the cache does not hold fresh (RFC 8461
/// §5.1: a new id, or an expired policy, is fetched again).
pub fn needs_fetch(announced: &Announcement, cached: Option<&CachedPolicy>, now_ms: i64) -> bool {
    match announced {
        Announcement::Id(id) => !cached.is_some_and(|c| c.id == *id && c.is_fresh(now_ms)),
        Announcement::Nothing | Announcement::Unknown(_) => false,
    }
}

/// The policy in force for a delivery, and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InForce {
    /// No policy: deliver as if MTA-STS did not exist.
    NoPolicy(String),
    /// A policy is announced, none is cached, and the fetch failed: delivered as without a
    /// policy, and the failure reported (RFC 8460 §4.3.2.4).
    Unusable(FetchFailure),
    /// This policy, with a note (`fetched`, `cached`, `cached: the fetch failed …`).
    Policy { policy: StsPolicy, note: String },
}

/// Why a policy announced could not be used (RFC 8460 names the two in its reports).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchFailure {
    /// The policy host could not be reached or did not serve it (`sts-policy-fetch-error`).
    Fetch(String),
    /// What it served is not a policy (`sts-policy-invalid`).
    Invalid(String),
}

impl std::fmt::Display for FetchFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchFailure::Fetch(why) | FetchFailure::Invalid(why) => f.write_str(why),
        }
    }
}

/// The policy in force given the announcement, the cache and the fetch (RFC 8461 §5.1): a
/// fresh fetch wins; a failed fetch or a missing TXT record falls back to a fresh cached
/// policy (an attacker who strips the TXT record or blocks the fetch gains nothing); without
/// either there is no policy.
pub fn in_force(
    announced: &Announcement,
    cached: Option<&CachedPolicy>,
    fetched: Option<&Result<StsPolicy, FetchFailure>>,
    now_ms: i64,
) -> InForce {
    if let Some(Ok(policy)) = fetched {
        return InForce::Policy {
            policy: policy.clone(),
            note: "fetched now".into(),
        };
    }
    let fresh = cached.filter(|c| c.is_fresh(now_ms));
    match (fresh, fetched) {
        (Some(c), Some(Err(why))) => InForce::Policy {
            policy: c.policy.clone(),
            note: format!("cached policy {} (the fetch failed: {why})", c.id),
        },
        (Some(c), _) => InForce::Policy {
            policy: c.policy.clone(),
            note: match announced {
                Announcement::Id(id) if *id == c.id => format!("cached policy {id}"),
                Announcement::Id(_) => format!("cached policy {}", c.id),
                Announcement::Nothing => {
                    format!("cached policy {} (no TXT record now)", c.id)
                }
                Announcement::Unknown(why) => {
                    format!("cached policy {} (the TXT lookup failed: {why})", c.id)
                }
            },
        },
        (None, Some(Err(failure))) => InForce::Unusable(failure.clone()),
        (None, _) => InForce::NoPolicy(match announced {
            Announcement::Unknown(why) => format!("the MTA-STS TXT lookup failed: {why}"),
            _ => "no MTA-STS policy".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txt(records: &[&str]) -> Vec<String> {
        records.iter().map(|r| r.to_string()).collect()
    }

    #[test]
    fn the_txt_record_announces_an_id() {
        assert_eq!(
            announced_id(&txt(&["v=STSv1; id=20160831085700Z;"])),
            Some("20160831085700Z".into())
        );
        assert_eq!(
            announced_id(&txt(&["v=spf1 -all", "v=STSv1;id=abc"])),
            Some("abc".into()),
            "other TXT records do not count"
        );
        assert_eq!(
            announced_id(&txt(&["v=STSv1; id=a", "v=STSv1; id=b"])),
            None
        );
        assert_eq!(announced_id(&txt(&["v=STSv1; id=has-dash"])), None);
        assert_eq!(announced_id(&txt(&["v=STSv1;"])), None);
        assert_eq!(announced_id(&txt(&["v=STSv2; id=a"])), None);
        assert_eq!(announced_id(&txt(&[])), None);
    }

    #[test]
    fn a_policy_file_is_parsed_as_the_rfc_writes_it() {
        let p = parse_policy(
            "version: STSv1\r\nmode: enforce\r\nmx: mx1.woodgrove.test\r\nmx: *.backup.woodgrove.test\r\nmax_age: 604800\r\nfuture: ignored\r\n",
        )
        .unwrap();
        assert_eq!(p.mode, StsMode::Enforce);
        assert_eq!(p.max_age, 604800);
        assert!(p.allows("MX1.woodgrove.test."));
        assert!(p.allows("a.backup.woodgrove.test"));
        assert!(!p.allows("backup.woodgrove.test"));
        assert!(!p.allows("a.b.backup.woodgrove.test"));
        assert!(!p.allows("mx2.woodgrove.test"));
        assert_eq!(parse_policy(&p.to_text()), Ok(p));
        // LF line ends are accepted too.
        assert!(parse_policy("version: STSv1\nmode: none\nmax_age: 0\n").is_ok());
    }

    #[test]
    fn our_published_policy_reads_back_and_its_id_follows_it() {
        let ours = crate::config::MtaStsPublishing {
            listen: "0.0.0.0:443".into(),
            mode: StsMode::Enforce,
            mx: vec!["Mail.Contoso.test".into()],
            max_age: crate::config::units::TimeSpan::secs(604_800),
        };
        let text = published(&ours).to_text();
        let back = parse_policy(&text).unwrap();
        assert!(back.allows("mail.contoso.test") && back.max_age == 604_800);
        let id = policy_id(&text);
        let record = txt_record("contoso.test", &id);
        assert_eq!(
            record,
            format!("_mta-sts.contoso.test. IN TXT \"v=STSv1; id={id}\"")
        );
        let quoted = record.split('"').nth(1).unwrap().to_string();
        assert_eq!(
            announced_id(&[quoted]),
            Some(id.clone()),
            "senders read our id"
        );
        let testing = crate::config::MtaStsPublishing {
            mode: StsMode::Testing,
            ..ours
        };
        assert_ne!(policy_id(&published(&testing).to_text()), id);
    }

    #[test]
    fn a_bad_policy_file_says_what_is_wrong() {
        let bad = |text: &str, says: &str| {
            let why = parse_policy(text).unwrap_err();
            assert!(why.contains(says), "{text:?}: {why}");
        };
        bad("mode: enforce\nmx: a.b\nmax_age: 1\n", "version: STSv1");
        bad(
            "version: STSv1\nmode: strict\nmx: a.b\nmax_age: 1\n",
            "not enforce",
        );
        bad(
            "version: STSv1\nmode: enforce\nmax_age: 1\n",
            "at least one mx",
        );
        bad("version: STSv1\nmode: enforce\nmx: a.b\n", "no max_age");
        bad(
            "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 99999999999\n",
            "max_age",
        );
        bad(
            "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: -1\n",
            "max_age",
        );
        bad("<html>not a policy</html>\n", "not `key: value`");
        bad(&"x".repeat(MAX_POLICY_BYTES + 1), "larger than");
    }

    fn cached(id: &str, fetched_ms: i64) -> CachedPolicy {
        CachedPolicy {
            id: id.into(),
            policy: StsPolicy {
                mode: StsMode::Enforce,
                mx: vec!["mx1.woodgrove.test".into()],
                max_age: 100,
            },
            fetched_ms,
        }
    }

    #[test]
    fn the_cache_is_used_until_max_age_and_refetched_on_a_new_id() {
        let c = cached("one", 0);
        assert!(c.is_fresh(99_999) && !c.is_fresh(100_000));
        let id = |s: &str| Announcement::Id(s.into());
        assert!(!needs_fetch(&id("one"), Some(&c), 50_000));
        assert!(needs_fetch(&id("two"), Some(&c), 50_000), "a new id");
        assert!(needs_fetch(&id("one"), Some(&c), 200_000), "expired");
        assert!(needs_fetch(&id("one"), None, 0));
        assert!(!needs_fetch(&Announcement::Nothing, None, 0));
    }

    #[test]
    fn which_policy_is_in_force() {
        let c = cached("one", 0);
        let fetched = Ok(StsPolicy {
            mode: StsMode::Testing,
            mx: vec!["*.woodgrove.test".into()],
            max_age: 10,
        });
        let failed: Result<StsPolicy, FetchFailure> = Err(FetchFailure::Fetch("timed out".into()));
        let id = Announcement::Id("two".into());
        assert!(matches!(
            in_force(&id, Some(&c), Some(&fetched), 1),
            InForce::Policy { policy, .. } if policy.mode == StsMode::Testing
        ));
        match in_force(&id, Some(&c), Some(&failed), 1) {
            InForce::Policy { policy, note } => {
                assert_eq!(policy.mode, StsMode::Enforce);
                assert!(note.contains("the fetch failed: timed out"), "{note}");
            }
            other => panic!("{other:?}"),
        }
        // The TXT record stripped: the cached policy still holds until it expires.
        assert!(matches!(
            in_force(&Announcement::Nothing, Some(&c), None, 1),
            InForce::Policy { .. }
        ));
        assert!(matches!(
            in_force(&Announcement::Nothing, Some(&c), None, 100_000),
            InForce::NoPolicy(_)
        ));
        assert_eq!(
            in_force(&id, None, Some(&failed), 1),
            InForce::Unusable(FetchFailure::Fetch("timed out".into()))
        );
    }
}
