//! Bulk loading for benchmarks and imports: writes straight into the
//! database file, in large transactions, before any server has it open.
//!
//! It goes through the same schema migrations as [`crate::SqliteStore`], so
//! a server started afterwards finds an ordinary database. It is not a
//! [`crate::Store`]: no group commit, no cache, one caller.

use std::path::Path;

use rusqlite::{params, Connection};

use crate::{schema, NewPost, NewUser, PostId, Result};

/// An open database being filled.
pub struct BulkLoader {
    conn: Connection,
}

impl BulkLoader {
    /// Opens (creating and migrating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<BulkLoader> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // Durability comes from the final checkpoint in `finish`; during the
        // load nobody is waiting for an acknowledgement.
        conn.pragma_update(None, "synchronous", "OFF")?;
        schema::migrate(&mut conn)?;
        Ok(BulkLoader { conn })
    }

    /// Adds users in one transaction; names already taken are skipped.
    pub fn users(&mut self, users: impl IntoIterator<Item = NewUser>) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut insert = tx.prepare(
                "INSERT INTO users (name, email, password_hash) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING",
            )?;
            for u in users {
                insert.execute(params![u.name, u.email, u.password_hash])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Adds boards in one transaction; existing names are skipped.
    pub fn boards<'a>(
        &mut self,
        boards: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut insert =
                tx.prepare("INSERT INTO boards (name, moderator) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING")?;
            for (name, moderator) in boards {
                insert.execute(params![name, moderator])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Adds posts in one transaction; returns the serial numbers given, in
    /// order (`None` where the board does not exist).
    pub fn posts(
        &mut self,
        posts: impl IntoIterator<Item = NewPost>,
    ) -> Result<Vec<Option<PostId>>> {
        let tx = self.conn.transaction()?;
        let mut ids = Vec::new();
        {
            let mut insert = tx.prepare(
                "INSERT INTO posts (board_id, author, title, content, created_at)
                 SELECT id, ?2, ?3, ?4, ?5 FROM boards WHERE name = ?1",
            )?;
            for p in posts {
                let n =
                    insert.execute(params![p.board, p.author, p.title, p.content, p.created_at])?;
                ids.push((n == 1).then(|| tx.last_insert_rowid() as PostId));
            }
        }
        tx.commit()?;
        Ok(ids)
    }

    /// Makes everything durable and folds the WAL into the main file.
    pub fn finish(self) -> Result<()> {
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
        Ok(())
    }
}
