//! Lists as CSV that Excel opens as it is: UTF-8 with a byte-order mark (or Cyrillic turns to
//! mojibake), `,` or (`sep=semicolon`, what Excel expects where the decimal mark is a comma, as
//! in Russia) `;`, CRLF line ends, times as `YYYY-MM-DD HH:MM:SS` UTC, which Excel reads as
//! dates. A cell that would start a formula (`=`, `+`, `-`, `@`) gets a leading `'`, so a
//! certificate subject cannot run anything in the spreadsheet of whoever opens the export.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use crate::query::engine::Column;

/// The byte-order mark Excel needs to read UTF-8.
pub(super) const BOM: &str = "\u{feff}";

/// Field separators a request may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Separator {
    Comma,
    Semicolon,
}

impl Separator {
    /// `sep`'s value: `comma`/`,` (the default) or `semicolon`/`;`.
    pub(super) fn from_param(value: Option<&str>) -> Option<Self> {
        match value {
            None | Some("comma" | ",") => Some(Separator::Comma),
            Some("semicolon" | ";") => Some(Separator::Semicolon),
            Some(_) => None,
        }
    }

    fn byte(self) -> u8 {
        match self {
            Separator::Comma => b',',
            Separator::Semicolon => b';',
        }
    }
}

/// `rows` as CSV lines (the header line first when `header`).
pub(crate) fn lines(
    columns: &[Column],
    rows: &[Value],
    separator: Separator,
    header: bool,
) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .delimiter(separator.byte())
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    // Writing to a Vec fails only on a record of another length, which never happens here.
    if header {
        let _ = writer.write_record(columns.iter().map(|c| c.header));
    }
    for row in rows {
        let _ = writer.write_record(columns.iter().map(|c| cell(row, c)));
    }
    writer.into_inner().unwrap_or_default()
}

/// One cell: `column` of `row` as text.
fn cell(row: &Value, column: &Column) -> String {
    let value = &row[column.key];
    let text = match (value, column.field) {
        (Value::Array(items), field) => {
            let mut parts: Vec<String> = items
                .iter()
                .map(|item| scalar(field.map_or(item, |f| &item[f])))
                .filter(|part| !part.is_empty())
                .collect();
            parts.dedup();
            parts.join(", ")
        }
        (value, _) => scalar(value),
    };
    defused(text)
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => match DateTime::parse_from_rfc3339(text) {
            Ok(at) => at
                .with_timezone(&Utc)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
            Err(_) => text.clone(),
        },
        Value::Bool(flag) => flag.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// `text`, made inert if a spreadsheet would take it for a formula.
fn defused(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    }
}

/// When an export was made, for its file name.
pub(super) fn stamp(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Secs, true)
        .replace([':', '-'], "")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const COLUMNS: &[Column] = &[
        Column {
            header: "subject",
            key: "subject",
            field: None,
        },
        Column {
            header: "not_after",
            key: "not_after",
            field: None,
        },
        Column {
            header: "hosts",
            key: "hosts",
            field: Some("hostname"),
        },
        Column {
            header: "files",
            key: "files",
            field: None,
        },
        Column {
            header: "ok",
            key: "ok",
            field: None,
        },
    ];

    #[test]
    fn cyrillic_quotes_separators_and_times_survive() {
        let rows = [json!({
            "subject": "ООО \"Ромашка\"; бухгалтерия",
            "not_after": "2026-12-31T23:59:59.5+00:00",
            "hosts": [{"hostname": "buh-01"}, {"hostname": "buh-02"}, {"hostname": "buh-02"}],
            "files": ["header.key", "masks.key"],
            "ok": false,
        })];
        let text = String::from_utf8(lines(COLUMNS, &rows, Separator::Semicolon, true)).unwrap();
        assert_eq!(
            text,
            "subject;not_after;hosts;files;ok\r\n\
             \"ООО \"\"Ромашка\"\"; бухгалтерия\";2026-12-31 23:59:59;buh-01, buh-02;header.key, masks.key;false\r\n"
        );
        let comma = String::from_utf8(lines(COLUMNS, &rows, Separator::Comma, false)).unwrap();
        assert!(
            comma.starts_with(
                "\"ООО \"\"Ромашка\"\"; бухгалтерия\",2026-12-31 23:59:59,\"buh-01, buh-02\""
            ),
            "{comma}"
        );
    }

    #[test]
    fn formulas_are_defused() {
        for evil in ["=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)"] {
            let rows = [json!({ "subject": evil })];
            let text =
                String::from_utf8(lines(&COLUMNS[..1], &rows, Separator::Comma, false)).unwrap();
            assert!(
                text.starts_with("'") || text.starts_with("\"'"),
                "{evil}: {text}"
            );
        }
    }

    #[test]
    fn separators_are_named_or_given() {
        assert_eq!(Separator::from_param(None), Some(Separator::Comma));
        assert_eq!(Separator::from_param(Some(";")), Some(Separator::Semicolon));
        assert_eq!(
            Separator::from_param(Some("semicolon")),
            Some(Separator::Semicolon)
        );
        assert_eq!(Separator::from_param(Some("tab")), None);
    }
}
