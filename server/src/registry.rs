//! Offices, enrolment secrets and agents in the database: what the operator's commands and the
//! agent service read and write.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

/// An enrolment secret as listed (the secret itself is never stored).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SecretRow {
    pub id: i64,
    pub office: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// An agent as listed.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AgentRow {
    pub id: Uuid,
    pub office: String,
    pub hostname: String,
    pub enrolled_at: DateTime<Utc>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub certificate_not_after: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What the agent service needs to know about an agent to authorise a request.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AgentAuth {
    pub revoked_at: Option<DateTime<Utc>>,
    pub certificate_serial: String,
    pub previous_certificate_serial: Option<String>,
    pub previous_certificate_until: Option<DateTime<Utc>>,
}

/// Which of the agent's certificates was presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    Current,
    /// Replaced by a renewal, still inside the grace period.
    Previous,
}

impl AgentAuth {
    /// Whether the certificate with `serial` (hex) lets this agent in at `now`: it must be the
    /// agent's current certificate, or the one its last renewal replaced while the renewal
    /// grace lasts, and the agent must not be revoked. The error is the reason, for the log.
    pub fn admits(&self, serial: &str, now: DateTime<Utc>) -> Result<Standing, String> {
        self.not_revoked()?;
        if self.certificate_serial == serial {
            return Ok(Standing::Current);
        }
        let in_grace = self.previous_certificate_serial.as_deref() == Some(serial)
            && self
                .previous_certificate_until
                .is_some_and(|until| now < until);
        if in_grace {
            return Ok(Standing::Previous);
        }
        Err(format!(
            "certificate {serial} is not the agent's current one"
        ))
    }

    /// Whether the agent is still allowed at all, whatever certificate it presents.
    pub fn not_revoked(&self) -> Result<(), String> {
        match self.revoked_at {
            Some(at) => Err(format!("agent revoked at {at}")),
            None => Ok(()),
        }
    }
}

/// A newly created enrolment secret: shown once.
#[derive(Clone, Debug)]
pub struct NewSecret {
    pub id: i64,
    pub secret: String,
    pub office: String,
    pub expires_at: Option<DateTime<Utc>>,
}

/// The SHA-256 under which a secret is stored and looked up.
pub fn secret_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Create an enrolment secret for `office`, creating the office if it is new.
pub async fn create_secret(
    pool: &PgPool,
    office: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Result<NewSecret, sqlx::Error> {
    let secret = format!("tw1_{}", crate::access::random_secret());
    let mut tx = pool.begin().await?;
    let office_id = office_id(&mut *tx, office).await?;
    let id: i64 = sqlx::query_scalar(
        "insert into enroll_secrets (office_id, secret_sha256, expires_at) values ($1, $2, $3) returning id",
    )
    .bind(office_id)
    .bind(secret_hash(&secret))
    .bind(expires_at)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(NewSecret {
        id,
        secret,
        office: office.to_owned(),
        expires_at,
    })
}

/// The id of office `name`, created if new.
async fn office_id(db: impl PgExecutor<'_>, name: &str) -> Result<i64, sqlx::Error> {
    // The no-op update makes `returning` yield the existing row too.
    sqlx::query_scalar(
        "insert into offices (name) values ($1) on conflict (name) do update set name = excluded.name returning id",
    )
    .bind(name)
    .fetch_one(db)
    .await
}

/// Every enrolment secret, oldest first.
pub async fn list_secrets(pool: &PgPool) -> Result<Vec<SecretRow>, sqlx::Error> {
    sqlx::query_as(
        "select s.id, o.name as office, s.created_at, s.expires_at, s.revoked_at \
         from enroll_secrets s join offices o on o.id = s.office_id order by s.id",
    )
    .fetch_all(pool)
    .await
}

/// Revoke secret `id`. False when there is no such secret or it was already revoked.
pub async fn revoke_secret(pool: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update enroll_secrets set revoked_at = now() where id = $1 and revoked_at is null",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Every agent, by office and host name.
pub async fn list_agents(pool: &PgPool) -> Result<Vec<AgentRow>, sqlx::Error> {
    sqlx::query_as(
        "select a.id, o.name as office, a.hostname, a.enrolled_at, a.last_seen_at, \
         a.certificate_not_after, a.revoked_at \
         from agents a join offices o on o.id = a.office_id order by o.name, a.hostname, a.id",
    )
    .fetch_all(pool)
    .await
}

/// Revoke agent `id`: its certificates stop working at once. False when there is no such agent
/// or it was already revoked.
pub async fn revoke_agent(pool: &PgPool, id: Uuid) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // The row lock waits for a report of this agent being written; the counts below then see
    // its sightings, and later reports are refused.
    let done =
        sqlx::query("update agents set revoked_at = now() where id = $1 and revoked_at is null")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    if done.rows_affected() == 1 {
        // Its host no longer counts among the offices' holders of its certificates.
        let emptied: Vec<(i64, i64)> = sqlx::query_as(
            "update office_certificates oc set hosts = oc.hosts - 1 \
             from certificate_sightings s join agents g on g.id = s.agent_id \
             where s.agent_id = $1 and s.present \
                 and oc.office_id = g.office_id and oc.id = s.certificate_id \
             returning oc.office_id, oc.id, oc.hosts <= 0",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .filter_map(|(office, certificate, empty): (i64, i64, bool)| {
            empty.then_some((office, certificate))
        })
        .collect();
        crate::ingest::delete_emptied_office_certificates(&mut tx, emptied).await?;
    }
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

/// What is needed to authorise agent `id`; `lock` takes the row for update (renewal), without
/// blocking transactions that only reference it (alert rows).
pub async fn agent_auth(
    db: impl PgExecutor<'_>,
    id: Uuid,
    lock: bool,
) -> Result<Option<AgentAuth>, sqlx::Error> {
    let query = if lock {
        "select revoked_at, certificate_serial, previous_certificate_serial, previous_certificate_until \
         from agents where id = $1 for no key update"
    } else {
        "select revoked_at, certificate_serial, previous_certificate_serial, previous_certificate_until \
         from agents where id = $1"
    };
    sqlx::query_as(query).bind(id).fetch_optional(db).await
}
