//! Health endpoints over plain HTTP: `GET /healthz` (the process is up) and `GET /readyz` (the
//! database answers and every migration this build knows is applied).

use std::future::Future;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use sqlx::PgPool;

use crate::db::MIGRATOR;

/// The HTTP routes.
pub fn router(pool: PgPool) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(pool)
}

/// Serve [`router`] on `listener` until `shutdown` completes.
pub(crate) async fn serve(
    pool: PgPool,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(pool))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(pool): State<PgPool>) -> (StatusCode, &'static str) {
    let applied: Result<Vec<i64>, sqlx::Error> =
        sqlx::query_scalar("select version from _sqlx_migrations where success")
            .fetch_all(&pool)
            .await;
    match applied {
        Ok(applied) => {
            if MIGRATOR.iter().all(|m| applied.contains(&m.version)) {
                (StatusCode::OK, "ready\n")
            } else {
                (StatusCode::SERVICE_UNAVAILABLE, "migrations not applied\n")
            }
        }
        Err(error) => {
            tracing::warn!(message = "Readiness check failed.", %error);
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
        }
    }
}
