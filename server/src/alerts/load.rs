//! Loading the facts the rules need, with one set-based query per kind. Only dates inside the
//! widest warning window are loaded: most certificates are far from their end.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sqlx::PgConnection;
use tokenwatch_inventory::findings::{Severity, rules};
use uuid::Uuid;

use super::rules::{
    AgentFinding, CertificateFact, ContainerFact, Facts, GoneToken, Host, LicenceFact,
};

/// Everything the rules look at, as of `now`, for dates up to `horizon_days` ahead.
pub(super) async fn facts(
    db: &mut PgConnection,
    now: DateTime<Utc>,
    horizon_days: i64,
) -> Result<Facts, sqlx::Error> {
    let horizon = now + Duration::days(horizon_days);
    Ok(Facts {
        hosts: hosts(db).await?,
        certificates: certificates(db, horizon).await?,
        containers: containers(db, horizon).await?,
        licences: licences(db, horizon).await?,
        gone_tokens: gone_tokens(db).await?,
        findings: findings(db).await?,
    })
}

async fn hosts(db: &mut PgConnection) -> Result<HashMap<Uuid, Host>, sqlx::Error> {
    let rows: Vec<(Uuid, String, i64, DateTime<Utc>)> = sqlx::query_as(
        "select a.id, coalesce(h.hostname, a.hostname), a.office_id, \
             coalesce(a.last_seen_at, a.enrolled_at) \
         from agents a left join hosts h on h.agent_id = a.id where a.revoked_at is null",
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(agent_id, hostname, office_id, last_seen_at)| {
            let host = Host {
                agent_id,
                hostname,
                office_id,
                last_seen_at,
            };
            (agent_id, host)
        })
        .collect())
}

type CertificateRow = (
    String,
    String,
    String,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Vec<Uuid>,
    Vec<bool>,
);

/// Certificates (not CAs) present on an active host whose validity or key period ends before
/// `horizon`, each with its hosts.
async fn certificates(
    db: &mut PgConnection,
    horizon: DateTime<Utc>,
) -> Result<Vec<CertificateFact>, sqlx::Error> {
    let rows: Vec<CertificateRow> = sqlx::query_as(
        "select c.sha256, c.sha1, c.subject, c.subject_cn, c.not_after, c.private_key_not_after, \
             array_agg(s.agent_id order by s.agent_id), \
             array_agg(exists (select 1 from host_containers hc \
                 where hc.agent_id = s.agent_id and hc.certificate_sha1 = c.sha1) \
                 order by s.agent_id) \
         from certificates c \
         join certificate_sightings s on s.certificate_id = c.id and s.present \
         join agents a on a.id = s.agent_id and a.revoked_at is null \
         where not c.is_ca and (c.not_after < $1 or c.private_key_not_after < $1) \
         group by c.id",
    )
    .bind(horizon)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(sha256, sha1, subject, subject_cn, not_after, key_end, agents, held)| {
                CertificateFact {
                    sha256,
                    sha1,
                    subject,
                    subject_cn,
                    not_after,
                    private_key_not_after: key_end,
                    hosts: agents.into_iter().zip(held).collect(),
                }
            },
        )
        .collect())
}

/// Containers whose key period (their own, or their certificate's on that host) ends before
/// `horizon`.
/// Container id, agent, name, path and key end.
type ContainerRow = (i64, Uuid, Option<String>, String, DateTime<Utc>);

async fn containers(
    db: &mut PgConnection,
    horizon: DateTime<Utc>,
) -> Result<Vec<ContainerFact>, sqlx::Error> {
    let rows: Vec<ContainerRow> = sqlx::query_as(
        "select * from ( \
             select hc.container_id, hc.agent_id, hc.name, hc.path, \
                 coalesce(hc.private_key_not_after, \
                     (select c.private_key_not_after from certificate_sightings s \
                         join certificates c on c.id = s.certificate_id \
                         where s.agent_id = hc.agent_id and s.present \
                             and c.sha1 = hc.certificate_sha1 \
                         order by c.id limit 1)) as key_end \
             from host_containers hc join agents a on a.id = hc.agent_id \
             where a.revoked_at is null) k \
         where key_end < $1",
    )
    .bind(horizon)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(container_id, agent_id, name, path, end)| ContainerFact {
            container_id,
            agent_id,
            name,
            path,
            private_key_not_after: end,
        })
        .collect())
}

async fn licences(
    db: &mut PgConnection,
    horizon: DateTime<Utc>,
) -> Result<Vec<LicenceFact>, sqlx::Error> {
    let rows: Vec<(Uuid, Option<DateTime<Utc>>, bool)> = sqlx::query_as(
        "select h.agent_id, h.csp_license_expires, h.csp_license_demo \
         from hosts h join agents a on a.id = h.agent_id \
         where a.revoked_at is null and (h.csp_license_demo or h.csp_license_expires < $1)",
    )
    .bind(horizon)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(agent_id, expires, demo)| LicenceFact {
            agent_id,
            expires,
            demo,
        })
        .collect())
}

/// Token id, model, serial, last sighting and the hosts that had it.
type TokenRow = (i64, String, String, Option<DateTime<Utc>>, Vec<Uuid>);

/// Tokens seen on an active host once and listed by none now.
async fn gone_tokens(db: &mut PgConnection) -> Result<Vec<GoneToken>, sqlx::Error> {
    let rows: Vec<TokenRow> = sqlx::query_as(
        "select t.id, t.model, t.serial, max(s.last_seen_at), \
             array_agg(s.agent_id order by s.agent_id) \
         from tokens t \
         join token_sightings s on s.token_id = t.id \
         join agents a on a.id = s.agent_id and a.revoked_at is null \
         group by t.id having bool_and(not s.present)",
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(token_id, model, serial, last_seen_at, hosts)| {
            Some(GoneToken {
                token_id,
                model,
                serial,
                last_seen_at: last_seen_at?,
                hosts,
            })
        })
        .collect())
}

/// The agents' findings of severity warning or critical, except those the clock decides (the
/// expiry rules recompute them).
async fn findings(db: &mut PgConnection) -> Result<Vec<AgentFinding>, sqlx::Error> {
    let rows: Vec<(Uuid, String, String, String, String, String)> = sqlx::query_as(
        "select f.agent_id, f.code, f.severity, f.subject, f.message, f.remediation \
         from host_findings f join agents a on a.id = f.agent_id \
         where a.revoked_at is null and f.severity in ('warning', 'critical') \
             and f.code <> all($1::text[]) \
         order by f.agent_id, f.ordinal",
    )
    .bind(rules::TIME_CODES.map(|code| code.as_str()).as_slice())
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(agent_id, code, severity, subject, message, remediation)| AgentFinding {
                agent_id,
                code,
                severity: if severity == "critical" {
                    Severity::Critical
                } else {
                    Severity::Warning
                },
                subject,
                message,
                remediation,
            },
        )
        .collect())
}
