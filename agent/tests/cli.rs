//! The `scan` command as administrators and scripts use it: the real binary, its JSON document,
//! its report and its exit codes.
// Unix only: OpenSSL's gost engine issues the certificates, and the Windows tests under Wine
// cannot run it.
#![cfg(unix)]

mod support;

use std::process::Command;

use chrono::{Duration, Utc};
use support::gost::{self, Spec};
use tokenwatch_agent::Inventory;

/// A certificate file ending `days` days from now, in a fresh folder.
fn certificate_ending_in(days: i64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let end = (Utc::now() + Duration::days(days))
        .format("%Y%m%d%H%M%SZ")
        .to_string();
    let person = gost::issue(
        dir.path(),
        &Spec::person("Петров Пётр", "20250101000000Z", &end),
        None,
    );
    std::fs::write(dir.path().join("petrov.cer"), &person.der).expect("write");
    dir
}

fn scan(certs: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let root = tempfile::tempdir().expect("root");
    Command::new(env!("CARGO_BIN_EXE_tokenwatch-agent"))
        .args([
            "scan",
            "--skip",
            "readers",
            "--skip",
            "tokens",
            "--cert-path",
        ])
        .arg(certs.join("petrov.cer"))
        .arg("--root")
        .arg(root.path())
        .args(extra)
        .env("NO_COLOR", "1")
        .output()
        .expect("agent runs")
}

#[test]
fn json_document_is_the_contract() {
    let certs = certificate_ending_in(200);
    let output = scan(certs.path(), &["--json"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let inventory: Inventory = serde_json::from_slice(&output.stdout).expect("one JSON document");
    assert_eq!(inventory.schema, "tokenwatch.inventory/v1");
    assert_eq!(inventory.certificates.len(), 1);
    assert_eq!(
        inventory.certificates[0].subject_cn.as_deref(),
        Some("Петров Пётр")
    );
    let names: Vec<&str> = inventory
        .collectors
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["containers", "certificates", "components"]);
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let collected = value["collected_at"].as_str().expect("time string");
    assert!(collected.ends_with('Z'), "RFC 3339 UTC: {collected}");
}

#[test]
fn fail_on_sets_the_exit_code() {
    let certs = certificate_ending_in(20);
    // 20 days left: a warning, not critical.
    assert_eq!(
        scan(certs.path(), &["--json", "--fail-on", "warning"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        scan(certs.path(), &["--json", "--fail-on", "critical"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(scan(certs.path(), &["--json"]).status.code(), Some(0));
    // With the critical window widened, the same certificate is critical.
    let widened = scan(
        certs.path(),
        &["--json", "--fail-on", "critical", "--critical-days", "25"],
    );
    assert_eq!(widened.status.code(), Some(2));
}

#[test]
fn report_is_plain_text_for_a_pipe() {
    let certs = certificate_ending_in(5);
    let output = scan(certs.path(), &[]);
    let text = String::from_utf8(output.stdout).expect("utf-8");
    assert!(!text.contains('\u{1b}'), "no colour into a pipe");
    assert!(text.contains("CRITICAL    certificate.expiring"), "{text}");
    assert!(text.contains("Петров Пётр"), "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
}

#[test]
fn bad_arguments_are_refused_clearly() {
    let output = Command::new(env!("CARGO_BIN_EXE_tokenwatch-agent"))
        .args(["scan", "--skip", "everything"])
        .output()
        .expect("agent runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown collector \"everything\""),
        "{stderr}"
    );
}
