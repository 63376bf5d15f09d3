//! An authoritative DNS server in process, on loopback only, for the tests of DNS routing: test
//! zones built record by record ([`Zone`]), served over UDP and TCP on 127.0.0.1 by
//! `hickory-server` on its own thread ([`TestDns`]), which counts the queries it answers so a
//! test can show that a resolver's cache works. A name inside a zone that has no records answers
//! NXDOMAIN; a name outside every zone answers REFUSED, as an authoritative-only server does
//! (with a signed zone, a name under the parent zone described below answers NXDOMAIN).
//!
//! A zone can be DNSSEC-signed ([`Zone::signed`], or signed and then corrupted with
//! [`Zone::broken_signature`]); the `signing` module below does the signing. As soon as one zone
//! is signed, the server also serves a signed parent zone above the test zones (`test.` above
//! `woodgrove.test.`) that delegates to each of them: a DS record for a signed zone, none (and
//! an NSEC proving it) for an unsigned one. The parents' keys are the server's
//! [`TestDns::trust_anchor`], so under it a validating resolver finds a signed zone Secure, an
//! unsigned one provably Insecure and a broken one Bogus, as it would under the root on the
//! Internet.

mod signing;

use hickory_server::Server;
use hickory_server::dnssec::NxProofKind;
use hickory_server::net::runtime::Time;
use hickory_server::proto::dnssec::rdata::DNSKEY;
use hickory_server::proto::rr::rdata::{A, AAAA, CNAME, MX, NS, SOA, TLSA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record, RecordType};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// The TTL of a zone's records unless [`Zone::ttl`] says otherwise.
const DEFAULT_TTL: u32 = 300;
/// The serial number of every test zone's SOA.
const SERIAL: u32 = 1;
/// The SOA minimum: how long a resolver may cache an NXDOMAIN or an empty answer.
const NEGATIVE_TTL: u32 = 60;

/// One test zone: its origin and records (names relative to nothing: always absolute,
/// e.g. "mx1.woodgrove.test").
pub struct Zone {
    origin: Name,
    records: Vec<Record>,
    ttl: u32,
    signing: Signing,
}

/// Whether and how a zone is DNSSEC-signed.
#[derive(Clone, Copy, PartialEq)]
enum Signing {
    Unsigned,
    Signed,
    /// Signed, then every signature but those over the DNSKEY set corrupted: the keys
    /// validate, nothing they sign does.
    BrokenSignature,
    /// Signed, then the signatures over the TLSA records corrupted: all else validates.
    BrokenTlsaSignature,
}

impl Zone {
    /// A zone with its SOA and an NS record (`ns1.<origin>`, which needs no address: nobody
    /// follows the delegation to this server).
    pub fn new(origin: &str) -> Zone {
        Zone::at(absolute(origin))
    }

    fn at(origin: Name) -> Zone {
        let name_server = absolute("ns1").append_domain(&origin).unwrap();
        let hostmaster = absolute("hostmaster").append_domain(&origin).unwrap();
        let soa = SOA::new(
            name_server.clone(),
            hostmaster,
            SERIAL,
            3600,
            600,
            86400,
            NEGATIVE_TTL,
        );
        let records = vec![
            Record::from_rdata(origin.clone(), DEFAULT_TTL, RData::SOA(soa)),
            Record::from_rdata(origin.clone(), DEFAULT_TTL, RData::NS(NS(name_server))),
        ];
        Zone {
            origin,
            records,
            ttl: DEFAULT_TTL,
            signing: Signing::Unsigned,
        }
    }

    /// An MX record: mail for `name` goes to `exchange` at this `preference` (lower first).
    pub fn mx(self, name: &str, preference: u16, exchange: &str) -> Zone {
        self.record(name, RData::MX(MX::new(preference, absolute(exchange))))
    }

    /// A null MX (RFC 7505, `MX 0 .`): `name` accepts no mail at all.
    pub fn null_mx(self, name: &str) -> Zone {
        self.record(name, RData::MX(MX::new(0, Name::root())))
    }

    /// An IPv4 address record.
    pub fn a(self, name: &str, ip: Ipv4Addr) -> Zone {
        self.record(name, RData::A(A(ip)))
    }

    /// An IPv6 address record.
    pub fn aaaa(self, name: &str, ip: Ipv6Addr) -> Zone {
        self.record(name, RData::AAAA(AAAA(ip)))
    }

    /// An alias: `name` is another name for `target`.
    pub fn cname(self, name: &str, target: &str) -> Zone {
        self.record(name, RData::CNAME(CNAME(absolute(target))))
    }

    /// A text record of one string.
    pub fn txt(self, name: &str, text: &str) -> Zone {
        self.record(name, RData::TXT(TXT::new(vec![text.to_string()])))
    }

    /// A TLSA record (RFC 6698) at `name` (`_25._tcp.mx1.woodgrove.test`): certificate usage,
    /// selector, matching type and the certificate association data.
    pub fn tlsa(self, name: &str, usage: u8, selector: u8, matching: u8, data: &[u8]) -> Zone {
        let tlsa = TLSA::new(
            usage.into(),
            selector.into(),
            matching.into(),
            data.to_vec(),
        );
        self.record(name, RData::TLSA(tlsa))
    }

    /// The TTL of the records added after this call (default 300 seconds).
    pub fn ttl(mut self, seconds: u32) -> Zone {
        self.ttl = seconds;
        self
    }

    /// DNSSEC-signs the zone when the server starts: an ECDSA P-256 key made then, published
    /// as the zone's DNSKEY (flags 257), RRSIGs over every RRset, NSEC for denial of existence,
    /// and a DS record for it in the signed parent zone the server adds.
    pub fn signed(mut self) -> Zone {
        self.signing = Signing::Signed;
        self
    }

    /// Signs the zone as [`Zone::signed`] does, then corrupts every signature except those over
    /// the DNSKEY set: a validating resolver trusts the key and finds all the data bogus.
    pub fn broken_signature(mut self) -> Zone {
        self.signing = Signing::BrokenSignature;
        self
    }

    /// Signs the zone as [`Zone::signed`] does, then corrupts the signatures over its TLSA
    /// records: a validating resolver finds the MX and addresses secure, the TLSA bogus.
    pub fn broken_tlsa_signature(mut self) -> Zone {
        self.signing = Signing::BrokenTlsaSignature;
        self
    }

    fn record(self, name: &str, data: RData) -> Zone {
        self.record_at(absolute(name), data)
    }

    fn record_at(mut self, name: Name, data: RData) -> Zone {
        self.records.push(Record::from_rdata(name, self.ttl, data));
        self
    }

    /// The zone as hickory-server serves it from memory, with its key if it is signed.
    ///
    /// A signed zone also gets an address for its name server (127.0.0.1): hickory-server
    /// 0.26.3 leaves the NSEC proof out of an NXDOMAIN answer in a zone whose only name is its
    /// apex (dig shows the SOA and its RRSIG alone; BIND's delv calls the answer a broken
    /// trust chain), so a validating resolver rightly finds it bogus. With a second name the
    /// zone has an NSEC chain and its denials validate.
    fn into_served(mut self) -> ServedZone {
        if self.signing != Signing::Unsigned {
            let name_server = absolute("ns1").append_domain(&self.origin).unwrap();
            if !self.records.iter().any(|r| r.name == name_server) {
                let ttl = self.ttl;
                self.records.push(Record::from_rdata(
                    name_server,
                    ttl,
                    RData::A(A(Ipv4Addr::LOCALHOST)),
                ));
            }
        }
        let proof_of_nonexistence = match self.signing {
            Signing::Unsigned => None,
            Signing::Signed | Signing::BrokenSignature | Signing::BrokenTlsaSignature => {
                Some(NxProofKind::Nsec)
            }
        };
        let mut handler = InMemoryZoneHandler::empty(
            self.origin.clone(),
            ZoneType::Primary,
            AxfrPolicy::Deny,
            proof_of_nonexistence,
        );
        for record in self.records {
            let described = format!("{} {}", record.name, record.record_type());
            assert!(
                handler.upsert_mut(record, SERIAL),
                "test zone {} refused {described}",
                self.origin
            );
        }
        let key = match self.signing {
            Signing::Unsigned => None,
            Signing::Signed => Some(signing::sign(&mut handler, &self.origin)),
            Signing::BrokenSignature => {
                let key = signing::sign(&mut handler, &self.origin);
                signing::corrupt_signatures(&mut handler, None);
                Some(key)
            }
            Signing::BrokenTlsaSignature => {
                let key = signing::sign(&mut handler, &self.origin);
                signing::corrupt_signatures(&mut handler, Some(RecordType::TLSA));
                Some(key)
            }
        };
        ServedZone {
            origin: self.origin,
            handler: Arc::new(handler),
            key,
        }
    }
}

/// A zone as the server holds it.
struct ServedZone {
    origin: Name,
    handler: Arc<InMemoryZoneHandler>,
    /// The public key it is signed with, if it is.
    key: Option<DNSKEY>,
}

/// A name as written in a test, always taken as absolute ("mx1.woodgrove.test" is
/// "mx1.woodgrove.test.").
fn absolute(name: &str) -> Name {
    let mut name = Name::from_ascii(name).unwrap_or_else(|e| panic!("DNS name {name:?}: {e}"));
    name.set_fqdn(true);
    name
}

/// The server: UDP and TCP on 127.0.0.1, a free port, its own thread and tokio runtime;
/// stops when dropped.
pub struct TestDns {
    address: SocketAddr,
    trust_anchor: String,
    answered: Arc<AtomicUsize>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestDns {
    /// Serves `zones` until the returned server is dropped.
    pub fn start(zones: Vec<Zone>) -> TestDns {
        let zones: Vec<ServedZone> = zones.into_iter().map(Zone::into_served).collect();
        let parents = signing::parents_of(&zones);
        let trust_anchor = signing::trust_anchor(&parents);
        let mut catalog = Catalog::new();
        let mut delegations = Catalog::new();
        for zone in zones.iter().chain(&parents) {
            catalog.upsert(LowerName::new(&zone.origin), vec![zone.handler.clone()]);
        }
        for parent in &parents {
            delegations.upsert(LowerName::new(&parent.origin), vec![parent.handler.clone()]);
        }
        let (datagrams, connections) = bind_loopback_pair();
        let address = datagrams.local_addr().unwrap();
        let answered = Arc::new(AtomicUsize::new(0));
        let handler = Answering {
            zones: catalog,
            delegations,
            answered: answered.clone(),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(format!("test-dns-{}", address.port()))
            .spawn(move || serve(handler, datagrams, connections, stopped))
            .unwrap();
        TestDns {
            address,
            trust_anchor,
            answered,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Where it listens: 127.0.0.1, the same port for UDP and TCP.
    pub fn addr(&self) -> SocketAddr {
        self.address
    }

    /// The trust anchor file for its signed zones: the DNSKEY records of the signed parent
    /// zones it added above them, one a line in presentation format
    /// (`test. 300 IN DNSKEY 257 3 13 <key>`), as `TrustAnchors::from_file` of hickory-resolver
    /// reads it. Empty when no zone is signed.
    pub fn trust_anchor(&self) -> &str {
        &self.trust_anchor
    }

    /// How many queries it has answered (to show a cache works).
    pub fn queries(&self) -> usize {
        self.answered.load(Ordering::SeqCst)
    }
}

impl Drop for TestDns {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A UDP socket and a TCP listener on the same free port of 127.0.0.1 (a port free for UDP may
/// be taken for TCP: then it tries another).
fn bind_loopback_pair() -> (UdpSocket, TcpListener) {
    for _ in 0..50 {
        let datagrams = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = datagrams.local_addr().unwrap().port();
        if let Ok(connections) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
            return (datagrams, connections);
        }
    }
    panic!("no port of 127.0.0.1 free for both UDP and TCP");
}

/// The server thread: a tokio runtime of its own serving both sockets until `stopped`.
fn serve(
    handler: Answering,
    datagrams: UdpSocket,
    connections: TcpListener,
    stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        datagrams.set_nonblocking(true).unwrap();
        connections.set_nonblocking(true).unwrap();
        let mut server = Server::new(handler);
        server.register_socket(tokio::net::UdpSocket::from_std(datagrams).unwrap());
        server.register_listener(
            tokio::net::TcpListener::from_std(connections).unwrap(),
            Duration::from_secs(5),
            64,
        );
        let _ = stopped.await;
        // A resolver may still hold a TCP connection open: do not wait for it for long.
        let _ = tokio::time::timeout(Duration::from_secs(1), server.shutdown_gracefully()).await;
    });
}

/// Answers from the test zones, counting each query it has answered. A DS query for a zone
/// that has a parent here is answered by the parent, which holds the delegation (a catalog
/// alone would ask the zone itself, the most specific one, which has no DS).
struct Answering {
    zones: Catalog,
    /// The signed parent zones.
    delegations: Catalog,
    answered: Arc<AtomicUsize>,
}

impl Answering {
    fn is_delegation_query(&self, request: &Request) -> bool {
        let Ok(info) = request.request_info() else {
            return false;
        };
        let name = info.query.name();
        info.query.query_type() == RecordType::DS
            && self
                .delegations
                .find(name)
                .is_some_and(|parents| parents.iter().all(|parent| parent.origin() != name))
    }
}

#[async_trait::async_trait]
impl RequestHandler for Answering {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        response_handle: R,
    ) -> ResponseInfo {
        let catalog = if self.is_delegation_query(request) {
            &self.delegations
        } else {
            &self.zones
        };
        let answer = catalog
            .handle_request::<R, T>(request, response_handle)
            .await;
        self.answered.fetch_add(1, Ordering::SeqCst);
        answer
    }
}
