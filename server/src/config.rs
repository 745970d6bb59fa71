//! The server's configuration: a TOML file (unknown keys refused), then `TOKENWATCH_*`
//! environment variables, then command-line flags, each overriding the one before.
//!
//! Every field has a default, so an empty file (or none) is a working development setup.
//! `deploy/server.example.toml` shows the defaults and is checked against them by a test.

mod duration;
mod notify;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use duration::Span;
pub use notify::{
    AlertmanagerChannel, EmailChannel, Language, NotifyConfig, Route, SmtpSecurity, WebhookChannel,
    WebhookFormat,
};

/// Everything `serve` needs.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the agent CA and the server certificate are kept when not supplied as files.
    pub data_dir: PathBuf,
    pub database: DatabaseConfig,
    pub grpc: GrpcConfig,
    pub http: HttpConfig,
    pub tls: TlsConfig,
    pub agent_ca: AgentCaConfig,
    pub agents: AgentsConfig,
    pub alerts: AlertsConfig,
    pub notify: NotifyConfig,
}

/// `[database]`
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub url: DatabaseUrl,
    pub max_connections: u32,
}

/// `[grpc]`: the agents' endpoint, always mutual-TLS capable.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcConfig {
    pub listen: SocketAddr,
    /// Largest request accepted, in bytes; larger reports get `RESOURCE_EXHAUSTED`.
    pub max_message_size: usize,
    /// A client must finish the TLS handshake within this span of connecting, or is dropped:
    /// otherwise one that connects and sends nothing holds its connection forever.
    pub handshake_timeout: Span,
    /// Connections served at once; more wait in the listen backlog until one closes. An agent
    /// keeps its connection after a report, until the server closes it about five minutes
    /// after it opened.
    pub max_connections: usize,
}

/// `[http]`: health endpoints, Prometheus metrics and the alert API.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    /// A file holding the token `GET /metrics` requires as `Authorization: Bearer <token>`.
    /// The metrics name people (certificate subjects), so a listener reachable beyond this host
    /// should have one; without it `/metrics` is open to whoever reaches the listener.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_bearer_token_file: Option<PathBuf>,
    /// A file holding a token `/api/v1/…` admits as `Authorization: Bearer <token>` with the
    /// admin role over every office, for scripts. Accounts' own API tokens
    /// (`tokenwatch-server user token create`) are the better choice: each is named, limited
    /// to its account's role and offices, and revocable alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_bearer_token_file: Option<PathBuf>,
    /// Mark the session cookie `Secure`, so browsers send it over HTTPS only (and to
    /// `localhost`). Turn off only for a plain-HTTP listener other hosts reach through a
    /// network you trust.
    pub secure_cookies: bool,
    /// The inventory gauges are computed from the database at most once per this span; scrapes
    /// in between get the same values. Counters are always current.
    pub metrics_max_age: Span,
    /// The per-office summary (the dashboard's overview, `/api/v1/summary`) is counted at most
    /// once per this span for each set of offices read (an older count, up to ten times as
    /// old, is served while a new one is made); `0s` counts on every request.
    pub summary_max_age: Span,
    /// A client must send a request's head within this span of connecting, or of the previous
    /// response on a kept-alive connection, or is disconnected.
    pub header_read_timeout: Span,
    /// Connections served at once; more wait in the listen backlog until one closes.
    pub max_connections: usize,
}

/// `[tls]`: the server's certificate. Without `cert`/`key`, one is issued by the agent CA for
/// `names` (empty: `localhost`, `127.0.0.1` and this host's name) and kept in the data dir.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    pub names: Vec<String>,
}

/// `[agent_ca]`: the CA that signs agent certificates. Without `cert`/`key`, one is created in
/// the data dir on first start.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentCaConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
}

/// `[agents]`: certificates and limits.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentsConfig {
    /// Lifetime of an agent certificate.
    pub certificate_validity: Span,
    /// How long a certificate replaced by `Renew` keeps working, so that an agent that lost the
    /// answer can renew again with it.
    pub renew_grace: Span,
    /// One report per this interval per agent on average...
    pub report_interval: Span,
    /// ...with bursts of up to this many. Counted per server process.
    pub report_burst: u32,
}

/// `[alerts]`: the defaults of the alert rules; `office_alert_settings` overrides the
/// thresholds per office.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// How often the rules are evaluated (by one server process at a time).
    pub evaluation_interval: Span,
    /// Days before a certificate, private key or licence ends at which a warning fires...
    pub warning_days: u32,
    /// ...and at which it becomes critical.
    pub critical_days: u32,
    /// How often agents report (their `--interval`).
    pub agent_interval: Span,
    /// An agent silent for more than this many intervals fires `agent.silent`.
    pub silent_after_intervals: u32,
    /// A token or key container missing from every host for more than this many days fires
    /// `token.gone` / `container.gone`.
    pub gone_after_days: u32,
    /// An unacknowledged critical alert is notified again after this long.
    pub repeat_interval: Span,
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid configuration in {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The most `*.max_connections` may be: far beyond any process's open-file limit, and what a
/// semaphore can count.
const MAX_CONNECTIONS: usize = 1 << 20;

/// A PostgreSQL URL whose `Debug` and `Display` hide the password.
#[derive(Clone, Deserialize, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

// === impl Config ===

impl Config {
    /// Read `path` (TOML). Relative paths inside it are kept as written.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })
    }

    /// Parse a TOML document.
    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// The defaults as TOML, for `gen-config`.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
    }

    /// Check what serde cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            return invalid("tls.cert and tls.key go together");
        }
        if self.agent_ca.cert.is_some() != self.agent_ca.key.is_some() {
            return invalid("agent_ca.cert and agent_ca.key go together");
        }
        if self.agents.report_burst == 0 {
            return invalid("agents.report_burst must be at least 1");
        }
        if self.agents.report_interval.get().is_zero() {
            return invalid("agents.report_interval must be positive");
        }
        if self.agents.certificate_validity.get() < std::time::Duration::from_secs(3600) {
            return invalid("agents.certificate_validity must be at least 1h");
        }
        if self.alerts.critical_days > self.alerts.warning_days {
            return invalid("alerts.critical_days must not exceed alerts.warning_days");
        }
        if self.alerts.silent_after_intervals == 0 {
            return invalid("alerts.silent_after_intervals must be at least 1");
        }
        if self.alerts.gone_after_days == 0 {
            return invalid("alerts.gone_after_days must be at least 1");
        }
        for (name, span) in [
            (
                "alerts.evaluation_interval",
                self.alerts.evaluation_interval,
            ),
            ("alerts.agent_interval", self.alerts.agent_interval),
            ("alerts.repeat_interval", self.alerts.repeat_interval),
        ] {
            if span.get().is_zero() {
                return Err(ConfigError::Invalid(format!("{name} must be positive")));
            }
        }
        if self.database.max_connections == 0 {
            return invalid("database.max_connections must be at least 1");
        }
        for (name, span) in [
            ("grpc.handshake_timeout", self.grpc.handshake_timeout),
            ("http.header_read_timeout", self.http.header_read_timeout),
        ] {
            if span.get().is_zero() {
                return Err(ConfigError::Invalid(format!("{name} must be positive")));
            }
        }
        for (name, max) in [
            ("grpc.max_connections", self.grpc.max_connections),
            ("http.max_connections", self.http.max_connections),
        ] {
            if !(1..=MAX_CONNECTIONS).contains(&max) {
                return Err(ConfigError::Invalid(format!(
                    "{name} must be between 1 and {MAX_CONNECTIONS}"
                )));
            }
        }
        self.notify.validate().map_err(ConfigError::Invalid)?;
        Ok(())
    }
}

// === defaults ===

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("/var/lib/tokenwatch"),
            database: DatabaseConfig::default(),
            grpc: GrpcConfig::default(),
            http: HttpConfig::default(),
            tls: TlsConfig::default(),
            agent_ca: AgentCaConfig::default(),
            agents: AgentsConfig::default(),
            alerts: AlertsConfig::default(),
            notify: NotifyConfig::default(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: DatabaseUrl::new("postgres://tokenwatch@localhost/tokenwatch"),
            max_connections: 10,
        }
    }
}

impl Default for GrpcConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 50051)),
            max_message_size: 16 * 1024 * 1024,
            // Ample for an agent's handshake over a slow office link; a stalled client's
            // connection is gone within seconds.
            handshake_timeout: Span::from_secs(10),
            // With reports every 15 minutes and connections closed about 5 minutes after they
            // open, some 12,000 agents; more need a higher value, and a higher open-file limit
            // for the process to match.
            max_connections: 4096,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            metrics_bearer_token_file: None,
            api_bearer_token_file: None,
            secure_cookies: true,
            // Prometheus scrapes every 15 s to 1 min: one scraper costs at most one computation
            // per scrape, and several (an HA pair, a second team's) share it.
            metrics_max_age: Span::from_secs(15),
            // Its counts are of days (what expires within 7 days) and hours (silent hosts).
            summary_max_age: Span::from_secs(30),
            // Browsers and scrapers send a request head at once; idle kept-alive connections
            // are closed after this too, which costs a browser a new connection now and then.
            header_read_timeout: Span::from_secs(10),
            // A few browsers (up to six connections each), scrapers and probes.
            max_connections: 512,
        }
    }
}

impl Default for AgentsConfig {
    fn default() -> Self {
        Self {
            certificate_validity: Span::from_secs(90 * 86_400),
            renew_grace: Span::from_secs(86_400),
            report_interval: Span::from_secs(10),
            report_burst: 5,
        }
    }
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            evaluation_interval: Span::from_secs(60),
            warning_days: 30,
            critical_days: 14,
            agent_interval: Span::from_secs(15 * 60),
            silent_after_intervals: 3,
            gone_after_days: 7,
            repeat_interval: Span::from_secs(86_400),
        }
    }
}

// === impl DatabaseUrl ===

impl DatabaseUrl {
    /// Wrap a URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The URL with its password, for connecting.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        let url = &self.0;
        let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
            return url.clone();
        };
        let rest = &url[scheme_end..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let mut out = url[..scheme_end].to_owned();
        match rest[..authority_end].rfind('@') {
            Some(at) => {
                let userinfo = &rest[..at];
                match userinfo.find(':') {
                    Some(colon) => {
                        out.push_str(&userinfo[..colon]);
                        out.push_str(":***");
                    }
                    None => out.push_str(userinfo),
                }
                out.push_str(&rest[at..authority_end]);
            }
            None => out.push_str(&rest[..authority_end]),
        }
        let tail = &rest[authority_end..];
        // A password may also come as a query parameter.
        match tail.split_once('?') {
            Some((path, query)) => {
                out.push_str(path);
                out.push('?');
                let params: Vec<String> = query
                    .split('&')
                    .map(|p| match p.split_once('=') {
                        Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                        _ => p.to_owned(),
                    })
                    .collect();
                out.push_str(&params.join("&"));
            }
            None => out.push_str(tail),
        }
        out
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUrl")
            .field(&self.redacted())
            .finish()
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests;
