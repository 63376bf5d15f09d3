//! How far a peer's certificate is trusted, in Postfix's words (Anonymous, Untrusted, Trusted,
//! Verified): Direct Trust pins first (our own relays: no chain building, self-signed
//! included), partner pins (a partner's own certificate, standing for the chain of that
//! partner's domains only — never making it one of our servers), then the chain against the trusted roots for the purpose (serverAuth or
//! clientAuth) at the given time, then — for a partner domain with its own anchors — whether
//! the validated path contains one of those anchors, so that partner B's CA cannot vouch for
//! partner A. Revocation ([`super::revocation`]): a blocked thumbprint anywhere in the chain
//! fails it, pins and anchors included; the chain is checked against the revocation lists at
//! hand while it is built.

use super::revocation::Revocation;
use crate::config::{
    DirectTrustEntry, PartnerAnchor, PartnerPin, Pin, domain, validate::normalize_hex,
};
use crate::pki::chain::{ChainFailure, ChainVerdict, Purpose, verify_chain_checked};
use crate::pki::digest;
use crate::pki::inspect::{CertificateInfo, inspect_certificate};
use crate::smtp::evidence::{PeerCertificate, TrustLevel};
use time::OffsetDateTime;

/// What trust decisions need besides the peer's chain.
#[derive(Clone, Copy, Debug)]
pub struct TrustContext<'a> {
    pub roots: &'a [Vec<u8>],
    pub direct_trust: &'a [DirectTrustEntry],
    /// Partners' own certificates, each bound to the partner's domains.
    pub partner_pins: &'a [PartnerPin],
    pub partner_anchors: &'a [PartnerAnchor],
    pub now: OffsetDateTime,
    /// Revocation lists, the thumbprint deny-list and the unknown-status mode
    /// ([`Revocation::none`] for none).
    pub revocation: &'a Revocation,
}

/// The evaluation of a presented chain.
#[derive(Clone, Debug)]
pub struct PeerEvaluation {
    pub certificate: PeerCertificate,
    /// Name of the Direct Trust entry whose pin matched: one of our own servers.
    pub pinned: Option<String>,
    /// The partner pin that matched (a partner's own certificate), valid only for its domains:
    /// see [`PeerEvaluation::partner_pin_for`].
    pub partner_pin: Option<PartnerPin>,
    /// `Ok` when the chain validates (and satisfies the anchors of `anchor_domain`).
    pub chain: Result<(), String>,
    /// DER of the path that validated, leaf first and the anchoring trusted root last, when it
    /// did.
    pub path: Vec<Vec<u8>>,
    /// Why the certificate's CN does not count as a name (a name-constrained CA on the path),
    /// for the reasons given when no name matches.
    pub names_note: Option<String>,
}

impl PeerEvaluation {
    /// The chain verdict for partner `domain`: the chain validates and, when the domain has
    /// anchors of its own, the validated path contains one of them. For an evaluation made
    /// without a domain (at STARTTLS), so that each MAIL FROM only adds the domain's part.
    pub fn chain_for(&self, domain: &str, partner_anchors: &[PartnerAnchor]) -> Result<(), String> {
        self.chain.clone()?;
        anchors_hold(
            &self.path,
            &self.certificate.issuer,
            domain,
            partner_anchors,
        )
    }

    /// The name of the partner pin that stands for the chain of partner `domain`: the
    /// certificate matched a partner pin bound to that domain. A partner pin vouches for
    /// nothing else (another domain, an internal server, a chain).
    pub fn partner_pin_for(&self, domain: &str) -> Option<&str> {
        let d = domain::normalize(domain).ok()?;
        self.partner_pin
            .as_ref()
            .filter(|p| {
                p.domains
                    .iter()
                    .any(|pd| domain::normalize(pd).ok().as_deref() == Some(d.as_str()))
            })
            .map(|p| p.name.as_str())
    }

    /// Trusted (chain OK or pinned) without a name check; Untrusted otherwise.
    pub fn trust_level(&self) -> TrustLevel {
        if self.pinned.is_some() || self.chain.is_ok() {
            TrustLevel::Trusted
        } else {
            TrustLevel::Untrusted
        }
    }
}

fn pin_matches(pin: &Pin, info: &CertificateInfo) -> bool {
    match pin {
        Pin::Thumbprint(t) => normalize_hex(t) == info.thumbprint,
        Pin::PublicKeySha256(h) => normalize_hex(h) == info.public_key_sha256,
    }
}

/// The record of a certificate for evidence.
pub fn peer_record(info: &CertificateInfo) -> PeerCertificate {
    PeerCertificate {
        subject: info.subject.clone(),
        issuer: info.issuer.clone(),
        subject_cn: info.common_names.last().cloned().unwrap_or_default(),
        issuer_cn: info.issuer_common_names.last().cloned().unwrap_or_default(),
        thumbprint: info.thumbprint.clone(),
        public_key_sha256: info.public_key_sha256.clone(),
        names: info.names(),
        not_after: info.not_after.unix_timestamp(),
    }
}

/// Whether a validated `path` (leaf first, anchoring root last) satisfies the anchors pinned
/// for partner `domain`; `Ok` when the domain has none (Exchange's rule: any trusted root
/// vouches). `issuer` names the leaf's issuer for the reason.
pub fn anchors_hold(
    path: &[Vec<u8>],
    issuer: &str,
    domain: &str,
    partner_anchors: &[PartnerAnchor],
) -> Result<(), String> {
    let Ok(d) = domain::normalize(domain) else {
        return Ok(());
    };
    let Some(anchors) = partner_anchors
        .iter()
        .find(|p| domain::normalize(&p.domain).ok().as_deref() == Some(d.as_str()))
    else {
        return Ok(());
    };
    let holds_anchor = path
        .iter()
        .filter_map(|der| inspect_certificate(der).ok())
        .any(|ci| anchors.anchors.iter().any(|a| pin_matches(a, &ci)));
    if holds_anchor {
        Ok(())
    } else {
        Err(format!(
            "issued by {issuer}, which is not an anchor pinned for partner {d}: only that partner's own CA may vouch for it"
        ))
    }
}

fn blocked_reason(thumbprint: &str) -> String {
    format!(
        "blocked: certificate {thumbprint} is on this organization's deny-list (`mailflow cert unblock` takes it off)"
    )
}

/// Evaluates a peer chain (leaf first) for `purpose`. `anchor_domain` is the partner domain
/// whose own anchors (if any are configured) the path must contain.
pub fn evaluate(
    chain: &[Vec<u8>],
    purpose: Purpose,
    ctx: &TrustContext<'_>,
    anchor_domain: Option<&str>,
) -> Option<PeerEvaluation> {
    let leaf = chain.first()?;
    let info = match inspect_certificate(leaf) {
        Ok(i) => i,
        Err(e) => {
            return Some(PeerEvaluation {
                certificate: PeerCertificate {
                    subject: "(unreadable certificate)".into(),
                    issuer: String::new(),
                    subject_cn: String::new(),
                    issuer_cn: String::new(),
                    thumbprint: digest::thumbprint(leaf),
                    public_key_sha256: String::new(),
                    names: Vec::new(),
                    not_after: 0,
                },
                pinned: None,
                partner_pin: None,
                chain: Err(e.to_string()),
                path: Vec::new(),
                names_note: None,
            });
        }
    };
    // The deny-list first: nothing vouches for a blocked certificate, not even a pin.
    if let Some(tp) = chain
        .iter()
        .map(|c| digest::thumbprint(c))
        .find(|t| ctx.revocation.is_blocked(t))
    {
        return Some(PeerEvaluation {
            certificate: peer_record(&info),
            pinned: None,
            partner_pin: None,
            chain: Err(blocked_reason(&tp)),
            path: Vec::new(),
            names_note: None,
        });
    }
    // A pin replaces chain building, not the validity period.
    let pinned = ctx
        .direct_trust
        .iter()
        .find(|e| pin_matches(&e.pin, &info))
        .filter(|_| info.is_current(ctx.now))
        .map(|e| e.name.clone());
    let partner_pin = ctx
        .partner_pins
        .iter()
        .find(|p| pin_matches(&p.pin, &info))
        .filter(|_| info.is_current(ctx.now))
        .cloned();
    // A certificate pinned both ways (say, by thumbprint as a partner and by key as ours) is
    // taken for the lesser: a partner, never one of our servers.
    let pinned = pinned.filter(|_| partner_pin.is_none());
    let lists = ctx.revocation.lists();
    let verdict = verify_chain_checked(
        leaf,
        &chain[1..],
        ctx.roots,
        ctx.now,
        purpose,
        Some(ctx.revocation.check(&lists)),
    );
    // Certificates from a CA we trust: their lists are worth fetching (never a URL from a
    // chain nobody vouches for).
    if matches!(
        verdict,
        ChainVerdict::Trusted { .. }
            | ChainVerdict::Untrusted {
                kind: ChainFailure::Revoked | ChainFailure::RevocationUnknown,
                ..
            }
    ) {
        ctx.revocation.downloaded.note_chain(chain, ctx.roots);
    }
    let verdict = match verdict {
        // A blocked root or intermediate the path was built through.
        ChainVerdict::Trusted { path } => match path
            .iter()
            .map(|c| digest::thumbprint(c))
            .find(|t| ctx.revocation.is_blocked(t))
        {
            Some(tp) => {
                return Some(PeerEvaluation {
                    certificate: peer_record(&info),
                    pinned: None,
                    partner_pin: None,
                    chain: Err(blocked_reason(&tp)),
                    path: Vec::new(),
                    names_note: None,
                });
            }
            None => ChainVerdict::Trusted { path },
        },
        other => other,
    };
    let (mut result, path) = match verdict {
        // The path ends with the root webpki anchored it on.
        ChainVerdict::Trusted { path } => (Ok(()), path),
        ChainVerdict::Untrusted { reason, .. } => (Err(reason), Vec::new()),
    };
    if let (Ok(()), Some(d)) = (&result, anchor_domain) {
        result = anchors_hold(&path, &info.issuer, d, ctx.partner_anchors);
    }
    // Name constraints bind SAN names only: under a constrained CA the CN is no name.
    let mut certificate = peer_record(&info);
    certificate.names = info.names_on_path(&path);
    Some(PeerEvaluation {
        certificate,
        pinned,
        partner_pin,
        chain: result,
        names_note: info.unused_cn(&path),
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::ca::{self, LeafUsage};
    use crate::pki::keys::{self, KeySpec};
    use crate::pki::subject::Subject;
    use time::{Duration, macros::datetime};

    const NOW: OffsetDateTime = datetime!(2026-11-29 12:00 UTC);

    /// The evaluation of `cert` as the client certificate of a session from `domain`.
    fn client_for(cert: &[u8], ctx: &TrustContext<'_>, domain: &str) -> PeerEvaluation {
        evaluate(&[cert.to_vec()], Purpose::Client, ctx, Some(domain)).unwrap()
    }

    /// The context of the tests: these roots, nothing else trusted, at NOW, no revocation.
    fn trusting(roots: &[Vec<u8>]) -> TrustContext<'_> {
        TrustContext {
            roots,
            direct_trust: &[],
            partner_pins: &[],
            partner_anchors: &[],
            now: NOW,
            revocation: Revocation::none(),
        }
    }

    fn org(name: &str) -> (Vec<u8>, rcgen::KeyPair) {
        let k = KeySpec::P256.generate().unwrap();
        (
            ca::create_ca(
                &format!("{name} Root"),
                name,
                &k,
                NOW - Duration::days(1),
                5,
            )
            .unwrap(),
            k,
        )
    }

    fn leaf(ca: &(Vec<u8>, rcgen::KeyPair), name: &str) -> Vec<u8> {
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
            NOW - Duration::days(1),
            NOW + Duration::days(30),
        )
        .unwrap()
    }

    #[test]
    fn partner_b_cannot_vouch_for_partner_a() {
        let a = org("Woodgrove");
        let b = org("Fabrikam");
        let roots = vec![a.0.clone(), b.0.clone()];
        let a_tp = inspect_certificate(&a.0).unwrap().thumbprint;
        let anchors = vec![PartnerAnchor {
            domain: "woodgrove.test".into(),
            anchors: vec![Pin::Thumbprint(a_tp)],
        }];
        let ctx = TrustContext {
            partner_anchors: &anchors,
            ..trusting(&roots)
        };
        let genuine = leaf(&a, "woodgrove.test");
        let forged = leaf(&b, "woodgrove.test");
        let e = evaluate(&[genuine], Purpose::Client, &ctx, Some("woodgrove.test")).unwrap();
        assert!(e.chain.is_ok(), "{:?}", e.chain);
        assert_eq!(e.path.len(), 2, "leaf and anchoring root");
        let e = client_for(&forged, &ctx, "woodgrove.test");
        assert!(
            e.chain
                .as_ref()
                .unwrap_err()
                .contains("not an anchor pinned for partner woodgrove.test"),
            "{:?}",
            e.chain
        );
        // Evaluated once without a domain (at STARTTLS), then for the domain (at MAIL FROM):
        // the same verdicts.
        let once = evaluate(std::slice::from_ref(&forged), Purpose::Client, &ctx, None).unwrap();
        assert!(
            once.chain.is_ok(),
            "no domain, no anchors: {:?}",
            once.chain
        );
        assert_eq!(
            once.chain_for("woodgrove.test", &anchors),
            e.chain,
            "the per-domain part gives evaluate's verdict"
        );
        assert_eq!(once.chain_for("WoodGrove.Test", &anchors), e.chain);
        assert_eq!(once.chain_for("fabrikam.test", &anchors), Ok(()));
        let genuine_once =
            evaluate(&[leaf(&a, "woodgrove.test")], Purpose::Client, &ctx, None).unwrap();
        assert_eq!(genuine_once.chain_for("woodgrove.test", &anchors), Ok(()));
        // Without anchors, Exchange's rule: any trusted root vouches.
        let ctx2 = TrustContext {
            partner_anchors: &[],
            ..ctx
        };
        assert!(
            evaluate(&[forged], Purpose::Client, &ctx2, Some("woodgrove.test"))
                .unwrap()
                .chain
                .is_ok()
        );
    }

    /// Regression: the anchoring root was guessed by issuer name, so a second root with the
    /// same subject as a partner's pinned root could vouch for that partner.
    #[test]
    fn a_root_with_the_same_name_as_the_pinned_one_cannot_vouch() {
        let a = org("Woodgrove");
        let b = org("Woodgrove");
        assert_eq!(
            inspect_certificate(&a.0).unwrap().subject,
            inspect_certificate(&b.0).unwrap().subject,
            "same subject, different keys"
        );
        let a_tp = inspect_certificate(&a.0).unwrap().thumbprint;
        let anchors = vec![PartnerAnchor {
            domain: "woodgrove.test".into(),
            anchors: vec![Pin::Thumbprint(a_tp)],
        }];
        // The pinned root comes first, so a search by name would find it.
        let roots = vec![a.0.clone(), b.0.clone()];
        let ctx = TrustContext {
            partner_anchors: &anchors,
            ..trusting(&roots)
        };
        let forged = leaf(&b, "woodgrove.test");
        let e = client_for(&forged, &ctx, "woodgrove.test");
        assert!(e.chain.is_err(), "{:?}", e.chain);
        // Without the pin it validates, anchored on the second root (not the first).
        let ctx = TrustContext {
            partner_anchors: &[],
            ..ctx
        };
        let e = evaluate(&[forged], Purpose::Client, &ctx, Some("woodgrove.test")).unwrap();
        assert!(e.chain.is_ok(), "{:?}", e.chain);
        assert_eq!(e.path.last(), Some(&b.0));
        let genuine = leaf(&a, "woodgrove.test");
        let e = evaluate(&[genuine], Purpose::Client, &ctx, Some("woodgrove.test")).unwrap();
        assert_eq!(e.path.last(), Some(&a.0));
    }

    /// A CA constrained to `woodgrove.test` (a cross-certified partner CA) and a SAN-less leaf
    /// it issued with `subject`.
    fn constrained_ca_and_leaf(subject: &str, san: Option<&str>) -> (Vec<u8>, Vec<u8>) {
        let k = KeySpec::P256.generate().unwrap();
        let mut p = rcgen::CertificateParams::default();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "Woodgrove Constrained CA");
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        p.name_constraints = Some(rcgen::NameConstraints {
            permitted_subtrees: vec![rcgen::GeneralSubtree::DnsName("woodgrove.test".into())],
            excluded_subtrees: Vec::new(),
        });
        p.not_before = NOW - Duration::days(1);
        p.not_after = NOW + Duration::days(365);
        let ca = p.self_signed(&k).unwrap().der().to_vec();
        let lk = KeySpec::P256.generate().unwrap();
        let leaf = ca::issue_leaf(
            &ca,
            &k,
            &Subject::parse(subject).unwrap().to_der(),
            &keys::spki_der(&lk),
            san.map(|n| crate::pki::der::san_dns_ext(&[n.to_string()]).value),
            LeafUsage::SMTP,
            NOW - Duration::days(1),
            NOW + Duration::days(30),
        )
        .unwrap();
        (ca, leaf)
    }

    /// Regression (issue 9.2): webpki checks dNSName constraints against SAN names only, so a
    /// CA constrained to woodgrove.test could issue a SAN-less `CN=fabrikam.test` that was then
    /// matched for fabrikam.test by its CN.
    #[test]
    fn under_a_name_constrained_ca_the_cn_is_no_name() {
        let (ca, forged) = constrained_ca_and_leaf("CN=fabrikam.test", None);
        let roots = vec![ca.clone()];
        let ctx = trusting(&roots);
        let e = evaluate(&[forged], Purpose::Client, &ctx, None).unwrap();
        assert!(e.chain.is_ok(), "webpki accepts it: {:?}", e.chain);
        assert_eq!(e.certificate.subject_cn, "fabrikam.test");
        assert!(e.certificate.names.is_empty(), "{:?}", e.certificate.names);
        let why = e.names_note.unwrap_or_default();
        assert!(
            why.contains("its CN fabrikam.test is not used as a name")
                && why.contains("Woodgrove Constrained CA")
                && why.contains("permitted DNS:woodgrove.test"),
            "{why}"
        );
        // Even a CN inside the constraint is not used: the constraint never looked at it.
        let (ca2, inside) = constrained_ca_and_leaf("CN=mail.woodgrove.test", None);
        let roots2 = vec![ca2];
        let ctx2 = TrustContext {
            roots: &roots2,
            ..ctx
        };
        let e = evaluate(&[inside], Purpose::Client, &ctx2, None).unwrap();
        assert!(e.certificate.names.is_empty() && e.names_note.is_some());
        // A SAN inside the constraint is a name as always; outside, webpki refuses the chain.
        let (ca3, good) = constrained_ca_and_leaf("CN=x", Some("mail.woodgrove.test"));
        let (ca4, outside) = constrained_ca_and_leaf("CN=x", Some("fabrikam.test"));
        let roots3 = vec![ca3];
        let ctx3 = TrustContext {
            roots: &roots3,
            ..ctx
        };
        let e = evaluate(&[good], Purpose::Client, &ctx3, None).unwrap();
        assert_eq!(e.certificate.names, ["mail.woodgrove.test"]);
        assert_eq!(e.names_note, None);
        let roots4 = vec![ca4];
        let ctx4 = TrustContext {
            roots: &roots4,
            ..ctx
        };
        let e = evaluate(&[outside], Purpose::Client, &ctx4, None).unwrap();
        assert!(e.chain.is_err(), "SAN outside the constraint");
        // Without constraints on the path, a SAN-less certificate's CN is its name (as before).
        let plain = org("Contoso");
        let k = KeySpec::P256.generate().unwrap();
        let no_san = ca::issue_leaf(
            &plain.0,
            &plain.1,
            &Subject::parse("CN=contoso.test").unwrap().to_der(),
            &keys::spki_der(&k),
            None,
            LeafUsage::SMTP,
            NOW - Duration::days(1),
            NOW + Duration::days(30),
        )
        .unwrap();
        let roots5 = vec![plain.0.clone()];
        let ctx5 = TrustContext {
            roots: &roots5,
            ..ctx
        };
        let e = evaluate(&[no_san], Purpose::Client, &ctx5, None).unwrap();
        assert_eq!(e.certificate.names, ["contoso.test"]);
        assert_eq!(e.names_note, None);
    }

    #[test]
    fn direct_trust_pins_a_self_signed_certificate() {
        let k = KeySpec::P256.generate().unwrap();
        let own = ca::self_signed(
            &Subject::parse("CN=relay2.contoso.test").unwrap(),
            &["relay2.contoso.test".into()],
            &k,
            NOW - Duration::days(1),
            30,
        )
        .unwrap();
        let info = inspect_certificate(&own).unwrap();
        let pins = vec![DirectTrustEntry {
            name: "relay2".into(),
            pin: Pin::PublicKeySha256(info.public_key_sha256.clone()),
        }];
        let ctx = TrustContext {
            roots: &[],
            direct_trust: &pins,
            partner_pins: &[],
            partner_anchors: &[],
            now: NOW,
            revocation: Revocation::none(),
        };
        let e = evaluate(std::slice::from_ref(&own), Purpose::Server, &ctx, None).unwrap();
        assert_eq!(e.pinned.as_deref(), Some("relay2"));
        assert!(e.chain.is_err(), "no chain, yet trusted by the pin");
        assert_eq!(e.trust_level(), TrustLevel::Trusted);
        // Pinned as a partner as well (by its thumbprint): a partner, never one of ours.
        let partner = vec![PartnerPin {
            name: "Relay2 as a partner".into(),
            domains: vec!["contoso.test".into()],
            pin: Pin::Thumbprint(info.thumbprint.clone()),
        }];
        let both = TrustContext {
            partner_pins: &partner,
            ..ctx
        };
        let e = evaluate(std::slice::from_ref(&own), Purpose::Server, &both, None).unwrap();
        assert_eq!(e.pinned, None);
        assert_eq!(
            e.partner_pin_for("contoso.test"),
            Some("Relay2 as a partner")
        );
        assert_eq!(
            e.partner_pin_for("relay2.contoso.test"),
            None,
            "its domains only"
        );
        let ctx = TrustContext {
            direct_trust: &[],
            partner_pins: &[],
            ..ctx
        };
        assert_eq!(
            evaluate(&[own], Purpose::Server, &ctx, None)
                .unwrap()
                .trust_level(),
            TrustLevel::Untrusted
        );
    }

    /// The deny-list beats every way of vouching: the chain, a partner anchor and a Direct
    /// Trust pin.
    #[test]
    fn a_blocked_certificate_fails_even_a_pin_or_an_anchor() {
        let a = org("Woodgrove");
        let cert = leaf(&a, "woodgrove.test");
        let info = inspect_certificate(&cert).unwrap();
        let root_tp = inspect_certificate(&a.0).unwrap().thumbprint;
        let pins = vec![DirectTrustEntry {
            name: "relay2".into(),
            pin: Pin::Thumbprint(info.thumbprint.clone()),
        }];
        let anchors = vec![PartnerAnchor {
            domain: "woodgrove.test".into(),
            anchors: vec![Pin::Thumbprint(root_tp.clone())],
        }];
        let roots = vec![a.0.clone()];
        let open = Revocation::default();
        let ctx = TrustContext {
            direct_trust: &pins,
            partner_anchors: &anchors,
            revocation: &open,
            ..trusting(&roots)
        };
        let e = client_for(&cert, &ctx, "woodgrove.test");
        assert!(
            e.chain.is_ok() && e.pinned.is_some(),
            "before blocking: {e:?}"
        );
        for blocked in [info.thumbprint.clone(), root_tp.to_lowercase()] {
            let r = Revocation {
                blocked: vec![blocked.clone()],
                ..Default::default()
            };
            let ctx = TrustContext {
                revocation: &r,
                ..ctx
            };
            let e = client_for(&cert, &ctx, "woodgrove.test");
            assert_eq!(e.pinned, None, "{blocked}");
            assert_eq!(e.trust_level(), TrustLevel::Untrusted, "{blocked}");
            let why = e.chain.unwrap_err();
            assert!(
                why.starts_with("blocked: certificate ") && why.contains("deny-list"),
                "{why}"
            );
        }
    }

    /// A revoked partner certificate fails the evaluation.
    #[test]
    fn a_revoked_certificate_fails_the_evaluation() {
        let a = org("Woodgrove");
        let cert = leaf(&a, "woodgrove.test");
        let list = crate::pki::chain::tests::crl_of(
            &a,
            &[&cert],
            NOW - Duration::hours(1),
            NOW + Duration::days(7),
        );
        let roots = vec![a.0.clone()];
        let r = Revocation {
            stored: vec![list],
            ..Default::default()
        };
        let ctx = TrustContext {
            revocation: &r,
            ..trusting(&roots)
        };
        let e = client_for(&cert, &ctx, "woodgrove.test");
        assert!(
            e.chain.as_ref().unwrap_err().starts_with("revoked: "),
            "{:?}",
            e.chain
        );
        assert_eq!(e.trust_level(), TrustLevel::Untrusted);
        // The same chain without the list (as before revocation checks) is trusted.
        let ctx = TrustContext {
            revocation: Revocation::none(),
            ..ctx
        };
        let e = evaluate(&[cert], Purpose::Client, &ctx, Some("woodgrove.test")).unwrap();
        assert!(e.chain.is_ok(), "{:?}", e.chain);
    }

    /// A leaf of `ca` for `name` naming `url` as its CRL distribution point.
    fn leaf_with_crl_url(ca: &(Vec<u8>, rcgen::KeyPair), name: &str, url: &str) -> Vec<u8> {
        let issuer = rcgen::Issuer::from_ca_cert_der(
            &rustls::pki_types::CertificateDer::from(ca.0.as_slice()),
            &ca.1,
        )
        .unwrap();
        let mut p = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
        p.not_before = NOW - Duration::days(1);
        p.not_after = NOW + Duration::days(30);
        p.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        p.crl_distribution_points = vec![rcgen::CrlDistributionPoint {
            uris: vec![url.to_string()],
        }];
        let k = KeySpec::P256.generate().unwrap();
        p.signed_by(&k, &issuer).unwrap().der().to_vec()
    }

    /// Only certificates a trusted CA vouches for make the relay download a list: a stranger
    /// cannot make it fetch any URL it likes.
    #[test]
    fn only_chains_from_trusted_cas_ask_for_their_lists() {
        let a = org("Woodgrove");
        let stranger = org("Stranger");
        let roots = vec![a.0.clone()];
        let r = Revocation::default();
        let ctx = TrustContext {
            revocation: &r,
            ..trusting(&roots)
        };
        let foreign = leaf_with_crl_url(&stranger, "woodgrove.test", "http://10.0.0.1/x.crl");
        let e = evaluate(&[foreign], Purpose::Client, &ctx, None).unwrap();
        assert!(e.chain.is_err());
        assert!(
            r.downloaded.take_wanted().is_empty(),
            "nothing noted for a stranger"
        );
        let own = leaf_with_crl_url(&a, "woodgrove.test", "http://127.0.0.1:9/w.crl");
        let e = evaluate(std::slice::from_ref(&own), Purpose::Client, &ctx, None).unwrap();
        assert!(e.chain.is_ok(), "{:?}", e.chain);
        let wanted = r.downloaded.take_wanted();
        assert_eq!(wanted.len(), 1);
        assert_eq!(wanted[0].url, "http://127.0.0.1:9/w.crl");
        assert_eq!(wanted[0].issuers, vec![a.0.clone()]);
        // Noted once.
        evaluate(&[own], Purpose::Client, &ctx, None).unwrap();
        assert!(r.downloaded.take_wanted().is_empty());
    }
}
