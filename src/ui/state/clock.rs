//! The console's clock: the system time, or a fixed instant so that tests and rendered
//! screenshots show the same dates, ages and durations on every run.

use time::OffsetDateTime;

/// Where "now" comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    System,
    Fixed(OffsetDateTime),
}

impl Clock {
    pub fn now(self) -> OffsetDateTime {
        match self {
            Clock::System => OffsetDateTime::now_utc(),
            Clock::Fixed(t) => t,
        }
    }

    /// Unix milliseconds.
    pub fn now_ms(self) -> i64 {
        (self.now().unix_timestamp_nanos() / 1_000_000) as i64
    }
}
