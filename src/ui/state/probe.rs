//! The Connectivity probe as the console calls it: connect to a partner's mail server, try
//! STARTTLS, and report the certificate chain it presents and a verdict per policy
//! (opportunistic TLS, RequireTLS, DomainValidation, Domain Security). [`EngineProber`] runs the
//! engine's probe (`mailflow::engine::probe`) on the console's worker thread; [`Unavailable`] is
//! for tests that must not open connections.

use crate::admin::Workspace;
use std::sync::Arc;

/// What to probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeRequest {
    /// The partner domain whose policy is checked (the name the certificate must carry).
    pub domain: String,
    /// `host[:port]` to connect to; when `None`, every host the domain's mail may go to (each
    /// MX host, or each smart host), best first.
    pub host: Option<String>,
}

/// One certificate of the chain the peer presented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeCertificate {
    pub subject: String,
    pub issuer: String,
    pub thumbprint: String,
    pub not_after: String,
}

/// The verdict of one policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyVerdict {
    /// "Opportunistic TLS", "Domain Security for contoso.test", "Direct Trust".
    pub policy: String,
    pub passes: bool,
    /// Why, in words.
    pub detail: String,
}

/// What a probe found.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ProbeReport {
    /// Where it connected (`ip:port`) and the greeting.
    pub connected_to: String,
    /// How the host was found in DNS (`MX mx1.woodgrove.test (preference 10), DNSSEC secure`).
    pub found_by: Option<String>,
    /// What DANE asks of the host, or why it does not apply.
    pub dane: Option<String>,
    /// What the domain's MTA-STS policy asks of the host, or why it does not apply.
    pub mta_sts: Option<String>,
    /// `TLSv1.3 TLS_AES_256_GCM_SHA384`, or `None` when STARTTLS was not offered or failed.
    pub tls: Option<String>,
    pub chain: Vec<ProbeCertificate>,
    pub verdicts: Vec<PolicyVerdict>,
    /// The SMTP dialogue, secrets redacted.
    pub transcript: Vec<String>,
    /// What stopped the probe of this host (connection refused, ...), when probing every host.
    pub error: Option<String>,
}

/// Runs probes. Called on a background worker thread, never on the UI thread.
pub trait Prober: Send + Sync {
    /// Whether this prober opens connections at all (the tests' stand-in does not).
    fn available(&self) -> bool;
    /// Probes the host named, or every host; the error is a sentence for the administrator.
    fn probe(
        &self,
        request: &ProbeRequest,
        workspace: &Workspace,
    ) -> Result<Vec<ProbeReport>, String>;
}

/// What the console says when probing is switched off (tests).
pub const NOT_AVAILABLE: &str =
    "The probe is switched off in this console (a test run): it would open network connections.";

/// A prober that never connects and never fakes a result.
pub struct Unavailable;

impl Prober for Unavailable {
    fn available(&self) -> bool {
        false
    }

    fn probe(&self, _request: &ProbeRequest, _ws: &Workspace) -> Result<Vec<ProbeReport>, String> {
        Err(NOT_AVAILABLE.to_string())
    }
}

/// The engine's connectivity probe, run from the console's worker thread.
pub struct EngineProber;

impl Prober for EngineProber {
    fn available(&self) -> bool {
        true
    }

    fn probe(
        &self,
        request: &ProbeRequest,
        workspace: &Workspace,
    ) -> Result<Vec<ProbeReport>, String> {
        let domain =
            crate::config::domain::normalize(&request.domain).map_err(|e| e.to_string())?;
        let host = request
            .host
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty());
        match host {
            // A typed host: its report, or why it could not be probed.
            Some(host) => {
                let r = crate::engine::probe_now(workspace, Some(host), &domain, None)
                    .map_err(|e| e.to_string())?;
                match r.error {
                    Some(e) => Err(e),
                    None => Ok(vec![console_report(&r)]),
                }
            }
            // Every host the domain's mail may go to, each with its own outcome.
            None => {
                let all = crate::engine::probe_each_host_now(workspace, &domain)
                    .map_err(|e| e.to_string())?;
                if all.is_empty() {
                    return Err(format!("no host to probe for {domain}"));
                }
                Ok(all.iter().map(console_report).collect())
            }
        }
    }
}

/// The engine's report as the console shows it.
fn console_report(r: &crate::engine::probe::ProbeReport) -> ProbeReport {
    {
        let mut transcript: Vec<String> = r.banner.iter().map(|b| format!("< {b}")).collect();
        transcript.extend(r.capabilities.iter().map(|c| format!("< 250 {c}")));
        transcript.push(format!(
            "STARTTLS {}",
            if r.starttls_offered {
                "offered"
            } else {
                "not offered"
            }
        ));
        ProbeReport {
            connected_to: r.target.clone(),
            found_by: r.route.clone(),
            dane: r.dane.clone(),
            mta_sts: r.mta_sts.clone(),
            tls: r
                .tls
                .as_ref()
                .map(|t| format!("{} {}", t.version, t.cipher)),
            chain: r
                .chain
                .iter()
                .map(|c| ProbeCertificate {
                    subject: c.subject.clone(),
                    issuer: c.issuer.clone(),
                    thumbprint: c.thumbprint.clone(),
                    not_after: c.not_after.clone(),
                })
                .collect(),
            verdicts: r
                .verdicts
                .iter()
                .map(|v| PolicyVerdict {
                    policy: v.policy.clone(),
                    passes: v.pass,
                    detail: v.reason.clone(),
                })
                .collect(),
            transcript,
            error: r.error.clone(),
        }
    }
}

/// The prober the console uses: the engine's.
pub fn default_prober() -> Arc<dyn Prober> {
    Arc::new(EngineProber)
}
