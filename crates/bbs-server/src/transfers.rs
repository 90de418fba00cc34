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
//! Datagrams travel in batches: the door takes in many per system call and
//! hands each transfer its share as one parcel (one allocation and one
//! wake-up of the task per batch, not per datagram); a download's data
//! datagrams leave in GSO batches (`transfer::socket`).
//!
//! An upload's bytes are hashed and written on a blocking thread of their
//! own (`transfer::disk::HashingWriter`): hashing costs more CPU than
//! receiving, and done on the transfer's task it held up the taking in of
//! datagrams. The
//! upload is kept only once every byte is in and the client's digest
//! datagram (its SHA-256 of the file) matches what the writer hashed. A
//! download reads its file on the transfer's task, in block reads from the
//! page cache: short enough not to hold up other tasks noticeably.

use std::collections::HashMap;
use std::fs::File;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bbs_protocol::answer;
use bbs_protocol::transfer::disk::{self, ChunkReader, HashingWriter};
use bbs_protocol::transfer::socket::TransferSocket;
use bbs_protocol::transfer::{self, DataBatch, Datagram, Receiver, Sender, Sha256Digest, Status, TransferId, CHUNK};
use bbs_storage::{FileRow, FileStore};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, watch};

use crate::listen::{socket_for, wire_address};

/// Parcels (batches of datagrams) waiting for one transfer's task; beyond
/// this they are dropped (like a router's full queue: the sender sends
/// them again).
const INBOX: usize = 512;

/// Datagrams a task takes in before it answers (acknowledges or sends).
const BATCH: usize = 256;

/// Partial files looked at per cleaning beyond those of running transfers:
/// each cleaning is bounded work, and removes what it looks at if stale
/// (files still fresh are at most those of the transfers of the last idle
/// timeout, so every stale file is reached within a few cleanings).
const CLEAN_BATCH: usize = 64;

/// Parcel buffers kept for reuse, at most.
const SPARE_PARCELS: usize = 64;

/// The open transfers and the socket their datagrams leave by.
#[derive(Debug, Default)]
pub(crate) struct Transfers {
    table: Mutex<HashMap<TransferId, Entry>>,
    sockets: OnceLock<Vec<Arc<TransferSocket>>>,
    spares: Arc<SpareParcels>,
}

/// Buffers of parcels the transfers' tasks are done with, for the door's
/// next parcels: a parcel of a batch is up to a few hundred KiB, and a
/// fresh one each time cost page faults (a tenth of the server's CPU in a
/// 1 GiB upload's profile).
#[derive(Debug, Default)]
struct SpareParcels(Mutex<Vec<Parcel>>);

impl SpareParcels {
    /// A parcel with room for `bytes`: a spare that has it, or a new one
    /// (rounded up to a power of two, so that it fits later batches too).
    fn take(&self, from: SocketAddr, bytes: usize) -> Parcel {
        let mut spares = self.0.lock().expect("spare parcels lock");
        let fitting = spares.iter().position(|parcel| parcel.bytes.capacity() >= bytes);
        let mut parcel = match fitting {
            Some(at) => spares.swap_remove(at),
            None => Parcel::new(from, bytes.next_power_of_two()),
        };
        parcel.from = from;
        parcel
    }

    fn give_back(&self, parcels: Vec<Parcel>) {
        let mut spares = self.0.lock().expect("spare parcels lock");
        for mut parcel in parcels {
            if spares.len() >= SPARE_PARCELS {
                break;
            }
            parcel.bytes.clear();
            parcel.ends.clear();
            spares.push(parcel);
        }
    }
}

#[derive(Debug)]
struct Entry {
    owner: String,
    /// The IP address of the TCP session that opened the transfer.
    ip: IpAddr,
    /// The address fixed by the first hello.
    peer: Option<SocketAddr>,
    inbox: mpsc::Sender<Parcel>,
    progress: Arc<Mutex<Progress>>,
    name: String,
    size: u64,
    /// An upload's partial file (two uploads of it at once would mix).
    partial: Option<PathBuf>,
    /// Becomes true when the task has ended (its file is flushed).
    ended: watch::Receiver<bool>,
}

/// Datagrams for one transfer from one address, back to back.
#[derive(Debug)]
pub(crate) struct Parcel {
    from: SocketAddr,
    bytes: Vec<u8>,
    /// Where each datagram ends in `bytes`.
    ends: Vec<usize>,
}

impl Parcel {
    fn new(from: SocketAddr, capacity: usize) -> Parcel {
        Parcel { from, bytes: Vec::with_capacity(capacity), ends: Vec::new() }
    }

    fn push(&mut self, datagram: &[u8]) {
        self.bytes.extend_from_slice(datagram);
        self.ends.push(self.bytes.len());
    }

    fn datagrams(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(self.ends.iter().copied()).map(|(start, end)| &self.bytes[start..end])
    }
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
    /// Every byte arrived but the client's SHA-256 did not match them;
    /// nothing was kept.
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
    pub direction: Direction,
    pub idle_timeout: Duration,
    /// The quotas checked at the start, checked again before an upload is
    /// kept (other uploads may have finished meanwhile).
    pub quota_per_user: u64,
    pub quota_total: u64,
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

    /// Where the bytes of `owner`'s unfinished upload of this local file
    /// (told by the client's resume key) wait: the same command finds them
    /// again, and nothing else does.
    pub(crate) fn partial_path(&self, owner: &str, name: &str, size: u64, resume_key: &str) -> PathBuf {
        let mut key = Sha256::new();
        for part in [owner.as_bytes(), name.as_bytes(), &size.to_be_bytes(), resume_key.as_bytes()] {
            key.update((part.len() as u64).to_be_bytes());
            key.update(part);
        }
        self.partial.join(hex::encode(&key.finalize()[..16]))
    }

    /// Removes partial files (bytes of interrupted uploads) not written to
    /// for longer than `older_than`, except those in `in_use`; looks at
    /// no more than `in_use.len()` + [`CLEAN_BATCH`] files, or at all of
    /// them with `everything` (at start). Returns how many it removed.
    pub(crate) fn clean_stale_partials(&self, older_than: Duration, in_use: &[PathBuf], everything: bool) -> usize {
        let Ok(dir) = std::fs::read_dir(&self.partial) else { return 0 };
        let now = std::time::SystemTime::now();
        let most = if everything { usize::MAX } else { in_use.len() + CLEAN_BATCH };
        let mut removed = 0;
        for entry in dir.flatten().take(most) {
            let path = entry.path();
            if in_use.contains(&path) {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            let age = meta.modified().ok().and_then(|at| now.duration_since(at).ok());
            if meta.is_file() && age.is_some_and(|age| age > older_than) && std::fs::remove_file(&path).is_ok() {
                removed += 1;
            }
        }
        if removed > 0 {
            tracing::info!(removed, "removed stale partial uploads");
        }
        removed
    }
}

impl Transfers {
    /// Gives the transfers the server's UDP sockets (once, at start).
    pub(crate) fn attach(&self, sockets: Vec<Arc<TransferSocket>>) {
        let _ = self.sockets.set(sockets);
    }

    /// The UDP port transfers use (the server's one port).
    pub(crate) fn port(&self) -> u16 {
        self.sockets.get().and_then(|s| s.first()).and_then(|s| s.socket().local_addr().ok()).map_or(0, |a| a.port())
    }

    /// The partial files of the uploads running now.
    pub(crate) fn partials_in_use(&self) -> Vec<PathBuf> {
        self.table.lock().expect("transfers lock").values().filter_map(|e| e.partial.clone()).collect()
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
        let sockets = self.sockets.get()?;
        let plain: Vec<_> = sockets.iter().map(|s| Arc::clone(s.socket())).collect();
        let chosen = socket_for(&plain, ip)?;
        let socket = Arc::clone(sockets.iter().find(|s| Arc::ptr_eq(s.socket(), chosen))?);
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
        let run = Run { id, socket, datagrams, progress, plan, spares: Arc::clone(&self.spares) };
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

    /// Hands transfer datagrams to their transfers, each its share in one
    /// parcel: a datagram goes on if its transfer exists and it comes from
    /// the right address; anything else is dropped.
    pub(crate) fn route<'a>(&self, datagrams: impl Iterator<Item = (SocketAddr, &'a [u8])>) {
        let mut table = self.table.lock().expect("transfers lock");
        // Each (transfer, sender) pair's share of the batch, and which
        // share each datagram goes to.
        let mut shares: Vec<(TransferId, SocketAddr, usize)> = Vec::new();
        let mut routed: Vec<(usize, &[u8])> = Vec::new();
        for (from, bytes) in datagrams {
            let Some(datagram) = Datagram::decode(bytes) else { continue };
            let Some(entry) = table.get_mut(datagram.id()) else { continue };
            match entry.peer {
                Some(peer) if peer == from => {}
                None if from.ip() == entry.ip && matches!(datagram, Datagram::Hello { .. }) => entry.peer = Some(from),
                _ => continue,
            }
            let id = *datagram.id();
            let share = match shares.iter().position(|(to, by, _)| *to == id && *by == from) {
                Some(share) => share,
                None => {
                    shares.push((id, from, 0));
                    shares.len() - 1
                }
            };
            shares[share].2 += bytes.len();
            routed.push((share, bytes));
        }
        // Each parcel is taken with room for its whole share: growing one a
        // datagram at a time moved it again and again, into fresh pages.
        let mut parcels: Vec<(TransferId, Parcel)> =
            shares.into_iter().map(|(id, from, share)| (id, self.spares.take(from, share))).collect();
        for (share, bytes) in routed {
            parcels[share].1.push(bytes);
        }
        for (id, parcel) in parcels {
            if let Some(entry) = table.get(&id) {
                let _ = entry.inbox.try_send(parcel);
            }
        }
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
    disk::whole_chunks(std::fs::metadata(path).map_or(0, |m| m.len()), size)
}

/// One transfer's task.
struct Run {
    id: TransferId,
    socket: Arc<TransferSocket>,
    datagrams: mpsc::Receiver<Parcel>,
    spares: Arc<SpareParcels>,
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

    /// The next parcels of datagrams (at least one), or `None` when the
    /// transfer was let go or stayed silent for the idle timeout (or
    /// `deadline` passed: then none).
    async fn batch(&mut self, deadline: Option<Instant>) -> Option<Vec<Parcel>> {
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
        let mut count = first.ends.len();
        let mut batch = vec![first];
        while count < BATCH {
            match self.datagrams.try_recv() {
                Ok(next) => {
                    count += next.ends.len();
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        Some(batch)
    }

    /// Sends one datagram, or with `segment_size` a batch of them.
    async fn transmit(&self, peer: SocketAddr, datagrams: &[u8], segment_size: Option<usize>) {
        let to = wire_address(self.socket.socket(), peer);
        if let Err(e) = self.socket.send_batch(to, datagrams, segment_size).await {
            tracing::debug!(error = %e, %peer, "transfer send failed");
        }
    }

    /// Upload: the server receives into the partial file and, once every
    /// byte is there and the client's digest matches their SHA-256, records
    /// the file and moves it into place.
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
        let (resume, hasher) = tokio::task::spawn_blocking(move || disk::resume_point(&path, size, resume))
            .await
            .map_err(std::io::Error::other)??;
        let file = std::fs::OpenOptions::new().create(true).append(true).open(partial)?;
        let mut writer = HashingWriter::start(file, hasher);
        let mut receiver = Receiver::new(size, resume);
        let mut digest: Option<Sha256Digest> = None;
        let mut status = Status::Running;
        let mut out = Vec::with_capacity(transfer::MAX_DATAGRAM);
        while let Some(batch) = self.batch(None).await {
            let Some(peer) = batch.first().map(|parcel| parcel.from) else { continue };
            let count: usize = batch.iter().map(|parcel| parcel.ends.len()).sum();
            for bytes in batch.iter().flat_map(Parcel::datagrams) {
                match Datagram::decode(bytes) {
                    Some(Datagram::Data { chunk, sent_at, payload, .. }) => {
                        receiver.on_data(chunk, sent_at, payload);
                    }
                    // The first digest counts; repeats (its acknowledgement
                    // was lost) change nothing.
                    Some(Datagram::Digest { sha256, .. }) => {
                        digest.get_or_insert(sha256);
                    }
                    _ => {}
                }
            }
            if !receiver.ready().is_empty() {
                let bytes = receiver.take_ready(writer.spare());
                writer.write(bytes).await?;
            }
            if status == Status::Running {
                let held = (receiver.next() * CHUNK as u64).min(size);
                self.set_progress(Progress::Running { held });
            }
            if receiver.is_complete() {
                // Every byte is handed over: the writer finishes hashing and
                // syncs while the digest is on its way.
                writer.close();
            }
            if let (true, Status::Running, Some(expected)) = (receiver.is_complete(), status, digest) {
                let hashed = writer.finish().await?;
                status = if hashed == Some(expected) {
                    self.keep(&store, partial, complete, &hex::encode(expected)).await?
                } else {
                    let _ = std::fs::remove_file(partial);
                    self.set_progress(Progress::Damaged);
                    Status::Damaged
                };
            }
            transfer::encode_ack(&self.id, &receiver.ack(status), &mut out);
            for _ in 0..receiver.ack_copies(count) {
                self.transmit(peer, &out, None).await;
            }
            self.spares.give_back(batch);
        }
        // Let go or silent: what arrived is written before the task ends
        // (the same upload opened again waits for that, then resumes).
        writer.close();
        writer.finish().await?;
        Ok(())
    }

    /// Records a verified upload and moves its bytes into place, if it
    /// still fits the quotas (uploads that finished meanwhile count now).
    /// The record decides who gets a name two people upload at once.
    async fn keep<S: FileStore>(
        &self,
        store: &S,
        partial: &Path,
        complete: &Path,
        sha256: &str,
    ) -> std::io::Result<Status> {
        let plan = &self.plan;
        let refusal = match store.file_usage(&plan.owner).await {
            Ok(usage) if usage.user.saturating_add(plan.size) > plan.quota_per_user => {
                Some(answer::user_quota_full(&plan.name, plan.quota_per_user, usage.user))
            }
            Ok(usage) if usage.total.saturating_add(plan.size) > plan.quota_total => {
                Some(answer::file_area_full(&plan.name))
            }
            Ok(_) => None,
            Err(e) => {
                tracing::error!(error = %e, "reading the file usage failed");
                Some(answer::transfer_interrupted(&plan.name, plan.size, plan.size))
            }
        };
        if let Some(refusal) = refusal {
            let _ = std::fs::remove_file(partial);
            self.set_progress(Progress::Refused(refusal));
            return Ok(Status::Damaged);
        }
        let row = FileRow {
            name: plan.name.clone(),
            owner: plan.owner.clone(),
            size: plan.size,
            sha256: sha256.to_owned(),
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
            let hello = batch.iter().find_map(|parcel| {
                parcel.datagrams().find_map(|bytes| match Datagram::decode(bytes) {
                    Some(Datagram::Hello { resume, .. }) => Some((parcel.from, resume)),
                    _ => None,
                })
            });
            if let Some((peer, resume)) = hello {
                break (peer, Sender::new(size, resume));
            }
        };
        let mut reader = ChunkReader::new(&file, size);
        let mut batch = DataBatch::new(self.socket.max_segments());
        let mut done = false;
        loop {
            let now = micros(Instant::now());
            sender.on_timeout(now);
            while let Some(chunk) = sender.next_to_send(now) {
                batch.push(&self.id, chunk, now, reader.chunk(chunk)?);
                if batch.full() {
                    self.transmit(peer, batch.bytes(), Some(batch.segment_size())).await;
                    batch.clear();
                }
            }
            if !batch.is_empty() {
                self.transmit(peer, batch.bytes(), Some(batch.segment_size())).await;
                batch.clear();
            }
            let deadline = sender.deadline().map(|at| start + Duration::from_micros(at));
            let Some(batch) = self.batch(deadline).await else { return Ok(()) };
            let now = micros(Instant::now());
            for bytes in batch.iter().flat_map(Parcel::datagrams) {
                if let Some(Datagram::Ack { ack, .. }) = Datagram::decode(bytes) {
                    sender.on_ack(&ack, now);
                }
            }
            self.spares.give_back(batch);
            let held = (sender.acked() * CHUNK as u64).min(size);
            if sender.is_complete() && !done {
                done = true;
                tracing::info!(file = %self.plan.name, "download done: {}", sender.summary());
            }
            self.set_progress(if sender.is_complete() { Progress::Done } else { Progress::Running { held } });
        }
    }
}
