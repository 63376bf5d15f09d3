//! What will be in place after a Domain Security set-up with a partner: our SMTP certificate
//! (serverAuth and clientAuth, our domain among its names, issued by a CA), the partner's root,
//! the domain secure lists and the connectors — each a check with a mark and a sentence. The
//! console's wizard shows them; the facts come from what the caller already holds in memory,
//! so the checks never read the disk.

use super::domain_security::DomainSecurityPlan;
use crate::config::Settings;

/// The verdict of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckMark {
    Pass,
    Fail,
    Warn,
    /// Not checked (not applicable, or not available).
    Skip,
}

impl CheckMark {
    pub fn from_bool(ok: bool) -> CheckMark {
        if ok { CheckMark::Pass } else { CheckMark::Fail }
    }
}

/// One check of the summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadinessCheck {
    pub mark: CheckMark,
    pub what: String,
    pub detail: String,
}

/// The certificate the relay presents as its SMTP identity.
#[derive(Clone, Copy, Debug)]
pub struct OurCertificate<'a> {
    pub subject: &'a str,
    pub names: &'a [String],
    pub server_auth: bool,
    pub client_auth: bool,
    pub self_signed: bool,
}

/// What is known of the partner's root the plan names.
#[derive(Clone, Copy, Debug)]
pub enum PartnerRoot<'a> {
    /// A file to import: the subject of the CA certificate read from it, if it holds one.
    File(Option<&'a str>),
    /// A trusted root: its subject and whether it is current, when it was found.
    Existing(Option<(&'a str, bool)>),
    /// Relying on the roots already trusted.
    AlreadyTrusted,
}

/// The checks of a plan, in the order the administrator reads them.
pub fn readiness(
    plan: &DomainSecurityPlan,
    settings: &Settings,
    ours: Option<OurCertificate<'_>>,
    root: PartnerRoot<'_>,
) -> Vec<ReadinessCheck> {
    let mut out = Vec::new();
    let mut add = |mark: CheckMark, what: String, detail: String| {
        out.push(ReadinessCheck { mark, what, detail })
    };
    let org = settings
        .accepted_domains
        .first()
        .map(|d| d.domain.as_str())
        .unwrap_or("");
    match ours {
        None => add(
            CheckMark::Fail,
            "Our SMTP certificate".into(),
            "no certificate is enabled for SMTP: request one, import it and enable it for SMTP"
                .into(),
        ),
        Some(c) => {
            add(
                CheckMark::from_bool(c.server_auth && c.client_auth),
                "Our SMTP certificate has serverAuth and clientAuth".into(),
                format!(
                    "{} — serverAuth {}, clientAuth {}",
                    c.subject,
                    if c.server_auth { "yes" } else { "NO" },
                    if c.client_auth { "yes" } else { "NO" }
                ),
            );
            let names = c
                .names
                .iter()
                .any(|n| crate::pki::names::matches_exact(n, org));
            add(
                CheckMark::from_bool(names),
                format!("Our SMTP certificate names our domain {org}"),
                if names {
                    format!("names: {}", c.names.join(", "))
                } else {
                    format!(
                        "names only {}: the partner will refuse it",
                        c.names.join(", ")
                    )
                },
            );
            if c.self_signed {
                add(
                    CheckMark::Fail,
                    "Our SMTP certificate is issued by a CA".into(),
                    "it is self-signed: a partner cannot validate it (use a certificate from a CA the partner trusts)".into(),
                );
            }
        }
    }
    match root {
        PartnerRoot::File(Some(subject)) => add(
            CheckMark::Pass,
            "The partner's root CA will be trusted".into(),
            format!("{subject} (imported on Apply)"),
        ),
        PartnerRoot::File(None) => add(
            CheckMark::Fail,
            "The partner's root CA is trusted".into(),
            "no CA certificate read from the file".into(),
        ),
        PartnerRoot::Existing(r) => add(
            CheckMark::from_bool(r.is_some_and(|(_, current)| current)),
            "The partner's root CA is trusted".into(),
            r.map(|(subject, _)| subject.to_string())
                .unwrap_or_else(|| "no root chosen".into()),
        ),
        PartnerRoot::AlreadyTrusted => add(
            CheckMark::Warn,
            "The partner's root CA is trusted".into(),
            "relying on the roots already trusted; any of them may vouch for the partner".into(),
        ),
    }
    add(
        CheckMark::from_bool(plan.send_list && plan.receive_list),
        "The partner is on the send and receive domain secure lists".into(),
        format!(
            "send list: {}, receive list: {}",
            if plan.send_list { "yes" } else { "no" },
            if plan.receive_list { "yes" } else { "no" }
        ),
    );
    let enabled = |receive: bool, name: &String| {
        if receive {
            settings.receive_connector(name).is_some_and(|c| c.enabled)
        } else {
            settings.send_connector(name).is_some_and(|c| c.enabled)
        }
    };
    for (receive, names, what) in [
        (
            false,
            &plan.send_connectors,
            "Domain Security on a send connector",
        ),
        (
            true,
            &plan.receive_connectors,
            "Domain Security on a receive connector (with AuthMechanism TLS)",
        ),
    ] {
        add(
            CheckMark::from_bool(!names.is_empty() && names.iter().all(|n| enabled(receive, n))),
            what.into(),
            if names.is_empty() {
                format!(
                    "no {} connector chosen",
                    if receive { "receive" } else { "send" }
                )
            } else {
                names.join(", ")
            },
        );
    }
    // Each chosen receive connector must let a partner in and be reachable by it.
    for name in &plan.receive_connectors {
        let Some(c) = settings.receive_connector(name) else {
            continue;
        };
        let partners = c
            .permission_groups
            .contains(&crate::config::PermissionGroup::Partners);
        add(
            CheckMark::from_bool(partners),
            format!("Partners may send through receive connector '{name}'"),
            if partners {
                "its permission groups include Partners".into()
            } else {
                "its permission groups lack Partners: an authenticated partner would be refused \
                 (530 5.7.1); add Partners (Receive connectors › Permission groups)"
                    .into()
            },
        );
        let loopback_only = !c.bindings.is_empty()
            && c.bindings.iter().all(|b| {
                b.parse::<std::net::SocketAddr>()
                    .is_ok_and(|a| a.ip().is_loopback())
            });
        add(
            if loopback_only {
                CheckMark::Warn
            } else {
                CheckMark::Pass
            },
            format!("The partner can reach receive connector '{name}'"),
            if loopback_only {
                format!(
                    "it listens only on {} (this machine): a partner on another host cannot \
                     connect; bind it to an address partners reach (Receive connectors › Network)",
                    c.bindings.join(", ")
                )
            } else {
                format!("it listens on {}", c.bindings.join(", "))
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::RootChoice;

    #[test]
    fn each_missing_piece_is_a_red_mark_with_its_reason() {
        let settings = Settings::initial("Contoso", "mail.contoso.test", "contoso.test");
        let plan = DomainSecurityPlan {
            domain: "fabrikam.test".into(),
            root: RootChoice::AlreadyTrusted,
            pin: false,
            send_list: true,
            receive_list: false,
            send_connectors: vec!["Outbound".into()],
            receive_connectors: vec![],
        };
        let names = vec!["mail.contoso.test".to_string()];
        let ours = OurCertificate {
            subject: "CN=mail.contoso.test",
            names: &names,
            server_auth: true,
            client_auth: false,
            self_signed: true,
        };
        let checks = readiness(&plan, &settings, Some(ours), PartnerRoot::AlreadyTrusted);
        let mark = |what: &str| {
            checks
                .iter()
                .find(|c| c.what.starts_with(what))
                .map(|c| c.mark)
        };
        assert_eq!(
            mark("Our SMTP certificate has serverAuth"),
            Some(CheckMark::Fail)
        );
        assert_eq!(
            mark("Our SMTP certificate names our domain contoso.test"),
            Some(CheckMark::Fail)
        );
        assert_eq!(
            mark("Our SMTP certificate is issued by a CA"),
            Some(CheckMark::Fail)
        );
        assert_eq!(mark("The partner's root CA"), Some(CheckMark::Warn));
        assert_eq!(mark("The partner is on the send"), Some(CheckMark::Fail));
        assert_eq!(
            mark("Domain Security on a send connector"),
            Some(CheckMark::Pass)
        );
        assert_eq!(
            mark("Domain Security on a receive connector"),
            Some(CheckMark::Fail)
        );
        // A receive connector without Partners, listening on loopback only: both said.
        let mut lab = settings.clone();
        lab.receive_connectors[0].bindings = vec!["127.0.0.1:2525".into()];
        lab.receive_connectors[0]
            .permission_groups
            .retain(|g| *g != crate::config::PermissionGroup::Partners);
        let name = lab.receive_connectors[0].name.clone();
        let with_receive = DomainSecurityPlan {
            receive_connectors: vec![name.clone()],
            ..plan.clone()
        };
        let checks = readiness(&with_receive, &lab, Some(ours), PartnerRoot::AlreadyTrusted);
        let find = |what: &str| {
            checks
                .iter()
                .find(|c| c.what == what)
                .cloned()
                .unwrap_or_else(|| panic!("no check {what}: {checks:?}"))
        };
        let p = find(&format!(
            "Partners may send through receive connector '{name}'"
        ));
        assert_eq!(p.mark, CheckMark::Fail);
        assert!(p.detail.contains("add Partners"), "{}", p.detail);
        let r = find(&format!("The partner can reach receive connector '{name}'"));
        assert_eq!(r.mark, CheckMark::Warn);
        assert!(
            r.detail.contains("listens only on 127.0.0.1:2525"),
            "{}",
            r.detail
        );
        let none = readiness(&plan, &settings, None, PartnerRoot::File(None));
        assert!(none.iter().any(|c| c.what == "Our SMTP certificate"
            && c.detail.contains("no certificate is enabled for SMTP")));
    }
}
