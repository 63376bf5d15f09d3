//! The rules of send connectors (Set-SendConnector): names, address spaces with their cost,
//! smart hosts, and the TLS settings that exclude each other (RequireTLS, IgnoreSTARTTLS,
//! TlsAuthLevel, TlsDomain, Domain Security).

use super::{Checker, check_name};
use crate::config::domain;
use crate::config::model::*;
use crate::config::net::SmartHost;
use crate::config::units::TimeSpan;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct CheckedSendConnector {
    pub index: usize,
    pub name: String,
    /// Normalised patterns (`*`, `contoso.com`, `*.contoso.com`) with their cost.
    pub address_spaces: Vec<(String, u8)>,
    pub smart_hosts: Vec<SmartHost>,
    pub fqdn: String,
    pub tls_domain: Option<String>,
}

/// Checks every send connector; `fqdn` is the organization's, for connectors without one.
pub(super) fn check(c: &mut Checker, settings: &Settings, fqdn: &str) -> Vec<CheckedSendConnector> {
    let second = TimeSpan::secs(1);
    let mut names = HashMap::new();
    let mut checked = Vec::new();
    for (i, sc) in settings.send_connectors.iter().enumerate() {
        let base = format!("send_connectors[{i}]");
        let place = |field: &str| format!("send connector '{}', {field}", sc.name);
        check_name(
            c,
            &sc.name,
            format!("{base}.name"),
            &place("name"),
            &mut names,
        );
        let mut spaces = Vec::new();
        if sc.address_spaces.is_empty() {
            c.add(
                format!("{base}.address_spaces"),
                place("address spaces"),
                "at least one address space is needed ('*' for all domains)",
            );
        }
        for (j, s) in sc.address_spaces.iter().enumerate() {
            let p = format!("{base}.address_spaces[{j}]");
            let pattern = if s.address.trim() == "*" {
                Ok("*".to_string())
            } else if s.address.contains('*') && !s.address.trim().starts_with("*.") {
                Err(format!(
                    "'{}': a wildcard must stand alone as a whole label ('*.contoso.com', not '*contoso.com')",
                    s.address
                ))
            } else {
                domain::normalize_pattern(&s.address).map_err(|e| e.to_string())
            };
            match pattern {
                Ok(pat) => {
                    if spaces.iter().any(|(p, _): &(String, u8)| *p == pat) {
                        c.add(
                            p.clone(),
                            place("address spaces"),
                            format!("'{pat}' is listed twice"),
                        );
                    }
                    spaces.push((pat, s.cost));
                }
                Err(e) => c.add(p.clone(), place("address spaces"), e),
            }
            if !(1..=100).contains(&s.cost) {
                c.add(
                    format!("{p}.cost"),
                    place("address spaces"),
                    format!("cost {} must be between 1 and 100", s.cost),
                );
            }
        }
        if sc.port == 0 {
            c.add(
                format!("{base}.port"),
                place("port"),
                "the port must be between 1 and 65535",
            );
        }
        let mut hosts = Vec::new();
        for (j, h) in sc.smart_hosts.iter().enumerate() {
            match SmartHost::parse(h, sc.port.max(1)) {
                Ok(sh) => {
                    if hosts.contains(&sh) {
                        c.add(
                            format!("{base}.smart_hosts[{j}]"),
                            place("smart hosts"),
                            format!("{sh} is listed twice"),
                        );
                    }
                    hosts.push(sh);
                }
                Err(e) => c.add(format!("{base}.smart_hosts[{j}]"), place("smart hosts"), e),
            }
        }
        let conn_fqdn = c.connector_fqdn(
            sc.fqdn.as_deref(),
            fqdn,
            format!("{base}.fqdn"),
            place("FQDN"),
        );
        if sc.tls_auth_level.is_some() && !sc.require_tls {
            c.add(
                format!("{base}.tls_auth_level"),
                place("TLS authentication level"),
                "a TLS authentication level can only be set together with RequireTLS",
            );
        }
        if sc.require_tls && sc.ignore_starttls {
            c.add(
                format!("{base}.require_tls"),
                place("require TLS"),
                "RequireTLS cannot be combined with IgnoreSTARTTLS",
            );
        }
        if sc.domain_secure_enabled && sc.ignore_starttls {
            c.add(
                format!("{base}.domain_secure_enabled"),
                place("Domain Security"),
                "Domain Security cannot be combined with IgnoreSTARTTLS",
            );
        }
        let mut tls_domain = None;
        if let Some(td) = &sc.tls_domain {
            if sc.tls_auth_level != Some(TlsAuthLevel::DomainValidation) {
                c.add(
                    format!("{base}.tls_domain"),
                    place("TLS domain"),
                    "a TLS domain is only used with the DomainValidation authentication level",
                );
            }
            match domain::normalize_pattern(td) {
                Ok(n) => tls_domain = Some(n),
                Err(e) => c.add(
                    format!("{base}.tls_domain"),
                    place("TLS domain"),
                    e.to_string(),
                ),
            }
        } else if sc.tls_auth_level == Some(TlsAuthLevel::DomainValidation)
            && !sc.smart_hosts.is_empty()
        {
            c.add(
                format!("{base}.tls_domain"),
                place("TLS domain"),
                "DomainValidation through smart hosts needs a TLS domain: the name the smart host's certificate must carry",
            );
        }
        c.message_size(
            sc.max_message_size,
            format!("{base}.max_message_size"),
            place("maximum message size"),
        );
        c.span_between(
            sc.connection_inactivity_timeout,
            second,
            TimeSpan::secs(86_400),
            format!("{base}.connection_inactivity_timeout"),
            place("inactivity timeout"),
        );
        if sc.smtp_max_messages_per_connection == 0 {
            c.add(
                format!("{base}.smtp_max_messages_per_connection"),
                place("messages per connection"),
                "must be at least 1",
            );
        }
        c.certificate(
            &sc.certificate,
            format!("{base}.certificate"),
            place("certificate"),
        );
        checked.push(CheckedSendConnector {
            index: i,
            name: sc.name.clone(),
            address_spaces: spaces,
            smart_hosts: hosts,
            fqdn: conn_fqdn,
            tls_domain,
        });
    }

    checked
}
