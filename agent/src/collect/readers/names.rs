//! What a PC/SC reader name says about the token behind it.
//!
//! A token is its own reader: pcsc-lite names it from the CCID driver's friendly name plus an
//! index (`Aktiv Rutoken ECP 00 00`), Windows from the USB strings (`ARDS JaCarta 0`). Names
//! come from domain reference §4.3; the Linux JaCarta and eToken spellings are not seen live.

use crate::inventory::TokenFamily;
use TokenFamily::{Bifit, Esmart, Etoken, Jacarta, Rutoken};

/// The family, and where the name pins it, the model of the token a reader stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ReaderHint {
    pub(super) family: TokenFamily,
    pub(super) model: Option<&'static str>,
}

/// Vendor readers that take a card rather than being a token: their name says nothing about the
/// card inside (Rutoken SCR 3001/3101, JaCarta JCR-770 and SecurBio, ESMART Reader).
const CARD_READERS: &[&str] = &[
    "scr 3001",
    "scr 3101",
    "scr3001",
    "jcr",
    "securbio",
    "esmart reader",
];

/// Lower-case needles, most specific first: the first one found in the name wins.
const NEEDLES: &[(&str, TokenFamily, Option<&str>)] = &[
    ("jacarta lt", Jacarta, Some("JaCarta LT")),
    ("jacarta", Jacarta, None),
    ("rutoken ecp", Rutoken, Some("Rutoken ECP")),
    ("rutoken lite", Rutoken, Some("Rutoken Lite")),
    ("rutoken pinpad", Rutoken, Some("Rutoken PINPad")),
    ("rutoken magistra", Rutoken, Some("Rutoken Magistra")),
    ("rutoken s ", Rutoken, Some("Rutoken S")),
    // ifd-rutokens on Linux (`Aktiv Co. Rutoken S 00 00`) and Windows (`Aktiv Co. ruToken 0`)
    // name Rutoken S after the company with its full stop.
    ("co. rutoken", Rutoken, Some("Rutoken S")),
    ("rutoken", Rutoken, None),
    ("etoken 5100", Etoken, Some("eToken 5100")),
    ("etoken 5110", Etoken, Some("eToken 5110")),
    ("etoken 5300", Etoken, Some("eToken 5300")),
    ("etoken", Etoken, None),
    // `SafeNet Token JC` and `Aladdin Token JC`: eToken PRO Java and eToken 5100 share the device.
    ("token jc", Etoken, None),
    ("esmart token gost", Esmart, Some("ESMART Token GOST")),
    ("esmart token usb 64k", Esmart, Some("ESMART Token USB 64K")),
    ("esmart", Esmart, None),
    ("ibank2key", Bifit, Some("BIFIT iBank2Key")),
    ("angara", Bifit, Some("BIFIT ANGARA")),
    ("bifit", Bifit, None),
];

/// Token family from a PC/SC reader name (`Aktiv Rutoken ECP 00 00` → Rutoken).
pub fn family_from_reader_name(name: &str) -> Option<TokenFamily> {
    reader_hint(name).map(|h| h.family)
}

/// Family and model a reader name stands for; `None` for other readers.
pub(super) fn reader_hint(name: &str) -> Option<ReaderHint> {
    // A name ending in `S` (`… Rutoken S`) must match `rutoken s ` like one with an index does.
    let lower = format!("{} ", name.to_lowercase());
    if CARD_READERS.iter().any(|r| lower.contains(r)) {
        return None;
    }
    NEEDLES
        .iter()
        .find(|(needle, _, _)| lower.contains(needle))
        .map(|&(_, family, model)| ReaderHint { family, model })
}

/// What to call a token when only its family is known.
pub(super) fn family_model(family: TokenFamily) -> &'static str {
    match family {
        Bifit => "BIFIT token",
        Esmart => "ESMART Token",
        Etoken => "eToken",
        Jacarta => "JaCarta",
        Rutoken => "Rutoken",
    }
}

// === impl ReaderHint ===

impl ReaderHint {
    /// The model the name pins, or the family's generic name.
    pub(super) fn model_or_family(self) -> &'static str {
        self.model.unwrap_or_else(|| family_model(self.family))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_reader_names_give_family() {
        let cases = [
            ("Aktiv Rutoken ECP 00 00", Some(Rutoken)),
            ("Aktiv Rutoken lite 00 00", Some(Rutoken)),
            ("Aktiv Co. Rutoken S 00 00", Some(Rutoken)),
            ("Aladdin R.D. JaCarta LT 00 00", Some(Jacarta)),
            ("SafeNet eToken 5100 [eToken 5100] 00 00", Some(Etoken)),
            ("Microchip SEC1210 [CCID Interface] (34884770) 01 00", None),
            ("Virtual PCD 00 00", None),
        ];
        for (name, family) in cases {
            assert_eq!(family_from_reader_name(name), family, "{name}");
        }
    }

    #[test]
    fn windows_reader_names_give_family() {
        let cases = [
            ("Aktiv Rutoken ECP 0", Rutoken),
            ("Aktiv Co. ruToken 0", Rutoken),
            ("ARDS JaCarta 0", Jacarta),
            ("ARDS ZAO JaCarta LT 0", Jacarta),
            ("SafeNet Token JC 0", Etoken),
            ("Aladdin Token JC 0", Etoken),
            ("ISBC ESMART Token 0", Esmart),
            ("ESMART Token USB 64K 0", Esmart),
            ("BIFIT iBank2Key 0", Bifit),
            ("BIFIT ANGARA 0", Bifit),
        ];
        for (name, family) in cases {
            assert_eq!(family_from_reader_name(name), Some(family), "{name}");
        }
    }

    #[test]
    fn reader_names_pin_models_where_they_can() {
        let model = |name| reader_hint(name).and_then(|h| h.model);
        assert_eq!(model("Aktiv Co. Rutoken S 00 00"), Some("Rutoken S"));
        assert_eq!(model("Aktiv Co. ruToken 0"), Some("Rutoken S"));
        assert_eq!(model("Aktiv Rutoken lite 0"), Some("Rutoken Lite"));
        assert_eq!(model("Aladdin R.D. JaCarta LT 00 00"), Some("JaCarta LT"));
        assert_eq!(model("ARDS JaCarta 0"), None);
        assert_eq!(model("SafeNet Token JC 0"), None);
        assert_eq!(model("BIFIT iBank2Key 0"), Some("BIFIT iBank2Key"));
    }

    #[test]
    fn card_readers_say_nothing_about_the_card() {
        assert_eq!(
            family_from_reader_name("Aktiv Rutoken SCR 3001 Reader 00 00"),
            None
        );
        assert_eq!(family_from_reader_name("ESMART Reader ER433x 00 00"), None);
    }

    #[test]
    fn odd_names_do_not_panic() {
        for name in ["", " ", "\u{0}", "Рутокен ЭЦП 0", "rutoken", "JACARTA"] {
            let _ = reader_hint(name);
        }
        assert_eq!(family_from_reader_name("JACARTA"), Some(Jacarta));
    }
}
