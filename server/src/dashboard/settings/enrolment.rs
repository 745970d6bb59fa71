//! The enrolment secrets of the administrator's offices: listed, created (and shown this
//! once), revoked, as `tokenwatch-server secret …` does.

use std::collections::HashSet;

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::http::header::CACHE_CONTROL;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use super::{Button, EN, Notice, RU, Words, refused_input, shown};
use crate::access::Role;
use crate::dashboard::alerts::{allowed, failed, not_found, record, seen_office, stamp};
use crate::dashboard::i18n;
use crate::dashboard::{Viewer, office_names};
use crate::http::HttpState;
use crate::registry::{self, SecretRow};

/// How long a new secret lasts: the form's value, days.
const EXPIRIES: [(&str, i64); 3] = [("1", 1), ("7", 7), ("30", 30)];

/// The longest office name taken from the form.
const MAX_OFFICE_NAME: usize = 200;

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

/// The enrolment secrets of the offices seen, and the form for a new one.
pub(super) fn section(viewer: &Viewer, secrets: &[SecretRow], offices: &[String]) -> Markup {
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

/// The enrolment secrets of the offices `viewer` sees, oldest first.
pub(super) async fn secrets_seen(
    state: &HttpState,
    viewer: &Viewer,
) -> Result<Vec<SecretRow>, sqlx::Error> {
    let seen: HashSet<String> = office_names(state, viewer).await?.into_iter().collect();
    let all = registry::list_secrets(&state.pool).await?;
    Ok(all
        .into_iter()
        .filter(|s| seen.contains(&s.office))
        .collect())
}

/// `POST /settings/secrets`: create an enrolment secret and show it, this once, on the page
/// itself: a redirect would have to carry the secret in an address or keep it somewhere.
pub(super) async fn create_secret(
    State(state): State<HttpState>,
    viewer: Viewer,
    Form(form): Form<SecretForm>,
) -> Response {
    if let Err(refused) = allowed(&viewer, &form.csrf_token, Role::Admin) {
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
pub(super) async fn revoke_secret(
    State(state): State<HttpState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<Button>,
) -> Response {
    if let Err(refused) = allowed(&viewer, &form.csrf_token, Role::Admin) {
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
