//! One TCP connection: reading command lines, answering in the right
//! dialect, and cleaning up when the peer goes away.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use bbs_protocol::line::{LineDecoder, LineError};
use bbs_protocol::telnet::TelnetFilter;
use bbs_protocol::{Command, Event, ParseError, Reply, CLIENT_HELLO, PLAIN_GREETING, PROMPT};
use bbs_storage::Store;
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::commands::{execute, Caller, Via};
use crate::session::Session;
use crate::Shared;

/// Serves one accepted connection until the peer leaves, sends `exit`, or
/// the server shuts down.
pub(crate) async fn serve<S: Store>(
    shared: Arc<Shared<S>>,
    stream: TcpStream,
    peer: SocketAddr,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut session = Session::Anonymous;
    let mut connection = Connection::new(stream, shared.config.max_line);
    let result = tokio::select! {
        result = connection.run(&shared, &mut session, peer) => result,
        _ = shutdown.wait_for(|stop| *stop) => Ok(()),
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "connection ended with an error");
    }
    // Whatever way the connection ended, its token dies with it, and so
    // does the chatroom its client was hosting.
    if let Some(user) = session.user() {
        shared.tokens.revoke(&user.token);
        crate::chatrooms::owner_disconnected(&shared, user).await;
    }
    tracing::info!("connection closed");
}

struct Connection {
    reader: OwnedReadHalf,
    writer: BufWriter<OwnedWriteHalf>,
    raw: Vec<u8>,
    filter: TelnetFilter,
    lines: BytesMut,
    decoder: LineDecoder,
    dialect: Via,
    at_eof: bool,
}

impl Connection {
    fn new(stream: TcpStream, max_line: usize) -> Connection {
        let _ = stream.set_nodelay(true);
        let (reader, writer) = stream.into_split();
        Connection {
            reader,
            writer: BufWriter::new(writer),
            raw: vec![0; 16 * 1024],
            filter: TelnetFilter::default(),
            lines: BytesMut::new(),
            decoder: LineDecoder::new(max_line),
            dialect: Via::Plain,
            at_eof: false,
        }
    }

    async fn run<S: Store>(&mut self, shared: &Shared<S>, session: &mut Session, peer: SocketAddr) -> io::Result<()> {
        self.writer.write_all(PLAIN_GREETING.as_bytes()).await?;
        self.writer.flush().await?;
        let mut first = true;
        while let Some(line) = self.next_line().await? {
            let reply = match line {
                Ok(line) if first && line == CLIENT_HELLO => {
                    self.dialect = Via::Client;
                    Reply::with_event("", Event::Hello { version: 1 })
                }
                Ok(line) if self.dialect == Via::Client && line.starts_with('%') => {
                    let mut caller = Caller { session: &mut *session, peer, via: self.dialect };
                    crate::commands::client_request(shared, &mut caller, &line).await
                }
                Ok(line) => match Command::parse(&line) {
                    Ok(command) => {
                        let mut caller = Caller { session: &mut *session, peer, via: self.dialect };
                        execute(shared, &mut caller, command).await
                    }
                    Err(ParseError::Empty) => Reply::default(),
                    Err(e) => Reply::text(e.to_string()),
                },
                Err(LineError::TooLong(max)) => {
                    Reply::text(format!("Error: line too long (the limit is {max} bytes); it was ignored."))
                }
                Err(LineError::InvalidUtf8) => Reply::text("Error: the line is not valid UTF-8; it was ignored."),
            };
            first = false;
            self.send(&reply).await?;
            if reply.event == Some(Event::Goodbye) {
                break;
            }
        }
        Ok(())
    }

    /// The next line from the peer; `None` at the end of its input.
    async fn next_line(&mut self) -> io::Result<Option<Result<String, LineError>>> {
        loop {
            if let Some(line) = self.decoder.decode(&mut self.lines) {
                return Ok(Some(line));
            }
            if self.at_eof {
                return Ok(None);
            }
            let n = self.reader.read(&mut self.raw).await?;
            if n == 0 {
                // A last line without a line break (`printf whoami | nc`)
                // still counts.
                self.at_eof = true;
                if !self.lines.is_empty() {
                    self.lines.extend_from_slice(b"\n");
                }
                continue;
            }
            self.filter.push(&self.raw[..n], &mut self.lines);
        }
    }

    async fn send(&mut self, reply: &Reply) -> io::Result<()> {
        match self.dialect {
            Via::Client => self.writer.write_all(&reply.to_line()).await?,
            Via::Plain | Via::Udp => {
                if !reply.text.is_empty() {
                    for line in reply.text.split('\n') {
                        self.writer.write_all(line.as_bytes()).await?;
                        self.writer.write_all(b"\r\n").await?;
                    }
                }
                if reply.event != Some(Event::Goodbye) {
                    self.writer.write_all(PROMPT.as_bytes()).await?;
                }
            }
        }
        self.writer.flush().await
    }
}
