//! The agent's state directory (`/var/lib/tokenwatch-agent`): identity, server, sequence and
//! spool.
//!
//! Every file is replaced atomically (write a temporary file beside it, sync, rename), so a crash
//! or power cut leaves either the old or the new content, never half of one. Files are created
//! with their final mode, so a private key is never readable by others, not even for a moment.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod pem;

pub use pem::{encode_pem, encode_pem_certificate};

/// Default state directory of the service.
#[cfg(not(windows))]
pub const DEFAULT_DIR: &str = "/var/lib/tokenwatch-agent";
/// Default state directory of the service: in `%ProgramData%\tokenwatch`, whose access list
/// `service install` limits to SYSTEM and Administrators.
#[cfg(windows)]
pub const DEFAULT_DIR: &str = r"C:\ProgramData\tokenwatch\state";

/// The agent's private key, PKCS#8 PEM, mode 0600.
pub const KEY_FILE: &str = "agent.key";
/// The agent's client certificate, PEM.
pub const CERT_FILE: &str = "agent.crt";
/// The CA the server is trusted with (`--ca-file` at enrolment), PEM. Absent: system roots.
pub const CA_FILE: &str = "ca.crt";
/// The CA that signs agent certificates, as the server named it at enrolment, PEM.
pub const AGENT_CA_FILE: &str = "agent-ca.crt";
/// Server, identity and office.
pub const AGENT_FILE: &str = "agent.toml";
/// The last report sequence number used.
const SEQUENCE_FILE: &str = "sequence";

/// A state directory failure.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is not valid: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("this agent is not enrolled ({} is missing): run `tokenwatch-agent enroll` first", path.display())]
    NotEnrolled { path: PathBuf },
}

/// What enrolment established: whom to report to and as whom.
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AgentFile {
    /// `https://host:port` of the tokenwatch server.
    pub server: String,
    /// The identity the server gave this agent (the CN of its certificate).
    pub agent_id: String,
    /// The office the enrolment secret belongs to.
    pub office: String,
}

/// An opened state directory.
#[derive(Clone, Debug)]
pub struct StateDir {
    root: PathBuf,
}

// === impl StateDir ===

impl StateDir {
    /// Open `root`, creating it (mode 0700) when absent.
    pub fn create(root: impl Into<PathBuf>) -> Result<Self, StateError> {
        let root = root.into();
        create_private_dir(&root)?;
        Ok(Self { root })
    }

    /// Open the directory of an enrolled agent, tightening its mode to 0700; nothing is created
    /// for an agent that was never enrolled.
    pub fn open_enrolled(root: impl Into<PathBuf>) -> Result<Self, StateError> {
        let root = root.into();
        let agent = root.join(AGENT_FILE);
        if !agent.exists() {
            return Err(StateError::NotEnrolled { path: agent });
        }
        Self::create(root)
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A file inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Read a file enrolment may have written; `None` when it did not.
    pub fn read_optional(&self, name: &str) -> Result<Option<Vec<u8>>, StateError> {
        match self.read(name) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(StateError::NotEnrolled { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Read a file that enrolment wrote.
    pub fn read(&self, name: &str) -> Result<Vec<u8>, StateError> {
        let path = self.path(name);
        fs::read(&path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => StateError::NotEnrolled { path },
            _ => StateError::Io {
                action: "reading",
                path,
                source,
            },
        })
    }

    /// The enrolment record.
    pub fn agent_file(&self) -> Result<AgentFile, StateError> {
        let path = self.path(AGENT_FILE);
        let text = String::from_utf8(self.read(AGENT_FILE)?).map_err(|e| StateError::Invalid {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        toml::from_str(&text).map_err(|e| StateError::Invalid {
            path,
            reason: e.to_string(),
        })
    }

    /// Replace the enrolment record.
    pub fn write_agent_file(&self, agent: &AgentFile) -> Result<(), StateError> {
        let path = self.path(AGENT_FILE);
        let text = toml::to_string(agent).map_err(|e| StateError::Invalid {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        write_atomic(&path, text.as_bytes(), 0o644)
    }

    /// Take the next report sequence number and persist it before it is used, so a number is
    /// never handed out twice, even across restarts.
    pub fn next_sequence(&self) -> Result<u64, StateError> {
        let path = self.path(SEQUENCE_FILE);
        let last = match fs::read_to_string(&path) {
            Ok(text) => text
                .trim()
                .parse::<u64>()
                .map_err(|e| StateError::Invalid {
                    path: path.clone(),
                    reason: e.to_string(),
                })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(source) => {
                return Err(StateError::Io {
                    action: "reading",
                    path,
                    source,
                });
            }
        };
        let next = last.saturating_add(1);
        write_atomic(&path, format!("{next}\n").as_bytes(), 0o600)?;
        Ok(next)
    }
}

// === impl StateDir (identity) ===

impl StateDir {
    /// Put a renewed key and certificate in place. Both are written beside the current pair
    /// first (`*.new`), then renamed key first; [`Self::finish_renewal`] completes a swap a crash
    /// interrupted, so the key and certificate on disk always belong together.
    pub fn replace_identity(&self, key_pem: &[u8], cert_pem: &[u8]) -> Result<(), StateError> {
        let (key_new, cert_new) = self.new_identity_paths();
        write_atomic(&key_new, key_pem, 0o600)?;
        write_atomic(&cert_new, cert_pem, 0o644)?;
        self.finish_renewal()
    }

    /// Complete or roll back a renewal left half done.
    pub fn finish_renewal(&self) -> Result<(), StateError> {
        let (key_new, cert_new) = self.new_identity_paths();
        let rename = |from: &Path, to: &Path| {
            fs::rename(from, to).map_err(|source| StateError::Io {
                action: "replacing",
                path: to.to_owned(),
                source,
            })
        };
        match (key_new.exists(), cert_new.exists()) {
            (true, true) => {
                rename(&key_new, &self.path(KEY_FILE))?;
                rename(&cert_new, &self.path(CERT_FILE))
            }
            // The key was already swapped.
            (false, true) => rename(&cert_new, &self.path(CERT_FILE)),
            // The certificate never arrived: the old pair is still whole.
            (true, false) => fs::remove_file(&key_new).map_err(|source| StateError::Io {
                action: "removing",
                path: key_new.clone(),
                source,
            }),
            (false, false) => Ok(()),
        }
    }

    fn new_identity_paths(&self) -> (PathBuf, PathBuf) {
        (
            self.path(&format!("{KEY_FILE}.new")),
            self.path(&format!("{CERT_FILE}.new")),
        )
    }
}

/// Create `dir` and its parents; the directory itself gets mode 0700.
pub fn create_private_dir(dir: &Path) -> Result<(), StateError> {
    let io_error = |source| StateError::Io {
        action: "creating",
        path: dir.to_owned(),
        source,
    };
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(0o700);
    builder.create(dir).map_err(io_error)?;
    #[cfg(unix)]
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_error)?;
    Ok(())
}

/// Replace `path` with `content`: a temporary file created with `mode` beside it, synced, then
/// renamed over it. Readers see the old file or the new one, never a partial one.
pub fn write_atomic(path: &Path, content: &[u8], mode: u32) -> Result<(), StateError> {
    let tmp = temporary_name(path);
    let io_error = |action, source| StateError::Io {
        action,
        path: path.to_owned(),
        source,
    };
    let result = (|| {
        let mut file = create_with_mode(&tmp, mode)?;
        file.write_all(content)?;
        file.sync_all()
    })();
    if let Err(source) = result {
        let _ = fs::remove_file(&tmp);
        return Err(io_error("writing", source));
    }
    fs::rename(&tmp, path).map_err(|source| {
        let _ = fs::remove_file(&tmp);
        io_error("replacing", source)
    })?;
    if let Some(dir) = path.parent() {
        // Make the rename itself durable; a failure here only weakens crash safety.
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

/// The temporary sibling used by [`write_atomic`]: a dot file other readers skip.
pub fn temporary_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

fn create_with_mode(path: &Path, mode: u32) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(mode);
    #[cfg(not(unix))]
    let _ = mode;
    let file = options.open(path)?;
    // The mode given to open() is filtered by the umask and ignored for an existing file.
    #[cfg(unix)]
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_increases_and_survives_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = StateDir::create(dir.path().join("s")).expect("state");
        assert_eq!(state.next_sequence().expect("seq"), 1);
        assert_eq!(state.next_sequence().expect("seq"), 2);
        let again = StateDir::create(dir.path().join("s")).expect("state");
        assert_eq!(again.next_sequence().expect("seq"), 3);
    }

    #[cfg(unix)]
    #[test]
    fn files_get_their_mode_and_no_temporary_is_left() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = StateDir::create(dir.path().join("s")).expect("state");
        let mode = |p: &Path| fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(state.root()), 0o700);
        let key = state.path(KEY_FILE);
        write_atomic(&key, b"old", 0o600).expect("write");
        write_atomic(&key, b"new", 0o600).expect("write");
        assert_eq!(mode(&key), 0o600);
        assert_eq!(fs::read(&key).expect("read"), b"new");
        let names: Vec<_> = fs::read_dir(state.root())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, [KEY_FILE], "no temporary file is left behind");
    }

    #[test]
    fn an_interrupted_renewal_completes_or_rolls_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = StateDir::create(dir.path()).expect("state");
        let read = |name| fs::read_to_string(state.path(name)).expect("read");
        state.replace_identity(b"k1", b"c1").expect("first");
        assert_eq!(
            (read(KEY_FILE), read(CERT_FILE)),
            ("k1".into(), "c1".into())
        );
        // Crash after the key was swapped, before the certificate was.
        fs::write(state.path(KEY_FILE), "k2").expect("write");
        fs::write(state.path("agent.crt.new"), "c2").expect("write");
        state.finish_renewal().expect("finish");
        assert_eq!(read(CERT_FILE), "c2");
        // Crash before the certificate arrived.
        fs::write(state.path("agent.key.new"), "k3").expect("write");
        state.finish_renewal().expect("finish");
        assert_eq!(
            (read(KEY_FILE), read(CERT_FILE)),
            ("k2".into(), "c2".into())
        );
        assert!(!state.path("agent.key.new").exists());
    }

    #[test]
    fn agent_file_round_trips_and_missing_means_not_enrolled() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = StateDir::create(dir.path()).expect("state");
        assert!(matches!(
            state.agent_file(),
            Err(StateError::NotEnrolled { .. })
        ));
        let agent = AgentFile {
            server: "https://tw.example:8443".into(),
            agent_id: "0b8c…".into(),
            office: "Казань".into(),
        };
        state.write_agent_file(&agent).expect("write");
        assert_eq!(state.agent_file().expect("read"), agent);
    }
}
