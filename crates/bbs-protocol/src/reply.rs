//! Answers in the client dialect: one [`Reply`] per command, one JSON line
//! per reply.
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
    /// [`crate::chat::OPENED_REQUEST`] (nothing is registered before that,
    /// so a port that cannot be bound leaves nothing open).
    ChatroomBind { port: u16 },
    /// The chatroom is registered open; `key` (hex, see
    /// [`crate::chat::RoomKey`]) verifies the join tickets the server issues.
    ChatroomOpened { port: u16, key: String },
    /// `join-chatroom` succeeded: connect to `address:port` and present
    /// `ticket`.
    ChatroomTicket { address: String, port: u16, ticket: Box<crate::chat::Ticket> },
}

impl Reply {
    pub fn text(text: impl Into<String>) -> Reply {
        Reply { text: text.into(), event: None }
    }

    pub fn with_event(text: impl Into<String>, event: Event) -> Reply {
        Reply { text: text.into(), event: Some(event) }
    }

    /// Encodes the reply as one line of JSON ending in `\n`.
    pub fn to_line(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_line(&mut out);
        out
    }

    /// Appends the encoded line to `out` (a buffer the caller reuses).
    pub fn write_line(&self, out: &mut impl std::io::Write) {
        serde_json::to_writer(&mut *out, self).expect("a reply always serialises");
        out.write_all(b"\n").expect("writing to a memory buffer");
    }

    /// Decodes one line (without its `\n`).
    pub fn from_line(line: &[u8]) -> Result<Reply, serde_json::Error> {
        serde_json::from_slice(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_text_round_trips_on_one_line() {
        let text = "% \n--\nWelcome, x.\r\n\u{0}\"quoted\"".to_owned() + &"y".repeat(60_000);
        let reply = Reply::with_event(text, Event::LoggedIn { username: "u".into(), token: "t".into() });
        let line = reply.to_line();
        assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
        assert_eq!(Reply::from_line(&line[..line.len() - 1]).unwrap(), reply);
    }
}
