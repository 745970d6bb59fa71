//! Webhooks: one JSON POST per notification.
//!
//! The `tokenwatch` format is a versioned schema (`tokenwatch.notification.v1`, documented in
//! `docs/webhook.md`): fields are only ever added within a version. With a secret, each request
//! carries `X-Tokenwatch-Timestamp` (Unix seconds) and `X-Tokenwatch-Signature:
//! sha256=<hex>`, the HMAC-SHA256 of `<timestamp>.<body>` under the secret, so that a receiver
//! can check both origin and freshness. `X-Tokenwatch-Delivery` is the notification id, the
//! same on every retry.
//!
//! The `slack` (Slack and Mattermost incoming webhooks) and `telegram` (Bot API `sendMessage`)
//! formats send the same notification as a short text for people.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use super::{DeliveryError, Notification, SetupError, http_client, secret, text};
use crate::config::{Language, WebhookChannel, WebhookFormat};

/// The schema name of the `tokenwatch` format.
pub const SCHEMA: &str = "tokenwatch.notification.v1";

/// A configured webhook.
#[derive(Debug)]
pub struct Webhook {
    name: String,
    url: String,
    format: WebhookFormat,
    chat_id: Option<String>,
    language: Language,
    secret: Option<Secret>,
    client: reqwest::Client,
}

/// The HMAC key; not printed by `Debug`.
struct Secret(Vec<u8>);

/// The body of the `tokenwatch` format.
#[derive(Debug, Serialize)]
pub struct Payload<'a> {
    pub schema: &'static str,
    #[serde(flatten)]
    pub notification: &'a Notification,
}

// === impl Webhook ===

impl Webhook {
    /// Set up the channel `name`, reading its secret file.
    pub fn new(name: &str, config: &WebhookChannel, timeout: Duration) -> Result<Self, SetupError> {
        let secret = match &config.secret_file {
            Some(path) => Some(Secret(secret::read(name, path)?.into_bytes())),
            None => None,
        };
        Ok(Self {
            name: name.to_owned(),
            url: config.url.clone(),
            format: config.format,
            chat_id: config.chat_id.clone(),
            language: config.language,
            secret,
            client: http_client::client(name, timeout, config.ca_file.as_deref())?,
        })
    }

    /// POST one notification.
    pub async fn send(
        &self,
        notification: &Notification,
        now: DateTime<Utc>,
    ) -> Result<(), DeliveryError> {
        let body = self.body(notification)?;
        let mut request = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Tokenwatch-Event", notification.kind.as_str())
            .header("X-Tokenwatch-Delivery", notification.id.to_string());
        if let Some(secret) = &self.secret {
            let timestamp = now.timestamp().to_string();
            request = request
                .header("X-Tokenwatch-Timestamp", &timestamp)
                .header("X-Tokenwatch-Signature", sign(&secret.0, &timestamp, &body));
        }
        let target = format!("webhook {}", self.name);
        http_client::send(&target, request.body(body)).await?;
        Ok(())
    }

    fn body(&self, notification: &Notification) -> Result<Vec<u8>, DeliveryError> {
        let json = match self.format {
            WebhookFormat::Tokenwatch => serde_json::to_vec(&Payload {
                schema: SCHEMA,
                notification,
            }),
            WebhookFormat::Slack => serde_json::to_vec(&serde_json::json!({
                "text": text::message(notification, self.language),
            })),
            WebhookFormat::Telegram => serde_json::to_vec(&serde_json::json!({
                "chat_id": self.chat_id,
                "text": text::message(notification, self.language),
                "disable_web_page_preview": true,
            })),
        };
        json.map_err(|error| DeliveryError::Build(error.to_string()))
    }
}

/// `sha256=<hex>` of HMAC-SHA256(`key`, `<timestamp>.<body>`).
pub fn sign(key: &[u8], timestamp: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

// === impl Secret ===

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}
