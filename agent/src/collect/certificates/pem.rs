//! PEM armour and Base64, read leniently enough for files people actually keep.
//!
//! Written here rather than taken from x509-parser's `pem` module so that every failure names the
//! block and the reason, and so that non-certificate blocks (keys, CRLs) can be skipped without
//! failing the whole bundle. The Base64 itself is decoded by `data-encoding`.

use std::sync::LazyLock;

use data_encoding::{DecodeKind, Encoding};

/// One `-----BEGIN LABEL-----` … `-----END LABEL-----` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Block {
    /// 1-based position in the file, for messages.
    pub(crate) index: usize,
    pub(crate) label: String,
    /// Decoded contents, or why they could not be decoded.
    pub(crate) contents: Result<Vec<u8>, String>,
}

/// Every PEM block in `text`, in order. Text outside blocks (OpenSSL's `Bag Attributes`,
/// `subject=` lines, comments) is ignored.
pub(crate) fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(label) = marker(line, "BEGIN") else {
            continue;
        };
        let index = out.len() + 1;
        let mut body = String::new();
        let mut ended = false;
        for line in lines.by_ref() {
            if let Some(end) = marker(line, "END") {
                ended = end == label;
                break;
            }
            // RFC 1421 headers (`Proc-Type:`, `DEK-Info:`) precede the Base64 of encrypted keys.
            if !line.contains(':') {
                body.push_str(line.trim());
            }
        }
        let contents = if ended {
            decode_base64(&body)
        } else {
            Err(format!(
                "no matching \"-----END {label}-----\" line (file truncated?)"
            ))
        };
        out.push(Block {
            index,
            label: label.to_owned(),
            contents,
        });
    }
    out
}

/// The label of a `-----BEGIN LABEL-----` (or END) line.
fn marker<'a>(line: &'a str, kind: &str) -> Option<&'a str> {
    line.trim()
        .strip_prefix("-----")?
        .strip_prefix(kind)?
        .strip_prefix(' ')?
        .strip_suffix("-----")
}

/// Standard Base64 as files carry it: no padding required and stray bits after the last byte
/// ignored (padding, and whitespace, are dealt with in [`decode_base64`]).
static LENIENT_BASE64: LazyLock<Encoding> = LazyLock::new(|| {
    let mut spec = data_encoding::BASE64_NOPAD.specification();
    spec.check_trailing_bits = false;
    // The specification is a fixed, valid one: only a programming error can fail here.
    spec.encoding().expect("valid Base64 specification")
});

/// Decode standard Base64, ignoring whitespace; padding is optional.
pub(crate) fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let data = compact.trim_end_matches('=');
    if compact.len() - data.len() > 2 {
        return Err(MID_CHARACTER.to_owned());
    }
    if data.is_empty() {
        return Err("no Base64 data".to_owned());
    }
    LENIENT_BASE64.decode(data.as_bytes()).map_err(|error| {
        let position = error.position;
        match error.kind {
            DecodeKind::Length => MID_CHARACTER.to_owned(),
            // Everything before `position` is the ASCII alphabet, so it is a character index.
            DecodeKind::Symbol => match data[position..].chars().next() {
                Some('=') => format!("invalid Base64: data after padding at character {position}"),
                Some(c) => format!("invalid Base64: character {c:?} at {position}"),
                None => format!("invalid Base64 at character {position}"),
            },
            kind => format!("invalid Base64: {kind} at character {position}"),
        }
    })
}

const MID_CHARACTER: &str = "invalid Base64: the data ends mid-character (truncated?)";

/// Whether `bytes` could be Base64 without armour (only the alphabet and whitespace).
pub(crate) fn looks_like_base64(bytes: &[u8]) -> bool {
    let mut significant = 0_usize;
    for &b in bytes {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' | b'=' => significant += 1,
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ => return false,
        }
    }
    significant >= 16
}

#[cfg(test)]
mod tests;
