//! A small real tokenwatch server for the agent's tests: tonic over rustls with mutual TLS and
//! certificates from an rcgen CA. Enroll and Renew sign the agent's CSR; Report requires the
//! client certificate. It runs on its own runtime so stopping it cuts every connection at once,
//! as a crashed or restarted server would.

// Each test binary that includes this module uses a different part of it.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use tokenwatch_proto::v1::{
    self,
    agent_service_server::{AgentService, AgentServiceServer},
};
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig, server::TcpIncoming};
use tonic::{Code, Request, Response, Status};

pub const SECRET: &str = "office-secret-42";
pub const OFFICE: &str = "Казань, ул. Баумана";

/// The test PKI: one CA for the server's certificate and the agents'.
pub struct Pki {
    ca: Issuer<'static, KeyPair>,
    pub ca_pem: String,
    ca_der: Vec<u8>,
    server_cert_pem: String,
    server_key_pem: String,
}

impl Pki {
    pub fn new() -> Self {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params
            .distinguished_name
            .push(DnType::CommonName, "tokenwatch test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = params.self_signed(&ca_key).expect("CA cert");
        let ca = Issuer::new(params, ca_key);
        let server_key = KeyPair::generate().expect("server key");
        let mut server = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
            .expect("server params");
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = server.signed_by(&server_key, &ca).expect("server cert");
        Self {
            ca,
            ca_pem: ca_cert.pem(),
            ca_der: ca_cert.der().to_vec(),
            server_cert_pem: server_cert.pem(),
            server_key_pem: server_key.serialize_pem(),
        }
    }

    /// Sign a CSR, forcing CN = `agent_id` as the real server does.
    fn sign(&self, csr_der: &[u8], agent_id: &str) -> Result<Vec<u8>, Status> {
        let der = rustls_pki_types::CertificateSigningRequestDer::from(csr_der.to_vec());
        let mut csr = CertificateSigningRequestParams::from_der(&der)
            .map_err(|e| Status::invalid_argument(format!("bad CSR: {e}")))?;
        csr.params.distinguished_name = rcgen::DistinguishedName::new();
        csr.params
            .distinguished_name
            .push(DnType::CommonName, agent_id);
        csr.params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = csr
            .signed_by(&self.ca)
            .map_err(|e| Status::internal(e.to_string()))?;
        Ok(cert.der().to_vec())
    }
}

/// What the server saw and how it should answer.
#[derive(Default)]
pub struct Shared {
    /// Every accepted report with the CN of the certificate that sent it.
    pub reports: Mutex<Vec<(String, v1::ReportRequest)>>,
    /// Report attempts, accepted or not.
    pub attempts: AtomicUsize,
    pub renewals: AtomicUsize,
    /// Answer Report with this error for these sequences (all when empty).
    pub fail_report: Mutex<Option<(Code, Vec<u64>)>>,
    /// Ask for renewal until the agent has renewed this many times.
    pub renew_rounds: AtomicUsize,
    enrolled: AtomicUsize,
    last_hash: Mutex<Vec<u8>>,
}

impl Shared {
    pub fn sequences(&self) -> Vec<u64> {
        self.reports
            .lock()
            .expect("lock")
            .iter()
            .map(|(_, r)| r.sequence)
            .collect()
    }
}

struct TestService {
    pki: Arc<Pki>,
    shared: Arc<Shared>,
}

fn peer_cn<T>(request: &Request<T>) -> Result<String, Status> {
    let certs = request
        .peer_certs()
        .ok_or_else(|| Status::unauthenticated("a client certificate is required"))?;
    let first = certs
        .first()
        .ok_or_else(|| Status::unauthenticated("no client certificate"))?;
    let (_, cert) = x509_parser::parse_x509_certificate(first.as_ref())
        .map_err(|_| Status::unauthenticated("unreadable certificate"))?;
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .ok_or_else(|| Status::unauthenticated("no CN"))?;
    Ok(cn.to_owned())
}

#[tonic::async_trait]
impl AgentService for TestService {
    async fn enroll(
        &self,
        request: Request<v1::EnrollRequest>,
    ) -> Result<Response<v1::EnrollResponse>, Status> {
        let request = request.into_inner();
        if request.secret != SECRET {
            return Err(Status::permission_denied("unknown enrolment secret"));
        }
        let n = self.shared.enrolled.fetch_add(1, Ordering::SeqCst);
        let agent_id = format!("6f1c2a9e-0000-4000-8000-{n:012}");
        let certificate_der = self.pki.sign(&request.csr_der, &agent_id)?;
        Ok(Response::new(v1::EnrollResponse {
            agent_id,
            certificate_der,
            agent_ca_der: self.pki.ca_der.clone(),
            not_after: None,
            office: OFFICE.into(),
        }))
    }

    async fn report(
        &self,
        request: Request<v1::ReportRequest>,
    ) -> Result<Response<v1::ReportResponse>, Status> {
        let cn = peer_cn(&request)?;
        self.shared.attempts.fetch_add(1, Ordering::SeqCst);
        let report = request.into_inner();
        if let Some((code, sequences)) = &*self.shared.fail_report.lock().expect("lock") {
            if sequences.is_empty() || sequences.contains(&report.sequence) {
                return Err(Status::new(*code, "refused by the test"));
            }
        }
        let changed = {
            let mut last = self.shared.last_hash.lock().expect("lock");
            let changed = *last != report.content_hash;
            last.clone_from(&report.content_hash);
            changed
        };
        self.shared.reports.lock().expect("lock").push((cn, report));
        let renew_due = self.shared.renewals.load(Ordering::SeqCst)
            < self.shared.renew_rounds.load(Ordering::SeqCst);
        let at = if renew_due {
            SystemTime::now() - Duration::from_secs(60)
        } else {
            SystemTime::now() + Duration::from_secs(20 * 86400)
        };
        Ok(Response::new(v1::ReportResponse {
            changed,
            renew_after: Some(at.into()),
        }))
    }

    async fn renew(
        &self,
        request: Request<v1::RenewRequest>,
    ) -> Result<Response<v1::RenewResponse>, Status> {
        let cn = peer_cn(&request)?;
        let certificate_der = self.pki.sign(&request.into_inner().csr_der, &cn)?;
        self.shared.renewals.fetch_add(1, Ordering::SeqCst);
        Ok(Response::new(v1::RenewResponse {
            certificate_der,
            not_after: None,
        }))
    }
}

/// A running test server.
pub struct TestServer {
    pub addr: SocketAddr,
    pub shared: Arc<Shared>,
    pki: Arc<Pki>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TestServer {
    /// Start on a free port of 127.0.0.1 with a new PKI.
    pub fn start() -> Self {
        Self::start_at(
            "127.0.0.1:0".parse().expect("addr"),
            Arc::new(Pki::new()),
            Arc::default(),
        )
    }

    pub fn start_at(addr: SocketAddr, pki: Arc<Pki>, shared: Arc<Shared>) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = {
            // Registering the socket needs the server's runtime, not the test's.
            let _entered = runtime.enter();
            bind(addr)
        };
        let addr = listener.local_addr().expect("addr");
        let tls = ServerTlsConfig::new()
            .identity(Identity::from_pem(
                &pki.server_cert_pem,
                &pki.server_key_pem,
            ))
            .client_ca_root(Certificate::from_pem(&pki.ca_pem))
            .client_auth_optional(true);
        let service = TestService {
            pki: Arc::clone(&pki),
            shared: Arc::clone(&shared),
        };
        runtime.spawn(async move {
            Server::builder()
                .tls_config(tls)
                .expect("tls")
                .add_service(AgentServiceServer::new(service))
                .serve_with_incoming(TcpIncoming::from(listener))
                .await
                .expect("serves");
        });
        Self {
            addr,
            shared,
            pki,
            runtime: Some(runtime),
        }
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.addr.port())
    }

    pub fn ca_pem(&self) -> &str {
        &self.pki.ca_pem
    }

    /// Stop, cutting every connection, and hand back what a restart needs.
    pub fn stop(mut self) -> (SocketAddr, Arc<Pki>, Arc<Shared>) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
        (self.addr, Arc::clone(&self.pki), Arc::clone(&self.shared))
    }
}

/// Listen on `addr`, reusing it right after a stop as a restarted server would.
fn bind(addr: SocketAddr) -> tokio::net::TcpListener {
    for _ in 0..50 {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("reuseaddr");
        if socket.bind(addr).is_ok() {
            return socket.listen(128).expect("listens");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("cannot bind {addr}");
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
