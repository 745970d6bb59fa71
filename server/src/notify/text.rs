//! Short plain-text renderings of notifications for people, in Russian or English: the chat
//! variants of webhooks send one, e-mail digests list them.

use std::fmt::Write as _;

use tokenwatch_inventory::findings::Severity;

use super::{Kind, Notification};
use crate::config::Language;

/// The words that differ by language.
struct Words {
    fired: &'static str,
    escalated: &'static str,
    repeat: &'static str,
    resolved: &'static str,
    warning: &'static str,
    critical: &'static str,
    hosts: &'static str,
    office: &'static str,
    remedy: &'static str,
    acknowledged: &'static str,
}

const RU: Words = Words {
    fired: "Новая проблема",
    escalated: "Проблема стала серьёзнее",
    repeat: "Проблема всё ещё не решена",
    resolved: "Проблема решена",
    warning: "предупреждение",
    critical: "критично",
    hosts: "Компьютеры",
    office: "Офис",
    remedy: "Что сделать",
    acknowledged: "Взято в работу",
};

const EN: Words = Words {
    fired: "New problem",
    escalated: "Problem got worse",
    repeat: "Problem still unresolved",
    resolved: "Problem resolved",
    warning: "warning",
    critical: "critical",
    hosts: "Hosts",
    office: "Office",
    remedy: "What to do",
    acknowledged: "Acknowledged",
};

fn words(language: Language) -> &'static Words {
    match language {
        Language::Ru => &RU,
        Language::En => &EN,
    }
}

/// "New problem (critical): <subject>", the first line of a message.
pub(crate) fn headline(notification: &Notification, language: Language) -> String {
    format!(
        "{} ({}): {}",
        kind_name(notification.kind, language),
        severity_name(notification.severity, language),
        notification.alert.subject
    )
}

/// What happened, in words.
pub(crate) fn kind_name(kind: Kind, language: Language) -> &'static str {
    let w = words(language);
    match kind {
        Kind::Fired => w.fired,
        Kind::Escalated => w.escalated,
        Kind::Repeat => w.repeat,
        Kind::Resolved => w.resolved,
    }
}

/// The severity, in words.
pub(crate) fn severity_name(severity: Severity, language: Language) -> &'static str {
    let w = words(language);
    match severity {
        Severity::Critical => w.critical,
        Severity::Warning | Severity::Info => w.warning,
    }
}

/// Labels for the lines of a message body: hosts, office, remediation, acknowledgement.
pub(crate) fn labels(language: Language) -> [&'static str; 4] {
    let w = words(language);
    [w.hosts, w.office, w.remedy, w.acknowledged]
}

/// A whole message: headline, summary, hosts, office, what to do (not for a resolution).
pub(crate) fn message(notification: &Notification, language: Language) -> String {
    let alert = &notification.alert;
    let [hosts, office, remedy, acknowledged] = labels(language);
    let mut out = headline(notification, language);
    let _ = write!(out, "\n{}", alert.summary);
    if !alert.hosts.is_empty() {
        let names: Vec<&str> = alert.hosts.iter().map(|h| h.hostname.as_str()).collect();
        let _ = write!(out, "\n{hosts}: {}", names.join(", "));
    }
    if let Some(name) = &alert.office {
        let _ = write!(out, "\n{office}: {name}");
    }
    if let Some(ack) = &alert.acknowledged {
        let _ = write!(out, "\n{acknowledged}: {} — {}", ack.by, ack.comment);
    }
    if notification.kind != Kind::Resolved {
        let _ = write!(out, "\n{remedy}: {}", alert.remediation);
    }
    out
}
