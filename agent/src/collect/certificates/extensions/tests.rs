use super::*;

fn pkup(parts: &[(u8, &str)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (tag, time) in parts {
        body.push(*tag);
        body.push(u8::try_from(time.len()).unwrap());
        body.extend_from_slice(time.as_bytes());
    }
    let mut out = vec![0x30, u8::try_from(body.len()).unwrap()];
    out.extend(body);
    out
}

#[test]
fn private_key_usage_period_with_both_parts() {
    let period = private_key_usage_period(&pkup(&[
        (0x80, "20200101000000Z"),
        (0x81, "20210401123456Z"),
    ]))
    .unwrap();
    let (from, to) = (period.not_before, period.not_after);
    assert_eq!(from.unwrap().to_rfc3339(), "2020-01-01T00:00:00+00:00");
    assert_eq!(to.unwrap().to_rfc3339(), "2021-04-01T12:34:56+00:00");
}

#[test]
fn private_key_usage_period_with_one_part() {
    let only_end = private_key_usage_period(&pkup(&[(0x81, "20300101000000Z")])).unwrap();
    assert_eq!(only_end.not_before, None);
    assert_eq!(
        only_end.not_after.unwrap().to_rfc3339(),
        "2030-01-01T00:00:00+00:00"
    );
    let only_start = private_key_usage_period(&pkup(&[(0x80, "20300101000000.123Z")])).unwrap();
    assert_eq!(
        only_start.not_before.unwrap().to_rfc3339(),
        "2030-01-01T00:00:00+00:00"
    );
    assert_eq!(only_start.not_after, None);
    assert_eq!(
        private_key_usage_period(&pkup(&[])),
        Some(KeyUsagePeriod::default())
    );
}

#[test]
fn private_key_usage_period_refuses_malformed_values() {
    assert_eq!(private_key_usage_period(&[]), None);
    assert_eq!(
        private_key_usage_period(&pkup(&[(0x82, "20300101000000Z")])),
        None
    );
    assert_eq!(
        private_key_usage_period(&pkup(&[(0x80, "2030010100Z")])),
        None
    );
    assert_eq!(
        private_key_usage_period(&pkup(&[(0x80, "20301301000000Z")])),
        None
    );
    assert_eq!(
        private_key_usage_period(&pkup(&[(0x80, "20300101000000")])),
        None
    );
    let mut truncated = pkup(&[(0x80, "20300101000000Z")]);
    truncated.pop();
    assert_eq!(private_key_usage_period(&truncated), None);
}

#[test]
fn sign_tool_is_read_from_any_string_type() {
    let text = "\"КриптоПро CSP\" (версия 4.0)";
    let mut value = vec![0x0C, u8::try_from(text.len()).unwrap()];
    value.extend_from_slice(text.as_bytes());
    assert_eq!(sign_tool(&value).as_deref(), Some(text));
    assert_eq!(
        sign_tool(&[0x13, 0x03, b'C', b'S', b'P']).as_deref(),
        Some("CSP")
    );
    assert_eq!(sign_tool(&[0x04, 0x01, 0x00]), None);
    assert_eq!(sign_tool(&[0x0C, 0x05, b'x']), None);
}

#[test]
fn policies_and_extended_key_usages_keep_order() {
    // Policies KC1, KC2, anyPolicy, as in the CryptoPro test root.
    let policies_der =
        hex::decode("301C300806062A8503647101300806062A850364710230060604551D2000").unwrap();
    assert_eq!(
        policies(&policies_der),
        ["1.2.643.100.113.1", "1.2.643.100.113.2", "2.5.29.32.0"]
    );
    assert!(is_class_sign_tool("1.2.643.100.113.2"));
    assert!(!is_class_sign_tool("2.5.29.32.0"));
    // clientAuth, emailProtection, 1.2.643.2.2.34.6
    let eku =
        hex::decode("301D06082B0601050507030206082B0601050507030406072A850302022206").unwrap();
    assert_eq!(
        extended_key_usage(&eku),
        ["clientAuth", "emailProtection", "1.2.643.2.2.34.6"]
    );
    assert!(extended_key_usage(&[0x30, 0x03, 0x06]).is_empty());
}

#[test]
fn key_usage_bits_are_named() {
    assert_eq!(
        key_usage_names(0b0000_0000_0110_0001),
        ["digitalSignature", "keyCertSign", "cRLSign"]
    );
    assert_eq!(key_usage_names(0b1_0000_0000), ["decipherOnly"]);
    assert!(key_usage_names(0).is_empty());
}
