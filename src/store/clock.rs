//! The relay's clock: the time now in unix milliseconds, as the queue, message tracking and
//! the monitor keep it. The one place below the console that reads the wall clock for them
//! (the pure layers are given the time).

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in unix milliseconds (0 before 1970, `i64::MAX` past the year 292 million).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Unix milliseconds as an RFC 3339 UTC time (`2026-12-07T15:30:00Z`), for logs.
pub fn format_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.replace_nanosecond(0)
                .ok()?
                .format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{ms} ms"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn now_is_after_this_code_was_written() {
        // 2026-01-01 00:00 UTC.
        assert!(super::now_ms() > 1_767_225_600_000);
    }

    #[test]
    fn times_print_as_rfc_3339() {
        assert_eq!(super::format_ms(1_796_601_600_123), "2026-12-07T00:00:00Z");
    }
}
