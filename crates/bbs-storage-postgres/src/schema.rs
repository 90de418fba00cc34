//! The schema and its migrations.
//!
//! Each entry of [`MIGRATIONS`] moves the schema one version forward; the
//! version lives in the table `schema_version`. All pending migrations run
//! in one transaction, behind an advisory lock, so two servers started at
//! once on a fresh database do not both migrate it, and a failed migration
//! leaves the schema as it was.

use tokio_postgres::Client;

/// Migration `n` (0-based) brings the schema from version `n` to `n + 1`.
/// A new migration goes at the end, never between two others: a database
/// made by an earlier build knows its version only by position.
const MIGRATIONS: &[&str] = &[
    // 1: the course BBS. `search` is the full-text index of a post's title
    // and content (see search.rs), kept in the post's own row so that it
    // changes in the same statement as the text.
    "CREATE TABLE users (
        id            BIGSERIAL PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE,
        email         TEXT NOT NULL,
        password_hash TEXT NOT NULL
     );
     CREATE TABLE boards (
        id        BIGSERIAL PRIMARY KEY,
        name      TEXT NOT NULL UNIQUE,
        moderator TEXT NOT NULL
     );
     -- A sequence never hands out a number twice, even after the newest
     -- post is deleted.
     CREATE TABLE posts (
        id         BIGSERIAL PRIMARY KEY,
        board_id   BIGINT NOT NULL REFERENCES boards(id),
        author     TEXT NOT NULL,
        title      TEXT NOT NULL,
        content    TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        search     TSVECTOR NOT NULL
     );
     CREATE INDEX posts_by_board ON posts(board_id, id);
     CREATE INDEX posts_search ON posts USING GIN (search);
     CREATE TABLE comments (
        id         BIGSERIAL PRIMARY KEY,
        post_id    BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
        author     TEXT NOT NULL,
        text       TEXT NOT NULL,
        created_at BIGINT NOT NULL
     );
     CREATE INDEX comments_by_post ON comments(post_id, id);
     CREATE TABLE chatrooms (
        id      BIGSERIAL PRIMARY KEY,
        owner   TEXT NOT NULL UNIQUE,
        address TEXT NOT NULL,
        port    INTEGER NOT NULL,
        open    BOOLEAN NOT NULL
     );",
    // Community: pushes and boos (a comment's kind: 0 comment, 1 push,
    // 2 boo) and each post's count.
    "ALTER TABLE comments ADD COLUMN kind BIGINT NOT NULL DEFAULT 0;
     ALTER TABLE posts ADD COLUMN push_count BIGINT NOT NULL DEFAULT 0;
     CREATE INDEX comments_by_voter ON comments(post_id, author, created_at) WHERE kind <> 0;",
    // Doors (SSH keys).
    "CREATE TABLE ssh_keys (
        id          BIGSERIAL PRIMARY KEY,
        username    TEXT NOT NULL,
        public_key  TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        comment     TEXT NOT NULL,
        added_at    BIGINT NOT NULL,
        UNIQUE (username, fingerprint)
     );
     CREATE INDEX ssh_keys_by_user ON ssh_keys(username, id);",
    // Social (messages, mute, accounts and their ledger, mail).
    "CREATE TABLE mutes (name TEXT PRIMARY KEY);
     CREATE TABLE waiting_messages (
        id        BIGSERIAL PRIMARY KEY,
        recipient TEXT NOT NULL,
        sender    TEXT NOT NULL,
        text      TEXT NOT NULL,
        sent_at   BIGINT NOT NULL
     );
     CREATE INDEX waiting_by_recipient ON waiting_messages(recipient, id);
     -- A balance can never go negative, whatever the code above it does.
     CREATE TABLE accounts (
        id      BIGSERIAL PRIMARY KEY,
        name    TEXT NOT NULL UNIQUE,
        balance BIGINT NOT NULL CHECK (balance >= 0)
     );
     INSERT INTO accounts (name, balance) VALUES ('ACCOUNT1', 0), ('ACCOUNT2', 0);
     CREATE TABLE ledger (
        id         BIGSERIAL PRIMARY KEY,
        account_id BIGINT NOT NULL REFERENCES accounts(id),
        username   TEXT NOT NULL,
        at         BIGINT NOT NULL,
        delta      BIGINT NOT NULL
     );
     CREATE TABLE mails (
        id        BIGSERIAL PRIMARY KEY,
        recipient TEXT NOT NULL,
        sender    TEXT NOT NULL,
        subject   TEXT NOT NULL,
        content   TEXT NOT NULL,
        sent_at   BIGINT NOT NULL,
        unread    BOOLEAN NOT NULL DEFAULT TRUE
     );
     CREATE INDEX mails_by_recipient ON mails(recipient, id);
     CREATE INDEX unread_mails ON mails(recipient) WHERE unread;",
    // Search and subscriptions: the subscriptions looked up by what they
    // follow, and the notifications each subscriber missed (the latest 100
    // kept, all of them counted).
    "CREATE TABLE subscriptions (
        id         BIGSERIAL PRIMARY KEY,
        subscriber TEXT NOT NULL,
        kind       SMALLINT NOT NULL, -- 0 a board, 1 an author
        target     TEXT NOT NULL,
        keyword    TEXT NOT NULL,
        folded     TEXT NOT NULL,     -- the keyword lower-cased
        UNIQUE (subscriber, kind, target, folded)
     );
     CREATE INDEX subscriptions_by_target ON subscriptions(kind, target, subscriber, folded);
     CREATE TABLE notices (
        id       BIGSERIAL PRIMARY KEY,
        username TEXT NOT NULL,
        post_id  BIGINT NOT NULL,
        board    TEXT NOT NULL,
        title    TEXT NOT NULL,
        author   TEXT NOT NULL
     );
     CREATE INDEX notices_by_user ON notices(username, id);
     CREATE TABLE notice_counts (
        username TEXT PRIMARY KEY,
        missed   BIGINT NOT NULL
     );",
    // Files over UDP.
    "CREATE TABLE files (
        name       TEXT PRIMARY KEY,
        owner      TEXT NOT NULL,
        size       BIGINT NOT NULL,
        sha256     TEXT NOT NULL,
        created_at BIGINT NOT NULL
     );
     CREATE INDEX files_by_owner ON files(owner);",
    // Community: moderators, bans and settings of boards, the recycle bin,
    // pins, edit history, the append-only audit log, reports, suspensions
    // (the same tables as the SQLite backend's; see its schema).
    "ALTER TABLE users ADD COLUMN registered_at BIGINT NOT NULL DEFAULT 0;
     ALTER TABLE users ADD COLUMN suspended_until BIGINT NOT NULL DEFAULT 0;
     ALTER TABLE users ADD COLUMN suspended_reason TEXT NOT NULL DEFAULT '';
     ALTER TABLE boards ADD COLUMN no_boo BOOLEAN NOT NULL DEFAULT FALSE;
     ALTER TABLE boards ADD COLUMN push_interval BIGINT NOT NULL DEFAULT 0;
     ALTER TABLE boards ADD COLUMN min_days BIGINT NOT NULL DEFAULT 0;
     ALTER TABLE posts ADD COLUMN pinned_at BIGINT;
     CREATE INDEX posts_pinned ON posts(board_id, pinned_at) WHERE pinned_at IS NOT NULL;
     CREATE INDEX comments_by_author ON comments(author, created_at);
     CREATE TABLE board_moderators (
        id       BIGSERIAL PRIMARY KEY,
        board_id BIGINT NOT NULL REFERENCES boards(id),
        username TEXT NOT NULL,
        UNIQUE (board_id, username)
     );
     CREATE TABLE bans (
        board_id BIGINT NOT NULL REFERENCES boards(id),
        username TEXT NOT NULL,
        until    BIGINT NOT NULL,
        banned_by TEXT NOT NULL,
        reason   TEXT NOT NULL,
        PRIMARY KEY (board_id, username)
     );
     CREATE TABLE recycled_posts (
        id         BIGINT PRIMARY KEY,
        board_id   BIGINT NOT NULL REFERENCES boards(id),
        author     TEXT NOT NULL,
        title      TEXT NOT NULL,
        content    TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        push_count BIGINT NOT NULL,
        deleted_by TEXT NOT NULL,
        deleted_at BIGINT NOT NULL,
        reason     TEXT NOT NULL
     );
     CREATE INDEX recycled_by_board ON recycled_posts(board_id, deleted_at);
     CREATE INDEX recycled_by_time ON recycled_posts(deleted_at);
     CREATE TABLE recycled_comments (
        id         BIGSERIAL PRIMARY KEY,
        post_id    BIGINT NOT NULL REFERENCES recycled_posts(id) ON DELETE CASCADE,
        author     TEXT NOT NULL,
        text       TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        kind       BIGINT NOT NULL
     );
     CREATE INDEX recycled_comments_by_post ON recycled_comments(post_id, id);
     CREATE TABLE post_revisions (
        id      BIGSERIAL PRIMARY KEY,
        post_id BIGINT NOT NULL,
        at      BIGINT NOT NULL,
        editor  TEXT NOT NULL,
        title   TEXT NOT NULL,
        content TEXT NOT NULL
     );
     CREATE INDEX revisions_by_post ON post_revisions(post_id, id);
     CREATE TABLE mod_log (
        id       BIGSERIAL PRIMARY KEY,
        board_id BIGINT,
        at       BIGINT NOT NULL,
        actor    TEXT NOT NULL,
        action   TEXT NOT NULL,
        target   TEXT NOT NULL,
        reason   TEXT NOT NULL
     );
     CREATE INDEX mod_log_by_board ON mod_log(board_id, id);
     CREATE FUNCTION mod_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
     CREATE TRIGGER mod_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON mod_log
        FOR EACH STATEMENT EXECUTE FUNCTION mod_log_is_append_only();
     CREATE TABLE reports (
        id       BIGSERIAL PRIMARY KEY,
        post_id  BIGINT NOT NULL,
        board_id BIGINT NOT NULL REFERENCES boards(id),
        reporter TEXT NOT NULL,
        reason   TEXT NOT NULL,
        at       BIGINT NOT NULL,
        status   BIGINT NOT NULL DEFAULT 0, -- 0 open, 1 accepted, 2 rejected
        UNIQUE (post_id, reporter)
     );
     CREATE INDEX reports_by_board ON reports(board_id, status, id);
     CREATE INDEX reports_by_reporter ON reports(reporter, at);",
    // Cluster (several bbsd on one database): live nodes, their sessions
    // and tokens, the keys of running chatrooms, and recent live events
    // (fetched by id after a NOTIFY, kept a minute for listeners that
    // reconnect). None of it needs to survive PostgreSQL itself: a node
    // whose row is gone announces its sessions again.
    "CREATE TABLE cluster_nodes (
        id      BIGINT PRIMARY KEY,
        seen_ms BIGINT NOT NULL
     );
     CREATE TABLE cluster_sessions (
        node         BIGINT NOT NULL REFERENCES cluster_nodes(id) ON DELETE CASCADE,
        session      BIGINT NOT NULL,
        name         TEXT NOT NULL,
        token        TEXT NOT NULL,
        peer         TEXT NOT NULL,
        login_ms     BIGINT NOT NULL,
        last_command BIGINT NOT NULL,
        PRIMARY KEY (node, session)
     );
     CREATE INDEX cluster_sessions_by_token ON cluster_sessions(token);
     CREATE INDEX cluster_sessions_by_name ON cluster_sessions(name);
     CREATE TABLE cluster_rooms (
        owner    TEXT PRIMARY KEY,
        node     BIGINT NOT NULL,
        session  BIGINT NOT NULL,
        room_key TEXT NOT NULL
     );
     CREATE TABLE cluster_events (
        id     BIGSERIAL PRIMARY KEY,
        origin BIGINT NOT NULL,
        kind   SMALLINT NOT NULL, -- 0 one user, 1 several, 2 everyone
        names  TEXT[] NOT NULL,
        text   TEXT NOT NULL,
        at_ms  BIGINT NOT NULL
     );",
];

/// The advisory lock migrations hold (any constant both servers agree on).
const MIGRATION_LOCK: i64 = 0x0062_6273_5f6d_6967; // "bbs_mig" in ASCII

/// Brings the schema up to the newest version.
pub(crate) async fn migrate(client: &mut Client) -> Result<(), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)").await?;
    let version: i32 = match tx.query_opt("SELECT version FROM schema_version", &[]).await? {
        Some(row) => row.get(0),
        None => {
            tx.execute("INSERT INTO schema_version (version) VALUES (0)", &[]).await?;
            0
        }
    };
    for (n, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(version).unwrap_or(0)) {
        tracing::info!(version = n + 1, "migrating database schema");
        tx.batch_execute(sql).await?;
        let next = i32::try_from(n + 1).expect("fewer than 2^31 migrations");
        tx.execute("UPDATE schema_version SET version = $1", &[&next]).await?;
    }
    tx.commit().await
}
