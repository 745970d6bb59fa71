//! The alert rules, pure: from the facts loaded at `now` and the thresholds to the set of alerts
//! that should be firing, one per problem, each listing every host it concerns.
//!
//! Expiry uses the shared findings rules (`tokenwatch_inventory::findings::rules`), so an alert
//! reads like the finding on each host and agrees with it on every threshold.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use tokenwatch_inventory::findings::{Finding, Severity, Thresholds, rules};
use uuid::Uuid;

use super::Settings;

/// A host as the rules see it.
#[derive(Clone, Debug)]
pub struct Host {
    pub agent_id: Uuid,
    pub hostname: String,
    pub office_id: i64,
    /// Its last report; the enrolment time for an agent that never reported.
    pub last_seen_at: DateTime<Utc>,
}

/// A certificate present on some hosts, with the dates that can lapse.
#[derive(Clone, Debug)]
pub struct CertificateFact {
    pub sha256: String,
    pub sha1: String,
    pub subject: String,
    pub subject_cn: Option<String>,
    pub not_after: Option<DateTime<Utc>>,
    pub private_key_not_after: Option<DateTime<Utc>>,
    /// The hosts it is present on, and whether a container there speaks for its key.
    pub hosts: Vec<(Uuid, bool)>,
}

/// A key container present on a host, with its key's end (its own, or its certificate's).
#[derive(Clone, Debug)]
pub struct ContainerFact {
    pub container_id: i64,
    pub agent_id: Uuid,
    pub name: Option<String>,
    pub path: String,
    pub private_key_not_after: DateTime<Utc>,
}

/// A host's CryptoPro CSP licence.
#[derive(Clone, Debug)]
pub struct LicenceFact {
    pub agent_id: Uuid,
    pub expires: Option<DateTime<Utc>>,
    pub demo: bool,
}

/// A token no active host lists any more, with the hosts that last had it.
#[derive(Clone, Debug)]
pub struct GoneToken {
    pub token_id: i64,
    pub model: String,
    pub serial: String,
    pub last_seen_at: DateTime<Utc>,
    pub hosts: Vec<Uuid>,
}

/// A key container no active host lists any more (under its name and certificate, on any
/// host), whose key could still sign when last seen; the containers of one identity are one.
#[derive(Clone, Debug)]
pub struct GoneContainer {
    /// The lowest id of the containers of this identity: the alert's key.
    pub container_id: i64,
    pub name: Option<String>,
    /// Where the lowest id was.
    pub path: String,
    /// When the key stops signing: the earliest of its own period and its certificate's dates;
    /// `None` when none is known.
    pub usable_until: Option<DateTime<Utc>>,
    pub last_seen_at: DateTime<Utc>,
    pub hosts: Vec<Uuid>,
}

/// A finding an agent reported (clock-independent codes only), of severity warning or worse.
#[derive(Clone, Debug)]
pub struct AgentFinding {
    pub agent_id: Uuid,
    pub code: String,
    pub severity: Severity,
    pub subject: String,
    pub message: String,
    pub remediation: String,
}

/// Everything the rules look at.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// Every active (not revoked) agent.
    pub hosts: HashMap<Uuid, Host>,
    pub certificates: Vec<CertificateFact>,
    pub containers: Vec<ContainerFact>,
    pub licences: Vec<LicenceFact>,
    pub gone_tokens: Vec<GoneToken>,
    pub gone_containers: Vec<GoneContainer>,
    pub findings: Vec<AgentFinding>,
}

/// An alert that should be firing.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    pub key: String,
    pub rule: String,
    pub severity: Severity,
    pub office_id: Option<i64>,
    pub subject: String,
    pub summary: String,
    pub remediation: String,
    /// Agent id and host name, ordered by host name.
    pub hosts: Vec<(Uuid, String)>,
    /// What silences match on besides office, rule and hosts (`certificate`).
    pub labels: serde_json::Value,
}

/// The alerts that should be firing at `now`, ordered by key.
pub fn evaluate(facts: &Facts, settings: &Settings, now: DateTime<Utc>) -> Vec<Desired> {
    let mut out = Vec::new();
    certificates(facts, settings, now, &mut out);
    containers(facts, settings, now, &mut out);
    licences(facts, settings, now, &mut out);
    silent_agents(facts, settings, now, &mut out);
    gone_tokens(facts, settings, now, &mut out);
    gone_containers(facts, settings, now, &mut out);
    agent_findings(facts, &mut out);
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

/// One alert per certificate for its validity and one for its private key's usage period, over
/// every host it is on. Each host's office decides the thresholds there; the worst wins.
fn certificates(facts: &Facts, settings: &Settings, now: DateTime<Utc>, out: &mut Vec<Desired>) {
    for cert in &facts.certificates {
        let subject =
            rules::certificate_subject(&cert.subject, cert.subject_cn.as_deref(), &cert.sha1);
        let labels = json!({ "certificate": cert.sha256 });
        if let Some(end) = cert.not_after {
            let on = cert.hosts.iter().map(|(agent, _)| *agent);
            let found = worst_over(facts, settings, on, |t| {
                rules::expiry(rules::CERTIFICATE, &subject, end, t, now)
            });
            out.extend(found.map(|(finding, hosts)| {
                desired(
                    facts,
                    format!("certificate:{}", cert.sha256),
                    finding,
                    hosts,
                    labels.clone(),
                )
            }));
        }
        if let Some(end) = cert.private_key_not_after {
            // Where a container holds the key, its own period speaks (see `containers`).
            let on = cert
                .hosts
                .iter()
                .filter(|(_, held)| !held)
                .map(|(agent, _)| *agent);
            let found = worst_over(facts, settings, on, |t| {
                rules::expiry(rules::PRIVATE_KEY, &subject, end, t, now)
            });
            out.extend(found.map(|(finding, hosts)| {
                desired(
                    facts,
                    format!("private_key:{}", cert.sha256),
                    finding,
                    hosts,
                    labels.clone(),
                )
            }));
        }
    }
}

fn containers(facts: &Facts, settings: &Settings, now: DateTime<Utc>, out: &mut Vec<Desired>) {
    for container in &facts.containers {
        let subject = rules::container_subject(container.name.as_deref(), &container.path);
        let end = container.private_key_not_after;
        let found = worst_over(facts, settings, [container.agent_id], |t| {
            rules::expiry(rules::PRIVATE_KEY, &subject, end, t, now)
        });
        out.extend(found.map(|(finding, hosts)| {
            let key = format!("private_key:container:{}", container.container_id);
            desired(facts, key, finding, hosts, json!({}))
        }));
    }
}

/// A licence belongs to one host: one alert per host, expiring → expired under one key.
fn licences(facts: &Facts, settings: &Settings, now: DateTime<Utc>, out: &mut Vec<Desired>) {
    for licence in &facts.licences {
        let found = worst_over(facts, settings, [licence.agent_id], |t| {
            if licence.demo {
                Some(rules::csp_demo(licence.expires, now))
            } else {
                let end = licence.expires?;
                rules::expiry(rules::CSP_LICENSE, rules::CSP_SUBJECT, end, t, now)
            }
        });
        out.extend(found.map(|(finding, hosts)| {
            let key = format!("cryptopro.license:{}", licence.agent_id);
            desired(facts, key, finding, hosts, json!({}))
        }));
    }
}

/// An agent that has not reported for more than its office's number of intervals.
fn silent_agents(facts: &Facts, settings: &Settings, now: DateTime<Utc>, out: &mut Vec<Desired>) {
    for host in facts.hosts.values() {
        let intervals = settings.office(host.office_id).silent_after_intervals;
        let limit = settings.agent_interval * i32::try_from(intervals).unwrap_or(i32::MAX);
        if now - host.last_seen_at <= limit {
            continue;
        }
        out.push(Desired {
            key: format!("agent.silent:{}", host.agent_id),
            rule: SILENT.to_owned(),
            severity: Severity::Warning,
            office_id: Some(host.office_id),
            subject: format!("agent on {}", host.hostname),
            summary: format!(
                "The agent has not reported since {}.",
                rules::day(host.last_seen_at)
            ),
            remediation: SILENT_REMEDIATION.to_owned(),
            hosts: vec![(host.agent_id, host.hostname.clone())],
            labels: json!({}),
        });
    }
}

/// The rule name of a silent agent.
pub const SILENT: &str = "agent.silent";
const SILENT_REMEDIATION: &str = "Check that the computer is on and on the network, then that \
    the tokenwatch agent service runs (systemctl status tokenwatch-agent) and can reach the \
    server.";

/// The rule name of a token no host lists any more.
pub const TOKEN_GONE: &str = "token.gone";
const TOKEN_GONE_REMEDIATION: &str = "Ask the token's user where it is: a token left at home or \
    with a colleague comes back at the next report once plugged in; a lost one must be blocked \
    with its certification authority and its certificates revoked.";

/// The rule name of a key container no host lists any more.
pub const CONTAINER_GONE: &str = "container.gone";
const CONTAINER_GONE_REMEDIATION: &str = "Find the flash drive or computer the container was \
    on: a container on removable media comes back at the next report once the drive is plugged \
    in. One deleted from the disk or registry must be restored from a backup copy of its folder; \
    if the media may be in someone else's hands, have the certificate revoked and a new key \
    issued.";

fn gone_tokens(facts: &Facts, settings: &Settings, now: DateTime<Utc>, out: &mut Vec<Desired>) {
    for token in &facts.gone_tokens {
        if !gone_long_enough(facts, settings, now, token.last_seen_at, &token.hosts) {
            continue;
        }
        let alert = Desired {
            key: format!("token.gone:{}", token.token_id),
            rule: TOKEN_GONE.to_owned(),
            severity: Severity::Warning,
            office_id: None,
            subject: format!("token {} (serial {})", token.model, token.serial),
            summary: format!(
                "No host has seen the token since {}.",
                rules::day(token.last_seen_at)
            ),
            remediation: TOKEN_GONE_REMEDIATION.to_owned(),
            hosts: Vec::new(),
            labels: json!({}),
        };
        out.push(placed(facts, alert, token.hosts.iter().copied()));
    }
}

/// A container gone with a key that can no longer sign is a clean-up, not a loss.
fn gone_containers(facts: &Facts, settings: &Settings, now: DateTime<Utc>, out: &mut Vec<Desired>) {
    for container in &facts.gone_containers {
        if container.usable_until.is_some_and(|end| end <= now)
            || !gone_long_enough(
                facts,
                settings,
                now,
                container.last_seen_at,
                &container.hosts,
            )
        {
            continue;
        }
        let usable = container.usable_until.map_or_else(
            || "its key's validity is unknown".to_owned(),
            |end| format!("its key can sign until {}", rules::day(end)),
        );
        let alert = Desired {
            key: format!("container.gone:{}", container.container_id),
            rule: CONTAINER_GONE.to_owned(),
            severity: Severity::Warning,
            office_id: None,
            subject: rules::container_subject(container.name.as_deref(), &container.path),
            summary: format!(
                "No host has listed the container since {}; {usable}.",
                rules::day(container.last_seen_at)
            ),
            remediation: CONTAINER_GONE_REMEDIATION.to_owned(),
            hosts: Vec::new(),
            labels: json!({}),
        };
        out.push(placed(facts, alert, container.hosts.iter().copied()));
    }
}

/// Whether something last seen at `last_seen` on `hosts` has been missing longer than the
/// `gone_after_days` of any of their offices (the shortest speaks).
fn gone_long_enough(
    facts: &Facts,
    settings: &Settings,
    now: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    hosts: &[Uuid],
) -> bool {
    hosts
        .iter()
        .filter_map(|agent| facts.hosts.get(agent))
        .any(|host| {
            now - last_seen > Duration::days(settings.office(host.office_id).gone_after_days)
        })
}

/// The agents' own findings, one alert per code and office listing every host with it.
fn agent_findings(facts: &Facts, out: &mut Vec<Desired>) {
    let mut groups: BTreeMap<(&str, i64), Vec<&AgentFinding>> = BTreeMap::new();
    for finding in &facts.findings {
        let Some(host) = facts.hosts.get(&finding.agent_id) else {
            continue;
        };
        if finding.severity >= Severity::Warning {
            groups
                .entry((&finding.code, host.office_id))
                .or_default()
                .push(finding);
        }
    }
    for ((code, office_id), found) in groups {
        let worst = found
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(Severity::Warning);
        let mut hosts: Vec<(Uuid, String)> = found
            .iter()
            .map(|f| (f.agent_id, facts.hosts[&f.agent_id].hostname.clone()))
            .collect();
        hosts.sort_by(|a, b| (&a.1, a.0).cmp(&(&b.1, b.0)));
        hosts.dedup();
        let first = found[0];
        let summary = if found.len() == 1 {
            format!("{}: {}", first.subject, first.message)
        } else {
            format!(
                "{} findings on {} hosts, e.g. {}: {}",
                found.len(),
                hosts.len(),
                first.subject,
                first.message
            )
        };
        out.push(Desired {
            key: format!("finding:{code}:{office_id}"),
            rule: code.to_owned(),
            severity: worst,
            office_id: Some(office_id),
            subject: code.to_owned(),
            summary,
            remediation: first.remediation.clone(),
            hosts,
            labels: json!({}),
        });
    }
}

/// Apply `rule` with the thresholds of each host's office; the worst finding (the earliest for
/// equal severity) and every host that has a finding.
fn worst_over(
    facts: &Facts,
    settings: &Settings,
    on: impl IntoIterator<Item = Uuid>,
    rule: impl Fn(Thresholds) -> Option<Finding>,
) -> Option<(Finding, Vec<Uuid>)> {
    let mut worst: Option<Finding> = None;
    let mut hosts = Vec::new();
    for agent in on {
        let Some(host) = facts.hosts.get(&agent) else {
            continue;
        };
        let Some(found) = rule(settings.office(host.office_id).thresholds()) else {
            continue;
        };
        if found.severity < Severity::Warning {
            continue;
        }
        hosts.push(agent);
        if worst.as_ref().is_none_or(|w| found.severity > w.severity) {
            worst = Some(found);
        }
    }
    worst.map(|w| (w, hosts))
}

fn desired(
    facts: &Facts,
    key: String,
    finding: Finding,
    agents: Vec<Uuid>,
    labels: serde_json::Value,
) -> Desired {
    let alert = Desired {
        key,
        rule: finding.code.as_str().to_owned(),
        severity: finding.severity,
        office_id: None,
        subject: finding.subject,
        summary: finding.message,
        remediation: finding.remediation,
        hosts: Vec::new(),
        labels,
    };
    placed(facts, alert, agents)
}

/// `alert` listing those of `agents` that are active hosts, by name, in their office when they
/// share one.
fn placed(facts: &Facts, mut alert: Desired, agents: impl IntoIterator<Item = Uuid>) -> Desired {
    let mut hosts: Vec<(Uuid, String)> = agents
        .into_iter()
        .filter_map(|a| facts.hosts.get(&a).map(|h| (a, h.hostname.clone())))
        .collect();
    hosts.sort_by(|a, b| (&a.1, a.0).cmp(&(&b.1, b.0)));
    hosts.dedup();
    let mut offices: Vec<i64> = hosts
        .iter()
        .map(|(a, _)| facts.hosts[a].office_id)
        .collect();
    offices.sort_unstable();
    offices.dedup();
    alert.office_id = (offices.len() == 1).then(|| offices[0]);
    alert.hosts = hosts;
    alert
}

#[cfg(test)]
mod tests;
