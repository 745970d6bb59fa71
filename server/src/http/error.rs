//! The API's error answers: a status and a short message as JSON, never database text.

use axum::Json;
use axum::http::StatusCode;
use axum::http::header::WWW_AUTHENTICATE;
use axum::response::{IntoResponse, Response};

use crate::alerts::ManageError;

/// An error answer.
#[derive(Debug)]
pub(super) struct ApiError(pub(super) StatusCode, pub(super) String);

// === impl ApiError ===

impl ApiError {
    pub(super) fn unauthorized() -> Self {
        Self(
            StatusCode::UNAUTHORIZED,
            "sign in, or give a valid bearer token".into(),
        )
    }

    pub(super) fn forbidden(why: &str) -> Self {
        Self(StatusCode::FORBIDDEN, why.into())
    }

    pub(super) fn bad_request(why: &str) -> Self {
        Self(StatusCode::BAD_REQUEST, why.into())
    }

    pub(super) fn not_found(what: &str) -> Self {
        Self(StatusCode::NOT_FOUND, what.into())
    }

    pub(super) fn invalid(why: impl Into<String>) -> Self {
        Self(StatusCode::UNPROCESSABLE_ENTITY, why.into())
    }
}

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
