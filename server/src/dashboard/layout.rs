//! The frame of every page, and the small pieces pages share: dates, severity marks, the pager.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};

use super::i18n::{self, Lang};
use super::{Viewer, encode, query_string};

/// The sections of the navigation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Section {
    Overview,
    Certificates,
    Tokens,
    Hosts,
    Alerts,
    Settings,
}

/// A whole page: head, navigation with the account and language switch, `body`.
pub(crate) fn page(viewer: &Viewer, section: Section, title: &str, body: Markup) -> Markup {
    let texts = i18n::texts(viewer.lang);
    let links = [
        (Section::Overview, "/", texts.overview),
        (Section::Certificates, "/certificates", texts.certificates),
        (Section::Tokens, "/tokens", texts.tokens),
        (Section::Hosts, "/hosts", texts.hosts),
        (Section::Alerts, "/alerts", texts.alerts),
        (Section::Settings, "/settings", texts.settings),
    ];
    let other = viewer.lang.pick(("en", "English"), ("ru", "Русский"));
    html! {
        (DOCTYPE)
        html lang=(viewer.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · tokenwatch" }
                link rel="stylesheet" href="/static/app.css";
            }
            body {
                header {
                    a.brand href="/" { "tokenwatch" }
                    nav {
                        @for (target, href, label) in links {
                            a href=(href) class=[(target == section).then_some("active")] { (label) }
                        }
                    }
                    div.account {
                        span.who { (viewer.principal.name) }
                        a href={ "/lang/" (other.0) "?back=" (encode(&viewer.path)) } { (other.1) }
                        form method="post" action="/logout" {
                            input type="hidden" name="csrf_token" value=(viewer.csrf());
                            button type="submit" { (texts.sign_out) }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A page with a message only (errors, refusals).
pub(crate) fn bare(lang: Lang, message: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "tokenwatch" }
                link rel="stylesheet" href="/static/app.css";
            }
            body {
                main.narrow {
                    p.message { (message) }
                    p { a href="/" { (i18n::texts(lang).overview) } }
                }
            }
        }
    }
}

/// A stored time (RFC 3339 from JSON) as a date, or a dash.
pub(crate) fn date(value: &serde_json::Value) -> String {
    value
        .as_str()
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map_or_else(
            || "—".to_owned(),
            |at| at.with_timezone(&Utc).format("%Y-%m-%d").to_string(),
        )
}

/// A stored time as date and time (UTC), or a dash.
pub(crate) fn date_time(value: &serde_json::Value) -> String {
    value
        .as_str()
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map_or_else(
            || "—".to_owned(),
            |at| {
                at.with_timezone(&Utc)
                    .format("%Y-%m-%d %H:%M UTC")
                    .to_string()
            },
        )
}

/// Days from `now` to a stored time, if it has one.
pub(crate) fn days_left(value: &serde_json::Value, now: DateTime<Utc>) -> Option<i64> {
    let at = DateTime::parse_from_rfc3339(value.as_str()?).ok()?;
    Some((at.with_timezone(&Utc) - now).num_days())
}

/// A text of a JSON value, or a dash.
pub(crate) fn text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) if !text.is_empty() => text.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Bool(flag) => flag.to_string(),
        _ => "—".to_owned(),
    }
}

/// A severity as a coloured mark.
pub(crate) fn severity(value: &str) -> Markup {
    html! { span class={ "sev " (value) } { (value) } }
}

/// How urgent an end date is: `expired`, `critical` (7 days), `warning` (30), or none.
pub(crate) fn urgency(days: Option<i64>) -> &'static str {
    match days {
        Some(d) if d < 0 => "expired",
        Some(d) if d <= 7 => "critical",
        Some(d) if d <= 30 => "warning",
        _ => "",
    }
}

/// Links to the first and the next page of a list at `path` with `params`, and its CSV export
/// through the API.
pub(crate) fn pager(
    lang: Lang,
    path: &str,
    api: &str,
    params: &BTreeMap<String, String>,
    next: Option<&str>,
) -> Markup {
    let texts = i18n::texts(lang);
    let mut base = params.clone();
    base.remove("after");
    let first = query_string(&base);
    let mut export = base.clone();
    export.insert("format".into(), "csv".into());
    if lang == Lang::Ru {
        export.insert("sep".into(), "semicolon".into());
    }
    html! {
        nav.pager {
            @if params.contains_key("after") {
                a href={ (path) "?" (first) } { (texts.first_page) }
            }
            @if let Some(next) = next {
                @let mut more = base.clone();
                @let _ = more.insert("after".into(), next.to_owned());
                a href={ (path) "?" (query_string(&more)) } { (texts.next_page) }
            }
            a.export href={ (api) "?" (query_string(&export)) } { (texts.export_csv) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_from_json_or_show_a_dash() {
        let at = serde_json::json!("2026-12-31T23:59:59+00:00");
        assert_eq!(date(&at), "2026-12-31");
        assert_eq!(date_time(&at), "2026-12-31 23:59 UTC");
        assert_eq!(date(&serde_json::Value::Null), "—");
        let now = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(days_left(&at, now), Some(30));
        assert_eq!(urgency(Some(-1)), "expired");
        assert_eq!(urgency(Some(5)), "critical");
        assert_eq!(urgency(Some(30)), "warning");
        assert_eq!(urgency(Some(31)), "");
    }
}
