//! Who is online: the one place commands ask. Today the answer is this
//! process's session registry; when several server processes share a
//! database, presence moves there and only this module changes.

use crate::session::SessionInfo;
use crate::state::Shared;

/// Every logged-in session (a user logged in twice appears twice), in
/// login order.
pub(crate) async fn sessions<S>(shared: &Shared<S>) -> Vec<SessionInfo> {
    shared.sessions.list()
}

/// Whether `name` has at least one live session.
pub(crate) async fn is_online<S>(shared: &Shared<S>, name: &str) -> bool {
    shared.sessions.online(name) > 0
}

/// Every user with at least one live session, once each.
pub(crate) async fn users<S>(shared: &Shared<S>) -> Vec<String> {
    shared.sessions.online_users()
}
