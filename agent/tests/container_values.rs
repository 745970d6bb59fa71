//! A container whose files come as named values (CryptoPro's registry reader keeps the six
//! `.key` files as binary values of one key) reads exactly as the same files in a folder, with
//! the same reasons for what is missing, cut or too large. Runs on every platform; the Windows
//! registry walk itself is tested under Wine (`windows_registry.rs`).

mod support;

use support::containers::{self as build, ContainerSpec, HeaderSpec, KeyAlgorithm, KeyPeriod};
use tokenwatch_agent::collect::containers::{MAX_KEY_FILE, read_container, read_container_values};
use tokenwatch_agent::inventory::{Container, Media};

/// A GOST R 34.10-2012 256 certificate issued by the OpenSSL gost engine, checked in.
const CERTIFICATE: &[u8] =
    include_bytes!("../src/collect/certificates/testdata/person-2012-256.der");

fn spec(name: &str) -> ContainerSpec {
    let mut header = HeaderSpec::new(KeyAlgorithm::Gost2012_256, false);
    header.certificate = Some(CERTIFICATE.to_vec());
    header.periods = vec![KeyPeriod {
        oid: build::SIGNATURE_PERIOD,
        not_before: Some("20260101000000Z".into()),
        not_after: Some("20270401000000Z".into()),
    }];
    ContainerSpec::new(name, header)
}

/// The values a registry key would hold for `spec`: names spelt as a Windows tool might, and
/// a value that is not a container file.
fn values(spec: &ContainerSpec) -> Vec<(String, Vec<u8>)> {
    let mut values: Vec<(String, Vec<u8>)> = build::files(spec)
        .into_iter()
        .map(|(file, bytes)| (file.to_uppercase(), bytes))
        .collect();
    values.push(("Comment".to_owned(), b"not a key file".to_vec()));
    values
}

fn without_location(mut container: Container) -> Container {
    container.path = String::new();
    container.media = Media::Registry;
    container
}

#[test]
fn values_read_as_the_same_files_in_a_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    for spec in [
        spec("registry-complete"),
        {
            let mut spec = spec("registry-no-masks");
            spec.omit = vec!["masks.key", "masks2.key"];
            spec
        },
        {
            let mut spec = spec("registry-cut-header");
            spec.truncate = vec![("header.key", 40)];
            spec
        },
        {
            let mut spec = spec("registry-garbled-name");
            spec.garble = vec!["name.key"];
            spec
        },
    ] {
        let values = values(&spec);
        let folder = dir.path().join(format!("{}.000", spec.name));
        std::fs::create_dir_all(&folder).expect("folder");
        for (file, bytes) in &values {
            std::fs::write(folder.join(file), bytes).expect("write");
        }
        let location = format!(r"HKLM\SOFTWARE\Crypto Pro\Settings\Keys\{}", spec.name);
        let from_values = read_container_values(
            location.clone(),
            Media::Registry,
            Some("S-1-5-21-1-2-3-1001".to_owned()),
            values,
        );
        let from_folder = read_container(&folder, Media::Folder, None);

        let container = &from_values.container;
        assert_eq!(container.path, location);
        assert_eq!(container.media, Media::Registry);
        assert_eq!(container.owner.as_deref(), Some("S-1-5-21-1-2-3-1001"));
        assert_eq!(
            without_location(from_values.container.clone()),
            without_location(Container {
                owner: Some("S-1-5-21-1-2-3-1001".to_owned()),
                ..from_folder.container.clone()
            }),
            "{}",
            spec.name
        );
        assert_eq!(
            from_values.certificates.len(),
            from_folder.certificates.len()
        );
        for cert in &from_values.certificates {
            assert_eq!(cert.sources[0].location, location);
        }
    }
}

#[test]
fn a_complete_registry_container_carries_its_certificate_and_key_period() {
    let read = read_container_values(
        "HKLM\\test".to_owned(),
        Media::Registry,
        None,
        values(&spec("complete")),
    );
    let container = &read.container;
    assert!(container.complete, "{container:#?}");
    assert_eq!(container.name.as_deref(), Some("complete"));
    assert!(container.missing_files.is_empty());
    assert_eq!(read.certificates.len(), 1);
    assert_eq!(
        container.certificate_sha1.as_deref(),
        Some(read.certificates[0].sha1.as_str())
    );
    assert_eq!(
        container.private_key_not_after.map(|t| t.to_rfc3339()),
        Some("2027-04-01T00:00:00+00:00".to_owned())
    );
}

#[test]
fn missing_and_oversized_values_are_named_with_their_reason() {
    let mut spec = spec("broken");
    spec.omit = vec!["name.key"];
    let mut values = values(&spec);
    // A primary.key far larger than a key can be: reported as such, not read into the parser.
    let primary = values
        .iter_mut()
        .find(|(name, _)| name == "PRIMARY.KEY")
        .expect("primary value");
    primary.1 = vec![0x30; 4 * 1024 * 1024];
    let read = read_container_values("HKLM\\test".to_owned(), Media::Registry, None, values);
    let container = &read.container;
    assert!(!container.complete);
    assert_eq!(container.missing_files, vec!["name.key"]);
    assert_eq!(container.name, None);
    let damaged: Vec<(&str, &str)> = container
        .damaged_files
        .iter()
        .map(|d| (d.file.as_str(), d.reason.as_str()))
        .collect();
    assert_eq!(
        damaged,
        vec![(
            "primary.key",
            format!("the file is larger than the {MAX_KEY_FILE} bytes a real one can be").as_str()
        )]
    );
}
