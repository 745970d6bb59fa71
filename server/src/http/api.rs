//! The JSON API for alerts and silences under `/api/v1`: list, show and acknowledge alerts;
//! list, create and end silences; offices' alert settings and maintenance windows; the
//! notification channels' state and a test message. Every call needs a signed-in session or
//! a bearer token ([`super::auth`]); what it sees is limited to the caller's offices, what it
//! changes by their role, and every change is written to the audit log.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;

use super::HttpState;
use super::auth::Caller;
use super::error::ApiError;
use crate::access::{Role, audit};
use crate::alerts::{self, AlertFilter, NewMaintenance, NewSilence, OfficeOverrides};
use crate::notify;

/// Body of `POST /api/v1/alerts/{id}/ack`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Ack {
    comment: String,
    /// Who acknowledges; the caller's name when absent. Kept for scripts that name a person;
    /// the audit log names the caller either way.
    #[serde(default)]
    by: Option<String>,
}

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

/// The id of office `name` if the caller sees it; an office they do not see is, to them, no
/// office at all.
async fn seen_office(state: &HttpState, caller: &Caller, name: &str) -> Result<i64, ApiError> {
    let id = alerts::office_id(&state.pool, name).await?;
    if caller.principal.sees(id) {
        Ok(id)
    } else {
        Err(ApiError::invalid(format!("no office named {name:?}")))
    }
}

async fn list(
    State(state): State<HttpState>,
    caller: Caller,
    Query(filter): Query<AlertFilter>,
) -> Result<Response, ApiError> {
    Ok(Json(alerts::list(&state.pool, &filter, caller.seen()).await?).into_response())
}

async fn show(
    State(state): State<HttpState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    match alerts::show(&state.pool, id, caller.seen()).await? {
        Some(alert) => Ok(Json(alert).into_response()),
        None => Err(ApiError::not_found("no such alert")),
    }
}

async fn ack(
    State(state): State<HttpState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<Ack>,
) -> Result<Response, ApiError> {
    caller.require(Role::Operator)?;
    let Some(alert) = alerts::show(&state.pool, id, caller.seen()).await? else {
        return Err(ApiError::not_found("no such firing alert"));
    };
    let by = body.by.unwrap_or_else(|| caller.principal.name.clone());
    alerts::acknowledge(&state.pool, id, &by, &body.comment, Utc::now()).await?;
    let office = office_of(&state, alert.alert.office.as_deref()).await?;
    let details = serde_json::json!({ "by": by, "comment": body.comment, "key": alert.alert.key });
    let change = caller.change("alert.acknowledge", format!("alert {id}"), office, details);
    audit::record_now(&state.pool, &change).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The id of the office named `name`, if any.
async fn office_of(state: &HttpState, name: Option<&str>) -> Result<Option<i64>, ApiError> {
    match name {
        Some(name) => Ok(Some(alerts::office_id(&state.pool, name).await?)),
        None => Ok(None),
    }
}

async fn silences(State(state): State<HttpState>, caller: Caller) -> Result<Response, ApiError> {
    Ok(Json(alerts::silences(&state.pool, Utc::now(), caller.seen()).await?).into_response())
}

/// Create a silence. Someone who sees only some offices silences within one of them: the
/// silence must name it.
async fn add_silence(
    State(state): State<HttpState>,
    caller: Caller,
    Json(mut body): Json<NewSilence>,
) -> Result<Response, ApiError> {
    caller.require(Role::Operator)?;
    let office = match (&body.office, caller.seen()) {
        (Some(name), _) => Some(seen_office(&state, &caller, name).await?),
        (None, None) => None,
        (None, Some(_)) => {
            return Err(ApiError::invalid(
                "an account of some offices silences within one of them: name it as office",
            ));
        }
    };
    if body.created_by.is_empty() {
        body.created_by = caller.principal.name.clone();
    }
    let id = alerts::add_silence(&state.pool, &body, Utc::now()).await?;
    let details = serde_json::json!({
        "office": body.office, "code": body.code, "certificate": body.certificate,
        "host": body.host, "until": body.until, "comment": body.comment,
    });
    let change = caller.change("silence.create", format!("silence {id}"), office, details);
    audit::record_now(&state.pool, &change).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))).into_response())
}

async fn remove_silence(
    State(state): State<HttpState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    caller.require(Role::Operator)?;
    let now = Utc::now();
    let visible = alerts::silences(&state.pool, now, caller.seen()).await?;
    let Some(silence) = visible.iter().find(|s| s.id == id) else {
        return Err(ApiError::not_found("no active silence"));
    };
    let office = silence
        .matchers
        .get("office_id")
        .and_then(serde_json::Value::as_i64);
    if !alerts::remove_silence(&state.pool, id, now).await? {
        return Err(ApiError::not_found("no active silence"));
    }
    let change = caller.change(
        "silence.end",
        format!("silence {id}"),
        office,
        serde_json::json!({}),
    );
    audit::record_now(&state.pool, &change).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn offices(State(state): State<HttpState>, caller: Caller) -> Result<Response, ApiError> {
    let offices =
        alerts::office_alerting(&state.pool, &state.alert_defaults, caller.seen()).await?;
    Ok(Json(offices).into_response())
}

/// Replace an office's overrides: `{"warning_days"?, "critical_days"?, "silent_after_intervals"?,
/// "gone_after_days"?}`.
async fn set_office(
    State(state): State<HttpState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(body): Json<OfficeOverrides>,
) -> Result<Response, ApiError> {
    caller.require(Role::Admin)?;
    let office = seen_office(&state, &caller, &name).await?;
    alerts::set_office_overrides(&state.pool, &name, body, &state.alert_defaults).await?;
    let details = serde_json::to_value(body).unwrap_or_default();
    let change = caller.change(
        "office.alert_settings",
        format!("office {name:?}"),
        Some(office),
        details,
    );
    audit::record_now(&state.pool, &change).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn maintenance(State(state): State<HttpState>, caller: Caller) -> Result<Response, ApiError> {
    Ok(Json(alerts::maintenance(&state.pool, Utc::now(), caller.seen()).await?).into_response())
}

async fn add_maintenance(
    State(state): State<HttpState>,
    caller: Caller,
    Json(body): Json<NewMaintenance>,
) -> Result<Response, ApiError> {
    caller.require(Role::Operator)?;
    let office = seen_office(&state, &caller, &body.office).await?;
    let id = alerts::add_maintenance(&state.pool, &body, Utc::now()).await?;
    let details = serde_json::json!({
        "from": body.from, "until": body.until, "comment": body.comment,
    });
    let change = caller.change(
        "maintenance.open",
        format!("maintenance {id}"),
        Some(office),
        details,
    );
    audit::record_now(&state.pool, &change).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))).into_response())
}

async fn end_maintenance(
    State(state): State<HttpState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    caller.require(Role::Operator)?;
    let now = Utc::now();
    let open = alerts::maintenance(&state.pool, now, caller.seen()).await?;
    let Some(window) = open.iter().find(|m| m.id == id) else {
        return Err(ApiError::not_found("no open maintenance window"));
    };
    let office = alerts::office_id(&state.pool, &window.office).await?;
    if !alerts::end_maintenance(&state.pool, id, now).await? {
        return Err(ApiError::not_found("no open maintenance window"));
    }
    let change = caller.change(
        "maintenance.end",
        format!("maintenance {id}"),
        Some(office),
        serde_json::json!({}),
    );
    audit::record_now(&state.pool, &change).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The channels are the server's, shared by every office: for administrators of all of them.
async fn channels(State(state): State<HttpState>, caller: Caller) -> Result<Response, ApiError> {
    caller.require_global_admin()?;
    let status = notify::channel_status(&state.pool, &state.channels).await?;
    Ok(Json(status).into_response())
}

/// Send a test notification: 200 with `{"sent": true}`, or 502 with the channel's error.
async fn test_channel(
    State(state): State<HttpState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    caller.require_global_admin()?;
    let Some(channel) = state.channels.get(&name) else {
        return Err(ApiError::not_found("no such channel"));
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
