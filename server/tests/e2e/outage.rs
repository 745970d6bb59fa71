use std::time::Duration;

use sqlx::PgPool;

use crate::faults::{applied_sequences, audit_sequences};
use crate::support::*;

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn reports_spooled_while_the_server_is_down_arrive_once_and_in_order(pool: PgPool) {
    let db = url_of(&pool);
    let data = tempfile::tempdir().expect("data dir");
    let host = host();
    let server = Server::start(&db, data.path(), 0).await;
    let port = server.grpc.port();
    let secret = create_secret(&db, "Tver");
    let agent_id = enroll_agent(&server, data.path(), &secret, &host.state)
        .await
        .expect("enrols");
    audit_sequences(&pool).await;

    let agent = Agent::start(agent_config(
        &host.state,
        &host.root,
        Duration::from_millis(400),
        &["readers", "tokens"],
    ));
    let first = poll(Duration::from_secs(20), || async {
        (last_sequence(&pool, &agent_id).await >= 1).then_some(())
    })
    .await;
    assert!(first.is_some(), "the first report did not arrive");

    // The server goes away; the agent keeps scanning and spools.
    server.stop().await;
    let during_outage = last_sequence(&pool, &agent_id).await;
    let spooled_enough = poll(Duration::from_secs(20), || async {
        (spooled(&host.state).len() >= 4).then_some(())
    })
    .await;
    assert!(
        spooled_enough.is_some(),
        "the agent did not spool while the server was down"
    );
    assert_eq!(
        last_sequence(&pool, &agent_id).await,
        during_outage,
        "nothing arrives while the server is down"
    );
    let waiting = spooled(&host.state);

    // Same data dir, same database, same port.
    let server = Server::start(&db, data.path(), port).await;
    // Delivery backs off while the server is away (1 s doubling); 4 missed attempts at most.
    let drained = poll(Duration::from_secs(40), || async {
        let applied = u64::try_from(last_sequence(&pool, &agent_id).await).unwrap_or(0);
        (spooled(&host.state).is_empty() && applied == agent_sequence(&host.state))
            .then_some(applied)
    })
    .await
    .expect("the spool drains into the restarted server");
    assert!(
        waiting.iter().all(|s| *s <= drained),
        "{waiting:?} all delivered (last applied {drained})"
    );
    agent.stop().await;
    server.stop().await;

    // Every report the agent generated was applied once, in order, with none skipped; a report
    // still being scanned when the agent stopped stays spooled for next time.
    let applied = applied_sequences(&pool).await;
    let last = last_sequence(&pool, &agent_id).await;
    let expected: Vec<i64> = (1..=last).collect();
    assert_eq!(applied, expected);
    assert_spool_holds_the_rest(&host.state, last);
    assert!(
        agent_sequence(&host.state) <= u64::try_from(last).expect("positive") + 1,
        "at most one report in flight at stop"
    );
}
