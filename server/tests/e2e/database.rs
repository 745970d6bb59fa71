use std::time::Duration;

use sqlx::PgPool;

use crate::faults::*;
use crate::support::*;

/// Stored reports so far, by the agent's last applied sequence.
async fn progressed(pool: &PgPool, agent_id: &str, past: i64) -> bool {
    let ready = poll(Duration::from_secs(60), || async {
        // The pool reconnects by itself once the database is back.
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
    let secret = create_secret(&db, "Tver");
    let agent_id = enroll_agent(&server, data.path(), &secret, &host.state)
        .await
        .expect("enrols");
    audit_sequences(&pool).await;

    let changes = Changes::start(&host.root, Duration::from_millis(100));
    let agent = Agent::start(agent_config(
        &host.state,
        &host.root,
        Duration::from_millis(150),
        &["readers", "tokens"],
    ));
    assert!(progressed(&pool, &agent_id, 4).await, "reports arrive");

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
        progressed(&pool, &agent_id, after).await,
        "the spool drains once the database is back"
    );

    // Restarted at once, twice, with reports arriving.
    for _ in 0..2 {
        let now = i64::try_from(agent_sequence(&host.state)).expect("small");
        cluster.down();
        cluster.up();
        assert!(
            progressed(&pool, &agent_id, now + 3).await,
            "reports arrive after a restart"
        );
    }
    let containers = changes.stop().await;
    assert_nothing_lost_or_repeated(&pool, agent, &agent_id, &host.state, containers).await;
    server.stop().await;
    pool.close().await;
}
