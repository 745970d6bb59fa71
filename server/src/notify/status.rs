//! How each channel is doing: for `notify list`, `/api/v1/channels` and the metrics.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use super::Channels;

/// One channel's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ChannelStatus {
    pub name: String,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Failed attempts since the last success; above zero the channel is failing.
    pub consecutive_failures: i32,
    /// Deliveries waiting (due or backing off).
    pub pending: i64,
    /// Deliveries given up on.
    pub abandoned: i64,
}

/// The state of every configured channel, in name order.
pub async fn channel_status(
    pool: &PgPool,
    channels: &Channels,
) -> Result<Vec<ChannelStatus>, sqlx::Error> {
    let names: Vec<&str> = channels.iter().map(super::Channel::name).collect();
    sqlx::query_as(
        "select n.name, c.last_success_at, c.last_failure_at, c.last_error, \
             coalesce(c.consecutive_failures, 0) as consecutive_failures, \
             (select count(*) from notification_deliveries \
              where channel = n.name and delivered_at is null and abandoned_at is null) \
                 as pending, \
             (select count(*) from notification_deliveries \
              where channel = n.name and abandoned_at is not null) as abandoned \
         from unnest($1::text[]) as n(name) \
         left join notification_channels c on c.name = n.name \
         order by n.name",
    )
    .bind(&names)
    .fetch_all(pool)
    .await
}

/// Send a test notification through `channel` now and record the outcome as the channel's
/// latest, so `notify list` and the metrics show it. The outer error is the database's.
pub async fn send_test(
    pool: &PgPool,
    channel: &super::Channel,
    now: DateTime<Utc>,
) -> Result<Result<(), super::DeliveryError>, sqlx::Error> {
    let sent = channel.send(&[super::test_notification(now)], now).await;
    let mut db = pool.acquire().await?;
    match &sent {
        Ok(()) => super::outbox::succeeded(&mut db, channel.name(), now).await?,
        Err(error) => {
            super::outbox::channel_failed(&mut db, channel.name(), &error.to_string(), now).await?;
        }
    }
    Ok(sent)
}
