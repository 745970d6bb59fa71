//! One host with everything its agent last reported, for the host page.

use sqlx::PgPool;
use uuid::Uuid;

/// Host `agent` as one JSON document (facts, readers, tokens, key containers, certificates,
/// findings with their remediation, collectors), if it is of the offices `seen` (`None`: all).
pub async fn host(
    pool: &PgPool,
    agent: Uuid,
    seen: Option<&[i64]>,
) -> Result<Option<serde_json::Value>, sqlx::Error> {
    // Each list in the order the agent reported it.
    sqlx::query_scalar(
        "select jsonb_build_object('agent_id', g.id, 'hostname', g.hostname, 'office', o.name, \
             'enrolled_at', g.enrolled_at, 'last_seen_at', g.last_seen_at, \
             'revoked_at', g.revoked_at, 'certificate_not_after', g.certificate_not_after, \
             'os', h.os, 'os_version', h.os_version, 'arch', h.arch, \
             'agent_version', h.agent_version, 'collected_at', h.collected_at, \
             'components', h.components, \
             'findings', (select coalesce(jsonb_agg(jsonb_build_object('code', f.code, \
                     'severity', f.severity, 'subject', f.subject, 'message', f.message, \
                     'remediation', f.remediation) order by f.ordinal), '[]') \
                 from host_findings f where f.agent_id = g.id), \
             'readers', (select coalesce(jsonb_agg(to_jsonb(r) - 'agent_id' - 'ordinal' \
                     - 'office_id' - 'hostname' \
                     order by r.ordinal), '[]') \
                 from host_readers r where r.agent_id = g.id), \
             'tokens', (select coalesce(jsonb_agg(to_jsonb(t) - 'agent_id' - 'ordinal' \
                     order by t.ordinal), '[]') \
                 from host_tokens t where t.agent_id = g.id), \
             'containers', (select coalesce(jsonb_agg(to_jsonb(c) - 'agent_id' - 'ordinal' \
                     - 'office_id' - 'hostname' \
                     order by c.ordinal), '[]') \
                 from host_containers c where c.agent_id = g.id), \
             'certificates', (select coalesce(jsonb_agg(jsonb_build_object( \
                     'sha256', c.sha256, 'sha1', c.sha1, 'subject_cn', c.subject_cn, \
                     'subject', c.subject, 'issuer_cn', c.issuer_cn, 'inn', c.inn, \
                     'inn_le', c.inn_le, 'ogrn', c.ogrn, 'snils', c.snils, \
                     'not_before', c.not_before, 'not_after', c.not_after, \
                     'private_key_not_after', c.private_key_not_after, \
                     'qualified', c.qualified, 'is_ca', c.is_ca, 'sources', s.sources, \
                     'issuer_present', s.issuer_present, 'first_seen_at', s.first_seen_at) \
                     order by c.not_after nulls last, c.id), '[]') \
                 from certificate_sightings s join certificates c on c.id = s.certificate_id \
                 where s.agent_id = g.id and s.present), \
             'collectors', (select coalesce(jsonb_agg(to_jsonb(k) - 'agent_id' - 'ordinal' \
                     order by k.ordinal), '[]') \
                 from host_collectors k where k.agent_id = g.id)) \
         from agents g join offices o on o.id = g.office_id \
         left join hosts h on h.agent_id = g.id \
         where g.id = $1 and ($2::bigint[] is null or g.office_id = any($2))",
    )
    .bind(agent)
    .bind(seen)
    .fetch_optional(pool)
    .await
}
