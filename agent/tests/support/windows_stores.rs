//! Puts certificates where Windows keeps them, through CryptoAPI, for the Windows tests and
//! figures: the stored form is then Windows' (Wine's) own, not this code's.
#![allow(unsafe_code)]
// CryptoAPI has no safe wrapper in the crates used here
// Each binary that includes this module uses a different part of it.
#![allow(dead_code, unreachable_pub)]

use windows_sys::Win32::Security::Cryptography::{
    CERT_STORE_ADD_REPLACE_EXISTING, CERT_STORE_PROV_SYSTEM_W, CERT_SYSTEM_STORE_CURRENT_USER,
    CertAddEncodedCertificateToStore, CertCloseStore, CertCreateCertificateContext,
    CertFreeCertificateContext, CertOpenStore, CertSerializeCertificateStoreElement,
    PKCS_7_ASN_ENCODING, X509_ASN_ENCODING,
};

const ENCODING: u32 = X509_ASN_ENCODING | PKCS_7_ASN_ENCODING;

fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16().chain(Some(0)).collect()
}

/// Add `der` to the current user's `MY` store, as certmgr.msc or CryptoPro's installer would.
pub fn add_to_personal_store(der: &[u8]) {
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
pub fn serialized(der: &[u8]) -> Vec<u8> {
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
