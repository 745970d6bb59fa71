//! What the overview shows per office: how many hosts, how many gone silent, what expires
//! within 7, 30 and 90 days, and the findings by severity.

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
    sqlx::query_as(
        "with office as (select o.id, o.name, \
                 $3::interval * coalesce(s.silent_after_intervals, $4) as silent_after \
             from offices o left join office_alert_settings s on s.office_id = o.id \
             where $1::bigint[] is null or o.id = any($1)), \
         host as (select g.id, g.office_id, g.last_seen_at from agents g \
             where g.revoked_at is null and ($1::bigint[] is null or g.office_id = any($1))), \
         certificate as (select distinct h.office_id, c.id, c.not_after from host h \
             join certificate_sightings s on s.agent_id = h.id and s.present \
             join certificates c on c.id = s.certificate_id and not c.is_ca) \
         select o.name as office, \
             (select count(*) from host h where h.office_id = o.id) as hosts, \
             (select count(*) from host h where h.office_id = o.id \
                 and coalesce(h.last_seen_at, '-infinity') < $2 - o.silent_after) as silent_hosts, \
             (select count(*) from host h join token_sightings s on s.agent_id = h.id \
                 and s.present where h.office_id = o.id) as tokens, \
             (select count(*) from host h join host_containers c on c.agent_id = h.id \
                 where h.office_id = o.id) as containers, \
             (select count(*) from host h join host_containers c on c.agent_id = h.id \
                 where h.office_id = o.id and not c.complete) as incomplete_containers, \
             (select count(*) from certificate c where c.office_id = o.id) as certificates, \
             (select count(*) from certificate c where c.office_id = o.id \
                 and c.not_after < $2) as expired, \
             (select count(*) from certificate c where c.office_id = o.id \
                 and c.not_after >= $2 and c.not_after < $2 + interval '7 days') \
                 as expiring_7_days, \
             (select count(*) from certificate c where c.office_id = o.id \
                 and c.not_after >= $2 and c.not_after < $2 + interval '30 days') \
                 as expiring_30_days, \
             (select count(*) from certificate c where c.office_id = o.id \
                 and c.not_after >= $2 and c.not_after < $2 + interval '90 days') \
                 as expiring_90_days, \
             (select count(*) from host h join host_containers c on c.agent_id = h.id \
                 where h.office_id = o.id and c.private_key_not_after >= $2 \
                     and c.private_key_not_after < $2 + interval '30 days') \
                 as private_keys_expiring_30_days, \
             (select count(*) from host h join host_findings f on f.agent_id = h.id \
                 where h.office_id = o.id and f.severity = 'critical') as critical_findings, \
             (select count(*) from host h join host_findings f on f.agent_id = h.id \
                 where h.office_id = o.id and f.severity = 'warning') as warning_findings, \
             (select count(*) from alerts a where a.state = 'firing' and (a.office_id = o.id \
                 or (a.office_id is null and exists (select 1 from alert_hosts ah \
                     join host h on h.id = ah.agent_id \
                     where ah.alert_id = a.id and h.office_id = o.id)))) as firing_alerts \
         from office o order by o.name",
    )
    .bind(seen)
    .bind(now)
    .bind(agent_interval)
    .bind(i32::try_from(default_silent_after).unwrap_or(i32::MAX))
    .fetch_all(pool)
    .await
}
