//! The client's side of file transfers: the UDP exchange of one upload or
//! download (the protocol crate's `transfer` module does the thinking),
//! the local files, and the progress bar.
//!
//! An upload starts sending at once: the file's SHA-256 is computed on a
//! thread of its own ([`Hashing`]) while the bytes go out, and sent in a
//! digest datagram once every chunk is acknowledged. (Hashing first cost
//! about as long as a loopback transfer of the file.)
//!
//! A download is written to a hidden file in the current directory named
//! after the file's SHA-256 (`.<hash>.bbs-download`), and renamed to its
//! name only once every byte is there and the SHA-256 matches; running the
//! same `get-file` again finds the hidden file and continues from it.
//!
//! `BBS_UDP_RELAY=<host:port>` sends the transfer datagrams to that address
//! instead of the server's: for tests and benchmarks that put a lossy
//! relay in the path. Not for use otherwise.

use std::fs::File;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bbs_protocol::transfer::disk::{self, BlockTap, ChunkReader, HashingWriter};
use bbs_protocol::transfer::socket::{Received, TransferSocket};
use bbs_protocol::transfer::{self, DataBatch, Datagram, Receiver, Sender, Sha256Digest, Status, TransferId, CHUNK};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::net::UdpSocket;

/// With no datagram from the server for this long, a transfer gives up
/// (what arrived stays, so the same command resumes).
pub const STALL: Duration = Duration::from_secs(10);

/// Datagrams taken in before answering.
const BATCH: usize = 256;

/// How long a hello (or an upload's digest) waits for an answer before it
/// is sent again, at first; it doubles up to 2 s.
const HELLO_REPEAT: Duration = Duration::from_millis(200);

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("no answer from the server for {} seconds", STALL.as_secs())]
    Stalled,
    /// Every byte arrived but the SHA-256 differs.
    #[error("damaged")]
    Damaged,
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Where transfer datagrams go: the server's UDP port, or a test relay.
pub fn udp_target(server: SocketAddr, port: u16) -> SocketAddr {
    std::env::var("BBS_UDP_RELAY")
        .ok()
        .and_then(|relay| relay.parse().ok())
        .unwrap_or_else(|| SocketAddr::new(server.ip(), port))
}

/// The resume key of a local file (see `transfer::disk::resume_key`),
/// read off the async workers.
pub async fn resume_key_of(file: &File) -> std::io::Result<String> {
    let file = file.try_clone()?;
    tokio::task::spawn_blocking(move || disk::resume_key(&file)).await.map_err(std::io::Error::other)?
}

/// The SHA-256 of a file being uploaded, computed on a blocking thread
/// while the transfer runs, from the blocks the upload reads to send (its
/// tap); a future of the digest. Dropped before it is done (the upload
/// ended early), it stops the thread.
pub struct Hashing {
    stop: Arc<AtomicBool>,
    tap: Option<BlockTap>,
    done: tokio::task::JoinHandle<std::io::Result<Sha256Digest>>,
}

impl Hashing {
    /// Starts hashing the first `size` bytes of `file`.
    pub fn start(file: &File, size: u64) -> std::io::Result<Hashing> {
        let file = file.try_clone()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let (tap, outlet) = disk::block_tap();
        let done = tokio::task::spawn_blocking(move || disk::sha256_of(&file, size, &stopped, outlet));
        Ok(Hashing { stop, tap: Some(tap), done })
    }

    /// A reader of the file to send that feeds this hash as it reads.
    fn reader<'a>(&mut self, file: &'a File, size: u64) -> ChunkReader<'a> {
        match self.tap.take() {
            Some(tap) => ChunkReader::tapped(file, size, tap),
            None => ChunkReader::new(file, size),
        }
    }
}

impl Future for Hashing {
    type Output = std::io::Result<Sha256Digest>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.done).poll(cx).map(|joined| joined.map_err(std::io::Error::other)?)
    }
}

impl Drop for Hashing {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A progress bar (bytes, rate, time left) on a terminal; nothing otherwise.
pub fn progress_bar(name: &str, size: u64, visible: bool) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stdout());
    let style =
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} {eta} left")
            .expect("a valid template")
            .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(bbs_protocol::chat::neutralise(name));
    bar
}

/// One transfer's socket and clock.
struct Exchange {
    socket: TransferSocket,
    target: SocketAddr,
    id: TransferId,
    start: Instant,
    received: Received,
    out: Vec<u8>,
}

impl Exchange {
    async fn open(local: SocketAddr, target: SocketAddr, id: TransferId) -> std::io::Result<Exchange> {
        let socket = UdpSocket::bind(SocketAddr::new(local.ip(), 0)).await?;
        // Room for a window of datagrams (the kernel caps it at its maximum).
        let _ = socket2::SockRef::from(&socket).set_recv_buffer_size(4 << 20);
        let _ = socket2::SockRef::from(&socket).set_send_buffer_size(4 << 20);
        socket.connect(target).await?;
        Ok(Exchange {
            socket: TransferSocket::new(Arc::new(socket))?,
            target,
            id,
            start: Instant::now(),
            received: Received::default(),
            out: Vec::with_capacity(transfer::MAX_DATAGRAM),
        })
    }

    fn now(&self) -> u64 {
        self.start.elapsed().as_micros() as u64 + 1
    }

    async fn send_out(&self) {
        // A full socket buffer or an ICMP error: the protocol sends again.
        let _ = self.socket.send_batch(self.target, &self.out, None).await;
    }

    /// Sends a batch of data datagrams in one call, and empties it.
    async fn send_data(&self, batch: &mut DataBatch) {
        if !batch.is_empty() {
            let _ = self.socket.send_batch(self.target, batch.bytes(), Some(batch.segment_size())).await;
            batch.clear();
        }
    }

    async fn hello(&mut self, resume: u64) {
        transfer::encode_hello(&self.id, resume, &mut self.out);
        self.send_out().await;
    }

    async fn digest(&mut self, sha256: &Sha256Digest) {
        transfer::encode_digest(&self.id, sha256, &mut self.out);
        self.send_out().await;
    }

    /// Waits for datagrams until `deadline` and hands this transfer's to
    /// `each`, a batch at a time (up to [`BATCH`] datagrams): returns how
    /// many, 0 if the deadline passed. Errors only when the server has
    /// been silent for [`STALL`].
    async fn batch(
        &mut self,
        deadline: Option<Instant>,
        heard: &mut Instant,
        mut each: impl FnMut(Datagram<'_>),
    ) -> Result<usize, TransferError> {
        let stall = *heard + STALL;
        let until = deadline.map_or(stall, |d| d.min(stall));
        match tokio::time::timeout_at(until.into(), self.socket.recv(&mut self.received)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Ok(0),
            Err(_) if Instant::now() >= stall => return Err(TransferError::Stalled),
            Err(_) => return Ok(0),
        }
        let mut taken = 0;
        loop {
            for (_, bytes) in self.received.datagrams() {
                if let Some(datagram) = Datagram::decode(bytes).filter(|d| *d.id() == self.id) {
                    each(datagram);
                    taken += 1;
                }
            }
            if taken >= BATCH || self.socket.try_recv(&mut self.received).is_err() {
                break;
            }
        }
        if taken > 0 {
            *heard = Instant::now();
        }
        Ok(taken)
    }
}

/// What woke an upload waiting for the server.
enum Woken {
    Datagrams(Result<usize, TransferError>),
    Hashed(std::io::Result<Sha256Digest>),
}

/// Uploads `file` (`size` bytes) as transfer `id`: sends the bytes, then
/// the SHA-256 that `hashing` computes meanwhile, until the server says
/// every byte arrived and matched it (or did not).
pub async fn upload(
    file: &File,
    size: u64,
    id: TransferId,
    local: SocketAddr,
    target: SocketAddr,
    bar: &ProgressBar,
    mut hashing: Hashing,
) -> Result<(), TransferError> {
    let mut path = Exchange::open(local, target, id).await?;
    let mut heard = Instant::now();
    let mut sender: Option<Sender> = None;
    let mut reader = hashing.reader(file, size);
    let mut batch = DataBatch::new(path.socket.max_segments());
    let start = path.start;
    let mut hashing = Some(hashing);
    let mut digest: Option<Sha256Digest> = None;
    // When the hash was ready and every chunk acknowledged (for the log:
    // whichever comes last is when the digest could go).
    let (mut hashed_at, mut acked_at) = (None, None);
    // With nothing in flight and the outcome not known yet, the hello is
    // repeated (until the server answers, or while the hash is not ready),
    // then the digest (until the server says complete or damaged): the
    // server's last acknowledgement may have been lost, or it is still
    // checking the file. Once the server has answered, the first repeat
    // waits one retransmission timeout, not 200 ms: on a lossy path the
    // digest or its answer is often lost, and each loss cost 200 ms and
    // more (seconds for a 20 MiB upload at 30% loss).
    let first_repeat = |sender: &Option<Sender>| {
        let timeout = sender.as_ref().map_or(HELLO_REPEAT, |sender| Duration::from_micros(sender.rto()));
        timeout.min(HELLO_REPEAT)
    };
    let mut hello_backoff = HELLO_REPEAT;
    let mut next_hello = Instant::now();
    loop {
        let now = path.now();
        if let Some(sender) = sender.as_mut() {
            sender.on_timeout(now);
            while let Some(chunk) = sender.next_to_send(now) {
                batch.push(&path.id, chunk, now, reader.chunk(chunk)?);
                if batch.full() {
                    path.send_data(&mut batch).await;
                }
            }
            path.send_data(&mut batch).await;
        }
        let in_flight = sender.as_ref().and_then(Sender::deadline);
        let all_acked = sender.as_ref().is_some_and(Sender::is_complete);
        if in_flight.is_none() && Instant::now() >= next_hello {
            match &digest {
                Some(sha256) if all_acked => path.digest(sha256).await,
                _ => path.hello(0).await,
            }
            next_hello = Instant::now() + hello_backoff;
            hello_backoff = (hello_backoff * 2).min(Duration::from_secs(2));
        }
        let deadline = in_flight.map_or(next_hello, |at| start + Duration::from_micros(at));
        let mut outcome: Option<Result<(), TransferError>> = None;
        let mut acked = false;
        let woken = {
            let datagrams = path.batch(Some(deadline), &mut heard, |datagram| {
                let Datagram::Ack { ack, .. } = datagram else { return };
                if outcome.is_some() {
                    return;
                }
                match ack.status {
                    Status::Complete => outcome = Some(Ok(())),
                    Status::Damaged => outcome = Some(Err(TransferError::Damaged)),
                    Status::Running => {
                        let now = start.elapsed().as_micros() as u64 + 1;
                        sender.get_or_insert_with(|| Sender::new(size, ack.next)).on_ack(&ack, now);
                        acked = true;
                    }
                }
            });
            match hashing.as_mut() {
                Some(hashing) => tokio::select! {
                    sha256 = hashing => Woken::Hashed(sha256),
                    taken = datagrams => Woken::Datagrams(taken),
                },
                None => Woken::Datagrams(datagrams.await),
            }
        };
        match woken {
            Woken::Hashed(sha256) => {
                hashing = None;
                hashed_at = Some(start.elapsed());
                digest = Some(sha256?);
                // The digest goes at once if the bytes are all across.
                next_hello = Instant::now();
                hello_backoff = first_repeat(&sender);
                continue;
            }
            Woken::Datagrams(taken) => {
                taken?;
            }
        }
        if let Some(outcome) = outcome {
            if outcome.is_ok() {
                bar.set_position(size);
                if let Some(sender) = &sender {
                    let ms = |at: Option<Duration>| at.map_or(-1, |at| at.as_millis() as i64);
                    tracing::info!(
                        "upload done: every chunk acknowledged at {} ms, hash ready at {} ms, kept at {} ms; {}",
                        ms(acked_at),
                        ms(hashed_at),
                        start.elapsed().as_millis(),
                        sender.summary()
                    );
                }
            }
            return outcome;
        }
        if acked {
            if acked_at.is_none() && sender.as_ref().is_some_and(Sender::is_complete) {
                acked_at = Some(start.elapsed());
                // Nothing more will be read: the hash reads what it lacks
                // (all of it, when the server held the whole file).
                reader.untap();
            }
            hello_backoff = first_repeat(&sender);
            if let Some(sender) = &sender {
                bar.set_position((sender.acked() * CHUNK as u64).min(size));
            }
        }
    }
}

/// The hidden file a download of the file with this SHA-256 is written to.
pub fn partial_download(dir: &Path, sha256: &str) -> PathBuf {
    dir.join(format!(".{}.bbs-download", &sha256[..sha256.len().min(32)]))
}

/// Downloads transfer `id` (`size` bytes, SHA-256 `sha256`) into
/// `partial`, continuing from what it holds, then checks the SHA-256.
/// Returns once the bytes are complete and verified (the caller renames).
pub async fn download(
    partial: &Path,
    size: u64,
    sha256: &str,
    id: TransferId,
    local: SocketAddr,
    target: SocketAddr,
    bar: &ProgressBar,
) -> Result<(), TransferError> {
    let (resume, hasher) = {
        let partial = partial.to_owned();
        tokio::task::spawn_blocking(move || disk::resume_point(&partial, size, u64::MAX))
            .await
            .map_err(std::io::Error::other)??
    };
    let file = std::fs::OpenOptions::new().create(true).append(true).open(partial)?;
    // Hashing and writing run on a thread of their own, beside receiving.
    let mut writer = HashingWriter::start(file, hasher);
    let received = receive(&mut writer, size, resume, id, local, target, bar).await;
    // Whatever happened, the bytes handed over are on disk before the
    // caller goes on (running the same command again resumes from them).
    let hashed = writer.finish().await?;
    received?;
    if hashed.map(hex::encode).as_deref() != Some(sha256) {
        let _ = std::fs::remove_file(partial);
        return Err(TransferError::Damaged);
    }
    Ok(())
}

/// The UDP side of a download: takes in every chunk from `resume` on and
/// hands the bytes to `writer` in order.
async fn receive(
    writer: &mut HashingWriter,
    size: u64,
    resume: u64,
    id: TransferId,
    local: SocketAddr,
    target: SocketAddr,
    bar: &ProgressBar,
) -> Result<(), TransferError> {
    let mut receiver = Receiver::new(size, resume);
    bar.set_position((resume * CHUNK as u64).min(size));
    let mut path = Exchange::open(local, target, id).await?;
    let mut heard = Instant::now();
    let mut started = false;
    let mut hello_backoff = HELLO_REPEAT;
    while !receiver.is_complete() {
        if !started {
            path.hello(resume).await;
        }
        let deadline = (!started).then(|| Instant::now() + hello_backoff);
        hello_backoff = (hello_backoff * 2).min(Duration::from_secs(2));
        let taken = path
            .batch(deadline, &mut heard, |datagram| {
                if let Datagram::Data { chunk, sent_at, payload, .. } = datagram {
                    started = true;
                    receiver.on_data(chunk, sent_at, payload);
                }
            })
            .await?;
        if taken == 0 {
            continue;
        }
        if !receiver.ready().is_empty() {
            let bytes = receiver.take_ready(writer.spare());
            writer.write(bytes).await?;
        }
        bar.set_position((receiver.next() * CHUNK as u64).min(size));
        transfer::encode_ack(&path.id, &receiver.ack(Status::Running), &mut path.out);
        for _ in 0..receiver.ack_copies(taken) {
            path.send_out().await;
        }
    }
    Ok(())
}
