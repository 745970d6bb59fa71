//! Russian and English. Each page keeps its own words beside it (a struct with a field per
//! text, one value per language, so a text missing in one language does not compile); the
//! words every page shares are here.

use axum::extract::{Path, Query};
use axum::http::HeaderMap;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::http::auth::cookie;

/// The cookie that keeps the chosen language.
const LANG_COOKIE: &str = "tw_lang";

/// A language of the dashboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lang {
    Ru,
    En,
}

impl Lang {
    /// The language chosen before (a cookie), or the one the browser prefers.
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        match cookie(headers, LANG_COOKIE) {
            Some("ru") => Lang::Ru,
            Some("en") => Lang::En,
            _ if super::prefers_russian(headers) => Lang::Ru,
            _ => Lang::En,
        }
    }

    pub(crate) fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    /// `ru` or `en` of a `(ru, en)` pair.
    pub(crate) fn pick<T>(self, ru: T, en: T) -> T {
        match self {
            Lang::Ru => ru,
            Lang::En => en,
        }
    }
}

/// The words of the page frame and of errors.
#[derive(Debug)]
pub(crate) struct Texts {
    pub(crate) overview: &'static str,
    pub(crate) certificates: &'static str,
    pub(crate) tokens: &'static str,
    pub(crate) hosts: &'static str,
    pub(crate) alerts: &'static str,
    pub(crate) settings: &'static str,
    pub(crate) sign_out: &'static str,
    pub(crate) filter: &'static str,
    pub(crate) next_page: &'static str,
    pub(crate) first_page: &'static str,
    pub(crate) export_csv: &'static str,
    pub(crate) nothing: &'static str,
    pub(crate) all_offices: &'static str,
    pub(crate) office: &'static str,
    pub(crate) stale_form: &'static str,
    pub(crate) not_allowed: &'static str,
    pub(crate) unavailable: &'static str,
    pub(crate) not_found: &'static str,
    pub(crate) yes: &'static str,
    pub(crate) no: &'static str,
}

static RU: Texts = Texts {
    overview: "Обзор",
    certificates: "Сертификаты",
    tokens: "Токены",
    hosts: "Компьютеры",
    alerts: "Оповещения",
    settings: "Настройки",
    sign_out: "Выйти",
    filter: "Показать",
    next_page: "Дальше →",
    first_page: "← В начало",
    export_csv: "Выгрузить в CSV (Excel)",
    nothing: "Ничего не найдено.",
    all_offices: "Все офисы",
    office: "Офис",
    stale_form: "Форма устарела: обновите страницу и повторите.",
    not_allowed: "Вашей роли это не разрешено.",
    unavailable: "База данных не отвечает. Повторите через минуту.",
    not_found: "Не найдено.",
    yes: "да",
    no: "нет",
};

static EN: Texts = Texts {
    overview: "Overview",
    certificates: "Certificates",
    tokens: "Tokens",
    hosts: "Hosts",
    alerts: "Alerts",
    settings: "Settings",
    sign_out: "Sign out",
    filter: "Show",
    next_page: "Next →",
    first_page: "← First page",
    export_csv: "Export CSV (Excel)",
    nothing: "Nothing found.",
    all_offices: "All offices",
    office: "Office",
    stale_form: "This form is out of date: reload the page and try again.",
    not_allowed: "Your role does not allow this.",
    unavailable: "The database does not answer. Try again in a minute.",
    not_found: "Not found.",
    yes: "yes",
    no: "no",
};

/// The shared words in `lang`.
pub(crate) fn texts(lang: Lang) -> &'static Texts {
    lang.pick(&RU, &EN)
}

#[derive(Deserialize)]
pub(crate) struct Back {
    back: Option<String>,
}

/// `GET /lang/{ru|en}?back=/path`: keep the choice in a cookie, and go back.
pub(crate) async fn choose(Path(code): Path<String>, Query(back): Query<Back>) -> Response {
    let code = if code == "ru" { "ru" } else { "en" };
    let back = local_path(back.back.as_deref());
    let cookie = format!("{LANG_COOKIE}={code}; Path=/; Max-Age=31536000; SameSite=Lax");
    ([(SET_COOKIE, cookie)], Redirect::to(back)).into_response()
}

/// `path` if it is a path of this site, else the overview: a link must not send someone
/// elsewhere (`//evil.example` is another site).
pub(crate) fn local_path(path: Option<&str>) -> &str {
    match path {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path
        }
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use axum::http::header::{ACCEPT_LANGUAGE, COOKIE};

    use super::*;

    #[test]
    fn the_chosen_language_wins_over_the_browser_s() {
        let mut headers = HeaderMap::new();
        assert_eq!(Lang::of(&headers), Lang::En);
        headers.insert(
            ACCEPT_LANGUAGE,
            HeaderValue::from_static("ru-RU,ru;q=0.9,en;q=0.8"),
        );
        assert_eq!(Lang::of(&headers), Lang::Ru);
        headers.insert(COOKIE, HeaderValue::from_static("tw_lang=en"));
        assert_eq!(Lang::of(&headers), Lang::En);
    }

    #[test]
    fn only_local_paths_are_gone_back_to() {
        assert_eq!(local_path(Some("/hosts?q=1")), "/hosts?q=1");
        for elsewhere in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil.example",
            "hosts",
        ] {
            assert_eq!(local_path(Some(elsewhere)), "/", "{elsewhere}");
        }
        assert_eq!(local_path(None), "/");
    }
}
