//! `tokenwatch-server serve`, the binary this package builds, in a process of its own, for the
//! end-to-end benchmarks.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use tokenwatch_server::config::Config;

use crate::launch;

pub(crate) struct ServerProcess {
    child: tokio::process::Child,
}

impl ServerProcess {
    /// Start the server with `config`, written into `dir`, and wait until `/readyz` answers.
    pub(crate) async fn start(config: &Config, dir: &Path) -> Self {
        let path = dir.join("server.toml");
        std::fs::write(&path, toml::to_string(config).expect("config as TOML")).expect("config");
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tokenwatch-server"))
            .arg("--config")
            .arg(&path)
            .arg("serve")
            .env("TOKENWATCH_LOG", "warn")
            .kill_on_drop(true)
            .spawn()
            .expect("the server starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the server stopped during start-up: {status}");
            }
            if matches!(
                launch::http_get(config.http.listen, "/readyz").await,
                Ok((200, _))
            ) {
                return Self { child };
            }
            assert!(Instant::now() < deadline, "the server did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id().expect("a running server")
    }

    /// The server's resident memory now and at its peak, in MiB (`VmRSS`, `VmHWM`).
    #[allow(dead_code, reason = "not every bench prints the server's memory")]
    pub(crate) fn memory_mib(&self) -> (f64, f64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let kib = |key: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(key))
                .and_then(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (kib("VmRSS:") / 1024.0, kib("VmHWM:") / 1024.0)
    }

    /// Stop the server as its service manager would, and check that it stopped cleanly.
    pub(crate) async fn stop(mut self) {
        let pid = self.pid().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(sent.success(), "SIGTERM to the server");
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("the server stops within 30 s")
            .expect("wait");
        assert!(status.success(), "the server stopped with {status}");
    }
}

impl ServerProcess {
    /// Kill the server at once (SIGKILL): whatever it was doing stops mid-way, as in a crash
    /// or a power cut.
    #[allow(
        dead_code,
        reason = "the fault tests kill the server; the benches stop it"
    )]
    pub(crate) async fn kill(mut self) {
        self.child.start_kill().expect("SIGKILL");
        let status = self.child.wait().await.expect("wait");
        assert!(!status.success(), "a killed server does not exit cleanly");
    }
}

/// A free port of 127.0.0.1, for the server process to bind.
pub(crate) fn free_address() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}
