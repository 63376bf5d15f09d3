//! An HTTPS collector of TLS reports (RFC 8460 §5.4) on loopback: axum over our own
//! tokio-rustls accept loop, presenting the certificate a test gives it. `POST /v1` records
//! the request and answers 200; `POST /fail` answers 503, as a collector that is down. It also
//! serves, at `/.well-known/mta-sts.txt`, something that is not an MTA-STS policy.

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One report posted: its path, Content-Type and body.
#[derive(Clone, Debug)]
pub struct Posted {
    pub path: String,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// Starts the collector on `listener` (a thread with its own runtime); returns what it records.
pub fn start(listener: TcpListener, tls: Arc<rustls::ServerConfig>) -> Arc<Mutex<Vec<Posted>>> {
    let posted = Arc::new(Mutex::new(Vec::new()));
    let record = posted.clone();
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let keep = |path: &'static str, status: StatusCode| {
                let record = record.clone();
                post(move |headers: HeaderMap, body: Bytes| async move {
                    record.lock().unwrap().push(Posted {
                        path: path.to_string(),
                        content_type: headers
                            .get("content-type")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string(),
                        body: body.to_vec(),
                    });
                    status
                })
            };
            let app = Router::new()
                .route("/v1", keep("/v1", StatusCode::OK))
                .route("/fail", keep("/fail", StatusCode::SERVICE_UNAVAILABLE))
                .route(
                    "/.well-known/mta-sts.txt",
                    get(|| async { "version: STSv2\nmode: sometimes\n" }),
                );
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let acceptor = tokio_rustls::TlsAcceptor::from(tls);
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, app) = (acceptor.clone(), app.clone());
                tokio::spawn(async move {
                    let Ok(Ok(tls)) =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    let service = hyper_util::service::TowerToHyperService::new(app);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
    });
    posted
}
