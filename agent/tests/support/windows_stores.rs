//! Puts certificates where Windows keeps them, through CryptoAPI, for the Windows tests and
//! figures: the stored form is then Windows' (Wine's) own, not this code's.
#![allow(unsafe_code)]
// CryptoAPI has no safe wrapper in the crates used here
// Each binary that includes this module uses a different part of it.
#![allow(dead_code, unreachable_pub)]

use windows_sys::Win32::Security::Cryptography::{
    AT_SIGNATURE, CERT_CONTEXT, CERT_KEY_PROV_INFO_PROP_ID, CERT_STORE_ADD_REPLACE_EXISTING,
    CERT_STORE_PROV_SYSTEM_W, CERT_SYSTEM_STORE_CURRENT_USER, CRYPT_KEY_PROV_INFO,
    CertAddEncodedCertificateToStore, CertCloseStore, CertCreateCertificateContext,
    CertFreeCertificateContext, CertOpenStore, CertSerializeCertificateStoreElement,
    CertSetCertificateContextProperty, PKCS_7_ASN_ENCODING, X509_ASN_ENCODING,
};

const ENCODING: u32 = X509_ASN_ENCODING | PKCS_7_ASN_ENCODING;

fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16().chain(Some(0)).collect()
}

/// Where a certificate's private key is: container, provider and provider type.
pub struct KeyLink<'a> {
    pub container: &'a str,
    pub provider: &'a str,
    pub provider_type: u32,
}

/// Add `der` to the current user's `MY` store, as certmgr.msc or CryptoPro's installer would,
/// linked to its private key when `link` says where it is ("Install personal certificate").
pub fn add_to_personal_store(der: &[u8], link: Option<KeyLink<'_>>) {
    let name = wide("MY");
    let length = u32::try_from(der.len()).expect("short");
    let mut added: *mut CERT_CONTEXT = std::ptr::null_mut();
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
        let ok = CertAddEncodedCertificateToStore(
            store,
            ENCODING,
            der.as_ptr(),
            length,
            CERT_STORE_ADD_REPLACE_EXISTING,
            &mut added,
        );
        assert_ne!(ok, 0, "add the certificate");
        if let Some(link) = link {
            let mut container = wide(link.container);
            let mut provider = wide(link.provider);
            let info = CRYPT_KEY_PROV_INFO {
                pwszContainerName: container.as_mut_ptr(),
                pwszProvName: provider.as_mut_ptr(),
                dwProvType: link.provider_type,
                dwFlags: 0,
                cProvParam: 0,
                rgProvParam: std::ptr::null_mut(),
                dwKeySpec: AT_SIGNATURE,
            };
            let set = CertSetCertificateContextProperty(
                added,
                CERT_KEY_PROV_INFO_PROP_ID,
                0,
                std::ptr::from_ref(&info).cast(),
            );
            assert_ne!(set, 0, "link the private key");
        }
        CertFreeCertificateContext(added);
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
