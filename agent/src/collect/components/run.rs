//! Running a vendor program and reading what it prints, bounded in time.
//!
//! CryptoPro's tools can wait for a licence server, a reader or a prompt; the agent gives each
//! run a deadline and no input, and kills a program that overruns.

use std::io::{ErrorKind, Read};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// What a finished program printed.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) status: ExitStatus,
    /// stdout, then stderr, decoded (see [`decode`]).
    pub(crate) text: String,
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
    #[error("{program} did not finish within {seconds} s and was stopped")]
    TimedOut { program: String, seconds: u64 },
    #[error("lost track of {program}: {source}")]
    Wait {
        program: String,
        #[source]
        source: std::io::Error,
    },
}

/// How often a running program is checked on.
const POLL: Duration = Duration::from_millis(20);

/// Extra attempts to start a program whose file is busy being written.
const SPAWN_RETRIES: u32 = 5;

/// Run `program` with `args`, no input, and at most `timeout`.
pub(crate) fn run(program: &Path, args: &[&str], timeout: Duration) -> Result<Output, RunError> {
    let name = program.display().to_string();
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // CryptoPro tools localise their labels to the process locale (certmgr is seen doing
        // so): ask for the C locale, whose English labels the parsers are built on.
        .env("LC_ALL", "C");
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
            Err(source) => {
                return Err(RunError::Spawn {
                    program: name,
                    source,
                });
            }
        }
    };

    // Pipes are drained on their own threads so a chatty program never blocks on a full pipe.
    // They are not joined on a timeout: a grandchild may still hold a pipe open.
    let (sender, receiver) = mpsc::channel();
    for (index, pipe) in [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .enumerate()
    {
        let Some(mut pipe) = pipe else { continue };
        let sender = sender.clone();
        // Without a thread the pipe is dropped: the program sees a closed pipe, and the output
        // is simply missing, which the parsers report.
        let _ = thread::Builder::new()
            .name("collect-program-output".to_owned())
            .spawn(move || {
                let mut bytes = Vec::new();
                let _ = pipe.read_to_end(&mut bytes);
                let _ = sender.send((index, bytes));
            });
    }
    drop(sender);

    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RunError::TimedOut {
                    program: name,
                    seconds: timeout.as_secs_f64().ceil() as u64,
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
    };

    // The program has exited; its pipes close unless it left a child behind holding them.
    let mut streams = [Vec::new(), Vec::new()];
    let drain_until = Instant::now() + Duration::from_secs(1).min(timeout);
    for _ in 0..2 {
        let left = drain_until.saturating_duration_since(Instant::now());
        match receiver.recv_timeout(left) {
            Ok((index, bytes)) => streams[index] = bytes,
            Err(_) => break,
        }
    }
    let [stdout, stderr] = streams;
    let mut text = decode(&stdout);
    if !stderr.is_empty() {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&decode(&stderr));
    }
    Ok(Output { status, text })
}

/// Program output as text: UTF-8 when it is valid UTF-8, else CP1251, which CryptoPro uses for
/// Cyrillic on Linux (domain reference §1.2).
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
    fn utf8_stays_utf8() {
        assert_eq!(decode("Срок действия".as_bytes()), "Срок действия");
        assert_eq!(decode(b""), "");
    }

    #[test]
    fn cp1251_is_decoded() {
        // "Тест" in CP1251.
        assert_eq!(decode(&[0xD2, 0xE5, 0xF1, 0xF2]), "Тест");
    }

    #[cfg(unix)] // /bin/sh
    #[test]
    fn output_and_exit_status_are_returned() {
        let out = run(
            Path::new("/bin/sh"),
            &["-c", "echo out; echo err >&2; exit 3"],
            Duration::from_secs(5),
        )
        .expect("sh runs");
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(out.text, "out\nerr\n");
    }

    #[cfg(unix)] // /bin/sh
    #[test]
    fn a_hanging_program_is_stopped() {
        let started = Instant::now();
        let error = run(
            Path::new("/bin/sh"),
            &["-c", "sleep 30"],
            Duration::from_millis(300),
        )
        .expect_err("times out");
        assert!(matches!(error, RunError::TimedOut { .. }), "{error}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_missing_program_cannot_start() {
        let error =
            run(Path::new("/nonexistent/prog"), &[], Duration::from_secs(1)).expect_err("absent");
        assert!(matches!(error, RunError::Spawn { .. }), "{error}");
    }
}
