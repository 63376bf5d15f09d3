//! The TLS requirement for delivering to a recipient domain through a send connector:
//! Domain Security for domains on the send domain secure list (mutual TLS, chain to a trusted
//! root — and to the partner's own anchors when pinned, or a partner pin bound to the domain
//! instead of a chain — and a certificate name matching the recipient domain); RequireTLS at the connector's TlsAuthLevel otherwise; or opportunistic.
//! A listed domain routed through a connector with Domain Security off is never downgraded:
//! delivery fails transiently with a reason saying so. And the judgment of the certificate a
//! next hop presented under that requirement.

use super::submission::AuthMechanism;
use super::trust::{TrustContext, evaluate};
use crate::config::{CheckedSettings, TlsAuthLevel};
use crate::pki::chain::Purpose;
use crate::pki::names;
use crate::smtp::evidence::{PeerCertificate, TrustLevel};

/// What the outbound session must achieve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsRequirement {
    /// STARTTLS is not used (IgnoreSTARTTLS).
    NoTls,
    /// STARTTLS when offered; any certificate accepted (recorded); plaintext only if not offered.
    Opportunistic,
    /// RequireTLS, EncryptionOnly: TLS mandatory, certificate not checked.
    Encrypt,
    /// RequireTLS, CertificateValidation: chain to a trusted root.
    ValidateChain,
    /// RequireTLS, DomainValidation: chain and a certificate name matching `name`.
    ValidateDomain { name: String },
    /// Domain Security: mutual TLS, chain, names matching the recipient domain.
    DomainSecure { domain: String },
    /// Do not deliver now (transient), for the reason given.
    Refuse { reason: String },
}

impl TlsRequirement {
    /// A short name for the policy applied, for evidence and tracking.
    pub fn describe(&self) -> String {
        match self {
            TlsRequirement::NoTls => "no TLS (IgnoreSTARTTLS)".into(),
            TlsRequirement::Opportunistic => "opportunistic TLS".into(),
            TlsRequirement::Encrypt => "RequireTLS (EncryptionOnly)".into(),
            TlsRequirement::ValidateChain => "RequireTLS (CertificateValidation)".into(),
            TlsRequirement::ValidateDomain { name } => {
                format!("RequireTLS (DomainValidation for {name})")
            }
            TlsRequirement::DomainSecure { domain } => format!("Domain Security for {domain}"),
            TlsRequirement::Refuse { reason } => format!("refused: {reason}"),
        }
    }

    /// TLS must be used (no plaintext fallback).
    pub fn mandatory(&self) -> bool {
        !matches!(self, TlsRequirement::NoTls | TlsRequirement::Opportunistic)
    }
}

/// What a message itself asks of TLS on its way (RFC 8689).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageTls {
    /// Nothing: the policies of the route apply.
    AsPolicies,
    /// `REQUIRETLS` was given: only a next hop found securely (DNSSEC, MTA-STS or our own
    /// configuration), authenticated (DANE, or a certificate valid for its name from a trusted
    /// root) and offering REQUIRETLS may take it; otherwise it is returned.
    Required,
    /// `TLS-Required: No` without REQUIRETLS: the recipient domain's own policies (DANE,
    /// MTA-STS) are not applied. Ours (Domain Security, the connector's RequireTLS) still are.
    DomainPoliciesWaived,
}

impl MessageTls {
    /// What a message asks: REQUIRETLS wins over a `TLS-Required: No` header (RFC 8689 §5).
    pub fn of(require_tls: bool, tls_required_header: Option<&str>) -> MessageTls {
        if require_tls {
            MessageTls::Required
        } else if tls_required_header.is_some_and(|v| v.trim().eq_ignore_ascii_case("no")) {
            MessageTls::DomainPoliciesWaived
        } else {
            MessageTls::AsPolicies
        }
    }
}

/// The requirement for `recipient_domain` through send connector `index`.
pub fn requirement(
    recipient_domain: &str,
    index: usize,
    checked: &CheckedSettings,
) -> TlsRequirement {
    let sc = &checked.settings.send_connectors[index];
    let domain = recipient_domain.to_ascii_lowercase();
    if checked.send_domain_secure.contains(&domain) {
        if !sc.domain_secure_enabled {
            return TlsRequirement::Refuse {
                reason: format!(
                    "{domain} is on the send domain secure list but send connector '{}' has Domain Security off",
                    sc.name
                ),
            };
        }
        return TlsRequirement::DomainSecure { domain };
    }
    if sc.ignore_starttls {
        return TlsRequirement::NoTls;
    }
    if !sc.require_tls {
        return TlsRequirement::Opportunistic;
    }
    match sc.tls_auth_level {
        None | Some(TlsAuthLevel::EncryptionOnly) => TlsRequirement::Encrypt,
        Some(TlsAuthLevel::CertificateValidation) => TlsRequirement::ValidateChain,
        Some(TlsAuthLevel::DomainValidation) => {
            let name = checked
                .send_connectors
                .iter()
                .find(|c| c.index == index)
                .and_then(|c| c.tls_domain.clone())
                .unwrap_or(domain);
            TlsRequirement::ValidateDomain { name }
        }
    }
}

/// The policy a queue's mail is held to, in words, for the queue viewer: the requirement of
/// [`requirement`], and for a connector routing by MX which per-host policies are looked up.
/// `None` for a connector that no longer exists.
pub fn queue_policy(
    connector: &str,
    recipient_domain: &str,
    checked: &CheckedSettings,
) -> Option<String> {
    let index = checked
        .settings
        .send_connectors
        .iter()
        .position(|c| c.name == connector)?;
    let sc = &checked.settings.send_connectors[index];
    let mut text = requirement(recipient_domain, index, checked).describe();
    if sc.smart_hosts.is_empty() {
        let per_host: Vec<&str> = [(sc.dane_enabled, "DANE"), (sc.mta_sts_enabled, "MTA-STS")]
            .into_iter()
            .filter(|(on, _)| *on)
            .map(|(_, name)| name)
            .collect();
        if !per_host.is_empty() {
            text.push_str(&format!("; {} per MX host", per_host.join(" and ")));
        }
    }
    Some(text)
}

/// The judgment of the next hop's certificate under a TLS requirement.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub peer: Option<PeerCertificate>,
    pub trust: TrustLevel,
    pub detail: Option<String>,
    pub authenticated: bool,
    pub auth_domain: Option<String>,
    pub mechanism: Option<AuthMechanism>,
    /// Why the requirement is not met (then nothing is sent).
    pub refusal: Option<String>,
}

/// Judges the chain a server presented under a requirement (`target` is `host:port`, for the
/// reasons): the trust it earns and, when it falls short of a mandatory requirement, why
/// nothing may be sent.
pub fn judge(
    ctx: &TrustContext<'_>,
    requirement: &TlsRequirement,
    chain: &[Vec<u8>],
    target: &str,
) -> Verdict {
    let anchor_domain = match requirement {
        TlsRequirement::DomainSecure { domain } => Some(domain.as_str()),
        _ => None,
    };
    let Some(eval) = evaluate(chain, Purpose::Server, ctx, anchor_domain) else {
        let refusal = requirement
            .mandatory()
            .then(|| "the server presented no certificate".to_string())
            .filter(|_| !matches!(*requirement, TlsRequirement::Encrypt));
        return Verdict {
            peer: None,
            trust: TrustLevel::Anonymous,
            detail: Some("no certificate".into()),
            authenticated: false,
            auth_domain: None,
            mechanism: None,
            refusal,
        };
    };
    // A partner pin stands for the chain of a Domain Secure delivery to its own domains only.
    let partner_pin = anchor_domain
        .and_then(|d| eval.partner_pin_for(d))
        .map(str::to_string);
    let chain_ok = eval.pinned.is_some() || partner_pin.is_some() || eval.chain.is_ok();
    let chain_reason = eval.chain.clone().err().unwrap_or_default();
    let name_target = match requirement {
        TlsRequirement::DomainSecure { domain } => Some(domain.clone()),
        TlsRequirement::ValidateDomain { name } => Some(name.clone()),
        _ => None,
    };
    let names_ok = name_target
        .as_ref()
        .map(|n| names_cover(&eval.certificate.names, n));
    let trust = match (chain_ok, names_ok) {
        (false, _) => TrustLevel::Untrusted,
        (true, Some(true)) => TrustLevel::Verified,
        (true, _) => TrustLevel::Trusted,
    };
    let names_text = if eval.certificate.names.is_empty() {
        "none".to_string()
    } else {
        eval.certificate.names.join(", ")
    };
    let refusal = match requirement {
        TlsRequirement::ValidateChain
        | TlsRequirement::ValidateDomain { .. }
        | TlsRequirement::DomainSecure { .. }
            if !chain_ok =>
        {
            Some(format!("certificate of {target} {chain_reason}"))
        }
        TlsRequirement::ValidateDomain { name } | TlsRequirement::DomainSecure { domain: name }
            if names_ok == Some(false) =>
        {
            Some(match &eval.names_note {
                None => format!("certificate names {names_text} do not match {name}"),
                Some(why) => {
                    format!("certificate names {names_text} do not match {name}: {why}")
                }
            })
        }
        _ => None,
    };
    let authenticated =
        matches!(*requirement, TlsRequirement::DomainSecure { .. }) && refusal.is_none();
    let detail = if chain_ok {
        eval.pinned
            .clone()
            .map(|p| format!("Direct Trust pin {p}"))
            .or_else(|| partner_pin.as_ref().map(|p| format!("partner pin {p}")))
    } else {
        Some(chain_reason)
    };
    Verdict {
        peer: Some(eval.certificate),
        trust,
        detail,
        authenticated,
        auth_domain: if authenticated {
            anchor_domain.map(str::to_string)
        } else {
            None
        },
        mechanism: authenticated.then_some(if eval.pinned.is_some() {
            AuthMechanism::DirectTrust
        } else if partner_pin.is_some() {
            AuthMechanism::PartnerPin
        } else {
            AuthMechanism::MutualTls
        }),
        refusal,
    }
}

/// Whether a certificate's names cover `target`: RFC 6125 matching, and for a TlsDomain given
/// as `*.parent` (Exchange allows it) any name below `parent`.
fn names_cover(cert_names: &[String], target: &str) -> bool {
    names::any_matches(cert_names, target)
        || target.strip_prefix("*.").is_some_and(|parent| {
            let suffix = format!(".{}", parent.to_ascii_lowercase());
            cert_names
                .iter()
                .any(|c| c.to_ascii_lowercase().ends_with(&suffix))
        })
}

/// Whether a connection set up under requirement `was` may carry the next message now that
/// the settings say `now` (issue 9 §6: a trust change reaches a running job before its next
/// message, not at its next connection). `chain` is what the next hop presented when TLS is
/// up; `ctx` holds the roots, pins and anchors of now. `Err` says why the rest waits.
pub fn connection_still_acceptable(
    ctx: &TrustContext<'_>,
    was: &TlsRequirement,
    now: &TlsRequirement,
    chain: Option<&[Vec<u8>]>,
    target: &str,
) -> Result<(), String> {
    if let TlsRequirement::Refuse { reason } = now {
        return Err(reason.clone());
    }
    if was != now {
        return Err(format!(
            "the TLS policy changed from {} to {} while connected to {target}",
            was.describe(),
            now.describe()
        ));
    }
    match chain {
        Some(chain) => match judge(ctx, now, chain, target).refusal {
            Some(why) => Err(format!("{why} (under the trust settings of now)")),
            None => Ok(()),
        },
        None if now.mandatory() => Err(format!("{} needs TLS", now.describe())),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Settings, validate};

    fn with(f: impl FnOnce(&mut Settings)) -> CheckedSettings {
        let mut s = Settings::initial("C", "mail.contoso.test", "contoso.test");
        s.transport.tls_send_domain_secure_list = vec!["woodgrove.test".into()];
        f(&mut s);
        validate(&s).unwrap()
    }

    #[test]
    fn a_queue_names_the_policy_of_its_connector_and_domain() {
        let c = with(|s| {
            s.send_connectors[0].domain_secure_enabled = true;
            s.send_connectors[0].smart_hosts.clear();
        });
        let name = c.settings.send_connectors[0].name.clone();
        assert_eq!(
            queue_policy(&name, "woodgrove.test", &c).as_deref(),
            Some("Domain Security for woodgrove.test; DANE and MTA-STS per MX host")
        );
        let c = with(|s| {
            s.send_connectors[0].smart_hosts = vec!["relay.contoso.test".into()];
            s.send_connectors[0].dane_enabled = false;
        });
        assert_eq!(
            queue_policy(&name, "fabrikam.test", &c).as_deref(),
            Some("opportunistic TLS"),
            "a smart host is not looked up in DNS"
        );
        let c = with(|s| {
            s.send_connectors[0].smart_hosts.clear();
            s.send_connectors[0].dane_enabled = false;
        });
        assert_eq!(
            queue_policy(&name, "fabrikam.test", &c).as_deref(),
            Some("opportunistic TLS; MTA-STS per MX host")
        );
        assert_eq!(queue_policy("Gone", "fabrikam.test", &c), None);
    }

    #[test]
    fn every_cell_of_the_outbound_table() {
        let c = with(|_| {});
        assert!(
            matches!(requirement("woodgrove.test", 0, &c), TlsRequirement::Refuse { ref reason } if reason.contains("has Domain Security off"))
        );
        assert_eq!(
            requirement("fabrikam.test", 0, &c),
            TlsRequirement::Opportunistic
        );
        let c = with(|s| s.send_connectors[0].domain_secure_enabled = true);
        assert_eq!(
            requirement("WoodGrove.test", 0, &c),
            TlsRequirement::DomainSecure {
                domain: "woodgrove.test".into()
            }
        );
        assert_eq!(
            requirement("sub.woodgrove.test", 0, &c),
            TlsRequirement::Opportunistic,
            "the list is exact"
        );
        let c = with(|s| s.send_connectors[0].ignore_starttls = true);
        assert_eq!(requirement("fabrikam.test", 0, &c), TlsRequirement::NoTls);
        let c = with(|s| s.send_connectors[0].require_tls = true);
        assert_eq!(requirement("fabrikam.test", 0, &c), TlsRequirement::Encrypt);
        let c = with(|s| {
            s.send_connectors[0].require_tls = true;
            s.send_connectors[0].tls_auth_level = Some(TlsAuthLevel::CertificateValidation);
        });
        assert_eq!(
            requirement("fabrikam.test", 0, &c),
            TlsRequirement::ValidateChain
        );
        let c = with(|s| {
            s.send_connectors[0].require_tls = true;
            s.send_connectors[0].tls_auth_level = Some(TlsAuthLevel::DomainValidation);
        });
        assert_eq!(
            requirement("fabrikam.test", 0, &c),
            TlsRequirement::ValidateDomain {
                name: "fabrikam.test".into()
            }
        );
        let c = with(|s| {
            s.send_connectors[0].require_tls = true;
            s.send_connectors[0].tls_auth_level = Some(TlsAuthLevel::DomainValidation);
            s.send_connectors[0].tls_domain = Some("mx.fabrikam.test".into());
        });
        assert_eq!(
            requirement("fabrikam.test", 0, &c),
            TlsRequirement::ValidateDomain {
                name: "mx.fabrikam.test".into()
            }
        );
        assert!(
            TlsRequirement::DomainSecure { domain: "x".into() }.mandatory()
                && !TlsRequirement::Opportunistic.mandatory()
        );
    }

    #[test]
    fn requiretls_wins_over_the_header_that_waives_policies() {
        assert_eq!(MessageTls::of(true, Some("No")), MessageTls::Required);
        assert_eq!(
            MessageTls::of(false, Some(" no ")),
            MessageTls::DomainPoliciesWaived
        );
        assert_eq!(MessageTls::of(false, Some("yes")), MessageTls::AsPolicies);
        assert_eq!(MessageTls::of(false, None), MessageTls::AsPolicies);
    }

    mod judging {
        use super::super::*;
        use crate::config::{DirectTrustEntry, Pin};
        use crate::pki::ca::{self, LeafUsage};
        use crate::pki::inspect::inspect_certificate;
        use crate::pki::keys::{self, KeySpec};
        use crate::pki::subject::Subject;
        use time::{Duration, OffsetDateTime, macros::datetime};

        const NOW: OffsetDateTime = datetime!(2026-11-29 12:00 UTC);

        fn leaf(ca: &(Vec<u8>, rcgen::KeyPair), name: &str, from: OffsetDateTime) -> Vec<u8> {
            let k = KeySpec::P256.generate().unwrap();
            let s = Subject::parse(&format!("CN={name}")).unwrap().to_der();
            let san = crate::pki::der::san_dns_ext(&[name.to_string()]).value;
            ca::issue_leaf(
                &ca.0,
                &ca.1,
                &s,
                &keys::spki_der(&k),
                Some(san),
                LeafUsage::SMTP,
                from,
                from + Duration::days(30),
            )
            .unwrap()
        }

        fn ds(d: &str) -> TlsRequirement {
            TlsRequirement::DomainSecure { domain: d.into() }
        }

        #[test]
        fn each_requirement_against_each_kind_of_certificate() {
            let k = KeySpec::P256.generate().unwrap();
            let root = (
                ca::create_ca("Woodgrove Root", "W", &k, NOW - Duration::days(1), 5).unwrap(),
                k,
            );
            let good = leaf(&root, "mail.woodgrove.test", NOW - Duration::days(1));
            let expired = leaf(&root, "mail.woodgrove.test", NOW - Duration::days(60));
            let sk = KeySpec::P256.generate().unwrap();
            let self_signed = ca::self_signed(
                &Subject::parse("CN=relay2.contoso.test").unwrap(),
                &["relay2.contoso.test".into()],
                &sk,
                NOW - Duration::days(1),
                30,
            )
            .unwrap();
            let fk = KeySpec::P256.generate().unwrap();
            let fab = ca::self_signed(
                &Subject::parse("CN=mail.fabrikam.test").unwrap(),
                &["mail.fabrikam.test".into(), "fabrikam.test".into()],
                &fk,
                NOW - Duration::days(1),
                30,
            )
            .unwrap();
            let roots = vec![root.0.clone()];
            let pins = vec![DirectTrustEntry {
                name: "relay2".into(),
                pin: Pin::Thumbprint(inspect_certificate(&self_signed).unwrap().thumbprint),
            }];
            let ctx = TrustContext {
                roots: &roots,
                direct_trust: &pins,
                partner_pins: &[],
                partner_anchors: &[],
                now: NOW,
                revocation: crate::policy::revocation::Revocation::none(),
            };
            let t = "127.0.0.1:2626";
            let chain = |c: &Vec<u8>| vec![c.clone()];
            let validate = |n: &str| TlsRequirement::ValidateDomain { name: n.into() };

            // Domain Security: a good chain naming the domain is authenticated, mutual TLS.
            let v = judge(&ctx, &ds("mail.woodgrove.test"), &chain(&good), t);
            assert!(v.authenticated && v.refusal.is_none(), "{v:?}");
            assert_eq!(
                (v.trust, v.mechanism),
                (TrustLevel::Verified, Some(AuthMechanism::MutualTls))
            );
            assert_eq!(v.auth_domain.as_deref(), Some("mail.woodgrove.test"));
            // ... the wrong domain is refused with the names it has.
            let v = judge(&ctx, &ds("fabrikam.test"), &chain(&good), t);
            assert_eq!(
                v.refusal.as_deref(),
                Some("certificate names mail.woodgrove.test do not match fabrikam.test")
            );
            assert!(!v.authenticated && v.trust == TrustLevel::Trusted);
            // ... an expired chain is refused whatever the names.
            let v = judge(&ctx, &ds("mail.woodgrove.test"), &chain(&expired), t);
            assert!(
                v.refusal
                    .as_deref()
                    .is_some_and(|r| r.starts_with("certificate of 127.0.0.1:2626 expired on")),
                "{v:?}"
            );
            assert_eq!(v.trust, TrustLevel::Untrusted);
            // ... no certificate at all.
            let v = judge(&ctx, &ds("woodgrove.test"), &[], t);
            assert_eq!(
                v.refusal.as_deref(),
                Some("the server presented no certificate")
            );
            // ... a Direct Trust pin stands for the chain: authenticated by Direct Trust.
            let v = judge(&ctx, &ds("relay2.contoso.test"), &chain(&self_signed), t);
            assert_eq!(v.mechanism, Some(AuthMechanism::DirectTrust), "{v:?}");
            assert_eq!(v.detail.as_deref(), Some("Direct Trust pin relay2"));

            // RequireTLS levels.
            assert!(
                judge(&ctx, &TlsRequirement::Encrypt, &[], t)
                    .refusal
                    .is_none()
            );
            assert!(
                judge(&ctx, &TlsRequirement::Encrypt, &chain(&expired), t)
                    .refusal
                    .is_none()
            );
            assert!(
                judge(&ctx, &TlsRequirement::ValidateChain, &chain(&good), t)
                    .refusal
                    .is_none()
            );
            assert!(
                judge(&ctx, &TlsRequirement::ValidateChain, &chain(&expired), t)
                    .refusal
                    .is_some()
            );
            assert!(
                judge(&ctx, &validate("mail.woodgrove.test"), &chain(&good), t)
                    .refusal
                    .is_none()
            );
            assert!(
                judge(&ctx, &validate("*.woodgrove.test"), &chain(&good), t)
                    .refusal
                    .is_none()
            );
            assert!(
                judge(&ctx, &validate("*.fabrikam.test"), &chain(&good), t)
                    .refusal
                    .is_some()
            );
            let v = judge(&ctx, &validate("mail.woodgrove.test"), &chain(&good), t);
            assert!(!v.authenticated, "DomainValidation is not Domain Security");

            // A partner pin stands for the chain of its own domains only, under Domain
            // Security only; a CN is no name under a name-constrained CA (see trust.rs).
            let pp = vec![crate::config::PartnerPin {
                name: "Fabrikam".into(),
                domains: vec!["fabrikam.test".into()],
                pin: Pin::PublicKeySha256(inspect_certificate(&fab).unwrap().public_key_sha256),
            }];
            let pctx = TrustContext {
                partner_pins: &pp,
                ..ctx
            };
            let v = judge(&pctx, &ds("fabrikam.test"), &chain(&fab), t);
            assert!(v.authenticated && v.refusal.is_none(), "{v:?}");
            assert_eq!(v.mechanism, Some(AuthMechanism::PartnerPin));
            assert_eq!(v.detail.as_deref(), Some("partner pin Fabrikam"));
            let v = judge(&ctx, &ds("fabrikam.test"), &chain(&fab), t);
            assert!(v.refusal.is_some(), "not pinned: {v:?}");
            let v = judge(&pctx, &ds("mail.fabrikam.test"), &chain(&fab), t);
            assert!(
                v.refusal
                    .as_deref()
                    .is_some_and(|r| r.contains("not trusted")),
                "another domain: {v:?}"
            );
            assert!(
                judge(&pctx, &TlsRequirement::ValidateChain, &chain(&fab), t)
                    .refusal
                    .is_some(),
                "a partner pin is no chain for RequireTLS"
            );

            // Opportunistic: anything goes, and is recorded as what it is.
            let v = judge(&ctx, &TlsRequirement::Opportunistic, &chain(&expired), t);
            assert!(v.refusal.is_none() && v.trust == TrustLevel::Untrusted && v.peer.is_some());
        }

        /// Issue 9 §6: before each message of a running job, the connection is judged again
        /// under the settings of now.
        #[test]
        fn a_running_connection_is_judged_again_under_the_settings_of_now() {
            let k = KeySpec::P256.generate().unwrap();
            let root = (
                ca::create_ca("Woodgrove Root", "W", &k, NOW - Duration::days(1), 5).unwrap(),
                k,
            );
            let good = vec![leaf(&root, "woodgrove.test", NOW - Duration::days(1))];
            let roots = vec![root.0.clone()];
            let ctx = |roots| TrustContext {
                roots,
                direct_trust: &[],
                partner_pins: &[],
                partner_anchors: &[],
                now: NOW,
                revocation: crate::policy::revocation::Revocation::none(),
            };
            let t = "127.0.0.1:2626";
            let w = ds("woodgrove.test");
            let still =
                |ctx: &TrustContext<'_>, now: &TlsRequirement, chain: Option<&[Vec<u8>]>| {
                    connection_still_acceptable(ctx, &w, now, chain, t)
                };
            assert_eq!(still(&ctx(&roots), &w, Some(&good)), Ok(()));
            // The partner's root was removed (another one remains): the next message waits.
            let k2 = KeySpec::P256.generate().unwrap();
            let other =
                vec![ca::create_ca("Other Root", "O", &k2, NOW - Duration::days(1), 5).unwrap()];
            let e = still(&ctx(&other), &w, Some(&good)).unwrap_err();
            assert!(
                e.contains("not trusted") && e.contains("settings of now"),
                "{e}"
            );
            // The domain left the send list (or joined another policy): the rest waits for a
            // connection made under the new policy.
            let e = still(&ctx(&roots), &TlsRequirement::Opportunistic, Some(&good)).unwrap_err();
            assert_eq!(
                e,
                "the TLS policy changed from Domain Security for woodgrove.test to opportunistic TLS while connected to 127.0.0.1:2626"
            );
            let refuse = TlsRequirement::Refuse {
                reason: "Domain Security off".into(),
            };
            assert_eq!(
                still(&ctx(&roots), &refuse, Some(&good)),
                Err("Domain Security off".into())
            );
            // Unchanged opportunistic plaintext goes on; a mandatory policy never in plaintext.
            assert_eq!(
                connection_still_acceptable(
                    &ctx(&[]),
                    &TlsRequirement::Opportunistic,
                    &TlsRequirement::Opportunistic,
                    None,
                    t
                ),
                Ok(())
            );
            assert!(still(&ctx(&roots), &w, None).is_err());
        }
    }
}
