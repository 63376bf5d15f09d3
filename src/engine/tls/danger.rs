//! The two rustls verifiers that accept any certificate chain during the handshake, fenced
//! here as rustls fences its own (`rustls::client::danger`, `rustls::server::danger`): nothing
//! outside `engine::tls` can name them, and nothing but `server_config` and `client_config`
//! builds one.
//!
//! Why accepting any chain is safe here: the handshake is not where Mailflow decides whether
//! a peer is trusted. Each verifier lets the handshake finish and the chain is *recorded*
//! (read back with `engine::tls::peer_chain`); `policy::trust` then judges it with the settings of the
//! moment (trusted roots, revocation, Direct Trust and partner pins, the Domain Security
//! lists), and every use of the connection waits for that judgement:
//!
//! - inbound, the client's chain is judged at every MAIL FROM (`policy::inbound`, Exchange's
//!   rule: a sender domain on the receive list needs a valid certificate naming it, else
//!   `454 4.7.5`/`530 5.7.1`); a sender not on the list is handled as anonymous, so a bad
//!   certificate from it must not break the session (Exchange and Postfix behave alike);
//! - outbound, the server's chain and name are judged by `policy::outbound::judge` right
//!   after the handshake, before any SMTP command but QUIT is sent on the encrypted connection
//!   (not even EHLO); a hop whose TLS requirement (Domain Security, certificate or domain
//!   validation) the chain does not meet is left with QUIT and its messages are deferred,
//!   never sent over that connection nor in plaintext.
//!
//! What the verifiers still check: the handshake signatures, with the real webpki algorithms
//! of the provider (see [`handshake_signatures_checked`]), so a peer always proves it holds
//! the private key of the certificate it presents. A recorded chain is therefore the peer's
//! own, and only its trust is left for later.

use rustls::DistinguishedName;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// Inbound: asks the client for a certificate (our trusted roots as hints), does not require
/// one, and records whatever chain comes. Safe because `policy::inbound` judges that chain at
/// every MAIL FROM, before the transaction is accepted (module documentation).
#[derive(Debug)]
pub(super) struct RecordingClientVerifier {
    pub(super) hints: Vec<DistinguishedName>,
    pub(super) algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for RecordingClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        false
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }
    /// Accepts any chain: it is judged by `policy::trust` at MAIL FROM, not here.
    fn verify_client_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    handshake_signatures_checked!();
}

/// Outbound: lets the handshake finish whatever chain and name the next hop presents, to be
/// recorded. Safe because the session judges them with `policy::outbound::judge` before any
/// SMTP command but QUIT goes over the encrypted connection (module documentation).
#[derive(Debug)]
pub(super) struct RecordingServerVerifier {
    pub(super) algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for RecordingServerVerifier {
    /// Accepts any chain and name: both are judged by `policy::outbound::judge` before the
    /// first command after the handshake, not here.
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    handshake_signatures_checked!();
}
