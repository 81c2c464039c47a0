//! Password hashing: argon2id with OWASP's recommended minimum parameters (19 MiB of memory,
//! 2 passes, 1 lane: RustCrypto's `argon2` defaults), off the async workers (tokio's blocking
//! pool), so that a burst of log-ins cannot stall the queries served beside them.
//!
//! A log-in for an unknown email verifies the password against a hash of nothing (made at
//! start-up), so it costs one hash computation like a wrong password does, and the two cannot
//! be told apart by their time. `computations` counts them (`/metrics`), which is how the tests
//! check it without timing anything.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::domain::account::Password;
use crate::error::{AppError, AppResult};

#[derive(Debug)]
pub struct Hasher {
    /// A hash of a password nobody has: what unknown emails are verified against.
    decoy: String,
    computations: AtomicU64,
}

impl Hasher {
    pub fn new() -> AppResult<Arc<Self>> {
        let decoy = hash_now("no account has this password")?;
        Ok(Arc::new(Hasher {
            decoy,
            computations: AtomicU64::new(0),
        }))
    }

    /// Hash computations so far (hashes and verifications).
    pub fn computations(&self) -> u64 {
        self.computations.load(Ordering::Relaxed)
    }

    /// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`) of `password`, with a fresh salt.
    pub async fn hash(self: &Arc<Self>, password: &Password) -> AppResult<String> {
        let password = password.expose().to_string();
        self.computations.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || hash_now(&password))
            .await
            .map_err(|err| AppError::Internal(format!("hashing stopped: {err}")))?
    }

    /// Whether `password` is the one `hash` was made from; no hash (no such account, or no
    /// password set) is verified against the decoy and is never a match.
    pub async fn verify(
        self: &Arc<Self>,
        hash: Option<&str>,
        password: &Password,
    ) -> AppResult<bool> {
        let real = hash.is_some();
        let hash = hash.unwrap_or(&self.decoy).to_string();
        let password = password.expose().to_string();
        self.computations.fetch_add(1, Ordering::Relaxed);
        let matches = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .map(|parsed| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false)
        })
        .await
        .map_err(|err| AppError::Internal(format!("hashing stopped: {err}")))?;
        Ok(real && matches)
    }
}

fn hash_now(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| AppError::Internal(format!("cannot hash a password: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_the_decoy_never_matches() {
        let hasher = Hasher::new().expect("a hasher");
        let password = Password::parse("correct horse".into()).expect("a password");
        let hash = hasher.hash(&password).await.expect("a hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        let wrong = Password::parse("wrong horse".into()).expect("a password");
        assert!(hasher
            .verify(Some(&hash), &password)
            .await
            .expect("verified"));
        assert!(!hasher.verify(Some(&hash), &wrong).await.expect("verified"));
        let decoy = Password::parse("no account has this password".into()).expect("a password");
        assert!(!hasher.verify(None, &decoy).await.expect("verified"));
        assert_eq!(hasher.computations(), 4);
    }
}
