//! Windows' certificate stores, read by the real `certificates` collector: the test puts a GOST
//! certificate into the current user's Personal store through CryptoAPI (Wine's crypt32 writes
//! it as Windows does, a serialized element in the registry), and writes a profile's Personal
//! store on disk with the element CryptoAPI serialized, for a profile that is not signed in.
//! The certificate in the registry store is linked to a CryptoPro container through CryptoAPI
//! (the key provider property as Windows stores it); the copy on disk has no link.
#![cfg(windows)]

#[path = "support/windows_stores.rs"]
mod stores;

use std::path::Path;

use tokenwatch_agent::ScanConfig;
use tokenwatch_agent::collect::Collector;
use tokenwatch_agent::collect::certificates::Certificates;
use tokenwatch_agent::findings::Code;
use tokenwatch_agent::inventory::SourceKind;
use tokenwatch_agent::paths::Paths;
use tokenwatch_agent::scan::scan_with;
use windows_registry::LOCAL_MACHINE;

/// GOST R 34.10-2012 certificates issued by the OpenSSL gost engine, checked in.
const PERSON: &[u8] = include_bytes!("../src/collect/certificates/testdata/person-2012-256.der");
const CA: &[u8] = include_bytes!("../src/collect/certificates/testdata/ca-2012-512.der");
const PROFILE_LIST: &str = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList";

/// A profile that is not signed in: a ProfileList entry and its folder on disk.
struct Profile {
    sid: String,
}

impl Profile {
    fn create(folder: &Path) -> Self {
        let sid = format!("S-1-5-21-4343-{}-1002", rand::random::<u32>());
        let key = LOCAL_MACHINE
            .create(format!(r"{PROFILE_LIST}\{sid}"))
            .expect("ProfileList entry");
        // As Windows writes it: `%SystemDrive%\Users\…`, expanded by the reader.
        let path = folder.display().to_string();
        let drive = std::env::var("SystemDrive").expect("SystemDrive");
        assert!(path.starts_with(&drive), "{path} is on {drive}");
        let image = format!("%SystemDrive%{}", &path[drive.len()..]);
        key.set_expand_string("ProfileImagePath", image)
            .expect("ProfileImagePath");
        Self { sid }
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = LOCAL_MACHINE.remove_tree(format!(r"{PROFILE_LIST}\{}", self.sid));
    }
}

#[test]
fn personal_stores_of_signed_in_users_and_of_profiles_on_disk_are_read() {
    let provider = "Crypto-Pro GOST R 34.10-2012 KC1 CSP";
    stores::add_to_personal_store(
        PERSON,
        Some(stores::KeyLink {
            container: r"\\.\REGISTRY\te-1f2e",
            provider,
            provider_type: 80,
        }),
    );

    let home = tempfile::tempdir().expect("profile folder");
    let _profile = Profile::create(home.path());
    let store = home
        .path()
        .join(r"AppData\Roaming\Microsoft\SystemCertificates\My\Certificates");
    std::fs::create_dir_all(&store).expect("store folder");
    std::fs::write(store.join("CA-THUMBPRINT"), stores::serialized(CA)).expect("element");
    std::fs::write(store.join("PERSON-THUMBPRINT"), stores::serialized(PERSON)).expect("element");
    let mut cut = stores::serialized(PERSON);
    cut.truncate(cut.len() / 2);
    std::fs::write(store.join("CUT-THUMBPRINT"), cut).expect("element");

    let root = tempfile::tempdir().expect("tempdir");
    let section = Certificates
        .collect(&ScanConfig::new(Paths::new(root.path())))
        .expect("the collector runs");
    assert!(!section.skipped);
    assert!(section.errors.is_empty(), "{:?}", section.errors);

    let person = section
        .certificates
        .iter()
        .find(|c| c.der == PERSON)
        .expect("the certificate added to the Personal store");
    // The registry copy with its key link, the profile's copy without.
    let linked = format!(
        r"\Software\Microsoft\SystemCertificates\MY (container \\.\REGISTRY\te-1f2e, {provider})"
    );
    assert!(
        person
            .sources
            .iter()
            .any(|s| s.kind == SourceKind::CryptoproStore
                && s.location.starts_with(r"HKU\S-1-5-")
                && s.location.ends_with(&linked)),
        "{:?}",
        person.sources
    );
    // The scan folds copies into one certificate; the collector lists each copy.
    assert!(
        section
            .certificates
            .iter()
            .filter(|c| c.der == PERSON)
            .any(|c| c
                .sources
                .iter()
                .any(|s| s.location == store.display().to_string())),
        "the profile's copy, without a link"
    );
    let unlinked: Vec<_> = section
        .findings
        .iter()
        .filter(|f| f.code == Code::CertificateKeyLinkMissing)
        .collect();
    assert_eq!(
        unlinked.len(),
        1,
        "only the profile's copy, not the CA: {unlinked:?}"
    );
    assert!(unlinked[0].subject.contains(&person.sha1), "{unlinked:?}");
    assert!(
        unlinked[0].message.contains(&store.display().to_string()),
        "{unlinked:?}"
    );
    assert!(person.subject_cn.is_some(), "{person:?}");

    let ca = section
        .certificates
        .iter()
        .find(|c| c.der == CA)
        .expect("the certificate of the profile on disk");
    assert_eq!(ca.sources.len(), 1);
    assert_eq!(ca.sources[0].location, store.display().to_string());
    assert!(ca.is_ca);

    let cut_entry = store.join("CUT-THUMBPRINT").display().to_string();
    let finding = section
        .findings
        .iter()
        .find(|f| f.subject == cut_entry)
        .expect("the cut element is a finding");
    assert_eq!(finding.code, Code::FileUnparsable);
    assert!(finding.message.contains("cut short"), "{}", finding.message);

    // The scan checks each chain against every store: with the CA in the profile's store the
    // person's issuer is there; without it, a missing issuer is a finding.
    let scan = || {
        scan_with(
            vec![Box::new(Certificates)],
            &ScanConfig::new(Paths::new(root.path())),
        )
    };
    let issuer_missing = |inventory: &tokenwatch_agent::Inventory| {
        inventory
            .findings
            .iter()
            .any(|f| f.code == Code::CertificateIssuerMissing && f.subject.contains(&person.sha1))
    };
    let with_ca = scan();
    let scanned = with_ca
        .certificates
        .iter()
        .find(|c| c.sha1 == person.sha1)
        .expect("the person in the scan");
    assert_eq!(scanned.issuer_present, Some(true));
    assert!(!issuer_missing(&with_ca), "{:?}", with_ca.findings);
    std::fs::remove_file(store.join("CA-THUMBPRINT")).expect("remove the CA");
    let without_ca = scan();
    assert!(issuer_missing(&without_ca), "{:?}", without_ca.findings);
}
