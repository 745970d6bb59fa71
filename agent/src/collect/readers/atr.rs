//! Naming a token from its answer-to-reset.
//!
//! The table holds individual ATR facts gathered in the domain reference (§4.2), written as our
//! own data. An ATR names a chip and applet set rather than a product, so a few entries are
//! ambiguous; for those the reader name decides when it can (see [`identify`]).

use super::names::reader_hint;
use crate::inventory::TokenFamily;
use TokenFamily::{Bifit, Esmart, Etoken, Jacarta, Rutoken};

/// How an ATR is matched.
#[derive(Clone, Copy, Debug)]
enum Pattern {
    /// Byte for byte.
    Exact(&'static [u8]),
    /// Known start and end; the bytes between vary per chip (serial or version bytes).
    Ends {
        prefix: &'static [u8],
        suffix: &'static [u8],
    },
}

/// One known ATR.
#[derive(Clone, Copy, Debug)]
struct Known {
    pattern: Pattern,
    model: &'static str,
    family: TokenFamily,
    /// Families of other products known to answer with the same ATR; when the reader name
    /// points to one of them, the reader name decides.
    shared_with: &'static [TokenFamily],
}

const fn exact(bytes: &'static [u8], model: &'static str, family: TokenFamily) -> Known {
    Known {
        pattern: Pattern::Exact(bytes),
        model,
        family,
        shared_with: &[],
    }
}

const fn shared(
    bytes: &'static [u8],
    model: &'static str,
    family: TokenFamily,
    shared_with: &'static [TokenFamily],
) -> Known {
    Known {
        pattern: Pattern::Exact(bytes),
        model,
        family,
        shared_with,
    }
}

const fn ends(
    prefix: &'static [u8],
    suffix: &'static [u8],
    model: &'static str,
    family: TokenFamily,
) -> Known {
    Known {
        pattern: Pattern::Ends { prefix, suffix },
        model,
        family,
        shared_with: &[],
    }
}

/// Known token ATRs (domain reference §4.2). Model names are what a helpdesk calls the product.
const KNOWN: &[Known] = &[
    // Aktiv Rutoken
    exact(
        &[
            0x3B, 0x6F, 0x00, 0xFF, 0x00, 0x56, 0x72, 0x75, 0x54, 0x6F, 0x6B, 0x6E, 0x73, 0x30,
            0x20, 0x00, 0x00, 0x90, 0x00,
        ],
        "Rutoken S",
        Rutoken,
    ),
    exact(b"\x3B\x8B\x01Rutokenlite\xC2", "Rutoken Lite", Rutoken),
    exact(b"\x3B\x8B\x00RutokenltSD\xE3", "Rutoken Lite SD", Rutoken),
    exact(b"\x3B\x8B\x01Rutoken ECP\xA0", "Rutoken ECP", Rutoken),
    exact(b"\x3B\x8B\x01Rutoken DS \xC1", "Rutoken ECP DS", Rutoken),
    exact(b"\x3B\x9C\x96\x00RutokenECPsc", "Rutoken ECP SC", Rutoken),
    exact(
        b"\x3B\x9C\x94\x80\x11\x40RutokenECPsc\xC3",
        "Rutoken ECP SC",
        Rutoken,
    ),
    exact(
        b"\x3B\x9C\x97\x80\x11\x40RutokenECPsc\xC0",
        "Rutoken ECP 3.0 NFC",
        Rutoken,
    ),
    exact(
        &[
            0x3B, 0x88, 0x80, 0x01, 0x52, 0x74, 0x53, 0x43, 0x77, 0x81, 0x83, 0x20, 0x6A,
        ],
        "Rutoken ECP 3.0 NFC",
        Rutoken,
    ),
    exact(
        &[
            0x3B, 0x8C, 0x80, 0x01, 0x50, 0x5C, 0x4B, 0x71, 0xA1, 0x52, 0x74, 0x53, 0x43, 0x77,
            0x81, 0x83, 0xD9,
        ],
        "Rutoken ECP 3.0",
        Rutoken,
    ),
    exact(b"\x3B\x8B\x01RtPINPad  2\x9C", "Rutoken PINPad", Rutoken),
    exact(
        b"\x3B\x8B\x01RutokenDSBT\xD7",
        "Rutoken ECP Bluetooth",
        Rutoken,
    ),
    exact(b"\x3B\x78\x13\x00\x00rutokenm", "Rutoken Micron", Rutoken),
    exact(b"\x3B\x7A\x13\x00\x00rutokenmsc", "Rutoken Micron", Rutoken),
    // Listed as Rutoken Magistra, but also reported on a BIFIT iBank2Key: the reader decides.
    shared(
        &[
            0x3B, 0x98, 0x96, 0x00, 0x80, 0x31, 0xC0, 0x72, 0xF7, 0x41, 0x81, 0x07,
        ],
        "Rutoken Magistra",
        Rutoken,
        &[Rutoken, Bifit],
    ),
    // JaCarta: JaCarta-2 GOST, PKI, IDProtect and LT are reported with the same ATRs.
    shared(
        &[
            0x3B, 0xDC, 0x18, 0xFF, 0x81, 0x91, 0xFE, 0x1F, 0xC3, 0x80, 0x73, 0xC8, 0x21, 0x13,
            0x66, 0x01, 0x06, 0x11, 0x59, 0x00, 0x01, 0x28,
        ],
        "JaCarta PKI",
        Jacarta,
        &[Jacarta],
    ),
    shared(
        &[
            0x3B, 0xDC, 0x18, 0xFF, 0x81, 0x11, 0xFE, 0x80, 0x73, 0xC8, 0x21, 0x13, 0x66, 0x01,
            0x06, 0x01, 0x30, 0x80, 0x01, 0x8D,
        ],
        "JaCarta LT",
        Jacarta,
        &[Jacarta],
    ),
    // SafeNet / Aladdin eToken
    exact(
        &[
            0x3B, 0xD5, 0x18, 0x00, 0x81, 0x31, 0xFE, 0x7D, 0x80, 0x73, 0xC8, 0x21, 0x10, 0xF4,
        ],
        "eToken PRO Java",
        Etoken,
    ),
    exact(
        &[
            0x3B, 0xD5, 0x18, 0x00, 0x81, 0x31, 0x3A, 0x7D, 0x80, 0x73, 0xC8, 0x21, 0x10, 0x30,
        ],
        "eToken PRO",
        Etoken,
    ),
    exact(
        &[
            0x3B, 0xE2, 0x00, 0xFF, 0xC1, 0x10, 0x31, 0xFE, 0x55, 0xC8, 0x02, 0x9C,
        ],
        "eToken PRO",
        Etoken,
    ),
    ends(
        &[0x3B, 0xBE, 0x18, 0x00, 0x00, 0x42, 0x06, 0x11, 0x00],
        &[0x90, 0x00],
        "eToken NANO",
        Etoken,
    ),
    exact(
        &[
            0x3B, 0xFF, 0x96, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x43, 0x80, 0x31, 0x80, 0x65, 0xB0,
            0x84, 0x65, 0x66, 0xFB, 0x12, 0x01, 0x78, 0x82, 0x90, 0x00, 0x85,
        ],
        "eToken 5110",
        Etoken,
    ),
    exact(
        &[
            0x3B, 0xFF, 0x96, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x43, 0x80, 0x31, 0x80, 0x65, 0xB0,
            0x85, 0x59, 0x56, 0xFB, 0x12, 0x0F, 0xFE, 0x82, 0x90, 0x00, 0x00,
        ],
        "eToken 5110",
        Etoken,
    ),
    exact(
        &[
            0x3B, 0xFF, 0x96, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x43, 0x80, 0x31, 0x80, 0x65, 0xB0,
            0x85, 0x59, 0x56, 0xFB, 0x12, 0x01, 0x78, 0x82, 0x90, 0x00, 0x88,
        ],
        "eToken 5110",
        Etoken,
    ),
    exact(
        &[
            0x3B, 0xFF, 0x96, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x43, 0x80, 0x31, 0x80, 0x65, 0xB0,
            0x84, 0x56, 0x51, 0x10, 0x12, 0x01, 0x78, 0x82, 0x90, 0x00, 0x6A,
        ],
        "eToken 5300",
        Etoken,
    ),
    // ESMART (ISBC)
    exact(
        b"\x3B\x7C\x95\x00\x00ESMARTGOST10",
        "ESMART Token GOST",
        Esmart,
    ),
    ends(
        &[0x3B, 0xBE, 0x96, 0x00, 0x00, 0x42, 0x06, 0x21, 0x00],
        &[0x90, 0x00],
        "ESMART Token",
        Esmart,
    ),
    exact(
        &[
            0x3B, 0x97, 0x96, 0x00, 0x80, 0x73, 0xF7, 0xC1, 0x80, 0x81, 0x05,
        ],
        "ESMART Token",
        Esmart,
    ),
    // BIFIT
    exact(&[0x3B, 0x90, 0x16, 0x01, 0x87], "BIFIT iBank2Key", Bifit),
    exact(
        &[
            0x3B, 0xDD, 0x96, 0x00, 0x80, 0x10, 0xFE, 0x80, 0x31, 0x80, 0x63, 0x01, 0xFF, 0xC0,
            0x73, 0xB3, 0x21, 0x1B, 0x81, 0x05,
        ],
        "BIFIT iBank2Key",
        Bifit,
    ),
];

/// Name the token whose ATR is `atr`, sitting in the reader called `reader_name`.
///
/// The ATR decides first. Where other products share the ATR, or the ATR is unknown, the reader
/// name (built from the USB device's own strings) names the product instead.
pub fn identify(atr: &[u8], reader_name: &str) -> Option<(String, TokenFamily)> {
    let hint = reader_hint(reader_name);
    let Some(known) = KNOWN.iter().find(|k| k.pattern.matches(atr)) else {
        return hint
            .map(|h| (h.model_or_family().to_owned(), h.family))
            .or_else(|| from_historical_bytes(atr));
    };
    match hint {
        Some(hint) if known.shared_with.contains(&hint.family) => match hint.model {
            Some(model) => Some((model.to_owned(), hint.family)),
            // The reader is of the family the ATR already names: the ATR's model is sharper.
            None if hint.family == known.family => Some((known.model.to_owned(), known.family)),
            None => Some((hint.model_or_family().to_owned(), hint.family)),
        },
        _ => Some((known.model.to_owned(), known.family)),
    }
}

/// Format an ATR as the inventory carries it: upper-case hex bytes separated by spaces.
pub fn format_atr(atr: &[u8]) -> String {
    atr.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Rutoken chips spell their name in the historical bytes (`Rutoken…`, `rutoken…`). A new
/// Rutoken revision is then still recognised as a Rutoken, without a model.
fn from_historical_bytes(atr: &[u8]) -> Option<(String, TokenFamily)> {
    let lower = atr.to_ascii_lowercase();
    lower
        .windows(b"rutoken".len())
        .any(|w| w == b"rutoken")
        .then(|| ("Rutoken".to_owned(), Rutoken))
}

// === impl Pattern ===

impl Pattern {
    fn matches(self, atr: &[u8]) -> bool {
        match self {
            Self::Exact(bytes) => atr == bytes,
            Self::Ends { prefix, suffix } => {
                atr.len() > prefix.len() + suffix.len()
                    && atr.starts_with(prefix)
                    && atr.ends_with(suffix)
            }
        }
    }
}

#[cfg(test)]
mod tests;
