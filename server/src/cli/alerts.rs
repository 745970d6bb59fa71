//! `alert …` and `silence …`: the operator's view of alerts, on the database directly.

use std::io::Write;

use chrono::{DateTime, Utc};
use clap::Subcommand;

use super::time;
use crate::alerts::{self, AlertFilter, NewSilence};
use crate::config::Span;

/// `alert …`
#[derive(Debug, Subcommand)]
pub enum AlertCommand {
    /// List alerts, newest first.
    List {
        /// `firing` or `resolved`.
        #[arg(long, value_parser = ["firing", "resolved"])]
        state: Option<String>,
        /// An office name.
        #[arg(long)]
        office: Option<String>,
        /// `warning` or `critical`.
        #[arg(long, value_parser = ["warning", "critical"])]
        severity: Option<String>,
    },
    /// Show an alert with its hosts and history.
    Show {
        /// The alert's id, from `list`.
        id: i64,
    },
    /// Acknowledge a firing alert: it is not notified again unless it gets worse.
    Ack {
        /// The alert's id.
        id: i64,
        /// Why, or what is being done.
        #[arg(long)]
        comment: String,
        /// Who acknowledges [default: $USER].
        #[arg(long, env = "USER", default_value = "cli")]
        by: String,
    },
}

/// `silence …`
#[derive(Debug, Subcommand)]
pub enum SilenceCommand {
    /// Silence the alerts matching every given matcher until a time: they keep firing and show,
    /// but queue no notification.
    Add {
        /// An office name.
        #[arg(long)]
        office: Option<String>,
        /// A rule or finding code, e.g. certificate.expiring.
        #[arg(long)]
        code: Option<String>,
        /// A certificate's SHA-256.
        #[arg(long)]
        certificate: Option<String>,
        /// A host name or agent id.
        #[arg(long)]
        host: Option<String>,
        /// End, RFC 3339 (e.g. 2026-12-31T23:59:59Z).
        #[arg(long, required_unless_present = "for_")]
        until: Option<DateTime<Utc>>,
        /// End, from now, e.g. 2h or 7d.
        #[arg(long = "for", conflicts_with = "until")]
        for_: Option<Span>,
        /// Why.
        #[arg(long)]
        comment: String,
        /// Who silences [default: $USER].
        #[arg(long, env = "USER", default_value = "cli")]
        by: String,
    },
    /// List silences that have not ended.
    List,
    /// End a silence now.
    Remove {
        /// The silence's id, from `list`.
        id: i64,
    },
}

pub(super) async fn alert_command(
    pool: &sqlx::PgPool,
    command: AlertCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match command {
        AlertCommand::List {
            state,
            office,
            severity,
        } => {
            let filter = AlertFilter {
                state,
                office,
                severity,
            };
            writeln!(
                out,
                "{:>6}  {:<8}  {:<8}  {:<20}  {:<26}  {:>5}  SUBJECT",
                "ID", "STATE", "SEVERITY", "STARTED", "RULE", "HOSTS"
            )?;
            for a in alerts::list(pool, &filter, None).await? {
                let state = match (a.state.as_str(), a.acknowledged_at) {
                    ("firing", Some(_)) => "acked",
                    (state, _) => state,
                };
                writeln!(
                    out,
                    "{:>6}  {:<8}  {:<8}  {:<20}  {:<26}  {:>5}  {}",
                    a.id,
                    state,
                    a.severity,
                    time(a.started_at),
                    a.rule,
                    a.hosts,
                    a.subject
                )?;
            }
        }
        AlertCommand::Show { id } => {
            let Some(a) = alerts::show(pool, id, None).await? else {
                anyhow::bail!("no alert {id}");
            };
            let s = &a.alert;
            writeln!(
                out,
                "Alert {} ({}): {} {}",
                s.id, s.key, s.severity, s.state
            )?;
            writeln!(out, "Rule:        {}", s.rule)?;
            writeln!(
                out,
                "Office:      {}",
                s.office.as_deref().unwrap_or("(several)")
            )?;
            writeln!(out, "Subject:     {}", s.subject)?;
            writeln!(out, "Summary:     {}", s.summary)?;
            writeln!(out, "Remediation: {}", a.remediation)?;
            writeln!(out, "Started:     {}", time(s.started_at))?;
            if let Some(at) = s.resolved_at {
                writeln!(out, "Resolved:    {}", time(at))?;
            }
            if let Some(at) = s.acknowledged_at {
                writeln!(
                    out,
                    "Acknowledged: {} by {}: {}",
                    time(at),
                    a.acknowledged_by.as_deref().unwrap_or("?"),
                    a.acknowledged_comment.as_deref().unwrap_or("")
                )?;
            }
            writeln!(out, "Hosts:")?;
            for h in &a.host_list {
                writeln!(out, "  {}  {}", h.hostname, h.agent_id)?;
            }
            writeln!(out, "History:")?;
            for e in &a.history {
                writeln!(
                    out,
                    "  {}  {:<12} {} {} {}",
                    time(e.at),
                    e.kind,
                    e.severity.as_deref().unwrap_or(""),
                    e.actor.as_deref().unwrap_or(""),
                    e.detail
                )?;
            }
        }
        AlertCommand::Ack { id, comment, by } => {
            alerts::acknowledge(pool, id, &by, &comment, Utc::now()).await?;
            writeln!(out, "Alert {id} acknowledged.")?;
        }
    }
    Ok(())
}

pub(super) async fn silence_command(
    pool: &sqlx::PgPool,
    command: SilenceCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let now = Utc::now();
    match command {
        SilenceCommand::Add {
            office,
            code,
            certificate,
            host,
            until,
            for_,
            comment,
            by,
        } => {
            let until = match (until, for_) {
                (Some(at), _) => at,
                (None, Some(span)) => now + span.get(),
                (None, None) => anyhow::bail!("--until or --for is required"),
            };
            let silence = NewSilence {
                office,
                code,
                certificate,
                host,
                until,
                comment,
                created_by: by,
            };
            let id = alerts::add_silence(pool, &silence, now).await?;
            writeln!(out, "Silence {id} until {}.", time(until))?;
        }
        SilenceCommand::List => {
            writeln!(
                out,
                "{:>6}  {:<20}  {:<12}  {:<40}  COMMENT",
                "ID", "UNTIL", "BY", "MATCHERS"
            )?;
            for s in alerts::silences(pool, now, None).await? {
                writeln!(
                    out,
                    "{:>6}  {:<20}  {:<12}  {:<40}  {}",
                    s.id,
                    time(s.ends_at),
                    s.created_by,
                    s.matchers,
                    s.comment
                )?;
            }
        }
        SilenceCommand::Remove { id } => {
            anyhow::ensure!(
                alerts::remove_silence(pool, id, now).await?,
                "no active silence {id}"
            );
            writeln!(out, "Silence {id} ended.")?;
        }
    }
    Ok(())
}
