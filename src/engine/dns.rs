//! The DNS of MX routing: one resolver for the DNS servers of the transport settings (or the
//! system's), validating DNSSEC in process from the settings' trust anchor (the IANA root by
//! default), whose answers hickory caches for their TTL, and the one lookup a delivery needs —
//! the hosts to try for a recipient domain, in the order `policy::mx` gives, each with its
//! addresses and whether DNSSEC vouches for them. Failures are told apart the way a sender
//! must: a domain that does not exist, a null MX or a route back to this server fail the
//! message (the sender gets an NDR); a DNS server that does not answer, or an answer whose
//! signatures do not hold (bogus, RFC 7672 §2.1.1), defers it. For an MX host that DNSSEC
//! vouches for, it also looks up the TLSA records DANE needs (RFC 7672 §2.2).

use super::error::EngineError;
use crate::config::DnssecTrustAnchor;
use crate::policy::dane::{DanePolicy, TlsaRecord};
use crate::policy::mx::{self, MxHost, MxRecord, MxRoute};
use crate::smtp::replies;
use hickory_resolver::config::{LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::dnssec::{DnssecSummary, Proof, TrustAnchors};
use hickory_resolver::proto::rr::RData;
use hickory_resolver::{Resolver, TokioResolver};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// How long one DNS query may take, and how often it is tried, before the lookup counts as
/// failed (and the delivery waits).
const QUERY_TIMEOUT: Duration = Duration::from_secs(5);
const QUERY_ATTEMPTS: usize = 2;

/// A resolver for MX routing.
pub struct Dns {
    resolver: TokioResolver,
    /// The servers it asks (empty: the system's).
    servers: Vec<SocketAddr>,
    anchor: DnssecTrustAnchor,
}

/// What DNSSEC says of an answer that validated (a bogus one is an error, never an answer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnssecStatus {
    /// Signed, and the signatures hold from the trust anchor down.
    Secure,
    /// Provably unsigned, or validation is off.
    Insecure,
}

impl DnssecStatus {
    fn and(self, other: DnssecStatus) -> DnssecStatus {
        if self == DnssecStatus::Secure && other == DnssecStatus::Secure {
            DnssecStatus::Secure
        } else {
            DnssecStatus::Insecure
        }
    }
}

impl fmt::Display for DnssecStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DnssecStatus::Secure => "DNSSEC secure",
            DnssecStatus::Insecure => "DNSSEC insecure",
        })
    }
}

/// A host to connect to, found in DNS: its name (for TLS and the evidence) and its addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MxTarget {
    pub name: String,
    /// The MX preference; `None` for the implicit MX (the domain itself).
    pub preference: Option<u16>,
    pub addresses: Vec<IpAddr>,
    /// Secure only when the MX answer and this host's addresses both are.
    pub dnssec: DnssecStatus,
}

/// What DANE asks of the connections to one MX host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DaneLookup {
    /// DANE does not apply, and why (`the MX host is not DNSSEC-secure`, `no TLSA records`).
    NotApplicable(String),
    /// DNSSEC-secure TLSA records: what they ask.
    Policy(DanePolicy),
    /// The TLSA lookup failed (a bogus answer, no answer): the host is not used this time
    /// (RFC 7672 §2.2: neither plaintext nor unauthenticated TLS may stand in for it).
    Failed(String),
}

impl DaneLookup {
    /// In words, with the usable records when there are some.
    pub fn describe(&self) -> String {
        match self {
            DaneLookup::NotApplicable(why) => why.clone(),
            DaneLookup::Policy(DanePolicy::Authenticate(e)) => {
                let records: Vec<String> = e
                    .records
                    .iter()
                    .map(|r| format!("{} {r}", crate::policy::dane::usage_name(r.usage)))
                    .collect();
                format!(
                    "{}: {}",
                    DanePolicy::Authenticate(e.clone()).describe(),
                    records.join(", ")
                )
            }
            DaneLookup::Policy(p) => p.describe(),
            DaneLookup::Failed(why) => why.clone(),
        }
    }
}

/// Why there is no host to try, as the reply line the queue records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteFailure {
    /// The message cannot be delivered to this domain: the recipients fail with this reply.
    Permanent(String),
    /// DNS did not answer (or not usefully) this time: the delivery waits.
    Temporary(String),
}

impl Dns {
    /// A resolver that asks `servers`, or the system's resolvers (`/etc/resolv.conf`) when
    /// there are none, and validates from `anchor`. The hosts file is not read: MX routing
    /// follows DNS only.
    pub fn new(servers: &[SocketAddr], anchor: &DnssecTrustAnchor) -> Result<Dns, EngineError> {
        let provider = TokioRuntimeProvider::default();
        let mut builder = if servers.is_empty() {
            Resolver::builder(provider).map_err(|e| EngineError::Dns {
                why: format!("the system's DNS configuration (/etc/resolv.conf) cannot be used: {e}; name DNS servers in the transport settings"),
            })?
        } else {
            let name_servers = servers
                .iter()
                .map(|a| {
                    let mut ns = NameServerConfig::udp_and_tcp(a.ip());
                    for c in &mut ns.connections {
                        c.port = a.port();
                    }
                    ns
                })
                .collect();
            Resolver::builder_with_config(
                ResolverConfig::from_parts(None, Vec::new(), name_servers),
                provider,
            )
        };
        builder = match anchor {
            DnssecTrustAnchor::IanaRoot => {
                builder.with_trust_anchor(Arc::new(TrustAnchors::default()))
            }
            DnssecTrustAnchor::File(path) => {
                let anchors = TrustAnchors::from_file(std::path::Path::new(path)).map_err(|e| {
                    EngineError::Dns {
                        why: format!("the DNSSEC trust anchor {path} cannot be used: {e}; it must hold DNSKEY records in DNS presentation format"),
                    }
                })?;
                builder.with_trust_anchor(Arc::new(anchors))
            }
            DnssecTrustAnchor::Off => builder,
        };
        let options = builder.options_mut();
        options.timeout = QUERY_TIMEOUT;
        options.attempts = QUERY_ATTEMPTS;
        options.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
        options.use_hosts_file = ResolveHosts::Never;
        options.ndots = 0;
        let resolver = builder.build().map_err(|e| EngineError::Dns {
            why: format!("the DNS resolver cannot be set up: {e}"),
        })?;
        Ok(Dns {
            resolver,
            servers: servers.to_vec(),
            anchor: anchor.clone(),
        })
    }

    /// Whether this resolver is the one for these settings.
    pub fn is_for(&self, servers: &[SocketAddr], anchor: &DnssecTrustAnchor) -> bool {
        self.servers == servers && self.anchor == *anchor
    }

    /// The hosts to try for `domain`, best first, with their addresses. `own_names` are this
    /// server's names: MX hosts it is preferred to are left out (no loops).
    pub async fn mx_targets(
        &self,
        domain: &str,
        own_names: &[&str],
    ) -> Result<Vec<MxTarget>, RouteFailure> {
        let (records, mx_status) = match self.lookup_mx(domain).await {
            Ok(r) => r,
            Err(e) => return Err(self.failed(e)),
        };
        let route = mx::route(domain, records.as_deref(), own_names, &mut shuffle);
        let hosts = match route {
            MxRoute::Hosts(h) => h,
            MxRoute::NullMx => {
                return Err(RouteFailure::Permanent(replies::null_mx(domain).one_line()));
            }
            MxRoute::LoopsToSelf => {
                return Err(RouteFailure::Permanent(
                    replies::mail_loops(domain).one_line(),
                ));
            }
        };
        let implicit = hosts.iter().all(|h| h.preference.is_none());
        let mut targets = Vec::new();
        let mut problems = Vec::new();
        let mut all_absent = true;
        for MxHost { name, preference } in hosts {
            match self.addresses(&name).await {
                Ok((addresses, status)) if !addresses.is_empty() => {
                    targets.push(MxTarget {
                        name,
                        preference,
                        addresses,
                        dnssec: mx_status.and(status),
                    });
                }
                Ok(_) => problems.push(format!("{name} has no address")),
                Err(e) => {
                    if is_bogus(&e) || !(e.is_nx_domain() || e.is_no_records_found()) {
                        all_absent = false;
                    }
                    problems.push(format!("{name}: {}", plain(&e)));
                }
            }
        }
        if !targets.is_empty() {
            return Ok(targets);
        }
        let why = problems.join("; ");
        if implicit && all_absent {
            // RFC 5321 §5.1: no MX and no address — there is nowhere to deliver.
            return Err(RouteFailure::Permanent(
                replies::no_such_domain(&format!("{domain} has no MX record and no address"))
                    .one_line(),
            ));
        }
        Err(RouteFailure::Temporary(
            replies::dns_failure(&format!("no address for the MX hosts of {domain}: {why}"))
                .one_line(),
        ))
    }

    /// The MX records of `domain` (`None` when it exists and has none), and what DNSSEC says
    /// of that answer.
    async fn lookup_mx(
        &self,
        domain: &str,
    ) -> Result<(Option<Vec<MxRecord>>, DnssecStatus), (String, NetError)> {
        match self.resolver.mx_lookup(format!("{domain}.")).await {
            Ok(lookup) => Ok((
                Some(
                    lookup
                        .answers()
                        .iter()
                        .filter_map(|r| match &r.data {
                            RData::MX(m) => Some(MxRecord {
                                preference: m.preference,
                                exchange: m
                                    .exchange
                                    .to_ascii()
                                    .trim_end_matches('.')
                                    .to_ascii_lowercase(),
                            }),
                            _ => None,
                        })
                        .collect(),
                ),
                status_of(lookup.answers()),
            )),
            Err(e) if e.is_no_records_found() && !e.is_nx_domain() => Ok((None, denial_status(&e))),
            Err(e) => Err((domain.to_string(), e)),
        }
    }

    async fn addresses(&self, host: &str) -> Result<(Vec<IpAddr>, DnssecStatus), NetError> {
        let lookup = self.resolver.lookup_ip(format!("{host}.")).await?;
        let status = status_of(lookup.as_lookup().answers());
        Ok((lookup.iter().collect(), status))
    }

    /// What DANE asks of MX host `target` of `domain` on `port`: its TLSA records at
    /// `_<port>._tcp.<host>`, looked up only when the MX and address answers are DNSSEC-secure
    /// and used only when the TLSA answer is too.
    pub async fn dane(&self, target: &MxTarget, port: u16, domain: &str) -> DaneLookup {
        if target.dnssec != DnssecStatus::Secure {
            return DaneLookup::NotApplicable(format!(
                "{} is not DNSSEC-secure, so DANE does not apply",
                target.name
            ));
        }
        let owner = format!("_{port}._tcp.{}", target.name);
        match self.resolver.tlsa_lookup(format!("{owner}.")).await {
            Ok(lookup) => {
                if status_of(lookup.answers()) != DnssecStatus::Secure {
                    return DaneLookup::NotApplicable(format!(
                        "the TLSA records at {owner} are not DNSSEC-secure, so DANE does not apply"
                    ));
                }
                let records: Vec<TlsaRecord> = lookup
                    .answers()
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::TLSA(t) => Some(TlsaRecord {
                            usage: u8::from(t.cert_usage),
                            selector: u8::from(t.selector),
                            matching: u8::from(t.matching),
                            data: t.cert_data.clone(),
                        }),
                        _ => None,
                    })
                    .collect();
                if records.is_empty() {
                    return DaneLookup::NotApplicable(format!("no TLSA records at {owner}"));
                }
                DaneLookup::Policy(DanePolicy::from_records(
                    &owner,
                    records,
                    &target.name,
                    domain,
                ))
            }
            Err(e) if !is_bogus(&e) && (e.is_nx_domain() || e.is_no_records_found()) => {
                DaneLookup::NotApplicable(format!("no TLSA records at {owner}"))
            }
            Err(e) => DaneLookup::Failed(format!(
                "the TLSA lookup for {owner} failed: {}; {} is not used until it answers",
                plain(&e),
                target.name
            )),
        }
    }

    /// The TXT records at `name`, each as one string (its character strings joined); none
    /// when the name or the records do not exist. `Err`: no usable answer.
    pub async fn txt(&self, name: &str) -> Result<Vec<String>, String> {
        match self.resolver.txt_lookup(format!("{name}.")).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::TXT(t) => Some(
                        t.txt_data
                            .iter()
                            .map(|part| String::from_utf8_lossy(part).into_owned())
                            .collect::<String>(),
                    ),
                    _ => None,
                })
                .collect()),
            Err(e) if !is_bogus(&e) && (e.is_nx_domain() || e.is_no_records_found()) => {
                Ok(Vec::new())
            }
            Err(e) => Err(format!("the TXT lookup for {name} failed: {}", plain(&e))),
        }
    }

    /// The addresses of `host` (for an HTTPS fetch, say). `Err` says why there are none.
    pub async fn host_addresses(&self, host: &str) -> Result<Vec<IpAddr>, String> {
        match self.addresses(host).await {
            Ok((addresses, _)) if !addresses.is_empty() => Ok(addresses),
            Ok(_) => Err(format!("{host} has no address")),
            Err(e) => Err(format!("{host}: {}", plain(&e))),
        }
    }

    fn failed(&self, (domain, e): (String, NetError)) -> RouteFailure {
        if is_bogus(&e) {
            RouteFailure::Temporary(
                replies::dns_failure(&format!(
                    "the MX answer for {domain} is DNSSEC-bogus (its signatures do not hold); delivery waits until it validates. If every domain says so, the DNS servers may strip DNSSEC: name servers that keep it, or set the trust anchor to off"
                ))
                .one_line(),
            )
        } else if e.is_nx_domain() {
            RouteFailure::Permanent(
                replies::no_such_domain(&format!("{domain} does not exist in DNS (NXDOMAIN)"))
                    .one_line(),
            )
        } else {
            RouteFailure::Temporary(
                replies::dns_failure(&format!("the MX lookup for {domain} failed: {}", plain(&e)))
                    .one_line(),
            )
        }
    }
}

/// Reads a trust anchor file as the resolver will, so that a wrong one is refused when it is
/// set rather than when mail waits.
pub fn check_trust_anchor(path: &std::path::Path) -> Result<(), EngineError> {
    TrustAnchors::from_file(path)
        .map(|_| ())
        .map_err(|e| EngineError::Dns {
            why: format!(
                "{} is not a DNSSEC trust anchor: {e}; it must hold DNSKEY records in DNS presentation format",
                path.display()
            ),
        })
}

/// Whether DNSSEC validation failed (bogus answer or proof).
fn is_bogus(e: &NetError) -> bool {
    match e {
        NetError::Dns(DnsError::DnssecBogus) => true,
        NetError::Dns(DnsError::Nsec { proof, .. }) => *proof == Proof::Bogus,
        _ => false,
    }
}

/// What DNSSEC says of a validated answer (without validation: insecure).
fn status_of(records: &[hickory_resolver::proto::rr::Record]) -> DnssecStatus {
    match DnssecSummary::from_records(records.iter()) {
        DnssecSummary::Secure => DnssecStatus::Secure,
        _ => DnssecStatus::Insecure,
    }
}

/// What DNSSEC says of an empty answer (the name exists without that record): the proof of
/// its SOA.
fn denial_status(e: &NetError) -> DnssecStatus {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(n))
            if n.soa.as_ref().is_some_and(|soa| soa.proof == Proof::Secure) =>
        {
            DnssecStatus::Secure
        }
        _ => DnssecStatus::Insecure,
    }
}

/// A DNS error in words an administrator reads.
fn plain(e: &NetError) -> String {
    if is_bogus(e) {
        "DNSSEC-bogus answer (its signatures do not hold)".into()
    } else if e.is_nx_domain() {
        "no such name (NXDOMAIN)".into()
    } else if e.is_no_records_found() {
        "no record of that type".into()
    } else if matches!(e, NetError::Timeout) {
        "no DNS server answered in time".into()
    } else {
        e.to_string()
    }
}

/// Orders hosts of equal preference at random (Fisher–Yates over the system's random bytes).
fn shuffle(hosts: &mut [MxHost]) {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    let rng = SystemRandom::new();
    for i in (1..hosts.len()).rev() {
        let mut b = [0u8; 4];
        if rng.fill(&mut b).is_err() {
            return;
        }
        let j = (u32::from_le_bytes(b) as usize) % (i + 1);
        hosts.swap(i, j);
    }
}
