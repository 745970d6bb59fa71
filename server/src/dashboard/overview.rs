//! The overview: a tile per office, what expires when (the next 90 days, week by week), and
//! the worst findings first.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;
use chrono::{Datelike as _, Duration, NaiveDate, Utc};
use maud::{Markup, html};

use super::layout::{self, Section};
use super::{Viewer, list_page, rendered};
use crate::http::HttpState;
use crate::query::{QueryError, lists};

struct Words {
    title: &'static str,
    hosts: &'static str,
    silent: &'static str,
    tokens: &'static str,
    containers: &'static str,
    incomplete: &'static str,
    certificates: &'static str,
    expired: &'static str,
    within_7: &'static str,
    within_30: &'static str,
    within_90: &'static str,
    keys_30: &'static str,
    critical: &'static str,
    warning: &'static str,
    alerts: &'static str,
    timeline: &'static str,
    week_of: &'static str,
    worst: &'static str,
    more: &'static str,
}

const RU: Words = Words {
    title: "Обзор",
    hosts: "Компьютеры",
    silent: "Молчат",
    tokens: "Токены",
    containers: "Контейнеры",
    incomplete: "Неполные контейнеры",
    certificates: "Сертификаты",
    expired: "Истекли",
    within_7: "Истекают за 7 дней",
    within_30: "За 30 дней",
    within_90: "За 90 дней",
    keys_30: "Закрытые ключи за 30 дней",
    critical: "Критичные проблемы",
    warning: "Предупреждения",
    alerts: "Активные оповещения",
    timeline: "Что истекает: ближайшие 90 дней",
    week_of: "Неделя с",
    worst: "Самые серьёзные проблемы",
    more: "Все проблемы →",
};

const EN: Words = Words {
    title: "Overview",
    hosts: "Hosts",
    silent: "Silent",
    tokens: "Tokens",
    containers: "Key containers",
    incomplete: "Incomplete containers",
    certificates: "Certificates",
    expired: "Expired",
    within_7: "Expiring within 7 days",
    within_30: "Within 30 days",
    within_90: "Within 90 days",
    keys_30: "Private keys within 30 days",
    critical: "Critical findings",
    warning: "Warnings",
    alerts: "Firing alerts",
    timeline: "What expires: the next 90 days",
    week_of: "Week of",
    worst: "Worst findings first",
    more: "All findings →",
};

/// `GET /`.
pub(super) async fn page(State(state): State<HttpState>, viewer: Viewer) -> Response {
    rendered(viewer.lang, body(&state, &viewer).await)
}

async fn body(state: &HttpState, viewer: &Viewer) -> Result<Markup, QueryError> {
    let words = viewer.lang.pick(&RU, &EN);
    let now = Utc::now();
    let seen = viewer.principal.offices.restriction();
    let defaults = &state.alert_defaults;
    let offices = state
        .summaries
        .get(
            &state.pool,
            seen,
            defaults.agent_interval,
            defaults.defaults.silent_after_intervals,
        )
        .await?;
    let params = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let soon = params(&[
        ("expiring_within_days", "90"),
        ("ca", "false"),
        ("limit", "500"),
    ]);
    let expiring = list_page(state, viewer, &lists::CERTIFICATES, &soon)
        .await?
        .items;
    let worst = list_page(state, viewer, &lists::FINDINGS, &params(&[("limit", "15")]))
        .await?
        .items;
    // Monday of each certificate's week, in order.
    let mut weeks: BTreeMap<NaiveDate, Vec<&serde_json::Value>> = BTreeMap::new();
    for certificate in &expiring {
        if let Some(day) = certificate["not_after"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        {
            let day = day.with_timezone(&Utc).date_naive();
            let monday = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
            weeks.entry(monday).or_default().push(certificate);
        }
    }
    let content = html! {
        section.tiles {
            @for office in offices.iter() {
                article.tile {
                    h3 { a href={ "/hosts?office=" (super::encode(&office.office)) } { (office.office) } }
                    dl {
                        dt { (words.hosts) } dd { (office.hosts) }
                        dt { (words.silent) } dd class=[(office.silent_hosts > 0).then_some("warning")] { (office.silent_hosts) }
                        dt { (words.tokens) } dd { (office.tokens) }
                        dt { (words.containers) } dd { (office.containers) }
                        dt { (words.incomplete) } dd { (office.incomplete_containers) }
                        dt { (words.certificates) } dd { (office.certificates) }
                        dt { (words.expired) } dd { (office.expired) }
                        dt { (words.within_7) } dd { (office.expiring_7_days) }
                        dt { (words.within_30) } dd { (office.expiring_30_days) }
                        dt { (words.within_90) } dd { (office.expiring_90_days) }
                        dt { (words.keys_30) } dd { (office.private_keys_expiring_30_days) }
                        dt { (words.critical) } dd { (office.critical_findings) }
                        dt { (words.warning) } dd { (office.warning_findings) }
                        dt { a href="/alerts" { (words.alerts) } } dd { (office.firing_alerts) }
                    }
                }
            }
        }
        h2 { (words.timeline) }
        @if weeks.is_empty() { p.muted { (super::i18n::texts(viewer.lang).nothing) } }
        @for (monday, certificates) in &weeks {
            section.week {
                h3 { (words.week_of) " " (monday.format("%Y-%m-%d")) }
                div.table { table { tbody {
                    @for c in certificates {
                        @let days = layout::days_left(&c["not_after"], now);
                        tr {
                            td class=(layout::urgency(days)) { (layout::date(&c["not_after"])) }
                            td { a href={ "/certificates?q=" (super::encode(c["subject"].as_str().unwrap_or_default())) } { (layout::text(&c["subject_cn"])) } }
                            td { (layout::text(&c["organization"])) }
                            td.muted {
                                @for (i, host) in c["hosts"].as_array().into_iter().flatten().enumerate() {
                                    @if i > 0 { ", " }
                                    a href={ "/hosts/" (layout::text(&host["agent_id"])) } { (layout::text(&host["hostname"])) }
                                }
                            }
                        }
                    }
                } } }
            }
        }
        h2 { (words.worst) }
        div.table { table { tbody {
            @for f in &worst {
                tr {
                    td { (layout::severity(f["severity"].as_str().unwrap_or("info"))) }
                    td { a href={ "/hosts/" (layout::text(&f["agent_id"])) } { (layout::text(&f["hostname"])) } }
                    td { (layout::text(&f["subject"])) br; span.muted { (layout::text(&f["message"])) } }
                }
            }
        } } }
        p { a href="/hosts?severity=critical" { (words.more) } }
    };
    Ok(layout::page(
        viewer,
        Section::Overview,
        words.title,
        content,
    ))
}
