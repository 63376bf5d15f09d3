//! One test per validate() rule: each breaks a valid configuration in one place and checks that
//! exactly that field is reported, with a message a person can act on.

use super::validate;
use crate::config::model::*;
use crate::config::units::{ByteSize, TimeSpan};

fn base() -> Settings {
    let mut s = Settings::initial("Contoso", "mail.contoso.test", "contoso.test");
    s.receive_connectors.push(ReceiveConnector {
        name: "Inbound".into(),
        bindings: vec!["127.0.0.1:2626".into()],
        ..ReceiveConnector::default()
    });
    s
}

/// Asserts that validation fails with a problem at `path` whose message contains `text`.
fn assert_problem(s: &Settings, path: &str, text: &str) {
    let problems = validate(s).expect_err("settings should be invalid");
    let hit = problems
        .0
        .iter()
        .any(|p| p.path == path && p.message.contains(text));
    assert!(
        hit,
        "expected a problem at {path} containing '{text}', got:\n{problems}"
    );
}

#[test]
fn the_base_is_valid() {
    validate(&base()).unwrap();
}

#[test]
fn version_must_be_known() {
    let mut s = base();
    s.version = 2;
    assert_problem(&s, "version", "not understood");
}

#[test]
fn organization_needs_name_and_valid_fqdn() {
    let mut s = base();
    s.organization.name = " ".into();
    s.organization.fqdn = "mail..contoso".into();
    assert_problem(&s, "organization.name", "needs a name");
    assert_problem(&s, "organization.fqdn", "empty label");
}

#[test]
fn accepted_domains_are_valid_and_unique() {
    let mut s = base();
    s.accepted_domains.push(AcceptedDomain {
        domain: "CONTOSO.test".into(),
        recipients: None,
    });
    s.accepted_domains.push(AcceptedDomain {
        domain: "bad domain".into(),
        recipients: Some(vec!["a b".into()]),
    });
    assert_problem(&s, "accepted_domains[1].domain", "listed twice");
    assert_problem(&s, "accepted_domains[2].domain", "not a valid domain");
    assert_problem(&s, "accepted_domains[2].recipients[0]", "mailbox name");
}

#[test]
fn domain_secure_lists_refuse_wildcards_and_duplicates() {
    let mut s = base();
    s.transport.tls_send_domain_secure_list = vec![
        "*.woodgrove.test".into(),
        "fabrikam.test".into(),
        "Fabrikam.test".into(),
    ];
    s.transport.tls_receive_domain_secure_list = vec!["*".into(), "not a domain".into()];
    assert_problem(
        &s,
        "transport.tls_send_domain_secure_list[0]",
        "wildcards are not allowed",
    );
    assert_problem(
        &s,
        "transport.tls_send_domain_secure_list[2]",
        "listed twice",
    );
    assert_problem(
        &s,
        "transport.tls_receive_domain_secure_list[0]",
        "wildcards are not allowed",
    );
    assert_problem(
        &s,
        "transport.tls_receive_domain_secure_list[1]",
        "not a valid domain",
    );
}

#[test]
fn queue_timing_is_bounded_and_ordered() {
    let mut s = base();
    s.transport.transient_failure_retry_interval = TimeSpan::secs(0);
    s.transport.delay_notification_timeout = TimeSpan::secs(3 * 86_400);
    assert_problem(
        &s,
        "transport.transient_failure_retry_interval",
        "outside the allowed range",
    );
    assert_problem(
        &s,
        "transport.delay_notification_timeout",
        "shorter than the message expiration",
    );
}

#[test]
fn receive_connector_domain_security_needs_tls() {
    let mut s = base();
    let rc = &mut s.receive_connectors[1];
    rc.domain_secure_enabled = true;
    rc.auth_mechanisms = vec![AuthMechanism::BasicAuth];
    assert_problem(
        &s,
        "receive_connectors[1].domain_secure_enabled",
        "Tls authentication mechanism",
    );
}

#[test]
fn receive_connector_domain_security_needs_partners_group() {
    let mut s = base();
    let rc = &mut s.receive_connectors[1];
    rc.domain_secure_enabled = true;
    rc.permission_groups = vec![PermissionGroup::AnonymousUsers];
    assert_problem(
        &s,
        "receive_connectors[1].domain_secure_enabled",
        "Partners permission group",
    );
}

#[test]
fn receive_connector_require_tls_needs_tls() {
    let mut s = base();
    s.receive_connectors[1].require_tls = true;
    s.receive_connectors[1].auth_mechanisms = vec![AuthMechanism::None];
    assert_problem(&s, "receive_connectors[1].require_tls", "Tls");
}

#[test]
fn auth_mechanism_combinations() {
    let mut s = base();
    s.receive_connectors[1].auth_mechanisms = vec![AuthMechanism::None, AuthMechanism::Tls];
    assert_problem(
        &s,
        "receive_connectors[1].auth_mechanisms",
        "None cannot be combined",
    );
    s.receive_connectors[1].auth_mechanisms =
        vec![AuthMechanism::Tls, AuthMechanism::BasicAuthRequireTls];
    assert_problem(
        &s,
        "receive_connectors[1].auth_mechanisms",
        "needs BasicAuth and Tls",
    );
    s.receive_connectors[1].auth_mechanisms = vec![AuthMechanism::Tls];
    s.receive_connectors[1].permission_groups = vec![PermissionGroup::AuthenticatedUsers];
    assert_problem(
        &s,
        "receive_connectors[1].permission_groups",
        "needs BasicAuth",
    );
}

#[test]
fn banner_must_start_with_220() {
    let mut s = base();
    s.receive_connectors[0].banner = Some("250 hello".into());
    assert_problem(&s, "receive_connectors[0].banner", "start with '220 '");
    s.receive_connectors[0].banner = Some("220 two\r\nlines".into());
    assert_problem(&s, "receive_connectors[0].banner", "one line");
    s.receive_connectors[0].banner = Some("220 mail.contoso.test ready".into());
    validate(&s).unwrap();
}

#[test]
fn message_size_and_recipient_limits_are_bounded() {
    let mut s = base();
    s.receive_connectors[0].max_message_size = ByteSize::kb(10);
    s.receive_connectors[1].max_message_size = ByteSize(3 * ByteSize::GB);
    s.receive_connectors[1].max_recipients_per_message = 0;
    s.send_connectors[0].max_message_size = ByteSize(1);
    assert_problem(
        &s,
        "receive_connectors[0].max_message_size",
        "outside the allowed range",
    );
    assert_problem(
        &s,
        "receive_connectors[1].max_message_size",
        "outside the allowed range",
    );
    assert_problem(
        &s,
        "receive_connectors[1].max_recipients_per_message",
        "between 1 and",
    );
    assert_problem(
        &s,
        "send_connectors[0].max_message_size",
        "outside the allowed range",
    );
}

#[test]
fn connection_limits_and_timeouts_are_consistent() {
    let mut s = base();
    let rc = &mut s.receive_connectors[1];
    rc.max_inbound_connections = 10;
    rc.max_inbound_connections_per_source = 11;
    rc.connection_timeout = TimeSpan::secs(10);
    rc.connection_inactivity_timeout = TimeSpan::secs(60);
    rc.tarpit_interval = TimeSpan::secs(3600);
    assert_problem(
        &s,
        "receive_connectors[1].max_inbound_connections_per_source",
        "not more than",
    );
    assert_problem(
        &s,
        "receive_connectors[1].connection_timeout",
        "inactivity timeout",
    );
    assert_problem(
        &s,
        "receive_connectors[1].tarpit_interval",
        "outside the allowed range",
    );
}

#[test]
fn bindings_and_ranges_must_parse() {
    let mut s = base();
    s.receive_connectors[1].bindings = vec![
        "mail:25".into(),
        "127.0.0.1:2626".into(),
        "127.0.0.1:2626".into(),
    ];
    s.receive_connectors[1].remote_ip_ranges = vec!["10.0.0.9-10.0.0.1".into()];
    assert_problem(&s, "receive_connectors[1].bindings[0]", "IP:port");
    assert_problem(&s, "receive_connectors[1].bindings[2]", "listed twice");
    assert_problem(
        &s,
        "receive_connectors[1].remote_ip_ranges[0]",
        "after the end",
    );
    s.receive_connectors[1].bindings = vec![];
    s.receive_connectors[1].remote_ip_ranges = vec![];
    assert_problem(&s, "receive_connectors[1].bindings", "at least one");
    assert_problem(&s, "receive_connectors[1].remote_ip_ranges", "at least one");
}

#[test]
fn same_binding_needs_different_remote_ranges() {
    let mut s = base();
    s.receive_connectors[1].bindings = vec!["0.0.0.0:2525".into()];
    assert_problem(
        &s,
        "receive_connectors[1].bindings",
        "same remote IP ranges",
    );
    s.receive_connectors[1].remote_ip_ranges = vec!["192.0.2.0/24".into()];
    validate(&s).unwrap();
}

#[test]
fn connector_names_are_unique_and_present() {
    let mut s = base();
    s.receive_connectors[1].name = "default".into();
    assert_problem(&s, "receive_connectors[1].name", "already used");
    s.receive_connectors[1].name = "".into();
    assert_problem(&s, "receive_connectors[1].name", "needs a name");
    s.receive_connectors[1].name = "x".repeat(65);
    assert_problem(&s, "receive_connectors[1].name", "longer than");
    let mut s = base();
    s.send_connectors.push(s.send_connectors[0].clone());
    assert_problem(&s, "send_connectors[1].name", "already used");
}

#[test]
fn connector_fqdn_must_be_a_domain() {
    let mut s = base();
    s.receive_connectors[0].fqdn = Some("not valid!".into());
    s.send_connectors[0].fqdn = Some("-bad.test".into());
    assert_problem(&s, "receive_connectors[0].fqdn", "not a valid domain");
    assert_problem(&s, "send_connectors[0].fqdn", "hyphen");
}

#[test]
fn tls_auth_level_only_with_require_tls() {
    let mut s = base();
    s.send_connectors[0].tls_auth_level = Some(TlsAuthLevel::CertificateValidation);
    assert_problem(
        &s,
        "send_connectors[0].tls_auth_level",
        "only be set together with RequireTLS",
    );
    s.send_connectors[0].require_tls = true;
    validate(&s).unwrap();
}

#[test]
fn tls_domain_rules() {
    let mut s = base();
    let sc = &mut s.send_connectors[0];
    sc.require_tls = true;
    sc.tls_auth_level = Some(TlsAuthLevel::CertificateValidation);
    sc.tls_domain = Some("mail.woodgrove.test".into());
    assert_problem(
        &s,
        "send_connectors[0].tls_domain",
        "only used with the DomainValidation",
    );
    let sc = &mut s.send_connectors[0];
    sc.tls_auth_level = Some(TlsAuthLevel::DomainValidation);
    sc.tls_domain = None;
    sc.smart_hosts = vec!["127.0.0.1:2626".into()];
    assert_problem(&s, "send_connectors[0].tls_domain", "needs a TLS domain");
    s.send_connectors[0].tls_domain = Some("*.woodgrove.test".into());
    validate(&s).unwrap();
}

#[test]
fn require_tls_and_domain_security_exclude_ignore_starttls() {
    let mut s = base();
    let sc = &mut s.send_connectors[0];
    sc.ignore_starttls = true;
    sc.require_tls = true;
    sc.domain_secure_enabled = true;
    assert_problem(&s, "send_connectors[0].require_tls", "IgnoreSTARTTLS");
    assert_problem(
        &s,
        "send_connectors[0].domain_secure_enabled",
        "IgnoreSTARTTLS",
    );
}

#[test]
fn address_spaces_follow_exchange_syntax() {
    let mut s = base();
    s.send_connectors[0].address_spaces = vec![
        AddressSpace {
            address: "*contoso.com".into(),
            cost: 1,
        },
        AddressSpace {
            address: "*.contoso.com".into(),
            cost: 0,
        },
        AddressSpace {
            address: "fabrikam.test".into(),
            cost: 101,
        },
        AddressSpace {
            address: "FABRIKAM.test".into(),
            cost: 5,
        },
    ];
    assert_problem(&s, "send_connectors[0].address_spaces[0]", "whole label");
    assert_problem(
        &s,
        "send_connectors[0].address_spaces[1].cost",
        "between 1 and 100",
    );
    assert_problem(
        &s,
        "send_connectors[0].address_spaces[2].cost",
        "between 1 and 100",
    );
    assert_problem(&s, "send_connectors[0].address_spaces[3]", "listed twice");
    s.send_connectors[0].address_spaces.clear();
    assert_problem(&s, "send_connectors[0].address_spaces", "at least one");
}

#[test]
fn smart_hosts_must_parse() {
    let mut s = base();
    s.send_connectors[0].smart_hosts = vec!["mail.woodgrove.test:0".into(), "a b".into()];
    assert_problem(&s, "send_connectors[0].smart_hosts[0]", "port number");
    assert_problem(&s, "send_connectors[0].smart_hosts[1]", "not a smart host");
}

#[test]
fn pins_have_the_right_length() {
    let mut s = base();
    s.direct_trust.push(DirectTrustEntry {
        name: "relay2".into(),
        pin: Pin::Thumbprint("ABC".into()),
    });
    s.direct_trust.push(DirectTrustEntry {
        name: "Relay2".into(),
        pin: Pin::PublicKeySha256("00".repeat(32)),
    });
    s.receive_connectors[0].certificate = CertificateSelection::Thumbprint("xyz".into());
    assert_problem(&s, "direct_trust[0].pin", "40 hexadecimal");
    assert_problem(&s, "direct_trust[1].name", "used twice");
    assert_problem(&s, "receive_connectors[0].certificate", "40 hexadecimal");
}

#[test]
fn partner_anchors_name_one_domain_with_anchors() {
    let mut s = base();
    s.partner_anchors.push(PartnerAnchor {
        domain: "*.woodgrove.test".into(),
        anchors: vec![],
    });
    s.partner_anchors.push(PartnerAnchor {
        domain: "fabrikam.test".into(),
        anchors: vec![Pin::PublicKeySha256("ab".into())],
    });
    assert_problem(&s, "partner_anchors[0].domain", "wildcards are not allowed");
    assert_problem(&s, "partner_anchors[0].anchors", "at least one anchor");
    assert_problem(&s, "partner_anchors[1].anchors[0]", "64 hexadecimal");
}

#[test]
fn partner_pins_are_bound_to_domains_and_never_also_our_own() {
    let mut s = base();
    let tp = "AB".repeat(20);
    s.direct_trust.push(DirectTrustEntry {
        name: "relay2".into(),
        pin: Pin::Thumbprint(tp.clone()),
    });
    s.partner_pins.push(PartnerPin {
        name: "Fabrikam".into(),
        domains: vec![],
        pin: Pin::Thumbprint(tp.to_lowercase()),
    });
    s.partner_pins.push(PartnerPin {
        name: "fabrikam".into(),
        domains: vec!["*.fabrikam.test".into(), "a b".into()],
        pin: Pin::PublicKeySha256("00".into()),
    });
    assert_problem(&s, "partner_pins[0].domains", "at least one");
    assert_problem(&s, "partner_pins[0].pin", "Direct Trust 'relay2'");
    assert_problem(&s, "partner_pins[1].name", "used twice");
    assert_problem(
        &s,
        "partner_pins[1].domains[0]",
        "wildcards are not allowed",
    );
    assert!(
        validate(&s)
            .unwrap_err()
            .at("partner_pins[1].domains[1]")
            .count()
            == 1
    );
    assert_problem(&s, "partner_pins[1].pin", "64 hexadecimal");
    let mut ok = base();
    ok.partner_pins.push(PartnerPin {
        name: "Fabrikam".into(),
        domains: vec!["fabrikam.test".into(), "fabrikam.example".into()],
        pin: Pin::PublicKeySha256("0A".repeat(32)),
    });
    assert!(validate(&ok).is_ok());
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut s = base();
    s.organization.fqdn = "".into();
    s.receive_connectors[0].banner = Some("hello".into());
    s.send_connectors[0].address_spaces.clear();
    let problems = validate(&s).unwrap_err();
    assert!(problems.0.len() >= 3, "{problems}");
    assert_eq!(problems.at("receive_connectors[0]").count(), 1);
}

#[test]
fn the_tls_report_address_is_a_mailbox_of_ours() {
    let mut s = base();
    s.transport.tls_rpt_address = Some("tls-reports@contoso.test".into());
    validate(&s).unwrap();
    s.transport.tls_rpt_address = Some("not an address".into());
    assert_problem(&s, "transport.tls_rpt_address", "is not a mail address");
    s.transport.tls_rpt_address = Some("tls-reports@woodgrove.test".into());
    assert_problem(
        &s,
        "transport.tls_rpt_address",
        "woodgrove.test is not one of our accepted domains",
    );
    s.transport.tls_rpt_address = Some("tls-reports@contoso.test".into());
    s.accepted_domains[0].recipients = Some(vec!["alice".into()]);
    assert_problem(
        &s,
        "transport.tls_rpt_address",
        "add tls-reports to them first",
    );
}
