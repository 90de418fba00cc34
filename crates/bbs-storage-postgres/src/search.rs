//! Full-text search, subscriptions and missed notifications on PostgreSQL.
//!
//! The index is a `tsvector` column of each post, built here rather than
//! by a text-search configuration, so that it follows the same rules as
//! the SQLite backend: words are runs of letters and digits, lower-cased;
//! a run of CJK characters becomes its overlapping pairs of characters
//! (`網路程式` → `網路 路程 程式`) plus its last character, so a CJK word of
//! two characters or more matches wherever those characters stand next to
//! each other. A search word becomes a phrase query (`<->`) over the same
//! tokens. The title and the content are apart by a gap of positions, so a
//! phrase never runs from one into the other. `pg_trgm` is not needed.

use std::fmt::Write;

use bbs_storage::{
    fold_case, is_cjk, Missed, NewPost, Notice, PostId, Result, SearchHit, SearchStore, Subscribed, SubscriptionKind,
    SubscriptionRow, MISSED_KEPT,
};
use deadpool_postgres::Transaction;

use crate::{commit, lock_user, signed, unsigned, OrBackend, PostgresStore};

/// The tokens of `text`, in order: lower-cased runs of letters and digits
/// outside CJK, and for each CJK run its pairs then its last character.
/// With `for_query`, a CJK run gives only its pairs (a one-character run
/// gives itself), which is what a phrase over the indexed tokens needs;
/// the last character of a run is only followed by more tokens when the
/// word goes on after it.
fn tokens(text: &str, for_query: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut cjk: Vec<char> = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if is_cjk(c) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            cjk.push(c);
            let run_ends = chars.get(i + 1).is_none_or(|&n| !is_cjk(n));
            if run_ends {
                for pair in cjk.windows(2) {
                    out.push(pair.iter().collect());
                }
                let more_follows = chars[i + 1..].iter().any(|c| c.is_alphanumeric());
                if !for_query || cjk.len() == 1 || more_follows {
                    out.push(c.to_string());
                }
                cjk.clear();
            }
        } else if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        } else if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// A lexeme quoted for `tsvector`/`tsquery` text (quotes and backslashes
/// doubled: tokens are letters and digits, but the quoting does not rely
/// on it).
fn quoted(token: &str) -> String {
    format!("'{}'", token.replace('\\', "\\\\").replace('\'', "''"))
}

/// Positions a `tsvector` holds at most; later tokens share the last one
/// (they still match as words, phrases that far in may not).
const MAX_POSITION: usize = 16383;

/// The positions left between the title's tokens and the content's.
const COLUMN_GAP: usize = 100;

/// The `tsvector` (as text, for a `::tsvector` cast) of a post.
pub(crate) fn index_vector(title: &str, content: &str) -> String {
    let title = tokens(title, false);
    let content = tokens(content, false);
    let content_start = title.len() + COLUMN_GAP;
    let mut positions: std::collections::BTreeMap<String, Vec<usize>> = Default::default();
    let numbered =
        title.into_iter().enumerate().chain(content.into_iter().enumerate().map(|(i, t)| (i + content_start, t)));
    for (i, token) in numbered {
        let list = positions.entry(token).or_default();
        if list.len() < 256 {
            list.push((i + 1).min(MAX_POSITION));
        }
    }
    let mut out = String::new();
    for (token, list) in positions {
        let list: Vec<String> = list.iter().map(usize::to_string).collect();
        let _ = write!(out, "{}:{} ", quoted(&token), list.join(","));
    }
    out
}

/// The `tsquery` (as text) finding posts with every one of `words`; `None`
/// if no word has a letter or digit.
pub(crate) fn query(words: &[String]) -> Option<String> {
    let phrases: Vec<String> = words
        .iter()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .filter_map(|w| {
            let tokens = tokens(w, true);
            if tokens.is_empty() {
                return None;
            }
            // A word ending in a lone CJK character matches it as the first
            // character of a pair too (`作` finds `作業`).
            let last_is_lone_cjk = {
                let last = &tokens[tokens.len() - 1];
                last.chars().count() == 1 && last.chars().all(is_cjk) && ends_in_lone_cjk(w)
            };
            let mut parts: Vec<String> = tokens.iter().map(|t| quoted(t)).collect();
            if last_is_lone_cjk {
                let last = parts.len() - 1;
                parts[last].push_str(":*");
            }
            Some(format!("({})", parts.join(" <-> ")))
        })
        .collect();
    (!phrases.is_empty()).then(|| phrases.join(" & "))
}

/// Whether the word's last CJK run is one character with nothing after it.
fn ends_in_lone_cjk(word: &str) -> bool {
    let chars: Vec<char> = word.chars().filter(|c| c.is_alphanumeric()).collect();
    match chars.as_slice() {
        [.., before, last] => is_cjk(*last) && !is_cjk(*before),
        [last] => is_cjk(*last),
        [] => false,
    }
}

fn kind_code(kind: SubscriptionKind) -> i16 {
    match kind {
        SubscriptionKind::Board => 0,
        SubscriptionKind::Author => 1,
    }
}

/// How often (in missed notices) a subscriber's old notices are trimmed
/// down to [`MISSED_KEPT`]: not on every post, to keep posting cheap.
const TRIM_STEP: i64 = 32;

async fn matching_subscribers(
    c: &impl deadpool_postgres::GenericClient,
    board: &str,
    author: &str,
    title: &str,
) -> Result<Vec<String>> {
    let folded = fold_case(title);
    let rows = c
        .query(
            "SELECT subscriber FROM subscriptions
              WHERE kind = 0 AND target = $1 AND subscriber <> $2 AND strpos($3, folded) > 0
             UNION
             SELECT subscriber FROM subscriptions
              WHERE kind = 1 AND target = $2 AND subscriber <> $2 AND strpos($3, folded) > 0
             ORDER BY 1",
            &[&board, &author, &folded],
        )
        .await
        .or_backend()?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Records, in the new post's transaction, one missed notice for every
/// subscriber it matches (removed again by `delivered` for those online);
/// returns those subscribers.
pub(crate) async fn post_created(tx: &Transaction<'_>, id: PostId, post: &NewPost) -> Result<Vec<String>> {
    let subscribers = matching_subscribers(tx, &post.board, &post.author, &post.title).await?;
    for user in &subscribers {
        tx.execute(
            "INSERT INTO notices (username, post_id, board, title, author) VALUES ($1, $2, $3, $4, $5)",
            &[&user, &signed(id), &post.board, &post.title, &post.author],
        )
        .await
        .or_backend()?;
        let missed: i64 = tx
            .query_one(
                "INSERT INTO notice_counts (username, missed) VALUES ($1, 1)
                 ON CONFLICT (username) DO UPDATE SET missed = notice_counts.missed + 1 RETURNING missed",
                &[&user],
            )
            .await
            .or_backend()?
            .get(0);
        if missed > MISSED_KEPT as i64 && missed % TRIM_STEP == 0 {
            tx.execute(
                "DELETE FROM notices WHERE username = $1 AND id <= (
                    SELECT id FROM notices WHERE username = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
                &[&user, &(MISSED_KEPT as i64)],
            )
            .await
            .or_backend()?;
        }
    }
    Ok(subscribers)
}

impl SearchStore for PostgresStore {
    async fn search(&self, words: &[String], limit: usize) -> Result<Vec<SearchHit>> {
        let Some(query) = query(words) else { return Ok(Vec::new()) };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT p.id, b.name, p.title, p.author, p.created_at
                   FROM posts p JOIN boards b ON b.id = p.board_id
                  WHERE p.search @@ $1::text::tsquery
                  ORDER BY p.id DESC LIMIT $2",
                &[&query, &limit],
            )
            .await
            .or_backend()?;
        Ok(rows
            .iter()
            .map(|r| SearchHit {
                id: unsigned(r.get(0)),
                board: r.get(1),
                title: r.get(2),
                author: r.get(3),
                created_at: r.get(4),
            })
            .collect())
    }

    async fn subscribe(
        &self,
        user: &str,
        kind: SubscriptionKind,
        target: &str,
        keyword: &str,
        max: usize,
    ) -> Result<Subscribed> {
        let folded = fold_case(keyword);
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        lock_user(&tx, "subscriptions", user).await?;
        let exists = tx
            .query_opt(
                "SELECT 1 FROM subscriptions WHERE subscriber = $1 AND kind = $2 AND target = $3 AND folded = $4",
                &[&user, &kind_code(kind), &target, &folded],
            )
            .await
            .or_backend()?
            .is_some();
        if exists {
            return Ok(Subscribed::Already);
        }
        let count: i64 = tx
            .query_one("SELECT count(*) FROM subscriptions WHERE subscriber = $1", &[&user])
            .await
            .or_backend()?
            .get(0);
        if unsigned(count) >= max as u64 {
            return Ok(Subscribed::TooMany);
        }
        tx.execute(
            "INSERT INTO subscriptions (subscriber, kind, target, keyword, folded) VALUES ($1, $2, $3, $4, $5)",
            &[&user, &kind_code(kind), &target, &keyword, &folded],
        )
        .await
        .or_backend()?;
        commit(tx).await?;
        Ok(Subscribed::Added)
    }

    async fn unsubscribe(&self, user: &str, kind: SubscriptionKind, target: &str) -> Result<bool> {
        let c = self.client().await?;
        let n = c
            .execute(
                "DELETE FROM subscriptions WHERE subscriber = $1 AND kind = $2 AND target = $3",
                &[&user, &kind_code(kind), &target],
            )
            .await
            .or_backend()?;
        Ok(n > 0)
    }

    async fn subscriptions(&self, user: &str) -> Result<Vec<SubscriptionRow>> {
        let c = self.client().await?;
        let rows = c
            .query("SELECT kind, target, keyword FROM subscriptions WHERE subscriber = $1 ORDER BY id", &[&user])
            .await
            .or_backend()?;
        Ok(rows
            .iter()
            .map(|r| {
                let kind = if r.get::<_, i16>(0) == 0 { SubscriptionKind::Board } else { SubscriptionKind::Author };
                SubscriptionRow { kind, target: r.get(1), keyword: r.get(2) }
            })
            .collect())
    }

    async fn delivered(&self, post: PostId, users: Vec<String>) -> Result<()> {
        if users.is_empty() {
            return Ok(());
        }
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        for user in users {
            let n = tx
                .execute("DELETE FROM notices WHERE username = $1 AND post_id = $2", &[&user, &signed(post)])
                .await
                .or_backend()?;
            if n > 0 {
                let n = signed(n);
                tx.execute("UPDATE notice_counts SET missed = missed - $2 WHERE username = $1", &[&user, &n])
                    .await
                    .or_backend()?;
                tx.execute("DELETE FROM notice_counts WHERE username = $1 AND missed <= 0", &[&user])
                    .await
                    .or_backend()?;
            }
        }
        commit(tx).await
    }

    async fn take_missed(&self, user: &str) -> Result<Missed> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        let total: Option<i64> = tx
            .query_opt("DELETE FROM notice_counts WHERE username = $1 RETURNING missed", &[&user])
            .await
            .or_backend()?
            .map(|r| r.get(0));
        let Some(total) = total else { return Ok(Missed::default()) };
        let rows = tx
            .query("DELETE FROM notices WHERE username = $1 RETURNING id, post_id, board, title, author", &[&user])
            .await
            .or_backend()?;
        commit(tx).await?;
        let mut latest: Vec<(i64, Notice)> = rows
            .iter()
            .map(|r| {
                (r.get(0), Notice { post: unsigned(r.get(1)), board: r.get(2), title: r.get(3), author: r.get(4) })
            })
            .collect();
        latest.sort_by_key(|(id, _)| *id);
        let skip = latest.len().saturating_sub(MISSED_KEPT);
        let latest: Vec<Notice> = latest.into_iter().skip(skip).map(|(_, n)| n).collect();
        Ok(Missed { total: unsigned(total).max(latest.len() as u64), latest })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_runs_become_overlapping_pairs_and_words_are_lower_cased() {
        assert_eq!(tokens("網路程式", false), ["網路", "路程", "程式", "式"]);
        assert_eq!(tokens("NP_HW2作業 is Due", false), ["np", "hw2", "作業", "業", "is", "due"]);
        assert_eq!(tokens("程式設計", true), ["程式", "式設", "設計"]);
    }

    #[test]
    fn search_words_become_phrases_joined_by_and() {
        let q = |w: &[&str]| query(&w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(q(&["作業"]).unwrap(), "('作業')");
        assert_eq!(q(&["作"]).unwrap(), "('作':*)");
        assert_eq!(q(&["Friday", "TCP/IP"]).unwrap(), "('friday') & ('tcp' <-> 'ip')");
        assert_eq!(q(&["\"", "(*)"]), None);
    }
}
