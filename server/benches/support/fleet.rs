//! What the ingest benchmarks share: the reports a fleet of workstations sends and the figures
//! printed for a run.

use std::time::Duration;

use sha2::{Digest, Sha256};
use tokenwatch_proto::v1;

use crate::support;

/// Distinct inventories per agent that changed reports cycle through.
pub(crate) const VARIANTS: usize = 4;

fn hex_of(seed: &str) -> String {
    hex::encode(Sha256::digest(seed.as_bytes()))
}

/// Agent `host`'s workstation, variant `variant`: certificates 0–44 and the token are the
/// host's own, the CA certificates 45–49 are shared by the whole fleet. Variants differ in the
/// second reader's card, the token's free memory and one personal certificate.
pub(crate) fn inventory(host: usize, variant: usize) -> v1::Inventory {
    let mut inv = support::workstation(&format!("ws-{host:05}"));
    let own = |i: usize| {
        let seed = if i == 43 {
            format!("{host} {i} {variant}")
        } else {
            format!("{host} {i}")
        };
        (
            hex_of(&format!("sha1 {seed}"))[..40].to_owned(),
            hex_of(&seed),
        )
    };
    for (i, cert) in inv.certificates.iter_mut().enumerate().take(45) {
        let (sha1, sha256) = own(i);
        cert.sha256 = if cert.sha256.starts_with("sha1:") {
            format!("sha1:{sha1}")
        } else {
            sha256
        };
        cert.sha1 = sha1;
    }
    for (i, container) in inv.containers.iter_mut().enumerate() {
        container.certificate_sha1 = Some(own(2 + i).0);
    }
    let token = &mut inv.tokens[0];
    token.serial = format!("{host:08x}");
    token.certificates = vec![own(0).0, own(1).0];
    token.free_memory = Some(40_000 - variant as u64);
    inv.readers[1].card_present = variant % 2 == 1;
    inv
}

/// Per-call latencies, in microseconds.
pub(crate) struct Figures {
    pub(crate) reports: usize,
    pub(crate) elapsed: Duration,
    pub(crate) latencies: Vec<u64>,
    pub(crate) changed: usize,
    /// CPU time this process (validation, queue, encoding, the runtime) spent meanwhile.
    pub(crate) cpu: Duration,
}

/// User plus system CPU time of this process so far, from `/proc/self/stat` (clock ticks of
/// 10 ms).
pub(crate) fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
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

impl Figures {
    pub(crate) fn print(&self, what: &str) {
        let mut l = self.latencies.clone();
        l.sort_unstable();
        let pct = |p: f64| {
            let i = ((l.len() as f64 * p).ceil() as usize).clamp(1, l.len()) - 1;
            l[i] as f64 / 1000.0
        };
        println!(
            "{what:<22} {:>6} reports in {:>6.2} s = {:>8.0} reports/s   p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms  ({} changed; {:.0} µs CPU per report in this process)",
            self.reports,
            self.elapsed.as_secs_f64(),
            self.reports as f64 / self.elapsed.as_secs_f64(),
            pct(0.50),
            pct(0.99),
            pct(1.0),
            self.changed,
            self.cpu.as_secs_f64() * 1e6 / self.reports as f64,
        );
    }
}
