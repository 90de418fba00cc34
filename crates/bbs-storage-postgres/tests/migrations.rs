//! Migrations on a real (throwaway) PostgreSQL: a fresh schema gets every
//! migration and records the newest version; opening it again runs none of
//! them (they would fail: the tables exist) and keeps the data; two stores
//! opened at once on a fresh schema do not both migrate it.

use bbs_storage::Store;
use bbs_storage_postgres::throwaway::ThrowawayServer;
use bbs_storage_postgres::PostgresStore;

async fn version(config: &tokio_postgres::Config) -> i32 {
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client.query_one("SELECT version FROM schema_version", &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn migrations_run_once_and_record_the_version() {
    let config = ThrowawayServer::shared().fresh_schema().await.unwrap();
    let store = PostgresStore::connect_with(config.clone(), 2).await.unwrap();
    let newest = version(&config).await;
    assert!(newest >= 5, "every migration ran: {newest}");
    assert!(store.create_board("b", "u").await.unwrap());
    drop(store);

    let store = PostgresStore::connect_with(config.clone(), 2).await.unwrap();
    assert_eq!(version(&config).await, newest);
    assert_eq!(store.boards().await.unwrap().len(), 1, "the data is kept");
}

#[tokio::test]
async fn two_stores_opened_at_once_migrate_once() {
    let config = ThrowawayServer::shared().fresh_schema().await.unwrap();
    let (a, b) = tokio::join!(PostgresStore::connect_with(config.clone(), 2), PostgresStore::connect_with(config, 2));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.create_board("b", "u").await.unwrap());
    assert!(!b.create_board("b", "u").await.unwrap(), "one database behind both");
}
