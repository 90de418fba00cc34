//! The TCP connection to `bbsd`, in the client dialect: [`ClientFrame`]s
//! out, [`ServerFrame`]s back (see the protocol crate's `frame` module).
//!
//! The server answers every client frame exactly once, in order, and may
//! push frames nobody asked for in between. [`Link::request`] returns the
//! answer and keeps the pushes that came before it; [`Link::unasked`]
//! gives those, then waits for the next push (or the server's closing
//! words) while the user is at the prompt.

use std::collections::VecDeque;
use std::net::SocketAddr;

use bbs_protocol::{ClientFrame, Event, Push, Reply, ServerFrame, CLIENT_HELLO, PLAIN_GREETING};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// The largest frame the client accepts (a post is at most a 64 KiB line,
/// plus comments); protects the client from a broken or hostile server.
const MAX_FRAME: usize = 32 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("cannot connect to {server}: {source}")]
    Connect { server: String, source: std::io::Error },
    #[error("the connection to the server was lost")]
    Lost,
    #[error("the server at {0} does not speak the BBS protocol")]
    NotBbs(String),
    /// The server refused this client (another release): its words.
    #[error("{0}")]
    Refused(String),
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
}

/// What the server sent without being asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unasked {
    /// A line for the user (a message, a notification).
    Push(Push),
    /// The server is closing the connection; the text says why.
    Closing(Push),
}

pub struct Link {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    /// A frame read in part by a cancelled [`Link::unasked`].
    partial: Vec<u8>,
    /// Pushes that arrived while an answer was awaited.
    pushes: VecDeque<Push>,
    pub local: SocketAddr,
    pub server: SocketAddr,
}

impl Link {
    /// Connects, checks the greeting and switches to the client dialect.
    pub async fn connect(host: &str, port: u16) -> Result<Link, LinkError> {
        let name = format!("{host}:{port}");
        let stream = TcpStream::connect((host, port))
            .await
            .map_err(|source| LinkError::Connect { server: name.clone(), source })?;
        let _ = stream.set_nodelay(true);
        let (local, server) = (stream.local_addr()?, stream.peer_addr()?);
        let (reader, mut writer) = stream.into_split();
        writer.write_all(format!("{CLIENT_HELLO}\n").as_bytes()).await?;
        let mut link = Link {
            reader: BufReader::new(reader),
            writer,
            partial: Vec::new(),
            pushes: VecDeque::new(),
            local,
            server,
        };
        let mut greeting = vec![0u8; PLAIN_GREETING.len()];
        link.reader.read_exact(&mut greeting).await.map_err(|_| LinkError::NotBbs(name.clone()))?;
        if greeting != PLAIN_GREETING.as_bytes() {
            return Err(LinkError::NotBbs(name));
        }
        match link.frame().await? {
            ServerFrame::Answer(Reply { event: Some(Event::Hello { .. }), .. }) => Ok(link),
            ServerFrame::Answer(Reply { event: Some(Event::Goodbye), text }) => Err(LinkError::Refused(text)),
            _ => Err(LinkError::NotBbs(name)),
        }
    }

    /// Sends one command line and waits for its answer.
    pub async fn call(&mut self, line: &str) -> Result<Reply, LinkError> {
        self.request(&ClientFrame::Command(line.to_owned())).await
    }

    /// Sends one frame and waits for its answer. Pushes that come first are
    /// kept for [`Link::take_pushes`]; if the server closes the connection
    /// instead of answering, its closing words come back as a goodbye.
    pub async fn request(&mut self, frame: &ClientFrame) -> Result<Reply, LinkError> {
        self.writer.write_all(&frame.to_line()).await.map_err(|_| LinkError::Lost)?;
        loop {
            match self.frame().await? {
                ServerFrame::Answer(reply) => return Ok(reply),
                ServerFrame::Push(push) => self.pushes.push_back(push),
                ServerFrame::Closing(why) => return Ok(Reply::with_event(why.text, Event::Goodbye)),
            }
        }
    }

    /// The pushes that arrived while the last answer was awaited.
    pub fn take_pushes(&mut self) -> Vec<Push> {
        self.pushes.drain(..).collect()
    }

    /// The next frame the server sends unasked: a kept push first, else the
    /// next frame off the wire. Cancel-safe, so it can wait beside the
    /// keyboard in a `select!`. An answer here would mean the two sides
    /// disagree about the dialect.
    pub async fn unasked(&mut self) -> Result<Unasked, LinkError> {
        if let Some(push) = self.pushes.pop_front() {
            return Ok(Unasked::Push(push));
        }
        match self.frame().await? {
            ServerFrame::Push(push) => Ok(Unasked::Push(push)),
            ServerFrame::Closing(why) => Ok(Unasked::Closing(why)),
            ServerFrame::Answer(_) => Err(LinkError::NotBbs(self.server.to_string())),
        }
    }

    /// Reads the next frame. Bytes of a frame read before a cancellation
    /// stay in `partial`, so the next call goes on where it stopped.
    async fn frame(&mut self) -> Result<ServerFrame, LinkError> {
        loop {
            let before = self.partial.len();
            let room = (MAX_FRAME + 1).saturating_sub(before) as u64;
            let n = (&mut self.reader)
                .take(room)
                .read_until(b'\n', &mut self.partial)
                .await
                .map_err(|_| LinkError::Lost)?;
            if self.partial.last() == Some(&b'\n') {
                break;
            }
            if n == 0 || self.partial.len() > MAX_FRAME {
                return Err(LinkError::Lost);
            }
        }
        let line = std::mem::take(&mut self.partial);
        ServerFrame::from_line(&line[..line.len() - 1]).map_err(|_| LinkError::NotBbs(self.server.to_string()))
    }
}
