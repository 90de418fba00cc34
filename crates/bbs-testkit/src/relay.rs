//! A lossy UDP relay for tests and benchmarks: it sits between a client and
//! a server and drops, duplicates and reorders datagrams, each decision
//! drawn from a random generator seeded by the caller, so a failing run
//! can be repeated.
//!
//! Each client address gets its own socket towards the server, so the
//! server sees one address per client (as it would through a NAT), and
//! answers go back to the client they belong to.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{Rng, SeedableRng};

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

/// One direction's decisions: its generator and a held-back datagram.
struct Mangler {
    rng: rand::rngs::StdRng,
    held: Option<(Vec<u8>, Arc<UdpSocket>, SocketAddr)>,
    impairment: Impairment,
    counts: Arc<RelayCounts>,
}

impl Mangler {
    fn new(impairment: Impairment, stream: u64, counts: Arc<RelayCounts>) -> Mangler {
        let rng = rand::rngs::StdRng::seed_from_u64(impairment.seed.wrapping_mul(0x9E37_79B9).wrapping_add(stream));
        Mangler { rng, held: None, impairment, counts }
    }

    /// Passes one datagram on through `socket`, impaired.
    fn pass(&mut self, socket: &Arc<UdpSocket>, bytes: &[u8], to: SocketAddr) {
        let i = self.impairment;
        if self.rng.gen_bool(i.loss) {
            self.counts.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if self.held.is_none() && self.rng.gen_bool(i.reorder) {
            self.counts.reordered.fetch_add(1, Ordering::Relaxed);
            self.held = Some((bytes.to_vec(), Arc::clone(socket), to));
            return;
        }
        let copies = if self.rng.gen_bool(i.duplicate) {
            self.counts.duplicated.fetch_add(1, Ordering::Relaxed);
            2
        } else {
            1
        };
        for _ in 0..copies {
            let _ = socket.send_to(bytes, to);
            self.counts.forwarded.fetch_add(1, Ordering::Relaxed);
        }
        self.flush();
    }

    /// Sends the held datagram, if any (after the one that overtook it, or
    /// when nothing came for a while).
    fn flush(&mut self) {
        if let Some((held, socket, to)) = self.held.take() {
            let _ = socket.send_to(&held, to);
            self.counts.forwarded.fetch_add(1, Ordering::Relaxed);
        }
    }
}

const TICK: Duration = Duration::from_millis(20);

impl LossyRelay {
    /// Listens on 127.0.0.1 and relays to `server`.
    pub fn start(server: SocketAddr, impairment: Impairment) -> std::io::Result<LossyRelay> {
        let front = Arc::new(UdpSocket::bind("127.0.0.1:0")?);
        let addr = front.local_addr()?;
        front.set_read_timeout(Some(TICK))?;
        let _ = set_buffers(&front);
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(RelayCounts::default());
        let backs: Arc<Mutex<HashMap<SocketAddr, Arc<UdpSocket>>>> = Arc::default();
        let (stop2, counts2, front2, backs2) = (Arc::clone(&stop), Arc::clone(&counts), Arc::clone(&front), backs);
        let thread = std::thread::Builder::new().name("relay-up".into()).spawn(move || {
            let mut up = Mangler::new(impairment, 1, Arc::clone(&counts2));
            let mut buf = vec![0u8; 65_536];
            let mut stream = 2;
            let mut downs = Vec::new();
            while !stop2.load(Ordering::Relaxed) {
                let (n, client) = match front2.recv_from(&mut buf) {
                    Ok(got) => got,
                    Err(_) => {
                        up.flush();
                        continue;
                    }
                };
                let back = {
                    let mut backs = backs2.lock().expect("relay lock");
                    match backs.get(&client) {
                        Some(back) => Arc::clone(back),
                        None => {
                            let Ok(back) = UdpSocket::bind("127.0.0.1:0") else { continue };
                            let _ = back.set_read_timeout(Some(TICK));
                            let _ = set_buffers(&back);
                            let back = Arc::new(back);
                            backs.insert(client, Arc::clone(&back));
                            // Answers from the server go back to this client.
                            let (back2, front3, stop3) = (Arc::clone(&back), Arc::clone(&front2), Arc::clone(&stop2));
                            let mut down = Mangler::new(impairment, stream, Arc::clone(&counts2));
                            stream += 1;
                            downs.push(std::thread::spawn(move || {
                                let mut buf = vec![0u8; 65_536];
                                while !stop3.load(Ordering::Relaxed) {
                                    match back2.recv(&mut buf) {
                                        Ok(n) => down.pass(&front3, &buf[..n], client),
                                        Err(_) => down.flush(),
                                    }
                                }
                            }));
                            back
                        }
                    }
                };
                up.pass(&back, &buf[..n], server);
            }
            for down in downs {
                let _ = down.join();
            }
        })?;
        Ok(LossyRelay { addr, counts, stop, threads: vec![thread] })
    }
}

/// Larger socket buffers, so the relay itself drops nothing at speed.
fn set_buffers(socket: &UdpSocket) -> std::io::Result<()> {
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
