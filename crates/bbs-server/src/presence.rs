//! Who is online: the one place commands ask. The answer covers every
//! server process of the BBS: the store records each process's sessions
//! (see [`crate::cluster`]); this process's own registry answers first
//! where it can (a local session, a local token), and gives the exact idle
//! time of its own sessions. If the store cannot be read, the answer falls
//! back to this process alone.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};

use bbs_storage::{LiveSession, Store};

use crate::session::{SessionInfo, User};
use crate::state::Shared;

/// The sessions of every process, or `None` (logged) if the store failed.
async fn everywhere<S: Store>(shared: &Shared<S>) -> Option<Vec<LiveSession>> {
    match shared.store.live_sessions().await {
        Ok(sessions) => Some(sessions),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the sessions of the other server processes");
            None
        }
    }
}

/// Every logged-in session (a user logged in twice appears twice), in
/// login order.
pub(crate) async fn sessions<S: Store>(shared: &Shared<S>) -> Vec<SessionInfo> {
    let local = shared.sessions.list();
    let Some(all) = everywhere(shared).await else { return local };
    let node = shared.sessions.node();
    let here: HashMap<u64, &SessionInfo> = local.iter().map(|s| (s.id, s)).collect();
    all.into_iter()
        .enumerate()
        .filter_map(|(order, s)| {
            let (peer, last_command) = if s.at.node == node {
                // Exact, and only while the session is still here.
                let mine = here.get(&s.at.session)?;
                (mine.peer, mine.last_command)
            } else {
                (s.peer.parse::<SocketAddr>().ok()?, u64::try_from(s.last_command).unwrap_or(0))
            };
            Some(SessionInfo { id: order as u64, name: s.name, peer, last_command })
        })
        .collect()
}

/// Whether `name` has at least one live session on any process.
pub(crate) async fn is_online<S: Store>(shared: &Shared<S>, name: &str) -> bool {
    if shared.sessions.online(name) > 0 {
        return true;
    }
    shared.store.is_online(name).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot ask whether {name} is online elsewhere");
        false
    })
}

/// Every user with at least one live session, once each.
pub(crate) async fn users<S: Store>(shared: &Shared<S>) -> Vec<String> {
    match everywhere(shared).await {
        Some(all) => all.into_iter().map(|s| s.name).collect::<BTreeSet<String>>().into_iter().collect(),
        None => shared.sessions.online_users(),
    }
}

/// The user of a login token, if it is live on any process and used from
/// the address that logged in (a token seen on the wire is useless
/// elsewhere).
pub(crate) async fn user_of_token<S: Store>(shared: &Shared<S>, token: &str, from: IpAddr) -> Option<User> {
    if let Some(user) = shared.sessions.user_of_token(token, from) {
        return Some(user);
    }
    let session = match shared.store.session_of_token(token).await {
        Ok(session) => session?,
        Err(e) => {
            tracing::warn!(error = %e, "cannot look a login token up");
            return None;
        }
    };
    // This process's own sessions are known from its registry alone: one
    // that is not there has ended, even if the store has not been told yet
    // (logouts reach it from a background task).
    if session.at.node == shared.sessions.node() {
        return None;
    }
    let ip = session.peer.parse::<SocketAddr>().ok()?.ip();
    (ip == from).then_some(User { name: session.name, token: session.token, at: session.at })
}
