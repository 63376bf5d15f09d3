//! `validate()`: every rule the settings must obey, each problem reported with the path of the
//! field it concerns, and — when there is none — the checked, resolved form the engine runs
//! (parsed bindings, IP ranges, smart hosts, normalised domain lists). The rules follow
//! Exchange's cmdlet validation (Set-ReceiveConnector, Set-SendConnector, Set-TransportConfig).

use super::domain;
use super::model::*;
use super::net::{IpRange, SmartHost, parse_binding};
use super::units::{ByteSize, TimeSpan};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::net::SocketAddr;

/// One thing wrong with the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Field path by index, e.g. `receive_connectors[0].banner`; stable for the console.
    pub path: String,
    /// The same place in words, e.g. `receive connector 'Default', banner`.
    pub place: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

/// All problems found; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

impl Problems {
    /// The problems concerning one field path (or anything below it).
    pub fn at<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a Problem> + 'a {
        self.0.iter().filter(move |p| {
            p.path == path
                || p.path
                    .strip_prefix(path)
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        })
    }
}

/// Settings that passed every rule, with their parsed forms.
#[derive(Debug, Clone)]
pub struct CheckedSettings {
    pub settings: Settings,
    pub fqdn: String,
    /// Normalised accepted domains (lower case A-labels).
    pub accepted_domains: BTreeSet<String>,
    pub send_domain_secure: BTreeSet<String>,
    pub receive_domain_secure: BTreeSet<String>,
    pub receive_connectors: Vec<CheckedReceiveConnector>,
    pub send_connectors: Vec<CheckedSendConnector>,
}

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

/// Bounds, as Exchange sets them.
pub const MIN_MESSAGE_SIZE: ByteSize = ByteSize::kb(64);
pub const MAX_MESSAGE_SIZE: ByteSize = ByteSize(2 * ByteSize::GB);
pub const MAX_RECIPIENTS: u32 = 512_000;
pub const MAX_NAME_LEN: usize = 64;

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn add(
        &mut self,
        path: impl Into<String>,
        place: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.problems.push(Problem {
            path: path.into(),
            place: place.into(),
            message: message.into(),
        });
    }

    fn domain_list(&mut self, list: &[String], path: &str, place: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for (i, entry) in list.iter().enumerate() {
            let p = format!("{path}[{i}]");
            if entry.contains('*') {
                self.add(
                    p,
                    place,
                    format!(
                        "'{entry}': wildcards are not allowed in the domain secure lists; list each partner domain by name"
                    ),
                );
                continue;
            }
            match domain::normalize(entry) {
                Ok(d) => {
                    if !out.insert(d.clone()) {
                        self.add(p, place, format!("'{d}' is listed twice"));
                    }
                }
                Err(e) => self.add(p, place, e.to_string()),
            }
        }
        out
    }

    fn span_between(
        &mut self,
        value: TimeSpan,
        min: TimeSpan,
        max: TimeSpan,
        path: String,
        place: String,
    ) {
        if value < min || value > max {
            self.add(
                path,
                place,
                format!("{value} is outside the allowed range {min} to {max}"),
            );
        }
    }

    fn pin(&mut self, pin: &Pin, path: String, place: String) {
        let (text, want, what) = match pin {
            Pin::Thumbprint(t) => (t, 40, "a thumbprint is 40 hexadecimal digits (SHA-1)"),
            Pin::PublicKeySha256(t) => (t, 64, "a public-key SHA-256 is 64 hexadecimal digits"),
        };
        let digits: String = text.chars().filter(|c| *c != ':' && *c != ' ').collect();
        if digits.len() != want || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            self.add(path, place, format!("'{text}' is not a valid pin: {what}"));
        }
    }
}

fn pin_hex(p: &Pin) -> &str {
    match p {
        Pin::Thumbprint(t) | Pin::PublicKeySha256(t) => t,
    }
}

/// Normalises a pin's hex text: upper case, no separators.
pub fn normalize_hex(text: &str) -> String {
    text.chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn check_name(
    c: &mut Checker,
    name: &str,
    path: String,
    place: &str,
    seen: &mut HashMap<String, usize>,
) {
    if name.trim().is_empty() {
        c.add(path, place, "a connector needs a name");
    } else if name.len() > MAX_NAME_LEN {
        c.add(
            path,
            place,
            format!("the name is longer than {MAX_NAME_LEN} characters"),
        );
    } else if name
        .chars()
        .any(|ch| ch.is_control() || ch == ',' || ch == '"')
    {
        c.add(
            path,
            place,
            "the name must not contain commas, quotes or control characters",
        );
    } else {
        let key = name.to_lowercase();
        if let Some(first) = seen.get(&key) {
            c.add(
                path,
                place,
                format!(
                    "the name '{name}' is already used by connector #{}",
                    first + 1
                ),
            );
        } else {
            seen.insert(key, seen.len());
        }
    }
}

/// Checks every rule; returns all problems, or the checked settings.
pub fn validate(settings: &Settings) -> Result<CheckedSettings, Problems> {
    let mut c = Checker {
        problems: Vec::new(),
    };

    if settings.version != SETTINGS_VERSION {
        c.add(
            "version",
            "settings version",
            format!(
                "version {} is not understood by this Mailflow (it writes version {SETTINGS_VERSION})",
                settings.version
            ),
        );
    }

    // Organization
    if settings.organization.name.trim().is_empty() {
        c.add(
            "organization.name",
            "organization name",
            "the organization needs a name",
        );
    }
    let fqdn = match domain::normalize(&settings.organization.fqdn) {
        Ok(f) => f,
        Err(e) => {
            c.add("organization.fqdn", "organization FQDN", e.to_string());
            String::new()
        }
    };

    // Accepted domains
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

    // Transport
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

    // Receive connectors
    let mut names = HashMap::new();
    let mut checked_receive = Vec::new();
    let mut listening: Vec<(SocketAddr, usize, Vec<IpRange>)> = Vec::new();
    for (i, rc) in settings.receive_connectors.iter().enumerate() {
        let base = format!("receive_connectors[{i}]");
        let place = |field: &str| format!("receive connector '{}', {field}", rc.name);
        check_name(
            &mut c,
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

        let conn_fqdn = match &rc.fqdn {
            Some(f) => match domain::normalize(f) {
                Ok(n) => n,
                Err(e) => {
                    c.add(format!("{base}.fqdn"), place("FQDN"), e.to_string());
                    String::new()
                }
            },
            None => fqdn.clone(),
        };
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

        if rc.max_message_size < MIN_MESSAGE_SIZE || rc.max_message_size > MAX_MESSAGE_SIZE {
            c.add(
                format!("{base}.max_message_size"),
                place("maximum message size"),
                format!(
                    "{} is outside the allowed range {MIN_MESSAGE_SIZE} to {MAX_MESSAGE_SIZE}",
                    rc.max_message_size
                ),
            );
        }
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
        if let CertificateSelection::Thumbprint(tp) = &rc.certificate {
            c.pin(
                &Pin::Thumbprint(tp.clone()),
                format!("{base}.certificate"),
                place("certificate"),
            );
        }
        checked_receive.push(CheckedReceiveConnector {
            index: i,
            name: rc.name.clone(),
            bindings,
            remote_ip_ranges: ranges,
            fqdn: conn_fqdn,
            banner,
        });
    }

    // Send connectors
    let mut names = HashMap::new();
    let mut checked_send = Vec::new();
    for (i, sc) in settings.send_connectors.iter().enumerate() {
        let base = format!("send_connectors[{i}]");
        let place = |field: &str| format!("send connector '{}', {field}", sc.name);
        check_name(
            &mut c,
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
        let conn_fqdn = match &sc.fqdn {
            Some(f) => match domain::normalize(f) {
                Ok(n) => n,
                Err(e) => {
                    c.add(format!("{base}.fqdn"), place("FQDN"), e.to_string());
                    String::new()
                }
            },
            None => fqdn.clone(),
        };
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
        if sc.max_message_size < MIN_MESSAGE_SIZE || sc.max_message_size > MAX_MESSAGE_SIZE {
            c.add(
                format!("{base}.max_message_size"),
                place("maximum message size"),
                format!(
                    "{} is outside the allowed range {MIN_MESSAGE_SIZE} to {MAX_MESSAGE_SIZE}",
                    sc.max_message_size
                ),
            );
        }
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
        if let CertificateSelection::Thumbprint(tp) = &sc.certificate {
            c.pin(
                &Pin::Thumbprint(tp.clone()),
                format!("{base}.certificate"),
                place("certificate"),
            );
        }
        checked_send.push(CheckedSendConnector {
            index: i,
            name: sc.name.clone(),
            address_spaces: spaces,
            smart_hosts: hosts,
            fqdn: conn_fqdn,
            tls_domain,
        });
    }

    // Direct Trust
    let mut dt_names = BTreeSet::new();
    for (i, e) in settings.direct_trust.iter().enumerate() {
        let base = format!("direct_trust[{i}]");
        if e.name.trim().is_empty() {
            c.add(
                format!("{base}.name"),
                "direct trust",
                "each Direct Trust entry needs a name",
            );
        } else if !dt_names.insert(e.name.to_lowercase()) {
            c.add(
                format!("{base}.name"),
                "direct trust",
                format!("the name '{}' is used twice", e.name),
            );
        }
        c.pin(
            &e.pin,
            format!("{base}.pin"),
            format!("direct trust '{}'", e.name),
        );
    }

    // Partner anchors
    let mut partner_domains = BTreeSet::new();
    for (i, pa) in settings.partner_anchors.iter().enumerate() {
        let base = format!("partner_anchors[{i}]");
        let place = format!("partner anchors for '{}'", pa.domain);
        if pa.domain.contains('*') {
            c.add(
                format!("{base}.domain"),
                place.clone(),
                "a partner domain is named exactly; wildcards are not allowed",
            );
        } else {
            match domain::normalize(&pa.domain) {
                Ok(d) => {
                    if !partner_domains.insert(d.clone()) {
                        c.add(
                            format!("{base}.domain"),
                            place.clone(),
                            format!("'{d}' has anchors twice; merge them"),
                        );
                    }
                }
                Err(e) => c.add(format!("{base}.domain"), place.clone(), e.to_string()),
            }
        }
        if pa.anchors.is_empty() {
            c.add(
                format!("{base}.anchors"),
                place.clone(),
                "at least one anchor (a CA thumbprint or a public-key SHA-256) is needed",
            );
        }
        for (j, pin) in pa.anchors.iter().enumerate() {
            c.pin(pin, format!("{base}.anchors[{j}]"), place.clone());
        }
    }

    // Partner pins
    let mut pin_names = BTreeSet::new();
    for (i, pp) in settings.partner_pins.iter().enumerate() {
        let base = format!("partner_pins[{i}]");
        let place = format!("partner pin '{}'", pp.name);
        if pp.name.trim().is_empty() {
            c.add(
                format!("{base}.name"),
                place.clone(),
                "each partner pin needs a name (the partner organization)",
            );
        } else if !pin_names.insert(pp.name.to_lowercase()) {
            c.add(
                format!("{base}.name"),
                place.clone(),
                format!("the name '{}' is used twice", pp.name),
            );
        }
        if pp.domains.is_empty() {
            c.add(
                format!("{base}.domains"),
                place.clone(),
                "a partner pin is bound to the partner's domains: name at least one",
            );
        }
        for (j, d) in pp.domains.iter().enumerate() {
            if d.contains('*') {
                c.add(
                    format!("{base}.domains[{j}]"),
                    place.clone(),
                    "a partner domain is named exactly; wildcards are not allowed",
                );
            } else if let Err(e) = domain::normalize(d) {
                c.add(format!("{base}.domains[{j}]"), place.clone(), e.to_string());
            }
        }
        c.pin(&pp.pin, format!("{base}.pin"), place.clone());
        let same = |p: &Pin| normalize_hex(pin_hex(p)) == normalize_hex(pin_hex(&pp.pin));
        if let Some(e) = settings.direct_trust.iter().find(|e| same(&e.pin)) {
            c.add(
                format!("{base}.pin"),
                place.clone(),
                format!(
                    "this certificate is also pinned as our own server (Direct Trust '{}'): a certificate is either ours or a partner's; remove one of the two",
                    e.name
                ),
            );
        }
    }

    if !c.problems.is_empty() {
        return Err(Problems(c.problems));
    }
    Ok(CheckedSettings {
        settings: settings.clone(),
        fqdn,
        accepted_domains: accepted,
        send_domain_secure: send_ds,
        receive_domain_secure: recv_ds,
        receive_connectors: checked_receive,
        send_connectors: checked_send,
    })
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

#[cfg(test)]
mod tests;
