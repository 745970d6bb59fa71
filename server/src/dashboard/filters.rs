//! What the list pages (certificates, tokens, hosts) share: the page itself (filter form,
//! table, pager), the form's fields, named as the API's filters so that a page's address is
//! its API query, and the cells the tables and the host page show alike (host links, flags,
//! end dates with the days left in words).

use std::collections::BTreeMap;

use axum::response::Response;
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use serde_json::Value;

use super::i18n::{Lang, texts};
use super::layout::{self, Section};
use super::{Viewer, list_page, office_names, rendered};
use crate::http::HttpState;
use crate::query::ListSpec;

/// What sets one list page apart from the others.
pub(super) struct Listing<'a> {
    /// The API's list the page shows. Its name is also the page's address (`/tokens`), its
    /// table's id, and without the plural's `s` its filter form's (`token-filters`).
    pub(super) spec: &'static ListSpec,
    /// The navigation's entry and the page's title.
    pub(super) section: Section,
    pub(super) title: &'a str,
    /// The label of the search field (`q`).
    pub(super) search: &'a str,
    /// The sorts: the spec's names with their words.
    pub(super) sorts: &'a [(&'a str, &'a str)],
    /// The table's column headings.
    pub(super) columns: &'a [&'a str],
}

/// A list page: the filter form (search, office, the page's own `fields`, sort), a page of
/// `listing`'s items for `params` (already [`filled`]), a row each as `row` makes it at the
/// time given, and the pager; a parameter the list cannot take as a 400 page.
pub(super) async fn page(
    state: &HttpState,
    viewer: &Viewer,
    listing: &Listing<'_>,
    params: &BTreeMap<String, String>,
    fields: Markup,
    row: impl Fn(&Value, DateTime<Utc>) -> Markup,
) -> Response {
    let lang = viewer.lang;
    let name = listing.spec.name;
    let path = format!("/{name}");
    let columns = listing.columns;
    let page = async {
        let page = list_page(state, viewer, listing.spec, params).await?;
        let offices = office_names(state, viewer).await?;
        let now = Utc::now();
        let content = html! {
            form.filters #{ (name.strip_suffix('s').unwrap_or(name)) "-filters" } method="get" action=(path) {
                (text_input("q", listing.search, params))
                (office_choice(lang, &offices, params))
                (fields)
                (sort_choice(lang, listing.sorts, params))
                (submit(lang, &path))
            }
            div.table { table #(name) {
                thead { tr { @for column in columns { th { (column) } } } }
                tbody {
                    @for item in &page.items { (row(item, now)) }
                    @if page.items.is_empty() {
                        tr { td.muted colspan=(columns.len()) { (texts(lang).nothing) } }
                    }
                }
            } }
            (layout::pager(lang, &path, &format!("/api/v1/{name}"), params, page.next.as_deref()))
        };
        Ok(layout::page(
            viewer,
            listing.section,
            listing.title,
            content,
        ))
    };
    rendered(lang, page.await)
}

/// The form's values without the empty ones (an empty field means "any", which the API
/// refuses as a value) and without the spaces around the rest.
pub(super) fn filled(params: BTreeMap<String, String>) -> BTreeMap<String, String> {
    params
        .into_iter()
        .map(|(name, value)| (name, value.trim().to_owned()))
        .filter(|(_, value)| !value.is_empty())
        .collect()
}

/// A labelled text field.
pub(super) fn text_input(name: &str, label: &str, params: &BTreeMap<String, String>) -> Markup {
    html! {
        label { (label) input type="text" name=(name) value=[params.get(name)]; }
    }
}

/// A labelled field for digits (INN, SNILS): a phone shows its number pad.
pub(super) fn number_input(name: &str, label: &str, params: &BTreeMap<String, String>) -> Markup {
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

/// The options of a flag's select: `any` (no filter), yes, no.
pub(super) fn any_yes_no(lang: Lang, any: &str) -> [(&'static str, &str); 3] {
    [
        ("", any),
        ("true", texts(lang).yes),
        ("false", texts(lang).no),
    ]
}

/// The office select: every office the viewer sees, first "all".
fn office_choice(lang: Lang, offices: &[String], params: &BTreeMap<String, String>) -> Markup {
    let options: Vec<(&str, &str)> = std::iter::once(("", texts(lang).all_offices))
        .chain(offices.iter().map(|name| (name.as_str(), name.as_str())))
        .collect();
    choice("office", texts(lang).office, &options, params)
}

/// The sort select (`sorts`: the spec's names with their words) and the direction.
fn sort_choice(lang: Lang, sorts: &[(&str, &str)], params: &BTreeMap<String, String>) -> Markup {
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
fn submit(lang: Lang, path: &str) -> Markup {
    html! {
        button type="submit" { (texts(lang).filter) }
        a href=(path) { (lang.pick("Сбросить", "Clear")) }
    }
}

// === cells ===

/// A link to the host page of `host` (an object with `agent_id` and `hostname`).
pub(super) fn host_link(host: &Value) -> Markup {
    html! {
        a href={ "/hosts/" (layout::text(&host["agent_id"])) } { (layout::text(&host["hostname"])) }
    }
}

/// The items of a JSON array, none if it is not one.
pub(super) fn list(value: &Value) -> impl Iterator<Item = &Value> {
    value.as_array().into_iter().flatten()
}

/// "yes", "no", or a dash for a missing flag.
pub(super) fn yes_no(lang: Lang, value: &Value) -> &'static str {
    match value.as_bool() {
        Some(true) => texts(lang).yes,
        Some(false) => texts(lang).no,
        None => "—",
    }
}

/// A cell with an end date, coloured by how soon it is, and how many days are left.
pub(super) fn until(lang: Lang, value: &Value, now: DateTime<Utc>) -> Markup {
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
fn days_text(lang: Lang, days: i64) -> String {
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
