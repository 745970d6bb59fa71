//! End to end with a card reader: a private pcscd with virtual vpcd readers, the real agent
//! service loop (hotplug on, tokens skipped so no PKCS#11 is needed) reporting over mutual TLS
//! to the real server, and the inventory checked in PostgreSQL as a card comes and goes.
//!
//! One test in its own binary: libpcsclite reads its socket name once per process, and the
//! environment is set before any other thread could read it. Needs root (pcscd runs in its own
//! mount namespace) and vsmartcard-vpcd.

// Linux only: private pcscd through Linux mount namespaces.
#![cfg(target_os = "linux")]

#[allow(dead_code, unreachable_pub)]
#[path = "../../agent/tests/support/containers.rs"]
mod containers;
#[path = "common/launch.rs"]
mod launch;
#[allow(dead_code, unreachable_pub)]
#[path = "../../agent/tests/support/pcscd.rs"]
mod pcscd;
#[path = "e2e/support.rs"]
mod support;

use std::time::Duration;

use containers::{ContainerSpec, HeaderSpec, KeyAlgorithm};
use pcscd::Pcscd;
use sqlx::{AssertSqlSafe, PgPool};
use support::*;

/// ATR of a Rutoken ECP: the agent identifies the model from it.
const RUTOKEN_ECP: &[u8] = b"\x3B\x8B\x01Rutoken ECP\xA0";

type ReaderRow = (String, bool, Option<String>, Option<String>);

async fn readers(pool: &PgPool, agent: &str) -> Vec<ReaderRow> {
    sqlx::query_as(
        "select name, card_present, token_model, token_family from host_readers \
         where agent_id = $1::uuid order by ordinal",
    )
    .bind(agent)
    .fetch_all(pool)
    .await
    .expect("host_readers")
}

/// Poll `host_readers` until `done` holds; the rows then.
async fn wait_for_readers(
    pool: &PgPool,
    agent: &str,
    what: &str,
    done: impl Fn(&[ReaderRow]) -> bool,
) -> Vec<ReaderRow> {
    let found = poll(Duration::from_secs(20), || async {
        let rows = readers(pool, agent).await;
        done(&rows).then_some(rows)
    })
    .await;
    match found {
        Some(rows) => rows,
        None => panic!(
            "timed out waiting for {what}; host_readers: {:?}",
            readers(pool, agent).await
        ),
    }
}

#[test]
fn a_card_inserted_and_removed_shows_in_the_database() {
    // Before the runtime's threads exist: this sets PCSCLITE_CSOCK_NAME for the process.
    let pcscd = Pcscd::start_for_this_process("Aktiv Rutoken ECP");
    let database = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async move {
            let (pool, db) = fresh_database(&database).await;
            // On its own task, so that a failed assertion still drops the database.
            let outcome = tokio::spawn({
                let (pool, db) = (pool.clone(), db.clone());
                async move { scenario(&pcscd, &pool, &db).await }
            })
            .await;
            pool.close().await;
            drop_database(&database, &db).await;
            if let Err(error) = outcome {
                std::panic::resume_unwind(error.into_panic());
            }
        });
}

async fn scenario(pcscd: &Pcscd, pool: &PgPool, db: &str) {
    let data = tempfile::tempdir().expect("data dir");
    let host = host();
    // A CryptoPro HDIMAGE container under the agent's root.
    containers::write(
        &host.root.join("var/opt/cprocsp/keys/e2e/signing.000"),
        &ContainerSpec::new(
            "e2e-signing",
            HeaderSpec::new(KeyAlgorithm::Gost2012_256, false),
        ),
    );
    let server = Server::start(db, data.path(), 0).await;
    let secret = create_secret(db, "Kaluga");
    let agent_id = enroll_agent(&server, data.path(), &secret, &host.state)
        .await
        .expect("enrols");
    let mut config = agent_config(
        &host.state,
        &host.root,
        Duration::from_secs(3600),
        &["tokens"],
    );
    config.hotplug = true;
    config.debounce = Duration::from_millis(300);
    let agent = Agent::start(config);

    let reader0 = pcscd.reader_name(0);
    let empty = wait_for_readers(pool, &agent_id, "the readers", |rows| rows.len() == 2).await;
    assert_eq!(
        empty,
        [
            (reader0.clone(), false, None, None),
            (pcscd.reader_name(1), false, None, None)
        ]
    );
    let containers: Vec<(Option<String>, String, Option<String>, bool)> = sqlx::query_as(
        "select name, path, media, complete from host_containers where agent_id = $1::uuid",
    )
    .bind(&agent_id)
    .fetch_all(pool)
    .await
    .expect("host_containers");
    assert_eq!(containers.len(), 1, "{containers:?}");
    assert_eq!(containers[0].0.as_deref(), Some("e2e-signing"));
    assert_eq!(containers[0].2.as_deref(), Some("hdimage"));
    assert!(containers[0].3, "{containers:?}");
    // The interval is an hour: only a card event can bring the next report. The watcher reads
    // the readers' state when it starts; let it take in this state before changing it.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let card = pcscd.insert(0, RUTOKEN_ECP);
    let inserted = wait_for_readers(pool, &agent_id, "the card", |rows| {
        rows.first().is_some_and(|r| r.1)
    })
    .await;
    assert_eq!(
        inserted[0],
        (
            reader0.clone(),
            true,
            Some("Rutoken ECP".into()),
            Some("rutoken".into())
        )
    );
    assert!(!inserted[1].1, "the other reader stays empty");
    let seen: Option<String> = sqlx::query_scalar(
        "select atr from host_readers where agent_id = $1::uuid and ordinal = 0",
    )
    .bind(&agent_id)
    .fetch_one(pool)
    .await
    .expect("atr");
    assert!(seen.is_some(), "the ATR is stored");

    drop(card);
    let removed = wait_for_readers(pool, &agent_id, "the card removed", |rows| {
        rows.first().is_some_and(|r| !r.1)
    })
    .await;
    assert_eq!(removed, empty, "back as before the card");

    agent.stop().await;
    server.stop().await;
    // Every report was applied or waits in the spool for the next start.
    assert_spool_holds_the_rest(&host.state, last_sequence(pool, &agent_id).await);
}

/// A database of its own for this test, migrated by the server at start.
async fn fresh_database(url: &str) -> (PgPool, String) {
    let admin = PgPool::connect(url).await.expect("DATABASE_URL reachable");
    let name = format!("tokenwatch_e2e_cards_{}", std::process::id());
    sqlx::query(AssertSqlSafe(format!("drop database if exists {name}")))
        .execute(&admin)
        .await
        .expect("drop");
    sqlx::query(AssertSqlSafe(format!("create database {name}")))
        .execute(&admin)
        .await
        .expect("create database");
    admin.close().await;
    let db = replace_database(url, &name);
    let pool = PgPool::connect(&db).await.expect("connect");
    (pool, db)
}

async fn drop_database(url: &str, db: &str) {
    let name = db.rsplit('/').next().unwrap_or_default();
    let admin = PgPool::connect(url).await.expect("connect");
    let _ = sqlx::query(AssertSqlSafe(format!(
        "drop database if exists {name} with (force)"
    )))
    .execute(&admin)
    .await;
    admin.close().await;
}

/// `url` with its database (the last path segment) replaced by `name`.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(at) if at > "postgres://".len() => &base[..at],
        _ => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}
