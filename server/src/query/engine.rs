//! One way to serve every inventory list: a [`ListSpec`] says which rows a reader may see,
//! which filters and sort orders there are and what one row looks like (a `jsonb` object built
//! in PostgreSQL); [`run`] turns a request's parameters into one statement with keyset paging.
//!
//! Keyset, not offsets: the next page starts after the last row's sort value and id, so a page
//! deep in 100,000 hosts costs what the first one does, and rows added meanwhile neither repeat
//! nor vanish. The cursor is opaque to clients (base64 of the sort, direction, value and id).
//!
//! The statement is assembled from the spec's fixed fragments only; every value a client sends
//! is a bound parameter.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use data_encoding::BASE64URL_NOPAD;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::QueryError;

/// Rows per page when the request does not say.
pub const DEFAULT_LIMIT: i64 = 50;
/// The most rows one page holds.
pub const MAX_LIMIT: i64 = 500;
/// The longest text a filter takes.
const MAX_TEXT: usize = 200;
/// Parameters every list takes besides its filters.
const PAGING: [&str; 6] = ["limit", "after", "sort", "order", "format", "sep"];

/// The SQL type of a sort key or id, for comparing a cursor's value with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    Time,
    Int,
    Uuid,
}

/// What a filter's value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    /// Text, compared as it is.
    Text,
    /// Text found anywhere, ignoring case (`ilike '%…%'`, with `%` and `_` taken literally).
    Contains,
    /// `true` or `false`.
    Bool,
    /// A whole number from 0 to 36,500 (days, hours).
    Count,
}

/// A filter: `sql` is a condition in which `{}` stands for the value, `{now}` for the time of
/// the request and `{seen}` for the reader's offices (a `bigint[]`, null for all).
#[derive(Clone, Copy, Debug)]
pub struct Filter {
    pub name: &'static str,
    pub value: Value,
    pub sql: &'static str,
    /// For the API's description.
    pub about: &'static str,
}

/// A sort order: `expr` must never be null (coalesce it), or paging would skip rows.
#[derive(Clone, Copy, Debug)]
pub struct Sort {
    pub name: &'static str,
    pub expr: &'static str,
    pub kind: Kind,
}

/// A CSV column: a header and the row's key; an array of objects becomes its `field` values
/// joined by ", ".
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub header: &'static str,
    pub key: &'static str,
    pub field: Option<&'static str>,
}

/// An inventory list.
#[derive(Debug)]
pub struct ListSpec {
    /// The path under `/api/v1/`.
    pub name: &'static str,
    pub about: &'static str,
    /// The `from` clause.
    pub from: &'static str,
    /// Which rows the reader sees (with `{seen}`).
    pub visible: &'static str,
    /// One row as a `jsonb` object.
    pub item: &'static str,
    /// A unique, never-null id of the row, the tie-breaker of every order.
    pub id: (&'static str, Kind),
    /// The first is the default.
    pub sorts: &'static [Sort],
    pub filters: &'static [Filter],
    pub columns: &'static [Column],
}

/// A page of a list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Paged {
    pub items: Vec<serde_json::Value>,
    /// The `after` of the next page; none on the last.
    pub next: Option<String>,
}

/// Where a page starts: after the row with this sort value and id.
#[derive(Debug, Deserialize, Serialize, PartialEq, Eq)]
struct Cursor {
    /// The sort and direction it was made for.
    s: String,
    d: bool,
    v: String,
    i: String,
}

/// A value to bind, in order.
#[derive(Clone, Debug)]
enum Bound {
    Seen(Option<Vec<i64>>),
    Now(DateTime<Utc>),
    Text(String),
    Bool(bool),
    Int(i64),
}

// === impl Kind ===

impl Kind {
    fn cast(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Time => "timestamptz",
            Kind::Int => "bigint",
            Kind::Uuid => "uuid",
        }
    }
}

// === impl Cursor ===

impl Cursor {
    fn encode(&self) -> String {
        BASE64URL_NOPAD.encode(&serde_json::to_vec(self).unwrap_or_default())
    }

    fn decode(text: &str) -> Option<Self> {
        let bytes = BASE64URL_NOPAD.decode(text.as_bytes()).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// A request's parameters, checked against `spec`.
#[derive(Debug)]
pub struct Request<'s> {
    sort: &'s Sort,
    descending: bool,
    limit: i64,
    after: Option<Cursor>,
    filters: Vec<(&'s Filter, Bound)>,
}

/// Check `params` against `spec`: every name known, every value of its kind.
pub fn request<'s>(
    spec: &'s ListSpec,
    params: &BTreeMap<String, String>,
) -> Result<Request<'s>, QueryError> {
    let mut filters = Vec::new();
    for (name, value) in params {
        if PAGING.contains(&name.as_str()) {
            continue;
        }
        let Some(filter) = spec.filters.iter().find(|f| f.name == name) else {
            let known: Vec<&str> = spec.filters.iter().map(|f| f.name).chain(PAGING).collect();
            return Err(QueryError::Invalid(format!(
                "unknown parameter {name:?}; {} takes {}",
                spec.name,
                known.join(", ")
            )));
        };
        filters.push((filter, bound(filter, value)?));
    }
    let sort = match params.get("sort") {
        None => &spec.sorts[0],
        Some(name) => spec.sorts.iter().find(|s| s.name == name).ok_or_else(|| {
            let known: Vec<&str> = spec.sorts.iter().map(|s| s.name).collect();
            QueryError::Invalid(format!("sort is one of {}", known.join(", ")))
        })?,
    };
    let descending = match params.get("order").map(String::as_str) {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(QueryError::Invalid("order is asc or desc".into())),
    };
    let limit = match params.get("limit") {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| QueryError::Invalid(format!("limit is 1 to {MAX_LIMIT}")))?,
    };
    let after = match params.get("after") {
        None => None,
        Some(text) => {
            let cursor = Cursor::decode(text)
                .ok_or_else(|| QueryError::Invalid("after is not a cursor of this API".into()))?;
            if cursor.s != sort.name || cursor.d != descending {
                return Err(QueryError::Invalid(
                    "after belongs to another sort order; keep sort and order".into(),
                ));
            }
            Some(cursor)
        }
    };
    Ok(Request {
        sort,
        descending,
        limit,
        after,
        filters,
    })
}

/// `value` as `filter` takes it.
fn bound(filter: &Filter, value: &str) -> Result<Bound, QueryError> {
    let invalid = |what: &str| QueryError::Invalid(format!("{} is {what}", filter.name));
    match filter.value {
        Value::Text | Value::Contains => {
            if value.is_empty() || value.chars().count() > MAX_TEXT || value.contains('\0') {
                return Err(invalid(&format!("1 to {MAX_TEXT} characters, without NUL")));
            }
            if filter.value == Value::Text {
                return Ok(Bound::Text(value.to_owned()));
            }
            let escaped = value
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            Ok(Bound::Text(format!("%{escaped}%")))
        }
        Value::Bool => match value {
            "true" => Ok(Bound::Bool(true)),
            "false" => Ok(Bound::Bool(false)),
            _ => Err(invalid("true or false")),
        },
        Value::Count => value
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=36_500).contains(n))
            .map(Bound::Int)
            .ok_or_else(|| invalid("a whole number from 0 to 36500")),
    }
}

/// The statement of `request` on `spec`, and what to bind to it, in order.
fn statement(
    spec: &ListSpec,
    request: &Request<'_>,
    seen: Option<&[i64]>,
    now: DateTime<Utc>,
) -> (String, Vec<Bound>) {
    let mut binds = vec![Bound::Seen(seen.map(<[i64]>::to_vec)), Bound::Now(now)];
    let fixed = |sql: &str| {
        sql.replace("{seen}", "$1::bigint[]")
            .replace("{now}", "$2::timestamptz")
    };
    // Each condition in parentheses: a filter's `or` must not reach past it.
    let mut conditions = vec![format!("({})", fixed(spec.visible))];
    for (filter, value) in &request.filters {
        let cast = match value {
            Bound::Bool(_) => "boolean",
            Bound::Int(_) => "bigint",
            _ => "text",
        };
        let placeholder = format!("${}::{cast}", binds.len() + 1);
        conditions.push(format!(
            "({})",
            fixed(&filter.sql.replace("{}", &placeholder))
        ));
        binds.push(value.clone());
    }
    let (id, id_kind) = spec.id;
    let sort = request.sort;
    if let Some(cursor) = &request.after {
        let (v, i) = (binds.len() + 1, binds.len() + 2);
        let op = if request.descending { "<" } else { ">" };
        conditions.push(format!(
            "(({}), ({id})) {op} (${v}::text::{}, ${i}::text::{})",
            sort.expr,
            sort.kind.cast(),
            id_kind.cast()
        ));
        binds.push(Bound::Text(cursor.v.clone()));
        binds.push(Bound::Text(cursor.i.clone()));
    }
    let direction = if request.descending { "desc" } else { "asc" };
    let limit = binds.len() + 1;
    binds.push(Bound::Int(request.limit + 1));
    let sql = format!(
        "select ({item}) as item, ({sort})::text as sort_value, ({id})::text as id_value \
         from {from} where {conditions} \
         order by ({sort}) {direction}, ({id}) {direction} limit ${limit}",
        item = fixed(spec.item),
        sort = sort.expr,
        from = spec.from,
        conditions = conditions.join(" and "),
    );
    (sql, binds)
}

/// One page of `spec` for `request`, for a reader of the offices `seen` (`None`: all).
pub async fn run(
    pool: &PgPool,
    spec: &ListSpec,
    request: &Request<'_>,
    seen: Option<&[i64]>,
    now: DateTime<Utc>,
) -> Result<Paged, QueryError> {
    let (sql, binds) = statement(spec, request, seen, now);
    let mut query =
        sqlx::query_as::<_, (serde_json::Value, String, String)>(sqlx::AssertSqlSafe(sql));
    for bound in binds {
        query = match bound {
            Bound::Seen(ids) => query.bind(ids),
            Bound::Now(at) => query.bind(at),
            Bound::Text(text) => query.bind(text),
            Bound::Bool(flag) => query.bind(flag),
            Bound::Int(n) => query.bind(n),
        };
    }
    let mut rows = query.fetch_all(pool).await.map_err(|error| {
        // A cursor whose value does not cast (edited by hand) is the client's mistake.
        if let sqlx::Error::Database(db) = &error {
            if db.code().is_some_and(|code| code.starts_with("22")) {
                return QueryError::Invalid("after is not a cursor of this API".into());
            }
        }
        QueryError::Db(error)
    })?;
    let limit = usize::try_from(request.limit).unwrap_or(usize::MAX);
    let next = (rows.len() > limit).then(|| {
        rows.truncate(limit);
        let (_, v, i) = rows.last().cloned().unwrap_or_default();
        Cursor {
            s: request.sort.name.to_owned(),
            d: request.descending,
            v,
            i,
        }
        .encode()
    });
    Ok(Paged {
        items: rows.into_iter().map(|(item, _, _)| item).collect(),
        next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: ListSpec = ListSpec {
        name: "things",
        about: "",
        from: "things t",
        visible: "({seen} is null or t.office_id = any({seen}))",
        item: "jsonb_build_object('name', t.name)",
        id: ("t.id", Kind::Int),
        sorts: &[
            Sort {
                name: "name",
                expr: "t.name",
                kind: Kind::Text,
            },
            Sort {
                name: "seen",
                expr: "coalesce(t.seen_at, '-infinity')",
                kind: Kind::Time,
            },
        ],
        filters: &[
            Filter {
                name: "q",
                value: Value::Contains,
                sql: "(t.name ilike {} or t.label ilike {})",
                about: "",
            },
            Filter {
                name: "broken",
                value: Value::Bool,
                sql: "t.broken = {}",
                about: "",
            },
            Filter {
                name: "days",
                value: Value::Count,
                sql: "t.end < {now} + make_interval(days => ({})::int)",
                about: "",
            },
        ],
        columns: &[],
    };

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn values_are_bound_and_fragments_numbered() {
        let request = request(
            &SPEC,
            &params(&[
                ("q", "50%_off"),
                ("broken", "true"),
                ("days", "30"),
                ("sort", "seen"),
                ("order", "desc"),
            ]),
        )
        .expect("valid");
        let (sql, binds) = statement(&SPEC, &request, Some(&[3]), Utc::now());
        assert!(sql.contains("(t.broken = $3::boolean)"), "{sql}");
        assert!(
            sql.contains("(t.end < $2::timestamptz + make_interval(days => ($4::bigint)::int))"),
            "{sql}"
        );
        assert!(
            sql.contains("and ((t.name ilike $5::text or t.label ilike $5::text)) order"),
            "{sql}"
        );
        assert!(
            sql.contains("order by (coalesce(t.seen_at, '-infinity')) desc, (t.id) desc limit $6"),
            "{sql}"
        );
        assert!(!sql.contains("50%"), "values are never in the statement");
        assert!(matches!(&binds[4], Bound::Text(t) if t == "%50\\%\\_off%"));
        assert!(matches!(binds[5], Bound::Int(51)));
    }

    #[test]
    fn a_cursor_continues_its_own_order_only() {
        let cursor = Cursor {
            s: "name".into(),
            d: false,
            v: "b".into(),
            i: "7".into(),
        }
        .encode();
        let request = request(&SPEC, &params(&[("after", &cursor)])).expect("valid");
        let (sql, _) = statement(&SPEC, &request, None, Utc::now());
        assert!(
            sql.contains("((t.name), (t.id)) > ($3::text::text, $4::text::bigint)"),
            "{sql}"
        );
        let other = request_error(&[("after", &cursor), ("sort", "seen")]);
        assert!(other.contains("another sort order"), "{other}");
        assert!(request_error(&[("after", "bm90IGEgY3Vyc29y")]).contains("not a cursor"));
    }

    fn request_error(pairs: &[(&str, &str)]) -> String {
        request(&SPEC, &params(pairs))
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn bad_parameters_are_refused_with_what_is_allowed() {
        assert!(request_error(&[("nope", "1")]).contains("takes q, broken, days, limit"));
        assert!(request_error(&[("limit", "100000")]).contains("limit is 1 to 500"));
        assert!(request_error(&[("limit", "0")]).contains("limit is 1 to 500"));
        assert!(request_error(&[("broken", "yes")]).contains("true or false"));
        assert!(request_error(&[("days", "-1")]).contains("whole number"));
        assert!(request_error(&[("q", "")]).contains("1 to 200"));
        assert!(request_error(&[("q", "a\0b")]).contains("without NUL"));
        assert!(request_error(&[("sort", "id")]).contains("name, seen"));
        assert!(request_error(&[("order", "up")]).contains("asc or desc"));
    }
}
