//! The real server (`tokenwatch_server::run`) on ephemeral ports against a `#[sqlx::test]`
//! database, and an agent-side client over rustls.

use std::net::SocketAddr;
use std::time::Duration;

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use sqlx::PgPool;
use tempfile::TempDir;
use tokenwatch_proto::v1::agent_service_client::AgentServiceClient;
use tokenwatch_proto::v1::{EnrollRequest, EnrollResponse, ReportRequest};
use tokenwatch_server::config::{Config, DatabaseUrl};
use tokenwatch_server::registry;

pub(crate) use crate::launch::url_of;
use crate::launch::{Launched, http_get};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// A running server; stopped (gracefully) on drop.
pub(crate) struct TestServer {
    pub(crate) grpc: SocketAddr,
    pub(crate) http: SocketAddr,
    pub(crate) pool: PgPool,
    pub(crate) db_url: String,
    pub(crate) data_dir: std::path::PathBuf,
    _temp: TempDir,
    launched: Launched,
}

/// An agent's key and, once enrolled or renewed, its certificate.
pub(crate) struct TestAgent {
    pub(crate) id: String,
    pub(crate) key: KeyPair,
    pub(crate) cert_der: Vec<u8>,
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
        let launched = Launched::start(config, grpc).await;
        Self {
            grpc: launched.grpc,
            http: launched.http,
            pool,
            db_url,
            data_dir: data_path,
            _temp: data_dir,
            launched,
        }
    }

    /// Stop the server and wait for it; its result.
    pub(crate) async fn stop(self) -> anyhow::Result<()> {
        self.launched.stop().await
    }

    /// The agent CA the server created, PEM.
    pub(crate) fn ca_pem(&self) -> String {
        std::fs::read_to_string(tokenwatch_server::pki::ca_cert_path(&self.data_dir))
            .expect("agent CA")
    }

    /// A plain HTTP GET on the HTTP listener: status and body.
    pub(crate) async fn get(&self, path: &str) -> std::io::Result<(u16, String)> {
        http_get(self.http, path).await
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
