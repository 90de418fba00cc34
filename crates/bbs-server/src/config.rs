//! Server settings. Every limit has a safe default here; `bbsd`'s flags
//! may change them (benchmarks raise them, tests lower them to run fast).
//! docs/RELIABILITY.md lists each one and what a client sees when it hits it.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};

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
    /// Open TCP connections in total; one more is told the server is full.
    pub max_connections: usize,
    /// Open TCP connections from one IP address.
    pub max_connections_per_ip: usize,
    /// A connection that has not logged in is closed after this long
    /// without a complete command line (bytes trickling in do not count,
    /// so a slow-loris peer cannot hold a slot).
    pub idle_timeout_anonymous: Duration,
    /// The same for a logged-in connection: people read long posts.
    pub idle_timeout_logged_in: Duration,
    /// Answers waiting to be sent to one connection, in bytes. Past this the
    /// server reads no more commands from it until the peer catches up.
    pub max_pending_output: usize,
    /// A connection whose pending answers make no progress for this long
    /// (the peer stopped reading) is closed.
    pub write_timeout: Duration,
    /// Longest accepted password, in bytes.
    pub max_password: usize,
    /// Login attempts from one IP address.
    pub login_rate_per_ip: Rate,
    /// Login attempts for one user name (a successful login starts afresh).
    pub login_rate_per_account: Rate,
    /// UDP datagrams from one IP address; the rest are dropped unanswered.
    pub udp_rate_per_ip: Rate,
    /// Pushes (messages sent to a user unasked) waiting for one session. A
    /// session whose peer stops reading fills its output, then this queue;
    /// past it the session is closed instead of slowing the sender.
    pub push_queue: usize,
    /// How often this process tells the database it is alive (and records
    /// its sessions' idle times), when several share one database.
    pub heartbeat_interval: Duration,
    /// How long after its last heartbeat a server process is taken for
    /// dead: its sessions leave `list-online` and its chatrooms close.
    pub node_lease: Duration,
    /// Largest reply datagram to a logged-in sender; longer answers go out
    /// in numbered parts (see the protocol crate's `udp` module).
    pub max_udp_reply: usize,
    /// Longest `tell` or `yell` message, in bytes.
    pub max_message: usize,
    /// `tell`s one user may send.
    pub tell_rate: Rate,
    /// `yell`s one user may send (each reaches everybody online).
    pub yell_rate: Rate,
    /// Messages kept for one offline user; beyond that `tell` is refused.
    pub max_waiting_messages: usize,
    /// Posts, comments, boards and mails one account may write.
    pub write_rate_per_account: Rate,
    /// The same from one IP address, whoever is logged in.
    pub write_rate_per_ip: Rate,
    /// Registrations from one IP address.
    pub register_rate_per_ip: Rate,
    /// Comments of any kind (comment, push, boo) one user may make.
    pub comment_rate: Rate,
    /// Users who moderate every board (`bbsd --sysop NAME`).
    pub sysops: Vec<String>,
    /// Days a deleted post stays in its board's recycle bin, restorable,
    /// before it is purged (by the next write to the bin: no sweep runs).
    pub recycle_days: u32,
    /// The time the community rules see (votes, and later bans and the
    /// recycle bin); a test gives a [`TestClock`](crate::clock::TestClock).
    pub clock: Arc<dyn Clock>,
    /// The directory whose file system holds the database; `bbsd` uses the
    /// database's own directory.
    pub data_dir: PathBuf,
    /// Free bytes that must stay under `data_dir`; below it writes are
    /// refused (reads, logins and live messages go on) until space returns.
    pub min_free_disk: u64,
    /// Mails one mailbox holds; beyond that `mail-to` is refused.
    pub max_mailbox: usize,
    /// Subscription keywords one user may keep (every keyword of every
    /// board and author counts): each is checked against every new post
    /// of its target.
    pub max_subscriptions: usize,
    /// Longest subscription keyword, in bytes.
    pub max_keyword: usize,
    /// Most words in one `search`.
    pub max_search_words: usize,
    /// SSH public keys one user may register (`add-key`).
    pub max_ssh_keys: usize,
    /// Bytes the storage's cache of hot posts, board lists and users may
    /// hold (the server's memory follows this, not the size of the data).
    pub cache_bytes: usize,
    /// Where the file area keeps its files (`complete/`) and the parts of
    /// uploads not finished yet (`partial/`). `bbsd` puts it next to the
    /// database unless told otherwise.
    pub files_dir: PathBuf,
    /// Largest file `send-file` accepts, in bytes.
    pub max_file_size: u64,
    /// Bytes of files one user may keep in the file area.
    pub file_quota_per_user: u64,
    /// Bytes of files the whole file area may keep.
    pub file_quota_total: u64,
    /// File transfers running at once, in total and per user.
    pub max_transfers: usize,
    pub max_transfers_per_user: usize,
    /// A transfer that receives no datagram for this long ends (an upload
    /// keeps what arrived, so the same command resumes it).
    pub transfer_idle_timeout: Duration,
}

/// The cores this process may run on (2 if the system cannot tell): the
/// default for password hashers and for `bbsd`'s async workers.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_line: bbs_protocol::DEFAULT_MAX_LINE,
            hash_workers: cores(),
            hash_queue: 256,
            udp_reply_memory: Duration::from_secs(30),
            max_connections: 10_000,
            max_connections_per_ip: 64,
            idle_timeout_anonymous: Duration::from_secs(5 * 60),
            idle_timeout_logged_in: Duration::from_secs(60 * 60),
            max_pending_output: 1024 * 1024,
            write_timeout: Duration::from_secs(30),
            max_password: 512,
            cache_bytes: 64 * 1024 * 1024,
            login_rate_per_ip: Rate::new(60, Duration::from_secs(60)),
            login_rate_per_account: Rate::new(10, Duration::from_secs(60)),
            udp_rate_per_ip: Rate::new(100, Duration::from_secs(1)),
            max_udp_reply: bbs_protocol::udp::MAX_REPLY,
            push_queue: 256,
            heartbeat_interval: Duration::from_secs(5),
            node_lease: Duration::from_secs(15),
            max_message: 1000,
            tell_rate: Rate::new(30, Duration::from_secs(60)),
            yell_rate: Rate::new(5, Duration::from_secs(60)),
            max_waiting_messages: 100,
            max_mailbox: 1000,
            // A person writes a few posts or comments a minute; a burst of
            // 120 lets a pasted batch through, 2 a second after that.
            write_rate_per_account: Rate::new(120, Duration::from_secs(60)),
            // Many people may share one address (a campus, a NAT).
            write_rate_per_ip: Rate::new(1200, Duration::from_secs(60)),
            register_rate_per_ip: Rate::new(50, Duration::from_secs(60 * 60)),
            comment_rate: Rate::new(60, Duration::from_secs(60)),
            sysops: Vec::new(),
            recycle_days: 30,
            clock: Arc::new(SystemClock),
            data_dir: PathBuf::from("."),
            min_free_disk: 64 << 20,
            max_subscriptions: 100,
            max_keyword: 200,
            max_search_words: 10,
            max_ssh_keys: 16,
            files_dir: PathBuf::from("files"),
            max_file_size: 1 << 30,
            file_quota_per_user: 4 << 30,
            file_quota_total: 64 << 30,
            max_transfers: 64,
            max_transfers_per_user: 4,
            transfer_idle_timeout: Duration::from_secs(30),
        }
    }
}

/// A token-bucket rate: at most `burst` events at once, refilled at `burst`
/// per `period`. Written `BURST/SECONDS` on the command line (`60/60`:
/// sixty per minute; `100/1`; `5/0.5`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub burst: u32,
    pub period: Duration,
}

impl Rate {
    pub const fn new(burst: u32, period: Duration) -> Rate {
        Rate { burst, period }
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.burst, self.period.as_secs_f64())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("a rate is BURST/SECONDS, such as 60/60 or 100/1 (burst at least 1, seconds above 0)")]
pub struct RateSyntax;

impl FromStr for Rate {
    type Err = RateSyntax;

    fn from_str(s: &str) -> Result<Rate, RateSyntax> {
        let (burst, seconds) = s.split_once('/').ok_or(RateSyntax)?;
        let burst: u32 = burst.trim().parse().map_err(|_| RateSyntax)?;
        let seconds: f64 = seconds.trim().parse().map_err(|_| RateSyntax)?;
        if burst == 0 || !seconds.is_finite() || seconds <= 0.0 || seconds > 1e9 {
            return Err(RateSyntax);
        }
        Ok(Rate { burst, period: Duration::from_secs_f64(seconds) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_as_burst_per_seconds() {
        assert_eq!("60/60".parse::<Rate>().unwrap(), Rate::new(60, Duration::from_secs(60)));
        assert_eq!("5/0.5".parse::<Rate>().unwrap(), Rate::new(5, Duration::from_millis(500)));
        for bad in ["60", "0/1", "1/0", "x/1", "1/-1", "1/inf"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }
}
