//! Figures for the Windows build on a workstation-sized machine, measured under Wine (so they
//! say what the agent's code costs there, not what a real Windows would show): 10 registry
//! containers with embedded GOST certificates and a profile whose Personal store holds 50 GOST
//! certificates. Prints the in-process scan time against reading the same registry values and
//! store files raw (the floor any reader pays), and the release `scan --json`'s wall time and
//! peak working set beside the same binary's `--version` (what Wine alone costs a process).
//! Then a terminal server: 2,000 profiles with two certificates each in their Personal stores
//! on disk, read by the certificates collector within its deadline.
//!
//! Run with `scripts/windows-check --figures` (Wine as the runner). Asserts nothing about speed.

// The container builder of the tests; this uses part of it.
#[cfg(windows)]
#[allow(dead_code, unreachable_pub)]
#[path = "../tests/support/containers.rs"]
mod containers;
#[cfg(windows)]
#[path = "../tests/support/windows_stores.rs"]
mod stores;

#[cfg(not(windows))]
fn main() {
    eprintln!("windows_figures measures the Windows build: run scripts/windows-check --figures");
}

#[cfg(windows)]
fn main() {
    figures::run();
}

#[cfg(windows)]
mod figures {
    #![allow(unsafe_code)] // GetProcessMemoryInfo, for the child's peak working set

    use std::io::Read;
    use std::os::windows::io::AsRawHandle;
    use std::path::Path;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use tokenwatch_agent::ScanConfig;
    use tokenwatch_agent::collect::thread_cpu;
    use tokenwatch_agent::inventory::Media;
    use tokenwatch_agent::paths::Paths;
    use windows_registry::{LOCAL_MACHINE, Type};
    use windows_sys::Win32::System::ProcessStatus::{
        GetProcessMemoryInfo, PROCESS_MEMORY_COUNTERS,
    };

    use super::containers::{self as build, ContainerSpec, HeaderSpec, KeyAlgorithm};
    use super::stores;

    const CONTAINERS: usize = 10;
    const CERTIFICATES: usize = 50;
    const RUNS: usize = 7;
    /// A large terminal server's profiles, each with a signing certificate and its CA's.
    const PROFILES: usize = 2000;
    const CERTIFICATES_PER_PROFILE: usize = 2;
    const PERSON: &[u8] =
        include_bytes!("../src/collect/certificates/testdata/person-2012-256.der");
    const BIN: &str = env!("CARGO_BIN_EXE_tokenwatch-agent");
    const PROFILE_LIST: &str = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList";
    const PERSONAL: &str = r"AppData\Roaming\Microsoft\SystemCertificates\My\Certificates";

    /// The checked-in certificate with its serial's last two bytes set to `n`: a distinct
    /// certificate to the inventory (no signature is checked), as many as needed.
    fn certificate(n: usize) -> Vec<u8> {
        let mut der = PERSON.to_vec();
        // version [0] INTEGER 2, then the serial: INTEGER, length, bytes.
        let at = der
            .windows(6)
            .position(|w| w == [0xa0, 0x03, 0x02, 0x01, 0x02, 0x02])
            .expect("the serial")
            + 6;
        let end = at + 1 + usize::from(der[at]);
        let n = u16::try_from(n).expect("few").to_be_bytes();
        der[end - 2..end].copy_from_slice(&n);
        der
    }

    fn median(mut samples: Vec<Duration>) -> Duration {
        samples.sort_unstable();
        samples[samples.len() / 2]
    }

    fn ms(d: Duration) -> f64 {
        d.as_secs_f64() * 1000.0
    }

    pub(super) fn run() {
        let unique = rand::random::<u32>();
        let keys = format!(
            r"SOFTWARE\WOW6432Node\Crypto Pro\Settings\Users\S-1-5-21-5151-{unique}-1001\Keys"
        );
        for i in 0..CONTAINERS {
            let mut header = HeaderSpec::new(KeyAlgorithm::Gost2012_256, false);
            header.certificate = Some(certificate(i));
            let spec = ContainerSpec::new(&format!("bench-{i}"), header);
            let key = LOCAL_MACHINE
                .create(format!(r"{keys}\bench-{i}"))
                .expect("container key");
            for (file, bytes) in build::files(&spec) {
                key.set_bytes(file, Type::Bytes, &bytes).expect("value");
            }
        }
        let home = tempfile::tempdir().expect("profile");
        let store = home.path().join(PERSONAL);
        std::fs::create_dir_all(&store).expect("store folder");
        for i in 0..CERTIFICATES {
            let der = certificate(CONTAINERS + i);
            std::fs::write(store.join(format!("{i:040}")), stores::serialized(&der))
                .expect("element");
        }
        let sid = format!("S-1-5-21-5151-{unique}-1002");
        LOCAL_MACHINE
            .create(format!(r"{PROFILE_LIST}\{sid}"))
            .and_then(|k| {
                k.set_expand_string("ProfileImagePath", home.path().display().to_string())
            })
            .expect("profile entry");

        let root = tempfile::tempdir().expect("root");
        let config = ScanConfig::new(Paths::new(root.path()));
        let check = tokenwatch_agent::scan(&config);
        let containers = check
            .containers
            .iter()
            .filter(|c| c.media == Media::Registry && c.path.contains(&unique.to_string()))
            .count();
        assert_eq!(containers, CONTAINERS, "every registry container is seen");
        assert!(
            check.certificates.len() >= CONTAINERS + CERTIFICATES,
            "every certificate is seen"
        );

        let raw = median(
            (0..RUNS)
                .map(|_| {
                    let started = Instant::now();
                    read_raw(&keys, &store);
                    started.elapsed()
                })
                .collect(),
        );
        let scan = median(
            (0..RUNS)
                .map(|_| {
                    let started = Instant::now();
                    let inventory = tokenwatch_agent::scan(&config);
                    assert!(!inventory.containers.is_empty());
                    started.elapsed()
                })
                .collect(),
        );
        let (wall, peak) = timed_runs(&[
            "scan",
            "--json",
            "--root",
            &root.path().display().to_string(),
        ]);
        // What Wine itself costs a process: the same binary doing next to nothing.
        let (idle_wall, idle_peak) = timed_runs(&["--version"]);

        println!(
            "workstation under Wine: {CONTAINERS} registry containers with their certificates, \
             {CERTIFICATES} certificates in a profile's Personal store on disk"
        );
        println!(
            "raw read of the same registry values and store files: {:.2} ms (baseline)",
            ms(raw)
        );
        println!(
            "in-process scan (every collector): {:.2} ms, {:.1}x the raw read",
            ms(scan),
            scan.as_secs_f64() / raw.as_secs_f64()
        );
        let mib = |bytes: Option<usize>| {
            bytes.map_or_else(
                || "not reported by Wine".to_owned(),
                |b| format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
            )
        };
        println!(
            "release `scan --json`: {:.0} ms wall (median of {RUNS}, process start under Wine \
             included), peak working set {}",
            ms(wall),
            mib(peak)
        );
        println!(
            "release `--version` (baseline: Wine starting the same binary): {:.0} ms wall, peak \
             working set {}; the scan adds {:.0} ms and {}",
            ms(idle_wall),
            mib(idle_peak),
            ms(wall.saturating_sub(idle_wall)),
            mib(peak.zip(idle_peak).map(|(p, i)| p.saturating_sub(i)))
        );
        if let Ok(meta) = std::fs::metadata(BIN) {
            println!(
                "tokenwatch-agent.exe: {:.1} MiB",
                meta.len() as f64 / (1024.0 * 1024.0)
            );
        }

        let _ = LOCAL_MACHINE.remove_tree(format!(
            r"SOFTWARE\WOW6432Node\Crypto Pro\Settings\Users\S-1-5-21-5151-{unique}-1001"
        ));
        let _ = LOCAL_MACHINE.remove_tree(format!(r"{PROFILE_LIST}\{sid}"));
        terminal_server(unique);
    }

    /// A terminal server's profiles: the certificates collector alone over every profile's
    /// Personal store on disk, against the same files read raw, and what the deadline leaves.
    fn terminal_server(unique: u32) {
        let homes = tempfile::tempdir().expect("profiles");
        let mut sids = Vec::new();
        for p in 0..PROFILES {
            let home = homes.path().join(format!("user{p:04}"));
            let store = home.join(PERSONAL);
            std::fs::create_dir_all(&store).expect("store folder");
            for c in 0..CERTIFICATES_PER_PROFILE {
                let der = certificate(1000 + p * CERTIFICATES_PER_PROFILE + c);
                std::fs::write(store.join(format!("{c:040}")), stores::serialized(&der))
                    .expect("element");
            }
            let sid = format!("S-1-5-21-6161-{unique}-{p}");
            LOCAL_MACHINE
                .create(format!(r"{PROFILE_LIST}\{sid}"))
                .and_then(|k| k.set_expand_string("ProfileImagePath", home.display().to_string()))
                .expect("profile entry");
            sids.push(sid);
        }
        let root = tempfile::tempdir().expect("root");
        let config = ScanConfig::new(Paths::new(root.path()));
        let started = Instant::now();
        let cpu_before = thread_cpu();
        // The collector walks the profiles on this thread: its CPU time is this thread's.
        let section = tokenwatch_agent::collect::Collector::collect(
            &tokenwatch_agent::collect::certificates::Certificates,
            &config,
        )
        .expect("the collector runs");
        let collector = started.elapsed();
        let cpu = thread_cpu().saturating_sub(cpu_before);
        let started = Instant::now();
        let mut bytes = 0;
        for p in 0..PROFILES {
            let store = homes.path().join(format!("user{p:04}")).join(PERSONAL);
            for entry in std::fs::read_dir(store).expect("store") {
                bytes += read_file(&entry.expect("entry").path());
            }
        }
        let raw = started.elapsed();
        println!(
            "terminal server under Wine: {PROFILES} profiles with {CERTIFICATES_PER_PROFILE} \
             certificates each on disk ({} KiB): certificates collector {:.0} ms for {} \
             certificates using {:.0} ms of CPU ({:.0}% of one CPU while it ran), the same files \
             read raw {:.0} ms ({:.1}x); not reached in its deadline: {}",
            bytes / 1024,
            ms(collector),
            section.certificates.len(),
            ms(cpu),
            100.0 * cpu.as_secs_f64() / collector.as_secs_f64(),
            ms(raw),
            collector.as_secs_f64() / raw.as_secs_f64(),
            section
                .errors
                .iter()
                .find(|e| e.contains("profiles"))
                .map_or("none", String::as_str)
        );
        for sid in sids {
            let _ = LOCAL_MACHINE.remove_tree(format!(r"{PROFILE_LIST}\{sid}"));
        }
    }

    /// Every value of the containers and every store file, read without parsing.
    fn read_raw(keys: &str, store: &Path) -> usize {
        let mut bytes = 0;
        let containers = LOCAL_MACHINE.open(keys).expect("keys");
        for name in containers.keys().expect("list") {
            let key = containers.open(&name).expect("container");
            for (_, value) in key.values().expect("values") {
                bytes += value.len();
            }
        }
        for entry in std::fs::read_dir(store).expect("store") {
            bytes += read_file(&entry.expect("entry").path());
        }
        bytes
    }

    /// A file's bytes read as the collector reads them: open and read to the end, without the
    /// size query `fs::read` makes first (under Wine that query costs more than the read).
    fn read_file(path: &Path) -> usize {
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|mut file| file.read_to_end(&mut bytes))
            .expect("file")
    }

    /// Median wall time and the largest peak working set of the release binary run with `args`
    /// (`None` when Wine reported none: it may not, for a process that has already exited).
    fn timed_runs(args: &[&str]) -> (Duration, Option<usize>) {
        let mut walls = Vec::new();
        let mut peak = 0;
        for _ in 0..RUNS {
            let started = Instant::now();
            let mut child = Command::new(BIN)
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("scan starts");
            child.wait().expect("scan ends");
            walls.push(started.elapsed());
            let mut counters = PROCESS_MEMORY_COUNTERS {
                cb: u32::try_from(std::mem::size_of::<PROCESS_MEMORY_COUNTERS>()).expect("small"),
                ..Default::default()
            };
            // SAFETY: the handle is the child's, still open (`child` is alive); `counters` is
            // as large as `cb` says.
            let ok =
                unsafe { GetProcessMemoryInfo(child.as_raw_handle(), &mut counters, counters.cb) };
            if ok != 0 {
                peak = peak.max(counters.PeakWorkingSetSize);
            }
        }
        (median(walls), (peak > 0).then_some(peak))
    }
}
