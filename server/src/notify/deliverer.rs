//! The delivery loop: one server process at a time routes queued notifications and sends each
//! channel what is due, in order, recording every outcome.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::outbox::{self, Retry};
use super::{Channel, Channels};
use crate::lease::{Lease, Ticks};
use crate::metrics::Metrics;

/// The advisory lock key of the deliverer ("tokenwatch notify", as bytes).
const LOCK_KEY: i64 = 0x746b_6e77_6e6f_7479;

/// What one round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// Notifications handed to their channels.
    pub routed: usize,
    /// Deliveries a channel took.
    pub sent: usize,
    /// Deliveries that failed and will be retried.
    pub failed: usize,
    /// Deliveries given up on.
    pub abandoned: usize,
    /// Channels told again about their firing alerts.
    pub resent: usize,
}

/// Sends notifications while it holds the deliverer lock.
#[derive(Debug)]
pub struct Deliverer {
    lease: Lease,
    channels: Arc<Channels>,
    retry: Retry,
    metrics: Arc<Metrics>,
    /// When each re-posting channel was last told about its firing alerts.
    resent_at: HashMap<String, DateTime<Utc>>,
}

// === impl Deliverer ===

impl Deliverer {
    pub fn new(pool: PgPool, channels: Arc<Channels>, retry: Retry, metrics: Arc<Metrics>) -> Self {
        Self {
            lease: Lease::new(pool, LOCK_KEY, "notification delivery"),
            channels,
            retry,
            metrics,
            resent_at: HashMap::new(),
        }
    }

    /// Take the lock if free and, holding it, do one round at `now`. `None`: another process
    /// delivers. A database error gives the lock up with its connection.
    pub async fn step(&mut self, now: DateTime<Utc>) -> Result<Option<Round>, sqlx::Error> {
        let Some(mut held) = self.lease.take().await? else {
            return Ok(None);
        };
        if held.newly {
            // Whoever delivered before may have re-posted long ago, and changed what channels
            // hold.
            self.resent_at.clear();
            for channel in self.channels.iter() {
                channel.forget().await;
            }
        }
        let round = self.round(&mut held.db, now).await;
        self.lease.settle(held.db, round).await.map(Some)
    }

    async fn round(
        &mut self,
        db: &mut PgConnection,
        now: DateTime<Utc>,
    ) -> Result<Round, sqlx::Error> {
        let mut round = Round {
            routed: outbox::route(db, &self.channels, now).await?,
            ..Round::default()
        };
        let channels = Arc::clone(&self.channels);
        for channel in channels.iter() {
            self.drain(db, channel, now, &mut round).await?;
            self.resend(db, channel, now, &mut round).await?;
        }
        Ok(round)
    }

    /// Send `channel` everything due, batch by batch, stopping at its first failure.
    async fn drain(
        &self,
        db: &mut PgConnection,
        channel: &Channel,
        now: DateTime<Utc>,
        round: &mut Round,
    ) -> Result<(), sqlx::Error> {
        loop {
            let ids = outbox::due(db, channel.name(), channel.batch_size(), now).await?;
            if ids.is_empty() {
                return Ok(());
            }
            let batch = outbox::notifications(db, &ids).await?;
            channel.recall(db).await?;
            match channel.send(&batch, now).await {
                Ok(()) => {
                    channel.remember(db).await?;
                    outbox::delivered(db, channel.name(), &ids, now).await?;
                    round.sent += ids.len();
                    self.metrics
                        .count_notifications(channel.name(), "sent", ids.len());
                }
                Err(error) => {
                    let failed =
                        outbox::failed(db, channel.name(), &ids, &error, self.retry, now).await?;
                    tracing::warn!(
                        message = "Notification delivery failed.",
                        channel = channel.name(),
                        notifications = ids.len(),
                        abandoned = failed.abandoned,
                        %error,
                    );
                    round.failed += failed.retried;
                    round.abandoned += failed.abandoned;
                    self.metrics
                        .count_notifications(channel.name(), "failed", failed.retried);
                    self.metrics
                        .count_notifications(channel.name(), "abandoned", failed.abandoned);
                    // The channel is down: the rest waits its turn behind the oldest. Unless that
                    // batch is out of the way (refused for good, or too old to send): the
                    // next one gets its own chance.
                    if failed.abandoned == 0 {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Re-post `channel`'s firing alerts when its resend interval has passed.
    async fn resend(
        &mut self,
        db: &mut PgConnection,
        channel: &Channel,
        now: DateTime<Utc>,
        round: &mut Round,
    ) -> Result<(), sqlx::Error> {
        let Some(interval) = channel.resend_interval() else {
            return Ok(());
        };
        let interval = chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::MAX);
        if self
            .resent_at
            .get(channel.name())
            .is_some_and(|at| now - *at < interval)
        {
            return Ok(());
        }
        let firing = outbox::told_firing(db, channel.name()).await?;
        channel.recall(db).await?;
        match channel.resend(&firing, now).await {
            Ok(()) => {
                channel.remember(db).await?;
                self.resent_at.insert(channel.name().to_owned(), now);
                if !firing.is_empty() {
                    outbox::succeeded(db, channel.name(), now).await?;
                    round.resent += 1;
                }
            }
            Err(error) => {
                tracing::warn!(message = "Re-posting firing alerts failed.", channel = channel.name(), %error);
                outbox::channel_failed(db, channel.name(), &error.to_string(), now).await?;
            }
        }
        Ok(())
    }

    /// A round every `interval` until `stopped` turns true, then give the lock up.
    pub async fn run(
        mut self,
        interval: std::time::Duration,
        stopped: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut ticks = Ticks::new(interval, stopped);
        while ticks.next().await {
            match self.step(Utc::now()).await {
                Ok(Some(round)) if round != Round::default() => {
                    tracing::info!(
                        message = "Notifications delivered.",
                        routed = round.routed,
                        sent = round.sent,
                        failed = round.failed,
                        abandoned = round.abandoned,
                    );
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(message = "Notification delivery round failed.", %error)
                }
            }
        }
        self.lease.give_up().await;
    }
}
