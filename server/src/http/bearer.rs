//! The bearer token that guards `GET /metrics`, read once from `http.metrics_bearer_token_file`.
//!
//! Only the token's SHA-256 is kept. A presented token is hashed too and the two digests are
//! compared in constant time: neither the comparison's duration nor the token's length tells an
//! attacker how close a guess came.

use std::fmt;
use std::path::{Path, PathBuf};

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The token `/metrics` requires.
#[derive(Clone)]
pub struct BearerToken {
    sha256: [u8; 32],
}

/// Why the token file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read the metrics bearer token file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the metrics bearer token file {path} must hold one token of printable ASCII without \
         spaces (surrounding whitespace is ignored)"
    )]
    Invalid { path: PathBuf },
}

// === impl BearerToken ===

impl BearerToken {
    /// Read the token from `path`; surrounding whitespace (a final newline) is not part of it.
    pub fn read(path: &Path) -> Result<Self, TokenError> {
        let text = std::fs::read_to_string(path).map_err(|source| TokenError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::new(text.trim()).ok_or_else(|| TokenError::Invalid {
            path: path.to_owned(),
        })
    }

    /// `token`, if it can travel in an `Authorization` header: non-empty printable ASCII
    /// without spaces.
    pub fn new(token: &str) -> Option<Self> {
        let usable = !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic());
        usable.then(|| Self {
            sha256: Sha256::digest(token.as_bytes()).into(),
        })
    }

    /// Whether `headers` carry `Authorization: Bearer <this token>`.
    pub fn admits(&self, headers: &HeaderMap) -> bool {
        let Some(presented) = presented(headers) else {
            return false;
        };
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        digest.ct_eq(&self.sha256).into()
    }
}

/// The token of an `Authorization: Bearer …` header, if there is one.
pub(super) fn presented(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(***)")
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(authorization: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(authorization).expect("header"),
        );
        headers
    }

    #[test]
    fn only_the_same_token_as_bearer_is_admitted() {
        let token = BearerToken::new("s3cret-Token_1").expect("usable");
        assert!(token.admits(&headers("Bearer s3cret-Token_1")));
        assert!(token.admits(&headers("bearer s3cret-Token_1")));
        for refused in [
            "Bearer s3cret-Token_",
            "Bearer s3cret-Token_11",
            "Bearer S3CRET-TOKEN_1",
            "Bearer ",
            "Basic s3cret-Token_1",
            "s3cret-Token_1",
        ] {
            assert!(!token.admits(&headers(refused)), "{refused}");
        }
        assert!(!token.admits(&HeaderMap::new()));
    }

    #[test]
    fn a_token_file_is_trimmed_and_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        std::fs::write(&path, "abc123\n").expect("write");
        let token = BearerToken::read(&path).expect("reads");
        assert!(token.admits(&headers("Bearer abc123")));
        for bad in ["", " \n", "two words\n", "токен"] {
            std::fs::write(&path, bad).expect("write");
            assert!(
                matches!(BearerToken::read(&path), Err(TokenError::Invalid { .. })),
                "{bad:?}"
            );
        }
        let missing = dir.path().join("missing");
        assert!(matches!(
            BearerToken::read(&missing),
            Err(TokenError::Read { .. })
        ));
        assert_eq!(format!("{token:?}"), "BearerToken(***)");
    }
}
