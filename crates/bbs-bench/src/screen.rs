//! `screen` mode: many full-screen sessions idle on the board list while
//! posts arrive.
//!
//! Needs a database seeded with cheap hashes for `sessions + 1` users and
//! no boards (`seed --users N+1 --cheap-hashes --bulk-posts 0
//! --read-boards 0`), and a server with `--telnet-port`. The last user
//! creates `posts` boards over the line protocol; then `sessions` telnet
//! clients (NAWS 80×24) log in on the login screen and open the board
//! list. Measures:
//! 1. the server's memory per session (RSS before and after, divided);
//! 2. for each post (one per board, so each marks a different row of
//!    every screen with `*`): the time from the post's answer (its ack)
//!    to that `*` reaching the last of the sessions.
//!
//! Each client reads only to find its screens and the redraw; it keeps no
//! terminal state, so the generator stays cheap beside the server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use crate::client::Session;
use crate::process::rss_kib;
use crate::setup::{user_name, PASSWORD};
use crate::stats::Stats;

pub struct Plan {
    pub sessions: usize,
    /// Posts measured (as many boards are created; at most 18, so every
    /// board shows on an 80×24 board list).
    pub posts: usize,
}

/// What a telnet client answers to the server's offers, and its window.
const CLIENT_HELLO: &[u8] =
    &[255, 253, 1, 255, 253, 3, 255, 251, 3, 255, 251, 31, 255, 250, 31, 0, 80, 0, 24, 255, 240];

/// Most sessions logging in at once.
const OPENING: usize = 200;

fn board_name(i: usize) -> String {
    format!("screen{i:02}")
}

/// Reads until the text received (since the call) holds every one of
/// `needles`.
async fn read_until(stream: &mut TcpStream, needles: &[&str]) -> anyhow::Result<()> {
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let text = String::from_utf8_lossy(&seen);
        if needles.iter().all(|needle| text.contains(needle)) {
            return Ok(());
        }
        let n = tokio::time::timeout_at(deadline, stream.read(&mut chunk))
            .await
            .with_context(|| format!("waiting for {needles:?}; the screen said {text:?}"))??;
        if n == 0 {
            bail!("closed waiting for {needles:?}: {text}");
        }
        seen.extend_from_slice(&chunk[..n]);
    }
}

/// One session logged in through the login screen, on the board list.
async fn open(telnet: SocketAddr, user: String, last_board: String) -> anyhow::Result<TcpStream> {
    let mut stream = TcpStream::connect(telnet).await?;
    stream.set_nodelay(true)?;
    stream.write_all(CLIENT_HELLO).await?;
    read_until(&mut stream, &["Username:"]).await?;
    stream.write_all(format!("{user}\r{PASSWORD}\r").as_bytes()).await?;
    read_until(&mut stream, &["(B)oards"]).await?;
    stream.write_all(b"b").await?;
    // The title is drawn as a diff from the main menu's: "[" is already there.
    read_until(&mut stream, &["Boards]", &last_board]).await?;
    Ok(stream)
}

pub async fn run(addr: SocketAddr, telnet: SocketAddr, pid: Option<u32>, plan: &Plan) -> anyhow::Result<()> {
    if plan.posts == 0 || plan.posts > 18 {
        bail!("--posts must be 1 to 18 (one board each, all on one 80x24 page)");
    }
    let mut poster = Session::connect(addr).await?;
    poster.login(&user_name(plan.sessions), PASSWORD).await?;
    for i in 0..plan.posts {
        let reply = poster.call(&format!("create-board {}", board_name(i))).await?;
        if reply.text != "Create board successfully." {
            bail!("create-board answered {:?} (seed with --read-boards 0 --bulk-posts 0)", reply.text);
        }
    }
    let before = pid.map(rss_kib).transpose()?;
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(OPENING));
    let mut opening = tokio::task::JoinSet::new();
    let last_board = board_name(plan.posts - 1);
    for i in 0..plan.sessions {
        let (gate, last_board) = (Arc::clone(&gate), last_board.clone());
        opening.spawn(async move {
            let _permit = gate.acquire_owned().await?;
            open(telnet, user_name(i), last_board).await
        });
    }
    let mut streams = Vec::with_capacity(plan.sessions);
    while let Some(opened) = opening.join_next().await {
        streams.push(opened??);
    }
    println!("{} full-screen sessions on the board list, in {:.1} s", streams.len(), started.elapsed().as_secs_f64());
    // Let the last frames settle before measuring memory.
    tokio::time::sleep(Duration::from_millis(500)).await;
    if let (Some(pid), Some(before)) = (pid, before) {
        let after = rss_kib(pid)?;
        println!(
            "== memory: server RSS {before} KiB before, {after} KiB with the sessions: {:.1} KiB per session",
            after.saturating_sub(before) as f64 / plan.sessions as f64
        );
    }

    let mut last_redraw = Stats::default();
    let mut median_redraw = Stats::default();
    let window = Instant::now();
    for post in 0..plan.posts {
        // Every session waits for its next bytes on its own task.
        let ready = Arc::new(Semaphore::new(0));
        let mut waiting = tokio::task::JoinSet::new();
        for mut stream in streams.drain(..) {
            let ready = Arc::clone(&ready);
            waiting.spawn(async move {
                ready.add_permits(1);
                // The redraw of this post is the `*` it puts on its board's
                // row: read until it comes (a frame may come in pieces).
                let mut chunk = [0u8; 4096];
                let at = loop {
                    let n = tokio::time::timeout(Duration::from_secs(60), stream.read(&mut chunk)).await??;
                    if n == 0 {
                        bail!("a session closed");
                    }
                    if chunk[..n].contains(&b'*') {
                        break Instant::now();
                    }
                };
                anyhow::Ok((at, stream))
            });
        }
        let _all = ready.acquire_many(u32::try_from(plan.sessions)?).await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let reply = poster
            .call(&format!(
                "create-post {} --title post {post} --content arrives while everybody watches",
                board_name(post)
            ))
            .await?;
        let acked = Instant::now();
        if reply.text != "Create post successfully." {
            bail!("create-post answered {:?}", reply.text);
        }
        let mut delays = Vec::with_capacity(plan.sessions);
        while let Some(done) = waiting.join_next().await {
            let (at, stream) = done??;
            delays.push(at.saturating_duration_since(acked));
            streams.push(stream);
        }
        delays.sort_unstable();
        last_redraw.record("ack to last redraw", *delays.last().expect("sessions"));
        median_redraw.record("ack to median redraw", delays[delays.len() / 2]);
    }
    let elapsed = window.elapsed().as_secs_f64();
    last_redraw.print(&format!("post ack to the last of {} sessions redrawn", plan.sessions), elapsed);
    median_redraw.print(&format!("post ack to the median of {} sessions redrawn", plan.sessions), elapsed);
    Ok(())
}
