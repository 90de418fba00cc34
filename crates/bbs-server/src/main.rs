//! `bbsd [--config FILE] [--bind ADDR]... [--db PATH|postgres://URL] <port>`:
//! settings (flags, `BBSD_…` environment, TOML file: see
//! `bbs_server::settings`), logging, SIGHUP reloads and wiring; the server
//! itself is `bbs_server::Server`, on SQLite or PostgreSQL. `bbsd
//! backup|restore|export|check` are the administrator's tools (`Tool`).

use std::ffi::OsString;
use std::io::IsTerminal;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::Context;
use std::time::Duration;

use bbs_server::listen::bind_tcp;
use bbs_server::settings::{self, Settings, SettingsError};
use bbs_server::{Config, Doors, Listeners, Rate, Reloader, Server, SshDoor};
use bbs_storage::Store;
use bbs_storage_postgres::PostgresStore;
use bbs_storage_sqlite::{SqliteOptions, SqliteStore};
use clap::{CommandFactory, FromArgMatches, Parser};

/// Answers allocate many small strings (table cells, JSON); mimalloc's
/// per-thread free lists make that markedly cheaper than glibc's malloc
/// (see docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The BBS server: accounts, boards and posts over TCP and UDP on one port.
#[derive(Debug, Parser)]
#[command(
    name = "bbsd",
    version,
    after_help = "Tools: bbsd backup --db DB --to FILE; bbsd restore --from FILE --db DB; \
                  bbsd export --db DB --format json; bbsd check ADDR."
)]
struct Args {
    /// TOML file of settings: any flag's long name as a key (`max-line = 100`).
    /// Flags beat `BBSD_…` environment variables, which beat the file.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Print every setting's effective value and where it came from, then exit.
    #[arg(long)]
    print_config: bool,
    /// Log lines as plain text, or as one JSON object a line (for log collectors).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Port for both TCP and UDP (0 picks a free one).
    port: u16,
    /// Address to listen on; repeat for several. `::` (the default) is every
    /// IPv6 and IPv4 address.
    #[arg(long, default_value = "::")]
    bind: Vec<IpAddr>,
    /// SQLite database file, created with its schema on first start; or a
    /// PostgreSQL database as `postgres://user@host:port/dbname` (its
    /// tables are created on first start).
    #[arg(long, default_value = "bbs.db")]
    db: PathBuf,
    /// Connections to PostgreSQL one server keeps at most (with a
    /// `postgres://` database); commands wait for a free one.
    #[arg(long, default_value_t = PostgresStore::DEFAULT_MAX_CONNECTIONS)]
    db_connections: usize,
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
    /// Threads that serve connections (the async workers); default: one per
    /// core. Fewer spend less CPU per command where the cores are shared
    /// (with the SQLite writer's threads, or with clients on the same
    /// machine), but cap what the connections can use at saturation.
    #[arg(long, default_value_t = default_workers(), value_parser = clap::value_parser!(u16).range(1..))]
    workers: u16,
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
    /// Seconds between heartbeats of this process in the database (several
    /// processes on one PostgreSQL).
    #[arg(long, default_value_t = Config::default().heartbeat_interval.as_secs_f64())]
    heartbeat_interval: f64,
    /// Seconds without a heartbeat after which a server process is taken
    /// for dead and its sessions leave `list-online`.
    #[arg(long, default_value_t = Config::default().node_lease.as_secs_f64())]
    node_lease: f64,
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
    /// Days a deleted post stays restorable in its board's recycle bin.
    #[arg(long, default_value_t = Config::default().recycle_days)]
    recycle_days: u32,
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
    /// Serve the full-screen (PTT-style) interface over telnet on this
    /// port too (off unless given; the main port keeps the line protocol).
    #[arg(long)]
    telnet_port: Option<u16>,
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
        if self.node_lease <= self.heartbeat_interval {
            anyhow::bail!("--node-lease must be longer than --heartbeat-interval");
        }
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
            heartbeat_interval: seconds("heartbeat-interval", self.heartbeat_interval)?,
            node_lease: seconds("node-lease", self.node_lease)?,
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
            recycle_days: self.recycle_days,
            clock: Config::default().clock,
            // The disk guard's directory: with PostgreSQL, the current one
            // (a URL's "parent" is no directory, so its free space was unknown).
            data_dir: self.data_dir(),
            min_free_disk: self.min_free_disk_mb.saturating_mul(1 << 20),
            max_subscriptions: self.max_subscriptions,
            max_keyword: self.max_keyword,
            max_search_words: self.max_search_words,
            max_ssh_keys: self.max_ssh_keys,
            udp_reply_memory: seconds("udp-reply-memory", self.udp_reply_memory)?,
            files_dir: self.files_dir.clone().unwrap_or_else(|| self.data_dir().join("files")),
            max_file_size: self.max_file_size,
            file_quota_per_user: self.file_quota_user,
            file_quota_total: self.file_quota_total,
            max_transfers: self.max_transfers,
            max_transfers_per_user: self.max_transfers_per_user,
            transfer_idle_timeout: seconds("transfer-idle-timeout", self.transfer_idle_timeout)?,
        })
    }
}

/// Where the database is.
enum Database {
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL.
    Postgres(String),
}

impl Args {
    fn database(&self) -> Database {
        match self.db.to_str() {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Database::Postgres(url.to_owned())
            }
            _ => Database::Sqlite(self.db.clone()),
        }
    }

    /// The directory of the server's other files (received files, the SSH
    /// host key): beside a SQLite database, the current directory with
    /// PostgreSQL.
    fn data_dir(&self) -> PathBuf {
        match self.database() {
            Database::Sqlite(path) => {
                path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_owned()
            }
            Database::Postgres(_) => PathBuf::from("."),
        }
    }
}

/// The database as the log shows it: a PostgreSQL URL without its
/// password.
fn shown(database: &Database) -> String {
    match database {
        Database::Sqlite(path) => path.display().to_string(),
        Database::Postgres(url) => match (url.find("://"), url.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                let user = &url[scheme + 3..at];
                let user = user.split(':').next().unwrap_or_default();
                format!("{}{user}@{}", &url[..scheme + 3], &url[at + 1..])
            }
            _ => url.clone(),
        },
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// `bbsd`'s tools for an administrator, each run as `bbsd TOOL …`.
#[derive(Debug, Parser)]
#[command(name = "bbsd", version)]
enum Tool {
    /// Copy a board's database, even while the server runs, into a new file.
    Backup {
        /// The database to copy.
        #[arg(long, default_value = "bbs.db")]
        db: PathBuf,
        /// The new backup file.
        #[arg(long)]
        to: PathBuf,
    },
    /// Replace a (stopped) server's database with a backup, after checking
    /// the backup's integrity and schema version.
    Restore {
        /// The backup to restore.
        #[arg(long)]
        from: PathBuf,
        /// The database to replace.
        #[arg(long, default_value = "bbs.db")]
        db: PathBuf,
    },
    /// Write every table of a board's database (even while the server
    /// runs) to standard output, from one consistent snapshot.
    Export {
        /// The database to export.
        #[arg(long, default_value = "bbs.db")]
        db: PathBuf,
        /// The output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
        format: ExportFormat,
    },
    /// Exit 0 when the server at ADDR answers (for health checks).
    Check {
        /// The server's address, e.g. 127.0.0.1:2323 or [::1]:2323.
        addr: String,
        /// Seconds to wait for the server's greeting.
        #[arg(long, default_value_t = 5.0)]
        timeout: f64,
    },
}

const TOOLS: [&str; 4] = ["backup", "restore", "check", "export"];

/// Formats `bbsd export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ExportFormat {
    Json,
}

impl Tool {
    fn run(self) -> anyhow::Result<()> {
        match self {
            Tool::Backup { db, to } => {
                let info = bbs_storage_sqlite::backup::backup(&db, &to)?;
                println!(
                    "Backup of {} written to {} (schema version {}, integrity ok).",
                    db.display(),
                    to.display(),
                    info.schema_version
                );
            }
            Tool::Restore { from, db } => {
                let info = bbs_storage_sqlite::backup::restore(&from, &db)?;
                println!(
                    "Restored {} from {} (schema version {}, integrity ok).",
                    db.display(),
                    from.display(),
                    info.schema_version
                );
            }
            Tool::Export { db, format: ExportFormat::Json } => {
                if !db.is_file() {
                    anyhow::bail!("no database at {}", db.display());
                }
                let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                bbs_storage_sqlite::backup::export_json(&db, &mut out)?;
                std::io::Write::flush(&mut out)?;
            }
            Tool::Check { addr, timeout } => {
                let wait = Duration::try_from_secs_f64(timeout).context("--timeout must be a number of seconds")?;
                check_server(&addr, wait).with_context(|| format!("{addr} does not answer"))?;
                println!("{addr} answers.");
            }
        }
        Ok(())
    }
}

/// Connects to `addr` and waits for the server's greeting up to its first
/// prompt.
fn check_server(addr: &str, wait: Duration) -> anyhow::Result<()> {
    use std::io::Read;
    use std::net::ToSocketAddrs;
    let target = addr.to_socket_addrs()?.next().context("no address")?;
    let mut stream = std::net::TcpStream::connect_timeout(&target, wait)?;
    stream.set_read_timeout(Some(wait))?;
    let mut greeting = Vec::new();
    let mut buf = [0u8; 512];
    while !greeting.ends_with(b"% ") {
        let n = stream.read(&mut buf)?;
        anyhow::ensure!(n > 0, "the connection closed before the greeting");
        greeting.extend_from_slice(&buf[..n]);
    }
    Ok(())
}

/// One async worker per core (see `--workers`).
fn default_workers() -> u16 {
    u16::try_from(bbs_server::config::cores()).unwrap_or(u16::MAX)
}

fn main() -> anyhow::Result<()> {
    let argv: Vec<OsString> = std::env::args_os().collect();
    if argv.get(1).and_then(|a| a.to_str()).is_some_and(|a| TOOLS.contains(&a)) {
        return Tool::parse_from(&argv).run();
    }
    let settings = match settings::load(Args::command(), &argv) {
        Err(SettingsError::Arguments(e)) => e.exit(),
        other => other?,
    };
    let args = Args::from_arg_matches(&settings.matches)?;
    if args.print_config {
        print!("{}", settings.describe());
        return Ok(());
    }
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(usize::from(args.workers)).enable_all().build()?;
    runtime.block_on(run(args, argv, settings))
}

/// The server on its runtime: logging, the database, then [`serve`].
async fn run(args: Args, argv: Vec<OsString>, settings: Settings) -> anyhow::Result<()> {
    let config = args.config()?;
    let log = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()));
    match args.log_format {
        LogFormat::Text => log.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => log.json().with_ansi(false).init(),
    }

    let database = args.database();
    let db = shown(&database);
    match database {
        Database::Sqlite(path) => {
            let store =
                SqliteStore::open(SqliteOptions { cache_bytes: config.cache_bytes, ..SqliteOptions::new(&path) })
                    .with_context(|| format!("cannot open the database {db}"))?;
            serve(store, config, &args, &db, argv, settings).await
        }
        Database::Postgres(url) => {
            let store = PostgresStore::connect(&url, args.db_connections)
                .await
                .with_context(|| format!("cannot open the database {db}"))?;
            serve(store, config, &args, &db, argv, settings).await
        }
    }
}

/// Listens and serves until Ctrl-C or SIGTERM, on either backend; SIGHUP
/// reloads the settings.
async fn serve<S: Store>(
    store: S,
    config: Config,
    args: &Args,
    db: &str,
    argv: Vec<OsString>,
    settings: Settings,
) -> anyhow::Result<()> {
    let listeners = Listeners::bind(&args.bind, args.port)
        .await
        .with_context(|| format!("cannot listen on port {} of {:?}", args.port, args.bind))?;
    for addr in listeners.local_addrs()? {
        tracing::info!(db, "Listening on {addr} (TCP and UDP)");
    }
    // The doors listen on the first address given.
    let door_ip = args.bind[0];

    let mut doors = Doors::default();
    if let Some(port) = args.ssh_port {
        let listener = bind_tcp(door_ip, port)
            .await
            .with_context(|| format!("cannot listen for SSH on {}", SocketAddr::new(door_ip, port)))?;
        let host_key = args.data_dir().join("ssh_host_ed25519_key");
        tracing::info!(host_key = %host_key.display(), "SSH on {}", listener.local_addr()?);
        doors.ssh = Some(SshDoor::new(listener, &host_key)?);
    }
    if let Some(port) = args.http_port {
        let listener = bind_tcp(door_ip, port)
            .await
            .with_context(|| format!("cannot listen for HTTP on {}", SocketAddr::new(door_ip, port)))?;
        tracing::info!("Web on http://{}/", listener.local_addr()?);
        doors.http = Some(listener);
    }
    if let Some(port) = args.telnet_port {
        let listener = bind_tcp(door_ip, port)
            .await
            .with_context(|| format!("cannot listen for telnet on {}", SocketAddr::new(door_ip, port)))?;
        tracing::info!("Full-screen telnet on {}", listener.local_addr()?);
        doors.telnet = Some(listener);
    }
    // The sockets are bound: connections queue from now on.
    if let Err(e) = bbs_server::systemd::notify("READY=1") {
        tracing::warn!(error = %e, "cannot tell systemd the server is ready");
    }
    let server = Server::new(store, config);
    tokio::spawn(reload_on_sighup(server.reloader(), argv, settings));
    server.serve(listeners, doors, shutdown_signal()).await?;
    Ok(())
}

/// Settings a reload applies to a running server (read per command or
/// per connection); any other changes wait for a restart.
const RELOADABLE: &[&str] = &[
    "max_line",
    "max_connections",
    "max_connections_per_ip",
    "idle_timeout_anonymous",
    "idle_timeout_logged_in",
    "max_pending_output",
    "write_timeout",
    "max_password",
    "login_rate_ip",
    "login_rate_account",
    "udp_rate_ip",
    "max_message",
    "tell_rate",
    "yell_rate",
    "max_waiting_messages",
    "max_mailbox",
    "max_search_words",
    "max_ssh_keys",
    "write_rate_account",
    "write_rate_ip",
    "comment_rate",
    "register_rate_ip",
    "recycle_days",
];

/// On each SIGHUP, reads the settings again (the configuration file may
/// have changed; flags and the environment still win) and applies the
/// limits that can change without a restart, logging what changed. A
/// file that no longer parses is reported and the running limits stay.
async fn reload_on_sighup(reloader: Reloader, argv: Vec<OsString>, mut current: Settings) {
    let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
        tracing::warn!("cannot install a SIGHUP handler; reloads are off");
        return;
    };
    while hangups.recv().await.is_some() {
        let loaded = settings::load(Args::command(), &argv)
            .map_err(anyhow::Error::from)
            .and_then(|newer| Ok((Args::from_arg_matches(&newer.matches)?, newer)))
            .and_then(|(args, newer)| Ok((args.config()?, newer)));
        let (config, newer) = match loaded {
            Ok(loaded) => loaded,
            Err(e) => {
                tracing::error!("reload refused, the running limits stay: {e:#}");
                continue;
            }
        };
        let changes = current.changes(&newer);
        for (id, change) in &changes {
            if RELOADABLE.contains(&id.as_str()) {
                tracing::info!("reload: {change}");
            } else {
                tracing::warn!("reload: {change} (takes effect after a restart)");
            }
        }
        reloader.apply(config);
        tracing::info!(changed = changes.len(), "configuration reloaded");
        current = newer;
    }
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
