//! The tokens and vendor readers the agent knows by USB vendor and product id, on every
//! platform: Linux finds the ids in sysfs, Windows in the devices' hardware ids. VID:PID facts
//! are from the CCID driver's supported-readers list (domain reference §4.1).

use crate::inventory::TokenFamily;
use TokenFamily::{Bifit, Esmart, Etoken, Jacarta, Rutoken};

/// A known device: model, and the token family for tokens. Card readers have no family: what
/// they show depends on the card put in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct UsbModel {
    pub(crate) model: &'static str,
    pub(crate) family: Option<TokenFamily>,
}

/// `(vendor, product, model, family)`.
const KNOWN: &[(u16, u16, &str, Option<TokenFamily>)] = &[
    // Aktiv
    (0x0A89, 0x0020, "Rutoken S", Some(Rutoken)),
    (0x0A89, 0x0025, "Rutoken Lite", Some(Rutoken)),
    // ECP 2.0 and 3.0 share this id.
    (0x0A89, 0x0030, "Rutoken ECP", Some(Rutoken)),
    (0x0A89, 0x0060, "Rutoken Magistra", Some(Rutoken)),
    (0x0A89, 0x0069, "Rutoken SCR 3001", None),
    (0x0A89, 0x006A, "Rutoken SCR 3101 NFC", None),
    (0x0A89, 0x0080, "Rutoken PINPad", Some(Rutoken)),
    (0x0A89, 0x0081, "Rutoken PINPad", Some(Rutoken)),
    (0x0A89, 0x0082, "Rutoken PINPad", Some(Rutoken)),
    // Aladdin R.D. (ARDS)
    (0x24DC, 0x0101, "JaCarta", Some(Jacarta)),
    (0x24DC, 0x0102, "JaCarta LT", Some(Jacarta)),
    (0x24DC, 0x0402, "JaCarta", Some(Jacarta)),
    (0x24DC, 0x0428, "JaCarta-3", Some(Jacarta)),
    (0x24DC, 0x100F, "JaCarta Flash", Some(Jacarta)),
    (0x24DC, 0x0201, "JaCarta JCR-770", None),
    (0x24DC, 0x0401, "JaCarta WebPass", Some(Jacarta)),
    (0x24DC, 0x0420, "JaCarta SecurBio", None),
    (0x24DC, 0x0501, "JaCarta U2F", Some(Jacarta)),
    // SafeNet / Aladdin eToken. 0529:0620 is both eToken PRO Java 72K and eToken 5100.
    (0x0529, 0x0620, "eToken PRO Java / 5100", Some(Etoken)),
    (0x0529, 0x0602, "eToken 7300", Some(Etoken)),
    (0x08E6, 0x34CC, "eToken 5300", Some(Etoken)),
    (0x08E6, 0x34CE, "eToken 5300 C", Some(Etoken)),
    (0x08E6, 0x34CF, "eToken 5110+ FIPS", Some(Etoken)),
    (0x08E6, 0x34D2, "eToken Fusion", Some(Etoken)),
    // ESMART (ISBC). 072F is the chip vendor's id (ACS), the product id is ESMART's.
    (0x2CE4, 0x7479, "ESMART Token", Some(Esmart)),
    (0x2CE4, 0x5001, "ESMART Reader ER433x", None),
    (0x2CE4, 0x5020, "ESMART Reader ER773x", None),
    (0x072F, 0x90DE, "ESMART Token USB 64K", Some(Esmart)),
    // BIFIT
    (0x23A0, 0x0001, "BIFIT iBank2key", Some(Bifit)),
    (0x23A0, 0x0002, "BIFIT iBank2Key", Some(Bifit)),
    (0x23A0, 0x0003, "BIFIT iToken", Some(Bifit)),
    (0x23A0, 0x0008, "BIFIT ANGARA", Some(Bifit)),
];

/// The known device with this vendor and product id.
pub(crate) fn identify_usb(vendor: u16, product: u16) -> Option<UsbModel> {
    KNOWN
        .iter()
        .find(|(v, p, _, _)| *v == vendor && *p == product)
        .map(|&(_, _, model, family)| UsbModel { model, family })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ids_name_tokens_and_readers() {
        let model = |v, p| identify_usb(v, p);
        assert_eq!(
            model(0x0A89, 0x0030),
            Some(UsbModel {
                model: "Rutoken ECP",
                family: Some(Rutoken)
            })
        );
        assert_eq!(model(0x0A89, 0x0025).map(|m| m.model), Some("Rutoken Lite"));
        assert_eq!(model(0x24DC, 0x0101).and_then(|m| m.family), Some(Jacarta));
        assert_eq!(model(0x24DC, 0x0102).map(|m| m.model), Some("JaCarta LT"));
        assert_eq!(model(0x0529, 0x0620).and_then(|m| m.family), Some(Etoken));
        assert_eq!(model(0x08E6, 0x34CC).map(|m| m.model), Some("eToken 5300"));
        assert_eq!(model(0x2CE4, 0x7479).and_then(|m| m.family), Some(Esmart));
        assert_eq!(model(0x23A0, 0x0008).map(|m| m.model), Some("BIFIT ANGARA"));
        // A card reader is known but stands for no token family.
        assert_eq!(
            model(0x0A89, 0x0069),
            Some(UsbModel {
                model: "Rutoken SCR 3001",
                family: None
            })
        );
    }

    #[test]
    fn unknown_ids_are_not_tokens() {
        assert_eq!(identify_usb(0x1D6B, 0x0002), None); // root hub
        assert_eq!(identify_usb(0x0A89, 0xFFFF), None);
        assert_eq!(identify_usb(0, 0), None);
    }
}
