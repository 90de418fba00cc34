//! The telnet door: `bbsd --telnet-port N` serves the full-screen
//! interface ([`super::screen`]) to telnet clients (the course port keeps
//! its line protocol).
//!
//! Each connection takes a connection slot (the same count as every other
//! door, by the peer's address). A reader task turns the socket into
//! screen events through [`Negotiator`] (window size from NAWS), and the
//! connection task writes the negotiation answers and the screen's frames;
//! a peer that takes no bytes for the write timeout is closed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bbs_screen::telnet::{escape_data, Negotiator, TelnetEvent};
use bbs_storage::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

use super::screen::{self, ScreenEvent, ScreenStart, DEFAULT_SIZE, OUTPUT_QUEUE};
use crate::rate::{ConnectionCount, ConnectionSlot};
use crate::state::Shared;
use crate::telemetry::Door;

/// Bytes read from the socket at a time (keys are small; a paste takes
/// several reads).
const READ_CHUNK: usize = 1024;

/// Input chunks waiting for the session (a peer typing faster than the
/// session applies them is not read meanwhile).
const INPUT_QUEUE: usize = 16;

/// How long the first frame waits for the window size (NAWS answers at
/// once on any client that supports it).
const FIRST_SIZE_WAIT: Duration = Duration::from_millis(300);

/// Accepts telnet connections until `stop`; each is served on its own task.
pub(crate) async fn serve<S: Store>(
    shared: Arc<Shared<S>>,
    listener: TcpListener,
    connections: Arc<ConnectionCount>,
    stop: watch::Receiver<bool>,
) {
    super::accept_until_stopped("telnet", listener, &connections, stop.clone(), |stream, peer, slot| {
        connection(Arc::clone(&shared), stream, peer, slot, stop.clone())
            .instrument(tracing::info_span!("telnet", %peer))
    })
    .await;
}

/// Serves one telnet connection.
async fn connection<S: Store>(
    shared: Arc<Shared<S>>,
    stream: TcpStream,
    peer: SocketAddr,
    slot: ConnectionSlot,
    stop: watch::Receiver<bool>,
) {
    let write_timeout = shared.limits().write_timeout;
    let (mut reader, mut writer) = stream.into_split();
    let (mut negotiator, hello) = Negotiator::start();
    if tokio::time::timeout(write_timeout, writer.write_all(&hello)).await.is_err() {
        return;
    }
    // Wait briefly for the window size, so the first frame fits.
    let mut size = DEFAULT_SIZE;
    let mut early = Vec::new();
    let mut replies = Vec::new();
    let mut chunk = vec![0u8; READ_CHUNK];
    let deadline = tokio::time::Instant::now() + FIRST_SIZE_WAIT;
    while let Ok(read) = tokio::time::timeout_at(deadline, reader.read(&mut chunk)).await {
        let Ok(n @ 1..) = read else { return };
        let mut events = Vec::new();
        negotiator.receive(&chunk[..n], &mut early, &mut events, &mut replies);
        if let Some(TelnetEvent::WindowSize { columns, rows }) =
            events.into_iter().rev().find(|e| matches!(e, TelnetEvent::WindowSize { .. }))
        {
            size = usable(columns, rows);
            break;
        }
    }
    drop(chunk);
    if !replies.is_empty() && tokio::time::timeout(write_timeout, writer.write_all(&replies)).await.is_err() {
        return;
    }
    let (events_tx, events_rx) = mpsc::channel(INPUT_QUEUE);
    let (output_tx, mut output_rx) = mpsc::channel::<Vec<u8>>(OUTPUT_QUEUE);
    let (reply_tx, mut reply_rx) = mpsc::channel::<Vec<u8>>(INPUT_QUEUE);
    if !early.is_empty() {
        let _ = events_tx.try_send(ScreenEvent::Input(early));
    }
    let start = ScreenStart { door: Door::Telnet, user: None, size };
    let session =
        tokio::spawn(screen::run(Arc::clone(&shared), peer, start, events_rx, output_tx, stop).in_current_span());
    let reading = tokio::spawn(read_events(reader, negotiator, events_tx, reply_tx).in_current_span());
    let mut escaped = Vec::new();
    loop {
        // Negotiation answers go out before the next frame.
        let bytes = tokio::select! {
            biased;
            Some(reply) = reply_rx.recv() => reply,
            frame = output_rx.recv() => match frame {
                Some(frame) => {
                    escaped.clear();
                    escape_data(&frame, &mut escaped);
                    std::mem::take(&mut escaped)
                }
                None => break,
            },
        };
        match tokio::time::timeout(write_timeout, writer.write_all(&bytes)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "telnet write failed");
                break;
            }
            Err(_) => {
                tracing::info!("peer stopped reading; closing");
                break;
            }
        }
    }
    reading.abort();
    // The session ends once its input is gone (or it ended first).
    drop(output_rx);
    let _ = session.await;
    let _ = writer.shutdown().await;
    drop(slot);
    tracing::info!("connection closed");
}

/// A window size the screens can use (0 means "unknown" in NAWS).
fn usable(columns: u16, rows: u16) -> (u16, u16) {
    let columns = if columns == 0 { DEFAULT_SIZE.0 } else { columns };
    let rows = if rows == 0 { DEFAULT_SIZE.1 } else { rows };
    (columns, rows)
}

/// Reads the socket until it closes: data to the session as input, window
/// sizes as resizes, negotiation answers to the writer.
async fn read_events(
    mut reader: tokio::net::tcp::OwnedReadHalf,
    mut negotiator: Negotiator,
    events: mpsc::Sender<ScreenEvent>,
    replies: mpsc::Sender<Vec<u8>>,
) {
    let mut chunk = vec![0u8; READ_CHUNK];
    loop {
        let n = match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let (mut data, mut told, mut reply) = (Vec::new(), Vec::new(), Vec::new());
        negotiator.receive(&chunk[..n], &mut data, &mut told, &mut reply);
        if !reply.is_empty() && replies.send(reply).await.is_err() {
            break;
        }
        for event in told {
            if let TelnetEvent::WindowSize { columns, rows } = event {
                let (columns, rows) = usable(columns, rows);
                if events.send(ScreenEvent::Resize { columns, rows }).await.is_err() {
                    return;
                }
            }
        }
        if !data.is_empty() && events.send(ScreenEvent::Input(data)).await.is_err() {
            return;
        }
    }
    let _ = events.send(ScreenEvent::InputClosed).await;
}
