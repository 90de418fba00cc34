//! Issue 5, accounts: the bounded hashing queue, login rate limits per IP
//! address and per account, unknown names costing a hash like wrong
//! passwords, and the password length limit, over real sockets.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use bbs_server::{Config, Rate};
use bbs_testkit::{PlainClient, TestServer};

const BUSY: &str = "Server busy: too many logins at once. Please try again in a moment.";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A database that already holds user `u` with password `pw`.
fn database_with_user() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bbs.db");
    let server = TestServer::start_on(&db, Config::default());
    assert_eq!(server.plain().send("register u u@x pw"), "Register successfully.");
    drop(server);
    (dir, db)
}

#[test]
fn a_full_hashing_queue_answers_busy_for_every_kind_of_login_and_registration() {
    let (_dir, db) = database_with_user();
    let server = TestServer::start_on(&db, Config { hash_workers: 1, hash_queue: 0, ..Config::default() });
    let mut p = server.plain();
    assert_eq!(p.send("register v v@x pw"), BUSY);
    assert_eq!(p.send("login u pw"), BUSY, "right password");
    assert_eq!(p.send("login u nope"), BUSY, "wrong password");
    // An unknown name goes through the hasher too (against a dummy hash):
    // were it answered without hashing, it would say "Login failed." here.
    assert_eq!(p.send("login nobody pw"), BUSY, "unknown name");
    // Everything that needs no hashing still works.
    assert_eq!(p.send("register u e@x pw"), "Username is already used.");
    assert_eq!(p.send("list-user"), "Name  Email\nu     u@x");
}

#[test]
fn a_small_hashing_queue_refuses_the_excess_of_a_burst_and_serves_the_rest() {
    let (_dir, db) = database_with_user();
    let server = TestServer::start_on(&db, Config { hash_workers: 1, hash_queue: 1, ..Config::default() });
    let mut clients: Vec<PlainClient> = (0..6).map(|_| server.plain()).collect();
    // All six logins are on the wire before any answer is read.
    for c in &mut clients {
        c.write_raw(b"login u pw\r\n");
    }
    let answers: Vec<String> = clients.iter_mut().map(|c| c.answer()).collect();
    let busy = answers.iter().filter(|a| *a == BUSY).count();
    let welcomed = answers.iter().filter(|a| *a == "Welcome, u.").count();
    assert_eq!(busy + welcomed, 6, "{answers:?}");
    assert!(welcomed >= 1, "{answers:?}");
    assert!(busy >= 1, "six logins at once through a queue of one: {answers:?}");
}

#[test]
fn an_unknown_name_takes_about_as_long_as_a_wrong_password() {
    let (_dir, db) = database_with_user();
    let server = TestServer::start_on(&db, Config::default());
    let mut p = server.plain();
    let mut time = |line: &str| {
        let started = Instant::now();
        assert_eq!(p.send(line), "Login failed.");
        started.elapsed()
    };
    // Alternated, and the fastest of each kept: the other tests of this
    // file hash passwords at the same time, and alternating gives both
    // kinds the same chance of a quiet moment.
    let (mut wrong_password, mut unknown_name) = (Duration::MAX, Duration::MAX);
    for _ in 0..7 {
        wrong_password = wrong_password.min(time("login u wrong"));
        unknown_name = unknown_name.min(time("login nobody wrong"));
    }
    let ratio = unknown_name.as_secs_f64() / wrong_password.as_secs_f64();
    eprintln!("wrong password {wrong_password:?}, unknown name {unknown_name:?}, ratio {ratio:.2}");
    // Hashing (m = 19 MiB, t = 2) dominates both; without the dummy hash
    // the unknown name would answer in well under a tenth of the time.
    assert!((0.33..3.0).contains(&ratio), "wrong password {wrong_password:?}, unknown name {unknown_name:?}");
}

#[test]
fn logins_from_one_address_are_rate_limited_and_other_addresses_are_not() {
    let server = TestServer::start_with(Config {
        login_rate_per_ip: Rate::new(3, Duration::from_secs(60)),
        ..Config::default()
    });
    let mut p = PlainClient::connect_from(ip("127.0.0.1"), server.addr);
    assert_eq!(p.send("register u u@x pw"), "Register successfully.");
    for name in ["a", "b", "c"] {
        assert_eq!(p.send(&format!("login {name} pw")), "Login failed.");
    }
    let limited = "Too many login attempts from your address. Please try again in 20 seconds.";
    assert_eq!(p.send("login u pw"), limited, "even the right password waits");
    assert_eq!(p.send("whoami"), "Please login first.");
    let mut other = PlainClient::connect_from(ip("127.0.0.2"), server.addr);
    assert_eq!(other.send("login u pw"), "Welcome, u.");
    // A new connection from the limited address is limited too.
    let mut again = PlainClient::connect_from(ip("127.0.0.1"), server.addr);
    assert_eq!(again.send("login u pw"), limited);
}

#[test]
fn failed_logins_per_account_are_rate_limited_and_a_success_starts_afresh() {
    let server = TestServer::start_with(Config {
        login_rate_per_account: Rate::new(2, Duration::from_secs(60)),
        ..Config::default()
    });
    let mut p = server.plain();
    assert_eq!(p.send("register u u@x pw"), "Register successfully.");
    assert_eq!(p.send("register w w@x pw"), "Register successfully.");
    // A success resets the account's budget...
    assert_eq!(p.send("login u wrong"), "Login failed.");
    assert_eq!(p.send("login u pw"), "Welcome, u.");
    assert_eq!(p.send("logout"), "Bye, u.");
    // ...so two more failures are allowed, then the account waits.
    assert_eq!(p.send("login u wrong"), "Login failed.");
    assert_eq!(p.send("login u wrong"), "Login failed.");
    assert_eq!(p.send("login u pw"), "Too many login attempts for u. Please try again in 30 seconds.");
    // From any address: the limit is the account's.
    let mut elsewhere = PlainClient::connect_from(ip("127.0.0.3"), server.addr);
    assert_eq!(elsewhere.send("login u pw"), "Too many login attempts for u. Please try again in 30 seconds.");
    // Other accounts are not affected; unknown names are limited alike.
    assert_eq!(p.send("login w pw"), "Welcome, w.");
    assert_eq!(p.send("logout"), "Bye, w.");
    assert_eq!(p.send("login ghost x"), "Login failed.");
    assert_eq!(p.send("login ghost x"), "Login failed.");
    assert_eq!(p.send("login ghost x"), "Too many login attempts for ghost. Please try again in 30 seconds.");
}

#[test]
fn passwords_over_512_bytes_are_refused_on_register_and_login() {
    let server = TestServer::start();
    let mut p = server.plain();
    let longest = "p".repeat(512);
    let too_long = "p".repeat(513);
    let refused = "Password too long: at most 512 bytes.";
    assert_eq!(p.send(&format!("register big b@x {too_long}")), refused);
    assert_eq!(p.send(&format!("register big b@x {longest}")), "Register successfully.");
    assert_eq!(p.send(&format!("login big {too_long}")), refused);
    assert_eq!(p.send(&format!("login big {longest}")), "Welcome, big.");
    // Multi-byte characters count in bytes: 171 × 3 = 513.
    assert_eq!(p.send(&format!("register cjk c@x {}", "字".repeat(171))), refused);
}
