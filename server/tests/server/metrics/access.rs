//! Who may read `/metrics`: the bearer token, when one is configured.

use std::time::Duration;

use sqlx::PgPool;

use crate::exposition::Exposition;
use crate::launch::http_request;
use crate::support::*;

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn metrics_require_the_configured_bearer_token(pool: PgPool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("metrics.token");
    std::fs::write(&token_file, "Zm9vYmFy-metrics.token\n").expect("write");
    let server = TestServer::start_with(pool, |c| {
        c.http.metrics_bearer_token_file = Some(token_file.clone());
    })
    .await;
    for headers in [
        &[][..],
        &[("Authorization", "Bearer Zm9vYmFy-metrics.toke")][..],
        &[("Authorization", "Basic Zm9vYmFy-metrics.token")][..],
    ] {
        let response = http_request(server.http, "/metrics", headers)
            .await
            .expect("scrape");
        assert_eq!(response.status, 401, "{headers:?}");
        assert_eq!(
            response.header("www-authenticate"),
            Some("Bearer realm=\"tokenwatch\"")
        );
        assert!(!response.body.contains("tokenwatch_"), "{}", response.body);
    }
    let response = http_request(
        server.http,
        "/metrics",
        &[("Authorization", "Bearer Zm9vYmFy-metrics.token")],
    )
    .await
    .expect("scrape");
    assert_eq!(response.status, 200);
    let metrics = Exposition::parse(&response.body);
    assert_eq!(
        metrics.value("tokenwatch_reports_total", &[("outcome", "changed")]),
        Some(0.0)
    );
    // The health endpoints stay open for load balancers.
    assert_eq!(server.get("/healthz").await.expect("healthz").0, 200);
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn an_unusable_token_file_stops_the_start(pool: PgPool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = tokenwatch_server::Config::default();
    config.database.url = tokenwatch_server::config::DatabaseUrl::new(url_of(&pool));
    config.data_dir = dir.path().to_owned();
    let missing = dir.path().join("no-such.token");
    config.http.metrics_bearer_token_file = Some(missing.clone());
    let listeners = tokenwatch_server::Listeners {
        grpc: tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind"),
        http: tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind"),
    };
    let result = tokio::time::timeout(
        Duration::from_secs(30),
        tokenwatch_server::run(config, listeners, std::future::pending()),
    )
    .await
    .expect("returns at once");
    let error = format!("{:#}", result.expect_err("refused"));
    assert!(error.contains(&missing.display().to_string()), "{error}");
}
