//! The CryptoPro CSP licence, from `cpconfig -license -view`.
//!
//! Labels are those third-party integrations parse (domain reference §1.5): `License validity:`
//! with the serial on the next line, `Expires:` or `Expiration date:`, `License type:`, and an
//! error line when the licence is missing or broken. The exact wording per CSP version is not
//! confirmed, so the parser is lenient about layout and reports only what it recognised. The
//! serial is never kept whole: it is worth money. Only its first group is.
//!
//! Windows has no `cpconfig` program, only the serial in the registry ([`license_from_serial`]);
//! both readings are tested on every platform.
#![cfg_attr(windows, allow(dead_code))]

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::inventory::License;

/// Labels before the serial. The Russian one is a guess for a Russian-language locale.
const SERIAL_LABELS: &[&str] = &["license validity", "serial number", "серийный номер"];
/// Labels before the end date. The Russian ones are guesses.
const EXPIRY_LABELS: &[&str] = &["expires", "expiration date", "истекает", "действительна до"];
/// Labels before the licence type. The Russian one is a guess.
const TYPE_LABELS: &[&str] = &["license type", "тип лицензии"];
/// Words meaning the licence does not end.
const PERMANENT_WORDS: &[&str] = &["unlimited", "permanent", "never", "бессроч", "неогранич"];
/// Words meaning a trial licence; the installer's 90-day licence is one.
const DEMO_WORDS: &[&str] = &["demo", "trial", "демо", "пробн"];

/// CSP version a serial is for, from its first four characters. 4040 and 5050 are seen in
/// public scripts; 3939 and 3636 follow the pattern and are unconfirmed.
const SERIAL_VERSIONS: &[(&str, &str)] = &[
    ("5050", "5.0"),
    ("4040", "4.0"),
    ("3939", "3.9"),
    ("3636", "3.6"),
];

/// What `cpconfig -license -view` printed, as a licence; `None` when nothing in `text` reads as
/// licence output. `now` turns a remaining-days count into a date.
pub(crate) fn parse_license(text: &str, now: DateTime<Utc>) -> Option<License> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let mut license = License::default();
    let mut recognised = false;

    for (index, line) in lines.iter().enumerate() {
        if let Some(value) = labelled(line, SERIAL_LABELS) {
            let serial = if value.is_empty() {
                lines.get(index + 1).copied().unwrap_or_default()
            } else {
                value
            };
            if let Some(prefix) = serial_prefix(serial) {
                license.for_version = serial_version(&prefix);
                license.serial_prefix = Some(prefix);
                recognised = true;
            }
        } else if let Some(value) = labelled(line, EXPIRY_LABELS) {
            recognised = true;
            if has_any(value, PERMANENT_WORDS) {
                license.permanent = true;
            } else if let Some(end) = date(value).or_else(|| time_left(value, now)) {
                license.expires = Some(end);
            }
        } else if let Some(value) = labelled(line, TYPE_LABELS) {
            recognised = true;
            let mut parts = value
                .split(',')
                .map(|p| p.trim().trim_end_matches('.').trim());
            license.kind = parts.next().filter(|k| !k.is_empty()).map(str::to_owned);
            for flag in parts {
                license.permanent |= has_any(flag, PERMANENT_WORDS);
            }
        } else if is_error(line) {
            recognised = true;
            license.error.get_or_insert_with(|| (*line).to_owned());
        } else if has_any(line, PERMANENT_WORDS) && !line.contains(':') {
            // Some versions print the term on a line of its own under the serial.
            license.permanent = true;
        }
    }
    if !recognised {
        return None;
    }
    license.demo = has_any(text, DEMO_WORDS);
    if license.expires.is_some() {
        license.permanent = false;
    }
    Some(license)
}

/// The value after `label:` when `line` starts with one of `labels` (case-insensitive).
fn labelled<'a>(line: &'a str, labels: &[&str]) -> Option<&'a str> {
    let (label, value) = line.split_once(':')?;
    let label = label.trim().to_lowercase();
    labels.iter().any(|l| label == *l).then(|| value.trim())
}

/// A licence known only by its serial (Windows keeps the serial in the registry, without the
/// end date): its first group and the CSP version it is for; `None` when `serial` is not shaped
/// like one.
#[cfg_attr(not(windows), allow(dead_code))] // read on Windows, tested everywhere
pub(crate) fn license_from_serial(serial: &str) -> Option<License> {
    let prefix = serial_prefix(serial)?;
    Some(License {
        for_version: serial_version(&prefix),
        serial_prefix: Some(prefix),
        ..License::default()
    })
}

fn serial_version(prefix: &str) -> Option<String> {
    SERIAL_VERSIONS
        .iter()
        .find(|(start, _)| prefix.starts_with(start))
        .map(|(_, version)| (*version).to_owned())
}

/// First group of a licence serial (`5050N-…` or `5050N…` → `5050N`), or `None` when `text`
/// is not shaped like one.
fn serial_prefix(text: &str) -> Option<String> {
    let text = text.trim();
    if !text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return None;
    }
    let compact: String = text.chars().filter(char::is_ascii_alphanumeric).collect();
    // A real serial has 25 characters; accept any length that is clearly not a word.
    if compact.len() < 10 {
        return None;
    }
    Some(compact[..5].to_ascii_uppercase())
}

/// `18.11.2026` or `2026-11-18`, anywhere in the value, as the start of that day in UTC (the
/// earlier reading, so warnings are never late).
fn date(value: &str) -> Option<DateTime<Utc>> {
    value.split_whitespace().find_map(|word| {
        let word = word.trim_matches(|c: char| !c.is_ascii_digit());
        let day = NaiveDate::parse_from_str(word, "%d.%m.%Y")
            .or_else(|_| NaiveDate::parse_from_str(word, "%Y-%m-%d"))
            .ok()?;
        Some(day.and_hms_opt(0, 0, 0)?.and_utc())
    })
}

/// Time left as a count (`89 day(s)`, `2 month(s) 29 day(s)`, `89 дн.`), from `now`. Some
/// versions are said to show the demo licence this way; unconfirmed. A month counts as 30
/// days, which may put the end a day or two early: never late.
fn time_left(value: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let words: Vec<&str> = value.split_whitespace().collect();
    let mut days: i64 = 0;
    let mut counted = false;
    for pair in words.chunks(2) {
        let [count, unit] = pair else { return None };
        let count: i64 = count.parse().ok()?;
        let unit = unit.to_lowercase();
        let per = if unit.starts_with("day") || unit.starts_with("дн") || unit.starts_with("ден")
        {
            1
        } else if unit.starts_with("month") || unit.starts_with("мес") {
            30
        } else {
            return None;
        };
        days = days.checked_add(count.checked_mul(per)?)?;
        counted = true;
    }
    if !counted {
        return None;
    }
    now.checked_add_signed(Duration::try_days(days)?)
}

/// An error line: CSP's `[ErrorCode: 0x…]` trailer with a non-zero code, an `Error code` line,
/// or a statement that the licence is invalid.
fn is_error(line: &str) -> bool {
    let lower = line.to_lowercase();
    if lower.contains("errorcode") || lower.contains("error code") {
        // `0x00000000` is CSP's success code.
        let code = lower.rsplit([' ', ':']).next().unwrap_or("");
        let digits = code.trim_end_matches(']').trim_start_matches("0x");
        return digits.is_empty() || !digits.chars().all(|c| c == '0');
    }
    lower.starts_with("error") || lower.contains("invalid") || lower.contains("недейств")
}

fn has_any(text: &str, words: &[&str]) -> bool {
    let lower = text.to_lowercase();
    words.iter().any(|w| lower.contains(w))
}

#[cfg(test)]
mod tests;
