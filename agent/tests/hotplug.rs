//! The service rescans within seconds when a token is inserted or removed: a real private pcscd
//! with virtual readers, the real service loop with a one-hour interval, and the test gRPC
//! server receiving the reports.
//!
//! One test: libpcsclite reads the daemon's socket name once per process (see
//! `support/pcscd.rs`).

// Linux only: private pcscd through Linux mount namespaces.
#![cfg(target_os = "linux")]

#[path = "uplink/server.rs"]
mod server;
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use server::{SECRET, TestServer};
use support::pcscd::Pcscd;
use tokenwatch_agent::config::ScanConfig;
use tokenwatch_agent::enroll::{EnrollConfig, enroll};
use tokenwatch_agent::paths::Paths;
use tokenwatch_agent::service::{RunConfig, run};
use tokenwatch_proto::v1;

const RUTOKEN_ECP: &[u8] = b"\x3B\x8B\x01Rutoken ECP\xA0";

fn cards_present(report: &v1::ReportRequest) -> usize {
    report
        .inventory
        .as_ref()
        .map_or(0, |i| i.readers.iter().filter(|r| r.card_present).count())
}

/// The first report after the first `skip` ones that satisfies `pred`.
async fn wait_for_report(
    server: &TestServer,
    skip: usize,
    what: &str,
    pred: impl Fn(&v1::ReportRequest) -> bool,
) -> (usize, v1::ReportRequest) {
    let start = Instant::now();
    loop {
        let found = server
            .shared
            .reports
            .lock()
            .expect("lock")
            .iter()
            .enumerate()
            .skip(skip)
            .find(|(_, (_, r))| pred(r))
            .map(|(i, (_, r))| (i, r.clone()));
        if let Some(found) = found {
            return found;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inserting_and_removing_a_token_triggers_a_report() {
    let pcscd = Pcscd::start_for_this_process("Aktiv Rutoken ECP");
    let server = TestServer::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let state = tmp.path().join("state");
    enroll(EnrollConfig {
        server: server.url(),
        secret: SECRET.into(),
        ca_pem: Some(server.ca_pem().as_bytes().to_vec()),
        state_dir: state.clone(),
        hostname: "ws-01".into(),
    })
    .await
    .expect("enrols");
    let mut scan = ScanConfig::new(Paths::new(tmp.path()));
    scan.disabled_collectors = vec!["tokens".into()];
    let mut config = RunConfig::new(&state, scan);
    config.interval = Duration::from_secs(3600);
    config.debounce = Duration::from_millis(500);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let agent = tokio::spawn(run(config, async {
        let _ = stopped.await;
    }));

    let (_, first) = wait_for_report(&server, 0, "the report at start", |_| true).await;
    assert_eq!(cards_present(&first), 0);
    // Let the watcher take in the current readers before the change.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let card = pcscd.insert(0, RUTOKEN_ECP);
    let (at, inserted) = wait_for_report(&server, 1, "a report with the token", |r| {
        cards_present(r) == 1
    })
    .await;
    assert_ne!(inserted.content_hash, first.content_hash);

    drop(card);
    let (_, removed) = wait_for_report(&server, at + 1, "a report without it", |r| {
        cards_present(r) == 0
    })
    .await;
    assert_eq!(removed.content_hash, first.content_hash, "back as it was");

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(5), agent)
        .await
        .expect("stops promptly")
        .expect("no panic")
        .expect("runs");
    let shared = Arc::clone(&server.shared);
    let sequences = shared.sequences();
    // The interval is an hour: every report but the first came from a card event, and the
    // debounce folds the burst of state changes of one insertion into few rescans.
    assert!(sequences.len() <= 5, "{sequences:?}");
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
}
