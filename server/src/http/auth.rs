//! Who is calling: a bearer token (an account's API token, or the configured one) or a browser
//! session's cookie; and signing in and out. A change made with a session cookie must carry
//! the session's CSRF token in `X-CSRF-Token`: a page of another site can make the browser
//! send the cookie, never read the token.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use subtle::ConstantTimeEq as _;

use super::HttpState;
use super::bearer::presented;
use super::error::ApiError;
use crate::access::{Change, Principal, Role, audit, sessions, tokens, users};

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "tw_session";
/// The header that carries the CSRF token with a change.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// The principal of a request, and where it came from.
#[derive(Clone, Debug)]
pub(super) struct Caller {
    pub(super) principal: Principal,
    /// The client's address, for the audit log.
    pub(super) source: Option<String>,
}

/// The client's address, when the server was started with connection info.
#[derive(Clone, Debug)]
pub(crate) struct Source(pub(crate) Option<String>);

/// Body of `POST /api/v1/session`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Login {
    name: String,
    password: String,
}

// === impl Caller ===

impl Caller {
    /// Refused unless the role allows what `needed` allows.
    pub(super) fn require(&self, needed: Role) -> Result<(), ApiError> {
        if self.principal.has(needed) {
            Ok(())
        } else {
            Err(ApiError::forbidden(match needed {
                Role::Admin => "this needs the admin role",
                Role::Operator => "this needs the operator or admin role",
                Role::Viewer => "this needs an account",
            }))
        }
    }

    /// Refused unless they administer every office.
    pub(super) fn require_global_admin(&self) -> Result<(), ApiError> {
        if self.principal.is_global_admin() {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "this needs the admin role over every office",
            ))
        }
    }

    /// The offices to restrict reads to; `None`: all.
    pub(super) fn seen(&self) -> Option<&[i64]> {
        self.principal.offices.restriction()
    }

    /// A change of theirs, for the audit log.
    pub(super) fn change<'a>(
        &'a self,
        action: &'a str,
        target: String,
        office_id: Option<i64>,
        details: serde_json::Value,
    ) -> Change<'a> {
        Change {
            actor: &self.principal.actor,
            action,
            target,
            office_id,
            details,
            source: self.source.clone(),
        }
    }
}

impl FromRequestParts<HttpState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &HttpState,
    ) -> Result<Self, Self::Rejection> {
        let source = source(parts);
        let now = Utc::now();
        if let Some(token) = presented(&parts.headers) {
            let principal = if state
                .api_token
                .as_ref()
                .is_some_and(|configured| configured.admits(&parts.headers))
            {
                Some(Principal::configured_token())
            } else {
                tokens::find(&state.pool, token, now).await?
            };
            return principal
                .map(|principal| Caller { principal, source })
                .ok_or_else(ApiError::unauthorized);
        }
        let Some(principal) = session_principal(state, &parts.headers, now).await? else {
            return Err(ApiError::unauthorized());
        };
        if !parts.method.is_safe() {
            let sent = parts.headers.get(CSRF_HEADER).map(|value| value.as_bytes());
            if !csrf_matches(principal.csrf_token.as_deref(), sent) {
                return Err(ApiError::forbidden(
                    "a change needs the session's token in X-CSRF-Token",
                ));
            }
        }
        Ok(Caller { principal, source })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(source(parts)))
    }
}

/// The principal of the open session whose cookie `headers` carry, if any: the API's and the
/// dashboard's one way in with a cookie.
pub(crate) async fn session_principal(
    state: &HttpState,
    headers: &HeaderMap,
    now: chrono::DateTime<Utc>,
) -> Result<Option<Principal>, sqlx::Error> {
    match cookie(headers, SESSION_COOKIE) {
        Some(value) => sessions::find(&state.pool, value, now).await,
        None => Ok(None),
    }
}

/// Whether the CSRF token `sent` is the session's, compared in constant time.
pub(crate) fn csrf_matches(session: Option<&str>, sent: Option<&[u8]>) -> bool {
    match (session, sent) {
        (Some(session), Some(sent)) => session.as_bytes().ct_eq(sent).into(),
        _ => false,
    }
}

/// The client's address, when the server was started with connection info.
pub(crate) fn source(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip().to_string())
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The `Set-Cookie` value that opens (`Some(value)`) or clears a session.
fn session_cookie(value: Option<&str>, secure: bool) -> String {
    let (value, age) = match value {
        Some(value) => (value, sessions::LIFETIME.num_seconds()),
        None => ("", 0),
    };
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={age}{secure}")
}

/// What `GET /api/v1/session` and a sign-in answer.
fn whoami(principal: &Principal) -> serde_json::Value {
    serde_json::json!({
        "name": principal.name,
        "role": principal.role,
        "offices": principal.offices,
        "csrf_token": principal.csrf_token,
    })
}

/// A sign-in checked and its session opened: the account (with the session's CSRF token) and
/// the `Set-Cookie` value. `None`: refused, for a reason only the audit log keeps.
pub(crate) async fn open_session(
    state: &HttpState,
    name: &str,
    password: &str,
    source: Option<String>,
) -> Result<Option<(Principal, String)>, sqlx::Error> {
    let now = Utc::now();
    let principal = match users::authenticate(&state.pool, name, password, now).await? {
        Ok(principal) => principal,
        Err(refused) => {
            let change = Change {
                actor: "anonymous",
                action: "login.failed",
                target: format!("user {}", name.chars().take(64).collect::<String>()),
                office_id: None,
                details: serde_json::json!({ "reason": refused.to_string() }),
                source,
            };
            audit::record_now(&state.pool, &change).await?;
            return Ok(None);
        }
    };
    let user_id = principal.user_id.unwrap_or_default();
    let opened = sessions::open(&state.pool, user_id, now).await?;
    let change = Change {
        actor: &principal.actor,
        action: "login",
        target: format!("user {}", principal.name),
        office_id: None,
        details: serde_json::json!({}),
        source,
    };
    audit::record_now(&state.pool, &change).await?;
    let cookie = session_cookie(Some(&opened.cookie), state.secure_cookies);
    let principal = Principal {
        csrf_token: Some(opened.csrf_token),
        ..principal
    };
    Ok(Some((principal, cookie)))
}

/// End the session of `headers`' cookie, recording it for `principal`; the `Set-Cookie`
/// value that clears the cookie.
pub(crate) async fn close_session(
    state: &HttpState,
    headers: &HeaderMap,
    principal: &Principal,
    source: Option<String>,
) -> Result<String, sqlx::Error> {
    if let Some(value) = cookie(headers, SESSION_COOKIE) {
        sessions::close(&state.pool, value).await?;
    }
    let change = Change {
        actor: &principal.actor,
        action: "logout",
        target: format!("user {}", principal.name),
        office_id: None,
        details: serde_json::json!({}),
        source,
    };
    audit::record_now(&state.pool, &change).await?;
    Ok(session_cookie(None, state.secure_cookies))
}

/// `POST /api/v1/session`: sign in. The same answer for an unknown name, a wrong password, a
/// disabled or a locked account; the audit log keeps which it was.
pub(super) async fn sign_in(
    State(state): State<HttpState>,
    Source(source): Source,
    Json(login): Json<Login>,
) -> Result<Response, ApiError> {
    match open_session(&state, &login.name, &login.password, source).await? {
        Some((principal, cookie)) => {
            Ok(([(SET_COOKIE, cookie)], Json(whoami(&principal))).into_response())
        }
        None => Err(ApiError(
            StatusCode::UNAUTHORIZED,
            "wrong user name or password, or the account is locked or disabled".into(),
        )),
    }
}

/// `GET /api/v1/session`: who is signed in, with the CSRF token for changes.
pub(super) async fn current(caller: Caller) -> Json<serde_json::Value> {
    Json(whoami(&caller.principal))
}

/// `DELETE /api/v1/session`: sign out.
pub(super) async fn sign_out(
    State(state): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let cookie = close_session(&state, &headers, &caller.principal, caller.source.clone()).await?;
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, cookie)]).into_response())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE,
            HeaderValue::from_static("theme=dark; tw_session=abc"),
        );
        headers.append(COOKIE, HeaderValue::from_static("other=1"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "other"), Some("1"));
        assert_eq!(cookie(&headers, "tw"), None);
        assert_eq!(cookie(&HeaderMap::new(), SESSION_COOKIE), None);
    }

    #[test]
    fn the_cookie_is_kept_from_scripts_and_other_sites() {
        let set = session_cookie(Some("v"), true);
        for part in [
            "tw_session=v",
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Max-Age=43200",
        ] {
            assert!(set.contains(part), "{set}");
        }
        assert!(!session_cookie(Some("v"), false).contains("Secure"));
        assert!(session_cookie(None, true).contains("Max-Age=0"));
    }

    #[test]
    fn only_the_session_s_own_csrf_token_passes() {
        assert!(csrf_matches(Some("t0k"), Some(b"t0k")));
        assert!(!csrf_matches(Some("t0k"), Some(b"t0K")));
        assert!(!csrf_matches(Some("t0k"), Some(b"")));
        assert!(!csrf_matches(Some("t0k"), None));
        assert!(!csrf_matches(None, Some(b"t0k")));
    }
}
