//! The connectivity probe: connect to a host as a send connector would, and report the banner,
//! the EHLO capabilities, STARTTLS, the TLS version and cipher, the server's certificate chain
//! with inspection findings, and a verdict for each policy — opportunistic, RequireTLS with
//! CertificateValidation, DomainValidation for a domain, and Domain Security for that domain
//! presenting our certificate — each with the exact reason when it fails. Nothing is sent
//! after EHLO but QUIT.

use super::config::RunConfig;
use super::outbound::judge;
use super::stream::Conn;
use crate::pki::inspect::{self, Finding, InspectContext};
use crate::policy::outbound::TlsRequirement;
use crate::smtp::client::Capabilities;
use crate::smtp::evidence::TlsFacts;
use crate::smtp::reply::{Reply, ReplyReader};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
}

async fn read_reply(
    conn: &mut Conn,
    reader: &mut ReplyReader,
    t: Duration,
) -> Result<Reply, String> {
    let mut buf = [0u8; 4096];
    loop {
        if let Some(r) = reader.next_reply().map_err(|e| e.to_string())? {
            return Ok(r);
        }
        let n = tokio::time::timeout(t, conn.read(&mut buf))
            .await
            .map_err(|_| "no answer within the timeout".to_string())?
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the server closed the connection".into());
        }
        reader.push(&buf[..n]);
    }
}

async fn command(
    conn: &mut Conn,
    reader: &mut ReplyReader,
    line: &str,
    t: Duration,
) -> Result<Reply, String> {
    conn.write_all(line.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    conn.flush().await.map_err(|e| e.to_string())?;
    read_reply(conn, reader, t).await
}

/// Probes `host:port` for `domain`, presenting the client certificate of send connector
/// `connector` (by index into `run.send`; the first when None).
pub async fn probe(
    run: &RunConfig,
    target: &str,
    domain: &str,
    connector: Option<usize>,
) -> ProbeReport {
    let mut report = ProbeReport {
        target: target.to_string(),
        domain: domain.to_string(),
        ..Default::default()
    };
    let Some(sc) = connector
        .and_then(|i| run.send.get(i))
        .or_else(|| run.send.first())
    else {
        report.error = Some("there is no send connector to probe with".into());
        return report;
    };
    report.client_certificate = sc.certificate.clone();
    let t = Duration::from_secs(20);
    let verdict = |policy: &str, pass: bool, reason: String| PolicyVerdict {
        policy: policy.into(),
        pass,
        reason,
    };
    let tcp = match tokio::time::timeout(t, tokio::net::TcpStream::connect(target)).await {
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
    let mut conn = Conn::Plain(tcp);
    let mut reader = ReplyReader::default();
    let greeting = match read_reply(&mut conn, &mut reader, t).await {
        Ok(r) => r,
        Err(e) => {
            report.error = Some(format!("{target}: {e}"));
            return report;
        }
    };
    report.banner = Some(greeting.one_line());
    let ehlo = match command(&mut conn, &mut reader, &format!("EHLO {}\r\n", sc.fqdn), t).await {
        Ok(r) if r.code == 250 => r,
        Ok(r) => {
            report.error = Some(format!("{target} refused EHLO: {}", r.one_line()));
            return report;
        }
        Err(e) => {
            report.error = Some(format!("{target}: {e}"));
            return report;
        }
    };
    report.capabilities = ehlo.lines.iter().skip(1).cloned().collect();
    let caps = Capabilities::from_ehlo(&ehlo);
    report.starttls_offered = caps.starttls;
    let mut chain_ders = Vec::new();
    let mut tls_error = None;
    if caps.starttls {
        match command(&mut conn, &mut reader, "STARTTLS\r\n", t).await {
            Ok(r) if r.code == 220 => {
                let tcp = match conn {
                    Conn::Plain(tcp) => tcp,
                    _ => {
                        report.error = Some(
                            "STARTTLS was answered on a connection that is already TLS".into(),
                        );
                        return report;
                    }
                };
                let host = target
                    .rsplit_once(':')
                    .map(|(h, _)| h.trim_matches(['[', ']']))
                    .unwrap_or(target)
                    .to_string();
                let name = match rustls::pki_types::ServerName::try_from(host.clone()) {
                    Ok(n) => n,
                    Err(_) => {
                        report.error = Some(format!("{host} is not a valid TLS server name"));
                        return report;
                    }
                };
                match tokio::time::timeout(
                    t,
                    tokio_rustls::TlsConnector::from(sc.client_tls.clone()).connect(name, tcp),
                )
                .await
                {
                    Ok(Ok(tls)) => {
                        chain_ders = super::tls::peer_chain(tls.get_ref().1);
                        report.tls = Some(super::tls::facts(
                            tls.get_ref().1,
                            None,
                            crate::smtp::evidence::TrustLevel::Anonymous,
                            None,
                        ));
                        conn = Conn::ClientTls(Box::new(tls));
                        let _ =
                            command(&mut conn, &mut reader, &format!("EHLO {}\r\n", sc.fqdn), t)
                                .await;
                    }
                    Ok(Err(e)) => {
                        tls_error = Some(format!("TLS handshake with {target} failed: {e}"));
                        report.verdicts.push(verdict(
                            "Opportunistic TLS",
                            true,
                            format!(
                                "{}; Mailflow would retry once in plaintext",
                                tls_error.clone().unwrap_or_default()
                            ),
                        ));
                        for p in [
                            "RequireTLS (CertificateValidation)",
                            &format!("DomainValidation for {domain}"),
                            &format!("Domain Security for {domain}"),
                        ] {
                            report.verdicts.push(verdict(
                                p,
                                false,
                                tls_error.clone().unwrap_or_default(),
                            ));
                        }
                        return report;
                    }
                    Err(_) => {
                        report.error = Some(format!("TLS handshake with {target} timed out"));
                        return report;
                    }
                }
            }
            Ok(r) => tls_error = Some(format!("{target} refused to start TLS: {}", r.one_line())),
            Err(e) => tls_error = Some(format!("{target}: {e}")),
        }
    }
    let _ = command(&mut conn, &mut reader, "QUIT\r\n", t).await;
    let _ = conn.shutdown().await;
    if report.tls.is_none() {
        let why = tls_error.unwrap_or_else(|| format!("STARTTLS not offered by {target}"));
        report.verdicts.push(verdict(
            "Opportunistic TLS",
            true,
            format!("{why}: mail would go in plaintext"),
        ));
        for p in [
            "RequireTLS (CertificateValidation)".to_string(),
            format!("DomainValidation for {domain}"),
            format!("Domain Security for {domain}"),
        ] {
            report.verdicts.push(verdict(&p, false, why.clone()));
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
                not_after: inspect::format_date(info.not_after),
                names: info.names(),
                findings: findings
                    .into_iter()
                    .map(|f| format!("{:?}: {}", f.severity, f.text))
                    .collect(),
            });
        }
    }
    let opportunistic = judge(run, &TlsRequirement::Opportunistic, &chain_ders, target);
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
        let v = judge(run, &req, &chain_ders, target);
        let mut reason = match &v.refusal {
            Some(r) => r.clone(),
            None => format!("{} TLS: the certificate satisfies this policy", v.trust),
        };
        let mut pass = v.refusal.is_none();
        if matches!(req, TlsRequirement::DomainSecure { .. }) && sc.certificate.is_none() {
            pass = false;
            reason = format!(
                "send connector '{}' has no SMTP certificate to present as client certificate",
                sc.name
            );
        }
        report.verdicts.push(verdict(&name, pass, reason));
    }
    report
}
