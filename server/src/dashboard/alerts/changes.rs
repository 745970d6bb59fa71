//! What operators change from the alert pages: an acknowledgement, a silence.

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Duration, Utc};
use serde::Deserialize;

use super::{
    DURATIONS, EN, Notice, RU, after_record, allowed, answer, detail, failed, list, not_found,
    office_of, record, seen_office, visible,
};
use crate::access::Role;
use crate::alerts::{self, AlertDetail, AlertFilter, ManageError, NewSilence};
use crate::dashboard::Viewer;
use crate::http::HttpState;

/// `POST /alerts/{id}/ack`. Missing fields read as empty, so that a form without a comment
/// gets the page with a message rather than a bare rejection.
#[derive(Debug, Default, Deserialize)]
pub(super) struct AckForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    comment: String,
}

/// `POST /alerts/silence`; also the silence form's values when it is shown.
#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct SilenceForm {
    #[serde(default)]
    pub(super) csrf_token: String,
    #[serde(default)]
    pub(super) office: String,
    #[serde(default)]
    pub(super) code: String,
    #[serde(default)]
    pub(super) host: String,
    #[serde(default)]
    pub(super) certificate: String,
    /// Days, one of [`DURATIONS`].
    #[serde(default)]
    pub(super) until: String,
    #[serde(default)]
    pub(super) comment: String,
    /// The alert whose page the form was on, to show it again when the input is refused.
    #[serde(default)]
    pub(super) alert: String,
}

/// `POST /alerts/{id}/ack`: acknowledge, as `POST /api/v1/alerts/{id}/ack` does, then back to
/// the list.
pub(super) async fn ack(
    State(state): State<HttpState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<AckForm>,
) -> Response {
    if let Err(refused) = allowed(&viewer, &form.csrf_token, Role::Operator) {
        return refused;
    }
    let words = viewer.lang.pick(&RU, &EN);
    let alert = match visible(&state, &viewer, &id).await {
        Ok(Some(alert)) => alert,
        Ok(None) => return not_found(viewer.lang),
        Err(error) => return failed(viewer.lang, &error),
    };
    let comment = form.comment.trim();
    if comment.is_empty() {
        return detail_again(&state, &viewer, &alert, words.need_comment.into(), None).await;
    }
    let id = alert.alert.id;
    let by = viewer.principal.name.as_str();
    match alerts::acknowledge(&state.pool, id, by, comment, Utc::now()).await {
        Ok(()) => {}
        // Resolved since the page was shown.
        Err(ManageError::NotFound) => {
            return detail_again(&state, &viewer, &alert, words.not_firing.into(), None).await;
        }
        Err(ManageError::Invalid(why)) => {
            return detail_again(&state, &viewer, &alert, why, None).await;
        }
        Err(ManageError::Db(error)) => return failed(viewer.lang, &error),
    }
    let details = serde_json::json!({ "by": by, "comment": comment, "key": alert.alert.key });
    let recorded = async {
        let office = match alert.alert.office.as_deref() {
            Some(name) => Some(office_of(&state, name).await?),
            None => None,
        };
        let target = format!("alert {id}");
        record(
            &state,
            &viewer,
            "alert.acknowledge",
            target,
            office,
            details,
        )
        .await
    };
    after_record(viewer.lang, recorded.await, "/alerts?done=ack")
}

/// `POST /alerts/silence`: create a silence, as `POST /api/v1/silences` does, then back to the
/// list.
pub(super) async fn silence(
    State(state): State<HttpState>,
    viewer: Viewer,
    Form(form): Form<SilenceForm>,
) -> Response {
    if let Err(refused) = allowed(&viewer, &form.csrf_token, Role::Operator) {
        return refused;
    }
    let (silence, office) = match checked_silence(&state, &viewer, &form).await {
        Ok(Ok(checked)) => checked,
        Ok(Err(why)) => return silence_again(&state, &viewer, &form, why.into()).await,
        Err(error) => return failed(viewer.lang, &error),
    };
    let id = match alerts::add_silence(&state.pool, &silence, Utc::now()).await {
        Ok(id) => id,
        Err(ManageError::Invalid(why)) => return silence_again(&state, &viewer, &form, why).await,
        Err(ManageError::NotFound) => return not_found(viewer.lang),
        Err(ManageError::Db(error)) => return failed(viewer.lang, &error),
    };
    let details = serde_json::json!({
        "office": silence.office, "code": silence.code, "certificate": silence.certificate,
        "host": silence.host, "until": silence.until, "comment": silence.comment,
    });
    let target = format!("silence {id}");
    let recorded = record(&state, &viewer, "silence.create", target, office, details).await;
    after_record(viewer.lang, recorded, "/alerts?done=silence")
}

/// The silence `form` asks for, with its office's id; or why it is refused. As the API: an
/// office must be one the account sees, and an account of some offices must name one, so that
/// it silences nothing of another office.
async fn checked_silence(
    state: &HttpState,
    viewer: &Viewer,
    form: &SilenceForm,
) -> Result<Result<(NewSilence, Option<i64>), &'static str>, sqlx::Error> {
    let words = viewer.lang.pick(&RU, &EN);
    let given = |value: &str| (!value.trim().is_empty()).then(|| value.trim().to_owned());
    let office = given(&form.office);
    let office_id = match (&office, viewer.principal.offices.restriction()) {
        (Some(name), _) => match seen_office(state, viewer, name).await? {
            Some(id) => Some(id),
            None => return Ok(Err(words.bad_office)),
        },
        (None, None) => None,
        (None, Some(_)) => return Ok(Err(words.need_office)),
    };
    let Some(days) = DURATIONS
        .iter()
        .find(|(value, _)| *value == form.until)
        .map(|d| d.1)
    else {
        return Ok(Err(words.bad_until));
    };
    let Some(comment) = given(&form.comment) else {
        return Ok(Err(words.need_comment));
    };
    let silence = NewSilence {
        office,
        code: given(&form.code),
        certificate: given(&form.certificate),
        host: given(&form.host),
        until: Utc::now() + Duration::days(days),
        comment,
        created_by: viewer.principal.name.clone(),
    };
    if [
        &silence.office,
        &silence.code,
        &silence.certificate,
        &silence.host,
    ]
    .iter()
    .all(|m| m.is_none())
    {
        return Ok(Err(words.need_matcher));
    }
    Ok(Ok((silence, office_id)))
}

/// The alert's page again with `why` (422): nothing was changed. `draft` keeps what was typed
/// into the silence form.
async fn detail_again(
    state: &HttpState,
    viewer: &Viewer,
    alert: &AlertDetail,
    why: String,
    draft: Option<&SilenceForm>,
) -> Response {
    let prefilled = SilenceForm::prefilled(alert);
    let draft = draft.unwrap_or(&prefilled);
    let page = detail::body(state, viewer, alert, Some(Notice::Error(why)), draft).await;
    answer(viewer.lang, StatusCode::UNPROCESSABLE_ENTITY, page)
}

/// A refused silence: the page of the alert the form was on, else the list, with `why` (422).
async fn silence_again(
    state: &HttpState,
    viewer: &Viewer,
    form: &SilenceForm,
    why: String,
) -> Response {
    match visible(state, viewer, &form.alert).await {
        Ok(Some(alert)) => {
            let draft = SilenceForm {
                csrf_token: String::new(),
                ..form.clone()
            };
            detail_again(state, viewer, &alert, why, Some(&draft)).await
        }
        Ok(None) => {
            let page = list::body(
                state,
                viewer,
                &AlertFilter::default(),
                Some(Notice::Error(why)),
            )
            .await;
            answer(viewer.lang, StatusCode::UNPROCESSABLE_ENTITY, page)
        }
        Err(error) => failed(viewer.lang, &error),
    }
}

// === impl SilenceForm ===

impl SilenceForm {
    /// The form for silencing alerts like `detail`: its office, its rule, and for a
    /// certificate's alert the certificate (the key is `certificate:<sha256>`), for 7 days.
    pub(super) fn prefilled(detail: &AlertDetail) -> Self {
        let alert = &detail.alert;
        Self {
            office: alert.office.clone().unwrap_or_default(),
            code: alert.rule.clone(),
            certificate: alert
                .key
                .strip_prefix("certificate:")
                .unwrap_or_default()
                .to_owned(),
            until: "7".into(),
            alert: alert.id.to_string(),
            ..Self::default()
        }
    }
}
