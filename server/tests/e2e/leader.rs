use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokenwatch_server::alerts::{self, Settings};
use tokenwatch_server::config::{AlertsConfig, Config, DatabaseUrl, Span};

use crate::generated::{Content, generate};
use crate::server_process::{ServerProcess, free_address};
use crate::support::*;

/// The session holding the alert evaluator's advisory lock: its `application_name` (which
/// server) and when its transaction began, if it is inside one (evaluating).
async fn lock_holder(pool: &PgPool) -> Option<(String, Option<DateTime<Utc>>)> {
    sqlx::query_as(
        "select a.application_name, a.xact_start \
         from pg_locks l join pg_stat_activity a using (pid) \
         where l.locktype = 'advisory' and l.granted \
           and l.classid = x'746b6e77'::int::oid and l.objid = x'616c7274'::int::oid",
    )
    .fetch_optional(pool)
    .await
    .expect("pg_locks")
}

/// A server process named `name` (its sessions' `application_name`) evaluating every second.
async fn server(db: &str, name: &str, data: &std::path::Path) -> ServerProcess {
    let mut config = Config::default();
    let separator = if db.contains('?') { '&' } else { '?' };
    config.database.url = DatabaseUrl::new(format!("{db}{separator}application_name={name}"));
    config.database.max_connections = 4;
    config.data_dir = data.join(name);
    config.alerts.evaluation_interval = Span::from_secs(1);
    config.grpc.listen = free_address();
    config.http.listen = free_address();
    std::fs::create_dir_all(&config.data_dir).expect("data dir");
    ServerProcess::start(&config, &config.data_dir).await
}

/// Two servers share a database of 5,000 hosts; the one evaluating alerts is killed (SIGKILL)
/// in the middle of an evaluation. Its transaction is rolled back and its lock freed with its
/// session; the other takes over at its next tick and completes an evaluation. No alert fires
/// twice, no notification is queued twice, and an evaluation run afterwards finds nothing left
/// to do.
#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn the_evaluating_server_killed_mid_evaluation_hands_over_cleanly(pool: PgPool) {
    generate(&pool, 5_000, Content::Alerts).await;
    sqlx::query("analyze")
        .execute(&pool)
        .await
        .expect("analyze");
    let db = url_of(&pool);
    let data = tempfile::tempdir().expect("data dirs");
    let mut a = Some(server(&db, "tokenwatch-a", data.path()).await);
    let mut b = Some(server(&db, "tokenwatch-b", data.path()).await);

    // Catch the evaluating server inside an evaluation.
    let deadline = Instant::now() + Duration::from_secs(60);
    let killed = loop {
        assert!(
            Instant::now() < deadline,
            "never caught an evaluation in progress"
        );
        if let Some((name, Some(_))) = lock_holder(&pool).await {
            let victim = if name == "tokenwatch-a" {
                a.take()
            } else {
                b.take()
            };
            victim.expect("running").kill().await;
            break name;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let killed_at = Utc::now();
    // The survivor must show that it evaluates: it holds the lock and one of its evaluations
    // (a transaction on the lock's session) begins after the kill and ends. What an evaluation
    // writes cannot show it: it writes only what changes, and the killed round may have been a
    // later one with nothing new. The bound is for liveness only: the killed session's lock goes
    // once PostgreSQL notices the dead connection.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut began: Option<DateTime<Utc>> = None;
    let took_over = loop {
        if let Some((holder, transaction)) = lock_holder(&pool).await {
            if holder != killed {
                match (began, transaction) {
                    (None, Some(start)) if start > killed_at => began = Some(start),
                    (Some(start), now) if now != Some(start) => break Some(holder),
                    _ => {}
                }
            }
        }
        if Instant::now() > deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert!(took_over.is_some(), "the other server took over evaluation");
    let survivor = a.or(b).expect("one server runs");
    survivor.stop().await;

    let twice: i64 = sqlx::query_scalar(
        "select count(*) from (select alert_id from alert_events where kind = 'fired' \
         group by alert_id having count(*) > 1) t",
    )
    .fetch_one(&pool)
    .await
    .expect("events");
    assert_eq!(twice, 0, "an alert fired twice");
    let queued_twice: i64 = sqlx::query_scalar(
        "select count(*) from (select alert_id, kind from alert_notifications \
         where kind = 'fired' group by alert_id, kind having count(*) > 1) t",
    )
    .fetch_one(&pool)
    .await
    .expect("notifications");
    assert_eq!(queued_twice, 0, "a notification was queued twice");
    let firing: i64 = sqlx::query_scalar("select count(*) from alerts where state = 'firing'")
        .fetch_one(&pool)
        .await
        .expect("alerts");
    assert!(firing > 100, "the fleet's alerts fire ({firing})");
    let outcome = alerts::evaluate(
        &pool,
        Utc::now(),
        &Settings::from_config(&AlertsConfig::default()),
    )
    .await
    .expect("evaluates");
    assert_eq!(
        (outcome.fired, outcome.resolved),
        (0, 0),
        "the surviving server left nothing undone"
    );
}
