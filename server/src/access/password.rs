//! Password hashes: Argon2id with the library's default cost (19 MiB, 2 passes), stored as
//! PHC strings so that a later change of cost still verifies the old hashes.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};

/// The shortest password accepted: long enough that guessing online is hopeless with the
/// login lockout, short enough to type.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// The longest: hashing is costly, and nobody types more.
const MAX_PASSWORD_BYTES: usize = 1024;

/// Why a password is not accepted.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("a password needs at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("a password may have at most {MAX_PASSWORD_BYTES} bytes")]
    TooLong,
    #[error("the password could not be hashed: {0}")]
    Hash(String),
}

/// A hash to verify against when the account does not exist, so that an unknown name takes
/// as long to refuse as a wrong password.
static DUMMY: LazyLock<String> =
    LazyLock::new(|| hash("not a password of anyone").unwrap_or_default());

/// The PHC string of `password`, with a fresh salt.
pub(crate) fn hash(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| PasswordError::Hash(error.to_string()))
}

/// Whether `password` matches `stored`; a stored value that is not a PHC string matches
/// nothing. `None` for `stored` verifies against a dummy hash and fails.
pub(crate) fn verify(stored: Option<&str>, password: &str) -> bool {
    let (stored, real) = match stored {
        Some(stored) => (stored, true),
        None => (DUMMY.as_str(), false),
    };
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    matches && real
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse battery").expect("hashes");
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(verify(Some(&stored), "correct horse battery"));
        assert!(!verify(Some(&stored), "correct horse batterY"));
        assert!(!verify(Some(&stored), ""));
        // Salted: the same password hashes differently each time.
        assert_ne!(stored, hash("correct horse battery").expect("hashes"));
    }

    #[test]
    fn short_long_and_missing_are_refused() {
        assert_eq!(hash("short"), Err(PasswordError::TooShort));
        assert_eq!(
            hash("пароль123"),
            Err(PasswordError::TooShort),
            "9 characters"
        );
        assert!(hash("пароль1234").is_ok(), "10 characters, 19 bytes");
        assert_eq!(hash(&"x".repeat(1025)), Err(PasswordError::TooLong));
        assert!(!verify(None, "not a password of anyone"));
        assert!(!verify(Some("plain text"), "plain text"));
    }
}
