//! The UDP side: `register`, `whoami` and `list-chatroom` datagrams.
//!
//! `whoami` is answered inline (a token look-up); commands that touch the
//! database or hash a password run in their own task so one slow request
//! never holds up the socket. So answers to one address go out in the order
//! of its requests, except those of `register` and `list-chatroom`, which
//! go out when their task ends.
//!
//! Abuse protection, in the order applied: a datagram over
//! [`MAX_REQUEST`] bytes is dropped; each source IP has a rate limit beyond
//! which datagrams are dropped unanswered; a reply to a valid token (a
//! token counts only from the IP address that logged in, which proves that
//! address receives our answers) is cut into parts of at most
//! `max_udp_reply` bytes (see the protocol crate's `udp` module).
//!
//! Every other reply obeys QUIC's anti-amplification limit (RFC 9000
//! §8.1): a UDP source address can be forged, so an address that has not
//! proven itself gets at most [`AMPLIFICATION`] times the bytes we received
//! from it, counted per IP address over a [`BUDGET_WINDOW`]. The count is
//! per address rather than per datagram so that a short `nc -u` line still
//! gets its answer, and an attacker still gets no more than three bytes out
//! for every byte it sent towards its victim.
//!
//! Decide before acting: a command's longest possible answer (in its short
//! form, below) is reserved from the budget before the command runs, so
//! nothing is done whose answer could not be sent; if the reservation fails
//! the command is not run and gets [`TOO_SHORT`] (or nothing, if even that
//! does not fit). An answer that does not fit is replaced by its short form:
//! usage answers by `Usage: <command>`, other `Headline: details` answers by
//! `Headline.` (`Server busy.`, `Unknown command.`), and "works over TCP"
//! by [`NOT_OVER_UDP`]; with no short form that fits, nothing is sent.
//! Because the datagram's own bytes are credited before its answer is
//! weighed, every answer up to three times the request's size always goes
//! out, whatever the address spent before.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bbs_protocol::answer::LOGIN_FIRST;
use bbs_protocol::transfer;
use bbs_protocol::transfer::socket::{Received, TransferSocket};
use bbs_protocol::udp::{encode_reply, split_reply, UdpRequest, MAX_REQUEST, PART_WINDOW};
use bbs_protocol::{Command, ParseError, Transport};
use bbs_storage::Store;
use tokio::net::UdpSocket;
use tokio::sync::watch;

use crate::cmd::{execute, Caller, Via};
use crate::listen::{canonical, wire_address};
use crate::presence;
use crate::rate::ClientKey;
use crate::session::Session;
use crate::state::Shared;

/// Most bytes sent to an unproven address per byte received from it
/// (RFC 9000 §8.1).
pub(crate) const AMPLIFICATION: u64 = 3;

/// How long an address's count of bytes in and out lasts. Long enough for
/// a person's request and its retries; short enough that the table stays
/// small. Forgetting a count early is safe: received and sent bytes are
/// forgotten together, so the ratio still holds over all traffic.
pub(crate) const BUDGET_WINDOW: Duration = Duration::from_secs(10);

/// Most addresses whose count is kept (a flood of forged addresses must not
/// grow the table without bound); as in `rate.rs`, expired counts go first,
/// then the oldest half.
const MAX_BUDGETS: usize = 65_536;

/// The answer to a command not run because its answer could not be sent
/// within the budget: a longer request earns more, so this is what to do.
pub(crate) const TOO_SHORT: &str = "Request too short.";

/// The short form of "`<name>` works over TCP, not UDP.".
pub(crate) const NOT_OVER_UDP: &str = "Not over UDP.";

/// Everything `register` may answer a sender without a valid token, each
/// in the shortest form it may be sent in; the longest is reserved before
/// the command runs. Usage answers are given before that (the arguments
/// are parsed first); the failures keep only their headline when the full
/// text does not fit.
const REGISTER_ANSWERS: [&str; 5] =
    ["Register successfully.", "Username is already used.", "Server busy.", "Server error.", "Password too long."];

/// Receives datagrams until shutdown, a batch per system call.
pub(crate) async fn serve<S: Store>(
    shared: Arc<Shared<S>>,
    socket: Arc<TransferSocket>,
    mut shutdown: watch::Receiver<bool>,
) {
    let out = Outbox {
        socket: Arc::clone(socket.socket()),
        budgets: Arc::new(Budgets::default()),
        max_reply: shared.config.max_udp_reply,
    };
    // What only this door keeps: its per-address rate and the answers it
    // remembers for retried requests.
    let replies = Arc::new(RecentReplies::new(shared.config.udp_reply_memory));
    let mut received = Received::default();
    loop {
        tokio::select! {
            outcome = socket.recv(&mut received) => if let Err(e) = outcome {
                // ICMP errors from earlier replies surface here; they
                // concern one peer, not the socket.
                tracing::debug!(error = %e, "udp receive error");
                continue;
            },
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        // File transfers' datagrams go to their transfer, which drops any
        // that is not for a transfer opened from this address; they are
        // never answered here.
        let is_transfer = |bytes: &[u8]| bytes.first() == Some(&transfer::MARK);
        shared.transfers.route(
            received.datagrams().filter(|(_, bytes)| is_transfer(bytes)).map(|(peer, bytes)| (canonical(peer), bytes)),
        );
        for (peer, bytes) in received.datagrams() {
            if !is_transfer(bytes) {
                request(&shared, &out, &replies, canonical(peer), bytes).await;
            }
        }
    }
}

/// Answers one text datagram.
async fn request<S: Store>(
    shared: &Arc<Shared<S>>,
    out: &Outbox,
    replies: &Arc<RecentReplies>,
    peer: SocketAddr,
    bytes: &[u8],
) {
    if bytes.len() > MAX_REQUEST || shared.udp_per_ip.check(&ClientKey::of(peer.ip())).is_err() {
        return;
    }
    // Every byte that reaches us counts, answered or not.
    out.budgets.receive(peer.ip(), bytes.len());
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let Some(request) = UdpRequest::parse(text) else {
        return;
    };
    let user = match request.token {
        Some(token) => presence::user_of_token(shared, token, peer.ip()).await,
        None => None,
    };
    let mut session = user.map_or(Session::Anonymous, Session::Datagram);
    let to =
        Recipient { peer, id: request.id.map(str::to_owned), parts: request.parts, proven: session.user().is_some() };
    let command = match Command::parse(request.line) {
        Ok(command) => command,
        Err(ParseError::Empty) => return,
        Err(ParseError::Usage(usage)) => {
            let name = request.line.split_whitespace().next().unwrap_or_default();
            out.send(&to, usage, Some(&format!("Usage: {name}"))).await;
            return;
        }
        Err(e) => {
            let text = e.to_string();
            out.send(&to, &text, headline(&text).as_deref()).await;
            return;
        }
    };
    if command.spec().transport != Transport::Udp {
        // Answered at once by `execute`'s transport check, from the
        // command table: it says which way the command goes.
        let answer = execute(shared, &mut Caller { session: &mut session, peer, via: Via::Udp }, command).await;
        out.send(&to, &answer.text, Some(NOT_OVER_UDP)).await;
        return;
    }
    // To an unproven sender, `whoami` and `list-chatroom` can only say
    // who must log in first.
    let answers: &[&str] = match command {
        Command::Register(_) => &REGISTER_ANSWERS,
        _ => &[LOGIN_FIRST],
    };
    // Decide before acting: set the longest answer's bytes aside first.
    let allowance = if to.proven {
        Allowance::Proven
    } else {
        let longest = answers.iter().map(|a| encode_reply(to.id.as_deref(), a).len()).max().unwrap_or(0);
        match out.budgets.take(peer.ip(), longest as u64) {
            Some(reserved) => Allowance::Reserved(reserved),
            None => {
                out.send(&to, TOO_SHORT, None).await;
                return;
            }
        }
    };
    if let Command::Whoami(_) = command {
        let answer = execute(shared, &mut Caller { session: &mut session, peer, via: Via::Udp }, command).await;
        out.deliver(&to, &answer.text, allowance).await;
        return;
    }
    let key = to.id.clone().map(|id| (peer, id));
    if let Some(key) = &key {
        match replies.begin(key) {
            Begin::New => {}
            Begin::Running => {
                out.release(allowance);
                return;
            }
            // A retry answered from memory spends budget like any answer.
            Begin::Done(text) => {
                out.deliver(&to, &text, allowance).await;
                return;
            }
        }
    }
    let (shared, out, replies) = (Arc::clone(shared), out.clone(), Arc::clone(replies));
    tokio::spawn(async move {
        let answer = execute(&shared, &mut Caller { session: &mut session, peer, via: Via::Udp }, command).await;
        let text: Arc<str> = answer.text.into();
        if let Some(key) = key {
            replies.finish(key, &text);
        }
        out.deliver(&to, &text, allowance).await;
    });
}

/// `Headline.` for an answer of the form `Headline: details`: the short
/// form sent when the whole answer does not fit the budget.
fn headline(text: &str) -> Option<String> {
    let (head, _) = text.split_once(": ")?;
    (!head.contains('\n')).then(|| format!("{head}."))
}

/// Where an answer goes.
struct Recipient {
    peer: SocketAddr,
    id: Option<String>,
    parts: Option<(u32, u32)>,
    /// The datagram carried a valid token for its address: no budget.
    proven: bool,
}

/// What may be sent for one answer.
enum Allowance {
    /// To a valid token: everything, in parts.
    Proven,
    /// Bytes already taken from the address's budget; more may be taken
    /// when the answer is sent.
    Reserved(Reservation),
}

/// The reply socket and the budgets, shared with the tasks that answer.
#[derive(Clone)]
struct Outbox {
    socket: Arc<UdpSocket>,
    budgets: Arc<Budgets>,
    max_reply: usize,
}

impl Outbox {
    /// Sends an answer given without running a command (errors, refusals).
    async fn send(&self, to: &Recipient, text: &str, short: Option<&str>) {
        let allowance =
            if to.proven { Allowance::Proven } else { Allowance::Reserved(Reservation::none(to.peer.ip())) };
        self.send_either(to, text, short, allowance).await;
    }

    /// Sends a command's answer: in full, or else its headline.
    async fn deliver(&self, to: &Recipient, text: &str, allowance: Allowance) {
        self.send_either(to, text, headline(text).as_deref(), allowance).await;
    }

    /// Sends `text` if the allowance covers it, else `short` if that fits,
    /// else nothing; bytes reserved and not used go back to the budget.
    async fn send_either(&self, to: &Recipient, text: &str, short: Option<&str>, allowance: Allowance) {
        let reserved = match allowance {
            Allowance::Proven => return self.send_parts(to, text).await,
            Allowance::Reserved(reserved) => reserved,
        };
        for candidate in std::iter::once(text).chain(short) {
            let datagram = encode_reply(to.id.as_deref(), candidate);
            let need = datagram.len() as u64;
            let fits = if need <= reserved.bytes {
                self.budgets.give_back(&reserved, need);
                true
            } else {
                self.budgets.take(to.peer.ip(), need - reserved.bytes).is_some()
            };
            if fits {
                self.transmit(to.peer, &datagram).await;
                return;
            }
        }
        self.budgets.give_back(&reserved, 0);
    }

    /// Gives back a reservation whose answer will not be sent here.
    fn release(&self, allowance: Allowance) {
        if let Allowance::Reserved(reserved) = allowance {
            self.budgets.give_back(&reserved, 0);
        }
    }

    /// An answer to a valid token: the parts asked for.
    async fn send_parts(&self, to: &Recipient, text: &str) {
        // A bare datagram carries no token, so it is never proven.
        let Some(id) = &to.id else { return };
        let all = split_reply(id, text, self.max_reply);
        let (from, upto) = to.parts.unwrap_or((1, PART_WINDOW));
        let upto = upto.min(from.saturating_add(PART_WINDOW - 1));
        for datagram in all.iter().skip(from as usize - 1).take((upto - from + 1) as usize) {
            self.transmit(to.peer, datagram).await;
        }
    }

    async fn transmit(&self, peer: SocketAddr, datagram: &str) {
        if let Err(e) = self.socket.send_to(datagram.as_bytes(), wire_address(&self.socket, peer)).await {
            tracing::debug!(error = %e, %peer, "udp send failed");
        }
    }
}

/// Bytes received from and sent to each unproven address in its current
/// window.
#[derive(Debug, Default)]
pub(crate) struct Budgets {
    table: Mutex<BudgetTable>,
}

#[derive(Debug, Default)]
struct BudgetTable {
    accounts: HashMap<ClientKey, Account>,
    /// Numbers the accounts, so bytes given back after an account was
    /// forgotten or renewed are not credited to its successor.
    next_generation: u64,
}

#[derive(Debug, Clone, Copy)]
struct Account {
    received: u64,
    sent: u64,
    started: Instant,
    generation: u64,
}

/// Bytes taken from one address's account for an answer not yet sent.
#[derive(Debug)]
struct Reservation {
    ip: ClientKey,
    generation: u64,
    bytes: u64,
}

impl Reservation {
    fn none(ip: IpAddr) -> Reservation {
        Reservation { ip: ClientKey::of(ip), generation: u64::MAX, bytes: 0 }
    }
}

impl Budgets {
    /// Credits `bytes` received from `ip`.
    fn receive(&self, ip: IpAddr, bytes: usize) {
        self.receive_at(ip, bytes, Instant::now());
    }

    fn receive_at(&self, ip: IpAddr, bytes: usize, now: Instant) {
        let mut table = self.table.lock().expect("udp budget lock");
        table.account(ClientKey::of(ip), now).received += bytes as u64;
    }

    /// Takes `bytes` from `ip`'s budget, if it holds them.
    fn take(&self, ip: IpAddr, bytes: u64) -> Option<Reservation> {
        self.take_at(ip, bytes, Instant::now())
    }

    fn take_at(&self, ip: IpAddr, bytes: u64, now: Instant) -> Option<Reservation> {
        let ip = ClientKey::of(ip);
        let mut table = self.table.lock().expect("udp budget lock");
        let account = table.account(ip, now);
        if account.sent + bytes > account.received.saturating_mul(AMPLIFICATION) {
            return None;
        }
        account.sent += bytes;
        Some(Reservation { ip, generation: account.generation, bytes })
    }

    /// Gives back what a reservation held beyond the `used` bytes.
    fn give_back(&self, reserved: &Reservation, used: u64) {
        let unused = reserved.bytes.saturating_sub(used);
        if unused == 0 {
            return;
        }
        let mut table = self.table.lock().expect("udp budget lock");
        if let Some(account) = table.accounts.get_mut(&reserved.ip) {
            if account.generation == reserved.generation {
                account.sent = account.sent.saturating_sub(unused);
            }
        }
    }
}

impl BudgetTable {
    /// `ip`'s account in the current window, new if there is none.
    fn account(&mut self, ip: ClientKey, now: Instant) -> &mut Account {
        if self.accounts.len() >= MAX_BUDGETS && !self.accounts.contains_key(&ip) {
            self.accounts.retain(|_, a| now.duration_since(a.started) < BUDGET_WINDOW);
            if self.accounts.len() >= MAX_BUDGETS {
                let mut ages: Vec<Instant> = self.accounts.values().map(|a| a.started).collect();
                ages.sort_unstable();
                let cut = ages[ages.len() / 2];
                self.accounts.retain(|_, a| a.started > cut);
            }
        }
        let generation = self.next_generation;
        let account = self.accounts.entry(ip).or_insert(Account { received: 0, sent: 0, started: now, generation });
        if account.generation == generation || now.duration_since(account.started) >= BUDGET_WINDOW {
            *account = Account { received: 0, sent: 0, started: now, generation };
            self.next_generation += 1;
        }
        account
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_address_gets_at_most_three_times_what_it_sent_summed_over_the_window() {
        let budgets = Budgets::default();
        let (a, now) = (ip("10.0.0.1"), Instant::now());
        assert!(budgets.take_at(a, 1, now).is_none(), "nothing received, nothing to send");
        budgets.receive_at(a, 10, now);
        assert!(budgets.take_at(a, 31, now).is_none());
        let first = budgets.take_at(a, 20, now).unwrap();
        budgets.receive_at(a, 4, now);
        // 42 earned, 20 spent: one more byte than the rest is refused.
        assert!(budgets.take_at(a, 23, now).is_none());
        assert!(budgets.take_at(a, 22, now).is_some());
        assert!(budgets.take_at(a, 1, now).is_none());
        // Unused reserved bytes come back.
        budgets.give_back(&first, 15);
        assert!(budgets.take_at(a, 6, now).is_none());
        assert!(budgets.take_at(a, 5, now).is_some());
        assert!(budgets.take_at(ip("10.0.0.2"), 1, now).is_none(), "addresses are independent");
    }

    #[test]
    fn a_new_window_starts_from_nothing_and_old_reservations_do_not_leak_into_it() {
        let budgets = Budgets::default();
        let (a, start) = (ip("10.0.0.1"), Instant::now());
        budgets.receive_at(a, 100, start);
        let reserved = budgets.take_at(a, 300, start).unwrap();
        let later = start + BUDGET_WINDOW;
        assert!(budgets.take_at(a, 1, later).is_none(), "the old window's credit is gone");
        budgets.receive_at(a, 1, later);
        budgets.give_back(&reserved, 0);
        assert!(budgets.take_at(a, 4, later).is_none(), "bytes given back belong to the old window");
        assert!(budgets.take_at(a, 3, later).is_some());
    }

    #[test]
    fn the_table_holds_a_bounded_number_of_addresses() {
        let budgets = Budgets::default();
        let now = Instant::now();
        for i in 0..(MAX_BUDGETS as u32 + 10) {
            budgets.receive_at(IpAddr::from(i.to_be_bytes()), 1, now);
        }
        let held = budgets.table.lock().unwrap().accounts.len();
        assert!(held <= MAX_BUDGETS, "{held} addresses held");
    }

    #[test]
    fn short_forms() {
        assert_eq!(headline("Server busy: too many logins at once.").as_deref(), Some("Server busy."));
        assert_eq!(headline("Unknown command: xyzzy").as_deref(), Some("Unknown command."));
        assert_eq!(headline("Register successfully."), None);
    }
}
