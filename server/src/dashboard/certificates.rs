//! The certificates page: every certificate on the viewer's hosts, filtered like the API's list,
//! with whose it is (CN, organisation, INN, OGRN, SNILS), its issuer, when it and its private key
//! end, the hosts and key containers that hold it, and whether it is qualified.
//!
//! The filter form and a few pieces the tokens and hosts pages share (dropping empty fields,
//! selects, days left in words) live here too.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use maud::{Markup, html};

use super::i18n::{Lang, texts};
use super::layout::{self, Section};
use super::{Viewer, list_page, office_names, rendered};
use crate::http::HttpState;
use crate::query::{QueryError, lists};

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
    rendered(viewer.lang, body(&state, &viewer, params).await)
}

async fn body(
    state: &HttpState,
    viewer: &Viewer,
    params: BTreeMap<String, String>,
) -> Result<Markup, QueryError> {
    let words = viewer.lang.pick(&RU, &EN);
    // CA certificates fill every host's store and would bury the people's ones: they are
    // shown only when asked for. Absent, not empty: the form always sends its choice.
    let ca_chosen = params.contains_key("ca");
    let mut params = filled(params);
    if !ca_chosen {
        params.insert("ca".into(), "false".into());
    }
    let page = list_page(state, viewer, &lists::CERTIFICATES, &params).await?;
    let offices = office_names(state, viewer).await?;
    let now = Utc::now();
    let content = html! {
        (filters(viewer.lang, words, &offices, &params))
        div.table { table #certificates {
            thead { tr {
                th { (words.subject) } th { (words.identifiers) } th { (words.issuer) }
                th { (words.not_after) } th { (words.key_not_after) } th { (words.hosts) }
                th { (words.containers) } th { (words.qualified_column) }
            } }
            tbody {
                @for certificate in &page.items { (row(viewer.lang, words, certificate, now)) }
                @if page.items.is_empty() {
                    tr { td.muted colspan="8" { (texts(viewer.lang).nothing) } }
                }
            }
        } }
        (layout::pager(viewer.lang, "/certificates", "/api/v1/certificates", &params, page.next.as_deref()))
    };
    Ok(layout::page(
        viewer,
        Section::Certificates,
        words.title,
        content,
    ))
}

/// The filter form, named as the API's filters so that a page's address is its API query.
fn filters(
    lang: Lang,
    words: &Words,
    offices: &[String],
    params: &BTreeMap<String, String>,
) -> Markup {
    let yes_no = [
        ("", words.any),
        ("true", texts(lang).yes),
        ("false", texts(lang).no),
    ];
    let sorts = [
        ("not_after", words.sort_not_after),
        ("private_key_not_after", words.sort_key),
        ("subject", words.sort_subject),
        ("first_seen", words.sort_first_seen),
    ];
    let within = [
        ("", words.any_time),
        ("7", words.days_7),
        ("30", words.days_30),
        ("90", words.days_90),
    ];
    html! {
        form.filters #certificate-filters method="get" action="/certificates" {
            (text_input("q", words.search, params))
            (office_choice(lang, offices, params))
            (choice("expiring_within_days", words.expiring, &within, params))
            (choice("expired", words.expired, &yes_no, params))
            (choice("qualified", words.qualified, &yes_no, params))
            (choice("ca", words.kind, &[("false", words.people), ("true", words.authorities)], params))
            (number_input("inn", words.inn, params))
            (number_input("snils", words.snils, params))
            (sort_choice(lang, &sorts, params))
            (submit(lang, "/certificates"))
        }
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

// === pieces the list pages share ===

/// The form's values without the empty ones (an empty field means "any", which the API
/// refuses as a value) and without the spaces around the rest.
pub(super) fn filled(params: BTreeMap<String, String>) -> BTreeMap<String, String> {
    params
        .into_iter()
        .map(|(name, value)| (name, value.trim().to_owned()))
        .filter(|(_, value)| !value.is_empty())
        .collect()
}

/// A link to the host page of `host` (an object with `agent_id` and `hostname`).
pub(super) fn host_link(host: &serde_json::Value) -> Markup {
    html! {
        a href={ "/hosts/" (layout::text(&host["agent_id"])) } { (layout::text(&host["hostname"])) }
    }
}

/// The items of a JSON array, none if it is not one.
pub(super) fn list(value: &serde_json::Value) -> impl Iterator<Item = &serde_json::Value> {
    value.as_array().into_iter().flatten()
}

/// A labelled text field.
pub(super) fn text_input(name: &str, label: &str, params: &BTreeMap<String, String>) -> Markup {
    html! {
        label { (label) input type="text" name=(name) value=[params.get(name)]; }
    }
}

/// A labelled field for digits (INN, SNILS): a phone shows its number pad.
fn number_input(name: &str, label: &str, params: &BTreeMap<String, String>) -> Markup {
    html! {
        label { (label) input type="text" inputmode="numeric" name=(name) value=[params.get(name)]; }
    }
}

/// A labelled select of `(value, text)` options, the current value selected.
pub(super) fn choice(
    name: &str,
    label: &str,
    options: &[(&str, &str)],
    params: &BTreeMap<String, String>,
) -> Markup {
    let current = params.get(name).map_or("", String::as_str);
    html! {
        label {
            (label)
            select name=(name) {
                @for (value, text) in options {
                    option value=(value) selected[*value == current] { (text) }
                }
            }
        }
    }
}

/// The office select: every office the viewer sees, first "all".
pub(super) fn office_choice(
    lang: Lang,
    offices: &[String],
    params: &BTreeMap<String, String>,
) -> Markup {
    let options: Vec<(&str, &str)> = std::iter::once(("", texts(lang).all_offices))
        .chain(offices.iter().map(|name| (name.as_str(), name.as_str())))
        .collect();
    choice("office", texts(lang).office, &options, params)
}

/// The sort select (`sorts`: the spec's names with their words) and the direction.
pub(super) fn sort_choice(
    lang: Lang,
    sorts: &[(&str, &str)],
    params: &BTreeMap<String, String>,
) -> Markup {
    let order = [
        ("asc", lang.pick("по возрастанию", "ascending")),
        ("desc", lang.pick("по убыванию", "descending")),
    ];
    html! {
        (choice("sort", lang.pick("Сортировка", "Sort"), sorts, params))
        (choice("order", lang.pick("Порядок", "Order"), &order, params))
    }
}

/// The form's button, and a link back to the page without filters.
pub(super) fn submit(lang: Lang, path: &str) -> Markup {
    html! {
        button type="submit" { (texts(lang).filter) }
        a href=(path) { (lang.pick("Сбросить", "Clear")) }
    }
}

/// "yes", "no", or a dash for a missing flag.
pub(super) fn yes_no(lang: Lang, value: &serde_json::Value) -> &'static str {
    match value.as_bool() {
        Some(true) => texts(lang).yes,
        Some(false) => texts(lang).no,
        None => "—",
    }
}

/// A cell with an end date, coloured by how soon it is, and how many days are left.
pub(super) fn until(lang: Lang, value: &serde_json::Value, now: DateTime<Utc>) -> Markup {
    let days = layout::days_left(value, now);
    let urgency = Some(layout::urgency(days)).filter(|u| !u.is_empty());
    html! {
        td class=[urgency] {
            (layout::date(value))
            @if let Some(days) = days { br; small { (days_text(lang, days)) } }
        }
    }
}

/// `days` from now in words: "через 5 дней", "сегодня", "3 дня назад".
pub(super) fn days_text(lang: Lang, days: i64) -> String {
    let n = days.unsigned_abs();
    let unit = match lang {
        Lang::Ru if n % 10 == 1 && n % 100 != 11 => "день",
        Lang::Ru if (2..=4).contains(&(n % 10)) && !(12..=14).contains(&(n % 100)) => "дня",
        Lang::Ru => "дней",
        Lang::En if n == 1 => "day",
        Lang::En => "days",
    };
    match days {
        0 => lang.pick("сегодня", "today").to_owned(),
        d if d > 0 => lang.pick(format!("через {n} {unit}"), format!("in {n} {unit}")),
        _ => lang.pick(format!("{n} {unit} назад"), format!("{n} {unit} ago")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_said_as_russians_say_them() {
        assert_eq!(days_text(Lang::Ru, 1), "через 1 день");
        assert_eq!(days_text(Lang::Ru, 3), "через 3 дня");
        assert_eq!(days_text(Lang::Ru, 12), "через 12 дней");
        assert_eq!(days_text(Lang::Ru, 21), "через 21 день");
        assert_eq!(days_text(Lang::Ru, -5), "5 дней назад");
        assert_eq!(days_text(Lang::Ru, 0), "сегодня");
        assert_eq!(days_text(Lang::En, 1), "in 1 day");
        assert_eq!(days_text(Lang::En, -2), "2 days ago");
    }

    #[test]
    fn empty_fields_are_dropped() {
        let params: BTreeMap<String, String> = [("q", " Иванов "), ("office", ""), ("inn", "  ")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let filled = filled(params);
        assert_eq!(filled.len(), 1);
        assert_eq!(filled["q"], "Иванов");
    }
}
