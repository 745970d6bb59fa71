//! The digest itself, without any I/O: a batch of notifications in, a subject and the plain and
//! HTML parts out.
//!
//! Notifications are grouped by what happened, in [`ORDER`]: new problems, problems that got
//! worse, reminders of unacknowledged critical ones, resolutions. That is the order the subject
//! counts them in, so the body reads as the subject announces it; resolutions, which need
//! nothing done, come last. Within a group critical ones come first, then the order in which
//! they happened. Every notification is listed, even several about one alert (a fired and a
//! resolved one when delivery was down in between): the digest tells what happened, and the
//! alert's current state is shown with each.

use std::cmp::Reverse;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use tokenwatch_inventory::findings::Severity;

use super::html::Html;
use super::words::{Words, words};
use crate::config::Language;
use crate::notify::{Kind, Notification, text};

/// The groups of a digest, in order.
pub(crate) const ORDER: [Kind; 4] = [Kind::Fired, Kind::Escalated, Kind::Repeat, Kind::Resolved];

/// A host list longer than this is cut: the alert's page has them all.
const MAX_HOSTS: usize = 20;

/// How much of an alert's subject the mail's subject quotes, in characters.
const SUBJECT_QUOTE: usize = 100;

/// A rendered digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digest {
    /// One line, without control characters.
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The notifications of one kind, critical first.
struct Group<'a> {
    kind: Kind,
    notifications: Vec<&'a Notification>,
}

/// One labelled line of an entry.
type Field = (&'static str, String);

/// Render `batch` (oldest first) as a digest in `language`, dated `now`.
pub fn render(batch: &[Notification], language: Language, now: DateTime<Utc>) -> Digest {
    let groups = groups(batch);
    let subject = subject(&groups, language);
    Digest {
        text: plain(&groups, language, now),
        html: html(&groups, language, now, &subject),
        subject,
    }
}

fn groups(batch: &[Notification]) -> Vec<Group<'_>> {
    ORDER
        .iter()
        .filter_map(|kind| {
            let mut notifications: Vec<&Notification> =
                batch.iter().filter(|n| n.kind == *kind).collect();
            // Stable: equal severities keep the batch's order, oldest first.
            notifications.sort_by_key(|n| Reverse(n.severity));
            (!notifications.is_empty()).then_some(Group {
                kind: *kind,
                notifications,
            })
        })
        .collect()
}

/// "[tokenwatch] critical — new: 2, resolved: 1": the worst severity of what is still open
/// (none when everything was resolved), the count of each group and, for a single
/// notification, its alert's subject.
fn subject(groups: &[Group<'_>], language: Language) -> String {
    let w = words(language);
    let mut out = "[tokenwatch] ".to_owned();
    let worst = groups
        .iter()
        .filter(|group| group.kind != Kind::Resolved)
        .flat_map(|group| &group.notifications)
        .map(|n| n.severity)
        .max();
    if let Some(severity) = worst {
        let _ = write!(out, "{} — ", text::severity_name(severity, language));
    }
    out.push_str(&counts(groups, w));
    if let [group] = groups {
        if let [only] = group.notifications.as_slice() {
            let quoted: String = one_line(&only.alert.subject)
                .chars()
                .take(SUBJECT_QUOTE)
                .collect();
            let _ = write!(out, " · {quoted}");
        }
    }
    out
}

fn counts(groups: &[Group<'_>], w: &Words) -> String {
    let counts: Vec<String> = groups
        .iter()
        .map(|group| format!("{}: {}", w.count(group.kind), group.notifications.len()))
        .collect();
    counts.join(", ")
}

fn plain(groups: &[Group<'_>], language: Language, now: DateTime<Utc>) -> String {
    let w = words(language);
    let mut out = format!("{} {} {}\n", w.title, w.as_of, date(now));
    let _ = writeln!(out, "{}", counts(groups, w));
    for group in groups {
        let heading = w.section(group.kind);
        let _ = write!(out, "\n== {heading} ({}) ==\n", group.notifications.len());
        for notification in &group.notifications {
            let _ = write!(
                out,
                "\n{}\n",
                one_line(&text::headline(notification, language))
            );
            for line in notification.alert.summary.lines() {
                let _ = writeln!(out, "  {line}");
            }
            for (label, value) in fields(notification, language) {
                let mut lines = value.lines();
                let _ = writeln!(out, "  {label}: {}", lines.next().unwrap_or_default());
                for line in lines {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
    }
    // "-- " is the separator mail clients recognise before a signature.
    let _ = write!(out, "\n-- \n{}\n", w.footer);
    out
}

fn html(groups: &[Group<'_>], language: Language, now: DateTime<Utc>, subject: &str) -> String {
    let w = words(language);
    let mut h = Html::default();
    h.tag("<!DOCTYPE html>\n<html lang=\"")
        .text(w.lang)
        .tag("\">\n<head>\n<meta charset=\"utf-8\">\n<title>")
        .text(subject)
        .tag("</title>\n</head>\n<body style=\"font-family: Arial, sans-serif; font-size: 14px; color: #222;\">\n")
        .tag("<h1 style=\"font-size: 18px;\">")
        .text(&format!("{} {} {}", w.title, w.as_of, date(now)))
        .tag("</h1>\n<p>")
        .text(&counts(groups, w))
        .tag("</p>\n");
    for group in groups {
        h.tag("<h2 style=\"font-size: 16px; margin-top: 24px;\">")
            .text(&format!(
                "{} ({})",
                w.section(group.kind),
                group.notifications.len()
            ))
            .tag("</h2>\n");
        for notification in &group.notifications {
            entry(&mut h, notification, language);
        }
    }
    h.tag("<p style=\"color: #777; font-size: 12px; margin-top: 24px;\">")
        .text(w.footer)
        .tag("</p>\n</body>\n</html>\n");
    h.into_string()
}

/// One notification as a block with a coloured edge: red critical, orange warning, green
/// resolved.
fn entry(h: &mut Html, notification: &Notification, language: Language) {
    h.tag(match (notification.kind, notification.severity) {
        (Kind::Resolved, _) => {
            "<div style=\"border-left: 4px solid #2e7d32; padding: 4px 12px; margin: 12px 0;\">\n"
        }
        (_, Severity::Critical) => {
            "<div style=\"border-left: 4px solid #c62828; padding: 4px 12px; margin: 12px 0;\">\n"
        }
        (_, Severity::Warning | Severity::Info) => {
            "<div style=\"border-left: 4px solid #ef6c00; padding: 4px 12px; margin: 12px 0;\">\n"
        }
    })
    .tag("<p style=\"margin: 0 0 4px 0;\"><strong>")
    .text(&one_line(&text::headline(notification, language)))
    .tag("</strong></p>\n<p style=\"margin: 0 0 4px 0;\">")
    .lines(&notification.alert.summary)
    .tag("</p>\n<table style=\"border-collapse: collapse;\">\n");
    for (label, value) in fields(notification, language) {
        h.tag("<tr><td style=\"color: #555; padding: 1px 12px 1px 0; vertical-align: top;\">")
            .text(label)
            .tag("</td><td style=\"padding: 1px 0;\">")
            .lines(&value)
            .tag("</td></tr>\n");
    }
    h.tag("</table>\n</div>\n");
}

/// The labelled lines under an entry's headline and summary: hosts, office, certificate,
/// dates, acknowledgement, and what to do unless it is a resolution.
fn fields(notification: &Notification, language: Language) -> Vec<Field> {
    let w = words(language);
    let [hosts, office, remedy, acknowledged] = text::labels(language);
    let alert = &notification.alert;
    let mut out: Vec<Field> = Vec::new();
    if !alert.hosts.is_empty() {
        out.push((hosts, host_list(notification, w)));
    }
    if let Some(name) = &alert.office {
        out.push((office, one_line(name)));
    }
    if let Some(cert) = &alert.certificate {
        let mut name = one_line(cert.subject_cn.as_deref().unwrap_or("—"));
        if let Some(issuer) = &cert.issuer_cn {
            let _ = write!(name, "; {}: {}", w.issuer, one_line(issuer));
        }
        out.push((w.certificate, name));
        out.push(("SHA-1", cert.sha1.clone()));
        if let Some(at) = cert.not_after {
            out.push((w.not_after, date(at)));
        }
        if let Some(at) = cert.private_key_not_after {
            out.push((w.key_not_after, date(at)));
        }
    }
    out.push((w.started, date(alert.started_at)));
    match (notification.kind, alert.resolved_at) {
        (Kind::Resolved, Some(at)) => out.push((w.resolved, date(at))),
        (_, Some(at)) if !alert.firing => out.push((w.since_resolved, date(at))),
        _ => {}
    }
    if let Some(ack) = &alert.acknowledged {
        let mut value = format!("{}, {}", one_line(&ack.by), date(ack.at));
        if !ack.comment.trim().is_empty() {
            let _ = write!(value, ": {}", one_line(&ack.comment));
        }
        out.push((acknowledged, value));
    }
    if notification.kind != Kind::Resolved {
        out.push((remedy, alert.remediation.clone()));
    }
    out
}

/// Host names in order, each with its office when the alert spans several, cut after
/// [`MAX_HOSTS`].
fn host_list(notification: &Notification, w: &Words) -> String {
    let alert = &notification.alert;
    let mut names: Vec<String> = alert
        .hosts
        .iter()
        .take(MAX_HOSTS)
        .map(|host| match alert.office {
            Some(_) => one_line(&host.hostname),
            None => format!("{} ({})", one_line(&host.hostname), one_line(&host.office)),
        })
        .collect();
    if alert.hosts.len() > MAX_HOSTS {
        names.push((w.more)(alert.hosts.len() - MAX_HOSTS));
    }
    names.join(", ")
}

/// A moment as people read it, in UTC whatever their zone: "2026-11-25 09:00 UTC".
fn date(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `text` on one line: control characters (line breaks an agent slipped into a host name or a
/// certificate's subject) become spaces, so they cannot forge lines or headers.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests;
