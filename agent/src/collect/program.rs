//! Running a vendor program and reading what it prints, bounded in time.
//!
//! CryptoPro's tools can wait for a licence server, a token, a PIN dialog or a stuck pcscd: the
//! agent gives each run a deadline and no input, and kills a program that overruns. Output is
//! read on helper threads and collected only for a short while after the program exits, so a
//! grandchild that keeps a pipe open keeps a detached thread waiting, never the scan.
//!
//! The caller prepares the [`Command`] (program, arguments, environment): components asks for
//! the C locale to get English labels, while certmgr keeps the agent's locale so that Cyrillic
//! names come out in the user's encoding.

use std::io::{ErrorKind, Read};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Output beyond this, per stream, is cut: a store listing is a few kilobytes per certificate.
const MAX_OUTPUT: u64 = 8 * 1024 * 1024;

/// How often a running program is checked on.
const POLL: Duration = Duration::from_millis(20);

/// Extra attempts to start a program whose file is busy being written.
const SPAWN_RETRIES: u32 = 5;

/// Longest wait for the output after the program has exited.
const DRAIN: Duration = Duration::from_secs(1);

/// What a finished program printed, each stream decoded (see [`decode`]).
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Output {
    /// stdout, then stderr on a line of its own, for parsers that read both.
    pub(crate) fn text(&self) -> String {
        let mut text = self.stdout.clone();
        if !self.stderr.is_empty() {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&self.stderr);
        }
        text
    }
}

/// Why a program gave no output.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RunError {
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{program} did not finish within {} s and was stopped", seconds(*timeout))]
    TimedOut { program: String, timeout: Duration },
    #[error("waiting for {program} failed: {source}")]
    Wait {
        program: String,
        #[source]
        source: std::io::Error,
    },
}

/// Run `command` with no input for at most `timeout`; its stdout and stderr are captured.
pub(crate) fn run(mut command: Command, timeout: Duration) -> Result<Output, RunError> {
    let started = Instant::now();
    let program = command.get_program().to_string_lossy().into_owned();
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut attempts = 0;
    let mut child = loop {
        match command.spawn() {
            Ok(child) => break child,
            // The file is being written (a package upgrade under way): it is worth a moment.
            Err(error)
                if error.kind() == ErrorKind::ExecutableFileBusy && attempts < SPAWN_RETRIES =>
            {
                attempts += 1;
                thread::sleep(POLL);
            }
            Err(source) => return Err(RunError::Spawn { program, source }),
        }
    };
    let stdout = child.stdout.take().map(reader);
    let stderr = child.stderr.take().map(reader);

    let deadline = started + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                // Already exited or unkillable: either way nothing more can be done here.
                let _ = child.kill();
                let _ = child.wait();
                return Err(RunError::TimedOut { program, timeout });
            }
            Ok(None) => thread::sleep(POLL),
            Err(source) => {
                let _ = child.kill();
                return Err(RunError::Wait { program, source });
            }
        }
    };

    // The program has exited; its pipes close unless it left a child behind holding them.
    let drain_until = Instant::now() + DRAIN.min(timeout);
    let collect = |pipe: Option<mpsc::Receiver<Vec<u8>>>| {
        let left = drain_until.saturating_duration_since(Instant::now());
        pipe.and_then(|pipe| pipe.recv_timeout(left).ok())
            .map(|bytes| decode(&bytes))
            .unwrap_or_default()
    };
    Ok(Output {
        status,
        stdout: collect(stdout),
        stderr: collect(stderr),
    })
}

/// Read a pipe to its end (or [`MAX_OUTPUT`]) on a helper thread.
fn reader(pipe: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (sender, receiver) = mpsc::channel();
    // Without a thread the pipe is dropped: the program sees a closed pipe, and the output is
    // simply missing, which the parsers report.
    let _ = thread::Builder::new()
        .name("collect-program-output".to_owned())
        .spawn(move || {
            let mut bytes = Vec::new();
            // A read error leaves what was read so far, which is still worth parsing.
            let _ = pipe.take(MAX_OUTPUT).read_to_end(&mut bytes);
            let _ = sender.send(bytes);
        });
    receiver
}

/// A deadline in seconds for messages: whole seconds as such (`1`), else to a tenth (`1.5`),
/// rounded up so that a deadline is never understated.
fn seconds(timeout: Duration) -> String {
    let tenths = timeout.as_millis().div_ceil(100);
    match tenths % 10 {
        0 => format!("{}", tenths / 10),
        fraction => format!("{}.{fraction}", tenths / 10),
    }
}

/// Program output as text: UTF-8 when it is valid UTF-8, else CP1251. CryptoPro tools print in
/// the locale's encoding, and Russian systems still run with a CP1251 locale (domain reference
/// §1.2).
pub(crate) fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => encoding_rs::WINDOWS_1251
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_stays_and_cp1251_is_converted() {
        assert_eq!(decode("Срок действия".as_bytes()), "Срок действия");
        assert_eq!(decode(b""), "");
        // "Тест" and "Субъект" in CP1251.
        assert_eq!(decode(&[0xD2, 0xE5, 0xF1, 0xF2]), "Тест");
        assert_eq!(
            decode(&[0xD1, 0xF3, 0xE1, 0xFA, 0xE5, 0xEA, 0xF2]),
            "Субъект"
        );
    }

    #[test]
    fn deadlines_are_said_in_whole_seconds_or_tenths() {
        assert_eq!(seconds(Duration::from_secs(1)), "1");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5");
        assert_eq!(seconds(Duration::from_millis(1449)), "1.5");
        assert_eq!(seconds(Duration::from_millis(300)), "0.3");
        assert_eq!(seconds(Duration::from_secs(10)), "10");
    }

    #[cfg(unix)] // /bin/sh
    fn sh(script: &str) -> Command {
        let mut command = Command::new("/bin/sh");
        command.args(["-c", script]);
        command
    }

    #[cfg(unix)] // /bin/sh
    #[test]
    fn output_and_exit_status_are_returned() {
        let out =
            run(sh("echo out; echo err >&2; exit 3"), Duration::from_secs(5)).expect("sh runs");
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(
            (out.stdout.as_str(), out.stderr.as_str()),
            ("out\n", "err\n")
        );
        assert_eq!(out.text(), "out\nerr\n");
        let out = run(sh("printf out; printf err >&2"), Duration::from_secs(5)).expect("sh runs");
        assert_eq!(out.text(), "out\nerr");
    }

    #[cfg(unix)] // /bin/sh
    #[test]
    fn the_callers_environment_is_kept() {
        let mut command = sh("echo \"$LC_ALL\"");
        command.env("LC_ALL", "C");
        let out = run(command, Duration::from_secs(5)).expect("sh runs");
        assert_eq!(out.stdout, "C\n");
    }

    #[cfg(unix)] // /bin/sh
    #[test]
    fn a_hanging_program_is_stopped() {
        let started = Instant::now();
        let error = run(sh("sleep 30"), Duration::from_millis(300)).expect_err("times out");
        assert!(matches!(error, RunError::TimedOut { .. }), "{error}");
        assert!(
            error
                .to_string()
                .ends_with("did not finish within 0.3 s and was stopped"),
            "{error}"
        );
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[cfg(unix)] // /bin/sh
    #[test]
    fn a_grandchild_holding_the_pipes_does_not_hold_the_caller() {
        let started = Instant::now();
        let out = run(sh("echo out; sleep 4 & exit 0"), Duration::from_secs(10)).expect("sh runs");
        assert!(out.status.success());
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_missing_program_cannot_start() {
        let error =
            run(Command::new("/nonexistent/prog"), Duration::from_secs(1)).expect_err("absent");
        assert!(matches!(error, RunError::Spawn { .. }), "{error}");
    }
}
