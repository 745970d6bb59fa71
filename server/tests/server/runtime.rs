use sqlx::PgPool;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::support::*;

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn health_endpoints_answer_over_http(pool: PgPool) {
    let server = TestServer::start(pool).await;
    assert_eq!(
        server.get("/healthz").await.expect("healthz"),
        (200, "ok\n".to_owned())
    );
    assert_eq!(
        server.get("/readyz").await.expect("readyz"),
        (200, "ready\n".to_owned())
    );
    assert_eq!(server.get("/nothing").await.expect("404").0, 404);
    // A migration missing from the database makes the server not ready.
    sqlx::query(
        "delete from _sqlx_migrations where version = (select max(version) from _sqlx_migrations)",
    )
    .execute(&server.pool)
    .await
    .expect("delete");
    let (status, body) = server.get("/readyz").await.expect("readyz");
    assert_eq!((status, body.as_str()), (503, "migrations not applied\n"));
    server.stop().await.expect("stops cleanly");
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn grpc_health_reports_the_agent_service_serving(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let mut health = HealthClient::new(server.channel(None).await.expect("connects"));
    let reply = health
        .check(HealthCheckRequest {
            service: "tokenwatch.v1.AgentService".into(),
        })
        .await
        .expect("check")
        .into_inner();
    assert_eq!(reply.status(), ServingStatus::Serving);
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn processes_sharing_a_data_dir_and_database_serve_the_same_agents(pool: PgPool) {
    // Start two servers at once on one empty data dir: they must settle on one agent CA.
    let dir = tempfile::tempdir().expect("tempdir");
    let shared = dir.path().to_owned();
    let second_dir = tempfile::tempdir().expect("tempdir");
    let pool2 = pool.clone();
    let (first, second) = tokio::join!(
        TestServer::start_in(pool, dir, |_| {}),
        TestServer::start_in(pool2, second_dir, |c| c.data_dir = shared.clone()),
    );
    assert_eq!(
        first.ca_pem(),
        std::fs::read_to_string(tokenwatch_server::pki::ca_cert_path(&shared)).expect("ca")
    );
    // Enrolled through one, reporting through the other.
    let agent = first.enrolled().await;
    second
        .as_agent(&agent)
        .await
        .report(report(1))
        .await
        .expect("report via the second");
    first
        .as_agent(&agent)
        .await
        .report(report(2))
        .await
        .expect("report via the first");
    assert_eq!(last_sequence(&first.pool, &agent.id).await, 2);
    first.stop().await.expect("stops");
    second.stop().await.expect("stops");
}
