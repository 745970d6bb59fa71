//! `GET /api/v1/openapi.json`: the API described as OpenAPI 3.1. The inventory lists are
//! described from their specs (so a new filter is documented as it is added); the other
//! endpoints from the table below, which a test holds against the router's routes.

use axum::Json;
use serde_json::{Value, json};

use crate::query::engine::{DEFAULT_LIMIT, ListSpec, MAX_LIMIT, Value as FilterValue};
use crate::query::lists;

/// Method, path, the role it needs, what it does.
const ENDPOINTS: &[(&str, &str, &str, &str)] = &[
    (
        "post",
        "/api/v1/session",
        "anyone",
        "Sign in with {\"name\", \"password\"}: sets the session cookie; answers the account and its CSRF token.",
    ),
    (
        "get",
        "/api/v1/session",
        "signed in",
        "The signed-in account and its CSRF token.",
    ),
    ("delete", "/api/v1/session", "signed in", "Sign out."),
    ("get", "/api/v1/users", "admin of every office", "Accounts."),
    (
        "post",
        "/api/v1/users",
        "admin of every office",
        "Create an account: {\"name\", \"password\", \"role\", \"offices\"?}.",
    ),
    (
        "post",
        "/api/v1/users/{name}/disable",
        "admin of every office",
        "Disable an account; its sessions and tokens stop.",
    ),
    (
        "put",
        "/api/v1/users/{name}/password",
        "the account, or admin of every office",
        "Set a password: {\"password\"}; the account's sessions end.",
    ),
    (
        "get",
        "/api/v1/api-tokens",
        "signed in",
        "API tokens (own; all for an admin of every office), never the secrets.",
    ),
    (
        "post",
        "/api/v1/api-tokens",
        "signed in",
        "Create an API token for oneself: {\"name\", \"expires_at\"?}; the token is shown once.",
    ),
    (
        "delete",
        "/api/v1/api-tokens/{id}",
        "the token's account, or admin of every office",
        "Revoke an API token.",
    ),
    (
        "get",
        "/api/v1/audit",
        "admin",
        "The audit log of the caller's offices, newest first: ?before=&limit= (at most 500).",
    ),
    (
        "get",
        "/api/v1/alerts",
        "viewer",
        "Alerts of the caller's offices, newest first: ?state=&office=&severity=.",
    ),
    (
        "get",
        "/api/v1/alerts/{id}",
        "viewer",
        "One alert with its hosts (the caller's) and history.",
    ),
    (
        "post",
        "/api/v1/alerts/{id}/ack",
        "operator",
        "Acknowledge a firing alert: {\"comment\", \"by\"?}.",
    ),
    (
        "get",
        "/api/v1/silences",
        "viewer",
        "Silences not ended, of the caller's offices.",
    ),
    (
        "post",
        "/api/v1/silences",
        "operator",
        "Silence: {\"office\"?, \"code\"?, \"certificate\"?, \"host\"?, \"until\", \"comment\"}.",
    ),
    (
        "delete",
        "/api/v1/silences/{id}",
        "operator",
        "End a silence now.",
    ),
    (
        "get",
        "/api/v1/offices",
        "viewer",
        "Offices with the alert thresholds that apply there.",
    ),
    (
        "put",
        "/api/v1/offices/{name}/alert-settings",
        "admin",
        "Set an office's own alert thresholds.",
    ),
    (
        "get",
        "/api/v1/maintenance",
        "viewer",
        "Maintenance windows not ended.",
    ),
    (
        "post",
        "/api/v1/maintenance",
        "operator",
        "Open a maintenance window: {\"office\", \"from\"?, \"until\", \"comment\"?}.",
    ),
    (
        "delete",
        "/api/v1/maintenance/{id}",
        "operator",
        "End a maintenance window.",
    ),
    (
        "get",
        "/api/v1/channels",
        "admin of every office",
        "Notification channels and their delivery state.",
    ),
    (
        "post",
        "/api/v1/channels/{name}/test",
        "admin of every office",
        "Send a test notification.",
    ),
    (
        "get",
        "/api/v1/hosts/{id}",
        "viewer",
        "One host with everything its agent last reported, findings with their remediation.",
    ),
    (
        "get",
        "/api/v1/summary",
        "viewer",
        "Per office: hosts, silent hosts, tokens, containers, certificates expiring in 7/30/90 days, findings, firing alerts.",
    ),
    ("get", "/api/v1/openapi.json", "anyone", "This document."),
];

/// The document.
pub(super) fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for spec in lists::ALL {
        paths.insert(
            format!("/api/v1/{}", spec.name),
            json!({ "get": list_operation(spec) }),
        );
    }
    for (method, path, role, about) in ENDPOINTS {
        let entry = paths.entry((*path).to_owned()).or_insert_with(|| json!({}));
        let parameters: Vec<Value> = path
            .split('/')
            .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        entry[*method] = json!({
            "summary": about,
            "description": format!("Needs: {role}."),
            "parameters": parameters,
            "responses": responses(),
        });
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "tokenwatch",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The e-signature inventory of every office: certificates, tokens, \
                key containers, readers, hosts, findings and alerts. Every call but sign-in \
                needs a session (cookie tw_session, and X-CSRF-Token with every change) or an \
                API token (Authorization: Bearer twk_…); what it sees is limited to the \
                account's offices.",
        },
        "components": {
            "securitySchemes": {
                "session": { "type": "apiKey", "in": "cookie", "name": "tw_session" },
                "token": { "type": "http", "scheme": "bearer" },
            },
            "schemas": {
                "Error": { "type": "object", "properties": { "error": { "type": "string" } } },
                "Page": {
                    "type": "object",
                    "properties": {
                        "items": { "type": "array", "items": { "type": "object" } },
                        "next": { "type": ["string", "null"], "description": "after= of the next page" },
                    },
                },
            },
        },
        "security": [{ "session": [] }, { "token": [] }],
        "paths": paths,
    })
}

/// The answers every endpoint may give besides its own.
fn responses() -> Value {
    let error = json!({ "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    let mut answers = json!({ "200": { "description": "done" } });
    for (status, about) in [
        ("400", "a bad parameter"),
        ("401", "not signed in"),
        (
            "403",
            "the role does not allow it, or the CSRF token is missing",
        ),
        ("404", "none such among the caller's offices"),
        ("422", "a request that cannot be carried out"),
    ] {
        let mut answer = error.clone();
        answer["description"] = json!(about);
        answers[status] = answer;
    }
    answers
}

fn list_operation(spec: &ListSpec) -> Value {
    let mut parameters: Vec<Value> = spec
        .filters
        .iter()
        .map(|filter| {
            let schema = match filter.value {
                FilterValue::Text | FilterValue::Contains => {
                    json!({ "type": "string", "maxLength": 200 })
                }
                FilterValue::Bool => json!({ "type": "boolean" }),
                FilterValue::Count => json!({ "type": "integer", "minimum": 0, "maximum": 36500 }),
            };
            let about = if filter.value == FilterValue::Contains {
                format!("{} (case-insensitive substring)", filter.about)
            } else {
                filter.about.to_owned()
            };
            json!({ "name": filter.name, "in": "query", "description": about, "schema": schema })
        })
        .collect();
    let sorts: Vec<&str> = spec.sorts.iter().map(|s| s.name).collect();
    parameters.extend([
        json!({ "name": "sort", "in": "query", "schema": { "type": "string", "enum": sorts, "default": sorts[0] } }),
        json!({ "name": "order", "in": "query", "schema": { "type": "string", "enum": ["asc", "desc"], "default": "asc" } }),
        json!({ "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT } }),
        json!({ "name": "after", "in": "query", "description": "the previous page's next", "schema": { "type": "string" } }),
        json!({ "name": "format", "in": "query", "description": "csv: the whole list from after on as CSV (also Accept: text/csv)", "schema": { "type": "string", "enum": ["json", "csv"] } }),
        json!({ "name": "sep", "in": "query", "description": "the CSV separator; semicolon for Excel with a comma as decimal mark", "schema": { "type": "string", "enum": ["comma", "semicolon"] } }),
    ]);
    let mut answers = responses();
    answers["200"] = json!({
        "description": "a page, or the CSV export (UTF-8 with a byte-order mark)",
        "content": {
            "application/json": { "schema": { "$ref": "#/components/schemas/Page" } },
            "text/csv": { "schema": { "type": "string" } },
        },
    });
    json!({ "summary": spec.about, "description": "Needs: viewer.", "parameters": parameters, "responses": answers })
}

pub(super) async fn serve() -> Json<Value> {
    Json(document())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every path routed in the HTTP module's sources, from their text.
    fn routed() -> Vec<String> {
        let sources = [
            include_str!("api.rs"),
            include_str!("accounts.rs"),
            include_str!("inventory.rs"),
            include_str!("../http.rs"),
        ];
        let mut paths: Vec<String> = sources
            .iter()
            .flat_map(|text| text.split("\"/api/v1/").skip(1))
            .filter_map(|rest| rest.split('"').next())
            .filter(|path| !path.is_empty())
            .map(|path| format!("/api/v1/{path}"))
            .collect();
        paths.sort();
        paths.dedup();
        paths
    }

    #[test]
    fn every_route_and_filter_is_documented() {
        let document = document();
        let documented = document["paths"].as_object().expect("paths");
        let routed = routed();
        assert!(routed.len() > 20, "{routed:?}");
        for path in routed {
            // The lists' paths are made from their specs, checked below.
            if path == "/api/v1/{}" {
                continue;
            }
            assert!(documented.contains_key(&path), "{path} is not documented");
        }
        for spec in lists::ALL {
            let operation = &documented[&format!("/api/v1/{}", spec.name)]["get"];
            let names: Vec<&str> = operation["parameters"]
                .as_array()
                .expect("parameters")
                .iter()
                .map(|p| p["name"].as_str().expect("name"))
                .collect();
            for filter in spec.filters {
                assert!(
                    names.contains(&filter.name),
                    "{}: {}",
                    spec.name,
                    filter.name
                );
            }
        }
        assert_eq!(document["openapi"], "3.1.0");
        assert_eq!(
            documented["/api/v1/users/{name}/disable"]["post"]["parameters"][0]["name"],
            "name"
        );
    }
}
