//! Per-office alerting: threshold overrides (`office_alert_settings`) and maintenance windows
//! (`office_maintenance`), for the CLI and the HTTP API. Offices are named as operators know
//! them; an unknown name is refused rather than created.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::manage::ManageError;
use super::{OfficeSettings, Settings};

/// Overrides to store for an office; `None` keeps the server's default.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OfficeOverrides {
    pub warning_days: Option<u32>,
    pub critical_days: Option<u32>,
    pub silent_after_intervals: Option<u32>,
    pub gone_after_days: Option<u32>,
}

/// An office with its overrides and what applies there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OfficeAlerting {
    pub office: String,
    pub overrides: OfficeOverrides,
    pub warning_days: i64,
    pub critical_days: i64,
    pub silent_after_intervals: u32,
    pub gone_after_days: i64,
}

/// A maintenance window to open.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NewMaintenance {
    pub office: String,
    /// Start; now when absent.
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    pub until: DateTime<Utc>,
    #[serde(default)]
    pub comment: String,
}

/// A stored maintenance window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Maintenance {
    pub id: i64,
    pub office: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub comment: String,
}

type OverrideRow = (String, Option<i32>, Option<i32>, Option<i32>, Option<i32>);

/// Every office (of the offices `seen`; `None`: all) with the alert settings that apply
/// there, by name.
pub async fn office_alerting(
    pool: &PgPool,
    defaults: &Settings,
    seen: Option<&[i64]>,
) -> Result<Vec<OfficeAlerting>, sqlx::Error> {
    let rows: Vec<OverrideRow> = sqlx::query_as(
        "select o.name, s.warning_days, s.critical_days, s.silent_after_intervals, \
             s.gone_after_days \
         from offices o left join office_alert_settings s on s.office_id = o.id \
         where $1::bigint[] is null or o.id = any($1) \
         order by o.name",
    )
    .bind(seen)
    .fetch_all(pool)
    .await?;
    let unsigned = |v: Option<i32>| v.and_then(|v| u32::try_from(v).ok());
    Ok(rows
        .into_iter()
        .map(|(office, warning, critical, silent, gone)| {
            let overrides = OfficeOverrides {
                warning_days: unsigned(warning),
                critical_days: unsigned(critical),
                silent_after_intervals: unsigned(silent),
                gone_after_days: unsigned(gone),
            };
            let applied = overrides.over(defaults.defaults);
            OfficeAlerting {
                office,
                overrides,
                warning_days: applied.warning_days,
                critical_days: applied.critical_days,
                silent_after_intervals: applied.silent_after_intervals,
                gone_after_days: applied.gone_after_days,
            }
        })
        .collect())
}

/// Replace `office`'s overrides (all `None` removes them). Refused when the result would make
/// a critical threshold wider than the warning one, or disable silence or gone detection.
pub async fn set_office_overrides(
    pool: &PgPool,
    office: &str,
    overrides: OfficeOverrides,
    defaults: &Settings,
) -> Result<(), ManageError> {
    let applied = overrides.over(defaults.defaults);
    if applied.critical_days > applied.warning_days {
        return Err(ManageError::Invalid(format!(
            "critical_days ({}) would exceed warning_days ({})",
            applied.critical_days, applied.warning_days
        )));
    }
    if [
        overrides.warning_days,
        overrides.silent_after_intervals,
        overrides.gone_after_days,
    ]
    .contains(&Some(0))
    {
        return Err(ManageError::Invalid(
            "warning_days, silent_after_intervals and gone_after_days must be at least 1".into(),
        ));
    }
    let id = office_id(pool, office).await?;
    let signed = |v: Option<u32>| v.map(|v| i32::try_from(v).unwrap_or(i32::MAX));
    if overrides == OfficeOverrides::default() {
        sqlx::query("delete from office_alert_settings where office_id = $1")
            .bind(id)
            .execute(pool)
            .await?;
        return Ok(());
    }
    sqlx::query(
        "insert into office_alert_settings \
             (office_id, warning_days, critical_days, silent_after_intervals, gone_after_days) \
         values ($1, $2, $3, $4, $5) \
         on conflict (office_id) do update set warning_days = $2, critical_days = $3, \
             silent_after_intervals = $4, gone_after_days = $5",
    )
    .bind(id)
    .bind(signed(overrides.warning_days))
    .bind(signed(overrides.critical_days))
    .bind(signed(overrides.silent_after_intervals))
    .bind(signed(overrides.gone_after_days))
    .execute(pool)
    .await?;
    Ok(())
}

/// Open a maintenance window; its id.
pub async fn add_maintenance(
    pool: &PgPool,
    window: &NewMaintenance,
    now: DateTime<Utc>,
) -> Result<i64, ManageError> {
    let from = window.from.unwrap_or(now);
    if window.until <= from || window.until <= now {
        return Err(ManageError::Invalid(
            "the window must end after it starts, and in the future".into(),
        ));
    }
    let id = office_id(pool, &window.office).await?;
    let created = sqlx::query_scalar(
        "insert into office_maintenance (office_id, starts_at, ends_at, comment) \
         values ($1, $2, $3, $4) returning id",
    )
    .bind(id)
    .bind(from)
    .bind(window.until)
    .bind(&window.comment)
    .fetch_one(pool)
    .await?;
    Ok(created)
}

/// Maintenance windows that have not ended at `now`, of the offices `seen` (`None`: all),
/// by start.
pub async fn maintenance(
    pool: &PgPool,
    now: DateTime<Utc>,
    seen: Option<&[i64]>,
) -> Result<Vec<Maintenance>, sqlx::Error> {
    sqlx::query_as(
        "select m.id, o.name as office, m.starts_at, m.ends_at, m.comment \
         from office_maintenance m join offices o on o.id = m.office_id \
         where m.ends_at > $1 and ($2::bigint[] is null or m.office_id = any($2)) \
         order by m.starts_at, m.id",
    )
    .bind(now)
    .bind(seen)
    .fetch_all(pool)
    .await
}

/// End a window now (or drop one not yet started); false when none is open with that id.
pub async fn end_maintenance(
    pool: &PgPool,
    id: i64,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let dropped = sqlx::query("delete from office_maintenance where id = $1 and starts_at >= $2")
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    // A window that has started is kept, ending now, as a record of when alerts were held.
    let ended = sqlx::query(
        "update office_maintenance set ends_at = $2 where id = $1 and starts_at < $2 and ends_at > $2",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(dropped + ended > 0)
}

/// The id of the office named `name`.
pub async fn office_id(pool: &PgPool, name: &str) -> Result<i64, ManageError> {
    sqlx::query_scalar("select id from offices where name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| ManageError::Invalid(format!("no office named {name:?}")))
}

// === impl OfficeOverrides ===

impl OfficeOverrides {
    /// These overrides on top of `defaults`.
    pub(super) fn over(self, defaults: OfficeSettings) -> OfficeSettings {
        OfficeSettings {
            warning_days: self.warning_days.map_or(defaults.warning_days, i64::from),
            critical_days: self.critical_days.map_or(defaults.critical_days, i64::from),
            silent_after_intervals: self
                .silent_after_intervals
                .unwrap_or(defaults.silent_after_intervals),
            gone_after_days: self
                .gone_after_days
                .map_or(defaults.gone_after_days, i64::from),
        }
    }
}
