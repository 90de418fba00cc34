//! What the server processes of one BBS share about live sessions, so that
//! several `bbsd` on one database behave as one BBS: who is logged in where
//! (presence for `list-online`, `tell`, `yell`), the login tokens a UDP
//! datagram may carry to any process, the keys of running chatrooms, and
//! the live events one process publishes for sessions of another.
//!
//! Each server process is a *node* with an id of its own (random, chosen
//! at start). A node keeps its row alive with [`ClusterStore::heartbeat`];
//! a node whose heartbeat is older than the lease is dead (killed, frozen,
//! cut off): the next heartbeat of any live node removes it, its sessions
//! and its tokens, and closes the chatrooms its sessions ran. So a crashed
//! process's users leave `list-online` within one lease plus one heartbeat
//! interval.
//!
//! Times are passed in by the caller (milliseconds since the Unix epoch),
//! so the contract suite can move a clock by hand; processes on several
//! machines must keep their clocks in step (NTP), as the lease is compared
//! across them.
//!
//! None of this has to survive a restart of the database: a backend may
//! keep it in memory when it is only ever used by one process (SQLite), and
//! a shared backend need not make these writes durable one by one.

use std::future::Future;
use std::pin::Pin;

use crate::{Result, Timestamp};

/// One server process, for as long as it runs.
pub type NodeId = i64;

/// One live session of a node: the node's own number for it grows with
/// each login on that node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionRef {
    pub node: NodeId,
    pub session: u64,
}

/// A logged-in session as every node sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    pub at: SessionRef,
    pub name: String,
    /// The login token UDP datagrams may carry.
    pub token: String,
    /// The peer's address (`ip:port`) as its node saw it.
    pub peer: String,
    /// When the session logged in (milliseconds): orders sessions of
    /// several nodes.
    pub login_ms: i64,
    /// Unix time (seconds) of its last command, as of its node's latest
    /// heartbeat.
    pub last_command: Timestamp,
}

/// What changed among one node's sessions since it last said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionChanges {
    /// New sessions (their `at.node` is the node's).
    pub arrivals: Vec<LiveSession>,
    /// Sessions that ended, by the node's number.
    pub departures: Vec<u64>,
    /// New `last_command` times, by the node's number.
    pub touched: Vec<(u64, Timestamp)>,
}

impl SessionChanges {
    pub fn is_empty(&self) -> bool {
        self.arrivals.is_empty() && self.departures.is_empty() && self.touched.is_empty()
    }
}

/// What a heartbeat found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Beat {
    /// The node's own row was gone (it had been taken for dead): it is
    /// back, empty, and the node must announce its sessions again.
    pub rejoined: bool,
    /// Nodes found dead and removed, with their sessions.
    pub reaped: Vec<NodeId>,
}

/// Who a live event is for (the stored form of the server's audience).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventAudience {
    User(String),
    Users(Vec<String>),
    Everyone,
    /// Not a message: every session of this user ends, with the event's
    /// text as its last words (a suspension made on another process).
    EndSessionsOf(String),
}

/// A live event one node publishes for the sessions of the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterEvent {
    /// The node that published it (and already delivered it to its own
    /// sessions).
    pub origin: NodeId,
    pub audience: EventAudience,
    pub text: String,
}

/// The future of [`EventFeed::next`].
pub type NextEvent<'a> = Pin<Box<dyn Future<Output = Option<ClusterEvent>> + Send + 'a>>;

/// The events other nodes publish, in the order they were published
/// (so one publisher's events to one user keep their order). A shared
/// backend reconnects by itself and catches up on what it missed meanwhile.
pub trait EventFeed: Send {
    /// The next event; `None` once the store has shut down.
    fn next(&mut self) -> NextEvent<'_>;
}

/// Sessions, tokens, running chatrooms and live events shared by every
/// server process of one BBS (see the module documentation).
pub trait ClusterStore: Send + Sync {
    /// Adds the node `node`, alive at `now_ms`.
    fn join_cluster(&self, node: NodeId, now_ms: i64) -> impl Future<Output = Result<()>> + Send;
    /// Removes `node` at once (an orderly shutdown): its sessions, tokens
    /// and running chatrooms go with it.
    fn leave_cluster(&self, node: NodeId) -> impl Future<Output = Result<()>> + Send;
    /// Keeps `node` alive at `now_ms` and removes every node whose latest
    /// heartbeat is older than `now_ms - lease_ms` (see [`Beat`]).
    fn heartbeat(&self, node: NodeId, now_ms: i64, lease_ms: i64) -> impl Future<Output = Result<Beat>> + Send;
    /// Records what changed among `node`'s sessions, in this order:
    /// arrivals, touches, departures.
    fn update_sessions(&self, node: NodeId, changes: SessionChanges) -> impl Future<Output = Result<()>> + Send;
    /// Every live session of every live node, in login order.
    fn live_sessions(&self) -> impl Future<Output = Result<Vec<LiveSession>>> + Send;
    /// Whether `name` has a live session on any node.
    fn is_online(&self, name: &str) -> impl Future<Output = Result<bool>> + Send;
    /// Those of `names` with a live session on any node, each once, in
    /// any order.
    fn online_among(&self, names: &[String]) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// The live session a login token belongs to.
    fn session_of_token(&self, token: &str) -> impl Future<Output = Result<Option<LiveSession>>> + Send;

    /// Records that session `by` runs `owner`'s chatroom with room key
    /// `key` (hex), replacing any earlier key of that room.
    fn claim_room(&self, owner: &str, by: SessionRef, key: &str) -> impl Future<Output = Result<()>> + Send;
    /// The key of `owner`'s running chatroom, if a live session runs it.
    fn room_key(&self, owner: &str) -> impl Future<Output = Result<Option<String>>> + Send;
    /// If session `by` runs `owner`'s chatroom: forgets its key, marks the
    /// room closed and answers `true`; otherwise changes nothing.
    fn release_room(&self, owner: &str, by: SessionRef) -> impl Future<Output = Result<bool>> + Send;
    /// Marks closed every open chatroom that no live session runs (at
    /// start-up: the rooms of sessions that are really gone, and only
    /// those).
    fn close_orphaned_chatrooms(&self) -> impl Future<Output = Result<()>> + Send;

    /// Hands `event` to every other node's feed (never back to its origin).
    fn publish_event(&self, event: ClusterEvent) -> impl Future<Output = Result<()>> + Send;
    /// The events of every node but `node`, from now on.
    fn listen_events(&self, node: NodeId) -> impl Future<Output = Result<Box<dyn EventFeed>>> + Send;
}
