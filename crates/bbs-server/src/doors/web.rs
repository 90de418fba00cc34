//! The web door (axum): the browser terminal — a page running xterm.js
//! attached over a WebSocket to a session of the one engine, with the
//! same server-side line editor as SSH — plus read-only pages and a JSON
//! API of boards and posts ([`super::pages`]) and `/metrics` for
//! Prometheus.
//!
//! The WebSocket carries keystrokes as binary messages and the terminal's
//! size as a text message `{"columns":N,"rows":M}`; the server sends what
//! the terminal shows as binary messages. `/ws` is the line interface,
//! `/ws?ui=screen` the full-screen one ([`super::screen`]); the page
//! offers both. An upgrade from another site's page
//! (an `Origin` that is not this host) is refused, and every WebSocket
//! session takes a connection slot by the peer's real address, like TCP
//! and SSH.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bbs_storage::Store;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use super::pages;
use super::screen::{self, ScreenEvent, ScreenStart, DEFAULT_SIZE, OUTPUT_QUEUE};
use super::terminal::{self, Mode, TerminalEvent};
use crate::engine::Start;
use crate::listen::canonical;
use crate::rate::{ConnectionCount, ConnectionSlot};
use crate::state::Shared;
use crate::telemetry::{self, Door};

/// Largest WebSocket message taken from a browser (keystrokes and pastes).
const MAX_MESSAGE: usize = 64 * 1024;

/// Terminal width until the browser says.
const DEFAULT_COLUMNS: u16 = 80;

const TERMINAL_PAGE: &str = include_str!("../../assets/terminal.html");
const TERMINAL_JS: &str = include_str!("../../assets/terminal.js");
const XTERM_JS: &str = include_str!("../../assets/xterm.js");
const XTERM_CSS: &str = include_str!("../../assets/xterm.css");
const FIT_JS: &str = include_str!("../../assets/addon-fit.js");

/// What every request handler reaches.
pub(crate) struct Web<S> {
    pub(crate) shared: Arc<Shared<S>>,
    connections: Arc<ConnectionCount>,
    stop: watch::Receiver<bool>,
}

/// Serves HTTP on `listener` until `stop`.
pub(crate) async fn serve<S: Store>(
    shared: Arc<Shared<S>>,
    listener: TcpListener,
    connections: Arc<ConnectionCount>,
    stop: watch::Receiver<bool>,
) {
    let web = Arc::new(Web { shared, connections, stop: stop.clone() });
    let app = Router::new()
        .route("/", get(|| async { html_page(TERMINAL_PAGE.to_owned()) }))
        .route("/assets/terminal.js", get(|| async { asset("text/javascript; charset=utf-8", TERMINAL_JS) }))
        .route("/assets/xterm.js", get(|| async { asset("text/javascript; charset=utf-8", XTERM_JS) }))
        .route("/assets/addon-fit.js", get(|| async { asset("text/javascript; charset=utf-8", FIT_JS) }))
        .route("/assets/xterm.css", get(|| async { asset("text/css; charset=utf-8", XTERM_CSS) }))
        .route("/ws", get(terminal_socket::<S>))
        .route("/metrics", get(metrics))
        .merge(pages::routes::<S>())
        .with_state(web);
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    if let Err(e) = axum::serve(listener, service).with_graceful_shutdown(super::stopped(stop)).await {
        tracing::error!(error = %e, "the web door failed");
    }
}

/// A page of this server's own HTML.
fn html_page(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::X_CONTENT_TYPE_OPTIONS, "nosniff")], body)
        .into_response()
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

async fn metrics() -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], telemetry::handle().render()).into_response()
}

/// Whether a WebSocket upgrade may proceed: no `Origin` (not a browser),
/// or an origin whose host is the one the request was sent to.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else { return true };
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else { return false };
    let Ok(origin) = origin.to_str() else { return false };
    let origin_host = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
    origin_host.is_some_and(|origin_host| origin_host.eq_ignore_ascii_case(host))
}

async fn terminal_socket<S: Store>(
    State(web): State<Arc<Web<S>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    // A dual-stack listener shows IPv4 peers in IPv6 form.
    let peer = canonical(peer);
    if !same_origin(&headers) {
        tracing::warn!(%peer, "WebSocket from another origin refused");
        return (StatusCode::FORBIDDEN, "WebSocket connections are taken from this site's own pages only.")
            .into_response();
    }
    let slot = match web.connections.admit(peer.ip()) {
        Ok(slot) => slot,
        Err(refused) => {
            tracing::warn!(%peer, ?refused, "WebSocket refused");
            return (StatusCode::SERVICE_UNAVAILABLE, refused.message()).into_response();
        }
    };
    tracing::info!(%peer, "New WebSocket terminal from {peer}");
    let full_screen = query.is_some_and(|query| query.split('&').any(|pair| pair == "ui=screen"));
    let upgrade = upgrade.max_message_size(MAX_MESSAGE);
    if full_screen {
        upgrade.on_upgrade(move |socket| web_screen(web, peer, slot, socket))
    } else {
        upgrade.on_upgrade(move |socket| web_terminal(web, peer, slot, socket))
    }
}

/// How long a full-screen session waits for the browser's first size
/// message before drawing at the default size.
const FIRST_SIZE_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// One browser terminal in the full-screen interface (`/ws?ui=screen`):
/// keys as binary messages, the window as `{"columns":N,"rows":M}`.
async fn web_screen<S: Store>(web: Arc<Web<S>>, peer: SocketAddr, slot: ConnectionSlot, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let write_timeout = web.shared.limits().write_timeout;
    let mut size = DEFAULT_SIZE;
    let mut early = Vec::new();
    // The page sends its size first; keys typed meanwhile are kept.
    let deadline = tokio::time::Instant::now() + FIRST_SIZE_WAIT;
    while let Ok(message) = tokio::time::timeout_at(deadline, stream.next()).await {
        match message {
            Some(Ok(Message::Text(text))) => {
                if let Some(given) = window(text.as_str()) {
                    size = given;
                    break;
                }
            }
            Some(Ok(Message::Binary(bytes))) => early.extend_from_slice(&bytes),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(Message::Close(_)) | Err(_)) | None => return,
        }
    }
    let (events, events_in) = mpsc::channel(64);
    let (output_out, mut output) = mpsc::channel::<Vec<u8>>(OUTPUT_QUEUE);
    if !early.is_empty() {
        let _ = events.try_send(ScreenEvent::Input(early));
    }
    let start = ScreenStart { door: Door::Web, user: None, size };
    let session =
        tokio::spawn(screen::run(Arc::clone(&web.shared), peer, start, events_in, output_out, web.stop.clone()));
    let mut reading = true;
    loop {
        tokio::select! {
            message = stream.next(), if reading => {
                let event = match message {
                    Some(Ok(Message::Binary(bytes))) => ScreenEvent::Input(bytes.to_vec()),
                    Some(Ok(Message::Text(text))) => match window(text.as_str()) {
                        Some((columns, rows)) => ScreenEvent::Resize { columns, rows },
                        None => continue,
                    },
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_)) | Err(_)) | None => {
                        reading = false;
                        ScreenEvent::InputClosed
                    }
                };
                if events.send(event).await.is_err() {
                    reading = false;
                }
            }
            bytes = output.recv() => match bytes {
                Some(bytes) => match tokio::time::timeout(write_timeout, sink.send(Message::Binary(bytes.into()))).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) | Err(_) => break,
                },
                None => break,
            },
        }
    }
    drop(events);
    drop(output);
    let _ = session.await;
    drop(slot);
    let _ = sink.send(Message::Close(None)).await;
}

/// The size in a `{"columns":N,"rows":M}` message (rows 24 if missing).
fn window(text: &str) -> Option<(u16, u16)> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let columns = value.get("columns")?.as_u64()?;
    let rows = value.get("rows").and_then(serde_json::Value::as_u64).unwrap_or(u64::from(DEFAULT_SIZE.1));
    let clamp = |n: u64| u16::try_from(n).unwrap_or(u16::MAX).max(1);
    Some((clamp(columns), clamp(rows)))
}

/// One browser terminal: the socket joined to a terminal session.
async fn web_terminal<S: Store>(web: Arc<Web<S>>, peer: SocketAddr, slot: ConnectionSlot, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let (events, events_in) = mpsc::channel(64);
    let (output_out, mut output) = mpsc::channel::<Vec<u8>>(16);
    let start = Start { door: Door::Web, user: None };
    let mode = Mode::Editing { columns: DEFAULT_COLUMNS };
    let session = tokio::spawn(terminal::run(
        Arc::clone(&web.shared),
        peer,
        slot,
        web.stop.clone(),
        start,
        mode,
        events_in,
        output_out,
    ));
    let mut reading = true;
    loop {
        tokio::select! {
            message = stream.next(), if reading => {
                let event = match message {
                    Some(Ok(Message::Binary(bytes))) => TerminalEvent::Input(bytes.to_vec()),
                    Some(Ok(Message::Text(text))) => match columns(text.as_str()) {
                        Some(columns) => TerminalEvent::Resize(columns),
                        None => continue,
                    },
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_)) | Err(_)) | None => {
                        reading = false;
                        TerminalEvent::InputClosed
                    }
                };
                if events.send(event).await.is_err() {
                    reading = false;
                }
            }
            bytes = output.recv() => match bytes {
                Some(bytes) => {
                    if sink.send(Message::Binary(bytes.into())).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
        }
    }
    drop(events);
    let _ = session.await;
    let _ = sink.send(Message::Close(None)).await;
}

/// The width in a `{"columns":N}` message.
fn columns(text: &str) -> Option<u16> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let columns = value.get("columns")?.as_u64()?;
    Some(u16::try_from(columns).unwrap_or(u16::MAX).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        pairs.iter().map(|(name, value)| (name.clone(), value.parse().unwrap())).collect()
    }

    #[test]
    fn websocket_origins_must_be_this_host() {
        assert!(same_origin(&headers(&[(header::HOST, "bbs.example:8080")])));
        assert!(same_origin(&headers(&[
            (header::HOST, "bbs.example:8080"),
            (header::ORIGIN, "http://bbs.example:8080")
        ])));
        assert!(!same_origin(&headers(&[(header::HOST, "bbs.example:8080"), (header::ORIGIN, "http://evil.example")])));
        assert!(!same_origin(&headers(&[(header::HOST, "bbs.example"), (header::ORIGIN, "http://bbs.example.evil")])));
        assert!(!same_origin(&headers(&[(header::HOST, "bbs.example"), (header::ORIGIN, "null")])));
    }

    #[test]
    fn resize_messages_give_the_width() {
        assert_eq!(columns(r#"{"columns":132}"#), Some(132));
        assert_eq!(columns("ls"), None);
        assert_eq!(window(r#"{"columns":132,"rows":40}"#), Some((132, 40)));
        assert_eq!(window(r#"{"columns":100}"#), Some((100, 24)));
    }
}
