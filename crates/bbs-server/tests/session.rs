//! Login tokens (spec §2) and the line-length bound (spec §6).

use std::time::{Duration, Instant};

use bbs_testkit::{udp_request, TestServer};

#[test]
fn the_token_identifies_the_user_over_udp_and_dies_at_logout() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(c.call("register amy a@x pw").text, "Register successfully.");
    let token = c.login("amy", "pw").expect("login gives a token");
    assert_eq!(token.len(), 32, "128 bits in hex");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(udp_request(server.addr, Some(&token), "whoami"), "amy");
    assert_eq!(udp_request(server.addr, Some("0123456789abcdef0123456789abcdef"), "whoami"), "Please login first.");
    assert_eq!(c.call("logout").text, "Bye, amy.");
    assert_eq!(udp_request(server.addr, Some(&token), "whoami"), "Please login first.");
    // A new login gets a new token.
    let second = c.login("amy", "pw").unwrap();
    assert_ne!(second, token);
}

#[test]
fn the_token_dies_when_the_connection_closes() {
    let server = TestServer::start();
    let mut c = server.client();
    c.call("register bo b@x pw");
    let token = c.login("bo", "pw").unwrap();
    assert_eq!(udp_request(server.addr, Some(&token), "whoami"), "bo");
    drop(c);
    // The server learns of the close asynchronously; poll until it has.
    let deadline = Instant::now() + Duration::from_secs(10);
    while udp_request(server.addr, Some(&token), "whoami") != "Please login first." {
        assert!(Instant::now() < deadline, "token still alive after disconnect");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn an_over_long_line_gets_a_clear_error_and_the_connection_stays_usable() {
    let server = TestServer::start();
    let mut p = server.plain();
    let long = format!("create-post b --title t --content {}", "y".repeat(70_000));
    assert_eq!(p.send(&long), "Error: line too long (the limit is 65536 bytes); it was ignored.");
    assert_eq!(p.send("whoami"), "Please login first.");
    // Just under the limit is accepted (and answered normally).
    let fits = format!("comment 1 {}", "z".repeat(65_536 - "comment 1 ".len()));
    assert_eq!(p.send(&fits), "Please login first.");
}
