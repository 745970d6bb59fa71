//! Signing in and out. The sign-in form carries a one-time value also set as a cookie, so
//! another site cannot sign a browser in to an account of its choosing (login CSRF).

use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use super::i18n::{Lang, local_path};
use super::{Viewer, unavailable};
use crate::access::random_secret;
use crate::http::HttpState;
use crate::http::auth::{Source, close_session, cookie, csrf_matches, open_session};

/// The cookie of the sign-in form's one-time value.
const FORM_COOKIE: &str = "tw_login";

struct Words {
    title: &'static str,
    name: &'static str,
    password: &'static str,
    submit: &'static str,
    refused: &'static str,
}

const RU: Words = Words {
    title: "Вход",
    name: "Имя",
    password: "Пароль",
    submit: "Войти",
    refused: "Неверное имя или пароль, либо учётная запись заблокирована.",
};

const EN: Words = Words {
    title: "Sign in",
    name: "Name",
    password: "Password",
    submit: "Sign in",
    refused: "Wrong name or password, or the account is locked or disabled.",
};

#[derive(Deserialize)]
pub(super) struct Next {
    next: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Submitted {
    name: String,
    password: String,
    form: String,
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
pub(super) struct SignOut {
    csrf_token: String,
}

fn form_page(lang: Lang, next: &str, refused: bool) -> (String, Markup) {
    let words = lang.pick(&RU, &EN);
    let value = random_secret();
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (words.title) " · tokenwatch" }
                link rel="stylesheet" href="/static/app.css";
            }
            body {
                main.narrow {
                    h1 { "tokenwatch" }
                    @if refused { p.message.error role="alert" { (words.refused) } }
                    form.login method="post" action="/login" {
                        input type="hidden" name="form" value=(value);
                        input type="hidden" name="next" value=(next);
                        label { (words.name) input name="name" autocomplete="username" required autofocus; }
                        label { (words.password) input type="password" name="password" autocomplete="current-password" required; }
                        button type="submit" { (words.submit) }
                    }
                    p.langs { a href="/lang/ru?back=/login" { "Русский" } " · " a href="/lang/en?back=/login" { "English" } }
                }
            }
        }
    };
    (value, markup)
}

/// The form, with a fresh one-time value in the page and the cookie.
fn form_response(lang: Lang, next: &str, refused: bool) -> Response {
    let (value, markup) = form_page(lang, next, refused);
    let cookie =
        format!("{FORM_COOKIE}={value}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600");
    let status = if refused {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    (status, [(SET_COOKIE, cookie)], markup).into_response()
}

/// `GET /login`.
pub(super) async fn form(headers: HeaderMap, Query(next): Query<Next>) -> Response {
    form_response(Lang::of(&headers), local_path(next.next.as_deref()), false)
}

/// `POST /login`: a session and back to where the person was going.
pub(super) async fn submit(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Source(source): Source,
    Form(submitted): Form<Submitted>,
) -> Response {
    let lang = Lang::of(&headers);
    let next = local_path(Some(&submitted.next)).to_owned();
    let expected = cookie(&headers, FORM_COOKIE);
    if !csrf_matches(expected, Some(submitted.form.as_bytes())) {
        return form_response(lang, &next, true);
    }
    match open_session(&state, &submitted.name, &submitted.password, source).await {
        Ok(Some((_, cookie))) => ([(SET_COOKIE, cookie)], Redirect::to(&next)).into_response(),
        Ok(None) => form_response(lang, &next, true),
        Err(error) => {
            tracing::warn!(message = "Sign-in failed.", %error);
            unavailable(lang)
        }
    }
}

/// `POST /logout`.
pub(super) async fn logout(
    State(state): State<HttpState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<SignOut>,
) -> Response {
    if let Err(refused) = viewer.check(&form.csrf_token) {
        return refused;
    }
    match close_session(&state, &headers, &viewer.principal, viewer.source.clone()).await {
        Ok(cookie) => ([(SET_COOKIE, cookie)], Redirect::to("/login")).into_response(),
        Err(error) => {
            tracing::warn!(message = "Sign-out failed.", %error);
            unavailable(viewer.lang)
        }
    }
}
