//! The certificates page: every certificate on the viewer's hosts, filtered like the API's list,
//! with whose it is (CN, organisation, INN, OGRN, SNILS), its issuer, when it and its private key
//! end, the hosts and key containers that hold it, and whether it is qualified.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use maud::{Markup, html};

use super::Viewer;
use super::filters::{
    self, Listing, any_yes_no, choice, filled, host_link, list, number_input, until, yes_no,
};
use super::i18n::Lang;
use super::layout::{self, Section};
use crate::http::HttpState;
use crate::query::lists;

struct Words {
    title: &'static str,
    search: &'static str,
    expiring: &'static str,
    any_time: &'static str,
    days_7: &'static str,
    days_30: &'static str,
    days_90: &'static str,
    expired: &'static str,
    qualified: &'static str,
    any: &'static str,
    kind: &'static str,
    people: &'static str,
    authorities: &'static str,
    inn: &'static str,
    inn_le: &'static str,
    ogrn: &'static str,
    ogrnip: &'static str,
    snils: &'static str,
    sort_not_after: &'static str,
    sort_key: &'static str,
    sort_subject: &'static str,
    sort_first_seen: &'static str,
    subject: &'static str,
    identifiers: &'static str,
    issuer: &'static str,
    not_after: &'static str,
    key_not_after: &'static str,
    hosts: &'static str,
    /// After the hosts listed, when there are more (`{}`: how many).
    more_hosts: &'static str,
    containers: &'static str,
    qualified_column: &'static str,
}

const RU: Words = Words {
    title: "Сертификаты",
    search: "Владелец (поиск по DN)",
    expiring: "Истекает в течение",
    any_time: "любого срока",
    days_7: "7 дней",
    days_30: "30 дней",
    days_90: "90 дней",
    expired: "Уже истёк",
    qualified: "Квалифицированный",
    any: "все",
    kind: "Чьи",
    people: "Сотрудников и организаций",
    authorities: "Удостоверяющих центров",
    inn: "ИНН",
    inn_le: "ИНН ЮЛ",
    ogrn: "ОГРН",
    ogrnip: "ОГРНИП",
    snils: "СНИЛС",
    sort_not_after: "по дате окончания",
    sort_key: "по окончанию закрытого ключа",
    sort_subject: "по владельцу",
    sort_first_seen: "по дате обнаружения",
    subject: "Владелец",
    identifiers: "ИНН / ОГРН / СНИЛС",
    issuer: "Издатель (УЦ)",
    not_after: "Действует до",
    key_not_after: "Закрытый ключ до",
    hosts: "Компьютеры",
    more_hosts: "и ещё {}",
    containers: "Контейнеры",
    qualified_column: "КЭП",
};

const EN: Words = Words {
    title: "Certificates",
    search: "Subject DN contains",
    expiring: "Expiring within",
    any_time: "any time",
    days_7: "7 days",
    days_30: "30 days",
    days_90: "90 days",
    expired: "Already expired",
    qualified: "Qualified",
    any: "any",
    kind: "Whose",
    people: "People and organisations",
    authorities: "Certificate authorities",
    inn: "INN",
    inn_le: "INN (entity)",
    ogrn: "OGRN",
    ogrnip: "OGRNIP",
    snils: "SNILS",
    sort_not_after: "by end date",
    sort_key: "by private key end",
    sort_subject: "by subject",
    sort_first_seen: "by first seen",
    subject: "Subject",
    identifiers: "INN / OGRN / SNILS",
    issuer: "Issuer (CA)",
    not_after: "Valid until",
    key_not_after: "Private key until",
    hosts: "Hosts",
    more_hosts: "and {} more",
    containers: "Containers",
    qualified_column: "Qualified",
};

pub(super) fn routes() -> Router<HttpState> {
    Router::new().route("/certificates", get(page))
}

/// `GET /certificates`: the filter form, a page of certificates and the pager.
async fn page(
    State(state): State<HttpState>,
    viewer: Viewer,
    Query(params): Query<BTreeMap<String, String>>,
) -> Response {
    let lang = viewer.lang;
    let words = lang.pick(&RU, &EN);
    // CA certificates fill every host's store and would bury the people's ones: they are
    // shown only when asked for. Absent, not empty: the form always sends its choice.
    let ca_chosen = params.contains_key("ca");
    let mut params = filled(params);
    if !ca_chosen {
        params.insert("ca".into(), "false".into());
    }
    let listing = Listing {
        spec: &lists::CERTIFICATES,
        section: Section::Certificates,
        title: words.title,
        search: words.search,
        sorts: &[
            ("not_after", words.sort_not_after),
            ("private_key_not_after", words.sort_key),
            ("subject", words.sort_subject),
            ("first_seen", words.sort_first_seen),
        ],
        columns: &[
            words.subject,
            words.identifiers,
            words.issuer,
            words.not_after,
            words.key_not_after,
            words.hosts,
            words.containers,
            words.qualified_column,
        ],
    };
    let fields = fields(lang, words, &params);
    filters::page(
        &state,
        &viewer,
        &listing,
        &params,
        fields,
        |certificate, now| row(lang, words, certificate, now),
    )
    .await
}

/// The certificates' own filters.
fn fields(lang: Lang, words: &Words, params: &BTreeMap<String, String>) -> Markup {
    let flag = any_yes_no(lang, words.any);
    let within = [
        ("", words.any_time),
        ("7", words.days_7),
        ("30", words.days_30),
        ("90", words.days_90),
    ];
    let kinds = [("false", words.people), ("true", words.authorities)];
    html! {
        (choice("expiring_within_days", words.expiring, &within, params))
        (choice("expired", words.expired, &flag, params))
        (choice("qualified", words.qualified, &flag, params))
        (choice("ca", words.kind, &kinds, params))
        (number_input("inn", words.inn, params))
        (number_input("snils", words.snils, params))
    }
}

/// One certificate.
fn row(lang: Lang, words: &Words, c: &serde_json::Value, now: DateTime<Utc>) -> Markup {
    html! {
        tr {
            td {
                strong { (layout::text(&c["subject_cn"])) }
                @if let Some(organization) = c["organization"].as_str() {
                    br; span.muted { (organization) }
                }
            }
            td { (identifiers(words, c)) }
            td { (layout::text(&c["issuer_cn"])) }
            (until(lang, &c["not_after"], now))
            (until(lang, &key_end(c), now))
            td {
                @for (i, host) in list(&c["hosts"]).enumerate() {
                    @if i > 0 { br; }
                    (host_link(host))
                }
                @let listed = list(&c["hosts"]).count() as u64;
                @let more = c["host_count"].as_u64().unwrap_or(listed).saturating_sub(listed);
                @if more > 0 {
                    br; span.muted { (words.more_hosts.replace("{}", &more.to_string())) }
                }
            }
            td {
                @for (i, container) in list(&c["containers"]).enumerate() {
                    @if i > 0 { br; }
                    @let path = layout::text(&container["path"]);
                    span title=(path) { (container["name"].as_str().unwrap_or(&path)) }
                }
            }
            td { (yes_no(lang, &c["qualified"])) }
        }
    }
}

/// INN, OGRN and SNILS, those the certificate has, each on its line.
fn identifiers(words: &Words, c: &serde_json::Value) -> Markup {
    let named = [
        (words.inn, "inn"),
        (words.inn_le, "inn_le"),
        (words.ogrn, "ogrn"),
        (words.ogrnip, "ogrnip"),
        (words.snils, "snils"),
    ];
    let present: Vec<_> = named
        .iter()
        .filter_map(|(label, key)| Some((label, c[*key].as_str()?)))
        .collect();
    html! {
        @if present.is_empty() { "—" }
        @for (label, value) in present {
            span.muted { (label) } " " (value) br;
        }
    }
}

/// The private key's end: the certificate's own (its private key usage period), else the
/// earliest its containers report.
fn key_end(c: &serde_json::Value) -> serde_json::Value {
    if !c["private_key_not_after"].is_null() {
        return c["private_key_not_after"].clone();
    }
    list(&c["containers"])
        .map(|container| &container["private_key_not_after"])
        .filter_map(|at| Some((DateTime::parse_from_rfc3339(at.as_str()?).ok()?, at)))
        .min_by_key(|(at, _)| *at)
        .map_or(serde_json::Value::Null, |(_, at)| at.clone())
}
