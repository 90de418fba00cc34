//! A TCP session in the `bbs` client's dialect: read the plain greeting,
//! send CLIENT_HELLO, then one command frame out, one JSON answer frame back.
//!
//! Kept minimal on purpose: the generator must cost as little CPU as
//! possible, since it shares the machine with the server it measures.

use std::net::SocketAddr;

use anyhow::{bail, Context};
use bbs_protocol::{ClientFrame, Event, Reply, ServerFrame, CLIENT_HELLO, PLAIN_GREETING};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct Session {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Start of unread bytes in `buf`.
    start: usize,
    out: Vec<u8>,
}

impl Session {
    /// Connects and switches to the client dialect.
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<Session> {
        let stream = TcpStream::connect(addr).await.with_context(|| format!("connect to {addr}"))?;
        stream.set_nodelay(true)?;
        let mut session = Session { stream, buf: Vec::with_capacity(512), start: 0, out: Vec::with_capacity(256) };
        while session.buf.len() < PLAIN_GREETING.len() {
            session.fill().await?;
        }
        if &session.buf[..PLAIN_GREETING.len()] != PLAIN_GREETING.as_bytes() {
            bail!("unexpected greeting");
        }
        session.start = PLAIN_GREETING.len();
        let hello = session.call_line(CLIENT_HELLO.as_bytes()).await.and_then(decode)?;
        if !matches!(hello.event, Some(Event::Hello { .. })) {
            bail!("the server did not accept the client dialect: {hello:?}");
        }
        Ok(session)
    }

    async fn fill(&mut self) -> anyhow::Result<()> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        // Reads into spare capacity: no zeroing of a fresh buffer per reply.
        self.buf.reserve(16 * 1024);
        match self.stream.read_buf(&mut self.buf).await? {
            0 => bail!("the server closed the connection"),
            _ => Ok(()),
        }
    }

    /// Sends one command line (as a command frame) and returns the raw
    /// answer frame (without `\n`). The session never logs in as a user
    /// anyone pushes to, so every frame back is an answer.
    pub async fn call_raw(&mut self, line: &str) -> anyhow::Result<&[u8]> {
        self.out.clear();
        serde_json::to_writer(&mut self.out, &ClientFrame::Command(line.to_owned()))?;
        self.out.push(b'\n');
        self.exchange().await
    }

    /// Sends one line as it is and returns the raw reply line.
    async fn call_line(&mut self, line: &[u8]) -> anyhow::Result<&[u8]> {
        self.out.clear();
        self.out.extend_from_slice(line);
        self.out.push(b'\n');
        self.exchange().await
    }

    /// Sends `out` and returns the next line back.
    async fn exchange(&mut self) -> anyhow::Result<&[u8]> {
        self.stream.write_all(&self.out).await?;
        self.read_frame().await
    }

    /// The next frame from the server, sending nothing (a push, for a
    /// session that waits for one).
    pub async fn read_frame(&mut self) -> anyhow::Result<&[u8]> {
        let mut scanned = self.start;
        loop {
            if let Some(pos) = self.buf[scanned..].iter().position(|b| *b == b'\n') {
                let end = scanned + pos;
                let begin = std::mem::replace(&mut self.start, end + 1);
                return Ok(&self.buf[begin..end]);
            }
            // `fill` moves the unread bytes to the front.
            scanned = self.buf.len() - self.start;
            self.fill().await?;
        }
    }

    /// Sends one line and decodes the reply.
    pub async fn call(&mut self, line: &str) -> anyhow::Result<Reply> {
        self.call_raw(line).await.and_then(decode)
    }

    /// Logs in; returns the UDP token.
    pub async fn login(&mut self, name: &str, password: &str) -> anyhow::Result<String> {
        let reply = self.call(&format!("login {name} {password}")).await?;
        match reply.event {
            Some(Event::LoggedIn { token, .. }) => Ok(token),
            _ => bail!("login {name} failed: {}", reply.text),
        }
    }
}

/// Decodes one answer frame.
pub fn decode(raw: &[u8]) -> anyhow::Result<Reply> {
    match ServerFrame::from_line(raw) {
        Ok(ServerFrame::Answer(reply)) => Ok(reply),
        _ => bail!("not an answer frame: {}", String::from_utf8_lossy(raw)),
    }
}
