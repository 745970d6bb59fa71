//! Delivering alert notifications: routing the evaluator's outbox (`alert_notifications`) to
//! the configured channels and sending each channel its share, with retries.
//!
//! The evaluator queues a notification in the same transaction as the alert change that causes
//! it; [`outbox::route`] fans every new one out into a delivery per channel whose route takes
//! it; [`Deliverer`] sends what is due, one process at a time (a PostgreSQL advisory lock), and
//! records the result per delivery, so a restart neither loses nor repeats what was sent. A
//! crash between a channel accepting a message and the row being marked sends that message once
//! more: each message carries the notification's id for receivers that deduplicate.
//!
//! Channels: [`webhook`] (one signed JSON POST per notification; Slack/Mattermost and Telegram
//! variants), [`alertmanager`] (its v2 API, re-posting firing alerts as it expects) and
//! [`email`] (one digest per recipient group, Russian or English).

pub mod alertmanager;
mod channel;
mod deliverer;
pub mod email;
mod http_client;
pub mod outbox;
mod secret;
mod status;
pub(crate) mod text;
pub mod webhook;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokenwatch_inventory::findings::Severity;
use uuid::Uuid;

pub use channel::{Channel, Channels};
pub use deliverer::{Deliverer, Round};
pub use status::{ChannelStatus, channel_status, send_test};

/// Why a channel could not take a message. Retried with backoff unless `permanent`.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("cannot reach {target}: {message}")]
    Unreachable { target: String, message: String },
    #[error("{target} refused the message: {message}")]
    Refused {
        target: String,
        message: String,
        /// Retrying the same message cannot help (a 4xx other than 408/429, a bad address).
        permanent: bool,
    },
    #[error("cannot build the message: {0}")]
    Build(String),
}

/// Why a channel could not be set up from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("notify.{channel}: cannot read {path}: {source}")]
    Read {
        channel: String,
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("notify.{channel}: {message}")]
    Invalid { channel: String, message: String },
}

/// What happened to an alert that someone is told about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Fired,
    Escalated,
    /// An unacknowledged critical alert, told again after the repeat interval.
    Repeat,
    Resolved,
}

/// One notification as channels render it: what happened, to which alert, as it stands now.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Notification {
    /// The `alert_notifications` row: unique, stable across retries.
    pub id: i64,
    pub kind: Kind,
    /// The alert's severity when the notification was queued.
    pub severity: Severity,
    pub created_at: DateTime<Utc>,
    pub alert: Alert,
}

/// An alert as notifications show it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    pub id: i64,
    /// Stable identity of the problem (`certificate:<sha256>`, `agent.silent:<id>`, …).
    pub key: String,
    /// The rule or finding code (`certificate.expiring`, `agent.silent`, …).
    pub rule: String,
    pub severity: Severity,
    pub firing: bool,
    /// The office, when all its hosts are in one.
    pub office: Option<String>,
    pub subject: String,
    pub summary: String,
    pub remediation: String,
    pub started_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub acknowledged: Option<Acknowledgement>,
    /// Ordered by host name.
    pub hosts: Vec<Host>,
    /// The certificate the alert is about, for certificate and private-key alerts.
    pub certificate: Option<CertificateRef>,
}

/// Who took an alert on.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Acknowledgement {
    pub at: DateTime<Utc>,
    pub by: String,
    pub comment: String,
}

/// A host an alert lists.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Host {
    pub agent_id: Uuid,
    pub hostname: String,
    pub office: String,
}

/// The certificate of a certificate or private-key alert.
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct CertificateRef {
    pub sha256: String,
    pub sha1: String,
    pub subject_cn: Option<String>,
    pub issuer_cn: Option<String>,
    pub not_after: Option<DateTime<Utc>>,
    pub private_key_not_after: Option<DateTime<Utc>>,
}

// === impl DeliveryError ===

impl DeliveryError {
    /// Whether retrying the same message later cannot succeed.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Refused { permanent, .. } => *permanent,
            Self::Build(_) => true,
            Self::Unreachable { .. } => false,
        }
    }
}

// === impl Kind ===

impl Kind {
    /// The stored name (`alert_notifications.kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fired => "fired",
            Self::Escalated => "escalated",
            Self::Repeat => "repeat",
            Self::Resolved => "resolved",
        }
    }

    /// The stored name back; `None` for a name this version does not know.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "fired" => Self::Fired,
            "escalated" => Self::Escalated,
            "repeat" => Self::Repeat,
            "resolved" => Self::Resolved,
            _ => return None,
        })
    }
}

/// A notification to try a channel with (`notify test`): a made-up certificate alert that says
/// it is a test in its subject and summary.
pub fn test_notification(now: DateTime<Utc>) -> Notification {
    Notification {
        id: 0,
        kind: Kind::Fired,
        severity: Severity::Warning,
        created_at: now,
        alert: Alert {
            id: 0,
            key: "test".to_owned(),
            rule: "notify.test".to_owned(),
            severity: Severity::Warning,
            firing: true,
            office: None,
            subject: "tokenwatch test notification".to_owned(),
            summary: "This is a test of the notification channel; nothing needs doing.".to_owned(),
            remediation: "None: the channel works if you can read this.".to_owned(),
            started_at: now,
            resolved_at: None,
            acknowledged: None,
            hosts: Vec::new(),
            certificate: None,
        },
    }
}
