//! The Alertmanager channel against a real Alertmanager: alerts evaluated with a clock moved
//! across thresholds, delivered by the deliverer, and what Alertmanager then holds
//! (`GET /api/v2/alerts`) and sends to its receiver.
//!
//! Alertmanager judges `endsAt` by the wall clock, so the scenarios are set in the days before
//! the moment each test starts: evaluations run in the past, deliveries at the wall clock.

mod real;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, DurationRound as _, Utc};
use sqlx::PgPool;
use tokenwatch_proto::v1;
use tokenwatch_server::alerts::{self, Settings};
use tokenwatch_server::config::{AlertmanagerChannel, AlertsConfig, NotifyConfig, Span};
use tokenwatch_server::ingest::apply_report;
use tokenwatch_server::metrics::Metrics;
use tokenwatch_server::notify::outbox::{self, Retry};
use tokenwatch_server::notify::{Channels, Deliverer, Round};
use uuid::Uuid;

use self::real::{Alertmanager, Received, Sink, date};
use crate::support::*;

const CHANNEL: &str = "am";
const HOSTS: &str = "buh-01,buh-02,buh-03";

/// Agents that may stay silent for weeks: the scenarios move the clock without reports.
fn patient() -> Settings {
    let mut settings = Settings::from_config(&AlertsConfig::default());
    settings.agent_interval = Duration::days(3650);
    settings
}

/// The wall clock to the millisecond, which is all Alertmanager keeps.
fn wall() -> DateTime<Utc> {
    Utc::now()
        .duration_trunc(Duration::milliseconds(1))
        .unwrap()
}

/// A workstation collected at `at` whose certificate 0 ends at `end` (and certificate 1 at
/// `second`), without the agent's own findings, which would be alerts of their own.
fn expiring(
    hostname: &str,
    end: DateTime<Utc>,
    second: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
) -> v1::Inventory {
    let mut inventory = workstation(hostname);
    inventory.collected_at = ts(at);
    inventory.findings.clear();
    inventory.certificates[0].not_after = ts(end);
    if let Some(second) = second {
        inventory.certificates[1].not_after = ts(second);
    }
    inventory
}

/// The same workstation, collected at `at`, once certificate 0 is replaced.
fn renewed(hostname: &str, at: DateTime<Utc>) -> v1::Inventory {
    let mut inventory = workstation(hostname);
    inventory.collected_at = ts(at);
    inventory.findings.clear();
    inventory.certificates.remove(0);
    inventory
}

fn key(certificate: usize) -> String {
    format!("certificate:{}", cert_hashes(certificate).1)
}

fn notify_config(url: &str, resend: u64) -> NotifyConfig {
    let mut config = NotifyConfig::default();
    config.alertmanager.insert(
        CHANNEL.to_owned(),
        AlertmanagerChannel {
            url: url.to_owned(),
            resend_interval: Span::from_secs(resend),
            bearer_token_file: None,
            ca_file: None,
            route: Default::default(),
        },
    );
    config
}

/// A deliverer of its own channels, as a server process starts it.
fn start_deliverer(pool: &PgPool, config: &NotifyConfig) -> (Deliverer, Arc<Channels>) {
    let channels = Arc::new(Channels::from_config(config).unwrap());
    // Notifications are queued days before they are delivered (evaluations run in the past):
    // they must not be too old to try.
    let retry = Retry {
        initial: std::time::Duration::from_secs(1),
        max: std::time::Duration::from_secs(60),
        give_up_after: std::time::Duration::from_secs(30 * 86_400),
    };
    let deliverer = Deliverer::new(
        pool.clone(),
        Arc::clone(&channels),
        retry,
        Arc::new(Metrics::new(std::time::Duration::from_secs(15))),
    );
    (deliverer, channels)
}

/// One delivery round at `now`, waiting for the lock a stopped deliverer held (its session
/// ends a moment after its connection is dropped).
async fn step(deliverer: &mut Deliverer, now: DateTime<Utc>) -> Round {
    for _ in 0..100 {
        if let Some(round) = deliverer.step(now).await.unwrap() {
            return round;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the deliverer lock stays taken");
}

/// Three hosts of one office with certificate 0 ending at `end`, reported at `at`.
async fn three_hosts(
    pool: &PgPool,
    end: DateTime<Utc>,
    second: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
) -> Vec<Uuid> {
    let office = office(pool, "Бухгалтерия").await;
    let mut agents = Vec::new();
    for name in HOSTS.split(',') {
        let agent = agent(pool, office, name).await;
        apply_report(
            pool,
            agent,
            &request(1, &expiring(name, end, second, at)),
            at,
        )
        .await
        .unwrap();
        agents.push(agent);
    }
    agents
}

/// The labels of certificate 0's alert.
fn labels(severity: &str, hosts: &str) -> BTreeMap<String, String> {
    [
        ("alertname", "certificate.expiring"),
        ("host", hosts),
        ("office", "Бухгалтерия"),
        ("severity", severity),
        ("sha1", &cert_hashes(0).0),
        ("subject_cn", "Сотрудник 0"),
        ("tokenwatch_key", &key(0)),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect()
}

/// What Alertmanager sent, briefly: status, key, severity and hosts of each alert.
fn brief(received: &[Received]) -> Vec<(String, String, String, String)> {
    received
        .iter()
        .map(|r| {
            let label = |name: &str| r.labels.get(name).cloned().unwrap_or_default();
            (
                r.status.clone(),
                label("tokenwatch_key"),
                label("severity"),
                label("host"),
            )
        })
        .collect()
}

fn seen(status: &str, key: &str, severity: &str, hosts: &str) -> (String, String, String, String) {
    (status.into(), key.into(), severity.into(), hosts.into())
}

/// `brief` of what was received from `from` on, sorted: alerts of different groups arrive in
/// no particular order.
async fn next(sink: &Sink, from: usize, count: usize) -> Vec<(String, String, String, String)> {
    let mut got = brief(&sink.wait_for(from + count).await[from..]);
    got.sort();
    got
}

/// The kinds of the notifications delivered to the channel, in order, and how many are not.
async fn deliveries(pool: &PgPool) -> (Vec<String>, i64) {
    let delivered = sqlx::query_scalar(
        "select n.kind from notification_deliveries d \
         join alert_notifications n on n.id = d.notification_id \
         where d.channel = $1 and d.delivered_at is not null order by n.id",
    )
    .bind(CHANNEL)
    .fetch_all(pool)
    .await
    .unwrap();
    let pending = sqlx::query_scalar(
        "select count(*) from notification_deliveries \
         where channel = $1 and delivered_at is null",
    )
    .bind(CHANNEL)
    .fetch_one(pool)
    .await
    .unwrap();
    (delivered, pending)
}

async fn alert_id(pool: &PgPool, key: &str) -> i64 {
    sqlx::query_scalar("select id from alerts where key = $1 order by id desc limit 1")
        .bind(key)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn notify_alertmanager_fired_escalated_moved_repeated_and_resolved(pool: PgPool) {
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
async fn notify_alertmanager_down_fails_and_is_retried_in_order_once_back(pool: PgPool) {
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
async fn notify_alertmanager_silence_mutes_what_tokenwatch_keeps_posting(pool: PgPool) {
    let sink = Sink::start().await;
    let manager = Alertmanager::start(&sink).await;
    let config = notify_config(&manager.url, 60);
    let start = wall();
    three_hosts(
        &pool,
        start + Duration::days(10),
        None,
        start - Duration::days(17),
    )
    .await;
    // buh-02 is being replaced: silenced in Alertmanager by its host label.
    let silence = manager.silence("host", "(.+,)?buh-02(,.+)?").await;

    alerts::evaluate(&pool, start - Duration::days(16), &patient())
        .await
        .unwrap();
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

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn notify_alertmanager_ends_an_alert_no_longer_posted_by_itself(pool: PgPool) {
    let sink = Sink::start().await;
    let manager = Alertmanager::start(&sink).await;
    // Re-posted every second, so held for three.
    let config = notify_config(&manager.url, 1);
    let start = wall();
    three_hosts(
        &pool,
        start + Duration::days(10),
        None,
        start - Duration::days(17),
    )
    .await;
    alerts::evaluate(&pool, start - Duration::days(16), &patient())
        .await
        .unwrap();
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
