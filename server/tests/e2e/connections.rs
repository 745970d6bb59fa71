use std::time::Duration;

use sqlx::PgPool;

use crate::support::*;

/// Established TCP connections whose local port is `port`: the server's side of its clients'
/// connections, from the kernel's tables (this process's network namespace).
fn established_to(port: u16) -> usize {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .map(|text| {
            text.lines()
                .skip(1)
                .filter(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    let local_port = fields
                        .get(1)
                        .and_then(|a| a.rsplit_once(':'))
                        .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
                    // State 01 is ESTABLISHED.
                    local_port == Some(port) && fields.get(3) == Some(&"01")
                })
                .count()
        })
        .sum()
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn an_agent_closes_its_connection_once_its_reports_are_delivered(pool: PgPool) {
    let db = url_of(&pool);
    let data = tempfile::tempdir().expect("data dir");
    let host = host();
    let server = Server::start(&db, data.path(), 0).await;
    let port = server.grpc.port();
    let secret = create_secret(&db, "Tver");
    let agent_id = enroll_agent(&server, data.path(), &secret, &host.state)
        .await
        .expect("enrols");
    let quiet = || async { (established_to(port) == 0).then_some(()) };
    assert!(
        poll(Duration::from_secs(5), quiet).await.is_some(),
        "enrolment left its connection open"
    );

    // A long interval: after the first report the agent has nothing to send for a minute.
    let agent = Agent::start(agent_config(
        &host.state,
        &host.root,
        Duration::from_secs(60),
        &["readers", "tokens"],
    ));
    let delivered = poll(Duration::from_secs(20), || async {
        (last_sequence(&pool, &agent_id).await >= 1 && spooled(&host.state).is_empty())
            .then_some(())
    })
    .await;
    assert!(delivered.is_some(), "the first report did not arrive");
    // Without hanging up, the connection would stay open until the server's keepalive or
    // connection age closed it, minutes later.
    assert!(
        poll(Duration::from_secs(5), quiet).await.is_some(),
        "{} connection(s) still open to the server after delivery",
        established_to(port)
    );
    agent.stop().await;
    server.stop().await;
}
