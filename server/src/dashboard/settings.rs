//! Settings: each office's alert thresholds, enrolment secrets and the notification channels.
//!
//! Everyone sees the thresholds of their offices; administrators change them and manage the
//! enrolment secrets of their offices; only an administrator of every office sees and tests
//! the channels, which serve every office. The rules are the API's and the CLI's (`PUT
//! /api/v1/offices/{name}/alert-settings`, `tokenwatch-server secret …`, `POST
//! /api/v1/channels/{name}/test`), and every change is written to the audit log under their
//! action names.

use std::collections::HashSet;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::CACHE_CONTROL;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use super::alerts::{failed, not_found, record, seen_office};
use super::i18n::{self, Lang};
use super::layout::{self, Section};
use super::{Viewer, office_names};
use crate::access::Role;
use crate::alerts::{self, ManageError, OfficeAlerting, OfficeOverrides, OfficeSettings};
use crate::http::HttpState;
use crate::notify::{self, ChannelStatus};
use crate::registry::{self, NewSecret, SecretRow};

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

/// How long a new secret lasts: the form's value, days.
const EXPIRIES: [(&str, i64); 3] = [("1", 1), ("7", 7), ("30", 30)];

/// The longest office name taken from the form.
const MAX_OFFICE_NAME: usize = 200;

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

/// `POST /settings/offices/{name}`: an empty field follows the server's default.
#[derive(Debug, Default, Deserialize)]
pub(super) struct OfficeForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    warning_days: String,
    #[serde(default)]
    critical_days: String,
    #[serde(default)]
    silent_after_intervals: String,
    #[serde(default)]
    gone_after_days: String,
}

/// `POST /settings/secrets`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct SecretForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    office: String,
    /// Days, one of [`EXPIRIES`].
    #[serde(default)]
    expires_in: String,
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
        .route("/settings/offices/{name}", post(set_office))
        .route("/settings/secrets", post(create_secret))
        .route("/settings/secrets/{id}/revoke", post(revoke_secret))
        .route("/settings/channels/{name}/test", post(test_channel))
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
    match body(state, viewer, notice).await {
        Ok(markup) => (status, markup).into_response(),
        Err(error) => failed(viewer.lang, &error),
    }
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
        Some(secrets_seen(state, viewer).await?)
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
        (offices_section(state, viewer, &offices))
        @if let Some(secrets) = &secrets {
            (enrolment_section(viewer, secrets, &names))
        }
        @if let Some(channels) = &channels {
            (channels_section(viewer, channels))
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

/// Every office seen, with the thresholds that apply and whether they are the office's own;
/// for an administrator, a form per office.
fn offices_section(state: &HttpState, viewer: &Viewer, offices: &[OfficeAlerting]) -> Markup {
    let words = viewer.lang.pick(&RU, &EN);
    let texts = i18n::texts(viewer.lang);
    let defaults = state.alert_defaults.defaults;
    let admin = viewer.principal.has(Role::Admin);
    html! {
        section id="offices" {
            h2 { (words.offices) }
            p.muted {
                (defaults_text(viewer.lang, defaults))
                @if admin { " " (words.empty_is_default) }
            }
            @if offices.is_empty() {
                p.muted { (texts.nothing) }
            } @else {
                div.table { table {
                    thead { tr {
                        th { (texts.office) } th { (words.warning_days) }
                        th { (words.critical_days) } th { (words.silent_after) }
                        th { (words.gone_after) }
                        @if admin { th { (words.change) } }
                    } }
                    tbody {
                        @for office in offices { (office_row(viewer, office, admin, defaults)) }
                    }
                } }
            }
        }
    }
}

/// The server's defaults, as a sentence.
fn defaults_text(lang: Lang, d: OfficeSettings) -> String {
    let (warning, critical) = (d.warning_days, d.critical_days);
    let (silent, gone) = (d.silent_after_intervals, d.gone_after_days);
    match lang {
        Lang::Ru => format!(
            "По умолчанию на сервере: предупреждение за {warning} дн. до окончания срока, \
             критично — за {critical} дн.; агент считается молчащим после {silent} пропущенных \
             интервалов отчёта, компьютер — пропавшим через {gone} дн."
        ),
        Lang::En => format!(
            "Server defaults: a warning {warning} days before an end date, critical {critical} \
             days before; an agent is silent after {silent} missed report intervals, a host \
             gone after {gone} days."
        ),
    }
}

/// One office: each threshold that applies, marked as the office's own or the default.
fn office_row(
    viewer: &Viewer,
    office: &OfficeAlerting,
    admin: bool,
    defaults: OfficeSettings,
) -> Markup {
    let words = viewer.lang.pick(&RU, &EN);
    let own = office.overrides;
    let cells = [
        (office.warning_days, own.warning_days),
        (office.critical_days, own.critical_days),
        (
            i64::from(office.silent_after_intervals),
            own.silent_after_intervals,
        ),
        (office.gone_after_days, own.gone_after_days),
    ];
    html! {
        tr {
            td { (office.office) }
            @for (applied, own) in cells {
                td.num {
                    (applied) br;
                    span.muted { @if own.is_some() { (words.own) } @else { (words.default) } }
                }
            }
            @if admin { td { (office_form(viewer, office, defaults)) } }
        }
    }
}

/// The overrides form of one office: the office's own values, the server's defaults as
/// placeholders (what an empty field means).
fn office_form(viewer: &Viewer, office: &OfficeAlerting, defaults: OfficeSettings) -> Markup {
    let words = viewer.lang.pick(&RU, &EN);
    let own = office.overrides;
    let fields = [
        (
            "warning_days",
            words.warning_days,
            own.warning_days,
            defaults.warning_days,
        ),
        (
            "critical_days",
            words.critical_days,
            own.critical_days,
            defaults.critical_days,
        ),
        (
            "silent_after_intervals",
            words.silent_after,
            own.silent_after_intervals,
            i64::from(defaults.silent_after_intervals),
        ),
        (
            "gone_after_days",
            words.gone_after,
            own.gone_after_days,
            defaults.gone_after_days,
        ),
    ];
    html! {
        form.office.inline method="post"
            action={ "/settings/offices/" (super::encode(&office.office)) } {
            input type="hidden" name="csrf_token" value=(viewer.csrf());
            @for (name, label, value, default) in fields {
                input type="number" min="0" name=(name) value=[value] title=(label)
                    aria-label=(label) placeholder=(default) size="4";
            }
            button type="submit" { (words.save) }
        }
    }
}

/// The enrolment secrets of the offices seen, and the form for a new one.
fn enrolment_section(viewer: &Viewer, secrets: &[SecretRow], offices: &[String]) -> Markup {
    let words = viewer.lang.pick(&RU, &EN);
    let texts = i18n::texts(viewer.lang);
    let now = Utc::now();
    html! {
        section id="enrolment" {
            h2 { (words.enrolment) }
            p.muted { (words.enrolment_note) }
            @if secrets.is_empty() {
                p.muted { (texts.nothing) }
            } @else {
                div.table { table id="secrets" {
                    thead { tr {
                        th { (words.number) } th { (texts.office) } th { (words.created) }
                        th { (words.expires) } th { (words.status) } th {}
                    } }
                    tbody {
                        @for secret in secrets {
                            tr {
                                td.num { (secret.id) }
                                td { (secret.office) }
                                td { (stamp(secret.created_at)) }
                                td { (secret.expires_at.map_or_else(|| words.never.to_owned(), stamp)) }
                                td { (status(words, secret, now)) }
                                td { @if secret.revoked_at.is_none() { (revoke_form(viewer, secret.id)) } }
                            }
                        }
                    }
                } }
            }
            h3 { (words.new_secret) }
            (secret_form(viewer, offices))
        }
    }
}

/// Revoked, expired or active, in that order: a revoked secret stays revoked.
fn status(words: &Words, secret: &SecretRow, now: DateTime<Utc>) -> &'static str {
    match (secret.revoked_at, secret.expires_at) {
        (Some(_), _) => words.revoked,
        (None, Some(at)) if at <= now => words.expired,
        _ => words.active,
    }
}

fn revoke_form(viewer: &Viewer, id: i64) -> Markup {
    let words = viewer.lang.pick(&RU, &EN);
    html! {
        form.revoke.inline method="post" action={ "/settings/secrets/" (id) "/revoke" } {
            input type="hidden" name="csrf_token" value=(viewer.csrf());
            button type="submit" { (words.revoke) }
        }
    }
}

/// The new secret's form. An administrator of every office may name a new office (it is
/// created with the secret); one of some offices chooses among them.
fn secret_form(viewer: &Viewer, offices: &[String]) -> Markup {
    let words = viewer.lang.pick(&RU, &EN);
    let texts = i18n::texts(viewer.lang);
    let global = viewer.principal.is_global_admin();
    let expiries = [words.day_1, words.days_7, words.days_30];
    html! {
        form.secret.inline method="post" action="/settings/secrets" {
            input type="hidden" name="csrf_token" value=(viewer.csrf());
            @if global {
                input name="office" list="office-names" required placeholder=(texts.office)
                    aria-label=(texts.office) maxlength=(MAX_OFFICE_NAME);
                datalist id="office-names" {
                    @for name in offices { option value=(name) {} }
                }
            } @else {
                select name="office" required aria-label=(texts.office) {
                    @for name in offices { option value=(name) { (name) } }
                }
            }
            select name="expires_in" aria-label=(words.expires_in) {
                @for ((value, _), label) in EXPIRIES.iter().zip(expiries) {
                    option value=(value) selected[*value == "7"] { (label) }
                }
            }
            button type="submit" { (words.create) }
        }
    }
}

/// The channels' state, each with a test button.
fn channels_section(viewer: &Viewer, channels: &[ChannelStatus]) -> Markup {
    let words = viewer.lang.pick(&RU, &EN);
    let when = |at: Option<DateTime<Utc>>| at.map_or_else(|| "—".to_owned(), stamp);
    html! {
        section id="channels" {
            h2 { (words.channels) }
            @if channels.is_empty() {
                p.muted { (words.no_channels) }
            } @else {
                div.table { table {
                    thead { tr {
                        th { (words.channel) } th { (words.last_success) }
                        th { (words.last_failure) } th { (words.last_error) }
                        th { (words.failures) } th { (words.pending) } th { (words.abandoned) }
                        th {}
                    } }
                    tbody {
                        @for channel in channels {
                            tr {
                                td { (channel.name) }
                                td { (when(channel.last_success_at)) }
                                td { (when(channel.last_failure_at)) }
                                td { (channel.last_error.as_deref().unwrap_or("—")) }
                                td.num class=[(channel.consecutive_failures > 0).then_some("critical")] {
                                    (channel.consecutive_failures)
                                }
                                td.num { (channel.pending) }
                                td.num { (channel.abandoned) }
                                td { (test_form(viewer, &channel.name)) }
                            }
                        }
                    }
                } }
            }
        }
    }
}

fn test_form(viewer: &Viewer, name: &str) -> Markup {
    let words = viewer.lang.pick(&RU, &EN);
    html! {
        form.test.inline method="post"
            action={ "/settings/channels/" (super::encode(name)) "/test" } {
            input type="hidden" name="csrf_token" value=(viewer.csrf());
            button type="submit" { (words.test) }
        }
    }
}

/// The enrolment secrets of the offices `viewer` sees, oldest first.
async fn secrets_seen(state: &HttpState, viewer: &Viewer) -> Result<Vec<SecretRow>, sqlx::Error> {
    let seen: HashSet<String> = office_names(state, viewer).await?.into_iter().collect();
    let all = registry::list_secrets(&state.pool).await?;
    Ok(all
        .into_iter()
        .filter(|s| seen.contains(&s.office))
        .collect())
}

// === changes ===

/// `POST /settings/offices/{name}`: replace the office's overrides, as `PUT
/// /api/v1/offices/{name}/alert-settings` does.
async fn set_office(
    State(state): State<HttpState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Form(form): Form<OfficeForm>,
) -> Response {
    if let Err(refused) = viewer.check(&form.csrf_token) {
        return refused;
    }
    if let Err(refused) = viewer.require(Role::Admin) {
        return refused;
    }
    let words = viewer.lang.pick(&RU, &EN);
    let office = match seen_office(&state, &viewer, &name).await {
        Ok(Some(id)) => id,
        Ok(None) => return not_found(viewer.lang),
        Err(error) => return failed(viewer.lang, &error),
    };
    let Some(overrides) = overrides_of(&form) else {
        return refused_input(&state, &viewer, words.bad_number.into()).await;
    };
    if let Some(why) = inconsistent(words, overrides, &state) {
        return refused_input(&state, &viewer, why.into()).await;
    }
    match alerts::set_office_overrides(&state.pool, &name, overrides, &state.alert_defaults).await {
        Ok(()) => {}
        Err(ManageError::Invalid(why)) => return refused_input(&state, &viewer, why).await,
        Err(ManageError::NotFound) => return not_found(viewer.lang),
        Err(ManageError::Db(error)) => return failed(viewer.lang, &error),
    }
    let details = serde_json::to_value(overrides).unwrap_or_default();
    let target = format!("office {name:?}");
    match record(
        &state,
        &viewer,
        "office.alert_settings",
        target,
        Some(office),
        details,
    )
    .await
    {
        Ok(()) => Redirect::to("/settings?done=office").into_response(),
        Err(error) => failed(viewer.lang, &error),
    }
}

/// The overrides of `form`; `None` when a field is neither empty nor a whole number.
fn overrides_of(form: &OfficeForm) -> Option<OfficeOverrides> {
    let field = |value: &str| -> Option<Option<u32>> {
        let value = value.trim();
        if value.is_empty() {
            Some(None)
        } else {
            value.parse().ok().map(Some)
        }
    };
    Some(OfficeOverrides {
        warning_days: field(&form.warning_days)?,
        critical_days: field(&form.critical_days)?,
        silent_after_intervals: field(&form.silent_after_intervals)?,
        gone_after_days: field(&form.gone_after_days)?,
    })
}

/// Why `overrides` would be refused by [`alerts::set_office_overrides`], in the page's
/// language (that check stays the one that counts; this one only words it for people).
fn inconsistent(
    words: &'static Words,
    overrides: OfficeOverrides,
    state: &HttpState,
) -> Option<&'static str> {
    let defaults = state.alert_defaults.defaults;
    let warning = overrides
        .warning_days
        .map_or(defaults.warning_days, i64::from);
    let critical = overrides
        .critical_days
        .map_or(defaults.critical_days, i64::from);
    let at_least_one = [
        overrides.warning_days,
        overrides.silent_after_intervals,
        overrides.gone_after_days,
    ];
    if at_least_one.contains(&Some(0)) {
        Some(words.zero)
    } else if critical > warning {
        Some(words.critical_wider)
    } else {
        None
    }
}

/// `POST /settings/secrets`: create an enrolment secret and show it, this once, on the page
/// itself: a redirect would have to carry the secret in an address or keep it somewhere.
async fn create_secret(
    State(state): State<HttpState>,
    viewer: Viewer,
    Form(form): Form<SecretForm>,
) -> Response {
    if let Err(refused) = viewer.check(&form.csrf_token) {
        return refused;
    }
    if let Err(refused) = viewer.require(Role::Admin) {
        return refused;
    }
    let words = viewer.lang.pick(&RU, &EN);
    let office = form.office.trim();
    if office.is_empty()
        || office.chars().count() > MAX_OFFICE_NAME
        || office.chars().any(char::is_control)
    {
        return refused_input(&state, &viewer, words.bad_office_name.into()).await;
    }
    let Some(days) = EXPIRIES
        .iter()
        .find(|(v, _)| *v == form.expires_in)
        .map(|e| e.1)
    else {
        return refused_input(&state, &viewer, words.bad_expiry.into()).await;
    };
    // `create_secret` creates an office it does not know: a new office would be one nobody
    // scoped sees, so only an administrator of every office may bring one in, and one of some
    // offices names one of them.
    if viewer.principal.offices.restriction().is_some() {
        match seen_office(&state, &viewer, office).await {
            Ok(Some(_)) => {}
            Ok(None) => return refused_input(&state, &viewer, words.not_your_office.into()).await,
            Err(error) => return failed(viewer.lang, &error),
        }
    }
    let expires_at = Utc::now() + Duration::days(days);
    let created = match registry::create_secret(&state.pool, office, Some(expires_at)).await {
        Ok(created) => created,
        Err(error) => return failed(viewer.lang, &error),
    };
    let recorded = async {
        let office_id = seen_office(&state, &viewer, &created.office).await?;
        let details = serde_json::json!({ "office": created.office, "expires_at": expires_at });
        let target = format!("enrolment secret {}", created.id);
        record(
            &state,
            &viewer,
            "enroll_secret.create",
            target,
            office_id,
            details,
        )
        .await
    };
    if let Err(error) = recorded.await {
        return failed(viewer.lang, &error);
    }
    let mut page = shown(
        &state,
        &viewer,
        StatusCode::OK,
        Some(Notice::Secret(created)),
    )
    .await;
    // The secret must not stay in a cache once the page is left.
    page.headers_mut()
        .insert(CACHE_CONTROL, "no-store".parse().expect("a header value"));
    page
}

/// `POST /settings/secrets/{id}/revoke`: revoke a secret of an office the account sees.
async fn revoke_secret(
    State(state): State<HttpState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<Button>,
) -> Response {
    if let Err(refused) = viewer.check(&form.csrf_token) {
        return refused;
    }
    if let Err(refused) = viewer.require(Role::Admin) {
        return refused;
    }
    let words = viewer.lang.pick(&RU, &EN);
    let secrets = match secrets_seen(&state, &viewer).await {
        Ok(secrets) => secrets,
        Err(error) => return failed(viewer.lang, &error),
    };
    let Some(secret) = id
        .parse::<i64>()
        .ok()
        .and_then(|id| secrets.into_iter().find(|s| s.id == id))
    else {
        return not_found(viewer.lang);
    };
    let revoked = async {
        if !registry::revoke_secret(&state.pool, secret.id).await? {
            return Ok(false);
        }
        let office = seen_office(&state, &viewer, &secret.office).await?;
        let target = format!("enrolment secret {}", secret.id);
        let details = serde_json::json!({});
        record(
            &state,
            &viewer,
            "enroll_secret.revoke",
            target,
            office,
            details,
        )
        .await?;
        Ok(true)
    };
    match revoked.await {
        Ok(true) => Redirect::to("/settings?done=revoked").into_response(),
        Ok(false) => refused_input(&state, &viewer, words.already_revoked.into()).await,
        Err(error) => failed(viewer.lang, &error),
    }
}

/// `POST /settings/channels/{name}/test`: send a test notification and show how it went. For
/// an administrator of every office, as the channels themselves.
async fn test_channel(
    State(state): State<HttpState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Form(form): Form<Button>,
) -> Response {
    if let Err(refused) = viewer.check(&form.csrf_token) {
        return refused;
    }
    if let Err(refused) = viewer.require(Role::Admin) {
        return refused;
    }
    if !viewer.principal.is_global_admin() {
        return super::refused(viewer.lang, i18n::texts(viewer.lang).not_allowed);
    }
    let words = viewer.lang.pick(&RU, &EN);
    let Some(channel) = state.channels.get(&name) else {
        return not_found(viewer.lang);
    };
    let sent = match notify::send_test(&state.pool, channel, Utc::now()).await {
        Ok(sent) => sent,
        Err(error) => return failed(viewer.lang, &error),
    };
    let details = match &sent {
        Ok(()) => serde_json::json!({ "sent": true }),
        Err(error) => serde_json::json!({ "sent": false, "error": error.to_string() }),
    };
    let target = format!("channel {name}");
    if let Err(error) = record(&state, &viewer, "channel.test", target, None, details).await {
        return failed(viewer.lang, &error);
    }
    let (status, notice) = match sent {
        Ok(()) => (
            StatusCode::OK,
            Notice::Done(format!("{} «{name}».", words.test_sent)),
        ),
        Err(error) => (
            StatusCode::BAD_GATEWAY,
            Notice::Error(format!("{} «{name}»: {error}", words.test_failed)),
        ),
    };
    shown(&state, &viewer, status, Some(notice)).await
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

/// A time as the pages show it (UTC).
fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(warning: &str, critical: &str) -> OfficeForm {
        OfficeForm {
            warning_days: warning.into(),
            critical_days: critical.into(),
            ..OfficeForm::default()
        }
    }

    #[test]
    fn empty_fields_follow_the_default_and_others_must_be_numbers() {
        let overrides = overrides_of(&form(" 45 ", "")).unwrap();
        assert_eq!(overrides.warning_days, Some(45));
        assert_eq!(overrides.critical_days, None);
        assert_eq!(overrides_of(&form("-1", "")), None);
        assert_eq!(overrides_of(&form("ten", "")), None);
        assert_eq!(
            overrides_of(&form("", "")),
            Some(OfficeOverrides::default())
        );
    }
}
