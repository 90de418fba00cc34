//! Every answer of who-is-online, instant messages, shared accounts and
//! mail, byte for byte, over real sockets (as telnet would), with the
//! limits that guard them.

use std::time::Duration;

use bbs_server::{Config, Rate};
use bbs_testkit::{database_with_users, PlainClient, TestServer};

const PASSWORD: &str = "pw";

/// A server whose users (cheap hashes) are `names`.
fn server_with(names: &[&str], config: Config) -> (tempfile::TempDir, TestServer) {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let (dir, db) = database_with_users(&names, PASSWORD);
    (dir, TestServer::start_on(&db, config))
}

fn login(server: &TestServer, name: &str) -> PlainClient {
    let mut p = server.plain();
    assert_eq!(p.send(&format!("login {name} {PASSWORD}")), format!("Welcome, {name}."));
    p
}

/// The next push on a plain connection: exactly `\r\n<text>\r\n% `.
fn expect_push(p: &mut PlainClient, text: &str) {
    use std::io::Read;
    let expected = format!("\r\n{text}\r\n% ");
    let mut got = vec![0; expected.len()];
    p.stream().read_exact(&mut got).expect("a push");
    assert_eq!(String::from_utf8_lossy(&got), expected);
}

#[test]
fn list_online_shows_every_session_sorted_with_addresses_and_idle_time() {
    let (_dir, server) = server_with(&["bob", "Alice", "carl"], Config::default());
    let mut anonymous = server.plain();
    assert_eq!(anonymous.send("list-online"), "Please login first.");
    let mut bob = login(&server, "bob");
    assert_eq!(bob.send("list-online x"), "Usage: list-online");
    let _bob_again = login(&server, "bob");
    let _alice = login(&server, "Alice");
    let _carl = login(&server, "carl");
    let own = bob.stream().local_addr().unwrap().to_string();
    let again = _bob_again.stream().local_addr().unwrap().to_string();
    let table = bob.send("list-online");
    let rows: Vec<Vec<&str>> = table.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(
        rows,
        vec![
            vec!["Name", "From", "Idle"],
            vec!["Alice", "127.0.*.*", "0m"],
            vec!["bob", own.as_str(), "0m"],
            vec!["bob", again.as_str(), "0m"],
            vec!["carl", "127.0.*.*", "0m"],
        ],
        "{table}"
    );
    // Columns line up: each cell starts where its header does.
    let from_column = table.lines().next().unwrap().find("From").unwrap();
    assert!(table.lines().all(|l| l[from_column..].split_whitespace().count() == 2), "{table}");
}

#[test]
fn tell_answers_in_order_of_the_checks() {
    let (_dir, server) = server_with(&["ann", "bob", "cy"], Config::default());
    let mut anonymous = server.plain();
    assert_eq!(anonymous.send("tell bob hi"), "Please login first.");
    assert_eq!(anonymous.send("tell bob"), "Usage: tell <username> <message>");
    let mut ann = login(&server, "ann");
    assert_eq!(ann.send("tell"), "Usage: tell <username> <message>");
    assert_eq!(ann.send("tell nobody hi"), "nobody does not exist.");
    assert_eq!(ann.send("tell ann hi"), "ann is yourself.");
    assert_eq!(ann.send("tell bob  hi  there "), "bob is not online; the message waits for the next login.");
    let mut bob = server.plain();
    assert_eq!(bob.send("login bob pw"), "Welcome, bob.\nYou have 1 message(s) waiting:\nann told you: hi  there");
    assert_eq!(ann.send("tell bob  hi  again "), "", "nothing is printed to the sender");
    expect_push(&mut bob, "ann told you: hi  again");
    assert_eq!(bob.send("mute"), "Mute mode.");
    assert_eq!(ann.send("tell bob hello?"), "bob is in mute mode.");
    // Muted and offline: nothing is kept either.
    assert_eq!(bob.send("logout"), "Bye, bob.");
    assert_eq!(ann.send("tell bob later"), "bob is in mute mode.");
    let mut bob = server.plain();
    assert_eq!(bob.send("login bob pw"), "Welcome, bob.");
}

#[test]
fn yell_reaches_every_other_unmuted_session() {
    let (_dir, server) = server_with(&["ann", "bob", "cy"], Config::default());
    let mut anonymous = server.plain();
    assert_eq!(anonymous.send("yell hi"), "Please login first.");
    let mut ann = login(&server, "ann");
    let mut bob = login(&server, "bob");
    let mut cy = login(&server, "cy");
    assert_eq!(ann.send("yell"), "Usage: yell <message>");
    assert_eq!(ann.send("yell   "), "Usage: yell <message>");
    assert_eq!(cy.send("mute"), "Mute mode.");
    assert_eq!(ann.send("yell  hello  everybody "), "");
    expect_push(&mut bob, "ann: hello  everybody");
    // cy was muted: the next thing cy sees is the message sent after unmute.
    assert_eq!(cy.send("unmute"), "Unmute mode.");
    assert_eq!(bob.send("yell back"), "");
    expect_push(&mut cy, "bob: back");
    expect_push(&mut ann, "bob: back");
}

#[test]
fn mute_and_unmute_answers() {
    let (_dir, server) = server_with(&["ann"], Config::default());
    let mut p = server.plain();
    assert_eq!(p.send("mute"), "Please login first.");
    assert_eq!(p.send("unmute"), "Please login first.");
    assert_eq!(p.send("mute x"), "Usage: mute");
    assert_eq!(p.send("unmute x"), "Usage: unmute");
    assert_eq!(p.send("login ann pw"), "Welcome, ann.");
    assert_eq!(p.send("unmute"), "You are already in unmute mode.");
    assert_eq!(p.send("mute"), "Mute mode.");
    assert_eq!(p.send("mute"), "You are already in mute mode.");
    assert_eq!(p.send("unmute"), "Unmute mode.");
    assert_eq!(p.send("unmute"), "You are already in unmute mode.");
}

#[test]
fn message_limits_have_clear_answers() {
    let config = Config {
        max_message: 10,
        tell_rate: Rate::new(3, Duration::from_secs(600)),
        yell_rate: Rate::new(1, Duration::from_secs(600)),
        max_waiting_messages: 2,
        ..Config::default()
    };
    let (_dir, server) = server_with(&["ann", "bob", "cy"], config);
    let mut ann = login(&server, "ann");
    assert_eq!(ann.send("tell bob 12345678901"), "Message too long: at most 10 bytes.");
    assert_eq!(ann.send("yell 12345678901"), "Message too long: at most 10 bytes.");
    assert_eq!(ann.send("tell bob one"), "bob is not online; the message waits for the next login.");
    assert_eq!(ann.send("tell bob two"), "bob is not online; the message waits for the next login.");
    assert_eq!(ann.send("tell bob three"), "bob has too many messages waiting; please try again later.");
    let refused = ann.send("tell bob four");
    assert!(
        refused.starts_with("Too many messages: please wait ") && refused.ends_with(" seconds before the next one.")
    );
    assert_eq!(ann.send("yell once"), "");
    assert!(ann.send("yell twice").starts_with("Too many messages: please wait "));
    // Another user's rate is their own.
    let mut cy = login(&server, "cy");
    assert_eq!(cy.send("tell ann hi"), "");
    expect_push(&mut ann, "cy told you: hi");
}

#[test]
fn shared_account_answers() {
    let (_dir, server) = server_with(&["ann"], Config::default());
    let mut p = server.plain();
    assert_eq!(p.send("show-accounts"), "ACCOUNT1: 0\nACCOUNT2: 0");
    assert_eq!(p.send("deposit ACCOUNT1 5"), "Please login first.");
    assert_eq!(p.send("withdraw ACCOUNT1 5"), "Please login first.");
    assert_eq!(p.send("deposit ACCOUNT1"), "Usage: deposit <account> <money>");
    assert_eq!(p.send("withdraw ACCOUNT1 1 2"), "Usage: withdraw <account> <money>");
    assert_eq!(p.send("login ann pw"), "Welcome, ann.");
    for bad in ["0", "-5", "+5", "1_000", "2.5", "ten"] {
        assert_eq!(p.send(&format!("deposit ACCOUNT1 {bad}")), format!("{bad} should be a positive integer."));
        assert_eq!(p.send(&format!("withdraw ACCOUNT1 {bad}")), format!("{bad} should be a positive integer."));
    }
    assert_eq!(p.send("deposit ACCOUNT1 1000000000001"), "1000000000001 is too much: at most 1000000000000 at a time.");
    assert_eq!(p.send("deposit account1 5"), "account1 does not exist.");
    assert_eq!(p.send("withdraw ACCOUNT3 5"), "ACCOUNT3 does not exist.");
    assert_eq!(p.send("deposit ACCOUNT1 1000000000000"), "Successfully deposits 1000000000000 into ACCOUNT1.");
    assert_eq!(p.send("deposit ACCOUNT2 300"), "Successfully deposits 300 into ACCOUNT2.");
    assert_eq!(p.send("withdraw ACCOUNT2 301"), "Withdraw excess money from accounts.");
    assert_eq!(p.send("withdraw ACCOUNT2 300"), "Successfully withdraws 300 from ACCOUNT2.");
    assert_eq!(p.send("withdraw ACCOUNT2 1"), "Withdraw excess money from accounts.");
    assert_eq!(p.send("show-accounts"), "ACCOUNT1: 1000000000000\nACCOUNT2: 0");
}

/// `Date: MM/DD`.
fn is_month_day(date: &str) -> bool {
    let b = date.as_bytes();
    b.len() == 5 && b[2] == b'/' && [0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit())
}

#[test]
fn mail_answers() {
    let config = Config { max_mailbox: 3, ..Config::default() };
    let (_dir, server) = server_with(&["ann", "bob"], config);
    let mut p = server.plain();
    let usage = "Usage: mail-to <username> --subject <subject> --content <content>";
    assert_eq!(p.send("mail-to bob --subject s --content c"), "Please login first.");
    assert_eq!(p.send("mail-to bob --subject s"), usage);
    assert_eq!(p.send("list-mail"), "Please login first.");
    assert_eq!(p.send("list-mail x"), "Usage: list-mail");
    assert_eq!(p.send("retr-mail 1"), "Please login first.");
    assert_eq!(p.send("retr-mail"), "Usage: retr-mail <mail#>");
    assert_eq!(p.send("delete-mail 1"), "Please login first.");
    assert_eq!(p.send("delete-mail x"), "Usage: delete-mail <mail#>");
    assert_eq!(p.send("login ann pw"), "Welcome, ann.");
    assert_eq!(p.send("mail-to nobody --subject s --content c"), "nobody does not exist.");
    assert_eq!(p.send("mail-to bob --subject Hello  Bob --content Line one<br>Line two"), "Sent successfully.");
    assert_eq!(p.send("mail-to bob --content Second body --subject Second"), "Sent successfully.");
    assert_eq!(p.send("mail-to bob --subject Third --content 3"), "Sent successfully.");
    assert_eq!(p.send("mail-to bob --subject Fourth --content 4"), "bob's mailbox is full.");
    assert_eq!(p.send("list-mail"), "ID  Subject  From  Date");
    assert_eq!(p.send("logout"), "Bye, ann.");

    assert_eq!(p.send("login bob pw"), "Welcome, bob.\nYou have 3 new mail(s).");
    let list = p.send("list-mail");
    let date = &list[list.len() - 5..];
    assert!(is_month_day(date), "{list}");
    assert_eq!(
        list,
        format!(
            "ID  Subject     From  Date\n\
             1   Hello  Bob  ann   {date}\n\
             2   Second      ann   {date}\n\
             3   Third       ann   {date}"
        )
    );
    assert!(list.contains("Hello  Bob"), "the subject keeps its spaces: {list}");
    let mail = p.send("retr-mail 1");
    let lines: Vec<&str> = mail.lines().collect();
    assert_eq!(lines[0], "Subject: Hello  Bob");
    assert_eq!(lines[1], "From: ann");
    assert!(lines[2].starts_with("Date: ") && is_month_day(&lines[2]["Date: ".len()..]), "{mail}");
    assert_eq!(lines[3..], ["--", "Line one", "Line two"]);
    assert_eq!(p.send("retr-mail 4"), "No such mail.");
    assert_eq!(p.send("retr-mail 0"), "No such mail.");
    assert_eq!(p.send("delete-mail 4"), "No such mail.");
    assert_eq!(p.send("delete-mail 1"), "Mail deleted.");
    // Positions: the later mails moved up by one.
    assert!(p.send("retr-mail 1").starts_with("Subject: Second\n"));
    assert_eq!(p.send("delete-mail 3"), "No such mail.");
    assert_eq!(p.send("logout"), "Bye, bob.");
    // Only the never-read one is new.
    assert_eq!(p.send("login bob pw"), "Welcome, bob.\nYou have 1 new mail(s).");
}

/// The limits are `bbsd` flags: the real binary takes and applies them.
#[test]
fn the_social_limits_are_bbsd_flags() {
    let names: Vec<String> = ["ann", "bob"].iter().map(|n| (*n).to_owned()).collect();
    let (_dir, db) = database_with_users(&names, PASSWORD);
    let flags = [
        "--max-message",
        "5",
        "--tell-rate",
        "2/60",
        "--yell-rate",
        "1/60",
        "--max-waiting-messages",
        "1",
        "--max-mailbox",
        "1",
    ];
    let server = bbs_testkit::BbsdProcess::start(std::path::Path::new(env!("CARGO_BIN_EXE_bbsd")), &db, &flags);
    let mut p = PlainClient::connect(server.addr);
    assert_eq!(p.send("login ann pw"), "Welcome, ann.");
    assert_eq!(p.send("tell bob 123456"), "Message too long: at most 5 bytes.");
    assert_eq!(p.send("tell bob one"), "bob is not online; the message waits for the next login.");
    assert_eq!(p.send("tell bob two"), "bob has too many messages waiting; please try again later.");
    assert!(p.send("tell bob three").starts_with("Too many messages: please wait "));
    assert_eq!(p.send("yell hi"), "");
    assert!(p.send("yell hi").starts_with("Too many messages: please wait "));
    assert_eq!(p.send("mail-to bob --subject a --content b"), "Sent successfully.");
    assert_eq!(p.send("mail-to bob --subject a --content b"), "bob's mailbox is full.");
}
