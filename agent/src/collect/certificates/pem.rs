//! PEM armour and Base64, read leniently enough for files people actually keep.
//!
//! Written here rather than taken from x509-parser's `pem` module so that every failure names the
//! block and the reason, and so that non-certificate blocks (keys, CRLs) can be skipped without
//! failing the whole bundle.

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

/// Decode standard Base64, ignoring whitespace; padding is optional.
pub(crate) fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer: u32 = 0;
    let mut bits = 0_u32;
    let mut padding = 0_usize;
    let mut count = 0_usize;
    for (position, c) in text.chars().filter(|c| !c.is_whitespace()).enumerate() {
        if c == '=' {
            padding += 1;
            continue;
        }
        if padding > 0 {
            return Err(format!(
                "invalid Base64: data after padding at character {position}"
            ));
        }
        let value = match c {
            'A'..='Z' => u32::from(c) - u32::from('A'),
            'a'..='z' => u32::from(c) - u32::from('a') + 26,
            '0'..='9' => u32::from(c) - u32::from('0') + 52,
            '+' => 62,
            '/' => 63,
            _ => return Err(format!("invalid Base64: character {c:?} at {position}")),
        };
        count += 1;
        buffer = ((buffer << 6) | value) & 0x00FF_FFFF;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            // Truncation to the low byte is the point: the byte just completed.
            out.push(((buffer >> bits) & 0xFF) as u8);
        }
    }
    if count % 4 == 1 || padding > 2 {
        return Err("invalid Base64: the data ends mid-character (truncated?)".to_owned());
    }
    if count == 0 {
        return Err("no Base64 data".to_owned());
    }
    Ok(out)
}

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
