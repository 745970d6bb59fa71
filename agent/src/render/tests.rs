use super::*;
use crate::findings::{Code, Finding};
use crate::inventory::{CollectorStatus, Reader, TokenFamily};
use crate::sample;

fn rendered(inventory: &Inventory, colour: bool) -> String {
    let mut out = Vec::new();
    report(&mut out, inventory, colour).expect("renders");
    String::from_utf8(out).expect("utf-8")
}

fn busy_inventory() -> Inventory {
    let mut inventory = sample::inventory();
    inventory.readers.push(Reader {
        name: "Aktiv Rutoken ECP 00 00".to_owned(),
        card_present: true,
        atr: Some("3B 8B 01 52 75 74 6F 6B 65 6E 20 44 53 20 C1".to_owned()),
        token_model: Some("Rutoken ECP".to_owned()),
        token_family: Some(TokenFamily::Rutoken),
        in_use_exclusively: false,
    });
    inventory.certificates.push(sample::certificate("aa", 10));
    inventory.containers.push(sample::container(
        "очень-длинное-имя-контейнера-которое-не-помещается-в-строку-отчёта",
        "/var/opt/cprocsp/keys/user/verylongf.000",
    ));
    inventory.findings.push(Finding::new(
        Code::TokenPinMustChange,
        "token",
        "Change it.",
    ));
    inventory.findings.push(Finding::new(
        Code::CertificateExpired,
        "certificate \"Иванов Иван Иванович\" (aa)",
        "The certificate expired on 2026-11-01 00:00 UTC.",
    ));
    inventory.collectors.push(CollectorStatus {
        name: "tokens".to_owned(),
        status: CollectorOutcome::Failed,
        errors: vec!["module /usr/lib/librtpkcs11ecp.so: C_Initialize failed: CKR_GENERAL_ERROR with a long explanation".to_owned()],
        duration_ms: 3,
    });
    inventory
}

#[test]
fn every_line_fits_80_columns() {
    let text = rendered(&busy_inventory(), false);
    for line in text.lines() {
        assert!(
            line.chars().count() <= 80,
            "too wide ({}): {line}",
            line.chars().count()
        );
    }
}

#[test]
fn plain_output_has_no_escape_codes_and_colour_output_does() {
    let inventory = busy_inventory();
    assert!(!rendered(&inventory, false).contains('\u{1b}'));
    assert!(rendered(&inventory, true).contains('\u{1b}'));
}

#[test]
fn report_names_what_it_found() {
    let text = rendered(&busy_inventory(), false);
    for expected in [
        "tokenwatch scan of ws-01",
        "FINDINGS: 1 critical, 0 warning, 1 info",
        "certificate.expired",
        "→ The certificate can no longer be used",
        "Aktiv Rutoken ECP 00 00",
        "Rutoken ECP",
        "Иванов Иван Иванович",
        "INN 770708389301",
        "очень-длинное-имя",
        "FAILED",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn a_clean_host_says_so() {
    let mut inventory = sample::inventory();
    let text = rendered(&inventory, false);
    assert!(
        text.contains("FINDINGS: none, but no key container, token or certificate"),
        "{text}"
    );
    inventory.certificates.push(sample::certificate("aa", 100));
    let text = rendered(&inventory, false);
    assert!(text.contains("FINDINGS: none\n"), "{text}");
}

#[test]
fn wrap_keeps_words_and_width() {
    assert_eq!(wrap("a bb ccc dddd", 6), vec!["a bb", "ccc", "dddd"]);
    assert_eq!(wrap("abcdefgh", 3), vec!["abc", "def", "gh"]);
    assert!(wrap("", 5).is_empty());
}

#[test]
fn fit_pads_and_cuts_by_characters() {
    assert_eq!(fit("ключ", 6), "ключ  ");
    assert_eq!(fit("контейнер", 5), "конт…");
}
