//! Alertmanager's v2 API. (Being written: the placeholder refuses every message.)

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Alert, DeliveryError, Notification, SetupError};
use crate::config::AlertmanagerChannel;

#[derive(Debug)]
pub struct Alertmanager {
    resend_interval: Duration,
}

impl Alertmanager {
    pub fn new(
        _name: &str,
        config: &AlertmanagerChannel,
        _timeout: Duration,
    ) -> Result<Self, SetupError> {
        Ok(Self {
            resend_interval: config.resend_interval.get(),
        })
    }

    pub fn resend_interval(&self) -> Duration {
        self.resend_interval
    }

    pub async fn send(
        &self,
        _batch: &[Notification],
        _now: DateTime<Utc>,
    ) -> Result<(), DeliveryError> {
        Err(DeliveryError::Build(
            "alertmanager: not written yet".to_owned(),
        ))
    }

    pub async fn resend(
        &self,
        _firing: &[Alert],
        _now: DateTime<Utc>,
    ) -> Result<(), DeliveryError> {
        Err(DeliveryError::Build(
            "alertmanager: not written yet".to_owned(),
        ))
    }
}
