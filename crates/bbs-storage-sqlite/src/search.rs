//! Search and subscriptions on SQLite: the full-text index, kept in the
//! same transaction as each post's write, and the subscriptions and missed
//! notifications ([`bbs_storage::SearchStore`]).
//!
//! **The index.** An FTS5 table, `post_text`, contentless (the text lives
//! in `posts`; the index keeps only what it needs to find row ids) with
//! `contentless_delete=1`, so an edit or a deletion removes a post's
//! entries by row id alone. Its tokenizer is FTS5's `unicode61` (Unicode
//! case folding, diacritics removed): words of Latin-like scripts are
//! tokens. `unicode61` would make one token of a whole run of CJK
//! characters (they have no spaces between words), so before the text
//! reaches FTS5 every CJK run is rewritten as its overlapping pairs of
//! characters, `網路程式` as `網路 路程 程式 式` (the run's last character
//! alone ends it). A CJK search word becomes the phrase of its own pairs,
//! which matches exactly where those characters stand next to each other:
//! `作業` finds `網路程式設計作業`. FTS5's `trigram` tokenizer would find
//! substrings too, but only of three characters or more, and most Chinese
//! words have two.
//!
//! **Subscriptions** are indexed by (kind, target): matching a new post
//! looks up that board's and that author's rows only, however many
//! subscriptions exist, and checks their keywords against the title.
//! Keywords are stored lower-cased (`fold_case`), and compared with
//! `instr`, so `%` and `_` are ordinary characters.

use rusqlite::functions::FunctionFlags;
use rusqlite::{params, Connection, OptionalExtension};

use bbs_storage::{
    fold_case, is_cjk, CreatedPost, Missed, NewPost, Notice, PostId, Result, SearchHit, SearchStore, Subscribed,
    SubscriptionKind, SubscriptionRow, MISSED_KEPT,
};

use crate::SqliteStore;

/// Makes `search_text(text)` (the text as the index gets it) callable from
/// SQL, for the migration that indexes the posts already stored.
pub(crate) fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "search_text",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(index_text(&ctx.get::<String>(0)?)),
    )
}

/// A piece of text: a run of CJK characters, or anything else.
enum Run<'a> {
    Cjk(Vec<char>),
    Other(&'a str),
}

fn runs(text: &str) -> Vec<Run<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut cjk: Vec<char> = Vec::new();
    for (i, c) in text.char_indices() {
        if is_cjk(c) {
            if start < i {
                out.push(Run::Other(&text[start..i]));
            }
            cjk.push(c);
            start = i + c.len_utf8();
        } else if !cjk.is_empty() {
            out.push(Run::Cjk(std::mem::take(&mut cjk)));
        }
    }
    if !cjk.is_empty() {
        out.push(Run::Cjk(cjk));
    }
    if start < text.len() {
        out.push(Run::Other(&text[start..]));
    }
    out
}

/// Pushes the overlapping pairs of a CJK run, separated by spaces.
fn push_pairs(out: &mut String, run: &[char]) {
    for pair in run.windows(2) {
        out.push(' ');
        out.extend(pair);
    }
}

/// The text as the index sees it: CJK runs as overlapping pairs, then
/// their last character alone (so a one-character search finds it too).
pub(crate) fn index_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for run in runs(text) {
        match run {
            Run::Other(s) => out.push_str(s),
            Run::Cjk(chars) => {
                push_pairs(&mut out, &chars);
                out.push(' ');
                out.push(*chars.last().expect("a run is never empty"));
                out.push(' ');
            }
        }
    }
    out
}

/// One search word as an FTS5 phrase, or `None` if it has no letters or
/// digits (FTS5 would find no token in it).
fn phrase(word: &str) -> Option<String> {
    if !word.chars().any(char::is_alphanumeric) {
        return None;
    }
    let runs = runs(word);
    let mut tokens = String::new();
    let mut prefix = false;
    for (i, run) in runs.iter().enumerate() {
        let last = i + 1 == runs.len();
        match run {
            Run::Other(s) => {
                tokens.push(' ');
                tokens.push_str(s);
            }
            // The run's pairs; in the text, a run may go on after them,
            // unless something else follows it within this word too.
            Run::Cjk(chars) => {
                push_pairs(&mut tokens, chars);
                if !last {
                    tokens.push(' ');
                    tokens.push(*chars.last().expect("a run is never empty"));
                } else if chars.len() == 1 {
                    // One character at the end: the first of some pair, or
                    // a run's lone last character.
                    tokens.push(' ');
                    tokens.push(chars[0]);
                    prefix = true;
                }
            }
        }
    }
    // A string in double quotes is one phrase whatever it holds; FTS5's
    // own syntax characters inside it are ordinary.
    let quoted = format!("\"{}\"", tokens.trim().replace('"', "\"\""));
    Some(if prefix { format!("{quoted} *") } else { quoted })
}

/// The FTS5 query for posts containing every word, or `None` if no word
/// can be searched for.
pub(crate) fn match_expression(words: &[String]) -> Option<String> {
    let phrases: Vec<String> = words.iter().filter_map(|w| phrase(w)).collect();
    (!phrases.is_empty()).then(|| phrases.join(" AND "))
}

/// Prepares the writer's connection for [`index`]: a temporary table where
/// a batch's index entries wait until [`flush_pending_index`].
///
/// Why not straight into the FTS5 table: FTS5 writes its pending terms out
/// as a new segment at every savepoint, and every write of a batch runs in
/// a savepoint of its own. Indexing inside 100 writes made 100 tiny
/// segments (and merge work later); indexing once at the end of the batch,
/// outside the savepoints, makes one. The entries are gone before COMMIT,
/// in the same transaction, so no reader ever sees the difference.
pub(crate) fn prepare_writer(c: &Connection) -> rusqlite::Result<()> {
    c.execute_batch(
        "PRAGMA temp_store = MEMORY;
         CREATE TEMP TABLE pending_index (post_id INTEGER PRIMARY KEY, title TEXT NOT NULL, content TEXT NOT NULL);",
    )
}

/// Queues post `id` for the index (writer connection only).
fn index(c: &Connection, id: PostId, title: &str, content: &str) -> rusqlite::Result<()> {
    c.prepare_cached("INSERT INTO temp.pending_index (post_id, title, content) VALUES (?1, ?2, ?3)")?
        .execute(params![id, index_text(title), index_text(content)])?;
    Ok(())
}

fn unindex(c: &Connection, id: PostId) -> rusqlite::Result<()> {
    c.prepare_cached("DELETE FROM temp.pending_index WHERE post_id = ?1")?.execute([id])?;
    c.prepare_cached("DELETE FROM post_text WHERE rowid = ?1")?.execute([id])?;
    Ok(())
}

/// At the end of a batch, before its COMMIT and outside any savepoint:
/// moves the batch's queued entries into the index.
pub(crate) fn flush_pending_index(c: &Connection) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO post_text (rowid, title, content) SELECT post_id, title, content FROM temp.pending_index",
    )?
    .execute([])?;
    c.prepare_cached("DELETE FROM temp.pending_index")?.execute([])?;
    Ok(())
}

/// Inside `create_post`'s transaction, once the post is stored as `id`
/// (`None`: no such board, nothing to do): indexes it, and records a
/// missed notification for every subscriber it matches. Those of them who
/// are online lose theirs again when the live notification reached them
/// ([`SearchStore::delivered`]). Returns the post and whom it concerns.
pub(crate) fn post_created(
    c: &Connection,
    id: Option<PostId>,
    post: &NewPost,
) -> rusqlite::Result<Option<CreatedPost>> {
    let Some(id) = id else { return Ok(None) };
    index(c, id, &post.title, &post.content)?;
    let subscribers = matching_subscribers(c, &post.board, &post.author, &post.title)?;
    for user in &subscribers {
        c.prepare_cached("INSERT INTO notices (user, post_id, board, title, author) VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute(params![user, id, post.board, post.title, post.author])?;
        let missed: u64 = c
            .prepare_cached(
                "INSERT INTO notice_counts (user, missed) VALUES (?1, 1)
                 ON CONFLICT (user) DO UPDATE SET missed = missed + 1 RETURNING missed",
            )?
            .query_row([&user], |r| r.get(0))?;
        // Trimmed in steps of TRIM_STEP, not at every notice: a subscriber
        // away for long keeps at most MISSED_KEPT + TRIM_STEP rows.
        if missed > MISSED_KEPT as u64 && missed.is_multiple_of(TRIM_STEP) {
            c.prepare_cached(
                "DELETE FROM notices WHERE user = ?1 AND id <= (
                    SELECT id FROM notices WHERE user = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
            )?
            .execute(params![user, MISSED_KEPT])?;
        }
    }
    Ok(Some(CreatedPost { id, subscribers }))
}

/// How often (in notices) a subscriber's old missed notices are trimmed.
const TRIM_STEP: u64 = 32;

/// Inside `edit_post`'s transaction, after the change: indexes the post's
/// new text in place of the old.
pub(crate) fn post_edited(c: &Connection, id: PostId) -> rusqlite::Result<()> {
    let (title, content): (String, String) = c
        .prepare_cached("SELECT title, content FROM posts WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    unindex(c, id)?;
    index(c, id, &title, &content)
}

/// Inside `delete_post`'s transaction: the post leaves the index.
pub(crate) fn post_deleted(c: &Connection, id: PostId) -> rusqlite::Result<()> {
    unindex(c, id)
}

/// Fills the index for the posts a bulk load just wrote.
/// (The bulk loader's own connection, in one transaction with no
/// savepoints: straight into the FTS5 table.)
pub(crate) fn index_loaded(c: &Connection, id: PostId, title: &str, content: &str) -> rusqlite::Result<()> {
    c.prepare_cached("INSERT INTO post_text (rowid, title, content) VALUES (?1, ?2, ?3)")?.execute(params![
        id,
        index_text(title),
        index_text(content)
    ])?;
    Ok(())
}

/// Adds one subscription for a bulk load (no limit, duplicates skipped).
pub(crate) fn load_subscription(
    c: &Connection,
    user: &str,
    kind: SubscriptionKind,
    target: &str,
    keyword: &str,
) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO subscriptions (subscriber, kind, target, keyword, folded) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT DO NOTHING",
    )?
    .execute(params![user, kind_code(kind), target, keyword, fold_case(keyword)])?;
    Ok(())
}

fn kind_code(kind: SubscriptionKind) -> i64 {
    match kind {
        SubscriptionKind::Board => 0,
        SubscriptionKind::Author => 1,
    }
}

/// The distinct subscribers of `board` or of `author` with a keyword in
/// `title`, never `author`: two lookups in `subscriptions_by_target`.
/// (`UNION ALL` and the duplicates removed here: a plain `UNION` built a
/// temporary B-tree for every new post, even when nobody matched.)
fn matching_subscribers(c: &Connection, board: &str, author: &str, title: &str) -> rusqlite::Result<Vec<String>> {
    let mut users: Vec<String> = c
        .prepare_cached(
            "SELECT subscriber FROM subscriptions
              WHERE kind = 0 AND target = ?1 AND subscriber <> ?2 AND instr(?3, folded) > 0
             UNION ALL
             SELECT subscriber FROM subscriptions
              WHERE kind = 1 AND target = ?2 AND subscriber <> ?2 AND instr(?3, folded) > 0",
        )?
        .query_map(params![board, author, fold_case(title)], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    users.sort_unstable();
    users.dedup();
    Ok(users)
}

impl SearchStore for SqliteStore {
    async fn search(&self, words: &[String], limit: usize) -> Result<Vec<SearchHit>> {
        let Some(expression) = match_expression(words) else { return Ok(Vec::new()) };
        self.read(move |c| {
            c.prepare_cached(
                "SELECT p.id, b.name, p.title, p.author, p.created_at
                   FROM (SELECT rowid AS id FROM post_text WHERE post_text MATCH ?1
                          ORDER BY rowid DESC LIMIT ?2) AS hit
                   JOIN posts p ON p.id = hit.id
                   JOIN boards b ON b.id = p.board_id
                  ORDER BY p.id DESC",
            )?
            .query_map(params![expression, limit], |r| {
                Ok(SearchHit {
                    id: r.get(0)?,
                    board: r.get(1)?,
                    title: r.get(2)?,
                    author: r.get(3)?,
                    created_at: r.get(4)?,
                })
            })?
            .collect()
        })
        .await
    }

    async fn subscribe(
        &self,
        user: &str,
        kind: SubscriptionKind,
        target: &str,
        keyword: &str,
        max: usize,
    ) -> Result<Subscribed> {
        let (user, target, keyword) = (user.to_owned(), target.to_owned(), keyword.to_owned());
        self.write(move |c| {
            let folded = fold_case(&keyword);
            let exists = c
                .prepare_cached(
                    "SELECT 1 FROM subscriptions WHERE subscriber = ?1 AND kind = ?2 AND target = ?3 AND folded = ?4",
                )?
                .exists(params![user, kind_code(kind), target, folded])?;
            if exists {
                return Ok(Subscribed::Already);
            }
            let count: usize = c
                .prepare_cached("SELECT count(*) FROM subscriptions WHERE subscriber = ?1")?
                .query_row([&user], |r| r.get(0))?;
            if count >= max {
                return Ok(Subscribed::TooMany);
            }
            c.prepare_cached(
                "INSERT INTO subscriptions (subscriber, kind, target, keyword, folded) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![user, kind_code(kind), target, keyword, folded])?;
            Ok(Subscribed::Added)
        })
        .await
    }

    async fn unsubscribe(&self, user: &str, kind: SubscriptionKind, target: &str) -> Result<bool> {
        let (user, target) = (user.to_owned(), target.to_owned());
        self.write(move |c| {
            let n = c
                .prepare_cached("DELETE FROM subscriptions WHERE subscriber = ?1 AND kind = ?2 AND target = ?3")?
                .execute(params![user, kind_code(kind), target])?;
            Ok(n > 0)
        })
        .await
    }

    async fn subscriptions(&self, user: &str) -> Result<Vec<SubscriptionRow>> {
        let user = user.to_owned();
        self.read(move |c| {
            c.prepare_cached("SELECT kind, target, keyword FROM subscriptions WHERE subscriber = ?1 ORDER BY id")?
                .query_map([user], |r| {
                    let kind =
                        if r.get::<_, i64>(0)? == 0 { SubscriptionKind::Board } else { SubscriptionKind::Author };
                    Ok(SubscriptionRow { kind, target: r.get(1)?, keyword: r.get(2)? })
                })?
                .collect()
        })
        .await
    }

    async fn delivered(&self, post: PostId, users: Vec<String>) -> Result<()> {
        if users.is_empty() {
            return Ok(());
        }
        self.write(move |c| {
            for user in users {
                let n = c
                    .prepare_cached("DELETE FROM notices WHERE user = ?1 AND post_id = ?2")?
                    .execute(params![user, post])?;
                if n > 0 {
                    c.prepare_cached("UPDATE notice_counts SET missed = missed - ?2 WHERE user = ?1")?
                        .execute(params![user, n])?;
                    c.prepare_cached("DELETE FROM notice_counts WHERE user = ?1 AND missed <= 0")?.execute([&user])?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn take_missed(&self, user: &str) -> Result<Missed> {
        let user = user.to_owned();
        // Most logins have nothing waiting: a read answers them, without a
        // trip through the writer and its disk flush.
        let waiting = {
            let user = user.clone();
            self.read(move |c| c.prepare_cached("SELECT 1 FROM notice_counts WHERE user = ?1")?.exists([user])).await?
        };
        if !waiting {
            return Ok(Missed::default());
        }
        self.write(move |c| {
            let total: u64 = c
                .prepare_cached("DELETE FROM notice_counts WHERE user = ?1 RETURNING missed")?
                .query_row([&user], |r| r.get(0))
                .optional()?
                .unwrap_or(0);
            let latest = c
                .prepare_cached("DELETE FROM notices WHERE user = ?1 RETURNING id, post_id, board, title, author")?
                .query_map([&user], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        Notice { post: r.get(1)?, board: r.get(2)?, title: r.get(3)?, author: r.get(4)? },
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut latest = latest;
            // RETURNING gives no order: put them back in the order they came.
            latest.sort_by_key(|(id, _)| *id);
            let skip = latest.len().saturating_sub(MISSED_KEPT);
            let latest: Vec<Notice> = latest.into_iter().skip(skip).map(|(_, n)| n).collect();
            Ok(Missed { total: total.max(latest.len() as u64), latest })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_runs_become_overlapping_pairs_and_other_text_stays() {
        assert_eq!(index_text("網路程式設計作業"), " 網路 路程 程式 式設 設計 計作 作業 業 ");
        assert_eq!(index_text("NP_HW2作業 is due"), "NP_HW2 作業 業  is due");
        assert_eq!(index_text("a作b"), "a 作 b");
    }

    #[test]
    fn search_words_become_quoted_phrases() {
        let words = |w: &[&str]| match_expression(&w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(words(&["作業"]).unwrap(), "\"作業\"");
        assert_eq!(words(&["程式設計"]).unwrap(), "\"程式 式設 設計\"");
        assert_eq!(words(&["作"]).unwrap(), "\"作\" *");
        assert_eq!(words(&["HW2作業x"]).unwrap(), "\"HW2 作業 業 x\"");
        assert_eq!(words(&["say\"hi", "NEAR("]).unwrap(), "\"say\"\"hi\" AND \"NEAR(\"");
        assert_eq!(words(&["!!", "--"]), None);
    }
}
