//! Alerts: the list (newest first), one alert with its hosts and history, and what operators
//! do from there: acknowledge an alert, silence what it is about.
//!
//! A change goes through the same checks as the API's (`/api/v1/alerts/{id}/ack`,
//! `/api/v1/silences`): the form's CSRF token, the operator role, an alert or office the
//! account sees; it is written to the audit log under the API's action names, so the log reads
//! the same whichever way the change was made.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use super::i18n::{self, Lang};
use super::layout::{self, Section};
use super::{Viewer, office_names, unavailable};
use crate::access::{Change, Role, audit};
use crate::alerts::{self, AlertDetail, AlertFilter, AlertSummary, ManageError, NewSilence};
use crate::http::HttpState;

struct Words {
    title: &'static str,
    state: &'static str,
    any_state: &'static str,
    firing: &'static str,
    resolved: &'static str,
    severity: &'static str,
    any_severity: &'static str,
    subject: &'static str,
    summary: &'static str,
    hosts: &'static str,
    started: &'static str,
    acknowledged: &'static str,
    rule: &'static str,
    key: &'static str,
    remediation: &'static str,
    history: &'static str,
    when: &'static str,
    event: &'static str,
    who: &'static str,
    detail: &'static str,
    no_hosts: &'static str,
    acknowledge: &'static str,
    ack_heading: &'static str,
    comment: &'static str,
    comment_hint: &'static str,
    silence: &'static str,
    silence_heading: &'static str,
    silence_note: &'static str,
    code: &'static str,
    host: &'static str,
    certificate: &'static str,
    until: &'static str,
    day_1: &'static str,
    days_7: &'static str,
    days_30: &'static str,
    done_ack: &'static str,
    done_silence: &'static str,
    need_comment: &'static str,
    not_firing: &'static str,
    bad_office: &'static str,
    need_office: &'static str,
    bad_until: &'static str,
    need_matcher: &'static str,
    bad_filter: &'static str,
}

const RU: Words = Words {
    title: "Оповещения",
    state: "Состояние",
    any_state: "Любое",
    firing: "активно",
    resolved: "устранено",
    severity: "Важность",
    any_severity: "Любая",
    subject: "Объект",
    summary: "Описание",
    hosts: "Компьютеров",
    started: "Началось",
    acknowledged: "Подтверждено",
    rule: "Правило",
    key: "Ключ",
    remediation: "Что сделать",
    history: "История",
    when: "Когда",
    event: "Событие",
    who: "Кто",
    detail: "Подробности",
    no_hosts: "Компьютеров ваших офисов в оповещении нет.",
    acknowledge: "Подтвердить",
    ack_heading: "Подтвердить оповещение",
    comment: "Комментарий",
    comment_hint: "Что делается, например: заявка в УЦ подана",
    silence: "Заглушить",
    silence_heading: "Заглушить похожие оповещения",
    silence_note: "Пока действует заглушка, по оповещениям, подходящим под все заполненные \
                   условия, уведомления не отправляются. Пустое поле — любое значение.",
    code: "Правило",
    host: "Компьютер (имя или ID агента)",
    certificate: "Сертификат (SHA-256)",
    until: "Срок",
    day_1: "1 день",
    days_7: "7 дней",
    days_30: "30 дней",
    done_ack: "Оповещение подтверждено.",
    done_silence: "Заглушка создана.",
    need_comment: "Напишите комментарий: что делается по оповещению.",
    not_firing: "Оповещение уже не активно: подтверждать нечего.",
    bad_office: "Такого офиса среди ваших нет.",
    need_office: "Выберите офис: вашей учётной записи доступны не все офисы.",
    bad_until: "Выберите срок из списка.",
    need_matcher: "Заполните хотя бы одно условие: офис, правило, компьютер или сертификат.",
    bad_filter: "Неизвестное значение фильтра.",
};

const EN: Words = Words {
    title: "Alerts",
    state: "State",
    any_state: "Any",
    firing: "firing",
    resolved: "resolved",
    severity: "Severity",
    any_severity: "Any",
    subject: "Subject",
    summary: "Summary",
    hosts: "Hosts",
    started: "Started",
    acknowledged: "Acknowledged",
    rule: "Rule",
    key: "Key",
    remediation: "What to do",
    history: "History",
    when: "When",
    event: "Event",
    who: "Who",
    detail: "Detail",
    no_hosts: "The alert lists no host of your offices.",
    acknowledge: "Acknowledge",
    ack_heading: "Acknowledge the alert",
    comment: "Comment",
    comment_hint: "What is being done, e.g. renewal ordered",
    silence: "Silence",
    silence_heading: "Silence alerts like this one",
    silence_note: "While the silence lasts, alerts matching every filled-in condition send no \
                   notification. An empty field matches anything.",
    code: "Rule",
    host: "Host (name or agent id)",
    certificate: "Certificate (SHA-256)",
    until: "For",
    day_1: "1 day",
    days_7: "7 days",
    days_30: "30 days",
    done_ack: "The alert is acknowledged.",
    done_silence: "The silence is created.",
    need_comment: "Write a comment: what is being done about the alert.",
    not_firing: "The alert is no longer firing: there is nothing to acknowledge.",
    bad_office: "There is no such office among yours.",
    need_office: "Choose an office: your account sees only some offices.",
    bad_until: "Choose a duration from the list.",
    need_matcher: "Fill in at least one condition: office, rule, host or certificate.",
    bad_filter: "Unknown filter value.",
};

/// How long a silence lasts: the form's value, days.
const DURATIONS: [(&str, i64); 3] = [("1", 1), ("7", 7), ("30", 30)];

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

/// `POST /alerts/{id}/ack`. Missing fields read as empty, so that a form without a comment
/// gets the page with a message rather than a bare rejection.
#[derive(Debug, Default, Deserialize)]
pub(super) struct AckForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    comment: String,
}

/// `POST /alerts/silence`; also the silence form's values when it is shown.
#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct SilenceForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    office: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    host: String,
    #[serde(default)]
    certificate: String,
    /// Days, one of [`DURATIONS`].
    #[serde(default)]
    until: String,
    #[serde(default)]
    comment: String,
    /// The alert whose page the form was on, to show it again when the input is refused.
    #[serde(default)]
    alert: String,
}

/// A message above a page's content.
enum Notice {
    Done(&'static str),
    Error(String),
}

pub(super) fn routes() -> Router<HttpState> {
    Router::new()
        .route("/alerts", get(list_page))
        .route("/alerts/silence", post(silence))
        .route("/alerts/{id}", get(detail_page))
        .route("/alerts/{id}/ack", post(ack))
}

// === pages ===

/// `GET /alerts`.
async fn list_page(
    State(state): State<HttpState>,
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> Response {
    let words = viewer.lang.pick(&RU, &EN);
    let Some(filter) = filter_of(&query) else {
        return super::bad_request(viewer.lang, words.bad_filter);
    };
    let notice = match query.done.as_str() {
        "ack" => Some(Notice::Done(words.done_ack)),
        "silence" => Some(Notice::Done(words.done_silence)),
        _ => None,
    };
    let page = list_body(&state, &viewer, &filter, notice).await;
    answer(viewer.lang, StatusCode::OK, page)
}

/// `GET /alerts/{id}`: a 404 page for an alert the account does not see.
async fn detail_page(
    State(state): State<HttpState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    let alert = match visible(&state, &viewer, &id).await {
        Ok(Some(alert)) => alert,
        Ok(None) => return not_found(viewer.lang),
        Err(error) => return failed(viewer.lang, &error),
    };
    let draft = SilenceForm::prefilled(&alert);
    let page = detail_body(&state, &viewer, &alert, None, &draft).await;
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
async fn list_body(
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

/// The page of one alert: what, where, what to do, what happened; for an operator the
/// acknowledgement and silence forms.
async fn detail_body(
    state: &HttpState,
    viewer: &Viewer,
    detail: &AlertDetail,
    notice: Option<Notice>,
    draft: &SilenceForm,
) -> Result<Markup, sqlx::Error> {
    let words = viewer.lang.pick(&RU, &EN);
    let alert = &detail.alert;
    let can_act = viewer.principal.has(Role::Operator);
    let offices = if can_act {
        office_names(state, viewer).await?
    } else {
        Vec::new()
    };
    let content = html! {
        (notice_markup(notice))
        (facts(viewer.lang, detail))
        p { (alert.summary) }
        h2 { (words.remediation) }
        pre.remediation { (detail.remediation) }
        h2 { (words.hosts) " (" (detail.host_list.len()) ")" }
        @if detail.host_list.is_empty() {
            p.muted { (words.no_hosts) }
        } @else {
            ul.hosts {
                @for host in &detail.host_list {
                    li { a href={ "/hosts/" (host.agent_id) } { (host.hostname) } }
                }
            }
        }
        h2 { (words.history) }
        (history(viewer.lang, detail))
        @if can_act && alert.state == "firing" {
            h2 { (words.ack_heading) }
            (ack_form(viewer, alert.id))
        }
        @if can_act {
            h2 { (words.silence_heading) }
            p.muted { (words.silence_note) }
            (silence_form(viewer, &offices, draft))
        }
    };
    Ok(layout::page(
        viewer,
        Section::Alerts,
        &alert.subject,
        content,
    ))
}

/// The alert's facts as a definition list.
fn facts(lang: Lang, detail: &AlertDetail) -> Markup {
    let words = lang.pick(&RU, &EN);
    let alert = &detail.alert;
    html! {
        dl.facts {
            dt { (words.severity) } dd { (layout::severity(&alert.severity)) }
            dt { (words.state) } dd {
                @if alert.state == "firing" { (words.firing) } @else { (words.resolved) }
                @if let Some(at) = alert.resolved_at { " " span.muted { (stamp(at)) } }
            }
            dt { (i18n::texts(lang).office) } dd { (alert.office.as_deref().unwrap_or("—")) }
            dt { (words.rule) } dd { code { (alert.rule) } }
            dt { (words.key) } dd { code { (alert.key) } }
            dt { (words.started) } dd { (stamp(alert.started_at)) }
            dt { (words.acknowledged) } dd {
                @if let Some(at) = alert.acknowledged_at {
                    (detail.acknowledged_by.as_deref().unwrap_or("—")) ", " (stamp(at))
                    @if let Some(comment) = &detail.acknowledged_comment { ": " (comment) }
                } @else { "—" }
            }
        }
    }
}

/// The alert's events, oldest first.
fn history(lang: Lang, detail: &AlertDetail) -> Markup {
    let words = lang.pick(&RU, &EN);
    html! {
        div.table { table.history {
            thead { tr {
                th { (words.when) } th { (words.event) } th { (words.severity) }
                th { (words.who) } th { (words.detail) }
            } }
            tbody {
                @for event in &detail.history {
                    tr {
                        td { (stamp(event.at)) }
                        td { (event.kind) }
                        td { @if let Some(severity) = &event.severity { (layout::severity(severity)) } }
                        td { (event.actor.as_deref().unwrap_or("—")) }
                        td { (event.detail) }
                    }
                }
            }
        } }
    }
}

/// The acknowledgement form of alert `id`: a comment is required, as the API requires one.
fn ack_form(viewer: &Viewer, id: i64) -> Markup {
    let words = viewer.lang.pick(&RU, &EN);
    html! {
        form.ack.inline method="post" action={ "/alerts/" (id) "/ack" } {
            input type="hidden" name="csrf_token" value=(viewer.csrf());
            input name="comment" required placeholder=(words.comment_hint)
                aria-label=(words.comment);
            button type="submit" { (words.acknowledge) }
        }
    }
}

/// The silence form with `draft`'s values. An account of some offices must name one of them,
/// so it gets no "all offices" choice.
fn silence_form(viewer: &Viewer, offices: &[String], draft: &SilenceForm) -> Markup {
    let words = viewer.lang.pick(&RU, &EN);
    let texts = i18n::texts(viewer.lang);
    let scoped = viewer.principal.offices.restriction().is_some();
    let durations = [words.day_1, words.days_7, words.days_30];
    html! {
        form.stack.silence method="post" action="/alerts/silence" {
            input type="hidden" name="csrf_token" value=(viewer.csrf());
            input type="hidden" name="alert" value=(draft.alert);
            label { (texts.office) select name="office" required[scoped] {
                @if !scoped {
                    option value="" selected[draft.office.is_empty()] { (texts.all_offices) }
                }
                @for name in offices {
                    option value=(name) selected[*name == draft.office] { (name) }
                }
            } }
            label { (words.code) input name="code" value=(draft.code); }
            label { (words.host) input name="host" value=(draft.host); }
            label { (words.certificate) input name="certificate" value=(draft.certificate); }
            label { (words.until) select name="until" {
                @for ((value, _), label) in DURATIONS.iter().zip(durations) {
                    option value=(value) selected[*value == draft.until] { (label) }
                }
            } }
            label { (words.comment) input name="comment" required value=(draft.comment); }
            button type="submit" { (words.silence) }
        }
    }
}

// === changes ===

/// `POST /alerts/{id}/ack`: acknowledge, as `POST /api/v1/alerts/{id}/ack` does, then back to
/// the list.
async fn ack(
    State(state): State<HttpState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<AckForm>,
) -> Response {
    if let Err(refused) = viewer.check(&form.csrf_token) {
        return refused;
    }
    if let Err(refused) = viewer.require(Role::Operator) {
        return refused;
    }
    let words = viewer.lang.pick(&RU, &EN);
    let alert = match visible(&state, &viewer, &id).await {
        Ok(Some(alert)) => alert,
        Ok(None) => return not_found(viewer.lang),
        Err(error) => return failed(viewer.lang, &error),
    };
    let comment = form.comment.trim();
    if comment.is_empty() {
        return detail_again(&state, &viewer, &alert, words.need_comment.into(), None).await;
    }
    let id = alert.alert.id;
    let by = viewer.principal.name.as_str();
    match alerts::acknowledge(&state.pool, id, by, comment, Utc::now()).await {
        Ok(()) => {}
        // Resolved since the page was shown.
        Err(ManageError::NotFound) => {
            return detail_again(&state, &viewer, &alert, words.not_firing.into(), None).await;
        }
        Err(ManageError::Invalid(why)) => {
            return detail_again(&state, &viewer, &alert, why, None).await;
        }
        Err(ManageError::Db(error)) => return failed(viewer.lang, &error),
    }
    let details = serde_json::json!({ "by": by, "comment": comment, "key": alert.alert.key });
    let recorded = async {
        let office = match alert.alert.office.as_deref() {
            Some(name) => Some(office_of(&state, name).await?),
            None => None,
        };
        let target = format!("alert {id}");
        record(
            &state,
            &viewer,
            "alert.acknowledge",
            target,
            office,
            details,
        )
        .await
    };
    match recorded.await {
        Ok(()) => Redirect::to("/alerts?done=ack").into_response(),
        Err(error) => failed(viewer.lang, &error),
    }
}

/// `POST /alerts/silence`: create a silence, as `POST /api/v1/silences` does, then back to the
/// list.
async fn silence(
    State(state): State<HttpState>,
    viewer: Viewer,
    Form(form): Form<SilenceForm>,
) -> Response {
    if let Err(refused) = viewer.check(&form.csrf_token) {
        return refused;
    }
    if let Err(refused) = viewer.require(Role::Operator) {
        return refused;
    }
    let (silence, office) = match checked_silence(&state, &viewer, &form).await {
        Ok(Ok(checked)) => checked,
        Ok(Err(why)) => return silence_again(&state, &viewer, &form, why.into()).await,
        Err(error) => return failed(viewer.lang, &error),
    };
    let id = match alerts::add_silence(&state.pool, &silence, Utc::now()).await {
        Ok(id) => id,
        Err(ManageError::Invalid(why)) => return silence_again(&state, &viewer, &form, why).await,
        Err(ManageError::NotFound) => return not_found(viewer.lang),
        Err(ManageError::Db(error)) => return failed(viewer.lang, &error),
    };
    let details = serde_json::json!({
        "office": silence.office, "code": silence.code, "certificate": silence.certificate,
        "host": silence.host, "until": silence.until, "comment": silence.comment,
    });
    let target = format!("silence {id}");
    match record(&state, &viewer, "silence.create", target, office, details).await {
        Ok(()) => Redirect::to("/alerts?done=silence").into_response(),
        Err(error) => failed(viewer.lang, &error),
    }
}

/// The silence `form` asks for, with its office's id; or why it is refused. As the API: an
/// office must be one the account sees, and an account of some offices must name one, so that
/// it silences nothing of another office.
async fn checked_silence(
    state: &HttpState,
    viewer: &Viewer,
    form: &SilenceForm,
) -> Result<Result<(NewSilence, Option<i64>), &'static str>, sqlx::Error> {
    let words = viewer.lang.pick(&RU, &EN);
    let given = |value: &str| (!value.trim().is_empty()).then(|| value.trim().to_owned());
    let office = given(&form.office);
    let office_id = match (&office, viewer.principal.offices.restriction()) {
        (Some(name), _) => match seen_office(state, viewer, name).await? {
            Some(id) => Some(id),
            None => return Ok(Err(words.bad_office)),
        },
        (None, None) => None,
        (None, Some(_)) => return Ok(Err(words.need_office)),
    };
    let Some(days) = DURATIONS
        .iter()
        .find(|(value, _)| *value == form.until)
        .map(|d| d.1)
    else {
        return Ok(Err(words.bad_until));
    };
    let Some(comment) = given(&form.comment) else {
        return Ok(Err(words.need_comment));
    };
    let silence = NewSilence {
        office,
        code: given(&form.code),
        certificate: given(&form.certificate),
        host: given(&form.host),
        until: Utc::now() + Duration::days(days),
        comment,
        created_by: viewer.principal.name.clone(),
    };
    if [
        &silence.office,
        &silence.code,
        &silence.certificate,
        &silence.host,
    ]
    .iter()
    .all(|m| m.is_none())
    {
        return Ok(Err(words.need_matcher));
    }
    Ok(Ok((silence, office_id)))
}

// === shared ===

/// Alert `id` (as the address gives it) if the account sees it.
async fn visible(
    state: &HttpState,
    viewer: &Viewer,
    id: &str,
) -> Result<Option<AlertDetail>, sqlx::Error> {
    let Ok(id) = id.parse::<i64>() else {
        return Ok(None);
    };
    alerts::show(&state.pool, id, viewer.principal.offices.restriction()).await
}

/// The id of office `name` if the account sees it: an office they do not see is, to them, no
/// office at all (as the API's `seen_office`).
pub(super) async fn seen_office(
    state: &HttpState,
    viewer: &Viewer,
    name: &str,
) -> Result<Option<i64>, sqlx::Error> {
    match alerts::office_id(&state.pool, name).await {
        Ok(id) => Ok(viewer.principal.sees(id).then_some(id)),
        Err(ManageError::Db(error)) => Err(error),
        Err(_) => Ok(None),
    }
}

/// The id of office `name`, which exists.
async fn office_of(state: &HttpState, name: &str) -> Result<i64, sqlx::Error> {
    match alerts::office_id(&state.pool, name).await {
        Ok(id) => Ok(id),
        Err(ManageError::Db(error)) => Err(error),
        Err(_) => Err(sqlx::Error::RowNotFound),
    }
}

/// Write a change of `viewer`'s to the audit log, as the API's `caller.change(…)` does.
pub(super) async fn record(
    state: &HttpState,
    viewer: &Viewer,
    action: &str,
    target: String,
    office_id: Option<i64>,
    details: serde_json::Value,
) -> Result<(), sqlx::Error> {
    let change = Change {
        actor: &viewer.principal.actor,
        action,
        target,
        office_id,
        details,
        source: viewer.source.clone(),
    };
    audit::record_now(&state.pool, &change).await
}

/// The alert's page again with `why` (422): nothing was changed. `draft` keeps what was typed
/// into the silence form.
async fn detail_again(
    state: &HttpState,
    viewer: &Viewer,
    alert: &AlertDetail,
    why: String,
    draft: Option<&SilenceForm>,
) -> Response {
    let prefilled = SilenceForm::prefilled(alert);
    let draft = draft.unwrap_or(&prefilled);
    let page = detail_body(state, viewer, alert, Some(Notice::Error(why)), draft).await;
    answer(viewer.lang, StatusCode::UNPROCESSABLE_ENTITY, page)
}

/// A refused silence: the page of the alert the form was on, else the list, with `why` (422).
async fn silence_again(
    state: &HttpState,
    viewer: &Viewer,
    form: &SilenceForm,
    why: String,
) -> Response {
    match visible(state, viewer, &form.alert).await {
        Ok(Some(alert)) => {
            let draft = SilenceForm {
                csrf_token: String::new(),
                ..form.clone()
            };
            detail_again(state, viewer, &alert, why, Some(&draft)).await
        }
        Ok(None) => {
            let page = list_body(
                state,
                viewer,
                &AlertFilter::default(),
                Some(Notice::Error(why)),
            )
            .await;
            answer(viewer.lang, StatusCode::UNPROCESSABLE_ENTITY, page)
        }
        Err(error) => failed(viewer.lang, &error),
    }
}

fn notice_markup(notice: Option<Notice>) -> Markup {
    html! {
        @match notice {
            Some(Notice::Done(text)) => p.message.done role="status" { (text) },
            Some(Notice::Error(text)) => p.message.error role="alert" { (text) },
            None => {},
        }
    }
}

/// A time as the pages show it (UTC).
fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `page` with `status`; the database's failure as a 503 page.
fn answer(lang: Lang, status: StatusCode, page: Result<Markup, sqlx::Error>) -> Response {
    match page {
        Ok(markup) => (status, markup).into_response(),
        Err(error) => failed(lang, &error),
    }
}

/// A 404 page.
pub(super) fn not_found(lang: Lang) -> Response {
    (
        StatusCode::NOT_FOUND,
        layout::bare(lang, i18n::texts(lang).not_found),
    )
        .into_response()
}

/// The 503 page for a database failure, logged.
pub(super) fn failed(lang: Lang, error: &sqlx::Error) -> Response {
    tracing::warn!(message = "Dashboard change failed.", %error);
    unavailable(lang)
}

// === impl SilenceForm ===

impl SilenceForm {
    /// The form for silencing alerts like `detail`: its office, its rule, and for a
    /// certificate's alert the certificate (the key is `certificate:<sha256>`), for 7 days.
    fn prefilled(detail: &AlertDetail) -> Self {
        let alert = &detail.alert;
        Self {
            office: alert.office.clone().unwrap_or_default(),
            code: alert.rule.clone(),
            certificate: alert
                .key
                .strip_prefix("certificate:")
                .unwrap_or_default()
                .to_owned(),
            until: "7".into(),
            alert: alert.id.to_string(),
            ..Self::default()
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
