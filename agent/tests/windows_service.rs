//! The agent as a Windows service, through Wine's real Service Control Manager: `service install`
//! enrols with the test server, registers the service and starts it; the
//! manager runs `service run`, whose first report reaches the server; `install` again changes
//! nothing; `service uninstall` stops and removes it.
#![cfg(windows)]

#[path = "uplink/server.rs"]
mod server;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use server::{SECRET, TestServer};
use windows_service::service::{ServiceAccess, ServiceStartType};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};

const BIN: &str = env!("CARGO_BIN_EXE_tokenwatch-agent");
const NAME: &str = "tokenwatch-agent";

fn agent(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("the agent runs")
}

#[track_caller]
fn succeeded(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{:?}\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn install_runs_the_service_which_reports_and_uninstall_removes_it() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, server.ca_pem()).expect("ca");
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, SECRET).expect("secret");
    let state = dir.path().join("state");
    let url = server.url();
    let install = [
        "service",
        "install",
        "--server",
        url.as_str(),
        "--secret-file",
        secret.to_str().expect("path"),
        "--ca-file",
        ca.to_str().expect("path"),
        "--state-dir",
        state.to_str().expect("path"),
    ];
    let said = succeeded(&agent(&install));
    assert!(said.contains("enrolled as"), "{said}");
    assert!(state.join("agent.key").is_file());
    // The folder's access list is not read back: Wine accepts it but keeps none for files (the
    // list itself is checked in the unit tests of `service::windows`).

    let manager =
        ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT).expect("SCM");
    let service = manager
        .open_service(
            NAME,
            ServiceAccess::QUERY_CONFIG | ServiceAccess::QUERY_STATUS,
        )
        .expect("the service is registered");
    let config = service.query_config().expect("config");
    assert_eq!(config.start_type, ServiceStartType::AutoStart);
    let command = config.executable_path.display().to_string();
    assert!(
        command.contains("tokenwatch-agent") && command.contains("service run --state-dir"),
        "{command}"
    );
    // The restarts on failure are not checked here: Wine's manager accepts them but can neither
    // keep nor report them (QueryServiceConfig2 answers "invalid level").

    // Started by the manager, the service scans and reports.
    let started = Instant::now();
    while server.shared.sequences().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "no report from the service"
        );
        std::thread::sleep(Duration::from_millis(250));
    }

    // A second install (a startup script at every boot) keeps the identity.
    let again = succeeded(&agent(&install));
    assert!(again.contains("already enrolled"), "{again}");

    // Windows removes a service once no handle to it is open.
    drop(service);
    let removed = succeeded(&agent(&["service", "uninstall"]));
    assert!(removed.contains("stopped and removed"), "{removed}");
    assert!(
        manager
            .open_service(NAME, ServiceAccess::QUERY_STATUS)
            .is_err(),
        "the service is gone"
    );
    let absent = succeeded(&agent(&["service", "uninstall"]));
    assert!(absent.contains("not installed"), "{absent}");
}
