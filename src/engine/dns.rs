//! The DNS of MX routing: one resolver for the DNS servers of the transport settings (or the
//! system's), whose answers hickory caches for their TTL, and the one lookup a delivery needs —
//! the hosts to try for a recipient domain, in the order `policy::mx` gives, each with its
//! addresses. Failures are told apart the way a sender must: a domain that does not exist, a
//! null MX or a route back to this server fail the message (the sender gets an NDR); a DNS
//! server that does not answer defers it.

use super::error::EngineError;
use crate::policy::mx::{self, MxHost, MxRecord, MxRoute};
use crate::smtp::replies;
use hickory_resolver::config::{LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::{Resolver, TokioResolver};
use std::net::{IpAddr, SocketAddr};
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
}

/// A host to connect to, found in DNS: its name (for TLS and the evidence) and its addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MxTarget {
    pub name: String,
    /// The MX preference; `None` for the implicit MX (the domain itself).
    pub preference: Option<u16>,
    pub addresses: Vec<IpAddr>,
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
    /// there are none. The hosts file is not read: MX routing follows DNS only.
    pub fn new(servers: &[SocketAddr]) -> Result<Dns, EngineError> {
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
        })
    }

    /// The servers this resolver asks (empty: the system's).
    pub fn servers(&self) -> &[SocketAddr] {
        &self.servers
    }

    /// The hosts to try for `domain`, best first, with their addresses. `own_names` are this
    /// server's names: MX hosts it is preferred to are left out (no loops).
    pub async fn mx_targets(
        &self,
        domain: &str,
        own_names: &[&str],
    ) -> Result<Vec<MxTarget>, RouteFailure> {
        let records = match self.lookup_mx(domain).await {
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
                Ok(addresses) if !addresses.is_empty() => {
                    targets.push(MxTarget {
                        name,
                        preference,
                        addresses,
                    });
                }
                Ok(_) => problems.push(format!("{name} has no address")),
                Err(e) => {
                    if !(e.is_nx_domain() || e.is_no_records_found()) {
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

    /// The MX records of `domain`; `None` when it exists and has none.
    async fn lookup_mx(&self, domain: &str) -> Result<Option<Vec<MxRecord>>, (String, NetError)> {
        match self.resolver.mx_lookup(format!("{domain}.")).await {
            Ok(lookup) => Ok(Some(
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
            )),
            Err(e) if e.is_no_records_found() && !e.is_nx_domain() => Ok(None),
            Err(e) => Err((domain.to_string(), e)),
        }
    }

    async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, NetError> {
        let lookup = self.resolver.lookup_ip(format!("{host}.")).await?;
        Ok(lookup.iter().collect())
    }

    fn failed(&self, (domain, e): (String, NetError)) -> RouteFailure {
        if e.is_nx_domain() {
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

/// A DNS error in words an administrator reads.
fn plain(e: &NetError) -> String {
    if e.is_nx_domain() {
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
