//! Moderation with `bbsd` on PostgreSQL, two processes on one database:
//! a ban made through one refuses a comment through the other, a post
//! deleted on one is restored on the other with its comments, and pins
//! racing through both never pass five (the board's row lock, not a
//! process's memory, keeps the count), and a suspension made through one
//! ends the user's session on the other.

use std::path::Path;

use bbs_storage_postgres::throwaway::ThrowawayServer;
use bbs_testkit::{send_all_at_once, udp_request, BbsdProcess, PlainClient};

fn start(url: &str, files: &Path) -> BbsdProcess {
    let files = files.to_str().expect("UTF-8 temporary path");
    BbsdProcess::start(
        Path::new(env!("CARGO_BIN_EXE_bbsd")),
        Path::new(url),
        &["--files-dir", files, "--sysop", "root"],
    )
}

fn login(server: &BbsdProcess, name: &str) -> PlainClient {
    let mut p = PlainClient::connect(server.addr);
    assert_eq!(p.send(&format!("login {name} pw")), format!("Welcome, {name}."));
    p
}

#[test]
fn two_bbsd_on_postgres_share_bans_the_recycle_bin_and_the_pin_limit() {
    let postgres = ThrowawayServer::start().expect("throwaway PostgreSQL");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let url = runtime.block_on(postgres.fresh_database()).expect("a fresh database");
    let files = tempfile::tempdir().unwrap();
    let first = start(&url, files.path());
    let second = start(&url, files.path());
    for name in ["owner", "mod", "bob", "root"] {
        assert_eq!(udp_request(first.addr, None, &format!("register {name} {name}@x pw")), "Register successfully.");
    }
    let mut owner = login(&first, "owner");
    assert_eq!(owner.send("create-board b"), "Create board successfully.");
    assert_eq!(owner.send("add-moderator b mod"), "Add moderator successfully.");
    const POSTS: usize = 12;
    for n in 0..POSTS {
        assert_eq!(owner.send(&format!("create-post b --title p{n} --content c")), "Create post successfully.");
    }
    let mut bob = login(&second, "bob");
    assert_eq!(bob.send("comment 1 hello"), "Comment successfully.");
    assert_eq!(owner.send("ban b bob 1 spam"), "Ban successfully.");
    assert_eq!(bob.send("comment 1 again"), "You are banned from this board.");
    assert_eq!(bob.send("push 1 again"), "You are banned from this board.");
    assert!(bob.send("retr-mail 1").starts_with("Subject: You are banned from b\nFrom: owner"));

    let before = bob.send("read 1");
    let mut moderator = login(&second, "mod");
    assert_eq!(moderator.send("delete-post 1"), "Not the post owner.");
    assert_eq!(moderator.send("delete-post 1 --reason dup"), "Delete successfully.");
    assert_eq!(owner.send("read 1"), "Post does not exist.");
    assert_eq!(owner.send("restore-post 1"), "Restore successfully.");
    assert_eq!(bob.send("read 1"), before, "same S/N, same comments");

    // Pins from both processes at once.
    let moderators = ["owner", "mod", "root"];
    let answers = send_all_at_once(
        (0..POSTS)
            .map(|n| {
                let server = if n % 2 == 0 { &first } else { &second };
                (login(server, moderators[n % moderators.len()]), format!("pin-post {}", n + 1))
            })
            .collect(),
    );
    let count = |answer: &str| answers.iter().filter(|a| *a == answer).count();
    assert_eq!((count("Pin successfully."), count("Too many pinned posts.")), (5, POSTS - 5), "{answers:?}");
    let log = owner.send("mod-log b 100");
    let actions: Vec<&str> = log.lines().skip(1).map(|l| l.split_whitespace().nth(3).unwrap()).collect();
    assert_eq!(actions[..4], ["add-moderator", "ban", "delete", "restore"]);
    assert_eq!(actions.iter().filter(|a| **a == "pin").count(), 5);

    // A suspension made through one process ends the user's session on
    // the other, with the same last words.
    let mut root = login(&first, "root");
    assert_eq!(root.send("suspend bob 1 spam"), "Suspend successfully.");
    let rest = String::from_utf8(bob.read_to_close().unwrap()).unwrap();
    assert!(rest.starts_with("Your account is suspended until ") && rest.ends_with(": spam\r\n"), "{rest:?}");
}
