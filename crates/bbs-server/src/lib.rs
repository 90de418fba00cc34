//! `bbsd`, the BBS server, as a library: [`run`] serves already-bound
//! sockets until a shutdown signal, so tests start the real server on free
//! ports with a temporary database, and `main` stays thin.
//!
//! Layout: [`connection`] reads lines and writes answers on one TCP
//! connection; [`udp`] does the same for datagrams; `commands` holds what
//! every command does; [`session`] the per-connection state and the token
//! registry; [`auth`] password hashing and tokens; [`config`] the limits;
//! `rate` the rate limiters and connection counts that enforce them.

pub mod auth;
mod chatrooms;
mod commands;
pub mod config;
mod connection;
mod rate;
pub mod session;
mod udp;

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bbs_storage::{Store, StoreError};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

pub use config::{Config, Rate};

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("network: {0}")]
    Io(#[from] io::Error),
}

/// State every connection shares.
pub(crate) struct Shared<S> {
    pub(crate) store: S,
    pub(crate) config: Config,
    pub(crate) tokens: session::Tokens,
    pub(crate) hasher: auth::Hasher,
    pub(crate) udp_replies: udp::RecentReplies,
    pub(crate) login_per_ip: rate::RateLimiter<IpAddr>,
    pub(crate) login_per_account: rate::RateLimiter<String>,
    pub(crate) udp_per_ip: rate::RateLimiter<IpAddr>,
    /// Running chatrooms' keys and owners (the registry itself is stored).
    pub(crate) chat: chatrooms::LiveRooms,
}

/// How long connections get to finish their current command at shutdown.
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// Serves TCP on `listener` and UDP on `udp` until `shutdown` completes.
pub async fn run<S: Store>(
    listener: TcpListener,
    udp: UdpSocket,
    store: S,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    // No chatroom owner can still be connected to a server that just started.
    store.close_all_chatrooms().await?;
    let shared = Arc::new(Shared {
        store,
        hasher: auth::Hasher::new(config.hash_workers, config.hash_queue),
        udp_replies: udp::RecentReplies::new(config.udp_reply_memory),
        tokens: session::Tokens::default(),
        login_per_ip: rate::RateLimiter::new(config.login_rate_per_ip),
        login_per_account: rate::RateLimiter::new(config.login_rate_per_account),
        udp_per_ip: rate::RateLimiter::new(config.udp_rate_per_ip),
        chat: chatrooms::LiveRooms::default(),
        config,
    });
    let connections = rate::ConnectionCount::new(shared.config.max_connections, shared.config.max_connections_per_ip);
    let (stop, stopped) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tasks.spawn(udp::serve(Arc::clone(&shared), Arc::new(udp), stopped.clone()));

    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match connections.admit(peer.ip()) {
                    Ok(slot) => {
                        tracing::info!(%peer, "New connection from {peer}");
                        let span = tracing::info_span!("conn", %peer);
                        let serve = connection::serve(Arc::clone(&shared), stream, peer, slot, stopped.clone());
                        tasks.spawn(serve.instrument(span));
                    }
                    Err(refused) => {
                        tracing::warn!(%peer, ?refused, "connection refused");
                        refuse(stream, &refused.message());
                    }
                },
                Err(e) => {
                    // Out of file descriptors and the like: back off instead
                    // of spinning, then try again.
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

/// Tells a refused peer why, then closes. The message is one short line
/// that fits in a fresh socket's send buffer, so it is written without
/// waiting: a flood of refused connections costs no task and no timer.
fn refuse(stream: TcpStream, message: &str) {
    let _ = stream.try_write(format!("{message}\r\n").as_bytes());
    drop(stream);
}

/// Binds TCP and UDP on the same port of `addr`. With port 0, picks a port
/// free for both.
pub async fn bind(addr: SocketAddr) -> io::Result<(TcpListener, UdpSocket)> {
    let mut last_error = None;
    for _ in 0..20 {
        let listener = TcpListener::bind(addr).await?;
        let port = listener.local_addr()?.port();
        match UdpSocket::bind(SocketAddr::new(addr.ip(), port)).await {
            Ok(udp) => return Ok((listener, udp)),
            Err(e) if addr.port() == 0 => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no port free for both TCP and UDP")))
}
