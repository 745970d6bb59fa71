//! `office …` and `maintenance …`: per-office alert thresholds and maintenance windows.

use std::io::Write;

use chrono::{DateTime, Utc};
use clap::Subcommand;

use super::time;
use crate::alerts::{self, NewMaintenance, OfficeOverrides, Settings};
use crate::config::Span;

/// `office …`
#[derive(Debug, Subcommand)]
pub enum OfficeCommand {
    /// List offices with the alert thresholds that apply there (`*`: the office's own).
    List,
    /// Set an office's own alert thresholds; those not given follow the server's `[alerts]`.
    /// Without any, the office follows the server's entirely.
    Set {
        /// The office's name.
        office: String,
        #[arg(long)]
        warning_days: Option<u32>,
        #[arg(long)]
        critical_days: Option<u32>,
        #[arg(long)]
        silent_after_intervals: Option<u32>,
        /// Days a token or key container may be missing from every host before it alerts.
        #[arg(long)]
        gone_after_days: Option<u32>,
    },
}

/// `maintenance …`
#[derive(Debug, Subcommand)]
pub enum MaintenanceCommand {
    /// Open a maintenance window: the office's alerts keep firing and show, but queue no
    /// notification until it ends.
    Add {
        /// The office's name.
        #[arg(long)]
        office: String,
        /// Start, RFC 3339 [default: now].
        #[arg(long)]
        from: Option<DateTime<Utc>>,
        /// End, RFC 3339.
        #[arg(long, required_unless_present = "for_")]
        until: Option<DateTime<Utc>>,
        /// End, from the start, e.g. 4h.
        #[arg(long = "for", conflicts_with = "until")]
        for_: Option<Span>,
        /// Why (shown in lists).
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// List windows that have not ended.
    List,
    /// End a window now (one not yet started is dropped).
    Remove {
        /// The window's id, from `list`.
        id: i64,
    },
}

pub(super) async fn office_command(
    pool: &sqlx::PgPool,
    defaults: &Settings,
    command: OfficeCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match command {
        OfficeCommand::List => {
            writeln!(
                out,
                "{:<30}  {:>8}  {:>8}  {:>15}  {:>10}",
                "OFFICE", "WARNING", "CRITICAL", "SILENT AFTER", "GONE AFTER"
            )?;
            for o in alerts::office_alerting(pool, defaults, None).await? {
                let own = |set: bool| if set { "*" } else { " " };
                writeln!(
                    out,
                    "{:<30}  {:>7}{}  {:>7}{}  {:>14}{}  {:>9}{}",
                    o.office,
                    format!("{}d", o.warning_days),
                    own(o.overrides.warning_days.is_some()),
                    format!("{}d", o.critical_days),
                    own(o.overrides.critical_days.is_some()),
                    format!("{} reports", o.silent_after_intervals),
                    own(o.overrides.silent_after_intervals.is_some()),
                    format!("{}d", o.gone_after_days),
                    own(o.overrides.gone_after_days.is_some()),
                )?;
            }
        }
        OfficeCommand::Set {
            office,
            warning_days,
            critical_days,
            silent_after_intervals,
            gone_after_days,
        } => {
            let overrides = OfficeOverrides {
                warning_days,
                critical_days,
                silent_after_intervals,
                gone_after_days,
            };
            alerts::set_office_overrides(pool, &office, overrides, defaults).await?;
            writeln!(out, "Alert thresholds of {office} updated.")?;
        }
    }
    Ok(())
}

pub(super) async fn maintenance_command(
    pool: &sqlx::PgPool,
    command: MaintenanceCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let now = Utc::now();
    match command {
        MaintenanceCommand::Add {
            office,
            from,
            until,
            for_,
            comment,
        } => {
            let start = from.unwrap_or(now);
            let until = match (until, for_) {
                (Some(until), _) => until,
                (None, Some(span)) => start + chrono::Duration::from_std(span.get())?,
                (None, None) => anyhow::bail!("--until or --for is required"),
            };
            let window = NewMaintenance {
                office,
                from,
                until,
                comment,
            };
            let id = alerts::add_maintenance(pool, &window, now).await?;
            writeln!(out, "Maintenance window {id} until {}.", time(until))?;
        }
        MaintenanceCommand::List => {
            writeln!(
                out,
                "{:>5}  {:<24}  {:<20}  {:<20}  COMMENT",
                "ID", "OFFICE", "FROM", "UNTIL"
            )?;
            for m in alerts::maintenance(pool, now, None).await? {
                writeln!(
                    out,
                    "{:>5}  {:<24}  {:<20}  {:<20}  {}",
                    m.id,
                    m.office,
                    time(m.starts_at),
                    time(m.ends_at),
                    m.comment
                )?;
            }
        }
        MaintenanceCommand::Remove { id } => {
            if !alerts::end_maintenance(pool, id, now).await? {
                anyhow::bail!("no open maintenance window {id}");
            }
            writeln!(out, "Maintenance window {id} ended.")?;
        }
    }
    Ok(())
}
