//! The real server (`tokenwatch_server::run`) and the real agent library (`enroll`, the `run`
//! service loop) in one test process, with the server's own binary for the operator's commands.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokenwatch_agent::config::ScanConfig;
use tokenwatch_agent::enroll::{EnrollConfig, EnrollError, enroll};
use tokenwatch_agent::paths::Paths;
use tokenwatch_agent::service::{RunConfig, run};
use tokenwatch_server::config::{Config, DatabaseUrl, Span};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::launch::Launched;
#[allow(unused_imports)] // the cards binary makes its own database
pub(crate) use crate::launch::url_of;

/// A running server. `stop` stops it gracefully; dropping it asks it to stop.
pub(crate) struct Server {
    pub(crate) grpc: SocketAddr,
    pub(crate) http: SocketAddr,
    launched: Launched,
}

impl Server {
    /// Start on 127.0.0.1: `grpc_port` 0 lets the kernel choose. Waits until `/readyz` is 200.
    pub(crate) async fn start(db_url: &str, data_dir: &Path, grpc_port: u16) -> Self {
        let mut config = Config::default();
        config.database.url = DatabaseUrl::new(db_url.to_owned());
        config.database.max_connections = 4;
        config.data_dir = data_dir.to_owned();
        // A drained spool arrives as fast as the agent sends it.
        config.agents.report_interval = Span::from_secs(1);
        config.agents.report_burst = 1000;
        let grpc = tokio::net::TcpListener::bind(("127.0.0.1", grpc_port))
            .await
            .expect("bind gRPC");
        let launched = Launched::start(config, grpc).await;
        Self {
            grpc: launched.grpc,
            http: launched.http,
            launched,
        }
    }

    /// `https://localhost:PORT`, a name the server's certificate carries.
    pub(crate) fn url(&self) -> String {
        format!("https://localhost:{}", self.grpc.port())
    }

    /// Stop gracefully and wait (bounded) for `run` to return.
    pub(crate) async fn stop(self) {
        self.launched
            .stop()
            .await
            .expect("the server ran without error");
    }
}

/// The agent CA the server created in `data_dir`, PEM.
pub(crate) fn ca_pem(data_dir: &Path) -> Vec<u8> {
    std::fs::read(tokenwatch_server::pki::ca_cert_path(data_dir)).expect("agent CA")
}

/// Poll `probe` every 50 ms until it yields a value or `limit` passes.
pub(crate) async fn poll<T, F: Future<Output = Option<T>>>(
    limit: Duration,
    mut probe: impl FnMut() -> F,
) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return Some(value);
        }
        if start.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The server's own binary: `tokenwatch-server ARGS` against `db_url`.
pub(crate) fn server_command(db_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tokenwatch-server"))
        .args(args)
        .env("TOKENWATCH_DATABASE_URL", db_url)
        .env_remove("TOKENWATCH_CONFIG")
        .output()
        .expect("runs tokenwatch-server")
}

/// `tokenwatch-server enroll-secret create --office OFFICE`: the secret printed.
pub(crate) fn create_secret(db_url: &str, office: &str) -> String {
    let output = server_command(db_url, &["enroll-secret", "create", "--office", office]);
    assert!(
        output.status.success(),
        "enroll-secret create: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find(|l| l.starts_with("tw1_"))
        .expect("the secret is printed")
        .to_owned()
}

/// `tokenwatch-server agent revoke ID`.
pub(crate) fn revoke_agent(db_url: &str, id: &str) {
    let output = server_command(db_url, &["agent", "revoke", id]);
    assert!(
        output.status.success(),
        "agent revoke: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Enrol through the agent's own code, trusting the CA in `data_dir`.
pub(crate) async fn enroll_agent(
    server: &Server,
    data_dir: &Path,
    secret: &str,
    state: &Path,
) -> Result<String, EnrollError> {
    enroll_at(&server.url(), data_dir, secret, state).await
}

/// The same through `url`: a server in a process of its own, or a proxy in front of one.
pub(crate) async fn enroll_at(
    url: &str,
    data_dir: &Path,
    secret: &str,
    state: &Path,
) -> Result<String, EnrollError> {
    let agent = enroll(EnrollConfig {
        server: url.to_owned(),
        secret: secret.to_owned(),
        ca_pem: Some(ca_pem(data_dir)),
        state_dir: state.to_owned(),
        hostname: "ws-e2e.example".into(),
    })
    .await?;
    Ok(agent.agent_id)
}

/// The service configuration: no PKCS#11 (`tokens` skipped), system paths under `root`.
pub(crate) fn agent_config(
    state: &Path,
    root: &Path,
    interval: Duration,
    skip: &[&str],
) -> RunConfig {
    let mut scan = ScanConfig::new(Paths::new(root));
    scan.disabled_collectors = skip.iter().map(|s| (*s).to_owned()).collect();
    let mut config = RunConfig::new(state, scan);
    config.interval = interval;
    config.hotplug = false;
    config
}

/// The agent's service loop on this runtime.
pub(crate) struct Agent {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Agent {
    pub(crate) fn start(config: RunConfig) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            run(config, async {
                let _ = stopped.await;
            })
            .await
            .expect("the agent service starts");
        });
        Self { stop, task }
    }

    /// Ask the service to stop and wait (bounded) for it.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the agent stops within 10 s")
            .expect("the agent did not panic");
    }
}

/// Reports waiting in the agent's spool, by sequence.
pub(crate) fn spooled(state: &Path) -> Vec<u64> {
    let mut sequences: Vec<u64> = std::fs::read_dir(state.join("spool"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "pb"))
                .filter_map(|p| p.file_stem()?.to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    sequences.sort_unstable();
    sequences
}

/// After the agent stopped: every report it made past `applied` (the server's last applied
/// sequence) is still in its spool, so none is lost. The spool may also hold the report whose
/// answer was on its way when the agent stopped (stopping cancels a delivery; the server
/// recognises that report when it comes again).
#[track_caller]
pub(crate) fn assert_spool_holds_the_rest(state: &Path, applied: i64) {
    let applied = u64::try_from(applied).expect("positive");
    let generated = agent_sequence(state);
    let left = spooled(state);
    let unapplied: Vec<u64> = ((applied + 1)..=generated).collect();
    let answered_in_flight: Vec<u64> = std::iter::once(applied).chain(unapplied.clone()).collect();
    assert!(
        left == unapplied || (applied > 0 && left == answered_in_flight),
        "spool {left:?} after {applied} applied of {generated} made"
    );
}

/// The last sequence number the agent handed out (0 before the first report).
pub(crate) fn agent_sequence(state: &Path) -> u64 {
    std::fs::read_to_string(state.join("sequence"))
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0)
}

/// `agents.last_sequence` of `agent`.
pub(crate) async fn last_sequence(pool: &PgPool, agent: &str) -> i64 {
    sqlx::query_scalar("select last_sequence from agents where id = $1::uuid")
        .bind(agent)
        .fetch_one(pool)
        .await
        .expect("agent row")
}

/// A temporary host: the agent's state dir and a root for its system paths.
pub(crate) struct Host {
    _tmp: tempfile::TempDir,
    pub(crate) state: PathBuf,
    pub(crate) root: PathBuf,
}

pub(crate) fn host() -> Host {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("root");
    std::fs::create_dir(&root).expect("root");
    Host {
        state: tmp.path().join("state"),
        root,
        _tmp: tmp,
    }
}
