use std::time::Duration;

use sqlx::PgPool;
use tokenwatch_agent::enroll::EnrollError;

use crate::support::*;

/// Rows of the tables an agent's reports write, as text: to show nothing changed.
async fn inventory_snapshot(pool: &PgPool) -> Vec<String> {
    let mut rows = Vec::new();
    for query in [
        "select row_to_json(a)::text from (select id, last_sequence, last_seen_at, content_sha256, revoked_at is not null as revoked from agents order by id) a",
        "select row_to_json(h)::text from (select * from hosts order by agent_id) h",
        "select row_to_json(r)::text from (select * from host_readers order by agent_id, ordinal) r",
        "select row_to_json(c)::text from (select * from host_collectors order by 1, 2) c",
        "select row_to_json(s)::text from (select id, revoked_at from enroll_secrets order by id) s",
    ] {
        rows.extend(
            sqlx::query_scalar::<_, String>(query)
                .fetch_all(pool)
                .await
                .expect("snapshot"),
        );
    }
    rows
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_wrong_secret_is_refused_and_writes_nothing(pool: PgPool) {
    let db = url_of(&pool);
    let data = tempfile::tempdir().expect("data dir");
    let host = host();
    let server = Server::start(&db, data.path(), 0).await;
    let _good = create_secret(&db, "Omsk");
    let before = inventory_snapshot(&pool).await;

    let error = enroll_agent(&server, data.path(), "tw1_not-the-secret", &host.state)
        .await
        .expect_err("a wrong secret is refused");
    assert!(
        matches!(
            &error,
            EnrollError::Refused {
                code: tonic::Code::PermissionDenied,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(!host.state.exists(), "the agent wrote nothing");
    assert_eq!(
        inventory_snapshot(&pool).await,
        before,
        "the server wrote nothing"
    );
    let agents: i64 = sqlx::query_scalar("select count(*) from agents")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(agents, 0);
    server.stop().await;
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_revoked_agent_is_refused_and_changes_nothing(pool: PgPool) {
    let db = url_of(&pool);
    let data = tempfile::tempdir().expect("data dir");
    let host = host();
    let server = Server::start(&db, data.path(), 0).await;
    let secret = create_secret(&db, "Perm");
    let agent_id = enroll_agent(&server, data.path(), &secret, &host.state)
        .await
        .expect("enrols");
    let config = agent_config(
        &host.state,
        &host.root,
        Duration::from_secs(3600),
        &["readers", "tokens"],
    );

    let agent = Agent::start(config.clone());
    let delivered = poll(Duration::from_secs(20), || async {
        (last_sequence(&pool, &agent_id).await == 1 && spooled(&host.state).is_empty())
            .then_some(())
    })
    .await;
    assert!(delivered.is_some(), "the enrolled agent's report arrives");
    agent.stop().await;

    revoke_agent(&db, &agent_id);
    let before = inventory_snapshot(&pool).await;

    // A fresh start scans at once and tries to deliver: the server refuses the revoked
    // certificate, and the report stays in the spool.
    let agent = Agent::start(config);
    let spooled_report = poll(Duration::from_secs(20), || async {
        (agent_sequence(&host.state) == 2 && spooled(&host.state) == [2]).then_some(())
    })
    .await;
    assert!(spooled_report.is_some(), "the agent produced report 2");
    // The first delivery attempt follows the scan at once; give it time to be refused.
    let arrived = poll(Duration::from_secs(3), || async {
        (last_sequence(&pool, &agent_id).await != 1).then_some(())
    })
    .await;
    assert!(arrived.is_none(), "a revoked agent's report was applied");
    agent.stop().await;
    server.stop().await;

    assert_eq!(
        inventory_snapshot(&pool).await,
        before,
        "the database did not change"
    );
    assert_eq!(
        spooled(&host.state),
        [2],
        "the refused report waits in the spool"
    );
}
