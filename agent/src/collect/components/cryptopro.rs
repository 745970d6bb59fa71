//! CryptoPro CSP: installed or not, which version, and its licence.
//!
//! Version and build come from CSP's own banner (`csptest -enum -info`) when it runs, else from
//! `/etc/opt/cprocsp/release`. The licence comes from `cpconfig -license -view`. Program paths
//! follow the install layout in domain reference §1.1.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::license::parse_license;
use crate::collect::program::{self, Output, RunError};
use crate::inventory::CryptoPro;
use crate::paths::Paths;

/// Architecture folders CSP installs programs under: `amd64` and `ia32` are seen; `aarch64`
/// is a guess for ARM builds.
const ARCH_DIRS: &[&str] = &["amd64", "ia32", "aarch64"];

/// What CSP's tools and files say about it, with what could not be read in `errors`.
pub(crate) fn cryptopro(
    paths: &Paths,
    timeout: Duration,
    now: DateTime<Utc>,
    errors: &mut Vec<String>,
) -> Option<CryptoPro> {
    let opt = paths.cprocsp_opt();
    let etc = paths.cprocsp_etc();
    if !opt.exists() && !etc.exists() {
        return None;
    }
    let mut csp = CryptoPro {
        installed: true,
        ..CryptoPro::default()
    };

    if let Ok(text) = std::fs::read_to_string(etc.join("release")) {
        if let Some((version, build)) = parse_release(&text) {
            csp.version = Some(version);
            csp.build = build;
        }
    }

    if let Some(csptest) = program(&opt, "bin", "csptest") {
        let what = "csptest -enum -info";
        match run(&csptest, &["-enum", "-info"], timeout) {
            Ok(output) => match parse_banner(&output.text()) {
                Some((version, build)) => {
                    csp.version = Some(version);
                    csp.build = build.or(csp.build);
                }
                None => errors.push(unrecognised(what, &output)),
            },
            Err(error) => errors.push(format!("{what}: {error}")),
        }
    }

    if let Some(cpconfig) = program(&opt, "sbin", "cpconfig") {
        let what = "cpconfig -license -view";
        match run(&cpconfig, &["-license", "-view"], timeout) {
            Ok(output) => match parse_license(&output.text(), now) {
                Some(license) => csp.license = Some(license),
                None => errors.push(unrecognised(what, &output)),
            },
            Err(error) => errors.push(format!("{what}: {error}")),
        }
    }
    Some(csp)
}

/// Version (`5.0`) and build (`5.0.12455`) from the `release` file: the last version-shaped
/// word in it (what public scripts read; the file's exact layout is unconfirmed).
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

/// `<opt>/<bin|sbin>/<arch>/<name>` when installed.
fn program(opt: &Path, folder: &str, name: &str) -> Option<PathBuf> {
    ARCH_DIRS
        .iter()
        .map(|arch| opt.join(folder).join(arch).join(name))
        .find(|p| p.is_file())
}

/// Run a CSP tool in the C locale: the tools localise their labels to the process locale
/// (certmgr is seen doing so), and the parsers are built on the English ones.
fn run(path: &Path, args: &[&str], timeout: Duration) -> Result<Output, RunError> {
    let mut command = Command::new(path);
    command.args(args).env("LC_ALL", "C");
    program::run(command, timeout)
}

fn unrecognised(what: &str, output: &Output) -> String {
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
