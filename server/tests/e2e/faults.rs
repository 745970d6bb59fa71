//! What the fault tests share: a server in a process of its own (so that it can be killed), a
//! host whose inventory changes while the agent reports, and the check that every report the
//! agent made was applied once, in order, with the host's last inventory stored.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::PgPool;
use tokenwatch_server::config::{Config, DatabaseUrl, Span};
use tokio::task::JoinHandle;

use crate::server_process::free_address;
use crate::support::*;

/// Record every change of `agents.last_sequence` as the database sees it, so the test can tell
/// the order in which the server applied reports.
pub(crate) async fn audit_sequences(pool: &PgPool) {
    for statement in [
        "create table e2e_sequence_log (id bigserial primary key, sequence bigint not null)",
        "create function e2e_log_sequence() returns trigger language plpgsql as $$ \
         begin insert into e2e_sequence_log (sequence) values (new.last_sequence); return new; end $$",
        "create trigger e2e_sequence after update of last_sequence on agents for each row \
         when (new.last_sequence is distinct from old.last_sequence) \
         execute function e2e_log_sequence()",
    ] {
        sqlx::query(statement).execute(pool).await.expect("audit");
    }
}

pub(crate) async fn applied_sequences(pool: &PgPool) -> Vec<i64> {
    sqlx::query_scalar("select sequence from e2e_sequence_log order by id")
        .fetch_all(pool)
        .await
        .expect("audit log")
}

/// The configuration of a server process for the database at `db_url`, keeping its CA and
/// certificates in `data_dir`, on ports of its own that it keeps across restarts.
pub(crate) fn process_config(db_url: &str, data_dir: &Path) -> Config {
    let mut config = Config::default();
    config.database.url = DatabaseUrl::new(db_url.to_owned());
    config.database.max_connections = 4;
    config.data_dir = data_dir.to_owned();
    // A spool drained after an outage arrives as fast as the agent sends it.
    config.agents.report_interval = Span::from_secs(1);
    config.agents.report_burst = 1000;
    config.grpc.listen = free_address();
    config.http.listen = free_address();
    config
}

/// A new key container folder under the host's HDIMAGE every `every`, so that each report the
/// agent makes differs from the last and is stored (a transaction on the server), until
/// [`Changes::stop`]. Each folder holds a `name.key` only: an incomplete container, reported
/// with its finding.
pub(crate) struct Changes {
    task: JoinHandle<usize>,
    stop: tokio::sync::oneshot::Sender<()>,
}

impl Changes {
    pub(crate) fn start(root: &Path, every: Duration) -> Self {
        let keys: PathBuf = root.join("var/opt/cprocsp/keys/user");
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut made = 0;
            loop {
                let folder = keys.join(format!("c{made:04}.000"));
                std::fs::create_dir_all(&folder).expect("container folder");
                std::fs::write(folder.join("name.key"), b"\x30\x00").expect("name.key");
                made += 1;
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = &mut stopped => return made,
                }
            }
        });
        Self { task, stop }
    }

    /// Stop making folders; how many there are.
    pub(crate) async fn stop(self) -> usize {
        let _ = self.stop.send(());
        self.task.await.expect("the changes task")
    }
}

/// An agent enrolled through `url` (the server's, or a proxy's in front of it) in a new office,
/// with the applied sequences audited, reporting every 150 ms while [`Changes`] gives each of
/// its scans something new to store. Its id, the changes and the running agent.
pub(crate) async fn changing_agent(
    pool: &PgPool,
    db: &str,
    url: &str,
    data_dir: &Path,
    host: &Host,
) -> (String, Changes, Agent) {
    let secret = create_secret(db, "Tver");
    let agent_id = enroll_at(url, data_dir, &secret, &host.state)
        .await
        .expect("enrols");
    audit_sequences(pool).await;
    let changes = Changes::start(&host.root, Duration::from_millis(100));
    let agent = Agent::start(agent_config(
        &host.state,
        &host.root,
        Duration::from_millis(150),
        &["readers", "tokens"],
    ));
    (agent_id, changes, agent)
}

/// Whether the server applies the agent's sequence `past` or a later one within a minute.
/// Failed reads count as not yet: the database may be on its way back.
pub(crate) async fn reports_reach(pool: &PgPool, agent_id: &str, past: i64) -> bool {
    let ready = poll(Duration::from_secs(60), || async {
        let last =
            sqlx::query_scalar::<_, i64>("select last_sequence from agents where id = $1::uuid")
                .bind(agent_id)
                .fetch_one(pool)
                .await
                .ok()?;
        (last >= past).then_some(())
    })
    .await;
    ready.is_some()
}

/// Wait until the agent's spool is empty and the server has applied its last report, made
/// after all `containers` folders were there, stop the agent, then check that every report it
/// made was applied exactly once and in order (none lost, none twice) and that what is left in
/// its spool is only what it made after.
pub(crate) async fn assert_nothing_lost_or_repeated(
    pool: &PgPool,
    agent: Agent,
    agent_id: &str,
    state: &Path,
    containers: usize,
) {
    let stored = || async {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from host_containers where agent_id = $1::uuid",
        )
        .bind(agent_id)
        .fetch_one(pool)
        .await
        .ok()
        .and_then(|n| usize::try_from(n).ok())
    };
    // The agent's delivery backs off up to 5 minutes after a long outage.
    let drained = poll(Duration::from_secs(330), || async {
        let applied = u64::try_from(last_sequence(pool, agent_id).await).unwrap_or(0);
        (spooled(state).is_empty()
            && applied == agent_sequence(state)
            && stored().await == Some(containers))
        .then_some(())
    })
    .await;
    assert!(
        drained.is_some(),
        "the spool drains into the server and the host's last inventory, with its {containers} \
         containers, is stored (stored: {:?})",
        stored().await
    );
    agent.stop().await;

    let last = last_sequence(pool, agent_id).await;
    let expected: Vec<i64> = (1..=last).collect();
    assert_eq!(
        applied_sequences(pool).await,
        expected,
        "each report applied once, in order"
    );
    let last = u64::try_from(last).expect("positive");
    let generated = agent_sequence(state);
    assert_eq!(spooled(state), ((last + 1)..=generated).collect::<Vec<_>>());
}

/// How long the database stays away in the fault tests: longer than the server waits for a
/// database connection (10 s), so that reports are answered with an error, or minutes with
/// `TOKENWATCH_LONG_FAULTS=1` (the agent's delivery backoff then grows towards its 5-minute
/// ceiling).
pub(crate) fn outage() -> Duration {
    if std::env::var_os("TOKENWATCH_LONG_FAULTS").is_some() {
        Duration::from_secs(150)
    } else {
        Duration::from_secs(12)
    }
}

/// A PostgreSQL cluster of the test's own (`scripts/pg-cluster`), which it can stop and start.
pub(crate) struct Cluster {
    dir: tempfile::TempDir,
    port: u16,
}

impl Cluster {
    pub(crate) fn start() -> Self {
        let dir = tempfile::tempdir().expect("cluster dir");
        // Run as root, the script runs PostgreSQL as `postgres`, which must reach the folder.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod");
        let cluster = Self {
            port: free_address().port(),
            dir,
        };
        cluster.up();
        cluster
    }

    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn script(&self, args: &[&str]) {
        let output = std::process::Command::new(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg-cluster"),
        )
        .args(args)
        .output()
        .expect("runs scripts/pg-cluster");
        assert!(
            output.status.success(),
            "pg-cluster {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn data(&self) -> String {
        self.dir.path().join("pg").display().to_string()
    }

    /// Start (or restart) the cluster and wait until it takes connections.
    pub(crate) fn up(&self) {
        self.script(&["start", &self.data(), &self.port.to_string()]);
    }

    /// Stop it the way an administrator's restart does (`pg_ctl -m fast`): sessions are
    /// ended, open transactions rolled back.
    pub(crate) fn down(&self) {
        self.script(&["stop", &self.data()]);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.down();
    }
}
