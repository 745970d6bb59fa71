//! `notify …`: the state of the notification channels, and a test message through one.

use std::io::Write;

use chrono::Utc;
use clap::Subcommand;

use crate::config::Config;
use crate::notify::{self, Channels};

/// `notify …`
#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// List the configured channels: last success, last failure and error, waiting and
    /// abandoned deliveries.
    List,
    /// Send a test notification through a channel now and say whether it arrived there.
    Test {
        /// The channel's name, as in the configuration (`[notify.email.NAME]`, …).
        channel: String,
    },
}

pub(super) async fn notify_command(
    config: &Config,
    pool: &sqlx::PgPool,
    command: NotifyCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let channels = Channels::from_config(&config.notify)?;
    match command {
        NotifyCommand::List => {
            if channels.is_empty() {
                writeln!(
                    out,
                    "No channels are configured ([notify] in the configuration)."
                )?;
                return Ok(());
            }
            writeln!(
                out,
                "{:<20}  {:<20}  {:<20}  {:>8}  {:>9}  LAST ERROR",
                "CHANNEL", "LAST SUCCESS", "LAST FAILURE", "WAITING", "ABANDONED"
            )?;
            let time = |at: Option<chrono::DateTime<Utc>>| at.map_or("-".to_owned(), super::time);
            for status in notify::channel_status(pool, &channels).await? {
                // An error from before the last success is history, not the state.
                let error = if status.consecutive_failures > 0 {
                    status.last_error.as_deref().unwrap_or("")
                } else {
                    ""
                };
                writeln!(
                    out,
                    "{:<20}  {:<20}  {:<20}  {:>8}  {:>9}  {error}",
                    status.name,
                    time(status.last_success_at),
                    time(status.last_failure_at),
                    status.pending,
                    status.abandoned,
                )?;
            }
        }
        NotifyCommand::Test { channel } => {
            let Some(found) = channels.get(&channel) else {
                let names: Vec<&str> = channels.iter().map(|c| c.name()).collect();
                anyhow::bail!(
                    "no channel {channel:?}; configured: {}",
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                );
            };
            match notify::send_test(pool, found, Utc::now()).await? {
                Ok(()) => writeln!(out, "Sent a test notification through {channel}.")?,
                Err(error) => {
                    anyhow::bail!("the test notification through {channel} failed: {error}")
                }
            }
        }
    }
    Ok(())
}
