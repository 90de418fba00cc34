//! Bulk loading for benchmarks and imports: writes straight into the
//! database file, in large transactions, before any server has it open.
//!
//! It goes through the same schema migrations as [`crate::SqliteStore`], so
//! a server started afterwards finds an ordinary database, its full-text
//! index included. It is not a
//! [`bbs_storage::Store`]: no group commit, no cache, one caller.

use std::path::Path;

use rusqlite::{params, Connection};

use bbs_storage::{NewPost, NewUser, PostId, Result, SubscriptionKind};

use crate::{schema, search, OrBackend};

/// An open database being filled.
pub struct BulkLoader {
    conn: Connection,
}

impl BulkLoader {
    /// Opens (creating and migrating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<BulkLoader> {
        let mut conn = Connection::open(path).or_backend()?;
        conn.pragma_update(None, "journal_mode", "WAL").or_backend()?;
        // Durability comes from the final checkpoint in `finish`; during the
        // load nobody is waiting for an acknowledgement.
        conn.pragma_update(None, "synchronous", "OFF").or_backend()?;
        schema::migrate(&mut conn).or_backend()?;
        Ok(BulkLoader { conn })
    }

    /// Adds users in one transaction; names already taken are skipped.
    pub fn users(&mut self, users: impl IntoIterator<Item = NewUser>) -> Result<()> {
        let tx = self.conn.transaction().or_backend()?;
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO users (name, email, password_hash) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING",
                )
                .or_backend()?;
            for u in users {
                insert.execute(params![u.name, u.email, u.password_hash]).or_backend()?;
            }
        }
        tx.commit().or_backend()?;
        Ok(())
    }

    /// Adds boards in one transaction; existing names are skipped.
    pub fn boards<'a>(&mut self, boards: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<()> {
        let tx = self.conn.transaction().or_backend()?;
        {
            let mut insert = tx
                .prepare("INSERT INTO boards (name, moderator) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING")
                .or_backend()?;
            for (name, moderator) in boards {
                insert.execute(params![name, moderator]).or_backend()?;
            }
        }
        tx.commit().or_backend()?;
        Ok(())
    }

    /// Adds posts in one transaction; returns the serial numbers given, in
    /// order (`None` where the board does not exist).
    pub fn posts(&mut self, posts: impl IntoIterator<Item = NewPost>) -> Result<Vec<Option<PostId>>> {
        let tx = self.conn.transaction().or_backend()?;
        let mut ids = Vec::new();
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO posts (board_id, author, title, content, created_at)
                 SELECT id, ?2, ?3, ?4, ?5 FROM boards WHERE name = ?1",
                )
                .or_backend()?;
            for p in posts {
                let n = insert.execute(params![p.board, p.author, p.title, p.content, p.created_at]).or_backend()?;
                let id = (n == 1).then(|| tx.last_insert_rowid() as PostId);
                if let Some(id) = id {
                    search::index_loaded(&tx, id, &p.title, &p.content).or_backend()?;
                }
                ids.push(id);
            }
        }
        tx.commit().or_backend()?;
        Ok(ids)
    }

    /// Adds subscriptions (subscriber, what, target, keyword) in one
    /// transaction; one already there is skipped.
    pub fn subscriptions(
        &mut self,
        subscriptions: impl IntoIterator<Item = (String, SubscriptionKind, String, String)>,
    ) -> Result<()> {
        let tx = self.conn.transaction().or_backend()?;
        for (user, kind, target, keyword) in subscriptions {
            search::load_subscription(&tx, &user, kind, &target, &keyword).or_backend()?;
        }
        tx.commit().or_backend()?;
        Ok(())
    }

    /// Makes everything durable and folds the WAL into the main file.
    pub fn finish(self) -> Result<()> {
        self.conn.pragma_update(None, "synchronous", "FULL").or_backend()?;
        self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").or_backend()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use bbs_storage::{PostSummary, Store, UserRow};

    use super::*;
    use crate::{SqliteOptions, SqliteStore};

    /// What the loader wrote is an ordinary database: a store opened on it
    /// afterwards answers with it, and goes on numbering posts after it.
    #[tokio::test]
    async fn a_loaded_file_opens_as_a_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bbs.db");
        let mut loader = BulkLoader::open(&path).unwrap();
        let user = |name: &str| NewUser { name: name.into(), email: format!("{name}@x"), password_hash: "h".into() };
        loader.users([user("a"), user("b"), user("a")]).unwrap();
        loader.boards([("one", "a"), ("two", "b"), ("one", "b")]).unwrap();
        let post = |board: &str, title: &str| NewPost {
            board: board.into(),
            author: "a".into(),
            title: title.into(),
            content: "c".into(),
            created_at: 7,
        };
        let ids = loader.posts([post("two", "x"), post("nope", "y"), post("one", "z")]).unwrap();
        assert_eq!(ids, vec![Some(1), None, Some(2)]);
        loader.finish().unwrap();

        let store = SqliteStore::open(SqliteOptions::new(&path)).unwrap();
        let names: Vec<_> = store.users().await.unwrap().into_iter().map(|UserRow { name, .. }| name).collect();
        assert_eq!(names, ["a", "b"]);
        let boards: Vec<_> = store.boards().await.unwrap().into_iter().map(|b| (b.name, b.moderator)).collect();
        assert_eq!(boards, [("one".to_owned(), "a".to_owned()), ("two".to_owned(), "b".to_owned())]);
        assert_eq!(
            store.posts("two").await.unwrap(),
            Some(vec![PostSummary { id: 1, title: "x".into(), author: "a".into(), created_at: 7 }])
        );
        assert_eq!(store.create_post(post("one", "w")).await.unwrap(), Some(3));
    }
}
