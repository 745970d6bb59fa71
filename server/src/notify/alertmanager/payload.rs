//! The alerts posted to Alertmanager, built from tokenwatch's alerts as they stand: pure.
//!
//! Alertmanager knows an alert by its whole label set. [`Held`] remembers the label set each
//! alert was last posted under, so that when the labels of an alert change (escalation, a new
//! rule, hosts that come or go) the old set is posted as ended instead of lingering beside the
//! new one until it expires.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::notify::Alert;

/// How many host names the `host` label lists before it only says how many more there are: a
/// label is shown in every Alertmanager notification title and grouping key, and an alert about
/// a CA certificate can concern hundreds of hosts. The `hosts` annotation lists them all.
pub const HOST_LABEL_MAX: usize = 10;

/// A label set, ordered by name as Alertmanager shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Labels(BTreeMap<String, String>);

/// One alert as `POST /api/v2/alerts` takes it (and as it is stored once posted, see
/// [`Held`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Postable {
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// Which alerts a [`Held::sync`] is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The alerts of a batch of notifications: others are left as they are.
    Some,
    /// Every firing alert the channel was told about: any other alert still held has stopped
    /// firing without a resolution reaching the channel (it was muted), and is ended.
    Every,
}

/// What Alertmanager holds from this channel: the last post of each alert still firing there,
/// by alert id.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Held(HashMap<i64, Postable>);

/// One request bringing Alertmanager in line, and what it holds once it took the request.
#[derive(Debug)]
pub struct Sync {
    /// Ended alerts first: a resolved alert and a new alert of the same problem can share a label
    /// set, and Alertmanager takes the array in order, so the end must not come last.
    pub alerts: Vec<Postable>,
    pub held: Held,
}

// === impl Labels ===

impl Labels {
    /// The labels of `alert`: its rule as `alertname`, `severity`, `office` when there is one,
    /// `host` (the sorted host names joined by commas, so that one problem on three hosts is one
    /// alert, as in tokenwatch), `subject_cn` and `sha1` of its certificate, and `tokenwatch_key`,
    /// the problem's stable identity, so that two problems never collapse into one alert.
    pub fn of(alert: &Alert) -> Self {
        let mut labels = BTreeMap::new();
        let mut put = |name: &'static str, value: &str| {
            // An empty value is no label at all for Alertmanager's matchers.
            if !value.is_empty() {
                labels.insert(name.to_owned(), value.to_owned());
            }
        };
        put("alertname", &alert.rule);
        put("severity", alert.severity.as_str());
        put("tokenwatch_key", &alert.key);
        put("office", alert.office.as_deref().unwrap_or_default());
        put("host", &host_label(alert));
        if let Some(certificate) = &alert.certificate {
            put("sha1", &certificate.sha1);
            put(
                "subject_cn",
                certificate.subject_cn.as_deref().unwrap_or_default(),
            );
        }
        Self(labels)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// The sorted, distinct host names joined by commas, the first [`HOST_LABEL_MAX`] of them.
fn host_label(alert: &Alert) -> String {
    let names = host_names(alert);
    let mut label = names
        .iter()
        .take(HOST_LABEL_MAX)
        .copied()
        .collect::<Vec<_>>()
        .join(",");
    if names.len() > HOST_LABEL_MAX {
        label.push_str(&format!(",+{} more", names.len() - HOST_LABEL_MAX));
    }
    label
}

fn host_names(alert: &Alert) -> Vec<&str> {
    let names: BTreeSet<&str> = alert.hosts.iter().map(|h| h.hostname.as_str()).collect();
    names.into_iter().collect()
}

/// What people need to act: summary, remediation, subject, every host, the offices of an alert
/// spanning several, who acknowledged it, and the certificate's end and SHA-256. Annotations do
/// not identify an alert: changing them (an acknowledgement) updates the same alert.
fn annotations(alert: &Alert) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut put = |name: &str, value: String| out.insert(name.to_owned(), value);
    put("summary", alert.summary.clone());
    put("remediation", alert.remediation.clone());
    put("subject", alert.subject.clone());
    let hosts = host_names(alert);
    if !hosts.is_empty() {
        put("hosts", hosts.join(", "));
    }
    if alert.office.is_none() {
        let offices: BTreeSet<&str> = alert.hosts.iter().map(|h| h.office.as_str()).collect();
        if !offices.is_empty() {
            put(
                "offices",
                offices.into_iter().collect::<Vec<_>>().join(", "),
            );
        }
    }
    if let Some(ack) = &alert.acknowledged {
        let at = ack.at.to_rfc3339_opts(SecondsFormat::Secs, true);
        let mut text = format!("{} at {at}", ack.by);
        if !ack.comment.is_empty() {
            text.push_str(": ");
            text.push_str(&ack.comment);
        }
        put("acknowledged", text);
    }
    if let Some(certificate) = &alert.certificate {
        put("sha256", certificate.sha256.clone());
        if let Some(end) = certificate.not_after {
            put("not_after", end.to_rfc3339_opts(SecondsFormat::Secs, true));
        }
    }
    out
}

// === impl Postable ===

impl Postable {
    /// `alert` as it stands at `now`. A firing alert ends after `hold` unless posted again, so
    /// that Alertmanager resolves it by itself should tokenwatch stop; a resolved one ends when
    /// it was resolved, though never after `now`: Alertmanager would keep an end in its future
    /// firing, and a later end would even win over an earlier one it already holds.
    pub fn of(alert: &Alert, now: DateTime<Utc>, hold: Duration) -> Self {
        let ends_at = if alert.firing {
            now + hold
        } else {
            alert.resolved_at.unwrap_or(now).min(now)
        };
        Self {
            labels: Labels::of(alert),
            annotations: annotations(alert),
            starts_at: alert.started_at,
            ends_at,
        }
    }

    fn same_but_end(&self, other: &Self) -> bool {
        self.labels == other.labels
            && self.annotations == other.annotations
            && self.starts_at == other.starts_at
    }

    fn ended(&self, now: DateTime<Utc>) -> Self {
        Self {
            ends_at: now,
            ..self.clone()
        }
    }
}

// === impl Held ===

impl Held {
    /// The request that tells Alertmanager about `alerts` as they stand at `now` (each alert
    /// once, however many notifications in a batch concern it), ending what it holds under
    /// labels that changed, and with [`Scope::Every`] what stopped firing.
    pub fn sync<'a>(
        &self,
        alerts: impl IntoIterator<Item = &'a Alert>,
        scope: Scope,
        now: DateTime<Utc>,
        hold: Duration,
    ) -> Sync {
        let mut held = self.clone();
        let mut ended = Vec::new();
        let mut current = Vec::new();
        let mut seen = HashSet::new();
        for alert in alerts {
            if !seen.insert(alert.id) {
                continue;
            }
            let post = Postable::of(alert, now, hold);
            let before = if alert.firing {
                held.0.insert(alert.id, post.clone())
            } else {
                held.0.remove(&alert.id)
            };
            if let Some(before) = before.filter(|before| before.labels != post.labels) {
                ended.push(before.ended(now));
            }
            if alert.firing {
                current.push(post);
            } else {
                ended.push(post);
            }
        }
        if scope == Scope::Every {
            let mut gone: Vec<i64> = held
                .0
                .keys()
                .filter(|id| !seen.contains(id))
                .copied()
                .collect();
            gone.sort_unstable();
            for id in gone {
                if let Some(before) = held.0.remove(&id) {
                    ended.push(before.ended(now));
                }
            }
        }
        ended.extend(current);
        Sync {
            alerts: ended,
            held,
        }
    }

    /// The label set alert `id` is held under.
    pub fn labels(&self, id: i64) -> Option<&Labels> {
        self.0.get(&id).map(|post| &post.labels)
    }

    /// What Alertmanager holds, from what was stored of each alert's last post.
    pub fn from_posts(posts: impl IntoIterator<Item = (i64, Postable)>) -> Self {
        Self(posts.into_iter().collect())
    }

    /// How `self` differs from `before`: the posts that are new or changed other than in
    /// their end (which every re-post moves, and which ending a post replaces anyway), by
    /// alert id, and the ids no longer held.
    pub fn changes_since<'a>(&'a self, before: &Held) -> (Vec<(i64, &'a Postable)>, Vec<i64>) {
        let mut changed: Vec<(i64, &Postable)> = self
            .0
            .iter()
            .filter(|(id, post)| before.0.get(id).is_none_or(|b| !b.same_but_end(post)))
            .map(|(id, post)| (*id, post))
            .collect();
        changed.sort_unstable_by_key(|(id, _)| *id);
        let mut dropped: Vec<i64> = before
            .0
            .keys()
            .filter(|id| !self.0.contains_key(id))
            .copied()
            .collect();
        dropped.sort_unstable();
        (changed, dropped)
    }
}

#[cfg(test)]
mod tests;
