//! The real server (`tokenwatch_server::run`) started inside a test process, shared by the test
//! binaries: the listeners, the shutdown signal, the wait for `/readyz` and a bounded stop.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sqlx::{ConnectOptions, PgPool};
use tokenwatch_server::Listeners;
use tokenwatch_server::config::Config;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Install the rustls provider and, with `TEST_LOG`, logging; once per process.
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

/// A running server: asked to stop when dropped, stopped and awaited by [`Launched::stop`].
pub(crate) struct Launched {
    pub(crate) grpc: SocketAddr,
    pub(crate) http: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Launched {
    /// Run the server with `config`, gRPC on `grpc` and HTTP on a free port of 127.0.0.1, and
    /// wait until `/readyz` answers 200.
    ///
    /// # Panics
    /// When the server stops during start-up or is not ready within 15 s.
    pub(crate) async fn start(config: Config, grpc: TcpListener) -> Self {
        init();
        let http = TcpListener::bind("127.0.0.1:0").await.expect("bind HTTP");
        let (grpc_addr, http_addr) = (
            grpc.local_addr().expect("addr"),
            http.local_addr().expect("addr"),
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(tokenwatch_server::run(
            config,
            Listeners { grpc, http },
            async move {
                let _ = stopped.await;
            },
        ));
        let launched = Self {
            grpc: grpc_addr,
            http: http_addr,
            stop: Some(stop),
            task: Some(task),
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if launched.task.as_ref().is_some_and(JoinHandle::is_finished) {
                panic!("the server stopped during start-up");
            }
            if matches!(http_get(http_addr, "/readyz").await, Ok((200, _))) {
                return launched;
            }
            assert!(Instant::now() < deadline, "the server did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stop gracefully and wait (at most 10 s) for `run` to return; its result.
    pub(crate) async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().expect("running");
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the server stops within 10 s")
            .expect("joins")
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A plain HTTP GET: status and body.
pub(crate) async fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let response = http_request(addr, path, &[]).await?;
    Ok((response.status, response.body))
}

/// An HTTP response: status, header lines and body.
#[derive(Debug)]
pub(crate) struct HttpResponse {
    pub(crate) status: u16,
    pub(crate) head: String,
    pub(crate) body: String,
}

impl HttpResponse {
    /// The value of header `name` (case-insensitive), if present.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// An HTTP/1.1 GET with extra `headers`, read to the end (the connection is closed).
pub(crate) async fn http_request(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<HttpResponse> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok(HttpResponse {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    })
}
