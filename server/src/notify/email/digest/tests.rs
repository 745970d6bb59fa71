use chrono::{Duration, TimeZone};
use uuid::Uuid;

use super::*;
use crate::notify::{Acknowledgement, Alert, CertificateRef, Host};

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, day, hour, 0, 0).unwrap()
}

fn host(name: &str, office: &str) -> Host {
    Host {
        agent_id: Uuid::nil(),
        hostname: name.to_owned(),
        office: office.to_owned(),
    }
}

/// A firing certificate alert on two hosts of one office.
fn certificate_alert(id: i64, subject: &str, severity: Severity) -> Alert {
    Alert {
        id,
        key: format!("certificate:{id}"),
        rule: "certificate.expiring".to_owned(),
        severity,
        firing: true,
        office: Some("Бухгалтерия".to_owned()),
        subject: subject.to_owned(),
        summary: "Сертификат истекает через 10 дней.".to_owned(),
        remediation: "Выпустите новый сертификат.".to_owned(),
        started_at: at(1, 9),
        resolved_at: None,
        acknowledged: None,
        hosts: vec![host("buh-01", "Бухгалтерия"), host("buh-02", "Бухгалтерия")],
        certificate: Some(CertificateRef {
            sha256: "ab".repeat(32),
            sha1: "cd".repeat(20),
            subject_cn: Some("Иванова Анна".to_owned()),
            issuer_cn: Some("УЦ Тест".to_owned()),
            not_after: Some(at(11, 9)),
            private_key_not_after: Some(at(10, 0)),
        }),
    }
}

/// A resolved silent-agent alert in another office.
fn silent_alert(id: i64) -> Alert {
    Alert {
        id,
        key: format!("agent.silent:{id}"),
        rule: "agent.silent".to_owned(),
        severity: Severity::Warning,
        firing: false,
        office: Some("Склад".to_owned()),
        subject: "agent sklad-01".to_owned(),
        summary: "The agent has not reported for 45 minutes.".to_owned(),
        remediation: "Check that the PC is on.".to_owned(),
        started_at: at(1, 8),
        resolved_at: Some(at(1, 10)),
        acknowledged: None,
        hosts: vec![host("sklad-01", "Склад")],
        certificate: None,
    }
}

fn notification(id: i64, kind: Kind, alert: Alert) -> Notification {
    Notification {
        id,
        kind,
        severity: alert.severity,
        created_at: at(1, 12) + Duration::minutes(id),
        alert,
    }
}

/// The headlines of a plain part, in order.
fn headlines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|line| line.contains("): "))
        .filter(|line| !line.starts_with(' '))
        .collect()
}

#[test]
fn a_russian_digest_reads_as_expected() {
    let mut fired = certificate_alert(7, "сертификат \"Иванова Анна\"", Severity::Critical);
    fired.acknowledged = Some(Acknowledgement {
        at: at(1, 11),
        by: "petrov".to_owned(),
        comment: "заказали новый".to_owned(),
    });
    let batch = [
        notification(1, Kind::Fired, fired),
        notification(2, Kind::Resolved, silent_alert(8)),
    ];
    let digest = render(&batch, Language::Ru, at(1, 12));
    assert_eq!(
        digest.subject,
        "[tokenwatch] критично — новые: 1, решены: 1"
    );
    let expected = "\
Сводка tokenwatch на 2026-12-01 12:00 UTC
новые: 1, решены: 1

== Новые проблемы (1) ==

Новая проблема (критично): сертификат \"Иванова Анна\"
  Сертификат истекает через 10 дней.
  Компьютеры: buh-01, buh-02
  Офис: Бухгалтерия
  Сертификат: Иванова Анна; издатель: УЦ Тест
  SHA-1: cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd
  Действует до: 2026-12-11 09:00 UTC
  Закрытый ключ действует до: 2026-12-10 00:00 UTC
  Началось: 2026-12-01 09:00 UTC
  Взято в работу: petrov, 2026-12-01 11:00 UTC: заказали новый
  Что сделать: Выпустите новый сертификат.

== Решены (1) ==

Проблема решена (предупреждение): agent sklad-01
  The agent has not reported for 45 minutes.
  Компьютеры: sklad-01
  Офис: Склад
  Началось: 2026-12-01 08:00 UTC
  Решено: 2026-12-01 10:00 UTC

-- 
Письмо отправил сервер tokenwatch. Отвечать на него не нужно: отметить проблему как взятую в работу можно в tokenwatch.
";
    assert_eq!(digest.text, expected);
    assert!(
        digest
            .html
            .starts_with("<!DOCTYPE html>\n<html lang=\"ru\">")
    );
    assert!(
        digest
            .html
            .contains("<td style=\"padding: 1px 0;\">Иванова Анна; издатель: УЦ Тест</td>")
    );
}

#[test]
fn groups_follow_the_subject_and_critical_comes_first_in_each() {
    let batch = [
        notification(1, Kind::Fired, certificate_alert(1, "A", Severity::Warning)),
        notification(
            2,
            Kind::Escalated,
            certificate_alert(2, "B", Severity::Critical),
        ),
        notification(
            3,
            Kind::Fired,
            certificate_alert(3, "C", Severity::Critical),
        ),
        notification(4, Kind::Resolved, silent_alert(4)),
        notification(
            5,
            Kind::Repeat,
            certificate_alert(5, "D", Severity::Critical),
        ),
        notification(6, Kind::Fired, certificate_alert(6, "E", Severity::Warning)),
    ];
    let digest = render(&batch, Language::En, at(2, 0));
    assert_eq!(
        digest.subject,
        "[tokenwatch] critical — new: 3, worse: 1, still open: 1, resolved: 1"
    );
    assert_eq!(
        headlines(&digest.text),
        [
            "New problem (critical): C",
            "New problem (warning): A",
            "New problem (warning): E",
            "Problem got worse (critical): B",
            "Problem still unresolved (critical): D",
            "Problem resolved (warning): agent sklad-01",
        ]
    );
    let sections: Vec<&str> = digest
        .text
        .lines()
        .filter(|line| line.starts_with("== "))
        .collect();
    assert_eq!(
        sections,
        [
            "== New problems (3) ==",
            "== Got worse (1) ==",
            "== Still unresolved (1) ==",
            "== Resolved (1) ==",
        ]
    );
    // The HTML part lists them in the same order.
    let positions: Vec<usize> = ["): C<", "): A<", "): E<", "): B<", "): D<", "): agent"]
        .iter()
        .map(|needle| digest.html.find(needle).unwrap())
        .collect();
    assert!(positions.is_sorted(), "{positions:?}");
}

#[test]
fn a_digest_of_resolutions_names_no_severity_and_one_notification_quotes_its_subject() {
    let digest = render(
        &[notification(4, Kind::Resolved, silent_alert(4))],
        Language::En,
        at(2, 0),
    );
    assert_eq!(digest.subject, "[tokenwatch] resolved: 1 · agent sklad-01");
    // Nothing to do about a resolution.
    assert!(!digest.text.contains("What to do"));
    assert!(!digest.html.contains("What to do"));
    assert!(digest.text.contains("  Resolved: 2026-12-01 10:00 UTC\n"));
}

#[test]
fn what_agents_report_is_escaped_in_html_and_kept_on_one_line() {
    let mut alert = certificate_alert(
        1,
        "certificate \"<script>alert('x')</script>\"\r\nBcc: victim@example.org",
        Severity::Critical,
    );
    alert.hosts = vec![host("<img src=x onerror=alert(1)>", "Бухгалтерия")];
    if let Some(cert) = &mut alert.certificate {
        cert.subject_cn = Some("Рога & Копыта <b>".to_owned());
    }
    let digest = render(
        &[notification(1, Kind::Fired, alert)],
        Language::Ru,
        at(2, 0),
    );
    assert!(!digest.html.contains("<script"), "{}", digest.html);
    assert!(!digest.html.contains("<img"), "{}", digest.html);
    assert!(!digest.html.contains("<b>"), "{}", digest.html);
    assert!(digest.html.contains(
        "certificate &quot;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;  Bcc: victim@example.org"
    ));
    assert!(digest.html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(digest.html.contains("Рога &amp; Копыта &lt;b&gt;"));
    // The plain part shows the text as it is, but a line break cannot start a new line.
    assert!(digest.text.contains(
        "(критично): certificate \"<script>alert('x')</script>\"  Bcc: victim@example.org\n"
    ));
    assert!(!digest.subject.contains(['\r', '\n']));
    assert!(digest.subject.ends_with("\"  Bcc: victim@example.org"));
}

#[test]
fn long_host_lists_are_cut_and_hosts_of_several_offices_name_theirs() {
    let mut many = certificate_alert(1, "many", Severity::Warning);
    many.hosts = (0..25)
        .map(|i| host(&format!("pc-{i:02}"), "Бухгалтерия"))
        .collect();
    let mut spread = certificate_alert(2, "spread", Severity::Warning);
    spread.office = None;
    spread.hosts = vec![host("buh-01", "Бухгалтерия"), host("sklad-01", "Склад")];
    let digest = render(
        &[
            notification(1, Kind::Fired, many),
            notification(2, Kind::Fired, spread),
        ],
        Language::Ru,
        at(2, 0),
    );
    assert!(
        digest
            .text
            .contains(", pc-18, pc-19, и ещё 5\n  Офис: Бухгалтерия\n"),
        "{}",
        digest.text
    );
    assert!(
        digest
            .text
            .contains("  Компьютеры: buh-01 (Бухгалтерия), sklad-01 (Склад)\n  Сертификат:"),
        "{}",
        digest.text
    );
}

#[test]
fn a_notification_whose_alert_has_since_resolved_says_so() {
    let mut alert = certificate_alert(1, "gone", Severity::Warning);
    alert.firing = false;
    alert.resolved_at = Some(at(1, 13));
    let digest = render(
        &[notification(1, Kind::Fired, alert)],
        Language::En,
        at(2, 0),
    );
    assert!(
        digest
            .text
            .contains("  Since resolved: 2026-12-01 13:00 UTC\n")
    );
    assert!(
        digest
            .text
            .contains("  What to do: Выпустите новый сертификат.\n")
    );
    assert!(
        digest
            .html
            .starts_with("<!DOCTYPE html>\n<html lang=\"en\">")
    );
}
