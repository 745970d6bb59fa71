use chrono::TimeZone as _;
use tokenwatch_inventory::findings::Severity;
use uuid::Uuid;

use super::*;
use crate::notify::{Acknowledgement, CertificateRef, Host};

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, hour, 0, 0).unwrap()
}

fn host(name: &str, office: &str) -> Host {
    Host {
        agent_id: Uuid::nil(),
        hostname: name.to_owned(),
        office: office.to_owned(),
    }
}

/// Certificate "Иванов" on three hosts of one office, expiring, firing since 08:00.
fn expiring() -> Alert {
    Alert {
        id: 7,
        key: "certificate:ab12".to_owned(),
        rule: "certificate.expiring".to_owned(),
        severity: Severity::Warning,
        firing: true,
        office: Some("Бухгалтерия".to_owned()),
        subject: "certificate \"Иванов\"".to_owned(),
        summary: "The certificate expires in 20 days.".to_owned(),
        remediation: "Order a new certificate.".to_owned(),
        started_at: at(8),
        resolved_at: None,
        acknowledged: None,
        hosts: ["buh-03", "buh-01", "buh-02"]
            .map(|name| host(name, "Бухгалтерия"))
            .to_vec(),
        certificate: Some(CertificateRef {
            sha256: "ab12".to_owned(),
            sha1: "cd34".to_owned(),
            subject_cn: Some("Иванов".to_owned()),
            issuer_cn: Some("УЦ".to_owned()),
            not_after: Some(Utc.with_ymd_and_hms(2026, 12, 21, 0, 0, 0).unwrap()),
            private_key_not_after: None,
        }),
    }
}

fn hold() -> Duration {
    Duration::minutes(3)
}

#[test]
fn a_firing_certificate_alert_has_every_label_and_ends_after_the_hold() {
    let post = Postable::of(&expiring(), at(10), hold());
    let json = serde_json::to_value(&post).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "labels": {
                "alertname": "certificate.expiring",
                "host": "buh-01,buh-02,buh-03",
                "office": "Бухгалтерия",
                "severity": "warning",
                "sha1": "cd34",
                "subject_cn": "Иванов",
                "tokenwatch_key": "certificate:ab12",
            },
            "annotations": {
                "hosts": "buh-01, buh-02, buh-03",
                "not_after": "2026-12-21T00:00:00Z",
                "remediation": "Order a new certificate.",
                "sha256": "ab12",
                "subject": "certificate \"Иванов\"",
                "summary": "The certificate expires in 20 days.",
            },
            "startsAt": "2026-12-01T08:00:00Z",
            "endsAt": "2026-12-01T10:03:00Z",
        })
    );
}

#[test]
fn an_alert_without_office_or_certificate_has_neither_label() {
    let mut alert = expiring();
    alert.rule = "token.gone".to_owned();
    alert.office = None;
    alert.certificate = None;
    alert.hosts = vec![host("sklad-01", "Склад"), host("buh-01", "Бухгалтерия")];
    let post = Postable::of(&alert, at(10), hold());
    let names: Vec<&str> = post.labels.0.keys().map(String::as_str).collect();
    assert_eq!(names, ["alertname", "host", "severity", "tokenwatch_key"]);
    assert_eq!(post.labels.get("host"), Some("buh-01,sklad-01"));
    assert_eq!(post.annotations["offices"], "Бухгалтерия, Склад");
    assert!(!post.annotations.contains_key("sha256"));
}

#[test]
fn the_host_label_is_capped_and_the_annotation_is_not() {
    let mut alert = expiring();
    alert.hosts = (0..13)
        .map(|i| host(&format!("pc-{i:02}"), "Бухгалтерия"))
        .collect();
    // The same name twice (two agents on one reinstalled PC) counts once.
    alert.hosts.push(host("pc-00", "Бухгалтерия"));
    let post = Postable::of(&alert, at(10), hold());
    assert_eq!(
        post.labels.get("host"),
        Some("pc-00,pc-01,pc-02,pc-03,pc-04,pc-05,pc-06,pc-07,pc-08,pc-09,+3 more")
    );
    assert_eq!(post.annotations["hosts"].split(", ").count(), 13);
}

#[test]
fn an_acknowledgement_is_an_annotation_and_keeps_the_labels() {
    let mut alert = expiring();
    let before = Postable::of(&alert, at(10), hold());
    alert.acknowledged = Some(Acknowledgement {
        at: at(9),
        by: "ivanova".to_owned(),
        comment: "ordered".to_owned(),
    });
    let after = Postable::of(&alert, at(10), hold());
    assert_eq!(after.labels, before.labels);
    assert_eq!(
        after.annotations["acknowledged"],
        "ivanova at 2026-12-01T09:00:00Z: ordered"
    );
}

#[test]
fn a_resolved_alert_ends_at_its_resolution_never_later_than_now() {
    let mut alert = expiring();
    alert.firing = false;
    alert.resolved_at = Some(at(9));
    assert_eq!(Postable::of(&alert, at(10), hold()).ends_at, at(9));
    // A resolution stamped ahead of this clock would stay firing in Alertmanager.
    alert.resolved_at = Some(at(11));
    assert_eq!(Postable::of(&alert, at(10), hold()).ends_at, at(10));
}

#[test]
fn an_escalation_ends_the_label_set_posted_before() {
    let mut alert = expiring();
    let first = Held::default().sync([&alert], Scope::Some, at(9), hold());
    assert_eq!(first.alerts.len(), 1);
    let warning = first.alerts[0].labels.clone();

    alert.severity = Severity::Critical;
    let second = first.held.sync([&alert], Scope::Some, at(10), hold());
    let shown: Vec<(Option<&str>, DateTime<Utc>)> = second
        .alerts
        .iter()
        .map(|post| (post.labels.get("severity"), post.ends_at))
        .collect();
    assert_eq!(
        shown,
        [
            (Some("warning"), at(10)),
            (Some("critical"), at(10) + hold())
        ]
    );
    assert_eq!(second.alerts[0].labels, warning);
    assert_eq!(second.alerts[0].starts_at, at(8));
    assert_eq!(
        second.held.labels(7).and_then(|l| l.get("severity")),
        Some("critical")
    );

    // Posted again unchanged: only the alert itself.
    let third = second.held.sync([&alert], Scope::Some, at(11), hold());
    assert_eq!(third.alerts.len(), 1);
    assert_eq!(third.alerts[0].ends_at, at(11) + hold());
}

#[test]
fn hosts_leaving_end_the_old_set_and_the_resolution_forgets_the_alert() {
    let mut alert = expiring();
    let first = Held::default().sync([&alert], Scope::Every, at(9), hold());
    alert.hosts.retain(|h| h.hostname == "buh-03");
    let second = first.held.sync([&alert], Scope::Every, at(10), hold());
    let hosts: Vec<(Option<&str>, DateTime<Utc>)> = second
        .alerts
        .iter()
        .map(|post| (post.labels.get("host"), post.ends_at))
        .collect();
    assert_eq!(
        hosts,
        [
            (Some("buh-01,buh-02,buh-03"), at(10)),
            (Some("buh-03"), at(10) + hold())
        ]
    );

    alert.firing = false;
    alert.resolved_at = Some(at(10));
    let third = second.held.sync([&alert], Scope::Some, at(11), hold());
    assert_eq!(third.alerts.len(), 1);
    assert_eq!(third.alerts[0].labels.get("host"), Some("buh-03"));
    assert_eq!(third.alerts[0].ends_at, at(10));
    assert_eq!(third.held, Held::default());
}

#[test]
fn a_batch_posts_each_alert_once_as_it_stands_with_ends_first() {
    // A batch of fired, escalated and resolved notifications of alert 7 (all carry the alert
    // as it stands now: resolved), and the fire of alert 8, the same problem come back.
    let mut old = expiring();
    old.firing = false;
    old.resolved_at = Some(at(9));
    let mut new = expiring();
    new.id = 8;
    new.started_at = at(10);
    let sync = Held::default().sync([&old, &old, &new, &old], Scope::Some, at(11), hold());
    let shown: Vec<(DateTime<Utc>, DateTime<Utc>)> = sync
        .alerts
        .iter()
        .map(|post| (post.starts_at, post.ends_at))
        .collect();
    assert_eq!(shown, [(at(8), at(9)), (at(10), at(11) + hold())]);
    assert_eq!(sync.alerts[0].labels, sync.alerts[1].labels);
}

#[test]
fn a_resend_ends_what_stopped_firing_unannounced_and_a_batch_does_not() {
    let one = expiring();
    let mut two = expiring();
    two.id = 9;
    two.key = "certificate:ef56".to_owned();
    let held = Held::default()
        .sync([&one, &two], Scope::Some, at(9), hold())
        .held;

    let batch = held.sync([&one], Scope::Some, at(10), hold());
    assert_eq!(batch.alerts.len(), 1);
    assert!(batch.held.labels(9).is_some());

    // Alert 9 resolved under a silence: no notification, and the re-post ends it.
    let resend = held.sync([&one], Scope::Every, at(10), hold());
    let shown: Vec<(Option<&str>, DateTime<Utc>)> = resend
        .alerts
        .iter()
        .map(|post| (post.labels.get("tokenwatch_key"), post.ends_at))
        .collect();
    assert_eq!(
        shown,
        [
            (Some("certificate:ef56"), at(10)),
            (Some("certificate:ab12"), at(10) + hold())
        ]
    );
    assert!(resend.held.labels(9).is_none());
    // Nothing held and nothing firing: nothing to post.
    let empty = Held::default().sync([], Scope::Every, at(10), hold());
    assert!(empty.alerts.is_empty());
}

#[test]
fn what_is_stored_reads_back_and_only_changes_other_than_the_end_are_stored_again() {
    let before = Held::default()
        .sync([&expiring()], Scope::Some, at(10), hold())
        .held;
    let post = before.0[&7].clone();
    let json = serde_json::to_value(&post).unwrap();
    assert_eq!(serde_json::from_value::<Postable>(json).unwrap(), post);

    // A re-post moves only the end: nothing to store.
    let resent = before
        .sync([&expiring()], Scope::Every, at(11), hold())
        .held;
    assert_eq!(resent.changes_since(&before), (vec![], vec![]));

    // An escalation changes the labels; a resolution drops the alert.
    let mut critical = expiring();
    critical.severity = Severity::Critical;
    let escalated = resent.sync([&critical], Scope::Some, at(12), hold()).held;
    let (changed, dropped) = escalated.changes_since(&resent);
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].1.labels.get("severity"), Some("critical"));
    assert!(dropped.is_empty());
    let mut resolved = critical;
    resolved.firing = false;
    let gone = escalated
        .sync([&resolved], Scope::Some, at(13), hold())
        .held;
    assert_eq!(gone.changes_since(&escalated), (vec![], vec![7]));

    // Read back after a restart, the old set is ended when the labels change.
    let restored = Held::from_posts([(7, post)]);
    let sync = restored.sync([&critical_of(expiring())], Scope::Some, at(12), hold());
    let ended: Vec<Option<&str>> = sync
        .alerts
        .iter()
        .filter(|p| p.ends_at == at(12))
        .map(|p| p.labels.get("severity"))
        .collect();
    assert_eq!(ended, [Some("warning")]);
}

fn critical_of(mut alert: Alert) -> Alert {
    alert.severity = Severity::Critical;
    alert
}
