//! An alert's life as Alertmanager sees it, and Alertmanager's silences.

use chrono::Duration;
use sqlx::PgPool;
use tokenwatch_server::alerts;
use tokenwatch_server::ingest::apply_report;
use tokenwatch_server::notify::Round;
use tokenwatch_server::notify::outbox;

use super::real::{Alertmanager, Sink, date};
use super::*;
use crate::support::*;

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn fired_escalated_moved_repeated_and_resolved(pool: PgPool) {
    let sink = Sink::start().await;
    let manager = Alertmanager::start(&sink).await;
    let config = notify_config(&manager.url, 60);
    let hold = Duration::minutes(3);
    let start = wall();
    let end = start + Duration::days(10);
    let agents = three_hosts(&pool, end, None, start - Duration::days(17)).await;
    let settings = patient();

    // 26 days before the end: a warning, one alert for the three hosts.
    let fired = start - Duration::days(16);
    alerts::evaluate(&pool, fired, &settings).await.unwrap();
    let (mut deliverer, _) = start_deliverer(&pool, &config);
    let now = wall();
    let round = step(&mut deliverer, now).await;
    assert_eq!((round.routed, round.sent, round.failed), (1, 1, 0));
    let held = manager.alerts().await;
    assert_eq!(held.len(), 1, "{held:#?}");
    let (summary, remediation, subject): (String, String, String) =
        sqlx::query_as("select summary, remediation, subject from alerts where key = $1")
            .bind(key(0))
            .fetch_one(&pool)
            .await
            .unwrap();
    let expected = serde_json::json!({
        "hosts": "buh-01, buh-02, buh-03",
        "not_after": end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "remediation": remediation,
        "sha256": cert_hashes(0).1,
        "subject": subject,
        "summary": summary,
    });
    assert_eq!(
        held[0]["labels"],
        serde_json::json!(labels("warning", HOSTS))
    );
    assert_eq!(held[0]["annotations"], expected);
    assert_eq!(held[0]["status"]["state"], "active");
    assert_eq!(date(&held[0]["startsAt"]), fired);
    assert_eq!(date(&held[0]["endsAt"]), now + hold);
    let received = sink.wait_for(1).await;
    assert_eq!(received[0].status, "firing");
    assert_eq!(received[0].labels, labels("warning", HOSTS));

    // Acknowledged, then the server restarts: the new deliverer re-posts what fires at once,
    // with the acknowledgement, and sends nothing twice.
    let id = alert_id(&pool, &key(0)).await;
    let acked = start - Duration::days(15);
    alerts::acknowledge(&pool, id, "ivanova", "new certificate ordered", acked)
        .await
        .unwrap();
    drop(deliverer);
    let (mut deliverer, channels) = start_deliverer(&pool, &config);
    let now = wall();
    let round = step(&mut deliverer, now).await;
    assert_eq!(
        round,
        Round {
            resent: 1,
            ..Round::default()
        }
    );
    let held = manager.alerts().await;
    assert_eq!(held.len(), 1, "{held:#?}");
    assert_eq!(
        held[0]["labels"],
        serde_json::json!(labels("warning", HOSTS))
    );
    let ack = format!(
        "ivanova at {}: new certificate ordered",
        acked.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    assert_eq!(held[0]["annotations"]["acknowledged"], ack.as_str());
    assert_eq!(date(&held[0]["endsAt"]), now + hold);
    sink.assert_quiet().await;
    assert_eq!(sink.received().len(), 1);

    // 12 days before the end: critical. Alertmanager gets the critical alert and the warning
    // ended, not both firing; escalation took the acknowledgement back.
    alerts::evaluate(&pool, start - Duration::days(2), &settings)
        .await
        .unwrap();
    assert_eq!(step(&mut deliverer, wall()).await.sent, 1);
    let held = manager.alerts().await;
    assert_eq!(held.len(), 1, "{held:#?}");
    assert_eq!(
        held[0]["labels"],
        serde_json::json!(labels("critical", HOSTS))
    );
    assert!(held[0]["annotations"].get("acknowledged").is_none());
    assert_eq!(
        next(&sink, 1, 2).await,
        [
            seen("firing", &key(0), "critical", HOSTS),
            seen("resolved", &key(0), "warning", HOSTS),
        ]
    );

    // Two hosts get the new certificate: the alert stays, on one host. No notification says
    // so; the next re-post carries it and ends the three-host alert.
    let moved = start - Duration::days(2) + Duration::hours(1);
    for (agent, name) in agents.iter().zip(["buh-01", "buh-02"]) {
        apply_report(&pool, *agent, &request(2, &renewed(name, moved)), moved)
            .await
            .unwrap();
    }
    alerts::evaluate(&pool, moved, &settings).await.unwrap();
    assert_eq!(step(&mut deliverer, wall()).await, Round::default());
    let mut db = pool.acquire().await.unwrap();
    let firing = outbox::told_firing(&mut db, CHANNEL).await.unwrap();
    drop(db);
    let channel = channels.get(CHANNEL).unwrap();
    channel.resend(&firing, wall()).await.unwrap();
    let held = manager.alerts().await;
    assert_eq!(held.len(), 1, "{held:#?}");
    assert_eq!(
        held[0]["labels"],
        serde_json::json!(labels("critical", "buh-03"))
    );
    assert_eq!(
        next(&sink, 3, 2).await,
        [
            seen("firing", &key(0), "critical", "buh-03"),
            seen("resolved", &key(0), "critical", HOSTS),
        ]
    );

    // A day later, still critical and unacknowledged: tokenwatch repeats, Alertmanager keeps
    // the one alert and leaves repeating to its own repeat_interval.
    alerts::evaluate(&pool, start - Duration::days(1), &settings)
        .await
        .unwrap();
    let now = wall();
    assert_eq!(step(&mut deliverer, now).await.sent, 1);
    let held = manager.alerts().await;
    assert_eq!(held.len(), 1, "{held:#?}");
    assert_eq!(date(&held[0]["endsAt"]), now + hold);
    sink.assert_quiet().await;

    // The last host gets it: resolved, ended at the resolution.
    let resolved = start;
    apply_report(
        &pool,
        agents[2],
        &request(2, &renewed("buh-03", resolved)),
        resolved,
    )
    .await
    .unwrap();
    alerts::evaluate(&pool, resolved, &settings).await.unwrap();
    assert_eq!(step(&mut deliverer, wall()).await.sent, 1);
    assert_eq!(manager.alerts().await, Vec::<serde_json::Value>::new());
    let received = sink.wait_for(6).await;
    assert_eq!(
        brief(&received[5..]),
        [seen("resolved", &key(0), "critical", "buh-03")]
    );
    assert_eq!(received[5].ends_at, resolved);

    // Everything delivered, in order, and Alertmanager told nobody anything twice.
    assert_eq!(
        deliveries(&pool).await,
        (
            vec![
                "fired".to_owned(),
                "escalated".to_owned(),
                "repeat".to_owned(),
                "resolved".to_owned()
            ],
            0
        )
    );
    sink.assert_quiet().await;
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn an_escalation_while_the_server_was_down_ends_the_set_posted_before(pool: PgPool) {
    let sink = Sink::start().await;
    let manager = Alertmanager::start(&sink).await;
    // Re-posts an hour apart: the warning would linger for three hours if not ended.
    let config = notify_config(&manager.url, 3600);
    let start = wall();
    three_hosts(
        &pool,
        start + Duration::days(10),
        None,
        start - Duration::days(17),
    )
    .await;
    let settings = patient();
    alerts::evaluate(&pool, start - Duration::days(16), &settings)
        .await
        .unwrap();
    let (mut deliverer, _) = start_deliverer(&pool, &config);
    assert_eq!(step(&mut deliverer, wall()).await.sent, 1);
    assert_eq!(sink.wait_for(1).await[0].labels, labels("warning", HOSTS));

    // The server stops; meanwhile the alert turns critical. The next process to deliver
    // knows what the last one posted, and ends the warning as it posts the critical alert.
    drop(deliverer);
    alerts::evaluate(&pool, start - Duration::days(2), &settings)
        .await
        .unwrap();
    let (mut deliverer, _) = start_deliverer(&pool, &config);
    assert_eq!(step(&mut deliverer, wall()).await.sent, 1);
    let held = manager.alerts().await;
    assert_eq!(held.len(), 1, "{held:#?}");
    assert_eq!(
        held[0]["labels"],
        serde_json::json!(labels("critical", HOSTS))
    );
    assert_eq!(
        next(&sink, 1, 2).await,
        [
            seen("firing", &key(0), "critical", HOSTS),
            seen("resolved", &key(0), "warning", HOSTS),
        ]
    );
    let stored: Vec<String> = sqlx::query_scalar(
        "select post -> 'labels' ->> 'severity' from alertmanager_posts where channel = $1",
    )
    .bind(CHANNEL)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(stored, ["critical"]);
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn silence_mutes_what_tokenwatch_keeps_posting(pool: PgPool) {
    let sink = Sink::start().await;
    let manager = Alertmanager::start(&sink).await;
    let config = notify_config(&manager.url, 60);
    critical_in_ten_days(&pool).await;
    // buh-02 is being replaced: silenced in Alertmanager by its host label.
    let silence = manager.silence("host", "(.+,)?buh-02(,.+)?").await;

    let (mut deliverer, _) = start_deliverer(&pool, &config);
    assert_eq!(step(&mut deliverer, wall()).await.sent, 1);
    let held = manager.alerts().await;
    assert_eq!(held.len(), 1, "{held:#?}");
    assert_eq!(held[0]["status"]["state"], "suppressed");
    assert_eq!(
        held[0]["status"]["silencedBy"],
        serde_json::json!([silence])
    );
    sink.assert_quiet().await;
    assert_eq!(sink.received(), []);

    // The silence over, Alertmanager announces the alert tokenwatch kept posting.
    manager.expire(&silence).await;
    assert_eq!(
        brief(&sink.wait_for(1).await),
        [seen("firing", &key(0), "warning", HOSTS)]
    );
}
