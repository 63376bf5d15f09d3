//! TLS client sessions against a relay, as a partner's server or an attacker would open them:
//! STARTTLS on the relay's port presenting a client certificate (or none), SMTP commands and
//! replies inside TLS, the identity a session presents (made from a certificate and its key)
//! and the thumbprint by which the admin layer names a certificate. The client accepts any
//! server certificate: these tests judge what the relay does with the client.

use mailflow::engine::tls::{TlsIdentity, client_config};
use mailflow::pki::inspect::inspect_certificate;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A TLS client connection over a plain TCP stream.
pub type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// The identity a TLS client presents: the certificate (DER) and its key.
pub fn identity(certificate: &[u8], key: &rcgen::KeyPair) -> TlsIdentity {
    let info = inspect_certificate(certificate).unwrap();
    TlsIdentity::new(certificate, &[], key.serialize_der(), info)
}

/// The thumbprint of a certificate (DER), as the certificate store lists it.
pub fn thumbprint(certificate: &[u8]) -> String {
    inspect_certificate(certificate).unwrap().thumbprint
}

/// TLS over `tcp` (after the server's `220` to STARTTLS) for `server_name`, presenting
/// `identity` when given. The handshake runs with the first read or write.
pub fn client(tcp: TcpStream, identity: Option<&TlsIdentity>, server_name: &str) -> TlsStream {
    let config = client_config(identity).expect("client config");
    let name = rustls::pki_types::ServerName::try_from(server_name.to_string()).unwrap();
    let connection = rustls::ClientConnection::new(config, name).unwrap();
    rustls::StreamOwned::new(connection, tcp)
}

/// One line of a plaintext reply, without its line end.
fn plain_line(reader: &mut dyn BufRead) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    line.trim_end().to_string()
}

/// Reads a plaintext greeting (which must be `220`) and says EHLO `client_name`, reading the
/// whole reply.
fn greet(tcp: &mut TcpStream, reader: &mut dyn BufRead, client_name: &str) {
    let greeting = plain_line(reader);
    assert!(greeting.starts_with("220"), "{greeting}");
    tcp.write_all(format!("EHLO {client_name}\r\n").as_bytes())
        .unwrap();
    while plain_line(reader).starts_with("250-") {}
}

/// An SMTP session inside TLS.
pub struct TlsSession {
    pub tls: TlsStream,
}

impl TlsSession {
    /// Connects to `addr` (replies awaited at most `read_timeout`), says EHLO `client_name`,
    /// STARTTLS, and starts TLS for `server_name` presenting `identity`. Nothing is said inside
    /// TLS yet: the next command (usually [`TlsSession::ehlo`]) runs the handshake.
    pub fn starttls(
        addr: SocketAddr,
        identity: Option<&TlsIdentity>,
        client_name: &str,
        server_name: &str,
        read_timeout: Duration,
    ) -> TlsSession {
        let mut tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(read_timeout)).unwrap();
        let mut reader = BufReader::new(tcp.try_clone().unwrap());
        greet(&mut tcp, &mut reader, client_name);
        tcp.write_all(b"STARTTLS\r\n").unwrap();
        let ready = plain_line(&mut reader);
        assert!(ready.starts_with("220"), "{ready}");
        TlsSession {
            tls: client(tcp, identity, server_name),
        }
    }

    /// EHLO inside TLS; the reply must be `250`.
    pub fn ehlo(&mut self, client_name: &str) {
        let r = self.cmd(&format!("EHLO {client_name}"));
        assert!(r.starts_with("250 "), "{r}");
    }

    /// The last line of the next (possibly multi-line) reply.
    pub fn reply(&mut self) -> String {
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        loop {
            self.tls.read_exact(&mut b).unwrap();
            line.push(b[0]);
            if line.ends_with(b"\r\n") {
                let text = String::from_utf8_lossy(&line).trim_end().to_string();
                if text.len() < 4 || text.as_bytes()[3] != b'-' {
                    return text;
                }
                line.clear();
            }
        }
    }

    /// Sends a line and returns the last line of its reply.
    pub fn cmd(&mut self, line: &str) -> String {
        self.tls
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap();
        self.reply()
    }

    /// RCPT, DATA and the message after an accepted MAIL FROM; the final reply.
    pub fn message(&mut self, to: &str, text: &str) -> String {
        let r = self.cmd(&format!("RCPT TO:<{to}>"));
        assert!(r.starts_with("250"), "{r}");
        assert!(self.cmd("DATA").starts_with("354"));
        self.cmd(&format!("{}\r\n.", text.replace('\n', "\r\n")))
    }
}

/// A partner's client (`EHLO partner.test`, replies awaited 10 seconds) presenting `identity`
/// (or none) inside STARTTLS, or staying in plaintext without `starttls`, sends MAIL FROM for
/// `sender`; returns the reply.
pub fn mail_from(
    addr: SocketAddr,
    identity: Option<&TlsIdentity>,
    sender: &str,
    starttls: bool,
) -> String {
    if starttls {
        let mut session = TlsSession::starttls(
            addr,
            identity,
            "partner.test",
            "mail.woodgrove.test",
            Duration::from_secs(10),
        );
        session.ehlo("partner.test");
        return session.cmd(&format!("MAIL FROM:<{sender}>"));
    }
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut reader = BufReader::new(tcp.try_clone().unwrap());
    greet(&mut tcp, &mut reader, "partner.test");
    tcp.write_all(format!("MAIL FROM:<{sender}>\r\n").as_bytes())
        .unwrap();
    plain_line(&mut reader)
}
