//! The doors besides TCP and UDP: SSH ([`ssh`]), the web ([`web`]: a
//! browser terminal over a WebSocket, read-only pages, a JSON API and
//! `/metrics`) and telnet (`telnet`: the full-screen interface of
//! `screen`, which SSH ptys and the browser get too). Both terminal doors run the one session engine through
//! [`terminal`], with the server-side [`line_editor`] in front of it.

mod line_editor;
mod pages;
mod screen;
pub mod ssh;
pub(crate) mod telnet;
mod terminal;
pub mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::listen::{canonical, refuse};
use crate::rate::{ConnectionCount, ConnectionSlot};

/// Completes when the server starts shutting down.
pub(crate) async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Accepts a door's connections until `stop`. Each peer is admitted
/// against the connection limits every door shares (a refused one is told
/// why in one line, which SSH and telnet clients both show); an admitted
/// one is served by `serve` on a task of its own. Returns once every
/// connection's task has ended: sessions end themselves on the same signal
/// (the engine says why).
pub(crate) async fn accept_until_stopped<F, Served>(
    door: &'static str,
    listener: TcpListener,
    connections: &std::sync::Arc<ConnectionCount>,
    stop: watch::Receiver<bool>,
    mut serve: F,
) where
    F: FnMut(TcpStream, SocketAddr, ConnectionSlot) -> Served,
    Served: Future<Output = ()> + Send + 'static,
{
    let mut tasks = JoinSet::new();
    let stopping = stopped(stop);
    tokio::pin!(stopping);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // A dual-stack listener shows IPv4 peers in IPv6 form.
                    let peer = canonical(peer);
                    match connections.admit(peer.ip()) {
                        Ok(slot) => {
                            tracing::info!(%peer, "New {door} connection from {peer}");
                            let _ = stream.set_nodelay(true);
                            tasks.spawn(serve(stream, peer, slot));
                        }
                        Err(refused) => {
                            tracing::warn!(%peer, ?refused, "{door} connection refused");
                            refuse(stream, &refused.message());
                        }
                    }
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off.
                    tracing::error!(error = %e, "{door} accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = tasks.join_next() => {}
            () = &mut stopping => break,
        }
    }
    while tasks.join_next().await.is_some() {}
}

/// Why a door could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DoorError {
    #[error("SSH host key {path}: {reason}")]
    HostKey { path: PathBuf, reason: String },
}

/// The optional doors [`crate::Server::run_with_doors`] opens beside TCP
/// and UDP; each is off unless given.
#[derive(Default)]
pub struct Doors {
    pub ssh: Option<SshDoor>,
    /// The web door's listener (HTTP and WebSocket).
    pub http: Option<TcpListener>,
    /// The full-screen telnet door's listener.
    pub telnet: Option<TcpListener>,
}

/// The SSH door: its listener and its host key.
pub struct SshDoor {
    pub listener: TcpListener,
    pub host_key: russh::keys::PrivateKey,
}

impl SshDoor {
    /// The door on `listener`, with the host key kept at `host_key`
    /// (created there on first start).
    pub fn new(listener: TcpListener, host_key: &std::path::Path) -> Result<SshDoor, DoorError> {
        Ok(SshDoor { listener, host_key: ssh::load_or_create_host_key(host_key)? })
    }
}
