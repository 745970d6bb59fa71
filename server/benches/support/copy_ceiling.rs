//! The ceiling the ingest figures are set against: the rows reports left, written again with
//! a plain `COPY` into tables of the same shape without keys or indexes.

use std::time::{Duration, Instant};

use sqlx::AssertSqlSafe;
use sqlx::postgres::{PgPool, PgPoolCopyExt};

/// The tables one changed report writes rows to (besides `agents` and new identities).
const ROW_TABLES: [&str; 10] = [
    "hosts",
    "host_readers",
    "host_tokens",
    "host_containers",
    "host_findings",
    "host_collectors",
    "token_sightings",
    "certificate_sightings",
    "container_sightings",
    "office_certificates",
];

/// The rows reports left, per table, as `COPY … TO STDOUT` text.
pub(crate) async fn dump(pool: &PgPool) -> Vec<(&'static str, Vec<u8>, u64)> {
    let mut out = Vec::new();
    for table in ROW_TABLES {
        let mut conn = pool.acquire().await.unwrap();
        let mut stream = conn
            .copy_out_raw(&format!("copy {table} to stdout"))
            .await
            .unwrap();
        let mut data = Vec::new();
        use futures_util::StreamExt as _;
        while let Some(chunk) = stream.next().await {
            data.extend_from_slice(&chunk.unwrap());
        }
        drop(stream);
        let rows = data.iter().filter(|b| **b == b'\n').count() as u64;
        out.push((table, data, rows));
    }
    out
}

/// Write `rounds` copies of `rows` into staging tables of the same shape (no keys, no indexes)
/// with `tasks` concurrent `COPY … FROM STDIN`, one table's round per statement.
pub(crate) async fn copy_ceiling(
    pool: &PgPool,
    rows: &[(&'static str, Vec<u8>, u64)],
    rounds: usize,
    tasks: usize,
) -> (Duration, u64) {
    for (table, _, _) in rows {
        sqlx::query(AssertSqlSafe(format!(
            "create table bench_copy_{table} (like {table} including defaults)"
        )))
        .execute(pool)
        .await
        .unwrap();
    }
    let rows: std::sync::Arc<Vec<_>> = std::sync::Arc::new(rows.to_vec());
    let start = Instant::now();
    let mut handles = Vec::new();
    for task in 0..tasks {
        let pool = pool.clone();
        let rows = rows.clone();
        handles.push(tokio::spawn(async move {
            let mut written = 0;
            for _ in (task..rounds).step_by(tasks) {
                for (table, data, count) in rows.iter() {
                    let mut copy = pool
                        .copy_in_raw(&format!("copy bench_copy_{table} from stdin"))
                        .await
                        .unwrap();
                    copy.send(data.as_slice()).await.unwrap();
                    copy.finish().await.unwrap();
                    written += count;
                }
            }
            written
        }));
    }
    let mut written = 0;
    for handle in handles {
        written += handle.await.unwrap();
    }
    (start.elapsed(), written)
}

/// Drop the tables [`copy_ceiling`] wrote, for another run in the same database.
#[allow(
    dead_code,
    reason = "the ingest bench runs it once, in a database it drops"
)]
pub(crate) async fn drop_copies(pool: &PgPool) {
    for table in ROW_TABLES {
        sqlx::query(AssertSqlSafe(format!(
            "drop table if exists bench_copy_{table}"
        )))
        .execute(pool)
        .await
        .unwrap();
    }
}
