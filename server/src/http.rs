//! Plain HTTP: `GET /healthz` (the process is up), `GET /readyz` (the database answers and every
//! migration this build knows is applied) and `GET /metrics` (Prometheus, see [`crate::metrics`]).
//!
//! `/metrics` names people (certificate subjects). With `http.metrics_bearer_token_file` it
//! requires that token; the health endpoints stay open, since load balancers probe them.
//! `/api/v1/…` (see [`api`] and [`accounts`]) needs a signed-in session or a bearer token
//! ([`auth`]).

mod accounts;
mod api;
pub(crate) mod auth;
mod bearer;
mod csv;
mod error;
mod inventory;
mod listen;
mod openapi;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sqlx::PgPool;

use crate::config::HttpConfig;
use crate::db::MIGRATOR;
use crate::listener::CappedListener;
use crate::metrics::{self, Metrics};
use crate::notify::Channels;

pub use bearer::{BearerToken, TokenError};

/// `rows` as the CSV export writes them (header first), `,` or `;` between fields.
pub(crate) fn csv_lines(
    columns: &[crate::query::engine::Column],
    rows: &[serde_json::Value],
    semicolon: bool,
) -> Vec<u8> {
    let separator = if semicolon {
        csv::Separator::Semicolon
    } else {
        csv::Separator::Comma
    };
    csv::lines(columns, rows, separator, true)
}

/// What the HTTP handlers share.
#[derive(Clone, Debug)]
pub struct HttpState {
    pub pool: PgPool,
    pub metrics: Arc<Metrics>,
    /// Required by `/metrics` when set.
    pub metrics_token: Option<BearerToken>,
    /// Admitted by `/api/v1/…` as an administrator of every office, when set.
    pub api_token: Option<BearerToken>,
    /// Whether the session cookie is marked `Secure`.
    pub secure_cookies: bool,
    /// The notification channels, for `/api/v1/channels`.
    pub channels: Arc<Channels>,
    /// The `[alerts]` defaults that office overrides are checked against.
    pub alert_defaults: Arc<crate::alerts::Settings>,
    /// The per-office summaries counted lately.
    pub summaries: Arc<crate::query::Summaries>,
}

/// The HTTP routes.
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/openapi.json", get(openapi::serve))
        .merge(api::routes())
        .merge(accounts::routes())
        .merge(inventory::routes())
        .merge(crate::dashboard::routes())
        .with_state(state)
}

/// Serve [`router`] on `listener` until `shutdown` completes, with the limits of `config`
/// (see [`listen`]).
pub(crate) async fn serve(
    state: HttpState,
    listener: tokio::net::TcpListener,
    config: &HttpConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    warn_if_open(listener.local_addr()?, state.metrics_token.as_ref());
    let listener = CappedListener::new(listener, config.max_connections, "http.max_connections");
    listen::serve(
        router(state),
        listener,
        config.header_read_timeout.get(),
        shutdown,
    )
    .await;
    Ok(())
}

/// A listener other hosts can reach, serving names without a token, is worth a warning; it is
/// not refused, because a private network or a proxy in front may be the operator's choice.
fn warn_if_open(addr: SocketAddr, token: Option<&BearerToken>) {
    if token.is_none() && !addr.ip().is_loopback() {
        tracing::warn!(
            message = "GET /metrics is served without a token on a non-loopback address; \
                       set http.metrics_bearer_token_file.",
            %addr,
        );
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<HttpState>) -> (StatusCode, &'static str) {
    let applied: Result<Vec<i64>, sqlx::Error> =
        sqlx::query_scalar("select version from _sqlx_migrations where success")
            .fetch_all(&state.pool)
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

async fn metrics(State(state): State<HttpState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.metrics_token {
        if !token.admits(&headers) {
            // One answer for a missing and a wrong token.
            return (
                StatusCode::UNAUTHORIZED,
                [(WWW_AUTHENTICATE, "Bearer realm=\"tokenwatch\"")],
                "a valid bearer token is required\n",
            )
                .into_response();
        }
    }
    match state.metrics.render(&state.pool).await {
        Ok(body) => ([(CONTENT_TYPE, metrics::CONTENT_TYPE)], body).into_response(),
        Err(error) => {
            tracing::warn!(message = "Metrics unavailable.", %error);
            (StatusCode::SERVICE_UNAVAILABLE, "metrics unavailable\n").into_response()
        }
    }
}
