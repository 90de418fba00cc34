//! [`ModerationStore`] on SQLite. Each method is one closure on the writer
//! thread (one transaction), so the rule it checks (the moderator count,
//! a ban, the pin limit, the daily reports) and the write it guards
//! cannot be separated by another request.
//!
//! The recycle bin is a pair of tables beside `posts` and `comments`: a
//! deleted post moves there whole (row, count, comments in order) and
//! moves back with the same S/N, so every read of live posts stays as it
//! was and never has to skip deleted rows.

use bbs_storage::{
    Acting, AuditRow, BanChange, BanRow, BoardSetting, CreatedPost, Moderated, ModerationStore, ModeratorChange,
    NewBan, NewPost, Pinning, PostChange, PostEdit, PostHistory, PostId, PostSummary, RecycledRow, Refusal, Removal,
    ReportRow, Reporting, Resolution, Restoral, Result, Revision, Suspension, Timestamp, MAX_ADDED_MODERATORS,
    MAX_PINNED, MAX_REPORTS_A_DAY,
};
use rusqlite::{params, Connection, OptionalExtension};

use crate::cache::{Cache, Key, Value};
use crate::sqlite::{apply_edit, insert_post};
use crate::{search, SqliteStore};

/// Seconds in a day.
const DAY: i64 = 24 * 60 * 60;

/// What the rules need to know of a board.
pub(crate) struct BoardFacts {
    pub id: i64,
    pub owner: String,
    no_boo: bool,
    push_interval: i64,
    min_days: i64,
}

const BOARD_COLUMNS: &str = "b.id, b.moderator, b.no_boo, b.push_interval, b.min_days";

fn board_facts(r: &rusqlite::Row<'_>) -> rusqlite::Result<BoardFacts> {
    Ok(BoardFacts { id: r.get(0)?, owner: r.get(1)?, no_boo: r.get(2)?, push_interval: r.get(3)?, min_days: r.get(4)? })
}

fn board_named(c: &Connection, name: &str) -> rusqlite::Result<Option<BoardFacts>> {
    c.prepare_cached(&format!("SELECT {BOARD_COLUMNS} FROM boards b WHERE b.name = ?1"))?
        .query_row([name], board_facts)
        .optional()
}

fn board_numbered(c: &Connection, id: i64) -> rusqlite::Result<BoardFacts> {
    c.prepare_cached(&format!("SELECT {BOARD_COLUMNS} FROM boards b WHERE b.id = ?1"))?.query_row([id], board_facts)
}

/// A live post's author and whether it is pinned, with its board.
pub(crate) struct PostFacts {
    pub author: String,
    pub pinned: bool,
    pub board: BoardFacts,
}

pub(crate) fn post_facts(c: &Connection, post: PostId) -> rusqlite::Result<Option<PostFacts>> {
    let row: Option<(String, bool, i64)> = c
        .prepare_cached("SELECT author, pinned_at IS NOT NULL, board_id FROM posts WHERE id = ?1")?
        .query_row([post], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((author, pinned, board)) = row else { return Ok(None) };
    Ok(Some(PostFacts { author, pinned, board: board_numbered(c, board)? }))
}

/// The owner, a sysop, or a moderator the owner added.
pub(crate) fn is_moderator(c: &Connection, board: &BoardFacts, user: &str, sysop: bool) -> rusqlite::Result<bool> {
    if sysop || board.owner == user {
        return Ok(true);
    }
    Ok(c.prepare_cached("SELECT 1 FROM board_moderators WHERE board_id = ?1 AND user = ?2")?
        .query_row(params![board.id, user], |_| Ok(()))
        .optional()?
        .is_some())
}

fn banned(c: &Connection, board: i64, user: &str, at: Timestamp) -> rusqlite::Result<bool> {
    Ok(c.prepare_cached("SELECT 1 FROM bans WHERE board_id = ?1 AND user = ?2 AND until > ?3")?
        .query_row(params![board, user, at], |_| Ok(()))
        .optional()?
        .is_some())
}

fn user_exists(c: &Connection, user: &str) -> rusqlite::Result<bool> {
    Ok(c.prepare_cached("SELECT 1 FROM users WHERE name = ?1")?.query_row([user], |_| Ok(())).optional()?.is_some())
}

/// Appends a row to the audit log (its triggers refuse any other change).
fn audit(
    c: &Connection,
    board: Option<i64>,
    by: &Acting,
    action: &str,
    target: &str,
    reason: &str,
) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO mod_log (board_id, at, actor, action, target, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![board, by.at, by.user, action, target, reason])?;
    Ok(())
}

/// What keeps `user` from writing on `board` at `at`, if anything: a ban,
/// a boo where boos are off, or (for non-moderators) an account younger
/// than the board's least age or a comment sooner than its interval.
pub(crate) fn member_refusal(
    c: &Connection,
    board: &BoardFacts,
    user: &str,
    sysop: bool,
    at: Timestamp,
    boo: bool,
    comment: bool,
) -> rusqlite::Result<Option<Refusal>> {
    if banned(c, board.id, user, at)? {
        return Ok(Some(Refusal::Banned));
    }
    if boo && board.no_boo {
        return Ok(Some(Refusal::NoBoos));
    }
    let interval = if comment { board.push_interval } else { 0 };
    if (board.min_days == 0 && interval == 0) || is_moderator(c, board, user, sysop)? {
        return Ok(None);
    }
    if board.min_days > 0 {
        let registered: Option<i64> = c
            .prepare_cached("SELECT registered_at FROM users WHERE name = ?1")?
            .query_row([user], |r| r.get(0))
            .optional()?;
        if at - registered.unwrap_or(0) < board.min_days * DAY {
            return Ok(Some(Refusal::Requirements));
        }
    }
    if interval > 0 {
        let last: Option<i64> = c
            .prepare_cached(
                "SELECT max(m.created_at) FROM comments m JOIN posts p ON p.id = m.post_id
                 WHERE m.author = ?1 AND m.created_at > ?2 AND p.board_id = ?3",
            )?
            .query_row(params![user, at - interval, board.id], |r| r.get(0))?;
        if last.is_some() {
            return Ok(Some(Refusal::Requirements));
        }
    }
    Ok(None)
}

/// Moves a live post (row, count, comments in order) to the recycle bin;
/// its open reports are resolved (accepted) with it.
fn move_to_bin(c: &Connection, post: PostId, by: &str, at: Timestamp, reason: &str) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO recycled_posts
            (id, board_id, author, title, content, created_at, push_count, deleted_by, deleted_at, reason)
         SELECT id, board_id, author, title, content, created_at, push_count, ?2, ?3, ?4 FROM posts WHERE id = ?1",
    )?
    .execute(params![post, by, at, reason])?;
    c.prepare_cached(
        "INSERT INTO recycled_comments (post_id, author, text, created_at, kind)
         SELECT post_id, author, text, created_at, kind FROM comments WHERE post_id = ?1 ORDER BY id",
    )?
    .execute([post])?;
    c.prepare_cached("DELETE FROM comments WHERE post_id = ?1")?.execute([post])?;
    c.prepare_cached("DELETE FROM posts WHERE id = ?1")?.execute([post])?;
    c.prepare_cached("UPDATE reports SET status = 1 WHERE post_id = ?1 AND status = 0")?.execute([post])?;
    search::post_deleted(c, post)
}

/// Purges what stayed in the bin for `keep_seconds` (no background sweep:
/// every write to the bin does this first).
fn purge_expired(c: &Connection, at: Timestamp, keep_seconds: i64) -> rusqlite::Result<()> {
    let before = at - keep_seconds;
    c.prepare_cached(
        "DELETE FROM post_revisions WHERE post_id IN (SELECT id FROM recycled_posts WHERE deleted_at <= ?1)",
    )?
    .execute([before])?;
    c.prepare_cached("DELETE FROM recycled_posts WHERE deleted_at <= ?1")?.execute([before])?;
    Ok(())
}

/// The revision of a post as it is now, kept before its first edit (so the
/// history starts with the post as written).
fn keep_first_revision(c: &Connection, post: PostId) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO post_revisions (post_id, at, editor, title, content)
         SELECT id, created_at, author, title, content FROM posts
         WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM post_revisions WHERE post_id = ?1)",
    )?
    .execute([post])?;
    Ok(())
}

fn setting_words(setting: BoardSetting) -> String {
    match setting {
        BoardSetting::NoBoo(on) => format!("--no-boo {}", if on { "on" } else { "off" }),
        BoardSetting::PushInterval(s) => format!("--push-interval {s}"),
        BoardSetting::MinDays(d) => format!("--min-days {d}"),
    }
}

impl ModerationStore for SqliteStore {
    async fn add_moderator(&self, board: &str, user: &str, by: &Acting) -> Result<ModeratorChange> {
        let (board, user, by) = (board.to_owned(), user.to_owned(), by.clone());
        self.write_then(
            move |c| {
                let Some(facts) = board_named(c, &board)? else { return Ok(ModeratorChange::NoBoard) };
                if facts.owner != by.user && !by.sysop {
                    return Ok(ModeratorChange::NotOwner);
                }
                if !user_exists(c, &user)? {
                    return Ok(ModeratorChange::NoUser);
                }
                if is_moderator(c, &facts, &user, false)? {
                    return Ok(ModeratorChange::AlreadyModerator);
                }
                let added: usize = c
                    .prepare_cached("SELECT count(*) FROM board_moderators WHERE board_id = ?1")?
                    .query_row([facts.id], |r| r.get(0))?;
                if added >= MAX_ADDED_MODERATORS {
                    return Ok(ModeratorChange::TooMany);
                }
                c.prepare_cached("INSERT INTO board_moderators (board_id, user) VALUES (?1, ?2)")?
                    .execute(params![facts.id, user])?;
                audit(c, Some(facts.id), &by, "add-moderator", &user, "")?;
                Ok(ModeratorChange::Done)
            },
            |cache, outcome| {
                if *outcome == ModeratorChange::Done {
                    cache.remove(&Key::Boards);
                }
            },
        )
        .await
    }

    async fn remove_moderator(&self, board: &str, user: &str, by: &Acting) -> Result<ModeratorChange> {
        let (board, user, by) = (board.to_owned(), user.to_owned(), by.clone());
        self.write_then(
            move |c| {
                let Some(facts) = board_named(c, &board)? else { return Ok(ModeratorChange::NoBoard) };
                if facts.owner != by.user && !by.sysop {
                    return Ok(ModeratorChange::NotOwner);
                }
                if facts.owner == user {
                    return Ok(ModeratorChange::IsOwner);
                }
                let n = c
                    .prepare_cached("DELETE FROM board_moderators WHERE board_id = ?1 AND user = ?2")?
                    .execute(params![facts.id, user])?;
                if n == 0 {
                    return Ok(ModeratorChange::NotModerator);
                }
                audit(c, Some(facts.id), &by, "remove-moderator", &user, "")?;
                Ok(ModeratorChange::Done)
            },
            |cache, outcome| {
                if *outcome == ModeratorChange::Done {
                    cache.remove(&Key::Boards);
                }
            },
        )
        .await
    }

    async fn moderates(&self, board: &str, user: &str, sysop: bool) -> Result<Option<bool>> {
        let (board, user) = (board.to_owned(), user.to_owned());
        self.read(move |c| match board_named(c, &board)? {
            None => Ok(None),
            Some(facts) => is_moderator(c, &facts, &user, sysop).map(Some),
        })
        .await
    }

    async fn ban(&self, ban: NewBan, by: &Acting) -> Result<BanChange> {
        let by = by.clone();
        self.write(move |c| {
            let Some(facts) = board_named(c, &ban.board)? else { return Ok(BanChange::NoBoard) };
            if !is_moderator(c, &facts, &by.user, by.sysop)? {
                return Ok(BanChange::NotModerator);
            }
            if !user_exists(c, &ban.user)? {
                return Ok(BanChange::NoUser);
            }
            if is_moderator(c, &facts, &ban.user, false)? {
                return Ok(BanChange::IsModerator);
            }
            if banned(c, facts.id, &ban.user, by.at)? {
                return Ok(BanChange::AlreadyBanned);
            }
            c.prepare_cached(
                "INSERT OR REPLACE INTO bans (board_id, user, until, by, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![facts.id, ban.user, ban.until, by.user, ban.reason])?;
            audit(c, Some(facts.id), &by, "ban", &ban.user, &ban.reason)?;
            Ok(BanChange::Done)
        })
        .await
    }

    async fn unban(&self, board: &str, user: &str, reason: &str, by: &Acting) -> Result<BanChange> {
        let (board, user, reason, by) = (board.to_owned(), user.to_owned(), reason.to_owned(), by.clone());
        self.write(move |c| {
            let Some(facts) = board_named(c, &board)? else { return Ok(BanChange::NoBoard) };
            if !is_moderator(c, &facts, &by.user, by.sysop)? {
                return Ok(BanChange::NotModerator);
            }
            if !banned(c, facts.id, &user, by.at)? {
                return Ok(BanChange::NotBanned);
            }
            c.prepare_cached("DELETE FROM bans WHERE board_id = ?1 AND user = ?2")?.execute(params![facts.id, user])?;
            audit(c, Some(facts.id), &by, "unban", &user, &reason)?;
            Ok(BanChange::Done)
        })
        .await
    }

    async fn bans(&self, board: &str, at: Timestamp) -> Result<Vec<BanRow>> {
        let board = board.to_owned();
        self.read(move |c| {
            c.prepare_cached(
                "SELECT n.user, n.until, n.by, n.reason FROM bans n JOIN boards b ON b.id = n.board_id
                 WHERE b.name = ?1 AND n.until > ?2 ORDER BY n.user",
            )?
            .query_map(params![board, at], |r| {
                Ok(BanRow { user: r.get(0)?, until: r.get(1)?, by: r.get(2)?, reason: r.get(3)? })
            })?
            .collect()
        })
        .await
    }

    async fn set_board(&self, board: &str, setting: BoardSetting, by: &Acting) -> Result<Moderated> {
        let (board, by) = (board.to_owned(), by.clone());
        self.write(move |c| {
            let Some(facts) = board_named(c, &board)? else { return Ok(Moderated::NoBoard) };
            if !is_moderator(c, &facts, &by.user, by.sysop)? {
                return Ok(Moderated::NotModerator);
            }
            let (column, value) = match setting {
                BoardSetting::NoBoo(on) => ("no_boo", i64::from(on)),
                BoardSetting::PushInterval(s) => ("push_interval", s),
                BoardSetting::MinDays(d) => ("min_days", d),
            };
            c.prepare_cached(&format!("UPDATE boards SET {column} = ?2 WHERE id = ?1"))?
                .execute(params![facts.id, value])?;
            audit(c, Some(facts.id), &by, "set-board", &setting_words(setting), "")?;
            Ok(Moderated::Done)
        })
        .await
    }

    async fn create_post_as_member(&self, post: NewPost) -> Result<std::result::Result<CreatedPost, Refusal>> {
        self.write_then(
            move |c| {
                let Some(facts) = board_named(c, &post.board)? else { return Ok(Err(Refusal::Missing)) };
                if let Some(refusal) = member_refusal(c, &facts, &post.author, false, post.created_at, false, false)? {
                    return Ok(Err(refusal));
                }
                // The board was found in this same transaction: it is there.
                let created = insert_post(c, &post)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
                Ok(Ok((created, facts.id)))
            },
            |cache, created| {
                if let Ok((_, board)) = created {
                    cache.remove(&Key::Listing(*board));
                }
            },
        )
        .await
        .map(|created| created.map(|(created, _)| created))
    }

    async fn comment_as_member(
        &self,
        post: PostId,
        text: &str,
        by: &Acting,
    ) -> Result<std::result::Result<(), Refusal>> {
        let (text, by) = (text.to_owned(), by.clone());
        self.write_then(
            move |c| {
                let Some(facts) = post_facts(c, post)? else { return Ok(Err(Refusal::Missing)) };
                if let Some(refusal) = member_refusal(c, &facts.board, &by.user, by.sysop, by.at, false, true)? {
                    return Ok(Err(refusal));
                }
                c.prepare_cached("INSERT INTO comments (post_id, author, text, created_at) VALUES (?1, ?2, ?3, ?4)")?
                    .execute(params![post, by.user, text, by.at])?;
                Ok(Ok(()))
            },
            move |cache, added| {
                if added.is_ok() {
                    cache.remove(&Key::Post(post));
                }
            },
        )
        .await
    }

    async fn recycle_post(
        &self,
        post: PostId,
        by: &Acting,
        reason: Option<&str>,
        keep_seconds: i64,
    ) -> Result<Removal> {
        let (by, reason) = (by.clone(), reason.map(str::to_owned));
        let (removal, board) = self
            .write_then(
                move |c| {
                    let Some(facts) = post_facts(c, post)? else { return Ok((Removal::NoPost, 0)) };
                    let own = facts.author == by.user;
                    // Someone else's post: only a moderator, and only with a reason.
                    let moderating = !own && reason.is_some() && is_moderator(c, &facts.board, &by.user, by.sysop)?;
                    if !own && !moderating {
                        return Ok((Removal::NotOwner, 0));
                    }
                    if facts.pinned {
                        return Ok((Removal::Pinned, 0));
                    }
                    purge_expired(c, by.at, keep_seconds)?;
                    let reason = reason.unwrap_or_default();
                    move_to_bin(c, post, &by.user, by.at, &reason)?;
                    if moderating {
                        audit(c, Some(facts.board.id), &by, "delete", &post.to_string(), &reason)?;
                    }
                    Ok((Removal::Done, facts.board.id))
                },
                move |cache, (removal, board)| {
                    if *removal == Removal::Done {
                        cache.remove(&Key::Post(post));
                        cache.remove(&Key::Listing(*board));
                    }
                },
            )
            .await?;
        let _ = board;
        Ok(removal)
    }

    async fn restore_post(&self, post: PostId, by: &Acting, keep_seconds: i64) -> Result<Restoral> {
        let by = by.clone();
        let (restoral, _) = self
            .write_then(
                move |c| {
                    purge_expired(c, by.at, keep_seconds)?;
                    let row: Option<(i64, String, String)> = c
                        .prepare_cached("SELECT board_id, title, content FROM recycled_posts WHERE id = ?1")?
                        .query_row([post], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                        .optional()?;
                    let Some((board, title, content)) = row else { return Ok((Restoral::NotInBin, 0)) };
                    if !is_moderator(c, &board_numbered(c, board)?, &by.user, by.sysop)? {
                        return Ok((Restoral::NotModerator, 0));
                    }
                    c.prepare_cached(
                        "INSERT INTO posts (id, board_id, author, title, content, created_at, push_count)
                         SELECT id, board_id, author, title, content, created_at, push_count
                         FROM recycled_posts WHERE id = ?1",
                    )?
                    .execute([post])?;
                    c.prepare_cached(
                        "INSERT INTO comments (post_id, author, text, created_at, kind)
                         SELECT post_id, author, text, created_at, kind FROM recycled_comments
                         WHERE post_id = ?1 ORDER BY id",
                    )?
                    .execute([post])?;
                    c.prepare_cached("DELETE FROM recycled_posts WHERE id = ?1")?.execute([post])?;
                    search::index_loaded(c, post, &title, &content)?;
                    audit(c, Some(board), &by, "restore", &post.to_string(), "")?;
                    Ok((Restoral::Done, board))
                },
                move |cache, (restoral, board)| {
                    if *restoral == Restoral::Done {
                        cache.remove(&Key::Post(post));
                        cache.remove(&Key::Listing(*board));
                    }
                },
            )
            .await?;
        Ok(restoral)
    }

    async fn recycled(&self, board: &str, at: Timestamp, keep_seconds: i64) -> Result<Option<Vec<RecycledRow>>> {
        let board = board.to_owned();
        self.read(move |c| {
            let Some(facts) = board_named(c, &board)? else { return Ok(None) };
            c.prepare_cached(
                "SELECT id, title, author, deleted_by, deleted_at, reason FROM recycled_posts
                 WHERE board_id = ?1 AND deleted_at > ?2 ORDER BY deleted_at, id",
            )?
            .query_map(params![facts.id, at - keep_seconds], |r| {
                Ok(RecycledRow {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    author: r.get(2)?,
                    deleted_by: r.get(3)?,
                    deleted_at: r.get(4)?,
                    reason: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map(Some)
        })
        .await
    }

    async fn pin_post(&self, post: PostId, by: &Acting) -> Result<Pinning> {
        let by = by.clone();
        self.write_then(
            move |c| {
                let Some(facts) = post_facts(c, post)? else { return Ok((Pinning::NoPost, 0)) };
                if !is_moderator(c, &facts.board, &by.user, by.sysop)? {
                    return Ok((Pinning::NotModerator, 0));
                }
                if facts.pinned {
                    return Ok((Pinning::AlreadyPinned, 0));
                }
                let (pinned, last): (usize, i64) = c
                    .prepare_cached(
                        "SELECT count(*), coalesce(max(pinned_at), 0) FROM posts
                     WHERE board_id = ?1 AND pinned_at IS NOT NULL",
                    )?
                    .query_row([facts.board.id], |r| Ok((r.get(0)?, r.get(1)?)))?;
                if pinned >= MAX_PINNED {
                    return Ok((Pinning::TooMany, 0));
                }
                c.prepare_cached("UPDATE posts SET pinned_at = ?2 WHERE id = ?1")?.execute(params![post, last + 1])?;
                audit(c, Some(facts.board.id), &by, "pin", &post.to_string(), "")?;
                Ok((Pinning::Done, facts.board.id))
            },
            forget_pins,
        )
        .await
        .map(|(pinning, _)| pinning)
    }

    async fn unpin_post(&self, post: PostId, by: &Acting) -> Result<Pinning> {
        let by = by.clone();
        self.write_then(
            move |c| {
                let Some(facts) = post_facts(c, post)? else { return Ok((Pinning::NoPost, 0)) };
                if !is_moderator(c, &facts.board, &by.user, by.sysop)? {
                    return Ok((Pinning::NotModerator, 0));
                }
                if !facts.pinned {
                    return Ok((Pinning::NotPinned, 0));
                }
                c.prepare_cached("UPDATE posts SET pinned_at = NULL WHERE id = ?1")?.execute([post])?;
                audit(c, Some(facts.board.id), &by, "unpin", &post.to_string(), "")?;
                Ok((Pinning::Done, facts.board.id))
            },
            forget_pins,
        )
        .await
        .map(|(pinning, _)| pinning)
    }

    async fn pinned_posts(&self, board: &str) -> Result<Vec<PostSummary>> {
        let Some(board) = self.board_id(board).await? else { return Ok(Vec::new()) };
        let key = Key::Pinned(board);
        if let Some(Value::Listing(posts)) = self.cached(&key) {
            return Ok(posts.as_ref().clone());
        }
        let (posts, settled) = self
            .read_noting_settled(move |c| {
                c.prepare_cached(
                    "SELECT id, title, author, created_at FROM posts
                     WHERE board_id = ?1 AND pinned_at IS NOT NULL ORDER BY pinned_at",
                )?
                .query_map([board], |r| {
                    Ok(PostSummary { id: r.get(0)?, title: r.get(1)?, author: r.get(2)?, created_at: r.get(3)? })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .await?;
        self.fill(key, Value::Listing(std::sync::Arc::new(posts.clone())), settled);
        Ok(posts)
    }

    async fn edit_post_keeping_history(&self, post: PostId, by: &Acting, edit: PostEdit) -> Result<PostChange> {
        let (editor, at) = (by.user.clone(), by.at);
        self.change_own_post(post, &by.user, move |c| {
            keep_first_revision(c, post)?;
            apply_edit(c, post, edit)?;
            c.prepare_cached(
                "INSERT INTO post_revisions (post_id, at, editor, title, content)
                 SELECT id, ?2, ?3, title, content FROM posts WHERE id = ?1",
            )?
            .execute(params![post, at, editor])?;
            Ok(())
        })
        .await
    }

    async fn post_history(&self, post: PostId) -> Result<Option<PostHistory>> {
        self.read(move |c| {
            let found: Option<(String, String, Revision)> = c
                .prepare_cached(
                    "SELECT b.name, p.author, p.created_at, p.title, p.content
                     FROM posts p JOIN boards b ON b.id = p.board_id WHERE p.id = ?1",
                )?
                .query_row([post], |r| {
                    let author: String = r.get(1)?;
                    Ok((
                        r.get(0)?,
                        author.clone(),
                        Revision { at: r.get(2)?, editor: author, title: r.get(3)?, content: r.get(4)? },
                    ))
                })
                .optional()?;
            let Some((board, author, as_written)) = found else { return Ok(None) };
            let mut revisions: Vec<Revision> = c
                .prepare_cached("SELECT at, editor, title, content FROM post_revisions WHERE post_id = ?1 ORDER BY id")?
                .query_map([post], |r| {
                    Ok(Revision { at: r.get(0)?, editor: r.get(1)?, title: r.get(2)?, content: r.get(3)? })
                })?
                .collect::<rusqlite::Result<_>>()?;
            if revisions.is_empty() {
                revisions.push(as_written);
            }
            Ok(Some(PostHistory { board, author, revisions }))
        })
        .await
    }

    async fn mod_log(&self, board: &str, rows: u64) -> Result<Vec<AuditRow>> {
        let board = board.to_owned();
        let mut log: Vec<AuditRow> = self
            .read(move |c| {
                c.prepare_cached(
                    "SELECT l.at, l.actor, l.action, l.target, l.reason FROM mod_log l JOIN boards b ON b.id = l.board_id
                     WHERE b.name = ?1 ORDER BY l.id DESC LIMIT ?2",
                )?
                .query_map(params![board, rows.min(i64::MAX as u64) as i64], |r| {
                    Ok(AuditRow { at: r.get(0)?, actor: r.get(1)?, action: r.get(2)?, target: r.get(3)?, reason: r.get(4)? })
                })?
                .collect()
            })
            .await?;
        log.reverse();
        Ok(log)
    }

    async fn report(&self, post: PostId, reason: &str, by: &Acting) -> Result<Reporting> {
        let (reason, by) = (reason.to_owned(), by.clone());
        self.write(move |c| {
            let Some(facts) = post_facts(c, post)? else { return Ok(Reporting::NoPost) };
            if banned(c, facts.board.id, &by.user, by.at)? {
                return Ok(Reporting::Banned);
            }
            if facts.author == by.user {
                return Ok(Reporting::OwnPost);
            }
            let reported = c
                .prepare_cached("SELECT 1 FROM reports WHERE post_id = ?1 AND reporter = ?2")?
                .query_row(params![post, by.user], |_| Ok(()))
                .optional()?
                .is_some();
            if reported {
                return Ok(Reporting::AlreadyReported);
            }
            let today: usize = c
                .prepare_cached("SELECT count(*) FROM reports WHERE reporter = ?1 AND at > ?2")?
                .query_row(params![by.user, by.at - DAY], |r| r.get(0))?;
            if today >= MAX_REPORTS_A_DAY {
                return Ok(Reporting::TooMany);
            }
            c.prepare_cached(
                "INSERT INTO reports (post_id, board_id, reporter, reason, at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![post, facts.board.id, by.user, reason, by.at])?;
            Ok(Reporting::Done)
        })
        .await
    }

    async fn reports(&self, board: &str, all: bool) -> Result<Vec<ReportRow>> {
        let board = board.to_owned();
        self.read(move |c| {
            c.prepare_cached(
                "SELECT r.id, r.post_id, r.reporter, r.reason, r.status FROM reports r JOIN boards b ON b.id = r.board_id
                 WHERE b.name = ?1 AND (?2 OR r.status = 0) ORDER BY r.id",
            )?
            .query_map(params![board, all], |r| {
                Ok(ReportRow {
                    id: r.get(0)?,
                    post: r.get(1)?,
                    reporter: r.get(2)?,
                    reason: r.get(3)?,
                    status: report_status(r.get(4)?).to_owned(),
                })
            })?
            .collect()
        })
        .await
    }

    async fn resolve_report(&self, report: u64, accept: bool, note: &str, by: &Acting) -> Result<Resolution> {
        let (note, by) = (note.to_owned(), by.clone());
        self.write(move |c| {
            let found: Option<(i64, i64, PostId)> = c
                .prepare_cached("SELECT board_id, status, post_id FROM reports WHERE id = ?1")?
                .query_row([report], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            let Some((board, status, post)) = found else { return Ok(Resolution::NoReport) };
            if !is_moderator(c, &board_numbered(c, board)?, &by.user, by.sysop)? {
                return Ok(Resolution::NotModerator);
            }
            if status != 0 {
                return Ok(Resolution::AlreadyResolved);
            }
            let status = if accept { 1 } else { 2 };
            c.prepare_cached("UPDATE reports SET status = ?2 WHERE id = ?1")?.execute(params![report, status])?;
            let target = format!("report {report} on {post}: {}", report_status(status));
            audit(c, Some(board), &by, "resolve-report", &target, &note)?;
            Ok(Resolution::Done)
        })
        .await
    }

    async fn suspend(&self, user: &str, until: Timestamp, reason: &str, by: &Acting) -> Result<bool> {
        let (user, reason, by) = (user.to_owned(), reason.to_owned(), by.clone());
        self.write(move |c| {
            let n = c
                .prepare_cached("UPDATE users SET suspended_until = ?2, suspended_reason = ?3 WHERE name = ?1")?
                .execute(params![user, until, reason])?;
            if n == 1 {
                audit(c, None, &by, "suspend", &user, &reason)?;
            }
            Ok(n == 1)
        })
        .await
    }

    async fn unsuspend(&self, user: &str, by: &Acting) -> Result<bool> {
        let (user, by) = (user.to_owned(), by.clone());
        self.write(move |c| {
            let n = c
                .prepare_cached("UPDATE users SET suspended_until = 0, suspended_reason = '' WHERE name = ?1")?
                .execute([&user])?;
            if n == 1 {
                audit(c, None, &by, "unsuspend", &user, "")?;
            }
            Ok(n == 1)
        })
        .await
    }

    async fn suspension(&self, user: &str, at: Timestamp) -> Result<Option<Suspension>> {
        let user = user.to_owned();
        self.read(move |c| {
            c.prepare_cached(
                "SELECT suspended_until, suspended_reason FROM users WHERE name = ?1 AND suspended_until > ?2",
            )?
            .query_row(params![user, at], |r| Ok(Suspension { until: r.get(0)?, reason: r.get(1)? }))
            .optional()
        })
        .await
    }

    async fn purge_user_posts(&self, user: &str, reason: &str, by: &Acting, keep_seconds: i64) -> Result<Option<u64>> {
        let (user, reason, by) = (user.to_owned(), reason.to_owned(), by.clone());
        let moved = self
            .write_then(
                move |c| {
                    if !user_exists(c, &user)? {
                        return Ok(None);
                    }
                    purge_expired(c, by.at, keep_seconds)?;
                    let posts: Vec<(PostId, i64)> = c
                        .prepare_cached("SELECT id, board_id FROM posts WHERE author = ?1 ORDER BY id")?
                        .query_map([&user], |r| Ok((r.get(0)?, r.get(1)?)))?
                        .collect::<rusqlite::Result<_>>()?;
                    for &(post, board) in &posts {
                        move_to_bin(c, post, &by.user, by.at, &reason)?;
                        audit(c, Some(board), &by, "delete", &post.to_string(), &reason)?;
                    }
                    Ok(Some(posts))
                },
                |cache, moved| {
                    for &(post, board) in moved.iter().flatten() {
                        cache.remove(&Key::Post(post));
                        cache.remove(&Key::Listing(board));
                        cache.remove(&Key::Pinned(board));
                    }
                },
            )
            .await?;
        Ok(moved.map(|posts| posts.len() as u64))
    }
}

/// After a pin or unpin: the board's pinned posts leave the cache.
fn forget_pins(cache: &mut Cache, (pinning, board): &(Pinning, i64)) {
    if *pinning == Pinning::Done {
        cache.remove(&Key::Pinned(*board));
    }
}

/// A report's status as `list-report` shows it.
fn report_status(code: i64) -> &'static str {
    match code {
        0 => "open",
        1 => "accepted",
        _ => "rejected",
    }
}
