//! [`CommunityStore`] on SQLite: a vote is a row of `comments` with its
//! kind, and the post's `push_count` moves in the same write (the writer
//! thread runs one closure at a time, inside its transaction), so the
//! count always equals the votes kept, clamped.

use bbs_storage::{CommentKind, CommunityStore, NewVote, PostId, Result, Voted, MAX_PUSH_COUNT};
use rusqlite::{params, OptionalExtension};

use crate::cache::Key;
use crate::moderation::{is_moderator, member_refusal, post_facts};
use crate::SqliteStore;

impl CommunityStore for SqliteStore {
    async fn vote(&self, vote: NewVote) -> Result<Voted> {
        let post = vote.post;
        self.write_then(
            move |c| {
                let Some(facts) = post_facts(c, post)? else {
                    return Ok(Voted::NoPost);
                };
                let sysop = vote.sysops.contains(&vote.voter);
                let boo = vote.kind == CommentKind::Boo;
                if let Some(refusal) = member_refusal(c, &facts.board, &vote.voter, sysop, vote.at, boo, true)? {
                    return Ok(Voted::Refused(refusal));
                }
                let author = facts.author;
                let moderator = is_moderator(c, &facts.board, &vote.voter, sysop)?;
                let too_soon = !moderator
                    && c.prepare_cached(
                        "SELECT 1 FROM comments
                         WHERE post_id = ?1 AND author = ?2 AND kind != 0 AND created_at > ?3 LIMIT 1",
                    )?
                    .query_row(params![post, vote.voter, vote.at - vote.vote_interval], |_| Ok(()))
                    .optional()?
                    .is_some();
                let kind = if vote.voter == author || too_soon { CommentKind::Comment } else { vote.kind };
                c.prepare_cached(
                    "INSERT INTO comments (post_id, author, text, created_at, kind) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![post, vote.voter, vote.text, vote.at, kind.code()])?;
                let delta = match kind {
                    CommentKind::Comment => return Ok(Voted::AsComment),
                    CommentKind::Push => 1,
                    CommentKind::Boo => -1,
                };
                c.prepare_cached("UPDATE posts SET push_count = MAX(?2, MIN(?3, push_count + ?4)) WHERE id = ?1")?
                    .execute(params![post, -MAX_PUSH_COUNT, MAX_PUSH_COUNT, delta])?;
                let count: i64 =
                    c.prepare_cached("SELECT push_count FROM posts WHERE id = ?1")?.query_row([post], |r| r.get(0))?;
                Ok(Voted::Counted(kind, count))
            },
            move |cache, voted| {
                if matches!(voted, Voted::AsComment | Voted::Counted(..)) {
                    cache.remove(&Key::Post(post));
                }
            },
        )
        .await
    }

    async fn push_count(&self, post: PostId) -> Result<Option<i64>> {
        self.read(move |c| {
            c.prepare_cached("SELECT push_count FROM posts WHERE id = ?1")?.query_row([post], |r| r.get(0)).optional()
        })
        .await
    }

    async fn push_counts(&self, board: &str) -> Result<Option<Vec<(PostId, i64)>>> {
        let board = board.to_owned();
        self.read(move |c| {
            let id: Option<i64> = c
                .prepare_cached("SELECT id FROM boards WHERE name = ?1")?
                .query_row([&board], |r| r.get(0))
                .optional()?;
            let Some(id) = id else { return Ok(None) };
            let mut statement = c.prepare_cached("SELECT id, push_count FROM posts WHERE board_id = ?1 ORDER BY id")?;
            let rows = statement.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map(Some)
        })
        .await
    }
}
