//! What every command's `apply` gets: who is asking and from where, and
//! the shared answer to failures that are not the user's fault.

use std::net::SocketAddr;

use bbs_protocol::answer::LOGIN_FIRST;
use bbs_protocol::Reply;
use bbs_storage::{Store, StoreError};

use crate::auth::HashError;
use crate::session::{Session, User};
use crate::state::Shared;

const SERVER_BUSY: &str = "Server busy: too many logins at once. Please try again in a moment.";
const SERVER_ERROR: &str = "Server error: your request could not be completed. Please try again.";

/// How the command reached the server; decides what chatroom commands can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// telnet / nc: a person reading the server's own text.
    Plain,
    /// The `bbs` client's JSON dialect.
    Client,
    /// A UDP datagram.
    Udp,
}

/// Who is asking, and from where.
pub(crate) struct Caller<'a> {
    pub session: &'a mut Session,
    pub peer: SocketAddr,
    pub via: Via,
}

/// Why a command could not be carried out (not the user's fault).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
}

pub(crate) type Outcome = Result<Reply, Failure>;

/// One command's effect: each command type of the protocol crate applies
/// itself against the shared state.
pub(crate) trait Apply {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome;
}

/// The answer for a failure: the user learns that it failed and whether to
/// wait; the details go to the log.
pub(crate) fn answer_failure(outcome: Outcome) -> Reply {
    outcome.unwrap_or_else(|failure| match failure {
        Failure::Hash(HashError::Busy) => Reply::text(SERVER_BUSY),
        failure => {
            tracing::error!(error = %failure, "command failed");
            Reply::text(SERVER_ERROR)
        }
    })
}

/// The logged-in user, or the "login first" answer.
pub(crate) fn logged_in<'a>(caller: &'a Caller<'_>) -> Result<&'a User, Reply> {
    caller.session.user().ok_or_else(|| Reply::text(LOGIN_FIRST))
}

/// Returns early from an `apply` with an answer for the user.
macro_rules! require {
    ($check:expr) => {
        match $check {
            Ok(value) => value,
            Err(reply) => return Ok(reply),
        }
    };
}
pub(crate) use require;

/// Unix time now, in seconds.
pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
