//! The server's side of file transfers: the table of open transfers, the
//! routing of their datagrams (the UDP door hands over every datagram that
//! starts with the transfer mark), and one task per transfer that runs the
//! protocol crate's sender or receiver against the file area.
//!
//! A transfer is opened by a command on a logged-in TCP session
//! (`cmd/files.rs`), which gets back a secret id. Its datagrams are taken
//! only from the session's IP address; the first hello with the id fixes
//! the exact address and port, and from then on nothing from any other
//! address is looked at and nothing is sent anywhere else. A datagram with
//! an unknown id is dropped unanswered, so the door never answers an
//! unproven address at all.
//!
//! File I/O happens on the transfer's task with the standard library, in
//! large buffered writes and chunk-sized reads from the page cache: short
//! enough not to hold up other tasks noticeably, and far simpler than a
//! thread per transfer.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bbs_protocol::answer;
use bbs_protocol::transfer::{self, Datagram, Receiver, Sender, Status, TransferId, CHUNK};
use bbs_storage::{FileRow, FileStore};
use sha2::{Digest, Sha256};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

use crate::listen::{socket_for, wire_address};

/// Datagrams waiting for one transfer's task; beyond this they are dropped
/// (like a router's full queue: the sender sends them again).
const INBOX: usize = 4096;

/// Datagrams a task takes in before it answers (acknowledges or sends).
const BATCH: usize = 256;

/// The open transfers and the socket their datagrams leave by.
#[derive(Debug, Default)]
pub(crate) struct Transfers {
    table: Mutex<HashMap<TransferId, Entry>>,
    sockets: OnceLock<Vec<Arc<UdpSocket>>>,
}

#[derive(Debug)]
struct Entry {
    owner: String,
    /// The IP address of the TCP session that opened the transfer.
    ip: IpAddr,
    /// The address fixed by the first hello.
    peer: Option<SocketAddr>,
    inbox: mpsc::Sender<(SocketAddr, Vec<u8>)>,
    progress: Arc<Mutex<Progress>>,
    name: String,
    size: u64,
    /// An upload's partial file (two uploads of it at once would mix).
    partial: Option<PathBuf>,
    /// Becomes true when the task has ended (its file is flushed).
    ended: watch::Receiver<bool>,
}

/// What the client learns when it lets a transfer go.
#[derive(Debug)]
pub(crate) struct Finished {
    pub name: String,
    pub size: u64,
    pub upload: bool,
    pub progress: Progress,
}

/// Where a transfer stands, for the answer to `TransferDone`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Bytes held by the receiver so far.
    Running { held: u64 },
    /// Upload: complete, verified and kept. Download: every byte acknowledged.
    Done,
    /// Every byte arrived but the SHA-256 did not match; nothing was kept.
    Damaged,
    /// Refused at the end, with the answer to give (the name was taken
    /// meanwhile, say).
    Refused(String),
}

/// What a transfer moves, and where.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub name: String,
    pub owner: String,
    pub size: u64,
    pub sha256: String,
    pub direction: Direction,
    pub idle_timeout: Duration,
}

#[derive(Debug, Clone)]
pub(crate) enum Direction {
    /// The client sends; the bytes go to `partial` (which already holds
    /// `resume` chunks), then to `complete` once verified.
    Upload { partial: PathBuf, complete: PathBuf, resume: u64 },
    /// The server sends the file at `path`.
    Download { path: PathBuf },
}

/// The file area's directories.
pub(crate) struct FileArea {
    pub complete: PathBuf,
    pub partial: PathBuf,
}

impl FileArea {
    pub(crate) fn new(root: &Path) -> FileArea {
        FileArea { complete: root.join("complete"), partial: root.join("partial") }
    }

    /// Where a stored file's bytes are. `name` was checked by
    /// `valid_file_name`: one path component.
    pub(crate) fn complete_path(&self, name: &str) -> PathBuf {
        self.complete.join(name)
    }

    /// Where the bytes of `owner`'s unfinished upload of this exact file
    /// wait: the same command finds them again, and nothing else does.
    pub(crate) fn partial_path(&self, owner: &str, name: &str, size: u64, sha256: &str) -> PathBuf {
        let mut key = Sha256::new();
        for part in [owner.as_bytes(), name.as_bytes(), &size.to_be_bytes(), sha256.as_bytes()] {
            key.update((part.len() as u64).to_be_bytes());
            key.update(part);
        }
        self.partial.join(hex::encode(&key.finalize()[..16]))
    }
}

impl Transfers {
    /// Gives the transfers the server's UDP sockets (once, at start).
    pub(crate) fn attach(&self, sockets: Vec<Arc<UdpSocket>>) {
        let _ = self.sockets.set(sockets);
    }

    /// The UDP port transfers use (the server's one port).
    pub(crate) fn port(&self) -> u16 {
        self.sockets.get().and_then(|s| s.first()).and_then(|s| s.local_addr().ok()).map_or(0, |a| a.port())
    }

    /// Transfers running now: in total, and `owner`'s.
    pub(crate) fn running(&self, owner: &str) -> (usize, usize) {
        let table = self.table.lock().expect("transfers lock");
        (table.len(), table.values().filter(|e| e.owner == owner).count())
    }

    /// Opens a transfer for the session of `owner` at `ip`; returns its id,
    /// or `None` if the same upload is already running.
    pub(crate) fn open<S: FileStore + Send + Sync + 'static>(
        self: &Arc<Self>,
        store: S,
        ip: IpAddr,
        plan: Plan,
    ) -> Option<TransferId> {
        let socket = Arc::clone(socket_for(self.sockets.get()?, ip)?);
        let id: TransferId = rand::random();
        let (inbox, datagrams) = mpsc::channel(INBOX);
        let held = match plan.direction {
            Direction::Upload { resume, .. } => (resume * CHUNK as u64).min(plan.size),
            Direction::Download { .. } => 0,
        };
        let progress = Arc::new(Mutex::new(Progress::Running { held }));
        let partial = match &plan.direction {
            Direction::Upload { partial, .. } => Some(partial.clone()),
            Direction::Download { .. } => None,
        };
        let entry = Entry {
            owner: plan.owner.clone(),
            ip,
            peer: None,
            inbox,
            progress: Arc::clone(&progress),
            name: plan.name.clone(),
            size: plan.size,
            partial: partial.clone(),
            ended: watch::channel(true).1,
        };
        let (end, ended) = watch::channel(false);
        let entry = Entry { ended, ..entry };
        // The same upload again (the client was interrupted and runs the
        // command again): the old transfer is let go, and the new one
        // starts once the old one's bytes are on disk.
        let mut before = None;
        {
            let mut table = self.table.lock().expect("transfers lock");
            let same = table
                .iter()
                .find(|(_, e)| partial.is_some() && e.partial == partial)
                .map(|(id, e)| (*id, e.owner.clone()));
            if let Some((old, old_owner)) = same {
                if old_owner != plan.owner {
                    return None;
                }
                before = table.remove(&old).map(|e| e.ended);
            }
            table.insert(id, entry);
        }
        let run = Run { id, socket, datagrams, progress, plan };
        let transfers = Arc::clone(self);
        tokio::spawn(async move {
            if let Some(mut before) = before {
                let _ = before.wait_for(|ended| *ended).await;
            }
            if let Err(e) = run.go(store).await {
                tracing::warn!(error = %e, "file transfer failed");
            }
            transfers.table.lock().expect("transfers lock").remove(&id);
            let _ = end.send(true);
        });
        Some(id)
    }

    /// Hands a transfer datagram from `from` to its transfer, if it has one
    /// and comes from the right address; anything else is dropped.
    pub(crate) fn route(&self, from: SocketAddr, bytes: &[u8]) {
        let Some(datagram) = Datagram::decode(bytes) else { return };
        let mut table = self.table.lock().expect("transfers lock");
        let Some(entry) = table.get_mut(datagram.id()) else { return };
        match entry.peer {
            Some(peer) if peer == from => {}
            None if from.ip() == entry.ip && matches!(datagram, Datagram::Hello { .. }) => entry.peer = Some(from),
            _ => return,
        }
        let _ = entry.inbox.try_send((from, bytes.to_vec()));
    }

    /// The client is done with transfer `id`: it ends, and its outcome is
    /// returned, if `owner` opened it.
    pub(crate) fn finish(&self, id: &TransferId, owner: &str) -> Option<Finished> {
        let mut table = self.table.lock().expect("transfers lock");
        if table.get(id)?.owner != owner {
            return None;
        }
        // Dropping the entry closes the task's inbox: it ends at once.
        let entry = table.remove(id)?;
        let progress = entry.progress.lock().expect("progress lock").clone();
        Some(Finished { name: entry.name, size: entry.size, upload: entry.partial.is_some(), progress })
    }
}

/// The answer to `TransferDone` for an upload.
pub(crate) fn upload_answer(name: &str, size: u64, progress: &Progress) -> String {
    match progress {
        Progress::Done => answer::file_sent(name, size),
        Progress::Damaged => answer::transfer_damaged(name),
        Progress::Refused(text) => text.clone(),
        Progress::Running { held } => answer::transfer_interrupted(name, *held, size),
    }
}

/// How many whole chunks of an interrupted upload the file at `path`
/// holds (what the client is told to resume from).
pub(crate) fn held_chunks(path: &Path, size: u64) -> u64 {
    let len = std::fs::metadata(path).map_or(0, |m| m.len()).min(size);
    if len == size {
        transfer::chunks_of(size)
    } else {
        len / CHUNK as u64
    }
}

/// Hashes the whole chunks (at most `limit`) of the file at `path` (an
/// interrupted upload's bytes), after cutting off anything beyond them.
/// Returns the chunks held and the hasher fed with them.
pub(crate) fn resume_point(path: &Path, size: u64, limit: u64) -> std::io::Result<(u64, Sha256)> {
    let mut hasher = Sha256::new();
    let file = match std::fs::OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, hasher)),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len().min(size);
    // Whole chunks only (the last chunk counts when the file is complete).
    let chunks = if len == size { transfer::chunks_of(size) } else { len / CHUNK as u64 }.min(limit);
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

/// One transfer's task.
struct Run {
    id: TransferId,
    socket: Arc<UdpSocket>,
    datagrams: mpsc::Receiver<(SocketAddr, Vec<u8>)>,
    progress: Arc<Mutex<Progress>>,
    plan: Plan,
}

impl Run {
    async fn go<S: FileStore>(mut self, store: S) -> std::io::Result<()> {
        match self.plan.direction.clone() {
            Direction::Upload { partial, complete, resume } => self.receive(store, &partial, &complete, resume).await,
            Direction::Download { path } => self.send(&path).await,
        }
    }

    fn set_progress(&self, progress: Progress) {
        *self.progress.lock().expect("progress lock") = progress;
    }

    /// The next batch of datagrams (at least one), or `None` when the
    /// transfer was let go or stayed silent for the idle timeout (or
    /// `deadline` passed: then an empty batch).
    async fn batch(&mut self, deadline: Option<Instant>) -> Option<Vec<(SocketAddr, Vec<u8>)>> {
        let idle = tokio::time::sleep(self.plan.idle_timeout);
        let timer = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        let first = tokio::select! {
            first = self.datagrams.recv() => first?,
            _ = idle => return None,
            _ = timer => return Some(Vec::new()),
        };
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match self.datagrams.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        Some(batch)
    }

    async fn transmit(&self, peer: SocketAddr, datagram: &[u8]) {
        if let Err(e) = self.socket.send_to(datagram, wire_address(&self.socket, peer)).await {
            tracing::debug!(error = %e, %peer, "transfer send failed");
        }
    }

    /// Upload: the server receives into the partial file and, once every
    /// byte is there and the SHA-256 matches, records the file and moves it
    /// into place.
    async fn receive<S: FileStore>(
        &mut self,
        store: S,
        partial: &Path,
        complete: &Path,
        resume: u64,
    ) -> std::io::Result<()> {
        let size = self.plan.size;
        let path = partial.to_owned();
        // The client was told `resume`: anything beyond it is cut off.
        let (resume, mut hasher) = tokio::task::spawn_blocking(move || resume_point(&path, size, resume))
            .await
            .map_err(std::io::Error::other)??;
        let file = std::fs::OpenOptions::new().create(true).append(true).open(partial)?;
        let mut writer = Some(BufWriter::with_capacity(1 << 20, file));
        let mut receiver = Receiver::new(size, resume);
        let mut status = Status::Running;
        let mut out = Vec::with_capacity(transfer::MAX_DATAGRAM);
        while let Some(batch) = self.batch(None).await {
            let Some((peer, _)) = batch.first().cloned() else { continue };
            for (_, bytes) in &batch {
                if let Some(Datagram::Data { chunk, sent_at, payload, .. }) = Datagram::decode(bytes) {
                    receiver.on_data(chunk, sent_at, payload);
                }
            }
            let ready = receiver.take_ready();
            if let Some(w) = writer.as_mut() {
                for bytes in &ready {
                    hasher.update(bytes);
                    w.write_all(bytes)?;
                }
            }
            if status == Status::Running {
                let held = (receiver.next() * CHUNK as u64).min(size);
                self.set_progress(Progress::Running { held });
            }
            if receiver.is_complete() && status == Status::Running {
                let file = writer.take().expect("the writer lives until the end").into_inner()?;
                let digest = hex::encode(std::mem::take(&mut hasher).finalize());
                status = if digest == self.plan.sha256 {
                    file.sync_all()?;
                    drop(file);
                    self.keep(&store, partial, complete).await?
                } else {
                    drop(file);
                    let _ = std::fs::remove_file(partial);
                    self.set_progress(Progress::Damaged);
                    Status::Damaged
                };
            }
            transfer::encode_ack(&self.id, &receiver.ack(status), &mut out);
            self.transmit(peer, &out).await;
        }
        if let Some(mut w) = writer {
            w.flush()?;
        }
        Ok(())
    }

    /// Records a verified upload and moves its bytes into place. The
    /// record decides who gets a name two people upload at once.
    async fn keep<S: FileStore>(&self, store: &S, partial: &Path, complete: &Path) -> std::io::Result<Status> {
        let plan = &self.plan;
        let row = FileRow {
            name: plan.name.clone(),
            owner: plan.owner.clone(),
            size: plan.size,
            sha256: plan.sha256.clone(),
            created_at: chrono::Utc::now().timestamp(),
        };
        match store.add_file(row).await {
            Ok(true) => {}
            Ok(false) => {
                let _ = std::fs::remove_file(partial);
                self.set_progress(Progress::Refused(answer::file_exists(&plan.name)));
                return Ok(Status::Damaged);
            }
            Err(e) => {
                tracing::error!(error = %e, "recording a file failed");
                self.set_progress(Progress::Refused(answer::transfer_interrupted(&plan.name, plan.size, plan.size)));
                return Ok(Status::Damaged);
            }
        }
        if let Err(e) = std::fs::rename(partial, complete) {
            let _ = store.remove_file(&plan.name).await;
            return Err(e);
        }
        self.set_progress(Progress::Done);
        Ok(Status::Complete)
    }

    /// Download: the server sends the file from the chunk the client's
    /// hello names.
    async fn send(&mut self, path: &Path) -> std::io::Result<()> {
        let size = self.plan.size;
        let file = File::open(path)?;
        let start = Instant::now();
        let micros = |at: Instant| at.duration_since(start).as_micros() as u64 + 1;
        // Wait for the hello: it fixes the peer and the resume point.
        let (peer, mut sender) = loop {
            let Some(batch) = self.batch(None).await else { return Ok(()) };
            let hello = batch.iter().find_map(|(peer, bytes)| match Datagram::decode(bytes) {
                Some(Datagram::Hello { resume, .. }) => Some((*peer, resume)),
                _ => None,
            });
            if let Some((peer, resume)) = hello {
                break (peer, Sender::new(size, resume));
            }
        };
        let mut out = Vec::with_capacity(transfer::MAX_DATAGRAM);
        let mut payload = vec![0u8; CHUNK];
        let mut done = false;
        loop {
            let now = micros(Instant::now());
            sender.on_timeout(now);
            while let Some(chunk) = sender.next_to_send(now) {
                let n = transfer::chunk_len(size, chunk);
                file.read_exact_at(&mut payload[..n], chunk * CHUNK as u64)?;
                transfer::encode_data(&self.id, chunk, now, &payload[..n], &mut out);
                self.transmit(peer, &out).await;
            }
            let deadline = sender.deadline().map(|at| start + Duration::from_micros(at));
            let Some(batch) = self.batch(deadline).await else { return Ok(()) };
            let now = micros(Instant::now());
            for (_, bytes) in &batch {
                if let Some(Datagram::Ack { ack, .. }) = Datagram::decode(bytes) {
                    sender.on_ack(&ack, now);
                }
            }
            let held = (sender.acked() * CHUNK as u64).min(size);
            if sender.is_complete() && !done {
                done = true;
                tracing::info!(file = %self.plan.name, "download done: {}", sender.summary());
            }
            self.set_progress(if sender.is_complete() { Progress::Done } else { Progress::Running { held } });
        }
    }
}
