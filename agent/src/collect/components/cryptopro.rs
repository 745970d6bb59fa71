//! CryptoPro CSP: installed or not, which version, and its licence.
//!
//! What CSP's banner (`csptest -enum -info`), its Linux `release` file and Windows Installer's
//! record of it say; reading them is each platform's (`unix.rs`, `windows.rs`).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::license::license_from_serial;
use crate::collect::program::{self, Output, RunError};
use crate::inventory::CryptoPro;

/// Version and build from CSP's banner, `csptest -enum -info` (`what` names the program in
/// errors), over what `csp` already holds.
pub(super) fn read_banner(
    csp: &mut CryptoPro,
    csptest: &Path,
    what: &str,
    timeout: Duration,
    errors: &mut Vec<String>,
) {
    match run(csptest, &["-enum", "-info"], timeout) {
        Ok(output) => match parse_banner(&output.text()) {
            Some((version, build)) => {
                csp.version = Some(version);
                csp.build = build.or(csp.build.take());
            }
            None => errors.push(unrecognised(what, &output)),
        },
        Err(error) => errors.push(format!("{what}: {error}")),
    }
}

/// CryptoPro CSP as Windows Installer registered it (domain reference §2.2): `DisplayVersion`
/// (`5.0.12455`) and `ProductID`, which holds the licence serial; only the serial's first group
/// is kept. The registry has no end date for the licence, so none is reported.
#[cfg_attr(not(windows), allow(dead_code))] // read on Windows, tested everywhere
pub(crate) fn from_install_properties(
    display_version: Option<&str>,
    product_id: Option<&str>,
) -> CryptoPro {
    let (version, build) = display_version
        .map(str::trim)
        .filter(|v| is_version(v))
        .map(version_and_build)
        .unzip();
    CryptoPro {
        installed: true,
        version,
        build: build.flatten(),
        license: product_id.and_then(license_from_serial),
        control_key_time_validity: None,
    }
}

/// Version (`5.0`) and build (`5.0.12455`) from the `release` file: the last version-shaped
/// word in it (what public scripts read; the file's exact layout is unconfirmed).
#[cfg_attr(windows, allow(dead_code))] // Windows has no release file
pub(crate) fn parse_release(text: &str) -> Option<(String, Option<String>)> {
    let word = text
        .split_whitespace()
        .map(|w| {
            w.trim_start_matches(['v', 'V'])
                .trim_end_matches([',', '.', ';'])
        })
        .rfind(|w| is_version(w))?;
    Some(version_and_build(word))
}

/// Version and build from the banner `CSP (Type:80) v5.0.10010 KC1 Release Ver:5.0.12455 …`:
/// `Ver:` is the release build; the `v…` word, the provider's file version, is a fallback.
pub(crate) fn parse_banner(text: &str) -> Option<(String, Option<String>)> {
    let line = text
        .lines()
        .find(|l| l.contains("CSP") && l.contains("Ver:"))
        .or_else(|| text.lines().find(|l| l.trim_start().starts_with("CSP")))?;
    let release = line.split_whitespace().find_map(|w| {
        let value = w.strip_prefix("Ver:")?.trim_end_matches([',', '.', ';']);
        is_version(value).then_some(value)
    });
    if let Some(release) = release {
        return Some(version_and_build(release));
    }
    let file_version = line.split_whitespace().find_map(|w| {
        let value = w.strip_prefix('v')?;
        is_version(value).then_some(value)
    })?;
    Some((version_and_build(file_version).0, None))
}

/// `5.0.12455` → (`5.0`, `5.0.12455`); `5.0` → (`5.0`, none).
fn version_and_build(word: &str) -> (String, Option<String>) {
    let parts: Vec<&str> = word.split('.').collect();
    let version = parts[..2.min(parts.len())].join(".");
    let build = (parts.len() > 2).then(|| word.to_owned());
    (version, build)
}

/// Two or more dot-separated numbers.
fn is_version(word: &str) -> bool {
    let parts: Vec<&str> = word.split('.').collect();
    parts.len() >= 2
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 6 && p.chars().all(|c| c.is_ascii_digit()))
}

/// Run a CSP tool in the C locale: the tools localise their labels to the process locale
/// (certmgr is seen doing so), and the parsers are built on the English ones.
pub(super) fn run(path: &Path, args: &[&str], timeout: Duration) -> Result<Output, RunError> {
    let mut command = Command::new(path);
    command.args(args).env("LC_ALL", "C");
    program::run(command, timeout)
}

pub(super) fn unrecognised(what: &str, output: &Output) -> String {
    let text = output.text();
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no output");
    let first: String = first.chars().take(120).collect();
    format!("{what}: unrecognised output ({}): {first}", output.status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(version: &str, build: Option<&str>) -> Option<(String, Option<String>)> {
        Some((version.to_owned(), build.map(str::to_owned)))
    }

    #[test]
    fn banner_gives_version_and_build() {
        let text = "CSP (Type:80) v5.0.10010 KC1 Release Ver:5.0.12455 OS:Linux CPU:AMD64 FastCode:READY:AVX.\nAcquireContext: OK. HCRYPTPROV: 6\n[ErrorCode: 0x00000000]\n";
        assert_eq!(parse_banner(text), pair("5.0", Some("5.0.12455")));
        let old = "CSP (Type:75) v4.0.9971 KC1 Release Ver:4.0.9963 OS:Linux CPU:AMD64 FastCode:READY:AVX.";
        assert_eq!(parse_banner(old), pair("4.0", Some("4.0.9963")));
    }

    #[test]
    fn windows_install_properties_give_version_build_and_serial_prefix() {
        let csp = from_install_properties(Some("5.0.12455"), Some("5050N-A0000-01234-ABCDE-FGHIJ"));
        assert!(csp.installed);
        assert_eq!(csp.version.as_deref(), Some("5.0"));
        assert_eq!(csp.build.as_deref(), Some("5.0.12455"));
        let license = csp.license.expect("licence from the serial");
        assert_eq!(license.serial_prefix.as_deref(), Some("5050N"));
        assert_eq!(license.for_version.as_deref(), Some("5.0"));
        assert_eq!(license.expires, None);
        assert!(
            !format!("{license:?}").contains("FGHIJ"),
            "the serial is never kept whole"
        );

        let bare = from_install_properties(Some("not a version"), Some("n/a"));
        assert!(bare.installed);
        assert_eq!((bare.version, bare.build, bare.license), (None, None, None));
        let short = from_install_properties(Some("4.0"), None);
        assert_eq!((short.version.as_deref(), short.build), (Some("4.0"), None));
    }

    #[test]
    fn banner_without_release_word_gives_version_only() {
        let text = "CSP (Type:80) v5.0.10010 KC1 OS:Linux\n";
        assert_eq!(parse_banner(text), pair("5.0", None));
    }

    #[test]
    fn banner_garbage_gives_nothing() {
        for text in [
            "",
            "usage: csptest ...",
            "CSP",
            "CSP Ver:abc v.x",
            "Ver:5.0.1",
        ] {
            assert_eq!(parse_banner(text), None, "{text:?}");
        }
    }

    #[test]
    fn release_file_gives_its_last_version() {
        assert_eq!(parse_release("5.0.12455\n"), pair("5.0", Some("5.0.12455")));
        assert_eq!(
            parse_release("CryptoPro CSP 5.0 KC1 release 5.0.12455\n"),
            pair("5.0", Some("5.0.12455"))
        );
        assert_eq!(parse_release("CSP v4.0\n"), pair("4.0", None));
        assert_eq!(parse_release(""), None);
        assert_eq!(parse_release("release unknown 1..2 .5"), None);
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_without_panicking(text in "\\PC*") {
            let _ = parse_banner(&text);
            let _ = parse_release(&text);
        }
    }
}
