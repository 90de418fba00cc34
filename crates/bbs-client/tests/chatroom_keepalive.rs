//! A running room outlives the server's idle timeout: while its owner sits
//! silently in the room, the client keeps its BBS connection alive, so the
//! registry keeps showing `open`. The control case shows the test can fail:
//! without a timely keepalive the server closes the owner's connection, and
//! with it the room; the owner's client says why at once and ends.

mod support;

use std::time::{Duration, Instant};

use bbs_server::{Config, Rate};
use bbs_testkit::{udp_request, TestServer};
use support::{create_room, free_port, sign_in, Bbs};

/// A server that closes connections idle for one second (and lets the
/// observer below log in as often as the polling needs).
fn impatient_server() -> TestServer {
    TestServer::start_with(Config {
        idle_timeout_anonymous: Duration::from_secs(1),
        idle_timeout_logged_in: Duration::from_secs(1),
        login_rate_per_ip: Rate::new(1000, Duration::from_secs(1)),
        login_rate_per_account: Rate::new(1000, Duration::from_secs(1)),
        ..Config::default()
    })
}

/// The registry as another user sees it.
fn chatrooms(server: &TestServer) -> String {
    let mut observer = server.client();
    // Registering twice is harmless: the second answer is "already used".
    observer.call("register observer o@x pw");
    let token = observer.login("observer", "pw").expect("observer logs in");
    udp_request(server.addr, Some(&token), "list-chatroom")
}

/// Brad's `bbs`, pinging the server every `keepalive` seconds, sitting
/// silently in the room it just created.
fn owner_in_own_room(server: &TestServer, keepalive: &str) -> Bbs {
    let mut owner = Bbs::start_with_env("A", server.addr, &[("BBS_KEEPALIVE_SECS", keepalive)]);
    sign_in(&mut owner, "Brad");
    create_room(&mut owner, free_port());
    owner
}

#[test]
fn an_idle_owner_keeps_the_room_open_past_the_server_idle_timeout() {
    let server = impatient_server();
    let owner = owner_in_own_room(&server, "0.25");
    // What is under test is time passing with nobody typing: three idle
    // timeouts' worth.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(chatrooms(&server), "Chatroom_name  Status\nBrad           open");
    assert!(!owner.screen().contains("Idle for too long"), "{}", owner.screen());
}

#[test]
fn without_a_timely_keepalive_the_idle_owner_is_closed_and_so_is_the_room() {
    let server = impatient_server();
    let mut owner = owner_in_own_room(&server, "60");
    // The owner's client notices the close while sitting in its room (not
    // only at its next keepalive, a minute away): it shows the server's
    // reason, closes the room and ends.
    owner.expect("Idle for too long: closing the connection.\n");
    let (status, _) = owner.wait();
    assert!(status.success(), "{status}");
    // The server's side of the close runs on its own clock: poll the
    // registry until it says so.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rooms = chatrooms(&server);
        if rooms == "Chatroom_name  Status\nBrad           close" {
            break;
        }
        assert!(Instant::now() < deadline, "room still listed after the owner idled out: {rooms}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
