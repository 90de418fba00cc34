//! This process as one node of the BBS: several `bbsd` on one database
//! serve one BBS, sharing through the store ([`ClusterStore`]) who is
//! logged in where, the login tokens, the keys of running chatrooms and
//! the live events.
//!
//! [`join`] registers the node before the first connection is accepted:
//! its heartbeat, the removal of nodes found dead, the closing of the rooms
//! nobody runs any more, and the event feed. [`run`] then keeps it alive:
//! it records every login and logout of this process in the order they
//! happened (batched: a storm of logins costs a few writes), the idle times
//! at each heartbeat, and delivers the other nodes' events to the sessions
//! here; [`crate::events::ClusterBus`] publishes to them.
//!
//! With SQLite the store keeps all of this in memory (one process is the
//! whole BBS), so the same code costs a few map updates there.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bbs_protocol::Push;
use bbs_storage::{EventAudience, EventFeed, SessionChanges, Store, StoreError};
use tokio::sync::{mpsc, oneshot, watch};

use crate::events::{Audience, LocalBus};
use crate::session::{unix_now_ms, Change};
use crate::state::Shared;

/// Registers this process as a node (see the module documentation) and
/// returns the other nodes' events.
pub(crate) async fn join<S: Store>(shared: &Shared<S>) -> Result<Box<dyn EventFeed>, StoreError> {
    let node = shared.sessions.node();
    let lease = millis(shared.config.node_lease);
    shared.store.join_cluster(node, unix_now_ms()).await?;
    let beat = shared.store.heartbeat(node, unix_now_ms(), lease).await?;
    if !beat.reaped.is_empty() {
        tracing::info!(nodes = ?beat.reaped, "removed server processes that stopped answering");
    }
    // Only the rooms of sessions that are really gone: those of live
    // processes stay open.
    shared.store.close_orphaned_chatrooms().await?;
    let feed = shared.store.listen_events(node).await?;
    tracing::info!(node, "joined the BBS's server processes");
    Ok(feed)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Keeps this node alive until `stopped`: records logins and logouts,
/// beats, and delivers the other nodes' events here.
pub(crate) async fn run<S: Store>(
    shared: Arc<Shared<S>>,
    mut feed: Box<dyn EventFeed>,
    mut stopped: watch::Receiver<bool>,
) {
    let Some(mut changes) = shared.sessions.take_changes() else {
        tracing::error!("the cluster task runs once per server");
        return;
    };
    let local = LocalBus::new(Arc::clone(&shared.sessions));
    let deliver = tokio::spawn(async move {
        while let Some(event) = feed.next().await {
            let to = match event.audience {
                EventAudience::User(name) => Audience::User(name),
                EventAudience::Users(names) => Audience::Users(names),
                EventAudience::Everyone => Audience::Everyone,
                EventAudience::EndSessionsOf(name) => Audience::EndSessionsOf(name),
            };
            local.deliver(&to, &Push::new(event.text));
        }
    });
    let mut heartbeat = tokio::time::interval(shared.config.heartbeat_interval);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Idle times as last recorded, by session.
    let mut recorded: HashMap<u64, i64> = HashMap::new();
    loop {
        tokio::select! {
            Some(first) = changes.recv() => record(&shared, first, &mut changes, &mut recorded).await,
            _ = heartbeat.tick() => beat(&shared, &mut recorded).await,
            _ = stopped.changed() => break,
        }
    }
    deliver.abort();
}

/// Records `first` and every change already waiting behind it in one
/// write, then lets the logins among them go on.
async fn record<S: Store>(
    shared: &Shared<S>,
    first: Change,
    changes: &mut mpsc::UnboundedReceiver<Change>,
    recorded: &mut HashMap<u64, i64>,
) {
    let mut batch = SessionChanges::default();
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    let mut next = Some(first);
    while let Some(change) = next {
        match change {
            Change::Arrived(session, announced) => {
                recorded.insert(session.at.session, session.last_command);
                batch.arrivals.push(session);
                waiting.push(announced);
            }
            Change::Departed(session) => {
                recorded.remove(&session);
                batch.departures.push(session);
            }
        }
        next = changes.try_recv().ok();
    }
    if let Err(e) = shared.store.update_sessions(shared.sessions.node(), batch).await {
        // The sessions work here; other processes miss them until a
        // heartbeat finds this node's row gone and announces them again.
        tracing::warn!(error = %e, "cannot record logins and logouts for the other server processes");
    }
    for announced in waiting {
        let _ = announced.send(());
    }
}

/// One heartbeat: keeps this node alive, records idle times that moved, and
/// announces every session again if this node had been taken for dead.
async fn beat<S: Store>(shared: &Shared<S>, recorded: &mut HashMap<u64, i64>) {
    let node = shared.sessions.node();
    let beat = match shared.store.heartbeat(node, unix_now_ms(), millis(shared.config.node_lease)).await {
        Ok(beat) => beat,
        Err(e) => {
            tracing::warn!(error = %e, "heartbeat failed");
            return;
        }
    };
    if !beat.reaped.is_empty() {
        tracing::info!(nodes = ?beat.reaped, "removed server processes that stopped answering");
    }
    let idle = shared.sessions.idle_times();
    let mut changes = SessionChanges::default();
    if beat.rejoined {
        changes.arrivals = shared.sessions.live();
        tracing::warn!(
            sessions = changes.arrivals.len(),
            "this process had been taken for dead: announcing its sessions again"
        );
    } else {
        changes.touched = idle.iter().filter(|(id, at)| recorded.get(id) != Some(at)).copied().collect();
    }
    if changes.is_empty() {
        return;
    }
    match shared.store.update_sessions(node, changes).await {
        Ok(()) => *recorded = idle.into_iter().collect(),
        Err(e) => tracing::warn!(error = %e, "cannot record idle times"),
    }
}
