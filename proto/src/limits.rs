//! What a `tokenwatch.v1` server stores. An agent keeps every value inside these bounds, so
//! that one odd string or date read off a hostile file never costs a host its whole report
//! (the server refuses a report with a value outside them).

use std::borrow::Cow;

/// Longest text field, in bytes of UTF-8.
pub const MAX_TEXT: usize = 4 * 1024;

/// Most entries in a list inside a report's entries (a certificate's sources and extended key
/// usages, a collector's errors, …).
pub const MAX_LIST: usize = 1_000;

/// Largest certificate DER a report carries.
pub const MAX_DER: usize = 64 * 1024;

/// The span of a `google.protobuf.Timestamp`, 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z,
/// in seconds since the Unix epoch. It holds every date an X.509 certificate can state,
/// including RFC 5280's "no expiry" (99991231235959Z).
pub const EARLIEST_SECONDS: i64 = -62_135_596_800;
pub const LATEST_SECONDS: i64 = 253_402_300_799;

/// What marks a cut text.
const CUT: char = '…';

/// `text` as a server stores it: a NUL (which PostgreSQL text cannot hold) becomes U+FFFD, and
/// a text longer than [`MAX_TEXT`] is cut on a character boundary and ends with `…`.
/// Borrowed when nothing needed changing, which is almost always.
pub fn storable(text: &str) -> Cow<'_, str> {
    let replaced = if text.contains('\0') {
        Cow::Owned(text.replace('\0', "\u{fffd}"))
    } else {
        Cow::Borrowed(text)
    };
    if replaced.len() <= MAX_TEXT {
        return replaced;
    }
    let room = MAX_TEXT - CUT.len_utf8();
    let end = replaced
        .char_indices()
        .map(|(at, c)| at + c.len_utf8())
        .take_while(|end| *end <= room)
        .last()
        .unwrap_or(0);
    Cow::Owned(format!("{}{CUT}", &replaced[..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_text_is_kept_as_it_is() {
        assert!(matches!(
            storable("Иванов Иван"),
            Cow::Borrowed("Иванов Иван")
        ));
        let full = "ж".repeat(MAX_TEXT / 2);
        assert!(matches!(storable(&full), Cow::Borrowed(_)));
    }

    #[test]
    fn nul_is_replaced_and_long_text_cut_on_a_character_boundary() {
        assert_eq!(storable("a\0b"), "a\u{fffd}b");
        for text in [
            "ж".repeat(MAX_TEXT),
            "x".repeat(MAX_TEXT + 1),
            "я\0".repeat(MAX_TEXT),
        ] {
            let kept = storable(&text);
            assert!(kept.len() <= MAX_TEXT, "{}", kept.len());
            assert!(kept.len() > MAX_TEXT - 8, "{}", kept.len());
            assert!(kept.ends_with(CUT));
            assert!(!kept.contains('\0'));
        }
        // Replacing NULs may itself make a text too long: U+FFFD takes three bytes.
        let nuls = "\0".repeat(MAX_TEXT);
        let kept = storable(&nuls);
        assert!(kept.len() <= MAX_TEXT && kept.ends_with(CUT));
    }
}
