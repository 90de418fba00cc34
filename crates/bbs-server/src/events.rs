//! The event layer: how a command reaches people who did not ask, such as
//! the recipient of a message or the subscribers of a board.
//!
//! Commands publish to an [`Audience`]; they never hold a list of sessions.
//! An [`EventBus`] delivers what is published to every live session of that
//! audience, in every server process: [`LocalBus`] does it inside one
//! process, through the session registry's inboxes; [`ClusterBus`] does that
//! too and hands the event to the store for the other server processes of
//! the BBS (PostgreSQL `LISTEN/NOTIFY`; see [`crate::cluster`]), so command
//! code does not change when the server grows past one machine.
//!
//! Publishing never waits for a slow session (see [`crate::session`]) and
//! keeps the order of what one publisher sends to one user. It is live
//! delivery only: whatever must survive the recipient being offline (a
//! waiting message, a missed notification) is written to the store first,
//! by the command, before it publishes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bbs_protocol::Push;
use bbs_storage::{ClusterEvent, EventAudience, NodeId, Store};

use crate::session::Sessions;

/// Who an event is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Every session of one user.
    User(String),
    /// Every session of each of these users (subscribers of a board, say).
    Users(Vec<String>),
    /// Every logged-in session.
    Everyone,
    /// Not a message: every session of this user, on every process, ends
    /// with the push's text as its last words (a suspension).
    EndSessionsOf(String),
}

/// The future returned by [`EventBus::publish`].
pub type Publishing<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Delivers events to the live sessions of an audience, wherever they are.
pub trait EventBus: Send + Sync + 'static {
    /// Delivers `push` to every live session of `to`. Resolves once the
    /// event is handed over (to local inboxes, or to the shared channel),
    /// never after waiting for a recipient to read it.
    fn publish(&self, to: Audience, push: Push) -> Publishing<'_>;
}

/// The bus of one server process: straight into the local inboxes.
#[derive(Debug, Clone)]
pub struct LocalBus {
    sessions: Arc<Sessions>,
}

impl LocalBus {
    pub fn new(sessions: Arc<Sessions>) -> LocalBus {
        LocalBus { sessions }
    }

    /// Delivers at once; returns how many sessions took the push.
    pub fn deliver(&self, to: &Audience, push: &Push) -> usize {
        match to {
            Audience::User(name) => self.sessions.push(name, push),
            Audience::Users(names) => names.iter().map(|name| self.sessions.push(name, push)).sum(),
            Audience::Everyone => self.sessions.push_everyone(push),
            Audience::EndSessionsOf(name) => self.sessions.end_user(name, &push.text),
        }
    }
}

impl EventBus for LocalBus {
    fn publish(&self, to: Audience, push: Push) -> Publishing<'_> {
        self.deliver(&to, &push);
        Box::pin(std::future::ready(()))
    }
}

/// Delivers to this process's sessions at once, and hands the event to the
/// store for the sessions of every other process.
pub(crate) struct ClusterBus<S> {
    local: LocalBus,
    store: S,
    node: NodeId,
}

impl<S> ClusterBus<S> {
    pub(crate) fn new(local: LocalBus, store: S, node: NodeId) -> ClusterBus<S> {
        ClusterBus { local, store, node }
    }
}

impl<S: Store> EventBus for ClusterBus<S> {
    fn publish(&self, to: Audience, push: Push) -> Publishing<'_> {
        self.local.deliver(&to, &push);
        let audience = match to {
            Audience::User(name) => EventAudience::User(name),
            Audience::Users(names) => EventAudience::Users(names),
            Audience::Everyone => EventAudience::Everyone,
            Audience::EndSessionsOf(name) => EventAudience::EndSessionsOf(name),
        };
        let event = ClusterEvent { origin: self.node, audience, text: push.text };
        Box::pin(async move {
            if let Err(e) = self.store.publish_event(event).await {
                tracing::warn!(error = %e, "cannot hand a live event to the other server processes");
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Session;

    #[tokio::test]
    async fn each_audience_reaches_exactly_its_sessions() {
        let sessions = Sessions::new(8);
        let ip = "127.0.0.1:4000".parse().unwrap();
        let mut ann = Session::LoggedIn(sessions.open("ann", ip));
        let mut bob = Session::LoggedIn(sessions.open("bob", ip));
        let mut cy = Session::LoggedIn(sessions.open("cy", ip));
        let bus = LocalBus::new(Arc::clone(&sessions));
        bus.publish(Audience::User("ann".into()), Push::new("1")).await;
        bus.publish(Audience::Users(vec!["bob".into(), "cy".into()]), Push::new("2")).await;
        bus.publish(Audience::Everyone, Push::new("3")).await;
        assert_eq!(ann.next_push(true).await, Some(Push::new("1")));
        assert_eq!(ann.next_push(true).await, Some(Push::new("3")));
        for session in [&mut bob, &mut cy] {
            assert_eq!(session.next_push(true).await, Some(Push::new("2")));
            assert_eq!(session.next_push(true).await, Some(Push::new("3")));
        }
        assert_eq!(bus.deliver(&Audience::User("nobody".into()), &Push::new("x")), 0);
    }
}
