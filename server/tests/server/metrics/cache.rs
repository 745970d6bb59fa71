//! The inventory gauges are computed at most once per `http.metrics_max_age`; the counters are
//! always current.

use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokenwatch_server::config::Span;

use super::fleet::Host;
use crate::support::*;

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn inventory_gauges_are_kept_for_metrics_max_age_and_counters_are_not(pool: PgPool) {
    let max_age = Duration::from_secs(5);
    let server =
        TestServer::start_with(pool, |c| c.http.metrics_max_age = Span::from_secs(5)).await;
    let agent = server.enrolled().await;
    server
        .report_as(
            &agent,
            Host {
                hostname: "pc-1",
                ..Host::default()
            }
            .report(1),
        )
        .await;
    let office = [("office", "Test office")];

    // The server computes the inventory between `asked` and `answered`.
    let asked = Instant::now();
    let first = server.scrape().await;
    let answered = Instant::now();
    assert_eq!(first.value("tokenwatch_agents", &office), Some(1.0));
    tokenwatch_server::registry::revoke_agent(&server.pool, agent.id.parse().expect("uuid"))
        .await
        .expect("revoke");
    server.report_as(&server.enrolled().await, report(1)).await;

    let second = server.scrape().await;
    assert!(
        asked.elapsed() < max_age,
        "the test ran too slowly to see the cache"
    );
    // The inventory is as computed for the first scrape; the counters have moved.
    assert_eq!(second.value("tokenwatch_agents", &office), Some(1.0));
    assert_eq!(
        second.family("tokenwatch_agent_last_seen_seconds"),
        first.family("tokenwatch_agent_last_seen_seconds")
    );
    assert_eq!(
        second.value("tokenwatch_reports_total", &[("outcome", "changed")]),
        Some(2.0)
    );
    assert_eq!(
        second.value("tokenwatch_enrollments_total", &[("outcome", "enrolled")]),
        Some(2.0)
    );

    tokio::time::sleep(max_age.saturating_sub(answered.elapsed()) + Duration::from_millis(200))
        .await;
    let third = server.scrape().await;
    // One revoked, one enrolled and reporting: still one agent, but another one.
    assert_eq!(third.value("tokenwatch_agents", &office), Some(1.0));
    let hosts: Vec<String> = third
        .family("tokenwatch_agent_last_seen_seconds")
        .keys()
        .map(|labels| labels["hostname"].clone())
        .collect();
    assert_eq!(hosts, ["pc-7.example"]);
}
