//! The closed-loop command mix: every session sends its next command only
//! after the answer to the previous one.

use std::time::{Duration, Instant};

use anyhow::bail;

use crate::client::Session;
use crate::setup::{Workload, WRITE_BOARD};
use crate::stats::Stats;

/// The commands the mix knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Read,
    ListPost,
    ListBoard,
    CreatePost,
    Comment,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Read => "read",
            Kind::ListPost => "list-post",
            Kind::ListBoard => "list-board",
            Kind::CreatePost => "create-post",
            Kind::Comment => "comment",
        }
    }

    fn parse(name: &str) -> Option<Kind> {
        [Kind::Read, Kind::ListPost, Kind::ListBoard, Kind::CreatePost, Kind::Comment]
            .into_iter()
            .find(|k| k.name() == name)
    }

    /// The kind of a command line the mix sent (its first word).
    pub fn of_line(line: &[u8]) -> Option<Kind> {
        let name = line.split(|b| *b == b' ').next()?;
        Kind::parse(std::str::from_utf8(name).ok()?)
    }

    /// Whether the command changes what the server stores (and so, in
    /// `bbsd`, waits for a disk flush before its answer).
    pub fn is_write(self) -> bool {
        matches!(self, Kind::CreatePost | Kind::Comment)
    }

    /// Whether `text` is the answer this command must get.
    fn expected(self, text: &str) -> bool {
        match self {
            Kind::Read => text.starts_with("Author: "),
            Kind::ListPost => text.starts_with("S/N"),
            Kind::ListBoard => text.starts_with("Index"),
            Kind::CreatePost => text == "Create post successfully.",
            Kind::Comment => text == "Comment successfully.",
        }
    }
}

/// Weighted command kinds, from `read=40,list-post=20,...`.
#[derive(Debug, Clone)]
pub struct Mix(Vec<(Kind, u32)>);

impl std::str::FromStr for Mix {
    type Err = String;
    fn from_str(s: &str) -> Result<Mix, String> {
        let mut parts = Vec::new();
        for part in s.split(',') {
            let (name, weight) = part.split_once('=').ok_or_else(|| format!("expected NAME=WEIGHT, got {part:?}"))?;
            let kind = Kind::parse(name.trim()).ok_or_else(|| format!("unknown command {name:?}"))?;
            let weight: u32 = weight.trim().parse().map_err(|_| format!("bad weight {weight:?}"))?;
            parts.push((kind, weight));
        }
        if parts.iter().map(|p| p.1).sum::<u32>() == 0 {
            return Err("the weights add up to zero".into());
        }
        Ok(Mix(parts))
    }
}

impl Mix {
    fn pick(&self, roll: u32) -> Kind {
        let total: u32 = self.0.iter().map(|p| p.1).sum();
        let mut roll = roll % total;
        for (kind, weight) in &self.0 {
            if roll < *weight {
                return *kind;
            }
            roll -= weight;
        }
        unreachable!("roll is below the total")
    }
}

/// xorshift64*: the generator needs speed, not quality.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

/// When to start and stop recording.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub measure_from: Instant,
    pub until: Instant,
}

impl Window {
    pub fn starting_now(warmup: Duration, duration: Duration) -> Window {
        let measure_from = Instant::now() + warmup;
        Window { measure_from, until: measure_from + duration }
    }
}

/// Runs the mix on one session until the window closes. `check` is off for
/// the canned server, whose answers are all the same.
pub async fn run_session(
    mut session: Session,
    seed: u64,
    mix: Mix,
    workload: std::sync::Arc<Workload>,
    window: Window,
    check: bool,
) -> Stats {
    let mut stats = Stats::default();
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut line = String::with_capacity(128);
    let mut made = 0u64;
    loop {
        let kind = mix.pick(rng.next() as u32);
        line.clear();
        use std::fmt::Write;
        let _ = match kind {
            Kind::Read => write!(line, "read {}", rng.pick(&workload.read_posts)),
            Kind::ListPost => write!(line, "list-post {}", rng.pick(&workload.read_boards)),
            Kind::ListBoard => write!(line, "list-board"),
            Kind::CreatePost => {
                made += 1;
                write!(
                    line,
                    "create-post {WRITE_BOARD} --title Load {seed}-{made} --content Bench post {made}.<br>Second line."
                )
            }
            Kind::Comment => {
                write!(line, "comment {} Nice post, from session {seed}.", rng.pick(&workload.comment_posts))
            }
        };
        let started = Instant::now();
        let answer = session.call_raw(&line).await.map(|raw| crate::client::decode(raw).map_err(|e| (e, raw.to_vec())));
        let took = started.elapsed();
        let measured = started >= window.measure_from;
        match answer {
            Err(e) => {
                stats.error(kind.name(), || format!("connection failed: {e:#}"));
                return stats;
            }
            Ok(Err((e, raw))) => {
                if measured {
                    stats.error(kind.name(), || format!("bad frame ({e}): {}", String::from_utf8_lossy(&raw)));
                }
            }
            Ok(Ok(reply)) => {
                if check && !kind.expected(&reply.text) {
                    if measured {
                        stats.error(kind.name(), || format!("{line:?} -> {:?}", reply.text));
                    }
                } else if measured && started + took <= window.until {
                    stats.record(kind.name(), took);
                }
            }
        }
        if Instant::now() >= window.until {
            return stats;
        }
    }
}

/// Runs `sessions` concurrently and merges what they measured.
pub async fn run_all(
    sessions: Vec<Session>,
    mix: &Mix,
    workload: Workload,
    window: Window,
    check: bool,
) -> anyhow::Result<Stats> {
    let workload = std::sync::Arc::new(workload);
    let mut tasks = tokio::task::JoinSet::new();
    for (i, session) in sessions.into_iter().enumerate() {
        tasks.spawn(run_session(session, i as u64 + 1, mix.clone(), workload.clone(), window, check));
    }
    let mut total = Stats::default();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(stats) => total.merge(stats),
            Err(e) => bail!("a session task failed: {e}"),
        }
    }
    Ok(total)
}
