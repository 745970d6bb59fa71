//! The notification channels: their state, and a test notification, for an administrator
//! of every office, as `POST /api/v1/channels/{name}/test` does.

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use maud::{Markup, html};

use super::{Button, EN, Notice, RU, shown};
use crate::access::Role;
use crate::dashboard::alerts::{allowed, failed, not_found, record, stamp};
use crate::dashboard::{Viewer, encode, i18n, refused};
use crate::http::HttpState;
use crate::notify::{self, ChannelStatus};

/// The channels' state, each with a test button.
pub(super) fn section(viewer: &Viewer, channels: &[ChannelStatus]) -> Markup {
    let words = viewer.lang.pick(&RU, &EN);
    let when = |at: Option<DateTime<Utc>>| at.map_or_else(|| "—".to_owned(), stamp);
    html! {
        section id="channels" {
            h2 { (words.channels) }
            @if channels.is_empty() {
                p.muted { (words.no_channels) }
            } @else {
                div.table { table {
                    thead { tr {
                        th { (words.channel) } th { (words.last_success) }
                        th { (words.last_failure) } th { (words.last_error) }
                        th { (words.failures) } th { (words.pending) } th { (words.abandoned) }
                        th {}
                    } }
                    tbody {
                        @for channel in channels {
                            tr {
                                td { (channel.name) }
                                td { (when(channel.last_success_at)) }
                                td { (when(channel.last_failure_at)) }
                                td { (channel.last_error.as_deref().unwrap_or("—")) }
                                td.num class=[(channel.consecutive_failures > 0).then_some("critical")] {
                                    (channel.consecutive_failures)
                                }
                                td.num { (channel.pending) }
                                td.num { (channel.abandoned) }
                                td { (test_form(viewer, &channel.name)) }
                            }
                        }
                    }
                } }
            }
        }
    }
}

fn test_form(viewer: &Viewer, name: &str) -> Markup {
    let words = viewer.lang.pick(&RU, &EN);
    html! {
        form.test.inline method="post"
            action={ "/settings/channels/" (encode(name)) "/test" } {
            input type="hidden" name="csrf_token" value=(viewer.csrf());
            button type="submit" { (words.test) }
        }
    }
}

/// `POST /settings/channels/{name}/test`: send a test notification and show how it went. For
/// an administrator of every office, as the channels themselves.
pub(super) async fn test_channel(
    State(state): State<HttpState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Form(form): Form<Button>,
) -> Response {
    if let Err(refused) = allowed(&viewer, &form.csrf_token, Role::Admin) {
        return refused;
    }
    if !viewer.principal.is_global_admin() {
        return refused(viewer.lang, i18n::texts(viewer.lang).not_allowed);
    }
    let words = viewer.lang.pick(&RU, &EN);
    let Some(channel) = state.channels.get(&name) else {
        return not_found(viewer.lang);
    };
    let sent = match notify::send_test(&state.pool, channel, Utc::now()).await {
        Ok(sent) => sent,
        Err(error) => return failed(viewer.lang, &error),
    };
    let details = match &sent {
        Ok(()) => serde_json::json!({ "sent": true }),
        Err(error) => serde_json::json!({ "sent": false, "error": error.to_string() }),
    };
    let target = format!("channel {name}");
    if let Err(error) = record(&state, &viewer, "channel.test", target, None, details).await {
        return failed(viewer.lang, &error);
    }
    let (status, notice) = match sent {
        Ok(()) => (
            StatusCode::OK,
            Notice::Done(format!("{} «{name}».", words.test_sent)),
        ),
        Err(error) => (
            StatusCode::BAD_GATEWAY,
            Notice::Error(format!("{} «{name}»: {error}", words.test_failed)),
        ),
    };
    shown(&state, &viewer, status, Some(notice)).await
}
