//! The alert rules, pure: from the facts loaded at `now` and the thresholds to the set of alerts
//! that should be firing, one per problem, each listing every host it concerns.
//!
//! Expiry uses the shared findings rules (`tokenwatch_inventory::findings::rules`), so an alert
//! reads like the finding on each host and agrees with it on every threshold.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
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
    gone_tokens(facts, &mut out);
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
                host.last_seen_at.format("%Y-%m-%d %H:%M UTC")
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

fn gone_tokens(facts: &Facts, out: &mut Vec<Desired>) {
    for token in &facts.gone_tokens {
        let hosts = token
            .hosts
            .iter()
            .copied()
            .filter(|a| facts.hosts.contains_key(a))
            .collect();
        let finding = Finding {
            code: tokenwatch_inventory::findings::Code::UsbTokenNotVisible,
            severity: Severity::Warning,
            subject: format!("token {} (serial {})", token.model, token.serial),
            message: format!(
                "No host has seen the token since {}.",
                token.last_seen_at.format("%Y-%m-%d %H:%M UTC")
            ),
            remediation: TOKEN_GONE_REMEDIATION.to_owned(),
        };
        let mut alert = desired(
            facts,
            format!("token.gone:{}", token.token_id),
            finding,
            hosts,
            json!({}),
        );
        alert.rule = TOKEN_GONE.to_owned();
        out.push(alert);
    }
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
    Desired {
        key,
        rule: finding.code.as_str().to_owned(),
        severity: finding.severity,
        office_id: (offices.len() == 1).then(|| offices[0]),
        subject: finding.subject,
        summary: finding.message,
        remediation: finding.remediation,
        hosts,
        labels,
    }
}

#[cfg(test)]
mod tests;
