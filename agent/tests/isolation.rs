//! One failing collector never hides the others: errors, panics and hangs are each reported in
//! `collectors` while the other collectors' results arrive.

use std::time::{Duration, Instant};

use tokenwatch_agent::ScanConfig;
use tokenwatch_agent::collect::{CollectError, Collector, Section};
use tokenwatch_agent::findings::Code;
use tokenwatch_agent::inventory::{CollectorOutcome, Reader};
use tokenwatch_agent::scan::scan_with;

struct Works;
struct Fails;
struct Panics;
struct Hangs;
struct Partial;

impl Collector for Works {
    fn name(&self) -> &'static str {
        "works"
    }
    fn collect(&self, _: &ScanConfig) -> Result<Section, CollectError> {
        let reader = Reader {
            name: "Aktiv Rutoken ECP 00 00".into(),
            ..Reader::default()
        };
        Ok(Section {
            readers: vec![reader],
            ..Section::default()
        })
    }
}

impl Collector for Fails {
    fn name(&self) -> &'static str {
        "fails"
    }
    fn collect(&self, _: &ScanConfig) -> Result<Section, CollectError> {
        Err(CollectError::Unavailable("library not found".into()))
    }
}

impl Collector for Panics {
    fn name(&self) -> &'static str {
        "panics"
    }
    fn collect(&self, _: &ScanConfig) -> Result<Section, CollectError> {
        panic!("vendor binding blew up")
    }
}

impl Collector for Hangs {
    fn name(&self) -> &'static str {
        "hangs"
    }
    fn collect(&self, _: &ScanConfig) -> Result<Section, CollectError> {
        std::thread::sleep(Duration::from_secs(30));
        Ok(Section::default())
    }
}

impl Collector for Partial {
    fn name(&self) -> &'static str {
        "partial"
    }
    fn collect(&self, _: &ScanConfig) -> Result<Section, CollectError> {
        Ok(Section {
            errors: vec!["/media/usb: permission denied".into()],
            ..Section::default()
        })
    }
}

#[test]
fn failures_are_reported_and_results_survive() {
    let config = ScanConfig {
        collector_timeout: Duration::from_millis(700),
        ..ScanConfig::default()
    };
    let started = Instant::now();
    let inventory = scan_with(
        vec![
            Box::new(Fails),
            Box::new(Panics),
            Box::new(Hangs),
            Box::new(Partial),
            Box::new(Works),
        ],
        &config,
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "a hanging collector blocked the scan"
    );

    assert_eq!(
        inventory.readers.len(),
        1,
        "the working collector's result is kept"
    );
    let status = |name: &str| {
        inventory
            .collectors
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("{name} reported"))
    };
    assert_eq!(status("works").status, CollectorOutcome::Ok);
    assert_eq!(status("partial").status, CollectorOutcome::Partial);
    assert_eq!(
        status("partial").errors,
        vec!["/media/usb: permission denied".to_owned()]
    );
    assert_eq!(status("fails").status, CollectorOutcome::Failed);
    assert_eq!(status("fails").errors, vec!["library not found".to_owned()]);
    assert_eq!(status("panics").status, CollectorOutcome::Failed);
    assert!(status("panics").errors[0].contains("vendor binding blew up"));
    assert_eq!(status("hangs").status, CollectorOutcome::Failed);
    assert!(status("hangs").errors[0].contains("did not finish"));
    let names: Vec<&str> = inventory
        .collectors
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        names,
        vec!["fails", "panics", "hangs", "partial", "works"],
        "report order is kept"
    );

    let failed: Vec<&str> = inventory
        .findings
        .iter()
        .filter(|f| f.code == Code::CollectorFailed)
        .map(|f| f.subject.as_str())
        .collect();
    assert_eq!(
        failed,
        vec!["collector fails", "collector hangs", "collector panics"]
    );
}

#[test]
fn disabled_collectors_do_not_run() {
    let config = ScanConfig {
        disabled_collectors: vec!["panics".into()],
        ..ScanConfig::default()
    };
    let inventory = scan_with(vec![Box::new(Panics), Box::new(Works)], &config);
    let names: Vec<&str> = inventory
        .collectors
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, vec!["works"]);
}
