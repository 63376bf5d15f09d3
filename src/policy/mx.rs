//! Which hosts to try for a recipient domain, from its MX answer (RFC 5321 §5.1, RFC 7505):
//! the MX hosts by preference, equal preferences in random order; the domain itself when it
//! has no MX (the implicit MX); nothing when it publishes a null MX; and never this server or
//! a host it prefers less than itself, which would send the mail round in a loop. Pure: the
//! caller looks the records up and supplies the shuffle.

/// One MX record as DNS gave it: the preference and the exchange, a host name in lower case
/// without the final dot (`.` itself is written as an empty name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MxRecord {
    pub preference: u16,
    pub exchange: String,
}

/// A host to try, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MxHost {
    pub name: String,
    /// The MX preference; `None` for the implicit MX (the domain itself).
    pub preference: Option<u16>,
}

/// Where mail for a domain goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MxRoute {
    /// These hosts, in this order.
    Hosts(Vec<MxHost>),
    /// The domain publishes a null MX (RFC 7505): it accepts no mail.
    NullMx,
    /// Every usable MX host is this server, or one it is preferred to: delivering would loop.
    LoopsToSelf,
}

/// The route for `domain` from its MX records (`None`: the domain exists and has no MX, so the
/// domain itself is the host). `own_names` are this server's names (its FQDN); `shuffle`
/// orders hosts of equal preference at random (RFC 5321 §5.1 asks senders to spread the load).
pub fn route(
    domain: &str,
    records: Option<&[MxRecord]>,
    own_names: &[&str],
    shuffle: &mut dyn FnMut(&mut [MxHost]),
) -> MxRoute {
    let Some(records) = records.filter(|r| !r.is_empty()) else {
        return MxRoute::Hosts(vec![MxHost {
            name: domain.to_string(),
            preference: None,
        }]);
    };
    let is_null = |r: &MxRecord| r.exchange.is_empty() || r.exchange == ".";
    // RFC 7505 §3: a null MX stands alone; beside other records it is a mistake we skip.
    if records.len() == 1 && is_null(&records[0]) {
        return MxRoute::NullMx;
    }
    let mut usable: Vec<&MxRecord> = records.iter().filter(|r| !is_null(r)).collect();
    if usable.is_empty() {
        return MxRoute::NullMx;
    }
    usable.sort_by_key(|r| r.preference);
    // RFC 5321 §5.1: when this server is among the MX hosts, only hosts it prefers less than
    // itself (lower preference values) may be used.
    let mine = |name: &str| own_names.iter().any(|o| o.eq_ignore_ascii_case(name));
    if let Some(own) = usable
        .iter()
        .find(|r| mine(&r.exchange))
        .map(|r| r.preference)
    {
        usable.retain(|r| r.preference < own);
        if usable.is_empty() {
            return MxRoute::LoopsToSelf;
        }
    }
    let mut hosts: Vec<MxHost> = Vec::new();
    for r in usable {
        if hosts
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case(&r.exchange))
        {
            continue;
        }
        hosts.push(MxHost {
            name: r.exchange.to_ascii_lowercase(),
            preference: Some(r.preference),
        });
    }
    let mut start = 0;
    while start < hosts.len() {
        let end = start
            + hosts[start..]
                .iter()
                .take_while(|h| h.preference == hosts[start].preference)
                .count();
        shuffle(&mut hosts[start..end]);
        start = end;
    }
    MxRoute::Hosts(hosts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mx(preference: u16, exchange: &str) -> MxRecord {
        MxRecord {
            preference,
            exchange: exchange.into(),
        }
    }

    fn names(route: &MxRoute) -> Vec<&str> {
        match route {
            MxRoute::Hosts(h) => h.iter().map(|h| h.name.as_str()).collect(),
            other => panic!("{other:?}"),
        }
    }

    fn keep(_: &mut [MxHost]) {}

    #[test]
    fn hosts_come_in_preference_order() {
        let records = [mx(20, "mx2.woodgrove.test"), mx(10, "mx1.woodgrove.test")];
        let r = route("woodgrove.test", Some(&records), &[], &mut keep);
        assert_eq!(names(&r), ["mx1.woodgrove.test", "mx2.woodgrove.test"]);
    }

    #[test]
    fn only_equal_preferences_are_shuffled() {
        let records = [
            mx(10, "a.woodgrove.test"),
            mx(10, "b.woodgrove.test"),
            mx(20, "c.woodgrove.test"),
        ];
        let mut groups = Vec::new();
        let mut reverse = |h: &mut [MxHost]| {
            groups.push(h.len());
            h.reverse();
        };
        let r = route("woodgrove.test", Some(&records), &[], &mut reverse);
        assert_eq!(
            names(&r),
            ["b.woodgrove.test", "a.woodgrove.test", "c.woodgrove.test"]
        );
        assert_eq!(groups, [2, 1]);
    }

    #[test]
    fn no_mx_means_the_domain_itself() {
        for none in [None, Some(&[][..])] {
            let r = route("woodgrove.test", none, &[], &mut keep);
            assert_eq!(
                r,
                MxRoute::Hosts(vec![MxHost {
                    name: "woodgrove.test".into(),
                    preference: None
                }])
            );
        }
    }

    #[test]
    fn a_null_mx_alone_accepts_no_mail_beside_others_it_is_skipped() {
        assert_eq!(
            route("woodgrove.test", Some(&[mx(0, "")]), &[], &mut keep),
            MxRoute::NullMx
        );
        let r = route(
            "woodgrove.test",
            Some(&[mx(0, ""), mx(10, "mx1.woodgrove.test")]),
            &[],
            &mut keep,
        );
        assert_eq!(names(&r), ["mx1.woodgrove.test"]);
    }

    #[test]
    fn this_server_and_hosts_it_is_preferred_to_are_never_used() {
        let records = [
            mx(10, "mx1.woodgrove.test"),
            mx(20, "MAIL.contoso.test"),
            mx(30, "mx3.woodgrove.test"),
        ];
        let r = route(
            "woodgrove.test",
            Some(&records),
            &["mail.contoso.test"],
            &mut keep,
        );
        assert_eq!(names(&r), ["mx1.woodgrove.test"]);
        let records = [mx(10, "mail.contoso.test"), mx(20, "mx2.woodgrove.test")];
        assert_eq!(
            route(
                "woodgrove.test",
                Some(&records),
                &["mail.contoso.test"],
                &mut keep
            ),
            MxRoute::LoopsToSelf
        );
    }

    #[test]
    fn a_host_named_twice_is_tried_once() {
        let records = [mx(10, "mx1.woodgrove.test"), mx(20, "MX1.woodgrove.test")];
        let r = route("woodgrove.test", Some(&records), &[], &mut keep);
        assert_eq!(names(&r), ["mx1.woodgrove.test"]);
    }
}
