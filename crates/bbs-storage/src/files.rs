//! The file area's records: which files exist, who sent them, their size
//! and SHA-256. The bytes themselves live in the server's file directory;
//! a record is added only once its file is complete and verified, so the
//! records are what the file area holds.

use std::future::Future;

use crate::{Result, Timestamp};

/// One file of the file area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRow {
    pub name: String,
    pub owner: String,
    pub size: u64,
    /// Lower-case hex.
    pub sha256: String,
    pub created_at: Timestamp,
}

/// Bytes held in the file area.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileUsage {
    /// By one user's files.
    pub user: u64,
    /// By everybody's.
    pub total: u64,
}

pub trait FileStore {
    /// Adds a file's record; `false` if the name is taken (the stored
    /// record is then left as it was).
    fn add_file(&self, file: FileRow) -> impl Future<Output = Result<bool>> + Send;
    /// One file's record.
    fn file(&self, name: &str) -> impl Future<Output = Result<Option<FileRow>>> + Send;
    /// Every file name, sorted by bytes.
    fn file_names(&self) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// Bytes held by `owner`'s files and by all files.
    fn file_usage(&self, owner: &str) -> impl Future<Output = Result<FileUsage>> + Send;
    /// Removes a record (a file whose bytes could not be put in place).
    fn remove_file(&self, name: &str) -> impl Future<Output = Result<()>> + Send;
}
