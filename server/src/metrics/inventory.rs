//! The inventory gauges: what PostgreSQL holds, as of one computation.
//!
//! Loading takes a fixed number of statements whatever the fleet's size: one for certificates
//! and their keys, one for agents, one for the per-office counts, one each for firing alerts
//! and notification channels, and the few of
//! [`current_findings`]. Only non-revoked agents count, and only what their latest reports
//! list: a certificate counts where its sighting is `present`, never by its `last_seen_at`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::{DateTime, Utc};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Unit;
use sqlx::{FromRow, PgPool};
use tokenwatch_inventory::findings::Thresholds;

use crate::findings::current_findings;

/// One computation of the inventory gauges.
#[derive(Debug)]
pub(super) struct Inventory {
    certificates: Vec<CertificateRow>,
    agents: Vec<AgentRow>,
    offices: Vec<OfficeRow>,
    /// (office, code, severity) → findings.
    findings: BTreeMap<(String, String, &'static str), i64>,
    /// Firing alerts: (acknowledged, severity) → count, every combination present.
    alerts: BTreeMap<(bool, String), i64>,
    channels: Vec<ChannelRow>,
}

/// A notification channel that has been used: deliveries waiting and failures in a row.
#[derive(Debug, FromRow)]
struct ChannelRow {
    channel: String,
    pending: i64,
    consecutive_failures: i64,
}

/// An end-entity certificate present in an office.
#[derive(Debug, FromRow)]
struct CertificateRow {
    office: String,
    sha1: String,
    subject_cn: String,
    issuer_cn: String,
    qualified: bool,
    not_after: Option<DateTime<Utc>>,
    private_key_not_after: Option<DateTime<Utc>>,
}

/// A non-revoked agent.
#[derive(Debug, FromRow)]
struct AgentRow {
    id: uuid::Uuid,
    agent_id: String,
    hostname: String,
    office: String,
    last_seen_at: Option<DateTime<Utc>>,
}

/// What an office's non-revoked hosts last reported, counted.
#[derive(Debug, FromRow)]
struct OfficeRow {
    office: String,
    agents: i64,
    tokens: i64,
    readers: i64,
    containers_complete: i64,
    containers_incomplete: i64,
}

/// One row per (office, SHA-1): the same certificate on several hosts of an office is one
/// series. Where a thumbprint has both a full identity and a certmgr-only one (`sha1:` key),
/// the full one speaks. The key's end comes from the containers holding it in the office (the
/// earliest, should copies disagree), else from the certificate's PrivateKeyUsagePeriod.
const CERTIFICATES: &str = "\
    with present as ( \
        select distinct on (a.office_id, c.sha1) a.office_id, c.sha1, c.subject_cn, \
            c.issuer_cn, c.qualified, c.not_after, c.private_key_not_after \
        from certificate_sightings s \
        join certificates c on c.id = s.certificate_id \
        join agents a on a.id = s.agent_id \
        where s.present and a.revoked_at is null and not c.is_ca \
        order by a.office_id, c.sha1, c.sha256 like 'sha1:%', c.id \
    ), keys as ( \
        select a.office_id, hc.certificate_sha1 as sha1, \
            min(hc.private_key_not_after) as not_after \
        from host_containers hc join agents a on a.id = hc.agent_id \
        where a.revoked_at is null and hc.certificate_sha1 is not null \
            and hc.private_key_not_after is not null \
        group by a.office_id, hc.certificate_sha1 \
    ) \
    select o.name as office, p.sha1, coalesce(p.subject_cn, '') as subject_cn, \
        coalesce(p.issuer_cn, '') as issuer_cn, p.qualified, p.not_after, \
        coalesce(k.not_after, p.private_key_not_after) as private_key_not_after \
    from present p \
    join offices o on o.id = p.office_id \
    left join keys k on k.office_id = p.office_id and k.sha1 = p.sha1 \
    order by o.name, p.sha1";

const AGENTS: &str = "\
    select a.id, a.id::text as agent_id, coalesce(h.hostname, a.hostname) as hostname, \
        o.name as office, a.last_seen_at \
    from agents a \
    join offices o on o.id = a.office_id \
    left join hosts h on h.agent_id = a.id \
    where a.revoked_at is null \
    order by o.name, a.id";

/// Every office, with zeros where it has nothing: an office whose last agent was revoked shows
/// 0 rather than vanishing.
const OFFICES: &str = "\
    with live as (select id, office_id from agents where revoked_at is null), \
    t as (select l.office_id, count(*) as n from host_tokens x join live l on l.id = x.agent_id \
        group by l.office_id), \
    r as (select l.office_id, count(*) as n from host_readers x join live l on l.id = x.agent_id \
        group by l.office_id), \
    k as (select l.office_id, count(*) filter (where x.complete) as complete, \
            count(*) filter (where not x.complete) as incomplete \
        from host_containers x join live l on l.id = x.agent_id group by l.office_id), \
    g as (select office_id, count(*) as n from live group by office_id) \
    select o.name as office, coalesce(g.n, 0) as agents, coalesce(t.n, 0) as tokens, \
        coalesce(r.n, 0) as readers, coalesce(k.complete, 0) as containers_complete, \
        coalesce(k.incomplete, 0) as containers_incomplete \
    from offices o \
    left join g on g.office_id = o.id \
    left join t on t.office_id = o.id \
    left join r on r.office_id = o.id \
    left join k on k.office_id = o.id \
    order by o.name";

/// Firing alerts by acknowledgement and severity, zeros included.
const ALERTS: &str = "\
    select ack, severity, \
        (select count(*) from alerts a where a.state = 'firing' and a.severity = s.severity \
            and (a.acknowledged_at is not null) = ack) \
    from (values ('warning'), ('critical')) as s(severity), (values (false), (true)) as b(ack)";

/// Every channel with a status or a delivery waiting.
const CHANNELS: &str = "\
    with waiting as (select channel, count(*) as n from notification_deliveries \
        where delivered_at is null and abandoned_at is null group by channel) \
    select coalesce(c.name, w.channel) as channel, coalesce(w.n, 0) as pending, \
        coalesce(c.consecutive_failures, 0)::bigint as consecutive_failures \
    from notification_channels c full join waiting w on w.channel = c.name \
    order by 1";

// === impl Inventory ===

impl Inventory {
    /// Compute the gauges as of `now`; the channels `configured` show even before their first
    /// delivery.
    pub(super) async fn load(
        pool: &PgPool,
        now: DateTime<Utc>,
        configured: &[String],
    ) -> Result<Self, sqlx::Error> {
        let certificates = sqlx::query_as(CERTIFICATES).fetch_all(pool).await?;
        let agents: Vec<AgentRow> = sqlx::query_as(AGENTS).fetch_all(pool).await?;
        let offices = sqlx::query_as(OFFICES).fetch_all(pool).await?;
        let alert_rows: Vec<(bool, String, i64)> = sqlx::query_as(ALERTS).fetch_all(pool).await?;
        let alerts = alert_rows
            .into_iter()
            .map(|(ack, severity, n)| ((ack, severity), n))
            .collect();
        let mut channels: Vec<ChannelRow> = sqlx::query_as(CHANNELS).fetch_all(pool).await?;
        for name in configured {
            if !channels.iter().any(|c| &c.channel == name) {
                channels.push(ChannelRow {
                    channel: name.clone(),
                    pending: 0,
                    consecutive_failures: 0,
                });
            }
        }
        channels.sort_by(|a, b| a.channel.cmp(&b.channel));
        // The server's own view of findings: the agents' clock-free findings plus the expiry
        // findings recomputed at `now`, so that a silent host's certificates still age. The
        // thresholds are the agent's defaults, as in the shipped alert rules.
        let thresholds = Thresholds::default();
        let found = current_findings(
            pool,
            now,
            (thresholds.warning_days, thresholds.critical_days),
        )
        .await?;
        let office_of: HashMap<uuid::Uuid, &str> =
            agents.iter().map(|a| (a.id, a.office.as_str())).collect();
        let mut findings = BTreeMap::new();
        for finding in found {
            // An agent revoked between the two queries has no office here: it no longer counts.
            let Some(office) = office_of.get(&finding.agent_id) else {
                continue;
            };
            let key = (
                (*office).to_owned(),
                finding.code,
                finding.severity.as_str(),
            );
            *findings.entry(key).or_insert(0) += 1;
        }
        Ok(Self {
            certificates,
            agents,
            offices,
            findings,
            alerts,
            channels,
        })
    }
}

impl Collector for Inventory {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let seconds = Some(&Unit::Seconds);
        gauges(
            &mut encoder,
            "tokenwatch_certificate_not_after",
            "End of validity (unix time) of each end-entity certificate present on a \
             non-revoked host, per office.",
            seconds,
            self.certificates
                .iter()
                .filter_map(|c| Some((c.labels(), c.not_after?.timestamp()))),
        )?;
        gauges(
            &mut encoder,
            "tokenwatch_private_key_not_after",
            "End of the private key's usage period (unix time): the key container's, else the \
             certificate's PrivateKeyUsagePeriod; only where known.",
            seconds,
            self.certificates
                .iter()
                .filter_map(|c| Some((c.labels(), c.private_key_not_after?.timestamp()))),
        )?;
        gauges(
            &mut encoder,
            "tokenwatch_agent_last_seen",
            "When each non-revoked agent last reported (unix time).",
            seconds,
            self.agents.iter().filter_map(|a| {
                let labels = [
                    ("agent_id", a.agent_id.as_str()),
                    ("hostname", a.hostname.as_str()),
                    ("office", a.office.as_str()),
                ];
                Some((labels, a.last_seen_at?.timestamp()))
            }),
        )?;
        self.encode_offices(&mut encoder)?;
        gauges(
            &mut encoder,
            "tokenwatch_findings",
            "Current findings per office by code and severity, the server's expiry findings \
             included.",
            None,
            self.findings.iter().map(|((office, code, severity), n)| {
                let labels = [
                    ("office", office.as_str()),
                    ("code", code.as_str()),
                    ("severity", *severity),
                ];
                (labels, *n)
            }),
        )?;
        self.encode_alerting(&mut encoder)
    }
}

impl Inventory {
    fn encode_alerting(&self, encoder: &mut DescriptorEncoder<'_>) -> fmt::Result {
        gauges(
            encoder,
            "tokenwatch_alerts_firing",
            "Firing alerts by severity and whether someone acknowledged them.",
            None,
            self.alerts.iter().map(|((ack, severity), n)| {
                let labels = [
                    ("severity", severity.as_str()),
                    ("acknowledged", if *ack { "true" } else { "false" }),
                ];
                (labels, *n)
            }),
        )?;
        gauges(
            encoder,
            "tokenwatch_notification_deliveries_pending",
            "Notifications waiting for their channel: due, or backing off after a failure.",
            None,
            self.channels
                .iter()
                .map(|c| ([("channel", c.channel.as_str())], c.pending)),
        )?;
        gauges(
            encoder,
            "tokenwatch_notification_channel_consecutive_failures",
            "Failed attempts of the channel since its last success; above zero it is failing.",
            None,
            self.channels
                .iter()
                .map(|c| ([("channel", c.channel.as_str())], c.consecutive_failures)),
        )
    }
}

impl Inventory {
    fn encode_offices(&self, encoder: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let per_office = |value: fn(&OfficeRow) -> i64| {
            self.offices
                .iter()
                .map(move |o| ([("office", o.office.as_str())], value(o)))
        };
        gauges(
            encoder,
            "tokenwatch_agents",
            "Non-revoked agents per office.",
            None,
            per_office(|o| o.agents),
        )?;
        gauges(
            encoder,
            "tokenwatch_tokens",
            "Tokens on the office's hosts, as last reported.",
            None,
            per_office(|o| o.tokens),
        )?;
        gauges(
            encoder,
            "tokenwatch_readers",
            "Smart-card readers on the office's hosts, as last reported.",
            None,
            per_office(|o| o.readers),
        )?;
        gauges(
            encoder,
            "tokenwatch_containers",
            "Key containers on the office's hosts, as last reported, by completeness.",
            None,
            self.offices.iter().flat_map(|o| {
                let office = o.office.as_str();
                [
                    (
                        [("office", office), ("complete", "true")],
                        o.containers_complete,
                    ),
                    (
                        [("office", office), ("complete", "false")],
                        o.containers_incomplete,
                    ),
                ]
            }),
        )
    }
}

// === impl CertificateRow ===

impl CertificateRow {
    fn labels(&self) -> [(&'static str, &str); 5] {
        [
            ("sha1", self.sha1.as_str()),
            ("subject_cn", self.subject_cn.as_str()),
            ("issuer_cn", self.issuer_cn.as_str()),
            ("office", self.office.as_str()),
            ("qualified", if self.qualified { "true" } else { "false" }),
        ]
    }
}

/// One gauge family: its description, then one sample per label set. The queries make the
/// label sets unique (one row per office and thumbprint, per agent, per office).
fn gauges<L: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    series: impl IntoIterator<Item = (L, i64)>,
) -> fmt::Result {
    let mut family = encoder.encode_descriptor(name, help, unit, MetricType::Gauge)?;
    for (labels, value) in series {
        ConstGauge::new(value).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}
