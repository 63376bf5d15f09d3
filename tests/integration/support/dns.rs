//! An authoritative DNS server in process, on loopback only, for the tests of DNS routing: test
//! zones built record by record ([`Zone`]), served over UDP and TCP on 127.0.0.1 by
//! `hickory-server` on its own thread ([`TestDns`]), which counts the queries it answers so a
//! test can show that a resolver's cache works. A name inside a zone that has no records answers
//! NXDOMAIN; a name outside every zone answers REFUSED, as an authoritative-only server does.

use hickory_server::Server;
use hickory_server::net::runtime::Time;
use hickory_server::proto::rr::rdata::{A, AAAA, CNAME, MX, NS, SOA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};
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
}

impl Zone {
    /// A zone with its SOA and an NS record (`ns1.<origin>`, which needs no address: nobody
    /// follows the delegation to this server).
    pub fn new(origin: &str) -> Zone {
        let origin = absolute(origin);
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

    /// The TTL of the records added after this call (default 300 seconds).
    pub fn ttl(mut self, seconds: u32) -> Zone {
        self.ttl = seconds;
        self
    }

    fn record(mut self, name: &str, data: RData) -> Zone {
        self.records
            .push(Record::from_rdata(absolute(name), self.ttl, data));
        self
    }

    /// The zone as hickory-server serves it from memory.
    fn into_handler(self) -> InMemoryZoneHandler {
        let mut handler = InMemoryZoneHandler::empty(
            self.origin.clone(),
            ZoneType::Primary,
            AxfrPolicy::Deny,
            None,
        );
        for record in self.records {
            let described = format!("{} {}", record.name, record.record_type());
            assert!(
                handler.upsert_mut(record, SERIAL),
                "test zone {} refused {described}",
                self.origin
            );
        }
        handler
    }
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
    answered: Arc<AtomicUsize>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestDns {
    /// Serves `zones` until the returned server is dropped.
    pub fn start(zones: Vec<Zone>) -> TestDns {
        let mut catalog = Catalog::new();
        for zone in zones {
            let origin = LowerName::new(&zone.origin);
            let handler: Arc<dyn ZoneHandler> = Arc::new(zone.into_handler());
            catalog.upsert(origin, vec![handler]);
        }
        let (datagrams, connections) = bind_loopback_pair();
        let address = datagrams.local_addr().unwrap();
        let answered = Arc::new(AtomicUsize::new(0));
        let handler = CountingCatalog {
            catalog,
            answered: answered.clone(),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(format!("test-dns-{}", address.port()))
            .spawn(move || serve(handler, datagrams, connections, stopped))
            .unwrap();
        TestDns {
            address,
            answered,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Where it listens: 127.0.0.1, the same port for UDP and TCP.
    pub fn addr(&self) -> SocketAddr {
        self.address
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
    handler: CountingCatalog,
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

/// The catalog of test zones, counting each query it has answered.
struct CountingCatalog {
    catalog: Catalog,
    answered: Arc<AtomicUsize>,
}

#[async_trait::async_trait]
impl RequestHandler for CountingCatalog {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        response_handle: R,
    ) -> ResponseInfo {
        let answer = self
            .catalog
            .handle_request::<R, T>(request, response_handle)
            .await;
        self.answered.fetch_add(1, Ordering::SeqCst);
        answer
    }
}
