//! The security facts of one hop, as recorded for tracking, the console and the `Received:`
//! header: TLS version, cipher, key exchange, the peer's certificate, a trust verdict in
//! Postfix's vocabulary, and the resulting security status of the message.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Trust in the peer's certificate, in Postfix's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TrustLevel {
    /// No certificate was presented.
    Anonymous,
    /// A certificate was presented but its chain is not trusted.
    Untrusted,
    /// The chain validates to a trusted root (names not checked, or not matching).
    Trusted,
    /// The chain validates and a name matches the policy (or a Direct Trust pin matched).
    Verified,
}

impl fmt::Display for TrustLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrustLevel::Anonymous => "Anonymous",
            TrustLevel::Untrusted => "Untrusted",
            TrustLevel::Trusted => "Trusted",
            TrustLevel::Verified => "Verified",
        })
    }
}

/// The peer's certificate as recorded (never the key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerCertificate {
    pub subject: String,
    pub issuer: String,
    /// The subject's common name (the last CN), as the `Received:` line shows it.
    #[serde(default)]
    pub subject_cn: String,
    /// The issuer's common name.
    #[serde(default)]
    pub issuer_cn: String,
    /// SHA-1, upper-case hex.
    pub thumbprint: String,
    /// SHA-256 of the public key, upper-case hex.
    pub public_key_sha256: String,
    /// SAN dNSNames (or CNs when there is no SAN).
    pub names: Vec<String>,
    /// Unix seconds.
    pub not_after: i64,
}

/// What TLS gave one hop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsFacts {
    /// `TLSv1.3`, `TLSv1.2`.
    pub version: String,
    /// IANA name, e.g. `TLS_AES_256_GCM_SHA384`.
    pub cipher: String,
    /// Symmetric key bits of the cipher (256, 128).
    pub cipher_bits: u16,
    /// `X25519`, `secp256r1`, when known.
    pub key_exchange: Option<String>,
    pub peer_certificate: Option<PeerCertificate>,
    pub trust: TrustLevel,
    /// Why the peer is not trusted or verified, in words (for evidence and the console).
    pub trust_detail: Option<String>,
}

/// The outcome of one check of a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StepOutcome {
    Passed,
    Failed,
    /// An earlier check failed, so this one was not made.
    NotReached,
}

impl StepOutcome {
    pub fn label(self) -> &'static str {
        match self {
            StepOutcome::Passed => "Passed",
            StepOutcome::Failed => "Failed",
            StepOutcome::NotReached => "Not reached",
        }
    }
}

/// One check of the relay's decision on a session or command, in the order the relay makes
/// them: what was checked, how it came out, the facts, and — for a failed check — the setting
/// or certificate that would change it. A refusal is recorded with its steps ("Why").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionStep {
    pub check: String,
    pub outcome: StepOutcome,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl DecisionStep {
    pub fn passed(check: impl Into<String>, detail: impl Into<String>) -> DecisionStep {
        DecisionStep {
            check: check.into(),
            outcome: StepOutcome::Passed,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn failed(
        check: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> DecisionStep {
        DecisionStep {
            check: check.into(),
            outcome: StepOutcome::Failed,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn not_reached(check: impl Into<String>) -> DecisionStep {
        DecisionStep {
            check: check.into(),
            outcome: StepOutcome::NotReached,
            detail: String::new(),
            fix: None,
        }
    }
}

/// How a message travelled, per hop and overall (the worst hop).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SecurityStatus {
    /// Mutual TLS with the partner authenticated for its domain (or Direct Trust).
    DomainSecure,
    /// TLS, peer not authenticated.
    Encrypted,
    /// No TLS.
    Plaintext,
}

impl SecurityStatus {
    pub fn label(self) -> &'static str {
        match self {
            SecurityStatus::DomainSecure => "Domain Secure",
            SecurityStatus::Encrypted => "Encrypted",
            SecurityStatus::Plaintext => "Plaintext",
        }
    }

    /// Parses the label or the enum name, case-insensitively (`domainsecure`, `Domain Secure`).
    pub fn parse(text: &str) -> Option<SecurityStatus> {
        let t: String = text
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        match t.as_str() {
            "domainsecure" | "secure" => Some(SecurityStatus::DomainSecure),
            "encrypted" | "tls" => Some(SecurityStatus::Encrypted),
            "plaintext" | "plain" => Some(SecurityStatus::Plaintext),
            _ => None,
        }
    }
}

impl fmt::Display for SecurityStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Direction of a hop, seen from this server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    Inbound,
    Outbound,
}

/// Everything recorded about one hop of a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HopEvidence {
    pub direction: Direction,
    /// Unix milliseconds.
    pub time: i64,
    pub connector: String,
    /// `ip:port` on our side.
    pub local: String,
    /// `ip:port` of the peer.
    pub remote: String,
    /// The peer's HELO/EHLO name (inbound) or the host we connected to (outbound).
    pub peer_name: String,
    pub tls: Option<TlsFacts>,
    pub security: SecurityStatus,
    /// The policy applied, in words: "opportunistic TLS", "Domain Security for woodgrove.test".
    pub policy: String,
    /// Domain authenticated by Domain Security or Direct Trust, if any.
    pub auth_domain: Option<String>,
    /// `MutualTLS` or `DirectTrust` when authenticated.
    pub auth_mechanism: Option<String>,
}

impl HopEvidence {
    /// The TLS parts in one line, as Postfix logs them: `Trusted TLS ... TLSv1.3 with cipher X`.
    pub fn tls_summary(&self) -> String {
        match &self.tls {
            None => "no TLS".into(),
            Some(t) => format!(
                "{} TLS, {} with cipher {} ({} bits)",
                t.trust, t.version, t.cipher, t.cipher_bits
            ),
        }
    }
}
