//! Alerts over stored inventories, with the clock moved across thresholds: one alert per
//! problem, escalation, resolution, silences, acknowledgement, repeats, and evaluations that are
//! repeated (a restart, a second server) without queuing anything twice.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use tokenwatch_proto::v1;
use tokenwatch_server::alerts::{self, Evaluator, NewSilence, Settings};
use tokenwatch_server::config::AlertsConfig;
use tokenwatch_server::ingest::apply_report;
use uuid::Uuid;

use crate::support::*;

/// The default settings, with agents that may stay silent for years (these tests move the
/// clock by weeks without reporting).
pub(crate) fn patient() -> Settings {
    let mut settings = Settings::from_config(&AlertsConfig::default());
    settings.agent_interval = Duration::days(3650);
    settings
}

/// Certificate 0 ends here.
pub(crate) fn end() -> DateTime<Utc> {
    base() + Duration::days(100)
}

pub(crate) fn expiring(hostname: &str) -> v1::Inventory {
    let mut inventory = workstation(hostname);
    inventory.certificates[0].not_after = ts(end());
    inventory
}

pub(crate) fn renewed(hostname: &str) -> v1::Inventory {
    let mut inventory = workstation(hostname);
    inventory.certificates.remove(0);
    inventory
}

pub(crate) fn cert_key() -> String {
    format!("certificate:{}", cert_hashes(0).1)
}

/// key, rule, severity, state and host names of the alerts whose key starts with `prefix`.
pub(crate) async fn alerts_like(
    pool: &PgPool,
    prefix: &str,
) -> Vec<(String, String, String, String, String)> {
    sqlx::query_as(
        "select a.key, a.rule, a.severity, a.state, \
             (select string_agg(h.hostname, ',' order by h.hostname) from alert_hosts h \
                 where h.alert_id = a.id) \
         from alerts a where starts_with(a.key, $1) order by a.id",
    )
    .bind(prefix)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Queued notifications: key, kind, severity.
pub(crate) async fn outbox(pool: &PgPool, prefix: &str) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "select a.key, n.kind, n.severity from alert_notifications n \
         join alerts a on a.id = n.alert_id where starts_with(a.key, $1) order by n.id",
    )
    .bind(prefix)
    .fetch_all(pool)
    .await
    .unwrap()
}

pub(crate) fn row(
    key: &str,
    rule: &str,
    severity: &str,
    state: &str,
    hosts: &str,
) -> (String, String, String, String, String) {
    (
        key.into(),
        rule.into(),
        severity.into(),
        state.into(),
        hosts.into(),
    )
}

pub(crate) fn note(key: &str, kind: &str, severity: &str) -> (String, String, String) {
    (key.into(), kind.into(), severity.into())
}

pub(crate) async fn three_hosts(pool: &PgPool) -> Vec<Uuid> {
    let office = office(pool, "Бухгалтерия").await;
    let mut agents = Vec::new();
    for name in ["buh-01", "buh-02", "buh-03"] {
        let agent = agent(pool, office, name).await;
        apply_report(pool, agent, &request(1, &expiring(name)), base())
            .await
            .unwrap();
        agents.push(agent);
    }
    agents
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_certificate_on_three_hosts_is_one_alert_from_warning_to_renewal(pool: PgPool) {
    let agents = three_hosts(&pool).await;
    let settings = patient();
    let key = cert_key();
    let hosts = "buh-01,buh-02,buh-03";

    alerts::evaluate(&pool, end() - Duration::days(31), &settings)
        .await
        .unwrap();
    assert_eq!(alerts_like(&pool, "certificate:").await, []);

    let at = end() - Duration::days(29);
    alerts::evaluate(&pool, at, &settings).await.unwrap();
    assert_eq!(
        alerts_like(&pool, "certificate:").await,
        [row(
            &key,
            "certificate.expiring",
            "warning",
            "firing",
            hosts
        )]
    );
    assert_eq!(outbox(&pool, &key).await, [note(&key, "fired", "warning")]);
    // The same moment again, as after a restart: nothing more.
    let again = alerts::evaluate(&pool, at, &settings).await.unwrap();
    assert_eq!(again.notifications, 0);
    assert_eq!(outbox(&pool, &key).await.len(), 1);

    let critical = end() - Duration::days(13);
    alerts::evaluate(&pool, critical, &settings).await.unwrap();
    assert_eq!(
        alerts_like(&pool, "certificate:").await,
        [row(
            &key,
            "certificate.expiring",
            "critical",
            "firing",
            hosts
        )]
    );
    assert_eq!(
        outbox(&pool, &key).await[1..],
        [note(&key, "escalated", "critical")]
    );

    // Unacknowledged and critical: repeated once the repeat interval has passed, not before.
    alerts::evaluate(&pool, critical + Duration::hours(23), &settings)
        .await
        .unwrap();
    assert_eq!(outbox(&pool, &key).await.len(), 2);
    alerts::evaluate(&pool, critical + Duration::hours(24), &settings)
        .await
        .unwrap();
    assert_eq!(
        outbox(&pool, &key).await[2..],
        [note(&key, "repeat", "critical")]
    );

    let expired = end() + Duration::hours(1);
    alerts::evaluate(&pool, expired, &settings).await.unwrap();
    assert_eq!(
        alerts_like(&pool, "certificate:").await,
        [row(
            &key,
            "certificate.expired",
            "critical",
            "firing",
            hosts
        )]
    );

    // Expired: the same alert, under its new rule, still repeated daily.
    assert_eq!(
        outbox(&pool, &key).await[3..],
        [note(&key, "repeat", "critical")]
    );

    // Renewed: two hosts no longer have it, the third still does.
    for (agent, name) in agents.iter().zip(["buh-01", "buh-02"]) {
        apply_report(&pool, *agent, &request(2, &renewed(name)), expired)
            .await
            .unwrap();
    }
    alerts::evaluate(&pool, expired + Duration::minutes(1), &settings)
        .await
        .unwrap();
    assert_eq!(
        alerts_like(&pool, "certificate:").await,
        [row(
            &key,
            "certificate.expired",
            "critical",
            "firing",
            "buh-03"
        )]
    );
    apply_report(&pool, agents[2], &request(2, &renewed("buh-03")), expired)
        .await
        .unwrap();
    let done = alerts::evaluate(&pool, expired + Duration::minutes(2), &settings)
        .await
        .unwrap();
    assert_eq!(done.resolved, 1);
    assert_eq!(
        alerts_like(&pool, "certificate:").await,
        [row(
            &key,
            "certificate.expired",
            "critical",
            "resolved",
            "buh-03"
        )]
    );
    let notes = outbox(&pool, &key).await;
    assert_eq!(notes.last(), Some(&note(&key, "resolved", "critical")));

    // The history tells the story; the host list shows the last hosts.
    let id: i64 = sqlx::query_scalar("select id from alerts where key = $1")
        .bind(&key)
        .fetch_one(&pool)
        .await
        .unwrap();
    let shown = alerts::show(&pool, id, None).await.unwrap().unwrap();
    let kinds: Vec<&str> = shown.history.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["fired", "escalated", "repeated", "repeated", "resolved"]
    );
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_silence_holds_notifications_back_and_an_acknowledgement_stops_repeats(pool: PgPool) {
    three_hosts(&pool).await;
    let settings = patient();
    let key = cert_key();
    let start = end() - Duration::days(13);
    let silence = NewSilence {
        certificate: Some(cert_hashes(0).1),
        until: start + Duration::days(2),
        comment: "renewal ordered".into(),
        created_by: "helpdesk".into(),
        ..NewSilence::default()
    };
    let silence = alerts::add_silence(&pool, &silence, start).await.unwrap();
    assert_eq!(alerts::silences(&pool, start, None).await.unwrap().len(), 1);

    alerts::evaluate(&pool, start, &settings).await.unwrap();
    alerts::evaluate(&pool, start + Duration::days(1), &settings)
        .await
        .unwrap();
    assert_eq!(
        alerts_like(&pool, "certificate:").await,
        [row(
            &key,
            "certificate.expiring",
            "critical",
            "firing",
            "buh-01,buh-02,buh-03"
        )]
    );
    assert_eq!(outbox(&pool, &key).await, []);

    // Once the silence is removed it is announced, once.
    let lifted = start + Duration::days(1) + Duration::hours(1);
    assert!(
        alerts::remove_silence(&pool, silence, lifted)
            .await
            .unwrap()
    );
    alerts::evaluate(&pool, lifted, &settings).await.unwrap();
    alerts::evaluate(&pool, lifted, &settings).await.unwrap();
    assert_eq!(outbox(&pool, &key).await, [note(&key, "fired", "critical")]);

    let id = alerts::list(
        &pool,
        &alerts::AlertFilter {
            state: Some("firing".into()),
            severity: Some("critical".into()),
            office: Some("Бухгалтерия".into()),
        },
        None,
    )
    .await
    .unwrap()
    .into_iter()
    .find(|a| a.key == key)
    .unwrap()
    .id;
    alerts::acknowledge(&pool, id, "ivanova", "new certificate on its way", lifted)
        .await
        .unwrap();
    alerts::evaluate(&pool, lifted + Duration::days(3), &settings)
        .await
        .unwrap();
    assert_eq!(outbox(&pool, &key).await.len(), 1);
    let shown = alerts::show(&pool, id, None).await.unwrap().unwrap();
    assert_eq!(shown.acknowledged_by.as_deref(), Some("ivanova"));
    let kinds: Vec<&str> = shown.history.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["fired", "silenced", "acknowledged"]);
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_maintenance_window_holds_notifications_back(pool: PgPool) {
    three_hosts(&pool).await;
    let key = cert_key();
    let start = end() - Duration::days(13);
    let window = alerts::NewMaintenance {
        office: "Бухгалтерия".into(),
        from: Some(start - Duration::hours(1)),
        until: start + Duration::hours(1),
        comment: "replacing the switch".into(),
    };
    alerts::add_maintenance(&pool, &window, start - Duration::hours(2))
        .await
        .unwrap();
    alerts::evaluate(&pool, start, &patient()).await.unwrap();
    assert_eq!(outbox(&pool, &key).await, []);
    alerts::evaluate(&pool, start + Duration::hours(2), &patient())
        .await
        .unwrap();
    assert_eq!(outbox(&pool, &key).await, [note(&key, "fired", "critical")]);
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn office_settings_override_the_thresholds(pool: PgPool) {
    three_hosts(&pool).await;
    let overrides = alerts::OfficeOverrides {
        warning_days: Some(120),
        ..Default::default()
    };
    alerts::set_office_overrides(&pool, "Бухгалтерия", overrides, &patient())
        .await
        .unwrap();
    alerts::evaluate(&pool, end() - Duration::days(100), &patient())
        .await
        .unwrap();
    assert_eq!(
        alerts_like(&pool, "certificate:").await,
        [row(
            &cert_key(),
            "certificate.expiring",
            "warning",
            "firing",
            "buh-01,buh-02,buh-03"
        )]
    );
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_token_that_left_every_host_fires_until_it_is_back(pool: PgPool) {
    let office = office(&pool, "Склад").await;
    let one = agent(&pool, office, "sklad-01").await;
    let two = agent(&pool, office, "sklad-02").await;
    let mut without = workstation("sklad-02");
    without.tokens.clear();
    apply_report(&pool, one, &request(1, &workstation("sklad-01")), base())
        .await
        .unwrap();
    apply_report(&pool, two, &request(1, &without), base())
        .await
        .unwrap();
    let settings = patient();
    alerts::evaluate(&pool, base(), &settings).await.unwrap();
    assert_eq!(alerts_like(&pool, "token.gone:").await, []);

    // Unplugged from the only host that had it: taken home for the night is not gone.
    let unplugged = base() + Duration::hours(1);
    let mut without_one = workstation("sklad-01");
    without_one.tokens.clear();
    apply_report(&pool, one, &request(2, &without_one), unplugged)
        .await
        .unwrap();
    // Last seen by the report before: 7 days from then is not more than 7.
    let later = base() + Duration::days(7);
    alerts::evaluate(&pool, later, &settings).await.unwrap();
    assert_eq!(alerts_like(&pool, "token.gone:").await, []);
    let later = later + Duration::minutes(1);
    alerts::evaluate(&pool, later, &settings).await.unwrap();
    let key: String = sqlx::query_scalar("select 'token.gone:' || id from tokens")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        alerts_like(&pool, "token.gone:").await,
        [row(&key, "token.gone", "warning", "firing", "sklad-01")]
    );
    assert_eq!(outbox(&pool, &key).await, [note(&key, "fired", "warning")]);

    apply_report(
        &pool,
        two,
        &request(2, &workstation("sklad-02")),
        later + Duration::hours(1),
    )
    .await
    .unwrap();
    alerts::evaluate(&pool, later + Duration::hours(1), &settings)
        .await
        .unwrap();
    assert_eq!(
        alerts_like(&pool, "token.gone:").await,
        [row(&key, "token.gone", "warning", "resolved", "sklad-01")]
    );
    assert_eq!(
        outbox(&pool, &key).await.last(),
        Some(&note(&key, "resolved", "warning"))
    );
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_silent_agent_fires_and_resolves_when_it_reports(pool: PgPool) {
    let office = office(&pool, "Филиал").await;
    let one = agent(&pool, office, "fil-01").await;
    apply_report(&pool, one, &request(1, &workstation("fil-01")), base())
        .await
        .unwrap();
    // 15 minutes × 3 by default.
    let settings = Settings::from_config(&AlertsConfig::default());
    let key = format!("agent.silent:{one}");
    alerts::evaluate(&pool, base() + Duration::minutes(45), &settings)
        .await
        .unwrap();
    assert_eq!(alerts_like(&pool, "agent.silent:").await, []);
    alerts::evaluate(&pool, base() + Duration::minutes(46), &settings)
        .await
        .unwrap();
    assert_eq!(
        alerts_like(&pool, "agent.silent:").await,
        [row(&key, "agent.silent", "warning", "firing", "fil-01")]
    );
    let back = base() + Duration::minutes(50);
    apply_report(&pool, one, &request(2, &workstation("fil-01")), back)
        .await
        .unwrap();
    alerts::evaluate(&pool, back, &settings).await.unwrap();
    assert_eq!(
        alerts_like(&pool, "agent.silent:").await,
        [row(&key, "agent.silent", "warning", "resolved", "fil-01")]
    );
    assert_eq!(
        outbox(&pool, &key).await,
        [
            note(&key, "fired", "warning"),
            note(&key, "resolved", "warning")
        ]
    );
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn agents_findings_are_one_alert_per_code_and_office(pool: PgPool) {
    three_hosts(&pool).await;
    alerts::evaluate(&pool, base(), &patient()).await.unwrap();
    let rows = alerts_like(&pool, "finding:").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].1, "token.pin_count_low");
    assert_eq!(rows[0].4, "buh-01,buh-02,buh-03");
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn one_evaluator_at_a_time_and_another_takes_over_when_it_dies(pool: PgPool) {
    three_hosts(&pool).await;
    let options = pool.connect_options();
    let other = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect_with((*options).clone())
        .await
        .unwrap();
    let mut first = Evaluator::new(pool.clone(), patient());
    let mut second = Evaluator::new(other, patient());
    let at = end() - Duration::days(13);

    assert!(first.step(at).await.unwrap().is_some());
    assert_eq!(second.step(at).await.unwrap(), None);
    assert!(first.is_leader() && !second.is_leader());

    // The first process's session dies (a crash, a network cut): its lock goes with it.
    let killed: bool = sqlx::query_scalar(
        "select bool_and(pg_terminate_backend(pid)) from pg_locks \
         where locktype = 'advisory' and granted \
             and database = (select oid from pg_database where datname = current_database())",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(killed);
    // The backend exits a moment after the signal.
    let mut outcome = None;
    for _ in 0..100 {
        outcome = second.step(at).await.unwrap();
        if outcome.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let outcome = outcome.expect("took over");
    // Same moment, another process: nothing is queued twice.
    assert_eq!(outcome.notifications, 0);
    assert_eq!(outbox(&pool, &cert_key()).await.len(), 1);
    assert!(first.step(at).await.is_err());
    assert!(!first.is_leader());
    assert_eq!(first.step(at).await.unwrap(), None);
}

/// One API call: status and JSON answer.
pub(crate) async fn call(
    router: &axum::Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    use tower::ServiceExt as _;
    let mut request = axum::http::Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
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
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, json)
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn the_api_lists_shows_acknowledges_and_silences_with_its_token(pool: PgPool) {
    use tokenwatch_server::http::{BearerToken, HttpState, router};
    three_hosts(&pool).await;
    alerts::evaluate(&pool, end() - Duration::days(13), &patient())
        .await
        .unwrap();
    let router = router(HttpState {
        pool: pool.clone(),
        metrics: std::sync::Arc::new(tokenwatch_server::metrics::Metrics::new(
            std::time::Duration::from_secs(15),
        )),
        metrics_token: None,
        api_token: BearerToken::new("s3cret"),
        secure_cookies: true,
        channels: Default::default(),
        alert_defaults: std::sync::Arc::new(patient()),
        // Counted on every request: tests change the inventory between requests.
        summaries: std::sync::Arc::new(tokenwatch_server::query::Summaries::new(
            std::time::Duration::ZERO,
        )),
    });
    let token = Some("s3cret");

    let (status, _) = call(&router, "GET", "/api/v1/alerts", None, None).await;
    assert_eq!(status, 401);
    let (status, _) = call(&router, "GET", "/api/v1/alerts", Some("wrong"), None).await;
    assert_eq!(status, 401);

    let path = "/api/v1/alerts?state=firing&severity=critical&office=%D0%91%D1%83%D1%85%D0%B3%D0%B0%D0%BB%D1%82%D0%B5%D1%80%D0%B8%D1%8F";
    let (status, list) = call(&router, "GET", path, token, None).await;
    assert_eq!(status, 200);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["key"], cert_key());
    assert_eq!(list[0]["hosts"], 3);
    let id = list[0]["id"].as_i64().unwrap();
    let (_, none) = call(&router, "GET", "/api/v1/alerts?state=resolved", token, None).await;
    assert_eq!(none, serde_json::json!([]));

    let ack = serde_json::json!({ "comment": "on it", "by": "petrov" });
    let (status, _) = call(
        &router,
        "POST",
        &format!("/api/v1/alerts/{id}/ack"),
        token,
        Some(ack),
    )
    .await;
    assert_eq!(status, 204);
    let (status, shown) = call(&router, "GET", &format!("/api/v1/alerts/{id}"), token, None).await;
    assert_eq!(status, 200);
    assert_eq!(shown["acknowledged_by"], "petrov");
    assert_eq!(shown["host_list"].as_array().unwrap().len(), 3);
    // The API acknowledges at the wall clock, which is before this test's evaluation clock.
    let kinds: Vec<&str> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["acknowledged", "fired"]);
    let (status, _) = call(&router, "GET", "/api/v1/alerts/999999", token, None).await;
    assert_eq!(status, 404);

    let silence = serde_json::json!({
        "host": "buh-02", "until": "2099-01-01T00:00:00Z", "comment": "replaced PC",
        "created_by": "petrov",
    });
    let (status, created) = call(&router, "POST", "/api/v1/silences", token, Some(silence)).await;
    assert_eq!(status, 201);
    let silence = created["id"].as_i64().unwrap();
    let (_, listed) = call(&router, "GET", "/api/v1/silences", token, None).await;
    assert_eq!(
        listed[0]["matchers"],
        serde_json::json!({ "host": "buh-02" })
    );
    let empty = serde_json::json!({ "until": "2099-01-01T00:00:00Z", "comment": "all" });
    let (status, _) = call(&router, "POST", "/api/v1/silences", token, Some(empty)).await;
    assert_eq!(status, 422);
    let path = format!("/api/v1/silences/{silence}");
    assert_eq!(call(&router, "DELETE", &path, token, None).await.0, 204);
    assert_eq!(call(&router, "DELETE", &path, token, None).await.0, 404);
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_host_silence_also_mutes_the_resolution(pool: PgPool) {
    let office = office(&pool, "Филиал").await;
    let one = agent(&pool, office, "fil-01").await;
    apply_report(&pool, one, &request(1, &workstation("fil-01")), base())
        .await
        .unwrap();
    let settings = Settings::from_config(&AlertsConfig::default());
    let key = format!("agent.silent:{one}");
    let silent = base() + Duration::hours(1);
    alerts::evaluate(&pool, silent, &settings).await.unwrap();
    assert_eq!(outbox(&pool, &key).await, [note(&key, "fired", "warning")]);

    let silence = NewSilence {
        host: Some("fil-01".into()),
        until: silent + Duration::days(1),
        comment: "being reinstalled".into(),
        ..NewSilence::default()
    };
    alerts::add_silence(&pool, &silence, silent).await.unwrap();
    let back = silent + Duration::hours(1);
    apply_report(&pool, one, &request(2, &workstation("fil-01")), back)
        .await
        .unwrap();
    alerts::evaluate(&pool, back, &settings).await.unwrap();
    assert_eq!(
        alerts_like(&pool, "agent.silent:").await,
        [row(&key, "agent.silent", "warning", "resolved", "fil-01")]
    );
    assert_eq!(outbox(&pool, &key).await.len(), 1);
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn an_alert_acknowledged_while_silenced_is_never_announced(pool: PgPool) {
    three_hosts(&pool).await;
    let settings = patient();
    let key = cert_key();
    let start = end() - Duration::days(13);
    let silence = NewSilence {
        office: Some("Бухгалтерия".into()),
        until: start + Duration::hours(1),
        comment: "office move".into(),
        ..NewSilence::default()
    };
    alerts::add_silence(&pool, &silence, start).await.unwrap();
    alerts::evaluate(&pool, start, &settings).await.unwrap();
    let id: i64 = sqlx::query_scalar("select id from alerts where key = $1")
        .bind(&key)
        .fetch_one(&pool)
        .await
        .unwrap();
    alerts::acknowledge(&pool, id, "ivanova", "known", start)
        .await
        .unwrap();
    for hours in [2, 30, 60] {
        alerts::evaluate(&pool, start + Duration::hours(hours), &settings)
            .await
            .unwrap();
    }
    assert_eq!(outbox(&pool, &key).await, []);
    // Acknowledging a resolved or unknown alert is refused.
    assert!(
        alerts::acknowledge(&pool, 999_999, "ivanova", "", start)
            .await
            .is_err()
    );
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn the_evaluator_loop_evaluates_on_its_interval_and_stops(pool: PgPool) {
    let office = office(&pool, "Филиал").await;
    let one = agent(&pool, office, "fil-01").await;
    // Reported long before the wall clock: silent by now.
    apply_report(&pool, one, &request(1, &workstation("fil-01")), base())
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let settings = Settings::from_config(&AlertsConfig::default());
    let running = tokio::spawn(
        Evaluator::new(pool.clone(), settings).run(std::time::Duration::from_millis(50), stopped),
    );
    let mut firing = Vec::new();
    for _ in 0..100 {
        firing = alerts_like(&pool, "agent.silent:").await;
        if !firing.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(firing.len(), 1);
    stop.send(true).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), running)
        .await
        .expect("stops")
        .unwrap();
    // The lock went with it: a step elsewhere takes it.
    let mut next = Evaluator::new(pool.clone(), patient());
    assert!(next.step(Utc::now()).await.unwrap().is_some());
}
