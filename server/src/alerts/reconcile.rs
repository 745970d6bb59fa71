//! Bringing the stored alerts in line with the desired set, in the caller's transaction: new
//! problems fire, changed ones are updated (escalation notifies again), gone ones resolve, and
//! unacknowledged critical alerts repeat. A notification is queued in the same transaction as the
//! change that causes it, so an evaluation that is repeated (a restart, a second process at the
//! same moment) finds nothing left to do and queues nothing.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sqlx::PgConnection;
use tokenwatch_inventory::findings::Severity;
use uuid::Uuid;

use super::mute::{self, Mutes};
use super::rules::Desired;
use super::stored_severity;

/// What one evaluation changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub fired: usize,
    pub updated: usize,
    pub resolved: usize,
    /// Notification rows queued.
    pub notifications: usize,
}

// === impl Outcome ===

impl std::ops::AddAssign for Outcome {
    fn add_assign(&mut self, other: Self) {
        self.fired += other.fired;
        self.updated += other.updated;
        self.resolved += other.resolved;
        self.notifications += other.notifications;
    }
}

struct Stored {
    id: i64,
    rule: String,
    severity: Severity,
    office_id: Option<i64>,
    subject: String,
    summary: String,
    remediation: String,
    labels: serde_json::Value,
    acknowledged: bool,
    last_notified_at: Option<DateTime<Utc>>,
    /// Agent ids, ordered, and their host names.
    hosts: Vec<Uuid>,
    hostnames: Vec<String>,
}

/// Bring the firing alerts in line with `desired`: all of them, or only those whose key is in
/// `keys` (which must then hold every key of `desired`).
pub(super) async fn reconcile(
    db: &mut PgConnection,
    desired: Vec<Desired>,
    keys: Option<&[String]>,
    now: DateTime<Utc>,
    repeat_interval: Duration,
) -> Result<Outcome, sqlx::Error> {
    let mutes = mute::mutes(db, now).await?;
    let mut stored = firing(db, keys).await?;
    let mut outcome = Outcome::default();
    let mut new = Vec::new();
    for alert in desired {
        let muted = mutes.reason(&alert);
        match stored.remove(&alert.key) {
            None => new.push((alert, muted)),
            Some(old) => {
                update(
                    db,
                    &old,
                    &alert,
                    muted.as_deref(),
                    now,
                    repeat_interval,
                    &mut outcome,
                )
                .await?;
            }
        }
    }
    fire(db, &new, now, &mut outcome).await?;
    for old in stored.into_values() {
        resolve(db, &old, &mutes, now, &mut outcome).await?;
    }
    Ok(outcome)
}

// === reading ===

type StoredRow = (
    i64,
    String,
    String,
    String,
    Option<i64>,
    String,
    String,
    String,
    serde_json::Value,
    bool,
    Option<DateTime<Utc>>,
);

/// The firing alerts with their hosts. The hosts are read by the alerts' ids (the primary
/// key's prefix) and joined here: right after an evaluation fired tens of thousands of
/// alerts, the tables' statistics are stale and a join in SQL can turn into a scan of every
/// host row per alert.
async fn firing(
    db: &mut PgConnection,
    keys: Option<&[String]>,
) -> Result<HashMap<String, Stored>, sqlx::Error> {
    macro_rules! firing_sql {
        ($from:literal) => {
            concat!(
                "select a.id, a.key, a.rule, a.severity, a.office_id, a.subject, a.summary, \
                     a.remediation, a.labels, a.acknowledged_at is not null, a.last_notified_at \
                 from ",
                $from,
                " where a.state = 'firing'"
            )
        };
    }
    let rows: Vec<StoredRow> = match keys {
        None => {
            sqlx::query_as(firing_sql!("alerts a"))
                .fetch_all(&mut *db)
                .await?
        }
        Some(keys) => {
            // Driven by the keys, through the index of firing keys.
            sqlx::query_as(firing_sql!(
                "unnest($1::text[]) as wanted(key) join alerts a on a.key = wanted.key"
            ))
            .bind(keys)
            .fetch_all(&mut *db)
            .await?
        }
    };
    let ids: Vec<i64> = rows.iter().map(|row| row.0).collect();
    let hosts: Vec<(i64, Uuid, String)> = sqlx::query_as(
        "select alert_id, agent_id, hostname from alert_hosts \
         where alert_id = any($1::bigint[]) order by alert_id, agent_id",
    )
    .bind(&ids)
    .fetch_all(&mut *db)
    .await?;
    let mut by_alert: HashMap<i64, (Vec<Uuid>, Vec<String>)> = HashMap::new();
    for (alert, agent, hostname) in hosts {
        let entry = by_alert.entry(alert).or_default();
        entry.0.push(agent);
        entry.1.push(hostname);
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let (hosts, hostnames) = by_alert.remove(&row.0).unwrap_or_default();
            let stored = Stored {
                id: row.0,
                rule: row.2,
                severity: stored_severity(&row.3),
                office_id: row.4,
                subject: row.5,
                summary: row.6,
                remediation: row.7,
                labels: row.8,
                acknowledged: row.9,
                last_notified_at: row.10,
                hosts,
                hostnames,
            };
            (row.1, stored)
        })
        .collect())
}

// === writing ===

/// Insert the new alerts with their hosts, events and notifications: a handful of statements
/// however many there are, since a first evaluation over a large fleet fires thousands.
async fn fire(
    db: &mut PgConnection,
    new: &[(Desired, Option<String>)],
    now: DateTime<Utc>,
    outcome: &mut Outcome,
) -> Result<(), sqlx::Error> {
    if new.is_empty() {
        return Ok(());
    }
    let column = |f: &dyn Fn(&Desired) -> String| new.iter().map(|(a, _)| f(a)).collect::<Vec<_>>();
    let keys = column(&|a| a.key.clone());
    let severities = column(&|a| a.severity.as_str().to_owned());
    let summaries = column(&|a| a.summary.clone());
    let offices: Vec<Option<i64>> = new.iter().map(|(a, _)| a.office_id).collect();
    let labels: Vec<serde_json::Value> = new.iter().map(|(a, _)| a.labels.clone()).collect();
    let muted: Vec<bool> = new.iter().map(|(_, m)| m.is_some()).collect();
    let returned: Vec<(i64, String)> = sqlx::query_as(
        "insert into alerts (key, rule, severity, office_id, subject, summary, remediation, \
             state, started_at, last_evaluated_at, last_notified_at, labels) \
         select k, r, s, o, su, sm, re, 'firing', $8, $8, case when m then null else $8 end, l \
         from unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], \
             $7::text[], $9::jsonb[], $10::bool[]) as t(k, r, s, o, su, sm, re, l, m) \
         returning id, key",
    )
    .bind(&keys)
    .bind(column(&|a| a.rule.clone()))
    .bind(&severities)
    .bind(&offices)
    .bind(column(&|a| a.subject.clone()))
    .bind(&summaries)
    .bind(column(&|a| a.remediation.clone()))
    .bind(now)
    .bind(&labels)
    .bind(&muted)
    .fetch_all(&mut *db)
    .await?;
    // Keys are unique among new alerts and every inserted row is returned, in no promised order.
    let by_key: HashMap<String, i64> = returned.into_iter().map(|(id, key)| (key, id)).collect();
    let ids: Vec<i64> = keys.iter().map(|k| by_key[k]).collect();
    let (mut host_alerts, mut agents, mut names) = (Vec::new(), Vec::new(), Vec::new());
    for (id, (alert, _)) in ids.iter().zip(new) {
        for (agent, name) in &alert.hosts {
            host_alerts.push(*id);
            agents.push(*agent);
            names.push(name.clone());
        }
    }
    sqlx::query(
        "insert into alert_hosts (alert_id, agent_id, hostname) \
         select * from unnest($1::bigint[], $2::uuid[], $3::text[])",
    )
    .bind(&host_alerts)
    .bind(&agents)
    .bind(&names)
    .execute(&mut *db)
    .await?;
    sqlx::query(
        "insert into alert_events (alert_id, at, kind, severity, detail) \
         select i, $2, 'fired', s, d from unnest($1::bigint[], $3::text[], $4::text[]) as t(i, s, d)",
    )
    .bind(&ids)
    .bind(now)
    .bind(&severities)
    .bind(&summaries)
    .execute(&mut *db)
    .await?;
    let (mut muted_ids, mut reasons, mut notified, mut notified_severities) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (id, (alert, muted)) in ids.iter().zip(new) {
        match muted {
            Some(reason) => {
                muted_ids.push(*id);
                reasons.push(reason.clone());
            }
            None => {
                notified.push(*id);
                notified_severities.push(alert.severity.as_str());
            }
        }
    }
    sqlx::query(
        "insert into alert_events (alert_id, at, kind, detail) \
         select i, $2, 'silenced', d from unnest($1::bigint[], $3::text[]) as t(i, d)",
    )
    .bind(&muted_ids)
    .bind(now)
    .bind(&reasons)
    .execute(&mut *db)
    .await?;
    let queued = sqlx::query(
        "insert into alert_notifications (alert_id, kind, severity, created_at) \
         select i, 'fired', s, $2 from unnest($1::bigint[], $3::text[]) as t(i, s) \
         on conflict do nothing",
    )
    .bind(&notified)
    .bind(now)
    .bind(&notified_severities)
    .execute(&mut *db)
    .await?
    .rows_affected();
    outcome.fired += new.len();
    outcome.notifications += usize::try_from(queued).unwrap_or(0);
    Ok(())
}

async fn update(
    db: &mut PgConnection,
    old: &Stored,
    alert: &Desired,
    muted: Option<&str>,
    now: DateTime<Utc>,
    repeat_interval: Duration,
    outcome: &mut Outcome,
) -> Result<(), sqlx::Error> {
    let hosts: Vec<Uuid> = {
        let mut hosts: Vec<Uuid> = alert.hosts.iter().map(|(a, _)| *a).collect();
        hosts.sort_unstable();
        hosts
    };
    let changed = old.rule != alert.rule
        || old.severity != alert.severity
        || old.office_id != alert.office_id
        || old.subject != alert.subject
        || old.summary != alert.summary
        || old.remediation != alert.remediation
        || old.labels != alert.labels;
    let escalated = alert.severity > old.severity;
    if changed {
        // A worse problem deserves a fresh look: escalation clears the acknowledgement.
        sqlx::query(
            "update alerts set rule = $2, severity = $3, office_id = $4, subject = $5, \
                 summary = $6, remediation = $7, labels = $8, last_evaluated_at = $10, \
                 acknowledged_at = case when $9 then null else acknowledged_at end, \
                 acknowledged_by = case when $9 then null else acknowledged_by end, \
                 acknowledged_comment = case when $9 then null else acknowledged_comment end \
             where id = $1",
        )
        .bind(old.id)
        .bind(&alert.rule)
        .bind(alert.severity.as_str())
        .bind(alert.office_id)
        .bind(&alert.subject)
        .bind(&alert.summary)
        .bind(&alert.remediation)
        .bind(&alert.labels)
        .bind(escalated)
        .bind(now)
        .execute(&mut *db)
        .await?;
        outcome.updated += 1;
    }
    if hosts != old.hosts {
        set_hosts(db, old.id, &alert.hosts).await?;
        if !changed {
            outcome.updated += 1;
        }
    }
    if alert.severity != old.severity {
        let kind = if escalated {
            "escalated"
        } else {
            "deescalated"
        };
        event(db, old.id, now, kind, Some(alert.severity), &alert.summary).await?;
    }
    if muted.is_some() {
        return Ok(());
    }
    let acknowledged = old.acknowledged && !escalated;
    if old.last_notified_at.is_none() {
        if acknowledged {
            // Someone took it on while it was muted: nobody needs telling.
            return Ok(());
        }
        // Silenced (or in maintenance) when it fired: announce it now the mute is over.
        notify(db, old.id, "fired", alert.severity, now, outcome).await?;
    } else if escalated {
        notify(db, old.id, "escalated", alert.severity, now, outcome).await?;
    } else if alert.severity == Severity::Critical
        && !acknowledged
        && old
            .last_notified_at
            .is_some_and(|at| now - at >= repeat_interval)
    {
        event(db, old.id, now, "repeated", Some(alert.severity), "").await?;
        notify(db, old.id, "repeat", alert.severity, now, outcome).await?;
    }
    Ok(())
}

async fn resolve(
    db: &mut PgConnection,
    old: &Stored,
    mutes: &Mutes,
    now: DateTime<Utc>,
    outcome: &mut Outcome,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update alerts set state = 'resolved', resolved_at = $2, last_evaluated_at = $2 \
         where id = $1",
    )
    .bind(old.id)
    .bind(now)
    .execute(&mut *db)
    .await?;
    event(db, old.id, now, "resolved", None, "").await?;
    outcome.resolved += 1;
    // Only an alert that was announced is announced as over.
    let as_desired = Desired {
        key: String::new(),
        rule: old.rule.clone(),
        severity: old.severity,
        office_id: old.office_id,
        subject: String::new(),
        summary: String::new(),
        remediation: String::new(),
        hosts: old
            .hosts
            .iter()
            .copied()
            .zip(old.hostnames.iter().cloned())
            .collect(),
        labels: old.labels.clone(),
    };
    if old.last_notified_at.is_some() && mutes.reason(&as_desired).is_none() {
        notify(db, old.id, "resolved", old.severity, now, outcome).await?;
    }
    Ok(())
}

async fn set_hosts(
    db: &mut PgConnection,
    alert: i64,
    hosts: &[(Uuid, String)],
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from alert_hosts where alert_id = $1")
        .bind(alert)
        .execute(&mut *db)
        .await?;
    let (agents, names): (Vec<Uuid>, Vec<String>) = hosts.iter().cloned().unzip();
    sqlx::query(
        "insert into alert_hosts (alert_id, agent_id, hostname) \
         select $1, * from unnest($2::uuid[], $3::text[])",
    )
    .bind(alert)
    .bind(&agents)
    .bind(&names)
    .execute(&mut *db)
    .await?;
    Ok(())
}

async fn event(
    db: &mut PgConnection,
    alert: i64,
    at: DateTime<Utc>,
    kind: &str,
    severity: Option<Severity>,
    detail: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into alert_events (alert_id, at, kind, severity, detail) \
         values ($1, $2, $3, $4, $5)",
    )
    .bind(alert)
    .bind(at)
    .bind(kind)
    .bind(severity.map(Severity::as_str))
    .bind(detail)
    .execute(&mut *db)
    .await?;
    Ok(())
}

async fn notify(
    db: &mut PgConnection,
    alert: i64,
    kind: &str,
    severity: Severity,
    now: DateTime<Utc>,
    outcome: &mut Outcome,
) -> Result<(), sqlx::Error> {
    let inserted = sqlx::query(
        "insert into alert_notifications (alert_id, kind, severity, created_at) \
         values ($1, $2, $3, $4) on conflict do nothing",
    )
    .bind(alert)
    .bind(kind)
    .bind(severity.as_str())
    .bind(now)
    .execute(&mut *db)
    .await?
    .rows_affected();
    if kind != "resolved" {
        sqlx::query("update alerts set last_notified_at = $2 where id = $1")
            .bind(alert)
            .bind(now)
            .execute(&mut *db)
            .await?;
    }
    outcome.notifications += usize::try_from(inserted).unwrap_or(0);
    Ok(())
}
