//! `mailflow transport|connector|domain ...`: Set-TransportConfig, Get-/Set-/New-/Remove-
//! ReceiveConnector and SendConnector, and accepted domains.

use super::output::{list, table, yes_no};
use super::{CliError, CliResult, open};
use clap::{Args, Subcommand};
use mailflow::config::*;
use std::path::PathBuf;

// Parsed once per process: the size of the variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum TransportCommand {
    /// Show the transport settings
    Show,
    /// Change the transport settings (Set-TransportConfig)
    Set {
        /// TLSSendDomainSecureList: comma-separated domains ("" clears the list)
        #[arg(long, value_name = "D1,D2")]
        send_domain_secure: Option<String>,
        /// TLSReceiveDomainSecureList: comma-separated domains ("" clears the list)
        #[arg(long, value_name = "D1,D2")]
        receive_domain_secure: Option<String>,
        /// Delay notice after (e.g. 4h)
        #[arg(long)]
        delay_notification: Option<String>,
        /// NDR after (e.g. 2d)
        #[arg(long)]
        message_expiration: Option<String>,
        /// Retry interval after transient failures (e.g. 5m)
        #[arg(long)]
        retry_interval: Option<String>,
        /// Retry interval after connection failures (e.g. 10m)
        #[arg(long)]
        connection_retry_interval: Option<String>,
        /// When a certificate's revocation status is unknown (no current CRL): allow (default,
        /// as Exchange) or refuse (strict)
        #[arg(long, value_enum, value_name = "allow|refuse")]
        unknown_revocation_status: Option<UnknownRevocationArg>,
        /// DNS servers for MX routing: comma-separated IP or IP:port ("" for the system's)
        #[arg(long, value_name = "IP[:PORT],...")]
        dns_servers: Option<String>,
        /// The port MX hosts are connected on (25; another only in a lab)
        #[arg(long, value_name = "PORT")]
        mx_port: Option<u16>,
        /// Where DNSSEC validation starts: root (the IANA root keys, the default), a FILE of
        /// DNSKEY records, or off (for DNS servers that strip DNSSEC)
        #[arg(long, value_name = "root|off|FILE")]
        dnssec_trust_anchor: Option<String>,
        /// The port other domains' MTA-STS policies are fetched from (443; another only in a lab)
        #[arg(long, value_name = "PORT")]
        mta_sts_port: Option<u16>,
        /// The mailbox of ours that other organizations' TLS reports go to ("" for none);
        /// reports delivered there are read and shown on the console's TLS reports page
        #[arg(long, value_name = "ADDRESS")]
        tls_rpt_address: Option<String>,
        /// Where the relay mails its alerts (partner certificates expiring, rotated or gone,
        /// our certificates and trusted roots expiring); "" for none
        #[arg(long, value_name = "ADDRESS")]
        alert_address: Option<String>,
    },
}

/// `--unknown-revocation-status`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum UnknownRevocationArg {
    Allow,
    Refuse,
}

#[derive(Subcommand, Debug)]
pub enum ConnectorCommand {
    /// Receive connectors
    #[command(subcommand)]
    Receive(ReceiveCommand),
    /// Send connectors
    #[command(subcommand)]
    Send(SendCommand),
}

#[derive(Subcommand, Debug)]
pub enum ReceiveCommand {
    List,
    Show {
        name: String,
    },
    /// Create a receive connector
    New {
        name: String,
        #[command(flatten)]
        opts: ReceiveOptions,
    },
    /// Change a receive connector (Set-ReceiveConnector)
    Set {
        name: String,
        #[command(flatten)]
        opts: ReceiveOptions,
    },
    Remove {
        name: String,
    },
}

#[derive(Args, Debug, Default)]
pub struct ReceiveOptions {
    /// IP:port list, e.g. 0.0.0.0:25,[::]:25
    #[arg(long)]
    bindings: Option<String>,
    /// Remote IP ranges: IPs, a-b ranges or CIDR, comma-separated
    #[arg(long)]
    remote_ip_ranges: Option<String>,
    /// FQDN for the banner and EHLO reply ("" for the organization FQDN)
    #[arg(long)]
    fqdn: Option<String>,
    /// Banner, starting with 220 ("" for the default)
    #[arg(long)]
    banner: Option<String>,
    /// Authentication mechanisms: none | tls,basicauth,basicauthrequiretls
    #[arg(long)]
    auth: Option<String>,
    /// Permission groups: anonymoususers,authenticatedusers,partners,internalservers,anonymousrelay
    #[arg(long)]
    permission_groups: Option<String>,
    /// Domain Security (mutual TLS)
    #[arg(long, value_name = "true|false")]
    domain_secure: Option<bool>,
    #[arg(long, value_name = "true|false")]
    require_tls: Option<bool>,
    #[arg(long, value_name = "true|false")]
    enabled: Option<bool>,
    /// e.g. 36MB
    #[arg(long)]
    max_message_size: Option<String>,
    #[arg(long)]
    max_recipients: Option<u32>,
    #[arg(long)]
    max_connections: Option<u32>,
    #[arg(long)]
    max_connections_per_source: Option<u32>,
    /// e.g. 5m
    #[arg(long)]
    inactivity_timeout: Option<String>,
    /// e.g. 10m
    #[arg(long)]
    connection_timeout: Option<String>,
    /// e.g. 5s
    #[arg(long)]
    tarpit: Option<String>,
    /// verbose | none
    #[arg(long)]
    protocol_logging: Option<String>,
    /// A thumbprint, or "automatic"
    #[arg(long)]
    certificate: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum SendCommand {
    List,
    Show {
        name: String,
    },
    /// Create a send connector
    New {
        name: String,
        #[command(flatten)]
        opts: SendOptions,
    },
    /// Change a send connector (Set-SendConnector)
    Set {
        name: String,
        #[command(flatten)]
        opts: SendOptions,
    },
    Remove {
        name: String,
    },
}

#[derive(Args, Debug, Default)]
pub struct SendOptions {
    /// Address spaces with optional cost: "*;10,contoso.com;1,*.contoso.com"
    #[arg(long)]
    address_spaces: Option<String>,
    /// Smart hosts in order: host[:port],... ("" for none)
    #[arg(long)]
    smart_hosts: Option<String>,
    /// Port for smart hosts given without one
    #[arg(long)]
    port: Option<u16>,
    /// EHLO name ("" for the organization FQDN)
    #[arg(long)]
    fqdn: Option<String>,
    #[arg(long, value_name = "true|false")]
    domain_secure: Option<bool>,
    #[arg(long, value_name = "true|false")]
    require_tls: Option<bool>,
    #[arg(long, value_name = "true|false")]
    ignore_starttls: Option<bool>,
    #[arg(long, value_name = "true|false")]
    enabled: Option<bool>,
    /// encryptiononly | certificatevalidation | domainvalidation | none
    #[arg(long)]
    tls_auth_level: Option<String>,
    /// Name the next hop's certificate must carry under DomainValidation ("" for none)
    #[arg(long)]
    tls_domain: Option<String>,
    /// A thumbprint, or "automatic"
    #[arg(long)]
    certificate: Option<String>,
    #[arg(long)]
    max_message_size: Option<String>,
    #[arg(long)]
    inactivity_timeout: Option<String>,
    #[arg(long)]
    max_messages_per_connection: Option<u32>,
    /// verbose | none
    #[arg(long)]
    protocol_logging: Option<String>,
    /// DANE: authenticate MX hosts by their DNSSEC-signed TLSA records (RFC 7672)
    #[arg(long, value_name = "true|false")]
    dane: Option<bool>,
    /// MTA-STS: apply the recipient domain's published policy (RFC 8461)
    #[arg(long, value_name = "true|false")]
    mta_sts: Option<bool>,
}

#[derive(Subcommand, Debug)]
pub enum DomainCommand {
    List,
    /// Add an accepted domain
    Add {
        domain: String,
        /// Only these mailboxes are accepted (recipient filtering), comma-separated
        #[arg(long)]
        recipients: Option<String>,
    },
    Remove {
        domain: String,
    },
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

fn opt_text(s: &str) -> Option<String> {
    if s.trim().is_empty() {
        None
    } else {
        Some(s.trim().to_string())
    }
}

fn enum_word<T: Copy>(word: &str, choices: &[(&str, T)], what: &str) -> Result<T, CliError> {
    let w = word.trim().to_ascii_lowercase();
    choices
        .iter()
        .find(|(k, _)| *k == w)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            CliError(format!(
                "'{word}' is not a {what}: use one of {}",
                choices
                    .iter()
                    .map(|(k, _)| *k)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

fn span(s: &str) -> Result<units::TimeSpan, CliError> {
    s.parse().map_err(|e: units::UnitError| CliError(e.0))
}
fn size(s: &str) -> Result<units::ByteSize, CliError> {
    s.parse().map_err(|e: units::UnitError| CliError(e.0))
}
fn certificate(s: &str) -> CertificateSelection {
    if s.trim().eq_ignore_ascii_case("automatic") || s.trim().is_empty() {
        CertificateSelection::Automatic
    } else {
        CertificateSelection::Thumbprint(validate::normalize_hex(s))
    }
}
fn logging(s: &str) -> Result<ProtocolLoggingLevel, CliError> {
    enum_word(
        s,
        &[
            ("verbose", ProtocolLoggingLevel::Verbose),
            ("none", ProtocolLoggingLevel::None),
        ],
        "protocol logging level",
    )
}

const AUTH: &[(&str, AuthMechanism)] = &[
    ("none", AuthMechanism::None),
    ("tls", AuthMechanism::Tls),
    ("basicauth", AuthMechanism::BasicAuth),
    ("basicauthrequiretls", AuthMechanism::BasicAuthRequireTls),
];
const GROUPS: &[(&str, PermissionGroup)] = &[
    ("anonymoususers", PermissionGroup::AnonymousUsers),
    ("authenticatedusers", PermissionGroup::AuthenticatedUsers),
    ("partners", PermissionGroup::Partners),
    ("internalservers", PermissionGroup::InternalServers),
    ("anonymousrelay", PermissionGroup::AnonymousRelay),
];

impl ReceiveOptions {
    fn apply(&self, c: &mut ReceiveConnector) -> Result<(), CliError> {
        if let Some(v) = &self.bindings {
            c.bindings = split_list(v);
        }
        if let Some(v) = &self.remote_ip_ranges {
            c.remote_ip_ranges = split_list(v);
        }
        if let Some(v) = &self.fqdn {
            c.fqdn = opt_text(v);
        }
        if let Some(v) = &self.banner {
            c.banner = opt_text(v);
        }
        if let Some(v) = &self.auth {
            c.auth_mechanisms = split_list(v)
                .iter()
                .map(|w| enum_word(w, AUTH, "authentication mechanism"))
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = &self.permission_groups {
            c.permission_groups = split_list(v)
                .iter()
                .map(|w| enum_word(w, GROUPS, "permission group"))
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = self.domain_secure {
            c.domain_secure_enabled = v;
        }
        if let Some(v) = self.require_tls {
            c.require_tls = v;
        }
        if let Some(v) = self.enabled {
            c.enabled = v;
        }
        if let Some(v) = &self.max_message_size {
            c.max_message_size = size(v)?;
        }
        if let Some(v) = self.max_recipients {
            c.max_recipients_per_message = v;
        }
        if let Some(v) = self.max_connections {
            c.max_inbound_connections = v;
        }
        if let Some(v) = self.max_connections_per_source {
            c.max_inbound_connections_per_source = v;
        }
        if let Some(v) = &self.inactivity_timeout {
            c.connection_inactivity_timeout = span(v)?;
        }
        if let Some(v) = &self.connection_timeout {
            c.connection_timeout = span(v)?;
        }
        if let Some(v) = &self.tarpit {
            c.tarpit_interval = span(v)?;
        }
        if let Some(v) = &self.protocol_logging {
            c.protocol_logging_level = logging(v)?;
        }
        if let Some(v) = &self.certificate {
            c.certificate = certificate(v);
        }
        Ok(())
    }
}

impl SendOptions {
    fn apply(&self, c: &mut SendConnector) -> Result<(), CliError> {
        if let Some(v) = &self.address_spaces {
            let mut spaces = Vec::new();
            for item in split_list(v) {
                let (address, cost) = match item.split_once(';') {
                    Some((a, c)) => (
                        a.trim().to_string(),
                        c.trim().parse::<u8>().map_err(|_| {
                            CliError(format!("'{c}' is not a cost (1-100) in '{item}'"))
                        })?,
                    ),
                    None => (item.clone(), 1),
                };
                let address = address
                    .strip_prefix("SMTP:")
                    .or_else(|| address.strip_prefix("smtp:"))
                    .unwrap_or(&address)
                    .to_string();
                spaces.push(AddressSpace { address, cost });
            }
            c.address_spaces = spaces;
        }
        if let Some(v) = &self.smart_hosts {
            c.smart_hosts = split_list(v);
        }
        if let Some(v) = self.port {
            c.port = v;
        }
        if let Some(v) = &self.fqdn {
            c.fqdn = opt_text(v);
        }
        if let Some(v) = self.domain_secure {
            c.domain_secure_enabled = v;
        }
        if let Some(v) = self.require_tls {
            c.require_tls = v;
        }
        if let Some(v) = self.ignore_starttls {
            c.ignore_starttls = v;
        }
        if let Some(v) = self.dane {
            c.dane_enabled = v;
        }
        if let Some(v) = self.mta_sts {
            c.mta_sts_enabled = v;
        }
        if let Some(v) = self.enabled {
            c.enabled = v;
        }
        if let Some(v) = &self.tls_auth_level {
            c.tls_auth_level = enum_word(
                v,
                &[
                    ("none", None),
                    ("encryptiononly", Some(TlsAuthLevel::EncryptionOnly)),
                    (
                        "certificatevalidation",
                        Some(TlsAuthLevel::CertificateValidation),
                    ),
                    ("domainvalidation", Some(TlsAuthLevel::DomainValidation)),
                ],
                "TLS authentication level",
            )?;
        }
        if let Some(v) = &self.tls_domain {
            c.tls_domain = opt_text(v);
        }
        if let Some(v) = &self.certificate {
            c.certificate = certificate(v);
        }
        if let Some(v) = &self.max_message_size {
            c.max_message_size = size(v)?;
        }
        if let Some(v) = &self.inactivity_timeout {
            c.connection_inactivity_timeout = span(v)?;
        }
        if let Some(v) = self.max_messages_per_connection {
            c.smtp_max_messages_per_connection = v;
        }
        if let Some(v) = &self.protocol_logging {
            c.protocol_logging_level = logging(v)?;
        }
        Ok(())
    }
}

pub fn run_transport(dir: &Option<PathBuf>, cmd: &TransportCommand) -> CliResult {
    let mut workspace = open(dir)?;
    match cmd {
        TransportCommand::Show => {
            let t = &workspace.settings.transport;
            list(&[
                (
                    "TLSSendDomainSecureList",
                    t.tls_send_domain_secure_list.join(", "),
                ),
                (
                    "TLSReceiveDomainSecureList",
                    t.tls_receive_domain_secure_list.join(", "),
                ),
                (
                    "TransientFailureRetryInterval",
                    t.transient_failure_retry_interval.to_string(),
                ),
                (
                    "OutboundConnectionFailureRetryInterval",
                    t.outbound_connection_failure_retry_interval.to_string(),
                ),
                (
                    "DelayNotificationTimeout",
                    t.delay_notification_timeout.to_string(),
                ),
                (
                    "MessageExpirationTimeout",
                    t.message_expiration_timeout.to_string(),
                ),
                (
                    "MessageTrackingMaxAge",
                    t.message_tracking_max_age.to_string(),
                ),
                (
                    "UnknownRevocationStatus",
                    format!("{:?}", t.unknown_revocation_status),
                ),
                (
                    "DnsServers",
                    if t.dns_servers.is_empty() {
                        "(the system's, from /etc/resolv.conf)".to_string()
                    } else {
                        t.dns_servers.join(", ")
                    },
                ),
                ("MxPort", t.mx_port.to_string()),
                (
                    "DnssecTrustAnchor",
                    match &t.dnssec_trust_anchor {
                        DnssecTrustAnchor::IanaRoot => "the IANA root keys".to_string(),
                        DnssecTrustAnchor::File(path) => path.clone(),
                        DnssecTrustAnchor::Off => "off (no DNSSEC validation)".to_string(),
                    },
                ),
                (
                    "TlsRptAddress",
                    t.tls_rpt_address
                        .clone()
                        .unwrap_or_else(|| "(none: reports from others are not read)".into()),
                ),
                (
                    "AlertAddress",
                    t.alert_address
                        .clone()
                        .unwrap_or_else(|| "(none: alerts are in the console and the log)".into()),
                ),
            ]);
        }
        TransportCommand::Set {
            send_domain_secure,
            receive_domain_secure,
            delay_notification,
            message_expiration,
            retry_interval,
            connection_retry_interval,
            unknown_revocation_status,
            dns_servers,
            mx_port,
            dnssec_trust_anchor,
            mta_sts_port,
            tls_rpt_address,
            alert_address,
        } => {
            let parsed = (
                delay_notification.as_deref().map(span).transpose()?,
                message_expiration.as_deref().map(span).transpose()?,
                retry_interval.as_deref().map(span).transpose()?,
                connection_retry_interval.as_deref().map(span).transpose()?,
            );
            // A relative path means one from here, wherever the relay later runs.
            let dnssec_trust_anchor = match dnssec_trust_anchor.as_deref().map(str::trim) {
                Some(file) if file != "root" && file != "off" => Some(
                    std::path::absolute(file)
                        .map_err(|e| CliError(format!("{file}: {e}")))?
                        .display()
                        .to_string(),
                ),
                other => other.map(str::to_string),
            };
            workspace.set_transport(|t| {
                if let Some(l) = send_domain_secure {
                    t.tls_send_domain_secure_list = split_list(l);
                }
                if let Some(l) = receive_domain_secure {
                    t.tls_receive_domain_secure_list = split_list(l);
                }
                if let Some(v) = parsed.0 {
                    t.delay_notification_timeout = v;
                }
                if let Some(v) = parsed.1 {
                    t.message_expiration_timeout = v;
                }
                if let Some(v) = parsed.2 {
                    t.transient_failure_retry_interval = v;
                }
                if let Some(v) = parsed.3 {
                    t.outbound_connection_failure_retry_interval = v;
                }
                if let Some(l) = dns_servers {
                    t.dns_servers = split_list(l);
                }
                if let Some(p) = mx_port {
                    t.mx_port = *p;
                }
                if let Some(p) = mta_sts_port {
                    t.mta_sts_port = *p;
                }
                if let Some(a) = tls_rpt_address {
                    t.tls_rpt_address = Some(a.trim().to_string()).filter(|a| !a.is_empty());
                }
                if let Some(a) = alert_address {
                    t.alert_address = Some(a.trim().to_string()).filter(|a| !a.is_empty());
                }
                if let Some(a) = dnssec_trust_anchor {
                    t.dnssec_trust_anchor = match a.trim() {
                        "root" => DnssecTrustAnchor::IanaRoot,
                        "off" => DnssecTrustAnchor::Off,
                        file => DnssecTrustAnchor::File(file.to_string()),
                    };
                }
                if let Some(v) = unknown_revocation_status {
                    t.unknown_revocation_status = match v {
                        UnknownRevocationArg::Allow => UnknownRevocationStatus::Allow,
                        UnknownRevocationArg::Refuse => UnknownRevocationStatus::Refuse,
                    };
                }
            })?;
            println!("Transport settings saved.");
            if let Some(a) = tls_rpt_address
                .as_deref()
                .map(str::trim)
                .filter(|a| !a.is_empty())
            {
                println!("Publish in DNS, for each of our domains:");
                for d in &workspace.settings.accepted_domains {
                    let (name, text) = mailflow::policy::tls_rpt::report_record(&d.domain, a);
                    println!("  {name}. TXT \"{text}\"");
                }
            }
        }
    }
    Ok(())
}

fn show_receive(c: &ReceiveConnector, org_fqdn: &str) {
    list(&[
        ("Name", c.name.clone()),
        ("Enabled", yes_no(c.enabled)),
        ("Bindings", c.bindings.join(", ")),
        ("RemoteIPRanges", c.remote_ip_ranges.join(", ")),
        (
            "Fqdn",
            c.fqdn
                .clone()
                .unwrap_or_else(|| format!("{org_fqdn} (organization)")),
        ),
        (
            "Banner",
            c.banner.clone().unwrap_or_else(|| "(default)".into()),
        ),
        (
            "AuthMechanism",
            c.auth_mechanisms
                .iter()
                .map(|m| format!("{m:?}"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "PermissionGroups",
            c.permission_groups
                .iter()
                .map(|m| format!("{m:?}"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ("DomainSecureEnabled", yes_no(c.domain_secure_enabled)),
        ("RequireTLS", yes_no(c.require_tls)),
        ("MaxMessageSize", c.max_message_size.to_string()),
        (
            "MaxRecipientsPerMessage",
            c.max_recipients_per_message.to_string(),
        ),
        (
            "MaxInboundConnection",
            c.max_inbound_connections.to_string(),
        ),
        (
            "MaxInboundConnectionPerSource",
            c.max_inbound_connections_per_source.to_string(),
        ),
        ("ConnectionTimeout", c.connection_timeout.to_string()),
        (
            "ConnectionInactivityTimeout",
            c.connection_inactivity_timeout.to_string(),
        ),
        ("TarpitInterval", c.tarpit_interval.to_string()),
        (
            "ProtocolLoggingLevel",
            format!("{:?}", c.protocol_logging_level),
        ),
        ("Certificate", cert_text(&c.certificate)),
    ]);
}

fn show_send(c: &SendConnector, org_fqdn: &str) {
    list(&[
        ("Name", c.name.clone()),
        ("Enabled", yes_no(c.enabled)),
        (
            "AddressSpaces",
            c.address_spaces
                .iter()
                .map(|a| format!("SMTP:{};{}", a.address, a.cost))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "SmartHosts",
            if c.smart_hosts.is_empty() {
                "(none)".into()
            } else {
                c.smart_hosts.join(", ")
            },
        ),
        ("Port", c.port.to_string()),
        (
            "Fqdn",
            c.fqdn
                .clone()
                .unwrap_or_else(|| format!("{org_fqdn} (organization)")),
        ),
        ("DomainSecureEnabled", yes_no(c.domain_secure_enabled)),
        ("RequireTLS", yes_no(c.require_tls)),
        ("IgnoreSTARTTLS", yes_no(c.ignore_starttls)),
        ("Dane", yes_no(c.dane_enabled)),
        ("MtaSts", yes_no(c.mta_sts_enabled)),
        (
            "TlsAuthLevel",
            c.tls_auth_level
                .map(|l| format!("{l:?}"))
                .unwrap_or_default(),
        ),
        ("TlsDomain", c.tls_domain.clone().unwrap_or_default()),
        ("Certificate", cert_text(&c.certificate)),
        ("MaxMessageSize", c.max_message_size.to_string()),
        (
            "ConnectionInactivityTimeOut",
            c.connection_inactivity_timeout.to_string(),
        ),
        (
            "SmtpMaxMessagesPerConnection",
            c.smtp_max_messages_per_connection.to_string(),
        ),
        (
            "ProtocolLoggingLevel",
            format!("{:?}", c.protocol_logging_level),
        ),
    ]);
}

fn cert_text(c: &CertificateSelection) -> String {
    match c {
        CertificateSelection::Automatic => "Automatic".into(),
        CertificateSelection::Thumbprint(t) => t.clone(),
    }
}

/// One step on a connector of either kind, as the command line asked for it.
enum ConnectorStep<'a, O> {
    List,
    Show(&'a str),
    New(&'a str, &'a O),
    Set(&'a str, &'a O),
    Remove(&'a str),
}

impl ReceiveCommand {
    fn step(&self) -> ConnectorStep<'_, ReceiveOptions> {
        match self {
            ReceiveCommand::List => ConnectorStep::List,
            ReceiveCommand::Show { name } => ConnectorStep::Show(name),
            ReceiveCommand::New { name, opts } => ConnectorStep::New(name, opts),
            ReceiveCommand::Set { name, opts } => ConnectorStep::Set(name, opts),
            ReceiveCommand::Remove { name } => ConnectorStep::Remove(name),
        }
    }
}

impl SendCommand {
    fn step(&self) -> ConnectorStep<'_, SendOptions> {
        match self {
            SendCommand::List => ConnectorStep::List,
            SendCommand::Show { name } => ConnectorStep::Show(name),
            SendCommand::New { name, opts } => ConnectorStep::New(name, opts),
            SendCommand::Set { name, opts } => ConnectorStep::Set(name, opts),
            SendCommand::Remove { name } => ConnectorStep::Remove(name),
        }
    }
}

/// What the command line does differently for a receive and a send connector: the settings,
/// the options that change them, and what `list` and `show` print.
trait ConnectorKind {
    type Connector: Connector;
    type Options;
    const HEADERS: &'static [&'static str];
    fn row(c: &Self::Connector) -> Vec<String>;
    fn show(c: &Self::Connector, org_fqdn: &str);
    fn apply(opts: &Self::Options, c: &mut Self::Connector) -> Result<(), CliError>;
}

struct ReceiveKind;
struct SendKind;

impl ConnectorKind for ReceiveKind {
    type Connector = ReceiveConnector;
    type Options = ReceiveOptions;
    const HEADERS: &'static [&'static str] = &[
        "Name",
        "Enabled",
        "Bindings",
        "DomainSecureEnabled",
        "AuthMechanism",
    ];

    fn row(c: &ReceiveConnector) -> Vec<String> {
        vec![
            c.name.clone(),
            yes_no(c.enabled),
            c.bindings.join(","),
            yes_no(c.domain_secure_enabled),
            c.auth_mechanisms
                .iter()
                .map(|m| format!("{m:?}"))
                .collect::<Vec<_>>()
                .join(","),
        ]
    }

    fn show(c: &ReceiveConnector, org_fqdn: &str) {
        show_receive(c, org_fqdn);
    }

    fn apply(opts: &ReceiveOptions, c: &mut ReceiveConnector) -> Result<(), CliError> {
        opts.apply(c)
    }
}

impl ConnectorKind for SendKind {
    type Connector = SendConnector;
    type Options = SendOptions;
    const HEADERS: &'static [&'static str] = &[
        "Name",
        "Enabled",
        "AddressSpaces",
        "SmartHosts",
        "DomainSecureEnabled",
    ];

    fn row(c: &SendConnector) -> Vec<String> {
        vec![
            c.name.clone(),
            yes_no(c.enabled),
            c.address_spaces
                .iter()
                .map(|a| format!("{};{}", a.address, a.cost))
                .collect::<Vec<_>>()
                .join(","),
            c.smart_hosts.join(","),
            yes_no(c.domain_secure_enabled),
        ]
    }

    fn show(c: &SendConnector, org_fqdn: &str) {
        show_send(c, org_fqdn);
    }

    fn apply(opts: &SendOptions, c: &mut SendConnector) -> Result<(), CliError> {
        opts.apply(c)
    }
}

pub fn run_connector(dir: &Option<PathBuf>, cmd: &ConnectorCommand) -> CliResult {
    match cmd {
        ConnectorCommand::Receive(c) => run_step::<ReceiveKind>(dir, c.step()),
        ConnectorCommand::Send(c) => run_step::<SendKind>(dir, c.step()),
    }
}

fn run_step<K: ConnectorKind>(
    dir: &Option<PathBuf>,
    step: ConnectorStep<'_, K::Options>,
) -> CliResult {
    let mut workspace = open(dir)?;
    let kind = K::Connector::KIND;
    // "Receive" or "Send", to start a sentence.
    let title = format!("{}{}", kind[..1].to_uppercase(), &kind[1..]);
    match step {
        ConnectorStep::List => {
            let rows = K::Connector::all(&workspace.settings)
                .iter()
                .map(K::row)
                .collect::<Vec<_>>();
            table(K::HEADERS, &rows);
        }
        ConnectorStep::Show(name) => {
            let c = K::Connector::named(&workspace.settings, name)
                .ok_or_else(|| CliError(format!("there is no {kind} connector '{name}'")))?;
            K::show(c, &workspace.settings.organization.fqdn);
        }
        ConnectorStep::New(name, opts) => {
            let mut c = K::Connector::default();
            *c.name_mut() = name.to_string();
            K::apply(opts, &mut c)?;
            workspace.add_connector(c)?;
            println!("{title} connector '{name}' created.");
        }
        ConnectorStep::Set(name, opts) => {
            // Parse options before touching anything.
            let mut probe = K::Connector::default();
            K::apply(opts, &mut probe)?;
            workspace.change_connector(name, |c: &mut K::Connector| {
                let _ = K::apply(opts, c);
            })?;
            println!("{title} connector '{name}' saved; new sessions use the change.");
        }
        ConnectorStep::Remove(name) => {
            workspace.remove_connector(K::Connector::TYPE, name)?;
            println!("{title} connector '{name}' removed.");
        }
    }
    Ok(())
}

pub fn run_domain(dir: &Option<PathBuf>, cmd: &DomainCommand) -> CliResult {
    let mut workspace = open(dir)?;
    match cmd {
        DomainCommand::List => {
            let rows = workspace
                .settings
                .accepted_domains
                .iter()
                .map(|d| {
                    vec![
                        d.domain.clone(),
                        match &d.recipients {
                            None => "any mailbox".into(),
                            Some(r) => r.join(", "),
                        },
                    ]
                })
                .collect::<Vec<_>>();
            table(&["DomainName", "Recipients"], &rows);
        }
        DomainCommand::Add { domain, recipients } => {
            workspace.add_accepted_domain(domain, recipients.as_deref().map(split_list))?;
            println!("Accepted domain {domain} added.");
        }
        DomainCommand::Remove { domain } => {
            workspace.remove_accepted_domain(domain)?;
            println!("Accepted domain {domain} removed.");
        }
    }
    Ok(())
}
