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

fn keys(list: &Value) -> Vec<String> {
    let mut keys: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["key"].as_str().unwrap().to_owned())
        .collect();
    keys.sort();
    keys
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_session_needs_its_csrf_token_for_changes_and_ends_on_sign_out(pool: PgPool) {
    two_offices(&pool).await;
    create_user(&pool, "ivanova", Role::Operator, None).await;
    let api = api(&pool);

    assert_eq!(
        send(&api, "GET", "/api/v1/alerts", &Auth::None, None)
            .await
            .status,
        401
    );
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
    assert_eq!(
        send(&api, "POST", &path, &no_csrf, Some(body.clone()))
            .await
            .status,
        403
    );
    let forged = Auth::Session {
        cookie: cookie.clone(),
        csrf: Some("0".repeat(64)),
    };
    assert_eq!(
        send(&api, "POST", &path, &forged, Some(body.clone()))
            .await
            .status,
        403
    );
    let acknowledged_by: Option<String> =
        sqlx::query_scalar("select acknowledged_by from alerts where id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(acknowledged_by, None, "refused changes change nothing");
    assert_eq!(
        send(&api, "POST", &path, &session, Some(body)).await.status,
        204
    );
    let acknowledged_by: Option<String> =
        sqlx::query_scalar("select acknowledged_by from alerts where id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(acknowledged_by.as_deref(), Some("ivanova"));

    // Signing out needs the token too, and ends the session.
    assert_eq!(
        send(&api, "DELETE", "/api/v1/session", &no_csrf, None)
            .await
            .status,
        403
    );
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
    assert_eq!(
        send(&api, "GET", "/api/v1/alerts", &no_csrf, None)
            .await
            .status,
        401
    );

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
    for _ in 0..users::LOCK_AFTER_FAILURES {
        let wrong = send(
            &api,
            "POST",
            "/api/v1/session",
            &Auth::None,
            Some(json!({ "name": "petrov", "password": "guess guess guess" })),
        )
        .await;
        assert_eq!(wrong.status, 401);
    }
    let locked = send(
        &api,
        "POST",
        "/api/v1/session",
        &Auth::None,
        Some(json!({ "name": "petrov", "password": PASSWORD })),
    )
    .await;
    assert_eq!(
        locked.status, 401,
        "locked: even the right password is refused"
    );
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
    let guess = json!({ "name": "petrov", "password": "guess guess guess" });
    let wrong = send(
        &api,
        "POST",
        "/api/v1/session",
        &Auth::None,
        Some(guess.clone()),
    )
    .await;
    assert_eq!(wrong.status, 401);
    sign_in(&api, "petrov", PASSWORD).await;

    // Locked again, setting the password lifts the lock.
    for _ in 0..users::LOCK_AFTER_FAILURES {
        send(
            &api,
            "POST",
            "/api/v1/session",
            &Auth::None,
            Some(guess.clone()),
        )
        .await;
    }
    users::set_password(&pool, "petrov", "a brand new passphrase")
        .await
        .unwrap();
    sign_in(&api, "petrov", "a brand new passphrase").await;
    let old = send(
        &api,
        "POST",
        "/api/v1/session",
        &Auth::None,
        Some(json!({ "name": "petrov", "password": PASSWORD })),
    )
    .await;
    assert_eq!(old.status, 401);
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
        assert_eq!(
            send(
                &api,
                "GET",
                &format!("/api/v1/alerts/{their_alert}"),
                who,
                None
            )
            .await
            .status,
            404
        );
    }
    let shown = send(
        &api,
        "GET",
        &format!("/api/v1/alerts/{shared_alert}"),
        &viewer,
        None,
    )
    .await
    .body;
    let hosts: Vec<&str> = shown["host_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["hostname"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, ["buh-01", "buh-02", "buh-03"]);
    let root_shown = send(
        &api,
        "GET",
        &format!("/api/v1/alerts/{shared_alert}"),
        &root,
        None,
    )
    .await
    .body;
    assert_eq!(root_shown["host_list"].as_array().unwrap().len(), 4);

    let ack = json!({ "comment": "seen" });
    assert_eq!(
        send(
            &api,
            "POST",
            &format!("/api/v1/alerts/{shared_alert}/ack"),
            &viewer,
            Some(ack.clone())
        )
        .await
        .status,
        403,
        "a viewer changes nothing"
    );
    assert_eq!(
        send(
            &api,
            "POST",
            &format!("/api/v1/alerts/{their_alert}/ack"),
            &operator,
            Some(ack.clone())
        )
        .await
        .status,
        404
    );
    assert_eq!(
        send(
            &api,
            "POST",
            &format!("/api/v1/alerts/{their_alert}/ack"),
            &admin,
            Some(ack.clone())
        )
        .await
        .status,
        404
    );

    // Silences: only within our office, and theirs is neither listed nor ended.
    let until = (Utc::now() + Duration::days(1)).to_rfc3339();
    let silence = |office: Option<&str>| {
        let mut body = json!({ "code": "token.pin_count_low", "until": until, "comment": "new tokens ordered" });
        if let Some(office) = office {
            body["office"] = json!(office);
        }
        body
    };
    let theirs_silenced = send(
        &api,
        "POST",
        "/api/v1/silences",
        &root,
        Some(silence(Some("Склад"))),
    )
    .await;
    assert_eq!(theirs_silenced.status, 201);
    let their_silence = theirs_silenced.body["id"].as_i64().unwrap();
    assert_eq!(
        send(
            &api,
            "POST",
            "/api/v1/silences",
            &operator,
            Some(silence(None))
        )
        .await
        .status,
        422,
        "fleet-wide"
    );
    assert_eq!(
        send(
            &api,
            "POST",
            "/api/v1/silences",
            &operator,
            Some(silence(Some("Склад")))
        )
        .await
        .status,
        422
    );
    assert_eq!(
        send(
            &api,
            "POST",
            "/api/v1/silences",
            &viewer,
            Some(silence(Some("Бухгалтерия")))
        )
        .await
        .status,
        403
    );
    let ours_silenced = send(
        &api,
        "POST",
        "/api/v1/silences",
        &operator,
        Some(silence(Some("Бухгалтерия"))),
    )
    .await;
    assert_eq!(ours_silenced.status, 201);
    let listed = send(&api, "GET", "/api/v1/silences", &viewer, None)
        .await
        .body;
    let ids: Vec<i64> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [ours_silenced.body["id"].as_i64().unwrap()]);
    assert_eq!(listed[0]["created_by"], "buh-operator");
    assert_eq!(
        send(
            &api,
            "DELETE",
            &format!("/api/v1/silences/{their_silence}"),
            &operator,
            None
        )
        .await
        .status,
        404
    );
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
    let names: Vec<&str> = offices
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["office"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Бухгалтерия"]);
    let settings = json!({ "warning_days": 45 });
    assert_eq!(
        send(
            &api,
            "PUT",
            "/api/v1/offices/%D0%A1%D0%BA%D0%BB%D0%B0%D0%B4/alert-settings",
            &admin,
            Some(settings.clone())
        )
        .await
        .status,
        422
    );
    assert_eq!(send(&api, "PUT", "/api/v1/offices/%D0%91%D1%83%D1%85%D0%B3%D0%B0%D0%BB%D1%82%D0%B5%D1%80%D0%B8%D1%8F/alert-settings", &operator, Some(settings.clone())).await.status, 403);
    assert_eq!(send(&api, "PUT", "/api/v1/offices/%D0%91%D1%83%D1%85%D0%B3%D0%B0%D0%BB%D1%82%D0%B5%D1%80%D0%B8%D1%8F/alert-settings", &admin, Some(settings)).await.status, 204);
    let window = |office: &str| json!({ "office": office, "until": until, "comment": "moving" });
    let their_window = send(
        &api,
        "POST",
        "/api/v1/maintenance",
        &root,
        Some(window("Склад")),
    )
    .await
    .body["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        send(
            &api,
            "POST",
            "/api/v1/maintenance",
            &operator,
            Some(window("Склад"))
        )
        .await
        .status,
        422
    );
    assert_eq!(
        send(
            &api,
            "POST",
            "/api/v1/maintenance",
            &operator,
            Some(window("Бухгалтерия"))
        )
        .await
        .status,
        201
    );
    let windows = send(&api, "GET", "/api/v1/maintenance", &viewer, None)
        .await
        .body;
    assert_eq!(windows.as_array().unwrap().len(), 1);
    assert_eq!(windows[0]["office"], "Бухгалтерия");
    assert_eq!(
        send(
            &api,
            "DELETE",
            &format!("/api/v1/maintenance/{their_window}"),
            &admin,
            None
        )
        .await
        .status,
        404
    );

    // Accounts, channels and the fleet's audit log are for administrators of every office.
    let new_user = json!({ "name": "intruder", "password": PASSWORD, "role": "admin" });
    assert_eq!(
        send(
            &api,
            "POST",
            "/api/v1/users",
            &admin,
            Some(new_user.clone())
        )
        .await
        .status,
        403
    );
    assert_eq!(
        send(&api, "GET", "/api/v1/users", &admin, None)
            .await
            .status,
        403
    );
    assert_eq!(
        send(
            &api,
            "PUT",
            "/api/v1/users/root/password",
            &admin,
            Some(json!({ "password": "taken over root" }))
        )
        .await
        .status,
        403
    );
    assert_eq!(
        send(&api, "GET", "/api/v1/channels", &admin, None)
            .await
            .status,
        403
    );
    assert_eq!(
        send(&api, "GET", "/api/v1/channels", &root, None)
            .await
            .status,
        200
    );
    assert_eq!(
        send(&api, "GET", "/api/v1/audit", &operator, None)
            .await
            .status,
        403
    );
    let ours_logged = send(&api, "GET", "/api/v1/audit", &admin, None).await.body;
    let offices_logged: Vec<&str> = ours_logged
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["office"].as_str().unwrap())
        .collect();
    assert_eq!(offices_logged, ["Бухгалтерия"; 3], "{ours_logged}");
    let all_logged = send(&api, "GET", "/api/v1/audit?limit=500", &root, None)
        .await
        .body;
    let actions: Vec<&str> = all_logged
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "silence.create").count(),
        2
    );
    assert_eq!(actions.iter().filter(|a| **a == "login").count(), 4);
    assert_eq!(
        send(&api, "GET", "/api/v1/audit?limit=100000", &root, None)
            .await
            .status,
        422
    );
    assert_eq!(
        send(&api, "GET", "/api/v1/audit?limit=x", &root, None)
            .await
            .status,
        400
    );
    assert!(
        send(&api, "POST", "/api/v1/users", &root, Some(new_user))
            .await
            .status
            == 201
    );
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
    let silence = json!({ "office": "Бухгалтерия", "code": "x", "until": until, "comment": "" });
    assert_eq!(
        send(&api, "POST", "/api/v1/silences", &bearer, Some(silence))
            .await
            .status,
        403
    );
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
    assert_eq!(
        send(
            &api,
            "DELETE",
            &format!("/api/v1/api-tokens/{id}"),
            &viewer,
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(
        send(&api, "GET", "/api/v1/alerts", &bearer, None)
            .await
            .status,
        401
    );
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
    assert_eq!(
        send(&api, "GET", "/api/v1/alerts", &second, None)
            .await
            .status,
        200
    );
    let root = sign_in(&api, "root", PASSWORD).await;
    assert_eq!(
        send(
            &api,
            "POST",
            "/api/v1/users/buh-viewer/disable",
            &root,
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(
        send(&api, "GET", "/api/v1/alerts", &second, None)
            .await
            .status,
        401
    );
    assert_eq!(
        send(&api, "GET", "/api/v1/alerts", &viewer, None)
            .await
            .status,
        401
    );
    let refused = send(
        &api,
        "POST",
        "/api/v1/session",
        &Auth::None,
        Some(json!({ "name": "buh-viewer", "password": PASSWORD })),
    )
    .await;
    assert_eq!(refused.status, 401);

    // The configured token is an administrator of every office; a guess is nobody.
    let configured = Auth::Bearer("configured-t0ken".into());
    let all = send(&api, "GET", "/api/v1/alerts", &configured, None)
        .await
        .body;
    assert!(keys(&all).contains(&format!("finding:token.pin_count_low:{store}")));
    assert_eq!(
        send(
            &api,
            "GET",
            "/api/v1/alerts",
            &Auth::Bearer("twk_guess".into()),
            None
        )
        .await
        .status,
        401
    );
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
            "user.disable",
            "login.failed"
        ]
    );
}
