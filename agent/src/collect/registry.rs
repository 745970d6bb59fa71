//! Reading the Windows registry for the collectors: keys opened for reading only, a key that is
//! not there is simply absent, and any other failure is one line in the collector's errors.

use windows_registry::{Key, USERS};

/// `HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)`, read as the signed code `windows` reports.
#[allow(clippy::cast_possible_wrap)] // an HRESULT is the same 32 bits read as signed
pub(crate) const NOT_FOUND: i32 = 0x8007_0002_u32 as i32;

/// `path` under `parent` (which `parent_location` names, `HKLM` or a key's path) opened for
/// reading. `None` when the key is not there (no error) or cannot be opened (an error in
/// `errors` naming it in full).
pub(crate) fn open(
    parent: &Key,
    parent_location: &str,
    path: &str,
    errors: &mut Vec<String>,
) -> Option<Key> {
    match parent.options().read().open(path) {
        Ok(key) => Some(key),
        Err(error) if error.code().0 == NOT_FOUND => None,
        Err(error) => {
            errors.push(format!(
                r"cannot open {parent_location}\{path}: {}",
                error.message()
            ));
            None
        }
    }
}

/// The user hives loaded under `HKEY_USERS` (one per signed-in user, and the service
/// accounts'), by SID. Their `_Classes` twins are the same hives' classes and are left out.
pub(crate) fn user_hives(errors: &mut Vec<String>) -> Vec<String> {
    let mut hives = subkeys(USERS, "HKU", errors);
    hives.retain(|hive| !hive.ends_with("_Classes"));
    hives
}

/// The names of `key`'s subkeys; none, with an error in `errors`, when they cannot be listed.
pub(crate) fn subkeys(key: &Key, location: &str, errors: &mut Vec<String>) -> Vec<String> {
    match key.keys() {
        Ok(names) => names.collect(),
        Err(error) => {
            errors.push(format!(
                "cannot list the subkeys of {location}: {}",
                error.message()
            ));
            Vec::new()
        }
    }
}
