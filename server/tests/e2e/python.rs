use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use sqlx::PgPool;

use crate::support::*;

/// name, card_present, atr, token_model, token_family.
type ReaderRow = (String, bool, Option<String>, Option<String>, Option<String>);

/// Debian's interpreter: the client's modules are Debian packages (see scripts/install-deps).
const PYTHON: &str = "/usr/bin/python3";

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn an_independent_python_client_enrols_and_reports(pool: PgPool) {
    let db = url_of(&pool);
    let data = tempfile::tempdir().expect("data dir");
    let server = Server::start(&db, data.path(), 0).await;
    let secret = create_secret(&db, "Yaroslavl");
    let ca = tokenwatch_server::pki::ca_cert_path(data.path());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/client.py");

    let child = tokio::process::Command::new(PYTHON)
        .arg(&script)
        .args(["--server", &format!("localhost:{}", server.grpc.port())])
        .arg("--ca")
        .arg(&ca)
        .args(["--secret", &secret, "--hostname", "py-client.example"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starts python3");
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the client finishes within 60 s")
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the client failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: serde_json::Value = serde_json::from_str(stdout.trim()).expect("JSON answer");
    assert_eq!(answer["office"], "Yaroslavl");
    assert_eq!(answer["changed"], true);
    assert_eq!(
        answer["duplicate_changed"], false,
        "a repeated sequence changes nothing"
    );
    assert_eq!(answer["refusals"]["wrong_secret"], "PERMISSION_DENIED");
    assert_eq!(
        answer["refusals"]["report_without_certificate"],
        "UNAUTHENTICATED"
    );
    let agent_id = answer["agent_id"].as_str().expect("agent id");

    let (hostname, office): (String, String) = sqlx::query_as(
        "select a.hostname, o.name from agents a join offices o on o.id = a.office_id \
         where a.id = $1::uuid",
    )
    .bind(agent_id)
    .fetch_one(&pool)
    .await
    .expect("the agent row");
    assert_eq!(
        (hostname.as_str(), office.as_str()),
        ("py-client.example", "Yaroslavl")
    );
    assert_eq!(last_sequence(&pool, agent_id).await, 1);
    let agents: i64 = sqlx::query_scalar("select count(*) from agents")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(agents, 1, "the refused enrolment left no agent behind");
    let host: (String, String, Option<String>, String) = sqlx::query_as(
        "select hostname, os, os_version, agent_version from hosts where agent_id = $1::uuid",
    )
    .bind(agent_id)
    .fetch_one(&pool)
    .await
    .expect("the host row");
    assert_eq!(
        host,
        (
            "py-client.example".into(),
            "Debian GNU/Linux".into(),
            Some("12".into()),
            "python-client".into()
        )
    );
    let readers: Vec<ReaderRow> = sqlx::query_as(
        "select name, card_present, atr, token_model, token_family from host_readers \
             where agent_id = $1::uuid order by ordinal",
    )
    .bind(agent_id)
    .fetch_all(&pool)
    .await
    .expect("readers");
    assert_eq!(
        readers,
        [(
            "Aktiv Rutoken ECP 00 00".into(),
            true,
            Some("3B8B015275746F6B656E20454350A0".into()),
            Some("Rutoken ECP".into()),
            Some("rutoken".into())
        )]
    );
    server.stop().await;
}

/// The interpreter and tools the client needs, checked up front for a clear failure.
#[test]
fn the_python_client_toolchain_is_installed() {
    for tool in ["protoc", "grpc_python_plugin"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(found, "{tool} missing: run scripts/install-deps");
    }
    let modules = Command::new(PYTHON)
        .args(["-c", "import grpc, grpc_tools, cryptography"])
        .output()
        .expect("runs python3");
    assert!(
        modules.status.success(),
        "python3 modules missing (run scripts/install-deps): {}",
        String::from_utf8_lossy(&modules.stderr)
    );
}
