//! Secrets of channels (HMAC keys, passwords, tokens), kept in files of their own so that the
//! configuration can be readable by more people than the secrets.

use std::path::Path;

use super::SetupError;

/// The content of `path` without its trailing newline; empty is refused.
pub(super) fn read(channel: &str, path: &Path) -> Result<String, SetupError> {
    let text = std::fs::read_to_string(path).map_err(|source| SetupError::Read {
        channel: channel.to_owned(),
        path: path.to_owned(),
        source,
    })?;
    let secret = text.trim_end_matches(['\r', '\n']).to_owned();
    if secret.is_empty() {
        return Err(SetupError::Invalid {
            channel: channel.to_owned(),
            message: format!("{} is empty", path.display()),
        });
    }
    Ok(secret)
}
