//! One alert: what, where, what to do, what happened, and for an operator the forms to
//! acknowledge it and to silence alerts like it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::changes::SilenceForm;
use super::{DURATIONS, EN, Notice, RU, answer, failed, not_found, notice_markup, stamp, visible};
use crate::access::Role;
use crate::alerts::AlertDetail;
use crate::dashboard::i18n::{self, Lang};
use crate::dashboard::layout::{self, Section};
use crate::dashboard::{Viewer, office_names};
use crate::http::HttpState;

/// `GET /alerts/{id}`: a 404 page for an alert the account does not see.
pub(super) async fn page(
    State(state): State<HttpState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    let alert = match visible(&state, &viewer, &id).await {
        Ok(Some(alert)) => alert,
        Ok(None) => return not_found(viewer.lang),
        Err(error) => return failed(viewer.lang, &error),
    };
    let draft = SilenceForm::prefilled(&alert);
    let page = body(&state, &viewer, &alert, None, &draft).await;
    answer(viewer.lang, StatusCode::OK, page)
}

/// The page of one alert: what, where, what to do, what happened; for an operator the
/// acknowledgement and silence forms.
pub(super) async fn body(
    state: &HttpState,
    viewer: &Viewer,
    detail: &AlertDetail,
    notice: Option<Notice>,
    draft: &SilenceForm,
) -> Result<Markup, sqlx::Error> {
    let words = viewer.lang.pick(&RU, &EN);
    let alert = &detail.alert;
    let can_act = viewer.principal.has(Role::Operator);
    let offices = if can_act {
        office_names(state, viewer).await?
    } else {
        Vec::new()
    };
    let content = html! {
        (notice_markup(notice))
        (facts(viewer.lang, detail))
        p { (alert.summary) }
        h2 { (words.remediation) }
        pre.remediation { (detail.remediation) }
        h2 { (words.hosts) " (" (detail.host_list.len()) ")" }
        @if detail.host_list.is_empty() {
            p.muted { (words.no_hosts) }
        } @else {
            ul.hosts {
                @for host in &detail.host_list {
                    li { a href={ "/hosts/" (host.agent_id) } { (host.hostname) } }
                }
            }
        }
        h2 { (words.history) }
        (history(viewer.lang, detail))
        @if can_act && alert.state == "firing" {
            h2 { (words.ack_heading) }
            (ack_form(viewer, alert.id))
        }
        @if can_act {
            h2 { (words.silence_heading) }
            p.muted { (words.silence_note) }
            (silence_form(viewer, &offices, draft))
        }
    };
    Ok(layout::page(
        viewer,
        Section::Alerts,
        &alert.subject,
        content,
    ))
}

/// The alert's facts as a definition list.
fn facts(lang: Lang, detail: &AlertDetail) -> Markup {
    let words = lang.pick(&RU, &EN);
    let alert = &detail.alert;
    html! {
        dl.facts {
            dt { (words.severity) } dd { (layout::severity(&alert.severity)) }
            dt { (words.state) } dd {
                @if alert.state == "firing" { (words.firing) } @else { (words.resolved) }
                @if let Some(at) = alert.resolved_at { " " span.muted { (stamp(at)) } }
            }
            dt { (i18n::texts(lang).office) } dd { (alert.office.as_deref().unwrap_or("—")) }
            dt { (words.rule) } dd { code { (alert.rule) } }
            dt { (words.key) } dd { code { (alert.key) } }
            dt { (words.started) } dd { (stamp(alert.started_at)) }
            dt { (words.acknowledged) } dd {
                @if let Some(at) = alert.acknowledged_at {
                    (detail.acknowledged_by.as_deref().unwrap_or("—")) ", " (stamp(at))
                    @if let Some(comment) = &detail.acknowledged_comment { ": " (comment) }
                } @else { "—" }
            }
        }
    }
}

/// The alert's events, oldest first.
fn history(lang: Lang, detail: &AlertDetail) -> Markup {
    let words = lang.pick(&RU, &EN);
    html! {
        div.table { table.history {
            thead { tr {
                th { (words.when) } th { (words.event) } th { (words.severity) }
                th { (words.who) } th { (words.detail) }
            } }
            tbody {
                @for event in &detail.history {
                    tr {
                        td { (stamp(event.at)) }
                        td { (event.kind) }
                        td { @if let Some(severity) = &event.severity { (layout::severity(severity)) } }
                        td { (event.actor.as_deref().unwrap_or("—")) }
                        td { (event.detail) }
                    }
                }
            }
        } }
    }
}

/// The acknowledgement form of alert `id`: a comment is required, as the API requires one.
pub(super) fn ack_form(viewer: &Viewer, id: i64) -> Markup {
    let words = viewer.lang.pick(&RU, &EN);
    html! {
        form.ack.inline method="post" action={ "/alerts/" (id) "/ack" } {
            input type="hidden" name="csrf_token" value=(viewer.csrf());
            input name="comment" required placeholder=(words.comment_hint)
                aria-label=(words.comment);
            button type="submit" { (words.acknowledge) }
        }
    }
}

/// The silence form with `draft`'s values. An account of some offices must name one of them,
/// so it gets no "all offices" choice.
fn silence_form(viewer: &Viewer, offices: &[String], draft: &SilenceForm) -> Markup {
    let words = viewer.lang.pick(&RU, &EN);
    let texts = i18n::texts(viewer.lang);
    let scoped = viewer.principal.offices.restriction().is_some();
    let durations = [words.day_1, words.days_7, words.days_30];
    html! {
        form.stack.silence method="post" action="/alerts/silence" {
            input type="hidden" name="csrf_token" value=(viewer.csrf());
            input type="hidden" name="alert" value=(draft.alert);
            label { (texts.office) select name="office" required[scoped] {
                @if !scoped {
                    option value="" selected[draft.office.is_empty()] { (texts.all_offices) }
                }
                @for name in offices {
                    option value=(name) selected[*name == draft.office] { (name) }
                }
            } }
            label { (words.code) input name="code" value=(draft.code); }
            label { (words.host) input name="host" value=(draft.host); }
            label { (words.certificate) input name="certificate" value=(draft.certificate); }
            label { (words.until) select name="until" {
                @for ((value, _), label) in DURATIONS.iter().zip(durations) {
                    option value=(value) selected[*value == draft.until] { (label) }
                }
            } }
            label { (words.comment) input name="comment" required value=(draft.comment); }
            button type="submit" { (words.silence) }
        }
    }
}
