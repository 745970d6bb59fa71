//! The agent as a Windows service, through Wine's real Service Control Manager: `service install`
//! enrols with the test server, registers the service and starts it; the
//! manager runs `service run`, whose first report reaches the server; `install` again changes
//! nothing; `service uninstall` stops and removes it. The event source comes and goes with it.
#![cfg(windows)]

#[path = "uplink/server.rs"]
mod server;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use server::{SECRET, TestServer};
use windows_registry::{LOCAL_MACHINE, Type};
use windows_service::service::{ServiceAccess, ServiceStartType};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};

const BIN: &str = env!("CARGO_BIN_EXE_tokenwatch-agent");
const NAME: &str = "tokenwatch-agent";
const EVENT_SOURCE: &str =
    r"SYSTEM\CurrentControlSet\Services\EventLog\Application\tokenwatch-agent";

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
    // The service's log, appended to across runs: what this run adds is read at the end.
    let log = std::path::PathBuf::from(std::env::var_os("ProgramData").expect("ProgramData"))
        .join(r"tokenwatch\agent.log");
    let log_before = std::fs::metadata(&log).map_or(0, |m| m.len());
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

    // The event source names the installed .exe (the one the service runs), which holds the
    // message table, for all three entry types.
    let source = LOCAL_MACHINE
        .open(EVENT_SOURCE)
        .expect("the event source is registered");
    let kind = source
        .get_type("EventMessageFile")
        .expect("EventMessageFile");
    assert!(
        matches!(kind, Type::ExpandString | Type::String),
        "EventMessageFile is {kind:?}"
    );
    let message_file = source.get_string("EventMessageFile").expect("a path");
    assert!(
        message_file.ends_with("tokenwatch-agent.exe") && command.contains(&message_file),
        "{message_file} in {command}"
    );
    assert!(
        std::path::Path::new(&message_file).is_file(),
        "{message_file}"
    );
    assert_eq!(source.get_u32("TypesSupported").expect("TypesSupported"), 7);
    drop(source);

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
    assert!(
        LOCAL_MACHINE.open(EVENT_SOURCE).is_err(),
        "the event source is gone"
    );
    let absent = succeeded(&agent(&["service", "uninstall"]));
    assert!(absent.contains("not installed"), "{absent}");

    // The service logged its start and its stop to the file the installer's folder holds (the
    // service's own environment under Wine names another ProgramData).
    let written = std::fs::read(&log).expect("the service's log file");
    let added = String::from_utf8_lossy(&written[usize::try_from(log_before).expect("size")..]);
    assert!(
        added.contains("Service started.") && added.contains("Service stopped."),
        "{added}"
    );
}
