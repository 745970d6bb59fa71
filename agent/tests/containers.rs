//! The containers collector on built container trees and on real CryptoPro containers.
// Unix only: OpenSSL's gost engine issues the certificates (the Windows tests under Wine cannot
// run it) and the trees hold symbolic links.
#![cfg(unix)]

mod support;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use sha1::Digest;
use support::containers::{
    self as build, ContainerSpec, EXCHANGE_PERIOD, HeaderSpec, KeyAlgorithm, KeyPeriod,
    NameEncoding, SIGNATURE_PERIOD,
};
use support::gost::{self, Spec};
use tokenwatch_agent::collect::containers::{Containers, parse_header, read_container};
use tokenwatch_agent::collect::{Collector, Section};
use tokenwatch_agent::findings::Code;
use tokenwatch_agent::inventory::{CollectorOutcome, Container, Media, SourceKind};
use tokenwatch_agent::paths::Paths;
use tokenwatch_agent::scan::scan_with;
use tokenwatch_agent::{Inventory, ScanConfig};

const IVANOV_NAME: &str = "Иванов И.И. ключ 2026";
const SHARED_NAME: &str = "Общий ключ";

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0)
        .single()
        .expect("valid date")
}

fn period(oid: &'static str, not_before: Option<&str>, not_after: Option<&str>) -> KeyPeriod {
    KeyPeriod {
        oid,
        not_before: not_before.map(str::to_owned),
        not_after: not_after.map(str::to_owned),
    }
}

/// A host tree under a temporary root, as the agent would see it.
struct Host {
    _dir: tempfile::TempDir,
    root: PathBuf,
    config: ScanConfig,
    ivanov_der: Vec<u8>,
}

/// HDIMAGE for alice and bob, a flash drive mounted for alice, a `/mnt` medium, and two
/// configured keys folders, one holding containers and one a container itself.
fn host() -> Host {
    assert!(
        gost::available(),
        "openssl with the gost engine is required (libengine-gost-openssl)"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("root");
    let certs = dir.path().join("certs");
    std::fs::create_dir_all(&certs).expect("certs dir");
    let ca = gost::issue(
        &certs,
        &Spec::ca("Тестовый УЦ", "20250101000000Z", "20350101000000Z"),
        None,
    );
    let ivanov = gost::issue(
        &certs,
        &Spec::person("Иванов Иван Иванович", "20260101000000Z", "20270101000000Z"),
        Some(&ca),
    );

    let keys = root.join("var/opt/cprocsp/keys");
    // Alice's signing key: Cyrillic CP1251 name, certificate inside, exchange key period
    // ending nine days after the scan, signature period later (the earlier one counts).
    let mut header = HeaderSpec::new(KeyAlgorithm::Gost2012_256, true);
    header.certificate = Some(ivanov.der.clone());
    header.periods = vec![
        period(
            EXCHANGE_PERIOD,
            Some("20260101000000Z"),
            Some("20260610000000Z"),
        ),
        period(SIGNATURE_PERIOD, None, Some("20261231000000Z")),
    ];
    let mut spec = ContainerSpec::new(IVANOV_NAME, header);
    spec.encoding = NameEncoding::Cp1251;
    build::write(&keys.join("alice/ivanov.000"), &spec);

    // Alice's shared key lacks masks2.key; the first pair still makes it usable.
    let mut spec = ContainerSpec::new(
        SHARED_NAME,
        HeaderSpec::new(KeyAlgorithm::Gost2012_256, false),
    );
    spec.omit = vec!["masks2.key"];
    build::write(&keys.join("alice/shared.000"), &spec);

    // Bob's copy of the same name (CP1251 this time), 512-bit, its key period over.
    let mut header = HeaderSpec::new(KeyAlgorithm::Gost2012_512, false);
    header.periods = vec![period(SIGNATURE_PERIOD, None, Some("20260101000000Z"))];
    let mut spec = ContainerSpec::new(SHARED_NAME, header);
    spec.encoding = NameEncoding::Cp1251;
    build::write(&keys.join("bob/shared.000"), &spec);

    // A flash drive whose header.key was cut short while copying.
    let flash = root.join("media/alice/FLASH");
    let mut spec = ContainerSpec::new(
        "flash-key",
        HeaderSpec::new(KeyAlgorithm::Gost2012_256, true),
    );
    spec.truncate = vec![("header.key", 20)];
    build::write(&flash.join("flash.000"), &spec);
    std::fs::create_dir_all(flash.join("Documents")).expect("folder");
    std::fs::write(flash.join("readme.txt"), "not a container").expect("file");

    // A medium mounted by hand under /mnt.
    build::write(
        &root.join("mnt/USB/usb.000"),
        &ContainerSpec::new("usb-key", HeaderSpec::new(KeyAlgorithm::Gost2001, true)),
    );

    // Configured folder with a container whose masks.key is garbage and one that is a
    // symbolic link to itself.
    let extra = root.join("keys");
    let mut spec = ContainerSpec::new("extra", HeaderSpec::new(KeyAlgorithm::Gost2001, false));
    spec.second_pair = false;
    spec.garble = vec!["masks.key"];
    build::write(&extra.join("extra.000"), &spec);
    symlink("loop.000", extra.join("loop.000")).expect("symlink");

    // Configured container folder itself, not named like one, with no key pair at all.
    let mut spec = ContainerSpec::new("backup", HeaderSpec::new(KeyAlgorithm::Gost2012_256, true));
    spec.omit = vec!["primary.key", "masks.key", "primary2.key", "masks2.key"];
    build::write(&root.join("backup/mykey"), &spec);

    // Configured folder that cannot be listed (even by root): a link to itself.
    symlink("looping", root.join("looping")).expect("symlink");

    let mut config = ScanConfig::new(Paths::new(&root));
    config.keys_dirs = vec![extra, root.join("backup/mykey"), root.join("looping")];
    config.now = at(2026, 6, 1);
    Host {
        _dir: dir,
        root,
        config,
        ivanov_der: ivanov.der,
    }
}

#[track_caller]
fn container<'a>(containers: &'a [Container], root: &Path, relative: &str) -> &'a Container {
    let path = root.join(relative).display().to_string();
    containers
        .iter()
        .find(|c| c.path == path)
        .unwrap_or_else(|| panic!("no container at {path}: {containers:#?}"))
}

fn collect(host: &Host) -> Section {
    Containers.collect(&host.config).expect("collector runs")
}

#[test]
fn every_location_is_found_with_its_media_and_owner() {
    let host = host();
    let section = collect(&host);
    let c = &section.containers;
    assert_eq!(c.len(), 8, "{c:#?}");
    let expect = [
        (
            "var/opt/cprocsp/keys/alice/ivanov.000",
            Media::Hdimage,
            Some("alice"),
        ),
        (
            "var/opt/cprocsp/keys/alice/shared.000",
            Media::Hdimage,
            Some("alice"),
        ),
        (
            "var/opt/cprocsp/keys/bob/shared.000",
            Media::Hdimage,
            Some("bob"),
        ),
        (
            "media/alice/FLASH/flash.000",
            Media::Removable,
            Some("alice"),
        ),
        ("mnt/USB/usb.000", Media::Removable, None),
        ("keys/extra.000", Media::Folder, None),
        ("keys/loop.000", Media::Folder, None),
        ("backup/mykey", Media::Folder, None),
    ];
    for (relative, media, owner) in expect {
        let found = container(c, &host.root, relative);
        assert_eq!(found.media, media, "{relative}");
        assert_eq!(found.owner.as_deref(), owner, "{relative}");
    }
}

#[test]
fn container_contents_are_read_without_a_password() {
    let host = host();
    let section = collect(&host);
    let c = &section.containers;

    let ivanov = container(c, &host.root, "var/opt/cprocsp/keys/alice/ivanov.000");
    assert_eq!(ivanov.name.as_deref(), Some(IVANOV_NAME));
    assert!(ivanov.complete);
    assert!(ivanov.missing_files.is_empty());
    assert!(
        ivanov.damaged_files.is_empty(),
        "{:?}",
        ivanov.damaged_files
    );
    assert_eq!(
        ivanov.key_algorithm.as_deref(),
        Some("GOST R 34.10-2012 256")
    );
    assert_eq!(
        ivanov.key_algorithm_oid.as_deref(),
        Some("1.2.643.7.1.1.6.1")
    );
    assert_eq!(ivanov.exportable, Some(true));
    let sha1 = hex::encode(sha1::Sha1::digest(&host.ivanov_der));
    assert_eq!(ivanov.certificate_sha1.as_deref(), Some(sha1.as_str()));
    assert_eq!(ivanov.private_key_not_before, Some(at(2026, 1, 1)));
    assert_eq!(ivanov.private_key_not_after, Some(at(2026, 6, 10)));

    let shared = container(c, &host.root, "var/opt/cprocsp/keys/alice/shared.000");
    assert_eq!(shared.name.as_deref(), Some(SHARED_NAME));
    assert!(shared.complete, "the first pair is whole");
    assert_eq!(shared.missing_files, vec!["masks2.key"]);
    assert_eq!(shared.exportable, Some(false));
    assert_eq!(shared.certificate_sha1, None);
    assert_eq!(shared.private_key_not_after, None);

    let bob = container(c, &host.root, "var/opt/cprocsp/keys/bob/shared.000");
    assert_eq!(
        bob.name.as_deref(),
        Some(SHARED_NAME),
        "CP1251 decodes alike"
    );
    assert!(bob.complete);
    assert_eq!(bob.key_algorithm.as_deref(), Some("GOST R 34.10-2012 512"));
    assert_eq!(bob.key_algorithm_oid.as_deref(), Some("1.2.643.7.1.1.6.2"));
    assert_eq!(bob.exportable, Some(false));
    assert_eq!(bob.private_key_not_after, Some(at(2026, 1, 1)));

    let flash = container(c, &host.root, "media/alice/FLASH/flash.000");
    assert_eq!(flash.name.as_deref(), Some("flash-key"));
    assert!(!flash.complete);
    assert!(flash.missing_files.is_empty());
    assert_eq!(flash.damaged_files.len(), 1);
    assert_eq!(flash.damaged_files[0].file, "header.key");
    assert!(
        flash.damaged_files[0].reason.contains("DER"),
        "{}",
        flash.damaged_files[0].reason
    );
    assert_eq!(flash.key_algorithm, None);
    assert_eq!(flash.exportable, None);

    let usb = container(c, &host.root, "mnt/USB/usb.000");
    assert_eq!(usb.key_algorithm.as_deref(), Some("GOST R 34.10-2001"));
    assert_eq!(usb.key_algorithm_oid.as_deref(), Some("1.2.643.2.2.98"));
    assert!(usb.complete);

    let extra = container(c, &host.root, "keys/extra.000");
    assert!(!extra.complete);
    assert!(extra.missing_files.is_empty(), "{:?}", extra.missing_files);
    let files: Vec<&str> = extra
        .damaged_files
        .iter()
        .map(|d| d.file.as_str())
        .collect();
    assert_eq!(files, vec!["masks.key"]);

    let backup = container(c, &host.root, "backup/mykey");
    assert_eq!(backup.name.as_deref(), Some("backup"));
    assert!(!backup.complete);
    assert_eq!(backup.missing_files, vec!["primary.key", "masks.key"]);

    let looped = container(c, &host.root, "keys/loop.000");
    assert!(!looped.complete);
    assert_eq!(looped.name, None);
    assert_eq!(looped.damaged_files.len(), 1);
    assert_eq!(looped.damaged_files[0].file, "loop.000");
    assert!(looped.damaged_files[0].reason.contains("cannot list"));
}

#[test]
fn embedded_certificate_is_reported_with_the_container_as_source() {
    let host = host();
    let section = collect(&host);
    assert_eq!(section.certificates.len(), 1);
    let cert = &section.certificates[0];
    assert_eq!(cert.sha1, hex::encode(sha1::Sha1::digest(&host.ivanov_der)));
    assert!(
        cert.subject.contains("Иванов Иван Иванович"),
        "{}",
        cert.subject
    );
    assert_eq!(cert.sources.len(), 1);
    assert_eq!(cert.sources[0].kind, SourceKind::Container);
    assert_eq!(
        cert.sources[0].location,
        host.root
            .join("var/opt/cprocsp/keys/alice/ivanov.000")
            .display()
            .to_string()
    );
    assert_eq!(cert.private_key_not_before, Some(at(2026, 1, 1)));
    assert_eq!(cert.private_key_not_after, Some(at(2026, 6, 10)));
}

#[test]
fn unlistable_folders_are_errors_and_the_collector_goes_on() {
    let host = host();
    let section = collect(&host);
    let looping = host.root.join("looping").display().to_string();
    let loop_container = host.root.join("keys/loop.000").display().to_string();
    assert_eq!(section.errors.len(), 2, "{:?}", section.errors);
    assert!(section.errors.iter().any(|e| e.contains(&looping)));
    assert!(section.errors.iter().any(|e| e.contains(&loop_container)));
    let unreadable: Vec<_> = section
        .findings
        .iter()
        .filter(|f| f.code == Code::FileUnreadable)
        .collect();
    assert_eq!(unreadable.len(), 1, "{:?}", section.findings);
    assert!(unreadable[0].subject.contains(&looping));
    assert!(
        section
            .findings
            .iter()
            .all(|f| f.code == Code::FileUnreadable),
        "container findings are derived centrally"
    );
    assert!(!section.skipped);
}

#[test]
fn permission_denied_container_is_damaged_not_fatal() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    // Other users must be able to reach the folder, only not into the container.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = dir.path().join("locked.000");
    build::write(
        &path,
        &ContainerSpec::new("locked", HeaderSpec::new(KeyAlgorithm::Gost2012_256, true)),
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).expect("chmod");

    if std::fs::read_dir(&path).is_err() {
        // An ordinary user: read it here.
        let read = read_container(&path, Media::Folder, None);
        assert!(!read.container.complete);
        assert!(
            read.container.damaged_files[0]
                .reason
                .contains("ermission denied")
        );
        assert_eq!(read.errors.len(), 1);
        return;
    }

    // Root (as in CI) lists any folder: run the real agent as an unprivileged user instead,
    // which is how it runs on a workstation.
    let output = std::process::Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_tokenwatch-agent"))
        .args([
            "scan",
            "--json",
            "--skip",
            "readers",
            "--skip",
            "tokens",
            "--keys-dir",
        ])
        .arg(dir.path())
        .args(["--root"])
        .arg(dir.path().join("empty-root"))
        .output()
        .expect("setpriv runs (util-linux)");
    assert!(
        output.status.success(),
        "scan failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let inventory: Inventory = serde_json::from_slice(&output.stdout).expect("JSON document");
    let locked = container(&inventory.containers, dir.path(), "locked.000");
    assert!(!locked.complete);
    assert!(
        locked
            .damaged_files
            .iter()
            .any(|d| d.reason.contains("ermission denied")),
        "{:?}",
        locked.damaged_files
    );
    let status = inventory
        .collectors
        .iter()
        .find(|c| c.name == "containers")
        .expect("reported");
    assert_eq!(status.status, CollectorOutcome::Partial);
}

#[test]
fn scan_derives_container_findings() {
    let host = host();
    let inventory: Inventory = scan_with(vec![Box::new(Containers)], &host.config);
    assert_eq!(inventory.containers.len(), 8);
    let status = &inventory.collectors[0];
    assert_eq!(status.name, "containers");
    assert_eq!(status.status, CollectorOutcome::Partial);

    let findings = |code: Code| -> Vec<_> {
        inventory
            .findings
            .iter()
            .filter(|f| f.code == code)
            .collect()
    };

    let expiring = findings(Code::PrivateKeyExpiring);
    assert_eq!(expiring.len(), 1, "{expiring:#?}");
    assert!(
        expiring[0].subject.contains(IVANOV_NAME),
        "{}",
        expiring[0].subject
    );

    let expired = findings(Code::PrivateKeyExpired);
    assert_eq!(expired.len(), 1, "{expired:#?}");
    assert!(
        expired[0].subject.contains("bob/shared.000"),
        "{}",
        expired[0].subject
    );

    let duplicates = findings(Code::ContainerDuplicateName);
    assert_eq!(duplicates.len(), 1);
    assert_eq!(
        duplicates[0].subject,
        format!("container \"{SHARED_NAME}\"")
    );
    assert!(duplicates[0].message.contains("alice/shared.000"));
    assert!(duplicates[0].message.contains("bob/shared.000"));

    let incomplete = findings(Code::ContainerIncomplete);
    let shared = incomplete
        .iter()
        .find(|f| f.subject.contains("alice/shared.000"))
        .expect("incomplete finding for alice's shared key");
    assert!(shared.message.contains("masks2.key"), "{}", shared.message);
    let backup = incomplete
        .iter()
        .find(|f| f.subject.contains("backup/mykey"))
        .expect("incomplete finding for the backup folder");
    assert!(
        backup.message.contains("primary.key, masks.key"),
        "{}",
        backup.message
    );
    assert_eq!(incomplete.len(), 2, "{incomplete:#?}");

    let damaged = findings(Code::ContainerDamaged);
    let flash = damaged
        .iter()
        .find(|f| f.subject.contains("flash.000"))
        .expect("damaged finding for the flash drive");
    assert!(flash.message.contains("header.key"), "{}", flash.message);
    let extra = damaged
        .iter()
        .find(|f| f.subject.contains("extra.000"))
        .expect("damaged finding for the garbled masks");
    assert!(extra.message.contains("masks.key"), "{}", extra.message);
    assert_eq!(
        damaged.len(),
        3,
        "flash, extra and the looping folder: {damaged:#?}"
    );

    assert_eq!(findings(Code::FileUnreadable).len(), 1);

    let cert = inventory
        .certificates
        .iter()
        .find(|c| c.sha1 == hex::encode(sha1::Sha1::digest(&host.ivanov_der)))
        .expect("embedded certificate merged into the inventory");
    assert_eq!(cert.sources[0].kind, SourceKind::Container);
    assert_eq!(
        cert.issuer_present,
        Some(false),
        "the CA is not on this host"
    );
}

#[test]
fn a_host_without_cryptopro_is_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = ScanConfig::new(Paths::new(dir.path()));
    let section = Containers.collect(&config).expect("collector runs");
    assert!(section.skipped);
    assert!(section.containers.is_empty());
}

/// `shared/fixtures` beside the repository, or `None` when the run explicitly does without.
fn shared_fixtures() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures");
    if path.is_dir() {
        return Some(path);
    }
    assert!(
        std::env::var("TOKENWATCH_NO_SHARED_FIXTURES").as_deref() == Ok("1"),
        "shared fixtures not found at {}: put shared/ beside the repository, or set \
         TOKENWATCH_NO_SHARED_FIXTURES=1 to skip the real-container tests",
        path.display()
    );
    eprintln!("TOKENWATCH_NO_SHARED_FIXTURES=1: real-container tests skipped");
    None
}

/// Real CryptoPro containers (dbfun/cryptopro test bundles); expected values were read with
/// `openssl asn1parse` and `sha1sum`.
#[test]
fn real_containers_are_read_as_csp_wrote_them() {
    let Some(fixtures) = shared_fixtures() else {
        return;
    };
    let base = fixtures.join("containers");
    let cases = [
        (
            "dbfun-cosign/e4ac4ef8.000",
            "e4ac4ef8-990b-4ad3-9046-352caca2bc10",
            Utc.with_ymd_and_hms(2020, 5, 24, 9, 23, 59).single(),
        ),
        (
            "dbfun-no-pin/le-22951.000",
            "le-22951583-0ef1-49f0-bafa-aa503c789aa8",
            Utc.with_ymd_and_hms(2020, 5, 12, 18, 22, 26).single(),
        ),
        (
            "dbfun-pin/le-09650.000",
            "le-09650bf3-0ca8-4bd7-adb1-11dd258d3062",
            Utc.with_ymd_and_hms(2020, 5, 12, 16, 0, 45).single(),
        ),
    ];
    for (folder, name, key_end) in cases {
        let read = read_container(&base.join(folder), Media::Folder, None);
        let c = &read.container;
        assert_eq!(c.name.as_deref(), Some(name), "{folder}");
        assert!(c.complete, "{folder}: {c:#?}");
        assert!(c.missing_files.is_empty(), "{folder}");
        assert!(
            c.damaged_files.is_empty(),
            "{folder}: {:?}",
            c.damaged_files
        );
        assert_eq!(c.key_algorithm.as_deref(), Some("GOST R 34.10-2012 256"));
        assert_eq!(c.key_algorithm_oid.as_deref(), Some("1.2.643.7.1.1.6.1"));
        assert_eq!(c.exportable, Some(true), "{folder}");
        assert_eq!(c.private_key_not_before, None, "{folder}");
        assert_eq!(c.private_key_not_after, key_end, "{folder}");
        assert!(read.errors.is_empty());
    }

    // Only the cosign bundle embeds its certificate; it is test.cer byte for byte.
    let cosign = read_container(&base.join("dbfun-cosign/e4ac4ef8.000"), Media::Folder, None);
    let test_cer = std::fs::read(base.join("dbfun-cosign/test.cer")).expect("test.cer");
    assert_eq!(test_cer.first(), Some(&0x30), "test.cer is DER");
    let sha1 = hex::encode(sha1::Sha1::digest(&test_cer));
    assert_eq!(sha1, "82028260efc03eedc88dcb61c0f6a02e788e26e2");
    assert_eq!(
        cosign.container.certificate_sha1.as_deref(),
        Some(sha1.as_str())
    );
    assert_eq!(cosign.certificates.len(), 1);
    let cert = &cosign.certificates[0];
    assert_eq!(cert.sha1, sha1);
    assert_eq!(
        Some(cert.not_after),
        Utc.with_ymd_and_hms(2019, 5, 24, 9, 24, 22).single()
    );
    assert_eq!(
        cert.private_key_not_after,
        Utc.with_ymd_and_hms(2020, 5, 24, 9, 23, 59).single()
    );
    for folder in ["dbfun-no-pin/le-22951.000", "dbfun-pin/le-09650.000"] {
        let read = read_container(&base.join(folder), Media::Folder, None);
        assert_eq!(read.container.certificate_sha1, None, "{folder}");
        assert!(read.certificates.is_empty());
    }

    // Public key fingerprints [10], read from the files with a hex dump.
    for (folder, fingerprint) in [
        ("dbfun-cosign/e4ac4ef8.000", "8bd93afa1876a6d4"),
        ("dbfun-no-pin/le-22951.000", "8a53991ce846d8db"),
        ("dbfun-pin/le-09650.000", "6f3d7864b8b23a3c"),
    ] {
        let bytes = std::fs::read(base.join(folder).join("header.key")).expect("header.key");
        let header = parse_header(&bytes).expect("real header parses");
        assert_eq!(
            header.primary_fingerprint.as_deref(),
            Some(fingerprint),
            "{folder}"
        );
        assert_eq!(header.secondary_fingerprint, None, "{folder}");
        assert_eq!(header.secondary_certificate, None, "{folder}");
    }
}

#[test]
fn an_unreadable_embedded_certificate_damages_the_header_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut header = HeaderSpec::new(KeyAlgorithm::Gost2012_256, true);
    // A SEQUENCE that is no certificate.
    let bogus = build::tlv(0x30, &build::tlv(0x02, &[0x01]));
    header.certificate = Some(bogus.clone());
    let path = build::write(
        &dir.path().join("bogus.000"),
        &ContainerSpec::new("bogus", header),
    );
    let read = read_container(&path, Media::Folder, None);
    let c = &read.container;
    assert!(!c.complete);
    assert_eq!(c.damaged_files.len(), 1, "{:?}", c.damaged_files);
    assert_eq!(c.damaged_files[0].file, "header.key");
    assert!(
        c.damaged_files[0]
            .reason
            .contains("[5] primary certificate"),
        "{}",
        c.damaged_files[0].reason
    );
    // What the header itself says is still reported.
    assert_eq!(c.key_algorithm.as_deref(), Some("GOST R 34.10-2012 256"));
    assert_eq!(c.exportable, Some(true));
    assert_eq!(
        c.certificate_sha1,
        Some(hex::encode(sha1::Sha1::digest(&bogus)))
    );
    assert!(read.certificates.is_empty());
}

#[test]
fn upper_case_file_names_from_fat_media_are_accepted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = build::write(
        &dir.path().join("FAT.000"),
        &ContainerSpec::new("fat", HeaderSpec::new(KeyAlgorithm::Gost2012_256, true)),
    );
    for file in [
        "header.key",
        "name.key",
        "primary.key",
        "masks.key",
        "primary2.key",
        "masks2.key",
    ] {
        std::fs::rename(path.join(file), path.join(file.to_uppercase())).expect("rename");
    }
    let read = read_container(&path, Media::Removable, None);
    assert_eq!(read.container.name.as_deref(), Some("fat"));
    assert!(read.container.complete, "{:#?}", read.container);
}
