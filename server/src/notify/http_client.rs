//! The HTTP client of the webhook and Alertmanager channels.

use std::path::Path;
use std::time::Duration;

use super::{DeliveryError, SetupError};

/// A client with `timeout` per request that trusts the built-in (Mozilla) roots and, when
/// given, the PEM certificates of `ca_file`.
pub(super) fn client(
    channel: &str,
    timeout: Duration,
    ca_file: Option<&Path>,
) -> Result<reqwest::Client, SetupError> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("tokenwatch-server/", env!("CARGO_PKG_VERSION")))
        // A notification endpoint that redirects elsewhere is misconfigured, and following it
        // would hand the signed payload to whoever it names.
        .redirect(reqwest::redirect::Policy::none());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|source| SetupError::Read {
            channel: channel.to_owned(),
            path: path.to_owned(),
            source,
        })?;
        let certificates =
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|error| SetupError::Invalid {
                channel: channel.to_owned(),
                message: format!("{}: {error}", path.display()),
            })?;
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
    }
    builder.build().map_err(|error| SetupError::Invalid {
        channel: channel.to_owned(),
        message: error.to_string(),
    })
}

/// Send `request` and turn anything but a 2xx answer into a [`DeliveryError`] naming `target`.
pub(super) async fn send(
    target: &str,
    request: reqwest::RequestBuilder,
) -> Result<reqwest::Response, DeliveryError> {
    let response = request
        .send()
        .await
        .map_err(|error| DeliveryError::Unreachable {
            target: target.to_owned(),
            message: error_chain(&error),
        })?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    let body: String = body.chars().take(300).collect();
    Err(DeliveryError::Refused {
        target: target.to_owned(),
        message: format!("HTTP {status}: {}", body.trim()),
        // Timeouts, rate limits and server errors pass; other client errors stay.
        permanent: status.is_client_error()
            && status != reqwest::StatusCode::REQUEST_TIMEOUT
            && status != reqwest::StatusCode::TOO_MANY_REQUESTS,
    })
}

/// An error with its causes, which reqwest keeps in `source()` (connection refused, TLS).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        out.push_str(": ");
        out.push_str(&inner.to_string());
        cause = inner.source();
    }
    out
}
