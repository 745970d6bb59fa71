//! Rows the database tests start from, shared by the test binaries: offices, enrolled agents
//! whose reports are applied directly, reports as agents make them, and accounts.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use prost::Message as _;
use prost_types::Timestamp;
use sha2::{Digest as _, Sha256};
use sqlx::PgPool;
use tokenwatch_proto::v1;
use tokenwatch_server::access::Role;
use tokenwatch_server::access::users::{self, NewUser};
use uuid::Uuid;

/// A new office named `name`.
pub(crate) async fn office(pool: &PgPool, name: &str) -> i64 {
    sqlx::query_scalar("insert into offices (name) values ($1) returning id")
        .bind(name)
        .fetch_one(pool)
        .await
        .expect("the office")
}

/// An enrolled agent of `office` whose client certificate runs until `certificate_until` (it
/// is never presented: the tests apply reports directly).
pub(crate) async fn agent(
    pool: &PgPool,
    office: i64,
    hostname: &str,
    certificate_until: DateTime<Utc>,
) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "insert into agents (id, office_id, hostname, certificate_serial, certificate_not_after) \
         values ($1, $2, $3, '01', $4)",
    )
    .bind(id)
    .bind(office)
    .bind(hostname)
    .bind(certificate_until)
    .execute(pool)
    .await
    .expect("the agent");
    id
}

/// `at` as the wire's timestamp.
pub(crate) fn ts(at: DateTime<Utc>) -> Option<Timestamp> {
    Some(Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    })
}

/// An inventory of a Linux workstation `hostname` collected at `at`, with nothing on it yet.
pub(crate) fn linux_host(hostname: &str, at: DateTime<Utc>) -> v1::Inventory {
    v1::Inventory {
        schema: "tokenwatch.inventory/v1".into(),
        collected_at: ts(at),
        host: Some(v1::Host {
            hostname: hostname.into(),
            os: "linux".into(),
            os_version: Some("Astra Linux 1.7".into()),
            arch: "x86_64".into(),
            agent_version: "0.1.0".into(),
        }),
        ..Default::default()
    }
}

/// A report of `inventory` with a content hash that ignores the collection time, as the
/// agent's.
pub(crate) fn request(sequence: u64, inventory: &v1::Inventory) -> v1::ReportRequest {
    let mut content = inventory.clone();
    content.collected_at = None;
    v1::ReportRequest {
        sequence,
        content_hash: Sha256::digest(content.encode_to_vec()).to_vec(),
        inventory: Some(inventory.clone()),
    }
}

/// An account named `name` with `password`, of `offices` (`None`: every office).
pub(crate) async fn user(
    pool: &PgPool,
    name: &str,
    password: &str,
    role: Role,
    offices: Option<&[&str]>,
) {
    let user = NewUser {
        name: name.into(),
        password: password.into(),
        role,
        offices: offices.map(|o| o.iter().map(|&n| n.to_owned()).collect()),
    };
    users::create(pool, &user).await.expect("the account");
}
