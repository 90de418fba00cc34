//! Issue 5, connections: caps in total and per IP address, idle timeouts
//! before and after login, and a peer that stops reading, over real sockets.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bbs_protocol::{Push, ServerFrame};
use bbs_server::Config;
use bbs_testkit::{tcp_connect_from, PlainClient, TestServer};

const IDLE: &str = "Idle for too long: closing the connection.";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Everything a refused peer receives before the close.
fn refusal(stream: TcpStream) -> String {
    let mut stream = stream;
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut got = Vec::new();
    stream.read_to_end(&mut got).expect("the refusal ends with a close");
    String::from_utf8(got).unwrap()
}

#[test]
fn the_connection_past_the_total_cap_is_told_and_closed_and_a_freed_slot_is_reusable() {
    let server = TestServer::start_with(Config { max_connections: 3, ..Config::default() });
    let mut open: Vec<PlainClient> = (0..3).map(|_| server.plain()).collect();
    let refused = TcpStream::connect(server.addr).unwrap();
    assert_eq!(refusal(refused), "Server full: 3 connections are open. Please try again later.\r\n");
    // The others are unaffected.
    assert_eq!(open[0].send("whoami"), "Please login first.");
    // One leaves with `exit`: once its close is seen, its slot is free.
    let mut leaving = open.pop().unwrap();
    leaving.write_raw(b"exit\r\n");
    assert_eq!(leaving.read_to_close().unwrap(), b"");
    let mut again = server.plain();
    assert_eq!(again.send("whoami"), "Please login first.");
}

#[test]
fn connections_per_ip_address_are_capped_separately() {
    let server = TestServer::start_with(Config { max_connections_per_ip: 2, ..Config::default() });
    let _a = PlainClient::connect_from(ip("127.0.0.1"), server.addr);
    let _b = PlainClient::connect_from(ip("127.0.0.1"), server.addr);
    let third = tcp_connect_from(ip("127.0.0.1"), server.addr).unwrap();
    assert_eq!(
        refusal(third),
        "Too many connections from your address (the limit is 2). Please close one and try again.\r\n"
    );
    // Another address still gets in.
    let mut other = PlainClient::connect_from(ip("127.0.0.2"), server.addr);
    assert_eq!(other.send("whoami"), "Please login first.");
}

fn idle_config() -> Config {
    Config {
        idle_timeout_anonymous: Duration::from_millis(200),
        idle_timeout_logged_in: Duration::from_millis(1500),
        ..Config::default()
    }
}

/// Waits for the server to close `p` for idleness (it says so first) and
/// returns how long that took from now.
fn closed_for_idleness(p: &mut PlainClient) -> Duration {
    let started = Instant::now();
    let rest = p.read_to_close().unwrap();
    let waited = started.elapsed();
    assert_eq!(String::from_utf8(rest).unwrap(), format!("{IDLE}\r\n"));
    waited
}

#[test]
fn a_connection_that_never_logs_in_is_told_and_closed_after_its_idle_timeout() {
    let server = TestServer::start_with(idle_config());
    let mut p = server.plain();
    let waited = closed_for_idleness(&mut p);
    assert!(waited >= Duration::from_millis(190), "closed after {waited:?}");
    assert!(waited < Duration::from_millis(1500), "closed only after {waited:?}");
}

#[test]
fn bytes_trickling_in_without_a_line_break_do_not_keep_a_connection_alive() {
    let server = TestServer::start_with(idle_config());
    let p = server.plain();
    let started = Instant::now();
    let mut closed = false;
    // A slow-loris peer: one byte every 50 ms, never a whole line.
    while started.elapsed() < Duration::from_secs(10) {
        if p.stream().try_clone().unwrap().write_all(b"w").is_err() {
            closed = true;
            break;
        }
        p.stream().set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let mut buf = [0u8; 256];
        match p.stream().try_clone().unwrap().read(&mut buf) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(n) => assert_eq!(&buf[..n], format!("{IDLE}\r\n").as_bytes()),
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {}
            Err(_) => {
                closed = true;
                break;
            }
        }
    }
    assert!(closed, "the trickling connection was never closed");
    assert!(started.elapsed() < Duration::from_millis(1500), "closed only after {:?}", started.elapsed());
}

#[test]
fn a_logged_in_connection_gets_the_longer_idle_timeout() {
    let server = TestServer::start_with(idle_config());
    let mut p = server.plain();
    assert_eq!(p.send("register u u@x pw"), "Register successfully.");
    assert_eq!(p.send("login u pw"), "Welcome, u.");
    let waited = closed_for_idleness(&mut p);
    assert!(waited >= Duration::from_millis(1400), "closed after {waited:?}, before the logged-in timeout");
}

#[test]
fn every_command_moves_the_idle_deadline_on() {
    let server = TestServer::start_with(idle_config());
    let mut p = server.plain();
    // Six commands 100 ms apart: 600 ms in all, three times the 200 ms
    // timeout, but never 200 ms without one.
    let started = Instant::now();
    for _ in 0..6 {
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(p.send("whoami"), "Please login first.");
    }
    assert!(started.elapsed() >= Duration::from_millis(600));
    let waited = closed_for_idleness(&mut p);
    assert!(waited >= Duration::from_millis(190), "closed {waited:?} after the last command");
}

#[test]
fn after_logout_the_shorter_anonymous_timeout_applies_at_once() {
    let server = TestServer::start_with(idle_config());
    let mut p = server.plain();
    assert_eq!(p.send("register u u@x pw"), "Register successfully.");
    assert_eq!(p.send("login u pw"), "Welcome, u.");
    // Logged in for longer than the anonymous timeout: the shorter
    // timeout counts from `logout`, whatever was armed before it.
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(p.send("logout"), "Bye, u.");
    let waited = closed_for_idleness(&mut p);
    assert!(waited >= Duration::from_millis(190), "closed after {waited:?}");
    // Not at the logged-in deadline, 1.1 s after `logout`.
    assert!(waited < Duration::from_millis(900), "closed only after {waited:?}");
}

#[test]
fn the_client_dialect_is_told_with_a_closing_frame() {
    let server = TestServer::start_with(idle_config());
    let mut c = server.client();
    assert_eq!(c.frame(), ServerFrame::Closing(Push::new(IDLE)));
}

#[test]
fn a_peer_that_stops_reading_is_disconnected_without_slowing_others() {
    let server = TestServer::start_with(Config {
        max_pending_output: 64 * 1024,
        write_timeout: Duration::from_millis(500),
        ..Config::default()
    });
    let mut author = server.plain();
    assert_eq!(author.send("register u u@x pw"), "Register successfully.");
    assert_eq!(author.send("login u pw"), "Welcome, u.");
    assert_eq!(author.send("create-board b"), "Create board successfully.");
    let big = format!("create-post b --title big --content {}", "x".repeat(60_000));
    assert_eq!(author.send(&big), "Create post successfully.");

    // The greedy peer asks for the big post again and again, never reading.
    let mut greedy = TcpStream::connect(server.addr).unwrap();
    greedy.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let greedy_thread = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let started = Instant::now();
            let batch = "read 1\n".repeat(1000);
            let mut sent = 0usize;
            let error = loop {
                if let Err(e) = greedy.write_all(batch.as_bytes()) {
                    break e;
                }
                sent += batch.len();
                assert!(started.elapsed() < Duration::from_secs(60), "never disconnected ({sent} bytes sent)");
            };
            done.store(true, Ordering::SeqCst);
            (error, started.elapsed(), sent, greedy)
        })
    };

    // Meanwhile somebody else keeps getting fast answers.
    let mut other = server.plain();
    let mut slowest = Duration::ZERO;
    let mut answers = 0;
    while !done.load(Ordering::SeqCst) {
        let asked = Instant::now();
        assert_eq!(other.send("list-board"), "Index  Name  Moderator\n1      b     u");
        slowest = slowest.max(asked.elapsed());
        answers += 1;
    }
    let (error, took, sent, mut greedy) = greedy_thread.join().unwrap();
    assert!(
        matches!(error.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe),
        "the greedy peer's writes failed with {error:?}, not a closed connection"
    );
    assert!(sent > 0);
    assert!(answers > 0);
    assert!(slowest < Duration::from_secs(1), "another client waited {slowest:?} for an answer");
    eprintln!(
        "greedy peer closed after {took:?} and {sent} bytes of commands; {answers} other answers, slowest {slowest:?}"
    );
    // What the greedy peer can still read ends in a close, not a hang.
    greedy.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut sink = vec![0u8; 1 << 16];
    loop {
        match greedy.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

#[test]
fn slow_commands_in_a_pipeline_do_not_count_as_a_peer_that_stopped_reading() {
    // Each registration hashes a password (tens of milliseconds); thirty of
    // them in one write take far longer than the write timeout, yet the
    // peer reads everything: it must get every answer.
    let server = TestServer::start_with(Config { write_timeout: Duration::from_millis(100), ..Config::default() });
    let mut p = server.plain();
    let batch: String = (0..30).map(|i| format!("register user{i} u@x pw\r\n")).collect();
    p.write_raw(batch.as_bytes());
    for i in 0..30 {
        assert_eq!(p.answer(), "Register successfully.", "answer {i}");
    }
    assert_eq!(p.send("whoami"), "Please login first.");
}
