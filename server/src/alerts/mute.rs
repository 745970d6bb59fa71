//! Silences and maintenance windows: which firing alerts queue no notification now.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::PgConnection;

use super::rules::Desired;

/// A silence's matchers: every one given must match.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct Matchers {
    #[serde(default)]
    pub(crate) office_id: Option<i64>,
    #[serde(default)]
    pub(crate) code: Option<String>,
    #[serde(default)]
    pub(crate) certificate: Option<String>,
    /// An agent id or a host name.
    #[serde(default)]
    pub(crate) host: Option<String>,
}

/// Why no notification goes out for an alert now.
pub(super) struct Mutes {
    silences: Vec<(i64, Matchers)>,
    maintenance: HashSet<i64>,
}

/// The silences and maintenance windows in force at `now`.
pub(super) async fn mutes(db: &mut PgConnection, now: DateTime<Utc>) -> Result<Mutes, sqlx::Error> {
    // One statement for both: this runs after every changed report too.
    let (ids, matchers, maintenance): (Vec<i64>, Vec<sqlx::types::Json<Matchers>>, Vec<i64>) =
        sqlx::query_as(
            "select array(select id from silences \
                          where starts_at <= $1 and ends_at > $1 order by id), \
                    array(select matchers from silences \
                          where starts_at <= $1 and ends_at > $1 order by id), \
                    array(select distinct office_id from office_maintenance \
                          where starts_at <= $1 and ends_at > $1)",
        )
        .bind(now)
        .fetch_one(&mut *db)
        .await?;
    Ok(Mutes {
        silences: ids
            .into_iter()
            .zip(matchers.into_iter().map(|m| m.0))
            .collect(),
        maintenance: maintenance.into_iter().collect(),
    })
}

// === impl Mutes ===

impl Mutes {
    /// Why `alert` is muted now, or `None`.
    pub(super) fn reason(&self, alert: &Desired) -> Option<String> {
        if let Some(office) = alert.office_id {
            if self.maintenance.contains(&office) {
                return Some(format!("maintenance window of office {office}"));
            }
        }
        self.silences
            .iter()
            .find(|(_, m)| m.matches(alert))
            .map(|(id, _)| format!("silence {id}"))
    }
}

// === impl Matchers ===

impl Matchers {
    pub(crate) fn matches(&self, alert: &Desired) -> bool {
        let office = self.office_id.is_none_or(|o| alert.office_id == Some(o));
        let code = self.code.as_ref().is_none_or(|c| *c == alert.rule);
        let certificate = self.certificate.as_ref().is_none_or(|c| {
            alert.labels.get("certificate").and_then(|v| v.as_str()) == Some(c.as_str())
        });
        let host = self.host.as_ref().is_none_or(|h| {
            alert
                .hosts
                .iter()
                .any(|(agent, name)| agent.to_string() == *h || name == h)
        });
        office && code && certificate && host
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use uuid::Uuid;

    use super::*;

    fn alert() -> Desired {
        Desired {
            key: "certificate:ab".into(),
            rule: "certificate.expiring".into(),
            severity: tokenwatch_inventory::findings::Severity::Warning,
            office_id: Some(7),
            subject: String::new(),
            summary: String::new(),
            remediation: String::new(),
            hosts: vec![(Uuid::from_u128(1), "buh-01".into())],
            labels: json!({ "certificate": "ab" }),
        }
    }

    fn matchers(value: serde_json::Value) -> Matchers {
        serde_json::from_value(value).expect("matchers")
    }

    #[test]
    fn every_given_matcher_must_match() {
        let id = Uuid::from_u128(1).to_string();
        for yes in [
            json!({ "office_id": 7 }),
            json!({ "code": "certificate.expiring", "host": "buh-01" }),
            json!({ "certificate": "ab", "host": id }),
        ] {
            assert!(matchers(yes.clone()).matches(&alert()), "{yes}");
        }
        for no in [
            json!({ "office_id": 8 }),
            json!({ "office_id": 7, "code": "agent.silent" }),
            json!({ "certificate": "cd" }),
            json!({ "host": "buh-02" }),
        ] {
            assert!(!matchers(no.clone()).matches(&alert()), "{no}");
        }
    }

    #[test]
    fn maintenance_wins_over_silences_and_names_the_office() {
        let mutes = Mutes {
            silences: vec![(3, matchers(json!({ "host": "buh-01" })))],
            maintenance: HashSet::from([7]),
        };
        assert_eq!(
            mutes.reason(&alert()).as_deref(),
            Some("maintenance window of office 7")
        );
        let mutes = Mutes {
            maintenance: HashSet::new(),
            ..mutes
        };
        assert_eq!(mutes.reason(&alert()).as_deref(), Some("silence 3"));
    }
}
