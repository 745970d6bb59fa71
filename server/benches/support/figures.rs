//! The figures the ingest benchmarks print for a run: reports, rate, latency spread and the
//! CPU time the agents, the server and PostgreSQL spent on them.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Per-call latencies, in microseconds.
pub(crate) struct Figures {
    pub(crate) reports: usize,
    pub(crate) elapsed: Duration,
    pub(crate) latencies: Vec<u64>,
    pub(crate) changed: usize,
    /// CPU time spent meanwhile.
    pub(crate) cpu: Cpu,
}

/// The server process, when it runs apart from the bench (0: it does not): its CPU time is
/// counted on its own.
pub(crate) static SERVER_PROCESS: AtomicU32 = AtomicU32::new(0);

/// CPU time so far: of this process (the senders, and the server when it runs inside), of the
/// server process when it runs apart, of PostgreSQL's processes, and of the whole machine
/// (whatever else ran is the rest).
#[derive(Clone, Copy, Default)]
pub(crate) struct Cpu {
    this: Duration,
    server: Option<Duration>,
    database: Duration,
    machine: Duration,
}

impl Cpu {
    pub(crate) fn now() -> Self {
        Self {
            this: process_cpu("self"),
            server: match SERVER_PROCESS.load(Ordering::Relaxed) {
                0 => None,
                pid => Some(process_cpu(&pid.to_string())),
            },
            database: database_cpu(),
            machine: machine_cpu(),
        }
    }

    /// The same, with the server process left out: for a run against a server inside this
    /// process.
    #[allow(
        dead_code,
        reason = "only the end-to-end bench has a server in this process"
    )]
    pub(crate) fn in_this_process(self) -> Self {
        Self {
            server: None,
            ..self
        }
    }

    /// What was spent since `start`.
    pub(crate) fn since(start: Self) -> Self {
        let now = Self::now();
        Self {
            this: now.this.saturating_sub(start.this),
            server: now
                .server
                .zip(start.server)
                .map(|(now, start)| now.saturating_sub(start)),
            database: now.database.saturating_sub(start.database),
            machine: now.machine.saturating_sub(start.machine),
        }
    }

    /// Per report, in microseconds: a line for the figures.
    fn describe(&self, reports: usize) -> String {
        let per = |d: Duration| d.as_secs_f64() * 1e6 / reports.max(1) as f64;
        let known = self.this + self.server.unwrap_or_default() + self.database;
        let other = per(self.machine.saturating_sub(known));
        let database = per(self.database);
        match self.server {
            Some(server) => {
                // What this machine would take with the agents elsewhere: its cores over what
                // the server and PostgreSQL spend per report.
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                let capacity = cores as f64 * 1e6 / (per(server) + database);
                format!(
                    "CPU per report: agents {:.0} µs, server {:.0} µs, PostgreSQL {database:.0} µs, other processes {other:.0} µs; server side alone would take ~{capacity:.0}/s",
                    per(self.this),
                    per(server),
                )
            }
            None => format!(
                "CPU per report: this process {:.0} µs, PostgreSQL {database:.0} µs, other processes {other:.0} µs",
                per(self.this),
            ),
        }
    }
}

/// User plus system CPU time of process `pid` (or `self`) so far, from `/proc/<pid>/stat`
/// (clock ticks of 10 ms).
fn process_cpu(pid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// CPU time of PostgreSQL's processes (the postmaster, its background workers and every
/// session's backend) so far: of those alive now, which is every pooled connection's.
fn database_cpu() -> Duration {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Duration::ZERO;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let pid = entry.file_name().into_string().ok()?;
            pid.bytes().all(|b| b.is_ascii_digit()).then_some(pid)
        })
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.starts_with("postgres"))
        })
        .map(|pid| process_cpu(&pid))
        .sum()
}

/// Busy CPU time of the whole machine so far, all cores, from the first line of `/proc/stat`:
/// everything but idle and I/O wait.
fn machine_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal
    let busy: u64 = ticks
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, t)| t)
        .sum();
    Duration::from_millis(busy * 10)
}

impl Figures {
    pub(crate) fn print(&self, what: &str) {
        let mut l = self.latencies.clone();
        l.sort_unstable();
        let pct = |p: f64| {
            let i = ((l.len() as f64 * p).ceil() as usize).clamp(1, l.len()) - 1;
            l[i] as f64 / 1000.0
        };
        println!(
            "{what:<22} {:>6} reports in {:>6.2} s = {:>8.0} reports/s   p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms  ({} changed)",
            self.reports,
            self.elapsed.as_secs_f64(),
            self.rate(),
            pct(0.50),
            pct(0.99),
            pct(1.0),
            self.changed,
        );
        println!("{:<22} {}", "", self.cpu.describe(self.reports));
    }
}

impl Figures {
    pub(crate) fn empty(capacity: usize) -> Self {
        Self {
            reports: 0,
            elapsed: Duration::ZERO,
            latencies: Vec::with_capacity(capacity),
            changed: 0,
            cpu: Cpu::default(),
        }
    }
}

impl Figures {
    pub(crate) fn rate(&self) -> f64 {
        self.reports as f64 / self.elapsed.as_secs_f64()
    }
}
