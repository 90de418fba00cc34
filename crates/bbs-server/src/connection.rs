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
use tokio::io::AsyncWriteExt;
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
    // Whatever way the connection ended, its token dies with it.
    if let Some(user) = session.user() {
        shared.tokens.revoke(&user.token);
    }
    tracing::info!("connection closed");
}

/// Bytes read from the socket at a time. The buffer lives on the stack
/// only while a read is in progress, so an idle connection holds none.
const READ_CHUNK: usize = 4096;

/// A connection's buffers are given back when they grew past this (after a
/// long line or a big answer), so idle connections stay small.
const KEEP_BUFFER: usize = 16 * 1024;

struct Connection {
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
    /// The encoded answer, written with one system call.
    out: Vec<u8>,
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
            writer,
            out: Vec::new(),
            filter: TelnetFilter::default(),
            lines: BytesMut::new(),
            decoder: LineDecoder::new(max_line),
            dialect: Via::Plain,
            at_eof: false,
        }
    }

    async fn run<S: Store>(&mut self, shared: &Shared<S>, session: &mut Session, peer: SocketAddr) -> io::Result<()> {
        self.writer.write_all(PLAIN_GREETING.as_bytes()).await?;
        let mut first = true;
        while let Some(line) = self.next_line().await? {
            let reply = match line {
                Ok(line) if first && line == CLIENT_HELLO => {
                    self.dialect = Via::Client;
                    Reply::with_event("", Event::Hello { version: 1 })
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
                if self.lines.is_empty() && self.lines.capacity() > KEEP_BUFFER {
                    self.lines = BytesMut::new();
                }
                return Ok(Some(line));
            }
            if self.at_eof {
                return Ok(None);
            }
            self.reader.readable().await?;
            let mut raw = [0u8; READ_CHUNK];
            let n = match self.reader.try_read(&mut raw) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                // A last line without a line break (`printf whoami | nc`)
                // still counts.
                self.at_eof = true;
                if !self.lines.is_empty() {
                    self.lines.extend_from_slice(b"\n");
                }
                continue;
            }
            self.filter.push(&raw[..n], &mut self.lines);
        }
    }

    async fn send(&mut self, reply: &Reply) -> io::Result<()> {
        self.out.clear();
        match self.dialect {
            Via::Client => reply.write_line(&mut self.out),
            Via::Plain | Via::Udp => {
                if !reply.text.is_empty() {
                    for line in reply.text.split('\n') {
                        self.out.extend_from_slice(line.as_bytes());
                        self.out.extend_from_slice(b"\r\n");
                    }
                }
                if reply.event != Some(Event::Goodbye) {
                    self.out.extend_from_slice(PROMPT.as_bytes());
                }
            }
        }
        self.writer.write_all(&self.out).await?;
        if self.out.capacity() > KEEP_BUFFER {
            self.out = Vec::new();
        }
        Ok(())
    }
}
