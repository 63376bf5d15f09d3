//! The rustls certificate verifier of a DANE next hop (RFC 7672): the server's chain must match
//! one of the MX host's usable TLSA records, checked here, during the handshake, by
//! `policy::dane::authenticate` — never afterwards on a recorded chain, which anyone can replay
//! without the key. The handshake signatures are verified as in every verifier of
//! `engine::tls`, so a server that presents the right chain signs with the right key or fails.
//! What matched (or why nothing did) is kept for the hop's evidence and the deferral reason.

use crate::policy::dane::{self, DaneExpectation, DaneMatch};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

/// What the verifier of one connection found: nothing yet, the record matched, or why none.
type Outcome = Arc<Mutex<Option<Result<DaneMatch, String>>>>;

/// A client configuration whose verifier applies DANE, and what it found.
pub struct DaneCheck {
    pub config: Arc<rustls::ClientConfig>,
    pub(super) outcome: Outcome,
}

impl DaneCheck {
    /// The verifier's finding once the server's certificate arrived (`None` before).
    pub fn outcome(&self) -> Option<Result<DaneMatch, String>> {
        self.outcome.lock().ok().and_then(|o| o.clone())
    }
}

#[derive(Debug)]
pub(super) struct DaneServerVerifier {
    pub(super) expectation: DaneExpectation,
    pub(super) algorithms: WebPkiSupportedAlgorithms,
    pub(super) outcome: Outcome,
}

/// A TLSA mismatch, as the handshake error carries it.
#[derive(Debug)]
struct NoTlsaMatch(String);

impl std::fmt::Display for NoTlsaMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NoTlsaMatch {}

impl ServerCertVerifier for DaneServerVerifier {
    /// The TLSA match; the server name does not count here (DANE-TA checks its own reference
    /// names, DANE-EE none).
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let now = i64::try_from(now.as_secs())
            .ok()
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
            .unwrap_or_else(OffsetDateTime::now_utc);
        let intermediates: Vec<Vec<u8>> = intermediates.iter().map(|c| c.to_vec()).collect();
        let found = dane::authenticate(&self.expectation, end_entity, &intermediates, now);
        if let Ok(mut slot) = self.outcome.lock() {
            *slot = Some(found.clone());
        }
        match found {
            Ok(_) => Ok(ServerCertVerified::assertion()),
            Err(why) => Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(NoTlsaMatch(why))),
            ))),
        }
    }
    handshake_signatures_checked!();
}
