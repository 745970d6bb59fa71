//! Alerts: the list (newest first), one alert with its hosts and history, and what operators
//! do from there: acknowledge an alert, silence what it is about.
//!
//! A change goes through the same checks as the API's (`/api/v1/alerts/{id}/ack`,
//! `/api/v1/silences`): the form's CSRF token, the operator role, an alert or office the
//! account sees; it is written to the audit log under the API's action names, so the log reads
//! the same whichever way the change was made.

mod changes;
mod detail;
mod list;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use maud::{Markup, html};

use super::i18n::{self, Lang};
use super::layout;
use super::{Viewer, unavailable};
use crate::access::{Change, Role, audit};
use crate::alerts::{self, AlertDetail, ManageError};
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

/// A message above a page's content.
enum Notice {
    Done(&'static str),
    Error(String),
}

pub(super) fn routes() -> Router<HttpState> {
    Router::new()
        .route("/alerts", get(list::page))
        .route("/alerts/silence", post(changes::silence))
        .route("/alerts/{id}", get(detail::page))
        .route("/alerts/{id}/ack", post(changes::ack))
}

// === shared, some with the settings' pages ===

/// Refused unless the form carries the session's CSRF token and the account's role allows
/// what `role` allows: what every change checks first, in that order.
// The refusal is the page the handler answers with, as `Viewer::check`'s.
#[allow(clippy::result_large_err)]
pub(super) fn allowed(viewer: &Viewer, csrf_token: &str, role: Role) -> Result<(), Response> {
    viewer.check(csrf_token)?;
    viewer.require(role)
}

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

/// The answer to a change once made: to `to` when the change is in the audit log
/// (`recorded`), the 503 page when it could not be written there.
pub(super) fn after_record(lang: Lang, recorded: Result<(), sqlx::Error>, to: &str) -> Response {
    match recorded {
        Ok(()) => Redirect::to(to).into_response(),
        Err(error) => failed(lang, &error),
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
pub(super) fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `page` with `status`; the database's failure as a 503 page.
pub(super) fn answer(
    lang: Lang,
    status: StatusCode,
    page: Result<Markup, sqlx::Error>,
) -> Response {
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
