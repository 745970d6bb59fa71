//! Figures for the agent's scan on a workstation-sized tree: parse rate against the
//! `openssl x509 -noout -enddate` loop administrators run today, and the `scan` command's wall
//! time and peak memory.
//!
//! Run with `cargo bench -p tokenwatch-agent --bench scan_figures`. It prints figures; it asserts
//! nothing about speed, because timings belong in a report, not in a pass/fail test.

#![allow(unsafe_code)] // getrusage, for the children's peak RSS

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::gost;
use support::pcscd::Pcscd;

const RUTOKEN_ECP: [u8; 15] = [
    0x3B, 0x8B, 0x01, 0x52, 0x75, 0x74, 0x6F, 0x6B, 0x65, 0x6E, 0x20, 0x44, 0x53, 0x20, 0xC1,
];
const JACARTA: [u8; 22] = [
    0x3B, 0xDC, 0x18, 0xFF, 0x81, 0x91, 0xFE, 0x1F, 0xC3, 0x80, 0x73, 0xC8, 0x21, 0x13, 0x66, 0x01,
    0x06, 0x11, 0x59, 0x00, 0x01, 0x28,
];

/// The workstation of the targets: 10 containers, 50 certificates, 2 readers.
const CONTAINERS: usize = 10;
const CERTIFICATES: usize = 50;
/// Rounds over the files when timing our own parser (it is too fast to time once).
const PARSE_ROUNDS: usize = 200;
/// `scan` runs whose wall time is taken.
const SCAN_RUNS: usize = 7;

fn main() {
    assert!(
        gost::available(),
        "openssl with the gost engine is required (scripts/install-deps)"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let mut tree = support::workstation::build(dir.path(), CONTAINERS, CERTIFICATES);
    // Two readers with a Rutoken ECP and a JaCarta in them, served by a private pcscd that both
    // this process and the scanned binary talk to.
    let pcscd = Pcscd::start_for_this_process("Aktiv Rutoken ECP");
    let _cards = [pcscd.insert(0, &RUTOKEN_ECP), pcscd.insert(1, &JACARTA)];
    let seen = support::pcscd::wait_until(Duration::from_secs(5), || {
        let inventory = tokenwatch_agent::scan::scan_with(
            vec![Box::new(tokenwatch_agent::collect::readers::Readers)],
            &tree.config(),
        );
        (inventory.readers.iter().filter(|r| r.card_present).count() == 2).then_some(())
    });
    assert!(seen.is_some(), "pcscd shows both cards");
    tree.readers = 2;
    tree.env.push((
        "PCSCLITE_CSOCK_NAME".into(),
        pcscd.socket().display().to_string(),
    ));
    println!(
        "tree: {} containers, {} certificate files, {} readers",
        tree.containers.len(),
        tree.certificate_files.len(),
        tree.readers
    );

    parse_rate(&tree);
    scan_figures(&tree);
}

/// Our parser on one core against one `openssl x509 -noout -enddate` process per file.
fn parse_rate(tree: &support::workstation::Tree) {
    let files = tree.certificate_files.len() + tree.containers.len();
    let started = Instant::now();
    let mut parsed = 0_usize;
    for _ in 0..PARSE_ROUNDS {
        parsed += support::workstation::parse_all(tree);
    }
    let ours = started.elapsed();
    assert_eq!(parsed, PARSE_ROUNDS * files, "every file parses");
    let ours_rate = rate(PARSE_ROUNDS * files, ours);

    let started = Instant::now();
    for file in &tree.certificate_files {
        let output = Command::new("openssl")
            .args(["x509", "-noout", "-enddate", "-inform", inform(file), "-in"])
            .arg(file)
            .output()
            .expect("openssl runs");
        assert!(output.status.success(), "openssl read {}", file.display());
    }
    let baseline = started.elapsed();
    let baseline_rate = rate(tree.certificate_files.len(), baseline);

    println!("parse rate, one core:");
    println!(
        "  tokenwatch (certificates + containers): {ours_rate:>10.0} files/s ({} files x {PARSE_ROUNDS} rounds in {:.1} ms)",
        files,
        ms(ours)
    );
    println!(
        "  openssl x509 -noout -enddate per file:  {baseline_rate:>10.0} files/s ({} files in {:.1} ms)",
        tree.certificate_files.len(),
        ms(baseline)
    );
    println!(
        "  ratio: {:.0}x faster than the openssl loop",
        ours_rate / baseline_rate
    );
}

/// Wall time and peak RSS of the real `tokenwatch-agent scan --json` on the tree.
fn scan_figures(tree: &support::workstation::Tree) {
    let binary = env!("CARGO_BIN_EXE_tokenwatch-agent");
    let mut walls = Vec::new();
    let mut peak_kib = 0;
    for _ in 0..SCAN_RUNS {
        let started = Instant::now();
        // Reaped by `wait_with_peak_rss` through wait4, which also gives its peak memory.
        #[allow(clippy::zombie_processes)]
        let child = Command::new(binary)
            .args(tree.scan_args())
            .envs(tree.scan_env())
            .stdout(Stdio::null())
            .spawn()
            .expect("scan starts");
        let (status, rss_kib) = wait_with_peak_rss(child.id());
        walls.push(started.elapsed());
        assert_eq!(status, 0, "scan exited with status {status}");
        peak_kib = peak_kib.max(rss_kib);
    }
    walls.sort();
    println!("scan --json on the tree ({SCAN_RUNS} runs of the release binary):");
    println!(
        "  wall time: median {:.1} ms, best {:.1} ms, worst {:.1} ms",
        ms(walls[SCAN_RUNS / 2]),
        ms(walls[0]),
        ms(walls[SCAN_RUNS - 1])
    );
    #[allow(clippy::cast_precision_loss)] // KiB of one process
    let peak_mib = peak_kib as f64 / 1024.0;
    println!("  peak RSS: {peak_mib:.1} MiB (largest of the runs)");
    let in_process = in_process_scan(tree);
    println!(
        "  in-process scan (no process start): median {:.1} ms",
        ms(in_process)
    );
}

fn in_process_scan(tree: &support::workstation::Tree) -> Duration {
    let config = tree.config();
    let mut walls: Vec<Duration> = (0..SCAN_RUNS)
        .map(|_| {
            let started = Instant::now();
            let inventory = tokenwatch_agent::scan(&config);
            let elapsed = started.elapsed();
            assert_eq!(inventory.containers.len(), tree.containers.len());
            elapsed
        })
        .collect();
    walls.sort();
    walls[SCAN_RUNS / 2]
}

/// Wait for the child `pid` and return its exit status and peak resident set in KiB.
///
/// `wait4` reports the peak of exactly that process; `Child::wait` would not, and
/// `RUSAGE_CHILDREN` would mix in the openssl processes this benchmark also runs.
fn wait_with_peak_rss(pid: u32) -> (i32, i64) {
    let pid = libc::pid_t::try_from(pid).expect("pid fits");
    let mut status = 0;
    // SAFETY: wait4 writes into the status int and rusage struct we own; `pid` is our own child,
    // which std does not reap unless `wait` is called on it (it is not).
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::wait4(pid, &mut status, 0, &mut usage), pid, "wait4");
        usage
    };
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (code, usage.ru_maxrss)
}

fn inform(file: &Path) -> &'static str {
    if file.extension().is_some_and(|e| e == "pem") {
        "PEM"
    } else {
        "DER"
    }
}

#[allow(clippy::cast_precision_loss)] // counts of files
fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

fn ms(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1000.0
}
