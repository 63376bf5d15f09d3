//! Inbound Domain Security, decided at MAIL FROM for a sender domain on the receive domain
//! secure list, with Exchange's replies in Exchange's order:
//!
//! | # | condition                                          | reply                      |
//! |---|----------------------------------------------------|----------------------------|
//! | 1 | the connector has Domain Security off              | `451 4.7.3`                |
//! | 2 | STARTTLS advertised but not used                   | `530 5.7.1`                |
//! | 3 | STARTTLS not advertised                            | `454 4.7.0`                |
//! | 4 | TLS without a client certificate                   | `530 5.7.1`                |
//! | 5 | no certificate name matches the sender domain      | `454 4.7.5`                |
//! | 6 | the chain is not valid (untrusted, expired, …)     | `454 4.7.5`                |
//! | 7 | otherwise: authenticated as Partner for the domain | (MAIL FROM goes on)        |
//!
//! Name matching here (Exchange's inbound rule): a certificate name matches the sender domain
//! when equal, when the sender domain is a subdomain of it, or through a wildcard `*.parent`
//! covering the sender domain at any depth — the parent, and a name covering its subdomains,
//! having at least two labels (`test` covers nothing under it). Senders not on the list are not
//! judged here.
//!
//! The table applies only while the session is still anonymous (Exchange's rule): a user that
//! authenticated with SMTP AUTH, or one of our own servers recognised by a Direct Trust pin,
//! is not judged on its certificate whatever its envelope sender — our second relay forwarding
//! partner mail, or a user's forwarding rule with a partner address as sender, is not refused.
//! Who the session is, and the certificate facts, are judged afresh at every MAIL FROM against
//! the settings of that moment ([`session_identity`]), so a removed pin, root or anchor, or a
//! domain taken off the list, counts from the next transaction on.

use super::submission::{AuthMechanism, Identity};
use super::trust::PeerEvaluation;
use crate::config::domain;
use crate::smtp::evidence::DecisionStep;
use crate::smtp::replies::{self, NamedReply};
use crate::smtp::reply::Reply;
use std::collections::BTreeSet;

/// The client certificate as the TLS layer saw it.
#[derive(Clone, Debug)]
pub struct ClientCertificate {
    /// SAN dNSNames, or CNs when there is no SAN.
    pub names: Vec<String>,
    /// `Ok` when the chain validates for clientAuth at this time (and to the partner's anchors
    /// when set); otherwise why not.
    pub chain: Result<(), String>,
    /// A Direct Trust pin matched (then no chain is needed).
    pub pinned: bool,
    /// A partner pin bound to the sender domain matched (then no chain is needed either).
    pub partner_pin: bool,
    /// Why the CN is not among the names (a name-constrained CA on the chain), when it is not.
    pub names_note: Option<String>,
}

/// What the session knows when MAIL FROM arrives.
#[derive(Clone, Debug)]
pub struct InboundTls {
    pub connector_domain_secure: bool,
    pub starttls_advertised: bool,
    pub tls_active: bool,
    pub client_certificate: Option<ClientCertificate>,
}

/// The decision for one MAIL FROM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SenderVerdict {
    /// The sender domain is not on the receive list: ordinary (opportunistic) handling.
    NotListed,
    /// The session is already authenticated (SMTP AUTH or Direct Trust): the receive list is
    /// not applied, the session keeps its identity.
    SessionAuthenticated,
    /// Authenticated as a partner for `domain`.
    Partner {
        domain: String,
        mechanism: AuthMechanism,
    },
    /// Refused; `reason` is for logs, tracking and the console.
    Reject { reply: Reply, reason: String },
}

/// Exchange's inbound name rule (see the module documentation). A name covers the domains
/// below it only when it has at least two labels, as a wildcard's parent must: a certificate
/// for `test` (or `*.test`) covers no domain under `test` — only a sender domain `test` itself,
/// which no receive list can hold.
pub fn name_covers_sender(cert_name: &str, sender_domain: &str) -> bool {
    let Ok(sender) = domain::normalize(sender_domain) else {
        return false;
    };
    if let Some(parent) = cert_name.strip_prefix("*.") {
        return domain::normalize(parent)
            .is_ok_and(|p| p.contains('.') && sender.ends_with(&format!(".{p}")));
    }
    domain::normalize(cert_name)
        .is_ok_and(|n| sender == n || (n.contains('.') && sender.ends_with(&format!(".{n}"))))
}

/// Who the client is before its sender is judged, from what the session proved, judged
/// against the settings of now: one of our own servers when its certificate matches a Direct
/// Trust pin in `client` (an evaluation made with the current pins), else a user that
/// authenticated with AUTH, else anonymous.
pub fn session_identity(client: Option<&PeerEvaluation>, user: Option<&str>) -> Identity {
    match (client.and_then(|e| e.pinned.as_deref()), user) {
        (Some(name), _) => Identity::InternalServer {
            name: name.to_string(),
        },
        (None, Some(user)) => Identity::User {
            name: user.to_string(),
        },
        (None, None) => Identity::Anonymous,
    }
}

/// Decides MAIL FROM for a session that is `session` so far: the decision table of
/// [`sender_verdict`] while it is anonymous; an authenticated session is not judged by the
/// receive list (Exchange applies it only to anonymous sessions).
pub fn transaction_verdict(
    session: &Identity,
    sender_domain: Option<&str>,
    receive_list: &BTreeSet<String>,
    facts: &InboundTls,
) -> SenderVerdict {
    transaction_decision(session, sender_domain, receive_list, facts).0
}

/// [`transaction_verdict`] with its steps ([`sender_decision`]); an authenticated session's
/// one step says why the table was not applied.
pub fn transaction_decision(
    session: &Identity,
    sender_domain: Option<&str>,
    receive_list: &BTreeSet<String>,
    facts: &InboundTls,
) -> (SenderVerdict, Vec<DecisionStep>) {
    match session {
        // A partner identity lasts one transaction: the next one is judged afresh.
        Identity::Anonymous | Identity::Partner { .. } => {
            sender_decision(sender_domain, receive_list, facts)
        }
        Identity::User { name } => (
            SenderVerdict::SessionAuthenticated,
            vec![DecisionStep::passed(
                "Session identity",
                format!("authenticated as user {name}: the receive list is not applied"),
            )],
        ),
        Identity::InternalServer { name } => (
            SenderVerdict::SessionAuthenticated,
            vec![DecisionStep::passed(
                "Session identity",
                format!("our server {name} (Direct Trust): the receive list is not applied"),
            )],
        ),
    }
}

/// Decides MAIL FROM for `sender_domain` (None for the null sender).
pub fn sender_verdict(
    sender_domain: Option<&str>,
    receive_list: &BTreeSet<String>,
    facts: &InboundTls,
) -> SenderVerdict {
    sender_decision(sender_domain, receive_list, facts).0
}

/// The checks of the decision table, in Exchange's order (the first is whether the table
/// applies at all).
pub const CHECKS: [&str; 6] = [
    "Sender domain on the receive domain secure list",
    "Domain Security on this receive connector",
    "STARTTLS offered and used",
    "Client certificate presented",
    "Certificate names the sender domain",
    "Certificate chain valid, or certificate pinned",
];

/// The steps taken so far; a failure ends the decision with the rest not reached.
struct Steps(Vec<DecisionStep>);

impl Steps {
    fn pass(&mut self, detail: String) {
        let check = CHECKS[self.0.len()];
        self.0.push(DecisionStep::passed(check, detail));
    }

    fn fail(
        mut self,
        row: NamedReply,
        reason: String,
        fix: String,
    ) -> (SenderVerdict, Vec<DecisionStep>) {
        let at = self.0.len();
        self.0
            .push(DecisionStep::failed(CHECKS[at], reason.clone(), fix));
        self.0.extend(
            CHECKS[at + 1..]
                .iter()
                .map(|c| DecisionStep::not_reached(*c)),
        );
        (
            SenderVerdict::Reject {
                reply: row.reply(),
                reason,
            },
            self.0,
        )
    }
}

/// Decides MAIL FROM for `sender_domain` (None for the null sender) and says why: the checks
/// of the decision table in order, which one failed, and what would change it. This is the one
/// home of the table; the relay, its tracking ("Why") and the console all read it here.
pub fn sender_decision(
    sender_domain: Option<&str>,
    receive_list: &BTreeSet<String>,
    facts: &InboundTls,
) -> (SenderVerdict, Vec<DecisionStep>) {
    let mut steps = Steps(Vec::new());
    let Some(d) = sender_domain.and_then(|d| domain::normalize(d).ok()) else {
        steps.pass("the null sender is not judged on its certificate".into());
        return (SenderVerdict::NotListed, steps.0);
    };
    if !receive_list.contains(&d) {
        steps.pass(format!(
            "{d} is not on the list: accepted without a certificate (opportunistic TLS)"
        ));
        return (SenderVerdict::NotListed, steps.0);
    }
    steps.pass(format!("{d} is on the receive domain secure list"));
    if !facts.connector_domain_secure {
        return steps.fail(
            replies::DOMAIN_SECURE_DISALLOWED,
            format!(
                "{d} is on the receive domain secure list but this receive connector has Domain Security off"
            ),
            format!(
                "Turn on Domain Security on this receive connector (Receive connectors › \
                 Authentication), or take {d} off the receive domain secure list"
            ),
        );
    }
    steps.pass("Domain Security is on".into());
    if !facts.tls_active {
        return if facts.starttls_advertised {
            steps.fail(
                replies::DOMAIN_SECURE_NOT_AUTHENTICATED,
                format!("{d} is domain secured but the client did not use STARTTLS"),
                format!(
                    "Ask {d}'s administrator to send to us over TLS with a client certificate \
                     (Exchange: Domain Security on the send connector; Postfix: \
                     smtp_tls_security_level = secure and smtp_tls_cert_file)"
                ),
            )
        } else {
            steps.fail(
                replies::DOMAIN_SECURE_NO_STARTTLS,
                format!("{d} is domain secured but this connector does not offer STARTTLS"),
                "Give this receive connector an SMTP certificate and offer TLS (Certificates › \
                 Enable for SMTP; Receive connectors › Authentication › TLS)"
                    .into(),
            )
        };
    }
    steps.pass("the client used STARTTLS".into());
    let Some(cert) = &facts.client_certificate else {
        return steps.fail(
            replies::DOMAIN_SECURE_NOT_AUTHENTICATED,
            format!("{d} is domain secured but the client presented no certificate"),
            format!(
                "Ask {d}'s administrator to present a client certificate (Postfix: \
                 smtp_tls_cert_file and smtp_tls_key_file; Exchange presents its SMTP \
                 certificate)"
            ),
        );
    };
    steps.pass("the client presented a certificate".into());
    let names = if cert.names.is_empty() {
        "none".to_string()
    } else {
        cert.names.join(", ")
    };
    if !cert.names.iter().any(|n| name_covers_sender(n, &d)) {
        return steps.fail(
            replies::DOMAIN_SECURE_CERTIFICATE_FAILURE,
            match &cert.names_note {
                None => format!(
                    "the TLS certificate does not contain the domain name {d} (names: {names})"
                ),
                Some(why) => format!(
                    "the TLS certificate does not contain the domain name {d} (names: {names}; {why})"
                ),
            },
            format!(
                "Ask {d}'s administrator for a certificate naming {d} (or *.{d}), or take {d} \
                 off the receive domain secure list"
            ),
        );
    }
    steps.pass(format!("names: {names}"));
    if !cert.pinned
        && !cert.partner_pin
        && let Err(why) = &cert.chain
    {
        return steps.fail(
            replies::DOMAIN_SECURE_CERTIFICATE_FAILURE,
            format!("the client certificate for {d} is not valid: {why}"),
            format!(
                "Trust the root that issued it (Trusted roots › Import), anchor {d} to its CA \
                 or pin its certificate (Direct trust › Partner pins); if it expired or was \
                 revoked, ask {d}'s administrator for a new one"
            ),
        );
    }
    let mechanism = if cert.pinned {
        AuthMechanism::DirectTrust
    } else if cert.partner_pin {
        AuthMechanism::PartnerPin
    } else {
        AuthMechanism::MutualTls
    };
    steps.pass(match mechanism {
        AuthMechanism::DirectTrust => "the certificate matches a Direct Trust pin".into(),
        AuthMechanism::PartnerPin => format!("the certificate matches a partner pin for {d}"),
        _ => "the chain validates to a trusted root".into(),
    });
    (
        SenderVerdict::Partner {
            domain: d,
            mechanism,
        },
        steps.0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::evidence::StepOutcome;

    fn list() -> BTreeSet<String> {
        ["woodgrove.test".to_string()].into()
    }

    fn cert(names: &[&str], chain: Result<(), String>, pinned: bool) -> Option<ClientCertificate> {
        Some(ClientCertificate {
            names: names.iter().map(|s| s.to_string()).collect(),
            chain,
            pinned,
            partner_pin: false,
            names_note: None,
        })
    }

    fn facts(ds: bool, adv: bool, tls: bool, c: Option<ClientCertificate>) -> InboundTls {
        InboundTls {
            connector_domain_secure: ds,
            starttls_advertised: adv,
            tls_active: tls,
            client_certificate: c,
        }
    }

    fn code(v: SenderVerdict) -> String {
        match v {
            SenderVerdict::Reject { reply, .. } => reply.one_line(),
            other => format!("{other:?}"),
        }
    }

    /// The steps say which check failed, that the later ones were not made, and what would
    /// change the outcome; an accepted partner passes all six.
    #[test]
    fn the_steps_name_the_failed_check_and_its_fix() {
        let w = Some("woodgrove.test");
        let wrong = cert(&["mail.fabrikam.test"], Ok(()), false);
        let (v, steps) = sender_decision(w, &list(), &facts(true, true, true, wrong));
        assert!(matches!(v, SenderVerdict::Reject { .. }));
        let outcomes: Vec<StepOutcome> = steps.iter().map(|s| s.outcome).collect();
        use StepOutcome::*;
        assert_eq!(
            outcomes,
            vec![Passed, Passed, Passed, Passed, Failed, NotReached]
        );
        assert_eq!(steps[4].check, CHECKS[4]);
        assert!(steps[4].detail.contains("names: mail.fabrikam.test"));
        assert!(
            steps[4]
                .fix
                .as_deref()
                .unwrap_or("")
                .contains("a certificate naming woodgrove.test")
        );
        let (v, steps) = sender_decision(w, &list(), &facts(false, true, true, None));
        assert!(matches!(v, SenderVerdict::Reject { .. }));
        assert_eq!(steps[1].outcome, Failed);
        assert!(
            steps[1]
                .fix
                .as_deref()
                .unwrap_or("")
                .contains("Turn on Domain Security")
        );
        assert_eq!(steps.len(), CHECKS.len());
        let good = cert(&["woodgrove.test"], Ok(()), false);
        let (v, steps) = sender_decision(w, &list(), &facts(true, true, true, good));
        assert!(matches!(v, SenderVerdict::Partner { .. }));
        assert!(steps.iter().all(|s| s.outcome == Passed && s.fix.is_none()));
        assert_eq!(steps.len(), CHECKS.len());
        let (v, steps) = sender_decision(
            Some("fabrikam.test"),
            &list(),
            &facts(true, true, true, None),
        );
        assert_eq!(v, SenderVerdict::NotListed);
        assert_eq!(steps.len(), 1);
    }

    /// Every row of the decision table, in order: an earlier condition wins over a later one.
    #[test]
    fn the_decision_table_in_exchanges_order() {
        let good = || cert(&["woodgrove.test"], Ok(()), false);
        let w = Some("woodgrove.test");
        let rows: Vec<(InboundTls, &str)> = vec![
            (
                facts(false, true, true, good()),
                "451 4.7.3 The admin has temporarily disallowed this secure domain",
            ),
            (
                facts(false, false, false, None),
                "451 4.7.3 The admin has temporarily disallowed this secure domain",
            ),
            (
                facts(true, true, false, None),
                "530 5.7.1 Not authenticated",
            ),
            (
                facts(true, false, false, None),
                "454 4.7.0 Temporary authentication failure",
            ),
            (facts(true, true, true, None), "530 5.7.1 Not authenticated"),
            (
                facts(true, true, true, cert(&["fabrikam.test"], Ok(()), false)),
                "454 4.7.5 Certificate validation failure",
            ),
            (
                facts(
                    true,
                    true,
                    true,
                    cert(&["fabrikam.test"], Err("expired".into()), false),
                ),
                "454 4.7.5 Certificate validation failure",
            ),
            (
                facts(
                    true,
                    true,
                    true,
                    cert(&["woodgrove.test"], Err("untrusted".into()), false),
                ),
                "454 4.7.5 Certificate validation failure",
            ),
        ];
        for (f, want) in rows {
            assert_eq!(code(sender_verdict(w, &list(), &f)), want, "{f:?}");
        }
        assert_eq!(
            sender_verdict(w, &list(), &facts(true, true, true, good())),
            SenderVerdict::Partner {
                domain: "woodgrove.test".into(),
                mechanism: AuthMechanism::MutualTls
            }
        );
    }

    #[test]
    fn reasons_say_what_failed() {
        let v = sender_verdict(
            Some("woodgrove.test"),
            &list(),
            &facts(true, true, true, cert(&["mail.other.test"], Ok(()), false)),
        );
        match v {
            SenderVerdict::Reject { reason, .. } => assert!(
                reason.contains(
                    "does not contain the domain name woodgrove.test (names: mail.other.test)"
                ),
                "{reason}"
            ),
            other => panic!("{other:?}"),
        }
        let v = sender_verdict(
            Some("woodgrove.test"),
            &list(),
            &facts(
                true,
                true,
                true,
                cert(
                    &["woodgrove.test"],
                    Err("expired on 2026-10-01".into()),
                    false,
                ),
            ),
        );
        assert!(
            matches!(v, SenderVerdict::Reject { ref reason, .. } if reason.contains("expired on 2026-10-01"))
        );
    }

    #[test]
    fn unlisted_and_null_senders_are_not_judged() {
        let f = facts(false, false, false, None);
        assert_eq!(
            sender_verdict(Some("fabrikam.test"), &list(), &f),
            SenderVerdict::NotListed
        );
        assert_eq!(sender_verdict(None, &list(), &f), SenderVerdict::NotListed);
        assert_eq!(
            sender_verdict(Some("sub.woodgrove.test"), &list(), &f),
            SenderVerdict::NotListed,
            "the list is exact"
        );
        assert_ne!(
            sender_verdict(Some("WoodGrove.TEST"), &list(), &f),
            SenderVerdict::NotListed,
            "case-insensitive"
        );
    }

    #[test]
    fn direct_trust_pins_need_no_chain() {
        let f = facts(
            true,
            true,
            true,
            cert(&["woodgrove.test"], Err("self-signed".into()), true),
        );
        assert_eq!(
            sender_verdict(Some("woodgrove.test"), &list(), &f),
            SenderVerdict::Partner {
                domain: "woodgrove.test".into(),
                mechanism: AuthMechanism::DirectTrust
            }
        );
    }

    /// A partner pin bound to the sender domain stands for the chain (not for the names);
    /// the partner is a Partner authenticated by its pin.
    #[test]
    fn a_partner_pin_stands_for_the_chain_only() {
        let pinned = |names: &[&str]| {
            let mut c = cert(names, Err("self-signed".into()), false);
            if let Some(c) = c.as_mut() {
                c.partner_pin = true;
            }
            facts(true, true, true, c)
        };
        assert_eq!(
            sender_verdict(
                Some("woodgrove.test"),
                &list(),
                &pinned(&["woodgrove.test"])
            ),
            SenderVerdict::Partner {
                domain: "woodgrove.test".into(),
                mechanism: AuthMechanism::PartnerPin
            }
        );
        assert_eq!(
            code(sender_verdict(
                Some("woodgrove.test"),
                &list(),
                &pinned(&["fabrikam.test"])
            )),
            "454 4.7.5 Certificate validation failure",
            "the certificate must still name the domain"
        );
    }

    /// Issue 9 §5: our own relay (Direct Trust) forwarding partner mail, or a user with a
    /// partner address as sender, is not judged by the receive list — whatever its TLS facts;
    /// an anonymous session with the same facts still is.
    #[test]
    fn the_receive_list_applies_only_while_the_session_is_anonymous() {
        let w = Some("woodgrove.test");
        let no_tls = facts(true, true, false, None);
        let wrong_name = facts(true, true, true, cert(&["mail.contoso.test"], Ok(()), true));
        let gate_off = facts(false, true, true, None);
        let relay = Identity::InternalServer {
            name: "relay2".into(),
        };
        let bob = Identity::User { name: "bob".into() };
        for f in [&no_tls, &wrong_name, &gate_off] {
            for who in [&relay, &bob] {
                assert_eq!(
                    transaction_verdict(who, w, &list(), f),
                    SenderVerdict::SessionAuthenticated,
                    "{who:?} {f:?}"
                );
            }
        }
        let anon = |f: &InboundTls| code(transaction_verdict(&Identity::Anonymous, w, &list(), f));
        assert_eq!(anon(&no_tls), "530 5.7.1 Not authenticated");
        assert_eq!(
            anon(&wrong_name),
            "454 4.7.5 Certificate validation failure"
        );
        assert_eq!(
            anon(&gate_off),
            "451 4.7.3 The admin has temporarily disallowed this secure domain"
        );
        // A partner of the previous transaction is judged again.
        let partner = Identity::Partner {
            domain: "woodgrove.test".into(),
            mechanism: AuthMechanism::MutualTls,
        };
        assert_eq!(
            code(transaction_verdict(&partner, w, &list(), &no_tls)),
            "530 5.7.1 Not authenticated"
        );
    }

    /// Issue 9 §6: the session's identity comes from an evaluation made with the settings of
    /// now: once the Direct Trust pin is removed, the same certificate no longer makes the
    /// session internal, and its partner sender is judged (and refused) again.
    #[test]
    fn a_removed_pin_ends_the_internal_identity_at_the_next_mail_from() {
        use crate::config::{DirectTrustEntry, Pin};
        use crate::pki::chain::Purpose;
        use crate::pki::keys::KeySpec;
        use crate::pki::subject::Subject;
        use crate::policy::trust::{TrustContext, evaluate};
        use time::macros::datetime;
        let now = datetime!(2026-12-07 08:00 UTC);
        let key = KeySpec::P256.generate().unwrap();
        let der = crate::pki::ca::self_signed(
            &Subject::parse("CN=relay2.contoso.test").unwrap(),
            &["relay2.contoso.test".to_string()],
            &key,
            now - time::Duration::days(1),
            30,
        )
        .unwrap();
        let info = crate::pki::inspect::inspect_certificate(&der).unwrap();
        let pins = [DirectTrustEntry {
            name: "relay2".into(),
            pin: Pin::Thumbprint(info.thumbprint.clone()),
        }];
        let ctx = |direct_trust| TrustContext {
            roots: &[],
            direct_trust,
            partner_pins: &[],
            partner_anchors: &[],
            now,
            revocation: crate::policy::revocation::Revocation::none(),
        };
        let chain = [der];
        let with_pin = evaluate(&chain, Purpose::Client, &ctx(&pins), None);
        assert_eq!(
            session_identity(with_pin.as_ref(), None),
            Identity::InternalServer {
                name: "relay2".into()
            }
        );
        let without = evaluate(&chain, Purpose::Client, &ctx(&[]), None);
        assert_eq!(
            session_identity(without.as_ref(), None),
            Identity::Anonymous
        );
        assert_eq!(
            session_identity(without.as_ref(), Some("bob")),
            Identity::User { name: "bob".into() }
        );
        assert_eq!(session_identity(None, None), Identity::Anonymous);
        // The anonymous session's partner sender meets the table: a certificate that names
        // our relay, not the partner, is refused.
        let e = without.unwrap();
        let f = facts(
            true,
            true,
            true,
            Some(ClientCertificate {
                names: e.certificate.names.clone(),
                chain: e.chain.clone(),
                pinned: e.pinned.is_some(),
                partner_pin: false,
                names_note: None,
            }),
        );
        assert_eq!(
            code(transaction_verdict(
                &Identity::Anonymous,
                Some("woodgrove.test"),
                &list(),
                &f
            )),
            "454 4.7.5 Certificate validation failure"
        );
    }

    #[test]
    fn inbound_name_rule() {
        assert!(name_covers_sender("woodgrove.test", "woodgrove.test"));
        assert!(
            name_covers_sender("Woodgrove.TEST", "sales.woodgrove.test"),
            "subdomains included"
        );
        assert!(
            name_covers_sender("*.woodgrove.test", "a.b.woodgrove.test"),
            "multi-level wildcard"
        );
        assert!(!name_covers_sender("*.woodgrove.test", "woodgrove.test"));
        assert!(
            !name_covers_sender("mail.woodgrove.test", "woodgrove.test"),
            "a host name does not cover its parent"
        );
        assert!(
            !name_covers_sender("grove.test", "woodgrove.test"),
            "label boundary"
        );
        assert!(
            !name_covers_sender("*.test", "woodgrove.test"),
            "no wildcard on a top-level domain"
        );
        assert!(name_covers_sender(
            "xn--bcher-kva.example",
            "bücher.example"
        ));
    }

    /// A single-label name covers nothing under it, as `*.test` does not: a certificate for
    /// `test` (which a private CA may issue) is no certificate for every domain in `.test`.
    #[test]
    fn a_single_label_name_covers_no_domain_under_it() {
        for (name, sender, covers) in [
            ("test", "woodgrove.test", false),
            ("TEST.", "woodgrove.test", false),
            ("test", "mail.woodgrove.test", false),
            ("*.test", "woodgrove.test", false),
            ("woodgrove.test", "mail.woodgrove.test", true),
            ("woodgrove.test", "woodgrove.test", true),
            ("localhost", "localhost", true),
        ] {
            assert_eq!(
                name_covers_sender(name, sender),
                covers,
                "{name} / {sender}"
            );
        }
        let v = sender_verdict(
            Some("woodgrove.test"),
            &list(),
            &facts(true, true, true, cert(&["test"], Ok(()), false)),
        );
        assert_eq!(code(v), "454 4.7.5 Certificate validation failure");
    }

    /// Under a name-constrained CA the CN is no name (see `CertificateInfo::names_on_path`):
    /// the refusal says why.
    #[test]
    fn the_reason_says_why_the_cn_did_not_count() {
        let mut c = cert(&[], Ok(()), false);
        if let Some(c) = c.as_mut() {
            c.names_note = Some("its CN woodgrove.test is not used as a name".into());
        }
        match sender_verdict(Some("woodgrove.test"), &list(), &facts(true, true, true, c)) {
            SenderVerdict::Reject { reply, reason } => {
                assert_eq!(reply.one_line(), "454 4.7.5 Certificate validation failure");
                assert!(
                    reason.contains("(names: none; its CN woodgrove.test is not used as a name)"),
                    "{reason}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
