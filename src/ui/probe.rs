//! The Connectivity probe as the console calls it: connect to a partner's mail server, try
//! STARTTLS, and report the certificate chain it presents and a verdict per policy
//! (opportunistic TLS, Domain Security, Direct Trust). The engine's probe
//! (`mailflow::engine::probe`, issue 4) is not part of this build yet: [`default_prober`] returns
//! a prober that says so instead of inventing results. Wiring the engine's function in means
//! implementing [`Prober`] for it and returning that from [`default_prober`].

use crate::admin::Workspace;
use std::sync::Arc;

/// What to probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeRequest {
    /// The partner domain whose policy is checked (the name the certificate must carry).
    pub domain: String,
    /// `host[:port]` to connect to; the domain's smart host or MX when `None`.
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
    /// `TLSv1.3 TLS_AES_256_GCM_SHA384`, or `None` when STARTTLS was not offered or failed.
    pub tls: Option<String>,
    pub chain: Vec<ProbeCertificate>,
    pub verdicts: Vec<PolicyVerdict>,
    /// The SMTP dialogue, secrets redacted.
    pub transcript: Vec<String>,
}

/// Runs probes. Called on a background worker thread, never on the UI thread.
pub trait Prober: Send + Sync {
    /// Whether this build can probe at all.
    fn available(&self) -> bool;
    /// Probes; the error is a sentence for the administrator.
    fn probe(&self, request: &ProbeRequest, ws: &Workspace) -> Result<ProbeReport, String>;
}

/// What the console says while the engine has no probe.
pub const NOT_AVAILABLE: &str = "The probe is not available in this build: the relay engine's connectivity probe (mailflow::engine::probe) has not been wired into the console yet.";

/// PLACEHOLDER until `mailflow::engine::probe` exists: never connects, never fakes a result.
pub struct Unavailable;

impl Prober for Unavailable {
    fn available(&self) -> bool {
        false
    }

    fn probe(&self, _request: &ProbeRequest, _ws: &Workspace) -> Result<ProbeReport, String> {
        Err(NOT_AVAILABLE.to_string())
    }
}

/// The prober the console uses. PLACEHOLDER: replace with the engine's probe when it lands.
pub fn default_prober() -> Arc<dyn Prober> {
    Arc::new(Unavailable)
}
