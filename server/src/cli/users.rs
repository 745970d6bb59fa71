//! `user …`: local accounts of the HTTP API and dashboard, and their API tokens. The first
//! administrator is made here: `tokenwatch-server user create NAME --admin`.

use std::io::{BufRead as _, Write};

use anyhow::Context as _;
use chrono::Utc;
use clap::Subcommand;
use sqlx::PgPool;

use super::time;
use crate::access::users::{self, NewUser};
use crate::access::{Change, MIN_PASSWORD_CHARS, Role, audit, tokens};
use crate::config::Span;

/// `user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. Without --password-stdin a password is generated and printed once.
    Create {
        /// The sign-in name: letters, digits, '.', '_', '@', '-'.
        name: String,
        /// Administrator of every office (the same as --role admin without --office).
        #[arg(long, conflicts_with_all = ["role", "office"])]
        admin: bool,
        /// viewer, operator or admin.
        #[arg(long, default_value = "viewer", value_parser = parse_role)]
        role: Role,
        /// An office the account sees (repeat for several); without any, it sees every office.
        #[arg(long)]
        office: Vec<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts.
    List,
    /// Disable an account: it signs in no more; its sessions and tokens stop working.
    Disable { name: String },
    /// Set an account's password (lifting a lock after failed sign-ins); its sessions end.
    Password {
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// API tokens, which act as their account.
    #[command(subcommand)]
    Token(TokenCommand),
}

/// `user token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for an account and print it, once.
    Create {
        /// The account.
        user: String,
        /// What the token is for, e.g. "backup script".
        #[arg(long)]
        name: String,
        /// Expiry from now, e.g. 90d [default: never].
        #[arg(long)]
        expires_in: Option<Span>,
    },
    /// List tokens (never the tokens themselves).
    List,
    /// Revoke a token.
    Revoke {
        /// The token's id, from `list`.
        id: i64,
    },
}

fn parse_role(name: &str) -> Result<Role, String> {
    Role::from_name(name).ok_or_else(|| "one of viewer, operator, admin".to_owned())
}

/// How the audit log names whoever runs the command.
fn actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

/// Write a change made on the command line to the audit log.
pub(super) async fn record(
    pool: &PgPool,
    action: &str,
    target: String,
    details: serde_json::Value,
) -> anyhow::Result<()> {
    let actor = actor();
    let change = Change {
        actor: &actor,
        action,
        target,
        office_id: None,
        details,
        source: None,
    };
    audit::record_now(pool, &change)
        .await
        .context("writing the audit log")
}

/// A password read from standard input, or a generated one (which the caller prints).
fn password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if !from_stdin {
        // 20 characters of an alphabet without look-alikes: about 110 bits.
        const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY345679";
        let password = (0..20)
            .map(|_| char::from(ALPHABET[rand::random_range(0..ALPHABET.len())]))
            .collect();
        return Ok((password, true));
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(
        password.chars().count() >= MIN_PASSWORD_CHARS,
        "the password on standard input needs at least {MIN_PASSWORD_CHARS} characters"
    );
    Ok((password, false))
}

pub(super) async fn user_command(
    pool: &PgPool,
    command: UserCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match command {
        UserCommand::Create {
            name,
            admin,
            role,
            office,
            password_stdin,
        } => {
            let (password, generated) = password(password_stdin)?;
            let user = NewUser {
                name,
                password: password.clone(),
                role: if admin { Role::Admin } else { role },
                offices: (!office.is_empty()).then_some(office),
            };
            let id = users::create(pool, &user).await?;
            let details = serde_json::json!({ "role": user.role, "offices": user.offices });
            record(pool, "user.create", format!("user {}", user.name), details).await?;
            let scope = user
                .offices
                .as_ref()
                .map_or_else(|| "every office".to_owned(), |o| o.join(", "));
            writeln!(
                out,
                "User {} ({id}) created: {} of {scope}.",
                user.name,
                user.role.as_str()
            )?;
            if generated {
                writeln!(out, "Password (shown only now): {password}")?;
            }
        }
        UserCommand::List => {
            writeln!(
                out,
                "{:>6}  {:<24}  {:<8}  {:<20}  {:<20}  OFFICES",
                "ID", "NAME", "ROLE", "CREATED", "STATUS"
            )?;
            for u in users::list(pool).await? {
                writeln!(
                    out,
                    "{:>6}  {:<24}  {:<8}  {:<20}  {:<20}  {}",
                    u.id,
                    u.name,
                    u.role.as_str(),
                    time(u.created_at),
                    u.disabled_at.map_or_else(
                        || "active".to_owned(),
                        |at| format!("disabled {}", time(at))
                    ),
                    u.offices.map_or_else(|| "*".to_owned(), |o| o.join(", ")),
                )?;
            }
        }
        UserCommand::Disable { name } => {
            users::disable(pool, &name).await?;
            record(
                pool,
                "user.disable",
                format!("user {name}"),
                serde_json::json!({}),
            )
            .await?;
            writeln!(
                out,
                "User {name} disabled: its sessions and tokens no longer work."
            )?;
        }
        UserCommand::Password {
            name,
            password_stdin,
        } => {
            let (password, generated) = password(password_stdin)?;
            users::set_password(pool, &name, &password).await?;
            record(
                pool,
                "user.password",
                format!("user {name}"),
                serde_json::json!({}),
            )
            .await?;
            writeln!(out, "Password of {name} set; its sessions ended.")?;
            if generated {
                writeln!(out, "Password (shown only now): {password}")?;
            }
        }
        UserCommand::Token(TokenCommand::Create {
            user,
            name,
            expires_in,
        }) => {
            anyhow::ensure!(!name.trim().is_empty(), "the token's name is empty");
            let expires_at = expires_in.map(|span| Utc::now() + span.get());
            let (id, token) = tokens::create(pool, &user, &name, expires_at).await?;
            let details =
                serde_json::json!({ "name": name, "user": user, "expires_at": expires_at });
            record(pool, "token.create", format!("token {id}"), details).await?;
            writeln!(out, "API token {id} of {user} ({name}), shown only now:")?;
            writeln!(out, "{token}")?;
        }
        UserCommand::Token(TokenCommand::List) => {
            writeln!(
                out,
                "{:>6}  {:<20}  {:<24}  {:<20}  {:<20}  STATUS",
                "ID", "USER", "NAME", "CREATED", "LAST USED"
            )?;
            let now = Utc::now();
            for t in tokens::list(pool, None).await? {
                let status = match (t.revoked_at, t.expires_at) {
                    (Some(_), _) => "revoked",
                    (None, Some(at)) if at <= now => "expired",
                    _ => "active",
                };
                writeln!(
                    out,
                    "{:>6}  {:<20}  {:<24}  {:<20}  {:<20}  {status}",
                    t.id,
                    t.user,
                    t.name,
                    time(t.created_at),
                    t.last_used_at.map_or_else(|| "never".to_owned(), time),
                )?;
            }
        }
        UserCommand::Token(TokenCommand::Revoke { id }) => {
            anyhow::ensure!(
                tokens::revoke(pool, id, None).await?,
                "no API token {id} in use"
            );
            record(
                pool,
                "token.revoke",
                format!("token {id}"),
                serde_json::json!({}),
            )
            .await?;
            writeln!(out, "API token {id} revoked.")?;
        }
    }
    Ok(())
}
