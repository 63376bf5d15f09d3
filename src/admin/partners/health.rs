//! The health of the secure mail flow with each partner domain, judged from what the caller
//! gathered (the run configuration, the certificate watch, tracking's activity, the queues):
//! a row of cells, each green, amber or red with a sentence, and on every red cell the fix.
//! Every verdict is the policy code's: routing and the TLS requirement come from
//! [`crate::policy::routing`] and [`crate::policy::outbound`], the partner's certificate is
//! judged by [`crate::policy::trust::evaluate`] against today's roots, pins and anchors. No
//! I/O here.

use super::super::readiness::CheckMark;
use crate::engine::config::RunConfig;
use crate::pki::chain::Purpose;
use crate::pki::inspect::inspect_certificate;
use crate::policy::outbound::{TlsRequirement, requirement};
use crate::policy::routing::{Route, route};
use crate::policy::trust::evaluate;
use crate::smtp::evidence::{Direction, PeerCertificate};
use crate::store::partner_activity::Activity;
use crate::store::partner_watch::{Presented, Seen};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Days before an expiry that turn a certificate amber, and red.
pub const EXPIRY_WARN_DAYS: i64 = 30;
pub const EXPIRY_ALERT_DAYS: i64 = 7;

/// What the "Fix…" of a red cell does: the same operation from the console and (as the
/// command it prints) from the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fix {
    /// Put the domain on the send domain secure list.
    AddToSendList,
    /// Put the domain on the receive domain secure list.
    AddToReceiveList,
    /// Turn Domain Security on on this send connector.
    SendConnectorDomainSecurity(String),
    /// Turn Domain Security on on this receive connector.
    ReceiveConnectorDomainSecurity(String),
    /// Run the Domain Security wizard for the partner (connector, root, lists in one go).
    SetUpDomainSecurity,
    /// Our certificate is missing, expiring or not presented: request or enable one.
    OurCertificate,
    /// Nothing we can change here: what to ask the partner's administrator.
    AskPartner(String),
    /// Look at the refusals and failed deliveries in message tracking.
    TrackFailures,
}

impl Fix {
    /// What the fix does, in a sentence.
    pub fn describe(&self, domain: &str) -> String {
        match self {
            Fix::AddToSendList => format!("Put {domain} on the send domain secure list"),
            Fix::AddToReceiveList => format!("Put {domain} on the receive domain secure list"),
            Fix::SendConnectorDomainSecurity(c) => {
                format!("Turn on Domain Security on send connector '{c}'")
            }
            Fix::ReceiveConnectorDomainSecurity(c) => {
                format!("Turn on Domain Security on receive connector '{c}'")
            }
            Fix::SetUpDomainSecurity => format!(
                "Set up Domain Security with {domain} (the wizard: our certificate, their root, \
                 the lists and a send connector)"
            ),
            Fix::OurCertificate => {
                "Request a new SMTP certificate, import it and enable it for SMTP (Certificates)"
                    .into()
            }
            Fix::AskPartner(what) => what.clone(),
            Fix::TrackFailures => format!("Look at the refusals and failures with {domain}"),
        }
    }
}

/// One cell of a partner's row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    pub mark: CheckMark,
    pub text: String,
    /// Set on every red cell (and on amber ones where there is something to do).
    pub fix: Option<Fix>,
}

impl Cell {
    fn new(mark: CheckMark, text: impl Into<String>) -> Cell {
        Cell {
            mark,
            text: text.into(),
            fix: None,
        }
    }

    fn fix(mut self, fix: Fix) -> Cell {
        self.fix = Some(fix);
        self
    }

    fn na(text: impl Into<String>) -> Cell {
        Cell::new(CheckMark::Skip, text)
    }
}

/// The columns of the partners page, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Column {
    SendList,
    ReceiveList,
    SendConnector,
    ReceiveConnectors,
    Trust,
    PartnerCertificate,
    LastInbound,
    LastOutbound,
    LastFailure,
    Messages24h,
    Queued,
    OurCertificate,
}

impl Column {
    pub const ALL: [Column; 12] = [
        Column::SendList,
        Column::ReceiveList,
        Column::SendConnector,
        Column::ReceiveConnectors,
        Column::Trust,
        Column::PartnerCertificate,
        Column::LastInbound,
        Column::LastOutbound,
        Column::LastFailure,
        Column::Messages24h,
        Column::Queued,
        Column::OurCertificate,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Column::SendList => "Send list",
            Column::ReceiveList => "Receive list",
            Column::SendConnector => "Send connector",
            Column::ReceiveConnectors => "Receive connectors",
            Column::Trust => "Trust",
            Column::PartnerCertificate => "Partner certificate",
            Column::LastInbound => "Last secure in",
            Column::LastOutbound => "Last secure out",
            Column::LastFailure => "Last failure",
            Column::Messages24h => "Messages 24 h",
            Column::Queued => "Queued",
            Column::OurCertificate => "Our certificate",
        }
    }
}

/// The partner certificate last seen, as the watch recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastCertificate {
    pub certificate: PeerCertificate,
    pub direction: Direction,
    /// Unix milliseconds.
    pub last_seen: i64,
    pub host: String,
}

/// One partner domain with every cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartnerHealth {
    pub domain: String,
    pub cells: BTreeMap<Column, Cell>,
    pub last_certificate: Option<LastCertificate>,
}

impl PartnerHealth {
    pub fn cell(&self, c: Column) -> &Cell {
        // Every column is filled by `judge`; a missing one reads as not checked.
        static NONE: Cell = Cell {
            mark: CheckMark::Skip,
            text: String::new(),
            fix: None,
        };
        self.cells.get(&c).unwrap_or(&NONE)
    }

    /// The first cell with the worst mark, when that is red or amber: what needs looking at.
    pub fn attention(&self) -> Option<(Column, &Cell)> {
        let worst = self.worst();
        if !matches!(worst, CheckMark::Fail | CheckMark::Warn) {
            return None;
        }
        Column::ALL
            .into_iter()
            .map(|c| (c, self.cell(c)))
            .find(|(_, cell)| cell.mark == worst)
    }

    /// The worst mark of the row (red before amber before green).
    pub fn worst(&self) -> CheckMark {
        let marks: Vec<CheckMark> = self.cells.values().map(|c| c.mark).collect();
        [CheckMark::Fail, CheckMark::Warn, CheckMark::Pass]
            .into_iter()
            .find(|m| marks.contains(m))
            .unwrap_or(CheckMark::Skip)
    }
}

/// One of our certificates as a partner would see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OurCert {
    pub subject: String,
    pub not_after: OffsetDateTime,
}

/// Everything the judgement reads.
pub struct Facts<'a> {
    pub run: &'a RunConfig,
    /// Our certificates by thumbprint.
    pub ours: &'a BTreeMap<String, OurCert>,
    /// The certificate watch (any domains; each row picks its own).
    pub sightings: &'a [Seen],
    pub activity: &'a BTreeMap<String, Activity>,
    /// Messages waiting per recipient domain.
    pub queued: &'a BTreeMap<String, usize>,
    pub now: OffsetDateTime,
}

/// Days from `now` to `t`, rounded down (negative once past).
pub fn days_left(now: OffsetDateTime, t: OffsetDateTime) -> i64 {
    (t - now).whole_days()
}

fn expiry_mark(days: i64) -> CheckMark {
    if days <= EXPIRY_ALERT_DAYS {
        CheckMark::Fail
    } else if days <= EXPIRY_WARN_DAYS {
        CheckMark::Warn
    } else {
        CheckMark::Pass
    }
}

fn expiry_words(days: i64) -> String {
    match days {
        d if d < 0 => format!("expired {} days ago", -d),
        0 => "expires today".into(),
        1 => "1 day left".into(),
        d => format!("{d} days left"),
    }
}

/// "3 h ago", for the last-seen cells.
pub fn ago(now: OffsetDateTime, ms: i64) -> String {
    let secs = (now.unix_timestamp() - ms.div_euclid(1000)).max(0);
    match secs {
        s if s < 60 => "just now".into(),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s => format!("{} days ago", s / 86_400),
    }
}

/// The rows of every partner domain, in domain order.
pub fn judge(facts: &Facts<'_>) -> Vec<PartnerHealth> {
    facts
        .run
        .checked
        .partner_domains
        .iter()
        .map(|d| judge_one(facts, d))
        .collect()
}

/// The row of partner `domain`.
pub fn judge_one(facts: &Facts<'_>, domain: &str) -> PartnerHealth {
    let checked = &facts.run.checked;
    let on_send = checked.send_domain_secure.contains(domain);
    let on_receive = checked.receive_domain_secure.contains(domain);
    let mut cells = BTreeMap::new();
    let list_cell = |on: bool, other: bool, fix: Fix, which: &str| {
        if on {
            Cell::new(CheckMark::Pass, "on the list")
        } else if other {
            Cell::new(
                CheckMark::Warn,
                format!("not on the {which} list: only one direction is secured"),
            )
            .fix(fix)
        } else {
            Cell::new(CheckMark::Warn, "not on the list").fix(fix)
        }
    };
    cells.insert(
        Column::SendList,
        list_cell(on_send, on_receive, Fix::AddToSendList, "send"),
    );
    cells.insert(
        Column::ReceiveList,
        list_cell(on_receive, on_send, Fix::AddToReceiveList, "receive"),
    );
    let (send_cell, send_blocked) = send_connector_cell(facts, domain);
    let send_fix = send_cell.fix.clone();
    cells.insert(Column::SendConnector, send_cell);
    cells.insert(
        Column::ReceiveConnectors,
        receive_connectors_cell(facts, on_receive),
    );
    let last = last_certificate(facts.sightings, domain);
    cells.insert(Column::Trust, trust_cell(facts, domain, last.as_ref()));
    cells.insert(
        Column::PartnerCertificate,
        partner_certificate_cell(facts, last.as_ref()),
    );
    let activity = facts.activity.get(domain);
    let last_cell = |t: Option<i64>, listed: bool, direction: &str| match t {
        Some(ms) => Cell::new(CheckMark::Pass, ago(facts.now, ms)),
        None if listed => Cell::new(
            CheckMark::Warn,
            format!("no Domain Secure message {direction} yet"),
        ),
        None => Cell::na("never"),
    };
    cells.insert(
        Column::LastInbound,
        last_cell(activity.and_then(|a| a.last_secure_in), on_receive, "in"),
    );
    cells.insert(
        Column::LastOutbound,
        last_cell(activity.and_then(|a| a.last_secure_out), on_send, "out"),
    );
    cells.insert(
        Column::LastFailure,
        match activity.and_then(|a| a.last_failure.as_ref()) {
            None => Cell::new(CheckMark::Pass, "none"),
            Some(f) => {
                let recent = facts.now.unix_timestamp() * 1000 - f.time < 86_400_000;
                let after_success = [
                    activity.and_then(|a| a.last_secure_in),
                    activity.and_then(|a| a.last_secure_out),
                ]
                .into_iter()
                .flatten()
                .all(|s| s < f.time);
                let mark = if recent && after_success {
                    CheckMark::Fail
                } else {
                    CheckMark::Warn
                };
                Cell::new(
                    mark,
                    format!("{} {}: {}", f.kind, ago(facts.now, f.time), f.reason),
                )
                .fix(Fix::TrackFailures)
            }
        },
    );
    cells.insert(
        Column::Messages24h,
        match activity {
            None => Cell::na("none"),
            Some(a) => {
                let both = [a.received_24h, a.sent_24h];
                let secure: u64 = both.iter().map(|b| b.domain_secure).sum();
                let total: u64 = both.iter().map(|b| b.total()).sum();
                let text = format!(
                    "{} in, {} out ({secure} of {total} Domain Secure); {} refused",
                    a.received_24h.total(),
                    a.sent_24h.total(),
                    a.refused_24h
                );
                let mark = if total > secure && (on_send || on_receive) {
                    CheckMark::Warn
                } else if total == 0 {
                    CheckMark::Skip
                } else {
                    CheckMark::Pass
                };
                Cell::new(mark, text)
            }
        },
    );
    let queued = facts.queued.get(domain).copied().unwrap_or(0);
    cells.insert(
        Column::Queued,
        match queued {
            0 => Cell::new(CheckMark::Pass, "0"),
            n if send_blocked => Cell::new(CheckMark::Fail, format!("{n} waiting"))
                .fix(send_fix.unwrap_or(Fix::SetUpDomainSecurity)),
            n => Cell::new(CheckMark::Warn, format!("{n} waiting")).fix(Fix::TrackFailures),
        },
    );
    cells.insert(
        Column::OurCertificate,
        our_certificate_cell(facts, domain, on_send),
    );
    PartnerHealth {
        domain: domain.to_string(),
        cells,
        last_certificate: last,
    }
}

/// The send connector cell, and whether mail to the partner cannot leave (red).
fn send_connector_cell(facts: &Facts<'_>, domain: &str) -> (Cell, bool) {
    let checked = &facts.run.checked;
    match route(domain, checked) {
        Route::Local => (
            Cell::new(
                CheckMark::Fail,
                format!("{domain} is one of our accepted domains: mail to it stays here"),
            )
            .fix(Fix::SetUpDomainSecurity),
            true,
        ),
        Route::NoRoute => (
            Cell::new(
                CheckMark::Fail,
                "no enabled send connector covers the domain: mail to it waits",
            )
            .fix(Fix::SetUpDomainSecurity),
            true,
        ),
        Route::Connector { index, name } => match requirement(domain, index, checked) {
            TlsRequirement::DomainSecure { .. } => (
                Cell::new(CheckMark::Pass, format!("{name}: Domain Security on")),
                false,
            ),
            TlsRequirement::Refuse { .. } => (
                Cell::new(
                    CheckMark::Fail,
                    format!("{name}: Domain Security off, so mail to the partner waits"),
                )
                .fix(Fix::SendConnectorDomainSecurity(name)),
                true,
            ),
            // Not on the send list (on it, the requirement is one of the two above).
            other => (
                Cell::new(
                    CheckMark::Warn,
                    format!("{name}: {} (not on the send list)", other.describe()),
                )
                .fix(Fix::AddToSendList),
                false,
            ),
        },
    }
}

/// The receive connectors that would accept the partner as Domain Secure: enabled, offering
/// STARTTLS, Domain Security on, Partners among the permission groups.
fn receive_connectors_cell(facts: &Facts<'_>, on_receive: bool) -> Cell {
    use crate::config::PermissionGroup;
    let run = facts.run;
    let accepting: Vec<&str> = run
        .receive
        .iter()
        .filter(|r| {
            r.settings.enabled
                && r.settings.domain_secure_enabled
                && r.tls.is_some()
                && r.settings
                    .permission_groups
                    .contains(&PermissionGroup::Partners)
        })
        .map(|r| r.name.as_str())
        .collect();
    if !accepting.is_empty() {
        return Cell::new(CheckMark::Pass, accepting.join(", "));
    }
    let mark = if on_receive {
        CheckMark::Fail
    } else {
        CheckMark::Warn
    };
    let why = "no receive connector has Domain Security on with STARTTLS and Partners";
    match run.receive.iter().find(|r| r.settings.enabled) {
        Some(r) if !r.settings.domain_secure_enabled => {
            Cell::new(mark, why).fix(Fix::ReceiveConnectorDomainSecurity(r.name.clone()))
        }
        _ => Cell::new(mark, why).fix(Fix::SetUpDomainSecurity),
    }
}

/// The certificate the partner presented last (either direction), with its facts: its
/// servers' (we connected to them), or a client certificate that authenticated it (anyone
/// may send as the partner with some certificate).
fn last_certificate(sightings: &[Seen], domain: &str) -> Option<LastCertificate> {
    sightings
        .iter()
        .filter(|s| s.domain == domain)
        .filter(|s| s.direction == Direction::Outbound || s.verified)
        .filter_map(|s| {
            s.certificate().map(|c| LastCertificate {
                certificate: c.clone(),
                direction: s.direction,
                last_seen: s.last_seen,
                host: s.host.clone(),
            })
        })
        .max_by_key(|c| c.last_seen)
}

/// The chain of the last certificate, from the watch.
fn last_chain<'a>(sightings: &'a [Seen], last: &LastCertificate) -> Option<&'a [Vec<u8>]> {
    sightings.iter().find_map(|s| match &s.presented {
        Presented::Certificate { certificate, chain }
            if certificate.thumbprint == last.certificate.thumbprint
                && s.direction == last.direction =>
        {
            Some(chain.as_slice())
        }
        _ => None,
    })
}

/// Which root, anchor or pin would validate the partner's certificate today.
fn trust_cell(facts: &Facts<'_>, domain: &str, last: Option<&LastCertificate>) -> Cell {
    let settings = &facts.run.checked.settings;
    let anchors = settings
        .partner_anchors
        .iter()
        .find(|a| a.domain.eq_ignore_ascii_case(domain));
    let Some(last) = last else {
        let configured = match anchors {
            Some(a) => format!("anchored to {} pin(s) of its own", a.anchors.len()),
            None => format!("any of our {} trusted roots", facts.run.roots.len()),
        };
        return Cell::new(
            CheckMark::Warn,
            format!("{configured}; no certificate of the partner seen yet"),
        );
    };
    let Some(chain) = last_chain(facts.sightings, last).filter(|c| !c.is_empty()) else {
        return Cell::new(CheckMark::Warn, "the certificate's chain was not kept");
    };
    let purpose = match last.direction {
        Direction::Inbound => Purpose::Client,
        Direction::Outbound => Purpose::Server,
    };
    let mut ctx = facts.run.trust_context();
    ctx.now = facts.now;
    let Some(eval) = evaluate(chain, purpose, &ctx, Some(domain)) else {
        return Cell::new(CheckMark::Warn, "no certificate");
    };
    if let Some(pin) = eval.partner_pin_for(domain) {
        return Cell::new(CheckMark::Pass, format!("partner pin {pin}"));
    }
    match eval.chain_for(domain, &settings.partner_anchors) {
        Ok(()) => {
            let root = eval
                .path
                .last()
                .and_then(|der| inspect_certificate(der).ok())
                .map(|c| c.common_names.last().cloned().unwrap_or(c.subject))
                .unwrap_or_else(|| "a trusted root".into());
            let how = if anchors.is_some() {
                " (its own anchor)"
            } else {
                ""
            };
            Cell::new(CheckMark::Pass, format!("{root}{how}"))
        }
        Err(why) => Cell::new(CheckMark::Fail, format!("not trusted today: {why}"))
            .fix(Fix::SetUpDomainSecurity),
    }
}

fn partner_certificate_cell(facts: &Facts<'_>, last: Option<&LastCertificate>) -> Cell {
    let Some(last) = last else {
        return Cell::na("not seen yet");
    };
    let c = &last.certificate;
    let not_after = OffsetDateTime::from_unix_timestamp(c.not_after).unwrap_or(facts.now);
    let days = days_left(facts.now, not_after);
    let cn = if c.subject_cn.is_empty() {
        c.subject.as_str()
    } else {
        c.subject_cn.as_str()
    };
    let cell = Cell::new(
        expiry_mark(days),
        format!(
            "{cn} from {}, {}",
            if c.issuer_cn.is_empty() {
                &c.issuer
            } else {
                &c.issuer_cn
            },
            expiry_words(days)
        ),
    );
    if days <= EXPIRY_WARN_DAYS {
        cell.fix(Fix::AskPartner(format!(
            "Ask the partner's administrator to renew certificate {} ({}) and to send the new \
             one's issuer if it changes",
            c.subject, c.thumbprint
        )))
    } else {
        cell
    }
}

/// The certificate we present to the partner: the send connector's client certificate, or
/// (when mail only comes in) the receive connector's.
fn our_certificate_cell(facts: &Facts<'_>, domain: &str, on_send: bool) -> Cell {
    let run = facts.run;
    let presented = match route(domain, &run.checked) {
        Route::Connector { name, .. } => run
            .send
            .iter()
            .find(|s| s.name == name)
            .map(|s| (s.certificate.clone(), s.certificate_problem.clone())),
        _ => None,
    }
    .or_else(|| {
        run.receive
            .iter()
            .find(|r| r.settings.enabled && r.tls.is_some())
            .map(|r| (r.certificate.clone(), None))
    });
    let Some((Some(thumbprint), _)) = presented else {
        let why = presented
            .and_then(|p| p.1)
            .unwrap_or_else(|| "no SMTP certificate".into());
        let mark = if on_send {
            CheckMark::Fail
        } else {
            CheckMark::Warn
        };
        return Cell::new(mark, format!("none: {why}")).fix(Fix::OurCertificate);
    };
    let Some(ours) = facts.ours.get(&thumbprint) else {
        return Cell::new(CheckMark::Warn, format!("certificate {thumbprint}"));
    };
    let days = days_left(facts.now, ours.not_after);
    let cell = Cell::new(
        expiry_mark(days),
        format!("{}, {}", ours.subject, expiry_words(days)),
    );
    if days <= EXPIRY_WARN_DAYS {
        cell.fix(Fix::OurCertificate)
    } else {
        cell
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::{Workspace, init};
    use crate::store::DataDir;
    use crate::store::partner_activity::Failure;

    fn org() -> (tempfile::TempDir, Workspace, OffsetDateTime) {
        let now = OffsetDateTime::now_utc();
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = DataDir::new(tmp.path().join("org"));
        init(&dir, "Contoso", "mail.contoso.test", "contoso.test", now).expect("init");
        let ws = Workspace::open(&dir).expect("open");
        (tmp, ws, now)
    }

    fn row(
        ws: &Workspace,
        now: OffsetDateTime,
        activity: &BTreeMap<String, Activity>,
    ) -> PartnerHealth {
        let run = RunConfig::build(ws, now).expect("run");
        let queued: BTreeMap<String, usize> = [("woodgrove.test".to_string(), 3)].into();
        let rows = judge(&Facts {
            run: &run,
            ours: &BTreeMap::new(),
            sightings: &[],
            activity,
            queued: &queued,
            now,
        });
        assert_eq!(rows.len(), 1, "{rows:?}");
        rows.into_iter().next().expect("row")
    }

    /// A partner on the send list whose connector has Domain Security off: the connector
    /// and the queue are red with the connector's fix; the receive side says what is missing;
    /// a recent failure after the last success is red. Every red cell has a fix.
    #[test]
    fn red_cells_name_their_fix() {
        let (_tmp, mut ws, now) = org();
        ws.change_settings(|s| {
            s.transport.tls_send_domain_secure_list = vec!["woodgrove.test".into()];
            s.send_connectors[0].address_spaces = vec![crate::config::AddressSpace {
                address: "*".into(),
                cost: 1,
            }];
            Ok(())
        })
        .expect("settings");
        let now_ms = now.unix_timestamp() * 1000;
        let activity: BTreeMap<String, Activity> = [(
            "woodgrove.test".to_string(),
            Activity {
                last_secure_out: Some(now_ms - 7_200_000),
                last_failure: Some(Failure {
                    time: now_ms - 60_000,
                    kind: "DEFER".into(),
                    reason: "451 4.7.5 Domain Security off".into(),
                }),
                ..Default::default()
            },
        )]
        .into();
        let r = row(&ws, now, &activity);
        let name = ws.settings.send_connectors[0].name.clone();
        assert_eq!(r.cell(Column::SendList).mark, CheckMark::Pass);
        assert_eq!(r.cell(Column::ReceiveList).mark, CheckMark::Warn);
        assert_eq!(r.cell(Column::ReceiveList).fix, Some(Fix::AddToReceiveList));
        let send = r.cell(Column::SendConnector);
        assert_eq!(send.mark, CheckMark::Fail);
        assert_eq!(
            send.fix,
            Some(Fix::SendConnectorDomainSecurity(name.clone()))
        );
        let queued = r.cell(Column::Queued);
        assert_eq!(
            (queued.mark, queued.text.as_str()),
            (CheckMark::Fail, "3 waiting")
        );
        assert_eq!(queued.fix, Some(Fix::SendConnectorDomainSecurity(name)));
        assert_eq!(r.cell(Column::LastFailure).mark, CheckMark::Fail);
        assert_eq!(r.cell(Column::LastOutbound).mark, CheckMark::Pass);
        assert_eq!(r.cell(Column::PartnerCertificate).mark, CheckMark::Skip);
        assert_eq!(r.worst(), CheckMark::Fail);
        for c in Column::ALL {
            let cell = r.cell(c);
            assert!(
                cell.mark != CheckMark::Fail || cell.fix.is_some(),
                "{c:?}: {cell:?}"
            );
        }
        // Domain Security on: that cell turns green, and the queue waits for other reasons.
        ws.change_settings(|s| {
            s.send_connectors[0].domain_secure_enabled = true;
            Ok(())
        })
        .expect("settings");
        let r = row(&ws, now, &activity);
        assert_eq!(r.cell(Column::SendConnector).mark, CheckMark::Pass);
        assert_eq!(r.cell(Column::Queued).mark, CheckMark::Warn);
    }

    /// Mail to a partner that no connector covers waits: red, with the wizard as the fix.
    #[test]
    fn no_route_is_red_with_the_wizard() {
        let (_tmp, mut ws, now) = org();
        ws.change_settings(|s| {
            s.transport.tls_receive_domain_secure_list = vec!["woodgrove.test".into()];
            s.send_connectors.clear();
            Ok(())
        })
        .expect("settings");
        let r = row(&ws, now, &BTreeMap::new());
        let send = r.cell(Column::SendConnector);
        assert_eq!(send.mark, CheckMark::Fail, "{send:?}");
        assert_eq!(send.fix, Some(Fix::SetUpDomainSecurity));
        assert_eq!(r.cell(Column::SendList).fix, Some(Fix::AddToSendList));
    }
}
