//! PostgreSQL: connection pool and the embedded migrations.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};

/// The migrations in `../migrations`, embedded at build time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Oldest PostgreSQL the schema is written for (identity columns, `on conflict`, jsonb).
const MIN_SERVER_VERSION: i32 = 130_000;

/// Why the database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("PostgreSQL {found} is too old: 13 or newer is needed")]
    TooOld { found: String },
    #[error("cannot apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
}

/// Connect to `url` with at most `max_connections`, checking the server version.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, DbError> {
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .map_err(DbError::Connect)?;
    let version: String = sqlx::query_scalar("show server_version_num")
        .fetch_one(&pool)
        .await?;
    if version.parse::<i32>().unwrap_or(0) < MIN_SERVER_VERSION {
        return Err(DbError::TooOld { found: version });
    }
    Ok(pool)
}

/// Apply every migration not yet applied.
pub async fn migrate(pool: &PgPool) -> Result<(), DbError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}
