//! Preparing a server for a run: users registered over UDP, the boards and
//! posts the command mix works on, and logged-in sessions.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use bbs_protocol::udp::{parse_reply, UdpRequest};
use tokio::net::UdpSocket;
use tokio::sync::Semaphore;

use crate::client::Session;

/// Every bench user has this password (the bench is not about secrets).
pub const PASSWORD: &str = "benchpw";
/// Boards that `read` and `list-post` use; their size stays fixed.
pub const READ_BOARD_PREFIX: &str = "bench-r";
/// The board `create-post` writes to and whose posts get the comments, so
/// that what `read` and `list-post` return does not grow during a run.
pub const WRITE_BOARD: &str = "bench-w";
/// Posts on the write board that `comment` targets.
pub const COMMENT_TARGETS: usize = 20;

pub fn user_name(i: usize) -> String {
    format!("bench{i}")
}

/// What the mix needs to know about the data.
#[derive(Debug, Clone)]
pub struct Workload {
    pub read_boards: Vec<String>,
    pub read_posts: Vec<u64>,
    pub comment_posts: Vec<u64>,
}

impl Workload {
    /// Stand-ins for the canned server, which checks nothing.
    pub fn canned(read_boards: usize) -> Workload {
        Workload {
            read_boards: (0..read_boards).map(|i| format!("{READ_BOARD_PREFIX}{i}")).collect(),
            read_posts: (1..=100).collect(),
            comment_posts: (1..=20).collect(),
        }
    }
}

/// One UDP request with retries; the tag makes a retry safe.
pub async fn udp_call(socket: &UdpSocket, tag: &str, token: Option<&str>, line: &str) -> anyhow::Result<String> {
    let request = UdpRequest::encode(tag, token, line);
    let mut buf = vec![0u8; 65536];
    for _ in 0..20 {
        socket.send(request.as_bytes()).await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        loop {
            match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
                Err(_) => break,
                Ok(received) => {
                    let n = received?;
                    let text = std::str::from_utf8(&buf[..n])?;
                    if let Some((got, answer)) = parse_reply(text) {
                        if got == tag {
                            return Ok(answer.to_owned());
                        }
                    }
                }
            }
        }
    }
    bail!("no UDP answer to {line:?}")
}

/// Registers users `bench0..bench{n}` over UDP, 16 at a time; a name
/// already taken (an earlier run on the same database) is fine.
pub async fn register_users(addr: SocketAddr, n: usize) -> anyhow::Result<()> {
    let gate = Arc::new(Semaphore::new(16));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let permit = Arc::clone(&gate).acquire_owned().await?;
        tasks.spawn(async move {
            let _permit = permit;
            let socket = UdpSocket::bind("127.0.0.1:0").await?;
            socket.connect(addr).await?;
            let name = user_name(i);
            let answer =
                udp_call(&socket, &format!("r{i}"), None, &format!("register {name} {name}@bench.invalid {PASSWORD}"))
                    .await?;
            match answer.as_str() {
                "Register successfully." | "Username is already used." => Ok(()),
                other => bail!("register {name}: {other}"),
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

fn serial_numbers(table: &str) -> Vec<u64> {
    table.lines().skip(1).filter_map(|l| l.split_whitespace().next()?.parse().ok()).collect()
}

/// Makes sure the read boards hold `posts_per_board` posts each and the
/// write board has posts to comment on; returns what the mix will use.
pub async fn prepare_boards(
    admin: &mut Session,
    read_boards: usize,
    posts_per_board: usize,
) -> anyhow::Result<Workload> {
    let mut workload = Workload { read_boards: Vec::new(), read_posts: Vec::new(), comment_posts: Vec::new() };
    let boards: Vec<(String, usize)> = (0..read_boards)
        .map(|i| (format!("{READ_BOARD_PREFIX}{i}"), posts_per_board))
        .chain(std::iter::once((WRITE_BOARD.to_owned(), COMMENT_TARGETS)))
        .collect();
    for (board, wanted) in boards {
        let reply = admin.call(&format!("create-board {board}")).await?;
        if reply.text != "Create board successfully." && reply.text != "Board already exists." {
            bail!("create-board {board}: {}", reply.text);
        }
        let mut ids = serial_numbers(&admin.call(&format!("list-post {board}")).await?.text);
        for n in ids.len()..wanted {
            let reply = admin
                .call(&format!(
                    "create-post {board} --title Post {n} of {board} --content Line one of post {n}.<br>Line two."
                ))
                .await?;
            if reply.text != "Create post successfully." {
                bail!("create-post: {}", reply.text);
            }
        }
        if ids.len() < wanted {
            ids = serial_numbers(&admin.call(&format!("list-post {board}")).await?.text);
        }
        if board == WRITE_BOARD {
            workload.comment_posts = ids.into_iter().take(COMMENT_TARGETS).collect();
        } else {
            workload.read_posts.extend(ids.into_iter().take(wanted));
            workload.read_boards.push(board);
        }
    }
    Ok(workload)
}

/// Opens `n` sessions, logged in as `bench{i % users}` unless `anonymous`,
/// with at most `parallel` handshakes at once.
pub async fn open_sessions(
    addr: SocketAddr,
    n: usize,
    users: usize,
    login: bool,
    parallel: usize,
) -> anyhow::Result<Vec<Session>> {
    let gate = Arc::new(Semaphore::new(parallel));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let permit = Arc::clone(&gate).acquire_owned().await?;
        tasks.spawn(async move {
            let _permit = permit;
            let mut session = Session::connect(addr).await?;
            if login {
                session.login(&user_name(i % users.max(1)), PASSWORD).await.context("login")?;
            }
            anyhow::Ok(session)
        });
    }
    let mut sessions = Vec::with_capacity(n);
    while let Some(done) = tasks.join_next().await {
        sessions.push(done??);
    }
    Ok(sessions)
}
