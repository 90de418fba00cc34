//! `bbs-bench`: load generator for `bbsd`. See docs/PERFORMANCE.md for what
//! each mode measures and the figures on this machine.
//!
//! Modes: `mix` (TCP command mix, closed loop, optional canned ceiling and
//! durable canned floor in the same run), `udp` (`whoami` datagrams),
//! `idle` (memory per logged-in session, then latency of one active
//! client), `logins` (a burst of logins while another session keeps
//! working), `seed` (bulk data straight into a database file), `social`
//! (`tell` latency, `yell` fan-out and `list-mail` with many sessions
//! logged in), `community` (`list-post --long` on a big board, many users
//! pushing one post), `cluster` (the mix on SQLite, on PostgreSQL with one
//! and with two `bbsd`), `screen` (full-screen sessions on the board list
//! while posts arrive), `canned` (the do-nothing server
//! for the ceiling; with `--durable`, the one that only stores each write
//! durably, for the floor).

mod canned;
mod client;
mod cluster;
mod community;
mod files;
mod load;
mod plot;
mod process;
mod scale;
mod screen;
mod seed;
mod setup;
mod social;
mod stats;
mod udp_load;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};

use crate::load::{Mix, Window};
use crate::process::{CpuMeter, CpuUse, Spawned};
use crate::setup::Workload;
use crate::stats::Stats;

#[derive(Debug, Parser)]
#[command(name = "bbs-bench", about = "Load generator for bbsd (loopback only; every run is bounded)")]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Closed-loop TCP command mix over C logged-in sessions (client dialect).
    Mix(MixArgs),
    /// UDP `whoami` with a valid token from K concurrent requesters.
    Udp(UdpArgs),
    /// Hold N logged-in sessions; report server memory per session and the
    /// latency of one active client meanwhile.
    Idle(IdleArgs),
    /// Fire N logins at once while another session runs `list-board`.
    Logins(LoginArgs),
    /// Live messages and mail while N sessions are logged in: `tell`
    /// latency, one `yell` reaching everybody, `list-mail` of a full mailbox.
    Social(SocialArgs),
    /// Full-screen sessions idle on the board list while posts arrive:
    /// memory per session, post ack to the last session's redraw.
    Screen(ScreenArgs),
    /// Write users, boards and posts straight into a database file.
    Seed(SeedArgs),
    /// `search` latency, query by query, on one session (seed first).
    Search(SearchArgs),
    /// Start `bbsd` on a seeded database: time to listen, memory, cold and
    /// hot `read` latency, reads spread over all posts, one big `list-post`.
    Scale(ScaleArgs),
    /// send-file and get-file of one large file with the real client, beside
    /// a TCP copy, then through the lossy relay.
    Files(FilesArgs),
    /// Run a lossy UDP relay in front of a server's UDP port until killed
    /// (point `bbs` at it with BBS_UDP_RELAY=<printed address>).
    Relay(RelayArgs),
    /// The community area under load: `list-post --long` beside `list-post`
    /// on one big board, then many users pushing one hot post at once.
    Community(CommunityArgs),
    /// The command mix on SQLite with one `bbsd`, then on one throwaway
    /// PostgreSQL (fsync on) with one and with two `bbsd`, in one run.
    Cluster(ClusterArgs),
    /// Run the canned server (fixed answer to everything) on 127.0.0.1.
    Canned {
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Store every `create-post` and `comment` line in this SQLite file,
        /// on disk before its answer (the durable canned server).
        #[arg(long)]
        durable: Option<PathBuf>,
    },
}

/// Which server to load.
#[derive(Debug, Args)]
struct Target {
    /// An already running server (otherwise the bench starts `bbsd` itself).
    #[arg(long)]
    addr: Option<SocketAddr>,
    /// Pid of the server at --addr, for its CPU and memory figures.
    #[arg(long)]
    server_pid: Option<u32>,
    /// The `bbsd` binary to start (default: next to this program).
    #[arg(long)]
    bbsd: Option<PathBuf>,
    /// Database for the started `bbsd` (default: a fresh temporary file).
    #[arg(long)]
    db: Option<PathBuf>,
    /// Extra arguments for the started `bbsd` (repeatable).
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    server_args: Vec<String>,
}

/// A server being measured, and what keeps it alive.
struct Server {
    addr: SocketAddr,
    pid: Option<u32>,
    _spawned: Option<Spawned>,
    _dir: Option<tempfile::TempDir>,
}

impl Target {
    fn start(&self) -> anyhow::Result<Server> {
        if let Some(addr) = self.addr {
            return Ok(Server { addr, pid: self.server_pid, _spawned: None, _dir: None });
        }
        let (db, dir) = match &self.db {
            Some(db) => (db.clone(), None),
            None => {
                let dir = tempfile::Builder::new().prefix("bbs-bench").tempdir_in(".")?;
                (dir.path().join("bbs.db"), Some(dir))
            }
        };
        let bbsd = self.bbsd.clone().unwrap_or_else(process::default_bbsd);
        let spawned = process::spawn_bbsd(&bbsd, &db, &self.server_args)?;
        println!(
            "started {} (pid {}) on {} with database {}",
            bbsd.display(),
            spawned.pid(),
            spawned.addr,
            db.display()
        );
        Ok(Server { addr: spawned.addr, pid: Some(spawned.pid()), _spawned: Some(spawned), _dir: dir })
    }
}

/// The closed-loop command load, the same for one server and a cluster.
#[derive(Debug, Args)]
struct Load {
    /// Concurrent logged-in sessions (over several servers: split evenly).
    #[arg(long, short = 'c', default_value_t = 100)]
    connections: usize,
    /// Users registered over UDP (sessions log in as them round-robin).
    #[arg(long, default_value_t = 100)]
    users: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of load before measuring.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Command weights.
    #[arg(long, default_value = "read=40,list-post=20,list-board=10,create-post=20,comment=10")]
    mix: Mix,
    /// Boards that `read` and `list-post` use.
    #[arg(long, default_value_t = 10)]
    read_boards: usize,
    /// Posts on each of those boards.
    #[arg(long, default_value_t = 10)]
    posts_per_board: usize,
}

#[derive(Debug, Args)]
struct MixArgs {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    load: Load,
    /// First measure the canned server with the same load (the ceiling).
    #[arg(long)]
    canned: bool,
    /// Then the durable canned server: the canned one, except that every
    /// write is stored in SQLite and on disk before its answer (the floor
    /// for any server that keeps the flush rule with SQLite).
    #[arg(long)]
    durable_canned: bool,
    /// Skip the UDP registration (users already seeded with `seed`).
    #[arg(long)]
    seeded: bool,
}

#[derive(Debug, Args)]
struct ClusterArgs {
    /// The `bbsd` binary to start (default: next to this program).
    #[arg(long)]
    bbsd: Option<PathBuf>,
    /// Extra arguments for every started `bbsd` (repeatable).
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    server_args: Vec<String>,
    #[command(flatten)]
    load: Load,
}

#[derive(Debug, Args)]
struct UdpArgs {
    #[command(flatten)]
    target: Target,
    /// Concurrent requesters (each its own socket).
    #[arg(long, short = 'k', default_value_t = 16)]
    requesters: usize,
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// First measure the canned server with the same load.
    #[arg(long)]
    canned: bool,
}

#[derive(Debug, Args)]
struct IdleArgs {
    #[command(flatten)]
    target: Target,
    /// Logged-in sessions to hold open.
    #[arg(long, short = 'n', default_value_t = 19_000)]
    sessions: usize,
    /// Seeded users to log in as (run `seed --cheap-hashes` first).
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// Seconds the active client runs while the sessions are held.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// What the active client does.
    #[arg(long, default_value = "read=40,list-post=20,list-board=10")]
    mix: Mix,
}

#[derive(Debug, Args)]
struct LoginArgs {
    #[command(flatten)]
    target: Target,
    /// Logins fired at once.
    #[arg(long, short = 'n', default_value_t = 200)]
    logins: usize,
    /// Skip the UDP registration (users already exist).
    #[arg(long)]
    seeded: bool,
}

#[derive(Debug, Args)]
struct SocialArgs {
    #[command(flatten)]
    target: Target,
    /// Sessions held logged in (seed at least N+2 users with --cheap-hashes).
    #[arg(long, short = 'n', default_value_t = 10_000)]
    sessions: usize,
    /// `tell`s measured, one at a time.
    #[arg(long, default_value_t = 2000)]
    tells: usize,
    /// Mails put in one mailbox.
    #[arg(long, default_value_t = 10_000)]
    mails: usize,
    /// `list-mail` calls measured.
    #[arg(long, default_value_t = 200)]
    list_mails: usize,
}

#[derive(Debug, Args)]
struct ScreenArgs {
    #[command(flatten)]
    target: Target,
    /// The telnet door of the server at --addr (a started server gets one).
    #[arg(long)]
    telnet_addr: Option<SocketAddr>,
    /// Full-screen sessions on the board list (seed N+1 users with
    /// --cheap-hashes, no boards).
    #[arg(long, short = 'n', default_value_t = 5000)]
    sessions: usize,
    /// Posts measured, one per new board (at most 18).
    #[arg(long, default_value_t = 15)]
    posts: usize,
}

#[derive(Debug, Args)]
struct ScaleArgs {
    /// A database filled by `seed` (no server may be using it).
    #[arg(long)]
    db: PathBuf,
    /// The `bbsd` binary to start (default: next to this program).
    #[arg(long)]
    bbsd: Option<PathBuf>,
    /// Extra arguments for `bbsd` (repeatable).
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    server_args: Vec<String>,
    /// How many posts the database holds (numbered from 1).
    #[arg(long)]
    posts: u64,
    #[arg(long, default_value_t = 5000)]
    cold_reads: u64,
    #[arg(long, default_value_t = 1000)]
    hot_set: u64,
    #[arg(long, default_value_t = 20000)]
    hot_reads: u64,
    #[arg(long, default_value_t = 8)]
    spread_connections: usize,
    #[arg(long, default_value_t = 60)]
    spread_seconds: u64,
    /// A board to `list-post` at the end.
    #[arg(long)]
    list_board: Option<String>,
}

#[derive(Debug, Args)]
struct CommunityArgs {
    /// The `bbsd` binary to start (default: next to this program).
    #[arg(long)]
    bbsd: Option<PathBuf>,
    /// Extra arguments for `bbsd` (repeatable).
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    server_args: Vec<String>,
    /// Posts on the big board.
    #[arg(long, default_value_t = 1_000_000)]
    posts: usize,
    /// Times each listing is measured.
    #[arg(long, default_value_t = 20)]
    iterations: usize,
    /// Users pushing the hot post, each on a session of its own.
    #[arg(long, default_value_t = 1000)]
    voters: usize,
    /// Pushes per user.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Where the temporary database goes (deleted at the end).
    #[arg(long, default_value = ".")]
    work_dir: PathBuf,
}

#[derive(Debug, Args)]
struct FilesArgs {
    #[command(flatten)]
    target: Target,
    /// The `bbs` client binary (default: next to this program).
    #[arg(long)]
    bbs: Option<PathBuf>,
    /// File size in MiB.
    #[arg(long, default_value_t = 1024)]
    size_mib: u64,
    /// Loss rates to measure (0 goes direct, the rest through the relay).
    #[arg(long, value_delimiter = ',', default_value = "0,0.01,0.1")]
    loss: Vec<f64>,
    /// Where the test files go (needs three times the size free).
    #[arg(long, default_value = ".")]
    work_dir: PathBuf,
    /// Draws throughput over time of every transfer into this SVG file.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// A loss of 0 after the first goes through the relay too (its own
    /// cost, told apart from what loss costs): `--loss 0,0,0.01,0.1`.
    #[arg(long)]
    relay_lossless: bool,
}

#[derive(Debug, Args)]
struct RelayArgs {
    /// The server's address (its UDP port).
    server: SocketAddr,
    #[arg(long, default_value_t = 0.1)]
    loss: f64,
    #[arg(long, default_value_t = 0.0)]
    duplicate: f64,
    #[arg(long, default_value_t = 0.0)]
    reorder: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Debug, Args)]
struct SeedArgs {
    /// Database file to fill (created if missing; no server may be using it).
    #[arg(long)]
    db: PathBuf,
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// Cheap password hashes, so that thousands of logins are quick.
    #[arg(long)]
    cheap_hashes: bool,
    /// Boards holding the bulk of the posts.
    #[arg(long, default_value_t = 1000)]
    bulk_boards: usize,
    #[arg(long, default_value_t = 1_000_000)]
    bulk_posts: usize,
    /// The small boards the mix reads (and the write board).
    #[arg(long, default_value_t = 10)]
    read_boards: usize,
    #[arg(long, default_value_t = 100)]
    posts_per_board: usize,
    /// Subscriptions to store (see `seed.rs`: spread over every board and
    /// author, one in --matching-every matching the mix's new posts).
    #[arg(long, default_value_t = 0)]
    subscriptions: usize,
    /// One subscription in this many matches the mix's new posts (0: none).
    #[arg(long, default_value_t = 10)]
    matching_every: usize,
}

#[derive(Debug, Args)]
struct SearchArgs {
    #[command(flatten)]
    target: Target,
    /// The queries, each measured on its own (`search <query>`).
    #[arg(long = "query", default_values_t = ["post".to_owned(), "123457".to_owned(), "作業".to_owned()])]
    queries: Vec<String>,
    /// Searches per query, one after another on one session.
    #[arg(long, default_value_t = 200)]
    iterations: usize,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Thousands of sockets: take the whole hard limit of open files.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => {
            if matches!(cli.mode, Mode::Idle(_)) {
                println!("open-file limit: {n}");
            }
        }
        Err(e) => eprintln!("cannot raise the open-file limit: {e}"),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.mode {
            Mode::Mix(args) => mix(args).await,
            Mode::Cluster(args) => {
                cluster::run(cluster::ClusterPlan {
                    bbsd: args.bbsd.unwrap_or_else(process::default_bbsd),
                    connections: args.load.connections,
                    users: args.load.users,
                    warmup: secs(args.load.warmup),
                    duration: secs(args.load.duration),
                    mix: args.load.mix,
                    read_boards: args.load.read_boards,
                    posts_per_board: args.load.posts_per_board,
                    server_args: args.server_args,
                })
                .await
            }
            Mode::Udp(args) => udp(args).await,
            Mode::Idle(args) => idle(args).await,
            Mode::Logins(args) => logins(args).await,
            Mode::Social(args) => {
                let server = args.target.start()?;
                let plan = social::Plan {
                    sessions: args.sessions,
                    tells: args.tells,
                    mails: args.mails,
                    list_mails: args.list_mails,
                };
                social::run(server.addr, &plan).await
            }
            Mode::Screen(mut args) => {
                let telnet = match args.telnet_addr {
                    Some(addr) => addr,
                    None => {
                        // A free port for the started server's telnet door.
                        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
                        args.target.server_args.extend(["--telnet-port".to_owned(), port.to_string()]);
                        SocketAddr::from(([127, 0, 0, 1], port))
                    }
                };
                let server = args.target.start()?;
                let plan = screen::Plan { sessions: args.sessions, posts: args.posts };
                screen::run(server.addr, telnet, server.pid, &plan).await
            }
            Mode::Seed(args) => seed::seed(
                &args.db,
                &seed::SeedPlan {
                    users: args.users,
                    cheap_hashes: args.cheap_hashes,
                    bulk_boards: args.bulk_boards,
                    bulk_posts: args.bulk_posts,
                    read_boards: args.read_boards,
                    posts_per_board: args.posts_per_board,
                    subscriptions: args.subscriptions,
                    matching_every: args.matching_every,
                },
            ),
            Mode::Search(args) => search(args).await,
            Mode::Scale(args) => {
                scale::run(scale::ScalePlan {
                    bbsd: args.bbsd.unwrap_or_else(process::default_bbsd),
                    db: args.db,
                    server_args: args.server_args,
                    posts: args.posts,
                    cold_reads: args.cold_reads,
                    hot_set: args.hot_set,
                    hot_reads: args.hot_reads,
                    spread_connections: args.spread_connections,
                    spread_seconds: args.spread_seconds,
                    list_board: args.list_board,
                })
                .await
            }
            Mode::Community(args) => {
                community::run(community::Plan {
                    bbsd: args.bbsd.unwrap_or_else(process::default_bbsd),
                    server_args: args.server_args,
                    posts: args.posts,
                    iterations: args.iterations,
                    voters: args.voters,
                    rounds: args.rounds,
                    work_dir: args.work_dir,
                })
                .await
            }
            Mode::Canned { port, durable } => canned::serve(port, durable).await,
            Mode::Files(args) => files_mode(args).await,
            Mode::Relay(args) => relay_mode(args).await,
        }
    })
}

async fn files_mode(mut args: FilesArgs) -> anyhow::Result<()> {
    let size = args.size_mib << 20;
    for flag in ["--max-file-size", "--file-quota-user", "--file-quota-total"] {
        args.target.server_args.extend([flag.to_owned(), (4 * size).to_string()]);
    }
    // The file area where the bench can watch an upload arrive; removed
    // (with the uploaded files) at the end.
    let area = tempfile::Builder::new().prefix("bbs-bench-area").tempdir_in(&args.work_dir)?;
    let area_path = area.path().canonicalize()?;
    args.target.server_args.extend(["--files-dir".to_owned(), area_path.display().to_string()]);
    let server = args.target.start()?;
    let plan = files::FilesPlan {
        bbs: args.bbs.unwrap_or_else(|| process::default_bbsd().with_file_name("bbs")),
        size,
        losses: args.loss,
        work_dir: args.work_dir,
        files_dir: area_path,
        plot: args.plot,
        relay_lossless: args.relay_lossless,
    };
    let addr = server.addr;
    tokio::task::spawn_blocking(move || files::measure(addr, &plan)).await?
}

async fn relay_mode(args: RelayArgs) -> anyhow::Result<()> {
    let impairment = bbs_testkit::relay::Impairment {
        loss: args.loss,
        duplicate: args.duplicate,
        reorder: args.reorder,
        seed: args.seed,
    };
    let relay = bbs_testkit::relay::LossyRelay::start(args.server, impairment)?;
    println!("relaying {} on {}", args.server, relay.addr);
    tokio::signal::ctrl_c().await?;
    Ok(())
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

async fn mix(args: MixArgs) -> anyhow::Result<()> {
    let load = &args.load;
    let ceiling = match args.canned {
        true => Some(canned_round(load, None, "canned server (the generator's ceiling)").await?),
        false => None,
    };
    let floor = match args.durable_canned {
        true => {
            let dir = tempfile::Builder::new().prefix("bbs-bench").tempdir_in(".")?;
            let db = dir.path().join("durable-canned.db");
            Some(canned_round(load, Some(&db), "durable canned server (writes stored and flushed)").await?)
        }
        false => None,
    };
    if let (Some(ceiling), Some(floor)) = (&ceiling, &floor) {
        ceiling.compare("durable canned", floor);
    }
    let server = args.target.start()?;
    let started = Instant::now();
    if !args.seeded {
        setup::register_users(server.addr, load.users).await.context("registering users over UDP")?;
    }
    let mut admin = client::Session::connect(server.addr).await?;
    admin.login(&setup::user_name(0), setup::PASSWORD).await?;
    let workload = setup::prepare_boards(&mut admin, load.read_boards, load.posts_per_board).await?;
    let sessions = setup::open_sessions(server.addr, load.connections, load.users, true, 16).await?;
    println!(
        "setup: {} users, {} sessions logged in, in {:.1} s",
        load.users,
        sessions.len(),
        started.elapsed().as_secs_f64()
    );
    let window = Window::starting_now(secs(load.warmup), secs(load.duration));
    let cpu = CpuUse::during(server.pid, window);
    let stats = load::run_all(sessions, &load.mix, workload, window, true).await?;
    stats.print(&format!("bbsd, C={}", load.connections), load.duration);
    let cpu = cpu.await?;
    cpu.print(stats.total().len());
    let ours = RunFigures::of(&stats, &cpu, load.duration);
    if let Some(ceiling) = &ceiling {
        ceiling.compare("bbsd", &ours);
    }
    let per_command = |figures: &Option<RunFigures>| figures.as_ref().and_then(|f| f.micros_per_command);
    if let (Some(ours), Some(floor), Some(canned)) =
        (ours.micros_per_command, per_command(&floor), per_command(&ceiling))
    {
        println!("bbsd's CPU per command beyond the durable canned server's, over the canned server's:");
        println!("  ({ours:.2} - {floor:.2}) / {canned:.2} µs = {:.2}", (ours - floor) / canned);
    }
    finish(&stats)
}

/// Measures a canned server (durable with a database) under the mix.
async fn canned_round(load: &Load, durable: Option<&std::path::Path>, title: &str) -> anyhow::Result<RunFigures> {
    let canned = process::spawn_canned(durable)?;
    let sessions = setup::open_sessions(canned.addr, load.connections, 1, false, 64).await?;
    let window = Window::starting_now(secs(load.warmup), secs(load.duration));
    let cpu = CpuUse::during(Some(canned.pid()), window);
    let stats = load::run_all(sessions, &load.mix, Workload::canned(load.read_boards), window, false).await?;
    stats.print(&format!("{title}, C={}", load.connections), load.duration);
    let cpu = cpu.await?;
    cpu.print(stats.total().len());
    finish(&stats)?;
    Ok(RunFigures::of(&stats, &cpu, load.duration))
}

/// What one server achieved in a run: the canned server's figures are
/// what bbsd's are divided by.
struct RunFigures {
    rate: f64,
    micros_per_command: Option<f64>,
    p99_ms: f64,
}

impl RunFigures {
    fn of(stats: &Stats, cpu: &CpuUse, seconds: f64) -> RunFigures {
        let total = stats.total();
        RunFigures {
            rate: total.len() as f64 / seconds,
            micros_per_command: cpu.server_micros_per_command(total.len()),
            p99_ms: total.value_at_quantile(0.99) as f64 / 1000.0,
        }
    }

    /// Prints another server's figures over the canned server's: the three
    /// ratios the per-command-cost goal is about.
    fn compare(&self, name: &str, ours: &RunFigures) {
        println!("commands/s, {name} / canned = {:.0} / {:.0} = {:.2}", ours.rate, self.rate, ours.rate / self.rate);
        if let (Some(ours), Some(canned)) = (ours.micros_per_command, self.micros_per_command) {
            println!("server CPU per command, {name} / canned = {ours:.2} / {canned:.2} µs = {:.2}", ours / canned);
        }
        println!(
            "p99, {name} / canned = {:.3} / {:.3} ms = {:.2}",
            ours.p99_ms,
            self.p99_ms,
            ours.p99_ms / self.p99_ms
        );
    }
}

fn finish(stats: &Stats) -> anyhow::Result<()> {
    if stats.total().is_empty() {
        bail!("nothing was measured");
    }
    if stats.error_count() > 0 {
        bail!("{} errors", stats.error_count());
    }
    Ok(())
}

async fn udp_round(
    addr: SocketAddr,
    pid: Option<u32>,
    args: &UdpArgs,
    token: Option<String>,
    expect: Option<String>,
    title: &str,
) -> anyhow::Result<Stats> {
    let window = Window::starting_now(secs(args.warmup), secs(args.duration));
    let cpu = CpuUse::during(pid, window);
    let mut tasks = tokio::task::JoinSet::new();
    for me in 0..args.requesters {
        tasks.spawn(udp_load::requester(addr, me, token.clone(), expect.clone(), window));
    }
    let mut stats = Stats::default();
    while let Some(done) = tasks.join_next().await {
        stats.merge(done??);
    }
    stats.print(title, args.duration);
    cpu.await?.print(stats.total().len());
    Ok(stats)
}

async fn udp(args: UdpArgs) -> anyhow::Result<()> {
    let mut ceiling = None;
    if args.canned {
        let canned = process::spawn_canned(None)?;
        let stats = udp_round(canned.addr, Some(canned.pid()), &args, None, None, "canned server, UDP").await?;
        ceiling = Some(stats.total().len() as f64 / args.duration);
    }
    let server = args.target.start()?;
    setup::register_users(server.addr, 1).await?;
    let mut session = client::Session::connect(server.addr).await?;
    let name = setup::user_name(0);
    let token = session.login(&name, setup::PASSWORD).await?;
    let title = format!("bbsd, UDP whoami, K={}", args.requesters);
    let stats = udp_round(server.addr, server.pid, &args, Some(token), Some(name), &title).await?;
    let rate = stats.total().len() as f64 / args.duration;
    if let Some(ceiling) = ceiling {
        println!("bbsd / canned = {rate:.0} / {ceiling:.0} = {:.2}", rate / ceiling);
    }
    drop(session);
    finish(&stats)
}

async fn idle(args: IdleArgs) -> anyhow::Result<()> {
    let server = args.target.start()?;
    let pid = server.pid.context("idle mode needs the server's pid (--server-pid, or let the bench start bbsd)")?;
    // One session first, so that the runtime, the caches and the database
    // are warm and the difference is the sessions alone.
    let mut active = client::Session::connect(server.addr).await?;
    active.login(&setup::user_name(0), setup::PASSWORD).await?;
    let before = process::rss_kib(pid)?;
    let started = Instant::now();
    let sessions = setup::open_sessions(server.addr, args.sessions, args.users, true, 200).await?;
    let after = process::rss_kib(pid)?;
    println!(
        "{} sessions logged in in {:.1} s; server VmRSS {} KiB -> {} KiB: {:.2} KiB per session",
        sessions.len(),
        started.elapsed().as_secs_f64(),
        before,
        after,
        (after as f64 - before as f64) / sessions.len() as f64
    );
    let workload = setup::prepare_boards(&mut active, 10, 10).await?;
    let window = Window::starting_now(secs(1.0), secs(args.duration));
    let cpu = CpuMeter::start(Some(pid));
    let stats = load::run_session(active, 1, args.mix.clone(), std::sync::Arc::new(workload), window, true).await;
    stats.print(&format!("one active client while {} sessions are held", sessions.len()), args.duration);
    cpu.print();
    println!("server VmRSS at the end: {} KiB", process::rss_kib(pid)?);
    drop(sessions);
    finish(&stats)
}

async fn logins(args: LoginArgs) -> anyhow::Result<()> {
    let server = args.target.start()?;
    if !args.seeded {
        setup::register_users(server.addr, args.logins).await?;
    }
    let waiting = setup::open_sessions(server.addr, args.logins, args.logins, false, 64).await?;
    let mut active = client::Session::connect(server.addr).await?;
    active.call("list-board").await?;
    let go = std::sync::Arc::new(tokio::sync::Notify::new());
    let mut tasks = tokio::task::JoinSet::new();
    for (i, mut session) in waiting.into_iter().enumerate() {
        let go = go.clone();
        let notified = go.notified_owned();
        tasks.spawn(async move {
            notified.await;
            let started = Instant::now();
            let reply = session.call(&format!("login {} {}", setup::user_name(i), setup::PASSWORD)).await;
            (started.elapsed(), reply.map(|r| r.text))
        });
    }
    // The active session runs on its own task for the whole test; each
    // `list-board` is filed under "before" or "during" by when it started.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let active_task = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let started = Instant::now();
                let reply = active.call("list-board").await?;
                samples.push((started, started.elapsed(), reply.text));
            }
            anyhow::Ok(samples)
        })
    };
    tokio::time::sleep(secs(1.0)).await; // a baseline second of list-board alone
    let burst = Instant::now();
    go.notify_waiters();
    let mut outcomes = std::collections::BTreeMap::<String, u64>::new();
    let mut login_latency = Stats::default();
    while let Some(done) = tasks.join_next().await {
        let (took, reply) = done?;
        let text = match reply {
            Ok(t) => t,
            Err(e) => format!("error: {e:#}"),
        };
        let key = if text.starts_with("Welcome, ") { "Welcome, <name>.".to_owned() } else { text };
        *outcomes.entry(key).or_default() += 1;
        login_latency.record("login", took);
    }
    let storm_end = Instant::now();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let samples = active_task.await??;
    let storm = (storm_end - burst).as_secs_f64();
    let (mut before, mut during) = (Stats::default(), Stats::default());
    for (started, took, text) in samples {
        let stats = if started < burst {
            &mut before
        } else if started < storm_end {
            &mut during
        } else {
            continue;
        };
        check_list_board(stats, &text, took);
    }
    before.print("list-board before the burst (1 s)", 1.0);
    during.print(&format!("list-board while {} logins are answered ({storm:.2} s)", args.logins), storm);
    login_latency.print("the logins", storm);
    for (text, n) in &outcomes {
        println!("  {n} x {text}");
    }
    finish(&during)
}

async fn search(args: SearchArgs) -> anyhow::Result<()> {
    let server = args.target.start()?;
    let mut session = client::Session::connect(server.addr).await?;
    let mut all = Stats::default();
    for query in &args.queries {
        let line = format!("search {query}");
        let mut stats = Stats::default();
        let mut rows = 0;
        let began = Instant::now();
        for _ in 0..args.iterations.max(1) {
            let started = Instant::now();
            let reply = session.call(&line).await?;
            let took = started.elapsed();
            if reply.text.starts_with("S/N") {
                rows = reply.text.lines().count() - 1;
                stats.record("search", took);
            } else {
                stats.error("search", || format!("{line:?} -> {:?}", reply.text));
            }
        }
        stats.print(&format!("{line} ({rows} rows answered)"), began.elapsed().as_secs_f64());
        all.merge(stats);
    }
    finish(&all)
}

fn check_list_board(stats: &mut Stats, text: &str, took: Duration) {
    if text.starts_with("Index") {
        stats.record("list-board", took);
    } else {
        stats.error("list-board", || text.to_owned());
    }
}
