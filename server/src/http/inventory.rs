//! The inventory over `/api/v1`: the lists of [`crate::query::lists`] as JSON pages or as CSV
//! exports, one host with everything its agent saw, and the per-office summary. Everything is
//! limited to the caller's offices.

use std::collections::BTreeMap;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::http::header::{ACCEPT, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use futures_util::{StreamExt as _, stream};
use uuid::Uuid;

use super::HttpState;
use super::auth::Caller;
use super::csv::{self, BOM, Separator};
use super::error::ApiError;
use crate::query::engine::{self, MAX_LIMIT};
use crate::query::{self, ListSpec, QueryError, lists};

/// The most rows one CSV export holds: a whole fleet's hosts, and more certificates than an
/// office has; a narrower filter gets the rest.
const MAX_EXPORT_ROWS: usize = 200_000;

pub(super) fn routes() -> Router<HttpState> {
    let mut router = Router::new()
        .route("/api/v1/hosts/{id}", get(host))
        .route("/api/v1/summary", get(summary));
    for spec in lists::ALL {
        router = router.route(
            &format!("/api/v1/{}", spec.name),
            get(
                move |state: State<HttpState>, caller: Caller, headers: HeaderMap, params| {
                    list(state, caller, headers, params, spec)
                },
            ),
        );
    }
    router
}

/// Whether the request asks for CSV: `format=csv`, or `Accept: text/csv`.
fn wants_csv(headers: &HeaderMap, params: &BTreeMap<String, String>) -> Result<bool, ApiError> {
    match params.get("format").map(String::as_str) {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(_) => Err(ApiError::bad_request("format is json or csv")),
        None => Ok(headers
            .get(ACCEPT)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|accept| accept.contains("text/csv"))),
    }
}

async fn list(
    State(state): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Query(params): Query<BTreeMap<String, String>>,
    spec: &'static ListSpec,
) -> Result<Response, ApiError> {
    let request = engine::request(spec, &params)?;
    let now = Utc::now();
    if !wants_csv(&headers, &params)? {
        let page = engine::run(&state.pool, spec, &request, caller.seen(), now).await?;
        return Ok(Json(page).into_response());
    }
    let separator = Separator::from_param(params.get("sep").map(String::as_str))
        .ok_or_else(|| ApiError::bad_request("sep is comma or semicolon"))?;
    export(state, caller, params, spec, separator).await
}

/// The whole list as CSV, from `after` on, fetched and sent a page of [`MAX_LIMIT`] rows at a
/// time: memory stays that of one page however long the export.
async fn export(
    state: HttpState,
    caller: Caller,
    mut params: BTreeMap<String, String>,
    spec: &'static ListSpec,
    separator: Separator,
) -> Result<Response, ApiError> {
    params.insert("limit".into(), MAX_LIMIT.to_string());
    let now = Utc::now();
    // The first page before answering, so a failure is a status rather than a cut-off file.
    let request = engine::request(spec, &params)?;
    let first = engine::run(&state.pool, spec, &request, caller.seen(), now).await?;
    let mut head = BOM.as_bytes().to_vec();
    head.extend(csv::lines(spec.columns, &first.items, separator, true));
    let seen = caller.seen().map(<[i64]>::to_vec);
    let pages = stream::unfold(
        (first.next, first.items.len(), params),
        move |(next, sent, mut params)| {
            let pool = state.pool.clone();
            let seen = seen.clone();
            async move {
                let after = next.filter(|_| sent < MAX_EXPORT_ROWS)?;
                params.insert("after".into(), after);
                let request = engine::request(spec, &params).ok()?;
                match engine::run(&pool, spec, &request, seen.as_deref(), now).await {
                    Ok(page) => {
                        let chunk = csv::lines(spec.columns, &page.items, separator, false);
                        let sent = sent + page.items.len();
                        Some((
                            Ok::<_, std::io::Error>(Bytes::from(chunk)),
                            (page.next, sent, params),
                        ))
                    }
                    Err(error) => {
                        // The status is gone; a cut-off file and the log are what is left.
                        tracing::warn!(message = "CSV export failed midway.", list = spec.name, %error);
                        Some((
                            Err(std::io::Error::other("export failed")),
                            (None, sent, params),
                        ))
                    }
                }
            }
        },
    );
    let body = stream::iter([Ok(Bytes::from(head))]).chain(pages);
    let file = format!(
        "attachment; filename=\"{}-{}.csv\"",
        spec.name,
        csv::stamp(now)
    );
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (CONTENT_DISPOSITION, file),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

async fn host(
    State(state): State<HttpState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let Ok(id) = id.parse::<Uuid>() else {
        return Err(ApiError::bad_request(
            "a host is named by its agent id (a UUID)",
        ));
    };
    match query::host(&state.pool, id, caller.seen()).await? {
        Some(host) => Ok(Json(host).into_response()),
        None => Err(ApiError::not_found("no such host")),
    }
}

async fn summary(State(state): State<HttpState>, caller: Caller) -> Result<Response, ApiError> {
    let defaults = &state.alert_defaults;
    let offices = state
        .summaries
        .get(
            &state.pool,
            caller.seen(),
            defaults.agent_interval,
            defaults.defaults.silent_after_intervals,
        )
        .await?;
    Ok(Json(&*offices).into_response())
}

// === impl ApiError ===

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> Self {
        match error {
            QueryError::Invalid(why) => ApiError::bad_request(&why),
            QueryError::Db(error) => error.into(),
        }
    }
}
