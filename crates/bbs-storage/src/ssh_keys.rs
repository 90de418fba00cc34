//! SSH public keys a user registered to log in through the SSH door
//! without a password.
//!
//! The store keeps keys as text and knows nothing of SSH: the server parses
//! and checks a key before adding it, and compares the key an SSH client
//! proves it holds with the stored ones.

use std::future::Future;

use crate::{Result, Timestamp};

/// A key to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSshKey {
    /// The key in OpenSSH form without its comment: `<algorithm> <base64>`.
    pub public_key: String,
    /// `SHA256:…`, as `ssh-keygen -l` shows it; one user registers a key once.
    pub fingerprint: String,
    /// The comment after the key, as given (may be empty).
    pub comment: String,
    pub added_at: Timestamp,
}

/// A registered key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshKeyRow {
    pub public_key: String,
    pub fingerprint: String,
    pub comment: String,
    pub added_at: Timestamp,
}

/// What adding a key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddKey {
    Added,
    /// The user already has a key with this fingerprint.
    AlreadyAdded,
    /// The user has `max` keys already.
    TooMany,
}

/// Storage of users' SSH public keys.
pub trait KeyStore: Send + Sync {
    /// Adds a key for `user` unless the user has it already or has `max`
    /// keys.
    fn add_ssh_key(&self, user: &str, key: NewSshKey, max: usize) -> impl Future<Output = Result<AddKey>> + Send;
    /// The keys of `user`, oldest first (the order `delete_ssh_key` counts in).
    fn ssh_keys(&self, user: &str) -> impl Future<Output = Result<Vec<SshKeyRow>>> + Send;
    /// Deletes the `index`-th (1-based) key of `user`; `false` if there is
    /// no such key.
    fn delete_ssh_key(&self, user: &str, index: u64) -> impl Future<Output = Result<bool>> + Send;
}
