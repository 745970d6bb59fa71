//! Removable drives on Windows (`E:\`), whose root folder CSP's FLASH reader looks in.

use std::path::PathBuf;

use windows_sys::Win32::Storage::FileSystem::{GetDriveTypeW, GetLogicalDrives};
use windows_sys::Win32::System::WindowsProgramming::DRIVE_REMOVABLE;

/// `ERROR_NOT_READY`: a card reader slot or a drive with no medium in it.
const NOT_READY: i32 = 21;

/// The roots of the removable drives that hold a medium.
#[allow(unsafe_code)] // two Win32 calls without a safe wrapper in the crates used here
pub(super) fn removable_drives() -> Vec<PathBuf> {
    // SAFETY: no arguments; returns a bit mask of drive letters.
    let mask = unsafe { GetLogicalDrives() };
    (0..26_u8)
        .filter(|bit| mask & (1 << bit) != 0)
        .map(|bit| format!("{}:\\", char::from(b'A' + bit)))
        .filter(|root| {
            let wide: Vec<u16> = root.encode_utf16().chain(Some(0)).collect();
            // SAFETY: `wide` is a NUL-terminated root path that outlives the call.
            unsafe { GetDriveTypeW(wide.as_ptr()) == DRIVE_REMOVABLE }
        })
        .map(PathBuf::from)
        .filter(|root| match std::fs::metadata(root) {
            Err(error) => error.raw_os_error() != Some(NOT_READY),
            Ok(_) => true,
        })
        .collect()
}
