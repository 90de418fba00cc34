//! Passwords and login tokens.
//!
//! Passwords are stored as argon2id hashes (19 MiB, 2 passes, 1 lane: the
//! OWASP baseline). Hashing is deliberately slow, so it runs on tokio's
//! blocking pool, never on the async workers, with at most
//! `hash_workers` at once and at most `hash_queue` waiting: a flood of
//! logins gets "busy" answers instead of stalling everybody else.
//!
//! A login with an unknown user name is checked against a dummy hash, so it
//! costs the same time as a wrong password and does not reveal which names
//! exist.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use tokio::sync::Semaphore;

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("too many logins are waiting")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// Runs password hashing off the async workers, with a bounded queue.
#[derive(Debug)]
pub struct Hasher {
    workers: Arc<Semaphore>,
    queued: AtomicUsize,
    max_queued: usize,
}

impl Hasher {
    pub fn new(workers: usize, max_queued: usize) -> Hasher {
        Hasher { workers: Arc::new(Semaphore::new(workers.max(1))), queued: AtomicUsize::new(0), max_queued }
    }

    /// Hashes a new password into PHC string form.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| HashError::Failed(e.to_string()))
        })
        .await?
    }

    /// Checks a password against a stored hash; `None` (no such user) is
    /// checked against a dummy hash and is always false.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, HashError> {
        self.run(move || {
            let known = stored.is_some();
            let stored = stored.unwrap_or_else(|| dummy_hash().to_owned());
            let Ok(parsed) = PasswordHash::new(&stored) else {
                return false;
            };
            Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok() && known
        })
        .await
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, HashError> {
        let before = self.queued.fetch_add(1, Ordering::AcqRel);
        let _queued = QueueSlot(&self.queued);
        if before >= self.max_queued {
            return Err(HashError::Busy);
        }
        let permit = Arc::clone(&self.workers).acquire_owned().await.map_err(|_| HashError::Busy)?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))
    }
}

/// Gives the queue place back however the wait ends.
struct QueueSlot<'a>(&'a AtomicUsize);

impl Drop for QueueSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(b"no such user", &salt).expect("hashing a constant").to_string()
    })
}

/// A fresh login token: 128 bits from the operating system's CSPRNG, hex.
pub fn new_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let hasher = Hasher::new(2, 8);
        let hash = hasher.hash("secret".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(hasher.verify("secret".into(), Some(hash.clone())).await.unwrap());
        assert!(!hasher.verify("wrong".into(), Some(hash)).await.unwrap());
        assert!(!hasher.verify("no such user".into(), None).await.unwrap());
    }

    #[test]
    fn tokens_are_128_bits_and_differ() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
