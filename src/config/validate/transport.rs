//! The rules of the organization and transport settings (Set-TransportConfig): the organization
//! FQDN, accepted domains and their mailboxes, the domain secure lists, and the retry,
//! notification, expiration and tracking intervals.

use super::Checker;
use crate::config::domain;
use crate::config::model::*;
use crate::config::units::TimeSpan;
use std::collections::BTreeSet;

/// The organization's name and FQDN; returns the normalised FQDN (empty when it is invalid).
pub(super) fn organization(c: &mut Checker, settings: &Settings) -> String {
    if settings.organization.name.trim().is_empty() {
        c.add(
            "organization.name",
            "organization name",
            "the organization needs a name",
        );
    }
    match domain::normalize(&settings.organization.fqdn) {
        Ok(f) => f,
        Err(e) => {
            c.add("organization.fqdn", "organization FQDN", e.to_string());
            String::new()
        }
    }
}

/// The accepted domains; returns them normalised.
pub(super) fn accepted_domains(c: &mut Checker, settings: &Settings) -> BTreeSet<String> {
    let mut accepted = BTreeSet::new();
    for (i, d) in settings.accepted_domains.iter().enumerate() {
        let path = format!("accepted_domains[{i}]");
        match domain::normalize(&d.domain) {
            Ok(n) => {
                if !accepted.insert(n.clone()) {
                    c.add(
                        format!("{path}.domain"),
                        "accepted domains",
                        format!("'{n}' is listed twice"),
                    );
                }
            }
            Err(e) => c.add(format!("{path}.domain"), "accepted domains", e.to_string()),
        }
        if let Some(rcpts) = &d.recipients {
            for (j, r) in rcpts.iter().enumerate() {
                if !is_valid_local_part(r) {
                    c.add(
                        format!("{path}.recipients[{j}]"),
                        format!("accepted domain '{}', recipients", d.domain),
                        format!("'{r}' is not a valid mailbox name (the part before @)"),
                    );
                }
            }
        }
    }

    accepted
}

/// The transport settings as the relay uses them: the domain secure lists, normalised, and the
/// DNS servers, parsed.
pub(super) struct CheckedTransport {
    pub send: BTreeSet<String>,
    pub receive: BTreeSet<String>,
    /// The DNS servers of MX routing, parsed.
    pub dns_servers: Vec<std::net::SocketAddr>,
}

/// The transport settings; returns the domain secure lists, normalised, and the DNS servers.
pub(super) fn transport(c: &mut Checker, settings: &Settings) -> CheckedTransport {
    let t = &settings.transport;
    let send_ds = c.domain_list(
        &t.tls_send_domain_secure_list,
        "transport.tls_send_domain_secure_list",
        "send domain secure list",
    );
    let recv_ds = c.domain_list(
        &t.tls_receive_domain_secure_list,
        "transport.tls_receive_domain_secure_list",
        "receive domain secure list",
    );
    let second = TimeSpan::secs(1);
    let ninety_days = TimeSpan::secs(90 * 86_400);
    for (value, field, place) in [
        (
            t.transient_failure_retry_interval,
            "transient_failure_retry_interval",
            "transient failure retry interval",
        ),
        (
            t.outbound_connection_failure_retry_interval,
            "outbound_connection_failure_retry_interval",
            "connection failure retry interval",
        ),
        (
            t.delay_notification_timeout,
            "delay_notification_timeout",
            "delay notification timeout",
        ),
        (
            t.message_expiration_timeout,
            "message_expiration_timeout",
            "message expiration timeout",
        ),
        (
            t.message_tracking_max_age,
            "message_tracking_max_age",
            "message tracking age",
        ),
    ] {
        c.span_between(
            value,
            second,
            ninety_days,
            format!("transport.{field}"),
            place.to_string(),
        );
    }
    if t.delay_notification_timeout >= t.message_expiration_timeout {
        c.add(
            "transport.delay_notification_timeout",
            "delay notification timeout",
            format!(
                "{} must be shorter than the message expiration timeout ({})",
                t.delay_notification_timeout, t.message_expiration_timeout
            ),
        );
    }

    let mut dns_servers = Vec::new();
    for (i, text) in t.dns_servers.iter().enumerate() {
        match crate::config::net::parse_dns_server(text) {
            Ok(a) if dns_servers.contains(&a) => c.add(
                format!("transport.dns_servers[{i}]"),
                "DNS servers",
                format!("{a} is listed twice"),
            ),
            Ok(a) => dns_servers.push(a),
            Err(e) => c.add(format!("transport.dns_servers[{i}]"), "DNS servers", e),
        }
    }
    if let DnssecTrustAnchor::File(path) = &t.dnssec_trust_anchor
        && path.trim().is_empty()
    {
        c.add(
            "transport.dnssec_trust_anchor",
            "DNSSEC trust anchor",
            "name the file of DNSKEY records, or use the IANA root",
        );
    }
    if let Some(p) = &t.mta_sts_policy {
        let key = "transport.mta_sts_policy";
        if p.listen.parse::<std::net::SocketAddr>().is_err() {
            c.add(
                key,
                "MTA-STS policy",
                format!(
                    "'{}' is not an address to listen on (IP:port, such as 0.0.0.0:443)",
                    p.listen
                ),
            );
        }
        if p.mode != crate::config::MtaStsMode::None && p.mx.is_empty() {
            c.add(
                key,
                "MTA-STS policy",
                "name at least one MX host (or a pattern such as *.contoso.test) for senders to accept",
            );
        }
        for mx in &p.mx {
            let name = mx.strip_prefix("*.").unwrap_or(mx);
            if crate::config::domain::normalize(name).is_err() {
                c.add(
                    key,
                    "MTA-STS policy",
                    format!("'{mx}' is not a host name or a pattern such as *.contoso.test"),
                );
            }
        }
        if p.max_age.as_duration().as_secs() > crate::config::MTA_STS_MAX_AGE_LIMIT {
            c.add(
                key,
                "MTA-STS policy",
                "max_age can be a year (31557600 seconds) at most",
            );
        }
    }
    if let Some(addr) = &t.alert_address
        && let Err(why) = mail_address(addr)
    {
        c.add(
            "transport.alert_address",
            "Alert address",
            format!("'{addr}' is not a mail address: {why}"),
        );
    }
    if let Some(addr) = &t.tls_rpt_address {
        let key = "transport.tls_rpt_address";
        let place = "TLS report address";
        // A mailbox of ours: `local@domain`, the domain one we accept mail for.
        let parsed = mail_address(addr);
        match parsed {
            Err(why) => c.add(key, place, format!("'{addr}' is not a mail address: {why}")),
            Ok((local, domain)) => {
                match settings
                    .accepted_domains
                    .iter()
                    .find(|d| d.domain.eq_ignore_ascii_case(&domain))
                {
                    None => c.add(
                        key,
                        place,
                        format!(
                            "{domain} is not one of our accepted domains: reports must be delivered here to be read"
                        ),
                    ),
                    Some(d)
                        if d.recipients.as_ref().is_some_and(|list| {
                            !list.iter().any(|l| l.eq_ignore_ascii_case(&local))
                        }) =>
                    {
                        c.add(
                            key,
                            place,
                            format!(
                                "{domain} accepts only its listed recipients: add {local} to them first"
                            ),
                        )
                    }
                    Some(_) => {}
                }
            }
        }
    }
    if t.mta_sts_port == 0 {
        c.add(
            "transport.mta_sts_port",
            "MTA-STS port",
            "0 is not a port: MTA-STS policies are served on 443",
        );
    }
    if t.mx_port == 0 {
        c.add(
            "transport.mx_port",
            "MX port",
            "0 is not a port: MX hosts listen on 25",
        );
    }

    CheckedTransport {
        send: send_ds,
        receive: recv_ds,
        dns_servers,
    }
}

/// A local part (before `@`): dot-atom text of RFC 5322 §3.2.3, up to 64 octets.
pub fn is_valid_local_part(text: &str) -> bool {
    const SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~";
    !text.is_empty()
        && text.len() <= 64
        && !text.starts_with('.')
        && !text.ends_with('.')
        && !text.contains("..")
        && text
            .chars()
            .all(|ch| ch.is_alphanumeric() || ch == '.' || SPECIALS.contains(ch))
}

/// `local@domain` with a plain local part and a valid domain (normalised).
fn mail_address(addr: &str) -> Result<(String, String), String> {
    addr.trim()
        .rsplit_once('@')
        .filter(|(local, _)| {
            !local.is_empty()
                && !local
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || "<>,;".contains(c))
        })
        .ok_or_else(|| "write it as local-part@domain".to_string())
        .and_then(|(local, domain)| {
            crate::config::domain::normalize(domain)
                .map(|d| (local.to_string(), d))
                .map_err(|e| e.to_string())
        })
}
