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

/// `inventory` with a second `token.pin_count_low` finding (a second token running out of
/// tries): the same code, so the same alerts, with a different count.
fn two_low_pins(inventory: v1::Inventory) -> v1::Inventory {
    let mut inventory = inventory;
    let mut second = inventory.findings[0].clone();
    second.subject = "token \"Склад\" Rutoken ECP (serial 77aa0001)".into();
    inventory.findings.insert(1, second);
    inventory
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_findings_list_decided_before_is_not_decided_again_unless_another_host_used_a_newer_one(
    pool: PgPool,
) {
    let agents = three_hosts(&pool).await;
    let office: i64 = sqlx::query_scalar("select id from offices")
        .fetch_one(&pool)
        .await
        .unwrap();
    let low_pin = format!("finding:token.pin_count_low:{office}");
    let at = end() - Duration::days(29);
    alerts::evaluate(&pool, at, &patient()).await.unwrap();
    let decided = |pool: PgPool| async move {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from host_findings_decided d join hosts h using (agent_id) \
             where d.findings_sha256 = h.section_sha256 ->> 'findings'",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    assert_eq!(
        decided(pool.clone()).await,
        3,
        "the full evaluation records every list"
    );

    // A report that changes no finding: the office's finding alert is left alone, and a full
    // evaluation agrees that nothing is left to do.
    let done = report_and_check(&pool, agents[0], 2, &renewed("buh-01"), at).await;
    assert_eq!(done.updated, 1, "the certificate's alert only");

    // buh-01 gets a second low-PIN token but its evaluation has not run yet, when buh-02's
    // list changes and its evaluation decides the office's alert from buh-01's new list.
    let (first, second) = (agents[0], agents[1]);
    apply_report(
        &pool,
        first,
        &request(3, &two_low_pins(renewed("buh-01"))),
        at,
    )
    .await
    .unwrap();
    apply_report(
        &pool,
        second,
        &request(2, &two_low_pins(expiring("buh-02"))),
        at,
    )
    .await
    .unwrap();
    let done = alerts::evaluate_host(&pool, second, at, &patient())
        .await
        .unwrap();
    assert_eq!(done.updated, 1);
    let summary: String = sqlx::query_scalar("select summary from alerts where key = $1")
        .bind(&low_pin)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(summary.starts_with("5 findings on 3 hosts"), "{summary}");
    // buh-01's list goes back to the one recorded before: its evaluation must still decide
    // again, for the alert counts the second token that is gone.
    let done = report_and_check(&pool, first, 4, &renewed("buh-01"), at).await;
    assert_eq!(
        done.updated, 1,
        "the office's low-PIN alert, one finding fewer"
    );
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn hosts_evaluated_together_are_decided_as_each_on_its_own_would_be(pool: PgPool) {
    let agents = three_hosts(&pool).await;
    let key = cert_key();
    let at = end() - Duration::days(29);
    alerts::evaluate(&pool, at, &patient()).await.unwrap();
    assert_eq!(alerts_like(&pool, &key).await[0].4, "buh-01,buh-02,buh-03");

    // Every host renews before any evaluation runs; then one evaluation for all of them, with
    // an unknown agent among them that changes nothing.
    for (agent, name) in agents.iter().zip(["buh-01", "buh-02", "buh-03"]) {
        apply_report(&pool, *agent, &request(2, &renewed(name)), at)
            .await
            .unwrap();
    }
    let mut named = vec![agents[0], Uuid::new_v4(), agents[1], agents[2]];
    let done = alerts::evaluate_hosts(&pool, &named, at, &patient())
        .await
        .unwrap();
    // The first host's evaluation takes itself off the alert and already sees the others'
    // renewals: it resolves the alert, and the later ones find nothing left to change.
    assert_eq!(done.resolved, 1, "{done:?}");
    assert_eq!(done.fired, 0, "{done:?}");
    assert_eq!(alerts_like(&pool, &key).await[0].3, "resolved");
    let full = alerts::evaluate(&pool, at, &patient()).await.unwrap();
    assert_eq!(
        full,
        Outcome::default(),
        "the full evaluation after {done:?}"
    );

    // The same hosts again, with nothing changed: nothing to do, in any order.
    named.reverse();
    let again = alerts::evaluate_hosts(&pool, &named, at, &patient())
        .await
        .unwrap();
    assert_eq!(again, Outcome::default());
}
