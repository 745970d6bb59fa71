//! `GET /metrics` scraped over HTTP from the real server, after real enrolments and reports.

// Who may read the metrics.
mod access;
// The inventory cache.
mod cache;
mod fleet;
mod scenario;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokenwatch_proto::v1::ReportRequest;

use self::fleet::Cert;
use self::scenario::Stored;
use crate::exposition::{
    Exposition, Labels, assert_promtool_ok, labels_of, prometheus_dir, promtool,
};
use crate::launch::http_request;
use crate::support::*;

const CERT_SERIES: &str = "tokenwatch_certificate_not_after_seconds";
const KEY_SERIES: &str = "tokenwatch_private_key_not_after_seconds";
const OFFICES: [&str; 3] = ["Moscow HQ", "Kazan", "Tver"];

impl TestServer {
    /// `GET /metrics` without credentials, read back.
    async fn scrape(&self) -> Exposition {
        let response = http_request(self.http, "/metrics", &[])
            .await
            .expect("scrape");
        assert_eq!(response.status, 200, "{}", response.body);
        Exposition::parse(&response.body)
    }

    /// Send `request` as `agent`; it must be applied.
    async fn report_as(&self, agent: &TestAgent, request: ReportRequest) {
        self.as_agent(agent)
            .await
            .report(request)
            .await
            .expect("report applied");
    }
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn metrics_describe_the_stored_inventory(pool: PgPool) {
    // A configured channel shows in the channel gauges (at zero) before any delivery.
    let server = TestServer::start_with(pool, |config| {
        let hook = tokenwatch_server::config::WebhookChannel {
            url: "http://127.0.0.1:9/unused".into(),
            format: Default::default(),
            secret_file: None,
            language: Default::default(),
            chat_id: None,
            ca_file: None,
            route: Default::default(),
        };
        config.notify.webhook.insert("helpdesk".into(), hook);
    })
    .await;
    let stored = scenario::store(&server).await;

    let response = http_request(server.http, "/metrics", &[])
        .await
        .expect("scrape");
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let metrics = Exposition::parse(&response.body);

    assert_certificates(&metrics, &stored);
    assert_eq!(
        metrics.family("tokenwatch_agent_last_seen_seconds"),
        BTreeMap::from([
            (
                labels_of(&[
                    ("agent_id", &stored.moscow.id),
                    ("hostname", "buh-01.corp"),
                    ("office", "Moscow HQ"),
                ]),
                last_seen(&server.pool, &stored.moscow).await,
            ),
            (
                labels_of(&[
                    ("agent_id", &stored.kazan.id),
                    ("hostname", "kzn-01"),
                    ("office", "Kazan"),
                ]),
                last_seen(&server.pool, &stored.kazan).await,
            ),
        ])
    );
    assert_offices(&metrics);
    assert_counters(&metrics);

    // Valid for Prometheus' own linter, and every series the shipped alert rules use is here.
    assert_promtool_ok(
        &promtool(&["check", "metrics"], &response.body),
        "check metrics",
    );
    let rules =
        std::fs::read_to_string(prometheus_dir().join("tokenwatch-rules.yml")).expect("rules file");
    for name in series_names(&rules) {
        assert!(
            metrics.series.contains_key(&name),
            "the rules use {name}, which is not exposed"
        );
    }
}

/// One series per office and thumbprint: no CA certificate, none that left its host, none of
/// a revoked host. The key's end is the container's where the office has one.
fn assert_certificates(metrics: &Exposition, stored: &Stored) {
    let (x, y) = (&stored.x, &stored.y);
    assert_eq!(
        metrics.family(CERT_SERIES),
        BTreeMap::from([
            (cert_labels(x, "Moscow HQ"), seconds(x.not_after)),
            (cert_labels(y, "Moscow HQ"), seconds(y.not_after)),
            (cert_labels(x, "Kazan"), seconds(x.not_after)),
        ])
    );
    let key_end = |cert: &Cert| seconds(cert.key_not_after.expect("key period"));
    assert_eq!(
        metrics.family(KEY_SERIES),
        BTreeMap::from([
            (
                cert_labels(x, "Moscow HQ"),
                seconds(stored.x_container_key_end)
            ),
            (cert_labels(y, "Moscow HQ"), key_end(y)),
            (cert_labels(x, "Kazan"), key_end(x)),
        ])
    );
    assert_eq!(
        metrics.types.get(CERT_SERIES).map(String::as_str),
        Some("gauge")
    );
}

/// Counts per office, zeros included; the revoked kzn-02 and what it reported count nowhere.
fn assert_offices(metrics: &Exposition) {
    for (family, expected) in [
        ("tokenwatch_agents", [2.0, 1.0, 0.0]),
        ("tokenwatch_tokens", [1.0, 0.0, 0.0]),
        ("tokenwatch_readers", [2.0, 1.0, 0.0]),
    ] {
        let per_office: BTreeMap<Labels, f64> = OFFICES
            .into_iter()
            .zip(expected)
            .map(|(office, n)| (labels_of(&[("office", office)]), n))
            .collect();
        assert_eq!(metrics.family(family), per_office, "{family}");
    }
    let containers: BTreeMap<Labels, f64> = OFFICES
        .into_iter()
        .zip([(1.0, 1.0), (0.0, 0.0), (0.0, 0.0)])
        .flat_map(|(office, (complete, incomplete))| {
            [
                (
                    labels_of(&[("office", office), ("complete", "true")]),
                    complete,
                ),
                (
                    labels_of(&[("office", office), ("complete", "false")]),
                    incomplete,
                ),
            ]
        })
        .collect();
    assert_eq!(metrics.family("tokenwatch_containers"), containers);
    // The agent's clock-free findings, and the server's expiry findings for Y and its key in
    // place of the agent's stale `certificate.expiring` warning.
    let finding = |code, severity| {
        let labels = [
            ("office", "Moscow HQ"),
            ("code", code),
            ("severity", severity),
        ];
        (labels_of(&labels), 1.0)
    };
    assert_eq!(
        metrics.family("tokenwatch_findings"),
        BTreeMap::from([
            finding("token.pin_count_low", "warning"),
            finding("container.incomplete", "critical"),
            finding("certificate.expiring", "critical"),
            finding("private_key.expiring", "critical"),
        ])
    );
}

/// Reports: changed 4 (buh-01 once, kzn-01 twice, kzn-02 once), unchanged, duplicate and
/// rejected once each; enrolments: 4 enrolled, a wrong secret, an empty host name.
fn assert_counters(metrics: &Exposition) {
    let outcomes = |pairs: &[(&str, f64)]| -> BTreeMap<Labels, f64> {
        pairs
            .iter()
            .map(|(o, n)| (labels_of(&[("outcome", o)]), *n))
            .collect()
    };
    assert_eq!(
        metrics.family("tokenwatch_reports_total"),
        outcomes(&[
            ("changed", 4.0),
            ("unchanged", 1.0),
            ("duplicate", 1.0),
            ("rejected", 1.0),
            ("failed", 0.0),
        ])
    );
    assert_eq!(
        metrics.family("tokenwatch_enrollments_total"),
        outcomes(&[
            ("enrolled", 4.0),
            ("refused", 1.0),
            ("invalid", 1.0),
            ("failed", 0.0),
        ])
    );
    assert_eq!(
        metrics
            .types
            .get("tokenwatch_reports_total")
            .map(String::as_str),
        Some("counter")
    );
}

fn cert_labels(cert: &Cert, office: &str) -> Labels {
    labels_of(&[
        ("sha1", &cert.sha1()),
        ("subject_cn", cert.cn),
        ("issuer_cn", cert.issuer_cn),
        ("office", office),
        ("qualified", if cert.qualified { "true" } else { "false" }),
    ])
}

fn seconds(at: DateTime<Utc>) -> f64 {
    at.timestamp() as f64
}

/// When an agent last reported, as stored, in whole seconds.
async fn last_seen(pool: &PgPool, agent: &TestAgent) -> f64 {
    let at: DateTime<Utc> =
        sqlx::query_scalar("select last_seen_at from agents where id = $1::uuid")
            .bind(&agent.id)
            .fetch_one(pool)
            .await
            .expect("agent");
    // Whole seconds, truncated, as the gauge has it.
    seconds(at)
}

/// Every `tokenwatch_…` identifier in `text`.
fn series_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("tokenwatch_"))
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    assert!(!names.is_empty(), "no series named");
    names
}
