//! The embedded backend: SQLite in WAL mode.
//!
//! Writes go to one writer thread that owns the only writing connection.
//! It runs each write as it arrives, in its own savepoint inside one open
//! `BEGIN IMMEDIATE` transaction, and commits once for all of them (group
//! commit).
//! One failing write rolls back to its savepoint and does not spoil the
//! others in its batch. Concurrent writers can never deadlock on SQLite's
//! locks.
//!
//! Durability, pipelined: the connection runs with `synchronous = NORMAL`,
//! so COMMIT appends the batch to the WAL without waiting for the disk, and
//! a second thread, the syncer, then makes the WAL durable with one
//! `fdatasync` for every batch committed so far, and only after that
//! updates the cache and answers the batch's callers. While the disk is
//! flushing batch N, the writer gathers batch N+1 in its open transaction
//! and commits it the moment the flush ends, so a write waits for about
//! one flush instead of one and a half, and every flush covers one commit
//! of everything that arrived during the one before. What an acknowledged
//! write gets is what `synchronous = FULL` gives (FULL is exactly "sync the
//! WAL after each commit"); NORMAL still syncs the WAL before checkpoints
//! and the database after them. Batches are acknowledged in commit order,
//! and one flush of the file covers every commit before it, so a write that
//! depended on an earlier one is never acknowledged before it.
//!
//! Reads come from the database, through a bounded [`Cache`] of hot items
//! (`cache.rs`): a few read threads, each with its read-only connection
//! (WAL lets them read beside the writer) and prepared statements. Only
//! what is asked for is read: opening the store reads nothing but the
//! schema version, so start-up does not grow with the data.
//!
//! # What a read may see
//!
//! A pooled connection sees every COMMIT, including one whose WAL frames
//! the syncer has not flushed yet: a crash now would lose it, so nobody may
//! see it. Two counters of batches, in [`Visibility`], keep that from
//! happening without holding readers off the database:
//! - `begun`: the writer raises it to a batch's number *before* its COMMIT;
//! - `settled`: the syncer raises it once the batch is flushed and the
//!   cache updated, before the batch's writers are answered.
//!
//! A read runs its statements, then looks at `begun`. Any batch its
//! snapshot contains was begun before the snapshot was taken, hence before
//! that look, so `begun` covers it; the read then waits until `settled`
//! reaches that number (almost always already true; at most one flush of
//! the disk otherwise) and only then answers. A read thus never hands out a
//! write that could still be lost, and a writer that got its answer sees
//! its write on every connection: its batch was committed before the
//! answer, so every later snapshot contains it, and the cache no longer
//! holds the old value (the syncer removed it before answering).
//!
//! The cache is filled from reads, which races with writes: a read might
//! fetch a value, a write change and invalidate it, and the read then put
//! the old value back. So a read remembers `settled` before it starts and
//! fills the cache only if `settled` is unchanged when it puts the value in
//! (checked under the cache's lock, under which the syncer also applies
//! invalidations and raises `settled`). A read that overlapped a settling
//! batch simply does not fill the cache; the next one will.
//!
//! Big answers do not go through the cache: a board with more posts than
//! [`WHOLE_LISTING`] is handed out as [`PostPages`], a read transaction of
//! its own (one snapshot for the whole listing, so two passes over it see
//! the same rows) that the server reads page by page as its client takes
//! the answer. While it is open, SQLite cannot checkpoint past its
//! snapshot; the WAL grows meanwhile and shrinks at the next checkpoint.
//!
//! The store must be the only writer of its file (one server per database):
//! the cache knows only this process's writes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use tokio::sync::oneshot;

use bbs_storage::{
    BoardRow, ChatroomRow, CommentKind, CommentRow, CreatedPost, NewPost, NewUser, Post, PostChange, PostEdit, PostId,
    PostListing, PostPages, PostSummary, Result, Store, StoreError, Timestamp, UserRow,
};

use crate::cache::{Cache, Key, Value};
use crate::{schema, search, OpenError, OrBackend};

/// The most writes committed together in one transaction.
const MAX_BATCH: usize = 512;

/// Prepared statements kept per connection. rusqlite keeps 16 by default,
/// fewer than the distinct statements the writer runs (posts, comments,
/// votes, mail, ledger, index, ...): past that, statements were evicted and
/// parsed again in turn.
const STATEMENT_CACHE: usize = 128;

/// Read connections, each owned by a thread of its own. A fixed set of
/// threads (rather than tokio's blocking pool, which grows with the load)
/// keeps the memory of reading fixed too: their stacks, their allocator
/// heaps and SQLite's page cache of each connection.
const READ_THREADS: usize = 4;

/// SQLite's page cache per read connection, in KiB. Small: the operating
/// system caches the file anyway, and the hot items live in [`Cache`].
const READ_PAGE_CACHE_KIB: i64 = 1024;

/// Work for a read thread.
type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

/// A board with at most this many posts is listed (and cached) whole;
/// a bigger one is handed out page by page.
pub const WHOLE_LISTING: usize = 1000;

/// How to open the database.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub path: PathBuf,
    /// How long a connection waits for a lock held by another process
    /// before it reports "database is locked".
    pub busy_timeout: Duration,
    /// Bytes the cache of hot items may hold.
    pub cache_bytes: usize,
}

impl SqliteOptions {
    /// The cache's size unless told otherwise.
    pub const DEFAULT_CACHE_BYTES: usize = 64 * 1024 * 1024;

    pub fn new(path: impl Into<PathBuf>) -> SqliteOptions {
        SqliteOptions {
            path: path.into(),
            busy_timeout: Duration::from_secs(5),
            cache_bytes: Self::DEFAULT_CACHE_BYTES,
        }
    }
}

/// A handle to the SQLite backend; clones share one writer and one pool.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    options: SqliteOptions,
    writes: Mutex<Option<mpsc::Sender<ToWriter>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    reads: Mutex<Option<mpsc::Sender<ReadJob>>>,
    read_threads: Mutex<Vec<JoinHandle<()>>>,
    cache: Arc<RwLock<Cache>>,
    visibility: Arc<Visibility>,
    /// Live sessions, tokens, room keys and event feeds: in memory, as one
    /// process is the only node of a SQLite BBS (see cluster.rs).
    pub(crate) cluster: Mutex<crate::cluster::Nodes>,
}

/// Which committed batches readers may see (see the module documentation).
#[derive(Default)]
struct Visibility {
    /// The newest batch whose COMMIT has started.
    begun: AtomicU64,
    /// Every batch up to this one is flushed, and the cache knows it.
    settled: AtomicU64,
    lock: Mutex<()>,
    settled_changed: Condvar,
}

impl Visibility {
    /// Blocks until every batch that a snapshot taken before this call may
    /// contain is flushed.
    fn wait_until_seen_is_settled(&self) {
        let begun = self.begun.load(Ordering::SeqCst);
        if self.settled.load(Ordering::SeqCst) >= begun {
            return;
        }
        let mut guard = self.lock.lock().expect("visibility lock");
        while self.settled.load(Ordering::SeqCst) < begun {
            guard = self.settled_changed.wait(guard).expect("visibility lock");
        }
    }

    fn settle(&self, batch: u64) {
        self.settled.store(batch, Ordering::SeqCst);
        let _guard = self.lock.lock().expect("visibility lock");
        self.settled_changed.notify_all();
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The writer commits what it holds and stops.
        if let Some(writes) = self.writes.lock().expect("writes lock").take() {
            let _ = writes.send(ToWriter::Close);
        }
        if let Some(handle) = self.writer.lock().expect("writer lock").take() {
            let _ = handle.join();
        }
        self.reads.lock().expect("reads lock").take();
        for handle in self.read_threads.lock().expect("read threads lock").drain(..) {
            let _ = handle.join();
        }
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.inner.options.path).finish()
    }
}

impl SqliteStore {
    /// The in-memory state of the cluster (sessions, room keys, feeds).
    pub(crate) fn nodes(&self) -> std::sync::MutexGuard<'_, crate::cluster::Nodes> {
        self.inner.cluster.lock().expect("cluster lock")
    }

    /// Opens (creating if needed) the database and migrates its schema.
    /// Reads no data: the cache starts empty.
    pub fn open(options: SqliteOptions) -> Result<SqliteStore> {
        if let Some(dir) = options.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|source| StoreError::backend(OpenError::CreateDir { path: dir.to_owned(), source }))?;
        }
        let mut conn = Connection::open(&options.path).or_backend()?;
        conn.busy_timeout(options.busy_timeout).or_backend()?;
        // WAL: readers never block the writer. NORMAL: COMMIT does not
        // wait for the disk; the syncer thread does, before any answer
        // (see the module documentation).
        conn.pragma_update(None, "journal_mode", "WAL").or_backend()?;
        conn.pragma_update(None, "synchronous", "NORMAL").or_backend()?;
        conn.pragma_update(None, "foreign_keys", "ON").or_backend()?;
        schema::migrate(&mut conn).or_backend()?;
        search::prepare_writer(&conn).or_backend()?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let cache = Arc::new(RwLock::new(Cache::new(options.cache_bytes)));
        let visibility = Arc::new(Visibility::default());
        // The WAL exists once a connection has read the database in WAL
        // mode, and stays while the writer's connection is open.
        let mut wal_path = options.path.clone().into_os_string();
        wal_path.push("-wal");
        let wal = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&wal_path)
            .map_err(|source| StoreError::backend(OpenError::OpenWal { path: PathBuf::from(&wal_path), source }))?;

        let (tx, rx) = mpsc::channel::<ToWriter>();
        let writer_cache = Arc::clone(&cache);
        let writer_visibility = Arc::clone(&visibility);
        let to_writer = tx.clone();
        let writer = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || write_loop(conn, rx, to_writer, wal, writer_cache, writer_visibility))
            .map_err(|_| StoreError::Closed)?;
        let (reads, jobs) = mpsc::channel::<ReadJob>();
        let jobs = Arc::new(Mutex::new(jobs));
        let mut read_threads = Vec::new();
        for n in 0..READ_THREADS {
            let conn = open_reader(&options)?;
            conn.pragma_update(None, "cache_size", -READ_PAGE_CACHE_KIB).or_backend()?;
            let jobs = Arc::clone(&jobs);
            let thread = std::thread::Builder::new()
                .name(format!("sqlite-reader-{n}"))
                .spawn(move || loop {
                    // One thread waits in `recv` while the others wait for
                    // the lock: together, a queue with several consumers.
                    let job = jobs.lock().expect("read queue lock").recv();
                    match job {
                        Ok(job) => job(&conn),
                        Err(_) => break,
                    }
                })
                .map_err(|_| StoreError::Closed)?;
            read_threads.push(thread);
        }
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                options,
                writes: Mutex::new(Some(tx)),
                writer: Mutex::new(Some(writer)),
                reads: Mutex::new(Some(reads)),
                read_threads: Mutex::new(read_threads),
                cache,
                visibility,
                cluster: Mutex::default(),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.options.path
    }

    /// Runs `f` in the writer's next batch; resolves after the commit.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        self.write_then(f, |_: &mut Cache, _: &T| {}).await
    }

    /// Changes a post if `by` wrote it: `change` runs in the write, and once
    /// it is committed the post and its board's listing leave the cache.
    /// Edits and deletions share this so their checks and cache effects
    /// cannot drift apart.
    pub(crate) async fn change_own_post<F>(&self, id: PostId, by: &str, change: F) -> Result<PostChange>
    where
        F: FnOnce(&Connection) -> rusqlite::Result<()> + Send + 'static,
    {
        let by = by.to_owned();
        let (outcome, _) = self
            .write_then(
                move |c| {
                    let (outcome, board) = owned_post(c, id, &by)?;
                    if outcome == PostChange::Done {
                        change(c)?;
                    }
                    Ok((outcome, board))
                },
                move |cache, (_, board)| {
                    if let Some(board) = board {
                        cache.remove(&Key::Post(id));
                        cache.remove(&Key::Listing(*board));
                        // A pinned post's new title.
                        cache.remove(&Key::Pinned(*board));
                    }
                },
            )
            .await?;
        Ok(outcome)
    }

    /// Like [`Self::write`], and applies `effect` to the cache once the
    /// batch is committed and flushed, before anybody is answered (not at
    /// all if the write or the commit failed).
    pub(crate) async fn write_then<T, F, G>(&self, f: F, effect: G) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
        G: FnOnce(&mut Cache, &T) + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Job { work: Some(f), effect: Some(effect), result: None, reply });
        {
            let writes = self.inner.writes.lock().expect("writes lock");
            writes.as_ref().ok_or(StoreError::Closed)?.send(ToWriter::Write(job)).map_err(|_| StoreError::Closed)?;
        }
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// The cached value of `key`, if any.
    pub(crate) fn cached(&self, key: &Key) -> Option<Value> {
        self.inner.cache.read().expect("cache lock").get(key)
    }

    /// Runs `f` on a read-only connection of a read thread (off the async
    /// workers), answering only once everything `f` saw is durable.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        Ok(self.read_noting_settled(f).await?.0)
    }

    /// [`Self::read`], also giving `settled` as it was before `f` ran, for
    /// [`Self::fill`].
    pub(crate) async fn read_noting_settled<T, F>(&self, f: F) -> Result<(T, u64)>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let visibility = Arc::clone(&self.inner.visibility);
        let (reply, answer) = oneshot::channel();
        let job: ReadJob = Box::new(move |conn| {
            let settled_before = visibility.settled.load(Ordering::SeqCst);
            let result = f(conn);
            visibility.wait_until_seen_is_settled();
            let _ = reply.send(result.map(|value| (value, settled_before)));
        });
        {
            let reads = self.inner.reads.lock().expect("reads lock");
            reads.as_ref().ok_or(StoreError::Closed)?.send(job).map_err(|_| StoreError::Closed)?;
        }
        answer.await.map_err(|_| StoreError::Closed)?.or_backend()
    }

    /// Puts what a read found into the cache, unless a batch settled since
    /// the read began (it might have changed the value after the read).
    pub(crate) fn fill(&self, key: Key, value: Value, settled_before: u64) {
        let mut cache = self.inner.cache.write().expect("cache lock");
        if self.inner.visibility.settled.load(Ordering::SeqCst) == settled_before && cache.fits(&key, &value) {
            cache.insert(key, value);
        }
    }

    /// The row number of a board, if it exists (boards are never removed,
    /// so a cached number stays right).
    pub(crate) async fn board_id(&self, name: &str) -> Result<Option<i64>> {
        let key = Key::Board(name.to_owned());
        if let Some(Value::Board(id)) = self.cached(&key) {
            return Ok(Some(id));
        }
        let owned = name.to_owned();
        let (id, settled) = self
            .read_noting_settled(move |c| {
                c.prepare_cached("SELECT id FROM boards WHERE name = ?1")?.query_row([owned], |r| r.get(0)).optional()
            })
            .await?;
        if let Some(id) = id {
            self.fill(key, Value::Board(id), settled);
        }
        Ok(id)
    }
}

/// A read-only connection for a read thread or for a listing.
fn open_reader(options: &SqliteOptions) -> Result<Connection> {
    let conn =
        Connection::open_with_flags(&options.path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .or_backend()?;
    conn.busy_timeout(options.busy_timeout).or_backend()?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Inside a write: changes post `id`'s title or content and its entry in
/// the search index (plain edits and edits that keep history alike).
pub(crate) fn apply_edit(c: &Connection, id: PostId, edit: PostEdit) -> rusqlite::Result<()> {
    match edit {
        PostEdit::Title(t) => c.prepare_cached("UPDATE posts SET title = ?2 WHERE id = ?1")?.execute(params![id, t])?,
        PostEdit::Content(t) => {
            c.prepare_cached("UPDATE posts SET content = ?2 WHERE id = ?1")?.execute(params![id, t])?
        }
    };
    search::post_edited(c, id)
}

/// A big board's posts, read page by page from one read transaction.
struct SqlitePages {
    conn: Connection,
    board: i64,
}

impl SqlitePages {
    /// Opens its own connection (a slow client must not hold one of the
    /// pool's) and pins a snapshot that holds only settled batches.
    fn open(inner: &Inner, board: i64) -> Result<SqlitePages> {
        let conn = open_reader(&inner.options)?;
        // A listing only walks forward: a small page cache is enough.
        conn.pragma_update(None, "cache_size", -512).or_backend()?;
        conn.execute_batch("BEGIN").or_backend()?;
        let pages = SqlitePages { conn, board };
        // The first read takes the snapshot that the whole listing uses.
        pages.conn.query_row("SELECT count(*) FROM boards", [], |_| Ok(())).or_backend()?;
        inner.visibility.wait_until_seen_is_settled();
        Ok(pages)
    }
}

impl PostPages for SqlitePages {
    fn next_page(&mut self, after: Option<PostId>, max: usize) -> Result<Vec<PostSummary>> {
        self.conn
            .prepare_cached(
                "SELECT id, title, author, created_at FROM posts WHERE board_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            )
            .or_backend()?
            .query_map(params![self.board, after.map_or(-1, |a| a as i64), max as i64], post_summary)
            .or_backend()?
            .collect::<rusqlite::Result<_>>()
            .or_backend()
    }
}

impl Drop for SqlitePages {
    fn drop(&mut self) {
        let _ = self.conn.execute_batch("COMMIT");
    }
}

fn post_summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<PostSummary> {
    Ok(PostSummary { id: r.get(0)?, title: r.get(1)?, author: r.get(2)?, created_at: r.get(3)? })
}

/// A write waiting for the writer thread, with the caller's reply channel.
trait WriteJob: Send {
    /// Runs the work inside the open transaction.
    fn run(&mut self, conn: &Connection);
    /// Brings the cache up to date after the commit succeeded.
    fn apply(&mut self, cache: &mut Cache);
    /// Answers the caller once the batch's fate is known.
    fn finish(self: Box<Self>, commit: std::result::Result<(), String>);
}

struct Job<T, F, G> {
    work: Option<F>,
    effect: Option<G>,
    result: Option<rusqlite::Result<T>>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T, F, G> WriteJob for Job<T, F, G>
where
    T: Send,
    F: FnOnce(&Connection) -> rusqlite::Result<T> + Send,
    G: FnOnce(&mut Cache, &T) + Send,
{
    fn run(&mut self, conn: &Connection) {
        let work = self.work.take().expect("a job runs once");
        // Prepared once per connection: `execute_batch` would parse the
        // statement again for every write.
        let run = |sql: &str| conn.prepare_cached(sql)?.execute([]).map(drop);
        let result = run("SAVEPOINT job").and_then(|()| {
            let result = work(conn);
            if result.is_err() {
                run("ROLLBACK TO job")?;
            }
            run("RELEASE job")?;
            result
        });
        self.result = Some(result);
    }

    fn apply(&mut self, cache: &mut Cache) {
        if let (Some(Ok(value)), Some(effect)) = (&self.result, self.effect.take()) {
            effect(cache, value);
        }
    }

    fn finish(self: Box<Self>, commit: std::result::Result<(), String>) {
        let answer = match (commit, self.result) {
            (Ok(()), Some(result)) => result.or_backend(),
            (Err(e), _) => Err(StoreError::Commit(e)),
            (Ok(()), None) => Err(StoreError::Closed),
        };
        // The caller may have gone away (connection closed); that is fine.
        let _ = self.reply.send(answer);
    }
}

/// What the writer thread takes in.
enum ToWriter {
    /// A write to run.
    Write(Box<dyn WriteJob>),
    /// The syncer has flushed every batch up to this one and will flush
    /// whatever is committed next at once: the writer may commit what it
    /// holds open.
    Flushed(u64),
    /// The store is closing: commit what is open and stop.
    Close,
}

/// Runs writes in an open transaction and commits it when the syncer is
/// free to flush it at once (or the batch is full, or the store closes).
/// A write that arrives while the disk is flushing would wait for the next
/// flush anyway, so holding it in the open transaction until then costs
/// it nothing, and one commit then covers everything that arrived during
/// the flush: fewer, bigger commits, each writing a page to the WAL once
/// where many small commits wrote the same pages again and again.
fn write_loop(
    conn: Connection,
    inbox: mpsc::Receiver<ToWriter>,
    to_self: mpsc::Sender<ToWriter>,
    wal: std::fs::File,
    cache: Arc<RwLock<Cache>>,
    visibility: Arc<Visibility>,
) {
    let (committed, to_sync) = mpsc::channel::<Committed>();
    let syncer_visibility = Arc::clone(&visibility);
    let syncer = std::thread::Builder::new()
        .name("sqlite-syncer".into())
        .spawn(move || sync_loop(&wal, to_sync, &to_self, &cache, &syncer_visibility))
        .expect("starting the syncer thread");
    // The newest batch committed, and the newest the syncer has flushed.
    let (mut number, mut flushed) = (0, 0);
    let mut open: Vec<Box<dyn WriteJob>> = Vec::new();
    let mut started = std::time::Instant::now();
    let mut closing = false;
    while !closing {
        let Ok(first) = inbox.recv() else { break };
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                ToWriter::Write(mut job) => {
                    if open.is_empty() {
                        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
                            tracing::error!(error = %e, "cannot begin a write transaction");
                            job.finish(Err(e.to_string()));
                            next = inbox.try_recv().ok();
                            continue;
                        }
                        started = std::time::Instant::now();
                    }
                    job.run(&conn);
                    open.push(job);
                }
                ToWriter::Flushed(batch) => flushed = batch,
                ToWriter::Close => closing = true,
            }
            if open.len() >= MAX_BATCH {
                break;
            }
            next = inbox.try_recv().ok();
        }
        if open.is_empty() || !(flushed == number || open.len() >= MAX_BATCH || closing) {
            continue;
        }
        // Raised before COMMIT: a reader whose snapshot holds this batch
        // is sure to see the raised number (module documentation).
        number += 1;
        visibility.begun.store(number, Ordering::SeqCst);
        let commit =
            search::flush_pending_index(&conn).and_then(|()| conn.execute_batch("COMMIT")).map_err(|e| e.to_string());
        let batch = std::mem::take(&mut open);
        if let Err(e) = &commit {
            tracing::error!(error = %e, writes = batch.len(), "commit failed; batch rolled back");
            let _ = conn.execute_batch("ROLLBACK");
        }
        if committed.send(Committed { number, batch, commit, started }).is_err() {
            break;
        }
    }
    drop(committed);
    let _ = syncer.join();
}

/// A batch that went through COMMIT (or failed to).
struct Committed {
    number: u64,
    batch: Vec<Box<dyn WriteJob>>,
    commit: std::result::Result<(), String>,
    /// When its transaction began: commit latency runs from here to the
    /// flush that makes it durable.
    started: std::time::Instant,
}

/// Flushes the WAL for every batch committed so far, then updates the
/// cache, lets readers see the batches, and answers, in commit order.
fn sync_loop(
    wal: &std::fs::File,
    committed: mpsc::Receiver<Committed>,
    writer: &mpsc::Sender<ToWriter>,
    cache: &RwLock<Cache>,
    visibility: &Visibility,
) {
    while let Ok(first) = committed.recv() {
        let mut ready = vec![first];
        while let Ok(more) = committed.try_recv() {
            ready.push(more);
        }
        let synced = if ready.iter().any(|c| c.commit.is_ok()) {
            wal.sync_data().map_err(|e| format!("flushing the write-ahead log failed: {e}"))
        } else {
            Ok(())
        };
        let newest = ready.last().map_or(0, |c| c.number);
        // The writer commits its next batch while this one is answered.
        let _ = writer.send(ToWriter::Flushed(newest));
        if let Err(e) = &synced {
            tracing::error!(error = %e, "writes may not be durable; answering them with an error");
        } else {
            // The `metrics` facade records only where the server installed
            // a recorder (its `/metrics`); elsewhere this costs nothing.
            for c in ready.iter().filter(|c| c.commit.is_ok()) {
                metrics::histogram!("bbs_storage_commit_seconds").record(c.started.elapsed().as_secs_f64());
            }
        }
        {
            // Even if the flush failed, the cache must say what the
            // database says, or later reads and writes would disagree.
            let mut cache = cache.write().expect("cache lock");
            for c in &mut ready {
                if c.commit.is_ok() {
                    for job in &mut c.batch {
                        job.apply(&mut cache);
                    }
                }
            }
            // Under the cache's lock: a read that fills the cache checks
            // this number under the same lock (`SqliteStore::fill`).
            visibility.settle(newest);
        }
        for c in ready {
            let outcome = c.commit.and(synced.clone());
            for job in c.batch {
                job.finish(outcome.clone());
            }
        }
    }
}

/// Adds a post inside a write (with its search index and subscribers'
/// notices); `None` if the board does not exist.
pub(crate) fn insert_post(c: &Connection, post: &NewPost) -> rusqlite::Result<Option<CreatedPost>> {
    let n = c
        .prepare_cached(
            "INSERT INTO posts (board_id, author, title, content, created_at)
             SELECT id, ?2, ?3, ?4, ?5 FROM boards WHERE name = ?1",
        )?
        .execute(params![post.board, post.author, post.title, post.content, post.created_at])?;
    search::post_created(c, (n == 1).then(|| c.last_insert_rowid() as PostId), post)
}

/// Checks that `by` may change post `id`; also gives the post's board.
fn owned_post(conn: &Connection, id: PostId, by: &str) -> rusqlite::Result<(PostChange, Option<i64>)> {
    let row: Option<(String, i64)> = conn
        .prepare_cached("SELECT author, board_id FROM posts WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match row {
        None => (PostChange::NoSuchPost, None),
        Some((author, _)) if author != by => (PostChange::NotOwner, None),
        Some((_, board)) => (PostChange::Done, Some(board)),
    })
}

fn chatroom_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChatroomRow> {
    Ok(ChatroomRow { owner: r.get(0)?, address: r.get(1)?, port: r.get(2)?, open: r.get(3)? })
}

/// Reads one post with its comments in one statement (one snapshot).
fn read_post(c: &Connection, id: PostId) -> rusqlite::Result<Option<Post>> {
    let mut statement = c.prepare_cached(
        "SELECT b.name, p.author, p.title, p.content, p.created_at, m.author, m.text, m.kind
         FROM posts p JOIN boards b ON b.id = p.board_id LEFT JOIN comments m ON m.post_id = p.id
         WHERE p.id = ?1 ORDER BY m.id",
    )?;
    let mut rows = statement.query([id])?;
    let mut post: Option<Post> = None;
    while let Some(r) = rows.next()? {
        let post = match &mut post {
            Some(post) => post,
            None => post.insert(Post {
                id,
                board: r.get(0)?,
                author: r.get(1)?,
                title: r.get(2)?,
                content: r.get(3)?,
                created_at: r.get(4)?,
                comments: Vec::new(),
            }),
        };
        if let Some(author) = r.get::<_, Option<String>>(5)? {
            post.comments.push(CommentRow { author, text: r.get(6)?, kind: CommentKind::from_code(r.get(7)?) });
        }
    }
    Ok(post)
}

impl Store for SqliteStore {
    async fn register(&self, user: NewUser) -> Result<bool> {
        let name = user.name.clone();
        self.write_then(
            move |c| {
                let n = c
                    .prepare_cached(
                        "INSERT INTO users (name, email, password_hash, registered_at)
                         VALUES (?1, ?2, ?3, unixepoch()) ON CONFLICT (name) DO NOTHING",
                    )?
                    .execute(params![user.name, user.email, user.password_hash])?;
                Ok(n == 1)
            },
            move |cache, _| cache.remove(&Key::PasswordHash(name)),
        )
        .await
    }

    async fn password_hash(&self, name: &str) -> Result<Option<String>> {
        let key = Key::PasswordHash(name.to_owned());
        if let Some(Value::PasswordHash(hash)) = self.cached(&key) {
            return Ok(Some(hash.to_string()));
        }
        let owned = name.to_owned();
        let (hash, settled) = self
            .read_noting_settled(move |c| {
                c.prepare_cached("SELECT password_hash FROM users WHERE name = ?1")?
                    .query_row([owned], |r| r.get::<_, String>(0))
                    .optional()
            })
            .await?;
        if let Some(hash) = &hash {
            self.fill(key, Value::PasswordHash(hash.as_str().into()), settled);
        }
        Ok(hash)
    }

    async fn users(&self) -> Result<Vec<UserRow>> {
        self.read(|c| {
            c.prepare_cached("SELECT name, email FROM users ORDER BY id")?
                .query_map([], |r| Ok(UserRow { name: r.get(0)?, email: r.get(1)? }))?
                .collect()
        })
        .await
    }

    async fn create_board(&self, name: &str, moderator: &str) -> Result<bool> {
        let (name, moderator) = (name.to_owned(), moderator.to_owned());
        self.write_then(
            move |c| {
                let n = c
                    .prepare_cached(
                        "INSERT INTO boards (name, moderator) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
                    )?
                    .execute(params![name, moderator])?;
                Ok(n == 1)
            },
            move |cache, created| {
                if *created {
                    cache.remove(&Key::Boards);
                }
            },
        )
        .await
    }

    async fn boards(&self) -> Result<Vec<BoardRow>> {
        if let Some(Value::Boards(boards)) = self.cached(&Key::Boards) {
            return Ok(boards.as_ref().clone());
        }
        let (boards, settled) = self
            .read_noting_settled(|c| {
                let mut index = 0;
                // The owner, then the moderators the owner added, in order.
                c.prepare_cached(
                    "SELECT b.name, b.moderator || coalesce((SELECT '/' || group_concat(user, '/')
                        FROM (SELECT user FROM board_moderators m WHERE m.board_id = b.id ORDER BY m.id)), '')
                     FROM boards b ORDER BY b.id",
                )?
                .query_map([], |r| {
                    index += 1;
                    Ok(BoardRow { index, name: r.get(0)?, moderator: r.get(1)? })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .await?;
        self.fill(Key::Boards, Value::Boards(Arc::new(boards.clone())), settled);
        Ok(boards)
    }

    async fn create_post(&self, post: NewPost) -> Result<Option<PostId>> {
        // An unknown board needs no trip to the writer: a board that is
        // being created right now has not been acknowledged to anybody yet.
        let Some(board) = self.board_id(&post.board).await? else {
            return Ok(None);
        };
        self.write_then(
            move |c| insert_post(c, &post),
            move |cache, created| {
                if created.is_some() {
                    cache.remove(&Key::Listing(board));
                }
            },
        )
        .await
        .map(|created| created.map(|created| created.id))
    }

    async fn posts(&self, board: &str) -> Result<Option<Vec<PostSummary>>> {
        let board = board.to_owned();
        self.read(move |c| {
            // One statement, one snapshot: the board and its posts agree.
            let mut statement = c.prepare_cached(
                "SELECT p.id, p.title, p.author, p.created_at
                 FROM boards b LEFT JOIN posts p ON p.board_id = b.id WHERE b.name = ?1 ORDER BY p.id",
            )?;
            let mut rows = statement.query([board])?;
            let mut posts = None;
            while let Some(r) = rows.next()? {
                let posts = posts.get_or_insert_with(Vec::new);
                if r.get::<_, Option<PostId>>(0)?.is_some() {
                    posts.push(post_summary(r)?);
                }
            }
            Ok(posts)
        })
        .await
    }

    async fn post_listing(&self, board: &str) -> Result<Option<PostListing>> {
        let Some(board) = self.board_id(board).await? else {
            return Ok(None);
        };
        let key = Key::Listing(board);
        if let Some(Value::Listing(posts)) = self.cached(&key) {
            return Ok(Some(PostListing::Whole(posts.as_ref().clone())));
        }
        let (posts, settled) = self
            .read_noting_settled(move |c| {
                c.prepare_cached(
                    "SELECT id, title, author, created_at FROM posts WHERE board_id = ?1 ORDER BY id LIMIT ?2",
                )?
                .query_map(params![board, WHOLE_LISTING as i64 + 1], post_summary)?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .await?;
        if posts.len() <= WHOLE_LISTING {
            self.fill(key, Value::Listing(Arc::new(posts.clone())), settled);
            return Ok(Some(PostListing::Whole(posts)));
        }
        drop(posts);
        let inner = Arc::clone(&self.inner);
        let pages = tokio::task::spawn_blocking(move || SqlitePages::open(&inner, board))
            .await
            .map_err(|_| StoreError::Closed)??;
        Ok(Some(PostListing::Pages(Box::new(pages))))
    }

    async fn post(&self, id: PostId) -> Result<Option<Post>> {
        let key = Key::Post(id);
        if let Some(Value::Post(post)) = self.cached(&key) {
            return Ok(Some(post.as_ref().clone()));
        }
        let (post, settled) = self.read_noting_settled(move |c| read_post(c, id)).await?;
        if let Some(post) = &post {
            self.fill(key, Value::Post(Arc::new(post.clone())), settled);
        }
        Ok(post)
    }

    async fn delete_post(&self, id: PostId, by: &str) -> Result<PostChange> {
        self.change_own_post(id, by, move |c| {
            c.prepare_cached("DELETE FROM comments WHERE post_id = ?1")?.execute([id])?;
            c.prepare_cached("DELETE FROM posts WHERE id = ?1")?.execute([id])?;
            search::post_deleted(c, id)
        })
        .await
    }

    async fn edit_post(&self, id: PostId, by: &str, edit: PostEdit) -> Result<PostChange> {
        self.change_own_post(id, by, move |c| apply_edit(c, id, edit)).await
    }

    async fn comment(&self, id: PostId, author: &str, text: &str, at: Timestamp) -> Result<bool> {
        let (author, text) = (author.to_owned(), text.to_owned());
        self.write_then(
            move |c| {
                let n = c
                    .prepare_cached(
                        "INSERT INTO comments (post_id, author, text, created_at)
                         SELECT id, ?2, ?3, ?4 FROM posts WHERE id = ?1",
                    )?
                    .execute(params![id, author, text, at])?;
                Ok(n == 1)
            },
            move |cache, added| {
                if *added {
                    cache.remove(&Key::Post(id));
                }
            },
        )
        .await
    }

    async fn open_chatroom(&self, owner: &str, address: &str, port: u16) -> Result<()> {
        let (owner, address) = (owner.to_owned(), address.to_owned());
        self.write(move |c| {
            c.prepare_cached(
                "INSERT INTO chatrooms (owner, address, port, open) VALUES (?1, ?2, ?3, 1)
                 ON CONFLICT (owner) DO UPDATE SET address = excluded.address, port = excluded.port, open = 1",
            )?
            .execute(params![owner, address, port])?;
            Ok(())
        })
        .await
    }

    async fn close_chatroom(&self, owner: &str) -> Result<()> {
        let owner = owner.to_owned();
        self.write(move |c| {
            c.prepare_cached("UPDATE chatrooms SET open = 0 WHERE owner = ?1")?.execute([owner])?;
            Ok(())
        })
        .await
    }

    async fn close_all_chatrooms(&self) -> Result<()> {
        self.write(|c| {
            c.execute("UPDATE chatrooms SET open = 0 WHERE open = 1", [])?;
            Ok(())
        })
        .await
    }

    async fn chatroom(&self, owner: &str) -> Result<Option<ChatroomRow>> {
        let owner = owner.to_owned();
        self.read(move |c| {
            c.prepare_cached("SELECT owner, address, port, open FROM chatrooms WHERE owner = ?1")?
                .query_row([owner], chatroom_row)
                .optional()
        })
        .await
    }

    async fn chatrooms(&self) -> Result<Vec<ChatroomRow>> {
        self.read(|c| {
            c.prepare_cached("SELECT owner, address, port, open FROM chatrooms ORDER BY id")?
                .query_map([], chatroom_row)?
                .collect()
        })
        .await
    }
}

/// What only this backend has: the file outlives the store, and a new
/// store answers from it. What every backend must do is in the contract suite
/// (`tests/contract.rs`).
#[cfg(test)]
mod tests {
    use super::*;

    fn open_temp() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(SqliteOptions::new(dir.path().join("bbs.db"))).unwrap();
        (dir, store)
    }

    fn new_post(board: &str, author: &str) -> NewPost {
        NewPost { board: board.into(), author: author.into(), title: "t".into(), content: "c".into(), created_at: 0 }
    }

    #[tokio::test]
    async fn data_survives_reopening() {
        let (dir, store) = open_temp();
        assert!(store
            .register(NewUser { name: "a".into(), email: "e".into(), password_hash: "h".into() })
            .await
            .unwrap());
        store.open_chatroom("a", "127.0.0.1", 9000).await.unwrap();
        drop(store);
        let store = SqliteStore::open(SqliteOptions::new(dir.path().join("bbs.db"))).unwrap();
        assert_eq!(store.users().await.unwrap(), vec![UserRow { name: "a".into(), email: "e".into() }]);
        assert!(store.chatroom("a").await.unwrap().unwrap().open);
        store.close_all_chatrooms().await.unwrap();
        assert!(!store.chatroom("a").await.unwrap().unwrap().open);
    }

    /// Reads come from the cache when they can: it must say exactly what
    /// the database says, both right after each acknowledged write and
    /// after a restart (which starts with an empty cache). (That the live answers are right
    /// is the contract suite's `a_mixed_history_reads_back_exactly`.)
    #[tokio::test]
    async fn cached_reads_match_the_database_before_and_after_reopening() {
        let (dir, store) = open_temp();
        store.register(NewUser { name: "u".into(), email: "e".into(), password_hash: "h".into() }).await.unwrap();
        assert!(!store
            .register(NewUser { name: "u".into(), email: "x".into(), password_hash: "y".into() })
            .await
            .unwrap());
        assert!(store.create_board("a", "u").await.unwrap());
        assert!(store.create_board("b", "v").await.unwrap());
        assert!(!store.create_board("a", "v").await.unwrap());
        for board in ["a", "b", "a", "b", "a"] {
            store.create_post(new_post(board, "u")).await.unwrap().unwrap();
        }
        assert_eq!(store.delete_post(3, "u").await.unwrap(), PostChange::Done);
        assert_eq!(store.edit_post(1, "u", PostEdit::Title("new title".into())).await.unwrap(), PostChange::Done);
        assert_eq!(store.edit_post(5, "u", PostEdit::Content("new content".into())).await.unwrap(), PostChange::Done);
        assert!(store.comment(1, "v", "first", 0).await.unwrap());
        assert!(store.comment(1, "u", "second", 0).await.unwrap());
        assert!(!store.comment(3, "u", "on a deleted post", 0).await.unwrap());

        async fn snapshot(store: &SqliteStore) -> impl std::fmt::Debug + PartialEq {
            let mut posts = Vec::new();
            for id in 1..=6 {
                posts.push(store.post(id).await.unwrap());
            }
            (
                store.users().await.unwrap(),
                store.password_hash("u").await.unwrap(),
                store.boards().await.unwrap(),
                store.posts("a").await.unwrap(),
                store.posts("b").await.unwrap(),
                store.posts("c").await.unwrap(),
                posts,
            )
        }
        let live = snapshot(&store).await;
        drop(store);
        let reopened = SqliteStore::open(SqliteOptions::new(dir.path().join("bbs.db"))).unwrap();
        assert_eq!(snapshot(&reopened).await, live);
        // The deleted newest-but-one post's number stays used after a
        // restart too (AUTOINCREMENT, not the largest id plus one).
        assert_eq!(reopened.create_post(new_post("b", "u")).await.unwrap(), Some(6));
        assert_eq!(reopened.delete_post(6, "u").await.unwrap(), PostChange::Done);
        drop(reopened);
        let reopened = SqliteStore::open(SqliteOptions::new(dir.path().join("bbs.db"))).unwrap();
        assert_eq!(reopened.create_post(new_post("b", "u")).await.unwrap(), Some(7));
    }

    /// SQLite's failures reach callers as the neutral `Backend` error with
    /// rusqlite's error as its source, so logs keep SQLite's own message.
    #[test]
    fn sqlite_failures_become_backend_errors() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the database file should be.
        let err = SqliteStore::open(SqliteOptions::new(dir.path())).unwrap_err();
        let StoreError::Backend(source) = &err else { panic!("expected a backend error, got {err:?}") };
        assert!(source.downcast_ref::<rusqlite::Error>().is_some(), "source: {source:?}");
        assert!(std::error::Error::source(&err).is_some());
        assert!(err.to_string().starts_with("database error: "), "{err}");
    }
}
