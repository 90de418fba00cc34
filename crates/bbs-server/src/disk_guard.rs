//! The disk guard: refuses durable writes while free space under the data
//! directory is below a reserve, so a full disk never turns into failed
//! commits, a corrupt journal or a server that cannot even log people in.
//! Reads, logins and live messages need no space and go on; writes resume
//! by themselves as soon as space returns (nothing is latched).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long one reading of the free space answers for. Asking on every
/// write cost 2 % of the server's CPU under the default mix (a `statvfs`
/// walks the path each time); in 100 ms even ten thousand writes a second
/// use far less than the reserve, and space that returns is seen at once
/// for any practical purpose.
const READING_LIFETIME: Duration = Duration::from_millis(100);

/// Watches the free space of the file system holding the data directory.
#[derive(Debug)]
pub struct DiskGuard {
    dir: PathBuf,
    min_free: AtomicU64,
    /// The last reading and when it was taken.
    last: Mutex<Option<(Instant, Option<u64>)>>,
}

impl DiskGuard {
    pub(crate) fn new(dir: &Path, min_free: u64) -> DiskGuard {
        DiskGuard { dir: dir.to_owned(), min_free: AtomicU64::new(min_free), last: Mutex::new(None) }
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

    /// Whether a write may go ahead: asked on every write, from a reading
    /// at most [`READING_LIFETIME`] old, against the reserve as it is now.
    /// A file system that cannot be asked does not stop the server.
    pub fn has_room(&self) -> bool {
        let free = {
            let mut last = self.last.lock().expect("disk guard lock");
            match *last {
                Some((at, free)) if at.elapsed() < READING_LIFETIME => free,
                _ => {
                    let free = self.free_bytes();
                    *last = Some((Instant::now(), free));
                    free
                }
            }
        };
        match free {
            Some(free) => free >= self.min_free.load(Ordering::Relaxed),
            None => {
                tracing::warn!(dir = %self.dir.display(), "cannot read the free space of the data directory");
                true
            }
        }
    }
}
