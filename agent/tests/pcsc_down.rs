//! No smart-card service: the readers collector says so instead of failing, and the scan turns
//! that into the `pcsc.service_down` finding.
//!
//! One test: the client is pointed at a socket nobody serves, and libpcsclite reads that name
//! once per process.

// Linux only: pcsc-lite socket path.
#![cfg(target_os = "linux")]

use tokenwatch_agent::ScanConfig;
use tokenwatch_agent::collect::readers::Readers;
use tokenwatch_agent::collect::{Collector, components::ComponentsCollector};
use tokenwatch_agent::findings::{Code, Severity};
use tokenwatch_agent::inventory::{CollectorOutcome, ServiceState};
use tokenwatch_agent::paths::Paths;
use tokenwatch_agent::scan::scan_with;

#[allow(unsafe_code)]
fn point_client_at(socket: &std::path::Path) {
    // SAFETY: called once, first thing in the only test of this binary, before any PC/SC call;
    // no other thread reads the environment meanwhile (the harness thread only waits).
    unsafe { std::env::set_var("PCSCLITE_CSOCK_NAME", socket) };
}

#[test]
fn stopped_service_is_reported_as_data_and_diagnosed() {
    let root = tempfile::tempdir().expect("tempdir");
    point_client_at(&root.path().join("no-pcscd-here/pcscd.comm"));
    let config = ScanConfig::new(Paths::new(root.path()));

    let section = Readers
        .collect(&config)
        .expect("a stopped service is not a failure");
    assert_eq!(
        section.components.smart_card_service,
        Some(ServiceState::Stopped)
    );
    assert!(section.readers.is_empty());
    assert!(section.errors.is_empty(), "{:?}", section.errors);

    let inventory = scan_with(
        vec![Box::new(Readers), Box::new(ComponentsCollector)],
        &config,
    );
    let readers = inventory
        .collectors
        .iter()
        .find(|c| c.name == "readers")
        .expect("readers status");
    assert_eq!(readers.status, CollectorOutcome::Ok);
    assert_eq!(
        inventory.components.smart_card_service,
        Some(ServiceState::Stopped)
    );
    let down: Vec<_> = inventory
        .findings
        .iter()
        .filter(|f| f.code == Code::SmartCardServiceDown)
        .collect();
    assert_eq!(down.len(), 1, "{:#?}", inventory.findings);
    assert_eq!(down[0].severity, Severity::Critical);
    assert_eq!(down[0].code.as_str(), "pcsc.service_down");
}
