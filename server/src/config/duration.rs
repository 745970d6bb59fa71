//! Durations written as `90d`, `24h`, `10s`, `1h30m`, in the config file and on the command line.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A whole number of seconds, written with units `w`, `d`, `h`, `m`, `s`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span(Duration);

/// Why a duration could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid duration {0:?}: expected a number with a unit, like 90d, 24h, 10m or 30s")]
pub struct SpanError(String);

const UNITS: [(char, u64); 5] = [
    ('w', 7 * 86_400),
    ('d', 86_400),
    ('h', 3_600),
    ('m', 60),
    ('s', 1),
];

impl Span {
    /// `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self(Duration::from_secs(secs))
    }

    /// The duration.
    pub const fn get(self) -> Duration {
        self.0
    }
}

impl FromStr for Span {
    type Err = SpanError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || SpanError(text.to_owned());
        let mut total: u64 = 0;
        let mut number = String::new();
        let mut any = false;
        for c in text.trim().chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let (_, secs) = UNITS.iter().find(|(u, _)| *u == c).ok_or_else(error)?;
            let n: u64 = number.parse().map_err(|_| error())?;
            total = n
                .checked_mul(*secs)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(error)?;
            number.clear();
            any = true;
        }
        if !number.is_empty() || !any {
            return Err(error());
        }
        Ok(Self::from_secs(total))
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        // The largest unit that divides it; seconds divide everything.
        let (unit, size) = UNITS
            .iter()
            .find(|(_, size)| secs >= *size && secs % size == 0)
            .copied()
            .unwrap_or(('s', 1));
        write!(f, "{}{unit}", secs / size)
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_units() {
        for (text, secs, shown) in [
            ("90d", 90 * 86_400, "90d"),
            ("24h", 86_400, "1d"),
            ("1h30m", 5_400, "90m"),
            ("10s", 10, "10s"),
            ("2w", 14 * 86_400, "2w"),
        ] {
            let span: Span = text.parse().expect(text);
            assert_eq!(span.get().as_secs(), secs);
            assert_eq!(span.to_string(), shown);
        }
    }

    #[test]
    fn refuses_nonsense() {
        for text in ["", "10", "d", "5x", "-1d", "99999999999999999999w"] {
            assert!(text.parse::<Span>().is_err(), "{text}");
        }
    }
}
