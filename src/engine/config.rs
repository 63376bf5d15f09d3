//! What the engine runs: the checked settings plus everything loaded for them — each receive
//! connector's TLS configuration (its certificate, or the SMTP certificate naming its FQDN),
//! each send connector's client certificate, the trusted roots — and the problems an
//! administrator must see (a connector without a certificate offers no STARTTLS). Built off the
//! hot path; sessions take an `Arc` of it when they start for their session facts (banner,
//! TLS configuration) and take the current one again at each MAIL FROM, and deliveries before
//! each message, so trust changes reach them without disturbing anything else.

use super::error::EngineError;
use super::tls::{TlsIdentity, client_config, server_config};
use crate::admin::Workspace;
use crate::config::net::IpRange;
use crate::config::{
    AuthMechanism, CertificateSelection, CheckedSettings, ReceiveConnector, SendConnector, validate,
};
use crate::policy::revocation::{CrlShelf, Revocation};
use crate::store::DataDir;
use crate::store::certstore::{CertStore, StoredCert};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use time::OffsetDateTime;

pub struct ReceiveRuntime {
    pub index: usize,
    pub settings: ReceiveConnector,
    pub name: String,
    pub fqdn: String,
    pub banner: String,
    pub bindings: Vec<SocketAddr>,
    pub remote_ranges: Vec<IpRange>,
    /// Present when STARTTLS is offered.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub certificate: Option<String>,
}

pub struct SendRuntime {
    pub index: usize,
    pub settings: SendConnector,
    pub name: String,
    pub fqdn: String,
    pub client_tls: Arc<rustls::ClientConfig>,
    /// The certificate and key `client_tls` presents, for the connections that need a
    /// configuration of their own (a DANE next hop).
    pub client_identity: Option<Arc<TlsIdentity>>,
    /// Our certificate presented as client certificate: only when `client_tls` really presents
    /// it (a certificate rustls refuses, such as one whose key file does not match it, is not
    /// counted as present).
    pub certificate: Option<String>,
    /// Why no client certificate is presented, when there is none: for the deferral of a
    /// Domain Security delivery and for the console.
    pub certificate_problem: Option<String>,
}

/// Everything a session needs, immutable once built.
pub struct RunConfig {
    pub data_dir: DataDir,
    pub checked: CheckedSettings,
    pub receive: Vec<ReceiveRuntime>,
    pub send: Vec<SendRuntime>,
    pub roots: Vec<Vec<u8>>,
    /// Revocation lists (added and downloaded), the deny-list and the unknown-status mode.
    pub revocation: Revocation,
    /// Things the administrator must know (shown in the console, logged by `serve`).
    pub problems: Vec<String>,
    /// Our MTA-STS policy and its listener, when we publish one.
    pub policy_server: Option<super::policy_server::PolicyServer>,
    /// The PKIX verifier over the system's roots and ours (MTA-STS, REQUIRETLS), built on first
    /// use and kept for as long as these settings are: not once per connection.
    pkix: std::sync::OnceLock<Result<Arc<rustls::client::WebPkiServerVerifier>, String>>,
}

impl RunConfig {
    pub fn fqdn(&self) -> &str {
        &self.checked.fqdn
    }

    /// The PKIX verifier over the system's roots and ours, built once for these settings.
    pub fn pkix_verifier(&self) -> Result<Arc<rustls::client::WebPkiServerVerifier>, String> {
        self.pkix
            .get_or_init(|| super::tls::pkix_verifier(&self.roots))
            .clone()
    }

    /// What a peer certificate is judged against, now: our trusted roots, Direct Trust pins,
    /// partner pins and partner anchors.
    pub fn trust_context(&self) -> crate::policy::trust::TrustContext<'_> {
        crate::policy::trust::TrustContext {
            roots: &self.roots,
            direct_trust: &self.checked.settings.direct_trust,
            partner_pins: &self.checked.settings.partner_pins,
            partner_anchors: &self.checked.settings.partner_anchors,
            now: time::OffsetDateTime::now_utc(),
            revocation: &self.revocation,
        }
    }

    /// The names that are ours as an authserv-id (RFC 8601 §5): the organization FQDN, every
    /// receive connector's FQDN and the accepted domains.
    pub fn own_names(&self) -> Vec<String> {
        let mut names = vec![self.checked.fqdn.clone()];
        names.extend(self.receive.iter().map(|r| r.fqdn.clone()));
        names.extend(self.checked.accepted_domains.iter().cloned());
        names.sort();
        names.dedup();
        names
    }

    /// The receive connector serving `peer` on the listener for `binding` (as configured): a
    /// connector with that binding (or the unspecified address on the same port), with the
    /// most specific remote IP range containing the peer.
    pub fn receive_connector_for(
        &self,
        binding: SocketAddr,
        peer: IpAddr,
    ) -> Option<&ReceiveRuntime> {
        let peer = crate::config::net::canonical(peer);
        let serves = |b: &SocketAddr| {
            *b == binding
                || (b.port() == binding.port()
                    && b.port() != 0
                    && (b.ip().is_unspecified() || binding.ip().is_unspecified()))
        };
        self.receive
            .iter()
            .filter(|c| c.settings.enabled)
            .filter(|c| c.bindings.iter().any(serves))
            .filter_map(|c| {
                c.remote_ranges
                    .iter()
                    .filter(|r| r.contains(peer))
                    .map(|r| r.span())
                    .min()
                    .map(|span| (span, c))
            })
            .min_by_key(|(span, _)| *span)
            .map(|(_, c)| c)
    }

    /// All addresses to listen on (enabled connectors).
    pub fn listen_addresses(&self) -> Vec<SocketAddr> {
        let mut out: Vec<SocketAddr> = Vec::new();
        for c in self.receive.iter().filter(|c| c.settings.enabled) {
            for b in &c.bindings {
                if !out.contains(b) {
                    out.push(*b);
                }
            }
        }
        out
    }
}

fn identity_of(store: &CertStore, cert: &StoredCert) -> Result<TlsIdentity, EngineError> {
    let key = store.load_key(&cert.info.thumbprint)?;
    Ok(TlsIdentity::new(
        &cert.der,
        &cert.chain,
        key.serialize_der(),
        cert.info.clone(),
    ))
}

/// Picks the certificate for a connector: the named one, or the best SMTP certificate.
fn select<'a>(
    store: &'a CertStore,
    sel: &CertificateSelection,
    fqdn: &str,
    now: OffsetDateTime,
) -> Result<&'a StoredCert, EngineError> {
    match sel {
        CertificateSelection::Thumbprint(tp) => {
            let c = store.find(tp).map_err(EngineError::Certificate)?;
            if !c.entry.has_private_key {
                return Err(EngineError::Certificate(format!(
                    "certificate {} has no private key",
                    c.info.thumbprint
                )));
            }
            Ok(c)
        }
        CertificateSelection::Automatic => store.smtp_certificate_for(fqdn, now).ok_or_else(|| {
            EngineError::Certificate(
                "no certificate is enabled for SMTP (with a private key, currently valid)".into(),
            )
        }),
    }
}

impl RunConfig {
    /// Builds the run configuration from a workspace, with the downloaded revocation lists as
    /// the cache folder holds them. Fails only when the settings break rules; a connector
    /// that cannot get its certificate or TLS configuration is a problem collected in
    /// [`RunConfig::problems`], and the rest runs.
    pub fn build(workspace: &Workspace, now: OffsetDateTime) -> Result<RunConfig, EngineError> {
        Self::build_with(workspace, now, workspace.revocation().downloaded)
    }

    /// Builds the run configuration sharing `downloaded`, the running relay's shelf of
    /// downloaded revocation lists.
    pub fn build_with(
        workspace: &Workspace,
        now: OffsetDateTime,
        downloaded: Arc<CrlShelf>,
    ) -> Result<RunConfig, EngineError> {
        let checked = validate(&workspace.settings).map_err(EngineError::InvalidSettings)?;
        let roots = workspace.store.root_ders();
        let root_subjects: Vec<Vec<u8>> = roots
            .iter()
            .filter_map(|r| {
                x509_parser::parse_x509_certificate(r)
                    .ok()
                    .map(|(_, c)| c.tbs_certificate.subject.as_raw().to_vec())
            })
            .collect();
        let mut problems = Vec::new();
        let mut receive = Vec::new();
        for receive_connector in &checked.receive_connectors {
            let s = workspace.settings.receive_connectors[receive_connector.index].clone();
            let mut tls = None;
            let mut certificate = None;
            if s.auth_mechanisms.contains(&AuthMechanism::Tls) {
                match select(
                    &workspace.store,
                    &s.certificate,
                    &receive_connector.fqdn,
                    now,
                )
                .and_then(|c| identity_of(&workspace.store, c))
                {
                    Ok(id) => match server_config(&id, s.domain_secure_enabled, &root_subjects) {
                        Ok(cfg) => {
                            certificate = Some(id.thumbprint.clone());
                            tls = Some(cfg);
                        }
                        Err(e) => problems.push(format!(
                            "receive connector '{}': {e}; STARTTLS is not offered",
                            s.name
                        )),
                    },
                    Err(e) => problems.push(format!(
                        "receive connector '{}': {e}; STARTTLS is not offered",
                        s.name
                    )),
                }
            }
            receive.push(ReceiveRuntime {
                index: receive_connector.index,
                name: s.name.clone(),
                fqdn: receive_connector.fqdn.clone(),
                banner: receive_connector.banner.clone(),
                bindings: receive_connector.bindings.clone(),
                remote_ranges: receive_connector.remote_ip_ranges.clone(),
                tls,
                certificate,
                settings: s,
            });
        }
        let mut send = Vec::new();
        for send_connector in &checked.send_connectors {
            let s = workspace.settings.send_connectors[send_connector.index].clone();
            // Issue 9 §7: a certificate rustls refuses (a key file that does not match it, a
            // key type it cannot sign with) is no client certificate at all — the connector
            // presents none and says why, so that Domain Security defers with that reason
            // instead of meeting the partner's 530 (a bounce).
            let (client_tls, client_identity, certificate, certificate_problem) = match select(
                &workspace.store,
                &s.certificate,
                &send_connector.fqdn,
                now,
            )
            .and_then(|c| identity_of(&workspace.store, c))
            {
                Ok(id) => match client_config(Some(&id)) {
                    Ok(cfg) => {
                        let thumbprint = id.thumbprint.clone();
                        (cfg, Some(Arc::new(id)), Some(thumbprint), None)
                    }
                    Err(e) => {
                        problems.push(format!(
                                "send connector '{}': {e}; it presents no client certificate, and Domain Security deliveries wait in the queue until it has a usable one",
                                s.name
                            ));
                        (
                            client_config(None).map_err(EngineError::Tls)?,
                            None,
                            None,
                            Some(e),
                        )
                    }
                },
                Err(e) => {
                    if s.domain_secure_enabled {
                        problems.push(format!("send connector '{}': {e}; Domain Security cannot present a client certificate", s.name));
                    }
                    (
                        client_config(None).map_err(EngineError::Tls)?,
                        None,
                        None,
                        Some(e.to_string()),
                    )
                }
            };
            send.push(SendRuntime {
                index: send_connector.index,
                name: s.name.clone(),
                fqdn: send_connector.fqdn.clone(),
                client_tls,
                client_identity,
                certificate,
                certificate_problem,
                settings: s,
            });
        }
        let policy_server = policy_server(workspace, &checked, now, &mut problems);
        let revocation = workspace.revocation_with(downloaded);
        for c in workspace.store.crls() {
            if c.crl.info.is_out_of_date(now) {
                problems.push(format!(
                    "the revocation list of {} is {}",
                    c.crl.info.issuer,
                    c.crl.info.next_update_words(now)
                ));
            }
        }
        Ok(RunConfig {
            data_dir: workspace.dir.clone(),
            checked,
            receive,
            send,
            roots,
            revocation,
            problems,
            policy_server,
            pkix: std::sync::OnceLock::new(),
        })
    }
}

/// Our MTA-STS policy server, when the settings publish a policy: for our first accepted
/// domain, presenting the SMTP certificate that names `mta-sts.<domain>` (or, with a problem
/// saying senders will refuse it, the best one there is).
fn policy_server(
    workspace: &Workspace,
    checked: &CheckedSettings,
    now: OffsetDateTime,
    problems: &mut Vec<String>,
) -> Option<super::policy_server::PolicyServer> {
    let publishing = checked.settings.transport.mta_sts_policy.as_ref()?;
    let Some(domain) = checked.settings.our_domain().map(str::to_string) else {
        problems.push("MTA-STS: there is no accepted domain to publish a policy for".into());
        return None;
    };
    let host = format!("mta-sts.{domain}");
    let Some(cert) = workspace.store.smtp_certificate_for(&host, now) else {
        problems.push(format!(
            "MTA-STS: no certificate is enabled for SMTP to serve the policy at {host}; request one naming {host}"
        ));
        return None;
    };
    if !crate::pki::names::any_matches(&cert.info.names(), &host) {
        problems.push(format!(
            "MTA-STS: no SMTP certificate names {host}, so senders will refuse our policy; add {host} to a certificate"
        ));
    }
    let served = identity_of(&workspace.store, cert)
        .map_err(|e| e.to_string())
        .and_then(|id| super::policy_server::PolicyServer::new(publishing, &domain, &id));
    match served {
        Ok(server) => Some(server),
        Err(e) => {
            problems.push(format!("MTA-STS: the policy cannot be served: {e}"));
            None
        }
    }
}
