//! Who is on the other end of a session, and the registry that reaches
//! every live session of a user.
//!
//! A session's state is a type: [`Session::Anonymous`] until a login,
//! then [`Session::LoggedIn`], which owns the session's entry in the
//! registry ([`Sessions`]): its login token and its push inbox. Dropping a
//! `LoggedIn` (logout, or the connection ending in any way) removes both at
//! once, so no code path can leave a token alive or a dead inbox
//! registered.
//!
//! Every login and logout is also told, in order, to the cluster task
//! ([`crate::cluster`]), which records it in the store, so the other server
//! processes of the BBS see the session (presence, its UDP token). A login
//! waits until that is done ([`LoggedIn::announced`]); a logout does not.
//!
//! Each inbox is a bounded channel. [`Sessions::push`] never waits: a
//! session whose inbox is full (its peer stopped reading, so its connection
//! stopped draining the inbox) loses its registration, which wakes
//! [`Session::evicted`] so its connection ends at once, and nobody else is
//! slowed down.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bbs_protocol::Push;
use bbs_storage::{LiveSession, NodeId, SessionRef};
use tokio::sync::{mpsc, oneshot};

use crate::auth::new_token;

/// The state of one session (a TCP connection, or later an SSH channel or
/// a WebSocket).
#[derive(Debug, Default)]
pub enum Session {
    #[default]
    Anonymous,
    LoggedIn(LoggedIn),
    /// A UDP datagram that carried a live login token: the user it names,
    /// without a connection or an inbox of its own.
    Datagram(User),
}

/// Who a logged-in session belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    /// The UDP token given at login; dies with the session.
    pub token: String,
    /// The session, among those of every server process.
    pub at: SessionRef,
}

/// A logged-in session: its user, and what the server pushes to it.
#[derive(Debug)]
pub struct LoggedIn {
    pub user: User,
    /// Unix time (seconds) of the session's last command, shared with its
    /// registry entry: the engine stores, `list-online` loads, no lock.
    last_command: Arc<AtomicU64>,
    inbox: mpsc::Receiver<Push>,
    /// Resolves when the registry lets go of this session, with the words
    /// to close it with if it was ended on purpose ([`Sessions::end_user`]).
    evicted: oneshot::Receiver<String>,
    /// Those words, once `evicted` resolved with them.
    ended_because: Option<String>,
    /// Resolves once the store knows of the session (see [`Sessions`]).
    announced: Option<oneshot::Receiver<()>>,
    _entry: Registration,
}

impl LoggedIn {
    /// Waits until every server process can see this session (its token
    /// works on any of them), or the cluster task gave up on telling them.
    pub async fn announced(&mut self) {
        if let Some(announced) = self.announced.take() {
            let _ = announced.await;
        }
    }
}

impl Session {
    pub fn user(&self) -> Option<&User> {
        match self {
            Session::Anonymous => None,
            Session::LoggedIn(session) => Some(&session.user),
            Session::Datagram(user) => Some(user),
        }
    }

    /// Notes that the peer just sent a command (for the idle time that
    /// `list-online` shows). One atomic store; nothing for other sessions.
    pub fn touch(&self) {
        if let Session::LoggedIn(session) = self {
            session.last_command.store(unix_now(), Ordering::Relaxed);
        }
    }

    /// Why the server ended this session on purpose (a suspension), once
    /// [`Session::next_push`] said it ended.
    pub fn ended_because(&self) -> Option<&str> {
        match self {
            Session::LoggedIn(session) => session.ended_because.as_deref(),
            Session::Anonymous | Session::Datagram(_) => None,
        }
    }

    /// Whether the session has an inbox to read pushes from.
    pub fn has_inbox(&self) -> bool {
        matches!(self, Session::LoggedIn(_))
    }

    /// The next push for this session (only while `take_push`: a
    /// connection whose output is full stops taking them), or `None` once
    /// the registry dropped the session because its inbox overflowed: its
    /// connection must then end, whatever is still queued. Never resolves
    /// for a session without an inbox.
    pub async fn next_push(&mut self, take_push: bool) -> Option<Push> {
        match self {
            Session::LoggedIn(session) => {
                let ended = tokio::select! {
                    biased;
                    why = &mut session.evicted => why,
                    Some(push) = session.inbox.recv(), if take_push => return Some(push),
                };
                session.ended_because = ended.ok();
                None
            }
            Session::Anonymous | Session::Datagram(_) => std::future::pending().await,
        }
    }
}

/// One live session, as `list-online` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Grows with each login: sessions of one user keep their login order.
    pub id: u64,
    pub name: String,
    pub peer: SocketAddr,
    /// Unix time in seconds.
    pub last_command: u64,
}

/// Unix time now, in seconds.
fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Unix time now, in milliseconds.
pub(crate) fn unix_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Every live logged-in session of this process: login tokens (for the
/// UDP side) and push inboxes by user name.
#[derive(Debug)]
pub struct Sessions {
    inner: Mutex<Registry>,
    inbox_capacity: usize,
    /// This process among the server processes of the BBS.
    node: NodeId,
    /// Logins and logouts, in order, for the cluster task.
    changes: mpsc::UnboundedSender<Change>,
    /// The receiving end, until the cluster task takes it.
    pending: Mutex<Option<mpsc::UnboundedReceiver<Change>>>,
}

/// A login or a logout of this process, as the cluster task learns of it.
#[derive(Debug)]
pub(crate) enum Change {
    /// A new session; the sender is answered once the store knows it.
    Arrived(LiveSession, oneshot::Sender<()>),
    /// A session ended (by this process's number for it).
    Departed(u64),
}

#[derive(Debug, Default)]
struct Registry {
    tokens: HashMap<String, TokenOwner>,
    /// User name → the inboxes of that user's sessions.
    inboxes: HashMap<String, Vec<InboxEntry>>,
    next_id: u64,
}

#[derive(Debug)]
struct InboxEntry {
    session: u64,
    /// The peer's address as the server saw it.
    peer: SocketAddr,
    token: String,
    /// Unix time of the login, in milliseconds.
    login_ms: i64,
    last_command: Arc<AtomicU64>,
    sender: mpsc::Sender<Push>,
    /// Dropped with the entry, which wakes the session's `evicted`; or
    /// sent the words to close it with.
    evict: oneshot::Sender<String>,
}

#[derive(Debug, Clone)]
struct TokenOwner {
    name: String,
    ip: IpAddr,
    session: u64,
}

/// A session's place in the registry; removes it when dropped.
#[derive(Debug)]
struct Registration {
    sessions: Arc<Sessions>,
    id: u64,
    name: String,
    token: String,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut registry = self.sessions.lock();
        registry.tokens.remove(&self.token);
        registry.remove_inbox(&self.name, self.id);
        drop(registry);
        let _ = self.sessions.changes.send(Change::Departed(self.id));
    }
}

impl Registry {
    fn remove_inbox(&mut self, name: &str, id: u64) {
        if let Some(inboxes) = self.inboxes.get_mut(name) {
            inboxes.retain(|entry| entry.session != id);
            if inboxes.is_empty() {
                self.inboxes.remove(name);
            }
        }
    }
}

impl Sessions {
    /// An empty registry whose inboxes hold `inbox_capacity` pushes each.
    /// The process's node id is chosen at random.
    pub fn new(inbox_capacity: usize) -> Arc<Sessions> {
        let (changes, pending) = mpsc::unbounded_channel();
        // Positive, to read well in the database.
        let node = i64::try_from(rand::random::<u64>() >> 1).unwrap_or(1);
        Arc::new(Sessions {
            inner: Mutex::default(),
            inbox_capacity: inbox_capacity.max(1),
            node,
            changes,
            pending: Mutex::new(Some(pending)),
        })
    }

    /// This process's node id.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The logins and logouts to tell the store about, once (for the
    /// cluster task).
    pub(crate) fn take_changes(&self) -> Option<mpsc::UnboundedReceiver<Change>> {
        self.pending.lock().expect("pending changes lock").take()
    }

    /// Every live session of this process as the store records it.
    pub(crate) fn live(&self) -> Vec<LiveSession> {
        let registry = self.lock();
        let mut live: Vec<LiveSession> = registry
            .inboxes
            .iter()
            .flat_map(|(name, entries)| entries.iter().map(move |entry| self.describe(name, entry)))
            .collect();
        live.sort_unstable_by_key(|s| s.at.session);
        live
    }

    /// The last-command time of every live session of this process, by
    /// its number (for the heartbeat: no names or tokens copied).
    pub(crate) fn idle_times(&self) -> Vec<(u64, i64)> {
        let registry = self.lock();
        registry
            .inboxes
            .values()
            .flatten()
            .map(|entry| (entry.session, i64::try_from(entry.last_command.load(Ordering::Relaxed)).unwrap_or(i64::MAX)))
            .collect()
    }

    fn describe(&self, name: &str, entry: &InboxEntry) -> LiveSession {
        LiveSession {
            at: SessionRef { node: self.node, session: entry.session },
            name: name.to_owned(),
            token: entry.token.clone(),
            peer: entry.peer.to_string(),
            login_ms: entry.login_ms,
            last_command: i64::try_from(entry.last_command.load(Ordering::Relaxed)).unwrap_or(i64::MAX),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.inner.lock().expect("sessions lock")
    }

    /// Logs `name` in from `peer`: a fresh token and an inbox.
    pub fn open(self: &Arc<Self>, name: &str, peer: SocketAddr) -> LoggedIn {
        let token = new_token();
        let (sender, inbox) = mpsc::channel(self.inbox_capacity);
        let (evict, evicted) = oneshot::channel();
        let last_command = Arc::new(AtomicU64::new(unix_now()));
        let (announce, announced) = oneshot::channel();
        let id = {
            let mut registry = self.lock();
            let id = registry.next_id;
            registry.next_id += 1;
            registry.tokens.insert(token.clone(), TokenOwner { name: name.to_owned(), ip: peer.ip(), session: id });
            let entry = InboxEntry {
                session: id,
                peer,
                token: token.clone(),
                login_ms: unix_now_ms(),
                last_command: Arc::clone(&last_command),
                sender,
                evict,
            };
            // Sent under the lock, so the cluster task learns of logins
            // and logouts in the order they happened.
            let _ = self.changes.send(Change::Arrived(self.describe(name, &entry), announce));
            registry.inboxes.entry(name.to_owned()).or_default().push(entry);
            id
        };
        let entry = Registration { sessions: Arc::clone(self), id, name: name.to_owned(), token: token.clone() };
        let at = SessionRef { node: self.node, session: id };
        LoggedIn {
            user: User { name: name.to_owned(), token, at },
            last_command,
            inbox,
            evicted,
            ended_because: None,
            announced: Some(announced),
            _entry: entry,
        }
    }

    /// Every live session: who, from where, and when its last command came,
    /// in login order.
    pub fn list(&self) -> Vec<SessionInfo> {
        let registry = self.lock();
        let mut list: Vec<SessionInfo> = registry
            .inboxes
            .iter()
            .flat_map(|(name, entries)| {
                entries.iter().map(move |entry| SessionInfo {
                    id: entry.session,
                    name: name.clone(),
                    peer: entry.peer,
                    last_command: entry.last_command.load(Ordering::Relaxed),
                })
            })
            .collect();
        drop(registry);
        list.sort_unstable_by_key(|info| info.id);
        list
    }

    /// Names of every user with a live session.
    pub fn online_users(&self) -> Vec<String> {
        self.lock().inboxes.keys().cloned().collect()
    }

    /// The user of a token, if it is live and used from the address that
    /// logged in (a token seen on the wire is useless elsewhere).
    pub fn user_of_token(&self, token: &str, from: IpAddr) -> Option<User> {
        let registry = self.lock();
        registry.tokens.get(token).filter(|owner| owner.ip == from).map(|owner| User {
            name: owner.name.clone(),
            token: token.to_owned(),
            at: SessionRef { node: self.node, session: owner.session },
        })
    }

    /// Delivers `push` to every live session of `name`, without waiting;
    /// returns how many sessions took it. A session whose inbox is full is
    /// dropped from the registry (its connection then ends).
    pub fn push(&self, name: &str, push: &Push) -> usize {
        let mut registry = self.lock();
        let Some(inboxes) = registry.inboxes.get_mut(name) else { return 0 };
        let mut delivered = 0;
        inboxes.retain(|entry| match entry.sender.try_send(push.clone()) {
            Ok(()) => {
                delivered += 1;
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::info!(user = name, session = entry.session, "push inbox full: ending the session");
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
        if inboxes.is_empty() {
            registry.inboxes.remove(name);
        }
        delivered
    }

    /// Delivers `push` to every live session, as [`Sessions::push`] does for
    /// one user; returns how many took it.
    pub fn push_everyone(&self, push: &Push) -> usize {
        let names: Vec<String> = self.lock().inboxes.keys().cloned().collect();
        names.iter().map(|name| self.push(name, push)).sum()
    }

    /// Ends every session of `name`: each connection closes with `why`.
    /// Returns how many there were.
    pub fn end_user(&self, name: &str, why: &str) -> usize {
        let entries = self.lock().inboxes.remove(name).unwrap_or_default();
        let ended = entries.len();
        for entry in entries {
            let _ = entry.evict.send(why.to_owned());
        }
        ended
    }

    /// How many sessions `name` has open now.
    pub fn online(&self, name: &str) -> usize {
        self.lock().inboxes.get(name).map_or(0, Vec::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_dropped_session_takes_its_token_and_inbox_with_it() {
        let sessions = Sessions::new(4);
        let ip: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let mut session = Session::LoggedIn(sessions.open("ann", ip));
        let token = session.user().unwrap().token.clone();
        assert_eq!(sessions.user_of_token(&token, ip.ip()).map(|u| u.name).as_deref(), Some("ann"));
        assert_eq!(sessions.user_of_token(&token, "127.0.0.2".parse().unwrap()), None);
        assert_eq!(sessions.push("ann", &Push::new("hi")), 1);
        assert_eq!(session.next_push(true).await, Some(Push::new("hi")));
        session = Session::Anonymous;
        assert!(session.user().is_none());
        assert_eq!(sessions.user_of_token(&token, ip.ip()), None);
        assert_eq!(sessions.push("ann", &Push::new("hi")), 0);
        assert_eq!(sessions.online("ann"), 0);
    }

    #[tokio::test]
    async fn a_full_inbox_ends_only_its_own_session() {
        let sessions = Sessions::new(2);
        let ip: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let mut slow = Session::LoggedIn(sessions.open("ann", ip));
        let mut quick = Session::LoggedIn(sessions.open("ann", ip));
        for n in 0..2 {
            assert_eq!(sessions.push("ann", &Push::new(n.to_string())), 2);
            assert_eq!(quick.next_push(true).await, Some(Push::new(n.to_string())));
        }
        assert_eq!(sessions.push("ann", &Push::new("2")), 1, "the slow inbox is full");
        assert_eq!(quick.next_push(true).await, Some(Push::new("2")));
        assert_eq!(slow.next_push(false).await, None, "the slow session learns at once that it was dropped");
        assert_eq!(sessions.push("ann", &Push::new("3")), 1, "the quick one is still there");
        assert_eq!(quick.next_push(true).await, Some(Push::new("3")));
        assert_eq!(sessions.online("ann"), 1);
    }
}
