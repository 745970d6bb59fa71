//! E-mail digests over SMTP. (Being written: the placeholder refuses every message.)

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{DeliveryError, Notification, SetupError};
use crate::config::EmailChannel;

#[derive(Debug)]
pub struct Email {}

impl Email {
    pub fn new(
        _name: &str,
        _config: &EmailChannel,
        _timeout: Duration,
    ) -> Result<Self, SetupError> {
        Ok(Self {})
    }

    pub async fn send(
        &self,
        _batch: &[Notification],
        _now: DateTime<Utc>,
    ) -> Result<(), DeliveryError> {
        Err(DeliveryError::Build("email: not written yet".to_owned()))
    }
}
