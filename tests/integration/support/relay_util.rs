//! Relays started in-process for tests (each with its own data directory, listening on a free
//! loopback port), a tiny blocking SMTP client for scripted conversations, and waiting helpers.

use crate::support::util::{NO_DNS, Org, texts_in};
use mailflow::admin::{self, Workspace};
use mailflow::config::Settings;
use mailflow::config::units::TimeSpan;
use mailflow::engine::{EngineEvent, EngineHandle, QueueOp};
use mailflow::store::DataDir;
use mailflow::store::tracking::{EventKind, TrackingDb, TrackingEvent, TrackingQuery};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A running relay of one organization.
pub struct Relay {
    pub org: Org,
    pub handle: Option<EngineHandle>,
}

impl Relay {
    /// Initializes an organization, applies `tweak` to its settings (the default connector
    /// listens on a free loopback port, no tarpit), and starts the relay.
    pub fn start(fqdn: &str, domain: &str, tweak: impl FnOnce(&mut Settings)) -> Relay {
        let org = Org::empty();
        let dir = DataDir::new(&org.dir);
        admin::init(
            &dir,
            "Test Org",
            fqdn,
            domain,
            time::OffsetDateTime::now_utc(),
        )
        .expect("init");
        let mut ws = Workspace::open(&dir).expect("open");
        ws.change_settings(|s| {
            s.receive_connectors[0].bindings = vec!["127.0.0.1:0".into()];
            s.receive_connectors[0].tarpit_interval = TimeSpan::secs(0);
            s.transport.dns_servers = vec![NO_DNS.into()];
            tweak(s);
            Ok(())
        })
        .expect("settings");
        let mut r = Relay { org, handle: None };
        r.restart();
        r
    }

    pub fn dir(&self) -> DataDir {
        DataDir::new(&self.org.dir)
    }

    pub fn workspace(&self) -> Workspace {
        Workspace::open(&self.dir()).expect("workspace")
    }

    /// (Re)starts the engine on the data directory.
    pub fn restart(&mut self) {
        if let Some(h) = self.handle.take() {
            h.stop();
        }
        // The data directory's lock (flock) is released when the stopped engine is dropped,
        // but a process another test forks at that moment holds a copy of the descriptor
        // until it execs: give such a copy a moment to go.
        let deadline = Instant::now() + Duration::from_secs(5);
        let handle = loop {
            match EngineHandle::start(self.workspace(), None) {
                Err(mailflow::engine::error::EngineError::AlreadyRunning(_))
                    if Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(50));
                }
                other => break other.expect("relay starts"),
            }
        };
        self.handle = Some(handle);
    }

    pub fn stop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.stop();
        }
    }

    pub fn handle(&self) -> &EngineHandle {
        self.handle.as_ref().expect("running")
    }

    /// Changes settings on disk and applies them to the running relay.
    pub fn change(&self, f: impl FnOnce(&mut Settings)) {
        let mut ws = self.workspace();
        ws.change_settings(|s| {
            f(s);
            Ok(())
        })
        .expect("valid change");
        let h = self.handle();
        let _ = h.poll_events();
        h.apply(ws);
        wait_until("settings applied", Duration::from_secs(60), || {
            h.poll_events()
                .iter()
                .any(|e| matches!(e, EngineEvent::SettingsApplied { .. }))
        });
    }

    /// Where the first receive connector listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr_of("Default")
    }

    pub fn addr_of(&self, connector: &str) -> SocketAddr {
        let snap = self.handle().snapshot();
        snap.listeners
            .iter()
            .find(|l| l.connector == connector && l.error.is_none())
            .map(|l| l.address)
            .unwrap_or_else(|| panic!("{connector} is not listening: {:?}", snap.listeners))
    }

    /// Tracking events matching `q`, newest first.
    pub fn track(&self, q: &TrackingQuery) -> Vec<TrackingEvent> {
        match TrackingDb::open_read_only(&self.dir().tracking_db()) {
            Ok(db) => db.search(q).unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    }

    /// Waits for tracking events matching `q` until `ok` holds; returns them.
    pub fn wait_track(
        &self,
        what: &str,
        q: &TrackingQuery,
        ok: impl Fn(&[TrackingEvent]) -> bool,
    ) -> Vec<TrackingEvent> {
        let mut last = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            last = self.track(q);
            if ok(&last) {
                return last;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("timed out waiting for {what}; tracking has:\n{last:#?}");
    }

    /// Waits until tracking holds at least `at_least` events of `kind`; returns them, newest
    /// first.
    pub fn wait_kind(&self, kind: EventKind, at_least: usize) -> Vec<TrackingEvent> {
        self.wait_track(
            &format!("{at_least} {kind:?} event(s)"),
            &of_kind(kind),
            |e| e.len() >= at_least,
        )
    }

    /// The protocol log of one kind of session (`SmtpReceive` or `SmtpSend`), all days.
    pub fn protocol_log(&self, kind: &str) -> String {
        texts_in(&self.org.dir.join("logs").join(kind)).concat()
    }

    /// Waits for a protocol log line containing `part`; returns it.
    pub fn wait_protocol_log(&self, kind: &str, part: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = self.protocol_log(kind);
            if let Some(l) = text.lines().find(|l| l.contains(part)) {
                return l.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no {kind} protocol log line with {part:?}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Messages in a local mailbox (`new/`), as text.
    pub fn mailbox(&self, domain: &str, user: &str) -> Vec<String> {
        texts_in(
            &self
                .org
                .dir
                .join("mailboxes")
                .join(domain)
                .join(user)
                .join("new"),
        )
    }

    pub fn wait_mailbox(&self, domain: &str, user: &str, count: usize) -> Vec<String> {
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            got = self.mailbox(domain, user);
            if got.len() >= count {
                return got;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "timed out waiting for {count} message(s) for {user}@{domain}; found {}",
            got.len()
        );
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The tracking query for every event of one kind.
pub fn of_kind(kind: EventKind) -> TrackingQuery {
    TrackingQuery {
        kind: Some(kind),
        ..Default::default()
    }
}

pub fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

/// A blocking SMTP client for scripted conversations.
pub struct Client {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Client { stream, reader }
    }

    /// Reads one (possibly multi-line) reply, returned as its lines joined by '\n'.
    pub fn reply(&mut self) -> String {
        let mut lines = Vec::new();
        loop {
            let mut l = String::new();
            let n = self.reader.read_line(&mut l).expect("read reply");
            if n == 0 {
                lines.push("<closed>".to_string());
                break;
            }
            let l = l.trim_end().to_string();
            let more = l.as_bytes().get(3) == Some(&b'-');
            lines.push(l);
            if !more {
                break;
            }
        }
        lines.join("\n")
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Sends a line and returns the reply.
    pub fn cmd(&mut self, line: &str) -> String {
        self.send_raw(format!("{line}\r\n").as_bytes());
        self.reply()
    }
}

/// Sends one plain message; returns the final reply.
pub fn send_mail(addr: SocketAddr, from: &str, to: &[&str], body: &str) -> String {
    let to: Vec<String> = to.iter().map(|t| format!("<{t}>")).collect();
    let to: Vec<&str> = to.iter().map(String::as_str).collect();
    send_with_params(addr, &format!("<{from}>"), &to, body)
}

/// Sends one plain message whose MAIL FROM and RCPT TO arguments are given whole (with their
/// angle brackets and any parameters: `<a@b.test> RET=FULL`); returns the final reply.
pub fn send_with_params(addr: SocketAddr, from: &str, to: &[&str], body: &str) -> String {
    let mut c = Client::connect(addr);
    assert!(c.reply().starts_with("220"));
    assert!(c.cmd("EHLO client.test").starts_with("250"));
    let r = c.cmd(&format!("MAIL FROM:{from}"));
    assert!(r.starts_with("250"), "{r}");
    for t in to {
        let r = c.cmd(&format!("RCPT TO:{t}"));
        assert!(r.starts_with("250"), "{t}: {r}");
    }
    assert!(c.cmd("DATA").starts_with("354"));
    let mut text = body.replace("\r\n", "\n").replace('\n', "\r\n");
    if !text.ends_with("\r\n") {
        text.push_str("\r\n");
    }
    c.send_raw(text.as_bytes());
    let r = c.cmd(".");
    let _ = c.cmd("QUIT");
    r
}

impl Relay {
    /// Re-reads the data directory (certificates, settings) into the running relay.
    pub fn reload(&self) {
        self.change(|_| {});
    }

    /// Retries the queue `queue` now (as `mailflow queue retry` does); waits at most `timeout`
    /// for the relay to take the order.
    pub fn retry_now(&self, queue: &str, timeout: Duration) {
        self.handle()
            .queue_op(QueueOp::Retry {
                queue: queue.into(),
            })
            .recv_timeout(timeout)
            .unwrap();
    }

    /// Waits for the first deferral and checks that the failure stayed transient (no Send,
    /// Fail or Dsn event); returns the deferral's response and detail, for its reason.
    pub fn wait_deferral(&self) -> String {
        let ev = self.wait_track("DEFER with the reason", &of_kind(EventKind::Defer), |e| {
            !e.is_empty()
        });
        let why = format!("{:?} {:?}", ev[0].response, ev[0].detail);
        for kind in [EventKind::Send, EventKind::Fail, EventKind::Dsn] {
            assert!(
                self.track(&of_kind(kind)).is_empty(),
                "{kind:?}: the failure must stay transient"
            );
        }
        why
    }
}
