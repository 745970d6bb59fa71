//! Access to the HTTP API: sign-in with sessions and CSRF tokens, locks after failed sign-ins,
//! roles, office scoping (an account of one office sees and changes nothing of another through
//! any endpoint), API tokens, disabled accounts and the audit log.

use std::sync::Arc;

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokenwatch_server::access::users;
use tokenwatch_server::access::{Role, sessions};
use tokenwatch_server::alerts;
use tokenwatch_server::http::{BearerToken, HttpState, router};
use tokenwatch_server::ingest::apply_report;
use tokenwatch_server::metrics::Metrics;
use tower::ServiceExt as _;

use crate::alerts::{cert_key, end, expiring, patient, three_hosts};
use crate::support::*;

pub(crate) const PASSWORD: &str = "long enough passphrase";

/// How a request is authenticated.
#[derive(Clone, Debug)]
pub(crate) enum Auth {
    None,
    Bearer(String),
    /// A session cookie, with the CSRF token sent along (`None`: not sent).
    Session {
        cookie: String,
        csrf: Option<String>,
    },
}

/// An answer: status, JSON body, `Set-Cookie`.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Value,
    pub(crate) set_cookie: Option<String>,
}

pub(crate) fn api(pool: &PgPool) -> axum::Router {
    router(HttpState {
        pool: pool.clone(),
        metrics: Arc::new(Metrics::new(std::time::Duration::from_secs(15))),
        metrics_token: None,
        api_token: BearerToken::new("configured-t0ken"),
        secure_cookies: true,
        channels: Default::default(),
        alert_defaults: Arc::new(patient()),
        // Counted on every request: tests change the inventory between requests.
        summaries: Arc::new(tokenwatch_server::query::Summaries::new(
            std::time::Duration::ZERO,
        )),
    })
}

pub(crate) async fn send(
    router: &axum::Router,
    method: &str,
    path: &str,
    auth: &Auth,
    body: Option<Value>,
) -> Answer {
    let mut request = axum::http::Request::builder().method(method).uri(path);
    match auth {
        Auth::None => {}
        Auth::Bearer(token) => request = request.header("authorization", format!("Bearer {token}")),
        Auth::Session { cookie, csrf } => {
            request = request.header("cookie", format!("theme=light; tw_session={cookie}"));
            if let Some(csrf) = csrf {
                request = request.header("x-csrf-token", csrf);
            }
        }
    }
    let request = match body {
        Some(body) => request
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string())),
        None => request.body(axum::body::Body::empty()),
    }
    .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let set_cookie = response
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    Answer {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        set_cookie,
    }
}

/// The status of the answer to `method path` sent as `auth`, with a JSON `body` if any.
pub(crate) async fn status(
    router: &axum::Router,
    method: &str,
    path: &str,
    auth: &Auth,
    body: Option<Value>,
) -> u16 {
    send(router, method, path, auth, body).await.status
}

/// A request and the status it must be answered with: who sends it, the method, the path, the
/// JSON body, the status, and what the check shows (for its message; empty where the status
/// says it all).
type Check<'a> = (&'a Auth, &'a str, &'a str, Option<Value>, u16, &'a str);

/// Send `checks` in their order (one may change what a later one finds), each expecting its
/// status.
async fn expect<const N: usize>(router: &axum::Router, checks: [Check<'_>; N]) {
    for (auth, method, path, body, expected, why) in checks {
        let got = status(router, method, path, auth, body).await;
        assert_eq!(got, expected, "{method} {path}: {why}");
    }
}

/// Sign in as `name`: the session's cookie and CSRF token.
pub(crate) async fn sign_in(router: &axum::Router, name: &str, password: &str) -> Auth {
    let answer = send(
        router,
        "POST",
        "/api/v1/session",
        &Auth::None,
        Some(json!({ "name": name, "password": password })),
    )
    .await;
    assert_eq!(answer.status, 200, "{name}: {}", answer.body);
    let set = answer.set_cookie.expect("a session cookie");
    let cookie = set
        .strip_prefix("tw_session=")
        .and_then(|rest| rest.split(';').next())
        .expect("the cookie's value")
        .to_owned();
    let csrf = answer.body["csrf_token"]
        .as_str()
        .expect("a CSRF token")
        .to_owned();
    Auth::Session {
        cookie,
        csrf: Some(csrf),
    }
}

pub(crate) async fn create_user(pool: &PgPool, name: &str, role: Role, offices: Option<&[&str]>) {
    crate::seed::user(pool, name, PASSWORD, role, offices).await;
}

/// Actions of the audit log, oldest first, with their targets.
async fn audited(pool: &PgPool) -> Vec<(String, String, String)> {
    sqlx::query_as("select actor, action, target from audit_log order by id")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// Two offices: Бухгалтерия's three hosts and Склад's one share a certificate that expires
/// (one alert across both offices); each office has its own low-PIN finding alert.
async fn two_offices(pool: &PgPool) -> (i64, i64) {
    three_hosts(pool).await;
    let store = office(pool, "Склад").await;
    let host = agent(pool, store, "sklad-01").await;
    apply_report(pool, host, &request(1, &expiring("sklad-01")), base())
        .await
        .unwrap();
    alerts::evaluate(pool, end() - Duration::days(13), &patient())
        .await
        .unwrap();
    let accounting: i64 = sqlx::query_scalar("select id from offices where name = 'Бухгалтерия'")
        .fetch_one(pool)
        .await
        .unwrap();
    (accounting, store)
}

async fn alert_id(pool: &PgPool, key: &str) -> i64 {
    sqlx::query_scalar("select id from alerts where key = $1")
        .bind(key)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The `field` of each item of the JSON array `list`, as text.
fn texts<'a>(list: &'a Value, field: &str) -> Vec<&'a str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item[field].as_str().unwrap())
        .collect()
}

fn keys(list: &Value) -> Vec<String> {
    let mut keys: Vec<String> = texts(list, "key").into_iter().map(str::to_owned).collect();
    keys.sort();
    keys
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_session_needs_its_csrf_token_for_changes_and_ends_on_sign_out(pool: PgPool) {
    two_offices(&pool).await;
    create_user(&pool, "ivanova", Role::Operator, None).await;
    let api = api(&pool);

    #[rustfmt::skip]
    expect(&api, [(&Auth::None, "GET", "/api/v1/alerts", None, 401, "no session")]).await;
    let wrong = send(
        &api,
        "POST",
        "/api/v1/session",
        &Auth::None,
        Some(json!({ "name": "ivanova", "password": "not the password" })),
    )
    .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.set_cookie.is_none());
    let unknown = send(
        &api,
        "POST",
        "/api/v1/session",
        &Auth::None,
        Some(json!({ "name": "nobody", "password": PASSWORD })),
    )
    .await;
    assert_eq!(
        (unknown.status, &unknown.body),
        (401, &wrong.body),
        "the same answer for both"
    );

    let session = sign_in(&api, "IVANOVA", PASSWORD).await;
    let Auth::Session { cookie, csrf } = session.clone() else {
        unreachable!()
    };
    let me = send(&api, "GET", "/api/v1/session", &session, None).await;
    assert_eq!(
        (
            me.status,
            me.body["name"].as_str(),
            me.body["role"].as_str()
        ),
        (200, Some("ivanova"), Some("operator"))
    );
    // Only the cookie's digest is stored.
    let stored: i64 = sqlx::query_scalar(
        "select count(*) from sessions where token_sha256 = sha256($1::text::bytea)",
    )
    .bind(&cookie)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(stored, 1);

    // A change with the cookie alone, or with another token, is refused; with its token it is made.
    let id = alert_id(&pool, &cert_key()).await;
    let path = format!("/api/v1/alerts/{id}/ack");
    let body = json!({ "comment": "renewal ordered" });
    let no_csrf = Auth::Session {
        cookie: cookie.clone(),
        csrf: None,
    };
    let forged = Auth::Session {
        cookie: cookie.clone(),
        csrf: Some("0".repeat(64)),
    };
    #[rustfmt::skip]
    expect(&api, [
        (&no_csrf, "POST", &path, Some(body.clone()), 403, "the cookie alone"),
        (&forged,  "POST", &path, Some(body.clone()), 403, "another token"),
    ]).await;
    let acknowledged_by: Option<String> =
        sqlx::query_scalar("select acknowledged_by from alerts where id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(acknowledged_by, None, "refused changes change nothing");
    #[rustfmt::skip]
    expect(&api, [(&session, "POST", &path, Some(body), 204, "with its token")]).await;
    let acknowledged_by: Option<String> =
        sqlx::query_scalar("select acknowledged_by from alerts where id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(acknowledged_by.as_deref(), Some("ivanova"));

    // Signing out needs the token too, and ends the session.
    #[rustfmt::skip]
    expect(&api, [(&no_csrf, "DELETE", "/api/v1/session", None, 403, "the cookie alone")]).await;
    let out = send(
        &api,
        "DELETE",
        "/api/v1/session",
        &Auth::Session {
            cookie: cookie.clone(),
            csrf,
        },
        None,
    )
    .await;
    assert_eq!(out.status, 204);
    assert!(out.set_cookie.unwrap().contains("Max-Age=0"));
    #[rustfmt::skip]
    expect(&api, [(&no_csrf, "GET", "/api/v1/alerts", None, 401, "signed out")]).await;

    // A session past its lifetime is not found even if the row is still there.
    let user_id: i64 = sqlx::query_scalar("select id from users")
        .fetch_one(&pool)
        .await
        .unwrap();
    let opened = sessions::open(
        &pool,
        user_id,
        Utc::now() - sessions::LIFETIME - Duration::minutes(1),
    )
    .await
    .unwrap();
    assert!(
        sessions::find(&pool, &opened.cookie, Utc::now())
            .await
            .unwrap()
            .is_none()
    );

    let audit = audited(&pool).await;
    let actions: Vec<&str> = audit.iter().map(|(_, action, _)| action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "login.failed",
            "login.failed",
            "login",
            "alert.acknowledge",
            "logout"
        ]
    );
    assert_eq!(
        audit[3],
        (
            "user:ivanova".into(),
            "alert.acknowledge".into(),
            format!("alert {id}")
        )
    );
    let office_of_ack: Option<i64> =
        sqlx::query_scalar("select office_id from audit_log where action = 'alert.acknowledge'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        office_of_ack, None,
        "the certificate's alert spans two offices"
    );
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn repeated_wrong_passwords_lock_the_account_until_its_password_is_set(pool: PgPool) {
    create_user(&pool, "petrov", Role::Viewer, None).await;
    let api = api(&pool);
    let (anyone, session) = (Auth::None, "/api/v1/session");
    let guess = Some(json!({ "name": "petrov", "password": "guess guess guess" }));
    let right = Some(json!({ "name": "petrov", "password": PASSWORD }));
    for _ in 0..users::LOCK_AFTER_FAILURES {
        #[rustfmt::skip]
        expect(&api, [(&anyone, "POST", session, guess.clone(), 401, "")]).await;
    }
    #[rustfmt::skip]
    expect(&api, [
        (&anyone, "POST", session, right.clone(), 401,
         "locked: even the right password is refused"),
    ]).await;
    let reasons: Vec<Value> =
        sqlx::query_scalar("select details -> 'reason' from audit_log order by id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        reasons.last(),
        Some(&json!("account locked after repeated failures"))
    );

    // Once the lock has run out, the count starts afresh: one more wrong password does not
    // lock again.
    sqlx::query("update users set locked_until = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    #[rustfmt::skip]
    expect(&api, [(&anyone, "POST", session, guess.clone(), 401, "")]).await;
    sign_in(&api, "petrov", PASSWORD).await;

    // Locked again, setting the password lifts the lock.
    for _ in 0..users::LOCK_AFTER_FAILURES {
        send(&api, "POST", session, &anyone, guess.clone()).await;
    }
    users::set_password(&pool, "petrov", "a brand new passphrase")
        .await
        .unwrap();
    sign_in(&api, "petrov", "a brand new passphrase").await;
    #[rustfmt::skip]
    expect(&api, [(&anyone, "POST", session, right, 401, "the old password")]).await;
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn an_account_of_one_office_sees_and_changes_nothing_of_another(pool: PgPool) {
    let (accounting, store) = two_offices(&pool).await;
    create_user(&pool, "root", Role::Admin, None).await;
    create_user(&pool, "buh-viewer", Role::Viewer, Some(&["Бухгалтерия"])).await;
    create_user(
        &pool,
        "buh-operator",
        Role::Operator,
        Some(&["Бухгалтерия"]),
    )
    .await;
    create_user(&pool, "buh-admin", Role::Admin, Some(&["Бухгалтерия"])).await;
    let api = api(&pool);
    let root = sign_in(&api, "root", PASSWORD).await;
    let viewer = sign_in(&api, "buh-viewer", PASSWORD).await;
    let operator = sign_in(&api, "buh-operator", PASSWORD).await;
    let admin = sign_in(&api, "buh-admin", PASSWORD).await;
    let theirs = format!("finding:token.pin_count_low:{store}");
    let ours = format!("finding:token.pin_count_low:{accounting}");
    let their_alert = alert_id(&pool, &theirs).await;
    let shared_alert = alert_id(&pool, &cert_key()).await;
    let their_path = format!("/api/v1/alerts/{their_alert}");
    let shared_path = format!("/api/v1/alerts/{shared_alert}");

    // Alerts: theirs is not listed, shown or acknowledged; the shared one lists our hosts only.
    let all = send(&api, "GET", "/api/v1/alerts", &root, None).await.body;
    assert!(keys(&all).contains(&theirs));
    for who in [&viewer, &operator, &admin] {
        let listed = send(&api, "GET", "/api/v1/alerts", who, None).await.body;
        assert_eq!(keys(&listed), [cert_key(), ours.clone()]);
        let shared = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["key"] == cert_key())
            .unwrap();
        assert_eq!(shared["hosts"], 3, "sklad-01 is not counted");
        let filtered = send(
            &api,
            "GET",
            "/api/v1/alerts?office=%D0%A1%D0%BA%D0%BB%D0%B0%D0%B4",
            who,
            None,
        )
        .await;
        assert_eq!(
            filtered.body,
            json!([]),
            "filtering by their office finds nothing"
        );
        #[rustfmt::skip]
        expect(&api, [(who, "GET", &their_path, None, 404, "")]).await;
    }
    let shown = send(&api, "GET", &shared_path, &viewer, None).await.body;
    assert_eq!(
        texts(&shown["host_list"], "hostname"),
        ["buh-01", "buh-02", "buh-03"]
    );
    let root_shown = send(&api, "GET", &shared_path, &root, None).await.body;
    assert_eq!(root_shown["host_list"].as_array().unwrap().len(), 4);

    let ack = Some(json!({ "comment": "seen" }));
    let (shared_ack, their_ack) = (format!("{shared_path}/ack"), format!("{their_path}/ack"));
    #[rustfmt::skip]
    expect(&api, [
        (&viewer,   "POST", &shared_ack, ack.clone(), 403, "a viewer changes nothing"),
        (&operator, "POST", &their_ack,  ack.clone(), 404, ""),
        (&admin,    "POST", &their_ack,  ack.clone(), 404, ""),
    ]).await;

    // Silences: only within our office, and theirs is neither listed nor ended.
    let until = (Utc::now() + Duration::days(1)).to_rfc3339();
    let silence = |office: Option<&str>| {
        let mut body = json!({ "code": "token.pin_count_low", "until": until, "comment": "new tokens ordered" });
        if let Some(office) = office {
            body["office"] = json!(office);
        }
        Some(body)
    };
    let silences = "/api/v1/silences";
    let theirs_silenced = send(&api, "POST", silences, &root, silence(Some("Склад"))).await;
    assert_eq!(theirs_silenced.status, 201);
    let their_silence = theirs_silenced.body["id"].as_i64().unwrap();
    #[rustfmt::skip]
    expect(&api, [
        (&operator, "POST", silences, silence(None),                422, "fleet-wide"),
        (&operator, "POST", silences, silence(Some("Склад")),       422, ""),
        (&viewer,   "POST", silences, silence(Some("Бухгалтерия")), 403, ""),
    ]).await;
    let ours_silenced = send(
        &api,
        "POST",
        silences,
        &operator,
        silence(Some("Бухгалтерия")),
    )
    .await;
    assert_eq!(ours_silenced.status, 201);
    let listed = send(&api, "GET", silences, &viewer, None).await.body;
    let ids: Vec<i64> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [ours_silenced.body["id"].as_i64().unwrap()]);
    assert_eq!(listed[0]["created_by"], "buh-operator");
    let their_silence_path = format!("/api/v1/silences/{their_silence}");
    #[rustfmt::skip]
    expect(&api, [(&operator, "DELETE", &their_silence_path, None, 404, "")]).await;
    let still: i64 =
        sqlx::query_scalar("select count(*) from silences where id = $1 and ends_at > now()")
            .bind(their_silence)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(still, 1);

    // Offices, their settings and maintenance windows.
    let offices = send(&api, "GET", "/api/v1/offices", &viewer, None)
        .await
        .body;
    assert_eq!(texts(&offices, "office"), ["Бухгалтерия"]);
    let settings = Some(json!({ "warning_days": 45 }));
    let their_settings = "/api/v1/offices/%D0%A1%D0%BA%D0%BB%D0%B0%D0%B4/alert-settings";
    let our_settings = "/api/v1/offices/%D0%91%D1%83%D1%85%D0%B3%D0%B0%D0%BB%D1%82%D0%B5%D1%80%D0%B8%D1%8F/alert-settings";
    #[rustfmt::skip]
    expect(&api, [
        (&admin,    "PUT", their_settings, settings.clone(), 422, ""),
        (&operator, "PUT", our_settings,   settings.clone(), 403, ""),
        (&admin,    "PUT", our_settings,   settings,         204, ""),
    ]).await;
    let window =
        |office: &str| Some(json!({ "office": office, "until": until, "comment": "moving" }));
    let maintenance = "/api/v1/maintenance";
    let their_window = send(&api, "POST", maintenance, &root, window("Склад")).await;
    let their_window = their_window.body["id"].as_i64().unwrap();
    #[rustfmt::skip]
    expect(&api, [
        (&operator, "POST", maintenance, window("Склад"),       422, ""),
        (&operator, "POST", maintenance, window("Бухгалтерия"), 201, ""),
    ]).await;
    let windows = send(&api, "GET", maintenance, &viewer, None).await.body;
    assert_eq!(windows.as_array().unwrap().len(), 1);
    assert_eq!(windows[0]["office"], "Бухгалтерия");
    let their_window_path = format!("/api/v1/maintenance/{their_window}");
    #[rustfmt::skip]
    expect(&api, [(&admin, "DELETE", &their_window_path, None, 404, "")]).await;

    // Accounts, channels and the fleet's audit log are for administrators of every office.
    let new_user = Some(json!({ "name": "intruder", "password": PASSWORD, "role": "admin" }));
    let takeover = Some(json!({ "password": "taken over root" }));
    #[rustfmt::skip]
    expect(&api, [
        (&admin,    "POST", "/api/v1/users",               new_user.clone(), 403, ""),
        (&admin,    "GET",  "/api/v1/users",               None,             403, ""),
        (&admin,    "PUT",  "/api/v1/users/root/password", takeover,         403, ""),
        (&admin,    "GET",  "/api/v1/channels",            None,             403, ""),
        (&root,     "GET",  "/api/v1/channels",            None,             200, ""),
        (&operator, "GET",  "/api/v1/audit",               None,             403, ""),
    ]).await;
    let ours_logged = send(&api, "GET", "/api/v1/audit", &admin, None).await.body;
    let offices_logged = texts(&ours_logged, "office");
    assert_eq!(offices_logged, ["Бухгалтерия"; 3], "{ours_logged}");
    let all_logged = send(&api, "GET", "/api/v1/audit?limit=500", &root, None)
        .await
        .body;
    let actions = texts(&all_logged, "action");
    assert_eq!(
        actions.iter().filter(|a| **a == "silence.create").count(),
        2
    );
    assert_eq!(actions.iter().filter(|a| **a == "login").count(), 4);
    #[rustfmt::skip]
    expect(&api, [
        (&root, "GET",  "/api/v1/audit?limit=100000", None,     422, ""),
        (&root, "GET",  "/api/v1/audit?limit=x",      None,     400, ""),
        (&root, "POST", "/api/v1/users",              new_user, 201, ""),
    ]).await;
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn an_api_token_acts_as_its_account_until_revoked_or_the_account_is_disabled(pool: PgPool) {
    let (_, store) = two_offices(&pool).await;
    create_user(&pool, "root", Role::Admin, None).await;
    create_user(&pool, "buh-viewer", Role::Viewer, Some(&["Бухгалтерия"])).await;
    let api = api(&pool);
    let viewer = sign_in(&api, "buh-viewer", PASSWORD).await;
    let created = send(
        &api,
        "POST",
        "/api/v1/api-tokens",
        &viewer,
        Some(json!({ "name": "nightly export" })),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let token = created.body["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("twk_"));
    let bearer = Auth::Bearer(token.clone());

    // The token sees what its account sees, and a change through it needs no CSRF token but
    // the account's role.
    let listed = send(&api, "GET", "/api/v1/alerts", &bearer, None)
        .await
        .body;
    assert!(!keys(&listed).contains(&format!("finding:token.pin_count_low:{store}")));
    assert!(!keys(&listed).is_empty());
    let until = (Utc::now() + Duration::days(1)).to_rfc3339();
    let silence =
        Some(json!({ "office": "Бухгалтерия", "code": "x", "until": until, "comment": "" }));
    #[rustfmt::skip]
    expect(&api, [(&bearer, "POST", "/api/v1/silences", silence, 403, "a viewer's token")]).await;
    let mine = send(&api, "GET", "/api/v1/api-tokens", &viewer, None)
        .await
        .body;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert!(mine[0]["last_used_at"].is_string());
    assert!(
        !mine.to_string().contains(&token),
        "the token is never listed"
    );

    // Revoked, it is refused; a new one stops with its account.
    let id = created.body["id"].as_i64().unwrap();
    let token_path = format!("/api/v1/api-tokens/{id}");
    #[rustfmt::skip]
    expect(&api, [
        (&viewer, "DELETE", &token_path,      None, 204, ""),
        (&bearer, "GET",    "/api/v1/alerts", None, 401, "revoked"),
    ]).await;
    let second = send(
        &api,
        "POST",
        "/api/v1/api-tokens",
        &viewer,
        Some(json!({ "name": "second" })),
    )
    .await
    .body;
    let second = Auth::Bearer(second["token"].as_str().unwrap().to_owned());
    #[rustfmt::skip]
    expect(&api, [(&second, "GET", "/api/v1/alerts", None, 200, "")]).await;
    let root = sign_in(&api, "root", PASSWORD).await;
    // Each account sees and revokes its own tokens only; an administrator of every office,
    // everyone's.
    let roots = send(
        &api,
        "POST",
        "/api/v1/api-tokens",
        &root,
        Some(json!({ "name": "root's" })),
    )
    .await
    .body;
    let roots_path = format!("/api/v1/api-tokens/{}", roots["id"]);
    let listed = |who: &Auth| {
        let (api, who) = (api.clone(), who.clone());
        async move {
            send(&api, "GET", "/api/v1/api-tokens", &who, None)
                .await
                .body
        }
    };
    assert_eq!(
        texts(&listed(&viewer).await, "name"),
        ["second", "nightly export"]
    );
    assert_eq!(
        texts(&listed(&root).await, "name"),
        ["root's", "second", "nightly export"]
    );
    let roots_token = Auth::Bearer(roots["token"].as_str().unwrap().to_owned());
    #[rustfmt::skip]
    expect(&api, [
        (&viewer,      "DELETE", &roots_path,      None, 404, "another account's token"),
        (&roots_token, "GET",    "/api/v1/alerts", None, 200, "still in use"),
    ]).await;
    #[rustfmt::skip]
    expect(&api, [
        (&root,   "POST", "/api/v1/users/buh-viewer/disable", None, 204, ""),
        (&second, "GET",  "/api/v1/alerts",                   None, 401, "the account is disabled"),
        (&viewer, "GET",  "/api/v1/alerts",                   None, 401, "the account is disabled"),
    ]).await;
    let login = Some(json!({ "name": "buh-viewer", "password": PASSWORD }));
    #[rustfmt::skip]
    expect(&api, [
        (&Auth::None, "POST", "/api/v1/session", login, 401, "the account is disabled"),
    ]).await;

    // The configured token is an administrator of every office; a guess is nobody.
    let configured = Auth::Bearer("configured-t0ken".into());
    let all = send(&api, "GET", "/api/v1/alerts", &configured, None)
        .await
        .body;
    assert!(keys(&all).contains(&format!("finding:token.pin_count_low:{store}")));
    let guess = Auth::Bearer("twk_guess".into());
    #[rustfmt::skip]
    expect(&api, [(&guess, "GET", "/api/v1/alerts", None, 401, "a guess")]).await;
    let stored: i64 = sqlx::query_scalar(
        "select count(*) from api_tokens where token_sha256 = sha256($1::text::bytea)",
    )
    .bind(&token)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(stored, 1, "only the digest is kept");

    let actions: Vec<String> = audited(&pool)
        .await
        .into_iter()
        .map(|(_, action, _)| action)
        .collect();
    assert_eq!(
        actions,
        [
            "login",
            "token.create",
            "token.revoke",
            "token.create",
            "login",
            "token.create",
            "user.disable",
            "login.failed"
        ]
    );
}
