//! Prometheus metrics, served at `GET /metrics` in the Prometheus text format (0.0.4), the
//! format `promtool check metrics` validates and every Prometheus-compatible scraper reads.
//!
//! Two kinds of series:
//! - counters of what this process did (reports applied or refused, enrolments), kept in memory
//!   and always current; they start at zero with the process, as Prometheus counters do;
//! - gauges describing the inventory (certificate and key end dates, agents' last reports,
//!   per-office counts, findings), computed from PostgreSQL with a few set-based queries
//!   ([`inventory`]) and cached for `http.metrics_max_age`, so that several scrapers, or one
//!   scraping often, cost at most one computation per period.
//!
//! Each scrape builds a fresh registry around the shared counters and the cached inventory:
//! the inventory's series are exactly those of the last computation, and a certificate that
//! left every host disappears from the exposition instead of lingering.

mod inventory;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use sqlx::PgPool;
use tokio::sync::Mutex;

use crate::ingest::{Applied, IngestError};

pub use prometheus_text::CONTENT_TYPE;

/// The server's metrics: counters and the inventory cache. One per server process.
pub struct Metrics {
    reports: Family<Outcome, Counter>,
    enrollments: Family<Outcome, Counter>,
    notifications: Family<ChannelOutcome, Counter>,
    /// The configured channels, exposed at zero before they have any delivery.
    channels: std::sync::Mutex<Vec<String>>,
    max_age: Duration,
    /// The last inventory computed and when. A lock held across the computation, so that
    /// concurrent scrapes of an outdated cache wait for one computation instead of each
    /// starting their own.
    latest: Mutex<Option<(Instant, Arc<inventory::Inventory>)>>,
}

/// How an enrolment ended, for `tokenwatch_enrollments_total{outcome}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnrollOutcome {
    /// An agent was enrolled.
    Enrolled,
    /// A wrong, expired or revoked secret.
    Refused,
    /// A malformed request: host name or CSR.
    Invalid,
    /// The server could not complete it (database, PKI).
    Failed,
}

/// Why the metrics could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot encode the metrics")]
    Encode(#[from] std::fmt::Error),
}

/// The `outcome` label of a counter.
type Outcome = [(&'static str, &'static str); 1];

/// The `channel` and `outcome` labels of the notification counter.
type ChannelOutcome = [(&'static str, String); 2];

const REPORT_OUTCOMES: [&str; 5] = ["changed", "unchanged", "duplicate", "rejected", "failed"];
const ENROLL_OUTCOMES: [&str; 4] = ["enrolled", "refused", "invalid", "failed"];

// === impl Metrics ===

// Not derived: the cached inventory names people and has no place in a log line.
impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// Counters at zero; the inventory is computed at the first scrape and then at most once
    /// per `max_age`.
    pub fn new(max_age: Duration) -> Self {
        let metrics = Self {
            reports: Family::default(),
            enrollments: Family::default(),
            notifications: Family::default(),
            channels: std::sync::Mutex::default(),
            max_age,
            latest: Mutex::new(None),
        };
        // Every outcome is exposed from the start, at its true count of zero, so that rate()
        // and increase() see the first event rather than a series appearing at 1.
        for outcome in REPORT_OUTCOMES {
            metrics.reports.get_or_create_owned(&[("outcome", outcome)]);
        }
        for outcome in ENROLL_OUTCOMES {
            metrics
                .enrollments
                .get_or_create_owned(&[("outcome", outcome)]);
        }
        metrics
    }

    /// Count the result of applying a report, and hand it back.
    ///
    /// `rejected`: the report was refused (invalid, or the agent is unknown or revoked);
    /// `failed`: it could not be stored (database). Refusals before the report reaches the
    /// ingest (no certificate, rate limit) are not reports applied and are not counted here.
    pub fn count_report(
        &self,
        result: Result<Applied, IngestError>,
    ) -> Result<Applied, IngestError> {
        let outcome = match &result {
            Ok(applied) if applied.duplicate => "duplicate",
            Ok(applied) if applied.changed => "changed",
            Ok(_) => "unchanged",
            Err(IngestError::Invalid(_) | IngestError::UnknownAgent | IngestError::Refused(_)) => {
                "rejected"
            }
            Err(IngestError::Database(_) | IngestError::Stopped) => "failed",
        };
        self.reports.get_or_create(&[("outcome", outcome)]).inc();
        result
    }

    /// Count one enrolment attempt.
    pub fn count_enrollment(&self, outcome: EnrollOutcome) {
        let outcome = match outcome {
            EnrollOutcome::Enrolled => "enrolled",
            EnrollOutcome::Refused => "refused",
            EnrollOutcome::Invalid => "invalid",
            EnrollOutcome::Failed => "failed",
        };
        self.enrollments
            .get_or_create(&[("outcome", outcome)])
            .inc();
    }

    /// Count `n` notification deliveries to `channel`: `sent`, `failed` (to be retried) or
    /// `abandoned`.
    pub fn count_notifications(&self, channel: &str, outcome: &'static str, n: usize) {
        let labels = [
            ("channel", channel.to_owned()),
            ("outcome", outcome.to_owned()),
        ];
        let counter = self.notifications.get_or_create(&labels);
        counter.inc_by(u64::try_from(n).unwrap_or(u64::MAX));
    }

    /// Expose every outcome of `channel` at zero, so that a channel's first failure is an
    /// increase rather than a new series, and its gauges from the start.
    pub fn register_channel(&self, channel: &str) {
        if let Ok(mut channels) = self.channels.lock() {
            channels.push(channel.to_owned());
        }
        for outcome in ["sent", "failed", "abandoned"] {
            let labels = [
                ("channel", channel.to_owned()),
                ("outcome", outcome.to_owned()),
            ];
            self.notifications.get_or_create_owned(&labels);
        }
    }

    /// The exposition, Prometheus text format; see [`CONTENT_TYPE`].
    pub async fn render(&self, pool: &PgPool) -> Result<String, MetricsError> {
        let inventory = self.inventory(pool).await?;
        let mut registry = Registry::default();
        // The families are handles on the shared counters: registering a clone exposes them.
        registry.register(
            "tokenwatch_reports",
            "Reports from agents by outcome: changed, unchanged (only last seen moved), \
             duplicate (sequence already applied), rejected (invalid, unknown or revoked \
             agent), failed (not stored)",
            self.reports.clone(),
        );
        registry.register(
            "tokenwatch_enrollments",
            "Enrolment attempts by outcome: enrolled, refused (wrong, expired or revoked \
             secret), invalid (bad host name or CSR), failed",
            self.enrollments.clone(),
        );
        registry.register(
            "tokenwatch_notifications",
            "Notification deliveries by this process, by channel and outcome: sent, failed \
             (retried later), abandoned (refused for good or too old)",
            self.notifications.clone(),
        );
        registry.register_collector(Box::new(inventory));
        let mut body = String::new();
        prometheus_text::encode(&mut body, &registry)?;
        Ok(body)
    }

    /// The cached inventory, computed again when older than `max_age`.
    async fn inventory(&self, pool: &PgPool) -> Result<Arc<inventory::Inventory>, sqlx::Error> {
        let mut latest = self.latest.lock().await;
        if let Some((at, inventory)) = latest.as_ref() {
            if at.elapsed() < self.max_age {
                return Ok(Arc::clone(inventory));
            }
        }
        let channels = self.channels.lock().map(|c| c.clone()).unwrap_or_default();
        let inventory = Arc::new(inventory::Inventory::load(pool, Utc::now(), &channels).await?);
        *latest = Some((Instant::now(), Arc::clone(&inventory)));
        Ok(inventory)
    }
}
