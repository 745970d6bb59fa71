use std::process::{Command, Output};

use sqlx::PgPool;

use crate::support::*;

fn server_command(db_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tokenwatch-server"))
        .args(args)
        .env("TOKENWATCH_DATABASE_URL", db_url)
        .env_remove("TOKENWATCH_CONFIG")
        .output()
        .expect("runs")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn enrolment_secrets_are_created_listed_and_revoked(pool: PgPool) {
    let url = url_of(&pool);
    let created = stdout(&server_command(
        &url,
        &[
            "enroll-secret",
            "create",
            "--office",
            "Samara",
            "--expires-in",
            "7d",
        ],
    ));
    let secret = created
        .lines()
        .find(|l| l.starts_with("tw1_"))
        .expect("the secret is printed")
        .to_owned();
    // Only the hash is stored.
    let stored: Vec<u8> = sqlx::query_scalar("select secret_sha256 from enroll_secrets")
        .fetch_one(&pool)
        .await
        .expect("row");
    assert_eq!(stored, tokenwatch_server::registry::secret_hash(&secret));
    let expires: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("select expires_at from enroll_secrets")
            .fetch_one(&pool)
            .await
            .expect("row");
    let days = (expires - chrono::Utc::now()).num_hours();
    assert!((167..=168).contains(&days), "{days}");

    // A second secret for the same office reuses the office.
    stdout(&server_command(
        &url,
        &[
            "enroll-secret",
            "create",
            "--office",
            "Samara",
            "--expires",
            "2099-01-01T00:00:00Z",
        ],
    ));
    let offices: i64 = sqlx::query_scalar("select count(*) from offices")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(offices, 1);

    let listed = stdout(&server_command(&url, &["enroll-secret", "list"]));
    assert!(!listed.contains(&secret), "the list shows no secret");
    assert_eq!(
        listed
            .lines()
            .filter(|l| l.contains("Samara") && l.ends_with("active"))
            .count(),
        2,
        "{listed}"
    );

    let id: i64 = sqlx::query_scalar("select min(id) from enroll_secrets")
        .fetch_one(&pool)
        .await
        .expect("id");
    stdout(&server_command(
        &url,
        &["enroll-secret", "revoke", &id.to_string()],
    ));
    let listed = stdout(&server_command(&url, &["enroll-secret", "list"]));
    assert_eq!(
        listed.lines().filter(|l| l.ends_with("revoked")).count(),
        1,
        "{listed}"
    );
    // Revoking again, or an unknown id, fails.
    assert!(
        !server_command(&url, &["enroll-secret", "revoke", &id.to_string()])
            .status
            .success()
    );
    assert!(
        !server_command(&url, &["enroll-secret", "revoke", "999999"])
            .status
            .success()
    );
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_secret_from_the_command_line_enrols_and_agent_revoke_locks_out(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let created = stdout(&server_command(
        &server.db_url,
        &["enroll-secret", "create", "--office", "Ufa"],
    ));
    let secret = created
        .lines()
        .find(|l| l.starts_with("tw1_"))
        .expect("secret")
        .to_owned();
    let (agent, response) = server.enroll(&secret, "pc-9").await;
    assert_eq!(response.office, "Ufa");
    server
        .as_agent(&agent)
        .await
        .report(report(1))
        .await
        .expect("report");

    let listed = stdout(&server_command(&server.db_url, &["agent", "list"]));
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(&agent.id) && l.contains("pc-9") && l.ends_with("active")),
        "{listed}"
    );

    stdout(&server_command(
        &server.db_url,
        &["agent", "revoke", &agent.id],
    ));
    let status = server
        .as_agent(&agent)
        .await
        .report(report(2))
        .await
        .expect_err("revoked");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    assert_eq!(last_sequence(&server.pool, &agent.id).await, 1);
    let listed = stdout(&server_command(&server.db_url, &["agent", "list"]));
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(&agent.id) && l.ends_with("revoked")),
        "{listed}"
    );
}

#[test]
fn gen_config_prints_the_defaults() {
    let output = Command::new(env!("CARGO_BIN_EXE_tokenwatch-server"))
        .arg("gen-config")
        .env_remove("TOKENWATCH_DATABASE_URL")
        .env_remove("TOKENWATCH_CONFIG")
        .output()
        .expect("runs");
    let text = stdout(&output);
    let parsed = tokenwatch_server::Config::from_toml(&text).expect("parses");
    assert_eq!(parsed, tokenwatch_server::Config::default());
}

#[test]
fn an_unknown_config_key_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("server.toml");
    std::fs::write(&path, "[grpc]\nlisten_on = \"0.0.0.0:1\"\n").expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_tokenwatch-server"))
        .args(["--config", path.to_str().expect("utf-8"), "gen-config"])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("listen_on"));
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn alerts_are_listed_shown_acknowledged_and_silenced(pool: PgPool) {
    let url = url_of(&pool);
    let id: i64 = sqlx::query_scalar(
        "with o as (insert into offices (name) values ('Samara') returning id) \
         insert into alerts (key, rule, severity, office_id, subject, summary, remediation, \
             state, started_at, last_evaluated_at) \
         select 'agent.silent:x', 'agent.silent', 'critical', o.id, 'agent on buh-01', \
             'The agent has not reported.', 'Check the agent.', 'firing', now(), now() from o \
         returning id",
    )
    .fetch_one(&pool)
    .await
    .expect("alert");

    let listed = stdout(&server_command(
        &url,
        &["alert", "list", "--state", "firing", "--office", "Samara"],
    ));
    assert!(listed.contains("agent on buh-01"), "{listed}");
    let none = stdout(&server_command(
        &url,
        &["alert", "list", "--severity", "warning"],
    ));
    assert_eq!(none.lines().count(), 1, "{none}");

    let id = id.to_string();
    let acked = stdout(&server_command(
        &url,
        &[
            "alert",
            "ack",
            &id,
            "--comment",
            "PC is off for repair",
            "--by",
            "ivanova",
        ],
    ));
    assert!(acked.contains("acknowledged"), "{acked}");
    let shown = stdout(&server_command(&url, &["alert", "show", &id]));
    assert!(
        shown.contains("by ivanova: PC is off for repair"),
        "{shown}"
    );
    assert!(shown.contains("acknowledged"), "{shown}");

    let added = stdout(&server_command(
        &url,
        &[
            "silence",
            "add",
            "--office",
            "Samara",
            "--code",
            "agent.silent",
            "--for",
            "2h",
            "--comment",
            "move",
        ],
    ));
    let silence = added
        .split_whitespace()
        .nth(1)
        .expect("the id is printed")
        .to_owned();
    let listed = stdout(&server_command(&url, &["silence", "list"]));
    assert!(listed.contains("agent.silent"), "{listed}");
    stdout(&server_command(&url, &["silence", "remove", &silence]));
    let listed = stdout(&server_command(&url, &["silence", "list"]));
    assert_eq!(listed.lines().count(), 1, "{listed}");
    // A silence that matches everything is refused.
    let refused = server_command(&url, &["silence", "add", "--for", "1h", "--comment", "all"]);
    assert!(!refused.status.success());
}

fn failing(output: &Output) -> String {
    assert!(
        !output.status.success(),
        "succeeded: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn office_thresholds_and_maintenance_windows_from_the_command_line(pool: PgPool) {
    let url = url_of(&pool);
    stdout(&server_command(
        &url,
        &["enroll-secret", "create", "--office", "Samara"],
    ));
    stdout(&server_command(
        &url,
        &[
            "office",
            "set",
            "Samara",
            "--warning-days",
            "45",
            "--gone-after-days",
            "30",
        ],
    ));
    let listed = stdout(&server_command(&url, &["office", "list"]));
    let samara = listed
        .lines()
        .find(|l| l.starts_with("Samara"))
        .expect(&listed);
    assert!(
        samara.contains("45d*") && samara.contains("14d ") && samara.ends_with("30d*"),
        "{samara}"
    );
    let refused = failing(&server_command(
        &url,
        &["office", "set", "Samara", "--critical-days", "50"],
    ));
    assert!(
        refused.contains("critical_days (50) would exceed warning_days (30)"),
        "{refused}"
    );
    let refused = failing(&server_command(
        &url,
        &["office", "set", "Tula", "--warning-days", "20"],
    ));
    assert!(refused.contains("no office named \"Tula\""), "{refused}");

    let added = stdout(&server_command(
        &url,
        &[
            "maintenance",
            "add",
            "--office",
            "Samara",
            "--for",
            "2h",
            "--comment",
            "UPS swap",
        ],
    ));
    let id = added
        .split_whitespace()
        .nth(2)
        .expect("Maintenance window <id> until …")
        .to_owned();
    let listed = stdout(&server_command(&url, &["maintenance", "list"]));
    assert!(
        listed.contains("Samara") && listed.contains("UPS swap"),
        "{listed}"
    );
    stdout(&server_command(&url, &["maintenance", "remove", &id]));
    let listed = stdout(&server_command(&url, &["maintenance", "list"]));
    assert_eq!(listed.lines().count(), 1, "only the header: {listed}");
    failing(&server_command(&url, &["maintenance", "remove", &id]));
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn notify_test_names_the_channel_and_its_failure(pool: PgPool) {
    let url = url_of(&pool);
    let listed = stdout(&server_command(&url, &["notify", "list"]));
    assert!(listed.contains("No channels are configured"), "{listed}");

    // A webhook to a port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        format!("[notify.webhook.helpdesk]\nurl = \"http://127.0.0.1:{port}/hook\"\n"),
    )
    .unwrap();
    let with_config = |args: &[&str]| {
        let mut all = vec!["--config", config.to_str().unwrap()];
        all.extend_from_slice(args);
        server_command(&url, &all)
    };
    let unknown = failing(&with_config(&["notify", "test", "mail"]));
    assert!(
        unknown.contains("no channel \"mail\"; configured: helpdesk"),
        "{unknown}"
    );
    let down = failing(&with_config(&["notify", "test", "helpdesk"]));
    assert!(down.contains("cannot reach webhook helpdesk"), "{down}");
    let listed = stdout(&with_config(&["notify", "list"]));
    let row = listed
        .lines()
        .find(|l| l.starts_with("helpdesk"))
        .expect(&listed);
    assert!(row.contains("cannot reach webhook helpdesk"), "{row}");
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn the_first_admin_made_on_the_command_line_signs_in_over_http(pool: PgPool) {
    let url = url_of(&pool);
    let created = stdout(&server_command(
        &url,
        &["user", "create", "root", "--admin"],
    ));
    assert!(created.contains("admin of every office"), "{created}");
    let password = created
        .lines()
        .find_map(|l| l.strip_prefix("Password (shown only now): "))
        .expect("a generated password")
        .to_owned();
    assert_eq!(password.len(), 20);
    let listed = stdout(&server_command(&url, &["user", "list"]));
    assert!(
        listed
            .lines()
            .any(|l| l.contains("root") && l.contains("admin") && l.ends_with('*')),
        "{listed}"
    );
    let refused = server_command(
        &url,
        &[
            "user", "create", "ROOT", "--role", "viewer", "--office", "Samara",
        ],
    );
    assert!(
        !refused.status.success(),
        "a second root (names ignore case)"
    );
    let token = stdout(&server_command(
        &url,
        &["user", "token", "create", "root", "--name", "backup script"],
    ));
    let token = token
        .lines()
        .find(|l| l.starts_with("twk_"))
        .expect("the token")
        .to_owned();

    let server = crate::support::TestServer::start(pool.clone()).await;
    let client = reqwest::Client::new();
    let base = format!("http://{}", server.http);
    let signed = client
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({ "name": "root", "password": password }))
        .send()
        .await
        .expect("answers");
    assert_eq!(signed.status(), 200);
    let cookie = signed.headers()["set-cookie"].to_str().unwrap().to_owned();
    for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    let session = cookie.split(';').next().unwrap().to_owned();
    let me: serde_json::Value = client
        .get(format!("{base}/api/v1/session"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (me["name"].as_str(), me["role"].as_str(), &me["offices"]),
        (Some("root"), Some("admin"), &serde_json::json!("all"))
    );
    let users = client
        .get(format!("{base}/api/v1/users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), 200);

    // Every change is in the audit log, with where it came from.
    let audit: Vec<(String, String, Option<String>)> =
        sqlx::query_as("select actor, action, source from audit_log order by id")
            .fetch_all(&pool)
            .await
            .unwrap();
    let actor = format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    );
    assert_eq!(
        audit,
        [
            (actor.clone(), "user.create".into(), None),
            (actor, "token.create".into(), None),
            ("user:root".into(), "login".into(), Some("127.0.0.1".into())),
        ]
    );
    server.stop().await.expect("stops");
}
