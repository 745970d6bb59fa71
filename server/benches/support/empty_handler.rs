//! The ceiling for the end-to-end figures: the agent service over the same mutual TLS, with the
//! same server certificate and agent CA, whose `Report` answers at once without looking at the
//! report. What a report costs there is the transport alone: TLS, HTTP/2 and the 26 KB body.

use std::net::SocketAddr;

use tokenwatch_proto::ReportEnvelope;
use tokenwatch_proto::ingest::agent_service_server::{AgentService, AgentServiceServer};
use tokenwatch_proto::v1;
use tokenwatch_server::config::Config;
use tokenwatch_server::pki::Pki;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

struct Empty;

#[tonic::async_trait]
impl AgentService for Empty {
    async fn enroll(
        &self,
        _: Request<v1::EnrollRequest>,
    ) -> Result<Response<v1::EnrollResponse>, Status> {
        Err(Status::unimplemented(
            "the empty handler only takes reports",
        ))
    }

    async fn report(
        &self,
        _: Request<ReportEnvelope>,
    ) -> Result<Response<v1::ReportResponse>, Status> {
        Ok(Response::new(v1::ReportResponse::default()))
    }

    async fn renew(
        &self,
        _: Request<v1::RenewRequest>,
    ) -> Result<Response<v1::RenewResponse>, Status> {
        Err(Status::unimplemented(
            "the empty handler only takes reports",
        ))
    }
}

/// Serve the empty handler with the TLS material of the server configured by `config` (its
/// data dir, already populated by the server), on a free port of 127.0.0.1, until the
/// returned sender is dropped.
pub(crate) async fn serve(config: &Config) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let pki = Pki::load_or_create(config).expect("the server's certificates");
    let tls = pki.agent_service_tls();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut builder = Server::builder().tls_config(tls).expect("TLS");
    let router = builder.add_service(
        AgentServiceServer::new(Empty).max_decoding_message_size(config.grpc.max_message_size),
    );
    tokio::spawn(
        router.serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
            let _ = stopped.await;
        }),
    );
    (addr, stop)
}
