//! The UDP side: `register`, `whoami` and `list-chatroom` datagrams.
//!
//! `whoami` is answered inline (a token look-up); commands that touch the
//! database or hash a password run in their own task so one slow request
//! never holds up the socket.
//!
//! Abuse protection, in the order applied: a datagram over
//! [`MAX_REQUEST`] bytes is dropped; each source IP has a rate limit beyond
//! which datagrams are dropped unanswered; a sender without a valid token
//! (a token counts only from the IP address that logged in) never gets a
//! reply longer than its request, so the server cannot be used to amplify
//! a flood at a forged address; a reply to a valid token is cut into parts
//! of at most `max_udp_reply` bytes (see the protocol crate's `udp` module).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bbs_protocol::udp::{encode_reply, split_reply, UdpRequest, MAX_REQUEST, PART_WINDOW};
use bbs_protocol::{Command, ParseError};
use bbs_storage::Store;
use tokio::net::UdpSocket;
use tokio::sync::watch;

use crate::cmd::{execute, Caller, Via};
use crate::rate::RateLimiter;
use crate::session::{Session, User};
use crate::state::Shared;

/// What only the UDP door keeps: its per-address rate limit and the
/// answers it remembers for retried requests.
struct Door {
    per_ip: RateLimiter<std::net::IpAddr>,
    replies: RecentReplies,
    max_reply: usize,
}

/// Receives datagrams until shutdown.
pub(crate) async fn serve<S: Store>(shared: Arc<Shared<S>>, socket: Arc<UdpSocket>, mut shutdown: watch::Receiver<bool>) {
    let door = Arc::new(Door {
        per_ip: RateLimiter::new(shared.config.udp_rate_per_ip),
        replies: RecentReplies::new(shared.config.udp_reply_memory),
        max_reply: shared.config.max_udp_reply,
    });
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
        if n > MAX_REQUEST || door.per_ip.check(&peer.ip()).is_err() {
            continue;
        }
        let Ok(text) = std::str::from_utf8(&buf[..n]) else { continue };
        let Some(request) = UdpRequest::parse(text) else { continue };
        let mut session = match request.token.and_then(|t| Some((t, shared.sessions.user_of_token(t, peer.ip())?))) {
            Some((token, name)) => Session::Datagram(User { name, token: token.to_owned() }),
            None => Session::Anonymous,
        };
        let to = Recipient {
            peer,
            id: request.id.map(str::to_owned),
            parts: request.parts,
            // Only a sender with a valid token may get more than it sent.
            budget: if session.user().is_some() { None } else { Some(n) },
        };
        let command = match Command::parse(request.line) {
            Ok(command) => command,
            Err(ParseError::Empty) => continue,
            Err(e) => {
                send(&door, &socket, &to, &e.to_string()).await;
                continue;
            }
        };
        // Answered inline: a token look-up. Everything else may touch the
        // database or hash a password (or answers that it is not a UDP
        // command, which costs nothing either way), so runs in a task.
        if let Command::Whoami(_) = command {
            let answer = execute(&shared, &mut Caller { session: &mut session, peer, via: Via::Udp }, command).await;
            send(&door, &socket, &to, &answer.text).await;
            continue;
        }
        let key = to.id.clone().map(|id| (peer, id));
        if let Some(key) = &key {
            match door.replies.begin(key) {
                Begin::New => {}
                Begin::Running => continue,
                Begin::Done(text) => {
                    send(&door, &socket, &to, &text).await;
                    continue;
                }
            }
        }
        let (shared, door, socket) = (Arc::clone(&shared), Arc::clone(&door), Arc::clone(&socket));
        tokio::spawn(async move {
            let answer = execute(&shared, &mut Caller { session: &mut session, peer, via: Via::Udp }, command).await;
            let text: Arc<str> = answer.text.into();
            if let Some(key) = key {
                door.replies.finish(key, &text);
            }
            send(&door, &socket, &to, &text).await;
        });
    }
}

/// Where an answer goes, and how much of it may go.
struct Recipient {
    peer: SocketAddr,
    id: Option<String>,
    parts: Option<(u32, u32)>,
    /// Most bytes that may be sent (the request's size) for a sender
    /// without a valid token; `None` for a logged-in sender.
    budget: Option<usize>,
}

/// Sends an answer as the rules of the module doc say: nothing longer than
/// the request to a sender without a token, parts to a logged-in one.
async fn send(door: &Door, socket: &UdpSocket, to: &Recipient, text: &str) {
    let datagrams = match (&to.id, to.budget) {
        (None, Some(budget)) => {
            let bare = encode_reply(None, text);
            if bare.len() > budget {
                return;
            }
            vec![bare]
        }
        (Some(id), Some(budget)) => {
            let tagged = encode_reply(Some(id), text);
            if tagged.len() > budget {
                return;
            }
            vec![tagged]
        }
        // A bare datagram carries no token, so it is never logged in.
        (None, None) => return,
        (Some(id), None) => {
            let all = split_reply(id, text, door.max_reply);
            let (from, to) = to.parts.unwrap_or((1, PART_WINDOW));
            let to = to.min(from.saturating_add(PART_WINDOW - 1));
            all.into_iter().skip(from as usize - 1).take((to - from + 1) as usize).collect()
        }
    };
    for datagram in datagrams {
        if let Err(e) = socket.send_to(datagram.as_bytes(), to.peer).await {
            tracing::debug!(error = %e, peer = %to.peer, "udp send failed");
        }
    }
}

type Key = (SocketAddr, String);

/// Answers already given to tagged requests, so that a retried request is
/// answered, not run twice (a second `register` would say the name is taken).
#[derive(Debug)]
struct RecentReplies {
    memory: std::time::Duration,
    entries: Mutex<Remembered>,
}

#[derive(Debug, Default)]
struct Remembered {
    answers: HashMap<Key, (Instant, Option<Arc<str>>)>,
    /// Bytes of answer text held, bounded by [`MAX_REMEMBERED_BYTES`].
    bytes: usize,
}

/// Where a tagged request stands.
enum Begin {
    /// Not seen: run it.
    New,
    /// Still running: the retry is dropped; the answer goes out when ready.
    Running,
    /// Answered before: send the same answer.
    Done(Arc<str>),
}

/// At most this many remembered requests; older ones go first.
const MAX_REMEMBERED: usize = 8192;

/// At most this much remembered answer text. An answer that does not fit is
/// not remembered: a retry then runs the command again, which only matters
/// for `register` (short answers, always remembered first).
const MAX_REMEMBERED_BYTES: usize = 32 * 1024 * 1024;

impl RecentReplies {
    fn new(memory: std::time::Duration) -> RecentReplies {
        RecentReplies { memory, entries: Mutex::new(Remembered::default()) }
    }

    fn begin(&self, key: &Key) -> Begin {
        let mut entries = self.entries.lock().expect("udp replies lock");
        let now = Instant::now();
        if let Some((at, answer)) = entries.answers.get(key) {
            if now.duration_since(*at) < self.memory {
                return answer.clone().map_or(Begin::Running, Begin::Done);
            }
        }
        if entries.answers.len() >= MAX_REMEMBERED {
            entries.forget_expired(now, self.memory);
        }
        if entries.answers.len() < MAX_REMEMBERED {
            if let Some((_, Some(old))) = entries.answers.insert(key.clone(), (now, None)) {
                entries.bytes -= old.len();
            }
        }
        Begin::New
    }

    fn finish(&self, key: Key, answer: &Arc<str>) {
        let mut entries = self.entries.lock().expect("udp replies lock");
        if entries.bytes + answer.len() > MAX_REMEMBERED_BYTES {
            entries.forget_expired(Instant::now(), self.memory);
        }
        if entries.bytes + answer.len() > MAX_REMEMBERED_BYTES {
            entries.answers.remove(&key);
            return;
        }
        if let Some(entry) = entries.answers.get_mut(&key) {
            if entry.1.is_none() {
                entry.1 = Some(Arc::clone(answer));
                entries.bytes += answer.len();
            }
        }
    }
}

impl Remembered {
    fn forget_expired(&mut self, now: Instant, memory: std::time::Duration) {
        let mut freed = 0;
        self.answers.retain(|_, (at, answer)| {
            let keep = now.duration_since(*at) < memory;
            if !keep {
                freed += answer.as_ref().map_or(0, |a| a.len());
            }
            keep
        });
        self.bytes -= freed;
    }
}
