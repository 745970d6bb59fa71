//! What the overview shows per office: how many hosts, how many gone silent, what expires
//! within 7, 30 and 90 days, and the findings by severity.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::PgPool;

/// One office's counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct OfficeSummary {
    pub office: String,
    pub hosts: i64,
    /// Hosts without a report for the office's `silent_after_intervals` agent intervals.
    pub silent_hosts: i64,
    pub tokens: i64,
    pub containers: i64,
    pub incomplete_containers: i64,
    /// Certificates other than CAs' present on the office's hosts.
    pub certificates: i64,
    pub expired: i64,
    pub expiring_7_days: i64,
    pub expiring_30_days: i64,
    pub expiring_90_days: i64,
    /// Key containers whose private key ends within 30 days.
    pub private_keys_expiring_30_days: i64,
    pub critical_findings: i64,
    pub warning_findings: i64,
    pub firing_alerts: i64,
}

/// The offices `seen` (`None`: all), by name, at `now`. An agent is silent after
/// `agent_interval` times the office's `silent_after_intervals` (`default_silent_after` when the
/// office has no override).
pub async fn summary(
    pool: &PgPool,
    seen: Option<&[i64]>,
    now: DateTime<Utc>,
    agent_interval: Duration,
    default_silent_after: u32,
) -> Result<Vec<OfficeSummary>, sqlx::Error> {
    // One pass per table, grouped by office, rather than a subquery per office and count: the
    // fleet's sightings are read once however many offices there are.
    sqlx::query_as(
        "with office as (select o.id, o.name, \
                 $3::interval * coalesce(s.silent_after_intervals, $4) as silent_after \
             from offices o left join office_alert_settings s on s.office_id = o.id \
             where $1::bigint[] is null or o.id = any($1)), \
         host as (select g.id, g.office_id, g.last_seen_at from agents g \
             join office o on o.id = g.office_id where g.revoked_at is null), \
         hosts as (select h.office_id, count(*) as hosts, \
                 count(*) filter (where coalesce(h.last_seen_at, '-infinity') \
                     < $2 - o.silent_after) as silent \
             from host h join office o on o.id = h.office_id group by h.office_id), \
         tokens as (select h.office_id, count(*) as tokens from host h \
             join token_sightings s on s.agent_id = h.id and s.present group by h.office_id), \
         containers as (select h.office_id, count(*) as containers, \
                 count(*) filter (where not c.complete) as incomplete, \
                 count(*) filter (where c.private_key_not_after >= $2 \
                     and c.private_key_not_after < $2 + interval '30 days') as keys_30 \
             from host h join host_containers c on c.agent_id = h.id group by h.office_id), \
         certificates as (select c.office_id, count(*) as certificates, \
                 count(*) filter (where c.not_after < $2) as expired, \
                 count(*) filter (where c.not_after >= $2 \
                     and c.not_after < $2 + interval '7 days') as within_7, \
                 count(*) filter (where c.not_after >= $2 \
                     and c.not_after < $2 + interval '30 days') as within_30, \
                 count(*) filter (where c.not_after >= $2 \
                     and c.not_after < $2 + interval '90 days') as within_90 \
             from office_certificates c join office o on o.id = c.office_id \
             where not c.is_ca group by c.office_id), \
         findings as (select h.office_id, \
                 count(*) filter (where f.severity = 'critical') as critical, \
                 count(*) filter (where f.severity = 'warning') as warning \
             from host h join host_findings f on f.agent_id = h.id group by h.office_id), \
         alerts as (select x.office_id, count(distinct x.id) as firing from ( \
                 select a.id, a.office_id from alerts a \
                     where a.state = 'firing' and a.office_id is not null \
                 union all \
                 select a.id, h.office_id from alerts a \
                     join alert_hosts ah on ah.alert_id = a.id join host h on h.id = ah.agent_id \
                     where a.state = 'firing' and a.office_id is null) x \
             group by x.office_id) \
         select o.name as office, coalesce(h.hosts, 0) as hosts, \
             coalesce(h.silent, 0) as silent_hosts, coalesce(t.tokens, 0) as tokens, \
             coalesce(c.containers, 0) as containers, \
             coalesce(c.incomplete, 0) as incomplete_containers, \
             coalesce(k.certificates, 0) as certificates, coalesce(k.expired, 0) as expired, \
             coalesce(k.within_7, 0) as expiring_7_days, \
             coalesce(k.within_30, 0) as expiring_30_days, \
             coalesce(k.within_90, 0) as expiring_90_days, \
             coalesce(c.keys_30, 0) as private_keys_expiring_30_days, \
             coalesce(f.critical, 0) as critical_findings, \
             coalesce(f.warning, 0) as warning_findings, \
             coalesce(a.firing, 0) as firing_alerts \
         from office o \
         left join hosts h on h.office_id = o.id left join tokens t on t.office_id = o.id \
         left join containers c on c.office_id = o.id \
         left join certificates k on k.office_id = o.id \
         left join findings f on f.office_id = o.id left join alerts a on a.office_id = o.id \
         order by o.name",
    )
    // Planned for the offices at hand: one office's hosts are read through their indexes,
    // every office's by scanning.
    .persistent(false)
    .bind(seen)
    .bind(now)
    .bind(agent_interval)
    .bind(i32::try_from(default_silent_after).unwrap_or(i32::MAX))
    .fetch_all(pool)
    .await
}

/// The summaries counted lately, per set of offices read. Counting every office of a
/// 100,000-host fleet reads millions of rows (about 2 s); the overview and `/api/v1/summary` are
/// opened far more often than their counts move by a day's worth. So a count younger than
/// `max_age` is served as it is; one older, up to [`STALE_SERVED`] times `max_age`, is served
/// while it is counted again in the background; an older one, or none, is counted while the
/// reader waits.
#[derive(Debug)]
pub struct Summaries {
    max_age: std::time::Duration,
    /// One slot per set of offices (sorted; `None`: all).
    slots: Mutex<HashMap<Option<Vec<i64>>, Arc<Slot>>>,
}

/// How many times `max_age` a count may be served while a new one is made.
pub const STALE_SERVED: u32 = 10;

#[derive(Debug, Default)]
struct Slot {
    kept: Mutex<Option<(Instant, Arc<Vec<OfficeSummary>>)>>,
    /// Held by whoever counts, so that readers of an outdated slot wait for one count (or
    /// leave it to the background one) instead of each starting their own.
    counting: Arc<tokio::sync::Mutex<()>>,
}

impl Slot {
    fn kept(&self) -> Option<(Instant, Arc<Vec<OfficeSummary>>)> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn keep(&self, offices: Arc<Vec<OfficeSummary>>) {
        *self.kept.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), offices));
    }
}

impl Summaries {
    pub fn new(max_age: std::time::Duration) -> Self {
        Self {
            max_age,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// [`summary`] of the offices `seen`, as counted lately.
    pub async fn get(
        &self,
        pool: &PgPool,
        seen: Option<&[i64]>,
        agent_interval: Duration,
        default_silent_after: u32,
    ) -> Result<Arc<Vec<OfficeSummary>>, sqlx::Error> {
        let key = seen.map(|offices| {
            let mut offices = offices.to_vec();
            offices.sort_unstable();
            offices.dedup();
            offices
        });
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(slots.entry(key.clone()).or_default())
        };
        if let Some((at, offices)) = slot.kept() {
            if at.elapsed() < self.max_age {
                return Ok(offices);
            }
            if at.elapsed() < self.max_age * STALE_SERVED {
                if let Ok(counting) = Arc::clone(&slot.counting).try_lock_owned() {
                    let (pool, slot) = (pool.clone(), Arc::clone(&slot));
                    tokio::spawn(async move {
                        let _counting = counting;
                        let now = Utc::now();
                        match summary(
                            &pool,
                            key.as_deref(),
                            now,
                            agent_interval,
                            default_silent_after,
                        )
                        .await
                        {
                            Ok(offices) => slot.keep(Arc::new(offices)),
                            // The next reader tries again.
                            Err(error) => tracing::warn!(%error, "counting the summary failed"),
                        }
                    });
                }
                return Ok(offices);
            }
        }
        let _counting = slot.counting.lock().await;
        if let Some((at, offices)) = slot.kept() {
            if at.elapsed() < self.max_age {
                return Ok(offices);
            }
        }
        let offices =
            Arc::new(summary(pool, seen, Utc::now(), agent_interval, default_silent_after).await?);
        slot.keep(Arc::clone(&offices));
        Ok(offices)
    }
}
