//! Remote desktop sessions on a Windows host: how many users work here over RDP, which is what
//! makes a computer a terminal server for the helpdesk (tokens then come from the users' own
//! computers, through smart-card redirection).
//!
//! The counting rule is pure and tested everywhere; the Windows shim lists the sessions with
//! `WTSEnumerateSessionsW` and asks each for its protocol.

/// What Windows says of one session (`WTS_SESSION_INFOW` and `WTSClientProtocolType`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Session {
    pub(super) id: u32,
    /// `Services`, `Console`, `RDP-Tcp` (the listener), `RDP-Tcp#12`, or empty when
    /// disconnected.
    pub(super) station: String,
    /// `WTS_CONNECTSTATE_CLASS`: 0 active, 1 connected, 4 disconnected, 6 listening…
    pub(super) state: i32,
    /// `WTSClientProtocolType`: 0 console, 2 RDP; `None` where it could not be asked.
    pub(super) protocol: Option<u16>,
}

const ACTIVE: i32 = 0;
const CONNECTED: i32 = 1;
const DISCONNECTED: i32 = 4;
const RDP_PROTOCOL: u16 = 2;

/// Remote desktop sessions signed in or disconnected: a user's session over RDP, not the
/// console, not session 0 (services) and not the listener that waits for connections.
pub(super) fn count_remote(sessions: &[Session]) -> u32 {
    let remote = sessions.iter().filter(|session| {
        let holds_a_user = matches!(session.state, ACTIVE | CONNECTED | DISCONNECTED);
        let over_rdp = match session.protocol {
            Some(protocol) => protocol == RDP_PROTOCOL,
            // Without the protocol, the station's name tells an RDP connection (`RDP-Tcp#3`).
            None => session.station.starts_with("RDP-Tcp#"),
        };
        session.id != 0 && holds_a_user && over_rdp
    });
    u32::try_from(remote.count()).unwrap_or(u32::MAX)
}

#[cfg(windows)]
pub(super) use platform::list_sessions;

#[cfg(windows)]
mod platform {
    #![allow(unsafe_code)] // WTS functions have no safe wrapper in the crates used here

    use windows_sys::Win32::System::RemoteDesktop::{
        WTS_CURRENT_SERVER_HANDLE, WTS_SESSION_INFOW, WTSClientProtocolType, WTSEnumerateSessionsW,
        WTSFreeMemory, WTSQuerySessionInformationW,
    };

    use windows_strings::PCWSTR;

    use super::Session;

    /// Every session on this host, with its protocol where Windows tells it.
    pub(in crate::collect::components) fn list_sessions() -> Result<Vec<Session>, String> {
        let mut first: *mut WTS_SESSION_INFOW = std::ptr::null_mut();
        let mut count = 0_u32;
        // SAFETY: both out-pointers are live; on success Windows hands over `count` entries
        // that are freed once, below.
        let listed = unsafe {
            WTSEnumerateSessionsW(WTS_CURRENT_SERVER_HANDLE, 0, 1, &mut first, &mut count)
        };
        if listed == 0 {
            return Err(format!(
                "cannot list remote desktop sessions: {}",
                std::io::Error::last_os_error()
            ));
        }
        let length = usize::try_from(count).unwrap_or(0);
        let mut sessions = Vec::with_capacity(length);
        if !first.is_null() {
            // SAFETY: Windows returned `count` contiguous entries at `first`.
            let entries = unsafe { std::slice::from_raw_parts(first, length) };
            for entry in entries {
                sessions.push(Session {
                    id: entry.SessionId,
                    station: station_name(entry.pWinStationName),
                    state: entry.State,
                    protocol: protocol(entry.SessionId),
                });
            }
            // SAFETY: the block WTSEnumerateSessionsW allocated, freed once.
            unsafe { WTSFreeMemory(first.cast()) };
        }
        Ok(sessions)
    }

    /// A session's station name; empty when Windows gives none.
    fn station_name(name: *const u16) -> String {
        if name.is_null() {
            return String::new();
        }
        let name = PCWSTR(name);
        // SAFETY: a NUL-terminated string inside the block WTSEnumerateSessionsW returned.
        String::from_utf16_lossy(unsafe { name.as_wide() })
    }

    /// `WTSClientProtocolType` of one session: a `u16` Windows allocates.
    fn protocol(session: u32) -> Option<u16> {
        let mut buffer: *mut u16 = std::ptr::null_mut();
        let mut size = 0_u32;
        // SAFETY: out-pointers are live; the buffer is freed once below.
        let asked = unsafe {
            WTSQuerySessionInformationW(
                WTS_CURRENT_SERVER_HANDLE,
                session,
                WTSClientProtocolType,
                &mut buffer,
                &mut size,
            )
        };
        if asked == 0 || buffer.is_null() {
            return None;
        }
        // SAFETY: Windows wrote `size` bytes at `buffer`; a u16 is read only when they hold one.
        let value = (size >= 2).then(|| unsafe { buffer.cast::<u16>().read_unaligned() });
        // SAFETY: the buffer WTSQuerySessionInformationW allocated, freed once.
        unsafe { WTSFreeMemory(buffer.cast()) };
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: u32, station: &str, state: i32, protocol: Option<u16>) -> Session {
        Session {
            id,
            station: station.to_owned(),
            state,
            protocol,
        }
    }

    #[test]
    fn users_over_rdp_count_and_the_rest_does_not() {
        // A terminal server: services, the listener, a console user, two RDP users, one of
        // them disconnected (its station name is gone, its protocol stays).
        let server = [
            session(0, "Services", DISCONNECTED, Some(0)),
            session(65536, "RDP-Tcp", 6, Some(0)),
            session(1, "Console", ACTIVE, Some(0)),
            session(2, "RDP-Tcp#4", ACTIVE, Some(RDP_PROTOCOL)),
            session(3, "", DISCONNECTED, Some(RDP_PROTOCOL)),
        ];
        assert_eq!(count_remote(&server), 2);
        // A workstation with only its console.
        assert_eq!(count_remote(&server[..3]), 0);
    }

    #[test]
    fn without_the_protocol_the_station_name_decides() {
        let sessions = [
            session(2, "RDP-Tcp#4", ACTIVE, None),
            session(3, "RDP-Tcp", 6, None),
            session(4, "Console", ACTIVE, None),
            session(5, "", DISCONNECTED, None),
        ];
        assert_eq!(count_remote(&sessions), 1);
    }
}
