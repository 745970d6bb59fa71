//! The smart-card service and remote desktop sessions, read by the real `components`
//! collector from Wine's real service manager and terminal services API. Wine has no SCardSvr:
//! the test registers one under that name, as Windows has it, changes its start type as an
//! administrator or a Group Policy would, then removes it.
#![cfg(windows)]

use std::ffi::OsString;

use tokenwatch_agent::ScanConfig;
use tokenwatch_agent::collect::Collector;
use tokenwatch_agent::collect::components::ComponentsCollector;
use tokenwatch_agent::findings::Code;
use tokenwatch_agent::inventory::{Components, ServiceState, StartType};
use tokenwatch_agent::paths::Paths;
use tokenwatch_agent::scan::scan_with;
use windows_service::service::{
    ServiceAccess, ServiceErrorControl, ServiceInfo, ServiceStartType, ServiceType,
};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};

const NAME: &str = "SCardSvr";

fn info(start_type: ServiceStartType) -> ServiceInfo {
    ServiceInfo {
        name: OsString::from(NAME),
        display_name: OsString::from("Smart Card"),
        service_type: ServiceType::OWN_PROCESS,
        start_type,
        error_control: ServiceErrorControl::Normal,
        // Never started by the test: any program will do.
        executable_path: std::env::current_exe().expect("this test's path"),
        launch_arguments: Vec::new(),
        dependencies: Vec::new(),
        account_name: None,
        account_password: None,
    }
}

fn components() -> Components {
    let root = tempfile::tempdir().expect("tempdir");
    let section = ComponentsCollector
        .collect(&ScanConfig::new(Paths::new(root.path())))
        .expect("the collector runs");
    assert!(section.errors.is_empty(), "{:?}", section.errors);
    section.components
}

/// Whether a whole scan (with this collector) reports the service as down.
fn service_down_finding() -> Option<String> {
    let root = tempfile::tempdir().expect("tempdir");
    let inventory = scan_with(
        vec![Box::new(ComponentsCollector)],
        &ScanConfig::new(Paths::new(root.path())),
    );
    inventory
        .findings
        .into_iter()
        .find(|f| f.code == Code::SmartCardServiceDown)
        .map(|f| f.message)
}

#[test]
fn the_smart_card_service_s_state_and_start_type_and_the_sessions_are_read() {
    let manager = ServiceManager::local_computer(
        None::<&str>,
        ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE,
    )
    .expect("the service manager");
    let access = ServiceAccess::CHANGE_CONFIG | ServiceAccess::DELETE | ServiceAccess::QUERY_STATUS;
    assert!(
        manager.open_service(NAME, access).is_err(),
        "Wine has no {NAME} of its own; a leftover of an earlier run would be reused wrongly"
    );

    let before = components();
    assert_eq!(before.smart_card_service, Some(ServiceState::NotInstalled));
    assert_eq!(before.smart_card_service_start, None);
    // This test does not run in a remote desktop session, and nobody else signs in over RDP.
    assert_eq!(before.remote_sessions, Some(0));

    let service = manager
        .create_service(&info(ServiceStartType::Disabled), access)
        .expect("register the service");
    let disabled = components();
    let outcome = std::panic::catch_unwind(|| {
        assert_eq!(disabled.smart_card_service, Some(ServiceState::Stopped));
        assert_eq!(disabled.smart_card_service_start, Some(StartType::Disabled));
        // The scan then reports it: a disabled service never lets a reader work.
        let down = service_down_finding().expect("a disabled service is a finding");
        assert!(down.contains("disabled"), "{down}");

        service
            .change_config(&info(ServiceStartType::OnDemand))
            .expect("on demand, as Windows installs it");
        let on_demand = components();
        assert_eq!(on_demand.smart_card_service, Some(ServiceState::Stopped));
        assert_eq!(on_demand.smart_card_service_start, Some(StartType::Manual));
        // Stopped on demand with nothing plugged in is how Windows leaves it: no finding.
        assert_eq!(service_down_finding(), None);
    });
    service.delete().expect("remove the service");
    drop(service);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
