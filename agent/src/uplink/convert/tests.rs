//! A full inventory, every field set, and the exact wire message it must become.

use chrono::{Duration, TimeZone, Utc};
use prost_types::Timestamp;
use tokenwatch_proto::v1;

use super::*;
use crate::findings::Code;
use crate::inventory::{
    Certificate, CertificateSource, Components, CryptoPro, License, Middleware, Pkcs11Module,
    ServiceState, SourceKind, StartType, UsbToken,
};

fn at(days: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
        .single()
        .expect("valid date")
        + Duration::days(days)
        + Duration::nanoseconds(5)
}

fn ts(days: i64) -> Option<Timestamp> {
    Some(Timestamp {
        seconds: at(days).timestamp(),
        nanos: 5,
    })
}

fn s(text: &str) -> String {
    text.to_owned()
}

fn so(text: &str) -> Option<String> {
    Some(text.to_owned())
}

/// Every field of every type set to a value distinct from its default.
pub(crate) fn full() -> Inventory {
    Inventory {
        schema: s("tokenwatch.inventory/v1"),
        collected_at: at(0),
        host: Host {
            hostname: s("ws-01"),
            os: s("Debian GNU/Linux"),
            os_version: so("12"),
            arch: s("x86_64"),
            agent_version: s("0.1.0"),
        },
        readers: vec![Reader {
            name: s("Aktiv Rutoken ECP 00 00"),
            card_present: true,
            atr: so("3B 8B"),
            token_model: so("Rutoken ECP"),
            token_family: Some(TokenFamily::Rutoken),
            in_use_exclusively: true,
        }],
        tokens: vec![Token {
            module: s("/usr/lib/librtpkcs11ecp.so"),
            slot_id: 3,
            slot_description: so("slot"),
            label: s("label"),
            serial: s("0011"),
            manufacturer: s("Aktiv"),
            model: s("Rutoken ECP"),
            token_family: Some(TokenFamily::Jacarta),
            hardware_version: so("1.2"),
            firmware_version: so("3.4"),
            total_memory: Some(65536),
            free_memory: Some(1024),
            pin: PinState {
                initialized: true,
                user_pin_initialized: true,
                locked: true,
                count_low: true,
                final_try: true,
                must_change: true,
                so_locked: true,
            },
            certificates: vec![s("aa")],
        }],
        containers: vec![Container {
            name: so("le-1234"),
            path: s("/var/opt/cprocsp/keys/user/abc.000"),
            media: Media::Removable,
            owner: so("user"),
            complete: true,
            missing_files: vec![s("masks2.key")],
            damaged_files: vec![DamagedFile {
                file: s("primary.key"),
                reason: s("short"),
            }],
            key_algorithm: so("GOST R 34.10-2012 256"),
            key_algorithm_oid: so("1.2.643.7.1.1.1.1"),
            exportable: Some(false),
            certificate_sha1: so("aa"),
            private_key_not_before: Some(at(-1)),
            private_key_not_after: Some(at(1)),
        }],
        certificates: vec![Certificate {
            sha1: s("aa"),
            sha256: s("bb"),
            serial: s("01"),
            subject: s("CN=Иванов"),
            issuer: s("CN=УЦ"),
            subject_cn: so("Иванов"),
            issuer_cn: so("УЦ"),
            organization: so("ООО"),
            email: so("a@b.ru"),
            inn: so("770708389301"),
            inn_le: so("7707083893"),
            ogrn: so("1027700132195"),
            ogrnip: so("304500116000157"),
            snils: so("11223344595"),
            not_before: at(-300),
            not_after: at(65),
            private_key_not_before: Some(at(-299)),
            private_key_not_after: Some(at(64)),
            key_usage: vec![s("digitalSignature")],
            extended_key_usage: vec![s("1.3.6.1.5.5.7.3.2")],
            signature_algorithm: s("GOST R 34.11-2012/34.10-2012 256"),
            public_key_algorithm: s("GOST R 34.10-2012 256"),
            qualified: true,
            subject_sign_tool: so("КриптоПро CSP"),
            is_ca: true,
            self_signed: true,
            issuer_present: Some(true),
            sources: vec![CertificateSource {
                kind: SourceKind::CryptoproStore,
                location: s("uMy"),
            }],
            der: vec![0x30, 0x03],
            authority_key_id: so("01"),
            subject_key_id: so("02"),
        }],
        components: Components {
            cryptopro: Some(CryptoPro {
                installed: true,
                version: so("5.0"),
                build: so("5.0.12455"),
                control_key_time_validity: Some(0),
                license: Some(License {
                    serial_prefix: so("5050N"),
                    for_version: so("5.0"),
                    kind: so("Client"),
                    expires: Some(at(30)),
                    permanent: true,
                    demo: true,
                    error: so("bad"),
                }),
            }),
            smart_card_service: Some(ServiceState::NotInstalled),
            ccid_driver: so("ifd-ccid.bundle"),
            middleware: vec![Middleware {
                family: TokenFamily::Esmart,
                name: s("ESMART PKI Client"),
                path: s("/opt/esmart"),
                version: so("4.2.1"),
            }],
            pkcs11_modules: vec![Pkcs11Module {
                path: s("/usr/lib/libjcPKCS11-2.so"),
                family: Some(TokenFamily::Etoken),
            }],
            usb_tokens: vec![UsbToken {
                bus_path: s("1-2"),
                usb_id: s("0a89:0030"),
                model: s("Rutoken ECP"),
                family: Some(TokenFamily::Bifit),
                manufacturer: so("Aktiv"),
                product: so("Rutoken ECP"),
                serial: so("99"),
                visible_to_pcsc: Some(false),
                driver: so("wudfusbcciddriver.inf (Microsoft), WUDFRd"),
                generic_driver: Some(true),
                problem_code: Some(10),
            }],
            smart_card_service_start: Some(StartType::Manual),
            remote_sessions: Some(3),
        },
        findings: vec![Finding {
            code: Code::CertificateExpired,
            severity: Severity::Critical,
            subject: s("aa"),
            message: s("expired"),
            remediation: s("renew"),
        }],
        collectors: vec![CollectorStatus {
            name: s("tokens"),
            status: CollectorOutcome::Partial,
            errors: vec![s("slot 3")],
            duration_ms: 42,
        }],
    }
}

#[test]
fn every_field_reaches_the_wire() {
    let expected = v1::Inventory {
        schema: s("tokenwatch.inventory/v1"),
        collected_at: ts(0),
        host: Some(v1::Host {
            hostname: s("ws-01"),
            os: s("Debian GNU/Linux"),
            os_version: so("12"),
            arch: s("x86_64"),
            agent_version: s("0.1.0"),
        }),
        readers: vec![v1::Reader {
            name: s("Aktiv Rutoken ECP 00 00"),
            card_present: true,
            atr: so("3B 8B"),
            token_model: so("Rutoken ECP"),
            token_family: v1::TokenFamily::Rutoken.into(),
            in_use_exclusively: true,
        }],
        tokens: vec![v1::Token {
            module: s("/usr/lib/librtpkcs11ecp.so"),
            slot_id: 3,
            slot_description: so("slot"),
            label: s("label"),
            serial: s("0011"),
            manufacturer: s("Aktiv"),
            model: s("Rutoken ECP"),
            token_family: v1::TokenFamily::Jacarta.into(),
            hardware_version: so("1.2"),
            firmware_version: so("3.4"),
            total_memory: Some(65536),
            free_memory: Some(1024),
            pin: Some(v1::PinState {
                initialized: true,
                user_pin_initialized: true,
                locked: true,
                count_low: true,
                final_try: true,
                must_change: true,
                so_locked: true,
            }),
            certificates: vec![s("aa")],
        }],
        containers: vec![v1::Container {
            name: so("le-1234"),
            path: s("/var/opt/cprocsp/keys/user/abc.000"),
            media: v1::Media::Removable.into(),
            owner: so("user"),
            complete: true,
            missing_files: vec![s("masks2.key")],
            damaged_files: vec![v1::DamagedFile {
                file: s("primary.key"),
                reason: s("short"),
            }],
            key_algorithm: so("GOST R 34.10-2012 256"),
            key_algorithm_oid: so("1.2.643.7.1.1.1.1"),
            exportable: Some(false),
            certificate_sha1: so("aa"),
            private_key_not_before: ts(-1),
            private_key_not_after: ts(1),
        }],
        certificates: vec![v1::Certificate {
            sha1: s("aa"),
            sha256: s("bb"),
            serial: s("01"),
            subject: s("CN=Иванов"),
            issuer: s("CN=УЦ"),
            subject_cn: so("Иванов"),
            issuer_cn: so("УЦ"),
            organization: so("ООО"),
            email: so("a@b.ru"),
            inn: so("770708389301"),
            inn_le: so("7707083893"),
            ogrn: so("1027700132195"),
            ogrnip: so("304500116000157"),
            snils: so("11223344595"),
            not_before: ts(-300),
            not_after: ts(65),
            private_key_not_before: ts(-299),
            private_key_not_after: ts(64),
            key_usage: vec![s("digitalSignature")],
            extended_key_usage: vec![s("1.3.6.1.5.5.7.3.2")],
            signature_algorithm: s("GOST R 34.11-2012/34.10-2012 256"),
            public_key_algorithm: s("GOST R 34.10-2012 256"),
            qualified: true,
            subject_sign_tool: so("КриптоПро CSP"),
            is_ca: true,
            self_signed: true,
            issuer_present: Some(true),
            sources: vec![v1::CertificateSource {
                kind: v1::SourceKind::CryptoproStore.into(),
                location: s("uMy"),
            }],
            der: vec![0x30, 0x03],
            authority_key_id: so("01"),
            subject_key_id: so("02"),
        }],
        components: Some(v1::Components {
            cryptopro: Some(v1::CryptoPro {
                installed: true,
                version: so("5.0"),
                build: so("5.0.12455"),
                control_key_time_validity: Some(0),
                license: Some(v1::License {
                    serial_prefix: so("5050N"),
                    for_version: so("5.0"),
                    kind: so("Client"),
                    expires: ts(30),
                    permanent: true,
                    demo: true,
                    error: so("bad"),
                }),
            }),
            smart_card_service: v1::ServiceState::NotInstalled.into(),
            ccid_driver: so("ifd-ccid.bundle"),
            middleware: vec![v1::Middleware {
                family: v1::TokenFamily::Esmart.into(),
                name: s("ESMART PKI Client"),
                path: s("/opt/esmart"),
                version: so("4.2.1"),
            }],
            pkcs11_modules: vec![v1::Pkcs11Module {
                path: s("/usr/lib/libjcPKCS11-2.so"),
                family: v1::TokenFamily::Etoken.into(),
            }],
            usb_tokens: vec![v1::UsbToken {
                bus_path: s("1-2"),
                usb_id: s("0a89:0030"),
                model: s("Rutoken ECP"),
                family: v1::TokenFamily::Bifit.into(),
                manufacturer: so("Aktiv"),
                product: so("Rutoken ECP"),
                serial: so("99"),
                visible_to_pcsc: Some(false),
                driver: so("wudfusbcciddriver.inf (Microsoft), WUDFRd"),
                generic_driver: Some(true),
                problem_code: Some(10),
            }],
            smart_card_service_start: v1::StartType::Manual.into(),
            remote_sessions: Some(3),
        }),
        findings: vec![v1::Finding {
            code: s("certificate.expired"),
            severity: v1::Severity::Critical.into(),
            subject: s("aa"),
            message: s("expired"),
            remediation: s("renew"),
        }],
        collectors: vec![v1::CollectorStatus {
            name: s("tokens"),
            status: v1::CollectorOutcome::Partial.into(),
            errors: vec![s("slot 3")],
            duration_ms: 42,
        }],
    };
    assert_eq!(inventory(&full()), expected);
}

#[test]
fn unknown_values_stay_unspecified_on_the_wire() {
    let mut inv = full();
    inv.readers[0].token_family = None;
    inv.components.smart_card_service = None;
    inv.components.cryptopro = None;
    inv.containers[0].private_key_not_after = None;
    let wire = inventory(&inv);
    assert_eq!(wire.readers[0].token_family, 0);
    let components = wire.components.expect("components");
    assert_eq!(components.smart_card_service, 0);
    assert_eq!(components.cryptopro, None);
    assert_eq!(wire.containers[0].private_key_not_after, None);
}

#[test]
fn every_enum_value_maps_to_its_namesake() {
    use crate::inventory::{Media as M, SourceKind as K};
    let families = [
        (TokenFamily::Bifit, "TOKEN_FAMILY_BIFIT"),
        (TokenFamily::Esmart, "TOKEN_FAMILY_ESMART"),
        (TokenFamily::Etoken, "TOKEN_FAMILY_ETOKEN"),
        (TokenFamily::Jacarta, "TOKEN_FAMILY_JACARTA"),
        (TokenFamily::Rutoken, "TOKEN_FAMILY_RUTOKEN"),
    ];
    for (f, name) in families {
        let wire = v1::TokenFamily::try_from(family(Some(f))).expect("known");
        assert_eq!(wire.as_str_name(), name);
    }
    for (m, name) in [
        (M::Hdimage, "MEDIA_HDIMAGE"),
        (M::Removable, "MEDIA_REMOVABLE"),
        (M::Folder, "MEDIA_FOLDER"),
        (M::Registry, "MEDIA_REGISTRY"),
        (M::Token, "MEDIA_TOKEN"),
    ] {
        let wire = v1::Media::try_from(media(m)).expect("known");
        assert_eq!(wire.as_str_name(), name);
    }
    for (k, name) in [
        (K::Container, "SOURCE_KIND_CONTAINER"),
        (K::File, "SOURCE_KIND_FILE"),
        (K::Token, "SOURCE_KIND_TOKEN"),
    ] {
        let src = source(&CertificateSource {
            kind: k,
            location: s("x"),
        });
        let wire = v1::SourceKind::try_from(src.kind).expect("known");
        assert_eq!(wire.as_str_name(), name);
    }
    for (st, name) in [
        (ServiceState::Running, "SERVICE_STATE_RUNNING"),
        (ServiceState::Stopped, "SERVICE_STATE_STOPPED"),
        (ServiceState::Unknown, "SERVICE_STATE_UNKNOWN"),
    ] {
        let wire = v1::ServiceState::try_from(service(Some(st))).expect("known");
        assert_eq!(wire.as_str_name(), name);
    }
}

#[test]
fn text_and_dates_the_server_would_refuse_are_mended_on_the_way_out() {
    use tokenwatch_proto::limits::{EARLIEST_SECONDS, LATEST_SECONDS, MAX_DER, MAX_LIST, MAX_TEXT};
    let mut inv = full();
    let cert = &mut inv.certificates[0];
    cert.der = vec![0x30; MAX_DER + 1];
    let source = cert.sources[0].clone();
    cert.sources = vec![source; MAX_LIST + 1];
    cert.subject = format!("CN=a\0b,O={}", "я".repeat(MAX_TEXT));
    cert.subject_cn = so("a\0b");
    cert.key_usage = vec![s("x\0")];
    cert.not_after = Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap();
    cert.not_before = Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap();
    cert.extended_key_usage = vec![s("1.3.6.1.5.5.7.3.2"); MAX_LIST + 5];
    inv.containers[0].name = Some("\0".repeat(MAX_TEXT));
    let wire = inventory(&inv);
    let cert = &wire.certificates[0];
    assert!(
        cert.subject.starts_with("CN=a\u{fffd}b,O=яя"),
        "{}",
        &cert.subject[..20]
    );
    assert!(cert.subject.len() <= MAX_TEXT && cert.subject.ends_with('…'));
    assert_eq!(cert.subject_cn.as_deref(), Some("a\u{fffd}b"));
    assert_eq!(cert.key_usage, ["x\u{fffd}"]);
    assert_eq!(cert.not_after.unwrap().seconds, LATEST_SECONDS);
    assert_eq!(cert.not_before.unwrap().seconds, EARLIEST_SECONDS);
    assert_eq!(cert.extended_key_usage.len(), MAX_LIST);
    assert_eq!(cert.sources.len(), MAX_LIST);
    assert!(cert.der.is_empty(), "a DER over {MAX_DER} bytes stays home");
    let name = wire.containers[0].name.as_deref().expect("a name");
    assert!(name.len() <= MAX_TEXT && !name.contains('\0'));
    // What needed no mending is as it was.
    assert_eq!(wire.host.unwrap().hostname, "ws-01");
}

#[test]
fn a_leap_second_becomes_the_last_instant_of_its_minute() {
    // 10:00:60 as chrono parses it from text: nanoseconds past 10⁹.
    let leap = chrono::NaiveDate::from_ymd_opt(2025, 2, 1)
        .and_then(|d| d.and_hms_nano_opt(10, 0, 59, 1_500_000_000))
        .expect("a leap second")
        .and_utc();
    let wire = timestamp(leap);
    assert_eq!(wire.nanos, 999_999_999);
    assert_eq!(
        wire.seconds,
        Utc.with_ymd_and_hms(2025, 2, 1, 10, 0, 59)
            .unwrap()
            .timestamp()
    );
}
