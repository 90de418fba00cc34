//! Pushes and boos (推 / 噓): their answers, how `read` and `list-post
//! --long` show them, the 90-second rule, the comment rate, and 200
//! connections voting on one post at once.

use std::time::Duration;

use bbs_server::{Config, Rate};
use bbs_testkit::{database_with_users, send_all_at_once, PlainClient, TestClock, TestServer};

const PASSWORD: &str = "pw";

fn login(server: &TestServer, name: &str) -> PlainClient {
    let mut p = server.plain();
    assert_eq!(p.send(&format!("login {name} {PASSWORD}")), format!("Welcome, {name}."));
    p
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("u{i}")).collect()
}

/// The `Push` cell of post `id` in `list-post <board> --long`.
fn push_cell(p: &mut PlainClient, board: &str, id: u64) -> String {
    let table = p.send(&format!("list-post {board} --long"));
    let row = table.lines().find(|l| l.split_whitespace().next() == Some(&id.to_string())).expect("the post's row");
    row.split_whitespace().nth(4).unwrap_or("").to_owned()
}

#[test]
fn push_and_boo_answer_as_the_spec_says_and_read_shows_them_in_order() {
    let mut users = names(3);
    users.push("ann".into());
    let (_dir, db) = database_with_users(&users, PASSWORD);
    let server = TestServer::start_on(&db, Config::default());
    let mut anon = server.plain();
    assert_eq!(anon.send("push 1 hi"), "Please login first.");
    assert_eq!(anon.send("push"), "Usage: push <post-S/N> <text>");
    assert_eq!(anon.send("boo 1"), "Usage: boo <post-S/N> <text>");
    let mut ann = login(&server, "ann");
    assert_eq!(ann.send("push 1 hi"), "Post does not exist.");
    assert_eq!(ann.send("create-board b"), "Create board successfully.");
    assert_eq!(ann.send("create-post b --title hello --content world"), "Create post successfully.");
    let course_list = ann.send("list-post b");
    assert_eq!(ann.send("comment 1 plain"), "Comment successfully.");
    assert_eq!(ann.send("push 1 mine"), "Comment successfully.", "the author's own push is a comment");

    let mut u0 = login(&server, "u0");
    let mut u1 = login(&server, "u1");
    assert_eq!(u0.send("push 1 good"), "Push successfully.");
    assert_eq!(u0.send("push 1 again"), "Comment successfully.", "within 90 seconds: a comment");
    assert_eq!(u1.send("boo 1 bad"), "Boo successfully.");
    assert_eq!(u1.send("boo 1 bad again"), "Comment successfully.");
    let mut u2 = login(&server, "u2");
    assert_eq!(u2.send("push 1 nice"), "Push successfully.");

    assert_eq!(
        ann.send("read 1").split("--\n").nth(2).expect("the comments"),
        "ann: plain\nann: mine\n推 u0: good\nu0: again\n噓 u1: bad\nu1: bad again\n推 u2: nice"
    );
    // The course's list is unchanged; `--long` adds the count.
    assert_eq!(ann.send("list-post b"), course_list);
    assert_eq!(
        course_list.lines().next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["S/N", "Title", "Author", "Date"]
    );
    let long = ann.send("list-post b --long");
    assert_eq!(
        long.lines().next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["S/N", "Title", "Author", "Date", "Push"]
    );
    assert_eq!(push_cell(&mut ann, "b", 1), "1");
    assert_eq!(ann.send("list-post b ##hel --long").lines().count(), 2, "keyword filters apply");
    assert_eq!(ann.send("list-post b ##zzz --long").lines().count(), 1);
    assert_eq!(ann.send("list-post nope --long"), "Board does not exist.");
}

#[test]
fn the_push_column_shows_bursts_and_tens_of_boos() {
    let (_dir, db) = database_with_users(&names(120), PASSWORD);
    let server = TestServer::start_on(
        &db,
        Config { login_rate_per_ip: Rate::new(1000, Duration::from_secs(1)), ..Config::default() },
    );
    let mut u0 = login(&server, "u0");
    assert_eq!(u0.send("create-board b"), "Create board successfully.");
    assert_eq!(u0.send("create-post b --title t --content c"), "Create post successfully.");
    for i in 1..=10 {
        assert_eq!(login(&server, &format!("u{i}")).send("boo 1 x"), "Boo successfully.");
    }
    assert_eq!(push_cell(&mut u0, "b", 1), "", "-10 shows nothing");
    for i in 11..=35 {
        assert_eq!(login(&server, &format!("u{i}")).send("boo 1 x"), "Boo successfully.");
    }
    assert_eq!(push_cell(&mut u0, "b", 1), "X3", "-35");
    for i in 36..=119 {
        assert_eq!(login(&server, &format!("u{i}")).send("boo 1 x"), "Boo successfully.");
    }
    assert_eq!(push_cell(&mut u0, "b", 1), "XX", "-119 is kept as -100");
}

#[test]
fn comments_of_any_kind_are_limited_per_minute() {
    let (_dir, db) = database_with_users(&names(2), PASSWORD);
    let server = TestServer::start_on(
        &db,
        Config { comment_rate: Rate::new(3, Duration::from_secs(3600)), ..Config::default() },
    );
    let mut u0 = login(&server, "u0");
    assert_eq!(u0.send("create-board b"), "Create board successfully.");
    assert_eq!(u0.send("create-post b --title t --content c"), "Create post successfully.");
    let mut u1 = login(&server, "u1");
    assert_eq!(u1.send("comment 1 a"), "Comment successfully.");
    assert_eq!(u1.send("push 1 b"), "Push successfully.");
    assert_eq!(u1.send("boo 1 c"), "Comment successfully.");
    assert_eq!(u1.send("comment 1 d"), "Too many comments, please wait.");
    assert_eq!(u1.send("push 1 e"), "Too many comments, please wait.");
    assert_eq!(u1.send("comment 2 d"), "Post does not exist.", "existence is said first");
    assert_eq!(u0.send("comment 1 mine"), "Comment successfully.", "per user");
}

#[test]
fn two_hundred_connections_voting_at_once_leave_the_count_equal_to_the_accepted_votes() {
    // 70 users push once, 60 boo once, 30 push from two connections each
    // (exactly one of the two may count), and the author pushes from 10:
    // 200 connections. The count never leaves -60..100, so no vote is
    // clamped away and the end count is exactly pushes minus boos.
    let mut users = names(160);
    users.push("author".into());
    let (_dir, db) = database_with_users(&users, PASSWORD);
    let config = Config {
        login_rate_per_ip: Rate::new(1000, Duration::from_secs(1)),
        max_connections_per_ip: 1000,
        ..Config::default()
    };
    let server = TestServer::start_on(&db, config);
    let mut author = login(&server, "author");
    assert_eq!(author.send("create-board b"), "Create board successfully.");
    assert_eq!(author.send("create-post b --title t --content c"), "Create post successfully.");
    let mut plan: Vec<(String, &str)> = Vec::new();
    for i in 0..70 {
        plan.push((format!("u{i}"), "push"));
    }
    for i in 70..130 {
        plan.push((format!("u{i}"), "boo"));
    }
    for i in 130..160 {
        plan.push((format!("u{i}"), "push"));
        plan.push((format!("u{i}"), "push"));
    }
    for _ in 0..10 {
        plan.push(("author".into(), "push"));
    }
    assert_eq!(plan.len(), 200);
    let answers =
        send_all_at_once(plan.iter().map(|(name, verb)| (login(&server, name), format!("{verb} 1 at once"))).collect());
    let count = |text: &str| answers.iter().filter(|a| *a == text).count();
    let (pushes, boos, comments) =
        (count("Push successfully."), count("Boo successfully."), count("Comment successfully."));
    assert_eq!((pushes, boos, comments), (100, 60, 40), "{answers:?}");
    assert_eq!(push_cell(&mut author, "b", 1), (pushes - boos).to_string());
    let read = author.send("read 1");
    assert_eq!(read.matches("\n推 ").count(), 100);
    assert_eq!(read.matches("\n噓 ").count(), 60);
    assert_eq!(read.split("--\n").nth(2).unwrap().lines().count(), 200, "every vote is kept as a comment");
}

#[test]
fn a_second_vote_counts_again_once_90_seconds_have_passed() {
    let (_dir, db) = database_with_users(&names(2), PASSWORD);
    let clock = TestClock::new();
    let server = TestServer::start_on(&db, Config { clock: clock.clone(), ..Config::default() });
    let mut u0 = login(&server, "u0");
    assert_eq!(u0.send("create-board b"), "Create board successfully.");
    assert_eq!(u0.send("create-post b --title t --content c"), "Create post successfully.");
    let mut u1 = login(&server, "u1");
    assert_eq!(u1.send("push 1 one"), "Push successfully.");
    clock.advance(89);
    assert_eq!(u1.send("push 1 two"), "Comment successfully.");
    clock.advance(1);
    assert_eq!(u1.send("push 1 three"), "Push successfully.", "90 seconds after the previous vote");
    assert_eq!(u1.send("boo 1 four"), "Comment successfully.");
    clock.advance(90);
    assert_eq!(u1.send("boo 1 five"), "Boo successfully.");
    assert_eq!(push_cell(&mut u0, "b", 1), "1");
}
