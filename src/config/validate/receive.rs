//! The rules of receive connectors (Set-ReceiveConnector): names, bindings and remote IP ranges
//! (each combination unique, as Exchange requires), banner, authentication mechanisms and
//! permission groups (Domain Security needs Tls and Partners), limits and timeouts.

use super::{Checker, MAX_RECIPIENTS, check_name};
use crate::config::model::*;
use crate::config::net::{IpRange, parse_binding};
use crate::config::units::TimeSpan;
use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;

#[derive(Debug, Clone)]
pub struct CheckedReceiveConnector {
    /// Index into `settings.receive_connectors`.
    pub index: usize,
    pub name: String,
    pub bindings: Vec<SocketAddr>,
    pub remote_ip_ranges: Vec<IpRange>,
    pub fqdn: String,
    pub banner: String,
}

/// Checks every receive connector; `fqdn` is the organization's, for connectors without one.
pub(super) fn check(
    c: &mut Checker,
    settings: &Settings,
    fqdn: &str,
) -> Vec<CheckedReceiveConnector> {
    let second = TimeSpan::secs(1);
    let mut names = HashMap::new();
    let mut checked = Vec::new();
    let mut listening: Vec<(SocketAddr, usize, Vec<IpRange>)> = Vec::new();
    for (i, rc) in settings.receive_connectors.iter().enumerate() {
        let base = format!("receive_connectors[{i}]");
        let place = |field: &str| format!("receive connector '{}', {field}", rc.name);
        check_name(
            c,
            &rc.name,
            format!("{base}.name"),
            &place("name"),
            &mut names,
        );

        let mut bindings = Vec::new();
        if rc.bindings.is_empty() {
            c.add(
                format!("{base}.bindings"),
                place("bindings"),
                "at least one IP:port binding is needed",
            );
        }
        for (j, b) in rc.bindings.iter().enumerate() {
            match parse_binding(b) {
                Ok(addr) => {
                    if bindings.contains(&addr) {
                        c.add(
                            format!("{base}.bindings[{j}]"),
                            place("bindings"),
                            format!("{addr} is listed twice"),
                        );
                    } else {
                        bindings.push(addr);
                    }
                }
                Err(e) => c.add(format!("{base}.bindings[{j}]"), place("bindings"), e),
            }
        }
        let mut ranges = Vec::new();
        if rc.remote_ip_ranges.is_empty() {
            c.add(
                format!("{base}.remote_ip_ranges"),
                place("remote IP ranges"),
                "at least one remote IP range is needed (0.0.0.0/0 and ::/0 admit everyone)",
            );
        }
        for (j, r) in rc.remote_ip_ranges.iter().enumerate() {
            match IpRange::parse(r) {
                Ok(range) => ranges.push(range),
                Err(e) => c.add(
                    format!("{base}.remote_ip_ranges[{j}]"),
                    place("remote IP ranges"),
                    e,
                ),
            }
        }
        // Exchange: each (binding, remote IP ranges) combination must be unique.
        if rc.enabled {
            for addr in &bindings {
                for (other_addr, other, other_ranges) in &listening {
                    let same_socket = other_addr.port() == addr.port()
                        && (other_addr.ip() == addr.ip()
                            || other_addr.ip().is_unspecified()
                            || addr.ip().is_unspecified());
                    if same_socket && *other_ranges == ranges {
                        c.add(
                            format!("{base}.bindings"),
                            place("bindings"),
                            format!(
                                "{addr} overlaps the binding {other_addr} of connector '{}' with the same remote IP ranges; give one of them narrower remote IP ranges or another binding",
                                settings.receive_connectors[*other].name
                            ),
                        );
                    }
                }
            }
            for addr in &bindings {
                listening.push((*addr, i, ranges.clone()));
            }
        }

        let conn_fqdn = c.connector_fqdn(
            rc.fqdn.as_deref(),
            fqdn,
            format!("{base}.fqdn"),
            place("FQDN"),
        );
        let banner = match &rc.banner {
            Some(b) => {
                if !(b == "220" || b.starts_with("220 ")) {
                    c.add(
                        format!("{base}.banner"),
                        place("banner"),
                        "the banner must start with '220 '",
                    );
                } else if b.chars().any(|ch| ch.is_control()) {
                    c.add(
                        format!("{base}.banner"),
                        place("banner"),
                        "the banner must be one line without control characters",
                    );
                } else if b.len() > 500 {
                    c.add(
                        format!("{base}.banner"),
                        place("banner"),
                        "the banner is longer than 500 characters",
                    );
                }
                b.clone()
            }
            None => format!("220 {conn_fqdn} Mailflow ESMTP service ready"),
        };

        let mechs = &rc.auth_mechanisms;
        let has = |m: AuthMechanism| mechs.contains(&m);
        if has(AuthMechanism::None) && mechs.len() > 1 {
            c.add(
                format!("{base}.auth_mechanisms"),
                place("authentication"),
                "None cannot be combined with other mechanisms",
            );
        }
        if has(AuthMechanism::BasicAuthRequireTls)
            && !(has(AuthMechanism::BasicAuth) && has(AuthMechanism::Tls))
        {
            c.add(
                format!("{base}.auth_mechanisms"),
                place("authentication"),
                "BasicAuthRequireTls needs BasicAuth and Tls as well",
            );
        }
        if rc.domain_secure_enabled && !has(AuthMechanism::Tls) {
            c.add(
                format!("{base}.domain_secure_enabled"),
                place("Domain Security"),
                "Domain Security needs the Tls authentication mechanism (STARTTLS); add Tls to the auth mechanisms",
            );
        }
        if rc.domain_secure_enabled && !rc.permission_groups.contains(&PermissionGroup::Partners) {
            c.add(
                format!("{base}.domain_secure_enabled"),
                place("Domain Security"),
                "Domain Security needs the Partners permission group: partners authenticated by mutual TLS get their rights from it",
            );
        }
        if rc.require_tls && !has(AuthMechanism::Tls) {
            c.add(
                format!("{base}.require_tls"),
                place("require TLS"),
                "RequireTLS needs the Tls authentication mechanism",
            );
        }
        if rc
            .permission_groups
            .contains(&PermissionGroup::AuthenticatedUsers)
            && !(has(AuthMechanism::BasicAuth) || has(AuthMechanism::BasicAuthRequireTls))
        {
            c.add(
                format!("{base}.permission_groups"),
                place("permission groups"),
                "AuthenticatedUsers needs BasicAuth or BasicAuthRequireTls so clients can authenticate",
            );
        }
        let mut seen_groups = BTreeSet::new();
        for g in &rc.permission_groups {
            if !seen_groups.insert(*g) {
                c.add(
                    format!("{base}.permission_groups"),
                    place("permission groups"),
                    format!("{g:?} is listed twice"),
                );
            }
        }

        c.message_size(
            rc.max_message_size,
            format!("{base}.max_message_size"),
            place("maximum message size"),
        );
        if rc.max_recipients_per_message == 0 || rc.max_recipients_per_message > MAX_RECIPIENTS {
            c.add(
                format!("{base}.max_recipients_per_message"),
                place("maximum recipients"),
                format!("must be between 1 and {MAX_RECIPIENTS}"),
            );
        }
        if rc.max_inbound_connections == 0 {
            c.add(
                format!("{base}.max_inbound_connections"),
                place("maximum connections"),
                "must be at least 1",
            );
        }
        if rc.max_inbound_connections_per_source == 0
            || rc.max_inbound_connections_per_source > rc.max_inbound_connections
        {
            c.add(
                format!("{base}.max_inbound_connections_per_source"),
                place("maximum connections per source"),
                "must be at least 1 and not more than the maximum connections",
            );
        }
        c.span_between(
            rc.connection_inactivity_timeout,
            second,
            TimeSpan::secs(86_400),
            format!("{base}.connection_inactivity_timeout"),
            place("inactivity timeout"),
        );
        c.span_between(
            rc.connection_timeout,
            second,
            TimeSpan::secs(86_400),
            format!("{base}.connection_timeout"),
            place("connection timeout"),
        );
        if rc.connection_timeout < rc.connection_inactivity_timeout {
            c.add(
                format!("{base}.connection_timeout"),
                place("connection timeout"),
                "must not be shorter than the inactivity timeout",
            );
        }
        c.span_between(
            rc.tarpit_interval,
            TimeSpan::secs(0),
            TimeSpan::secs(600),
            format!("{base}.tarpit_interval"),
            place("tarpit interval"),
        );
        c.certificate(
            &rc.certificate,
            format!("{base}.certificate"),
            place("certificate"),
        );
        checked.push(CheckedReceiveConnector {
            index: i,
            name: rc.name.clone(),
            bindings,
            remote_ip_ranges: ranges,
            fqdn: conn_fqdn,
            banner,
        });
    }

    checked
}
