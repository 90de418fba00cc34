//! Running chatrooms as only this server process knows them: the room key
//! of each running room, which session owns it, and the ports sessions were
//! told to bind. The registry itself (owner, address, port, open/close) is
//! in the store.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use bbs_protocol::chat::RoomKey;

/// Running rooms and binds in progress, keyed so that only the session
/// that opened a room can close it or lose it.
#[derive(Debug, Default)]
pub(crate) struct LiveRooms {
    inner: Mutex<Live>,
}

#[derive(Debug, Default)]
pub(crate) struct Live {
    /// Owner name → the running room.
    pub(crate) rooms: HashMap<String, LiveRoom>,
    /// Login token of a session → the port it was told to bind.
    pub(crate) binding: HashMap<String, u16>,
}

#[derive(Debug)]
pub(crate) struct LiveRoom {
    /// The login token of the owner's session (one per session).
    pub(crate) owner_token: String,
    pub(crate) key: RoomKey,
}

impl LiveRooms {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Live> {
        self.inner.lock().expect("live rooms lock")
    }
}
