//! [`ClusterStore`] for SQLite: in memory.
//!
//! A SQLite file is served by one `bbsd` at a time, so the "cluster" is one
//! node and nothing about live sessions has to leave the process or outlive
//! it: sessions, tokens and room keys are a map behind a mutex, and events
//! go to the feeds of this same store (only a test opens a second one).
//! Logging in therefore costs no disk write, as before. The chatroom
//! registry itself is durable (the `chatrooms` table): closing a room on
//! release, on a reaped node or at start-up goes through the writer.
//!
//! The semantics are those of the contract suite, which the PostgreSQL
//! backend passes as well: a node dies when its heartbeat is older than the
//! lease, which with one process only happens to nodes a test invented.

use std::collections::{BTreeMap, HashMap, HashSet};

use bbs_storage::{
    Beat, ClusterEvent, ClusterStore, EventFeed, LiveSession, NextEvent, NodeId, Result, SessionChanges, SessionRef,
};
use tokio::sync::mpsc;

use crate::SqliteStore;

/// Every node's sessions and heartbeat, the running rooms' keys and the
/// event feeds.
#[derive(Debug, Default)]
pub(crate) struct Nodes {
    /// Node → the Unix time (ms) of its latest heartbeat.
    seen: HashMap<NodeId, i64>,
    sessions: BTreeMap<SessionRef, LiveSession>,
    /// Token → the session it belongs to.
    tokens: HashMap<String, SessionRef>,
    /// User name → how many live sessions it has.
    online: HashMap<String, usize>,
    /// Owner → (the session running the room, its key).
    rooms: HashMap<String, (SessionRef, String)>,
    feeds: Vec<(NodeId, mpsc::UnboundedSender<ClusterEvent>)>,
}

impl Nodes {
    fn add_session(&mut self, session: LiveSession) {
        if let Some(old) = self.sessions.insert(session.at, session.clone()) {
            self.tokens.remove(&old.token);
            self.forget_name(&old.name);
        }
        self.tokens.insert(session.token, session.at);
        *self.online.entry(session.name).or_default() += 1;
    }

    fn forget_name(&mut self, name: &str) {
        if let Some(count) = self.online.get_mut(name) {
            *count -= 1;
            if *count == 0 {
                self.online.remove(name);
            }
        }
    }

    fn remove_session(&mut self, at: SessionRef) {
        if let Some(session) = self.sessions.remove(&at) {
            self.tokens.remove(&session.token);
            self.forget_name(&session.name);
        }
    }

    /// Removes `node` and its sessions; returns the owners of the rooms
    /// it ran (to be closed).
    fn remove_node(&mut self, node: NodeId) -> Vec<String> {
        self.seen.remove(&node);
        let gone: Vec<SessionRef> = self.sessions.keys().filter(|at| at.node == node).copied().collect();
        for at in gone {
            self.remove_session(at);
        }
        let owners: Vec<String> =
            self.rooms.iter().filter(|(_, (by, _))| by.node == node).map(|(owner, _)| owner.clone()).collect();
        for owner in &owners {
            self.rooms.remove(owner);
        }
        owners
    }

    fn sorted(&self, filter: impl Fn(&LiveSession) -> bool) -> Vec<LiveSession> {
        let mut sessions: Vec<LiveSession> = self.sessions.values().filter(|s| filter(s)).cloned().collect();
        sessions.sort_by_key(|s| (s.login_ms, s.at.node, s.at.session));
        sessions
    }
}

impl SqliteStore {
    /// Marks the chatrooms of `owners` closed, durably.
    async fn close_rooms(&self, owners: Vec<String>) -> Result<()> {
        if owners.is_empty() {
            return Ok(());
        }
        self.write(move |c| {
            let mut close = c.prepare_cached("UPDATE chatrooms SET open = 0 WHERE owner = ?1")?;
            for owner in &owners {
                close.execute([owner])?;
            }
            Ok(())
        })
        .await
    }
}

impl ClusterStore for SqliteStore {
    async fn join_cluster(&self, node: NodeId, now_ms: i64) -> Result<()> {
        self.nodes().seen.insert(node, now_ms);
        Ok(())
    }

    async fn leave_cluster(&self, node: NodeId) -> Result<()> {
        let owners = self.nodes().remove_node(node);
        self.close_rooms(owners).await
    }

    async fn heartbeat(&self, node: NodeId, now_ms: i64, lease_ms: i64) -> Result<Beat> {
        let (beat, owners) = {
            let mut nodes = self.nodes();
            let rejoined = nodes.seen.insert(node, now_ms).is_none();
            let mut reaped: Vec<NodeId> =
                nodes.seen.iter().filter(|(_, seen)| **seen < now_ms - lease_ms).map(|(id, _)| *id).collect();
            reaped.sort_unstable();
            let owners: Vec<String> = reaped.iter().flat_map(|id| nodes.remove_node(*id)).collect();
            (Beat { rejoined, reaped }, owners)
        };
        self.close_rooms(owners).await?;
        Ok(beat)
    }

    async fn update_sessions(&self, node: NodeId, changes: SessionChanges) -> Result<()> {
        let mut nodes = self.nodes();
        for session in changes.arrivals {
            nodes.add_session(session);
        }
        for (session, at) in changes.touched {
            if let Some(live) = nodes.sessions.get_mut(&SessionRef { node, session }) {
                live.last_command = at;
            }
        }
        for session in changes.departures {
            nodes.remove_session(SessionRef { node, session });
        }
        Ok(())
    }

    async fn live_sessions(&self) -> Result<Vec<LiveSession>> {
        Ok(self.nodes().sorted(|_| true))
    }

    async fn is_online(&self, name: &str) -> Result<bool> {
        Ok(self.nodes().online.contains_key(name))
    }

    async fn online_among(&self, names: &[String]) -> Result<Vec<String>> {
        let nodes = self.nodes();
        let unique: HashSet<&String> = names.iter().filter(|name| nodes.online.contains_key(*name)).collect();
        Ok(unique.into_iter().cloned().collect())
    }

    async fn session_of_token(&self, token: &str) -> Result<Option<LiveSession>> {
        let nodes = self.nodes();
        Ok(nodes.tokens.get(token).and_then(|at| nodes.sessions.get(at)).cloned())
    }

    async fn claim_room(&self, owner: &str, by: SessionRef, key: &str) -> Result<()> {
        self.nodes().rooms.insert(owner.to_owned(), (by, key.to_owned()));
        Ok(())
    }

    async fn room_key(&self, owner: &str) -> Result<Option<String>> {
        Ok(self.nodes().rooms.get(owner).map(|(_, key)| key.clone()))
    }

    async fn release_room(&self, owner: &str, by: SessionRef) -> Result<bool> {
        let owned = {
            let mut nodes = self.nodes();
            let owned = nodes.rooms.get(owner).is_some_and(|(runner, _)| *runner == by);
            if owned {
                nodes.rooms.remove(owner);
            }
            owned
        };
        if owned {
            self.close_rooms(vec![owner.to_owned()]).await?;
        }
        Ok(owned)
    }

    async fn close_orphaned_chatrooms(&self) -> Result<()> {
        let running: HashSet<String> = self.nodes().rooms.keys().cloned().collect();
        self.write(move |c| {
            let open: Vec<String> = c
                .prepare_cached("SELECT owner FROM chatrooms WHERE open = 1")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut close = c.prepare_cached("UPDATE chatrooms SET open = 0 WHERE owner = ?1")?;
            for owner in open.iter().filter(|owner| !running.contains(*owner)) {
                close.execute([owner])?;
            }
            Ok(())
        })
        .await
    }

    async fn publish_event(&self, event: ClusterEvent) -> Result<()> {
        let mut nodes = self.nodes();
        nodes.feeds.retain(|(node, feed)| *node == event.origin || feed.send(event.clone()).is_ok());
        Ok(())
    }

    async fn listen_events(&self, node: NodeId) -> Result<Box<dyn EventFeed>> {
        let (sender, receiver) = mpsc::unbounded_channel();
        self.nodes().feeds.push((node, sender));
        Ok(Box::new(Feed(receiver)))
    }
}

/// One node's feed of the other nodes' events.
struct Feed(mpsc::UnboundedReceiver<ClusterEvent>);

impl EventFeed for Feed {
    fn next(&mut self) -> NextEvent<'_> {
        Box::pin(self.0.recv())
    }
}
