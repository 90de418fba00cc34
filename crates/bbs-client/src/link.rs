//! The TCP connection to `bbsd`, in the client dialect: command lines out,
//! one JSON [`Reply`] per line back (see the protocol crate).

use std::net::SocketAddr;

use bbs_protocol::{Event, Reply, CLIENT_HELLO, PLAIN_GREETING};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// The largest reply the client accepts (a post is at most a 64 KiB line,
/// plus comments); protects the client from a broken or hostile server.
const MAX_REPLY: u64 = 32 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("cannot connect to {server}: {source}")]
    Connect { server: String, source: std::io::Error },
    #[error("the connection to the server was lost")]
    Lost,
    #[error("the server at {0} does not speak the BBS protocol")]
    NotBbs(String),
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
}

pub struct Link {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
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
        let mut link = Link { reader: BufReader::new(reader), writer, local, server };
        let mut greeting = vec![0u8; PLAIN_GREETING.len()];
        link.reader.read_exact(&mut greeting).await.map_err(|_| LinkError::NotBbs(name.clone()))?;
        if greeting != PLAIN_GREETING.as_bytes() {
            return Err(LinkError::NotBbs(name));
        }
        match link.receive().await? {
            Reply { event: Some(Event::Hello { .. }), .. } => Ok(link),
            _ => Err(LinkError::NotBbs(name)),
        }
    }

    /// Sends one command line and waits for its answer.
    pub async fn call(&mut self, line: &str) -> Result<Reply, LinkError> {
        self.writer.write_all(format!("{line}\n").as_bytes()).await.map_err(|_| LinkError::Lost)?;
        self.receive().await
    }

    /// Resolves once the server sends something nobody asked for, or
    /// closes: while no call is waiting, that is only its parting words
    /// before it closes the connection (idle timeout, shutdown). Consumes
    /// nothing, so it is safe to drop in a `select!`; read what came with
    /// [`Link::receive`].
    pub async fn readable(&mut self) {
        let _ = self.reader.fill_buf().await;
    }

    /// Reads the next reply.
    pub async fn receive(&mut self) -> Result<Reply, LinkError> {
        let mut line = Vec::new();
        let n = (&mut self.reader).take(MAX_REPLY).read_until(b'\n', &mut line).await.map_err(|_| LinkError::Lost)?;
        if n == 0 || line.last() != Some(&b'\n') {
            return Err(LinkError::Lost);
        }
        line.pop();
        Reply::from_line(&line).map_err(|_| LinkError::NotBbs(self.server.to_string()))
    }
}
