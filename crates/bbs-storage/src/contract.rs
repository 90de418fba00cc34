//! The contract suite: what every [`Store`] must do, as one test case per
//! promise, generic over the backend. Each backend runs all of it against
//! itself, so a second backend is held to exactly what the first one is:
//!
//! ```ignore
//! // crates/bbs-storage-<backend>/tests/contract.rs
//! bbs_storage::store_contract_tests!(async || {
//!     let guard = make_fresh_database().await; // a temporary directory, a scratch schema...
//!     let store = MyStore::open(&guard).await.unwrap();
//!     (store, guard)
//! });
//! ```
//!
//! The macro expands to one `#[tokio::test]` per case, named after it, so
//! `cargo test` lists every case for every backend. The factory is called
//! once per case and must give a new, empty store; the second half of its
//! answer is kept alive until the case ends (use `()` if nothing needs to
//! be). The calling crate needs `tokio` (with `macros` and `rt`) among its
//! dev-dependencies, because `#[tokio::test]` names it.
//!
//! The module is compiled only with the `contract` feature (which a
//! backend turns on in its `[dev-dependencies]`) and for this crate's own
//! tests: it is test code, full of panics, and the server and tools that
//! depend on `bbs-storage` should neither build it nor pull in what it
//! needs (tokio, to write from many tasks at once).
//!
//! Durability across a restart is part of the trait's promise too, but
//! "restart" means something different to every backend (reopen a file,
//! reconnect to a server), so each backend tests it itself.
//!
//! To add a case: write a `pub async fn case<S: Store>(store: S)` here and
//! add its name to the list in [`store_contract_tests!`] (a test of this
//! crate checks that none is missing).

use crate::{
    AccountRow, AddKey, BalanceChange, BoardRow, ChatroomRow, CommentKind, CommentRow, Mail, MailSummary, NewMail,
    NewPost, NewSshKey, NewUser, NewVote, Notice, Post, PostChange, PostEdit, PostId, PostSummary, SshKeyRow, Store,
    Subscribed, SubscriptionKind, SubscriptionRow, UserRow, Voted, WaitingMessage, MISSED_KEPT,
};
use crate::{Beat, ClusterEvent, EventAudience, LiveSession, SessionChanges, SessionRef};

/// Runs the whole contract suite against a backend: one `#[tokio::test]`
/// per case. See the [module documentation](crate::contract).
#[macro_export]
macro_rules! store_contract_tests {
    (@cases ($factory:expr) $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test]
            async fn $case() {
                let (store, _guard) = ($factory)().await;
                $crate::contract::$case(store).await;
            }
        )*
    };
    ($factory:expr $(,)?) => {
        $crate::store_contract_tests!(@cases ($factory)
            a_new_store_is_empty,
            register_refuses_a_taken_name,
            password_hash_is_the_one_stored,
            users_are_listed_in_registration_order,
            create_board_refuses_an_existing_name,
            boards_are_listed_in_creation_order_with_one_based_indexes,
            posting_to_a_missing_board_gives_none,
            serial_numbers_are_shared_by_boards_and_never_reused,
            posts_lists_a_boards_own_posts_by_serial_number,
            post_returns_everything_that_was_stored,
            comments_are_kept_in_the_order_they_were_made,
            edit_post_changes_only_the_edited_field,
            ownership_and_existence_are_checked_in_order,
            delete_post_removes_the_post_and_its_comments,
            a_mixed_history_reads_back_exactly,
            concurrent_writes_are_all_committed,
            clones_share_one_store,
            open_chatroom_creates_an_open_row,
            opening_a_chatroom_again_updates_it_in_place,
            close_chatroom_closes_only_that_room,
            close_all_chatrooms_closes_every_room,
            chatrooms_are_listed_in_creation_order,
            mute_mode_is_kept_per_user,
            waiting_messages_are_taken_once_oldest_first,
            balance_changes_are_checked_and_kept_in_the_ledger,
            concurrent_balance_changes_lose_no_update,
            mail_numbers_are_positions_in_the_mailbox,
            search_finds_every_word_newest_first_and_follows_edits_and_deletions,
            subscriptions_are_kept_per_keyword_in_order,
            a_new_post_leaves_one_missed_notice_per_matching_subscriber,
            missed_notices_keep_the_latest_and_count_them_all,
            // Doors (SSH keys).
            ssh_keys_are_kept_per_user_in_the_order_added,
            an_ssh_key_is_added_once_per_user_and_up_to_the_limit,
            delete_ssh_key_counts_from_one_in_the_listed_order,
            // Files.
            a_file_name_is_taken_once,
            file_names_are_sorted_and_usage_is_summed,
            // Community.
            a_vote_moves_the_count_unless_it_is_the_authors_own_or_too_soon,
            the_count_is_clamped_and_a_missing_post_is_said,
            the_owner_adds_up_to_three_moderators_listed_after_the_owner,
            a_ban_refuses_a_members_writes_until_it_ends,
            board_settings_hold_members_to_boos_the_interval_and_account_age,
            a_deleted_post_goes_to_the_bin_and_comes_back_whole,
            the_bin_keeps_a_post_for_its_time_and_no_longer,
            at_most_five_posts_are_pinned_however_pins_interleave,
            an_edit_keeps_every_revision,
            every_moderator_action_is_logged_in_order,
            reports_are_limited_and_resolved_once,
            a_suspension_ends_by_itself_and_a_purge_empties_a_users_posts,
            // Cluster (several server processes on one store).
            a_session_and_its_token_are_seen_from_every_node,
            a_node_that_stops_beating_loses_its_sessions_and_rooms,
            a_room_key_is_released_only_by_the_session_that_runs_it,
            start_up_closes_only_the_rooms_nobody_runs,
            events_reach_every_other_node_in_order,
        );
    };
}

fn user(name: &str) -> NewUser {
    NewUser { name: name.into(), email: format!("{name}@example.org"), password_hash: format!("$hash${name}") }
}

fn post_in(board: &str, author: &str, title: &str) -> NewPost {
    NewPost {
        board: board.into(),
        author: author.into(),
        title: title.into(),
        content: format!("content of {title}"),
        created_at: 1_700_000_000,
    }
}

async fn ids<S: Store>(store: &S, board: &str) -> Vec<PostId> {
    store.posts(board).await.unwrap().expect("the board exists").iter().map(|p| p.id).collect()
}

fn room(owner: &str, address: &str, port: u16, open: bool) -> ChatroomRow {
    ChatroomRow { owner: owner.into(), address: address.into(), port, open }
}

/// Nothing is there before anything was written.
pub async fn a_new_store_is_empty<S: Store>(store: S) {
    assert_eq!(store.users().await.unwrap(), vec![]);
    assert_eq!(store.password_hash("anyone").await.unwrap(), None);
    assert_eq!(store.boards().await.unwrap(), vec![]);
    assert_eq!(store.posts("any").await.unwrap(), None);
    assert_eq!(store.post(1).await.unwrap(), None);
    assert_eq!(store.chatroom("anyone").await.unwrap(), None);
    assert_eq!(store.chatrooms().await.unwrap(), vec![]);
}

/// A second registration of a name is refused and changes nothing.
pub async fn register_refuses_a_taken_name<S: Store>(store: S) {
    assert!(store.register(user("ann")).await.unwrap());
    let impostor = NewUser { name: "ann".into(), email: "other@example.org".into(), password_hash: "other".into() };
    assert!(!store.register(impostor).await.unwrap());
    assert_eq!(store.users().await.unwrap(), vec![UserRow { name: "ann".into(), email: "ann@example.org".into() }]);
    assert_eq!(store.password_hash("ann").await.unwrap().as_deref(), Some("$hash$ann"));
}

/// Each user's own hash comes back, and nobody else's.
pub async fn password_hash_is_the_one_stored<S: Store>(store: S) {
    for name in ["ann", "bob"] {
        assert!(store.register(user(name)).await.unwrap());
    }
    assert_eq!(store.password_hash("ann").await.unwrap().as_deref(), Some("$hash$ann"));
    assert_eq!(store.password_hash("bob").await.unwrap().as_deref(), Some("$hash$bob"));
    assert_eq!(store.password_hash("carol").await.unwrap(), None);
    // Names are compared exactly.
    assert_eq!(store.password_hash("Ann").await.unwrap(), None);
}

/// Registration order, not alphabetical order.
pub async fn users_are_listed_in_registration_order<S: Store>(store: S) {
    let names = ["zoe", "ann", "mia", "bob"];
    for name in names {
        assert!(store.register(user(name)).await.unwrap());
    }
    let listed = store.users().await.unwrap();
    let expected: Vec<UserRow> =
        names.iter().map(|n| UserRow { name: (*n).into(), email: format!("{n}@example.org") }).collect();
    assert_eq!(listed, expected);
}

/// A second board of a name is refused and keeps the first moderator.
pub async fn create_board_refuses_an_existing_name<S: Store>(store: S) {
    assert!(store.create_board("news", "ann").await.unwrap());
    assert!(!store.create_board("news", "bob").await.unwrap());
    assert_eq!(
        store.boards().await.unwrap(),
        vec![BoardRow { index: 1, name: "news".into(), moderator: "ann".into() }]
    );
}

/// Creation order, numbered from 1.
pub async fn boards_are_listed_in_creation_order_with_one_based_indexes<S: Store>(store: S) {
    for (name, moderator) in [("zoo", "ann"), ("art", "bob"), ("math", "ann")] {
        assert!(store.create_board(name, moderator).await.unwrap());
    }
    // A refused duplicate takes no index.
    assert!(!store.create_board("art", "carol").await.unwrap());
    assert!(store.create_board("cs", "carol").await.unwrap());
    assert_eq!(
        store.boards().await.unwrap(),
        vec![
            BoardRow { index: 1, name: "zoo".into(), moderator: "ann".into() },
            BoardRow { index: 2, name: "art".into(), moderator: "bob".into() },
            BoardRow { index: 3, name: "math".into(), moderator: "ann".into() },
            BoardRow { index: 4, name: "cs".into(), moderator: "carol".into() },
        ]
    );
}

/// Posting to a board that does not exist stores nothing.
pub async fn posting_to_a_missing_board_gives_none<S: Store>(store: S) {
    assert_eq!(store.create_post(post_in("nope", "ann", "t")).await.unwrap(), None);
    assert_eq!(store.posts("nope").await.unwrap(), None);
    assert_eq!(store.boards().await.unwrap(), vec![]);
    assert_eq!(store.post(1).await.unwrap(), None);
    // The refused post used no serial number.
    assert!(store.create_board("b", "ann").await.unwrap());
    assert_eq!(store.create_post(post_in("b", "ann", "t")).await.unwrap(), Some(1));
}

/// One sequence for every board, starting at 1, never reused.
pub async fn serial_numbers_are_shared_by_boards_and_never_reused<S: Store>(store: S) {
    assert!(store.create_board("a", "u").await.unwrap());
    assert!(store.create_board("b", "u").await.unwrap());
    assert_eq!(store.create_post(post_in("a", "u", "1")).await.unwrap(), Some(1));
    assert_eq!(store.create_post(post_in("b", "u", "2")).await.unwrap(), Some(2));
    assert_eq!(store.create_post(post_in("a", "u", "3")).await.unwrap(), Some(3));
    // Deleting the newest post does not free its number.
    assert_eq!(store.delete_post(3, "u").await.unwrap(), PostChange::Done);
    assert_eq!(store.create_post(post_in("b", "u", "4")).await.unwrap(), Some(4));
    assert_eq!(store.create_post(post_in("nope", "u", "x")).await.unwrap(), None);
    assert_eq!(store.create_post(post_in("a", "u", "5")).await.unwrap(), Some(5));
}

/// A board lists only its own posts, ascending, with their summaries; an
/// empty board is an empty list, not "no such board".
pub async fn posts_lists_a_boards_own_posts_by_serial_number<S: Store>(store: S) {
    assert!(store.create_board("a", "ann").await.unwrap());
    assert!(store.create_board("b", "ann").await.unwrap());
    assert!(store.create_board("empty", "ann").await.unwrap());
    for (board, author, title) in [("a", "ann", "first"), ("b", "bob", "second"), ("a", "bob", "third")] {
        store.create_post(post_in(board, author, title)).await.unwrap().unwrap();
    }
    let at = |id, title: &str, author: &str| PostSummary {
        id,
        title: title.into(),
        author: author.into(),
        created_at: 1_700_000_000,
    };
    assert_eq!(store.posts("a").await.unwrap(), Some(vec![at(1, "first", "ann"), at(3, "third", "bob")]));
    assert_eq!(store.posts("b").await.unwrap(), Some(vec![at(2, "second", "bob")]));
    assert_eq!(store.posts("empty").await.unwrap(), Some(vec![]));
    assert_eq!(store.posts("c").await.unwrap(), None);
}

/// A post reads back field for field.
pub async fn post_returns_everything_that_was_stored<S: Store>(store: S) {
    assert!(store.create_board("news", "ann").await.unwrap());
    let new = NewPost {
        board: "news".into(),
        author: "bob".into(),
        title: "Hello, world".into(),
        content: "line one<br>line two, with ünïcödé".into(),
        created_at: 1_234_567_890,
    };
    let id = store.create_post(new).await.unwrap().unwrap();
    assert_eq!(
        store.post(id).await.unwrap(),
        Some(Post {
            id,
            board: "news".into(),
            author: "bob".into(),
            title: "Hello, world".into(),
            content: "line one<br>line two, with ünïcödé".into(),
            created_at: 1_234_567_890,
            comments: vec![],
        })
    );
    assert_eq!(store.post(id + 1).await.unwrap(), None);
}

/// Comments stay with their post, in the order they were made.
pub async fn comments_are_kept_in_the_order_they_were_made<S: Store>(store: S) {
    assert!(store.create_board("b", "ann").await.unwrap());
    let one = store.create_post(post_in("b", "ann", "one")).await.unwrap().unwrap();
    let two = store.create_post(post_in("b", "ann", "two")).await.unwrap().unwrap();
    for (post, author, text) in [(one, "bob", "1st"), (two, "ann", "other"), (one, "ann", "2nd"), (one, "bob", "3rd")] {
        assert!(store.comment(post, author, text, 1_700_000_001).await.unwrap());
    }
    assert!(!store.comment(two + 1, "bob", "nowhere", 0).await.unwrap());
    let comment =
        |author: &str, text: &str| CommentRow { author: author.into(), text: text.into(), kind: CommentKind::Comment };
    assert_eq!(
        store.post(one).await.unwrap().unwrap().comments,
        vec![comment("bob", "1st"), comment("ann", "2nd"), comment("bob", "3rd")]
    );
    assert_eq!(store.post(two).await.unwrap().unwrap().comments, vec![comment("ann", "other")]);
}

/// A title edit leaves the content alone and the other way round; the
/// board's list shows the new title.
pub async fn edit_post_changes_only_the_edited_field<S: Store>(store: S) {
    assert!(store.create_board("b", "ann").await.unwrap());
    let id = store.create_post(post_in("b", "ann", "old")).await.unwrap().unwrap();
    assert!(store.comment(id, "bob", "hi", 0).await.unwrap());

    assert_eq!(store.edit_post(id, "ann", PostEdit::Title("new".into())).await.unwrap(), PostChange::Done);
    let post = store.post(id).await.unwrap().unwrap();
    assert_eq!((post.title.as_str(), post.content.as_str()), ("new", "content of old"));
    assert_eq!(store.posts("b").await.unwrap().unwrap()[0].title, "new");

    assert_eq!(store.edit_post(id, "ann", PostEdit::Content("body".into())).await.unwrap(), PostChange::Done);
    let post = store.post(id).await.unwrap().unwrap();
    assert_eq!((post.title.as_str(), post.content.as_str()), ("new", "body"));
    assert_eq!((post.author.as_str(), post.board.as_str(), post.created_at), ("ann", "b", 1_700_000_000));
    assert_eq!(post.comments, vec![CommentRow { author: "bob".into(), text: "hi".into(), kind: CommentKind::Comment }]);
}

/// "No such post" comes before "not the owner", and a refused change
/// changes nothing. Anybody may comment.
pub async fn ownership_and_existence_are_checked_in_order<S: Store>(store: S) {
    assert!(store.create_board("b", "mod").await.unwrap());
    let id = store.create_post(post_in("b", "u", "t")).await.unwrap().unwrap();
    let missing = id + 8;
    assert_eq!(store.edit_post(missing, "v", PostEdit::Title("x".into())).await.unwrap(), PostChange::NoSuchPost);
    assert_eq!(store.edit_post(missing, "u", PostEdit::Title("x".into())).await.unwrap(), PostChange::NoSuchPost);
    assert_eq!(store.delete_post(missing, "v").await.unwrap(), PostChange::NoSuchPost);
    assert_eq!(store.edit_post(id, "v", PostEdit::Title("x".into())).await.unwrap(), PostChange::NotOwner);
    assert_eq!(store.edit_post(id, "v", PostEdit::Content("x".into())).await.unwrap(), PostChange::NotOwner);
    assert_eq!(store.delete_post(id, "v").await.unwrap(), PostChange::NotOwner);
    // Neither the board's moderator nor a name differing in case wrote it.
    assert_eq!(store.delete_post(id, "mod").await.unwrap(), PostChange::NotOwner);
    assert_eq!(store.delete_post(id, "U").await.unwrap(), PostChange::NotOwner);
    assert!(store.comment(id, "v", "hi", 0).await.unwrap());
    assert!(!store.comment(missing, "v", "hi", 0).await.unwrap());
    let post = store.post(id).await.unwrap().unwrap();
    assert_eq!((post.title.as_str(), post.content.as_str()), ("t", "content of t"));
    assert_eq!(post.comments, vec![CommentRow { author: "v".into(), text: "hi".into(), kind: CommentKind::Comment }]);
}

/// A deleted post is gone everywhere, with its comments; other posts stay.
pub async fn delete_post_removes_the_post_and_its_comments<S: Store>(store: S) {
    assert!(store.create_board("b", "ann").await.unwrap());
    let keep = store.create_post(post_in("b", "ann", "keep")).await.unwrap().unwrap();
    let gone = store.create_post(post_in("b", "bob", "gone")).await.unwrap().unwrap();
    assert!(store.comment(gone, "ann", "soon gone", 0).await.unwrap());
    assert!(store.comment(keep, "bob", "stays", 0).await.unwrap());

    assert_eq!(store.delete_post(gone, "bob").await.unwrap(), PostChange::Done);
    assert_eq!(store.post(gone).await.unwrap(), None);
    assert_eq!(ids(&store, "b").await, vec![keep]);
    assert_eq!(store.delete_post(gone, "bob").await.unwrap(), PostChange::NoSuchPost);
    assert_eq!(store.edit_post(gone, "bob", PostEdit::Title("x".into())).await.unwrap(), PostChange::NoSuchPost);
    assert!(!store.comment(gone, "ann", "too late", 0).await.unwrap());
    assert_eq!(
        store.post(keep).await.unwrap().unwrap().comments,
        vec![CommentRow { author: "bob".into(), text: "stays".into(), kind: CommentKind::Comment }]
    );
}

/// Every kind of write, interleaved, then every kind of read.
pub async fn a_mixed_history_reads_back_exactly<S: Store>(store: S) {
    assert!(store.register(NewUser { name: "u".into(), email: "e".into(), password_hash: "h".into() }).await.unwrap());
    assert!(!store.register(NewUser { name: "u".into(), email: "x".into(), password_hash: "y".into() }).await.unwrap());
    assert!(store.create_board("a", "u").await.unwrap());
    assert!(store.create_board("b", "v").await.unwrap());
    assert!(!store.create_board("a", "v").await.unwrap());
    for board in ["a", "b", "a", "b", "a"] {
        store.create_post(post_in(board, "u", "t")).await.unwrap().unwrap();
    }
    assert_eq!(store.delete_post(3, "u").await.unwrap(), PostChange::Done);
    assert_eq!(store.edit_post(1, "u", PostEdit::Title("new title".into())).await.unwrap(), PostChange::Done);
    assert_eq!(store.edit_post(5, "u", PostEdit::Content("new content".into())).await.unwrap(), PostChange::Done);
    assert!(store.comment(1, "v", "first", 0).await.unwrap());
    assert!(store.comment(1, "u", "second", 0).await.unwrap());
    assert!(!store.comment(3, "u", "on a deleted post", 0).await.unwrap());

    assert_eq!(store.users().await.unwrap(), vec![UserRow { name: "u".into(), email: "e".into() }]);
    assert_eq!(store.password_hash("u").await.unwrap().as_deref(), Some("h"));
    let boards: Vec<_> = store.boards().await.unwrap().into_iter().map(|b| (b.index, b.name, b.moderator)).collect();
    assert_eq!(boards, vec![(1, "a".to_owned(), "u".to_owned()), (2, "b".to_owned(), "v".to_owned())]);
    assert_eq!(ids(&store, "a").await, vec![1, 5]);
    assert_eq!(ids(&store, "b").await, vec![2, 4]);
    assert_eq!(store.posts("c").await.unwrap(), None);
    let first = store.post(1).await.unwrap().unwrap();
    assert_eq!((first.title.as_str(), first.content.as_str()), ("new title", "content of t"));
    assert_eq!(first.comments.len(), 2);
    let fifth = store.post(5).await.unwrap().unwrap();
    assert_eq!((fifth.title.as_str(), fifth.content.as_str()), ("t", "new content"));
    assert_eq!(store.post(3).await.unwrap(), None);
    assert_eq!(store.post(6).await.unwrap(), None);
    assert_eq!(store.create_post(post_in("b", "u", "t")).await.unwrap(), Some(6));
}

/// Many writers at once: every write is committed, gets its own number,
/// and is visible as soon as it is acknowledged.
pub async fn concurrent_writes_are_all_committed<S: Store>(store: S) {
    const WRITERS: u64 = 200;
    assert!(store.create_board("b", "u").await.unwrap());
    let tasks: Vec<_> = (0..WRITERS)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let id = store.create_post(post_in("b", "u", &format!("post {i}"))).await.unwrap().unwrap();
                // Acknowledged means visible.
                assert_eq!(store.post(id).await.unwrap().unwrap().title, format!("post {i}"));
                assert!(store.comment(id, "v", &format!("on {i}"), 0).await.unwrap());
                id
            })
        })
        .collect();
    let mut ids_given = Vec::new();
    for t in tasks {
        ids_given.push(t.await.expect("writer task"));
    }
    ids_given.sort_unstable();
    assert_eq!(ids_given, (1..=WRITERS).collect::<Vec<_>>());
    assert_eq!(ids(&store, "b").await, (1..=WRITERS).collect::<Vec<_>>());
    for id in 1..=WRITERS {
        assert_eq!(store.post(id).await.unwrap().unwrap().comments.len(), 1);
    }
}

/// A clone is a handle to the same store, not a copy.
pub async fn clones_share_one_store<S: Store>(store: S) {
    let other = store.clone();
    assert!(store.register(user("ann")).await.unwrap());
    assert!(!other.register(user("ann")).await.unwrap());
    assert!(other.create_board("b", "ann").await.unwrap());
    let id = store.create_post(post_in("b", "ann", "t")).await.unwrap().unwrap();
    assert_eq!(other.post(id).await.unwrap().unwrap().title, "t");
    other.open_chatroom("ann", "10.0.0.1", 7000).await.unwrap();
    assert_eq!(store.chatroom("ann").await.unwrap(), Some(room("ann", "10.0.0.1", 7000, true)));
    drop(other);
    assert_eq!(store.users().await.unwrap().len(), 1);
}

/// The first open creates the room's row, open, at the address given.
pub async fn open_chatroom_creates_an_open_row<S: Store>(store: S) {
    store.open_chatroom("ann", "192.0.2.7", 50123).await.unwrap();
    assert_eq!(store.chatroom("ann").await.unwrap(), Some(room("ann", "192.0.2.7", 50123, true)));
    assert_eq!(store.chatroom("bob").await.unwrap(), None);
    assert_eq!(store.chatrooms().await.unwrap(), vec![room("ann", "192.0.2.7", 50123, true)]);
    // IPv6 addresses and the extremes of the port range are kept as given.
    store.open_chatroom("bob", "2001:db8::1", u16::MAX).await.unwrap();
    store.open_chatroom("cat", "::1", 1).await.unwrap();
    assert_eq!(store.chatroom("bob").await.unwrap(), Some(room("bob", "2001:db8::1", u16::MAX, true)));
    assert_eq!(store.chatroom("cat").await.unwrap(), Some(room("cat", "::1", 1, true)));
}

/// Opening a room again (a restart, perhaps from elsewhere) updates its
/// row and keeps its place in the registry.
pub async fn opening_a_chatroom_again_updates_it_in_place<S: Store>(store: S) {
    store.open_chatroom("ann", "10.0.0.1", 7000).await.unwrap();
    store.open_chatroom("bob", "10.0.0.2", 7001).await.unwrap();
    store.close_chatroom("ann").await.unwrap();
    store.open_chatroom("ann", "10.0.0.9", 7009).await.unwrap();
    // And while still open, too.
    store.open_chatroom("bob", "10.0.0.8", 7008).await.unwrap();
    assert_eq!(
        store.chatrooms().await.unwrap(),
        vec![room("ann", "10.0.0.9", 7009, true), room("bob", "10.0.0.8", 7008, true)]
    );
}

/// Closing touches one room, keeps its row, and is a no-op (creating
/// nothing) for an owner without a room.
pub async fn close_chatroom_closes_only_that_room<S: Store>(store: S) {
    store.open_chatroom("ann", "10.0.0.1", 7000).await.unwrap();
    store.open_chatroom("bob", "10.0.0.2", 7001).await.unwrap();
    store.close_chatroom("ann").await.unwrap();
    assert_eq!(store.chatroom("ann").await.unwrap(), Some(room("ann", "10.0.0.1", 7000, false)));
    assert_eq!(store.chatroom("bob").await.unwrap(), Some(room("bob", "10.0.0.2", 7001, true)));
    // Closing twice is fine.
    store.close_chatroom("ann").await.unwrap();
    assert_eq!(store.chatroom("ann").await.unwrap(), Some(room("ann", "10.0.0.1", 7000, false)));
    store.close_chatroom("nobody").await.unwrap();
    assert_eq!(store.chatroom("nobody").await.unwrap(), None);
    assert_eq!(store.chatrooms().await.unwrap().len(), 2);
}

/// Start-up closes every room and forgets none; rooms open again later.
pub async fn close_all_chatrooms_closes_every_room<S: Store>(store: S) {
    // With no rooms at all, it is a no-op.
    store.close_all_chatrooms().await.unwrap();
    assert_eq!(store.chatrooms().await.unwrap(), vec![]);
    store.open_chatroom("ann", "10.0.0.1", 7000).await.unwrap();
    store.open_chatroom("bob", "10.0.0.2", 7001).await.unwrap();
    store.open_chatroom("cat", "10.0.0.3", 7002).await.unwrap();
    store.close_chatroom("bob").await.unwrap();
    store.close_all_chatrooms().await.unwrap();
    assert_eq!(
        store.chatrooms().await.unwrap(),
        vec![
            room("ann", "10.0.0.1", 7000, false),
            room("bob", "10.0.0.2", 7001, false),
            room("cat", "10.0.0.3", 7002, false),
        ]
    );
    store.open_chatroom("bob", "10.0.0.2", 7001).await.unwrap();
    assert_eq!(store.chatroom("bob").await.unwrap(), Some(room("bob", "10.0.0.2", 7001, true)));
    assert!(!store.chatroom("ann").await.unwrap().unwrap().open);
}

/// Creation order, not by name, and not by the time of the latest open.
pub async fn chatrooms_are_listed_in_creation_order<S: Store>(store: S) {
    let owners = ["zoe", "ann", "mia", "bob", "kim"];
    for (i, owner) in owners.iter().enumerate() {
        store.open_chatroom(owner, "127.0.0.1", 9000 + i as u16).await.unwrap();
    }
    store.close_chatroom("ann").await.unwrap();
    store.open_chatroom("ann", "127.0.0.1", 9999).await.unwrap();
    let listed: Vec<String> = store.chatrooms().await.unwrap().into_iter().map(|r| r.owner).collect();
    assert_eq!(listed, owners);
}

// Social: mute mode, waiting messages, shared accounts, mail.

/// Mute mode belongs to one user; setting it twice reports no change.
pub async fn mute_mode_is_kept_per_user<S: Store>(store: S) {
    assert!(!store.is_muted("ann").await.unwrap());
    assert!(store.set_muted("ann", true).await.unwrap());
    assert!(!store.set_muted("ann", true).await.unwrap());
    assert!(store.is_muted("ann").await.unwrap());
    assert!(!store.is_muted("bob").await.unwrap());
    assert_eq!(store.muted_users().await.unwrap(), vec!["ann".to_owned()]);
    assert!(store.set_muted("ann", false).await.unwrap());
    assert!(!store.set_muted("ann", false).await.unwrap());
    assert!(store.muted_users().await.unwrap().is_empty());
}

/// Waiting messages come back oldest first, once, only to their recipient,
/// and no more than the limit are kept.
pub async fn waiting_messages_are_taken_once_oldest_first<S: Store>(store: S) {
    let message = |from: &str, text: &str| WaitingMessage { from: from.into(), text: text.into(), sent_at: 7 };
    assert!(store.leave_message("ann", message("bob", "first"), 2).await.unwrap());
    assert!(store.leave_message("cy", message("bob", "other"), 2).await.unwrap());
    assert!(store.leave_message("ann", message("cy", "second"), 2).await.unwrap());
    assert!(!store.leave_message("ann", message("cy", "third"), 2).await.unwrap());
    assert_eq!(store.take_messages("ann").await.unwrap(), vec![message("bob", "first"), message("cy", "second")]);
    assert!(store.take_messages("ann").await.unwrap().is_empty());
    assert!(store.leave_message("ann", message("bob", "again"), 2).await.unwrap());
    assert_eq!(store.take_messages("cy").await.unwrap(), vec![message("bob", "other")]);
}

/// The two accounts start at 0; every applied change is in the ledger and
/// refused ones (unknown account, too little money, overflow) change nothing.
pub async fn balance_changes_are_checked_and_kept_in_the_ledger<S: Store>(store: S) {
    let names = |rows: Vec<AccountRow>| rows.into_iter().map(|a| (a.name, a.balance)).collect::<Vec<_>>();
    assert_eq!(names(store.accounts().await.unwrap()), vec![("ACCOUNT1".into(), 0), ("ACCOUNT2".into(), 0)]);
    assert_eq!(store.change_balance("ACCOUNT1", "ann", 100, 5).await.unwrap(), BalanceChange::Done(100));
    assert_eq!(store.change_balance("ACCOUNT1", "bob", -30, 6).await.unwrap(), BalanceChange::Done(70));
    assert_eq!(store.change_balance("ACCOUNT1", "bob", -71, 7).await.unwrap(), BalanceChange::Insufficient);
    assert_eq!(store.change_balance("account1", "bob", 1, 7).await.unwrap(), BalanceChange::NoSuchAccount);
    assert_eq!(store.change_balance("ACCOUNT2", "cy", i64::MAX, 8).await.unwrap(), BalanceChange::Done(i64::MAX));
    assert_eq!(store.change_balance("ACCOUNT2", "cy", 1, 9).await.unwrap(), BalanceChange::Overflow);
    assert_eq!(store.change_balance("ACCOUNT2", "cy", i64::MIN, 9).await.unwrap(), BalanceChange::Insufficient);
    assert_eq!(names(store.accounts().await.unwrap()), vec![("ACCOUNT1".into(), 70), ("ACCOUNT2".into(), i64::MAX)]);
    let ledger: Vec<(String, String, i64, i64)> =
        store.ledger().await.unwrap().into_iter().map(|l| (l.account, l.user, l.at, l.delta)).collect();
    assert_eq!(
        ledger,
        vec![
            ("ACCOUNT1".into(), "ann".into(), 5, 100),
            ("ACCOUNT1".into(), "bob".into(), 6, -30),
            ("ACCOUNT2".into(), "cy".into(), 8, i64::MAX),
        ]
    );
}

/// Concurrent deposits and withdrawals lose no update: the balance is the
/// sum of the ledger, and the ledger holds exactly the applied changes.
pub async fn concurrent_balance_changes_lose_no_update<S: Store>(store: S) {
    const TASKS: i64 = 40;
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut applied = 0;
                for n in 0..10 {
                    let delta = if (i + n) % 3 == 0 { -(n + 5) } else { n + 1 };
                    if let BalanceChange::Done(_) = store.change_balance("ACCOUNT1", "u", delta, 0).await.unwrap() {
                        applied += delta;
                    }
                }
                applied
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("task");
    }
    let balance = store.accounts().await.unwrap()[0].balance;
    assert_eq!(balance, total);
    assert_eq!(store.ledger().await.unwrap().iter().map(|l| l.delta).sum::<i64>(), total);
}

/// Mail numbers are positions, oldest first; reading marks a mail read;
/// deleting moves later mails up; a full mailbox refuses more.
pub async fn mail_numbers_are_positions_in_the_mailbox<S: Store>(store: S) {
    let mail = |to: &str, subject: &str| NewMail {
        to: to.into(),
        from: "bob".into(),
        subject: subject.into(),
        content: format!("about {subject}"),
        sent_at: 9,
    };
    for subject in ["one", "two", "three"] {
        assert!(store.send_mail(mail("ann", subject), 3).await.unwrap());
    }
    assert!(!store.send_mail(mail("ann", "four"), 3).await.unwrap());
    assert!(store.send_mail(mail("cy", "elsewhere"), 3).await.unwrap());
    let subjects = |list: Vec<MailSummary>| list.into_iter().map(|m| m.subject).collect::<Vec<_>>();
    assert_eq!(subjects(store.mails("ann").await.unwrap()), ["one", "two", "three"]);
    assert_eq!(store.unread_mails("ann").await.unwrap(), 3);
    let read = store.read_mail("ann", 2).await.unwrap().unwrap();
    assert_eq!(read, Mail { subject: "two".into(), from: "bob".into(), content: "about two".into(), sent_at: 9 });
    assert_eq!(store.unread_mails("ann").await.unwrap(), 2);
    assert_eq!(store.read_mail("ann", 4).await.unwrap(), None);
    assert_eq!(store.read_mail("ann", 0).await.unwrap(), None);
    assert!(store.delete_mail("ann", 1).await.unwrap());
    assert!(!store.delete_mail("ann", 3).await.unwrap());
    assert_eq!(subjects(store.mails("ann").await.unwrap()), ["two", "three"]);
    assert_eq!(store.read_mail("ann", 1).await.unwrap().unwrap().subject, "two");
    assert_eq!(store.unread_mails("ann").await.unwrap(), 1);
    assert_eq!(subjects(store.mails("cy").await.unwrap()), ["elsewhere"]);
    assert!(store.mails("nobody").await.unwrap().is_empty());
}

// Search and subscriptions (`SearchStore`).

async fn titled_post<S: Store>(store: &S, board: &str, author: &str, title: &str, content: &str) -> PostId {
    let post = NewPost {
        board: board.into(),
        author: author.into(),
        title: title.into(),
        content: content.into(),
        created_at: 0,
    };
    store.create_post(post).await.unwrap().expect("the board exists")
}

async fn found<S: Store>(store: &S, words: &[&str]) -> Vec<PostId> {
    let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    store.search(&words, 50).await.unwrap().into_iter().map(|h| h.id).collect()
}

/// Every word must be in the title or the content; whole words for Latin
/// script, any two adjacent characters for CJK; newest first; the index
/// follows edits and deletions at once.
pub async fn search_finds_every_word_newest_first_and_follows_edits_and_deletions<S: Store>(store: S) {
    store.create_board("np", "ann").await.unwrap();
    store.create_board("os", "ann").await.unwrap();
    let hw = titled_post(&store, "np", "ann", "網路程式設計作業", "Deadline is Friday").await;
    let tcp = titled_post(&store, "os", "bob", "TCP sockets", "Homework: write a friday server").await;
    let other = titled_post(&store, "np", "bob", "Lunch", "Nothing to see").await;
    assert_eq!(found(&store, &["作業"]).await, vec![hw]);
    assert_eq!(found(&store, &["程式設計"]).await, vec![hw]);
    assert_eq!(found(&store, &["計作"]).await, vec![hw], "any two adjacent characters");
    assert_eq!(found(&store, &["作業網路"]).await, vec![], "not adjacent in that order");
    assert_eq!(found(&store, &["FRIDAY"]).await, vec![tcp, hw], "newest first, case folded");
    assert_eq!(found(&store, &["friday", "sockets"]).await, vec![tcp], "every word");
    assert_eq!(found(&store, &["fri"]).await, vec![], "Latin words are whole words");
    assert_eq!(found(&store, &["\"", "(*)"]).await, vec![], "nothing searchable: nothing found");
    let hit = store.search(&["sockets".to_owned()], 50).await.unwrap();
    assert_eq!(hit[0].board, "os");
    assert_eq!(hit[0].title, "TCP sockets");
    assert_eq!(hit[0].author, "bob");

    assert_eq!(store.edit_post(other, "bob", PostEdit::Title("Friday lunch".into())).await.unwrap(), PostChange::Done);
    assert_eq!(found(&store, &["friday"]).await, vec![other, tcp, hw]);
    assert_eq!(found(&store, &["lunch", "nothing"]).await, vec![other], "content kept after a title edit");
    assert_eq!(store.edit_post(hw, "ann", PostEdit::Content("no more".into())).await.unwrap(), PostChange::Done);
    assert_eq!(found(&store, &["friday"]).await, vec![other, tcp]);
    assert_eq!(found(&store, &["作業"]).await, vec![hw], "title kept after a content edit");
    assert_eq!(store.delete_post(tcp, "bob").await.unwrap(), PostChange::Done);
    assert_eq!(found(&store, &["friday"]).await, vec![other]);

    for n in 0..60 {
        titled_post(&store, "os", "cy", &format!("many {n}"), "").await;
    }
    let many = store.search(&["many".to_owned()], 50).await.unwrap();
    assert_eq!(many.len(), 50, "at most the limit");
    assert_eq!(many[0].title, "many 59");
}

/// One row per keyword, in the order subscribed; the same keyword twice
/// (in any case) is refused; unsubscribing a target removes all its
/// keywords; the limit counts keywords.
pub async fn subscriptions_are_kept_per_keyword_in_order<S: Store>(store: S) {
    use SubscriptionKind::{Author, Board};
    assert_eq!(store.subscribe("ann", Board, "np", "hw", 4).await.unwrap(), Subscribed::Added);
    assert_eq!(store.subscribe("ann", Author, "bob", "exam", 4).await.unwrap(), Subscribed::Added);
    assert_eq!(store.subscribe("ann", Board, "np", "HW", 4).await.unwrap(), Subscribed::Already);
    assert_eq!(store.subscribe("ann", Author, "np", "hw", 4).await.unwrap(), Subscribed::Added, "another kind");
    assert_eq!(store.subscribe("ann", Board, "np", "50% off", 4).await.unwrap(), Subscribed::Added);
    assert_eq!(store.subscribe("ann", Board, "os", "x", 4).await.unwrap(), Subscribed::TooMany);
    assert_eq!(store.subscribe("bob", Board, "np", "hw", 4).await.unwrap(), Subscribed::Added, "per user");
    let row =
        |kind, target: &str, keyword: &str| SubscriptionRow { kind, target: target.into(), keyword: keyword.into() };
    assert_eq!(
        store.subscriptions("ann").await.unwrap(),
        vec![row(Board, "np", "hw"), row(Author, "bob", "exam"), row(Author, "np", "hw"), row(Board, "np", "50% off")]
    );
    assert!(store.unsubscribe("ann", Board, "np").await.unwrap());
    assert!(!store.unsubscribe("ann", Board, "np").await.unwrap());
    assert!(!store.unsubscribe("ann", Board, "bob").await.unwrap(), "kinds are apart");
    assert_eq!(store.subscriptions("ann").await.unwrap(), vec![row(Author, "bob", "exam"), row(Author, "np", "hw")]);
    assert_eq!(store.subscriptions("bob").await.unwrap(), vec![row(Board, "np", "hw")]);
}

/// A new post leaves, in its own transaction, one notice per subscriber it
/// matches, however many of their subscriptions match; never for its
/// author; keywords are literal and case-insensitive; the write says whom
/// it matched. `delivered` forgets the notices of those who saw it live;
/// `take_missed` empties the rest.
pub async fn a_new_post_leaves_one_missed_notice_per_matching_subscriber<S: Store>(store: S) {
    use SubscriptionKind::{Author, Board};
    store.create_board("np", "ann").await.unwrap();
    store.subscribe("cy", Board, "np", "hw", 10).await.unwrap();
    store.subscribe("cy", Board, "np", "Due", 10).await.unwrap();
    store.subscribe("cy", Author, "ann", "HW", 10).await.unwrap();
    store.subscribe("ann", Board, "np", "hw", 10).await.unwrap();
    store.subscribe("dan", Board, "np", "100%", 10).await.unwrap();
    store.subscribe("eve", Board, "np", "a_b", 10).await.unwrap();
    store.subscribe("fay", Board, "other", "hw", 10).await.unwrap();
    let post = |author: &str, title: &str| NewPost {
        board: "np".into(),
        author: author.into(),
        title: title.into(),
        content: String::new(),
        created_at: 0,
    };
    let created = store.create_post_as_member(post("ann", "HW1 due")).await.unwrap().unwrap();
    assert_eq!(created.subscribers, ["cy"]);
    let first = created.id;
    // `%` and `_` are characters, not patterns.
    for unmatched in ["1000 things", "axb"] {
        let created = store.create_post_as_member(post("bob", unmatched)).await.unwrap().unwrap();
        assert_eq!(created.subscribers, Vec::<String>::new(), "{unmatched}");
    }
    let created = store.create_post_as_member(post("bob", "hw 100% A_B")).await.unwrap().unwrap();
    assert_eq!(created.subscribers, ["ann", "cy", "dan", "eve"], "each once, sorted");
    let second = created.id;

    let notice = |post, title: &str, author: &str| Notice {
        post,
        board: "np".into(),
        title: title.into(),
        author: author.into(),
    };
    store.delivered(second, vec!["dan".into(), "nobody".into()]).await.unwrap();
    let cy = store.take_missed("cy").await.unwrap();
    assert_eq!(cy.total, 2);
    assert_eq!(cy.latest, vec![notice(first, "HW1 due", "ann"), notice(second, "hw 100% A_B", "bob")]);
    assert_eq!(store.take_missed("cy").await.unwrap().total, 0, "taken means gone");
    assert_eq!(store.take_missed("ann").await.unwrap().latest, vec![notice(second, "hw 100% A_B", "bob")]);
    assert_eq!(store.take_missed("dan").await.unwrap().total, 0, "dan saw it live");
    assert_eq!(store.take_missed("eve").await.unwrap().total, 1);
    assert_eq!(store.take_missed("fay").await.unwrap().total, 0);
}

/// A subscriber away for long keeps only the latest notices, but learns
/// how many there were.
pub async fn missed_notices_keep_the_latest_and_count_them_all<S: Store>(store: S) {
    store.create_board("np", "ann").await.unwrap();
    store.subscribe("cy", SubscriptionKind::Board, "np", "post", 10).await.unwrap();
    let total = MISSED_KEPT + 20;
    for n in 0..total {
        titled_post(&store, "np", "ann", &format!("post {n}"), "").await;
    }
    let missed = store.take_missed("cy").await.unwrap();
    assert_eq!(missed.total, total as u64);
    assert_eq!(missed.latest.len(), MISSED_KEPT);
    assert_eq!(missed.latest[0].title, "post 20");
    assert_eq!(missed.latest[MISSED_KEPT - 1].title, format!("post {}", total - 1));
}

// Doors (SSH keys).

fn ssh_key(n: u8) -> NewSshKey {
    NewSshKey {
        public_key: format!("ssh-ed25519 AAAAkey{n}"),
        fingerprint: format!("SHA256:fp{n}"),
        comment: format!("key {n}"),
        added_at: 1_700_000_000 + i64::from(n),
    }
}

fn key_row(n: u8) -> SshKeyRow {
    let key = ssh_key(n);
    SshKeyRow { public_key: key.public_key, fingerprint: key.fingerprint, comment: key.comment, added_at: key.added_at }
}

/// Each user sees only their own keys, oldest first.
pub async fn ssh_keys_are_kept_per_user_in_the_order_added<S: Store>(store: S) {
    assert_eq!(store.ssh_keys("ann").await.unwrap(), vec![]);
    for n in [3, 1, 2] {
        assert_eq!(store.add_ssh_key("ann", ssh_key(n), 10).await.unwrap(), AddKey::Added);
    }
    assert_eq!(store.add_ssh_key("bob", ssh_key(1), 10).await.unwrap(), AddKey::Added, "another user may add it");
    assert_eq!(store.ssh_keys("ann").await.unwrap(), vec![key_row(3), key_row(1), key_row(2)]);
    assert_eq!(store.ssh_keys("bob").await.unwrap(), vec![key_row(1)]);
}

/// The same fingerprint twice for one user is refused, and so is one key
/// past the limit; neither changes what is stored.
pub async fn an_ssh_key_is_added_once_per_user_and_up_to_the_limit<S: Store>(store: S) {
    assert_eq!(store.add_ssh_key("ann", ssh_key(1), 2).await.unwrap(), AddKey::Added);
    let mut again = ssh_key(1);
    again.comment = "other comment".into();
    assert_eq!(store.add_ssh_key("ann", again, 2).await.unwrap(), AddKey::AlreadyAdded);
    assert_eq!(store.add_ssh_key("ann", ssh_key(2), 2).await.unwrap(), AddKey::Added);
    assert_eq!(store.add_ssh_key("ann", ssh_key(3), 2).await.unwrap(), AddKey::TooMany);
    assert_eq!(store.ssh_keys("ann").await.unwrap(), vec![key_row(1), key_row(2)]);
}

/// Index 1 is the oldest key; a deletion renumbers the rest; indexes out of
/// range delete nothing.
pub async fn delete_ssh_key_counts_from_one_in_the_listed_order<S: Store>(store: S) {
    for n in 1..=3 {
        store.add_ssh_key("ann", ssh_key(n), 10).await.unwrap();
    }
    store.add_ssh_key("bob", ssh_key(9), 10).await.unwrap();
    assert!(!store.delete_ssh_key("ann", 0).await.unwrap());
    assert!(!store.delete_ssh_key("ann", 4).await.unwrap());
    assert!(!store.delete_ssh_key("carol", 1).await.unwrap());
    assert!(store.delete_ssh_key("ann", 2).await.unwrap());
    assert_eq!(store.ssh_keys("ann").await.unwrap(), vec![key_row(1), key_row(3)]);
    assert!(store.delete_ssh_key("ann", 2).await.unwrap());
    assert_eq!(store.ssh_keys("ann").await.unwrap(), vec![key_row(1)]);
    assert_eq!(store.ssh_keys("bob").await.unwrap(), vec![key_row(9)]);
}

// ---------------------------------------------------------------------------
// Files.

fn file_row(name: &str, owner: &str, size: u64) -> crate::FileRow {
    crate::FileRow { name: name.into(), owner: owner.into(), size, sha256: format!("{size:064x}"), created_at: 7 }
}

pub async fn a_file_name_is_taken_once<S: Store>(store: S) {
    assert_eq!(store.file("a").await.unwrap(), None);
    assert!(store.add_file(file_row("a", "ann", 10)).await.unwrap());
    assert!(!store.add_file(file_row("a", "bob", 20)).await.unwrap());
    assert_eq!(store.file("a").await.unwrap(), Some(file_row("a", "ann", 10)));
    store.remove_file("a").await.unwrap();
    assert_eq!(store.file("a").await.unwrap(), None);
    assert!(store.add_file(file_row("a", "bob", 20)).await.unwrap());
}

pub async fn file_names_are_sorted_and_usage_is_summed<S: Store>(store: S) {
    assert!(store.file_names().await.unwrap().is_empty());
    for (name, owner, size) in [("b", "ann", 5), ("B", "bob", 7), ("a", "ann", 1 << 40), ("報告", "bob", 0)] {
        assert!(store.add_file(file_row(name, owner, size)).await.unwrap());
    }
    assert_eq!(store.file_names().await.unwrap(), ["B", "a", "b", "報告"]);
    assert_eq!(store.file_usage("ann").await.unwrap(), crate::FileUsage { user: (1 << 40) + 5, total: (1 << 40) + 12 });
    assert_eq!(store.file_usage("nobody").await.unwrap(), crate::FileUsage { user: 0, total: (1 << 40) + 12 });
}

// Community: pushes and boos.

fn vote(post: PostId, voter: &str, kind: CommentKind, at: crate::Timestamp) -> NewVote {
    NewVote { post, voter: voter.into(), kind, text: "t".into(), at, vote_interval: 90, sysops: vec!["root".into()] }
}

pub async fn a_vote_moves_the_count_unless_it_is_the_authors_own_or_too_soon<S: Store>(store: S) {
    assert!(store.create_board("b", "owner").await.unwrap());
    let new =
        NewPost { board: "b".into(), author: "ann".into(), title: "t".into(), content: "c".into(), created_at: 0 };
    let post = store.create_post(new).await.unwrap().unwrap();
    assert_eq!(
        store.vote(vote(post, "bob", CommentKind::Push, 1000)).await.unwrap(),
        Voted::Counted(CommentKind::Push, 1)
    );
    assert_eq!(store.vote(vote(post, "ann", CommentKind::Push, 1000)).await.unwrap(), Voted::AsComment, "own post");
    assert_eq!(store.vote(vote(post, "bob", CommentKind::Boo, 1089)).await.unwrap(), Voted::AsComment, "89 s later");
    assert_eq!(
        store.vote(vote(post, "bob", CommentKind::Boo, 1090)).await.unwrap(),
        Voted::Counted(CommentKind::Boo, 0)
    );
    assert_eq!(
        store.vote(vote(post, "cy", CommentKind::Boo, 1090)).await.unwrap(),
        Voted::Counted(CommentKind::Boo, -1)
    );
    // The board's owner and a sysop are not held to the interval.
    for voter in ["owner", "root"] {
        for at in [2000, 2001] {
            let voted = store.vote(vote(post, voter, CommentKind::Push, at)).await.unwrap();
            assert!(matches!(voted, Voted::Counted(CommentKind::Push, _)), "{voter}: {voted:?}");
        }
    }
    assert_eq!(store.push_count(post).await.unwrap(), Some(3));
    assert_eq!(store.push_counts("b").await.unwrap(), Some(vec![(post, 3)]));
    let kinds: Vec<CommentKind> = store.post(post).await.unwrap().unwrap().comments.iter().map(|c| c.kind).collect();
    use CommentKind::{Boo, Comment, Push};
    assert_eq!(kinds, vec![Push, Comment, Comment, Boo, Boo, Push, Push, Push, Push]);
}

pub async fn the_count_is_clamped_and_a_missing_post_is_said<S: Store>(store: S) {
    assert!(store.create_board("b", "owner").await.unwrap());
    let new =
        NewPost { board: "b".into(), author: "ann".into(), title: "t".into(), content: "c".into(), created_at: 0 };
    let post = store.create_post(new).await.unwrap().unwrap();
    for n in 0..105 {
        store.vote(vote(post, &format!("u{n}"), CommentKind::Boo, 0)).await.unwrap();
    }
    assert_eq!(store.push_count(post).await.unwrap(), Some(-100));
    assert_eq!(
        store.vote(vote(post, "x", CommentKind::Push, 0)).await.unwrap(),
        Voted::Counted(CommentKind::Push, -99)
    );
    assert_eq!(store.vote(vote(post + 1, "x", CommentKind::Push, 0)).await.unwrap(), Voted::NoPost);
    assert_eq!(store.push_count(post + 1).await.unwrap(), None);
    assert_eq!(store.push_counts("nope").await.unwrap(), None);
}

// ---------------------------------------------------------------------------
// Community: moderators, bans, settings, recycle bin, pins, history, audit
// log, reports, suspensions (`ModerationStore`).

/// Seconds in a day, for the cases below.
const DAY: i64 = 24 * 60 * 60;

fn acting(user: &str, at: crate::Timestamp) -> crate::Acting {
    crate::Acting { user: user.into(), sysop: user == "root", at }
}

/// A board `b` owned by `owner`, users `owner`, `mod`, `ann`, `bob`, `cy`,
/// and a post of `ann`'s; gives its S/N.
async fn moderated_board<S: Store>(store: &S) -> PostId {
    for name in ["owner", "mod", "ann", "bob", "cy", "dee", "eve"] {
        assert!(store.register(user(name)).await.unwrap());
    }
    assert!(store.create_board("b", "owner").await.unwrap());
    store.create_post(post_in("b", "ann", "first")).await.unwrap().unwrap()
}

pub async fn the_owner_adds_up_to_three_moderators_listed_after_the_owner<S: Store>(store: S) {
    use crate::ModeratorChange::*;
    moderated_board(&store).await;
    let owner = acting("owner", 10);
    assert_eq!(store.add_moderator("nope", "mod", &owner).await.unwrap(), NoBoard);
    assert_eq!(store.add_moderator("b", "bob", &acting("ann", 10)).await.unwrap(), NotOwner);
    assert_eq!(store.add_moderator("b", "ghost", &owner).await.unwrap(), NoUser);
    assert_eq!(store.add_moderator("b", "owner", &owner).await.unwrap(), AlreadyModerator);
    for name in ["mod", "bob", "cy"] {
        assert_eq!(store.add_moderator("b", name, &owner).await.unwrap(), Done);
    }
    assert_eq!(store.add_moderator("b", "mod", &owner).await.unwrap(), AlreadyModerator);
    assert_eq!(store.add_moderator("b", "dee", &owner).await.unwrap(), TooMany);
    assert_eq!(store.boards().await.unwrap()[0].moderator, "owner/mod/bob/cy");
    assert_eq!(store.moderates("b", "bob", false).await.unwrap(), Some(true));
    assert_eq!(store.moderates("b", "ann", false).await.unwrap(), Some(false));
    assert_eq!(store.moderates("b", "ann", true).await.unwrap(), Some(true), "a sysop moderates every board");
    assert_eq!(store.moderates("nope", "ann", false).await.unwrap(), None);
    assert_eq!(store.remove_moderator("b", "bob", &acting("mod", 11)).await.unwrap(), NotOwner);
    assert_eq!(store.remove_moderator("b", "owner", &owner).await.unwrap(), IsOwner);
    assert_eq!(store.remove_moderator("b", "ann", &owner).await.unwrap(), NotModerator);
    assert_eq!(store.remove_moderator("b", "bob", &owner).await.unwrap(), Done);
    assert_eq!(store.boards().await.unwrap()[0].moderator, "owner/mod/cy");
    assert_eq!(store.add_moderator("b", "dee", &owner).await.unwrap(), Done);
}

pub async fn a_ban_refuses_a_members_writes_until_it_ends<S: Store>(store: S) {
    use crate::BanChange::*;
    use crate::{NewBan, Refusal};
    let post = moderated_board(&store).await;
    let ban = |user: &str, until| NewBan { board: "b".into(), user: user.into(), until, reason: "spam".into() };
    let owner = acting("owner", 1000);
    assert_eq!(store.ban(ban("bob", 2000), &acting("ann", 1000)).await.unwrap(), NotModerator);
    assert_eq!(store.ban(ban("ghost", 2000), &owner).await.unwrap(), NoUser);
    assert_eq!(store.ban(ban("owner", 2000), &owner).await.unwrap(), IsModerator);
    assert_eq!(store.ban(NewBan { board: "nope".into(), ..ban("bob", 2000) }, &owner).await.unwrap(), NoBoard);
    assert_eq!(store.ban(ban("bob", 2000), &owner).await.unwrap(), Done);
    assert_eq!(store.ban(ban("bob", 3000), &owner).await.unwrap(), AlreadyBanned);
    let bans = store.bans("b", 1000).await.unwrap();
    assert_eq!(
        bans,
        vec![crate::BanRow { user: "bob".into(), until: 2000, by: "owner".into(), reason: "spam".into() }]
    );

    let mut bobs = post_in("b", "bob", "by bob");
    bobs.created_at = 1999;
    assert_eq!(store.create_post_as_member(bobs.clone()).await.unwrap(), Err(Refusal::Banned));
    assert_eq!(store.comment_as_member(post, "hi", &acting("bob", 1999)).await.unwrap(), Err(Refusal::Banned));
    let push = NewVote { at: 1999, ..vote(post, "bob", CommentKind::Push, 1999) };
    assert_eq!(store.vote(push.clone()).await.unwrap(), Voted::Refused(Refusal::Banned));
    assert_eq!(store.report(post, "bad", &acting("bob", 1999)).await.unwrap(), crate::Reporting::Banned);
    assert_eq!(store.post(post).await.unwrap().unwrap().comments, vec![], "nothing of a banned user is kept");
    // Others are not held back; a missing board or post is said as such.
    assert_eq!(store.comment_as_member(post, "hi", &acting("cy", 1999)).await.unwrap(), Ok(()));
    assert_eq!(store.comment_as_member(post + 9, "hi", &acting("cy", 1999)).await.unwrap(), Err(Refusal::Missing));
    assert_eq!(
        store.create_post_as_member(NewPost { board: "nope".into(), ..bobs.clone() }).await.unwrap(),
        Err(Refusal::Missing)
    );

    // At its end the ban stops counting, with no sweep in between.
    bobs.created_at = 2000;
    let id = store.create_post_as_member(bobs).await.unwrap().unwrap().id;
    assert_eq!(store.post(id).await.unwrap().unwrap().author, "bob");
    assert_eq!(store.vote(NewVote { at: 2000, ..push }).await.unwrap(), Voted::Counted(CommentKind::Push, 1));
    assert_eq!(store.bans("b", 2000).await.unwrap(), vec![]);
    assert_eq!(store.unban("b", "bob", "r", &acting("owner", 2000)).await.unwrap(), NotBanned);
    // An ended ban is replaced by a new one; unban ends it early.
    assert_eq!(store.ban(ban("bob", 5000), &acting("owner", 2000)).await.unwrap(), Done);
    assert_eq!(store.unban("b", "bob", "sorry", &acting("ann", 2001)).await.unwrap(), NotModerator);
    assert_eq!(store.unban("b", "bob", "sorry", &acting("owner", 2001)).await.unwrap(), Done);
    assert_eq!(store.comment_as_member(post, "back", &acting("bob", 2002)).await.unwrap(), Ok(()));
}

pub async fn board_settings_hold_members_to_boos_the_interval_and_account_age<S: Store>(store: S) {
    use crate::{BoardSetting, Moderated, Refusal};
    let post = moderated_board(&store).await;
    let owner = acting("owner", 0);
    assert_eq!(
        store.set_board("b", BoardSetting::NoBoo(true), &acting("ann", 0)).await.unwrap(),
        Moderated::NotModerator
    );
    assert_eq!(store.set_board("nope", BoardSetting::NoBoo(true), &owner).await.unwrap(), Moderated::NoBoard);
    assert_eq!(store.set_board("b", BoardSetting::NoBoo(true), &owner).await.unwrap(), Moderated::Done);
    assert_eq!(store.vote(vote(post, "bob", CommentKind::Boo, 100)).await.unwrap(), Voted::Refused(Refusal::NoBoos));
    assert_eq!(
        store.vote(vote(post, "bob", CommentKind::Push, 100)).await.unwrap(),
        Voted::Counted(CommentKind::Push, 1)
    );

    assert_eq!(store.set_board("b", BoardSetting::PushInterval(30), &owner).await.unwrap(), Moderated::Done);
    assert_eq!(store.comment_as_member(post, "x", &acting("bob", 129)).await.unwrap(), Err(Refusal::Requirements));
    assert_eq!(store.comment_as_member(post, "x", &acting("bob", 130)).await.unwrap(), Ok(()));
    assert_eq!(store.comment_as_member(post, "x", &acting("owner", 130)).await.unwrap(), Ok(()));
    assert_eq!(
        store.comment_as_member(post, "x", &acting("owner", 131)).await.unwrap(),
        Ok(()),
        "moderators are not held"
    );

    // Accounts are registered now (the real time); 7 days later they may post.
    assert_eq!(store.set_board("b", BoardSetting::MinDays(7), &owner).await.unwrap(), Moderated::Done);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let mut young = post_in("b", "cy", "young");
    young.created_at = now;
    assert_eq!(store.create_post_as_member(young.clone()).await.unwrap(), Err(Refusal::Requirements));
    young.created_at = now + 7 * DAY + 60;
    assert!(store.create_post_as_member(young).await.unwrap().is_ok());
}

pub async fn a_deleted_post_goes_to_the_bin_and_comes_back_whole<S: Store>(store: S) {
    use crate::{Removal, Restoral};
    let post = moderated_board(&store).await;
    let keep = 30 * DAY;
    assert!(store.comment(post, "bob", "first!", 1).await.unwrap());
    assert!(matches!(store.vote(vote(post, "cy", CommentKind::Push, 2)).await.unwrap(), Voted::Counted(..)));
    let before = store.post(post).await.unwrap().unwrap();
    assert_eq!(store.recycle_post(post + 9, &acting("ann", 10), None, keep).await.unwrap(), Removal::NoPost);
    assert_eq!(store.recycle_post(post, &acting("bob", 10), None, keep).await.unwrap(), Removal::NotOwner);
    assert_eq!(store.recycle_post(post, &acting("bob", 10), Some("r"), keep).await.unwrap(), Removal::NotOwner);
    assert_eq!(
        store.recycle_post(post, &acting("owner", 10), None, keep).await.unwrap(),
        Removal::NotOwner,
        "a moderator deletes another's post only with a reason"
    );
    assert_eq!(store.recycle_post(post, &acting("owner", 10), Some("off topic"), keep).await.unwrap(), Removal::Done);
    assert_eq!(store.post(post).await.unwrap(), None);
    assert_eq!(ids(&store, "b").await, Vec::<PostId>::new());
    assert!(!store.comment(post, "bob", "gone?", 11).await.unwrap());
    let bin = store.recycled("b", 20, keep).await.unwrap().unwrap();
    assert_eq!(
        bin,
        vec![crate::RecycledRow {
            id: post,
            title: "first".into(),
            author: "ann".into(),
            deleted_by: "owner".into(),
            deleted_at: 10,
            reason: "off topic".into()
        }]
    );
    assert_eq!(store.recycled("nope", 20, keep).await.unwrap(), None);
    assert_eq!(store.restore_post(post, &acting("ann", 20), keep).await.unwrap(), Restoral::NotModerator);
    assert_eq!(store.restore_post(post, &acting("owner", 20), keep).await.unwrap(), Restoral::Done);
    assert_eq!(store.restore_post(post, &acting("owner", 20), keep).await.unwrap(), Restoral::NotInBin);
    assert_eq!(store.post(post).await.unwrap().unwrap(), before, "same S/N, comments and count");
    assert_eq!(store.push_count(post).await.unwrap(), Some(1));
    assert_eq!(ids(&store, "b").await, vec![post]);
    assert_eq!(store.search(&["first".into()], 10).await.unwrap().len(), 1, "searchable again");
    // The author deletes their own without a reason.
    assert_eq!(store.recycle_post(post, &acting("ann", 30), None, keep).await.unwrap(), Removal::Done);
    assert_eq!(store.recycled("b", 30, keep).await.unwrap().unwrap()[0].deleted_by, "ann");
}

pub async fn the_bin_keeps_a_post_for_its_time_and_no_longer<S: Store>(store: S) {
    use crate::{Removal, Restoral};
    let post = moderated_board(&store).await;
    let other = store.create_post(post_in("b", "ann", "second")).await.unwrap().unwrap();
    let keep = 100;
    assert_eq!(store.recycle_post(post, &acting("ann", 1000), None, keep).await.unwrap(), Removal::Done);
    assert_eq!(store.recycled("b", 1099, keep).await.unwrap().unwrap().len(), 1);
    // Past its time it is no longer listed nor restorable, though nothing ran.
    assert_eq!(store.recycled("b", 1100, keep).await.unwrap().unwrap(), vec![]);
    assert_eq!(store.restore_post(post, &acting("owner", 1100), keep).await.unwrap(), Restoral::NotInBin);
    // The next write to the bin purged it: a longer keep does not bring it back.
    assert_eq!(store.recycle_post(other, &acting("ann", 1200), None, keep).await.unwrap(), Removal::Done);
    assert_eq!(store.recycled("b", 1200, 1_000_000).await.unwrap().unwrap().len(), 1);
    assert_eq!(store.restore_post(post, &acting("owner", 1200), 1_000_000).await.unwrap(), Restoral::NotInBin);
}

pub async fn at_most_five_posts_are_pinned_however_pins_interleave<S: Store>(store: S) {
    use crate::{Pinning, Removal, MAX_PINNED};
    let first = moderated_board(&store).await;
    assert_eq!(store.add_moderator("b", "mod", &acting("owner", 0)).await.unwrap(), crate::ModeratorChange::Done);
    let mut posts = vec![first];
    for n in 0..11 {
        posts.push(store.create_post(post_in("b", "bob", &format!("p{n}"))).await.unwrap().unwrap());
    }
    assert_eq!(store.pin_post(first, &acting("ann", 0)).await.unwrap(), Pinning::NotModerator);
    assert_eq!(store.pin_post(9999, &acting("owner", 0)).await.unwrap(), Pinning::NoPost);
    // Two moderators pin twelve posts at once.
    let pins = posts.iter().enumerate().map(|(i, &post)| {
        let store = store.clone();
        let by = acting(if i % 2 == 0 { "owner" } else { "mod" }, 0);
        async move { store.pin_post(post, &by).await.unwrap() }
    });
    let outcomes = futures_join_all(pins).await;
    assert_eq!(outcomes.iter().filter(|o| **o == Pinning::Done).count(), MAX_PINNED);
    assert_eq!(outcomes.iter().filter(|o| **o == Pinning::TooMany).count(), posts.len() - MAX_PINNED);
    let pinned = store.pinned_posts("b").await.unwrap();
    assert_eq!(pinned.len(), MAX_PINNED);
    let one = pinned[0].id;
    assert_eq!(store.pin_post(one, &acting("owner", 0)).await.unwrap(), Pinning::AlreadyPinned);
    assert_eq!(store.recycle_post(one, &acting("owner", 0), Some("r"), 100).await.unwrap(), Removal::Pinned);
    assert_eq!(store.unpin_post(one, &acting("ann", 0)).await.unwrap(), Pinning::NotModerator);
    assert_eq!(store.unpin_post(one, &acting("owner", 0)).await.unwrap(), Pinning::Done);
    assert_eq!(store.unpin_post(one, &acting("owner", 0)).await.unwrap(), Pinning::NotPinned);
    let unpinned = *posts.iter().find(|p| !pinned.iter().any(|q| q.id == **p)).unwrap();
    assert_eq!(store.pin_post(unpinned, &acting("root", 0)).await.unwrap(), Pinning::Done);
    let order: Vec<PostId> = store.pinned_posts("b").await.unwrap().iter().map(|p| p.id).collect();
    assert_eq!(order[..4], pinned[1..].iter().map(|p| p.id).collect::<Vec<_>>()[..], "kept in pin order");
    assert_eq!(order[4], unpinned);
    // A pinned post's edit shows in the pinned list too.
    let edit = PostEdit::Title("now pinned".into());
    let author = store.post(unpinned).await.unwrap().unwrap().author;
    assert_eq!(store.edit_post_keeping_history(unpinned, &acting(&author, 1), edit).await.unwrap(), PostChange::Done);
    assert_eq!(store.pinned_posts("b").await.unwrap()[4].title, "now pinned");
    assert_eq!(store.pinned_posts("nope").await.unwrap(), vec![]);
}

/// Runs futures concurrently on the current runtime (as separate tasks).
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let tasks: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    outcomes
}

pub async fn an_edit_keeps_every_revision<S: Store>(store: S) {
    let post = moderated_board(&store).await;
    assert_eq!(store.post_history(post + 9).await.unwrap(), None);
    let history = store.post_history(post).await.unwrap().unwrap();
    assert_eq!((history.board.as_str(), history.author.as_str(), history.revisions.len()), ("b", "ann", 1));
    let edit = |text: &str| PostEdit::Content(text.into());
    assert_eq!(
        store.edit_post_keeping_history(post, &acting("bob", 5), edit("x")).await.unwrap(),
        PostChange::NotOwner
    );
    assert_eq!(store.edit_post_keeping_history(post, &acting("ann", 5), edit("v2")).await.unwrap(), PostChange::Done);
    let title = PostEdit::Title("renamed".into());
    assert_eq!(store.edit_post_keeping_history(post, &acting("ann", 6), title).await.unwrap(), PostChange::Done);
    let revisions = store.post_history(post).await.unwrap().unwrap().revisions;
    let seen: Vec<(i64, &str, &str, &str)> =
        revisions.iter().map(|r| (r.at, r.editor.as_str(), r.title.as_str(), r.content.as_str())).collect();
    assert_eq!(
        seen,
        vec![
            (1_700_000_000, "ann", "first", "content of first"),
            (5, "ann", "first", "v2"),
            (6, "ann", "renamed", "v2"),
        ]
    );
}

pub async fn every_moderator_action_is_logged_in_order<S: Store>(store: S) {
    use crate::{BoardSetting, NewBan};
    let post = moderated_board(&store).await;
    let owner = |at| acting("owner", at);
    store.add_moderator("b", "mod", &owner(1)).await.unwrap();
    store
        .ban(NewBan { board: "b".into(), user: "bob".into(), until: 99, reason: "spam".into() }, &acting("mod", 2))
        .await
        .unwrap();
    store.unban("b", "bob", "ok", &owner(3)).await.unwrap();
    store.pin_post(post, &owner(4)).await.unwrap();
    store.unpin_post(post, &owner(5)).await.unwrap();
    store.set_board("b", BoardSetting::NoBoo(true), &owner(6)).await.unwrap();
    store.recycle_post(post, &acting("mod", 7), Some("dup"), 100).await.unwrap();
    store.restore_post(post, &acting("root", 8), 100).await.unwrap();
    store.report(post, "bad", &acting("cy", 9)).await.unwrap();
    let report = store.reports("b", false).await.unwrap()[0].id;
    store.resolve_report(report, false, "fine", &owner(10)).await.unwrap();
    store.remove_moderator("b", "mod", &owner(11)).await.unwrap();
    // Members' own writes are not moderator actions.
    store.recycle_post(post, &acting("ann", 12), None, 100).await.unwrap();
    let log = store.mod_log("b", 100).await.unwrap();
    let rows: Vec<(i64, &str, &str, &str, &str)> =
        log.iter().map(|r| (r.at, r.actor.as_str(), r.action.as_str(), r.target.as_str(), r.reason.as_str())).collect();
    let sn = post.to_string();
    let resolved = format!("report {report} on {post}: rejected");
    assert_eq!(
        rows,
        vec![
            (1, "owner", "add-moderator", "mod", ""),
            (2, "mod", "ban", "bob", "spam"),
            (3, "owner", "unban", "bob", "ok"),
            (4, "owner", "pin", sn.as_str(), ""),
            (5, "owner", "unpin", sn.as_str(), ""),
            (6, "owner", "set-board", "--no-boo on", ""),
            (7, "mod", "delete", sn.as_str(), "dup"),
            (8, "root", "restore", sn.as_str(), ""),
            (10, "owner", "resolve-report", resolved.as_str(), "fine"),
            (11, "owner", "remove-moderator", "mod", ""),
        ]
    );
    assert_eq!(store.mod_log("b", 2).await.unwrap(), log[8..].to_vec(), "the latest n, oldest first");
    assert_eq!(store.mod_log("nope", 2).await.unwrap(), vec![]);
}

pub async fn reports_are_limited_and_resolved_once<S: Store>(store: S) {
    use crate::{Reporting, Resolution};
    let post = moderated_board(&store).await;
    assert_eq!(store.report(post + 99, "x", &acting("bob", 0)).await.unwrap(), Reporting::NoPost);
    assert_eq!(store.report(post, "x", &acting("ann", 0)).await.unwrap(), Reporting::OwnPost);
    assert_eq!(store.report(post, "rude", &acting("bob", 0)).await.unwrap(), Reporting::Done);
    assert_eq!(store.report(post, "again", &acting("bob", 1)).await.unwrap(), Reporting::AlreadyReported);
    let mut others = Vec::new();
    for n in 0..10 {
        others.push(store.create_post(post_in("b", "ann", &format!("p{n}"))).await.unwrap().unwrap());
    }
    for &other in &others[..9] {
        assert_eq!(store.report(other, "x", &acting("bob", 100)).await.unwrap(), Reporting::Done);
    }
    assert_eq!(store.report(others[9], "x", &acting("bob", 100)).await.unwrap(), Reporting::TooMany, "10 a day");
    assert_eq!(store.report(others[9], "x", &acting("bob", DAY + 1)).await.unwrap(), Reporting::Done, "a day later");
    let open = store.reports("b", false).await.unwrap();
    assert_eq!(open.len(), 11);
    assert_eq!((open[0].post, open[0].reporter.as_str(), open[0].reason.as_str()), (post, "bob", "rude"));
    assert_eq!(open[0].status, "open");
    assert_eq!(store.resolve_report(9999, true, "", &acting("owner", 5)).await.unwrap(), Resolution::NoReport);
    assert_eq!(store.resolve_report(open[1].id, true, "", &acting("cy", 5)).await.unwrap(), Resolution::NotModerator);
    assert_eq!(store.resolve_report(open[1].id, true, "", &acting("owner", 5)).await.unwrap(), Resolution::Done);
    assert_eq!(
        store.resolve_report(open[1].id, false, "", &acting("owner", 5)).await.unwrap(),
        Resolution::AlreadyResolved
    );
    // Deleting a post resolves its open reports.
    store.recycle_post(post, &acting("ann", 6), None, 100).await.unwrap();
    let all = store.reports("b", true).await.unwrap();
    assert_eq!(all.len(), 11);
    assert_eq!((all[0].status.as_str(), all[1].status.as_str()), ("accepted", "accepted"));
    assert_eq!(store.reports("b", false).await.unwrap().len(), 9);
}

pub async fn a_suspension_ends_by_itself_and_a_purge_empties_a_users_posts<S: Store>(store: S) {
    moderated_board(&store).await;
    let root = acting("root", 100);
    assert!(!store.suspend("ghost", 200, "x", &root).await.unwrap());
    assert!(store.suspend("bob", 200, "spam", &root).await.unwrap());
    assert_eq!(
        store.suspension("bob", 199).await.unwrap(),
        Some(crate::Suspension { until: 200, reason: "spam".into() })
    );
    assert_eq!(store.suspension("bob", 200).await.unwrap(), None);
    assert_eq!(store.suspension("ann", 150).await.unwrap(), None);
    assert!(store.unsuspend("bob", &root).await.unwrap());
    assert_eq!(store.suspension("bob", 150).await.unwrap(), None);

    assert!(store.create_board("c", "cy").await.unwrap());
    for board in ["b", "c", "b"] {
        store.create_post(post_in(board, "bob", "spam")).await.unwrap().unwrap();
    }
    let kept = store.create_post(post_in("c", "cy", "fine")).await.unwrap().unwrap();
    assert_eq!(store.purge_user_posts("ghost", "x", &root, 100).await.unwrap(), None);
    assert_eq!(store.purge_user_posts("bob", "spam", &root, 100).await.unwrap(), Some(3));
    assert_eq!(ids(&store, "c").await, vec![kept]);
    assert_eq!(store.recycled("b", 101, 100).await.unwrap().unwrap().len(), 2);
    assert_eq!(store.mod_log("c", 10).await.unwrap()[0].action, "delete");
    assert_eq!(store.purge_user_posts("bob", "spam", &root, 100).await.unwrap(), Some(0));
}

// ---------------------------------------------------------------------------
// Cluster (several server processes on one store).

fn live(node: i64, session: u64, name: &str, login_ms: i64) -> LiveSession {
    LiveSession {
        at: SessionRef { node, session },
        name: name.into(),
        token: format!("token-{node}-{session}"),
        peer: format!("127.0.0.{session}:4000"),
        login_ms,
        last_command: login_ms / 1000,
    }
}

fn arrivals(sessions: Vec<LiveSession>) -> SessionChanges {
    SessionChanges { arrivals: sessions, ..SessionChanges::default() }
}

const T0: i64 = 1_700_000_000_000;
const LEASE: i64 = 10_000;

/// A login recorded by one node is seen, with its token, by every node;
/// touches move its idle time; a departure removes it and its token.
pub async fn a_session_and_its_token_are_seen_from_every_node<S: Store>(store: S) {
    store.join_cluster(1, T0).await.unwrap();
    store.join_cluster(2, T0).await.unwrap();
    assert!(store.live_sessions().await.unwrap().is_empty());
    store.update_sessions(1, arrivals(vec![live(1, 0, "ann", T0), live(1, 1, "bob", T0 + 2)])).await.unwrap();
    store.update_sessions(2, arrivals(vec![live(2, 0, "ann", T0 + 1)])).await.unwrap();
    let other = store.clone();
    let names: Vec<(String, i64)> =
        other.live_sessions().await.unwrap().into_iter().map(|s| (s.name, s.at.node)).collect();
    assert_eq!(names, [("ann".to_owned(), 1), ("ann".to_owned(), 2), ("bob".to_owned(), 1)], "login order");
    assert_eq!(other.session_of_token("token-1-1").await.unwrap(), Some(live(1, 1, "bob", T0 + 2)));
    assert_eq!(other.session_of_token("nope").await.unwrap(), None);
    assert!(other.is_online("bob").await.unwrap());
    assert!(!other.is_online("cy").await.unwrap());
    let mut among = other.online_among(&["cy".into(), "bob".into(), "ann".into()]).await.unwrap();
    among.sort();
    assert_eq!(among, ["ann", "bob"], "ann once, though logged in twice");

    let touch = SessionChanges { touched: vec![(1, T0 / 1000 + 300)], ..SessionChanges::default() };
    store.update_sessions(1, touch).await.unwrap();
    let bob = other.session_of_token("token-1-1").await.unwrap().unwrap();
    assert_eq!(bob.last_command, T0 / 1000 + 300);

    let gone = SessionChanges { departures: vec![1], ..SessionChanges::default() };
    store.update_sessions(1, gone).await.unwrap();
    assert_eq!(other.session_of_token("token-1-1").await.unwrap(), None);
    assert!(!other.is_online("bob").await.unwrap());
    // A session that arrives and leaves in one batch leaves nothing behind.
    let both = SessionChanges { arrivals: vec![live(2, 5, "cy", T0)], departures: vec![5], ..Default::default() };
    store.update_sessions(2, both).await.unwrap();
    assert!(!other.is_online("cy").await.unwrap());
    assert_eq!(other.live_sessions().await.unwrap().len(), 2);
}

/// A node whose heartbeat is older than the lease is removed by the next
/// heartbeat of another node, with its sessions, tokens and running rooms;
/// if it comes back it is told to announce its sessions again.
pub async fn a_node_that_stops_beating_loses_its_sessions_and_rooms<S: Store>(store: S) {
    store.join_cluster(1, T0).await.unwrap();
    store.join_cluster(2, T0).await.unwrap();
    store.update_sessions(1, arrivals(vec![live(1, 0, "ann", T0)])).await.unwrap();
    store.update_sessions(2, arrivals(vec![live(2, 0, "bob", T0)])).await.unwrap();
    store.open_chatroom("bob", "127.0.0.1", 9000).await.unwrap();
    store.claim_room("bob", SessionRef { node: 2, session: 0 }, "ab").await.unwrap();

    // Within the lease nothing is removed.
    assert_eq!(store.heartbeat(1, T0 + LEASE, LEASE).await.unwrap(), Beat::default());
    assert!(store.is_online("bob").await.unwrap());
    // Node 2 stayed silent past its lease.
    let beat = store.heartbeat(1, T0 + LEASE + 1, LEASE).await.unwrap();
    assert_eq!(beat, Beat { rejoined: false, reaped: vec![2] });
    assert!(!store.is_online("bob").await.unwrap());
    assert_eq!(store.session_of_token("token-2-0").await.unwrap(), None);
    assert_eq!(store.room_key("bob").await.unwrap(), None);
    assert_eq!(store.chatroom("bob").await.unwrap(), Some(room("bob", "127.0.0.1", 9000, false)));
    assert!(store.is_online("ann").await.unwrap(), "the live node keeps its sessions");

    // Node 2 wakes up: its row is back, empty.
    assert_eq!(store.heartbeat(2, T0 + LEASE + 2, LEASE).await.unwrap(), Beat { rejoined: true, reaped: vec![] });
    assert_eq!(store.heartbeat(2, T0 + LEASE + 3, LEASE).await.unwrap(), Beat::default());

    // An orderly exit removes a node at once.
    store.leave_cluster(1).await.unwrap();
    assert!(store.live_sessions().await.unwrap().is_empty());
}

/// The room key of a running room is readable by every node; only the
/// session that runs the room can release it, which closes the room.
pub async fn a_room_key_is_released_only_by_the_session_that_runs_it<S: Store>(store: S) {
    store.join_cluster(1, T0).await.unwrap();
    store.join_cluster(2, T0).await.unwrap();
    let owner = SessionRef { node: 1, session: 7 };
    store.update_sessions(1, arrivals(vec![live(1, 7, "ann", T0)])).await.unwrap();
    assert_eq!(store.room_key("ann").await.unwrap(), None);
    store.open_chatroom("ann", "10.0.0.1", 9000).await.unwrap();
    store.claim_room("ann", owner, "k1").await.unwrap();
    assert_eq!(store.clone().room_key("ann").await.unwrap().as_deref(), Some("k1"));
    assert!(!store.release_room("ann", SessionRef { node: 2, session: 7 }).await.unwrap());
    assert!(!store.release_room("ann", SessionRef { node: 1, session: 8 }).await.unwrap());
    assert!(store.chatroom("ann").await.unwrap().unwrap().open);
    assert!(store.release_room("ann", owner).await.unwrap());
    assert_eq!(store.room_key("ann").await.unwrap(), None);
    assert_eq!(store.chatroom("ann").await.unwrap(), Some(room("ann", "10.0.0.1", 9000, false)));
    assert!(!store.release_room("ann", owner).await.unwrap(), "released once");
}

/// Start-up closes the open rooms no live session runs, and keeps the
/// others open with their keys.
pub async fn start_up_closes_only_the_rooms_nobody_runs<S: Store>(store: S) {
    store.join_cluster(1, T0).await.unwrap();
    store.update_sessions(1, arrivals(vec![live(1, 0, "ann", T0)])).await.unwrap();
    store.open_chatroom("ann", "10.0.0.1", 9000).await.unwrap();
    store.claim_room("ann", SessionRef { node: 1, session: 0 }, "k").await.unwrap();
    store.open_chatroom("bob", "10.0.0.2", 9001).await.unwrap();
    store.open_chatroom("cy", "10.0.0.3", 9002).await.unwrap();
    store.close_chatroom("cy").await.unwrap();
    store.close_orphaned_chatrooms().await.unwrap();
    assert_eq!(
        store.chatrooms().await.unwrap(),
        [
            room("ann", "10.0.0.1", 9000, true),
            room("bob", "10.0.0.2", 9001, false),
            room("cy", "10.0.0.3", 9002, false)
        ]
    );
    assert_eq!(store.room_key("ann").await.unwrap().as_deref(), Some("k"));
}

/// What one node publishes reaches every other node's feed, in the order
/// published, and never comes back to the node that published it.
pub async fn events_reach_every_other_node_in_order<S: Store>(store: S) {
    use std::time::Duration;
    store.join_cluster(1, T0).await.unwrap();
    store.join_cluster(2, T0).await.unwrap();
    let mut one = store.listen_events(1).await.unwrap();
    let mut two = store.listen_events(2).await.unwrap();
    let event = |origin, n: usize| ClusterEvent {
        origin,
        audience: match n % 3 {
            0 => EventAudience::User("ann".into()),
            1 => EventAudience::Everyone,
            _ => EventAudience::EndSessionsOf("bob".into()),
        },
        text: format!("event {n} from {origin}"),
    };
    for n in 0..20 {
        store.publish_event(event(1, n)).await.unwrap();
    }
    let users =
        ClusterEvent { origin: 2, audience: EventAudience::Users(vec!["a".into(), "b".into()]), text: "x".into() };
    store.clone().publish_event(users.clone()).await.unwrap();
    for n in 0..20 {
        let got = tokio::time::timeout(Duration::from_secs(10), two.next()).await.expect("in time");
        assert_eq!(got, Some(event(1, n)));
    }
    let got = tokio::time::timeout(Duration::from_secs(10), one.next()).await.expect("in time");
    assert_eq!(got, Some(users), "node 1 gets node 2's event and none of its own");
    assert!(tokio::time::timeout(Duration::from_millis(200), two.next()).await.is_err(), "nothing of its own");
}

#[cfg(test)]
mod tests {
    /// A case left out of [`store_contract_tests!`] would silently never
    /// run against any backend.
    #[test]
    fn every_case_is_run_by_the_macro() {
        let source = include_str!("contract.rs");
        let (cases, _) = source.split_once("#[cfg(test)]\nmod tests").expect("this module");
        let start = cases.find("macro_rules! store_contract_tests").expect("the macro");
        let end = start + cases[start..].find("\n}\n").expect("the macro's end");
        let listed: Vec<&str> = cases[start..end]
            .lines()
            .map(str::trim)
            .filter_map(|l| l.strip_suffix(','))
            .filter(|l| l.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .collect();
        let defined: Vec<&str> = cases
            .lines()
            .filter_map(|l| l.strip_prefix("pub async fn "))
            .map(|l| l.split('<').next().expect("a name"))
            .collect();
        assert!(!defined.is_empty());
        assert_eq!(listed, defined, "the macro must list every case, in the order they are defined");
    }
}
