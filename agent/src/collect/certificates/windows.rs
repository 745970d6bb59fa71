//! Windows' own certificate stores, where CryptoPro installs certificates ("install into the
//! Personal store"), read without CryptoAPI and without loading anyone's registry hive:
//!
//! - the machine's `MY`, `CA` and `ROOT` (`HKLM\SOFTWARE\Microsoft\SystemCertificates`);
//! - the same stores of every loaded user hive (`HKU\<SID>\Software\Microsoft\SystemCertificates`);
//! - the Personal store of every profile on disk, signed in or not
//!   (`<profile>\AppData\Roaming\Microsoft\SystemCertificates\My\Certificates`), profiles taken
//!   from the ProfileList. On a terminal server with thousands of profiles the walk pauses
//!   between profiles to use at most half of one CPU ([`Throttle`]) and stops at the
//!   collector's deadline; profiles left are reported as not read.
//!
//! Each certificate is one serialized store element ([`store_element`]), with the link to its
//! private key (provider and container) when it has one: the link is shown in the source's
//! location, as certmgr shows it on Linux. A personal certificate in a Personal store without a
//! link is `certificate.key_link_missing`: programs that sign do not offer it.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use windows_registry::{Key, LOCAL_MACHINE, USERS};
use windows_sys::Win32::System::Environment::ExpandEnvironmentStringsW;

use super::files::{ReadError, read_capped};
use super::key_link_missing;
use super::serialized::{KeyLink, MAX_SERIALIZED, SerializedError, store_element};
use super::summary::summarize;
use crate::collect::Section;
use crate::collect::registry::{open, subkeys, user_hives};
use crate::collect::throttle::{SHARE, SLICE, Throttle, thread_cpu};
use crate::config::ScanConfig;
use crate::findings::{Code, Finding};
use crate::inventory::{CertificateSource, SourceKind};

const MACHINE_STORES: &str = r"SOFTWARE\Microsoft\SystemCertificates";
const USER_STORES: &str = r"Software\Microsoft\SystemCertificates";
/// The personal store, then the stores where issuers live (so chains can be checked).
const STORES: [&str; 3] = [PERSONAL, "CA", "ROOT"];
const PERSONAL: &str = "MY";
const PROFILE_LIST: &str = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList";
/// A profile's Personal store on disk.
const PROFILE_PERSONAL: &str = r"AppData\Roaming\Microsoft\SystemCertificates\My\Certificates";
/// Certificates read from one store at most: a store is a few dozen in practice.
const MAX_PER_STORE: usize = 5000;

/// Read every store into `section` until `deadline`. Windows always has stores: returns true.
pub(super) fn collect(_config: &ScanConfig, deadline: Instant, section: &mut Section) -> bool {
    for store in STORES {
        let path = format!(r"{MACHINE_STORES}\{store}");
        registry_store(LOCAL_MACHINE, "HKLM", &path, store == PERSONAL, section);
    }
    for hive in user_hives(&mut section.errors) {
        for store in STORES {
            let path = format!(r"{hive}\{USER_STORES}\{store}");
            registry_store(USERS, "HKU", &path, store == PERSONAL, section);
        }
    }
    profiles(deadline, section);
    true
}

/// `…\<store>\Certificates\<SHA-1>` keys, each with the element in its `Blob` value.
fn registry_store(hive: &Key, hive_name: &str, path: &str, personal: bool, section: &mut Section) {
    let location = format!(r"{hive_name}\{path}");
    let Some(certificates) = open(
        hive,
        hive_name,
        &format!(r"{path}\Certificates"),
        &mut section.errors,
    ) else {
        return;
    };
    for thumbprint in subkeys(&certificates, &location, &mut section.errors)
        .into_iter()
        .take(MAX_PER_STORE)
    {
        let entry = format!(r"{location}\Certificates\{thumbprint}");
        let blob = certificates
            .options()
            .read()
            .open(&thumbprint)
            .and_then(|key| key.get_value("Blob"));
        match blob {
            Ok(blob) => add(&blob, &location, &entry, personal, section),
            Err(error) => unparsable(&entry, &error.message(), section),
        }
    }
}

/// Every profile's Personal store on disk, until `deadline`.
fn profiles(deadline: Instant, section: &mut Section) {
    let location = format!(r"HKLM\{PROFILE_LIST}");
    let Some(list) = open(LOCAL_MACHINE, "HKLM", PROFILE_LIST, &mut section.errors) else {
        return;
    };
    let sids = subkeys(&list, &location, &mut section.errors);
    let mut throttle = Throttle::new(SLICE, SHARE, Instant::now(), thread_cpu());
    for (index, sid) in sids.iter().enumerate() {
        if Instant::now() >= deadline {
            section.errors.push(format!(
                "{} of {} profiles' Personal stores not read: no time left",
                sids.len() - index,
                sids.len()
            ));
            return;
        }
        let Ok(image) = list
            .options()
            .read()
            .open(sid)
            .and_then(|key| key.get_string("ProfileImagePath"))
        else {
            continue;
        };
        let folder = PathBuf::from(expand_environment(&image)).join(PROFILE_PERSONAL);
        profile_store(&folder, section);
        throttle.breathe(deadline);
    }
}

fn profile_store(folder: &Path, section: &mut Section) {
    let entries = match fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return,
        Err(error) => {
            let location = folder.display().to_string();
            section
                .errors
                .push(format!("cannot list {location}: {error}"));
            return;
        }
    };
    let location = folder.display().to_string();
    for entry in entries.take(MAX_PER_STORE) {
        let path = match entry {
            Ok(entry) => entry.path(),
            Err(error) => {
                section
                    .errors
                    .push(format!("cannot list {location}: {error}"));
                return;
            }
        };
        let entry = path.display().to_string();
        let limit = u64::try_from(MAX_SERIALIZED).unwrap_or(u64::MAX);
        match read_capped(&path, limit) {
            Ok(bytes) => add(&bytes, &location, &entry, true, section),
            Err(ReadError::Io(error)) => unparsable(&entry, &error.to_string(), section),
            Err(ReadError::TooLarge(size)) => {
                let error = SerializedError::TooLarge {
                    size: usize::try_from(size).unwrap_or(usize::MAX),
                };
                unparsable(&entry, &error.to_string(), section);
            }
        }
    }
}

/// Summarise the certificate in one serialized element; `store` is the source's location,
/// `personal` whether it is a Personal store (where a certificate needs its key link).
fn add(element: &[u8], store: &str, entry: &str, personal: bool, section: &mut Section) {
    let element = match store_element(element) {
        Ok(element) => element,
        Err(error) => return unparsable(entry, &error.to_string(), section),
    };
    let link = match element.key_link {
        Some(Ok(link)) => Some(link),
        Some(Err(error)) => {
            section.errors.push(format!(
                "{entry}: the link to its private key cannot be read: {error}"
            ));
            None
        }
        None => None,
    };
    let source = CertificateSource {
        kind: SourceKind::CryptoproStore,
        location: match &link {
            Some(link) => linked_location(store, link),
            None => store.to_owned(),
        },
    };
    let certificate = match summarize(element.der, source) {
        Ok(certificate) => certificate,
        Err(error) => return unparsable(entry, &error.to_string(), section),
    };
    // A CA certificate in the Personal store has no key here to link to.
    if personal && link.is_none() && !certificate.is_ca {
        section.findings.push(key_link_missing(&certificate, store));
    }
    section.certificates.push(certificate);
}

/// The store with the key's container and provider, as certmgr's listing shows them.
fn linked_location(store: &str, link: &KeyLink) -> String {
    match &link.provider {
        Some(provider) => format!("{store} (container {}, {provider})", link.container),
        None => format!("{store} (container {})", link.container),
    }
}

fn unparsable(entry: &str, reason: &str, section: &mut Section) {
    section.findings.push(Finding::new(
        Code::FileUnparsable,
        entry.to_owned(),
        format!("The certificate store entry {entry} cannot be read: {reason}."),
    ));
}

/// `%SystemDrive%\Users\anna` expanded by Windows from the agent's environment (a name it
/// lacks stays as it is); the text unchanged if Windows cannot expand it.
#[allow(unsafe_code)] // ExpandEnvironmentStringsW has no safe wrapper in the crates used here
fn expand_environment(text: &str) -> String {
    let source: Vec<u16> = text.encode_utf16().chain(Some(0)).collect();
    let mut expanded = vec![0_u16; source.len().max(260)];
    loop {
        let capacity = u32::try_from(expanded.len()).unwrap_or(u32::MAX);
        // SAFETY: `source` is NUL-terminated; `expanded` holds `capacity` UTF-16 units.
        let needed =
            unsafe { ExpandEnvironmentStringsW(source.as_ptr(), expanded.as_mut_ptr(), capacity) };
        let needed = usize::try_from(needed).unwrap_or(usize::MAX);
        if needed == 0 || needed == usize::MAX {
            return text.to_owned();
        }
        if needed <= expanded.len() {
            // `needed` counts the terminating NUL.
            return String::from_utf16_lossy(&expanded[..needed - 1]);
        }
        expanded.resize(needed, 0);
    }
}
