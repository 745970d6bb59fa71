//! The agent's .exe carries the message table Event Viewer shows its event log entries with:
//! read back as Event Viewer does, through FormatMessageW on the .exe loaded as data, each event
//! id gives the entry's one string. (The source's registration is checked in
//! `windows_service.rs`, with the service it belongs to.)
#![cfg(windows)]
#![allow(unsafe_code)] // LoadLibraryExW and FormatMessageW have no safe wrapper here

use windows_sys::Win32::Foundation::{FreeLibrary, HMODULE};
use windows_sys::Win32::System::Diagnostics::Debug::{
    FORMAT_MESSAGE_ARGUMENT_ARRAY, FORMAT_MESSAGE_FROM_HMODULE, FormatMessageW,
};
use windows_sys::Win32::System::LibraryLoader::{LOAD_LIBRARY_AS_DATAFILE, LoadLibraryExW};

const BIN: &str = env!("CARGO_BIN_EXE_tokenwatch-agent");

/// The .exe's message `id` with `%1` replaced by `insert`, or None when it has no such message.
fn message(module: HMODULE, id: u32, insert: &str) -> Option<String> {
    let insert: Vec<u16> = insert.encode_utf16().chain(Some(0)).collect();
    let arguments = [insert.as_ptr()];
    let mut buffer = [0u16; 512];
    // SAFETY: `module` is loaded; the argument array holds one NUL-terminated string, as
    // FORMAT_MESSAGE_ARGUMENT_ARRAY reads it; `buffer` is as long as the size given.
    let length = unsafe {
        FormatMessageW(
            FORMAT_MESSAGE_FROM_HMODULE | FORMAT_MESSAGE_ARGUMENT_ARRAY,
            module.cast_const(),
            id,
            0,
            buffer.as_mut_ptr(),
            u32::try_from(buffer.len()).expect("small"),
            arguments.as_ptr().cast(),
        )
    };
    let length = usize::try_from(length).expect("u32 fits");
    (length > 0).then(|| String::from_utf16_lossy(&buffer[..length]))
}

#[test]
fn every_event_id_of_the_agent_shows_its_text() {
    let path: Vec<u16> = BIN.encode_utf16().chain(Some(0)).collect();
    // SAFETY: `path` is NUL-terminated; loaded as data, nothing in the .exe runs.
    let module = unsafe {
        LoadLibraryExW(
            path.as_ptr(),
            std::ptr::null_mut(),
            LOAD_LIBRARY_AS_DATAFILE,
        )
    };
    assert!(
        !module.is_null(),
        "{BIN} loads: {}",
        std::io::Error::last_os_error()
    );
    // Information, warning, error: the ids `service::event_log` writes.
    for id in [1, 2, 3] {
        assert_eq!(
            message(module, id, "hello").as_deref(),
            Some("hello\r\n"),
            "event id {id}"
        );
    }
    assert_eq!(message(module, 4, "hello"), None, "no other id");
    // SAFETY: loaded above, freed once.
    unsafe { FreeLibrary(module) };
}
