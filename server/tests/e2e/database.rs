use sqlx::PgPool;

use crate::faults::*;
use crate::support::*;

/// PostgreSQL is stopped for a while (a few seconds; minutes with `TOKENWATCH_LONG_FAULTS`)
/// and later restarted at once, each time while the agent sends a changed report every
/// 150 ms: transactions in flight are rolled back, the server answers reports with an error
/// while the database is away, and its pool reconnects when it is back. Every report arrives
/// once and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_and_restarted_during_ingest_loses_and_repeats_nothing() {
    let cluster = Cluster::start();
    let db = cluster.url();
    let pool = PgPool::connect(&db).await.expect("the test's cluster");
    let data = tempfile::tempdir().expect("data dir");
    let host = host();
    let server = Server::start(&db, data.path(), 0).await;
    let (agent_id, changes, agent) =
        changing_agent(&pool, &db, &server.url(), data.path(), &host).await;
    assert!(reports_reach(&pool, &agent_id, 4).await, "reports arrive");

    // Stopped for a while: the report in flight waits for a database connection until the
    // server gives up on it; it and the reports made since wait in the spool.
    cluster.down();
    let before = agent_sequence(&host.state);
    tokio::time::sleep(outage()).await;
    assert!(
        agent_sequence(&host.state) > before,
        "the agent kept scanning"
    );
    assert!(
        !spooled(&host.state).is_empty(),
        "reports wait in the spool while the database is away"
    );
    cluster.up();
    let after = i64::try_from(agent_sequence(&host.state)).expect("small");
    assert!(
        reports_reach(&pool, &agent_id, after).await,
        "the spool drains once the database is back"
    );

    // Restarted at once, twice, with reports arriving.
    for _ in 0..2 {
        let now = i64::try_from(agent_sequence(&host.state)).expect("small");
        cluster.down();
        cluster.up();
        assert!(
            reports_reach(&pool, &agent_id, now + 3).await,
            "reports arrive after a restart"
        );
    }
    let containers = changes.stop().await;
    assert_nothing_lost_or_repeated(&pool, agent, &agent_id, &host.state, containers).await;
    server.stop().await;
    pool.close().await;
}
