//! Settings: each office's alert thresholds, enrolment secrets and the notification channels.
//!
//! Everyone sees the thresholds of their offices; administrators change them and manage the
//! enrolment secrets of their offices; only an administrator of every office sees and tests
//! the channels, which serve every office. The rules are the API's and the CLI's (`PUT
//! /api/v1/offices/{name}/alert-settings`, `tokenwatch-server secret …`, `POST
//! /api/v1/channels/{name}/test`), and every change is written to the audit log under their
//! action names.

mod channels;
mod enrolment;
mod offices;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;

use super::alerts::{answer, stamp};
use super::i18n::Lang;
use super::layout::{self, Section};
use super::{Viewer, office_names};
use crate::access::Role;
use crate::alerts;
use crate::http::HttpState;
use crate::notify;
use crate::registry::NewSecret;

struct Words {
    title: &'static str,
    offices: &'static str,
    valid_until: &'static str,
    warning_days: &'static str,
    critical_days: &'static str,
    silent_after: &'static str,
    gone_after: &'static str,
    default: &'static str,
    own: &'static str,
    change: &'static str,
    save: &'static str,
    empty_is_default: &'static str,
    enrolment: &'static str,
    enrolment_note: &'static str,
    number: &'static str,
    created: &'static str,
    expires: &'static str,
    never: &'static str,
    status: &'static str,
    active: &'static str,
    expired: &'static str,
    revoked: &'static str,
    revoke: &'static str,
    new_secret: &'static str,
    expires_in: &'static str,
    day_1: &'static str,
    days_7: &'static str,
    days_30: &'static str,
    create: &'static str,
    secret_created: &'static str,
    shown_once: &'static str,
    channels: &'static str,
    channel: &'static str,
    last_success: &'static str,
    last_failure: &'static str,
    last_error: &'static str,
    failures: &'static str,
    pending: &'static str,
    abandoned: &'static str,
    test: &'static str,
    no_channels: &'static str,
    test_sent: &'static str,
    test_failed: &'static str,
    done_office: &'static str,
    done_revoked: &'static str,
    bad_number: &'static str,
    critical_wider: &'static str,
    zero: &'static str,
    bad_office_name: &'static str,
    not_your_office: &'static str,
    bad_expiry: &'static str,
    already_revoked: &'static str,
}

const RU: Words = Words {
    title: "Настройки",
    offices: "Пороги оповещений по офисам",
    valid_until: "действует до",
    warning_days: "Предупреждать за, дней",
    critical_days: "Критично за, дней",
    silent_after: "Агент молчит после, интервалов",
    gone_after: "Компьютер пропал после, дней",
    default: "по умолчанию",
    own: "задано для офиса",
    change: "Изменить",
    save: "Сохранить",
    empty_is_default: "Пустое поле — значение по умолчанию на сервере.",
    enrolment: "Секреты регистрации агентов",
    enrolment_note: "По секрету агент регистрируется в своём офисе. Сам секрет не хранится: \
                     он показывается один раз, сразу после создания.",
    number: "№",
    created: "Создан",
    expires: "Действует до",
    never: "бессрочно",
    status: "Состояние",
    active: "действует",
    expired: "истёк",
    revoked: "отозван",
    revoke: "Отозвать",
    new_secret: "Новый секрет",
    expires_in: "Срок действия",
    day_1: "1 день",
    days_7: "7 дней",
    days_30: "30 дней",
    create: "Создать",
    secret_created: "Секрет регистрации создан для офиса",
    shown_once: "Скопируйте его сейчас: секрет показывается только один раз, сервер хранит \
                 лишь его хеш.",
    channels: "Каналы уведомлений",
    channel: "Канал",
    last_success: "Последняя отправка",
    last_failure: "Последняя ошибка",
    last_error: "Текст ошибки",
    failures: "Ошибок подряд",
    pending: "В очереди",
    abandoned: "Не доставлено",
    test: "Проверить",
    no_channels: "Каналы уведомлений не настроены.",
    test_sent: "Проверочное уведомление отправлено в канал",
    test_failed: "Проверочное уведомление не отправлено в канал",
    done_office: "Пороги офиса сохранены.",
    done_revoked: "Секрет отозван.",
    bad_number: "Пороги — целые неотрицательные числа, либо пустое поле.",
    critical_wider: "Критичный порог не может быть больше порога предупреждения.",
    zero: "Предупреждение, молчание агента и пропажа компьютера — не меньше 1.",
    bad_office_name: "Укажите название офиса (до 200 символов).",
    not_your_office: "Такого офиса среди ваших нет: новый офис может завести только \
                      администратор всех офисов.",
    bad_expiry: "Выберите срок действия из списка.",
    already_revoked: "Секрет уже отозван.",
};

const EN: Words = Words {
    title: "Settings",
    offices: "Alert thresholds by office",
    valid_until: "expires",
    warning_days: "Warn, days ahead",
    critical_days: "Critical, days ahead",
    silent_after: "Agent silent after, intervals",
    gone_after: "Host gone after, days",
    default: "default",
    own: "set for the office",
    change: "Change",
    save: "Save",
    empty_is_default: "An empty field follows the server's default.",
    enrolment: "Agent enrolment secrets",
    enrolment_note: "An agent enrolled with a secret joins the secret's office. The secret is \
                     not stored: it is shown once, right after it is created.",
    number: "#",
    created: "Created",
    expires: "Expires",
    never: "never",
    status: "Status",
    active: "active",
    expired: "expired",
    revoked: "revoked",
    revoke: "Revoke",
    new_secret: "New secret",
    expires_in: "Expires in",
    day_1: "1 day",
    days_7: "7 days",
    days_30: "30 days",
    create: "Create",
    secret_created: "Enrolment secret created for office",
    shown_once: "Copy it now: it is shown only this once, the server keeps only its hash.",
    channels: "Notification channels",
    channel: "Channel",
    last_success: "Last delivery",
    last_failure: "Last failure",
    last_error: "Error",
    failures: "Failures in a row",
    pending: "Pending",
    abandoned: "Abandoned",
    test: "Test",
    no_channels: "No notification channel is configured.",
    test_sent: "A test notification was sent to channel",
    test_failed: "The test notification was not sent to channel",
    done_office: "The office's thresholds are saved.",
    done_revoked: "The secret is revoked.",
    bad_number: "Thresholds are whole numbers from 0, or empty.",
    critical_wider: "The critical threshold cannot exceed the warning one.",
    zero: "Warning, agent silence and host gone thresholds must be at least 1.",
    bad_office_name: "Name the office (up to 200 characters).",
    not_your_office: "There is no such office among yours: only an administrator of every \
                      office creates a new one.",
    bad_expiry: "Choose an expiry from the list.",
    already_revoked: "The secret is already revoked.",
};

/// `GET /settings`'s query: what was just done, for the message.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Done {
    #[serde(default)]
    done: String,
}

/// A form that carries nothing but its CSRF token (buttons).
#[derive(Debug, Default, Deserialize)]
pub(super) struct Button {
    #[serde(default)]
    csrf_token: String,
}

/// What the page says above its sections.
enum Notice {
    Done(String),
    Error(String),
    /// A secret just created: its only showing.
    Secret(NewSecret),
}

pub(super) fn routes() -> Router<HttpState> {
    Router::new()
        .route("/settings", get(page))
        .route("/settings/offices/{name}", post(offices::set_office))
        .route("/settings/secrets", post(enrolment::create_secret))
        .route(
            "/settings/secrets/{id}/revoke",
            post(enrolment::revoke_secret),
        )
        .route(
            "/settings/channels/{name}/test",
            post(channels::test_channel),
        )
}

// === the page ===

/// `GET /settings`.
async fn page(
    State(state): State<HttpState>,
    viewer: Viewer,
    Query(done): Query<Done>,
) -> Response {
    let words = viewer.lang.pick(&RU, &EN);
    let notice = match done.done.as_str() {
        "office" => Some(Notice::Done(words.done_office.into())),
        "revoked" => Some(Notice::Done(words.done_revoked.into())),
        _ => None,
    };
    shown(&state, &viewer, StatusCode::OK, notice).await
}

/// The page with `notice`, answered with `status`.
async fn shown(
    state: &HttpState,
    viewer: &Viewer,
    status: StatusCode,
    notice: Option<Notice>,
) -> Response {
    answer(viewer.lang, status, body(state, viewer, notice).await)
}

/// The sections `viewer`'s role and offices allow.
async fn body(
    state: &HttpState,
    viewer: &Viewer,
    notice: Option<Notice>,
) -> Result<Markup, sqlx::Error> {
    let words = viewer.lang.pick(&RU, &EN);
    let principal = &viewer.principal;
    let seen = principal.offices.restriction();
    let offices = alerts::office_alerting(&state.pool, &state.alert_defaults, seen).await?;
    let secrets = if principal.has(Role::Admin) {
        Some(enrolment::secrets_seen(state, viewer).await?)
    } else {
        None
    };
    let channels = if principal.is_global_admin() {
        Some(notify::channel_status(&state.pool, &state.channels).await?)
    } else {
        None
    };
    let names = office_names(state, viewer).await?;
    let content = html! {
        (notice_markup(viewer.lang, notice))
        (offices::section(state, viewer, &offices))
        @if let Some(secrets) = &secrets {
            (enrolment::section(viewer, secrets, &names))
        }
        @if let Some(channels) = &channels {
            (channels::section(viewer, channels))
        }
    };
    Ok(layout::page(
        viewer,
        Section::Settings,
        words.title,
        content,
    ))
}

fn notice_markup(lang: Lang, notice: Option<Notice>) -> Markup {
    let words = lang.pick(&RU, &EN);
    html! {
        @match notice {
            Some(Notice::Done(text)) => p.message.done role="status" { (text) },
            Some(Notice::Error(text)) => p.message.error role="alert" { (text) },
            Some(Notice::Secret(created)) => div.message.done id="new-secret" role="status" {
                p { (words.secret_created) " «" (created.office) "» (" (words.valid_until) " "
                    (created.expires_at.map_or_else(|| words.never.to_owned(), stamp)) "):" }
                p { code.secret { (created.secret) } }
                p { strong { (words.shown_once) } }
            },
            None => {},
        }
    }
}

/// The page again with `why` (422): nothing was changed.
async fn refused_input(state: &HttpState, viewer: &Viewer, why: String) -> Response {
    shown(
        state,
        viewer,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some(Notice::Error(why)),
    )
    .await
}
