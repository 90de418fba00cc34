//! Subscriptions (`subscribe`, `unsubscribe`, `list-sub`) and the
//! notifications of new posts: live to online subscribers, once per post,
//! never to the author, and at the next login for whoever was offline.

use std::io::Read;

use bbs_protocol::Push;
use bbs_server::Config;
use bbs_testkit::{DialectClient, PlainClient, TestServer};

fn user(server: &TestServer, name: &str) -> DialectClient {
    let mut c = server.client();
    assert_eq!(c.call(&format!("register {name} {name}@x pw")).text, "Register successfully.");
    assert_eq!(c.call(&format!("login {name} pw")).text, format!("Welcome, {name}."));
    c
}

fn post(c: &mut DialectClient, board: &str, title: &str) {
    assert_eq!(c.call(&format!("create-post {board} --title {title} --content c")).text, "Create post successfully.");
}

fn ok(c: &mut DialectClient, line: &str) {
    assert_eq!(c.call(line).text, "Subscribe successfully.", "{line}");
}

#[test]
fn every_answer_of_subscribe_unsubscribe_and_list_sub() {
    let server = TestServer::start_with(Config { max_subscriptions: 5, max_keyword: 20, ..Config::default() });
    let mut guest = server.client();
    let cases = [
        ("subscribe --board NP --keyword hw", "Please login first."),
        ("subscribe --author ann --keyword hw", "Please login first."),
        ("unsubscribe --board NP", "Please login first."),
        ("unsubscribe --author ann", "Please login first."),
        ("list-sub", "Please login first."),
        // Usage comes before login.
        ("subscribe", "Usage: subscribe --board <board-name> --keyword <keyword>"),
        ("subscribe --board NP", "Usage: subscribe --board <board-name> --keyword <keyword>"),
        ("subscribe --author ann", "Usage: subscribe --author <author-name> --keyword <keyword>"),
        ("subscribe --author ann --keyword", "Usage: subscribe --author <author-name> --keyword <keyword>"),
        ("subscribe --author a b --keyword k", "Usage: subscribe --author <author-name> --keyword <keyword>"),
        (
            "subscribe --board NP --author ann --keyword k",
            "Usage: subscribe --author <author-name> --keyword <keyword>",
        ),
        ("subscribe NP --keyword k", "Usage: subscribe --board <board-name> --keyword <keyword>"),
        ("unsubscribe", "Usage: unsubscribe --board <board-name>"),
        ("unsubscribe --board", "Usage: unsubscribe --board <board-name>"),
        ("unsubscribe --author", "Usage: unsubscribe --author <author-name>"),
        ("unsubscribe --author a b", "Usage: unsubscribe --author <author-name>"),
        ("list-sub all", "Usage: list-sub"),
    ];
    for (line, expected) in cases {
        assert_eq!(guest.call(line).text, expected, "{line}");
    }

    let mut cy = user(&server, "cy");
    // Neither the board nor the author needs to exist; the keyword is the
    // rest of the line, inner spaces kept; flags in either order.
    ok(&mut cy, "subscribe --board NP --keyword hw  due");
    ok(&mut cy, "subscribe --keyword 作業 --board NP");
    ok(&mut cy, "subscribe --author ann --keyword 50%_off");
    assert_eq!(cy.call("subscribe --board NP --keyword HW  DUE").text, "Already subscribed.");
    assert_eq!(cy.call("subscribe --author ann --keyword 50%_off").text, "Already subscribed.");
    ok(&mut cy, "subscribe --author NP --keyword hw  due");
    assert_eq!(
        cy.call("subscribe --board OS --keyword this keyword is far too long").text,
        "Keyword too long: at most 20 bytes."
    );
    ok(&mut cy, "subscribe --board OS --keyword x");
    assert_eq!(
        cy.call("subscribe --board OS --keyword y").text,
        "Too many subscriptions: at most 5 keywords. Unsubscribe from something first."
    );
    assert_eq!(
        cy.call("list-sub").text,
        "Type    Name  Keyword\n\
         board   NP    hw  due\n\
         board   NP    作業\n\
         author  ann   50%_off\n\
         author  NP    hw  due\n\
         board   OS    x"
    );
    assert_eq!(cy.call("unsubscribe --author bob").text, "You haven't subscribed bob.");
    assert_eq!(cy.call("unsubscribe --board ann").text, "You haven't subscribed ann.");
    assert_eq!(cy.call("unsubscribe --board NP").text, "Unsubscribe successfully.");
    assert_eq!(cy.call("unsubscribe --board NP").text, "You haven't subscribed NP.");
    assert_eq!(
        cy.call("list-sub").text,
        "Type    Name  Keyword\nauthor  ann   50%_off\nauthor  NP    hw  due\nboard   OS    x"
    );
    let mut dan = user(&server, "dan");
    assert_eq!(dan.call("list-sub").text, "Type  Name  Keyword");
}

#[test]
fn subscriptions_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bbs.db");
    {
        let server = TestServer::start_on(&db, Config::default());
        let mut cy = user(&server, "cy");
        ok(&mut cy, "subscribe --author ann --keyword exam");
    }
    let server = TestServer::start_on(&db, Config::default());
    let mut cy = server.client();
    cy.call("login cy pw");
    assert_eq!(cy.call("list-sub").text, "Type    Name  Keyword\nauthor  ann   exam");
}

#[test]
fn an_online_subscriber_is_told_once_per_post_and_the_author_never() {
    let server = TestServer::start();
    let mut ann = user(&server, "ann");
    let mut cy = user(&server, "cy");
    ann.call("create-board NP");
    // Two subscriptions of cy match every post below: the board and the author.
    ok(&mut cy, "subscribe --board NP --keyword hw");
    ok(&mut cy, "subscribe --board NP --keyword HW1");
    ok(&mut cy, "subscribe --author ann --keyword hw");
    ok(&mut cy, "subscribe --author bob --keyword 作業");
    // The author follows her own board: she must not hear of her own post.
    ok(&mut ann, "subscribe --board NP --keyword hw");

    post(&mut ann, "NP", "HW1 is out");
    assert_eq!(cy.push(), Push::new("*[NP] HW1 is out - by ann*"));
    let mut bob = user(&server, "bob");
    post(&mut bob, "NP", "網路程式設計作業 hw");
    // Had the first post been announced twice, the copy would come first.
    assert_eq!(cy.push(), Push::new("*[NP] 網路程式設計作業 hw - by bob*"));
    assert_eq!(ann.push(), Push::new("*[NP] 網路程式設計作業 hw - by bob*"), "ann is told of bob's post only");
    // A post matching nobody's keyword is announced to nobody.
    post(&mut bob, "NP", "Lunch");
    assert_eq!(server.push("cy", "marker"), 1);
    assert_eq!(cy.push(), Push::new("marker"));
    assert!(cy.pushes.is_empty() && ann.pushes.is_empty());
    // Seen live means not missed: nothing waits at the next login.
    assert_eq!(cy.call("logout").text, "Bye, cy.");
    assert_eq!(cy.call("login cy pw").text, "Welcome, cy.");
}

#[test]
fn a_telnet_subscriber_sees_the_notification_on_its_own_line_then_the_prompt() {
    let server = TestServer::start();
    let mut ann = user(&server, "ann");
    ann.call("create-board NP");
    let mut cy = PlainClient::connect(server.addr);
    assert_eq!(cy.send("register cy cy@x pw"), "Register successfully.");
    assert_eq!(cy.send("login cy pw"), "Welcome, cy.");
    assert_eq!(cy.send("subscribe --board NP --keyword exam"), "Subscribe successfully.");
    post(&mut ann, "NP", "Final EXAM room");
    let expected = "\r\n*[NP] Final EXAM room - by ann*\r\n% ";
    let mut got = vec![0u8; expected.len()];
    cy.stream().read_exact(&mut got).unwrap();
    assert_eq!(String::from_utf8_lossy(&got), expected);
    assert_eq!(cy.send("whoami"), "cy");
}

#[test]
fn notifications_missed_while_offline_are_shown_once_at_the_next_login() {
    let server = TestServer::start();
    let mut ann = user(&server, "ann");
    ann.call("create-board NP");
    let mut cy = user(&server, "cy");
    ok(&mut cy, "subscribe --board NP --keyword hw");
    ok(&mut cy, "subscribe --author ann --keyword 作業");
    assert_eq!(cy.call("logout").text, "Bye, cy.");
    post(&mut ann, "NP", "HW2 作業");
    post(&mut ann, "NP", "Lunch");
    ann.call("create-board OS");
    post(&mut ann, "OS", "OS 作業");
    assert_eq!(
        cy.call("login cy pw").text,
        "Welcome, cy.\nYou have 2 new notification(s):\n*[NP] HW2 作業 - by ann*\n*[OS] OS 作業 - by ann*"
    );
    assert!(cy.pushes.is_empty(), "missed ones are not pushed as well");
    assert_eq!(cy.call("logout").text, "Bye, cy.");
    assert_eq!(cy.call("login cy pw").text, "Welcome, cy.", "shown once");
}

#[test]
fn a_long_absence_shows_the_latest_hundred_and_how_many_there_were() {
    let server = TestServer::start();
    let mut ann = user(&server, "ann");
    ann.call("create-board NP");
    let mut cy = user(&server, "cy");
    ok(&mut cy, "subscribe --board NP --keyword news");
    cy.call("logout");
    for n in 1..=103 {
        post(&mut ann, "NP", &format!("news {n}"));
    }
    let text = cy.call("login cy pw").text;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 102);
    assert_eq!(lines[0], "Welcome, cy.");
    assert_eq!(lines[1], "You have 103 new notification(s); the latest 100:");
    assert_eq!(lines[2], "*[NP] news 4 - by ann*");
    assert_eq!(lines[101], "*[NP] news 103 - by ann*");
}
