//! Figures for the agent as a service: resident memory while idle between scans and CPU time
//! per scan-and-report cycle of `tokenwatch-agent run` on the workstation-sized tree (10
//! containers, 50 certificates, 2 readers with cards), reporting over mutual TLS.
//!
//! Run with `cargo bench -p tokenwatch-agent --bench service_figures` (as root: private pcscd).
//! It prints figures and asserts nothing about them.

#![allow(unsafe_code)] // sysconf, for the clock tick of /proc CPU times

#[path = "../tests/uplink/server.rs"]
mod server;
#[path = "../tests/support/mod.rs"]
mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::pcscd::Pcscd;

const RUTOKEN_ECP: [u8; 15] = [
    0x3B, 0x8B, 0x01, 0x52, 0x75, 0x74, 0x6F, 0x6B, 0x65, 0x6E, 0x20, 0x44, 0x53, 0x20, 0xC1,
];
const BIN: &str = env!("CARGO_BIN_EXE_tokenwatch-agent");
/// Cycles measured after the first (which also pays for start-up and enrolment state loading).
const CYCLES: usize = 5;

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tree = support::workstation::build(dir.path(), 10, 50);
    let pcscd = Pcscd::start("Aktiv Rutoken ECP");
    let _cards = [pcscd.insert(0, &RUTOKEN_ECP), pcscd.insert(1, &RUTOKEN_ECP)];
    let test_server = server::TestServer::start();
    let state = dir.path().join("state");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, test_server.ca_pem()).expect("ca");

    let enrolled = Command::new(BIN)
        .args(["enroll", "--server", &test_server.url(), "--ca-file"])
        .arg(&ca)
        .arg("--state-dir")
        .arg(&state)
        .env("TOKENWATCH_ENROLL_SECRET", server::SECRET)
        .output()
        .expect("enroll runs");
    assert!(
        enrolled.status.success(),
        "{}",
        String::from_utf8_lossy(&enrolled.stderr)
    );

    let mut agent: Child = Command::new(BIN)
        .args(["run", "--interval", "2s", "--state-dir"])
        .arg(&state)
        .args(["--root"])
        .arg(&tree.root)
        .args(["--cert-path"])
        .arg(&tree.cert_dir)
        .env("PCSCLITE_CSOCK_NAME", pcscd.socket())
        .env("TOKENWATCH_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("agent starts");
    let pid = agent.id();

    let reports = || test_server.shared.sequences().len();
    wait_for(|| reports() >= 1, "the first report");
    let first = reports();
    let cpu_before = cpu_seconds(pid);
    let started = Instant::now();
    let mut idle_rss_kib = Vec::new();
    while reports() < first + CYCLES {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "reports keep coming"
        );
        // Sample between cycles: right after a report the agent sleeps until the next one.
        let before = reports();
        std::thread::sleep(Duration::from_millis(700));
        if reports() == before {
            idle_rss_kib.push(status_kib(pid, "VmRSS:"));
        }
    }
    let cycles = reports() - first;
    let cpu = cpu_seconds(pid) - cpu_before;
    let peak = status_kib(pid, "VmHWM:");
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let _ = agent.wait();

    idle_rss_kib.sort_unstable();
    let median_idle = idle_rss_kib
        .get(idle_rss_kib.len() / 2)
        .copied()
        .unwrap_or_default();
    let last = test_server
        .shared
        .reports
        .lock()
        .expect("reports")
        .last()
        .cloned();
    let inventory = last
        .and_then(|(_, r)| r.inventory)
        .expect("an inventory arrived");
    println!(
        "tokenwatch-agent run, interval 2 s, on {} containers / {} certificates / {} readers:",
        inventory.containers.len(),
        inventory.certificates.len(),
        inventory.readers.len()
    );
    #[allow(clippy::cast_precision_loss)] // a handful of cycles
    let per_cycle_ms = cpu * 1000.0 / cycles as f64;
    println!(
        "  CPU per scan-and-report cycle: {per_cycle_ms:.1} ms (user+system over {cycles} cycles)"
    );
    #[allow(clippy::cast_precision_loss)] // KiB of one process
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "  RSS idle between scans: median {:.1} MiB ({} samples); peak {:.1} MiB",
        mib(median_idle),
        idle_rss_kib.len(),
        mib(peak)
    );
}

fn wait_for(mut done: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// User plus system CPU time of `pid`, from /proc/PID/stat.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    // SAFETY: sysconf only reads a system constant.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    #[allow(clippy::cast_precision_loss)] // tick counts of one process
    let seconds = ticks as f64 / per_second as f64;
    seconds
}

/// A `KiB` line of /proc/PID/status.
fn status_kib(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("field present")
}
