//! The agent service over mutual TLS: enrolment, reports and certificate renewal, plus the
//! standard gRPC health service.
//!
//! TLS offers client authentication without requiring it, because an agent enrols before it
//! has a certificate; `Report` and `Renew` then require one and take the agent's identity from
//! it alone (see [`identity`]). Every refusal is logged with its reason inside the request's
//! span, which carries the RPC and, once known, the agent id; the agent only sees the code and
//! a short message without database detail.

mod enroll;
mod identity;
mod limit;
mod renew;
mod report;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokenwatch_proto::ReportEnvelope;
use tokenwatch_proto::ingest::agent_service_server::{AgentService, AgentServiceServer};
use tokenwatch_proto::v1::{
    EnrollRequest, EnrollResponse, RenewRequest, RenewResponse, ReportResponse,
};
use tonic::codegen::http;
use tonic::transport::Server;
use tonic::{Request, Response, Status};

use crate::alerts::ChangedHosts;
use crate::config::Config;
use crate::ingest::{Ingest, IngestError, IngestOptions};
use crate::listener::CappedListener;
use crate::metrics::{EnrollOutcome, Metrics};
use crate::pki::{Pki, PkiError};

/// A request's whole life on the server, including receiving it: bounds a client that sends a
/// request slowly or never finishes it. Twice what an agent waits for an answer (60 s), so it
/// never cuts short a request an agent still waits for.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// A connection silent for this long is pinged, and closed if the ping is not answered within
/// [`KEEPALIVE_TIMEOUT`]: an agent that lost power or network behind a NAT never closes its
/// connection, and the server, which only ever answers, would otherwise keep it forever.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(60);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// Requests at once on one connection. An agent sends one at a time; without a limit one
/// connection could hold a task and a request buffer for as many streams as it opens.
const MAX_STREAMS: u32 = 16;

/// A connection is asked to close (HTTP/2 GOAWAY) this long after it opened, and closed
/// [`REQUEST_TIMEOUT`] later if it still has not. Agents report every few minutes and reconnect
/// on their next report, so this costs them nothing; it keeps the connections open at once to
/// about the agents that reported lately, which is what `grpc.max_connections` is sized by. It
/// is also what closes a connection that finished the TLS handshake and then sent nothing:
/// hyper's HTTP/2 server has no timer for the connection preface, and its graceful close waits
/// for one.
const MAX_CONNECTION_AGE: Duration = Duration::from_secs(5 * 60);

/// Why a request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GrpcError {
    #[error("no client certificate")]
    NoCertificate,
    /// Wrong, expired or revoked enrolment secret: one message for all, the reason is logged.
    #[error("enrolment refused: {0}")]
    EnrollDenied(String),
    /// Unknown or revoked agent, or a replaced certificate.
    #[error("agent refused: {0}")]
    AgentDenied(String),
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("rate limit exceeded, retry in {}s", .0.as_secs().max(1))]
    RateLimited(Duration),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Pki(#[from] PkiError),
    #[error("{0}")]
    Ingest(#[from] IngestError),
}

/// The agent service's shared state.
#[derive(Debug)]
pub(crate) struct AgentApi {
    pool: PgPool,
    pki: Arc<Pki>,
    certificate_validity: Duration,
    renew_grace: Duration,
    limiter: limit::RateLimiter,
    ingest: Ingest,
    metrics: Arc<Metrics>,
    /// Hosts whose reports changed, for the evaluation that follows.
    changed: ChangedHosts,
}

/// Serve the agent service on `listener` until `shutdown` completes: at most
/// `grpc.max_connections` connections at once, each with the limits above.
pub(crate) async fn serve(
    config: &Config,
    pool: PgPool,
    pki: Arc<Pki>,
    metrics: Arc<Metrics>,
    changed: ChangedHosts,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), tonic::transport::Error> {
    let tls = pki
        .agent_service_tls()
        .timeout(config.grpc.handshake_timeout.get());
    let listener = CappedListener::new(
        listener,
        config.grpc.max_connections,
        "grpc.max_connections",
    );
    let api = AgentApi {
        ingest: Ingest::start(pool.clone(), IngestOptions::default()),
        pool,
        pki,
        certificate_validity: config.agents.certificate_validity.get(),
        renew_grace: config.agents.renew_grace.get(),
        limiter: limit::RateLimiter::new(
            config.agents.report_interval.get(),
            config.agents.report_burst,
        ),
        metrics,
        changed,
    };
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<AgentServiceServer<AgentApi>>().await;
    let service =
        AgentServiceServer::new(api).max_decoding_message_size(config.grpc.max_message_size);
    Server::builder()
        .tls_config(tls)?
        .timeout(REQUEST_TIMEOUT)
        .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT))
        .max_concurrent_streams(MAX_STREAMS)
        .max_connection_age(MAX_CONNECTION_AGE)
        .max_connection_age_grace(REQUEST_TIMEOUT)
        .layer(tower::util::MapResponseLayer::new(too_large_is_exhausted))
        .add_service(health_service)
        .add_service(service)
        .serve_with_incoming_shutdown(listener.into_stream(), shutdown)
        .await
}

// === impl AgentApi ===

// The request spans are at ERROR level so that whatever filter lets a refusal through also
// keeps the RPC and agent id that go with it.

#[tonic::async_trait]
impl AgentService for AgentApi {
    #[tracing::instrument(level = "error", skip_all, fields(rpc = "Enroll", agent = tracing::field::Empty))]
    async fn enroll(
        &self,
        request: Request<EnrollRequest>,
    ) -> Result<Response<EnrollResponse>, Status> {
        let result = enroll::enroll(self, request.into_inner()).await;
        self.metrics.count_enrollment(enroll_outcome(&result));
        respond(result)
    }

    #[tracing::instrument(level = "error", skip_all, fields(rpc = "Report", agent = tracing::field::Empty))]
    async fn report(
        &self,
        request: Request<ReportEnvelope>,
    ) -> Result<Response<ReportResponse>, Status> {
        respond(report::report(self, request).await)
    }

    #[tracing::instrument(level = "error", skip_all, fields(rpc = "Renew", agent = tracing::field::Empty))]
    async fn renew(
        &self,
        request: Request<RenewRequest>,
    ) -> Result<Response<RenewResponse>, Status> {
        respond(renew::renew(self, request).await)
    }
}

fn respond<T>(result: Result<T, GrpcError>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

/// How an enrolment ended, by the same distinctions the agent is given.
fn enroll_outcome(result: &Result<EnrollResponse, GrpcError>) -> EnrollOutcome {
    match result {
        Ok(_) => EnrollOutcome::Enrolled,
        Err(GrpcError::EnrollDenied(_)) => EnrollOutcome::Refused,
        Err(GrpcError::Invalid(_) | GrpcError::Pki(PkiError::InvalidCsr(_))) => {
            EnrollOutcome::Invalid
        }
        Err(_) => EnrollOutcome::Failed,
    }
}

// === impl GrpcError ===

/// The one mapping from failures to what the agent sees. Logged here, inside the request span.
impl From<GrpcError> for Status {
    fn from(error: GrpcError) -> Self {
        match error {
            GrpcError::NoCertificate => {
                tracing::warn!(message = "Refused: no client certificate.");
                Self::unauthenticated("a client certificate is required")
            }
            GrpcError::EnrollDenied(reason) => {
                tracing::warn!(message = "Refused enrolment.", %reason);
                Self::permission_denied("enrolment refused: invalid, expired or revoked secret")
            }
            GrpcError::AgentDenied(reason) => {
                tracing::warn!(message = "Refused agent.", %reason);
                Self::permission_denied("this agent is not allowed")
            }
            GrpcError::Invalid(reason) => {
                tracing::warn!(message = "Refused an invalid request.", %reason);
                Self::invalid_argument(reason)
            }
            GrpcError::Pki(PkiError::InvalidCsr(reason)) => {
                tracing::warn!(message = "Refused a certificate request.", %reason);
                Self::invalid_argument(format!("invalid certificate request: {reason}"))
            }
            error @ GrpcError::RateLimited(_) => {
                tracing::warn!(message = "Refused: rate limit.", %error);
                Self::resource_exhausted(error.to_string())
            }
            GrpcError::Database(error) => {
                tracing::error!(message = "Database error.", %error);
                Self::internal("internal error")
            }
            GrpcError::Pki(error) => {
                tracing::error!(message = "Certificate error.", %error);
                Self::internal("internal error")
            }
            GrpcError::Ingest(error @ (IngestError::UnknownAgent | IngestError::Refused(_))) => {
                tracing::warn!(message = "Refused agent.", reason = %error);
                error.into()
            }
            GrpcError::Ingest(error) => {
                tracing::warn!(message = "Report not applied.", %error);
                error.into()
            }
        }
    }
}

/// Tonic answers a request over `max_decoding_message_size` with `OUT_OF_RANGE`; gRPC says
/// `RESOURCE_EXHAUSTED`, which is also what agents treat as "do not retry this as is".
fn too_large_is_exhausted(
    mut response: http::Response<tonic::body::Body>,
) -> http::Response<tonic::body::Body> {
    let headers = response.headers_mut();
    let out_of_range = headers.get("grpc-status").is_some_and(|s| s == "11");
    let too_large = headers
        .get("grpc-message")
        .and_then(|m| m.to_str().ok())
        .is_some_and(|m| m.replace("%20", " ").contains("message length too large"));
    if out_of_range && too_large {
        headers.insert("grpc-status", http::HeaderValue::from_static("8"));
    }
    response
}

/// A protobuf timestamp for `time`.
fn timestamp(time: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.timestamp(),
        nanos: i32::try_from(time.timestamp_subsec_nanos()).unwrap_or(0),
    }
}
