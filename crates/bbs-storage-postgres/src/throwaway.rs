//! A throwaway PostgreSQL server for tests (and for trying `bbsd` on
//! PostgreSQL without setting one up): `initdb` into a fresh temporary
//! directory, `postgres` on a free loopback port, trust authentication for
//! the user `bbs`, gone again when the process that started it ends.
//!
//! Ending: the server is started by a small `sh` watcher whose standard
//! input is a pipe from this process. Nothing of ours ever writes to it;
//! when this process ends, however it ends (normal exit with the server
//! still in a `static`, a panic, even `SIGKILL`), the kernel closes the
//! pipe, the watcher's `cat` returns, and the watcher stops the server
//! (`pg_ctl stop -m fast`) and deletes the directory. So a test binary can
//! keep one server in a `static` for all its tests, which never runs a
//! destructor, and still leaks no server process. Dropping a
//! [`ThrowawayServer`] does the same at once.
//!
//! Running as root (as CI does), `initdb` and `postgres` refuse to run:
//! then the directory is handed to the `postgres` user (created by
//! Debian's package) and both run through `runuser -u postgres`.
//!
//! The server runs with `fsync=off`: its data is thrown away anyway, and
//! every test database creation would otherwise wait for the disk.
//! `synchronous_commit` stays on, as in production. A benchmark that
//! compares with SQLite's durable writes starts one with
//! [`ThrowawayServer::start_durable`] instead (fsync on, as in production).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The role the tests connect as (a superuser of the throwaway server).
pub const USER: &str = "bbs";

/// How long the server may take to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum ThrowawayError {
    #[error("PostgreSQL's programs (initdb, postgres, pg_ctl) not found; run scripts/ensure-postgres.sh")]
    NotInstalled,
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Failed(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ThrowawayError {
    let what = what.into();
    move |source| ThrowawayError::Io { what, source }
}

/// A running throwaway server.
#[derive(Debug)]
pub struct ThrowawayServer {
    port: u16,
    dir: PathBuf,
    /// Our end of the watcher's standard input: closing it stops the server.
    stop: Mutex<Option<ChildStdin>>,
    watcher: Mutex<Child>,
}

/// The script that runs the server and stops it when its stdin closes.
const WATCHER: &str = r#"
set -u
bin=$1 dir=$2 port=$3 sync=$4
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
as_pg "$bin/postgres" -D "$dir/data" -p "$port" -k "$dir" -c listen_addresses=127.0.0.1 \
    -c fsync=$sync -c full_page_writes=$sync -c max_connections=200 </dev/null >"$dir/log" 2>&1 &
cat >/dev/null
as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1
wait
rm -rf "$dir"
"#;

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The directory of `initdb`, `postgres` and `pg_ctl`: `BBS_PG_BIN`, else
/// the newest of Debian's `/usr/lib/postgresql/<version>/bin`.
fn find_bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("BBS_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// Installs PostgreSQL with the repository's script if it is missing.
fn ensure_installed() -> Result<PathBuf, ThrowawayError> {
    if let Some(bin) = find_bin_dir() {
        return Ok(bin);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/ensure-postgres.sh");
    let status = Command::new("sh").arg(&script).status().map_err(io(format!("running {}", script.display())))?;
    if !status.success() {
        return Err(ThrowawayError::NotInstalled);
    }
    find_bin_dir().ok_or(ThrowawayError::NotInstalled)
}

fn free_port() -> Result<u16, ThrowawayError> {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").map_err(io("finding a free port"))?;
    Ok(socket.local_addr().map_err(io("finding a free port"))?.port())
}

fn run(command: &mut Command, what: &str) -> Result<(), ThrowawayError> {
    let output = command.output().map_err(io(what))?;
    if output.status.success() {
        return Ok(());
    }
    Err(ThrowawayError::Failed(format!("{what} failed: {}", String::from_utf8_lossy(&output.stderr).trim())))
}

/// `program` run as the `postgres` user when we are root.
fn as_postgres(program: PathBuf, root: bool) -> Command {
    if root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

impl ThrowawayServer {
    /// Starts a server (fsync off) and waits until it accepts connections.
    pub fn start() -> Result<ThrowawayServer, ThrowawayError> {
        ThrowawayServer::start_with_fsync(false)
    }

    /// Starts a server whose commits reach the disk (fsync on), for
    /// benchmarks.
    pub fn start_durable() -> Result<ThrowawayServer, ThrowawayError> {
        ThrowawayServer::start_with_fsync(true)
    }

    fn start_with_fsync(fsync: bool) -> Result<ThrowawayServer, ThrowawayError> {
        let bin = ensure_installed()?;
        let root = running_as_root();
        static STARTED: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "bbs-pg-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
        if root {
            run(Command::new("chown").arg("postgres:").arg(&dir), "handing the directory to postgres")?;
        }
        let initdb = as_postgres(bin.join("initdb"), root)
            .arg("-D")
            .arg(dir.join("data"))
            .args(["-U", USER, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"])
            .output()
            .map_err(io("running initdb"));
        let initdb = match initdb {
            Ok(output) if output.status.success() => Ok(()),
            Ok(output) => Err(ThrowawayError::Failed(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ))),
            Err(e) => Err(e),
        };
        if let Err(e) = initdb {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        let port = free_port()?;
        let mut watcher = Command::new("sh")
            .args(["-c", WATCHER, "watcher"])
            .arg(&bin)
            .arg(&dir)
            .arg(port.to_string())
            .arg(if fsync { "on" } else { "off" })
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(io("starting postgres"))?;
        let stop = watcher.stdin.take();
        let server = ThrowawayServer { port, dir, stop: Mutex::new(stop), watcher: Mutex::new(watcher) };
        server.wait_until_ready(&bin)?;
        Ok(server)
    }

    /// One server for the whole process, started on first use.
    ///
    /// # Panics
    /// If the server cannot be started: this is for tests.
    pub fn shared() -> &'static ThrowawayServer {
        static SHARED: OnceLock<ThrowawayServer> = OnceLock::new();
        SHARED.get_or_init(|| ThrowawayServer::start().unwrap_or_else(|e| panic!("throwaway PostgreSQL: {e}")))
    }

    fn wait_until_ready(&self, bin: &Path) -> Result<(), ThrowawayError> {
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            let ready = Command::new(bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-U", USER, "-d", "postgres", "-p"])
                .arg(self.port.to_string())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return Ok(());
            }
            let exited = self.watcher.lock().expect("watcher lock").try_wait().ok().flatten().is_some();
            if exited || Instant::now() > deadline {
                let mut log = String::new();
                if let Ok(mut file) = std::fs::File::open(self.dir.join("log")) {
                    let _ = file.read_to_string(&mut log);
                }
                return Err(ThrowawayError::Failed(format!("postgres did not start: {}", log.trim())));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://bbs@127.0.0.1:<port>/<database>`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{database}", self.port)
    }

    /// The connection settings for `database`.
    pub fn config(&self, database: &str) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config.host("127.0.0.1").port(self.port).user(USER).dbname(database);
        config
    }

    /// Creates a database of its own (for a `bbsd` of a test) and returns
    /// its URL.
    pub async fn fresh_database(&self) -> Result<String, tokio_postgres::Error> {
        let name = fresh_name("db");
        self.admin(&format!("CREATE DATABASE {name}")).await?;
        Ok(self.url(&name))
    }

    /// Creates a schema of its own in the database `postgres` and returns
    /// settings whose connections use it: cheaper than a database per test
    /// (no copy of the template), and just as apart for the BBS's tables.
    pub async fn fresh_schema(&self) -> Result<tokio_postgres::Config, tokio_postgres::Error> {
        let name = fresh_name("case");
        self.admin(&format!("CREATE SCHEMA {name}")).await?;
        let mut config = self.config("postgres");
        config.options(format!("-c search_path={name}"));
        Ok(config)
    }

    async fn admin(&self, sql: &str) -> Result<(), tokio_postgres::Error> {
        let (client, connection) = self.config("postgres").connect(tokio_postgres::NoTls).await?;
        let connection = tokio::spawn(connection);
        client.batch_execute(sql).await?;
        drop(client);
        let _ = connection.await;
        Ok(())
    }
}

/// A name no other test of this server has used.
fn fresh_name(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{prefix}_{}", NEXT.fetch_add(1, Ordering::SeqCst))
}

impl Drop for ThrowawayServer {
    fn drop(&mut self) {
        self.stop.lock().expect("stop lock").take();
        let _ = self.watcher.lock().expect("watcher lock").wait();
    }
}
