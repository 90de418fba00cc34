//! Reads beside writes, through the cache and the pooled read connections:
//! once a write is acknowledged, no later read on any connection returns
//! the value it replaced.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use bbs_storage::{NewPost, NewUser, PostChange, PostEdit, Store};
use bbs_storage_sqlite::{SqliteOptions, SqliteStore};

const POSTS: u64 = 8;
const EDITS_PER_POST: u64 = 150;

fn version(title: &str) -> u64 {
    title.strip_prefix('v').and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("title {title:?}"))
}

async fn run(cache_bytes: usize) {
    let dir = tempfile::tempdir().unwrap();
    let store =
        SqliteStore::open(SqliteOptions { cache_bytes, ..SqliteOptions::new(dir.path().join("bbs.db")) }).unwrap();
    store.register(NewUser { name: "u".into(), email: "e".into(), password_hash: "h".into() }).await.unwrap();
    store.create_board("b", "u").await.unwrap();
    for _ in 0..POSTS {
        let post =
            NewPost { board: "b".into(), author: "u".into(), title: "v0".into(), content: "c".into(), created_at: 0 };
        store.create_post(post).await.unwrap().unwrap();
    }
    // The newest acknowledged version of each post.
    let acked: Arc<Vec<AtomicU64>> = Arc::new((0..POSTS).map(|_| AtomicU64::new(0)).collect());
    let writing = Arc::new(AtomicBool::new(true));

    let mut readers = Vec::new();
    for r in 0..4u64 {
        let (store, acked, writing) = (store.clone(), Arc::clone(&acked), Arc::clone(&writing));
        readers.push(tokio::spawn(async move {
            let mut reads = 0u64;
            let mut n = r;
            while writing.load(Ordering::SeqCst) {
                let id = n % POSTS;
                n += 1;
                let floor = acked[id as usize].load(Ordering::SeqCst);
                let post = store.post(id + 1).await.unwrap().unwrap();
                let seen = version(&post.title);
                assert!(seen >= floor, "post {} read as v{seen} after v{floor} was acknowledged", id + 1);
                // Listings are read (and cached) beside the posts too.
                let listed = store.posts("b").await.unwrap().unwrap();
                let seen = version(&listed[id as usize].title);
                let floor_before_list = floor;
                assert!(seen >= floor_before_list, "list shows v{seen} after v{floor_before_list}");
                reads += 1;
            }
            reads
        }));
    }
    let mut writers = Vec::new();
    for w in 0..4u64 {
        let (store, acked) = (store.clone(), Arc::clone(&acked));
        writers.push(tokio::spawn(async move {
            for n in 1..=EDITS_PER_POST {
                for id in [w, w + 4] {
                    let change = store.edit_post(id + 1, "u", PostEdit::Title(format!("v{n}"))).await.unwrap();
                    assert_eq!(change, PostChange::Done);
                    acked[id as usize].store(n, Ordering::SeqCst);
                    let post = store.post(id + 1).await.unwrap().unwrap();
                    assert_eq!(version(&post.title), n, "the writer's own read after its answer");
                }
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    writing.store(false, Ordering::SeqCst);
    let mut reads = 0;
    for r in readers {
        reads += r.await.unwrap();
    }
    assert!(reads > 100, "readers ran alongside the writes ({reads} reads)");
}

/// A cache big enough for everything: reads are mostly hits, and fills race
/// with invalidations.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_read_sees_a_replaced_value_with_a_big_cache() {
    run(64 * 1024 * 1024).await;
}

/// A cache of a few entries: most reads go to the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_read_sees_a_replaced_value_with_a_tiny_cache() {
    run(8 * 1024).await;
}
