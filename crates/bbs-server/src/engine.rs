//! The session engine: one session over any byte stream, whichever door it
//! came through (TCP today; SSH channels and WebSockets hand over their
//! streams the same way, as bore's `Delimited<U>` works over any stream).
//!
//! One loop waits on whichever is ready — the next command line, the next
//! push for the user, room in the peer's window — the way mini-redis's
//! `Subscribe::apply` selects over its socket and its channels. Commands
//! run one at a time between those waits, so a push is written between two
//! answers, never inside one.
//!
//! The connection protects itself without a second task:
//! - answers and pushes go into a bounded output buffer; once it holds more
//!   than `max_pending_output` bytes no further command or push is taken
//!   until the peer catches up, and if the peer takes no bytes at all for
//!   `write_timeout` the connection is closed (a peer that stopped reading
//!   costs a bounded amount of memory and never slows anybody else). Pushes
//!   that pile up meanwhile fill the session's inbox, and a full inbox ends
//!   the session too (see [`crate::session`]);
//! - a connection that sends no complete command line for its idle timeout
//!   (shorter before login) is told so and closed; bytes trickling in
//!   without a line break do not reset the timer.
//!
//! However the session ends, [`crate::cmd::end_session`] runs once here.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bbs_protocol::answer::{self, IDLE_CLOSE, SHUTTING_DOWN};
use bbs_protocol::frame::push_json_escaped;
use bbs_protocol::line::{LineDecoder, LineError};
use bbs_protocol::telnet::TelnetFilter;
use bbs_protocol::{
    ClientFrame, Command, Event, ParseError, Push, Reply, ServerFrame, CLIENT_HELLO, CLIENT_HELLO_PREFIX,
    DIALECT_VERSION, PLAIN_GREETING, PROMPT,
};
use bbs_storage::Store;
use bytes::{Buf, BufMut, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::cmd::{
    answer_failure, end_session, execute_in_pieces, get_file, open_session, room_closed, room_opened, send_file,
    transfer_done, Answer, Caller, PostTable, Via,
};
use crate::session::Session;
use crate::state::Shared;
use crate::telemetry::{self, Door};

/// Bytes read from the stream at a time.
const READ_CHUNK: usize = 4096;

/// A connection's buffers are given back when they grew past this (after a
/// long line or a big answer), so idle connections stay small.
const KEEP_BUFFER: usize = 16 * 1024;

/// How long the last words (a goodbye, the idle notice) may take to leave.
const LAST_WORDS_TIME: Duration = Duration::from_secs(2);

/// Serves one session over `reader`/`writer` until the peer leaves, sends
/// `exit`, goes idle or stops reading, or the server shuts down; then ends
/// the session. `admission` (the door's connection slot) is released after
/// the session ends and before the stream closes, so a peer that sees the
/// close may connect again at once.
pub(crate) async fn serve<S, R, W>(
    shared: Arc<Shared<S>>,
    reader: R,
    writer: W,
    peer: SocketAddr,
    admission: impl Send,
    shutdown: watch::Receiver<bool>,
) where
    S: Store,
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    serve_from(shared, reader, writer, peer, admission, shutdown, Start { door: Door::Tcp, user: None }).await
}

/// How a session starts: which door it came through, and whether the door
/// already authenticated its user.
#[derive(Debug, Clone)]
pub(crate) struct Start {
    pub(crate) door: Door,
    /// A user the door authenticated (an SSH login): the session starts
    /// logged in, through [`Sessions::open`](crate::session::Sessions::open)
    /// as a `login` would, and ends through the same teardown.
    pub(crate) user: Option<String>,
}

/// [`serve`] for any door. Sessions that did not come through TCP speak the
/// plain dialect only (the `bbs` client connects over TCP).
pub(crate) async fn serve_from<S, R, W>(
    shared: Arc<Shared<S>>,
    reader: R,
    writer: W,
    peer: SocketAddr,
    admission: impl Send,
    mut shutdown: watch::Receiver<bool>,
    start: Start,
) where
    S: Store,
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    let _open = telemetry::session_opened(start.door);
    // A user the door authenticated is logged in exactly as `login` does,
    // notices included.
    let (mut session, welcome) = match &start.user {
        Some(name) => {
            let (session, welcome) = open_session(&shared, name, peer).await;
            (Session::LoggedIn(session), Some(welcome))
        }
        None => (Session::Anonymous, None),
    };
    let mut connection = Connection::new(reader, writer, &shared);
    connection.client_dialect_allowed = start.door == Door::Tcp;
    let ended = tokio::select! {
        result = connection.run(&shared, &mut session, peer, welcome) => Some(result),
        _ = shutdown.wait_for(|stop| *stop) => None,
    };
    let result = match ended {
        Some(result) => result,
        None => connection.close_with(SHUTTING_DOWN).await.map(|()| End::Shutdown),
    };
    match result {
        Ok(end) => tracing::debug!(?end, "connection ended"),
        Err(e) => tracing::debug!(error = %e, "connection ended with an error"),
    }
    end_session(&shared, &mut session).await;
    drop(admission);
    drop(connection);
    tracing::info!("connection closed");
}

/// Why a connection ended without an I/O error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// End of input or `exit`.
    Peer,
    Idle,
    /// Answers or pushes piled up and the peer did not take them.
    StoppedReading,
    Shutdown,
    /// The server ended the user's sessions (a suspension).
    Ended,
}

/// Which way the peer talks; decided by its first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// A person with telnet or nc: text and prompts.
    Plain,
    /// The `bbs` client: JSON frames.
    Client,
}

struct Connection<R, W> {
    reader: R,
    writer: W,
    filter: TelnetFilter,
    lines: BytesMut,
    decoder: LineDecoder,
    /// Longest command line, whatever its framing.
    max_line: usize,
    /// Answers and pushes not yet taken by the peer.
    out: BytesMut,
    max_pending_output: usize,
    write_timeout: Duration,
    dialect: Dialect,
    /// Whether a first line [`CLIENT_HELLO`] switches to the client dialect.
    client_dialect_allowed: bool,
    at_eof: bool,
    /// An answer being written in pieces, as the peer takes them.
    table: Option<PostTable>,
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Connection<R, W> {
    fn new<S>(reader: R, writer: W, shared: &Shared<S>) -> Connection<R, W> {
        // A connection keeps the limits in force when it opened.
        let limits = shared.limits();
        Connection {
            reader,
            writer,
            filter: TelnetFilter::default(),
            lines: BytesMut::new(),
            decoder: LineDecoder::new(limits.max_line),
            max_line: limits.max_line,
            out: BytesMut::new(),
            max_pending_output: limits.max_pending_output.max(1),
            write_timeout: limits.write_timeout,
            dialect: Dialect::Plain,
            client_dialect_allowed: true,
            at_eof: false,
            table: None,
        }
    }

    /// `welcome`: what a session the door logged in shows after the banner.
    async fn run<S: Store>(
        &mut self,
        shared: &Shared<S>,
        session: &mut Session,
        peer: SocketAddr,
        welcome: Option<String>,
    ) -> io::Result<End> {
        let idle_timeout = |session: &Session| match session {
            Session::LoggedIn(_) => shared.limits().idle_timeout_logged_in,
            Session::Anonymous | Session::Datagram(_) => shared.limits().idle_timeout_anonymous,
        };
        match welcome {
            // Logged in by the door: the banner, the welcome, then the prompt.
            Some(welcome) => {
                let banner = PLAIN_GREETING.strip_suffix(PROMPT).unwrap_or(PLAIN_GREETING);
                self.out.extend_from_slice(banner.as_bytes());
                self.write_text(&welcome);
                self.out.extend_from_slice(PROMPT.as_bytes());
            }
            None => self.out.extend_from_slice(PLAIN_GREETING.as_bytes()),
        }
        let mut first = true;
        let mut idle_deadline = Instant::now() + idle_timeout(session);
        // Since when the peer has taken none of the pending output while
        // the connection was waiting for it (time spent running commands
        // does not count against the peer).
        let mut stalled_since: Option<Instant> = None;
        loop {
            // Answer the lines already here, as long as the peer keeps up.
            while self.has_room() {
                // An answer in pieces goes on before the next command is read.
                if let Some(table) = &mut self.table {
                    let piece = table.next_piece().await;
                    self.write_piece(piece);
                    if self.table.is_none() {
                        idle_deadline = Instant::now() + idle_timeout(session);
                    }
                    continue;
                }
                let Some(line) = self.decoder.decode(&mut self.lines) else { break };
                if self.lines.is_empty() && self.lines.capacity() > KEEP_BUFFER {
                    self.lines = BytesMut::new();
                }
                let reply = match self.answer(shared, session, peer, line, first).await {
                    Answer::Whole(reply) => reply,
                    Answer::PostTable(table) => {
                        first = false;
                        self.begin_pieces(table);
                        continue;
                    }
                };
                first = false;
                let goodbye = reply.event == Some(Event::Goodbye);
                self.write_answer(reply);
                idle_deadline = Instant::now() + idle_timeout(session);
                if goodbye {
                    self.flush_last_words().await?;
                    return Ok(End::Peer);
                }
            }
            let want_input = self.has_room() && !self.at_eof;
            if self.at_eof && self.out.is_empty() {
                return Ok(End::Peer);
            }
            let stall_deadline = if self.out.is_empty() {
                stalled_since = None;
                idle_deadline
            } else {
                *stalled_since.get_or_insert_with(Instant::now) + self.write_timeout
            };
            // A push never goes inside an answer being written in pieces.
            let take_push = self.has_room() && self.table.is_none();
            // Biased: a writable stream is never declared stalled, and
            // output goes out before more commands come in.
            tokio::select! {
                biased;
                written = self.writer.write(&self.out), if !self.out.is_empty() => {
                    let n = written?;
                    if n == 0 {
                        return Err(io::ErrorKind::WriteZero.into());
                    }
                    self.out.advance(n);
                    if self.out.is_empty() {
                        self.writer.flush().await?;
                        if self.out.capacity() > KEEP_BUFFER {
                            self.out = BytesMut::new();
                        }
                    }
                    stalled_since = None;
                }
                push = session.next_push(take_push), if session.has_inbox() => match push {
                    Some(push) => self.write_push(push),
                    None => {
                        if let Some(why) = session.ended_because() {
                            tracing::info!("session ended by the server; closing");
                            let why = why.to_owned();
                            self.close_with(&why).await?;
                            return Ok(End::Ended);
                        }
                        tracing::info!("too many pushes waiting; closing");
                        return Ok(End::StoppedReading);
                    }
                },
                read = read_some(&mut self.reader, &mut self.filter, &mut self.lines, &mut self.at_eof), if want_input => read?,
                () = tokio::time::sleep_until(stall_deadline), if !self.out.is_empty() => {
                    tracing::info!(pending = self.out.len(), "peer stopped reading; closing");
                    return Ok(End::StoppedReading);
                }
                () = tokio::time::sleep_until(idle_deadline), if !self.at_eof => {
                    tracing::info!("idle; closing");
                    self.close_with(IDLE_CLOSE).await?;
                    return Ok(End::Idle);
                }
            }
        }
    }

    /// Whether more output may be produced before the peer catches up.
    fn has_room(&self) -> bool {
        self.out.len() < self.max_pending_output
    }

    /// The answer to one line (or to a line that could not be read).
    async fn answer<S: Store>(
        &mut self,
        shared: &Shared<S>,
        session: &mut Session,
        peer: SocketAddr,
        line: Result<String, LineError>,
        first: bool,
    ) -> Answer {
        let line = match line {
            Ok(line) if first && self.client_dialect_allowed && line.starts_with(CLIENT_HELLO_PREFIX) => {
                self.dialect = Dialect::Client;
                // A frame may hold a command line of `max_line` bytes even
                // if JSON escapes every byte of it (at most 6 bytes each).
                self.decoder = LineDecoder::new(self.max_line.saturating_mul(6).saturating_add(64));
                if line != CLIENT_HELLO {
                    // Its frames may mean something else here: it is told
                    // why, in a frame it can read, and the connection ends.
                    let theirs = &line[CLIENT_HELLO_PREFIX.len()..];
                    tracing::info!(version = theirs, "a client of another version; closing");
                    return Answer::Whole(Reply::with_event(answer::other_client_version(theirs), Event::Goodbye));
                }
                // The greeting was for a person; the client reads it as is.
                return Answer::Whole(Reply::with_event("", Event::Hello { version: DIALECT_VERSION }));
            }
            Ok(line) => line,
            Err(LineError::TooLong(max)) => return Answer::Whole(Reply::text(answer::line_too_long(max))),
            Err(LineError::InvalidUtf8) => return Answer::Whole(Reply::text(answer::LINE_NOT_UTF8)),
        };
        let mut caller = Caller {
            session,
            peer,
            via: match self.dialect {
                Dialect::Plain => Via::Plain,
                Dialect::Client => Via::Client,
            },
        };
        let command_line = match self.dialect {
            Dialect::Plain => line,
            Dialect::Client => match ClientFrame::from_line(line.as_bytes()) {
                Ok(ClientFrame::Command(line)) if line.len() > self.max_line => {
                    return Answer::Whole(Reply::text(answer::line_too_long(self.max_line)));
                }
                Ok(ClientFrame::Command(line)) => line,
                Ok(ClientFrame::ChatroomOpened) => {
                    return Answer::Whole(answer_failure(room_opened(shared, &mut caller).await))
                }
                Ok(ClientFrame::ChatroomClosed) => {
                    return Answer::Whole(answer_failure(room_closed(shared, &mut caller).await))
                }
                Ok(ClientFrame::Keepalive) => return Answer::Whole(Reply::default()),
                Ok(ClientFrame::SendFile { name, size, resume_key }) => {
                    return Answer::Whole(answer_failure(send_file(shared, &mut caller, name, size, resume_key).await));
                }
                Ok(ClientFrame::GetFile { name }) => {
                    return Answer::Whole(answer_failure(get_file(shared, &mut caller, name).await))
                }
                Ok(ClientFrame::TransferDone { id }) => {
                    return Answer::Whole(answer_failure(transfer_done(shared, &mut caller, &id)))
                }
                Err(_) => return Answer::Whole(Reply::text("Error: that was not a client frame; it was ignored.")),
            },
        };
        caller.session.touch();
        match Command::parse(&command_line) {
            Ok(command) => execute_in_pieces(shared, &mut caller, command).await,
            Err(ParseError::Empty) => Answer::Whole(Reply::default()),
            Err(e) => Answer::Whole(Reply::text(e.to_string())),
        }
    }

    /// Appends one answer, in the connection's dialect, to the output.
    fn write_answer(&mut self, reply: Reply) {
        match self.dialect {
            Dialect::Client => ServerFrame::Answer(reply).write_line(&mut (&mut self.out).writer()),
            Dialect::Plain => {
                self.write_text(&reply.text);
                if reply.event != Some(Event::Goodbye) {
                    self.out.extend_from_slice(PROMPT.as_bytes());
                }
            }
        }
    }

    /// Starts an answer that comes in pieces ([`Self::write_piece`]): in
    /// the client dialect, the frame's opening bytes.
    fn begin_pieces(&mut self, table: PostTable) {
        if self.dialect == Dialect::Client {
            self.out.extend_from_slice(ServerFrame::answer_text_frame().0);
        }
        self.table = Some(table);
    }

    /// Appends the next piece of the answer being written in pieces, or
    /// ends the answer, exactly as [`Self::write_answer`] writes the whole
    /// text: plain lines end in CRLF and the prompt follows; the client's
    /// frame is one JSON line, its text escaped piece by piece. A failure
    /// of the store halfway ends the answer with a line saying so (what was
    /// sent cannot be taken back).
    fn write_piece(&mut self, piece: Result<Option<String>, bbs_storage::StoreError>) {
        let (text, last) = match piece {
            Ok(Some(text)) => (text, false),
            Ok(None) => (String::new(), true),
            Err(e) => (format!("\n{}", answer_failure(Err(e.into())).text), true),
        };
        match self.dialect {
            Dialect::Client => push_json_escaped(&mut (&mut self.out).writer(), &text),
            Dialect::Plain => {
                for (i, line) in text.split('\n').enumerate() {
                    if i > 0 {
                        self.out.extend_from_slice(b"\r\n");
                    }
                    self.out.extend_from_slice(line.as_bytes());
                }
            }
        }
        if last {
            self.table = None;
            match self.dialect {
                Dialect::Client => self.out.extend_from_slice(ServerFrame::answer_text_frame().1),
                Dialect::Plain => {
                    self.out.extend_from_slice(b"\r\n");
                    self.out.extend_from_slice(PROMPT.as_bytes());
                }
            }
        }
    }

    /// Appends one push. The plain dialect's peer sits at a prompt: the push
    /// ends that line, shows its text, and shows the prompt again.
    fn write_push(&mut self, push: Push) {
        telemetry::push_delivered();
        match self.dialect {
            Dialect::Client => ServerFrame::Push(push).write_line(&mut (&mut self.out).writer()),
            Dialect::Plain => {
                self.out.extend_from_slice(b"\r\n");
                self.write_text(&push.text);
                self.out.extend_from_slice(PROMPT.as_bytes());
            }
        }
    }

    /// Text in the plain dialect: each line ended by CRLF.
    fn write_text(&mut self, text: &str) {
        if !text.is_empty() {
            for line in text.split('\n') {
                self.out.extend_from_slice(line.as_bytes());
                self.out.extend_from_slice(b"\r\n");
            }
        }
    }

    /// Tells the peer why the server ends the connection, then sends what
    /// is pending if the peer takes it in time.
    async fn close_with(&mut self, why: &str) -> io::Result<()> {
        match self.dialect {
            Dialect::Client => ServerFrame::Closing(Push::new(why)).write_line(&mut (&mut self.out).writer()),
            Dialect::Plain => self.write_text(why),
        }
        self.flush_last_words().await
    }

    /// Sends what is pending before closing, if the peer takes it in time.
    /// The stream itself closes when the connection is dropped, after its
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

/// Reads what the peer sent into the line buffer (through the telnet
/// filter). The read buffer lives on the stack only while a read completes:
/// an idle session holds none (this is what keeps memory per idle session
/// small).
async fn read_some<R: AsyncRead + Unpin>(
    reader: &mut R,
    filter: &mut TelnetFilter,
    lines: &mut BytesMut,
    at_eof: &mut bool,
) -> io::Result<()> {
    std::future::poll_fn(|cx| {
        let mut raw = [0u8; READ_CHUNK];
        let mut buf = ReadBuf::new(&mut raw);
        match Pin::new(&mut *reader).poll_read(cx, &mut buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(())) if buf.filled().is_empty() => {
                // A last line without a line break (`printf whoami | nc`)
                // still counts.
                *at_eof = true;
                if !lines.is_empty() {
                    lines.extend_from_slice(b"\n");
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Ok(())) => {
                filter.push(buf.filled(), lines);
                Poll::Ready(Ok(()))
            }
        }
    })
    .await
}
