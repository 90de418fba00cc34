//! `bbsd`, the BBS server, as a library: [`Server::run`] serves
//! already-bound sockets until a shutdown signal, so tests start the real
//! server on free ports with a temporary database, and `main` stays thin.
//!
//! Layout, each module importing only those below it:
//! - doors: the TCP accept loop here, and [`udp`]'s datagrams; each hands
//!   its peer to the engine with the peer's real address for the limits;
//! - `engine`: one session over any byte stream — reading command lines,
//!   answering in the peer's dialect, writing pushes between answers, and
//!   the one teardown when the session ends;
//! - `cmd`: what every command does, one type per command;
//! - `state`: what all sessions share; [`session`]: a session's state
//!   and the registry of live sessions (tokens, push inboxes); [`events`]:
//!   how commands reach people who did not ask; `presence`: who is
//!   online; `rooms`: running chatrooms' keys; `transfers`: open file
//!   transfers over UDP;
//! - [`auth`] password hashing and tokens; [`config`] the limits; `rate`
//!   the rate limiters and connection counts that enforce them;
//!   [`disk_guard`] the free space writes need; [`clock`] the time rules see.

pub mod auth;
pub mod clock;
mod cmd;
pub mod config;
pub mod disk_guard;
pub mod doors;
mod engine;
pub mod events;
mod presence;
mod rate;
mod rooms;
pub mod session;
mod state;
mod telemetry;
mod transfers;
mod udp;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bbs_storage::{Store, StoreError};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

pub use config::{Config, Rate};
pub use doors::{DoorError, Doors, SshDoor};
pub use session::Sessions;
use state::Shared;

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("network: {0}")]
    Io(#[from] io::Error),
}

/// How long connections get to finish their current command at shutdown.
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// One BBS server: its store, its limits and its live sessions.
pub struct Server<S> {
    shared: Arc<Shared<S>>,
}

impl<S: Store> Server<S> {
    pub fn new(store: S, config: Config) -> Server<S> {
        Server { shared: Arc::new(Shared::new(store, config)) }
    }

    /// The live sessions, through which anything may reach a logged-in
    /// user at any time ([`Sessions::push`]).
    pub fn sessions(&self) -> Arc<Sessions> {
        Arc::clone(&self.shared.sessions)
    }

    /// The disk guard, whose reserve may be changed while the server runs.
    pub fn disk_guard(&self) -> Arc<disk_guard::DiskGuard> {
        Arc::clone(&self.shared.disk)
    }

    /// The event layer commands publish to; a door or a test may publish
    /// through it too.
    pub fn events(&self) -> Arc<dyn events::EventBus> {
        Arc::clone(&self.shared.events)
    }

    /// Serves TCP on `listener` and UDP on `udp` until `shutdown` completes.
    pub async fn run(
        self,
        listener: TcpListener,
        udp: UdpSocket,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), ServerError> {
        self.run_with_doors(listener, udp, Doors::default(), shutdown).await
    }

    /// [`Server::run`], with the SSH and web doors of `doors` open too. Every
    /// door counts its sessions against the same connection limits, by the
    /// peer's real address.
    pub async fn run_with_doors(
        self,
        listener: TcpListener,
        udp: UdpSocket,
        doors: Doors,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), ServerError> {
        let shared = self.shared;
        // No chatroom owner can still be connected to a server that just started.
        shared.store.close_all_chatrooms().await?;
        for dir in [&shared.files.complete, &shared.files.partial] {
            std::fs::create_dir_all(dir)?;
        }
        let udp = Arc::new(udp);
        shared.transfers.attach(Arc::clone(&udp));
        let connections =
            rate::ConnectionCount::new(shared.config.max_connections, shared.config.max_connections_per_ip);
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        tasks.spawn(udp::serve(Arc::clone(&shared), udp, stopped.clone()));
        if let Some(ssh) = doors.ssh {
            let config = doors::ssh::russh_config(&shared, ssh.host_key);
            let door =
                doors::ssh::serve(Arc::clone(&shared), ssh.listener, config, Arc::clone(&connections), stopped.clone());
            tasks.spawn(door);
        }
        if let Some(http) = doors.http {
            tasks.spawn(doors::web::serve(Arc::clone(&shared), http, Arc::clone(&connections), stopped.clone()));
        }

        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => match connections.admit(peer.ip()) {
                        Ok(slot) => {
                            tracing::info!(%peer, "New connection from {peer}");
                            let span = tracing::info_span!("conn", %peer);
                            let _ = stream.set_nodelay(true);
                            let (reader, writer) = stream.into_split();
                            let serve =
                                engine::serve(Arc::clone(&shared), reader, writer, peer, slot, stopped.clone());
                            tasks.spawn(serve.instrument(span));
                        }
                        Err(refused) => {
                            tracing::warn!(%peer, ?refused, "connection refused");
                            refuse(stream, &refused.message());
                        }
                    },
                    Err(e) => {
                        // Out of file descriptors and the like: back off
                        // instead of spinning, then try again.
                        tracing::error!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                Some(_) = tasks.join_next() => {}
                () = &mut shutdown => break,
            }
        }
        tracing::info!("shutting down");
        let _ = stop.send(true);
        if tokio::time::timeout(DRAIN_TIME, async { while tasks.join_next().await.is_some() {} }).await.is_err() {
            tasks.abort_all();
        }
        Ok(())
    }
}

/// Serves TCP on `listener` and UDP on `udp` until `shutdown` completes.
pub async fn run<S: Store>(
    listener: TcpListener,
    udp: UdpSocket,
    store: S,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    Server::new(store, config).run(listener, udp, shutdown).await
}

/// Tells a refused peer why, then closes. The message is one short line
/// that fits in a fresh socket's send buffer, so it is written without
/// waiting: a flood of refused connections costs no task and no timer.
fn refuse(stream: TcpStream, message: &str) {
    let _ = stream.try_write(format!("{message}\r\n").as_bytes());
    drop(stream);
}

/// The UDP socket buffers asked for (the kernel caps them at its maximum).
const UDP_BUFFER: usize = 4 << 20;

/// Binds TCP and UDP on the same port of `addr`. With port 0, picks a port
/// free for both.
pub async fn bind(addr: SocketAddr) -> io::Result<(TcpListener, UdpSocket)> {
    let mut last_error = None;
    for _ in 0..20 {
        let listener = TcpListener::bind(addr).await?;
        let port = listener.local_addr()?.port();
        match UdpSocket::bind(SocketAddr::new(addr.ip(), port)).await {
            Ok(udp) => {
                // File transfers send and receive windows of datagrams at a
                // time; the default buffer (about 200 KiB) would drop them.
                let _ = socket2::SockRef::from(&udp).set_recv_buffer_size(UDP_BUFFER);
                let _ = socket2::SockRef::from(&udp).set_send_buffer_size(UDP_BUFFER);
                return Ok((listener, udp));
            }
            Err(e) if addr.port() == 0 => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no port free for both TCP and UDP")))
}
