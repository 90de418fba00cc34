//! `bbsd [--bind ADDR] [--db PATH] <port>`: argument parsing, logging and
//! wiring; the server itself is `bbs_server::run`.

use std::io::IsTerminal;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use bbs_server::Config;
use bbs_storage::{SqliteOptions, SqliteStore};
use clap::Parser;

/// Answers allocate many small strings (table cells, JSON); mimalloc's
/// per-thread free lists make that markedly cheaper than glibc's malloc
/// (see docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The BBS server: accounts, boards and posts over TCP and UDP on one port.
#[derive(Debug, Parser)]
#[command(name = "bbsd", version)]
struct Args {
    /// Port for both TCP and UDP (0 picks a free one).
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    bind: IpAddr,
    /// SQLite database file, created with its schema on first start.
    #[arg(long, default_value = "bbs.db")]
    db: PathBuf,
    /// Longest accepted command line, in bytes.
    #[arg(long, default_value_t = bbs_protocol::DEFAULT_MAX_LINE)]
    max_line: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    let store = SqliteStore::open(SqliteOptions::new(&args.db))
        .with_context(|| format!("cannot open the database {}", args.db.display()))?;
    let (listener, udp) = bbs_server::bind(SocketAddr::new(args.bind, args.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", args.bind, args.port))?;
    let addr = listener.local_addr()?;
    tracing::info!(db = %args.db.display(), "Listening on {addr} (TCP and UDP)");

    let config = Config { max_line: args.max_line, ..Config::default() };
    bbs_server::run(listener, udp, store, config, shutdown_signal()).await?;
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
