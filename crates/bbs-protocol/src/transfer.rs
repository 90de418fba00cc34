//! File transfers over UDP: the datagrams, and the two state machines
//! (sender and receiver) both `bbs` and `bbsd` drive. The state machines do
//! no I/O: the caller passes in what arrived and the time, and gets back
//! what to send, so the same code runs on both sides and is tested alone.
//! The I/O both sides share is in the submodules: [`disk`] (resuming,
//! reading the file in blocks) and [`socket`] (batched UDP).
//!
//! # How a transfer starts
//!
//! The command goes over the TCP connection (`send-file`, `get-file`); the
//! answer carries a transfer id of 16 random bytes, the file's size, for a
//! download its SHA-256, and, for an upload, the byte offset the server
//! already holds from an earlier, interrupted attempt. The id is a secret:
//! only the TCP session that asked for the transfer learns it. The client
//! then sends a [`Datagram::Hello`] carrying the id from its UDP socket to
//! the server's UDP port. The server accepts the hello only from the IP
//! address of the TCP session, and from then on exchanges the transfer's
//! datagrams with exactly that address and port; a datagram with an unknown
//! id, or from any other address, is dropped without an answer. The hello
//! is padded to [`HELLO_SIZE`] bytes, so nothing the server sends in answer
//! to it is larger than what it carried.
//!
//! An upload's request does not carry the file's SHA-256: hashing a large
//! file takes about as long as sending it, so the client starts sending at
//! once and hashes the file alongside. The request carries a cheap *resume
//! key* instead ([`disk::resume_key`]: size, modification time, first and
//! last MiB), which names the partial file an interrupted upload continues
//! from. The SHA-256 follows at the end in a [`Datagram::Digest`]; the
//! server compares it with what it hashed as the bytes arrived and keeps
//! the file only if they match. A change to the local file that the key
//! cannot see (the middle rewritten and the modification time put back)
//! makes the resumed bytes differ from the digest: the server answers
//! damaged and removes the partial file, and the next attempt starts from
//! the beginning. A wrong file is never kept.
//!
//! # Datagrams
//!
//! Every transfer datagram starts with [`MARK`] (`0xFF`, a byte that begins
//! no UTF-8 text, so the server's UDP door tells them from text requests by
//! the first byte), then a kind byte, then the 16-byte id. Integers are
//! big-endian.
//!
//! ```text
//! hello:  FF 01 id[16] resume:u64 padding to HELLO_SIZE
//! data:   FF 02 id[16] chunk:u64 sent_at:u64 payload[..CHUNK]
//! ack:    FF 03 id[16] next:u64 echo:u64 window:u32 status:u8 n:u8
//!         n × (start:u32 length:u32)
//! digest: FF 04 id[16] sha256[32]
//! ```
//!
//! - The file is cut into chunks of [`CHUNK`] bytes (the last one shorter,
//!   an empty file has none); `chunk` is the chunk's number, so a data
//!   datagram is at most [`MAX_DATAGRAM`] bytes, under 1,200, and crosses
//!   any path without IP fragmentation.
//! - `resume` (hello) is the number of chunks the receiver already holds
//!   (used for downloads: the client is the receiver).
//! - `sent_at` is the sender's clock in microseconds; the receiver echoes
//!   the `sent_at` of the newest data it got in `echo`, which gives the
//!   sender a round-trip sample that is never confused by retransmissions
//!   (as TCP's timestamps option does).
//! - `next`: every chunk below it has arrived (cumulative acknowledgement).
//!   The ranges are selective acknowledgements (SACK): chunks
//!   `next + start .. next + start + length` arrived too, lowest first, at
//!   most [`MAX_RANGES`]. `window` is how many chunks from `next` on the
//!   receiver will take (flow control).
//! - `status`: [`Status::Running`], [`Status::Complete`] (every byte
//!   arrived, the SHA-256 matched and the file is kept) or
//!   [`Status::Damaged`] (every byte arrived but the SHA-256 did not
//!   match: nothing is kept). An upload stays running, with every chunk
//!   acknowledged, until its digest has arrived.
//! - `digest` (uploads only, client to server): the SHA-256 of the whole
//!   file, sent from the transfer's address once every chunk is
//!   acknowledged and the hash is ready, and repeated (backing off) until an
//!   acknowledgement says complete or damaged. The server takes it only
//!   from the address the hello fixed, like data, so it answers no unproven
//!   address; the first digest counts, repeats change nothing.
//!
//! # Reliability and congestion control
//!
//! The receiver keeps out-of-order chunks within its window and hands
//! bytes on strictly in order, so what is on disk is always a prefix of the
//! file (which is what makes resuming simple: the prefix's length is the
//! offset). Duplicates are counted once; every datagram is acknowledged,
//! the caller acknowledging once per batch of datagrams read together
//! (twice for a large batch, or while chunks are missing: see
//! [`Receiver::ack_copies`]).
//!
//! The sender stamps every datagram with its sending time. A chunk is
//! declared lost when the acknowledgement echoes the time of a datagram sent
//! at least a reordering window later (a quarter of the smallest round
//! trip, see [`REORDER_MIN_US`]) and does not list the chunk (time-based,
//! as RACK, RFC 8985: a late original is never mistaken for its
//! retransmission), or when the retransmission timeout expires (then the
//! oldest chunk in flight is sent again, and every chunk in flight for more
//! than four timeouts is declared lost with it); the timeout follows RFC 6298
//! (smoothed RTT plus four deviations, at least twice the smoothed RTT and
//! [`MIN_RTO_US`], doubled on every expiry without progress), and a second
//! expiry in a row halves the window, undone if the next acknowledgement
//! shows the path was only slow (RFC 3522).
//!
//! The sending window (chunks in flight) starts at [`INITIAL_WINDOW`] and
//! doubles every round trip (slow start) until the first sign of
//! congestion, then grows by one chunk per round trip. Three signals shrink
//! it, at most once per round trip: queuing delay (the smoothed round trip
//! over twice the smallest one seen, plus [`DELAY_SLACK_US`]) cuts it by 30%,
//! as a queue building up at a bottleneck is the earliest sign of
//! congestion; a loss while every round trip of the last round shows a
//! queue (see [`QUEUE_SLACK_US`]) cuts it by 30%, as that queue overflowed; and losses
//! above [`LOSS_TOLERANCE`] of a round trip's datagrams halve it. A few
//! percent of random loss (a radio link, or the lossy relay of our tests)
//! therefore costs retransmissions but not speed, while a path that really
//! overflows shows a queue with its losses.

use std::collections::{BTreeMap, BTreeSet};

pub mod disk;
pub mod socket;

/// First byte of every transfer datagram (no text request starts with it).
pub const MARK: u8 = 0xFF;

/// Payload bytes per data datagram.
pub const CHUNK: usize = 1152;

/// Bytes of a data datagram before its payload.
pub const DATA_HEADER: usize = 2 + 16 + 8 + 8;

/// The largest transfer datagram (a full data datagram).
pub const MAX_DATAGRAM: usize = DATA_HEADER + CHUNK;

/// A hello's size: the client pads it so the server never answers an
/// unproven address with more bytes than it received.
pub const HELLO_SIZE: usize = MAX_DATAGRAM;

/// Most SACK ranges in one acknowledgement.
pub const MAX_RANGES: usize = 128;

/// The acknowledgement of a batch of at least this many datagrams goes out
/// twice (see [`Receiver::ack_copies`]).
pub const ACK_TWICE: usize = 16;

/// Chunks the receiver holds beyond its in-order prefix.
pub const RECEIVE_WINDOW: u64 = 8192;

/// Chunks in flight at the start.
pub const INITIAL_WINDOW: f64 = 32.0;

/// The window never shrinks below this.
pub const MIN_WINDOW: f64 = 4.0;

/// The window never grows beyond this (with [`CHUNK`], about 9 MiB).
pub const MAX_WINDOW: f64 = 8192.0;

/// A chunk is lost once a chunk sent this long after it (a quarter of the
/// smallest round trip, within these bounds, in µs) has arrived.
pub const REORDER_MIN_US: u64 = 100;
pub const REORDER_MAX_US: u64 = 20_000;

/// Share of a round trip's datagrams that may be lost before the window
/// shrinks for it.
pub const LOSS_TOLERANCE: f64 = 0.35;

/// Fewest datagrams (acknowledged or lost) the loss rate is judged on.
pub const LOSS_SAMPLE: u64 = 64;

/// Queuing delay allowed beyond twice the smallest round trip, in µs.
pub const DELAY_SLACK_US: u64 = 10_000;

/// The least queuing delay (above the smallest round trip, in µs) taken
/// for a queue when a loss comes with it.
pub const QUEUE_SLACK_US: u64 = 2_000;

/// What a loss with a queue leaves of the window.
pub const QUEUE_LOSS_CUT: f64 = 0.7;

/// Bounds of the retransmission timeout, in µs. The floor is low enough
/// for a path of a millisecond (the timeout is also at least twice the
/// smoothed round trip, and four deviations above it); lower, a queue
/// filling in slow start outruns the smoothed round trip and the timer
/// fires while nothing is lost (the protocol tests show it). The ceiling
/// keeps a dead path probed.
pub const MIN_RTO_US: u64 = 5_000;
pub const MAX_RTO_US: u64 = 2_000_000;
/// The timeout before any round trip was measured.
pub const INITIAL_RTO_US: u64 = 250_000;

pub type TransferId = [u8; 16];

/// A file's SHA-256, as the digest datagram carries it.
pub type Sha256Digest = [u8; 32];

/// How many chunks a file of `size` bytes has.
pub fn chunks_of(size: u64) -> u64 {
    size.div_ceil(CHUNK as u64)
}

/// The payload length of chunk `chunk` of a file of `size` bytes.
pub fn chunk_len(size: u64, chunk: u64) -> usize {
    let start = chunk * CHUNK as u64;
    (size.saturating_sub(start)).min(CHUNK as u64) as usize
}

/// What the receiver says about the transfer as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Running = 0,
    Complete = 1,
    Damaged = 2,
}

/// One acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub next: u64,
    pub echo: u64,
    pub window: u32,
    pub status: Status,
    /// `(start, length)` relative to `next`, lowest first.
    pub ranges: Vec<(u32, u32)>,
}

/// One transfer datagram, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Datagram<'a> {
    Hello { id: TransferId, resume: u64 },
    Data { id: TransferId, chunk: u64, sent_at: u64, payload: &'a [u8] },
    Ack { id: TransferId, ack: Ack },
    Digest { id: TransferId, sha256: Sha256Digest },
}

const HELLO: u8 = 1;
const DATA: u8 = 2;
const ACK: u8 = 3;
const DIGEST: u8 = 4;

/// A digest datagram's size.
pub const DIGEST_SIZE: usize = 2 + 16 + 32;

impl Datagram<'_> {
    pub fn id(&self) -> &TransferId {
        match self {
            Datagram::Hello { id, .. }
            | Datagram::Data { id, .. }
            | Datagram::Ack { id, .. }
            | Datagram::Digest { id, .. } => id,
        }
    }

    /// Decodes a datagram; `None` for anything malformed.
    pub fn decode(bytes: &[u8]) -> Option<Datagram<'_>> {
        if bytes.len() < 18 || bytes[0] != MARK || bytes.len() > MAX_DATAGRAM {
            return None;
        }
        let id: TransferId = bytes[2..18].try_into().ok()?;
        let body = &bytes[18..];
        let u64_at = |at: usize| -> Option<u64> { Some(u64::from_be_bytes(body.get(at..at + 8)?.try_into().ok()?)) };
        let u32_at = |at: usize| -> Option<u32> { Some(u32::from_be_bytes(body.get(at..at + 4)?.try_into().ok()?)) };
        match bytes[1] {
            HELLO => Some(Datagram::Hello { id, resume: u64_at(0)? }),
            DATA => {
                let (chunk, sent_at) = (u64_at(0)?, u64_at(8)?);
                Some(Datagram::Data { id, chunk, sent_at, payload: &body[16..] })
            }
            ACK => {
                let (next, echo, window) = (u64_at(0)?, u64_at(8)?, u32_at(16)?);
                let status = match *body.get(20)? {
                    0 => Status::Running,
                    1 => Status::Complete,
                    2 => Status::Damaged,
                    _ => return None,
                };
                let n = *body.get(21)? as usize;
                if n > MAX_RANGES || body.len() != 22 + 8 * n {
                    return None;
                }
                let ranges = (0..n).map(|i| Some((u32_at(22 + 8 * i)?, u32_at(26 + 8 * i)?))).collect::<Option<_>>()?;
                Some(Datagram::Ack { id, ack: Ack { next, echo, window, status, ranges } })
            }
            DIGEST => Some(Datagram::Digest { id, sha256: body.try_into().ok()? }),
            _ => None,
        }
    }
}

fn header(kind: u8, id: &TransferId, out: &mut Vec<u8>) {
    out.clear();
    out.push(MARK);
    out.push(kind);
    out.extend_from_slice(id);
}

/// Encodes a hello, padded to [`HELLO_SIZE`].
pub fn encode_hello(id: &TransferId, resume: u64, out: &mut Vec<u8>) {
    header(HELLO, id, out);
    out.extend_from_slice(&resume.to_be_bytes());
    out.resize(HELLO_SIZE, 0);
}

/// Encodes a data datagram; `payload` is at most [`CHUNK`] bytes.
pub fn encode_data(id: &TransferId, chunk: u64, sent_at: u64, payload: &[u8], out: &mut Vec<u8>) {
    debug_assert!(payload.len() <= CHUNK);
    header(DATA, id, out);
    out.extend_from_slice(&chunk.to_be_bytes());
    out.extend_from_slice(&sent_at.to_be_bytes());
    out.extend_from_slice(payload);
}

/// Encodes an acknowledgement.
pub fn encode_ack(id: &TransferId, ack: &Ack, out: &mut Vec<u8>) {
    header(ACK, id, out);
    out.extend_from_slice(&ack.next.to_be_bytes());
    out.extend_from_slice(&ack.echo.to_be_bytes());
    out.extend_from_slice(&ack.window.to_be_bytes());
    out.push(ack.status as u8);
    let n = ack.ranges.len().min(MAX_RANGES);
    out.push(n as u8);
    for (start, length) in &ack.ranges[..n] {
        out.extend_from_slice(&start.to_be_bytes());
        out.extend_from_slice(&length.to_be_bytes());
    }
}

/// Encodes an upload's digest: the SHA-256 of the whole file.
pub fn encode_digest(id: &TransferId, sha256: &Sha256Digest, out: &mut Vec<u8>) {
    header(DIGEST, id, out);
    out.extend_from_slice(sha256);
}

/// Bytes at most in one batch of data datagrams sent with one system call
/// (UDP GSO takes at most 64 KiB at once).
const BATCH_BYTES: usize = 64_000;

/// A run of data datagrams, back to back in one buffer, to leave in one
/// system call (see [`socket::TransferSocket::send_batch`]): every one is
/// [`MAX_DATAGRAM`] bytes but the last, which may be shorter (the file's
/// last chunk), as GSO requires.
#[derive(Debug)]
pub struct DataBatch {
    bytes: Vec<u8>,
    datagrams: usize,
    most: usize,
    closed: bool,
}

impl DataBatch {
    /// A batch of at most `most` datagrams (and never more than fit in
    /// 64 KiB).
    pub fn new(most: usize) -> DataBatch {
        let most = most.clamp(1, BATCH_BYTES / MAX_DATAGRAM);
        DataBatch { bytes: Vec::with_capacity(most * MAX_DATAGRAM), datagrams: 0, most, closed: false }
    }

    /// Appends a data datagram; the batch must not be [`full`](Self::full).
    pub fn push(&mut self, id: &TransferId, chunk: u64, sent_at: u64, payload: &[u8]) {
        debug_assert!(!self.full());
        self.bytes.extend_from_slice(&[MARK, DATA]);
        self.bytes.extend_from_slice(id);
        self.bytes.extend_from_slice(&chunk.to_be_bytes());
        self.bytes.extend_from_slice(&sent_at.to_be_bytes());
        self.bytes.extend_from_slice(payload);
        self.datagrams += 1;
        // Nothing may follow a short datagram.
        self.closed = payload.len() < CHUNK;
    }

    /// Whether the batch must be sent before another datagram is added.
    pub fn full(&self) -> bool {
        self.closed || self.datagrams >= self.most
    }

    pub fn is_empty(&self) -> bool {
        self.datagrams == 0
    }

    pub fn len(&self) -> usize {
        self.datagrams
    }

    /// The datagrams, back to back.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The size of each datagram but the last.
    pub fn segment_size(&self) -> usize {
        MAX_DATAGRAM
    }

    pub fn clear(&mut self) {
        self.bytes.clear();
        self.datagrams = 0;
        self.closed = false;
    }
}

// ---------------------------------------------------------------------------
// Receiver.

/// What a data datagram did at the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// New bytes, kept.
    New,
    /// Already held (a duplicate, or a retransmission that crossed its ack).
    Duplicate,
    /// Not part of this file (wrong length, beyond the end) or beyond the
    /// window: dropped.
    Refused,
}

/// The receiving side: holds out-of-order chunks and hands bytes on in
/// order.
#[derive(Debug)]
pub struct Receiver {
    size: u64,
    total: u64,
    /// Every chunk below this was handed on (or held before we started).
    next: u64,
    /// Chunks above `next`, waiting for the gap below them.
    held: BTreeMap<u64, Vec<u8>>,
    /// In-order bytes not yet taken (see [`Receiver::ready`]), one buffer
    /// for a whole batch of datagrams rather than one per chunk.
    ready: Vec<u8>,
    echo: u64,
}

impl Receiver {
    /// A receiver of a file of `size` bytes that already holds the first
    /// `resume` chunks.
    pub fn new(size: u64, resume: u64) -> Receiver {
        let total = chunks_of(size);
        Receiver { size, total, next: resume.min(total), held: BTreeMap::new(), ready: Vec::new(), echo: 0 }
    }

    pub fn on_data(&mut self, chunk: u64, sent_at: u64, payload: &[u8]) -> Arrival {
        if chunk >= self.total || payload.len() != chunk_len(self.size, chunk) {
            return Arrival::Refused;
        }
        if chunk >= self.next + RECEIVE_WINDOW {
            return Arrival::Refused;
        }
        self.echo = sent_at;
        if chunk < self.next || self.held.contains_key(&chunk) {
            return Arrival::Duplicate;
        }
        if chunk == self.next {
            self.ready.extend_from_slice(payload);
            self.next += 1;
            while let Some(bytes) = self.held.remove(&self.next) {
                self.ready.extend_from_slice(&bytes);
                self.next += 1;
            }
        } else {
            self.held.insert(chunk, payload.to_vec());
        }
        Arrival::New
    }

    /// The bytes that became contiguous since the last
    /// [`Receiver::clear_ready`], in order.
    pub fn ready(&self) -> &[u8] {
        &self.ready
    }

    /// The caller has taken the [`Receiver::ready`] bytes.
    pub fn clear_ready(&mut self) {
        self.ready.clear();
    }

    /// Takes the [`Receiver::ready`] bytes out to hand them to another
    /// thread, leaving `spare` (emptied; a buffer back from that thread, so
    /// no batch allocates) in their place.
    pub fn take_ready(&mut self, mut spare: Vec<u8>) -> Vec<u8> {
        spare.clear();
        std::mem::replace(&mut self.ready, spare)
    }

    /// Whether every chunk arrived (and was handed on).
    pub fn is_complete(&self) -> bool {
        self.next == self.total
    }

    /// How many copies of the acknowledgement of a batch of `datagrams`
    /// to send: two for a batch of [`ACK_TWICE`] or more (one
    /// acknowledgement stands for the whole run, and losing it would leave
    /// the sender waiting for its timeout), and two while chunks beyond a
    /// missing one are held (on a lossy path a small window's one
    /// acknowledgement is all the sender hears, and each one lost cost a
    /// timeout); one otherwise.
    pub fn ack_copies(&self, datagrams: usize) -> usize {
        if datagrams >= ACK_TWICE || !self.held.is_empty() {
            2
        } else {
            1
        }
    }

    /// Chunks held in order from the start.
    pub fn next(&self) -> u64 {
        self.next
    }

    /// The acknowledgement describing what arrived.
    pub fn ack(&self, status: Status) -> Ack {
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        let mut current: Option<(u64, u64)> = None;
        for &chunk in self.held.keys() {
            match current {
                Some((start, end)) if end == chunk => current = Some((start, end + 1)),
                _ => {
                    if let Some((start, end)) = current {
                        ranges.push(((start - self.next) as u32, (end - start) as u32));
                        if ranges.len() == MAX_RANGES {
                            current = None;
                            break;
                        }
                    }
                    current = Some((chunk, chunk + 1));
                }
            }
        }
        if let Some((start, end)) = current {
            ranges.push(((start - self.next) as u32, (end - start) as u32));
        }
        let room = RECEIVE_WINDOW.saturating_sub(self.held.len() as u64) as u32;
        Ack { next: self.next, echo: self.echo, window: room, status, ranges }
    }
}

// ---------------------------------------------------------------------------
// Sender.

/// A chunk in flight.
#[derive(Debug, Clone, Copy)]
struct Flight {
    tx: u64,
    sent_at: u64,
}

/// The sending side: which chunk to send next, the window, the timer.
#[derive(Debug)]
pub struct Sender {
    total: u64,
    /// Every chunk below this is acknowledged.
    acked_below: u64,
    /// The next chunk never sent.
    next_new: u64,
    /// Chunks in flight (sent, neither acknowledged nor declared lost).
    in_flight: BTreeMap<u64, Flight>,
    /// The same, by transmission number.
    by_tx: BTreeMap<u64, u64>,
    /// Chunks declared lost, waiting to be sent again.
    lost: BTreeSet<u64>,
    next_tx: u64,
    /// The receiver's flow-control limit: chunks below this may be sent.
    limit: u64,
    window: f64,
    slow_start: bool,
    srtt: Option<u64>,
    rttvar: u64,
    min_rtt: u64,
    /// Consecutive timeouts without progress (doubles the timeout).
    backoff: u32,
    /// The round trip being measured for the window's signals: it ends
    /// when a transmission numbered at least this is acknowledged.
    round_end: u64,
    /// Chunks acknowledged and declared lost in this round.
    round_acked: u64,
    round_lost: u64,
    /// Smoothed share of datagrams lost, over recent samples.
    loss_rate: f64,
    /// A cut already happened in this round.
    round_cut: bool,
    /// The smallest round trip sampled in this round, and in the last one
    /// (a queue raises every sample of a round; a busy scheduler only some).
    round_min_rtt: u64,
    last_round_min_rtt: Option<u64>,
    /// The window before a timeout cut it, while it may prove spurious.
    undo: Option<Undo>,
    /// The timer fired: the chunk it declared lost goes out even if the
    /// window is full (of chunks lost unnoticed: waiting for them to be
    /// acknowledged would stall until the next, doubled, timeout).
    probe: bool,
    /// Datagrams sent again (for the figures).
    pub retransmissions: u64,
    /// What shrank the window, and how often (for the figures).
    pub delay_cuts: u64,
    pub loss_cuts: u64,
    pub queue_loss_cuts: u64,
    pub timeouts: u64,
    pub spurious_timeouts: u64,
}

/// What a timeout's cut undoes.
#[derive(Debug, Clone, Copy)]
struct Undo {
    window: f64,
    slow_start: bool,
    /// When the timer fired (µs).
    at: u64,
}

impl Sender {
    /// A sender of a file of `size` bytes whose receiver holds the first
    /// `resume` chunks.
    pub fn new(size: u64, resume: u64) -> Sender {
        let total = chunks_of(size);
        let start = resume.min(total);
        Sender {
            total,
            acked_below: start,
            next_new: start,
            in_flight: BTreeMap::new(),
            by_tx: BTreeMap::new(),
            lost: BTreeSet::new(),
            next_tx: 0,
            limit: start + RECEIVE_WINDOW,
            window: INITIAL_WINDOW,
            slow_start: true,
            srtt: None,
            rttvar: 0,
            min_rtt: u64::MAX,
            backoff: 0,
            round_end: 0,
            round_acked: 0,
            round_lost: 0,
            round_cut: false,
            round_min_rtt: u64::MAX,
            last_round_min_rtt: None,
            loss_rate: 0.0,
            retransmissions: 0,
            delay_cuts: 0,
            loss_cuts: 0,
            queue_loss_cuts: 0,
            timeouts: 0,
            spurious_timeouts: 0,
            undo: None,
            probe: false,
        }
    }

    /// Whether the receiver acknowledged every chunk.
    pub fn is_complete(&self) -> bool {
        self.acked_below == self.total
    }

    /// Chunks acknowledged in order from the start.
    pub fn acked(&self) -> u64 {
        self.acked_below
    }

    /// A line of figures about the transfer so far, for logs.
    pub fn summary(&self) -> String {
        format!(
            "window {:.0}, srtt {} µs, min rtt {} µs, retransmissions {}, cuts for delay {}, for loss {}, \
             for loss with a queue {}, timeouts {} ({} spurious)",
            self.window,
            self.srtt.unwrap_or(0),
            self.min_rtt,
            self.retransmissions,
            self.delay_cuts,
            self.loss_cuts,
            self.queue_loss_cuts,
            self.timeouts,
            self.spurious_timeouts
        )
    }

    /// The window, in chunks (for the figures).
    pub fn window(&self) -> f64 {
        self.window
    }

    /// The next chunk to send now, if the window allows one: a lost chunk
    /// first, else a new one. The caller sends it, stamped with `now`.
    pub fn next_to_send(&mut self, now: u64) -> Option<u64> {
        let probing = std::mem::take(&mut self.probe) && !self.lost.is_empty();
        if !probing && self.in_flight.len() as f64 >= self.window.floor() {
            return None;
        }
        let chunk = if let Some(chunk) = self.lost.pop_first() {
            self.retransmissions += 1;
            chunk
        } else if self.next_new < self.total && self.next_new < self.limit {
            self.next_new += 1;
            self.next_new - 1
        } else {
            return None;
        };
        let tx = self.next_tx;
        self.next_tx += 1;
        self.in_flight.insert(chunk, Flight { tx, sent_at: now });
        self.by_tx.insert(tx, chunk);
        Some(chunk)
    }

    /// Takes in an acknowledgement received at `now`.
    pub fn on_ack(&mut self, ack: &Ack, now: u64) {
        let mut newly = 0u64;
        let mut newest_tx: Option<u64> = None;
        let next = ack.next.min(self.total);
        if next > self.acked_below {
            // Everything below `next` arrived.
            let rest = self.in_flight.split_off(&next);
            for (_, flight) in std::mem::replace(&mut self.in_flight, rest) {
                self.by_tx.remove(&flight.tx);
                newest_tx = newest_tx.max(Some(flight.tx));
                newly += 1;
            }
            let rest = self.lost.split_off(&next);
            newly += std::mem::replace(&mut self.lost, rest).len() as u64;
            self.acked_below = next;
        }
        // Selectively acknowledged: only chunks in flight or waiting to be
        // sent again can be news (the rest were acknowledged before).
        let mut covered = next;
        for &(start, length) in &ack.ranges {
            let from = next.saturating_add(start as u64);
            let to = from.saturating_add(length as u64).min(self.total);
            if from >= to {
                continue;
            }
            let arrived: Vec<u64> = self.in_flight.range(from..to).map(|(&chunk, _)| chunk).collect();
            for chunk in arrived {
                if let Some(flight) = self.in_flight.remove(&chunk) {
                    self.by_tx.remove(&flight.tx);
                    newest_tx = newest_tx.max(Some(flight.tx));
                    newly += 1;
                }
            }
            let found: Vec<u64> = self.lost.range(from..to).copied().collect();
            for chunk in found {
                self.lost.remove(&chunk);
                newly += 1;
            }
            covered = covered.max(to);
        }
        // An acknowledgement with room for more ranges describes every
        // chunk: one it does not list has not arrived, however far beyond
        // the last range (a burst lost at the end of a window is found
        // without a timeout per chunk). A full one says nothing beyond its
        // last range.
        if ack.ranges.len() < MAX_RANGES {
            covered = self.total;
        }
        self.limit = self.limit.max(next.saturating_add(ack.window as u64));
        if ack.echo != 0 && now >= ack.echo {
            self.sample_rtt(now - ack.echo);
        }
        if newly > 0 {
            self.backoff = 0;
            // The first acknowledgement after a timeout echoes a datagram
            // sent before it: the path was slow (a busy scheduler), not
            // broken, and the timeout's cut is undone (as in RFC 3522).
            if let Some(undo) = self.undo.take() {
                if ack.echo != 0 && ack.echo < undo.at {
                    self.window = self.window.max(undo.window);
                    self.slow_start = undo.slow_start;
                    self.spurious_timeouts += 1;
                }
            }
        }
        // Loss: chunks sent well before the datagram whose sending time the
        // acknowledgement echoes (one that surely arrived: unlike a chunk
        // number, the time cannot mistake a late original for its
        // retransmission), within what this acknowledgement describes.
        if let Some(newest) = newest_tx {
            let horizon = ack.echo.saturating_sub(self.reorder_window());
            self.round_lost += self.declare_lost(horizon, covered);
            // A loss while the path holds a queue is the queue
            // overflowing: congestion, however few were lost. (Random loss
            // comes without the queue.)
            if self.round_lost > 0 && self.queuing() && !self.round_cut {
                self.queue_loss_cuts += 1;
                self.cut(QUEUE_LOSS_CUT);
            }
            self.round_acked += newly;
            self.grow(newly);
            if newest >= self.round_end {
                self.end_round();
            }
        }
    }

    /// Declares lost the chunks in flight sent before `sent_before` (µs),
    /// among those below `below`; returns how many.
    fn declare_lost(&mut self, sent_before: u64, below: u64) -> u64 {
        let in_flight = &self.in_flight;
        let old: Vec<(u64, u64)> = self
            .by_tx
            .iter()
            .take_while(|(_, chunk)| in_flight.get(chunk).is_some_and(|flight| flight.sent_at < sent_before))
            .filter(|(_, &chunk)| chunk < below)
            .map(|(&tx, &chunk)| (tx, chunk))
            .collect();
        for &(tx, chunk) in &old {
            self.by_tx.remove(&tx);
            self.in_flight.remove(&chunk);
            self.lost.insert(chunk);
        }
        old.len() as u64
    }

    fn sample_rtt(&mut self, rtt: u64) {
        self.min_rtt = self.min_rtt.min(rtt);
        self.round_min_rtt = self.round_min_rtt.min(rtt);
        match self.srtt {
            None => {
                self.srtt = Some(rtt);
                self.rttvar = rtt / 2;
            }
            Some(srtt) => {
                self.rttvar = (3 * self.rttvar + srtt.abs_diff(rtt)) / 4;
                self.srtt = Some((7 * srtt + rtt) / 8);
            }
        }
        // Queuing delay: the path is filling up. The smoothed round trip is
        // judged, so one late sample (a busy scheduler) is not taken for it.
        let srtt = self.srtt.unwrap_or(rtt);
        if srtt > 2 * self.min_rtt + DELAY_SLACK_US && !self.round_cut {
            self.delay_cuts += 1;
            self.cut(0.7);
        }
    }

    fn grow(&mut self, newly: u64) {
        if self.slow_start {
            self.window += newly as f64;
        } else {
            self.window += newly as f64 / self.window;
        }
        self.window = self.window.min(MAX_WINDOW);
    }

    fn cut(&mut self, factor: f64) {
        if self.round_cut {
            return;
        }
        self.round_cut = true;
        self.slow_start = false;
        self.window = (self.window * factor).max(MIN_WINDOW);
    }

    fn end_round(&mut self) {
        self.round_end = self.next_tx;
        self.round_cut = false;
        if self.round_min_rtt != u64::MAX {
            self.last_round_min_rtt = Some(std::mem::replace(&mut self.round_min_rtt, u64::MAX));
        }
        // The loss rate is judged over enough datagrams to mean something.
        let seen = self.round_acked + self.round_lost;
        if seen < LOSS_SAMPLE {
            return;
        }
        let rate = self.round_lost as f64 / seen as f64;
        self.loss_rate = 0.75 * self.loss_rate + 0.25 * rate;
        if self.loss_rate > LOSS_TOLERANCE && !self.round_cut {
            self.loss_cuts += 1;
            self.cut(0.5);
        }
        self.round_acked = 0;
        self.round_lost = 0;
    }

    /// How much earlier than an arrived datagram another must have been
    /// sent to be taken for lost rather than overtaken (as RACK, RFC 8985).
    fn reorder_window(&self) -> u64 {
        (self.min_rtt / 4).clamp(REORDER_MIN_US, REORDER_MAX_US)
    }

    /// Whether the path holds a queue: every round trip of the last round
    /// was above the smallest one ever seen by an eighth of it, and by at
    /// least [`QUEUE_SLACK_US`]. (A busy scheduler delays some datagrams
    /// of a round, a standing queue all of them.)
    fn queuing(&self) -> bool {
        let Some(recent) = self.last_round_min_rtt else { return false };
        recent > self.min_rtt.saturating_add((self.min_rtt / 8).max(QUEUE_SLACK_US))
    }

    /// The retransmission timeout now, in µs: RFC 6298's smoothed round
    /// trip plus four deviations, at least twice the smoothed round trip
    /// and [`MIN_RTO_US`], doubled for each expiry without progress.
    pub fn rto(&self) -> u64 {
        (self.base_rto() << self.backoff.min(6)).min(MAX_RTO_US)
    }

    /// The retransmission timeout before backoff.
    fn base_rto(&self) -> u64 {
        let base = match self.srtt {
            None => INITIAL_RTO_US,
            Some(srtt) => (srtt + (4 * self.rttvar).max(1_000)).max(2 * srtt),
        };
        base.clamp(MIN_RTO_US, MAX_RTO_US)
    }

    /// When the timer fires (µs, the caller's clock), if anything is in
    /// flight.
    pub fn deadline(&self) -> Option<u64> {
        let (_, &oldest) = self.by_tx.first_key_value()?;
        let flight = self.in_flight.get(&oldest)?;
        Some(flight.sent_at + self.rto())
    }

    /// The timer fired: the oldest chunk in flight is sent again (a loss at
    /// the tail, where no later arrival reveals it; once the retransmission
    /// arrives, its echoed time reveals every chunk lost before it), every
    /// chunk in flight for more than four timeouts is taken for lost, and
    /// the timeout doubles until progress resumes. A second expiry in a row
    /// means more than a lost datagram: the window halves (it never
    /// collapses; undone if the path proves only slow).
    pub fn on_timeout(&mut self, now: u64) {
        if self.deadline().is_none_or(|deadline| now < deadline) {
            return;
        }
        // The oldest chunk in flight is lost, and goes again at once.
        if let Some((_, chunk)) = self.by_tx.pop_first() {
            self.in_flight.remove(&chunk);
            self.lost.insert(chunk);
            self.probe = true;
        }
        // And so is every chunk in flight for more than four times the
        // timeout (before backoff): no queue holds a datagram that long, and
        // an acknowledgement full of ranges may never reach them. One
        // chunk per expiry left thousands of them waiting, each for its
        // own expiry, with the window shut behind them.
        self.declare_lost(now.saturating_sub(4 * self.base_rto()), self.total);
        self.timeouts += 1;
        self.backoff += 1;
        if self.backoff >= 2 {
            if self.undo.is_none() {
                self.undo = Some(Undo { window: self.window, slow_start: self.slow_start, at: now });
            }
            self.slow_start = false;
            self.window = (self.window / 2.0).max(MIN_WINDOW);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn datagrams_round_trip_and_stay_under_1200_bytes() {
        let id = [7u8; 16];
        let mut out = Vec::new();
        encode_hello(&id, 42, &mut out);
        assert_eq!(out.len(), HELLO_SIZE);
        assert_eq!(Datagram::decode(&out), Some(Datagram::Hello { id, resume: 42 }));
        let payload = vec![9u8; CHUNK];
        encode_data(&id, 5, 77, &payload, &mut out);
        assert!(out.len() < 1200);
        assert_eq!(Datagram::decode(&out), Some(Datagram::Data { id, chunk: 5, sent_at: 77, payload: &payload }));
        let ack = Ack {
            next: 3,
            echo: 9,
            window: 100,
            status: Status::Complete,
            ranges: (0..MAX_RANGES as u32).map(|i| (2 * i + 1, 1)).collect(),
        };
        encode_ack(&id, &ack, &mut out);
        assert!(out.len() < 1200);
        assert_eq!(Datagram::decode(&out), Some(Datagram::Ack { id, ack }));
        assert_eq!(Datagram::decode(b"whoami"), None);
        assert_eq!(Datagram::decode(&out[..out.len() - 1]), None);
        let sha256 = [0xAB; 32];
        encode_digest(&id, &sha256, &mut out);
        assert_eq!(out.len(), DIGEST_SIZE);
        assert_eq!(Datagram::decode(&out), Some(Datagram::Digest { id, sha256 }));
        assert_eq!(Datagram::decode(&out[..out.len() - 1]), None, "a digest cut short");
        out.push(0);
        assert_eq!(Datagram::decode(&out), None, "a digest too long");
    }

    #[test]
    fn the_receiver_hands_on_bytes_in_order_and_acknowledges_gaps() {
        let size = 5 * CHUNK as u64 + 10;
        let mut receiver = Receiver::new(size, 0);
        let chunk = |n: u64| vec![n as u8; chunk_len(size, n)];
        assert_eq!(receiver.on_data(2, 1, &chunk(2)), Arrival::New);
        assert_eq!(receiver.on_data(4, 2, &chunk(4)), Arrival::New);
        assert_eq!(receiver.on_data(4, 3, &chunk(4)), Arrival::Duplicate);
        assert_eq!(receiver.on_data(5, 3, &[0; 3]), Arrival::Refused, "wrong length for the last chunk");
        assert_eq!(receiver.on_data(6, 3, &[0; 10]), Arrival::Refused, "beyond the end");
        assert!(receiver.ready().is_empty());
        let ack = receiver.ack(Status::Running);
        assert_eq!((ack.next, ack.echo, ack.ranges.clone()), (0, 3, vec![(2, 1), (4, 1)]));
        receiver.on_data(0, 4, &chunk(0));
        receiver.on_data(1, 5, &chunk(1));
        assert_eq!(receiver.ready(), [chunk(0), chunk(1), chunk(2)].concat());
        receiver.clear_ready();
        assert_eq!(receiver.ack(Status::Running).ranges, vec![(1, 1)]);
        receiver.on_data(3, 6, &chunk(3));
        receiver.on_data(5, 7, &chunk(5));
        assert!(receiver.is_complete());
        assert_eq!(receiver.ready(), [chunk(3), chunk(4), chunk(5)].concat());
    }

    #[test]
    fn acknowledgements_go_twice_for_big_batches_and_while_chunks_are_missing() {
        let mut receiver = Receiver::new(10 * CHUNK as u64, 0);
        assert_eq!(receiver.ack_copies(1), 1);
        assert_eq!(receiver.ack_copies(ACK_TWICE), 2);
        receiver.on_data(2, 1, &[0; CHUNK]);
        assert_eq!(receiver.ack_copies(1), 2, "chunk 2 is held, 0 and 1 are missing");
        receiver.on_data(0, 2, &[0; CHUNK]);
        receiver.on_data(1, 3, &[0; CHUNK]);
        assert_eq!(receiver.ack_copies(1), 1, "nothing missing any more");
    }

    /// A simulated path: a bottleneck that takes `per_datagram` µs for
    /// each datagram, with a queue of at most `queue` µs (dropping the
    /// newest beyond), `one_way` µs away; `loss` of the datagrams (and
    /// acknowledgements) are lost at random, and with loss 5% of the
    /// datagrams are duplicated and 5% held back 50 µs.
    #[derive(Clone, Copy)]
    struct Path {
        per_datagram: u64,
        queue: u64,
        one_way: u64,
        loss: f64,
    }

    impl Path {
        fn fast(loss: f64) -> Path {
            Path { per_datagram: 10, queue: 5_000, one_way: 500, loss }
        }
    }

    /// What a simulated transfer did.
    struct Simulated {
        delivered: u64,
        sender: Sender,
        /// Datagrams the bottleneck's queue dropped, in the first and the
        /// second half of the transfer (by datagrams offered to it).
        overflow: [u64; 2],
        offered: [u64; 2],
        took: u64,
    }

    /// A whole transfer through a simulated path that loses, duplicates
    /// and reorders, with a clock: every byte arrives in order, whatever
    /// the seed.
    fn simulate(size: u64, loss: f64, seed: u64) -> (u64, Sender) {
        let simulated = simulate_path(size, Path::fast(loss), seed);
        (simulated.delivered, simulated.sender)
    }

    fn simulate_path(size: u64, path: Path, seed: u64) -> Simulated {
        let loss = path.loss;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut sender = Sender::new(size, 0);
        let mut receiver = Receiver::new(size, 0);
        // (arrival time, chunk, sent_at)
        let mut to_receiver: Vec<(u64, u64, u64)> = Vec::new();
        let mut to_sender: Vec<(u64, Ack)> = Vec::new();
        let mut now = 1u64;
        let mut link_free = 0u64;
        let mut delivered = 0u64;
        let mut steps = 0;
        let (mut overflow, mut offered) = ([0u64; 2], [0u64; 2]);
        let half = chunks_of(size) / 2;
        while !sender.is_complete() {
            steps += 1;
            assert!(steps < 10_000_000, "no progress");
            while let Some(chunk) = sender.next_to_send(now) {
                let copies = if rng.gen_bool(0.05) && loss > 0.0 { 2 } else { 1 };
                let part = usize::from(offered[0] + offered[1] >= half);
                for _ in 0..copies {
                    offered[part] += 1;
                    link_free = link_free.max(now) + path.per_datagram;
                    if link_free - now > path.queue {
                        link_free -= path.per_datagram;
                        overflow[part] += 1;
                        continue;
                    }
                    if !rng.gen_bool(loss) {
                        let held = if loss > 0.0 && rng.gen_bool(0.05) { 50 } else { 0 };
                        to_receiver.push((link_free + path.one_way + held, chunk, now));
                    }
                }
            }
            let next_event = to_receiver
                .iter()
                .map(|e| e.0)
                .chain(to_sender.iter().map(|e| e.0))
                .chain(sender.deadline())
                .min()
                .expect("something must happen");
            now = now.max(next_event);
            let (arrived, rest): (Vec<_>, Vec<_>) = to_receiver.drain(..).partition(|e| e.0 <= now);
            to_receiver = rest;
            if !arrived.is_empty() {
                for (_, chunk, sent_at) in arrived {
                    receiver.on_data(chunk, sent_at, &vec![0; chunk_len(size, chunk)]);
                }
                delivered += receiver.ready().len() as u64;
                receiver.clear_ready();
                if !rng.gen_bool(loss) {
                    to_sender.push((now + path.one_way, receiver.ack(Status::Running)));
                }
            }
            let (acks, rest): (Vec<_>, Vec<_>) = to_sender.drain(..).partition(|e| e.0 <= now);
            to_sender = rest;
            for (_, ack) in acks {
                sender.on_ack(&ack, now);
            }
            sender.on_timeout(now);
        }
        assert!(receiver.is_complete());
        Simulated { delivered, sender, overflow, offered, took: now }
    }

    #[test]
    fn a_slow_bottleneck_sees_no_sustained_overflow() {
        // 100 µs a datagram (about 11 MiB/s), a queue of 5 ms, 20 ms
        // round trip: 200 datagrams fill the path, 50 more its queue.
        let path = Path { per_datagram: 100, queue: 5_000, one_way: 10_000, loss: 0.0 };
        let chunks = 60_000;
        let simulated = simulate_path(chunks * CHUNK as u64, path, 8);
        assert_eq!(simulated.delivered, chunks * CHUNK as u64);
        // Slow start may overshoot once; after that the queue overflows
        // rarely, not every round.
        let [_, later] = simulated.overflow;
        let share = later as f64 / simulated.offered[1] as f64;
        assert!(
            share < 0.01,
            "{later} of {} dropped in the second half ({})",
            simulated.offered[1],
            simulated.sender.summary()
        );
        // And the path stays busy.
        let ideal = chunks * path.per_datagram;
        assert!(simulated.took < ideal * 13 / 10, "took {} µs, ideal {ideal} µs", simulated.took);
    }

    #[test]
    fn every_byte_arrives_through_loss_duplication_and_reordering() {
        for (loss, seed) in [(0.0, 1), (0.1, 2), (0.3, 3), (0.5, 4)] {
            let size = 2000 * CHUNK as u64 + 17;
            let (delivered, sender) = simulate(size, loss, seed);
            assert_eq!(delivered, size, "loss {loss}");
            // What the bottleneck's queue drops is sent again, but not much more.
            let bound = (size / CHUNK as u64) as f64 * (2.0 * loss + 0.1) + 300.0;
            assert!((sender.retransmissions as f64) < bound, "loss {loss}: {}", sender.summary());
        }
        assert_eq!(simulate(0, 0.3, 5).0, 0);
        assert_eq!(simulate(3 * CHUNK as u64, 0.3, 6).0, 3 * CHUNK as u64);
    }

    #[test]
    fn random_loss_below_the_tolerance_does_not_collapse_the_window() {
        let (_, sender) = simulate(20_000 * CHUNK as u64, 0.1, 7);
        // The path holds 100 datagrams in flight (10 µs each, 1 ms round trip).
        assert!(sender.window() > 50.0, "window {}: {}", sender.window(), sender.summary());
    }

    #[test]
    fn the_timeout_s_probe_goes_out_through_a_full_window() {
        // A window full of chunks whose datagrams (or acknowledgements) were
        // all lost: only the timeout can tell, and its probe must go out.
        let mut sender = Sender::new(100 * CHUNK as u64, 0);
        while sender.next_to_send(0).is_some() {}
        assert_eq!(sender.in_flight.len() as f64, INITIAL_WINDOW);
        let deadline = sender.deadline().unwrap();
        sender.on_timeout(deadline);
        assert_eq!(sender.next_to_send(deadline), Some(0), "the probe");
        assert_eq!(sender.next_to_send(deadline), None, "nothing more beyond the window");
        // The probe is lost too: the second expiry halves the window, far
        // below what is in flight, and the next probe still goes.
        let deadline = sender.deadline().unwrap();
        sender.on_timeout(deadline);
        assert!((sender.in_flight.len() as f64) > sender.window());
        assert_eq!(sender.next_to_send(deadline), Some(1), "the second probe");
        assert_eq!(sender.next_to_send(deadline), None);
    }

    #[test]
    fn chunks_far_older_than_the_timeout_are_all_taken_for_lost() {
        let mut sender = Sender::new(100 * CHUNK as u64, 0);
        while sender.next_to_send(0).is_some() {}
        let rto = sender.rto();
        sender.on_timeout(rto);
        assert_eq!((sender.lost.len(), sender.in_flight.len()), (1, 31), "the first expiry: the oldest only");
        // Nothing heard for more than four timeouts: every chunk is lost,
        // not one per expiry.
        sender.on_timeout(4 * rto + 1);
        assert_eq!((sender.lost.len(), sender.in_flight.len()), (32, 0));
    }

    #[test]
    fn the_timeout_sends_the_oldest_again_and_backs_off() {
        let mut sender = Sender::new(10 * CHUNK as u64, 0);
        while sender.next_to_send(0).is_some() {}
        let first = sender.rto();
        let deadline = sender.deadline().unwrap();
        sender.on_timeout(deadline - 1);
        assert_eq!(sender.deadline(), Some(deadline), "not yet");
        sender.on_timeout(deadline);
        assert_eq!(sender.rto(), 2 * first);
        assert_eq!(sender.deadline(), Some(2 * first), "chunk 1 is now the oldest, with the doubled timeout");
        assert_eq!(sender.next_to_send(deadline), Some(0), "the oldest goes again");
        assert_eq!(sender.window(), INITIAL_WINDOW, "one expiry does not shrink the window");
        sender.on_timeout(2 * first);
        assert_eq!(sender.window(), INITIAL_WINDOW / 2.0, "a second one in a row does");
    }
}
