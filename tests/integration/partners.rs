//! Partners as the unit of administration, end to end between two Mailflow organizations:
//! the certificate watch records what each partner presented both ways, and the partners
//! report (`mailflow partner health`, the same report the console's partners page shows)
//! turns green after Domain Secure mail flowed and red — with the fix — when a setting breaks
//! the flow.

use crate::support::partners::pair;
use crate::support::relay_util::{Relay, send_mail};
use mailflow::smtp::evidence::Direction;
use mailflow::store::partner_watch::Presented;
use mailflow::store::tracking::{EventKind, TrackingDb, TrackingQuery};

/// The line of one column in `partner health` output.
fn line<'a>(out: &'a str, column: &str) -> &'a str {
    out.lines()
        .find(|l| l.trim_start().starts_with(column))
        .unwrap_or_else(|| panic!("no {column} line in:\n{out}"))
}

/// Sends a message to Woodgrove through `relay` and returns the reply of its deferral.
fn deferral(relay: &Relay, subject: &str) -> String {
    let r = send_mail(
        relay.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        &format!("Subject: {subject}\n\nwaits\n"),
    );
    assert!(r.starts_with("250 2.6.0"), "{r}");
    let q = TrackingQuery {
        kind: Some(EventKind::Defer),
        ..Default::default()
    };
    let events = relay.wait_track(&format!("DEFER of {subject}"), &q, |e| {
        e.iter().any(|x| x.subject.as_deref() == Some(subject))
    });
    events
        .iter()
        .find(|x| x.subject.as_deref() == Some(subject))
        .and_then(|x| x.response.clone())
        .unwrap_or_default()
}

/// What `mailflow policy explain` says of mail from us to Woodgrove (only the delivery, which
/// waits), held against the deferral the relay gives a real message: the relay's reply holds
/// the simulator's reason. Returns the reason.
fn simulator_and_relay_agree(relay: &Relay, subject: &str) -> String {
    let explained = relay.org.ok(&[
        "policy",
        "explain",
        "--from",
        "alice@contoso.test",
        "--to",
        "bob@woodgrove.test",
    ]);
    assert!(
        !explained.contains("Receiving"),
        "mail from us: {explained}"
    );
    let reason = explained
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("=> REFUSED: the mail waits in the queue: ")
        })
        .unwrap_or_else(|| panic!("{explained}"))
        .to_string();
    let deferred = deferral(relay, subject);
    assert!(
        deferred.contains(&reason),
        "relay: {deferred}\nsimulator: {reason}"
    );
    reason
}

#[test]
fn the_partner_report_follows_the_mail_and_names_the_fix() {
    let (a, b) = pair();
    // Before any mail: configured, but nothing seen yet.
    let out = a.relay.org.ok(&["partner", "health", "woodgrove.test"]);
    assert!(line(&out, "Send connector").contains("ok"), "{out}");
    assert!(
        line(&out, "Partner certificate").contains("not seen yet"),
        "{out}"
    );
    assert!(line(&out, "Last secure out").contains("WARN"), "{out}");
    for (from, to, relay) in [
        ("alice@contoso.test", "bob@woodgrove.test", &a.relay),
        ("bob@woodgrove.test", "alice@contoso.test", &b.relay),
    ] {
        let r = send_mail(relay.addr(), from, &[to], "Subject: partners\n\nhello\n");
        assert!(r.starts_with("250 2.6.0"), "{r}");
    }
    a.relay.wait_kind(EventKind::Send, 1);
    a.relay.wait_kind(EventKind::Receive, 1);
    // The watch: Woodgrove's server certificate (we delivered to it) and its client
    // certificate (it delivered to us), both authenticated.
    let db = TrackingDb::open_read_only(&a.relay.dir().tracking_db()).expect("tracking");
    let seen = db.sightings(Some("woodgrove.test")).expect("sightings");
    for direction in [Direction::Inbound, Direction::Outbound] {
        let s = seen
            .iter()
            .find(|s| s.direction == direction)
            .unwrap_or_else(|| panic!("no {direction:?} sighting in {seen:?}"));
        let Presented::Certificate { certificate, chain } = &s.presented else {
            panic!("{direction:?}: {:?}", s.presented)
        };
        assert!(certificate.names.iter().any(|n| n == "woodgrove.test"));
        assert!(!chain.is_empty());
        assert!(s.verified, "{direction:?} not verified");
    }
    // Nothing is recorded of a domain that is not a partner.
    assert!(db.sightings(Some("contoso.test")).expect("none").is_empty());
    let out = a.relay.org.ok(&["partner", "health", "woodgrove.test"]);
    assert!(out.starts_with("woodgrove.test — healthy"), "{out}");
    let trust = line(&out, "Trust");
    assert!(
        trust.contains("ok") && trust.contains("woodgrove.test Root"),
        "{out}"
    );
    let cert = line(&out, "Partner certificate");
    assert!(
        cert.contains("mail.woodgrove.test from woodgrove.test Root"),
        "{out}"
    );
    for column in ["Last secure in", "Last secure out"] {
        assert!(line(&out, column).contains("ok"), "{column}: {out}");
    }
    assert!(
        line(&out, "Messages 24 h").contains("1 in, 1 out (2 of 2 Domain Secure)"),
        "{out}"
    );
    assert!(
        line(&out, "Our certificate").contains("mail.contoso.test"),
        "{out}"
    );
    // A broken setting turns its cell red, with the fix and its command.
    a.relay
        .change(|s| s.send_connectors[0].domain_secure_enabled = false);
    let out = a.relay.org.ok(&["partner", "health"]);
    assert!(out.starts_with("woodgrove.test — needs attention"), "{out}");
    assert!(line(&out, "Send connector").contains("FAIL"), "{out}");
    assert!(
        out.contains("Fix: Turn on Domain Security on send connector")
            && out.contains("--domain-secure true"),
        "{out}"
    );
    // The simulator says what the relay does: the mail waits, for the same reason.
    let reason = simulator_and_relay_agree(&a.relay, "domain security off");
    assert!(reason.contains("has Domain Security off"), "{reason}");
    a.relay
        .change(|s| s.send_connectors[0].domain_secure_enabled = true);
    // The trust cell judges the certificate seen against today's roots: distrusting
    // Woodgrove's root turns it red.
    let root = a
        .relay
        .org
        .ok(&["trust", "list"])
        .lines()
        .find(|l| l.contains("woodgrove.test Root"))
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .expect("woodgrove root listed");
    a.relay.org.ok(&["trust", "remove", &root]);
    a.relay.reload();
    let out = a.relay.org.ok(&["partner", "health", "woodgrove.test"]);
    assert!(line(&out, "Trust").contains("FAIL"), "{out}");
    // The simulator judges the certificate Woodgrove's server presented last as the relay
    // judges it at delivery: refused, for the same reason.
    let reason = simulator_and_relay_agree(&a.relay, "root distrusted");
    assert!(reason.contains("certificate of"), "{reason}");
    // Not a partner: said plainly.
    let err = a.relay.org.fails(&["partner", "health", "fabrikam.test"]);
    assert!(err.contains("fabrikam.test is not a partner"), "{err}");
}

/// Sends a message to Woodgrove through `relay` and waits until it is sent.
fn delivered(relay: &Relay, subject: &str, sent_before: usize) {
    let r = send_mail(
        relay.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        &format!("Subject: {subject}\n\nhello\n"),
    );
    assert!(r.starts_with("250 2.6.0"), "{r}");
    relay.wait_kind(EventKind::Send, sent_before + 1);
}

/// The alerts the relay announces now.
fn announce(relay: &Relay) -> Vec<mailflow::admin::partners::watch::Alert> {
    relay
        .handle()
        .check_alerts()
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the relay answers")
        .expect("the watch is read")
}

/// The watch's alerts driven by a real partner: Woodgrove moves to a certificate from another
/// CA (announced once: a log line and a mail to the alert address, not again at the next
/// check), then its server stops offering STARTTLS (a downgrade, announced as critical).
#[test]
fn a_partner_changing_its_issuer_and_dropping_tls_is_announced_once() {
    use crate::support::partners::{TestCa, install, trust};
    use mailflow::admin::partners::watch::{AlertKind, Severity};
    use mailflow::config::CertificateSelection;
    let (a, b) = pair();
    a.relay.org.ok(&[
        "transport",
        "set",
        "--alert-address",
        "postmaster@contoso.test",
    ]);
    a.relay.reload();
    delivered(&a.relay, "before the change", 0);
    assert!(announce(&a.relay).is_empty(), "nothing to say yet");
    // Woodgrove's new certificate, from a new CA that Contoso trusts too.
    let new_ca = TestCa::new("Woodgrove New Root");
    trust(&a.relay, &new_ca);
    a.relay.reload();
    let (bundle, _, _) = new_ca.good(
        "mail.woodgrove.test",
        &["mail.woodgrove.test", "woodgrove.test"],
    );
    let thumbprint = install(&b.relay, &bundle);
    trust(&b.relay, &new_ca);
    b.relay.change(|s| {
        s.receive_connectors[0].certificate = CertificateSelection::Thumbprint(thumbprint.clone());
        s.send_connectors[0].certificate = CertificateSelection::Thumbprint(thumbprint.clone());
    });
    delivered(&a.relay, "after the change", 1);
    let alerts = announce(&a.relay);
    let changed = alerts
        .iter()
        .find(|x| x.kind == AlertKind::PartnerIssuerChanged)
        .unwrap_or_else(|| panic!("{alerts:?}"));
    assert_eq!(changed.severity, Severity::Critical);
    assert!(
        changed.text.contains("Woodgrove New Root"),
        "{}",
        changed.text
    );
    // Mailed to the alert address.
    let mail = a
        .relay
        .wait_mailbox("contoso.test", "postmaster", 1)
        .remove(0);
    assert!(
        mail.contains("Subject: Mailflow alerts: 1 critical"),
        "{mail}"
    );
    assert!(mail.contains("another issuer"), "{mail}");
    // Announced once.
    assert!(announce(&a.relay).is_empty());
    let out = a.relay.org.ok(&["partner", "alerts"]);
    assert!(out.contains("CRITICAL: Partner woodgrove.test"), "{out}");
    // Woodgrove's server stops offering STARTTLS: the delivery waits (Domain Security never
    // falls back), and the watch calls it a downgrade.
    b.relay.change(|s| {
        s.receive_connectors[0].domain_secure_enabled = false;
        s.receive_connectors[0].auth_mechanisms = vec![mailflow::config::AuthMechanism::None];
    });
    let deferred = deferral(&a.relay, "without tls");
    assert!(deferred.contains("STARTTLS"), "{deferred}");
    let alerts = announce(&a.relay);
    let down = alerts
        .iter()
        .find(|x| x.kind == AlertKind::PartnerDowngrade)
        .unwrap_or_else(|| panic!("{alerts:?}"));
    assert!(
        down.text.contains("no longer offers STARTTLS"),
        "{}",
        down.text
    );
    let mails = a.relay.wait_mailbox("contoso.test", "postmaster", 2);
    assert!(
        mails
            .iter()
            .any(|m| m.contains("no longer offers STARTTLS")),
        "{mails:?}"
    );
}
