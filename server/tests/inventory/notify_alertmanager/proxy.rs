//! Alertmanager behind an authenticating reverse proxy under a path prefix, as the channel's
//! `bearer_token_file` is meant for: Alertmanager itself checks no bearer tokens.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use sqlx::PgPool;

use super::real::{Alertmanager, Sink};
use super::*;

const TOKEN: &str = "s3cret";

/// Forwards `POST /behind/api/v2/alerts` to Alertmanager when it carries the token.
#[derive(Clone, Debug)]
struct Proxy {
    upstream: String,
    client: reqwest::Client,
    /// The path and `Authorization` header of every request.
    seen: Arc<Mutex<Vec<(String, String)>>>,
}

async fn forward(
    State(proxy): State<Proxy>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let authorization = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    proxy
        .seen
        .lock()
        .unwrap()
        .push((uri.path().to_owned(), authorization.clone()));
    if authorization != format!("Bearer {TOKEN}") {
        return (StatusCode::UNAUTHORIZED, "bad token".to_owned());
    }
    let answer = proxy
        .client
        .post(format!("{}/api/v2/alerts", proxy.upstream))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
    (status, answer.text().await.unwrap())
}

/// Start the proxy in front of `upstream`; returns its base URL (with the prefix and a
/// trailing slash, as people write URLs) and what it saw.
async fn start_proxy(upstream: &str) -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    let proxy = Proxy {
        upstream: upstream.to_owned(),
        client: reqwest::Client::new(),
        seen: Arc::default(),
    };
    let seen = Arc::clone(&proxy.seen);
    let router = axum::Router::new()
        .route("/behind/api/v2/alerts", axum::routing::post(forward))
        .with_state(proxy);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/behind/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, seen)
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn the_bearer_token_passes_a_proxy_and_a_wrong_one_is_refused_for_good(pool: PgPool) {
    let sink = Sink::start().await;
    let manager = Alertmanager::start(&sink).await;
    let (url, seen) = start_proxy(&manager.url).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = NotifyConfig::default();
    for (name, token) in [(CHANNEL, TOKEN), ("am-wrong", "guess")] {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("{token}\n")).unwrap();
        let mut channel = channel(&url, 60);
        channel.bearer_token_file = Some(path);
        config.alertmanager.insert(name.to_owned(), channel);
    }
    critical_in_ten_days(&pool).await;

    let (mut deliverer, _) = start_deliverer(&pool, &config);
    let round = step(&mut deliverer, wall()).await;
    // A refused token is a configuration error: retrying cannot help.
    assert_eq!(
        (round.sent, round.failed, round.abandoned),
        (1, 0, 1),
        "{round:?}"
    );
    let held = manager.alerts().await;
    assert_eq!(held.len(), 1, "{held:#?}");
    assert_eq!(held[0]["labels"]["tokenwatch_key"], key(0).as_str());
    let (abandoned, error): (bool, String) = sqlx::query_as(
        "select abandoned_at is not null, last_error from notification_deliveries \
         where channel = 'am-wrong'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(abandoned);
    assert_eq!(
        error,
        "alertmanager am-wrong refused the message: HTTP 401 Unauthorized: bad token"
    );
    // The post and the re-post of `am`, then the refused post; one path for all.
    assert_eq!(
        *seen.lock().unwrap(),
        [
            (
                "/behind/api/v2/alerts".to_owned(),
                format!("Bearer {TOKEN}")
            ),
            (
                "/behind/api/v2/alerts".to_owned(),
                format!("Bearer {TOKEN}")
            ),
            (
                "/behind/api/v2/alerts".to_owned(),
                "Bearer guess".to_owned()
            ),
        ]
    );
}
