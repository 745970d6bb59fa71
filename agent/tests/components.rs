//! The components collector against a prepared root: a sysfs with two tokens, a CryptoPro tree
//! whose `csptest` and `cpconfig` are scripts printing what the real (proprietary) programs
//! print, vendor module files and driver folders. The scripts run through the collector's real
//! process handling: arguments, timeouts and output decoding.
// Unix only: the prepared trees hold Unix permissions and symbolic links.
#![cfg(unix)]
// Linux only: sysfs, executable scripts and /opt layout.
#![cfg(target_os = "linux")]

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use tempfile::TempDir;
use tokenwatch_agent::ScanConfig;
use tokenwatch_agent::collect::components::ComponentsCollector;
use tokenwatch_agent::collect::{Collector, Section};
use tokenwatch_agent::findings::Code;
use tokenwatch_agent::inventory::{
    CollectorOutcome, License, Middleware, Pkcs11Module, TokenFamily, UsbToken,
};
use tokenwatch_agent::paths::Paths;
use tokenwatch_agent::scan::scan_with;

const BANNER: &str = "CSP (Type:80) v5.0.10010 KC1 Release Ver:5.0.12455 OS:Linux CPU:AMD64 FastCode:READY:AVX.\nAcquireContext: OK. HCRYPTPROV: 6\nGetProvParam(PP_NAME): Crypto-Pro GOST R 34.10-2012 KC1 CSP\n[ErrorCode: 0x00000000]\n";
const SERIAL: &str = "5050A7K4UHCXQGG0037EK8R3Q";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
        .single()
        .expect("valid time")
}

/// A root with nothing in it yet.
fn root() -> (TempDir, Paths) {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = Paths::new(dir.path());
    (dir, paths)
}

fn config(paths: &Paths) -> ScanConfig {
    let mut config = ScanConfig::new(paths.clone());
    config.now = now();
    config
}

fn write(path: &Path, contents: impl AsRef<[u8]>) {
    fs::create_dir_all(path.parent().expect("parent")).expect("folder");
    fs::write(path, contents).expect("write file");
}

/// An executable shell script at `path`.
fn script(path: &Path, body: &str) {
    write(path, format!("#!/bin/sh\n{body}\n"));
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// A USB device as sysfs shows it: the device folder under `devices/`, linked from
/// `bus/usb/devices/<name>`, with an interface entry next to it.
fn usb_device(paths: &Paths, name: &str, ids: (&str, &str), strings: &[(&str, &str)]) {
    let device = paths.resolve(&format!("/sys/devices/pci0000:00/0000:00:14.0/usb1/{name}"));
    write(&device.join("idVendor"), format!("{}\n", ids.0));
    write(&device.join("idProduct"), format!("{}\n", ids.1));
    for (file, value) in strings {
        write(&device.join(file), format!("{value}\n"));
    }
    let interface = device.join(format!("{name}:1.0"));
    fs::create_dir_all(&interface).expect("interface");
    let bus = paths.resolve("/sys/bus/usb/devices");
    fs::create_dir_all(&bus).expect("bus folder");
    symlink(&device, bus.join(name)).expect("device link");
    symlink(&interface, bus.join(format!("{name}:1.0"))).expect("interface link");
}

fn plug_in_tokens(paths: &Paths) {
    usb_device(
        paths,
        "1-2",
        ("0a89", "0030"),
        &[("manufacturer", "Aktiv"), ("product", "Rutoken ECP")],
    );
    usb_device(
        paths,
        "1-3",
        ("24dc", "0101"),
        &[
            ("manufacturer", "Aladdin R.D."),
            ("product", "JaCarta"),
            ("serial", "3B0C0015"),
        ],
    );
    // The root hub: on the bus, not a token.
    usb_device(
        paths,
        "usb1",
        ("1d6b", "0002"),
        &[("product", "xHCI Host Controller")],
    );
}

/// CryptoPro CSP 5.0 with `release`, `csptest` and a `cpconfig` printing `licence`.
fn install_cryptopro(paths: &Paths, release: &str, license_script: &str) {
    write(&paths.cprocsp_etc().join("release"), release);
    write(&paths.cprocsp_etc().join("config64.ini"), "[Parameters]\n");
    script(
        &paths.cprocsp_opt().join("bin/amd64/csptest"),
        &format!(
            "[ \"$*\" = \"-enum -info\" ] || {{ echo \"unexpected arguments: $*\"; exit 2; }}\ncat <<'EOF'\n{BANNER}EOF"
        ),
    );
    script(
        &paths.cprocsp_opt().join("sbin/amd64/cpconfig"),
        license_script,
    );
}

/// A `cpconfig` body that prints `text` for `-license -view` only.
fn prints(text: &str) -> String {
    format!(
        "[ \"$*\" = \"-license -view\" ] || {{ echo \"unexpected arguments: $*\"; exit 2; }}\ncat <<'EOF'\n{text}EOF"
    )
}

fn collect(config: &ScanConfig) -> Section {
    ComponentsCollector
        .collect(config)
        .expect("components collector runs")
}

#[test]
fn a_prepared_workstation_is_inventoried() {
    let (_dir, paths) = root();
    plug_in_tokens(&paths);
    install_cryptopro(
        &paths,
        "5.0.12000\n",
        &prints(&format!(
            "License validity:\n{SERIAL}\nExpires: 18.11.2027\nLicense type: Client.\n[ErrorCode: 0x00000000]\n"
        )),
    );
    write(
        &paths.resolve("/opt/aktivco/rutokenecp/amd64/librtpkcs11ecp.so"),
        b"\x7fELF",
    );
    write(&paths.resolve("/usr/lib/libjcPKCS11-2.so"), b"\x7fELF");
    write(
        &paths.resolve("/usr/lib/pcsc/drivers/ifd-ccid.bundle/Contents/Info.plist"),
        "<plist/>",
    );

    let section = collect(&config(&paths));
    assert!(section.errors.is_empty(), "{:?}", section.errors);
    let components = section.components;

    assert_eq!(
        components.usb_tokens,
        vec![
            UsbToken {
                bus_path: "1-2".to_owned(),
                usb_id: "0a89:0030".to_owned(),
                model: "Rutoken ECP".to_owned(),
                family: Some(TokenFamily::Rutoken),
                manufacturer: Some("Aktiv".to_owned()),
                product: Some("Rutoken ECP".to_owned()),
                serial: None,
                visible_to_pcsc: None,
                ..UsbToken::default()
            },
            UsbToken {
                bus_path: "1-3".to_owned(),
                usb_id: "24dc:0101".to_owned(),
                model: "JaCarta".to_owned(),
                family: Some(TokenFamily::Jacarta),
                manufacturer: Some("Aladdin R.D.".to_owned()),
                product: Some("JaCarta".to_owned()),
                serial: Some("3B0C0015".to_owned()),
                visible_to_pcsc: None,
                ..UsbToken::default()
            },
        ]
    );

    let csp = components.cryptopro.expect("CryptoPro found");
    assert!(csp.installed);
    // The running CSP's banner wins over the release file.
    assert_eq!(csp.version.as_deref(), Some("5.0"));
    assert_eq!(csp.build.as_deref(), Some("5.0.12455"));
    assert_eq!(
        csp.license,
        Some(License {
            serial_prefix: Some("5050A".to_owned()),
            for_version: Some("5.0".to_owned()),
            kind: Some("Client".to_owned()),
            expires: Some(Utc.with_ymd_and_hms(2027, 11, 18, 0, 0, 0).unwrap()),
            permanent: false,
            demo: false,
            error: None,
        })
    );

    assert_eq!(
        components.ccid_driver,
        Some(
            paths
                .resolve("/usr/lib/pcsc/drivers/ifd-ccid.bundle")
                .display()
                .to_string()
        )
    );
    assert_eq!(
        components.pkcs11_modules,
        vec![
            Pkcs11Module {
                path: paths
                    .resolve("/usr/lib/libjcPKCS11-2.so")
                    .display()
                    .to_string(),
                family: Some(TokenFamily::Jacarta),
            },
            Pkcs11Module {
                path: paths
                    .resolve("/opt/aktivco/rutokenecp/amd64/librtpkcs11ecp.so")
                    .display()
                    .to_string(),
                family: Some(TokenFamily::Rutoken),
            },
        ]
    );
    assert_eq!(
        components.middleware,
        vec![Middleware {
            family: TokenFamily::Rutoken,
            name: "Rutoken drivers (Aktiv)".to_owned(),
            path: paths.resolve("/opt/aktivco").display().to_string(),
            version: None,
        }]
    );
    // The readers collector owns the service state.
    assert_eq!(components.smart_card_service, None);
}

#[test]
fn release_file_alone_gives_the_version() {
    let (_dir, paths) = root();
    write(&paths.cprocsp_etc().join("release"), "5.0.12455\n");
    let section = collect(&config(&paths));
    // No programs installed: nothing run, nothing to complain about.
    assert!(section.errors.is_empty(), "{:?}", section.errors);
    let csp = section.components.cryptopro.expect("CryptoPro found");
    assert_eq!(csp.version.as_deref(), Some("5.0"));
    assert_eq!(csp.build.as_deref(), Some("5.0.12455"));
    assert_eq!(csp.license, None);
}

#[test]
fn an_empty_root_has_nothing_and_no_errors() {
    let (_dir, paths) = root();
    let section = collect(&config(&paths));
    assert!(section.errors.is_empty(), "{:?}", section.errors);
    assert_eq!(section.components.cryptopro, None);
    assert!(section.components.usb_tokens.is_empty());
    assert!(section.components.pkcs11_modules.is_empty());
    assert!(section.components.middleware.is_empty());
    assert_eq!(section.components.ccid_driver, None);
}

#[test]
fn a_hanging_cpconfig_is_stopped_and_the_rest_still_arrives() {
    let (_dir, paths) = root();
    plug_in_tokens(&paths);
    // Not `exec sleep`: the shell's child keeps the output pipe open after the shell is killed,
    // and the collector must not wait for it. Short enough that the orphan soon goes too.
    install_cryptopro(&paths, "5.0.12455\n", "echo License validity:\nsleep 8");
    let mut config = config(&paths);
    // Each program gets a third of the collector's deadline: 1 s here.
    config.collector_timeout = Duration::from_secs(3);

    let started = Instant::now();
    let inventory = scan_with(vec![Box::new(ComponentsCollector)], &config);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    let status = &inventory.collectors[0];
    assert_eq!(status.status, CollectorOutcome::Partial, "{status:?}");
    assert_eq!(status.errors.len(), 1, "{:?}", status.errors);
    assert!(
        status.errors[0].starts_with("cpconfig -license -view: ")
            && status.errors[0].ends_with("did not finish within 1 s and was stopped"),
        "{}",
        status.errors[0]
    );
    let csp = inventory.components.cryptopro.expect("CryptoPro found");
    assert_eq!(csp.build.as_deref(), Some("5.0.12455"));
    assert_eq!(csp.license, None);
    assert_eq!(inventory.components.usb_tokens.len(), 2);
}

#[test]
fn cp1251_output_is_decoded() {
    let (_dir, paths) = root();
    let text = format!(
        "Серийный номер: {SERIAL}\nТип лицензии: Клиентская, Пробная\n[ErrorCode: 0x00000000]\n"
    );
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1251.encode(&text);
    assert!(!unmappable);
    assert!(std::str::from_utf8(&bytes).is_err(), "really CP1251");
    let output = paths.cprocsp_opt().join("sbin/amd64/license.txt");
    write(&output, &bytes);
    install_cryptopro(&paths, "", &format!("cat '{}'", output.display()));

    let section = collect(&config(&paths));
    assert!(section.errors.is_empty(), "{:?}", section.errors);
    let license = section
        .components
        .cryptopro
        .and_then(|c| c.license)
        .expect("licence read");
    assert_eq!(license.kind.as_deref(), Some("Клиентская"));
    assert_eq!(license.serial_prefix.as_deref(), Some("5050A"));
    assert!(license.demo);
}

#[test]
fn licence_problems_become_findings() {
    let (_dir, paths) = root();
    install_cryptopro(
        &paths,
        "5.0.12455\n",
        &prints("License validity:\nError code 0x8009001d\n[ErrorCode: 0x8009001d]\n"),
    );
    let inventory = scan_with(vec![Box::new(ComponentsCollector)], &config(&paths));
    let license = inventory
        .components
        .cryptopro
        .and_then(|c| c.license)
        .expect("licence read");
    assert_eq!(license.error.as_deref(), Some("Error code 0x8009001d"));
    assert!(
        inventory
            .findings
            .iter()
            .any(|f| f.code == Code::CspLicenseInvalid),
        "{:#?}",
        inventory.findings
    );
}

#[test]
fn garbage_from_a_program_is_an_error_not_a_licence() {
    let (_dir, paths) = root();
    install_cryptopro(
        &paths,
        "5.0.12455\n",
        "echo 'Segmentation fault' >&2; exit 139",
    );
    let section = collect(&config(&paths));
    assert_eq!(section.errors.len(), 1, "{:?}", section.errors);
    assert!(
        section.errors[0].starts_with("cpconfig -license -view: unrecognised output")
            && section.errors[0].ends_with("Segmentation fault"),
        "{}",
        section.errors[0]
    );
    assert_eq!(section.components.cryptopro.and_then(|c| c.license), None);
}

#[test]
fn configured_modules_are_listed_when_they_exist() {
    let (dir, paths) = root();
    let softhsm = dir.path().join("elsewhere/libsofthsm2.so");
    write(&softhsm, b"\x7fELF");
    let missing = dir.path().join("elsewhere/libgone.so");
    let mut config = config(&paths);
    config.pkcs11_modules = vec![softhsm.clone(), missing];

    let section = collect(&config);
    assert_eq!(
        section.components.pkcs11_modules,
        vec![Pkcs11Module {
            path: softhsm.display().to_string(),
            family: None,
        }]
    );
    assert!(
        section.errors.is_empty(),
        "the tokens collector reports it: {:?}",
        section.errors
    );
}
