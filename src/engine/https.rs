//! The relay's HTTPS client, for what RFC 8461 and RFC 8460 fetch and post: reqwest with rustls,
//! a PKIX-valid certificate from the system's roots or ours, no redirects, no proxy, time
//! limits, and host names resolved by the relay's own resolver (not the system's). One home for
//! it: MTA-STS policy fetches and TLS reports to `https:` addresses use the same client rules.

use super::dns::Dns;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A client for `purpose` (in the User-Agent). Hosts resolve with `dns`; `port` is used where
/// the URL names none (an explicit port in the URL wins).
pub fn client(
    dns: Arc<Dns>,
    port: u16,
    roots: &[Vec<u8>],
    timeout: Duration,
    purpose: &str,
) -> Result<reqwest::Client, String> {
    let ours = roots
        .iter()
        .filter_map(|der| reqwest::Certificate::from_der(der).ok());
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .https_only(true)
        .no_proxy()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(timeout)
        .user_agent(format!(
            "Mailflow/{} ({purpose})",
            env!("CARGO_PKG_VERSION")
        ))
        .dns_resolver(RelayResolver { dns, port })
        .tls_certs_merge(ours)
        .build()
        .map_err(|e| format!("the HTTPS client cannot be set up: {}", causes(&e)))
}

/// An error with its causes, which reqwest keeps apart (`error sending request: … : invalid
/// peer certificate: UnknownIssuer`).
pub fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

/// Resolves hosts with the relay's resolver, on `port` unless the URL names one.
struct RelayResolver {
    dns: Arc<Dns>,
    port: u16,
}

impl reqwest::dns::Resolve for RelayResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let dns = self.dns.clone();
        let port = self.port;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addresses = dns.host_addresses(&host).await?;
            let addrs: reqwest::dns::Addrs = Box::new(
                addresses
                    .into_iter()
                    .map(move |ip| SocketAddr::new(ip, port))
                    .collect::<Vec<_>>()
                    .into_iter(),
            );
            Ok(addrs)
        })
    }
}
