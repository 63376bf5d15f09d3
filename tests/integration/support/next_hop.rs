//! Scripted SMTP servers for a relay to deliver to: the accept-and-read loop they share (a
//! greeting, then each line handed to the test's conversation) and the sink that records the
//! `X-Test-Id` of every message it accepts.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// Serves every connection to `listener` on its own thread: writes `greeting`, then hands each
/// line it reads (without its line end) to a conversation made for that connection by
/// `conversation`, which writes its own replies and returns `false` to hang up. The connection
/// also ends when the client closes it.
pub fn scripted<C>(
    listener: TcpListener,
    greeting: &'static [u8],
    conversation: impl Fn() -> C + Send + 'static,
) where
    C: FnMut(&str, &mut TcpStream) -> bool + Send + 'static,
{
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut answer = conversation();
            std::thread::spawn(move || {
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                let _ = writer.write_all(greeting);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if !answer(line.trim_end(), &mut writer) {
                        return;
                    }
                }
            });
        }
    });
}

/// A minimal SMTP sink on loopback `port` recording the `X-Test-Id` of every message it
/// accepts (once the message is complete).
pub fn sink(port: u16, got: Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("sink port");
    scripted(listener, b"220 sink ESMTP\r\n", move || {
        let got = got.clone();
        let mut in_data = false;
        let mut ids = Vec::new();
        move |line: &str, w: &mut TcpStream| {
            if in_data {
                if line == "." {
                    in_data = false;
                    got.lock().unwrap().append(&mut ids);
                    let _ = w.write_all(b"250 2.0.0 sunk\r\n");
                } else if let Some(id) = line.strip_prefix("X-Test-Id: ") {
                    ids.push(id.to_string());
                }
                return true;
            }
            let up = line.to_ascii_uppercase();
            let reply: &[u8] = if up.starts_with("EHLO") {
                b"250-sink\r\n250 PIPELINING\r\n"
            } else if up == "DATA" {
                in_data = true;
                b"354 go\r\n"
            } else if up == "QUIT" {
                let _ = w.write_all(b"221 bye\r\n");
                return false;
            } else {
                b"250 OK\r\n"
            };
            let _ = w.write_all(reply);
            true
        }
    });
}
