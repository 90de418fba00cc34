//! `community`: what the community area costs where it is heaviest.
//!
//! 1. `list-post <board> --long` (every post with its count, pinned ones
//!    first) beside the course's plain `list-post` on one board holding
//!    `posts` posts, each measured `iterations` times on one session.
//! 2. `push` on one hot post: `voters` users, each on a session of its
//!    own, push the same post `rounds` times, all at once; pushes per
//!    second over the whole burst, and each push's latency. (The first
//!    push of each user counts; later ones fall within 90 seconds and are
//!    kept as comments: the same write, the same row lock.)
//!
//! The database is seeded straight into a temporary file next to the
//! working directory (bulk loader) and deleted at the end.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use bbs_storage::{NewPost, NewUser};
use bbs_storage_sqlite::bulk::BulkLoader;

use crate::client::Session;
use crate::process;
use crate::setup::{user_name, PASSWORD};
use crate::stats::Stats;

pub struct Plan {
    pub bbsd: PathBuf,
    pub server_args: Vec<String>,
    /// Posts on the big board.
    pub posts: usize,
    /// Each listing is measured this many times.
    pub iterations: usize,
    /// Users pushing the hot post.
    pub voters: usize,
    /// Pushes per voter.
    pub rounds: usize,
    /// Where the temporary database goes.
    pub work_dir: PathBuf,
}

const BIG_BOARD: &str = "big";
const HOT_BOARD: &str = "hot";
/// Posts pinned on the big board (they lead the listing).
const PINS: u64 = 3;

fn seed(db: &std::path::Path, plan: &Plan) -> anyhow::Result<u64> {
    let started = Instant::now();
    let hash = crate::seed::password_hash(true)?;
    let mut loader = BulkLoader::open(db)?;
    // user 0 owns both boards and wrote the hot post; users 1..=voters vote.
    loader.users((0..=plan.voters).map(|i| NewUser {
        name: user_name(i),
        email: format!("{}@bench.invalid", user_name(i)),
        password_hash: hash.clone(),
    }))?;
    let owner = user_name(0);
    loader.boards([(BIG_BOARD, owner.as_str()), (HOT_BOARD, owner.as_str())])?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
    let post = |board: &str, n: usize| NewPost {
        board: board.to_owned(),
        author: user_name(n % (plan.voters + 1)),
        title: format!("Post number {n} of the big board"),
        content: format!("Seeded content of post {n}."),
        created_at: now,
    };
    let hot = loader.posts([post(HOT_BOARD, 0)])?[0].ok_or_else(|| anyhow::anyhow!("the hot post was not stored"))?;
    const CHUNK: usize = 100_000;
    let mut done = 0;
    while done < plan.posts {
        let end = (done + CHUNK).min(plan.posts);
        loader.posts((done..end).map(|n| post(BIG_BOARD, n)))?;
        done = end;
        eprintln!("seeded {done} posts ({:.1} s)", started.elapsed().as_secs_f64());
    }
    loader.finish()?;
    Ok(hot)
}

pub async fn run(plan: Plan) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new().prefix("bbs-bench-community").tempdir_in(&plan.work_dir)?;
    let db = dir.path().join("bbs.db");
    let hot = seed(&db, &plan)?;
    let server = process::spawn_bbsd(&plan.bbsd, &db, &plan.server_args)?;
    println!("bbsd pid {} on {}; big board: {} posts", server.pid(), server.addr, plan.posts);

    // 1. The two listings of the big board, with a few posts pinned and
    //    pushed so that `--long` has pins and counts to show.
    let mut owner = Session::connect(server.addr).await?;
    owner.login(&user_name(0), PASSWORD).await?;
    let first_big = hot + 1;
    for n in 0..PINS {
        let reply = owner.call(&format!("pin-post {}", first_big + plan.posts as u64 - 1 - n)).await?;
        anyhow::ensure!(reply.text == "Pin successfully.", "pin-post: {}", reply.text);
    }
    let mut stats = Stats::default();
    let mut sizes = [0usize; 2];
    let listing = Instant::now();
    for _ in 0..plan.iterations {
        for (i, (kind, line)) in [
            ("list-post", format!("list-post {BIG_BOARD}")),
            ("list-post long", format!("list-post {BIG_BOARD} --long")),
        ]
        .into_iter()
        .enumerate()
        {
            let began = Instant::now();
            let raw = owner.call_raw(&line).await?.len();
            stats.record(kind, began.elapsed());
            sizes[i] = raw;
        }
    }
    let title = format!("listing a board of {} posts, {} times each", plan.posts, plan.iterations);
    stats.print(&title, listing.elapsed().as_secs_f64());
    println!("answer frame bytes: list-post {}, list-post --long {}", sizes[0], sizes[1]);

    // 2. Everybody pushes the hot post at once.
    let mut voters = Vec::with_capacity(plan.voters);
    for i in 1..=plan.voters {
        let mut session = Session::connect(server.addr).await?;
        session.login(&user_name(i), PASSWORD).await?;
        voters.push(session);
    }
    let start = Arc::new(tokio::sync::Barrier::new(plan.voters + 1));
    let mut tasks = Vec::new();
    for mut session in voters {
        let start = Arc::clone(&start);
        let rounds = plan.rounds;
        tasks.push(tokio::spawn(async move {
            let mut stats = Stats::default();
            let mut counted = 0u64;
            start.wait().await;
            for round in 0..rounds {
                let began = Instant::now();
                let reply = session.call(&format!("push {hot} round {round}")).await?;
                stats.record("push", began.elapsed());
                match reply.text.as_str() {
                    "Push successfully." => counted += 1,
                    "Comment successfully." => {}
                    other => stats.error("push", || other.to_owned()),
                }
            }
            anyhow::Ok((stats, counted))
        }));
    }
    start.wait().await;
    let began = Instant::now();
    let mut stats = Stats::default();
    let mut counted = 0;
    for task in tasks {
        let (part, n) = task.await??;
        stats.merge(part);
        counted += n;
    }
    let seconds = began.elapsed().as_secs_f64();
    stats.print(&format!("{} users pushing one post {} times each", plan.voters, plan.rounds), seconds);
    println!(
        "pushes: {} in {seconds:.2} s = {:.0} per second; counted as pushes: {counted} (one per user), the rest kept as comments",
        plan.voters * plan.rounds,
        (plan.voters * plan.rounds) as f64 / seconds
    );
    let listed = owner.call(&format!("list-post {HOT_BOARD} --long")).await?;
    println!("hot post's row: {}", listed.text.lines().nth(1).unwrap_or(""));
    anyhow::ensure!(stats.error_count() == 0, "unexpected answers");
    anyhow::ensure!(counted == plan.voters as u64, "each user's first push counts once");
    drop(server);
    drop(dir);
    Ok(())
}
