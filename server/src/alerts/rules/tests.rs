use chrono::{Duration, TimeZone};

use super::*;
use crate::alerts::OfficeSettings;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap()
}

fn settings() -> Settings {
    Settings::from_config(&crate::config::AlertsConfig::default())
}

fn host(n: u128, office: i64) -> Host {
    Host {
        agent_id: Uuid::from_u128(n),
        hostname: format!("buh-{n:02}"),
        office_id: office,
        last_seen_at: now(),
    }
}

fn facts(hosts: &[Host]) -> Facts {
    Facts {
        hosts: hosts.iter().map(|h| (h.agent_id, h.clone())).collect(),
        ..Facts::default()
    }
}

fn certificate(days: i64, on: &[u128]) -> CertificateFact {
    CertificateFact {
        sha256: "ab".repeat(32),
        sha1: "cd".repeat(20),
        subject: "CN=Иванов".into(),
        subject_cn: Some("Иванов".into()),
        not_after: Some(now() + Duration::days(days)),
        private_key_not_after: None,
        hosts: on.iter().map(|n| (Uuid::from_u128(*n), false)).collect(),
    }
}

#[test]
fn one_certificate_on_three_hosts_is_one_alert() {
    let mut facts = facts(&[host(1, 1), host(2, 1), host(3, 1)]);
    facts.certificates.push(certificate(20, &[3, 1, 2]));
    let alerts = evaluate(&facts, &settings(), now());
    assert_eq!(alerts.len(), 1);
    let alert = &alerts[0];
    assert_eq!(alert.key, format!("certificate:{}", "ab".repeat(32)));
    assert_eq!(alert.rule, "certificate.expiring");
    assert_eq!(alert.severity, Severity::Warning);
    assert_eq!(alert.office_id, Some(1));
    let names: Vec<&str> = alert.hosts.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["buh-01", "buh-02", "buh-03"]);
    assert_eq!(
        alert.summary,
        "The certificate expires in 20 days, on 2026-12-15 09:00 UTC."
    );
}

#[test]
fn thresholds_escalate_and_keep_the_key() {
    let mut facts = facts(&[host(1, 1)]);
    facts.certificates.push(certificate(100, &[1]));
    let at = |days_before: i64| {
        let when = now() + Duration::days(100 - days_before);
        // The host stays silent meanwhile; only the certificate matters here.
        evaluate(&facts, &settings(), when)
            .into_iter()
            .filter(|a| a.rule != SILENT)
            .map(|a| (a.key, a.rule, a.severity))
            .collect::<Vec<_>>()
    };
    let key = format!("certificate:{}", "ab".repeat(32));
    assert_eq!(at(31), []);
    assert_eq!(
        at(29),
        [(
            key.clone(),
            "certificate.expiring".into(),
            Severity::Warning
        )]
    );
    assert_eq!(
        at(13),
        [(
            key.clone(),
            "certificate.expiring".into(),
            Severity::Critical
        )]
    );
    assert_eq!(
        at(-1),
        [(key, "certificate.expired".into(), Severity::Critical)]
    );
}

#[test]
fn an_office_override_applies_to_its_hosts_and_the_worst_wins() {
    let mut settings = settings();
    settings.offices.insert(
        2,
        OfficeSettings {
            warning_days: 60,
            critical_days: 45,
            silent_after_intervals: 3,
            gone_after_days: 7,
        },
    );
    let mut facts = facts(&[host(1, 1), host(2, 2)]);
    facts.certificates.push(certificate(40, &[1, 2]));
    let alerts = evaluate(&facts, &settings, now());
    assert_eq!(alerts.len(), 1);
    // Office 1 does not warn yet at 40 days; office 2 is already critical.
    assert_eq!(alerts[0].severity, Severity::Critical);
    assert_eq!(alerts[0].hosts, [(Uuid::from_u128(2), "buh-02".to_owned())]);
    assert_eq!(alerts[0].office_id, Some(2));
}

#[test]
fn a_key_held_by_a_container_is_its_containers_alert() {
    let mut facts = facts(&[host(1, 1), host(2, 1)]);
    let mut cert = certificate(400, &[1, 2]);
    cert.private_key_not_after = Some(now() + Duration::days(5));
    cert.hosts[0].1 = true;
    facts.certificates.push(cert);
    let alerts = evaluate(&facts, &settings(), now());
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].rule, "private_key.expiring");
    assert_eq!(alerts[0].hosts, [(Uuid::from_u128(2), "buh-02".to_owned())]);
}

#[test]
fn an_agent_is_silent_after_three_intervals() {
    let mut quiet = host(1, 1);
    quiet.last_seen_at = now() - Duration::minutes(45);
    let facts = facts(&[quiet]);
    assert_eq!(evaluate(&facts, &settings(), now()), []);
    let alerts = evaluate(&facts, &settings(), now() + Duration::minutes(1));
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        alerts[0].key,
        format!("agent.silent:{}", Uuid::from_u128(1))
    );
    assert_eq!(alerts[0].rule, SILENT);
}

#[test]
fn agent_findings_group_by_code_and_office() {
    let mut facts = facts(&[host(1, 1), host(2, 1), host(3, 2)]);
    for (n, severity) in [
        (1, Severity::Warning),
        (2, Severity::Critical),
        (3, Severity::Warning),
    ] {
        facts.findings.push(AgentFinding {
            agent_id: Uuid::from_u128(n),
            code: "container.damaged".into(),
            severity,
            subject: format!("container {n}"),
            message: "A key file is damaged.".into(),
            remediation: "Use a copy.".into(),
        });
    }
    let alerts = evaluate(&facts, &settings(), now());
    let got: Vec<(&str, Severity, usize)> = alerts
        .iter()
        .map(|a| (a.key.as_str(), a.severity, a.hosts.len()))
        .collect();
    assert_eq!(
        got,
        [
            ("finding:container.damaged:1", Severity::Critical, 2),
            ("finding:container.damaged:2", Severity::Warning, 1),
        ]
    );
}

#[test]
fn a_demo_licence_warns_and_a_paid_one_counts_down() {
    let mut facts = facts(&[host(1, 1), host(2, 1)]);
    facts.licences.push(LicenceFact {
        agent_id: Uuid::from_u128(1),
        expires: None,
        demo: true,
    });
    facts.licences.push(LicenceFact {
        agent_id: Uuid::from_u128(2),
        expires: Some(now() - Duration::days(1)),
        demo: false,
    });
    let got: Vec<(String, Severity)> = evaluate(&facts, &settings(), now())
        .into_iter()
        .map(|a| (a.rule, a.severity))
        .collect();
    assert_eq!(
        got,
        [
            ("cryptopro.license_demo".to_owned(), Severity::Warning),
            ("cryptopro.license_expired".to_owned(), Severity::Critical),
        ]
    );
}

#[test]
fn a_certificate_in_several_offices_belongs_to_none() {
    let mut facts = facts(&[host(1, 1), host(2, 2)]);
    facts.certificates.push(certificate(5, &[1, 2]));
    let alerts = evaluate(&facts, &settings(), now());
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].office_id, None);
    assert_eq!(alerts[0].hosts.len(), 2);
}

fn gone_container(last_seen_days_ago: i64, usable_days: Option<i64>) -> GoneContainer {
    GoneContainer {
        container_id: 7,
        name: Some("le-0007".into()),
        path: "/media/buh/FLASH/le-0007.000".into(),
        usable_until: usable_days.map(|d| now() + Duration::days(d)),
        last_seen_at: now() - Duration::days(last_seen_days_ago),
        hosts: vec![Uuid::from_u128(1), Uuid::from_u128(2)],
    }
}

#[test]
fn a_gone_container_alerts_after_the_shortest_grace_of_its_offices_while_its_key_can_sign() {
    let mut settings = settings();
    settings.offices.insert(
        2,
        OfficeSettings {
            gone_after_days: 3,
            ..settings.defaults
        },
    );
    let mut facts = facts(&[host(1, 1), host(2, 2)]);
    facts.gone_containers.push(gone_container(2, Some(100)));
    assert_eq!(evaluate(&facts, &settings, now()), []);

    facts.gone_containers[0] = gone_container(4, Some(100));
    let alerts = evaluate(&facts, &settings, now());
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].key, "container.gone:7");
    assert_eq!(alerts[0].rule, CONTAINER_GONE);
    assert_eq!(alerts[0].severity, Severity::Warning);
    assert_eq!(alerts[0].office_id, None, "its hosts are in two offices");
    assert_eq!(alerts[0].hosts.len(), 2);
    assert!(
        alerts[0]
            .summary
            .contains("its key can sign until 2027-03-05")
    );

    // A key of unknown end may still sign; one that has ended cannot.
    facts.gone_containers[0] = gone_container(4, None);
    let alerts = evaluate(&facts, &settings, now());
    assert!(
        alerts[0]
            .summary
            .ends_with("its key's validity is unknown.")
    );
    facts.gone_containers[0] = gone_container(4, Some(0));
    assert_eq!(evaluate(&facts, &settings, now()), []);
}

#[test]
fn a_gone_token_waits_for_gone_after_days() {
    let mut facts = facts(&[host(1, 1)]);
    let token = |days_ago| GoneToken {
        token_id: 3,
        model: "Rutoken ECP".into(),
        serial: "3a6b0f21".into(),
        last_seen_at: now() - Duration::days(days_ago),
        hosts: vec![Uuid::from_u128(1)],
    };
    facts.gone_tokens.push(token(7));
    assert_eq!(evaluate(&facts, &settings(), now()), []);
    facts.gone_tokens[0] = token(8);
    let alerts = evaluate(&facts, &settings(), now());
    assert_eq!(alerts[0].key, "token.gone:3");
    assert_eq!(alerts[0].office_id, Some(1));
    assert_eq!(alerts[0].subject, "token Rutoken ECP (serial 3a6b0f21)");
}
