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

/// How a list is read office by office: a reader of some offices (or a request naming one)
/// takes the first rows of each of those offices off indexes led by the office, and the first
/// of these make the page. `from` gives one office's rows with the columns the list's sorts and
/// filters read, under the same names. An administrator of every office reads the list's own
/// table through its fleet-wide indexes.
#[derive(Debug)]
pub struct PerOffice {
    /// The table, under the list's own alias (`office_certificates c`).
    pub from: &'static str,
    /// Its office column (`c.office_id`).
    pub office: &'static str,
    /// Which of its rows the reader sees within an office (`true` when all).
    pub visible: &'static str,
    /// The columns that pick one row of the list (of `from` and of the list's own `from`
    /// alike): the page is made of these, and its rows are built after.
    pub row: &'static [&'static str],
    /// The filter that names an office: it picks which offices are read.
    pub office_filter: &'static str,
    /// The filters it answers. A request with any other (a selective one such as an INN, which
    /// an index of the list's own table finds at once) reads the list's own table.
    pub filters: &'static [&'static str],
    /// Sorts whose expression in `from` differs from the list's (the copy of a host's name
    /// kept on its rows), by name; their values are the same, and so are cursors.
    pub sorts: &'static [(&'static str, &'static str)],
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
    pub per_office: Option<&'static PerOffice>,
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
    let per_office = per_office(spec, request, seen.is_some());
    // Each condition in parentheses: a filter's `or` must not reach past it. The rows kept
    // per office are the visible ones.
    let mut conditions = Vec::new();
    if per_office.is_none() {
        conditions.push(format!("({})", fixed(spec.visible)));
    }
    let mut office_name = None;
    for (filter, value) in &request.filters {
        let cast = match value {
            Bound::Bool(_) => "boolean",
            Bound::Int(_) => "bigint",
            _ => "text",
        };
        let placeholder = format!("${}::{cast}", binds.len() + 1);
        binds.push(value.clone());
        if per_office.is_some_and(|p| p.office_filter == filter.name) {
            office_name = Some(placeholder);
            continue;
        }
        conditions.push(format!(
            "({})",
            fixed(&filter.sql.replace("{}", &placeholder))
        ));
    }
    let (id, id_kind) = spec.id;
    let sort = request.sort;
    let sort_expr = per_office
        .and_then(|p| p.sorts.iter().find(|(name, _)| *name == sort.name))
        .map_or(sort.expr, |(_, expr)| *expr);
    if let Some(cursor) = &request.after {
        let (v, i) = (binds.len() + 1, binds.len() + 2);
        let op = if request.descending { "<" } else { ">" };
        conditions.push(format!(
            "(({sort_expr}), ({id})) {op} (${v}::text::{}, ${i}::text::{})",
            sort.kind.cast(),
            id_kind.cast()
        ));
        binds.push(Bound::Text(cursor.v.clone()));
        binds.push(Bound::Text(cursor.i.clone()));
    }
    if conditions.is_empty() {
        conditions.push("true".to_owned());
    }
    let direction = if request.descending { "desc" } else { "asc" };
    let limit = binds.len() + 1;
    binds.push(Bound::Int(request.limit + 1));
    let item = fixed(spec.item);
    let conditions = conditions.join(" and ");
    let sort = sort_expr;
    let sql = match per_office {
        None => format!(
            "select ({item}) as item, ({sort})::text as sort_value, ({id})::text as id_value \
             from {from} where {conditions} \
             order by ({sort}) {direction}, ({id}) {direction} limit ${limit}",
            from = spec.from,
        ),
        Some(p) => per_office_statement(
            spec,
            p,
            &Parts {
                item: &item,
                sort,
                id,
                conditions: &conditions,
                office_name: office_name.as_deref(),
                direction,
                limit,
            },
        ),
    };
    (sql, binds)
}

/// The pieces of a list statement, made ready by [`statement`].
struct Parts<'a> {
    item: &'a str,
    sort: &'a str,
    id: &'a str,
    conditions: &'a str,
    /// The parameter naming an office, when the request names one.
    office_name: Option<&'a str>,
    direction: &'a str,
    limit: usize,
}

/// The statement that reads `spec` office by office: each office's first rows, then the first
/// of them all.
fn per_office_statement(spec: &ListSpec, p: &PerOffice, parts: &Parts<'_>) -> String {
    let Parts {
        item,
        sort,
        id,
        conditions,
        office_name,
        direction,
        limit,
    } = *parts;
    let offices = format!(
        "select o.id from offices o \
         where ($1::bigint[] is null or o.id = any($1::bigint[])){}",
        office_name
            .map(|name| format!(" and o.name = {name}"))
            .unwrap_or_default()
    );
    // An office's rows in order, off its own sort index. Only the page's rows are built, and a
    // row held by several offices comes once (its sort value is the same in each).
    let keys: Vec<String> = (0..p.row.len()).map(|i| format!("key{i}")).collect();
    let picked: Vec<String> = p
        .row
        .iter()
        .zip(&keys)
        .map(|(column, key)| format!("{column} as {key}"))
        .collect();
    let rows = format!(
        "select {picked}, ({sort}) as k, ({id}) as id from {projection} \
         where {office} = each_office.id and ({visible}) and {conditions}",
        picked = picked.join(", "),
        projection = p.from,
        office = p.office,
        visible = p.visible,
    );
    let x_keys: Vec<String> = keys.iter().map(|key| format!("x.{key}")).collect();
    let joined: Vec<String> = p
        .row
        .iter()
        .zip(&keys)
        .map(|(column, key)| format!("{column} = p.{key}"))
        .collect();
    format!(
        "with page as ( \
             select {x_keys}, x.k, x.id from ({offices}) each_office \
             cross join lateral ( \
                 {rows} order by k {direction}, id {direction} limit ${limit} \
             ) x \
             group by {x_keys}, x.k, x.id order by x.k {direction}, x.id {direction} \
             limit ${limit} \
         ) \
         select ({item}) as item, p.k::text as sort_value, p.id::text as id_value \
         from {from} join page p on {joined} \
         order by p.k {direction}, p.id {direction}",
        x_keys = x_keys.join(", "),
        joined = joined.join(" and "),
        from = spec.from,
    )
}

/// Whether `request` is read office by office: when the list keeps its rows per office, the
/// reader sees some offices only or names one, and every filter is one the per-office rows
/// answer.
fn per_office(spec: &ListSpec, request: &Request<'_>, scoped: bool) -> Option<&'static PerOffice> {
    let p = spec.per_office?;
    let names_office = request
        .filters
        .iter()
        .any(|(filter, _)| filter.name == p.office_filter);
    let answered = request
        .filters
        .iter()
        .all(|(filter, _)| filter.name == p.office_filter || p.filters.contains(&filter.name));
    ((scoped || names_office) && answered).then_some(p)
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
    // Not kept prepared: planned for its own values each time. A plan made once for any value
    // (which PostgreSQL settles on after a few runs of a prepared statement) cannot know how
    // few rows `expiring_within_days=30` or one office's array leaves, and walked the wrong
    // index for them.
    let mut query =
        sqlx::query_as::<_, (serde_json::Value, String, String)>(sqlx::AssertSqlSafe(sql))
            .persistent(false);
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
        per_office: None,
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

    static PER_OFFICE: PerOffice = PerOffice {
        from: "agents g join things t on t.agent_id = g.id",
        office: "g.office_id",
        visible: "g.revoked_at is null",
        row: &["t.agent_id", "t.ordinal"],
        office_filter: "q",
        filters: &["broken"],
        sorts: &[],
    };

    const SCOPED: ListSpec = ListSpec {
        per_office: Some(&PER_OFFICE),
        ..SPEC
    };

    #[test]
    fn a_scoped_reader_reads_office_by_office_unless_a_filter_needs_the_whole_table() {
        let scoped = |pairs: &[(&str, &str)], seen: Option<&[i64]>| {
            let request = request(&SCOPED, &params(pairs)).expect("valid");
            statement(&SCOPED, &request, seen, Utc::now())
        };
        let (sql, binds) = scoped(&[("broken", "true")], Some(&[3]));
        assert!(sql.contains("cross join lateral"), "{sql}");
        assert!(
            sql.contains("join page p on t.agent_id = p.key0 and t.ordinal = p.key1"),
            "{sql}"
        );
        assert!(
            !sql.contains("t.office_id = any"),
            "visibility is the office's: {sql}"
        );
        assert!(matches!(binds[2], Bound::Bool(true)));
        // The office filter picks the offices read, bound like any value.
        let (sql, _) = scoped(&[("q", "x")], None);
        assert!(sql.contains("and o.name = $3::text"), "{sql}");
        // An administrator of every office, and a filter the offices' rows do not answer,
        // read the list's own table.
        let (sql, _) = scoped(&[("broken", "true")], None);
        assert!(!sql.contains("lateral"), "{sql}");
        let (sql, _) = scoped(&[("days", "3")], Some(&[3]));
        assert!(!sql.contains("lateral"), "{sql}");
        assert!(sql.contains("t.office_id = any($1::bigint[])"), "{sql}");
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
