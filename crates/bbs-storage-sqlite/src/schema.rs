//! The database schema and its migrations.
//!
//! Each entry of [`MIGRATIONS`] moves the schema one version forward; the
//! version lives in SQLite's `user_version`, so a server started on an older
//! database upgrades it in place, in one transaction, before serving.

use rusqlite::Connection;

/// Migration `n` (0-based) brings the schema from version `n` to `n + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: the course BBS.
    "CREATE TABLE users (
        id            INTEGER PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE,
        email         TEXT NOT NULL,
        password_hash TEXT NOT NULL
     );
     CREATE TABLE boards (
        id        INTEGER PRIMARY KEY,
        name      TEXT NOT NULL UNIQUE,
        moderator TEXT NOT NULL
     );
     -- AUTOINCREMENT: serial numbers are never reused, even after the
     -- newest post is deleted.
     CREATE TABLE posts (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        board_id   INTEGER NOT NULL REFERENCES boards(id),
        author     TEXT NOT NULL,
        title      TEXT NOT NULL,
        content    TEXT NOT NULL,
        created_at INTEGER NOT NULL
     );
     CREATE INDEX posts_by_board ON posts(board_id, id);
     CREATE TABLE comments (
        id         INTEGER PRIMARY KEY,
        post_id    INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
        author     TEXT NOT NULL,
        text       TEXT NOT NULL,
        created_at INTEGER NOT NULL
     );
     CREATE INDEX comments_by_post ON comments(post_id, id);
     CREATE TABLE chatrooms (
        id      INTEGER PRIMARY KEY,
        owner   TEXT NOT NULL UNIQUE,
        address TEXT NOT NULL,
        port    INTEGER NOT NULL,
        open    INTEGER NOT NULL
     );",
    // Social (messages, mute, accounts and their ledger, mail).

    // Search (full-text index) and subscriptions.

    // Files over UDP.
    "CREATE TABLE files (
        name       TEXT PRIMARY KEY,
        owner      TEXT NOT NULL,
        size       INTEGER NOT NULL,
        sha256     TEXT NOT NULL,
        created_at INTEGER NOT NULL
     );
     CREATE INDEX files_by_owner ON files(owner);",
];

/// Brings the database up to the newest schema version.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version: usize = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (n, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        tracing::info!(version = n + 1, "migrating database schema");
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", n + 1)?;
    }
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_version(conn: &Connection) -> usize {
        conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap()
    }

    /// A new file gets every migration and records the newest version; a
    /// second start finds that version and runs none of them again (they
    /// would fail: the tables exist), keeping the data.
    #[test]
    fn migrations_run_once_and_record_the_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bbs.db");
        let mut conn = Connection::open(&path).unwrap();
        assert_eq!(user_version(&conn), 0);
        migrate(&mut conn).unwrap();
        assert_eq!(user_version(&conn), MIGRATIONS.len());
        conn.execute("INSERT INTO boards (name, moderator) VALUES ('b', 'u')", []).unwrap();
        drop(conn);

        let mut conn = Connection::open(&path).unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(user_version(&conn), MIGRATIONS.len());
        let boards: i64 = conn.query_row("SELECT count(*) FROM boards", [], |r| r.get(0)).unwrap();
        assert_eq!(boards, 1);
    }
}
