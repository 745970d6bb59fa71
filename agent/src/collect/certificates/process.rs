//! Run a CryptoPro command-line tool with a deadline and read what it printed.
//!
//! CryptoPro tools can hang (waiting on a token, a PIN dialog, a stuck pcscd), so a run that
//! overruns is killed and reported. Output is read on helper threads: a grandchild that keeps
//! the pipe open after the kill then only keeps a detached thread waiting, never the scan.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Output larger than this is cut: a store listing is a few kilobytes per certificate.
const MAX_OUTPUT: u64 = 8 * 1024 * 1024;
/// How often a running child is checked.
const POLL: Duration = Duration::from_millis(20);

/// Why a run gave no usable output.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RunError {
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{program} did not finish within {:.1} s and was stopped", timeout.as_secs_f32())]
    Timeout { program: String, timeout: Duration },
    #[error("waiting for {program} failed: {source}")]
    Wait {
        program: String,
        #[source]
        source: std::io::Error,
    },
}

/// What a finished run printed, stdout and stderr decoded (UTF-8, else CP1251).
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Run `program args…` with no standard input, stopping it after `timeout`.
pub(crate) fn run(program: &Path, args: &[&str], timeout: Duration) -> Result<Output, RunError> {
    let name = program.display().to_string();
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| RunError::Spawn {
            program: name.clone(),
            source,
        })?;
    let stdout = child.stdout.take().map(reader);
    let stderr = child.stderr.take().map(reader);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() >= timeout => {
                // Already exited or unkillable: either way nothing more can be done here.
                let _ = child.kill();
                let _ = child.wait();
                return Err(RunError::Timeout {
                    program: name,
                    timeout,
                });
            }
            Ok(None) => thread::sleep(POLL),
            Err(source) => {
                let _ = child.kill();
                return Err(RunError::Wait {
                    program: name,
                    source,
                });
            }
        }
    }
    let left = || timeout.saturating_sub(started.elapsed()).max(POLL);
    let collect = |rx: Option<mpsc::Receiver<Vec<u8>>>| {
        rx.and_then(|rx| rx.recv_timeout(left()).ok())
            .map(|bytes| decode(&bytes))
            .unwrap_or_default()
    };
    Ok(Output {
        stdout: collect(stdout),
        stderr: collect(stderr),
    })
}

/// Read a pipe to its end on a helper thread.
fn reader(pipe: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut bytes = Vec::new();
        // A read error leaves what was read so far, which is still worth parsing.
        let _ = pipe.take(MAX_OUTPUT).read_to_end(&mut bytes);
        let _ = sender.send(bytes);
    });
    receiver
}

/// UTF-8 when valid, else CP1251: CryptoPro tools print in the locale's encoding, and Russian
/// systems still run with a CP1251 locale (domain reference §1.2).
pub(crate) fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => encoding_rs::WINDOWS_1251
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn utf8_stays_and_cp1251_is_converted() {
        assert_eq!(decode("Субъект".as_bytes()), "Субъект");
        // "Субъект" in CP1251.
        assert_eq!(
            decode(&[0xD1, 0xF3, 0xE1, 0xFA, 0xE5, 0xEA, 0xF2]),
            "Субъект"
        );
    }

    #[test]
    fn output_is_read_and_overruns_are_stopped() {
        let sh = Path::new("/bin/sh");
        let out = run(
            sh,
            &["-c", "echo out; echo err >&2"],
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(
            (out.stdout.as_str(), out.stderr.as_str()),
            ("out\n", "err\n")
        );
        let started = Instant::now();
        let error = run(sh, &["-c", "sleep 5"], Duration::from_millis(300)).unwrap_err();
        assert!(matches!(error, RunError::Timeout { .. }), "{error}");
        assert!(started.elapsed() < Duration::from_secs(3));
        let error = run(
            Path::new("/nonexistent/certmgr"),
            &[],
            Duration::from_secs(1),
        );
        assert!(matches!(error, Err(RunError::Spawn { .. })));
    }
}
