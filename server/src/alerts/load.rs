//! Loading the facts the rules need, with one set-based query per kind. Only dates inside the
//! widest warning window are loaded: most certificates are far from their end.
//!
//! Each query comes in two forms: over the whole fleet, and around one host ([`Scope`]) for
//! the evaluation that follows its report. The scoped form loads, for every problem that host
//! is part of, everything that problem depends on (a certificate's every host, a finding
//! code's every host in the office), so the rules decide those problems exactly as a full
//! evaluation would.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sqlx::PgConnection;
use tokenwatch_inventory::findings::rules;
use uuid::Uuid;

use super::rules::{
    AgentFinding, CertificateFact, ContainerFact, Facts, GoneContainer, GoneToken, Host,
    LicenceFact,
};

/// What the evaluation after one host's report looks at: that host, and the problems it is
/// part of now or was part of at the last evaluation.
#[derive(Clone, Debug, Default)]
pub(super) struct Scope {
    pub(super) agent: Uuid,
    pub(super) office_id: i64,
    /// Keys of the firing alerts that list the host.
    pub(super) keys: Vec<String>,
    /// SHA-256 of the certificates of those alerts.
    certificates: Vec<String>,
    /// Ids of the tokens of those alerts, and of those the host has let go.
    tokens: Vec<i64>,
    /// Ids of the gone containers of the identities the host has or had (those of its
    /// `container.gone` alerts among them).
    containers: Vec<i64>,
    /// Finding codes of those alerts, and of the host's current findings.
    codes: Vec<String>,
    /// The host, and the hosts of the office's firing alerts for those codes: every host that
    /// can have one of those findings (a host that gets one has its own evaluation).
    finding_hosts: Vec<Uuid>,
}

/// The findings lists (`hosts.section_sha256 ->> 'findings'`) an evaluation decides finding
/// alerts from, by agent, where they differ from the ones recorded.
#[derive(Debug, Default)]
pub(super) struct DecidedFindings {
    /// Hosts whose every finding alert is decided from this list.
    whole: HashMap<Uuid, String>,
    /// Hosts of which only some codes are (the other hosts of a scoped evaluation), and
    /// that have a record.
    partly: HashMap<Uuid, String>,
}

/// Everything the rules look at, as of `now`, for dates up to `horizon_days` ahead: over the
/// whole fleet, or around one host.
pub(super) async fn facts(
    db: &mut PgConnection,
    now: DateTime<Utc>,
    horizon_days: i64,
    scope: Option<&Scope>,
) -> Result<(Facts, DecidedFindings), sqlx::Error> {
    let horizon = now + Duration::days(horizon_days);
    let Some(scope) = scope else {
        let loaded = findings(db, None).await?;
        let facts = Facts {
            hosts: hosts(db, None).await?,
            certificates: certificates(db, horizon, None).await?,
            containers: containers(db, horizon, None).await?,
            licences: licences(db, horizon, None).await?,
            gone_tokens: gone_tokens(db, None).await?,
            gone_containers: gone_containers(db, None).await?,
            findings: loaded.findings,
        };
        return Ok((facts, loaded.decided));
    };
    let loaded = findings(db, Some(scope)).await?;
    let mut facts = Facts {
        // The findings' hosts came with them: an office-wide finding can have a thousand.
        hosts: loaded.hosts,
        certificates: certificates(db, horizon, Some(scope)).await?,
        containers: containers(db, horizon, Some(scope)).await?,
        licences: licences(db, horizon, Some(scope)).await?,
        gone_tokens: gone_tokens(db, Some(scope)).await?,
        gone_containers: gone_containers(db, Some(scope)).await?,
        findings: loaded.findings,
    };
    // Every host the loaded problems name, for their names, offices and thresholds.
    let mut agents = vec![scope.agent];
    agents.extend(
        facts
            .certificates
            .iter()
            .flat_map(|c| c.hosts.iter().map(|h| h.0)),
    );
    agents.extend(facts.containers.iter().map(|c| c.agent_id));
    agents.extend(facts.licences.iter().map(|l| l.agent_id));
    agents.extend(
        facts
            .gone_tokens
            .iter()
            .flat_map(|t| t.hosts.iter().copied()),
    );
    agents.extend(
        facts
            .gone_containers
            .iter()
            .flat_map(|c| c.hosts.iter().copied()),
    );
    agents.retain(|agent| !facts.hosts.contains_key(agent));
    agents.sort_unstable();
    agents.dedup();
    if !agents.is_empty() {
        let others = hosts(db, Some(&agents)).await?;
        facts.hosts.extend(others);
    }
    Ok((facts, loaded.decided))
}

/// Office, alert keys, finding codes, tokens let go and gone containers of a host, and
/// whether its findings list is the one its finding alerts were last decided from.
type ScopeRow = (i64, Vec<String>, Vec<String>, Vec<i64>, Vec<i64>, bool);

/// The scope of an evaluation after `agent` reported; `None` for an unknown or revoked agent.
pub(super) async fn scope(
    db: &mut PgConnection,
    agent: Uuid,
) -> Result<Option<Scope>, sqlx::Error> {
    // One statement: this runs after every changed report. The alerts are looked up one by
    // one from the host's rows: right after many alerts fired the statistics still count few,
    // and a join would scan them all. Besides the alerts listing the host, those of a token
    // or container gone from the hosts that had it and now turned up on this one. `members`:
    // every container of the identities (name and certificate) of the host's containers.
    let row: Option<ScopeRow> = sqlx::query_as(
        "with members as (select c.id from containers mine \
             join containers c on c.id = mine.id or (c.name = mine.name \
                 and c.certificate_sha1 is not distinct from mine.certificate_sha1) \
             where mine.agent_id = $1) \
         select g.office_id, \
             array_remove(array(select (select a.key from alerts a \
                                        where a.id = h.alert_id and a.state = 'firing') \
                                from alert_hosts h where h.agent_id = g.id), null) \
             || array(select a.key from token_sightings s \
                      join alerts a on a.key = 'token.gone:' || s.token_id \
                          and a.state = 'firing' \
                      where s.agent_id = g.id and s.present) \
             || array(select a.key from members m \
                      join alerts a on a.key = 'container.gone:' || m.id \
                          and a.state = 'firing'), \
             array(select distinct code from host_findings where agent_id = g.id \
                   and severity in ('warning', 'critical') and code <> all($2::text[])), \
             array(select token_id from token_sightings where agent_id = g.id and not present), \
             array(select m.id from members m \
                   join container_sightings s on s.container_id = m.id and not s.present), \
             coalesce((select d.findings_sha256 = h.section_sha256 ->> 'findings' \
                       from hosts h join host_findings_decided d on d.agent_id = h.agent_id \
                       where h.agent_id = g.id), false) \
         from agents g where g.id = $1 and g.revoked_at is null",
    )
    .bind(agent)
    .bind(rules::TIME_CODES.map(|code| code.as_str()).as_slice())
    .fetch_optional(&mut *db)
    .await?;
    let Some((office_id, mut keys, mut codes, tokens, containers, findings_decided)) = row else {
        return Ok(None);
    };
    if findings_decided {
        // The office's finding alerts already reflect this host's findings list as it is:
        // other hosts' changes are their own evaluations' to decide.
        keys.retain(|key| !key.starts_with("finding:"));
        codes.clear();
    }
    keys.sort_unstable();
    keys.dedup();
    let mut scope = Scope {
        agent,
        office_id,
        tokens,
        containers,
        ..Scope::default()
    };
    for key in &keys {
        let (kind, rest) = key.split_once(':').unwrap_or((key, ""));
        match kind {
            "certificate" => scope.certificates.push(rest.to_owned()),
            "private_key" if !rest.starts_with("container:") => {
                scope.certificates.push(rest.to_owned());
            }
            "token.gone" => scope.tokens.extend(rest.parse::<i64>().ok()),
            "finding" => {
                // `finding:<code>:<office id>`; codes contain no colon.
                if let Some((code, _)) = rest.split_once(':') {
                    codes.push(code.to_owned());
                }
            }
            _ => {}
        }
    }
    scope.tokens.sort_unstable();
    scope.tokens.dedup();
    codes.sort_unstable();
    codes.dedup();
    let finding_keys: Vec<String> = codes
        .iter()
        .map(|code| format!("finding:{code}:{office_id}"))
        .collect();
    let mut finding_hosts: Vec<Uuid> = if finding_keys.is_empty() {
        Vec::new()
    } else {
        sqlx::query_scalar(
            "select h.agent_id from unnest($1::text[]) as wanted(key) \
         join alerts a on a.key = wanted.key and a.state = 'firing' \
         join alert_hosts h on h.alert_id = a.id",
        )
        .bind(&finding_keys)
        .fetch_all(&mut *db)
        .await?
    };
    finding_hosts.push(agent);
    finding_hosts.sort_unstable();
    finding_hosts.dedup();
    scope.finding_hosts = finding_hosts;
    scope.codes = codes;
    scope.keys = keys;
    Ok(Some(scope))
}

/// Active agents: all, or those of `only`.
async fn hosts(
    db: &mut PgConnection,
    only: Option<&[Uuid]>,
) -> Result<HashMap<Uuid, Host>, sqlx::Error> {
    macro_rules! hosts_sql {
        ($from:literal) => {
            concat!(
                "select a.id, coalesce(h.hostname, a.hostname), a.office_id, \
                     coalesce(a.last_seen_at, a.enrolled_at) from ",
                $from,
                " left join hosts h on h.agent_id = a.id where a.revoked_at is null"
            )
        };
    }
    let rows: Vec<(Uuid, String, i64, DateTime<Utc>)> = match only {
        None => sqlx::query_as(hosts_sql!("agents a")).fetch_all(db).await?,
        Some(agents) => {
            // Driven by the ids: `a.id = any($1)` under a generic plan scans every agent.
            sqlx::query_as(hosts_sql!(
                "unnest($1::uuid[]) as only_(id) join agents a on a.id = only_.id"
            ))
            .bind(agents)
            .fetch_all(db)
            .await?
        }
    };
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
/// `horizon`, each with its hosts; scoped: those on the scope's host or of its alerts.
async fn certificates(
    db: &mut PgConnection,
    horizon: DateTime<Utc>,
    scope: Option<&Scope>,
) -> Result<Vec<CertificateFact>, sqlx::Error> {
    macro_rules! certificates_sql {
        ($filter:literal) => {
            concat!(
                "select c.sha256, c.sha1, c.subject, c.subject_cn, c.not_after, \
                     c.private_key_not_after, \
                     array_agg(s.agent_id order by s.agent_id), \
                     array_agg(exists (select 1 from host_containers hc \
                         where hc.agent_id = s.agent_id and hc.certificate_sha1 = c.sha1) \
                         order by s.agent_id) \
                 from certificates c \
                 join certificate_sightings s on s.certificate_id = c.id and s.present \
                 join agents a on a.id = s.agent_id and a.revoked_at is null \
                 where not c.is_ca and (c.not_after < $1 or c.private_key_not_after < $1)",
                $filter,
                " group by c.id"
            )
        };
    }
    let rows: Vec<CertificateRow> = match scope {
        None => {
            sqlx::query_as(certificates_sql!(""))
                .bind(horizon)
                .fetch_all(db)
                .await?
        }
        Some(scope) => {
            sqlx::query_as(certificates_sql!(
                " and c.id in (select certificate_id from certificate_sightings \
                      where agent_id = $2 and present \
                  union all select id from certificates where sha256 = any($3))"
            ))
            .bind(horizon)
            .bind(scope.agent)
            .bind(&scope.certificates)
            .fetch_all(db)
            .await?
        }
    };
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
    scope: Option<&Scope>,
) -> Result<Vec<ContainerFact>, sqlx::Error> {
    macro_rules! containers_sql {
        ($filter:literal) => {
            concat!(
                "select * from ( \
                     select hc.container_id, hc.agent_id, hc.name, hc.path, \
                         coalesce(hc.private_key_not_after, \
                             (select c.private_key_not_after from certificate_sightings s \
                                 join certificates c on c.id = s.certificate_id \
                                 where s.agent_id = hc.agent_id and s.present \
                                     and c.sha1 = hc.certificate_sha1 \
                                 order by c.id limit 1)) as key_end \
                     from host_containers hc join agents a on a.id = hc.agent_id \
                     where a.revoked_at is null",
                $filter,
                ") k where key_end < $1"
            )
        };
    }
    let rows: Vec<ContainerRow> = match scope {
        None => {
            sqlx::query_as(containers_sql!(""))
                .bind(horizon)
                .fetch_all(db)
                .await?
        }
        Some(scope) => {
            sqlx::query_as(containers_sql!(" and hc.agent_id = $2"))
                .bind(horizon)
                .bind(scope.agent)
                .fetch_all(db)
                .await?
        }
    };
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
    scope: Option<&Scope>,
) -> Result<Vec<LicenceFact>, sqlx::Error> {
    macro_rules! licences_sql {
        ($filter:literal) => {
            concat!(
                "select h.agent_id, h.csp_license_expires, h.csp_license_demo \
                 from hosts h join agents a on a.id = h.agent_id \
                 where a.revoked_at is null \
                     and (h.csp_license_demo or h.csp_license_expires < $1)",
                $filter
            )
        };
    }
    let rows: Vec<(Uuid, Option<DateTime<Utc>>, bool)> = match scope {
        None => {
            sqlx::query_as(licences_sql!(""))
                .bind(horizon)
                .fetch_all(db)
                .await?
        }
        Some(scope) => {
            sqlx::query_as(licences_sql!(" and h.agent_id = $2"))
                .bind(horizon)
                .bind(scope.agent)
                .fetch_all(db)
                .await?
        }
    };
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

/// Tokens seen on an active host once and listed by none now; scoped: of those, the ones the
/// scope's host let go or its alerts name.
async fn gone_tokens(
    db: &mut PgConnection,
    scope: Option<&Scope>,
) -> Result<Vec<GoneToken>, sqlx::Error> {
    macro_rules! tokens_sql {
        ($from:literal) => {
            concat!(
                "select t.id, t.model, t.serial, max(s.last_seen_at), \
                     array_agg(s.agent_id order by s.agent_id) from ",
                $from,
                " join token_sightings s on s.token_id = t.id \
                 join agents a on a.id = s.agent_id and a.revoked_at is null \
                 group by t.id having bool_and(not s.present)"
            )
        };
    }
    let rows: Vec<TokenRow> = match scope {
        None => {
            // From the gone sightings (few, indexed): most tokens are plugged in somewhere.
            sqlx::query_as(tokens_sql!(
                "(select distinct token_id as id from token_sightings where not present) \
                 as only_ join tokens t on t.id = only_.id"
            ))
            .fetch_all(db)
            .await?
        }
        // Most hosts have let no token go: nothing to ask.
        Some(scope) if scope.tokens.is_empty() => Vec::new(),
        Some(scope) => {
            // Driven by the ids: `t.id = any($1)` under a generic plan scans every token.
            sqlx::query_as(tokens_sql!(
                "unnest($1::bigint[]) as only_(id) join tokens t on t.id = only_.id"
            ))
            .bind(&scope.tokens)
            .fetch_all(db)
            .await?
        }
    };
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

/// The representative id, name, path, key end, last sighting and hosts of a gone container.
type GoneContainerRow = (
    i64,
    Option<String>,
    String,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Vec<Uuid>,
);

/// Containers (not on tokens: `token.gone` speaks for those) that left an active host and
/// that no active host lists under the same name and certificate, one row per identity (a
/// container without a name is its own); scoped: those of the scope's gone containers (all
/// of each identity's, see [`Scope`]).
async fn gone_containers(
    db: &mut PgConnection,
    scope: Option<&Scope>,
) -> Result<Vec<GoneContainer>, sqlx::Error> {
    macro_rules! gone_sql {
        ($from:literal) => {
            concat!(
                "select min(c.id), min(c.name), (array_agg(c.path order by c.id))[1], \
                     min(least(c.private_key_not_after, cert.private_key_not_after, \
                         cert.not_after)), \
                     max(s.last_seen_at), array_agg(distinct s.agent_id) from ",
                $from,
                " join containers c on c.id = s.container_id \
                 join agents a on a.id = s.agent_id and a.revoked_at is null \
                 left join lateral (select ce.private_key_not_after, ce.not_after \
                     from certificates ce where ce.sha1 = c.certificate_sha1 \
                     order by ce.id limit 1) cert on true \
                 where not s.present and c.media is distinct from 'token' \
                     and not exists (select 1 from containers o \
                         join container_sightings os on os.container_id = o.id and os.present \
                         join agents oa on oa.id = os.agent_id and oa.revoked_at is null \
                         where o.name = c.name \
                             and o.certificate_sha1 is not distinct from c.certificate_sha1) \
                 group by c.name, c.certificate_sha1, case when c.name is null then c.id end"
            )
        };
    }
    let rows: Vec<GoneContainerRow> = match scope {
        None => {
            sqlx::query_as(gone_sql!("container_sightings s"))
                .fetch_all(db)
                .await?
        }
        Some(scope) if scope.containers.is_empty() => Vec::new(),
        Some(scope) => {
            sqlx::query_as(gone_sql!(
                "unnest($1::bigint[]) as only_(id) \
                 join container_sightings s on s.container_id = only_.id"
            ))
            .bind(&scope.containers)
            .fetch_all(db)
            .await?
        }
    };
    Ok(rows
        .into_iter()
        .filter_map(
            |(container_id, name, path, usable_until, last_seen_at, hosts)| {
                Some(GoneContainer {
                    container_id,
                    name,
                    path,
                    usable_until,
                    last_seen_at: last_seen_at?,
                    hosts,
                })
            },
        )
        .collect())
}

/// The agents' findings of severity warning or critical, except those the clock decides (the
/// expiry rules recompute them); scoped: those of the scope's codes on the scope's finding
/// hosts in its host's office. With them their hosts, and the findings lists they are of
/// ([`DecidedFindings`]).
async fn findings(
    db: &mut PgConnection,
    scope: Option<&Scope>,
) -> Result<LoadedFindings, sqlx::Error> {
    macro_rules! findings_sql {
        ($from:literal, $filter:literal) => {
            concat!(
                "select f.agent_id, f.code, f.severity, f.subject, f.message, f.remediation, \
                     coalesce(h.hostname, a.hostname) as hostname, a.office_id, \
                     coalesce(a.last_seen_at, a.enrolled_at) as last_seen_at, \
                     h.section_sha256 ->> 'findings' as list, d.findings_sha256 as decided \
                 from ",
                $from,
                " join agents a on a.id = f.agent_id join hosts h on h.agent_id = f.agent_id \
                 left join host_findings_decided d on d.agent_id = f.agent_id \
                 where a.revoked_at is null and f.severity in ('warning', 'critical') \
                     and f.code <> all($1::text[])",
                $filter,
                " order by f.agent_id, f.ordinal"
            )
        };
    }
    let time_codes = rules::TIME_CODES.map(|code| code.as_str());
    let rows: Vec<FindingRow> = match scope {
        None => {
            sqlx::query_as(findings_sql!("host_findings f", ""))
                .bind(time_codes.as_slice())
                .fetch_all(db)
                .await?
        }
        Some(scope) if scope.codes.is_empty() => Vec::new(),
        Some(scope) => {
            // Driven by the hosts: a code can be on thousands of hosts of other offices.
            sqlx::query_as(findings_sql!(
                "unnest($4::uuid[]) as only_(id) join host_findings f on f.agent_id = only_.id",
                " and a.office_id = $2 and f.code = any($3)"
            ))
            .bind(time_codes.as_slice())
            .bind(scope.office_id)
            .bind(&scope.codes)
            .bind(&scope.finding_hosts)
            .fetch_all(db)
            .await?
        }
    };
    let mut loaded = LoadedFindings::default();
    for row in rows {
        // Read in the same statement as the findings: the lists these findings are of.
        // Scoped, only the host's own list is decided whole (the others' for some codes).
        if let Some(list) = row.list
            && row.decided.as_ref() != Some(&list)
        {
            if scope.is_none_or(|scope| scope.agent == row.agent_id) {
                loaded.decided.whole.insert(row.agent_id, list);
            } else if row.decided.is_some() {
                loaded.decided.partly.insert(row.agent_id, list);
            }
        }
        // Scoped, the hosts come with their findings; the full evaluation loads every host.
        if scope.is_some() {
            loaded.hosts.entry(row.agent_id).or_insert_with(|| Host {
                agent_id: row.agent_id,
                hostname: row.hostname,
                office_id: row.office_id,
                last_seen_at: row.last_seen_at,
            });
        }
        loaded.findings.push(AgentFinding {
            agent_id: row.agent_id,
            code: row.code,
            severity: super::stored_severity(&row.severity),
            subject: row.subject,
            message: row.message,
            remediation: row.remediation,
        });
    }
    Ok(loaded)
}

/// What [`findings`] loads.
#[derive(Debug, Default)]
struct LoadedFindings {
    findings: Vec<AgentFinding>,
    /// The hosts of those findings (scoped only).
    hosts: HashMap<Uuid, Host>,
    decided: DecidedFindings,
}

/// A finding as [`findings`] reads it, with its host and that host's findings lists.
#[derive(sqlx::FromRow)]
struct FindingRow {
    agent_id: Uuid,
    code: String,
    severity: String,
    subject: String,
    message: String,
    remediation: String,
    hostname: String,
    office_id: i64,
    last_seen_at: DateTime<Utc>,
    /// The hash of the host's findings list now...
    list: Option<String>,
    /// ...and of the one its finding alerts were last decided from.
    decided: Option<String>,
}

/// Record that the finding alerts now reflect these hosts' findings lists; only rows that
/// change are written.
pub(super) async fn findings_decided(
    db: &mut PgConnection,
    decided: &DecidedFindings,
) -> Result<(), sqlx::Error> {
    let columns = |lists: &HashMap<Uuid, String>| -> (Vec<Uuid>, Vec<String>) {
        lists.iter().map(|(a, l)| (*a, l.clone())).unzip()
    };
    if !decided.whole.is_empty() {
        let (agents, lists) = columns(&decided.whole);
        sqlx::query(
            "insert into host_findings_decided as d (agent_id, findings_sha256) \
             select * from unnest($1::uuid[], $2::text[]) \
             on conflict (agent_id) do update set findings_sha256 = excluded.findings_sha256 \
             where d.findings_sha256 is distinct from excluded.findings_sha256",
        )
        .bind(&agents)
        .bind(&lists)
        .execute(&mut *db)
        .await?;
    }
    if !decided.partly.is_empty() {
        // Some alerts now reflect a list other than the recorded one: the record no longer
        // speaks for all of them (should the host's list return to it, its own evaluation
        // must decide again).
        let (agents, lists) = columns(&decided.partly);
        sqlx::query(
            "delete from host_findings_decided d \
             using unnest($1::uuid[], $2::text[]) as u(agent_id, list) \
             where d.agent_id = u.agent_id and d.findings_sha256 <> u.list",
        )
        .bind(&agents)
        .bind(&lists)
        .execute(&mut *db)
        .await?;
    }
    Ok(())
}
