//! SMTP TLS reporting (RFC 8460): what a delivery attempt's TLS outcome is under the policy
//! that applied to it (DANE's TLSA records, an MTA-STS policy, or none), the `_smtp._tls` TXT
//! record that says where a domain wants its reports, and the aggregate report in the RFC's
//! JSON (§4.4), built from the outcomes of one day.
//!
//! Pure: the engine records outcomes and stores them; this module decides what they mean.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The kind of policy an outcome was judged under (RFC 8460 §4.4, `policy-type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PolicyType {
    #[serde(rename = "tlsa")]
    Tlsa,
    #[serde(rename = "sts")]
    Sts,
    #[serde(rename = "no-policy-found")]
    NoPolicyFound,
}

/// Why a TLS session failed (RFC 8460 §4.3, `result-type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ResultType {
    #[serde(rename = "starttls-not-supported")]
    StarttlsNotSupported,
    #[serde(rename = "certificate-host-mismatch")]
    CertificateHostMismatch,
    #[serde(rename = "certificate-expired")]
    CertificateExpired,
    #[serde(rename = "certificate-not-trusted")]
    CertificateNotTrusted,
    #[serde(rename = "validation-failure")]
    ValidationFailure,
    #[serde(rename = "tlsa-invalid")]
    TlsaInvalid,
    #[serde(rename = "dnssec-invalid")]
    DnssecInvalid,
    #[serde(rename = "dane-required")]
    DaneRequired,
    #[serde(rename = "sts-policy-fetch-error")]
    StsPolicyFetchError,
    #[serde(rename = "sts-policy-invalid")]
    StsPolicyInvalid,
    #[serde(rename = "sts-webpki-invalid")]
    StsWebpkiInvalid,
}

/// The policy a next hop was judged under, as a report names it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ReportPolicy {
    pub policy_type: PolicyType,
    /// The TLSA records (`3 1 1 8f0c…`) or the MTA-STS policy's lines.
    pub policy_strings: Vec<String>,
    /// The MTA-STS policy's `mx` patterns (empty for TLSA and no policy).
    pub mx_patterns: Vec<String>,
}

impl ReportPolicy {
    /// No policy applied.
    pub fn none() -> ReportPolicy {
        ReportPolicy {
            policy_type: PolicyType::NoPolicyFound,
            policy_strings: Vec::new(),
            mx_patterns: Vec::new(),
        }
    }
}

/// One TLS session (or attempt) to an MX host of `policy_domain`, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionOutcome {
    pub policy_domain: String,
    pub policy: ReportPolicy,
    pub mx_host: String,
    pub receiving_ip: Option<String>,
    pub sending_ip: Option<String>,
    /// `None`: the session was a success.
    pub failure: Option<ResultType>,
    /// What went wrong, in words (`additional-information`, for people).
    pub detail: Option<String>,
}

/// Where a domain wants its reports (`_smtp._tls` TXT, RFC 8460 §3): the `rua` URIs of the one
/// record that starts with `v=TLSRPTv1`; none when there is no such single record.
pub fn report_addresses(txt_records: &[String]) -> Vec<String> {
    let candidates: Vec<&String> = txt_records
        .iter()
        .filter(|t| t.trim_start().starts_with("v=TLSRPTv1"))
        .collect();
    let [record] = candidates.as_slice() else {
        return Vec::new();
    };
    record
        .split(';')
        .filter_map(|field| field.trim().strip_prefix("rua="))
        .flat_map(|uris| uris.split(','))
        .map(|uri| uri.trim().to_string())
        .filter(|uri| uri.starts_with("mailto:") || uri.starts_with("https:"))
        .collect()
}

/// The `_smtp._tls` TXT record that asks others to mail their reports about `domain` to
/// `address` (RFC 8460 §3): its name and its text.
pub fn report_record(domain: &str, address: &str) -> (String, String) {
    (
        format!("_smtp._tls.{domain}"),
        format!("v=TLSRPTv1; rua=mailto:{address}"),
    )
}

impl PolicyType {
    /// The RFC's word (`sts`, `tlsa`, `no-policy-found`).
    pub fn word(self) -> &'static str {
        match self {
            PolicyType::Tlsa => "tlsa",
            PolicyType::Sts => "sts",
            PolicyType::NoPolicyFound => "no-policy-found",
        }
    }
}

impl ResultType {
    /// The RFC's word (`certificate-expired`, ...).
    pub fn word(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

/// One policy of one received report, as the console and `mailflow tls-report received` list it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedRow {
    /// The reported period's first day (`2026-12-06`).
    pub period_start: String,
    /// The reporting organization.
    pub reporter: String,
    /// Its submitting host.
    pub submitter: String,
    pub policy_domain: String,
    /// `sts`, `tlsa`, `no-policy-found`.
    pub policy_type: &'static str,
    pub successful: u64,
    pub failed: u64,
    /// Failures as people read them: `certificate-expired ×2 at mail.contoso.test`.
    pub failures: Vec<String>,
}

/// The rows of received reports (`(submitter, report)`), optionally about one domain only, in
/// the order given.
pub fn received_rows<'a>(
    reports: impl Iterator<Item = (&'a String, &'a Report)>,
    domain: Option<&str>,
) -> Vec<ReceivedRow> {
    let mut rows = Vec::new();
    for (submitter, r) in reports {
        for p in &r.policies {
            if domain.is_some_and(|d| !p.policy.policy_domain.eq_ignore_ascii_case(d)) {
                continue;
            }
            rows.push(ReceivedRow {
                period_start: r.date_range.start_datetime.chars().take(10).collect(),
                reporter: r.organization_name.clone(),
                submitter: submitter.clone(),
                policy_domain: p.policy.policy_domain.clone(),
                policy_type: p.policy.policy_type.word(),
                successful: p.summary.total_successful_session_count,
                failed: p.summary.total_failure_session_count,
                failures: p
                    .failure_details
                    .iter()
                    .map(|f| {
                        let mut t = format!("{} ×{}", f.result_type.word(), f.failed_session_count);
                        if let Some(h) = &f.receiving_mx_hostname {
                            t.push_str(&format!(" at {h}"));
                        }
                        t
                    })
                    .collect(),
            });
        }
    }
    rows
}

/// Sessions by day over all rows (`2026-12-06` → (successful, failed)), days in order: what
/// the console's chart draws.
pub fn daily_totals(rows: &[ReceivedRow]) -> Vec<(String, u64, u64)> {
    let mut by_day: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for r in rows {
        let e = by_day.entry(r.period_start.as_str()).or_default();
        e.0 += r.successful;
        e.1 += r.failed;
    }
    by_day
        .into_iter()
        .map(|(d, (ok, failed))| (d.to_string(), ok, failed))
        .collect()
}

/// A day's outcomes summed by policy domain: (domain, successful, failed), domains in order.
pub fn outcome_totals(outcomes: &[SessionOutcome]) -> Vec<(String, u64, u64)> {
    let mut by_domain: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for o in outcomes {
        let e = by_domain.entry(o.policy_domain.as_str()).or_default();
        if o.failure.is_some() {
            e.1 += 1;
        } else {
            e.0 += 1;
        }
    }
    by_domain
        .into_iter()
        .map(|(d, (ok, failed))| (d.to_string(), ok, failed))
        .collect()
}

/// How long a report address that failed (an `https:` address that did not take the report,
/// a `mailto:` address whose mail failed) is left out: three days of reports.
pub const SUPPRESS_FAILING_FOR_MS: i64 = 3 * 86_400_000;

/// Reads a report's JSON (one another organization sent us).
pub fn parse_report(json: &[u8]) -> Result<Report, String> {
    serde_json::from_slice(json)
        .map_err(|e| format!("the report is not the JSON of RFC 8460 §4.4: {e}"))
}

/// The aggregate report (RFC 8460 §4.4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Report {
    pub organization_name: String,
    pub date_range: DateRange,
    #[serde(default)]
    pub contact_info: String,
    pub report_id: String,
    pub policies: Vec<PolicyReport>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct DateRange {
    pub start_datetime: String,
    pub end_datetime: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PolicyReport {
    pub policy: PolicyDescription,
    pub summary: Summary,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failure_details: Vec<FailureDetail>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PolicyDescription {
    pub policy_type: PolicyType,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_string: Vec<String>,
    pub policy_domain: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mx_host: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Summary {
    pub total_successful_session_count: u64,
    pub total_failure_session_count: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FailureDetail {
    pub result_type: ResultType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sending_mta_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving_mx_hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving_ip: Option<String>,
    pub failed_session_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_information: Option<String>,
}

/// Who reports, for which day.
pub struct Reporter<'a> {
    pub organization_name: &'a str,
    pub contact_info: &'a str,
    /// The day's start and end (`2026-12-07T00:00:00Z`, `2026-12-07T23:59:59Z`).
    pub start: &'a str,
    pub end: &'a str,
    pub report_id: &'a str,
}

/// The report for `domain` from a day's `outcomes` (others' outcomes are left out): one entry a
/// policy, its sessions summed, its failures grouped by result type, host and addresses.
pub fn aggregate(reporter: &Reporter<'_>, domain: &str, outcomes: &[SessionOutcome]) -> Report {
    let mut by_policy: BTreeMap<&ReportPolicy, Vec<&SessionOutcome>> = BTreeMap::new();
    for o in outcomes.iter().filter(|o| o.policy_domain == domain) {
        by_policy.entry(&o.policy).or_default().push(o);
    }
    let policies = by_policy
        .into_iter()
        .map(|(policy, sessions)| {
            let successes = sessions.iter().filter(|s| s.failure.is_none()).count() as u64;
            let mut failures: BTreeMap<_, (u64, Option<String>)> = BTreeMap::new();
            for s in sessions.iter().filter(|s| s.failure.is_some()) {
                let key = (
                    s.failure,
                    s.sending_ip.clone(),
                    s.mx_host.clone(),
                    s.receiving_ip.clone(),
                );
                let entry = failures.entry(key).or_insert((0, s.detail.clone()));
                entry.0 += 1;
            }
            let failure_details: Vec<FailureDetail> = failures
                .into_iter()
                .filter_map(|((result, sending, mx, receiving), (count, detail))| {
                    Some(FailureDetail {
                        result_type: result?,
                        sending_mta_ip: sending,
                        receiving_mx_hostname: Some(mx),
                        receiving_ip: receiving,
                        failed_session_count: count,
                        additional_information: detail,
                    })
                })
                .collect();
            PolicyReport {
                policy: PolicyDescription {
                    policy_type: policy.policy_type,
                    policy_string: policy.policy_strings.clone(),
                    policy_domain: domain.to_string(),
                    mx_host: policy.mx_patterns.clone(),
                },
                summary: Summary {
                    total_successful_session_count: successes,
                    total_failure_session_count: failure_details
                        .iter()
                        .map(|f| f.failed_session_count)
                        .sum(),
                },
                failure_details,
            }
        })
        .collect();
    Report {
        organization_name: reporter.organization_name.to_string(),
        date_range: DateRange {
            start_datetime: reporter.start.to_string(),
            end_datetime: reporter.end.to_string(),
        },
        contact_info: reporter.contact_info.to_string(),
        report_id: reporter.report_id.to_string(),
        policies,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(policy: &ReportPolicy, failure: Option<ResultType>, mx: &str) -> SessionOutcome {
        SessionOutcome {
            policy_domain: "woodgrove.test".into(),
            policy: policy.clone(),
            mx_host: mx.into(),
            receiving_ip: Some("192.0.2.25".into()),
            sending_ip: Some("198.51.100.7".into()),
            failure,
            detail: failure.map(|_| "the certificate matches no TLSA record".into()),
        }
    }

    #[test]
    fn the_txt_record_names_the_report_addresses() {
        let txt = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            report_addresses(&txt(&[
                "v=TLSRPTv1; rua=mailto:tlsrpt@woodgrove.test,https://reports.woodgrove.test/v1"
            ])),
            [
                "mailto:tlsrpt@woodgrove.test",
                "https://reports.woodgrove.test/v1"
            ]
        );
        assert!(report_addresses(&txt(&["v=spf1 -all"])).is_empty());
        assert!(
            report_addresses(&txt(&[
                "v=TLSRPTv1; rua=mailto:a@b",
                "v=TLSRPTv1; rua=mailto:c@d"
            ]))
            .is_empty()
        );
        assert!(report_addresses(&txt(&["v=TLSRPTv1; rua=ftp://x"])).is_empty());
    }

    #[test]
    fn a_day_of_outcomes_makes_the_rfcs_json() {
        let tlsa = ReportPolicy {
            policy_type: PolicyType::Tlsa,
            policy_strings: vec!["3 1 1 8f0c".into()],
            mx_patterns: Vec::new(),
        };
        let outcomes = vec![
            outcome(&tlsa, None, "mx1.woodgrove.test"),
            outcome(&tlsa, None, "mx1.woodgrove.test"),
            outcome(
                &tlsa,
                Some(ResultType::ValidationFailure),
                "mx2.woodgrove.test",
            ),
            outcome(
                &tlsa,
                Some(ResultType::ValidationFailure),
                "mx2.woodgrove.test",
            ),
            outcome(&ReportPolicy::none(), None, "mx1.woodgrove.test"),
            SessionOutcome {
                policy_domain: "fabrikam.test".into(),
                ..outcome(&tlsa, None, "mx.fabrikam.test")
            },
        ];
        let reporter = Reporter {
            organization_name: "Contoso",
            contact_info: "mailto:postmaster@contoso.test",
            start: "2026-12-07T00:00:00Z",
            end: "2026-12-07T23:59:59Z",
            report_id: "2026-12-07_woodgrove.test@mail.contoso.test",
        };
        let report = aggregate(&reporter, "woodgrove.test", &outcomes);
        let json: serde_json::Value = serde_json::to_value(&report).unwrap();
        assert_eq!(json["organization-name"], "Contoso");
        assert_eq!(json["date-range"]["start-datetime"], "2026-12-07T00:00:00Z");
        assert_eq!(json["policies"].as_array().unwrap().len(), 2, "{json:#}");
        let tlsa_entry = &json["policies"][0];
        assert_eq!(tlsa_entry["policy"]["policy-type"], "tlsa");
        assert_eq!(tlsa_entry["policy"]["policy-string"][0], "3 1 1 8f0c");
        assert_eq!(tlsa_entry["policy"]["policy-domain"], "woodgrove.test");
        assert_eq!(tlsa_entry["summary"]["total-successful-session-count"], 2);
        assert_eq!(tlsa_entry["summary"]["total-failure-session-count"], 2);
        let detail = &tlsa_entry["failure-details"][0];
        assert_eq!(detail["result-type"], "validation-failure");
        assert_eq!(detail["receiving-mx-hostname"], "mx2.woodgrove.test");
        assert_eq!(detail["failed-session-count"], 2);
        assert_eq!(
            json["policies"][1]["policy"]["policy-type"],
            "no-policy-found"
        );
        assert!(json["policies"][1].get("failure-details").is_none());
        // It reads back.
        let back: Report = serde_json::from_value(json).unwrap();
        assert_eq!(back, report);
    }

    #[test]
    fn received_reports_become_rows_and_daily_totals() {
        let tlsa = ReportPolicy {
            policy_type: PolicyType::Tlsa,
            policy_strings: vec!["3 1 1 8f0c".into()],
            mx_patterns: Vec::new(),
        };
        let day = |d: &str, ok: usize, bad: usize| {
            let mut outcomes = Vec::new();
            for _ in 0..ok {
                outcomes.push(outcome(&tlsa, None, "mx1.woodgrove.test"));
            }
            for _ in 0..bad {
                outcomes.push(outcome(
                    &tlsa,
                    Some(ResultType::CertificateExpired),
                    "mx1.woodgrove.test",
                ));
            }
            let start = format!("{d}T00:00:00Z");
            let end = format!("{d}T23:59:59Z");
            let reporter = Reporter {
                organization_name: "Fabrikam",
                contact_info: "",
                start: &start,
                end: &end,
                report_id: d,
            };
            aggregate(&reporter, "woodgrove.test", &outcomes)
        };
        let sub = "mx.fabrikam.test".to_string();
        let reports = [
            day("2026-12-05", 3, 0),
            day("2026-12-06", 1, 2),
            day("2026-12-06", 4, 0),
        ];
        let rows = received_rows(reports.iter().map(|r| (&sub, r)), None);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].period_start, "2026-12-06");
        assert_eq!(rows[1].policy_type, "tlsa");
        assert_eq!(
            rows[1].failures,
            vec!["certificate-expired ×2 at mx1.woodgrove.test"]
        );
        assert_eq!(
            daily_totals(&rows),
            vec![
                ("2026-12-05".to_string(), 3, 0),
                ("2026-12-06".to_string(), 5, 2)
            ]
        );
        assert!(received_rows(reports.iter().map(|r| (&sub, r)), Some("other.test")).is_empty());
        let outcomes = [
            outcome(&tlsa, None, "mx1.woodgrove.test"),
            outcome(&tlsa, Some(ResultType::DaneRequired), "mx1.woodgrove.test"),
            SessionOutcome {
                policy_domain: "fabrikam.test".into(),
                ..outcome(&tlsa, None, "mx.fabrikam.test")
            },
        ];
        assert_eq!(
            outcome_totals(&outcomes),
            vec![
                ("fabrikam.test".to_string(), 1, 0),
                ("woodgrove.test".to_string(), 1, 1)
            ]
        );
        assert_eq!(
            report_record("contoso.test", "tls@contoso.test"),
            (
                "_smtp._tls.contoso.test".to_string(),
                "v=TLSRPTv1; rua=mailto:tls@contoso.test".to_string()
            )
        );
    }
}
