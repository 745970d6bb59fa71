//! The alerts list: newest first, filtered by state, office and severity, with the
//! acknowledgement form in the rows an operator may acknowledge.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::detail::ack_form;
use super::{EN, Notice, RU, answer, notice_markup, stamp};
use crate::access::Role;
use crate::alerts::{self, AlertFilter, AlertSummary};
use crate::dashboard::i18n::{self, Lang};
use crate::dashboard::layout::{self, Section};
use crate::dashboard::{Viewer, bad_request, office_names};
use crate::http::HttpState;

/// `GET /alerts`'s query; an empty value (the filter form's "any") matches all.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    office: String,
    #[serde(default)]
    severity: String,
    /// What was just done, for the message: `ack` or `silence`.
    #[serde(default)]
    done: String,
}

/// `GET /alerts`.
pub(super) async fn page(
    State(state): State<HttpState>,
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> Response {
    let words = viewer.lang.pick(&RU, &EN);
    let Some(filter) = filter_of(&query) else {
        return bad_request(viewer.lang, words.bad_filter);
    };
    let notice = match query.done.as_str() {
        "ack" => Some(Notice::Done(words.done_ack)),
        "silence" => Some(Notice::Done(words.done_silence)),
        _ => None,
    };
    let page = body(&state, &viewer, &filter, notice).await;
    answer(viewer.lang, StatusCode::OK, page)
}

/// The alert filter of `query`; `None` when a value is not one the list knows.
fn filter_of(query: &ListQuery) -> Option<AlertFilter> {
    let given = |value: &str| (!value.trim().is_empty()).then(|| value.trim().to_owned());
    let filter = AlertFilter {
        state: given(&query.state),
        office: given(&query.office),
        severity: given(&query.severity),
    };
    let known_state = filter
        .state
        .as_deref()
        .is_none_or(|s| ["firing", "resolved"].contains(&s));
    let known_severity = filter
        .severity
        .as_deref()
        .is_none_or(|s| ["critical", "warning", "info"].contains(&s));
    (known_state && known_severity).then_some(filter)
}

/// The list page: filters, then a row per alert the account sees.
pub(super) async fn body(
    state: &HttpState,
    viewer: &Viewer,
    filter: &AlertFilter,
    notice: Option<Notice>,
) -> Result<Markup, sqlx::Error> {
    let words = viewer.lang.pick(&RU, &EN);
    let texts = i18n::texts(viewer.lang);
    let seen = viewer.principal.offices.restriction();
    let list = alerts::list(&state.pool, filter, seen).await?;
    let by = acknowledgers(state, &list).await?;
    let offices = office_names(state, viewer).await?;
    let can_act = viewer.principal.has(Role::Operator);
    let content = html! {
        (notice_markup(notice))
        (filter_form(viewer.lang, filter, &offices))
        div.table { table id="alerts" {
            thead { tr {
                th {} th { (words.subject) } th { (words.summary) } th { (texts.office) }
                th { (words.hosts) } th { (words.started) } th { (words.state) }
                th { (words.acknowledged) }
            } }
            tbody {
                @for alert in &list {
                    (row(viewer, alert, by.get(&alert.id).map(String::as_str), can_act))
                }
                @if list.is_empty() {
                    tr { td.muted colspan="8" { (texts.nothing) } }
                }
            }
        } }
    };
    Ok(layout::page(viewer, Section::Alerts, words.title, content))
}

/// Who acknowledged each of `list`'s acknowledged alerts, by id: the list's rows do not carry
/// it, and the page names them.
async fn acknowledgers(
    state: &HttpState,
    list: &[AlertSummary],
) -> Result<HashMap<i64, String>, sqlx::Error> {
    let ids: Vec<i64> = list
        .iter()
        .filter(|a| a.acknowledged_at.is_some())
        .map(|a| a.id)
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "select id, acknowledged_by from alerts \
         where id = any($1) and acknowledged_by is not null",
    )
    .bind(&ids)
    .fetch_all(&state.pool)
    .await?;
    Ok(rows.into_iter().collect())
}

/// The filter form: state, office, severity.
fn filter_form(lang: Lang, filter: &AlertFilter, offices: &[String]) -> Markup {
    let words = lang.pick(&RU, &EN);
    let texts = i18n::texts(lang);
    let state = filter.state.as_deref().unwrap_or_default();
    let office = filter.office.as_deref().unwrap_or_default();
    let severity = filter.severity.as_deref().unwrap_or_default();
    html! {
        form.filters method="get" action="/alerts" {
            label { (words.state) select name="state" {
                option value="" { (words.any_state) }
                option value="firing" selected[state == "firing"] { (words.firing) }
                option value="resolved" selected[state == "resolved"] { (words.resolved) }
            } }
            label { (texts.office) select name="office" {
                option value="" { (texts.all_offices) }
                @for name in offices {
                    option value=(name) selected[name == office] { (name) }
                }
            } }
            label { (words.severity) select name="severity" {
                option value="" { (words.any_severity) }
                @for value in ["critical", "warning", "info"] {
                    option value=(value) selected[value == severity] { (value) }
                }
            } }
            button type="submit" { (texts.filter) }
        }
    }
}

/// One alert of the list; for an operator, a firing alert nobody acknowledged yet has the
/// acknowledgement form in its row, the most common thing done from this page.
fn row(viewer: &Viewer, alert: &AlertSummary, by: Option<&str>, can_act: bool) -> Markup {
    let words = viewer.lang.pick(&RU, &EN);
    let firing = alert.state == "firing";
    html! {
        tr id={ "alert-" (alert.id) } {
            td { (layout::severity(&alert.severity)) }
            td { a href={ "/alerts/" (alert.id) } { (alert.subject) } }
            td { (alert.summary) }
            td { (alert.office.as_deref().unwrap_or("—")) }
            td.num { (alert.hosts) }
            td { (stamp(alert.started_at)) }
            td {
                @if firing { (words.firing) } @else { (words.resolved) }
                @if let Some(at) = alert.resolved_at { br; span.muted { (stamp(at)) } }
            }
            td.acknowledged {
                @if let Some(at) = alert.acknowledged_at {
                    (by.unwrap_or("—")) br; span.muted { (stamp(at)) }
                } @else if firing && can_act {
                    (ack_form(viewer, alert.id))
                } @else {
                    "—"
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_filter_values_are_taken() {
        let query = |state: &str, severity: &str| ListQuery {
            state: state.into(),
            severity: severity.into(),
            ..ListQuery::default()
        };
        assert_eq!(filter_of(&query("", "")), Some(AlertFilter::default()));
        let firing = filter_of(&query("firing", "critical")).unwrap();
        assert_eq!(firing.state.as_deref(), Some("firing"));
        assert_eq!(firing.severity.as_deref(), Some("critical"));
        assert_eq!(filter_of(&query("open", "")), None);
        assert_eq!(filter_of(&query("", "fatal")), None);
    }
}
