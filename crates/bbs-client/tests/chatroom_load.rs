//! A room serves far more than the course's 5 members: 200 members at once
//! (from 25 addresses, 8 each, within the per-address cap), hosted by the
//! real owner's `bbs` process with its default limits. Every member gets
//! every other member's messages, none lost, in each sender's order; so
//! does the owner's screen.

mod support;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use bbs_protocol::chat::{self, HostFrame, MemberFrame};
use bbs_storage::{NewUser, Store};
use bbs_storage_sqlite::{SqliteOptions, SqliteStore};
use bbs_testkit::TestServer;
use support::{create_room, free_port, sign_in, ticket_from, Bbs, RawMember};

const MEMBERS: usize = 200;
/// Within the default burst, so the rate limit does not refuse any.
const MESSAGES_EACH: usize = 5;

/// A database with `MEMBERS` users sharing one password hash: hashing 200
/// passwords would only slow the test down.
fn populated_server() -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bbs.db");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let hash = bbs_server::auth::Hasher::new(1, 1).hash("pw".into()).await.unwrap();
        let store = SqliteStore::open(SqliteOptions::new(&db)).unwrap();
        for i in 0..MEMBERS {
            let user =
                NewUser { name: format!("u{i}"), email: format!("u{i}@example.org"), password_hash: hash.clone() };
            assert!(store.register(user).await.unwrap());
        }
    });
    let server = TestServer::start_on(&db, bbs_server::Config::default());
    (dir, server)
}

#[test]
fn two_hundred_members_lose_and_reorder_nothing() {
    let (_dir, server) = populated_server();
    let mut owner = Bbs::start("owner", server.addr);
    sign_in(&mut owner, "Brad");
    create_room(&mut owner, free_port());

    // Tickets, obtained from the server by real logins (in a few threads:
    // each checks an argon2 hash), from as many addresses as the members
    // will use, so no address exceeds the server's per-address limits.
    let address_of = |i: usize| IpAddr::V4(Ipv4Addr::new(127, 0, 1, 1 + (i / 8) as u8));
    let tickets: Vec<_> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let server = server.addr;
                scope.spawn(move || {
                    (w..MEMBERS)
                        .step_by(4)
                        .map(|i| {
                            let (ticket, at) = ticket_from(address_of(i), server, &format!("u{i}"), "Brad");
                            (i, ticket, at)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<_> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();
        all.sort_by_key(|t| t.0);
        all
    });

    let mut members = Vec::new();
    for (i, ticket, at) in &tickets {
        let mut member = RawMember::connect_from(address_of(*i), *at);
        match member.hello(ticket.clone()) {
            HostFrame::Welcome { .. } => {}
            other => panic!("u{i} not admitted: {other:?}"),
        }
        members.push(member);
    }
    owner.expect(&format!("sys[hh:mm] : u{} join us.\n", MEMBERS - 1));

    let expected_each = (MEMBERS - 1) * MESSAGES_EACH;
    let results: Vec<HashMap<String, Vec<usize>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = members
            .into_iter()
            .enumerate()
            .map(|(i, mut member)| {
                scope.spawn(move || {
                    let mut batch = Vec::new();
                    for n in 0..MESSAGES_EACH {
                        batch.extend_from_slice(&chat::encode(&MemberFrame::Say { text: format!("u{i}#{n}") }));
                    }
                    member.write_raw(&batch);
                    let mut got: HashMap<String, Vec<usize>> = HashMap::new();
                    let mut count = 0;
                    while count < expected_each {
                        match member.next() {
                            Some(HostFrame::Message { record }) => {
                                let (who, n) = record.text.split_once('#').unwrap();
                                assert_eq!(who, record.sender, "the sender is who the host says");
                                got.entry(record.sender).or_default().push(n.parse().unwrap());
                                count += 1;
                            }
                            Some(HostFrame::System { text, .. }) => {
                                assert!(text.ends_with("join us."), "u{i} got an unexpected sys line: {text}")
                            }
                            other => panic!("u{i} after {count} messages: {other:?}"),
                        }
                    }
                    (i, got)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                let (i, got) = h.join().unwrap();
                assert!(!got.contains_key(&format!("u{i}")), "u{i} got its own message echoed");
                got
            })
            .collect()
    });
    let in_order: Vec<usize> = (0..MESSAGES_EACH).collect();
    for (i, got) in results.iter().enumerate() {
        assert_eq!(got.len(), MEMBERS - 1, "u{i} heard from every other member");
        for (sender, numbers) in got {
            assert_eq!(numbers, &in_order, "u{i}: {sender}'s messages lost or reordered");
        }
    }

    // The owner's screen got all of them too, each sender in order.
    owner.wait_screen("every message on the owner's screen", |screen| {
        screen.lines().filter(|l| l.contains("[hh:mm] : u") && l.contains('#')).count() == MEMBERS * MESSAGES_EACH
    });
    let screen = owner.screen();
    let mut on_owner: HashMap<&str, Vec<usize>> = HashMap::new();
    for line in screen.lines().filter(|l| l.contains('#') && l.starts_with('u')) {
        let (sender, text) = line.split_once("[hh:mm] : ").unwrap();
        let n = text.split_once('#').unwrap().1.parse().unwrap();
        on_owner.entry(sender).or_default().push(n);
    }
    assert_eq!(on_owner.len(), MEMBERS);
    assert!(on_owner.values().all(|numbers| numbers == &in_order));
    owner.run("leave-chatroom", "Welcome back to BBS.\n% ");
}
