//! One TCP connection: reading command lines, answering in the right
//! dialect, and cleaning up when the peer goes away.
//!
//! Reading and writing happen in one loop that waits on whichever is ready,
//! so the connection protects itself without a second task:
//! - answers go into a bounded output buffer; once it holds more than
//!   `max_pending_output` bytes no further command is read until the peer
//!   catches up, and if the peer takes no bytes at all for `write_timeout`
//!   the connection is closed (a peer that stopped reading costs a bounded
//!   amount of memory and never slows anybody else);
//! - a connection that sends no complete command line for its idle timeout
//!   (shorter before login) is told so and closed; bytes trickling in
//!   without a line break do not reset the timer.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bbs_protocol::line::{LineDecoder, LineError};
use bbs_protocol::telnet::TelnetFilter;
use bbs_protocol::{Command, Event, ParseError, Reply, CLIENT_HELLO, PLAIN_GREETING, PROMPT};
use bbs_storage::Store;
use bytes::{Buf, BufMut, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::commands::{execute, Caller, Via};
use crate::rate::ConnectionSlot;
use crate::session::Session;
use crate::Shared;

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 4096;

/// A connection's buffers are given back when they grew past this (after a
/// long line or a big answer), so idle connections stay small.
const KEEP_BUFFER: usize = 16 * 1024;

/// What an idle peer reads before the server closes its connection.
pub(crate) const IDLE_CLOSE: &str = "Idle for too long: closing the connection.";

/// How long the last answer (a goodbye, the idle notice) may take to leave.
const LAST_WORDS_TIME: Duration = Duration::from_secs(2);

/// Serves one accepted connection until the peer leaves, sends `exit`, or
/// the server shuts down.
pub(crate) async fn serve<S: Store>(
    shared: Arc<Shared<S>>,
    stream: TcpStream,
    peer: SocketAddr,
    slot: ConnectionSlot,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut session = Session::Anonymous;
    let mut connection = Connection::new(stream, &shared);
    let result = tokio::select! {
        result = connection.run(&shared, &mut session, peer) => result,
        _ = shutdown.wait_for(|stop| *stop) => Ok(End::Shutdown),
    };
    match result {
        Ok(end) => tracing::debug!(?end, "connection ended"),
        Err(e) => tracing::debug!(error = %e, "connection ended with an error"),
    }
    // Whatever way the connection ended, its token dies with it.
    // So does the chatroom its client was hosting.
    if let Some(user) = session.user() {
        shared.tokens.revoke(&user.token);
        crate::chatrooms::owner_disconnected(&shared, user).await;
    }
    // The slot is free before the socket closes: a peer that sees the close
    // may connect again at once.
    drop(slot);
    drop(connection);
    tracing::info!("connection closed");
}

/// Why a connection ended without an I/O error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// End of input or `exit`.
    Peer,
    Idle,
    /// Answers piled up and the peer took none of them for `write_timeout`.
    StoppedReading,
    Shutdown,
}

struct Connection {
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
    filter: TelnetFilter,
    lines: BytesMut,
    decoder: LineDecoder,
    /// Answers not yet taken by the peer.
    out: BytesMut,
    max_pending_output: usize,
    write_timeout: Duration,
    dialect: Via,
    at_eof: bool,
}

impl Connection {
    fn new<S>(stream: TcpStream, shared: &Shared<S>) -> Connection {
        let _ = stream.set_nodelay(true);
        let (reader, writer) = stream.into_split();
        Connection {
            reader,
            writer,
            filter: TelnetFilter::default(),
            lines: BytesMut::new(),
            decoder: LineDecoder::new(shared.config.max_line),
            out: BytesMut::new(),
            max_pending_output: shared.config.max_pending_output.max(1),
            write_timeout: shared.config.write_timeout,
            dialect: Via::Plain,
            at_eof: false,
        }
    }

    async fn run<S: Store>(&mut self, shared: &Shared<S>, session: &mut Session, peer: SocketAddr) -> io::Result<End> {
        let idle_timeout = |session: &Session| match session {
            Session::Anonymous => shared.config.idle_timeout_anonymous,
            Session::LoggedIn(_) => shared.config.idle_timeout_logged_in,
        };
        self.out.extend_from_slice(PLAIN_GREETING.as_bytes());
        let mut first = true;
        let mut idle_deadline = Instant::now() + idle_timeout(session);
        // Since when the peer has taken none of the pending answers while
        // the connection was waiting for it (time spent running commands
        // does not count against the peer).
        let mut stalled_since: Option<Instant> = None;
        loop {
            // Answer the lines already here, as long as the peer keeps up.
            while self.out.len() < self.max_pending_output {
                let Some(line) = self.decoder.decode(&mut self.lines) else { break };
                if self.lines.is_empty() && self.lines.capacity() > KEEP_BUFFER {
                    self.lines = BytesMut::new();
                }
                let reply = self.answer(shared, session, peer, line, first).await;
                first = false;
                self.push(&reply);
                idle_deadline = Instant::now() + idle_timeout(session);
                if reply.event == Some(Event::Goodbye) {
                    self.flush_last_words().await?;
                    return Ok(End::Peer);
                }
            }
            let want_input = self.out.len() < self.max_pending_output && !self.at_eof;
            if self.at_eof && self.out.is_empty() {
                return Ok(End::Peer);
            }
            let stall_deadline = if self.out.is_empty() {
                stalled_since = None;
                idle_deadline
            } else {
                *stalled_since.get_or_insert_with(Instant::now) + self.write_timeout
            };
            // Biased: a writable socket is never declared stalled, and
            // answers go out before more commands come in.
            tokio::select! {
                biased;
                written = self.writer.write(&self.out), if !self.out.is_empty() => {
                    let n = written?;
                    if n == 0 {
                        return Err(io::ErrorKind::WriteZero.into());
                    }
                    self.out.advance(n);
                    if self.out.is_empty() && self.out.capacity() > KEEP_BUFFER {
                        self.out = BytesMut::new();
                    }
                    stalled_since = None;
                }
                ready = self.reader.readable(), if want_input => {
                    ready?;
                    // On the stack only while reading: an idle connection
                    // holds no read buffer.
                    let mut raw = [0u8; READ_CHUNK];
                    match self.reader.try_read(&mut raw) {
                        Ok(0) => {
                            // A last line without a line break
                            // (`printf whoami | nc`) still counts.
                            self.at_eof = true;
                            if !self.lines.is_empty() {
                                self.lines.extend_from_slice(b"\n");
                            }
                        }
                        Ok(n) => self.filter.push(&raw[..n], &mut self.lines),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => return Err(e),
                    }
                }
                () = tokio::time::sleep_until(stall_deadline), if !self.out.is_empty() => {
                    tracing::info!(pending = self.out.len(), "peer stopped reading; closing");
                    return Ok(End::StoppedReading);
                }
                () = tokio::time::sleep_until(idle_deadline), if !self.at_eof => {
                    tracing::info!("idle; closing");
                    self.push(&Reply::with_event(IDLE_CLOSE, Event::Goodbye));
                    self.flush_last_words().await?;
                    return Ok(End::Idle);
                }
            }
        }
    }

    /// The answer to one line (or to a line that could not be read).
    async fn answer<S: Store>(
        &mut self,
        shared: &Shared<S>,
        session: &mut Session,
        peer: SocketAddr,
        line: Result<String, LineError>,
        first: bool,
    ) -> Reply {
        match line {
            Ok(line) if first && line == CLIENT_HELLO => {
                self.dialect = Via::Client;
                // The greeting was for a person; the client reads it as is.
                Reply::with_event("", Event::Hello { version: 1 })
            }
            // The client's own requests (chatroom bookkeeping), never typed.
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
        }
    }

    /// Appends one answer, in the connection's dialect, to the output.
    fn push(&mut self, reply: &Reply) {
        match self.dialect {
            Via::Client => reply.write_line(&mut (&mut self.out).writer()),
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
    }

    /// Sends what is pending before closing, if the peer takes it in time.
    /// The socket itself closes when the connection is dropped, after its
    /// slot is given back (see [`serve`]).
    async fn flush_last_words(&mut self) -> io::Result<()> {
        let flush = async {
            self.writer.write_all(&self.out).await?;
            self.out.clear();
            self.writer.flush().await
        };
        tokio::time::timeout(LAST_WORDS_TIME.min(self.write_timeout.max(Duration::from_millis(100))), flush)
            .await
            .unwrap_or(Ok(()))
    }
}
