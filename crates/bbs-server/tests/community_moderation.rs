//! Moderators, bans, board settings, the recycle bin, pins, edit history,
//! the audit log, reports and the sysop's suspensions, over real sockets:
//! every answer of the community spec's sections 2–5, a ban and a bin
//! entry that expire as the (test) clock moves, and pins racing from many
//! connections.

use std::sync::Arc;

use bbs_server::clock::Clock;
use bbs_server::Config;
use bbs_testkit::{database_with_users, send_all_at_once, PlainClient, TestClock, TestServer};
use chrono::TimeZone;

const PASSWORD: &str = "pw";
const DAY: i64 = 24 * 60 * 60;

fn login(server: &TestServer, name: &str) -> PlainClient {
    let mut p = server.plain();
    assert_eq!(p.send(&format!("login {name} {PASSWORD}")), format!("Welcome, {name}."));
    p
}

/// The users every test has, `root` the sysop, and a test clock.
fn start(extra: &[&str]) -> (tempfile::TempDir, TestServer, Arc<TestClock>) {
    let mut names: Vec<String> = ["owner", "mod", "ann", "bob", "cy", "dee", "eve", "root"].map(String::from).into();
    names.extend(extra.iter().map(|n| n.to_string()));
    let (dir, db) = database_with_users(&names, PASSWORD);
    let clock = TestClock::new();
    let config = Config { clock: clock.clone(), sysops: vec!["root".into()], ..Config::default() };
    (dir, TestServer::start_on(&db, config), clock)
}

/// `YYYY-MM-DD HH:MM` as the server writes dates of bans and the logs.
fn date_time(unix: i64) -> String {
    chrono::Local.timestamp_opt(unix, 0).unwrap().format("%Y-%m-%d %H:%M").to_string()
}

/// The first cells (S/N) of a table's rows.
fn first_cells(table: &str) -> Vec<String> {
    table.lines().skip(1).map(|l| l.split_whitespace().next().unwrap_or("").to_owned()).collect()
}

/// The rows of a table, each as its words.
fn rows(table: &str) -> Vec<Vec<String>> {
    table.lines().skip(1).map(|l| l.split_whitespace().map(str::to_owned).collect()).collect()
}

#[test]
fn moderators_are_added_by_the_owner_and_listed_after_the_owner() {
    let (_dir, server, _clock) = start(&[]);
    let mut anon = server.plain();
    assert_eq!(anon.send("add-moderator b"), "Usage: add-moderator <board> <user>");
    assert_eq!(anon.send("add-moderator b mod"), "Please login first.");
    assert_eq!(anon.send("remove-moderator b"), "Usage: remove-moderator <board> <user>");
    let mut owner = login(&server, "owner");
    assert_eq!(owner.send("add-moderator b mod"), "Board does not exist.");
    assert_eq!(owner.send("create-board b"), "Create board successfully.");
    let mut ann = login(&server, "ann");
    assert_eq!(ann.send("add-moderator b ann"), "Not the board owner.");
    assert_eq!(owner.send("add-moderator b ghost"), "User does not exist.");
    assert_eq!(owner.send("add-moderator b owner"), "owner is already a moderator.");
    for name in ["mod", "bob", "cy"] {
        assert_eq!(owner.send(&format!("add-moderator b {name}")), "Add moderator successfully.");
    }
    assert_eq!(owner.send("add-moderator b mod"), "mod is already a moderator.");
    assert_eq!(owner.send("add-moderator b dee"), "Too many moderators.");
    assert_eq!(rows(&owner.send("list-board")), vec![vec!["1", "b", "owner/mod/bob/cy"]]);
    assert_eq!(ann.send("remove-moderator b mod"), "Not the board owner.");
    assert_eq!(owner.send("remove-moderator b ann"), "ann is not a moderator.");
    assert_eq!(owner.send("remove-moderator b owner"), "The board owner cannot be removed.");
    assert_eq!(owner.send("remove-moderator b bob"), "Remove moderator successfully.");
    assert_eq!(rows(&ann.send("list-board")), vec![vec!["1", "b", "owner/mod/cy"]]);
}

#[test]
fn a_ban_keeps_a_user_from_writing_until_it_expires_but_not_from_their_own_posts() {
    let (_dir, server, clock) = start(&[]);
    let mut owner = login(&server, "owner");
    assert_eq!(owner.send("create-board b"), "Create board successfully.");
    assert_eq!(owner.send("add-moderator b mod"), "Add moderator successfully.");
    let mut bob = login(&server, "bob");
    assert_eq!(bob.send("create-post b --title mine --content original"), "Create post successfully.");
    assert_eq!(owner.send("create-post b --title rules --content be nice"), "Create post successfully.");

    for (line, usage) in [
        ("ban b bob 1", "Usage: ban <board> <user> <days> <reason>"),
        ("ban b bob 0 spam", "Usage: ban <board> <user> <days> <reason>"),
        ("ban b bob 3651 spam", "Usage: ban <board> <user> <days> <reason>"),
        ("ban b bob x spam", "Usage: ban <board> <user> <days> <reason>"),
        ("unban b bob", "Usage: unban <board> <user> <reason>"),
        ("list-ban", "Usage: list-ban <board>"),
    ] {
        assert_eq!(owner.send(line), usage, "{line}");
    }
    let mut anon = server.plain();
    assert_eq!(anon.send("ban b bob 1 spam"), "Please login first.");
    assert_eq!(owner.send("ban nope bob 1 spam"), "Board does not exist.");
    let mut ann = login(&server, "ann");
    assert_eq!(ann.send("ban b bob 1 spam"), "Not a board moderator.");
    assert_eq!(ann.send("list-ban b"), "Not a board moderator.");
    assert_eq!(owner.send("ban b ghost 1 spam"), "User does not exist.");
    assert_eq!(owner.send("ban b mod 1 spam"), "Cannot ban a moderator.");
    let banned_at = clock.now();
    assert_eq!(owner.send("ban b bob 1 posting  spam"), "Ban successfully.");
    assert_eq!(owner.send("ban b bob 2 again"), "bob is already banned.");
    let until = date_time(banned_at + DAY);
    assert_eq!(
        owner.send("list-ban b"),
        bbs_protocol::table::format_table(
            &["User", "Until", "By", "Reason"],
            &[vec!["bob".into(), until.clone(), "owner".into(), "posting  spam".into()]]
        )
    );

    // Every write there is refused; reading is not, nor are their own posts.
    for line in ["create-post b --title t --content c", "comment 2 hi", "push 2 hi", "boo 2 hi", "report 2 unfair"] {
        assert_eq!(bob.send(line), "You are banned from this board.", "{line}");
    }
    assert!(bob.send("read 2").starts_with("Author: owner\n"));
    assert_eq!(first_cells(&bob.send("list-post b")), ["1", "2"]);
    assert_eq!(bob.send("update-post 1 --content edited while banned"), "Update successfully.");
    assert!(bob.send("read 1").contains("edited while banned"));
    // The mail names the board, the end, the moderator and the reason.
    let mail = bob.send("retr-mail 1");
    assert!(mail.starts_with("Subject: You are banned from b\nFrom: owner\n"), "{mail}");
    assert!(mail.contains(&format!("b until {until} by owner")) && mail.contains("Reason: posting  spam"), "{mail}");
    // Another board is not affected.
    assert_eq!(bob.send("create-board other"), "Create board successfully.");
    assert_eq!(bob.send("create-post other --title t --content c"), "Create post successfully.");

    // A day later the ban no longer counts: nothing had to run meanwhile.
    clock.advance(DAY - 1);
    assert_eq!(bob.send("comment 2 still?"), "You are banned from this board.");
    clock.advance(1);
    assert_eq!(bob.send("comment 2 free again"), "Comment successfully.");
    assert_eq!(owner.send("list-ban b").lines().count(), 1, "only the header: the ban ended");
    assert_eq!(owner.send("unban b bob sorry"), "bob is not banned.");
    // A new ban, ended early by another moderator.
    assert_eq!(owner.send("ban b bob 3650 again"), "Ban successfully.");
    let mut moderator = login(&server, "mod");
    assert_eq!(ann.send("unban b bob sorry"), "Not a board moderator.");
    assert_eq!(moderator.send("unban b bob sorry"), "Unban successfully.");
    assert_eq!(bob.send("push 2 thanks"), "Push successfully.");
    // Their own post stays theirs to delete, banned or not.
    assert_eq!(moderator.send("ban b bob 1 again"), "Ban successfully.");
    assert_eq!(bob.send("delete-post 1"), "Delete successfully.");
}

#[test]
fn board_settings_refuse_boos_quick_comments_and_young_accounts() {
    let (_dir, server, clock) = start(&[]);
    let mut owner = login(&server, "owner");
    assert_eq!(owner.send("create-board b"), "Create board successfully.");
    assert_eq!(owner.send("create-post b --title t --content c"), "Create post successfully.");
    let usage = "Usage: set-board <board> --no-boo on|off | --push-interval <seconds> | --min-days <days>";
    for line in [
        "set-board b",
        "set-board b --no-boo maybe",
        "set-board b --push-interval 3",
        "set-board b --push-interval 241",
    ] {
        assert_eq!(owner.send(line), usage, "{line}");
    }
    let mut ann = login(&server, "ann");
    assert_eq!(ann.send("set-board b --no-boo on"), "Not a board moderator.");
    assert_eq!(owner.send("set-board nope --no-boo on"), "Board does not exist.");
    assert_eq!(owner.send("set-board b --no-boo on"), "Update successfully.");
    assert_eq!(ann.send("boo 1 bad"), "This board does not allow boos.");
    assert_eq!(ann.send("push 1 good"), "Push successfully.");
    assert_eq!(owner.send("set-board b --no-boo off"), "Update successfully.");
    clock.advance(100);
    assert_eq!(ann.send("boo 1 bad"), "Boo successfully.");

    assert_eq!(owner.send("set-board b --push-interval 30"), "Update successfully.");
    clock.advance(10);
    assert_eq!(ann.send("comment 1 quick"), "You do not meet this board's posting requirements.");
    clock.advance(20);
    assert_eq!(ann.send("comment 1 later"), "Comment successfully.");
    assert_eq!(owner.send("set-board b --push-interval 0"), "Update successfully.");
    assert_eq!(ann.send("comment 1 at once"), "Comment successfully.");

    // An account registered now is too young for a board asking 3 days.
    assert_eq!(owner.send("set-board b --min-days 3"), "Update successfully.");
    let mut newbie = server.plain();
    assert_eq!(newbie.send(&format!("register newbie n@x {PASSWORD}")), "Register successfully.");
    assert_eq!(newbie.send(&format!("login newbie {PASSWORD}")), "Welcome, newbie.");
    let requirements = "You do not meet this board's posting requirements.";
    assert_eq!(newbie.send("create-post b --title hi --content new here"), requirements);
    assert_eq!(newbie.send("comment 1 hi"), requirements);
    assert_eq!(ann.send("create-post b --title old --content account"), "Create post successfully.");
    clock.advance(3 * DAY + 60);
    assert_eq!(newbie.send("create-post b --title hi --content new here"), "Create post successfully.");
}

#[test]
fn deletion_is_soft_and_restore_keeps_the_serial_number_and_comments() {
    let (_dir, server, clock) = start(&[]);
    let mut owner = login(&server, "owner");
    assert_eq!(owner.send("create-board b"), "Create board successfully.");
    assert_eq!(owner.send("add-moderator b mod"), "Add moderator successfully.");
    let mut ann = login(&server, "ann");
    assert_eq!(ann.send("create-post b --title spam --content buy now"), "Create post successfully.");
    assert_eq!(ann.send("create-post b --title keep --content fine"), "Create post successfully.");
    let mut bob = login(&server, "bob");
    assert_eq!(bob.send("comment 1 first"), "Comment successfully.");
    assert_eq!(bob.send("push 1 lol"), "Push successfully.");
    let before = bob.send("read 1");
    let listed = bob.send("list-post b --long");

    let mut moderator = login(&server, "mod");
    assert_eq!(moderator.send("delete-post 1"), "Not the post owner.", "the course's answer without --reason");
    assert_eq!(moderator.send("delete-post 1 --reason"), "Usage: delete-post <post-S/N>");
    assert_eq!(bob.send("delete-post 1 --reason I dislike it"), "Not the post owner.");
    assert_eq!(moderator.send("delete-post 9 --reason x"), "Post does not exist.");
    assert_eq!(moderator.send("delete-post 1 --reason advertising"), "Delete successfully.");
    assert_eq!(bob.send("read 1"), "Post does not exist.");
    assert_eq!(bob.send("comment 1 hello?"), "Post does not exist.");
    assert_eq!(first_cells(&bob.send("list-post b")), ["2"]);

    assert_eq!(bob.send("list-recycle b"), "Not a board moderator.");
    assert_eq!(owner.send("list-recycle nope"), "Board does not exist.");
    let deleted_at = date_time(clock.now());
    assert_eq!(
        owner.send("list-recycle b"),
        bbs_protocol::table::format_table(
            &["S/N", "Title", "Author", "Deleted-by", "Date", "Reason"],
            &[vec!["1".into(), "spam".into(), "ann".into(), "mod".into(), deleted_at, "advertising".into()]]
        )
    );
    assert_eq!(bob.send("restore-post 1"), "Not a board moderator.");
    assert_eq!(owner.send("restore-post 2"), "Post is not in the recycle bin.");
    assert_eq!(owner.send("restore-post 1"), "Restore successfully.");
    assert_eq!(owner.send("restore-post 1"), "Post is not in the recycle bin.");
    assert_eq!(bob.send("read 1"), before, "same S/N, same comments");
    assert_eq!(bob.send("list-post b --long"), listed, "same place, same count");

    // After the recycle bin's 30 days, a deleted post is gone for good.
    assert_eq!(ann.send("delete-post 2"), "Delete successfully.");
    clock.advance(30 * DAY - 1);
    assert_eq!(first_cells(&owner.send("list-recycle b")), ["2"]);
    clock.advance(1);
    assert_eq!(owner.send("list-recycle b").lines().count(), 1, "only the header");
    assert_eq!(owner.send("restore-post 2"), "Post is not in the recycle bin.");
}

#[test]
fn pinned_posts_come_first_and_a_sixth_is_refused() {
    let (_dir, server, _clock) = start(&[]);
    let mut owner = login(&server, "owner");
    assert_eq!(owner.send("create-board b"), "Create board successfully.");
    for n in 1..=7 {
        assert_eq!(owner.send(&format!("create-post b --title post{n} --content c")), "Create post successfully.");
    }
    let mut ann = login(&server, "ann");
    assert_eq!(ann.send("pin-post"), "Usage: pin-post <post-S/N>");
    assert_eq!(ann.send("unpin-post x"), "Usage: unpin-post <post-S/N>");
    assert_eq!(ann.send("pin-post 3"), "Not a board moderator.");
    assert_eq!(owner.send("pin-post 99"), "Post does not exist.");
    let course = owner.send("list-post b");
    for n in [6, 3, 1, 2, 4] {
        assert_eq!(owner.send(&format!("pin-post {n}")), "Pin successfully.");
    }
    assert_eq!(owner.send("pin-post 5"), "Too many pinned posts.");
    assert_eq!(owner.send("pin-post 6"), "Post is already pinned.");
    assert_eq!(first_cells(&ann.send("list-post b")), ["★6", "★3", "★1", "★2", "★4", "5", "7"]);
    assert_eq!(first_cells(&ann.send("list-post b --long")), ["★6", "★3", "★1", "★2", "★4", "5", "7"]);
    assert_eq!(first_cells(&ann.send("list-post b ##post3")), ["★3"]);
    assert_eq!(owner.send("delete-post 6"), "Pinned posts cannot be deleted.");
    assert_eq!(owner.send("delete-post 3 --reason old"), "Pinned posts cannot be deleted.");
    assert_eq!(ann.send("unpin-post 6"), "Not a board moderator.");
    assert_eq!(owner.send("unpin-post 5"), "Post is not pinned.");
    for n in [6, 3, 1, 2, 4] {
        assert_eq!(owner.send(&format!("unpin-post {n}")), "Unpin successfully.");
    }
    assert_eq!(owner.send("list-post b"), course, "the course's list once nothing is pinned");
}

#[test]
fn concurrent_pins_from_many_connections_never_pass_five() {
    let (_dir, server, _clock) = start(&[]);
    let mut owner = login(&server, "owner");
    assert_eq!(owner.send("create-board b"), "Create board successfully.");
    for name in ["mod", "bob", "cy"] {
        assert_eq!(owner.send(&format!("add-moderator b {name}")), "Add moderator successfully.");
    }
    const POSTS: usize = 16;
    for n in 0..POSTS {
        assert_eq!(owner.send(&format!("create-post b --title p{n} --content c")), "Create post successfully.");
    }
    let moderators = ["owner", "mod", "bob", "cy", "root"];
    let answers = send_all_at_once(
        (0..POSTS).map(|n| (login(&server, moderators[n % moderators.len()]), format!("pin-post {}", n + 1))).collect(),
    );
    let count = |answer: &str| answers.iter().filter(|a| *a == answer).count();
    assert_eq!((count("Pin successfully."), count("Too many pinned posts.")), (5, POSTS - 5), "{answers:?}");
    let pinned = first_cells(&owner.send("list-post b")).into_iter().filter(|c| c.starts_with('★')).count();
    assert_eq!(pinned, 5);
}

#[test]
fn history_and_the_audit_log_show_every_revision_and_every_moderator_action_in_order() {
    let (_dir, server, clock) = start(&[]);
    let mut owner = login(&server, "owner");
    assert_eq!(owner.send("create-board b"), "Create board successfully.");
    let mut ann = login(&server, "ann");
    assert_eq!(ann.send("create-post b --title first --content v1"), "Create post successfully.");
    let written = date_time(clock.now());
    clock.advance(60);
    assert_eq!(ann.send("update-post 1 --content v2<br>second line"), "Update successfully.");
    clock.advance(60);
    assert_eq!(ann.send("update-post 1 --title renamed"), "Update successfully.");
    let history = ann.send("post-history 1");
    let at = |n: i64| date_time(clock.now() - 120 + 60 * n);
    let revision = |rev: &str, date: &str, title: &str, content: &str| {
        let table =
            bbs_protocol::table::format_table(&["Rev", "Date", "Editor", "Title"], &[vec![rev, date, "ann", title]]);
        format!("{table}\n--\n{content}\n--")
    };
    assert_eq!(
        history,
        [
            revision("1", &written, "first", "v1"),
            revision("2", &at(1), "first", "v2\nsecond line"),
            revision("3", &at(2), "renamed", "v2\nsecond line"),
        ]
        .join("\n")
    );
    let mut bob = login(&server, "bob");
    assert_eq!(bob.send("post-history 1"), "Not the post owner.");
    assert_eq!(bob.send("post-history 9"), "Post does not exist.");
    assert_eq!(bob.send("post-history"), "Usage: post-history <post-S/N>");
    assert_eq!(owner.send("post-history 1"), history, "moderators see it too");

    // Every moderator action, in order; members' own writes are not in it.
    let actions = [
        ("owner", "add-moderator b mod", "Add moderator successfully."),
        ("mod", "ban b bob 7 spam", "Ban successfully."),
        ("owner", "unban b bob appeal", "Unban successfully."),
        ("mod", "pin-post 1", "Pin successfully."),
        ("owner", "unpin-post 1", "Unpin successfully."),
        ("owner", "set-board b --push-interval 10", "Update successfully."),
        ("mod", "delete-post 1 --reason off topic", "Delete successfully."),
        ("root", "restore-post 1", "Restore successfully."),
        ("owner", "remove-moderator b mod", "Remove moderator successfully."),
    ];
    let mut clients: std::collections::HashMap<&str, PlainClient> = Default::default();
    for (who, line, answer) in actions {
        clock.advance(60);
        let client = clients.entry(who).or_insert_with(|| login(&server, who));
        assert_eq!(client.send(line), answer, "{line}");
    }
    assert_eq!(bob.send("report 1 rude"), "Report successfully.");
    clock.advance(60);
    assert_eq!(owner.send("resolve-report 1 reject not rude"), "Resolve successfully.");
    let end = clock.now();
    let log = owner.send("mod-log b");
    let expected: Vec<Vec<String>> = [
        ("owner", "add-moderator", "mod", ""),
        ("mod", "ban", "bob", "spam"),
        ("owner", "unban", "bob", "appeal"),
        ("mod", "pin", "1", ""),
        ("owner", "unpin", "1", ""),
        ("owner", "set-board", "--push-interval 10", ""),
        ("mod", "delete", "1", "off topic"),
        ("root", "restore", "1", ""),
        ("owner", "remove-moderator", "mod", ""),
        ("owner", "resolve-report", "report 1 on 1: rejected", "not rude"),
    ]
    .iter()
    .enumerate()
    .map(|(n, (actor, action, target, reason))| {
        let at = end - 60 * (9 - n as i64);
        vec![date_time(at), actor.to_string(), action.to_string(), target.to_string(), reason.to_string()]
    })
    .collect();
    assert_eq!(log, bbs_protocol::table::format_table(&["Date", "Actor", "Action", "Target", "Reason"], &expected));
    let latest = owner.send("mod-log b 2");
    assert_eq!(
        latest,
        bbs_protocol::table::format_table(&["Date", "Actor", "Action", "Target", "Reason"], &expected[8..])
    );
    assert_eq!(bob.send("mod-log b"), "Not a board moderator.");
    assert_eq!(owner.send("mod-log b 0"), "Usage: mod-log <board> [<n>]");
}

#[test]
fn reports_reach_the_moderators_and_are_resolved_once() {
    let (_dir, server, _clock) = start(&[]);
    let mut owner = login(&server, "owner");
    assert_eq!(owner.send("create-board b"), "Create board successfully.");
    let mut ann = login(&server, "ann");
    for n in 0..12 {
        assert_eq!(ann.send(&format!("create-post b --title p{n} --content c")), "Create post successfully.");
    }
    let mut anon = server.plain();
    assert_eq!(anon.send("report 1"), "Usage: report <post-S/N> <reason>");
    assert_eq!(anon.send("report 1 rude"), "Please login first.");
    let mut bob = login(&server, "bob");
    assert_eq!(bob.send("report 99 rude"), "Post does not exist.");
    assert_eq!(ann.send("report 1 mine"), "You cannot report your own post.");
    assert_eq!(bob.send("report 1 rude words"), "Report successfully.");
    assert_eq!(bob.send("report 1 again"), "You have already reported this post.");
    for n in 2..=10 {
        assert_eq!(bob.send(&format!("report {n} spam")), "Report successfully.");
    }
    assert_eq!(bob.send("report 11 spam"), "Too many reports, please wait.", "10 a day");
    assert_eq!(bob.send("list-report b"), "Not a board moderator.");
    let open = owner.send("list-report b");
    assert_eq!(
        open.lines().next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["ID", "S/N", "Reporter", "Reason", "Status"]
    );
    assert_eq!(rows(&open)[0], ["1", "1", "bob", "rude", "words", "open"]);
    assert_eq!(rows(&open).len(), 10);

    assert_eq!(owner.send("resolve-report 1 maybe"), "Usage: resolve-report <id> accept|reject [<note>]");
    assert_eq!(owner.send("resolve-report 99 accept"), "Report does not exist.");
    assert_eq!(bob.send("resolve-report 1 accept"), "Not a board moderator.");
    assert_eq!(owner.send("resolve-report 1 accept removed"), "Resolve successfully.");
    assert_eq!(owner.send("resolve-report 1 reject"), "Report is already resolved.");
    assert_eq!(owner.send("resolve-report 2 reject"), "Resolve successfully.");
    // Deleting a post resolves its open reports.
    assert_eq!(ann.send("delete-post 3"), "Delete successfully.");
    assert_eq!(first_cells(&owner.send("list-report b")), ["4", "5", "6", "7", "8", "9", "10"]);
    let all = owner.send("list-report b --all");
    let statuses: Vec<String> = rows(&all).iter().take(3).map(|r| r.last().unwrap().clone()).collect();
    assert_eq!(statuses, ["accepted", "rejected", "accepted"]);
}

#[test]
fn a_sysop_suspends_ends_the_sessions_and_purges_posts() {
    let (_dir, server, clock) = start(&[]);
    let mut ann = login(&server, "ann");
    assert_eq!(ann.send("suspend bob 1 spam"), "Permission denied.");
    assert_eq!(ann.send("unsuspend bob"), "Permission denied.");
    assert_eq!(ann.send("purge-user-posts bob spam"), "Permission denied.");
    let mut root = login(&server, "root");
    assert_eq!(root.send("suspend bob 0 spam"), "Usage: suspend <user> <days> <reason>");
    assert_eq!(root.send("suspend ghost 1 spam"), "User does not exist.");
    let mut bob = login(&server, "bob");
    assert_eq!(bob.send("create-board b"), "Create board successfully.");
    for n in 0..3 {
        assert_eq!(bob.send(&format!("create-post b --title spam{n} --content c")), "Create post successfully.");
    }
    assert_eq!(ann.send("create-post b --title fine --content c"), "Create post successfully.");
    let mut bob_again = login(&server, "bob");

    let until = date_time(clock.now() + 2 * DAY);
    let line = format!("Your account is suspended until {until}: flooding the board");
    assert_eq!(root.send("suspend bob 2 flooding the board"), "Suspend successfully.");
    for session in [&mut bob, &mut bob_again] {
        let rest = String::from_utf8(session.read_to_close().unwrap()).unwrap();
        assert_eq!(rest, format!("{line}\r\n"), "each session ends with the line");
    }
    let mut retry = server.plain();
    assert_eq!(retry.send(&format!("login bob {PASSWORD}")), line);
    assert_eq!(retry.send("whoami"), "Please login first.");
    clock.advance(2 * DAY);
    assert_eq!(retry.send(&format!("login bob {PASSWORD}")), "Welcome, bob.");

    assert_eq!(root.send("suspend bob 10 again"), "Suspend successfully.");
    assert_eq!(root.send("unsuspend bob"), "Unsuspend successfully.");
    assert_eq!(root.send("unsuspend ghost"), "User does not exist.");
    assert_eq!(server.plain().send(&format!("login bob {PASSWORD}")), "Welcome, bob.");

    assert_eq!(root.send("purge-user-posts ghost spam"), "User does not exist.");
    assert_eq!(root.send("purge-user-posts bob spam wave"), "Purge successfully: 3 posts moved to the recycle bin.");
    assert_eq!(first_cells(&ann.send("list-post b")), ["4"]);
    assert_eq!(rows(&root.send("list-recycle b")).len(), 3);
}

/// A board too big to list whole is written in pieces: its pinned posts
/// still come first, the columns as wide as every row needs, byte for byte
/// the one table of all rows, in both dialects.
#[test]
fn pins_lead_a_listing_written_in_pieces() {
    use bbs_storage::NewPost;
    use bbs_storage_sqlite::bulk::BulkLoader;
    let (_dir, db) = database_with_users(&["owner".to_owned()], PASSWORD);
    let n = bbs_storage_sqlite::WHOLE_LISTING + 250;
    let created_at = 1_700_000_000;
    let mut loader = BulkLoader::open(&db).unwrap();
    loader.boards([("big", "owner")]).unwrap();
    let title =
        |i: usize| if i == 1100 { "置頂公告置頂公告置頂公告".to_owned() } else { format!("Post {i}") };
    loader
        .posts((1..=n).map(|i| NewPost {
            board: "big".into(),
            author: "owner".into(),
            title: title(i),
            content: "c".into(),
            created_at,
        }))
        .unwrap();
    loader.finish().unwrap();
    let server = TestServer::start_on(&db, Config::default());
    let mut owner = login(&server, "owner");
    for id in [1100, 7] {
        assert_eq!(owner.send(&format!("pin-post {id}")), "Pin successfully.");
    }
    let date = chrono::Local.timestamp_opt(created_at, 0).unwrap().format("%m/%d").to_string();
    let row = |i: usize, cell: String| vec![cell, title(i), "owner".to_owned(), date.clone()];
    let rows: Vec<Vec<String>> = [1100, 7]
        .into_iter()
        .map(|i| row(i, format!("★{i}")))
        .chain((1..=n).filter(|i| *i != 1100 && *i != 7).map(|i| row(i, i.to_string())))
        .collect();
    let expected = bbs_protocol::table::format_table(&["S/N", "Title", "Author", "Date"], &rows);
    assert_eq!(owner.send("list-post big"), expected);
    assert_eq!(server.client().call("list-post big").text, expected);
}
