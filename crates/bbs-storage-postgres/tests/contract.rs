//! The storage contract suite of `bbs-storage`, run against PostgreSQL:
//! one throwaway server for this test binary (started by the first case,
//! stopped when the binary exits: see `bbs_storage_postgres::throwaway`),
//! and a fresh schema of its own for every case.

use bbs_storage_postgres::throwaway::ThrowawayServer;
use bbs_storage_postgres::PostgresStore;

bbs_storage::store_contract_tests!(async || {
    let config = ThrowawayServer::shared().fresh_schema().await.expect("a fresh schema");
    let store = PostgresStore::connect_with(config, 4).await.expect("connect and migrate");
    (store, ())
});
