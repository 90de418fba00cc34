//! `bbsd [--bind ADDR] [--db PATH] <port>`: argument parsing, logging and
//! wiring; the server itself is `bbs_server::run`.

use std::io::IsTerminal;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::Context;
use std::time::Duration;

use bbs_server::{Config, Doors, Rate, Server, SshDoor};
use bbs_storage_sqlite::{SqliteOptions, SqliteStore};
use clap::Parser;
use tokio::net::TcpListener;

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
    /// Open TCP connections in total.
    #[arg(long, default_value_t = Config::default().max_connections)]
    max_connections: usize,
    /// Open TCP connections from one IP address.
    #[arg(long, default_value_t = Config::default().max_connections_per_ip)]
    max_connections_per_ip: usize,
    /// Seconds a connection that has not logged in may stay without sending a command.
    #[arg(long, default_value_t = Config::default().idle_timeout_anonymous.as_secs_f64())]
    idle_timeout_anonymous: f64,
    /// Seconds a logged-in connection may stay without sending a command.
    #[arg(long, default_value_t = Config::default().idle_timeout_logged_in.as_secs_f64())]
    idle_timeout_logged_in: f64,
    /// Bytes of answers waiting for one connection before its commands wait.
    #[arg(long, default_value_t = Config::default().max_pending_output)]
    max_pending_output: usize,
    /// Seconds a connection with pending answers may take none of them.
    #[arg(long, default_value_t = Config::default().write_timeout.as_secs_f64())]
    write_timeout: f64,
    /// Mebibytes the cache of hot posts, board lists and users may hold.
    #[arg(long, default_value_t = Config::default().cache_bytes / (1024 * 1024))]
    cache_mb: usize,
    /// Longest accepted password, in bytes.
    #[arg(long, default_value_t = Config::default().max_password)]
    max_password: usize,
    /// Password hashes computed at once.
    #[arg(long, default_value_t = Config::default().hash_workers)]
    hash_workers: usize,
    /// Logins and registrations that may wait for a hasher before "Server busy".
    #[arg(long, default_value_t = Config::default().hash_queue)]
    hash_queue: usize,
    /// Login attempts per IP address, as BURST/SECONDS.
    #[arg(long, default_value_t = Config::default().login_rate_per_ip)]
    login_rate_ip: Rate,
    /// Login attempts per user name, as BURST/SECONDS (a success starts afresh).
    #[arg(long, default_value_t = Config::default().login_rate_per_account)]
    login_rate_account: Rate,
    /// UDP datagrams per IP address, as BURST/SECONDS; the rest are dropped.
    #[arg(long, default_value_t = Config::default().udp_rate_per_ip)]
    udp_rate_ip: Rate,
    /// Seconds a UDP answer is remembered so a retried request gets it again.
    #[arg(long, default_value_t = Config::default().udp_reply_memory.as_secs_f64())]
    udp_reply_memory: f64,
    /// Largest UDP reply datagram in bytes; longer answers go in parts.
    #[arg(long, default_value_t = Config::default().max_udp_reply)]
    max_udp_reply: usize,
    /// Pushes (messages for a user) waiting for one session; a session that
    /// falls further behind is closed.
    #[arg(long, default_value_t = Config::default().push_queue)]
    push_queue: usize,
    /// Longest `tell` or `yell` message, in bytes.
    #[arg(long, default_value_t = Config::default().max_message)]
    max_message: usize,
    /// `tell`s per user, as BURST/SECONDS.
    #[arg(long, default_value_t = Config::default().tell_rate)]
    tell_rate: Rate,
    /// `yell`s per user, as BURST/SECONDS.
    #[arg(long, default_value_t = Config::default().yell_rate)]
    yell_rate: Rate,
    /// Messages kept for one offline user.
    #[arg(long, default_value_t = Config::default().max_waiting_messages)]
    max_waiting_messages: usize,
    /// Posts, comments, boards and mails per account, as BURST/SECONDS.
    #[arg(long, default_value_t = Config::default().write_rate_per_account)]
    write_rate_account: Rate,
    /// Posts, comments, boards and mails per IP address, as BURST/SECONDS.
    #[arg(long, default_value_t = Config::default().write_rate_per_ip)]
    write_rate_ip: Rate,
    /// Comments, pushes and boos per user, as BURST/SECONDS.
    #[arg(long, default_value_t = Config::default().comment_rate)]
    comment_rate: Rate,
    /// A user who moderates every board (repeat for several).
    #[arg(long = "sysop", value_name = "NAME")]
    sysops: Vec<String>,
    /// Registrations per IP address, as BURST/SECONDS.
    #[arg(long, default_value_t = Config::default().register_rate_per_ip)]
    register_rate_ip: Rate,
    /// Mebibytes that must stay free on the database's disk; below it
    /// writes are refused until space returns.
    #[arg(long, default_value_t = Config::default().min_free_disk >> 20)]
    min_free_disk_mb: u64,
    /// Mails one mailbox holds.
    #[arg(long, default_value_t = Config::default().max_mailbox)]
    max_mailbox: usize,
    /// Subscription keywords one user may keep.
    #[arg(long, default_value_t = Config::default().max_subscriptions)]
    max_subscriptions: usize,
    /// Longest subscription keyword, in bytes.
    #[arg(long, default_value_t = Config::default().max_keyword)]
    max_keyword: usize,
    /// Most words in one search.
    #[arg(long, default_value_t = Config::default().max_search_words)]
    max_search_words: usize,
    /// SSH public keys one user may register with add-key.
    #[arg(long, default_value_t = Config::default().max_ssh_keys)]
    max_ssh_keys: usize,
    /// Serve SSH on this port too (off unless given). The host key is kept
    /// in `ssh_host_ed25519_key` next to the database, created on first start.
    #[arg(long)]
    ssh_port: Option<u16>,
    /// Serve the web door (browser terminal, pages, JSON API, /metrics) on
    /// this port too (off unless given).
    #[arg(long)]
    http_port: Option<u16>,
    /// Directory of the file area (default: `files` next to the database).
    #[arg(long)]
    files_dir: Option<PathBuf>,
    /// Largest file send-file accepts, in bytes.
    #[arg(long, default_value_t = Config::default().max_file_size)]
    max_file_size: u64,
    /// Bytes of files one user may keep.
    #[arg(long, default_value_t = Config::default().file_quota_per_user)]
    file_quota_user: u64,
    /// Bytes of files the whole file area may keep.
    #[arg(long, default_value_t = Config::default().file_quota_total)]
    file_quota_total: u64,
    /// File transfers running at once.
    #[arg(long, default_value_t = Config::default().max_transfers)]
    max_transfers: usize,
    /// File transfers one user may run at once.
    #[arg(long, default_value_t = Config::default().max_transfers_per_user)]
    max_transfers_per_user: usize,
    /// Seconds a file transfer may go without a datagram before it ends.
    #[arg(long, default_value_t = Config::default().transfer_idle_timeout.as_secs_f64())]
    transfer_idle_timeout: f64,
}

impl Args {
    fn config(&self) -> anyhow::Result<Config> {
        let seconds = |name: &str, s: f64| {
            Duration::try_from_secs_f64(s)
                .ok()
                .filter(|d| !d.is_zero())
                .with_context(|| format!("--{name} must be a number of seconds above 0"))
        };
        if self.push_queue == 0 {
            anyhow::bail!("--push-queue must be at least 1");
        }
        if !(256..=65_507).contains(&self.max_udp_reply) {
            anyhow::bail!("--max-udp-reply must be between 256 and 65507 bytes");
        }
        Ok(Config {
            max_line: self.max_line,
            max_connections: self.max_connections,
            max_connections_per_ip: self.max_connections_per_ip,
            idle_timeout_anonymous: seconds("idle-timeout-anonymous", self.idle_timeout_anonymous)?,
            idle_timeout_logged_in: seconds("idle-timeout-logged-in", self.idle_timeout_logged_in)?,
            max_pending_output: self.max_pending_output,
            write_timeout: seconds("write-timeout", self.write_timeout)?,
            max_password: self.max_password,
            cache_bytes: self.cache_mb.saturating_mul(1024 * 1024),
            hash_workers: self.hash_workers,
            hash_queue: self.hash_queue,
            login_rate_per_ip: self.login_rate_ip,
            login_rate_per_account: self.login_rate_account,
            udp_rate_per_ip: self.udp_rate_ip,
            max_udp_reply: self.max_udp_reply,
            push_queue: self.push_queue,
            max_message: self.max_message,
            tell_rate: self.tell_rate,
            yell_rate: self.yell_rate,
            max_waiting_messages: self.max_waiting_messages,
            max_mailbox: self.max_mailbox,
            write_rate_per_account: self.write_rate_account,
            write_rate_per_ip: self.write_rate_ip,
            register_rate_per_ip: self.register_rate_ip,
            comment_rate: self.comment_rate,
            sysops: self.sysops.clone(),
            clock: Config::default().clock,
            data_dir: self.db.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_owned(),
            min_free_disk: self.min_free_disk_mb.saturating_mul(1 << 20),
            max_subscriptions: self.max_subscriptions,
            max_keyword: self.max_keyword,
            max_search_words: self.max_search_words,
            max_ssh_keys: self.max_ssh_keys,
            udp_reply_memory: seconds("udp-reply-memory", self.udp_reply_memory)?,
            files_dir: self.files_dir.clone().unwrap_or_else(|| {
                self.db.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).join("files")
            }),
            max_file_size: self.max_file_size,
            file_quota_per_user: self.file_quota_user,
            file_quota_total: self.file_quota_total,
            max_transfers: self.max_transfers,
            max_transfers_per_user: self.max_transfers_per_user,
            transfer_idle_timeout: seconds("transfer-idle-timeout", self.transfer_idle_timeout)?,
        })
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = args.config()?;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();

    let store = SqliteStore::open(SqliteOptions { cache_bytes: config.cache_bytes, ..SqliteOptions::new(&args.db) })
        .with_context(|| format!("cannot open the database {}", args.db.display()))?;
    let (listener, udp) = bbs_server::bind(SocketAddr::new(args.bind, args.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", args.bind, args.port))?;
    let addr = listener.local_addr()?;
    tracing::info!(db = %args.db.display(), "Listening on {addr} (TCP and UDP)");

    let mut doors = Doors::default();
    if let Some(port) = args.ssh_port {
        let listener = TcpListener::bind(SocketAddr::new(args.bind, port))
            .await
            .with_context(|| format!("cannot listen for SSH on {}:{port}", args.bind))?;
        let host_key = args.db.with_file_name("ssh_host_ed25519_key");
        tracing::info!(host_key = %host_key.display(), "SSH on {}", listener.local_addr()?);
        doors.ssh = Some(SshDoor::new(listener, &host_key)?);
    }
    if let Some(port) = args.http_port {
        let listener = TcpListener::bind(SocketAddr::new(args.bind, port))
            .await
            .with_context(|| format!("cannot listen for HTTP on {}:{port}", args.bind))?;
        tracing::info!("Web on http://{}/", listener.local_addr()?);
        doors.http = Some(listener);
    }
    Server::new(store, config).run_with_doors(listener, udp, doors, shutdown_signal()).await?;
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
