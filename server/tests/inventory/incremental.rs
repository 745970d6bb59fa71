//! The evaluation after one host's report decides that host's problems exactly as a full
//! evaluation would: after each change below, the incremental evaluation runs, and a full
//! evaluation at the same moment then finds nothing left to change.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use tokenwatch_proto::v1;
use tokenwatch_server::alerts::{self, Outcome};
use tokenwatch_server::ingest::apply_report;
use uuid::Uuid;

use crate::alerts::{alerts_like, cert_key, end, expiring, outbox, patient, renewed, three_hosts};
use crate::support::*;

/// The key container that leaves every host.
const GONE: &str = "le-0003";

/// Apply `inventory` as `agent`'s report number `sequence` at `at`, evaluate around it, and
/// check that a full evaluation agrees. Returns what the incremental evaluation did.
async fn report_and_check(
    pool: &PgPool,
    agent: Uuid,
    sequence: u64,
    inventory: &v1::Inventory,
    at: DateTime<Utc>,
) -> Outcome {
    apply_report(pool, agent, &request(sequence, inventory), at)
        .await
        .unwrap();
    let settings = patient();
    let incremental = alerts::evaluate_host(pool, agent, at, &settings)
        .await
        .unwrap();
    let full = alerts::evaluate(pool, at, &settings).await.unwrap();
    assert_eq!(
        full,
        Outcome::default(),
        "the full evaluation after {incremental:?}"
    );
    incremental
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn after_each_report_the_host_s_problems_are_decided_as_a_full_evaluation_would(
    pool: PgPool,
) {
    let agents = three_hosts(&pool).await;
    let key = cert_key();
    let start = end() - Duration::days(29);
    alerts::evaluate(&pool, start, &patient()).await.unwrap();
    assert_eq!(alerts_like(&pool, &key).await[0].4, "buh-01,buh-02,buh-03");

    // One host renews: the alert lists the two others.
    let at = start + Duration::hours(1);
    let done = report_and_check(&pool, agents[0], 2, &renewed("buh-01"), at).await;
    assert_eq!(done.updated, 1);
    assert_eq!(alerts_like(&pool, &key).await[0].4, "buh-02,buh-03");

    // A new host with the same certificate joins it.
    let office: i64 = sqlx::query_scalar("select id from offices")
        .fetch_one(&pool)
        .await
        .unwrap();
    let fourth = agent(&pool, office, "buh-04").await;
    let done = report_and_check(&pool, fourth, 1, &expiring("buh-04"), at).await;
    // The certificate's alert, and the office's token.pin_count_low alert it also joins.
    assert_eq!(done.updated, 2);
    let low_pin = format!("finding:token.pin_count_low:{office}");
    assert_eq!(
        alerts_like(&pool, &low_pin).await[0].4,
        "buh-01,buh-02,buh-03,buh-04"
    );
    assert_eq!(alerts_like(&pool, &key).await[0].4, "buh-02,buh-03,buh-04");

    // A finding code new to the office fires for that host alone; cleared, it resolves.
    let mut locked = renewed("buh-01");
    locked.findings.push(v1::Finding {
        code: "token.pin_locked".into(),
        severity: v1::Severity::Critical.into(),
        subject: "token Rutoken ECP 3a6b0f21".into(),
        message: "The user PIN is locked.".into(),
        remediation: "Unlock it with the SO PIN.".into(),
    });
    let done = report_and_check(&pool, agents[0], 3, &locked, at).await;
    assert_eq!(done.fired, 1);
    let finding_key = format!("finding:token.pin_locked:{office}");
    assert_eq!(alerts_like(&pool, &finding_key).await[0].4, "buh-01");
    let done = report_and_check(&pool, agents[0], 4, &renewed("buh-01"), at).await;
    assert_eq!(done.resolved, 1);

    // The token and one key container leave every host, one report at a time: gone once the
    // last lets go and `gone_after_days` (7) have passed, back when one lists them again.
    let without = |inventory: v1::Inventory| {
        let mut inventory = inventory;
        inventory.tokens.clear();
        inventory
            .containers
            .retain(|c| c.name.as_deref() != Some(GONE));
        inventory
    };
    report_and_check(&pool, agents[0], 5, &without(renewed("buh-01")), at).await;
    report_and_check(&pool, agents[1], 2, &without(expiring("buh-02")), at).await;
    report_and_check(&pool, agents[2], 2, &without(expiring("buh-03")), at).await;
    let done = report_and_check(&pool, fourth, 2, &without(expiring("buh-04")), at).await;
    assert_eq!(done, Outcome::default(), "not gone long enough yet");
    let later = at + Duration::days(8);
    let done = report_and_check(&pool, fourth, 3, &without(expiring("buh-04")), later).await;
    assert_eq!(done.fired, 2, "token.gone and container.gone");
    assert_eq!(
        alerts_like(&pool, "container.gone:").await[0].4,
        "buh-01,buh-02,buh-03,buh-04"
    );
    let mut token_back = without(renewed("buh-01"));
    token_back.tokens = renewed("buh-01").tokens;
    let done = report_and_check(&pool, agents[0], 6, &token_back, later).await;
    assert_eq!(done.resolved, 1, "the token is back");
    // The container turns up on another host of the office (a flash drive moved along).
    let elsewhere = agent(&pool, office, "buh-05").await;
    let done = report_and_check(&pool, elsewhere, 1, &renewed("buh-05"), later).await;
    assert_eq!(done.resolved, 1, "the container is back");
    assert_eq!(alerts_like(&pool, "container.gone:").await[0].3, "resolved");

    // The rest renew: resolved by the last one's report, and announced once.
    report_and_check(&pool, agents[1], 3, &renewed("buh-02"), later).await;
    report_and_check(&pool, agents[2], 3, &renewed("buh-03"), later).await;
    let done = report_and_check(&pool, fourth, 4, &renewed("buh-04"), later).await;
    assert_eq!(done.resolved, 1);
    assert_eq!(alerts_like(&pool, &key).await[0].3, "resolved");
    let kinds: Vec<String> = outbox(&pool, &key).await.into_iter().map(|n| n.1).collect();
    assert_eq!(kinds, ["fired", "resolved"]);

    // An unknown agent changes nothing.
    let nobody = alerts::evaluate_host(&pool, Uuid::new_v4(), later, &patient())
        .await
        .unwrap();
    assert_eq!(nobody, Outcome::default());
}
