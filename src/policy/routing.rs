//! Routing: a recipient domain goes to local delivery (an accepted domain) or to the enabled
//! send connector whose address space matches most specifically, cost breaking ties
//! (Exchange's least-cost routing). `contoso.com` matches that domain only; `*.contoso.com`
//! matches its subdomains at any depth; `*` matches everything.

use crate::config::CheckedSettings;

/// Where mail for a domain goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// An accepted domain: local delivery.
    Local,
    /// Through a send connector (index into the settings' send connectors).
    Connector { index: usize, name: String },
    /// No enabled send connector covers the domain.
    NoRoute,
}

/// How specifically `pattern` matches `domain`: None when it does not; higher is more specific.
pub fn match_specificity(pattern: &str, domain: &str) -> Option<usize> {
    if pattern == "*" {
        return Some(0);
    }
    if let Some(parent) = pattern.strip_prefix("*.") {
        return domain
            .strip_suffix(parent)
            .filter(|head| head.ends_with('.') && head.len() > 1)
            .map(|_| 2 * parent.len() + 1);
    }
    (pattern == domain).then_some(2 * domain.len() + 2)
}

/// Routes a (normalised) recipient domain.
pub fn route(domain: &str, checked: &CheckedSettings) -> Route {
    if checked.accepted_domains.contains(domain) {
        return Route::Local;
    }
    let mut best: Option<(usize, u8, usize)> = None; // (specificity, cost, index)
    for sc in &checked.send_connectors {
        if !checked.settings.send_connectors[sc.index].enabled {
            continue;
        }
        for (pattern, cost) in &sc.address_spaces {
            if let Some(spec) = match_specificity(pattern, domain) {
                let better = match best {
                    None => true,
                    Some((s, c, _)) => spec > s || (spec == s && *cost < c),
                };
                if better {
                    best = Some((spec, *cost, sc.index));
                }
            }
        }
    }
    match best {
        Some((_, _, index)) => Route::Connector {
            index,
            name: checked.settings.send_connectors[index].name.clone(),
        },
        None => Route::NoRoute,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AddressSpace, SendConnector, Settings, validate};

    fn settings() -> Settings {
        let mut s = Settings::initial("Contoso", "mail.contoso.test", "contoso.test");
        s.send_connectors[0].address_spaces[0].cost = 5;
        for (name, spaces) in [
            ("Woodgrove", vec![("woodgrove.test", 1)]),
            ("WoodgroveSubs", vec![("*.woodgrove.test", 1)]),
            ("Cheap", vec![("*", 1)]),
        ] {
            s.send_connectors.push(SendConnector {
                name: name.into(),
                address_spaces: spaces
                    .into_iter()
                    .map(|(a, c)| AddressSpace {
                        address: a.into(),
                        cost: c,
                    })
                    .collect(),
                ..SendConnector::default()
            });
        }
        s
    }

    fn name(r: Route) -> String {
        match r {
            Route::Connector { name, .. } => name,
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn most_specific_wins_then_cost() {
        let s = settings();
        let c = validate(&s).unwrap();
        assert_eq!(route("contoso.test", &c), Route::Local);
        assert_eq!(name(route("woodgrove.test", &c)), "Woodgrove");
        assert_eq!(name(route("mail.woodgrove.test", &c)), "WoodgroveSubs");
        assert_eq!(name(route("a.b.woodgrove.test", &c)), "WoodgroveSubs");
        assert_eq!(
            name(route("fabrikam.test", &c)),
            "Cheap",
            "cost 1 beats cost 5 for '*'"
        );
        assert_eq!(
            name(route("notwoodgrove.test", &c)),
            "Cheap",
            "a wildcard needs a label boundary"
        );
    }

    #[test]
    fn disabled_connectors_are_skipped() {
        let mut s = settings();
        for sc in &mut s.send_connectors {
            if sc.name != "Woodgrove" {
                sc.enabled = false;
            }
        }
        let c = validate(&s).unwrap();
        assert_eq!(route("fabrikam.test", &c), Route::NoRoute);
        assert_eq!(name(route("woodgrove.test", &c)), "Woodgrove");
    }

    #[test]
    fn specificity_rules() {
        assert_eq!(match_specificity("*", "x.test"), Some(0));
        assert!(match_specificity("*.x.test", "x.test").is_none());
        assert!(match_specificity("x.test", "a.x.test").is_none());
        assert!(
            match_specificity("a.x.test", "a.x.test") > match_specificity("*.x.test", "a.x.test")
        );
        assert!(
            match_specificity("*.a.x.test", "b.a.x.test")
                > match_specificity("*.x.test", "b.a.x.test")
        );
    }
}
