//! Password hashing (argon2id with a random salt, PHC strings) and
//! generated one-time passwords.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::distr::{Alphanumeric, SampleString};

/// Shortest password a person may choose.
pub const MIN_LENGTH: usize = 10;

/// Hashes on a blocking thread: argon2 is meant to be slow.
pub async fn hash(password: String) -> Result<String, argon2::password_hash::Error> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .unwrap_or(Err(argon2::password_hash::Error::Crypto))
}

/// [`hash`], failing with the API's error (the cause is never shown).
pub async fn hash_for_api(password: String) -> Result<String, app::model::ApiError> {
    hash(password)
        .await
        .map_err(|_| app::model::ApiError::new(app::model::ErrorCode::Internal, "the password could not be hashed"))
}

/// Whether `password` matches `phc`; a malformed hash never matches.
pub async fn verify(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// A password to hand a new user once.
pub fn one_time() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 20)
}

/// Why a chosen password is not good enough, if it is not.
pub fn weakness(password: &str, name: &str) -> Option<String> {
    if password.chars().count() < MIN_LENGTH {
        return Some(format!("a password needs at least {MIN_LENGTH} characters"));
    }
    if password.eq_ignore_ascii_case(name) {
        return Some("a password must not be your name".into());
    }
    None
}
