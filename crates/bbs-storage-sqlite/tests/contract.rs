//! The storage contract suite of `bbs-storage`, run against SQLite: every
//! case gets a fresh database file in its own temporary directory, which
//! lives as long as the case.

use bbs_storage_sqlite::{SqliteOptions, SqliteStore};

bbs_storage::store_contract_tests!(async || {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(SqliteOptions::new(dir.path().join("bbs.db"))).expect("open database");
    (store, dir)
});
