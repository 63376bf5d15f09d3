//! `mailflow serve` as a child process, run the way an administrator runs the relay: an
//! organization set up from the command line to relay through one next hop, the relay started
//! on its data directory, waited for until it listens, and stopped with SIGTERM.

use crate::support::relay_util::wait_until;
use crate::support::util::{Org, free_port, p};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Contoso (`mail.contoso.test`) set up with the command line: its Default connector on a free
/// loopback port, without tarpit, for anonymous users, partners and anonymous relay; its
/// Outbound connector to `127.0.0.1:<next_hop>`; retries every second. Returns the
/// organization and where its relay will listen.
pub fn relaying_org(next_hop: u16) -> (Org, SocketAddr) {
    let org = Org::new("mail.contoso.test", "contoso.test");
    let port = free_port();
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
    ]);
    org.ok(&[
        "connector",
        "send",
        "set",
        "Outbound",
        "--smart-hosts",
        &format!("127.0.0.1:{next_hop}"),
    ]);
    org.ok(&[
        "transport",
        "set",
        "--retry-interval",
        "1s",
        "--connection-retry-interval",
        "1s",
    ]);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    (org, addr)
}

/// `mailflow serve` on the organization's data directory, as a child process.
pub fn serve(org: &Org) -> Child {
    Command::new(env!("CARGO_BIN_EXE_mailflow"))
        .args(["--data-dir", p(&org.dir), "serve"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts")
}

/// Waits until something accepts connections on `addr` (`what` names the wait in the failure).
pub fn wait_listening(what: &str, addr: SocketAddr, timeout: Duration) {
    wait_until(what, timeout, || TcpStream::connect(addr).is_ok());
}

/// Stops a relay started with [`serve`] as an administrator would (SIGTERM) and waits for it.
pub fn stop(mut child: Child) {
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
}
