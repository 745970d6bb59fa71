//! Local accounts: created by an administrator (the first one on the command line), signed in
//! with a password, locked for a while after repeated failures, disabled rather than deleted
//! so the audit log keeps naming them.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::postgres::PgArguments;
use sqlx::query::QueryScalar;
use sqlx::{PgConnection, PgPool, Postgres};

use super::password::{self, PasswordError};
use super::{Offices, Principal, Role};

/// Failed logins in a row after which an account is locked.
pub const LOCK_AFTER_FAILURES: i32 = 5;
/// How long such a lock lasts.
pub const LOCK_FOR: Duration = Duration::minutes(15);

/// An account to create.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub name: String,
    pub password: String,
    pub role: Role,
    /// Office names; `None`: every office.
    pub offices: Option<Vec<String>>,
}

/// An account as listed (never its hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// Office names; `None`: every office.
    pub offices: Option<Vec<String>>,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

/// Why an account could not be created or changed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("a user name is 1 to 64 letters, digits, '.', '_', '@' or '-' (got {0:?})")]
    BadName(String),
    #[error("a user named {0:?} exists")]
    Exists(String),
    #[error("no office named {0:?}")]
    NoOffice(String),
    #[error("an office-scoped account needs at least one office")]
    NoOffices,
    #[error("no user named {0:?}")]
    NotFound(String),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Why a login was refused. The caller says the same to the person in every case; the audit
/// log keeps which.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoginRefused {
    #[error("unknown user")]
    Unknown,
    #[error("wrong password")]
    WrongPassword,
    #[error("account disabled")]
    Disabled,
    #[error("account locked after repeated failures")]
    Locked,
}

/// Whether `name` may name an account (the table checks the same).
fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b))
}

/// Create an account; returns its id.
pub async fn create(pool: &PgPool, user: &NewUser) -> Result<i64, UserError> {
    if !valid_name(&user.name) {
        return Err(UserError::BadName(user.name.clone()));
    }
    if user.offices.as_ref().is_some_and(Vec::is_empty) {
        return Err(UserError::NoOffices);
    }
    let password = user.password.clone();
    let hash = tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|error| PasswordError::Hash(error.to_string()))??;
    let mut tx = pool.begin().await?;
    let id: Option<i64> = sqlx::query_scalar(
        "insert into users (name, password_hash, role, all_offices) values ($1, $2, $3, $4) \
         on conflict do nothing returning id",
    )
    .bind(&user.name)
    .bind(&hash)
    .bind(user.role.as_str())
    .bind(user.offices.is_none())
    .fetch_optional(&mut *tx)
    .await?;
    let id = id.ok_or_else(|| UserError::Exists(user.name.clone()))?;
    for office in user.offices.iter().flatten() {
        let added = sqlx::query(
            "insert into user_offices (user_id, office_id) \
             select $1, id from offices where name = $2 on conflict do nothing",
        )
        .bind(id)
        .bind(office)
        .execute(&mut *tx)
        .await?;
        if added.rows_affected() == 0 && !office_exists(&mut tx, office).await? {
            return Err(UserError::NoOffice(office.clone()));
        }
    }
    tx.commit().await?;
    Ok(id)
}

async fn office_exists(db: &mut PgConnection, name: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("select exists (select 1 from offices where name = $1)")
        .bind(name)
        .fetch_one(db)
        .await
}

/// A `users` row with its office names.
type UserRow = (
    i64,
    String,
    String,
    bool,
    Vec<String>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

const USERS: &str = "select u.id, u.name, u.role, u.all_offices, \
         array(select o.name from user_offices uo join offices o on o.id = uo.office_id \
               where uo.user_id = u.id order by o.name), \
         u.created_at, u.disabled_at \
     from users u";

fn user_of(row: UserRow) -> User {
    let (id, name, role, all_offices, offices, created_at, disabled_at) = row;
    User {
        id,
        name,
        role: Role::from_name(&role).unwrap_or(Role::Viewer),
        offices: (!all_offices).then_some(offices),
        created_at,
        disabled_at,
    }
}

/// Every account, by name.
pub async fn list(pool: &PgPool) -> Result<Vec<User>, sqlx::Error> {
    let rows: Vec<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{USERS} order by lower(u.name)"
    )))
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(user_of).collect())
}

/// One account by name.
pub async fn find(pool: &PgPool, name: &str) -> Result<Option<User>, sqlx::Error> {
    let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{USERS} where lower(u.name) = lower($1)"
    )))
    .bind(name)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(user_of))
}

/// Disable an account: it signs in no more, and its sessions and API tokens stop working.
pub async fn disable(pool: &PgPool, name: &str) -> Result<(), UserError> {
    let update = sqlx::query_scalar(
        "update users set disabled_at = coalesce(disabled_at, now()) \
         where lower(name) = lower($1) returning id",
    )
    .bind(name);
    update_ending_sessions(pool, name, update).await
}

/// Set an account's password; its sessions end, and a lock from failed logins is lifted.
pub async fn set_password(pool: &PgPool, name: &str, new: &str) -> Result<(), UserError> {
    let new = new.to_owned();
    let hash = tokio::task::spawn_blocking(move || password::hash(&new))
        .await
        .map_err(|error| PasswordError::Hash(error.to_string()))??;
    let update = sqlx::query_scalar(
        "update users set password_hash = $2, failed_logins = 0, locked_until = null \
         where lower(name) = lower($1) returning id",
    )
    .bind(name)
    .bind(&hash);
    update_ending_sessions(pool, name, update).await
}

/// Run `update` (an update of account `name`, bound, returning its id) and end the account's
/// sessions, both or neither.
async fn update_ending_sessions(
    pool: &PgPool,
    name: &str,
    update: QueryScalar<'_, Postgres, i64, PgArguments>,
) -> Result<(), UserError> {
    let mut tx = pool.begin().await?;
    let id = update.fetch_optional(&mut *tx).await?;
    let id = id.ok_or_else(|| UserError::NotFound(name.to_owned()))?;
    sqlx::query("delete from sessions where user_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// An account's id, password hash, and when it was disabled and until when it is locked.
type LoginRow = (i64, String, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Check `name` and `password` at `now`. A wrong password counts towards the lock; a right
/// one resets the count. Unknown names take as long as wrong passwords.
pub async fn authenticate(
    pool: &PgPool,
    name: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<Result<Principal, LoginRefused>, sqlx::Error> {
    let row: Option<LoginRow> = sqlx::query_as(
        "select id, password_hash, disabled_at, locked_until from users \
             where lower(name) = lower($1)",
    )
    .bind(name)
    .fetch_optional(pool)
    .await?;
    let stored = row.as_ref().map(|row| row.1.clone());
    let attempt = password.to_owned();
    let matches =
        tokio::task::spawn_blocking(move || password::verify(stored.as_deref(), &attempt))
            .await
            .unwrap_or(false);
    let Some((id, _, disabled_at, locked_until)) = row else {
        return Ok(Err(LoginRefused::Unknown));
    };
    if disabled_at.is_some() {
        return Ok(Err(LoginRefused::Disabled));
    }
    if locked_until.is_some_and(|until| until > now) {
        return Ok(Err(LoginRefused::Locked));
    }
    if !matches {
        // A lock that has run out starts the count afresh.
        sqlx::query(
            "update users set failed_logins = f.failed, \
                 locked_until = case when f.failed >= $2 then $3 end \
             from (select case when locked_until <= $4 then 1 else failed_logins + 1 end \
                       as failed \
                   from users where id = $1) f \
             where id = $1",
        )
        .bind(id)
        .bind(LOCK_AFTER_FAILURES)
        .bind(now + LOCK_FOR)
        .bind(now)
        .execute(pool)
        .await?;
        return Ok(Err(LoginRefused::WrongPassword));
    }
    sqlx::query("update users set failed_logins = 0, locked_until = null where id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(principal(pool, id).await?.ok_or(LoginRefused::Disabled))
}

/// The principal of account `id`, unless it is disabled or gone.
pub async fn principal(pool: &PgPool, id: i64) -> Result<Option<Principal>, sqlx::Error> {
    let row: Option<(String, String, bool, Vec<i64>)> = sqlx::query_as(
        "select u.name, u.role, u.all_offices, \
             array(select office_id from user_offices where user_id = u.id order by office_id) \
         from users u where u.id = $1 and u.disabled_at is null",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(name, role, all_offices, offices)| Principal {
        user_id: Some(id),
        actor: format!("user:{name}"),
        name,
        role: Role::from_name(&role).unwrap_or(Role::Viewer),
        offices: if all_offices {
            Offices::All
        } else {
            Offices::Only(offices)
        },
        csrf_token: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_and_short() {
        for good in ["alice", "a.petrova", "it-admin_2", "ivanov@corp"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in [
            "",
            "иванов",
            "two words",
            "x'; drop table users;--",
            &"a".repeat(65),
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
