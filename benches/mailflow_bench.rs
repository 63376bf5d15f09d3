//! `cargo bench --bench mailflow-bench`: the figures of issue 6, printed one per line and written
//! to `target/mailflow-bench.txt`. Relay throughput end to end (4 KiB messages, 20 parallel
//! sessions, client → receive connector → durable queue → send connector → sink) for Mailflow and
//! for a private Postfix on the same machine, plain and with STARTTLS on both legs, next to the
//! sink alone; mutual-TLS session setup against raw rustls; relay memory with 2 000 idle
//! sessions; console frame time and start-up (when a display or the headless renderer is
//! available). Postfix's smtp-source is the plain generator; where TLS is needed, a rustls
//! generator in this program does the same work.

#[path = "../tests/integration/support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::postfix::{self, ClientTls, PemFiles, Postfix, PostfixOptions, ServerTls, TlsLevel};
use support::util;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const SESSIONS: usize = 20;
const BODY: usize = 4096;

struct Report {
    lines: Vec<String>,
}

impl Report {
    fn figure(&mut self, name: &str, value: f64, unit: &str) {
        let line = format!("{name}: {value:.1} {unit}");
        println!("{line}");
        self.lines.push(line);
    }
    fn note(&mut self, text: &str) {
        let line = format!("# {text}");
        println!("{line}");
        self.lines.push(line);
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A self-signed identity for the sink and the raw rustls baseline.
fn identity(name: &str) -> mailflow::engine::tls::TlsIdentity {
    let key = mailflow::pki::keys::KeySpec::P256.generate().unwrap();
    let subject = mailflow::pki::subject::Subject::parse(&format!("CN={name}")).unwrap();
    let der = mailflow::pki::ca::self_signed(
        &subject,
        &[name.to_string()],
        &key,
        time::OffsetDateTime::now_utc() - time::Duration::days(1),
        30,
    )
    .unwrap();
    let info = mailflow::pki::inspect::inspect_certificate(&der).unwrap();
    mailflow::engine::tls::TlsIdentity::new(&der, &[], key.serialize_der(), info)
}

/// The sink: accepts every message (PIPELINING, optional STARTTLS) and counts them.
async fn sink(
    listener: tokio::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    count: Arc<AtomicU64>,
) {
    loop {
        let Ok((s, _)) = listener.accept().await else {
            continue;
        };
        let _ = s.set_nodelay(true);
        let (tls, count) = (tls.clone(), count.clone());
        tokio::spawn(async move {
            let _ = sink_session(s, tls, count).await;
        });
    }
}

async fn sink_session(
    s: tokio::net::TcpStream,
    tls: Option<Arc<rustls::ServerConfig>>,
    count: Arc<AtomicU64>,
) -> std::io::Result<()> {
    let mut s = BufReader::new(s);
    s.get_mut().write_all(b"220 sink ESMTP\r\n").await?;
    let upgrade = sink_loop(&mut s, tls.is_some(), &count).await?;
    if let (true, Some(cfg)) = (upgrade, tls) {
        let t = tokio_rustls::TlsAcceptor::from(cfg)
            .accept(s.into_inner())
            .await?;
        sink_loop(&mut BufReader::new(t), false, &count).await?;
    }
    Ok(())
}

/// Serves one sink session's commands until QUIT or end of stream (`false`) or until the client
/// asks for STARTTLS when `offer_tls` (`true`: the `220` is sent, the caller starts TLS).
async fn sink_loop<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    s: &mut BufReader<S>,
    offer_tls: bool,
    count: &AtomicU64,
) -> std::io::Result<bool> {
    let mut line = String::new();
    loop {
        line.clear();
        if s.read_line(&mut line).await? == 0 {
            return Ok(false);
        }
        let up = line.trim_end().to_ascii_uppercase();
        if up.starts_with("EHLO") {
            let ext = if offer_tls {
                "250-sink\r\n250-PIPELINING\r\n250 STARTTLS\r\n"
            } else {
                "250-sink\r\n250 PIPELINING\r\n"
            };
            s.get_mut().write_all(ext.as_bytes()).await?;
        } else if up == "STARTTLS" && offer_tls {
            s.get_mut().write_all(b"220 go\r\n").await?;
            return Ok(true);
        } else if up == "DATA" {
            s.get_mut().write_all(b"354 go\r\n").await?;
            read_data(s).await?;
            count.fetch_add(1, Ordering::SeqCst);
            s.get_mut().write_all(b"250 2.0.0 ok\r\n").await?;
        } else if up == "QUIT" {
            s.get_mut().write_all(b"221 bye\r\n").await?;
            return Ok(false);
        } else {
            s.get_mut().write_all(b"250 ok\r\n").await?;
        }
    }
}

async fn read_data<S: tokio::io::AsyncRead + Unpin>(s: &mut BufReader<S>) -> std::io::Result<()> {
    let mut line = Vec::new();
    loop {
        line.clear();
        if s.read_until(b'\n', &mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == b".\r\n" {
            return Ok(());
        }
    }
}

/// Starts a sink on a free port; returns its address and counter.
fn start_sink(rt: &tokio::runtime::Runtime, tls: bool) -> (SocketAddr, Arc<AtomicU64>) {
    start_sink_presenting(rt, tls.then(|| identity("sink.test")).as_ref())
}

/// A sink offering STARTTLS with `identity` (plaintext only without one).
fn start_sink_presenting(
    rt: &tokio::runtime::Runtime,
    identity: Option<&mailflow::engine::tls::TlsIdentity>,
) -> (SocketAddr, Arc<AtomicU64>) {
    let count = Arc::new(AtomicU64::new(0));
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let cfg = identity.map(|id| mailflow::engine::tls::server_config(id, false, &[]).unwrap());
    rt.spawn(sink(listener, cfg, count.clone()));
    (addr, count)
}

/// The rustls generator: `total` messages over `SESSIONS` parallel sessions, one message per
/// STARTTLS session (as smtp-source sends one per session).
async fn tls_generator(target: SocketAddr, total: usize) -> usize {
    let next = Arc::new(AtomicU64::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let body = format!(
        "Subject: bench\r\n\r\n{}\r\n",
        "x".repeat(BODY - 2)
            .as_bytes()
            .chunks(76)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("\r\n")
    );
    let cfg = mailflow::engine::tls::client_config(None).unwrap();
    let mut tasks = Vec::new();
    for _ in 0..SESSIONS {
        let (next, ok, body, cfg) = (next.clone(), ok.clone(), body.clone(), cfg.clone());
        tasks.push(tokio::spawn(async move {
            while (next.fetch_add(1, Ordering::SeqCst) as usize) < total {
                if tls_message(target, &cfg, &body).await.is_ok() {
                    ok.fetch_add(1, Ordering::SeqCst);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    ok.load(Ordering::SeqCst) as usize
}

async fn expect<S: tokio::io::AsyncBufRead + Unpin>(s: &mut S, code: &str) -> std::io::Result<()> {
    let mut line = String::new();
    loop {
        line.clear();
        if s.read_line(&mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line.as_bytes().get(3) != Some(&b'-') {
            return if line.starts_with(code) {
                Ok(())
            } else {
                Err(std::io::Error::other(line.clone()))
            };
        }
    }
}

/// Connects, says EHLO, starts TLS as `server_name` and says EHLO again: a session ready for
/// MAIL FROM.
async fn starttls_session(
    target: SocketAddr,
    cfg: &Arc<rustls::ClientConfig>,
    helo: &str,
    server_name: &'static str,
) -> std::io::Result<BufReader<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>> {
    let ehlo = format!("EHLO {helo}\r\n");
    let tcp = tokio::net::TcpStream::connect(target).await?;
    tcp.set_nodelay(true)?;
    let mut s = BufReader::new(tcp);
    expect(&mut s, "220").await?;
    s.get_mut().write_all(ehlo.as_bytes()).await?;
    expect(&mut s, "250").await?;
    s.get_mut().write_all(b"STARTTLS\r\n").await?;
    expect(&mut s, "220").await?;
    let name = rustls::pki_types::ServerName::try_from(server_name)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let t = tokio_rustls::TlsConnector::from(cfg.clone())
        .connect(name, s.into_inner())
        .await?;
    let mut s = BufReader::new(t);
    s.get_mut().write_all(ehlo.as_bytes()).await?;
    expect(&mut s, "250").await?;
    Ok(s)
}

async fn tls_message(
    target: SocketAddr,
    cfg: &Arc<rustls::ClientConfig>,
    body: &str,
) -> std::io::Result<()> {
    let mut s = starttls_session(target, cfg, "gen.test", "relay.test").await?;
    s.get_mut()
        .write_all(b"MAIL FROM:<gen@example.test>\r\nRCPT TO:<sink@partner.test>\r\nDATA\r\n")
        .await?;
    expect(&mut s, "250").await?;
    expect(&mut s, "250").await?;
    expect(&mut s, "354").await?;
    s.get_mut().write_all(body.as_bytes()).await?;
    s.get_mut().write_all(b".\r\n").await?;
    expect(&mut s, "250").await?;
    s.get_mut().write_all(b"QUIT\r\n").await?;
    let _ = expect(&mut s, "221").await;
    Ok(())
}

fn smtp_source(target: SocketAddr, total: usize) -> bool {
    Command::new("smtp-source")
        .args([
            "-s",
            &SESSIONS.to_string(),
            "-l",
            &BODY.to_string(),
            "-m",
            &total.to_string(),
            "-f",
            "gen@example.test",
            "-t",
            "sink@partner.test",
            &target.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Sends `total` messages to `target` and waits until the sink counted them all.
fn run_load(
    rt: &tokio::runtime::Runtime,
    target: SocketAddr,
    sink: &AtomicU64,
    total: usize,
    tls: bool,
) -> Option<f64> {
    let start_count = sink.load(Ordering::SeqCst);
    let t0 = Instant::now();
    if tls {
        let sent = rt.block_on(tls_generator(target, total));
        if sent < total {
            eprintln!("only {sent} of {total} messages were accepted");
        }
    } else if !smtp_source(target, total) {
        eprintln!("smtp-source failed against {target}");
        return None;
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    while (sink.load(Ordering::SeqCst) - start_count) < total as u64 {
        if Instant::now() > deadline {
            eprintln!(
                "the sink got {} of {total}",
                sink.load(Ordering::SeqCst) - start_count
            );
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Some(total as f64 / t0.elapsed().as_secs_f64())
}

fn wait_port(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(addr).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A Mailflow relay (`mailflow serve`) forwarding everything to `sink`.
fn mailflow_relay(org: &util::Org, sink: SocketAddr) -> (Child, SocketAddr) {
    mailflow_relay_to(org, Some(sink))
}

/// A Mailflow relay (`mailflow serve`) sending everything to the smart host `sink`, or, without
/// one, to the recipient domain's MX hosts.
fn mailflow_relay_to(org: &util::Org, sink: Option<SocketAddr>) -> (Child, SocketAddr) {
    let port = util::free_port();
    org.ok(&[
        "connector",
        "receive",
        "set",
        "Default",
        "--bindings",
        &format!("127.0.0.1:{port}"),
        "--tarpit",
        "0s",
        "--permission-groups",
        "anonymoususers,partners,anonymousrelay",
        "--max-connections-per-source",
        "5000",
        "--protocol-logging",
        "none",
    ]);
    org.ok(&[
        "connector",
        "send",
        "set",
        "Outbound",
        "--smart-hosts",
        &sink.map(|s| s.to_string()).unwrap_or_default(),
        "--protocol-logging",
        "none",
    ]);
    let child = Command::new(env!("CARGO_BIN_EXE_mailflow"))
        .args(["--data-dir", org.dir.to_str().unwrap(), "serve"])
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_port(addr);
    (child, addr)
}

fn stop(mut c: Child) {
    // SAFETY: signalling our own child.
    unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
    let _ = c.wait();
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("VmRSS:")
                .and_then(|v| v.split_whitespace().next())
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn postfix_relay(sink: SocketAddr, tls: bool, dir: &std::path::Path) -> Option<Postfix> {
    let mut opts = PostfixOptions::new("mx.bench.test", "bench.test");
    opts.relay_to = Some(sink);
    opts.extra = vec![
        ("default_process_limit".into(), "200".into()),
        ("smtpd_client_connection_count_limit".into(), "0".into()),
        ("smtpd_client_connection_rate_limit".into(), "0".into()),
        ("smtp_destination_concurrency_limit".into(), "20".into()),
        ("default_destination_concurrency_limit".into(), "20".into()),
        ("initial_destination_concurrency".into(), "20".into()),
    ];
    if tls {
        let ca = postfix::TestCa::new("Bench Root", "Bench");
        let files: PemFiles = ca.issue_files(
            &postfix::LeafSpec::valid(&["mx.bench.test"]),
            dir,
            "postfix",
        );
        opts.server_tls = Some(ServerTls {
            level: TlsLevel::May,
            cert: Some(files),
            ca_file: None,
            ask_ccert: false,
            req_ccert: false,
        });
        opts.client_tls = Some(ClientTls {
            level: TlsLevel::May,
            cert: None,
            ca_file: None,
            cert_match: None,
        });
    }
    Postfix::start(opts)
}

fn throughput(report: &mut Report, rt: &tokio::runtime::Runtime, tls: bool) {
    let label = if tls {
        "STARTTLS on both legs"
    } else {
        "plain"
    };
    let total = if tls { 1000 } else { 2000 };
    let (sink_addr, count) = start_sink(rt, tls);
    // The sink alone: the limit.
    if let Some(r) = run_load(rt, sink_addr, &count, total, tls) {
        report.figure(&format!("sink alone, {label} (msg/s)"), r, "msg/s");
    }
    let org = util::Org::new("mail.bench.test", "bench.test");
    let (child, addr) = mailflow_relay(&org, sink_addr);
    let _ = run_load(rt, addr, &count, 100, tls); // warm-up
    let mf = run_load(rt, addr, &count, total, tls);
    if let Some(r) = mf {
        report.figure(&format!("Mailflow relay, {label} (msg/s)"), r, "msg/s");
    }
    stop(child);
    let tmp = tempfile::tempdir().unwrap();
    let pf = match postfix_relay(sink_addr, tls, tmp.path()) {
        Some(p) => {
            let _ = run_load(rt, p.addr(), &count, 100, tls);
            let r = run_load(rt, p.addr(), &count, total, tls);
            drop(p);
            r
        }
        None => {
            report.note("Postfix is not available here: no comparison");
            None
        }
    };
    if let Some(r) = pf {
        report.figure(&format!("Postfix relay, {label} (msg/s)"), r, "msg/s");
    }
    if let (Some(m), Some(p)) = (mf, pf) {
        report.figure(
            &format!("Mailflow/Postfix throughput ratio, {label}"),
            m / p,
            "x",
        );
    }
}

/// DNS-routed delivery with DANE beside the same delivery to a smart host: the plain load of the
/// throughput figure into the relay, STARTTLS out to a sink presenting its certificate. Routed
/// by DNS, the relay finds the sink as partner.test's MX in a DNSSEC-signed zone (the test DNS
/// server, in process) with a DANE-EE record of the sink's key, so every delivery validates the
/// MX, address and TLSA answers (the resolver caches them for their TTL) and matches the key in
/// the handshake.
fn dns_routed(report: &mut Report, rt: &tokio::runtime::Runtime) {
    use support::dns::{TestDns, Zone};
    let total = 2000;
    let sink_identity = identity("mx.partner.test");
    let (sink_addr, count) = start_sink_presenting(rt, Some(&sink_identity));
    let org = util::Org::new("mail.bench.test", "bench.test");
    let (child, addr) = mailflow_relay_to(&org, Some(sink_addr));
    let _ = run_load(rt, addr, &count, 100, false);
    let smart = run_load(rt, addr, &count, total, false);
    stop(child);
    if let Some(r) = smart {
        report.figure(
            "Mailflow, smart host, STARTTLS to the next hop (msg/s)",
            r,
            "msg/s",
        );
    }
    let tlsa = util::tlsa_sha256(sink_identity.chain[0].as_ref(), 1);
    let dns = TestDns::start(vec![
        Zone::new("partner.test")
            .mx("partner.test", 10, "mx.partner.test")
            .a("mx.partner.test", std::net::Ipv4Addr::LOCALHOST)
            .tlsa(
                &format!("_{}._tcp.mx.partner.test", sink_addr.port()),
                3,
                1,
                1,
                &tlsa,
            )
            .signed(),
    ]);
    let anchor = org.file("dnssec-anchor.key");
    std::fs::write(&anchor, dns.trust_anchor()).unwrap();
    org.ok(&[
        "transport",
        "set",
        "--dns-servers",
        &dns.addr().to_string(),
        "--mx-port",
        &sink_addr.port().to_string(),
        "--dnssec-trust-anchor",
        anchor.to_str().unwrap(),
    ]);
    let (child, addr) = mailflow_relay_to(&org, None);
    let _ = run_load(rt, addr, &count, 100, false);
    let routed = run_load(rt, addr, &count, total, false);
    stop(child);
    if let Some(r) = routed {
        report.figure(
            "Mailflow, DNS MX with DNSSEC and DANE-EE (msg/s)",
            r,
            "msg/s",
        );
    }
    if let (Some(s), Some(r)) = (smart, routed) {
        report.figure("DNS + DANE / smart host throughput ratio", r / s, "x");
    }
}

/// Mutual-TLS sessions per second against Mailflow (EHLO, STARTTLS with a client certificate,
/// EHLO, QUIT) and raw rustls handshakes with client certificates on the same machine.
fn handshakes(report: &mut Report, rt: &tokio::runtime::Runtime) {
    let secs = 5.0;
    let workers = 8;
    let client = identity("client.partner.test");
    let client_cfg = mailflow::engine::tls::client_config(Some(&client)).unwrap();
    // Raw rustls: a server asking for client certificates, one handshake per connection.
    let server_cfg =
        mailflow::engine::tls::server_config(&identity("raw.test"), true, &[]).unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let raw = listener.local_addr().unwrap();
    rt.spawn(async move {
        loop {
            let Ok((s, _)) = listener.accept().await else {
                continue;
            };
            let cfg = server_cfg.clone();
            tokio::spawn(async move {
                if let Ok(mut t) = tokio_rustls::TlsAcceptor::from(cfg).accept(s).await {
                    let mut b = [0u8; 1];
                    let _ = t.read(&mut b).await;
                }
            });
        }
    });
    let count = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs_f64(secs);
    rt.block_on(async {
        let mut ts = Vec::new();
        for _ in 0..workers {
            let (cfg, count) = (client_cfg.clone(), count.clone());
            ts.push(tokio::spawn(async move {
                while Instant::now() < until {
                    let Ok(tcp) = tokio::net::TcpStream::connect(raw).await else {
                        continue;
                    };
                    let name = rustls::pki_types::ServerName::try_from("raw.test").unwrap();
                    if let Ok(mut t) = tokio_rustls::TlsConnector::from(cfg.clone())
                        .connect(name, tcp)
                        .await
                    {
                        let _ = t.write_all(b"x").await;
                        count.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }));
        }
        for t in ts {
            let _ = t.await;
        }
    });
    let raw_rate = count.load(Ordering::SeqCst) as f64 / secs;
    report.figure(
        "raw rustls mutual-TLS handshakes (per s)",
        raw_rate,
        "handshakes/s",
    );
    // Mailflow: a receive connector with Domain Security asks for the client certificate.
    let org = util::Org::new("mail.bench.test", "bench.test");
    org.ok(&[
        "connector",
        "receive",
        "set",
        "Default",
        "--domain-secure",
        "true",
        "--max-connections-per-source",
        "5000",
        "--protocol-logging",
        "none",
    ]);
    let (child, addr) = mailflow_relay(&org, "127.0.0.1:9".parse().unwrap());
    let count = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs_f64(secs);
    rt.block_on(async {
        let mut ts = Vec::new();
        for _ in 0..workers {
            let (cfg, count) = (client_cfg.clone(), count.clone());
            ts.push(tokio::spawn(async move {
                while Instant::now() < until {
                    if mutual_session(addr, &cfg).await.is_ok() {
                        count.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }));
        }
        for t in ts {
            let _ = t.await;
        }
    });
    stop(child);
    let mf_rate = count.load(Ordering::SeqCst) as f64 / secs;
    report.figure(
        "Mailflow mutual-TLS SMTP sessions (per s)",
        mf_rate,
        "sessions/s",
    );
    report.figure(
        "Mailflow sessions / raw rustls handshakes",
        mf_rate / raw_rate.max(1.0),
        "x",
    );
}

async fn mutual_session(addr: SocketAddr, cfg: &Arc<rustls::ClientConfig>) -> std::io::Result<()> {
    let mut s = starttls_session(addr, cfg, "partner.test", "mail.bench.test").await?;
    s.get_mut().write_all(b"QUIT\r\n").await?;
    expect(&mut s, "221").await
}

fn idle_memory(report: &mut Report) {
    let org = util::Org::new("mail.bench.test", "bench.test");
    org.ok(&[
        "connector",
        "receive",
        "set",
        "Default",
        "--max-connections",
        "10000",
        "--max-connections-per-source",
        "10000",
    ]);
    let (child, addr) = mailflow_relay(&org, "127.0.0.1:9".parse().unwrap());
    std::thread::sleep(Duration::from_millis(500));
    let before = rss_kib(child.id());
    let mut held = Vec::new();
    for _ in 0..2000 {
        if let Ok(s) = std::net::TcpStream::connect(addr) {
            held.push(s);
        }
    }
    std::thread::sleep(Duration::from_secs(2));
    let after = rss_kib(child.id());
    report.figure("relay resident memory, idle", before as f64 / 1024.0, "MiB");
    report.figure(
        "relay resident memory with 2000 idle sessions",
        after as f64 / 1024.0,
        "MiB",
    );
    report.figure(
        "memory per idle session",
        (after.saturating_sub(before) as f64 * 1024.0) / held.len().max(1) as f64,
        "bytes",
    );
    drop(held);
    stop(child);
}

/// Console frame time (layout and tessellation, no GPU) with 100 000 tracked messages and
/// 1 000 live sessions of a running relay: median and p95 per page.
fn console_frames(report: &mut Report) {
    use mailflow::smtp::evidence::SecurityStatus;
    use mailflow::store::tracking::{EventKind, TrackingDb, TrackingEvent};
    use mailflow::ui::{Clock, ConsoleApp, Page};
    let org = util::Org::new("mail.contoso.test", "contoso.test");
    let port = util::free_port();
    org.ok(&[
        "connector",
        "receive",
        "set",
        "Default",
        "--bindings",
        &format!("127.0.0.1:{port}"),
        "--max-connections",
        "5000",
        "--max-connections-per-source",
        "5000",
    ]);
    let dir = mailflow::store::DataDir::new(&org.dir);
    // 100 000 messages, two events each, in the tracking database.
    let now = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let mut db = TrackingDb::open(&dir.tracking_db()).expect("tracking db");
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..100_000usize {
        let security = match i % 7 {
            0..=3 => SecurityStatus::DomainSecure,
            4 | 5 => SecurityStatus::Encrypted,
            _ => SecurityStatus::Plaintext,
        };
        let e = TrackingEvent {
            time: now - (100_000 - i as i64) * 1000,
            kind: EventKind::Receive,
            internal_id: format!("id-{i:08}"),
            message_id: Some(format!("<{i}@partner.test>")),
            sender: format!("user{}@partner{}.test", i % 97, i % 13),
            recipients: vec![format!("rcpt{}@contoso.test", i % 89)],
            subject: Some(format!("Message number {i}")),
            size: 4096,
            client: Some("192.0.2.7:40000".into()),
            server: Some("127.0.0.1:25".into()),
            connector: Some("Default".into()),
            tls: None,
            security,
            response: Some("250 2.6.0 queued".into()),
            detail: None,
            session: None,
            helo: None,
            why: Vec::new(),
        };
        let mut d = e.clone();
        d.kind = EventKind::Deliver;
        d.time += 500;
        batch.push(e);
        batch.push(d);
        if batch.len() >= 10_000 {
            db.insert(&batch).expect("insert");
            batch.clear();
        }
    }
    drop(db);
    let ws = mailflow::admin::Workspace::open(&dir).expect("workspace");
    let handle = mailflow::engine::EngineHandle::start(ws.clone(), None).expect("relay");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let held: Vec<_> = (0..1000)
        .filter_map(|_| std::net::TcpStream::connect(addr).ok())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while handle.snapshot().sessions.len() < 1000 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let ctx = egui::Context::default();
    mailflow::ui::install_theme(&ctx);
    let mut app = ConsoleApp::new(
        ws,
        Arc::new(|| {}),
        Clock::System,
        Arc::new(mailflow::ui::probe::Unavailable),
        None,
    );
    app.attach_relay(mailflow::ui::relay::RelayState::Running(Box::new(handle)));
    let raw = || egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1280.0, 800.0),
        )),
        ..Default::default()
    };
    let frame = |app: &mut ConsoleApp| {
        let t0 = Instant::now();
        let out = ctx.run_ui(raw(), |ui| app.frame(ui));
        let _ = ctx.tessellate(out.shapes, out.pixels_per_point);
        t0.elapsed()
    };
    app.open_page(Page::MessageTracking);
    let deadline = Instant::now() + Duration::from_secs(300);
    while app.tracked_messages() < 100_000 && Instant::now() < deadline {
        frame(&mut app);
        std::thread::sleep(Duration::from_millis(20));
    }
    report.note(&format!(
        "console loaded {} tracked messages, {} live sessions",
        app.tracked_messages(),
        held.len()
    ));
    for (page, name) in [
        (Page::MessageTracking, "message tracking, 100 000 messages"),
        (Page::LiveMonitor, "live monitor, 1 000 sessions"),
        (Page::Certificates, "certificates"),
    ] {
        app.open_page(page);
        for _ in 0..20 {
            frame(&mut app);
        }
        // What a frame draws, to be sure the page is really laid out.
        let out = ctx.run_ui(raw(), |ui| app.frame(ui));
        let prims = ctx.tessellate(out.shapes, out.pixels_per_point);
        let vertices: usize = prims
            .iter()
            .map(|p| match &p.primitive {
                egui::epaint::Primitive::Mesh(m) => m.vertices.len(),
                _ => 0,
            })
            .sum();
        report.note(&format!(
            "{name}: {} clipped primitives, {vertices} vertices per frame",
            prims.len()
        ));
        let mut times: Vec<f64> = (0..300)
            .map(|_| frame(&mut app).as_secs_f64() * 1000.0)
            .collect();
        times.sort_by(|a, b| a.total_cmp(b));
        report.figure(
            &format!("console frame time, {name}, median"),
            times[times.len() / 2],
            "ms",
        );
        report.figure(
            &format!("console frame time, {name}, p95"),
            times[times.len() * 95 / 100],
            "ms",
        );
        report.figure(
            &format!("console frame time, {name}, slowest of 300"),
            times[times.len() - 1],
            "ms",
        );
    }
    drop(held);
    drop(app);
}

/// Start-up of the real console under Xvfb: time to the first frame and idle memory.
fn console_startup(report: &mut Report) {
    if util::peer("xvfb-run").is_none() {
        report.note("xvfb-run is not installed: console start-up not measured");
        return;
    }
    let org = util::Org::new("mail.contoso.test", "contoso.test");
    org.ok(&[
        "connector",
        "receive",
        "set",
        "Default",
        "--bindings",
        &format!("127.0.0.1:{}", util::free_port()),
    ]);
    let script = format!(
        "MAILFLOW_FIRST_FRAME_REPORT=1 {} --data-dir {} & pid=$!; sleep 8; grep VmRSS /proc/$pid/status; kill $pid; wait $pid",
        env!("CARGO_BIN_EXE_mailflow"),
        org.dir.display()
    );
    let out = Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 1280x800x24", "bash", "-c", &script])
        .output();
    let Ok(out) = out else {
        report.note("xvfb-run failed: console start-up not measured");
        return;
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if let Some(ms) = text.lines().find_map(|l| {
        l.strip_prefix("first frame after ")
            .and_then(|r| r.strip_suffix(" ms"))
            .and_then(|n| n.parse::<f64>().ok())
    }) {
        report.figure("console start-up to first frame", ms, "ms");
    } else {
        report.note("the console did not report its first frame");
    }
    if let Some(kib) = text.lines().find_map(|l| {
        l.strip_prefix("VmRSS:")
            .and_then(|v| v.split_whitespace().next())
            .and_then(|n| n.parse::<f64>().ok())
    }) {
        report.figure(
            "console resident memory, idle (with the embedded relay)",
            kib / 1024.0,
            "MiB",
        );
    }
}

fn main() {
    // `cargo bench` passes --bench; any other argument selects figures by name.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let want = |name: &str| args.is_empty() || args.iter().any(|a| name.contains(a.as_str()));
    let mut report = Report { lines: Vec::new() };
    report.note(&format!(
        "mailflow-bench {} on {} CPUs",
        env!("CARGO_PKG_VERSION"),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    ));
    let rt = rt();
    if want("throughput") {
        throughput(&mut report, &rt, false);
        throughput(&mut report, &rt, true);
    }
    if want("dns") {
        dns_routed(&mut report, &rt);
    }
    if want("handshakes") {
        handshakes(&mut report, &rt);
    }
    if want("memory") {
        idle_memory(&mut report);
    }
    if want("console") {
        console_frames(&mut report);
        console_startup(&mut report);
    }
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/mailflow-bench.txt");
    if let Ok(mut f) = std::fs::File::create(&out) {
        for l in &report.lines {
            let _ = writeln!(f, "{l}");
        }
        println!("figures written to {}", out.display());
    }
}
