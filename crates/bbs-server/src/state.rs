//! What every session of one server process shares.

use std::sync::{Arc, RwLock};

use crate::activity::PostActivity;
use crate::auth::Hasher;
use crate::config::Config;
use crate::disk_guard::DiskGuard;
use bbs_storage::Store;

use crate::events::{ClusterBus, EventBus, LocalBus};
use crate::rate::{ClientKey, ConnectionCount, RateLimiter};
use crate::rooms::LiveRooms;
use crate::session::Sessions;
use crate::transfers::{FileArea, Transfers};

/// State every door, session and command reaches through one `Arc`.
pub(crate) struct Shared<S> {
    pub(crate) store: S,
    /// The configuration the server started with. Limits that a reload
    /// may change are read through [`Shared::limits`] instead.
    pub(crate) config: Config,
    /// The configuration now in force (see [`Shared::reload`]).
    live: RwLock<Arc<Config>>,
    /// Open connections of every TCP door, in total and per address.
    pub(crate) connections: Arc<ConnectionCount>,
    /// UDP datagrams per address, over every UDP socket.
    pub(crate) udp_per_ip: RateLimiter<ClientKey>,
    /// Live sessions: tokens, and the inboxes pushes go to.
    pub(crate) sessions: Arc<Sessions>,
    /// Where commands publish what other people must see at once: this
    /// process's sessions directly, the others' through the store.
    pub(crate) events: Arc<dyn EventBus>,
    pub(crate) hasher: Hasher,
    pub(crate) login_per_ip: RateLimiter<ClientKey>,
    pub(crate) login_per_account: RateLimiter<String>,
    /// `tell`s and `yell`s per user name.
    pub(crate) tell_rate: RateLimiter<String>,
    pub(crate) yell_rate: RateLimiter<String>,
    /// Writes (posts, comments, boards, mails) per user name and per address.
    pub(crate) write_per_account: RateLimiter<String>,
    pub(crate) write_per_ip: RateLimiter<ClientKey>,
    /// Comments of any kind (→, 推, 噓) per user name.
    pub(crate) comment_rate: RateLimiter<String>,
    /// Registrations per address.
    pub(crate) register_per_ip: RateLimiter<ClientKey>,
    /// Refuses writes while the data directory's disk is short of space.
    pub(crate) disk: Arc<DiskGuard>,
    /// Ports sessions of this process were told to bind for a chatroom
    /// (the registry and the running rooms' keys are in the store).
    pub(crate) rooms: LiveRooms,
    /// Open file transfers (their datagrams come through the UDP door).
    pub(crate) transfers: Arc<Transfers>,
    /// Where files are kept.
    pub(crate) files: FileArea,
    /// The newest post of each board, for screens that show lists.
    pub(crate) activity: PostActivity,
}

impl<S: Store> Shared<S> {
    pub(crate) fn new(store: S, config: Config) -> Shared<S> {
        let sessions = Sessions::new(config.push_queue);
        let events = ClusterBus::new(LocalBus::new(Arc::clone(&sessions)), store.clone(), sessions.node());
        Shared {
            store,
            events: Arc::new(events),
            sessions,
            hasher: Hasher::new(config.hash_workers, config.hash_queue),
            live: RwLock::new(Arc::new(config.clone())),
            connections: ConnectionCount::new(config.max_connections, config.max_connections_per_ip),
            udp_per_ip: RateLimiter::new(config.udp_rate_per_ip),
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
            activity: PostActivity::default(),
            config,
        }
    }
}

impl<S> Shared<S> {
    /// The limits in force now; a command or connection reads them once
    /// and keeps that snapshot while it runs.
    pub(crate) fn limits(&self) -> Arc<Config> {
        Arc::clone(&self.live.read().expect("config lock"))
    }

    /// Puts `config`'s limits in force for every new command and
    /// connection: the caps, timeouts and sizes read through
    /// [`Shared::limits`], the rate limits and the connection caps. Sockets,
    /// the database, the cache, the hashers and the file area keep what
    /// they started with.
    pub(crate) fn reload(&self, config: Config) {
        self.connections.set_limits(config.max_connections, config.max_connections_per_ip);
        self.udp_per_ip.set_rate(config.udp_rate_per_ip);
        self.login_per_ip.set_rate(config.login_rate_per_ip);
        self.login_per_account.set_rate(config.login_rate_per_account);
        self.tell_rate.set_rate(config.tell_rate);
        self.yell_rate.set_rate(config.yell_rate);
        self.write_per_account.set_rate(config.write_rate_per_account);
        self.write_per_ip.set_rate(config.write_rate_per_ip);
        self.register_per_ip.set_rate(config.register_rate_per_ip);
        self.comment_rate.set_rate(config.comment_rate);
        *self.live.write().expect("config lock") = Arc::new(config);
    }
}
