//! The agent as a Windows service: installed from the command line (what Group Policy startup
//! scripts and SCCM run), started by the Service Control Manager at boot, restarted when it
//! fails, removed with `service uninstall`.
//!
//! Everything it keeps (identity, spool, log) is under `%ProgramData%\tokenwatch`, whose access
//! list is set to SYSTEM and Administrators only, not inherited: the agent's private key is
//! there.

use std::ffi::{OsStr, OsString};
use std::os::windows::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use windows_service::service::{
    ServiceAccess, ServiceAction, ServiceActionType, ServiceErrorControl, ServiceFailureActions,
    ServiceFailureResetPeriod, ServiceInfo, ServiceStartType, ServiceState, ServiceType,
};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
use windows_sys::Win32::Foundation::{ERROR_SUCCESS, LocalFree};
use windows_sys::Win32::Security::Authorization::{
    ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1, SE_FILE_OBJECT,
    SetNamedSecurityInfoW,
};
use windows_sys::Win32::Security::{
    ACL, DACL_SECURITY_INFORMATION, GetSecurityDescriptorDacl, PROTECTED_DACL_SECURITY_INFORMATION,
    PSECURITY_DESCRIPTOR,
};

use windows_strings::PWSTR;
use windows_sys::Win32::System::Com::CoTaskMemFree;
use windows_sys::Win32::UI::Shell::{FOLDERID_ProgramData, SHGetKnownFolderPath};

use super::event_log;

/// The service's name in the Service Control Manager and in `sc.exe`.
pub const SERVICE_NAME: &str = "tokenwatch-agent";
const DISPLAY_NAME: &str = "tokenwatch agent";
const DESCRIPTION: &str = "Inventories e-signature tokens, CryptoPro key containers and \
                           certificates on this computer and reports them to the tokenwatch server.";
/// Full control for SYSTEM and the Administrators group, inherited by everything inside, and
/// nothing from the parent folder (`P`).
const DATA_DIR_SDDL: &str = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)";
/// Restarts after a failure: soon, later, then every five minutes; the count resets after a day.
const RESTART_DELAYS: [Duration; 3] = [
    Duration::from_secs(10),
    Duration::from_secs(60),
    Duration::from_secs(300),
];
const FAILURE_RESET: Duration = Duration::from_secs(24 * 3600);
/// How long `uninstall` waits for a running service to stop.
const STOP_WAIT: Duration = Duration::from_secs(30);

/// A Windows service operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum WindowsServiceError {
    #[error("{action}: {source}")]
    Manager {
        action: &'static str,
        #[source]
        source: windows_service::Error,
    },
    #[error("setting the access list of {}: Windows error {code}", path.display())]
    Acl { path: PathBuf, code: u32 },
    #[error("the service did not stop within {} s", STOP_WAIT.as_secs())]
    StopTimedOut,
    #[error("{action} the event source (HKLM\\{key}): {source}", key = event_log::SOURCE_KEY)]
    EventSource {
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
}

fn manager_error(
    action: &'static str,
) -> impl FnOnce(windows_service::Error) -> WindowsServiceError {
    move |source| WindowsServiceError::Manager { action, source }
}

/// `%ProgramData%\tokenwatch`, the ProgramData folder as Windows' known folders name it: a
/// service's environment need not carry the variable the installer's shell had (under Wine it
/// points elsewhere), and both must find the same folder.
pub fn data_dir() -> PathBuf {
    program_data()
        .or_else(|| std::env::var_os("ProgramData").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(r"C:\ProgramData"))
        .join("tokenwatch")
}

#[allow(unsafe_code)] // SHGetKnownFolderPath has no safe wrapper in the crates used here
fn program_data() -> Option<PathBuf> {
    let mut path: windows_sys::core::PWSTR = std::ptr::null_mut();
    // SAFETY: a known folder id and a live out-pointer; the string Windows allocates is freed
    // once, below, whatever the outcome.
    let result =
        unsafe { SHGetKnownFolderPath(&FOLDERID_ProgramData, 0, std::ptr::null_mut(), &mut path) };
    let folder = (result == 0 && !path.is_null()).then(|| {
        let path = PWSTR(path);
        // SAFETY: on success `path` is a NUL-terminated UTF-16 string.
        PathBuf::from(OsString::from_wide(unsafe { path.as_wide() }))
    });
    // SAFETY: null or the string SHGetKnownFolderPath allocated.
    unsafe { CoTaskMemFree(path.cast()) };
    folder
}

/// The state folder inside [`data_dir`]: identity, sequence and spool.
pub fn default_state_dir() -> PathBuf {
    data_dir().join("state")
}

/// The service's log file inside [`data_dir`].
pub fn log_file() -> PathBuf {
    data_dir().join("agent.log")
}

/// Create `folder` (and its parents) and give it the access list of [`DATA_DIR_SDDL`].
#[allow(unsafe_code)] // the access-list API has no safe wrapper in the crates used here
pub fn create_private_dir(folder: &Path) -> Result<(), WindowsServiceError> {
    std::fs::create_dir_all(folder).map_err(|error| WindowsServiceError::Acl {
        path: folder.to_owned(),
        code: error
            .raw_os_error()
            .and_then(|c| u32::try_from(c).ok())
            .unwrap_or(0),
    })?;
    let sddl = wide(OsStr::new(DATA_DIR_SDDL));
    let path = wide(folder.as_os_str());
    let acl_error = |code| WindowsServiceError::Acl {
        path: folder.to_owned(),
        code,
    };
    let mut descriptor: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: `sddl` is NUL-terminated; on success the descriptor is allocated by the call and
    // freed below with LocalFree once its DACL, which points into it, has been applied.
    unsafe {
        if ConvertStringSecurityDescriptorToSecurityDescriptorW(
            sddl.as_ptr(),
            SDDL_REVISION_1,
            &mut descriptor,
            std::ptr::null_mut(),
        ) == 0
        {
            return Err(acl_error(last_error()));
        }
        let mut present = 0;
        let mut defaulted = 0;
        let mut dacl: *mut ACL = std::ptr::null_mut();
        let result = if GetSecurityDescriptorDacl(
            descriptor,
            &mut present,
            &mut dacl,
            &mut defaulted,
        ) == 0
        {
            last_error()
        } else {
            SetNamedSecurityInfoW(
                path.as_ptr(),
                SE_FILE_OBJECT,
                DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                dacl,
                std::ptr::null_mut(),
            )
        };
        LocalFree(descriptor);
        if result != ERROR_SUCCESS {
            return Err(acl_error(result));
        }
    }
    Ok(())
}

/// Register the service to run `executable service run --state-dir <state_dir>` as
/// LocalSystem at boot, with restarts on failure, and its event source (whose messages are in
/// `executable`), and start it. An installed service is reconfigured instead, so a startup
/// script may run this at every boot.
pub fn install(executable: &Path, state_dir: &Path) -> Result<(), WindowsServiceError> {
    // Before the start, so that the service's first entries already show their text.
    event_log::register_source(executable).map_err(|source| WindowsServiceError::EventSource {
        action: "registering",
        source,
    })?;
    let manager = ServiceManager::local_computer(
        None::<&str>,
        ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE,
    )
    .map_err(manager_error("connecting to the Service Control Manager"))?;
    let info = ServiceInfo {
        name: OsString::from(SERVICE_NAME),
        display_name: OsString::from(DISPLAY_NAME),
        service_type: ServiceType::OWN_PROCESS,
        start_type: ServiceStartType::AutoStart,
        error_control: ServiceErrorControl::Normal,
        executable_path: executable.to_owned(),
        launch_arguments: vec![
            OsString::from("service"),
            OsString::from("run"),
            OsString::from("--state-dir"),
            state_dir.as_os_str().to_owned(),
        ],
        dependencies: Vec::new(),
        // LocalSystem: it reads every user's stores and the machine's registry.
        account_name: None,
        account_password: None,
    };
    let access = ServiceAccess::CHANGE_CONFIG | ServiceAccess::START | ServiceAccess::QUERY_STATUS;
    let service = match manager.open_service(SERVICE_NAME, access) {
        Ok(service) => {
            service
                .change_config(&info)
                .map_err(manager_error("reconfiguring the installed service"))?;
            service
        }
        Err(_) => manager
            .create_service(&info, access)
            .map_err(manager_error("creating the service"))?,
    };
    service
        .set_description(DESCRIPTION)
        .map_err(manager_error("describing the service"))?;
    service
        .update_failure_actions(ServiceFailureActions {
            reset_period: ServiceFailureResetPeriod::After(FAILURE_RESET),
            reboot_msg: None,
            command: None,
            actions: Some(
                RESTART_DELAYS
                    .iter()
                    .map(|delay| ServiceAction {
                        action_type: ServiceActionType::Restart,
                        delay: *delay,
                    })
                    .collect(),
            ),
        })
        .map_err(manager_error("setting the restarts after a crash"))?;
    // An exit with an error code counts as a failure too, not only a crash. Older service
    // managers (Wine's among them) lack this setting: restarts then follow crashes only.
    if let Err(error) = service.set_failure_actions_on_non_crash_failures(true) {
        tracing::warn!(
            message = "Restarts will follow crashes only, not exits on an error.",
            %error
        );
    }
    let status = service
        .query_status()
        .map_err(manager_error("querying the service"))?;
    if status.current_state != ServiceState::Running {
        service
            .start::<&str>(&[])
            .map_err(manager_error("starting the service"))?;
    }
    Ok(())
}

/// Stop the service if it runs and remove it, and its event source. Returns false when the
/// service was not installed. The data folder stays: reinstalling keeps the agent's identity.
pub fn uninstall() -> Result<bool, WindowsServiceError> {
    let removed = remove_service()?;
    // Also when the service was not there: an install may have stopped between the two.
    event_log::remove_source().map_err(|source| WindowsServiceError::EventSource {
        action: "removing",
        source,
    })?;
    Ok(removed)
}

fn remove_service() -> Result<bool, WindowsServiceError> {
    let manager = ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT)
        .map_err(manager_error("connecting to the Service Control Manager"))?;
    let access = ServiceAccess::STOP | ServiceAccess::DELETE | ServiceAccess::QUERY_STATUS;
    let Ok(service) = manager.open_service(SERVICE_NAME, access) else {
        return Ok(false);
    };
    let status = service
        .query_status()
        .map_err(manager_error("querying the service"))?;
    if status.current_state != ServiceState::Stopped {
        service
            .stop()
            .map_err(manager_error("stopping the service"))?;
        let started = Instant::now();
        while service
            .query_status()
            .map_err(manager_error("querying the service"))?
            .current_state
            != ServiceState::Stopped
        {
            if started.elapsed() > STOP_WAIT {
                return Err(WindowsServiceError::StopTimedOut);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    service
        .delete()
        .map_err(manager_error("removing the service"))?;
    Ok(true)
}

fn wide(text: &OsStr) -> Vec<u16> {
    text.encode_wide().chain(Some(0)).collect()
}

fn last_error() -> u32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .and_then(|code| u32::try_from(code).ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use windows_sys::Win32::Security::Authorization::ConvertSecurityDescriptorToStringSecurityDescriptorW;
    use windows_sys::Win32::Security::{GetSecurityDescriptorControl, SE_DACL_PROTECTED};

    use super::*;

    #[test]
    #[allow(unsafe_code)] // the access-list API has no safe wrapper in the crates used here
    fn the_data_folder_list_is_system_and_administrators_only_and_not_inherited() {
        let sddl = wide(OsStr::new(DATA_DIR_SDDL));
        // SAFETY: NUL-terminated input; what the calls allocate is freed once with LocalFree.
        unsafe {
            let mut descriptor: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
            assert_ne!(
                ConvertStringSecurityDescriptorToSecurityDescriptorW(
                    sddl.as_ptr(),
                    SDDL_REVISION_1,
                    &mut descriptor,
                    std::ptr::null_mut(),
                ),
                0,
                "the list parses"
            );
            let mut control = 0;
            let mut revision = 0;
            assert_ne!(
                GetSecurityDescriptorControl(descriptor, &mut control, &mut revision),
                0
            );
            assert_ne!(
                control & SE_DACL_PROTECTED,
                0,
                "nothing inherited from above"
            );
            let mut text: *mut u16 = std::ptr::null_mut();
            assert_ne!(
                ConvertSecurityDescriptorToStringSecurityDescriptorW(
                    descriptor,
                    SDDL_REVISION_1,
                    DACL_SECURITY_INFORMATION,
                    &mut text,
                    std::ptr::null_mut(),
                ),
                0
            );
            let round_trip = String::from_utf16_lossy(PWSTR(text).as_wide());
            LocalFree(text.cast());
            LocalFree(descriptor);
            // Exactly two entries: full control for SYSTEM and for Administrators.
            assert_eq!(round_trip, "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)");
        }
    }
}
