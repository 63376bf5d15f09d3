//! TLS for the relay with rustls (aws-lc-rs): server and client configurations built from our
//! certificates, and verifiers that *record* the peer's certificate instead of judging it
//! during the handshake. Judging happens afterwards, in `policy::trust`, where the policy of
//! the session is known: a presented but invalid client certificate must not kill a session
//! of a sender that is not domain secured, and an outbound session checks the certificate
//! before any SMTP command is sent. The verifiers still check the handshake signatures, so a
//! peer always proves possession of the key of the certificate it presents. Those verifiers
//! live in the [`danger`] module, with why each is safe. DANE is the exception: its TLSA match
//! is made *inside* the handshake by the verifier in [`dane`], so a next hop whose certificate
//! the TLSA records do not name never completes it.

/// The three signature methods every verifier here shares: TLS 1.2 and 1.3 handshake
/// signatures are verified with the provider's algorithms (the same calls rustls's own WebPki
/// verifiers make), never assumed.
macro_rules! handshake_signatures_checked {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
        }
        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.algorithms.supported_schemes()
        }
    };
}

mod dane;
mod danger;

use crate::pki::inspect::CertificateInfo;
use crate::smtp::evidence::{PeerCertificate, TlsFacts, TrustLevel};
pub use dane::DaneCheck;
use danger::{RecordingClientVerifier, RecordingServerVerifier};
use rustls::DistinguishedName;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::Arc;

/// One of our certificates with its key, ready for rustls.
#[derive(Debug)]
pub struct TlsIdentity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    pub thumbprint: String,
    pub info: CertificateInfo,
}

impl Clone for TlsIdentity {
    fn clone(&self) -> Self {
        TlsIdentity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
            thumbprint: self.thumbprint.clone(),
            info: self.info.clone(),
        }
    }
}

impl TlsIdentity {
    pub fn new(
        leaf: &[u8],
        chain: &[Vec<u8>],
        pkcs8: Vec<u8>,
        info: CertificateInfo,
    ) -> TlsIdentity {
        let mut certs = vec![CertificateDer::from(leaf.to_vec())];
        certs.extend(chain.iter().map(|c| CertificateDer::from(c.clone())));
        TlsIdentity {
            chain: certs,
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8)),
            thumbprint: info.thumbprint.clone(),
            info,
        }
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A server configuration presenting `identity`; with `ask_client_cert` the client is asked
/// (not required) for a certificate, with our trusted roots as hints.
pub fn server_config(
    identity: &TlsIdentity,
    ask_client_cert: bool,
    root_subjects: &[Vec<u8>],
) -> Result<Arc<rustls::ServerConfig>, String> {
    let p = provider();
    let algorithms = p.signature_verification_algorithms;
    let builder = rustls::ServerConfig::builder_with_provider(p)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| e.to_string())?;
    let builder = if ask_client_cert {
        let hints = root_subjects
            .iter()
            // Each subject is a whole DER Name (with its SEQUENCE): sent as is, not wrapped again.
            .map(|s| DistinguishedName::from(s.clone()))
            .collect();
        builder.with_client_cert_verifier(Arc::new(RecordingClientVerifier { hints, algorithms }))
    } else {
        builder.with_no_client_auth()
    };
    let mut cfg = builder
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())
        .map_err(|e| {
            format!(
                "certificate {} cannot be used for TLS: {e}",
                identity.thumbprint
            )
        })?;
    cfg.ignore_client_order = true;
    Ok(Arc::new(cfg))
}

/// A client configuration presenting `identity` when the server asks for a certificate.
pub fn client_config(identity: Option<&TlsIdentity>) -> Result<Arc<rustls::ClientConfig>, String> {
    client_config_verified_by(identity, |algorithms| {
        Arc::new(RecordingServerVerifier { algorithms })
    })
}

/// A client configuration for a next hop with usable TLSA records: as [`client_config`], but
/// the handshake completes only when the server's chain matches one of `expectation`'s
/// records (and the server proves it holds the key).
pub fn dane_client_config(
    identity: Option<&TlsIdentity>,
    expectation: crate::policy::dane::DaneExpectation,
) -> Result<DaneCheck, String> {
    let outcome = Arc::new(std::sync::Mutex::new(None));
    let config = client_config_verified_by(identity, |algorithms| {
        Arc::new(dane::DaneServerVerifier {
            expectation,
            algorithms,
            outcome: outcome.clone(),
        })
    })?;
    Ok(DaneCheck { config, outcome })
}

/// A client configuration for a next hop whose certificate must be PKIX-valid for the name
/// it is connected by (MTA-STS enforce): chained to one of the system's trusted roots or of
/// `our_roots`, within its dates, naming the host — checked by rustls's WebPKI verifier during
/// the handshake.
pub fn pkix_client_config(
    identity: Option<&TlsIdentity>,
    verifier: Arc<rustls::client::WebPkiServerVerifier>,
) -> Result<Arc<rustls::ClientConfig>, String> {
    client_config_verified_by(identity, |_| verifier)
}

/// Whether `chain` (leaf first) is PKIX-valid for `host` now, as [`pkix_client_config`]'s
/// verifier would find it during a handshake: for the probe's verdict, which sends no mail.
pub fn pkix_check(
    chain: &[Vec<u8>],
    host: &str,
    verifier: &rustls::client::WebPkiServerVerifier,
) -> Result<(), String> {
    let Some((leaf, intermediates)) = chain.split_first() else {
        return Err("no certificate was presented".into());
    };
    let intermediates: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|_| format!("{host} is not a valid TLS server name"))?;
    use rustls::client::danger::ServerCertVerifier;
    verifier
        .verify_server_cert(
            &CertificateDer::from(leaf.as_slice()),
            &intermediates,
            &name,
            &[],
            rustls::pki_types::UnixTime::now(),
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// rustls's WebPKI verifier over the system's roots and `our_roots` (kept per settings by
/// [`super::config::RunConfig::pkix_verifier`]).
pub(crate) fn pkix_verifier(
    our_roots: &[Vec<u8>],
) -> Result<Arc<rustls::client::WebPkiServerVerifier>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(system_roots().iter().cloned());
    roots.add_parsable_certificates(our_roots.iter().map(|d| CertificateDer::from(d.clone())));
    rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| format!("no trusted root to check certificates with: {e}"))
}

/// The system's trusted roots (`/etc/ssl/certs` on Debian), read once.
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: std::sync::OnceLock<Vec<CertificateDer<'static>>> = std::sync::OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::warn!("a system root certificate cannot be read: {e}");
        }
        found.certs
    })
}

fn client_config_verified_by(
    identity: Option<&TlsIdentity>,
    verifier: impl FnOnce(
        rustls::crypto::WebPkiSupportedAlgorithms,
    ) -> Arc<dyn rustls::client::danger::ServerCertVerifier>,
) -> Result<Arc<rustls::ClientConfig>, String> {
    let p = provider();
    let algorithms = p.signature_verification_algorithms;
    let builder = rustls::ClientConfig::builder_with_provider(p)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier(algorithms));
    let cfg = match identity {
        Some(id) => builder
            .with_client_auth_cert(id.chain.clone(), id.key.clone_key())
            .map_err(|e| {
                format!(
                    "certificate {} cannot be used as a client certificate: {e}",
                    id.thumbprint
                )
            })?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(cfg))
}

/// Protocol, cipher and key exchange of an established connection, with the peer's
/// certificate (if any) and a trust level to be refined by the caller.
pub fn facts(
    conn: &rustls::CommonState,
    peer: Option<PeerCertificate>,
    trust: TrustLevel,
    detail: Option<String>,
) -> TlsFacts {
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
        Some(v) => format!("{v:?}"),
        None => "unknown".to_string(),
    };
    let (cipher, bits) = match conn.negotiated_cipher_suite() {
        Some(s) => {
            let name = format!("{:?}", s.suite());
            let iana = name.replacen("TLS13_", "TLS_", 1);
            let bits = if iana.contains("AES_128") { 128 } else { 256 };
            (iana, bits)
        }
        None => ("unknown".to_string(), 0),
    };
    let key_exchange = conn
        .negotiated_key_exchange_group()
        .map(|g| format!("{:?}", g.name()));
    TlsFacts {
        version,
        cipher,
        cipher_bits: bits,
        key_exchange,
        peer_certificate: peer,
        trust,
        trust_detail: detail,
    }
}

/// The peer's chain as DER, leaf first.
pub fn peer_chain(conn: &rustls::CommonState) -> Vec<Vec<u8>> {
    conn.peer_certificates()
        .map(|c| c.iter().map(|d| d.to_vec()).collect())
        .unwrap_or_default()
}
