//! From wire values to stored ones: enumeration names, times, normalised keys and JSON.

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use serde_json::{Value, json};
use tokenwatch_proto::v1;

/// The README's lower-case name of an enumeration value (`TOKEN_FAMILY_RUTOKEN` → `rutoken`);
/// `None` for the unspecified value or one this server does not know.
fn short(full: &str, prefix: &str) -> Option<String> {
    let name = full.strip_prefix(prefix)?;
    (name != "UNSPECIFIED").then(|| name.to_ascii_lowercase())
}

pub(crate) fn family(value: i32) -> Option<String> {
    v1::TokenFamily::try_from(value)
        .ok()
        .and_then(|v| short(v.as_str_name(), "TOKEN_FAMILY_"))
}

pub(crate) fn media(value: i32) -> Option<String> {
    v1::Media::try_from(value)
        .ok()
        .and_then(|v| short(v.as_str_name(), "MEDIA_"))
}

pub(crate) fn source_kind(value: i32) -> Option<String> {
    v1::SourceKind::try_from(value)
        .ok()
        .and_then(|v| short(v.as_str_name(), "SOURCE_KIND_"))
}

pub(crate) fn severity(value: i32) -> Option<String> {
    v1::Severity::try_from(value)
        .ok()
        .and_then(|v| short(v.as_str_name(), "SEVERITY_"))
}

pub(crate) fn outcome(value: i32) -> Option<String> {
    v1::CollectorOutcome::try_from(value)
        .ok()
        .and_then(|v| short(v.as_str_name(), "COLLECTOR_OUTCOME_"))
}

fn start_type(value: i32) -> Option<String> {
    v1::StartType::try_from(value)
        .ok()
        .and_then(|v| short(v.as_str_name(), "START_TYPE_"))
}

fn service_state(value: i32) -> Option<String> {
    v1::ServiceState::try_from(value)
        .ok()
        .and_then(|v| short(v.as_str_name(), "SERVICE_STATE_"))
}

/// A validated timestamp as a time (validation has refused the implausible ones).
pub(crate) fn time(value: Option<&Timestamp>) -> Option<DateTime<Utc>> {
    let ts = value?;
    DateTime::from_timestamp(ts.seconds, u32::try_from(ts.nanos).ok()?)
}

/// A `u64` validation has checked to fit.
pub(crate) fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The key a token keeps across hosts: trimmed model and serial; `None` without a serial.
pub(crate) fn token_key(token: &v1::Token) -> Option<(String, String)> {
    let serial = token.serial.trim();
    (!serial.is_empty()).then(|| (token.model.trim().to_owned(), serial.to_owned()))
}

/// A list of strings as JSON text, to pass ragged lists through one array parameter.
pub(crate) fn json_list(values: &[String]) -> String {
    Value::from(values.to_vec()).to_string()
}

/// The host's components as the README's JSON object.
pub(crate) fn components(c: Option<&v1::Components>) -> String {
    let Some(c) = c else {
        return "{}".into();
    };
    let cryptopro = c.cryptopro.as_ref().map(|csp| {
        json!({
            "installed": csp.installed,
            "version": csp.version,
            "build": csp.build,
            "control_key_time_validity": csp.control_key_time_validity,
            "license": csp.license.as_ref().map(|l| json!({
                "serial_prefix": l.serial_prefix,
                "for_version": l.for_version,
                "kind": l.kind,
                "expires": time(l.expires.as_ref()).map(|t| t.to_rfc3339()),
                "permanent": l.permanent,
                "demo": l.demo,
                "error": l.error,
            })),
        })
    });
    json!({
        "cryptopro": cryptopro,
        "smart_card_service": service_state(c.smart_card_service),
        "smart_card_service_start": start_type(c.smart_card_service_start),
        "remote_sessions": c.remote_sessions,
        "ccid_driver": c.ccid_driver,
        "middleware": c.middleware.iter().map(|m| json!({
            "family": family(m.family), "name": m.name, "path": m.path, "version": m.version,
        })).collect::<Vec<_>>(),
        "pkcs11_modules": c.pkcs11_modules.iter().map(|m| json!({
            "path": m.path, "family": family(m.family),
        })).collect::<Vec<_>>(),
        "usb_tokens": c.usb_tokens.iter().map(|u| json!({
            "bus_path": u.bus_path,
            "usb_id": u.usb_id,
            "model": u.model,
            "family": family(u.family),
            "manufacturer": u.manufacturer,
            "product": u.product,
            "serial": u.serial,
            "visible_to_pcsc": u.visible_to_pcsc,
            "driver": u.driver,
            "generic_driver": u.generic_driver,
            "problem_code": u.problem_code,
        })).collect::<Vec<_>>(),
    })
    .to_string()
}

/// The CSP licence's end and whether it is a demo licence.
pub(crate) fn csp_license(c: Option<&v1::Components>) -> (Option<DateTime<Utc>>, bool) {
    let license = c
        .and_then(|c| c.cryptopro.as_ref())
        .and_then(|csp| csp.license.as_ref());
    match license {
        Some(l) => (time(l.expires.as_ref()), l.demo),
        None => (None, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enumerations_take_the_readmes_names() {
        assert_eq!(
            family(v1::TokenFamily::Rutoken.into()).as_deref(),
            Some("rutoken")
        );
        assert_eq!(family(v1::TokenFamily::Unspecified.into()), None);
        assert_eq!(family(99), None);
        assert_eq!(media(v1::Media::Hdimage.into()).as_deref(), Some("hdimage"));
        assert_eq!(
            source_kind(v1::SourceKind::CryptoproStore.into()).as_deref(),
            Some("cryptopro_store")
        );
        assert_eq!(
            outcome(v1::CollectorOutcome::Partial.into()).as_deref(),
            Some("partial")
        );
        assert_eq!(
            severity(v1::Severity::Critical.into()).as_deref(),
            Some("critical")
        );
    }

    #[test]
    fn a_token_is_keyed_by_trimmed_model_and_serial() {
        let token = v1::Token {
            model: " Rutoken ECP ".into(),
            serial: "3a6b0f21    ".into(),
            ..Default::default()
        };
        assert_eq!(
            token_key(&token),
            Some(("Rutoken ECP".to_owned(), "3a6b0f21".to_owned()))
        );
        let blank = v1::Token {
            serial: "   ".into(),
            ..token
        };
        assert_eq!(token_key(&blank), None);
    }
}
