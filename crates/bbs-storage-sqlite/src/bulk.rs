//! Bulk loading for benchmarks and imports: writes straight into the
//! database file, in large transactions, before any server has it open.
//!
//! It goes through the same schema migrations as [`crate::SqliteStore`], so
//! a server started afterwards finds an ordinary database. It is not a
//! [`bbs_storage::Store`]: no group commit, no cache, one caller.

use std::path::Path;

use rusqlite::{params, Connection};

use bbs_storage::{NewPost, NewUser, PostId, Result};

use crate::{schema, OrBackend};

/// An open database being filled.
pub struct BulkLoader {
    conn: Connection,
}

impl BulkLoader {
    /// Opens (creating and migrating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<BulkLoader> {
        let mut conn = Connection::open(path).or_backend()?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .or_backend()?;
        // Durability comes from the final checkpoint in `finish`; during the
        // load nobody is waiting for an acknowledgement.
        conn.pragma_update(None, "synchronous", "OFF")
            .or_backend()?;
        schema::migrate(&mut conn).or_backend()?;
        Ok(BulkLoader { conn })
    }

    /// Adds users in one transaction; names already taken are skipped.
    pub fn users(&mut self, users: impl IntoIterator<Item = NewUser>) -> Result<()> {
        let tx = self.conn.transaction().or_backend()?;
        {
            let mut insert = tx.prepare(
                "INSERT INTO users (name, email, password_hash) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING",
            ).or_backend()?;
            for u in users {
                insert
                    .execute(params![u.name, u.email, u.password_hash])
                    .or_backend()?;
            }
        }
        tx.commit().or_backend()?;
        Ok(())
    }

    /// Adds boards in one transaction; existing names are skipped.
    pub fn boards<'a>(
        &mut self,
        boards: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<()> {
        let tx = self.conn.transaction().or_backend()?;
        {
            let mut insert =
                tx.prepare("INSERT INTO boards (name, moderator) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING").or_backend()?;
            for (name, moderator) in boards {
                insert.execute(params![name, moderator]).or_backend()?;
            }
        }
        tx.commit().or_backend()?;
        Ok(())
    }

    /// Adds posts in one transaction; returns the serial numbers given, in
    /// order (`None` where the board does not exist).
    pub fn posts(
        &mut self,
        posts: impl IntoIterator<Item = NewPost>,
    ) -> Result<Vec<Option<PostId>>> {
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
                let n = insert
                    .execute(params![p.board, p.author, p.title, p.content, p.created_at])
                    .or_backend()?;
                ids.push((n == 1).then(|| tx.last_insert_rowid() as PostId));
            }
        }
        tx.commit().or_backend()?;
        Ok(ids)
    }

    /// Makes everything durable and folds the WAL into the main file.
    pub fn finish(self) -> Result<()> {
        self.conn
            .pragma_update(None, "synchronous", "FULL")
            .or_backend()?;
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .or_backend()?;
        Ok(())
    }
}
