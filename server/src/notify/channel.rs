//! The configured channels, each of one kind, behind one type the deliverer drives.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tokenwatch_inventory::findings::Severity;

use super::alertmanager::Alertmanager;
use super::email::Email;
use super::webhook::Webhook;
use super::{Alert, DeliveryError, Notification, SetupError};
use crate::config::{NotifyConfig, Route};

/// One channel: its name, route and kind.
#[derive(Debug)]
pub struct Channel {
    name: String,
    route: Route,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Webhook(Webhook),
    Alertmanager(Alertmanager),
    Email(Email),
}

/// Every configured channel, in name order.
#[derive(Debug, Default)]
pub struct Channels(Vec<Channel>);

// === impl Channels ===

impl Channels {
    /// Set up every channel of `config`, reading their secret files.
    pub fn from_config(config: &NotifyConfig) -> Result<Self, SetupError> {
        let timeout = config.timeout.get();
        let mut out = Vec::new();
        for (name, hook) in &config.webhook {
            let kind = Kind::Webhook(Webhook::new(name, hook, timeout)?);
            out.push(Channel::new(name, &hook.route, kind));
        }
        for (name, manager) in &config.alertmanager {
            let kind = Kind::Alertmanager(Alertmanager::new(name, manager, timeout)?);
            out.push(Channel::new(name, &manager.route, kind));
        }
        for (name, mail) in &config.email {
            let kind = Kind::Email(Email::new(name, mail, timeout)?);
            out.push(Channel::new(name, &mail.route, kind));
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Self(out))
    }

    /// The channel called `name`.
    pub fn get(&self, name: &str) -> Option<&Channel> {
        self.0.iter().find(|channel| channel.name == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Channel> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

// === impl Channel ===

impl Channel {
    fn new(name: &str, route: &Route, kind: Kind) -> Self {
        Self {
            name: name.to_owned(),
            route: route.clone(),
            kind,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this channel takes a notification of `severity` about hosts in `offices`.
    pub fn takes(&self, severity: Severity, offices: &[String]) -> bool {
        let least = self.route.min_severity.unwrap_or(Severity::Warning);
        severity >= least
            && (self.route.offices.is_empty()
                || offices
                    .iter()
                    .any(|office| self.route.offices.contains(office)))
    }

    /// How many due notifications one [`Channel::send`] takes: e-mail makes one digest of all,
    /// Alertmanager one request for many, a webhook one request each.
    pub fn batch_size(&self) -> usize {
        match self.kind {
            Kind::Webhook(_) => 1,
            Kind::Alertmanager(_) => 500,
            Kind::Email(_) => 200,
        }
    }

    /// Deliver `batch` (at most [`Channel::batch_size`], oldest first): all or nothing.
    pub async fn send(
        &self,
        batch: &[Notification],
        now: DateTime<Utc>,
    ) -> Result<(), DeliveryError> {
        match &self.kind {
            Kind::Webhook(hook) => {
                for notification in batch {
                    hook.send(notification, now).await?;
                }
                Ok(())
            }
            Kind::Alertmanager(manager) => manager.send(batch, now).await,
            Kind::Email(mail) => mail.send(batch, now).await,
        }
    }

    /// Before sending: read what the channel holds from the database where that matters
    /// (Alertmanager's label sets), unless known.
    pub async fn recall(&self, db: &mut PgConnection) -> Result<(), sqlx::Error> {
        match &self.kind {
            Kind::Alertmanager(manager) => manager.recall(db).await,
            Kind::Webhook(_) | Kind::Email(_) => Ok(()),
        }
    }

    /// After a successful send: store what the channel now holds (see
    /// [`Channel::recall`]).
    pub async fn remember(&self, db: &mut PgConnection) -> Result<(), sqlx::Error> {
        match &self.kind {
            Kind::Alertmanager(manager) => manager.remember(db).await,
            Kind::Webhook(_) | Kind::Email(_) => Ok(()),
        }
    }

    /// Another process may have delivered: read again before the next send.
    pub async fn forget(&self) {
        if let Kind::Alertmanager(manager) = &self.kind {
            manager.forget().await;
        }
    }

    /// How often the alerts this channel was told about are told again while they fire
    /// (Alertmanager forgets alerts not re-posted); `None` for channels told once.
    pub fn resend_interval(&self) -> Option<Duration> {
        match &self.kind {
            Kind::Alertmanager(manager) => Some(manager.resend_interval()),
            Kind::Webhook(_) | Kind::Email(_) => None,
        }
    }

    /// Tell again about the firing alerts this channel was told about (see
    /// [`Channel::resend_interval`]).
    pub async fn resend(&self, firing: &[Alert], now: DateTime<Utc>) -> Result<(), DeliveryError> {
        match &self.kind {
            Kind::Alertmanager(manager) => manager.resend(firing, now).await,
            Kind::Webhook(_) | Kind::Email(_) => Ok(()),
        }
    }
}
