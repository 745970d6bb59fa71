//! The inventory lists, host page and summary over real PostgreSQL: filters, keyset pages that
//! neither repeat nor skip, CSV that Excel reads, office scoping through every list and export,
//! and bad parameters refused with 400 while nothing changes.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokenwatch_proto::v1;
use tokenwatch_server::access::Role;
use tokenwatch_server::ingest::apply_report;
use tokenwatch_server::query::engine::{self, ListSpec};
use tokenwatch_server::query::{self, lists};
use tower::ServiceExt as _;

use crate::access::{Auth, PASSWORD, api, create_user, send, sign_in};
use crate::alerts::{end, expiring, three_hosts};
use crate::support::*;

const WAREHOUSE_SERIAL: &str = "77AA0001";
/// The certificate only the warehouse has: SHA-256, SHA-1, INN.
const KEEPER: (&str, &str, &str) = ("ff", "ee", "500100732259");

/// Бухгалтерия's three hosts, and Склад's one with a token and a certificate of its own (the
/// storekeeper's, ending 10 days after `base()`).
async fn warehouse(pool: &PgPool) -> i64 {
    three_hosts(pool).await;
    let store = office(pool, "Склад").await;
    let host = agent(pool, store, "sklad-01").await;
    let mut inventory: v1::Inventory = expiring("sklad-01");
    inventory.tokens[0].serial = WAREHOUSE_SERIAL.into();
    inventory.tokens[0].label = "Склад".into();
    let mut keeper = inventory.certificates[5].clone();
    keeper.sha256 = KEEPER.0.repeat(32);
    keeper.sha1 = KEEPER.1.repeat(20);
    keeper.subject = "CN=Кладовщик Петров,O=ООО Склад".into();
    keeper.subject_cn = Some("Кладовщик Петров".into());
    keeper.organization = Some("ООО Склад".into());
    keeper.inn = Some(KEEPER.2.into());
    keeper.inn_le = None;
    keeper.not_after = ts(base() + Duration::days(10));
    inventory.certificates.push(keeper);
    apply_report(pool, host, &request(1, &inventory), base())
        .await
        .unwrap();
    store
}

fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Every row of `spec` for `pairs`, following the cursors, `limit` at a time.
pub(crate) async fn walk(
    pool: &PgPool,
    spec: &ListSpec,
    pairs: &[(&str, &str)],
    seen: Option<&[i64]>,
    now: DateTime<Utc>,
) -> Vec<Value> {
    let mut params = params(pairs);
    let mut rows = Vec::new();
    loop {
        let request = engine::request(spec, &params).unwrap();
        let page = engine::run(pool, spec, &request, seen, now).await.unwrap();
        rows.extend(page.items);
        match page.next {
            Some(next) => params.insert("after".into(), next),
            None => return rows,
        };
    }
}

fn strings(rows: &[Value], key: &str) -> Vec<String> {
    rows.iter()
        .map(|r| r[key].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn pages_follow_each_other_without_repeats_in_every_order(pool: PgPool) {
    warehouse(&pool).await;
    let now = base();
    let all = walk(&pool, &lists::CERTIFICATES, &[("limit", "500")], None, now).await;
    // 50 shared (sha1:… stands for one of them) plus the storekeeper's.
    assert_eq!(all.len(), 51);
    for spec in lists::ALL {
        for sort in spec.sorts {
            for order in ["asc", "desc"] {
                let whole = walk(
                    &pool,
                    spec,
                    &[("sort", sort.name), ("order", order), ("limit", "500")],
                    None,
                    now,
                )
                .await;
                let paged = walk(
                    &pool,
                    spec,
                    &[("sort", sort.name), ("order", order), ("limit", "3")],
                    None,
                    now,
                )
                .await;
                assert_eq!(paged, whole, "{} by {} {order}", spec.name, sort.name);
                assert!(!whole.is_empty(), "{}", spec.name);
            }
        }
    }
    // Ascending by end: the storekeeper's first, ten days out; descending, last.
    let by_end = walk(&pool, &lists::CERTIFICATES, &[("limit", "7")], None, now).await;
    assert_eq!(by_end[0]["subject_cn"], "Кладовщик Петров");
    let hosts = walk(&pool, &lists::HOSTS, &[("limit", "1")], None, now).await;
    assert_eq!(
        strings(&hosts, "hostname"),
        ["buh-01", "buh-02", "buh-03", "sklad-01"]
    );
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn filters_narrow_the_lists(pool: PgPool) {
    let store = warehouse(&pool).await;
    let now = base();
    let certificates = |pairs: &'static [(&'static str, &'static str)], at: DateTime<Utc>| {
        let pool = pool.clone();
        async move { walk(&pool, &lists::CERTIFICATES, pairs, None, at).await }
    };
    let soon = certificates(&[("expiring_within_days", "30")], now).await;
    assert_eq!(strings(&soon, "subject_cn"), ["Кладовщик Петров"]);
    assert_eq!(certificates(&[("expired", "true")], now).await.len(), 0);
    let later = end() + Duration::days(1);
    let lapsed = certificates(&[("expired", "true")], later).await;
    assert_eq!(
        strings(&lapsed, "subject_cn"),
        ["Кладовщик Петров", "Сотрудник 0"]
    );
    let keeper = certificates(&[("inn", "500100732259")], now).await;
    assert_eq!(keeper.len(), 1);
    assert_eq!(
        keeper[0]["hosts"],
        json!([{"agent_id": keeper[0]["hosts"][0]["agent_id"], "hostname": "sklad-01", "office": "Склад"}])
    );
    assert_eq!(
        certificates(&[("inn", "7701234567")], now).await.len(),
        50,
        "the legal entity's INN"
    );
    assert_eq!(
        certificates(&[("q", "кладовщик")], now).await.len(),
        1,
        "ignoring case"
    );
    assert_eq!(
        certificates(&[("q", "%")], now).await.len(),
        0,
        "% is a character, not a wildcard"
    );
    assert_eq!(certificates(&[("office", "Склад")], now).await.len(), 51);
    assert_eq!(
        certificates(&[("office", "Бухгалтерия")], now).await.len(),
        50
    );
    assert_eq!(
        certificates(&[("ca", "false"), ("qualified", "true")], now)
            .await
            .len(),
        46
    );
    // A certificate in a key container lists the container with its host.
    let in_container = certificates(&[("q", "Сотрудник 2,")], now).await;
    assert_eq!(in_container[0]["containers"][0]["name"], "le-0000");
    assert_eq!(in_container[0]["containers"].as_array().unwrap().len(), 4);

    let tokens = walk(&pool, &lists::TOKENS, &[], None, now).await;
    assert_eq!(
        strings(&tokens, "serial"),
        [TOKEN_SERIAL.to_owned(), WAREHOUSE_SERIAL.to_owned()]
    );
    assert_eq!(tokens[1]["now"][0]["hostname"], "sklad-01");
    assert_eq!(tokens[1]["now"][0]["label"], "Склад");
    let theirs = walk(&pool, &lists::TOKENS, &[("office", "Склад")], None, now).await;
    assert_eq!(strings(&theirs, "serial"), [WAREHOUSE_SERIAL]);
    let incomplete = walk(
        &pool,
        &lists::CONTAINERS,
        &[("complete", "false")],
        None,
        now,
    )
    .await;
    assert_eq!(strings(&incomplete, "name"), ["le-0009"; 4]);
    let critical = walk(
        &pool,
        &lists::FINDINGS,
        &[("severity", "critical"), ("office", "Склад")],
        None,
        now,
    )
    .await;
    assert_eq!(strings(&critical, "code"), ["certificate.expiring"]);
    let present = walk(
        &pool,
        &lists::READERS,
        &[("card_present", "true"), ("hostname", "buh-02")],
        None,
        now,
    )
    .await;
    assert_eq!(strings(&present, "token_model"), ["Rutoken ECP"]);
    // Every host reported at `base()`.
    let silent = |at| {
        let pool = pool.clone();
        async move { walk(&pool, &lists::HOSTS, &[("silent_for_hours", "1")], None, at).await }
    };
    assert_eq!(silent(now).await.len(), 0);
    assert_eq!(silent(now + Duration::hours(2)).await.len(), 4);

    let later = now + Duration::hours(2);
    let summary = query::summary(&pool, Some(&[store]), later, Duration::minutes(15), 4)
        .await
        .unwrap();
    assert_eq!(summary.len(), 1);
    let s = &summary[0];
    assert_eq!(
        (s.office.as_str(), s.hosts, s.silent_hosts, s.tokens),
        ("Склад", 1, 1, 1)
    );
    assert_eq!(
        (
            s.certificates,
            s.expiring_7_days,
            s.expiring_30_days,
            s.expired
        ),
        (46, 0, 1, 0)
    );
    assert_eq!(
        (
            s.containers,
            s.incomplete_containers,
            s.critical_findings,
            s.warning_findings
        ),
        (10, 1, 1, 1)
    );

    // Both tokens are plugged in; then the warehouse's leaves its host, and is nowhere now.
    let tokens = |present: &'static str| {
        let pool = pool.clone();
        async move {
            let rows = walk(&pool, &lists::TOKENS, &[("present", present)], None, now).await;
            strings(&rows, "serial")
        }
    };
    assert_eq!(tokens("true").await, [TOKEN_SERIAL, WAREHOUSE_SERIAL]);
    assert!(tokens("false").await.is_empty());
    let sklad: uuid::Uuid = sqlx::query_scalar("select id from agents where hostname = 'sklad-01'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let mut unplugged: v1::Inventory = expiring("sklad-01");
    unplugged.tokens.clear();
    apply_report(
        &pool,
        sklad,
        &request(2, &unplugged),
        now + Duration::minutes(5),
    )
    .await
    .unwrap();
    assert_eq!(tokens("true").await, [TOKEN_SERIAL]);
    assert_eq!(tokens("false").await, [WAREHOUSE_SERIAL]);
    // A reader of the warehouse finds it too; one of the accounts office does not.
    let gone = |seen: i64| {
        let pool = pool.clone();
        async move {
            let params = [("present", "false")];
            let rows = walk(&pool, &lists::TOKENS, &params, Some(&[seen]), now).await;
            strings(&rows, "serial")
        }
    };
    assert_eq!(gone(store).await, [WAREHOUSE_SERIAL]);
    let accounts: i64 = sqlx::query_scalar("select id from offices where name = 'Бухгалтерия'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(gone(accounts).await.is_empty());
}

/// An answer's status, content type and raw body.
async fn raw(
    router: &axum::Router,
    path: &str,
    auth: &Auth,
    accept: Option<&str>,
) -> (u16, String, Vec<u8>) {
    let mut request = axum::http::Request::builder().uri(path);
    if let Auth::Session { cookie, .. } = auth {
        request = request.header("cookie", format!("tw_session={cookie}"));
    }
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = router
        .clone()
        .oneshot(request.body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .unwrap()
        .to_vec();
    (status, kind, body)
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn an_office_s_reader_sees_its_own_inventory_in_every_list_and_export(pool: PgPool) {
    warehouse(&pool).await;
    create_user(&pool, "root", Role::Admin, None).await;
    create_user(&pool, "buh", Role::Viewer, Some(&["Бухгалтерия"])).await;
    let api = api(&pool);
    let root = sign_in(&api, "root", PASSWORD).await;
    let buh = sign_in(&api, "buh", PASSWORD).await;
    let sklad_id: String =
        sqlx::query_scalar("select id::text from agents where hostname = 'sklad-01'")
            .fetch_one(&pool)
            .await
            .unwrap();

    for spec in lists::ALL {
        let path = format!("/api/v1/{}?limit=500", spec.name);
        let everything = send(&api, "GET", &path, &root, None).await;
        assert_eq!(everything.status, 200, "{}", spec.name);
        assert!(
            everything.body.to_string().contains("sklad-01")
                || spec.name == "certificates"
                || spec.name == "tokens",
            "{}",
            spec.name
        );
        let ours = send(&api, "GET", &path, &buh, None).await;
        assert_eq!(ours.status, 200);
        let text = ours.body.to_string();
        for foreign in ["sklad-01", "Склад", "Кладовщик", WAREHOUSE_SERIAL] {
            assert!(
                !text.contains(foreign),
                "{}: {foreign} in {text:.300}",
                spec.name
            );
        }
        assert!(
            !ours.body["items"].as_array().unwrap().is_empty(),
            "{}",
            spec.name
        );
        let (status, kind, csv) = raw(
            &api,
            &format!("/api/v1/{}?format=csv", spec.name),
            &buh,
            None,
        )
        .await;
        assert_eq!((status, kind.as_str()), (200, "text/csv; charset=utf-8"));
        let csv = String::from_utf8(csv).unwrap();
        for foreign in ["sklad-01", "Склад", "Кладовщик", WAREHOUSE_SERIAL] {
            assert!(!csv.contains(foreign), "{} CSV: {foreign}", spec.name);
        }
        let filtered = send(
            &api,
            "GET",
            &format!(
                "/api/v1/{}?office=%D0%A1%D0%BA%D0%BB%D0%B0%D0%B4",
                spec.name
            ),
            &buh,
            None,
        )
        .await;
        assert_eq!(
            filtered.body["items"],
            json!([]),
            "{}: filtering by another office finds nothing",
            spec.name
        );
    }
    let keeper = send(
        &api,
        "GET",
        "/api/v1/certificates?inn=500100732259",
        &root,
        None,
    )
    .await;
    assert_eq!(keeper.body["items"].as_array().unwrap().len(), 1);
    let hidden = send(
        &api,
        "GET",
        "/api/v1/certificates?inn=500100732259",
        &buh,
        None,
    )
    .await;
    assert_eq!(hidden.body["items"], json!([]));
    // The shared certificate lists our three hosts only.
    let shared = send(
        &api,
        "GET",
        "/api/v1/certificates?q=%D0%A1%D0%BE%D1%82%D1%80%D1%83%D0%B4%D0%BD%D0%B8%D0%BA%200%2C",
        &buh,
        None,
    )
    .await;
    assert_eq!(
        shared.body["items"][0]["hosts"].as_array().unwrap().len(),
        3
    );

    // The host page: everything of ours, nothing of theirs.
    assert_eq!(
        send(
            &api,
            "GET",
            &format!("/api/v1/hosts/{sklad_id}"),
            &buh,
            None
        )
        .await
        .status,
        404
    );
    let page = send(
        &api,
        "GET",
        &format!("/api/v1/hosts/{sklad_id}"),
        &root,
        None,
    )
    .await
    .body;
    assert_eq!(page["hostname"], "sklad-01");
    assert_eq!(page["tokens"][0]["serial"], WAREHOUSE_SERIAL);
    assert_eq!(page["containers"].as_array().unwrap().len(), 10);
    assert_eq!(page["certificates"].as_array().unwrap().len(), 51);
    assert_eq!(page["findings"][1]["remediation"], "Re-issue.");
    assert_eq!(page["components"]["cryptopro"]["version"], "5.0");
    let summary = send(&api, "GET", "/api/v1/summary", &buh, None).await.body;
    assert_eq!(summary.as_array().unwrap().len(), 1);
    assert_eq!(summary[0]["office"], "Бухгалтерия");
    assert_eq!(summary[0]["hosts"], 3);

    // CSV by Accept as well, with a byte-order mark, a header and Cyrillic intact.
    let (status, _, csv) = raw(
        &api,
        "/api/v1/certificates?sep=semicolon&ca=false",
        &root,
        Some("text/csv"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(csv.starts_with(b"\xEF\xBB\xBF"), "UTF-8 byte-order mark");
    let csv = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = csv
        .trim_start_matches('\u{feff}')
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .collect();
    assert!(
        lines[0].starts_with("subject_cn;organization;inn;"),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len(), 1 + 46);
    assert!(
        lines.iter().any(
            |l| l.starts_with("Кладовщик Петров;ООО Склад;500100732259;;")
                && l.contains(";sklad-01;")
        ),
        "{csv}"
    );
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn an_export_longer_than_a_page_holds_every_row_once(pool: PgPool) {
    // 620 hosts: the export fetches pages of 500, so this proves the header is written once
    // and the pages join up.
    let office = office(&pool, "Большой офис").await;
    for i in 0..620 {
        agent(&pool, office, &format!("ws-{i:04}")).await;
    }
    create_user(&pool, "root", Role::Admin, None).await;
    let api = api(&pool);
    let root = sign_in(&api, "root", PASSWORD).await;
    let (status, _, csv) = raw(&api, "/api/v1/hosts?format=csv", &root, None).await;
    assert_eq!(status, 200);
    let csv = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1 + 620);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("hostname,office"))
            .count(),
        1
    );
    let mut names: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap())
        .collect();
    names.dedup();
    assert_eq!(names.len(), 620);
    assert_eq!(names[619], "ws-0619");
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn bad_parameters_are_refused_and_change_nothing(pool: PgPool) {
    warehouse(&pool).await;
    create_user(&pool, "root", Role::Admin, None).await;
    let api = api(&pool);
    let root = sign_in(&api, "root", PASSWORD).await;
    let hosts_before: i64 = sqlx::query_scalar("select count(*) from agents")
        .fetch_one(&pool)
        .await
        .unwrap();
    for (path, status) in [
        ("/api/v1/certificates?limit=1000000", 400),
        ("/api/v1/certificates?limit=-1", 400),
        ("/api/v1/certificates?expiring_within_days=soon", 400),
        (
            "/api/v1/certificates?expiring_within_days=99999999999999999999",
            400,
        ),
        ("/api/v1/certificates?expired=maybe", 400),
        ("/api/v1/certificates?not_a_filter=1", 400),
        ("/api/v1/certificates?sort=sha256", 400),
        (
            "/api/v1/certificates?after=%27%3B%20drop%20table%20agents%3B--",
            400,
        ),
        ("/api/v1/certificates?format=xml", 400),
        ("/api/v1/certificates?format=csv&sep=tab", 400),
        ("/api/v1/hosts/not-a-uuid", 400),
        ("/api/v1/hosts/00000000-0000-0000-0000-000000000000", 404),
        (
            "/api/v1/certificates?q=%27%3B%20drop%20table%20agents%3B--",
            200,
        ),
        ("/api/v1/hosts?q=%27%20or%201%3D1%20--", 200),
        ("/api/v1/certificates?inn=%00", 400),
    ] {
        let answer = send(&api, "GET", path, &root, None).await;
        assert_eq!(answer.status, status, "{path}: {}", answer.body);
        if status == 400 {
            assert!(answer.body["error"].is_string(), "{path}: a reason");
        }
        if status == 200 {
            assert_eq!(answer.body["items"], json!([]), "{path}: matched literally");
        }
    }
    // A cursor made for one order is refused by another; one edited by hand too.
    let first = send(&api, "GET", "/api/v1/hosts?limit=1", &root, None)
        .await
        .body;
    let next = first["next"].as_str().unwrap();
    let other = send(
        &api,
        "GET",
        &format!("/api/v1/hosts?limit=1&sort=office&after={next}"),
        &root,
        None,
    )
    .await;
    assert_eq!(other.status, 400);
    let forged = data_encoding::BASE64URL_NOPAD
        .encode(br#"{"s":"hostname","d":false,"v":"x","i":"not a uuid"}"#);
    let forged = send(
        &api,
        "GET",
        &format!("/api/v1/hosts?after={forged}"),
        &root,
        None,
    )
    .await;
    assert_eq!(forged.status, 400, "{}", forged.body);
    assert_eq!(
        send(&api, "GET", "/api/v1/hosts", &Auth::None, None)
            .await
            .status,
        401
    );
    // The description of the API is public: it holds no data.
    let described = send(&api, "GET", "/api/v1/openapi.json", &Auth::None, None).await;
    assert_eq!(
        (described.status, &described.body["openapi"]),
        (200, &json!("3.1.0"))
    );
    let certificates = &described.body["paths"]["/api/v1/certificates"]["get"];
    assert!(certificates.to_string().contains("expiring_within_days"));
    let hosts_after: i64 = sqlx::query_scalar("select count(*) from agents")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(hosts_after, hosts_before);
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_summary_is_counted_again_once_older_than_its_age(pool: PgPool) {
    use std::time::Duration as Span;
    let store = warehouse(&pool).await;
    let max_age = Span::from_millis(300);
    let summaries = query::Summaries::new(max_age);
    let hosts = |offices: &[query::OfficeSummary]| offices.iter().map(|o| o.hosts).sum::<i64>();
    let get = |seen: Option<Vec<i64>>| {
        let (pool, summaries) = (&pool, &summaries);
        async move {
            summaries
                .get(pool, seen.as_deref(), Duration::seconds(60), 3)
                .await
                .unwrap()
        }
    };
    let first = get(None).await;
    assert_eq!(hosts(&first), 4);
    agent(&pool, store, "sklad-02").await;
    let kept = get(None).await;
    assert!(std::sync::Arc::ptr_eq(&first, &kept), "served as counted");
    // Another set of offices has its own count, made now.
    assert_eq!(hosts(&get(Some(vec![store])).await), 2);

    // Older than its age: served once more while counted again in the background.
    tokio::time::sleep(max_age + Span::from_millis(50)).await;
    let stale = get(None).await;
    assert!(
        std::sync::Arc::ptr_eq(&first, &stale),
        "the old count, at once"
    );
    let mut recounted = stale;
    for _ in 0..100 {
        recounted = get(None).await;
        if hosts(&recounted) == 5 {
            break;
        }
        tokio::time::sleep(Span::from_millis(20)).await;
    }
    assert_eq!(hosts(&recounted), 5, "counted again in the background");

    // Older than the stale span: counted while the reader waits.
    agent(&pool, store, "sklad-03").await;
    tokio::time::sleep(max_age * query::STALE_SERVED + Span::from_millis(50)).await;
    assert_eq!(hosts(&get(None).await), 6);
}
