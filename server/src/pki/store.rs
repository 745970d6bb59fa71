//! The CA and server certificate in the data dir, shared safely by several processes.
//!
//! Each pair lives in its own directory (`agent-ca/`, `server-tls/`) that appears whole or not
//! at all: the files are written into a private temporary directory, which is then renamed into
//! place. `rename` of a directory onto an existing non-empty one fails, so when two processes
//! start at once exactly one pair wins and the other process loads it. Keys are mode 0600,
//! certificates 0644 (agents need the CA certificate), in mode-0700 directories.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rcgen::{Issuer, KeyPair};

use super::{PkiError, issue};

const CA_DIR: &str = "agent-ca";
const CA_CERT: &str = "ca.crt";
const CA_KEY: &str = "ca.key";
const SERVER_DIR: &str = "server-tls";
const SERVER_CERT: &str = "server.crt";
const SERVER_KEY: &str = "server.key";
/// A stored server certificate this close to its end is replaced at start.
const SERVER_RENEW_MARGIN: Duration = Duration::from_secs(30 * 86_400);

/// Read a whole PEM file.
pub(super) fn read(path: &Path) -> Result<String, PkiError> {
    fs::read_to_string(path).map_err(|source| PkiError::Io {
        path: path.to_owned(),
        source,
    })
}

/// The DER content of the first PEM block labelled `label`.
pub(super) fn pem_to_der(pem: &str, label: &str) -> Option<Vec<u8>> {
    let mut rest = pem.as_bytes();
    while let Ok((after, block)) = x509_parser::pem::parse_x509_pem(rest) {
        if block.label == label {
            return Some(block.contents);
        }
        if after.len() == rest.len() {
            break;
        }
        rest = after;
    }
    None
}

/// The agent CA in `data_dir`, created if absent: certificate and key, PEM.
pub(super) fn load_or_create_ca(data_dir: &Path) -> Result<(String, String), PkiError> {
    let dir = data_dir.join(CA_DIR);
    if !dir.exists() {
        let (cert, key) = issue::new_ca()?;
        if publish(data_dir, CA_DIR, &[(CA_CERT, &cert), (CA_KEY, &key)])? {
            tracing::info!(message = "Created the agent CA.", dir = %dir.display());
            return Ok((cert, key));
        }
    }
    Ok((read(&dir.join(CA_CERT))?, read(&dir.join(CA_KEY))?))
}

/// The server certificate in `data_dir` when it covers `names` and is not about to expire;
/// otherwise a new one from `issuer`, stored for the next start. Returns the chain (server
/// certificate, then CA) and the key, PEM.
pub(super) fn load_or_create_server(
    data_dir: &Path,
    names: &[String],
    issuer: &Issuer<'static, KeyPair>,
    ca_cert_pem: &str,
) -> Result<(String, String), PkiError> {
    let dir = data_dir.join(SERVER_DIR);
    let chain = |cert: &str| format!("{cert}{ca_cert_pem}");
    if dir.exists() {
        let cert = read(&dir.join(SERVER_CERT))?;
        if issue::covers(&cert, names, SERVER_RENEW_MARGIN) {
            return Ok((chain(&cert), read(&dir.join(SERVER_KEY))?));
        }
        tracing::info!(
            message = "Replacing the server certificate: it does not cover the configured names or expires soon.",
            names = ?names,
        );
        // Moved aside, not deleted: an operator may want it back. A process racing us may have
        // moved it already.
        let aside = data_dir.join(format!("{SERVER_DIR}.replaced-{}", unique()));
        if let Err(source) = fs::rename(&dir, &aside) {
            if source.kind() != std::io::ErrorKind::NotFound {
                return Err(PkiError::Io { path: dir, source });
            }
        }
    }
    let (cert, key) = issue::new_server(names, issuer)?;
    if publish(
        data_dir,
        SERVER_DIR,
        &[(SERVER_CERT, &cert), (SERVER_KEY, &key)],
    )? {
        tracing::info!(message = "Issued the server certificate.", names = ?names);
        return Ok((chain(&cert), key));
    }
    // Another process published first: use its certificate if it fits, else our own.
    let theirs = read(&dir.join(SERVER_CERT))?;
    if issue::covers(&theirs, names, SERVER_RENEW_MARGIN) {
        return Ok((chain(&theirs), read(&dir.join(SERVER_KEY))?));
    }
    Ok((chain(&cert), key))
}

/// Write `files` into a new directory `data_dir/name`. False when it already existed (another
/// process won): nothing of ours is left behind then.
fn publish(data_dir: &Path, name: &str, files: &[(&str, &str)]) -> Result<bool, PkiError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| PkiError::Io { path, source }
    };
    fs::create_dir_all(data_dir).map_err(io(data_dir))?;
    let tmp = data_dir.join(format!(".{name}.tmp-{}", unique()));
    private_dir(&tmp).map_err(io(&tmp))?;
    for (file, contents) in files {
        let path = tmp.join(file);
        let mode = if file.ends_with(".key") { 0o600 } else { 0o644 };
        write_new(&path, contents, mode).map_err(io(&path))?;
    }
    let target = data_dir.join(name);
    match fs::rename(&tmp, &target) {
        Ok(()) => Ok(true),
        Err(source) => {
            let _ = fs::remove_dir_all(&tmp);
            if target.join(files[0].0).exists() {
                Ok(false)
            } else {
                Err(PkiError::Io {
                    path: target,
                    source,
                })
            }
        }
    }
}

fn unique() -> String {
    format!("{}-{:08x}", std::process::id(), rand::random::<u32>())
}

#[cfg(unix)]
fn private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().mode(0o700).create(path)
}

#[cfg(not(unix))]
fn private_dir(path: &Path) -> std::io::Result<()> {
    fs::create_dir(path)
}

fn write_new(path: &Path, contents: &str, mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// Paths of the stored CA, for operators and tests.
pub fn ca_cert_path(data_dir: &Path) -> PathBuf {
    data_dir.join(CA_DIR).join(CA_CERT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_starts_agree_on_one_ca() {
        let dir = tempfile::tempdir().expect("tempdir");
        let results: Vec<(String, String)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| load_or_create_ca(dir.path()).expect("ca")))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect()
        });
        assert!(results.windows(2).all(|w| w[0] == w[1]));
        // No temporary directories are left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("read")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, [CA_DIR]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(CA_DIR).join(CA_KEY))
                .expect("key")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn the_server_certificate_is_kept_until_the_names_change() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (ca_cert, ca_key) = load_or_create_ca(dir.path()).expect("ca");
        let key = KeyPair::from_pem(&ca_key).expect("key");
        let issuer = Issuer::from_ca_cert_pem(&ca_cert, key).expect("issuer");
        let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let first = load_or_create_server(
            dir.path(),
            &names(&["a.example", "127.0.0.1"]),
            &issuer,
            &ca_cert,
        )
        .expect("issued");
        assert!(first.0.ends_with(&ca_cert), "the chain ends with the CA");
        let again = load_or_create_server(dir.path(), &names(&["a.example"]), &issuer, &ca_cert)
            .expect("loaded");
        assert_eq!(again, first);
        let other = load_or_create_server(dir.path(), &names(&["b.example"]), &issuer, &ca_cert)
            .expect("reissued");
        assert_ne!(other, first);
        assert!(issue::covers(
            &read(&dir.path().join(SERVER_DIR).join(SERVER_CERT)).expect("stored"),
            &names(&["b.example"]),
            SERVER_RENEW_MARGIN
        ));
        let aside = fs::read_dir(dir.path())
            .expect("read")
            .filter(|e| {
                e.as_ref().is_ok_and(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with("server-tls.replaced-")
                })
            })
            .count();
        assert_eq!(aside, 1);
    }
}
