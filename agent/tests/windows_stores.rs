//! Windows' certificate stores, read by the real `certificates` collector: the test puts a GOST
//! certificate into the current user's Personal store through CryptoAPI (Wine's crypt32 writes
//! it as Windows does, a serialized element in the registry), and writes a profile's Personal
//! store on disk with the element CryptoAPI serialized, for a profile that is not signed in.
#![cfg(windows)]
#![allow(unsafe_code)] // CryptoAPI, to put the test's certificates where Windows keeps them

use std::path::Path;

use tokenwatch_agent::ScanConfig;
use tokenwatch_agent::collect::Collector;
use tokenwatch_agent::collect::certificates::Certificates;
use tokenwatch_agent::findings::Code;
use tokenwatch_agent::inventory::SourceKind;
use tokenwatch_agent::paths::Paths;
use windows_registry::LOCAL_MACHINE;
use windows_sys::Win32::Security::Cryptography::{
    CERT_STORE_ADD_REPLACE_EXISTING, CERT_STORE_PROV_SYSTEM_W, CERT_SYSTEM_STORE_CURRENT_USER,
    CertAddEncodedCertificateToStore, CertCloseStore, CertCreateCertificateContext,
    CertFreeCertificateContext, CertOpenStore, CertSerializeCertificateStoreElement,
    PKCS_7_ASN_ENCODING, X509_ASN_ENCODING,
};

/// GOST R 34.10-2012 certificates issued by the OpenSSL gost engine, checked in.
const PERSON: &[u8] = include_bytes!("../src/collect/certificates/testdata/person-2012-256.der");
const CA: &[u8] = include_bytes!("../src/collect/certificates/testdata/ca-2012-512.der");
const ENCODING: u32 = X509_ASN_ENCODING | PKCS_7_ASN_ENCODING;
const PROFILE_LIST: &str = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList";

fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16().chain(Some(0)).collect()
}

/// Add `der` to the current user's `MY` store, as certmgr.msc or CryptoPro's installer would.
fn add_to_personal_store(der: &[u8]) {
    let name = wide("MY");
    let length = u32::try_from(der.len()).expect("short");
    // SAFETY: every pointer is to a live buffer of the stated length; the store handle is
    // closed once, after use.
    unsafe {
        let store = CertOpenStore(
            CERT_STORE_PROV_SYSTEM_W,
            0,
            0,
            CERT_SYSTEM_STORE_CURRENT_USER,
            name.as_ptr().cast(),
        );
        assert!(!store.is_null(), "open the Personal store");
        let added = CertAddEncodedCertificateToStore(
            store,
            ENCODING,
            der.as_ptr(),
            length,
            CERT_STORE_ADD_REPLACE_EXISTING,
            std::ptr::null_mut(),
        );
        assert_ne!(added, 0, "add the certificate");
        CertCloseStore(store, 0);
    }
}

/// `der` as CryptoAPI serializes a store element.
fn serialized(der: &[u8]) -> Vec<u8> {
    let length = u32::try_from(der.len()).expect("short");
    // SAFETY: the context is created from a live buffer and freed once; the output buffer is
    // as long as CryptoAPI asked for.
    unsafe {
        let context = CertCreateCertificateContext(ENCODING, der.as_ptr(), length);
        assert!(!context.is_null(), "a certificate context");
        let mut size = 0;
        let asked =
            CertSerializeCertificateStoreElement(context, 0, std::ptr::null_mut(), &mut size);
        assert_ne!(asked, 0, "serialized size");
        let mut out = vec![0_u8; usize::try_from(size).expect("size")];
        let written = CertSerializeCertificateStoreElement(context, 0, out.as_mut_ptr(), &mut size);
        assert_ne!(written, 0, "serialize");
        out.truncate(usize::try_from(size).expect("size"));
        CertFreeCertificateContext(context);
        out
    }
}

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
        key.set_expand_string("ProfileImagePath", folder.display().to_string())
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
    add_to_personal_store(PERSON);

    let home = tempfile::tempdir().expect("profile folder");
    let _profile = Profile::create(home.path());
    let store = home
        .path()
        .join(r"AppData\Roaming\Microsoft\SystemCertificates\My\Certificates");
    std::fs::create_dir_all(&store).expect("store folder");
    std::fs::write(store.join("CA-THUMBPRINT"), serialized(CA)).expect("element");
    let mut cut = serialized(PERSON);
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
    assert!(
        person
            .sources
            .iter()
            .any(|s| s.kind == SourceKind::CryptoproStore
                && s.location.starts_with(r"HKU\S-1-5-")
                && s.location
                    .ends_with(r"\Software\Microsoft\SystemCertificates\MY")),
        "{:?}",
        person.sources
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
}
