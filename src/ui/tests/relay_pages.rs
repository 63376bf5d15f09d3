//! The Message tracking and Live monitor pages fed by a running relay: a plaintext client, a
//! STARTTLS client and a partner presenting its certificate under Domain Security each get
//! their badge — Plaintext, Encrypted, Domain Secure — in the tracking table, with the hop's
//! evidence in the details; a partner's session in progress shows as Domain Secure in the
//! monitor.

use super::*;
use crate::config::units::TimeSpan;
use crate::engine::EngineHandle;
use crate::engine::tls::{TlsIdentity, client_config};
use crate::pki::builder;
use crate::pki::keys::KeySpec;
use crate::pki::subject::Subject;
use crate::smtp::evidence::SecurityStatus;
use crate::ui::widgets::nav::Page;
use egui_kittest::kittest::Queryable;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Stream {
    fn read1(&mut self) -> u8 {
        let mut b = [0u8; 1];
        let n = match self {
            Stream::Plain(s) => s.read(&mut b),
            Stream::Tls(s) => s.read(&mut b),
        }
        .expect("read");
        assert_eq!(n, 1, "connection closed");
        b[0]
    }
    fn write(&mut self, data: &[u8]) {
        match self {
            Stream::Plain(s) => s.write_all(data),
            Stream::Tls(s) => s.write_all(data).and_then(|_| s.flush()),
        }
        .expect("write");
    }
}

/// A small blocking SMTP client: plaintext, STARTTLS, and STARTTLS with a client certificate.
struct Smtp {
    s: Option<Stream>,
}

impl Smtp {
    fn connect(addr: SocketAddr) -> Smtp {
        let tcp = TcpStream::connect(addr).expect("connect");
        tcp.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let mut c = Smtp {
            s: Some(Stream::Plain(tcp)),
        };
        assert!(c.reply().starts_with("220"));
        c
    }

    fn reply(&mut self) -> String {
        let s = self.s.as_mut().expect("stream");
        let mut all = String::new();
        loop {
            let mut line = Vec::new();
            loop {
                let b = s.read1();
                line.push(b);
                if b == b'\n' {
                    break;
                }
            }
            let l = String::from_utf8_lossy(&line).trim_end().to_string();
            let last = l.as_bytes().get(3) != Some(&b'-');
            all.push_str(&l);
            all.push('\n');
            if last {
                return all;
            }
        }
    }

    fn cmd(&mut self, line: &str) -> String {
        self.s
            .as_mut()
            .expect("stream")
            .write(format!("{line}\r\n").as_bytes());
        self.reply()
    }

    fn starttls(&mut self, identity: Option<&TlsIdentity>) {
        assert!(self.cmd("STARTTLS").starts_with("220"));
        let Some(Stream::Plain(tcp)) = self.s.take() else {
            panic!("already TLS")
        };
        let cfg = client_config(identity).expect("client config");
        let name = rustls::pki_types::ServerName::try_from("mail.contoso.test").expect("name");
        let conn = rustls::ClientConnection::new(Arc::clone(&cfg), name).expect("tls");
        self.s = Some(Stream::Tls(Box::new(rustls::StreamOwned::new(conn, tcp))));
    }

    /// EHLO, optional STARTTLS, MAIL FROM; leaves the transaction open.
    fn begin(addr: SocketAddr, tls: Option<Option<&TlsIdentity>>, from: &str) -> Smtp {
        let mut c = Smtp::connect(addr);
        assert!(c.cmd("EHLO client.test").starts_with("250"));
        if let Some(identity) = tls {
            c.starttls(identity);
            assert!(c.cmd("EHLO client.test").starts_with("250"));
        }
        let r = c.cmd(&format!("MAIL FROM:<{from}>"));
        assert!(r.starts_with("250"), "MAIL FROM {from}: {r}");
        c
    }

    fn finish(mut self, to: &str, subject: &str) {
        let r = self.cmd(&format!("RCPT TO:<{to}>"));
        assert!(r.starts_with("250"), "{r}");
        assert!(self.cmd("DATA").starts_with("354"));
        let r = self.cmd(&format!("Subject: {subject}\r\n\r\nHello.\r\n."));
        assert!(r.starts_with("250"), "{r}");
        let _ = self.cmd("QUIT");
    }
}

/// An organization created now (the relay checks certificates against the real clock).
fn org_now(tmp: &Path, fqdn: &str, domain: &str) -> Workspace {
    let dir = DataDir::new(tmp);
    admin::init(&dir, "Org", fqdn, domain, OffsetDateTime::now_utc()).expect("init");
    let mut ws = Workspace::open(&dir).expect("open");
    // No MX lookup leaves the machine: nothing listens on this loopback port.
    ws.change_settings(|s| {
        s.transport.dns_servers = vec!["127.0.0.1:9".into()];
        Ok(())
    })
    .expect("settings");
    ws
}

/// The partner's SMTP identity: a CA-issued certificate naming woodgrove.test, and its root.
fn partner_identity(tmp: &Path) -> (TlsIdentity, String) {
    let now = OffsetDateTime::now_utc();
    let mut ws = org_now(tmp, "mail.woodgrove.test", "woodgrove.test");
    ws.ca_init("Woodgrove CA", KeySpec::P256, 5, now)
        .expect("ca");
    let subject = Subject::parse("O=Woodgrove, CN=mail.woodgrove.test").expect("subject");
    let r = ws
        .new_request(
            &subject,
            &["mail.woodgrove.test".into(), "woodgrove.test".into()],
            KeySpec::P256,
            None,
            now,
        )
        .expect("request");
    let (cert, ca) = ws.ca_issue(r.pem.as_bytes(), 30, now).expect("issue");
    let pem = format!("{}{}", builder::to_pem(&cert), builder::to_pem(&ca));
    let o = ws
        .import_certificate(pem.as_bytes(), None, None, now)
        .expect("import");
    let c = ws.store.find(&o.thumbprint).expect("stored").clone();
    let key = ws.store.load_key(&o.thumbprint).expect("key");
    (
        TlsIdentity::new(&c.der, &c.chain, key.serialize_der(), c.info.clone()),
        builder::to_pem(&ca),
    )
}

#[test]
fn tracking_and_monitor_show_the_right_badges_from_a_running_relay() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (identity, partner_root) = partner_identity(&tmp.path().join("woodgrove"));
    let mut ws = org_now(
        &tmp.path().join("contoso"),
        "mail.contoso.test",
        "contoso.test",
    );
    ws.trust_add(partner_root.as_bytes(), OffsetDateTime::now_utc())
        .expect("trust");
    ws.change_settings(|s| {
        let c = &mut s.receive_connectors[0];
        c.bindings = vec!["127.0.0.1:0".into()];
        c.tarpit_interval = TimeSpan::secs(0);
        c.domain_secure_enabled = true;
        s.transport.tls_receive_domain_secure_list = vec!["woodgrove.test".into()];
        Ok(())
    })
    .expect("settings");
    let handle = EngineHandle::start(ws.clone(), None).expect("relay starts");
    let addr = handle
        .snapshot()
        .listeners
        .iter()
        .find(|l| l.error.is_none())
        .map(|l| l.address)
        .expect("listening");
    let mut app = ConsoleApp::new(
        ws,
        no_waker(),
        Clock::System,
        std::sync::Arc::new(probe::Unavailable),
        None,
    );
    app.attach_relay(RelayState::Running(Box::new(handle)));

    Smtp::begin(addr, None, "alice@fabrikam.test").finish("bob@contoso.test", "plain");
    Smtp::begin(addr, Some(None), "carol@fabrikam.test").finish("bob@contoso.test", "encrypted");
    Smtp::begin(addr, Some(Some(&identity)), "ana@woodgrove.test")
        .finish("bob@contoso.test", "domain secure");
    // A partner's session left open in the middle of its transaction.
    let open = Smtp::begin(addr, Some(Some(&identity)), "lee@woodgrove.test");

    app.page = Page::MessageTracking;
    let mut h = harness(app);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let a = crate::ui::app::actions::Action::TrackSearch(Box::new(
            h.state().views.tracking.query(Clock::System.now_ms()),
        ));
        act(&mut h, a);
        let n = h
            .state()
            .views
            .tracking
            .set
            .as_ref()
            .map_or(0, |s| s.rows.len());
        if n >= 3 {
            break;
        }
        assert!(Instant::now() < deadline, "tracking has {n} messages");
        std::thread::sleep(Duration::from_millis(200));
    }
    settle(&mut h);
    let set = h.state().views.tracking.set.clone().expect("set");
    let security_of = |sender: &str| {
        set.rows
            .iter()
            .find(|r| r.sender == sender)
            .map(|r| r.security)
    };
    assert_eq!(
        security_of("alice@fabrikam.test"),
        Some(SecurityStatus::Plaintext)
    );
    assert_eq!(
        security_of("carol@fabrikam.test"),
        Some(SecurityStatus::Encrypted)
    );
    assert_eq!(
        security_of("ana@woodgrove.test"),
        Some(SecurityStatus::DomainSecure)
    );
    for badge in ["🛡 Domain Secure", "🔒 Encrypted", "🔓 Plaintext"] {
        assert!(
            h.query_all_by_label(badge).next().is_some(),
            "badge {badge} shown in the table"
        );
    }
    // The Domain Secure message's hop, with its TLS evidence.
    let id = set
        .rows
        .iter()
        .find(|r| r.sender == "ana@woodgrove.test")
        .map(|r| r.internal_id.clone())
        .expect("row");
    h.state_mut().views.tracking.selected = Some(id.clone());
    act(&mut h, crate::ui::app::actions::Action::TrackHistory(id));
    settle(&mut h);
    for part in [
        "CN=mail.woodgrove.test",
        "Domain Security for woodgrove.test",
        "250 2.6.0",
    ] {
        assert!(
            h.query_all_by_label_contains(part).next().is_some(),
            "details show {part}"
        );
    }

    // The live monitor shows the open partner session as Domain Secure.
    h.state_mut().page = Page::LiveMonitor;
    step_until(
        &mut h,
        "the partner's session",
        Duration::from_secs(20),
        |a| {
            a.live.snapshot.sessions.iter().any(|s| {
                s.security == Some(SecurityStatus::DomainSecure)
                    && s.client_certificate
                        .as_deref()
                        .is_some_and(|c| c.contains("mail.woodgrove.test"))
            })
        },
    );
    h.step();
    assert!(h.query_all_by_label("🛡 Domain Secure").next().is_some());
    assert!(
        h.query_all_by_label_contains("CN=mail.woodgrove.test")
            .next()
            .is_some()
    );
    assert!(h.state().live.snapshot.counters.domain_secure >= 1);
    open.finish("bob@contoso.test", "second");
}

#[test]
fn a_relay_that_cannot_start_is_explained_where_the_administrator_looks() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut ws = org_now(&tmp.path().join("org"), "mail.contoso.test", "contoso.test");
    ws.change_settings(|s| {
        s.receive_connectors[0].bindings = vec!["127.0.0.1:0".into()];
        Ok(())
    })
    .expect("settings");
    // Another relay (`mailflow serve`) holds the data directory.
    let other = EngineHandle::start(ws.clone(), None).expect("first relay");
    let relay = crate::ui::start_relay(ws.clone(), no_waker());
    assert!(matches!(relay, RelayState::Unavailable(_)));
    let mut app = ConsoleApp::new(
        ws,
        no_waker(),
        Clock::System,
        std::sync::Arc::new(probe::Unavailable),
        None,
    );
    app.attach_relay(relay);
    app.page = Page::QueueViewer;
    let mut h = harness(app);
    settle(&mut h);
    assert!(h.query_all_by_label("⏺ Relay stopped").next().is_some());
    let why = "Mailflow relay is already running";
    assert!(
        h.query_all_by_label_contains(why).count() >= 2,
        "in the status bar and on the page"
    );
    h.state_mut().page = Page::LiveMonitor;
    h.step();
    h.step();
    assert!(h.query_all_by_label_contains(why).count() >= 2);
    other.stop();
}

#[test]
fn tracking_exports_csv_off_the_ui_thread() {
    let (tmp, ws) = fixture();
    sample::write_tracking(&ws.dir.tracking_db(), 12);
    let mut app = console(ws);
    app.page = Page::MessageTracking;
    let mut h = harness(app);
    settle(&mut h);
    assert_eq!(
        h.state().views.tracking.set.as_ref().map(|s| s.rows.len()),
        Some(12)
    );
    let out = tmp.path().join("messages.csv");
    act(
        &mut h,
        crate::ui::app::actions::Action::TrackExport(out.clone()),
    );
    let csv = std::fs::read_to_string(&out).expect("csv written");
    assert!(csv.starts_with("Time (UTC),Sender,Recipients,Subject,Status,Policy,Security"));
    assert_eq!(csv.lines().count(), 13);
    assert!(csv.contains(",Domain Secure,"));
    // A second export to the same path is refused: nothing is overwritten silently.
    act(&mut h, crate::ui::app::actions::Action::TrackExport(out));
    assert!(
        h.query_all_by_label_contains("already exists")
            .next()
            .is_some()
    );
}

/// A partner relay with a CA-issued certificate naming woodgrove.test, running; its listener
/// and the CA certificate.
fn woodgrove_partner(tmp: &Path) -> (EngineHandle, SocketAddr, Vec<u8>) {
    let now = OffsetDateTime::now_utc();
    let mut partner = org_now(
        &tmp.join("woodgrove"),
        "mail.woodgrove.test",
        "woodgrove.test",
    );
    partner
        .ca_init("Woodgrove CA", KeySpec::P256, 5, now)
        .expect("ca");
    let subject = Subject::parse("CN=mail.woodgrove.test").expect("subject");
    let r = partner
        .new_request(
            &subject,
            &["mail.woodgrove.test".into(), "woodgrove.test".into()],
            KeySpec::P256,
            None,
            now,
        )
        .expect("request");
    let (cert, ca) = partner.ca_issue(r.pem.as_bytes(), 30, now).expect("issue");
    let o = partner
        .import_certificate(
            format!("{}{}", builder::to_pem(&cert), builder::to_pem(&ca)).as_bytes(),
            None,
            None,
            now,
        )
        .expect("import");
    partner.enable_certificate(&o.thumbprint).expect("enable");
    partner
        .change_settings(|s| {
            s.receive_connectors[0].bindings = vec!["127.0.0.1:0".into()];
            s.receive_connectors[0].certificate =
                crate::config::CertificateSelection::Thumbprint(o.thumbprint.clone());
            Ok(())
        })
        .expect("settings");
    let handle = EngineHandle::start(partner, None).expect("partner relay");
    let addr = handle.snapshot().listeners[0].address;
    (handle, addr, ca)
}

/// Runs `request` through the console's prober and waits for the result.
fn probe_from_console(
    h: &mut Harness<'static, ConsoleApp>,
    request: probe::ProbeRequest,
) -> Vec<probe::ProbeReport> {
    act(
        h,
        crate::ui::app::actions::Action::Probe {
            form: crate::ui::app::actions::Form::Probe,
            request,
        },
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while h.state().views.probe.result.is_none() {
        assert!(Instant::now() < deadline, "no probe result");
        std::thread::sleep(Duration::from_millis(100));
        h.run();
    }
    h.state_mut().page = Page::ConnectivityProbe;
    settle(h);
    h.state()
        .views
        .probe
        .result
        .clone()
        .expect("result")
        .expect("probe succeeded")
}

#[test]
fn the_probe_page_shows_the_engines_verdicts_for_a_real_server() {
    let tmp = tempfile::tempdir().expect("tmp");
    let now = OffsetDateTime::now_utc();
    let (handle, addr, ca) = woodgrove_partner(tmp.path());
    // Our console, trusting the partner's root, probes it through the engine.
    let mut ws = org_now(
        &tmp.path().join("contoso"),
        "mail.contoso.test",
        "contoso.test",
    );
    ws.trust_add(builder::to_pem(&ca).as_bytes(), now)
        .expect("trust");
    let app = ConsoleApp::new(ws, no_waker(), Clock::System, probe::default_prober(), None);
    let mut h = harness(app);
    let reports = probe_from_console(
        &mut h,
        probe::ProbeRequest {
            domain: "woodgrove.test".into(),
            host: Some(addr.to_string()),
        },
    );
    assert_eq!(reports.len(), 1);
    let report = reports[0].clone();
    assert!(
        report
            .tls
            .as_deref()
            .is_some_and(|t| t.starts_with("TLSv1.3")),
        "{report:?}"
    );
    assert!(report.verdicts.iter().all(|v| v.passes), "{report:?}");
    for label in [
        "Domain Security for woodgrove.test",
        "RequireTLS (CertificateValidation)",
    ] {
        assert!(
            h.query_all_by_label_contains(label).next().is_some(),
            "{label} shown"
        );
    }
    drop(h);
    handle.stop();
}

/// Without a host typed, the probe goes to every host the domain's mail may go to (here the
/// send connector's two smart hosts: the partner, and one that is down), one row each, best
/// first; the selected row's findings show below.
#[test]
fn the_probe_page_lists_every_host_of_a_domain() {
    let tmp = tempfile::tempdir().expect("tmp");
    let now = OffsetDateTime::now_utc();
    let (handle, addr, ca) = woodgrove_partner(tmp.path());
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let mut ws = org_now(
        &tmp.path().join("contoso"),
        "mail.contoso.test",
        "contoso.test",
    );
    ws.trust_add(builder::to_pem(&ca).as_bytes(), now)
        .expect("trust");
    ws.change_settings(|s| {
        s.send_connectors[0].smart_hosts = vec![addr.to_string(), dead.to_string()];
        Ok(())
    })
    .expect("settings");
    let app = ConsoleApp::new(ws, no_waker(), Clock::System, probe::default_prober(), None);
    let mut h = harness(app);
    let reports = probe_from_console(
        &mut h,
        probe::ProbeRequest {
            domain: "woodgrove.test".into(),
            host: None,
        },
    );
    assert_eq!(reports.len(), 2, "{reports:#?}");
    assert!(reports[0].error.is_none(), "{:?}", reports[0].error);
    assert!(reports[1].error.is_some(), "the host that is down");
    assert!(
        h.query_all_by_label_contains("2 hosts, best first")
            .next()
            .is_some()
    );
    let summary = format!(
        "{} of {} policies pass",
        reports[0].verdicts.len(),
        reports[0].verdicts.len()
    );
    assert!(
        h.query_all_by_label_contains(&summary).next().is_some(),
        "{summary}"
    );
    assert!(
        h.query_all_by_label_contains("not probed:")
            .next()
            .is_some()
    );
    // The first host's findings show; the second's after clicking its row.
    assert!(
        h.query_all_by_label_contains("Domain Security for woodgrove.test")
            .next()
            .is_some()
    );
    // Rows are selected as the other tables' tests do (kittest clicks a row's label, which
    // does not take clicks itself).
    h.state_mut().views.probe.selected = 1;
    h.run();
    assert!(
        h.query_all_by_label_contains(&format!("{dead}: "))
            .next()
            .is_some(),
        "the second host's error shown"
    );
    drop(h);
    handle.stop();
}

/// A console on a running relay of contoso.test (a new organization in `tmp`, its first
/// receive connector on a free loopback port, `change` applied first), and where it listens.
fn running_console(
    tmp: &Path,
    change: impl FnOnce(&mut crate::config::Settings),
) -> (ConsoleApp, SocketAddr) {
    let mut ws = org_now(&tmp.join("contoso"), "mail.contoso.test", "contoso.test");
    ws.change_settings(|s| {
        s.receive_connectors[0].bindings = vec!["127.0.0.1:0".into()];
        change(s);
        Ok(())
    })
    .expect("settings");
    let handle = EngineHandle::start(ws.clone(), None).expect("relay starts");
    let addr = handle
        .snapshot()
        .listeners
        .iter()
        .find(|l| l.error.is_none())
        .map(|l| l.address)
        .expect("listening");
    let mut app = ConsoleApp::new(
        ws,
        no_waker(),
        Clock::System,
        std::sync::Arc::new(probe::Unavailable),
        None,
    );
    app.attach_relay(RelayState::Running(Box::new(handle)));
    (app, addr)
}

/// [`running_console`] with Domain Security on for woodgrove.test (on the receive list) and
/// no tarpit.
fn contoso_receiving_from_woodgrove(tmp: &Path) -> (ConsoleApp, SocketAddr) {
    running_console(tmp, |s| {
        let c = &mut s.receive_connectors[0];
        c.tarpit_interval = TimeSpan::secs(0);
        c.domain_secure_enabled = true;
        s.transport.tls_receive_domain_secure_list = vec!["woodgrove.test".into()];
    })
}

/// A partner's mail refused by Domain Security, found in the console by pointing and clicking:
/// Security › "Refused", Search, the row with its reply; its details say why (the STARTTLS
/// check failed, the later ones not reached) and what would change it; the monitor's
/// "Rejected" tile counts it.
#[test]
fn a_refused_partner_session_is_found_in_tracking_with_why() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (mut app, addr) = contoso_receiving_from_woodgrove(tmp.path());
    // Accepted mail from elsewhere, then the partner without TLS: 530 5.7.1.
    Smtp::begin(addr, None, "alice@fabrikam.test").finish("bob@contoso.test", "plain");
    let mut c = Smtp::connect(addr);
    assert!(c.cmd("EHLO mail.woodgrove.test").starts_with("250"));
    let r = c.cmd("MAIL FROM:<lee@woodgrove.test>");
    assert!(r.starts_with("530 5.7.1"), "{r}");
    let _ = c.cmd("QUIT");

    app.page = Page::MessageTracking;
    let mut h = harness(app);
    settle(&mut h);
    h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Security")
        .click();
    h.step();
    h.step();
    // The option in the list (the table may show a "Refused" status already).
    h.get_by_role_and_label(egui::accesskit::Role::Button, "Refused")
        .click();
    h.step();
    assert_eq!(
        h.state().views.tracking.security,
        crate::ui::pages::tracking::SecurityFilter::Refused
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        click(&mut h, "🔍 Search");
        settle(&mut h);
        let rows = h
            .state()
            .views
            .tracking
            .set
            .as_ref()
            .map(|s| s.rows.clone())
            .unwrap_or_default();
        if !rows.is_empty() {
            // Only the refusal: the accepted message is not a refusal.
            assert_eq!(rows.len(), 1, "{rows:?}");
            assert_eq!(rows[0].status, "Refused");
            assert_eq!(rows[0].sender, "lee@woodgrove.test");
            break;
        }
        assert!(Instant::now() < deadline, "no refusal in tracking");
        std::thread::sleep(Duration::from_millis(200));
    }
    // The row shows the reply given; selecting it shows why.
    click(&mut h, "530 5.7.1 Not authenticated");
    settle(&mut h);
    for part in [
        "Why",
        "Failed",
        "STARTTLS offered and used",
        "woodgrove.test is domain secured but the client did not use STARTTLS",
        "To change it: Ask woodgrove.test's administrator to send to us over TLS",
        "mail.woodgrove.test",
    ] {
        assert!(
            h.query_all_by_label_contains(part).next().is_some(),
            "details show {part}"
        );
    }
    assert!(h.query_all_by_label("Not reached").count() >= 3);
    // From the refusal to every line of its session in the protocol log.
    click(&mut h, "📃 Protocol log of this session");
    settle(&mut h);
    assert_eq!(h.state().page, Page::ProtocolLogs);
    let session = h.state().views.protocol_logs.filter.session.clone();
    assert_eq!(session.len(), 16, "{session}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        settle(&mut h);
        let lines = match h.state().views.protocol_logs.result.as_deref() {
            Some(Ok(day)) => day.rows.clone(),
            _ => Vec::new(),
        };
        if lines.iter().any(|l| l.data.starts_with("530 5.7.1")) {
            assert!(lines.iter().all(|l| l.session == session));
            assert!(
                lines
                    .iter()
                    .any(|l| l.data == "MAIL FROM:<lee@woodgrove.test>")
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the session's log lines: {lines:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
        click(&mut h, "Show");
    }
    assert!(
        h.query_all_by_label_contains(
            "woodgrove.test is domain secured but the client did not use STARTTLS"
        )
        .next()
        .is_some(),
        "the decision is in the log"
    );
    h.state_mut().page = Page::LiveMonitor;
    settle(&mut h);
    assert!(h.state().live.snapshot.counters.rejected >= 1);
}

/// The live monitor keeps sessions after they end: a refused partner session is under
/// "Closed, last hour" with how it ended, the Outcome filter finds it, and Pause holds the
/// list while more sessions end.
#[test]
fn closed_sessions_stay_in_the_monitor_filtered_and_paused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (mut app, addr) = contoso_receiving_from_woodgrove(tmp.path());
    Smtp::begin(addr, None, "alice@fabrikam.test").finish("bob@contoso.test", "plain");
    let mut c = Smtp::connect(addr);
    assert!(c.cmd("EHLO mail.woodgrove.test").starts_with("250"));
    assert!(c.cmd("MAIL FROM:<lee@woodgrove.test>").starts_with("530"));
    let _ = c.cmd("QUIT");
    app.page = Page::LiveMonitor;
    let mut h = harness(app);
    step_until(
        &mut h,
        "two closed sessions",
        Duration::from_secs(20),
        |a| a.live.snapshot.closed.len() >= 2,
    );
    click(&mut h, "Closed, last hour (2)");
    h.step();
    assert!(h.query_all_by_label("QUIT · 1 message").next().is_some());
    assert!(h.query_all_by_label("QUIT · 1 refused").next().is_some());
    // Outcome: "Refused something" leaves the partner's session.
    h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Outcome")
        .click();
    h.step();
    h.step();
    click(&mut h, "Refused something");
    h.step();
    assert!(h.query_all_by_label("QUIT · 1 message").next().is_none());
    click(&mut h, "QUIT · 1 refused");
    h.step();
    assert!(
        h.query_all_by_label_contains("woodgrove.test is domain secured")
            .next()
            .is_some(),
        "its transcript"
    );
    // Paused, a session that ends now does not appear until the list goes live again.
    click(&mut h, "⏸ Pause");
    h.step();
    click(&mut h, "Clear");
    h.step();
    let mut c = Smtp::connect(addr);
    let _ = c.cmd("QUIT");
    step_until(
        &mut h,
        "a third closed session",
        Duration::from_secs(20),
        |a| a.live.snapshot.closed.len() >= 3,
    );
    h.step();
    assert!(
        h.query_all_by_label("Closed, last hour (2)")
            .next()
            .is_some()
    );
    click(&mut h, "⏸ Pause");
    h.step();
    assert!(
        h.query_all_by_label("Closed, last hour (3)")
            .next()
            .is_some()
    );
}

/// Message tracking refreshes itself while mail flows: a message received after the page
/// opened appears without pressing Search.
#[test]
fn tracking_shows_new_messages_without_pressing_search() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (mut app, addr) = running_console(tmp.path(), |_| {});
    app.page = Page::MessageTracking;
    let mut h = harness(app);
    settle(&mut h);
    assert_eq!(
        h.state().views.tracking.set.as_ref().map(|s| s.rows.len()),
        Some(0)
    );
    Smtp::begin(addr, None, "alice@fabrikam.test").finish("bob@contoso.test", "arrives by itself");
    step_until(
        &mut h,
        "the new message listed",
        Duration::from_secs(20),
        |a| {
            a.views
                .tracking
                .set
                .as_ref()
                .is_some_and(|s| s.rows.iter().any(|r| r.subject == "arrives by itself"))
        },
    );
}

/// Toolbox › Send test message, by pointing and clicking: the console's relay sends it straight
/// to the partner's host; the page shows the outcome, the security it went with, each step and
/// the session's transcript; "Find in message tracking" opens the message there. The partner
/// really has it.
#[test]
fn a_test_message_from_the_console_is_sent_shown_and_tracked() {
    use egui::accesskit::Role;
    let tmp = tempfile::tempdir().expect("tmp");
    let (partner, addr, _ca) = woodgrove_partner(tmp.path());
    let (mut app, _) = running_console(tmp.path(), |_| {});
    app.page = Page::TestMessage;
    let mut h = harness(app);
    settle(&mut h);
    assert_eq!(h.state().views.test_message.from, "postmaster@contoso.test");
    for (field, text) in [
        ("Recipient", "bob@woodgrove.test".to_string()),
        ("Straight to host (optional)", addr.to_string()),
    ] {
        h.get_by_role_and_label(Role::TextInput, field).focus();
        h.step();
        h.get_by_role_and_label(Role::TextInput, field)
            .type_text(&text);
        h.step();
    }
    h.get_by_label("✉ Send test message").click();
    h.step();
    let deadline = Instant::now() + Duration::from_secs(60);
    while h.state().views.test_message.result.is_none() {
        assert!(Instant::now() < deadline, "no test message report");
        std::thread::sleep(Duration::from_millis(50));
        h.run();
    }
    settle(&mut h);
    let report = h
        .state()
        .views
        .test_message
        .result
        .clone()
        .expect("report")
        .expect("sent");
    assert!(
        matches!(
            report.outcome,
            crate::engine::test_message::TestOutcome::Sent(_)
        ),
        "{report:?}"
    );
    // The partner's root is not trusted here: encrypted, not authenticated.
    assert_eq!(report.security, Some(SecurityStatus::Encrypted));
    for shown in [
        "TLS requirement: opportunistic TLS",
        "Straight to",
        "Sent: 250",
        "STARTTLS",
    ] {
        assert!(
            h.query_all_by_label_contains(shown).next().is_some(),
            "{shown} shown"
        );
    }
    let (session, transcript) = report.sessions.first().expect("a session");
    assert!(
        transcript
            .iter()
            .any(|l| l.contains("MAIL FROM:<postmaster@contoso.test>")),
        "{transcript:?}"
    );
    assert!(h.query_all_by_label_contains(session).next().is_some());
    h.get_by_label("🔍 Find in message tracking").click();
    h.step();
    settle(&mut h);
    assert_eq!(h.state().page, Page::MessageTracking);
    assert_eq!(
        h.state().views.tracking.selected.as_deref(),
        Some(report.internal_id.as_str())
    );
    let mailbox = tmp
        .path()
        .join("woodgrove/mailboxes/woodgrove.test/bob/new");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_dir(&mailbox).map_or(0, |d| d.count()) == 0 {
        assert!(Instant::now() < deadline, "the partner has no message");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(h);
    partner.stop();
}

/// The Domain Security wizard probes the partner's host as soon as its domain is known, and
/// the root step preselects the trusted root that issued the partner's certificate — not the
/// first root of the list, which here is another CA.
#[test]
fn the_domain_security_wizard_preselects_the_partners_root_from_the_probe() {
    let tmp = tempfile::tempdir().expect("tmp");
    let now = OffsetDateTime::now_utc();
    let (handle, addr, ca) = woodgrove_partner(tmp.path());
    let mut ws = org_now(
        &tmp.path().join("contoso"),
        "mail.contoso.test",
        "contoso.test",
    );
    // Another partner's root first, then Woodgrove's.
    let other = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Fabrikam Root CA");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let other = params.self_signed(&other).expect("other root");
    ws.trust_add(other.pem().as_bytes(), now)
        .expect("trust other");
    ws.trust_add(builder::to_pem(&ca).as_bytes(), now)
        .expect("trust woodgrove");
    ws.change_settings(|s| {
        s.send_connectors[0].smart_hosts = vec![addr.to_string()];
        Ok(())
    })
    .expect("settings");
    let woodgrove_root = crate::pki::inspect::inspect_certificate(&ca)
        .expect("root")
        .thumbprint;
    let app = ConsoleApp::new(ws, no_waker(), Clock::System, probe::default_prober(), None);
    let mut h = harness(app);
    settle(&mut h);
    click(&mut h, "Set up Domain Security…");
    set_text(&mut h, "Partner domain", "woodgrove.test");
    click(&mut h, "Next >");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done = matches!(
            h.state().wizard.as_ref(),
            Some(crate::ui::wizards::Wizard::DomainSecurity(w)) if w.probe.is_some()
        );
        if done {
            break;
        }
        assert!(Instant::now() < deadline, "no probe result");
        std::thread::sleep(Duration::from_millis(50));
        h.run();
    }
    settle(&mut h);
    let Some(crate::ui::wizards::Wizard::DomainSecurity(w)) = h.state().wizard.as_ref() else {
        panic!("the wizard is open");
    };
    assert_eq!(w.existing.as_deref(), Some(woodgrove_root.as_str()));
    assert!(has_text(&h, "Preselected: "), "the reason is shown");
    drop(h);
    handle.stop();
}
