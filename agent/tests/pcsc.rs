//! The readers collector against a real pcscd with virtual tokens in its readers.
//!
//! One test: libpcsclite reads the daemon's socket name once per process, so this binary owns
//! one private daemon (see `support/pcscd.rs`).

// Linux only: private pcscd through Linux mount namespaces.
#![cfg(target_os = "linux")]

mod support;

use std::ffi::CString;
use std::time::Duration;

use support::pcscd::{Pcscd, wait_until};
use tokenwatch_agent::ScanConfig;
use tokenwatch_agent::collect::components::ComponentsCollector;
use tokenwatch_agent::collect::readers::Readers;
use tokenwatch_agent::collect::{Collector, Section};
use tokenwatch_agent::findings::Code;
use tokenwatch_agent::inventory::{CollectorOutcome, Reader, ServiceState, TokenFamily};
use tokenwatch_agent::paths::Paths;
use tokenwatch_agent::scan::scan_with;

/// Aktiv Rutoken ECP ("Rutoken ECP" in the historical bytes).
const RUTOKEN_ECP: &[u8] = b"\x3B\x8B\x01Rutoken ECP\xA0";
/// JaCarta (PKI).
const JACARTA: &[u8] = &[
    0x3B, 0xDC, 0x18, 0xFF, 0x81, 0x91, 0xFE, 0x1F, 0xC3, 0x80, 0x73, 0xC8, 0x21, 0x13, 0x66, 0x01,
    0x06, 0x11, 0x59, 0x00, 0x01, 0x28,
];

/// pcscd polls vpcd every 400 ms; a change shows within about half a second.
const SETTLE: Duration = Duration::from_secs(5);

fn collect(config: &ScanConfig) -> Section {
    Readers.collect(config).expect("readers collector runs")
}

/// Collect until `done` holds for the readers, or fail with what was last seen.
fn collect_until(config: &ScanConfig, what: &str, done: impl Fn(&[Reader]) -> bool) -> Section {
    let mut last = Vec::new();
    wait_until(SETTLE, || {
        let section = collect(config);
        if done(&section.readers) {
            return Some(section);
        }
        last = section.readers;
        None
    })
    .unwrap_or_else(|| panic!("{what}: last saw {last:#?}"))
}

#[test]
fn readers_show_inserted_tokens_without_touching_them() {
    let pcscd = Pcscd::start_for_this_process("Aktiv Rutoken ECP");
    let (first, second) = (pcscd.reader_name(0), pcscd.reader_name(1));
    let root = tempfile::tempdir().expect("tempdir");
    let config = ScanConfig::new(Paths::new(root.path()));

    // Two empty readers.
    let section = collect_until(&config, "two readers", |r| r.len() == 2);
    assert_eq!(
        section.components.smart_card_service,
        Some(ServiceState::Running)
    );
    assert!(section.errors.is_empty(), "{:?}", section.errors);
    let empty = |name: &str| Reader {
        name: name.to_owned(),
        ..Reader::default()
    };
    assert_eq!(section.readers, vec![empty(&first), empty(&second)]);

    // A Rutoken ECP and a JaCarta plugged in.
    let rutoken = pcscd.insert(0, RUTOKEN_ECP);
    let jacarta = pcscd.insert(1, JACARTA);
    let section = collect_until(&config, "both cards present", |r| {
        r.iter().all(|reader| reader.card_present)
    });
    let rutoken_reader = Reader {
        name: first.clone(),
        card_present: true,
        atr: Some("3B 8B 01 52 75 74 6F 6B 65 6E 20 45 43 50 A0".to_owned()),
        token_model: Some("Rutoken ECP".to_owned()),
        token_family: Some(TokenFamily::Rutoken),
        in_use_exclusively: false,
    };
    let jacarta_reader = Reader {
        name: second.clone(),
        card_present: true,
        atr: Some("3B DC 18 FF 81 91 FE 1F C3 80 73 C8 21 13 66 01 06 11 59 00 01 28".to_owned()),
        // The ATR wins over a reader name that says Rutoken.
        token_model: Some("JaCarta PKI".to_owned()),
        token_family: Some(TokenFamily::Jacarta),
        in_use_exclusively: false,
    };
    assert_eq!(
        section.readers,
        vec![rutoken_reader.clone(), jacarta_reader.clone()]
    );

    // A signing program holds the JaCarta exclusively: the collector still reads the state, and
    // says so, without connecting.
    let other_program = pcsc::Context::establish(pcsc::Scope::User).expect("context");
    let held = other_program
        .connect(
            &CString::new(second).expect("name"),
            pcsc::ShareMode::Exclusive,
            pcsc::Protocols::ANY,
        )
        .expect("exclusive connection to the virtual JaCarta");
    let section = collect(&config);
    assert!(
        section.readers[1].in_use_exclusively,
        "{:#?}",
        section.readers
    );
    assert!(!section.readers[0].in_use_exclusively);
    drop(held);
    drop(other_program);

    // The whole scan merges the readers, knows the service runs, and derives findings from
    // them: neither vendor's PKCS#11 library is installed under the empty root.
    let inventory = scan_with(
        vec![Box::new(Readers), Box::new(ComponentsCollector)],
        &config,
    );
    assert_eq!(inventory.readers, vec![rutoken_reader, jacarta_reader]);
    assert_eq!(
        inventory.components.smart_card_service,
        Some(ServiceState::Running)
    );
    for status in &inventory.collectors {
        assert_eq!(status.status, CollectorOutcome::Ok, "{status:?}");
    }
    let codes: Vec<(Code, &str)> = inventory
        .findings
        .iter()
        .map(|f| (f.code, f.subject.as_str()))
        .collect();
    assert!(
        !codes.iter().any(|(c, _)| *c == Code::SmartCardServiceDown),
        "{codes:?}"
    );
    assert!(
        codes.contains(&(Code::Pkcs11ModuleMissing, "Rutoken PKCS#11 module")),
        "{codes:?}"
    );
    assert!(
        codes.contains(&(Code::Pkcs11ModuleMissing, "JaCarta PKCS#11 module")),
        "{codes:?}"
    );

    // Nothing the agent did sent a command to either card.
    assert_eq!(rutoken.apdus_received(), 0);
    assert_eq!(jacarta.apdus_received(), 0);

    // The Rutoken pulled out: its reader stays, empty; the JaCarta is still there.
    drop(rutoken);
    let section = collect_until(&config, "Rutoken removed", |r| {
        r.len() == 2 && !r[0].card_present
    });
    assert_eq!(section.readers[0], empty(&first));
    assert_eq!(
        section.readers[1].token_model.as_deref(),
        Some("JaCarta PKI")
    );
    drop(jacarta);
    collect_until(&config, "JaCarta removed", |r| {
        r.iter().all(|reader| !reader.card_present)
    });
}
