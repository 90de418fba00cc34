//! The PostgreSQL backend of the BBS's storage.
//!
//! Where the SQLite backend serialises every write through one writer
//! thread, PostgreSQL is a server many `bbsd` processes can share: each
//! method here takes a pooled connection and runs its statements in one
//! transaction of its own, relying on PostgreSQL's row locks (and, for the
//! "at most N per user" limits, a transaction-scoped advisory lock per
//! user) for what SQLite got from having one writer. A write returns only
//! after its `COMMIT` succeeded; the connections keep PostgreSQL's default
//! `synchronous_commit = on`, so a commit is on disk when it is answered.
//!
//! Built on `tokio-postgres` and `deadpool-postgres`: a plain async client
//! with a pool and nothing else. (`sqlx` would bring its own runtime glue,
//! macros and drivers for other databases that the BBS does not use.)

mod cluster;
mod community;
mod files;
mod moderation;
mod schema;
mod search;
mod social;
mod ssh_keys;
mod store;
pub mod throwaway;

use std::str::FromStr;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use bbs_storage::{Result, StoreError};

/// A handle on the BBS's tables in one PostgreSQL database (and schema):
/// cheap to clone, every clone shares one pool of connections.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    /// Where to connect again: the event listener keeps a connection of
    /// its own, outside the pool, and reopens it when it breaks.
    config: std::sync::Arc<tokio_postgres::Config>,
    /// The `NOTIFY` channel of live events: one per schema, as channels
    /// are database-wide and the tests give each case a schema.
    channel: std::sync::Arc<str>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("max_connections", &self.pool.status().max_size).finish()
    }
}

/// Why the store could not be opened, before any query ran.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("not a PostgreSQL connection string: {0}")]
    Url(#[source] tokio_postgres::Error),
    #[error("cannot build the connection pool: {0}")]
    Pool(String),
}

impl PostgresStore {
    /// How many connections one store opens at most unless told otherwise:
    /// enough for a busy server's concurrent commands, well under
    /// PostgreSQL's default limit of 100 so a few `bbsd` processes fit.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 16;

    /// Opens the database at `url` (`postgres://user@host:port/db`, or the
    /// key=value form) and brings its schema up to date.
    pub async fn connect(url: &str, max_connections: usize) -> Result<PostgresStore> {
        let config = tokio_postgres::Config::from_str(url).map_err(|e| StoreError::backend(OpenError::Url(e)))?;
        PostgresStore::connect_with(config, max_connections).await
    }

    /// Like [`PostgresStore::connect`], from a parsed configuration (the
    /// tests set a `search_path` to give every case a schema of its own).
    pub async fn connect_with(config: tokio_postgres::Config, max_connections: usize) -> Result<PostgresStore> {
        let shared_config = std::sync::Arc::new(config.clone());
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(max_connections.max(1))
            .build()
            .map_err(|e| StoreError::backend(OpenError::Pool(e.to_string())))?;
        let mut client = pool.get().await.map_err(|e| StoreError::backend(e.to_string()))?;
        schema::migrate(&mut client).await.or_backend()?;
        let channel: String =
            client.query_one("SELECT 'bbs_events_' || current_schema()", &[]).await.or_backend()?.get(0);
        drop(client);
        let store = PostgresStore { pool, config: shared_config, channel: channel.into() };
        Ok(store)
    }

    /// A connection from the pool.
    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => StoreError::backend(e),
            other => StoreError::backend(other.to_string()),
        })
    }
}

/// Maps the driver's errors into [`StoreError::Backend`].
pub(crate) trait OrBackend<T> {
    fn or_backend(self) -> Result<T>;
}

impl<T> OrBackend<T> for std::result::Result<T, tokio_postgres::Error> {
    fn or_backend(self) -> Result<T> {
        self.map_err(StoreError::backend)
    }
}

/// Commits a transaction; a failure is a [`StoreError::Commit`]: the write
/// did not happen.
pub(crate) async fn commit(tx: deadpool_postgres::Transaction<'_>) -> Result<()> {
    tx.commit().await.map_err(|e| StoreError::Commit(e.to_string()))
}

/// Serialises, until the end of the transaction, the writes that check a
/// per-user limit before inserting (mailbox size, waiting messages, SSH
/// keys, subscriptions): two concurrent inserts for one user cannot both
/// see room for one more.
pub(crate) async fn lock_user(tx: &deadpool_postgres::Transaction<'_>, area: &str, user: &str) -> Result<()> {
    tx.execute("SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))", &[&area, &user]).await.or_backend()?;
    Ok(())
}

/// A count or size from the database, never negative.
pub(crate) fn unsigned(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A serial number or position as PostgreSQL's `bigint`; one too large to
/// exist maps to `i64::MAX`, which matches no row.
pub(crate) fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
