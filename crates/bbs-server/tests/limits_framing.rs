//! Issue 5, framing: over-long lines, invalid UTF-8, commands split into
//! single bytes or packed into one write, and control characters, all over
//! real sockets against the real server.

use std::io::Write;
use std::time::{Duration, Instant};

use bbs_server::Config;
use bbs_testkit::TestServer;

const TOO_LONG_1K: &str = "Error: line too long (the limit is 1024 bytes); it was ignored.";
const BAD_UTF8: &str = "Error: the line is not valid UTF-8; it was ignored.";

fn small_lines() -> TestServer {
    TestServer::start_with(Config { max_line: 1024, ..Config::default() })
}

#[test]
fn an_over_long_line_and_the_next_command_in_one_write_get_two_answers() {
    let server = small_lines();
    let mut p = server.plain();
    let mut bytes = vec![b'x'; 5000];
    bytes.extend_from_slice(b"\r\nwhoami\r\n");
    p.write_raw(&bytes);
    assert_eq!(p.answer(), TOO_LONG_1K);
    assert_eq!(p.answer(), "Please login first.");
    assert_eq!(p.send("list-board"), "Index  Name  Moderator");
}

#[test]
fn an_over_long_line_is_refused_at_once_and_its_trickling_rest_is_skipped() {
    let server = small_lines();
    let mut p = server.plain();
    p.stream().set_nodelay(true).unwrap();
    // No line break yet: the error must come before the line ends.
    p.write_raw(&vec![b'y'; 1100]);
    assert_eq!(p.answer(), TOO_LONG_1K);
    for _ in 0..20 {
        p.write_raw(&[b'z'; 100]);
        p.stream().try_clone().unwrap().flush().unwrap();
    }
    p.write_raw(b"still the same line\r\nwhoami\r\n");
    // The rest of the long line gets no answer of its own.
    assert_eq!(p.answer(), "Please login first.");
}

#[test]
fn lines_up_to_the_default_64_kib_are_accepted_and_longer_ones_refused() {
    let server = TestServer::start();
    let mut p = server.plain();
    assert_eq!(p.send("register u u@x pw"), "Register successfully.");
    assert_eq!(p.send("login u pw"), "Welcome, u.");
    assert_eq!(p.send("create-board b"), "Create board successfully.");
    let prefix = "create-post b --title t --content ";
    let fits = format!("{prefix}{}", "c".repeat(65_536 - prefix.len()));
    assert_eq!(fits.len(), 65_536);
    assert_eq!(p.send(&fits), "Create post successfully.");
    let read = p.send("read 1");
    assert!(read.ends_with(&format!("--\n{}\n--", "c".repeat(65_536 - prefix.len()))), "{}", &read[..80]);
    let too_long = format!("{fits}c");
    assert_eq!(p.send(&too_long), "Error: line too long (the limit is 65536 bytes); it was ignored.");
    assert_eq!(p.send("whoami"), "u");
}

#[test]
fn invalid_utf8_gets_a_clear_error_and_the_session_goes_on() {
    let server = small_lines();
    let mut p = server.plain();
    assert_eq!(p.send("register u u@x pw"), "Register successfully.");
    assert_eq!(p.send("login u pw"), "Welcome, u.");
    p.write_raw(b"create-board caf\xc3\x28\r\n");
    assert_eq!(p.answer(), BAD_UTF8);
    p.write_raw(b"\xed\xa0\x80\n");
    assert_eq!(p.answer(), BAD_UTF8);
    assert_eq!(p.send("whoami"), "u");
    assert_eq!(p.send("list-board"), "Index  Name  Moderator");
}

#[test]
fn a_command_sent_one_byte_at_a_time_is_answered() {
    let server = small_lines();
    let mut p = server.plain();
    p.stream().set_nodelay(true).unwrap();
    for line in ["register bytewise b@x pw\r\n", "login bytewise pw\n", "whoami\r\n"] {
        for byte in line.as_bytes() {
            p.write_raw(&[*byte]);
        }
        // Each command's answer: read after its last byte.
        let answer = p.answer();
        match line.split(' ').next().unwrap().trim() {
            "register" => assert_eq!(answer, "Register successfully."),
            "login" => assert_eq!(answer, "Welcome, bytewise."),
            _ => assert_eq!(answer, "bytewise"),
        }
    }
}

#[test]
fn several_commands_in_one_write_are_all_answered_in_order() {
    let server = small_lines();
    let mut p = server.plain();
    p.write_raw(
        b"register a a@x pw\r\nlogin a pw\nwhoami\r\ncreate-board b1\r\n\r\ncreate-board b1\nlist-board\r\nbogus\r\n",
    );
    assert_eq!(p.answer(), "Register successfully.");
    assert_eq!(p.answer(), "Welcome, a.");
    assert_eq!(p.answer(), "a");
    assert_eq!(p.answer(), "Create board successfully.");
    assert_eq!(p.answer(), "", "an empty line just shows the prompt again");
    assert_eq!(p.answer(), "Board already exists.");
    assert_eq!(p.answer(), "Index  Name  Moderator\n1      b1    a");
    assert_eq!(p.answer(), "Unknown command: bogus");
}

#[test]
fn control_characters_never_reach_stored_text() {
    let server = small_lines();
    let mut p = server.plain();
    assert_eq!(p.send("register a a@x pw"), "Register successfully.");
    assert_eq!(p.send("login a pw"), "Welcome, a.");
    assert_eq!(p.send("create-board b"), "Create board successfully.");
    // ESC sequences (clear screen, colours), BEL, backspace, DEL, C1 CSI.
    assert_eq!(
        p.send("create-post b --title \x1b[2JHi\x07 there\x08 --content Red\x1b[31m<br>text\x7f\u{9b}2J end"),
        "Create post successfully."
    );
    assert_eq!(p.send("comment 1 nice\x1b]0;pwned\x07 post"), "Comment successfully.");
    assert_eq!(p.send("update-post 1 --title \x1b[1mBold\x1b[0m title"), "Update successfully.");
    let read = p.send("read 1");
    assert!(!read.chars().any(|c| c.is_control() && c != '\n'), "{read:?}");
    let lines: Vec<&str> = read.lines().collect();
    assert_eq!(lines[0], "Author: a");
    assert_eq!(lines[1], "Title: [1mBold[0m title");
    assert_eq!(&lines[3..], ["--", "Red[31m", "text2J end", "--", "a: nice]0;pwned post"]);
    // The client dialect stores the same.
    let mut c = server.client();
    assert_eq!(c.call("read 1").text, read);
}

#[test]
fn an_answer_comes_quickly_after_a_stream_of_garbage() {
    // Many over-long lines in a row cost no more than skipping them.
    let server = small_lines();
    let mut p = server.plain();
    let started = Instant::now();
    let mut garbage = Vec::new();
    for _ in 0..200 {
        garbage.extend_from_slice(&[b'g'; 3000]);
        garbage.extend_from_slice(b"\n");
    }
    garbage.extend_from_slice(b"whoami\n");
    p.write_raw(&garbage);
    for _ in 0..200 {
        assert_eq!(p.answer(), TOO_LONG_1K);
    }
    assert_eq!(p.answer(), "Please login first.");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// A `bbs` of another release says hello with its own version: it is told,
/// in a frame it can read, which version this server speaks, and the
/// connection ends (its frames might mean something else here).
#[test]
fn a_client_of_another_version_is_told_why_and_let_go() {
    use bbs_protocol::{Event, Reply, ServerFrame};
    let server = TestServer::start();
    let mut old = server.plain();
    old.write_raw(b"%bbs-client 2\n");
    let said = old.read_to_close().expect("the server closes");
    let frame = ServerFrame::from_line(&said).expect("one frame");
    let ServerFrame::Answer(Reply { text, event: Some(Event::Goodbye) }) = frame else { panic!("{frame:?}") };
    assert_eq!(
        text,
        "This server speaks version 3 of the bbs client's protocol, and this client version 2: \
         use the bbs client of the same release as the server."
    );
    // The current client (its hello is CLIENT_HELLO) is served as before.
    assert_eq!(server.client().call("whoami").text, "Please login first.");
}
