//! Each office's alert thresholds: shown to everyone for their offices, changed by
//! administrators as `PUT /api/v1/offices/{name}/alert-settings` does.

use axum::extract::{Form, Path, State};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::{EN, RU, Words, refused_input};
use crate::access::Role;
use crate::alerts::{self, ManageError, OfficeAlerting, OfficeOverrides, OfficeSettings};
use crate::dashboard::alerts::{after_record, allowed, failed, not_found, record, seen_office};
use crate::dashboard::i18n::{self, Lang};
use crate::dashboard::{Viewer, encode};
use crate::http::HttpState;

/// `POST /settings/offices/{name}`: an empty field follows the server's default.
#[derive(Debug, Default, Deserialize)]
pub(super) struct OfficeForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    warning_days: String,
    #[serde(default)]
    critical_days: String,
    #[serde(default)]
    silent_after_intervals: String,
    #[serde(default)]
    gone_after_days: String,
}

/// Every office seen, with the thresholds that apply and whether they are the office's own;
/// for an administrator, a form per office.
pub(super) fn section(state: &HttpState, viewer: &Viewer, offices: &[OfficeAlerting]) -> Markup {
    let words = viewer.lang.pick(&RU, &EN);
    let texts = i18n::texts(viewer.lang);
    let defaults = state.alert_defaults.defaults;
    let admin = viewer.principal.has(Role::Admin);
    html! {
        section id="offices" {
            h2 { (words.offices) }
            p.muted {
                (defaults_text(viewer.lang, defaults))
                @if admin { " " (words.empty_is_default) }
            }
            @if offices.is_empty() {
                p.muted { (texts.nothing) }
            } @else {
                div.table { table {
                    thead { tr {
                        th { (texts.office) } th { (words.warning_days) }
                        th { (words.critical_days) } th { (words.silent_after) }
                        th { (words.gone_after) }
                        @if admin { th { (words.change) } }
                    } }
                    tbody {
                        @for office in offices { (office_row(viewer, office, admin, defaults)) }
                    }
                } }
            }
        }
    }
}

/// The server's defaults, as a sentence.
fn defaults_text(lang: Lang, d: OfficeSettings) -> String {
    let (warning, critical) = (d.warning_days, d.critical_days);
    let (silent, gone) = (d.silent_after_intervals, d.gone_after_days);
    match lang {
        Lang::Ru => format!(
            "По умолчанию на сервере: предупреждение за {warning} дн. до окончания срока, \
             критично — за {critical} дн.; агент считается молчащим после {silent} пропущенных \
             интервалов отчёта, компьютер — пропавшим через {gone} дн."
        ),
        Lang::En => format!(
            "Server defaults: a warning {warning} days before an end date, critical {critical} \
             days before; an agent is silent after {silent} missed report intervals, a host \
             gone after {gone} days."
        ),
    }
}

/// One office: each threshold that applies, marked as the office's own or the default.
fn office_row(
    viewer: &Viewer,
    office: &OfficeAlerting,
    admin: bool,
    defaults: OfficeSettings,
) -> Markup {
    let words = viewer.lang.pick(&RU, &EN);
    let own = office.overrides;
    let cells = [
        (office.warning_days, own.warning_days),
        (office.critical_days, own.critical_days),
        (
            i64::from(office.silent_after_intervals),
            own.silent_after_intervals,
        ),
        (office.gone_after_days, own.gone_after_days),
    ];
    html! {
        tr {
            td { (office.office) }
            @for (applied, own) in cells {
                td.num {
                    (applied) br;
                    span.muted { @if own.is_some() { (words.own) } @else { (words.default) } }
                }
            }
            @if admin { td { (office_form(viewer, office, defaults)) } }
        }
    }
}

/// The overrides form of one office: the office's own values, the server's defaults as
/// placeholders (what an empty field means).
fn office_form(viewer: &Viewer, office: &OfficeAlerting, defaults: OfficeSettings) -> Markup {
    let words = viewer.lang.pick(&RU, &EN);
    let own = office.overrides;
    let fields = [
        (
            "warning_days",
            words.warning_days,
            own.warning_days,
            defaults.warning_days,
        ),
        (
            "critical_days",
            words.critical_days,
            own.critical_days,
            defaults.critical_days,
        ),
        (
            "silent_after_intervals",
            words.silent_after,
            own.silent_after_intervals,
            i64::from(defaults.silent_after_intervals),
        ),
        (
            "gone_after_days",
            words.gone_after,
            own.gone_after_days,
            defaults.gone_after_days,
        ),
    ];
    html! {
        form.office.inline method="post"
            action={ "/settings/offices/" (encode(&office.office)) } {
            input type="hidden" name="csrf_token" value=(viewer.csrf());
            @for (name, label, value, default) in fields {
                input type="number" min="0" name=(name) value=[value] title=(label)
                    aria-label=(label) placeholder=(default) size="4";
            }
            button type="submit" { (words.save) }
        }
    }
}

/// `POST /settings/offices/{name}`: replace the office's overrides, as `PUT
/// /api/v1/offices/{name}/alert-settings` does.
pub(super) async fn set_office(
    State(state): State<HttpState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Form(form): Form<OfficeForm>,
) -> Response {
    if let Err(refused) = allowed(&viewer, &form.csrf_token, Role::Admin) {
        return refused;
    }
    let words = viewer.lang.pick(&RU, &EN);
    let office = match seen_office(&state, &viewer, &name).await {
        Ok(Some(id)) => id,
        Ok(None) => return not_found(viewer.lang),
        Err(error) => return failed(viewer.lang, &error),
    };
    let Some(overrides) = overrides_of(&form) else {
        return refused_input(&state, &viewer, words.bad_number.into()).await;
    };
    if let Some(why) = inconsistent(words, overrides, &state) {
        return refused_input(&state, &viewer, why.into()).await;
    }
    match alerts::set_office_overrides(&state.pool, &name, overrides, &state.alert_defaults).await {
        Ok(()) => {}
        Err(ManageError::Invalid(why)) => return refused_input(&state, &viewer, why).await,
        Err(ManageError::NotFound) => return not_found(viewer.lang),
        Err(ManageError::Db(error)) => return failed(viewer.lang, &error),
    }
    let details = serde_json::to_value(overrides).unwrap_or_default();
    let target = format!("office {name:?}");
    let action = "office.alert_settings";
    let recorded = record(&state, &viewer, action, target, Some(office), details).await;
    after_record(viewer.lang, recorded, "/settings?done=office")
}

/// The overrides of `form`; `None` when a field is neither empty nor a whole number.
fn overrides_of(form: &OfficeForm) -> Option<OfficeOverrides> {
    let field = |value: &str| -> Option<Option<u32>> {
        let value = value.trim();
        if value.is_empty() {
            Some(None)
        } else {
            value.parse().ok().map(Some)
        }
    };
    Some(OfficeOverrides {
        warning_days: field(&form.warning_days)?,
        critical_days: field(&form.critical_days)?,
        silent_after_intervals: field(&form.silent_after_intervals)?,
        gone_after_days: field(&form.gone_after_days)?,
    })
}

/// Why `overrides` would be refused by [`alerts::set_office_overrides`], in the page's
/// language (that check stays the one that counts; this one only words it for people).
fn inconsistent(
    words: &'static Words,
    overrides: OfficeOverrides,
    state: &HttpState,
) -> Option<&'static str> {
    let defaults = state.alert_defaults.defaults;
    let warning = overrides
        .warning_days
        .map_or(defaults.warning_days, i64::from);
    let critical = overrides
        .critical_days
        .map_or(defaults.critical_days, i64::from);
    let at_least_one = [
        overrides.warning_days,
        overrides.silent_after_intervals,
        overrides.gone_after_days,
    ];
    if at_least_one.contains(&Some(0)) {
        Some(words.zero)
    } else if critical > warning {
        Some(words.critical_wider)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(warning: &str, critical: &str) -> OfficeForm {
        OfficeForm {
            warning_days: warning.into(),
            critical_days: critical.into(),
            ..OfficeForm::default()
        }
    }

    #[test]
    fn empty_fields_follow_the_default_and_others_must_be_numbers() {
        let overrides = overrides_of(&form(" 45 ", "")).unwrap();
        assert_eq!(overrides.warning_days, Some(45));
        assert_eq!(overrides.critical_days, None);
        assert_eq!(overrides_of(&form("-1", "")), None);
        assert_eq!(overrides_of(&form("ten", "")), None);
        assert_eq!(
            overrides_of(&form("", "")),
            Some(OfficeOverrides::default())
        );
    }
}
