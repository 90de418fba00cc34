//! The UDP side: `register`, `whoami` and `list-chatroom` datagrams.
//!
//! `whoami` is answered inline (a token look-up); commands that touch the
//! database or hash a password run in their own task so one slow request
//! never holds up the socket.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bbs_protocol::udp::{encode_reply, UdpRequest, MAX_REQUEST};
use bbs_protocol::{Command, ParseError, Transport};
use bbs_storage::Store;
use tokio::net::UdpSocket;
use tokio::sync::watch;

use crate::commands::{execute, Caller, Via};
use crate::session::{Session, User};
use crate::Shared;

/// Receives datagrams until shutdown.
pub(crate) async fn serve<S: Store>(shared: Arc<Shared<S>>, socket: Arc<UdpSocket>, mut shutdown: watch::Receiver<bool>) {
    // One byte more than the limit, to tell an over-long datagram apart.
    let mut buf = vec![0u8; MAX_REQUEST + 1];
    loop {
        let (n, peer) = tokio::select! {
            received = socket.recv_from(&mut buf) => match received {
                Ok(received) => received,
                Err(e) => {
                    // ICMP errors from earlier replies surface here; they
                    // concern one peer, not the socket.
                    tracing::debug!(error = %e, "udp receive error");
                    continue;
                }
            },
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        if n > MAX_REQUEST {
            continue;
        }
        let Ok(text) = std::str::from_utf8(&buf[..n]) else { continue };
        let Some(request) = UdpRequest::parse(text) else { continue };
        let id = request.id.map(str::to_owned);
        let command = match Command::parse(request.line) {
            Ok(command) => command,
            Err(ParseError::Empty) => continue,
            Err(e) => {
                reply(&socket, peer, id.as_deref(), &e.to_string()).await;
                continue;
            }
        };
        let mut session = match request.token.and_then(|t| Some((t, shared.tokens.user(t, peer.ip())?))) {
            Some((token, name)) => Session::LoggedIn(User { name, token: token.to_owned() }),
            None => Session::Anonymous,
        };
        match command {
            Command::Whoami => {
                let answer = execute(&shared, &mut Caller { session: &mut session, peer, via: Via::Udp }, command).await;
                reply(&socket, peer, id.as_deref(), &answer.text).await;
            }
            Command::Register(_) | Command::ListChatroom => {
                let key = id.clone().map(|id| (peer, id));
                if let Some(key) = &key {
                    match shared.udp_replies.begin(key) {
                        Begin::New => {}
                        Begin::Running => continue,
                        Begin::Done(text) => {
                            reply(&socket, peer, id.as_deref(), &text).await;
                            continue;
                        }
                    }
                }
                let (shared, socket) = (Arc::clone(&shared), Arc::clone(&socket));
                tokio::spawn(async move {
                    let answer =
                        execute(&shared, &mut Caller { session: &mut session, peer, via: Via::Udp }, command).await;
                    if let Some(key) = key {
                        shared.udp_replies.finish(key, &answer.text);
                    }
                    reply(&socket, peer, id.as_deref(), &answer.text).await;
                });
            }
            other => {
                let name = other.spec().name;
                let how = if other.spec().transport == Transport::Client { "the bbs client" } else { "TCP" };
                reply(&socket, peer, id.as_deref(), &format!("{name} works over {how}, not UDP.")).await;
            }
        }
    }
}

async fn reply(socket: &UdpSocket, peer: SocketAddr, id: Option<&str>, text: &str) {
    if let Err(e) = socket.send_to(encode_reply(id, text).as_bytes(), peer).await {
        tracing::debug!(error = %e, %peer, "udp send failed");
    }
}

type Key = (SocketAddr, String);

/// Answers already given to tagged requests, so that a retried request is
/// answered, not run twice (a second `register` would say the name is taken).
#[derive(Debug)]
pub(crate) struct RecentReplies {
    memory: std::time::Duration,
    entries: Mutex<HashMap<Key, (Instant, Option<String>)>>,
}

/// Where a tagged request stands.
pub(crate) enum Begin {
    /// Not seen: run it.
    New,
    /// Still running: the retry is dropped; the answer goes out when ready.
    Running,
    /// Answered before: send the same answer.
    Done(String),
}

/// At most this many remembered requests; older ones go first.
const MAX_REMEMBERED: usize = 8192;

impl RecentReplies {
    pub(crate) fn new(memory: std::time::Duration) -> RecentReplies {
        RecentReplies { memory, entries: Mutex::new(HashMap::new()) }
    }

    fn begin(&self, key: &Key) -> Begin {
        let mut entries = self.entries.lock().expect("udp replies lock");
        let now = Instant::now();
        if let Some((at, answer)) = entries.get(key) {
            if now.duration_since(*at) < self.memory {
                return answer.clone().map_or(Begin::Running, Begin::Done);
            }
        }
        if entries.len() >= MAX_REMEMBERED {
            entries.retain(|_, (at, _)| now.duration_since(*at) < self.memory);
        }
        if entries.len() < MAX_REMEMBERED {
            entries.insert(key.clone(), (now, None));
        }
        Begin::New
    }

    fn finish(&self, key: Key, answer: &str) {
        let mut entries = self.entries.lock().expect("udp replies lock");
        if let Some(entry) = entries.get_mut(&key) {
            entry.1 = Some(answer.to_owned());
        }
    }
}
