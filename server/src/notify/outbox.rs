//! The stored side of delivery: routing new notifications to channels, reading what is due for
//! a channel, and recording what happened to it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{Connection as _, PgConnection};
use uuid::Uuid;

use crate::alerts::stored_severity;

use super::{
    Acknowledgement, Alert, CertificateRef, Channels, DeliveryError, Host, Kind, Notification,
};

/// How many queued notifications one routing pass takes.
const ROUTE_BATCH: i64 = 1000;

/// Retry policy of failed deliveries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    pub initial: std::time::Duration,
    pub max: std::time::Duration,
    pub give_up_after: std::time::Duration,
}

// === impl Retry ===

impl Retry {
    /// The policy of `[notify]`.
    pub fn from_config(config: &crate::config::NotifyConfig) -> Self {
        Self {
            initial: config.retry_initial.get(),
            max: config.retry_max.get(),
            give_up_after: config.give_up_after.get(),
        }
    }
}

/// What recording a failure did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Failed {
    /// Deliveries that will be tried again.
    pub retried: usize,
    /// Deliveries given up on (a permanent refusal, or too old).
    pub abandoned: usize,
}

/// Hand every notification not yet routed to the channels whose route takes it, and mark it
/// routed. A notification no channel takes is routed to none. Returns how many were routed.
pub async fn route(
    db: &mut PgConnection,
    channels: &Channels,
    now: DateTime<Utc>,
) -> Result<usize, sqlx::Error> {
    let mut routed = 0;
    loop {
        let mut tx = db.begin().await?;
        // An alert's own office if it has one, else every office its hosts are in.
        let rows: Vec<(i64, String, Vec<String>)> = sqlx::query_as(
            "select n.id, n.severity, \
                 case when a.office_id is not null \
                     then array(select name from offices where id = a.office_id) \
                     else array(select distinct o.name from alert_hosts h \
                                join agents g on g.id = h.agent_id \
                                join offices o on o.id = g.office_id \
                                where h.alert_id = a.id) end \
             from alert_notifications n join alerts a on a.id = n.alert_id \
             where n.sent_at is null order by n.id limit $1 for update of n skip locked",
        )
        .bind(ROUTE_BATCH)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(routed);
        }
        let mut ids = Vec::new();
        let mut names = Vec::new();
        for (id, severity, offices) in &rows {
            let severity = stored_severity(severity);
            for channel in channels.iter().filter(|c| c.takes(severity, offices)) {
                ids.push(*id);
                names.push(channel.name().to_owned());
            }
        }
        sqlx::query(
            "insert into notification_deliveries (notification_id, channel, next_attempt_at) \
             select i, c, $3 from unnest($1::bigint[], $2::text[]) as t(i, c) \
             on conflict do nothing",
        )
        .bind(&ids)
        .bind(&names)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let all: Vec<i64> = rows.iter().map(|row| row.0).collect();
        sqlx::query("update alert_notifications set sent_at = $2 where id = any($1)")
            .bind(&all)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        routed += rows.len();
        if rows.len() < usize::try_from(ROUTE_BATCH).unwrap_or(usize::MAX) {
            return Ok(routed);
        }
    }
}

/// The ids of up to `limit` notifications due on `channel`, oldest first. A channel delivers in
/// order: while its oldest undelivered notification waits for a retry, nothing is due.
pub async fn due(
    db: &mut PgConnection,
    channel: &str,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, sqlx::Error> {
    let rows: Vec<(i64, DateTime<Utc>)> = sqlx::query_as(
        "select notification_id, next_attempt_at from notification_deliveries \
         where channel = $1 and delivered_at is null and abandoned_at is null \
         order by notification_id limit $2",
    )
    .bind(channel)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(&mut *db)
    .await?;
    match rows.first() {
        Some((_, next)) if *next <= now => Ok(rows.into_iter().map(|(id, _)| id).collect()),
        _ => Ok(Vec::new()),
    }
}

/// Record that `channel` took `ids`.
pub async fn delivered(
    db: &mut PgConnection,
    channel: &str,
    ids: &[i64],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "update notification_deliveries set delivered_at = $3, attempts = attempts + 1, \
             last_error = null \
         where channel = $1 and notification_id = any($2)",
    )
    .bind(channel)
    .bind(ids)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    succeeded(&mut tx, channel, now).await?;
    tx.commit().await
}

/// Record that `channel` failed to take `ids`: each is retried after a backoff that doubles
/// with its attempts, or abandoned when the refusal is permanent or the notification has waited
/// longer than the policy allows.
pub async fn failed(
    db: &mut PgConnection,
    channel: &str,
    ids: &[i64],
    error: &DeliveryError,
    retry: Retry,
    now: DateTime<Utc>,
) -> Result<Failed, sqlx::Error> {
    let mut tx = db.begin().await?;
    let message = error.to_string();
    let rows: Vec<(bool,)> = sqlx::query_as(
        "update notification_deliveries d set attempts = d.attempts + 1, last_error = $3, \
             next_attempt_at = $4 + least( \
                 make_interval(secs => $5 * power(2, least(d.attempts, 40))), \
                 make_interval(secs => $6)), \
             abandoned_at = case when $7 or n.created_at + make_interval(secs => $8) <= $4 \
                 then $4 end \
         from alert_notifications n \
         where n.id = d.notification_id and d.channel = $1 and d.notification_id = any($2) \
         returning d.abandoned_at is not null",
    )
    .bind(channel)
    .bind(ids)
    .bind(&message)
    .bind(now)
    .bind(retry.initial.as_secs_f64())
    .bind(retry.max.as_secs_f64())
    .bind(error.is_permanent())
    .bind(retry.give_up_after.as_secs_f64())
    .fetch_all(&mut *tx)
    .await?;
    channel_failed(&mut tx, channel, &message, now).await?;
    tx.commit().await?;
    let abandoned = rows.iter().filter(|(gone,)| *gone).count();
    Ok(Failed {
        retried: rows.len() - abandoned,
        abandoned,
    })
}

/// Record a success of `channel` that is not a delivery (a resend, a test).
pub async fn succeeded(
    db: &mut PgConnection,
    channel: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into notification_channels (name, last_attempt_at, last_success_at) \
         values ($1, $2, $2) \
         on conflict (name) do update set last_attempt_at = $2, last_success_at = $2, \
             consecutive_failures = 0",
    )
    .bind(channel)
    .bind(now)
    .execute(&mut *db)
    .await?;
    Ok(())
}

/// Record a failure of `channel`.
pub async fn channel_failed(
    db: &mut PgConnection,
    channel: &str,
    message: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into notification_channels \
             (name, last_attempt_at, last_failure_at, last_error, consecutive_failures) \
         values ($1, $2, $2, $3, 1) \
         on conflict (name) do update set last_attempt_at = $2, last_failure_at = $2, \
             last_error = $3, \
             consecutive_failures = notification_channels.consecutive_failures + 1",
    )
    .bind(channel)
    .bind(now)
    .bind(message)
    .execute(&mut *db)
    .await?;
    Ok(())
}

/// The firing alerts `channel` was told about (a fired, escalated or repeat notification it
/// took), for channels that re-post what fires.
pub async fn told_firing(db: &mut PgConnection, channel: &str) -> Result<Vec<Alert>, sqlx::Error> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "select a.id from alerts a where a.state = 'firing' and exists ( \
             select 1 from alert_notifications n \
             join notification_deliveries d on d.notification_id = n.id \
             where n.alert_id = a.id and n.kind <> 'resolved' \
                 and d.channel = $1 and d.delivered_at is not null) \
         order by a.id",
    )
    .bind(channel)
    .fetch_all(&mut *db)
    .await?;
    let mut alerts = alerts(db, &ids).await?;
    Ok(ids.iter().filter_map(|id| alerts.remove(id)).collect())
}

type NotificationRow = (i64, i64, String, String, DateTime<Utc>);

/// The notifications `ids`, in id order, with their alerts as they stand now. A notification of
/// a kind this version does not know is skipped.
pub async fn notifications(
    db: &mut PgConnection,
    ids: &[i64],
) -> Result<Vec<Notification>, sqlx::Error> {
    let rows: Vec<NotificationRow> = sqlx::query_as(
        "select id, alert_id, kind, severity, created_at from alert_notifications \
         where id = any($1) order by id",
    )
    .bind(ids)
    .fetch_all(&mut *db)
    .await?;
    let alert_ids: Vec<i64> = rows.iter().map(|row| row.1).collect();
    let alerts = alerts(db, &alert_ids).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, alert, kind, severity, created_at)| {
            Some(Notification {
                id,
                kind: Kind::parse(&kind)?,
                severity: stored_severity(&severity),
                created_at,
                alert: alerts.get(&alert)?.clone(),
            })
        })
        .collect())
}

/// An `alerts` row as notifications show it.
#[derive(sqlx::FromRow)]
struct AlertRow {
    id: i64,
    key: String,
    rule: String,
    severity: String,
    firing: bool,
    office: Option<String>,
    subject: String,
    summary: String,
    remediation: String,
    started_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
    acknowledged_at: Option<DateTime<Utc>>,
    acknowledged_by: Option<String>,
    acknowledged_comment: Option<String>,
    /// The SHA-256 of a certificate alert's certificate.
    certificate: Option<String>,
}

/// The alerts `ids` with their hosts and certificates.
async fn alerts(db: &mut PgConnection, ids: &[i64]) -> Result<HashMap<i64, Alert>, sqlx::Error> {
    let rows: Vec<AlertRow> = sqlx::query_as(
        "select a.id, a.key, a.rule, a.severity, a.state = 'firing' as firing, \
             o.name as office, a.subject, a.summary, a.remediation, a.started_at, \
             a.resolved_at, a.acknowledged_at, a.acknowledged_by, a.acknowledged_comment, \
             a.labels ->> 'certificate' as certificate \
         from alerts a left join offices o on o.id = a.office_id where a.id = any($1)",
    )
    .bind(ids)
    .fetch_all(&mut *db)
    .await?;
    let hosts: Vec<(i64, Uuid, String, String)> = sqlx::query_as(
        "select h.alert_id, h.agent_id, h.hostname, o.name from alert_hosts h \
         join agents g on g.id = h.agent_id join offices o on o.id = g.office_id \
         where h.alert_id = any($1) order by h.alert_id, h.hostname, h.agent_id",
    )
    .bind(ids)
    .fetch_all(&mut *db)
    .await?;
    let shas: Vec<&str> = rows
        .iter()
        .filter_map(|row| row.certificate.as_deref())
        .collect();
    let certificates: Vec<CertificateRef> = sqlx::query_as(
        "select sha256, sha1, subject_cn, issuer_cn, not_after, private_key_not_after \
         from certificates where sha256 = any($1)",
    )
    .bind(&shas)
    .fetch_all(&mut *db)
    .await?;
    let certificates: HashMap<String, CertificateRef> = certificates
        .into_iter()
        .map(|reference| (reference.sha256.clone(), reference))
        .collect();
    let mut by_alert: HashMap<i64, Vec<Host>> = HashMap::new();
    for (alert, agent_id, hostname, office) in hosts {
        by_alert.entry(alert).or_default().push(Host {
            agent_id,
            hostname,
            office,
        });
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let acknowledged = row.acknowledged_at.map(|at| Acknowledgement {
                at,
                by: row.acknowledged_by.unwrap_or_default(),
                comment: row.acknowledged_comment.unwrap_or_default(),
            });
            let alert = Alert {
                id: row.id,
                key: row.key,
                rule: row.rule,
                severity: stored_severity(&row.severity),
                firing: row.firing,
                office: row.office,
                subject: row.subject,
                summary: row.summary,
                remediation: row.remediation,
                started_at: row.started_at,
                resolved_at: row.resolved_at,
                acknowledged,
                hosts: by_alert.remove(&row.id).unwrap_or_default(),
                certificate: row
                    .certificate
                    .and_then(|sha| certificates.get(&sha).cloned()),
            };
            (row.id, alert)
        })
        .collect())
}
