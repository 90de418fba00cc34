//! Abuse limits on writes: one connection or one address flooding posts,
//! a registration flood, and the disk guard (writes refused while the data
//! directory is short of space; reads, logins and live messages go on).

use std::net::IpAddr;
use std::time::Duration;

use bbs_server::{Config, Rate};
use bbs_testkit::{database_with_users, DialectClient, PlainClient, TestServer};

const TOO_MANY: &str = "Too many requests, please wait.";
const OUT_OF_STORAGE: &str = "The server is out of storage space; try again later.";
const PASSWORD: &str = "pw";

/// A rate that does not refill within a test: exactly `burst` writes.
fn per_hour(burst: u32) -> Rate {
    Rate::new(burst, Duration::from_secs(3600))
}

fn names(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

fn login_from(server: &TestServer, local: &str, name: &str) -> PlainClient {
    let mut p = PlainClient::connect_from(local.parse::<IpAddr>().unwrap(), server.addr);
    assert_eq!(p.send(&format!("login {name} {PASSWORD}")), format!("Welcome, {name}."));
    p
}

/// Sends `count` create-post lines in pipelined batches and counts the
/// answers: (accepted, refused as too many).
fn flood_posts(p: &mut PlainClient, board: &str, count: usize) -> (usize, usize) {
    let (mut accepted, mut refused) = (0, 0);
    let mut sent = 0;
    while sent < count {
        let batch = (count - sent).min(500);
        let lines: String =
            (sent..sent + batch).map(|i| format!("create-post {board} --title t{i} --content c\r\n")).collect();
        p.write_raw(lines.as_bytes());
        for _ in 0..batch {
            match p.answer().as_str() {
                "Create post successfully." => accepted += 1,
                TOO_MANY => refused += 1,
                other => panic!("unexpected answer {other:?}"),
            }
        }
        sent += batch;
    }
    (accepted, refused)
}

/// Posts listed on `board` (the table's rows, without its header).
fn posts_on(p: &mut PlainClient, board: &str) -> usize {
    p.send(&format!("list-post {board}")).lines().count() - 1
}

/// The database file and its write-ahead log, in bytes.
fn database_bytes(server: &TestServer) -> u64 {
    let wal = server.db.with_extension("db-wal");
    [server.db.as_path(), wal.as_path()].iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum()
}

#[test]
fn one_connection_flooding_posts_gets_its_burst_then_is_refused() {
    let (_dir, db) = database_with_users(&names(&["ann", "bob"]), PASSWORD);
    let config = Config { write_rate_per_account: per_hour(20), ..Config::default() };
    let server = TestServer::start_on(&db, config);
    let mut ann = login_from(&server, "127.0.0.1", "ann");
    assert_eq!(ann.send("create-board flood"), "Create board successfully.");
    let before = database_bytes(&server);
    let (accepted, refused) = flood_posts(&mut ann, "flood", 10_000);
    assert_eq!((accepted, refused), (19, 9_981), "the board took one write of the burst");
    assert_eq!(posts_on(&mut ann, "flood"), 19, "refused posts are not stored");
    // Comments and mail count against the same account rate.
    assert_eq!(ann.send("comment 1 hi"), TOO_MANY);
    assert_eq!(ann.send("mail-to bob --subject s --content c"), TOO_MANY);
    // 19 small posts: far less than a megabyte, where 10,000 would be more.
    let grown = database_bytes(&server).saturating_sub(before);
    assert!(grown < 1 << 20, "the database grew by {grown} bytes");
    // Reads go on, and another account from the same address still writes.
    assert!(ann.send("read 1").contains("t0"));
    let mut bob = login_from(&server, "127.0.0.1", "bob");
    assert_eq!(bob.send("comment 1 still here"), "Comment successfully.");
}

#[test]
fn one_address_flooding_posts_from_many_accounts_gets_its_burst_then_is_refused() {
    let (_dir, db) = database_with_users(&names(&["ann", "bob", "cy"]), PASSWORD);
    let config = Config { write_rate_per_ip: per_hour(30), ..Config::default() };
    let server = TestServer::start_on(&db, config);
    let mut ann = login_from(&server, "127.0.0.2", "ann");
    let mut bob = login_from(&server, "127.0.0.2", "bob");
    assert_eq!(ann.send("create-board shared"), "Create board successfully.");
    let (a, _) = flood_posts(&mut ann, "shared", 5_000);
    let (b, _) = flood_posts(&mut bob, "shared", 5_000);
    assert_eq!(a + b, 29, "one address: 30 writes in all, the board included");
    assert_eq!(posts_on(&mut ann, "shared"), 29);
    // Another address is not held back by this one.
    let mut cy = login_from(&server, "127.0.0.3", "cy");
    assert_eq!(cy.send("create-post shared --title mine --content c"), "Create post successfully.");
}

#[test]
fn a_registration_flood_from_one_address_is_cut() {
    let config = Config { register_rate_per_ip: per_hour(5), ..Config::default() };
    let server = TestServer::start_with(config);
    let mut p = PlainClient::connect_from("127.0.0.4".parse().unwrap(), server.addr);
    let lines: String = (0..200).map(|i| format!("register u{i} u@x pw\r\n")).collect();
    p.write_raw(lines.as_bytes());
    let answers: Vec<String> = (0..200).map(|_| p.answer()).collect();
    assert!(answers[..5].iter().all(|a| a == "Register successfully."), "{:?}", &answers[..5]);
    assert!(answers[5..].iter().all(|a| a == TOO_MANY), "{:?}", &answers[5..10]);
    assert_eq!(p.send("login u4 pw"), "Welcome, u4.");
    assert_eq!(p.send("logout"), "Bye, u4.");
    assert_eq!(p.send("login u5 pw"), "Login failed.", "a refused registration stores nothing");
    let mut other = PlainClient::connect_from("127.0.0.5".parse().unwrap(), server.addr);
    assert_eq!(other.send("register elsewhere e@x pw"), "Register successfully.");
}

#[test]
fn the_disk_guard_refuses_writes_while_space_is_short_and_lets_them_resume() {
    let (_dir, db) = database_with_users(&names(&["ann", "bob"]), PASSWORD);
    let server = TestServer::start_on(&db, Config::default());
    let mut ann = login_from(&server, "127.0.0.1", "ann");
    assert_eq!(ann.send("create-board b"), "Create board successfully.");
    assert_eq!(ann.send("create-post b --title kept --content c"), "Create post successfully.");

    // A reserve above the free space: the disk is "full".
    let free = server.disk_guard.free_bytes().expect("free space of the data directory");
    server.disk_guard.set_min_free(free + (1 << 40));
    for write in [
        "create-post b --title lost --content c",
        "comment 1 lost",
        "create-board other",
        "mail-to bob --subject s --content c",
        "update-post 1 --title lost",
        "delete-post 1",
    ] {
        assert_eq!(ann.send(write), OUT_OF_STORAGE, "{write}");
    }
    let mut anon = server.plain();
    assert_eq!(anon.send("register carl c@x pw"), OUT_OF_STORAGE);
    // Reads, logins and live messages go on.
    assert!(ann.send("read 1").contains("kept"));
    assert_eq!(ann.send("list-board").lines().count(), 2);
    let mut bob: DialectClient = server.client();
    assert!(bob.login("bob", PASSWORD).is_some(), "login works on a full disk");
    assert_eq!(ann.send("tell bob still here"), "");
    assert_eq!(bob.push().text, "ann told you: still here");

    // Space returns: writes resume by themselves.
    server.disk_guard.set_min_free(0);
    assert_eq!(ann.send("create-post b --title back --content c"), "Create post successfully.");
    assert_eq!(ann.send("comment 1 back"), "Comment successfully.");
    assert_eq!(anon.send("register carl c@x pw"), "Register successfully.");
    assert_eq!(posts_on(&mut ann, "b"), 2);
}
