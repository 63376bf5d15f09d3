//! The alerts of the partner certificate watch, judged from what the watch recorded and from
//! our own certificates and trusted roots: a partner certificate expiring within 30 or 7 days
//! (or expired); a partner presenting a new certificate (rotation), more serious when the
//! issuer changed; a downgrade (a partner whose servers offered STARTTLS or whose clients
//! presented a certificate, and whose last session did not); our SMTP certificate or a trusted
//! root expiring. Each alert has a stable key, so the relay announces it once (log line,
//! notification mail) however often the watch is read. Pure: no I/O, no clock.

use super::health::{EXPIRY_ALERT_DAYS, EXPIRY_WARN_DAYS, days_left};
use crate::policy::inbound::name_covers_sender;
use crate::smtp::evidence::{Direction, PeerCertificate};
use crate::store::partner_watch::{Presented, Seen};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// A new certificate is news for this long after it was first seen.
pub const ROTATION_NEWS_DAYS: i64 = 14;
/// A certificate last seen longer ago than this is no longer the partner's current one (its
/// expiry is not announced).
pub const CURRENT_DAYS: i64 = 45;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Warning,
    Critical,
}

/// What an alert is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertKind {
    PartnerCertificateExpiring,
    PartnerCertificateRotated,
    PartnerIssuerChanged,
    PartnerDowngrade,
    OurCertificateExpiring,
    TrustedRootExpiring,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// Stable while the situation lasts: the relay announces each key once.
    pub key: String,
    pub kind: AlertKind,
    pub severity: Severity,
    /// The partner domain, for partner alerts.
    pub domain: Option<String>,
    pub text: String,
}

/// One of our certificates, or a trusted root, as the alerts need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertFact {
    pub thumbprint: String,
    pub subject: String,
    pub not_after: OffsetDateTime,
}

/// The expiry bucket of `days` left: `Some((7|30, severity))` when it is worth an alert.
fn expiry_bucket(days: i64) -> Option<(i64, Severity)> {
    if days <= EXPIRY_ALERT_DAYS {
        Some((EXPIRY_ALERT_DAYS, Severity::Critical))
    } else if days <= EXPIRY_WARN_DAYS {
        Some((EXPIRY_WARN_DAYS, Severity::Warning))
    } else {
        None
    }
}

fn expiry_words(days: i64) -> String {
    match days {
        d if d < 0 => format!("expired {} days ago", -d),
        0 => "expires today".into(),
        1 => "expires tomorrow".into(),
        d => format!("expires in {d} days"),
    }
}

fn side(direction: Direction) -> &'static str {
    match direction {
        Direction::Inbound => "its sending servers (client certificate)",
        Direction::Outbound => "its receiving servers (server certificate)",
    }
}

/// The rows of one partner and direction that count as the partner's own: every outbound row
/// (we connected to its hosts), and inbound rows whose certificate names the domain (or that
/// had no certificate), so a stranger's certificate claiming the domain does not count.
fn own_rows<'a>(rows: &[&'a Seen]) -> Vec<&'a Seen> {
    rows.iter()
        .copied()
        .filter(|s| match (&s.direction, &s.presented) {
            (Direction::Inbound, Presented::Certificate { certificate, .. }) => certificate
                .names
                .iter()
                .any(|n| name_covers_sender(n, &s.domain)),
            _ => true,
        })
        .collect()
}

fn cert_of(s: &Seen) -> Option<&PeerCertificate> {
    s.certificate()
}

/// Every alert of the watch at `now`.
pub fn alerts(
    sightings: &[Seen],
    ours: &[CertFact],
    roots: &[CertFact],
    now: OffsetDateTime,
) -> Vec<Alert> {
    let now_ms = now.unix_timestamp() * 1000;
    let mut out = Vec::new();
    let mut groups: BTreeMap<(String, bool), Vec<&Seen>> = BTreeMap::new();
    for s in sightings {
        let inbound = s.direction == Direction::Inbound;
        groups
            .entry((s.domain.clone(), inbound))
            .or_default()
            .push(s);
    }
    for ((domain, _), rows) in groups {
        let rows = own_rows(&rows);
        let Some(direction) = rows.first().map(|r| r.direction) else {
            continue;
        };
        let certs: Vec<&Seen> = rows
            .iter()
            .copied()
            .filter(|s| cert_of(s).is_some())
            .collect();
        // Expiry of the certificate presented last, while it is current.
        if let Some(last) = certs.iter().max_by_key(|s| s.last_seen)
            && now_ms - last.last_seen <= CURRENT_DAYS * 86_400_000
            && let Some(c) = cert_of(last)
        {
            let not_after = OffsetDateTime::from_unix_timestamp(c.not_after).unwrap_or(now);
            let days = days_left(now, not_after);
            if let Some((bucket, severity)) = expiry_bucket(days) {
                out.push(Alert {
                    key: format!("partner-expiry-{bucket}:{domain}:{}", c.thumbprint),
                    kind: AlertKind::PartnerCertificateExpiring,
                    severity,
                    domain: Some(domain.clone()),
                    text: format!(
                        "Partner {domain}: the certificate of {} {} ({}, issued by {}, thumbprint {}); ask its administrator to renew it",
                        side(direction),
                        expiry_words(days),
                        c.subject,
                        c.issuer,
                        c.thumbprint
                    ),
                });
            }
        }
        // Rotation: the newest certificate is recent and replaced an older one.
        let mut by_first: Vec<&Seen> = certs.clone();
        by_first.sort_by_key(|s| s.first_seen);
        if let [.., before, newest] = by_first.as_slice()
            && now_ms - newest.first_seen <= ROTATION_NEWS_DAYS * 86_400_000
            && let (Some(new), Some(old)) = (cert_of(newest), cert_of(before))
        {
            let issuer_changed = new.issuer != old.issuer;
            out.push(Alert {
                key: format!(
                    "partner-rotation:{domain}:{}:{}",
                    if direction == Direction::Inbound { "in" } else { "out" },
                    new.thumbprint
                ),
                kind: if issuer_changed {
                    AlertKind::PartnerIssuerChanged
                } else {
                    AlertKind::PartnerCertificateRotated
                },
                severity: if issuer_changed {
                    Severity::Critical
                } else {
                    Severity::Warning
                },
                domain: Some(domain.clone()),
                text: if issuer_changed {
                    format!(
                        "Partner {domain}: {} present a certificate from another issuer: {} issued by {} (thumbprint {}), before {} issued by {}. Confirm the change with the partner before trusting the new issuer",
                        side(direction),
                        new.subject,
                        new.issuer,
                        new.thumbprint,
                        old.subject,
                        old.issuer
                    )
                } else {
                    format!(
                        "Partner {domain}: {} present a new certificate: {} (thumbprint {}), replacing {}",
                        side(direction),
                        new.subject,
                        new.thumbprint,
                        old.thumbprint
                    )
                },
            });
        }
        // Downgrade: the last session had no TLS or no certificate, after certificates.
        // Inbound, only the same client as the one that presented the certificate counts:
        // anyone can send as the partner without TLS (and is refused when it is listed).
        if let Some(last) = rows.iter().max_by_key(|s| s.last_seen)
            && cert_of(last).is_none()
            && let Some(had) = certs
                .iter()
                .filter(|c| c.last_seen < last.last_seen)
                .max_by_key(|c| c.last_seen)
            && (direction == Direction::Outbound || had.host == last.host)
        {
            let what = match (&last.presented, direction) {
                (Presented::NoTls, Direction::Outbound) => "no longer offers STARTTLS",
                (Presented::NoTls, Direction::Inbound) => "sent to us without TLS",
                _ => "sent to us without a client certificate",
            };
            out.push(Alert {
                key: format!(
                    "partner-downgrade:{domain}:{}:{}:{}",
                    if direction == Direction::Inbound { "in" } else { "out" },
                    last.presented.key(),
                    had.last_seen
                ),
                kind: AlertKind::PartnerDowngrade,
                severity: Severity::Critical,
                domain: Some(domain.clone()),
                text: format!(
                    "Partner {domain} {what} (last at {}, from {}); it presented a certificate until then. A downgrade can be an attack on the connection: check with the partner",
                    crate::store::clock::format_ms(last.last_seen),
                    last.host
                ),
            });
        }
    }
    for (list, kind, what) in [
        (
            ours,
            AlertKind::OurCertificateExpiring,
            "Our SMTP certificate",
        ),
        (roots, AlertKind::TrustedRootExpiring, "Trusted root"),
    ] {
        for c in list {
            let days = days_left(now, c.not_after);
            if let Some((bucket, severity)) = expiry_bucket(days) {
                out.push(Alert {
                    key: format!("{kind:?}-{bucket}:{}", c.thumbprint),
                    kind,
                    severity,
                    domain: None,
                    text: format!(
                        "{what} {} {} (thumbprint {})",
                        c.subject,
                        expiry_words(days),
                        c.thumbprint
                    ),
                });
            }
        }
    }
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.key.cmp(&b.key)));
    out
}

/// A notification mail of new alerts.
pub struct AlertMail<'a> {
    pub from: &'a str,
    pub to: &'a str,
    /// This relay's FQDN (named in the text and the Message-ID).
    pub fqdn: &'a str,
    /// The unique part of the Message-ID.
    pub unique: &'a str,
    pub now: OffsetDateTime,
    pub alerts: &'a [Alert],
}

/// ASCII only (a certificate subject may hold anything): what is not printable ASCII becomes
/// `?`, so the mail is 7-bit whatever the alerts say.
fn ascii(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// Wraps `text` at 76 columns, continuation lines indented by `indent` spaces.
fn wrap(text: &str, indent: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !line.is_empty() && line.len() + 1 + word.len() > 76 {
            lines.push(std::mem::take(&mut line));
            line = " ".repeat(indent);
        } else if !line.is_empty() && !line.ends_with(' ') {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.trim().is_empty() {
        lines.push(line);
    }
    lines
}

/// The notification mail (RFC 5322, CRLF, 7-bit) of `m.alerts`.
pub fn alert_mail(m: &AlertMail<'_>) -> Vec<u8> {
    let critical = m
        .alerts
        .iter()
        .filter(|a| a.severity == Severity::Critical)
        .count();
    let warnings = m.alerts.len() - critical;
    let mut lines = vec![
        format!("From: {}", ascii(m.from)),
        format!("To: {}", ascii(m.to)),
        format!(
            "Subject: Mailflow alerts: {critical} critical, {warnings} warning{}",
            if warnings == 1 { "" } else { "s" }
        ),
        format!("Date: {}", crate::smtp::headers::rfc5322_date(m.now)),
        format!("Message-ID: <{}@{}>", ascii(m.unique), ascii(m.fqdn)),
        "Auto-Submitted: auto-generated".to_string(),
        "MIME-Version: 1.0".to_string(),
        "Content-Type: text/plain; charset=us-ascii".to_string(),
        String::new(),
        format!("Mailflow on {} has new alerts:", ascii(m.fqdn)),
        String::new(),
    ];
    for a in m.alerts {
        let mark = match a.severity {
            Severity::Critical => "CRITICAL",
            Severity::Warning => "Warning",
        };
        lines.extend(wrap(&format!("- {mark}: {}", ascii(&a.text)), 2));
    }
    lines.push(String::new());
    lines.extend(wrap(
        "The console's Partners page shows them with what to do; `mailflow partner alerts` lists them.",
        0,
    ));
    let mut out = lines.join("\r\n");
    out.push_str("\r\n");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("time")
    }

    fn ms(days_ago: i64) -> i64 {
        now().unix_timestamp() * 1000 - days_ago * DAY
    }

    fn cert(thumbprint: &str, issuer: &str, days_left: i64, names: &[&str]) -> Presented {
        Presented::Certificate {
            certificate: PeerCertificate {
                subject: "CN=mail.woodgrove.test".into(),
                issuer: format!("CN={issuer}"),
                subject_cn: "mail.woodgrove.test".into(),
                issuer_cn: issuer.into(),
                thumbprint: thumbprint.into(),
                public_key_sha256: String::new(),
                names: names.iter().map(|n| n.to_string()).collect(),
                not_after: now().unix_timestamp() + days_left * 86_400,
            },
            chain: vec![vec![0x30]],
        }
    }

    fn seen(direction: Direction, presented: Presented, first: i64, last: i64, host: &str) -> Seen {
        Seen {
            domain: "woodgrove.test".into(),
            direction,
            first_seen: ms(first),
            last_seen: ms(last),
            times: 3,
            host: host.into(),
            presented,
            verified: true,
        }
    }

    fn kinds(a: &[Alert]) -> Vec<(AlertKind, Severity)> {
        a.iter().map(|a| (a.kind, a.severity)).collect()
    }

    const OUT: Direction = Direction::Outbound;
    const IN: Direction = Direction::Inbound;
    const W: &[&str] = &["woodgrove.test"];

    #[test]
    fn a_partner_certificate_expiring_warns_at_30_and_alarms_at_7_days() {
        let a = alerts(
            &[seen(OUT, cert("AA", "W CA", 20, W), 100, 1, "mx:25")],
            &[],
            &[],
            now(),
        );
        assert_eq!(
            kinds(&a),
            vec![(AlertKind::PartnerCertificateExpiring, Severity::Warning)]
        );
        assert_eq!(a[0].key, "partner-expiry-30:woodgrove.test:AA");
        assert!(a[0].text.contains("expires in 20 days"), "{}", a[0].text);
        let a = alerts(
            &[seen(OUT, cert("AA", "W CA", 5, W), 100, 1, "mx:25")],
            &[],
            &[],
            now(),
        );
        assert_eq!(
            kinds(&a),
            vec![(AlertKind::PartnerCertificateExpiring, Severity::Critical)]
        );
        assert_eq!(a[0].key, "partner-expiry-7:woodgrove.test:AA");
        // Not seen for two months: no longer the partner's certificate.
        assert!(
            alerts(
                &[seen(OUT, cert("AA", "W CA", 5, W), 100, 60, "mx:25")],
                &[],
                &[],
                now()
            )
            .is_empty()
        );
        // Far from expiry: nothing.
        assert!(
            alerts(
                &[seen(OUT, cert("AA", "W CA", 200, W), 100, 1, "mx:25")],
                &[],
                &[],
                now()
            )
            .is_empty()
        );
    }

    #[test]
    fn a_new_certificate_is_news_and_a_new_issuer_is_serious() {
        let old = seen(OUT, cert("AA", "W CA", 200, W), 300, 3, "mx:25");
        let same = seen(OUT, cert("BB", "W CA", 365, W), 2, 0, "mx:25");
        let a = alerts(&[old.clone(), same], &[], &[], now());
        assert_eq!(
            kinds(&a),
            vec![(AlertKind::PartnerCertificateRotated, Severity::Warning)]
        );
        assert!(
            a[0].text.contains("new certificate") && a[0].text.contains("replacing AA"),
            "{}",
            a[0].text
        );
        let other = seen(OUT, cert("CC", "Other CA", 365, W), 2, 0, "mx:25");
        let a = alerts(&[old.clone(), other], &[], &[], now());
        assert_eq!(
            kinds(&a),
            vec![(AlertKind::PartnerIssuerChanged, Severity::Critical)]
        );
        assert!(a[0].text.contains("another issuer"), "{}", a[0].text);
        // A rotation a month ago is no longer news.
        let settled = seen(OUT, cert("BB", "W CA", 365, W), 30, 0, "mx:25");
        assert!(alerts(&[old.clone(), settled], &[], &[], now()).is_empty());
        // Inbound, a stranger's certificate that does not name the partner is no rotation.
        let stranger = seen(
            IN,
            cert("DD", "Evil CA", 365, &["evil.test"]),
            1,
            0,
            "203.0.113.9",
        );
        let ours_before = seen(IN, cert("AA", "W CA", 200, W), 300, 3, "198.51.100.25");
        assert!(alerts(&[ours_before, stranger], &[], &[], now()).is_empty());
    }

    #[test]
    fn a_downgrade_is_an_alarm_when_the_same_partner_drops_tls() {
        let had = seen(OUT, cert("AA", "W CA", 200, W), 300, 2, "mx:25");
        let plain = seen(OUT, Presented::NoTls, 1, 0, "mx:25");
        let a = alerts(&[had.clone(), plain.clone()], &[], &[], now());
        assert_eq!(
            kinds(&a),
            vec![(AlertKind::PartnerDowngrade, Severity::Critical)]
        );
        assert!(
            a[0].text.contains("no longer offers STARTTLS"),
            "{}",
            a[0].text
        );
        // TLS came back: no alert.
        let back = seen(OUT, cert("AA", "W CA", 200, W), 300, 0, "mx:25");
        let earlier_plain = seen(OUT, Presented::NoTls, 1, 1, "mx:25");
        assert!(alerts(&[back, earlier_plain], &[], &[], now()).is_empty());
        // Inbound: the same client without its certificate is a downgrade; another client
        // sending as the partner is not (anyone can; a listed partner's is refused).
        let had_in = seen(IN, cert("AA", "W CA", 200, W), 300, 2, "198.51.100.25");
        let same = seen(IN, Presented::NoCertificate, 1, 0, "198.51.100.25");
        let a = alerts(&[had_in.clone(), same], &[], &[], now());
        assert_eq!(
            kinds(&a),
            vec![(AlertKind::PartnerDowngrade, Severity::Critical)]
        );
        assert!(
            a[0].text.contains("without a client certificate"),
            "{}",
            a[0].text
        );
        let other = seen(IN, Presented::NoTls, 1, 0, "203.0.113.9");
        assert!(alerts(&[had_in, other], &[], &[], now()).is_empty());
    }

    #[test]
    fn the_notification_mail_is_plain_ascii_with_short_lines() {
        let a = alerts(
            &[seen(OUT, cert("AA", "Wöodgrove CA", 5, W), 100, 1, "mx:25")],
            &[],
            &[],
            now(),
        );
        let mail = alert_mail(&AlertMail {
            from: "Mailflow <postmaster@contoso.test>",
            to: "admins@contoso.test",
            fqdn: "mail.contoso.test",
            unique: "abc",
            now: now(),
            alerts: &a,
        });
        let text = String::from_utf8(mail).expect("ascii");
        assert!(text.is_ascii());
        assert!(
            text.contains("Subject: Mailflow alerts: 1 critical, 0 warnings\r\n"),
            "{text}"
        );
        assert!(
            text.contains("- CRITICAL: Partner woodgrove.test: the certificate"),
            "{text}"
        );
        assert!(text.contains("CN=W?odgrove CA"), "{text}");
        assert!(text.lines().all(|l| l.trim_end().len() <= 78), "{text}");
        assert!(
            text.contains("\r\n\r\nMailflow on mail.contoso.test"),
            "{text}"
        );
    }

    #[test]
    fn our_certificates_and_trusted_roots_expiring() {
        let fact = |t: &str, days: i64| CertFact {
            thumbprint: t.into(),
            subject: format!("CN={t}"),
            not_after: now() + time::Duration::days(days),
        };
        let a = alerts(
            &[],
            &[fact("OURS", 6), fact("FINE", 300)],
            &[fact("ROOT", 25)],
            now(),
        );
        assert_eq!(
            kinds(&a),
            vec![
                (AlertKind::OurCertificateExpiring, Severity::Critical),
                (AlertKind::TrustedRootExpiring, Severity::Warning),
            ]
        );
        assert!(
            a[0].text
                .starts_with("Our SMTP certificate CN=OURS expires in 6 days"),
            "{}",
            a[0].text
        );
        assert!(
            a[1].text
                .starts_with("Trusted root CN=ROOT expires in 25 days"),
            "{}",
            a[1].text
        );
    }
}
