//! Live delivery of messages (both dialects, many sessions at once), what
//! waits for the next login, and mute mode surviving a restart.

use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bbs_server::{Config, Rate};
use bbs_testkit::{database_with_users, PlainClient, TestServer, ANSWER_TIMEOUT};

const PASSWORD: &str = "pw";

fn names(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

fn login(server: &TestServer, name: &str) -> PlainClient {
    let mut p = server.plain();
    assert_eq!(p.send(&format!("login {name} {PASSWORD}")), format!("Welcome, {name}."));
    p
}

/// Reads exactly the bytes of one push in the plain dialect.
fn read_push(stream: &mut &TcpStream, text: &str) {
    let expected = format!("\r\n{text}\r\n% ");
    let mut got = vec![0; expected.len()];
    stream.read_exact(&mut got).expect("a push");
    assert_eq!(String::from_utf8_lossy(&got), expected);
}

#[test]
fn tell_reaches_both_sessions_of_the_recipient_at_once() {
    let (_dir, db) = database_with_users(&names(&["ann", "bob"]), PASSWORD);
    let server = TestServer::start_on(&db, Config::default());
    let mut bob_client = server.client();
    assert!(bob_client.login("bob", PASSWORD).is_some());
    let mut bob_telnet = login(&server, "bob");
    let mut ann = login(&server, "ann");
    assert_eq!(ann.send("tell bob  are you  there? "), "");
    // Client dialect: a push frame, not part of any answer.
    assert_eq!(bob_client.push().text, "ann told you: are you  there?");
    assert_eq!(bob_client.call("whoami").text, "bob");
    assert!(bob_client.pushes.is_empty());
    // Telnet: the line, then the prompt again.
    read_push(&mut bob_telnet.stream(), "ann told you: are you  there?");
    assert_eq!(bob_telnet.send("whoami"), "bob");
}

#[test]
fn waiting_messages_and_mail_are_shown_at_the_next_login_in_the_order_sent() {
    let (_dir, db) = database_with_users(&names(&["ann", "bob", "cy"]), PASSWORD);
    let server = TestServer::start_on(&db, Config::default());
    let mut ann = login(&server, "ann");
    let mut cy = login(&server, "cy");
    let waits = "bob is not online; the message waits for the next login.";
    assert_eq!(ann.send("tell bob first"), waits);
    assert_eq!(cy.send("tell bob second"), waits);
    assert_eq!(ann.send("mail-to bob --subject one --content 1"), "Sent successfully.");
    assert_eq!(ann.send("tell bob third  one"), waits);
    assert_eq!(cy.send("mail-to bob --subject two --content 2"), "Sent successfully.");

    let mut bob = server.client();
    let welcome = bob.call("login bob pw");
    assert_eq!(
        welcome.text,
        "Welcome, bob.\nYou have 3 message(s) waiting:\nann told you: first\ncy told you: second\n\
         ann told you: third  one\nYou have 2 new mail(s)."
    );
    assert!(bob.pushes.is_empty(), "the notices are the answer, not pushes");
    let list = bob.call("list-mail").text;
    let subjects: Vec<&str> = list.lines().skip(1).map(|l| l.split_whitespace().nth(1).unwrap()).collect();
    assert_eq!(subjects, ["one", "two"]);
    assert_eq!(bob.call("logout").text, "Bye, bob.");
    // The messages were shown once; unread mail is announced until read.
    assert_eq!(bob.call("login bob pw").text, "Welcome, bob.\nYou have 2 new mail(s).");
}

#[test]
fn mute_mode_survives_a_restart() {
    let (_dir, db) = database_with_users(&names(&["ann", "bob"]), PASSWORD);
    {
        let server = TestServer::start_on(&db, Config::default());
        let mut bob = login(&server, "bob");
        assert_eq!(bob.send("mute"), "Mute mode.");
    }
    let server = TestServer::start_on(&db, Config::default());
    let mut bob = login(&server, "bob");
    let mut ann = login(&server, "ann");
    assert_eq!(ann.send("tell bob hi"), "bob is in mute mode.");
    assert_eq!(ann.send("yell anyone?"), "");
    assert_eq!(bob.send("mute"), "You are already in mute mode.");
    assert_eq!(bob.send("unmute"), "Unmute mode.");
    // Nothing sent while bob was muted shows up: the next push is this one.
    assert_eq!(ann.send("tell bob now"), "");
    read_push(&mut bob.stream(), "ann told you: now");
}

/// Logs `names` in over plain connections, a few threads at a time.
fn log_in_all(server: &TestServer, names: &[String]) -> Vec<TcpStream> {
    let addr = server.addr;
    let chunks: Vec<Vec<String>> = names.chunks(names.len().div_ceil(4)).map(<[String]>::to_vec).collect();
    let threads: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            std::thread::spawn(move || {
                chunk
                    .iter()
                    .map(|name| {
                        let mut p = PlainClient::connect(addr);
                        assert_eq!(p.send(&format!("login {name} {PASSWORD}")), format!("Welcome, {name}."));
                        p.stream().try_clone().expect("clone")
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    threads.into_iter().flat_map(|t| t.join().expect("login thread")).collect()
}

#[test]
fn yell_reaches_a_thousand_sessions() {
    const SESSIONS: usize = 1000;
    let mut users: Vec<String> = (0..SESSIONS).map(|i| format!("u{i:04}")).collect();
    users.push("crier".to_owned());
    let (_dir, db) = database_with_users(&users, PASSWORD);
    let config = Config {
        max_connections_per_ip: 2 * SESSIONS,
        login_rate_per_ip: Rate::new(10 * SESSIONS as u32, Duration::from_secs(1)),
        ..Config::default()
    };
    let server = TestServer::start_on(&db, config);
    let listeners = log_in_all(&server, &users[..SESSIONS]);
    let mut crier = login(&server, "crier");
    let started = Instant::now();
    assert_eq!(crier.send("yell hear  ye"), "");
    for stream in &listeners {
        stream.set_read_timeout(Some(ANSWER_TIMEOUT)).expect("timeout");
        read_push(&mut &*stream, "crier: hear  ye");
    }
    eprintln!("one yell reached {SESSIONS} sessions in {:?}", started.elapsed());
}
