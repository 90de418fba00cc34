//! The embedded backend of the BBS's storage: [`SqliteStore`], an
//! implementation of [`bbs_storage::Store`] on one SQLite file (WAL, one
//! writer thread with group commit, reads on reader threads behind a cache
//! bounded in bytes; see
//! `sqlite.rs`), and [`bulk::BulkLoader`], which fills such a file before
//! any server has it open.
//!
//! Everything that knows about SQLite lives here, so the trait crate and
//! the server stay free of it. Whether this backend keeps the trait's
//! promises is checked by `tests/contract.rs`, which runs the shared
//! contract suite of `bbs-storage`; what only SQLite has (reopening the
//! file, schema versions, reads beside writes) is tested here.

pub mod backup;
pub mod bulk;
mod cache;
mod cluster;
mod community;
mod files;
mod moderation;
mod schema;
mod search;
mod social;
mod sqlite;
mod ssh_keys;

pub use sqlite::{SqliteOptions, SqliteStore, WHOLE_LISTING};

use bbs_storage::{Result, StoreError};

/// rusqlite's errors into the backend-neutral [`StoreError`]: the trait
/// crate cannot have a `From<rusqlite::Error>` without depending on
/// rusqlite, and `?` on a bare `rusqlite::Result` would not compile.
trait OrBackend<T> {
    fn or_backend(self) -> Result<T>;
}

impl<T> OrBackend<T> for rusqlite::Result<T> {
    fn or_backend(self) -> Result<T> {
        self.map_err(StoreError::backend)
    }
}

/// Failures of opening that are not SQLite's own, with the path involved.
#[derive(Debug, thiserror::Error)]
enum OpenError {
    #[error("cannot create {path}: {source}")]
    CreateDir { path: std::path::PathBuf, source: std::io::Error },
    #[error("cannot open the write-ahead log {path}: {source}")]
    OpenWal { path: std::path::PathBuf, source: std::io::Error },
}
