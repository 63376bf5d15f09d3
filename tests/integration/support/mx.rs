//! The two sides of an MX-routed delivery on loopback: Contoso's relay routing by the MX
//! records a [`TestDns`] serves (validating DNSSEC from its anchor when it signs a zone), and
//! Woodgrove's relays as MX hosts on 127.0.0.2 and 127.0.0.3, on one port, the relay's MX port.

use crate::support::dns::TestDns;
use crate::support::partners::install;
use crate::support::relay_util::Relay;
use mailflow::config::units::TimeSpan;
use mailflow::config::{CertificateSelection, DnssecTrustAnchor, PermissionGroup, Settings};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};

/// The address of the first MX host of the tests.
pub const FIRST: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
/// The address of the second.
pub const SECOND: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);

/// A port free on both MX addresses of these tests.
pub fn mx_port() -> u16 {
    loop {
        let port = TcpListener::bind((SECOND, 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port on 127.0.0.3");
        if TcpListener::bind((FIRST, port)).is_ok() {
            return port;
        }
    }
}

/// Contoso's relay: anyone may relay through it (the tests submit as the Internet would),
/// routing by the MX records `dns` serves, to MX hosts on `port`, validating DNSSEC from the
/// test server's anchor when it signs a zone (without one there is nothing to validate from:
/// validation is off).
pub fn contoso(dns: &TestDns, port: u16) -> Relay {
    let server = dns.addr().to_string();
    let relay = Relay::start(
        "mail.contoso.test",
        "contoso.test",
        move |s: &mut Settings| {
            s.receive_connectors[0]
                .permission_groups
                .push(PermissionGroup::AnonymousRelay);
            s.send_connectors[0].smart_hosts.clear();
            s.transport.dns_servers = vec![server];
            s.transport.mx_port = port;
            s.transport.dnssec_trust_anchor = DnssecTrustAnchor::Off;
            s.transport.transient_failure_retry_interval = TimeSpan::secs(1);
            s.transport.outbound_connection_failure_retry_interval = TimeSpan::secs(1);
        },
    );
    if !dns.trust_anchor().is_empty() {
        let file = relay.org.file("dnssec-anchor.key");
        std::fs::write(&file, dns.trust_anchor()).expect("anchor file");
        let out = relay.org.ok(&[
            "transport",
            "set",
            "--dnssec-trust-anchor",
            file.to_str().expect("path"),
        ]);
        assert!(out.contains("saved"), "{out}");
        relay.reload();
    }
    relay
}

/// Woodgrove's relay as an MX host: listening on `ip:port`, accepting woodgrove.test.
pub fn woodgrove_mx(ip: Ipv4Addr, port: u16) -> Relay {
    let binding = SocketAddr::from((ip, port)).to_string();
    Relay::start(
        "mx2.woodgrove.test",
        "woodgrove.test",
        move |s: &mut Settings| {
            s.receive_connectors[0].bindings = vec![binding];
        },
    )
}

/// Woodgrove's MX host on `ip:port` presenting `bundle` (certificate, chain, key) on its
/// receive connector.
pub fn woodgrove_presenting(ip: Ipv4Addr, port: u16, bundle: &str) -> Relay {
    let mx = woodgrove_mx(ip, port);
    let thumbprint = install(&mx, bundle);
    mx.change(|s| {
        s.receive_connectors[0].certificate = CertificateSelection::Thumbprint(thumbprint)
    });
    mx
}
