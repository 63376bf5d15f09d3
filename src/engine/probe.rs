//! The connectivity probe: connect to a host as a send connector would, and report the banner,
//! the EHLO capabilities, STARTTLS, the TLS version and cipher, the server's certificate chain
//! with inspection findings, and a verdict for each policy — opportunistic, RequireTLS with
//! CertificateValidation, DomainValidation for a domain, and Domain Security for that domain
//! presenting our certificate, and DANE where the host publishes TLSA records — each with the
//! exact reason when it fails. Nothing is sent after EHLO but QUIT.

use super::config::RunConfig;
use super::dns::{DaneLookup, Dns, RouteFailure};
use super::mta_sts::StsForHop;
use super::outbound::{NextHop, Session, StartTls, StartTlsError, mx_hops};
use crate::pki::inspect::{self, Finding, InspectContext};
use crate::policy::dane::{self, DanePolicy};
use crate::policy::outbound::{TlsRequirement, judge};
use crate::policy::routing::{Route, route};
use crate::smtp::client::Capabilities;
use crate::smtp::evidence::{TlsFacts, TrustLevel};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One policy's verdict.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PolicyVerdict {
    pub policy: String,
    pub pass: bool,
    pub reason: String,
}

/// A certificate of the chain as the probe shows it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChainEntry {
    pub subject: String,
    pub issuer: String,
    pub thumbprint: String,
    pub not_after: String,
    pub names: Vec<String>,
    pub findings: Vec<String>,
}

/// Everything the probe found.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ProbeReport {
    pub target: String,
    pub domain: String,
    pub banner: Option<String>,
    pub capabilities: Vec<String>,
    pub starttls_offered: bool,
    pub tls: Option<TlsFacts>,
    pub chain: Vec<ChainEntry>,
    pub verdicts: Vec<PolicyVerdict>,
    /// What went wrong before any verdict could be made (connection refused, ...).
    pub error: Option<String>,
    /// The certificate we presented as client certificate, if any.
    pub client_certificate: Option<String>,
    /// How the host was found (`MX mx1.woodgrove.test (preference 10), DNSSEC secure`); `None`
    /// for a smart host or a host named by the administrator.
    #[serde(default)]
    pub route: Option<String>,
    /// What DANE asks of this host, or why it does not apply.
    #[serde(default)]
    pub dane: Option<String>,
    /// What the domain's MTA-STS policy asks of this host, or why it does not apply.
    #[serde(default)]
    pub mta_sts: Option<String>,
    /// The server's chain as presented (DER, leaf first), for the verdicts.
    #[serde(skip)]
    pub(crate) chain_der: Vec<Vec<u8>>,
}

/// Where a probe of `domain` connects when no host is named: where its mail goes — the first
/// smart host of the send connector that routes it, or, for a connector without one, its best
/// MX host found in DNS (the first address, on the MX port).
pub(crate) async fn target_for(run: &RunConfig, domain: &str) -> Result<NextHop, String> {
    let hosts = targets_for(run, domain).await?;
    hosts
        .into_iter()
        .next()
        .ok_or_else(|| format!("no host to probe for {domain}"))
}

/// Every host `domain`'s mail may go to, one next hop each: the send connector's smart hosts,
/// or each MX host found in DNS, best first (its first address, on the MX port).
pub(crate) async fn targets_for(run: &RunConfig, domain: &str) -> Result<Vec<NextHop>, String> {
    let (index, name) = match route(domain, &run.checked) {
        Route::Connector { index, name } => (index, name),
        Route::Local => {
            return Err(format!(
                "{domain} is one of our accepted domains: name the host to probe"
            ));
        }
        Route::NoRoute => {
            return Err(format!(
                "no send connector covers {domain}: name the host to probe"
            ));
        }
    };
    let connector = run
        .checked
        .send_connectors
        .iter()
        .find(|c| c.index == index);
    if let Some(hosts) = connector
        .map(|c| &c.smart_hosts)
        .filter(|hosts| !hosts.is_empty())
    {
        return Ok(hosts.iter().map(NextHop::smart_host).collect());
    }
    let dns = std::sync::Arc::new(
        Dns::new(
            &run.checked.dns_servers,
            &run.checked.settings.transport.dnssec_trust_anchor,
        )
        .map_err(|e| e.to_string())?,
    );
    let sts = super::mta_sts::MtaSts::open(&run.data_dir);
    let Some(send_connector) = run.send.iter().find(|s| s.index == index) else {
        return Err(format!("send connector '{name}' is not running"));
    };
    match mx_hops(&dns, run, send_connector, domain, Some(&sts)).await {
        Ok(hops) => {
            let mut first_of_each: Vec<NextHop> = Vec::new();
            for hop in hops {
                if !first_of_each.iter().any(|h| h.name == hop.name) {
                    first_of_each.push(hop);
                }
            }
            if first_of_each.is_empty() {
                return Err(format!(
                    "send connector '{name}' found no MX host for {domain}"
                ));
            }
            Ok(first_of_each)
        }
        Err(RouteFailure::Permanent(why) | RouteFailure::Temporary(why)) => Err(format!(
            "send connector '{name}' routes {domain} by MX, and DNS says: {why}"
        )),
    }
}

/// Probes `host` for `domain`, presenting the client certificate of send connector
/// `connector` (by index into `run.send`; the first when None).
pub(crate) async fn probe(
    run: &RunConfig,
    host: &NextHop,
    domain: &str,
    connector: Option<usize>,
) -> ProbeReport {
    let mut report = probe_connection(run, host, domain, connector).await;
    report.route = host.route.clone();
    report.dane = Some(host.dane.describe());
    report.mta_sts = Some(host.sts.describe().to_string());
    if let Some(v) = dane_verdict(&host.dane, &report) {
        report.verdicts.push(v);
    }
    if let StsForHop::Enforce(_) = &host.sts {
        let (pass, reason) = if report.tls.is_none() {
            (
                false,
                "the policy (enforce) requires TLS, and TLS was not negotiated: mail waits"
                    .to_string(),
            )
        } else {
            match run
                .pkix_verifier()
                .and_then(|v| super::tls::pkix_check(&report.chain_der, &host.name, &v))
            {
                Ok(()) => (
                    true,
                    format!(
                        "the certificate is valid for {} from a trusted root",
                        host.name
                    ),
                ),
                Err(why) => (false, format!("{why}: mail waits")),
            }
        };
        report.verdicts.push(PolicyVerdict {
            policy: "MTA-STS (enforce)".into(),
            pass,
            reason,
        });
    }
    report
}

/// The DANE verdict for the host, when it publishes TLSA records (or its TLSA lookup failed).
/// Delivery matches the records inside the TLS handshake; the probe, which sends no mail,
/// matches them against the chain the handshake recorded (whose signature it checked).
fn dane_verdict(dane: &DaneLookup, report: &ProbeReport) -> Option<PolicyVerdict> {
    let (pass, reason) = match dane {
        DaneLookup::NotApplicable(_) => return None,
        DaneLookup::Failed(why) => (false, why.clone()),
        DaneLookup::Policy(_) if report.tls.is_none() => (
            false,
            "the host publishes TLSA records, so TLS is mandatory, and TLS was not negotiated: mail waits".to_string(),
        ),
        DaneLookup::Policy(DanePolicy::EncryptOnly { .. }) => (
            true,
            "TLS was negotiated; no TLSA record is usable, so the certificate is not checked"
                .to_string(),
        ),
        DaneLookup::Policy(DanePolicy::Authenticate(expectation)) => {
            let Some((leaf, intermediates)) = report.chain_der.split_first() else {
                return Some(PolicyVerdict {
                    policy: "DANE".into(),
                    pass: false,
                    reason: "the server presented no certificate".into(),
                });
            };
            match dane::authenticate(
                expectation,
                leaf,
                intermediates,
                time::OffsetDateTime::now_utc(),
            ) {
                Ok(m) => (true, format!("the certificate matches {}", m.detail)),
                Err(why) => (false, format!("{why}: mail waits")),
            }
        }
    };
    Some(PolicyVerdict {
        policy: "DANE".into(),
        pass,
        reason,
    })
}

async fn probe_connection(
    run: &RunConfig,
    host: &NextHop,
    domain: &str,
    connector: Option<usize>,
) -> ProbeReport {
    let target = host.label.as_str();
    let mut report = ProbeReport {
        target: target.to_string(),
        domain: domain.to_string(),
        ..Default::default()
    };
    let Some(send_connector) = connector
        .and_then(|i| run.send.get(i))
        .or_else(|| run.send.first())
    else {
        report.error = Some("there is no send connector to probe with".into());
        return report;
    };
    report.client_certificate = send_connector.certificate.clone();
    let t = Duration::from_secs(20);
    let verdict = |policy: &str, pass: bool, reason: String| PolicyVerdict {
        policy: policy.into(),
        pass,
        reason,
    };
    let addr = host.connect.clone();
    let tcp = match tokio::time::timeout(t, tokio::net::TcpStream::connect(&addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            report.error = Some(format!("connection to {target} failed: {e}"));
            return report;
        }
        Err(_) => {
            report.error = Some(format!("connection to {target} timed out"));
            return report;
        }
    };
    let _ = tcp.set_nodelay(true);
    // The same client session as delivery (without protocol log or live view).
    let mut s = Session::new(tcp, target.to_string(), t, None, None);
    let greeting = match s.reply().await {
        Ok(r) => r,
        Err(e) => {
            report.error = Some(e);
            return report;
        }
    };
    report.banner = Some(greeting.one_line());
    let ehlo = match s
        .command(&format!("EHLO {}\r\n", send_connector.fqdn))
        .await
    {
        Ok(r) if r.code == 250 => r,
        Ok(r) => {
            report.error = Some(format!("{target} refused EHLO: {}", r.one_line()));
            return report;
        }
        Err(e) => {
            report.error = Some(e);
            return report;
        }
    };
    report.capabilities = ehlo.lines.iter().skip(1).cloned().collect();
    let caps = Capabilities::from_ehlo(&ehlo);
    report.starttls_offered = caps.starttls;
    let mut chain_ders = Vec::new();
    let mut tls_error = None;
    let tls_policies = [
        "RequireTLS (CertificateValidation)".to_string(),
        format!("DomainValidation for {domain}"),
        format!("Domain Security for {domain}"),
    ];
    if caps.starttls {
        match s
            .starttls(send_connector.client_tls.clone(), &host.name)
            .await
        {
            Ok(StartTls::Established(chain)) => {
                report.chain_der = chain.clone();
                chain_ders = chain;
                report.tls = s.tls_facts(None, TrustLevel::Anonymous, None);
                let _ = s
                    .command(&format!("EHLO {}\r\n", send_connector.fqdn))
                    .await;
            }
            Ok(StartTls::HandshakeFailed(why)) => {
                report.verdicts.push(verdict(
                    "Opportunistic TLS",
                    true,
                    format!("{why}; Mailflow would retry once in plaintext"),
                ));
                for p in &tls_policies {
                    report.verdicts.push(verdict(p, false, why.clone()));
                }
                s.close().await;
                return report;
            }
            Err(StartTlsError::Injection(why)) => {
                // Delivery drops such a server whatever the policy (CVE-2011-0411).
                report.error = Some(why.clone());
                report.verdicts.push(verdict(
                    "Opportunistic TLS",
                    false,
                    format!("{why}; Mailflow would try the next smart host and retry later"),
                ));
                for p in &tls_policies {
                    report.verdicts.push(verdict(p, false, why.clone()));
                }
                s.close().await;
                return report;
            }
            Err(StartTlsError::Setup(why)) => {
                report.error = Some(why);
                s.close().await;
                return report;
            }
            Ok(StartTls::Refused(r)) => {
                tls_error = Some(format!("{target} refused to start TLS: {}", r.one_line()))
            }
            Err(StartTlsError::Io(e)) => tls_error = Some(e),
        }
    }
    let _ = s.command("QUIT\r\n").await;
    s.close().await;
    if report.tls.is_none() {
        let why = tls_error.unwrap_or_else(|| format!("STARTTLS not offered by {target}"));
        report.verdicts.push(verdict(
            "Opportunistic TLS",
            true,
            format!("{why}: mail would go in plaintext"),
        ));
        for p in &tls_policies {
            report.verdicts.push(verdict(p, false, why.clone()));
        }
        return report;
    }
    // The chain, inspected.
    let now = time::OffsetDateTime::now_utc();
    for (i, der) in chain_ders.iter().enumerate() {
        if let Ok(info) = inspect::inspect_certificate(der) {
            let ctx = InspectContext {
                domain: (i == 0).then_some(domain),
                ..Default::default()
            };
            let findings: Vec<Finding> = inspect::findings(&info, now, &ctx);
            report.chain.push(ChainEntry {
                subject: info.subject.clone(),
                issuer: info.issuer.clone(),
                thumbprint: info.thumbprint.clone(),
                not_after: crate::pki::text::format_date(info.not_after),
                names: info.names(),
                findings: findings
                    .into_iter()
                    .map(|f| format!("{:?}: {}", f.severity, f.text))
                    .collect(),
            });
        }
    }
    let ctx = run.trust_context();
    let opportunistic = judge(&ctx, &TlsRequirement::Opportunistic, &chain_ders, target);
    if let Some(t) = report.tls.as_mut() {
        t.peer_certificate = opportunistic.peer.clone();
        t.trust = opportunistic.trust;
        t.trust_detail = opportunistic.detail.clone();
    }
    let tls_text = report
        .tls
        .as_ref()
        .map(|t| format!("{} with {}", t.version, t.cipher))
        .unwrap_or_default();
    report.verdicts.push(verdict(
        "Opportunistic TLS",
        true,
        format!("TLS ({tls_text}); the certificate is recorded, not required"),
    ));
    for (name, req) in [
        (
            "RequireTLS (CertificateValidation)".to_string(),
            TlsRequirement::ValidateChain,
        ),
        (
            format!("DomainValidation for {domain}"),
            TlsRequirement::ValidateDomain {
                name: domain.to_string(),
            },
        ),
        (
            format!("Domain Security for {domain}"),
            TlsRequirement::DomainSecure {
                domain: domain.to_string(),
            },
        ),
    ] {
        let v = judge(&ctx, &req, &chain_ders, target);
        let mut reason = match &v.refusal {
            Some(r) => r.clone(),
            None => format!("{} TLS: the certificate satisfies this policy", v.trust),
        };
        let mut pass = v.refusal.is_none();
        if matches!(req, TlsRequirement::DomainSecure { .. })
            && let Some(why) = super::outbound::missing_client_certificate(send_connector)
        {
            pass = false;
            reason = why;
        }
        report.verdicts.push(verdict(&name, pass, reason));
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::{self, Workspace};
    use crate::config::SendConnector;
    use crate::store::DataDir;
    use time::OffsetDateTime;

    #[tokio::test]
    async fn a_probe_goes_where_the_domains_mail_goes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path());
        let now = OffsetDateTime::now_utc();
        admin::init(&dir, "Contoso", "mail.contoso.test", "contoso.test", now).unwrap();
        let mut ws = Workspace::open(&dir).unwrap();
        // No DNS server listens there: the MX route fails at once, on loopback.
        ws.change_settings(|s| {
            s.transport.dns_servers = vec!["127.0.0.1:9".into()];
            Ok(())
        })
        .unwrap();
        let run = |ws: &Workspace| RunConfig::build(ws, now).unwrap();
        let err = target_for(&run(&ws), "contoso.test").await.unwrap_err();
        assert!(err.contains("one of our accepted domains"), "{err}");
        let err = target_for(&run(&ws), "fabrikam.test").await.unwrap_err();
        assert!(
            err.contains("routes fabrikam.test by MX") && err.contains("451 4.4.3"),
            "{err}"
        );
        ws.change_connector("Outbound", |c: &mut SendConnector| {
            c.smart_hosts = vec!["mail.fabrikam.test:2525".into()]
        })
        .unwrap();
        let hop = target_for(&run(&ws), "fabrikam.test").await.unwrap();
        assert_eq!(
            (hop.name.as_str(), hop.label.as_str()),
            ("mail.fabrikam.test", "mail.fabrikam.test:2525")
        );
        ws.change_settings(|s| {
            s.send_connectors[0].enabled = false;
            Ok(())
        })
        .unwrap();
        let err = target_for(&run(&ws), "fabrikam.test").await.unwrap_err();
        assert!(err.contains("no send connector covers"), "{err}");
    }
}
