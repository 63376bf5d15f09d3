//! Our MTA-STS policy served over HTTPS (RFC 8461 §3.3): `GET /.well-known/mta-sts.txt` on the
//! listener the settings name, with the SMTP certificate that names `mta-sts.<our domain>`.
//! axum answers the request on hyper's HTTP/1.1; the accept loop is ours, with tokio-rustls as
//! for SMTP. Every other path is 404; nothing else is served.

use super::tls::{TlsIdentity, server_config};
use crate::policy::mta_sts::{policy_id, published};
use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// What the policy listener serves, built from the settings and the certificate store.
#[derive(Clone)]
pub struct PolicyServer {
    pub listen: SocketAddr,
    /// `mta-sts.<our domain>`.
    pub host: String,
    /// The policy file.
    pub text: String,
    /// Its id, for the TXT record.
    pub id: String,
    pub tls: Arc<rustls::ServerConfig>,
    /// The certificate presented.
    pub thumbprint: String,
}

impl PolicyServer {
    /// The server for policy `settings` of `domain`, presenting `identity`.
    pub fn new(
        settings: &crate::config::MtaStsPublishing,
        domain: &str,
        identity: &TlsIdentity,
    ) -> Result<PolicyServer, String> {
        let listen = settings
            .listen
            .parse()
            .map_err(|_| format!("'{}' is not an address to listen on", settings.listen))?;
        let text = published(settings).to_text();
        Ok(PolicyServer {
            listen,
            host: format!("mta-sts.{domain}"),
            id: policy_id(&text),
            text,
            tls: server_config(identity, false, &[])?,
            thumbprint: identity.thumbprint.clone(),
        })
    }

    /// Whether `other` serves the same thing at the same place (no restart needed).
    pub fn same_as(&self, other: &PolicyServer) -> bool {
        self.listen == other.listen
            && self.text == other.text
            && self.thumbprint == other.thumbprint
    }
}

/// Serves the policy on `listener` until the task is aborted.
pub async fn serve(listener: tokio::net::TcpListener, server: PolicyServer) {
    let text: Arc<str> = Arc::from(server.text.as_str());
    let app = Router::new().route(
        "/.well-known/mta-sts.txt",
        get(move || {
            let text = text.clone();
            async move {
                (
                    [(CONTENT_TYPE, "text/plain; charset=utf-8")],
                    text.to_string(),
                )
            }
        }),
    );
    let acceptor = tokio_rustls::TlsAcceptor::from(server.tls.clone());
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let Ok(Ok(tls)) =
                tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
            else {
                return;
            };
            let service = hyper_util::service::TowerToHyperService::new(app);
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service);
            let _ = tokio::time::timeout(Duration::from_secs(60), connection).await;
        });
    }
}
