//! Browser sessions: a random cookie value whose digest is the session's key, a CSRF token
//! the page sends back with every change, an absolute end and an idle end.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use super::{Principal, random_secret, users};
use crate::registry::secret_hash as secret_digest;

/// A session ends this long after sign-in however busy it is: a working day.
pub const LIFETIME: Duration = Duration::hours(12);
/// And this long after its last use.
pub const IDLE: Duration = Duration::hours(2);
/// `last_used_at` is written at most this often, not on every request.
pub(super) const TOUCH_EVERY: Duration = Duration::minutes(1);

/// A session just opened: the cookie value (shown only now) and its CSRF token.
#[derive(Clone, Debug)]
pub struct Opened {
    pub cookie: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// Open a session for account `user_id` at `now`.
pub async fn open(pool: &PgPool, user_id: i64, now: DateTime<Utc>) -> Result<Opened, sqlx::Error> {
    let cookie = random_secret();
    let csrf_token = random_secret();
    let expires_at = now + LIFETIME;
    // Sessions that ended are cleared as new ones open: no task of their own.
    sqlx::query(
        "with cleared as (delete from sessions where expires_at < $4 or last_used_at < $4 - $5) \
         insert into sessions (token_sha256, user_id, csrf_token, created_at, last_used_at, \
             expires_at) \
         values ($1, $2, $3, $4, $4, $6)",
    )
    .bind(secret_digest(&cookie))
    .bind(user_id)
    .bind(&csrf_token)
    .bind(now)
    .bind(IDLE)
    .bind(expires_at)
    .execute(pool)
    .await?;
    Ok(Opened {
        cookie,
        csrf_token,
        expires_at,
    })
}

/// The principal of the session whose cookie is `cookie`, if it is open at `now` and its
/// account is enabled.
pub async fn find(
    pool: &PgPool,
    cookie: &str,
    now: DateTime<Utc>,
) -> Result<Option<Principal>, sqlx::Error> {
    let digest = secret_digest(cookie);
    let row: Option<(i64, String, DateTime<Utc>)> = sqlx::query_as(
        "select user_id, csrf_token, last_used_at from sessions \
         where token_sha256 = $1 and expires_at > $2 and last_used_at > $2 - $3",
    )
    .bind(&digest)
    .bind(now)
    .bind(IDLE)
    .fetch_optional(pool)
    .await?;
    let Some((user_id, csrf_token, last_used_at)) = row else {
        return Ok(None);
    };
    if now - last_used_at > TOUCH_EVERY {
        sqlx::query("update sessions set last_used_at = $2 where token_sha256 = $1")
            .bind(&digest)
            .bind(now)
            .execute(pool)
            .await?;
    }
    let principal = users::principal(pool, user_id).await?;
    Ok(principal.map(|principal| Principal {
        csrf_token: Some(csrf_token),
        ..principal
    }))
}

/// End the session whose cookie is `cookie`.
pub async fn close(pool: &PgPool, cookie: &str) -> Result<(), sqlx::Error> {
    sqlx::query("delete from sessions where token_sha256 = $1")
        .bind(secret_digest(cookie))
        .execute(pool)
        .await?;
    Ok(())
}
