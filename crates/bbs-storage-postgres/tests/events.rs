//! Live events through `LISTEN/NOTIFY` survive the listener's connection
//! breaking: the listener connects again and catches up on what was
//! published meanwhile, in order, without repeating anything.

use std::time::{Duration, Instant};

use bbs_storage::{ClusterEvent, ClusterStore, EventAudience};
use bbs_storage_postgres::throwaway::ThrowawayServer;
use bbs_storage_postgres::PostgresStore;

fn event(n: usize) -> ClusterEvent {
    ClusterEvent { origin: 1, audience: EventAudience::User("ann".into()), text: format!("event {n}") }
}

/// The backend pid of node `node`'s listening connection, once there is one
/// other than `not`.
async fn listener_pid(admin: &tokio_postgres::Client, node: i64, not: Option<i32>) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let row = admin
            .query_opt(
                "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> $2",
                &[&format!("bbs-events-{node}"), &not.unwrap_or(0)],
            )
            .await
            .unwrap();
        if let Some(row) = row {
            return row.get(0);
        }
        assert!(Instant::now() < deadline, "no listener connection");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn next(feed: &mut dyn bbs_storage::EventFeed) -> Option<ClusterEvent> {
    tokio::time::timeout(Duration::from_secs(20), feed.next()).await.expect("an event in time")
}

#[tokio::test]
async fn a_listener_that_loses_its_connection_catches_up_in_order() {
    let server = ThrowawayServer::shared();
    let config = server.fresh_schema().await.expect("a fresh schema");
    let store = PostgresStore::connect_with(config, 4).await.expect("connect and migrate");
    let (admin, connection) = server.config("postgres").connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);

    let mut feed = store.listen_events(2).await.unwrap();
    store.publish_event(event(0)).await.unwrap();
    assert_eq!(next(&mut *feed).await, Some(event(0)));

    // Cut the listener off, and publish while it is gone.
    let old = listener_pid(&admin, 2, None).await;
    admin.execute("SELECT pg_terminate_backend($1)", &[&old]).await.unwrap();
    while admin.query_opt("SELECT 1 FROM pg_stat_activity WHERE pid = $1", &[&old]).await.unwrap().is_some() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for n in 1..=10 {
        store.publish_event(event(n)).await.unwrap();
    }
    for n in 1..=10 {
        assert_eq!(next(&mut *feed).await, Some(event(n)));
    }
    let new = listener_pid(&admin, 2, Some(old)).await;
    assert_ne!(new, old, "the listener connected again");
    // Live again after the reconnection, and nothing came twice.
    store.publish_event(event(11)).await.unwrap();
    assert_eq!(next(&mut *feed).await, Some(event(11)));
    assert!(tokio::time::timeout(Duration::from_millis(300), feed.next()).await.is_err(), "nothing twice");
}
