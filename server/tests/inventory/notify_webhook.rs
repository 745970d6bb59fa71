//! Webhook delivery end to end: alerts evaluated at a moved clock, routed, signed and posted to
//! a real HTTP server, each exactly once and in order, retried while the receiver fails, not
//! repeated after a restart, and a failing channel visible in its status.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::PgPool;
use tokenwatch_inventory::findings::Severity;
use tokenwatch_server::alerts;
use tokenwatch_server::config::{NotifyConfig, Route, WebhookChannel, WebhookFormat};
use tokenwatch_server::ingest::apply_report;
use tokenwatch_server::metrics::Metrics;
use tokenwatch_server::notify::outbox::Retry;
use tokenwatch_server::notify::{self, Channels, Deliverer, Round};

use crate::alerts::{cert_key, end, patient, renewed, three_hosts};
use crate::sink::Sink;
use crate::support::*;

const SECRET: &str = "hook-secret-Ж7";

fn retry() -> Retry {
    Retry {
        initial: std::time::Duration::from_secs(30),
        max: std::time::Duration::from_secs(600),
        give_up_after: std::time::Duration::from_secs(86_400),
    }
}

fn hook(url: String, secret_file: Option<std::path::PathBuf>, route: Route) -> WebhookChannel {
    WebhookChannel {
        url,
        format: WebhookFormat::Tokenwatch,
        secret_file,
        language: Default::default(),
        chat_id: None,
        ca_file: None,
        route,
    }
}

fn deliverer(pool: &PgPool, config: &NotifyConfig) -> (Deliverer, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::new(std::time::Duration::from_secs(15)));
    let channels = Arc::new(Channels::from_config(config).expect("channels"));
    let deliverer = Deliverer::new(pool.clone(), channels, retry(), Arc::clone(&metrics));
    (deliverer, metrics)
}

async fn step(deliverer: &mut Deliverer, at: DateTime<Utc>) -> Round {
    deliverer.step(at).await.unwrap().expect("holds the lock")
}

/// The outbox's notification ids, in order.
async fn queued(pool: &PgPool) -> Vec<i64> {
    sqlx::query_scalar("select id from alert_notifications order by id")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// `X-Tokenwatch-Delivery` of every accepted request, in order.
fn delivered_ids(sink: &Sink) -> Vec<i64> {
    sink.received()
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| {
            r.headers["x-tokenwatch-delivery"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect()
}

/// (kind, severity) of the accepted notifications about `key`.
fn about(sink: &Sink, key: &str) -> Vec<(String, String)> {
    sink.accepted()
        .iter()
        .filter(|body| body["alert"]["key"] == key)
        .map(|body| {
            (
                body["kind"].as_str().unwrap().to_owned(),
                body["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_webhook_gets_every_notification_once_signed_in_order_through_failures(pool: PgPool) {
    let agents = three_hosts(&pool).await;
    let settings = patient();
    let key = cert_key();
    let sink = Sink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("webhook.secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let mut config = NotifyConfig::default();
    config.webhook.insert(
        "helpdesk".into(),
        hook(sink.url("/hooks/tw"), Some(secret_file), Route::default()),
    );
    let (mut deliverer, metrics) = deliverer(&pool, &config);

    // Fired: one POST for the certificate on three hosts, signed, with the schema's fields.
    let fired_at = end() - Duration::days(29);
    alerts::evaluate(&pool, fired_at, &settings).await.unwrap();
    let round = step(&mut deliverer, fired_at).await;
    assert_eq!(round.routed, queued(&pool).await.len());
    assert_eq!(round.sent, round.routed);
    assert_eq!(about(&sink, &key), [("fired".into(), "warning".into())]);
    let posted = sink
        .received()
        .into_iter()
        .find(|r| {
            serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["alert"]["key"] == key
        })
        .unwrap();
    assert_eq!(posted.path, "/hooks/tw");
    assert_eq!(posted.headers["content-type"], "application/json");
    assert_eq!(posted.headers["x-tokenwatch-event"], "fired");
    let timestamp = posted.headers["x-tokenwatch-timestamp"].to_str().unwrap();
    assert_eq!(timestamp, fired_at.timestamp().to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(&posted.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(posted.headers["x-tokenwatch-signature"], expected.as_str());
    let body: serde_json::Value = serde_json::from_slice(&posted.body).unwrap();
    assert_eq!(body["schema"], "tokenwatch.notification.v1");
    assert_eq!(body["alert"]["rule"], "certificate.expiring");
    assert_eq!(body["alert"]["office"], "Бухгалтерия");
    let hosts: Vec<&str> = body["alert"]["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["hostname"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, ["buh-01", "buh-02", "buh-03"]);
    assert_eq!(body["alert"]["certificate"]["sha1"], cert_hashes(0).0);
    assert_eq!(body["alert"]["certificate"]["sha256"], cert_hashes(0).1);
    assert!(body["alert"]["remediation"].as_str().unwrap().len() > 20);

    // Nothing new: nothing sent, however often the deliverer runs.
    let quiet = step(&mut deliverer, fired_at + Duration::minutes(1)).await;
    assert_eq!(quiet, Round::default());

    // Escalated; then a restart (a new deliverer on the same database) sends nothing again.
    let critical = end() - Duration::days(13);
    alerts::evaluate(&pool, critical, &settings).await.unwrap();
    let escalation = step(&mut deliverer, critical).await;
    let sent_before_restart = round.sent + escalation.sent;
    drop(deliverer);
    let (mut restarted, _) = self::deliverer(&pool, &config);
    assert_eq!(deliver_round(&mut restarted, critical).await.sent, 0);
    assert_eq!(
        about(&sink, &key),
        [
            ("fired".into(), "warning".into()),
            ("escalated".into(), "critical".into())
        ]
    );

    // The receiver fails: the resolution is retried after the backoff, not before, and the
    // channel shows as failing meanwhile.
    sink.answer(503);
    for (agent, name) in agents.iter().zip(["buh-01", "buh-02", "buh-03"]) {
        apply_report(&pool, *agent, &request(2, &renewed(name)), critical)
            .await
            .unwrap();
    }
    let resolved_at = critical + Duration::minutes(5);
    alerts::evaluate(&pool, resolved_at, &settings)
        .await
        .unwrap();
    let failed = step(&mut restarted, resolved_at).await;
    assert_eq!((failed.sent, failed.failed), (0, 1));
    let channels = Channels::from_config(&config).unwrap();
    let status = notify::channel_status(&pool, &channels).await.unwrap();
    assert_eq!(status[0].consecutive_failures, 1);
    assert_eq!(status[0].pending, 1);
    assert!(
        status[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("HTTP 503"),
        "{status:?}"
    );
    let fresh = Metrics::new(std::time::Duration::ZERO);
    let exposition = fresh.render(&pool).await.unwrap();
    for line in [
        r#"tokenwatch_notification_deliveries_pending{channel="helpdesk"} 1"#,
        r#"tokenwatch_notification_channel_consecutive_failures{channel="helpdesk"} 1"#,
        r#"tokenwatch_alerts_firing{severity="critical",acknowledged="false"} 0"#,
    ] {
        assert!(exposition.contains(line), "{line} in {exposition}");
    }
    let attempts = sink.received().len();
    step(&mut restarted, resolved_at + Duration::seconds(29)).await;
    assert_eq!(
        sink.received().len(),
        attempts,
        "retried before the backoff"
    );
    sink.answer(200);
    let retried = step(&mut restarted, resolved_at + Duration::seconds(30)).await;
    assert_eq!((retried.sent, retried.failed), (1, 0));
    assert_eq!(
        about(&sink, &key),
        [
            ("fired".into(), "warning".into()),
            ("escalated".into(), "critical".into()),
            ("resolved".into(), "critical".into())
        ]
    );
    let status = notify::channel_status(&pool, &channels).await.unwrap();
    assert_eq!((status[0].consecutive_failures, status[0].pending), (0, 0));

    // Every queued notification arrived exactly once, in the order it was queued.
    assert_eq!(delivered_ids(&sink), queued(&pool).await);
    let exposition = metrics.render(&pool).await.unwrap();
    let sent = format!(
        r#"tokenwatch_notifications_total{{channel="helpdesk",outcome="sent"}} {sent_before_restart}"#
    );
    assert!(exposition.contains(&sent), "{exposition}");
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn routes_pick_offices_and_severities(pool: PgPool) {
    three_hosts(&pool).await;
    let everything = Sink::start().await;
    let critical_only = Sink::start().await;
    let other_office = Sink::start().await;
    let mut config = NotifyConfig::default();
    config.webhook.insert(
        "all".into(),
        hook(everything.url("/"), None, Route::default()),
    );
    config.webhook.insert(
        "critical".into(),
        hook(
            critical_only.url("/"),
            None,
            Route {
                offices: vec!["Бухгалтерия".into()],
                min_severity: Some(Severity::Critical),
            },
        ),
    );
    config.webhook.insert(
        "warehouse".into(),
        hook(
            other_office.url("/"),
            None,
            Route {
                offices: vec!["Склад".into()],
                min_severity: None,
            },
        ),
    );
    let (mut deliverer, _) = deliverer(&pool, &config);
    for days in [29, 13] {
        let at = end() - Duration::days(days);
        alerts::evaluate(&pool, at, &patient()).await.unwrap();
        step(&mut deliverer, at).await;
    }
    let key = cert_key();
    assert_eq!(
        about(&everything, &key),
        [
            ("fired".into(), "warning".into()),
            ("escalated".into(), "critical".into())
        ]
    );
    assert_eq!(
        about(&critical_only, &key),
        [("escalated".into(), "critical".into())]
    );
    assert!(other_office.received().is_empty());
    // Unsigned without a secret.
    assert!(
        !everything.received()[0]
            .headers
            .contains_key("x-tokenwatch-signature")
    );
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_refusal_for_good_is_abandoned_and_does_not_block_the_next(pool: PgPool) {
    three_hosts(&pool).await;
    let sink = Sink::start().await;
    let mut config = NotifyConfig::default();
    config
        .webhook
        .insert("hook".into(), hook(sink.url("/"), None, Route::default()));
    let (mut deliverer, metrics) = deliverer(&pool, &config);
    let at = end() - Duration::days(29);
    alerts::evaluate(&pool, at, &patient()).await.unwrap();
    let queued = queued(&pool).await.len();
    // 400: this message will never be taken; each is tried once and given up.
    sink.answer(400);
    let round = step(&mut deliverer, at).await;
    assert_eq!((round.sent, round.abandoned), (0, queued));
    assert_eq!(sink.received().len(), queued);
    sink.answer(200);
    assert_eq!(step(&mut deliverer, at + Duration::hours(2)).await.sent, 0);
    let abandoned: i64 = sqlx::query_scalar(
        "select count(*) from notification_deliveries where abandoned_at is not null",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(abandoned, i64::try_from(queued).unwrap());
    let exposition = metrics.render(&pool).await.unwrap();
    assert!(
        exposition.contains(&format!(
            r#"tokenwatch_notifications_total{{channel="hook",outcome="abandoned"}} {queued}"#
        )),
        "{exposition}"
    );
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn chat_formats_carry_the_text_and_a_test_message_reaches_the_channel(pool: PgPool) {
    three_hosts(&pool).await;
    let sink = Sink::start().await;
    let mut config = NotifyConfig::default();
    let mut slack = hook(sink.url("/slack"), None, Route::default());
    slack.format = WebhookFormat::Slack;
    config.webhook.insert("mattermost".into(), slack);
    let mut telegram = hook(sink.url("/bot123/sendMessage"), None, Route::default());
    telegram.format = WebhookFormat::Telegram;
    telegram.chat_id = Some("-100500".into());
    telegram.language = tokenwatch_server::config::Language::En;
    config.webhook.insert("telegram".into(), telegram);
    let (mut deliverer, _) = deliverer(&pool, &config);
    let at = end() - Duration::days(29);
    alerts::evaluate(&pool, at, &patient()).await.unwrap();
    step(&mut deliverer, at).await;

    let received = sink.received();
    let slack: Vec<serde_json::Value> = received
        .iter()
        .filter(|r| r.path == "/slack")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let text = slack
        .iter()
        .map(|b| b["text"].as_str().unwrap())
        .find(|t| t.contains("buh-01, buh-02, buh-03"))
        .expect("the certificate's message");
    assert!(
        text.starts_with("Новая проблема (предупреждение): "),
        "{text}"
    );
    assert!(text.contains("Что сделать: "), "{text}");
    let telegram: serde_json::Value = received
        .iter()
        .find(|r| r.path == "/bot123/sendMessage")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .unwrap();
    assert_eq!(telegram["chat_id"], "-100500");
    assert!(
        telegram["text"]
            .as_str()
            .unwrap()
            .starts_with("New problem (warning): ")
    );

    // `notify test`'s path: a test message, and the outcome recorded for the channel.
    let channels = Channels::from_config(&config).unwrap();
    let before = sink.received().len();
    let channel = channels.get("mattermost").unwrap();
    notify::send_test(&pool, channel, at)
        .await
        .unwrap()
        .unwrap();
    let last = sink.received().pop().unwrap();
    assert_eq!(sink.received().len(), before + 1);
    let body: serde_json::Value = serde_json::from_slice(&last.body).unwrap();
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .contains("tokenwatch test notification")
    );
    sink.answer(500);
    let error = notify::send_test(&pool, channel, at)
        .await
        .unwrap()
        .unwrap_err();
    assert!(error.to_string().contains("HTTP 500"), "{error}");
    let status = notify::channel_status(&pool, &channels).await.unwrap();
    let mattermost = status.iter().find(|s| s.name == "mattermost").unwrap();
    assert_eq!(mattermost.consecutive_failures, 1);
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn one_deliverer_at_a_time_and_a_dead_channel_is_given_up_on_in_time(pool: PgPool) {
    three_hosts(&pool).await;
    let sink = Sink::start().await;
    sink.answer(503);
    let mut config = NotifyConfig::default();
    config
        .webhook
        .insert("hook".into(), hook(sink.url("/"), None, Route::default()));
    let (mut first, _) = deliverer(&pool, &config);
    let (mut second, _) = deliverer(&pool, &config);
    let at = end() - Duration::days(29);
    alerts::evaluate(&pool, at, &patient()).await.unwrap();
    let queued = queued(&pool).await.len();
    assert!(queued > 1);
    // The oldest fails; the rest waits behind it, in order.
    assert_eq!(step(&mut first, at).await.failed, 1);
    assert_eq!(sink.received().len(), 1);
    assert_eq!(
        second.step(at).await.unwrap(),
        None,
        "the first holds the lock"
    );

    // Still failing a day later (`give_up_after`): given up, and the channel says so.
    let round = step(&mut first, at + Duration::hours(25)).await;
    assert_eq!((round.failed, round.abandoned), (0, queued));
    let channels = Channels::from_config(&config).unwrap();
    let status = notify::channel_status(&pool, &channels).await.unwrap();
    assert_eq!(status[0].pending, 0);
    assert_eq!(status[0].abandoned, i64::try_from(queued).unwrap());
    assert_eq!(
        status[0].consecutive_failures,
        1 + i32::try_from(queued).unwrap()
    );

    // The lock goes with its holder.
    drop(first);
    let mut taken = None;
    for _ in 0..50 {
        taken = second.step(at + Duration::hours(26)).await.unwrap();
        if taken.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(taken.is_some(), "the second deliverer takes over");
}
