//! Slow and idle clients: each listener disconnects them after its timeout while it goes on
//! serving everyone else, and serves at most so many connections at once.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokenwatch_server::config::Span;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::task::JoinSet;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::support::*;

/// The handshake and header read timeouts the tests set, in seconds: short, to keep them fast.
const TIMEOUT: u64 = 3;

/// How much longer than its timeout a disconnection may take: the server is in this process,
/// but tests run side by side on a busy machine.
const MARGIN: Duration = Duration::from_secs(5);

/// Idle connections opened to each listener.
const IDLE: usize = 500;

fn timeout() -> Duration {
    Duration::from_secs(TIMEOUT)
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_slowloris_on_http_is_disconnected_while_others_are_served(pool: PgPool) {
    let server = TestServer::start_with(pool, |c| {
        c.http.header_read_timeout = Span::from_secs(TIMEOUT);
    })
    .await;
    let started = Instant::now();
    let (reader, mut writer) = connect(server.http).await.into_split();
    writer
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .expect("writes");
    // Never silent for long, never done: only a deadline on the whole head stops it.
    let dribble = tokio::spawn(dribble(writer, b'a'));

    let asked = Instant::now();
    assert_eq!(
        server.get("/healthz").await.expect("healthz"),
        (200, "ok\n".to_owned())
    );
    // Sooner than the slowloris could have been disconnected: nothing waited for it.
    assert!(asked.elapsed() < timeout(), "took {:?}", asked.elapsed());

    let lasted = closed_by_server(reader, started).await;
    // Disconnected by the timeout, not for anything it sent.
    assert!(lasted >= timeout(), "disconnected after {lasted:?}");
    dribble.abort();

    // A stop waits for a client still sending its head only until its timeout.
    let mut stalled = connect(server.http).await;
    stalled.write_all(b"GET /").await.expect("writes");
    let stopping = Instant::now();
    server.stop().await.expect("stops");
    assert!(
        stopping.elapsed() < timeout() + MARGIN,
        "stopped after {:?}",
        stopping.elapsed()
    );
    drop(stalled);
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_stalled_tls_handshake_is_disconnected_while_agents_are_served(pool: PgPool) {
    let server = TestServer::start_with(pool, |c| {
        c.grpc.handshake_timeout = Span::from_secs(TIMEOUT);
    })
    .await;
    let started = Instant::now();
    let silent = connect(server.grpc).await;
    let (partial, mut writer) = connect(server.grpc).await.into_split();
    // A TLS record header announcing a 512-byte ClientHello, whose bytes then come one by one.
    writer
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .await
        .expect("writes");
    let dribble = tokio::spawn(dribble(writer, 0));

    let asked = Instant::now();
    assert_eq!(health(&server).await, ServingStatus::Serving);
    assert!(asked.elapsed() < timeout(), "took {:?}", asked.elapsed());
    // A whole enrolment and report over mutual TLS, meanwhile.
    let agent = server.enrolled().await;
    server
        .as_agent(&agent)
        .await
        .report(report(1))
        .await
        .expect("reports");

    // (Neither write side is closed before: the server would see the end of the handshake.)
    let lasted = [
        closed_by_server(silent, started).await,
        closed_by_server(partial, started).await,
    ];
    assert!(
        lasted.iter().all(|lasted| *lasted >= timeout()),
        "disconnected after {lasted:?}"
    );
    dribble.abort();
    assert_eq!(last_sequence(&server.pool, &agent.id).await, 1);
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn many_idle_connections_are_closed_while_others_are_served(pool: PgPool) {
    let server = TestServer::start_with(pool, |c| {
        c.grpc.handshake_timeout = Span::from_secs(TIMEOUT);
        c.http.header_read_timeout = Span::from_secs(TIMEOUT);
        // Above what is opened here: this test is about the timeouts, not the caps.
        c.grpc.max_connections = 2 * IDLE;
        c.http.max_connections = 2 * IDLE;
    })
    .await;
    let started = Instant::now();
    let mut idle = Vec::with_capacity(2 * IDLE);
    for addr in [server.http, server.grpc] {
        for _ in 0..IDLE {
            idle.push(connect(addr).await);
        }
    }

    let asked = Instant::now();
    assert_eq!(server.get("/healthz").await.expect("healthz").0, 200);
    assert_eq!(health(&server).await, ServingStatus::Serving);
    assert!(asked.elapsed() < timeout(), "took {:?}", asked.elapsed());

    let mut closing = JoinSet::new();
    for stream in idle {
        closing.spawn(closed_by_server(stream, started));
    }
    let mut closed = 0;
    while let Some(result) = closing.join_next().await {
        result.expect("closed in time");
        closed += 1;
    }
    assert_eq!(closed, 2 * IDLE);
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn http_connections_over_the_cap_wait_for_a_free_slot(pool: PgPool) {
    let server = TestServer::start_with(pool, |c| {
        c.http.header_read_timeout = Span::from_secs(TIMEOUT);
        c.http.max_connections = 4;
    })
    .await;
    let started = Instant::now();
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(connect(server.http).await);
    }
    // Queued behind the idle ones, which the kernel handed over first; served when the first
    // of them times out.
    let served = tokio::time::timeout(timeout() + MARGIN, server.get("/healthz")).await;
    let waited = started.elapsed();
    assert_eq!(served.expect("served in time").expect("healthz").0, 200);
    assert!(
        waited >= timeout() / 2 && waited < timeout() + MARGIN,
        "served after {waited:?}"
    );
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn grpc_connections_over_the_cap_wait_for_a_free_slot(pool: PgPool) {
    let server = TestServer::start_with(pool, |c| {
        c.grpc.handshake_timeout = Span::from_secs(TIMEOUT);
        c.grpc.max_connections = 2;
    })
    .await;
    let started = Instant::now();
    let _idle = [connect(server.grpc).await, connect(server.grpc).await];
    let served = tokio::time::timeout(timeout() + MARGIN, health(&server)).await;
    let waited = started.elapsed();
    assert_eq!(served.expect("served in time"), ServingStatus::Serving);
    assert!(
        waited >= timeout() / 2 && waited < timeout() + MARGIN,
        "served after {waited:?}"
    );
}

/// A TCP connection to `addr`.
async fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).await.expect("connects")
}

/// Write `byte` every half second until the connection is gone.
async fn dribble(mut writer: OwnedWriteHalf, byte: u8) {
    let mut every = tokio::time::interval(Duration::from_millis(500));
    loop {
        every.tick().await;
        if writer.write_all(&[byte]).await.is_err() {
            return;
        }
    }
}

/// Read (and drop) whatever comes until the server closes or resets the connection; how long
/// after `since` that was.
///
/// # Panics
/// When the connection is still open [`MARGIN`] past the timeout.
async fn closed_by_server(mut stream: impl AsyncRead + Unpin, since: Instant) -> Duration {
    let limit = timeout() + MARGIN;
    let mut buf = [0u8; 1024];
    loop {
        let left = limit.saturating_sub(since.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return since.elapsed(),
            Ok(Ok(_)) => {}
            Err(_) => panic!("the connection is still open after {limit:?}"),
        }
    }
}

/// The gRPC health of the agent service, over a new TLS connection.
async fn health(server: &TestServer) -> ServingStatus {
    let mut client = HealthClient::new(server.channel(None).await.expect("connects"));
    client
        .check(HealthCheckRequest {
            service: "tokenwatch.v1.AgentService".into(),
        })
        .await
        .expect("check")
        .into_inner()
        .status()
}
