//! The test DNS server itself (`support::dns`), queried by `hickory-resolver` configured with
//! that server only (no resolv.conf, no search domains), as the relay's DNS routing will be:
//! MX preferences, null MX, addresses, CNAMEs, the NXDOMAIN that bounces a recipient domain
//! told apart from the failures that only defer it, and the query count that shows a cache.
//! Then DNSSEC: a resolver validating under the server's trust anchor file finds a signed zone
//! Secure, an unsigned one Insecure and a broken signature Bogus, and what goes wrong with an
//! anchor for the signed zone alone or with the anchor given only as a path option.

use crate::support::dns::{TestDns, Zone};
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::dnssec::{DnssecSummary, Proof, TrustAnchors};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, Record, RecordType};
use hickory_resolver::{ResolverBuilder, TokioResolver};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A resolver asking the server at `server` only, over UDP (TCP when an answer is truncated),
/// quick to give up so a test about a silent server stays short.
fn resolver_of(server: SocketAddr) -> TokioResolver {
    builder_for(server).build().unwrap()
}

/// A resolver asking `server` only and validating DNSSEC under the trust anchor file at
/// `anchor`. hickory-resolver 0.26 reads no anchor file itself: the file is loaded with
/// `TrustAnchors::from_file` and given to the builder, which turns validation on.
fn validating_resolver_of(server: SocketAddr, anchor: &Path) -> TokioResolver {
    let anchors = TrustAnchors::from_file(anchor).unwrap();
    builder_for(server)
        .with_trust_anchor(Arc::new(anchors))
        .build()
        .unwrap()
}

/// A resolver asking `dns` only and validating under its trust anchor, written to a file and
/// read back as the relay's setting will be.
fn validating_resolver_under(dns: &TestDns) -> TokioResolver {
    let directory = tempfile::tempdir().unwrap();
    validating_resolver_of(dns.addr(), &anchor_file(&directory, dns.trust_anchor()))
}

fn builder_for(server: SocketAddr) -> ResolverBuilder<TokioRuntimeProvider> {
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
    builder
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

/// `error` is the server's answer `response_code`, for which the message waits.
fn assert_deferred_for(error: &NetError, response_code: ResponseCode) {
    assert!(
        matches!(error, NetError::Dns(DnsError::ResponseCode(code)) if *code == response_code),
        "{error:?}"
    );
    assert_eq!(verdict(error), Verdict::Defer);
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
    assert_deferred_for(&error, ResponseCode::Refused);
}

#[tokio::test]
async fn a_servfail_defers() {
    let server = answers_servfail();
    let resolver = resolver_of(server);
    let error = resolver.mx_lookup("woodgrove.test.").await.unwrap_err();
    assert_deferred_for(&error, ResponseCode::ServFail);
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

/// A signed zone, an unsigned one and a broken one, side by side under `test.`.
fn signed_unsigned_and_broken() -> Vec<Zone> {
    vec![
        woodgrove().signed(),
        Zone::new("fabrikam.test")
            .mx("fabrikam.test", 10, "mx.fabrikam.test")
            .a("mx.fabrikam.test", Ipv4Addr::new(127, 0, 0, 21)),
        Zone::new("tailspin.test")
            .mx("tailspin.test", 10, "mx.tailspin.test")
            .a("mx.tailspin.test", Ipv4Addr::new(127, 0, 0, 31))
            .broken_signature(),
    ]
}

/// Writes `contents` as a trust anchor file in `directory`; returns its path.
fn anchor_file(directory: &tempfile::TempDir, contents: &str) -> PathBuf {
    let path = directory.path().join("trust-anchor.keys");
    std::fs::write(&path, contents).unwrap();
    path
}

/// The DNSSEC status of each answer record, leaving out the RRSIGs, in the order of the
/// record types' numbers: a validating resolver returns the RRsets of an answer in no fixed
/// order (a CNAME may come after its target).
fn proofs(answers: &[Record]) -> Vec<(RecordType, Proof)> {
    let mut proofs: Vec<(RecordType, Proof)> = answers
        .iter()
        .filter(|r| r.record_type() != RecordType::RRSIG)
        .map(|r| (r.record_type(), r.proof))
        .collect();
    proofs.sort_by_key(|(record_type, _)| u16::from(*record_type));
    proofs
}

#[test]
fn the_trust_anchor_is_the_parents_dnskey_in_presentation_format() {
    let unsigned = TestDns::start(vec![woodgrove()]);
    assert_eq!(unsigned.trust_anchor(), "");
    let dns = TestDns::start(signed_unsigned_and_broken());
    let lines: Vec<&str> = dns.trust_anchor().lines().collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("test. 300 IN DNSKEY 257 3 13 "),
        "{lines:?}"
    );
    let directory = tempfile::tempdir().unwrap();
    let anchors = TrustAnchors::from_file(&anchor_file(&directory, dns.trust_anchor())).unwrap();
    assert!(anchors.is_empty(), "a key for `test.` is not a root key");
}

#[tokio::test]
async fn a_signed_zone_answers_secure() {
    let dns = TestDns::start(signed_unsigned_and_broken());
    let resolver = validating_resolver_under(&dns);
    let mx = resolver.mx_lookup("woodgrove.test.").await.unwrap();
    assert_eq!(
        proofs(mx.answers()),
        [
            (RecordType::MX, Proof::Secure),
            (RecordType::MX, Proof::Secure)
        ]
    );
    assert_eq!(
        DnssecSummary::from_records(mx.answers().iter()),
        DnssecSummary::Secure
    );
    let via_cname = resolver.ipv4_lookup("mail.woodgrove.test.").await.unwrap();
    assert_eq!(
        proofs(via_cname.answers()),
        [
            (RecordType::A, Proof::Secure),
            (RecordType::CNAME, Proof::Secure)
        ]
    );
}

#[tokio::test]
async fn an_unsigned_zone_answers_insecure() {
    let dns = TestDns::start(signed_unsigned_and_broken());
    let resolver = validating_resolver_under(&dns);
    let mx = resolver.mx_lookup("fabrikam.test.").await.unwrap();
    assert_eq!(proofs(mx.answers()), [(RecordType::MX, Proof::Insecure)]);
    assert_eq!(
        DnssecSummary::from_records(mx.answers().iter()),
        DnssecSummary::Insecure
    );
    let error = resolver
        .mx_lookup("nobody.fabrikam.test.")
        .await
        .unwrap_err();
    assert_eq!(verdict(&error), Verdict::Bounce, "{error:?}");
}

#[tokio::test]
async fn a_broken_signature_is_bogus_and_the_lookup_fails() {
    let dns = TestDns::start(signed_unsigned_and_broken());
    let resolver = validating_resolver_under(&dns);
    for (name, record_type) in [
        ("tailspin.test.", RecordType::MX),
        ("mx.tailspin.test.", RecordType::A),
    ] {
        let error = resolver.lookup(name, record_type).await.unwrap_err();
        assert!(
            matches!(error, NetError::Dns(DnsError::DnssecBogus)),
            "{name} {record_type}: {error:?}"
        );
        assert_eq!(verdict(&error), Verdict::Defer);
    }
}

#[tokio::test]
async fn nxdomain_in_a_signed_zone_is_proven_secure() {
    let dns = TestDns::start(signed_unsigned_and_broken());
    let resolver = validating_resolver_under(&dns);
    // Inside the signed zone, and (with a parent served) a name in no test zone at all.
    for name in ["nobody.woodgrove.test.", "contoso.test."] {
        let error = resolver.mx_lookup(name).await.unwrap_err();
        assert_eq!(verdict(&error), Verdict::Bounce, "{name}: {error:?}");
        let NetError::Dns(DnsError::NoRecordsFound(no_records)) = &error else {
            panic!("{error:?}")
        };
        assert_eq!(no_records.soa.as_ref().unwrap().proof, Proof::Secure);
        let authorities = no_records.authorities.as_deref().unwrap_or_default();
        assert!(
            authorities
                .iter()
                .any(|r| r.record_type() == RecordType::NSEC && r.proof == Proof::Secure),
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn an_anchor_for_the_signed_zone_alone_makes_an_unsigned_zone_bogus() {
    let dns = TestDns::start(signed_unsigned_and_broken());
    // The signed zone's own DNSKEY as the only anchor, read from the server unvalidated.
    let keys = resolver_of(dns.addr())
        .lookup("woodgrove.test.", RecordType::DNSKEY)
        .await
        .unwrap();
    let zone_anchor: String = keys
        .answers()
        .iter()
        .filter(|r| r.record_type() == RecordType::DNSKEY)
        .map(|r| format!("{r}\n"))
        .collect();
    let directory = tempfile::tempdir().unwrap();
    let resolver = validating_resolver_of(dns.addr(), &anchor_file(&directory, &zone_anchor));
    let mx = resolver.mx_lookup("woodgrove.test.").await.unwrap();
    assert_eq!(
        DnssecSummary::from_records(mx.answers().iter()),
        DnssecSummary::Secure
    );
    // Nothing proves `fabrikam.test.` unsigned without a trusted parent: 0.26 calls it bogus
    // (not Insecure, not Indeterminate) and fails the lookup.
    let error = resolver.mx_lookup("fabrikam.test.").await.unwrap_err();
    assert!(
        matches!(error, NetError::Dns(DnsError::DnssecBogus)),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_trust_anchor_path_option_alone_validates_against_the_root_keys() {
    let dns = TestDns::start(signed_unsigned_and_broken());
    let directory = tempfile::tempdir().unwrap();
    let mut builder = builder_for(dns.addr());
    // `ResolverOpts::trust_anchor` turns validation on, but 0.26 never reads the file: the
    // built-in IANA root keys stay the only anchors, so no test zone can be secure.
    builder.options_mut().trust_anchor = Some(anchor_file(&directory, dns.trust_anchor()));
    let resolver = builder.build().unwrap();
    assert!(resolver.options().validate);
    let error = resolver.mx_lookup("woodgrove.test.").await.unwrap_err();
    assert!(
        matches!(error, NetError::Dns(DnsError::DnssecBogus)),
        "{error:?}"
    );
}
