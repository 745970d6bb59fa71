//! The event source `tokenwatch-agent` in the Application log: its registration (what
//! `service install` and `uninstall` do) and the handle entries are written through.

use std::io;
use std::path::Path;

use windows_registry::LOCAL_MACHINE;
use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::System::EventLog::{
    DeregisterEventSource, EVENTLOG_ERROR_TYPE, EVENTLOG_INFORMATION_TYPE, EVENTLOG_WARNING_TYPE,
    RegisterEventSourceW, ReportEventW,
};

use super::{EventKind, Sink};
use crate::collect::registry::NOT_FOUND;
use crate::service::windows::SERVICE_NAME;

/// The source's key under `HKLM`: Event Viewer reads the message table from the file its
/// `EventMessageFile` names.
pub const SOURCE_KEY: &str =
    r"SYSTEM\CurrentControlSet\Services\EventLog\Application\tokenwatch-agent";
/// Error, warning and information entries (`EVENTLOG_*_TYPE` or-ed).
const TYPES_SUPPORTED: u32 = 7;

/// A handle to the event log for the source `tokenwatch-agent`, or the Windows error code that
/// kept it from opening.
#[derive(Debug)]
pub struct EventSource {
    handle: Result<HANDLE, i32>,
}

/// Register the source with `executable` (the installed .exe, which holds the message table).
/// Writes the same values again when it is registered.
pub fn register_source(executable: &Path) -> io::Result<()> {
    let key = LOCAL_MACHINE.create(SOURCE_KEY)?;
    // REG_EXPAND_SZ, the type Windows documents for it.
    key.set_expand_string("EventMessageFile", executable.to_string_lossy())?;
    key.set_u32("TypesSupported", TYPES_SUPPORTED)?;
    Ok(())
}

/// Remove the source's key; false when it was not there. Entries already written stay in the
/// log, and Event Viewer can no longer show their text.
pub fn remove_source() -> io::Result<bool> {
    match LOCAL_MACHINE.remove_tree(SOURCE_KEY) {
        Ok(()) => Ok(true),
        Err(error) if error.code().0 == NOT_FOUND => Ok(false),
        Err(error) => Err(error.into()),
    }
}

// === impl EventSource ===

impl EventSource {
    /// Open the source on this computer. A failure is kept: every write then reports it, and
    /// the layer notes it once in the file log.
    #[allow(unsafe_code)] // the event log API has no safe wrapper in the crates used here
    pub fn open() -> Self {
        let name: Vec<u16> = SERVICE_NAME.encode_utf16().chain(Some(0)).collect();
        // SAFETY: `name` is NUL-terminated and outlives the call; a null server means this
        // computer.
        let handle = unsafe { RegisterEventSourceW(std::ptr::null(), name.as_ptr()) };
        Self {
            handle: if handle.is_null() {
                Err(io::Error::last_os_error().raw_os_error().unwrap_or(0))
            } else {
                Ok(handle)
            },
        }
    }
}

impl Sink for EventSource {
    #[allow(unsafe_code)] // the event log API has no safe wrapper in the crates used here
    fn report(&self, kind: EventKind, text: &str) -> io::Result<()> {
        let handle = self.handle.map_err(io::Error::from_raw_os_error)?;
        let kind_type = match kind {
            EventKind::Information => EVENTLOG_INFORMATION_TYPE,
            EventKind::Warning => EVENTLOG_WARNING_TYPE,
            EventKind::Error => EVENTLOG_ERROR_TYPE,
        };
        let text: Vec<u16> = text.encode_utf16().chain(Some(0)).collect();
        let strings = [text.as_ptr()];
        // SAFETY: `handle` is open until drop; `strings` holds one NUL-terminated string, both
        // live through the call; no user SID and no binary data.
        let written = unsafe {
            ReportEventW(
                handle,
                kind_type,
                0,
                kind.id(),
                std::ptr::null_mut(),
                1,
                0,
                strings.as_ptr(),
                std::ptr::null(),
            )
        };
        if written == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for EventSource {
    #[allow(unsafe_code)] // the event log API has no safe wrapper in the crates used here
    fn drop(&mut self) {
        if let Ok(handle) = self.handle {
            // SAFETY: the handle came from RegisterEventSourceW and is closed once, here.
            unsafe { DeregisterEventSource(handle) };
        }
    }
}

// SAFETY: an event log handle is not tied to the thread that opened it, and ReportEventW may be
// called on one handle from several threads at once (the service's runtime logs from any).
#[allow(unsafe_code)]
unsafe impl Send for EventSource {}
#[allow(unsafe_code)]
unsafe impl Sync for EventSource {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_of_each_kind_is_accepted() {
        // Wine's ReportEventW accepts and discards; on Windows these land in the Application
        // log under the source name, registered or not.
        let source = EventSource::open();
        for kind in [EventKind::Information, EventKind::Warning, EventKind::Error] {
            source
                .report(kind, &format!("tokenwatch-agent unit test: {kind:?} entry"))
                .expect("written");
        }
    }
}
