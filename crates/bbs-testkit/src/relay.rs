//! A lossy UDP relay for tests and benchmarks: it sits between a client and
//! a server and drops, duplicates and reorders datagrams, each decision
//! drawn from a random generator seeded by the caller, so a failing run
//! can be repeated.
//!
//! Each client address gets its own socket towards the server, so the
//! server sees one address per client (as it would through a NAT), and
//! answers go back to the client they belong to.
//!
//! It takes datagrams in batches (`recvmmsg`, GRO) and sends on what each
//! batch leaves in GSO runs, like the transfers do: with one system call
//! per datagram each way it carried about 120 MiB/s, less than a transfer
//! without it, so loss figures through it measured the relay more than the
//! loss.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bbs_protocol::transfer::socket::{Received, TransferSocket};
use rand::{Rng, SeedableRng};
use tokio::net::UdpSocket;

/// What the relay does to every datagram, in each direction.
#[derive(Debug, Clone, Copy)]
pub struct Impairment {
    /// Share of datagrams dropped.
    pub loss: f64,
    /// Share of datagrams sent twice.
    pub duplicate: f64,
    /// Share of datagrams held back and sent after the next one.
    pub reorder: f64,
    pub seed: u64,
}

impl Impairment {
    /// Loss only.
    pub fn loss(loss: f64, seed: u64) -> Impairment {
        Impairment { loss, duplicate: 0.0, reorder: 0.0, seed }
    }
}

/// Counts of what the relay did.
#[derive(Debug, Default)]
pub struct RelayCounts {
    pub forwarded: AtomicU64,
    pub dropped: AtomicU64,
    pub duplicated: AtomicU64,
    pub reordered: AtomicU64,
}

/// A running relay; stops when dropped.
pub struct LossyRelay {
    pub addr: SocketAddr,
    pub counts: Arc<RelayCounts>,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// One direction's decisions: its generator and a held-back datagram, and
/// the datagrams decided on, sent together (GSO) at the end of each batch
/// taken in.
struct Mangler {
    rng: rand::rngs::StdRng,
    held: Option<Vec<u8>>,
    impairment: Impairment,
    counts: Arc<RelayCounts>,
    out: Outgoing,
}

/// Datagrams of one size (the last may be shorter) for one destination,
/// back to back.
struct Outgoing {
    socket: Option<Arc<TransferSocket>>,
    to: Option<SocketAddr>,
    bytes: Vec<u8>,
    size: usize,
    count: usize,
    closed: bool,
}

/// Datagrams per send (GSO takes at most 64 KiB at once).
const MOST_PER_SEND: usize = 40;

impl Mangler {
    fn new(impairment: Impairment, stream: u64, counts: Arc<RelayCounts>) -> Mangler {
        let rng = rand::rngs::StdRng::seed_from_u64(impairment.seed.wrapping_mul(0x9E37_79B9).wrapping_add(stream));
        let out = Outgoing { socket: None, to: None, bytes: Vec::new(), size: 0, count: 0, closed: false };
        Mangler { rng, held: None, impairment, counts, out }
    }

    /// Decides on one datagram towards `to` through `socket`, impaired.
    async fn pass(&mut self, socket: &Arc<TransferSocket>, bytes: &[u8], to: SocketAddr) {
        let i = self.impairment;
        if self.rng.gen_bool(i.loss) {
            self.counts.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if self.held.is_none() && self.rng.gen_bool(i.reorder) {
            self.counts.reordered.fetch_add(1, Ordering::Relaxed);
            self.held = Some(bytes.to_vec());
            return;
        }
        let copies = if self.rng.gen_bool(i.duplicate) {
            self.counts.duplicated.fetch_add(1, Ordering::Relaxed);
            2
        } else {
            1
        };
        for _ in 0..copies {
            self.push(socket, bytes, to).await;
        }
        // The held datagram goes after the one that overtook it.
        if let Some(held) = self.held.take() {
            self.push(socket, &held, to).await;
        }
    }

    async fn push(&mut self, socket: &Arc<TransferSocket>, bytes: &[u8], to: SocketAddr) {
        let out = &mut self.out;
        let fits = out.count > 0
            && !out.closed
            && out.count < MOST_PER_SEND.min(socket.max_segments())
            && bytes.len() <= out.size
            && out.to == Some(to)
            && out.socket.as_ref().is_some_and(|s| Arc::ptr_eq(s, socket));
        if !fits {
            self.send().await;
            let out = &mut self.out;
            out.socket = Some(Arc::clone(socket));
            out.to = Some(to);
            out.size = bytes.len();
        }
        let out = &mut self.out;
        out.bytes.extend_from_slice(bytes);
        out.count += 1;
        out.closed = bytes.len() < out.size;
        self.counts.forwarded.fetch_add(1, Ordering::Relaxed);
    }

    /// Sends what was decided on.
    async fn send(&mut self) {
        let out = &mut self.out;
        if let (Some(socket), Some(to)) = (&out.socket, out.to) {
            if out.count > 0 {
                let _ = socket.send_batch(to, &out.bytes, Some(out.size)).await;
            }
        }
        out.bytes.clear();
        out.count = 0;
        out.closed = false;
    }

    /// Sends the held datagram, if any (nothing came for a while), and
    /// anything decided on.
    async fn flush(&mut self) {
        if let Some(held) = self.held.take() {
            if let (Some(socket), Some(to)) = (self.out.socket.clone(), self.out.to) {
                self.push(&socket, &held, to).await;
            }
        }
        self.send().await;
    }
}

const TICK: Duration = Duration::from_millis(20);

impl LossyRelay {
    /// Listens on 127.0.0.1 and relays to `server`.
    pub fn start(server: SocketAddr, impairment: Impairment) -> std::io::Result<LossyRelay> {
        let front = std::net::UdpSocket::bind("127.0.0.1:0")?;
        front.set_nonblocking(true)?;
        let addr = front.local_addr()?;
        let _ = set_buffers(&front);
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(RelayCounts::default());
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        let (stopping, counting) = (Arc::clone(&stop), Arc::clone(&counts));
        let thread = std::thread::Builder::new().name("relay".into()).spawn(move || {
            let relay = relay(front, server, impairment, stopping, counting);
            if let Err(e) = runtime.block_on(relay) {
                eprintln!("the relay stopped: {e}");
            }
        })?;
        Ok(LossyRelay { addr, counts, stop, threads: vec![thread] })
    }
}

/// The client-to-server direction, which also opens a socket (and a task
/// for the other direction) per client.
async fn relay(
    front: std::net::UdpSocket,
    server: SocketAddr,
    impairment: Impairment,
    stop: Arc<AtomicBool>,
    counts: Arc<RelayCounts>,
) -> std::io::Result<()> {
    let front = Arc::new(TransferSocket::new(Arc::new(UdpSocket::from_std(front)?))?);
    let mut up = Mangler::new(impairment, 1, Arc::clone(&counts));
    let mut backs: HashMap<SocketAddr, Arc<TransferSocket>> = HashMap::new();
    let mut received = Received::default();
    let mut stream = 2;
    while !stop.load(Ordering::Relaxed) {
        match tokio::time::timeout(TICK, front.recv(&mut received)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => continue,
            Err(_) => {
                up.flush().await;
                continue;
            }
        }
        for (client, bytes) in received.datagrams() {
            let back = match backs.get(&client) {
                Some(back) => Arc::clone(back),
                None => {
                    let Ok(back) = back_socket() else { continue };
                    backs.insert(client, Arc::clone(&back));
                    // Answers from the server go back to this client.
                    let down = Mangler::new(impairment, stream, Arc::clone(&counts));
                    stream += 1;
                    tokio::spawn(answers(Arc::clone(&back), Arc::clone(&front), client, down, Arc::clone(&stop)));
                    back
                }
            };
            up.pass(&back, bytes, server).await;
        }
        up.send().await;
    }
    Ok(())
}

fn back_socket() -> std::io::Result<Arc<TransferSocket>> {
    let back = std::net::UdpSocket::bind("127.0.0.1:0")?;
    back.set_nonblocking(true)?;
    let _ = set_buffers(&back);
    Ok(Arc::new(TransferSocket::new(Arc::new(UdpSocket::from_std(back)?))?))
}

/// The server-to-client direction for one client.
async fn answers(
    back: Arc<TransferSocket>,
    front: Arc<TransferSocket>,
    client: SocketAddr,
    mut down: Mangler,
    stop: Arc<AtomicBool>,
) {
    let mut received = Received::default();
    while !stop.load(Ordering::Relaxed) {
        match tokio::time::timeout(TICK, back.recv(&mut received)).await {
            Ok(Ok(())) => {
                for (_, bytes) in received.datagrams() {
                    down.pass(&front, bytes, client).await;
                }
                down.send().await;
            }
            Ok(Err(_)) => {}
            Err(_) => down.flush().await,
        }
    }
}

/// Larger socket buffers, so the relay itself drops nothing at speed.
fn set_buffers(socket: &std::net::UdpSocket) -> std::io::Result<()> {
    let socket = socket2::SockRef::from(socket);
    socket.set_recv_buffer_size(4 << 20)?;
    socket.set_send_buffer_size(4 << 20)
}

impl Drop for LossyRelay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}
