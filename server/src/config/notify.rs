//! `[notify]`: where alert notifications go. Each channel has a name (unique across kinds),
//! its kind's settings and a route saying which offices and severities it takes.
//!
//! ```toml
//! [notify.webhook.helpdesk]
//! url = "https://helpdesk.example/hooks/tokenwatch"
//! secret_file = "/etc/tokenwatch/webhook.secret"
//! route = { offices = ["Moscow"], min_severity = "critical" }
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tokenwatch_inventory::findings::Severity;

use super::Span;

/// `[notify]`
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// How often queued notifications are routed and due deliveries attempted.
    pub delivery_interval: Span,
    /// The first retry of a failed delivery waits this long; each further one twice as long...
    pub retry_initial: Span,
    /// ...up to this.
    pub retry_max: Span,
    /// A delivery still failing this long after it was queued is abandoned (and counted).
    pub give_up_after: Span,
    /// Timeout of one request to a channel (HTTP request, SMTP session).
    pub timeout: Span,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub webhook: BTreeMap<String, WebhookChannel>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub alertmanager: BTreeMap<String, AlertmanagerChannel>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub email: BTreeMap<String, EmailChannel>,
}

/// Which notifications a channel takes.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Route {
    /// Office names; empty takes every office. An alert whose hosts are in several offices goes
    /// to a channel that takes any of them.
    pub offices: Vec<String>,
    /// The least severity taken; `warning` (the default) takes everything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_severity: Option<Severity>,
}

/// `[notify.webhook.NAME]`: one JSON POST per notification.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookChannel {
    pub url: String,
    /// `tokenwatch` (the versioned schema, signed), `slack` (Slack and Mattermost incoming
    /// webhooks) or `telegram` (Bot API `sendMessage`; `url` ends in `/sendMessage`).
    #[serde(default)]
    pub format: WebhookFormat,
    /// A file holding the HMAC-SHA256 key of the `X-Tokenwatch-Signature` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<PathBuf>,
    /// The language of the `slack` and `telegram` texts: `ru` (default) or `en`.
    #[serde(default)]
    pub language: Language,
    /// Telegram's `chat_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
    /// PEM CA certificates to trust besides the built-in (Mozilla) roots, e.g. an internal CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub route: Route,
}

/// The body a webhook gets.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    #[default]
    Tokenwatch,
    Slack,
    Telegram,
}

/// `[notify.alertmanager.NAME]`: Alertmanager's v2 API.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerChannel {
    /// The base URL, e.g. `http://alertmanager:9093`; alerts go to `{url}/api/v2/alerts`.
    pub url: String,
    /// Firing alerts are posted again this often, as Alertmanager expects of its clients; each
    /// post says they end after three such periods unless posted again.
    #[serde(default = "AlertmanagerChannel::default_resend")]
    pub resend_interval: Span,
    /// A file holding a bearer token, when Alertmanager sits behind an authenticating proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub route: Route,
}

/// `[notify.email.NAME]`: one digest per delivery round to a group of recipients.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmailChannel {
    /// The SMTP server, `host` or `host:port` (default port 587, or 465 with `tls`).
    pub smtp: String,
    /// `starttls` (default: required, never falls back to plain), `tls` (implicit TLS, port
    /// 465) or `none` (a local relay only).
    #[serde(default)]
    pub security: SmtpSecurity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// A file holding the SMTP password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    /// PEM CA certificates to trust besides the built-in (Mozilla) roots, e.g. an internal CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    pub from: String,
    pub to: Vec<String>,
    /// `ru` or `en`.
    #[serde(default)]
    pub language: Language,
    #[serde(default)]
    pub route: Route,
}

/// How the SMTP connection is protected.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    #[default]
    Starttls,
    Tls,
    None,
}

/// The language of messages meant for people.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    Ru,
    En,
}

// === impl NotifyConfig ===

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            delivery_interval: Span::from_secs(10),
            retry_initial: Span::from_secs(30),
            retry_max: Span::from_secs(3600),
            give_up_after: Span::from_secs(3 * 86_400),
            timeout: Span::from_secs(30),
            webhook: BTreeMap::new(),
            alertmanager: BTreeMap::new(),
            email: BTreeMap::new(),
        }
    }
}

impl NotifyConfig {
    /// Every channel's name, kind and route, in name order.
    pub fn routes(&self) -> impl Iterator<Item = (&str, &'static str, &Route)> {
        let webhooks = self
            .webhook
            .iter()
            .map(|(n, c)| (n.as_str(), "webhook", &c.route));
        let managers = self
            .alertmanager
            .iter()
            .map(|(n, c)| (n.as_str(), "alertmanager", &c.route));
        let mails = self
            .email
            .iter()
            .map(|(n, c)| (n.as_str(), "email", &c.route));
        webhooks.chain(managers).chain(mails)
    }

    /// What serde cannot check: unique names, usable addresses.
    pub fn validate(&self) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for (name, kind, _) in self.routes() {
            if name.is_empty() || !seen.insert(name) {
                return Err(format!(
                    "notify.{kind}.{name:?}: channel names must be non-empty and unique"
                ));
            }
        }
        for (name, hook) in &self.webhook {
            if !hook.url.starts_with("https://") && !hook.url.starts_with("http://") {
                return Err(format!("notify.webhook.{name}.url must be an http(s) URL"));
            }
            if hook.format == WebhookFormat::Telegram && hook.chat_id.is_none() {
                return Err(format!(
                    "notify.webhook.{name}: the telegram format needs chat_id"
                ));
            }
        }
        for (name, manager) in &self.alertmanager {
            if !manager.url.starts_with("https://") && !manager.url.starts_with("http://") {
                return Err(format!(
                    "notify.alertmanager.{name}.url must be an http(s) URL"
                ));
            }
            if manager.resend_interval.get().is_zero() {
                return Err(format!(
                    "notify.alertmanager.{name}.resend_interval must be positive"
                ));
            }
        }
        for (name, mail) in &self.email {
            if mail.to.is_empty() {
                return Err(format!(
                    "notify.email.{name}.to needs at least one recipient"
                ));
            }
            if mail.password_file.is_some() && mail.username.is_none() {
                return Err(format!("notify.email.{name}: password_file needs username"));
            }
        }
        for (name, span) in [
            ("notify.delivery_interval", self.delivery_interval),
            ("notify.retry_initial", self.retry_initial),
            ("notify.timeout", self.timeout),
        ] {
            if span.get().is_zero() {
                return Err(format!("{name} must be positive"));
            }
        }
        if self.retry_max < self.retry_initial {
            return Err("notify.retry_max must not be less than notify.retry_initial".to_owned());
        }
        Ok(())
    }
}

// === impl AlertmanagerChannel ===

impl AlertmanagerChannel {
    fn default_resend() -> Span {
        Span::from_secs(60)
    }
}
