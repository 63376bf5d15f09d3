//! Scripted SMTP servers for a relay to deliver to: the accept-and-read loop they share (a
//! greeting, then each line handed to the test's conversation), the sink that records the
//! `X-Test-Id` of every message it accepts, and an MX host speaking STARTTLS with whatever
//! certificate and key a test gives it (a key that does not belong to the certificate too).

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
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

/// A plain SMTP host on `listener` offering the EHLO lines `ehlo` (the full reply), answering
/// each RCPT TO line with `rcpt(line)` and every other command with 250 (DATA with 354, the end
/// of data with 250); records every command line it reads.
pub fn answering(
    listener: TcpListener,
    greeting: &'static [u8],
    ehlo: &'static [u8],
    rcpt: fn(&str) -> &'static [u8],
) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    scripted(listener, greeting, move || {
        let record = record.clone();
        let mut in_data = false;
        move |line: &str, w: &mut TcpStream| {
            if in_data {
                if line == "." {
                    in_data = false;
                    let _ = w.write_all(b"250 2.0.0 queued\r\n");
                }
                return true;
            }
            record.lock().unwrap().push(line.to_string());
            let up = line.to_ascii_uppercase();
            let reply: &[u8] = if up.starts_with("EHLO") {
                ehlo
            } else if up.starts_with("RCPT") {
                rcpt(line)
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
    seen
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

/// An MX host that answers SMTP and STARTTLS with whatever server configuration `config` holds
/// at the time (offering nothing but STARTTLS, and nothing inside TLS: no REQUIRETLS), and
/// records each line it reads inside TLS.
pub fn starttls_mx(
    listener: TcpListener,
    config: Arc<Mutex<Arc<rustls::ServerConfig>>>,
) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let config = config.lock().unwrap().clone();
            let record = record.clone();
            std::thread::spawn(move || serve_starttls(stream, config, record));
        }
    });
    seen
}

fn serve_starttls(
    mut tcp: TcpStream,
    config: Arc<rustls::ServerConfig>,
    seen: Arc<Mutex<Vec<String>>>,
) {
    let _ = tcp.write_all(b"220 mx1.woodgrove.test ESMTP\r\n");
    // Plaintext, byte by byte (nothing may be read past STARTTLS).
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if std::io::Read::read(&mut tcp, &mut byte).unwrap_or(0) == 0 {
            return;
        }
        line.push(byte[0]);
        if byte[0] != b'\n' {
            continue;
        }
        let text = String::from_utf8_lossy(&line)
            .trim_end()
            .to_ascii_uppercase();
        line.clear();
        if text.starts_with("EHLO") {
            let _ = tcp.write_all(b"250-mx1.woodgrove.test\r\n250 STARTTLS\r\n");
        } else if text == "STARTTLS" {
            let _ = tcp.write_all(b"220 go ahead\r\n");
            break;
        } else {
            let _ = tcp.write_all(b"503 STARTTLS first\r\n");
        }
    }
    let Ok(connection) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut tls = BufReader::new(rustls::StreamOwned::new(connection, tcp));
    let mut in_data = false;
    loop {
        let mut text = String::new();
        if tls.read_line(&mut text).unwrap_or(0) == 0 {
            return;
        }
        let text = text.trim_end().to_string();
        seen.lock().unwrap().push(text.clone());
        let up = text.to_ascii_uppercase();
        let reply: &[u8] = if in_data {
            if text != "." {
                continue;
            }
            in_data = false;
            b"250 2.0.0 queued\r\n"
        } else if up.starts_with("EHLO") {
            b"250 mx1.woodgrove.test\r\n"
        } else if up == "DATA" {
            in_data = true;
            b"354 go\r\n"
        } else if up == "QUIT" {
            let _ = tls.get_mut().write_all(b"221 bye\r\n");
            return;
        } else {
            b"250 OK\r\n"
        };
        if tls.get_mut().write_all(reply).is_err() {
            return;
        }
    }
}

/// Presents `chain` and signs with `key`, whether or not they belong together (rustls's
/// `with_single_cert` would refuse a key that does not match).
pub fn presenting(chain: &[u8], key: &rcgen::KeyPair) -> Arc<rustls::ServerConfig> {
    #[derive(Debug)]
    struct Always(Arc<rustls::sign::CertifiedKey>);
    impl rustls::server::ResolvesServerCert for Always {
        fn resolve(
            &self,
            _: rustls::server::ClientHello<'_>,
        ) -> Option<Arc<rustls::sign::CertifiedKey>> {
            Some(self.0.clone())
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let signing = provider
        .key_provider
        .load_private_key(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            key.serialize_der(),
        )))
        .expect("signing key");
    let certified =
        rustls::sign::CertifiedKey::new(vec![CertificateDer::from(chain.to_vec())], signing);
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Always(Arc::new(certified))));
    Arc::new(config)
}
