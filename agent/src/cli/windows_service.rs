//! `tokenwatch-agent service install|uninstall|run`: the agent as a Windows service.
//!
//! `install` is meant for unattended deployment (Group Policy startup script, SCCM): it enrols
//! unless the state folder already holds an identity, registers the service and starts it, and
//! may run again at every boot without harm.

use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Context;
use clap::Subcommand;
use windows_service::service::{
    ServiceControl, ServiceControlAccept, ServiceExitCode, ServiceState, ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
use windows_service::{define_windows_service, service_dispatcher};

use super::service::{EnrollArgs, RunArgs, enroll_with, run_until};
use crate::service::event_log::LIFECYCLE;
use crate::service::windows::{self as win, SERVICE_NAME};
use crate::state::AGENT_FILE;

/// Options of `service`.
#[derive(Debug, clap::Args)]
pub struct ServiceArgs {
    #[command(subcommand)]
    pub action: ServiceAction,
}

/// What `service` does.
#[derive(Debug, Subcommand)]
pub enum ServiceAction {
    /// Enrol (unless already enrolled), register the Windows service and start it.
    Install(EnrollArgs),
    /// Stop and remove the Windows service; its data folder (the identity) stays.
    Uninstall,
    /// Run under the Service Control Manager: what the installed service starts.
    Run(RunArgs),
}

/// The arguments of `service run`, for the service's main function, which the dispatcher calls
/// on a thread of its own.
static RUN_ARGS: OnceLock<RunArgs> = OnceLock::new();

pub(super) fn service(args: ServiceArgs) -> anyhow::Result<ExitCode> {
    match args.action {
        ServiceAction::Install(args) => install(&args),
        ServiceAction::Uninstall => {
            if win::uninstall()? {
                println!("service {SERVICE_NAME} stopped and removed");
            } else {
                println!("service {SERVICE_NAME} is not installed");
            }
            Ok(ExitCode::SUCCESS)
        }
        ServiceAction::Run(args) => {
            let _ = RUN_ARGS.set(args);
            service_dispatcher::start(SERVICE_NAME, ffi_service_main)
                .context("this command is run by the Service Control Manager")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn install(args: &EnrollArgs) -> anyhow::Result<ExitCode> {
    win::create_private_dir(&win::data_dir())?;
    win::create_private_dir(&args.state_dir)?;
    if args.state_dir.join(AGENT_FILE).is_file() {
        println!("already enrolled; identity in {}", args.state_dir.display());
    } else {
        enroll_with(args)?;
    }
    let executable = std::env::current_exe().context("finding this program's path")?;
    win::install(&executable, &args.state_dir)?;
    println!("service {SERVICE_NAME} installed and running");
    Ok(ExitCode::SUCCESS)
}

define_windows_service!(ffi_service_main, service_main);

fn service_main(_arguments: Vec<OsString>) {
    if let Err(error) = run_service() {
        tracing::error!(message = "The service stopped on an error.", error = %format!("{error:#}"));
    }
}

fn run_service() -> anyhow::Result<()> {
    let args = RUN_ARGS.get().context("no arguments for the service")?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let stop = std::sync::Mutex::new(Some(stop));
    let status = service_control_handler::register(SERVICE_NAME, move |control| match control {
        ServiceControl::Stop | ServiceControl::Shutdown => {
            if let Some(stop) = stop.lock().ok().and_then(|mut s| s.take()) {
                let _ = stop.send(());
            }
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    })
    .context("registering with the Service Control Manager")?;
    let report = |state, exit_code| {
        status.set_service_status(ServiceStatus {
            service_type: ServiceType::OWN_PROCESS,
            current_state: state,
            controls_accepted: if state == ServiceState::Running {
                ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN
            } else {
                ServiceControlAccept::empty()
            },
            exit_code,
            checkpoint: 0,
            wait_hint: Duration::from_secs(10),
            process_id: None,
        })
    };
    report(ServiceState::Running, ServiceExitCode::Win32(0))?;
    // The lifecycle target puts the start and a clean stop in the event log as well.
    tracing::info!(
        target: LIFECYCLE,
        message = "Service started.",
        version = env!("CARGO_PKG_VERSION")
    );
    let result = run_until(args, || {
        Ok(async {
            let _ = stopped.await;
            tracing::info!(message = "Stop requested by the Service Control Manager.");
        })
    });
    // A non-zero exit code makes the manager apply the restarts set at install.
    let exit_code = match &result {
        Ok(_) => {
            tracing::info!(target: LIFECYCLE, message = "Service stopped.");
            ServiceExitCode::Win32(0)
        }
        Err(_) => ServiceExitCode::ServiceSpecific(1),
    };
    report(ServiceState::Stopped, exit_code)?;
    result.map(|_| ())
}
