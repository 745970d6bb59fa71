//! What the server's benchmarks share: their knobs, their runtime and a scratch database.

use std::future::Future;

use sqlx::{AssertSqlSafe, Connection, PgConnection};

/// The environment variable `name` as a number, else `default`.
pub(crate) fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Run `bench` on a multi-threaded runtime, warnings (or `RUST_LOG`) logged to stderr beside
/// the figures.
pub(crate) fn run(bench: impl Future<Output = ()>) {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(bench);
}

/// A fresh database beside the one `DATABASE_URL` names, dropped by [`Scratch::finish`]
/// unless `BENCH_KEEP_DATABASE` is set.
pub(crate) struct Scratch {
    pub(crate) name: String,
    pub(crate) url: String,
    admin: PgConnection,
}

impl Scratch {
    pub(crate) async fn create(prefix: &str) -> Self {
        let url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("{prefix}_{}", std::process::id());
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, format!("?{q}")),
            None => (url.as_str(), String::new()),
        };
        let scratch_url = format!("{}/{name}{query}", &base[..base.rfind('/').unwrap()]);
        let mut admin = PgConnection::connect(&url).await.unwrap();
        sqlx::query(AssertSqlSafe(format!("create database {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        Self {
            name,
            url: scratch_url,
            admin,
        }
    }

    /// The PostgreSQL version, for the figures' heading.
    pub(crate) async fn server_version(&mut self) -> String {
        sqlx::query_scalar("show server_version")
            .fetch_one(&mut self.admin)
            .await
            .unwrap()
    }

    /// Drop the database (its pools must be closed), or say where it was kept.
    pub(crate) async fn finish(mut self) {
        if std::env::var_os("BENCH_KEEP_DATABASE").is_some() {
            println!("kept database {}", self.name);
            return;
        }
        sqlx::query(AssertSqlSafe(format!(
            "drop database {} with (force)",
            self.name
        )))
        .execute(&mut self.admin)
        .await
        .unwrap();
    }
}
