//! `bbs-bench files`: throughput of `send-file` and `get-file` with the
//! real `bbs` client and `bbsd` on loopback, beside a plain TCP copy of the
//! same file and a copy with `nc` measured in the same run, and through the
//! lossy relay.
//!
//! Each figure is the wall time of the whole command as the user waits for
//! it (the client starting, logging in, the transfer, the final check): for
//! `send-file` the client hashes the file while sending it and the server
//! hashes the bytes as they arrive; for `get-file` the client hashes them.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bbs_protocol::answer;
use bbs_testkit::relay::{Impairment, LossyRelay};

use crate::plot::{Sampler, Series};

/// A plain TCP copy: file → socket → file, on loopback.
pub fn tcp_copy(from: &Path, to: &Path) -> anyhow::Result<Duration> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let to = to.to_owned();
    let started = Instant::now();
    let receiver = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut stream, _) = listener.accept()?;
        let mut out = std::fs::File::create(&to)?;
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            let n = stream.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            out.write_all(&buffer[..n])?;
        }
        out.sync_all()
    });
    let mut stream = TcpStream::connect(addr)?;
    let mut file = std::fs::File::open(from)?;
    std::io::copy(&mut file, &mut stream)?;
    drop(stream);
    receiver.join().expect("the receiving thread")?;
    Ok(started.elapsed())
}

/// The same copy with OpenBSD netcat (`nc -l > to`, `nc -N < from`), the
/// baseline a reader can repeat by hand: both ends copy through user space.
/// `None` when no `nc` can be had (`scripts/ensure-netcat.sh` installs it).
pub fn nc_copy(from: &Path, to: &Path) -> anyhow::Result<Option<Duration>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/ensure-netcat.sh");
    if !Command::new("sh").arg(&script).status().is_ok_and(|status| status.success()) {
        eprintln!("no nc (netcat-openbsd): the nc copy is left out");
        return Ok(None);
    }
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut receiver = Command::new("nc")
        .args(["-l", "127.0.0.1", &port.to_string()])
        .stdout(std::fs::File::create(to)?)
        .spawn()
        .context("cannot start nc -l")?;
    // Ready when the kernel lists the port as listening (state 0A).
    let listening = format!(":{port:04X} 00000000:0000 0A");
    let waited = Instant::now();
    while !std::fs::read_to_string("/proc/net/tcp")?.contains(&listening) {
        if waited.elapsed() > Duration::from_secs(5) || receiver.try_wait()?.is_some() {
            let _ = receiver.kill();
            bail!("nc -l did not listen on port {port}");
        }
        std::thread::yield_now();
    }
    let started = Instant::now();
    let sent = Command::new("nc")
        .args(["-N", "127.0.0.1", &port.to_string()])
        .stdin(std::fs::File::open(from)?)
        .status()
        .context("cannot start nc")?;
    let received = receiver.wait()?;
    let took = started.elapsed();
    if !sent.success() || !received.success() || std::fs::metadata(to)?.len() != std::fs::metadata(from)?.len() {
        bail!("the nc copy failed (sender {sent}, receiver {received})");
    }
    Ok(Some(took))
}

/// Runs the `bbs` client with `input` piped in from `dir`; returns its
/// screen and how long it ran.
fn run_bbs(
    bbs: &Path,
    server: SocketAddr,
    relay: Option<SocketAddr>,
    dir: &Path,
    input: &str,
) -> anyhow::Result<(String, Duration)> {
    let mut command = Command::new(bbs);
    command
        .arg(server.ip().to_string())
        .arg(server.port().to_string())
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        // The client's figures of each upload (window, retransmissions).
        .env("BBS_LOG", "bbs_client=info");
    if let Some(relay) = relay {
        command.env("BBS_UDP_RELAY", relay.to_string());
    }
    let started = Instant::now();
    let mut child = command.spawn().with_context(|| format!("cannot start {}", bbs.display()))?;
    child.stdin.take().expect("piped").write_all(input.as_bytes())?;
    let output = child.wait_with_output()?;
    Ok((String::from_utf8_lossy(&output.stdout).into_owned(), started.elapsed()))
}

fn rate(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / took.as_secs_f64() / (1 << 20) as f64
}

/// Writes `size` bytes that differ everywhere.
fn write_test_file(path: &Path, size: u64) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut written = 0;
    while written < size {
        let mut block = [0u8; 8192];
        for word in block.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        let n = (size - written).min(block.len() as u64) as usize;
        out.write_all(&block[..n])?;
        written += n as u64;
    }
    out.flush()?;
    Ok(())
}

pub struct FilesPlan {
    pub bbs: PathBuf,
    pub size: u64,
    pub losses: Vec<f64>,
    pub work_dir: PathBuf,
    /// The server's file area (its partial files show an upload's progress).
    pub files_dir: PathBuf,
    /// Where to draw throughput over time, if anywhere.
    pub plot: Option<PathBuf>,
    /// A 0 after the first entry of `losses` goes through the relay.
    pub relay_lossless: bool,
}

/// The machine's load averages (1, 5, 15 minutes), as the kernel says.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Measures every case against the server at `server` (whose file area
/// accepts `size` bytes).
pub fn measure(server: SocketAddr, plan: &FilesPlan) -> anyhow::Result<()> {
    let up = tempfile::Builder::new().prefix("bbs-bench-up").tempdir_in(&plan.work_dir)?;
    let down = tempfile::Builder::new().prefix("bbs-bench-down").tempdir_in(&plan.work_dir)?;
    let source = up.path().join("source.bin");
    write_test_file(&source, plan.size)?;
    let mib = plan.size as f64 / (1 << 20) as f64;
    println!("file: {mib:.0} MiB; load average {}", load_average());
    let mut series = Vec::new();
    let sampler = |dir: PathBuf, wanted: fn(&str) -> bool| plan.plot.is_some().then(|| Sampler::start(dir, wanted));

    let copy = down.path().join("tcp-copy.bin");
    let took = tcp_copy(&source, &copy)?;
    std::fs::remove_file(&copy)?;
    let tcp = rate(plan.size, took);
    println!("TCP copy (file → loopback socket → file): {:.2} s, {tcp:.0} MiB/s", took.as_secs_f64());
    let nc = nc_copy(&source, &copy)?.map(|took| {
        let nc = rate(plan.size, took);
        println!("nc copy (nc -N < file, nc -l > file): {:.2} s, {nc:.0} MiB/s", took.as_secs_f64());
        nc
    });
    let _ = std::fs::remove_file(&copy);
    let against = |rate: f64| match nc {
        Some(nc) => format!("{:.2}x TCP, {:.2}x nc", rate / tcp, rate / nc),
        None => format!("{:.2}x TCP", rate / tcp),
    };

    let (screen, _) = run_bbs(&plan.bbs, server, None, up.path(), "register bench bench@example.org pw\n")?;
    // A database kept from an earlier run (`--db`) has the user already.
    if ![answer::REGISTERED, answer::NAME_TAKEN].iter().any(|answer| screen.contains(answer)) {
        bail!("registering failed: {screen}");
    }
    let mut lossless = None;
    // The same through the relay without loss, if measured: what the
    // relay's own cost leaves, to tell it from what loss costs.
    let mut relayed = None;
    for (i, &loss) in plan.losses.iter().enumerate() {
        let relay = if loss > 0.0 || (plan.relay_lossless && i > 0) {
            Some(LossyRelay::start(server, Impairment { loss, duplicate: 0.0, reorder: 0.0, seed: i as u64 })?)
        } else {
            None
        };
        let via = relay.as_ref().map(|r| r.addr);
        // Named for this run: the file area may hold an earlier run's.
        let name = format!("file-{}-{i}.bin", std::process::id());
        std::fs::rename(&source, up.path().join(&name))?;
        let label = match (loss, &relay) {
            (_, Some(_)) => format!("{:.0}% loss (relay)", loss * 100.0),
            (_, None) => "no loss (direct)".to_owned(),
        };
        let sampling = sampler(plan.files_dir.join("partial"), |_| true);
        let (screen, took_up) =
            run_bbs(&plan.bbs, server, via, up.path(), &format!("login bench pw\nsend-file {name}\n"))?;
        if let Some(sampling) = sampling {
            series.push(Series { label: format!("send-file, {label}"), points: sampling.finish(plan.size) });
        }
        if !screen.contains(&format!("Sent {name} ({} bytes).", plan.size)) {
            bail!("send-file failed: {screen}");
        }
        let sampling = sampler(down.path().to_owned(), |name| name.ends_with(".bbs-download"));
        let (screen, took_down) =
            run_bbs(&plan.bbs, server, via, down.path(), &format!("login bench pw\nget-file {name}\n"))?;
        if let Some(sampling) = sampling {
            series.push(Series { label: format!("get-file, {label}"), points: sampling.finish(plan.size) });
        }
        if !screen.contains(&format!("Received {name} ({} bytes).", plan.size)) {
            bail!("get-file failed: {screen}");
        }
        std::fs::remove_file(down.path().join(&name))?;
        std::fs::rename(up.path().join(&name), &source)?;
        let (up_rate, down_rate) = (rate(plan.size, took_up), rate(plan.size, took_down));
        print!(
            "{label}: send-file {:.2} s, {up_rate:.0} MiB/s ({}); get-file {:.2} s, {down_rate:.0} MiB/s ({})",
            took_up.as_secs_f64(),
            against(up_rate),
            took_down.as_secs_f64(),
            against(down_rate)
        );
        match (lossless, relayed) {
            (None, _) if loss == 0.0 => {
                lossless = Some((up_rate, down_rate));
                println!();
            }
            (Some((u, d)), None) if loss == 0.0 => {
                relayed = Some((up_rate, down_rate));
                println!("; of the direct rate: up {:.2}, down {:.2}", up_rate / u, down_rate / d);
            }
            (Some((u, d)), relayed) => {
                print!("; of the lossless rate: up {:.2}, down {:.2}", up_rate / u, down_rate / d);
                match relayed {
                    Some((ru, rd)) => {
                        println!(" (of the lossless relay: up {:.2}, down {:.2})", up_rate / ru, down_rate / rd)
                    }
                    None => println!(),
                }
            }
            (None, _) => println!(),
        }
        if let Some(relay) = relay {
            let c = &relay.counts;
            let get = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
            println!("  relay: {} forwarded, {} dropped", get(&c.forwarded), get(&c.dropped));
        }
    }
    println!("load average after: {}", load_average());
    if let Some(path) = &plan.plot {
        let nc = nc.map(|nc| format!(", nc {nc:.0} MiB/s")).unwrap_or_default();
        let title = format!("bbs-bench files: {mib:.0} MiB on loopback (TCP copy {tcp:.0} MiB/s{nc})");
        crate::plot::write_svg(path, &title, &series)?;
        println!("plot: {}", path.display());
    }
    Ok(())
}
