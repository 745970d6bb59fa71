//! The smart-card service as Windows' service manager has it: whether it runs and how it
//! starts. Windows starts SCardSvr when a reader arrives and stops it after the last one
//! leaves, so "stopped" alone says little; "disabled" means no reader will ever work.

use windows_service::service::{ServiceAccess, ServiceStartType, ServiceState as ScmState};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
use windows_sys::Win32::Foundation::ERROR_SERVICE_DOES_NOT_EXIST;

use crate::inventory::{ServiceState, StartType};

/// The Smart Card service's name (domain reference §7.1).
pub(super) const SMART_CARD_SERVICE: &str = "SCardSvr";

/// `name`'s state and start type; a service that does not exist is `NotInstalled`.
pub(super) fn service_state(name: &str) -> Result<(ServiceState, Option<StartType>), String> {
    let manager = ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT)
        .map_err(|error| format!("cannot reach the service manager: {error}"))?;
    let service = match manager.open_service(
        name,
        ServiceAccess::QUERY_STATUS | ServiceAccess::QUERY_CONFIG,
    ) {
        Ok(service) => service,
        Err(windows_service::Error::Winapi(error))
            if error.raw_os_error() == i32::try_from(ERROR_SERVICE_DOES_NOT_EXIST).ok() =>
        {
            return Ok((ServiceState::NotInstalled, None));
        }
        Err(error) => return Err(format!("cannot open service {name}: {error}")),
    };
    let state = match service.query_status() {
        Ok(status) => match status.current_state {
            ScmState::Running | ScmState::StartPending | ScmState::ContinuePending => {
                ServiceState::Running
            }
            ScmState::Stopped | ScmState::StopPending => ServiceState::Stopped,
            ScmState::Paused | ScmState::PausePending => ServiceState::Unknown,
        },
        Err(error) => return Err(format!("cannot query service {name}: {error}")),
    };
    let start = service
        .query_config()
        .map_err(|error| format!("cannot read service {name}'s configuration: {error}"))?
        .start_type;
    Ok((state, Some(start_type(start))))
}

fn start_type(start: ServiceStartType) -> StartType {
    match start {
        ServiceStartType::AutoStart
        | ServiceStartType::SystemStart
        | ServiceStartType::BootStart => StartType::Automatic,
        ServiceStartType::OnDemand => StartType::Manual,
        ServiceStartType::Disabled => StartType::Disabled,
    }
}
