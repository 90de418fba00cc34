//! The chatroom host's protections (issue 5), on the real host inside the
//! owner's `bbs` with its default limits: 4 KiB messages, a rate limit
//! with bursts, a cap on members per IP address, and terminal escape
//! sequences shown rather than obeyed (also from a hostile host).

mod support;

use std::io::{BufRead, BufReader, Write};
use std::sync::mpsc;

use bbs_client::host::HostLimits;
use bbs_protocol::chat::{self, HostFrame, MemberFrame, Record};
use bbs_protocol::Event;
use bbs_testkit::{TestServer, ANSWER_TIMEOUT};
use support::{create_room, free_port, sign_in, ticket_for, Bbs, RawMember, CHAT_BANNER};

fn owner_with_room(server: &TestServer) -> Bbs {
    let mut a = Bbs::start("A", server.addr);
    sign_in(&mut a, "Brad");
    create_room(&mut a, free_port());
    a
}

fn join(server: &TestServer, name: &str, owner: &mut Bbs) -> RawMember {
    let (_client, ticket, at) = ticket_for(server, name, "Brad");
    let mut member = RawMember::connect(at);
    assert!(matches!(member.hello(ticket), HostFrame::Welcome { .. }));
    owner.expect(&format!("sys[hh:mm] : {name} join us.\n"));
    member
}

fn system_text(frame: HostFrame) -> String {
    match frame {
        HostFrame::System { text, .. } => text,
        other => panic!("expected a sys line, got {other:?}"),
    }
}

#[test]
fn messages_over_4_kib_are_refused_with_a_clear_sentence() {
    let limits = HostLimits::default();
    assert_eq!(limits.max_text, 4096);
    let server = TestServer::start();
    let mut a = owner_with_room(&server);
    let mut eve = join(&server, "Eve", &mut a);

    eve.say(&"x".repeat(4097));
    assert_eq!(system_text(eve.next().unwrap()), "Your message is longer than 4096 bytes; it was not sent.");
    // A frame far beyond any message: refused the same way, and the
    // connection goes on.
    eve.write_raw(&vec![b'y'; 200_000]);
    eve.write_raw(b"\n");
    assert_eq!(system_text(eve.next().unwrap()), "Your message is longer than 4096 bytes; it was not sent.");
    let exactly = "z".repeat(4096);
    eve.say(&exactly);
    a.expect_next(&format!("Eve[hh:mm] : {exactly}\n"));

    // Typed in the bbs client: refused before it is sent.
    let mut b = Bbs::start("B", server.addr);
    sign_in(&mut b, "Bob");
    b.run("join-chatroom Brad", &format!("{CHAT_BANNER}\n"));
    a.expect_next("sys[hh:mm] : Bob join us.\n");
    b.run(&"w".repeat(5000), "sys[hh:mm] : Your message is longer than 4096 bytes; it was not sent.\n");
    b.send("short one");
    a.expect_next("Bob[hh:mm] : short one\n");
}

#[test]
fn flooding_is_rate_limited_with_a_burst_allowance() {
    let limits = HostLimits::default();
    let server = TestServer::start();
    let mut a = owner_with_room(&server);
    let mut eve = join(&server, "Eve", &mut a);
    let mut bob = join(&server, "Bob", &mut a);
    assert_eq!(system_text(eve.next().unwrap()), "Bob join us.");

    const SENT: usize = 60;
    let mut flood = Vec::new();
    for i in 0..SENT {
        flood.extend_from_slice(&chat::encode(&MemberFrame::Say { text: format!("m{i}") }));
    }
    eve.write_raw(&flood);

    // Count what Bob receives and what Eve is told, until all 60 are
    // accounted for.
    let (tx, rx) = mpsc::channel();
    let tx_bob = tx.clone();
    std::thread::spawn(move || {
        while let Some(frame) = bob.next() {
            if let HostFrame::Message { record } = frame {
                let _ = tx_bob.send(Ok(record.text));
            }
        }
    });
    std::thread::spawn(move || {
        while let Some(frame) = eve.next() {
            let _ = tx.send(Err(system_text(frame)));
        }
    });
    let (mut delivered, mut refused) = (Vec::new(), 0);
    while delivered.len() + refused < SENT {
        match rx.recv_timeout(ANSWER_TIMEOUT).expect("every message delivered or refused") {
            Ok(text) => delivered.push(text),
            Err(notice) => {
                assert_eq!(notice, "You are sending messages too fast; this one was not sent.");
                refused += 1;
            }
        }
    }
    assert!(delivered.len() >= limits.burst as usize, "the burst passes: {}", delivered.len());
    assert!(refused > 0, "a flood of {SENT} at once is limited");
    // What got through is in order.
    let numbers: Vec<usize> = delivered.iter().map(|t| t[1..].parse().unwrap()).collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
    assert_eq!(numbers[..limits.burst as usize], (0..limits.burst as usize).collect::<Vec<_>>()[..]);
}

#[test]
fn one_address_cannot_fill_the_room() {
    let limits = HostLimits::default();
    let server = TestServer::start();
    let mut a = owner_with_room(&server);
    let mut members = Vec::new();
    for i in 0..limits.max_per_ip {
        members.push(join(&server, &format!("local{i}"), &mut a));
    }
    let (_client, ticket, at) = ticket_for(&server, "oneTooMany", "Brad");
    match RawMember::connect(at).hello(ticket) {
        HostFrame::Refused { reason } => {
            assert_eq!(reason, format!("Too many members from your address (at most {}).", limits.max_per_ip))
        }
        other => panic!("{other:?}"),
    }
    // Another address is still welcome.
    let (_client, ticket, at) = ticket_for(&server, "elsewhere", "Brad");
    let mut other = RawMember::connect_from("127.0.0.2".parse().unwrap(), at);
    assert!(matches!(other.hello(ticket), HostFrame::Welcome { .. }));
    a.expect_next("sys[hh:mm] : elsewhere join us.\n");
    // When one local member leaves, a place frees up.
    drop(members.pop());
    a.expect_next(&format!("sys[hh:mm] : local{} leave us.\n", limits.max_per_ip - 1));
    let (_client, ticket, at) = ticket_for(&server, "nowFits", "Brad");
    assert!(matches!(RawMember::connect(at).hello(ticket), HostFrame::Welcome { .. }));
}

#[test]
fn escape_sequences_in_messages_are_shown_not_obeyed() {
    let server = TestServer::start();
    let mut a = owner_with_room(&server);
    let mut b = Bbs::start("B", server.addr);
    sign_in(&mut b, "Bob");
    b.run("join-chatroom Brad", &format!("{CHAT_BANNER}\n"));
    a.expect_next("sys[hh:mm] : Bob join us.\n");
    let mut eve = join(&server, "Eve", &mut a);
    b.expect_next("sys[hh:mm] : Eve join us.\n");
    eve.say("\x1b[2J\x1b]0;pwned\x07hi\rsys[00:00] : fake\u{202e}");
    let shown = "Eve[hh:mm] : ^[[2J^[]0;pwned^Ghi^Msys[hh:mm] : fake\\u{202e}\n";
    a.expect_next(shown);
    b.expect_next(shown);
    assert!(!a.screen().contains('\x1b') && !b.screen().contains('\x1b'));
}

#[test]
fn a_member_is_protected_from_a_hostile_host() {
    // A "host" that registered through the real server protocol but sends
    // escape sequences in names, records and sys lines.
    let server = TestServer::start();
    let mut mallory = server.client();
    assert_eq!(mallory.call("register Mallory m@example.org pw").text, "Register successfully.");
    assert!(mallory.login("Mallory", "pw").is_some());
    let port = free_port();
    assert!(matches!(mallory.call(&format!("create-chatroom {port}")).event, Some(Event::ChatroomBind { .. })));
    let listener = std::net::TcpListener::bind(("0.0.0.0", port)).unwrap();
    assert!(matches!(
        mallory.request(&bbs_protocol::ClientFrame::ChatroomOpened).event,
        Some(Event::ChatroomOpened { .. })
    ));

    let mut b = Bbs::start("B", server.addr);
    sign_in(&mut b, "Bob");
    b.send("join-chatroom Mallory");
    let (stream, _) = listener.accept().unwrap();
    stream.set_read_timeout(Some(ANSWER_TIMEOUT)).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut hello = Vec::new();
    reader.read_until(b'\n', &mut hello).unwrap();
    let evil = Record { sender: "M\x1b[31m".into(), time: "12:00".into(), text: "x\x1b[H\x07".into() };
    let mut out = stream;
    out.write_all(&chat::encode(&HostFrame::Welcome { records: vec![evil.clone()] })).unwrap();
    out.write_all(&chat::encode(&HostFrame::System { time: "12:00".into(), text: "\x1b[2Jcleared".into() })).unwrap();
    b.expect_next(&format!("{CHAT_BANNER}\nM^[[31m[hh:mm] : x^[[H^G\nsys[hh:mm] : ^[[2Jcleared\n"));
    drop((out, reader));
    b.expect_next("sys[hh:mm] : the chatroom is close.\nWelcome back to BBS.\n% ");
    assert!(!b.screen().contains('\x1b'));
}
