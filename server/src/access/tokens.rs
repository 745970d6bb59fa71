//! API tokens for scripts: each belongs to an account and acts with its role and offices, so
//! disabling the account stops its tokens too. The token is shown once; its digest is kept.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use super::sessions::TOUCH_EVERY;
use super::users::UserError;
use super::{Principal, random_secret, users};
use crate::registry::secret_hash as secret_digest;

/// Every token starts so, which tells it from a session cookie and lets secret scanners
/// find one pasted where it should not be.
pub const PREFIX: &str = "twk_";

/// A token as listed (never the token).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ApiToken {
    pub id: i64,
    pub user: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Create a token named `name` for account `user`; returns its id and the token.
pub async fn create(
    pool: &PgPool,
    user: &str,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(i64, String), UserError> {
    let token = format!("{PREFIX}{}", random_secret());
    let id: Option<i64> = sqlx::query_scalar(
        "insert into api_tokens (user_id, name, token_sha256, expires_at) \
         select id, $2, $3, $4 from users where lower(name) = lower($1) returning id",
    )
    .bind(user)
    .bind(name.trim())
    .bind(secret_digest(&token))
    .bind(expires_at)
    .fetch_optional(pool)
    .await?;
    let id = id.ok_or_else(|| UserError::NotFound(user.to_owned()))?;
    Ok((id, token))
}

/// The tokens of account `owner` (`None`: every account's), newest first.
pub async fn list(pool: &PgPool, owner: Option<i64>) -> Result<Vec<ApiToken>, sqlx::Error> {
    sqlx::query_as(
        "select t.id, u.name as user, t.name, t.created_at, t.expires_at, t.last_used_at, \
             t.revoked_at \
         from api_tokens t join users u on u.id = t.user_id \
         where $1::bigint is null or t.user_id = $1 order by t.id desc",
    )
    .bind(owner)
    .fetch_all(pool)
    .await
}

/// Revoke token `id` if it is of account `owner` (`None`: anyone's); false when there is no
/// such token in use.
pub async fn revoke(pool: &PgPool, id: i64, owner: Option<i64>) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update api_tokens set revoked_at = now() \
         where id = $1 and revoked_at is null and ($2::bigint is null or user_id = $2)",
    )
    .bind(id)
    .bind(owner)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The principal `token` acts as at `now`, if it is a token in use of an enabled account.
pub async fn find(
    pool: &PgPool,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<Principal>, sqlx::Error> {
    if !token.starts_with(PREFIX) {
        return Ok(None);
    }
    let digest = secret_digest(token);
    let row: Option<(i64, i64, String, Option<DateTime<Utc>>)> = sqlx::query_as(
        "select id, user_id, name, last_used_at from api_tokens \
         where token_sha256 = $1 and revoked_at is null \
             and (expires_at is null or expires_at > $2)",
    )
    .bind(&digest)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    let Some((id, user_id, name, last_used_at)) = row else {
        return Ok(None);
    };
    // As for sessions: a script polling every second writes its last use once a minute.
    if last_used_at.is_none_or(|at| now - at > TOUCH_EVERY) {
        sqlx::query("update api_tokens set last_used_at = $2 where id = $1")
            .bind(id)
            .bind(now)
            .execute(pool)
            .await?;
    }
    let principal = users::principal(pool, user_id).await?;
    Ok(principal.map(|principal| Principal {
        actor: format!("token:{}/{name}", principal.name),
        ..principal
    }))
}
