//! Pure mapping from what a PKCS#11 module reports (`CK_TOKEN_INFO`) to the inventory's terms:
//! the token family, version strings and PIN state. No module is loaded here, so every rule is
//! unit-tested without hardware.

use crate::inventory::{PinState, TokenFamily};

/// The flags of `CK_TOKEN_INFO` that say whether and how the token can be used.
///
/// A plain copy of the bits, so the mapping can be tested on values no local module produces
/// (SoftHSM never locks a PIN).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TokenFlags {
    /// `CKF_TOKEN_INITIALIZED`.
    pub(crate) token_initialized: bool,
    /// `CKF_USER_PIN_INITIALIZED`.
    pub(crate) user_pin_initialized: bool,
    /// `CKF_USER_PIN_LOCKED`.
    pub(crate) user_pin_locked: bool,
    /// `CKF_USER_PIN_COUNT_LOW`.
    pub(crate) user_pin_count_low: bool,
    /// `CKF_USER_PIN_FINAL_TRY`.
    pub(crate) user_pin_final_try: bool,
    /// `CKF_USER_PIN_TO_BE_CHANGED`.
    pub(crate) user_pin_to_be_changed: bool,
    /// `CKF_SO_PIN_LOCKED`.
    pub(crate) so_pin_locked: bool,
}

// === impl TokenFlags ===

impl From<&cryptoki::slot::TokenInfo> for TokenFlags {
    fn from(info: &cryptoki::slot::TokenInfo) -> Self {
        Self {
            token_initialized: info.token_initialized(),
            user_pin_initialized: info.user_pin_initialized(),
            user_pin_locked: info.user_pin_locked(),
            user_pin_count_low: info.user_pin_count_low(),
            user_pin_final_try: info.user_pin_final_try(),
            user_pin_to_be_changed: info.user_pin_to_be_changed(),
            so_pin_locked: info.so_pin_locked(),
        }
    }
}

/// The PIN state the inventory reports for `flags`, as the token reports it: which of several
/// raised flags matters most is decided by the findings, not here.
pub(crate) fn pin_state(flags: TokenFlags) -> PinState {
    PinState {
        initialized: flags.token_initialized,
        user_pin_initialized: flags.user_pin_initialized,
        locked: flags.user_pin_locked,
        count_low: flags.user_pin_count_low,
        final_try: flags.user_pin_final_try,
        must_change: flags.user_pin_to_be_changed,
        so_locked: flags.so_pin_locked,
    }
}

/// The token family named by a token's manufacturer and model, `None` for anything else
/// (SoftHSM, OpenSC's generic cards).
///
/// Two names need care: JaCarta's GOST applet reports the model `eToken GOST` although it is an
/// Aladdin R.D. token, and SafeNet's eTokens were made by Aladdin Ltd. before SafeNet bought it,
/// so only "Aladdin R.D." means JaCarta.
pub(crate) fn token_family(manufacturer: &str, model: &str) -> Option<TokenFamily> {
    let manufacturer = manufacturer.trim().to_lowercase();
    let model = model.trim().to_lowercase();
    if manufacturer.starts_with("aktiv") || model.starts_with("rutoken") {
        Some(TokenFamily::Rutoken)
    } else if manufacturer.starts_with("aladdin r.d")
        || model.starts_with("jacarta")
        || model.starts_with("etoken gost")
    {
        Some(TokenFamily::Jacarta)
    } else if manufacturer.starts_with("safenet")
        || manufacturer.starts_with("aladdin")
        || model.starts_with("etoken")
    {
        Some(TokenFamily::Etoken)
    } else if manufacturer.contains("esmart")
        || manufacturer.starts_with("isbc")
        || model.contains("esmart")
    {
        Some(TokenFamily::Esmart)
    } else {
        None
    }
}

/// A `CK_VERSION` as the inventory writes it: `major.minor`.
pub(crate) fn version(major: u8, minor: u8) -> String {
    format!("{major}.{minor}")
}

/// A fixed-width `CK_TOKEN_INFO` string without its blank (or NUL) padding.
pub(crate) fn trimmed(text: &str) -> String {
    text.trim_matches(|c: char| c == ' ' || c == '\0')
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_tokens_are_named_by_manufacturer_or_model() {
        let cases = [
            ("Aktiv Co.", "Rutoken ECP", Some(TokenFamily::Rutoken)),
            ("Aktiv Co.", "Rutoken lite", Some(TokenFamily::Rutoken)),
            ("", "Rutoken S", Some(TokenFamily::Rutoken)),
            ("Aladdin R.D.", "JaCarta DS", Some(TokenFamily::Jacarta)),
            ("Aladdin R.D.", "PRO", Some(TokenFamily::Jacarta)),
            ("Aladdin R.D.", "eToken GOST", Some(TokenFamily::Jacarta)),
            ("", "eToken GOST", Some(TokenFamily::Jacarta)),
            ("", "JaCarta LT", Some(TokenFamily::Jacarta)),
            ("SafeNet, Inc.", "eToken", Some(TokenFamily::Etoken)),
            ("", "eToken 5110", Some(TokenFamily::Etoken)),
            ("Aladdin Ltd.", "eToken", Some(TokenFamily::Etoken)),
            ("ISBC", "ESMART Token", Some(TokenFamily::Esmart)),
            ("", "ESMARTToken GOST", Some(TokenFamily::Esmart)),
            ("SoftHSM project", "SoftHSM v2", None),
            ("OpenSC Project", "PKCS#15 emulated", None),
            ("", "", None),
        ];
        for (manufacturer, model, expected) in cases {
            assert_eq!(
                token_family(manufacturer, model),
                expected,
                "{manufacturer:?} / {model:?}"
            );
        }
    }

    #[test]
    fn padded_names_are_identified() {
        assert_eq!(
            token_family("Aktiv Co.                       ", "Rutoken ECP     "),
            Some(TokenFamily::Rutoken)
        );
        assert_eq!(trimmed("Rutoken ECP     "), "Rutoken ECP");
        assert_eq!(trimmed("label\0\0"), "label");
    }

    #[test]
    fn versions_are_major_dot_minor() {
        assert_eq!(version(2, 6), "2.6");
        assert_eq!(version(20, 0), "20.0");
        assert_eq!(version(0, 255), "0.255");
    }

    #[test]
    fn a_fresh_token_has_no_pin_trouble() {
        let flags = TokenFlags {
            token_initialized: true,
            user_pin_initialized: true,
            ..TokenFlags::default()
        };
        assert_eq!(
            pin_state(flags),
            PinState {
                initialized: true,
                user_pin_initialized: true,
                ..PinState::default()
            }
        );
    }

    #[test]
    fn each_pin_flag_maps_to_its_own_field() {
        let base = TokenFlags {
            token_initialized: true,
            user_pin_initialized: true,
            ..TokenFlags::default()
        };
        let state = pin_state(TokenFlags {
            user_pin_count_low: true,
            ..base
        });
        assert!(state.count_low && !state.final_try && !state.locked);
        let state = pin_state(TokenFlags {
            user_pin_count_low: true,
            user_pin_final_try: true,
            ..base
        });
        assert!(state.count_low && state.final_try && !state.locked);
        let state = pin_state(TokenFlags {
            user_pin_to_be_changed: true,
            ..base
        });
        assert!(state.must_change && !state.locked);
        let state = pin_state(TokenFlags {
            so_pin_locked: true,
            ..base
        });
        assert!(state.so_locked && !state.locked);
        let state = pin_state(TokenFlags::default());
        assert!(!state.initialized && !state.user_pin_initialized);
    }

    #[test]
    fn a_locked_pin_is_reported_with_the_counters_the_token_left() {
        let state = pin_state(TokenFlags {
            token_initialized: true,
            user_pin_initialized: true,
            user_pin_locked: true,
            user_pin_final_try: true,
            ..TokenFlags::default()
        });
        assert!(state.locked && state.final_try && !state.count_low);
        assert!(!state.so_locked && !state.must_change);
    }
}
