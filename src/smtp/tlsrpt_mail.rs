//! The mail that carries a TLS report (RFC 8460 §5.3): `multipart/report;
//! report-type="tlsrpt"`, the `TLS-Report-Domain` and `TLS-Report-Submitter` headers, the
//! subject the RFC gives, a short text part for people, and the report as
//! `application/tlsrpt+gzip` named `<submitter>!<domain>!<begin>!<end>.json.gz`. Pure: the
//! caller gzips the JSON and queues the bytes. And the other way: reading a report another
//! organization mailed to our reporting address (MIME parsed by `mail-parser`, the report part
//! gunzipped in memory with a size cap; its JSON is read by `policy::tls_rpt`).

use super::headers::rfc5322_date;
use base64::Engine;
use mail_parser::{MessageParser, MimeHeaders};
use std::io::Read;
use time::OffsetDateTime;

/// The largest report accepted, unpacked (a day of a big sender's sessions is far smaller).
pub const MAX_REPORT_BYTES: u64 = 16 * 1024 * 1024;

/// Why a mail is not a TLS report we can read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReadError {
    #[error("the message is not a MIME message")]
    NotMime,
    #[error(
        "the message has no application/tlsrpt+gzip or application/tlsrpt+json part (RFC 8460 §5.3)"
    )]
    NoReportPart,
    #[error("the report part is not valid gzip: {0}")]
    Gzip(String),
    #[error("the report is larger than {MAX_REPORT_BYTES} bytes unpacked")]
    TooLarge,
}

/// The report part of a mail, unpacked, with who says they sent it.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportPart {
    /// The report's JSON (RFC 8460 §4.4), not yet read.
    pub json: Vec<u8>,
    /// `TLS-Report-Submitter`, else the From address (`None` when neither is there).
    pub submitter: Option<String>,
}

/// Finds and unpacks the TLS report part of a mail (RFC 8460 §5.3).
pub fn read(message: &[u8]) -> Result<ReportPart, ReadError> {
    let msg = MessageParser::default()
        .parse(message)
        .ok_or(ReadError::NotMime)?;
    let part = msg
        .parts
        .iter()
        .find_map(|p| {
            let ct = p.content_type()?;
            let sub = ct.subtype()?.to_ascii_lowercase();
            (ct.ctype().eq_ignore_ascii_case("application")
                && (sub == "tlsrpt+gzip" || sub == "tlsrpt+json"))
                .then_some((sub == "tlsrpt+gzip", p.contents()))
        })
        .ok_or(ReadError::NoReportPart)?;
    let json = match part {
        (true, gz) => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(gz)
                .take(MAX_REPORT_BYTES + 1)
                .read_to_end(&mut out)
                .map_err(|e| ReadError::Gzip(e.to_string()))?;
            out
        }
        (false, json) => json.to_vec(),
    };
    if json.len() as u64 > MAX_REPORT_BYTES {
        return Err(ReadError::TooLarge);
    }
    let submitter = msg
        .header_raw("TLS-Report-Submitter")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| {
            msg.from()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .map(str::to_string)
        })
        .map(|s| crate::smtp::printable::printable(&s).into_owned());
    Ok(ReportPart { json, submitter })
}

/// What a report mail is about.
pub struct ReportMail<'a> {
    /// Our host name (`mail.contoso.test`): the submitter.
    pub submitter: &'a str,
    /// The policy domain the report is about.
    pub domain: &'a str,
    pub report_id: &'a str,
    pub from: &'a str,
    /// The `mailto:` address, without `mailto:`.
    pub to: &'a str,
    /// The reported day's first and last second.
    pub begin: OffsetDateTime,
    pub end: OffsetDateTime,
    pub now: OffsetDateTime,
    /// A fresh id for the Message-ID and the MIME boundary.
    pub unique: &'a str,
    /// The report, gzipped.
    pub gzipped_json: &'a [u8],
}

/// The report's file name (RFC 8460 §5.3).
pub fn file_name(submitter: &str, domain: &str, begin: i64, end: i64) -> String {
    format!("{submitter}!{domain}!{begin}!{end}.json.gz")
}

/// The whole message, CRLF line ends.
pub fn build(m: &ReportMail<'_>) -> Vec<u8> {
    let boundary = format!("tlsrpt-{}", m.unique);
    let name = file_name(
        m.submitter,
        m.domain,
        m.begin.unix_timestamp(),
        m.end.unix_timestamp(),
    );
    let encoded = base64::engine::general_purpose::STANDARD.encode(m.gzipped_json);
    let mut text = String::new();
    text.push_str(&format!("From: {}\r\n", m.from));
    text.push_str(&format!("To: {}\r\n", m.to));
    text.push_str(&format!("Date: {}\r\n", rfc5322_date(m.now)));
    text.push_str(&format!(
        "Subject: Report Domain: {} Submitter: {} Report-ID: <{}>\r\n",
        m.domain, m.submitter, m.report_id
    ));
    text.push_str(&format!("Message-ID: <{}@{}>\r\n", m.unique, m.submitter));
    text.push_str(&format!("TLS-Report-Domain: {}\r\n", m.domain));
    text.push_str(&format!("TLS-Report-Submitter: {}\r\n", m.submitter));
    text.push_str("MIME-Version: 1.0\r\n");
    text.push_str(&format!(
        "Content-Type: multipart/report; report-type=\"tlsrpt\";\r\n\tboundary=\"{boundary}\"\r\n\r\n"
    ));
    text.push_str(&format!("--{boundary}\r\n"));
    text.push_str("Content-Type: text/plain; charset=utf-8\r\n\r\n");
    text.push_str(&format!(
        "This is an aggregate TLS report (RFC 8460) from {} for {}, covering {} to {}.\r\n\r\n",
        m.submitter,
        m.domain,
        rfc5322_date(m.begin),
        rfc5322_date(m.end)
    ));
    text.push_str(&format!("--{boundary}\r\n"));
    text.push_str("Content-Type: application/tlsrpt+gzip\r\n");
    text.push_str("Content-Transfer-Encoding: base64\r\n");
    text.push_str(&format!(
        "Content-Disposition: attachment;\r\n\tfilename=\"{name}\"\r\n\r\n"
    ));
    for chunk in encoded.as_bytes().chunks(76) {
        text.push_str(&String::from_utf8_lossy(chunk));
        text.push_str("\r\n");
    }
    text.push_str(&format!("--{boundary}--\r\n"));
    text.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::tls_rpt::{Report, parse_report};

    #[test]
    fn the_mail_is_a_tlsrpt_report_with_the_rfcs_headers_and_file_name() {
        let begin = time::macros::datetime!(2026-12-07 0:00 UTC);
        let end = time::macros::datetime!(2026-12-07 23:59:59 UTC);
        let body = build(&ReportMail {
            submitter: "mail.contoso.test",
            domain: "woodgrove.test",
            report_id: "2026-12-07_woodgrove.test@mail.contoso.test",
            from: "Contoso TLS reports <postmaster@contoso.test>",
            to: "tlsrpt@woodgrove.test",
            begin,
            end,
            now: end,
            unique: "4f2a",
            gzipped_json: &[0x1f, 0x8b, 8, 0],
        });
        let text = String::from_utf8(body).unwrap();
        for needle in [
            "Subject: Report Domain: woodgrove.test Submitter: mail.contoso.test Report-ID: <2026-12-07_woodgrove.test@mail.contoso.test>\r\n",
            "TLS-Report-Domain: woodgrove.test\r\n",
            "TLS-Report-Submitter: mail.contoso.test\r\n",
            "Content-Type: multipart/report; report-type=\"tlsrpt\";",
            "Content-Type: application/tlsrpt+gzip\r\n",
            "filename=\"mail.contoso.test!woodgrove.test!1796601600!1796687999.json.gz\"",
            "H4sIAA==\r\n",
            "--tlsrpt-4f2a--\r\n",
        ] {
            assert!(text.contains(needle), "{needle} missing:\n{text}");
        }
        assert!(text.lines().all(|l| l.len() <= 998));
    }

    fn sample_report() -> Report {
        serde_json::from_str(
            r#"{
              "organization-name": "Woodgrove Bank",
              "date-range": {"start-datetime": "2026-12-06T00:00:00Z",
                             "end-datetime": "2026-12-06T23:59:59Z"},
              "contact-info": "tlsrpt@woodgrove.test",
              "report-id": "2026-12-06T00:00:00Z_contoso.test",
              "policies": [{
                "policy": {"policy-type": "sts", "policy-string": ["version: STSv1", "mode: enforce"],
                           "policy-domain": "contoso.test", "mx-host": ["mail.contoso.test"]},
                "summary": {"total-successful-session-count": 40, "total-failure-session-count": 2},
                "failure-details": [{"result-type": "certificate-expired",
                                     "receiving-mx-hostname": "mail.contoso.test",
                                     "failed-session-count": 2,
                                     "receiving-mx-helo": "mail.contoso.test"}]
              }]
            }"#,
        )
        .unwrap()
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn a_report_we_mail_is_read_back_whole() {
        let report = sample_report();
        let json = serde_json::to_vec(&report).unwrap();
        let now = time::macros::datetime!(2026-12-07 1:00 UTC);
        let mail = build(&ReportMail {
            submitter: "mx.woodgrove.test",
            domain: "contoso.test",
            report_id: &report.report_id,
            from: "tlsrpt@woodgrove.test",
            to: "tls-reports@contoso.test",
            begin: now,
            end: now,
            now,
            unique: "u1",
            gzipped_json: &gz(&json),
        });
        let part = read(&mail).unwrap();
        let back = parse_report(&part.json).unwrap();
        assert_eq!(back, report);
        assert_eq!(part.submitter.as_deref(), Some("mx.woodgrove.test"));
        assert_eq!(back.policies[0].summary.total_failure_session_count, 2);
    }

    #[test]
    fn what_is_not_a_readable_report_says_why() {
        assert_eq!(
            read(b"Subject: hi\r\n\r\njust text\r\n"),
            Err(ReadError::NoReportPart)
        );
        let part = |ct: &str, body: &str| {
            format!(
                "From: a@w.test\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=\"tlsrpt\"; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: {ct}\r\nContent-Transfer-Encoding: base64\r\n\r\n{body}\r\n--b--\r\n"
            )
        };
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        assert!(matches!(
            read(part("application/tlsrpt+gzip", &b64(b"not gzip")).as_bytes()),
            Err(ReadError::Gzip(_))
        ));
        let unreadable = read(part("application/tlsrpt+gzip", &b64(&gz(b"{\"x\": 1}"))).as_bytes())
            .expect("a report part");
        assert!(parse_report(&unreadable.json).is_err());
        // A bomb: small packed, larger than the cap unpacked.
        let big = vec![b' '; (MAX_REPORT_BYTES + 10) as usize];
        assert_eq!(
            read(part("application/tlsrpt+gzip", &b64(&gz(&big))).as_bytes()),
            Err(ReadError::TooLarge)
        );
        // Uncompressed JSON is accepted too, and the From address stands in for the submitter.
        let json = serde_json::to_vec(&sample_report()).unwrap();
        let r = read(part("application/tlsrpt+json", &b64(&json)).as_bytes()).unwrap();
        assert_eq!(r.submitter.as_deref(), Some("a@w.test"));
        assert_eq!(parse_report(&r.json).unwrap(), sample_report());
    }
}
