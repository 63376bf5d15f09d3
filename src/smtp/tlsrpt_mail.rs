//! The mail that carries a TLS report (RFC 8460 §5.3): `multipart/report;
//! report-type="tlsrpt"`, the `TLS-Report-Domain` and `TLS-Report-Submitter` headers, the
//! subject the RFC gives, a short text part for people, and the report as
//! `application/tlsrpt+gzip` named `<submitter>!<domain>!<begin>!<end>.json.gz`. Pure: the
//! caller gzips the JSON and queues the bytes.

use super::headers::rfc5322_date;
use base64::Engine;
use time::OffsetDateTime;

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
}
