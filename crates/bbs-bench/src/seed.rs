//! Fast seeding: writes users, boards and posts straight into the SQLite
//! file (through the SQLite backend's bulk loader, so with the server's own
//! schema) before the server starts.

use std::path::Path;
use std::time::Instant;

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use bbs_storage::{NewPost, NewUser, SubscriptionKind};
use bbs_storage_sqlite::bulk::BulkLoader;

use crate::setup::{user_name, COMMENT_TARGETS, PASSWORD, READ_BOARD_PREFIX, WRITE_BOARD};

pub struct SeedPlan {
    pub users: usize,
    /// Argon2 with 8 KiB and one pass instead of the server's 19 MiB and two:
    /// logins then cost microseconds, so thousands of sessions can log in
    /// quickly (idle test). The server verifies with the parameters stored
    /// in each hash, so these users work like any other.
    pub cheap_hashes: bool,
    pub bulk_boards: usize,
    pub bulk_posts: usize,
    pub read_boards: usize,
    pub posts_per_board: usize,
    /// Subscriptions of users in the upper half of the user list (the mix's
    /// sessions log in from the bottom, so none of them is pushed to), on
    /// every board and every author; one in `matching_every` has the keyword `load`,
    /// which every post of the mix's `create-post` has in its title.
    pub subscriptions: usize,
    /// One subscription in this many has the keyword `load` (0: none, so
    /// that only the cost of matching is measured).
    pub matching_every: usize,
}

/// Every hundredth bulk post has this in its title, so that a two-character
/// CJK word (`作業`) has 1 % of a million posts to find.
const CJK_TITLE: &str = "網路程式設計作業";

/// The argon2id hash of the bench's [`PASSWORD`] that every seeded user
/// gets (computed once: all seeded users share a password). `cheap`: tiny
/// parameters, for seeding many users fast; otherwise the server's own.
pub fn password_hash(cheap: bool) -> anyhow::Result<String> {
    let params = if cheap { Params::new(8, 1, 1, None) } else { Ok(Params::default()) }
        .map_err(|e| anyhow::anyhow!("argon2 params: {e}"))?;
    let salt = SaltString::from_b64("YmVuY2hzYWx0YmVuY2g").map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(PASSWORD.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing: {e}"))?
        .to_string())
}

pub fn seed(db: &Path, plan: &SeedPlan) -> anyhow::Result<()> {
    let started = Instant::now();
    let hash = password_hash(plan.cheap_hashes)?;
    let mut loader = BulkLoader::open(db)?;
    loader.users((0..plan.users).map(|i| NewUser {
        name: user_name(i),
        email: format!("{}@bench.invalid", user_name(i)),
        password_hash: hash.clone(),
    }))?;
    let moderator = user_name(0);
    let bulk_names: Vec<String> = (0..plan.bulk_boards).map(|i| format!("bulk{i}")).collect();
    loader.boards(bulk_names.iter().map(|n| (n.as_str(), moderator.as_str())))?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
    const CHUNK: usize = 100_000;
    let mut done = 0;
    while done < plan.bulk_posts && !bulk_names.is_empty() {
        let end = (done + CHUNK).min(plan.bulk_posts);
        // Round-robin over the boards, so a board's posts are spread over
        // the whole table, as after months of real use.
        loader.posts((done..end).map(|n| NewPost {
            board: bulk_names[n % bulk_names.len()].clone(),
            author: user_name(n % plan.users.max(1)),
            title: if n % 100 == 7 {
                format!("Bulk post number {n} {CJK_TITLE}")
            } else {
                format!("Bulk post number {n}")
            },
            content: format!("Seeded content of post {n}.<br>It has two lines."),
            created_at: now,
        }))?;
        done = end;
        eprintln!("seeded {done} posts ({:.1} s)", started.elapsed().as_secs_f64());
    }
    let small: Vec<String> = (0..plan.read_boards)
        .map(|i| format!("{READ_BOARD_PREFIX}{i}"))
        .chain(std::iter::once(WRITE_BOARD.to_owned()))
        .collect();
    loader.boards(small.iter().map(|n| (n.as_str(), moderator.as_str())))?;
    let mut posts = Vec::new();
    for board in &small {
        let count = if board == WRITE_BOARD { COMMENT_TARGETS } else { plan.posts_per_board };
        for n in 0..count {
            posts.push(NewPost {
                board: board.clone(),
                author: moderator.clone(),
                title: format!("Post {n} of {board}"),
                content: format!("Line one of post {n}.<br>Line two."),
                created_at: now,
            });
        }
    }
    loader.posts(posts)?;
    if plan.subscriptions > 0 {
        let boards: Vec<&String> = bulk_names.iter().chain(&small).collect();
        let half = (plan.users / 2).max(1);
        loader.subscriptions((0..plan.subscriptions).map(|i| {
            let subscriber = user_name(plan.users.saturating_sub(half) + i % half);
            let matches = plan.matching_every > 0 && i % plan.matching_every == 0;
            let keyword = if matches { "load".to_owned() } else { format!("kw{i}") };
            if i % 2 == 0 {
                (subscriber, SubscriptionKind::Board, boards[(i / 2) % boards.len()].clone(), keyword)
            } else {
                (subscriber, SubscriptionKind::Author, user_name((i / 2) % plan.users.max(1)), keyword)
            }
        }))?;
        eprintln!("seeded {} subscriptions", plan.subscriptions);
    }
    loader.finish()?;
    eprintln!("seeding done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
