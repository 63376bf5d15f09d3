//! Transport settings, connectors and accepted domains through the command line: the article's
//! Set-TransportConfig / Set-SendConnector / Set-ReceiveConnector steps, and refusals that
//! leave settings.ron untouched.

use crate::support::util::{Org, refused};

#[test]
fn the_articles_domain_security_settings() {
    let org = Org::new("w2k3.nwtraders.msft", "nwtraders.msft");
    org.ok(&[
        "connector",
        "receive",
        "new",
        "Inbound",
        "--bindings",
        "127.0.0.1:2626",
    ]);
    org.ok(&[
        "transport",
        "set",
        "--send-domain-secure",
        "domaene.tld",
        "--receive-domain-secure",
        "domaene.tld",
    ]);
    org.ok(&[
        "connector",
        "send",
        "set",
        "Outbound",
        "--domain-secure",
        "true",
    ]);
    org.ok(&[
        "connector",
        "receive",
        "set",
        "Inbound",
        "--domain-secure",
        "true",
        "--auth",
        "tls",
    ]);
    let t = org.ok(&["transport", "show"]);
    assert!(
        t.contains("TLSSendDomainSecureList                : domaene.tld"),
        "{t}"
    );
    assert!(
        t.contains("TLSReceiveDomainSecureList             : domaene.tld"),
        "{t}"
    );
    let r = org.ok(&["connector", "receive", "show", "Inbound"]);
    assert!(
        r.contains("DomainSecureEnabled           : True")
            && r.contains("AuthMechanism                 : Tls"),
        "{r}"
    );
    let s = org.ok(&["connector", "send", "show", "Outbound"]);
    assert!(s.contains("DomainSecureEnabled          : True"), "{s}");
    let text = std::fs::read_to_string(org.dir.join("settings.ron")).unwrap();
    assert!(text.contains("domain_secure_enabled: true"));
    assert!(org.dir.join("settings.ron.bak").exists());
}

#[test]
fn rule_breaking_changes_are_refused_and_nothing_is_saved() {
    let org = Org::new("mail.contoso.test", "contoso.test");
    refused(
        &org,
        &[
            "transport",
            "set",
            "--send-domain-secure",
            "*.woodgrove.test",
        ],
        "wildcards are not allowed",
    );
    refused(
        &org,
        &[
            "connector",
            "receive",
            "set",
            "Default",
            "--auth",
            "basicauth",
            "--domain-secure",
            "true",
        ],
        "Tls authentication mechanism",
    );
    refused(
        &org,
        &[
            "connector",
            "receive",
            "set",
            "Default",
            "--banner",
            "hello",
        ],
        "must start with '220 '",
    );
    refused(
        &org,
        &[
            "connector",
            "receive",
            "set",
            "Default",
            "--bindings",
            "localhost:25",
        ],
        "not a binding",
    );
    refused(
        &org,
        &[
            "connector",
            "receive",
            "set",
            "Default",
            "--remote-ip-ranges",
            "10.0.0.9-10.0.0.1",
        ],
        "after the end",
    );
    refused(
        &org,
        &[
            "connector",
            "receive",
            "set",
            "Default",
            "--max-message-size",
            "1KB",
        ],
        "outside the allowed range",
    );
    refused(
        &org,
        &[
            "connector",
            "receive",
            "new",
            "default",
            "--bindings",
            "127.0.0.1:2727",
        ],
        "already used",
    );
    refused(
        &org,
        &[
            "connector",
            "send",
            "set",
            "Outbound",
            "--tls-auth-level",
            "domainvalidation",
        ],
        "only be set together with RequireTLS",
    );
    refused(
        &org,
        &[
            "connector",
            "send",
            "set",
            "Outbound",
            "--address-spaces",
            "*contoso.com",
        ],
        "whole label",
    );
    refused(
        &org,
        &[
            "connector",
            "send",
            "set",
            "Outbound",
            "--smart-hosts",
            "mail.woodgrove.test:0",
        ],
        "port number",
    );
    refused(
        &org,
        &["connector", "send", "set", "Nope", "--enabled", "false"],
        "no send connector 'Nope'",
    );
    refused(
        &org,
        &["domain", "add", "contoso.test"],
        "already an accepted domain",
    );
    refused(
        &org,
        &["domain", "remove", "fabrikam.test"],
        "not an accepted domain",
    );
}

#[test]
fn connectors_and_domains_round_trip_through_the_cli() {
    let org = Org::new("mail.contoso.test", "contoso.test");
    org.ok(&[
        "connector",
        "send",
        "new",
        "ToWoodgrove",
        "--address-spaces",
        "woodgrove.test;1,*.woodgrove.test;5",
        "--smart-hosts",
        "127.0.0.1:2626,127.0.0.2:2626",
        "--require-tls",
        "true",
        "--tls-auth-level",
        "domainvalidation",
        "--tls-domain",
        "mail.woodgrove.test",
    ]);
    let s = org.ok(&["connector", "send", "show", "ToWoodgrove"]);
    assert!(
        s.contains("SMTP:woodgrove.test;1, SMTP:*.woodgrove.test;5"),
        "{s}"
    );
    assert!(s.contains("127.0.0.1:2626, 127.0.0.2:2626"), "{s}");
    assert!(s.contains("DomainValidation"), "{s}");
    org.ok(&[
        "domain",
        "add",
        "Sales.Contoso.test",
        "--recipients",
        "alice,bob",
    ]);
    let d = org.ok(&["domain", "list"]);
    assert!(
        d.contains("sales.contoso.test") && d.contains("alice, bob"),
        "{d}"
    );
    org.ok(&["connector", "send", "remove", "ToWoodgrove"]);
    assert!(
        !org.ok(&["connector", "send", "list"])
            .contains("ToWoodgrove")
    );
}

#[test]
fn init_creates_a_self_signed_smtp_certificate_named_after_the_fqdn() {
    let org = Org::new("mail.contoso.test", "contoso.test");
    let list = org.ok(&["cert", "list"]);
    let row = list
        .lines()
        .find(|l| l.contains("CN=mail.contoso.test"))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(row.contains("SMTP") && row.contains("Valid"), "{list}");
    let tp = row.split_whitespace().next().unwrap();
    let show = org.ok(&["cert", "show", tp]);
    assert!(show.contains("IsSelfSigned           : True"), "{show}");
    assert!(
        show.contains("CertificateDomains     : mail.contoso.test, contoso.test"),
        "{show}"
    );
    assert!(
        show.contains("Server Authentication (serverAuth), Client Authentication (clientAuth)"),
        "{show}"
    );
    let r = org.ok(&["connector", "receive", "show", "Default"]);
    assert!(
        r.contains("127.0.0.1:2525")
            && r.contains("AuthMechanism                 : Tls")
            && r.contains("AnonymousUsers"),
        "{r}"
    );
    let s = org.ok(&["connector", "send", "show", "Outbound"]);
    assert!(s.contains("SMTP:*;1") && s.contains("(none)"), "{s}");
    assert!(org.ok(&["domain", "list"]).contains("contoso.test"));
}

/// Both connector kinds go through one list/show/new/set/remove path on the command line; each
/// still says what it did in its own words, and a removed connector is gone from list and show.
#[test]
fn connector_list_new_set_remove_for_both_kinds() {
    let org = Org::new("mail.contoso.test", "contoso.test");
    let out = org.ok(&[
        "connector",
        "receive",
        "new",
        "Inbound",
        "--bindings",
        "127.0.0.1:2626",
    ]);
    assert!(
        out.contains("Receive connector 'Inbound' created."),
        "{out}"
    );
    let out = org.ok(&[
        "connector",
        "send",
        "new",
        "Partner",
        "--address-spaces",
        "fabrikam.test;5",
        "--smart-hosts",
        "mx.fabrikam.test:2525",
    ]);
    assert!(out.contains("Send connector 'Partner' created."), "{out}");
    let out = org.ok(&[
        "connector",
        "receive",
        "set",
        "Inbound",
        "--enabled",
        "false",
    ]);
    assert!(
        out.contains("Receive connector 'Inbound' saved; new sessions use the change."),
        "{out}"
    );
    let out = org.ok(&["connector", "send", "set", "Partner", "--port", "2525"]);
    assert!(
        out.contains("Send connector 'Partner' saved; new sessions use the change."),
        "{out}"
    );

    let list = org.ok(&["connector", "receive", "list"]);
    let header = list.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("Name")
            && header.contains("Enabled")
            && header.contains("Bindings")
            && header.ends_with("DomainSecureEnabled  AuthMechanism"),
        "{list}"
    );
    let row = list
        .lines()
        .find(|l| l.starts_with("Inbound"))
        .unwrap_or_default();
    assert!(
        row.contains("False") && row.contains("127.0.0.1:2626"),
        "{list}"
    );
    let list = org.ok(&["connector", "send", "list"]);
    let header = list.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("Name")
            && header.contains("AddressSpaces")
            && header.contains("SmartHosts")
            && header.ends_with("DomainSecureEnabled"),
        "{list}"
    );
    let row = list
        .lines()
        .find(|l| l.starts_with("Partner"))
        .unwrap_or_default();
    assert!(
        row.contains("fabrikam.test;5") && row.contains("mx.fabrikam.test:2525"),
        "{list}"
    );
    let show = org.ok(&["connector", "send", "show", "Partner"]);
    assert!(show.contains("SMTP:fabrikam.test;5"), "{show}");

    let out = org.ok(&["connector", "receive", "remove", "Inbound"]);
    assert!(
        out.contains("Receive connector 'Inbound' removed."),
        "{out}"
    );
    let out = org.ok(&["connector", "send", "remove", "Partner"]);
    assert!(out.contains("Send connector 'Partner' removed."), "{out}");
    assert!(
        !org.ok(&["connector", "receive", "list"])
            .contains("Inbound")
    );
    assert!(!org.ok(&["connector", "send", "list"]).contains("Partner"));
    refused(
        &org,
        &["connector", "receive", "show", "Inbound"],
        "no receive connector 'Inbound'",
    );
    refused(
        &org,
        &["connector", "send", "show", "Partner"],
        "no send connector 'Partner'",
    );
}

/// The console's "Equivalent:" command of a connector change, run by the real command line,
/// makes exactly the change: every option it names is read back as written.
#[test]
fn the_consoles_equivalent_connector_commands_make_the_same_change() {
    use mailflow::admin::Workspace;
    use mailflow::admin::commands::{receive_connector_args, send_connector_args};
    use mailflow::config::units::{ByteSize, TimeSpan};
    use mailflow::config::{
        AddressSpace, AuthMechanism, CertificateSelection, PermissionGroup, ProtocolLoggingLevel,
        ReceiveConnector, SendConnector, TlsAuthLevel,
    };
    let org = Org::new("mail.contoso.test", "contoso.test");
    let settings = || {
        Workspace::open(&mailflow::store::DataDir::new(&org.dir))
            .expect("workspace")
            .settings
    };
    let run = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        org.ok(&refs);
    };
    // Every send option changed on the existing connector.
    let before: SendConnector = settings().send_connectors[0].clone();
    let mut after = before.clone();
    after.address_spaces = vec![
        AddressSpace {
            address: "woodgrove.test".into(),
            cost: 3,
        },
        AddressSpace {
            address: "*.woodgrove.test".into(),
            cost: 7,
        },
    ];
    after.smart_hosts = vec!["mail.woodgrove.test:2525".into(), "[::1]:25".into()];
    after.port = 587;
    after.fqdn = Some("out.contoso.test".into());
    after.domain_secure_enabled = true;
    after.require_tls = true;
    after.tls_auth_level = Some(TlsAuthLevel::DomainValidation);
    after.tls_domain = Some("mail.woodgrove.test".into());
    after.max_message_size = ByteSize::mb(20);
    after.connection_inactivity_timeout = TimeSpan::secs(90);
    after.smtp_max_messages_per_connection = 7;
    after.protocol_logging_level = ProtocolLoggingLevel::None;
    after.dane_enabled = false;
    after.mta_sts_enabled = false;
    after.enabled = false;
    run(send_connector_args(Some(&before), &after).expect("args"));
    assert_eq!(settings().send_connectors[0], after);
    // A new one from its defaults.
    let new = SendConnector {
        name: "To Fabrikam".into(),
        address_spaces: vec![AddressSpace {
            address: "fabrikam.test".into(),
            cost: 1,
        }],
        ignore_starttls: true,
        ..Default::default()
    };
    run(send_connector_args(None, &new).expect("args"));
    assert_eq!(settings().send_connector("To Fabrikam"), Some(&new));

    // Every receive option changed.
    let before: ReceiveConnector = settings().receive_connectors[0].clone();
    let mut after = before.clone();
    after.bindings = vec!["127.0.0.1:2626".into()];
    after.remote_ip_ranges = vec!["127.0.0.0/8".into(), "10.0.0.1-10.0.0.9".into()];
    after.fqdn = Some("in.contoso.test".into());
    after.banner = Some("220 in.contoso.test ready".into());
    after.auth_mechanisms = vec![
        AuthMechanism::Tls,
        AuthMechanism::BasicAuth,
        AuthMechanism::BasicAuthRequireTls,
    ];
    after.permission_groups = vec![
        PermissionGroup::Partners,
        PermissionGroup::AuthenticatedUsers,
    ];
    after.domain_secure_enabled = true;
    after.require_tls = true;
    after.max_message_size = ByteSize::mb(10);
    after.max_recipients_per_message = 50;
    after.max_inbound_connections = 300;
    after.max_inbound_connections_per_source = 4;
    after.connection_inactivity_timeout = TimeSpan::secs(45);
    after.connection_timeout = TimeSpan::secs(600);
    after.tarpit_interval = TimeSpan::secs(0);
    after.protocol_logging_level = ProtocolLoggingLevel::None;
    after.certificate = CertificateSelection::Automatic;
    run(receive_connector_args(Some(&before), &after).expect("args"));
    assert_eq!(settings().receive_connectors[0], after);
}
