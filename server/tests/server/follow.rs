//! A report that changes a host's problems is alerted on at once, not at the next periodic
//! evaluation.

use sqlx::PgPool;
use tokenwatch_server::config::Span;

use crate::support::*;

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_changed_report_is_evaluated_right_away(pool: PgPool) {
    // The periodic evaluation runs once at start, then not for an hour.
    let server = TestServer::start_with(pool, |config| {
        config.alerts.evaluation_interval = Span::from_secs(3600);
    })
    .await;
    let agent = server.enrolled().await;
    let mut locked = report(1);
    let inventory = locked.inventory.as_mut().unwrap();
    inventory.findings.push(tokenwatch_proto::v1::Finding {
        code: "token.pin_locked".into(),
        severity: tokenwatch_proto::v1::Severity::Critical.into(),
        subject: "token Rutoken ECP 3a6b0f21".into(),
        message: "The user PIN is locked.".into(),
        remediation: "Unlock it with the SO PIN.".into(),
    });
    server
        .as_agent(&agent)
        .await
        .report(locked)
        .await
        .expect("report");

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let fired = loop {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "select a.rule, a.severity, h.hostname from alerts a \
             join alert_hosts h on h.alert_id = a.id where a.state = 'firing'",
        )
        .fetch_all(&server.pool)
        .await
        .unwrap();
        if !rows.is_empty() || std::time::Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(
        fired,
        [(
            "token.pin_locked".into(),
            "critical".into(),
            "pc-7.example".into()
        )]
    );
    server.stop().await.unwrap();
}
