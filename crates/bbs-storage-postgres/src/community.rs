//! Pushes and boos on PostgreSQL: the same rules as the SQLite backend,
//! checked and applied in one transaction that holds the post's row lock,
//! so concurrent votes on one post are counted one after another.

use bbs_storage::{CommentKind, CommunityStore, NewVote, PostId, Result, Voted, MAX_PUSH_COUNT};

use crate::moderation::{is_moderator, member_refusal, post_facts, Hold};
use crate::{commit, signed, OrBackend, PostgresStore};

impl CommunityStore for PostgresStore {
    async fn vote(&self, vote: NewVote) -> Result<Voted> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        let post = signed(vote.post);
        let Some(facts) = post_facts(&tx, vote.post, Hold::Shared).await? else { return Ok(Voted::NoPost) };
        let sysop = vote.sysops.contains(&vote.voter);
        let boo = vote.kind == CommentKind::Boo;
        if let Some(refusal) = member_refusal(&tx, &facts.board, &vote.voter, sysop, vote.at, boo, true).await? {
            return Ok(Voted::Refused(refusal));
        }
        let author = facts.author;
        let moderator = is_moderator(&tx, &facts.board, &vote.voter, sysop).await?;
        let too_soon = !moderator
            && tx
                .query_opt(
                    "SELECT 1 FROM comments WHERE post_id = $1 AND author = $2 AND kind <> 0 AND created_at > $3 LIMIT 1",
                    &[&post, &vote.voter, &(vote.at - vote.vote_interval)],
                )
                .await
                .or_backend()?
                .is_some();
        let kind = if vote.voter == author || too_soon { CommentKind::Comment } else { vote.kind };
        tx.execute(
            "INSERT INTO comments (post_id, author, text, created_at, kind) VALUES ($1, $2, $3, $4, $5)",
            &[&post, &vote.voter, &vote.text, &vote.at, &kind.code()],
        )
        .await
        .or_backend()?;
        let delta: i64 = match kind {
            CommentKind::Comment => {
                commit(tx).await?;
                return Ok(Voted::AsComment);
            }
            CommentKind::Push => 1,
            CommentKind::Boo => -1,
        };
        let count: i64 = tx
            .query_one(
                "UPDATE posts SET push_count = GREATEST($2, LEAST($3, push_count + $4)) WHERE id = $1
                 RETURNING push_count",
                &[&post, &-MAX_PUSH_COUNT, &MAX_PUSH_COUNT, &delta],
            )
            .await
            .or_backend()?
            .get(0);
        commit(tx).await?;
        Ok(Voted::Counted(kind, count))
    }

    async fn push_count(&self, post: PostId) -> Result<Option<i64>> {
        let c = self.client().await?;
        let row = c.query_opt("SELECT push_count FROM posts WHERE id = $1", &[&signed(post)]).await.or_backend()?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn push_counts(&self, board: &str) -> Result<Option<Vec<(PostId, i64)>>> {
        let c = self.client().await?;
        let Some(board) = c.query_opt("SELECT id FROM boards WHERE name = $1", &[&board]).await.or_backend()? else {
            return Ok(None);
        };
        let id: i64 = board.get(0);
        let rows =
            c.query("SELECT id, push_count FROM posts WHERE board_id = $1 ORDER BY id", &[&id]).await.or_backend()?;
        Ok(Some(rows.iter().map(|r| (u64::try_from(r.get::<_, i64>(0)).unwrap_or(0), r.get(1))).collect()))
    }
}
