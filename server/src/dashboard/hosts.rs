//! The hosts page (every host of the viewer's offices: office, OS, agent version, when it last
//! reported, its findings) and the host page (everything one host's agent last reported, the
//! findings first with what the helpdesk should do about each).

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use maud::{Markup, html};
use serde_json::Value;
use uuid::Uuid;

use super::filters::{self, Listing, choice, filled, host_link, list, text_input, until, yes_no};
use super::i18n::{Lang, texts};
use super::layout::{self, Section};
use super::{Viewer, bad_request, rendered};
use crate::http::HttpState;
use crate::query::{self, lists};
use tokenwatch_inventory::inventory::smart_card_service_down;

/// A host that has not reported for this long is worth a look.
const STALE_AFTER_HOURS: i64 = 24;

struct Words {
    title: &'static str,
    search: &'static str,
    severity: &'static str,
    any: &'static str,
    critical: &'static str,
    warning: &'static str,
    info: &'static str,
    silent: &'static str,
    over_day: &'static str,
    over_3_days: &'static str,
    over_week: &'static str,
    finding: &'static str,
    sort_hostname: &'static str,
    sort_last_seen: &'static str,
    sort_office: &'static str,
    host: &'static str,
    os: &'static str,
    agent_version: &'static str,
    last_seen: &'static str,
    findings: &'static str,
    never: &'static str,
}

const RU: Words = Words {
    title: "Компьютеры",
    search: "Имя компьютера",
    severity: "Есть проблемы",
    any: "неважно",
    critical: "критичные",
    warning: "предупреждения",
    info: "для сведения",
    silent: "Не выходит на связь",
    over_day: "больше суток",
    over_3_days: "больше 3 суток",
    over_week: "больше недели",
    finding: "Код проблемы",
    sort_hostname: "по имени",
    sort_last_seen: "по последней связи",
    sort_office: "по офису",
    host: "Компьютер",
    os: "ОС",
    agent_version: "Версия агента",
    last_seen: "Последняя связь",
    findings: "Проблемы",
    never: "ни разу",
};

const EN: Words = Words {
    title: "Hosts",
    search: "Host name",
    severity: "Has findings",
    any: "any",
    critical: "critical",
    warning: "warnings",
    info: "for information",
    silent: "Silent for",
    over_day: "over a day",
    over_3_days: "over 3 days",
    over_week: "over a week",
    finding: "Finding code",
    sort_hostname: "by name",
    sort_last_seen: "by last report",
    sort_office: "by office",
    host: "Host",
    os: "OS",
    agent_version: "Agent version",
    last_seen: "Last report",
    findings: "Findings",
    never: "never",
};

pub(super) fn routes() -> Router<HttpState> {
    Router::new()
        .route("/hosts", get(page))
        .route("/hosts/{id}", get(host))
}

/// `GET /hosts`: the filter form, a page of hosts and the pager.
async fn page(
    State(state): State<HttpState>,
    viewer: Viewer,
    Query(params): Query<BTreeMap<String, String>>,
) -> Response {
    let lang = viewer.lang;
    let words = lang.pick(&RU, &EN);
    let params = filled(params);
    let listing = Listing {
        spec: &lists::HOSTS,
        section: Section::Hosts,
        title: words.title,
        search: words.search,
        sorts: &[
            ("hostname", words.sort_hostname),
            ("last_seen", words.sort_last_seen),
            ("office", words.sort_office),
        ],
        columns: &[
            words.host,
            texts(lang).office,
            words.os,
            words.agent_version,
            words.last_seen,
            words.findings,
        ],
    };
    let fields = fields(words, &params);
    filters::page(&state, &viewer, &listing, &params, fields, |host, now| {
        row(words, host, now)
    })
    .await
}

/// The hosts' own filters.
fn fields(words: &Words, params: &BTreeMap<String, String>) -> Markup {
    let severities = [
        ("", words.any),
        ("critical", words.critical),
        ("warning", words.warning),
        ("info", words.info),
    ];
    let silent = [
        ("", words.any),
        ("24", words.over_day),
        ("72", words.over_3_days),
        ("168", words.over_week),
    ];
    html! {
        (choice("severity", words.severity, &severities, params))
        (choice("silent_for_hours", words.silent, &silent, params))
        (text_input("finding", words.finding, params))
    }
}

/// One host.
fn row(words: &Words, host: &Value, now: DateTime<Utc>) -> Markup {
    html! {
        tr {
            td { (host_link(host)) }
            td { (layout::text(&host["office"])) }
            td {
                (layout::text(&host["os"]))
                @if let Some(version) = host["os_version"].as_str() { br; span.muted { (version) } }
            }
            td { (layout::text(&host["agent_version"])) }
            (last_seen(words, &host["last_seen_at"], now))
            td {
                @for (i, finding) in list(&host["findings"]).enumerate() {
                    @if i > 0 { br; }
                    span title=(layout::text(&finding["subject"])) {
                        (layout::severity(finding["severity"].as_str().unwrap_or("info")))
                        " " (layout::text(&finding["code"]))
                    }
                }
            }
        }
    }
}

/// When the host last reported, marked when that was more than a day ago (or never).
fn last_seen(words: &Words, at: &Value, now: DateTime<Utc>) -> Markup {
    let seen = at
        .as_str()
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok());
    let stale =
        seen.is_none_or(|at| now - at.with_timezone(&Utc) > Duration::hours(STALE_AFTER_HOURS));
    html! {
        td class=[stale.then_some("warning")] {
            @if seen.is_some() { (layout::date_time(at)) } @else { (words.never) }
        }
    }
}

// === the host page ===

struct HostWords {
    not_a_host: &'static str,
    office: &'static str,
    os: &'static str,
    agent_version: &'static str,
    last_seen: &'static str,
    collected_at: &'static str,
    enrolled_at: &'static str,
    agent_certificate: &'static str,
    revoked: &'static str,
    none: &'static str,
    findings: &'static str,
    no_findings: &'static str,
    what_to_do: &'static str,
    all_such: &'static str,
    components: &'static str,
    no_components: &'static str,
    cryptopro: &'static str,
    not_installed: &'static str,
    build: &'static str,
    /// `ControlKeyTimeValidity`: the row's heading, then what 0, 1 and 2 mean.
    expired_keys: &'static str,
    expired_key_policies: [&'static str; 3],
    licence: &'static str,
    licence_until: &'static str,
    for_version: &'static str,
    permanent: &'static str,
    demo: &'static str,
    service: &'static str,
    service_states: [(&'static str, &'static str); 4],
    /// How the service starts: automatic, manual (on demand), disabled.
    start_types: [(&'static str, &'static str); 3],
    remote_sessions: &'static str,
    driver_problem: &'static str,
    generic_driver: &'static str,
    ccid: &'static str,
    pkcs11: &'static str,
    middleware: &'static str,
    usb_tokens: &'static str,
    invisible: &'static str,
    readers: &'static str,
    reader: &'static str,
    card: &'static str,
    token_model: &'static str,
    exclusive: &'static str,
    tokens: &'static str,
    model: &'static str,
    serial: &'static str,
    label: &'static str,
    pin: &'static str,
    memory: &'static str,
    kilobytes: &'static str,
    pin_ok: &'static str,
    pin_locked: &'static str,
    pin_so_locked: &'static str,
    pin_final_try: &'static str,
    pin_count_low: &'static str,
    pin_must_change: &'static str,
    pin_unset: &'static str,
    containers: &'static str,
    name: &'static str,
    path: &'static str,
    media: &'static str,
    media_names: [(&'static str, &'static str); 5],
    state: &'static str,
    complete: &'static str,
    missing: &'static str,
    damaged: &'static str,
    key_until: &'static str,
    certificates: &'static str,
    subject: &'static str,
    not_after: &'static str,
    kept: &'static str,
    qualified: &'static str,
    authority: &'static str,
    source_kinds: [(&'static str, &'static str); 4],
    collectors: &'static str,
    collector: &'static str,
    outcome: &'static str,
    outcomes: [(&'static str, &'static str); 4],
    errors: &'static str,
    duration: &'static str,
}

const HOST_RU: HostWords = HostWords {
    not_a_host: "Компьютер указывается по идентификатору агента (UUID).",
    office: "Офис",
    os: "ОС",
    agent_version: "Версия агента",
    last_seen: "Последняя связь",
    collected_at: "Данные собраны",
    enrolled_at: "Агент подключён",
    agent_certificate: "Сертификат агента до",
    revoked: "Агент отозван",
    none: "Нет.",
    findings: "Проблемы и что делать",
    no_findings: "Проблем не найдено.",
    what_to_do: "Что делать:",
    all_such: "все такие",
    components: "Компоненты",
    no_components: "Агент не прислал сведений о компонентах.",
    cryptopro: "КриптоПро CSP",
    not_installed: "не установлен",
    build: "сборка",
    expired_keys: "Просроченные закрытые ключи",
    expired_key_policies: [
        "подписывают: проверка срока отключена",
        "не подписывают и не шифруют (по умолчанию)",
        "не используются совсем",
    ],
    licence: "Лицензия КриптоПро CSP",
    licence_until: "Лицензия действует до",
    for_version: "для версии",
    permanent: "бессрочная",
    demo: "демо-лицензия",
    service: "Служба смарт-карт",
    service_states: [
        ("running", "работает"),
        ("stopped", "остановлена"),
        ("not_installed", "не установлена"),
        ("unknown", "неизвестно"),
    ],
    start_types: [
        ("automatic", "запуск автоматически"),
        ("manual", "запуск по требованию"),
        ("disabled", "отключена"),
    ],
    remote_sessions: "Сеансы удалённого рабочего стола",
    driver_problem: "драйвер не работает, код ошибки",
    generic_driver: "общий драйвер Microsoft Usbccid (WUDF) вместо драйвера производителя",
    ccid: "Драйвер CCID",
    pkcs11: "Модули PKCS#11",
    middleware: "ПО для токенов",
    usb_tokens: "Токены на USB",
    invisible: "не виден службе смарт-карт",
    readers: "Считыватели",
    reader: "Считыватель",
    card: "Токен или карта внутри",
    token_model: "Модель токена",
    exclusive: "Занят монопольно",
    tokens: "Токены",
    model: "Модель",
    serial: "Серийный номер",
    label: "Метка",
    pin: "PIN-код",
    memory: "Свободно памяти",
    kilobytes: "КБ",
    pin_ok: "в порядке",
    pin_locked: "PIN-код пользователя заблокирован",
    pin_so_locked: "PIN-код администратора заблокирован",
    pin_final_try: "осталась последняя попытка",
    pin_count_low: "осталось мало попыток",
    pin_must_change: "PIN-код нужно сменить",
    pin_unset: "PIN-код не задан",
    containers: "Контейнеры закрытых ключей",
    name: "Имя",
    path: "Путь",
    media: "Носитель",
    media_names: [
        ("hdimage", "диск (HDIMAGE)"),
        ("removable", "съёмный носитель"),
        ("folder", "папка"),
        ("registry", "реестр"),
        ("token", "токен"),
    ],
    state: "Состояние",
    complete: "все файлы на месте",
    missing: "нет файлов:",
    damaged: "повреждены:",
    key_until: "Закрытый ключ до",
    certificates: "Сертификаты",
    subject: "Владелец",
    not_after: "Действует до",
    kept: "Где хранится",
    qualified: "КЭП",
    authority: "сертификат УЦ",
    source_kinds: [
        ("container", "контейнер"),
        ("cryptopro_store", "хранилище КриптоПро"),
        ("file", "файл"),
        ("token", "токен"),
    ],
    collectors: "Сбор данных",
    collector: "Сборщик",
    outcome: "Результат",
    outcomes: [
        ("ok", "успешно"),
        ("partial", "частично"),
        ("failed", "ошибка"),
        ("skipped", "пропущен"),
    ],
    errors: "Ошибки",
    duration: "Время, мс",
};

const HOST_EN: HostWords = HostWords {
    not_a_host: "A host is named by its agent id (a UUID).",
    office: "Office",
    os: "OS",
    agent_version: "Agent version",
    last_seen: "Last report",
    collected_at: "Collected at",
    enrolled_at: "Enrolled at",
    agent_certificate: "Agent certificate until",
    revoked: "Agent revoked",
    none: "None.",
    findings: "Findings and what to do",
    no_findings: "No findings.",
    what_to_do: "What to do:",
    all_such: "all such",
    components: "Components",
    no_components: "The agent reported no components.",
    cryptopro: "CryptoPro CSP",
    not_installed: "not installed",
    build: "build",
    expired_keys: "Expired private keys",
    expired_key_policies: [
        "still sign: the period check is off",
        "refused for signing and encryption (the default)",
        "refused for any use",
    ],
    licence: "CryptoPro CSP licence",
    licence_until: "Licence valid until",
    for_version: "for version",
    permanent: "permanent",
    demo: "demo licence",
    service: "Smart-card service",
    service_states: [
        ("running", "running"),
        ("stopped", "stopped"),
        ("not_installed", "not installed"),
        ("unknown", "unknown"),
    ],
    start_types: [
        ("automatic", "starts automatically"),
        ("manual", "starts on demand"),
        ("disabled", "disabled"),
    ],
    remote_sessions: "Remote desktop sessions",
    driver_problem: "driver not working, problem code",
    generic_driver: "generic Microsoft Usbccid (WUDF) driver instead of the vendor's",
    ccid: "CCID driver",
    pkcs11: "PKCS#11 modules",
    middleware: "Token middleware",
    usb_tokens: "USB tokens",
    invisible: "not visible to the smart-card service",
    readers: "Readers",
    reader: "Reader",
    card: "Token or card in it",
    token_model: "Token model",
    exclusive: "In exclusive use",
    tokens: "Tokens",
    model: "Model",
    serial: "Serial",
    label: "Label",
    pin: "PIN",
    memory: "Free memory",
    kilobytes: "KB",
    pin_ok: "OK",
    pin_locked: "user PIN locked",
    pin_so_locked: "administrator PIN locked",
    pin_final_try: "one try left",
    pin_count_low: "tries running out",
    pin_must_change: "PIN must be changed",
    pin_unset: "PIN not set",
    containers: "Private key containers",
    name: "Name",
    path: "Path",
    media: "Media",
    media_names: [
        ("hdimage", "disk (HDIMAGE)"),
        ("removable", "removable media"),
        ("folder", "folder"),
        ("registry", "registry"),
        ("token", "token"),
    ],
    state: "State",
    complete: "all files present",
    missing: "missing files:",
    damaged: "damaged:",
    key_until: "Private key until",
    certificates: "Certificates",
    subject: "Subject",
    not_after: "Valid until",
    kept: "Kept in",
    qualified: "Qualified",
    authority: "CA certificate",
    source_kinds: [
        ("container", "container"),
        ("cryptopro_store", "CryptoPro store"),
        ("file", "file"),
        ("token", "token"),
    ],
    collectors: "Collectors",
    collector: "Collector",
    outcome: "Outcome",
    outcomes: [
        ("ok", "OK"),
        ("partial", "partial"),
        ("failed", "failed"),
        ("skipped", "skipped"),
    ],
    errors: "Errors",
    duration: "Time, ms",
};

/// `GET /hosts/{agent id}`: one host, for the viewer's offices only (another office's host
/// answers as if it did not exist).
async fn host(State(state): State<HttpState>, viewer: Viewer, Path(id): Path<String>) -> Response {
    let lang = viewer.lang;
    let words = lang.pick(&HOST_RU, &HOST_EN);
    let Ok(id) = id.parse::<Uuid>() else {
        return bad_request(lang, words.not_a_host);
    };
    match query::host(&state.pool, id, viewer.principal.offices.restriction()).await {
        Ok(Some(host)) => host_page(&viewer, words, &host).into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            layout::bare(lang, texts(lang).not_found),
        )
            .into_response(),
        Err(error) => rendered(lang, Err(error.into())),
    }
}

/// The host page of `host` for a viewer of every office, without a request: for the fuzz
/// targets, which feed it hostile strings.
pub(super) fn page_without_request(host: &Value, lang: Lang) -> String {
    let viewer = Viewer {
        principal: crate::access::Principal {
            user_id: None,
            name: "fuzz".to_owned(),
            role: crate::access::Role::Viewer,
            offices: crate::access::Offices::All,
            actor: "fuzz".to_owned(),
            csrf_token: Some("csrf".to_owned()),
        },
        lang,
        source: None,
        path: "/hosts".to_owned(),
    };
    host_page(&viewer, lang.pick(&HOST_RU, &HOST_EN), host).into_string()
}

/// The host page: its facts, then a section per part of the report, findings first.
fn host_page(viewer: &Viewer, words: &HostWords, host: &Value) -> Markup {
    let lang = viewer.lang;
    let now = Utc::now();
    let hostname = layout::text(&host["hostname"]);
    let content = html! {
        (facts(lang, words, host, now))
        section #findings { h2 { (words.findings) } (findings(words, &host["findings"])) }
        section #components { h2 { (words.components) } (components(lang, words, &host["components"], now)) }
        section #readers { h2 { (words.readers) } (readers(lang, words, &host["readers"])) }
        section #tokens { h2 { (words.tokens) } (tokens(words, &host["tokens"])) }
        section #containers { h2 { (words.containers) } (containers(lang, words, &host["containers"], now)) }
        section #certificates { h2 { (words.certificates) } (certificates(lang, words, &host["certificates"], now)) }
        section #collectors { h2 { (words.collectors) } (collectors(words, &host["collectors"])) }
    };
    layout::page(viewer, Section::Hosts, &hostname, content)
}

/// What the host is and when it last reported.
fn facts(lang: Lang, words: &HostWords, host: &Value, now: DateTime<Utc>) -> Markup {
    let os = [&host["os"], &host["os_version"], &host["arch"]]
        .into_iter()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(" · ");
    let list_words = lang.pick(&RU, &EN);
    let office = super::encode(host["office"].as_str().unwrap_or_default());
    html! {
        @if !host["revoked_at"].is_null() {
            p.message.error { (words.revoked) " " (layout::date_time(&host["revoked_at"])) }
        }
        div.table { table #facts { tbody {
            tr { th { (words.office) } td { a href={ "/hosts?office=" (office) } { (layout::text(&host["office"])) } } }
            tr { th { (words.os) } td { (if os.is_empty() { "—".to_owned() } else { os }) } }
            tr { th { (words.agent_version) } td { (layout::text(&host["agent_version"])) } }
            tr { th { (words.last_seen) } (last_seen(list_words, &host["last_seen_at"], now)) }
            tr { th { (words.collected_at) } td { (layout::date_time(&host["collected_at"])) } }
            tr { th { (words.enrolled_at) } td { (layout::date_time(&host["enrolled_at"])) } }
            tr { th { (words.agent_certificate) } (until(lang, &host["certificate_not_after"], now)) }
        } } }
    }
}

/// Each finding with its remediation, as the helpdesk reads it out or follows it.
fn findings(words: &HostWords, findings: &Value) -> Markup {
    html! {
        @if list(findings).next().is_none() { p.muted { (words.no_findings) } }
        @for finding in list(findings) {
            @let code = finding["code"].as_str().unwrap_or_default();
            article.finding {
                p {
                    (layout::severity(finding["severity"].as_str().unwrap_or("info")))
                    " " strong { (layout::text(&finding["subject"])) }
                    " " small.muted {
                        (code) " · "
                        a href={ "/hosts?finding=" (super::encode(code)) } { (words.all_such) }
                    }
                }
                p { (layout::text(&finding["message"])) }
                p.muted { (words.what_to_do) }
                pre.remediation { (layout::text(&finding["remediation"])) }
            }
        }
    }
}

/// The agent's `components` object: the keys this page knows in words, any other as it came
/// (a newer agent may report more than this server knows about).
fn components(lang: Lang, words: &HostWords, components: &Value, now: DateTime<Utc>) -> Markup {
    const KNOWN: [&str; 8] = [
        "cryptopro",
        "smart_card_service",
        "smart_card_service_start",
        "remote_sessions",
        "ccid_driver",
        "middleware",
        "pkcs11_modules",
        "usb_tokens",
    ];
    let Some(object) = components
        .as_object()
        .filter(|o| o.values().any(|v| !v.is_null()))
    else {
        return html! { p.muted { (words.no_components) } };
    };
    let c = components;
    html! {
        div.table { table { tbody {
            @if !c["cryptopro"].is_null() { (cryptopro(lang, words, &c["cryptopro"], now)) }
            @if c["smart_card_service"].is_string() || c["smart_card_service_start"].is_string() {
                @let state = c["smart_card_service"].as_str();
                @let start = c["smart_card_service_start"].as_str();
                tr {
                    th { (words.service) }
                    @let bad = service_down(c);
                    td class=[bad.then_some("warning")] {
                        @if let Some(state) = state { (named(Some(state), &words.service_states)) }
                        @if let Some(start) = start {
                            @if state.is_some() { ", " }
                            (named(Some(start), &words.start_types))
                        }
                    }
                }
            }
            @if let Some(sessions) = c["remote_sessions"].as_u64() {
                tr { th { (words.remote_sessions) } td { (sessions) } }
            }
            @if let Some(driver) = c["ccid_driver"].as_str() { tr { th { (words.ccid) } td { (driver) } } }
            @if list(&c["pkcs11_modules"]).next().is_some() {
                tr { th { (words.pkcs11) } td {
                    @for module in list(&c["pkcs11_modules"]) {
                        code { (layout::text(&module["path"])) }
                        @if let Some(family) = module["family"].as_str() { " " span.muted { (family) } }
                        br;
                    }
                } }
            }
            @if list(&c["middleware"]).next().is_some() {
                tr { th { (words.middleware) } td {
                    @for item in list(&c["middleware"]) {
                        (layout::text(&item["name"]))
                        @if let Some(version) = item["version"].as_str() { " " (version) }
                        " " span.muted { (layout::text(&item["path"])) } br;
                    }
                } }
            }
            @if list(&c["usb_tokens"]).next().is_some() {
                tr { th { (words.usb_tokens) } td { (usb_tokens(words, &c["usb_tokens"])) } }
            }
            @for (key, value) in object.iter().filter(|(k, v)| !KNOWN.contains(&k.as_str()) && !v.is_null()) {
                tr { th { (key) } td { (as_text(value)) } }
            }
        } } }
    }
}

/// Whether the smart-card service is down by the agent's own rule (stopped on demand start
/// with nothing plugged in is Windows' normal state).
fn service_down(components: &Value) -> bool {
    let plugged_in = list(&components["usb_tokens"]).next().is_some();
    smart_card_service_down(
        serde_json::from_value(components["smart_card_service"].clone()).ok(),
        serde_json::from_value(components["smart_card_service_start"].clone()).ok(),
        plugged_in,
    )
    .is_some()
}

/// CryptoPro CSP: installed or not, its version and its licence.
fn cryptopro(lang: Lang, words: &HostWords, csp: &Value, now: DateTime<Utc>) -> Markup {
    let licence = &csp["license"];
    html! {
        tr {
            th { (words.cryptopro) }
            @if csp["installed"].as_bool() == Some(false) {
                td.warning { (words.not_installed) }
            } @else {
                td {
                    (layout::text(&csp["version"]))
                    @if let Some(build) = csp["build"].as_str() { " (" (words.build) " " (build) ")" }
                }
            }
        }
        @if let Some(policy) = csp["control_key_time_validity"].as_u64() {
            tr {
                th { (words.expired_keys) }
                @let meaning = usize::try_from(policy).ok().and_then(|p| words.expired_key_policies.get(p));
                @if policy == 0 { td.warning { (meaning.copied().unwrap_or_default()) " (ControlKeyTimeValidity = 0)" } }
                @else { td { (meaning.copied().unwrap_or_default()) " (ControlKeyTimeValidity = " (policy) ")" } }
            }
        }
        @if licence.is_object() {
            tr {
                th { (words.licence) }
                td {
                    (layout::text(&licence["kind"]))
                    @if let Some(version) = licence["for_version"].as_str() { ", " (words.for_version) " " (version) }
                    @if let Some(prefix) = licence["serial_prefix"].as_str() { br; span.muted { (prefix) "…" } }
                    @if licence["demo"].as_bool() == Some(true) { br; (layout::severity("warning")) " " (words.demo) }
                    @if let Some(error) = licence["error"].as_str() { br; (layout::severity("warning")) " " (error) }
                }
            }
            tr {
                th { (words.licence_until) }
                @if licence["permanent"].as_bool() == Some(true) {
                    td { (words.permanent) }
                } @else {
                    (until(lang, &licence["expires"], now))
                }
            }
        }
    }
}

/// Tokens on the USB bus, marked when the smart-card service does not see them (a missing
/// driver: the token is plugged in but no program can use it).
fn usb_tokens(words: &HostWords, tokens: &Value) -> Markup {
    html! {
        @for token in list(tokens) {
            (token["model"].as_str().or(token["product"].as_str()).unwrap_or("—"))
            @if let Some(serial) = token["serial"].as_str() { " " code { (serial) } }
            @if let Some(id) = token["usb_id"].as_str() { " " span.muted { (id) } }
            @if token["visible_to_pcsc"].as_bool() == Some(false) {
                " " (layout::severity("warning")) " " (words.invisible)
            }
            @if let Some(code) = token["problem_code"].as_u64() {
                " " (layout::severity("critical")) " " (words.driver_problem) " " (code)
            }
            @if token["generic_driver"].as_bool() == Some(true) {
                " " (layout::severity("warning")) " " (words.generic_driver)
            }
            @if let Some(driver) = token["driver"].as_str() { br; span.muted { (driver) } }
            br;
        }
    }
}

/// PC/SC readers, and the token or card in each.
fn readers(lang: Lang, words: &HostWords, readers: &Value) -> Markup {
    html! {
        @if list(readers).next().is_none() { p.muted { (words.none) } }
        @else {
            div.table { table { thead { tr {
                th { (words.reader) } th { (words.card) } th { (words.token_model) } th { "ATR" }
                th { (words.exclusive) }
            } } tbody {
                @for reader in list(readers) {
                    tr {
                        td { (layout::text(&reader["name"])) }
                        td { (yes_no(lang, &reader["card_present"])) }
                        td {
                            (layout::text(&reader["token_model"]))
                            @if let Some(family) = reader["token_family"].as_str() { " " span.muted { (family) } }
                        }
                        td { small.muted { (layout::text(&reader["atr"])) } }
                        td { (yes_no(lang, &reader["in_use_exclusively"])) }
                    }
                }
            } } }
        }
    }
}

/// Tokens plugged in, each linked to where else it has been.
fn tokens(words: &HostWords, tokens: &Value) -> Markup {
    html! {
        @if list(tokens).next().is_none() { p.muted { (words.none) } }
        @else {
            div.table { table { thead { tr {
                th { (words.model) } th { (words.serial) } th { (words.label) } th { (words.pin) }
                th { (words.memory) }
            } } tbody {
                @for token in list(tokens) {
                    @let serial = token["serial"].as_str().unwrap_or_default().trim();
                    tr {
                        td { (layout::text(&token["model"])) br; span.muted { (layout::text(&token["manufacturer"])) } }
                        td { a href={ "/tokens?q=" (super::encode(serial)) } { code { (serial) } } }
                        td { (layout::text(&token["label"])) }
                        (pin_state(words, token))
                        td { (memory(words, token)) }
                    }
                }
            } } }
        }
    }
}

/// What is wrong with a token's PINs, worst first; a locked PIN stops signing now.
fn pin_state(words: &HostWords, token: &Value) -> Markup {
    let flag = |key: &str| token[key].as_bool() == Some(true);
    let problems = [
        (flag("pin_locked"), "critical", words.pin_locked),
        (flag("pin_so_locked"), "critical", words.pin_so_locked),
        (flag("pin_final_try"), "critical", words.pin_final_try),
        (flag("pin_count_low"), "warning", words.pin_count_low),
        (flag("pin_must_change"), "warning", words.pin_must_change),
        (
            token["pin_user_initialized"].as_bool() == Some(false),
            "warning",
            words.pin_unset,
        ),
    ];
    let worst = problems
        .iter()
        .find(|(on, _, _)| *on)
        .map(|(_, level, _)| *level);
    html! {
        td class=[worst] {
            @for (_, _, text) in problems.iter().filter(|(on, _, _)| *on) { (text) br; }
            @if worst.is_none() { (words.pin_ok) }
        }
    }
}

/// Free of total memory, in kilobytes.
fn memory(words: &HostWords, token: &Value) -> String {
    match (
        token["free_memory"].as_i64(),
        token["total_memory"].as_i64(),
    ) {
        (Some(free), Some(total)) => {
            format!("{} / {} {}", free / 1024, total / 1024, words.kilobytes)
        }
        (Some(free), None) => format!("{} {}", free / 1024, words.kilobytes),
        _ => "—".to_owned(),
    }
}

/// CryptoPro key containers: where, on what media, whether whole, when the key ends.
fn containers(lang: Lang, words: &HostWords, containers: &Value, now: DateTime<Utc>) -> Markup {
    html! {
        @if list(containers).next().is_none() { p.muted { (words.none) } }
        @else {
            div.table { table { thead { tr {
                th { (words.name) } th { (words.path) } th { (words.media) } th { (words.state) }
                th { (words.key_until) }
            } } tbody {
                @for container in list(containers) {
                    tr {
                        td { (layout::text(&container["name"])) }
                        td { code { (layout::text(&container["path"])) } }
                        td { (named(container["media"].as_str(), &words.media_names)) }
                        (completeness(words, container))
                        (until(lang, &container["private_key_not_after"], now))
                    }
                }
            } } }
        }
    }
}

/// Whether all of a container's files are there, and which are missing or damaged: a key
/// without them cannot sign.
fn completeness(words: &HostWords, container: &Value) -> Markup {
    let complete = container["complete"].as_bool() == Some(true);
    let missing: Vec<String> = list(&container["missing_files"])
        .map(layout::text)
        .collect();
    html! {
        td class=[(!complete).then_some("critical")] {
            @if complete { (words.complete) }
            @if !missing.is_empty() { (words.missing) " " (missing.join(", ")) br; }
            @for damaged in list(&container["damaged_files"]) {
                (words.damaged) " " (layout::text(&damaged["file"]))
                " (" (layout::text(&damaged["reason"])) ")" br;
            }
        }
    }
}

/// Certificates on the host, soonest end first, with where each is kept.
fn certificates(lang: Lang, words: &HostWords, certificates: &Value, now: DateTime<Utc>) -> Markup {
    html! {
        @if list(certificates).next().is_none() { p.muted { (words.none) } }
        @else {
            div.table { table { thead { tr {
                th { (words.subject) } th { (words.not_after) } th { (words.kept) }
                th { (words.qualified) }
            } } tbody {
                @for certificate in list(certificates) {
                    tr {
                        td {
                            strong { (layout::text(&certificate["subject_cn"])) }
                            @if certificate["is_ca"].as_bool() == Some(true) { " " span.muted { (words.authority) } }
                            br; span.muted { (layout::text(&certificate["issuer_cn"])) }
                        }
                        (until(lang, &certificate["not_after"], now))
                        td {
                            @for source in list(&certificate["sources"]) {
                                (named(source["kind"].as_str(), &words.source_kinds))
                                ": " code { (layout::text(&source["location"])) } br;
                            }
                        }
                        td { (yes_no(lang, &certificate["qualified"])) }
                    }
                }
            } } }
        }
    }
}

/// How each of the agent's collectors did: a failed one means part of this page is missing.
fn collectors(words: &HostWords, collectors: &Value) -> Markup {
    html! {
        @if list(collectors).next().is_none() { p.muted { (words.none) } }
        @else {
            div.table { table { thead { tr {
                th { (words.collector) } th { (words.outcome) } th { (words.errors) }
                th { (words.duration) }
            } } tbody {
                @for collector in list(collectors) {
                    @let status = collector["status"].as_str().unwrap_or_default();
                    @let class = match status {
                        "failed" => Some("critical"),
                        "partial" => Some("warning"),
                        _ => None,
                    };
                    tr {
                        td { (layout::text(&collector["name"])) }
                        td class=[class] { (named(Some(status), &words.outcomes)) }
                        td { @for error in list(&collector["errors"]) { (layout::text(error)) br; } }
                        td.num { (layout::text(&collector["duration_ms"])) }
                    }
                }
            } } }
        }
    }
}

/// `value` in words if `names` has it, else as the agent sent it; a dash for none.
fn named(value: Option<&str>, names: &[(&str, &str)]) -> String {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return "—".to_owned();
    };
    names
        .iter()
        .find(|(key, _)| *key == value)
        .map_or(value, |(_, word)| word)
        .to_owned()
}

/// A JSON value of a component this page does not know, as text.
fn as_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_show_what_the_agent_sent() {
        let now = Utc::now();
        let odd = serde_json::json!({
            "cryptopro": { "installed": false },
            "smart_card_service": "stopped",
            "pkcs11_modules": "not a list",
            "tpm": { "present": true },
            "usb_tokens": [{ "product": "ruToken", "visible_to_pcsc": false }],
        });
        let windows = serde_json::json!({
            "smart_card_service": "stopped",
            "smart_card_service_start": "manual",
            "remote_sessions": 12,
            "usb_tokens": [{
                "model": "JaCarta LT", "problem_code": 10, "generic_driver": true,
                "driver": "wudfusbcciddriver.inf (Microsoft), WUDFRd",
            }],
        });
        let html = components(Lang::En, &HOST_EN, &windows, now).into_string();
        // Stopped on demand with a token plugged in: down, as the agent's finding says.
        assert!(
            html.contains("<td class=\"warning\">stopped, starts on demand</td>"),
            "{html}"
        );
        // With nothing plugged in it is Windows' normal state.
        let idle = serde_json::json!({
            "smart_card_service": "stopped",
            "smart_card_service_start": "manual",
        });
        let idle_html = components(Lang::En, &HOST_EN, &idle, now).into_string();
        assert!(
            idle_html.contains("<td>stopped, starts on demand</td>"),
            "{idle_html}"
        );
        assert!(
            html.contains("<th>Remote desktop sessions</th><td>12</td>"),
            "{html}"
        );
        assert!(
            html.contains("driver not working, problem code 10"),
            "{html}"
        );
        assert!(
            html.contains("generic Microsoft Usbccid (WUDF) driver"),
            "{html}"
        );
        assert!(
            html.contains("wudfusbcciddriver.inf (Microsoft), WUDFRd"),
            "{html}"
        );
        let disabled = serde_json::json!({ "smart_card_service_start": "disabled" });
        let html = components(Lang::Ru, &HOST_RU, &disabled, now).into_string();
        assert!(
            html.contains("<td class=\"warning\">отключена</td>"),
            "{html}"
        );
        let html = components(Lang::En, &HOST_EN, &odd, now).into_string();
        assert!(html.contains("not installed"), "{html}");
        assert!(
            html.contains("<td class=\"warning\">stopped</td>"),
            "{html}"
        );
        assert!(
            html.contains("<th>tpm</th><td>{&quot;present&quot;:true}</td>"),
            "{html}"
        );
        assert!(html.contains("ruToken"), "{html}");
        assert!(
            html.contains("not visible to the smart-card service"),
            "{html}"
        );
        assert!(!html.contains("PKCS#11"), "{html}");
        for nothing in [
            Value::Null,
            serde_json::json!({}),
            serde_json::json!({ "cryptopro": null }),
        ] {
            let html = components(Lang::Ru, &HOST_RU, &nothing, now).into_string();
            assert!(
                html.contains("Агент не прислал сведений о компонентах."),
                "{html}"
            );
        }
    }

    #[test]
    fn unknown_values_are_shown_as_sent() {
        assert_eq!(named(Some("registry"), &HOST_RU.media_names), "реестр");
        assert_eq!(named(Some("floppy"), &HOST_RU.media_names), "floppy");
        assert_eq!(named(None, &HOST_RU.media_names), "—");
    }
}
