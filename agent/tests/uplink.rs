//! The agent against a real gRPC server over mutual TLS: enrolment, reporting, the spool across
//! outages and restarts, renewal, refusals, and SIGTERM on the real binary.
// Unix only: the tests set Unix permissions and send signals to the agent.
#![cfg(unix)]

#[path = "uplink/server.rs"]
mod server;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use server::{OFFICE, SECRET, TestServer};
use tokenwatch_agent::config::ScanConfig;
use tokenwatch_agent::enroll::{EnrollConfig, enroll};
use tokenwatch_agent::paths::Paths;
use tokenwatch_agent::service::{RunConfig, run};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::Code;

const BIN: &str = env!("CARGO_BIN_EXE_tokenwatch-agent");

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("exists")
        .permissions()
        .mode()
        & 0o777
}

async fn enrolled(server: &TestServer, state: &Path) {
    enroll(EnrollConfig {
        server: server.url(),
        secret: SECRET.into(),
        ca_pem: Some(server.ca_pem().as_bytes().to_vec()),
        state_dir: state.to_owned(),
        hostname: "ws-01".into(),
    })
    .await
    .expect("enrols");
}

/// The service loop on a quiet host tree: no readers, no tokens, nothing under `root`.
fn config(state: &Path, root: &Path, interval: Duration) -> RunConfig {
    let mut scan = ScanConfig::new(Paths::new(root));
    scan.disabled_collectors = vec!["readers".into(), "tokens".into()];
    let mut config = RunConfig::new(state, scan);
    config.interval = interval;
    config.hotplug = false;
    config
}

struct Agent {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

fn start_agent(config: RunConfig) -> Agent {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        run(config, async {
            let _ = stopped.await;
        })
        .await
        .expect("the service runs");
    });
    Agent { stop, task }
}

impl Agent {
    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("stops promptly")
            .expect("no panic");
    }
}

async fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn spooled(state: &Path) -> usize {
    std::fs::read_dir(state.join("spool"))
        .map(|it| {
            it.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "pb"))
                .count()
        })
        .unwrap_or(0)
}

struct Dirs {
    _tmp: tempfile::TempDir,
    state: PathBuf,
    root: PathBuf,
}

fn dirs() -> Dirs {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("root");
    std::fs::create_dir(&root).expect("root");
    Dirs {
        state: tmp.path().join("state"),
        root,
        _tmp: tmp,
    }
}

#[test]
fn enroll_through_the_binary_writes_a_private_identity() {
    let server = TestServer::start();
    let d = dirs();
    let ca = d.root.join("ca.pem");
    std::fs::write(&ca, server.ca_pem()).expect("ca");
    let enroll = |secret: &str| {
        Command::new(BIN)
            .args(["enroll", "--server", &server.url(), "--ca-file"])
            .arg(&ca)
            .arg("--state-dir")
            .arg(&d.state)
            .env("TOKENWATCH_ENROLL_SECRET", secret)
            .output()
            .expect("runs")
    };

    let refused = enroll("wrong");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("unknown enrolment secret"), "{stderr}");
    assert!(!d.state.exists(), "a refusal writes nothing");

    let accepted = enroll(SECRET);
    assert!(accepted.status.success(), "{accepted:?}");
    assert_eq!(mode(&d.state), 0o700);
    assert_eq!(mode(&d.state.join("agent.key")), 0o600);
    let key = std::fs::read_to_string(d.state.join("agent.key")).expect("key");
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"));
    let cert = std::fs::read_to_string(d.state.join("agent.crt")).expect("cert");
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(
        std::fs::read_to_string(d.state.join("ca.crt")).expect("ca"),
        server.ca_pem()
    );
    assert!(d.state.join("agent-ca.crt").exists());
    let agent = std::fs::read_to_string(d.state.join("agent.toml")).expect("agent.toml");
    assert!(agent.contains(&server.url()), "{agent}");
    assert!(agent.contains("6f1c2a9e-0000-4000-8000-"), "{agent}");
    assert!(agent.contains(OFFICE), "{agent}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_carry_increasing_sequences_and_a_stable_hash() {
    let server = TestServer::start();
    let d = dirs();
    enrolled(&server, &d.state).await;
    let agent = start_agent(config(&d.state, &d.root, Duration::from_millis(300)));
    let shared = Arc::clone(&server.shared);
    wait_for("three reports", Duration::from_secs(20), || {
        shared.sequences().len() >= 3
    })
    .await;
    agent.stop().await;

    let reports = shared.reports.lock().expect("lock").clone();
    let sequences: Vec<u64> = reports.iter().map(|(_, r)| r.sequence).collect();
    assert_eq!(sequences, (1..=sequences.len() as u64).collect::<Vec<_>>());
    let first = &reports[0].1;
    assert_eq!(first.content_hash.len(), 32);
    for (cn, report) in &reports {
        assert!(
            cn.starts_with("6f1c2a9e-"),
            "sent with the enrolled identity: {cn}"
        );
        assert_eq!(report.content_hash, first.content_hash, "nothing changed");
        let inventory = report.inventory.as_ref().expect("inventory");
        assert_eq!(inventory.schema, "tokenwatch.inventory/v1");
    }
    assert_ne!(
        reports[0].1.inventory.as_ref().and_then(|i| i.collected_at),
        reports[1].1.inventory.as_ref().and_then(|i| i.collected_at),
        "each report has its own collection time"
    );
    // Delivered reports leave the spool. Stopping may leave the report whose answer was still
    // on its way (the server recognises it when it comes again) and one a scan just made.
    let last = *sequences.last().expect("some");
    let left = spooled_sequences(&d.state);
    assert!(
        left.iter().all(|s| (last..=last + 1).contains(s)),
        "delivered reports leave the spool: {left:?} after {last}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spooled_reports_arrive_once_in_order_across_outage_and_restart() {
    let server = TestServer::start();
    let d = dirs();
    enrolled(&server, &d.state).await;
    let cfg = config(&d.state, &d.root, Duration::from_millis(200));
    let agent = start_agent(cfg.clone());
    let shared = Arc::clone(&server.shared);
    wait_for("the first report", Duration::from_secs(20), || {
        !shared.sequences().is_empty()
    })
    .await;

    let (addr, pki, shared) = server.stop();
    let state = d.state.clone();
    wait_for("reports to spool", Duration::from_secs(20), || {
        spooled(&state) >= 3
    })
    .await;
    // The agent restarts while the server is still away.
    agent.stop().await;
    let before_restart = spooled(&d.state);
    assert!(before_restart >= 3);
    let agent = start_agent(cfg);
    wait_for("more reports to spool", Duration::from_secs(20), || {
        spooled(&state) > before_restart
    })
    .await;

    let server = TestServer::start_at(addr, pki, Arc::clone(&shared));
    wait_for("the spool to drain", Duration::from_secs(40), || {
        spooled(&state) == 0 && shared.sequences().len() > before_restart + 1
    })
    .await;
    agent.stop().await;
    drop(server);

    let sequences = shared.sequences();
    let expected: Vec<u64> = (1..=*sequences.last().expect("some")).collect();
    assert_eq!(
        sequences, expected,
        "every report once, in order, none lost"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_certificate_is_renewed_when_the_server_asks() {
    let server = TestServer::start();
    server.shared.renew_rounds.store(1, Ordering::SeqCst);
    let d = dirs();
    enrolled(&server, &d.state).await;
    let old_key = std::fs::read(d.state.join("agent.key")).expect("key");
    let old_cert = std::fs::read(d.state.join("agent.crt")).expect("cert");
    let agent = start_agent(config(&d.state, &d.root, Duration::from_millis(300)));
    let shared = Arc::clone(&server.shared);
    wait_for(
        "a renewal and a report after it",
        Duration::from_secs(20),
        || shared.renewals.load(Ordering::SeqCst) == 1 && shared.sequences().len() >= 3,
    )
    .await;
    agent.stop().await;

    assert_ne!(
        std::fs::read(d.state.join("agent.key")).expect("key"),
        old_key
    );
    assert_ne!(
        std::fs::read(d.state.join("agent.crt")).expect("cert"),
        old_cert
    );
    assert_eq!(mode(&d.state.join("agent.key")), 0o600);
    assert!(!d.state.join("agent.key.new").exists());
    let cns: Vec<String> = shared
        .reports
        .lock()
        .expect("lock")
        .iter()
        .map(|(cn, _)| cn.clone())
        .collect();
    assert!(cns.iter().all(|cn| *cn == cns[0]), "same identity: {cns:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_report_is_set_aside_and_the_rest_flow() {
    let server = TestServer::start();
    *server.shared.fail_report.lock().expect("lock") = Some((Code::InvalidArgument, vec![1]));
    let d = dirs();
    enrolled(&server, &d.state).await;
    let agent = start_agent(config(&d.state, &d.root, Duration::from_millis(300)));
    let shared = Arc::clone(&server.shared);
    wait_for("two accepted reports", Duration::from_secs(20), || {
        shared.sequences().len() >= 2
    })
    .await;
    agent.stop().await;
    assert_eq!(shared.sequences()[..2], [2, 3]);
    assert!(d.state.join("spool/rejected/1.pb").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_certificate_keeps_reports_spooled_without_hammering() {
    let server = TestServer::start();
    let d = dirs();
    enrolled(&server, &d.state).await;
    *server.shared.fail_report.lock().expect("lock") = Some((Code::PermissionDenied, vec![]));
    let agent = start_agent(config(&d.state, &d.root, Duration::from_millis(200)));
    tokio::time::sleep(Duration::from_secs(3)).await;
    agent.stop().await;
    let attempts = server.shared.attempts.load(Ordering::SeqCst);
    assert!(attempts >= 1, "it tried");
    assert!(
        attempts <= 2,
        "{attempts} attempts in 3 s: that is hammering"
    );
    assert!(spooled(&d.state) >= 5, "scans keep being spooled");
}

#[test]
fn run_without_enrolment_says_so_and_creates_nothing() {
    let d = dirs();
    let output = Command::new(BIN)
        .arg("run")
        .arg("--state-dir")
        .arg(&d.state)
        .arg("--root")
        .arg(&d.root)
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not enrolled"), "{stderr}");
    assert!(!d.state.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_binary_cleanly() {
    let server = TestServer::start();
    let d = dirs();
    enrolled(&server, &d.state).await;
    let mut child = Command::new(BIN)
        .args(run_args(&d, "1h"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let shared = Arc::clone(&server.shared);
    wait_for("the first report", Duration::from_secs(20), || {
        !shared.sequences().is_empty()
    })
    .await;
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let asked = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waits") {
            break status;
        }
        assert!(asked.elapsed() < Duration::from_secs(5), "still running");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
}

/// The sequence numbers waiting in the spool.
fn spooled_sequences(state: &Path) -> Vec<u64> {
    let mut sequences: Vec<u64> = std::fs::read_dir(state.join("spool"))
        .map(|it| {
            it.filter_map(Result::ok)
                .filter_map(|e| {
                    let path = e.path();
                    (path.extension()? == "pb").then_some(())?;
                    path.file_stem()?.to_str()?.parse().ok()
                })
                .collect()
        })
        .unwrap_or_default();
    sequences.sort_unstable();
    sequences
}

/// The arguments of `tokenwatch-agent run` on the quiet host tree of `d`, scanning every
/// `interval`.
fn run_args(d: &Dirs, interval: &str) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = ["run", "--state-dir"].map(Into::into).into();
    args.push(d.state.clone().into());
    args.extend(
        [
            "--interval",
            interval,
            "--skip",
            "readers",
            "--skip",
            "tokens",
            "--root",
        ]
        .map(Into::into),
    );
    args.push(d.root.clone().into());
    args
}

/// `tokenwatch-agent run` scanning every second.
fn spawn_run(d: &Dirs) -> std::process::Child {
    Command::new(BIN)
        .args(run_args(d, "1s"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts")
}

/// The binary is killed (SIGKILL) eight times at different moments of its one-second cycle
/// (spooling, delivering, backing off) while the server refuses reports, and once more after
/// a crash left a half-written report behind. Every report that reached the spool is
/// delivered once the server takes reports again, once each and in order; the half-written
/// one never is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_agent_keeps_every_report_it_spooled() {
    let server = TestServer::start();
    let d = dirs();
    enrolled(&server, &d.state).await;
    let shared = Arc::clone(&server.shared);
    *shared.fail_report.lock().expect("lock") = Some((Code::Unavailable, vec![]));

    let mut seen_spooled = std::collections::BTreeSet::new();
    for kill in 0..8_u64 {
        let mut child = spawn_run(&d);
        // 0.4 s to 1.8 s: the kills fall at different points of the scan cycle.
        tokio::time::sleep(Duration::from_millis(400 + kill * 200)).await;
        assert!(
            child.try_wait().expect("waits").is_none(),
            "the agent stopped on its own after restart {kill}"
        );
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        seen_spooled.extend(spooled_sequences(&d.state));
    }
    assert!(
        seen_spooled.len() >= 5,
        "reports spooled across the kills: {seen_spooled:?}"
    );
    // What a kill between writing and renaming leaves: a temporary with half a report.
    let torn = d.state.join("spool").join(".999999.pb.4242.tmp");
    std::fs::write(&torn, [0x08, 0x96]).expect("torn write");

    *shared.fail_report.lock().expect("lock") = None;
    let mut child = spawn_run(&d);
    let state = d.state.clone();
    wait_for("the spool to drain", Duration::from_secs(40), || {
        spooled(&state) == 0
            && shared
                .sequences()
                .last()
                .is_some_and(|last| seen_spooled.last().is_some_and(|s| last > s))
    })
    .await;
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");

    assert!(!torn.exists(), "the half-written report was cleared");
    let delivered = shared.sequences();
    assert!(
        delivered.windows(2).all(|w| w[0] < w[1]),
        "each report once, in order: {delivered:?}"
    );
    let missing: Vec<u64> = seen_spooled
        .iter()
        .filter(|s| !delivered.contains(s))
        .copied()
        .collect();
    assert!(
        missing.is_empty(),
        "spooled but never delivered: {missing:?}"
    );
    assert!(!delivered.contains(&999_999), "the torn report was sent");
}

/// The spool's disk fills up while the server is away: the binary runs with its spool on a
/// 16 KiB tmpfs (room for four reports), mounted in a mount namespace of its own (`unshare`,
/// so no root is needed). Reports that find no room are lost one by one with an error in the
/// log, as the disk leaves no choice; the agent keeps running, delivers what it had spooled
/// when the server is back, in order, and spools and delivers again once the room is freed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_costs_only_the_reports_that_did_not_fit() {
    let server = TestServer::start();
    let d = dirs();
    enrolled(&server, &d.state).await;
    let spool = d.state.join("spool");
    std::fs::create_dir_all(&spool).expect("spool dir");
    let shared = Arc::clone(&server.shared);
    *shared.fail_report.lock().expect("lock") = Some((Code::Unavailable, vec![]));

    let log = d.root.parent().expect("tmp").join("agent.log");
    let mut child = Command::new("unshare")
        .args(["--map-root-user", "--mount", "sh", "-c"])
        .arg(r#"mount -t tmpfs -o size=16k tmpfs "$1" && shift && exec "$@""#)
        .arg("sh")
        .arg(&spool)
        .arg(BIN)
        .args(run_args(&d, "1s"))
        .env("TOKENWATCH_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("unshare runs");
    let full = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("could not spool the report")
    };
    wait_for("the spool to fill", Duration::from_secs(30), full).await;
    assert!(
        child.try_wait().expect("waits").is_none(),
        "the agent stopped when its disk filled: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );

    // The server is back: what was spooled drains, and new reports find room again.
    *shared.fail_report.lock().expect("lock") = None;
    wait_for("reports after the drain", Duration::from_secs(30), || {
        shared.sequences().len() >= 6
    })
    .await;
    assert!(
        child.try_wait().expect("waits").is_none(),
        "the agent is still running"
    );
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");

    let delivered = shared.sequences();
    assert!(
        delivered.windows(2).all(|w| w[0] < w[1]),
        "each report once, in order: {delivered:?}"
    );
    // The first reports delivered are the ones spooled before the disk filled: consecutive.
    assert!(
        delivered.windows(2).take(3).all(|w| w[1] == w[0] + 1),
        "the spooled reports came first, none skipped: {delivered:?}"
    );
    // Then a gap (the reports that found no room), then reports made after the drain.
    assert!(
        delivered.windows(2).any(|w| w[1] > w[0] + 1),
        "some reports found no room: {delivered:?}"
    );
}
