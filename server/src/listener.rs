//! Accepting connections, at most so many at once per listener.
//!
//! Every open connection holds a file descriptor, and the process has one budget of them for
//! both listeners, the database pool and its files. Without a cap, enough clients that connect
//! and linger exhaust it, and then the database and the other listener fail too. With one, a
//! listener that is full stops accepting: new connections wait in the kernel's listen backlog
//! (and beyond it, clients retry their SYN) until a served one closes. The timeouts of each
//! listener make sure served ones do close, so a full listener recovers by itself.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// How long accepting pauses after an error that is not one connection's, such as running out
/// of file descriptors: retrying at once would spin on a socket that stays readable.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// The "listener is full" warning is logged at most this often, so that a flood of
/// connections does not become a flood of log lines.
const FULL_WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// A listener that serves at most `max_connections` connections at once.
#[derive(Debug)]
pub(crate) struct CappedListener {
    listener: TcpListener,
    slots: Arc<Semaphore>,
    /// The setting that sets the cap, named in the warning.
    setting: &'static str,
    warned_at: Option<Instant>,
}

/// An accepted connection; its slot is freed when it is dropped.
#[derive(Debug)]
pub(crate) struct Admitted {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
}

// === impl CappedListener ===

impl CappedListener {
    /// Accept on `listener`, at most `max_connections` at once (at least one); `setting` is
    /// the configuration key of the cap.
    pub(crate) fn new(
        listener: TcpListener,
        max_connections: usize,
        setting: &'static str,
    ) -> Self {
        Self {
            listener,
            slots: Arc::new(Semaphore::new(
                max_connections.clamp(1, Semaphore::MAX_PERMITS),
            )),
            setting,
            warned_at: None,
        }
    }

    /// The next connection and its peer's address, once a slot is free.
    pub(crate) async fn accept(&mut self) -> (Admitted, SocketAddr) {
        let slot = self.slot().await;
        loop {
            match self.listener.accept().await {
                Ok((stream, peer)) => {
                    let admitted = Admitted {
                        stream,
                        _slot: slot,
                    };
                    return (admitted, peer);
                }
                // The client gave up before it was accepted: nothing wrong with the listener.
                Err(error) if is_one_connections(&error) => {}
                Err(error) => {
                    tracing::warn!(message = "Accepting a connection failed.", %error);
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                }
            }
        }
    }

    /// The connections as a stream, for tonic; it never yields an error.
    pub(crate) fn into_stream(self) -> impl Stream<Item = io::Result<Admitted>> {
        futures_util::stream::unfold(self, |mut listener| async move {
            let (admitted, _) = listener.accept().await;
            Some((Ok(admitted), listener))
        })
    }

    async fn slot(&mut self) -> OwnedSemaphorePermit {
        if let Ok(slot) = Arc::clone(&self.slots).try_acquire_owned() {
            return slot;
        }
        let now = Instant::now();
        if self
            .warned_at
            .is_none_or(|at| now.duration_since(at) >= FULL_WARNING_INTERVAL)
        {
            self.warned_at = Some(now);
            tracing::warn!(
                message = "Connection limit reached; new connections wait until one closes.",
                setting = self.setting,
                addr = ?self.listener.local_addr().ok(),
            );
        }
        Arc::clone(&self.slots)
            .acquire_owned()
            .await
            // The semaphore is never closed.
            .expect("an open semaphore")
    }
}

/// Raise the process's soft limit on open files to its hard limit (often 1,024 against
/// 524,288): the listeners' caps and the database pool need more than the usual soft limit,
/// and a server out of descriptors fails its database connections too. The limit after.
pub fn raise_open_file_limit() -> io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// How many files `config` lets the server hold open at once: both listeners full, the
/// database pool, and some to spare for PKI and configuration files and the runtime's own.
#[cfg_attr(not(unix), allow(dead_code))] // only Unix has the limit; tested everywhere
fn files_wanted(config: &crate::Config) -> u64 {
    const SPARE: u64 = 64;
    [
        config.grpc.max_connections,
        config.http.max_connections,
        config.database.max_connections as usize,
    ]
    .iter()
    .map(|n| *n as u64)
    .sum::<u64>()
        + SPARE
}

/// Warn when the process's open-file limit cannot hold what `config` lets the server open at
/// once. Windows has no such per-process limit on sockets: nothing to check there.
pub(crate) fn check_open_file_limit(config: &crate::Config) {
    #[cfg(unix)]
    if let Ok((limit, _)) = rlimit::getrlimit(rlimit::Resource::NOFILE) {
        warn_if_too_few_files(config, limit);
    }
    #[cfg(not(unix))]
    let _ = config;
}

/// Warn when `limit` open files cannot hold what `config` lets the server open at once.
#[cfg(unix)]
pub(crate) fn warn_if_too_few_files(config: &crate::Config, limit: u64) {
    let wanted = files_wanted(config);
    if limit < wanted {
        tracing::warn!(
            message = "The open-file limit is below what the connection caps allow; raise it \
                       (systemd: LimitNOFILE) or lower grpc.max_connections and \
                       http.max_connections.",
            limit,
            wanted,
        );
    }
}

/// Errors that concern the one connection being accepted, after which the next can be.
fn is_one_connections(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

// === impl Admitted ===

/// What tonic knows of a connection, so that `Request::peer_certs` and `remote_addr` work as
/// with a bare `TcpStream`.
impl Connected for Admitted {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for Admitted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Admitted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_caps_need_more_than_the_usual_soft_limit_and_the_limit_is_raised() {
        let config = crate::Config::default();
        assert_eq!(files_wanted(&config), 4096 + 512 + 10 + 64);
        let (before, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).expect("a limit");
        let after = raise_open_file_limit().expect("raised");
        assert!(
            after >= before && after <= hard,
            "{before} -> {after} (hard {hard})"
        );
    }
}
