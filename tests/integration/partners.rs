//! Partners as the unit of administration, end to end between two Mailflow organizations:
//! the certificate watch records what each partner presented both ways, and the partners
//! report (`mailflow partner health`, the same report the console's partners page shows)
//! turns green after Domain Secure mail flowed and red — with the fix — when a setting breaks
//! the flow.

use crate::support::partners::pair;
use crate::support::relay_util::send_mail;
use mailflow::smtp::evidence::Direction;
use mailflow::store::partner_watch::Presented;
use mailflow::store::tracking::{EventKind, TrackingDb};

/// The line of one column in `partner health` output.
fn line<'a>(out: &'a str, column: &str) -> &'a str {
    out.lines()
        .find(|l| l.trim_start().starts_with(column))
        .unwrap_or_else(|| panic!("no {column} line in:\n{out}"))
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
    let out = a.relay.org.ok(&["partner", "health", "woodgrove.test"]);
    assert!(line(&out, "Trust").contains("FAIL"), "{out}");
    // Not a partner: said plainly.
    let err = a.relay.org.fails(&["partner", "health", "fabrikam.test"]);
    assert!(err.contains("fabrikam.test is not a partner"), "{err}");
}
