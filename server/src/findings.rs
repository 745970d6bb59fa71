//! Findings as of a given time, for every active host.
//!
//! The agent's own findings are kept except those that depend on the clock; those are
//! recomputed from the stored dates (certificates present on the host, containers' key periods,
//! the CSP licence) with the agent's rules, so a host that stopped reporting still sees its
//! certificates age.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use tokenwatch_inventory::findings::{Finding, Thresholds, rules};

pub use tokenwatch_inventory::findings::Severity;

/// One finding on one host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostFinding {
    pub agent_id: Uuid,
    pub hostname: String,
    pub code: String,
    pub severity: Severity,
    pub subject: String,
    pub message: String,
    pub remediation: String,
}

/// Findings of every non-revoked host at `now`, with `thresholds` as (warning, critical) days;
/// ordered by host name, then worst first.
pub async fn current_findings(
    pool: &PgPool,
    now: DateTime<Utc>,
    thresholds: (i64, i64),
) -> Result<Vec<HostFinding>, sqlx::Error> {
    let thresholds = Thresholds {
        warning_days: thresholds.0,
        critical_days: thresholds.1,
    };
    let hosts: HashMap<Uuid, String> = sqlx::query_as(
        "select a.id, coalesce(h.hostname, a.hostname) from agents a \
         left join hosts h on h.agent_id = a.id where a.revoked_at is null",
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .collect();

    let mut found: Vec<HostFinding> = Vec::new();
    let reported: Vec<(Uuid, String, Option<String>, String, String, String)> = sqlx::query_as(
        "select f.agent_id, f.code, f.severity, f.subject, f.message, f.remediation \
         from host_findings f join agents a on a.id = f.agent_id \
         where a.revoked_at is null and f.code <> all($1::text[]) \
         order by f.agent_id, f.ordinal",
    )
    .bind(rules::TIME_CODES.map(|code| code.as_str()).as_slice())
    .fetch_all(pool)
    .await?;
    for (agent_id, code, severity, subject, message, remediation) in reported {
        found.push(HostFinding {
            agent_id,
            hostname: String::new(),
            code,
            // An unspecified severity counts as information.
            severity: severity
                .as_deref()
                .and_then(Severity::from_name)
                .unwrap_or(Severity::Info),
            subject,
            message,
            remediation,
        });
    }

    let mut computed: Vec<(Uuid, Finding)> = Vec::new();
    certificates(pool, now, thresholds, &mut computed).await?;
    containers(pool, now, thresholds, &mut computed).await?;
    licences(pool, now, thresholds, &mut computed).await?;
    found.extend(computed.into_iter().map(|(agent_id, c)| HostFinding {
        agent_id,
        hostname: String::new(),
        code: c.code.as_str().to_owned(),
        severity: c.severity,
        remediation: c.remediation,
        subject: c.subject,
        message: c.message,
    }));

    for finding in &mut found {
        finding.hostname = hosts.get(&finding.agent_id).cloned().unwrap_or_default();
    }
    found.sort_by(|a, b| {
        (a.hostname.as_str(), a.agent_id)
            .cmp(&(b.hostname.as_str(), b.agent_id))
            .then_with(|| b.severity.cmp(&a.severity))
            .then_with(|| a.code.cmp(&b.code))
            .then_with(|| a.subject.cmp(&b.subject))
    });
    found.dedup();
    Ok(found)
}

type CertificateRow = (
    Uuid,
    String,
    String,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    bool,
    bool,
);

/// Validity of the certificates present on each host, and the key period of those no container
/// on the host speaks for.
async fn certificates(
    pool: &PgPool,
    now: DateTime<Utc>,
    thresholds: Thresholds,
    out: &mut Vec<(Uuid, Finding)>,
) -> Result<(), sqlx::Error> {
    let rows: Vec<CertificateRow> = sqlx::query_as(
        "select s.agent_id, c.sha1, c.subject, c.subject_cn, c.not_before, c.not_after, \
             c.private_key_not_after, c.is_ca, \
             exists (select 1 from host_containers hc \
                 where hc.agent_id = s.agent_id and hc.certificate_sha1 = c.sha1) \
         from certificate_sightings s \
         join certificates c on c.id = s.certificate_id \
         join agents a on a.id = s.agent_id \
         where s.present and a.revoked_at is null",
    )
    .fetch_all(pool)
    .await?;
    for (agent, sha1, subject, cn, not_before, not_after, key_end, is_ca, in_container) in rows {
        let subject = rules::certificate_subject(&subject, cn.as_deref(), &sha1);
        let mut push = |c: Option<Finding>| out.extend(c.map(|c| (agent, c)));
        if let Some(start) = not_before {
            push(rules::not_yet_valid(&subject, start, now));
        }
        if let Some(end) = not_after {
            if is_ca {
                push(rules::ca_expired(&subject, end, now));
            } else {
                push(rules::expiry(
                    rules::CERTIFICATE,
                    &subject,
                    end,
                    thresholds,
                    now,
                ));
            }
        }
        if let (Some(end), false) = (key_end, in_container) {
            push(rules::expiry(
                rules::PRIVATE_KEY,
                &subject,
                end,
                thresholds,
                now,
            ));
        }
    }
    Ok(())
}

/// Agent, name, path and key end of a container.
type ContainerRow = (Uuid, Option<String>, String, Option<DateTime<Utc>>);

/// Containers' key periods: their own, or their certificate's PrivateKeyUsagePeriod.
async fn containers(
    pool: &PgPool,
    now: DateTime<Utc>,
    thresholds: Thresholds,
    out: &mut Vec<(Uuid, Finding)>,
) -> Result<(), sqlx::Error> {
    let rows: Vec<ContainerRow> = sqlx::query_as(
        "select hc.agent_id, hc.name, hc.path, coalesce(hc.private_key_not_after, \
             (select c.private_key_not_after from certificate_sightings s \
                 join certificates c on c.id = s.certificate_id \
                 where s.agent_id = hc.agent_id and s.present and c.sha1 = hc.certificate_sha1 \
                 order by c.id limit 1)) \
         from host_containers hc join agents a on a.id = hc.agent_id \
         where a.revoked_at is null",
    )
    .fetch_all(pool)
    .await?;
    for (agent, name, path, end) in rows {
        let Some(end) = end else { continue };
        let subject = rules::container_subject(name.as_deref(), &path);
        out.extend(
            rules::expiry(rules::PRIVATE_KEY, &subject, end, thresholds, now).map(|c| (agent, c)),
        );
    }
    Ok(())
}

/// The CryptoPro CSP licence: a demo one always, a paid one near and after its end.
async fn licences(
    pool: &PgPool,
    now: DateTime<Utc>,
    thresholds: Thresholds,
    out: &mut Vec<(Uuid, Finding)>,
) -> Result<(), sqlx::Error> {
    let rows: Vec<(Uuid, Option<DateTime<Utc>>, bool)> = sqlx::query_as(
        "select h.agent_id, h.csp_license_expires, h.csp_license_demo \
         from hosts h join agents a on a.id = h.agent_id \
         where a.revoked_at is null \
             and (h.csp_license_demo or h.csp_license_expires is not null)",
    )
    .fetch_all(pool)
    .await?;
    for (agent, expires, demo) in rows {
        if demo {
            out.push((agent, rules::csp_demo(expires, now)));
        } else if let Some(end) = expires {
            let found = rules::expiry(rules::CSP_LICENSE, rules::CSP_SUBJECT, end, thresholds, now);
            out.extend(found.map(|c| (agent, c)));
        }
    }
    Ok(())
}
