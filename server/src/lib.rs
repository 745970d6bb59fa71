//! tokenwatch server: enrols agents, takes their inventories over mutual TLS and keeps the
//! organisation's e-signature inventory, with its history, in PostgreSQL.
//!
//! [`run`] is the whole server; `main` only parses the command line, binds the listeners and
//! waits for a signal, so tests start the very same server on ephemeral ports. The server keeps
//! no state of its own beyond the database and the PKI files, so several processes can serve
//! one database (the report rate limit is counted per process).

pub mod access;
pub mod alerts;
pub mod cli;
pub mod config;
mod dashboard;
pub mod db;
pub mod findings;
#[doc(hidden)]
pub mod fuzzing;
mod grpc;
pub mod http;
pub mod ingest;
pub mod inventory;
mod lease;
mod listener;
pub mod metrics;
pub mod notify;
pub mod pki;
pub mod query;
pub mod registry;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;

pub use config::Config;
pub use listener::raise_open_file_limit;

/// The bound sockets the server accepts on.
#[derive(Debug)]
pub struct Listeners {
    /// Agents' gRPC over TLS.
    pub grpc: TcpListener,
    /// Health endpoints and metrics.
    pub http: TcpListener,
}

/// Connect to the database, apply migrations, load or create the PKI, then serve gRPC and HTTP
/// until `shutdown` completes, finishing requests in flight.
pub async fn run(
    config: Config,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    config.validate()?;
    listener::check_open_file_limit(&config);
    // Before anything else starts: an unusable token file is a configuration error.
    let metrics_token = config
        .http
        .metrics_bearer_token_file
        .as_deref()
        .map(http::BearerToken::read)
        .transpose()?;
    let api_token = config
        .http
        .api_bearer_token_file
        .as_deref()
        .map(http::BearerToken::read)
        .transpose()?;
    // Likewise an unreadable channel secret or CA file.
    let channels = Arc::new(notify::Channels::from_config(&config.notify)?);
    let pool = db::connect(
        config.database.url.expose(),
        config.database.max_connections,
    )
    .await
    .with_context(|| format!("database {}", config.database.url))?;
    db::migrate(&pool).await?;
    let pki = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || pki::Pki::load_or_create(&config))
            .await
            .context("loading the PKI")??
    };
    let pki = Arc::new(pki);
    let metrics = Arc::new(metrics::Metrics::new(config.http.metrics_max_age.get()));
    tracing::info!(
        message = "Serving.",
        grpc = %listeners.grpc.local_addr()?,
        http = %listeners.http.local_addr()?,
    );

    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let wait = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        // An error means the sender is gone, which only happens after it sent `true`.
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let (changed, following) = alerts::follow_reports(
        pool.clone(),
        alerts::Settings::from_config(&config.alerts),
        stopped.clone(),
    );
    let grpc = grpc::serve(
        &config,
        pool.clone(),
        pki,
        Arc::clone(&metrics),
        changed,
        listeners.grpc,
        wait(stopped.clone()),
    );
    let state = http::HttpState {
        pool: pool.clone(),
        metrics: Arc::clone(&metrics),
        metrics_token,
        api_token,
        secure_cookies: config.http.secure_cookies,
        channels: Arc::clone(&channels),
        alert_defaults: Arc::new(alerts::Settings::from_config(&config.alerts)),
        summaries: Arc::new(query::Summaries::new(config.http.summary_max_age.get())),
    };
    let evaluator =
        alerts::Evaluator::new(pool.clone(), alerts::Settings::from_config(&config.alerts));
    let evaluation =
        tokio::spawn(evaluator.run(config.alerts.evaluation_interval.get(), stopped.clone()));
    for channel in channels.iter() {
        metrics.register_channel(channel.name());
    }
    let deliverer = notify::Deliverer::new(
        pool.clone(),
        Arc::clone(&channels),
        notify::outbox::Retry::from_config(&config.notify),
        Arc::clone(&metrics),
    );
    let delivery =
        tokio::spawn(deliverer.run(config.notify.delivery_interval.get(), stopped.clone()));
    let http = http::serve(state, listeners.http, &config.http, wait(stopped));
    // The first to fail stops the other.
    let served = tokio::try_join!(async { grpc.await.context("gRPC server") }, async {
        http.await.context("HTTP server")
    });
    // An evaluation cut short rolls back; its lock goes with its connection.
    evaluation.abort();
    let _ = evaluation.await;
    following.abort();
    let _ = following.await;
    // A delivery cut short is tried again by whoever delivers next.
    delivery.abort();
    let _ = delivery.await;
    served?;
    pool.close().await;
    tracing::info!(message = "Stopped.");
    Ok(())
}
