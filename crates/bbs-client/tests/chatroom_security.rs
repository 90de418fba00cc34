//! Nobody gets into a chatroom without a ticket from `bbsd`, and nobody
//! under another user's name: raw connections, forged, altered, replayed
//! and stale tickets are refused by the real host (the owner's `bbs`).

mod support;

use bbs_protocol::chat::{HostFrame, Ticket};
use bbs_testkit::TestServer;
use support::{create_room, free_port, sign_in, ticket_for, ticket_of, Bbs, RawMember};

fn refusal(frame: HostFrame) -> String {
    match frame {
        HostFrame::Refused { reason } => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The owner's screen shows nobody came in: the next thing it shows is
/// a legitimate join.
fn prove_nobody_joined(owner: &mut Bbs, server: &TestServer) {
    let (_client, ticket, at) = ticket_for(server, "Honest", "Brad");
    let mut honest = RawMember::connect(at);
    assert!(matches!(honest.hello(ticket), HostFrame::Welcome { .. }));
    owner.expect_next("sys[hh:mm] : Honest join us.\n");
}

#[test]
fn a_raw_connection_without_a_ticket_is_refused() {
    let server = TestServer::start();
    let port = free_port();
    let mut a = Bbs::start("A", server.addr);
    sign_in(&mut a, "Brad");
    create_room(&mut a, port);
    let at = format!("127.0.0.1:{port}").parse().unwrap();

    let mut raw = RawMember::connect(at);
    raw.write_raw(b"hello everybody\n");
    assert_eq!(refusal(raw.next().unwrap()), "A ticket from the BBS server is needed: use join-chatroom.");
    assert!(raw.next().is_none(), "the host closes the connection");

    let mut raw = RawMember::connect(at);
    raw.say("let me in");
    assert_eq!(refusal(raw.next().unwrap()), "A ticket from the BBS server is needed: use join-chatroom.");

    // Half a line and then nothing: closed at the end of the connection.
    let mut raw = RawMember::connect(at);
    raw.write_raw(b"{\"kind\":\"hel");
    raw.stream().shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(refusal(raw.next().unwrap()), "A ticket from the BBS server is needed: use join-chatroom.");
    prove_nobody_joined(&mut a, &server);
}

#[test]
fn forged_and_altered_tickets_are_refused() {
    let server = TestServer::start();
    let port = free_port();
    let mut a = Bbs::start("A", server.addr);
    sign_in(&mut a, "Brad");
    let mut b = Bbs::start("B", server.addr);
    sign_in(&mut b, "Bob");
    create_room(&mut a, port);
    let (mut eve, ticket, at) = ticket_for(&server, "Eve", "Brad");

    // Eve claims to be Bob with her own ticket.
    let as_bob = Ticket { joiner: "Bob".into(), ..ticket.clone() };
    assert_eq!(
        refusal(RawMember::connect(at).hello(as_bob)),
        "Refused: the ticket was not issued by the BBS server for this chatroom."
    );
    // Made up from nothing.
    let made_up = Ticket {
        joiner: "Eve".into(),
        room: "Brad".into(),
        expires: ticket.expires,
        nonce: "00".repeat(16),
        mac: "11".repeat(32),
    };
    assert_eq!(
        refusal(RawMember::connect(at).hello(made_up)),
        "Refused: the ticket was not issued by the BBS server for this chatroom."
    );
    // Valid for longer than issued.
    let longer = Ticket { expires: ticket.expires + 3600, ..ticket.clone() };
    assert_eq!(
        refusal(RawMember::connect(at).hello(longer)),
        "Refused: the ticket was not issued by the BBS server for this chatroom."
    );
    // A ticket for another room.
    create_room(&mut b, free_port());
    let (for_bob, _) = ticket_of(&mut eve, "Bob");
    assert_eq!(
        refusal(RawMember::connect(at).hello(for_bob)),
        "Refused: the ticket was not issued by the BBS server for this chatroom."
    );
    // The genuine one works.
    let mut member = RawMember::connect(at);
    assert!(matches!(member.hello(ticket), HostFrame::Welcome { .. }));
    a.expect("sys[hh:mm] : Eve join us.\n");
}

#[test]
fn a_replayed_ticket_is_refused() {
    let server = TestServer::start();
    let port = free_port();
    let mut a = Bbs::start("A", server.addr);
    sign_in(&mut a, "Brad");
    create_room(&mut a, port);
    let (_eve, ticket, at) = ticket_for(&server, "Eve", "Brad");
    let mut first = RawMember::connect(at);
    assert!(matches!(first.hello(ticket.clone()), HostFrame::Welcome { .. }));
    a.expect("sys[hh:mm] : Eve join us.\n");
    // Someone who saw the ticket on the wire tries it, while Eve is in...
    assert_eq!(refusal(RawMember::connect(at).hello(ticket.clone())), "Refused: the ticket was already used.");
    // ...and after she left.
    drop(first);
    a.expect("sys[hh:mm] : Eve leave us.\n");
    assert_eq!(refusal(RawMember::connect(at).hello(ticket)), "Refused: the ticket was already used.");
}

#[test]
fn tickets_die_with_the_room_they_were_issued_for() {
    let server = TestServer::start();
    let port = free_port();
    let mut a = Bbs::start("A", server.addr);
    sign_in(&mut a, "Brad");
    create_room(&mut a, port);
    let (_eve, unused, at) = ticket_for(&server, "Eve", "Brad");
    a.run("leave-chatroom", "Welcome back to BBS.\n% ");
    a.run("restart-chatroom", "start to create chatroom...\n");
    // The restarted room has a fresh key: the old, never-used ticket fails.
    assert_eq!(
        refusal(RawMember::connect(at).hello(unused)),
        "Refused: the ticket was not issued by the BBS server for this chatroom."
    );
}

#[test]
fn one_name_is_in_a_room_once_and_the_owner_uses_attach() {
    let server = TestServer::start();
    let port = free_port();
    let mut a = Bbs::start("A", server.addr);
    sign_in(&mut a, "Brad");
    create_room(&mut a, port);
    let (mut eve, ticket, at) = ticket_for(&server, "Eve", "Brad");
    let mut first = RawMember::connect(at);
    assert!(matches!(first.hello(ticket), HostFrame::Welcome { .. }));
    let (again, _) = ticket_of(&mut eve, "Brad");
    assert_eq!(refusal(RawMember::connect(at).hello(again)), "Eve is already in this chatroom.");
    // The owner's own name cannot come in through the door either: the
    // server does not issue such a ticket.
    let mut owner_twice = server.client();
    assert!(owner_twice.login("Brad", "pw").is_some());
    assert_eq!(owner_twice.call("join-chatroom Brad").text, "This is your own chatroom: use attach.");
}
