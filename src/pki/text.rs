//! How certificate facts are written for a person: dates in UTC to the minute, and names with
//! every control character escaped. Shared by inspection, chain validation, revocation lists
//! and the lab CA (and the command line's and admin layer's texts about them).

use time::OffsetDateTime;

/// A name as text with every control character written `\XX` (RFC 4514's hex escape): a CN
/// or SAN is chosen by whoever made the certificate, and a CR or LF in it must never become a
/// line break in a header field, a log line or the console.
pub fn escape_controls(s: String) -> String {
    if !s.chars().any(char::is_control) {
        return s;
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            out.push_str(&format!("\\{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// `2026-10-01 12:00 UTC`.
pub fn format_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn dates_are_written_in_utc_to_the_minute() {
        assert_eq!(
            format_date(datetime!(2026-10-01 14:00:59 +02:00)),
            "2026-10-01 12:00 UTC"
        );
    }

    #[test]
    fn control_characters_are_written_as_hex() {
        assert_eq!(escape_controls("a\r\nb".into()), "a\\0D\\0Ab");
        assert_eq!(escape_controls("plain".into()), "plain");
    }
}
