//! What people change through the dashboard's forms: acknowledging and silencing alerts, an
//! office's thresholds, enrolment secrets and channel tests. Each form needs the session's
//! CSRF token and a role that allows it, stays within the account's offices, changes nothing
//! when refused, and is written to the audit log as the API writes it.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use chrono::{DateTime, Duration, TimeZone, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokenwatch_proto::v1;
use tokenwatch_server::access::Role;
use tokenwatch_server::alerts::{self, Settings};
use tokenwatch_server::config::{AlertsConfig, NotifyConfig, Route, WebhookChannel, WebhookFormat};
use tokenwatch_server::http::{HttpState, router};
use tokenwatch_server::ingest::apply_report;
use tokenwatch_server::metrics::Metrics;
use tokenwatch_server::notify::Channels;
use tower::ServiceExt as _;
use uuid::Uuid;

const PASSWORD: &str = "long enough passphrase";
const ACCOUNTING: &str = "Бухгалтерия";
const STORE: &str = "Склад";

// === fixtures ===

/// When the reports are collected.
fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap()
}

/// When the shared certificate ends.
fn end() -> DateTime<Utc> {
    base() + Duration::days(100)
}

fn certificate_sha256() -> String {
    hex::encode(Sha256::digest(b"dashboard certificate"))
}

/// Agents that may stay silent for years: the clock moves by weeks without reports.
fn patient() -> Settings {
    let mut settings = Settings::from_config(&AlertsConfig::default());
    settings.agent_interval = Duration::days(3650);
    settings
}

/// A host with the certificate every office shares, expiring at [`end`], and a low-PIN
/// finding (one alert per office).
fn inventory(hostname: &str) -> v1::Inventory {
    let certificate = v1::Certificate {
        sha256: certificate_sha256(),
        sha1: hex::encode(Sha256::digest(b"sha1"))[..40].to_owned(),
        serial: "0A".into(),
        subject: "CN=Иванова Мария,O=ООО Ромашка".into(),
        issuer: "CN=УЦ Тест".into(),
        subject_cn: Some("Иванова Мария".into()),
        issuer_cn: Some("УЦ Тест".into()),
        not_before: ts(base() - Duration::days(300)),
        not_after: ts(end()),
        signature_algorithm: "GOST R 34.11-2012/34.10-2012 256".into(),
        public_key_algorithm: "GOST R 34.10-2012 256".into(),
        qualified: true,
        sources: vec![v1::CertificateSource {
            kind: v1::SourceKind::File.into(),
            location: "/home/buh/ivanova.cer".into(),
        }],
        der: vec![0x30, 0x82, 0x00, 0x01],
        ..Default::default()
    };
    v1::Inventory {
        certificates: vec![certificate],
        findings: vec![v1::Finding {
            code: "token.pin_count_low".into(),
            severity: v1::Severity::Warning.into(),
            subject: "token Rutoken ECP (serial 3a6b0f21)".into(),
            message: "A wrong user PIN was entered; tries are running out.".into(),
            remediation: "Confirm the correct PIN with the user.".into(),
        }],
        ..crate::seed::linux_host(hostname, base())
    }
}

use crate::seed::{office, ts};

/// An enrolled host of `office` that reported [`inventory`].
async fn host(pool: &PgPool, office: i64, hostname: &str) -> Uuid {
    let id = crate::seed::agent(pool, office, hostname, base() + Duration::days(365)).await;
    apply_report(
        pool,
        id,
        &crate::seed::request(1, &inventory(hostname)),
        base(),
    )
    .await
    .unwrap();
    id
}

/// The two offices' ids, with firing alerts: the shared certificate's and each office's own
/// low-PIN alert.
async fn two_offices(pool: &PgPool) -> (i64, i64) {
    let accounting = office(pool, ACCOUNTING).await;
    let store = office(pool, STORE).await;
    host(pool, accounting, "buh-01").await;
    host(pool, store, "sklad-01").await;
    alerts::evaluate(pool, end() - Duration::days(13), &patient())
        .await
        .unwrap();
    (accounting, store)
}

async fn create_user(pool: &PgPool, name: &str, role: Role, offices: Option<&[&str]>) {
    crate::seed::user(pool, name, PASSWORD, role, offices).await;
}

fn app(pool: &PgPool, channels: Channels) -> axum::Router {
    router(HttpState {
        pool: pool.clone(),
        metrics: Arc::new(Metrics::new(std::time::Duration::from_secs(15))),
        metrics_token: None,
        api_token: None,
        secure_cookies: true,
        channels: Arc::new(channels),
        alert_defaults: Arc::new(patient()),
        // Counted on every request: tests change the inventory between requests.
        summaries: Arc::new(tokenwatch_server::query::Summaries::new(
            std::time::Duration::ZERO,
        )),
    })
}

/// A webhook channel nobody listens on: its test fails at once.
fn unreachable_channel() -> Channels {
    let hook = WebhookChannel {
        url: "http://127.0.0.1:1/hook".into(),
        format: WebhookFormat::Tokenwatch,
        secret_file: None,
        language: Default::default(),
        chat_id: None,
        ca_file: None,
        route: Route::default(),
    };
    let config = NotifyConfig {
        webhook: BTreeMap::from([("duty".to_owned(), hook)]),
        ..NotifyConfig::default()
    };
    Channels::from_config(&config).unwrap()
}

/// The id of the alert with `key`.
async fn alert_id(pool: &PgPool, key: &str) -> i64 {
    sqlx::query_scalar("select id from alerts where key = $1")
        .bind(key)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// actor, action, target and office of every audit entry of `action`.
async fn audited(pool: &PgPool, action: &str) -> Vec<(String, String, Option<i64>)> {
    sqlx::query_as("select actor, target, office_id from audit_log where action = $1 order by id")
        .bind(action)
        .fetch_all(pool)
        .await
        .unwrap()
}

/// Who acknowledged alert `id`, if anyone.
async fn acknowledged_by(pool: &PgPool, id: i64) -> Option<String> {
    sqlx::query_scalar("select acknowledged_by from alerts where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

// === a browser ===

/// An answer: status, `Location`, `Cache-Control`, the page.
struct Page {
    status: u16,
    location: Option<String>,
    cache_control: Option<String>,
    body: String,
}

/// A signed-in browser: its session cookie, the session's CSRF token, its language.
struct Browser {
    app: axum::Router,
    session: String,
    csrf: String,
    language: &'static str,
}

/// `fields` as `application/x-www-form-urlencoded`.
fn form(fields: &[(&str, &str)]) -> String {
    let encode = |text: &str| {
        text.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The value of the hidden input `name` in `page`.
fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {page}"))
        + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

/// The value of cookie `name` set by `response`.
fn set_cookie(response: &axum::response::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.strip_prefix(&format!("{name}="))
                .map(|rest| rest.to_owned())
        })
        .map(|rest| rest.split(';').next().unwrap().to_owned())
}

async fn send(app: &axum::Router, request: Request<Body>) -> (axum::response::Response, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 22).await.unwrap();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    (
        axum::response::Response::from_parts(parts, Body::empty()),
        text,
    )
}

/// Sign in through the sign-in form as `name`, in `language`.
async fn sign_in(app: &axum::Router, name: &str, language: &'static str) -> Browser {
    let request = Request::get("/login")
        .header("accept-language", language)
        .body(Body::empty())
        .unwrap();
    let (response, page) = send(app, request).await;
    let login = set_cookie(&response, "tw_login").expect("the sign-in form's cookie");
    assert_eq!(hidden(&page, "form"), login);
    let body = form(&[
        ("name", name),
        ("password", PASSWORD),
        ("form", &login),
        ("next", "/"),
    ]);
    let request = Request::post("/login")
        .header("cookie", format!("tw_login={login}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept-language", language)
        .body(Body::from(body))
        .unwrap();
    let (response, _) = send(app, request).await;
    assert_eq!(response.status(), 303, "{name} signs in");
    let session = set_cookie(&response, "tw_session").expect("a session cookie");
    let mut browser = Browser {
        app: app.clone(),
        session,
        csrf: String::new(),
        language,
    };
    let alerts = browser.get("/alerts").await;
    assert_eq!(alerts.status, 200, "{}", alerts.body);
    browser.csrf = hidden(&alerts.body, "csrf_token");
    browser
}

impl Browser {
    async fn get(&self, path: &str) -> Page {
        let request = Request::get(path)
            .header("cookie", format!("tw_session={}", self.session))
            .header("accept-language", self.language)
            .body(Body::empty())
            .unwrap();
        self.answer(request).await
    }

    /// POST `fields` as a form, with no CSRF token added.
    async fn post_bare(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let request = Request::post(path)
            .header("cookie", format!("tw_session={}", self.session))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept-language", self.language)
            .body(Body::from(form(fields)))
            .unwrap();
        self.answer(request).await
    }

    /// POST `fields` as a form, with the session's CSRF token as the pages carry it.
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut all = vec![("csrf_token", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_bare(path, &all).await
    }

    async fn answer(&self, request: Request<Body>) -> Page {
        let (response, body) = send(&self.app, request).await;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        Page {
            status: response.status().as_u16(),
            location: header("location"),
            cache_control: header("cache-control"),
            body,
        }
    }
}

// === alerts ===

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn an_operator_acknowledges_an_alert_through_the_form(pool: PgPool) {
    let (accounting, store) = two_offices(&pool).await;
    create_user(&pool, "ivanova", Role::Operator, Some(&[ACCOUNTING])).await;
    create_user(&pool, "petrov", Role::Viewer, None).await;
    let app = app(&pool, Channels::default());
    let operator = sign_in(&app, "ivanova", "en").await;
    let own = alert_id(&pool, &format!("finding:token.pin_count_low:{accounting}")).await;
    let other = alert_id(&pool, &format!("finding:token.pin_count_low:{store}")).await;
    let action = format!("/alerts/{own}/ack");

    let list = operator.get("/alerts").await;
    assert!(list.body.contains("<table id=\"alerts\">"), "{}", list.body);
    assert!(list.body.contains(&format!(
        "<form class=\"ack inline\" method=\"post\" action=\"{action}\">"
    )));
    assert!(
        !list.body.contains(&format!("href=\"/alerts/{other}\"")),
        "another office's alert"
    );
    assert!(list.body.contains("name=\"comment\" required"));

    // Without the session's token, with another, or as a viewer: refused, nothing changed.
    let comment = [("comment", "PIN confirmed with the user")];
    assert_eq!(operator.post_bare(&action, &comment).await.status, 403);
    let zeros = "0".repeat(64);
    let forged = [("csrf_token", zeros.as_str()), comment[0]];
    assert_eq!(operator.post_bare(&action, &forged).await.status, 403);
    let viewer = sign_in(&app, "petrov", "en").await;
    let refused = viewer.post(&action, &comment).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        !viewer
            .get("/alerts")
            .await
            .body
            .contains("class=\"ack inline\"")
    );
    // An alert of an office they do not see does not exist for them.
    let elsewhere = operator
        .post(&format!("/alerts/{other}/ack"), &comment)
        .await;
    assert_eq!(elsewhere.status, 404);
    assert_eq!(operator.get(&format!("/alerts/{other}")).await.status, 404);
    // Without a comment: the page again, saying why.
    let empty = operator.post(&action, &[("comment", "  ")]).await;
    assert_eq!(empty.status, 422);
    assert!(
        empty.body.contains("<p class=\"message error\""),
        "{}",
        empty.body
    );
    assert_eq!(acknowledged_by(&pool, own).await, None);
    assert_eq!(acknowledged_by(&pool, other).await, None);
    assert_eq!(audited(&pool, "alert.acknowledge").await, []);

    let done = operator.post(&action, &comment).await;
    assert_eq!(
        (done.status, done.location.as_deref()),
        (303, Some("/alerts?done=ack"))
    );
    assert_eq!(
        acknowledged_by(&pool, own).await.as_deref(),
        Some("ivanova")
    );
    assert_eq!(
        audited(&pool, "alert.acknowledge").await,
        [(
            "user:ivanova".to_owned(),
            format!("alert {own}"),
            Some(accounting)
        )]
    );
    let details: serde_json::Value =
        sqlx::query_scalar("select details from audit_log where action = 'alert.acknowledge'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(details["comment"], "PIN confirmed with the user");
    assert_eq!(details["by"], "ivanova");

    let list = operator.get("/alerts?done=ack").await;
    assert!(
        list.body.contains("<p class=\"message done\""),
        "{}",
        list.body
    );
    assert!(
        !list.body.contains(&format!("action=\"{action}\"")),
        "no form once acknowledged"
    );
    let row = &list.body[list.body.find(&format!("id=\"alert-{own}\"")).unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("ivanova"), "{row}");
    // The alert's page says who and why.
    let detail = operator.get(&format!("/alerts/{own}")).await;
    assert!(detail.body.contains("PIN confirmed with the user"));
    assert!(
        detail
            .body
            .contains("<pre class=\"remediation\">Confirm the correct PIN")
    );
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn silences_through_the_form_stay_within_the_account_s_offices(pool: PgPool) {
    let (accounting, _) = two_offices(&pool).await;
    create_user(&pool, "ivanova", Role::Operator, Some(&[ACCOUNTING])).await;
    create_user(&pool, "petrov", Role::Viewer, None).await;
    let app = app(&pool, Channels::default());
    let operator = sign_in(&app, "ivanova", "en").await;
    let sha256 = certificate_sha256();
    let id = alert_id(&pool, &format!("certificate:{sha256}")).await;

    // The alert's page: its hosts of the account's offices, and the form filled in from it.
    let detail = operator.get(&format!("/alerts/{id}")).await;
    assert_eq!(detail.status, 200, "{}", detail.body);
    let agent: Uuid = sqlx::query_scalar("select id from agents where hostname = 'buh-01'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(detail.body.contains(&format!("href=\"/hosts/{agent}\"")));
    assert!(
        !detail.body.contains("sklad-01"),
        "a host of another office"
    );
    assert!(detail.body.contains("action=\"/alerts/silence\""));
    assert!(
        detail
            .body
            .contains(&format!("name=\"certificate\" value=\"{sha256}\""))
    );
    assert!(
        detail
            .body
            .contains("name=\"code\" value=\"certificate.expiring\"")
    );
    assert!(
        !detail.body.contains("<option value=\"Склад\""),
        "only offices seen"
    );

    // Another office, no office for an account of some offices, a viewer, no token: refused.
    let other = silence(&operator, STORE, id).await;
    assert_eq!(other.status, 422);
    assert!(
        other.body.contains("<p class=\"message error\""),
        "{}",
        other.body
    );
    assert_eq!(silence(&operator, "", id).await.status, 422);
    let viewer = sign_in(&app, "petrov", "en").await;
    assert_eq!(silence(&viewer, ACCOUNTING, id).await.status, 403);
    let bare = operator
        .post_bare(
            "/alerts/silence",
            &[("office", ACCOUNTING), ("until", "7"), ("comment", "x")],
        )
        .await;
    assert_eq!(bare.status, 403);
    assert_eq!(count(&pool, "select count(*) from silences").await, 0);
    assert_eq!(audited(&pool, "silence.create").await, []);

    let done = silence(&operator, ACCOUNTING, id).await;
    assert_eq!(
        (done.status, done.location.as_deref()),
        (303, Some("/alerts?done=silence"))
    );
    let (matchers, created_by, ends_at): (serde_json::Value, String, DateTime<Utc>) =
        sqlx::query_as("select matchers, created_by, ends_at from silences")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        matchers,
        serde_json::json!({
            "office_id": accounting, "code": "certificate.expiring", "certificate": sha256,
        })
    );
    assert_eq!(created_by, "ivanova");
    let days = (ends_at - Utc::now()).num_hours();
    assert!((7 * 24 - 1..=7 * 24).contains(&days), "{days} hours");
    let silence_id: i64 = sqlx::query_scalar("select id from silences")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        audited(&pool, "silence.create").await,
        [(
            "user:ivanova".to_owned(),
            format!("silence {silence_id}"),
            Some(accounting)
        )]
    );
    let list = operator.get(&done.location.unwrap()).await;
    assert!(list.body.contains("<p class=\"message done\""));
}

/// Silence the shared certificate's alert in `office` for 7 days, through the form on alert
/// `alert`'s page.
async fn silence(browser: &Browser, office: &str, alert: i64) -> Page {
    let sha256 = certificate_sha256();
    let alert = alert.to_string();
    let fields = [
        ("office", office),
        ("code", "certificate.expiring"),
        ("host", ""),
        ("certificate", &sha256),
        ("until", "7"),
        ("comment", "renewal ordered"),
        ("alert", &alert),
    ];
    browser.post("/alerts/silence", &fields).await
}

// === settings ===

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn an_office_admin_sets_its_thresholds_and_no_one_else_s(pool: PgPool) {
    let (accounting, store) = two_offices(&pool).await;
    create_user(&pool, "smirnova", Role::Admin, Some(&[ACCOUNTING])).await;
    create_user(&pool, "ivanova", Role::Operator, None).await;
    create_user(&pool, "petrov", Role::Viewer, None).await;
    let app = app(&pool, unreachable_channel());
    let admin = sign_in(&app, "smirnova", "en").await;
    let own = format!("/settings/offices/{}", encode(ACCOUNTING));
    let other = format!("/settings/offices/{}", encode(STORE));
    let overrides = || async {
        sqlx::query_as::<_, (i64, Option<i32>, Option<i32>, Option<i32>)>(
            "select office_id, warning_days, critical_days, gone_after_days \
             from office_alert_settings order by office_id",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    };

    let page = admin.get("/settings").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"offices\""));
    assert!(
        page.body.contains(&format!("action=\"{own}\"")),
        "{}",
        page.body
    );
    assert!(!page.body.contains(STORE), "another office");
    assert!(page.body.contains("id=\"enrolment\""));
    assert!(
        !page.body.contains("id=\"channels\""),
        "channels are for admins of every office"
    );

    let fields = [
        ("warning_days", "45"),
        ("critical_days", "10"),
        ("silent_after_intervals", ""),
        ("gone_after_days", ""),
    ];
    // Another office's, an operator's, a viewer's, without the token: refused.
    assert_eq!(admin.post(&other, &fields).await.status, 404);
    let operator = sign_in(&app, "ivanova", "en").await;
    assert_eq!(operator.post(&own, &fields).await.status, 403);
    let viewer = sign_in(&app, "petrov", "en").await;
    assert_eq!(viewer.post(&own, &fields).await.status, 403);
    assert_eq!(admin.post_bare(&own, &fields).await.status, 403);
    // Critical wider than warning, or not a number: the page again.
    let wider = admin
        .post(&own, &[("warning_days", "5"), ("critical_days", "10")])
        .await;
    assert_eq!(wider.status, 422);
    assert!(wider.body.contains("<p class=\"message error\""));
    assert_eq!(
        admin.post(&own, &[("warning_days", "soon")]).await.status,
        422
    );
    assert_eq!(overrides().await, []);
    assert_eq!(audited(&pool, "office.alert_settings").await, []);

    let done = admin.post(&own, &fields).await;
    assert_eq!(
        (done.status, done.location.as_deref()),
        (303, Some("/settings?done=office"))
    );
    assert_eq!(overrides().await, [(accounting, Some(45), Some(10), None)]);
    assert_eq!(
        audited(&pool, "office.alert_settings").await,
        [(
            "user:smirnova".to_owned(),
            format!("office {ACCOUNTING:?}"),
            Some(accounting)
        )]
    );
    let page = admin.get("/settings?done=office").await;
    assert!(page.body.contains("<p class=\"message done\""));
    assert!(
        page.body.contains("name=\"warning_days\" value=\"45\""),
        "{}",
        page.body
    );
    assert_ne!(store, accounting);

    // Operators and viewers see every office's thresholds, and nothing to change.
    for browser in [&operator, &viewer] {
        let page = browser.get("/settings").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("id=\"offices\"") && page.body.contains(STORE));
        assert!(!page.body.contains("action=\"/settings/offices/"));
        assert!(!page.body.contains("id=\"enrolment\""));
        assert!(!page.body.contains("id=\"channels\""));
    }
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn an_enrolment_secret_is_shown_once_and_revoked_through_the_page(pool: PgPool) {
    let (accounting, _) = two_offices(&pool).await;
    create_user(&pool, "smirnova", Role::Admin, Some(&[ACCOUNTING])).await;
    create_user(&pool, "root", Role::Admin, None).await;
    create_user(&pool, "ivanova", Role::Operator, None).await;
    let app = app(&pool, Channels::default());
    let admin = sign_in(&app, "smirnova", "en").await;
    let secrets = || count(&pool, "select count(*) from enroll_secrets");

    // Only offices they see; never a new office; an operator not at all.
    let store = admin
        .post(
            "/settings/secrets",
            &[("office", STORE), ("expires_in", "7")],
        )
        .await;
    assert_eq!(store.status, 422);
    assert!(store.body.contains("<p class=\"message error\""));
    let new = admin.post(
        "/settings/secrets",
        &[("office", "Новый офис"), ("expires_in", "7")],
    );
    assert_eq!(new.await.status, 422);
    assert_eq!(count(&pool, "select count(*) from offices").await, 2);
    let operator = sign_in(&app, "ivanova", "en").await;
    let fields = [("office", ACCOUNTING), ("expires_in", "7")];
    assert_eq!(
        operator.post("/settings/secrets", &fields).await.status,
        403
    );
    assert_eq!(
        admin.post_bare("/settings/secrets", &fields).await.status,
        403
    );
    assert_eq!(secrets().await, 0);

    let created = admin.post("/settings/secrets", &fields).await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.cache_control.as_deref(), Some("no-store"));
    let start = created.body.find("tw1_").expect("the secret, shown");
    let secret: String = created.body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    assert_eq!(secret.len(), 4 + 64, "{secret}");
    assert!(created.body.contains("shown only this once"));
    // It admits agents to its office only: the enrolment service finds it under its hash.
    let (id, office, expires_at): (i64, String, DateTime<Utc>) = sqlx::query_as(
        "select s.id, o.name, s.expires_at from enroll_secrets s \
         join offices o on o.id = s.office_id where s.secret_sha256 = sha256($1::text::bytea)",
    )
    .bind(&secret)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(office, ACCOUNTING);
    assert_eq!((expires_at - Utc::now()).num_days(), 6);
    assert_eq!(secrets().await, 1);
    assert_eq!(
        audited(&pool, "enroll_secret.create").await,
        [(
            "user:smirnova".to_owned(),
            format!("enrolment secret {id}"),
            Some(accounting)
        )]
    );

    // Listed afterwards, never shown again.
    let page = admin.get("/settings").await;
    assert!(!page.body.contains(&secret));
    assert!(!page.body.contains("tw1_"));
    assert!(
        page.body
            .contains(&format!("action=\"/settings/secrets/{id}/revoke\""))
    );

    // Another office's secret is neither listed to them nor revoked by them.
    let root = sign_in(&app, "root", "en").await;
    let theirs = root
        .post(
            "/settings/secrets",
            &[("office", STORE), ("expires_in", "1")],
        )
        .await;
    assert_eq!(theirs.status, 200);
    let theirs_id: i64 = sqlx::query_scalar(
        "select s.id from enroll_secrets s join offices o on o.id = s.office_id \
         where o.name = 'Склад'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let page = admin.get("/settings").await;
    assert!(
        !page
            .body
            .contains(&format!("/settings/secrets/{theirs_id}/revoke"))
    );
    let path = format!("/settings/secrets/{theirs_id}/revoke");
    assert_eq!(admin.post(&path, &[]).await.status, 404);
    assert_eq!(
        count(
            &pool,
            "select count(*) from enroll_secrets where revoked_at is not null"
        )
        .await,
        0
    );

    let path = format!("/settings/secrets/{id}/revoke");
    assert_eq!(admin.post_bare(&path, &[]).await.status, 403);
    let revoked = admin.post(&path, &[]).await;
    assert_eq!(
        (revoked.status, revoked.location.as_deref()),
        (303, Some("/settings?done=revoked"))
    );
    let revoked_at: Option<DateTime<Utc>> =
        sqlx::query_scalar("select revoked_at from enroll_secrets where id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(revoked_at.is_some());
    assert_eq!(
        audited(&pool, "enroll_secret.revoke").await,
        [(
            "user:smirnova".to_owned(),
            format!("enrolment secret {id}"),
            Some(accounting)
        )]
    );
    let page = admin.get("/settings?done=revoked").await;
    assert!(page.body.contains("<p class=\"message done\""));
    assert!(page.body.contains(">revoked<"));
    assert!(!page.body.contains(&path), "nothing left to revoke");
    assert_eq!(admin.post(&path, &[]).await.status, 422, "revoked already");
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn channels_are_for_administrators_of_every_office(pool: PgPool) {
    two_offices(&pool).await;
    create_user(&pool, "smirnova", Role::Admin, Some(&[ACCOUNTING])).await;
    create_user(&pool, "root", Role::Admin, None).await;
    let app = app(&pool, unreachable_channel());
    let scoped = sign_in(&app, "smirnova", "en").await;
    let root = sign_in(&app, "root", "en").await;

    assert!(
        !scoped
            .get("/settings")
            .await
            .body
            .contains("id=\"channels\"")
    );
    assert_eq!(
        scoped
            .post("/settings/channels/duty/test", &[])
            .await
            .status,
        403
    );
    assert_eq!(audited(&pool, "channel.test").await, []);

    let page = root.get("/settings").await;
    assert!(page.body.contains("id=\"channels\""));
    assert!(
        page.body
            .contains("action=\"/settings/channels/duty/test\"")
    );
    assert_eq!(
        root.post_bare("/settings/channels/duty/test", &[])
            .await
            .status,
        403
    );
    assert_eq!(
        root.post("/settings/channels/nothing/test", &[])
            .await
            .status,
        404
    );
    let tested = root.post("/settings/channels/duty/test", &[]).await;
    assert_eq!(tested.status, 502);
    assert!(
        tested.body.contains("<p class=\"message error\""),
        "{}",
        tested.body
    );
    assert!(tested.body.contains("duty"));
    assert_eq!(
        audited(&pool, "channel.test").await,
        [("user:root".to_owned(), "channel duty".to_owned(), None)]
    );
    let failures: i32 = sqlx::query_scalar(
        "select consecutive_failures from notification_channels where name = 'duty'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(failures, 1);
}

// === in Russian ===

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn the_forms_and_their_answers_speak_russian(pool: PgPool) {
    let (accounting, _) = two_offices(&pool).await;
    create_user(&pool, "ivanova", Role::Operator, Some(&[ACCOUNTING])).await;
    create_user(&pool, "root", Role::Admin, None).await;
    let app = app(&pool, unreachable_channel());
    let operator = sign_in(&app, "ivanova", "ru-RU,ru;q=0.9").await;
    let id = alert_id(&pool, &format!("finding:token.pin_count_low:{accounting}")).await;
    let action = format!("/alerts/{id}/ack");

    let list = operator.get("/alerts").await;
    assert!(list.body.contains("<html lang=\"ru\">"));
    for text in [
        "Оповещения",
        "Подтвердить",
        "Важность",
        "Началось",
        "Подтверждено",
    ] {
        assert!(list.body.contains(text), "{text}");
    }
    let detail = operator.get(&format!("/alerts/{id}")).await;
    for text in [
        "Что сделать",
        "История",
        "Заглушить похожие оповещения",
        "7 дней",
    ] {
        assert!(detail.body.contains(text), "{text}");
    }
    let stale = operator.post_bare(&action, &[("comment", "x")]).await;
    assert_eq!(stale.status, 403);
    assert!(stale.body.contains("Форма устарела"));
    let empty = operator.post(&action, &[("comment", "")]).await;
    assert!(
        empty.body.contains("Напишите комментарий"),
        "{}",
        empty.body
    );
    let other = operator
        .post(
            "/alerts/silence",
            &[
                ("office", STORE),
                ("until", "1"),
                ("comment", "x"),
                ("alert", &id.to_string()),
            ],
        )
        .await;
    assert!(
        other.body.contains("Такого офиса среди ваших нет."),
        "{}",
        other.body
    );
    operator.post(&action, &[("comment", "ПИН уточнён")]).await;
    assert!(
        operator
            .get("/alerts?done=ack")
            .await
            .body
            .contains("Оповещение подтверждено.")
    );
    assert!(
        operator
            .get("/settings")
            .await
            .body
            .contains("Пороги оповещений по офисам")
    );

    let root = sign_in(&app, "root", "ru").await;
    let page = root.get("/settings").await;
    for text in [
        "Секреты регистрации агентов",
        "Каналы уведомлений",
        "Проверить",
        "Создать",
    ] {
        assert!(page.body.contains(text), "{text}");
    }
    let created = root
        .post(
            "/settings/secrets",
            &[("office", STORE), ("expires_in", "30")],
        )
        .await;
    assert!(
        created.body.contains("показывается только один раз"),
        "{}",
        created.body
    );
    let tested = root.post("/settings/channels/duty/test", &[]).await;
    assert!(
        tested
            .body
            .contains("Проверочное уведомление не отправлено")
    );
    let wider = root
        .post(
            &format!("/settings/offices/{}", encode(STORE)),
            &[("critical_days", "400")],
        )
        .await;
    assert!(wider.body.contains("Критичный порог не может быть больше"));
}

/// `text` for a path segment.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
