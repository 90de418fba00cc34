//! The database schema and its migrations.
//!
//! Each entry of [`MIGRATIONS`] moves the schema one version forward; the
//! version lives in SQLite's `user_version`, so a server started on an older
//! database upgrades it in place, in one transaction, before serving.

use rusqlite::Connection;

/// Migration `n` (0-based) brings the schema from version `n` to `n + 1`.
/// A new migration goes at the end, never between two others: a database
/// made by an earlier build knows its version only by position.
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
    // Doors (SSH keys): the public keys users log in with over SSH.
    "CREATE TABLE ssh_keys (
        id          INTEGER PRIMARY KEY,
        user        TEXT NOT NULL,
        public_key  TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        comment     TEXT NOT NULL,
        added_at    INTEGER NOT NULL,
        UNIQUE (user, fingerprint)
     );
     CREATE INDEX ssh_keys_by_user ON ssh_keys(user, id);",
    // Community: pushes and boos (a comment's kind), each post's count.
    "ALTER TABLE comments ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE posts ADD COLUMN push_count INTEGER NOT NULL DEFAULT 0;
     CREATE INDEX votes_by_post_voter ON comments(post_id, author, created_at) WHERE kind != 0;",
    // Social (messages, mute, accounts and their ledger, mail).
    "CREATE TABLE mutes (name TEXT PRIMARY KEY) WITHOUT ROWID;
     CREATE TABLE waiting_messages (
        id        INTEGER PRIMARY KEY,
        recipient TEXT NOT NULL,
        sender    TEXT NOT NULL,
        text      TEXT NOT NULL,
        sent_at   INTEGER NOT NULL
     );
     CREATE INDEX waiting_by_recipient ON waiting_messages(recipient, id);
     -- A balance can never go negative, whatever the code above it does.
     CREATE TABLE accounts (
        id      INTEGER PRIMARY KEY,
        name    TEXT NOT NULL UNIQUE,
        balance INTEGER NOT NULL CHECK (balance >= 0)
     );
     INSERT INTO accounts (name, balance) VALUES ('ACCOUNT1', 0), ('ACCOUNT2', 0);
     CREATE TABLE ledger (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        username   TEXT NOT NULL,
        at         INTEGER NOT NULL,
        delta      INTEGER NOT NULL
     );
     CREATE TABLE mails (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        recipient TEXT NOT NULL,
        sender    TEXT NOT NULL,
        subject   TEXT NOT NULL,
        content   TEXT NOT NULL,
        sent_at   INTEGER NOT NULL,
        unread    INTEGER NOT NULL DEFAULT 1
     );
     CREATE INDEX mails_by_recipient ON mails(recipient, id);
     CREATE INDEX unread_mails ON mails(recipient) WHERE unread = 1;",
    // Search (full-text index) and subscriptions.
    // The index of every post's title and content (see `search.rs`: text
    // rewritten by `search_text`, CJK runs as pairs of characters), the
    // subscriptions looked up by what they follow, and the notifications
    // each subscriber missed (the latest 100 kept, all of them counted).
    "CREATE VIRTUAL TABLE post_text USING fts5(
        title, content,
        content = '', contentless_delete = 1,
        tokenize = 'unicode61 remove_diacritics 2'
     );
     INSERT INTO post_text (rowid, title, content)
        SELECT id, search_text(title), search_text(content) FROM posts;
     CREATE TABLE subscriptions (
        id         INTEGER PRIMARY KEY,
        subscriber TEXT NOT NULL,
        kind       INTEGER NOT NULL, -- 0 a board, 1 an author
        target     TEXT NOT NULL,
        keyword    TEXT NOT NULL,
        folded     TEXT NOT NULL,    -- the keyword lower-cased
        UNIQUE (subscriber, kind, target, folded)
     );
     CREATE INDEX subscriptions_by_target ON subscriptions(kind, target, subscriber, folded);
     CREATE TABLE notices (
        id      INTEGER PRIMARY KEY,
        user    TEXT NOT NULL,
        post_id INTEGER NOT NULL,
        board   TEXT NOT NULL,
        title   TEXT NOT NULL,
        author  TEXT NOT NULL
     );
     CREATE INDEX notices_by_user ON notices(user, id);
     CREATE TABLE notice_counts (
        user   TEXT PRIMARY KEY,
        missed INTEGER NOT NULL
     ) WITHOUT ROWID;",
    // Files over UDP.
    "CREATE TABLE files (
        name       TEXT PRIMARY KEY,
        owner      TEXT NOT NULL,
        size       INTEGER NOT NULL,
        sha256     TEXT NOT NULL,
        created_at INTEGER NOT NULL
     );
     CREATE INDEX files_by_owner ON files(owner);",
    // Community: moderators, bans and settings of boards, the recycle bin,
    // pins, edit history, the append-only audit log, reports, suspensions.
    // `registered_at` is 0 for accounts made before it existed (old enough
    // for any board); a pin's `pinned_at` is its place among the board's pins.
    "ALTER TABLE users ADD COLUMN registered_at INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE users ADD COLUMN suspended_until INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE users ADD COLUMN suspended_reason TEXT NOT NULL DEFAULT '';
     ALTER TABLE boards ADD COLUMN no_boo INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE boards ADD COLUMN push_interval INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE boards ADD COLUMN min_days INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE posts ADD COLUMN pinned_at INTEGER;
     CREATE INDEX posts_pinned ON posts(board_id, pinned_at) WHERE pinned_at IS NOT NULL;
     CREATE INDEX comments_by_author ON comments(author, created_at);
     CREATE TABLE board_moderators (
        id       INTEGER PRIMARY KEY,
        board_id INTEGER NOT NULL REFERENCES boards(id),
        user     TEXT NOT NULL,
        UNIQUE (board_id, user)
     );
     CREATE TABLE bans (
        board_id INTEGER NOT NULL REFERENCES boards(id),
        user     TEXT NOT NULL,
        until    INTEGER NOT NULL,
        by       TEXT NOT NULL,
        reason   TEXT NOT NULL,
        PRIMARY KEY (board_id, user)
     ) WITHOUT ROWID;
     CREATE TABLE recycled_posts (
        id         INTEGER PRIMARY KEY,
        board_id   INTEGER NOT NULL REFERENCES boards(id),
        author     TEXT NOT NULL,
        title      TEXT NOT NULL,
        content    TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        push_count INTEGER NOT NULL,
        deleted_by TEXT NOT NULL,
        deleted_at INTEGER NOT NULL,
        reason     TEXT NOT NULL
     );
     CREATE INDEX recycled_by_board ON recycled_posts(board_id, deleted_at);
     CREATE INDEX recycled_by_time ON recycled_posts(deleted_at);
     CREATE TABLE recycled_comments (
        id         INTEGER PRIMARY KEY,
        post_id    INTEGER NOT NULL REFERENCES recycled_posts(id) ON DELETE CASCADE,
        author     TEXT NOT NULL,
        text       TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        kind       INTEGER NOT NULL
     );
     CREATE INDEX recycled_comments_by_post ON recycled_comments(post_id, id);
     CREATE TABLE post_revisions (
        id      INTEGER PRIMARY KEY,
        post_id INTEGER NOT NULL,
        at      INTEGER NOT NULL,
        editor  TEXT NOT NULL,
        title   TEXT NOT NULL,
        content TEXT NOT NULL
     );
     CREATE INDEX revisions_by_post ON post_revisions(post_id, id);
     CREATE TABLE mod_log (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        board_id INTEGER,
        at       INTEGER NOT NULL,
        actor    TEXT NOT NULL,
        action   TEXT NOT NULL,
        target   TEXT NOT NULL,
        reason   TEXT NOT NULL
     );
     CREATE INDEX mod_log_by_board ON mod_log(board_id, id);
     CREATE TRIGGER mod_log_no_update BEFORE UPDATE ON mod_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
     CREATE TRIGGER mod_log_no_delete BEFORE DELETE ON mod_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
     CREATE TABLE reports (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        post_id  INTEGER NOT NULL,
        board_id INTEGER NOT NULL REFERENCES boards(id),
        reporter TEXT NOT NULL,
        reason   TEXT NOT NULL,
        at       INTEGER NOT NULL,
        status   INTEGER NOT NULL DEFAULT 0, -- 0 open, 1 accepted, 2 rejected
        UNIQUE (post_id, reporter)
     );
     CREATE INDEX reports_by_board ON reports(board_id, status, id);
     CREATE INDEX reports_by_reporter ON reports(reporter, at);",
];

/// Brings the database up to the newest schema version.
/// The schema version this build creates and serves.
pub fn version() -> usize {
    MIGRATIONS.len()
}

pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    crate::search::register_functions(conn)?;
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
