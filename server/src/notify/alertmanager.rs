//! Alertmanager: tokenwatch's alerts posted to its v2 API (`POST {url}/api/v2/alerts`), which
//! then groups, routes, silences and repeats them as its own configuration says.
//!
//! Alertmanager holds an alert as long as its clients keep posting it. This channel mirrors
//! tokenwatch's alerts rather than relaying events: every post carries an alert as it stands
//! now (labels and annotations in [`payload`]). A firing alert is posted with `endsAt` three
//! resend intervals ahead and re-posted every interval ([`Alertmanager::resend`]), so that
//! Alertmanager resolves it by itself should tokenwatch stop; a resolved one is posted with
//! `endsAt` at its resolution. Hence each kind of notification is the same act:
//!
//! - fired, escalated: post the alert. An escalation changes the `severity` label, which for
//!   Alertmanager is another alert: the label set posted before is posted again, ended.
//! - repeat: post it again. Alertmanager decides by its own `repeat_interval` whether people are
//!   told again; it deduplicates what it already sent.
//! - resolved: post it ended.
//! - acknowledgement (no notification of its own): the next post carries an `acknowledged`
//!   annotation. Annotations do not identify an alert, so it stays one alert; muting it in
//!   Alertmanager is what its silences are for (e.g. on `tokenwatch_key`).
//!
//! The label set each alert was last posted under is remembered ([`payload::Held`]), which is
//! how a changed set (escalation, a new rule, hosts that come or go, which only the next
//! re-post carries) gets its old one ended. It is kept in memory and stored
//! (`alertmanager_posts`, [`posts`]): the deliverer reads it before the first post of a process
//! that has just taken delivery over ([`Alertmanager::recall`]) and stores what changed after
//! each post ([`Alertmanager::remember`]), so a set that changed while the server was down is
//! ended too. Alerts that stop firing without a resolution reaching this channel (a silence in
//! tokenwatch mutes resolutions too) are ended by the next re-post.

pub mod payload;
mod posts;

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tokio::sync::Mutex;

use self::payload::{Held, Scope};
use super::{Alert, DeliveryError, Notification, SetupError, http_client, secret};
use crate::config::AlertmanagerChannel;

/// A firing alert is posted to end after this many resend intervals: one missed re-post (a
/// slow round, a brief outage) must not resolve it, nor a second.
const HOLD_INTERVALS: u32 = 3;

/// The longest hold: a resend interval of absurd length must still make a date Alertmanager
/// can read.
const HOLD_MAX: chrono::Duration = chrono::Duration::days(366);

/// A configured Alertmanager.
#[derive(Debug)]
pub struct Alertmanager {
    name: String,
    /// `{url}/api/v2/alerts`.
    endpoint: String,
    resend_interval: Duration,
    token: Option<Token>,
    client: reqwest::Client,
    /// Locked for a whole post, so that what is remembered is what Alertmanager took.
    memory: Mutex<Memory>,
}

/// What Alertmanager holds from this channel.
#[derive(Debug, Default)]
struct Memory {
    /// As far as this process knows.
    held: Held,
    /// As stored; `None` until read (another process may have posted since this one last did).
    stored: Option<Held>,
}

/// The bearer token; not printed by `Debug`.
struct Token(String);

// === impl Alertmanager ===

impl Alertmanager {
    /// Set up the channel `name`, reading its token file.
    pub fn new(
        name: &str,
        config: &AlertmanagerChannel,
        timeout: Duration,
    ) -> Result<Self, SetupError> {
        let token = match &config.bearer_token_file {
            Some(path) => Some(Token(secret::read(name, path)?)),
            None => None,
        };
        Ok(Self {
            name: name.to_owned(),
            endpoint: endpoint(&config.url),
            resend_interval: config.resend_interval.get(),
            token,
            client: http_client::client(name, timeout, config.ca_file.as_deref())?,
            memory: Mutex::new(Memory::default()),
        })
    }

    /// Read what this channel posted from the database, unless this process knows it already.
    pub async fn recall(&self, db: &mut PgConnection) -> Result<(), sqlx::Error> {
        let mut memory = self.memory.lock().await;
        if memory.stored.is_none() {
            let stored = posts::load(db, &self.name).await?;
            memory.held = stored.clone();
            memory.stored = Some(stored);
        }
        Ok(())
    }

    /// Store what the posts since the last [`Alertmanager::recall`] or `remember` changed.
    pub async fn remember(&self, db: &mut PgConnection) -> Result<(), sqlx::Error> {
        let mut memory = self.memory.lock().await;
        let Memory { held, stored } = &mut *memory;
        if let Some(stored) = stored {
            if posts::save(db, &self.name, stored, held).await? {
                *stored = held.clone();
            }
        }
        Ok(())
    }

    /// Forget what was read: another process may post before this one does again.
    pub async fn forget(&self) {
        self.memory.lock().await.stored = None;
    }

    /// How often firing alerts are posted again.
    pub fn resend_interval(&self) -> Duration {
        self.resend_interval
    }

    /// Post the alerts of `batch` as they stand now, each once: one request, all or nothing.
    pub async fn send(
        &self,
        batch: &[Notification],
        now: DateTime<Utc>,
    ) -> Result<(), DeliveryError> {
        self.post(batch.iter().map(|n| &n.alert), Scope::Some, now)
            .await
    }

    /// Post again every firing alert this channel was told about (`firing`, all of them), and
    /// end any other it still holds.
    pub async fn resend(&self, firing: &[Alert], now: DateTime<Utc>) -> Result<(), DeliveryError> {
        self.post(firing, Scope::Every, now).await
    }

    async fn post<'a>(
        &self,
        alerts: impl IntoIterator<Item = &'a Alert>,
        scope: Scope,
        now: DateTime<Utc>,
    ) -> Result<(), DeliveryError> {
        let mut memory = self.memory.lock().await;
        let sync = memory.held.sync(alerts, scope, now, self.hold());
        if !sync.alerts.is_empty() {
            let body = serde_json::to_vec(&sync.alerts)
                .map_err(|error| DeliveryError::Build(error.to_string()))?;
            let mut request = self
                .client
                .post(&self.endpoint)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
            if let Some(token) = &self.token {
                request = request.bearer_auth(&token.0);
            }
            http_client::send(&format!("alertmanager {}", self.name), request).await?;
        }
        memory.held = sync.held;
        Ok(())
    }

    fn hold(&self) -> chrono::Duration {
        self.resend_interval
            .checked_mul(HOLD_INTERVALS)
            .and_then(|hold| chrono::Duration::from_std(hold).ok())
            .map_or(HOLD_MAX, |hold| hold.min(HOLD_MAX))
    }
}

/// The alerts endpoint under the base URL `url`, with or without its trailing slash.
fn endpoint(url: &str) -> String {
    format!("{}/api/v2/alerts", url.trim_end_matches('/'))
}

// === impl Token ===

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_takes_a_base_url_with_or_without_its_slash() {
        assert_eq!(endpoint("http://am:9093"), "http://am:9093/api/v2/alerts");
        assert_eq!(
            endpoint("http://am:9093/prefix/"),
            "http://am:9093/prefix/api/v2/alerts"
        );
    }
}
