//! TCP proxies between a relay and its next hop, to see or steer what crosses the wire: one
//! records every byte in both directions (to prove nothing crossed in plaintext), one holds its
//! first connection until the test releases it (to change settings while a delivery is
//! connecting). Both listen on a free loopback port and pass later connections straight on.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

/// Everything a proxy saw, both directions as they came.
pub type Wire = Arc<Mutex<Vec<u8>>>;

/// A proxy to `target` that records everything passing in both directions.
pub fn recording(target: SocketAddr) -> (SocketAddr, Wire) {
    let wire = Wire::default();
    let addr = start(target, Some(wire.clone()), |_| true);
    (addr, wire)
}

/// A proxy to `target` that holds its first connection until released (it reports when that
/// connection arrives); later connections pass at once. Returns its address, the arrivals and
/// the release.
pub fn held(target: SocketAddr) -> (SocketAddr, mpsc::Receiver<()>, mpsc::Sender<()>) {
    let (arrived_tx, arrived) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let addr = start(target, None, move |n| {
        let _ = arrived_tx.send(());
        n > 0 || released.recv_timeout(Duration::from_secs(60)).is_ok()
    });
    (addr, arrived, release)
}

/// Listens on a free loopback port and passes each connection on to `target` once `admit`
/// (given the connection's number, from 0) says so; a `false` stops the proxy.
fn start(
    target: SocketAddr,
    wire: Option<Wire>,
    mut admit: impl FnMut(usize) -> bool + Send + 'static,
) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for (n, client) in listener.incoming().flatten().enumerate() {
            if !admit(n) {
                return;
            }
            let Ok(server) = TcpStream::connect(target) else {
                continue;
            };
            for (from, to) in [
                (client.try_clone().unwrap(), server.try_clone().unwrap()),
                (server, client),
            ] {
                let wire = wire.clone();
                std::thread::spawn(move || pass(from, to, wire));
            }
        }
    });
    addr
}

/// Copies one direction until it ends (recording it when asked), then ends the other side's
/// writing.
fn pass(mut from: TcpStream, mut to: TcpStream, wire: Option<Wire>) {
    let mut buf = [0u8; 8192];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if let Some(wire) = &wire {
                    wire.lock().unwrap().extend_from_slice(&buf[..n]);
                }
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
