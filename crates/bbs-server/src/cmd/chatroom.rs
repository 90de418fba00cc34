//! Chatrooms (spec §7), the server's side: the registry, the room keys of
//! running rooms and which session runs each live in the store (so any
//! server process of the BBS can hand out a ticket); the binds in progress
//! of this process's sessions in [`crate::rooms`].
//!
//! A room is open in the registry exactly while its owner's session has
//! announced a bound port and has not closed it or gone away: the cleanup
//! when a session ends ([`owner_gone`], called by the one session teardown)
//! means a crashed owner never leaves a stale `open`.

use bbs_protocol::answer;
use bbs_protocol::chat::{RoomKey, Ticket};
use bbs_protocol::command::{CreateChatroom, JoinChatroom, ListChatroom, RestartChatroom};
use bbs_protocol::table::format_table;
use bbs_protocol::{Event, Reply};
use bbs_storage::{Store, StoreError};

use super::context::{logged_in, now, require, Apply, Caller, Outcome};
use crate::session::User;
use crate::state::Shared;

/// `create-chatroom <port>` from the client: checks, then asks the client
/// to bind the port first (nothing is registered before that, so a port
/// that cannot be bound leaves nothing open).
impl Apply for CreateChatroom {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller));
        if shared.store.chatroom(&user.name).await?.is_some() {
            return Ok(Reply::text(answer::ROOM_EXISTS));
        }
        shared.rooms.lock().binding.insert(user.token.clone(), self.port);
        Ok(Reply::with_event("", Event::ChatroomBind { port: self.port }))
    }
}

/// `restart-chatroom` from the client: same port as before.
impl Apply for RestartChatroom {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller));
        let Some(room) = shared.store.chatroom(&user.name).await? else {
            return Ok(Reply::text(answer::CREATE_ROOM_FIRST));
        };
        if room.open {
            return Ok(Reply::text(answer::ROOM_STILL_RUNNING));
        }
        shared.rooms.lock().binding.insert(user.token.clone(), room.port);
        Ok(Reply::with_event("", Event::ChatroomBind { port: room.port }))
    }
}

/// `join-chatroom <name>` from the client: a ticket for the running room,
/// in the session's own name only.
impl Apply for JoinChatroom {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller));
        let Some(room) = shared.store.chatroom(&self.owner).await?.filter(|room| room.open) else {
            return Ok(Reply::text(answer::NO_SUCH_ROOM));
        };
        if room.owner == user.name {
            // The client treats this as `attach` before asking; a hand-made
            // request gets the same advice.
            return Ok(Reply::text("This is your own chatroom: use attach."));
        }
        let ticket = match shared.store.room_key(&room.owner).await?.as_deref().and_then(RoomKey::from_hex) {
            Some(key) => Ticket::issue(&key, &user.name, &room.owner, now()),
            None => return Ok(Reply::text(answer::NO_SUCH_ROOM)),
        };
        let event = Event::ChatroomTicket { address: room.address, port: room.port, ticket: Box::new(ticket) };
        Ok(Reply::with_event("", event))
    }
}

impl Apply for ListChatroom {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        require!(logged_in(caller));
        let rows: Vec<Vec<String>> = shared
            .store
            .chatrooms()
            .await?
            .into_iter()
            .map(|room| vec![room.owner, if room.open { "open" } else { "close" }.to_owned()])
            .collect();
        Ok(Reply::text(format_table(&["Chatroom_name", "Status"], &rows)))
    }
}

/// The client's [`bbs_protocol::ClientFrame::ChatroomOpened`]: the port it
/// was told to bind is bound, so the room is registered open and its key
/// handed over.
pub(crate) async fn room_opened<S: Store>(shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
    let user = require!(logged_in(caller));
    let Some(port) = shared.rooms.lock().binding.remove(&user.token) else {
        return Ok(Reply::text("Nothing to open: use create-chatroom or restart-chatroom first."));
    };
    if shared.store.chatroom(&user.name).await?.is_some_and(|room| room.open) {
        return Ok(Reply::text(answer::ROOM_STILL_RUNNING));
    }
    let key = RoomKey::random();
    shared.store.claim_room(&user.name, user.at, &key.to_hex()).await?;
    shared.store.open_chatroom(&user.name, &caller.peer.ip().to_string(), port).await?;
    tracing::info!(owner = %user.name, port, "chatroom opened");
    Ok(Reply::with_event(answer::ROOM_STARTING, Event::ChatroomOpened { port, key: key.to_hex() }))
}

/// The client's [`bbs_protocol::ClientFrame::ChatroomClosed`].
pub(crate) async fn room_closed<S: Store>(shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
    let user = require!(logged_in(caller));
    if close_if_owned(shared, user).await? {
        Ok(Reply::default())
    } else {
        Ok(Reply::text("You have no open chatroom."))
    }
}

/// Whether `user`'s chatroom is open in the registry (`logout` must wait).
pub(super) async fn owns_open_room<S: Store>(shared: &Shared<S>, user: &User) -> Result<bool, StoreError> {
    Ok(shared.store.chatroom(&user.name).await?.is_some_and(|room| room.open))
}

/// Closes `user`'s room if this session is the one running it; `false`
/// otherwise. A bind never confirmed is forgotten as well.
async fn close_if_owned<S: Store>(shared: &Shared<S>, user: &User) -> Result<bool, StoreError> {
    shared.rooms.lock().binding.remove(&user.token);
    let owned = shared.store.release_room(&user.name, user.at).await?;
    if owned {
        tracing::info!(owner = %user.name, "chatroom closed");
    }
    Ok(owned)
}

/// The session of `user` has ended (logout, exit, crash, network loss): the
/// room it ran is gone with it, so the registry must say `close`.
pub(super) async fn owner_gone<S: Store>(shared: &Shared<S>, user: &User) {
    if let Err(e) = close_if_owned(shared, user).await {
        tracing::error!(error = %e, owner = %user.name, "could not mark the chatroom closed");
    }
}
