//! The test DNS server itself (`support::dns`), queried by `hickory-resolver` configured with
//! that server only (no resolv.conf, no search domains), as the relay's DNS routing will be:
//! MX preferences, null MX, addresses, CNAMEs, the NXDOMAIN that bounces a recipient domain
//! told apart from the failures that only defer it, and the query count that shows a cache.

use crate::support::dns::{TestDns, Zone};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// A resolver asking the server at `server` only, over UDP (TCP when an answer is truncated),
/// quick to give up so a test about a silent server stays short.
fn resolver_of(server: SocketAddr) -> TokioResolver {
    let mut name_server = NameServerConfig::udp_and_tcp(server.ip());
    for connection in &mut name_server.connections {
        connection.port = server.port();
    }
    let config = ResolverConfig::from_parts(None, vec![], vec![name_server]);
    let mut builder = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
    let options = builder.options_mut();
    options.timeout = Duration::from_millis(500);
    options.attempts = 1;
    options.use_hosts_file = ResolveHosts::Never;
    builder.build().unwrap()
}

fn woodgrove() -> Zone {
    Zone::new("woodgrove.test")
        .mx("woodgrove.test", 10, "mx1.woodgrove.test")
        .mx("woodgrove.test", 20, "mx2.woodgrove.test")
        .a("mx1.woodgrove.test", Ipv4Addr::new(127, 0, 0, 11))
        .a("mx2.woodgrove.test", Ipv4Addr::new(127, 0, 0, 12))
        .aaaa("mx1.woodgrove.test", Ipv6Addr::LOCALHOST)
        .cname("mail.woodgrove.test", "mx1.woodgrove.test")
        .txt("woodgrove.test", "v=spf1 mx -all")
}

/// The MX records of `domain` as (preference, exchange) pairs, lowest preference first.
async fn mail_exchangers(resolver: &TokioResolver, domain: &str) -> Vec<(u16, String)> {
    let lookup = resolver.mx_lookup(domain).await.unwrap();
    let mut exchangers: Vec<(u16, String)> = lookup
        .answers()
        .iter()
        .filter_map(|record| match &record.data {
            RData::MX(mx) => Some((mx.preference, mx.exchange.to_string())),
            _ => None,
        })
        .collect();
    exchangers.sort();
    exchangers
}

#[tokio::test]
async fn an_mx_lookup_returns_both_preferences() {
    let dns = TestDns::start(vec![woodgrove()]);
    let resolver = resolver_of(dns.addr());
    assert_eq!(
        mail_exchangers(&resolver, "woodgrove.test.").await,
        vec![
            (10, "mx1.woodgrove.test.".to_string()),
            (20, "mx2.woodgrove.test.".to_string()),
        ]
    );
}

#[tokio::test]
async fn a_null_mx_comes_back_as_preference_zero_to_the_root() {
    let dns = TestDns::start(vec![Zone::new("fabrikam.test").null_mx("fabrikam.test")]);
    let resolver = resolver_of(dns.addr());
    assert_eq!(
        mail_exchangers(&resolver, "fabrikam.test.").await,
        vec![(0, ".".to_string())]
    );
}

#[tokio::test]
async fn ipv4_and_ipv6_addresses_resolve() {
    let dns = TestDns::start(vec![woodgrove()]);
    let resolver = resolver_of(dns.addr());
    let v4 = resolver.ipv4_lookup("mx2.woodgrove.test.").await.unwrap();
    let v4: Vec<&RData> = v4.answers().iter().map(|r| &r.data).collect();
    assert_eq!(v4, [&RData::A(Ipv4Addr::new(127, 0, 0, 12).into())]);
    let v6 = resolver.ipv6_lookup("mx1.woodgrove.test.").await.unwrap();
    let v6: Vec<&RData> = v6.answers().iter().map(|r| &r.data).collect();
    assert_eq!(v6, [&RData::AAAA(Ipv6Addr::LOCALHOST.into())]);
    let both = resolver.lookup_ip("mx1.woodgrove.test.").await.unwrap();
    let mut both: Vec<_> = both.iter().collect();
    both.sort();
    assert_eq!(
        both,
        [
            std::net::IpAddr::from(Ipv4Addr::new(127, 0, 0, 11)),
            Ipv6Addr::LOCALHOST.into()
        ]
    );
}

#[tokio::test]
async fn a_cname_to_an_address_is_followed() {
    let dns = TestDns::start(vec![woodgrove()]);
    let resolver = resolver_of(dns.addr());
    let lookup = resolver.ipv4_lookup("mail.woodgrove.test.").await.unwrap();
    let chain: Vec<(String, RecordType)> = lookup
        .answers()
        .iter()
        .map(|r| (r.name.to_string(), r.record_type()))
        .collect();
    assert_eq!(
        chain,
        [
            ("mail.woodgrove.test.".to_string(), RecordType::CNAME),
            ("mx1.woodgrove.test.".to_string(), RecordType::A),
        ]
    );
    let addresses: Vec<Ipv4Addr> = lookup
        .answers()
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect();
    assert_eq!(addresses, [Ipv4Addr::new(127, 0, 0, 11)]);
}

#[tokio::test]
async fn a_txt_record_resolves() {
    let dns = TestDns::start(vec![woodgrove()]);
    let resolver = resolver_of(dns.addr());
    let lookup = resolver.txt_lookup("woodgrove.test.").await.unwrap();
    let texts: Vec<String> = lookup
        .answers()
        .iter()
        .filter_map(|r| match &r.data {
            RData::TXT(txt) => Some(txt.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(texts, ["v=spf1 mx -all"]);
}

/// What the relay will do with a failed lookup for a recipient domain.
#[derive(Debug, PartialEq)]
enum Verdict {
    /// The domain does not exist (NXDOMAIN): the message bounces.
    Bounce,
    /// The domain exists but has no records of that type (NOERROR, empty): for MX, the relay
    /// falls back to the implicit MX (the domain's own addresses).
    NoSuchRecords,
    /// Anything else (SERVFAIL, REFUSED, a timeout, no server reachable): the message waits.
    Defer,
}

/// How an error of hickory-resolver 0.26 tells the three apart.
fn verdict(error: &NetError) -> Verdict {
    match error {
        NetError::Dns(DnsError::NoRecordsFound(no_records)) => match no_records.response_code {
            ResponseCode::NXDomain => Verdict::Bounce,
            _ => Verdict::NoSuchRecords,
        },
        _ => Verdict::Defer,
    }
}

#[tokio::test]
async fn an_unknown_name_in_a_zone_is_nxdomain_which_bounces() {
    let dns = TestDns::start(vec![woodgrove()]);
    let resolver = resolver_of(dns.addr());
    let error = resolver
        .mx_lookup("nobody.woodgrove.test.")
        .await
        .unwrap_err();
    assert!(error.is_no_records_found(), "{error:?}");
    assert!(error.is_nx_domain(), "{error:?}");
    assert!(error.to_string().contains("no records found"), "{error}");
    let NetError::Dns(DnsError::NoRecordsFound(no_records)) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(no_records.response_code, ResponseCode::NXDomain);
    assert!(
        no_records.soa.is_some(),
        "an authoritative NXDOMAIN carries the zone's SOA: {error:?}"
    );
    assert_eq!(verdict(&error), Verdict::Bounce);
}

#[tokio::test]
async fn a_name_without_that_record_type_is_an_empty_answer_not_nxdomain() {
    let dns = TestDns::start(vec![woodgrove()]);
    let resolver = resolver_of(dns.addr());
    let error = resolver.mx_lookup("mx1.woodgrove.test.").await.unwrap_err();
    assert!(error.is_no_records_found(), "{error:?}");
    assert!(!error.is_nx_domain(), "{error:?}");
    assert_eq!(verdict(&error), Verdict::NoSuchRecords);
}

#[tokio::test]
async fn a_name_outside_every_zone_is_refused_which_defers() {
    let dns = TestDns::start(vec![woodgrove()]);
    let resolver = resolver_of(dns.addr());
    let error = resolver.mx_lookup("contoso.test.").await.unwrap_err();
    assert!(!error.is_no_records_found(), "{error:?}");
    assert!(
        matches!(
            error,
            NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused))
        ),
        "{error:?}"
    );
    assert_eq!(verdict(&error), Verdict::Defer);
}

#[tokio::test]
async fn a_servfail_defers() {
    let server = answers_servfail();
    let resolver = resolver_of(server);
    let error = resolver.mx_lookup("woodgrove.test.").await.unwrap_err();
    assert!(
        matches!(
            error,
            NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail))
        ),
        "{error:?}"
    );
    assert_eq!(verdict(&error), Verdict::Defer);
}

#[tokio::test]
async fn a_silent_server_times_out_which_defers() {
    // Bound, so no ICMP "port unreachable", but never read.
    let silent = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let resolver = resolver_of(silent.local_addr().unwrap());
    let started = Instant::now();
    let error = resolver.mx_lookup("woodgrove.test.").await.unwrap_err();
    assert!(matches!(error, NetError::Timeout), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(verdict(&error), Verdict::Defer);
}

#[tokio::test]
async fn the_server_counts_queries_and_a_cached_answer_asks_it_once() {
    let dns = TestDns::start(vec![woodgrove()]);
    let resolver = resolver_of(dns.addr());
    assert_eq!(dns.queries(), 0);
    for _ in 0..3 {
        mail_exchangers(&resolver, "woodgrove.test.").await;
    }
    assert_eq!(
        dns.queries(),
        1,
        "the resolver's cache answered the repeats"
    );
    let uncached = resolver_of(dns.addr());
    mail_exchangers(&uncached, "woodgrove.test.").await;
    assert_eq!(dns.queries(), 2, "a second resolver has its own cache");
}

#[tokio::test]
async fn a_record_ttl_is_served_and_the_cache_expires_with_it() {
    let zone = Zone::new("woodgrove.test")
        .ttl(1)
        .a("brief.woodgrove.test", Ipv4Addr::new(127, 0, 0, 13));
    let dns = TestDns::start(vec![zone]);
    let resolver = resolver_of(dns.addr());
    let lookup = resolver.ipv4_lookup("brief.woodgrove.test.").await.unwrap();
    assert!(lookup.answers().iter().all(|r| r.ttl <= 1), "{lookup:?}");
    resolver.ipv4_lookup("brief.woodgrove.test.").await.unwrap();
    assert_eq!(dns.queries(), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    resolver.ipv4_lookup("brief.woodgrove.test.").await.unwrap();
    assert_eq!(dns.queries(), 2, "the answer expired with its TTL");
}

/// A UDP DNS server on 127.0.0.1 that answers every query SERVFAIL (the query sent back with the
/// response bit and the response code set), for a few seconds.
fn answers_servfail() -> SocketAddr {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let address = socket.local_addr().unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok((length, client)) = socket.recv_from(&mut buffer) {
            if length < 12 {
                continue;
            }
            let mut reply = buffer[..length].to_vec();
            reply[2] |= 0x80; // QR: a response
            reply[3] = (reply[3] & 0xf0) | 2; // RCODE 2: SERVFAIL
            let _ = socket.send_to(&reply, client);
        }
    });
    address
}
