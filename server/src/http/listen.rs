//! The HTTP listener's accept loop: HTTP/1.1 with hyper directly, rather than `axum::serve`,
//! because that sets no timer, and without one hyper never enforces its header read timeout: a
//! client sending its request head a byte every few seconds (slowloris) would keep its
//! connection, and its slot under the cap, for as long as it likes.
//!
//! HTTP/1.1 only: browsers, Prometheus and load balancers all speak it over plain TCP, and
//! hyper's HTTP/2 detection reads the first bytes before any timer runs, so a client that sends
//! nothing would again be waited for indefinitely.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Extension};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tower::Layer as _;

use crate::listener::CappedListener;

/// Serve `app` on `listener` until `shutdown` completes, then finish the requests in flight.
///
/// A client must send a whole request head within `header_read_timeout` of the connection
/// opening, or of the previous response on a kept-alive connection: so the same timeout also
/// closes idle kept-alive connections, which is what frees their slots.
pub(super) async fn serve(
    app: Router,
    mut listener: CappedListener,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        // The client's address, which handlers read for the audit log.
        let service = TowerToHyperService::new(Extension(ConnectInfo(peer)).layer(app.clone()));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // Clients that time out or go away end here; they are theirs to notice, not ours.
            if let Err(error) = connection.await {
                tracing::debug!(message = "HTTP connection ended with an error.", %peer, %error);
            }
        });
    }
    // Closing the socket first: a client connecting now is refused rather than left waiting.
    drop(listener);
    graceful.shutdown().await;
}
