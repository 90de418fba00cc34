//! Answers in the client dialect: one [`Reply`] per client frame, carried
//! in a [`crate::frame::ServerFrame::Answer`].
//!
//! `text` is exactly what the screen shows (lines joined by `\n`, no final
//! line break); `event` tells the client what changed beyond the screen,
//! such as the login token that must never be displayed.

use serde::{Deserialize, Serialize};

/// One answer of the server to one command line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// What to print; empty means print nothing.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<Event>,
}

/// State changes the client must act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Event {
    /// Answer to [`crate::CLIENT_HELLO`]: the connection now speaks JSON.
    Hello { version: u32 },
    /// Logged in; `token` authenticates the UDP commands.
    LoggedIn { username: String, token: String },
    /// Logged out; the token is dead.
    LoggedOut,
    /// The server is closing this connection after the reply.
    Goodbye,
    /// `create-chatroom` / `restart-chatroom` passed the server's checks:
    /// the client must now bind `port` and confirm with
    /// [`crate::frame::ClientFrame::ChatroomOpened`] (nothing is registered before that,
    /// so a port that cannot be bound leaves nothing open).
    ChatroomBind { port: u16 },
    /// The chatroom is registered open; `key` (hex, see
    /// [`crate::chat::RoomKey`]) verifies the join tickets the server issues.
    ChatroomOpened { port: u16, key: String },
    /// `join-chatroom` succeeded: connect to `address:port` and present
    /// `ticket`.
    ChatroomTicket { address: String, port: u16, ticket: Box<crate::chat::Ticket> },
    /// A file transfer is open: its datagrams go to the server's UDP
    /// `port`, tagged with `id` (32 hex digits, a secret of this
    /// connection). `offset` is how many bytes the receiver already holds
    /// (uploads resume from there; for downloads the client says in its
    /// hello); `size` is the whole file's, `sha256` (hex) too for a
    /// download, empty for an upload (the client sends it at the end, see
    /// [`crate::transfer`]).
    Transfer { id: String, port: u16, offset: u64, size: u64, sha256: String },
}

impl Reply {
    pub fn text(text: impl Into<String>) -> Reply {
        Reply { text: text.into(), event: None }
    }

    pub fn with_event(text: impl Into<String>, event: Event) -> Reply {
        Reply { text: text.into(), event: Some(event) }
    }
}
