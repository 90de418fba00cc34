//! The client's side of file transfers: the UDP exchange of one upload or
//! download (the protocol crate's `transfer` module does the thinking),
//! the local files, and the progress bar.
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
use std::io::{BufWriter, Read, Write};
use std::net::SocketAddr;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bbs_protocol::transfer::{self, Datagram, Receiver, Sender, Status, TransferId, CHUNK};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sha2::{Digest, Sha256};
use tokio::net::UdpSocket;

/// With no datagram from the server for this long, a transfer gives up
/// (what arrived stays, so the same command resumes).
pub const STALL: Duration = Duration::from_secs(10);

/// Datagrams taken in before answering.
const BATCH: usize = 256;

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

/// The SHA-256 (hex) of a local file, read in large blocks off the async
/// workers.
pub async fn sha256_of(path: PathBuf) -> std::io::Result<String> {
    tokio::task::spawn_blocking(move || {
        let mut file = File::open(path)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
        }
        Ok(hex::encode(hasher.finalize()))
    })
    .await
    .map_err(std::io::Error::other)?
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
    socket: UdpSocket,
    id: TransferId,
    start: Instant,
    buf: Vec<u8>,
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
            socket,
            id,
            start: Instant::now(),
            buf: vec![0u8; transfer::MAX_DATAGRAM + 1],
            out: Vec::with_capacity(transfer::MAX_DATAGRAM),
        })
    }

    fn now(&self) -> u64 {
        self.start.elapsed().as_micros() as u64 + 1
    }

    async fn send_out(&self) {
        // A full socket buffer or an ICMP error: the protocol sends again.
        let _ = self.socket.send(&self.out).await;
    }

    async fn hello(&mut self, resume: u64) {
        transfer::encode_hello(&self.id, resume, &mut self.out);
        self.send_out().await;
    }

    /// The datagrams of this transfer that arrive before `deadline`: at
    /// least one, or none if the deadline passed. Errors only when the
    /// server has been silent for [`STALL`].
    async fn batch(&mut self, deadline: Option<Instant>, heard: &mut Instant) -> Result<Vec<Vec<u8>>, TransferError> {
        let stall = *heard + STALL;
        let until = deadline.map_or(stall, |d| d.min(stall));
        let mut batch = Vec::new();
        match tokio::time::timeout_at(until.into(), self.socket.recv(&mut self.buf)).await {
            Ok(Ok(n)) => batch.push(self.buf[..n].to_vec()),
            Ok(Err(_)) => {}
            Err(_) if Instant::now() >= stall => return Err(TransferError::Stalled),
            Err(_) => return Ok(batch),
        }
        while batch.len() < BATCH {
            match self.socket.try_recv(&mut self.buf) {
                Ok(n) => batch.push(self.buf[..n].to_vec()),
                Err(_) => break,
            }
        }
        batch.retain(|bytes| Datagram::decode(bytes).is_some_and(|d| *d.id() == self.id));
        if !batch.is_empty() {
            *heard = Instant::now();
        }
        Ok(batch)
    }
}

/// Uploads `file` (`size` bytes) as transfer `id`: sends until the server
/// says every byte arrived and the SHA-256 matched.
pub async fn upload(
    file: &File,
    size: u64,
    id: TransferId,
    local: SocketAddr,
    target: SocketAddr,
    bar: &ProgressBar,
) -> Result<(), TransferError> {
    let mut path = Exchange::open(local, target, id).await?;
    let mut heard = Instant::now();
    let mut sender: Option<Sender> = None;
    let mut payload = vec![0u8; CHUNK];
    // The hello is repeated until the server answers, and again whenever
    // nothing is in flight and the outcome is not known yet (the server's
    // last acknowledgement was lost, or it is still checking the file).
    let mut hello_backoff = Duration::from_millis(200);
    let mut next_hello = Instant::now();
    loop {
        let now = path.now();
        if let Some(sender) = sender.as_mut() {
            sender.on_timeout(now);
            while let Some(chunk) = sender.next_to_send(now) {
                let n = transfer::chunk_len(size, chunk);
                file.read_exact_at(&mut payload[..n], chunk * CHUNK as u64)?;
                transfer::encode_data(&path.id, chunk, now, &payload[..n], &mut path.out);
                path.send_out().await;
            }
        }
        let in_flight = sender.as_ref().and_then(Sender::deadline);
        if in_flight.is_none() && Instant::now() >= next_hello {
            path.hello(0).await;
            next_hello = Instant::now() + hello_backoff;
            hello_backoff = (hello_backoff * 2).min(Duration::from_secs(2));
        }
        let deadline = in_flight.map_or(next_hello, |at| path.start + Duration::from_micros(at));
        let batch = path.batch(Some(deadline), &mut heard).await?;
        let now = path.now();
        for bytes in &batch {
            let Some(Datagram::Ack { ack, .. }) = Datagram::decode(bytes) else { continue };
            match ack.status {
                Status::Complete => {
                    bar.set_position(size);
                    if let Some(sender) = &sender {
                        tracing::info!("upload done: {}", sender.summary());
                    }
                    return Ok(());
                }
                Status::Damaged => return Err(TransferError::Damaged),
                Status::Running => {}
            }
            let sender = sender.get_or_insert_with(|| Sender::new(size, ack.next));
            sender.on_ack(&ack, now);
            hello_backoff = Duration::from_millis(200);
            bar.set_position((sender.acked() * CHUNK as u64).min(size));
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
    let (resume, mut hasher) = {
        let partial = partial.to_owned();
        tokio::task::spawn_blocking(move || resume_point(&partial, size)).await.map_err(std::io::Error::other)??
    };
    let file = std::fs::OpenOptions::new().create(true).append(true).open(partial)?;
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    let mut receiver = Receiver::new(size, resume);
    bar.set_position((resume * CHUNK as u64).min(size));
    let mut path = Exchange::open(local, target, id).await?;
    let mut heard = Instant::now();
    let mut started = false;
    let mut hello_backoff = Duration::from_millis(200);
    while !receiver.is_complete() {
        if !started {
            path.hello(resume).await;
        }
        let deadline = (!started).then(|| Instant::now() + hello_backoff);
        hello_backoff = (hello_backoff * 2).min(Duration::from_secs(2));
        let batch = path.batch(deadline, &mut heard).await?;
        if batch.is_empty() {
            continue;
        }
        for bytes in &batch {
            if let Some(Datagram::Data { chunk, sent_at, payload, .. }) = Datagram::decode(bytes) {
                started = true;
                receiver.on_data(chunk, sent_at, payload);
            }
        }
        for bytes in receiver.take_ready() {
            hasher.update(&bytes);
            writer.write_all(&bytes)?;
        }
        bar.set_position((receiver.next() * CHUNK as u64).min(size));
        transfer::encode_ack(&path.id, &receiver.ack(Status::Running), &mut path.out);
        path.send_out().await;
    }
    writer.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    if hex::encode(hasher.finalize()) != sha256 {
        let _ = std::fs::remove_file(partial);
        return Err(TransferError::Damaged);
    }
    Ok(())
}

/// The whole chunks an earlier download left in `path` (anything beyond
/// them is cut off) and the SHA-256 state after them.
fn resume_point(path: &Path, size: u64) -> std::io::Result<(u64, Sha256)> {
    let mut hasher = Sha256::new();
    let file = match std::fs::OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, hasher)),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len().min(size);
    let chunks = if len == size { transfer::chunks_of(size) } else { len / CHUNK as u64 };
    let keep = (chunks * CHUNK as u64).min(size);
    file.set_len(keep)?;
    let mut buffer = vec![0u8; 1 << 20];
    let mut at = 0;
    while at < keep {
        let n = (keep - at).min(buffer.len() as u64) as usize;
        file.read_exact_at(&mut buffer[..n], at)?;
        hasher.update(&buffer[..n]);
        at += n as u64;
    }
    Ok((chunks, hasher))
}
