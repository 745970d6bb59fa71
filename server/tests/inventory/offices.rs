//! Per-office alerting through the API: thresholds that override the server's, refused when
//! inconsistent, and maintenance windows that hold notifications back until they end.

use std::sync::Arc;

use chrono::Duration;
use serde_json::json;
use sqlx::PgPool;
use tokenwatch_server::alerts;
use tokenwatch_server::http::{BearerToken, HttpState, router};
use tokenwatch_server::metrics::Metrics;

use crate::alerts::{alerts_like, call, cert_key, end, note, outbox, patient, three_hosts};

fn api(pool: &PgPool) -> axum::Router {
    router(HttpState {
        pool: pool.clone(),
        metrics: Arc::new(Metrics::new(std::time::Duration::from_secs(15))),
        metrics_token: None,
        api_token: BearerToken::new("t0ken"),
        secure_cookies: true,
        channels: Default::default(),
        alert_defaults: Arc::new(patient()),
        // Counted on every request: tests change the inventory between requests.
        summaries: Arc::new(tokenwatch_server::query::Summaries::new(
            std::time::Duration::ZERO,
        )),
    })
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn office_thresholds_are_set_checked_and_reset(pool: PgPool) {
    three_hosts(&pool).await;
    let api = api(&pool);
    let token = Some("t0ken");
    let path = "/api/v1/offices/Бухгалтерия/alert-settings".replace(
        "Бухгалтерия",
        "%D0%91%D1%83%D1%85%D0%B3%D0%B0%D0%BB%D1%82%D0%B5%D1%80%D0%B8%D1%8F",
    );

    let (status, _) = call(&api, "PUT", &path, None, Some(json!({"warning_days": 60}))).await;
    assert_eq!(status, 401);
    // Critical wider than the (default, 30 d) warning: refused, nothing stored.
    let (status, body) = call(
        &api,
        "PUT",
        &path,
        token,
        Some(json!({"critical_days": 45})),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = call(
        &api,
        "PUT",
        "/api/v1/offices/Nowhere/alert-settings",
        token,
        Some(json!({"warning_days": 60})),
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = call(
        &api,
        "PUT",
        &path,
        token,
        Some(json!({"gone_after_days": 0})),
    )
    .await;
    assert_eq!(
        status, 422,
        "gone detection cannot be switched off by a zero"
    );

    let (status, _) = call(&api, "PUT", &path, token, Some(json!({"warning_days": 60}))).await;
    assert_eq!(status, 204);
    let (status, offices) = call(&api, "GET", "/api/v1/offices", token, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        offices,
        json!([{
            "office": "Бухгалтерия",
            "overrides": {
                "warning_days": 60,
                "critical_days": null,
                "silent_after_intervals": null,
                "gone_after_days": null
            },
            "warning_days": 60,
            "critical_days": 14,
            "silent_after_intervals": 3,
            "gone_after_days": 7
        }])
    );
    // The evaluator uses them: 50 days before the end is inside this office's 60.
    alerts::evaluate(&pool, end() - Duration::days(50), &patient())
        .await
        .unwrap();
    let key = cert_key();
    assert_eq!(outbox(&pool, &key).await, [note(&key, "fired", "warning")]);

    // Nothing given: back to the server's defaults.
    let (status, _) = call(&api, "PUT", &path, token, Some(json!({}))).await;
    assert_eq!(status, 204);
    let (_, offices) = call(&api, "GET", "/api/v1/offices", token, None).await;
    assert_eq!(offices[0]["warning_days"], 30);
    alerts::evaluate(&pool, end() - Duration::days(49), &patient())
        .await
        .unwrap();
    assert_eq!(
        outbox(&pool, &key).await.last(),
        Some(&note(&key, "resolved", "warning"))
    );
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_maintenance_window_opened_through_the_api_holds_notifications_until_ended(pool: PgPool) {
    three_hosts(&pool).await;
    let api = api(&pool);
    let token = Some("t0ken");
    let (status, _) = call(
        &api,
        "POST",
        "/api/v1/maintenance",
        token,
        Some(json!({"office": "Бухгалтерия", "until": "2020-01-01T00:00:00Z"})),
    )
    .await;
    assert_eq!(status, 422, "a window in the past");
    // The API takes windows in real time; this one is months ahead, around the moment the
    // certificate turns critical.
    let critical = end() - Duration::days(13);
    let (from, until) = (critical - Duration::hours(1), critical + Duration::hours(1));
    let (status, created) = call(
        &api,
        "POST",
        "/api/v1/maintenance",
        token,
        Some(json!({
            "office": "Бухгалтерия",
            "from": from,
            "until": until,
            "comment": "server room move"
        })),
    )
    .await;
    assert_eq!(status, 201);
    let id = created["id"].as_i64().unwrap();
    let (_, open) = call(&api, "GET", "/api/v1/maintenance", token, None).await;
    assert_eq!(open[0]["office"], "Бухгалтерия");
    assert_eq!(open[0]["comment"], "server room move");

    // Critical inside the window: it fires, and nobody is told.
    let key = cert_key();
    let settings = patient();
    alerts::evaluate(&pool, critical, &settings).await.unwrap();
    assert_eq!(alerts_like(&pool, &key).await[0].2, "critical");
    assert_eq!(outbox(&pool, &key).await, []);

    let path = format!("/api/v1/maintenance/{id}");
    assert_eq!(call(&api, "DELETE", &path, token, None).await.0, 204);
    assert_eq!(call(&api, "DELETE", &path, token, None).await.0, 404);
    let (_, open) = call(&api, "GET", "/api/v1/maintenance", token, None).await;
    assert_eq!(open, json!([]));
    // Removed before it began (in real time): dropped, so the next evaluation announces it.
    alerts::evaluate(&pool, critical + Duration::minutes(1), &settings)
        .await
        .unwrap();
    assert_eq!(outbox(&pool, &key).await, [note(&key, "fired", "critical")]);
}
