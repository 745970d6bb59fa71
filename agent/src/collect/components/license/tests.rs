use chrono::TimeZone;

use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
        .single()
        .expect("valid time")
}

fn day(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0)
        .single()
        .expect("valid day")
}

#[test]
fn client_licence_with_end_date() {
    let text = "License validity:\n5050A1234567890ABCDEFGHIJ\nExpires: 18.11.2026\nLicense type: Client.\n[ErrorCode: 0x00000000]\n";
    let license = parse_license(text, now()).expect("licence");
    assert_eq!(
        license,
        License {
            serial_prefix: Some("5050A".to_owned()),
            for_version: Some("5.0".to_owned()),
            kind: Some("Client".to_owned()),
            expires: Some(day(2026, 11, 18)),
            permanent: false,
            demo: false,
            error: None,
        }
    );
}

#[test]
fn permanent_licence_in_the_type_line() {
    let text = "License validity:\n4040E-G0037-EK8R3-C6K4U-HCXQG\nExpires: Unlimited\nLicense type: Client, Permanent\n";
    let license = parse_license(text, now()).expect("licence");
    assert_eq!(license.serial_prefix.as_deref(), Some("4040E"));
    assert_eq!(license.for_version.as_deref(), Some("4.0"));
    assert_eq!(license.kind.as_deref(), Some("Client"));
    assert!(license.permanent);
    assert_eq!(license.expires, None);
    assert_eq!(license.error, None);
}

#[test]
fn the_whole_serial_is_never_kept() {
    let serial = "5050C7K4UHCXQGG0037EK8R3Q";
    let text = format!("License validity:\n{serial}\nExpires: Unlimited\n");
    let license = parse_license(&text, now()).expect("licence");
    let json = serde_json::to_string(&license).expect("json");
    assert!(!json.contains(serial), "{json}");
    assert!(!json.contains("C7K4UHCXQG"), "{json}");
    assert_eq!(license.serial_prefix.as_deref(), Some("5050C"));
}

#[test]
fn iso_expiration_date_label() {
    let text = "License validity:\n5050N0000000000000000000\nExpiration date: 2026-11-18\nLicense type: Server\n";
    let license = parse_license(text, now()).expect("licence");
    assert_eq!(license.expires, Some(day(2026, 11, 18)));
    assert_eq!(license.kind.as_deref(), Some("Server"));
}

#[test]
fn demo_licence_counting_days() {
    let text = "License validity:\n5050N0000000000000000000\nExpires: 89 day(s)\nLicense type: Client, Demo.\n";
    let license = parse_license(text, now()).expect("licence");
    assert!(license.demo);
    assert!(!license.permanent);
    assert_eq!(license.expires, Some(now() + Duration::days(89)));
}

#[test]
fn months_and_days_left_count_from_now() {
    let text = "Expires: 2 month(s) 29 day(s)\nLicense type: Client\n";
    let license = parse_license(text, now()).expect("licence");
    assert_eq!(license.expires, Some(now() + Duration::days(89)));
    for odd in [
        "Expires: 2 month(s) 29\n",
        "Expires: 2 weeks\n",
        "Expires: day 2\n",
    ] {
        assert_eq!(
            parse_license(odd, now()).and_then(|l| l.expires),
            None,
            "{odd}"
        );
    }
}

#[test]
fn russian_trial_type_is_demo() {
    let text = "Серийный номер: 5050N0000000000000000000\nТип лицензии: Клиентская, Пробная\n";
    let license = parse_license(text, now()).expect("licence");
    assert!(license.demo);
    assert_eq!(license.kind.as_deref(), Some("Клиентская"));
    assert_eq!(license.serial_prefix.as_deref(), Some("5050N"));
}

#[test]
fn unknown_serial_family_has_no_version() {
    let text = "License validity:\n7070X0000000000000000000\n";
    let license = parse_license(text, now()).expect("licence");
    assert_eq!(license.serial_prefix.as_deref(), Some("7070X"));
    assert_eq!(license.for_version, None);
    assert_eq!(
        parse_license("License validity:\n3939Q0000000000000000000\n", now())
            .and_then(|l| l.for_version),
        Some("3.9".to_owned())
    );
}

#[test]
fn error_output_is_an_error() {
    let text = "License validity:\nError code 0x8009001d\n[ErrorCode: 0x8009001d]\n";
    let license = parse_license(text, now()).expect("licence");
    assert_eq!(license.error.as_deref(), Some("Error code 0x8009001d"));
    assert_eq!(license.serial_prefix, None);

    let trailer_only = parse_license("[ErrorCode: 0x80090020]\n", now()).expect("licence");
    assert_eq!(
        trailer_only.error.as_deref(),
        Some("[ErrorCode: 0x80090020]")
    );
}

#[test]
fn success_trailer_alone_is_not_an_error() {
    let text = "License validity:\n5050A1234567890ABCDEFGHIJ\n[ErrorCode: 0x00000000]\n";
    assert_eq!(parse_license(text, now()).and_then(|l| l.error), None);
}

#[test]
fn garbage_is_not_a_licence() {
    for text in [
        "",
        "\n\n",
        "cpconfig: unknown option -view\n",
        "License validity:\n",
        "License validity:\nhello\n",
        "\u{0}\u{1}\u{fffd}",
        "Expires",
        "::::",
    ] {
        assert_eq!(parse_license(text, now()), None, "{text:?}");
    }
}

#[test]
fn unreadable_dates_are_left_out_without_panicking() {
    let text = "Expires: 31.02.2026\nLicense type: Client\n";
    let license = parse_license(text, now()).expect("licence");
    assert_eq!(license.expires, None);
    assert!(!license.permanent);
    for text in [
        "Expires: 99999999999999999999 days\n",
        "Expires: 9999999999999 days\n",
    ] {
        assert_eq!(parse_license(text, now()).and_then(|l| l.expires), None);
    }
}

proptest::proptest! {
    #[test]
    fn any_text_parses_without_panicking(text in "\\PC*") {
        let _ = parse_license(&text, now());
    }

    #[test]
    fn labelled_noise_parses_without_panicking(
        label in "(License validity|Expires|Expiration date|License type|Error code|\\[ErrorCode)",
        value in "[0-9A-Za-zА-я .,:()-]{0,40}",
    ) {
        let _ = parse_license(&format!("{label}: {value}\n{value}\n"), now());
    }
}
