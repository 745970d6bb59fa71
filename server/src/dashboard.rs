//! The dashboard: HTML pages the server renders itself, for IT's morning look across offices.
//! No JavaScript is needed (forms and links do everything), so a slow office PC or a phone
//! shows a page as soon as it arrives. Russian or English, as the browser asks or the person
//! picks.
//!
//! Pages read through the same queries as the API, limited to the signed-in account's offices;
//! every form that changes something carries the session's CSRF token.

mod alerts;
mod certificates;
mod filters;
mod hosts;
mod i18n;
mod layout;
mod login;
mod overview;
mod settings;
mod tokens;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::header::{ACCEPT_LANGUAGE, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::Utc;
use maud::Markup;
use std::collections::BTreeMap;

use crate::access::Principal;
use crate::http::HttpState;
use crate::http::auth::{csrf_matches, session_principal, source};
use crate::query::{ListSpec, Paged, QueryError, engine};

pub(crate) use i18n::Lang;

/// The dashboard's routes.
pub(crate) fn routes() -> Router<HttpState> {
    Router::new()
        .route("/", get(overview::page))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", axum::routing::post(login::logout))
        .route("/lang/{code}", get(i18n::choose))
        .route("/static/app.css", get(stylesheet))
        .merge(certificates::routes())
        .merge(tokens::routes())
        .merge(hosts::routes())
        .merge(alerts::routes())
        .merge(settings::routes())
}

async fn stylesheet() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("dashboard/app.css"),
    )
        .into_response()
}

/// Whoever looks at a page: signed in with a session (a page never takes a bearer token),
/// with the language to show it in.
#[derive(Clone, Debug)]
pub(crate) struct Viewer {
    pub(crate) principal: Principal,
    pub(crate) lang: Lang,
    /// The client's address, for the audit log.
    pub(crate) source: Option<String>,
    /// The page's path and query, to come back to.
    pub(crate) path: String,
}

impl FromRequestParts<HttpState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &HttpState,
    ) -> Result<Self, Self::Rejection> {
        let path = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        let to_login = || Redirect::to(&format!("/login?next={}", encode(&path))).into_response();
        let principal = match session_principal(state, &parts.headers, Utc::now()).await {
            Ok(Some(principal)) => principal,
            Ok(None) => return Err(to_login()),
            Err(error) => {
                tracing::warn!(message = "Dashboard session lookup failed.", %error);
                return Err(unavailable(Lang::of(&parts.headers)));
            }
        };
        Ok(Viewer {
            principal,
            lang: Lang::of(&parts.headers),
            source: source(parts),
            path,
        })
    }
}

/// The page of one host as a viewer of every office sees it (see `crate::fuzzing`).
pub(crate) fn host_page_for_fuzzing(host: &serde_json::Value, russian: bool) -> String {
    let lang = if russian {
        i18n::Lang::Ru
    } else {
        i18n::Lang::En
    };
    hosts::page_without_request(host, lang)
}

// === impl Viewer ===

impl Viewer {
    /// The session's CSRF token, for forms.
    pub(crate) fn csrf(&self) -> &str {
        self.principal.csrf_token.as_deref().unwrap_or_default()
    }

    /// Refused unless `sent` is this session's CSRF token: a form posted from another site.
    // The refusal is the page the handler answers with, built only when refusing.
    #[allow(clippy::result_large_err)]
    pub(crate) fn check(&self, sent: &str) -> Result<(), Response> {
        if csrf_matches(self.principal.csrf_token.as_deref(), Some(sent.as_bytes())) {
            Ok(())
        } else {
            Err(refused(self.lang, i18n::texts(self.lang).stale_form))
        }
    }

    /// Refused unless the role allows what `needed` allows.
    #[allow(clippy::result_large_err)]
    pub(crate) fn require(&self, needed: crate::access::Role) -> Result<(), Response> {
        if self.principal.has(needed) {
            Ok(())
        } else {
            Err(refused(self.lang, i18n::texts(self.lang).not_allowed))
        }
    }
}

/// A 403 page saying why.
fn refused(lang: Lang, why: &str) -> Response {
    (StatusCode::FORBIDDEN, layout::bare(lang, why)).into_response()
}

/// A 503 page: the database did not answer.
pub(crate) fn unavailable(lang: Lang) -> Response {
    let texts = i18n::texts(lang);
    (
        StatusCode::SERVICE_UNAVAILABLE,
        layout::bare(lang, texts.unavailable),
    )
        .into_response()
}

/// A 400 page: the address carries a parameter the page cannot take.
pub(crate) fn bad_request(lang: Lang, why: &str) -> Response {
    (StatusCode::BAD_REQUEST, layout::bare(lang, why)).into_response()
}

/// A page answer; a parameter the page cannot take as a 400 page, the database's failure as a
/// 503 page.
pub(crate) fn rendered(lang: Lang, page: Result<Markup, QueryError>) -> Response {
    match page {
        Ok(markup) => markup.into_response(),
        Err(QueryError::Invalid(why)) => bad_request(lang, &why),
        Err(QueryError::Db(error)) => {
            tracing::warn!(message = "Dashboard page failed.", %error);
            unavailable(lang)
        }
    }
}

/// One page of `spec` for `params` (a page's own query string, with the API's names), for
/// `viewer`'s offices.
pub(crate) async fn list_page(
    state: &HttpState,
    viewer: &Viewer,
    spec: &ListSpec,
    params: &BTreeMap<String, String>,
) -> Result<Paged, QueryError> {
    let request = engine::request(spec, params)?;
    let seen = viewer.principal.offices.restriction();
    engine::run(&state.pool, spec, &request, seen, Utc::now()).await
}

/// Offices `viewer` sees, by name, for filter choices.
pub(crate) async fn office_names(
    state: &HttpState,
    viewer: &Viewer,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "select name from offices where $1::bigint[] is null or id = any($1) order by name",
    )
    .bind(viewer.principal.offices.restriction())
    .fetch_all(&state.pool)
    .await
}

/// `text` for a URL's query.
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The query string of `params` (already checked), for links.
pub(crate) fn query_string<'a>(
    params: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> String {
    params
        .into_iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Whether the browser prefers Russian.
fn prefers_russian(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|first| first.trim().to_ascii_lowercase().starts_with("ru"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_escaped() {
        assert_eq!(encode("/hosts?q=a b&x=1"), "%2Fhosts%3Fq%3Da%20b%26x%3D1");
        assert_eq!(encode("Склад"), "%D0%A1%D0%BA%D0%BB%D0%B0%D0%B4");
    }
}
