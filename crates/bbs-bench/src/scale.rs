//! `scale`: what a server does with more data than it wants in memory, on a
//! seeded database: time to listen, resident memory after start and after
//! a spell of reads spread over every post, `read` latency for posts read
//! the first time (cold) and read again (hot), and a `list-post` of one big
//! board (time to the last byte, the server's peak memory meanwhile).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::client::Session;
use crate::process::{self, rss_kib};
use crate::stats::Stats;

pub struct ScalePlan {
    pub bbsd: PathBuf,
    pub db: PathBuf,
    pub server_args: Vec<String>,
    /// Posts are numbered 1..=posts.
    pub posts: u64,
    pub cold_reads: u64,
    pub hot_set: u64,
    pub hot_reads: u64,
    pub spread_connections: usize,
    pub spread_seconds: u64,
    pub list_board: Option<String>,
}

/// A small fast generator: the bench needs spread, not quality.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

pub async fn run(plan: ScalePlan) -> anyhow::Result<()> {
    let started = Instant::now();
    let server = process::spawn_bbsd(&plan.bbsd, &plan.db, &plan.server_args)?;
    let listening = started.elapsed();
    let pid = server.pid();
    println!("time to listen: {:.3} s", listening.as_secs_f64());
    println!("resident after start: {:.1} MiB", mib(rss_kib(pid)?));

    let mut session = Session::connect(server.addr).await?;
    let mut stats = Stats::default();
    // Cold: each post read for the first time (distinct, spread out).
    let stride = (plan.posts / plan.cold_reads.max(1)).max(1);
    let mut cold_ids = Vec::new();
    for k in 0..plan.cold_reads.min(plan.posts) {
        let id = 1 + (k * stride + k % stride.max(1)) % plan.posts;
        let began = Instant::now();
        let reply = session.call(&format!("read {id}")).await?;
        stats.record("read cold", began.elapsed());
        if !reply.text.starts_with("Author: ") {
            stats.error("read cold", || reply.text.clone());
        }
        cold_ids.push(id);
    }
    // Hot: a small set read over and over (after one pass to warm it).
    let hot: Vec<u64> = cold_ids.iter().copied().take(plan.hot_set as usize).collect();
    for id in &hot {
        session.call(&format!("read {id}")).await?;
    }
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for _ in 0..plan.hot_reads {
        let id = hot[rng.below(hot.len() as u64) as usize];
        let began = Instant::now();
        let reply = session.call(&format!("read {id}")).await?;
        stats.record("read hot", began.elapsed());
        if !reply.text.starts_with("Author: ") {
            stats.error("read hot", || reply.text.clone());
        }
    }
    stats.print("reads on one connection", 1.0);

    // Reads spread over every post, from several connections.
    let done = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..plan.spread_connections {
        let (done, count, addr, posts) = (Arc::clone(&done), Arc::clone(&count), server.addr, plan.posts);
        tasks.push(tokio::spawn(async move {
            let mut session = Session::connect(addr).await?;
            let mut rng = XorShift(0x2545_F491_4F6C_DD1D ^ (c as u64 + 1));
            while !done.load(Ordering::Relaxed) {
                session.call(&format!("read {}", 1 + rng.below(posts))).await?;
                count.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    tokio::time::sleep(Duration::from_secs(plan.spread_seconds)).await;
    done.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await??;
    }
    let reads = count.load(Ordering::Relaxed);
    println!(
        "spread reads: {reads} in {} s ({:.0}/s); resident after: {:.1} MiB",
        plan.spread_seconds,
        reads as f64 / plan.spread_seconds as f64,
        mib(rss_kib(pid)?)
    );

    if let Some(board) = &plan.list_board {
        let before = rss_kib(pid)?;
        let sampling = Arc::new(AtomicBool::new(true));
        let sampler = {
            let sampling = Arc::clone(&sampling);
            std::thread::spawn(move || {
                let mut peak = 0;
                while sampling.load(Ordering::Relaxed) {
                    peak = peak.max(rss_kib(pid).unwrap_or(0));
                    std::thread::sleep(Duration::from_millis(5));
                }
                peak
            })
        };
        let began = Instant::now();
        let reply = session.call(&format!("list-post {board}")).await?;
        let took = began.elapsed();
        sampling.store(false, Ordering::Relaxed);
        let peak = sampler.join().expect("sampler");
        println!(
            "list-post {board}: {} lines, {:.1} MiB, last byte after {:.3} s; server resident {:.1} MiB before, peak {:.1} MiB",
            reply.text.lines().count(),
            reply.text.len() as f64 / 1048576.0,
            took.as_secs_f64(),
            mib(before),
            mib(peak)
        );
    }
    Ok(())
}
