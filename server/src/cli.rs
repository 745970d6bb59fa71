//! The command line: `serve`, `migrate`, `gen-config`, and the operator's commands for
//! enrolment secrets, agents, alerts, silences, notification channels and accounts, which work
//! on the database directly.

mod alerts;
mod notify;
mod offices;
mod users;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};
use uuid::Uuid;

use crate::config::{Config, DatabaseUrl, Span};
use crate::{Listeners, db, registry};

pub use alerts::{AlertCommand, SilenceCommand};
pub use notify::NotifyCommand;
pub use offices::{MaintenanceCommand, OfficeCommand};
pub use users::{TokenCommand, UserCommand};

/// tokenwatch server: receives agents' inventories over mutual TLS.
#[derive(Debug, Parser)]
#[command(name = "tokenwatch-server", version)]
pub struct Cli {
    /// Configuration file (TOML). Without one, the defaults apply.
    #[arg(long, global = true, env = "TOKENWATCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// PostgreSQL URL [default: postgres://tokenwatch@localhost/tokenwatch].
    #[arg(
        long,
        global = true,
        env = "TOKENWATCH_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server until SIGTERM or SIGINT.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Print the default configuration as TOML.
    GenConfig,
    /// Manage enrolment secrets.
    #[command(subcommand)]
    EnrollSecret(SecretCommand),
    /// Manage agents.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// List, show and acknowledge alerts.
    #[command(subcommand)]
    Alert(AlertCommand),
    /// Silence alerts until a time.
    #[command(subcommand)]
    Silence(SilenceCommand),
    /// Offices' own alert thresholds.
    #[command(subcommand)]
    Office(OfficeCommand),
    /// Offices' maintenance windows, which hold notifications back.
    #[command(subcommand)]
    Maintenance(MaintenanceCommand),
    /// Notification channels: their state, and a test message.
    #[command(subcommand)]
    Notify(NotifyCommand),
    /// Accounts of the HTTP API and dashboard, and their API tokens.
    #[command(subcommand)]
    User(UserCommand),
}

/// `serve` overrides of the configuration file.
#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// Address for the agents' gRPC endpoint [default: 0.0.0.0:50051].
    #[arg(long, env = "TOKENWATCH_GRPC_LISTEN")]
    pub grpc_listen: Option<SocketAddr>,
    /// Address for /healthz, /readyz and /metrics [default: 127.0.0.1:8080].
    #[arg(long, env = "TOKENWATCH_HTTP_LISTEN")]
    pub http_listen: Option<SocketAddr>,
    /// Directory for the agent CA and server certificate [default: /var/lib/tokenwatch].
    #[arg(long, env = "TOKENWATCH_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// `enroll-secret …`
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Create a secret for an office (created if new) and print it, once.
    Create {
        /// The office the agents enrolled with this secret belong to.
        #[arg(long)]
        office: String,
        /// Expiry time, RFC 3339 (e.g. 2026-12-31T23:59:59Z).
        #[arg(long, conflicts_with = "expires_in")]
        expires: Option<DateTime<Utc>>,
        /// Expiry from now, e.g. 7d or 12h.
        #[arg(long)]
        expires_in: Option<Span>,
    },
    /// List secrets (never the secrets themselves).
    List,
    /// Revoke a secret: it enrols no more agents. Enrolled agents are not affected.
    Revoke {
        /// The secret's id, from `list`.
        id: i64,
    },
}

/// `agent …`
#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// List enrolled agents.
    List,
    /// Revoke an agent: its certificates stop working at once.
    Revoke {
        /// The agent's id.
        id: Uuid,
    },
}

// === impl Cli ===

impl Cli {
    /// The configuration: the file, then environment and flags on top.
    pub fn load_config(&self) -> anyhow::Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        if let Some(url) = &self.database_url {
            config.database.url = DatabaseUrl::new(url.clone());
        }
        if let Command::Serve(args) = &self.command {
            if let Some(addr) = args.grpc_listen {
                config.grpc.listen = addr;
            }
            if let Some(addr) = args.http_listen {
                config.http.listen = addr;
            }
            if let Some(dir) = &args.data_dir {
                config.data_dir = dir.clone();
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// Carry out the command.
    pub async fn execute(self) -> anyhow::Result<()> {
        let config = self.load_config()?;
        let mut out = std::io::stdout().lock();
        match self.command {
            Command::Serve(_) => return serve(config).await,
            Command::GenConfig => write!(out, "{}", config_defaults()?)?,
            Command::Migrate => {
                let pool = connect(&config).await?;
                db::migrate(&pool).await?;
                writeln!(out, "Migrations applied.")?;
            }
            Command::EnrollSecret(command) => {
                let pool = connect(&config).await?;
                secret_command(&pool, command, &mut out).await?;
            }
            Command::Agent(command) => {
                let pool = connect(&config).await?;
                agent_command(&pool, command, &mut out).await?;
            }
            Command::Alert(command) => {
                let pool = connect(&config).await?;
                alerts::alert_command(&pool, command, &mut out).await?;
            }
            Command::Silence(command) => {
                let pool = connect(&config).await?;
                alerts::silence_command(&pool, command, &mut out).await?;
            }
            Command::Office(command) => {
                let pool = connect(&config).await?;
                let defaults = crate::alerts::Settings::from_config(&config.alerts);
                offices::office_command(&pool, &defaults, command, &mut out).await?;
            }
            Command::Maintenance(command) => {
                let pool = connect(&config).await?;
                offices::maintenance_command(&pool, command, &mut out).await?;
            }
            Command::Notify(command) => {
                let pool = connect(&config).await?;
                notify::notify_command(&config, &pool, command, &mut out).await?;
            }
            Command::User(command) => {
                let pool = connect(&config).await?;
                users::user_command(&pool, command, &mut out).await?;
            }
        }
        Ok(())
    }
}

/// A time as the commands print it: RFC 3339, UTC, to the second.
fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn config_defaults() -> anyhow::Result<String> {
    Ok(Config::default().to_toml()?)
}

async fn connect(config: &Config) -> anyhow::Result<sqlx::PgPool> {
    db::connect(config.database.url.expose(), 2)
        .await
        .with_context(|| format!("database {}", config.database.url))
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let bind = |addr: SocketAddr| async move {
        tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))
    };
    let listeners = Listeners {
        grpc: bind(config.grpc.listen).await?,
        http: bind(config.http.listen).await?,
    };
    crate::run(config, listeners, shutdown_signal()).await
}

/// SIGTERM or SIGINT (Ctrl-C elsewhere).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(error) => {
                tracing::warn!(message = "Cannot watch SIGTERM; Ctrl-C only.", %error);
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!(message = "Shutting down.");
}

async fn secret_command(
    pool: &sqlx::PgPool,
    command: SecretCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match command {
        SecretCommand::Create {
            office,
            expires,
            expires_in,
        } => {
            let office = office.trim();
            anyhow::ensure!(!office.is_empty(), "the office name is empty");
            let expires_at = match (expires, expires_in) {
                (Some(at), _) => Some(at),
                (None, Some(span)) => Some(Utc::now() + span.get()),
                (None, None) => None,
            };
            let created = registry::create_secret(pool, office, expires_at).await?;
            let details = serde_json::json!({ "office": created.office, "expires_at": expires_at });
            users::record(
                pool,
                "enroll_secret.create",
                format!("enrolment secret {}", created.id),
                details,
            )
            .await?;
            let expiry = created.expires_at.map_or_else(
                || "never expires".to_owned(),
                |at| format!("expires {}", at.to_rfc3339()),
            );
            writeln!(
                out,
                "Enrolment secret {} for office {:?} ({expiry}):",
                created.id, created.office
            )?;
            writeln!(out, "{}", created.secret)?;
            writeln!(out, "It is shown only now: only its hash is stored.")?;
        }
        SecretCommand::List => {
            writeln!(
                out,
                "{:>6}  {:<24}  {:<25}  {:<25}  STATUS",
                "ID", "OFFICE", "CREATED", "EXPIRES"
            )?;
            let now = Utc::now();
            for s in registry::list_secrets(pool).await? {
                let status = match (s.revoked_at, s.expires_at) {
                    (Some(_), _) => "revoked",
                    (None, Some(at)) if at <= now => "expired",
                    _ => "active",
                };
                writeln!(
                    out,
                    "{:>6}  {:<24}  {:<25}  {:<25}  {status}",
                    s.id,
                    s.office,
                    time(s.created_at),
                    s.expires_at.map_or_else(|| "never".to_owned(), time),
                )?;
            }
        }
        SecretCommand::Revoke { id } => {
            anyhow::ensure!(
                registry::revoke_secret(pool, id).await?,
                "no active enrolment secret {id}"
            );
            let target = format!("enrolment secret {id}");
            users::record(pool, "enroll_secret.revoke", target, serde_json::json!({})).await?;
            writeln!(out, "Enrolment secret {id} revoked.")?;
        }
    }
    Ok(())
}

async fn agent_command(
    pool: &sqlx::PgPool,
    command: AgentCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match command {
        AgentCommand::List => {
            writeln!(
                out,
                "{:<36}  {:<20}  {:<24}  {:<20}  {:<20}  STATUS",
                "ID", "OFFICE", "HOSTNAME", "LAST SEEN", "CERTIFICATE UNTIL"
            )?;
            for a in registry::list_agents(pool).await? {
                writeln!(
                    out,
                    "{:<36}  {:<20}  {:<24}  {:<20}  {:<20}  {}",
                    a.id,
                    a.office,
                    a.hostname,
                    a.last_seen_at.map_or_else(|| "never".to_owned(), time),
                    time(a.certificate_not_after),
                    if a.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    },
                )?;
            }
        }
        AgentCommand::Revoke { id } => {
            anyhow::ensure!(
                registry::revoke_agent(pool, id).await?,
                "no active agent {id}"
            );
            users::record(
                pool,
                "agent.revoke",
                format!("agent {id}"),
                serde_json::json!({}),
            )
            .await?;
            writeln!(out, "Agent {id} revoked: its certificates no longer work.")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("server.toml");
        std::fs::write(
            &path,
            "data_dir = \"/from/file\"\n[grpc]\nlisten = \"127.0.0.1:1\"\n[database]\nurl = \"postgres://file\"\n",
        )
        .expect("write");
        let cli = Cli::try_parse_from([
            "tokenwatch-server",
            "--config",
            path.to_str().expect("utf-8"),
            "serve",
            "--grpc-listen",
            "127.0.0.1:2",
            "--database-url",
            "postgres://flag",
        ])
        .expect("parses");
        let config = cli.load_config().expect("config");
        assert_eq!(config.grpc.listen, "127.0.0.1:2".parse().expect("addr"));
        assert_eq!(config.database.url.expose(), "postgres://flag");
        assert_eq!(config.data_dir, PathBuf::from("/from/file"));
    }

    #[test]
    fn expiry_options_exclude_each_other() {
        let parsed = Cli::try_parse_from([
            "tokenwatch-server",
            "enroll-secret",
            "create",
            "--office",
            "x",
            "--expires",
            "2030-01-01T00:00:00Z",
            "--expires-in",
            "7d",
        ]);
        assert!(parsed.is_err());
    }
}
