//! Containers kept by CryptoPro's "Registry" reader (domain reference §2.1): one key per
//! container whose binary values are the six `.key` files, read by the same parsers as a
//! container folder.
//!
//! Places, in the 64-bit view (a 64-bit Windows keeps the 32-bit CSP's keys under
//! `WOW6432Node`, so both spellings are read):
//! - per user: `HKLM\SOFTWARE\[WOW6432Node\]Crypto Pro\Settings\Users\<SID>\Keys\<container>`;
//! - the machine's: `HKLM\SOFTWARE\[WOW6432Node\]Crypto Pro\Settings\Keys\<container>`;
//! - UAC's virtualised copy of the per-user keys, in every loaded user hive:
//!   `HKU\<SID>\Software\Classes\VirtualStore\MACHINE\SOFTWARE\[WOW6432Node\]Crypto Pro\…`.
//!   Hives of users who are not signed in are not loaded and not read.
//!
//! Only reads: keys are opened with read access, nothing is created.

use windows_registry::{Key, LOCAL_MACHINE, USERS};

use super::RegistryWalk;
use super::read::read_container_values;
use crate::collect::registry::{open, subkeys, user_hives};
use crate::inventory::Media;

/// The CryptoPro key, under `SOFTWARE` (32-bit CSP on 64-bit Windows first, as most installs are).
const CRYPTO_PRO: [&str; 2] = [r"SOFTWARE\WOW6432Node\Crypto Pro", r"SOFTWARE\Crypto Pro"];
/// Where UAC redirects a non-elevated program's writes to `HKLM\SOFTWARE`, inside a user hive.
const VIRTUAL_STORE: &str = r"Software\Classes\VirtualStore\MACHINE";
/// Containers reported at most from the registry, whatever it holds.
const MAX_CONTAINERS: usize = 1024;

/// Read every registry container of this machine.
pub(super) fn registry_containers() -> RegistryWalk {
    let mut walk = RegistryWalk::default();
    for base in CRYPTO_PRO {
        let settings = format!(r"{base}\Settings");
        if let Some(users) = open(
            LOCAL_MACHINE,
            "HKLM",
            &format!(r"{settings}\Users"),
            &mut walk.errors,
        ) {
            per_user(&users, &format!(r"HKLM\{settings}\Users"), &mut walk);
        }
        let machine = format!(r"{settings}\Keys");
        if let Some(keys) = open(LOCAL_MACHINE, "HKLM", &machine, &mut walk.errors) {
            containers_in(&keys, &format!(r"HKLM\{machine}"), None, &mut walk);
        }
    }
    virtual_stores(&mut walk);
    walk
}

/// `…\Settings\Users`: one key per SID, each with its `Keys`.
fn per_user(users: &Key, location: &str, walk: &mut RegistryWalk) {
    for sid in subkeys(users, location, &mut walk.errors) {
        let keys_path = format!(r"{sid}\Keys");
        if let Some(keys) = open(users, location, &keys_path, &mut walk.errors) {
            containers_in(&keys, &format!(r"{location}\{keys_path}"), Some(sid), walk);
        }
    }
}

/// The virtualised copies in every loaded user hive.
fn virtual_stores(walk: &mut RegistryWalk) {
    for hive in user_hives(&mut walk.errors) {
        for base in CRYPTO_PRO {
            let path = format!(r"{hive}\{VIRTUAL_STORE}\{base}\Settings\Users");
            if let Some(users) = open(USERS, "HKU", &path, &mut walk.errors) {
                per_user(&users, &format!(r"HKU\{path}"), walk);
            }
        }
    }
}

/// Every container key under `keys`, each read from its values.
fn containers_in(keys: &Key, location: &str, owner: Option<String>, walk: &mut RegistryWalk) {
    for name in subkeys(keys, location, &mut walk.errors) {
        if walk.containers.len() >= MAX_CONTAINERS {
            // Said once, however many keys are left to skip.
            let capped = format!(
                "more than {MAX_CONTAINERS} registry containers; the rest are not reported"
            );
            if !walk.errors.contains(&capped) {
                walk.errors.push(capped);
            }
            return;
        }
        let container_location = format!(r"{location}\{name}");
        let Some(container) = open(keys, location, &name, &mut walk.errors) else {
            continue;
        };
        let values = match container.values() {
            Ok(values) => values
                .map(|(value_name, value)| (value_name, value.to_vec()))
                .collect::<Vec<_>>(),
            Err(error) => {
                walk.errors.push(format!(
                    "cannot read the values of {container_location}: {}",
                    error.message()
                ));
                continue;
            }
        };
        walk.containers.push(read_container_values(
            container_location,
            Media::Registry,
            owner.clone(),
            values,
        ));
    }
}
