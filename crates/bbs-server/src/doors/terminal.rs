//! A terminal session: a door's terminal (an SSH channel, a browser's
//! WebSocket) joined to one engine session through the [`LineEditor`].
//!
//! The door turns its transport into [`TerminalEvent`]s and writes the
//! byte chunks it gets back; everything else — echo, pushes above the
//! line, end of input — happens here, the same for every door. The engine
//! runs on one end of an in-memory pipe, exactly as it runs on a socket,
//! so its limits (output bound, write timeout, idle timeouts) hold here
//! too: a terminal that stops taking output stalls the pipe, and the
//! engine closes the session as it would a TCP connection.

use std::net::SocketAddr;
use std::sync::Arc;

use bbs_storage::Store;
use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};

use super::line_editor::{InputEnd, LineEditor};
use crate::engine::{self, Start};
use crate::state::Shared;

/// Bytes each way the pipe to the engine holds.
const PIPE: usize = 64 * 1024;

/// What a door's terminal reports.
#[derive(Debug)]
pub(crate) enum TerminalEvent {
    /// Keystrokes (or piped bytes).
    Input(Vec<u8>),
    /// The terminal is now this many columns wide.
    Resize(u16),
    /// No more input will come.
    InputClosed,
}

/// How the terminal's bytes are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A terminal that sends keystrokes: the line editor echoes and edits,
    /// starting `columns` wide.
    Editing { columns: u16 },
    /// Bytes pass as they are, as from nc (an SSH session without a pty,
    /// or a command given on the ssh command line).
    Raw,
}

/// Runs one session until the engine ends it or the terminal goes; then
/// `output` is closed (dropped), which tells the door to close too.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run<S: Store>(
    shared: Arc<Shared<S>>,
    peer: SocketAddr,
    admission: impl Send + 'static,
    shutdown: watch::Receiver<bool>,
    start: Start,
    mode: Mode,
    mut events: mpsc::Receiver<TerminalEvent>,
    output: mpsc::Sender<Vec<u8>>,
) {
    let (engine_end, our_end) = tokio::io::duplex(PIPE);
    let (engine_reader, engine_writer) = tokio::io::split(engine_end);
    let engine =
        tokio::spawn(engine::serve_from(shared, engine_reader, engine_writer, peer, admission, shutdown, start));
    let (mut from_engine, mut to_engine) = tokio::io::split(our_end);
    let mut editor = match mode {
        Mode::Editing { columns } => Some(LineEditor::new(columns)),
        Mode::Raw => None,
    };
    // Input for the engine not yet taken, and whether its end was sent.
    let mut for_engine = BytesMut::new();
    let mut input_open = true;
    let mut engine_input_closed = false;
    let mut chunk = vec![0u8; 8 * 1024];
    loop {
        let mut screen = Vec::new();
        let mut typed = Vec::new();
        tokio::select! {
            read = from_engine.read(&mut chunk) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => match editor.as_mut() {
                    Some(editor) => editor.output(&chunk[..n], &mut screen, &mut typed),
                    None => screen.extend_from_slice(&chunk[..n]),
                },
            },
            written = to_engine.write(&for_engine), if !for_engine.is_empty() => match written {
                Ok(n) => for_engine.advance(n),
                Err(_) => break,
            },
            event = events.recv(), if input_open && for_engine.len() < PIPE => match (event, editor.as_mut()) {
                (Some(TerminalEvent::Input(bytes)), Some(editor)) => {
                    if editor.input(&bytes, &mut screen, &mut typed) == InputEnd::Closed {
                        input_open = false;
                    }
                }
                (Some(TerminalEvent::Input(bytes)), None) => typed = bytes,
                (Some(TerminalEvent::Resize(columns)), Some(editor)) => editor.resize(columns, &mut screen),
                (Some(TerminalEvent::Resize(_)), None) => {}
                (Some(TerminalEvent::InputClosed) | None, editor) => {
                    input_open = false;
                    if let Some(editor) = editor {
                        editor.close_input(&mut screen, &mut typed);
                    }
                }
            },
        }
        for_engine.extend_from_slice(&typed);
        if !screen.is_empty() && output.send(screen).await.is_err() {
            break;
        }
        let input_done = match &editor {
            Some(editor) => editor.engine_input_ended(),
            None => !input_open,
        };
        if input_done && for_engine.is_empty() && !engine_input_closed {
            engine_input_closed = true;
            let _ = to_engine.shutdown().await;
        }
    }
    // Dropping our end closes the pipe: the engine sees the peer gone.
    drop((from_engine, to_engine));
    let _ = engine.await;
}
