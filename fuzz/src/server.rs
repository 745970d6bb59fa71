//! The server's side: a report off the wire, and the CSV and HTML that agents' strings reach.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokenwatch_inventory::sample;
use tokenwatch_server::fuzzing::{self, Column};
use tokenwatch_server::query::lists::CERTIFICATES;

use crate::markup;

/// Longest refusal reason: it goes back to the agent in a gRPC status and into the logs.
const MAX_REASON: usize = 1024;
/// What splits the input into strings for the CSV and HTML targets (ASCII unit separator).
const SPLIT: char = '\u{1f}';
/// What a spreadsheet takes for the start of a formula.
const FORMULA: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A `Report` request's bytes: taken whole, or refused with a short reason.
pub fn report(data: &[u8]) {
    match fuzzing::report(data, sample::now()) {
        Ok(inventory) => {
            if let Err(reason) = fuzzing::accepts(&inventory) {
                panic!("a report taken in is then refused: {reason}");
            }
        }
        Err(reason) => {
            assert!(reason.len() <= MAX_REASON, "a {}-byte reason", reason.len());
            assert!(!reason.contains('\0'), "{reason:?}");
        }
    }
}

/// A certificate whose every field is a string of the input, exported as CSV: the export
/// reads back as one header and one row of the list's columns, each string as it was (or
/// with the `'` that keeps a spreadsheet from taking it for a formula), no cell a formula.
pub fn csv(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let semicolon = data.first().is_some_and(|b| b & 1 == 1);
    let mut pieces = text.split(SPLIT).cycle();
    let columns = CERTIFICATES.columns;
    let mut row = serde_json::Map::new();
    for column in columns {
        let value = match column.field {
            None => Value::String(pieces.next().unwrap_or_default().to_owned()),
            Some(field) => json!([
                { field: pieces.next().unwrap_or_default() },
                { field: pieces.next().unwrap_or_default() },
            ]),
        };
        row.insert(column.key.to_owned(), value);
    }
    let row = Value::Object(row);
    let bytes = fuzzing::csv(columns, std::slice::from_ref(&row), semicolon);

    let records: Vec<csv::StringRecord> = csv::ReaderBuilder::new()
        .delimiter(if semicolon { b';' } else { b',' })
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes.as_slice())
        .records()
        .collect::<Result<_, _>>()
        .expect("the export reads back as CSV");
    assert_eq!(records.len(), 2, "a header and one row: {records:?}");
    let headers: Vec<&str> = columns.iter().map(|c| c.header).collect();
    assert_eq!(records[0].iter().collect::<Vec<_>>(), headers);
    assert_eq!(records[1].len(), columns.len(), "{:?}", records[1]);
    for (cell, column) in records[1].iter().zip(columns) {
        assert!(
            !cell.starts_with(FORMULA),
            "a formula in {}: {cell:?}",
            column.key
        );
        if let Some(sent) = scalar_text(&row, column) {
            let expected = if sent.starts_with(FORMULA) {
                format!("'{sent}")
            } else {
                sent.to_owned()
            };
            assert_eq!(cell, expected, "column {}", column.key);
        }
    }
}

/// The string a plain column was given, unless the export shows it otherwise (a date).
fn scalar_text<'a>(row: &'a Value, column: &Column) -> Option<&'a str> {
    let text = row[column.key]
        .as_str()
        .filter(|_| column.field.is_none())?;
    DateTime::parse_from_rfc3339(text).is_err().then_some(text)
}

/// The host page, with every string of a host document set to strings of the input, in
/// either language; or, when the input is a JSON document, with that as the host. Whatever
/// the strings, the page holds only the dashboard's own elements and attributes.
pub fn html(data: &[u8]) {
    let russian = data.first().is_some_and(|b| b & 1 == 1);
    let host = match serde_json::from_slice::<Value>(data) {
        Ok(document @ Value::Object(_)) => document,
        _ => {
            let text = String::from_utf8_lossy(data);
            let mut pieces = text.split(SPLIT).cycle();
            let mut host = host_document();
            fill(&mut host, &mut || {
                pieces.next().unwrap_or_default().to_owned()
            });
            host
        }
    };
    let page = fuzzing::host_page(&host, russian);
    if let Err(problem) = markup::only_known_markup(&page) {
        panic!("{problem}\n{page}");
    }
}

/// Every string in `value` replaced by `next()`.
fn fill(value: &mut Value, next: &mut impl FnMut() -> String) {
    match value {
        Value::String(text) => *text = next(),
        Value::Array(items) => items.iter_mut().for_each(|item| fill(item, next)),
        Value::Object(fields) => fields.values_mut().for_each(|field| fill(field, next)),
        _ => {}
    }
}

/// A host document as `GET /api/v1/hosts/{id}` serves it, with every part the page shows.
fn host_document() -> Value {
    let at = |days: i64| -> String {
        let when: DateTime<Utc> = sample::now() + chrono::Duration::days(days);
        when.to_rfc3339()
    };
    json!({
        "agent_id": "00000000-0000-0000-0000-000000000001",
        "hostname": "ws-01", "office": "Москва", "os": "linux", "os_version": "Astra Linux 1.7",
        "arch": "x86_64", "agent_version": "0.1.0", "last_seen_at": at(0), "collected_at": at(0),
        "enrolled_at": at(-100), "certificate_not_after": at(200), "revoked_at": at(-1),
        "findings": [{ "code": "certificate.expiring", "severity": "critical",
            "subject": "certificate", "message": "expires", "remediation": "re-issue" }],
        "components": {
            "cryptopro": { "installed": true, "version": "5.0", "build": "5.0.12455",
                "license": { "serial_prefix": "5050N", "for_version": "5.0", "kind": "Client",
                    "permanent": false, "demo": true, "expires": at(10) },
                "error": "csptest failed" },
            "smart_card_service": "stopped", "ccid_driver": "libccid 1.5.2",
            "middleware": [{ "name": "Rutoken drivers", "version": "4.1" }],
            "pkcs11_modules": [{ "path": "/usr/lib/librtpkcs11ecp.so", "family": "rutoken" }],
            "usb_tokens": [{ "bus_path": "1-2", "usb_id": "0a89:0030", "model": "Rutoken ECP",
                "manufacturer": "Aktiv", "product": "Rutoken ECP", "serial": "1",
                "visible_to_pcsc": false }],
            "other": { "key": "value" }
        },
        "readers": [{ "name": "Aktiv Rutoken ECP 00 00", "card_present": true, "atr": "3B 8B",
            "token_model": "Rutoken ECP", "token_family": "rutoken", "in_use_exclusively": true }],
        "tokens": [{ "label": "Иванов", "serial": "0011", "model": "Rutoken ECP",
            "manufacturer": "Aktiv", "token_family": "rutoken", "total_memory": 65536,
            "free_memory": 1024, "pin_user_initialized": true, "pin_locked": true,
            "pin_must_change": true, "certificates": ["aa"] }],
        "containers": [{ "name": "le-22951", "path": "/media/usb/le-22951.000",
            "media": "removable", "owner": "user", "complete": false,
            "missing_files": ["masks2.key"],
            "damaged_files": [{ "file": "header.key", "reason": "truncated" }],
            "key_algorithm": "GOST R 34.10-2012 256", "private_key_not_after": at(30) }],
        "certificates": [{ "subject": "CN=Иванов", "subject_cn": "Иванов",
            "issuer_cn": "УЦ", "not_after": at(20), "private_key_not_after": at(5),
            "qualified": true, "is_ca": false,
            "sources": [{ "kind": "container", "location": "/media/usb/le-22951.000" }] }],
        "collectors": [{ "name": "certificates", "status": "partial",
            "errors": ["/home/u: permission denied"], "duration_ms": 12 }]
    })
}
