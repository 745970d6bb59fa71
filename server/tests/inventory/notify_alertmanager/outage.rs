//! Alertmanager unreachable, and tokenwatch gone quiet.

use chrono::Duration;
use sqlx::PgPool;
use tokenwatch_server::alerts;
use tokenwatch_server::notify::Round;

use super::real::{Alertmanager, Sink};
use super::*;

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn down_fails_and_is_retried_in_order_once_back(pool: PgPool) {
    let sink = Sink::start().await;
    let mut manager = Alertmanager::start(&sink).await;
    let config = notify_config(&manager.url, 60);
    let start = wall();
    // Certificate 0 ends in 10 days, certificate 1 in 20.
    let (end, second) = (start + Duration::days(10), start + Duration::days(20));
    three_hosts(&pool, end, Some(second), start - Duration::days(17)).await;
    let settings = patient();
    alerts::evaluate(&pool, start - Duration::days(16), &settings)
        .await
        .unwrap();
    let (mut deliverer, _) = start_deliverer(&pool, &config);
    assert_eq!(step(&mut deliverer, wall()).await.sent, 1);
    sink.wait_for(1).await;

    // Alertmanager crashes; meanwhile certificate 0 becomes critical and certificate 1 starts
    // expiring.
    manager.kill().await;
    alerts::evaluate(&pool, start - Duration::days(2), &settings)
        .await
        .unwrap();
    let failed_at = wall();
    let round = step(&mut deliverer, failed_at).await;
    assert_eq!((round.sent, round.failed, round.abandoned), (0, 2, 0));
    let errors: Vec<(i32, Option<String>)> = sqlx::query_as(
        "select attempts, last_error from notification_deliveries \
         where channel = $1 and delivered_at is null order by notification_id",
    )
    .bind(CHANNEL)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(errors.len(), 2);
    for (attempts, error) in &errors {
        assert_eq!(*attempts, 1);
        let error = error.as_deref().unwrap_or_default();
        assert!(error.starts_with("cannot reach alertmanager am"), "{error}");
    }

    // A day on it repeats; the repeat waits behind the failed ones, not sent ahead of them.
    // (A round at the same moment as the failure: the retry is a second later.)
    alerts::evaluate(&pool, start - Duration::days(1), &settings)
        .await
        .unwrap();
    let round = step(&mut deliverer, failed_at).await;
    assert_eq!(
        round,
        Round {
            routed: 1,
            ..Round::default()
        }
    );

    // Back (empty: a crash loses the alerts it held). The retry sends all three in one post,
    // in order, and Alertmanager announces what it had not seen.
    manager.restart().await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let round = loop {
        let round = step(&mut deliverer, wall()).await;
        if round.sent > 0 || tokio::time::Instant::now() > deadline {
            break round;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!((round.sent, round.failed), (3, 0));
    assert_eq!(
        deliveries(&pool).await,
        (
            vec![
                "fired".to_owned(),
                "escalated".to_owned(),
                "fired".to_owned(),
                "repeat".to_owned()
            ],
            0
        )
    );
    let held: Vec<(String, String)> = manager
        .alerts()
        .await
        .iter()
        .map(|a| {
            let label = |name: &str| a["labels"][name].as_str().unwrap().to_owned();
            (label("tokenwatch_key"), label("severity"))
        })
        .collect();
    let mut expected = vec![
        (key(0), "critical".to_owned()),
        (key(1), "warning".to_owned()),
    ];
    expected.sort();
    assert_eq!(held, expected);
    let mut announced = vec![
        seen("firing", &key(0), "critical", HOSTS),
        seen("firing", &key(1), "warning", HOSTS),
    ];
    announced.sort();
    assert_eq!(next(&sink, 1, 2).await, announced);
    sink.assert_quiet().await;
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn ends_an_alert_no_longer_posted_by_itself(pool: PgPool) {
    let sink = Sink::start().await;
    let manager = Alertmanager::start(&sink).await;
    // Re-posted every second, so held for three.
    let config = notify_config(&manager.url, 1);
    critical_in_ten_days(&pool).await;
    let (mut deliverer, _) = start_deliverer(&pool, &config);
    let now = wall();
    assert_eq!(step(&mut deliverer, now).await.sent, 1);

    // tokenwatch stops here; Alertmanager resolves the alert when its end passes.
    let received = sink.wait_for(2).await;
    assert_eq!(
        brief(&received),
        [
            seen("firing", &key(0), "warning", HOSTS),
            seen("resolved", &key(0), "warning", HOSTS)
        ]
    );
    assert_eq!(received[1].ends_at, now + Duration::seconds(3));
    assert_eq!(manager.alerts().await, Vec::<serde_json::Value>::new());
}
