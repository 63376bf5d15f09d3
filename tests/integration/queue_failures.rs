//! The queue's failure paths (issue 9, points 3 and 4), against a real `mailflow serve` and a
//! real full filesystem:
//! - a relay out of file descriptors (RLIMIT_NOFILE lowered under it) cannot read its spool:
//!   the messages are deferred with the reason and delivered once it can read again — nothing
//!   is quarantined, nothing is lost;
//! - an NDR that cannot be stored (the spool's filesystem is full) keeps its original queued,
//!   and is retried until it is on disk; only then does the original leave;
//! - a quarantined message is listed with its reason and released back by `mailflow queue`.

use crate::support::next_hop::{scripted, sink};
use crate::support::relay_util::{Relay, of_kind, send_mail, wait_until};
use crate::support::serve::{relaying_org, serve, stop, wait_listening};
use crate::support::util::{free_port, in_ci};
use mailflow::engine::{QueueOp, QueueReply};
use mailflow::store::tracking::{EventKind, TrackingDb, TrackingEvent};
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The queue id in `250 2.6.0 <id> Queued mail for delivery`.
fn queued_id(reply: &str) -> String {
    assert!(reply.starts_with("250 2.6.0"), "{reply}");
    reply
        .split_whitespace()
        .nth(2)
        .map(|s| s.trim_matches(['<', '>']).to_string())
        .unwrap_or_else(|| panic!("no id in {reply}"))
}

fn events(dir: &Path, kind: EventKind) -> Vec<TrackingEvent> {
    TrackingDb::open_read_only(&dir.join("tracking.db"))
        .ok()
        .and_then(|db| db.search(&of_kind(kind)).ok())
        .unwrap_or_default()
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    out.sort();
    out
}

/// Sets the soft RLIMIT_NOFILE of another process (the hard limit stays, so it can be raised
/// again without privilege).
fn set_nofile(pid: u32, soft: u64) {
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: prlimit on our own child; `old` is a valid out pointer, `new` a valid in pointer.
    let rc = unsafe {
        libc::prlimit(
            pid as libc::pid_t,
            libc::RLIMIT_NOFILE,
            std::ptr::null(),
            &mut old,
        )
    };
    assert_eq!(rc, 0, "prlimit read: {}", std::io::Error::last_os_error());
    let new = libc::rlimit {
        rlim_cur: soft.min(old.rlim_max),
        rlim_max: old.rlim_max,
    };
    // SAFETY: as above.
    let rc = unsafe {
        libc::prlimit(
            pid as libc::pid_t,
            libc::RLIMIT_NOFILE,
            &new,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(rc, 0, "prlimit set: {}", std::io::Error::last_os_error());
}

/// Regression (issue 9.3): a read error that was the system's (EMFILE) quarantined the message
/// — or, when the quarantine failed too, dropped it from the queue until a restart.
#[test]
fn out_of_file_descriptors_defers_and_neither_quarantines_nor_loses_mail() {
    let next_hop = free_port();
    let (org, addr) = relaying_org(next_hop);
    let mut child = serve(&org);
    wait_listening("listening", addr, Duration::from_secs(20));
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = send_mail(
            addr,
            "alice@contoso.test",
            &["bob@woodgrove.test"],
            &format!("Subject: fd {i}\nX-Test-Id: fd{i}\n\nbody {i}\n"),
        );
        ids.push(queued_id(&r));
    }
    // Each tried once: the next hop is down, so they wait in the queue.
    wait_until("first deferrals", Duration::from_secs(20), || {
        let d = events(&org.dir, EventKind::Defer);
        ids.iter().all(|id| d.iter().any(|e| &e.internal_id == id))
    });
    // No descriptor above stdin/stdout/stderr: every open of a spool file fails with EMFILE.
    set_nofile(child.id(), 3);
    let unreadable = |e: &TrackingEvent| {
        e.response
            .as_deref()
            .is_some_and(|r| r.contains("could not be read from the spool"))
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let d = events(&org.dir, EventKind::Defer);
        let seen = |id: &String| {
            d.iter()
                .filter(|e| &e.internal_id == id && unreadable(e))
                .count()
        };
        if ids.iter().all(|id| seen(id) >= 2) {
            let r = d.iter().find(|e| unreadable(e)).unwrap();
            let r = r.response.as_deref().unwrap_or_default();
            assert!(r.contains("Too many open files"), "{r}");
            assert!(r.starts_with("451 4.3.0"), "{r}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "expected each message deferred twice as unreadable; tracking has {:#?}",
                d
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let spool = org.dir.join("spool");
    assert!(
        std::fs::read_dir(spool.join("quarantine"))
            .unwrap()
            .next()
            .is_none(),
        "nothing quarantined"
    );
    assert!(events(&org.dir, EventKind::Quarantine).is_empty());
    assert_eq!(
        files(&spool.join("queue"), "msg").len(),
        3,
        "all still queued"
    );
    // Descriptors again, and a next hop: every message is delivered by the same process.
    set_nofile(child.id(), 1024);
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    sink(next_hop, got.clone());
    let deadline = Instant::now() + Duration::from_secs(60);
    while got.lock().unwrap().len() < 3 {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("not delivered after the limit was raised: {:?}", got.lock());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut got = got.lock().unwrap().clone();
    got.sort();
    assert_eq!(got, vec!["fd0", "fd1", "fd2"]);
    stop(child);
}

/// A size-limited tmpfs mounted over a folder, unmounted on drop.
struct SmallFs(PathBuf);

impl SmallFs {
    /// `None` (said loudly; a failure in CI, as a missing peer tool is) when the test cannot
    /// mount: not root, or no permission to mount (a container without CAP_SYS_ADMIN).
    fn mount(at: &Path, size: &str) -> Option<SmallFs> {
        let cannot = |why: String| {
            let msg = format!(
                "CANNOT MOUNT a small tmpfs ({why}): the disk-full test did NOT run (run the suite as root with mount rights, as .ci/run does)"
            );
            if in_ci() {
                panic!("{msg}");
            }
            eprintln!("\n*** {msg} ***\n");
            None
        };
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return cannot("not root".into());
        }
        std::fs::create_dir_all(at).unwrap();
        let out = match Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700")])
            .arg("tmpfs")
            .arg(at)
            .output()
        {
            Ok(out) => out,
            Err(e) => return cannot(format!("mount does not run: {e}")),
        };
        if !out.status.success() {
            return cannot(format!(
                "mount on {}: {}",
                at.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Some(SmallFs(at.to_path_buf()))
    }

    /// Writes a file until the filesystem is full; returns its path.
    fn fill(&self) -> PathBuf {
        let path = self.0.join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let chunk = vec![0x55u8; 4096];
        loop {
            match f.write_all(&chunk) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
                Err(e) => panic!("filling {}: {e}", path.display()),
            }
        }
        let _ = f.sync_all();
        path
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A next hop that accepts connections only after `go`, then refuses every recipient (5xx).
fn refusing_next_hop() -> (u16, std::sync::mpsc::Sender<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (go, wait) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if wait.recv().is_err() {
            return;
        }
        scripted(l, b"220 refuser ESMTP\r\n", || {
            |line: &str, w: &mut TcpStream| {
                let up = line.to_ascii_uppercase();
                let reply: &[u8] = if up.starts_with("EHLO") {
                    b"250-refuser\r\n250 PIPELINING\r\n"
                } else if up.starts_with("RCPT") {
                    b"550 5.1.1 no such user here\r\n"
                } else if up == "QUIT" {
                    let _ = w.write_all(b"221 bye\r\n");
                    return false;
                } else if up == "DATA" {
                    b"554 5.5.1 no valid recipients\r\n"
                } else {
                    b"250 OK\r\n"
                };
                let _ = w.write_all(reply);
                true
            }
        });
    });
    (port, go)
}

/// Regression (issue 9.4): when the NDR could not be queued (disk full), the original was
/// removed all the same: the sender never learnt the message was not delivered.
#[test]
fn a_full_spool_keeps_the_original_until_its_ndr_is_stored() {
    let (port, go) = refusing_next_hop();
    let mut relay = Relay::start("mail.contoso.test", "contoso.test", |s| {
        s.receive_connectors[0]
            .permission_groups
            .push(mailflow::config::PermissionGroup::AnonymousRelay);
        s.send_connectors[0].smart_hosts = vec![format!("127.0.0.1:{port}")];
        s.transport.transient_failure_retry_interval = mailflow::config::units::TimeSpan::secs(1);
        s.transport.outbound_connection_failure_retry_interval =
            mailflow::config::units::TimeSpan::secs(1);
    });
    relay.stop();
    let spool = relay.org.dir.join("spool");
    let Some(fs) = SmallFs::mount(&spool, "1m") else {
        return;
    };
    relay.restart();
    let reply = send_mail(
        relay.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        "Subject: will bounce\n\nThis message is refused by the next hop.\n",
    );
    let id = queued_id(&reply);
    let original = spool.join("queue").join(format!("{id}.msg"));
    assert!(original.exists());
    // The disk fills up; then the next hop answers, and refuses the recipient.
    let filler = fs.fill();
    go.send(()).unwrap();
    relay.wait_kind(EventKind::Fail, 1);
    let h = relay.handle();
    let last_error = || match h.queue_op(QueueOp::Messages { queue: None }).recv() {
        Ok(QueueReply::Messages(rows)) => rows
            .iter()
            .find(|m| m.id == id)
            .and_then(|m| m.last_error.clone()),
        _ => None,
    };
    // The NDR is tried and retried (1 s, then 2 s) while the disk stays full: the original
    // stays queued all along.
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        assert!(
            original.exists(),
            "the original left the spool before its NDR was stored"
        );
        assert_eq!(h.snapshot().queued_messages, 1, "left the queue");
        std::thread::sleep(Duration::from_millis(100));
    }
    let e = last_error().unwrap_or_default();
    assert!(e.contains("the NDR could not be stored"), "{e}");
    // The Queue viewer (and `mailflow queue list`) shows it waiting, with why.
    let Ok(QueueReply::Queues(rows)) = h.queue_op(QueueOp::List).recv() else {
        panic!("no queue list");
    };
    let row = rows
        .iter()
        .find(|r| r.name == "Notices waiting to be stored")
        .unwrap_or_else(|| panic!("{rows:?}"));
    assert_eq!(row.messages, 1);
    assert!(
        row.last_error
            .as_deref()
            .is_some_and(|e| e.contains("could not be stored")),
        "{row:?}"
    );
    assert!(e.starts_with("452 4.3.1"), "{e}");
    assert!(e.contains("No space left on device"), "{e}");
    assert!(relay.track(&of_kind(EventKind::Dsn)).is_empty());
    assert!(relay.mailbox("contoso.test", "alice").is_empty());
    // Space again: the NDR is stored, delivered to the sender, and only then the original goes.
    std::fs::remove_file(&filler).unwrap();
    let ndr = relay.wait_mailbox("contoso.test", "alice", 1);
    assert_eq!(ndr.len(), 1);
    assert!(ndr[0].contains("550 5.1.1 no such user here"), "{}", ndr[0]);
    assert!(ndr[0].contains(&id), "the NDR names the original");
    let dsn = relay.wait_kind(EventKind::Dsn, 1);
    assert_eq!(dsn[0].internal_id, id);
    wait_until("the original removed", Duration::from_secs(20), || {
        !original.exists() && h.snapshot().queued_messages == 0
    });
    assert!(files(&spool.join("queue"), "msg").is_empty());
    relay.stop();
    drop(fs);
}

/// A damaged message in the queue is quarantined with a tracking event, listed with its reason
/// by `mailflow queue quarantine` and put back by `mailflow queue release` (relay running or not).
#[test]
fn a_quarantined_message_is_listed_and_released_from_the_command_line() {
    let next_hop = free_port();
    let (org, addr) = relaying_org(next_hop);
    assert!(
        org.ok(&["queue", "quarantine"])
            .contains("The quarantine is empty")
    );
    let child = serve(&org);
    wait_listening("listening", addr, Duration::from_secs(20));
    let id = queued_id(&send_mail(
        addr,
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        "Subject: damaged\nX-Test-Id: q1\n\nbody\n",
    ));
    let msg = org.dir.join("spool/queue").join(format!("{id}.msg"));
    // Flip one byte of the body: the checksum finds it at the next attempt.
    let good = std::fs::read(&msg).unwrap();
    let mut bad = good.clone();
    let n = bad.len() - 3;
    bad[n] ^= 0x20;
    // Replaced whole (a rename), so the relay never reads it half written.
    let tmp = org.dir.join("damaged.tmp");
    std::fs::write(&tmp, &bad).unwrap();
    std::fs::rename(&tmp, &msg).unwrap();
    wait_until("quarantined", Duration::from_secs(20), || {
        !events(&org.dir, EventKind::Quarantine).is_empty()
    });
    let q = events(&org.dir, EventKind::Quarantine);
    assert_eq!(q[0].internal_id, id);
    assert!(
        q[0].response
            .as_deref()
            .is_some_and(|r| r.contains("body checksum mismatch")),
        "{:?}",
        q[0]
    );
    let list = org.ok(&["queue", "quarantine"]);
    assert!(list.contains(&id), "{list}");
    assert!(list.contains("body checksum mismatch"), "{list}");
    assert!(list.contains("alice@contoso.test"), "{list}");
    // Repaired by the administrator (here: the good bytes), released through the running relay.
    let quarantined = org.dir.join("spool/quarantine").join(format!("{id}.msg"));
    std::fs::write(&quarantined, &good).unwrap();
    let err = org.fails(&["queue", "release", "no-such-name"]);
    assert!(err.contains("not released"), "{err}");
    let out = org.ok(&["queue", "release", &id]);
    assert!(out.contains("released"), "{out}");
    assert!(
        org.ok(&["queue", "quarantine"])
            .contains("The quarantine is empty")
    );
    wait_until("released event", Duration::from_secs(10), || {
        !events(&org.dir, EventKind::Release).is_empty()
    });
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    sink(next_hop, got.clone());
    wait_until("delivered after release", Duration::from_secs(30), || {
        got.lock().unwrap().contains(&"q1".to_string())
    });
    stop(child);
    // The same without a relay: the command works on the spool itself.
    let qdir = org.dir.join("spool/quarantine");
    std::fs::write(qdir.join(format!("{id}.1.msg")), &good).unwrap();
    std::fs::write(qdir.join(format!("{id}.1.reason")), "cannot be read: EIO\n").unwrap();
    let list = org.ok(&["queue", "quarantine"]);
    assert!(list.contains(&format!("{id}.1")), "{list}");
    assert!(list.contains("cannot be read: EIO"), "{list}");
    let out = org.ok(&["queue", "release", &format!("{id}.1")]);
    assert!(out.contains("released"), "{out}");
    assert!(msg.exists(), "back in the queue");
    assert!(files(&qdir, "msg").is_empty() && files(&qdir, "reason").is_empty());
    assert_eq!(events(&org.dir, EventKind::Release).len(), 2);
    // Removed with an NDR while no relay runs: the NDR is stored, then the original goes.
    let out = org.ok(&["queue", "remove", &id, "--ndr"]);
    assert!(out.contains("removed with NDR"), "{out}");
    assert!(!msg.exists());
    let queued = files(&org.dir.join("spool/queue"), "msg");
    assert_eq!(queued.len(), 1, "the NDR waits for the relay: {queued:?}");
    let ndr = std::fs::read_to_string(&queued[0]).unwrap();
    assert!(ndr.contains("removed from the queue by the administrator"));
    assert_eq!(events(&org.dir, EventKind::Dsn).len(), 1);
}
