//! The server process under test: spawning `bbsd` (or the canned server),
//! and reading its CPU time and resident memory from /proc.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};

/// A child server process; killed when dropped.
pub struct Spawned {
    child: Child,
    pub addr: SocketAddr,
}

impl Spawned {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `bbsd` next to this executable (same cargo profile), unless given.
pub fn default_bbsd() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.with_file_name("bbsd")
}

/// The server's abuse limits raised for a benchmark: every simulated user
/// comes from 127.0.0.1, so the per-address defaults (64 connections, 60
/// logins a minute, 100 datagrams a second, writes and registrations)
/// would refuse the load itself.
/// `--server-arg` flags come after these and win.
pub const LOOPBACK_LOAD_LIMITS: &[&str] = &[
    "--max-connections",
    "25000",
    "--max-connections-per-ip",
    "25000",
    "--login-rate-ip",
    "1000000/1",
    "--login-rate-account",
    "1000000/1",
    "--udp-rate-ip",
    "100000000/1",
    "--write-rate-account",
    "1000000/1",
    "--write-rate-ip",
    "1000000/1",
    "--register-rate-ip",
    "1000000/1",
    "--comment-rate",
    "1000000/1",
];

/// Starts `bbsd` on 127.0.0.1 with a free port, with
/// [`LOOPBACK_LOAD_LIMITS`], and waits for its "Listening on ADDR" line.
pub fn spawn_bbsd(bbsd: &Path, db: &Path, extra: &[String]) -> anyhow::Result<Spawned> {
    let mut command = Command::new(bbsd);
    command.args(["--bind", "127.0.0.1", "--db"]).arg(db).args(LOOPBACK_LOAD_LIMITS).args(extra).arg("0");
    spawn_and_wait(command, "Listening on ")
}

/// Starts this program's canned server on a free port; with `durable`, the
/// durable canned server on that database file.
pub fn spawn_canned(durable: Option<&Path>) -> anyhow::Result<Spawned> {
    let mut command = Command::new(std::env::current_exe()?);
    command.args(["canned", "--port", "0"]);
    if let Some(db) = durable {
        command.arg("--durable").arg(db);
    }
    spawn_and_wait(command, "Listening on ")
}

fn spawn_and_wait(mut command: Command, marker: &str) -> anyhow::Result<Spawned> {
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = command.spawn().with_context(|| format!("cannot start {command:?}"))?;
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    let marker = marker.to_owned();
    // Keep draining the server's log so it never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(pos) = line.find(&marker) {
                let rest = &line[pos + marker.len()..];
                let addr = rest.split_whitespace().next().unwrap_or("").to_owned();
                if let Some(tx) = tx.take() {
                    let _ = tx.send(addr);
                }
            } else if line.contains("ERROR") || line.contains("WARN") || line.contains("download done") {
                eprintln!("server: {line}");
            }
        }
    });
    let Ok(addr) = rx.recv_timeout(Duration::from_secs(120)) else {
        let _ = child.kill();
        bail!("the server did not report its address");
    };
    let addr = addr.parse().with_context(|| format!("bad address {addr:?}"))?;
    Ok(Spawned { child, addr })
}

/// CPU seconds (user + system) used so far by process `pid`.
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    Ok(stat_cpu(&format!("/proc/{pid}/stat"))?.1)
}

/// The name and CPU seconds (user + system) in a `/proc/…/stat` file.
fn stat_cpu(path: &str) -> anyhow::Result<(String, f64)> {
    let stat = std::fs::read_to_string(path)?;
    // The name is in parentheses and may contain spaces; the fields after
    // it start at the last ')'.
    let close = stat.rfind(')').context("bad stat")?;
    let name = stat[stat.find('(').context("bad stat")? + 1..close].to_owned();
    let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 here.
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    Ok((name, ticks as f64 / clock_ticks()))
}

/// CPU seconds of each thread of `pid` now, by thread id, with its name.
fn thread_cpu(pid: u32) -> HashMap<u64, (String, f64)> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return HashMap::new() };
    tasks
        .filter_map(|task| {
            let task = task.ok()?;
            let tid = task.file_name().to_str()?.parse().ok()?;
            Some((tid, stat_cpu(&format!("/proc/{pid}/task/{tid}/stat")).ok()?))
        })
        .collect()
}

/// CPU seconds spent between two [`thread_cpu`] samples, by thread name
/// (numbered threads such as `sqlite-reader-3` counted as one), most first.
/// Threads that ended in between are missing: their time is only in the
/// process's total.
fn cpu_by_thread_name(before: &HashMap<u64, (String, f64)>, after: &HashMap<u64, (String, f64)>) -> Vec<(String, f64)> {
    let mut by_name: HashMap<String, f64> = HashMap::new();
    for (tid, (name, now)) in after {
        let then = before.get(tid).map_or(0.0, |(_, then)| *then);
        let group = name.trim_end_matches(|c: char| c.is_ascii_digit()).trim_end_matches('-');
        *by_name.entry(group.to_owned()).or_default() += now - then;
    }
    let mut by_name: Vec<(String, f64)> = by_name.into_iter().filter(|(_, s)| *s > 0.0).collect();
    by_name.sort_by(|a, b| b.1.total_cmp(&a.1));
    by_name
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// Resident memory of process `pid`, in KiB (VmRSS).
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).context("bad VmRSS")?.parse()?)
}

/// Measures a process's CPU use over a window.
pub struct CpuMeter {
    pid: Option<u32>,
    start: f64,
    own_start: f64,
    at: std::time::Instant,
}

impl CpuMeter {
    pub fn start(pid: Option<u32>) -> CpuMeter {
        CpuMeter {
            pid,
            start: pid.and_then(|p| cpu_seconds(p).ok()).unwrap_or(0.0),
            own_start: cpu_seconds(std::process::id()).unwrap_or(0.0),
            at: std::time::Instant::now(),
        }
    }

    /// Prints server and generator CPU use as a share of one core.
    pub fn print(&self) {
        let wall = self.at.elapsed().as_secs_f64();
        let own = cpu_seconds(std::process::id()).unwrap_or(0.0) - self.own_start;
        match self.pid.and_then(|p| cpu_seconds(p).ok()) {
            Some(now) => println!(
                "server CPU: {:.0} % of one core; generator CPU: {:.0} % (over {wall:.1} s)",
                (now - self.start) / wall * 100.0,
                own / wall * 100.0
            ),
            None => println!("server CPU: unknown (no --server-pid); generator CPU: {:.0} %", own / wall * 100.0),
        }
    }
}

/// CPU time of the server and of this generator over exactly a measured
/// window (the warm-up excluded), so that it can be divided by the commands
/// answered in that window.
pub struct CpuUse {
    /// Server seconds (user + system), if its pid is known.
    pub server: Option<f64>,
    /// The same by thread name (see [`cpu_by_thread_name`]).
    pub server_threads: Vec<(String, f64)>,
    pub generator: f64,
    pub wall: f64,
}

impl CpuUse {
    /// Samples both processes at the window's start and end.
    pub fn during(pid: Option<u32>, window: crate::load::Window) -> tokio::task::JoinHandle<CpuUse> {
        tokio::spawn(async move {
            tokio::time::sleep_until(window.measure_from.into()).await;
            let threads_before = pid.map(thread_cpu).unwrap_or_default();
            let meter = CpuMeter::start(pid);
            tokio::time::sleep_until(window.until.into()).await;
            let wall = meter.at.elapsed().as_secs_f64();
            let server = pid.and_then(|p| cpu_seconds(p).ok()).map(|now| now - meter.start);
            let threads_after = pid.map(thread_cpu).unwrap_or_default();
            CpuUse {
                server,
                server_threads: cpu_by_thread_name(&threads_before, &threads_after),
                generator: cpu_seconds(std::process::id()).unwrap_or(0.0) - meter.own_start,
                wall,
            }
        })
    }

    /// Server CPU in microseconds per command answered in the window.
    pub fn server_micros_per_command(&self, commands: u64) -> Option<f64> {
        self.server.filter(|_| commands > 0).map(|s| s * 1e6 / commands as f64)
    }

    /// Prints the shares of one core and the server's cost per command.
    pub fn print(&self, commands: u64) {
        let generator = self.generator / self.wall * 100.0;
        match (self.server, self.server_micros_per_command(commands)) {
            (Some(server), Some(per)) => println!(
                "server CPU: {:.0} % of one core, {per:.2} µs per command; generator CPU: {generator:.0} % (over {:.1} s)",
                server / self.wall * 100.0,
                self.wall
            ),
            _ => println!("server CPU: unknown (no --server-pid); generator CPU: {generator:.0} %"),
        }
        if self.server_threads.len() > 1 && commands > 0 {
            let per_command = |seconds: f64| seconds * 1e6 / commands as f64;
            let threads: Vec<String> =
                self.server_threads.iter().map(|(name, s)| format!("{name} {:.2}", per_command(*s))).collect();
            println!("  by server thread, µs per command: {}", threads.join(", "));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_time_is_grouped_by_name_without_its_number() {
        let sample = |threads: &[(u64, &str, f64)]| -> HashMap<u64, (String, f64)> {
            threads.iter().map(|(tid, name, s)| (*tid, (name.to_string(), *s))).collect()
        };
        let before = sample(&[(1, "tokio-rt-worker", 1.0), (2, "tokio-rt-worker", 2.0), (3, "sqlite-reader-0", 0.5)]);
        // Thread 4 started in the window; thread 5 did no work in it.
        let after = sample(&[
            (1, "tokio-rt-worker", 3.0),
            (2, "tokio-rt-worker", 3.5),
            (3, "sqlite-reader-0", 0.75),
            (4, "sqlite-reader-12", 0.25),
            (5, "sqlite-writer", 0.0),
        ]);
        assert_eq!(
            cpu_by_thread_name(&before, &after),
            vec![("tokio-rt-worker".to_owned(), 3.5), ("sqlite-reader".to_owned(), 0.5)]
        );
    }
}
