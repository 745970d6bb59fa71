//! Questions about the stored inventory's history: where a token or certificate has been.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

/// One host that has held a token or certificate.
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct Sighting {
    pub agent_id: Uuid,
    pub hostname: String,
    pub office: String,
    pub first_seen_at: DateTime<Utc>,
    /// The host's last report for a present sighting, else the last report that listed it.
    pub last_seen_at: DateTime<Utc>,
    /// The host's last report still listed it.
    pub present: bool,
}

/// Every host the token (`model`, `serial`; compared trimmed) has been seen on, oldest first.
pub async fn hosts_of_token(
    pool: &PgPool,
    model: &str,
    serial: &str,
) -> Result<Vec<Sighting>, sqlx::Error> {
    sqlx::query_as(
        "select s.agent_id, coalesce(h.hostname, a.hostname) as hostname, o.name as office, \
             s.first_seen_at, coalesce(s.last_seen_at, a.last_seen_at) as last_seen_at, s.present \
         from tokens t \
         join token_sightings s on s.token_id = t.id \
         join agents a on a.id = s.agent_id \
         join offices o on o.id = a.office_id \
         left join hosts h on h.agent_id = a.id \
         where t.model = $1 and t.serial = $2 \
         order by s.first_seen_at, s.agent_id",
    )
    .bind(model.trim())
    .bind(serial.trim())
    .fetch_all(pool)
    .await
}

/// Every host the certificate (SHA-256 hex, or `sha1:<thumbprint>`) has been seen on, oldest
/// first.
pub async fn hosts_of_certificate(
    pool: &PgPool,
    sha256: &str,
) -> Result<Vec<Sighting>, sqlx::Error> {
    sqlx::query_as(
        "select s.agent_id, coalesce(h.hostname, a.hostname) as hostname, o.name as office, \
             s.first_seen_at, coalesce(s.last_seen_at, a.last_seen_at) as last_seen_at, s.present \
         from certificates c \
         join certificate_sightings s on s.certificate_id = c.id \
         join agents a on a.id = s.agent_id \
         join offices o on o.id = a.office_id \
         left join hosts h on h.agent_id = a.id \
         where c.sha256 = $1 \
         order by s.first_seen_at, s.agent_id",
    )
    .bind(sha256.trim().to_ascii_lowercase())
    .fetch_all(pool)
    .await
}
