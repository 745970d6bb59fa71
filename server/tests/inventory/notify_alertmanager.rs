//! The Alertmanager channel against a real Alertmanager: alerts evaluated with a clock moved
//! across thresholds, delivered by the deliverer, and what Alertmanager then holds
//! (`GET /api/v2/alerts`) and sends to its receiver ([`real`]). [`flow`] follows an alert from
//! warning to resolution, through a restart and Alertmanager's silences; [`outage`] has
//! Alertmanager down and tokenwatch gone; [`proxy`] puts a token-checking proxy in front.
//!
//! Alertmanager judges `endsAt` by the wall clock, so the scenarios are set in the days before
//! the moment each test starts: evaluations run in the past, deliveries at the wall clock.

mod flow;
mod outage;
mod proxy;
mod real;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, DurationRound as _, Utc};
use sqlx::PgPool;
use tokenwatch_proto::v1;
use tokenwatch_server::alerts::Settings;
use tokenwatch_server::config::{AlertmanagerChannel, AlertsConfig, NotifyConfig, Span};
use tokenwatch_server::ingest::apply_report;
use tokenwatch_server::metrics::Metrics;
use tokenwatch_server::notify::outbox::Retry;
use tokenwatch_server::notify::{Channels, Deliverer};
use uuid::Uuid;

use self::real::{Received, Sink};
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

/// An Alertmanager channel at `url` re-posting every `resend` seconds.
fn channel(url: &str, resend: u64) -> AlertmanagerChannel {
    AlertmanagerChannel {
        url: url.to_owned(),
        resend_interval: Span::from_secs(resend),
        bearer_token_file: None,
        ca_file: None,
        route: Default::default(),
    }
}

/// The one channel [`CHANNEL`].
fn notify_config(url: &str, resend: u64) -> NotifyConfig {
    let mut config = NotifyConfig::default();
    config
        .alertmanager
        .insert(CHANNEL.to_owned(), channel(url, resend));
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

use crate::support::deliver_round as step;

/// Certificate 0 on the three hosts, ending ten days from now, fired (critical) by an
/// evaluation days ago.
async fn critical_in_ten_days(pool: &PgPool) {
    let start = wall();
    three_hosts(
        pool,
        start + Duration::days(10),
        None,
        start - Duration::days(17),
    )
    .await;
    tokenwatch_server::alerts::evaluate(pool, start - Duration::days(16), &patient())
        .await
        .unwrap();
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
