//! The chatroom server that runs inside its owner's `bbs` client (spec §7).
//!
//! One task, the *room*, owns all state (members, history, the owner's
//! screen) and handles events one at a time, so every member sees every
//! other member's messages in the order they were said. Each member has a
//! reading task (checks the ticket, the limits, forwards what is said) and a
//! writing task fed by a bounded queue: the room never waits for a slow
//! member; a member whose queue is full is dropped (it counts as having
//! left) instead of slowing everybody down.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bbs_protocol::chat::{self, HostFrame, MemberFrame, Record, ReplayGuard, RoomKey};
use bbs_protocol::line::{LineDecoder, LineError};
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};

/// How many records a room keeps in its owner's memory. Only the latest
/// three are ever shown (spec §7); a few more cost nothing.
pub const HISTORY_KEPT: usize = 100;

/// How many records whoever enters the room gets (spec §7).
pub const RECORDS_SHOWN: usize = 3;

/// The host's protections against members that misbehave. Every field has
/// a safe default ([`HostLimits::default`]).
#[derive(Debug, Clone)]
pub struct HostLimits {
    /// Longest message text, in bytes (4 KiB). Longer ones are refused with
    /// a `sys` line to the sender: a chat line is not a post.
    pub max_text: usize,
    /// Longest frame a member may send, in bytes. JSON escaping can make a
    /// 4 KiB text up to six times longer; anything beyond is refused.
    pub max_frame: usize,
    /// Messages per second a member may send on average...
    pub rate_per_sec: f64,
    /// ...and in a burst (token bucket capacity), so pasting a few lines is
    /// fine but flooding is not.
    pub burst: f64,
    /// Members connected from one IP address at once: one machine cannot
    /// fill the room.
    pub max_per_ip: usize,
    /// Members at once.
    pub max_members: usize,
    /// Frames waiting for one member; a member this far behind is dropped.
    pub queue: usize,
    /// Time a new connection gets to present its ticket.
    pub hello_timeout: Duration,
}

impl Default for HostLimits {
    fn default() -> HostLimits {
        HostLimits {
            max_text: 4096,
            max_frame: 6 * 4096 + 1024,
            rate_per_sec: 5.0,
            burst: 20.0,
            max_per_ip: 8,
            max_members: 1000,
            queue: 1024,
            hello_timeout: Duration::from_secs(10),
        }
    }
}

/// The refusal sentence for an over-long message (shown to its sender).
pub fn too_long_message(max: usize) -> String {
    format!("Your message is longer than {max} bytes; it was not sent.")
}

/// The chat records of a room, oldest first; kept by the owner's client
/// across `leave-chatroom` and `restart-chatroom`.
#[derive(Debug, Clone, Default)]
pub struct History {
    records: VecDeque<Record>,
}

impl History {
    fn push(&mut self, record: Record) {
        if self.records.len() == HISTORY_KEPT {
            self.records.pop_front();
        }
        self.records.push_back(record);
    }

    /// The latest [`RECORDS_SHOWN`] records, oldest first.
    pub fn latest(&self) -> Vec<Record> {
        let skip = self.records.len().saturating_sub(RECORDS_SHOWN);
        self.records.iter().skip(skip).cloned().collect()
    }
}

/// `HH:MM` in this machine's local time (the owner's, spec §7).
pub fn clock() -> String {
    chrono::Local::now().format("%H:%M").to_string()
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A running chatroom, as its owner's client holds it.
pub struct Host {
    events: mpsc::UnboundedSender<Event>,
    room: tokio::task::JoinHandle<History>,
    accept: tokio::task::JoinHandle<()>,
    /// Closed when every member task has finished (see [`Host::close`]).
    alive: mpsc::Receiver<()>,
    /// Tells connections still presenting their ticket that the room is gone.
    closing: watch::Sender<bool>,
    pub port: u16,
}

/// What the owner's screen receives while attached: lines to print.
pub type OwnerScreen = mpsc::UnboundedReceiver<String>;

enum Event {
    Joined {
        id: u64,
        name: String,
        ip: IpAddr,
        queue: mpsc::Sender<Arc<[u8]>>,
    },
    Said {
        id: u64,
        text: String,
    },
    /// A `sys` line for one member only (a limit was hit).
    Notice {
        id: u64,
        text: String,
    },
    Left {
        id: u64,
    },
    OwnerAttach {
        screen: mpsc::UnboundedSender<String>,
        records: oneshot::Sender<Vec<Record>>,
    },
    OwnerDetach,
    OwnerSaid {
        text: String,
    },
    Close,
}

impl Host {
    /// Starts serving on an already-bound `listener` (the client binds
    /// before telling the server, so a port that cannot be used registers
    /// nothing).
    pub fn start(listener: TcpListener, key: RoomKey, owner: String, history: History, limits: HostLimits) -> Host {
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        let (events, inbox) = mpsc::unbounded_channel();
        let (alive_token, alive) = mpsc::channel::<()>(1);
        let (closing, closed) = watch::channel(false);
        let room = tokio::spawn(run_room(inbox, owner.clone(), history, limits.clone()));
        let context = Arc::new(MemberContext {
            key,
            room: owner,
            replay: Mutex::new(ReplayGuard::default()),
            limits,
            events: events.clone(),
            closed,
        });
        let accept = tokio::spawn(accept_loop(listener, context, alive_token));
        Host { events, room, accept, alive, closing, port }
    }

    /// The owner enters the room: returns the latest records and the stream
    /// of lines to show until [`Host::detach`].
    pub async fn attach(&self) -> (Vec<Record>, OwnerScreen) {
        let (screen, lines) = mpsc::unbounded_channel();
        let (records, answer) = oneshot::channel();
        let _ = self.events.send(Event::OwnerAttach { screen, records });
        (answer.await.unwrap_or_default(), lines)
    }

    pub fn detach(&self) {
        let _ = self.events.send(Event::OwnerDetach);
    }

    /// The owner says something.
    pub fn say(&self, text: String) {
        let _ = self.events.send(Event::OwnerSaid { text });
    }

    /// Closes the room: every member is told, the port is released, and the
    /// history comes back for a later `restart-chatroom`. Waits (briefly)
    /// until the members' connections have been flushed and closed, so the
    /// owner's client may exit right after.
    pub async fn close(mut self) -> History {
        self.accept.abort();
        let _ = (&mut self.accept).await;
        let _ = self.closing.send(true);
        let _ = self.events.send(Event::Close);
        let history = (&mut self.room).await.unwrap_or_default();
        let _ = tokio::time::timeout(Duration::from_secs(3), self.alive.recv()).await;
        history
    }
}

/// What every member task needs.
struct MemberContext {
    key: RoomKey,
    room: String,
    replay: Mutex<ReplayGuard>,
    limits: HostLimits,
    events: mpsc::UnboundedSender<Event>,
    closed: watch::Receiver<bool>,
}

async fn accept_loop(listener: TcpListener, context: Arc<MemberContext>, alive: mpsc::Sender<()>) {
    let mut next_id = 0u64;
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                next_id += 1;
                let (context, alive) = (Arc::clone(&context), alive.clone());
                tokio::spawn(async move {
                    serve_member(stream, peer, next_id, context).await;
                    drop(alive);
                });
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Reads lines (frames) from one connection; cancel-safe, so it can sit in
/// a `select!`.
pub(crate) struct FrameReader {
    reader: OwnedReadHalf,
    buf: BytesMut,
    decoder: LineDecoder,
}

impl FrameReader {
    pub(crate) fn new(reader: OwnedReadHalf, max: usize) -> FrameReader {
        FrameReader { reader, buf: BytesMut::new(), decoder: LineDecoder::new(max) }
    }

    /// The next line; `None` at the end of the connection.
    pub(crate) async fn next(&mut self) -> Option<Result<String, LineError>> {
        loop {
            if let Some(line) = self.decoder.decode(&mut self.buf) {
                return Some(line);
            }
            self.buf.reserve(8192);
            match self.reader.read_buf(&mut self.buf).await {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }
}

async fn serve_member(stream: TcpStream, peer: SocketAddr, id: u64, context: Arc<MemberContext>) {
    let _ = stream.set_nodelay(true);
    let (reader, mut writer) = stream.into_split();
    let mut frames = FrameReader::new(reader, context.limits.max_frame);
    let mut closed = context.closed.clone();
    let hello = tokio::select! {
        hello = tokio::time::timeout(context.limits.hello_timeout, frames.next()) => hello,
        _ = async { closed.wait_for(|closed| *closed).await.map(|_| ()) } => {
            return refuse(&mut writer, "The chatroom is close.").await;
        }
    };
    let ticket = match hello {
        Ok(Some(Ok(line))) => match chat::decode::<MemberFrame>(line.as_bytes()) {
            Ok(MemberFrame::Hello { ticket }) => ticket,
            _ => return refuse(&mut writer, "A ticket from the BBS server is needed: use join-chatroom.").await,
        },
        _ => return refuse(&mut writer, "A ticket from the BBS server is needed: use join-chatroom.").await,
    };
    let admitted = context.replay.lock().expect("replay lock").admit(&ticket, &context.key, &context.room, unix_now());
    if let Err(e) = admitted {
        return refuse(&mut writer, &format!("Refused: {e}.")).await;
    }
    if ticket.joiner == context.room {
        return refuse(&mut writer, "The owner enters with attach.").await;
    }
    let (queue, outgoing) = mpsc::channel(context.limits.queue);
    let mut writing = tokio::spawn(write_frames(writer, outgoing));
    let _ = context.events.send(Event::Joined { id, name: ticket.joiner, ip: peer.ip(), queue });
    let mut bucket = TokenBucket::new(context.limits.rate_per_sec, context.limits.burst);
    let limits = &context.limits;
    let mut written = false;
    loop {
        let line = tokio::select! {
            line = frames.next() => line,
            // The room dropped this member (closed, too slow, refused).
            _ = &mut writing => {
                written = true;
                break;
            }
        };
        let notice = match line {
            None => break,
            Some(Err(LineError::TooLong(_))) => Some(too_long_message(limits.max_text)),
            Some(Err(LineError::InvalidUtf8)) => Some("Your message is not valid UTF-8; it was not sent.".to_owned()),
            Some(Ok(line)) => match chat::decode::<MemberFrame>(line.as_bytes()) {
                Ok(MemberFrame::Leave) => break,
                Ok(MemberFrame::Say { text }) if text.len() > limits.max_text => {
                    Some(too_long_message(limits.max_text))
                }
                Ok(MemberFrame::Say { text }) => {
                    if bucket.take() {
                        let _ = context.events.send(Event::Said { id, text });
                        None
                    } else {
                        Some("You are sending messages too fast; this one was not sent.".to_owned())
                    }
                }
                Ok(MemberFrame::Hello { .. }) | Err(_) => {
                    Some("That was not a chat message; it was ignored.".to_owned())
                }
            },
        };
        if let Some(text) = notice {
            let _ = context.events.send(Event::Notice { id, text });
        }
    }
    let _ = context.events.send(Event::Left { id });
    if !written {
        // Let the last frames reach the member before the connection goes.
        if tokio::time::timeout(Duration::from_secs(3), &mut writing).await.is_err() {
            writing.abort();
        }
    }
}

async fn refuse(writer: &mut OwnedWriteHalf, reason: &str) {
    let frame = chat::encode(&HostFrame::Refused { reason: reason.to_owned() });
    let _ = writer.write_all(&frame).await;
    let _ = writer.shutdown().await;
}

/// Writes queued frames until the room drops the queue, then closes.
async fn write_frames(writer: OwnedWriteHalf, mut outgoing: mpsc::Receiver<Arc<[u8]>>) {
    let mut writer = BufWriter::new(writer);
    while let Some(frame) = outgoing.recv().await {
        if writer.write_all(&frame).await.is_err() {
            return;
        }
        // Write whatever else is already queued before flushing once.
        while let Ok(frame) = outgoing.try_recv() {
            if writer.write_all(&frame).await.is_err() {
                return;
            }
        }
        if writer.flush().await.is_err() {
            return;
        }
    }
    let _ = writer.shutdown().await;
}

/// Message rate limit: `rate` per second on average, `burst` at once.
struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(rate: f64, burst: f64) -> TokenBucket {
        TokenBucket { rate, burst, tokens: burst, last: Instant::now() }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

struct Member {
    name: String,
    ip: IpAddr,
    queue: mpsc::Sender<Arc<[u8]>>,
}

struct Room {
    owner: String,
    members: HashMap<u64, Member>,
    owner_screen: Option<mpsc::UnboundedSender<String>>,
    history: History,
    limits: HostLimits,
}

async fn run_room(
    mut inbox: mpsc::UnboundedReceiver<Event>,
    owner: String,
    history: History,
    limits: HostLimits,
) -> History {
    let mut room = Room { owner, members: HashMap::new(), owner_screen: None, history, limits };
    while let Some(event) = inbox.recv().await {
        match event {
            Event::Joined { id, name, ip, queue } => room.join(id, name, ip, queue),
            Event::Said { id, text } => {
                if let Some(name) = room.members.get(&id).map(|m| m.name.clone()) {
                    room.say(Some(id), name, text);
                }
            }
            Event::Notice { id, text } => {
                let frame = encoded(&HostFrame::System { time: clock(), text });
                room.send_to(id, frame);
            }
            Event::Left { id } => room.leave(id),
            Event::OwnerAttach { screen, records } => {
                let _ = records.send(room.history.latest());
                room.owner_screen = Some(screen);
            }
            Event::OwnerDetach => room.owner_screen = None,
            Event::OwnerSaid { text } => {
                let owner = room.owner.clone();
                room.say(None, owner, text);
            }
            Event::Close => {
                let frame = encoded(&HostFrame::Closed { time: clock() });
                for (_, member) in room.members.drain() {
                    let _ = member.queue.try_send(Arc::clone(&frame));
                }
                return room.history;
            }
        }
    }
    room.history
}

fn encoded(frame: &HostFrame) -> Arc<[u8]> {
    chat::encode(frame).into()
}

impl Room {
    fn join(&mut self, id: u64, name: String, ip: IpAddr, queue: mpsc::Sender<Arc<[u8]>>) {
        let refusal = if self.members.len() >= self.limits.max_members {
            Some("The chatroom is full.".to_owned())
        } else if self.members.values().filter(|m| m.ip == ip).count() >= self.limits.max_per_ip {
            Some(format!("Too many members from your address (at most {}).", self.limits.max_per_ip))
        } else if self.members.values().any(|m| m.name == name) {
            Some(format!("{name} is already in this chatroom."))
        } else {
            None
        };
        if let Some(reason) = refusal {
            // Dropping the queue after this frame closes the connection.
            let _ = queue.try_send(encoded(&HostFrame::Refused { reason }));
            return;
        }
        let welcome = encoded(&HostFrame::Welcome { records: self.history.latest() });
        if queue.try_send(welcome).is_err() {
            return;
        }
        tracing::debug!(member = %name, %ip, "member joined");
        self.system(None, &format!("{name} join us."));
        self.members.insert(id, Member { name, ip, queue });
    }

    fn leave(&mut self, id: u64) {
        if let Some(member) = self.members.remove(&id) {
            tracing::debug!(member = %member.name, "member left");
            self.system(None, &format!("{} leave us.", member.name));
        }
    }

    /// A record from `sender` (`None`: the owner) to everybody else.
    fn say(&mut self, sender: Option<u64>, name: String, text: String) {
        if text.trim().is_empty() {
            return;
        }
        let record = Record { sender: name, time: clock(), text: chat::neutralise(&text) };
        self.history.push(record.clone());
        tracing::debug!(sender = %record.sender, kept = self.history.records.len(), "chat record");
        if sender.is_some() {
            if let Some(screen) = &self.owner_screen {
                let _ = screen.send(record.display());
            }
        }
        self.broadcast(sender, encoded(&HostFrame::Message { record }));
    }

    /// A `sys` line to everybody but `except` (never kept as a record).
    fn system(&mut self, except: Option<u64>, text: &str) {
        let time = clock();
        if let Some(screen) = &self.owner_screen {
            let _ = screen.send(chat::system_line(&time, text));
        }
        self.broadcast(except, encoded(&HostFrame::System { time, text: text.to_owned() }));
    }

    fn send_to(&mut self, id: u64, frame: Arc<[u8]>) {
        if let Some(member) = self.members.get(&id) {
            if member.queue.try_send(frame).is_err() {
                self.drop_members(vec![id]);
            }
        }
    }

    /// Queues `frame` for every member but `except`; members whose queue is
    /// full are dropped (and the others told they left).
    fn broadcast(&mut self, except: Option<u64>, frame: Arc<[u8]>) {
        let slow: Vec<u64> = self
            .members
            .iter()
            .filter(|(id, _)| Some(**id) != except)
            .filter(|(_, member)| member.queue.try_send(Arc::clone(&frame)).is_err())
            .map(|(id, _)| *id)
            .collect();
        self.drop_members(slow);
    }

    fn drop_members(&mut self, mut ids: Vec<u64>) {
        while let Some(id) = ids.pop() {
            let Some(member) = self.members.remove(&id) else { continue };
            drop(member.queue);
            let time = clock();
            let text = format!("{} leave us.", member.name);
            if let Some(screen) = &self.owner_screen {
                let _ = screen.send(chat::system_line(&time, &text));
            }
            let frame = encoded(&HostFrame::System { time, text });
            for (other, member) in &self.members {
                if member.queue.try_send(Arc::clone(&frame)).is_err() {
                    ids.push(*other);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_shows_the_latest_three_oldest_first() {
        let mut history = History::default();
        for i in 0..5 {
            history.push(Record { sender: "a".into(), time: "00:00".into(), text: i.to_string() });
        }
        let texts: Vec<String> = history.latest().into_iter().map(|r| r.text).collect();
        assert_eq!(texts, ["2", "3", "4"]);
    }

    #[test]
    fn the_bucket_allows_a_burst_then_refuses() {
        let mut bucket = TokenBucket::new(0.001, 3.0);
        assert!(bucket.take() && bucket.take() && bucket.take());
        assert!(!bucket.take());
    }
}
