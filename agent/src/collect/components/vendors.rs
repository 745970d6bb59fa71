//! Which vendor token software an installed product is, by the name its installer registered
//! (Windows' Uninstall entries). Pure, tested on every platform; read on Windows.
#![cfg_attr(not(windows), allow(dead_code))]

use crate::inventory::TokenFamily;

/// Name fragments (compared without case) and the family each product serves. Russian
/// installers register Russian names.
const PRODUCTS: &[(&str, TokenFamily)] = &[
    ("jacarta", TokenFamily::Jacarta),
    ("рутокен", TokenFamily::Rutoken),
    ("rutoken", TokenFamily::Rutoken),
    ("safenet authentication client", TokenFamily::Etoken),
    ("etoken", TokenFamily::Etoken),
    ("esmart", TokenFamily::Esmart),
];
/// Products that carry a vendor's name but are not its token software.
const NOT_MIDDLEWARE: &[&str] = &["browser plugin", "плагин"];

/// The token family whose software `display_name` is, if any.
pub(crate) fn vendor_family(display_name: &str) -> Option<TokenFamily> {
    let name = display_name.to_lowercase();
    if NOT_MIDDLEWARE.iter().any(|n| name.contains(n)) {
        return None;
    }
    PRODUCTS
        .iter()
        .find(|(fragment, _)| name.contains(fragment))
        .map(|(_, family)| *family)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_products_are_told_by_their_registered_names() {
        for (name, family) in [
            ("JaCarta Unified Client", Some(TokenFamily::Jacarta)),
            ("Единый Клиент JaCarta", Some(TokenFamily::Jacarta)),
            ("Драйверы Рутокен", Some(TokenFamily::Rutoken)),
            ("Rutoken Drivers", Some(TokenFamily::Rutoken)),
            (
                "SafeNet Authentication Client 10.8",
                Some(TokenFamily::Etoken),
            ),
            ("ESMART PKI Client", Some(TokenFamily::Esmart)),
            ("Рутокен Плагин", None),
            ("КриптоПро CSP", None),
            ("Microsoft Visual C++ 2015-2022 Redistributable", None),
        ] {
            assert_eq!(vendor_family(name), family, "{name}");
        }
    }
}
