//! What operators do with alerts, shared by the CLI and the HTTP API: list and show them,
//! acknowledge one, silence and unsilence.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::mute::Matchers;

/// Which alerts to list; `None` matches all.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AlertFilter {
    /// `firing` or `resolved`.
    pub state: Option<String>,
    /// An office name.
    pub office: Option<String>,
    /// `warning` or `critical`.
    pub severity: Option<String>,
}

/// One alert in a list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct AlertSummary {
    pub id: i64,
    pub key: String,
    pub rule: String,
    pub severity: String,
    pub office: Option<String>,
    pub subject: String,
    pub summary: String,
    pub state: String,
    pub started_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub hosts: i64,
}

/// A host an alert lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct AlertHost {
    pub agent_id: Uuid,
    pub hostname: String,
}

/// One entry of an alert's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct AlertEvent {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub severity: Option<String>,
    pub actor: Option<String>,
    pub detail: String,
}

/// An alert with its hosts and history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AlertDetail {
    #[serde(flatten)]
    pub alert: AlertSummary,
    pub remediation: String,
    pub acknowledged_by: Option<String>,
    pub acknowledged_comment: Option<String>,
    pub host_list: Vec<AlertHost>,
    pub history: Vec<AlertEvent>,
}

/// A silence to create. Every matcher given must match; at least one is required.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NewSilence {
    /// An office name.
    pub office: Option<String>,
    pub code: Option<String>,
    /// A certificate's SHA-256.
    pub certificate: Option<String>,
    /// A host name or agent id.
    pub host: Option<String>,
    pub until: DateTime<Utc>,
    pub comment: String,
    #[serde(default)]
    pub created_by: String,
}

/// A stored silence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Silence {
    pub id: i64,
    pub matchers: serde_json::Value,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub comment: String,
    pub created_by: String,
}

/// Why an operator's request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    #[error("no such alert")]
    NotFound,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The columns of an [`AlertSummary`], for a reader who sees the offices in the `bigint[]`
/// parameter `$seen` (null: every office): the host count is of their hosts.
fn summary_sql(seen: &str) -> String {
    format!(
        "select a.id, a.key, a.rule, a.severity, o.name as office, a.subject, \
             a.summary, a.state, a.started_at, a.resolved_at, a.acknowledged_at, \
             (select count(*) from alert_hosts h join agents g on g.id = h.agent_id \
              where h.alert_id = a.id \
                  and ({seen}::bigint[] is null or g.office_id = any({seen}))) as hosts \
         from alerts a left join offices o on o.id = a.office_id \
         where ({seen}::bigint[] is null or a.office_id = any({seen}) \
             or exists (select 1 from alert_hosts h join agents g on g.id = h.agent_id \
                        where h.alert_id = a.id and g.office_id = any({seen})))"
    )
}

/// Alerts matching `filter`, newest first, of those a reader of the offices `seen` (`None`:
/// all) sees: an alert of one of their offices, or one listing a host of theirs.
pub async fn list(
    pool: &PgPool,
    filter: &AlertFilter,
    seen: Option<&[i64]>,
) -> Result<Vec<AlertSummary>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{} and ($1::text is null or a.state = $1) \
             and ($2::text is null or o.name = $2) \
             and ($3::text is null or a.severity = $3) \
         order by a.started_at desc, a.id desc",
        summary_sql("$4")
    )))
    .bind(&filter.state)
    .bind(&filter.office)
    .bind(&filter.severity)
    .bind(seen)
    .fetch_all(pool)
    .await
}

/// One alert with its hosts and history, if a reader of the offices `seen` sees it; the host
/// list is of their hosts only.
pub async fn show(
    pool: &PgPool,
    id: i64,
    seen: Option<&[i64]>,
) -> Result<Option<AlertDetail>, sqlx::Error> {
    let Some(alert): Option<AlertSummary> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{} and a.id = $1",
        summary_sql("$2")
    )))
    .bind(id)
    .bind(seen)
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let (remediation, acknowledged_by, acknowledged_comment): (
        String,
        Option<String>,
        Option<String>,
    ) = sqlx::query_as(
        "select remediation, acknowledged_by, acknowledged_comment from alerts where id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await?;
    let host_list = sqlx::query_as(
        "select h.agent_id, h.hostname from alert_hosts h join agents g on g.id = h.agent_id \
         where h.alert_id = $1 and ($2::bigint[] is null or g.office_id = any($2)) \
         order by h.hostname, h.agent_id",
    )
    .bind(id)
    .bind(seen)
    .fetch_all(pool)
    .await?;
    let history = sqlx::query_as(
        "select at, kind, severity, actor, detail from alert_events where alert_id = $1 \
         order by at, id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(Some(AlertDetail {
        alert,
        remediation,
        acknowledged_by,
        acknowledged_comment,
        host_list,
        history,
    }))
}

/// Acknowledge a firing alert: it stays firing but is not repeated until it gets worse.
pub async fn acknowledge(
    pool: &PgPool,
    id: i64,
    by: &str,
    comment: &str,
    now: DateTime<Utc>,
) -> Result<(), ManageError> {
    let mut tx = pool.begin().await?;
    let updated = sqlx::query(
        "update alerts set acknowledged_at = $2, acknowledged_by = $3, acknowledged_comment = $4 \
         where id = $1 and state = 'firing'",
    )
    .bind(id)
    .bind(now)
    .bind(by)
    .bind(comment)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(ManageError::NotFound);
    }
    sqlx::query(
        "insert into alert_events (alert_id, at, kind, actor, detail) \
         values ($1, $2, 'acknowledged', $3, $4)",
    )
    .bind(id)
    .bind(now)
    .bind(by)
    .bind(comment)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Create a silence from `now` until `silence.until`; its id.
pub async fn add_silence(
    pool: &PgPool,
    silence: &NewSilence,
    now: DateTime<Utc>,
) -> Result<i64, ManageError> {
    if silence.until <= now {
        return Err(ManageError::Invalid(
            "the silence must end in the future".into(),
        ));
    }
    let office_id = match &silence.office {
        None => None,
        Some(name) => Some(
            sqlx::query_scalar::<_, i64>("select id from offices where name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await?
                .ok_or_else(|| ManageError::Invalid(format!("no office named {name:?}")))?,
        ),
    };
    let matchers = Matchers {
        office_id,
        code: silence.code.clone(),
        certificate: silence.certificate.clone(),
        host: silence.host.clone(),
    };
    if matchers == Matchers::default() {
        return Err(ManageError::Invalid(
            "a silence needs at least one of office, code, certificate, host".into(),
        ));
    }
    let mut json = serde_json::Map::new();
    if let Some(office) = matchers.office_id {
        json.insert("office_id".into(), office.into());
    }
    for (key, value) in [
        ("code", &matchers.code),
        ("certificate", &matchers.certificate),
        ("host", &matchers.host),
    ] {
        if let Some(value) = value {
            json.insert(key.into(), value.clone().into());
        }
    }
    let id = sqlx::query_scalar(
        "insert into silences (matchers, starts_at, ends_at, comment, created_by) \
         values ($1, $2, $3, $4, $5) returning id",
    )
    .bind(serde_json::Value::Object(json))
    .bind(now)
    .bind(silence.until)
    .bind(&silence.comment)
    .bind(&silence.created_by)
    .fetch_one(pool)
    .await?;
    Ok(id)
}

/// Silences that have not ended at `now`; for a reader of the offices `seen` (`None`: all),
/// those bound to one of their offices.
pub async fn silences(
    pool: &PgPool,
    now: DateTime<Utc>,
    seen: Option<&[i64]>,
) -> Result<Vec<Silence>, sqlx::Error> {
    sqlx::query_as(
        "select id, matchers, starts_at, ends_at, comment, created_by from silences \
         where ends_at > $1 \
             and ($2::bigint[] is null or (matchers ->> 'office_id')::bigint = any($2)) \
         order by id",
    )
    .bind(now)
    .bind(seen)
    .fetch_all(pool)
    .await
}

/// End a silence at `now`; whether it was active.
pub async fn remove_silence(
    pool: &PgPool,
    id: i64,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    // Ended, not deleted: the history of who silenced what stays.
    let ended = sqlx::query(
        "update silences set ends_at = greatest($2, starts_at + interval '1 microsecond') \
         where id = $1 and ends_at > $2",
    )
    .bind(id)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(ended > 0)
}
