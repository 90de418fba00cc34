//! [`ModerationStore`] on PostgreSQL: the same rules and tables as the
//! SQLite backend, each checked in the transaction of the write it guards.
//! Where SQLite has one writer, here locks order the requests: a
//! moderator's change takes its board's row `FOR UPDATE`, a member's write
//! takes it `FOR KEY SHARE` (so a ban waits for the comments in flight and
//! the next comment sees the ban), a change to a post locks the post's
//! row, and the daily reports of one user are counted under an advisory
//! lock of that user.

use bbs_storage::{
    Acting, AuditRow, BanChange, BanRow, BoardSetting, CreatedPost, Moderated, ModerationStore, ModeratorChange,
    NewBan, NewPost, Pinning, PostChange, PostEdit, PostHistory, PostId, PostSummary, RecycledRow, Refusal, Removal,
    ReportRow, Reporting, Resolution, Restoral, Result, Revision, Suspension, Timestamp, MAX_ADDED_MODERATORS,
    MAX_PINNED, MAX_REPORTS_A_DAY,
};
use deadpool_postgres::Transaction;

use crate::search::{index_vector, post_created};
use crate::store::apply_edit;
use crate::{commit, lock_user, signed, unsigned, OrBackend, PostgresStore};

/// Seconds in a day.
const DAY: i64 = 24 * 60 * 60;

/// How a request holds its board's row.
#[derive(Clone, Copy)]
pub(crate) enum Hold {
    /// A moderator's change: one at a time per board.
    Exclusive,
    /// A member's write: beside other members, never beside a change.
    Shared,
}

impl Hold {
    fn clause(self) -> &'static str {
        match self {
            Hold::Exclusive => "FOR UPDATE",
            Hold::Shared => "FOR KEY SHARE",
        }
    }
}

/// What the rules need to know of a board.
pub(crate) struct BoardFacts {
    pub id: i64,
    pub owner: String,
    no_boo: bool,
    push_interval: i64,
    min_days: i64,
}

fn facts(r: &tokio_postgres::Row) -> BoardFacts {
    BoardFacts { id: r.get(0), owner: r.get(1), no_boo: r.get(2), push_interval: r.get(3), min_days: r.get(4) }
}

async fn board_where(
    tx: &Transaction<'_>,
    condition: &str,
    value: &(dyn tokio_postgres::types::ToSql + Sync),
    hold: Hold,
) -> Result<Option<BoardFacts>> {
    let sql = format!(
        "SELECT id, moderator, no_boo, push_interval, min_days FROM boards WHERE {condition} = $1 {}",
        hold.clause()
    );
    Ok(tx.query_opt(&sql, &[value]).await.or_backend()?.as_ref().map(facts))
}

async fn board_named(tx: &Transaction<'_>, name: &str, hold: Hold) -> Result<Option<BoardFacts>> {
    board_where(tx, "name", &name, hold).await
}

async fn board_numbered(tx: &Transaction<'_>, id: i64, hold: Hold) -> Result<BoardFacts> {
    board_where(tx, "id", &id, hold).await?.ok_or_else(|| bbs_storage::StoreError::backend("a post's board is gone"))
}

/// A live post (its row locked), with its board (held as asked).
pub(crate) struct PostFacts {
    pub author: String,
    pub pinned: bool,
    pub board: BoardFacts,
}

pub(crate) async fn post_facts(tx: &Transaction<'_>, post: PostId, hold: Hold) -> Result<Option<PostFacts>> {
    let Some(row) = tx
        .query_opt(
            "SELECT author, pinned_at IS NOT NULL, board_id FROM posts WHERE id = $1 FOR UPDATE",
            &[&signed(post)],
        )
        .await
        .or_backend()?
    else {
        return Ok(None);
    };
    let board = board_numbered(tx, row.get(2), hold).await?;
    Ok(Some(PostFacts { author: row.get(0), pinned: row.get(1), board }))
}

pub(crate) async fn is_moderator(tx: &Transaction<'_>, board: &BoardFacts, user: &str, sysop: bool) -> Result<bool> {
    if sysop || board.owner == user {
        return Ok(true);
    }
    Ok(tx
        .query_opt("SELECT 1 FROM board_moderators WHERE board_id = $1 AND username = $2", &[&board.id, &user])
        .await
        .or_backend()?
        .is_some())
}

async fn banned(tx: &Transaction<'_>, board: i64, user: &str, at: Timestamp) -> Result<bool> {
    Ok(tx
        .query_opt("SELECT 1 FROM bans WHERE board_id = $1 AND username = $2 AND until > $3", &[&board, &user, &at])
        .await
        .or_backend()?
        .is_some())
}

async fn user_exists(tx: &Transaction<'_>, user: &str) -> Result<bool> {
    Ok(tx.query_opt("SELECT 1 FROM users WHERE name = $1", &[&user]).await.or_backend()?.is_some())
}

async fn audit(
    tx: &Transaction<'_>,
    board: Option<i64>,
    by: &Acting,
    action: &str,
    target: &str,
    reason: &str,
) -> Result<()> {
    tx.execute(
        "INSERT INTO mod_log (board_id, at, actor, action, target, reason) VALUES ($1, $2, $3, $4, $5, $6)",
        &[&board, &by.at, &by.user, &action, &target, &reason],
    )
    .await
    .or_backend()?;
    Ok(())
}

/// See the SQLite backend's `member_refusal`: the same rules.
pub(crate) async fn member_refusal(
    tx: &Transaction<'_>,
    board: &BoardFacts,
    user: &str,
    sysop: bool,
    at: Timestamp,
    boo: bool,
    comment: bool,
) -> Result<Option<Refusal>> {
    if banned(tx, board.id, user, at).await? {
        return Ok(Some(Refusal::Banned));
    }
    if boo && board.no_boo {
        return Ok(Some(Refusal::NoBoos));
    }
    let interval = if comment { board.push_interval } else { 0 };
    if (board.min_days == 0 && interval == 0) || is_moderator(tx, board, user, sysop).await? {
        return Ok(None);
    }
    if board.min_days > 0 {
        let registered: i64 = tx
            .query_opt("SELECT registered_at FROM users WHERE name = $1", &[&user])
            .await
            .or_backend()?
            .map_or(0, |r| r.get(0));
        if at - registered < board.min_days * DAY {
            return Ok(Some(Refusal::Requirements));
        }
    }
    if interval > 0 {
        let recent = tx
            .query_opt(
                "SELECT 1 FROM comments m JOIN posts p ON p.id = m.post_id
                 WHERE m.author = $1 AND m.created_at > $2 AND p.board_id = $3 LIMIT 1",
                &[&user, &(at - interval), &board.id],
            )
            .await
            .or_backend()?;
        if recent.is_some() {
            return Ok(Some(Refusal::Requirements));
        }
    }
    Ok(None)
}

async fn move_to_bin(tx: &Transaction<'_>, post: PostId, by: &str, at: Timestamp, reason: &str) -> Result<()> {
    let post = signed(post);
    tx.execute(
        "INSERT INTO recycled_posts
            (id, board_id, author, title, content, created_at, push_count, deleted_by, deleted_at, reason)
         SELECT id, board_id, author, title, content, created_at, push_count, $2, $3, $4 FROM posts WHERE id = $1",
        &[&post, &by, &at, &reason],
    )
    .await
    .or_backend()?;
    tx.execute(
        "INSERT INTO recycled_comments (post_id, author, text, created_at, kind)
         SELECT post_id, author, text, created_at, kind FROM comments WHERE post_id = $1 ORDER BY id",
        &[&post],
    )
    .await
    .or_backend()?;
    // Comments go with the row (ON DELETE CASCADE), the search index is in it.
    tx.execute("DELETE FROM posts WHERE id = $1", &[&post]).await.or_backend()?;
    tx.execute("UPDATE reports SET status = 1 WHERE post_id = $1 AND status = 0", &[&post]).await.or_backend()?;
    Ok(())
}

async fn purge_expired(tx: &Transaction<'_>, at: Timestamp, keep_seconds: i64) -> Result<()> {
    let before = at - keep_seconds;
    tx.execute(
        "DELETE FROM post_revisions WHERE post_id IN (SELECT id FROM recycled_posts WHERE deleted_at <= $1)",
        &[&before],
    )
    .await
    .or_backend()?;
    tx.execute("DELETE FROM recycled_posts WHERE deleted_at <= $1", &[&before]).await.or_backend()?;
    Ok(())
}

fn setting_words(setting: BoardSetting) -> String {
    match setting {
        BoardSetting::NoBoo(on) => format!("--no-boo {}", if on { "on" } else { "off" }),
        BoardSetting::PushInterval(s) => format!("--push-interval {s}"),
        BoardSetting::MinDays(d) => format!("--min-days {d}"),
    }
}

fn report_status(code: i64) -> &'static str {
    match code {
        0 => "open",
        1 => "accepted",
        _ => "rejected",
    }
}

/// Commits when the outcome changed something, and gives the outcome.
async fn finish<T>(tx: Transaction<'_>, outcome: T) -> Result<T> {
    commit(tx).await?;
    Ok(outcome)
}

impl ModerationStore for PostgresStore {
    async fn add_moderator(&self, board: &str, user: &str, by: &Acting) -> Result<ModeratorChange> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        let Some(facts) = board_named(&tx, board, Hold::Exclusive).await? else { return Ok(ModeratorChange::NoBoard) };
        if facts.owner != by.user && !by.sysop {
            return Ok(ModeratorChange::NotOwner);
        }
        if !user_exists(&tx, user).await? {
            return Ok(ModeratorChange::NoUser);
        }
        if is_moderator(&tx, &facts, user, false).await? {
            return Ok(ModeratorChange::AlreadyModerator);
        }
        let added: i64 = tx
            .query_one("SELECT count(*) FROM board_moderators WHERE board_id = $1", &[&facts.id])
            .await
            .or_backend()?
            .get(0);
        if added >= MAX_ADDED_MODERATORS as i64 {
            return Ok(ModeratorChange::TooMany);
        }
        tx.execute("INSERT INTO board_moderators (board_id, username) VALUES ($1, $2)", &[&facts.id, &user])
            .await
            .or_backend()?;
        audit(&tx, Some(facts.id), by, "add-moderator", user, "").await?;
        finish(tx, ModeratorChange::Done).await
    }

    async fn remove_moderator(&self, board: &str, user: &str, by: &Acting) -> Result<ModeratorChange> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        let Some(facts) = board_named(&tx, board, Hold::Exclusive).await? else { return Ok(ModeratorChange::NoBoard) };
        if facts.owner != by.user && !by.sysop {
            return Ok(ModeratorChange::NotOwner);
        }
        if facts.owner == user {
            return Ok(ModeratorChange::IsOwner);
        }
        let n = tx
            .execute("DELETE FROM board_moderators WHERE board_id = $1 AND username = $2", &[&facts.id, &user])
            .await
            .or_backend()?;
        if n == 0 {
            return Ok(ModeratorChange::NotModerator);
        }
        audit(&tx, Some(facts.id), by, "remove-moderator", user, "").await?;
        finish(tx, ModeratorChange::Done).await
    }

    async fn moderates(&self, board: &str, user: &str, sysop: bool) -> Result<Option<bool>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        let Some(row) = tx
            .query_opt("SELECT id, moderator, no_boo, push_interval, min_days FROM boards WHERE name = $1", &[&board])
            .await
            .or_backend()?
        else {
            return Ok(None);
        };
        is_moderator(&tx, &facts(&row), user, sysop).await.map(Some)
    }

    async fn ban(&self, ban: NewBan, by: &Acting) -> Result<BanChange> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        let Some(facts) = board_named(&tx, &ban.board, Hold::Exclusive).await? else { return Ok(BanChange::NoBoard) };
        if !is_moderator(&tx, &facts, &by.user, by.sysop).await? {
            return Ok(BanChange::NotModerator);
        }
        if !user_exists(&tx, &ban.user).await? {
            return Ok(BanChange::NoUser);
        }
        if is_moderator(&tx, &facts, &ban.user, false).await? {
            return Ok(BanChange::IsModerator);
        }
        if banned(&tx, facts.id, &ban.user, by.at).await? {
            return Ok(BanChange::AlreadyBanned);
        }
        tx.execute(
            "INSERT INTO bans (board_id, username, until, banned_by, reason) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (board_id, username) DO UPDATE
             SET until = excluded.until, banned_by = excluded.banned_by, reason = excluded.reason",
            &[&facts.id, &ban.user, &ban.until, &by.user, &ban.reason],
        )
        .await
        .or_backend()?;
        audit(&tx, Some(facts.id), by, "ban", &ban.user, &ban.reason).await?;
        finish(tx, BanChange::Done).await
    }

    async fn unban(&self, board: &str, user: &str, reason: &str, by: &Acting) -> Result<BanChange> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        let Some(facts) = board_named(&tx, board, Hold::Exclusive).await? else { return Ok(BanChange::NoBoard) };
        if !is_moderator(&tx, &facts, &by.user, by.sysop).await? {
            return Ok(BanChange::NotModerator);
        }
        if !banned(&tx, facts.id, user, by.at).await? {
            return Ok(BanChange::NotBanned);
        }
        tx.execute("DELETE FROM bans WHERE board_id = $1 AND username = $2", &[&facts.id, &user]).await.or_backend()?;
        audit(&tx, Some(facts.id), by, "unban", user, reason).await?;
        finish(tx, BanChange::Done).await
    }

    async fn bans(&self, board: &str, at: Timestamp) -> Result<Vec<BanRow>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT n.username, n.until, n.banned_by, n.reason FROM bans n JOIN boards b ON b.id = n.board_id
                 WHERE b.name = $1 AND n.until > $2 ORDER BY n.username",
                &[&board, &at],
            )
            .await
            .or_backend()?;
        Ok(rows.iter().map(|r| BanRow { user: r.get(0), until: r.get(1), by: r.get(2), reason: r.get(3) }).collect())
    }

    async fn set_board(&self, board: &str, setting: BoardSetting, by: &Acting) -> Result<Moderated> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        let Some(facts) = board_named(&tx, board, Hold::Exclusive).await? else { return Ok(Moderated::NoBoard) };
        if !is_moderator(&tx, &facts, &by.user, by.sysop).await? {
            return Ok(Moderated::NotModerator);
        }
        match setting {
            BoardSetting::NoBoo(on) => {
                tx.execute("UPDATE boards SET no_boo = $2 WHERE id = $1", &[&facts.id, &on]).await.or_backend()?
            }
            BoardSetting::PushInterval(s) => {
                tx.execute("UPDATE boards SET push_interval = $2 WHERE id = $1", &[&facts.id, &s]).await.or_backend()?
            }
            BoardSetting::MinDays(d) => {
                tx.execute("UPDATE boards SET min_days = $2 WHERE id = $1", &[&facts.id, &d]).await.or_backend()?
            }
        };
        audit(&tx, Some(facts.id), by, "set-board", &setting_words(setting), "").await?;
        finish(tx, Moderated::Done).await
    }

    async fn create_post_as_member(&self, post: NewPost) -> Result<std::result::Result<CreatedPost, Refusal>> {
        let search = index_vector(&post.title, &post.content);
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        let Some(facts) = board_named(&tx, &post.board, Hold::Shared).await? else { return Ok(Err(Refusal::Missing)) };
        if let Some(refusal) = member_refusal(&tx, &facts, &post.author, false, post.created_at, false, false).await? {
            return Ok(Err(refusal));
        }
        let row = tx
            .query_one(
                "INSERT INTO posts (board_id, author, title, content, created_at, search)
                 VALUES ($1, $2, $3, $4, $5, $6::text::tsvector) RETURNING id",
                &[&facts.id, &post.author, &post.title, &post.content, &post.created_at, &search],
            )
            .await
            .or_backend()?;
        let id = unsigned(row.get(0));
        let subscribers = post_created(&tx, id, &post).await?;
        finish(tx, Ok(CreatedPost { id, subscribers })).await
    }

    async fn comment_as_member(
        &self,
        post: PostId,
        text: &str,
        by: &Acting,
    ) -> Result<std::result::Result<(), Refusal>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        let Some(facts) = post_facts(&tx, post, Hold::Shared).await? else { return Ok(Err(Refusal::Missing)) };
        if let Some(refusal) = member_refusal(&tx, &facts.board, &by.user, by.sysop, by.at, false, true).await? {
            return Ok(Err(refusal));
        }
        tx.execute(
            "INSERT INTO comments (post_id, author, text, created_at) VALUES ($1, $2, $3, $4)",
            &[&signed(post), &by.user, &text, &by.at],
        )
        .await
        .or_backend()?;
        finish(tx, Ok(())).await
    }

    async fn recycle_post(
        &self,
        post: PostId,
        by: &Acting,
        reason: Option<&str>,
        keep_seconds: i64,
    ) -> Result<Removal> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        let Some(facts) = post_facts(&tx, post, Hold::Shared).await? else { return Ok(Removal::NoPost) };
        let own = facts.author == by.user;
        let moderating = !own && reason.is_some() && is_moderator(&tx, &facts.board, &by.user, by.sysop).await?;
        if !own && !moderating {
            return Ok(Removal::NotOwner);
        }
        if facts.pinned {
            return Ok(Removal::Pinned);
        }
        purge_expired(&tx, by.at, keep_seconds).await?;
        let reason = reason.unwrap_or_default();
        move_to_bin(&tx, post, &by.user, by.at, reason).await?;
        if moderating {
            audit(&tx, Some(facts.board.id), by, "delete", &post.to_string(), reason).await?;
        }
        finish(tx, Removal::Done).await
    }

    async fn restore_post(&self, post: PostId, by: &Acting, keep_seconds: i64) -> Result<Restoral> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        purge_expired(&tx, by.at, keep_seconds).await?;
        let Some(row) = tx
            .query_opt("SELECT board_id, title, content FROM recycled_posts WHERE id = $1 FOR UPDATE", &[&signed(post)])
            .await
            .or_backend()?
        else {
            return Ok(Restoral::NotInBin);
        };
        let board: i64 = row.get(0);
        let (title, content): (String, String) = (row.get(1), row.get(2));
        if !is_moderator(&tx, &board_numbered(&tx, board, Hold::Shared).await?, &by.user, by.sysop).await? {
            return Ok(Restoral::NotModerator);
        }
        let search = index_vector(&title, &content);
        tx.execute(
            "INSERT INTO posts (id, board_id, author, title, content, created_at, push_count, search)
             SELECT id, board_id, author, title, content, created_at, push_count, $2::text::tsvector
             FROM recycled_posts WHERE id = $1",
            &[&signed(post), &search],
        )
        .await
        .or_backend()?;
        tx.execute(
            "INSERT INTO comments (post_id, author, text, created_at, kind)
             SELECT post_id, author, text, created_at, kind FROM recycled_comments WHERE post_id = $1 ORDER BY id",
            &[&signed(post)],
        )
        .await
        .or_backend()?;
        tx.execute("DELETE FROM recycled_posts WHERE id = $1", &[&signed(post)]).await.or_backend()?;
        audit(&tx, Some(board), by, "restore", &post.to_string(), "").await?;
        finish(tx, Restoral::Done).await
    }

    async fn recycled(&self, board: &str, at: Timestamp, keep_seconds: i64) -> Result<Option<Vec<RecycledRow>>> {
        let c = self.client().await?;
        let Some(found) = c.query_opt("SELECT id FROM boards WHERE name = $1", &[&board]).await.or_backend()? else {
            return Ok(None);
        };
        let id: i64 = found.get(0);
        let rows = c
            .query(
                "SELECT id, title, author, deleted_by, deleted_at, reason FROM recycled_posts
                 WHERE board_id = $1 AND deleted_at > $2 ORDER BY deleted_at, id",
                &[&id, &(at - keep_seconds)],
            )
            .await
            .or_backend()?;
        Ok(Some(
            rows.iter()
                .map(|r| RecycledRow {
                    id: unsigned(r.get(0)),
                    title: r.get(1),
                    author: r.get(2),
                    deleted_by: r.get(3),
                    deleted_at: r.get(4),
                    reason: r.get(5),
                })
                .collect(),
        ))
    }

    async fn pin_post(&self, post: PostId, by: &Acting) -> Result<Pinning> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        // The board's row held exclusively: concurrent pins count one by one.
        let Some(facts) = post_facts(&tx, post, Hold::Exclusive).await? else { return Ok(Pinning::NoPost) };
        if !is_moderator(&tx, &facts.board, &by.user, by.sysop).await? {
            return Ok(Pinning::NotModerator);
        }
        if facts.pinned {
            return Ok(Pinning::AlreadyPinned);
        }
        let row = tx
            .query_one(
                "SELECT count(*), coalesce(max(pinned_at), 0) FROM posts WHERE board_id = $1 AND pinned_at IS NOT NULL",
                &[&facts.board.id],
            )
            .await
            .or_backend()?;
        let (pinned, last): (i64, i64) = (row.get(0), row.get(1));
        if pinned >= MAX_PINNED as i64 {
            return Ok(Pinning::TooMany);
        }
        tx.execute("UPDATE posts SET pinned_at = $2 WHERE id = $1", &[&signed(post), &(last + 1)])
            .await
            .or_backend()?;
        audit(&tx, Some(facts.board.id), by, "pin", &post.to_string(), "").await?;
        finish(tx, Pinning::Done).await
    }

    async fn unpin_post(&self, post: PostId, by: &Acting) -> Result<Pinning> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        let Some(facts) = post_facts(&tx, post, Hold::Exclusive).await? else { return Ok(Pinning::NoPost) };
        if !is_moderator(&tx, &facts.board, &by.user, by.sysop).await? {
            return Ok(Pinning::NotModerator);
        }
        if !facts.pinned {
            return Ok(Pinning::NotPinned);
        }
        tx.execute("UPDATE posts SET pinned_at = NULL WHERE id = $1", &[&signed(post)]).await.or_backend()?;
        audit(&tx, Some(facts.board.id), by, "unpin", &post.to_string(), "").await?;
        finish(tx, Pinning::Done).await
    }

    async fn pinned_posts(&self, board: &str) -> Result<Vec<PostSummary>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT p.id, p.title, p.author, p.created_at FROM boards b JOIN posts p ON p.board_id = b.id
                 WHERE b.name = $1 AND p.pinned_at IS NOT NULL ORDER BY p.pinned_at",
                &[&board],
            )
            .await
            .or_backend()?;
        Ok(rows
            .iter()
            .map(|r| PostSummary { id: unsigned(r.get(0)), title: r.get(1), author: r.get(2), created_at: r.get(3) })
            .collect())
    }

    async fn edit_post_keeping_history(&self, post: PostId, by: &Acting, edit: PostEdit) -> Result<PostChange> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        let Some(row) = tx
            .query_opt("SELECT author, title, content FROM posts WHERE id = $1 FOR UPDATE", &[&signed(post)])
            .await
            .or_backend()?
        else {
            return Ok(PostChange::NoSuchPost);
        };
        if row.get::<_, &str>(0) != by.user {
            return Ok(PostChange::NotOwner);
        }
        tx.execute(
            "INSERT INTO post_revisions (post_id, at, editor, title, content)
             SELECT id, created_at, author, title, content FROM posts
             WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM post_revisions WHERE post_id = $1)",
            &[&signed(post)],
        )
        .await
        .or_backend()?;
        let (title, content) = apply_edit(&tx, post, (row.get(1), row.get(2)), edit).await?;
        tx.execute(
            "INSERT INTO post_revisions (post_id, at, editor, title, content) VALUES ($1, $2, $3, $4, $5)",
            &[&signed(post), &by.at, &by.user, &title, &content],
        )
        .await
        .or_backend()?;
        finish(tx, PostChange::Done).await
    }

    async fn post_history(&self, post: PostId) -> Result<Option<PostHistory>> {
        let mut c = self.client().await?;
        // One snapshot for the post and its revisions.
        let tx = c
            .build_transaction()
            .read_only(true)
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .start()
            .await
            .or_backend()?;
        let Some(row) = tx
            .query_opt(
                "SELECT b.name, p.author, p.created_at, p.title, p.content
                 FROM posts p JOIN boards b ON b.id = p.board_id WHERE p.id = $1",
                &[&signed(post)],
            )
            .await
            .or_backend()?
        else {
            return Ok(None);
        };
        let author: String = row.get(1);
        let as_written = Revision { at: row.get(2), editor: author.clone(), title: row.get(3), content: row.get(4) };
        let mut revisions: Vec<Revision> = tx
            .query(
                "SELECT at, editor, title, content FROM post_revisions WHERE post_id = $1 ORDER BY id",
                &[&signed(post)],
            )
            .await
            .or_backend()?
            .iter()
            .map(|r| Revision { at: r.get(0), editor: r.get(1), title: r.get(2), content: r.get(3) })
            .collect();
        if revisions.is_empty() {
            revisions.push(as_written);
        }
        Ok(Some(PostHistory { board: row.get(0), author, revisions }))
    }

    async fn mod_log(&self, board: &str, rows: u64) -> Result<Vec<AuditRow>> {
        let c = self.client().await?;
        let found = c
            .query(
                "SELECT l.at, l.actor, l.action, l.target, l.reason FROM mod_log l JOIN boards b ON b.id = l.board_id
                 WHERE b.name = $1 ORDER BY l.id DESC LIMIT $2",
                &[&board, &signed(rows)],
            )
            .await
            .or_backend()?;
        let mut log: Vec<AuditRow> = found
            .iter()
            .map(|r| AuditRow { at: r.get(0), actor: r.get(1), action: r.get(2), target: r.get(3), reason: r.get(4) })
            .collect();
        log.reverse();
        Ok(log)
    }

    async fn report(&self, post: PostId, reason: &str, by: &Acting) -> Result<Reporting> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        let Some(facts) = post_facts(&tx, post, Hold::Shared).await? else { return Ok(Reporting::NoPost) };
        if banned(&tx, facts.board.id, &by.user, by.at).await? {
            return Ok(Reporting::Banned);
        }
        if facts.author == by.user {
            return Ok(Reporting::OwnPost);
        }
        lock_user(&tx, "reports", &by.user).await?;
        let reported = tx
            .query_opt("SELECT 1 FROM reports WHERE post_id = $1 AND reporter = $2", &[&signed(post), &by.user])
            .await
            .or_backend()?
            .is_some();
        if reported {
            return Ok(Reporting::AlreadyReported);
        }
        let today: i64 = tx
            .query_one("SELECT count(*) FROM reports WHERE reporter = $1 AND at > $2", &[&by.user, &(by.at - DAY)])
            .await
            .or_backend()?
            .get(0);
        if today >= MAX_REPORTS_A_DAY as i64 {
            return Ok(Reporting::TooMany);
        }
        tx.execute(
            "INSERT INTO reports (post_id, board_id, reporter, reason, at) VALUES ($1, $2, $3, $4, $5)",
            &[&signed(post), &facts.board.id, &by.user, &reason, &by.at],
        )
        .await
        .or_backend()?;
        finish(tx, Reporting::Done).await
    }

    async fn reports(&self, board: &str, all: bool) -> Result<Vec<ReportRow>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT r.id, r.post_id, r.reporter, r.reason, r.status FROM reports r JOIN boards b ON b.id = r.board_id
                 WHERE b.name = $1 AND ($2 OR r.status = 0) ORDER BY r.id",
                &[&board, &all],
            )
            .await
            .or_backend()?;
        Ok(rows
            .iter()
            .map(|r| ReportRow {
                id: unsigned(r.get(0)),
                post: unsigned(r.get(1)),
                reporter: r.get(2),
                reason: r.get(3),
                status: report_status(r.get(4)).to_owned(),
            })
            .collect())
    }

    async fn resolve_report(&self, report: u64, accept: bool, note: &str, by: &Acting) -> Result<Resolution> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        let Some(row) = tx
            .query_opt("SELECT board_id, status, post_id FROM reports WHERE id = $1 FOR UPDATE", &[&signed(report)])
            .await
            .or_backend()?
        else {
            return Ok(Resolution::NoReport);
        };
        let (board, status, post): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        if !is_moderator(&tx, &board_numbered(&tx, board, Hold::Shared).await?, &by.user, by.sysop).await? {
            return Ok(Resolution::NotModerator);
        }
        if status != 0 {
            return Ok(Resolution::AlreadyResolved);
        }
        let status: i64 = if accept { 1 } else { 2 };
        tx.execute("UPDATE reports SET status = $2 WHERE id = $1", &[&signed(report), &status]).await.or_backend()?;
        let target = format!("report {report} on {post}: {}", report_status(status));
        audit(&tx, Some(board), by, "resolve-report", &target, note).await?;
        finish(tx, Resolution::Done).await
    }

    async fn suspend(&self, user: &str, until: Timestamp, reason: &str, by: &Acting) -> Result<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        let n = tx
            .execute(
                "UPDATE users SET suspended_until = $2, suspended_reason = $3 WHERE name = $1",
                &[&user, &until, &reason],
            )
            .await
            .or_backend()?;
        if n == 1 {
            audit(&tx, None, by, "suspend", user, reason).await?;
        }
        finish(tx, n == 1).await
    }

    async fn unsuspend(&self, user: &str, by: &Acting) -> Result<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        let n = tx
            .execute("UPDATE users SET suspended_until = 0, suspended_reason = '' WHERE name = $1", &[&user])
            .await
            .or_backend()?;
        if n == 1 {
            audit(&tx, None, by, "unsuspend", user, "").await?;
        }
        finish(tx, n == 1).await
    }

    async fn suspension(&self, user: &str, at: Timestamp) -> Result<Option<Suspension>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT suspended_until, suspended_reason FROM users WHERE name = $1 AND suspended_until > $2",
                &[&user, &at],
            )
            .await
            .or_backend()?;
        Ok(row.map(|r| Suspension { until: r.get(0), reason: r.get(1) }))
    }

    async fn purge_user_posts(&self, user: &str, reason: &str, by: &Acting, keep_seconds: i64) -> Result<Option<u64>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        if !user_exists(&tx, user).await? {
            return Ok(None);
        }
        purge_expired(&tx, by.at, keep_seconds).await?;
        let posts = tx
            .query("SELECT id, board_id FROM posts WHERE author = $1 ORDER BY id FOR UPDATE", &[&user])
            .await
            .or_backend()?;
        for row in &posts {
            let (post, board): (i64, i64) = (row.get(0), row.get(1));
            move_to_bin(&tx, unsigned(post), &by.user, by.at, reason).await?;
            audit(&tx, Some(board), by, "delete", &post.to_string(), reason).await?;
        }
        finish(tx, Some(posts.len() as u64)).await
    }
}
