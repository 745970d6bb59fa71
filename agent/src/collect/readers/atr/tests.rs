use super::*;

/// Parse `3B 8B 01 …` as written in the domain reference, independently of the table's
/// byte-string spelling, so a typo in either shows up.
fn hex(text: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
        .collect()
}

fn id(atr: &str, reader: &str) -> Option<(String, TokenFamily)> {
    identify(&hex(atr), reader)
}

fn named(model: &str, family: TokenFamily) -> Option<(String, TokenFamily)> {
    Some((model.to_owned(), family))
}

#[test]
fn every_reference_atr_is_named() {
    // ATR, model: domain reference §4.2, read in a reader whose name says nothing.
    let cases = [
        (
            "3B 6F 00 FF 00 56 72 75 54 6F 6B 6E 73 30 20 00 00 90 00",
            "Rutoken S",
            Rutoken,
        ),
        (
            "3B 8B 01 52 75 74 6F 6B 65 6E 6C 69 74 65 C2",
            "Rutoken Lite",
            Rutoken,
        ),
        (
            "3B 8B 00 52 75 74 6F 6B 65 6E 6C 74 53 44 E3",
            "Rutoken Lite SD",
            Rutoken,
        ),
        (
            "3B 8B 01 52 75 74 6F 6B 65 6E 20 45 43 50 A0",
            "Rutoken ECP",
            Rutoken,
        ),
        (
            "3B 8B 01 52 75 74 6F 6B 65 6E 20 44 53 20 C1",
            "Rutoken ECP DS",
            Rutoken,
        ),
        (
            "3B 9C 96 00 52 75 74 6F 6B 65 6E 45 43 50 73 63",
            "Rutoken ECP SC",
            Rutoken,
        ),
        (
            "3B 9C 94 80 11 40 52 75 74 6F 6B 65 6E 45 43 50 73 63 C3",
            "Rutoken ECP SC",
            Rutoken,
        ),
        (
            "3B 9C 97 80 11 40 52 75 74 6F 6B 65 6E 45 43 50 73 63 C0",
            "Rutoken ECP 3.0 NFC",
            Rutoken,
        ),
        (
            "3B 88 80 01 52 74 53 43 77 81 83 20 6A",
            "Rutoken ECP 3.0 NFC",
            Rutoken,
        ),
        (
            "3B 8C 80 01 50 5C 4B 71 A1 52 74 53 43 77 81 83 D9",
            "Rutoken ECP 3.0",
            Rutoken,
        ),
        (
            "3B 8B 01 52 74 50 49 4E 50 61 64 20 20 32 9C",
            "Rutoken PINPad",
            Rutoken,
        ),
        (
            "3B 8B 01 52 75 74 6F 6B 65 6E 44 53 42 54 D7",
            "Rutoken ECP Bluetooth",
            Rutoken,
        ),
        (
            "3B 78 13 00 00 72 75 74 6F 6B 65 6E 6D",
            "Rutoken Micron",
            Rutoken,
        ),
        (
            "3B 7A 13 00 00 72 75 74 6F 6B 65 6E 6D 73 63",
            "Rutoken Micron",
            Rutoken,
        ),
        (
            "3B 98 96 00 80 31 C0 72 F7 41 81 07",
            "Rutoken Magistra",
            Rutoken,
        ),
        (
            "3B DC 18 FF 81 91 FE 1F C3 80 73 C8 21 13 66 01 06 11 59 00 01 28",
            "JaCarta PKI",
            Jacarta,
        ),
        (
            "3B DC 18 FF 81 11 FE 80 73 C8 21 13 66 01 06 01 30 80 01 8D",
            "JaCarta LT",
            Jacarta,
        ),
        (
            "3B D5 18 00 81 31 FE 7D 80 73 C8 21 10 F4",
            "eToken PRO Java",
            Etoken,
        ),
        (
            "3B D5 18 00 81 31 3A 7D 80 73 C8 21 10 30",
            "eToken PRO",
            Etoken,
        ),
        ("3B E2 00 FF C1 10 31 FE 55 C8 02 9C", "eToken PRO", Etoken),
        (
            "3B FF 96 00 00 81 31 FE 43 80 31 80 65 B0 84 65 66 FB 12 01 78 82 90 00 85",
            "eToken 5110",
            Etoken,
        ),
        (
            "3B FF 96 00 00 81 31 FE 43 80 31 80 65 B0 85 59 56 FB 12 0F FE 82 90 00 00",
            "eToken 5110",
            Etoken,
        ),
        (
            "3B FF 96 00 00 81 31 FE 43 80 31 80 65 B0 85 59 56 FB 12 01 78 82 90 00 88",
            "eToken 5110",
            Etoken,
        ),
        (
            "3B FF 96 00 00 81 31 FE 43 80 31 80 65 B0 84 56 51 10 12 01 78 82 90 00 6A",
            "eToken 5300",
            Etoken,
        ),
        (
            "3B 7C 95 00 00 45 53 4D 41 52 54 47 4F 53 54 31 30",
            "ESMART Token GOST",
            Esmart,
        ),
        ("3B 97 96 00 80 73 F7 C1 80 81 05", "ESMART Token", Esmart),
        ("3B 90 16 01 87", "BIFIT iBank2Key", Bifit),
        (
            "3B DD 96 00 80 10 FE 80 31 80 63 01 FF C0 73 B3 21 1B 81 05",
            "BIFIT iBank2Key",
            Bifit,
        ),
    ];
    for (atr, model, family) in cases {
        assert_eq!(id(atr, "Virtual PCD 00 00"), named(model, family), "{atr}");
    }
}

#[test]
fn elided_atrs_match_by_their_known_ends() {
    // The reference elides the middle bytes of these two; any bytes there still match.
    let nano = "3B BE 18 00 00 42 06 11 00 5A 5A 5A 5A 5A 5A 5A 5A 5A 90 00";
    assert_eq!(id(nano, ""), named("eToken NANO", Etoken));
    let esmart = "3B BE 96 00 00 42 06 21 00 01 02 03 04 05 06 07 08 09 90 00";
    assert_eq!(id(esmart, ""), named("ESMART Token", Esmart));
    // The ends alone, with nothing between them, are not that ATR.
    assert_eq!(id("3B BE 18 00 00 42 06 11 00 90 00", ""), None);
}

#[test]
fn the_atr_beats_a_misleading_reader_name() {
    // A JaCarta in a reader named like a Rutoken (two vpcd slots share one friendly name).
    let jacarta = "3B DC 18 FF 81 91 FE 1F C3 80 73 C8 21 13 66 01 06 11 59 00 01 28";
    assert_eq!(
        id(jacarta, "Aktiv Rutoken ECP 00 01"),
        named("JaCarta PKI", Jacarta)
    );
}

#[test]
fn reader_name_separates_jacarta_models_sharing_an_atr() {
    let pki_atr = "3B DC 18 FF 81 91 FE 1F C3 80 73 C8 21 13 66 01 06 11 59 00 01 28";
    assert_eq!(
        id(pki_atr, "Aladdin R.D. JaCarta LT 00 00"),
        named("JaCarta LT", Jacarta)
    );
    assert_eq!(
        id(pki_atr, "ARDS ZAO JaCarta LT 0"),
        named("JaCarta LT", Jacarta)
    );
    // `ARDS JaCarta` pins no model: the ATR's is sharper.
    assert_eq!(id(pki_atr, "ARDS JaCarta 0"), named("JaCarta PKI", Jacarta));
}

#[test]
fn reader_name_separates_magistra_from_bifit() {
    let atr = "3B 98 96 00 80 31 C0 72 F7 41 81 07";
    assert_eq!(
        id(atr, "BIFIT iBank2Key 0"),
        named("BIFIT iBank2Key", Bifit)
    );
    assert_eq!(id(atr, "BIFIT 00 00"), named("BIFIT token", Bifit));
    assert_eq!(
        id(atr, "Aktiv Rutoken Magistra 00 00"),
        named("Rutoken Magistra", Rutoken)
    );
}

#[test]
fn unknown_atr_falls_back_to_the_reader_name() {
    let odd = "3B 11 22 33";
    assert_eq!(
        id(odd, "Aktiv Co. Rutoken S 00 00"),
        named("Rutoken S", Rutoken)
    );
    assert_eq!(id(odd, "SafeNet Token JC 0"), named("eToken", Etoken));
    assert_eq!(id(odd, "ARDS JaCarta 0"), named("JaCarta", Jacarta));
    assert_eq!(id(odd, "Virtual PCD 00 00"), None);
}

#[test]
fn unknown_rutoken_atr_is_still_a_rutoken() {
    // A made-up revision spelling its name in the historical bytes.
    let atr = b"\x3B\x8B\x01Rutoken XYZ\x00";
    assert_eq!(
        identify(atr, "Virtual PCD 00 00"),
        named("Rutoken", Rutoken)
    );
}

#[test]
fn empty_and_garbage_atrs_give_nothing_and_never_panic() {
    assert_eq!(identify(&[], ""), None);
    assert_eq!(identify(&[0x3B], "Virtual PCD 00 00"), None);
    assert_eq!(identify(&[0xFF; 40], "\u{0}"), None);
    assert_eq!(identify(&[0x3B, 0x90, 0x16, 0x01], ""), None);
}

#[test]
fn atrs_are_formatted_as_upper_case_spaced_hex() {
    assert_eq!(format_atr(&[0x3B, 0x8B, 0x01, 0xa0]), "3B 8B 01 A0");
    assert_eq!(format_atr(&[]), "");
}

proptest::proptest! {
    #[test]
    fn any_atr_and_name_identify_without_panicking(
        atr in proptest::collection::vec(proptest::num::u8::ANY, 0..40),
        name in "\\PC{0,60}",
    ) {
        let named = identify(&atr, &name);
        // Whatever is named has a model.
        proptest::prop_assert!(named.is_none_or(|(model, _)| !model.is_empty()));
        let _ = format_atr(&atr);
    }
}
