//! Crash safety: `mailflow serve` killed with SIGKILL at random moments under continuous load
//! (plain and STARTTLS, several sessions) at least 20 times, restarted each time; afterwards the
//! queue drains to a sink, and every message that received `250` is delivered — none lost,
//! duplicates counted and reported. Also: damaged spool files are quarantined with a clear
//! reason while the rest of the queue flows.

use crate::support::next_hop::sink;
use crate::support::relay_util::{Relay, send_mail, wait_until};
use crate::support::serve::{relaying_org, serve, wait_listening};
use crate::support::tls;
use crate::support::util::{Org, free_port};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Sends one message (optionally over STARTTLS); Some(()) only when it got `250 2.6.0`.
fn submit(addr: SocketAddr, id: &str, rcpt: &str, tls: bool) -> Option<()> {
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    tcp.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut w = tcp.try_clone().ok()?;
    let mut r = BufReader::new(tcp.try_clone().ok()?);
    let read = |r: &mut dyn BufRead| -> Option<String> {
        loop {
            let mut l = String::new();
            if r.read_line(&mut l).ok()? == 0 {
                return None;
            }
            if l.as_bytes().get(3) != Some(&b'-') {
                return Some(l.trim_end().to_string());
            }
        }
    };
    read(&mut r)?;
    w.write_all(b"EHLO load.test\r\n").ok()?;
    read(&mut r)?;
    let script = format!("MAIL FROM:<load@example.test>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n");
    let body = format!("Subject: {id}\r\nX-Test-Id: {id}\r\n\r\nload message {id}\r\n.\r\n");
    if tls {
        w.write_all(b"STARTTLS\r\n").ok()?;
        if !read(&mut r)?.starts_with("220") {
            return None;
        }
        let mut s = tls::client(tcp, None, "mail.contoso.test");
        s.write_all(b"EHLO load.test\r\n").ok()?;
        let mut r = BufReader::new(s);
        read(&mut r)?;
        r.get_mut().write_all(script.as_bytes()).ok()?;
        for _ in 0..3 {
            read(&mut r)?;
        }
        r.get_mut().write_all(body.as_bytes()).ok()?;
        let end = read(&mut r)?;
        return end.starts_with("250 2.6.0").then_some(());
    }
    w.write_all(script.as_bytes()).ok()?;
    for _ in 0..3 {
        read(&mut r)?;
    }
    w.write_all(body.as_bytes()).ok()?;
    read(&mut r)?.starts_with("250 2.6.0").then_some(())
}

fn local_ids(org: &Org) -> Vec<String> {
    let mut out = Vec::new();
    let root = org.dir.join("mailboxes/contoso.test");
    for user in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(user.path().join("new"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let text = std::fs::read_to_string(f.path()).unwrap_or_default();
            if let Some(id) = text.lines().find_map(|l| l.strip_prefix("X-Test-Id: ")) {
                out.push(id.to_string());
            }
        }
    }
    out
}

#[test]
fn sigkill_twenty_times_under_load_loses_nothing_acknowledged() {
    let sink_port = free_port();
    let (org, addr) = relaying_org(sink_port);
    let mut child = serve(&org);
    wait_listening("listening", addr, Duration::from_secs(60));

    let acked: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for w in 0..4 {
        let (acked, stop, counter) = (acked.clone(), stop.clone(), counter.clone());
        workers.push(std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let id = format!("m{n:06}");
                // Half local (delivered at once), half remote (queued while the sink is down).
                let rcpt = if n % 2 == 0 {
                    format!("user{w}@contoso.test")
                } else {
                    format!("user{w}@woodgrove.test")
                };
                if submit(addr, &id, &rcpt, w % 2 == 1).is_some() {
                    acked.lock().unwrap().insert(id);
                } else {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }));
    }
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(150 + rand() % 600));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        child = serve(&org);
        wait_listening("listening again", addr, Duration::from_secs(60));
    }
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        let _ = w.join();
    }
    // Drain: start the sink and wait until the queue is empty.
    let sunk: Arc<Mutex<Vec<String>>> = Arc::default();
    sink(sink_port, sunk.clone());
    let acked = acked.lock().unwrap().clone();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut delivered: BTreeMap<String, usize> = BTreeMap::new();
        for id in local_ids(&org)
            .into_iter()
            .chain(sunk.lock().unwrap().iter().cloned())
        {
            *delivered.entry(id).or_default() += 1;
        }
        let missing: Vec<&String> = acked
            .iter()
            .filter(|id| !delivered.contains_key(*id))
            .collect();
        if missing.is_empty() {
            let dups: usize = delivered.values().map(|n| n - 1).sum();
            eprintln!(
                "crash test: {} messages acknowledged over 20 SIGKILLs, all delivered; {} duplicate deliveries ({} messages delivered twice or more)",
                acked.len(),
                dups,
                delivered.values().filter(|n| **n > 1).count()
            );
            assert!(
                acked.len() > 40,
                "enough load to mean something: {}",
                acked.len()
            );
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "{} of {} acknowledged messages were never delivered: {:?}",
                missing.len(),
                acked.len(),
                &missing[..missing.len().min(10)]
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    crate::support::serve::stop(child);
}

#[test]
fn damaged_spool_files_are_quarantined_and_the_rest_flows() {
    let dead = free_port();
    let mut relay = Relay::start("mail.contoso.test", "contoso.test", |s| {
        s.receive_connectors[0]
            .permission_groups
            .push(mailflow::config::PermissionGroup::AnonymousRelay);
        s.send_connectors[0].smart_hosts = vec![format!("127.0.0.1:{dead}")];
        s.transport.transient_failure_retry_interval = mailflow::config::units::TimeSpan::secs(1);
        s.transport.outbound_connection_failure_retry_interval =
            mailflow::config::units::TimeSpan::secs(1);
    });
    for i in 0..3 {
        send_mail(
            relay.addr(),
            "alice@contoso.test",
            &["bob@woodgrove.test"],
            &format!("Subject: keep {i}\n\nx\n"),
        );
    }
    wait_until("queued", Duration::from_secs(60), || {
        relay.handle().snapshot().queued_messages == 3
    });
    relay.stop();
    let queue = relay.org.dir.join("spool/queue");
    let mut msgs: Vec<_> = std::fs::read_dir(&queue)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "msg"))
        .collect();
    msgs.sort();
    // Truncate one, fill another with garbage.
    let len = std::fs::metadata(&msgs[0]).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&msgs[0])
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    std::fs::write(&msgs[1], b"\x00garbage that is not a spool file").unwrap();
    // The relay starts anyway; the good message is still delivered once a next hop exists.
    let b = Relay::start("mail.woodgrove.test", "woodgrove.test", |_| {});
    let mut ws = relay.workspace();
    ws.change_settings(|s| {
        s.send_connectors[0].smart_hosts = vec![b.addr().to_string()];
        Ok(())
    })
    .unwrap();
    relay.restart();
    let got = b.wait_mailbox("woodgrove.test", "bob", 1);
    assert_eq!(got.len(), 1);
    let q = relay.org.dir.join("spool/quarantine");
    let reasons: Vec<String> = std::fs::read_dir(&q)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "reason"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("truncated")),
        "{reasons:?}"
    );
}
