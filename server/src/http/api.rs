//! The JSON API for alerts and silences under `/api/v1`: list, show and acknowledge alerts;
//! list, create and end silences; the notification channels' state and a test message. With `http.api_bearer_token_file` every call needs that token.

use axum::extract::{Path, Query, State};
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;

use super::HttpState;
use crate::alerts::{self, AlertFilter, ManageError, NewMaintenance, NewSilence, OfficeOverrides};
use crate::notify;

/// Body of `POST /api/v1/alerts/{id}/ack`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Ack {
    comment: String,
    by: String,
}

/// An error answer: a status and a short message, never database text.
#[derive(Debug)]
struct ApiError(StatusCode, String);

pub(super) fn routes() -> Router<HttpState> {
    Router::new()
        .route("/api/v1/alerts", get(list))
        .route("/api/v1/alerts/{id}", get(show))
        .route("/api/v1/alerts/{id}/ack", post(ack))
        .route("/api/v1/silences", get(silences).post(add_silence))
        .route("/api/v1/silences/{id}", delete(remove_silence))
        .route("/api/v1/offices", get(offices))
        .route("/api/v1/offices/{name}/alert-settings", put(set_office))
        .route(
            "/api/v1/maintenance",
            get(maintenance).post(add_maintenance),
        )
        .route("/api/v1/maintenance/{id}", delete(end_maintenance))
        .route("/api/v1/channels", get(channels))
        .route("/api/v1/channels/{name}/test", post(test_channel))
}

fn admit(state: &HttpState, headers: &HeaderMap) -> Result<(), ApiError> {
    match &state.api_token {
        Some(token) if !token.admits(headers) => Err(ApiError(
            StatusCode::UNAUTHORIZED,
            "a valid bearer token is required".into(),
        )),
        _ => Ok(()),
    }
}

async fn list(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Query(filter): Query<AlertFilter>,
) -> Result<Response, ApiError> {
    admit(&state, &headers)?;
    Ok(Json(alerts::list(&state.pool, &filter).await?).into_response())
}

async fn show(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    admit(&state, &headers)?;
    match alerts::show(&state.pool, id).await? {
        Some(alert) => Ok(Json(alert).into_response()),
        None => Err(ManageError::NotFound.into()),
    }
}

async fn ack(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Json(body): Json<Ack>,
) -> Result<Response, ApiError> {
    admit(&state, &headers)?;
    alerts::acknowledge(&state.pool, id, &body.by, &body.comment, Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn silences(
    State(state): State<HttpState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    admit(&state, &headers)?;
    Ok(Json(alerts::silences(&state.pool, Utc::now()).await?).into_response())
}

async fn add_silence(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Json(body): Json<NewSilence>,
) -> Result<Response, ApiError> {
    admit(&state, &headers)?;
    let id = alerts::add_silence(&state.pool, &body, Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))).into_response())
}

async fn remove_silence(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    admit(&state, &headers)?;
    if alerts::remove_silence(&state.pool, id, Utc::now()).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError(StatusCode::NOT_FOUND, "no active silence".into()))
    }
}

async fn offices(State(state): State<HttpState>, headers: HeaderMap) -> Result<Response, ApiError> {
    admit(&state, &headers)?;
    let offices = alerts::office_alerting(&state.pool, &state.alert_defaults).await?;
    Ok(Json(offices).into_response())
}

/// Replace an office's overrides: `{"warning_days"?, "critical_days"?, "silent_after_intervals"?,
/// "gone_after_days"?}`.
async fn set_office(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Json(body): Json<OfficeOverrides>,
) -> Result<Response, ApiError> {
    admit(&state, &headers)?;
    alerts::set_office_overrides(&state.pool, &name, body, &state.alert_defaults).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn maintenance(
    State(state): State<HttpState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    admit(&state, &headers)?;
    Ok(Json(alerts::maintenance(&state.pool, Utc::now()).await?).into_response())
}

async fn add_maintenance(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Json(body): Json<NewMaintenance>,
) -> Result<Response, ApiError> {
    admit(&state, &headers)?;
    let id = alerts::add_maintenance(&state.pool, &body, Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))).into_response())
}

async fn end_maintenance(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    admit(&state, &headers)?;
    if alerts::end_maintenance(&state.pool, id, Utc::now()).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError(
            StatusCode::NOT_FOUND,
            "no open maintenance window".into(),
        ))
    }
}

async fn channels(
    State(state): State<HttpState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    admit(&state, &headers)?;
    let status = notify::channel_status(&state.pool, &state.channels).await?;
    Ok(Json(status).into_response())
}

/// Send a test notification: 200 with `{"sent": true}`, or 502 with the channel's error.
async fn test_channel(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    admit(&state, &headers)?;
    let Some(channel) = state.channels.get(&name) else {
        return Err(ApiError(StatusCode::NOT_FOUND, "no such channel".into()));
    };
    match notify::send_test(&state.pool, channel, Utc::now()).await? {
        Ok(()) => Ok(Json(serde_json::json!({ "sent": true })).into_response()),
        Err(error) => Ok((
            StatusCode::BAD_GATEWAY,
            Json(serde_json::json!({ "sent": false, "error": error.to_string() })),
        )
            .into_response()),
    }
}

// === impl ApiError ===

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        ManageError::Db(error).into()
    }
}

impl From<ManageError> for ApiError {
    fn from(error: ManageError) -> Self {
        match error {
            ManageError::NotFound => Self(StatusCode::NOT_FOUND, "no such firing alert".into()),
            ManageError::Invalid(message) => Self(StatusCode::UNPROCESSABLE_ENTITY, message),
            ManageError::Db(error) => {
                tracing::warn!(message = "Alert API failed.", %error);
                Self(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "an internal database error occurred".into(),
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(serde_json::json!({ "error": self.1 }));
        if self.0 == StatusCode::UNAUTHORIZED {
            let challenge = [(WWW_AUTHENTICATE, "Bearer realm=\"tokenwatch\"")];
            return (self.0, challenge, body).into_response();
        }
        (self.0, body).into_response()
    }
}
