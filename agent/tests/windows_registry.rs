//! Containers of CryptoPro's registry reader, found by the real `containers` collector in the
//! real registry (Wine's, when these tests run on Linux through `scripts/windows-check`): the
//! test writes the six values of each container where CSP keeps them and reads the scan back.
#![cfg(windows)]

mod support;

use support::containers::{self as build, ContainerSpec, HeaderSpec, KeyAlgorithm};
use tokenwatch_agent::ScanConfig;
use tokenwatch_agent::collect::Collector;
use tokenwatch_agent::collect::components::ComponentsCollector;
use tokenwatch_agent::collect::containers::Containers;
use tokenwatch_agent::findings::Code;
use tokenwatch_agent::inventory::{Container, Media, TokenFamily};
use tokenwatch_agent::paths::Paths;
use windows_registry::{CURRENT_USER, LOCAL_MACHINE, Type};

/// A GOST R 34.10-2012 256 certificate issued by the OpenSSL gost engine, checked in.
const CERTIFICATE: &[u8] =
    include_bytes!("../src/collect/certificates/testdata/person-2012-256.der");

/// Keys this test wrote, removed when it ends however it ends.
struct Written(Vec<(&'static windows_registry::Key, String)>);

impl Written {
    #[track_caller]
    fn container(
        &mut self,
        hive: &'static windows_registry::Key,
        path: String,
        spec: &ContainerSpec,
    ) {
        let key = hive.create(&path).expect("create the container's key");
        for (file, bytes) in build::files(spec) {
            key.set_bytes(file, Type::Bytes, &bytes)
                .expect("write a value");
        }
        self.0.push((hive, path));
    }
}

impl Drop for Written {
    fn drop(&mut self) {
        for (hive, path) in &self.0 {
            let _ = hive.remove_tree(path);
        }
    }
}

fn spec(name: &str) -> ContainerSpec {
    let mut header = HeaderSpec::new(KeyAlgorithm::Gost2012_256, false);
    header.certificate = Some(CERTIFICATE.to_vec());
    ContainerSpec::new(name, header)
}

fn find<'a>(containers: &'a [Container], path: &str) -> &'a Container {
    containers
        .iter()
        .find(|c| c.path == path)
        .unwrap_or_else(|| {
            panic!(
                "{path} not among {:#?}",
                containers.iter().map(|c| &c.path).collect::<Vec<_>>()
            )
        })
}

#[test]
fn registry_containers_of_users_the_machine_and_the_virtual_store_are_found() {
    let unique = rand::random::<u32>();
    let sid = format!("S-1-5-21-4242-{unique}-1001");
    let mut written = Written(Vec::new());

    let per_user_32 =
        format!(r"SOFTWARE\WOW6432Node\Crypto Pro\Settings\Users\{sid}\Keys\user32-{unique}");
    written.container(
        LOCAL_MACHINE,
        per_user_32.clone(),
        &spec(&format!("user32-{unique}")),
    );

    let per_user_64 = format!(r"SOFTWARE\Crypto Pro\Settings\Users\{sid}\Keys\cut-{unique}");
    let mut cut = spec(&format!("cut-{unique}"));
    cut.truncate = vec![("header.key", 40)];
    written.container(LOCAL_MACHINE, per_user_64.clone(), &cut);

    let machine = format!(r"SOFTWARE\Crypto Pro\Settings\Keys\machine-{unique}");
    let mut no_masks = spec(&format!("machine-{unique}"));
    no_masks.omit = vec!["masks.key", "masks2.key"];
    written.container(LOCAL_MACHINE, machine.clone(), &no_masks);

    let virtualised = format!(
        r"Software\Classes\VirtualStore\MACHINE\SOFTWARE\WOW6432Node\Crypto Pro\Settings\Users\{sid}\Keys\virtual-{unique}"
    );
    written.container(
        CURRENT_USER,
        virtualised,
        &spec(&format!("virtual-{unique}")),
    );

    // No disk locations: an empty root.
    let root = tempfile::tempdir().expect("tempdir");
    let section = Containers
        .collect(&ScanConfig::new(Paths::new(root.path())))
        .expect("the collector runs");
    assert!(section.errors.is_empty(), "{:?}", section.errors);

    let user32 = find(&section.containers, &format!(r"HKLM\{per_user_32}"));
    assert_eq!(user32.media, Media::Registry);
    assert_eq!(user32.owner.as_deref(), Some(sid.as_str()));
    assert_eq!(
        user32.name.as_deref(),
        Some(format!("user32-{unique}").as_str())
    );
    assert!(user32.complete, "{user32:#?}");
    let certificate = section
        .certificates
        .iter()
        .find(|c| c.sources.iter().any(|s| s.location == user32.path))
        .expect("the embedded certificate, with the registry key as its source");
    assert_eq!(
        user32.certificate_sha1.as_deref(),
        Some(certificate.sha1.as_str())
    );

    let cut = find(&section.containers, &format!(r"HKLM\{per_user_64}"));
    assert!(!cut.complete);
    assert_eq!(cut.owner.as_deref(), Some(sid.as_str()));
    assert_eq!(
        cut.damaged_files
            .iter()
            .map(|d| d.file.as_str())
            .collect::<Vec<_>>(),
        vec!["header.key"]
    );

    let machine = find(&section.containers, &format!(r"HKLM\{machine}"));
    assert!(!machine.complete);
    assert_eq!(machine.owner, None);
    assert_eq!(machine.missing_files, vec!["masks.key", "masks2.key"]);

    let virtual_copy = section
        .containers
        .iter()
        .find(|c| {
            c.path.starts_with(r"HKU\") && c.path.ends_with(&format!(r"\Keys\virtual-{unique}"))
        })
        .expect("the virtualised container, through the user's loaded hive");
    assert!(virtual_copy.complete, "{virtual_copy:#?}");
    assert_eq!(virtual_copy.owner.as_deref(), Some(sid.as_str()));
}

#[test]
fn cryptopro_csp_is_read_from_its_windows_installer_record() {
    let install = r"SOFTWARE\Microsoft\Windows\CurrentVersion\Installer\UserData\S-1-5-18\Products\08F19F05793DC7340B8C2621D83E5BE5";
    let mut written = Written(Vec::new());
    let key = LOCAL_MACHINE
        .create(format!(r"{install}\InstallProperties"))
        .expect("create InstallProperties");
    written.0.push((LOCAL_MACHINE, install.to_owned()));
    key.set_string("DisplayName", "КриптоПро CSP")
        .expect("value");
    key.set_string("DisplayVersion", "5.0.13000")
        .expect("value");
    key.set_string("ProductID", "5050N-X0000-KLMNO-PQRST-UVWXY")
        .expect("value");
    let parameters = r"SOFTWARE\WOW6432Node\Crypto Pro\Cryptography\CurrentVersion\Parameters";
    LOCAL_MACHINE
        .create(parameters)
        .and_then(|key| key.set_u32("ControlKeyTimeValidity", 0))
        .expect("CSP parameter");
    written.0.push((LOCAL_MACHINE, parameters.to_owned()));
    // An install folder without csptest.exe: the version comes from the registry alone.
    let folder = tempfile::tempdir().expect("tempdir");
    key.set_string("InstallLocation", folder.path().display().to_string())
        .expect("value");

    let root = tempfile::tempdir().expect("tempdir");
    let section = ComponentsCollector
        .collect(&ScanConfig::new(Paths::new(root.path())))
        .expect("the collector runs");
    assert!(section.errors.is_empty(), "{:?}", section.errors);
    let csp = section.components.cryptopro.expect("CSP found");
    assert!(csp.installed);
    assert_eq!(csp.version.as_deref(), Some("5.0"));
    assert_eq!(csp.build.as_deref(), Some("5.0.13000"));
    assert_eq!(csp.control_key_time_validity, Some(0));
    let license = csp.license.expect("licence");
    assert_eq!(license.serial_prefix.as_deref(), Some("5050N"));
    assert_eq!(license.for_version.as_deref(), Some("5.0"));
    assert!(
        !format!("{license:?}").contains("UVWXY"),
        "the serial is never kept whole"
    );
}

#[test]
fn smart_card_redirection_forbidden_by_policy_is_a_finding() {
    let policy = r"SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services";
    let key = LOCAL_MACHINE.create(policy).expect("policy key");
    let mut written = Written(Vec::new());
    written.0.push((LOCAL_MACHINE, policy.to_owned()));
    let root = tempfile::tempdir().expect("tempdir");
    let config = ScanConfig::new(Paths::new(root.path()));
    let redirection_findings = || {
        ComponentsCollector
            .collect(&config)
            .expect("the collector runs")
            .findings
            .into_iter()
            .filter(|f| f.code == Code::RdpSmartCardRedirectionOff)
            .collect::<Vec<_>>()
    };

    key.set_u32("fEnableSmartCard", 0).expect("value");
    let found = redirection_findings();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].message.contains("fEnableSmartCard = 0"),
        "{}",
        found[0].message
    );
    assert!(
        found[0]
            .remediation
            .contains("Do not allow smart card device redirection")
    );

    key.set_u32("fEnableSmartCard", 1).expect("value");
    assert!(redirection_findings().is_empty());
    key.remove_value("fEnableSmartCard").expect("remove");
    assert!(redirection_findings().is_empty());
}

#[test]
fn vendor_token_software_is_listed_with_its_version() {
    let unique = rand::random::<u32>();
    let uninstall = r"SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall";
    let mut written = Written(Vec::new());
    let mut program = |code: String, values: &[(&str, &str)]| {
        let path = format!(r"{uninstall}\{code}");
        let key = LOCAL_MACHINE.create(&path).expect("program key");
        for (name, value) in values {
            key.set_string(name, value).expect("value");
        }
        written.0.push((LOCAL_MACHINE, path));
    };
    let jacarta = format!("JaCarta Unified Client {unique}");
    program(
        format!("{{JACARTA-{unique}}}"),
        &[
            ("DisplayName", jacarta.as_str()),
            ("DisplayVersion", "3.1.0.1234"),
            ("InstallLocation", r"C:\Program Files\Aladdin Soft\JaCarta"),
        ],
    );
    let rutoken = format!("Драйверы Рутокен {unique}");
    program(
        format!("{{RUTOKEN-{unique}}}"),
        &[
            ("DisplayName", rutoken.as_str()),
            ("DisplayVersion", "4.15.0.0"),
        ],
    );
    let unrelated = format!("Paint {unique}");
    program(
        format!("{{PAINT-{unique}}}"),
        &[
            ("DisplayName", unrelated.as_str()),
            ("DisplayVersion", "1.0"),
        ],
    );

    let root = tempfile::tempdir().expect("tempdir");
    let section = ComponentsCollector
        .collect(&ScanConfig::new(Paths::new(root.path())))
        .expect("the collector runs");
    let ours: Vec<_> = section
        .components
        .middleware
        .iter()
        .filter(|m| m.name.contains(&unique.to_string()))
        .collect();
    assert_eq!(ours.len(), 2, "{ours:?}");
    let jacarta = ours.iter().find(|m| m.name == jacarta).expect("JaCarta");
    assert_eq!(jacarta.family, TokenFamily::Jacarta);
    assert_eq!(jacarta.version.as_deref(), Some("3.1.0.1234"));
    assert_eq!(jacarta.path, r"C:\Program Files\Aladdin Soft\JaCarta");
    let rutoken = ours.iter().find(|m| m.name == rutoken).expect("Rutoken");
    assert_eq!(rutoken.family, TokenFamily::Rutoken);
    assert_eq!(rutoken.version.as_deref(), Some("4.15.0.0"));
    assert!(
        rutoken
            .path
            .starts_with(r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\")
    );
}

/// The removable drive `scripts/windows-check` gives Wine: `R:`, a folder of the checkout
/// mapped as a drive of the removable type.
const REMOVABLE_DRIVE: &str = r"R:\";

#[test]
fn containers_at_the_root_of_a_removable_drive_are_found() {
    let root = std::path::Path::new(REMOVABLE_DRIVE);
    assert!(
        root.is_dir(),
        "no {REMOVABLE_DRIVE}: run the Windows tests through scripts/windows-check, which maps it"
    );
    let unique = rand::random::<u32>();
    let folder = root.join(format!("flash-{unique}.000"));
    let mut spec = spec(&format!("flash-{unique}"));
    spec.second_pair = false;
    build::write(&folder, &spec);
    // Deeper folders are not where CSP's FLASH reader looks.
    let deeper = root.join(format!("backup-{unique}")).join("deep.000");
    build::write(&deeper, &spec);

    let empty = tempfile::tempdir().expect("tempdir");
    let section = Containers
        .collect(&ScanConfig::new(Paths::new(empty.path())))
        .expect("the collector runs");
    let _ = std::fs::remove_dir_all(&folder);
    let _ = std::fs::remove_dir_all(root.join(format!("backup-{unique}")));

    let flash = find(&section.containers, &folder.display().to_string());
    assert_eq!(flash.media, Media::Removable);
    assert!(flash.complete, "{flash:#?}");
    assert_eq!(
        flash.name.as_deref(),
        Some(format!("flash-{unique}").as_str())
    );
    assert!(
        !section
            .containers
            .iter()
            .any(|c| c.path.contains(&format!("backup-{unique}"))),
        "only the drive's root folder is searched"
    );
}
