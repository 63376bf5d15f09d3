//! How the console writes times, durations, sizes and lists: one style everywhere (UTC times,
//! `2h 05m` durations, `12.3 KB` sizes).

use time::OffsetDateTime;

/// `2026-05-01 14:03:09` (UTC) from unix milliseconds.
pub fn time_ms(ms: i64) -> String {
    match OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) {
        Ok(t) => date_time(t),
        Err(_) => "-".into(),
    }
}

/// `2026-05-01 14:03:09` (UTC).
pub fn date_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `2026-05-01` (UTC).
pub fn date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// `45s`, `3m 12s`, `2h 05m`, `3d 4h` from milliseconds.
pub fn duration_ms(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// `812 B`, `12.3 KB`, `4.0 MB`.
pub fn bytes(n: u64) -> String {
    const K: f64 = 1024.0;
    let f = n as f64;
    if f < K {
        format!("{n} B")
    } else if f < K * K {
        format!("{:.1} KB", f / K)
    } else if f < K * K * K {
        format!("{:.1} MB", f / (K * K))
    } else {
        format!("{:.1} GB", f / (K * K * K))
    }
}

/// Days left until `t`, in words: `expires in 12 days`, `expired 3 days ago`.
pub fn days_left(t: OffsetDateTime, now: OffsetDateTime) -> String {
    let d = (t - now).whole_days();
    match d {
        d if d < -1 => format!("expired {} days ago", -d),
        -1 => "expired yesterday".into(),
        0 if t < now => "expired today".into(),
        0 => "expires today".into(),
        1 => "expires tomorrow".into(),
        d => format!("expires in {d} days"),
    }
}

/// A list for one line, or `(none)`.
pub fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".into()
    } else {
        items.join(", ")
    }
}

/// Quotes a command-line argument for a POSIX shell when it needs it (the admin layer's rule,
/// also used for a Domain Security plan's equivalent commands).
pub use crate::admin::shell_arg;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_read_naturally() {
        assert_eq!(duration_ms(45_000), "45s");
        assert_eq!(duration_ms(192_000), "3m 12s");
        assert_eq!(duration_ms(7_500_000), "2h 05m");
        assert_eq!(bytes(812), "812 B");
        assert_eq!(bytes(12_600), "12.3 KB");
        assert_eq!(time_ms(0), "1970-01-01 00:00:00");
        assert_eq!(shell_arg("DC=msft, CN=W2K3"), "'DC=msft, CN=W2K3'");
        assert_eq!(shell_arg("contoso.test"), "contoso.test");
    }
}
