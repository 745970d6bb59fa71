//! The real server (`tokenwatch_server::run`) on ephemeral ports against a `#[sqlx::test]`
//! database, and an agent-side client over rustls.

use std::net::SocketAddr;
use std::time::Duration;

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use sqlx::{ConnectOptions, PgPool};
use tempfile::TempDir;
use tokenwatch_proto::v1::agent_service_client::AgentServiceClient;
use tokenwatch_proto::v1::{EnrollRequest, EnrollResponse, ReportRequest};
use tokenwatch_server::config::{Config, DatabaseUrl};
use tokenwatch_server::{Listeners, registry};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// A running server; stopped (gracefully) on drop.
pub(crate) struct TestServer {
    pub(crate) grpc: SocketAddr,
    pub(crate) http: SocketAddr,
    pub(crate) pool: PgPool,
    pub(crate) db_url: String,
    pub(crate) data_dir: std::path::PathBuf,
    _temp: TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// An agent's key and, once enrolled or renewed, its certificate.
pub(crate) struct TestAgent {
    pub(crate) id: String,
    pub(crate) key: KeyPair,
    pub(crate) cert_der: Vec<u8>,
}

/// Install the rustls provider once per test process.
pub(crate) fn init() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TEST_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off")),
        )
        .with_test_writer()
        .try_init();
}

/// The database URL of a `#[sqlx::test]` pool.
pub(crate) fn url_of(pool: &PgPool) -> String {
    pool.connect_options().to_url_lossy().to_string()
}

impl TestServer {
    /// Start with the defaults, on 127.0.0.1 ports chosen by the kernel.
    pub(crate) async fn start(pool: PgPool) -> Self {
        Self::start_with(pool, |_| {}).await
    }

    /// Start with `adjust` applied to the configuration.
    pub(crate) async fn start_with(pool: PgPool, adjust: impl FnOnce(&mut Config)) -> Self {
        let data_dir = tempfile::tempdir().expect("tempdir");
        Self::start_in(pool, data_dir, adjust).await
    }

    /// Start with the given data dir (shared by several servers in a test).
    pub(crate) async fn start_in(
        pool: PgPool,
        data_dir: TempDir,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        init();
        let db_url = url_of(&pool);
        let mut config = Config::default();
        config.database.url = DatabaseUrl::new(db_url.clone());
        config.database.max_connections = 4;
        config.data_dir = data_dir.path().to_owned();
        adjust(&mut config);
        let data_path = config.data_dir.clone();
        let grpc = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let http = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let (grpc_addr, http_addr) = (
            grpc.local_addr().expect("addr"),
            http.local_addr().expect("addr"),
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(tokenwatch_server::run(
            config,
            Listeners { grpc, http },
            async move {
                let _ = stopped.await;
            },
        ));
        let server = Self {
            grpc: grpc_addr,
            http: http_addr,
            pool,
            db_url,
            data_dir: data_path,
            _temp: data_dir,
            stop: Some(stop),
            task: Some(task),
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&self) {
        for _ in 0..200 {
            if let Some(task) = &self.task {
                assert!(!task.is_finished(), "the server stopped during start-up");
            }
            if let Ok((status, _)) = self.get("/readyz").await {
                if status == 200 {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not become ready");
    }

    /// Stop the server and wait for it; its result.
    pub(crate) async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().expect("running");
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("stops within 10 s")
            .expect("joins")
    }

    /// The agent CA the server created, PEM.
    pub(crate) fn ca_pem(&self) -> String {
        std::fs::read_to_string(tokenwatch_server::pki::ca_cert_path(&self.data_dir))
            .expect("agent CA")
    }

    /// A plain HTTP GET on the HTTP listener: status and body.
    pub(crate) async fn get(&self, path: &str) -> std::io::Result<(u16, String)> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(self.http).await?;
        stream
            .write_all(
                format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await?;
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
        Ok((status, body))
    }

    /// A client without a client certificate.
    pub(crate) async fn anonymous(&self) -> AgentServiceClient<Channel> {
        self.client(None).await.expect("connects")
    }

    /// A client presenting `agent`'s certificate.
    pub(crate) async fn as_agent(&self, agent: &TestAgent) -> AgentServiceClient<Channel> {
        self.client(Some(agent.identity())).await.expect("connects")
    }

    /// A client presenting `identity`, if any, trusting the server's agent CA.
    pub(crate) async fn client(
        &self,
        identity: Option<Identity>,
    ) -> Result<AgentServiceClient<Channel>, tonic::transport::Error> {
        Ok(AgentServiceClient::new(self.channel(identity).await?))
    }

    /// A TLS channel to the gRPC listener.
    pub(crate) async fn channel(
        &self,
        identity: Option<Identity>,
    ) -> Result<Channel, tonic::transport::Error> {
        let mut tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(self.ca_pem()))
            .domain_name("localhost");
        if let Some(identity) = identity {
            tls = tls.identity(identity);
        }
        Endpoint::from_shared(format!("https://localhost:{}", self.grpc.port()))?
            .tls_config(tls)?
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .connect()
            .await
    }

    /// A new enrolment secret for `office`.
    pub(crate) async fn secret(&self, office: &str) -> String {
        registry::create_secret(&self.pool, office, None)
            .await
            .expect("secret")
            .secret
    }

    /// Enrol a new agent with `secret`.
    pub(crate) async fn enroll(&self, secret: &str, hostname: &str) -> (TestAgent, EnrollResponse) {
        let key = KeyPair::generate().expect("key");
        let response = self
            .anonymous()
            .await
            .enroll(EnrollRequest {
                secret: secret.to_owned(),
                csr_der: csr(&key),
                hostname: hostname.to_owned(),
                agent_version: "test".into(),
            })
            .await
            .expect("enrols")
            .into_inner();
        let agent = TestAgent {
            id: response.agent_id.clone(),
            key,
            cert_der: response.certificate_der.clone(),
        };
        (agent, response)
    }

    /// Enrol one agent for office "Test office".
    pub(crate) async fn enrolled(&self) -> TestAgent {
        let secret = self.secret("Test office").await;
        self.enroll(&secret, "pc-1.example").await.0
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl TestAgent {
    /// The client identity: certificate and key, PEM.
    pub(crate) fn identity(&self) -> Identity {
        Identity::from_pem(pem_cert(&self.cert_der), self.key.serialize_pem())
    }
}

/// A PKCS#10 request for `key`, DER.
pub(crate) fn csr(key: &KeyPair) -> Vec<u8> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, "agent");
    params.serialize_request(key).expect("csr").der().to_vec()
}

/// DER certificate as PEM.
pub(crate) fn pem_cert(der: &[u8]) -> String {
    pem::encode(&pem::Pem::new("CERTIFICATE", der.to_vec()))
}

/// A report with `sequence` and a small inventory.
pub(crate) fn report(sequence: u64) -> ReportRequest {
    ReportRequest {
        sequence,
        content_hash: vec![u8::try_from(sequence % 256).unwrap_or(0); 32],
        inventory: Some(tokenwatch_proto::v1::Inventory {
            schema: "tokenwatch.inventory/v1".into(),
            collected_at: Some(prost_types::Timestamp::from(std::time::SystemTime::now())),
            host: Some(tokenwatch_proto::v1::Host {
                hostname: "pc-7.example".into(),
                os: "Debian GNU/Linux".into(),
                arch: "x86_64".into(),
                agent_version: "0.1.0".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
    }
}

/// The agents table as (id, last_sequence, revoked), ordered: to show nothing changed.
pub(crate) async fn agents_snapshot(pool: &PgPool) -> Vec<(String, i64, bool, String)> {
    sqlx::query_as(
        "select id::text, last_sequence, revoked_at is not null, certificate_serial from agents order by id",
    )
    .fetch_all(pool)
    .await
    .expect("agents")
}

/// The enrolment secrets table, ordered: to show nothing changed.
pub(crate) async fn secrets_snapshot(
    pool: &PgPool,
) -> Vec<(i64, bool, Option<chrono::DateTime<chrono::Utc>>)> {
    sqlx::query_as("select id, revoked_at is not null, expires_at from enroll_secrets order by id")
        .fetch_all(pool)
        .await
        .expect("secrets")
}

/// One agent's last applied sequence.
pub(crate) async fn last_sequence(pool: &PgPool, agent: &str) -> i64 {
    sqlx::query_scalar("select last_sequence from agents where id = $1::uuid")
        .bind(agent)
        .fetch_one(pool)
        .await
        .expect("agent row")
}
