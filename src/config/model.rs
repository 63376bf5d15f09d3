//! The settings an administrator edits, as they are stored in `settings.ron`: organization,
//! accepted domains, transport settings with the domain secure lists, receive and send
//! connectors, Direct Trust pins, partner anchors and partner pins. Field names follow the Exchange cmdlet
//! parameters they mirror (`domain_secure_enabled` is `-DomainSecureEnabled`). Nothing here is
//! checked; [`super::validate`] turns it into a checked policy.

use super::units::{ByteSize, TimeSpan};
use serde::{Deserialize, Serialize};

/// The version of the settings file this Mailflow writes and reads.
pub const SETTINGS_VERSION: u32 = 1;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Format version of the file; see [`SETTINGS_VERSION`].
    pub version: u32,
    pub organization: Organization,
    /// Domains this organization receives mail for (local delivery).
    #[serde(default)]
    pub accepted_domains: Vec<AcceptedDomain>,
    #[serde(default)]
    pub transport: TransportSettings,
    #[serde(default)]
    pub receive_connectors: Vec<ReceiveConnector>,
    #[serde(default)]
    pub send_connectors: Vec<SendConnector>,
    /// Certificates or keys of our own relays, trusted without chain building.
    #[serde(default)]
    pub direct_trust: Vec<DirectTrustEntry>,
    /// Partner domains pinned to their own anchors: no other CA may vouch for them.
    #[serde(default)]
    pub partner_anchors: Vec<PartnerAnchor>,
    /// Partners' own certificates (self-signed or privately issued), pinned and bound to the
    /// partner's domains: Partner identity for those domains only, never an internal server.
    /// Not written while empty, so a file without partner pins stays readable by a Mailflow
    /// that predates them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partner_pins: Vec<PartnerPin>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    /// Display name of the organization.
    pub name: String,
    /// FQDN of this server: EHLO name, banner, `Received:` and the default certificate name.
    pub fqdn: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AcceptedDomain {
    pub domain: String,
    /// When set, only these local parts are accepted (recipient filtering, `550 5.1.1` for
    /// others); when absent, any local part gets a mailbox on first delivery.
    #[serde(default)]
    pub recipients: Option<Vec<String>>,
}

/// Set-TransportConfig: the domain secure lists and queue timing.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TransportSettings {
    /// `TLSSendDomainSecureList`: mail to these domains goes only over mutual TLS.
    pub tls_send_domain_secure_list: Vec<String>,
    /// `TLSReceiveDomainSecureList`: mail from these domains is accepted only over mutual TLS.
    pub tls_receive_domain_secure_list: Vec<String>,
    /// Wait between retries after a transient failure.
    pub transient_failure_retry_interval: TimeSpan,
    /// Wait between retries after a connection to the next hop failed.
    pub outbound_connection_failure_retry_interval: TimeSpan,
    /// A delay notice goes to the sender once a message has waited this long.
    pub delay_notification_timeout: TimeSpan,
    /// A message still undelivered after this long is returned with an NDR.
    pub message_expiration_timeout: TimeSpan,
    /// Message tracking events older than this are pruned.
    pub message_tracking_max_age: TimeSpan,
    /// What a certificate whose revocation status cannot be determined (no revocation list
    /// from its CA, an out-of-date list, a download that failed) counts as. A certificate on
    /// its CA's list is refused whatever this says.
    pub unknown_revocation_status: UnknownRevocationStatus,
    /// The DNS servers that MX routing asks (`IP` or `IP:port`); empty: the system's
    /// (`/etc/resolv.conf`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_servers: Vec<String>,
    /// The port MX hosts are connected on: 25, another only in a lab or a test.
    #[serde(skip_serializing_if = "is_smtp_port")]
    pub mx_port: u16,
    /// What DNSSEC validation of MX routing starts from.
    #[serde(skip_serializing_if = "DnssecTrustAnchor::is_iana_root")]
    pub dnssec_trust_anchor: DnssecTrustAnchor,
    /// The port MTA-STS policies are fetched from (`https://mta-sts.<domain>/…`): 443,
    /// another only in a lab or a test.
    #[serde(skip_serializing_if = "is_https_port")]
    pub mta_sts_port: u16,
    /// Our own MTA-STS policy, served over HTTPS by the relay when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mta_sts_policy: Option<MtaStsPublishing>,
    /// Where other organizations send their TLS reports about our domains (RFC 8460 `rua`):
    /// a mailbox of one of our accepted domains. Reports delivered there are read and kept
    /// for the console's TLS reports page (the mail is delivered all the same).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_rpt_address: Option<String>,
    /// Where the relay mails its alerts (a partner certificate expiring, rotated or gone, a
    /// partner downgrading, our SMTP certificate or a trusted root expiring); without one the
    /// alerts are in the console and the log only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_address: Option<String>,
}

/// The longest `max_age` an MTA-STS policy may ask for (RFC 8461 §3.2: 31557600 seconds, a
/// year).
pub const MTA_STS_MAX_AGE_LIMIT: u64 = 31_557_600;

/// What an MTA-STS policy asks senders to do (RFC 8461 §3.2).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MtaStsMode {
    /// Only the listed MX hosts, only over TLS with a valid certificate.
    Enforce,
    /// Deliver as usual and report what would fail.
    Testing,
    /// No policy (withdraws one senders have cached).
    None,
}

/// Our MTA-STS policy and where the relay serves it
/// (`https://mta-sts.<our domain>/.well-known/mta-sts.txt`, with the SMTP certificate that
/// names `mta-sts.<our domain>`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MtaStsPublishing {
    /// Where the HTTPS listener binds: `0.0.0.0:443`.
    pub listen: String,
    pub mode: MtaStsMode,
    /// Our MX host names, or patterns of one leftmost label (`*.contoso.test`).
    pub mx: Vec<String>,
    /// How long senders may keep the policy.
    pub max_age: TimeSpan,
}

/// The trust anchor of DNSSEC validation: every answer of MX routing is validated from it and
/// counts as secure, insecure (provably unsigned) or bogus (a signature that does not hold,
/// which defers the delivery).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub enum DnssecTrustAnchor {
    /// The IANA root keys, built in: the Internet's DNSSEC.
    #[default]
    IanaRoot,
    /// DNSKEY records in DNS presentation format, in this file: a private root, a lab.
    File(String),
    /// No validation: every answer counts as insecure. Only for DNS servers that strip
    /// DNSSEC, which would make every answer bogus.
    Off,
}

impl DnssecTrustAnchor {
    fn is_iana_root(&self) -> bool {
        *self == DnssecTrustAnchor::IanaRoot
    }
}

fn is_smtp_port(port: &u16) -> bool {
    *port == 25
}

fn is_https_port(port: &u16) -> bool {
    *port == 443
}

/// What an unknown revocation status means for a certificate chain.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum UnknownRevocationStatus {
    /// The chain is accepted (Exchange's behaviour: a CRL that cannot be had for the moment
    /// does not stop mail).
    #[default]
    Allow,
    /// The chain fails (strict): Domain Security mail waits until a current list is at hand.
    Refuse,
}

impl Default for TransportSettings {
    fn default() -> Self {
        TransportSettings {
            tls_send_domain_secure_list: Vec::new(),
            tls_receive_domain_secure_list: Vec::new(),
            transient_failure_retry_interval: TimeSpan::secs(5 * 60),
            outbound_connection_failure_retry_interval: TimeSpan::secs(10 * 60),
            delay_notification_timeout: TimeSpan::secs(4 * 3600),
            message_expiration_timeout: TimeSpan::secs(2 * 86_400),
            message_tracking_max_age: TimeSpan::secs(30 * 86_400),
            unknown_revocation_status: UnknownRevocationStatus::Allow,
            dns_servers: Vec::new(),
            mx_port: 25,
            dnssec_trust_anchor: DnssecTrustAnchor::IanaRoot,
            mta_sts_port: 443,
            mta_sts_policy: None,
            tls_rpt_address: None,
            alert_address: None,
        }
    }
}

/// `-AuthMechanism` of a receive connector.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuthMechanism {
    /// No authentication offered (must stand alone).
    None,
    /// STARTTLS is offered; needed for Domain Security.
    Tls,
    /// AUTH PLAIN/LOGIN.
    BasicAuth,
    /// AUTH only after STARTTLS (needs BasicAuth and Tls).
    BasicAuthRequireTls,
}

/// `-PermissionGroups` of a receive connector: who may submit mail through it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PermissionGroup {
    /// Anyone may send mail to accepted domains.
    AnonymousUsers,
    /// Clients that authenticated with AUTH may send to any domain.
    AuthenticatedUsers,
    /// Partner organizations authenticated by Domain Security.
    Partners,
    /// Our own relays authenticated by Direct Trust; they may relay.
    InternalServers,
    /// Any client admitted by the connector's remote IP ranges may relay (an application
    /// server connector). Use only with narrow remote IP ranges.
    AnonymousRelay,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ProtocolLoggingLevel {
    #[default]
    None,
    Verbose,
}

/// Which certificate a connector uses for TLS.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub enum CertificateSelection {
    /// The SMTP-enabled certificate that best names the connector's FQDN.
    #[default]
    Automatic,
    /// A certificate of the store, by SHA-1 thumbprint (40 hex digits).
    Thumbprint(String),
}

/// Set-ReceiveConnector.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ReceiveConnector {
    pub name: String,
    pub enabled: bool,
    /// `IP:port` pairs to listen on.
    pub bindings: Vec<String>,
    /// Clients this connector serves: single IPs, `a-b` ranges or CIDR.
    pub remote_ip_ranges: Vec<String>,
    /// Name in the banner and EHLO reply; the organization FQDN when absent.
    pub fqdn: Option<String>,
    /// Greeting; must start with `220`. A default greeting is used when absent.
    pub banner: Option<String>,
    pub auth_mechanisms: Vec<AuthMechanism>,
    pub permission_groups: Vec<PermissionGroup>,
    /// Domain Security (mutual TLS) for senders on the receive domain secure list.
    pub domain_secure_enabled: bool,
    /// Every message must arrive over TLS.
    pub require_tls: bool,
    pub max_message_size: ByteSize,
    pub max_recipients_per_message: u32,
    pub max_inbound_connections: u32,
    pub max_inbound_connections_per_source: u32,
    /// Longest a whole session may last.
    pub connection_timeout: TimeSpan,
    /// Longest a client may stay silent.
    pub connection_inactivity_timeout: TimeSpan,
    /// Delay added to replies after protocol errors.
    pub tarpit_interval: TimeSpan,
    pub protocol_logging_level: ProtocolLoggingLevel,
    pub certificate: CertificateSelection,
}

impl Default for ReceiveConnector {
    fn default() -> Self {
        ReceiveConnector {
            name: String::new(),
            enabled: true,
            bindings: Vec::new(),
            remote_ip_ranges: vec!["0.0.0.0/0".into(), "::/0".into()],
            fqdn: None,
            banner: None,
            auth_mechanisms: vec![AuthMechanism::Tls],
            permission_groups: vec![PermissionGroup::AnonymousUsers, PermissionGroup::Partners],
            domain_secure_enabled: false,
            require_tls: false,
            max_message_size: ByteSize::mb(36),
            max_recipients_per_message: 200,
            max_inbound_connections: 5000,
            max_inbound_connections_per_source: 20,
            connection_timeout: TimeSpan::secs(10 * 60),
            connection_inactivity_timeout: TimeSpan::secs(5 * 60),
            tarpit_interval: TimeSpan::secs(5),
            protocol_logging_level: ProtocolLoggingLevel::Verbose,
            certificate: CertificateSelection::Automatic,
        }
    }
}

/// `-TlsAuthLevel` of a send connector with RequireTLS.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TlsAuthLevel {
    /// Encrypt; do not check the certificate.
    EncryptionOnly,
    /// The certificate must chain to a trusted root.
    CertificateValidation,
    /// As CertificateValidation, and a certificate name must match TlsDomain (or the
    /// recipient domain when TlsDomain is absent).
    DomainValidation,
}

/// One address space of a send connector: `*`, `contoso.com` or `*.contoso.com`, with a cost
/// (1-100, lower wins among equally specific matches).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AddressSpace {
    pub address: String,
    #[serde(default = "default_cost")]
    pub cost: u8,
}

fn default_cost() -> u8 {
    1
}

/// Set-SendConnector.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SendConnector {
    pub name: String,
    pub enabled: bool,
    pub address_spaces: Vec<AddressSpace>,
    /// Next hops in order of preference (`host[:port]`); tried one after another.
    pub smart_hosts: Vec<String>,
    /// Port used for smart hosts written without one.
    pub port: u16,
    /// EHLO name; the organization FQDN when absent.
    pub fqdn: Option<String>,
    /// Domain Security (mutual TLS) for recipient domains on the send domain secure list.
    pub domain_secure_enabled: bool,
    /// Every session must use TLS (see `tls_auth_level`).
    pub require_tls: bool,
    /// Never use STARTTLS even when offered.
    pub ignore_starttls: bool,
    /// How the next hop's certificate is checked when `require_tls` is set.
    pub tls_auth_level: Option<TlsAuthLevel>,
    /// Name the next hop's certificate must carry under DomainValidation.
    pub tls_domain: Option<String>,
    /// Our certificate presented as client certificate.
    pub certificate: CertificateSelection,
    pub max_message_size: ByteSize,
    pub connection_inactivity_timeout: TimeSpan,
    pub smtp_max_messages_per_connection: u32,
    pub protocol_logging_level: ProtocolLoggingLevel,
    /// DANE (RFC 7672): MX hosts with DNSSEC-signed TLSA records are authenticated by them.
    #[serde(skip_serializing_if = "is_true")]
    pub dane_enabled: bool,
    /// MTA-STS (RFC 8461): the recipient domain's published policy is applied.
    #[serde(skip_serializing_if = "is_true")]
    pub mta_sts_enabled: bool,
}

fn is_true(value: &bool) -> bool {
    *value
}

impl Default for SendConnector {
    fn default() -> Self {
        SendConnector {
            name: String::new(),
            enabled: true,
            address_spaces: Vec::new(),
            smart_hosts: Vec::new(),
            port: 25,
            fqdn: None,
            domain_secure_enabled: false,
            require_tls: false,
            ignore_starttls: false,
            tls_auth_level: None,
            tls_domain: None,
            certificate: CertificateSelection::Automatic,
            max_message_size: ByteSize::mb(36),
            connection_inactivity_timeout: TimeSpan::secs(10 * 60),
            smtp_max_messages_per_connection: 20,
            protocol_logging_level: ProtocolLoggingLevel::Verbose,
            dane_enabled: true,
            mta_sts_enabled: true,
        }
    }
}

/// A pin identifying a certificate without chain building.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Pin {
    /// SHA-1 thumbprint of the certificate, as Get-ExchangeCertificate shows it.
    Thumbprint(String),
    /// SHA-256 of the certificate's SubjectPublicKeyInfo; survives renewal with the same key.
    PublicKeySha256(String),
}

/// A Direct Trust entry: one of our own relays, trusted in both directions by its pin. A
/// client so pinned is an internal server: it may relay anywhere and its `X-Mailflow-*` and
/// `X-MS-Exchange-Organization-*` fields pass the header firewall. Never pin a partner here;
/// that is what [`PartnerPin`] is for.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DirectTrustEntry {
    pub name: String,
    pub pin: Pin,
}

/// A partner domain pinned to its own anchors: a certificate for `domain` is accepted only when
/// its chain contains a certificate matching one of `anchors`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PartnerAnchor {
    pub domain: String,
    pub anchors: Vec<Pin>,
}

/// A partner's certificate trusted by its pin instead of a chain (a self-signed or privately
/// issued certificate), bound to the partner's `domains`: for a sender or recipient domain on
/// the domain secure lists and in `domains`, the pin stands for the chain; the certificate must
/// still name the domain. The partner is authenticated as Partner for that domain only — it may
/// not relay, and the header firewall stays on for it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PartnerPin {
    pub name: String,
    pub domains: Vec<String>,
    pub pin: Pin,
}

impl Settings {
    /// The partner organizations' domains, normalised: every domain on either domain secure
    /// list, with its own anchors, or bound to a partner pin. What the console's partners page
    /// lists and the partner certificate watch records. Entries that do not parse as domains
    /// (settings not yet validated) are left out.
    pub fn partner_domains(&self) -> std::collections::BTreeSet<String> {
        let t = &self.transport;
        t.tls_send_domain_secure_list
            .iter()
            .chain(&t.tls_receive_domain_secure_list)
            .chain(self.partner_anchors.iter().map(|a| &a.domain))
            .chain(self.partner_pins.iter().flat_map(|p| &p.domains))
            .filter_map(|d| super::domain::normalize(d).ok())
            .collect()
    }

    /// Our mail domain: the first accepted domain (the one `init` made). What our MTA-STS
    /// policy and our TLS reports speak for; `None` when every accepted domain was removed.
    pub fn our_domain(&self) -> Option<&str> {
        self.accepted_domains.first().map(|d| d.domain.as_str())
    }

    pub fn receive_connector(&self, name: &str) -> Option<&ReceiveConnector> {
        self.receive_connectors
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }
    pub fn receive_connector_mut(&mut self, name: &str) -> Option<&mut ReceiveConnector> {
        self.receive_connectors
            .iter_mut()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }
    pub fn send_connector(&self, name: &str) -> Option<&SendConnector> {
        self.send_connectors
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }
    pub fn send_connector_mut(&mut self, name: &str) -> Option<&mut SendConnector> {
        self.send_connectors
            .iter_mut()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }
}
