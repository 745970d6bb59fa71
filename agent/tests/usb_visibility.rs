//! A token on the USB bus that no PC/SC reader shows is a finding; one a reader shows is not.
//!
//! Real pcscd (private, see `support/pcscd.rs`) with JaCarta-named vpcd readers, and a prepared
//! sysfs with a Rutoken ECP and a JaCarta LT plugged in. One test: libpcsclite reads the
//! daemon's socket name once per process.

// Linux only: private pcscd through Linux mount namespaces, and sysfs.
#![cfg(target_os = "linux")]

mod support;

use std::fs;
use std::os::unix::fs::symlink;
use std::time::Duration;

use support::pcscd::{Pcscd, wait_until};
use tokenwatch_agent::ScanConfig;
use tokenwatch_agent::collect::Collector;
use tokenwatch_agent::collect::components::ComponentsCollector;
use tokenwatch_agent::collect::readers::Readers;
use tokenwatch_agent::findings::Code;
use tokenwatch_agent::inventory::{ServiceState, TokenFamily};
use tokenwatch_agent::paths::Paths;
use tokenwatch_agent::scan::scan_with;

/// JaCarta (PKI) ATR, which JaCarta LT is also reported to answer with.
const JACARTA: &[u8] = &[
    0x3B, 0xDC, 0x18, 0xFF, 0x81, 0x91, 0xFE, 0x1F, 0xC3, 0x80, 0x73, 0xC8, 0x21, 0x13, 0x66, 0x01,
    0x06, 0x11, 0x59, 0x00, 0x01, 0x28,
];

/// A USB device as sysfs shows it, linked from `bus/usb/devices/<name>`.
fn usb_device(paths: &Paths, name: &str, vendor: &str, product: &str) {
    let device = paths.resolve(&format!("/sys/devices/pci0000:00/0000:00:14.0/usb1/{name}"));
    fs::create_dir_all(&device).expect("device folder");
    fs::write(device.join("idVendor"), format!("{vendor}\n")).expect("idVendor");
    fs::write(device.join("idProduct"), format!("{product}\n")).expect("idProduct");
    let bus = paths.resolve("/sys/bus/usb/devices");
    fs::create_dir_all(&bus).expect("bus folder");
    symlink(&device, bus.join(name)).expect("device link");
}

#[test]
fn usb_token_without_a_reader_is_reported() {
    let pcscd = Pcscd::start_for_this_process("Aladdin R.D. JaCarta LT");
    let _jacarta = pcscd.insert(0, JACARTA);

    let root = tempfile::tempdir().expect("tempdir");
    let paths = Paths::new(root.path());
    usb_device(&paths, "1-2", "0a89", "0030");
    usb_device(&paths, "1-3", "24dc", "0102");
    let config = ScanConfig::new(paths);

    // Wait for the card so the scan below sees a settled reader.
    wait_until(Duration::from_secs(5), || {
        let section = Readers.collect(&config).ok()?;
        section.readers.first()?.card_present.then_some(())
    })
    .unwrap_or_else(|| panic!("JaCarta not seen: {}", pcscd.log()));

    let inventory = scan_with(
        vec![Box::new(Readers), Box::new(ComponentsCollector)],
        &config,
    );
    assert_eq!(
        inventory.components.smart_card_service,
        Some(ServiceState::Running)
    );
    // The reader name separates JaCarta models that share the ATR.
    let reader = &inventory.readers[0];
    assert_eq!(reader.name, pcscd.reader_name(0));
    assert_eq!(reader.token_model.as_deref(), Some("JaCarta LT"));
    assert_eq!(reader.token_family, Some(TokenFamily::Jacarta));

    let usb: Vec<(&str, Option<bool>)> = inventory
        .components
        .usb_tokens
        .iter()
        .map(|u| (u.usb_id.as_str(), u.visible_to_pcsc))
        .collect();
    assert_eq!(
        usb,
        vec![("0a89:0030", Some(false)), ("24dc:0102", Some(true))]
    );
    let not_visible: Vec<&str> = inventory
        .findings
        .iter()
        .filter(|f| f.code == Code::UsbTokenNotVisible)
        .map(|f| f.subject.as_str())
        .collect();
    assert_eq!(not_visible, vec!["USB device 0a89:0030 Rutoken ECP (1-2)"]);
}
