//! The command-line equivalent of a connector change made in the console: the
//! `mailflow connector send|receive new|set NAME --option value …` that makes the same change,
//! naming only what changed (everything that differs from a new connector's defaults, for a
//! new one), so the administrator can copy it into a script or a change record. Pure: the
//! connector before and after in, the arguments out. The words are the ones `mailflow
//! connector` reads back (tested by running them in `tests/integration/settings_cli.rs`).

use super::domain_security::{auth_word, shell_arg};
use crate::config::{
    CertificateSelection, PermissionGroup, ProtocolLoggingLevel, ReceiveConnector, SendConnector,
    TlsAuthLevel,
};

/// The command-line word of a permission group (`--permission-groups`).
pub fn group_word(g: PermissionGroup) -> &'static str {
    match g {
        PermissionGroup::AnonymousUsers => "anonymoususers",
        PermissionGroup::AuthenticatedUsers => "authenticatedusers",
        PermissionGroup::Partners => "partners",
        PermissionGroup::InternalServers => "internalservers",
        PermissionGroup::AnonymousRelay => "anonymousrelay",
    }
}

/// The command-line word of a TLS authentication level (`--tls-auth-level`).
pub fn tls_auth_word(level: Option<TlsAuthLevel>) -> &'static str {
    match level {
        None => "none",
        Some(TlsAuthLevel::EncryptionOnly) => "encryptiononly",
        Some(TlsAuthLevel::CertificateValidation) => "certificatevalidation",
        Some(TlsAuthLevel::DomainValidation) => "domainvalidation",
    }
}

fn logging_word(level: ProtocolLoggingLevel) -> &'static str {
    match level {
        ProtocolLoggingLevel::Verbose => "verbose",
        ProtocolLoggingLevel::None => "none",
    }
}

fn certificate_word(c: &CertificateSelection) -> String {
    match c {
        CertificateSelection::Automatic => "automatic".into(),
        CertificateSelection::Thumbprint(t) => t.clone(),
    }
}

/// The options that changed, collected in order.
struct Options(Vec<String>);

impl Options {
    fn add<T: PartialEq>(
        &mut self,
        flag: &str,
        before: &T,
        after: &T,
        word: impl Fn(&T) -> String,
    ) {
        if before != after {
            self.0.push(format!("--{flag}"));
            self.0.push(word(after));
        }
    }
}

/// `new` and what differs from `default`, or `set` and what differs from `before`; `None`
/// for a rename, which the command line cannot do.
fn verb_and_base<'a, C>(
    before: Option<&'a C>,
    default: &'a C,
    renamed: impl Fn(&C) -> bool,
) -> Option<(&'static str, &'a C)> {
    match before {
        Some(b) if renamed(b) => None,
        Some(b) => Some(("set", b)),
        None => Some(("new", default)),
    }
}

/// `connector KIND VERB NAME` and the options.
fn command(kind: &str, verb: &str, name: &str, options: Options) -> Vec<String> {
    let mut args = vec![
        "connector".to_string(),
        kind.into(),
        verb.into(),
        name.into(),
    ];
    args.extend(options.0);
    args
}

fn bool_word(b: &bool) -> String {
    b.to_string()
}

fn list(items: &[String]) -> String {
    items.join(",")
}

fn optional(text: &Option<String>) -> String {
    text.clone().unwrap_or_default()
}

/// The arguments (after `mailflow`) that make `after` of a send connector: `set` with what
/// changed from `before`, or `new` with what differs from a new connector. `None` when the
/// connector was renamed: the command line cannot rename one.
pub fn send_connector_args(
    before: Option<&SendConnector>,
    after: &SendConnector,
) -> Option<Vec<String>> {
    let default = SendConnector::default();
    let (verb, b) = verb_and_base(before, &default, |b| b.name != after.name)?;
    let mut o = Options(Vec::new());
    o.add(
        "address-spaces",
        &b.address_spaces,
        &after.address_spaces,
        |v| {
            v.iter()
                .map(|a| format!("{};{}", a.address, a.cost))
                .collect::<Vec<_>>()
                .join(",")
        },
    );
    o.add("smart-hosts", &b.smart_hosts, &after.smart_hosts, |v| {
        list(v)
    });
    o.add("port", &b.port, &after.port, u16::to_string);
    o.add("fqdn", &b.fqdn, &after.fqdn, optional);
    o.add(
        "domain-secure",
        &b.domain_secure_enabled,
        &after.domain_secure_enabled,
        bool_word,
    );
    o.add("require-tls", &b.require_tls, &after.require_tls, bool_word);
    o.add(
        "ignore-starttls",
        &b.ignore_starttls,
        &after.ignore_starttls,
        bool_word,
    );
    o.add(
        "tls-auth-level",
        &b.tls_auth_level,
        &after.tls_auth_level,
        |v| tls_auth_word(*v).into(),
    );
    o.add("tls-domain", &b.tls_domain, &after.tls_domain, optional);
    o.add(
        "certificate",
        &b.certificate,
        &after.certificate,
        certificate_word,
    );
    o.add(
        "max-message-size",
        &b.max_message_size,
        &after.max_message_size,
        |v| v.to_string(),
    );
    o.add(
        "inactivity-timeout",
        &b.connection_inactivity_timeout,
        &after.connection_inactivity_timeout,
        |v| v.to_string(),
    );
    o.add(
        "max-messages-per-connection",
        &b.smtp_max_messages_per_connection,
        &after.smtp_max_messages_per_connection,
        u32::to_string,
    );
    o.add(
        "protocol-logging",
        &b.protocol_logging_level,
        &after.protocol_logging_level,
        |v| logging_word(*v).into(),
    );
    o.add("dane", &b.dane_enabled, &after.dane_enabled, bool_word);
    o.add(
        "mta-sts",
        &b.mta_sts_enabled,
        &after.mta_sts_enabled,
        bool_word,
    );
    o.add("enabled", &b.enabled, &after.enabled, bool_word);
    Some(command("send", verb, &after.name, o))
}

/// As [`send_connector_args`], for a receive connector.
pub fn receive_connector_args(
    before: Option<&ReceiveConnector>,
    after: &ReceiveConnector,
) -> Option<Vec<String>> {
    let default = ReceiveConnector::default();
    let (verb, b) = verb_and_base(before, &default, |b| b.name != after.name)?;
    let mut o = Options(Vec::new());
    o.add("bindings", &b.bindings, &after.bindings, |v| list(v));
    o.add(
        "remote-ip-ranges",
        &b.remote_ip_ranges,
        &after.remote_ip_ranges,
        |v| list(v),
    );
    o.add("fqdn", &b.fqdn, &after.fqdn, optional);
    o.add("banner", &b.banner, &after.banner, optional);
    o.add("auth", &b.auth_mechanisms, &after.auth_mechanisms, |v| {
        v.iter()
            .map(|m| auth_word(*m))
            .collect::<Vec<_>>()
            .join(",")
    });
    o.add(
        "permission-groups",
        &b.permission_groups,
        &after.permission_groups,
        |v| {
            v.iter()
                .map(|g| group_word(*g))
                .collect::<Vec<_>>()
                .join(",")
        },
    );
    o.add(
        "domain-secure",
        &b.domain_secure_enabled,
        &after.domain_secure_enabled,
        bool_word,
    );
    o.add("require-tls", &b.require_tls, &after.require_tls, bool_word);
    o.add(
        "max-message-size",
        &b.max_message_size,
        &after.max_message_size,
        |v| v.to_string(),
    );
    o.add(
        "max-recipients",
        &b.max_recipients_per_message,
        &after.max_recipients_per_message,
        u32::to_string,
    );
    o.add(
        "max-connections",
        &b.max_inbound_connections,
        &after.max_inbound_connections,
        u32::to_string,
    );
    o.add(
        "max-connections-per-source",
        &b.max_inbound_connections_per_source,
        &after.max_inbound_connections_per_source,
        u32::to_string,
    );
    o.add(
        "inactivity-timeout",
        &b.connection_inactivity_timeout,
        &after.connection_inactivity_timeout,
        |v| v.to_string(),
    );
    o.add(
        "connection-timeout",
        &b.connection_timeout,
        &after.connection_timeout,
        |v| v.to_string(),
    );
    o.add("tarpit", &b.tarpit_interval, &after.tarpit_interval, |v| {
        v.to_string()
    });
    o.add(
        "protocol-logging",
        &b.protocol_logging_level,
        &after.protocol_logging_level,
        |v| logging_word(*v).into(),
    );
    o.add(
        "certificate",
        &b.certificate,
        &after.certificate,
        certificate_word,
    );
    o.add("enabled", &b.enabled, &after.enabled, bool_word);
    Some(command("receive", verb, &after.name, o))
}

/// The arguments as one line for a POSIX shell: `mailflow connector send set 'To Woodgrove' …`.
pub fn shell_line(args: &[String]) -> String {
    let mut line = String::from("mailflow");
    for a in args {
        line.push(' ');
        line.push_str(&shell_arg(a));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AddressSpace;
    use crate::config::units::TimeSpan;

    #[test]
    fn only_what_changed_is_named() {
        let before = SendConnector {
            name: "To Woodgrove".into(),
            ..Default::default()
        };
        let mut after = before.clone();
        after.smart_hosts = vec!["mail.woodgrove.test:25".into()];
        after.domain_secure_enabled = true;
        after.fqdn = None;
        let args = send_connector_args(Some(&before), &after).expect("args");
        assert_eq!(
            shell_line(&args),
            "mailflow connector send set 'To Woodgrove' --smart-hosts mail.woodgrove.test:25 --domain-secure true"
        );
        assert_eq!(
            send_connector_args(Some(&before), &before).map(|a| a.len()),
            Some(4),
            "nothing changed: no option"
        );
    }

    #[test]
    fn a_new_connector_names_what_differs_from_the_defaults() {
        let after = SendConnector {
            name: "Partners".into(),
            address_spaces: vec![AddressSpace {
                address: "*.woodgrove.test".into(),
                cost: 5,
            }],
            tls_auth_level: Some(TlsAuthLevel::DomainValidation),
            require_tls: true,
            ..Default::default()
        };
        let line = shell_line(&send_connector_args(None, &after).expect("args"));
        assert_eq!(
            line,
            "mailflow connector send new Partners --address-spaces '*.woodgrove.test;5' --require-tls true --tls-auth-level domainvalidation"
        );
        let mut receive = ReceiveConnector {
            name: "Partners in".into(),
            ..Default::default()
        };
        receive.permission_groups = vec![PermissionGroup::Partners];
        receive.tarpit_interval = TimeSpan::secs(0);
        let line = shell_line(&receive_connector_args(None, &receive).expect("args"));
        assert_eq!(
            line,
            "mailflow connector receive new 'Partners in' --permission-groups partners --tarpit 0s"
        );
    }

    #[test]
    fn a_rename_has_no_equivalent() {
        let before = SendConnector {
            name: "Old".into(),
            ..Default::default()
        };
        let after = SendConnector {
            name: "New".into(),
            ..Default::default()
        };
        assert_eq!(send_connector_args(Some(&before), &after), None);
    }
}
