//! Chatroom lifecycle without stale state (spec §4, §7): owner exit and
//! crash close the room, a member's crash counts as leaving, ports are free
//! again after a close, a port that cannot be bound registers nothing, and
//! the answers around it (closed/unknown rooms, attach, telnet).

mod support;

use std::time::{Duration, Instant};

use bbs_testkit::{DialectClient, TestServer, ANSWER_TIMEOUT};
use support::{create_room, free_port, sign_in, Bbs, CHAT_BANNER};

const NO_ROOM: &str = "The chatroom does not exist or the chatroom is close.";

/// A logged-in observer connection for `list-chatroom`.
fn observer(server: &TestServer) -> DialectClient {
    let mut client = server.client();
    assert_eq!(client.call("register watcher w@example.org pw").text, "Register successfully.");
    assert!(client.login("watcher", "pw").is_some());
    client
}

/// Asks `list-chatroom` until it answers `wanted`: the server learns of a
/// vanished owner from its own socket, independently of the members.
fn wait_for_list(client: &mut DialectClient, wanted: &str) {
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    loop {
        let got = client.call("list-chatroom").text;
        if got == wanted {
            return;
        }
        assert!(Instant::now() < deadline, "list-chatroom stayed {got:?}, wanted {wanted:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn owner_and_member(server: &TestServer, port: u16) -> (Bbs, Bbs) {
    let mut a = Bbs::start("A", server.addr);
    let mut b = Bbs::start("B", server.addr);
    sign_in(&mut a, "Brad");
    sign_in(&mut b, "Bob");
    create_room(&mut a, port);
    b.run("join-chatroom Brad", &format!("{CHAT_BANNER}\n"));
    a.expect("sys[hh:mm] : Bob join us.\n");
    (a, b)
}

#[test]
fn owner_exit_closes_the_room_and_tells_the_members() {
    let server = TestServer::start();
    let mut watcher = observer(&server);
    let (mut a, mut b) = owner_and_member(&server, free_port());
    a.run("detach", "Welcome back to BBS.\n% ");
    a.send("exit");
    b.expect("sys[hh:mm] : the chatroom is close.\nWelcome back to BBS.\n% ");
    // The registry was closed before the members were told.
    assert_eq!(watcher.call("list-chatroom").text, "Chatroom_name  Status\nBrad           close");
    let (status, _) = a.wait();
    assert!(status.success());
    b.run("join-chatroom Brad", &format!("{NO_ROOM}\n% "));
}

#[test]
fn end_of_input_inside_the_room_closes_it() {
    let server = TestServer::start();
    let mut watcher = observer(&server);
    let (a, mut b) = owner_and_member(&server, free_port());
    let (status, _) = a.finish();
    assert!(status.success());
    b.expect("sys[hh:mm] : the chatroom is close.\nWelcome back to BBS.\n% ");
    assert_eq!(watcher.call("list-chatroom").text, "Chatroom_name  Status\nBrad           close");
}

#[test]
fn owner_crash_closes_the_room_and_the_registry() {
    let server = TestServer::start();
    let mut watcher = observer(&server);
    let port = free_port();
    let (a, mut b) = owner_and_member(&server, port);
    assert_eq!(watcher.call("list-chatroom").text, "Chatroom_name  Status\nBrad           open");
    a.kill();
    b.expect("sys[hh:mm] : the chatroom is close.\nWelcome back to BBS.\n% ");
    wait_for_list(&mut watcher, "Chatroom_name  Status\nBrad           close");
    b.run("join-chatroom Brad", &format!("{NO_ROOM}\n% "));
    // The dead owner's port is usable again, by someone else.
    create_room(&mut b, port);
    b.run("leave-chatroom", "Welcome back to BBS.\n% ");
}

#[test]
fn a_member_crash_counts_as_leaving() {
    let server = TestServer::start();
    let (mut a, b) = owner_and_member(&server, free_port());
    b.kill();
    a.expect("sys[hh:mm] : Bob leave us.\n");
    a.run("leave-chatroom", "Welcome back to BBS.\n% ");
}

#[test]
fn a_closed_port_can_be_used_again_by_another_user() {
    let server = TestServer::start();
    let port = free_port();
    let (mut a, mut b) = owner_and_member(&server, port);
    a.run("leave-chatroom", "Welcome back to BBS.\n% ");
    b.expect("sys[hh:mm] : the chatroom is close.\nWelcome back to BBS.\n% ");
    create_room(&mut b, port);
    b.run("leave-chatroom", "Welcome back to BBS.\n% ");
    // And the first owner can restart on it once it is free again.
    a.run("restart-chatroom", &format!("start to create chatroom...\n{CHAT_BANNER}\n"));
    a.run("leave-chatroom", "Welcome back to BBS.\n% ");
}

#[test]
fn a_port_in_use_gives_a_clear_error_and_registers_nothing() {
    let server = TestServer::start();
    let mut watcher = observer(&server);
    let taken = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut a = Bbs::start("A", server.addr);
    sign_in(&mut a, "Brad");
    a.run(&format!("create-chatroom {port}"), &format!("Cannot open the chatroom on port {port}: "));
    a.expect("Nothing was created.\n% ");
    assert_eq!(watcher.call("list-chatroom").text, "Chatroom_name  Status");
    a.run("attach", "Please create-chatroom first.\n% ");
    a.run("restart-chatroom", "Please create-chatroom first.\n% ");
    // Nothing half-made stands in the way of a good port.
    create_room(&mut a, free_port());
    assert_eq!(watcher.call("list-chatroom").text, "Chatroom_name  Status\nBrad           open");
    a.run("leave-chatroom", "Welcome back to BBS.\n% ");
    // Restart on a port someone took meanwhile: clear error, still closed.
    drop(taken);
}

#[test]
fn restart_on_a_port_taken_meanwhile_keeps_the_room_closed() {
    let server = TestServer::start();
    let mut watcher = observer(&server);
    let port = free_port();
    let mut a = Bbs::start("A", server.addr);
    sign_in(&mut a, "Brad");
    create_room(&mut a, port);
    a.run("leave-chatroom", "Welcome back to BBS.\n% ");
    let _taken = std::net::TcpListener::bind(("0.0.0.0", port)).unwrap();
    a.run("restart-chatroom", &format!("Cannot open the chatroom on port {port}: "));
    a.expect("Nothing was created.\n% ");
    assert_eq!(watcher.call("list-chatroom").text, "Chatroom_name  Status\nBrad           close");
    a.run("attach", "Please restart-chatroom first.\n% ");
}

#[test]
fn joining_unknown_or_closed_rooms_and_attach_answers() {
    let server = TestServer::start();
    let mut a = Bbs::start("A", server.addr);
    a.run("join-chatroom Nobody", "Please login first.\n% ");
    a.run("attach", "Please login first.\n% ");
    a.run("create-chatroom 5000", "Please login first.\n% ");
    a.run("restart-chatroom", "Please login first.\n% ");
    a.run("join-chatroom", "Usage: join-chatroom <chatroom_name>\n% ");
    a.run("create-chatroom x", "Usage: create-chatroom <port>\n% ");
    sign_in(&mut a, "Brad");
    a.run("join-chatroom Nobody", &format!("{NO_ROOM}\n% "));
    // One's own name: behaves as attach.
    a.run("join-chatroom Brad", "Please create-chatroom first.\n% ");
    a.run("attach", "Please create-chatroom first.\n% ");
    let mut b = Bbs::start("B", server.addr);
    sign_in(&mut b, "Bob");
    create_room(&mut b, free_port());
    b.run("detach", "Welcome back to BBS.\n% ");
    // Joining one's own chatroom behaves as attach (spec §7).
    b.run("join-chatroom Bob", &format!("{CHAT_BANNER}\n"));
    b.run("leave-chatroom", "Welcome back to BBS.\n% ");
    a.run("join-chatroom Bob", &format!("{NO_ROOM}\n% "));
    // Not logged in any more: another user's closed-room history is not ours.
    b.run("logout", "Bye, Bob.\n% ");
    b.run("attach", "Please login first.\n% ");
}

#[test]
fn the_owner_can_join_other_rooms_while_its_own_runs() {
    let server = TestServer::start();
    let (mut a, mut b) = owner_and_member(&server, free_port());
    b.run("leave-chatroom", "Welcome back to BBS.\n% ");
    a.expect("sys[hh:mm] : Bob leave us.\n");
    create_room(&mut b, free_port());
    a.run("detach", "Welcome back to BBS.\n% ");
    a.run("join-chatroom Bob", &format!("{CHAT_BANNER}\n"));
    b.expect("sys[hh:mm] : Brad join us.\n");
    a.send("hi from Brad");
    b.expect("Brad[hh:mm] : hi from Brad\n");
    a.run("leave-chatroom", "Welcome back to BBS.\n% ");
    b.expect("sys[hh:mm] : Brad leave us.\n");
    a.run("logout", "Please do \"attach\" and \"leave-chatroom\" first.\n% ");
    a.run("attach", &format!("{CHAT_BANNER}\n"));
    a.run("leave-chatroom", "Welcome back to BBS.\n% ");
    a.run("logout", "Bye, Brad.\n% ");
}

#[test]
fn over_telnet_chatroom_commands_explain_that_they_need_the_client() {
    let server = TestServer::start();
    let mut plain = server.plain();
    plain.send("register Tom t@example.org pw");
    assert_eq!(plain.send("login Tom pw"), "Welcome, Tom.");
    for command in ["create-chatroom 5000", "restart-chatroom", "join-chatroom Brad", "attach"] {
        let name = command.split(' ').next().unwrap();
        assert_eq!(
            plain.send(command),
            format!(
                "{name} needs the bbs client: chatrooms run inside the client on your own machine. \
                 Connect with: bbs <host> <port>"
            )
        );
    }
    assert_eq!(plain.send("list-chatroom"), "Chatroom_name  Status");
    // And nothing was registered.
    assert_eq!(plain.send("logout"), "Bye, Tom.");
}
