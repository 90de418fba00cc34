//! The search index is filled once per write batch, at its end (see
//! `search::prepare_writer`): writes that land in one batch (created,
//! edited and deleted posts side by side) must still leave the index saying
//! exactly what the posts say.

use bbs_storage::{NewPost, NewUser, PostChange, PostEdit, SearchStore, Store};
use bbs_storage_sqlite::{SqliteOptions, SqliteStore};

const POSTS: u64 = 200;

async fn hits(store: &SqliteStore, word: &str) -> Vec<u64> {
    let mut ids: Vec<u64> = store.search(&[word.to_owned()], 10_000).await.unwrap().into_iter().map(|h| h.id).collect();
    ids.sort_unstable();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_batched_together_leave_the_index_right() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(SqliteOptions::new(dir.path().join("bbs.db"))).unwrap();
    store.register(NewUser { name: "u".into(), email: "e".into(), password_hash: "h".into() }).await.unwrap();
    store.create_board("b", "u").await.unwrap();

    // All at once, so that the writer takes many of them in one batch.
    let mut creating = tokio::task::JoinSet::new();
    for n in 0..POSTS {
        let store = store.clone();
        creating.spawn(async move {
            let post = NewPost {
                board: "b".into(),
                author: "u".into(),
                title: format!("common unique{n}"),
                content: "body".into(),
                created_at: 0,
            };
            (n, store.create_post(post).await.unwrap().unwrap())
        });
    }
    // The id of the post titled `unique{n}`, at index n.
    let mut created = creating.join_all().await;
    created.sort_unstable();
    let ids: Vec<u64> = created.into_iter().map(|(_, id)| id).collect();
    let mut all = ids.clone();
    all.sort_unstable();
    assert_eq!(hits(&store, "common").await, all);

    // Then, again all at once: every third post edited, every third
    // deleted, and new posts created beside them.
    let mut changing = tokio::task::JoinSet::new();
    for (n, id) in ids.iter().copied().enumerate() {
        let store = store.clone();
        changing.spawn(async move {
            match n % 3 {
                0 => {
                    let edit = PostEdit::Title(format!("edited unique{n}"));
                    assert_eq!(store.edit_post(id, "u", edit).await.unwrap(), PostChange::Done);
                }
                1 => assert_eq!(store.delete_post(id, "u").await.unwrap(), PostChange::Done),
                _ => {
                    let post = NewPost {
                        board: "b".into(),
                        author: "u".into(),
                        title: "later".into(),
                        content: "body".into(),
                        created_at: 0,
                    };
                    store.create_post(post).await.unwrap().unwrap();
                }
            }
        });
    }
    changing.join_all().await;

    let kept = |rest: usize| {
        let mut kept: Vec<u64> =
            ids.iter().copied().enumerate().filter(|(n, _)| n % 3 == rest).map(|(_, id)| id).collect();
        kept.sort_unstable();
        kept
    };
    assert_eq!(hits(&store, "common").await, kept(2));
    assert_eq!(hits(&store, "edited").await, kept(0));
    assert_eq!(hits(&store, "later").await.len(), kept(2).len());
    for (n, id) in ids.iter().copied().enumerate() {
        let expected = if n % 3 == 1 { vec![] } else { vec![id] };
        assert_eq!(hits(&store, &format!("unique{n}")).await, expected, "post {id}");
    }
    // Every post that exists is found by its body, and nothing else is.
    let posts: Vec<u64> = store.posts("b").await.unwrap().unwrap().into_iter().map(|p| p.id).collect();
    assert_eq!(hits(&store, "body").await, posts);
}
