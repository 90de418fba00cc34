//! `bbs`, the terminal client, as a library: the binary is a thin `main`,
//! and tests can run the real chatroom host ([`host`]) in process.
//!
//! [`app`] is the main loop (BBS prompt and chat mode), [`link`] the TCP
//! connection to `bbsd`, `udp` the UDP requests, [`input`] the line reader,
//! [`host`] the chatroom server inside the owner's client, [`member`] the
//! connection of a member to someone else's room, [`files`] the UDP side
//! of file transfers.

pub mod app;
pub mod files;
pub mod host;
pub mod input;
pub mod link;
pub mod member;
mod udp;
