//! Facts about the host: name, operating system, architecture.

use crate::inventory::Host;

/// The host this agent runs on.
pub fn facts() -> Host {
    let (os, os_version) = os_release();
    Host {
        hostname: hostname(),
        os,
        os_version,
        arch: std::env::consts::ARCH.to_owned(),
        agent_version: env!("CARGO_PKG_VERSION").to_owned(),
    }
}

fn hostname() -> String {
    #[cfg(not(windows))]
    let kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
    #[cfg(windows)]
    let kernel = None;
    kernel
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Windows' edition and release from the registry, where Windows' own `winver` reads them.
#[cfg(windows)]
fn os_release() -> (String, Option<String>) {
    let current = windows_registry::LOCAL_MACHINE
        .options()
        .read()
        .open(r"SOFTWARE\Microsoft\Windows NT\CurrentVersion");
    let value = |name: &str| {
        current
            .as_ref()
            .ok()
            .and_then(|key| key.get_string(name).ok())
    };
    windows_release(
        value("ProductName").as_deref(),
        value("DisplayVersion")
            .or_else(|| value("ReleaseId"))
            .as_deref(),
        value("CurrentBuildNumber").as_deref(),
    )
}

/// `Windows 10 Pro`, `22H2 (build 19045)`. Windows 11 still calls itself "Windows 10" in
/// `ProductName`; its builds start at 22000.
pub fn windows_release(
    product: Option<&str>,
    release: Option<&str>,
    build: Option<&str>,
) -> (String, Option<String>) {
    let build_number = build.and_then(|b| b.trim().parse::<u32>().ok());
    let mut name = product
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .unwrap_or("Windows")
        .to_owned();
    if build_number.is_some_and(|b| b >= 22_000) && name.starts_with("Windows 10") {
        name = name.replacen("Windows 10", "Windows 11", 1);
    }
    let version = match (
        release.map(str::trim).filter(|r| !r.is_empty()),
        build_number,
    ) {
        (Some(release), Some(build)) => Some(format!("{release} (build {build})")),
        (Some(release), None) => Some(release.to_owned()),
        (None, Some(build)) => Some(format!("build {build}")),
        (None, None) => None,
    };
    (name, version)
}

/// Distribution name and version from `/etc/os-release`, or the OS family elsewhere.
#[cfg(not(windows))]
fn os_release() -> (String, Option<String>) {
    match std::fs::read_to_string("/etc/os-release") {
        Ok(text) => parse_os_release(&text),
        Err(_) => (std::env::consts::OS.to_owned(), None),
    }
}

/// Pure parser for the `os-release` format (`KEY="value"` lines).
pub fn parse_os_release(text: &str) -> (String, Option<String>) {
    let value = |key: &str| {
        text.lines().find_map(|line| {
            let rest = line.strip_prefix(key)?.strip_prefix('=')?;
            Some(rest.trim().trim_matches('"').to_owned())
        })
    };
    let name = value("NAME").unwrap_or_else(|| std::env::consts::OS.to_owned());
    (name, value("VERSION").or_else(|| value("VERSION_ID")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_names_its_edition_and_release() {
        assert_eq!(
            windows_release(Some("Windows 10 Pro"), Some("22H2"), Some("19045")),
            (
                "Windows 10 Pro".to_owned(),
                Some("22H2 (build 19045)".to_owned())
            )
        );
        assert_eq!(
            windows_release(Some("Windows 10 Enterprise"), Some("23H2"), Some("22631")),
            (
                "Windows 11 Enterprise".to_owned(),
                Some("23H2 (build 22631)".to_owned())
            )
        );
        assert_eq!(
            windows_release(Some("Windows Server 2019 Standard"), None, Some("17763")),
            (
                "Windows Server 2019 Standard".to_owned(),
                Some("build 17763".to_owned())
            )
        );
        assert_eq!(
            windows_release(None, None, Some("x")),
            ("Windows".to_owned(), None)
        );
    }

    #[test]
    fn os_release_gives_name_and_version() {
        let text = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\n";
        assert_eq!(
            parse_os_release(text),
            (
                "Debian GNU/Linux".to_owned(),
                Some("12 (bookworm)".to_owned())
            )
        );
    }
}
