//! Keyword filters (`list-board ##<key>`, `list-post <board> ##<key>`) and
//! full-text search (`search <words>`), over the real server.

use bbs_server::Config;
use bbs_testkit::{DialectClient, TestServer};

fn today() -> String {
    chrono::Local::now().format("%m/%d").to_string()
}

fn user(server: &TestServer, name: &str) -> DialectClient {
    let mut c = server.client();
    assert_eq!(c.call(&format!("register {name} {name}@x pw")).text, "Register successfully.");
    assert_eq!(c.call(&format!("login {name} pw")).text, format!("Welcome, {name}."));
    c
}

fn post(c: &mut DialectClient, board: &str, title: &str, content: &str) {
    assert_eq!(
        c.call(&format!("create-post {board} --title {title} --content {content}")).text,
        "Create post successfully."
    );
}

#[test]
fn list_board_with_a_key_keeps_the_real_indexes_and_matches_literally_in_any_case() {
    let server = TestServer::start();
    let mut ann = user(&server, "ann");
    for board in ["NP_HW", "np-test", "OS", "100%_sure", "10x0", "網路程式"] {
        assert_eq!(ann.call(&format!("create-board {board}")).text, "Create board successfully.");
    }
    let cases = [
        ("list-board ##np", "Index  Name     Moderator\n1      NP_HW    ann\n2      np-test  ann"),
        ("list-board ##P_h", "Index  Name   Moderator\n1      NP_HW  ann"),
        // `%` and `_` are characters, not patterns.
        ("list-board ##%", "Index  Name       Moderator\n4      100%_sure  ann"),
        ("list-board ##0_", "Index  Name  Moderator"),
        ("list-board ##_", "Index  Name       Moderator\n1      NP_HW      ann\n4      100%_sure  ann"),
        ("list-board ##程式", "Index  Name      Moderator\n6      網路程式  ann"),
        ("list-board ##nothing", "Index  Name  Moderator"),
    ];
    for (line, expected) in cases {
        assert_eq!(ann.call(line).text, expected, "{line}");
    }
    // An empty key lists everything, as `list-board` does.
    let all = ann.call("list-board").text;
    assert_eq!(ann.call("list-board ##").text, all);
    assert_eq!(all.lines().count(), 7);
    // Anyone may list, as without a key; a word without `##` is malformed.
    let mut guest = server.client();
    assert_eq!(guest.call("list-board ##os").text, "Index  Name  Moderator\n3      OS    ann");
    assert_eq!(guest.call("list-board os").text, "Usage: list-board");
}

#[test]
fn list_post_with_a_key_keeps_the_real_serial_numbers() {
    let server = TestServer::start();
    let mut ann = user(&server, "ann");
    ann.call("create-board NP");
    ann.call("create-board OS");
    post(&mut ann, "NP", "HW1 is out", "x");
    post(&mut ann, "OS", "hw1 on OS", "x");
    post(&mut ann, "NP", "Lunch", "x");
    post(&mut ann, "NP", "About hw2", "x");
    post(&mut ann, "NP", "50%_off", "x");
    post(&mut ann, "NP", "網路程式設計作業", "x");
    let d = today();
    let cases = [
        (
            "list-post NP ##HW",
            format!("S/N  Title       Author  Date\n1    HW1 is out  ann     {d}\n4    About hw2   ann     {d}"),
        ),
        ("list-post NP ##%_", format!("S/N  Title    Author  Date\n5    50%_off  ann     {d}")),
        ("list-post NP ##1_", "S/N  Title  Author  Date".to_owned()),
        ("list-post NP ##作業", format!("S/N  Title             Author  Date\n6    網路程式設計作業  ann     {d}")),
        ("list-post NP ##is out", format!("S/N  Title       Author  Date\n1    HW1 is out  ann     {d}")),
        ("list-post NP ##zzz", "S/N  Title  Author  Date".to_owned()),
        ("list-post NCTU ##HW", "Board does not exist.".to_owned()),
        ("list-post ##HW", "Board does not exist.".to_owned()),
        ("list-post NP HW", "Usage: list-post <board-name>".to_owned()),
    ];
    for (line, expected) in cases {
        assert_eq!(ann.call(line).text, expected, "{line}");
    }
    assert_eq!(ann.call("list-post NP ##").text, ann.call("list-post NP").text);
}

#[test]
fn search_finds_every_word_in_title_or_content_newest_first() {
    let server = TestServer::start();
    let mut ann = user(&server, "ann");
    let mut bob = user(&server, "bob");
    ann.call("create-board NP");
    ann.call("create-board OS");
    post(&mut ann, "NP", "網路程式設計作業", "Deadline friday");
    post(&mut bob, "OS", "Scheduler", "Homework for FRIDAY: 作業系統");
    post(&mut bob, "NP", "Lunch", "nothing here");
    let d = today();
    let cases = [
        ("search", "Usage: search <words>".to_owned()),
        (
            "search 作業",
            format!(
                "S/N  Board  Title             Author  Date\n\
                 2    OS     Scheduler         bob     {d}\n\
                 1    NP     網路程式設計作業  ann     {d}"
            ),
        ),
        (
            "search 程式設計",
            format!("S/N  Board  Title             Author  Date\n1    NP     網路程式設計作業  ann     {d}"),
        ),
        ("search friday homework", format!("S/N  Board  Title      Author  Date\n2    OS     Scheduler  bob     {d}")),
        ("search 設計網路", "S/N  Board  Title  Author  Date".to_owned()),
        ("search 100%", "S/N  Board  Title  Author  Date".to_owned()),
    ];
    for (line, expected) in cases {
        assert_eq!(ann.call(line).text, expected, "{line}");
    }
    // The index follows edits and deletions; anyone may search.
    assert_eq!(bob.call("update-post 3 --title Friday lunch").text, "Update successfully.");
    assert_eq!(bob.call("delete-post 2").text, "Delete successfully.");
    let mut guest = server.client();
    assert_eq!(
        guest.call("search friday").text,
        format!(
            "S/N  Board  Title             Author  Date\n\
             3    NP     Friday lunch      bob     {d}\n\
             1    NP     網路程式設計作業  ann     {d}"
        )
    );
}

#[test]
fn search_answers_at_most_fifty_rows_and_limits_its_words() {
    let server = TestServer::start_with(Config { max_search_words: 3, ..Config::default() });
    let mut ann = user(&server, "ann");
    ann.call("create-board NP");
    for n in 1..=55 {
        post(&mut ann, "NP", &format!("common {n}"), "x");
    }
    let answer = ann.call("search common").text;
    let lines: Vec<&str> = answer.lines().collect();
    assert_eq!(lines.len(), 51, "a header and 50 rows");
    assert!(lines[1].starts_with("55   NP     common 55"), "{}", lines[1]);
    assert!(lines[50].starts_with("6    NP     common 6"), "{}", lines[50]);
    assert_eq!(ann.call("search a b c d").text, "Too many words: search takes at most 3.");
}
