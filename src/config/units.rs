//! Quantities an administrator types into settings: time spans (`30s`, `5m`, `4h`, `2d`, or
//! Exchange's `00:05:00`) and byte sizes (`64KB`, `36MB`, `2GB`, binary units as Exchange counts
//! them). Both are stored in `settings.ron` as short strings and read back exactly.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A span of time, written `500ms`, `30s`, `5m`, `4h`, `2d`, `1d12h`, or `[d.]hh:mm:ss`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TimeSpan(pub std::time::Duration);

impl TimeSpan {
    pub const fn secs(s: u64) -> Self {
        TimeSpan(std::time::Duration::from_secs(s))
    }
    pub const fn millis(ms: u64) -> Self {
        TimeSpan(std::time::Duration::from_millis(ms))
    }
    pub fn as_duration(self) -> std::time::Duration {
        self.0
    }
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

impl fmt::Debug for TimeSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for TimeSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total_ms = self.0.as_millis();
        if total_ms == 0 {
            return f.write_str("0s");
        }
        if !total_ms.is_multiple_of(1000) {
            return write!(f, "{total_ms}ms");
        }
        let mut secs = total_ms / 1000;
        let mut out = String::new();
        for (unit, size) in [("d", 86_400u128), ("h", 3_600), ("m", 60), ("s", 1)] {
            if secs >= size {
                out.push_str(&format!("{}{unit}", secs / size));
                secs %= size;
            }
        }
        f.write_str(&out)
    }
}

/// Why a time span or byte size could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnitError(pub String);

impl FromStr for TimeSpan {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let bad = || {
            UnitError(format!(
                "'{s}' is not a time span: write it like 30s, 5m, 4h, 2d, 1d12h or 00:05:00"
            ))
        };
        if text.is_empty() {
            return Err(bad());
        }
        if text.contains(':') {
            // Exchange TimeSpan: [d.]hh:mm:ss
            let (days, clock) = match text.split_once('.') {
                Some((d, rest)) => (d.parse::<u64>().map_err(|_| bad())?, rest),
                None => (0, text),
            };
            let parts: Vec<&str> = clock.split(':').collect();
            if parts.len() != 3 {
                return Err(bad());
            }
            let mut nums = [0u64; 3];
            for (slot, part) in nums.iter_mut().zip(&parts) {
                if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                *slot = part.parse().map_err(|_| bad())?;
            }
            if nums[1] >= 60 || nums[2] >= 60 {
                return Err(bad());
            }
            let total = days
                .checked_mul(86_400)
                .and_then(|d| d.checked_add(nums[0].checked_mul(3600)?))
                .and_then(|t| t.checked_add(nums[1] * 60 + nums[2]))
                .ok_or_else(bad)?;
            return Ok(TimeSpan::secs(total));
        }
        let mut total_ms: u128 = 0;
        let mut rest = text;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 {
                return Err(bad());
            }
            let number: u128 = rest[..digits].parse().map_err(|_| bad())?;
            rest = rest[digits..].trim_start();
            let unit_len = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
            let unit = &rest[..unit_len];
            rest = rest[unit_len..].trim_start();
            let factor: u128 = match unit.to_ascii_lowercase().as_str() {
                "ms" => 1,
                "s" | "sec" | "secs" => 1_000,
                "m" | "min" | "mins" => 60_000,
                "h" | "hr" | "hrs" => 3_600_000,
                "d" | "day" | "days" => 86_400_000,
                _ => return Err(bad()),
            };
            total_ms = number
                .checked_mul(factor)
                .and_then(|v| v.checked_add(total_ms))
                .ok_or_else(bad)?;
        }
        let ms = u64::try_from(total_ms).map_err(|_| bad())?;
        Ok(TimeSpan::millis(ms))
    }
}

impl Serialize for TimeSpan {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for TimeSpan {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A size in bytes, written `64KB`, `36MB`, `2GB` (1 KB = 1024 bytes, as Exchange counts) or a
/// plain number of bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(pub u64);

impl ByteSize {
    pub const KB: u64 = 1024;
    pub const MB: u64 = 1024 * 1024;
    pub const GB: u64 = 1024 * 1024 * 1024;
    pub const fn mb(n: u64) -> Self {
        ByteSize(n * Self::MB)
    }
    pub const fn kb(n: u64) -> Self {
        ByteSize(n * Self::KB)
    }
    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl fmt::Debug for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        for (unit, size) in [("GB", Self::GB), ("MB", Self::MB), ("KB", Self::KB)] {
            if n >= size && n.is_multiple_of(size) {
                return write!(f, "{}{unit}", n / size);
            }
        }
        write!(f, "{n}B")
    }
}

impl FromStr for ByteSize {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let bad = || {
            UnitError(format!(
                "'{s}' is not a size: write it like 64KB, 36MB, 2GB or a number of bytes"
            ))
        };
        let digits = text.bytes().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return Err(bad());
        }
        let number: u64 = text[..digits].parse().map_err(|_| bad())?;
        let unit = text[digits..].trim();
        let factor = match unit.to_ascii_uppercase().as_str() {
            "" | "B" => 1,
            "KB" | "K" | "KIB" => Self::KB,
            "MB" | "M" | "MIB" => Self::MB,
            "GB" | "G" | "GIB" => Self::GB,
            _ => return Err(bad()),
        };
        number.checked_mul(factor).map(ByteSize).ok_or_else(bad)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_spans_parse_in_every_accepted_form() {
        let cases = [
            ("30s", 30_000),
            ("5m", 300_000),
            ("4h", 14_400_000),
            ("2d", 172_800_000),
            ("1d12h", 129_600_000),
            ("500ms", 500),
            ("00:05:00", 300_000),
            ("1.00:00:00", 86_400_000),
            ("10 s", 10_000),
        ];
        for (text, ms) in cases {
            let span: TimeSpan = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(span.0.as_millis(), ms, "{text}");
        }
    }

    #[test]
    fn time_spans_reject_nonsense_with_a_hint() {
        for text in [
            "",
            "5",
            "5x",
            "m5",
            "00:61:00",
            "1:2",
            "-5s",
            "99999999999999999999d",
        ] {
            let err = text.parse::<TimeSpan>().unwrap_err();
            assert!(err.0.contains("time span"), "{text}: {err}");
        }
    }

    #[test]
    fn time_spans_print_compactly_and_read_back() {
        for text in ["30s", "5m", "4h", "2d", "1d12h", "500ms", "1h0m1s"] {
            let span: TimeSpan = text.parse().unwrap();
            let again: TimeSpan = span.to_string().parse().unwrap();
            assert_eq!(span, again);
        }
        assert_eq!(TimeSpan::secs(3601).to_string(), "1h1s");
        assert_eq!(TimeSpan::secs(0).to_string(), "0s");
    }

    #[test]
    fn byte_sizes_use_binary_units() {
        assert_eq!(
            "36MB".parse::<ByteSize>().unwrap(),
            ByteSize(36 * 1024 * 1024)
        );
        assert_eq!("64 KB".parse::<ByteSize>().unwrap(), ByteSize(65_536));
        assert_eq!("2GB".parse::<ByteSize>().unwrap().0, 2 * 1024 * 1024 * 1024);
        assert_eq!("1000".parse::<ByteSize>().unwrap(), ByteSize(1000));
        assert_eq!(ByteSize::mb(36).to_string(), "36MB");
        assert_eq!(ByteSize(1000).to_string(), "1000B");
        for bad in ["", "MB", "12TB", "1.5MB", "99999999999999GB"] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad}");
        }
    }
}
