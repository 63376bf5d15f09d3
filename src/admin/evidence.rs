//! The evidence report for an auditor: for a time range (and optionally one partner), every
//! message with its sender, recipients and time, the security it was received and sent with,
//! each hop's TLS version, cipher and peer certificate thumbprint, and what happened to it;
//! every refusal with its reason; totals per partner and per security level, and per day.
//! Built from message tracking's events ([`build`]) and written as CSV ([`csv`]) or as one
//! self-contained HTML file with its charts drawn in SVG ([`html`]: no script, nothing
//! fetched, every text escaped — a sender or subject is whatever a client sent). Pure: the
//! caller reads the events and writes the file.

use crate::config::domain;
use crate::smtp::evidence::{SecurityStatus, TlsFacts};
use crate::store::partner_activity::BySecurity;
use crate::store::tracking::{EventKind, TrackingEvent};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Rows the HTML report lists at most (the CSV has every one).
pub const HTML_ROWS: usize = 5_000;

const DAY_MS: i64 = 86_400_000;

/// One hop of a message as the report shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hop {
    /// Unix milliseconds.
    pub time: i64,
    pub kind: EventKind,
    pub security: SecurityStatus,
    /// `TLSv1.3 TLS_AES_256_GCM_SHA384`, empty without TLS.
    pub tls: String,
    /// The peer certificate's SHA-1 thumbprint, when one was presented.
    pub peer_thumbprint: String,
    /// The client (received) or the server (sent) of the hop.
    pub peer: String,
    pub connector: String,
    pub response: String,
}

/// A message in the range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub internal_id: String,
    pub message_id: String,
    pub sender: String,
    pub recipients: Vec<String>,
    /// Unix milliseconds of its first event in the range.
    pub time: i64,
    /// How it came in (RECEIVE), when in the range.
    pub received: Option<Hop>,
    /// How it went on: SEND and DELIVER, and the DEFER and FAIL on the way.
    pub onward: Vec<Hop>,
    /// The partner it was exchanged with, when one was.
    pub partner: Option<String>,
}

impl Message {
    /// What happened last: the last onward event and its reply, or `received`.
    pub fn outcome(&self) -> String {
        self.onward
            .last()
            .map(|h| format!("{} {}", h.kind, h.response))
            .unwrap_or_else(|| "received".into())
    }

    /// The security of the exchange with the partner — the hop from it (sender at the
    /// partner) or to it (the sends) — and otherwise of the whole message, as secure as its
    /// weakest hop.
    pub fn security(&self) -> SecurityStatus {
        let from_partner =
            self.partner.is_some() && self.partner.as_deref() == domain_of(&self.sender).as_deref();
        let sends = self
            .onward
            .iter()
            .filter(|h| matches!(h.kind, EventKind::Send))
            .map(|h| h.security);
        let hops: Vec<SecurityStatus> = match (&self.partner, from_partner) {
            (Some(_), true) => self.received.iter().map(|h| h.security).collect(),
            (Some(_), false) if self.onward.iter().any(|h| h.kind == EventKind::Send) => {
                sends.collect()
            }
            _ => self
                .received
                .iter()
                .map(|h| h.security)
                .chain(sends)
                .collect(),
        };
        crate::policy::classify::message_status(hops)
    }
}

/// A refused session or command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub time: i64,
    pub client: String,
    pub sender: String,
    pub recipients: Vec<String>,
    pub response: String,
    pub tls: String,
    pub peer_thumbprint: String,
    pub partner: Option<String>,
}

/// One day's totals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Day {
    /// Days since the Unix epoch (UTC).
    pub day: i64,
    pub messages: BySecurity,
    pub refused: u64,
}

/// The report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub organization: String,
    /// Unix milliseconds; `until` exclusive.
    pub since: i64,
    pub until: i64,
    pub partner: Option<String>,
    /// Newest first.
    pub messages: Vec<Message>,
    pub refusals: Vec<Refusal>,
    pub by_security: BySecurity,
    /// Messages per partner by security, and refusals per partner.
    pub by_partner: BTreeMap<String, (BySecurity, u64)>,
    pub days: Vec<Day>,
    /// Unix milliseconds when it was made.
    pub generated: i64,
}

fn domain_of(address: &str) -> Option<String> {
    address
        .rsplit_once('@')
        .and_then(|(_, d)| domain::normalize(d.trim_end_matches('>')).ok())
}

/// The partner of an exchange: the sender's domain, or a recipient's, when a partner's.
fn partner_of(sender: &str, recipients: &[String], partners: &BTreeSet<String>) -> Option<String> {
    std::iter::once(sender)
        .chain(recipients.iter().map(String::as_str))
        .filter_map(domain_of)
        .find(|d| partners.contains(d))
}

fn tls_text(tls: Option<&TlsFacts>) -> (String, String) {
    match tls {
        None => (String::new(), String::new()),
        Some(t) => (
            format!("{} {}", t.version, t.cipher),
            t.peer_certificate
                .as_ref()
                .map(|c| c.thumbprint.clone())
                .unwrap_or_default(),
        ),
    }
}

fn hop(e: &TrackingEvent) -> Hop {
    let (tls, peer_thumbprint) = tls_text(e.tls.as_ref());
    Hop {
        time: e.time,
        kind: e.kind,
        security: e.security,
        tls,
        peer_thumbprint,
        peer: match e.kind {
            EventKind::Receive => e.client.clone(),
            _ => e.server.clone(),
        }
        .unwrap_or_default(),
        connector: e.connector.clone().unwrap_or_default(),
        response: e.response.clone().unwrap_or_default(),
    }
}

/// Builds the report from the events of `[since, until)` (any order), for `partner` only when
/// given; `partners` are the partner domains (for the totals per partner).
pub fn build(
    organization: &str,
    events: &[TrackingEvent],
    since: i64,
    until: i64,
    partner: Option<&str>,
    partners: &BTreeSet<String>,
    generated: i64,
) -> Evidence {
    let wanted = partner.and_then(|p| domain::normalize(p).ok());
    let mut messages: BTreeMap<String, Message> = BTreeMap::new();
    let mut refusals = Vec::new();
    let mut events: Vec<&TrackingEvent> = events
        .iter()
        .filter(|e| e.time >= since && e.time < until)
        .collect();
    events.sort_by_key(|e| e.time);
    for e in events {
        let of = partner_of(&e.sender, &e.recipients, partners);
        match e.kind {
            EventKind::Reject => {
                let (tls, peer_thumbprint) = tls_text(e.tls.as_ref());
                refusals.push(Refusal {
                    time: e.time,
                    client: e.client.clone().unwrap_or_default(),
                    sender: e.sender.clone(),
                    recipients: e.recipients.clone(),
                    response: e.response.clone().unwrap_or_default(),
                    tls,
                    peer_thumbprint,
                    partner: of,
                });
            }
            EventKind::Receive
            | EventKind::Send
            | EventKind::Deliver
            | EventKind::Defer
            | EventKind::Fail => {
                let m = messages
                    .entry(e.internal_id.clone())
                    .or_insert_with(|| Message {
                        internal_id: e.internal_id.clone(),
                        message_id: e.message_id.clone().unwrap_or_default(),
                        sender: e.sender.clone(),
                        recipients: Vec::new(),
                        time: e.time,
                        received: None,
                        onward: Vec::new(),
                        partner: None,
                    });
                for r in &e.recipients {
                    if !m.recipients.contains(r) {
                        m.recipients.push(r.clone());
                    }
                }
                if m.partner.is_none() {
                    m.partner = of;
                }
                if e.kind == EventKind::Receive {
                    m.received = Some(hop(e));
                } else {
                    m.onward.push(hop(e));
                }
            }
            // Notices, quarantine and release are not hops of the exchange.
            _ => {}
        }
    }
    let keep = |p: &Option<String>| wanted.is_none() || p.as_deref() == wanted.as_deref();
    let mut messages: Vec<Message> = messages
        .into_values()
        .filter(|m| keep(&m.partner))
        .collect();
    messages.sort_by(|a, b| b.time.cmp(&a.time).then(a.internal_id.cmp(&b.internal_id)));
    refusals.retain(|r| keep(&r.partner));
    refusals.sort_by_key(|r| std::cmp::Reverse(r.time));
    let mut by_security = BySecurity::default();
    let mut by_partner: BTreeMap<String, (BySecurity, u64)> = BTreeMap::new();
    let first_day = since.div_euclid(DAY_MS);
    let last_day = (until - 1).div_euclid(DAY_MS);
    let mut days: Vec<Day> = (first_day..=last_day.max(first_day))
        .take(3660)
        .map(|day| Day {
            day,
            ..Default::default()
        })
        .collect();
    let day_of = |t: i64| (t.div_euclid(DAY_MS) - first_day) as usize;
    for m in &messages {
        let s = m.security();
        add(&mut by_security, s);
        if let Some(p) = &m.partner {
            add(&mut by_partner.entry(p.clone()).or_default().0, s);
        }
        if let Some(d) = days.get_mut(day_of(m.time)) {
            add(&mut d.messages, s);
        }
    }
    for r in &refusals {
        if let Some(p) = &r.partner {
            by_partner.entry(p.clone()).or_default().1 += 1;
        }
        if let Some(d) = days.get_mut(day_of(r.time)) {
            d.refused += 1;
        }
    }
    Evidence {
        organization: organization.to_string(),
        since,
        until,
        partner: wanted,
        messages,
        refusals,
        by_security,
        by_partner,
        days,
        generated,
    }
}

fn add(b: &mut BySecurity, s: SecurityStatus) {
    match s {
        SecurityStatus::DomainSecure => b.domain_secure += 1,
        SecurityStatus::Encrypted => b.encrypted += 1,
        SecurityStatus::Plaintext => b.plaintext += 1,
    }
}

/// A time in unix milliseconds (as message tracking keeps it).
pub fn ms_of(t: time::OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// `2026-12-07 14:03:12 UTC`.
pub fn time_text(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| {
            t.format(&time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
            ))
            .ok()
        })
        .unwrap_or_default()
}

fn day_text(day: i64) -> String {
    time_text(day * DAY_MS)
        .get(..10)
        .unwrap_or_default()
        .to_string()
}

fn hops_field(hops: &[Hop], f: impl Fn(&Hop) -> String) -> String {
    hops.iter().map(f).collect::<Vec<_>>().join(" | ")
}

/// The report as CSV: a header, then a row per message and a row per refusal (newest first).
pub fn csv(e: &Evidence) -> String {
    use crate::store::csv::record;
    let mut out = record([
        "Time",
        "Kind",
        "Partner",
        "Sender",
        "Recipients",
        "Message-ID",
        "Internal id",
        "Security",
        "Received security",
        "Received TLS",
        "Received from",
        "Received peer certificate",
        "Sent security",
        "Sent TLS",
        "Sent to",
        "Sent peer certificate",
        "Outcome",
    ]);
    for m in &e.messages {
        let received = m.received.as_ref();
        let sent: Vec<Hop> = m
            .onward
            .iter()
            .filter(|h| matches!(h.kind, EventKind::Send | EventKind::Deliver))
            .cloned()
            .collect();
        let outcome = m.outcome();
        out.push_str(&record(
            [
                time_text(m.time),
                "message".into(),
                m.partner.clone().unwrap_or_default(),
                m.sender.clone(),
                m.recipients.join(" "),
                m.message_id.clone(),
                m.internal_id.clone(),
                m.security().label().into(),
                received
                    .map(|h| h.security.label().to_string())
                    .unwrap_or_default(),
                received.map(|h| h.tls.clone()).unwrap_or_default(),
                received.map(|h| h.peer.clone()).unwrap_or_default(),
                received
                    .map(|h| h.peer_thumbprint.clone())
                    .unwrap_or_default(),
                hops_field(&sent, |h| h.security.label().to_string()),
                hops_field(&sent, |h| h.tls.clone()),
                hops_field(&sent, |h| {
                    if h.kind == EventKind::Deliver {
                        "local mailbox".into()
                    } else {
                        h.peer.clone()
                    }
                }),
                hops_field(&sent, |h| h.peer_thumbprint.clone()),
                outcome,
            ]
            .map(|f| crate::store::csv::spreadsheet_safe(&f)),
        ));
    }
    for r in &e.refusals {
        out.push_str(&record(
            [
                time_text(r.time),
                "refusal".into(),
                r.partner.clone().unwrap_or_default(),
                r.sender.clone(),
                r.recipients.join(" "),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                r.tls.clone(),
                r.client.clone(),
                r.peer_thumbprint.clone(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                r.response.clone(),
            ]
            .map(|f| crate::store::csv::spreadsheet_safe(&f)),
        ));
    }
    out
}

/// Text for HTML: `& < > " '` escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const GREEN: &str = "#2e7d32";
const AMBER: &str = "#b26a00";
const RED: &str = "#c62828";
const GREY: &str = "#78909c";

/// Messages per day stacked by security, refusals beside them, as inline SVG.
fn day_chart(days: &[Day]) -> String {
    let (w, h, pad) = (880.0_f64, 220.0_f64, 30.0_f64);
    let top = days
        .iter()
        .map(|d| d.messages.total().max(d.refused))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let slot = (w - 2.0 * pad) / days.len().max(1) as f64;
    let bar = (slot * 0.38).clamp(1.0, 28.0);
    let y = |v: f64| h - pad - v / top * (h - 2.0 * pad);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"Messages per day by security, and refusals\">"
    );
    let _ = write!(
        svg,
        "<line x1=\"{pad}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\"/>",
        h - pad,
        w - pad,
        h - pad
    );
    let _ = write!(
        svg,
        "<text x=\"4\" y=\"{}\" font-size=\"11\">{}</text>",
        pad + 4.0,
        top as u64
    );
    let label_every = (days.len() / 10).max(1);
    for (i, d) in days.iter().enumerate() {
        let x = pad + i as f64 * slot + slot * 0.1;
        let mut base = 0.0;
        for (n, color, what) in [
            (d.messages.domain_secure, GREEN, "Domain Secure"),
            (d.messages.encrypted, AMBER, "Encrypted"),
            (d.messages.plaintext, RED, "Plaintext"),
        ] {
            if n == 0 {
                continue;
            }
            let v = n as f64;
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" fill=\"{color}\"><title>{} {what}: {n}</title></rect>",
                y(base + v),
                y(base) - y(base + v),
                day_text(d.day)
            );
            base += v;
        }
        if d.refused > 0 {
            let v = d.refused as f64;
            let _ = write!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" fill=\"{GREY}\"><title>{} refused: {}</title></rect>",
                x + bar,
                y(v),
                y(0.0) - y(v),
                day_text(d.day),
                d.refused
            );
        }
        if i % label_every == 0 {
            let _ = write!(
                svg,
                "<text x=\"{x:.1}\" y=\"{}\" font-size=\"10\">{}</text>",
                h - pad + 14.0,
                day_text(d.day).get(5..).unwrap_or_default()
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

fn badge(s: SecurityStatus) -> String {
    let (class, text) = match s {
        SecurityStatus::DomainSecure => ("ds", "Domain Secure"),
        SecurityStatus::Encrypted => ("enc", "Encrypted"),
        SecurityStatus::Plaintext => ("plain", "Plaintext"),
    };
    format!("<span class=\"b {class}\">{text}</span>")
}

fn hop_cell(h: Option<&Hop>) -> String {
    match h {
        None => "<td>—</td>".into(),
        Some(h) => format!(
            "<td>{} {}<br><small>{}{}</small></td>",
            badge(h.security),
            escape(&h.peer),
            escape(&h.tls),
            if h.peer_thumbprint.is_empty() {
                String::new()
            } else {
                format!("<br>certificate {}", escape(&h.peer_thumbprint))
            }
        ),
    }
}

/// The report as one self-contained HTML file.
pub fn html(e: &Evidence) -> String {
    let mut o = String::new();
    let title = format!(
        "Mail security evidence — {}{}",
        e.organization,
        e.partner
            .as_ref()
            .map(|p| format!(", partner {p}"))
            .unwrap_or_default()
    );
    let _ = write!(
        o,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
         <title>{}</title><style>\
         body{{font-family:sans-serif;margin:24px;color:#222}}h1{{font-size:22px}}h2{{font-size:17px;margin-top:28px}}\
         table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}}\
         th{{background:#f2f2f2}}.b{{padding:1px 6px;border-radius:8px;color:#fff;font-size:12px;white-space:nowrap}}.t{{white-space:nowrap}}\
         .ds{{background:{GREEN}}}.enc{{background:{AMBER}}}.plain{{background:{RED}}}.num{{text-align:right}}small{{color:#555;overflow-wrap:anywhere}}\
         </style></head><body>",
        escape(&title)
    );
    let _ = write!(
        o,
        "<h1>{}</h1><p>From {} to {} (exclusive). Made {} from the relay's message tracking. A message's security is that of its exchange with the partner (the hop from it or to it), otherwise that of its weakest hop.</p>",
        escape(&title),
        time_text(e.since),
        time_text(e.until),
        time_text(e.generated)
    );
    let b = &e.by_security;
    let _ = write!(
        o,
        "<h2>Totals</h2><table id=\"totals\"><tr><th>Messages</th><th>Domain Secure</th><th>Encrypted</th><th>Plaintext</th><th>Refused</th></tr>\
         <tr><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr></table>",
        b.total(),
        b.domain_secure,
        b.encrypted,
        b.plaintext,
        e.refusals.len()
    );
    o.push_str("<h2>Per day</h2>");
    o.push_str(&day_chart(&e.days));
    let _ = write!(
        o,
        "<p><span class=\"b ds\">Domain Secure</span> <span class=\"b enc\">Encrypted</span> <span class=\"b plain\">Plaintext</span> <span class=\"b\" style=\"background:{GREY}\">Refused</span></p>"
    );
    o.push_str("<h2>Per partner</h2><table id=\"partners\"><tr><th>Partner</th><th>Messages</th><th>Domain Secure</th><th>Encrypted</th><th>Plaintext</th><th>Refused</th></tr>");
    for (p, (s, refused)) in &e.by_partner {
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{refused}</td></tr>",
            escape(p),
            s.total(),
            s.domain_secure,
            s.encrypted,
            s.plaintext
        );
    }
    o.push_str("</table>");
    let _ = write!(
        o,
        "<h2>Messages ({})</h2>{}<table id=\"messages\"><tr><th>Time</th><th>Sender</th><th>Recipients</th><th>Security</th><th>Received</th><th>Sent</th><th>Outcome</th></tr>",
        e.messages.len(),
        if e.messages.len() > HTML_ROWS {
            format!("<p>The newest {HTML_ROWS} are listed; the CSV report has every one.</p>")
        } else {
            String::new()
        }
    );
    for m in e.messages.iter().take(HTML_ROWS) {
        let sent = m
            .onward
            .iter()
            .rfind(|h| matches!(h.kind, EventKind::Send | EventKind::Deliver));
        let outcome = m.outcome();
        let _ = write!(
            o,
            "<tr><td class=\"t\">{}</td><td>{}</td><td>{}</td><td>{}</td>{}{}<td><small>{}</small></td></tr>",
            time_text(m.time),
            escape(&m.sender),
            escape(&m.recipients.join(", ")),
            badge(m.security()),
            hop_cell(m.received.as_ref()),
            hop_cell(sent),
            escape(&outcome)
        );
    }
    o.push_str("</table>");
    let _ = write!(
        o,
        "<h2>Refusals ({})</h2><table id=\"refusals\"><tr><th>Time</th><th>Client</th><th>Sender</th><th>TLS</th><th>Reply</th></tr>",
        e.refusals.len()
    );
    for r in e.refusals.iter().take(HTML_ROWS) {
        let _ = write!(
            o,
            "<tr><td class=\"t\">{}</td><td>{}</td><td>{}</td><td><small>{}{}</small></td><td>{}</td></tr>",
            time_text(r.time),
            escape(&r.client),
            escape(&r.sender),
            escape(&r.tls),
            if r.peer_thumbprint.is_empty() {
                String::new()
            } else {
                format!("<br>certificate {}", escape(&r.peer_thumbprint))
            },
            escape(&r.response)
        );
    }
    o.push_str("</table></body></html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::evidence::{PeerCertificate, TrustLevel};

    fn tls(thumbprint: &str) -> TlsFacts {
        TlsFacts {
            version: "TLSv1.3".into(),
            cipher: "TLS_AES_256_GCM_SHA384".into(),
            cipher_bits: 256,
            key_exchange: None,
            peer_certificate: Some(PeerCertificate {
                subject: "CN=mail.woodgrove.test".into(),
                issuer: "CN=Woodgrove CA".into(),
                subject_cn: String::new(),
                issuer_cn: String::new(),
                thumbprint: thumbprint.into(),
                public_key_sha256: String::new(),
                names: Vec::new(),
                not_after: 0,
            }),
            trust: TrustLevel::Verified,
            trust_detail: None,
        }
    }

    fn ev(
        time: i64,
        kind: EventKind,
        id: &str,
        from: &str,
        to: &str,
        s: SecurityStatus,
        t: Option<TlsFacts>,
    ) -> TrackingEvent {
        TrackingEvent {
            time,
            kind,
            internal_id: id.into(),
            message_id: Some(format!("<{id}@x>")),
            sender: from.into(),
            recipients: vec![to.into()],
            subject: None,
            size: 1,
            client: Some("192.0.2.7:4000".into()),
            server: Some("192.0.2.8:25".into()),
            connector: Some("Default".into()),
            tls: t,
            security: s,
            response: Some("250 2.0.0 OK".into()),
            detail: None,
            session: None,
            helo: None,
            why: Vec::new(),
        }
    }

    fn sample() -> Vec<TrackingEvent> {
        use EventKind::*;
        use SecurityStatus::*;
        let d = DAY_MS;
        vec![
            // In from Woodgrove, Domain Secure, delivered here.
            ev(
                d + 10,
                Receive,
                "m1",
                "ana@woodgrove.test",
                "bob@contoso.test",
                DomainSecure,
                Some(tls("AA")),
            ),
            ev(
                d + 20,
                Deliver,
                "m1",
                "ana@woodgrove.test",
                "bob@contoso.test",
                DomainSecure,
                None,
            ),
            // Out to Woodgrove: received in plaintext from our client, sent Domain Secure.
            ev(
                2 * d + 10,
                Receive,
                "m2",
                "bob@contoso.test",
                "ana@woodgrove.test",
                Plaintext,
                None,
            ),
            ev(
                2 * d + 20,
                Send,
                "m2",
                "bob@contoso.test",
                "ana@woodgrove.test",
                DomainSecure,
                Some(tls("BB")),
            ),
            // Elsewhere, encrypted.
            ev(
                2 * d + 30,
                Receive,
                "m3",
                "=cmd@fabrikam.test",
                "bob@contoso.test",
                Encrypted,
                Some(tls("CC")),
            ),
            // A refusal of someone sending as Woodgrove.
            ev(
                2 * d + 40,
                Reject,
                "s-R1",
                "ana@woodgrove.test",
                "bob@contoso.test",
                Plaintext,
                None,
            ),
            // Outside the range.
            ev(
                9 * d,
                Receive,
                "m9",
                "ana@woodgrove.test",
                "bob@contoso.test",
                DomainSecure,
                None,
            ),
        ]
    }

    fn partners() -> BTreeSet<String> {
        ["woodgrove.test".to_string()].into()
    }

    #[test]
    fn messages_hops_refusals_and_totals() {
        let e = build(
            "Contoso",
            &sample(),
            DAY_MS,
            3 * DAY_MS,
            None,
            &partners(),
            0,
        );
        let ids: Vec<&str> = e.messages.iter().map(|m| m.internal_id.as_str()).collect();
        assert_eq!(ids, ["m3", "m2", "m1"]);
        let m2 = &e.messages[1];
        assert_eq!(m2.partner.as_deref(), Some("woodgrove.test"));
        // The exchange with the partner counts: sent Domain Secure (received from our own
        // client in plaintext).
        assert_eq!(m2.security(), SecurityStatus::DomainSecure);
        assert_eq!(e.messages[2].security(), SecurityStatus::DomainSecure);
        assert_eq!(e.refusals.len(), 1);
        assert_eq!(
            e.by_security,
            BySecurity {
                domain_secure: 2,
                encrypted: 1,
                plaintext: 0
            }
        );
        let (w, refused) = &e.by_partner["woodgrove.test"];
        assert_eq!((w.total(), *refused), (2, 1));
        assert_eq!(e.days.len(), 2);
        assert_eq!((e.days[1].messages.total(), e.days[1].refused), (2, 1));
        // One partner only.
        let only = build(
            "Contoso",
            &sample(),
            DAY_MS,
            3 * DAY_MS,
            Some("Woodgrove.test"),
            &partners(),
            0,
        );
        assert_eq!(only.messages.len(), 2);
        assert_eq!(only.refusals.len(), 1);
    }

    #[test]
    fn the_csv_has_each_hop_and_no_formula() {
        let e = build(
            "Contoso",
            &sample(),
            DAY_MS,
            3 * DAY_MS,
            None,
            &partners(),
            0,
        );
        let text = csv(&e);
        let mut r = ::csv::ReaderBuilder::new().from_reader(text.as_bytes());
        let rows: Vec<Vec<String>> = r
            .records()
            .map(|x| x.expect("row").iter().map(str::to_string).collect())
            .collect();
        assert_eq!(rows.len(), 4, "{text}");
        let m2 = rows.iter().find(|r| r[6] == "m2").expect("m2");
        assert_eq!(m2[8], "Plaintext");
        assert_eq!(m2[12], "Domain Secure");
        assert_eq!(m2[13], "TLSv1.3 TLS_AES_256_GCM_SHA384");
        assert_eq!(m2[15], "BB");
        let m3 = rows.iter().find(|r| r[6] == "m3").expect("m3");
        assert_eq!(m3[3], "'=cmd@fabrikam.test", "a formula is defused");
        assert_eq!(rows[3][1], "refusal");
    }

    #[test]
    fn the_html_is_self_contained_and_escapes_what_clients_sent() {
        let mut events = sample();
        events[4].sender = "<script>alert(1)</script>@fabrikam.test".into();
        let e = build(
            "Contoso & Co",
            &events,
            DAY_MS,
            3 * DAY_MS,
            None,
            &partners(),
            0,
        );
        let page = html(&e);
        assert!(!page.contains("<script"), "escaped");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;@fabrikam.test"));
        assert!(page.contains("Contoso &amp; Co"));
        assert!(page.contains("<svg"));
        assert!(
            !page.contains("http://") || page.matches("http://").count() == 1,
            "only the SVG namespace"
        );
        assert!(page.contains("default-src 'none'"));
        assert!(page.contains("certificate AA"));
    }
}
