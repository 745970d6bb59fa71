//! Accounts, API tokens and the audit log over `/api/v1`, and signing in and out.
//!
//! Accounts are managed by administrators of every office. Anyone signed in manages their own
//! API tokens and password. Administrators read the audit log of the offices they see.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::HttpState;
use super::auth::{self, Caller};
use super::error::ApiError;
use crate::access::users::{self, NewUser, UserError};
use crate::access::{Role, audit, tokens};

/// Body of `POST /api/v1/users`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUser {
    name: String,
    password: String,
    role: Role,
    /// Office names; absent: every office.
    #[serde(default)]
    offices: Option<Vec<String>>,
}

/// Body of `PUT /api/v1/users/{name}/password`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPassword {
    password: String,
}

/// Body of `POST /api/v1/api-tokens`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateToken {
    name: String,
    #[serde(default)]
    expires_at: Option<DateTime<Utc>>,
}

/// Query of `GET /api/v1/audit`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditPage {
    /// Entries older than this id (the last one of the previous page).
    #[serde(default)]
    before: Option<i64>,
    #[serde(default)]
    limit: Option<i64>,
}

/// The most entries one page of the audit log holds.
const MAX_AUDIT_PAGE: i64 = 500;

pub(super) fn routes() -> Router<HttpState> {
    Router::new()
        .route(
            "/api/v1/session",
            get(auth::current)
                .post(auth::sign_in)
                .delete(auth::sign_out),
        )
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/users/{name}/disable", post(disable_user))
        .route("/api/v1/users/{name}/password", put(set_password))
        .route("/api/v1/api-tokens", get(list_tokens).post(create_token))
        .route("/api/v1/api-tokens/{id}", delete(revoke_token))
        .route("/api/v1/audit", get(audit_log))
}

async fn list_users(State(state): State<HttpState>, caller: Caller) -> Result<Response, ApiError> {
    caller.require_global_admin()?;
    Ok(Json(users::list(&state.pool).await?).into_response())
}

async fn create_user(
    State(state): State<HttpState>,
    caller: Caller,
    Json(body): Json<CreateUser>,
) -> Result<Response, ApiError> {
    caller.require_global_admin()?;
    let user = NewUser {
        name: body.name,
        password: body.password,
        role: body.role,
        offices: body.offices,
    };
    let id = users::create(&state.pool, &user).await?;
    let details = serde_json::json!({ "role": user.role, "offices": user.offices });
    let change = caller.change("user.create", format!("user {}", user.name), None, details);
    audit::record_now(&state.pool, &change).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))).into_response())
}

async fn disable_user(
    State(state): State<HttpState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    caller.require_global_admin()?;
    users::disable(&state.pool, &name).await?;
    let change = caller.change(
        "user.disable",
        format!("user {name}"),
        None,
        serde_json::json!({}),
    );
    audit::record_now(&state.pool, &change).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Set a password: one's own, or anyone's for an administrator of every office. Every
/// session of the account ends, the caller's own included.
async fn set_password(
    State(state): State<HttpState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(body): Json<NewPassword>,
) -> Result<Response, ApiError> {
    let own =
        caller.principal.user_id.is_some() && caller.principal.name.eq_ignore_ascii_case(&name);
    if !own {
        caller.require_global_admin()?;
    }
    users::set_password(&state.pool, &name, &body.password).await?;
    let change = caller.change(
        "user.password",
        format!("user {name}"),
        None,
        serde_json::json!({}),
    );
    audit::record_now(&state.pool, &change).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The caller's own tokens; every token for an administrator of every office.
async fn list_tokens(State(state): State<HttpState>, caller: Caller) -> Result<Response, ApiError> {
    let listed = tokens::list(&state.pool, owner(&caller)).await?;
    Ok(Json(listed).into_response())
}

/// Whose tokens the caller manages: its own, or (`None`) everyone's for an administrator of
/// every office.
fn owner(caller: &Caller) -> Option<i64> {
    if caller.principal.is_global_admin() {
        None
    } else {
        // Only the configured token has no account, and it administers every office.
        Some(caller.principal.user_id.unwrap_or(-1))
    }
}

/// A token for the caller's own account, shown once.
async fn create_token(
    State(state): State<HttpState>,
    caller: Caller,
    Json(body): Json<CreateToken>,
) -> Result<Response, ApiError> {
    if caller.principal.user_id.is_none() {
        return Err(ApiError::forbidden("only an account has tokens"));
    }
    if body.name.trim().is_empty() || body.name.len() > 100 {
        return Err(ApiError::invalid("a token's name is 1 to 100 bytes"));
    }
    if body.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(ApiError::invalid("the token must expire in the future"));
    }
    let (id, token) = tokens::create(
        &state.pool,
        &caller.principal.name,
        &body.name,
        body.expires_at,
    )
    .await?;
    let details = serde_json::json!({ "name": body.name, "expires_at": body.expires_at });
    let change = caller.change("token.create", format!("token {id}"), None, details);
    audit::record_now(&state.pool, &change).await?;
    let created = serde_json::json!({ "id": id, "token": token });
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Revoke one of the caller's tokens (anyone's, for an administrator of every office).
async fn revoke_token(
    State(state): State<HttpState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    // Another account's token answers as if there were none.
    if !tokens::revoke(&state.pool, id, owner(&caller)).await? {
        return Err(ApiError::not_found("no such token in use"));
    }
    let change = caller.change(
        "token.revoke",
        format!("token {id}"),
        None,
        serde_json::json!({}),
    );
    audit::record_now(&state.pool, &change).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The audit log, newest first, a page at a time: for administrators, of the offices they
/// see (fleet-wide entries, such as accounts', for administrators of every office only).
async fn audit_log(
    State(state): State<HttpState>,
    caller: Caller,
    Query(page): Query<AuditPage>,
) -> Result<Response, ApiError> {
    caller.require(Role::Admin)?;
    let limit = page.limit.unwrap_or(100);
    if !(1..=MAX_AUDIT_PAGE).contains(&limit) {
        return Err(ApiError::invalid(format!("limit is 1 to {MAX_AUDIT_PAGE}")));
    }
    let entries = audit::list(&state.pool, &caller.principal.offices, page.before, limit).await?;
    Ok(Json(entries).into_response())
}

// === impl ApiError ===

impl From<UserError> for ApiError {
    fn from(error: UserError) -> Self {
        match error {
            UserError::Db(error) => error.into(),
            UserError::NotFound(_) => ApiError::not_found(&error.to_string()),
            UserError::Exists(_) => ApiError(StatusCode::CONFLICT, error.to_string()),
            other => ApiError::invalid(other.to_string()),
        }
    }
}
