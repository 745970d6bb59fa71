//! Who may use the HTTP API and dashboard, and what they may see and change.
//!
//! People have local accounts ([`users`]) with a role and the offices they see. They sign in
//! for a browser session ([`sessions`]) or give scripts an API token ([`tokens`]); both come
//! back as a [`Principal`], which every handler asks before it reads or changes anything.
//! Every change is written to the audit log ([`audit`]).

pub mod audit;
mod password;
mod principal;
pub mod sessions;
pub mod tokens;
pub mod users;

pub use audit::{AuditEntry, Change};
pub use password::{MIN_PASSWORD_CHARS, PasswordError};
pub use principal::{Offices, Principal, Role};

/// A fresh random secret (a session cookie, a CSRF token, an API token): 256 bits, in hex.
pub(crate) fn random_secret() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}
