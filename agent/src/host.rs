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
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Distribution name and version from `/etc/os-release`, or the OS family elsewhere.
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
