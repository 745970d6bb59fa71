//! Work that one server process at a time does (evaluating alerts, delivering notifications):
//! whoever holds a PostgreSQL advisory lock does it, on the connection holding the lock, and
//! the lock goes with that connection when the process or its connection dies, so another
//! process takes over at its next tick.

use sqlx::{Connection as _, PgConnection, PgPool};

/// An advisory lock, held on a connection of its own.
#[derive(Debug)]
pub(crate) struct Lease {
    pool: PgPool,
    key: i64,
    /// What the holder does, for the log.
    work: &'static str,
    /// The session holding the lock, while it does: out of the pool, so that the lock is never
    /// handed to other work and ends when this connection is closed or dropped.
    held: Option<PgConnection>,
}

/// The connection of a held lease, and whether it was taken just now.
#[derive(Debug)]
pub(crate) struct Held {
    pub(crate) db: PgConnection,
    pub(crate) newly: bool,
}

/// Ticks of a periodic task until the server stops.
#[derive(Debug)]
pub(crate) struct Ticks {
    interval: tokio::time::Interval,
    stopped: tokio::sync::watch::Receiver<bool>,
}

// === impl Lease ===

impl Lease {
    pub(crate) fn new(pool: PgPool, key: i64, work: &'static str) -> Self {
        Self {
            pool,
            key,
            work,
            held: None,
        }
    }

    /// Whether this process held the lock after its last step.
    pub(crate) fn is_held(&self) -> bool {
        self.held.is_some()
    }

    /// The lock's connection, taking the lock if it is free; `None` while another process
    /// holds it. Hand it back with [`Lease::settle`] after the work.
    pub(crate) async fn take(&mut self) -> Result<Option<Held>, sqlx::Error> {
        if let Some(db) = self.held.take() {
            return Ok(Some(Held { db, newly: false }));
        }
        let mut db = self.pool.acquire().await?;
        let taken: bool = sqlx::query_scalar("select pg_try_advisory_lock($1)")
            .bind(self.key)
            .fetch_one(&mut *db)
            .await?;
        if !taken {
            return Ok(None);
        }
        tracing::info!(message = "This process holds the lock.", work = self.work);
        Ok(Some(Held {
            db: db.detach(),
            newly: true,
        }))
    }

    /// After the work on `db`: keep holding the lock for the next step when it went well;
    /// after an error, close the connection, which gives the lock up, so that a process whose
    /// database connection broke does not keep others from taking over.
    pub(crate) async fn settle<T>(
        &mut self,
        db: PgConnection,
        outcome: Result<T, sqlx::Error>,
    ) -> Result<T, sqlx::Error> {
        match outcome {
            Ok(value) => {
                self.held = Some(db);
                Ok(value)
            }
            Err(error) => {
                let _ = db.close().await;
                Err(error)
            }
        }
    }

    /// Give the lock up: closing its session releases it.
    pub(crate) async fn give_up(&mut self) {
        if let Some(db) = self.held.take() {
            let _ = db.close().await;
        }
    }
}

// === impl Ticks ===

impl Ticks {
    /// A tick now and every `interval`, late ticks delayed rather than bunched.
    pub(crate) fn new(
        interval: std::time::Duration,
        stopped: tokio::sync::watch::Receiver<bool>,
    ) -> Self {
        let mut interval = tokio::time::interval(interval);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self { interval, stopped }
    }

    /// Wait for the next tick: `false` once the server stops.
    pub(crate) async fn next(&mut self) -> bool {
        tokio::select! {
            _ = self.interval.tick() => true,
            _ = self.stopped.wait_for(|stop| *stop) => false,
        }
    }
}
