//! The server's side of chatrooms, through the client dialect as the `bbs`
//! client speaks it: two-phase open (nothing registered until the client
//! has bound the port), tickets naming the owner's address as the server
//! saw it, and only the owner's own connection can close or lose the room.

use std::time::{Duration, Instant};

use bbs_protocol::chat::RoomKey;
use bbs_protocol::ClientFrame::{ChatroomClosed, ChatroomOpened};
use bbs_protocol::Event;
use bbs_testkit::{DialectClient, TestServer, ANSWER_TIMEOUT};

fn user(server: &TestServer, name: &str) -> DialectClient {
    let mut client = server.client();
    let answer = client.call(&format!("register {name} {name}@example.org pw")).text;
    assert!(answer == "Register successfully." || answer == "Username is already used.");
    assert!(client.login(name, "pw").is_some());
    client
}

fn open(client: &mut DialectClient, command: &str) -> (u16, RoomKey) {
    let port = match client.call(command).event {
        Some(Event::ChatroomBind { port }) => port,
        other => panic!("{other:?}"),
    };
    let reply = client.request(&ChatroomOpened);
    assert_eq!(reply.text, "start to create chatroom...");
    match reply.event {
        Some(Event::ChatroomOpened { port: opened, key }) => {
            assert_eq!(opened, port);
            (port, RoomKey::from_hex(&key).expect("a 256-bit key"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn nothing_is_registered_until_the_client_has_bound_the_port() {
    let server = TestServer::start();
    let mut brad = user(&server, "Brad");
    assert!(matches!(brad.call("create-chatroom 6001").event, Some(Event::ChatroomBind { port: 6001 })));
    assert_eq!(brad.call("list-chatroom").text, "Chatroom_name  Status");
    let mut bob = user(&server, "Bob");
    assert_eq!(bob.call("join-chatroom Brad").text, "The chatroom does not exist or the chatroom is close.");
    // The bind failed on the client: it just does not confirm. Logging out
    // forgets the pending open.
    assert_eq!(brad.call("logout").text, "Bye, Brad.");
    assert!(brad.login("Brad", "pw").is_some());
    assert_eq!(brad.request(&ChatroomOpened).text, "Nothing to open: use create-chatroom or restart-chatroom first.");
    assert_eq!(brad.call("list-chatroom").text, "Chatroom_name  Status");
}

#[test]
fn tickets_name_the_owner_as_the_server_saw_it_and_verify_with_the_room_key() {
    let server = TestServer::start();
    let mut brad = user(&server, "Brad");
    let (port, key) = open(&mut brad, "create-chatroom 6002");
    assert_eq!(brad.call("list-chatroom").text, "Chatroom_name  Status\nBrad           open");
    let mut bob = user(&server, "Bob");
    let reply = bob.call("join-chatroom Brad");
    assert_eq!(reply.text, "");
    let Some(Event::ChatroomTicket { address, port: at, ticket }) = reply.event else { panic!("{reply:?}") };
    assert_eq!((address.as_str(), at), ("127.0.0.1", port));
    assert_eq!((ticket.joiner.as_str(), ticket.room.as_str()), ("Bob", "Brad"));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert_eq!(ticket.verify(&key, "Brad", now), Ok(()));
    // Each restart gets a fresh key.
    assert_eq!(brad.request(&ChatroomClosed).text, "");
    assert_eq!(brad.call("list-chatroom").text, "Chatroom_name  Status\nBrad           close");
    let (again, new_key) = open(&mut brad, "restart-chatroom");
    assert_eq!(again, port);
    assert!(new_key != key);
}

#[test]
fn only_the_owners_own_connection_closes_or_loses_the_room() {
    let server = TestServer::start();
    let mut brad = user(&server, "Brad");
    open(&mut brad, "create-chatroom 6003");
    let mut other_brad = user(&server, "Brad");
    assert_eq!(other_brad.request(&ChatroomClosed).text, "You have no open chatroom.");
    assert_eq!(other_brad.call("restart-chatroom").text, "Your chatroom is still running.");
    assert_eq!(other_brad.call("create-chatroom 6004").text, "User has already created the chatroom.");
    assert_eq!(other_brad.call("logout").text, "Please do \"attach\" and \"leave-chatroom\" first.");
    drop(other_brad);
    // The owner's connection goes away (crash, network): closed.
    drop(brad);
    let mut watcher = user(&server, "Watcher");
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    while watcher.call("list-chatroom").text != "Chatroom_name  Status\nBrad           close" {
        assert!(Instant::now() < deadline, "the room stayed open after its owner vanished");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn client_requests_are_not_commands_for_telnet_users() {
    let server = TestServer::start();
    let mut plain = server.plain();
    let frame = ChatroomOpened.to_line();
    let frame = std::str::from_utf8(&frame).unwrap().trim_end();
    assert_eq!(plain.send(frame), "Unknown command: \"chatroom-opened\"");
    let mut anonymous = server.client();
    assert_eq!(anonymous.request(&ChatroomOpened).text, "Please login first.");
    assert_eq!(anonymous.call("create-chatroom 6005").text, "Please login first.");
    assert_eq!(anonymous.call("join-chatroom x").text, "Please login first.");
}
