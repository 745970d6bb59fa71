//! Alerts: the problems worth telling someone about, one per problem however many hosts share
//! it, with a lifecycle (firing → resolved), acknowledgements, silences, office maintenance
//! windows and an outbox of notifications for delivery channels.
//!
//! [`evaluate`] loads the facts ([`load`]), applies the pure rules ([`rules`]) and brings the
//! stored alerts in line ([`reconcile`]) in one transaction, at a `now` the caller gives, so
//! tests move a clock. [`Evaluator`] runs it in the server: only the process holding a
//! PostgreSQL advisory lock evaluates ([`crate::lease`]).

mod follow;
mod load;
mod manage;
mod mute;
mod offices;
mod reconcile;
pub mod rules;

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sqlx::{Connection as _, PgConnection, PgPool};
use tokenwatch_inventory::findings::{Severity, Thresholds};

use crate::config::AlertsConfig;
use crate::lease::{Lease, Ticks};

pub use follow::{ChangedHosts, follow_reports};
pub use manage::{
    AlertDetail, AlertEvent, AlertFilter, AlertHost, AlertSummary, ManageError, NewSilence,
    Silence, acknowledge, add_silence, list, remove_silence, show, silences,
};
pub use offices::{
    Maintenance, NewMaintenance, OfficeAlerting, OfficeOverrides, add_maintenance, end_maintenance,
    maintenance, office_alerting, office_id, set_office_overrides,
};
pub use reconcile::Outcome;

/// The advisory lock key of the evaluator ("tokenwatch alerts", as bytes).
const LOCK_KEY: i64 = 0x746b_6e77_616c_7274;

/// Thresholds and intervals: the server's defaults with per-office overrides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub defaults: OfficeSettings,
    /// Overrides from `office_alert_settings`, already merged with the defaults.
    pub offices: HashMap<i64, OfficeSettings>,
    /// How often agents report; `silent_after_intervals` of them without one is silence.
    pub agent_interval: Duration,
    /// An unacknowledged critical alert is notified again after this long.
    pub repeat_interval: Duration,
}

/// What can differ per office.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OfficeSettings {
    pub warning_days: i64,
    pub critical_days: i64,
    pub silent_after_intervals: u32,
    pub gone_after_days: i64,
}

/// An `office_alert_settings` row.
type OfficeRow = (i64, Option<i32>, Option<i32>, Option<i32>, Option<i32>);

// === impl Settings ===

impl Settings {
    /// The defaults of `[alerts]`, without office overrides.
    pub fn from_config(config: &AlertsConfig) -> Self {
        let span = |s: crate::config::Span| Duration::from_std(s.get()).unwrap_or(Duration::MAX);
        Self {
            defaults: OfficeSettings {
                warning_days: i64::from(config.warning_days),
                critical_days: i64::from(config.critical_days),
                silent_after_intervals: config.silent_after_intervals,
                gone_after_days: i64::from(config.gone_after_days),
            },
            offices: HashMap::new(),
            agent_interval: span(config.agent_interval),
            repeat_interval: span(config.repeat_interval),
        }
    }

    /// The settings that apply in `office`.
    pub fn office(&self, office: i64) -> OfficeSettings {
        self.offices.get(&office).copied().unwrap_or(self.defaults)
    }

    /// The widest warning window of any office, in days.
    fn horizon_days(&self) -> i64 {
        self.offices
            .values()
            .map(|o| o.warning_days)
            .chain([self.defaults.warning_days])
            .max()
            .unwrap_or(0)
    }

    /// These settings with the overrides stored in `office_alert_settings`.
    async fn with_offices(&self, db: &mut PgConnection) -> Result<Self, sqlx::Error> {
        let rows: Vec<OfficeRow> = sqlx::query_as(
            "select office_id, warning_days, critical_days, silent_after_intervals, \
                 gone_after_days \
             from office_alert_settings",
        )
        .fetch_all(db)
        .await?;
        let mut out = self.clone();
        let unsigned = |v: Option<i32>| v.and_then(|v| u32::try_from(v).ok());
        for (office, warning, critical, silent, gone) in rows {
            let overrides = OfficeOverrides {
                warning_days: unsigned(warning),
                critical_days: unsigned(critical),
                silent_after_intervals: unsigned(silent),
                gone_after_days: unsigned(gone),
            };
            out.offices.insert(office, overrides.over(self.defaults));
        }
        Ok(out)
    }
}

// === impl OfficeSettings ===

impl OfficeSettings {
    /// The expiry thresholds of the shared findings rules.
    pub fn thresholds(self) -> Thresholds {
        Thresholds {
            warning_days: self.warning_days,
            critical_days: self.critical_days,
        }
    }
}

/// The severity of a stored alert, notification or finding row. Alert tables allow only
/// `warning` and `critical`; anything else reads as information rather than failing the
/// evaluation.
pub(crate) fn stored_severity(name: &str) -> Severity {
    Severity::from_name(name).unwrap_or(Severity::Info)
}

/// Evaluate every rule at `now` and store the result, in one transaction.
pub async fn evaluate(
    pool: &PgPool,
    now: DateTime<Utc>,
    settings: &Settings,
) -> Result<Outcome, sqlx::Error> {
    let mut db = pool.acquire().await?;
    evaluate_on(&mut db, now, settings).await
}

/// Evaluate, at `now`, the problems `agent` is part of (after its report changed them):
/// what it holds, what its office's findings of its codes are, and every alert that lists
/// it. The rest of the fleet is left to the periodic evaluation. An unknown or revoked agent
/// changes nothing.
pub async fn evaluate_host(
    pool: &PgPool,
    agent: uuid::Uuid,
    now: DateTime<Utc>,
    settings: &Settings,
) -> Result<Outcome, sqlx::Error> {
    evaluate_hosts(pool, &[agent], now, settings).await
}

/// [`evaluate_host`] for each of `agents` in turn, in one transaction: the transaction, the
/// lock and the office settings are paid once for all of them, which is most of what an
/// evaluation costs for a host with no problem. The outcome is their sum.
pub async fn evaluate_hosts(
    pool: &PgPool,
    agents: &[uuid::Uuid],
    now: DateTime<Utc>,
    settings: &Settings,
) -> Result<Outcome, sqlx::Error> {
    let mut db = pool.acquire().await?;
    let mut tx = db.begin().await?;
    let settings = lock_and_settle(&mut tx, settings, true).await?;
    let mut total = Outcome::default();
    for &agent in agents {
        total += evaluate_scope(&mut tx, now, &settings, Some(agent)).await?;
    }
    tx.commit().await?;
    Ok(total)
}

/// [`evaluate`] on a given connection (the evaluator's, which holds the lock).
async fn evaluate_on(
    db: &mut PgConnection,
    now: DateTime<Utc>,
    settings: &Settings,
) -> Result<Outcome, sqlx::Error> {
    let mut tx = db.begin().await?;
    let settings = lock_and_settle(&mut tx, settings, false).await?;
    let outcome = evaluate_scope(&mut tx, now, &settings, None).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Take the evaluation lock for the transaction on `db`, set its planner settings, and read
/// the office overrides of `settings`.
async fn lock_and_settle(
    db: &mut PgConnection,
    settings: &Settings,
    scoped: bool,
) -> Result<Settings, sqlx::Error> {
    // Two evaluations never interleave, whoever runs them (a CLI, a test, a second server
    // whose lock connection was replaced): the second waits and then sees the first's result.
    //
    // In the same round trip, this transaction's planner settings. The fleet-wide statements
    // are costly enough in the planner's eyes to be compiled (JIT), which took longer than
    // running them: 0.4 s of a 0.6 s statement at 100,000 hosts. Every scoped statement is
    // driven by the host's ids through indexes, so one plan per statement serves all hosts;
    // planning each anew cost more than running it.
    let plans = if scoped { "force_generic_plan" } else { "auto" };
    sqlx::query(
        "select pg_advisory_xact_lock($1), set_config('jit', 'off', true), \
             set_config('plan_cache_mode', $2, true)",
    )
    .bind(LOCK_KEY + 1)
    .bind(plans)
    .execute(&mut *db)
    .await?;
    settings.with_offices(db).await
}

/// Evaluate the whole fleet (`host` none) or around one host, inside a transaction that
/// holds the evaluation lock ([`lock_and_settle`]).
async fn evaluate_scope(
    tx: &mut PgConnection,
    now: DateTime<Utc>,
    settings: &Settings,
    host: Option<uuid::Uuid>,
) -> Result<Outcome, sqlx::Error> {
    let started = std::time::Instant::now();
    let scope = match host {
        None => None,
        Some(agent) => match load::scope(&mut *tx, agent).await? {
            Some(scope) => Some(scope),
            None => return Ok(Outcome::default()),
        },
    };
    let (facts, decided) =
        load::facts(&mut *tx, now, settings.horizon_days(), scope.as_ref()).await?;
    let loaded = started.elapsed();
    let desired = rules::evaluate(&facts, settings, now);
    let ruled = started.elapsed();
    // Scoped, only the alerts of the problems looked at may change: those listing the host,
    // and those the loaded facts call for.
    let keys = scope.map(|scope| {
        let mut keys = scope.keys;
        keys.extend(desired.iter().map(|alert| alert.key.clone()));
        keys.sort_unstable();
        keys.dedup();
        keys
    });
    if keys.as_ref().is_some_and(Vec::is_empty) {
        // A host with no problem and in no alert, the usual case: nothing to reconcile.
        return Ok(Outcome::default());
    }
    let repeat = settings.repeat_interval;
    let outcome = reconcile::reconcile(&mut *tx, desired, keys.as_deref(), now, repeat).await?;
    load::findings_decided(&mut *tx, &decided).await?;
    tracing::debug!(
        message = "Alert evaluation timing.",
        load_ms = loaded.as_millis(),
        rules_ms = (ruled - loaded).as_millis(),
        reconcile_ms = (started.elapsed() - ruled).as_millis(),
    );
    Ok(outcome)
}

/// Periodic evaluation by whichever server process holds the evaluator lock.
#[derive(Debug)]
pub struct Evaluator {
    settings: Settings,
    lease: Lease,
}

// === impl Evaluator ===

impl Evaluator {
    /// An evaluator that takes connections from `pool`.
    pub fn new(pool: PgPool, settings: Settings) -> Self {
        Self {
            settings,
            lease: Lease::new(pool, LOCK_KEY, "alert evaluation"),
        }
    }

    /// Whether this evaluator holds the lock (as of its last step).
    pub fn is_leader(&self) -> bool {
        self.lease.is_held()
    }

    /// Take the lock if free and, holding it, evaluate at `now`. `None`: another process
    /// evaluates. A failed evaluation gives the lock up with its connection.
    pub async fn step(&mut self, now: DateTime<Utc>) -> Result<Option<Outcome>, sqlx::Error> {
        let Some(mut held) = self.lease.take().await? else {
            return Ok(None);
        };
        let outcome = evaluate_on(&mut held.db, now, &self.settings).await;
        self.lease.settle(held.db, outcome).await.map(Some)
    }

    /// Evaluate every `interval` until `stopped` turns true, then give the lock up.
    pub async fn run(
        mut self,
        interval: std::time::Duration,
        stopped: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut ticks = Ticks::new(interval, stopped);
        while ticks.next().await {
            match self.step(Utc::now()).await {
                Ok(Some(outcome)) if outcome != Outcome::default() => {
                    tracing::info!(
                        message = "Alerts evaluated.",
                        fired = outcome.fired,
                        updated = outcome.updated,
                        resolved = outcome.resolved,
                        notifications = outcome.notifications,
                    );
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(message = "Alert evaluation failed.", %error),
            }
        }
        self.lease.give_up().await;
    }
}
