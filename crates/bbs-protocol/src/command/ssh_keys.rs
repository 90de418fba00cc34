//! Command types of the SSH door's key management: the public keys a user
//! logs in with over SSH instead of a password.

/// `add-key <openssh-public-key>`: the key line as `ssh-keygen` writes it
/// (`ssh-ed25519 AAAA… comment`), checked by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddKey {
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListKey;

/// `delete-key <index>`: the index `list-key` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteKey {
    pub index: u64,
}
