use std::net::SocketAddr;
use std::time::Duration;

use sqlx::PgPool;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::faults::*;
use crate::support::*;

/// A TCP proxy on 127.0.0.1 in front of `upstream` whose link can be cut: while cut, every
/// connection through it is dropped at once (requests in flight included) and new ones are
/// closed as they arrive.
struct Proxy {
    addr: SocketAddr,
    cut: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (cut, link) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                let mut link = link.clone();
                if *link.borrow() {
                    continue;
                }
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    // Whichever comes first; either way both ends are dropped.
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = link.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        Self { addr, cut, task }
    }

    fn cut(&self) {
        self.cut.send_replace(true);
    }

    fn restore(&self) {
        self.cut.send_replace(false);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The network between agent and server is cut three times for two seconds while the agent
/// sends a changed report every 150 ms, once in a while with a report on the wire. Reports made
/// meanwhile wait in the spool; each arrives once, in order, when the link is back.
#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_cut_network_loses_and_repeats_nothing(pool: PgPool) {
    let db = url_of(&pool);
    let data = tempfile::tempdir().expect("data dir");
    let host = host();
    let server = Server::start(&db, data.path(), 0).await;
    let proxy = Proxy::start(server.grpc).await;
    let url = format!("https://localhost:{}", proxy.addr.port());
    let (agent_id, changes, agent) = changing_agent(&pool, &db, &url, data.path(), &host).await;
    for _ in 0..3 {
        let before = last_sequence(&pool, &agent_id).await;
        assert!(
            reports_reach(&pool, &agent_id, before + 4).await,
            "reports arrive while the link is up"
        );
        proxy.cut();
        // Give a report that was already inside the server time to finish, then nothing
        // more may arrive while the link is down.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let during = last_sequence(&pool, &agent_id).await;
        tokio::time::sleep(Duration::from_millis(1700)).await;
        assert_eq!(
            last_sequence(&pool, &agent_id).await,
            during,
            "nothing arrives while the link is cut"
        );
        assert!(
            !spooled(&host.state).is_empty(),
            "the agent spools while the link is cut"
        );
        proxy.restore();
    }
    let containers = changes.stop().await;
    assert_nothing_lost_or_repeated(&pool, agent, &agent_id, &host.state, containers).await;
    server.stop().await;
}
