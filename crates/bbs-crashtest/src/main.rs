//! `bbs-crashtest --bbsd PATH`: starts the real `bbsd` on a database,
//! puts it under concurrent write load (several logged-in connections
//! creating posts as fast as they are answered), kills it with SIGKILL at a
//! random moment, and checks the database directly with SQLite:
//! `PRAGMA integrity_check` must say `ok`, and every post whose
//! `Create post successfully.` reached a writer must be there. Then it
//! restarts the server on the same database and does it again.
//!
//! SIGKILL loses the process, not the machine: it shows that the server
//! acknowledges a write only after SQLite has committed it, and that the
//! database recovers from any moment of interruption. (Surviving power loss
//! also rests on `synchronous = FULL`, which this cannot test.)

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use clap::Parser;
use rand::{Rng, SeedableRng};

/// Crash-tests bbsd: SIGKILL under write load, then check every acknowledged write.
#[derive(Debug, Parser)]
struct Args {
    /// The bbsd binary to test (a release build).
    #[arg(long)]
    bbsd: PathBuf,
    /// How many times to kill the server.
    #[arg(long, default_value_t = 20)]
    rounds: u32,
    /// Concurrent writing connections.
    #[arg(long, default_value_t = 8)]
    writers: usize,
    /// Longest time under load before the kill, in milliseconds (each kill
    /// comes at a random moment up to this).
    #[arg(long, default_value_t = 1500)]
    max_run_ms: u64,
    /// Seed for the kill moments (random if not given).
    #[arg(long)]
    seed: Option<u64>,
    /// Keep the database in this directory instead of a temporary one.
    #[arg(long)]
    dir: Option<PathBuf>,
}

const PASSWORD: &str = "crash-test-pw";
const BOARD: &str = "crash";

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let seed = args.seed.unwrap_or_else(rand::random);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let temp = tempfile::tempdir()?;
    let dir = args.dir.clone().unwrap_or_else(|| temp.path().to_owned());
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("crash.db");
    println!(
        "crash test: {} rounds, {} writers, kill within {} ms, seed {seed}, database {}",
        args.rounds,
        args.writers,
        args.max_run_ms,
        db.display()
    );

    // Accounts and the board, before the first crash.
    let mut server = Server::start(&args.bbsd, &db)?;
    let mut setup = Session::connect(server.addr)?;
    for w in 0..args.writers {
        let answer = setup.call(&format!("register w{w} w{w}@crash {PASSWORD}"))?;
        ensure!(answer == "Register successfully.", "register w{w}: {answer}");
    }
    ensure!(setup.call(&format!("login w0 {PASSWORD}"))? == "Welcome, w0.", "setup login");
    ensure!(setup.call(&format!("create-board {BOARD}"))? == "Create board successfully.", "create board");
    drop(setup);

    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut kills = 0;
    for round in 1..=args.rounds {
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..args.writers)
            .map(|w| {
                let (addr, acked, stop) = (server.addr, Arc::clone(&acked), Arc::clone(&stop));
                std::thread::spawn(move || write_posts(addr, w, round, &acked, &stop))
            })
            .collect();
        let run = Duration::from_millis(rng.gen_range(50..=args.max_run_ms.max(51)));
        std::thread::sleep(run);
        server.kill()?;
        kills += 1;
        stop.store(true, Ordering::SeqCst);
        let mut attempted = 0;
        for writer in writers {
            attempted += writer.join().expect("writer thread");
        }
        let acked_now = acked.lock().expect("acked lock").clone();
        let stored = check_database(&db)?;
        let missing: Vec<&String> = acked_now.iter().filter(|t| !stored.contains(*t)).collect();
        println!(
            "round {round:2}: SIGKILL after {:4} ms; {attempted:5} posts sent this round; \
             {:6} acknowledged in all, {:6} stored; integrity ok; missing {}",
            run.as_millis(),
            acked_now.len(),
            stored.len(),
            missing.len()
        );
        if !missing.is_empty() {
            bail!("{} acknowledged posts were lost, e.g. {:?}", missing.len(), &missing[..missing.len().min(5)]);
        }
        server = Server::start(&args.bbsd, &db)?;
    }

    // The restarted server itself sees everything.
    let mut check = Session::connect(server.addr)?;
    let list = check.call(&format!("list-post {BOARD}"))?;
    let stored = check_database(&db)?;
    let listed = list.lines().count().saturating_sub(1);
    ensure!(listed == stored.len(), "the server lists {listed} posts, the database holds {}", stored.len());
    server.kill()?;
    let acked_total = acked.lock().expect("acked lock").len();
    ensure!(acked_total > 0, "no post was ever acknowledged: the load did not run");
    println!(
        "PASS: {kills} kills with SIGKILL under load; {acked_total} acknowledged posts, all present \
         ({} stored, the rest were in flight at a kill); PRAGMA integrity_check ok after every kill; \
         the restarted server lists all {listed}",
        stored.len()
    );
    Ok(())
}

/// One writer: logs in and creates posts until its connection dies (the
/// kill) or it is told to stop; records every acknowledged title. Returns
/// how many posts it sent.
fn write_posts(addr: SocketAddr, w: usize, round: u32, acked: &Mutex<Vec<String>>, stop: &AtomicBool) -> usize {
    let mut sent = 0;
    let Ok(mut session) = Session::connect(addr) else { return 0 };
    match session.call(&format!("login w{w} {PASSWORD}")) {
        Ok(answer) if answer == format!("Welcome, w{w}.") => {}
        _ => return 0,
    }
    for seq in 0.. {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let title = format!("r{round}-w{w}-{seq}");
        let line = format!("create-post {BOARD} --title {title} --content post {seq} of writer {w}<br>round {round}");
        sent += 1;
        match session.call(&line) {
            Ok(answer) if answer == "Create post successfully." => acked.lock().expect("acked lock").push(title),
            Ok(answer) => {
                eprintln!("writer {w}: unexpected answer {answer:?}");
                break;
            }
            Err(_) => break,
        }
    }
    sent
}

/// Opens the database as SQLite would after a crash (recovering the WAL),
/// checks its integrity and returns every post title.
fn check_database(db: &Path) -> anyhow::Result<HashSet<String>> {
    let conn = rusqlite::Connection::open(db)?;
    let integrity: Vec<String> =
        conn.prepare("PRAGMA integrity_check")?.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    ensure!(integrity == ["ok"], "integrity_check: {integrity:?}");
    let titles = conn.prepare("SELECT title FROM posts")?.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    Ok(titles)
}

/// A running bbsd.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// Starts bbsd on a free port and waits for its "Listening on" line.
    /// Login limits are raised (every round logs all writers in again), and
    /// so are the write limits (the load is many posts a second from one
    /// address by design).
    fn start(bbsd: &Path, db: &Path) -> anyhow::Result<Server> {
        let mut child = Command::new(bbsd)
            .args(["0", "--bind", "127.0.0.1", "--db"])
            .arg(db)
            .args(["--login-rate-ip", "100000/1", "--login-rate-account", "100000/1"])
            .args(["--write-rate-ip", "100000000/1", "--write-rate-account", "100000000/1"])
            .env("RUST_LOG", "warn,bbsd=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", bbsd.display()))?;
        let stderr = child.stderr.take().context("bbsd stderr")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("Listening on ").nth(1) {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(rest.split_whitespace().next().unwrap_or_default().to_owned());
                    }
                } else if line.contains("ERROR") {
                    eprintln!("bbsd: {line}");
                }
            }
        });
        let addr = rx.recv_timeout(Duration::from_secs(30)).context("bbsd did not report listening")?;
        Ok(Server { child, addr: addr.parse().with_context(|| format!("bbsd address {addr:?}"))? })
    }

    /// SIGKILL: no shutdown code runs.
    fn kill(&mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain (telnet-style) session: one line out, the answer up to the
/// next prompt back.
struct Session {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Session {
    fn connect(addr: SocketAddr) -> anyhow::Result<Session> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut session = Session { stream, buf: Vec::new() };
        session.answer()?;
        Ok(session)
    }

    fn call(&mut self, line: &str) -> anyhow::Result<String> {
        self.stream.write_all(format!("{line}\r\n").as_bytes())?;
        self.answer()
    }

    fn answer(&mut self) -> anyhow::Result<String> {
        let started = Instant::now();
        let mut chunk = [0u8; 64 * 1024];
        loop {
            if let Some(end) = find_prompt(&self.buf) {
                let answer = String::from_utf8_lossy(&self.buf[..end]).replace("\r\n", "\n");
                self.buf.drain(..end + 2);
                return Ok(answer.trim_end_matches('\n').to_owned());
            }
            let n = self.stream.read(&mut chunk)?;
            ensure!(n > 0, "connection closed");
            ensure!(started.elapsed() < Duration::from_secs(60), "no answer");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Where the prompt `% ` that ends an answer starts: at the very beginning
/// or right after a line break.
fn find_prompt(buf: &[u8]) -> Option<usize> {
    if buf.starts_with(b"% ") {
        return Some(0);
    }
    buf.windows(4).position(|w| w == b"\r\n% ").map(|i| i + 2)
}
