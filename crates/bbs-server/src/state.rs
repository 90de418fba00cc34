//! What every session of one server process shares.

use std::net::IpAddr;
use std::sync::Arc;

use crate::auth::Hasher;
use crate::config::Config;
use crate::disk_guard::DiskGuard;
use crate::events::{EventBus, LocalBus};
use crate::rate::RateLimiter;
use crate::rooms::LiveRooms;
use crate::session::Sessions;
use crate::transfers::{FileArea, Transfers};

/// State every door, session and command reaches through one `Arc`.
pub(crate) struct Shared<S> {
    pub(crate) store: S,
    pub(crate) config: Config,
    /// Live sessions: tokens, and the inboxes pushes go to.
    pub(crate) sessions: Arc<Sessions>,
    /// Where commands publish what other people must see at once.
    pub(crate) events: Arc<dyn EventBus>,
    pub(crate) hasher: Hasher,
    pub(crate) login_per_ip: RateLimiter<IpAddr>,
    pub(crate) login_per_account: RateLimiter<String>,
    /// `tell`s and `yell`s per user name.
    pub(crate) tell_rate: RateLimiter<String>,
    pub(crate) yell_rate: RateLimiter<String>,
    /// Writes (posts, comments, boards, mails) per user name and per address.
    pub(crate) write_per_account: RateLimiter<String>,
    pub(crate) write_per_ip: RateLimiter<IpAddr>,
    /// Comments of any kind (→, 推, 噓) per user name.
    pub(crate) comment_rate: RateLimiter<String>,
    /// Registrations per address.
    pub(crate) register_per_ip: RateLimiter<IpAddr>,
    /// Refuses writes while the data directory's disk is short of space.
    pub(crate) disk: Arc<DiskGuard>,
    /// Running chatrooms' keys and owners (the registry itself is stored).
    pub(crate) rooms: LiveRooms,
    /// Open file transfers (their datagrams come through the UDP door).
    pub(crate) transfers: Arc<Transfers>,
    /// Where files are kept.
    pub(crate) files: FileArea,
}

impl<S> Shared<S> {
    pub(crate) fn new(store: S, config: Config) -> Shared<S> {
        let sessions = Sessions::new(config.push_queue);
        Shared {
            store,
            events: Arc::new(LocalBus::new(Arc::clone(&sessions))),
            sessions,
            hasher: Hasher::new(config.hash_workers, config.hash_queue),
            login_per_ip: RateLimiter::new(config.login_rate_per_ip),
            login_per_account: RateLimiter::new(config.login_rate_per_account),
            tell_rate: RateLimiter::new(config.tell_rate),
            yell_rate: RateLimiter::new(config.yell_rate),
            write_per_account: RateLimiter::new(config.write_rate_per_account),
            write_per_ip: RateLimiter::new(config.write_rate_per_ip),
            comment_rate: RateLimiter::new(config.comment_rate),
            register_per_ip: RateLimiter::new(config.register_rate_per_ip),
            disk: Arc::new(DiskGuard::new(&config.data_dir, config.min_free_disk)),
            rooms: LiveRooms::default(),
            transfers: Arc::default(),
            files: FileArea::new(&config.files_dir),
            config,
        }
    }
}
