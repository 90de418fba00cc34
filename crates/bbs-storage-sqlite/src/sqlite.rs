//! The embedded backend: SQLite in WAL mode.
//!
//! Writes go to one writer thread that owns the only writing connection.
//! It takes every write waiting in its queue, runs each in its own savepoint
//! inside one `BEGIN IMMEDIATE` transaction and commits once (group commit).
//! One failing write rolls back to its savepoint and does not spoil the
//! others in its batch. Concurrent writers can never deadlock on SQLite's
//! locks.
//!
//! Durability, pipelined: the connection runs with `synchronous = NORMAL`,
//! so COMMIT appends the batch to the WAL without waiting for the disk, and
//! a second thread, the syncer, then makes the WAL durable with one
//! `fdatasync` for every batch committed so far, and only after that
//! updates the cache and answers the batch's callers. While the disk is
//! flushing batch N, the writer already commits batch N+1, so a write waits
//! for about one flush instead of one and a half. What an acknowledged
//! write gets is what `synchronous = FULL` gives (FULL is exactly "sync the
//! WAL after each commit"); NORMAL still syncs the WAL before checkpoints
//! and the database after them. Batches are acknowledged in commit order,
//! and one flush of the file covers every commit before it, so a write that
//! depended on an earlier one is never acknowledged before it.
//!
//! Reads of users, boards, posts and comments are answered from an
//! in-memory [`Cache`] that the writer thread updates after each successful
//! COMMIT (see `cache.rs`); only the rare chatroom reads still run on
//! tokio's blocking pool with a pool of read-only connections (WAL lets them
//! proceed while the writer commits). The cache knows only this process's
//! writes: one store (one server) per database file.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use tokio::sync::oneshot;

use bbs_storage::{
    BoardRow, ChatroomRow, NewPost, NewUser, Post, PostChange, PostEdit, PostId, PostSummary, Result, Store,
    StoreError, Timestamp, UserRow,
};

use crate::cache::Cache;
use crate::{schema, search, OpenError, OrBackend};

/// The most writes committed together in one transaction.
const MAX_BATCH: usize = 512;

/// How to open the database.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub path: PathBuf,
    /// How long a connection waits for a lock held by another process
    /// before it reports "database is locked".
    pub busy_timeout: Duration,
}

impl SqliteOptions {
    pub fn new(path: impl Into<PathBuf>) -> SqliteOptions {
        SqliteOptions { path: path.into(), busy_timeout: Duration::from_secs(5) }
    }
}

/// A handle to the SQLite backend; clones share one writer and one pool.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    options: SqliteOptions,
    writes: Mutex<Option<mpsc::Sender<Box<dyn WriteJob>>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
    cache: Arc<RwLock<Cache>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the queue ends the writer thread after its last batch.
        self.writes.lock().expect("writes lock").take();
        if let Some(handle) = self.writer.lock().expect("writer lock").take() {
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
    /// Opens (creating if needed) the database and migrates its schema.
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
        let cache = Arc::new(RwLock::new(Cache::load(&conn).or_backend()?));
        // The WAL exists once a connection has read the database in WAL
        // mode, and stays while the writer's connection is open.
        let mut wal_path = options.path.clone().into_os_string();
        wal_path.push("-wal");
        let wal = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&wal_path)
            .map_err(|source| StoreError::backend(OpenError::OpenWal { path: PathBuf::from(&wal_path), source }))?;

        let (tx, rx) = mpsc::channel::<Box<dyn WriteJob>>();
        let writer_cache = Arc::clone(&cache);
        let writer = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || write_loop(conn, rx, wal, writer_cache))
            .map_err(|_| StoreError::Closed)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                options,
                writes: Mutex::new(Some(tx)),
                writer: Mutex::new(Some(writer)),
                readers: Mutex::new(Vec::new()),
                cache,
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

    /// Like [`Self::write`], and applies `effect` to the cache once the
    /// batch is committed (not at all if the write or the commit failed).
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
            writes.as_ref().ok_or(StoreError::Closed)?.send(job).map_err(|_| StoreError::Closed)?;
        }
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Answers from the cache.
    fn cached<T>(&self, f: impl FnOnce(&Cache) -> T) -> T {
        f(&self.inner.cache.read().expect("cache lock"))
    }

    /// Runs `f` on a pooled read-only connection off the async workers.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let pooled = inner.readers.lock().expect("readers lock").pop();
            let conn = match pooled {
                Some(conn) => conn,
                None => {
                    let conn = Connection::open_with_flags(
                        &inner.options.path,
                        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )
                    .or_backend()?;
                    conn.busy_timeout(inner.options.busy_timeout).or_backend()?;
                    conn
                }
            };
            let result = f(&conn);
            inner.readers.lock().expect("readers lock").push(conn);
            result.or_backend()
        })
        .await
        .map_err(|_| StoreError::Closed)?
    }
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
        let result = conn.execute_batch("SAVEPOINT job").and_then(|()| {
            let result = work(conn);
            if result.is_err() {
                conn.execute_batch("ROLLBACK TO job")?;
            }
            conn.execute_batch("RELEASE job")?;
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

fn write_loop(
    conn: Connection,
    jobs: mpsc::Receiver<Box<dyn WriteJob>>,
    wal: std::fs::File,
    cache: Arc<RwLock<Cache>>,
) {
    let (committed, to_sync) = mpsc::channel::<Committed>();
    let syncer = std::thread::Builder::new()
        .name("sqlite-syncer".into())
        .spawn(move || sync_loop(&wal, to_sync, &cache))
        .expect("starting the syncer thread");
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            tracing::error!(error = %e, "cannot begin a write transaction");
            for job in batch {
                job.finish(Err(e.to_string()));
            }
            continue;
        }
        for job in &mut batch {
            job.run(&conn);
        }
        let commit = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
        if let Err(e) = &commit {
            tracing::error!(error = %e, writes = batch.len(), "commit failed; batch rolled back");
            let _ = conn.execute_batch("ROLLBACK");
        }
        if committed.send(Committed { batch, commit }).is_err() {
            break;
        }
    }
    drop(committed);
    let _ = syncer.join();
}

/// A batch that went through COMMIT (or failed to).
struct Committed {
    batch: Vec<Box<dyn WriteJob>>,
    commit: std::result::Result<(), String>,
}

/// Flushes the WAL for every batch committed so far, then updates the
/// cache and answers, in commit order.
fn sync_loop(wal: &std::fs::File, committed: mpsc::Receiver<Committed>, cache: &RwLock<Cache>) {
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
        if let Err(e) = &synced {
            tracing::error!(error = %e, "writes may not be durable; answering them with an error");
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
        }
        for c in ready {
            let outcome = c.commit.and(synced.clone());
            for job in c.batch {
                job.finish(outcome.clone());
            }
        }
    }
}

fn post_author(conn: &Connection, id: PostId) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT author FROM posts WHERE id = ?1")?.query_row([id], |r| r.get(0)).optional()
}

/// Checks that `by` may change post `id`.
fn owned_post(conn: &Connection, id: PostId, by: &str) -> rusqlite::Result<PostChange> {
    Ok(match post_author(conn, id)? {
        None => PostChange::NoSuchPost,
        Some(author) if author != by => PostChange::NotOwner,
        Some(_) => PostChange::Done,
    })
}

fn chatroom_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChatroomRow> {
    Ok(ChatroomRow { owner: r.get(0)?, address: r.get(1)?, port: r.get(2)?, open: r.get(3)? })
}

impl Store for SqliteStore {
    async fn register(&self, user: NewUser) -> Result<bool> {
        self.write_then(
            {
                let user = user.clone();
                move |c| {
                    let n = c
                        .prepare_cached(
                            "INSERT INTO users (name, email, password_hash) VALUES (?1, ?2, ?3)
                             ON CONFLICT (name) DO NOTHING",
                        )?
                        .execute(params![user.name, user.email, user.password_hash])?;
                    Ok(n == 1)
                }
            },
            move |cache, added| {
                if *added {
                    cache.add_user(user.name, user.email, user.password_hash);
                }
            },
        )
        .await
    }

    async fn password_hash(&self, name: &str) -> Result<Option<String>> {
        Ok(self.cached(|c| c.password_hash(name)))
    }

    async fn users(&self) -> Result<Vec<UserRow>> {
        Ok(self.cached(Cache::users))
    }

    async fn create_board(&self, name: &str, moderator: &str) -> Result<bool> {
        let (name, moderator) = (name.to_owned(), moderator.to_owned());
        let (cached_name, cached_moderator) = (name.clone(), moderator.clone());
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
                    cache.add_board(cached_name, cached_moderator);
                }
            },
        )
        .await
    }

    async fn boards(&self) -> Result<Vec<BoardRow>> {
        Ok(self.cached(Cache::boards))
    }

    async fn create_post(&self, post: NewPost) -> Result<Option<PostId>> {
        // An unknown board needs no trip to the writer: a board that is
        // being created right now has not been acknowledged to anybody yet.
        if !self.cached(|c| c.has_board(&post.board)) {
            return Ok(None);
        }
        let cached = post.clone();
        self.write_then(
            move |c| {
                let n = c
                    .prepare_cached(
                        "INSERT INTO posts (board_id, author, title, content, created_at)
                         SELECT id, ?2, ?3, ?4, ?5 FROM boards WHERE name = ?1",
                    )?
                    .execute(params![post.board, post.author, post.title, post.content, post.created_at])?;
                search::post_created(c, (n == 1).then(|| c.last_insert_rowid() as PostId), &post)
            },
            move |cache, id| {
                if let Some(id) = *id {
                    cache.add_post(id, &cached.board, cached.author, cached.title, cached.content, cached.created_at);
                }
            },
        )
        .await
    }

    async fn posts(&self, board: &str) -> Result<Option<Vec<PostSummary>>> {
        Ok(self.cached(|c| c.posts(board)))
    }

    async fn post(&self, id: PostId) -> Result<Option<Post>> {
        Ok(self.cached(|c| c.post(id)))
    }

    async fn delete_post(&self, id: PostId, by: &str) -> Result<PostChange> {
        let by = by.to_owned();
        self.write_then(
            move |c| {
                let outcome = owned_post(c, id, &by)?;
                if outcome == PostChange::Done {
                    c.prepare_cached("DELETE FROM comments WHERE post_id = ?1")?.execute([id])?;
                    c.prepare_cached("DELETE FROM posts WHERE id = ?1")?.execute([id])?;
                    search::post_deleted(c, id)?;
                }
                Ok(outcome)
            },
            move |cache, outcome| {
                if *outcome == PostChange::Done {
                    cache.delete_post(id);
                }
            },
        )
        .await
    }

    async fn edit_post(&self, id: PostId, by: &str, edit: PostEdit) -> Result<PostChange> {
        let by = by.to_owned();
        let cached = edit.clone();
        self.write_then(
            move |c| {
                let outcome = owned_post(c, id, &by)?;
                if outcome == PostChange::Done {
                    match edit {
                        PostEdit::Title(t) => {
                            c.prepare_cached("UPDATE posts SET title = ?2 WHERE id = ?1")?.execute(params![id, t])?
                        }
                        PostEdit::Content(t) => {
                            c.prepare_cached("UPDATE posts SET content = ?2 WHERE id = ?1")?.execute(params![id, t])?
                        }
                    };
                    search::post_edited(c, id)?;
                }
                Ok(outcome)
            },
            move |cache, outcome| {
                if *outcome == PostChange::Done {
                    match cached {
                        PostEdit::Title(t) => cache.edit_post(id, Some(t), None),
                        PostEdit::Content(t) => cache.edit_post(id, None, Some(t)),
                    }
                }
            },
        )
        .await
    }

    async fn comment(&self, id: PostId, author: &str, text: &str, at: Timestamp) -> Result<bool> {
        if !self.cached(|c| c.has_post(id)) {
            return Ok(false);
        }
        let (author, text) = (author.to_owned(), text.to_owned());
        let (cached_author, cached_text) = (author.clone(), text.clone());
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
                    cache.add_comment(id, cached_author, cached_text);
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

/// What only this backend has: the file outlives the store, and the cache
/// is rebuilt from it. What every backend must do is in the contract suite
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

    /// Reads come from the in-memory cache: it must say exactly what the
    /// database says, both right after each acknowledged write and after a
    /// restart rebuilt it from the file. (That the live answers are right
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
