//! The disk guard: refuses durable writes while free space under the data
//! directory is below a reserve, so a full disk never turns into failed
//! commits, a corrupt journal or a server that cannot even log people in.
//! Reads, logins and live messages need no space and go on; writes resume
//! by themselves as soon as space returns (nothing is latched).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Watches the free space of the file system holding the data directory.
#[derive(Debug)]
pub struct DiskGuard {
    dir: PathBuf,
    min_free: AtomicU64,
}

impl DiskGuard {
    pub(crate) fn new(dir: &Path, min_free: u64) -> DiskGuard {
        DiskGuard { dir: dir.to_owned(), min_free: AtomicU64::new(min_free) }
    }

    /// Changes the reserve while the server runs (an operator after freeing
    /// space elsewhere, or a test).
    pub fn set_min_free(&self, bytes: u64) {
        self.min_free.store(bytes, Ordering::Relaxed);
    }

    /// Bytes an unprivileged process may still write under the data
    /// directory, or `None` when the file system cannot be asked.
    pub fn free_bytes(&self) -> Option<u64> {
        let stat = nix::sys::statvfs::statvfs(&self.dir).ok()?;
        #[allow(clippy::useless_conversion)] // the field types differ between platforms
        Some(u64::from(stat.blocks_available()).saturating_mul(u64::from(stat.fragment_size())))
    }

    /// Whether a write may go ahead. Asked on every write: one `statvfs`
    /// costs a microsecond, far below the commit it guards, and a fresh
    /// answer means writes resume the moment space returns. A file system
    /// that cannot be asked does not stop the server.
    pub fn has_room(&self) -> bool {
        match self.free_bytes() {
            Some(free) => free >= self.min_free.load(Ordering::Relaxed),
            None => {
                tracing::warn!(dir = %self.dir.display(), "cannot read the free space of the data directory");
                true
            }
        }
    }
}
