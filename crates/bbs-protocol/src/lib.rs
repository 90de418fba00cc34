//! The wire format shared by `bbsd` (the server) and `bbs` (the client).
//!
//! # One port, two transports, two dialects
//!
//! The server listens on TCP and UDP on the same port.
//!
//! **TCP, plain dialect** (telnet, `nc`): on connect the server sends the
//! banner ([`BANNER`]) and the prompt `% `. The peer sends one command per
//! line (LF or CRLF; telnet option bytes are ignored, see [`telnet`]). The
//! server answers with the answer text, each line ended by CRLF, then the
//! prompt again. This is what a person types and reads, so it cannot carry
//! data the person must not see (the UDP token) and cannot frame content
//! unambiguously (a post may contain a line that reads `% `).
//!
//! A logged-in user may get lines nobody asked for just then (a message
//! from another user, a notification): the server writes them between
//! answers, never inside one. In the plain dialect such a push ends the
//! prompt line, prints its text, and shows the prompt again:
//! `\r\n<text>\r\n% `.
//!
//! **TCP, client dialect** (the `bbs` client): the connection starts exactly
//! like the plain one, so a person and the client meet the same server. The
//! client reads the fixed [`PLAIN_GREETING`] and sends [`CLIENT_HELLO`] as
//! its first line. From then on every line either way is one JSON frame
//! ([`frame`]): the client sends [`frame::ClientFrame`]s (a command line as
//! typed, or one of its own requests), and the server sends one
//! [`frame::ServerFrame::Answer`] per client frame, in order, with
//! [`frame::ServerFrame::Push`] frames in between whenever something
//! arrives for the user. JSON escapes newlines inside text, so a frame ends
//! at the first `\n` whatever a post contains. The first answer is the one
//! to the hello.
//!
//! **UDP** (`register`, `whoami`, `list-chatroom`): one request datagram,
//! one reply datagram, plain UTF-8 text, see [`udp`]. The client tags its
//! requests with an id so that it can retry a lost datagram and recognise a
//! late reply; the server remembers recent replies per id, so a retried
//! `register` is not answered "Username is already used.".
//!
//! **Chatrooms** (spec §7) run inside the owner's client; [`chat`] holds
//! the join tickets the server issues and the host ↔ member wire format.
//!
//! Commands themselves are parsed by [`command::Command::parse`], driven by
//! one table, [`command::COMMANDS`], that also gives usage strings and help.
//! Every answer text either side prints is in [`answer`].

pub mod answer;
pub mod chat;
pub mod command;
pub mod frame;
pub mod line;
pub mod reply;
pub mod table;
pub mod telnet;
pub mod transfer;
pub mod udp;

pub use command::{Command, CommandSpec, ParseError, Transport, COMMANDS};
pub use frame::{ClientFrame, Push, ServerFrame};
pub use reply::{Event, Reply};

/// The three-line banner printed once on connect (spec §1).
pub const BANNER: &str = "********************************\n\
                          ** Welcome to the BBS server. **\n\
                          ********************************";

/// The prompt shown before every command is read.
pub const PROMPT: &str = "% ";

/// The exact bytes a new TCP connection receives before anything else:
/// the banner in CRLF form, then the prompt. The client reads exactly
/// these bytes before it switches to its own dialect.
pub const PLAIN_GREETING: &str = "********************************\r\n\
                                  ** Welcome to the BBS server. **\r\n\
                                  ********************************\r\n\
                                  % ";

/// How the `bbs` client's first line starts; its dialect version follows.
/// It is not a command a person would type by accident.
pub const CLIENT_HELLO_PREFIX: &str = "%bbs-client ";

/// First line sent by the `bbs` client to switch its connection to the
/// client dialect: [`CLIENT_HELLO_PREFIX`] and [`DIALECT_VERSION`].
pub const CLIENT_HELLO: &str = "%bbs-client 3";

/// The client dialect's version, answered to the hello. A server answers a
/// hello of another version with why it cannot serve that client, and
/// closes. Version 3: an upload's request carries a resume key and its
/// SHA-256 follows the bytes (see [`transfer`]).
pub const DIALECT_VERSION: u32 = 3;

/// The longest command line the server accepts by default (spec §6).
pub const DEFAULT_MAX_LINE: usize = 64 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hello_names_the_dialect_version() {
        assert_eq!(CLIENT_HELLO, format!("{CLIENT_HELLO_PREFIX}{DIALECT_VERSION}"));
    }
}
