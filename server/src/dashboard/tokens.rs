//! The tokens page: every token (model and serial) seen on the viewer's hosts, where it is
//! plugged in now (host, office, label, a locked PIN or tries running out) and the hosts it was
//! on before, so a token that walked from one desk to another can be followed.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};

use super::Viewer;
use super::filters::{self, Listing, any_yes_no, choice, filled, host_link, list, text_input};
use super::layout::{self, Section};
use crate::http::HttpState;
use crate::query::lists;

struct Words {
    title: &'static str,
    search: &'static str,
    model: &'static str,
    present: &'static str,
    any: &'static str,
    sort_serial: &'static str,
    sort_model: &'static str,
    sort_first_seen: &'static str,
    serial: &'static str,
    now: &'static str,
    before: &'static str,
    first_seen: &'static str,
    unplugged: &'static str,
    label: &'static str,
    pin_locked: &'static str,
    pin_low: &'static str,
    from: &'static str,
    to: &'static str,
}

const RU: Words = Words {
    title: "Токены",
    search: "Серийный номер или модель",
    model: "Модель",
    present: "Подключён сейчас",
    any: "все",
    sort_serial: "по серийному номеру",
    sort_model: "по модели",
    sort_first_seen: "по дате обнаружения",
    serial: "Серийный номер",
    now: "Где сейчас",
    before: "Где был раньше",
    first_seen: "Впервые замечен",
    unplugged: "Сейчас нигде не подключён",
    label: "метка",
    pin_locked: "PIN-код заблокирован",
    pin_low: "PIN-код: осталось мало попыток",
    from: "с",
    to: "по",
};

const EN: Words = Words {
    title: "Tokens",
    search: "Serial or model",
    model: "Model",
    present: "Plugged in now",
    any: "any",
    sort_serial: "by serial",
    sort_model: "by model",
    sort_first_seen: "by first seen",
    serial: "Serial",
    now: "Where it is now",
    before: "Where it was before",
    first_seen: "First seen",
    unplugged: "Not plugged in anywhere now",
    label: "label",
    pin_locked: "PIN locked",
    pin_low: "PIN: tries running out",
    from: "from",
    to: "to",
};

pub(super) fn routes() -> Router<HttpState> {
    Router::new().route("/tokens", get(page))
}

/// `GET /tokens`: the filter form, a page of tokens and the pager.
async fn page(
    State(state): State<HttpState>,
    viewer: Viewer,
    Query(params): Query<BTreeMap<String, String>>,
) -> Response {
    let lang = viewer.lang;
    let words = lang.pick(&RU, &EN);
    let params = filled(params);
    let listing = Listing {
        spec: &lists::TOKENS,
        section: Section::Tokens,
        title: words.title,
        search: words.search,
        sorts: &[
            ("serial", words.sort_serial),
            ("model", words.sort_model),
            ("first_seen", words.sort_first_seen),
        ],
        columns: &[
            words.model,
            words.serial,
            words.now,
            words.before,
            words.first_seen,
        ],
    };
    let fields = html! {
        (text_input("model", words.model, &params))
        (choice("present", words.present, &any_yes_no(lang, words.any), &params))
    };
    filters::page(&state, &viewer, &listing, &params, fields, |token, _| {
        row(words, token)
    })
    .await
}

/// One token.
fn row(words: &Words, token: &serde_json::Value) -> Markup {
    html! {
        tr {
            td { (layout::text(&token["model"])) }
            td { code { (layout::text(&token["serial"])) } }
            td {
                @for (i, place) in list(&token["now"]).enumerate() {
                    @if i > 0 { br; }
                    (now_on(words, place))
                }
                @if list(&token["now"]).next().is_none() { span.muted { (words.unplugged) } }
            }
            td { (history(words, &token["history"])) }
            td { (layout::date(&token["first_seen_at"])) }
        }
    }
}

/// A host the token is plugged into: host, office, label and what is wrong with its PIN.
fn now_on(words: &Words, place: &serde_json::Value) -> Markup {
    html! {
        (host_link(place))
        " " span.muted { (layout::text(&place["office"])) }
        @if let Some(label) = place["label"].as_str().filter(|l| !l.trim().is_empty()) {
            br; span.muted { (words.label) " «" (label.trim()) "»" }
        }
        // A locked PIN stops the person's signing now; a low count will soon.
        @if place["pin_locked"].as_bool() == Some(true) {
            br; (layout::severity("critical")) " " (words.pin_locked)
        } @else if place["pin_count_low"].as_bool() == Some(true) {
            br; (layout::severity("warning")) " " (words.pin_low)
        }
    }
}

/// The hosts the token was on and is no longer, with when it was seen there.
fn history(words: &Words, history: &serde_json::Value) -> Markup {
    let earlier: Vec<&serde_json::Value> = list(history)
        .filter(|place| place["present"].as_bool() != Some(true))
        .collect();
    html! {
        @if earlier.is_empty() { span.muted { "—" } }
        @for (i, place) in earlier.iter().enumerate() {
            @if i > 0 { br; }
            (host_link(place))
            " " span.muted { (layout::text(&place["office"])) }
            br;
            small.muted {
                (words.from) " " (layout::date(&place["first_seen_at"]))
                " " (words.to) " " (layout::date(&place["last_seen_at"]))
            }
        }
    }
}
