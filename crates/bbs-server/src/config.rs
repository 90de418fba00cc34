//! Server settings. Every limit has a safe default here; `bbsd`'s flags
//! may change them.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    /// Longest accepted command line, in bytes.
    pub max_line: usize,
    /// Password hashes computed at once (each takes one core for tens of
    /// milliseconds and 19 MiB of memory).
    pub hash_workers: usize,
    /// Logins and registrations allowed to wait for a hashing worker;
    /// beyond that the server answers that it is busy.
    pub hash_queue: usize,
    /// How long a UDP reply is remembered for a retried request.
    pub udp_reply_memory: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_line: bbs_protocol::DEFAULT_MAX_LINE,
            hash_workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            hash_queue: 256,
            udp_reply_memory: Duration::from_secs(30),
        }
    }
}
