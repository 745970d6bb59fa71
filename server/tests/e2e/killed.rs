use std::time::Duration;

use sqlx::PgPool;

use crate::faults::*;
use crate::server_process::ServerProcess;
use crate::support::*;

/// The server is killed (SIGKILL) while the agent sends a changed report every 150 ms: a
/// transaction it had open is rolled back, an answer it had not sent is never sent. The agent
/// keeps what was not answered and sends it again to the restarted server, which applies what
/// it had not and recognises what it had.
#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_server_killed_during_ingest_loses_and_repeats_nothing(pool: PgPool) {
    let db = url_of(&pool);
    let data = tempfile::tempdir().expect("data dir");
    let host = host();
    let config = process_config(&db, data.path());
    let url = format!("https://localhost:{}", config.grpc.listen.port());
    let server = ServerProcess::start(&config, data.path()).await;
    let (agent_id, changes, agent) = changing_agent(&pool, &db, &url, data.path(), &host).await;
    let mut server = Some(server);
    // Three kills, each after a few more reports have been stored.
    for _ in 0..3 {
        let before = last_sequence(&pool, &agent_id).await;
        assert!(
            reports_reach(&pool, &agent_id, before + 4).await,
            "reports arrive before the kill"
        );
        server.take().expect("running").kill().await;
        tokio::time::sleep(Duration::from_millis(700)).await;
        server = Some(ServerProcess::start(&config, data.path()).await);
    }
    let containers = changes.stop().await;
    assert_nothing_lost_or_repeated(&pool, agent, &agent_id, &host.state, containers).await;
    server.expect("running").stop().await;
}
