//! Outbound delivery of one job: connect to the send connector's smart hosts in order, EHLO
//! with the connector's FQDN, STARTTLS as the TLS requirement says, check the next hop's
//! certificate *before any SMTP command goes over the TLS channel*, then send the messages
//! (pipelined when offered, dot-stuffed, several per connection) and settle every recipient.
//! Mandatory TLS never falls back to plaintext and never continues over unverified TLS;
//! opportunistic TLS retries once in plaintext when the handshake fails. Before each message
//! the connection is judged again under the settings of that moment (the send list, roots,
//! pins, anchors): a trust change reaches a running job at its next message.

use super::config::{RunConfig, SendRuntime};
use super::dns::{DaneLookup, Dns, MxTarget, RouteFailure};
use super::monitor::Live;
use super::mta_sts::{MtaSts, StsForHop};
use super::protolog::{LogKind, ProtocolLog, SessionLog};
use super::queue::Outcome;
use super::stream::Conn;
use crate::config::ProtocolLoggingLevel;
use crate::config::net::SmartHost;
use crate::policy::classify::hop_status;
use crate::policy::dane::DanePolicy;
use crate::policy::mta_sts::{FetchFailure, InForce};
use crate::policy::outbound::{
    MessageTls, TlsRequirement, connection_still_acceptable, judge, requirement,
};
use crate::policy::tls_rpt::{PolicyType, ReportPolicy, ResultType, SessionOutcome};
use crate::smtp::client::{
    Capabilities, EnvelopeProblem, MailFlags, RecipientOutcome, mail_command, rcpt_command, settle,
};
use crate::smtp::data::dot_stuff;
use crate::smtp::envelope::Envelope;
use crate::smtp::evidence::{Direction, HopEvidence, SecurityStatus, TrustLevel};
use crate::smtp::replies;
use crate::smtp::reply::{Reply, ReplyReader};
use crate::store::partner_watch::{Presented, Sighting};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A message to send: envelope, the recipients for this job, the bytes.
pub type OutMessage = (Arc<Envelope>, Vec<String>, Arc<Vec<u8>>);

/// What a delivery job needs.
pub struct RemoteJob<'a> {
    pub run: Arc<RunConfig>,
    /// The settings of now (they may change while the job runs).
    pub current: &'a (dyn Fn() -> Arc<RunConfig> + Send + Sync),
    /// The send connector of the queue, looked up once by name.
    pub connector: &'a SendRuntime,
    pub domain: String,
    pub requirement: TlsRequirement,
    /// Each message with its recipients for this job and its bytes.
    pub messages: Vec<OutMessage>,
    pub live: Live,
    pub log: Option<ProtocolLog>,
    /// The resolver of MX routing, made when a delivery needs it.
    pub dns: &'a (dyn Fn() -> Result<Arc<Dns>, String> + Send + Sync),
    /// The MTA-STS policies of other domains.
    pub mta_sts: &'a MtaSts,
    /// What the job's messages ask of TLS themselves (a job holds messages that ask alike).
    pub message_tls: MessageTls,
    /// Next hops that failed lately (tried after the others).
    pub host_health: &'a super::host_health::HostHealth,
    /// Send to this host only, instead of the connector's smart hosts or the MX hosts (a test
    /// message sent straight to a host); the connector's TLS requirement still applies.
    pub only_host: Option<SmartHost>,
}

/// How the job went.
#[derive(Debug, Default)]
pub struct RemoteResult {
    pub outcomes: HashMap<(String, String), Outcome>,
    /// Evidence of the hop that carried messages (or was attempted).
    pub hop: Option<HopEvidence>,
    /// Why the job failed as a whole (deferred), in words.
    pub error: Option<String>,
    pub connection_failure: bool,
    /// `host:port` that answered.
    pub host: Option<String>,
    /// The TLS outcome of each attempt to an MX host, for TLS reports (RFC 8460).
    pub tls_outcomes: Vec<SessionOutcome>,
    /// The live monitor's id of each session opened, in order (the protocol log names a
    /// session by the same number in 16 hex digits: [`session_log_id`]).
    pub sessions: Vec<u64>,
    /// What a partner domain's servers presented (for the partner certificate watch): one
    /// sighting per session that offered TLS or did not.
    pub sightings: Vec<Sighting>,
}

/// What a delivery's sessions leave besides their outcome.
#[derive(Default)]
struct Trace {
    sessions: Vec<u64>,
    sightings: Vec<Sighting>,
}

/// The protocol log's session id of a live session.
pub fn session_log_id(live_id: u64) -> String {
    format!("{live_id:016X}")
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// One client SMTP connection, shared by delivery and the connectivity probe: commands written
/// and replies read through the sans-I/O reply reader under a timeout, STARTTLS with the
/// injection check, each line noted in the protocol log and the live transcript when given.
pub(crate) struct Session {
    conn: Option<Conn>,
    reader: ReplyReader,
    buf: Vec<u8>,
    timeout: Duration,
    log: Option<SessionLog>,
    /// The console's live view of the session, and its row.
    live: Option<(Live, u64)>,
    /// `host:port`, for messages.
    host: String,
}

/// How a STARTTLS went.
pub(crate) enum StartTls {
    /// The server answered STARTTLS with something else than 220: still plaintext.
    Refused(Reply),
    /// TLS is up; the server's certificate chain, leaf first.
    Established(Vec<Vec<u8>>),
    /// The handshake failed or timed out: the connection cannot be used any more.
    HandshakeFailed(String),
}

/// Why a STARTTLS could not be tried.
pub(crate) enum StartTlsError {
    /// Writing STARTTLS or reading its reply failed.
    Io(String),
    /// The server sent more after its 220 (CVE-2011-0411): the connection must be dropped.
    Injection(String),
    /// No usable TLS server name, or the connection is not plaintext.
    Setup(String),
}

/// Where one attempt goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NextHop {
    /// The name it is known by: the TLS server name (SNI) and the peer in the evidence.
    pub name: String,
    /// What to connect to: `host:port`, `ip:port` or `[v6]:port`.
    pub connect: String,
    /// How messages name it: `host:port` for a smart host, `name[ip]:port` for an MX host
    /// (as Postfix writes it).
    pub label: String,
    /// How it was found, for the evidence: `MX mx1.woodgrove.test, DNSSEC secure`.
    pub route: Option<String>,
    /// What DANE asks of the connection (MX hosts only).
    pub dane: DaneLookup,
    /// What the domain's MTA-STS policy asks of it (MX hosts only).
    pub sts: StsForHop,
    /// Found in a way an attacker cannot forge (RFC 8689 §4.2.1): our own configuration (a
    /// smart host), a DNSSEC-secure MX answer, or an enforced MTA-STS policy listing it.
    pub found_securely: bool,
    /// The policy its TLS outcome is reported under (RFC 8460); `None` for a smart host, whose
    /// outcomes are not reported to the recipient domain.
    pub report_policy: Option<ReportPolicy>,
    /// A failure of the policy itself that every session to it reports (an MTA-STS policy
    /// announced that could not be fetched or read), with what went wrong.
    pub policy_failure: Option<(ResultType, String)>,
}

impl Attempt {
    /// The same failure, named for TLS reports as `result`.
    fn reported(self, result: ResultType) -> Attempt {
        match self {
            Attempt::Failed {
                reason,
                connected,
                hop,
                ..
            } => Attempt::Failed {
                reason,
                connected,
                hop,
                tls_report: Some(result),
            },
            other => other,
        }
    }
}

impl NextHop {
    pub(crate) fn smart_host(host: &SmartHost) -> NextHop {
        NextHop {
            name: host.host.clone(),
            connect: connect_address(host),
            label: host.to_string(),
            route: None,
            dane: DaneLookup::NotApplicable("a smart host is not looked up in DNS".into()),
            sts: StsForHop::NotApplicable("MTA-STS applies to MX hosts, not smart hosts".into()),
            found_securely: true,
            report_policy: None,
            policy_failure: None,
        }
    }

    pub(crate) fn mx(
        target: &MxTarget,
        ip: IpAddr,
        port: u16,
        dane: DaneLookup,
        sts: StsForHop,
        report_policy: ReportPolicy,
    ) -> NextHop {
        let name = &target.name;
        let found = match target.preference {
            Some(p) => format!("MX {name} (preference {p})"),
            None => format!("{name} itself (no MX)"),
        };
        NextHop {
            name: name.clone(),
            connect: SocketAddr::new(ip, port).to_string(),
            label: format!("{name}[{ip}]:{port}"),
            route: Some(format!("{found}, {}", target.dnssec)),
            found_securely: target.dnssec == super::dns::DnssecStatus::Secure
                || matches!(sts, StsForHop::Enforce(_)),
            dane,
            sts,
            report_policy: Some(report_policy),
            policy_failure: None,
        }
    }
}

/// The address to connect to for a smart host (IPv6 in brackets).
pub(crate) fn connect_address(host: &SmartHost) -> String {
    if host.host.contains(':') {
        format!("[{}]:{}", host.host, host.port)
    } else {
        host.to_string()
    }
}

impl Session {
    pub(crate) fn new(
        tcp: TcpStream,
        host: String,
        timeout: Duration,
        log: Option<SessionLog>,
        live: Option<(Live, u64)>,
    ) -> Session {
        Session {
            conn: Some(Conn::Plain(tcp)),
            reader: ReplyReader::default(),
            buf: vec![0u8; 16 * 1024],
            timeout,
            log,
            live,
            host,
        }
    }

    /// Notes an event in the protocol log.
    fn event(&mut self, event: char, data: &str, context: &str) {
        if let Some(log) = self.log.as_mut() {
            log.event(event, data, context);
        }
    }

    fn live_update(&self, f: impl FnOnce(&mut super::monitor::SessionRow)) {
        if let Some((live, id)) = &self.live {
            live.update(*id, f);
        }
    }

    fn transcript(&self, line: String) {
        if let Some((live, id)) = &self.live {
            live.transcript(*id, line);
        }
    }

    pub(crate) async fn send(&mut self, data: &[u8], logged: Option<&str>) -> Result<(), String> {
        let conn = self.conn.as_mut().ok_or("the connection is closed")?;
        tokio::time::timeout(self.timeout, async {
            conn.write_all(data).await?;
            conn.flush().await
        })
        .await
        .map_err(|_| {
            format!(
                "{} did not accept data within {:?}",
                self.host, self.timeout
            )
        })?
        .map_err(|e| format!("writing to {} failed: {e}", self.host))?;
        self.live_update(|s| s.bytes_out += data.len() as u64);
        if let Some(text) = logged {
            for line in text.lines() {
                self.event('>', line, "");
                self.transcript(format!("> {line}"));
            }
        }
        Ok(())
    }

    pub(crate) async fn reply(&mut self) -> Result<Reply, String> {
        loop {
            match self.reader.next_reply() {
                Ok(Some(r)) => {
                    let line = r.one_line();
                    self.event('<', &line, "");
                    self.transcript(format!("< {line}"));
                    return Ok(r);
                }
                Ok(None) => {}
                Err(e) => return Err(format!("{}: {e}", self.host)),
            }
            let conn = self.conn.as_mut().ok_or("the connection is closed")?;
            let n = tokio::time::timeout(self.timeout, conn.read(&mut self.buf))
                .await
                .map_err(|_| format!("{} did not answer within {:?}", self.host, self.timeout))?
                .map_err(|e| format!("reading from {} failed: {e}", self.host))?;
            if n == 0 {
                return Err(format!("{} closed the connection", self.host));
            }
            self.live_update(|s| s.bytes_in += n as u64);
            self.reader.push(&self.buf[..n]);
        }
    }

    pub(crate) async fn command(&mut self, line: &str) -> Result<Reply, String> {
        self.send(line.as_bytes(), Some(line.trim_end())).await?;
        self.reply().await
    }

    /// Sends STARTTLS and, on 220, makes the TLS handshake as `client_tls` says, for
    /// `server_name`. Nothing the server sent before the handshake is ever read as if it came
    /// through TLS (CVE-2011-0411, client side): such bytes are an error.
    pub(crate) async fn starttls(
        &mut self,
        client_tls: Arc<rustls::ClientConfig>,
        server_name: &str,
    ) -> Result<StartTls, StartTlsError> {
        let r = self
            .command("STARTTLS\r\n")
            .await
            .map_err(StartTlsError::Io)?;
        if r.code != 220 {
            return Ok(StartTls::Refused(r));
        }
        if self.reader.buffered() > 0 {
            return Err(StartTlsError::Injection(format!(
                "{} sent data after its STARTTLS reply (STARTTLS injection); connection dropped",
                self.host
            )));
        }
        let name =
            rustls::pki_types::ServerName::try_from(server_name.to_string()).map_err(|_| {
                StartTlsError::Setup(format!("{server_name} is not a valid TLS server name"))
            })?;
        let Some(Conn::Plain(tcp)) = self.conn.take() else {
            return Err(StartTlsError::Setup(
                "STARTTLS on a connection that is not plaintext".into(),
            ));
        };
        let connector = tokio_rustls::TlsConnector::from(client_tls);
        let why = match tokio::time::timeout(self.timeout, connector.connect(name, tcp)).await {
            Ok(Ok(tls)) => {
                let chain = super::tls::peer_chain(tls.get_ref().1);
                self.conn = Some(Conn::ClientTls(Box::new(tls)));
                return Ok(StartTls::Established(chain));
            }
            Ok(Err(e)) => format!("TLS handshake with {} failed: {e}", self.host),
            Err(_) => format!("TLS handshake with {} timed out", self.host),
        };
        self.event('*', &why, "TLS");
        Ok(StartTls::HandshakeFailed(why))
    }

    /// The TLS facts of the connection (None before TLS) with the judgment of the peer.
    pub(crate) fn tls_facts(
        &self,
        peer: Option<crate::smtp::evidence::PeerCertificate>,
        trust: TrustLevel,
        detail: Option<String>,
    ) -> Option<crate::smtp::evidence::TlsFacts> {
        match &self.conn {
            Some(Conn::ClientTls(tls)) => {
                Some(super::tls::facts(tls.get_ref().1, peer, trust, detail))
            }
            _ => None,
        }
    }

    /// Closes the connection (TLS close_notify when TLS).
    pub(crate) async fn close(&mut self) {
        if let Some(mut c) = self.conn.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), c.shutdown()).await;
        }
    }
}

/// A deferral as the queue records it: the named reply for its kind, with the reason.
fn deferral(named: fn(&str) -> Reply, reason: &str) -> String {
    named(reason).one_line()
}

/// The deferral of a Domain Security delivery when the send connector presents no client
/// certificate — none selected, or ours cannot be used (issue 9 §7): `454 4.7.5`, transient
/// as in Exchange, so the message stays queued instead of meeting the partner's `530 5.7.1`.
pub(crate) fn missing_client_certificate(send_connector: &SendRuntime) -> Option<String> {
    if send_connector.certificate.is_some() {
        return None;
    }
    let why = send_connector
        .certificate_problem
        .as_deref()
        .unwrap_or("no SMTP certificate is selected");
    Some(replies::no_client_certificate(&send_connector.name, why).one_line())
}

/// Whether the connection may carry the next message under the settings of now (issue 9 §6):
/// the connector still exists and presents a certificate where Domain Security needs one, the
/// requirement for the domain is unchanged, and the next hop's chain (when TLS is up) still
/// satisfies it with the roots, pins and anchors of now. `Err` is the deferral.
fn settings_still_allow(
    job: &RemoteJob<'_>,
    chain: Option<&[Vec<u8>]>,
    target: &str,
) -> Result<(), String> {
    let now = (job.current)();
    let Some(send_connector) = now.send.iter().find(|s| s.name == job.connector.name) else {
        return Err(deferral(
            replies::routing_deferred,
            &format!(
                "send connector '{}' no longer exists; the rest waits",
                job.connector.name
            ),
        ));
    };
    let req = requirement(&job.domain, send_connector.index, &now.checked);
    if matches!(req, TlsRequirement::DomainSecure { .. })
        && let Some(why) = missing_client_certificate(send_connector)
    {
        return Err(why);
    }
    connection_still_acceptable(&now.trust_context(), &job.requirement, &req, chain, target)
        .map_err(|why| {
            deferral(
                replies::certificate_not_accepted,
                &format!("{why}; the rest waits for the next attempt"),
            )
        })
}

/// Delivers the job's messages, trying smart hosts in order.
pub async fn deliver(job: RemoteJob<'_>) -> RemoteResult {
    let mut trace = Trace::default();
    let mut result = deliver_trying_hosts(job, &mut trace).await;
    result.sessions = trace.sessions;
    result.sightings = trace.sightings;
    result
}

async fn deliver_trying_hosts(job: RemoteJob<'_>, trace: &mut Trace) -> RemoteResult {
    let send_connector = job.connector;
    if let TlsRequirement::Refuse { reason } = &job.requirement {
        return RemoteResult {
            error: Some(deferral(replies::sending_disallowed, reason)),
            ..Default::default()
        };
    }
    if matches!(job.requirement, TlsRequirement::DomainSecure { .. })
        && let Some(why) = missing_client_certificate(send_connector)
    {
        return RemoteResult {
            error: Some(why),
            ..Default::default()
        };
    }
    let smart_hosts: Vec<SmartHost> = match &job.only_host {
        Some(host) => vec![host.clone()],
        None => job
            .run
            .checked
            .send_connectors
            .iter()
            .find(|c| c.index == send_connector.index)
            .map(|c| c.smart_hosts.clone())
            .unwrap_or_default(),
    };
    // A smart host wins; without one, the recipient domain's MX hosts.
    let hosts: Vec<NextHop> = if smart_hosts.is_empty() {
        match mx_next_hops(&job).await {
            Ok(hosts) => hosts,
            Err(RouteFailure::Permanent(reply)) => return every_recipient_fails(&job, reply),
            Err(RouteFailure::Temporary(reply)) => {
                return RemoteResult {
                    error: Some(reply),
                    connection_failure: true,
                    ..Default::default()
                };
            }
        }
    } else {
        smart_hosts.iter().map(NextHop::smart_host).collect()
    };
    // Hosts that failed lately go after the others (per-host retry state).
    let hosts = job.host_health.order(hosts, crate::store::clock::now_ms());
    let down_for = job
        .run
        .checked
        .settings
        .transport
        .outbound_connection_failure_retry_interval
        .as_duration()
        .as_millis() as i64;
    let mut errors = Vec::new();
    let mut connection_failure = true;
    let mut last_hop = None;
    // REQUIRETLS refusals by every host tried return the messages (RFC 8689 §4.2.1).
    let mut refusals = Vec::new();
    let mut tls_outcomes = Vec::new();
    // The next host only after a failure before any transaction (RFC 5321 §5.1).
    for host in &hosts {
        let mut plaintext_retry = false;
        loop {
            match attempt(&job, send_connector, host, plaintext_retry, trace).await {
                Attempt::Done(mut result) => {
                    job.host_health.mark_up(&host.connect);
                    let hop = result.hop.as_ref();
                    if hop.is_some_and(|h| h.tls.is_some()) || host.policy_failure.is_some() {
                        tls_outcomes.extend(tls_outcome(&job, host, hop, None));
                    }
                    result.tls_outcomes = tls_outcomes;
                    return result;
                }
                Attempt::RetryPlain(why) => {
                    tls_outcomes.extend(tls_outcome(
                        &job,
                        host,
                        None,
                        Some((ResultType::ValidationFailure, why.clone())),
                    ));
                    errors.push(why);
                    plaintext_retry = true;
                }
                Attempt::RequireTlsRefused { reply, hop } => {
                    connection_failure = false;
                    errors.push(reply.clone());
                    refusals.push(reply);
                    if hop.is_some() {
                        last_hop = hop;
                    }
                    break;
                }
                Attempt::Failed {
                    reason,
                    connected,
                    hop,
                    tls_report,
                } => {
                    if let Some(result) = tls_report {
                        tls_outcomes.extend(tls_outcome(
                            &job,
                            host,
                            hop.as_ref(),
                            Some((result, reason.clone())),
                        ));
                    }
                    if connected {
                        connection_failure = false;
                    }
                    job.host_health
                        .mark_down(&host.connect, crate::store::clock::now_ms() + down_for);
                    errors.push(reason);
                    if hop.is_some() {
                        last_hop = hop;
                    }
                    break;
                }
            }
        }
    }
    if !refusals.is_empty() && refusals.len() == hosts.len() {
        let mut result = every_recipient_fails(&job, refusals.join("; "));
        result.hop = last_hop;
        result.tls_outcomes = tls_outcomes;
        return result;
    }
    RemoteResult {
        error: Some(errors.join("; ")),
        connection_failure,
        hop: last_hop,
        tls_outcomes,
        ..Default::default()
    }
}

/// The next hops for the job's domain found in DNS: each MX host's addresses in turn, on the
/// transport settings' MX port.
async fn mx_next_hops(job: &RemoteJob<'_>) -> Result<Vec<NextHop>, RouteFailure> {
    let dns = (job.dns)()
        .map_err(|why| RouteFailure::Temporary(replies::dns_failure(&why).one_line()))?;
    let hops = mx_hops(
        &dns,
        &job.run,
        job.connector,
        &job.domain,
        Some(job.mta_sts),
    )
    .await;
    job.live.count(|c| {
        c.mx_lookups += 1;
        if hops.is_err() {
            c.mx_lookup_failures += 1;
        }
    });
    hops
}

/// The next hops for `domain` found in DNS, best first: each MX host's addresses in turn, on
/// the transport settings' MX port, with what DANE and the domain's MTA-STS policy (with
/// `sts`) ask of each host; an enforced policy leaves out the hosts it does not list. This
/// server's names (its FQDN and the send connector's EHLO name) are never a next hop.
pub(crate) async fn mx_hops(
    dns: &Arc<Dns>,
    run: &RunConfig,
    connector: &SendRuntime,
    domain: &str,
    sts: Option<&MtaSts>,
) -> Result<Vec<NextHop>, RouteFailure> {
    let own_names = [run.fqdn(), connector.fqdn.as_str()];
    // The send connector's switches (both on unless an administrator turned one off).
    let sts = sts.filter(|_| connector.settings.mta_sts_enabled);
    let targets = dns.mx_targets(domain, &own_names).await?;
    let transport = &run.checked.settings.transport;
    let port = transport.mx_port;
    let in_force = match sts {
        Some(sts) => {
            sts.policy_for(dns, domain, transport.mta_sts_port, &run.roots)
                .await
        }
        None => InForce::NoPolicy(format!(
            "MTA-STS is off on send connector '{}'",
            connector.name
        )),
    };
    let mut hops = Vec::new();
    let mut excluded = Vec::new();
    for target in &targets {
        let dane = if connector.settings.dane_enabled {
            dns.dane(target, port, domain).await
        } else {
            DaneLookup::NotApplicable(format!(
                "DANE is off on send connector '{}'",
                connector.name
            ))
        };
        let sts = if matches!(dane, DaneLookup::Policy(_)) {
            // RFC 8461 §2: where DANE applies, it decides; MTA-STS never overrides it.
            StsForHop::NotApplicable("DANE applies to this host, so MTA-STS does not".into())
        } else {
            match super::mta_sts::for_host(&in_force, &target.name) {
                Some(sts) => sts,
                None => {
                    excluded.push(target.name.clone());
                    continue;
                }
            }
        };
        let report_policy = report_policy(&dane, &sts, &in_force);
        // RFC 8460 §4.3.2.4: a policy announced but not usable is reported with each session.
        let policy_failure = match (&dane, &in_force) {
            (DaneLookup::Policy(_), _) => None,
            (_, InForce::Unusable(f)) => Some((
                match f {
                    FetchFailure::Fetch(_) => ResultType::StsPolicyFetchError,
                    FetchFailure::Invalid(_) => ResultType::StsPolicyInvalid,
                },
                f.to_string(),
            )),
            _ => None,
        };
        hops.extend(target.addresses.iter().map(|ip| NextHop {
            policy_failure: policy_failure.clone(),
            ..NextHop::mx(
                target,
                *ip,
                port,
                dane.clone(),
                sts.clone(),
                report_policy.clone(),
            )
        }));
    }
    if hops.is_empty()
        && let InForce::Policy { policy, .. } = &in_force
    {
        return Err(RouteFailure::Temporary(
            replies::no_mx_allowed_by_mta_sts(domain, &policy.mx.join(", "), &excluded.join(", "))
                .one_line(),
        ));
    }
    Ok(hops)
}

/// The policy an MX host's TLS outcome is reported under: its TLSA records where DANE applies,
/// the domain's MTA-STS policy where that applies, or none.
fn report_policy(dane: &DaneLookup, sts: &StsForHop, in_force: &InForce) -> ReportPolicy {
    match (dane, sts, in_force) {
        (DaneLookup::Policy(DanePolicy::Authenticate(e)), _, _) => ReportPolicy {
            policy_type: PolicyType::Tlsa,
            policy_strings: e
                .records
                .iter()
                .map(|r| {
                    format!(
                        "{} {} {} {}",
                        r.usage,
                        r.selector,
                        r.matching,
                        hex::encode(&r.data)
                    )
                })
                .collect(),
            mx_patterns: Vec::new(),
        },
        (DaneLookup::Policy(_) | DaneLookup::Failed(_), _, _) => ReportPolicy {
            policy_type: PolicyType::Tlsa,
            policy_strings: Vec::new(),
            mx_patterns: Vec::new(),
        },
        (_, _, InForce::Unusable(_)) => ReportPolicy {
            policy_type: PolicyType::Sts,
            policy_strings: Vec::new(),
            mx_patterns: Vec::new(),
        },
        (_, StsForHop::Enforce(_) | StsForHop::Testing(_), InForce::Policy { policy, .. }) => {
            ReportPolicy {
                policy_type: PolicyType::Sts,
                policy_strings: policy.to_text().lines().map(str::to_string).collect(),
                mx_patterns: policy.mx.clone(),
            }
        }
        _ => ReportPolicy::none(),
    }
}

/// The TLS outcome of one attempt to `host`, when its outcomes are reported.
fn tls_outcome(
    job: &RemoteJob<'_>,
    host: &NextHop,
    hop: Option<&HopEvidence>,
    failure: Option<(ResultType, String)>,
) -> Option<SessionOutcome> {
    let policy = host.report_policy.clone()?;
    let ip_of = |addr: &str| addr.parse::<SocketAddr>().map(|a| a.ip().to_string()).ok();
    // A policy that could not be used is what the session is reported for, first.
    let failure = host.policy_failure.clone().or(failure);
    let (failure, detail) = match failure {
        Some((result, why)) => (Some(result), Some(why)),
        None => (None, None),
    };
    Some(SessionOutcome {
        policy_domain: job.domain.clone(),
        policy,
        mx_host: host.name.clone(),
        receiving_ip: ip_of(&host.connect),
        sending_ip: hop.and_then(|h| ip_of(&h.local)),
        failure,
        detail,
    })
}

/// Every recipient of the job fails with `reply` (a domain that cannot receive mail).
fn every_recipient_fails(job: &RemoteJob<'_>, reply: String) -> RemoteResult {
    let mut outcomes = HashMap::new();
    for (env, rcpts, _) in &job.messages {
        for rcpt in rcpts {
            outcomes.insert(
                (env.id.clone(), rcpt.clone()),
                Outcome::Failed(reply.clone()),
            );
        }
    }
    RemoteResult {
        outcomes,
        error: Some(reply),
        ..Default::default()
    }
}

enum Attempt {
    Done(RemoteResult),
    /// Opportunistic TLS failed: try this host again in plaintext.
    RetryPlain(String),
    Failed {
        reason: String,
        connected: bool,
        hop: Option<HopEvidence>,
        /// How a TLS report names the failure, when it is one of TLS (RFC 8460 §4.3).
        tls_report: Option<ResultType>,
    },
    /// The host cannot take a REQUIRETLS message (RFC 8689): the reply to return it with,
    /// unless another host can.
    RequireTlsRefused {
        reply: String,
        hop: Option<HopEvidence>,
    },
}

async fn attempt(
    job: &RemoteJob<'_>,
    send_connector: &SendRuntime,
    host: &NextHop,
    no_tls: bool,
    trace: &mut Trace,
) -> Attempt {
    let target = host.label.clone();
    let fail = |reason: String, connected: bool| Attempt::Failed {
        reason,
        connected,
        hop: None,
        tls_report: None,
    };
    if job.message_tls == MessageTls::Required && !host.found_securely {
        return Attempt::RequireTlsRefused {
            reply: replies::requiretls_not_found_securely(
                &host.label,
                "its MX answer is not DNSSEC-secure and no enforced MTA-STS policy lists it",
            )
            .one_line(),
            hop: None,
        };
    }
    if let DaneLookup::Failed(why) = &host.dane {
        // RFC 7672 §2.2: without an answer about its TLSA records the host is not used at all.
        return fail(deferral(replies::dns_failure, why), false)
            .reported(ResultType::DnssecInvalid);
    }
    let addr = host.connect.clone();
    let tcp = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return fail(
                deferral(
                    replies::no_answer_from_host,
                    &format!("connection to {target} failed: {e}"),
                ),
                false,
            );
        }
        Err(_) => {
            return fail(
                deferral(
                    replies::no_answer_from_host,
                    &format!("connection to {target} timed out"),
                ),
                false,
            );
        }
    };
    let _ = tcp.set_nodelay(true);
    let local = tcp.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let remote = tcp
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| target.clone());
    let live_id = job.live.open_session(
        Direction::Outbound,
        &send_connector.name,
        local.clone(),
        remote.clone(),
    );
    trace.sessions.push(live_id);
    let log = SessionLog {
        log: if send_connector.settings.protocol_logging_level == ProtocolLoggingLevel::Verbose {
            job.log.clone()
        } else {
            None
        },
        kind: LogKind::Send,
        connector: send_connector.name.clone(),
        session: session_log_id(live_id),
        local: local.clone(),
        remote: remote.clone(),
        sequence: 0,
    };
    let mut s = Session::new(
        tcp,
        target.clone(),
        send_connector
            .settings
            .connection_inactivity_timeout
            .as_duration(),
        Some(log),
        Some((job.live.clone(), live_id)),
    );
    s.event('+', "", "");
    let mut seen = None;
    let out = run_session(
        job,
        send_connector,
        host,
        no_tls,
        &mut s,
        (&local, &remote),
        &mut seen,
    )
    .await;
    if let Some((presented, verified)) = seen
        && job.run.checked.partner_domains.contains(&job.domain)
    {
        trace.sightings.push(Sighting {
            time: crate::store::clock::now_ms(),
            domain: job.domain.clone(),
            direction: Direction::Outbound,
            host: target.clone(),
            presented,
            verified,
        });
    }
    s.event('-', "", "");
    s.close().await;
    if let Attempt::Done(r) = &out {
        // Messages (keys are message and recipient) the next hop took.
        let taken: std::collections::HashSet<&String> = r
            .outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Delivered(_) | Outcome::Relayed(_)))
            .map(|((message, _), _)| message)
            .collect();
        let n = u32::try_from(taken.len()).unwrap_or(u32::MAX);
        job.live.update(live_id, |row| row.messages = n);
    }
    job.live.close_session(live_id, attempt_outcome(&out));
    out
}

/// How an outbound session ended, in words, for the monitor's closed sessions.
fn attempt_outcome(a: &Attempt) -> String {
    match a {
        Attempt::Done(r) => match &r.error {
            Some(e) => format!("deferred: {e}"),
            None => "QUIT: every message handed over or answered".into(),
        },
        Attempt::RetryPlain(why) => format!("TLS failed, trying in plaintext: {why}"),
        Attempt::Failed { reason, .. } => format!("failed: {reason}"),
        Attempt::RequireTlsRefused { reply, .. } => format!("REQUIRETLS refused: {reply}"),
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_session(
    job: &RemoteJob<'_>,
    send_connector: &SendRuntime,
    host: &NextHop,
    no_tls: bool,
    s: &mut Session,
    (local, remote): (&str, &str),
    seen: &mut Option<(Presented, bool)>,
) -> Attempt {
    let target = host.label.clone();
    let failed = |reason: String, hop: Option<HopEvidence>| Attempt::Failed {
        reason,
        connected: true,
        hop,
        tls_report: None,
    };
    let greeting = match s.reply().await {
        Ok(r) => r,
        Err(e) => return failed(deferral(replies::bad_connection, &e), None),
    };
    if greeting.code != 220 {
        return failed(
            format!("{target} refused the connection: {}", greeting.one_line()),
            None,
        );
    }
    let mut caps = match ehlo(s, &send_connector.fqdn).await {
        Ok(c) => c,
        Err(e) => return failed(e, None),
    };
    let req = &job.requirement;
    let mut hop = HopEvidence {
        direction: Direction::Outbound,
        time: crate::store::clock::now_ms(),
        connector: send_connector.name.clone(),
        local: local.to_string(),
        remote: remote.to_string(),
        peer_name: host.name.clone(),
        tls: None,
        security: SecurityStatus::Plaintext,
        policy: req.describe(),
        auth_domain: None,
        auth_mechanism: None,
    };
    // REQUIRETLS (RFC 8689) needs authenticated TLS whatever the connector says; a message
    // with `TLS-Required: No` waives the recipient domain's own policies (DANE, MTA-STS).
    let required = job.message_tls == MessageTls::Required;
    let waived = job.message_tls == MessageTls::DomainPoliciesWaived;
    let use_tls = !no_tls && (required || !matches!(req, TlsRequirement::NoTls));
    if required {
        hop.policy = format!("{}; REQUIRETLS", hop.policy);
    } else if waived {
        hop.policy = format!(
            "{}; TLS-Required: No (DANE and MTA-STS not applied)",
            hop.policy
        );
    }
    // DANE (RFC 7672) where the MX host publishes TLSA records, unless the connector ignores
    // STARTTLS altogether: TLS becomes mandatory, and with usable records the handshake itself
    // checks the certificate against them.
    let dane = match &host.dane {
        DaneLookup::Policy(p) if use_tls && !waived => Some(p),
        _ => None,
    };
    if required && matches!(dane, Some(DanePolicy::EncryptOnly { .. })) {
        return Attempt::RequireTlsRefused {
            reply: replies::requiretls_not_trusted(
                &target,
                "none of its TLSA records is usable, so its certificate cannot be authenticated",
            )
            .one_line(),
            hop: Some(hop),
        };
    }
    if let Some(p) = dane {
        hop.policy = format!("{}; {}", hop.policy, p.describe());
    }
    // MTA-STS where DANE does not apply: enforce makes TLS with a PKIX-valid certificate for
    // the MX host mandatory, checked by the handshake; testing is only noted.
    let sts_enforced = use_tls && !waived && matches!(host.sts, StsForHop::Enforce(_));
    if !waived && matches!(host.sts, StsForHop::Enforce(_) | StsForHop::Testing(_)) {
        hop.policy = format!("{}; {}", hop.policy, host.sts.describe());
    }
    // Where DANE does not authenticate the host, MTA-STS and REQUIRETLS need a certificate
    // valid for its name from a trusted root, checked in the handshake.
    let pkix = (sts_enforced || required) && dane.is_none();
    let pkix_for = if sts_enforced {
        "MTA-STS"
    } else {
        "REQUIRETLS"
    };
    let tls_mandatory = req.mandatory() || dane.is_some() || sts_enforced || required;
    let why_mandatory = if required {
        "REQUIRETLS".to_string()
    } else if req.mandatory() {
        req.describe()
    } else if dane.is_some() {
        "DANE".to_string()
    } else {
        "its MTA-STS policy (enforce)".to_string()
    };
    let no_tls_reply = |why: String| {
        if required {
            replies::requiretls_no_tls(&target).one_line()
        } else {
            deferral(replies::tls_not_available, &why)
        }
    };
    let dane_check = match dane {
        Some(DanePolicy::Authenticate(expectation)) => match super::tls::dane_client_config(
            send_connector.client_identity.as_deref(),
            expectation.clone(),
        ) {
            Ok(check) => Some(check),
            Err(e) => return failed(e, None),
        },
        _ => None,
    };
    let client_tls = match (&dane_check, pkix) {
        (Some(check), _) => check.config.clone(),
        (None, true) => match (job.current)().pkix_verifier().and_then(|v| {
            super::tls::pkix_client_config(send_connector.client_identity.as_deref(), v)
        }) {
            Ok(config) => config,
            Err(e) => return failed(format!("{pkix_for}: {e}"), None),
        },
        (None, false) => send_connector.client_tls.clone(),
    };
    // The next hop's chain once TLS is up, judged again before each message.
    let mut tls_chain: Option<Vec<Vec<u8>>> = None;
    if use_tls {
        if !caps.starttls {
            *seen = Some((Presented::NoTls, false));
            if tls_mandatory {
                let _ = s.command("QUIT\r\n").await;
                let reply = no_tls_reply(format!(
                    "STARTTLS not offered by {target}, and {why_mandatory} requires TLS"
                ));
                if required {
                    return Attempt::RequireTlsRefused {
                        reply,
                        hop: Some(hop),
                    };
                }
                return failed(reply, Some(hop)).reported(ResultType::StarttlsNotSupported);
            }
        } else {
            match s.starttls(client_tls, &host.name).await {
                Err(StartTlsError::Io(e)) => {
                    return failed(deferral(replies::bad_connection, &e), None);
                }
                Err(StartTlsError::Injection(why)) => {
                    s.event('*', &why, "CVE-2011-0411");
                    return failed(deferral(replies::tls_failed, &why), Some(hop));
                }
                Err(StartTlsError::Setup(why)) => return failed(why, None),
                Ok(StartTls::Refused(r)) => {
                    *seen = Some((Presented::NoTls, false));
                    if tls_mandatory {
                        let _ = s.command("QUIT\r\n").await;
                        let reply = no_tls_reply(format!(
                            "{target} refused to start TLS: {}",
                            r.one_line()
                        ));
                        if required {
                            return Attempt::RequireTlsRefused {
                                reply,
                                hop: Some(hop),
                            };
                        }
                        return failed(reply, Some(hop)).reported(ResultType::StarttlsNotSupported);
                    }
                    // Opportunistic: carry on in plaintext on this connection.
                    hop.policy = format!("{} (STARTTLS refused: {})", req.describe(), r.one_line());
                }
                Ok(StartTls::HandshakeFailed(why)) => {
                    // Why DANE refused the certificate, when it did.
                    let why = match dane_check.as_ref().and_then(|c| c.outcome()) {
                        Some(Err(no_match)) => {
                            format!("DANE: {no_match}; the TLS handshake with {target} was aborted")
                        }
                        _ if sts_enforced => format!(
                            "MTA-STS (enforce) needs a certificate valid for {} from a trusted root: {why}",
                            host.name
                        ),
                        _ => why,
                    };
                    if required {
                        return Attempt::RequireTlsRefused {
                            reply: replies::requiretls_not_trusted(&target, &why).one_line(),
                            hop: Some(hop),
                        };
                    }
                    if tls_mandatory {
                        let result = if sts_enforced && dane.is_none() {
                            ResultType::StsWebpkiInvalid
                        } else {
                            ResultType::ValidationFailure
                        };
                        return failed(
                            deferral(replies::certificate_not_accepted, &why),
                            Some(hop),
                        )
                        .reported(result);
                    }
                    return Attempt::RetryPlain(why);
                }
                Ok(StartTls::Established(chain)) => {
                    let now = (job.current)();
                    let verdict = judge(&now.trust_context(), &job.requirement, &chain, &target);
                    if let Some(certificate) = verdict.peer.clone() {
                        let presented = Presented::Certificate {
                            certificate,
                            chain: chain.clone(),
                        };
                        *seen = Some((presented, verdict.authenticated));
                    }
                    tls_chain = Some(chain);
                    let dane_match = dane_check.as_ref().and_then(|c| c.outcome()?.ok());
                    let (trust, detail) = match &dane_match {
                        Some(m) => (
                            TrustLevel::Verified,
                            Some(format!("authenticated by DANE: {}", m.detail)),
                        ),
                        None if pkix => (
                            TrustLevel::Verified,
                            Some(format!(
                                "valid for {} from a trusted root ({pkix_for})",
                                host.name
                            )),
                        ),
                        None => (verdict.trust, verdict.detail.clone()),
                    };
                    if let Some(m) = &dane_match {
                        hop.policy = format!("{}; authenticated by {}", hop.policy, m.detail);
                    } else if pkix {
                        hop.policy = format!(
                            "{}; certificate valid for {} ({pkix_for})",
                            hop.policy, host.name
                        );
                    }
                    let Some(facts) = s.tls_facts(verdict.peer.clone(), trust, detail) else {
                        return failed("internal: connection state".into(), None);
                    };
                    s.live_update(|row| {
                        row.tls_version = Some(facts.version.clone());
                        row.cipher = Some(facts.cipher.clone());
                        row.client_certificate =
                            facts.peer_certificate.as_ref().map(|p| p.subject.clone());
                    });
                    s.event(
                        '*',
                        &format!(
                            "{} TLS connection established to {target}: {} with cipher {}",
                            facts.trust, facts.version, facts.cipher
                        ),
                        "TLS",
                    );
                    hop.security = hop_status(Some(&facts), verdict.authenticated);
                    if verdict.authenticated {
                        hop.auth_domain = verdict.auth_domain.clone();
                        hop.auth_mechanism =
                            verdict.mechanism.map(|m| m.header_value().to_string());
                    }
                    hop.tls = Some(facts);
                    if let Some(reason) = verdict.refusal {
                        // Not one SMTP command over a channel the policy does not accept.
                        s.event('*', &reason, "policy");
                        let _ = s.command("QUIT\r\n").await;
                        let result = if reason.contains("do not match") {
                            ResultType::CertificateHostMismatch
                        } else {
                            ResultType::CertificateNotTrusted
                        };
                        return failed(
                            deferral(replies::certificate_not_accepted, &reason),
                            Some(hop),
                        )
                        .reported(result);
                    }
                    caps = match ehlo(s, &send_connector.fqdn).await {
                        Ok(c) => c,
                        Err(e) => return failed(e, Some(hop)),
                    };
                    if required && !caps.require_tls {
                        let _ = s.command("QUIT\r\n").await;
                        return Attempt::RequireTlsRefused {
                            reply: replies::requiretls_not_offered(&target).one_line(),
                            hop: Some(hop),
                        };
                    }
                }
            }
        }
    }
    if no_tls && !matches!(req, TlsRequirement::NoTls) {
        hop.policy = format!(
            "{} (TLS handshake failed earlier; sent in plaintext)",
            req.describe()
        );
    }
    if let Some(route) = &host.route {
        hop.policy = format!("{}; {route}", hop.policy);
    }
    // Transactions.
    let mut result = RemoteResult {
        host: Some(target.clone()),
        ..Default::default()
    };
    for (env, rcpts, body) in &job.messages {
        if let Err(why) = settings_still_allow(job, tls_chain.as_deref(), &target) {
            s.event('*', &why, "policy");
            result.error = Some(why);
            break;
        }
        match transaction(s, &caps, env, rcpts, body).await {
            Ok(outs) => {
                for (rcpt, o) in rcpts.iter().zip(outs) {
                    let outcome = match o {
                        // Without DSN further on, our notice of relaying is the sender's last.
                        RecipientOutcome::Delivered(r) if !caps.dsn => {
                            Outcome::Relayed(r.one_line())
                        }
                        RecipientOutcome::Delivered(r) => Outcome::Delivered(r.one_line()),
                        RecipientOutcome::Deferred(r) => Outcome::Deferred(r.one_line()),
                        RecipientOutcome::Failed(r) => Outcome::Failed(r.one_line()),
                    };
                    result
                        .outcomes
                        .insert((env.id.clone(), rcpt.clone()), outcome);
                }
            }
            Err(e) => {
                result.error = Some(deferral(replies::bad_connection, &e));
                break;
            }
        }
    }
    let _ = s.command("QUIT\r\n").await;
    result.hop = Some(hop);
    Attempt::Done(result)
}

async fn ehlo(s: &mut Session, fqdn: &str) -> Result<Capabilities, String> {
    let r = s
        .command(&format!("EHLO {fqdn}\r\n"))
        .await
        .map_err(|e| deferral(replies::bad_connection, &e))?;
    if r.code == 250 {
        return Ok(Capabilities::from_ehlo(&r));
    }
    let r2 = s
        .command(&format!("HELO {fqdn}\r\n"))
        .await
        .map_err(|e| deferral(replies::bad_connection, &e))?;
    if r2.code == 250 {
        Ok(Capabilities::default())
    } else {
        Err(format!(
            "{} refused EHLO and HELO: {}",
            s.host,
            r2.one_line()
        ))
    }
}

async fn transaction(
    s: &mut Session,
    caps: &Capabilities,
    env: &Envelope,
    rcpts: &[String],
    body: &[u8],
) -> Result<Vec<RecipientOutcome>, String> {
    let flags = MailFlags {
        eight_bit: env.eight_bit,
        smtputf8: env.smtputf8,
        require_tls: env.require_tls,
        dsn: Some(&env.dsn),
    };
    let mail = match mail_command(&env.sender, body.len() as u64, flags, caps) {
        Ok(m) => m,
        Err(EnvelopeProblem::TooBig { size, limit }) => {
            let r = replies::too_big_for_next_hop(size, limit, &s.host);
            return Ok(rcpts
                .iter()
                .map(|_| RecipientOutcome::Failed(r.clone()))
                .collect());
        }
        Err(EnvelopeProblem::NeedsSmtpUtf8) => {
            let r = replies::next_hop_lacks_smtputf8(&s.host);
            return Ok(rcpts
                .iter()
                .map(|_| RecipientOutcome::Failed(r.clone()))
                .collect());
        }
    };
    let mail_reply;
    let mut rcpt_replies = Vec::new();
    let data_reply;
    if caps.pipelining {
        let mut batch = mail.clone();
        for r in rcpts {
            batch.push_str(&rcpt_command(r, &env.dsn, caps));
        }
        batch.push_str("DATA\r\n");
        s.send(batch.as_bytes(), Some(batch.trim_end())).await?;
        mail_reply = s.reply().await?;
        for _ in rcpts {
            rcpt_replies.push(s.reply().await?);
        }
        data_reply = s.reply().await?;
    } else {
        mail_reply = s.command(&mail).await?;
        if !mail_reply.is_positive() {
            let _ = s.command("RSET\r\n").await;
            return Ok(settle(
                &mail_reply,
                &vec![mail_reply.clone(); rcpts.len()],
                None,
            ));
        }
        for r in rcpts {
            rcpt_replies.push(s.command(&rcpt_command(r, &env.dsn, caps)).await?);
        }
        if !rcpt_replies.iter().any(Reply::is_positive) {
            let _ = s.command("RSET\r\n").await;
            return Ok(settle(&mail_reply, &rcpt_replies, None));
        }
        data_reply = s.command("DATA\r\n").await?;
    }
    if data_reply.code != 354 {
        if caps.pipelining && data_reply.is_positive() {
            return Err(format!(
                "{} answered DATA with {}",
                s.host,
                data_reply.one_line()
            ));
        }
        let _ = s.command("RSET\r\n").await;
        let settled_by = if mail_reply.is_positive() && rcpt_replies.iter().any(Reply::is_positive)
        {
            Some(&data_reply)
        } else {
            None
        };
        return Ok(settle(&mail_reply, &rcpt_replies, settled_by));
    }
    let payload = dot_stuff(body);
    s.send(&payload, None).await?;
    s.event(
        '>',
        &format!("<message data: {} octets>", payload.len()),
        "",
    );
    let end = s.reply().await?;
    Ok(settle(&mail_reply, &rcpt_replies, Some(&end)))
}
