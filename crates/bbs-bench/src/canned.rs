//! The canned server: greets like `bbsd`, then answers every TCP command
//! line with one fixed JSON reply and every UDP datagram with a fixed text.
//! It does no work at all, so a run against it measures the ceiling of the
//! generator (and of loopback networking) on this machine.
//!
//! With a database (`canned --durable DB`) it is the *durable* canned
//! server: the same, except that every write of the mix (`create-post`,
//! `comment`) is first stored as one row in SQLite and flushed to disk
//! before its answer, the rule `bbsd` keeps. One thread takes every write
//! waiting, inserts them in one transaction and commits it with
//! `synchronous = FULL` (in WAL mode: one `fdatasync` of the log per
//! commit), then answers them: about the least work a server that keeps
//! that rule with SQLite can do. What `bbsd` costs beyond it is the rest of its
//! work (rules, indexes, the search index, caches, sessions, answers).

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};

use anyhow::Context;
use bbs_protocol::{CLIENT_HELLO, PLAIN_GREETING};
use rusqlite::Connection;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::oneshot;

use crate::load::Kind;

const CANNED_REPLY: &[u8] = b"{\"answer\":{\"text\":\"ok\"}}\n";
const HELLO_REPLY: &[u8] = b"{\"answer\":{\"event\":{\"kind\":\"hello\",\"version\":2}}}\n";

pub async fn serve(port: u16, durable: Option<PathBuf>) -> anyhow::Result<()> {
    let store = durable.as_deref().map(DurableWrites::open).transpose()?;
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let udp = Arc::new(UdpSocket::bind(addr).await?);
    eprintln!("canned server: Listening on {addr} (TCP and UDP)");
    tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        loop {
            let Ok((n, peer)) = udp.recv_from(&mut buf).await else { continue };
            let tag = buf[..n].strip_prefix(b"@").and_then(|rest| rest.split(|b| *b == b' ').next());
            let mut reply = Vec::with_capacity(40);
            if let Some(tag) = tag {
                reply.push(b'@');
                reply.extend_from_slice(tag);
                reply.push(b' ');
            }
            reply.extend_from_slice(b"ok");
            let _ = udp.send_to(&reply, peer).await;
        }
    });
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(connection(stream, store.clone()));
    }
}

async fn connection(mut stream: TcpStream, store: Option<DurableWrites>) -> anyhow::Result<()> {
    stream.set_nodelay(true)?;
    stream.write_all(PLAIN_GREETING.as_bytes()).await?;
    let mut buf = vec![0u8; 4096];
    let mut pending = Vec::new();
    let mut out = Vec::new();
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        pending.extend_from_slice(&buf[..n]);
        while let Some(pos) = pending.iter().position(|b| *b == b'\n') {
            let line = &pending[..pos];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if let Some(store) = &store {
                if is_write(line) {
                    store.write(line).await?;
                }
            }
            out.extend_from_slice(if line == CLIENT_HELLO.as_bytes() { HELLO_REPLY } else { CANNED_REPLY });
            pending.drain(..=pos);
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
    }
}

/// Whether a frame is a write of the mix: `{"command":"create-post …"}` or
/// `{"command":"comment …"}`, told by its first bytes (the canned server
/// decodes no JSON).
fn is_write(frame: &[u8]) -> bool {
    frame.strip_prefix(b"{\"command\":\"").and_then(Kind::of_line).is_some_and(Kind::is_write)
}

/// A write waiting for the committing thread.
struct Pending {
    line: String,
    stored: oneshot::Sender<()>,
}

/// The durable canned server's store: one table, one committing thread.
#[derive(Clone)]
struct DurableWrites {
    to_writer: mpsc::Sender<Pending>,
}

impl DurableWrites {
    fn open(path: &Path) -> anyhow::Result<DurableWrites> {
        let conn = Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch("CREATE TABLE IF NOT EXISTS writes (id INTEGER PRIMARY KEY, line TEXT NOT NULL)")?;
        let (to_writer, inbox) = mpsc::channel();
        std::thread::Builder::new().name("sqlite-writer".into()).spawn(move || commit_loop(&conn, &inbox))?;
        Ok(DurableWrites { to_writer })
    }

    /// Returns once `line` is stored and on disk.
    async fn write(&self, line: &[u8]) -> anyhow::Result<()> {
        let (stored, done) = oneshot::channel();
        let line = String::from_utf8_lossy(line).into_owned();
        self.to_writer.send(Pending { line, stored }).context("the committing thread stopped")?;
        done.await.context("the write was not stored (see the server's log)")
    }
}

/// Group commit in its plainest form: everything waiting goes into one
/// transaction, whose COMMIT returns once the log is on disk.
fn commit_loop(conn: &Connection, inbox: &mpsc::Receiver<Pending>) {
    while let Ok(first) = inbox.recv() {
        let mut batch = vec![first];
        batch.extend(inbox.try_iter());
        if let Err(e) = commit(conn, &batch) {
            // The writers' answers are dropped: their connections close,
            // and the bench counts errors.
            eprintln!("ERROR durable canned server: commit failed: {e}");
            let _ = conn.execute_batch("ROLLBACK");
            continue;
        }
        for pending in batch {
            let _ = pending.stored.send(());
        }
    }
}

fn commit(conn: &Connection, batch: &[Pending]) -> rusqlite::Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let mut insert = conn.prepare_cached("INSERT INTO writes (line) VALUES (?1)")?;
    for pending in batch {
        insert.execute([&pending.line])?;
    }
    conn.execute_batch("COMMIT")
}
