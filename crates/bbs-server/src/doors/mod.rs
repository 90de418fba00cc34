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

use std::path::PathBuf;

use tokio::net::TcpListener;

/// Completes when the server starts shutting down.
pub(crate) async fn stopped(mut stop: tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
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
