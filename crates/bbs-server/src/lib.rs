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

mod activity;
pub mod auth;
pub mod clock;
mod cluster;
mod cmd;
pub mod config;
pub mod disk_guard;
pub mod doors;
mod engine;
pub mod events;
pub mod listen;
mod presence;
mod rate;
mod rooms;
pub mod session;
pub mod settings;
mod state;
pub mod systemd;
mod telemetry;
mod transfers;
mod udp;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bbs_protocol::transfer::socket::TransferSocket;
use bbs_storage::{Store, StoreError};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

pub use config::{Config, Rate};
pub use doors::{DoorError, Doors, SshDoor};
pub use listen::Listeners;
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

/// Applies a new [`Config`] to a running server: every limit that can
/// change without a restart (rates, connection caps, sizes, timeouts) takes
/// effect for new commands and connections; live sessions stay connected.
#[derive(Clone)]
pub struct Reloader(Arc<dyn Fn(Config) + Send + Sync>);

impl Reloader {
    pub fn apply(&self, config: Config) {
        (self.0)(config);
    }
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

    /// A handle that puts a new configuration's limits in force while the
    /// server runs (see `bbsd`'s SIGHUP).
    pub fn reloader(&self) -> Reloader {
        let shared = Arc::clone(&self.shared);
        Reloader(Arc::new(move |config| shared.reload(config)))
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

    /// [`Server::run`], with the SSH and web doors of `doors` open too.
    pub async fn run_with_doors(
        self,
        listener: TcpListener,
        udp: UdpSocket,
        doors: Doors,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), ServerError> {
        self.serve(Listeners::from((listener, udp)), doors, shutdown).await
    }

    /// Serves TCP and UDP on every address of `listeners`, and the SSH and
    /// web doors of `doors`, until `shutdown` completes. Every door counts
    /// its sessions against the same connection limits, by the peer's real
    /// address.
    pub async fn serve(
        self,
        listeners: Listeners,
        doors: Doors,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), ServerError> {
        let shared = self.shared;
        // This process joins the others on the database (with SQLite it is
        // alone): rooms whose owner's session is gone are closed.
        let feed = cluster::join(&shared).await?;
        for dir in [&shared.files.complete, &shared.files.partial] {
            std::fs::create_dir_all(dir)?;
        }
        // Partial files of uploads interrupted longer ago than the transfer
        // idle timeout are abandoned: they go (cleaning also runs, bounded,
        // whenever an upload opens).
        shared.files.clean_stale_partials(shared.config.transfer_idle_timeout, &[], true);
        let (tcp, udp): (Vec<TcpListener>, Vec<Arc<UdpSocket>>) =
            listeners.pairs.into_iter().map(|(tcp, udp)| (tcp, Arc::new(udp))).unzip();
        let udp =
            udp.into_iter().map(|socket| TransferSocket::new(socket).map(Arc::new)).collect::<Result<Vec<_>, _>>()?;
        shared.transfers.attach(udp.clone());
        let connections = Arc::clone(&shared.connections);
        let (stop, stopped) = watch::channel(false);
        let cluster_task = tokio::spawn(cluster::run(Arc::clone(&shared), feed, stopped.clone()));
        let mut tasks = JoinSet::new();
        for socket in udp {
            tasks.spawn(udp::serve(Arc::clone(&shared), socket, stopped.clone()));
        }
        if let Some(ssh) = doors.ssh {
            let config = doors::ssh::russh_config(&shared, ssh.host_key);
            let door =
                doors::ssh::serve(Arc::clone(&shared), ssh.listener, config, Arc::clone(&connections), stopped.clone());
            tasks.spawn(door);
        }
        if let Some(telnet) = doors.telnet {
            tasks.spawn(doors::telnet::serve(Arc::clone(&shared), telnet, Arc::clone(&connections), stopped.clone()));
        }
        if let Some(http) = doors.http {
            tasks.spawn(doors::web::serve(Arc::clone(&shared), http, Arc::clone(&connections), stopped.clone()));
        }
        // Each listener accepts in a task of its own and hands its
        // connections here, where the limits are applied in one place.
        let (accepted_tx, mut accepted) = tokio::sync::mpsc::channel(64);
        let mut acceptors = JoinSet::new();
        for listener in tcp {
            acceptors.spawn(accept(listener, accepted_tx.clone()));
        }
        drop(accepted_tx);

        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                Some((stream, peer)) = accepted.recv() => {
                    let peer = listen::canonical(peer);
                    match connections.admit(peer.ip()) {
                        Ok(slot) => {
                            tracing::info!(%peer, "New connection from {peer}");
                            let span = tracing::info_span!("conn", %peer);
                            let _ = TcpStream::set_nodelay(&stream, true);
                            let (reader, writer) = stream.into_split();
                            let serve =
                                engine::serve(Arc::clone(&shared), reader, writer, peer, slot, stopped.clone());
                            tasks.spawn(serve.instrument(span));
                        }
                        Err(refused) => {
                            tracing::warn!(%peer, ?refused, "connection refused");
                            listen::refuse(stream, &refused.message());
                        }
                    }
                }
                Some(_) = tasks.join_next() => {}
                () = &mut shutdown => break,
            }
        }
        tracing::info!("shutting down");
        acceptors.abort_all();
        let _ = stop.send(true);
        if tokio::time::timeout(DRAIN_TIME, async { while tasks.join_next().await.is_some() {} }).await.is_err() {
            tasks.abort_all();
        }
        let _ = cluster_task.await;
        // The other processes forget this one's sessions at once, rather
        // than after its lease.
        if let Err(e) = shared.store.leave_cluster(shared.sessions.node()).await {
            tracing::warn!(error = %e, "cannot leave the other server processes");
        }
        Ok(())
    }
}

/// Accepts connections on `listener` and hands them on, until the
/// receiving loop is gone.
async fn accept(listener: TcpListener, to: tokio::sync::mpsc::Sender<(TcpStream, SocketAddr)>) {
    loop {
        match listener.accept().await {
            Ok(connection) => {
                if to.send(connection).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                // Out of file descriptors and the like: back off instead of
                // spinning, then try again.
                tracing::error!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
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

/// Binds TCP and UDP on the same port of `addr`. With port 0, picks a port
/// free for both. ([`Listeners::bind`] binds several addresses.)
pub async fn bind(addr: SocketAddr) -> io::Result<(TcpListener, UdpSocket)> {
    let mut listeners = Listeners::bind(&[addr.ip()], addr.port()).await?;
    if listeners.pairs.len() != 1 {
        return Err(io::Error::other("the address needs more than one socket; use Listeners::bind"));
    }
    Ok(listeners.pairs.remove(0))
}
