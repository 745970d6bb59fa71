//! Under Wine, WinSCard is a stub whose `SCardEstablishContext` fails with an internal error:
//! the readers collector must say so in its status, and the other collectors still report.
//! (The PC/SC path itself is the same `pcsc` code as on Linux, tested there against pcscd.)
#![cfg(windows)]

use tokenwatch_agent::ScanConfig;
use tokenwatch_agent::collect::Collector;
use tokenwatch_agent::collect::components::ComponentsCollector;
use tokenwatch_agent::collect::readers::Readers;
use tokenwatch_agent::inventory::CollectorOutcome;
use tokenwatch_agent::paths::Paths;
use tokenwatch_agent::scan::scan_with;

#[test]
fn a_failing_smart_card_stack_is_reported_and_hides_nothing() {
    let root = tempfile::tempdir().expect("tempdir");
    let config = ScanConfig::new(Paths::new(root.path()));
    let collectors: Vec<Box<dyn Collector>> =
        vec![Box::new(Readers), Box::new(ComponentsCollector)];
    let inventory = scan_with(collectors, &config);

    let readers = &inventory.collectors[0];
    assert_eq!(readers.name, "readers");
    assert_eq!(readers.status, CollectorOutcome::Failed, "{readers:?}");
    assert!(
        readers.errors.len() == 1
            && readers.errors[0].starts_with("cannot reach the smart-card service: "),
        "{:?}",
        readers.errors
    );
    assert!(inventory.readers.is_empty());

    let components = &inventory.collectors[1];
    assert_eq!(components.name, "components");
    assert_ne!(
        components.status,
        CollectorOutcome::Failed,
        "{components:?}"
    );
}
