//! The server's sense of time for rules that span seconds to years (the
//! 90 seconds between two votes, and later ban and recycle-bin expiry): a
//! [`Clock`] in the configuration, the system clock unless a test puts a
//! [`TestClock`] it moves by hand, so such rules are tested without waiting.

use std::fmt::Debug;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Unix time in seconds, as the server's rules see it.
pub trait Clock: Debug + Send + Sync {
    fn now(&self) -> i64;
}

/// The real time.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        chrono::Utc::now().timestamp()
    }
}

/// A clock that stands still until told otherwise.
#[derive(Debug)]
pub struct TestClock {
    now: AtomicI64,
}

impl TestClock {
    /// A clock showing the real time now, from then on moved only by hand.
    pub fn new() -> Arc<TestClock> {
        Arc::new(TestClock { now: AtomicI64::new(SystemClock.now()) })
    }

    pub fn set(&self, unix: i64) {
        self.now.store(unix, Ordering::Relaxed);
    }

    pub fn advance(&self, seconds: i64) {
        self.now.fetch_add(seconds, Ordering::Relaxed);
    }
}

impl Clock for TestClock {
    fn now(&self) -> i64 {
        self.now.load(Ordering::Relaxed)
    }
}
