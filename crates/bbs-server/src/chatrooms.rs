//! The server's side of chatrooms (spec §7): the registry lives in the
//! store; this module keeps what only matters while the server runs — the
//! room keys of running rooms, and which connection owns each — and the
//! chatroom commands of the client dialect.
//!
//! A room is open in the registry exactly while its owner's connection has
//! announced a bound port and has not closed it or gone away: the cleanup on
//! disconnect ([`owner_disconnected`]) runs in the connection's teardown,
//! so a crashed owner never leaves a stale `open`.

use std::collections::HashMap;
use std::sync::Mutex;

use bbs_protocol::chat::{RoomKey, Ticket, CLOSED_REQUEST, OPENED_REQUEST};
use bbs_protocol::command::{CreateChatroom, JoinChatroom};
use bbs_protocol::{Event, Reply};
use bbs_storage::{Store, StoreError};

use crate::commands::{Caller, Via, LOGIN_FIRST};
use crate::session::User;
use crate::Shared;

pub(crate) const NO_SUCH_ROOM: &str = "The chatroom does not exist or the chatroom is close.";
const ALREADY_CREATED: &str = "User has already created the chatroom.";
const CREATE_FIRST: &str = "Please create-chatroom first.";
const STILL_RUNNING: &str = "Your chatroom is still running.";
const STARTING: &str = "start to create chatroom...";

/// Running rooms and binds in progress, keyed so that only the connection
/// that opened a room can close it or lose it.
#[derive(Debug, Default)]
pub(crate) struct LiveRooms {
    inner: Mutex<Live>,
}

#[derive(Debug, Default)]
struct Live {
    /// Owner name → the running room.
    rooms: HashMap<String, LiveRoom>,
    /// Login token of a connection → the port it was told to bind.
    binding: HashMap<String, u16>,
}

#[derive(Debug)]
struct LiveRoom {
    /// The login token of the owner's connection (one per connection).
    owner_token: String,
    key: RoomKey,
}

impl LiveRooms {
    fn lock(&self) -> std::sync::MutexGuard<'_, Live> {
        self.inner.lock().expect("live rooms lock")
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `create-chatroom <port>` from the client: checks, then asks the client
/// to bind the port first.
pub(crate) async fn create<S: Store>(shared: &Shared<S>, user: &User, command: CreateChatroom) -> Result<Reply, StoreError> {
    if shared.store.chatroom(&user.name).await?.is_some() {
        return Ok(Reply::text(ALREADY_CREATED));
    }
    shared.chat.lock().binding.insert(user.token.clone(), command.port);
    Ok(Reply::with_event("", Event::ChatroomBind { port: command.port }))
}

/// `restart-chatroom` from the client: same port as before.
pub(crate) async fn restart<S: Store>(shared: &Shared<S>, user: &User) -> Result<Reply, StoreError> {
    let Some(room) = shared.store.chatroom(&user.name).await? else {
        return Ok(Reply::text(CREATE_FIRST));
    };
    if room.open {
        return Ok(Reply::text(STILL_RUNNING));
    }
    shared.chat.lock().binding.insert(user.token.clone(), room.port);
    Ok(Reply::with_event("", Event::ChatroomBind { port: room.port }))
}

/// `join-chatroom <name>` from the client: a ticket for the running room.
pub(crate) async fn join<S: Store>(shared: &Shared<S>, user: &User, command: JoinChatroom) -> Result<Reply, StoreError> {
    let Some(room) = shared.store.chatroom(&command.owner).await?.filter(|room| room.open) else {
        return Ok(Reply::text(NO_SUCH_ROOM));
    };
    if room.owner == user.name {
        // The client treats this as `attach` before asking; a hand-made
        // request gets the same advice.
        return Ok(Reply::text("This is your own chatroom: use attach."));
    }
    let ticket = match shared.chat.lock().rooms.get(&room.owner) {
        Some(live) => Ticket::issue(&live.key, &user.name, &room.owner, now()),
        None => return Ok(Reply::text(NO_SUCH_ROOM)),
    };
    Ok(Reply::with_event("", Event::ChatroomTicket { address: room.address, port: room.port, ticket: Box::new(ticket) }))
}

/// Client-dialect requests that are not commands (lines starting with `%`).
pub(crate) async fn client_request<S: Store>(shared: &Shared<S>, caller: &mut Caller<'_>, line: &str) -> Result<Reply, StoreError> {
    let Some(user) = caller.session.user().cloned() else {
        return Ok(Reply::text(LOGIN_FIRST));
    };
    match line.trim() {
        OPENED_REQUEST => {
            let Some(port) = shared.chat.lock().binding.remove(&user.token) else {
                return Ok(Reply::text("Nothing to open: use create-chatroom or restart-chatroom first."));
            };
            if shared.store.chatroom(&user.name).await?.is_some_and(|room| room.open) {
                return Ok(Reply::text(STILL_RUNNING));
            }
            let key = RoomKey::random();
            shared.chat.lock().rooms.insert(user.name.clone(), LiveRoom { owner_token: user.token.clone(), key: key.clone() });
            shared.store.open_chatroom(&user.name, &caller.peer.ip().to_string(), port).await?;
            tracing::info!(owner = %user.name, port, "chatroom opened");
            Ok(Reply::with_event(STARTING, Event::ChatroomOpened { port, key: key.to_hex() }))
        }
        CLOSED_REQUEST => {
            if close_if_owned(shared, &user).await? {
                Ok(Reply::default())
            } else {
                Ok(Reply::text("You have no open chatroom."))
            }
        }
        other => Ok(Reply::text(format!("Unknown client request: {}", other.split_whitespace().next().unwrap_or("")))),
    }
}

/// Closes `user`'s room if this connection (its token) is the one running
/// it; `false` otherwise.
async fn close_if_owned<S: Store>(shared: &Shared<S>, user: &User) -> Result<bool, StoreError> {
    let owned = {
        let mut live = shared.chat.lock();
        live.binding.remove(&user.token);
        match live.rooms.get(&user.name) {
            Some(room) if room.owner_token == user.token => {
                live.rooms.remove(&user.name);
                true
            }
            _ => false,
        }
    };
    if owned {
        shared.store.close_chatroom(&user.name).await?;
        tracing::info!(owner = %user.name, "chatroom closed");
    }
    Ok(owned)
}

/// The connection of `user` has ended (exit, crash, network loss): the room
/// it ran is gone with it, so the registry must say `close`.
pub(crate) async fn owner_disconnected<S: Store>(shared: &Shared<S>, user: &User) {
    if let Err(e) = close_if_owned(shared, user).await {
        tracing::error!(error = %e, owner = %user.name, "could not mark the chatroom closed");
    }
}

/// The sentence for chatroom commands that cannot work on this connection.
pub(crate) fn needs_client(name: &str, via: Via) -> String {
    match via {
        Via::Client => format!("{name} is handled inside the bbs client."),
        Via::Plain | Via::Udp => format!(
            "{name} needs the bbs client: chatrooms run inside the client on your own machine. \
             Connect with: bbs <host> <port>"
        ),
    }
}
