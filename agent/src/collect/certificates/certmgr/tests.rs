use super::*;
use crate::inventory::SourceKind;

/// English locale, CSP 5 labels, with a subject wrapped onto a continuation line.
const EN: &str = "\
Certmgr Ver:5.0.12455 OS:Linux CPU:AMD64 (c) \"CRYPTO-PRO\", 2007-2023.
Program for managing certificates, CRLs and stores.
=============================================================================
1-------
Issuer              : OGRN=1027700132195, INN=007707083893, C=RU, S=77 г. Москва, CN=\"ООО \"\"АйтиКом\"\"\"
Subject             : E=ivanov@example.ru, SNILS=12345678901, INN=770708389301,
                      INNLE=7707083893, OGRN=1027700132195, C=RU, O=ООО Ромашка,
                      CN=Иванов Иван Иванович
Serial              : 0x6F45B4E8000000024591
SHA1 Thumbprint     : 5F9BE5D2000000000000000000000000000000AA
SubjectKeyID        : 75bd111300000000000000000000000000000000
Signature Algorithm : ГОСТ Р 34.11-2012/34.10-2012 256 бит
PublicKey Algorithm : ГОСТ Р 34.10-2012 (512 bits)
Not valid before    : 14/02/2022  13:22:17 UTC
Not valid after     : 14/02/2023  13:32:17 UTC
PrivateKey Link     : Yes
Container           : HDIMAGE\\\\Sidorenk.000\\2A2E
Provider Name       : Crypto-Pro GOST R 34.10-2012 KC1 CSP
Provider Info       : Provider Type: 80, Key Spec: 1, Flags: 0x0
CA cert URL         : http://example.ru/ca.crt
Extended Key Usage  : 1.3.6.1.5.5.7.3.4
                      1.3.6.1.5.5.7.3.2
2-------
Issuer              : CN=Root
Subject             : CN=Root
Serial              : 0x01
SHA1 Hash           : 0x00112233445566778899AABBCCDDEEFF00112233
Not valid before    : 01.01.2020
Not valid after     : 01.01.2030 12:00:00
PrivateKey Link     : No
=============================================================================

[ErrorCode: 0x00000000]
";

/// Russian locale with the attribute names CSP 5 translates.
const RU: &str = "\
Certmgr 1.1 (c) \"КРИПТО-ПРО\", 2007-2021.
=============================================================================
1-------
Издатель            : CN=Тестовый УЦ, ОГРН=1027700132195
Субъект             : СНИЛС=12345678901, ИНН=770708389301, ИНН ЮЛ=7707083893, ОГРНИП=304500116000157, CN=Петров Пётр
Серийный номер      : 0x1001
SHA1 отпечаток      : ABCDEF0123456789ABCDEF0123456789ABCDEF01
Выдан               : 12/05/2022  10:42:00 UTC
Истекает            : 19/03/2023  10:42:00 UTC
Ссылка на ключ      : Есть
Контейнер           : HDIMAGE\\\\secret.000\\9E7A
Назначение/EKU      : 1.3.6.1.5.5.7.3.2 Проверка подлинности клиента
=============================================================================

[ErrorCode: 0x00000000]
";

#[test]
fn english_listing_with_continuation_lines() {
    let entries = parse_certmgr_list(EN).unwrap();
    assert_eq!(entries.len(), 2);
    let first = &entries[0];
    assert_eq!(first.number, 1);
    assert_eq!(
        first.subject.as_deref(),
        Some(
            "E=ivanov@example.ru, SNILS=12345678901, INN=770708389301, INNLE=7707083893, \
             OGRN=1027700132195, C=RU, O=ООО Ромашка, CN=Иванов Иван Иванович"
        )
    );
    assert_eq!(first.serial.as_deref(), Some("6F45B4E8000000024591"));
    assert_eq!(
        first.sha1.as_deref(),
        Some("5f9be5d2000000000000000000000000000000aa")
    );
    assert_eq!(
        first.not_before.unwrap().to_rfc3339(),
        "2022-02-14T13:22:17+00:00"
    );
    assert_eq!(
        first.not_after.unwrap().to_rfc3339(),
        "2023-02-14T13:32:17+00:00"
    );
    assert_eq!(first.private_key_link, Some(true));
    assert_eq!(
        first.container.as_deref(),
        Some("HDIMAGE\\\\Sidorenk.000\\2A2E")
    );
    assert_eq!(
        first.extended_key_usage,
        ["1.3.6.1.5.5.7.3.4", "1.3.6.1.5.5.7.3.2"]
    );
    let second = &entries[1];
    assert_eq!(
        second.sha1.as_deref(),
        Some("00112233445566778899aabbccddeeff00112233")
    );
    assert_eq!(
        second.not_before.unwrap().to_rfc3339(),
        "2020-01-01T00:00:00+00:00"
    );
    assert_eq!(
        second.not_after.unwrap().to_rfc3339(),
        "2030-01-01T12:00:00+00:00"
    );
    assert_eq!(second.private_key_link, Some(false));
}

#[test]
fn english_entry_becomes_a_store_certificate() {
    let entries = parse_certmgr_list(EN).unwrap();
    let cert = entries[0].to_certificate("uMy").unwrap();
    assert_eq!(cert.sha1, "5f9be5d2000000000000000000000000000000aa");
    assert_eq!(cert.sha256, "sha1:5f9be5d2000000000000000000000000000000aa");
    assert_eq!(cert.subject_cn.as_deref(), Some("Иванов Иван Иванович"));
    assert_eq!(cert.issuer_cn.as_deref(), Some("ООО \"АйтиКом\""));
    assert_eq!(cert.inn.as_deref(), Some("770708389301"));
    assert_eq!(cert.inn_le.as_deref(), Some("7707083893"));
    assert_eq!(cert.ogrn.as_deref(), Some("1027700132195"));
    assert_eq!(cert.snils.as_deref(), Some("12345678901"));
    assert_eq!(cert.email.as_deref(), Some("ivanov@example.ru"));
    assert_eq!(cert.organization.as_deref(), Some("ООО Ромашка"));
    assert_eq!(
        cert.signature_algorithm,
        "GOST R 34.11-2012 256 with GOST R 34.10-2012 256"
    );
    assert_eq!(cert.public_key_algorithm, "GOST R 34.10-2012 256");
    assert_eq!(
        cert.subject_key_id.as_deref(),
        Some("75bd111300000000000000000000000000000000")
    );
    assert!(!cert.is_ca && !cert.self_signed);
    assert_eq!(cert.sources.len(), 1);
    assert_eq!(cert.sources[0].kind, SourceKind::CryptoproStore);
    assert_eq!(
        cert.sources[0].location,
        "uMy (container HDIMAGE\\\\Sidorenk.000\\2A2E)"
    );
    let root = entries[1].to_certificate("mRoot").unwrap();
    assert!(root.is_ca && root.self_signed);
    assert_eq!(root.sources[0].location, "mRoot");
}

#[test]
fn russian_listing_with_russian_attribute_names() {
    let entries = parse_certmgr_list(RU).unwrap();
    assert_eq!(entries.len(), 1);
    let cert = entries[0].to_certificate("uMy").unwrap();
    assert_eq!(cert.subject_cn.as_deref(), Some("Петров Пётр"));
    assert_eq!(cert.inn.as_deref(), Some("770708389301"));
    assert_eq!(cert.inn_le.as_deref(), Some("7707083893"));
    assert_eq!(cert.ogrnip.as_deref(), Some("304500116000157"));
    assert_eq!(cert.snils.as_deref(), Some("12345678901"));
    assert_eq!(cert.ogrn, None);
    assert_eq!(cert.serial, "1001");
    assert_eq!(cert.not_after.to_rfc3339(), "2023-03-19T10:42:00+00:00");
    assert_eq!(
        cert.extended_key_usage,
        ["1.3.6.1.5.5.7.3.2 Проверка подлинности клиента"]
    );
}

#[test]
fn empty_store_is_an_empty_list_and_other_errors_are_errors() {
    let empty = "Certmgr 1.1\n=====\nСписок сертификатов пуст\n\n[ErrorCode: 0x8010002c]\n";
    assert_eq!(parse_certmgr_list(empty), Ok(Vec::new()));
    assert_eq!(
        parse_certmgr_list("Список сертификатов пуст\n"),
        Ok(Vec::new())
    );
    let failed = "Certmgr 1.1\nCannot open store\n[ErrorCode: 0x80090016]\n";
    assert_eq!(
        parse_certmgr_list(failed).unwrap_err().to_string(),
        "certmgr reported error 0x80090016: Cannot open store"
    );
    assert!(matches!(
        parse_certmgr_list("Segmentation fault"),
        Err(CertmgrError::Unrecognised(_))
    ));
}

#[test]
fn entries_missing_identity_or_dates_are_refused() {
    let bad_date = RU.replace("19/03/2023  10:42:00 UTC", "31/02/2023  10:42:00 UTC");
    let entries = parse_certmgr_list(&bad_date).unwrap();
    assert_eq!(entries[0].not_after, None);
    assert_eq!(entries[0].unreadable_dates, ["31/02/2023  10:42:00 UTC"]);
    assert_eq!(
        entries[0].sha1.as_deref(),
        Some("abcdef0123456789abcdef0123456789abcdef01")
    );
    assert_eq!(
        entries[0].to_certificate("uMy"),
        Err(CertmgrError::BadDate {
            number: 1,
            text: "31/02/2023  10:42:00 UTC".to_owned()
        })
    );
    let no_sha1 = RU.replace("SHA1 отпечаток", "Что-то другое");
    let entries = parse_certmgr_list(&no_sha1).unwrap();
    assert_eq!(
        entries[0].to_certificate("uMy").unwrap_err().to_string(),
        "certmgr entry 1: no SHA1 thumbprint"
    );
    for garbled in [
        "ABCDEF0123456789ABCDEF0123456789ABCDEF",
        "ABCDEF01234567Ж9ABCDEF0123456789ABCDEF01",
    ] {
        let listing = RU.replace("ABCDEF0123456789ABCDEF0123456789ABCDEF01", garbled);
        let entries = parse_certmgr_list(&listing).unwrap();
        assert_eq!(
            entries[0].to_certificate("uMy"),
            Err(CertmgrError::BadThumbprint {
                number: 1,
                text: garbled.to_ascii_lowercase(),
            }),
            "{garbled}"
        );
    }
}

#[test]
fn dates_in_both_spellings() {
    assert_eq!(
        parse_date("12/05/2022  10:42:00 UTC")
            .map(|d| d.to_rfc3339())
            .as_deref(),
        Some("2022-05-12T10:42:00+00:00")
    );
    assert_eq!(
        parse_date("12.05.2022").map(|d| d.to_rfc3339()).as_deref(),
        Some("2022-05-12T00:00:00+00:00")
    );
    assert_eq!(parse_date("2022-05-12"), None);
    assert_eq!(parse_date("12/13/2022 10:00:00 UTC"), None);
    assert_eq!(parse_date(""), None);
}
