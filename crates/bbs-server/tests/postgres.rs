//! The real `bbsd` on PostgreSQL (`--db postgres://…`): course commands
//! over TCP and UDP, what was acknowledged survives `kill -9` and a
//! restart, and two `bbsd` processes on one database see each other's
//! posts. The PostgreSQL server is a throwaway one this test starts (see
//! `bbs_storage_postgres::throwaway`).

use std::path::Path;

use bbs_storage::Store;
use bbs_storage_postgres::throwaway::ThrowawayServer;
use bbs_storage_postgres::PostgresStore;
use bbs_testkit::{udp_request, BbsdProcess, PlainClient};

fn start(url: &str, files: &Path) -> BbsdProcess {
    let files = files.to_str().expect("UTF-8 temporary path");
    BbsdProcess::start(Path::new(env!("CARGO_BIN_EXE_bbsd")), Path::new(url), &["--files-dir", files])
}

#[test]
fn bbsd_on_postgres_answers_course_commands_keeps_them_and_shares_them() {
    let postgres = ThrowawayServer::start().expect("throwaway PostgreSQL");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let url = runtime.block_on(postgres.fresh_database()).expect("a fresh database");
    let files = tempfile::tempdir().unwrap();

    let server = start(&url, files.path());
    assert_eq!(udp_request(server.addr, None, "register al a@b.c pw"), "Register successfully.");
    assert_eq!(udp_request(server.addr, None, "register al a@b.c pw"), "Username is already used.");
    let mut p = PlainClient::connect(server.addr);
    assert_eq!(p.send("login al pw"), "Welcome, al.");
    assert_eq!(p.send("create-board np"), "Create board successfully.");
    assert_eq!(p.send("create-post np --title 網路程式設計作業 --content due friday"), "Create post successfully.");
    assert_eq!(p.send("create-post np --title Lunch --content nothing"), "Create post successfully.");
    assert_eq!(p.send("comment 1 on time"), "Comment successfully.");
    assert_eq!(p.send("delete-post 2"), "Delete successfully.");
    let found = p.send("search 程式設計");
    assert!(found.lines().nth(1).is_some_and(|row| row.starts_with("1 ")), "{found}");
    server.kill_9();

    // A restart finds everything acknowledged; a second process on the
    // same database sees what the first one writes.
    let first = start(&url, files.path());
    let second = start(&url, files.path());
    let mut p = PlainClient::connect(first.addr);
    assert_eq!(p.send("login al pw"), "Welcome, al.");
    let post = p.send("read 1");
    assert!(post.ends_with("--\ndue friday\n--\nal: on time"), "{post}");
    assert_eq!(p.send("create-post np --title after --content x"), "Create post successfully.");
    let mut q = PlainClient::connect(second.addr);
    assert_eq!(q.send("login al pw"), "Welcome, al.");
    let list = q.send("list-post np");
    let rows: Vec<&str> = list.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{list}");
    assert!(rows[1].starts_with("3 "), "serial numbers go on, none reused: {list}");

    // The posts are in PostgreSQL (not in a file named like the URL).
    let store = runtime.block_on(PostgresStore::connect(&url, 1)).expect("connect");
    let posts = runtime.block_on(store.posts("np")).unwrap().expect("the board is in PostgreSQL");
    assert_eq!(posts.iter().map(|p| p.title.as_str()).collect::<Vec<_>>(), ["網路程式設計作業", "after"]);
}
