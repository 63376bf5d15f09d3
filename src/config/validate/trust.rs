//! The rules of the trust settings: Direct Trust entries (our own servers), partner anchors
//! (the CAs a partner domain's certificates must chain to) and partner pins, each pin a
//! well-formed thumbprint or public-key SHA-256, and no certificate both ours and a partner's.

use super::Checker;
use crate::config::domain;
use crate::config::model::*;
use std::collections::BTreeSet;

/// Checks Direct Trust, partner anchors and partner pins.
pub(super) fn check(c: &mut Checker, settings: &Settings) {
    // Direct Trust
    let mut dt_names = BTreeSet::new();
    for (i, e) in settings.direct_trust.iter().enumerate() {
        let base = format!("direct_trust[{i}]");
        if e.name.trim().is_empty() {
            c.add(
                format!("{base}.name"),
                "direct trust",
                "each Direct Trust entry needs a name",
            );
        } else if !dt_names.insert(e.name.to_lowercase()) {
            c.add(
                format!("{base}.name"),
                "direct trust",
                format!("the name '{}' is used twice", e.name),
            );
        }
        c.pin(
            &e.pin,
            format!("{base}.pin"),
            format!("direct trust '{}'", e.name),
        );
    }

    // Partner anchors
    let mut partner_domains = BTreeSet::new();
    for (i, pa) in settings.partner_anchors.iter().enumerate() {
        let base = format!("partner_anchors[{i}]");
        let place = format!("partner anchors for '{}'", pa.domain);
        if let Some(d) = partner_domain(c, &pa.domain, format!("{base}.domain"), &place)
            && !partner_domains.insert(d.clone())
        {
            c.add(
                format!("{base}.domain"),
                place.clone(),
                format!("'{d}' has anchors twice; merge them"),
            );
        }
        if pa.anchors.is_empty() {
            c.add(
                format!("{base}.anchors"),
                place.clone(),
                "at least one anchor (a CA thumbprint or a public-key SHA-256) is needed",
            );
        }
        for (j, pin) in pa.anchors.iter().enumerate() {
            c.pin(pin, format!("{base}.anchors[{j}]"), place.clone());
        }
    }

    // Partner pins
    let mut pin_names = BTreeSet::new();
    for (i, pp) in settings.partner_pins.iter().enumerate() {
        let base = format!("partner_pins[{i}]");
        let place = format!("partner pin '{}'", pp.name);
        if pp.name.trim().is_empty() {
            c.add(
                format!("{base}.name"),
                place.clone(),
                "each partner pin needs a name (the partner organization)",
            );
        } else if !pin_names.insert(pp.name.to_lowercase()) {
            c.add(
                format!("{base}.name"),
                place.clone(),
                format!("the name '{}' is used twice", pp.name),
            );
        }
        if pp.domains.is_empty() {
            c.add(
                format!("{base}.domains"),
                place.clone(),
                "a partner pin is bound to the partner's domains: name at least one",
            );
        }
        for (j, d) in pp.domains.iter().enumerate() {
            partner_domain(c, d, format!("{base}.domains[{j}]"), &place);
        }
        c.pin(&pp.pin, format!("{base}.pin"), place.clone());
        let same = |p: &Pin| normalize_hex(pin_hex(p)) == normalize_hex(pin_hex(&pp.pin));
        if let Some(e) = settings.direct_trust.iter().find(|e| same(&e.pin)) {
            c.add(
                format!("{base}.pin"),
                place.clone(),
                format!(
                    "this certificate is also pinned as our own server (Direct Trust '{}'): a certificate is either ours or a partner's; remove one of the two",
                    e.name
                ),
            );
        }
    }
}

/// A partner's domain, named exactly (no wildcard): normalised, or `None` after reporting why not.
fn partner_domain(c: &mut Checker, text: &str, path: String, place: &str) -> Option<String> {
    if text.contains('*') {
        c.add(
            path,
            place,
            "a partner domain is named exactly; wildcards are not allowed",
        );
        return None;
    }
    match domain::normalize(text) {
        Ok(d) => Some(d),
        Err(e) => {
            c.add(path, place, e.to_string());
            None
        }
    }
}

fn pin_hex(p: &Pin) -> &str {
    match p {
        Pin::Thumbprint(t) | Pin::PublicKeySha256(t) => t,
    }
}

/// Normalises a pin's hex text: upper case, no separators.
pub fn normalize_hex(text: &str) -> String {
    text.chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}
