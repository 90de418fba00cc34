//! Server push: a line delivered to a user's sessions at any moment, on
//! telnet and in the client dialect, while idle and while a command runs;
//! and a session that never reads is closed without slowing anyone else.

use std::io::Read;
use std::time::{Duration, Instant};

use bbs_protocol::{ClientFrame, Push, Reply, ServerFrame};
use bbs_server::Config;
use bbs_testkit::{PlainClient, TestServer, ANSWER_TIMEOUT};

/// Reads exactly `expected.len()` bytes and compares them.
fn expect_bytes(client: &mut PlainClient, expected: &str) {
    let mut got = vec![0u8; expected.len()];
    client.stream().read_exact(&mut got).expect("read");
    assert_eq!(String::from_utf8_lossy(&got), expected);
}

/// Reads until `total` bytes came.
fn read_bytes(client: &mut PlainClient, total: usize) -> String {
    let mut got = vec![0u8; total];
    client.stream().read_exact(&mut got).expect("read");
    String::from_utf8(got).expect("UTF-8")
}

fn plain_user(server: &TestServer, name: &str) -> PlainClient {
    let mut p = server.plain();
    assert_eq!(p.send(&format!("register {name} {name}@x pw")), "Register successfully.");
    assert_eq!(p.send(&format!("login {name} pw")), format!("Welcome, {name}."));
    p
}

fn client_user(server: &TestServer, name: &str) -> bbs_testkit::DialectClient {
    let mut c = server.client();
    assert_eq!(c.call(&format!("register {name} {name}@x pw")).text, "Register successfully.");
    assert!(c.login(name, "pw").is_some());
    c
}

#[test]
fn a_push_reaches_an_idle_telnet_session_on_its_own_line_and_the_prompt_comes_back() {
    let server = TestServer::start();
    let mut ann = plain_user(&server, "ann");
    assert_eq!(server.push("ann", "hello there\nsecond line"), 1);
    expect_bytes(&mut ann, "\r\nhello there\r\nsecond line\r\n% ");
    assert_eq!(ann.send("whoami"), "ann", "the session goes on as before");
    // Nobody else got it, and a user with no session gets nothing.
    assert_eq!(server.push("nobody", "x"), 0);
}

#[test]
fn a_push_reaches_an_idle_client_session_as_a_push_frame() {
    let server = TestServer::start();
    let mut ann = client_user(&server, "ann");
    assert_eq!(server.push("ann", "hello"), 1);
    assert_eq!(ann.frame(), ServerFrame::Push(Push::new("hello")));
    assert_eq!(ann.call("whoami").text, "ann");
}

#[test]
fn every_session_of_the_user_gets_it_and_none_before_login_or_after_logout() {
    let server = TestServer::start();
    let mut first = client_user(&server, "ann");
    let mut second = server.client();
    assert!(second.login("ann", "pw").is_some());
    let mut anonymous = server.plain();
    assert_eq!(server.push("ann", "both"), 2);
    assert_eq!(first.push(), Push::new("both"));
    assert_eq!(second.push(), Push::new("both"));
    assert_eq!(second.call("logout").text, "Bye, ann.");
    assert_eq!(server.push("ann", "one"), 1);
    assert_eq!(first.push(), Push::new("one"));
    // The anonymous connection saw nothing: its next answer is its own.
    assert_eq!(anonymous.send("whoami"), "Please login first.");
    drop(first);
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    while server.sessions.online("ann") > 0 {
        assert!(Instant::now() < deadline, "a closed session stayed registered");
        std::thread::yield_now();
    }
    assert_eq!(server.push("ann", "gone"), 0);
}

/// A post long enough that its answer takes many writes.
const LONG: usize = 60_000;

fn long_post(server: &TestServer) {
    let mut author = plain_user(server, "author");
    assert_eq!(author.send("create-board big"), "Create board successfully.");
    let content = "x".repeat(LONG);
    assert_eq!(author.send(&format!("create-post big --title T --content {content}")), "Create post successfully.");
}

#[test]
fn pushes_during_a_telnet_command_come_whole_and_never_inside_the_answer() {
    let server = TestServer::start();
    long_post(&server);
    let mut ann = plain_user(&server, "ann");
    // Ask for the long post, and push while the server reads and writes it.
    ann.write_raw(b"read 1\r\n");
    let pushes: Vec<String> = (0..50).map(|n| format!("push number {n}")).collect();
    for push in &pushes {
        assert_eq!(server.push("ann", push), 1);
    }
    let answer = format!("Author: author\r\nTitle: T\r\nDate: {}\r\n--\r\n{}\r\n--\r\n% ", today(), "x".repeat(LONG));
    let framed: Vec<String> = pushes.iter().map(|p| format!("\r\n{p}\r\n% ")).collect();
    let total = answer.len() + framed.iter().map(String::len).sum::<usize>();
    let got = read_bytes(&mut ann, total);
    let at = got.find("Author:").expect("the answer came");
    assert_eq!(&got[at..at + answer.len()], answer, "the answer is whole");
    let rest = format!("{}{}", &got[..at], &got[at + answer.len()..]);
    assert_eq!(rest, framed.concat(), "every push whole and in order");
    assert_eq!(ann.send("whoami"), "ann");
}

#[test]
fn pushes_during_a_client_command_are_separate_frames() {
    let server = TestServer::start();
    long_post(&server);
    let mut ann = client_user(&server, "ann");
    ann.send_frame(&ClientFrame::Command("read 1".into()));
    for n in 0..50 {
        assert_eq!(server.push("ann", &format!("push number {n}")), 1);
    }
    let reply = ann.answer();
    assert!(reply.text.starts_with("Author: author\nTitle: T\n"), "{:.40}", reply.text);
    assert!(reply.text.ends_with(&format!("{}\n--", "x".repeat(LONG))));
    // Pushes that came before the answer were kept; the rest follow it.
    let pushes: Vec<Push> = (0..50).map(|_| ann.push()).collect();
    let expected: Vec<Push> = (0..50).map(|n| Push::new(format!("push number {n}"))).collect();
    assert_eq!(pushes, expected);
    assert_eq!(ann.call("whoami"), Reply::text("ann"));
}

#[test]
fn a_push_while_a_slow_command_runs_waits_for_its_answer() {
    // Registering hashes a password on a worker thread (tens of ms): the
    // push is taken only once that answer is out.
    let server = TestServer::start();
    let mut ann = plain_user(&server, "ann");
    ann.write_raw(b"register zed z@x pw\r\n");
    assert_eq!(server.push("ann", "meanwhile"), 1);
    let answer = "Register successfully.\r\n% ";
    let push = "\r\nmeanwhile\r\n% ";
    let got = read_bytes(&mut ann, answer.len() + push.len());
    assert!(got == format!("{answer}{push}") || got == format!("{push}{answer}"), "{got:?}");
}

#[test]
fn a_session_that_never_reads_is_closed_after_the_bound_and_others_are_unaffected() {
    let server = TestServer::start_with(Config {
        max_pending_output: 16 * 1024,
        push_queue: 8,
        // Long, so that what closes the session is the push bound.
        write_timeout: Duration::from_secs(60),
        ..Config::default()
    });
    let sleeper = plain_user(&server, "sam");
    let mut quinn = client_user(&server, "quinn");
    let text = "z".repeat(1000);
    let started = Instant::now();
    let mut sent = 0usize;
    // Fill sam's socket buffers, output and inbox; a bounded loop.
    while server.push("sam", &text) == 1 {
        sent += 1;
        assert!(sent < 1_000_000, "sam's session was never closed");
        if sent.is_multiple_of(64) {
            // Meanwhile quinn is served as usual.
            assert_eq!(server.push("quinn", "still here"), 1);
            assert_eq!(quinn.push(), Push::new("still here"));
        }
    }
    assert!(started.elapsed() < ANSWER_TIMEOUT, "pushing never waited on the slow session");
    assert_eq!(quinn.call("whoami").text, "quinn");
    // sam's connection ends: draining it now reaches the end of the stream.
    let mut sleeper = sleeper;
    let rest = sleeper.read_to_close().expect("the server closed sam's connection");
    assert!(rest.len() < sent * 1010, "sam got {} bytes of {sent} pushes", rest.len());
    assert_eq!(server.sessions.online("sam"), 0);
}

/// Today's `MM/DD` as the server writes it (the test takes well under a
/// second, so it does not straddle midnight in practice).
fn today() -> String {
    chrono::Local::now().format("%m/%d").to_string()
}
