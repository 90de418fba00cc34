//! Chatroom binds in progress, which only the process of the session doing
//! them needs: the port each session was told to bind. The registry (owner,
//! address, port, open/close) and the key of each running room, with the
//! session that runs it, are in the store, so that a room opened through
//! one server process can be joined through another.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// Binds in progress, by session.
#[derive(Debug, Default)]
pub(crate) struct LiveRooms {
    inner: Mutex<Live>,
}

#[derive(Debug, Default)]
pub(crate) struct Live {
    /// Login token of a session → the port it was told to bind.
    pub(crate) binding: HashMap<String, u16>,
}

impl LiveRooms {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Live> {
        self.inner.lock().expect("live rooms lock")
    }
}
